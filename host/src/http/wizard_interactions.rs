//! The admin API for a wizard step's interactions: list, add, edit (merge), delete. The rules
//! (settings checked by `crate::wizard::parse_config`, limits, merging) and the audit are in
//! `crate::wizard::builder`.

use super::wizards::{WizardInteractionView, interaction_view};
use crate::auth::Admin;
use crate::db;
use crate::error::{Error, Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path, Query};
use crate::http::openapi::Errors;
use crate::http::pagination::{PageQuery, Paginated};
use crate::state::AppState;
use crate::wizard::{InteractionConfig, builder};
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value};
use utoipa_axum::routes;

/// Interaction routes (admin; merged into the wizard routes).
pub fn routes() -> Routes {
    vec![
        routes!(list_interactions, create_interaction),
        routes!(show_interaction, update_interaction, remove_interaction),
    ]
}

/// List a step's interactions
#[utoipa::path(
    get,
    path = "/wizards/{id}/steps/{step}/interactions",
    tag = "wizards",
    operation_id = "list_wizard_interactions",
    params(
        ("id" = i64, Path, description = "Wizard id"),
        ("step" = i64, Path, description = "Step id"),
        PageQuery,
    ),
    responses((status = OK, body = Paginated<WizardInteractionView>), Errors<(code::NotFound, code::ValidationFailed)>)
)]
async fn list_interactions(
    State(state): State<AppState>,
    Path((id, step)): Path<(i64, i64)>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Paginated<WizardInteractionView>>> {
    let page = q.validate()?;
    state
        .db()
        .run(move |c| {
            builder::load_step(c, id, step)?;
            let items = db::wizards::interactions(c, step)?
                .into_iter()
                .map(interaction_view)
                .collect();
            Ok(Paginated::from_vec(items, page))
        })
        .await
        .map(Json)
}

/// Add an interaction
///
/// Settings by `type`: `click` (`button_text`), `timer` (`duration_seconds`, 1 to 300),
/// `terms` (`label`), `text_input` (`label`, `placeholder`, `required`, `min_length`,
/// `max_length`), `quiz` (`question`, 2 to 10 `options`, `correct_index`). Each problem is
/// reported by field.
#[utoipa::path(
    post,
    path = "/wizards/{id}/steps/{step}/interactions",
    tag = "wizards",
    operation_id = "create_wizard_interaction",
    params(
        ("id" = i64, Path, description = "Wizard id"),
        ("step" = i64, Path, description = "Step id"),
    ),
    request_body = InteractionConfig,
    responses((status = CREATED, body = WizardInteractionView), Errors<(code::NotFound, code::ValidationFailed, code::Conflict)>)
)]
async fn create_interaction(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, step)): Path<(i64, i64)>,
    Json(input): Json<Map<String, Value>>,
) -> Result<(StatusCode, Json<WizardInteractionView>)> {
    let iid = builder::create_interaction(&state, &(&admin).into(), id, step, input).await?;
    Ok((
        StatusCode::CREATED,
        show_interaction(State(state), Path((id, step, iid))).await?,
    ))
}

/// Get an interaction
#[utoipa::path(
    get,
    path = "/wizards/{id}/steps/{step}/interactions/{interaction}",
    tag = "wizards",
    operation_id = "get_wizard_interaction",
    params(
        ("id" = i64, Path, description = "Wizard id"),
        ("step" = i64, Path, description = "Step id"),
        ("interaction" = i64, Path, description = "Interaction id"),
    ),
    responses((status = OK, body = WizardInteractionView), Errors<code::NotFound>)
)]
async fn show_interaction(
    State(state): State<AppState>,
    Path((id, step, interaction)): Path<(i64, i64, i64)>,
) -> Result<Json<WizardInteractionView>> {
    state
        .db()
        .run(move |c| {
            builder::load_step(c, id, step)?;
            db::wizards::interaction_of(c, step, interaction)?
                .map(interaction_view)
                .ok_or_else(|| Error::not_found("interaction"))
        })
        .await
        .map(Json)
}

/// Edit an interaction
///
/// The body is merged into the current settings (absent keys keep their value, `null` resets an
/// optional one) and the result is checked as a whole. Changing `type` starts from empty
/// settings of the new type.
#[utoipa::path(
    patch,
    path = "/wizards/{id}/steps/{step}/interactions/{interaction}",
    tag = "wizards",
    operation_id = "update_wizard_interaction",
    params(
        ("id" = i64, Path, description = "Wizard id"),
        ("step" = i64, Path, description = "Step id"),
        ("interaction" = i64, Path, description = "Interaction id"),
    ),
    request_body = InteractionConfig,
    responses((status = OK, body = WizardInteractionView), Errors<(code::NotFound, code::ValidationFailed)>)
)]
async fn update_interaction(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, step, interaction)): Path<(i64, i64, i64)>,
    Json(input): Json<Map<String, Value>>,
) -> Result<Json<WizardInteractionView>> {
    builder::update_interaction(&state, &(&admin).into(), id, step, interaction, input).await?;
    show_interaction(State(state), Path((id, step, interaction))).await
}

/// Delete an interaction
#[utoipa::path(
    delete,
    path = "/wizards/{id}/steps/{step}/interactions/{interaction}",
    tag = "wizards",
    operation_id = "delete_wizard_interaction",
    params(
        ("id" = i64, Path, description = "Wizard id"),
        ("step" = i64, Path, description = "Step id"),
        ("interaction" = i64, Path, description = "Interaction id"),
    ),
    responses((status = NO_CONTENT, description = "Deleted"), Errors<code::NotFound>)
)]
async fn remove_interaction(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, step, interaction)): Path<(i64, i64, i64)>,
) -> Result<StatusCode> {
    builder::delete_interaction(&state, &(&admin).into(), id, step, interaction).await?;
    Ok(StatusCode::NO_CONTENT)
}

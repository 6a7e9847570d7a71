//! The admin API for a wizard step's interactions: list, add, edit (merge), delete. Settings
//! are checked by `crate::wizard::parse_config`, with one field error per problem.

use super::wizards::{Actor, WizardInteractionView, interaction_view, load_step};
use crate::auth::Admin;
use crate::db;
use crate::error::{Error, ErrorCode, Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path, Query};
use crate::http::openapi::Errors;
use crate::http::pagination::{PageQuery, Paginated};
use crate::state::AppState;
use crate::wizard::{self, InteractionConfig};
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value, json};
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
            load_step(c, id, step)?;
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
    let actor = Actor::of(&admin);
    let view = state
        .db()
        .write(move |tx| {
            load_step(tx, id, step)?;
            let config = wizard::parse_config(&input).map_err(Error::invalid)?;
            if db::wizards::interactions(tx, step)?.len() >= wizard::MAX_INTERACTIONS {
                // The step is full: a state of the step, not a fault of this body.
                return Err(Error::new(
                    ErrorCode::Conflict,
                    format!(
                        "the step has the most interactions allowed ({})",
                        wizard::MAX_INTERACTIONS
                    ),
                ));
            }
            let iid = db::wizards::insert_interaction(tx, id, step, &config)?;
            actor.audit(
                tx,
                "wizard.interaction.create",
                id,
                Some(json!({ "step": step, "interaction": iid, "type": config.kind() })),
            )?;
            db::wizards::interaction_of(tx, step, iid)?
                .map(interaction_view)
                .ok_or_else(|| Error::not_found("interaction"))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
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
            load_step(c, id, step)?;
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
    let actor = Actor::of(&admin);
    state
        .db()
        .write(move |tx| {
            load_step(tx, id, step)?;
            let current = db::wizards::interaction_of(tx, step, interaction)?
                .ok_or_else(|| Error::not_found("interaction"))?;
            let mut merged = match serde_json::to_value(&current.config) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            };
            if let Some(kind) = input.get("type")
                && kind.as_str() != Some(current.config.kind())
            {
                merged = Map::new();
            }
            for (k, v) in input {
                if v.is_null() {
                    merged.remove(&k);
                } else {
                    merged.insert(k, v);
                }
            }
            let config = wizard::parse_config(&merged).map_err(Error::invalid)?;
            db::wizards::update_interaction(tx, id, interaction, &config)?;
            actor.audit(
                tx,
                "wizard.interaction.update",
                id,
                Some(json!({ "step": step, "interaction": interaction })),
            )?;
            db::wizards::interaction_of(tx, step, interaction)?
                .map(interaction_view)
                .ok_or_else(|| Error::not_found("interaction"))
        })
        .await
        .map(Json)
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
    let actor = Actor::of(&admin);
    state
        .db()
        .write(move |tx| {
            load_step(tx, id, step)?;
            if !db::wizards::delete_interaction(tx, id, step, interaction)? {
                return Err(Error::not_found("interaction"));
            }
            actor.audit(
                tx,
                "wizard.interaction.delete",
                id,
                Some(json!({ "step": step, "interaction": interaction })),
            )?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

//! Onboarding wizards: the admin builder API for wizards and their ordered steps (interactions
//! are in `wizard_interactions`, the invitee's step check in `wizard_join`).
//!
//! The rules (settings, limits, positions, interaction settings, rendering, tokens, answers) and
//! the audited changes live in `crate::wizard` (the builder in `crate::wizard::builder`); this
//! module only maps them to HTTP and never reveals a quiz answer on the public side.

use crate::auth::Admin;
use crate::db::{
    self,
    wizards::{Interaction, Step, Wizard},
};
use crate::error::{Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path, Query};
use crate::http::openapi::Errors;
use crate::http::pagination::{PageQuery, Paginated};
use crate::state::AppState;
use crate::wizard::{self, InteractionConfig, builder};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

/// Admin routes (builder).
pub fn routes() -> Routes {
    vec![
        routes!(list, create),
        routes!(show, update, remove),
        routes!(list_steps, create_step),
        routes!(show_step, update_step, remove_step),
        routes!(move_step),
    ]
    .into_iter()
    .chain(super::wizard_interactions::routes())
    .collect()
}

/// A wizard in the list.
#[derive(Serialize, ToSchema)]
struct WizardSummary {
    /// Wizard id.
    id: i64,
    /// Name.
    name: String,
    /// Description.
    description: Option<String>,
    /// Disabled wizards are skipped on the join page and not demanded at redemption.
    enabled: bool,
    /// Bumped by every change; tokens issued for an older version are refused.
    version: i64,
    /// Number of steps.
    step_count: i64,
    /// Creation time.
    created_at: String,
    /// Last change.
    updated_at: String,
}

/// An interaction of a step, as the admin sees it (with the quiz answer).
#[derive(Serialize, ToSchema)]
pub(super) struct WizardInteractionView {
    /// Interaction id.
    id: i64,
    /// 0-based position within the step.
    position: i64,
    /// Its settings.
    config: InteractionConfig,
}

/// A step of a wizard.
#[derive(Serialize, ToSchema)]
struct WizardStepView {
    /// Step id.
    id: i64,
    /// 0-based position; positions are contiguous.
    position: i64,
    /// Title.
    title: String,
    /// Markdown content.
    content: String,
    /// The content as the invitee sees it: rendered and sanitised HTML (a preview).
    html: String,
    /// Interactions, in order.
    interactions: Vec<WizardInteractionView>,
    /// Creation time.
    created_at: String,
    /// Last change.
    updated_at: String,
}

/// A wizard with its steps.
#[derive(Serialize, ToSchema)]
struct WizardView {
    /// Wizard id.
    id: i64,
    /// Name.
    name: String,
    /// Description.
    description: Option<String>,
    /// Disabled wizards are skipped on the join page and not demanded at redemption.
    enabled: bool,
    /// Bumped by every change; tokens issued for an older version are refused.
    version: i64,
    /// Invitations using it (pre-join or post-join).
    invitation_count: i64,
    /// Steps, in order.
    steps: Vec<WizardStepView>,
    /// Creation time.
    created_at: String,
    /// Last change.
    updated_at: String,
}

pub(super) fn interaction_view(i: Interaction) -> WizardInteractionView {
    WizardInteractionView {
        id: i.id,
        position: i.position,
        config: i.config,
    }
}

fn step_view(c: &rusqlite::Connection, s: Step) -> Result<WizardStepView> {
    let interactions = db::wizards::interactions(c, s.id)?
        .into_iter()
        .map(interaction_view)
        .collect();
    Ok(WizardStepView {
        html: wizard::render_markdown(&s.content),
        id: s.id,
        position: s.position,
        title: s.title,
        content: s.content,
        interactions,
        created_at: s.created_at,
        updated_at: s.updated_at,
    })
}

fn wizard_view(c: &rusqlite::Connection, w: Wizard) -> Result<WizardView> {
    let steps = db::wizards::steps(c, w.id)?
        .into_iter()
        .map(|s| step_view(c, s))
        .collect::<Result<_>>()?;
    Ok(WizardView {
        invitation_count: db::wizards::invitation_count(c, w.id)?,
        id: w.id,
        name: w.name,
        description: w.description,
        enabled: w.enabled,
        version: w.version,
        steps,
        created_at: w.created_at,
        updated_at: w.updated_at,
    })
}

/// A wizard's settings. On create `name` is required; on update absent fields keep their value
/// and `null` clears `description`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct WizardInput {
    /// Name, 1 to 100 characters (not only spaces).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: Option<String>,
    /// Description, at most 1000 characters.
    #[serde(default, deserialize_with = "crate::http::extract::double")]
    #[schema(max_length = 1000)]
    description: Option<Option<String>>,
    /// Whether invitees are shown it (default `true`).
    enabled: Option<bool>,
}

impl From<WizardInput> for builder::WizardChanges {
    fn from(i: WizardInput) -> builder::WizardChanges {
        builder::WizardChanges {
            name: i.name,
            description: i.description,
            enabled: i.enabled,
        }
    }
}

impl From<StepInput> for builder::StepChanges {
    fn from(i: StepInput) -> builder::StepChanges {
        builder::StepChanges {
            title: i.title,
            content: i.content,
            position: i.position,
        }
    }
}

crate::required_body!(
    /// A new wizard: `name` is required.
    NewWizard(WizardInput): "name"
);

crate::required_body!(
    /// A new step: `title` is required.
    NewStep(StepInput): "title"
);

crate::required_body!(
    /// Changes to a step (its position changes with `POST .../move`).
    StepChanges(StepInput): ; omit "position"
);

/// List wizards
#[utoipa::path(
    get,
    path = "/wizards",
    tag = "wizards",
    operation_id = "list_wizards",
    params(PageQuery),
    responses((status = OK, body = Paginated<WizardSummary>), Errors<code::ValidationFailed>)
)]
async fn list(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Paginated<WizardSummary>>> {
    let page = q.validate()?;
    state
        .db()
        .run(move |c| {
            let (items, total) = db::wizards::list(c, page.limit(), page.offset())?;
            let items = items
                .into_iter()
                .map(|(w, step_count)| WizardSummary {
                    id: w.id,
                    name: w.name,
                    description: w.description,
                    enabled: w.enabled,
                    version: w.version,
                    step_count,
                    created_at: w.created_at,
                    updated_at: w.updated_at,
                })
                .collect();
            Ok(Paginated::new(items, total, page))
        })
        .await
        .map(Json)
}

/// Create a wizard
///
/// Add steps with `POST /wizards/{id}/steps`.
#[utoipa::path(
    post,
    path = "/wizards",
    tag = "wizards",
    operation_id = "create_wizard",
    request_body = NewWizard,
    responses((status = CREATED, body = WizardView), Errors<code::ValidationFailed>)
)]
async fn create(
    State(state): State<AppState>,
    admin: Admin,
    Json(NewWizard(input)): Json<NewWizard>,
) -> Result<(StatusCode, Json<WizardView>)> {
    let id = builder::create(&state, &(&admin).into(), input.into()).await?;
    Ok((StatusCode::CREATED, show(State(state), Path(id)).await?))
}

/// Get a wizard
///
/// With every step (Markdown and the rendered preview) and interaction, quiz answers included.
#[utoipa::path(
    get,
    path = "/wizards/{id}",
    tag = "wizards",
    operation_id = "get_wizard",
    params(("id" = i64, Path, description = "Wizard id")),
    responses((status = OK, body = WizardView), Errors<code::NotFound>)
)]
async fn show(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<WizardView>> {
    state
        .db()
        .run(move |c| wizard_view(c, builder::load_wizard(c, id)?))
        .await
        .map(Json)
}

/// Edit a wizard
///
/// Any change invalidates the wizard tokens invitees hold; they start the wizard again.
#[utoipa::path(
    patch,
    path = "/wizards/{id}",
    tag = "wizards",
    operation_id = "update_wizard",
    params(("id" = i64, Path, description = "Wizard id")),
    request_body = WizardInput,
    responses((status = OK, body = WizardView), Errors<(code::NotFound, code::ValidationFailed)>)
)]
async fn update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Json(input): Json<WizardInput>,
) -> Result<Json<WizardView>> {
    builder::update(&state, &(&admin).into(), id, input.into()).await?;
    show(State(state), Path(id)).await
}

/// Delete a wizard
///
/// Invitations that used it keep working without it (their link is cleared).
#[utoipa::path(
    delete,
    path = "/wizards/{id}",
    tag = "wizards",
    operation_id = "delete_wizard",
    params(("id" = i64, Path, description = "Wizard id")),
    responses((status = NO_CONTENT, description = "Deleted"), Errors<code::NotFound>)
)]
async fn remove(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    builder::delete(&state, &(&admin).into(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A step's title, content and (on create) position.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StepInput {
    /// Title, 1 to 200 characters, not only spaces (required on create).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    title: Option<String>,
    /// Markdown content, at most 20000 characters. Raw HTML is allowed but sanitised: scripts,
    /// styles, event handlers and unsafe links never reach the invitee.
    #[schema(max_length = 20000)]
    content: Option<String>,
    /// Create only: 0-based position to insert at (default: at the end; a position past the
    /// end also appends). To reorder, use `POST .../move`.
    #[schema(minimum = 0)]
    position: Option<i64>,
}

/// List a wizard's steps
#[utoipa::path(
    get,
    path = "/wizards/{id}/steps",
    tag = "wizards",
    operation_id = "list_wizard_steps",
    params(("id" = i64, Path, description = "Wizard id"), PageQuery),
    responses((status = OK, body = Paginated<WizardStepView>), Errors<(code::NotFound, code::ValidationFailed)>)
)]
async fn list_steps(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Paginated<WizardStepView>>> {
    let page = q.validate()?;
    state
        .db()
        .run(move |c| {
            builder::load_wizard(c, id)?;
            let steps = db::wizards::steps(c, id)?
                .into_iter()
                .map(|s| step_view(c, s))
                .collect::<Result<Vec<_>>>()?;
            Ok(Paginated::from_vec(steps, page))
        })
        .await
        .map(Json)
}

/// Add a step
#[utoipa::path(
    post,
    path = "/wizards/{id}/steps",
    tag = "wizards",
    operation_id = "create_wizard_step",
    params(("id" = i64, Path, description = "Wizard id")),
    request_body = NewStep,
    responses((status = CREATED, body = WizardStepView), Errors<(code::NotFound, code::ValidationFailed, code::Conflict)>)
)]
async fn create_step(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Json(NewStep(input)): Json<NewStep>,
) -> Result<(StatusCode, Json<WizardStepView>)> {
    let step = builder::create_step(&state, &(&admin).into(), id, input.into()).await?;
    Ok((
        StatusCode::CREATED,
        show_step(State(state), Path((id, step))).await?,
    ))
}

/// Get a step
#[utoipa::path(
    get,
    path = "/wizards/{id}/steps/{step}",
    tag = "wizards",
    operation_id = "get_wizard_step",
    params(
        ("id" = i64, Path, description = "Wizard id"),
        ("step" = i64, Path, description = "Step id"),
    ),
    responses((status = OK, body = WizardStepView), Errors<code::NotFound>)
)]
async fn show_step(
    State(state): State<AppState>,
    Path((id, step)): Path<(i64, i64)>,
) -> Result<Json<WizardStepView>> {
    state
        .db()
        .run(move |c| step_view(c, builder::load_step(c, id, step)?))
        .await
        .map(Json)
}

/// Edit a step
///
/// Title and content; absent fields keep their value. To reorder, use `POST .../move`.
#[utoipa::path(
    patch,
    path = "/wizards/{id}/steps/{step}",
    tag = "wizards",
    operation_id = "update_wizard_step",
    params(
        ("id" = i64, Path, description = "Wizard id"),
        ("step" = i64, Path, description = "Step id"),
    ),
    request_body = StepChanges,
    responses((status = OK, body = WizardStepView), Errors<(code::NotFound, code::ValidationFailed)>)
)]
async fn update_step(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, step)): Path<(i64, i64)>,
    Json(StepChanges(input)): Json<StepChanges>,
) -> Result<Json<WizardStepView>> {
    builder::update_step(&state, &(&admin).into(), id, step, input.into()).await?;
    show_step(State(state), Path((id, step))).await
}

/// Delete a step
///
/// The steps after it move up, so positions stay contiguous.
#[utoipa::path(
    delete,
    path = "/wizards/{id}/steps/{step}",
    tag = "wizards",
    operation_id = "delete_wizard_step",
    params(
        ("id" = i64, Path, description = "Wizard id"),
        ("step" = i64, Path, description = "Step id"),
    ),
    responses((status = NO_CONTENT, description = "Deleted"), Errors<code::NotFound>)
)]
async fn remove_step(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, step)): Path<(i64, i64)>,
) -> Result<StatusCode> {
    builder::delete_step(&state, &(&admin).into(), id, step).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Where to move a step.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MoveInput {
    /// The new 0-based position (0 to the number of steps - 1; larger moves the step to the
    /// end); the steps in between shift by one.
    #[schema(minimum = 0)]
    position: i64,
}

/// Move a step
///
/// Answers the wizard with its steps in the new order.
#[utoipa::path(
    post,
    path = "/wizards/{id}/steps/{step}/move",
    tag = "wizards",
    operation_id = "move_wizard_step",
    params(
        ("id" = i64, Path, description = "Wizard id"),
        ("step" = i64, Path, description = "Step id"),
    ),
    request_body = MoveInput,
    responses((status = OK, body = WizardView), Errors<(code::NotFound, code::ValidationFailed)>)
)]
async fn move_step(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, step)): Path<(i64, i64)>,
    Json(input): Json<MoveInput>,
) -> Result<Json<WizardView>> {
    builder::move_step(&state, &(&admin).into(), id, step, input.position).await?;
    show(State(state), Path(id)).await
}

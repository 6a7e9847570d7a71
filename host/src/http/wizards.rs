//! Onboarding wizards: the admin builder API for wizards and their ordered steps (interactions
//! are in `wizard_interactions`, the invitee's step check in `wizard_join`).
//!
//! The rules (interaction settings, rendering, tokens, answers) live in `crate::wizard`; this
//! module only maps them to HTTP, audits every admin change and never reveals a quiz answer on
//! the public side.

use crate::auth::Admin;
use crate::db::{
    self,
    audit::Outcome,
    wizards::{Interaction, Step, Wizard},
};
use crate::error::{Error, ErrorCode, FieldError, Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path, Query};
use crate::http::openapi::Errors;
use crate::http::pagination::{PageQuery, Paginated};
use crate::state::AppState;
use crate::wizard::{self, InteractionConfig};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
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

fn load_wizard(c: &rusqlite::Connection, id: i64) -> Result<Wizard> {
    db::wizards::get(c, id)?.ok_or_else(|| Error::not_found("wizard"))
}

pub(super) fn load_step(c: &rusqlite::Connection, wizard_id: i64, step_id: i64) -> Result<Step> {
    load_wizard(c, wizard_id)?;
    db::wizards::step_of(c, wizard_id, step_id)?.ok_or_else(|| Error::not_found("wizard step"))
}

/// Who did it, for the audit log.
pub(super) struct Actor {
    actor: String,
    ip: Option<String>,
}

impl Actor {
    pub(super) fn of(admin: &Admin) -> Actor {
        Actor {
            actor: admin.actor(),
            ip: admin.ip.clone(),
        }
    }

    pub(super) fn audit(
        &self,
        c: &rusqlite::Connection,
        action: &str,
        wizard_id: i64,
        detail: Option<Value>,
    ) -> Result<()> {
        db::audit::append(
            c,
            &db::audit::NewEvent {
                actor: &self.actor,
                ip: self.ip.as_deref(),
                action,
                target: Some(&format!("wizard:{wizard_id}")),
                outcome: Outcome::Success,
                detail,
            },
        )?;
        Ok(())
    }
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

fn check_wizard_input(w: &mut Wizard, input: WizardInput, fields: &mut Vec<FieldError>) {
    if let Some(name) = input.name {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            fields.push(FieldError::new("name", "must be 1 to 100 characters"));
        }
        w.name = name.to_owned();
    }
    if let Some(description) = input.description {
        let description = description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 1000)
        {
            fields.push(FieldError::new(
                "description",
                "must be at most 1000 characters",
            ));
        }
        w.description = description;
    }
    if let Some(enabled) = input.enabled {
        w.enabled = enabled;
    }
}

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
    let mut fields = Vec::new();
    if input.name.is_none() {
        fields.push(FieldError::new("name", "is required"));
    }
    let mut w = Wizard {
        id: 0,
        name: String::new(),
        description: None,
        enabled: true,
        version: 1,
        created_at: String::new(),
        updated_at: String::new(),
    };
    check_wizard_input(&mut w, input, &mut fields);
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    let actor = Actor::of(&admin);
    let view = state
        .db()
        .write(move |tx| {
            let id = db::wizards::insert(tx, &w.name, w.description.as_deref(), w.enabled)?;
            actor.audit(tx, "wizard.create", id, Some(json!({ "name": w.name })))?;
            wizard_view(tx, load_wizard(tx, id)?)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
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
        .run(move |c| wizard_view(c, load_wizard(c, id)?))
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
    let actor = Actor::of(&admin);
    state
        .db()
        .write(move |tx| {
            let mut w = load_wizard(tx, id)?;
            let mut fields = Vec::new();
            check_wizard_input(&mut w, input, &mut fields);
            if !fields.is_empty() {
                return Err(Error::invalid(fields));
            }
            db::wizards::update(tx, &w)?;
            actor.audit(tx, "wizard.update", id, None)?;
            wizard_view(tx, load_wizard(tx, id)?)
        })
        .await
        .map(Json)
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
    let actor = Actor::of(&admin);
    state
        .db()
        .write(move |tx| {
            let w = load_wizard(tx, id)?;
            let invitations = db::wizards::invitation_count(tx, id)?;
            db::wizards::delete(tx, id)?;
            actor.audit(
                tx,
                "wizard.delete",
                id,
                Some(json!({ "name": w.name, "invitations_unlinked": invitations })),
            )?;
            Ok(())
        })
        .await?;
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

fn check_step_input(s: &mut Step, input: &StepInput, fields: &mut Vec<FieldError>) {
    if let Some(title) = &input.title {
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            fields.push(FieldError::new("title", "must be 1 to 200 characters"));
        }
        s.title = title.to_owned();
    }
    if let Some(content) = &input.content {
        if content.chars().count() > wizard::MAX_CONTENT_CHARS {
            fields.push(FieldError::new(
                "content",
                format!("must be at most {} characters", wizard::MAX_CONTENT_CHARS),
            ));
        }
        s.content = content.clone();
    }
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
            load_wizard(c, id)?;
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
    let actor = Actor::of(&admin);
    let view = state
        .db()
        .write(move |tx| {
            load_wizard(tx, id)?;
            let count = db::wizards::steps(tx, id)?.len();
            let mut fields = Vec::new();
            if input.title.is_none() {
                fields.push(FieldError::new("title", "is required"));
            }
            if count >= wizard::MAX_STEPS {
                // The wizard is full: a state of the wizard, not a fault of this body.
                return Err(Error::new(
                    ErrorCode::Conflict,
                    format!("the wizard has the most steps allowed ({})", wizard::MAX_STEPS),
                ));
            }
            let position = match input.position {
                None => None,
                // Past the end appends, like inserting at the end of a list.
                Some(p) if p >= 0 => Some((p as usize).min(count)),
                Some(_) => {
                    fields.push(FieldError::new(
                        "position",
                        format!("must be from 0 to {count}"),
                    ));
                    None
                }
            };
            let mut s = Step {
                id: 0,
                wizard_id: id,
                position: 0,
                title: String::new(),
                content: String::new(),
                created_at: String::new(),
                updated_at: String::new(),
            };
            check_step_input(&mut s, &input, &mut fields);
            if !fields.is_empty() {
                return Err(Error::invalid(fields));
            }
            let step_id = db::wizards::insert_step(tx, id, position, &s.title, &s.content)?;
            actor.audit(
                tx,
                "wizard.step.create",
                id,
                Some(json!({ "step": step_id })),
            )?;
            step_view(tx, load_step(tx, id, step_id)?)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
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
        .run(move |c| step_view(c, load_step(c, id, step)?))
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
    let actor = Actor::of(&admin);
    state
        .db()
        .write(move |tx| {
            let mut s = load_step(tx, id, step)?;
            let mut fields = Vec::new();
            if input.position.is_some() {
                fields.push(FieldError::new(
                    "position",
                    "cannot be changed here; use POST .../move",
                ));
            }
            check_step_input(&mut s, &input, &mut fields);
            if !fields.is_empty() {
                return Err(Error::invalid(fields));
            }
            db::wizards::update_step(tx, &s)?;
            actor.audit(tx, "wizard.step.update", id, Some(json!({ "step": step })))?;
            step_view(tx, load_step(tx, id, step)?)
        })
        .await
        .map(Json)
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
    let actor = Actor::of(&admin);
    state
        .db()
        .write(move |tx| {
            load_step(tx, id, step)?;
            db::wizards::delete_step(tx, id, step)?;
            actor.audit(tx, "wizard.step.delete", id, Some(json!({ "step": step })))?;
            Ok(())
        })
        .await?;
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
    let actor = Actor::of(&admin);
    state
        .db()
        .write(move |tx| {
            let s = load_step(tx, id, step)?;
            let count = db::wizards::steps(tx, id)?.len() as i64;
            if input.position < 0 {
                return Err(Error::invalid(vec![FieldError::new(
                    "position",
                    "must be 0 or more",
                )]));
            }
            // Past the end moves the step to the end.
            let to = input.position.min(count - 1).max(0);
            db::wizards::move_step(tx, id, step, to as usize)?;
            actor.audit(
                tx,
                "wizard.step.move",
                id,
                Some(json!({ "step": step, "from": s.position, "to": to })),
            )?;
            wizard_view(tx, load_wizard(tx, id)?)
        })
        .await
        .map(Json)
}

//! The admin's wizard builder as rules: validation of a wizard's, a step's and an
//! interaction's settings, the limits (steps per wizard, interactions per step), step positions
//! and moves, and an audit event for every change.
//!
//! Both skins call these functions; nothing here knows axum or HTTP bodies. Every change runs in
//! one write transaction, so a refused change leaves nothing behind.

use super::{MAX_CONTENT_CHARS, MAX_INTERACTIONS, MAX_STEPS, parse_config};
use crate::auth::Actor;
use crate::db::{
    self,
    wizards::{Step, Wizard},
};
use crate::error::{Error, ErrorCode, FieldError, Result};
use crate::state::AppState;
use rusqlite::Connection;
use serde_json::{Map, Value, json};

/// A wizard by id.
pub fn load_wizard(c: &Connection, id: i64) -> Result<Wizard> {
    db::wizards::get(c, id)?.ok_or_else(|| Error::not_found("wizard"))
}

/// A step of a wizard by id.
pub fn load_step(c: &Connection, wizard_id: i64, step_id: i64) -> Result<Step> {
    load_wizard(c, wizard_id)?;
    db::wizards::step_of(c, wizard_id, step_id)?.ok_or_else(|| Error::not_found("wizard step"))
}

fn audit(
    actor: &Actor,
    c: &Connection,
    action: &'static str,
    wizard_id: i64,
    detail: Option<Value>,
) -> Result<()> {
    Ok(actor.audit(c, action, Some(&format!("wizard:{wizard_id}")), detail)?)
}

/// A wizard's settings. On create `name` is required; on update absent fields keep their value
/// and `Some(None)` clears the description.
#[derive(Debug, Clone, Default)]
pub struct WizardChanges {
    /// 1 to 100 characters, trimmed.
    pub name: Option<String>,
    /// At most 1000 characters, trimmed; blank clears it.
    pub description: Option<Option<String>>,
    /// Whether invitees are shown it.
    pub enabled: Option<bool>,
}

fn apply_wizard(w: &mut Wizard, changes: WizardChanges, fields: &mut Vec<FieldError>) {
    if let Some(name) = changes.name {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            fields.push(FieldError::new("name", "must be 1 to 100 characters"));
        }
        w.name = name.to_owned();
    }
    if let Some(description) = changes.description {
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
    if let Some(enabled) = changes.enabled {
        w.enabled = enabled;
    }
}

/// Create a wizard (without steps); answers its id.
pub async fn create(state: &AppState, actor: &Actor, changes: WizardChanges) -> Result<i64> {
    let mut fields = Vec::new();
    if changes.name.is_none() {
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
    apply_wizard(&mut w, changes, &mut fields);
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            let id = db::wizards::insert(tx, &w.name, w.description.as_deref(), w.enabled)?;
            audit(
                &actor,
                tx,
                "wizard.create",
                id,
                Some(json!({ "name": w.name })),
            )?;
            Ok(id)
        })
        .await
}

/// Edit a wizard; any change bumps its version (invalidating the tokens invitees hold).
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: i64,
    changes: WizardChanges,
) -> Result<()> {
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            let mut w = load_wizard(tx, id)?;
            let mut fields = Vec::new();
            apply_wizard(&mut w, changes, &mut fields);
            if !fields.is_empty() {
                return Err(Error::invalid(fields));
            }
            db::wizards::update(tx, &w)?;
            audit(&actor, tx, "wizard.update", id, None)
        })
        .await
}

/// Delete a wizard; invitations that used it keep working without it.
pub async fn delete(state: &AppState, actor: &Actor, id: i64) -> Result<()> {
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            let w = load_wizard(tx, id)?;
            let invitations = db::wizards::invitation_count(tx, id)?;
            db::wizards::delete(tx, id)?;
            audit(
                &actor,
                tx,
                "wizard.delete",
                id,
                Some(json!({ "name": w.name, "invitations_unlinked": invitations })),
            )
        })
        .await
}

/// A step's settings. On create `title` is required; `position` is for create only.
#[derive(Debug, Clone, Default)]
pub struct StepChanges {
    /// 1 to 200 characters, trimmed.
    pub title: Option<String>,
    /// Markdown, at most [`MAX_CONTENT_CHARS`].
    pub content: Option<String>,
    /// 0-based position to insert at (past the end appends).
    pub position: Option<i64>,
}

fn apply_step(s: &mut Step, changes: &StepChanges, fields: &mut Vec<FieldError>) {
    if let Some(title) = &changes.title {
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            fields.push(FieldError::new("title", "must be 1 to 200 characters"));
        }
        s.title = title.to_owned();
    }
    if let Some(content) = &changes.content {
        if content.chars().count() > MAX_CONTENT_CHARS {
            fields.push(FieldError::new(
                "content",
                format!("must be at most {MAX_CONTENT_CHARS} characters"),
            ));
        }
        s.content = content.clone();
    }
}

/// Add a step to a wizard; answers its id. A full wizard is a conflict.
pub async fn create_step(
    state: &AppState,
    actor: &Actor,
    id: i64,
    changes: StepChanges,
) -> Result<i64> {
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            load_wizard(tx, id)?;
            let count = db::wizards::steps(tx, id)?.len();
            let mut fields = Vec::new();
            if changes.title.is_none() {
                fields.push(FieldError::new("title", "is required"));
            }
            if count >= MAX_STEPS {
                // The wizard is full: a state of the wizard, not a fault of this body.
                return Err(Error::new(
                    ErrorCode::Conflict,
                    format!("the wizard has the most steps allowed ({MAX_STEPS})"),
                ));
            }
            let position = match changes.position {
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
            apply_step(&mut s, &changes, &mut fields);
            if !fields.is_empty() {
                return Err(Error::invalid(fields));
            }
            let step_id = db::wizards::insert_step(tx, id, position, &s.title, &s.content)?;
            audit(
                &actor,
                tx,
                "wizard.step.create",
                id,
                Some(json!({ "step": step_id })),
            )?;
            Ok(step_id)
        })
        .await
}

/// Edit a step's title and content (its position changes with [`move_step`]).
pub async fn update_step(
    state: &AppState,
    actor: &Actor,
    id: i64,
    step: i64,
    changes: StepChanges,
) -> Result<()> {
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            let mut s = load_step(tx, id, step)?;
            let mut fields = Vec::new();
            if changes.position.is_some() {
                fields.push(FieldError::new(
                    "position",
                    "cannot be changed here; use POST .../move",
                ));
            }
            apply_step(&mut s, &changes, &mut fields);
            if !fields.is_empty() {
                return Err(Error::invalid(fields));
            }
            db::wizards::update_step(tx, &s)?;
            audit(
                &actor,
                tx,
                "wizard.step.update",
                id,
                Some(json!({ "step": step })),
            )
        })
        .await
}

/// Delete a step; the steps after it move up.
pub async fn delete_step(state: &AppState, actor: &Actor, id: i64, step: i64) -> Result<()> {
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            load_step(tx, id, step)?;
            db::wizards::delete_step(tx, id, step)?;
            audit(
                &actor,
                tx,
                "wizard.step.delete",
                id,
                Some(json!({ "step": step })),
            )
        })
        .await
}

/// Move a step to a 0-based position (past the end: to the end); the steps in between shift.
pub async fn move_step(
    state: &AppState,
    actor: &Actor,
    id: i64,
    step: i64,
    position: i64,
) -> Result<()> {
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            let s = load_step(tx, id, step)?;
            let count = db::wizards::steps(tx, id)?.len() as i64;
            if position < 0 {
                return Err(Error::invalid(vec![FieldError::new(
                    "position",
                    "must be 0 or more",
                )]));
            }
            // Past the end moves the step to the end.
            let to = position.min(count - 1).max(0);
            db::wizards::move_step(tx, id, step, to as usize)?;
            audit(
                &actor,
                tx,
                "wizard.step.move",
                id,
                Some(json!({ "step": step, "from": s.position, "to": to })),
            )
        })
        .await
}

/// Add an interaction to a step from its settings (checked by [`parse_config`]); answers its
/// id. A full step is a conflict.
pub async fn create_interaction(
    state: &AppState,
    actor: &Actor,
    id: i64,
    step: i64,
    settings: Map<String, Value>,
) -> Result<i64> {
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            load_step(tx, id, step)?;
            let config = parse_config(&settings).map_err(Error::invalid)?;
            if db::wizards::interactions(tx, step)?.len() >= MAX_INTERACTIONS {
                // The step is full: a state of the step, not a fault of this body.
                return Err(Error::new(
                    ErrorCode::Conflict,
                    format!("the step has the most interactions allowed ({MAX_INTERACTIONS})"),
                ));
            }
            let iid = db::wizards::insert_interaction(tx, id, step, &config)?;
            audit(
                &actor,
                tx,
                "wizard.interaction.create",
                id,
                Some(json!({ "step": step, "interaction": iid, "type": config.kind() })),
            )?;
            Ok(iid)
        })
        .await
}

/// Edit an interaction: the changes are merged into the current settings (absent keys keep
/// their value, null resets an optional one) and the result is checked as a whole; a change of
/// `type` starts from empty settings of the new type.
pub async fn update_interaction(
    state: &AppState,
    actor: &Actor,
    id: i64,
    step: i64,
    interaction: i64,
    changes: Map<String, Value>,
) -> Result<()> {
    let actor = actor.clone();
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
            if let Some(kind) = changes.get("type")
                && kind.as_str() != Some(current.config.kind())
            {
                merged = Map::new();
            }
            for (k, v) in changes {
                if v.is_null() {
                    merged.remove(&k);
                } else {
                    merged.insert(k, v);
                }
            }
            let config = parse_config(&merged).map_err(Error::invalid)?;
            db::wizards::update_interaction(tx, id, interaction, &config)?;
            audit(
                &actor,
                tx,
                "wizard.interaction.update",
                id,
                Some(json!({ "step": step, "interaction": interaction })),
            )
        })
        .await
}

/// Delete an interaction.
pub async fn delete_interaction(
    state: &AppState,
    actor: &Actor,
    id: i64,
    step: i64,
    interaction: i64,
) -> Result<()> {
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            load_step(tx, id, step)?;
            if !db::wizards::delete_interaction(tx, id, step, interaction)? {
                return Err(Error::not_found("interaction"));
            }
            audit(
                &actor,
                tx,
                "wizard.interaction.delete",
                id,
                Some(json!({ "step": step, "interaction": interaction })),
            )
        })
        .await
}

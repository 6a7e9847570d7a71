//! Repository functions for onboarding wizards, their ordered steps and the steps' interactions.
//!
//! Step positions are 0-based and contiguous. Every reordering goes through [`set_step_order`],
//! which parks the rows on negative temporaries first, so `UNIQUE (wizard_id, position)` never
//! fires half-way (a duplicate position is not a client error to surface as a 500). Every change
//! bumps the wizard's `version`, which signed wizard tokens name.

use super::time;
use crate::db::Cached;
use crate::wizard::InteractionConfig;
use rusqlite::{Connection, OptionalExtension, params};

/// A wizard row.
#[derive(Debug, Clone)]
pub struct Wizard {
    /// Row id.
    pub id: i64,
    /// Name shown to the admin and the invitee.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Disabled wizards are skipped on the join page and not demanded at redemption.
    pub enabled: bool,
    /// Bumped by every change.
    pub version: i64,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// A step row.
#[derive(Debug, Clone)]
pub struct Step {
    /// Row id.
    pub id: i64,
    /// Its wizard.
    pub wizard_id: i64,
    /// 0-based position.
    pub position: i64,
    /// Title.
    pub title: String,
    /// Markdown content.
    pub content: String,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// An interaction row.
#[derive(Debug, Clone)]
pub struct Interaction {
    /// Row id.
    pub id: i64,
    /// Its step.
    pub step_id: i64,
    /// 0-based position within the step.
    pub position: i64,
    /// The normalised configuration.
    pub config: InteractionConfig,
}

/// A step with its interactions.
pub type FullStep = (Step, Vec<Interaction>);

const WIZARD_COLS: &str = "id, name, description, enabled, version, created_at, updated_at";
const STEP_COLS: &str = "id, wizard_id, position, title, content, created_at, updated_at";

fn wizard_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Wizard> {
    Ok(Wizard {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        enabled: r.get(3)?,
        version: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

fn step_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Step> {
    Ok(Step {
        id: r.get(0)?,
        wizard_id: r.get(1)?,
        position: r.get(2)?,
        title: r.get(3)?,
        content: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

fn interaction_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Interaction> {
    let config: String = r.get(3)?;
    let config = serde_json::from_str(&config).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Interaction {
        id: r.get(0)?,
        step_id: r.get(1)?,
        position: r.get(2)?,
        config,
    })
}

/// One wizard by id.
pub fn get(c: &Connection, id: i64) -> rusqlite::Result<Option<Wizard>> {
    c.row(
        &format!("SELECT {WIZARD_COLS} FROM wizards WHERE id = ?1"),
        [id],
        wizard_row,
    )
    .optional()
}

/// A page of wizards (by name) with their step counts, and the total.
pub fn list(
    c: &Connection,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<(Wizard, i64)>, i64)> {
    let total = c.row("SELECT count(*) FROM wizards", [], |r| r.get(0))?;
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {WIZARD_COLS}, (SELECT count(*) FROM wizard_steps s WHERE s.wizard_id = wizards.id)
         FROM wizards ORDER BY name COLLATE NOCASE, id LIMIT ?1 OFFSET ?2"
    ))?;
    let items = stmt
        .query_map(params![limit, offset], |r| Ok((wizard_row(r)?, r.get(7)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok((items, total))
}

/// Insert a wizard; returns the id.
pub fn insert(
    c: &Connection,
    name: &str,
    description: Option<&str>,
    enabled: bool,
) -> rusqlite::Result<i64> {
    c.exec(
        "INSERT INTO wizards (name, description, enabled, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![name, description, enabled, time::now()],
    )?;
    Ok(c.last_insert_rowid())
}

/// Save name, description and enabled flag (bumps the version).
pub fn update(c: &Connection, w: &Wizard) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE wizards SET name = ?2, description = ?3, enabled = ?4, version = version + 1, updated_at = ?5 WHERE id = ?1",
        params![w.id, w.name, w.description, w.enabled, time::now()],
    )?;
    Ok(())
}

/// Record a change to the wizard's steps or interactions.
pub fn touch(c: &Connection, id: i64) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE wizards SET version = version + 1, updated_at = ?2 WHERE id = ?1",
        params![id, time::now()],
    )?;
    Ok(())
}

/// Delete a wizard with its steps; invitations that used it lose the link (FK `SET NULL`).
pub fn delete(c: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(c.exec("DELETE FROM wizards WHERE id = ?1", [id])? == 1)
}

/// How many invitations use the wizard (pre or post).
pub fn invitation_count(c: &Connection, id: i64) -> rusqlite::Result<i64> {
    c.row(
        "SELECT count(*) FROM invitations WHERE pre_wizard_id = ?1 OR post_wizard_id = ?1",
        [id],
        |r| r.get(0),
    )
}

/// The invitations that use the wizard (pre or post), newest first, at most `limit`: id and code.
pub fn used_by(c: &Connection, id: i64, limit: i64) -> rusqlite::Result<Vec<(i64, String)>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, code FROM invitations WHERE pre_wizard_id = ?1 OR post_wizard_id = ?1
         ORDER BY id DESC LIMIT ?2",
    )?;
    stmt.query_map(params![id, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// The steps of a wizard, in order.
pub fn steps(c: &Connection, wizard_id: i64) -> rusqlite::Result<Vec<Step>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {STEP_COLS} FROM wizard_steps WHERE wizard_id = ?1 ORDER BY position"
    ))?;
    stmt.query_map([wizard_id], step_row)?.collect()
}

/// One step by id, whatever its wizard.
pub fn step(c: &Connection, step_id: i64) -> rusqlite::Result<Option<Step>> {
    c.row(
        &format!("SELECT {STEP_COLS} FROM wizard_steps WHERE id = ?1"),
        [step_id],
        step_row,
    )
    .optional()
}

/// One step of a wizard.
pub fn step_of(c: &Connection, wizard_id: i64, step_id: i64) -> rusqlite::Result<Option<Step>> {
    Ok(step(c, step_id)?.filter(|s| s.wizard_id == wizard_id))
}

/// Give the wizard's steps the positions of `ids` (every step of the wizard, in the new order).
/// Rows are parked on negative positions first, so no intermediate state breaks the unique
/// constraint.
pub fn set_step_order(c: &Connection, wizard_id: i64, ids: &[i64]) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE wizard_steps SET position = -1 - position WHERE wizard_id = ?1 AND position >= 0",
        [wizard_id],
    )?;
    let mut stmt =
        c.prepare_cached("UPDATE wizard_steps SET position = ?3 WHERE id = ?1 AND wizard_id = ?2")?;
    for (i, id) in ids.iter().enumerate() {
        stmt.execute(params![id, wizard_id, i as i64])?;
    }
    Ok(())
}

/// Insert a step at `position` (clamped to the end; `None`: at the end); returns the id.
pub fn insert_step(
    c: &Connection,
    wizard_id: i64,
    position: Option<usize>,
    title: &str,
    content: &str,
) -> rusqlite::Result<i64> {
    let mut ids: Vec<i64> = steps(c, wizard_id)?.iter().map(|s| s.id).collect();
    // A temporary position below every parked one (those are -1 ..= -len).
    let parked = -(ids.len() as i64) - 1;
    c.exec(
        "INSERT INTO wizard_steps (wizard_id, position, title, content, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![wizard_id, parked, title, content, time::now()],
    )?;
    let id = c.last_insert_rowid();
    let at = position.unwrap_or(ids.len()).min(ids.len());
    ids.insert(at, id);
    set_step_order(c, wizard_id, &ids)?;
    touch(c, wizard_id)?;
    Ok(id)
}

/// Save a step's title and content.
pub fn update_step(c: &Connection, s: &Step) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE wizard_steps SET title = ?2, content = ?3, updated_at = ?4 WHERE id = ?1",
        params![s.id, s.title, s.content, time::now()],
    )?;
    touch(c, s.wizard_id)
}

/// Delete a step and close the gap.
pub fn delete_step(c: &Connection, wizard_id: i64, step_id: i64) -> rusqlite::Result<bool> {
    let n = c.exec(
        "DELETE FROM wizard_steps WHERE id = ?1 AND wizard_id = ?2",
        params![step_id, wizard_id],
    )?;
    let ids: Vec<i64> = steps(c, wizard_id)?.iter().map(|s| s.id).collect();
    set_step_order(c, wizard_id, &ids)?;
    touch(c, wizard_id)?;
    Ok(n == 1)
}

/// Move a step to `position` (clamped to the last one); the others shift to keep the order
/// contiguous.
pub fn move_step(
    c: &Connection,
    wizard_id: i64,
    step_id: i64,
    position: usize,
) -> rusqlite::Result<()> {
    let mut ids: Vec<i64> = steps(c, wizard_id)?.iter().map(|s| s.id).collect();
    ids.retain(|id| *id != step_id);
    let at = position.min(ids.len());
    ids.insert(at, step_id);
    set_step_order(c, wizard_id, &ids)?;
    touch(c, wizard_id)
}

/// The interactions of a step, in order.
pub fn interactions(c: &Connection, step_id: i64) -> rusqlite::Result<Vec<Interaction>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, step_id, position, config FROM wizard_interactions WHERE step_id = ?1 ORDER BY position, id",
    )?;
    stmt.query_map([step_id], interaction_row)?.collect()
}

/// One interaction of a step.
pub fn interaction_of(
    c: &Connection,
    step_id: i64,
    id: i64,
) -> rusqlite::Result<Option<Interaction>> {
    c.row(
        "SELECT id, step_id, position, config FROM wizard_interactions WHERE id = ?1 AND step_id = ?2",
        params![id, step_id],
        interaction_row,
    )
    .optional()
}

fn config_json(config: &InteractionConfig) -> rusqlite::Result<String> {
    serde_json::to_string(config).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Append an interaction to a step; returns the id.
pub fn insert_interaction(
    c: &Connection,
    wizard_id: i64,
    step_id: i64,
    config: &InteractionConfig,
) -> rusqlite::Result<i64> {
    c.exec(
        "INSERT INTO wizard_interactions (step_id, position, kind, config, created_at, updated_at)
         VALUES (?1, (SELECT coalesce(max(position) + 1, 0) FROM wizard_interactions WHERE step_id = ?1), ?2, ?3, ?4, ?4)",
        params![step_id, config.kind(), config_json(config)?, time::now()],
    )?;
    let id = c.last_insert_rowid();
    touch(c, wizard_id)?;
    Ok(id)
}

/// Replace an interaction's configuration.
pub fn update_interaction(
    c: &Connection,
    wizard_id: i64,
    id: i64,
    config: &InteractionConfig,
) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE wizard_interactions SET kind = ?2, config = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, config.kind(), config_json(config)?, time::now()],
    )?;
    touch(c, wizard_id)
}

/// Delete an interaction and close the gap.
pub fn delete_interaction(
    c: &Connection,
    wizard_id: i64,
    step_id: i64,
    id: i64,
) -> rusqlite::Result<bool> {
    let n = c.exec(
        "DELETE FROM wizard_interactions WHERE id = ?1 AND step_id = ?2",
        params![id, step_id],
    )?;
    // No unique constraint on interaction positions: renumber in place.
    let ids: Vec<i64> = interactions(c, step_id)?.iter().map(|i| i.id).collect();
    for (i, id) in ids.iter().enumerate() {
        c.exec(
            "UPDATE wizard_interactions SET position = ?2 WHERE id = ?1",
            params![id, i as i64],
        )?;
    }
    touch(c, wizard_id)?;
    Ok(n == 1)
}

/// A wizard with every step and interaction, in order.
pub fn full(c: &Connection, id: i64) -> rusqlite::Result<Option<(Wizard, Vec<FullStep>)>> {
    let Some(w) = get(c, id)? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for s in steps(c, id)? {
        let inter = interactions(c, s.id)?;
        out.push((s, inter));
    }
    Ok(Some((w, out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrations::migrate(&mut c).unwrap();
        c.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        c
    }

    fn positions(c: &Connection, w: i64) -> Vec<(i64, i64)> {
        steps(c, w)
            .unwrap()
            .iter()
            .map(|s| (s.id, s.position))
            .collect()
    }

    #[test]
    fn steps_stay_contiguous_through_insert_move_and_delete() {
        let c = db();
        let w = insert(&c, "w", None, true).unwrap();
        let a = insert_step(&c, w, None, "a", "").unwrap();
        let b = insert_step(&c, w, None, "b", "").unwrap();
        let first = insert_step(&c, w, Some(0), "first", "").unwrap();
        let end = insert_step(&c, w, Some(99), "end", "").unwrap();
        assert_eq!(positions(&c, w), vec![(first, 0), (a, 1), (b, 2), (end, 3)]);
        move_step(&c, w, first, 3).unwrap();
        assert_eq!(positions(&c, w), vec![(a, 0), (b, 1), (end, 2), (first, 3)]);
        move_step(&c, w, end, 0).unwrap();
        assert_eq!(positions(&c, w), vec![(end, 0), (a, 1), (b, 2), (first, 3)]);
        assert!(delete_step(&c, w, a,).unwrap());
        assert_eq!(positions(&c, w), vec![(end, 0), (b, 1), (first, 2)]);
        let version = get(&c, w).unwrap().unwrap().version;
        assert!(version > 1, "changes bump the version");
    }

    #[test]
    fn deleting_a_wizard_clears_invitation_links() {
        let c = db();
        let w = insert(&c, "w", None, true).unwrap();
        c.exec(
            "INSERT INTO invitations (code, created_by, created_at, updated_at, pre_wizard_id, post_wizard_id) VALUES ('x', 't', 'now', 'now', ?1, ?1)",
            [w],
        )
        .unwrap();
        assert_eq!(invitation_count(&c, w).unwrap(), 1);
        assert!(delete(&c, w).unwrap());
        let (pre, post): (Option<i64>, Option<i64>) = c
            .row(
                "SELECT pre_wizard_id, post_wizard_id FROM invitations",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((pre, post), (None, None));
    }
}

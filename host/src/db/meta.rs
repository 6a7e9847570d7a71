//! The `meta` table: installation-wide values the daemon generates once.

use crate::db::Cached;
use rusqlite::{Connection, OptionalExtension, params};

/// Read a value.
pub fn get(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

/// Read a value, or store `make()` if there is none; returns the stored value. Race-safe: the
/// insert is `ON CONFLICT DO NOTHING` and the value is read back.
pub fn get_or_insert(
    conn: &Connection,
    key: &str,
    make: impl FnOnce() -> String,
) -> rusqlite::Result<String> {
    if let Some(v) = get(conn, key)? {
        return Ok(v);
    }
    conn.exec(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
        params![key, make()],
    )?;
    conn.row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
}

/// The `meta` key holding the plugin versions an admin approved (JSON list of
/// [`crate::plugins::Approval`]).
const PLUGIN_APPROVALS: &str = "plugin_approvals";

/// The plugin versions an admin approved.
pub fn plugin_approvals(conn: &Connection) -> rusqlite::Result<Vec<crate::plugins::Approval>> {
    Ok(get(conn, PLUGIN_APPROVALS)?
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default())
}

/// Add approved plugin versions (kept sorted, without duplicates).
pub fn add_plugin_approvals(
    conn: &Connection,
    new: &[crate::plugins::Approval],
) -> rusqlite::Result<()> {
    add_versions(conn, PLUGIN_APPROVALS, plugin_approvals(conn)?, new)
}

const PLUGIN_REFUSALS: &str = "plugin_refusals";

/// The plugin versions an admin refused.
pub fn plugin_refusals(conn: &Connection) -> rusqlite::Result<Vec<crate::plugins::Approval>> {
    Ok(get(conn, PLUGIN_REFUSALS)?
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default())
}

/// Add refused plugin versions (kept sorted, without duplicates).
pub fn add_plugin_refusals(
    conn: &Connection,
    new: &[crate::plugins::Approval],
) -> rusqlite::Result<()> {
    add_versions(conn, PLUGIN_REFUSALS, plugin_refusals(conn)?, new)
}

fn add_versions(
    conn: &Connection,
    key: &str,
    mut all: Vec<crate::plugins::Approval>,
    new: &[crate::plugins::Approval],
) -> rusqlite::Result<()> {
    all.extend(new.iter().cloned());
    all.sort();
    all.dedup();
    let text = serde_json::to_string(&all).unwrap_or_else(|_| "[]".into());
    conn.exec(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, text],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_or_insert_keeps_the_first_value() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let a = get_or_insert(&conn, "install_id", || "first".into()).unwrap();
        let b = get_or_insert(&conn, "install_id", || "second".into()).unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("first", "first"));
    }
}

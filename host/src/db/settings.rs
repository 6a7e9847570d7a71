//! The `settings` table: values changed at run time (the public URL chosen at setup, later the
//! live settings).

use super::time;
use crate::db::Cached;
use rusqlite::{Connection, OptionalExtension, params};

/// Read a setting.
pub fn get(c: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    c.row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
}

/// Write a setting.
pub fn set(c: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(key) DO UPDATE SET value = ?2, updated_at = ?3",
        params![key, value, time::now()],
    )?;
    Ok(())
}

/// Remove a setting (back to the configured default).
pub fn delete(c: &Connection, key: &str) -> rusqlite::Result<()> {
    c.exec("DELETE FROM settings WHERE key = ?1", [key])?;
    Ok(())
}

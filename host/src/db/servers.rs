//! Repository functions for media servers and their libraries.

use super::time;
use crate::db::Cached;
use rusqlite::{Connection, OptionalExtension, params};

/// A server row.
#[derive(Debug, Clone)]
pub struct ServerRow {
    /// Row id.
    pub id: i64,
    /// Display name (unique, case-insensitive).
    pub name: String,
    /// Connector plugin id.
    pub kind: String,
    /// Base URL.
    pub base_url: String,
    /// JSON object of non-secret configuration values.
    pub config: String,
    /// Sealed JSON object of secret values.
    pub credentials: Option<Vec<u8>>,
    /// JSON object of extra-host origin overrides.
    pub extra_hosts: String,
    /// Accept invalid TLS certificates.
    pub accept_invalid_certs: bool,
    /// PEM of the private CA certificates trusted for the server's origin (checked and
    /// normalised by `server_ca`); `None`: the public roots only.
    pub ca_certificate: Option<String>,
    /// Enabled.
    pub enabled: bool,
    /// Remote name, product, version, id from the last successful test.
    pub remote: [Option<String>; 4],
    /// Last successful test.
    pub last_checked_at: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Admins may sign in through this server (set with [`set_admin_login`]).
    pub admin_login: bool,
    /// Last successful sync.
    pub last_sync_at: Option<String>,
    /// Client-safe message of the last failed background call; `None` when the last one worked.
    pub last_error: Option<String>,
    /// When that failure happened.
    pub last_error_at: Option<String>,
}

const COLS: &str = "id, name, kind, base_url, config, credentials, extra_hosts, accept_invalid_certs, enabled, \
                    remote_name, remote_product, remote_version, remote_id, last_checked_at, created_at, updated_at, admin_login, \
                    last_sync_at, last_error, last_error_at, ca_certificate";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ServerRow> {
    Ok(ServerRow {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        base_url: r.get(3)?,
        config: r.get(4)?,
        credentials: r.get(5)?,
        extra_hosts: r.get(6)?,
        accept_invalid_certs: r.get(7)?,
        enabled: r.get(8)?,
        remote: [r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?],
        last_checked_at: r.get(13)?,
        created_at: r.get(14)?,
        updated_at: r.get(15)?,
        admin_login: r.get(16)?,
        last_sync_at: r.get(17)?,
        last_error: r.get(18)?,
        last_error_at: r.get(19)?,
        ca_certificate: r.get(20)?,
    })
}

/// All servers, by name.
pub fn list(c: &Connection) -> rusqlite::Result<Vec<ServerRow>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLS} FROM servers ORDER BY name COLLATE NOCASE, id"
    ))?;
    stmt.query_map([], row)?.collect()
}

/// One server.
pub fn get(c: &Connection, id: i64) -> rusqlite::Result<Option<ServerRow>> {
    c.row(
        &format!("SELECT {COLS} FROM servers WHERE id = ?1"),
        [id],
        row,
    )
    .optional()
}

/// Whether another server already has this name.
pub fn name_taken(c: &Connection, name: &str, except: Option<i64>) -> rusqlite::Result<bool> {
    c.row(
        "SELECT EXISTS (SELECT 1 FROM servers WHERE name = ?1 AND id IS NOT ?2)",
        params![name, except],
        |r| r.get(0),
    )
}

/// Insert a server without credentials (they are sealed with the row id, so they are written
/// right after with [`set_credentials`]); returns the id.
pub fn insert(c: &Connection, s: &ServerRow) -> rusqlite::Result<i64> {
    let now = time::now();
    c.exec(
        "INSERT INTO servers (name, kind, base_url, config, extra_hosts, accept_invalid_certs, enabled,
                              remote_name, remote_product, remote_version, remote_id, last_checked_at, created_at, updated_at,
                              ca_certificate)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14)",
        params![
            s.name, s.kind, s.base_url, s.config, s.extra_hosts, s.accept_invalid_certs, s.enabled,
            s.remote[0], s.remote[1], s.remote[2], s.remote[3], s.last_checked_at, now, s.ca_certificate
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// Store the sealed credentials.
pub fn set_credentials(c: &Connection, id: i64, sealed: Option<&[u8]>) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE servers SET credentials = ?2 WHERE id = ?1",
        params![id, sealed],
    )?;
    Ok(())
}

/// Replace every editable column.
pub fn update(c: &Connection, s: &ServerRow) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE servers SET name = ?2, base_url = ?3, config = ?4, credentials = ?5, extra_hosts = ?6,
                accept_invalid_certs = ?7, enabled = ?8, remote_name = ?9, remote_product = ?10,
                remote_version = ?11, remote_id = ?12, last_checked_at = ?13, updated_at = ?14,
                ca_certificate = ?15
         WHERE id = ?1",
        params![
            s.id, s.name, s.base_url, s.config, s.credentials, s.extra_hosts, s.accept_invalid_certs, s.enabled,
            s.remote[0], s.remote[1], s.remote[2], s.remote[3], s.last_checked_at, time::now(), s.ca_certificate
        ],
    )
}

/// Allow or refuse admin sign-in through a server.
pub fn set_admin_login(c: &Connection, id: i64, enabled: bool) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE servers SET admin_login = ?2 WHERE id = ?1",
        params![id, enabled],
    )?;
    Ok(())
}

/// Delete a server (its libraries go with it).
pub fn delete(c: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(c.exec("DELETE FROM servers WHERE id = ?1", [id])? == 1)
}

/// Record the outcome of a background call to a server: `None` = it worked (and, with
/// `synced`, a sync completed), `Some(message)` = it failed.
pub fn set_health(
    c: &Connection,
    id: i64,
    error: Option<&str>,
    synced: bool,
) -> rusqlite::Result<()> {
    let now = time::now();
    match error {
        None => c.exec(
            "UPDATE servers SET last_error = NULL, last_error_at = NULL,
                    last_sync_at = CASE WHEN ?3 THEN ?2 ELSE last_sync_at END
             WHERE id = ?1",
            params![id, now, synced],
        )?,
        Some(message) => c.exec(
            "UPDATE servers SET last_error = ?2, last_error_at = ?3 WHERE id = ?1",
            params![id, message, now],
        )?,
    };
    Ok(())
}

/// A library row.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ServerLibrary)]
pub struct LibraryRow {
    /// Row id.
    pub id: i64,
    /// Server.
    pub server_id: i64,
    /// The server's id for it.
    pub external_id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// First seen.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// When library sync found it gone from the server; `null` while the server lists it. A
    /// missing library is kept while an invitation offers it (and cannot be offered anew).
    pub missing_since: Option<String>,
}

impl LibraryRow {
    /// Whether the server no longer lists it.
    pub fn is_missing(&self) -> bool {
        self.missing_since.is_some()
    }
}

/// Libraries of a server, by name (missing ones included).
pub fn libraries(c: &Connection, server_id: i64) -> rusqlite::Result<Vec<LibraryRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, server_id, external_id, name, kind, created_at, updated_at, missing_since FROM libraries
         WHERE server_id = ?1 ORDER BY name COLLATE NOCASE, id",
    )?;
    stmt.query_map([server_id], |r| {
        Ok(LibraryRow {
            id: r.get(0)?,
            server_id: r.get(1)?,
            external_id: r.get(2)?,
            name: r.get(3)?,
            kind: r.get(4)?,
            created_at: r.get(5)?,
            updated_at: r.get(6)?,
            missing_since: r.get(7)?,
        })
    })?
    .collect()
}

/// Count of libraries per server.
pub fn library_count(c: &Connection, server_id: i64) -> rusqlite::Result<i64> {
    c.row(
        "SELECT count(*) FROM libraries WHERE server_id = ?1",
        [server_id],
        |r| r.get(0),
    )
}

/// The external ids of a server's libraries that an invitation refers to.
pub fn referenced_libraries(
    c: &Connection,
    server_id: i64,
) -> rusqlite::Result<std::collections::HashSet<String>> {
    let mut stmt = c.prepare_cached(
        "SELECT DISTINCT j.value FROM invitation_servers s, json_each(s.libraries) j
         WHERE s.server_id = ?1 AND s.libraries IS NOT NULL AND j.type = 'text'",
    )?;
    stmt.query_map([server_id], |r| r.get(0))?.collect()
}

/// What a library sync does, worked out from the stored libraries and the server's answer
/// (external id, name, kind).
#[derive(Debug, Default, Clone)]
pub struct LibraryPlan {
    /// Remote entries (index into the answer) that are new.
    pub add: Vec<usize>,
    /// Stored rows to rename or re-type (row id, index into the answer).
    pub update: Vec<(i64, usize)>,
    /// Stored rows that were missing and are listed again (row id, index into the answer).
    pub returned: Vec<(i64, usize)>,
    /// Stored rows the server no longer lists that an invitation refers to: marked missing.
    pub mark_missing: Vec<LibraryRow>,
    /// Stored rows the server no longer lists (or that were missing already) that nothing
    /// refers to: deleted.
    pub delete: Vec<LibraryRow>,
    /// Libraries that were listed before and are gone now (`mark_missing` plus the newly gone
    /// part of `delete`): what the safety threshold counts.
    pub gone: usize,
    /// Stored libraries that were not missing: the threshold's base.
    pub known: usize,
}

/// Plan a library sync. Renames, re-types and re-orders keep the row (and so every reference);
/// a library is matched by the server's id for it only.
pub fn plan_libraries(
    existing: &[LibraryRow],
    remote: &[(String, String, String)],
    referenced: &std::collections::HashSet<String>,
) -> LibraryPlan {
    let mut plan = LibraryPlan {
        known: existing.iter().filter(|l| !l.is_missing()).count(),
        ..LibraryPlan::default()
    };
    let mut seen = std::collections::HashSet::new();
    for (i, (ext, name, kind)) in remote.iter().enumerate() {
        if !seen.insert(ext.as_str()) {
            continue;
        }
        match existing.iter().find(|l| &l.external_id == ext) {
            None => plan.add.push(i),
            Some(l) if l.is_missing() => plan.returned.push((l.id, i)),
            Some(l) if &l.name != name || &l.kind != kind => plan.update.push((l.id, i)),
            Some(_) => {}
        }
    }
    for l in existing {
        if seen.contains(l.external_id.as_str()) {
            continue;
        }
        if !l.is_missing() {
            plan.gone += 1;
        }
        if referenced.contains(&l.external_id) {
            if !l.is_missing() {
                plan.mark_missing.push(l.clone());
            }
        } else {
            plan.delete.push(l.clone());
        }
    }
    plan
}

/// What a library sync changed.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, PartialEq, Eq)]
pub struct LibrarySync {
    /// New libraries.
    pub added: usize,
    /// Renamed or re-typed, or listed again after being missing.
    pub updated: usize,
    /// Gone from the server and marked missing (an invitation refers to them).
    pub missing: usize,
    /// Gone from the server and deleted (nothing refers to them).
    pub removed: usize,
}

/// Apply a [`LibraryPlan`] made from `remote`.
pub fn apply_library_plan(
    c: &Connection,
    server_id: i64,
    remote: &[(String, String, String)],
    plan: &LibraryPlan,
) -> rusqlite::Result<LibrarySync> {
    let now = time::now();
    for i in &plan.add {
        let (ext, name, kind) = &remote[*i];
        c.exec(
            "INSERT INTO libraries (server_id, external_id, name, kind, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![server_id, ext, name, kind, now],
        )?;
    }
    for (id, i) in plan.update.iter().chain(&plan.returned) {
        let (_, name, kind) = &remote[*i];
        c.exec(
            "UPDATE libraries SET name = ?2, kind = ?3, missing_since = NULL, updated_at = ?4 WHERE id = ?1",
            params![id, name, kind, now],
        )?;
    }
    for l in &plan.mark_missing {
        c.exec(
            "UPDATE libraries SET missing_since = ?2, updated_at = ?2 WHERE id = ?1 AND missing_since IS NULL",
            params![l.id, now],
        )?;
    }
    for l in &plan.delete {
        c.exec("DELETE FROM libraries WHERE id = ?1", [l.id])?;
    }
    Ok(LibrarySync {
        added: plan.add.len(),
        updated: plan.update.len() + plan.returned.len(),
        missing: plan.mark_missing.len(),
        removed: plan.delete.len(),
    })
}

/// Make the stored libraries match `remote` (external id, name, kind), without a safety
/// threshold: for the answer a connection test just gave while the admin saves the server. A
/// library an invitation refers to is marked missing, never deleted.
pub fn sync_libraries(
    c: &Connection,
    server_id: i64,
    remote: &[(String, String, String)],
) -> rusqlite::Result<LibrarySync> {
    let existing = libraries(c, server_id)?;
    let referenced = referenced_libraries(c, server_id)?;
    let plan = plan_libraries(&existing, remote, &referenced);
    apply_library_plan(c, server_id, remote, &plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn row(id: i64, ext: &str, name: &str, missing: bool) -> LibraryRow {
        LibraryRow {
            id,
            server_id: 1,
            external_id: ext.into(),
            name: name.into(),
            kind: "movies".into(),
            created_at: String::new(),
            updated_at: String::new(),
            missing_since: missing.then(|| "2026-01-01T00:00:00.000Z".into()),
        }
    }

    fn remote(ext: &str, name: &str) -> (String, String, String) {
        (ext.into(), name.into(), "movies".into())
    }

    #[test]
    fn plan_keeps_referenced_libraries_and_matches_by_external_id() {
        let existing = vec![
            row(1, "a", "Movies", false),
            row(2, "b", "Shows", false),
            row(3, "c", "Music", false),
            row(4, "d", "Old", true),
            row(5, "e", "Back", true),
            row(6, "f", "Stale", true),
        ];
        let referenced: HashSet<String> = ["b", "d", "e"].map(String::from).into();
        // Re-ordered, "a" renamed, "b" and "c" gone, "e" back, "g" new, "a" listed twice.
        let answer = vec![
            remote("g", "New"),
            remote("e", "Back"),
            remote("a", "Films"),
            remote("a", "Films"),
        ];
        let plan = plan_libraries(&existing, &answer, &referenced);
        assert_eq!(plan.add, vec![0]);
        assert_eq!(plan.returned, vec![(5, 1)]);
        assert_eq!(plan.update, vec![(1, 2)]);
        assert_eq!(
            plan.mark_missing.iter().map(|l| l.id).collect::<Vec<_>>(),
            vec![2],
            "referenced: kept, marked"
        );
        assert_eq!(
            plan.delete.iter().map(|l| l.id).collect::<Vec<_>>(),
            vec![3, 6],
            "unreferenced: deleted; d stays missing"
        );
        assert_eq!((plan.gone, plan.known), (2, 3));
    }
}

//! Repository functions for media servers and their libraries.

use super::time;
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
                    last_sync_at, last_error, last_error_at";

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
    })
}

/// All servers, by name.
pub fn list(c: &Connection) -> rusqlite::Result<Vec<ServerRow>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {COLS} FROM servers ORDER BY name COLLATE NOCASE, id"
    ))?;
    stmt.query_map([], row)?.collect()
}

/// One server.
pub fn get(c: &Connection, id: i64) -> rusqlite::Result<Option<ServerRow>> {
    c.query_row(
        &format!("SELECT {COLS} FROM servers WHERE id = ?1"),
        [id],
        row,
    )
    .optional()
}

/// Whether another server already has this name.
pub fn name_taken(c: &Connection, name: &str, except: Option<i64>) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM servers WHERE name = ?1 AND id IS NOT ?2)",
        params![name, except],
        |r| r.get(0),
    )
}

/// Insert a server without credentials (they are sealed with the row id, so they are written
/// right after with [`set_credentials`]); returns the id.
pub fn insert(c: &Connection, s: &ServerRow) -> rusqlite::Result<i64> {
    let now = time::now();
    c.execute(
        "INSERT INTO servers (name, kind, base_url, config, extra_hosts, accept_invalid_certs, enabled,
                              remote_name, remote_product, remote_version, remote_id, last_checked_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
        params![
            s.name, s.kind, s.base_url, s.config, s.extra_hosts, s.accept_invalid_certs, s.enabled,
            s.remote[0], s.remote[1], s.remote[2], s.remote[3], s.last_checked_at, now
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// Store the sealed credentials.
pub fn set_credentials(c: &Connection, id: i64, sealed: Option<&[u8]>) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE servers SET credentials = ?2 WHERE id = ?1",
        params![id, sealed],
    )?;
    Ok(())
}

/// Replace every editable column.
pub fn update(c: &Connection, s: &ServerRow) -> rusqlite::Result<usize> {
    c.execute(
        "UPDATE servers SET name = ?2, base_url = ?3, config = ?4, credentials = ?5, extra_hosts = ?6,
                accept_invalid_certs = ?7, enabled = ?8, remote_name = ?9, remote_product = ?10,
                remote_version = ?11, remote_id = ?12, last_checked_at = ?13, updated_at = ?14
         WHERE id = ?1",
        params![
            s.id, s.name, s.base_url, s.config, s.credentials, s.extra_hosts, s.accept_invalid_certs, s.enabled,
            s.remote[0], s.remote[1], s.remote[2], s.remote[3], s.last_checked_at, time::now()
        ],
    )
}

/// Allow or refuse admin sign-in through a server.
pub fn set_admin_login(c: &Connection, id: i64, enabled: bool) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE servers SET admin_login = ?2 WHERE id = ?1",
        params![id, enabled],
    )?;
    Ok(())
}

/// Delete a server (its libraries go with it).
pub fn delete(c: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(c.execute("DELETE FROM servers WHERE id = ?1", [id])? == 1)
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
        None => c.execute(
            "UPDATE servers SET last_error = NULL, last_error_at = NULL,
                    last_sync_at = CASE WHEN ?3 THEN ?2 ELSE last_sync_at END
             WHERE id = ?1",
            params![id, now, synced],
        )?,
        Some(message) => c.execute(
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
}

/// Libraries of a server, by name.
pub fn libraries(c: &Connection, server_id: i64) -> rusqlite::Result<Vec<LibraryRow>> {
    let mut stmt = c.prepare(
        "SELECT id, server_id, external_id, name, kind, created_at, updated_at FROM libraries
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
        })
    })?
    .collect()
}

/// Count of libraries per server.
pub fn library_count(c: &Connection, server_id: i64) -> rusqlite::Result<i64> {
    c.query_row(
        "SELECT count(*) FROM libraries WHERE server_id = ?1",
        [server_id],
        |r| r.get(0),
    )
}

/// What a library sync changed.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, PartialEq, Eq)]
pub struct LibrarySync {
    /// New libraries.
    pub added: usize,
    /// Renamed or re-typed.
    pub updated: usize,
    /// Gone from the server.
    pub removed: usize,
}

/// Make the stored libraries match `remote` (external id, name, kind).
pub fn sync_libraries(
    c: &Connection,
    server_id: i64,
    remote: &[(String, String, String)],
) -> rusqlite::Result<LibrarySync> {
    let mut out = LibrarySync::default();
    let now = time::now();
    let existing = libraries(c, server_id)?;
    for (ext, name, kind) in remote {
        match existing.iter().find(|l| &l.external_id == ext) {
            Some(l) if &l.name == name && &l.kind == kind => {}
            Some(l) => {
                c.execute(
                    "UPDATE libraries SET name = ?2, kind = ?3, updated_at = ?4 WHERE id = ?1",
                    params![l.id, name, kind, now],
                )?;
                out.updated += 1;
            }
            None => {
                c.execute(
                    "INSERT INTO libraries (server_id, external_id, name, kind, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    params![server_id, ext, name, kind, now],
                )?;
                out.added += 1;
            }
        }
    }
    for l in existing
        .iter()
        .filter(|l| !remote.iter().any(|(ext, _, _)| ext == &l.external_id))
    {
        c.execute("DELETE FROM libraries WHERE id = ?1", [l.id])?;
        out.removed += 1;
    }
    Ok(out)
}

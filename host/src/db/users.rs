//! Repository functions for users (accounts on servers) and identities (people).

use super::time;
use crate::db::Cached;
use rusqlite::{Connection, OptionalExtension, params, types::Value};
use serde::Serialize;

/// A user row joined with its server's name and kind.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Identity, if linked.
    pub identity_id: Option<i64>,
    /// Server.
    pub server_id: i64,
    /// Server display name.
    pub server_name: String,
    /// Connector id of the server.
    pub server_kind: String,
    /// The server's id for the account.
    pub external_id: String,
    /// Username.
    pub username: String,
    /// E-mail.
    pub email: Option<String>,
    /// Kind of account (e.g. friend, home, local).
    pub kind: Option<String>,
    /// Enabled.
    pub enabled: bool,
    /// When access ends.
    pub expires_at: Option<String>,
    /// Invitation that created it.
    pub invitation_id: Option<i64>,
    /// `invitation`, `sync` or `manual`.
    pub source: String,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// When user sync stopped seeing the account on the server (`null`: it is there).
    pub vanished_at: Option<String>,
    /// What expiry enforcement did to it: `disabled`, `deleted`, `libraries_removed`,
    /// `access_removed` (the server cannot leave it with no libraries, so its access was ended),
    /// `failed` (neither was possible; reported once) or `none`
    /// (nothing could be done; reported).
    pub expiry_action: Option<String>,
    /// When.
    pub expiry_action_at: Option<String>,
}

const COLS: &str = "u.id, u.identity_id, u.server_id, s.name, s.kind, u.external_id, u.username, u.email, u.kind, u.enabled, \
                    u.expires_at, u.invitation_id, u.source, u.created_at, u.updated_at, u.vanished_at, u.expiry_action, u.expiry_action_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        identity_id: r.get(1)?,
        server_id: r.get(2)?,
        server_name: r.get(3)?,
        server_kind: r.get(4)?,
        external_id: r.get(5)?,
        username: r.get(6)?,
        email: r.get(7)?,
        kind: r.get(8)?,
        enabled: r.get(9)?,
        expires_at: r.get(10)?,
        invitation_id: r.get(11)?,
        source: r.get(12)?,
        created_at: r.get(13)?,
        updated_at: r.get(14)?,
        vanished_at: r.get(15)?,
        expiry_action: r.get(16)?,
        expiry_action_at: r.get(17)?,
    })
}

/// One user.
pub fn get(c: &Connection, id: i64) -> rusqlite::Result<Option<User>> {
    c.row(
        &format!("SELECT {COLS} FROM users u JOIN servers s ON s.id = u.server_id WHERE u.id = ?1"),
        [id],
        row,
    )
    .optional()
}

/// Users of an identity.
pub fn of_identity(c: &Connection, identity: i64) -> rusqlite::Result<Vec<User>> {
    let mut stmt = c.prepare_cached(&format!("SELECT {COLS} FROM users u JOIN servers s ON s.id = u.server_id WHERE u.identity_id = ?1 ORDER BY u.id"))?;
    stmt.query_map([identity], row)?.collect()
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only on this server.
    pub server_id: Option<i64>,
    /// Only created by this invitation.
    pub invitation_id: Option<i64>,
    /// Only enabled or disabled.
    pub enabled: Option<bool>,
    /// `expired`, `expiring` (within 7 days), `never` or `current` (not expired).
    pub expiry: Option<String>,
    /// Only accounts user sync found gone from their server (`true`) or present (`false`).
    pub vanished: Option<bool>,
    /// Username or e-mail contains (case-insensitive).
    pub search: Option<String>,
}

/// A page of users with the total count. `sort` is a whitelisted column.
pub fn list(
    c: &Connection,
    f: &Filter,
    sort: &str,
    descending: bool,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<User>, i64)> {
    // One read transaction (a savepoint nests inside a caller's): the count and the page come
    // from the same snapshot, so a page read from the end (see `list_with`) is the one the count
    // places there even while users are added or removed.
    c.exec("SAVEPOINT user_list", [])?;
    let out = list_with(c, f, (sort, descending), limit, offset, RARE_TRIGRAM);
    let released = c.exec("RELEASE user_list", []);
    let out = out?;
    released?;
    Ok(out)
}

/// [`list`], with the search's threshold for a rare trigram (tests lower it to take the path of
/// a search whose trigrams are all common).
fn list_with(
    c: &Connection,
    f: &Filter,
    (sort, descending): (&str, bool),
    limit: i64,
    offset: i64,
    rare: i64,
) -> rusqlite::Result<(Vec<User>, i64)> {
    let (filter, mut args, search) = where_clause(c, f, rare)?;
    let order = if descending { "DESC" } else { "ASC" };
    if let Some(query) = search {
        // A search reads its candidates from the trigram index (a few thousand at most when a
        // trigram is rare): one pass counts them (the window) and sorts them for the page, so
        // the index is asked once.
        let sql = search_sql(&filter, sort, order);
        let mut all = vec![Value::Text(query)];
        all.append(&mut args);
        all.push(Value::Integer(limit));
        all.push(Value::Integer(offset));
        let mut total = 0;
        let mut stmt = c.prepare_cached(&sql)?;
        let items = stmt
            .query_map(rusqlite::params_from_iter(all.iter()), |r| {
                total = r.get(18)?;
                row(r)
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        drop(stmt);
        if items.is_empty() && offset > 0 {
            // Past the last page: the window saw no row to count on.
            return list_with(c, f, (sort, descending), limit, 0, rare)
                .map(|(_, t)| (Vec::new(), t));
        }
        return Ok((items, total));
    }
    // Every filter is on `users`, and `server_id` is a non-null foreign key, so the join would
    // not change the count; without it SQLite counts from the smallest index.
    let total: i64 = c
        .prepare_cached(&format!("SELECT count(*) FROM users u {filter}"))?
        .query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
    if offset >= total {
        return Ok((Vec::new(), total));
    }
    // A page in the second half is read from the other end: the same rows in the reverse order
    // (every order ends with the unique `u.id`, so the reverse is exact), then turned around. No
    // page skips more than half the matching index entries, and the last page costs what the
    // first does.
    let from_end = limit > 0 && offset > total / 2;
    let (order, limit, offset) = if from_end {
        let end = (offset + limit).min(total);
        let flipped = if descending { "ASC" } else { "DESC" };
        (flipped, end - offset, total - end)
    } else {
        (order, limit, offset)
    };
    args.push(Value::Integer(limit));
    args.push(Value::Integer(offset));
    // Deferred join: the page's ids are picked by walking a sort index (migration 0010) without
    // reading table rows, so a deep offset skips index entries only; then the 50 rows are read.
    // The inner query joins `servers` only when the sort needs it.
    let inner_join = if sort.starts_with("s.") {
        "JOIN servers s ON s.id = u.server_id"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLS} FROM users u JOIN servers s ON s.id = u.server_id \
         WHERE u.id IN (SELECT u.id FROM users u {inner_join} {filter} ORDER BY {sort} {order}, u.id {order} LIMIT ? OFFSET ?) \
         ORDER BY {sort} {order}, u.id {order}"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let mut items = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if from_end {
        items.reverse();
    }
    Ok((items, total))
}

/// A search's page with the count of all its matches in the last column. The inner query takes
/// the trigram index's matches, each joined to its user by rowid (`CROSS JOIN` keeps that order),
/// keeps those `filter` admits, counts them (the window) and picks the page's ids, reading no
/// more of a row than the filter and the sort need; then only the page's rows are read.
fn search_sql(filter: &str, sort: &str, order: &str) -> String {
    let and = if filter.is_empty() {
        String::new()
    } else {
        format!("AND {}", filter.trim_start_matches("WHERE "))
    };
    let inner_join = if sort.starts_with("s.") {
        "JOIN servers s ON s.id = u.server_id"
    } else {
        ""
    };
    format!(
        "SELECT {COLS}, m.total FROM \
           (SELECT u.id AS id, count(*) OVER () AS total FROM users_search \
            CROSS JOIN users u ON u.id = users_search.rowid {inner_join} \
            WHERE users_search MATCH ? {and} ORDER BY {sort} {order}, u.id {order} LIMIT ? OFFSET ?) m \
         JOIN users u ON u.id = m.id JOIN servers s ON s.id = u.server_id \
         ORDER BY {sort} {order}, u.id {order}"
    )
}

/// The list's `WHERE` clause on `users u` (empty without filters), its arguments, and for a
/// search of three characters or more the query for the trigram index (whose matches the
/// caller must join; the clause holds the exact test).
type Where = (String, Vec<Value>, Option<String>);

fn where_clause(c: &Connection, f: &Filter, rare: i64) -> rusqlite::Result<Where> {
    let mut clauses: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(s) = f.server_id {
        clauses.push("u.server_id = ?");
        args.push(Value::Integer(s));
    }
    if let Some(i) = f.invitation_id {
        clauses.push("u.invitation_id = ?");
        args.push(Value::Integer(i));
    }
    if let Some(e) = f.enabled {
        clauses.push("u.enabled = ?");
        args.push(Value::Integer(i64::from(e)));
    }
    match f.vanished {
        Some(true) => clauses.push("u.vanished_at IS NOT NULL"),
        Some(false) => clauses.push("u.vanished_at IS NULL"),
        None => {}
    }
    let now = time::now();
    match f.expiry.as_deref() {
        Some("expired") => {
            clauses.push("u.expires_at IS NOT NULL AND u.expires_at <= ?");
            args.push(Value::Text(now));
        }
        Some("expiring") => {
            clauses.push("u.expires_at IS NOT NULL AND u.expires_at > ? AND u.expires_at <= ?");
            args.push(Value::Text(now));
            args.push(Value::Text(time::fmt(
                chrono::Utc::now() + chrono::Duration::days(7),
            )));
        }
        Some("never") => clauses.push("u.expires_at IS NULL"),
        Some("current") => {
            clauses.push("(u.expires_at IS NULL OR u.expires_at > ?)");
            args.push(Value::Text(now));
        }
        _ => {}
    }
    let mut search = None;
    if let Some(q) = &f.search {
        // The trigram index (migration 0014) answers a substring of three characters or more
        // with the few users that can match; the `instr` test then decides exactly as before
        // (ASCII case folding, as SQLite's `lower`). Shorter searches scan.
        search = trigram_query(c, q, rare)?;
        clauses.push("(instr(lower(u.username), lower(?)) > 0 OR instr(lower(coalesce(u.email, '')), lower(?)) > 0)");
        args.push(Value::Text(q.clone()));
        args.push(Value::Text(q.clone()));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    Ok((filter, args, search))
}

/// A trigram found in fewer accounts than this narrows a search enough on its own.
const RARE_TRIGRAM: i64 = 2_000;
/// At most this many of a search's trigrams are counted.
const PROBED_TRIGRAMS: usize = 6;

/// How long a trigram's counted accounts are reused.
const TRIGRAM_COUNT_TTL: std::time::Duration = std::time::Duration::from_secs(60);
/// Counts kept at most; beyond, the cache starts afresh.
const TRIGRAM_COUNT_ENTRIES: usize = 4096;

/// The accounts counted per trigram by [`trigram_query`] (up to its `rare`), per database file,
/// for [`TRIGRAM_COUNT_TTL`]. Counting a trigram found in every name reads `rare` entries of the
/// index, and the probes were about 40 % of a search's time at 100,000 users
/// (docs/performance.md, "The user search at 100,000 users"). A count only chooses which
/// trigrams narrow the search; the search itself still tests every candidate exactly, so a count
/// gone stale (accounts added or removed since) can make a search slower, never wrong. In-memory
/// databases (tests) are always counted afresh.
static TRIGRAM_COUNTS: TrigramCounts = TrigramCounts(std::sync::LazyLock::new(Default::default));

type TrigramKey = (String, i64, String);

struct TrigramCounts(
    std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<TrigramKey, (i64, std::time::Instant)>>,
    >,
);

impl TrigramCounts {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<TrigramKey, (i64, std::time::Instant)>>
    {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, file: &str, rare: i64, trigram: &str) -> Option<i64> {
        let key = (file.to_owned(), rare, trigram.to_owned());
        let (n, at) = *self.lock().get(&key)?;
        (at.elapsed() < TRIGRAM_COUNT_TTL).then_some(n)
    }

    fn put(&self, file: &str, rare: i64, trigram: &str, n: i64) {
        let mut map = self.lock();
        if map.len() >= TRIGRAM_COUNT_ENTRIES {
            map.clear();
        }
        map.insert(
            (file.to_owned(), rare, trigram.to_owned()),
            (n, std::time::Instant::now()),
        );
    }
}

/// An FTS5 query whose matches include every user whose username or e-mail contains `q`, or
/// `None` when `q` is shorter than a trigram. The `instr` test decides; this only narrows, so
/// any set of `q`'s trigrams is correct, and a cheap one is chosen. FTS5 answers a phrase by
/// reading the list of every one of its trigrams, and a trigram common to all names (`mem` when
/// every name starts with "member") makes that list as long as the table. So the trigrams that
/// tile `q` (at 0, 3, 6, … and the last one; at most [`PROBED_TRIGRAMS`]) are counted first, up to
/// `rare` ([`RARE_TRIGRAM`]), and the two rarest below it are asked for together. When none is
/// rare, the whole phrase (exactly the substring) is asked for.
fn trigram_query(c: &Connection, q: &str, rare: i64) -> rusqlite::Result<Option<String>> {
    let chars: Vec<char> = q.chars().collect();
    if chars.len() < 3 {
        return Ok(None);
    }
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let last = chars.len() - 3;
    let mut trigrams: Vec<String> = Vec::new();
    for at in (0..=last).step_by(3).chain([last]) {
        let t: String = chars[at..at + 3]
            .iter()
            .flat_map(|c| c.to_lowercase())
            .collect();
        if !trigrams.contains(&t) && trigrams.len() < PROBED_TRIGRAMS {
            trigrams.push(t);
        }
    }
    let mut counted = Vec::new();
    let mut probe = c.prepare_cached(
        "SELECT count(*) FROM (SELECT rowid FROM users_search WHERE users_search MATCH ?1 LIMIT ?2)",
    )?;
    let file = c.path().filter(|p| !p.is_empty());
    for t in &trigrams {
        let n = match file.and_then(|f| TRIGRAM_COUNTS.get(f, rare, t)) {
            Some(n) => n,
            None => {
                let n: i64 = probe.query_row(params![quote(t), rare], |r| r.get(0))?;
                if let Some(f) = file {
                    TRIGRAM_COUNTS.put(f, rare, t, n);
                }
                n
            }
        };
        if n < rare {
            counted.push((n, t));
        }
    }
    counted.sort();
    Ok(Some(if counted.is_empty() {
        quote(q)
    } else {
        counted
            .iter()
            .take(2)
            .map(|(_, t)| quote(t))
            .collect::<Vec<_>>()
            .join(" AND ")
    }))
}

/// Set enabled.
pub fn set_enabled(c: &Connection, id: i64, enabled: bool) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE users SET enabled = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, enabled, time::now()],
    )?;
    Ok(())
}

/// Set or clear the expiry.
pub fn set_expiry(c: &Connection, id: i64, expires_at: Option<&str>) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE users SET expires_at = ?2, expiry_action = NULL, expiry_action_at = NULL, updated_at = ?3
         WHERE id = ?1",
        params![id, expires_at, time::now()],
    )?;
    Ok(())
}

/// Every account of a server.
pub fn of_server(c: &Connection, server_id: i64) -> rusqlite::Result<Vec<User>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLS} FROM users u JOIN servers s ON s.id = u.server_id WHERE u.server_id = ?1 ORDER BY u.id"
    ))?;
    stmt.query_map([server_id], row)?.collect()
}

/// An account found on the server by user sync.
#[derive(Debug, Clone)]
pub struct Seen<'a> {
    /// The server's id.
    pub external_id: &'a str,
    /// Username.
    pub username: &'a str,
    /// E-mail.
    pub email: Option<&'a str>,
    /// Kind.
    pub kind: Option<&'a str>,
    /// Enabled on the server.
    pub enabled: bool,
}

/// Import an account created outside Zondarr.
pub fn import(c: &Connection, server_id: i64, u: &Seen<'_>) -> rusqlite::Result<i64> {
    let now = time::now();
    c.exec(
        "INSERT INTO users (server_id, external_id, username, email, kind, enabled, source, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'sync', ?7, ?7)",
        params![server_id, u.external_id, u.username, u.email, u.kind, u.enabled, now],
    )?;
    Ok(c.last_insert_rowid())
}

/// Take what the server says about an account (and clear a vanished mark).
pub fn refresh(c: &Connection, id: i64, u: &Seen<'_>) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE users SET username = ?2, email = coalesce(?3, email), kind = ?4, enabled = ?5,
                vanished_at = NULL, updated_at = ?6
         WHERE id = ?1",
        params![id, u.username, u.email, u.kind, u.enabled, time::now()],
    )?;
    Ok(())
}

/// Mark an account as gone from its server.
pub fn mark_vanished(c: &Connection, id: i64, at: &str) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE users SET vanished_at = ?2, updated_at = ?2 WHERE id = ?1 AND vanished_at IS NULL",
        params![id, at],
    )?;
    Ok(())
}

/// Accounts whose access ended before `cutoff` (expiry plus grace) and that expiry
/// enforcement has not handled yet; vanished accounts are left alone.
pub fn expired_unhandled(c: &Connection, cutoff: &str) -> rusqlite::Result<Vec<User>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLS} FROM users u JOIN servers s ON s.id = u.server_id
         WHERE u.expires_at IS NOT NULL AND u.expires_at <= ?1 AND u.expiry_action IS NULL
           AND u.vanished_at IS NULL
         ORDER BY u.expires_at, u.id"
    ))?;
    stmt.query_map([cutoff], row)?.collect()
}

/// Record what expiry enforcement did (and the account's new enabled state, if it changed).
pub fn set_expiry_action(
    c: &Connection,
    id: i64,
    action: &str,
    enabled: Option<bool>,
) -> rusqlite::Result<()> {
    let now = time::now();
    c.exec(
        "UPDATE users SET expiry_action = ?2, expiry_action_at = ?3, enabled = coalesce(?4, enabled), updated_at = ?3
         WHERE id = ?1",
        params![id, action, now, enabled],
    )?;
    Ok(())
}

/// Delete a user and, when it was the last account of its identity, the identity.
pub fn delete(c: &Connection, id: i64) -> rusqlite::Result<bool> {
    let identity: Option<i64> = c
        .row("SELECT identity_id FROM users WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    let deleted = c.exec("DELETE FROM users WHERE id = ?1", [id])? == 1;
    if let Some(identity) = identity {
        delete_identity_if_empty(c, identity)?;
    }
    Ok(deleted)
}

/// Remove an identity that has no accounts left.
pub fn delete_identity_if_empty(c: &Connection, identity: i64) -> rusqlite::Result<()> {
    c.exec("DELETE FROM identities WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM users WHERE identity_id = ?1)", [identity])?;
    Ok(())
}

/// An identity.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Identity {
    /// Row id.
    pub id: i64,
    /// Display name.
    pub display_name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// One identity.
pub fn identity(c: &Connection, id: i64) -> rusqlite::Result<Option<Identity>> {
    c.row(
        "SELECT id, display_name, email, created_at, updated_at FROM identities WHERE id = ?1",
        [id],
        |r| {
            Ok(Identity {
                id: r.get(0)?,
                display_name: r.get(1)?,
                email: r.get(2)?,
                created_at: r.get(3)?,
                updated_at: r.get(4)?,
            })
        },
    )
    .optional()
}

/// Rename / change the e-mail of an identity.
pub fn update_identity(
    c: &Connection,
    id: i64,
    display_name: &str,
    email: Option<&str>,
) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE identities SET display_name = ?2, email = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, display_name, email, time::now()],
    )?;
    Ok(())
}

/// Accounts whose username is `name` (case-insensitive), on any server.
pub fn by_username(c: &Connection, name: &str) -> rusqlite::Result<Vec<User>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLS} FROM users u JOIN servers s ON s.id = u.server_id
         WHERE u.username = ?1 COLLATE NOCASE ORDER BY u.id LIMIT 20"
    ))?;
    stmt.query_map([name], row)?.collect()
}

/// A new identity; returns its id.
pub fn create_identity(
    c: &Connection,
    display_name: &str,
    email: Option<&str>,
) -> rusqlite::Result<i64> {
    c.exec(
        "INSERT INTO identities (display_name, email, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
        params![display_name, email, time::now()],
    )?;
    Ok(c.last_insert_rowid())
}

/// The audit events about an account (`user:{id}`) and its identity (`identity:{id}`), newest
/// first.
pub fn audit_trail(
    c: &Connection,
    user: i64,
    identity: Option<i64>,
    limit: i64,
) -> rusqlite::Result<Vec<super::audit::Event>> {
    let identity = identity.map(|i| format!("identity:{i}"));
    let mut stmt = c.prepare_cached(
        "SELECT id, at, actor, action, outcome FROM audit_log
         WHERE target = ?1 OR target = ?2 ORDER BY id DESC LIMIT ?3",
    )?;
    stmt.query_map(params![format!("user:{user}"), identity, limit], |r| {
        Ok(super::audit::Event {
            id: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            ip: None,
            action: r.get(3)?,
            target: None,
            outcome: r.get(4)?,
            detail: None,
        })
    })?
    .collect()
}

/// Move a user to an identity (`None`: unlink), removing its old identity when it empties.
pub fn set_identity(c: &Connection, user: i64, identity: Option<i64>) -> rusqlite::Result<()> {
    let old: Option<i64> = c
        .row("SELECT identity_id FROM users WHERE id = ?1", [user], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    c.exec(
        "UPDATE users SET identity_id = ?2, updated_at = ?3 WHERE id = ?1",
        params![user, identity, time::now()],
    )?;
    if let Some(old) = old.filter(|o| Some(*o) != identity) {
        delete_identity_if_empty(c, old)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 300 users on two servers with names whose case and order differ from their ids.
    fn seeded() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut c).unwrap();
        c.execute_batch(
            "INSERT INTO servers(id, name, kind, base_url, created_at, updated_at) VALUES
               (1, 'beta', 'jellyfin', 'http://a', '2026', '2026'),
               (2, 'Alpha', 'plex', 'http://b', '2026', '2026');
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
             INSERT INTO users(server_id, external_id, username, email, enabled, expires_at, source,
                               created_at, updated_at)
             SELECT 1 + i % 2, 'e' || i,
                    CASE i % 3 WHEN 0 THEN 'User' WHEN 1 THEN 'user' ELSE 'ANNA' END || ((i * 7919) % 101),
                    'u' || i || '@x', i % 5 <> 0,
                    CASE WHEN i % 4 = 0 THEN NULL ELSE printf('2030-01-%02d', i % 28 + 1) END,
                    'invitation', printf('2026-01-%02d', i % 17 + 1), '2026'
             FROM n;",
        )
        .unwrap();
        c
    }

    fn key(u: &User, sort: &str) -> (String, i64) {
        let k = match sort {
            "u.username COLLATE NOCASE" => u.username.to_ascii_lowercase(),
            "u.created_at" => u.created_at.clone(),
            "coalesce(u.expires_at, '9999')" => u.expires_at.clone().unwrap_or("9999".into()),
            _ => u.server_name.to_ascii_lowercase(),
        };
        (k, u.id)
    }

    const SORTS: [&str; 4] = [
        "u.username COLLATE NOCASE",
        "u.created_at",
        "coalesce(u.expires_at, '9999')",
        "s.name COLLATE NOCASE",
    ];

    #[test]
    fn pages_follow_the_sort_and_the_filter_and_the_count_is_exact() {
        let c = seeded();
        let filters = [
            Filter::default(),
            Filter {
                server_id: Some(2),
                ..Filter::default()
            },
            Filter {
                enabled: Some(false),
                expiry: Some("never".into()),
                ..Filter::default()
            },
        ];
        for f in &filters {
            for sort in SORTS {
                for descending in [false, true] {
                    let (all, total) = list(&c, f, sort, descending, 1000, 0).unwrap();
                    assert_eq!(total as usize, all.len());
                    assert!(total > 0);
                    let mut expected: Vec<_> = all.iter().map(|u| key(u, sort)).collect();
                    expected.sort();
                    if descending {
                        expected.reverse();
                    }
                    let got: Vec<_> = all.iter().map(|u| key(u, sort)).collect();
                    assert_eq!(got, expected, "{sort} desc={descending} {f:?}");
                    // Pages of 7 concatenate to the whole list.
                    let mut paged = Vec::new();
                    for offset in (0..total).step_by(7) {
                        let (page, t) = list(&c, f, sort, descending, 7, offset).unwrap();
                        assert_eq!(t, total);
                        paged.extend(page.into_iter().map(|u| u.id));
                    }
                    assert_eq!(paged, all.iter().map(|u| u.id).collect::<Vec<_>>());
                }
            }
        }
    }

    #[test]
    fn current_is_the_complement_of_expired_and_names_match_whole_and_caseless() {
        let c = seeded();
        let count = |expiry: Option<&str>| {
            let f = Filter {
                expiry: expiry.map(str::to_owned),
                ..Filter::default()
            };
            list(&c, &f, "u.id", false, 1, 0).unwrap().1
        };
        c.exec(
            "UPDATE users SET expires_at = '2001-01-01T00:00:00.000Z' WHERE id % 10 = 0",
            [],
        )
        .unwrap();
        let (all, expired, current) = (count(None), count(Some("expired")), count(Some("current")));
        assert_eq!(expired, 30);
        assert_eq!(current + expired, all);
        assert!(count(Some("never")) < current, "never is part of current");

        c.exec("UPDATE users SET username = 'Zed' WHERE id IN (7, 8)", [])
            .unwrap();
        let found: Vec<i64> = by_username(&c, "zED")
            .unwrap()
            .iter()
            .map(|u| u.id)
            .collect();
        assert_eq!(found, [7, 8]);
        assert!(
            by_username(&c, "Ze").unwrap().is_empty(),
            "whole names only"
        );
    }

    #[test]
    fn the_audit_trail_is_the_accounts_and_its_persons_newest_first() {
        let c = seeded();
        let person = create_identity(&c, "Zed", None).unwrap();
        set_identity(&c, 7, Some(person)).unwrap();
        for (action, target) in [
            ("user.disable", "user:7"),
            ("user.disable", "user:70"),
            ("identity.link", &*format!("identity:{person}")),
            ("user.expiry", "user:7"),
        ] {
            crate::db::audit::append(
                &c,
                &crate::db::audit::NewEvent {
                    actor: "admin:robin",
                    ip: None,
                    action,
                    target: Some(target),
                    outcome: crate::db::audit::Outcome::Success,
                    detail: None,
                },
            )
            .unwrap();
        }
        let trail: Vec<String> = audit_trail(&c, 7, Some(person), 50)
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(trail, ["user.expiry", "identity.link", "user.disable"]);
        assert_eq!(audit_trail(&c, 7, None, 50).unwrap().len(), 2);
    }

    #[test]
    fn the_dashboards_filters_never_read_and_sort_every_row() {
        let c = seeded();
        // The filters the dashboard's user numbers link to, with the list's default sort.
        for filter in [
            "WHERE u.enabled = 1 AND u.vanished_at IS NULL AND (u.expires_at IS NULL OR u.expires_at > '2026')",
            "WHERE u.enabled = 0",
            "WHERE u.expires_at IS NOT NULL AND u.expires_at > '2026' AND u.expires_at <= '2027'",
            "WHERE u.expires_at IS NOT NULL AND u.expires_at <= '2026'",
            "WHERE u.vanished_at IS NOT NULL",
        ] {
            let sql = format!(
                "EXPLAIN QUERY PLAN SELECT u.id FROM users u {filter} \
                 ORDER BY u.username COLLATE NOCASE ASC, u.id ASC LIMIT 50 OFFSET 100"
            );
            let mut stmt = c.prepare_cached(&sql).unwrap();
            let plan: Vec<String> = stmt
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            // Either the sort index is walked, or an index finds the (few) matching rows and
            // only those are sorted (the expiry ranges): never every row read and sorted.
            let sorts = plan.iter().any(|p| p.contains("TEMP B-TREE"));
            let searched = plan.iter().any(|p| p.starts_with("SEARCH u USING INDEX"));
            assert!(!sorts || searched, "{sql}: {plan:?}");
        }
    }

    /// The users whose username or e-mail contains `q` (ASCII case folding), by id: the search's
    /// meaning, computed without SQL.
    fn naive_search(c: &Connection, q: &str) -> Vec<i64> {
        let (all, _) = list(c, &Filter::default(), "u.id", false, 100_000, 0).unwrap();
        let q = q.to_ascii_lowercase();
        all.iter()
            .filter(|u| {
                u.username.to_ascii_lowercase().contains(&q)
                    || u.email
                        .as_deref()
                        .is_some_and(|e| e.to_ascii_lowercase().contains(&q))
            })
            .map(|u| u.id)
            .collect()
    }

    #[test]
    fn a_stale_trigram_count_makes_a_search_slower_never_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Connection::open(dir.path().join("users.db")).unwrap();
        crate::db::migrate(&mut c).unwrap();
        let add = |c: &Connection, name: &str, n: i64| {
            c.execute_batch(&format!(
                "INSERT OR IGNORE INTO servers(id, name, kind, base_url, created_at, updated_at)
                   VALUES (1, 'a', 'jellyfin', 'http://a', '2026', '2026');
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
                 INSERT INTO users(server_id, external_id, username, source, created_at, updated_at)
                 SELECT 1, '{name}' || i, '{name}' || i, 'sync', '2026', '2026' FROM n;"
            ))
            .unwrap();
        };
        let file = c.path().unwrap().to_owned();
        let rare = 40;
        let search = |c: &Connection, q: &str| {
            let f = Filter {
                search: Some(q.into()),
                ..Filter::default()
            };
            let (found, total) = list_with(c, &f, ("u.id", false), 100_000, 0, rare).unwrap();
            let found: Vec<i64> = found.iter().map(|u| u.id).collect();
            assert_eq!(found, naive_search(c, q), "search {q:?}");
            assert_eq!(total as usize, found.len());
        };
        add(&c, "kip", 100);
        // "zed" is in no name yet (rare: counted 0), "kip" in 100 (common: at least `rare`).
        search(&c, "zed");
        search(&c, "kip");
        assert_eq!(TRIGRAM_COUNTS.get(&file, rare, "zed"), Some(0));
        assert_eq!(TRIGRAM_COUNTS.get(&file, rare, "kip"), Some(rare));
        // Now the other way round; the counts kept say what they said.
        add(&c, "zed", 100);
        c.execute_batch("DELETE FROM users WHERE username LIKE 'kip%' AND id > 3")
            .unwrap();
        search(&c, "zed");
        search(&c, "zed1");
        search(&c, "kip");
        search(&c, "kip2");
        assert_eq!(
            TRIGRAM_COUNTS.get(&file, rare, "zed"),
            Some(0),
            "stale, used"
        );
        assert_eq!(
            TRIGRAM_COUNTS.get(&file, rare, "kip"),
            Some(rare),
            "stale, used"
        );
    }

    #[test]
    fn search_finds_what_a_substring_match_finds_through_renames_deletes_and_cascades() {
        let c = seeded();
        let check = |c: &Connection| {
            for q in [
                "a",
                "NN",
                "anna",
                "ANNA1",
                "user",
                "USER5",
                "@x",
                "u12@",
                "er1",
                "nomatch",
                "a\"b",
                "\"",
                "'",
                "%",
                "_",
                "*",
                "anna OR user",
                "NEAR(",
                "ünï",
                "ÜNÏ",
            ] {
                let f = Filter {
                    search: Some(q.into()),
                    ..Filter::default()
                };
                // The rare-trigram path, then the whole-phrase path.
                for rare in [RARE_TRIGRAM, 1] {
                    let (found, total) =
                        list_with(c, &f, ("u.id", false), 100_000, 0, rare).unwrap();
                    let found: Vec<i64> = found.iter().map(|u| u.id).collect();
                    assert_eq!(found, naive_search(c, q), "search {q:?} rare {rare}");
                    assert_eq!(total as usize, found.len(), "count for {q:?}");
                    let (past, t) = list_with(c, &f, ("u.id", false), 10, 1_000, rare).unwrap();
                    assert!(past.is_empty(), "past the last page");
                    assert_eq!(t, total, "the count past the last page, {q:?}");
                }
            }
        };
        check(&c);
        // Renames, a new e-mail, a cleared e-mail, non-ASCII text, deletes, a new account, and a
        // server's accounts removed by ON DELETE CASCADE: the index follows each.
        c.execute_batch(
            "UPDATE users SET username = 'Zanna' WHERE id = 3;
             UPDATE users SET email = 'user5@new' WHERE id = 4;
             UPDATE users SET email = NULL WHERE id = 6;
             UPDATE users SET username = 'ünïcode' WHERE id = 8;
             DELETE FROM users WHERE id IN (1, 2, 9);
             INSERT INTO users(server_id, external_id, username, email, source, created_at, updated_at)
             VALUES (1, 'new', 'a\"b anna', NULL, 'manual', '2026', '2026');",
        )
        .unwrap();
        check(&c);
        c.execute_batch("PRAGMA foreign_keys = ON; DELETE FROM servers WHERE id = 2;")
            .unwrap();
        check(&c);
        // With rank 1, FTS5 also checks its index against the content table (`users`).
        let integrity: rusqlite::Result<usize> = c.exec(
            "INSERT INTO users_search(users_search, rank) VALUES ('integrity-check', 1)",
            [],
        );
        integrity.expect("the index agrees with the users table");
    }

    #[test]
    fn a_search_of_three_characters_or_more_reads_the_trigram_index() {
        let c = seeded();
        let f = Filter {
            search: Some("nna".into()),
            server_id: Some(1),
            ..Filter::default()
        };
        let (filter, args, search) = where_clause(&c, &f, RARE_TRIGRAM).unwrap();
        let search = search.expect("three characters are a trigram");
        let sql = format!(
            "EXPLAIN QUERY PLAN {}",
            search_sql(&filter, "u.username COLLATE NOCASE", "ASC")
        );
        let mut all = vec![Value::Text(search)];
        all.extend(args);
        all.extend([Value::Integer(50), Value::Integer(0)]);
        let mut stmt = c.prepare_cached(&sql).unwrap();
        let plan: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(all.iter()), |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        // The index's matches first, each user then found by its rowid: never a scan of users.
        let at = |step: &str| plan.iter().position(|p| p.starts_with(step));
        let index = at("SCAN users_search VIRTUAL TABLE INDEX");
        let by_rowid = at("SEARCH u USING INTEGER PRIMARY KEY");
        assert!(
            index.is_some() && by_rowid.is_some() && index < by_rowid,
            "{plan:?}"
        );
        assert!(
            !plan
                .iter()
                .any(|p| p == "SCAN u" || p.starts_with("SCAN u ")),
            "{plan:?}"
        );
        let short = Filter {
            search: Some("nn".into()),
            ..Filter::default()
        };
        assert_eq!(
            where_clause(&c, &short, RARE_TRIGRAM).unwrap().2,
            None,
            "two characters are not a trigram"
        );
        assert!(
            where_clause(
                &c,
                &Filter {
                    search: Some("ü@x".into()),
                    ..Filter::default()
                },
                RARE_TRIGRAM
            )
            .unwrap()
            .2
            .is_some(),
            "three characters, not three bytes"
        );
        // Every trigram is rare among 300 users: the two rarest are asked for.
        let q = trigram_query(&c, "a\"bcdef", RARE_TRIGRAM)
            .unwrap()
            .unwrap();
        assert_eq!(q.matches(" AND ").count(), 1, "{q}");
        assert_eq!(trigram_query(&c, "ab", RARE_TRIGRAM).unwrap(), None);
        // None is rare below a threshold of 1 (but one found nowhere): the whole phrase.
        assert!(
            trigram_query(&c, "a\"bcd", 1)
                .unwrap()
                .unwrap()
                .contains(" AND "),
            "a trigram in no account is rare even then"
        );
        assert_eq!(trigram_query(&c, "user1", 1).unwrap().unwrap(), "\"user1\"");
    }

    #[test]
    fn every_user_sort_is_served_by_an_index() {
        let c = seeded();
        for sort in SORTS {
            for order in ["ASC", "DESC"] {
                let join = if sort.starts_with("s.") {
                    "JOIN servers s ON s.id = u.server_id"
                } else {
                    ""
                };
                for filter in ["", "WHERE u.server_id = 1"] {
                    if !filter.is_empty()
                        && !matches!(sort, "u.username COLLATE NOCASE" | "u.created_at")
                    {
                        continue;
                    }
                    let sql = format!(
                        "EXPLAIN QUERY PLAN SELECT u.id FROM users u {join} {filter} \
                         ORDER BY {sort} {order}, u.id {order} LIMIT 50 OFFSET 100"
                    );
                    let mut stmt = c.prepare_cached(&sql).unwrap();
                    let plan: Vec<String> = stmt
                        .query_map([], |r| r.get::<_, String>(3))
                        .unwrap()
                        .collect::<rusqlite::Result<_>>()
                        .unwrap();
                    assert!(
                        !plan.iter().any(|p| p.contains("TEMP B-TREE")),
                        "{sql}: {plan:?}"
                    );
                }
            }
        }
    }
}

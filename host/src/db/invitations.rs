//! Repository functions for invitations and their target servers.

use super::time;
use crate::db::Cached;
use rusqlite::{Connection, OptionalExtension, params, types::Value};

/// An invitation row with its targets.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// Row id.
    pub id: i64,
    /// The code (unique, case-insensitive).
    pub code: String,
    /// Enabled.
    pub enabled: bool,
    /// Expiry.
    pub expires_at: Option<String>,
    /// Maximum uses.
    pub max_uses: Option<i64>,
    /// Uses so far (including reserved ones of redemptions in progress).
    pub use_count: i64,
    /// Access duration of the accounts it creates, days.
    pub access_duration_days: Option<i64>,
    /// Admin note (admins only).
    pub note: Option<String>,
    /// The admin's message to invitees, shown on the landing page.
    pub message: Option<String>,
    /// Creator (audit actor form).
    pub created_by: String,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// When the invitation-expiry job found it expired or used up.
    pub closed_at: Option<String>,
    /// `expired` or `used_up`.
    pub closed_reason: Option<String>,
    /// Target servers.
    pub targets: Vec<Target>,
    /// Wizard the invitee completes before redeeming.
    pub pre_wizard_id: Option<i64>,
    /// Wizard shown after the accounts are created.
    pub post_wizard_id: Option<i64>,
}

/// A target server of an invitation.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Server.
    pub server_id: i64,
    /// The offered libraries by the server's id for them (what is stored, in the admin's
    /// order); `None` means all. This is what redemption grants.
    pub library_refs: Option<Vec<String>>,
    /// The same libraries as row ids (the API's library ids), resolved when loaded; a reference
    /// without a row is left out here (see [`Target::library_refs`]). Not stored.
    pub libraries: Option<Vec<i64>>,
    /// Permission values (JSON object).
    pub permissions: serde_json::Map<String, serde_json::Value>,
}

/// The state an invitation is in, in the order the checks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = InvitationStatus)]
pub enum Status {
    /// Switched off by the admin.
    Disabled,
    /// Past its expiry.
    Expired,
    /// No uses left.
    UsedUp,
    /// Can be redeemed.
    Active,
}

impl Status {
    /// Parse a filter value.
    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Disabled,
            Status::Expired,
            Status::UsedUp,
            Status::Active,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }
}

/// [`Invitation::status`] in SQL, for filters and counts; its one parameter is `now`.
const STATUS_SQL: &str = "CASE WHEN enabled = 0 THEN 'disabled' \
     WHEN expires_at IS NOT NULL AND expires_at <= ? THEN 'expired' \
     WHEN max_uses IS NOT NULL AND use_count >= max_uses THEN 'used_up' \
     ELSE 'active' END";

impl Status {
    /// The name used in the API and in [`STATUS_SQL`].
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Disabled => "disabled",
            Status::Expired => "expired",
            Status::UsedUp => "used_up",
            Status::Active => "active",
        }
    }
}

/// How many invitations are in each status at `now`, and how many active ones are unused
/// (`pending`): `(counts by status, pending)`.
pub fn status_counts(
    c: &Connection,
    now: &str,
) -> rusqlite::Result<(std::collections::HashMap<String, i64>, i64)> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {STATUS_SQL} AS status, count(*), coalesce(sum(use_count = 0), 0)
         FROM invitations GROUP BY status"
    ))?;
    let mut counts = std::collections::HashMap::new();
    let mut pending = 0;
    let rows = stmt.query_map([now], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (status, n, unused) = row?;
        if status == Status::Active.as_str() {
            pending = unused;
        }
        counts.insert(status, n);
    }
    Ok((counts, pending))
}

impl Invitation {
    /// The current status at `now` (stored format).
    pub fn status(&self, now: &str) -> Status {
        if !self.enabled {
            Status::Disabled
        } else if self.expires_at.as_deref().is_some_and(|e| e <= now) {
            Status::Expired
        } else if self.max_uses.is_some_and(|m| self.use_count >= m) {
            Status::UsedUp
        } else {
            Status::Active
        }
    }
}

const COLS: &str = "id, code, enabled, expires_at, max_uses, use_count, access_duration_days, note, created_by, created_at, updated_at, pre_wizard_id, post_wizard_id, closed_at, closed_reason, message";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Invitation> {
    Ok(Invitation {
        id: r.get(0)?,
        code: r.get(1)?,
        enabled: r.get(2)?,
        expires_at: r.get(3)?,
        max_uses: r.get(4)?,
        use_count: r.get(5)?,
        access_duration_days: r.get(6)?,
        note: r.get(7)?,
        created_by: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
        pre_wizard_id: r.get(11)?,
        post_wizard_id: r.get(12)?,
        closed_at: r.get(13)?,
        closed_reason: r.get(14)?,
        message: r.get(15)?,
        targets: Vec::new(),
    })
}

fn load_targets(c: &Connection, inv: &mut Invitation) -> rusqlite::Result<()> {
    let mut stmt = c.prepare_cached(
        "SELECT server_id, libraries, permissions FROM invitation_servers WHERE invitation_id = ?1 ORDER BY server_id",
    )?;
    let mut targets = stmt
        .query_map([inv.id], |r| {
            let libs: Option<String> = r.get(1)?;
            let perms: String = r.get(2)?;
            Ok(Target {
                server_id: r.get(0)?,
                // A stored list that cannot be read is kept as an unknown reference, so the
                // invitation shows as offering a missing library instead of "all".
                library_refs: libs.map(|l| {
                    serde_json::from_str(&l).unwrap_or_else(|_| vec!["(unreadable)".to_owned()])
                }),
                libraries: None,
                permissions: serde_json::from_str(&perms).unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut row_id =
        c.prepare_cached("SELECT id FROM libraries WHERE server_id = ?1 AND external_id = ?2")?;
    for t in &mut targets {
        if let Some(refs) = &t.library_refs {
            let mut ids = Vec::with_capacity(refs.len());
            for ext in refs {
                if let Some(id) = row_id
                    .query_row(params![t.server_id, ext], |r| r.get(0))
                    .optional()?
                {
                    ids.push(id);
                }
            }
            t.libraries = Some(ids);
        }
    }
    inv.targets = targets;
    Ok(())
}

/// Invitations that offer a library the server no longer lists (marked missing by library
/// sync, or without a row at all), or an empty or unreadable list.
pub fn count_offering_missing_libraries(c: &Connection) -> rusqlite::Result<i64> {
    c.row(
        "SELECT count(DISTINCT s.invitation_id) FROM invitation_servers s
         WHERE s.libraries IS NOT NULL AND CASE
             WHEN NOT json_valid(s.libraries) THEN 1
             WHEN json_array_length(s.libraries) = 0 THEN 1
             ELSE EXISTS (
                 SELECT 1 FROM json_each(s.libraries) j WHERE NOT EXISTS (
                     SELECT 1 FROM libraries l
                     WHERE l.server_id = s.server_id AND l.external_id = j.value
                       AND l.missing_since IS NULL))
         END",
        [],
        |r| r.get(0),
    )
}

/// One invitation by id.
pub fn get(c: &Connection, id: i64) -> rusqlite::Result<Option<Invitation>> {
    let Some(mut inv) = c
        .row(
            &format!("SELECT {COLS} FROM invitations WHERE id = ?1"),
            [id],
            row,
        )
        .optional()?
    else {
        return Ok(None);
    };
    load_targets(c, &mut inv)?;
    Ok(Some(inv))
}

/// One invitation by code (case-insensitive).
pub fn by_code(c: &Connection, code: &str) -> rusqlite::Result<Option<Invitation>> {
    let Some(mut inv) = c
        .row(
            &format!("SELECT {COLS} FROM invitations WHERE code = ?1"),
            [code],
            row,
        )
        .optional()?
    else {
        return Ok(None);
    };
    load_targets(c, &mut inv)?;
    Ok(Some(inv))
}

/// Whether a code is taken (case-insensitive).
pub fn code_taken(c: &Connection, code: &str) -> rusqlite::Result<bool> {
    c.row(
        "SELECT EXISTS (SELECT 1 FROM invitations WHERE code = ?1)",
        [code],
        |r| r.get(0),
    )
}

fn write_targets(c: &Connection, id: i64, targets: &[Target]) -> rusqlite::Result<()> {
    c.exec(
        "DELETE FROM invitation_servers WHERE invitation_id = ?1",
        [id],
    )?;
    let mut stmt = c.prepare_cached("INSERT INTO invitation_servers (invitation_id, server_id, libraries, permissions) VALUES (?1, ?2, ?3, ?4)")?;
    for t in targets {
        let libs = t
            .library_refs
            .as_ref()
            .map(|l| serde_json::to_string(l).unwrap_or_else(|_| "[]".into()));
        let perms = serde_json::Value::Object(t.permissions.clone()).to_string();
        stmt.execute(params![id, t.server_id, libs, perms])?;
    }
    Ok(())
}

/// Insert an invitation with its targets; returns the id.
pub fn insert(c: &Connection, inv: &Invitation) -> rusqlite::Result<i64> {
    let now = time::now();
    c.exec(
        "INSERT INTO invitations (code, enabled, expires_at, max_uses, access_duration_days, note, created_by, created_at, updated_at, pre_wizard_id, post_wizard_id, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11)",
        params![inv.code, inv.enabled, inv.expires_at, inv.max_uses, inv.access_duration_days, inv.note, inv.created_by, now, inv.pre_wizard_id, inv.post_wizard_id, inv.message],
    )?;
    let id = c.last_insert_rowid();
    write_targets(c, id, &inv.targets)?;
    Ok(id)
}

/// Update every editable field (never the code or the use count) and the targets.
pub fn update(c: &Connection, inv: &Invitation) -> rusqlite::Result<usize> {
    let n = c.exec(
        "UPDATE invitations SET enabled = ?2, expires_at = ?3, max_uses = ?4, access_duration_days = ?5, note = ?6, updated_at = ?7,
         pre_wizard_id = ?8, post_wizard_id = ?9, message = ?10
         WHERE id = ?1",
        params![inv.id, inv.enabled, inv.expires_at, inv.max_uses, inv.access_duration_days, inv.note, time::now(), inv.pre_wizard_id, inv.post_wizard_id, inv.message],
    )?;
    write_targets(c, inv.id, &inv.targets)?;
    Ok(n)
}

/// Delete an invitation (accounts it created keep existing; their link is cleared by the FK).
pub fn delete(c: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(c.exec("DELETE FROM invitations WHERE id = ?1", [id])? == 1)
}

/// Take one use if the invitation is redeemable right now. Atomic: the condition and the
/// increment are one statement, so concurrent redemptions never exceed `max_uses`.
pub fn reserve_use(c: &Connection, id: i64) -> rusqlite::Result<bool> {
    let n = c.exec(
        "UPDATE invitations SET use_count = use_count + 1, updated_at = ?2
         WHERE id = ?1 AND enabled = 1 AND (expires_at IS NULL OR expires_at > ?2)
           AND (max_uses IS NULL OR use_count < max_uses)",
        params![id, time::now()],
    )?;
    Ok(n == 1)
}

/// The invitation-expiry job's marks at `now`: close invitations that expired or are used up,
/// reopen closed ones an admin has since extended. Returns (expired, used up, reopened).
pub fn mark_closed(c: &Connection, now: &str) -> rusqlite::Result<(usize, usize, usize)> {
    let reopened = c.exec(
        "UPDATE invitations SET closed_at = NULL, closed_reason = NULL
         WHERE closed_at IS NOT NULL AND (expires_at IS NULL OR expires_at > ?1)
           AND (max_uses IS NULL OR use_count < max_uses)",
        [now],
    )?;
    let expired = c.exec(
        "UPDATE invitations SET closed_at = ?1, closed_reason = 'expired'
         WHERE closed_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?1",
        [now],
    )?;
    let used_up = c.exec(
        "UPDATE invitations SET closed_at = ?1, closed_reason = 'used_up'
         WHERE closed_at IS NULL AND max_uses IS NOT NULL AND use_count >= max_uses",
        [now],
    )?;
    Ok((expired, used_up, reopened))
}

/// Give back a use taken by a redemption that failed.
pub fn release_use(c: &Connection, id: i64) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE invitations SET use_count = max(use_count - 1, 0), updated_at = ?2 WHERE id = ?1",
        params![id, time::now()],
    )?;
    Ok(())
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this status.
    pub status: Option<Status>,
    /// Only invitations never redeemed: no use so far and none in progress.
    pub unused: bool,
    /// Only invitations targeting this server.
    pub server_id: Option<i64>,
    /// Code contains (case-insensitive).
    pub search: Option<String>,
}

/// Sort keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Newest first by default.
    CreatedAt,
    /// Soonest expiry.
    ExpiresAt,
    /// Alphabetical.
    Code,
    /// Most used.
    UseCount,
}

impl Sort {
    /// Parse a sort key.
    pub fn parse(s: &str) -> Option<Sort> {
        match s {
            "created_at" => Some(Sort::CreatedAt),
            "expires_at" => Some(Sort::ExpiresAt),
            "code" => Some(Sort::Code),
            "use_count" => Some(Sort::UseCount),
            _ => None,
        }
    }

    fn column(self) -> &'static str {
        match self {
            Sort::CreatedAt => "created_at",
            Sort::ExpiresAt => "coalesce(expires_at, '9999')",
            Sort::Code => "code COLLATE NOCASE",
            Sort::UseCount => "use_count",
        }
    }
}

/// A page of invitations with the total count.
pub fn list(
    c: &Connection,
    f: &Filter,
    sort: Sort,
    descending: bool,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<Invitation>, i64)> {
    let now = time::now();
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(status) = f.status {
        clauses.push(format!("({STATUS_SQL}) = ?"));
        args.push(Value::Text(now.clone()));
        args.push(Value::Text(status.as_str().to_owned()));
    }
    if f.unused {
        clauses.push("use_count = 0".into());
    }
    if let Some(server) = f.server_id {
        clauses.push(
            "id IN (SELECT invitation_id FROM invitation_servers WHERE server_id = ?)".into(),
        );
        args.push(Value::Integer(server));
    }
    if let Some(search) = &f.search {
        clauses.push("instr(lower(code), lower(?)) > 0".into());
        args.push(Value::Text(search.clone()));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let total: i64 = c.row(
        &format!("SELECT count(*) FROM invitations {filter}"),
        rusqlite::params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let order = if descending { "DESC" } else { "ASC" };
    args.push(Value::Integer(limit));
    args.push(Value::Integer(offset));
    let sql = format!(
        "SELECT {COLS} FROM invitations {filter} ORDER BY {} {order}, id {order} LIMIT ? OFFSET ?",
        sort.column()
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let mut items = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for inv in &mut items {
        load_targets(c, inv)?;
    }
    Ok((items, total))
}

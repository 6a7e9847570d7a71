//! Redeeming an invitation: one logical transaction across every target server, owned by the
//! daemon and journaled so that nothing is lost, duplicated or left half-done (docs/redemption.md).
//!
//! 1. The request checks the code, the wizard token and the invitee's input, then reserves one
//!    use atomically and writes the journal (one step per server) before any remote call.
//! 2. The saga ([`saga`]) runs as a task of the daemon: per server `find-user`, the proof in the
//!    journal, `create-user` (created or adopted, with the remote id). The request waits for it
//!    up to a bound and otherwise answers "in progress" with a handle to poll.
//! 3. On any failure it undoes exactly what it made ([`journal::undo`]): accounts it provably
//!    created are deleted by remote id, adopted ones kept, unknown outcomes resolved, and an
//!    account nothing proves is reported, never deleted. The use is released once.
//! 4. On success the identity and the users are written in one transaction.
//!
//! A crash leaves the journal `pending`; [`recover`] settles it at start-up and periodically.

mod journal;
mod recover;
mod saga;

pub use recover::{Recovered, recover};
pub use saga::Sagas;

use crate::crypto::Purpose;
use crate::db::Cached;
use crate::db::{self, invitations::Invitation, servers::ServerRow};
use crate::error::{Error, ErrorCode, FieldError, Result};
use crate::input;
use crate::plugins::{
    CallError, LibraryAccess, LinkedAccount, Manifest, PermissionValue, ServerContext, Value,
    ValueKind,
};
use crate::servers;
use crate::state::AppState;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The one answer for a code that cannot be redeemed, whatever the reason.
pub fn invite_invalid() -> Error {
    Error::new(
        ErrorCode::InviteInvalid,
        "this invitation link is not valid: it may have expired or been used up",
    )
}

/// A target server ready to be called.
pub struct Prepared {
    /// The server row.
    pub server: ServerRow,
    /// Its connector's manifest.
    pub manifest: Manifest,
    /// Call context (credentials opened).
    pub ctx: ServerContext,
    /// Libraries as external ids.
    pub libraries: LibraryAccess,
    /// Every declared permission with the invitation's value or the default.
    pub permissions: Vec<PermissionValue>,
}

fn value_from_json(kind: ValueKind, v: &serde_json::Value) -> Option<Value> {
    match kind {
        ValueKind::Flag => v.as_bool().map(Value::Flag),
        ValueKind::Number => v.as_i64().map(Value::Number),
        _ => v.as_str().map(|s| Value::Text(s.to_owned())),
    }
}

/// Each target of an invitation with its server (`None`: deleted) and that server's libraries,
/// as [`prepare`] checks them.
pub type TargetRows = Vec<(
    db::invitations::Target,
    Option<db::servers::ServerRow>,
    Vec<db::servers::LibraryRow>,
)>;

/// Read the rows [`prepare`] checks, in the same trip to the database as the invitation.
pub fn target_rows(c: &rusqlite::Connection, inv: &Invitation) -> Result<TargetRows> {
    inv.targets
        .iter()
        .map(|t| {
            let server = db::servers::get(c, t.server_id)?;
            let libs = db::servers::libraries(c, t.server_id)?;
            Ok((t.clone(), server, libs))
        })
        .collect()
}

/// Check an invitation's targets read by [`target_rows`]: every server enabled with its
/// connector loaded.
pub fn prepare(state: &AppState, rows: TargetRows) -> Result<Vec<Prepared>> {
    let unavailable = || {
        Error::new(
            ErrorCode::ServerUnavailable,
            "a server of this invitation is not available right now; try again later",
        )
    };
    let mut out = Vec::new();
    for (target, server, libs) in rows {
        let server = server.ok_or_else(invite_invalid)?;
        if !server.enabled {
            return Err(unavailable());
        }
        let manifest = state
            .plugins()
            .manifest(&server.kind)
            .ok_or_else(unavailable)?;
        let ctx = servers::context_of(&state.security().crypto, &manifest, &server)?;
        // Exactly the offered libraries, by the server's ids for them. One the server no longer
        // lists (or that has no row at all) refuses the redemption before anything is created:
        // granting fewer (or, with an empty list, none or every) library would not be the offer.
        let libraries = match &target.library_refs {
            None => LibraryAccess::All,
            Some(refs) => {
                let live = |ext: &String| {
                    libs.iter()
                        .any(|l| &l.external_id == ext && !l.is_missing())
                };
                if refs.is_empty() || !refs.iter().all(live) {
                    return Err(Error::new(
                        ErrorCode::InvitationLibraryMissing,
                        format!(
                            "this invitation offers a library that no longer exists on {}; ask \
                             the person who invited you for a new link",
                            server.name
                        ),
                    ));
                }
                LibraryAccess::Only(refs.clone())
            }
        };
        let permissions = manifest
            .permissions
            .iter()
            .map(|def| PermissionValue {
                key: def.key.clone(),
                value: target
                    .permissions
                    .get(&def.key)
                    .and_then(|v| value_from_json(def.kind, v))
                    .unwrap_or_else(|| def.default_value.clone()),
            })
            .collect();
        out.push(Prepared {
            server,
            manifest,
            ctx,
            libraries,
            permissions,
        });
    }
    Ok(out)
}

/// What the invitee sends.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// Username for servers where the invitee creates credentials.
    #[schema(max_length = 64)]
    pub username: Option<String>,
    /// Password for those servers.
    #[schema(max_length = 256)]
    pub password: Option<String>,
    /// E-mail address (optional).
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// Linked accounts by connector id: the link handle returned by the OAuth start endpoint.
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// The completion token of the invitation's pre-join wizard, when it has one
    /// (`POST /join/{code}/wizard/{step}` answers it after the last step).
    pub wizard_token: Option<String>,
    /// Idempotency key of this join attempt, 16 to 64 of `[A-Za-z0-9_-]`, chosen by the client
    /// (the join page makes one per form). A request repeated with the same key (a double
    /// click, a retry after a lost answer) joins the attempt already made instead of starting a
    /// second one, whatever else it carries.
    #[schema(min_length = 16, max_length = 64)]
    pub attempt: Option<String>,
}

/// A linked account as sealed in `join_links.account`.
#[derive(Serialize, Deserialize)]
pub struct StoredAccount {
    /// Provider account id.
    pub id: String,
    /// Username.
    pub username: String,
    /// E-mail.
    pub email: Option<String>,
    /// The invitee's token (sealed at rest, never returned).
    pub token: String,
}

impl From<&LinkedAccount> for StoredAccount {
    fn from(a: &LinkedAccount) -> Self {
        StoredAccount {
            id: a.id.clone(),
            username: a.username.clone(),
            email: a.email.clone(),
            token: a.token.expose().to_owned(),
        }
    }
}

/// Usernames invitees choose (see [`crate::input::username`]); the normalised name.
///
/// # Errors
/// The rule that was broken.
pub fn check_username(name: &str) -> std::result::Result<String, &'static str> {
    input::username(name)
}

/// The result of a successful redemption.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Redeemed {
    /// Always `completed`.
    pub state: &'static str,
    /// The redemption's handle (the same one `GET /join/{code}/redemptions/{handle}` answers).
    pub handle: String,
    /// The new identity.
    pub identity_id: i64,
    /// The accounts, per server.
    pub accounts: Vec<RedeemedAccount>,
    /// When access ends, if the invitation limits it.
    pub expires_at: Option<String>,
}

/// One account of a redemption.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RedeemedAccount {
    /// Server display name.
    pub server: String,
    /// Human name of the server kind.
    pub kind: String,
    /// The account's username on that server.
    pub username: String,
    /// The address members use to reach that server, when the admin gave one (the server's
    /// field named by its connector's `join-help.address-field`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// A redemption the daemon is still working on.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InProgress {
    /// Always `in_progress`.
    pub state: &'static str,
    /// Poll `GET /join/{code}/redemptions/{handle}` with it.
    pub handle: String,
}

/// Where a redemption stands, for the invitee.
#[derive(Debug)]
pub enum Progress {
    /// Every account exists.
    Completed(Redeemed),
    /// Still running (or waiting for recovery to settle an unknown outcome).
    Running(InProgress),
}

/// Redeem `code`. The checks run in the request; then a use is reserved and the journal written,
/// and the saga that creates the accounts runs as a task of the daemon, not of the request: a
/// client that goes away, a request timeout or a shutdown never cuts it between two steps. The
/// request waits for it up to `security.join_redeem_wait_secs` and otherwise answers
/// [`Progress::Running`] with the handle to poll.
///
/// Every attempt is counted in the `zondarr_redemptions_total` metric by outcome: `completed`;
/// `refused` (checks failed before a use was reserved); `rolled_back` (an account could not be
/// created and those made were removed again); `failed` (an internal error after the
/// reservation); `unresolved` (recovery must settle it).
pub async fn redeem(
    state: &AppState,
    code: &str,
    req: RedeemRequest,
    ip: Option<String>,
) -> Result<Progress> {
    // The checks, the reservation and the start of the saga run as one task of their own: a
    // client that goes away while the reservation is being written must not leave a reserved
    // use with no saga to finish it (the request's future is dropped, a spawned task is not).
    let (task_state, task_code) = (state.clone(), code.to_owned());
    let started = tokio::spawn(async move { saga::start(&task_state, &task_code, req, ip).await })
        .await
        .unwrap_or_else(|e| {
            Err(Error::Internal(anyhow::anyhow!(
                "the redemption start task failed: {e}"
            )))
        });
    let (id, handle, receiver) = match started {
        Ok(saga::Started::New { id, handle, done }) => (id, handle, Some(done)),
        Ok(saga::Started::Existing { id, handle }) => {
            let done = state.sagas().watch(id);
            (id, handle, done)
        }
        Err(e) => {
            state.metrics().redemption("refused");
            return Err(e);
        }
    };
    if let Some(mut done) = receiver {
        let wait = std::time::Duration::from_secs(state.security().config().join_redeem_wait_secs);
        let _ = tokio::time::timeout(wait, done.wait_for(|finished| *finished)).await;
    }
    progress(state, id, handle).await
}

/// Where the redemption `handle` of the invitation `code` stands.
///
/// # Errors
/// `INVITE_INVALID` for an unknown pair; the redemption's own error if it failed.
pub async fn status(state: &AppState, code: &str, handle: &str) -> Result<Progress> {
    if handle.len() > 64 || code.len() > 64 {
        return Err(invite_invalid());
    }
    let (code, handle) = (code.to_owned(), handle.to_owned());
    let id: Option<(i64, String)> = state
        .db()
        .run(move |c| {
            Ok(c.row(
                "SELECT r.id, r.handle FROM redemptions r JOIN invitations i ON i.id = r.invitation_id
                 WHERE r.handle = ?1 AND i.code = ?2",
                params![handle, code],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })
        .await?;
    let (id, handle) = id.ok_or_else(invite_invalid)?;
    progress(state, id, handle).await
}

/// The address members use to reach a server: the value of the `url` field its connector names
/// in `join-help.address-field`, from the server's non-secret configuration (JSON).
fn member_address(manifest: &crate::plugins::Manifest, config: &str) -> Option<String> {
    let field = manifest.join_help.address_field.as_deref()?;
    let config: serde_json::Value = serde_json::from_str(config).ok()?;
    config
        .get(field)
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The invitee's view of redemption `id`, read from the journal.
async fn progress(state: &AppState, id: i64, handle: String) -> Result<Progress> {
    let running = state.sagas().is_running(id);
    let row = state
        .db()
        .run(move |c| {
            let (st, identity, code, message, inv): (String, Option<i64>, Option<String>, Option<String>, Option<i64>) =
                c.row(
                    "SELECT state, identity_id, error_code, error, invitation_id FROM redemptions WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )?;
            let mut accounts = Vec::new();
            let mut expires_at = None;
            if let Some(identity) = identity.filter(|_| st == "completed") {
                let mut stmt = c.prepare_cached(
                    "SELECT s.name, s.kind, u.username, u.expires_at, s.config FROM users u JOIN servers s ON s.id = u.server_id
                     WHERE u.identity_id = ?1 AND u.invitation_id IS ?2 ORDER BY u.id",
                )?;
                let rows = stmt.query_map(params![identity, inv], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, String>(4)?))
                })?;
                for row in rows {
                    let (server, kind, username, expires, config) = row?;
                    expires_at = expires_at.or(expires);
                    accounts.push((server, kind, username, config));
                }
            }
            Ok((st, identity, code, message, accounts, expires_at))
        })
        .await?;
    let (st, identity, code, message, accounts, expires_at) = row;
    match st.as_str() {
        "completed" => Ok(Progress::Completed(Redeemed {
            state: "completed",
            handle,
            identity_id: identity.unwrap_or_default(),
            accounts: accounts
                .into_iter()
                .map(|(server, kind, username, config)| {
                    let manifest = state.plugins().manifest(&kind);
                    RedeemedAccount {
                        address: manifest.as_ref().and_then(|m| member_address(m, &config)),
                        kind: manifest.map_or(kind, |m| m.name),
                        server,
                        username,
                    }
                })
                .collect(),
            expires_at,
        })),
        "pending" if running || code.is_none() => Ok(Progress::Running(InProgress {
            state: "in_progress",
            handle,
        })),
        _ => Err(stored_error(code.as_deref(), message)),
    }
}

/// The public error a failed redemption recorded.
fn stored_error(code: Option<&str>, message: Option<String>) -> Error {
    let code = code
        .and_then(|c| ErrorCode::ALL.iter().copied().find(|k| k.as_str() == c))
        .unwrap_or(ErrorCode::ServerUnavailable);
    let message = message.unwrap_or_else(|| {
        "the accounts could not be created; nothing was kept, try again later".into()
    });
    match code {
        ErrorCode::UsernameTaken => {
            Error::invalid(vec![FieldError::new("username", message)]).retagged(code)
        }
        _ => Error::new(code, message),
    }
}

/// What a public caller learns about a failed account creation: a stable code and a message
/// with no URL, plugin detail or remote text.
fn public_error(e: CallError, server_name: &str) -> (ErrorCode, String) {
    let internal: Error = e.into();
    match internal.code() {
        ErrorCode::UsernameTaken => (
            ErrorCode::UsernameTaken,
            format!("is already taken on {server_name}; choose another"),
        ),
        ErrorCode::RemoteInvalidInput => (
            ErrorCode::RemoteInvalidInput,
            format!("{server_name} refused this username or password; try another"),
        ),
        _ => (
            ErrorCode::ServerUnavailable,
            format!(
                "{server_name} could not create the account right now; nothing was kept, try again later"
            ),
        ),
    }
}

/// The linked account of a join link of this invitation, if it is linked and unused, with the
/// link's row id.
async fn linked_account(
    state: &AppState,
    invitation: i64,
    handle: &str,
) -> Result<(i64, StoredAccount)> {
    let not_linked = || {
        Error::new(
            ErrorCode::LinkRequired,
            "the account link is missing, expired or not approved yet; sign in again",
        )
    };
    if handle.len() > 64 {
        return Err(not_linked());
    }
    let handle = handle.to_owned();
    let row: Option<(i64, String, Option<Vec<u8>>)> = state
        .db()
        .run(move |c| {
            Ok(c.row(
                "SELECT id, state, account FROM join_links WHERE handle = ?1 AND invitation_id = ?2 AND expires_at > ?3",
                params![handle, invitation, db::time::now()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
        })
        .await?;
    match row {
        Some((link, s, Some(sealed))) if s == "linked" => {
            let plain = state
                .security()
                .crypto
                .open(
                    Purpose::LinkedAccount,
                    &format!("join-link:{link}"),
                    &sealed,
                )
                .map_err(|_| not_linked())?;
            let account = serde_json::from_slice(&plain).map_err(|_| not_linked())?;
            Ok((link, account))
        }
        _ => Err(not_linked()),
    }
}

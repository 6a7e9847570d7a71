//! Redeeming an invitation: one logical transaction across every target server.
//!
//! 1. One use is reserved atomically and a journal row (one step per server) is written, before
//!    any remote call.
//! 2. Server by server, the step is marked `calling`, the account is created with the
//!    invitation's libraries and permissions, and the step is marked `created` with its id.
//! 3. On any failure every account already created is deleted again and the use is released.
//! 4. On success the identity and the users are written in one transaction.
//!
//! A crash between 1 and 4 leaves the journal `pending`; [`recover`] runs at start-up and
//! compensates it (an account whose creation was not yet recorded is found by its username).

use crate::crypto::Purpose;
use crate::db::{self, audit::Outcome, invitations::Invitation, servers::ServerRow};
use crate::error::{Error, ErrorCode, FieldError, Result};
use crate::plugins::{
    CallError, DeleteOptions, JoinFlow, LibraryAccess, LinkedAccount, Manifest, NewUser,
    PermissionValue, SecretString, ServerContext, Value, ValueKind,
};
use crate::servers;
use crate::state::AppState;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
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

/// Load and check an invitation's targets: every server enabled with its connector loaded.
pub async fn prepare(state: &AppState, inv: &Invitation) -> Result<Vec<Prepared>> {
    let targets = inv.targets.clone();
    let rows = state
        .db()
        .run(move |c| {
            targets
                .iter()
                .map(|t| {
                    let server = db::servers::get(c, t.server_id)?;
                    let libs = db::servers::libraries(c, t.server_id)?;
                    Ok((t.clone(), server, libs))
                })
                .collect::<Result<Vec<_>>>()
        })
        .await?;
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
    pub username: Option<String>,
    /// Password for those servers.
    pub password: Option<String>,
    /// E-mail address (optional).
    pub email: Option<String>,
    /// Linked accounts by connector id: the link id returned by the OAuth start endpoint.
    #[serde(default)]
    pub links: BTreeMap<String, i64>,
    /// The completion token of the invitation's pre-join wizard, when it has one
    /// (`POST /join/{code}/wizard/{step}` answers it after the last step).
    pub wizard_token: Option<String>,
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

/// Usernames invitees choose: 1–64 characters, no control characters, no leading or trailing
/// space, none of `<>"/\`.
pub fn check_username(name: &str) -> std::result::Result<(), &'static str> {
    let len = name.chars().count();
    if !(1..=64).contains(&len) {
        return Err("must be 1 to 64 characters");
    }
    if name.trim() != name
        || name
            .chars()
            .any(|c| c.is_control() || "<>\"/\\".contains(c))
    {
        return Err("contains characters that are not allowed");
    }
    Ok(())
}

/// The result of a successful redemption.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Redeemed {
    /// The new identity.
    pub identity_id: i64,
    /// The accounts, per server.
    pub accounts: Vec<RedeemedAccount>,
    /// When access ends, if the invitation limits it.
    pub expires_at: Option<String>,
}

/// One created account.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RedeemedAccount {
    /// Server display name.
    pub server: String,
    /// Connector id.
    pub kind: String,
    /// The account's username on that server.
    pub username: String,
}

/// server id, external id, username, e-mail, kind of a created account.
type CreatedRow = (i64, String, String, Option<String>, Option<String>);

struct Step {
    prepared: Prepared,
    user: NewUser,
    created: Option<crate::plugins::RemoteUser>,
}

/// Redeem `code`. `links` are resolved against the invitation's `join_links`. Every attempt is
/// counted in the `zondarr_redemptions_total` metric by outcome: `completed`; `refused` (checks
/// failed before a use was reserved: bad code, bad input, server unavailable); `rolled_back`
/// (an account could not be created and the others were removed again); `failed` (an internal
/// error after the reservation).
pub async fn redeem(
    state: &AppState,
    code: &str,
    req: RedeemRequest,
    ip: Option<String>,
) -> Result<Redeemed> {
    let mut outcome = "refused";
    let result = attempt(state, code, req, ip, &mut outcome).await;
    state
        .metrics()
        .redemption(if result.is_ok() { "completed" } else { outcome });
    result
}

/// [`redeem`]; `outcome` says how far a failed attempt got.
async fn attempt(
    state: &AppState,
    code: &str,
    req: RedeemRequest,
    ip: Option<String>,
    outcome: &mut &'static str,
) -> Result<Redeemed> {
    let code_owned = code.to_owned();
    let inv = state
        .db()
        .run(move |c| Ok(db::invitations::by_code(c, &code_owned)?))
        .await?
        .ok_or_else(invite_invalid)?;
    if inv.status(&db::time::now()) != db::invitations::Status::Active || inv.targets.is_empty() {
        return Err(invite_invalid());
    }
    crate::wizard::require_pre_join(state, &inv, req.wizard_token.as_deref()).await?;
    let prepared = prepare(state, &inv).await?;

    // Build the account to create on each server, checking the invitee's input first.
    let needs_credentials = prepared
        .iter()
        .any(|p| p.manifest.join_flow == JoinFlow::Credentials);
    let mut fields = Vec::new();
    let email = req
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned);
    if email
        .as_ref()
        .is_some_and(|e| e.len() > 254 || !e.contains('@') || e.contains(char::is_whitespace))
    {
        fields.push(FieldError::new("email", "is not a valid e-mail address"));
    }
    if needs_credentials {
        match req.username.as_deref() {
            None => fields.push(FieldError::new("username", "is required")),
            Some(u) => {
                if let Err(rule) = check_username(u) {
                    fields.push(FieldError::new("username", rule));
                }
            }
        }
        match req.password.as_deref() {
            Some(p) if (8..=256).contains(&p.chars().count()) => {}
            Some(_) => fields.push(FieldError::new("password", "must be 8 to 256 characters")),
            None => fields.push(FieldError::new("password", "is required")),
        }
    }
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    let mut steps = Vec::new();
    let mut link_ids = Vec::new();
    for p in prepared {
        let user = match p.manifest.join_flow {
            JoinFlow::Credentials => NewUser {
                username: req.username.clone().unwrap_or_default(),
                password: req.password.clone().map(SecretString::new),
                email: email.clone(),
                linked_account: None,
                libraries: p.libraries.clone(),
                permissions: p.permissions.clone(),
            },
            JoinFlow::OauthLink => {
                let link_id = *req.links.get(&p.manifest.id).ok_or_else(|| {
                    Error::new(
                        ErrorCode::LinkRequired,
                        format!("sign in with {} first", p.manifest.name),
                    )
                })?;
                let account = linked_account(state, inv.id, link_id).await?;
                link_ids.push(link_id);
                NewUser {
                    username: account.username.clone(),
                    password: None,
                    email: account.email.clone().or_else(|| email.clone()),
                    linked_account: Some(LinkedAccount {
                        id: account.id,
                        username: account.username,
                        email: account.email,
                        token: SecretString::new(account.token),
                    }),
                    libraries: p.libraries.clone(),
                    permissions: p.permissions.clone(),
                }
            }
        };
        steps.push(Step {
            prepared: p,
            user,
            created: None,
        });
    }
    let display_name = req
        .username
        .clone()
        .or_else(|| {
            steps
                .iter()
                .find_map(|s| s.user.linked_account.as_ref().map(|a| a.username.clone()))
        })
        .unwrap_or_else(|| "invitee".into());

    // Reserve a use and journal the redemption before any remote call.
    let journal: Vec<(i64, String, String)> = steps
        .iter()
        .map(|s| {
            (
                s.prepared.server.id,
                s.prepared.server.kind.clone(),
                s.user.username.clone(),
            )
        })
        .collect();
    let (inv_id, name, mail) = (inv.id, display_name.clone(), email.clone());
    let redemption_id = state
        .db()
        .write(move |tx| {
            if !db::invitations::reserve_use(tx, inv_id)? {
                return Err(invite_invalid());
            }
            tx.execute(
                "INSERT INTO redemptions (invitation_id, state, username, email, started_at) VALUES (?1, 'pending', ?2, ?3, ?4)",
                params![inv_id, name, mail, db::time::now()],
            )?;
            let id = tx.last_insert_rowid();
            for (server_id, kind, username) in &journal {
                tx.execute(
                    "INSERT INTO redemption_steps (redemption_id, server_id, kind, state, username) VALUES (?1, ?2, ?3, 'pending', ?4)",
                    params![id, server_id, kind, username],
                )?;
            }
            Ok(id)
        })
        .await?;
    *outcome = "failed";

    let mut failure: Option<(Error, String)> = None;
    for step in steps.iter_mut() {
        let server_id = step.prepared.server.id;
        set_step(state, redemption_id, server_id, "calling", None).await?;
        let (kind, ctx) = (step.prepared.server.kind.clone(), step.prepared.ctx.clone());
        match state.plugins().create_user(&kind, &ctx, &step.user).await {
            Ok(remote) => {
                set_step(state, redemption_id, server_id, "created", Some(&remote.id)).await?;
                step.created = Some(remote);
            }
            Err(e) => {
                set_step(state, redemption_id, server_id, "failed", None).await?;
                let server_name = step.prepared.server.name.clone();
                tracing::warn!(redemption = redemption_id, server = %server_name, error = %e, "account creation failed; rolling back");
                failure = Some((
                    public_error(e, &server_name),
                    format!("{server_name}: creation failed"),
                ));
                break;
            }
        }
    }

    if let Some((error, reason)) = failure {
        *outcome = "rolled_back";
        compensate(state, redemption_id, inv.id, &steps).await;
        let target = Some(format!("invitation:{}", inv.id));
        crate::auth::audit_anonymous(
            state.db(),
            format!("invitee:{display_name}"),
            ip,
            "invitation.redeem",
            target,
            Outcome::Failure,
            Some(json!({ "reason": reason })),
        )
        .await?;
        return Err(error);
    }

    // All accounts exist: write the identity and the users.
    let expires_at = inv
        .access_duration_days
        .map(|d| db::time::fmt(chrono::Utc::now() + chrono::Duration::days(d)));
    let created: Vec<CreatedRow> = steps
        .iter()
        .filter_map(|s| {
            s.created.as_ref().map(|r| {
                (
                    s.prepared.server.id,
                    r.id.clone(),
                    r.username.clone(),
                    r.email.clone().or_else(|| email.clone()),
                    r.kind.clone(),
                )
            })
        })
        .collect();
    let (exp, name, mail, actor_ip) = (
        expires_at.clone(),
        display_name.clone(),
        email.clone(),
        ip.clone(),
    );
    let identity_id = state
        .db()
        .write(move |tx| {
            let now = db::time::now();
            tx.execute("INSERT INTO identities (display_name, email, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)", params![name, mail, now])?;
            let identity = tx.last_insert_rowid();
            for (server_id, external_id, username, user_email, kind) in &created {
                // An account imported by sync before (no invitation) is replaced by this one.
                tx.execute(
                    "DELETE FROM users WHERE server_id = ?1 AND external_id = ?2 AND invitation_id IS NULL",
                    params![server_id, external_id],
                )?;
                tx.execute(
                    "INSERT INTO users (identity_id, server_id, external_id, username, email, kind, enabled, expires_at, invitation_id, source, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, 'invitation', ?9, ?9)",
                    params![identity, server_id, external_id, username, user_email, kind, exp, inv_id, now],
                )?;
            }
            tx.execute(
                "UPDATE redemptions SET state = 'completed', identity_id = ?2, finished_at = ?3 WHERE id = ?1",
                params![redemption_id, identity, now],
            )?;
            for link in &link_ids {
                tx.execute("UPDATE join_links SET state = 'used', account = NULL WHERE id = ?1", [link])?;
            }
            db::audit::append(tx, &db::audit::NewEvent {
                actor: &format!("invitee:{name}"),
                ip: actor_ip.as_deref(),
                action: "invitation.redeem",
                target: Some(&format!("invitation:{inv_id}")),
                outcome: Outcome::Success,
                detail: Some(json!({ "identity": identity, "accounts": created.len() })),
            })?;
            Ok(identity)
        })
        .await?;
    Ok(Redeemed {
        identity_id,
        accounts: steps
            .iter()
            .filter_map(|s| {
                s.created.as_ref().map(|r| RedeemedAccount {
                    server: s.prepared.server.name.clone(),
                    kind: s.prepared.manifest.name.clone(),
                    username: r.username.clone(),
                })
            })
            .collect(),
        expires_at,
    })
}

/// What a public caller learns about a failed account creation: a stable code and a message
/// with no URL, plugin detail or remote text.
fn public_error(e: CallError, server_name: &str) -> Error {
    let internal: Error = e.into();
    match internal.code() {
        ErrorCode::UsernameTaken => Error::invalid(vec![FieldError::new(
            "username",
            format!("is already taken on {server_name}; choose another"),
        )])
        .retagged(ErrorCode::UsernameTaken),
        ErrorCode::RemoteInvalidInput => Error::new(
            ErrorCode::RemoteInvalidInput,
            format!("{server_name} refused this username or password; try another"),
        ),
        _ => Error::new(
            ErrorCode::ServerUnavailable,
            format!(
                "{server_name} could not create the account right now; nothing was created, try again later"
            ),
        ),
    }
}

async fn set_step(
    state: &AppState,
    redemption: i64,
    server: i64,
    step_state: &'static str,
    external_id: Option<&str>,
) -> Result<()> {
    let external_id = external_id.map(str::to_owned);
    state
        .db()
        .write(move |tx| {
            tx.execute(
                "UPDATE redemption_steps SET state = ?3, external_id = coalesce(?4, external_id) WHERE redemption_id = ?1 AND server_id = ?2",
                params![redemption, server, step_state, external_id],
            )?;
            Ok(())
        })
        .await
}

/// Undo the accounts created so far (newest first) and release the use. If a remote delete
/// fails, the journal stays `pending` so that [`recover`] retries at the next start.
async fn compensate(state: &AppState, redemption: i64, invitation: i64, steps: &[Step]) {
    let mut complete = true;
    for s in steps.iter().rev() {
        let Some(remote) = &s.created else { continue };
        let result = state
            .plugins()
            .delete_user(
                &s.prepared.server.kind,
                &s.prepared.ctx,
                &remote.id,
                DeleteOptions {
                    remove_account: false,
                },
            )
            .await;
        match result {
            Ok(()) => {
                let _ =
                    set_step(state, redemption, s.prepared.server.id, "compensated", None).await;
            }
            Err(e) => {
                complete = false;
                tracing::error!(redemption, server = %s.prepared.server.name, error = %e, "could not remove an account while rolling back; will retry at next start");
            }
        }
    }
    if complete {
        let r = state
            .db()
            .write(move |tx| {
                db::invitations::release_use(tx, invitation)?;
                tx.execute(
                    "UPDATE redemptions SET state = 'failed', finished_at = ?2 WHERE id = ?1",
                    params![redemption, db::time::now()],
                )?;
                Ok(())
            })
            .await;
        if let Err(e) = r {
            tracing::error!(redemption, error = %e, "could not record the rollback");
        }
    }
}

/// Compensate every redemption a crash left `pending`: remove the remote accounts it created
/// (finding by username those whose creation was not recorded), release the use, record it.
/// Only journals started before `started_before` are touched, so the periodic job leaves
/// redemptions in progress alone. Returns how many were repaired.
pub async fn recover(state: &AppState, started_before: String) -> Result<usize> {
    let pending = state
        .db()
        .run(move |c| {
            let mut stmt = c.prepare("SELECT id, invitation_id FROM redemptions WHERE state = 'pending' AND started_at < ?1 ORDER BY id")?;
            let rows = stmt.query_map([&started_before], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::new();
            for (id, inv) in rows {
                let mut stmt = c.prepare("SELECT server_id, kind, state, external_id, username FROM redemption_steps WHERE redemption_id = ?1")?;
                let steps = stmt
                    .query_map([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, String>(4)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                out.push((id, inv, steps));
            }
            Ok(out)
        })
        .await?;
    let mut repaired = 0;
    for (id, invitation, steps) in pending {
        let mut complete = true;
        for (server_id, kind, step_state, external_id, username) in steps {
            if step_state != "calling" && step_state != "created" {
                continue;
            }
            let server = state
                .db()
                .run(move |c| Ok(db::servers::get(c, server_id)?))
                .await?;
            let (Some(server), Some(manifest)) = (server, state.plugins().manifest(&kind)) else {
                tracing::warn!(
                    redemption = id,
                    server_id,
                    "cannot compensate: the server or its connector is gone; marking the step as abandoned"
                );
                continue;
            };
            let ctx = servers::context_of(&state.security().crypto, &manifest, &server)?;
            let remote_id = match external_id {
                Some(x) => Some(x),
                // The crash came between the remote call and recording its result.
                None => match state.plugins().list_users(&kind, &ctx).await {
                    Ok(users) => users
                        .into_iter()
                        .find(|u| u.username.eq_ignore_ascii_case(&username))
                        .map(|u| u.id),
                    Err(e) => {
                        tracing::warn!(redemption = id, error = %e, "cannot look up the account to compensate; will retry at next start");
                        complete = false;
                        continue;
                    }
                },
            };
            if let Some(remote_id) = remote_id {
                match state
                    .plugins()
                    .delete_user(
                        &kind,
                        &ctx,
                        &remote_id,
                        DeleteOptions {
                            remove_account: false,
                        },
                    )
                    .await
                {
                    Ok(())
                    | Err(CallError::Connector {
                        error: crate::plugins::ConnectorError::NotFound(_),
                        ..
                    }) => {
                        set_step(state, id, server_id, "compensated", None).await?;
                    }
                    Err(e) => {
                        tracing::warn!(redemption = id, error = %e, "compensation failed; will retry at next start");
                        complete = false;
                    }
                }
            } else {
                set_step(state, id, server_id, "compensated", None).await?;
            }
        }
        if complete {
            state
                .db()
                .write(move |tx| {
                    if let Some(inv) = invitation {
                        db::invitations::release_use(tx, inv)?;
                    }
                    tx.execute("UPDATE redemptions SET state = 'compensated', finished_at = ?2, error = 'interrupted; rolled back at start-up' WHERE id = ?1", params![id, db::time::now()])?;
                    db::audit::append(tx, &db::audit::NewEvent {
                        actor: "system",
                        ip: None,
                        action: "redemption.recover",
                        target: Some(&format!("redemption:{id}")),
                        outcome: Outcome::Success,
                        detail: invitation.map(|i| json!({ "invitation": i })),
                    })?;
                    Ok(())
                })
                .await?;
            repaired += 1;
            tracing::warn!(
                redemption = id,
                "rolled back a redemption interrupted by a crash"
            );
        }
    }
    Ok(repaired)
}

/// The linked account of a join link of this invitation, if it is linked and unused.
async fn linked_account(state: &AppState, invitation: i64, link: i64) -> Result<StoredAccount> {
    let row: Option<(String, Option<Vec<u8>>)> = state
        .db()
        .run(move |c| {
            Ok(c.query_row(
                "SELECT state, account FROM join_links WHERE id = ?1 AND invitation_id = ?2 AND expires_at > ?3",
                params![link, invitation, db::time::now()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })
        .await?;
    let not_linked = || {
        Error::new(
            ErrorCode::LinkRequired,
            "the account link is missing, expired or not approved yet; sign in again",
        )
    };
    match row {
        Some((s, Some(sealed))) if s == "linked" => {
            let plain = state
                .security()
                .crypto
                .open(
                    Purpose::LinkedAccount,
                    &format!("join-link:{link}"),
                    &sealed,
                )
                .map_err(|_| not_linked())?;
            serde_json::from_slice(&plain).map_err(|_| not_linked())
        }
        _ => Err(not_linked()),
    }
}

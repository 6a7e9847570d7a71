//! The redemption journal and what the saga and recovery share: the steps, the proof of who made
//! an account, undoing exactly what a redemption made, and the compare-and-set state changes that
//! end a redemption once.

use crate::crypto::MacPurpose;
use crate::db::Cached;
use crate::db::{self, audit::Outcome};
use crate::error::Result;
use crate::plugins::{
    CallError, Capability, ConnectorError, DeleteOptions, JoinFlow, Manifest, NewUser, RemoteUser,
    SecretString, ServerContext,
};
use crate::state::AppState;
use rusqlite::params;
use serde_json::json;

/// Where a step stands (the `redemption_steps.state` column; see the migration 0008 comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StepState {
    Pending,
    Calling,
    Created,
    Adopted,
    Unknown,
    Failed,
    Compensated,
    Kept,
    Reported,
}

impl StepState {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Calling => "calling",
            StepState::Created => "created",
            StepState::Adopted => "adopted",
            StepState::Unknown => "unknown",
            StepState::Failed => "failed",
            StepState::Compensated => "compensated",
            StepState::Kept => "kept",
            StepState::Reported => "reported",
        }
    }

    pub(super) fn parse(s: &str) -> StepState {
        match s {
            "calling" => StepState::Calling,
            "created" => StepState::Created,
            "adopted" => StepState::Adopted,
            "unknown" => StepState::Unknown,
            "failed" => StepState::Failed,
            "compensated" => StepState::Compensated,
            "kept" => StepState::Kept,
            "reported" => StepState::Reported,
            _ => StepState::Pending,
        }
    }
}

/// The connector and credentials of a step's server, when both are still there.
pub(super) struct Target {
    pub manifest: Manifest,
    pub ctx: ServerContext,
}

/// One target server of a redemption.
pub(super) struct Step {
    pub server_id: i64,
    pub server_name: String,
    pub kind: String,
    /// `None` when the server was deleted or its connector is not loaded.
    pub target: Option<Target>,
    /// The account to create (in recovery: only what `find-user` needs).
    pub user: NewUser,
    pub state: StepState,
    pub external_id: Option<String>,
    pub remote: Option<RemoteUser>,
    /// The proof: `Some(true)` when `find-user` found no account right before `create-user`,
    /// `Some(false)` when it found `pre_existing_id`, `None` when no check was made.
    pub name_free: Option<bool>,
    pub pre_existing_id: Option<String>,
    /// The other proof (see [`uses_verifier`]): the account was created with this redemption's
    /// one-time password, so an account that signs in with it is this redemption's.
    pub verifier: bool,
}

impl Step {
    /// The name the account is known by, for the audit log.
    pub(super) fn username(&self) -> &str {
        self.remote
            .as_ref()
            .map_or(self.user.username.as_str(), |r| r.username.as_str())
    }
}

/// Writes a step's journal fields.
pub(super) async fn record(state: &AppState, redemption: i64, step: &Step) -> Result<()> {
    let (server, st, external, free, pre, remote_name, verifier) = (
        step.server_id,
        step.state.as_str(),
        step.external_id.clone(),
        step.name_free,
        step.pre_existing_id.clone(),
        step.remote.as_ref().map(|r| r.username.clone()),
        step.verifier,
    );
    state
        .db()
        .write(move |tx| {
            tx.exec(
                "UPDATE redemption_steps SET state = ?3, external_id = ?4, name_free = ?5, pre_existing_id = ?6,
                 remote_username = coalesce(?7, remote_username), verifier = ?8
                 WHERE redemption_id = ?1 AND server_id = ?2",
                params![redemption, server, st, external, free, pre, remote_name, verifier],
            )?;
            Ok(())
        })
        .await
}

/// Whether an error of `create-user` says that nothing was made. A connector answers these only
/// before it created anything (or after it removed what it made); every other failure (a
/// timeout, a trap, a lost answer, a server error) leaves the outcome unknown.
pub(super) fn nothing_made(error: &CallError) -> bool {
    match error {
        CallError::Connector { error, .. } => matches!(
            error,
            ConnectorError::Unauthorized
                | ConnectorError::Forbidden(_)
                | ConnectorError::NotFound(_)
                | ConnectorError::UsernameTaken
                | ConnectorError::InvalidInput(_)
                | ConnectorError::RateLimited(_)
                | ConnectorError::Unsupported(_)
                | ConnectorError::Denied(_)
        ),
        // Refused before the plugin ran.
        CallError::NotFound(_)
        | CallError::Unhealthy(_)
        | CallError::Busy(_)
        | CallError::NotExported { .. }
        | CallError::ShuttingDown => true,
        CallError::Timeout { .. } | CallError::Crashed { .. } | CallError::Internal(_) => false,
    }
}

/// What `find-user` says about a step whose outcome is not known.
pub(super) enum Resolution {
    /// An account exists and the journal proves this redemption made it.
    Ours(RemoteUser),
    /// An account exists that existed before the call (adopted).
    Theirs(RemoteUser),
    /// No account: nothing was made.
    Nothing,
    /// An account may exist, but nothing proves who made it.
    Unprovable(Option<RemoteUser>, &'static str),
    /// Cannot tell now (server down, connector missing); try again later.
    NotNow(String),
}

/// The bundled connectors whose `create-user` is known (and tested) to refuse a taken name with
/// `username-taken` on its own, because their server enforces unique names at creation. Kavita is
/// not one: its invitation is confirmed in a second request whose refusal of a taken name is not
/// told apart, so it keeps the name check. A connector not listed (third-party ones included)
/// keeps the name check too.
const UNIQUE_AT_CREATE: &[&str] = &["jellyfin", "emby", "navidrome", "komga", "audiobookshelf"];

/// Whether a step proves its account's origin with a one-time password instead of a name check
/// before the call: a credential account (not a linked one) on a connector of
/// [`UNIQUE_AT_CREATE`] that can sign in and set a password. The name check needs the server's
/// whole user list (Jellyfin, Komga, Navidrome and Audiobookshelf have no query by name), so it is
/// not made; the server's own refusal of a taken name is what keeps names unique.
pub(super) fn uses_verifier(manifest: &Manifest) -> bool {
    UNIQUE_AT_CREATE.contains(&manifest.id.as_str())
        && manifest.join_flow != JoinFlow::OauthLink
        && manifest.supports(Capability::Authenticate)
        && manifest.supports(Capability::SetPassword)
}

/// The one-time password of `redemption`'s account on `server_id`: derived from the daemon's
/// key, so nothing secret is stored and nobody without the key can know it. Letters of both
/// cases, digits and a dash, 36 characters: within every bundled server's password rules.
pub(super) fn verifier_password(state: &AppState, redemption: i64, server_id: i64) -> SecretString {
    let tag = state.security().crypto.mac(
        MacPurpose::RedemptionVerifier,
        format!("{redemption}:{server_id}").as_bytes(),
    );
    SecretString::new(format!("Zv9-{}", hex::encode(&tag[..16])))
}

/// Resolves a step made with the one-time password. An id in the journal came from this
/// redemption's own `create-user` answer: that account is ours. Otherwise an account that signs
/// in with the one-time password is ours, and a refused sign-in means the call made none with
/// that password (the server refuses a taken name, so the account of that name, if any, is
/// someone else's and is not touched). One case is left: a connector that creates the account
/// and sets its password in two requests (Emby's; Jellyfin does both inside one request) and
/// stopped between them leaves an account without a password, so an account of that name that
/// signs in with an empty password is reported (never deleted: it may be someone else's).
async fn resolve_by_verifier(
    state: &AppState,
    redemption: i64,
    step: &Step,
    target: &Target,
) -> Resolution {
    if let Some(id) = &step.external_id {
        return Resolution::Ours(RemoteUser {
            id: id.clone(),
            username: step.username().to_owned(),
            email: None,
            kind: None,
            disabled: false,
            admin: false,
            last_activity: None,
        });
    }
    let mut logins = vec![step.user.username.clone()];
    // Servers that sign in with the e-mail address (Komga).
    if let Some(email) = step
        .user
        .email
        .as_ref()
        .filter(|e| **e != step.user.username)
    {
        logins.push(email.clone());
    }
    let verifier = verifier_password(state, redemption, step.server_id);
    let empty = SecretString::new(String::new());
    for (password, ours) in [(&verifier, true), (&empty, false)] {
        for login in &logins {
            match state
                .plugins()
                .authenticate(&step.kind, &target.ctx, login, password)
                .await
            {
                Ok(signed_in) => {
                    let found = RemoteUser {
                        id: signed_in.user_id,
                        username: signed_in.username,
                        email: None,
                        kind: None,
                        disabled: false,
                        admin: signed_in.admin,
                        last_activity: None,
                    };
                    return if ours {
                        Resolution::Ours(found)
                    } else {
                        Resolution::Unprovable(
                            Some(found),
                            "an account without a password has this name; nothing proves that this redemption made it",
                        )
                    };
                }
                Err(CallError::Connector {
                    error: ConnectorError::Unauthorized,
                    ..
                }) => {}
                Err(e) => return Resolution::NotNow(e.to_string()),
            }
        }
    }
    Resolution::Nothing
}

/// Looks for the account a step may have made and judges it by the journal's proof.
pub(super) async fn resolve(state: &AppState, redemption: i64, step: &Step) -> Resolution {
    let Some(target) = &step.target else {
        return Resolution::NotNow("the server or its connector is gone".into());
    };
    if step.verifier {
        return resolve_by_verifier(state, redemption, step, target).await;
    }
    if !target.manifest.supports(Capability::FindUser) {
        return Resolution::Unprovable(None, "the connector cannot look accounts up");
    }
    match state
        .plugins()
        .find_user(&step.kind, &target.ctx, &lookup(&step.user))
        .await
    {
        Ok(Some(found)) => {
            if step.pre_existing_id.as_deref() == Some(found.id.as_str()) {
                Resolution::Theirs(found)
            } else if step.name_free == Some(true) {
                Resolution::Ours(found)
            } else {
                Resolution::Unprovable(
                    Some(found),
                    "no check before the call proves that this redemption made it",
                )
            }
        }
        Ok(None) => Resolution::Nothing,
        Err(e) => Resolution::NotNow(e.to_string()),
    }
}

/// The input of `find-user`: the account to create, without its password.
pub(super) fn lookup(user: &NewUser) -> NewUser {
    NewUser {
        username: user.username.clone(),
        password: None,
        email: user.email.clone(),
        linked_account: user.linked_account.clone(),
        libraries: user.libraries.clone(),
        permissions: user.permissions.clone(),
    }
}

/// Undoes what a redemption made, newest first: accounts it created are deleted by remote id,
/// adopted ones are kept, steps whose outcome is unknown are resolved first, and an account whose
/// origin cannot be proven is reported and left alone. Every deletion and report is audited.
/// Returns whether everything is settled (otherwise recovery tries again later) and how many
/// accounts were reported.
pub(super) async fn undo(state: &AppState, redemption: i64, steps: &mut [Step]) -> (bool, usize) {
    let mut settled = true;
    let mut reported = 0;
    for step in steps.iter_mut().rev() {
        let before = step.state;
        match step.state {
            StepState::Adopted => step.state = StepState::Kept,
            StepState::Created => {
                if !delete(state, redemption, step).await {
                    settled = false;
                }
            }
            StepState::Calling | StepState::Unknown => match resolve(state, redemption, step).await
            {
                Resolution::Ours(found) => {
                    step.external_id = Some(found.id.clone());
                    step.remote = Some(found);
                    step.state = StepState::Created;
                    if !delete(state, redemption, step).await {
                        settled = false;
                    }
                }
                Resolution::Theirs(found) => {
                    step.external_id = Some(found.id.clone());
                    step.state = StepState::Kept;
                }
                Resolution::Nothing => step.state = StepState::Failed,
                Resolution::Unprovable(found, why) => {
                    step.external_id = found.as_ref().map(|f| f.id.clone());
                    step.remote = found;
                    step.state = StepState::Reported;
                    reported += 1;
                    report(state, redemption, step, why).await;
                }
                Resolution::NotNow(why) => {
                    tracing::warn!(redemption, server = %step.server_name, reason = %why, "cannot tell yet whether an account was made; will retry");
                    settled = false;
                }
            },
            StepState::Pending
            | StepState::Failed
            | StepState::Compensated
            | StepState::Kept
            | StepState::Reported => {}
        }
        if step.state != before
            && let Err(e) = record(state, redemption, step).await
        {
            tracing::error!(redemption, error = %e, "could not record a compensation step");
            settled = false;
        }
    }
    (settled, reported)
}

/// Deletes the account a step created (by its remote id). An account already gone counts as
/// deleted. Audited either way.
async fn delete(state: &AppState, redemption: i64, step: &mut Step) -> bool {
    let (Some(target), Some(remote_id)) = (&step.target, step.external_id.clone()) else {
        tracing::warn!(redemption, server = %step.server_name, "cannot remove the account yet: the server or its connector is gone");
        return false;
    };
    let result = state
        .plugins()
        .remove_user(
            &step.kind,
            &target.ctx,
            &remote_id,
            DeleteOptions {
                remove_account: false,
            },
        )
        .await;
    let ok = match &result {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(redemption, server = %step.server_name, error = %e, "could not remove an account made by a failed redemption; will retry");
            false
        }
    };
    let detail = json!({
        "redemption": redemption,
        "server_id": step.server_id,
        "server": step.server_name,
        "remote_id": remote_id,
        "username": step.username(),
        "error": result.as_ref().err().map(ToString::to_string),
    });
    audit(
        state,
        "redemption.account_removed",
        if ok {
            Outcome::Success
        } else {
            Outcome::Failure
        },
        detail,
    )
    .await;
    if ok {
        step.state = StepState::Compensated;
    }
    ok
}

/// Tells the admin about an account whose origin cannot be proven.
async fn report(state: &AppState, redemption: i64, step: &Step, why: &str) {
    tracing::warn!(redemption, server = %step.server_name, username = %step.username(), reason = why, "an account may have been made by a failed redemption; it is left alone and reported");
    let detail = json!({
        "redemption": redemption,
        "server_id": step.server_id,
        "server": step.server_name,
        "remote_id": step.external_id,
        "username": step.username(),
        "reason": why,
    });
    audit(state, "redemption.unresolved", Outcome::Failure, detail).await;
}

async fn audit(
    state: &AppState,
    action: &'static str,
    outcome: Outcome,
    detail: serde_json::Value,
) {
    let redemption = detail["redemption"].as_i64().unwrap_or_default();
    let result = state
        .db()
        .write(move |tx| {
            db::audit::append(
                tx,
                &db::audit::NewEvent {
                    actor: "system",
                    ip: None,
                    action,
                    target: Some(&format!("redemption:{redemption}")),
                    outcome,
                    detail: Some(detail),
                },
            )?;
            Ok(())
        })
        .await;
    if let Err(e) = result {
        tracing::error!(redemption, error = %e, "could not write an audit event");
    }
}

/// Ends a pending redemption that did not complete, once: the state change is a compare-and-set
/// from `pending`, and only the call that makes it releases the use and frees the links. Returns
/// whether this call ended it.
pub(super) async fn end_failed(
    state: &AppState,
    redemption: i64,
    end_state: &'static str,
    code: &'static str,
    message: String,
) -> Result<bool> {
    state
        .db()
        .write(move |tx| {
            let changed = tx.exec(
                "UPDATE redemptions SET state = ?2, finished_at = ?3, error_code = coalesce(error_code, ?4), error = coalesce(error, ?5)
                 WHERE id = ?1 AND state = 'pending'",
                params![redemption, end_state, db::time::now(), code, message],
            )?;
            if changed == 0 {
                return Ok(false);
            }
            let invitation: Option<i64> = tx.row(
                "SELECT invitation_id FROM redemptions WHERE id = ?1",
                [redemption],
                |r| r.get(0),
            )?;
            if let Some(invitation) = invitation {
                db::invitations::release_use(tx, invitation)?;
            }
            // Links this redemption reserved can be used again.
            tx.exec(
                "UPDATE join_links SET state = 'linked' WHERE state = 'reserved' AND id IN
                 (SELECT value FROM json_each((SELECT coalesce(links, '[]') FROM redemptions WHERE id = ?1)))",
                [redemption],
            )?;
            Ok(true)
        })
        .await
}

/// Records the public error of a redemption that is not ended yet (its undo must be retried), so
/// the invitee is told what happened.
pub(super) async fn note_error(
    state: &AppState,
    redemption: i64,
    code: &'static str,
    message: String,
) -> Result<()> {
    state
        .db()
        .write(move |tx| {
            tx.exec(
                "UPDATE redemptions SET error_code = ?2, error = ?3 WHERE id = ?1 AND state = 'pending'",
                params![redemption, code, message],
            )?;
            Ok(())
        })
        .await
}

/// Ends a redemption whose every account exists: the identity and one user per account, the links
/// used, the audit event; a compare-and-set from `pending`. Returns whether this call ended it.
pub(super) async fn complete(
    state: &AppState,
    redemption: i64,
    steps: &[Step],
    actor_ip: Option<String>,
) -> Result<bool> {
    struct Account {
        server_id: i64,
        external_id: String,
        username: String,
        email: Option<String>,
        kind: Option<String>,
    }
    let accounts: Vec<Account> = steps
        .iter()
        .filter_map(|s| {
            let remote = s.remote.as_ref()?;
            Some(Account {
                server_id: s.server_id,
                external_id: remote.id.clone(),
                username: remote.username.clone(),
                email: remote.email.clone().or_else(|| s.user.email.clone()),
                kind: remote.kind.clone(),
            })
        })
        .collect();
    if accounts.len() != steps.len() {
        return Ok(false);
    }
    state
        .db()
        .write(move |tx| {
            let now = db::time::now();
            let (invitation, name, mail): (Option<i64>, String, Option<String>) = tx.row(
                "SELECT invitation_id, username, email FROM redemptions WHERE id = ?1 AND state = 'pending'",
                [redemption],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            ).map_err(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => crate::error::Error::new(crate::error::ErrorCode::Conflict, "the redemption already ended"),
                e => e.into(),
            })?;
            let days: Option<i64> = match invitation {
                Some(inv) => tx.row("SELECT access_duration_days FROM invitations WHERE id = ?1", [inv], |r| r.get(0)).unwrap_or(None),
                None => None,
            };
            let expires = days.map(|d| db::time::fmt(chrono::Utc::now() + chrono::Duration::days(d)));
            tx.exec("INSERT INTO identities (display_name, email, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)", params![name, mail, now])?;
            let identity = tx.last_insert_rowid();
            for a in &accounts {
                // An account imported by sync before (no invitation) is replaced by this one.
                tx.exec(
                    "DELETE FROM users WHERE server_id = ?1 AND external_id = ?2 AND source = 'sync'",
                    params![a.server_id, a.external_id],
                )?;
                tx.exec(
                    "INSERT INTO users (identity_id, server_id, external_id, username, email, kind, enabled, expires_at, invitation_id, source, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, 'invitation', ?9, ?9)",
                    params![identity, a.server_id, a.external_id, a.username, a.email, a.kind, expires, invitation, now],
                )?;
            }
            tx.exec(
                "UPDATE redemptions SET state = 'completed', identity_id = ?2, finished_at = ?3 WHERE id = ?1",
                params![redemption, identity, now],
            )?;
            tx.exec(
                "UPDATE join_links SET state = 'used', account = NULL WHERE id IN
                 (SELECT value FROM json_each((SELECT coalesce(links, '[]') FROM redemptions WHERE id = ?1)))",
                [redemption],
            )?;
            db::audit::append(tx, &db::audit::NewEvent {
                actor: &format!("invitee:{name}"),
                ip: actor_ip.as_deref(),
                action: "invitation.redeem",
                target: invitation.map(|i| format!("invitation:{i}")).as_deref(),
                outcome: Outcome::Success,
                detail: Some(json!({ "identity": identity, "accounts": accounts.len(), "redemption": redemption })),
            })?;
            Ok(true)
        })
        .await
}

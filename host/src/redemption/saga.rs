//! The saga of one redemption: checks, the reservation, then the accounts, server by server, in a
//! task the daemon owns (see [`Sagas`]).
//!
//! Per server, for a credential account on a connector whose server refuses taken names itself
//! ([`journal::uses_verifier`]): the proof (`verifier`) is journaled with the state `calling`,
//! `create-user` runs with the redemption's one-time password, its id is journaled, and the
//! invitee's password is set by that id; no name check (it would read the server's whole user
//! list). Otherwise: `find-user` looks for the account first (a taken name fails here, before
//! anything is made; an existing share to adopt is noted), the proof is journaled with the state
//! `calling`, then `create-user` runs and its answer (`created` or `adopted`, with the remote id)
//! is journaled. A failure whose outcome is unknown leaves the step `unknown`; the undo resolves
//! it.

use super::journal::{self, Step, StepState, Target};
use super::{
    RedeemRequest, StoredAccount, invite_invalid, linked_account, prepare, public_error,
    target_rows,
};
use crate::db::Cached;
use crate::db::{self, invitations::Status};
use crate::error::{Error, ErrorCode, FieldError, Result};
use crate::input;
use crate::plugins::{AccountOrigin, Capability, JoinFlow, LinkedAccount, NewUser, SecretString};
use crate::state::AppState;
use rusqlite::{OptionalExtension, params};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

/// The redemptions running in this daemon. Each is a task of the daemon, so a client that goes
/// away or a request that times out never stops one between two steps; shutdown waits for them
/// (within the grace period) so the journal is left consistent.
#[derive(Default)]
pub struct Sagas {
    tracker: TaskTracker,
    running: Mutex<HashMap<i64, watch::Receiver<bool>>>,
}

impl std::fmt::Debug for Sagas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sagas")
            .field("running", &self.tracker.len())
            .finish()
    }
}

impl Sagas {
    /// Whether redemption `id` is running in this process.
    pub fn is_running(&self, id: i64) -> bool {
        self.lock().contains_key(&id)
    }

    /// A receiver that turns `true` when redemption `id` ends, if it is running.
    pub fn watch(&self, id: i64) -> Option<watch::Receiver<bool>> {
        self.lock().get(&id).cloned()
    }

    /// How many are running.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops taking new redemptions and waits up to `grace` for the running ones. Returns how
    /// many were still running when the grace period ended (recovery settles those at the next
    /// start).
    pub async fn shutdown(&self, grace: Duration) -> usize {
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_err()
        {
            return self.len();
        }
        0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, watch::Receiver<bool>>> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn spawn<F>(&self, state: AppState, id: i64, run: F) -> Option<watch::Receiver<bool>>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        if self.tracker.is_closed() {
            return None;
        }
        let (tx, rx) = watch::channel(false);
        self.lock().insert(id, rx.clone());
        let done = Done { state, id, tx };
        self.tracker.spawn(async move {
            run.await;
            drop(done);
        });
        Some(rx)
    }
}

/// Marks a saga finished when its task ends, even by a panic (so recovery is not kept away from
/// it forever).
struct Done {
    state: AppState,
    id: i64,
    tx: watch::Sender<bool>,
}

impl Drop for Done {
    fn drop(&mut self) {
        self.state.sagas().lock().remove(&self.id);
        let _ = self.tx.send(true);
    }
}

/// What [`start`] did.
pub(super) enum Started {
    /// A new redemption runs.
    New {
        id: i64,
        handle: String,
        done: watch::Receiver<bool>,
    },
    /// The attempt key names a redemption made before.
    Existing { id: i64, handle: String },
}

/// An attempt key: 16 to 64 of `[A-Za-z0-9_-]`.
fn check_attempt(key: &str) -> std::result::Result<(), &'static str> {
    if (16..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err("must be 16 to 64 letters, digits, - or _")
    }
}

async fn existing(state: &AppState, invitation: i64, key: &str) -> Result<Option<(i64, String)>> {
    let key = key.to_owned();
    state
        .db()
        .run(move |c| {
            Ok(c.row(
                "SELECT id, handle FROM redemptions WHERE invitation_id = ?1 AND attempt_key = ?2",
                params![invitation, key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })
        .await
}

/// Checks the request, reserves a use, writes the journal and starts the saga.
pub(super) async fn start(
    state: &AppState,
    code: &str,
    req: RedeemRequest,
    ip: Option<String>,
) -> Result<Started> {
    let mut fields = Vec::new();
    if let Some(key) = req.attempt.as_deref()
        && let Err(rule) = check_attempt(key)
    {
        fields.push(FieldError::new("attempt", rule));
    }
    if code.len() > 64 {
        return Err(invite_invalid());
    }
    let code_owned = code.to_owned();
    // The invitation and its targets' rows in one trip (each trip to the blocking pool is two
    // thread wake-ups on the join's path).
    let (inv, rows) = state
        .db()
        .select(move |c| {
            let Some(inv) = db::invitations::by_code(c, &code_owned)? else {
                return Ok(None);
            };
            let rows = target_rows(c, &inv)?;
            Ok(Some((inv, rows)))
        })
        .await?
        .ok_or_else(invite_invalid)?;
    // A repeated attempt joins the one made before, even if that one used up the invitation.
    if fields.is_empty()
        && let Some(key) = req.attempt.as_deref()
        && let Some((id, handle)) = existing(state, inv.id, key).await?
    {
        return Ok(Started::Existing { id, handle });
    }
    if inv.status(&db::time::now()) != Status::Active || inv.targets.is_empty() {
        return Err(invite_invalid());
    }
    crate::wizard::require_pre_join(state, &inv, req.wizard_token.as_deref()).await?;
    let prepared = prepare(state, rows)?;

    // The invitee's input, normalised, before anything is reserved.
    let needs_credentials = prepared
        .iter()
        .any(|p| p.manifest.join_flow == JoinFlow::Credentials);
    let email = match req.email.as_deref().map(input::email).transpose() {
        Ok(email) => email.flatten(),
        Err(rule) => {
            fields.push(FieldError::new("email", rule));
            None
        }
    };
    let username = match req.username.as_deref() {
        None if needs_credentials => {
            fields.push(FieldError::new("username", "is required"));
            None
        }
        None => None,
        Some(u) => match input::username(u) {
            Ok(u) => Some(u),
            Err(rule) => {
                fields.push(FieldError::new("username", rule));
                None
            }
        },
    };
    if needs_credentials {
        match req.password.as_deref() {
            Some(p) => {
                if let Err(rule) = input::password(p) {
                    fields.push(FieldError::new("password", rule));
                }
            }
            None => fields.push(FieldError::new("password", "is required")),
        }
    } else if req.password.as_deref().is_some_and(|p| p.len() > 1024) {
        fields.push(FieldError::new("password", "is too long"));
    }
    if req.links.len() > 16 {
        fields.push(FieldError::new("links", "has too many entries"));
    }
    if req.wizard_token.as_deref().is_some_and(|t| t.len() > 1024) {
        fields.push(FieldError::new("wizard_token", "is too long"));
    }
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }

    let mut steps = Vec::new();
    let mut links = Vec::new();
    for p in prepared {
        let user = match p.manifest.join_flow {
            JoinFlow::Credentials => NewUser {
                username: username.clone().unwrap_or_default(),
                password: req.password.clone().map(SecretString::new),
                email: email.clone(),
                linked_account: None,
                libraries: p.libraries.clone(),
                permissions: p.permissions.clone(),
            },
            JoinFlow::OauthLink => {
                let handle = req.links.get(&p.manifest.id).ok_or_else(|| {
                    Error::new(
                        ErrorCode::LinkRequired,
                        format!("sign in with {} first", p.manifest.name),
                    )
                })?;
                let (link, account) = linked_account(state, inv.id, handle).await?;
                already_member(state, p.server.id, &p.server.name, &account).await?;
                links.push(link);
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
            server_id: p.server.id,
            server_name: p.server.name.clone(),
            kind: p.server.kind.clone(),
            target: Some(Target {
                manifest: p.manifest,
                ctx: p.ctx,
            }),
            user,
            state: StepState::Pending,
            external_id: None,
            remote: None,
            name_free: None,
            pre_existing_id: None,
            verifier: false,
        });
    }
    let display_name = username
        .or_else(|| {
            steps
                .iter()
                .find_map(|s| s.user.linked_account.as_ref().map(|a| a.username.clone()))
        })
        .unwrap_or_else(|| "invitee".into());

    // Reserve a use and journal the redemption before any remote call.
    let journal: Vec<(i64, String, String, Option<String>)> = steps
        .iter()
        .map(|s| {
            (
                s.server_id,
                s.kind.clone(),
                s.user.username.clone(),
                s.user.linked_account.as_ref().map(|a| a.id.clone()),
            )
        })
        .collect();
    let handle = crate::crypto::random_token(18);
    let (inv_id, name, mail, key, h) = (
        inv.id,
        display_name,
        email,
        req.attempt.clone(),
        handle.clone(),
    );
    let links_json = serde_json::to_string(&links).unwrap_or_else(|_| "[]".into());
    let reserved = state
        .db()
        .write(move |tx| {
            if let Some(key) = &key {
                let found: Option<(i64, String)> = tx
                    .row(
                        "SELECT id, handle FROM redemptions WHERE invitation_id = ?1 AND attempt_key = ?2",
                        params![inv_id, key],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                if let Some(found) = found {
                    return Ok(Err(found));
                }
            }
            if !db::invitations::reserve_use(tx, inv_id)? {
                return Err(invite_invalid());
            }
            for link in &links {
                let taken = tx.exec(
                    "UPDATE join_links SET state = 'reserved' WHERE id = ?1 AND state = 'linked'",
                    [link],
                )?;
                if taken != 1 {
                    return Err(Error::new(
                        ErrorCode::LinkRequired,
                        "this account link is already being used; sign in again",
                    ));
                }
            }
            tx.exec(
                "INSERT INTO redemptions (invitation_id, state, handle, attempt_key, links, username, email, started_at)
                 VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?7)",
                params![inv_id, h, key, links_json, name, mail, db::time::now()],
            )?;
            let id = tx.last_insert_rowid();
            for (server_id, kind, username, linked) in &journal {
                tx.exec(
                    "INSERT INTO redemption_steps (redemption_id, server_id, kind, state, username, linked_id) VALUES (?1, ?2, ?3, 'pending', ?4, ?5)",
                    params![id, server_id, kind, username, linked],
                )?;
            }
            Ok(Ok(id))
        })
        .await?;
    let id = match reserved {
        Ok(id) => id,
        Err((id, handle)) => return Ok(Started::Existing { id, handle }),
    };

    let task_state = state.clone();
    let Some(done) = state.sagas().spawn(state.clone(), id, async move {
        run(&task_state, id, steps, ip).await;
    }) else {
        // Shutting down: nothing was called; give the use back.
        journal::end_failed(
            state,
            id,
            "failed",
            ErrorCode::Unavailable.as_str(),
            "the daemon is shutting down; try again in a moment".into(),
        )
        .await?;
        return Err(
            Error::new(ErrorCode::Unavailable, "the daemon is shutting down").with_retry_after(5),
        );
    };
    Ok(Started::New { id, handle, done })
}

/// Refuses a linked account that Zondarr already tracks on this server (created by an invitation
/// or by an admin): redeeming again would adopt it and then fail on the existing record.
async fn already_member(
    state: &AppState,
    server_id: i64,
    server_name: &str,
    account: &StoredAccount,
) -> Result<()> {
    let id = account.id.clone();
    let known: bool = state
        .db()
        .run(move |c| {
            Ok(c.row(
                "SELECT EXISTS (SELECT 1 FROM users WHERE server_id = ?1 AND external_id = ?2 AND source <> 'sync')",
                params![server_id, id],
                |r| r.get(0),
            )?)
        })
        .await?;
    if known {
        return Err(Error::new(
            ErrorCode::AlreadyMember,
            format!("this account already has access to {server_name}; nothing was changed"),
        ));
    }
    Ok(())
}

/// Runs the saga to a recorded end.
async fn run(state: &AppState, id: i64, mut steps: Vec<Step>, ip: Option<String>) {
    let outcome = match create_all(state, id, &mut steps).await {
        Ok(None) => match journal::complete(state, id, &steps, ip).await {
            Ok(true) => "completed",
            Ok(false) => "failed",
            Err(e) => {
                tracing::error!(redemption = id, error = %e, "could not record a completed redemption; rolling back");
                fail(
                    state,
                    id,
                    &mut steps,
                    ErrorCode::Internal.as_str(),
                    "the accounts could not be recorded; nothing was kept, try again".into(),
                )
                .await
            }
        },
        Ok(Some((code, message))) => fail(state, id, &mut steps, code, message).await,
        Err(e) => {
            tracing::error!(redemption = id, error = %e, "the redemption journal could not be written; rolling back");
            fail(
                state,
                id,
                &mut steps,
                ErrorCode::Internal.as_str(),
                "something went wrong; nothing was kept, try again".into(),
            )
            .await
        }
    };
    state.metrics().redemption(outcome);
}

/// Undo and end a failed redemption; the metric outcome.
async fn fail(
    state: &AppState,
    id: i64,
    steps: &mut [Step],
    code: &'static str,
    message: String,
) -> &'static str {
    if let Err(e) = journal::note_error(state, id, code, message.clone()).await {
        tracing::error!(redemption = id, error = %e, "could not record the redemption's error");
    }
    let (settled, reported) = journal::undo(state, id, steps).await;
    if !settled {
        tracing::warn!(
            redemption = id,
            "the rollback is not finished; recovery settles it"
        );
        return "unresolved";
    }
    let end = if reported > 0 { "unresolved" } else { "failed" };
    match journal::end_failed(state, id, end, code, message).await {
        Ok(_) => "rolled_back",
        Err(e) => {
            tracing::error!(redemption = id, error = %e, "could not record the rollback");
            "failed"
        }
    }
}

/// Creates every account. `Ok(None)` when all exist; `Ok(Some((code, message)))` for the
/// invitee when one could not be made (the steps say what was made).
async fn create_all(
    state: &AppState,
    id: i64,
    steps: &mut [Step],
) -> Result<Option<(&'static str, String)>> {
    for step in steps.iter_mut() {
        let Some(target) = &step.target else {
            return Ok(Some((
                ErrorCode::ServerUnavailable.as_str(),
                "a server of this invitation is not available right now; try again later".into(),
            )));
        };
        let (kind, ctx) = (step.kind.clone(), target.ctx.clone());
        let oauth = target.manifest.join_flow == JoinFlow::OauthLink;
        if journal::uses_verifier(&target.manifest) && step.user.password.is_some() {
            if let Some(failed) = create_with_verifier(state, id, step).await? {
                return Ok(Some(failed));
            }
            continue;
        }
        if target.manifest.supports(Capability::FindUser) {
            match state
                .plugins()
                .find_user(&kind, &ctx, &journal::lookup(&step.user))
                .await
            {
                Ok(None) => step.name_free = Some(true),
                Ok(Some(found)) if oauth => {
                    step.name_free = Some(false);
                    step.pre_existing_id = Some(found.id);
                }
                Ok(Some(_)) => {
                    step.state = StepState::Failed;
                    journal::record(state, id, step).await?;
                    return Ok(Some((
                        ErrorCode::UsernameTaken.as_str(),
                        format!("is already taken on {}; choose another", step.server_name),
                    )));
                }
                Err(e) => {
                    tracing::warn!(redemption = id, server = %step.server_name, error = %e, "could not check the account before creating it");
                    step.state = StepState::Failed;
                    journal::record(state, id, step).await?;
                    let (code, message) = public_error(e, &step.server_name);
                    return Ok(Some((code.as_str(), message)));
                }
            }
        }
        step.state = StepState::Calling;
        journal::record(state, id, step).await?;
        match state.plugins().create_user(&kind, &ctx, &step.user).await {
            Ok(made) => {
                // A connector that says "created" for the account that existed before the call
                // is overruled: that account is never deleted.
                let adopted = made.origin == AccountOrigin::Adopted
                    || step.pre_existing_id.as_deref() == Some(made.user.id.as_str());
                step.state = if adopted {
                    StepState::Adopted
                } else {
                    StepState::Created
                };
                step.external_id = Some(made.user.id.clone());
                step.remote = Some(made.user);
                journal::record(state, id, step).await?;
            }
            Err(e) => {
                tracing::warn!(redemption = id, server = %step.server_name, error = %e, "account creation failed; rolling back");
                step.state = if journal::nothing_made(&e) {
                    StepState::Failed
                } else {
                    StepState::Unknown
                };
                journal::record(state, id, step).await?;
                let (code, message) = public_error(e, &step.server_name);
                return Ok(Some((code.as_str(), message)));
            }
        }
    }
    Ok(None)
}

/// Creates a credential account without a name check before the call (which would download the
/// server's user list): the account is created with the redemption's one-time password (the
/// proof, see [`journal::uses_verifier`]), its id is journaled, and only then is the invitee's
/// password set, by that id. A taken name is the server's refusal (`username-taken`). Answers
/// like [`create_all`] for this one step.
async fn create_with_verifier(
    state: &AppState,
    id: i64,
    step: &mut Step,
) -> Result<Option<(&'static str, String)>> {
    let Some(target) = &step.target else {
        return Ok(None);
    };
    let (kind, ctx) = (step.kind.clone(), target.ctx.clone());
    let Some(password) = step.user.password.clone() else {
        return Ok(None);
    };
    step.verifier = true;
    step.state = StepState::Calling;
    journal::record(state, id, step).await?;
    let mut first = step.user.clone();
    first.password = Some(journal::verifier_password(state, id, step.server_id));
    let made = match state.plugins().create_user(&kind, &ctx, &first).await {
        Ok(made) => made,
        Err(e) => {
            tracing::warn!(redemption = id, server = %step.server_name, error = %e, "account creation failed; rolling back");
            step.state = if journal::nothing_made(&e) {
                StepState::Failed
            } else {
                StepState::Unknown
            };
            journal::record(state, id, step).await?;
            let (code, message) = public_error(e, &step.server_name);
            return Ok(Some((code.as_str(), message)));
        }
    };
    // The account exists and is ours: its id is journaled before anything else is tried, so a
    // crash from here on is undone by id. The step stays `calling` until the invitee's password
    // is set, so recovery never rolls forward an account its owner cannot sign in to.
    let remote_id = made.user.id.clone();
    step.external_id = Some(remote_id.clone());
    step.remote = Some(made.user);
    journal::record(state, id, step).await?;
    let result = state
        .plugins()
        .set_password(&kind, &ctx, &remote_id, &password)
        .await;
    // A connector that answers "adopted" for a credential account is not believed: this call
    // made it with a password only this redemption knows.
    step.state = StepState::Created;
    journal::record(state, id, step).await?;
    if let Err(e) = result {
        tracing::warn!(redemption = id, server = %step.server_name, error = %e, "could not set the new account's password; rolling back");
        let (code, message) = public_error(e, &step.server_name);
        return Ok(Some((code.as_str(), message)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_keys() {
        assert!(check_attempt("0123456789abcdef").is_ok());
        assert!(check_attempt(&"a".repeat(64)).is_ok());
        assert!(check_attempt("short").is_err());
        assert!(check_attempt(&"a".repeat(65)).is_err());
        assert!(check_attempt("0123456789abcde!").is_err());
    }
}

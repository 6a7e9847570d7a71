//! Expiry enforcement: accounts whose access ended (`expires_at` plus `expiry.grace_hours`) are
//! disabled or deleted per `expiry.action`. Where the server's connector cannot disable
//! (Plex), `expiry.fallback` decides: remove the account's library access, delete it, or only
//! report it. Every action is audited (actor `system`) and recorded on the account
//! (`expiry_action`), so it is taken once; extending the expiry clears the mark.
//!
//! [`plan`] is the dry run (the preview endpoint); [`enforce`] is the `user_expiry` job. Servers
//! are handled concurrently, so a slow one does not hold up the others.
//!
//! `remove_libraries` is never a silent no-op: it asks the connector for an empty library list;
//! a connector that cannot express "no libraries" (Plex: an empty list means every library
//! there) answers `invalid-input` or `unsupported`, and the account's access is then ended
//! instead (`delete-user` without `remove-account`, which on Plex removes this server's share
//! only; the account stays in Zondarr, marked `access_removed`). When that is not possible
//! either, the account is marked `failed` and audited once, not on every run.

use crate::db::{self, audit, jobs::JobRun, time, users::User};
use crate::error::{Error, Result};
use crate::jobs::{self, Job, RunError, Trigger, count};
use crate::plugins::{
    CallError, Capability, ConnectorError, DeleteOptions, LibraryAccess, Manifest, ServerContext,
};
use crate::servers;
use crate::state::AppState;
use serde::Serialize;
use serde_json::{Map, json};
use std::collections::BTreeMap;

/// What enforcement will do to one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Disable the account on the server.
    Disable,
    /// Delete it on the server, then in Zondarr.
    Delete,
    /// Take away all its library access (or, where the server cannot leave an account with no
    /// libraries, end its access to the server).
    RemoveLibraries,
    /// Nothing can be done on the server; it is reported (and marked) only.
    None,
    /// Its connector is not loaded: left for a later run.
    Wait,
}

/// One planned action.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Planned {
    /// The account.
    pub user_id: i64,
    /// The server's id for it (for the action; not shown).
    #[serde(skip)]
    #[schema(ignore)]
    pub external_id: String,
    /// Its username.
    pub username: String,
    /// Its server.
    pub server_id: i64,
    /// The server's name.
    pub server_name: String,
    /// When its access ended.
    pub expires_at: String,
    /// What will be done.
    pub action: Action,
    /// Why this action (e.g. the fallback because the server cannot disable).
    pub reason: String,
}

fn choose(state: &AppState, user: &User, configured: &str, fallback: &str) -> (Action, String) {
    let Some(manifest) = state.plugins().manifest(&user.server_kind) else {
        return (
            Action::Wait,
            format!(
                "the {} connector is not loaded; the account is handled once it is",
                user.server_kind
            ),
        );
    };
    let primary = match configured {
        "delete" => (Capability::DeleteUser, Action::Delete),
        _ => (Capability::SetEnabled, Action::Disable),
    };
    if manifest.supports(primary.0) {
        return (primary.1, format!("expiry.action is {configured}"));
    }
    let cannot = format!("{} servers cannot {configured} accounts", manifest.name);
    let fallback_action = match fallback {
        "remove_libraries" => Some((Capability::LibraryAccess, Action::RemoveLibraries)),
        "delete" => Some((Capability::DeleteUser, Action::Delete)),
        _ => None,
    };
    match fallback_action {
        Some((cap, Action::RemoveLibraries)) if manifest.supports(cap) => (
            Action::RemoveLibraries,
            format!(
                "{cannot}; expiry.fallback is {fallback} (where the server cannot leave an account \
                 with no libraries, its access to the server is ended instead)"
            ),
        ),
        Some((cap, action)) if manifest.supports(cap) => (
            action,
            format!(
                "{cap_text}; expiry.fallback is {fallback}",
                cap_text = cannot
            ),
        ),
        Some(_) => (
            Action::None,
            format!("{cannot}, nor do what expiry.fallback ({fallback}) asks; reported only"),
        ),
        None => (
            Action::None,
            format!("{cannot}; expiry.fallback is none, so it is reported only"),
        ),
    }
}

/// What the next run would do, in expiry order.
pub async fn plan(state: &AppState) -> Result<Vec<Planned>> {
    let live = state.live().get();
    let cutoff =
        time::fmt(chrono::Utc::now() - chrono::Duration::hours(live.expiry.grace_hours as i64));
    let users = state
        .db()
        .run(move |c| Ok(db::users::expired_unhandled(c, &cutoff)?))
        .await?;
    Ok(users
        .into_iter()
        .map(|u| {
            let (action, reason) = choose(state, &u, &live.expiry.action, &live.expiry.fallback);
            Planned {
                user_id: u.id,
                external_id: u.external_id,
                username: u.username,
                server_id: u.server_id,
                server_name: u.server_name,
                expires_at: u.expires_at.unwrap_or_default(),
                action,
                reason,
            }
        })
        .collect())
}

/// Run the `user_expiry` job.
pub async fn enforce(state: &AppState, trigger: Trigger) -> std::result::Result<JobRun, RunError> {
    let s = state.clone();
    jobs::run(state, Job::UserExpiry, None, trigger, || async move {
        let planned = plan(&s).await?;
        let mut per_server: BTreeMap<i64, Vec<Planned>> = BTreeMap::new();
        for p in planned {
            per_server.entry(p.server_id).or_default().push(p);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (server_id, list) in per_server {
            let s = s.clone();
            tasks.spawn(async move { server_batch(&s, server_id, list).await });
        }
        let mut totals: BTreeMap<&'static str, usize> = BTreeMap::new();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(counts) => {
                    for (k, v) in counts {
                        *totals.entry(k).or_default() += v;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "an expiry task ended abnormally");
                    *totals.entry("failed").or_default() += 1;
                }
            }
        }
        let mut counts = Map::new();
        for key in [
            "disabled",
            "deleted",
            "libraries_removed",
            "access_removed",
            "reported",
            "waiting",
            "failed",
        ] {
            counts.insert(key.into(), count(totals.get(key).copied().unwrap_or(0)));
        }
        Ok(counts)
    })
    .await
    .map(|(record, _)| record)
}

async fn server_batch(
    state: &AppState,
    server_id: i64,
    list: Vec<Planned>,
) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    let server = match state
        .db()
        .run(move |c| Ok(db::servers::get(c, server_id)?))
        .await
    {
        Ok(Some(s)) => s,
        Ok(None) => return counts,
        Err(e) => {
            tracing::warn!(server_id, error = %e, "cannot load the server for expiry");
            counts.insert("failed", list.len());
            return counts;
        }
    };
    // The connector and the server's (decrypted) context, once for the whole batch.
    let target = servers::manifest_for(state.plugins(), &server.kind).and_then(|manifest| {
        let ctx = servers::context_of(&state.security().crypto, &manifest, &server)?;
        Ok((manifest, ctx))
    });
    let mut last_error = None;
    for p in list {
        let done = match &target {
            Ok((manifest, ctx)) => act(state, manifest, ctx, &p).await,
            Err(e) => Err(Error::new(e.code(), e.public_message())),
        };
        let key = match done {
            Ok(key) => key,
            Err(e) => {
                last_error = Some(e.public_message());
                audit_action(
                    state,
                    &p,
                    "failed",
                    audit::Outcome::Failure,
                    Some(e.public_message()),
                )
                .await;
                "failed"
            }
        };
        *counts.entry(key).or_default() += 1;
    }
    if let Some(message) = last_error {
        let _ = state
            .db()
            .write(move |tx| {
                Ok(db::servers::set_health(
                    tx,
                    server_id,
                    Some(&message),
                    false,
                )?)
            })
            .await;
    }
    counts
}

async fn act(
    state: &AppState,
    manifest: &Manifest,
    ctx: &ServerContext,
    p: &Planned,
) -> Result<&'static str> {
    let user_id = p.user_id;
    if p.action == Action::Wait {
        return Ok("waiting");
    }
    let plugins = state.plugins();
    let (key, mark, enabled) = match p.action {
        Action::Disable => {
            plugins
                .set_enabled(&manifest.id, ctx, &p.external_id, false)
                .await?;
            ("disabled", "disabled", Some(false))
        }
        Action::RemoveLibraries => match remove_libraries(state, manifest, ctx, p).await? {
            Removed::Libraries => ("libraries_removed", "libraries_removed", None),
            Removed::Access => ("access_removed", "access_removed", None),
            Removed::Neither(message) => {
                // Permanent: marked, so it is reported once and not tried (and audited) again
                // on every run. Extending the account's expiry clears the mark.
                state
                    .db()
                    .write(move |tx| Ok(db::users::set_expiry_action(tx, user_id, "failed", None)?))
                    .await?;
                audit_action(state, p, "failed", audit::Outcome::Failure, Some(message)).await;
                return Ok("failed");
            }
        },
        Action::Delete => {
            match plugins
                .remove_user(
                    &manifest.id,
                    ctx,
                    &p.external_id,
                    DeleteOptions {
                        remove_account: false,
                    },
                )
                .await
            {
                Ok(()) => {}
                Err(e) => return Err(e.into()),
            }
            ("deleted", "deleted", None)
        }
        Action::None | Action::Wait => ("reported", "none", None),
    };
    state
        .db()
        .write(move |tx| {
            if mark == "deleted" {
                db::users::delete(tx, user_id)?;
            } else {
                db::users::set_expiry_action(tx, user_id, mark, enabled)?;
            }
            Ok(())
        })
        .await?;
    audit_action(state, p, mark, audit::Outcome::Success, None).await;
    Ok(key)
}

/// What the `remove_libraries` fallback managed to do.
enum Removed {
    /// The account has no library left.
    Libraries,
    /// The server cannot leave an account with no libraries: its access was ended instead.
    Access,
    /// Neither is possible on this server; why.
    Neither(String),
}

/// The connector's answer "I cannot do that" (as opposed to a failure worth retrying).
fn cannot(e: &CallError) -> bool {
    matches!(
        e,
        CallError::Connector {
            error: ConnectorError::InvalidInput(_) | ConnectorError::Unsupported(_),
            ..
        }
    )
}

/// Take away all of an account's library access: an empty library list, or, where the connector
/// cannot express it, the end of the account's access to this server.
async fn remove_libraries(
    state: &AppState,
    manifest: &Manifest,
    ctx: &ServerContext,
    p: &Planned,
) -> Result<Removed> {
    let plugins = state.plugins();
    let refused = match plugins
        .set_library_access(
            &manifest.id,
            ctx,
            &p.external_id,
            &LibraryAccess::Only(Vec::new()),
        )
        .await
    {
        Ok(()) => return Ok(Removed::Libraries),
        Err(e) if cannot(&e) => Error::from(e).public_message(),
        Err(e) => return Err(e.into()),
    };
    if !manifest.supports(Capability::DeleteUser) {
        return Ok(Removed::Neither(format!(
            "{} servers cannot leave an account with no libraries ({refused}), nor end an \
             account's access; remove the access by hand",
            manifest.name
        )));
    }
    match plugins
        .remove_user(
            &manifest.id,
            ctx,
            &p.external_id,
            DeleteOptions {
                remove_account: false,
            },
        )
        .await
    {
        Ok(()) => Ok(Removed::Access),
        Err(e) if cannot(&e) => Ok(Removed::Neither(format!(
            "{} servers cannot leave an account with no libraries ({refused}), and ending its \
             access was refused: {}; remove the access by hand",
            manifest.name,
            Error::from(e).public_message()
        ))),
        Err(e) => Err(e.into()),
    }
}

async fn audit_action(
    state: &AppState,
    p: &Planned,
    result: &str,
    outcome: audit::Outcome,
    error: Option<String>,
) {
    let detail = json!({
        "action": p.action,
        "result": result,
        "username": p.username,
        "server": p.server_name,
        "expires_at": p.expires_at,
        "reason": p.reason,
        "error": error,
    });
    let target = format!("user:{}", p.user_id);
    let r: Result<()> = state
        .db()
        .write(move |tx| {
            audit::append(
                tx,
                &audit::NewEvent {
                    actor: "system",
                    ip: None,
                    action: "user.expire",
                    target: Some(&target),
                    outcome,
                    detail: Some(detail),
                },
            )?;
            Ok(())
        })
        .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "cannot audit an expiry action");
    }
}

//! Library and user sync of one server, on demand (`POST /api/v1/servers/{id}/sync`) and on the
//! schedule. Both are recorded as job runs (`library_sync`, `user_sync`).
//!
//! - Library sync adds and renames libraries to match the server (matched by the server's id for
//!   them, so renames and re-orders keep every reference). A library the server no longer lists
//!   is marked missing while an invitation refers to it (never deleted then), and deleted when
//!   nothing does; one listed again is un-marked. It has the same safety threshold as user sync.
//! - User sync imports accounts created outside Zondarr (unless excluded), takes over name,
//!   e-mail, kind and enabled state of known accounts, and marks accounts the server no longer
//!   lists as vanished (never deleting anything). When it would mark more than
//!   `sync.max_vanished_percent` of the known accounts, it refuses and changes nothing: a
//!   misconfigured server answering an empty list must not look like "everyone left". Library
//!   sync counts the libraries that would be gone against the known ones the same way.
//!
//! A dry run reports the same numbers without changing anything.

use crate::db::{self, servers::ServerRow, time};
use crate::error::{Error, ErrorCode, Result};
use crate::jobs::{self, Failure, Job, RunError, Trigger, count};
use crate::plugins::{Capability, Manifest, ServerContext};
use crate::servers;
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// What to sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum What {
    /// Libraries only.
    Libraries,
    /// Users only.
    Users,
    /// Both, libraries first.
    #[default]
    All,
}

/// The result of one sync request.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// The library sync's run, when it ran.
    pub libraries: Option<db::jobs::JobRun>,
    /// The user sync's run, when it ran.
    pub users: Option<db::jobs::JobRun>,
}

/// Lists are cut at this length in run records (the counts stay exact).
const LIST_CAP: usize = 50;

fn names(mut list: Vec<String>) -> Value {
    list.sort_by_key(|n| n.to_lowercase());
    list.truncate(LIST_CAP);
    Value::from(list)
}

/// Sync `server_id`. Errors: the server is unknown or its connector missing, or (for a manual
/// run) the same sync is already running, or a part failed or was refused — in which case the
/// failing part's run is recorded and its error returned.
pub async fn run(
    state: &AppState,
    server_id: i64,
    what: What,
    dry_run: bool,
    force: bool,
    trigger: Trigger,
) -> Result<Report> {
    let row = state
        .db()
        .run(move |c| Ok(db::servers::get(c, server_id)?))
        .await?
        .ok_or_else(|| Error::not_found("server"))?;
    let manifest = servers::manifest_for(state.plugins(), &row.kind)?;
    let ctx = servers::context_of(&state.security().crypto, &manifest, &row)?;
    let mut report = Report {
        dry_run,
        ..Report::default()
    };
    let mut refused = None;
    if matches!(what, What::Libraries | What::All) {
        let (record, result) = recorded(state, Job::LibrarySync, &row, trigger, || {
            libraries(state, &manifest, &ctx, row.id, dry_run, force)
        })
        .await?;
        report.libraries = Some(record);
        // A refused library sync does not hold up the user sync; its refusal is answered after.
        match part_result(state, &row, result, dry_run).await {
            Err(e) if e.code() == ErrorCode::SyncRefused => refused = Some(e),
            other => other?,
        }
    }
    if matches!(what, What::Users | What::All) && manifest.supports(Capability::ListUsers) {
        let (record, result) = recorded(state, Job::UserSync, &row, trigger, || {
            users(state, &manifest, &ctx, row.id, dry_run, force)
        })
        .await?;
        report.users = Some(record);
        part_result(state, &row, result, dry_run).await?;
    }
    match refused {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// [`run`] on behalf of an admin (`Trigger::Manual`): a real run (not a dry run) is audited as
/// `server.sync`, whether it worked or not. The JSON API and the server page call this.
pub async fn run_by(
    state: &AppState,
    actor: &crate::auth::Actor,
    server_id: i64,
    what: What,
    dry_run: bool,
    force: bool,
) -> Result<Report> {
    let result = run(state, server_id, what, dry_run, force, Trigger::Manual).await;
    if !dry_run {
        let outcome = if result.is_ok() {
            db::audit::Outcome::Success
        } else {
            db::audit::Outcome::Failure
        };
        let actor = actor.clone();
        state
            .db()
            .write(move |tx| {
                db::audit::append(
                    tx,
                    &db::audit::NewEvent {
                        actor: &actor.name,
                        ip: actor.ip.as_deref(),
                        action: "server.sync",
                        target: Some(&format!("server:{server_id}")),
                        outcome,
                        detail: Some(serde_json::json!({ "force": force })),
                    },
                )?;
                Ok(())
            })
            .await?;
    }
    result
}

/// The user-sync exclusions of server `id` (`NOT_FOUND` for an unknown server).
pub async fn exclusions(state: &AppState, id: i64) -> Result<Vec<db::jobs::Exclusion>> {
    servers::load(state, id).await?;
    state
        .db()
        .run(move |c| Ok(db::jobs::exclusions(c, id)?))
        .await
}

/// Exclude an account of server `id` from user sync (idempotent); audited.
pub async fn exclude(
    state: &AppState,
    actor: &crate::auth::Actor,
    id: i64,
    external_id: &str,
    username: Option<&str>,
) -> Result<db::jobs::Exclusion> {
    let external_id = external_id.trim().to_owned();
    let username = username
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| external_id.clone());
    let mut fields = Vec::new();
    if external_id.is_empty() || external_id.len() > 200 {
        fields.push(crate::error::FieldError::new(
            "external_id",
            "must be 1 to 200 characters",
        ));
    }
    if username.chars().count() > 200 {
        fields.push(crate::error::FieldError::new(
            "username",
            "must be at most 200 characters",
        ));
    }
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    servers::load(state, id).await?;
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            db::jobs::exclude(tx, id, &external_id, &username, &actor.name)?;
            let exclusion = db::jobs::exclusions(tx, id)?
                .into_iter()
                .find(|e| e.external_id == external_id)
                .ok_or_else(|| Error::not_found("server"))?;
            actor.audit(
                tx,
                "server.exclusion.add",
                Some(&format!("server:{id}")),
                Some(serde_json::json!({ "external_id": external_id, "username": exclusion.username })),
            )?;
            Ok(exclusion)
        })
        .await
}

/// Remove an exclusion (`NOT_FOUND` when there is none); audited.
pub async fn include(
    state: &AppState,
    actor: &crate::auth::Actor,
    id: i64,
    external_id: &str,
) -> Result<()> {
    let actor = actor.clone();
    let ext = external_id.to_owned();
    state
        .db()
        .write(move |tx| {
            if !db::jobs::include(tx, id, &ext)? {
                return Err(Error::not_found("exclusion"));
            }
            actor.audit(
                tx,
                "server.exclusion.remove",
                Some(&format!("server:{id}")),
                Some(serde_json::json!({ "external_id": ext })),
            )?;
            Ok(())
        })
        .await
}

async fn recorded<F, Fut>(
    state: &AppState,
    job: Job,
    row: &ServerRow,
    trigger: Trigger,
    body: F,
) -> Result<(
    db::jobs::JobRun,
    std::result::Result<Map<String, Value>, Failure>,
)>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<Map<String, Value>, Failure>>,
{
    jobs::run(state, job, Some((row.id, row.name.clone())), trigger, body)
        .await
        .map_err(|e| match e {
            RunError::AlreadyRunning => Error::new(
                ErrorCode::JobRunning,
                format!(
                    "a {} of {} is already running; try again when it ends",
                    job.name().replace('_', " "),
                    row.name
                ),
            ),
            RunError::Db(e) => e,
        })
}

/// Record the server's health from a part's outcome and turn a failure into the error.
async fn part_result(
    state: &AppState,
    row: &ServerRow,
    result: std::result::Result<Map<String, Value>, Failure>,
    dry_run: bool,
) -> Result<()> {
    let id = row.id;
    let (health, out) = match result {
        Ok(_) => (None, Ok(())),
        Err(Failure::Refused { message, .. }) => {
            (None, Err(Error::new(ErrorCode::SyncRefused, message)))
        }
        Err(Failure::Failed(e)) => {
            let remote = matches!(
                e.code(),
                ErrorCode::RemoteUnauthorized
                    | ErrorCode::RemoteForbidden
                    | ErrorCode::RemoteUnreachable
                    | ErrorCode::RemoteTimeout
                    | ErrorCode::RemoteRateLimited
                    | ErrorCode::RemoteError
                    | ErrorCode::PluginFailed
                    | ErrorCode::PluginTimeout
                    | ErrorCode::PluginUnhealthy
                    | ErrorCode::PluginHostDenied
            );
            (remote.then(|| e.public_message()), Err(e))
        }
    };
    let synced = out.is_ok() && !dry_run;
    if out.is_ok() || health.is_some() {
        state
            .db()
            .write(move |tx| Ok(db::servers::set_health(tx, id, health.as_deref(), synced)?))
            .await?;
    }
    out
}

async fn libraries(
    state: &AppState,
    manifest: &Manifest,
    ctx: &ServerContext,
    server_id: i64,
    dry_run: bool,
    force: bool,
) -> std::result::Result<Map<String, Value>, Failure> {
    let remote: Vec<(String, String, String)> = state
        .plugins()
        .list_libraries(&manifest.id, ctx)
        .await
        .map_err(Error::from)?
        .into_iter()
        .map(|l| (l.id, l.name, l.kind))
        .collect();
    let max_percent = state.live().get().jobs.max_vanished_percent;
    let outcome = state
        .db()
        .write(move |tx| {
            let existing = db::servers::libraries(tx, server_id)?;
            let referenced = db::servers::referenced_libraries(tx, server_id)?;
            let plan = db::servers::plan_libraries(&existing, &remote, &referenced);
            let name_of = |i: &usize| remote[*i].1.clone();
            let mut counts = Map::new();
            counts.insert("dry_run".into(), Value::Bool(dry_run));
            counts.insert("remote".into(), count(remote.len()));
            counts.insert("known".into(), count(plan.known));
            counts.insert("added".into(), count(plan.add.len()));
            counts.insert(
                "updated".into(),
                count(plan.update.len() + plan.returned.len()),
            );
            counts.insert("returned".into(), count(plan.returned.len()));
            counts.insert("missing".into(), count(plan.mark_missing.len()));
            counts.insert("removed".into(), count(plan.delete.len()));
            counts.insert("gone".into(), count(plan.gone));
            counts.insert(
                "added_names".into(),
                names(plan.add.iter().map(name_of).collect()),
            );
            counts.insert(
                "updated_names".into(),
                names(
                    plan.update
                        .iter()
                        .chain(&plan.returned)
                        .map(|(_, i)| name_of(i))
                        .collect(),
                ),
            );
            counts.insert(
                "missing_names".into(),
                names(plan.mark_missing.iter().map(|l| l.name.clone()).collect()),
            );
            counts.insert(
                "removed_names".into(),
                names(plan.delete.iter().map(|l| l.name.clone()).collect()),
            );
            if !force && too_many_vanished(plan.gone, plan.known, max_percent) {
                let message = format!(
                    "the server lists {} libraries; {} of the {} known ones would be gone, more \
                     than sync.max_vanished_percent ({max_percent}%) allows; nothing was changed. \
                     Check the server's address and credentials, or sync again with force",
                    remote.len(),
                    plan.gone,
                    plan.known
                );
                return Ok(Err((counts, message)));
            }
            if !dry_run {
                db::servers::apply_library_plan(tx, server_id, &remote, &plan)?;
            }
            Ok(Ok(counts))
        })
        .await?;
    outcome.map_err(|(counts, message)| Failure::Refused { counts, message })
}

/// What a user sync would do, worked out from the local and remote lists.
#[derive(Debug, Default, PartialEq)]
struct UserPlan {
    import: Vec<usize>,
    refresh: Vec<(i64, usize)>,
    returned: Vec<String>,
    vanish: Vec<(i64, String)>,
    excluded: usize,
    unchanged: usize,
    known: usize,
}

fn plan_users(
    local: &[db::users::User],
    remote: &[crate::plugins::RemoteUser],
    excluded: &HashSet<String>,
) -> UserPlan {
    let by_ext: HashMap<&str, &db::users::User> =
        local.iter().map(|u| (u.external_id.as_str(), u)).collect();
    let mut plan = UserPlan {
        known: local.iter().filter(|u| u.vanished_at.is_none()).count(),
        ..UserPlan::default()
    };
    let mut seen = HashSet::new();
    for (i, r) in remote.iter().enumerate() {
        if !seen.insert(r.id.as_str()) {
            continue;
        }
        match by_ext.get(r.id.as_str()) {
            Some(u) => {
                let kind = remote_kind(r);
                let same = u.username == r.username
                    && (r.email.is_none() || u.email == r.email)
                    && u.kind.as_deref() == kind.as_deref()
                    && u.enabled != r.disabled
                    && u.vanished_at.is_none();
                if u.vanished_at.is_some() {
                    plan.returned.push(r.username.clone());
                }
                if same {
                    plan.unchanged += 1;
                } else {
                    plan.refresh.push((u.id, i));
                }
            }
            None if excluded.contains(&r.id) => plan.excluded += 1,
            None => plan.import.push(i),
        }
    }
    for u in local {
        if u.vanished_at.is_none() && !seen.contains(u.external_id.as_str()) {
            plan.vanish.push((u.id, u.username.clone()));
        }
    }
    plan
}

fn remote_kind(r: &crate::plugins::RemoteUser) -> Option<String> {
    r.kind
        .clone()
        .or_else(|| r.admin.then(|| "admin".to_owned()))
}

/// Whether marking `vanish` of `known` accounts exceeds `max_percent`.
fn too_many_vanished(vanish: usize, known: usize, max_percent: u64) -> bool {
    known > 0 && vanish > 0 && (vanish as u64) * 100 > max_percent * known as u64
}

async fn users(
    state: &AppState,
    manifest: &Manifest,
    ctx: &ServerContext,
    server_id: i64,
    dry_run: bool,
    force: bool,
) -> std::result::Result<Map<String, Value>, Failure> {
    let remote = state
        .plugins()
        .list_users(&manifest.id, ctx)
        .await
        .map_err(Error::from)?;
    let max_percent = state.live().get().jobs.max_vanished_percent;
    let outcome = state
        .db()
        .write(move |tx| {
            let local = db::users::of_server(tx, server_id)?;
            let excluded: HashSet<String> = db::jobs::exclusions(tx, server_id)?
                .into_iter()
                .map(|e| e.external_id)
                .collect();
            let plan = plan_users(&local, &remote, &excluded);
            let mut counts = Map::new();
            counts.insert("dry_run".into(), Value::Bool(dry_run));
            counts.insert("remote".into(), count(remote.len()));
            counts.insert("known".into(), count(plan.known));
            counts.insert("imported".into(), count(plan.import.len()));
            counts.insert("updated".into(), count(plan.refresh.len()));
            counts.insert("returned".into(), count(plan.returned.len()));
            counts.insert("vanished".into(), count(plan.vanish.len()));
            counts.insert("excluded".into(), count(plan.excluded));
            counts.insert("unchanged".into(), count(plan.unchanged));
            counts.insert(
                "imported_names".into(),
                names(
                    plan.import
                        .iter()
                        .map(|i| remote[*i].username.clone())
                        .collect(),
                ),
            );
            counts.insert(
                "vanished_names".into(),
                names(plan.vanish.iter().map(|(_, n)| n.clone()).collect()),
            );
            counts.insert("returned_names".into(), names(plan.returned.clone()));
            if !force && too_many_vanished(plan.vanish.len(), plan.known, max_percent) {
                let message = format!(
                    "the server lists {} accounts; {} of the {} known ones would be marked vanished, \
                     more than sync.max_vanished_percent ({max_percent}%) allows; nothing was changed. \
                     Check the server's address and credentials, or sync again with force",
                    remote.len(),
                    plan.vanish.len(),
                    plan.known
                );
                return Ok(Err((counts, message)));
            }
            if !dry_run {
                let kinds: Vec<Option<String>> = remote.iter().map(remote_kind).collect();
                let seen = |i: usize| db::users::Seen {
                    external_id: &remote[i].id,
                    username: &remote[i].username,
                    email: remote[i].email.as_deref(),
                    kind: kinds[i].as_deref(),
                    enabled: !remote[i].disabled,
                };
                for i in &plan.import {
                    db::users::import(tx, server_id, &seen(*i))?;
                }
                for (id, i) in &plan.refresh {
                    db::users::refresh(tx, *id, &seen(*i))?;
                }
                let now = time::now();
                for (id, _) in &plan.vanish {
                    db::users::mark_vanished(tx, *id, &now)?;
                }
            }
            Ok(Ok(counts))
        })
        .await?;
    outcome.map_err(|(counts, message)| Failure::Refused { counts, message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::RemoteUser;

    fn local(id: i64, ext: &str, name: &str, vanished: bool) -> db::users::User {
        db::users::User {
            id,
            identity_id: None,
            server_id: 1,
            server_name: "s".into(),
            server_kind: "k".into(),
            external_id: ext.into(),
            username: name.into(),
            email: None,
            kind: None,
            enabled: true,
            expires_at: None,
            invitation_id: None,
            source: "sync".into(),
            created_at: String::new(),
            updated_at: String::new(),
            vanished_at: vanished.then(|| "2026-01-01T00:00:00.000Z".into()),
            expiry_action: None,
            expiry_action_at: None,
        }
    }

    fn remote(ext: &str, name: &str) -> RemoteUser {
        RemoteUser {
            id: ext.into(),
            username: name.into(),
            email: None,
            kind: None,
            disabled: false,
            admin: false,
            last_activity: None,
        }
    }

    #[test]
    fn plan_imports_refreshes_vanishes_and_honours_exclusions() {
        let l = vec![
            local(1, "a", "alice", false),
            local(2, "b", "bob", false),
            local(3, "c", "carol", true),
        ];
        let r = vec![
            remote("a", "alice"),
            remote("c", "carol"),
            remote("d", "dave"),
            remote("e", "eve"),
            remote("d", "dave"),
        ];
        let excluded = HashSet::from(["e".to_owned()]);
        let plan = plan_users(&l, &r, &excluded);
        assert_eq!(plan.import, vec![2], "dave once; eve is excluded");
        assert_eq!(plan.excluded, 1);
        assert_eq!(plan.refresh, vec![(3, 1)], "carol came back");
        assert_eq!(plan.returned, vec!["carol".to_owned()]);
        assert_eq!(plan.vanish, vec![(2, "bob".to_owned())]);
        assert_eq!(plan.unchanged, 1);
        assert_eq!(plan.known, 2);
    }

    #[test]
    fn safety_threshold() {
        assert!(too_many_vanished(10, 10, 50));
        assert!(too_many_vanished(6, 10, 50));
        assert!(!too_many_vanished(5, 10, 50));
        assert!(!too_many_vanished(10, 10, 100));
        assert!(!too_many_vanished(0, 0, 0));
        assert!(too_many_vanished(1, 3, 0));
    }
}

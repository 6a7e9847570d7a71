//! Recovery of redemptions left `pending` by a crash, a kill or a rollback that could not finish:
//! at start-up (before the daemon listens) and by the periodic `redemption_recovery` job.
//!
//! For each one: if the connector recorded every account (`created` or `adopted`) and no failure
//! was recorded, the redemption is rolled forward (the users are written); otherwise it is undone
//! exactly like a failed saga: accounts this redemption provably made are deleted by remote id,
//! adopted ones kept, unknown outcomes resolved with `find-user` and the journal's proof, and an
//! account nothing proves is reported, never deleted. A redemption that cannot be settled now (a
//! server down, a connector missing) keeps its use reserved and is tried again; one failure never
//! stops the pass.

use super::journal::{self, Step, StepState, Target};
use crate::db::Cached;
use crate::db::{self, audit::Outcome};
use crate::error::{ErrorCode, Result};
use crate::plugins::{LibraryAccess, LinkedAccount, NewUser, SecretString};
use crate::servers;
use crate::state::AppState;
use rusqlite::params;
use serde_json::json;

/// What a pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Rolled forward: every account existed, the users were written.
    pub completed: usize,
    /// Undone: the accounts they made were removed and the uses released.
    pub compensated: usize,
    /// Left for a later pass (a server down, a connector missing, an error).
    pub waiting: usize,
}

impl Recovered {
    /// How many were settled.
    pub fn settled(&self) -> usize {
        self.completed + self.compensated
    }
}

struct Pending {
    id: i64,
    error_code: Option<String>,
    steps: Vec<JournalStep>,
}

struct JournalStep {
    server_id: i64,
    kind: String,
    state: String,
    external_id: Option<String>,
    username: String,
    linked_id: Option<String>,
    name_free: Option<bool>,
    pre_existing_id: Option<String>,
    remote_username: Option<String>,
    verifier: bool,
}

/// Settles every redemption left `pending` that started before `started_before` and is not
/// running in this daemon.
///
/// # Errors
/// Only when the journal cannot be read at all; each redemption's own failure is logged and
/// counted as waiting.
pub async fn recover(state: &AppState, started_before: String) -> Result<Recovered> {
    let pending = state
        .db()
        .run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, error_code FROM redemptions WHERE state = 'pending' AND started_at < ?1 ORDER BY id",
            )?;
            let rows = stmt
                .query_map([&started_before], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::new();
            for (id, error_code) in rows {
                let mut stmt = c.prepare_cached(
                    "SELECT server_id, kind, state, external_id, username, linked_id, name_free, pre_existing_id, remote_username, verifier
                     FROM redemption_steps WHERE redemption_id = ?1 ORDER BY rowid",
                )?;
                let steps = stmt
                    .query_map([id], |r| {
                        Ok(JournalStep {
                            server_id: r.get(0)?,
                            kind: r.get(1)?,
                            state: r.get(2)?,
                            external_id: r.get(3)?,
                            username: r.get(4)?,
                            linked_id: r.get(5)?,
                            name_free: r.get(6)?,
                            pre_existing_id: r.get(7)?,
                            remote_username: r.get(8)?,
                            verifier: r.get(9)?,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                out.push(Pending { id, error_code, steps });
            }
            Ok(out)
        })
        .await?;
    let mut report = Recovered::default();
    for p in pending {
        if state.sagas().is_running(p.id) {
            continue;
        }
        let id = p.id;
        match recover_one(state, p).await {
            Ok(Some(true)) => report.completed += 1,
            Ok(Some(false)) => report.compensated += 1,
            Ok(None) => report.waiting += 1,
            Err(e) => {
                tracing::error!(redemption = id, error = %e, "could not recover a redemption; will retry");
                report.waiting += 1;
            }
        }
    }
    Ok(report)
}

/// `Some(true)` rolled forward, `Some(false)` undone, `None` not settled yet.
async fn recover_one(state: &AppState, p: Pending) -> Result<Option<bool>> {
    let id = p.id;
    let mut steps = Vec::new();
    for j in p.steps {
        steps.push(step(state, j).await?);
    }
    let recorded_all = steps
        .iter()
        .all(|s| matches!(s.state, StepState::Created | StepState::Adopted) && s.remote.is_some());
    if p.error_code.is_none() && recorded_all {
        if journal::complete(state, id, &steps, None).await? {
            audit(state, id, "rolled_forward").await;
            tracing::warn!(
                redemption = id,
                "completed a redemption interrupted after its last account was made"
            );
            return Ok(Some(true));
        }
        return Ok(None);
    }
    let (settled, reported) = journal::undo(state, id, &mut steps).await;
    if !settled {
        return Ok(None);
    }
    let end = if reported > 0 {
        "unresolved"
    } else {
        "compensated"
    };
    let ended = journal::end_failed(
        state,
        id,
        end,
        ErrorCode::ServerUnavailable.as_str(),
        "the redemption was interrupted; nothing was kept, try again".into(),
    )
    .await?;
    if ended {
        audit(state, id, "rolled_back").await;
        tracing::warn!(redemption = id, "rolled back an interrupted redemption");
    }
    Ok(Some(false))
}

async fn step(state: &AppState, j: JournalStep) -> Result<Step> {
    let server_id = j.server_id;
    let server = state
        .db()
        .run(move |c| Ok(db::servers::get(c, server_id)?))
        .await?;
    let manifest = state.plugins().manifest(&j.kind);
    let server_name = server
        .as_ref()
        .map_or_else(|| format!("server {server_id}"), |s| s.name.clone());
    let target = match (server, manifest) {
        (Some(server), Some(manifest)) => {
            let ctx = servers::context_of(&state.security().crypto, &manifest, &server)?;
            Some(Target { manifest, ctx })
        }
        _ => None,
    };
    let remote = match (&j.external_id, j.state.as_str()) {
        (Some(external), "created" | "adopted" | "calling" | "unknown") => {
            Some(crate::plugins::RemoteUser {
                id: external.clone(),
                username: j
                    .remote_username
                    .clone()
                    .unwrap_or_else(|| j.username.clone()),
                email: None,
                kind: None,
                disabled: false,
                admin: false,
                last_activity: None,
            })
        }
        _ => None,
    };
    Ok(Step {
        server_id,
        server_name,
        kind: j.kind,
        target,
        user: NewUser {
            username: j.username.clone(),
            password: None,
            email: None,
            linked_account: j.linked_id.map(|linked| LinkedAccount {
                id: linked,
                username: j.username,
                email: None,
                token: SecretString::new(String::new()),
            }),
            libraries: LibraryAccess::All,
            permissions: Vec::new(),
        },
        state: StepState::parse(&j.state),
        external_id: j.external_id,
        remote,
        name_free: j.name_free,
        pre_existing_id: j.pre_existing_id,
        verifier: j.verifier,
    })
}

async fn audit(state: &AppState, id: i64, how: &'static str) {
    let result = state
        .db()
        .write(move |tx| {
            let invitation: Option<i64> = tx.row(
                "SELECT invitation_id FROM redemptions WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )?;
            db::audit::append(
                tx,
                &db::audit::NewEvent {
                    actor: "system",
                    ip: None,
                    action: "redemption.recover",
                    target: Some(&format!("redemption:{id}")),
                    outcome: Outcome::Success,
                    detail: Some(json!({ "invitation": invitation, "result": how })),
                },
            )?;
            Ok(())
        })
        .await;
    if let Err(e) = result {
        tracing::error!(redemption = id, error = %e, "could not audit a recovery");
    }
}

//! Background jobs and their schedule.
//!
//! Every run is recorded in `job_runs` (job, server, trigger, start, end, outcome, counts, error)
//! through [`run`], which also makes sure a job never overlaps itself: a second start of the
//! same job for the same server is refused ([`RunError::AlreadyRunning`]) rather than queued.
//!
//! The schedule ([`spawn`]) is three loops on tokio: expiry (invitation expiry, then user-expiry
//! enforcement), sync (library and user sync of each enabled server) and maintenance (redemption
//! recovery, clean-up, pruning of old runs). The first two read their interval from the live
//! settings each time round and wake when a setting changes, so a new interval takes effect at
//! once. A tick only starts work: each server's sync is its own task, so a slow or failing
//! server neither delays nor stops the others.

use crate::db::Cached;
use crate::db::{self, jobs::JobRun, time};
use crate::error::Error;
use crate::state::AppState;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Job {
    /// Marks invitations that expired or were used up.
    InvitationExpiry,
    /// Disables or deletes accounts whose access ended.
    UserExpiry,
    /// Library sync of one server.
    LibrarySync,
    /// User sync of one server.
    UserSync,
    /// Compensates redemptions a crash left half-done.
    RedemptionRecovery,
    /// Removes expired sessions, sign-in challenges and account links.
    Cleanup,
    /// Deletes old job-run records.
    PruneRuns,
}

impl Job {
    /// Every job.
    pub const ALL: [Job; 7] = [
        Job::InvitationExpiry,
        Job::UserExpiry,
        Job::LibrarySync,
        Job::UserSync,
        Job::RedemptionRecovery,
        Job::Cleanup,
        Job::PruneRuns,
    ];

    /// The name used in records, metrics and the API.
    pub fn name(self) -> &'static str {
        match self {
            Job::InvitationExpiry => "invitation_expiry",
            Job::UserExpiry => "user_expiry",
            Job::LibrarySync => "library_sync",
            Job::UserSync => "user_sync",
            Job::RedemptionRecovery => "redemption_recovery",
            Job::Cleanup => "cleanup",
            Job::PruneRuns => "prune_job_runs",
        }
    }

    /// The job called `name`.
    pub fn parse(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|j| j.name() == name)
    }

    /// Whether it runs once per server.
    pub fn per_server(self) -> bool {
        matches!(self, Job::LibrarySync | Job::UserSync)
    }
}

/// Who started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The schedule.
    Automatic,
    /// An admin (API).
    Manual,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Automatic => "automatic",
            Trigger::Manual => "manual",
        }
    }
}

/// How a job body ended.
#[derive(Debug)]
pub enum Failure {
    /// It failed; the error's public message is recorded.
    Failed(Error),
    /// A safety check stopped it before it changed anything.
    Refused {
        /// What it found.
        counts: Map<String, Value>,
        /// Why it stopped.
        message: String,
    },
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Failed(e)
    }
}

/// Why [`run`] did not record a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The same job is running for the same target.
    #[error("the job is already running")]
    AlreadyRunning,
    /// The run could not be recorded.
    #[error(transparent)]
    Db(#[from] Error),
}

/// Jobs in progress, so none overlaps itself.
#[derive(Default)]
pub struct Scheduler {
    running: Mutex<HashSet<(Job, Option<i64>)>>,
}

impl Scheduler {
    fn claim(&self, job: Job, server: Option<i64>) -> Option<Claim<'_>> {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // No `Claim` may exist on refusal: dropping one would release the running job's claim
        // (and lock the mutex held here).
        if running.insert((job, server)) {
            Some(Claim {
                scheduler: self,
                key: (job, server),
            })
        } else {
            None
        }
    }

    /// Whether the job is running for `server` (or globally with `None`).
    pub fn is_running(&self, job: Job, server: Option<i64>) -> bool {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&(job, server))
    }
}

struct Claim<'a> {
    scheduler: &'a Scheduler,
    key: (Job, Option<i64>),
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.scheduler
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.key);
    }
}

/// Run `body` as one recorded run of `job` (for `server`, if per server). The record is
/// written before the body starts and completed after it, whatever the outcome; the body's
/// counts (or the failure) are returned with the record.
pub async fn run<F, Fut>(
    state: &AppState,
    job: Job,
    server: Option<(i64, String)>,
    trigger: Trigger,
    body: F,
) -> std::result::Result<(JobRun, std::result::Result<Map<String, Value>, Failure>), RunError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = std::result::Result<Map<String, Value>, Failure>>,
{
    let server_id = server.as_ref().map(|s| s.0);
    let Some(_claim) = state.scheduler().claim(job, server_id) else {
        return Err(RunError::AlreadyRunning);
    };
    let id = state
        .db()
        .write(move |tx| {
            Ok(db::jobs::start(
                tx,
                job.name(),
                server.as_ref().map(|(id, name)| (*id, name.as_str())),
                trigger.as_str(),
            )?)
        })
        .await?;
    let started = Instant::now();
    let result = body().await;
    let (outcome, counts, error) = match &result {
        Ok(counts) => ("succeeded", Value::Object(counts.clone()), None),
        Err(Failure::Refused { counts, message }) => (
            "refused",
            Value::Object(counts.clone()),
            Some(message.clone()),
        ),
        Err(Failure::Failed(e)) => {
            if let Error::Internal(cause) = e {
                tracing::error!(job = job.name(), error = %cause, "job failed");
            }
            ("failed", json!({}), Some(e.public_message()))
        }
    };
    let elapsed = started.elapsed();
    state.metrics().job_run(job.name(), outcome, elapsed);
    match outcome {
        "succeeded" => tracing::info!(
            job = job.name(),
            server = ?server_id,
            trigger = trigger.as_str(),
            ms = elapsed.as_millis() as u64,
            counts = %counts,
            "job finished"
        ),
        _ => tracing::warn!(
            job = job.name(),
            server = ?server_id,
            trigger = trigger.as_str(),
            outcome,
            error = error.as_deref().unwrap_or_default(),
            "job did not succeed"
        ),
    }
    let record = state
        .db()
        .write(move |tx| {
            db::jobs::finish(tx, id, outcome, &counts, error.as_deref())?;
            db::jobs::get(tx, id)?
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("job run {id} vanished")))
        })
        .await?;
    Ok((record, result))
}

/// A count as a JSON number.
pub fn count(n: usize) -> Value {
    Value::from(n as u64)
}

/// Start the schedule. The returned handles are aborted at shutdown.
pub fn spawn(state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(every(
            state.clone(),
            |c| secs(c.jobs.expiry_interval_secs),
            Duration::from_secs(2),
            expiry_tick,
        )),
        tokio::spawn(every(
            state.clone(),
            |c| secs(c.jobs.sync_interval_secs),
            Duration::MAX,
            sync_tick,
        )),
        tokio::spawn(every(
            state.clone(),
            |_| Some(MAINTENANCE_INTERVAL),
            Duration::from_secs(30),
            maintenance_tick,
        )),
    ]
}

/// How often recovery, clean-up and pruning run.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// A redemption still pending this long after it started is taken as interrupted (a live one
/// finishes within its plugin-call timeouts).
/// Redemptions run as tasks of the daemon and recovery skips those running, so only a short
/// margin (for the moment between the journal's insert and the task's start) is needed.
const STALE_REDEMPTION: chrono::Duration = chrono::Duration::minutes(1);

fn secs(n: u64) -> Option<Duration> {
    (n > 0).then(|| Duration::from_secs(n))
}

/// Call `tick` every `interval` (read from the live settings; `None` = off). The first tick
/// comes after `first` or one interval, whichever is shorter. A changed setting wakes the loop,
/// which then waits out what is left of the new interval since the last tick (or ticks at once
/// when that has passed).
async fn every(
    state: AppState,
    interval: fn(&crate::config::Config) -> Option<Duration>,
    first: Duration,
    tick: fn(AppState),
) {
    let mut changes = state.live().subscribe();
    let started = Instant::now();
    let mut last: Option<Instant> = None;
    loop {
        let period = interval(&state.live().get());
        let due = period.map(|p| match last {
            Some(at) => at + p,
            None => started + p.min(first),
        });
        let sleep = async {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = sleep => {
                last = Some(Instant::now());
                tick(state.clone());
            }
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// Note what became of a scheduled start (the run itself logs its outcome).
fn scheduled(job: Job, result: std::result::Result<JobRun, RunError>) {
    match result {
        Ok(_) => {}
        Err(RunError::AlreadyRunning) => {
            tracing::debug!(
                job = job.name(),
                "still running from the last tick; skipped"
            )
        }
        Err(RunError::Db(e)) => {
            tracing::warn!(job = job.name(), error = %e, "cannot record the job run")
        }
    }
}

fn expiry_tick(state: AppState) {
    tokio::spawn(async move {
        scheduled(
            Job::InvitationExpiry,
            invitation_expiry(&state, Trigger::Automatic).await,
        );
        scheduled(
            Job::UserExpiry,
            crate::expiry::enforce(&state, Trigger::Automatic).await,
        );
    });
}

fn sync_tick(state: AppState) {
    tokio::spawn(async move {
        let servers = match state.db().run(|c| Ok(db::servers::list(c)?)).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list servers for the scheduled sync");
                return;
            }
        };
        for server in servers.into_iter().filter(|s| s.enabled) {
            // One task per server: a slow one does not hold up the others.
            let state = state.clone();
            tokio::spawn(async move {
                let _ = crate::sync::run(
                    &state,
                    server.id,
                    crate::sync::What::All,
                    false,
                    false,
                    Trigger::Automatic,
                )
                .await;
            });
        }
    });
}

fn maintenance_tick(state: AppState) {
    tokio::spawn(async move {
        scheduled(
            Job::RedemptionRecovery,
            recovery(&state, Trigger::Automatic).await,
        );
        scheduled(Job::Cleanup, cleanup(&state, Trigger::Automatic).await);
        scheduled(Job::PruneRuns, prune(&state, Trigger::Automatic).await);
    });
}

/// Outcomes of a run, as recorded.
pub const OUTCOMES: [&str; 5] = ["running", "succeeded", "failed", "refused", "interrupted"];

/// Filters of the run list as given (query strings of the JSON API and the jobs page).
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    /// Job name.
    pub job: Option<String>,
    /// Only runs for this server.
    pub server_id: Option<i64>,
    /// One of [`OUTCOMES`].
    pub outcome: Option<String>,
    /// `automatic` or `manual`.
    pub trigger: Option<String>,
}

impl ListQuery {
    /// The filter, or every field that is not one of its allowed values.
    pub fn check(self) -> crate::error::Result<db::jobs::Filter> {
        use crate::error::FieldError;
        let mut fields = Vec::new();
        if self.job.as_deref().is_some_and(|j| Job::parse(j).is_none()) {
            fields.push(FieldError::new(
                "job",
                format!("must be one of {}", Job::ALL.map(Job::name).join(", ")),
            ));
        }
        if self
            .outcome
            .as_deref()
            .is_some_and(|o| !OUTCOMES.contains(&o))
        {
            fields.push(FieldError::new(
                "outcome",
                format!("must be one of {}", OUTCOMES.join(", ")),
            ));
        }
        if self
            .trigger
            .as_deref()
            .is_some_and(|t| t != "automatic" && t != "manual")
        {
            fields.push(FieldError::new("trigger", "must be automatic or manual"));
        }
        if !fields.is_empty() {
            return Err(Error::invalid(fields));
        }
        Ok(db::jobs::Filter {
            job: self.job,
            server_id: self.server_id,
            outcome: self.outcome,
            trigger: self.trigger,
        })
    }
}

/// Runs matching `filter`, newest first, with the total.
pub async fn list(
    state: &AppState,
    filter: db::jobs::Filter,
    limit: i64,
    offset: i64,
) -> crate::error::Result<(Vec<JobRun>, i64)> {
    state
        .db()
        .run(move |c| Ok(db::jobs::list(c, &filter, limit, offset)?))
        .await
}

/// An admin's "run now" of a daemon-wide job: runs it at once, audits it as `job.run` and
/// answers its record. A per-server job (a sync) is not one of the daemon-wide jobs, so it is
/// `NOT_FOUND` here (as the API document's list of them says), with a message that points to
/// [`crate::sync::run_by`]'s route; a job already running is `JOB_RUNNING`.
pub async fn run_by(
    state: &AppState,
    actor: &crate::auth::Actor,
    job: Job,
) -> crate::error::Result<JobRun> {
    use crate::error::ErrorCode;
    let Some(result) = run_now(state, job).await else {
        return Err(Error::new(
            ErrorCode::NotFound,
            format!(
                "{} is not a daemon-wide job: syncs run per server, with POST /api/v1/servers/{{id}}/sync",
                job.name()
            ),
        ));
    };
    let record = result.map_err(|e| match e {
        RunError::AlreadyRunning => Error::new(
            ErrorCode::JobRunning,
            format!("{} is already running; try again when it ends", job.name()),
        ),
        RunError::Db(e) => e,
    })?;
    let actor = actor.clone();
    let target = format!("job_run:{}", record.id);
    state
        .db()
        .write(move |tx| {
            actor.audit(
                tx,
                "job.run",
                Some(&target),
                Some(json!({ "job": job.name() })),
            )?;
            Ok(())
        })
        .await?;
    Ok(record)
}

/// Run a global job by name now (the admin's "run now"); `None` when it is a per-server job.
pub async fn run_now(state: &AppState, job: Job) -> Option<std::result::Result<JobRun, RunError>> {
    let trigger = Trigger::Manual;
    Some(match job {
        Job::InvitationExpiry => invitation_expiry(state, trigger).await,
        Job::UserExpiry => crate::expiry::enforce(state, trigger).await,
        Job::RedemptionRecovery => recovery(state, trigger).await,
        Job::Cleanup => cleanup(state, trigger).await,
        Job::PruneRuns => prune(state, trigger).await,
        Job::LibrarySync | Job::UserSync => return None,
    })
}

/// Mark invitations that expired or were used up (`closed_at`), and reopen those an admin
/// extended since. Redemption checks the invitation itself; the marks are for lists and the
/// dashboard.
pub async fn invitation_expiry(
    state: &AppState,
    trigger: Trigger,
) -> std::result::Result<JobRun, RunError> {
    let db = state.db().clone();
    run(state, Job::InvitationExpiry, None, trigger, || async move {
        let (expired, used_up, reopened) = db
            .write(|tx| Ok(db::invitations::mark_closed(tx, &time::now())?))
            .await?;
        let mut counts = Map::new();
        counts.insert("expired".into(), count(expired));
        counts.insert("used_up".into(), count(used_up));
        counts.insert("reopened".into(), count(reopened));
        Ok(counts)
    })
    .await
    .map(|(record, _)| record)
}

async fn recovery(state: &AppState, trigger: Trigger) -> std::result::Result<JobRun, RunError> {
    let before = time::fmt(chrono::Utc::now() - STALE_REDEMPTION);
    let s = state.clone();
    run(
        state,
        Job::RedemptionRecovery,
        None,
        trigger,
        || async move {
            let recovered = crate::redemption::recover(&s, before).await?;
            let mut counts = Map::new();
            counts.insert("repaired".into(), count(recovered.settled()));
            counts.insert("completed".into(), count(recovered.completed));
            counts.insert("rolled_back".into(), count(recovered.compensated));
            counts.insert("waiting".into(), count(recovered.waiting));
            Ok(counts)
        },
    )
    .await
    .map(|(record, _)| record)
}

async fn cleanup(state: &AppState, trigger: Trigger) -> std::result::Result<JobRun, RunError> {
    let s = state.clone();
    run(state, Job::Cleanup, None, trigger, || async move {
        s.security().prune_limiters();
        let idle = chrono::Duration::minutes(s.security().config().session_idle_minutes as i64);
        let cutoff = chrono::Utc::now() - idle;
        let quiet = chrono::Duration::seconds(s.security().config().lockout_max_secs as i64);
        let failures_before = time::fmt(chrono::Utc::now() - quiet);
        let (sessions, links, failures) = s
            .db()
            .write(move |tx| {
                let sessions = db::auth::delete_expired(tx, cutoff)?;
                // Failed sign-ins that are neither locked nor recent.
                let failures = db::auth::prune_failures(tx, &failures_before)?;
                // Account links (PIN flows) are kept a day after they end, for support.
                let links = tx.exec(
                    "DELETE FROM join_links WHERE expires_at <= ?1",
                    [time::fmt(chrono::Utc::now() - chrono::Duration::days(1))],
                )?;
                Ok((sessions, links, failures))
            })
            .await?;
        let mut counts = Map::new();
        counts.insert("sessions_and_challenges".into(), count(sessions));
        counts.insert("account_links".into(), count(links));
        counts.insert("failed_sign_ins".into(), count(failures));
        Ok(counts)
    })
    .await
    .map(|(record, _)| record)
}

async fn prune(state: &AppState, trigger: Trigger) -> std::result::Result<JobRun, RunError> {
    let keep = state.live().get().jobs.keep_days;
    let before = time::fmt(chrono::Utc::now() - chrono::Duration::days(keep as i64));
    let db = state.db().clone();
    run(state, Job::PruneRuns, None, trigger, || async move {
        let n = db
            .write(move |tx| Ok(db::jobs::prune(tx, &before)?))
            .await?;
        let mut counts = Map::new();
        counts.insert("deleted".into(), count(n));
        Ok(counts)
    })
    .await
    .map(|(record, _)| record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for job in Job::ALL {
            assert_eq!(Job::parse(job.name()), Some(job));
        }
        assert_eq!(Job::parse("nope"), None);
        assert!(Job::UserSync.per_server());
        assert!(!Job::Cleanup.per_server());
    }

    #[test]
    fn a_job_cannot_overlap_itself() {
        let s = Scheduler::default();
        let first = s.claim(Job::UserSync, Some(1));
        assert!(first.is_some());
        assert!(s.claim(Job::UserSync, Some(1)).is_none());
        assert!(s.claim(Job::UserSync, Some(2)).is_some(), "another server");
        assert!(s.is_running(Job::UserSync, Some(1)));
        drop(first);
        assert!(!s.is_running(Job::UserSync, Some(1)));
        assert!(s.claim(Job::UserSync, Some(1)).is_some());
    }
}

//! Records of background job runs, and the user-sync exclusion list.

use super::time;
use crate::db::Cached;
use rusqlite::{Connection, params, params_from_iter, types::Value};
use serde::Serialize;

/// One job run.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobRun {
    /// Row id.
    pub id: i64,
    /// Job name, e.g. `user_sync`.
    pub job: String,
    /// Server it ran for (per-server jobs); `null` once the server is deleted.
    pub server_id: Option<i64>,
    /// The server's name when it ran.
    pub server_name: Option<String>,
    /// `automatic` (the schedule) or `manual` (an admin).
    pub trigger: String,
    /// Start.
    pub started_at: String,
    /// End; `null` while running.
    pub finished_at: Option<String>,
    /// `running`, `succeeded`, `failed`, `refused` (a safety check stopped it) or
    /// `interrupted` (the daemon stopped while it ran).
    pub outcome: String,
    /// What it found or did (numbers, and short lists of names).
    #[schema(value_type = Object)]
    pub counts: serde_json::Value,
    /// Why it failed or was refused.
    pub error: Option<String>,
}

const COLS: &str =
    "id, job, server_id, server_name, trigger, started_at, finished_at, outcome, counts, error";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRun> {
    let counts: String = r.get(8)?;
    Ok(JobRun {
        id: r.get(0)?,
        job: r.get(1)?,
        server_id: r.get(2)?,
        server_name: r.get(3)?,
        trigger: r.get(4)?,
        started_at: r.get(5)?,
        finished_at: r.get(6)?,
        outcome: r.get(7)?,
        counts: serde_json::from_str(&counts).unwrap_or_default(),
        error: r.get(9)?,
    })
}

/// Record the start of a run; returns its id.
pub fn start(
    c: &Connection,
    job: &str,
    server: Option<(i64, &str)>,
    trigger: &str,
) -> rusqlite::Result<i64> {
    c.exec(
        "INSERT INTO job_runs (job, server_id, server_name, trigger, started_at, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, 'running')",
        params![
            job,
            server.map(|s| s.0),
            server.map(|s| s.1),
            trigger,
            time::now()
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// Record the end of a run.
pub fn finish(
    c: &Connection,
    id: i64,
    outcome: &str,
    counts: &serde_json::Value,
    error: Option<&str>,
) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE job_runs SET finished_at = ?2, outcome = ?3, counts = ?4, error = ?5 WHERE id = ?1",
        params![id, time::now(), outcome, counts.to_string(), error],
    )?;
    Ok(())
}

/// One run.
pub fn get(c: &Connection, id: i64) -> rusqlite::Result<Option<JobRun>> {
    use rusqlite::OptionalExtension;
    c.row(
        &format!("SELECT {COLS} FROM job_runs WHERE id = ?1"),
        [id],
        row,
    )
    .optional()
}

/// Runs left `running` by a daemon that stopped: marked `interrupted`.
pub fn mark_interrupted(c: &Connection) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE job_runs SET outcome = 'interrupted', finished_at = ?1,
                error = 'the daemon stopped while the job ran'
         WHERE outcome = 'running'",
        [time::now()],
    )
}

/// Delete finished runs that started before `before`.
pub fn prune(c: &Connection, before: &str) -> rusqlite::Result<usize> {
    c.exec(
        "DELETE FROM job_runs WHERE started_at < ?1 AND outcome <> 'running'",
        [before],
    )
}

/// Filters of the run list.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Job name.
    pub job: Option<String>,
    /// Server.
    pub server_id: Option<i64>,
    /// Outcome.
    pub outcome: Option<String>,
    /// Trigger.
    pub trigger: Option<String>,
}

/// Runs, newest first, with the total.
pub fn list(
    c: &Connection,
    f: &Filter,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<JobRun>, i64)> {
    let mut clauses = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut add = |clause: &str, v: Value| {
        args.push(v);
        clauses.push(clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(job) = &f.job {
        add("job = ?", Value::Text(job.clone()));
    }
    if let Some(server) = f.server_id {
        add("server_id = ?", Value::Integer(server));
    }
    if let Some(outcome) = &f.outcome {
        add("outcome = ?", Value::Text(outcome.clone()));
    }
    if let Some(trigger) = &f.trigger {
        add("trigger = ?", Value::Text(trigger.clone()));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let total = c.row(
        &format!("SELECT count(*) FROM job_runs {filter}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let n = args.len();
    args.push(Value::Integer(limit));
    args.push(Value::Integer(offset));
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLS} FROM job_runs {filter} ORDER BY id DESC LIMIT ?{} OFFSET ?{}",
        n + 1,
        n + 2
    ))?;
    let items = stmt
        .query_map(params_from_iter(args.iter()), row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok((items, total))
}

/// An account user sync must not import again.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Exclusion {
    /// Server.
    pub server_id: i64,
    /// The server's id for the account.
    pub external_id: String,
    /// Its username when excluded.
    pub username: String,
    /// Who excluded it.
    pub created_by: String,
    /// When.
    pub created_at: String,
}

/// The exclusions of a server, by username.
pub fn exclusions(c: &Connection, server_id: i64) -> rusqlite::Result<Vec<Exclusion>> {
    let mut stmt = c.prepare_cached(
        "SELECT server_id, external_id, username, created_by, created_at FROM sync_exclusions
         WHERE server_id = ?1 ORDER BY username COLLATE NOCASE, external_id",
    )?;
    stmt.query_map([server_id], |r| {
        Ok(Exclusion {
            server_id: r.get(0)?,
            external_id: r.get(1)?,
            username: r.get(2)?,
            created_by: r.get(3)?,
            created_at: r.get(4)?,
        })
    })?
    .collect()
}

/// Exclude an account (idempotent: an existing exclusion is kept as it was).
pub fn exclude(
    c: &Connection,
    server_id: i64,
    external_id: &str,
    username: &str,
    by: &str,
) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO sync_exclusions (server_id, external_id, username, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        params![server_id, external_id, username, by, time::now()],
    )?;
    Ok(())
}

/// Remove an exclusion; whether there was one.
pub fn include(c: &Connection, server_id: i64, external_id: &str) -> rusqlite::Result<bool> {
    Ok(c.exec(
        "DELETE FROM sync_exclusions WHERE server_id = ?1 AND external_id = ?2",
        params![server_id, external_id],
    )? > 0)
}

//! `/admin/jobs`: recent job runs (newest first) with outcome, duration and what each did,
//! filtered by job, server, outcome and trigger (all in the URL, 25 per page); "Run now" for
//! each daemon-wide job ([`crate::jobs::run_by`], as `POST /api/v1/jobs/{job}/run`) and each
//! server's library and user sync ([`crate::sync::run_by`], as `POST /api/v1/servers/{id}/sync`).

use super::*;
use crate::db::jobs::JobRun;
use crate::jobs::{self as domain, Job};
use askama::Template;
use axum::extract::Query;
use serde::Deserialize;

const PER_PAGE: u32 = 25;

/// One run in the table.
#[derive(Debug)]
struct RunRow {
    id: i64,
    started: String,
    job: String,
    server: Option<(String, String)>,
    trigger: String,
    outcome: String,
    ok: bool,
    duration: String,
    counts: Vec<(String, String)>,
    error: Option<String>,
}

/// A server's sync buttons.
#[derive(Debug)]
struct ServerJobs {
    id: i64,
    name: String,
    /// (job, button label).
    buttons: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "admin_jobs.html")]
struct JobsPage {
    l: Layout,
    t: Tr,
    csrf: String,
    /// Daemon-wide jobs: (name, label).
    jobs: Vec<(&'static str, String)>,
    /// Every job, for the filter.
    all_jobs: Vec<(&'static str, String)>,
    servers: Vec<ServerJobs>,
    outcomes: Vec<(&'static str, String)>,
    rows: Vec<RunRow>,
    total: i64,
    job: String,
    server: String,
    outcome: String,
    trigger: String,
    pages: Vec<(u32, String, bool)>,
    flash: Option<(String, bool)>,
    r: Refusal,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListParams {
    job: Option<String>,
    server: Option<String>,
    outcome: Option<String>,
    trigger: Option<String>,
    page: Option<u32>,
    /// The run "Run now" started (shown above the list).
    ran: Option<i64>,
}

fn job_label(t: &Tr, name: &str) -> String {
    t.t(&format!("job-{}", name.replace('_', "-")))
}

/// How long a run took, or "running".
fn duration(t: &Tr, run: &JobRun) -> String {
    let (Some(start), Some(end)) = (
        crate::db::time::parse(&run.started_at),
        run.finished_at.as_deref().and_then(crate::db::time::parse),
    ) else {
        return t.t("job-running");
    };
    let ms = (end - start).num_milliseconds().max(0);
    if ms < 10_000 {
        t.t1("job-duration-ms", "n", &ms.to_string())
    } else {
        t.t1("job-duration-s", "n", &(ms / 1000).to_string())
    }
}

/// What a run found or did: each count that is not zero, lists of names joined (zeros, `false`
/// and empty lists say nothing and are left out).
fn counts(run: &JobRun) -> Vec<(String, String)> {
    use serde_json::Value;
    let said_nothing = |v: &Value| match v {
        Value::Null | Value::Bool(false) => true,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Array(items) => items.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    };
    run.counts
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| !said_nothing(v))
                .map(|(k, v)| {
                    let shown = match v {
                        serde_json::Value::Array(items) => items
                            .iter()
                            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                            .collect::<Vec<_>>()
                            .join(", "),
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), shown)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn row(a: &AdminCtx, run: &JobRun) -> RunRow {
    let t = a.t();
    RunRow {
        id: run.id,
        started: local_time(&a.ctx, &run.started_at),
        job: job_label(t, &run.job),
        server: run.server_name.as_ref().map(|name| {
            (
                name.clone(),
                run.server_id
                    .map(|id| format!("/admin/servers/{id}"))
                    .unwrap_or_default(),
            )
        }),
        trigger: t.t(&format!("job-trigger-{}", run.trigger)),
        outcome: t.t(&format!("job-outcome-{}", run.outcome)),
        ok: matches!(run.outcome.as_str(), "succeeded" | "running"),
        duration: duration(t, run),
        counts: counts(run),
        error: run.error.clone(),
    }
}

/// `GET /admin/jobs?job=&server=&outcome=&trigger=&page=`.
pub(super) async fn list(a: AdminCtx, Query(q): Query<ListParams>) -> Response {
    let t = a.t().clone();
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let (job, server, outcome, trigger) = (
        nonempty(&q.job),
        nonempty(&q.server),
        nonempty(&q.outcome),
        nonempty(&q.trigger),
    );
    let page = q.page.filter(|p| *p >= 1).unwrap_or(1);
    let mut r = Refusal::default();
    let server_id = match server.as_deref().map(str::parse::<i64>) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            r.fields.insert("server".into(), t.t("job-no-server"));
            None
        }
        None => None,
    };
    let query = domain::ListQuery {
        job: job.clone(),
        server_id,
        outcome: outcome.clone(),
        trigger: trigger.clone(),
    };
    let (runs, total) = match query.check() {
        Ok(filter) if r.fields.is_empty() => {
            let offset = i64::from(page - 1) * i64::from(PER_PAGE);
            match domain::list(a.state(), filter, i64::from(PER_PAGE), offset).await {
                Ok(x) => x,
                Err(e) => return e.into_response(),
            }
        }
        Ok(_) => {
            r.notice = Some(t.t("form-has-errors"));
            (Vec::new(), 0)
        }
        Err(e) => {
            r = Refusal::from_error(&t, &e, str::to_owned);
            (Vec::new(), 0)
        }
    };
    let servers = match crate::servers::list(a.state()).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let flash = match q.ran {
        Some(id) => {
            let run = a
                .state()
                .db()
                .run(move |c| Ok(crate::db::jobs::get(c, id)?))
                .await
                .ok()
                .flatten();
            run.map(|run| {
                let ok = matches!(run.outcome.as_str(), "succeeded" | "running");
                (
                    t.t2(
                        "job-ran",
                        "job",
                        &job_label(&t, &run.job),
                        "outcome",
                        &t.t(&format!("job-outcome-{}", run.outcome)),
                    ),
                    ok,
                )
            })
        }
        None => None,
    };
    let mut base = String::from("/admin/jobs");
    let mut sep = '?';
    for (k, v) in [
        ("job", &job),
        ("server", &server),
        ("outcome", &outcome),
        ("trigger", &trigger),
    ] {
        if let Some(v) = v {
            base.push_str(&format!("{sep}{k}={}", percent_encode(v)));
            sep = '&';
        }
    }
    let rows = runs.iter().map(|run| row(&a, run)).collect();
    let page = JobsPage {
        l: a.layout(t.t("job-title"), "jobs"),
        csrf: a.csrf.clone(),
        jobs: Job::ALL
            .into_iter()
            .filter(|j| !j.per_server())
            .map(|j| (j.name(), job_label(&t, j.name())))
            .collect(),
        all_jobs: Job::ALL
            .into_iter()
            .map(|j| (j.name(), job_label(&t, j.name())))
            .collect(),
        servers: servers
            .into_iter()
            .filter(|(s, _)| s.enabled)
            .map(|(s, _)| ServerJobs {
                id: s.id,
                buttons: vec![
                    (
                        Job::LibrarySync.name(),
                        t.t1("job-run-library-sync", "name", &s.name),
                    ),
                    (
                        Job::UserSync.name(),
                        t.t1("job-run-user-sync", "name", &s.name),
                    ),
                ],
                name: s.name,
            })
            .collect(),
        outcomes: domain::OUTCOMES
            .into_iter()
            .map(|o| (o, t.t(&format!("job-outcome-{o}"))))
            .collect(),
        rows,
        total,
        job: job.unwrap_or_default(),
        server: server.unwrap_or_default(),
        outcome: outcome.unwrap_or_default(),
        trigger: trigger.unwrap_or_default(),
        pages: pages(&base, page, PER_PAGE, total),
        flash,
        r,
        t,
    };
    html(StatusCode::OK, &page)
}

/// `POST /admin/jobs/run` with `job` (and `server` for a sync): run it now, then the list with
/// the new run on top.
pub(super) async fn run(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed("/admin/jobs");
    }
    let refused = |e: crate::error::Error| {
        message(
            &a.ctx,
            refused_status(&e),
            "job-run-failed",
            e.public_message(),
            Some(e.code().as_str()),
            vec![("/admin/jobs".to_owned(), a.t().t("back"))],
        )
    };
    let Some(job) = Job::parse(form.get("job")) else {
        return refused(crate::error::Error::not_found("job"));
    };
    let result = if job.per_server() {
        let Ok(server) = form.get("server").parse::<i64>() else {
            return refused(crate::error::Error::not_found("server"));
        };
        let what = if job == Job::LibrarySync {
            crate::sync::What::Libraries
        } else {
            crate::sync::What::Users
        };
        crate::sync::run_by(a.state(), &a.actor(), server, what, false, false)
            .await
            .and_then(|report| {
                report.libraries.or(report.users).ok_or_else(|| {
                    crate::error::Error::Internal(anyhow::anyhow!("the sync recorded no run"))
                })
            })
    } else {
        domain::run_by(a.state(), &a.actor(), job).await
    };
    match result {
        Ok(run) => see_other(&format!("/admin/jobs?ran={}#run-{}", run.id, run.id)),
        Err(e) => refused(e),
    }
}

/// The job routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/jobs", get(list))
        .route("/admin/jobs/run", axum::routing::post(run))
}

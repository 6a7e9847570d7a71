//! `/admin/logs`: the daemon's recent log events (newest first) with level and source filters
//! and a refresh link; with JavaScript, `admin.js` turns the list into a live tail of
//! `GET /api/v1/logs/stream` (server-sent events, same filters, the same backfill), with pause
//! and resume. The events come from the log buffer ([`crate::logging`]), which redacted
//! secret-looking fields before keeping them.

use super::*;
use crate::logging::{LogEvent, LogFilter, LogLevel};
use askama::Template;
use axum::extract::Query;
use serde::Deserialize;
use std::collections::BTreeSet;

/// Events shown (and asked of the stream as its backfill).
const SHOWN: usize = 100;
/// Levels, most severe first.
const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

#[derive(Debug)]
struct Line {
    seq: u64,
    time: String,
    level: &'static str,
    level_label: String,
    target: String,
    message: String,
    fields: String,
}

#[derive(Template)]
#[template(path = "admin_logs.html")]
struct LogsPage {
    l: Layout,
    t: Tr,
    lines: Vec<Line>,
    level: String,
    target: String,
    levels: Vec<(&'static str, String)>,
    /// Sources seen in the buffer, for the source field's suggestions.
    targets: Vec<String>,
    /// This page's URL (the refresh link).
    refresh: String,
    /// The stream's URL with the same filters.
    stream: String,
    /// `level:label|…` for the script.
    level_labels: String,
    filter: String,
    r: Refusal,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Params {
    level: Option<String>,
    target: Option<String>,
}

fn level_name(l: LogLevel) -> &'static str {
    match l {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
    }
}

/// An event's fields as `key=value` pairs (already redacted by the log buffer).
fn fields(e: &LogEvent) -> String {
    e.fields
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `GET /admin/logs?level=&target=`.
pub(super) async fn page(a: AdminCtx, Query(q): Query<Params>) -> Response {
    let t = a.t();
    let mut r = Refusal::default();
    let level_text = q.level.filter(|l| !l.trim().is_empty());
    let level = match level_text.as_deref() {
        None => None,
        Some(l) => match LogLevel::parse(l) {
            Some(l) => Some(l),
            None => {
                r.fields.insert("level".into(), t.t("log-bad-level"));
                r.notice = Some(t.t("form-has-errors"));
                r.code = Some(ErrorCode::ValidationFailed.as_str());
                None
            }
        },
    };
    let target = q
        .target
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let filter = LogFilter {
        level,
        target: target.clone(),
    };
    let recent = a.state().logs().recent(None);
    let targets: BTreeSet<String> = recent
        .iter()
        .map(|e| {
            // Suggest the crate and its first module (`zondarr::jobs`), not every path.
            e.target
                .splitn(3, "::")
                .take(2)
                .collect::<Vec<_>>()
                .join("::")
        })
        .collect();
    let matching: Vec<_> = recent.iter().filter(|e| filter.matches(e)).collect();
    let skip = matching.len().saturating_sub(SHOWN);
    let lines = matching[skip..]
        .iter()
        .rev()
        .map(|e| Line {
            seq: e.seq,
            time: local_time(&a.ctx, &e.time),
            level: level_name(e.level),
            level_label: t.t(&format!("log-level-{}", level_name(e.level))),
            target: e.target.clone(),
            message: e.message.clone(),
            fields: fields(e),
        })
        .collect();
    let mut query = Vec::new();
    if let Some(l) = level {
        query.push(format!("level={}", level_name(l)));
    }
    if let Some(tg) = &target {
        query.push(format!("target={}", percent_encode(tg)));
    }
    let refresh = if query.is_empty() {
        "/admin/logs".to_owned()
    } else {
        format!("/admin/logs?{}", query.join("&"))
    };
    query.push(format!("backfill={SHOWN}"));
    let stream = format!("/api/v1/logs/stream?{}", query.join("&"));
    let page = LogsPage {
        l: a.layout(t.t("log-title"), "logs"),
        t: t.clone(),
        lines,
        level: level_text.unwrap_or_default(),
        target: target.unwrap_or_default(),
        levels: LEVELS
            .into_iter()
            .map(|l| (l, t.t(&format!("log-level-{l}"))))
            .collect(),
        targets: targets.into_iter().collect(),
        refresh,
        stream,
        level_labels: LEVELS
            .into_iter()
            .map(|l| format!("{l}:{}", t.t(&format!("log-level-{l}"))))
            .collect::<Vec<_>>()
            .join("|"),
        filter: a.state().logs().filter(),
        r,
    };
    html(StatusCode::OK, &page)
}

/// The log routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/logs", get(page))
}

//! `GET /api/v1/logs/stream`: a live tail of the daemon's logs as server-sent events, with level
//! and target filters, a backfill of recent events and `Last-Event-ID` resume.
//!
//! Events come from the log buffer ([`crate::logging`]), which has already redacted
//! secret-looking fields. A subscriber that reads too slowly never holds up logging: it falls
//! behind, gets a `lagged` event saying how many it missed, and continues.

use crate::auth::Admin;
use crate::error::{Error, FieldError, Result, code};
use crate::http::Routes;
use crate::http::extract::Query;
use crate::http::openapi::Errors;
use crate::logging::{LogEvent, LogFilter, LogLevel};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use utoipa_axum::routes;

/// Log routes (admin).
pub fn routes() -> Routes {
    vec![routes!(stream)]
}

/// Recent events sent first when the request does not say.
const DEFAULT_BACKFILL: usize = 100;
/// Interval of the keep-alive comments.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// Filters of the log stream.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct StreamQuery {
    /// Least severe level to include: `error`, `warn`, `info`, `debug` or `trace` (default:
    /// everything the daemon's log filter lets through).
    #[param(schema_with = level_schema)]
    level: Option<String>,
    /// Only events whose target starts with this, e.g. `zondarr::plugin` or `zondarr::http`.
    target: Option<String>,
    /// How many recent matching events to send first (default 100, at most the
    /// `log.buffer_events` setting: a larger number sends what the buffer holds). Ignored when
    /// resuming with `Last-Event-ID`.
    #[param(minimum = 0, maximum = 4294967295_u64)]
    backfill: Option<u32>,
}

/// One server-sent event of the stream, as a client's event parser sees it (the schema of each
/// item of the `text/event-stream` body).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documents the wire format; the handler writes the events itself
struct StreamEvent {
    /// `message` for a log event, `lagged` when events were skipped.
    #[schema(schema_with = event_kind_schema)]
    event: String,
    /// The log event's `seq` (resume with it in `Last-Event-ID`); absent on `lagged`.
    id: Option<String>,
    /// JSON text: a `LogEvent` for `message`, `{"missed": n}` for `lagged`.
    #[schema(content_media_type = "application/json")]
    data: String,
}

fn event_kind_schema() -> utoipa::openapi::Object {
    crate::http::openapi::string_enum(&["message", "lagged"])
}

fn level_schema() -> utoipa::openapi::Object {
    crate::http::openapi::string_enum(&["error", "warn", "info", "debug", "trace"])
}

/// Stream the daemon's logs
///
/// Server-sent events (`text/event-stream`). Each log event is a message with the event's `seq`
/// as its id and the `LogEvent` JSON as its data. A `lagged` event (`{"missed": n}`) says that
/// `n` events were skipped because the client read too slowly or resumed after events left the
/// buffer. A comment is sent every 15 seconds to keep the connection open. On reconnect, send
/// the last id received in `Last-Event-ID` (browsers do this by themselves) to continue without
/// gaps; after a restart of the daemon the numbering starts again and the stream starts afresh.
/// Only what the daemon's log filter (`log.level`) lets through can be streamed.
#[utoipa::path(
    get,
    path = "/logs/stream",
    tag = "logs",
    operation_id = "stream_logs",
    // `Last-Event-ID` (the SSE reconnection header, described above) is not listed as a
    // parameter: tools that read an operation's header parameters as a closed set would then
    // expect every other header to be refused.
    params(StreamQuery),
    responses(
        (status = OK, description = "The event stream; each message's data is a `LogEvent`", body = StreamEvent, content_type = "text/event-stream"),
        Errors<code::ValidationFailed>
    )
)]
async fn stream(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Query(q): Query<StreamQuery>,
) -> Result<Response> {
    let logs = state.logs();
    let mut fields = Vec::new();
    let level = match q.level.as_deref() {
        None | Some("") => None,
        Some(l) => {
            let parsed = LogLevel::parse(l);
            if parsed.is_none() {
                fields.push(FieldError::new(
                    "level",
                    "must be one of error, warn, info, debug, trace",
                ));
            }
            parsed
        }
    };
    let backfill = q
        .backfill
        .map_or(DEFAULT_BACKFILL, |b| b as usize)
        .min(logs.capacity());
    let last_id = match headers.get("last-event-id") {
        None => None,
        Some(v) if v.as_bytes().iter().all(u8::is_ascii_whitespace) => None,
        Some(v) => match v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()) {
            Some(id) => Some(id),
            None => {
                fields.push(FieldError::new(
                    "Last-Event-ID",
                    "must be the id of an event of this stream",
                ));
                None
            }
        },
    };
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    let filter = LogFilter {
        level,
        target: q.target.filter(|t| !t.is_empty()),
    };

    let sub = logs.subscribe_with_backlog();
    let mut queue = VecDeque::new();
    // An id at or above the next sequence number comes from before a restart of the daemon:
    // start afresh.
    match last_id.filter(|id| *id < sub.next_seq) {
        Some(id) => {
            let oldest = sub.backlog.first().map_or(sub.next_seq, |e| e.seq);
            if oldest > id + 1 {
                queue.push_back(lagged(oldest - id - 1));
            }
            queue.extend(
                sub.backlog
                    .iter()
                    .filter(|e| e.seq > id && filter.matches(e))
                    .map(|e| message(e)),
            );
        }
        None => {
            let matching: Vec<&Arc<LogEvent>> =
                sub.backlog.iter().filter(|e| filter.matches(e)).collect();
            let skip = matching.len().saturating_sub(backfill);
            queue.extend(matching[skip..].iter().map(|e| message(e)));
        }
    }
    tracing::info!(
        admin = %admin.actor(),
        level = ?filter.level,
        target = filter.target.as_deref().unwrap_or(""),
        "log stream opened"
    );

    let mut recheck = tokio::time::interval(RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let cursor = Cursor {
        queue,
        receiver: sub.receiver,
        filter,
        ended: logs.ended(),
        revocations: state.security().watch_revocations(),
        recheck,
        state: state.clone(),
        admin,
    };
    let events = futures_util::stream::unfold(cursor, next);
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(HEARTBEAT))
        .into_response();
    // Reverse proxies (nginx) must pass events on at once instead of buffering them.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// The state of one open stream.
struct Cursor {
    queue: VecDeque<Event>,
    receiver: broadcast::Receiver<Arc<LogEvent>>,
    filter: LogFilter,
    ended: watch::Receiver<bool>,
    /// Changes when this daemon ends sessions or revokes keys: the stream checks its own.
    revocations: watch::Receiver<u64>,
    /// Checks the credential every [`RECHECK`] too (expiry, changes by the CLI).
    recheck: tokio::time::Interval,
    state: AppState,
    admin: Admin,
}

/// How often an open stream checks that its session or key still holds, besides doing so at
/// once when this daemon revokes credentials.
const RECHECK: Duration = Duration::from_secs(10);

async fn next(mut c: Cursor) -> Option<(Result<Event, Infallible>, Cursor)> {
    if let Some(event) = c.queue.pop_front() {
        return Some((Ok(event), c));
    }
    let event = loop {
        // Decide in the select, await outside it: the branches' futures (one holds a watch
        // guard) must be gone before the credential check awaits.
        let check = tokio::select! {
            _ = c.ended.wait_for(|ended| *ended) => return None,
            changed = c.revocations.changed() => {
                if changed.is_err() {
                    return None;
                }
                true
            }
            _ = c.recheck.tick() => true,
            received = c.receiver.recv() => match received {
                Ok(event) if c.filter.matches(&event) => break message(&event),
                Ok(_) => false,
                Err(broadcast::error::RecvError::Lagged(missed)) => break lagged(missed),
                Err(broadcast::error::RecvError::Closed) => return None,
            },
        };
        if check && !crate::auth::still_valid(&c.state, &c.admin).await {
            tracing::info!(admin = %c.admin.actor(), "log stream ended: its session or key no longer holds");
            return None;
        }
    };
    Some((Ok(event), c))
}

fn message(event: &LogEvent) -> Event {
    Event::default()
        .id(event.seq.to_string())
        .data(serde_json::to_string(event).unwrap_or_default())
}

fn lagged(missed: u64) -> Event {
    Event::default()
        .event("lagged")
        .data(serde_json::json!({ "missed": missed }).to_string())
}

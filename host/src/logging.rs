//! Logging setup: `tracing` with human-readable output by default and one JSON object per line
//! with `--log-format json`. The filter comes from `log.level` / `ZONDARR_LOG` and can be changed
//! at run time through [`LogHandle::set_filter`] (it is installed behind a `reload` layer).
//!
//! Besides stderr, every event that passes the filter is recorded in an in-memory ring buffer of
//! the most recent `log.buffer_events` events and broadcast to live subscribers (the
//! `GET /api/v1/logs/stream` endpoint). Field values whose names look secret are replaced by
//! `[redacted]` *before* they enter the buffer, so no reader ever sees them. Messages are not
//! rewritten: the code base never puts secrets into log messages.
//!
//! This module must not block the caller of `tracing`: recording takes a short mutex, and
//! broadcasting never waits for a slow subscriber (it falls behind and is told so).

mod request;

pub use request::{Request, scope};

use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{broadcast, watch};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

/// Events kept for backfill when the configuration does not say otherwise.
pub const DEFAULT_BUFFER_EVENTS: usize = 2000;
/// Longest message or field value kept in the buffer, in bytes; longer ones are cut.
const MAX_VALUE_BYTES: usize = 4096;
/// Events a live subscriber may fall behind before it misses some.
const CHANNEL_CAPACITY: usize = 1024;
/// What a redacted field value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Severity of an event, most severe first (so `a <= b` means "a is at least as severe as b").
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Errors.
    Error,
    /// Warnings.
    Warn,
    /// Normal operation.
    Info,
    /// Details for debugging.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    fn of(level: &tracing::Level) -> LogLevel {
        match *level {
            tracing::Level::ERROR => LogLevel::Error,
            tracing::Level::WARN => LogLevel::Warn,
            tracing::Level::INFO => LogLevel::Info,
            tracing::Level::DEBUG => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }

    /// Parse `error`, `warn`, `info`, `debug` or `trace` (any case).
    pub fn parse(s: &str) -> Option<LogLevel> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Some(LogLevel::Error),
            "warn" | "warning" => Some(LogLevel::Warn),
            "info" => Some(LogLevel::Info),
            "debug" => Some(LogLevel::Debug),
            "trace" => Some(LogLevel::Trace),
            _ => None,
        }
    }
}

/// One recorded log event, as the log stream sends it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LogEvent {
    /// Sequence number, increasing by one per recorded event since the daemon started; the SSE
    /// event id (`Last-Event-ID` resumes after it).
    pub seq: u64,
    /// When it happened (RFC 3339, UTC).
    pub time: String,
    /// Severity.
    pub level: LogLevel,
    /// Where it comes from: the module path, e.g. `zondarr::http`, or `zondarr::plugin` for
    /// plugin log lines.
    pub target: String,
    /// The message.
    pub message: String,
    /// Structured fields; values of secret-looking names are `[redacted]`.
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// Which events a reader wants.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Least severe level included (`None`: all).
    pub level: Option<LogLevel>,
    /// Target prefix (`None`: all).
    pub target: Option<String>,
}

impl LogFilter {
    /// Whether `event` passes.
    pub fn matches(&self, event: &LogEvent) -> bool {
        self.level.is_none_or(|l| event.level <= l)
            && self
                .target
                .as_deref()
                .is_none_or(|t| event.target.starts_with(t))
    }
}

/// Whether a field with this name may hold a secret. Names containing `token`, `password`,
/// `secret`, `key`, `authorization` or `cookie` (any case) are redacted, except names that by
/// convention hold only a reference or a measure of one: ending in `_id`, `_prefix`, `_name`,
/// `_count` or `_len` (`api_key_id`, `key_prefix`, `token_count`).
pub fn is_sensitive(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    const WORDS: [&str; 6] = [
        "token",
        "password",
        "secret",
        "key",
        "authorization",
        "cookie",
    ];
    const SAFE_SUFFIXES: [&str; 5] = ["_id", "_prefix", "_name", "_count", "_len"];
    WORDS.iter().any(|w| name.contains(w)) && !SAFE_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// What [`LogHandle::subscribe_with_backlog`] returns.
#[derive(Debug)]
pub struct Subscription {
    /// Every buffered event, oldest first.
    pub backlog: Vec<Arc<LogEvent>>,
    /// Events recorded from now on.
    pub receiver: broadcast::Receiver<Arc<LogEvent>>,
    /// The sequence number the next event will get (one above the newest ever recorded).
    pub next_seq: u64,
}

/// The ring buffer and the broadcast channel.
struct Hub {
    capacity: usize,
    ring: Mutex<Ring>,
    tx: broadcast::Sender<Arc<LogEvent>>,
    closed: watch::Sender<bool>,
}

struct Ring {
    next_seq: u64,
    events: VecDeque<Arc<LogEvent>>,
}

impl Hub {
    fn new(capacity: usize) -> Hub {
        let capacity = capacity.max(1);
        Hub {
            capacity,
            ring: Mutex::new(Ring {
                next_seq: 1,
                events: VecDeque::with_capacity(capacity.min(4096)),
            }),
            tx: broadcast::channel(CHANNEL_CAPACITY).0,
            closed: watch::channel(false).0,
        }
    }

    /// Number the event, keep it and send it to the live subscribers. Numbering, storing and
    /// sending happen under one lock, so subscribers see events in sequence order and a
    /// subscription taken with a backfill neither misses nor repeats one.
    fn record(&self, mut event: LogEvent) {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        event.seq = ring.next_seq;
        ring.next_seq += 1;
        let event = Arc::new(event);
        if ring.events.len() == self.capacity {
            ring.events.pop_front();
        }
        ring.events.push_back(event.clone());
        // No receiver is not an error: nobody is watching.
        let _ = self.tx.send(event);
    }
}

/// The reader side of the log pipeline: the ring buffer, live subscriptions, and the run-time
/// filter. Cheap to clone.
///
/// [`init`] returns the handle of the process-wide subscriber. When a global subscriber was
/// already installed (a second `init` in the same process, as in tests), the handle is
/// *detached*: it works the same way, but nothing feeds its buffer and [`LogHandle::set_filter`]
/// only validates and remembers the filter ([`LogHandle::is_attached`] tells them apart).
#[derive(Clone)]
pub struct LogHandle {
    hub: Arc<Hub>,
    reload: Option<reload::Handle<EnvFilter, Registry>>,
    current: Arc<Mutex<String>>,
}

impl fmt::Debug for LogHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogHandle")
            .field("attached", &self.is_attached())
            .field("capacity", &self.hub.capacity)
            .finish()
    }
}

impl LogHandle {
    /// A handle that no subscriber feeds (tests, and code that needs a `LogHandle` value).
    pub fn detached(buffer_events: usize) -> LogHandle {
        LogHandle {
            hub: Arc::new(Hub::new(buffer_events)),
            reload: None,
            current: Arc::new(Mutex::new(String::new())),
        }
    }

    /// Whether this handle belongs to the installed global subscriber.
    pub fn is_attached(&self) -> bool {
        self.reload.is_some()
    }

    /// Replace the log filter (`info`, `zondarr=debug,info`, …) at run time. An invalid filter
    /// is refused with the reason and the old one stays.
    pub fn set_filter(&self, directives: &str) -> Result<(), String> {
        let directives = directives.trim();
        let filter = EnvFilter::builder()
            .parse(directives)
            .map_err(|e| format!("not a valid log filter: {e}"))?;
        if let Some(handle) = &self.reload {
            handle
                .reload(filter)
                .map_err(|e| format!("cannot change the log filter: {e}"))?;
        }
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = directives.to_owned();
        tracing::info!(filter = directives, "log filter changed");
        Ok(())
    }

    /// The filter in effect, as last set.
    pub fn filter(&self) -> String {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many events the buffer keeps.
    pub fn capacity(&self) -> usize {
        self.hub.capacity
    }

    /// Receive every event recorded from now on. A receiver that falls more than a thousand
    /// events behind gets `RecvError::Lagged` and continues with the oldest it can still get.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LogEvent>> {
        self.hub.tx.subscribe()
    }

    /// The buffered events with a sequence number above `after` (all when `None`), oldest
    /// first.
    pub fn recent(&self, after: Option<u64>) -> Vec<Arc<LogEvent>> {
        let ring = self.hub.ring.lock().unwrap_or_else(PoisonError::into_inner);
        ring.events
            .iter()
            .filter(|e| after.is_none_or(|a| e.seq > a))
            .cloned()
            .collect()
    }

    /// The buffered events and a live receiver taken together, so that the receiver continues
    /// exactly after the last buffered event (no event missed or repeated in between).
    pub fn subscribe_with_backlog(&self) -> Subscription {
        let ring = self.hub.ring.lock().unwrap_or_else(PoisonError::into_inner);
        Subscription {
            receiver: self.hub.tx.subscribe(),
            backlog: ring.events.iter().cloned().collect(),
            next_seq: ring.next_seq,
        }
    }

    /// Resolves when [`LogHandle::end_streams`] was called (shutdown), so open streams end and
    /// do not hold up the graceful shutdown.
    pub fn ended(&self) -> watch::Receiver<bool> {
        self.hub.closed.subscribe()
    }

    /// End every open log stream (called when the daemon shuts down).
    pub fn end_streams(&self) {
        self.hub.closed.send_replace(true);
    }

    /// Record an event directly (tests of readers without a global subscriber).
    pub fn record(
        &self,
        level: LogLevel,
        target: &str,
        message: &str,
        fields: BTreeMap<String, serde_json::Value>,
    ) {
        let fields = fields
            .into_iter()
            .map(|(k, v)| {
                let v = if is_sensitive(&k) {
                    serde_json::Value::from(REDACTED)
                } else {
                    v
                };
                (k, v)
            })
            .collect();
        self.hub.record(LogEvent {
            seq: 0,
            time: now(),
            level,
            target: target.to_owned(),
            message: clip(message.to_owned()),
            fields,
        });
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn clip(mut s: String) -> String {
    if s.len() > MAX_VALUE_BYTES {
        let mut end = MAX_VALUE_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// The layer that feeds the hub.
struct HubLayer {
    hub: Arc<Hub>,
}

impl<S: tracing::Subscriber> Layer<S> for HubLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut AsJson(|f: &Field, v| fields.put(f, v)));
        // The request it was logged in, by the id its error page or envelope shows.
        if let Some(id) = request::with(|r| r.id.clone()) {
            fields
                .values
                .entry("request_id".to_owned())
                .or_insert(serde_json::Value::String(id));
        }
        self.hub.record(LogEvent {
            seq: 0,
            time: now(),
            level: LogLevel::of(meta.level()),
            // Events bridged from the `log` crate carry their real target in a field.
            target: fields
                .log_target
                .unwrap_or_else(|| meta.target().to_owned()),
            message: fields.message.unwrap_or_default(),
            fields: fields.values,
        });
    }
}

/// Collects an event's fields, redacting secret-looking ones.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    log_target: Option<String>,
    values: BTreeMap<String, serde_json::Value>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: serde_json::Value) {
        let name = field.name();
        let text = || match &value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if name == "message" {
            self.message = Some(clip(text()));
        } else if name == "log.target" {
            self.log_target = Some(text());
        } else if name.starts_with("log.") {
            // The rest of the `log` bridge's metadata (file, line, module) is noise here.
        } else if is_sensitive(name) {
            self.values
                .insert(name.to_owned(), serde_json::Value::from(REDACTED));
        } else {
            let value = match value {
                serde_json::Value::String(s) => serde_json::Value::String(clip(s)),
                other => other,
            };
            self.values.insert(name.to_owned(), value);
        }
    }
}

/// A field visitor that hands each value to `F` as JSON: numbers and booleans as they are,
/// everything else as text.
struct AsJson<F>(F);

impl<F: FnMut(&Field, serde_json::Value)> Visit for AsJson<F> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        (self.0)(field, serde_json::Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        (self.0)(field, serde_json::Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        (self.0)(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        (self.0)(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        (self.0)(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        (self.0)(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        (self.0)(field, serde_json::Value::String(value.to_string()));
    }
}

/// Install the global subscriber: the (reloadable) filter, the stderr output and the log
/// buffer of `buffer_events` events. Logs go to stderr; stdout is kept for command output.
///
/// A second call in the same process (tests) is harmless: the first subscriber stays and the
/// returned handle is detached (see [`LogHandle`]).
pub fn init(filter: &str, json: bool, buffer_events: usize) -> LogHandle {
    let detached = LogHandle::detached(buffer_events);
    *detached
        .current
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = filter.trim().to_owned();
    let (filter_layer, reload_handle) =
        reload::Layer::new(EnvFilter::builder().parse_lossy(filter));
    // Colours only on a terminal: log files and journald get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let style = if json {
        request::Style::Json
    } else {
        request::Style::Text
    };
    let stderr_layer = tracing_subscriber::fmt::layer()
        .event_format(request::Line(style))
        .with_writer(std::io::stderr)
        .with_ansi(ansi && !json);
    let installed = tracing_subscriber::registry()
        .with(filter_layer)
        .with(stderr_layer)
        .with(HubLayer {
            hub: detached.hub.clone(),
        })
        .try_init();
    match installed {
        Ok(()) => LogHandle {
            reload: Some(reload_handle),
            ..detached
        },
        Err(_) => detached,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    /// A hub fed by a subscriber scoped to the test (not the global one).
    fn scoped(capacity: usize) -> (LogHandle, impl tracing::Subscriber) {
        let handle = LogHandle::detached(capacity);
        let subscriber = tracing_subscriber::registry().with(HubLayer {
            hub: handle.hub.clone(),
        });
        (handle, subscriber)
    }

    #[test]
    fn secret_looking_fields_are_redacted_before_they_are_stored() {
        let (logs, subscriber) = scoped(10);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                password = "hunter2-hunter2",
                api_token = %"zk_abc_def",
                Authorization = "Bearer zk_abc_def",
                session_cookie = "zondarr_session=xyz",
                secret_key = ?"k".repeat(40),
                api_key_id = 7,
                key_prefix = "zk_abc",
                user = "alice",
                "signed in with {}",
                "a message"
            );
        });
        let events = logs.recent(None);
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.message, "signed in with a message");
        for name in [
            "password",
            "api_token",
            "Authorization",
            "session_cookie",
            "secret_key",
        ] {
            assert_eq!(e.fields[name], REDACTED, "{name}");
        }
        assert_eq!(e.fields["api_key_id"], 7);
        assert_eq!(e.fields["key_prefix"], "zk_abc");
        assert_eq!(e.fields["user"], "alice");
        let text = serde_json::to_string(&**e).unwrap();
        for secret in ["hunter2", "zk_abc_def", "xyz", "kkkk"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        // Direct records are redacted the same way.
        logs.record(
            LogLevel::Warn,
            "t",
            "m",
            BTreeMap::from([("refresh_token".to_owned(), "abc".into())]),
        );
        assert_eq!(
            logs.recent(Some(e.seq))[0].fields["refresh_token"],
            REDACTED
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_event_logged_in_a_request_carries_its_request_id_into_the_stream() {
        let (logs, subscriber) = scoped(10);
        let _default = tracing::subscriber::set_default(subscriber);
        let request = Request {
            id: "req-7".into(),
            method: axum::http::Method::GET,
            path: "/j/ABC".into(),
        };
        scope(Arc::new(request), async {
            tracing::warn!("in the request")
        })
        .await;
        tracing::warn!("after it");
        let events = logs.recent(None);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].fields["request_id"], "req-7");
        assert!(
            !events[1].fields.contains_key("request_id"),
            "{:?}",
            events[1]
        );
    }

    #[test]
    fn sensitivity_rule() {
        for name in [
            "token",
            "PASSWORD",
            "client_secret",
            "key",
            "x_api_key",
            "cookie",
        ] {
            assert!(is_sensitive(name), "{name}");
        }
        for name in [
            "user",
            "plugin",
            "api_key_id",
            "key_prefix",
            "token_count",
            "path",
        ] {
            assert!(!is_sensitive(name), "{name}");
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_events_in_sequence() {
        let (logs, subscriber) = scoped(3);
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..5 {
                tracing::warn!(target: "zondarr::test", i, "event {i}");
            }
        });
        let events = logs.recent(None);
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(events[0].message, "event 2");
        assert_eq!(events[0].level, LogLevel::Warn);
        assert_eq!(events[0].target, "zondarr::test");
        assert_eq!(events[0].fields["i"], 2);
        assert!(chrono::DateTime::parse_from_rfc3339(&events[0].time).is_ok());
        assert!(events[0].time.ends_with('Z'));
        assert_eq!(logs.recent(Some(4)).len(), 1);
    }

    #[tokio::test]
    async fn a_subscription_continues_right_after_its_backfill() {
        let logs = LogHandle::detached(10);
        let rec = |m: &str| logs.record(LogLevel::Info, "zondarr", m, BTreeMap::new());
        rec("one");
        rec("two");
        let mut sub = logs.subscribe_with_backlog();
        assert_eq!(sub.next_seq, 3);
        assert_eq!(
            sub.backlog
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>(),
            ["one", "two"]
        );
        rec("three");
        let next = sub.receiver.recv().await.unwrap();
        assert_eq!((next.seq, next.message.as_str()), (3, "three"));
    }

    #[tokio::test]
    async fn a_slow_subscriber_lags_instead_of_blocking() {
        let logs = LogHandle::detached(10);
        let mut rx = logs.subscribe();
        for i in 0..(CHANNEL_CAPACITY + 10) {
            logs.record(LogLevel::Info, "zondarr", &i.to_string(), BTreeMap::new());
        }
        match rx.recv().await {
            Err(broadcast::error::RecvError::Lagged(n)) => assert_eq!(n, 10),
            other => panic!("expected a lag, got {other:?}"),
        }
        assert_eq!(rx.recv().await.unwrap().message, "10");
    }

    #[test]
    fn filters_by_level_and_target_prefix() {
        let event = |level, target: &str| LogEvent {
            seq: 1,
            time: now(),
            level,
            target: target.into(),
            message: String::new(),
            fields: BTreeMap::new(),
        };
        let f = LogFilter {
            level: Some(LogLevel::Warn),
            target: Some("zondarr::http".into()),
        };
        assert!(f.matches(&event(LogLevel::Error, "zondarr::http::join")));
        assert!(f.matches(&event(LogLevel::Warn, "zondarr::http")));
        assert!(!f.matches(&event(LogLevel::Info, "zondarr::http")));
        assert!(!f.matches(&event(LogLevel::Error, "zondarr::db")));
        assert!(LogFilter::default().matches(&event(LogLevel::Trace, "x")));
    }

    #[test]
    fn a_detached_handle_validates_and_remembers_the_filter() {
        let logs = LogHandle::detached(5);
        assert!(!logs.is_attached());
        logs.set_filter("zondarr=debug,info").unwrap();
        assert_eq!(logs.filter(), "zondarr=debug,info");
        assert!(logs.set_filter("zondarr=loud").is_err());
        assert_eq!(logs.filter(), "zondarr=debug,info");
    }
}

//! The HTTP request a log event belongs to, and the stderr lines that name it.
//!
//! Every request runs inside [`scope`] (the `front` middleware of `http`): its method, path and
//! request id are kept in a task-local while its handler runs, and each event logged there
//! names them:
//! - in a text line, as `request{method=GET path=/x request_id=…}:` after the level;
//! - in a JSON line, as `"request": {"method": …, "path": …, "id": …}`;
//! - in the live log stream (`GET /api/v1/logs/stream`), as the field `request_id`, the id an
//!   error page or envelope shows.
//!
//! This replaced a `tracing` span per request. The fmt layer formats a span's fields into a
//! string when the span is made, so every request paid for formatting that almost no request
//! uses (about 8 % of the daemon's CPU under `wrk`, see docs/performance.md). Here nothing is
//! formatted until an event is written.
//!
//! As with the span, work a request hands to another task (`tokio::spawn`, a database closure)
//! is outside the request.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The request being served.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request id (echoed in `X-Request-Id`, shown on error pages and envelopes).
    pub id: String,
    /// The HTTP method.
    pub method: axum::http::Method,
    /// The path, without the query.
    pub path: String,
}

tokio::task_local! {
    static REQUEST: Arc<Request>;
}

/// Run `fut` as the handling of `request`.
pub async fn scope<F: Future>(request: Arc<Request>, fut: F) -> F::Output {
    REQUEST.scope(request, fut).await
}

/// `f` of the request being served, if any.
pub(super) fn with<R>(f: impl FnOnce(&Request) -> R) -> Option<R> {
    REQUEST.try_with(|r| f(r)).ok()
}

/// Which stderr line [`Line`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    /// `2026-12-07T14:30:00.123456Z  WARN request{…}: target: message field=value`.
    Text,
    /// One JSON object: `timestamp`, `level`, the event's fields, `target`, `request`.
    Json,
}

/// The stderr formatter: the line `tracing_subscriber`'s own text or JSON format would write,
/// with the request (if any) in it.
pub(super) struct Line(pub(super) Style);

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        match self.0 {
            Style::Text => text(ctx, writer, event),
            Style::Json => json(writer, event),
        }
    }
}

fn timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn text<S, N>(ctx: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let meta = event.metadata();
    let level = meta.level();
    if w.has_ansi_escapes() {
        let colour = match *level {
            Level::ERROR => "31",
            Level::WARN => "33",
            Level::INFO => "32",
            Level::DEBUG => "34",
            Level::TRACE => "35",
        };
        write!(
            w,
            "\x1b[2m{}\x1b[0m \x1b[{colour}m{level:>5}\x1b[0m ",
            timestamp()
        )?;
    } else {
        write!(w, "{} {level:>5} ", timestamp())?;
    }
    with(|r| {
        write!(
            w,
            "request{{method={} path={} request_id={}}}: ",
            r.method, r.path, r.id
        )
    })
    .transpose()?;
    // Spans, as the default format writes them (the daemon makes none of its own today).
    if let Some(scope) = ctx.event_scope() {
        for span in scope.from_root() {
            w.write_str(span.name())?;
            if let Some(fields) = span.extensions().get::<FormattedFields<N>>()
                && !fields.is_empty()
            {
                write!(w, "{{{fields}}}")?;
            }
            w.write_str(": ")?;
        }
    }
    write!(w, "{}: ", target(event))?;
    ctx.field_format().format_fields(w.by_ref(), event)?;
    writeln!(w)
}

fn json(mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
    // In the order the default JSON format writes them (a map would sort the keys).
    let mut members: Vec<(String, serde_json::Value)> = vec![
        ("timestamp".into(), timestamp().into()),
        ("level".into(), event.metadata().level().as_str().into()),
    ];
    event.record(&mut super::AsJson(|field: &Field, value| {
        // The `log` bridge's metadata (`log.target`, `log.file`, ...) is noise here too.
        if !field.name().starts_with("log.") {
            members.push((field.name().to_owned(), value));
        }
    }));
    members.push(("target".into(), target(event).into()));
    if let Some(request) =
        with(|r| serde_json::json!({ "method": r.method.as_str(), "path": r.path, "id": r.id }))
    {
        members.push(("request".into(), request));
    }
    w.write_char('{')?;
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            w.write_char(',')?;
        }
        write!(w, "{}:{value}", serde_json::Value::from(key.as_str()))?;
    }
    w.write_str("}\n")
}

/// Where `event` comes from: its target, or for an event bridged from the `log` crate the real
/// target it carries in its `log.target` field.
fn target(event: &Event<'_>) -> String {
    struct LogTarget(Option<String>);
    impl Visit for LogTarget {
        fn record_str(&mut self, field: &Field, value: &str) {
            if field.name() == "log.target" {
                self.0 = Some(value.to_owned());
            }
        }
        fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
    }
    let mut found = LogTarget(None);
    event.record(&mut found);
    found
        .0
        .unwrap_or_else(|| event.metadata().target().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tracing_subscriber::layer::SubscriberExt;

    /// Where a test subscriber writes its lines.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn lines(&self) -> Vec<String> {
            String::from_utf8(self.0.lock().unwrap().clone())
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    /// One event in a request and one outside it, as `style` writes them.
    async fn two_lines(style: Style) -> Vec<String> {
        let buffer = Buffer::default();
        let out = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .event_format(Line(style))
                .with_writer(move || out.clone())
                .with_ansi(false),
        );
        let _default = tracing::subscriber::set_default(subscriber);
        let request = Request {
            id: "req-1".into(),
            method: axum::http::Method::POST,
            path: "/api/v1/join/ABC/redeem".into(),
        };
        let answer = scope(Arc::new(request), async {
            tokio::task::yield_now().await;
            tracing::warn!(server = 7, "remote answered 500");
            42
        })
        .await;
        assert_eq!(answer, 42);
        tracing::info!(target: "zondarr::jobs", "expiry ran");
        buffer.lines()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_text_line_names_the_request_it_was_logged_in() {
        let lines = two_lines(Style::Text).await;
        assert_eq!(lines.len(), 2, "{lines:?}");
        let (inside, outside) = (&lines[0], &lines[1]);
        assert!(
            inside.contains(
                " WARN request{method=POST path=/api/v1/join/ABC/redeem request_id=req-1}: \
                 zondarr::logging::request::tests: remote answered 500 server=7"
            ),
            "{inside}"
        );
        assert!(
            outside.ends_with(" INFO zondarr::jobs: expiry ran") && !outside.contains("request"),
            "{outside}"
        );
        // RFC 3339 in UTC first.
        assert!(
            chrono::DateTime::parse_from_rfc3339(inside.split(' ').next().unwrap()).is_ok(),
            "{inside}"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_json_line_names_the_request_it_was_logged_in() {
        let lines = two_lines(Style::Json).await;
        assert_eq!(lines.len(), 2, "{lines:?}");
        let inside: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        let outside: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(inside["level"], "WARN");
        assert_eq!(inside["message"], "remote answered 500");
        assert_eq!(inside["server"], 7);
        assert_eq!(inside["target"], "zondarr::logging::request::tests");
        assert_eq!(
            inside["request"],
            serde_json::json!({ "method": "POST", "path": "/api/v1/join/ABC/redeem", "id": "req-1" })
        );
        assert!(
            inside["timestamp"]
                .as_str()
                .is_some_and(|t| { chrono::DateTime::parse_from_rfc3339(t).is_ok() })
        );
        assert_eq!(outside["target"], "zondarr::jobs");
        assert_eq!(outside["message"], "expiry ran");
        assert!(outside.get("request").is_none(), "{outside}");
    }
}

//! Why a plugin call or a plugin load failed, and how that is shown to API clients.
//!
//! [`CallError`] keeps the details (panic text, the remote's message) for logs and tests; its
//! conversion into [`crate::error::Error`] keeps only what is safe to show: no paths, no URLs,
//! no tokens. A crash (trap) is always distinct from a [`ConnectorError`], which is an expected
//! failure the connector reported.

use crate::error::{Error, ErrorCode};
use std::fmt;

/// An expected failure reported by a connector (`connector-error` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectorError {
    /// The server refused the credentials.
    Unauthorized,
    /// Valid credentials without the rights for this; the connector's words on what was refused.
    Forbidden(String),
    /// The object does not exist.
    NotFound(String),
    /// The username is taken.
    UsernameTaken,
    /// The input was refused (message meant for the admin or invitee).
    InvalidInput(String),
    /// The server could not be reached.
    Unreachable(String),
    /// The server did not answer in time.
    Timeout,
    /// The server asked to slow down.
    RateLimited(Option<u32>),
    /// Not supported by this connector.
    Unsupported(String),
    /// Unexpected HTTP status.
    RemoteStatus(u16),
    /// The answer could not be understood.
    InvalidResponse(String),
    /// The host refused a request the plugin tried to make.
    Denied(String),
    /// Anything else.
    Internal(String),
}

impl fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectorError::Unauthorized => f.write_str("unauthorized"),
            ConnectorError::Forbidden(m) => write!(f, "forbidden: {m}"),
            ConnectorError::NotFound(m) => write!(f, "not found: {m}"),
            ConnectorError::UsernameTaken => f.write_str("username taken"),
            ConnectorError::InvalidInput(m) => write!(f, "invalid input: {m}"),
            ConnectorError::Unreachable(m) => write!(f, "unreachable: {m}"),
            ConnectorError::Timeout => f.write_str("timeout"),
            ConnectorError::RateLimited(Some(s)) => write!(f, "rate limited (retry after {s} s)"),
            ConnectorError::RateLimited(None) => f.write_str("rate limited"),
            ConnectorError::Unsupported(m) => write!(f, "unsupported: {m}"),
            ConnectorError::RemoteStatus(s) => write!(f, "remote status {s}"),
            ConnectorError::InvalidResponse(m) => write!(f, "invalid response: {m}"),
            ConnectorError::Denied(m) => write!(f, "denied: {m}"),
            ConnectorError::Internal(m) => write!(f, "internal: {m}"),
        }
    }
}

/// How a plugin crashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashKind {
    /// The guest panicked (its message was on stderr).
    Panic,
    /// It used up its CPU budget.
    CpuBudget,
    /// It tried to grow its memory past the limit.
    Memory,
    /// Any other trap (unreachable, stack overflow, bad memory access, …).
    Trap,
}

impl CrashKind {
    pub(crate) fn phrase(self) -> &'static str {
        match self {
            CrashKind::Panic => "panicked",
            CrashKind::CpuBudget => "used up its CPU budget",
            CrashKind::Memory => "exceeded its memory limit",
            CrashKind::Trap => "crashed",
        }
    }
}

/// Why a call to a plugin did not return a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No plugin with this id is loaded.
    NotFound(String),
    /// The plugin trapped too often in a row (or timed out with this server) and is not called
    /// for a while (backoff) or until it is reloaded.
    Unhealthy(String),
    /// The plugin has as many calls running as it may (or the instance pool is full).
    Busy(String),
    /// The plugin does not export the interface this operation needs (`oauth`, `auth`).
    NotExported {
        /// Plugin id.
        plugin: String,
        /// The missing interface.
        interface: &'static str,
    },
    /// The call did not finish within the wall-clock limit.
    Timeout {
        /// Plugin id.
        plugin: String,
        /// The limit, seconds.
        secs: u64,
    },
    /// The plugin crashed.
    Crashed {
        /// Plugin id.
        plugin: String,
        /// What happened.
        kind: CrashKind,
        /// Details for the log: the panic message, or the trap description.
        detail: String,
    },
    /// The connector reported an expected failure.
    Connector {
        /// Plugin id.
        plugin: String,
        /// The failure.
        error: ConnectorError,
    },
    /// The daemon is shutting down.
    ShuttingDown,
    /// A failure inside the host, not the plugin's fault.
    Internal(String),
}

impl CallError {
    /// Whether this counts as a crash of the plugin (towards "unhealthy").
    pub fn is_crash(&self) -> bool {
        matches!(self, CallError::Crashed { .. })
    }

    /// The connector error, when the connector reported one.
    pub fn connector_error(&self) -> Option<&ConnectorError> {
        match self {
            CallError::Connector { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::NotFound(id) => write!(f, "no connector plugin `{id}` is loaded"),
            CallError::Unhealthy(id) => write!(f, "the connector plugin `{id}` is unhealthy"),
            CallError::Busy(id) => write!(f, "the connector plugin `{id}` is busy"),
            CallError::NotExported { plugin, interface } => {
                write!(
                    f,
                    "the connector plugin `{plugin}` does not export `{interface}`"
                )
            }
            CallError::Timeout { plugin, secs } => {
                write!(
                    f,
                    "the connector plugin `{plugin}` did not finish within {secs} s"
                )
            }
            CallError::Crashed {
                plugin,
                kind,
                detail,
            } => {
                write!(
                    f,
                    "the connector plugin `{plugin}` {}: {detail}",
                    kind.phrase()
                )
            }
            CallError::Connector { plugin, error } => write!(f, "connector `{plugin}`: {error}"),
            CallError::ShuttingDown => f.write_str("the daemon is shutting down"),
            CallError::Internal(m) => write!(f, "plugin host: {m}"),
        }
    }
}

impl std::error::Error for CallError {}

/// Plugin-provided text for a client: one line, bounded, with anything that looks like a URL
/// removed (connectors often quote the URL they called).
fn safe_text(s: &str) -> String {
    let mut out = Vec::new();
    for word in s.split_whitespace() {
        if word.contains("://") {
            out.push("<url>");
        } else {
            out.push(word);
        }
    }
    let joined = out.join(" ");
    let mut clipped: String = joined
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    if clipped.len() < joined.len() {
        clipped.push('…');
    }
    clipped
}

impl From<CallError> for Error {
    fn from(e: CallError) -> Self {
        match e {
            CallError::NotFound(id) => Error::new(
                ErrorCode::PluginNotFound,
                format!("no connector plugin `{id}` is loaded"),
            ),
            CallError::Unhealthy(id) => Error::new(
                ErrorCode::PluginUnhealthy,
                format!(
                    "the connector plugin `{id}` failed too many times in a row and is not called for a while (it is tried again after a wait that grows each time, or once it is reloaded)"
                ),
            ),
            CallError::Busy(id) => Error::new(
                ErrorCode::PluginBusy,
                format!("the connector plugin `{id}` is busy; try again shortly"),
            )
            .with_retry_after(1),
            CallError::NotExported { plugin, interface } => Error::new(
                ErrorCode::Unsupported,
                format!("the connector plugin `{plugin}` does not support `{interface}`"),
            ),
            CallError::Timeout { plugin, secs } => Error::new(
                ErrorCode::PluginTimeout,
                format!("the connector plugin `{plugin}` did not finish within {secs} s"),
            ),
            CallError::Crashed { plugin, kind, .. } => {
                tracing::debug!(%plugin, ?kind, "reporting plugin crash to the client");
                Error::new(
                    ErrorCode::PluginFailed,
                    format!(
                        "the connector plugin `{plugin}` {}; the daemon log has details",
                        kind.phrase()
                    ),
                )
            }
            CallError::Connector { plugin, error } => connector_to_error(&plugin, error),
            CallError::ShuttingDown => {
                Error::new(ErrorCode::Unavailable, "the daemon is shutting down")
                    .with_retry_after(5)
            }
            CallError::Internal(m) => Error::Internal(anyhow::anyhow!("plugin host: {m}")),
        }
    }
}

fn connector_to_error(plugin: &str, error: ConnectorError) -> Error {
    use ConnectorError as C;
    match error {
        C::Unauthorized => Error::new(
            ErrorCode::RemoteUnauthorized,
            "the media server refused the configured credentials",
        ),
        C::Forbidden(m) => Error::new(
            ErrorCode::RemoteForbidden,
            match safe_text(&m) {
                m if m.is_empty() => {
                    "the media server's credentials lack the rights for this".to_owned()
                }
                m => format!("the media server's credentials lack the rights for this: {m}"),
            },
        ),
        C::NotFound(what) => Error::new(
            ErrorCode::RemoteNotFound,
            format!(
                "the media server says it does not exist: {}",
                safe_text(&what)
            ),
        ),
        C::UsernameTaken => Error::new(
            ErrorCode::UsernameTaken,
            "this username is already taken on the media server",
        ),
        C::InvalidInput(m) => Error::new(ErrorCode::RemoteInvalidInput, safe_text(&m)),
        C::Unreachable(detail) => {
            tracing::warn!(plugin, detail = %safe_text(&detail), "media server unreachable");
            // A certificate the TLS client does not trust is the one cause the admin can fix
            // in the server's settings; the details (issuer, library errors) stay in the log.
            let message = if detail.contains("certificate") {
                "the media server could not be reached: its TLS certificate is not trusted (a \
                 server with a certificate from your own CA needs that CA certificate in its \
                 settings)"
            } else {
                "the media server could not be reached"
            };
            Error::new(ErrorCode::RemoteUnreachable, message)
        }
        C::Timeout => Error::new(
            ErrorCode::RemoteTimeout,
            "the media server did not answer in time",
        ),
        C::RateLimited(after) => {
            let e = Error::new(
                ErrorCode::RemoteRateLimited,
                "the media server asked to slow down",
            );
            match after {
                Some(s) => e.with_retry_after(u64::from(s)),
                None => e,
            }
        }
        C::Unsupported(m) => Error::new(ErrorCode::Unsupported, safe_text(&m)),
        C::RemoteStatus(status) => Error::new(
            ErrorCode::RemoteError,
            format!("the media server answered with HTTP status {status}"),
        ),
        C::InvalidResponse(detail) => {
            tracing::warn!(plugin, detail = %safe_text(&detail), "media server answer not understood");
            // The connector's explanation is what the admin can act on ("an HTML page instead
            // of JSON: check the server URL"), so it is shown, made safe like every plugin text.
            Error::new(
                ErrorCode::RemoteError,
                format!(
                    "the media server's answer could not be understood: {}",
                    safe_text(&detail)
                ),
            )
        }
        C::Denied(detail) => {
            tracing::warn!(plugin, detail = %safe_text(&detail), "plugin request denied by the host");
            Error::new(
                ErrorCode::PluginHostDenied,
                format!(
                    "the connector plugin `{plugin}` tried a request it is not allowed to make; nothing was sent"
                ),
            )
        }
        C::Internal(detail) => {
            tracing::warn!(plugin, detail = %safe_text(&detail), "connector reported an internal error");
            Error::new(
                ErrorCode::PluginFailed,
                format!(
                    "the connector plugin `{plugin}` reported an internal error; the daemon log has details"
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_removed_from_client_messages() {
        let e: Error = CallError::Connector {
            plugin: "x".into(),
            error: ConnectorError::InvalidInput(
                "bad name for http://10.0.0.1/Users?api_key=abc".into(),
            ),
        }
        .into();
        let msg = e.to_string();
        assert!(!msg.contains("10.0.0.1") && !msg.contains("abc"), "{msg}");
        assert_eq!(e.code(), ErrorCode::RemoteInvalidInput);
    }

    #[test]
    fn an_answer_not_understood_shows_the_connectors_explanation() {
        let e: Error = CallError::Connector {
            plugin: "x".into(),
            error: ConnectorError::InvalidResponse(
                "GET /Users was answered with an HTML page instead of JSON; check that the server \
                 URL points at the media server itself (see http://10.0.0.1/web)"
                    .into(),
            ),
        }
        .into();
        assert_eq!(e.code(), ErrorCode::RemoteError);
        let msg = e.to_string();
        assert!(
            msg.starts_with("the media server's answer could not be understood: GET /Users was answered with an HTML page"),
            "{msg}"
        );
        assert!(
            msg.contains("server URL") && !msg.contains("10.0.0.1"),
            "{msg}"
        );
    }

    #[test]
    fn crash_messages_hide_the_panic_text() {
        let e: Error = CallError::Crashed {
            plugin: "x".into(),
            kind: CrashKind::Panic,
            detail: "panicked at /home/me/src/lib.rs:3: token abc".into(),
        }
        .into();
        assert_eq!(e.code(), ErrorCode::PluginFailed);
        assert!(!e.to_string().contains("abc") && !e.to_string().contains("/home"));
    }

    #[test]
    fn codes_follow_the_catalogue() {
        let cases = [
            (CallError::NotFound("x".into()), ErrorCode::PluginNotFound),
            (CallError::Unhealthy("x".into()), ErrorCode::PluginUnhealthy),
            (CallError::Busy("x".into()), ErrorCode::PluginBusy),
            (
                CallError::Timeout {
                    plugin: "x".into(),
                    secs: 1,
                },
                ErrorCode::PluginTimeout,
            ),
            (
                CallError::NotExported {
                    plugin: "x".into(),
                    interface: "oauth",
                },
                ErrorCode::Unsupported,
            ),
        ];
        for (call, code) in cases {
            assert_eq!(Error::from(call).code(), code);
        }
        let connector = [
            (ConnectorError::Unauthorized, ErrorCode::RemoteUnauthorized),
            (
                ConnectorError::Forbidden("no".into()),
                ErrorCode::RemoteForbidden,
            ),
            (
                ConnectorError::NotFound("u".into()),
                ErrorCode::RemoteNotFound,
            ),
            (ConnectorError::UsernameTaken, ErrorCode::UsernameTaken),
            (
                ConnectorError::Unreachable("x".into()),
                ErrorCode::RemoteUnreachable,
            ),
            (ConnectorError::Timeout, ErrorCode::RemoteTimeout),
            (
                ConnectorError::RateLimited(Some(3)),
                ErrorCode::RemoteRateLimited,
            ),
            (
                ConnectorError::Unsupported("x".into()),
                ErrorCode::Unsupported,
            ),
            (ConnectorError::RemoteStatus(500), ErrorCode::RemoteError),
            (
                ConnectorError::InvalidResponse("x".into()),
                ErrorCode::RemoteError,
            ),
            (
                ConnectorError::Denied("x".into()),
                ErrorCode::PluginHostDenied,
            ),
            (
                ConnectorError::Internal("x".into()),
                ErrorCode::PluginFailed,
            ),
        ];
        for (error, code) in connector {
            assert_eq!(
                Error::from(CallError::Connector {
                    plugin: "p".into(),
                    error
                })
                .code(),
                code
            );
        }
    }

    /// An untrusted certificate is named (the admin can fix it), without the library's detail.
    #[test]
    fn an_untrusted_certificate_is_said_cleanly() {
        let error = |detail: &str| {
            Error::from(CallError::Connector {
                plugin: "p".into(),
                error: ConnectorError::Unreachable(detail.into()),
            })
        };
        let tls = error("client error (Connect): invalid peer certificate: UnknownIssuer");
        assert_eq!(tls.code(), ErrorCode::RemoteUnreachable);
        assert!(
            tls.public_message()
                .contains("TLS certificate is not trusted")
        );
        assert!(!tls.public_message().contains("UnknownIssuer"));
        let refused = error("connection refused");
        assert_eq!(
            refused.public_message(),
            "the media server could not be reached"
        );
    }
}

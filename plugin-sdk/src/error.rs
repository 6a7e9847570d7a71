//! The connector's error type. It mirrors the contract's `connector-error` one to one, so every
//! value a connector returns reaches the daemon unchanged; it only adds conversions from the
//! errors a connector meets on the way (JSON and XML decoding, invalid UTF-8).

use std::fmt;

use crate::__private::bindings::zondarr::connector::types::ConnectorError;

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An expected failure of a connector operation. The daemon maps each variant to its own error
/// code; a panic is never one of these, it means the plugin is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The server refused the credentials (HTTP 401).
    Unauthorized,
    /// The credentials are valid but not allowed to do this (HTTP 403); the text says what was
    /// refused, and reaches the admin.
    Forbidden(String),
    /// The user, library or other object does not exist (HTTP 404); the text says which.
    NotFound(String),
    /// The username is already taken.
    UsernameTaken,
    /// The input was refused, with a message for the admin or invitee.
    InvalidInput(String),
    /// The server could not be reached (connection or protocol failure).
    Unreachable(String),
    /// The server did not answer in time.
    Timeout,
    /// The server asked to slow down (HTTP 429); seconds to wait, if it said.
    RateLimited(Option<u32>),
    /// This connector does not support the operation.
    Unsupported(String),
    /// The server answered with an unexpected HTTP status.
    RemoteStatus(u16),
    /// The server's answer could not be understood.
    InvalidResponse(String),
    /// The daemon refused a request the plugin tried to make (undeclared host, absolute URL,
    /// forbidden header, request budget used up).
    Denied(String),
    /// Anything else.
    Internal(String),
}

impl Error {
    /// `Unsupported` for the named operation, the default answer of every optional operation.
    pub fn unsupported(operation: &str) -> Self {
        Self::Unsupported(format!("{operation} is not supported by this connector"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unauthorized => f.write_str("the server refused the credentials"),
            Self::Forbidden(message) => write!(f, "forbidden: {message}"),
            Self::NotFound(what) => write!(f, "not found: {what}"),
            Self::UsernameTaken => f.write_str("the username is already taken"),
            Self::InvalidInput(message) => write!(f, "invalid input: {message}"),
            Self::Unreachable(message) => write!(f, "the server could not be reached: {message}"),
            Self::Timeout => f.write_str("the server did not answer in time"),
            Self::RateLimited(Some(seconds)) => {
                write!(f, "rate limited by the server; retry in {seconds} s")
            }
            Self::RateLimited(None) => f.write_str("rate limited by the server"),
            Self::Unsupported(message) => write!(f, "unsupported: {message}"),
            Self::RemoteStatus(status) => write!(f, "unexpected HTTP status {status}"),
            Self::InvalidResponse(message) => write!(f, "invalid response: {message}"),
            Self::Denied(message) => write!(f, "request denied by the daemon: {message}"),
            Self::Internal(message) => write!(f, "internal error: {message}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::InvalidResponse(format!("bad JSON: {err}"))
    }
}

impl From<quick_xml::DeError> for Error {
    fn from(err: quick_xml::DeError) -> Self {
        Self::InvalidResponse(format!("bad XML: {err}"))
    }
}

impl From<std::str::Utf8Error> for Error {
    fn from(err: std::str::Utf8Error) -> Self {
        Self::InvalidResponse(format!("body is not UTF-8: {err}"))
    }
}

impl From<std::string::FromUtf8Error> for Error {
    fn from(err: std::string::FromUtf8Error) -> Self {
        Self::from(err.utf8_error())
    }
}

impl From<Error> for ConnectorError {
    fn from(err: Error) -> Self {
        match err {
            Error::Unauthorized => Self::Unauthorized,
            Error::Forbidden(message) => Self::Forbidden(message),
            Error::NotFound(what) => Self::NotFound(what),
            Error::UsernameTaken => Self::UsernameTaken,
            Error::InvalidInput(message) => Self::InvalidInput(message),
            Error::Unreachable(message) => Self::Unreachable(message),
            Error::Timeout => Self::Timeout,
            Error::RateLimited(seconds) => Self::RateLimited(seconds),
            Error::Unsupported(message) => Self::Unsupported(message),
            Error::RemoteStatus(status) => Self::RemoteStatus(status),
            Error::InvalidResponse(message) => Self::InvalidResponse(message),
            Error::Denied(message) => Self::Denied(message),
            Error::Internal(message) => Self::Internal(message),
        }
    }
}

impl From<ConnectorError> for Error {
    fn from(err: ConnectorError) -> Self {
        match err {
            ConnectorError::Unauthorized => Self::Unauthorized,
            ConnectorError::Forbidden(message) => Self::Forbidden(message),
            ConnectorError::NotFound(what) => Self::NotFound(what),
            ConnectorError::UsernameTaken => Self::UsernameTaken,
            ConnectorError::InvalidInput(message) => Self::InvalidInput(message),
            ConnectorError::Unreachable(message) => Self::Unreachable(message),
            ConnectorError::Timeout => Self::Timeout,
            ConnectorError::RateLimited(seconds) => Self::RateLimited(seconds),
            ConnectorError::Unsupported(message) => Self::Unsupported(message),
            ConnectorError::RemoteStatus(status) => Self::RemoteStatus(status),
            ConnectorError::InvalidResponse(message) => Self::InvalidResponse(message),
            ConnectorError::Denied(message) => Self::Denied(message),
            ConnectorError::Internal(message) | ConnectorError::Other(message) => {
                Self::Internal(message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_survives_the_trip_through_the_contract_type() {
        let all = [
            Error::Unauthorized,
            Error::Forbidden("may not delete users".into()),
            Error::NotFound("user 7".into()),
            Error::UsernameTaken,
            Error::InvalidInput("too short".into()),
            Error::Unreachable("refused".into()),
            Error::Timeout,
            Error::RateLimited(Some(3)),
            Error::RateLimited(None),
            Error::Unsupported("x".into()),
            Error::RemoteStatus(502),
            Error::InvalidResponse("bad".into()),
            Error::Denied("evil".into()),
            Error::Internal("oops".into()),
        ];
        for err in all {
            let wire = ConnectorError::from(err.clone());
            assert_eq!(Error::from(wire), err);
        }
    }

    #[test]
    fn decoding_errors_become_invalid_response() {
        let json = serde_json::from_str::<u32>("nope").map_err(Error::from);
        assert!(matches!(json, Err(Error::InvalidResponse(m)) if m.starts_with("bad JSON")));
        let xml = quick_xml::de::from_str::<u32>("<a>nope</a>").map_err(Error::from);
        assert!(matches!(xml, Err(Error::InvalidResponse(m)) if m.starts_with("bad XML")));
        let text = String::from_utf8(vec![0xff]).map_err(Error::from);
        assert!(matches!(text, Err(Error::InvalidResponse(_))));
    }

    #[test]
    fn unsupported_names_the_operation() {
        assert_eq!(
            Error::unsupported("set-password").to_string(),
            "unsupported: set-password is not supported by this connector"
        );
    }
}

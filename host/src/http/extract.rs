//! Request extractors whose rejections are the daemon's JSON errors with stable codes, instead of
//! axum's plain-text bodies.

use crate::error::{Error, ErrorCode};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;

/// `axum::Json` with errors as `MALFORMED_JSON`, `UNSUPPORTED_MEDIA_TYPE` or `PAYLOAD_TOO_LARGE`.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` with errors as `BAD_REQUEST`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct Query<T>(pub T);

/// `axum::extract::Path` with errors as `BAD_REQUEST`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub struct Path<T>(pub T);

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Error::new(
                ErrorCode::UnsupportedMediaType,
                "the request body must be JSON with `Content-Type: application/json`",
            ),
            JsonRejection::JsonSyntaxError(e) => Error::new(
                ErrorCode::MalformedJson,
                format!(
                    "the body is not valid JSON: {}",
                    serde_cause(&e.body_text())
                ),
            ),
            JsonRejection::JsonDataError(e) => Error::new(
                ErrorCode::MalformedJson,
                format!(
                    "the JSON does not have the expected shape: {}",
                    serde_cause(&e.body_text())
                ),
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Error::new(ErrorCode::PayloadTooLarge, "the request body is too large")
            }
            _ => Error::new(ErrorCode::BadRequest, "the request body could not be read"),
        }
    }
}

impl From<QueryRejection> for Error {
    fn from(rejection: QueryRejection) -> Self {
        Error::new(
            ErrorCode::BadRequest,
            format!(
                "invalid query string: {}",
                serde_cause(&rejection.body_text())
            ),
        )
    }
}

impl From<PathRejection> for Error {
    fn from(rejection: PathRejection) -> Self {
        Error::new(
            ErrorCode::BadRequest,
            format!(
                "invalid path parameter: {}",
                serde_cause(&rejection.body_text())
            ),
        )
    }
}

/// axum prefixes serde's message with its own explanation; keep the part that names the field
/// and position, which is safe to show and useful.
fn serde_cause(text: &str) -> String {
    let cause = text.split_once(": ").map_or(text, |(_, rest)| rest);
    cause.chars().take(300).collect()
}

/// For PATCH bodies: `Some(None)` when the field is present and `null` (clear it), `None` when
/// it is absent (keep it). Use with `#[serde(default, deserialize_with = "...::double")]`.
pub fn double<'de, T, D>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Ok(Some(serde::Deserialize::deserialize(d)?))
}

//! Request extractors whose rejections are the daemon's JSON errors with stable codes, instead of
//! axum's plain-text bodies.

use crate::error::{Error, ErrorCode};
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value as JsonValue;

/// `axum::Json` with errors as `MALFORMED_JSON`, `UNSUPPORTED_MEDIA_TYPE` or `PAYLOAD_TOO_LARGE`.
///
/// A number with a zero fraction (`581.0`) is the same JSON number as `581` (RFC 8259 does not
/// tell them apart, and many clients write every number as a float), so it is read as the
/// integer wherever the field is an integer.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let axum::Json(mut value) = axum::Json::<JsonValue>::from_request(req, state).await?;
        integral_floats_to_integers(&mut value);
        serde_path_to_error::deserialize(value)
            .map(Json)
            .map_err(|e| {
                let path = e.path().to_string();
                let cause = e.into_inner().to_string();
                let cause = if path == "." {
                    cause
                } else {
                    format!("{path}: {cause}")
                };
                Error::new(
                    ErrorCode::MalformedJson,
                    format!(
                        "the JSON does not have the expected shape: {}",
                        cause.chars().take(300).collect::<String>()
                    ),
                )
            })
    }
}

/// Rewrite every number with a zero fraction that fits an `i64` or `u64` as that integer.
fn integral_floats_to_integers(value: &mut JsonValue) {
    match value {
        JsonValue::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
            {
                // Exactly representable range only (|f| < 2^63 and 0 <= f < 2^64), so the cast
                // neither saturates nor rounds.
                if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
                    *value = JsonValue::from(f as i64);
                } else if (0.0..1.844_674_407_370_955_2e19).contains(&f) {
                    *value = JsonValue::from(f as u64);
                }
            }
        }
        JsonValue::Array(items) => items.iter_mut().for_each(integral_floats_to_integers),
        JsonValue::Object(map) => map.values_mut().for_each(integral_floats_to_integers),
        _ => {}
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` with errors as `BAD_REQUEST`. A parameter given with an empty value
/// (`?outcome=&since=`) is read as absent, as HTML forms and generated clients send unset
/// optional parameters that way.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let raw = parts.uri.query().unwrap_or_default();
        let present = form_urlencoded::parse(raw.as_bytes()).filter(|(_, v)| !v.is_empty());
        let cleaned = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(present)
            .finish();
        serde_urlencoded::from_str(&cleaned)
            .map(Query)
            .map_err(|e| {
                Error::new(
                    ErrorCode::BadRequest,
                    format!(
                        "invalid query string: {}",
                        e.to_string().chars().take(300).collect::<String>()
                    ),
                )
            })
    }
}

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

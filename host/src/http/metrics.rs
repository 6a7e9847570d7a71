//! `GET /metrics` (Prometheus text format, outside `/api/v1`). Requests are counted by route
//! template in `http::front`.
//!
//! `/metrics` is open like `/health` unless `metrics.token` is set; then it needs
//! `Authorization: Bearer <token>`, compared in constant time. It never takes admin sessions or
//! API keys: a scraper gets its own credential that opens nothing else.

use crate::error::{Error, ErrorCode, Result, code};
use crate::http::Routes;
use crate::http::openapi::Errors;
use crate::metrics::Snapshot;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa_axum::routes;

/// The metrics route.
pub fn routes() -> Routes {
    vec![routes!(metrics)]
}

/// Content type of the Prometheus text exposition format.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether the request carries `token` as a bearer token. Both sides are hashed first, so the
/// comparison takes the same time whatever the length or content of the guess.
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    else {
        return false;
    };
    let given = Sha256::digest(given.trim().as_bytes());
    let expected = Sha256::digest(token.as_bytes());
    given.ct_eq(&expected).into()
}

/// Prometheus metrics
///
/// The daemon's metrics in the Prometheus text exposition format: HTTP requests by route
/// template and their latency, plugin calls by outcome and their latency, redemptions by
/// outcome, background job runs, database pool connections, loaded plugins and the build. Open
/// unless the `metrics.token` setting is set; then send it as `Authorization: Bearer <token>`
/// (admin sessions and API keys are not accepted here).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    operation_id = "get_metrics",
    responses(
        (status = OK, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"),
        Errors<code::Unauthenticated>
    )
)]
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    if let Some(token) = &state.config().metrics_token
        && !bearer_matches(&headers, token.expose())
    {
        let mut response = Error::new(
            ErrorCode::Unauthenticated,
            "this endpoint needs the metrics token: Authorization: Bearer <metrics.token>",
        )
        .into_response();
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"zondarr metrics\""),
        );
        return Ok(response);
    }
    let snapshot = Snapshot {
        pools: state.db().pool_states(),
        plugins_loaded: state.plugins().ids().len(),
    };
    let body = state.metrics().render(&snapshot);
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static(EXPOSITION)),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_must_match_exactly() {
        let mut headers = HeaderMap::new();
        assert!(!bearer_matches(&headers, "s3cret-s3cret-s3cret"));
        for (value, ok) in [
            ("Bearer s3cret-s3cret-s3cret", true),
            ("bearer s3cret-s3cret-s3cret", true),
            ("Bearer s3cret-s3cret-s3cre", false),
            ("Bearer s3cret-s3cret-s3cret2", false),
            ("Basic s3cret-s3cret-s3cret", false),
            ("s3cret-s3cret-s3cret", false),
        ] {
            headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
            assert_eq!(
                bearer_matches(&headers, "s3cret-s3cret-s3cret"),
                ok,
                "{value}"
            );
        }
    }
}

//! The HTTP surface: `app(state)` builds the whole router (so tests can drive it without a
//! socket), the cross-cutting middleware, health endpoints and the serve loop with graceful
//! shutdown.
//!
//! Layer order matters and is, from the outside in: `front` (request id, span, error envelope
//! or page, security headers and metrics, so every response, even one produced by an inner
//! layer, carries the id, a proper body and the headers, and is counted with its final status)
//! → panic catcher → timeout → body limit → routes.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod external_login;
pub mod extract;
pub mod invitations;
pub mod join;
pub mod logs;
pub mod metrics;
pub mod openapi;
pub mod operations;
pub mod pagination;
pub mod plugins;
pub mod servers;
pub mod sessions;
pub mod sync;
pub mod users;
pub mod wizard_interactions;
pub mod wizard_join;
pub mod wizards;

use crate::error::{Envelope, EnvelopeBody, Error, ErrorCode, ErrorPayload};
use crate::metrics::Metrics;
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

/// The request id header, echoed on every response.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id of the current request, in the request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Content-Security-Policy for everything the daemon serves: only its own scripts, styles and
/// images, no plugins, no framing, forms post back to itself only.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Routes of one area, each made by `utoipa_axum::routes!` from handlers annotated with
/// `#[utoipa::path]`: the annotation gives the method and path, so what is routed is what is
/// documented (see [`openapi`]).
pub type Routes = Vec<UtoipaMethodRouter<AppState>>;

fn group(areas: impl IntoIterator<Item = Routes>) -> OpenApiRouter<AppState> {
    group_at("", areas)
}

/// The API's prefix.
const API: &str = "/api/v1";

/// Like [`group`], each path under `prefix`. The routes are registered at their full path rather
/// than nested: a nested router strips the prefix from every request's URI (a new URI per
/// request), which was 3 % of the daemon's time on the invitee's first request
/// (docs/performance.md).
fn group_at(prefix: &str, areas: impl IntoIterator<Item = Routes>) -> OpenApiRouter<AppState> {
    areas
        .into_iter()
        .flatten()
        .map(|(schemas, mut paths, method_router)| {
            if !prefix.is_empty() {
                paths.paths = std::mem::take(&mut paths.paths)
                    .into_iter()
                    .map(|(path, item)| (format!("{prefix}{path}"), item))
                    .collect();
            }
            (schemas, paths, method_router)
        })
        .fold(OpenApiRouter::default(), OpenApiRouter::routes)
}

/// Every route of the daemon with its OpenAPI description: the one source of both the router
/// ([`app`]) and the document ([`openapi::document`]). `admin_guard` wraps the admin group (the
/// router passes the authentication layer; the document passes it through unchanged); that same
/// group is marked as requiring a session or an API key in the document.
pub fn routes(
    admin_guard: impl FnOnce(OpenApiRouter<AppState>) -> OpenApiRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let admin = group_at(
        API,
        [
            auth::admin_routes(),
            sessions::routes(),
            api_keys::routes(),
            audit::routes(),
            logs::routes(),
            plugins::routes(),
            servers::routes(),
            invitations::routes(),
            users::routes(),
            sync::routes(),
            operations::routes(),
            wizards::routes(),
        ],
    );
    let admin = openapi::require_admin(admin_guard(admin));
    let api = group_at(
        API,
        [
            auth::public_routes(),
            external_login::public_routes(),
            join::routes(),
            wizard_join::routes(),
            openapi::routes(),
        ],
    )
    .merge(admin);
    group([vec![routes!(live), routes!(ready)], metrics::routes()]).merge(api)
}

/// Build the application router.
pub fn app(state: AppState) -> Router {
    let http = &state.config().http;
    // Everything in the admin group of `routes` requires an authenticated admin; the extractor
    // runs as a route layer so a new admin route cannot forget it. Public routes are listed
    // separately there.
    let guard = state.clone();
    let (routes, _) = routes(move |admin| {
        admin.route_layer(middleware::from_extractor_with_state::<
            crate::auth::Admin,
            AppState,
        >(guard))
    })
    .split_for_parts();

    // One middleware in front of every route (`front`) does the request id, the span, the
    // error envelope or page, the security headers and the metrics. It was eleven layers; each
    // nests the future it wraps, and moving those nested futures was the largest item left in
    // the profile of the invitee's first request (docs/performance.md).
    let web = crate::web::Web::new(state.clone());
    let front_state = Front {
        metrics: Some(state.metrics().clone()),
        web: Some(web.clone()),
    };
    routes
        .merge(crate::web::router(web))
        .fallback(not_found)
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn_with_state(front_state, front))
                .layer(CatchPanicLayer::new())
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    Duration::from_secs(http.request_timeout_secs),
                ))
                .layer(DefaultBodyLimit::max(http.max_body_bytes)),
        )
        .with_state(state)
}

/// What `front` needs from the daemon. Unit tests of the envelope run it without either.
#[derive(Clone, Default)]
struct Front {
    metrics: Option<Arc<Metrics>>,
    web: Option<Arc<crate::web::Web>>,
}

/// The one middleware in front of every route. It:
/// - assigns the request id (keeping a well-formed one the client sent) and echoes it;
/// - runs the request in its logging scope (`logging::scope`: events logged while it runs name
///   its method, path and id);
/// - turns every error response into the JSON envelope with that id or, for a browser outside
///   the API, into an HTML error page with that id (`web::error_page`). Pages the web layer
///   rendered itself (`text/html`) pass unchanged. Internal causes are logged here, once, and
///   never rendered;
/// - sets the security headers on every response, the error pages it renders included;
/// - counts the request with its final status under its route template
///   (`/api/v1/users/{id}`), or `unmatched`, so ids and invite codes never become label values.
async fn front(State(front): State<Front>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_valid_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let html = front
        .web
        .as_ref()
        .filter(|_| crate::web::wants_html(req.headers(), req.uri()))
        .map(|web| (web.clone(), req.headers().clone()));
    req.extensions_mut().insert(RequestId(id.clone()));

    // Events logged while the request runs name it (`logging::scope`).
    let request = Arc::new(crate::logging::Request { id, method, path });
    let response = crate::logging::scope(request.clone(), next.run(req)).await;
    let crate::logging::Request { id, method, path } = &*request;

    let mut response = error_response(response, html.as_ref(), id, method, path);
    let headers = response.headers_mut();
    set_security_headers(headers);
    if let Ok(value) = HeaderValue::from_str(id) {
        headers.insert(REQUEST_ID.clone(), value);
    }
    if let Some(metrics) = &front.metrics {
        metrics.http_request(
            method.as_str(),
            route.as_deref().unwrap_or("unmatched"),
            response.status().as_u16(),
            started.elapsed(),
        );
    }
    response
}

/// Every response's security headers. Nothing the daemon answers may sit in a shared or
/// browser cache (API keys, TOTP secrets, CSRF tokens, admin data) unless the handler says
/// otherwise (hashed assets), and a handler may set its own content security policy; the rest
/// are the same for every response.
fn set_security_headers(headers: &mut axum::http::HeaderMap) {
    // Room for all of them and the request id at once, rather than growing the map twice.
    headers.reserve(8);
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// An error response as the client gets it: the envelope, or the HTML error page when `html`
/// holds the web layer and the request's headers. Other responses pass unchanged.
fn error_response(
    mut response: Response,
    html: Option<&(Arc<crate::web::Web>, axum::http::HeaderMap)>,
    id: &str,
    method: &Method,
    path: &str,
) -> Response {
    if let Some(payload) = response.extensions_mut().remove::<ErrorPayload>() {
        if let Some(cause) = &payload.internal {
            tracing::error!(request_id = %id, %method, %path, error = %cause, "internal error");
        }
        return match html {
            Some((web, headers)) => html_error(response, web, headers, payload.code, id),
            None => render_envelope(response, &payload, id),
        };
    }
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
    }
    let content_type = response.headers().get(header::CONTENT_TYPE);
    let is_json = content_type.is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let is_page = content_type.is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_json || is_page {
        return response;
    }
    // Produced by a layer or by axum itself (method not allowed, timeout, panic): the same
    // envelope (or page) as handler errors.
    let code = code_for_status(status);
    if code == ErrorCode::Internal {
        tracing::error!(request_id = %id, %method, %path, %status, "request failed");
    }
    match html {
        Some((web, headers)) => html_error(response, web, headers, code, id),
        None => {
            let payload = ErrorPayload {
                code,
                message: default_message(code).to_owned(),
                fields: Vec::new(),
                internal: None,
            };
            render_envelope(response, &payload, id)
        }
    }
}

/// The HTML error page in place of `original`, keeping its `Retry-After`.
fn html_error(
    original: Response,
    web: &crate::web::Web,
    headers: &axum::http::HeaderMap,
    code: ErrorCode,
    request_id: &str,
) -> Response {
    let mut page = crate::web::error_page(web, headers, code, request_id);
    if let Some(v) = original.headers().get(header::RETRY_AFTER) {
        page.headers_mut().insert(header::RETRY_AFTER, v.clone());
    }
    page
}

fn is_valid_request_id(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn render_envelope(original: Response, payload: &ErrorPayload, request_id: &str) -> Response {
    let (mut parts, _) = original.into_parts();
    let body = Envelope {
        error: EnvelopeBody {
            code: payload.code.as_str(),
            message: &payload.message,
            request_id,
            fields: &payload.fields,
        },
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    parts.status = payload.code.status();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Response::from_parts(parts, Body::from(bytes))
}

fn code_for_status(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::REQUEST_TIMEOUT => ErrorCode::RequestTimeout,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::ValidationFailed,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
        s if s.is_client_error() => ErrorCode::BadRequest,
        _ => ErrorCode::Internal,
    }
}

fn default_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NotFound => "no such resource",
        ErrorCode::MethodNotAllowed => "this method is not allowed on this resource",
        ErrorCode::RequestTimeout => "the request took too long",
        ErrorCode::PayloadTooLarge => "the request body is too large",
        ErrorCode::UnsupportedMediaType => "unsupported content type",
        ErrorCode::Internal => "internal error; the daemon log has details under this request id",
        _ => "the request could not be processed",
    }
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Error {
    let _ = method;
    Error::new(
        ErrorCode::NotFound,
        format!("no route for {}", truncate(uri.path(), 200)),
    )
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Answer of the liveness probe.
#[derive(Serialize, utoipa::ToSchema)]
struct Live {
    /// Always `ok`.
    status: &'static str,
    /// The daemon's version.
    version: &'static str,
}

/// Liveness probe
///
/// Answers as long as the process serves HTTP.
#[utoipa::path(get, path = "/health/live", tag = "health", operation_id = "health_live", responses((status = OK, body = Live)))]
async fn live() -> impl IntoResponse {
    axum::Json(Live {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Answer of the readiness probe.
#[derive(Serialize, utoipa::ToSchema)]
struct Ready {
    /// Always `ready`.
    status: &'static str,
    /// Each dependency and its state.
    checks: ReadyChecks,
}

/// Dependencies checked by the readiness probe.
#[derive(Serialize, utoipa::ToSchema)]
struct ReadyChecks {
    /// `ok`.
    database: &'static str,
}

/// Readiness probe
///
/// Ready when the database answers; otherwise `UNAVAILABLE`.
#[utoipa::path(get, path = "/health/ready", tag = "health", operation_id = "health_ready", responses((status = OK, body = Ready)))]
async fn ready(State(state): State<AppState>) -> Result<impl IntoResponse, Error> {
    state.db().ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check: database unavailable");
        Error::new(ErrorCode::Unavailable, "the database is not available")
    })?;
    Ok(axum::Json(Ready {
        status: "ready",
        checks: ReadyChecks { database: "ok" },
    }))
}

/// Resolve when SIGTERM or Ctrl-C arrives.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    // SIGTERM is subscribed to now, not when the future is first polled: the daemon announces
    // that it listens right after calling this, and a SIGTERM sent at once (a supervisor, a
    // test) must stop it cleanly rather than kill it.
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
        tracing::info!("shutdown requested; finishing in-flight requests");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn test_app() -> Router {
        app(AppState::for_tests(&[("ZONDARR_HTTP_MAX_BODY_BYTES", "2048")]).await)
    }

    async fn call(
        app: Router,
        req: Request,
    ) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let resp = app.oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        (status, headers, json)
    }

    fn get_req(path: &str) -> Request {
        Request::get(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn unknown_route_is_a_json_404_with_request_id() {
        let (status, headers, body) = call(test_app().await, get_req("/api/v1/nope")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], "NOT_FOUND");
        let id = headers.get("x-request-id").unwrap().to_str().unwrap();
        assert_eq!(body["error"]["request_id"], id);
        assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
        assert!(
            headers
                .get("content-security-policy")
                .unwrap()
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
    }

    #[tokio::test]
    async fn an_html_error_page_carries_the_security_headers_and_is_counted() {
        let state = AppState::for_tests(&[]).await;
        let metrics = state.metrics().clone();
        let req = Request::delete("/assets/app.css")
            .header("accept", "text/html")
            .body(Body::empty())
            .unwrap();
        let resp = app(state).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        let headers = resp.headers();
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert!(
            headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        let id = headers["x-request-id"].to_str().unwrap().to_owned();
        let body = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains(&id));
        let text = metrics.render(&crate::metrics::Snapshot::default());
        assert!(
            text.lines()
                .any(|l| l.contains("route=\"/assets/{name}\"") && l.contains("status=\"405\"")),
            "{text}"
        );
    }

    #[tokio::test]
    async fn wrong_method_is_a_json_405() {
        let req = Request::post("/health/live").body(Body::empty()).unwrap();
        let (status, _, body) = call(test_app().await, req).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED");
    }

    #[tokio::test]
    async fn client_request_id_is_echoed_only_when_well_formed() {
        let req = Request::get("/health/live")
            .header("x-request-id", "abc-123")
            .body(Body::empty())
            .unwrap();
        let (_, headers, _) = call(test_app().await, req).await;
        assert_eq!(headers.get("x-request-id").unwrap(), "abc-123");
        let req = Request::get("/health/live")
            .header("x-request-id", "<script>")
            .body(Body::empty())
            .unwrap();
        let (_, headers, _) = call(test_app().await, req).await;
        assert_ne!(headers.get("x-request-id").unwrap(), "<script>");
    }

    #[tokio::test]
    async fn health_endpoints_answer() {
        let (status, _, body) = call(test_app().await, get_req("/health/live")).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("ok"))
        );
        let (status, _, body) = call(test_app().await, get_req("/health/ready")).await;
        assert_eq!(
            (status, body["checks"]["database"].as_str()),
            (StatusCode::OK, Some("ok"))
        );
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Probe {
        name: String,
    }

    async fn echo(extract::Json(p): extract::Json<Probe>) -> String {
        p.name
    }

    fn json_app(limit: usize) -> Router {
        Router::new()
            .route("/echo", axum::routing::post(echo))
            .layer(middleware::from_fn_with_state(Front::default(), front))
            .layer(DefaultBodyLimit::max(limit))
    }

    fn post(body: &str, content_type: Option<&str>) -> Request {
        let mut b = Request::post("/echo");
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        b.body(Body::from(body.to_owned())).unwrap()
    }

    #[tokio::test]
    async fn json_rejections_have_stable_codes() {
        let cases = [
            (
                post("{not json", Some("application/json")),
                StatusCode::BAD_REQUEST,
                "MALFORMED_JSON",
            ),
            (
                post("{\"nam\": 1}", Some("application/json")),
                StatusCode::BAD_REQUEST,
                "MALFORMED_JSON",
            ),
            (
                post("{\"name\": \"x\"}", Some("text/plain")),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
            ),
            (
                post("{\"name\": \"x\"}", None),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
            ),
            (
                post(
                    &format!("{{\"name\": \"{}\"}}", "x".repeat(5000)),
                    Some("application/json"),
                ),
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
            ),
        ];
        for (req, status, code) in cases {
            let (s, _, body) = call(json_app(1024), req).await;
            assert_eq!(
                (s, body["error"]["code"].as_str()),
                (status, Some(code)),
                "{body}"
            );
        }
        let (s, _, body) = call(
            json_app(1024),
            post("{\"nam\": 1}", Some("application/json")),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("missing field `name`"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        async fn boom() -> Result<(), Error> {
            Err(Error::Internal(anyhow::anyhow!(
                "SELECT secret FROM /var/lib/x"
            )))
        }
        let app = Router::new()
            .route("/boom", get(boom))
            .layer(middleware::from_fn_with_state(Front::default(), front));
        let (status, _, body) = call(app, get_req("/boom")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "INTERNAL");
        assert!(!body.to_string().contains("SELECT"), "{body}");
    }

    #[tokio::test]
    async fn panics_become_an_internal_envelope() {
        async fn panics() -> &'static str {
            panic!("handler bug")
        }
        let app = Router::new().route("/p", get(panics)).layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn_with_state(Front::default(), front))
                .layer(CatchPanicLayer::new()),
        );
        let (status, _, body) = call(app, get_req("/p")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "INTERNAL");
        assert!(!body.to_string().contains("handler bug"));
    }

    #[tokio::test]
    async fn slow_requests_time_out_with_an_envelope() {
        async fn slow() -> &'static str {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        }
        let app = Router::new().route("/slow", get(slow)).layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn_with_state(Front::default(), front))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    Duration::from_millis(50),
                )),
        );
        let (status, _, body) = call(app, get_req("/slow")).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::REQUEST_TIMEOUT, Some("REQUEST_TIMEOUT"))
        );
    }
}

//! The plugin host with the real fixture component (built from `plugins/fixture` by
//! `host/build.rs`) against a loopback fake speaking the fixture's protocol: sandbox limits,
//! host-import policy, hot reload, refusals, `plugin check`/`plugin new`, and the plugins API of
//! the real daemon.
//!
//! No test asserts on timing except the "serving within 2 s", which is a deadline poll
//! with a generous bound; measured durations are printed.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zondarr::config::PluginsConfig;
use zondarr::plugins::{
    Bundled, CallError, ConnectorError, CrashKind, DeleteOptions, LibraryAccess, NewUser,
    PermissionValue, PluginHost, PluginState, SecretString, ServerContext, SourceView,
    Value as PValue,
};

mod api;
mod calls;
mod reload;
mod sandbox;

pub(super) const TOKEN: &str = "fixture-token-123";
const VERSION_TAG: &[u8] = b"ZONDARR-FIXTURE-VERSION=0.1.0;";

// ---------------------------------------------------------------------------------------------
// Fixture bytes

/// The fixture component built by host/build.rs, embedded when this test binary was compiled
/// (a file read at run time could be rewritten by a concurrent build).
const FIXTURE: &[u8] = include_bytes!(env!("ZONDARR_FIXTURE_WASM"));

pub(super) fn fixture() -> Vec<u8> {
    assert!(
        !FIXTURE.is_empty(),
        "the fixture component is empty: no plugin build has run (PLUGINS_SKIP_BUILD); build without it"
    );
    FIXTURE.to_vec()
}

/// Replace every occurrence of `from` by `to` (same length): a consistent rename inside the
/// component keeps it valid.
pub(super) fn patch(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut count = 0;
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            count += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(
        count > 0,
        "{} not found in the fixture",
        String::from_utf8_lossy(from)
    );
    out
}

/// The fixture reporting another version.
pub(super) fn fixture_version(version: &str) -> Vec<u8> {
    let to = format!("ZONDARR-FIXTURE-VERSION={version};");
    patch(&fixture(), VERSION_TAG, to.as_bytes())
}

/// Write `bytes` to `dir/name` atomically (temporary file + rename), as installers should.
pub(super) fn install(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp).expect("create tmp");
    f.write_all(bytes).expect("write");
    f.sync_all().expect("sync");
    std::fs::rename(&tmp, dir.join(name)).expect("rename");
}

// ---------------------------------------------------------------------------------------------
// A loopback fake of the fixture protocol that counts every request it receives

#[derive(Default)]
pub(super) struct Fake {
    requests: AtomicUsize,
    /// Requests that reached `/outside`, outside the `/base` path.
    pub(super) outside: AtomicUsize,
    pub(super) client_ids: Mutex<Vec<String>>,
}

pub(super) struct FakeServer {
    pub(super) url: String,
    pub(super) state: Arc<Fake>,
}

impl FakeServer {
    pub(super) fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
}

async fn count(State(fake): State<Arc<Fake>>, req: Request, next: Next) -> Response {
    fake.requests.fetch_add(1, Ordering::SeqCst);
    if req.uri().path().starts_with("/outside") {
        fake.outside.fetch_add(1, Ordering::SeqCst);
    }
    let authorized = req
        .headers()
        .get("x-fixture-token")
        .is_some_and(|v| v == TOKEN);
    // A user's sign-in (`/auth`) is sent without the server's credentials: the fake refuses one
    // that carries the token, so the test of `authenticate` fails if the host attached it.
    if req.uri().path() == "/auth" {
        if req.headers().contains_key("x-fixture-token") {
            return (
                StatusCode::BAD_REQUEST,
                "the sign-in carried the server's token",
            )
                .into_response();
        }
        return next.run(req).await;
    }
    // The echo host (`/pins`) gets no credentials; everything else needs the token.
    if !authorized && !req.uri().path().starts_with("/pins") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    next.run(req).await
}

fn user_json(username: &str) -> Value {
    json!({"id": "7", "username": username, "email": "ann@example.test", "disabled": false, "admin": false})
}

pub(super) async fn fake_server() -> FakeServer {
    let state = Arc::new(Fake::default());
    let app = Router::new()
        .route("/info", get(|| async { axum::Json(json!({"name": "Fake", "version": "9.9", "id": "srv-1"})) }))
        .route(
            "/libraries",
            get(|| async { axum::Json(json!([{"id": "1", "name": "Movies", "kind": "movies"}])) }),
        )
        .route(
            "/users",
            get(|| async { axum::Json(json!([user_json("ann")])) }).post(|axum::Json(body): axum::Json<Value>| async move {
                if body["username"] == "taken" {
                    StatusCode::CONFLICT.into_response()
                } else {
                    (StatusCode::CREATED, axum::Json(user_json(body["username"].as_str().unwrap_or("")))).into_response()
                }
            }),
        )
        .route("/users/{id}", axum::routing::delete(|| async { StatusCode::NO_CONTENT }))
        .route("/users/{id}/{what}", post(|| async { StatusCode::NO_CONTENT }))
        .route("/huge", get(|| async { vec![b'x'; 256 * 1024] }))
        .route(
            "/base/redirect-out",
            get(|| async { axum::response::Redirect::to("/outside") }),
        )
        .route("/outside", get(|| async { "another application" }))
        .route(
            "/auth",
            post(|axum::Json(body): axum::Json<Value>| async move {
                if body["password"] == "right" {
                    axum::Json(json!({"id": "1", "username": body["username"], "admin": true})).into_response()
                } else {
                    StatusCode::UNAUTHORIZED.into_response()
                }
            }),
        )
        .route(
            "/pins",
            post(|State(fake): State<Arc<Fake>>, axum::Json(body): axum::Json<Value>| async move {
                let id = body["client_id"].as_str().unwrap_or("").to_owned();
                fake.client_ids.lock().expect("lock").push(id);
                axum::Json(json!({"id": "p1", "code": "ABCD", "auth_url": "http://link.example/a", "expires_in": 600}))
            }),
        )
        .route(
            "/pins/{id}",
            get(|axum::extract::Path(id): axum::extract::Path<String>| async move {
                if id == "p1" {
                    axum::Json(json!({"status": "linked", "account": {"id": "9", "username": "bob", "token": "linked-secret-77"}}))
                } else {
                    axum::Json(json!({"status": "pending"}))
                }
            }),
        )
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    FakeServer { url, state }
}

/// The server context for the fake, with a behaviour.
pub(super) fn server(fake: &FakeServer, behaviour: &str) -> ServerContext {
    ServerContext::new(fake.url.clone())
        .with_secret("api_key", TOKEN)
        .with_config("behaviour", behaviour)
        .with_extra_host("echo", fake.url.clone())
}

// ---------------------------------------------------------------------------------------------
// Hosts

pub(super) fn config(dir: &Path) -> PluginsConfig {
    PluginsConfig {
        dir: dir.join("plugins"),
        watch: false,
        memory_bytes: 64 * 1024 * 1024,
        cpu_ms: 500,
        call_timeout_secs: 10,
        max_http_requests: 10,
        max_response_bytes: 64 * 1024,
        http_timeout_secs: 5,
        concurrency: 8,
        unhealthy_after: 3,
    }
}

pub(super) struct Env {
    pub(super) dir: PathBuf,
    pub(super) host: PluginHost,
}

pub(super) async fn start(cfg: PluginsConfig, bundled: Vec<Bundled>) -> Env {
    let root = cfg.dir.parent().expect("parent").to_owned();
    let host =
        PluginHost::start_with_bundled(&cfg, root.join("cache"), "install-1".into(), bundled)
            .await
            .expect("start plugin host");
    Env {
        dir: cfg.dir.clone(),
        host,
    }
}

/// A host with the fixture installed in its folder.
pub(super) async fn with_fixture(
    tweak: impl FnOnce(&mut PluginsConfig),
) -> (Env, tempfile::TempDir) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(tmp.path());
    tweak(&mut cfg);
    std::fs::create_dir_all(&cfg.dir).expect("mkdir");
    install(&cfg.dir, "fixture.wasm", &fixture());
    let env = start(cfg, Vec::new()).await;
    assert_eq!(
        env.host.ids(),
        vec!["fixture".to_owned()],
        "{:#?}",
        env.host.list()
    );
    // The fixture declares an extra host; as an admin would, open it (the tests of that
    // approval start without it: `sandbox::a_first_versions_extra_hosts_stay_closed_until_approved`).
    let approved = env.host.approve("fixture").await;
    assert_eq!(approved.len(), 1, "{approved:#?}");
    (env, tmp)
}

pub(super) fn crash_kind(e: &CallError) -> Option<CrashKind> {
    match e {
        CallError::Crashed { kind, .. } => Some(*kind),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// A tracing subscriber writing into a buffer, installed for the current thread

#[derive(Clone, Default)]
pub(super) struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub(super) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

pub(super) fn capture_logs() -> (LogBuffer, tracing::subscriber::DefaultGuard) {
    let buf = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(buf.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (buf, guard)
}

/// Bad files of every kind: the reason each is refused.
pub(super) fn broken_files() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let good = fixture();
    vec![
        (
            "garbage",
            b"this is not wasm at all".to_vec(),
            "not a WebAssembly file",
        ),
        ("empty", Vec::new(), "empty"),
        (
            "describe loops",
            patch(
                &good,
                b"ZONDARR-FIXTURE-DESCRIBE=normal;",
                b"ZONDARR-FIXTURE-DESCRIBE=loop__;",
            ),
            "describe()",
        ),
        (
            "describe panics",
            patch(
                &good,
                b"ZONDARR-FIXTURE-DESCRIBE=normal;",
                b"ZONDARR-FIXTURE-DESCRIBE=panic_;",
            ),
            "describe()",
        ),
        (
            "core module",
            b"\0asm\x01\0\0\0".to_vec(),
            "core WebAssembly module, not a component",
        ),
        (
            "truncated component",
            good[..good.len() / 2].to_vec(),
            "not a valid WebAssembly component",
        ),
        (
            "contract 0.2",
            patch(
                &good,
                b"zondarr:connector/connector@0.3.0",
                b"zondarr:connector/connector@0.2.0",
            ),
            "built for contract zondarr:connector@0.2.0; this daemon supports zondarr:connector@0.3.x",
        ),
        (
            "unknown import",
            patch(
                &good,
                b"zondarr:connector/host@0.3.0",
                b"zondarr:connector/hosx@0.3.0",
            ),
            "zondarr:connector/hosx@0.3.0",
        ),
    ]
}

//! What the plugin benches share (`benches/plugins.rs` and the `plugin_call` section of
//! `benches/perf.rs`): the fixture component, a plugins config, a loopback server for the
//! fixture's `GET /info`, and the call-overhead measurement: a call in a fresh instance
//! (`test_connection`, one HTTP request through the host import) against a plain reqwest GET of
//! the same URL.

use axum::Router;
use axum::routing::get;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};
use zondarr::config::PluginsConfig;
use zondarr::plugins::{PluginHost, ServerContext};

/// The credential the loopback server expects (the fixture sends it as `X-Fixture-Token`).
pub const TOKEN: &str = "bench-token";

/// The plugins config of the benches: the daemon's defaults, with the watcher as asked.
pub fn config(dir: &Path, watch: bool) -> PluginsConfig {
    PluginsConfig {
        dir: dir.join("plugins"),
        watch,
        memory_bytes: 64 * 1024 * 1024,
        cpu_ms: 2000,
        call_timeout_secs: 30,
        max_http_requests: 50,
        max_response_bytes: 16 * 1024 * 1024,
        http_timeout_secs: 30,
        concurrency: 8,
        unhealthy_after: 5,
    }
}

const FIXTURE: &[u8] = include_bytes!(env!("ZONDARR_FIXTURE_WASM"));

/// The test fixture component, as `host/build.rs` built it.
pub fn fixture() -> Vec<u8> {
    assert!(
        !FIXTURE.is_empty(),
        "the fixture is empty: no plugin build has run (PLUGINS_SKIP_BUILD)"
    );
    FIXTURE.to_vec()
}

/// Write `bytes` as `dir/name` atomically (as an admin's copy would appear to the watcher).
pub fn install(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).expect("write");
    std::fs::rename(&tmp, dir.join(name)).expect("rename");
}

/// An axum server on loopback answering the fixture's `GET /info`; its base URL.
pub async fn loopback_server() -> String {
    let app = Router::new().route(
        "/info",
        get(|headers: axum::http::HeaderMap| async move {
            if headers.get("x-fixture-token").is_none_or(|v| v != TOKEN) {
                return Err(axum::http::StatusCode::UNAUTHORIZED);
            }
            Ok(axum::Json(
                json!({"name": "Bench", "version": "1.0", "id": "bench-1"}),
            ))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

/// The call-overhead measurement: the fixture loaded in a host, a loopback server, and a
/// reqwest client set up like the host's own (no redirects, same timeout).
pub struct CallBench {
    pub host: PluginHost,
    ctx: ServerContext,
    /// A server context whose `behaviour` the fixture refuses before any request.
    no_request: ServerContext,
    client: reqwest::Client,
    target: String,
}

impl CallBench {
    /// Load the fixture from `dir/plugins` (with its cache in `dir/cache`) and start the server.
    pub async fn start(dir: &Path) -> Self {
        let url = loopback_server().await;
        let cfg = config(dir, false);
        std::fs::create_dir_all(&cfg.dir).expect("mkdir");
        install(&cfg.dir, "fixture.wasm", &fixture());
        let host =
            PluginHost::start_with_bundled(&cfg, dir.join("cache"), "bench".into(), Vec::new())
                .await
                .expect("start");
        let ctx = ServerContext::new(url.clone()).with_secret("api_key", TOKEN);
        let no_request = ctx.clone().with_config("behaviour", "bench: no request");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Self {
            host,
            ctx,
            no_request,
            client,
            target: format!("{url}/info"),
        }
    }

    /// One `test_connection` in a fresh instance: one loopback GET through the host import,
    /// the answer parsed by the plugin. The host makes the next call's instance after the call,
    /// in a task of its own; this waits for it untimed, so no timed row shares the machine with
    /// it (as calls seconds apart in a daemon do not).
    pub async fn plugin_call(&self) -> Duration {
        let started = Instant::now();
        self.host
            .test_connection("fixture", &self.ctx)
            .await
            .expect("call");
        let elapsed = started.elapsed();
        self.host.settle("fixture").await;
        elapsed
    }

    /// One call in a fresh instance that makes no request: the fixture reads its `behaviour`
    /// setting (one host import), refuses the value and returns a connector error.
    pub async fn call_without_request(&self) -> Duration {
        let started = Instant::now();
        let result = self.host.test_connection("fixture", &self.no_request).await;
        let elapsed = started.elapsed();
        self.host.settle("fixture").await;
        assert!(
            matches!(result, Err(zondarr::plugins::CallError::Connector { .. })),
            "{result:?}"
        );
        elapsed
    }

    /// A fresh instance of the fixture, created and dropped, no export called.
    pub async fn instantiate(&self) -> Duration {
        self.host
            .time_instantiation("fixture")
            .await
            .expect("instantiate")
    }

    /// The baseline: a plain reqwest GET of the same URL, body read and parsed as JSON.
    pub async fn plain_get(&self) -> Duration {
        let started = Instant::now();
        let body = self
            .client
            .get(&self.target)
            .header("X-Fixture-Token", TOKEN)
            .send()
            .await
            .expect("get")
            .bytes()
            .await
            .expect("body");
        let _: serde_json::Value = serde_json::from_slice(&body).expect("json");
        started.elapsed()
    }
}

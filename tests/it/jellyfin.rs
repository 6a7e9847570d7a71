//! The bundled Jellyfin connector: the real `jellyfin.wasm` that `host/build.rs` embeds in the
//! daemon, run by the real plugin host against the stateful fake Jellyfin of `tests/fakes`.
//!
//! Contract check: every test ends with [`Harness::finish`], which validates every request the
//! connector sent against both official OpenAPI documents (the committed excerpts in
//! `tests/fakes/specs/`, kept equal to the official documents by a test in `zondarr-fakes`), checks that no legacy authentication was used, and
//! checks the fake's own successful JSON answers against the same documents, so the fake cannot
//! drift from the real API. A harness dropped without `finish` fails the test.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zondarr::config::PluginsConfig;
use zondarr::plugins::{
    Bundled, CallError, ConnectorError, DeleteOptions, LibraryAccess, NewUser, PermissionValue,
    PluginHost, SecretString, ServerContext, SourceView, Value as PValue,
};
use zondarr_fakes::jellyfin::{
    ADMIN_NAME, ADMIN_PASSWORD, DEFAULT_AUTH_PROVIDER, DEFAULT_RESET_PROVIDER, Failure,
    JellyfinFake, RecordedRequest,
};
use zondarr_fakes::openapi::{OpenApi, excerpt};

mod connection;
mod failures;
mod users;

const PLUGIN: &str = "jellyfin";
const INSTALL_ID: &str = "3f2c9a7d5b1e4c8fa6d0e2b4c6a8f0d1";

/// Both official OpenAPI documents, as the excerpts the repository keeps of them (exactly the
/// operations and schemas the connector uses; see `zondarr_fakes::openapi::excerpt`), parsed
/// once per test binary.
fn specs() -> &'static [OpenApi] {
    static SPECS: OnceLock<Vec<OpenApi>> = OnceLock::new();
    SPECS.get_or_init(|| {
        excerpt::EXCERPTS
            .iter()
            .filter(|e| e.official.starts_with("jellyfin-"))
            .map(|e| e.load().expect("the committed Jellyfin excerpts parse"))
            .collect()
    })
}

/// The Jellyfin component embedded in the daemon.
fn bundled_jellyfin() -> Bundled {
    let bundled = zondarr::plugins::bundled()
        .into_iter()
        .find(|b| b.name == PLUGIN)
        .expect("host/build.rs embeds plugins/jellyfin");
    assert!(
        !bundled.bytes.is_empty(),
        "the embedded jellyfin.wasm is empty: the tests were built with PLUGINS_SKIP_BUILD"
    );
    bundled
}

fn config(root: &Path) -> PluginsConfig {
    PluginsConfig {
        dir: root.join("plugins"),
        watch: false,
        memory_bytes: 64 * 1024 * 1024,
        cpu_ms: 2000,
        call_timeout_secs: 20,
        max_http_requests: 50,
        max_response_bytes: 16 * 1024 * 1024,
        // Short, so a hanging server is a quick test.
        http_timeout_secs: 2,
        concurrency: 8,
        unhealthy_after: 5,
    }
}

/// Compiled code shared by every test of this file (the cache writes atomically).
fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("jellyfin-plugin-cache")
}

struct Harness {
    host: PluginHost,
    fake: JellyfinFake,
    ctx: ServerContext,
    finished: bool,
    _tmp: tempfile::TempDir,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if !self.finished && !std::thread::panicking() {
            panic!("a Jellyfin test ended without Harness::finish (the contract check)");
        }
    }
}

async fn harness() -> Harness {
    harness_with(|_| {}).await
}

async fn harness_with(tweak: impl FnOnce(&mut PluginsConfig)) -> Harness {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(tmp.path());
    tweak(&mut cfg);
    let host = PluginHost::start_with_bundled(
        &cfg,
        cache_dir(),
        INSTALL_ID.into(),
        vec![bundled_jellyfin()],
    )
    .await
    .expect("start the plugin host");
    assert_eq!(host.ids(), vec![PLUGIN.to_owned()], "{:#?}", host.list());
    let fake = JellyfinFake::start().await;
    let ctx = ServerContext::new(fake.base_url()).with_secret("api_key", fake.api_key());
    Harness {
        host,
        fake,
        ctx,
        finished: false,
        _tmp: tmp,
    }
}

impl Harness {
    /// The contract check of the module docs.
    fn finish(mut self) {
        self.finished = true;
        let requests = self.fake.requests();
        let mut violations = Vec::new();
        for request in &requests {
            violations.extend(contract_violations(request));
        }
        assert!(
            violations.is_empty(),
            "requests outside the official Jellyfin API:\n{}",
            violations.join("\n")
        );
    }

    async fn create(&self, user: &NewUser) -> Result<zondarr::plugins::RemoteUser, CallError> {
        let made = self.host.create_user(PLUGIN, &self.ctx, user).await?;
        assert_eq!(made.origin, zondarr::plugins::AccountOrigin::Created);
        Ok(made.user)
    }

    /// Request lines the connector sent, e.g. `POST /Users/New`.
    fn lines(&self) -> Vec<String> {
        self.fake
            .requests()
            .iter()
            .map(RecordedRequest::line)
            .collect()
    }
}

/// Everything wrong with one request (and the fake's answer to it).
fn contract_violations(request: &RecordedRequest) -> Vec<String> {
    let mut out = Vec::new();
    let line = request.line();
    for legacy in [
        "x-emby-token",
        "x-mediabrowser-token",
        "x-emby-authorization",
        "x-emby-client",
    ] {
        if request.header(legacy).is_some() {
            out.push(format!("{line}: sends the legacy header {legacy}"));
        }
    }
    if let Some(auth) = request.header("authorization")
        && !auth.starts_with("MediaBrowser ")
    {
        out.push(format!(
            "{line}: Authorization is not the MediaBrowser scheme"
        ));
    }
    if request
        .query
        .as_deref()
        .is_some_and(|q| q.to_ascii_lowercase().contains("api_key="))
    {
        out.push(format!("{line}: sends the legacy api_key query parameter"));
    }
    for spec in specs() {
        if let Err(errors) = spec.validate_request(&request.parts()) {
            out.extend(errors);
        }
        if let Some(response) = &request.response
            && request.injected.is_none()
            && (200..300).contains(&response.status)
            && !response.body_omitted
            && let Err(errors) = spec.validate_response(
                &request.method,
                &request.path,
                response.status,
                response.content_type.as_deref(),
                &response.body,
            )
        {
            out.extend(
                errors
                    .into_iter()
                    .map(|e| format!("the fake answered wrongly: {e}")),
            );
        }
    }
    out
}

fn connector_error(result: Result<impl std::fmt::Debug, CallError>) -> ConnectorError {
    match result {
        Err(CallError::Connector { error, .. }) => error,
        other => panic!("expected a connector error, got {other:?}"),
    }
}

fn new_user(name: &str, password: &str) -> NewUser {
    NewUser {
        username: name.into(),
        password: Some(SecretString::new(password)),
        email: None,
        linked_account: None,
        libraries: LibraryAccess::All,
        permissions: Vec::new(),
    }
}

/// The manifest's permissions with their defaults, as the daemon sends them.
fn default_permissions(host: &PluginHost) -> Vec<PermissionValue> {
    host.manifest(PLUGIN)
        .expect("manifest")
        .permissions
        .into_iter()
        .map(|p| PermissionValue {
            key: p.key,
            value: p.default_value,
        })
        .collect()
}

fn flag(key: &str, value: bool) -> PermissionValue {
    PermissionValue {
        key: key.into(),
        value: PValue::Flag(value),
    }
}

fn number(key: &str, value: i64) -> PermissionValue {
    PermissionValue {
        key: key.into(),
        value: PValue::Number(value),
    }
}

fn dashed(hex: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn is_hex_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A loopback port nobody listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

//! The connector plugin host: loads WebAssembly connector components (bundled ones and files in
//! the plugins folder), keeps them hot-reloadable, and runs every call in a fresh sandboxed
//! instance with limits. `docs/plugins.md` describes the design, the limits and the measured
//! costs.
//!
//! This module owns everything wasmtime-facing; the rest of the daemon sees only
//! [`PluginHost`], the host-side types in [`types`], [`CallError`] and the status views. It must
//! not touch the database or HTTP routing (the `http::plugins` handlers call into it).
//!
//! Layout: `engine` (Engine, ticker, linker), `bindings` (the one `bindgen!` site), `load` (the
//! load pipeline), `cache` (compiled code), `manifest` (validation), `registry` (versions per
//! id, reloads, swap), `watch` (folder watcher), `call` (one sandboxed call), `host_http` and
//! `host_log` (the host imports), `cli` (`zondarr plugin check|new`).

mod bindings;
mod cache;
mod call;
pub mod cli;
mod engine;
mod engine_config;
mod error;
mod host_http;
mod host_log;
mod load;
mod manifest;
mod registry;
mod status;
pub mod types;
mod watch;

pub use error::{CallError, ConnectorError, CrashKind};
pub use host_http::ServerHandle;
pub use load::{COMPILE_LIMIT, LoadError, LoadTimings, MAX_COMPONENT_BYTES, MAX_FUNCTION_BYTES};
pub use registry::{Approval, Bundled, PendingApproval, RescanFailure, RescanReport};
pub use status::{Inspection, LoadErrorView, PluginState, PluginStatus, SourceView};
pub use types::*;

use crate::config::PluginsConfig;
use bytes::Bytes;
use call::{CallIo, CallLimits, CallSetup, CallState, Failure, Op, Reply};
use host_http::{HttpShared, RequestBudget};
use load::{LoadedPlugin, Loader, Source};
use registry::{Published, Registry};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;
use wasmtime::Store;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/plugins.rs"));
}

/// How long a call waits for a free slot of the plugin's concurrency limit before it is
/// refused with `PLUGIN_BUSY`.
pub const BUSY_WAIT: Duration = Duration::from_secs(2);
/// First wait before a plugin (or a plugin with one server) that failed too often in a row gets
/// another call; doubled after every further failure, up to 15 minutes.
pub const HEALTH_BACKOFF: Duration = Duration::from_secs(30);
/// Debounce of the plugins-folder watcher.
pub const WATCH_DEBOUNCE: Duration = Duration::from_millis(300);

/// The response cap in effect: `plugins.max_response_bytes`, but at most half of the call's
/// memory limit, so a body that passes the cap fits in the guest's memory with room to parse it,
/// and a larger one is refused as `too-large` instead of crashing the plugin. Host-side buffering
/// is then at most `plugins.concurrency` × this per plugin.
pub fn response_cap(cfg: &PluginsConfig) -> u64 {
    let half = (cfg.memory_bytes / 2).max(1024);
    if cfg.max_response_bytes > half {
        tracing::warn!(
            configured = cfg.max_response_bytes,
            used = half,
            "plugins.max_response_bytes is more than half of plugins.memory_mib; the smaller value is used"
        );
        half
    } else {
        cfg.max_response_bytes
    }
}

/// The install id a plugin sees (`install-id()`): derived from the installation's id and the
/// plugin id (HMAC-SHA-256, 32 hex digits), stable for both, so plugins cannot correlate or
/// impersonate each other's registrations (e.g. Plex's client identifier).
pub fn plugin_install_id(install_id: &str, plugin_id: &str) -> String {
    use hmac::Mac;
    let Ok(mut mac) = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(install_id.as_bytes())
    else {
        return String::new();
    };
    mac.update(b"zondarr plugin install id\0");
    mac.update(plugin_id.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// The connector plugins embedded in this binary.
pub fn bundled() -> Vec<Bundled> {
    embedded::BUNDLED
        .iter()
        .map(|(name, bytes, _)| Bundled {
            name: (*name).to_owned(),
            bytes: Bytes::from_static(bytes),
        })
        .collect()
}

/// The machine code `host/build.rs` compiled from exactly these component bytes, if they are
/// those of a bundled plugin (compared in full, so a changed file never gets another's code).
pub fn precompiled_for(wasm: &[u8]) -> Option<&'static [u8]> {
    embedded::BUNDLED
        .iter()
        .find(|(_, bytes, code)| !code.is_empty() && *bytes == wasm)
        .map(|(_, _, code)| *code)
}

/// Told about every call into a plugin (metrics). `outcome` is `ok` or a fixed word for the
/// failure (see [`call_outcome`]); `plugin` is `unknown` for an id that is not loaded, so
/// arbitrary ids never become label values.
pub trait CallObserver: Send + Sync {
    /// One call finished.
    fn plugin_call(&self, plugin: &str, operation: &str, outcome: &str, elapsed: Duration);
}

/// The outcome word of a call result, for [`CallObserver`].
pub fn call_outcome<T>(result: &Result<T, CallError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(CallError::NotFound(_)) => "not_found",
        Err(CallError::Unhealthy(_)) => "unhealthy",
        Err(CallError::Busy(_)) => "busy",
        Err(CallError::NotExported { .. }) => "not_exported",
        Err(CallError::Timeout { .. }) => "timeout",
        Err(CallError::Crashed { .. }) => "crashed",
        Err(CallError::Connector { .. }) => "connector_error",
        Err(CallError::ShuttingDown) => "shutting_down",
        Err(CallError::Internal(_)) => "internal",
    }
}

/// The plugin host. Cheap to clone; all clones share one engine and registry.
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

struct Inner {
    loader: Loader,
    limits: CallLimits,
    unhealthy_after: u32,
    /// First wait after too many failures in a row (doubled each time, up to
    /// [`load::MAX_BACKOFF`]).
    backoff: RwLock<Duration>,
    pooling: bool,
    published: Published,
    registry: tokio::sync::Mutex<Registry>,
    watcher: Mutex<Option<watch::Watcher>>,
    closed: AtomicBool,
    observer: OnceLock<Arc<dyn CallObserver>>,
    _ticker: Option<engine::Ticker>,
    _anchor: Option<engine::TimerAnchor>,
}

impl Default for PluginHost {
    /// A host with no plugins and no folder, for tests of code that only needs a `PluginHost`
    /// value; every call answers `PLUGIN_NOT_FOUND`.
    fn default() -> Self {
        let engine = engine::inert();
        let linker = Arc::new(wasmtime::component::Linker::new(&engine));
        let http = HttpShared::new(Duration::from_secs(30), 64 * 1024 * 1024).ok();
        let cfg = PluginsConfig {
            dir: PathBuf::new(),
            watch: false,
            memory_bytes: 64 * 1024 * 1024,
            cpu_ms: 2000,
            call_timeout_secs: 30,
            max_http_requests: 50,
            max_response_bytes: 64 * 1024 * 1024,
            http_timeout_secs: 30,
            concurrency: 8,
            unhealthy_after: 5,
        };
        Self::assemble(
            &cfg,
            Loader {
                engine,
                linker,
                cache: None,
                http: Arc::new(http.unwrap_or_else(HttpShared::unusable)),
                install_id: Arc::from(""),
                memory_bytes: 64 * 1024 * 1024,
                compile_limit_ms: load::default_compile_limit(),
                too_slow: Default::default(),
            },
            false,
            None,
            Registry::new(None, Vec::new()),
        )
    }
}

impl PluginHost {
    /// Start the host with the plugins embedded in the daemon: create the engine and the
    /// plugins folder if missing, load the bundled plugins, scan the folder, and watch it when
    /// `cfg.watch` is set. Compiled code is cached in `cache_dir`.
    /// `approvals` are the plugin versions an admin approved (see [`PluginHost::approve`]).
    pub async fn start(
        cfg: &PluginsConfig,
        cache_dir: PathBuf,
        install_id: String,
        approvals: Vec<Approval>,
    ) -> anyhow::Result<PluginHost> {
        Self::start_full(cfg, cache_dir, install_id, bundled(), approvals).await
    }

    /// [`PluginHost::start`] with an explicit list of bundled plugins (tests use the fixture)
    /// and no approvals.
    pub async fn start_with_bundled(
        cfg: &PluginsConfig,
        cache_dir: PathBuf,
        install_id: String,
        bundled: Vec<Bundled>,
    ) -> anyhow::Result<PluginHost> {
        Self::start_full(cfg, cache_dir, install_id, bundled, Vec::new()).await
    }

    /// [`PluginHost::start`] with everything explicit.
    pub async fn start_full(
        cfg: &PluginsConfig,
        cache_dir: PathBuf,
        install_id: String,
        bundled: Vec<Bundled>,
        approvals: Vec<Approval>,
    ) -> anyhow::Result<PluginHost> {
        std::fs::create_dir_all(&cfg.dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the plugins folder {}: {e}",
                cfg.dir.display()
            )
        })?;
        let dir = cfg.dir.canonicalize().unwrap_or_else(|_| cfg.dir.clone());
        // Compiled code is trusted completely: it must never share a folder with the files
        // anyone who installs plugins can write.
        let _ = std::fs::create_dir_all(&cache_dir);
        let cache_real = cache_dir
            .canonicalize()
            .unwrap_or_else(|_| cache_dir.clone());
        if cache_real.starts_with(&dir) || dir.starts_with(&cache_real) {
            anyhow::bail!(
                "the compiled-code cache {} overlaps the plugins folder {}; move plugins.dir",
                cache_real.display(),
                dir.display()
            );
        }
        let (engine, pooling) = engine::build(cfg)?;
        let ticker = engine::Ticker::start(&engine)?;
        let linker = Arc::new(engine::linker(&engine)?);
        let cache = cache::CodeCache::open(cache_dir, &engine)?;
        let http = HttpShared::new(
            Duration::from_secs(cfg.http_timeout_secs),
            response_cap(cfg),
        )?;
        let loader = Loader {
            engine,
            linker,
            cache: Some(cache),
            http: Arc::new(http),
            install_id: Arc::from(install_id),
            memory_bytes: usize::try_from(cfg.memory_bytes).unwrap_or(usize::MAX),
            compile_limit_ms: load::default_compile_limit(),
            too_slow: Default::default(),
        };
        let host = Self::assemble(
            cfg,
            loader,
            pooling,
            Some(ticker),
            Registry::new(Some(dir.clone()), bundled),
        );
        {
            let inner = &host.inner;
            let mut registry = inner.registry.lock().await;
            registry.set_approvals(approvals);
            registry.load_bundled(&inner.loader, &inner.published).await;
            let report = registry.rescan(&inner.loader, &inner.published).await;
            tracing::info!(
                folder = %dir.display(),
                plugins = inner.published.slots.read().map(|s| s.len()).unwrap_or(0),
                refused = report.failed.len(),
                pooling,
                "plugin host started"
            );
        }
        if cfg.watch {
            let watcher = watch::Watcher::start(&dir, Arc::downgrade(&host.inner))?;
            if let Ok(mut slot) = host.inner.watcher.lock() {
                *slot = Some(watcher);
            }
        }
        Ok(host)
    }

    /// A host without a plugins folder, watcher or bundled plugins, for `zondarr plugin check`
    /// and benchmarks: [`PluginHost::inspect`] runs the real load pipeline with the real limits.
    /// Compiled code is cached in `cache_dir` when given.
    pub fn standalone(
        cfg: &PluginsConfig,
        cache_dir: Option<PathBuf>,
    ) -> anyhow::Result<PluginHost> {
        let (engine, pooling) = engine::build(cfg)?;
        let ticker = engine::Ticker::start(&engine)?;
        let linker = Arc::new(engine::linker(&engine)?);
        let cache = cache_dir
            .map(|dir| cache::CodeCache::open(dir, &engine))
            .transpose()?;
        let http = HttpShared::new(
            Duration::from_secs(cfg.http_timeout_secs),
            response_cap(cfg),
        )?;
        let loader = Loader {
            engine,
            linker,
            cache,
            http: Arc::new(http),
            install_id: Arc::from("zondarr-plugin-check"),
            memory_bytes: usize::try_from(cfg.memory_bytes).unwrap_or(usize::MAX),
            compile_limit_ms: load::default_compile_limit(),
            too_slow: Default::default(),
        };
        Ok(Self::assemble(
            cfg,
            loader,
            pooling,
            Some(ticker),
            Registry::new(None, Vec::new()),
        ))
    }

    fn assemble(
        cfg: &PluginsConfig,
        loader: Loader,
        pooling: bool,
        ticker: Option<engine::Ticker>,
        registry: Registry,
    ) -> Self {
        PluginHost {
            inner: Arc::new(Inner {
                loader,
                limits: CallLimits::from_config(cfg),
                unhealthy_after: cfg.unhealthy_after.max(1),
                backoff: RwLock::new(HEALTH_BACKOFF),
                pooling,
                published: Published {
                    slots: RwLock::new(BTreeMap::new()),
                    errors: RwLock::new(Vec::new()),
                    concurrency: cfg.concurrency.max(1) as usize,
                    generation: AtomicU64::new(0),
                },
                registry: tokio::sync::Mutex::new(registry),
                watcher: Mutex::new(None),
                closed: AtomicBool::new(false),
                observer: OnceLock::new(),
                _ticker: ticker,
                _anchor: engine::TimerAnchor::start(),
            }),
        }
    }

    /// Re-read the plugins folder now (for filesystems where watching is unreliable). Changed
    /// files are reloaded, failed and unhealthy ones are retried, vanished ones are unloaded.
    pub async fn rescan(&self) -> RescanReport {
        let inner = &self.inner;
        let mut registry = inner.registry.lock().await;
        registry.rescan(&inner.loader, &inner.published).await
    }

    /// Re-read the plugins folder after replacing the set of approved versions (the API's rescan
    /// reads them from the database first, so an approval given with `zondarr plugin approve`
    /// takes effect).
    pub async fn rescan_with_approvals(&self, approvals: Vec<Approval>) -> RescanReport {
        let inner = &self.inner;
        let mut registry = inner.registry.lock().await;
        registry.set_approvals(approvals);
        registry.rescan(&inner.loader, &inner.published).await
    }

    /// Approve the version(s) of `id` waiting for approval: they serve from now on. Returns what
    /// was approved (empty when nothing was waiting); the caller stores the approvals.
    pub async fn approve(&self, id: &str) -> Vec<PendingApproval> {
        let inner = &self.inner;
        let mut registry = inner.registry.lock().await;
        registry.approve(id, &inner.published)
    }

    /// Refuse what waits for an approval for `id` (see [`PluginHost::approve`]): a held version
    /// is dropped while the version serving now keeps serving; a serving version's extra hosts
    /// stay closed. Neither is asked again until the file changes. Returns what was refused
    /// (empty when nothing was waiting); the caller stores the refusals.
    pub async fn refuse(&self, id: &str) -> Vec<PendingApproval> {
        let inner = &self.inner;
        let mut registry = inner.registry.lock().await;
        registry.refuse(id, &inner.published)
    }

    /// Replace the set of refused versions (from the database) and refuse what waits now and
    /// is in it.
    pub async fn set_refusals(&self, refusals: Vec<Approval>) {
        let inner = &self.inner;
        let mut registry = inner.registry.lock().await;
        registry.set_refusals(refusals, &inner.published);
    }

    /// Stop watching the folder and refuse new calls. Calls already running finish.
    pub async fn shutdown(&self) {
        self.inner.closed.store(true, Ordering::Relaxed);
        let watcher = self.inner.watcher.lock().ok().and_then(|mut w| w.take());
        if let Some(w) = watcher {
            w.stop().await;
        }
    }

    /// Report every call from now on to `observer`. Only the first observer set is kept.
    pub fn set_observer(&self, observer: Arc<dyn CallObserver>) {
        let _ = self.inner.observer.set(observer);
    }

    /// Change the first backoff wait of failing plugins (tests; the default is
    /// [`HEALTH_BACKOFF`]).
    #[doc(hidden)]
    pub fn set_health_backoff(&self, backoff: Duration) {
        if let Ok(mut b) = self.inner.backoff.write() {
            *b = backoff;
        }
    }

    /// Change how long a plugin may take to compile (tests; the default is
    /// [`COMPILE_LIMIT`]).
    #[doc(hidden)]
    pub fn set_compile_limit(&self, limit: Duration) {
        self.inner.loader.compile_limit_ms.store(
            u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Whether the engine uses the pooling allocator.
    pub fn uses_pooling(&self) -> bool {
        self.inner.pooling
    }

    /// Ids of the loaded plugins.
    pub fn ids(&self) -> Vec<String> {
        self.inner
            .published
            .slots
            .read()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The manifest of a loaded plugin.
    pub fn manifest(&self, id: &str) -> Option<Manifest> {
        self.with_manifest(id, Manifest::clone)
    }

    /// Raised whenever a plugin is loaded, swapped or unloaded: anything derived from the
    /// manifests (a rendered join offer) is stale once it differs.
    pub fn generation(&self) -> u64 {
        self.inner.published.generation.load(Ordering::Acquire)
    }

    /// `f` of the manifest of a loaded plugin, without copying the manifest (for paths that run
    /// on every request, such as the invitee's first one).
    pub fn with_manifest<R>(&self, id: &str, f: impl FnOnce(&Manifest) -> R) -> Option<R> {
        let slot = self.inner.published.slot(id)?;
        Some(f(slot.current.load().manifest()))
    }

    /// Status of every loaded plugin, then of every refused file that serves nothing.
    pub fn list(&self) -> Vec<PluginStatus> {
        let slots: Vec<(String, Arc<registry::Slot>)> = self
            .inner
            .published
            .slots
            .read()
            .map(|s| s.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let errors = self
            .inner
            .published
            .errors
            .read()
            .map(|e| e.clone())
            .unwrap_or_default();
        let mut out: Vec<PluginStatus> = slots
            .iter()
            .map(|(id, slot)| status::status_of(id, slot, &errors))
            .collect();
        for e in errors.iter().filter(|e| !e.serving) {
            if e.error
                .id
                .as_ref()
                .is_some_and(|id| slots.iter().any(|(s, _)| s == id))
            {
                continue;
            }
            out.push(PluginStatus::failed(e));
        }
        out
    }

    /// Status of one plugin id (loaded, or a refused file that declared this id).
    pub fn status(&self, id: &str) -> Option<PluginStatus> {
        self.list()
            .into_iter()
            .find(|s| s.id.as_deref() == Some(id))
    }

    /// Run `op` on plugin `id`, and tell the observer how it went.
    async fn call(
        &self,
        id: &str,
        server: Option<&ServerContext>,
        op: Op,
    ) -> Result<Reply, CallError> {
        let name = op.name();
        let started = std::time::Instant::now();
        let result = self.call_unobserved(id, server, op).await;
        if let Some(observer) = self.inner.observer.get() {
            let plugin = if matches!(result, Err(CallError::NotFound(_))) {
                "unknown"
            } else {
                id
            };
            observer.plugin_call(plugin, name, call_outcome(&result), started.elapsed());
        }
        result
    }

    async fn call_unobserved(
        &self,
        id: &str,
        server: Option<&ServerContext>,
        op: Op,
    ) -> Result<Reply, CallError> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::Relaxed) {
            return Err(CallError::ShuttingDown);
        }
        let slot = inner
            .published
            .slot(id)
            .ok_or_else(|| CallError::NotFound(id.to_owned()))?;
        let plugin = slot.current.load_full();
        let base_url = server.map(|s| s.base_url.as_str());
        if plugin.refuses(base_url) {
            return Err(CallError::Unhealthy(id.to_owned()));
        }
        // Operations that unauthenticated visitors can start (an invitee's account link, an
        // external admin's sign-in) have their own, smaller budget, so a slow upstream behind
        // them cannot starve the admin's and the scheduler's calls.
        let semaphore = if op.is_public() {
            &slot.public_semaphore
        } else {
            &slot.semaphore
        };
        let _permit = match tokio::time::timeout(BUSY_WAIT, semaphore.acquire()).await {
            Ok(Ok(permit)) => permit,
            _ => return Err(CallError::Busy(id.to_owned())),
        };
        slot.calls.fetch_add(1, Ordering::Relaxed);
        let name = op.name();
        let started = std::time::Instant::now();
        let result = self.call_loaded(&plugin, server, op).await;
        let blame = match &result {
            Err(e) if e.is_crash() => load::Blame::Plugin,
            Err(CallError::Timeout { .. }) => load::Blame::Server,
            _ => load::Blame::None,
        };
        if result.is_err() {
            slot.errors.fetch_add(1, Ordering::Relaxed);
        }
        let backoff = *inner.backoff.read().unwrap_or_else(|e| e.into_inner());
        if plugin.record(blame, base_url, inner.unhealthy_after, backoff) {
            if blame == load::Blame::Plugin {
                tracing::error!(
                    plugin = id,
                    crashes = plugin.consecutive_crashes(),
                    "plugin crashed too many times in a row; it is refused for a while (longer each time), or until it is reloaded"
                );
            } else {
                tracing::error!(
                    plugin = id,
                    "calls to this server timed out too many times in a row; calls for this server are refused for a while (longer each time)"
                );
            }
        }
        match &result {
            Ok(_) => tracing::debug!(
                plugin = id,
                op = name,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "plugin call"
            ),
            Err(e) if e.is_crash() => {
                tracing::error!(plugin = id, op = name, error = %e, "plugin call crashed")
            }
            Err(e) => tracing::info!(plugin = id, op = name, error = %e, "plugin call failed"),
        }
        result
    }

    async fn call_loaded(
        &self,
        plugin: &Arc<LoadedPlugin>,
        server: Option<&ServerContext>,
        op: Op,
    ) -> Result<Reply, CallError> {
        let inner = &self.inner;
        let id = plugin.manifest.id.clone();
        let spare = plugin.take_spare();
        let finished = call::run(
            self.setup(plugin),
            spare,
            server.map(|s| Arc::new(s.clone())),
            op,
        )
        .await;
        let outcome = finished.outcome;
        self.after_call(plugin, finished.store, finished.instantiated);
        match outcome {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(CallError::Connector {
                plugin: id,
                error: e.into(),
            }),
            Err(Failure::Timeout) => Err(CallError::Timeout {
                plugin: id,
                secs: inner.limits.wall.as_secs(),
            }),
            Err(Failure::Crash(kind, detail)) => Err(CallError::Crashed {
                plugin: id,
                kind,
                detail,
            }),
            Err(Failure::PoolFull) => Err(CallError::Busy(id)),
            Err(Failure::NotExported(interface)) => Err(CallError::NotExported {
                plugin: id,
                interface,
            }),
        }
    }

    /// After a call: drop its store and make the fresh instance of the next call, in a task of
    /// its own, so neither is on the path of this call's reply (on this machine about 20 µs of
    /// a call's 40 µs without a request; issue 22). The next call still runs in an instance no
    /// call has used. Only when this call's instance could be made (a plugin whose instances
    /// fail is not instantiated twice per call), this version is still the current one, the
    /// host is open and no instance is ready or being made already; otherwise the store is
    /// dropped here, so at most one task per version holds a used store, whatever the runtime
    /// (a current-thread runtime runs the task only when the caller waits).
    fn after_call(&self, plugin: &Arc<LoadedPlugin>, used: Store<CallState>, instantiated: bool) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let current = self
            .inner
            .published
            .slot(&plugin.id)
            .is_some_and(|slot| Arc::ptr_eq(&slot.current.load(), plugin));
        if !(instantiated
            && current
            && !self.inner.closed.load(Ordering::Relaxed)
            && plugin.claim_spare())
        {
            return;
        }
        let host = self.clone();
        let plugin = plugin.clone();
        runtime.spawn(async move {
            drop(used);
            let spare = call::prepare(host.setup(&plugin)).await.ok();
            plugin.put_spare(spare);
        });
    }

    /// What a call of `plugin` needs besides the operation.
    fn setup<'a>(&'a self, plugin: &'a LoadedPlugin) -> CallSetup<'a> {
        let inner = &self.inner;
        CallSetup {
            engine: &inner.loader.engine,
            pre: &plugin.pre,
            exports: &plugin.exports,
            limits: inner.limits,
            io: CallIo {
                plugin_id: plugin.id.clone(),
                manifest: Some(plugin.manifest.clone()),
                reach_approved: plugin
                    .reach_approved
                    .load(std::sync::atomic::Ordering::Acquire),
                http: inner.loader.http.clone(),
                budget: RequestBudget {
                    made: 0,
                    max: inner.limits.max_requests,
                },
                install_id: plugin.install_id.clone(),
                log_lines: 0,
                denied_logged: 0,
            },
        }
    }

    /// Wait until plugin `id` has no fresh instance being made for its next call (the perf
    /// bench waits for it between the calls it times, so that making it is measured in no
    /// call).
    #[doc(hidden)]
    pub async fn settle(&self, id: &str) {
        if let Some(slot) = self.inner.published.slot(id) {
            slot.current.load_full().spare_settled().await;
        }
    }

    /// Whether plugin `id` has a fresh instance ready for its next call (tests).
    #[doc(hidden)]
    pub fn spare_ready(&self, id: &str) -> bool {
        self.inner
            .published
            .slot(id)
            .is_some_and(|slot| slot.current.load().has_spare())
    }

    /// How long creating and dropping a fresh instance of plugin `id` takes, without calling
    /// anything (the perf bench's breakdown of a call); `None` when it is not loaded or the
    /// instance cannot be created.
    #[doc(hidden)]
    pub async fn time_instantiation(&self, id: &str) -> Option<Duration> {
        let plugin = self.inner.published.slot(id)?.current.load_full();
        let started = std::time::Instant::now();
        call::instantiate_only(self.setup(&plugin)).await.ok()?;
        Some(started.elapsed())
    }

    /// Check the URL and credentials and identify the server.
    pub async fn test_connection(
        &self,
        id: &str,
        server: &ServerContext,
    ) -> Result<ServerInfo, CallError> {
        match self.call(id, Some(server), Op::TestConnection).await? {
            Reply::ServerInfo(s) => Ok(s.into()),
            _ => Err(unexpected()),
        }
    }

    /// List the content libraries.
    pub async fn list_libraries(
        &self,
        id: &str,
        server: &ServerContext,
    ) -> Result<Vec<Library>, CallError> {
        match self.call(id, Some(server), Op::ListLibraries).await? {
            Reply::Libraries(l) => Ok(l.into_iter().map(Into::into).collect()),
            _ => Err(unexpected()),
        }
    }

    /// List the accounts on the server.
    pub async fn list_users(
        &self,
        id: &str,
        server: &ServerContext,
    ) -> Result<Vec<RemoteUser>, CallError> {
        match self.call(id, Some(server), Op::ListUsers).await? {
            Reply::Users(u) => Ok(u.into_iter().map(Into::into).collect()),
            _ => Err(unexpected()),
        }
    }

    /// Create an account with libraries and permissions applied; the answer says whether it was
    /// created or adopted.
    pub async fn create_user(
        &self,
        id: &str,
        server: &ServerContext,
        user: &NewUser,
    ) -> Result<CreatedUser, CallError> {
        match self
            .call(id, Some(server), Op::CreateUser(user.into()))
            .await?
        {
            Reply::Created(c) => Ok(c.into()),
            _ => Err(unexpected()),
        }
    }

    /// The account `create_user` with this input would collide with or adopt, if any.
    pub async fn find_user(
        &self,
        id: &str,
        server: &ServerContext,
        user: &NewUser,
    ) -> Result<Option<RemoteUser>, CallError> {
        match self
            .call(id, Some(server), Op::FindUser(user.into()))
            .await?
        {
            Reply::MaybeUser(u) => Ok(u.map(Into::into)),
            _ => Err(unexpected()),
        }
    }

    /// Delete an account or remove its access.
    pub async fn delete_user(
        &self,
        id: &str,
        server: &ServerContext,
        user_id: &str,
        options: DeleteOptions,
    ) -> Result<(), CallError> {
        self.unit(
            id,
            server,
            Op::DeleteUser(user_id.to_owned(), options.into()),
        )
        .await
    }

    /// [`delete_user`](Self::delete_user) where an account already gone counts as removed (the
    /// contract's rule for every caller that wants the account gone: the admin's delete, expiry,
    /// a rollback).
    pub async fn remove_user(
        &self,
        id: &str,
        server: &ServerContext,
        user_id: &str,
        options: DeleteOptions,
    ) -> Result<(), CallError> {
        match self.delete_user(id, server, user_id, options).await {
            Err(CallError::Connector {
                error: ConnectorError::NotFound(_),
                ..
            }) => Ok(()),
            other => other,
        }
    }

    /// Disable or enable an account.
    pub async fn set_enabled(
        &self,
        id: &str,
        server: &ServerContext,
        user_id: &str,
        enabled: bool,
    ) -> Result<(), CallError> {
        self.unit(id, server, Op::SetEnabled(user_id.to_owned(), enabled))
            .await
    }

    /// Replace the libraries an account may see.
    pub async fn set_library_access(
        &self,
        id: &str,
        server: &ServerContext,
        user_id: &str,
        access: &LibraryAccess,
    ) -> Result<(), CallError> {
        self.unit(
            id,
            server,
            Op::SetLibraryAccess(user_id.to_owned(), access.into()),
        )
        .await
    }

    /// Apply permission values.
    pub async fn set_permissions(
        &self,
        id: &str,
        server: &ServerContext,
        user_id: &str,
        permissions: &[PermissionValue],
    ) -> Result<(), CallError> {
        let permissions = permissions.iter().map(Into::into).collect();
        self.unit(
            id,
            server,
            Op::SetPermissions(user_id.to_owned(), permissions),
        )
        .await
    }

    /// Set an account's password.
    pub async fn set_password(
        &self,
        id: &str,
        server: &ServerContext,
        user_id: &str,
        password: &SecretString,
    ) -> Result<(), CallError> {
        self.unit(
            id,
            server,
            Op::SetPassword(user_id.to_owned(), password.expose().to_owned()),
        )
        .await
    }

    /// Start linking an account (`oauth` interface).
    pub async fn start_link(
        &self,
        id: &str,
        server: &ServerContext,
    ) -> Result<LinkStart, CallError> {
        match self.call(id, Some(server), Op::StartLink).await? {
            Reply::LinkStart(s) => Ok(s.into()),
            _ => Err(unexpected()),
        }
    }

    /// Check whether the invitee approved a link (`oauth` interface).
    pub async fn poll_link(
        &self,
        id: &str,
        server: &ServerContext,
        pin_id: &str,
    ) -> Result<LinkStatus, CallError> {
        match self
            .call(id, Some(server), Op::PollLink(pin_id.to_owned()))
            .await?
        {
            Reply::LinkStatus(s) => Ok(s.into()),
            _ => Err(unexpected()),
        }
    }

    /// Check a username and password against the server (`auth` interface).
    pub async fn authenticate(
        &self,
        id: &str,
        server: &ServerContext,
        username: &str,
        password: &SecretString,
    ) -> Result<Authenticated, CallError> {
        let op = Op::Authenticate(username.to_owned(), password.expose().to_owned());
        match self.call(id, Some(server), op).await? {
            Reply::Authenticated(a) => Ok(a.into()),
            _ => Err(unexpected()),
        }
    }

    async fn unit(&self, id: &str, server: &ServerContext, op: Op) -> Result<(), CallError> {
        match self.call(id, Some(server), op).await? {
            Reply::Unit => Ok(()),
            _ => Err(unexpected()),
        }
    }

    /// Run the load pipeline on `bytes` without registering anything (`zondarr plugin check`,
    /// benchmarks).
    pub async fn inspect(&self, bytes: &[u8]) -> Result<Inspection, LoadError> {
        load::check_header(bytes)?;
        let plugin = self
            .inner
            .loader
            .load(Bytes::copy_from_slice(bytes), Source::Check)
            .await?;
        Ok(Inspection::of(&plugin))
    }

    /// Process changed files from the watcher.
    async fn files_changed(&self, names: Vec<String>) {
        let inner = &self.inner;
        let mut registry = inner.registry.lock().await;
        registry
            .changed(names, &inner.loader, &inner.published)
            .await;
    }
}

fn unexpected() -> CallError {
    CallError::Internal("the plugin returned a reply of the wrong kind".into())
}

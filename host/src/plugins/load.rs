//! The load pipeline: bytes → size cap → SHA-256 → header check → compile (or cache hit, off the
//! async threads) → contract version → `instantiate_pre` (imports) → exports → `describe()` in a
//! no-network sandbox → manifest validation. Each step fails closed with a precise reason; the
//! caller decides what to do with a failure (the registry keeps the previous version).

use super::bindings::{self, auth, connector, oauth};
use super::cache::CodeCache;
use super::call::{self, CallIo, CallLimits, CallSetup, CallState, Exports, Failure, Op, Reply};
use super::host_http::{HttpShared, RequestBudget};
use super::manifest::{self, Interfaces};
use super::types::Manifest;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::Engine;
use wasmtime::component::{Component, InstancePre, Linker};

/// Largest plugin file accepted.
pub const MAX_COMPONENT_BYTES: usize = 32 * 1024 * 1024;
/// Largest function body (bytes of code) a plugin may have. The compiler's working memory grows
/// with the function it compiles (and as many functions compile at once as there are cores), and
/// its time faster than that: a crafted 1 MiB function took 100 s and 440 MB, one of 256 KiB
/// 6 s and 130 MB. The bundled plugins' largest is about 12 KiB.
pub const MAX_FUNCTION_BYTES: usize = 256 * 1024;
/// Longest a plugin may take to compile (a cache hit is not a compile). A component that takes
/// longer is refused, and not compiled again until its file changes or the daemon restarts.
pub const COMPILE_LIMIT: Duration = Duration::from_secs(60);
/// CPU budget of `describe()` at load time.
pub const DESCRIBE_CPU: Duration = Duration::from_secs(1);
/// Wall-clock limit of `describe()` at load time.
pub const DESCRIBE_WALL: Duration = Duration::from_secs(2);

const WASM_MAGIC: &[u8] = b"\0asm";
const CORE_VERSION: &[u8] = &[0x01, 0x00, 0x00, 0x00];
const COMPONENT_VERSION: &[u8] = &[0x0d, 0x00, 0x01, 0x00];

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Built from this repository and embedded in the daemon.
    Bundled {
        /// The plugin's directory name in the repository.
        name: String,
    },
    /// A file in the plugins folder.
    Folder {
        /// The file name.
        file: String,
    },
    /// A file given to `zondarr plugin check`.
    Check,
}

/// Where a loaded plugin's machine code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeFrom {
    /// Compiled by this process.
    Compiled,
    /// The daemon's compiled-code cache (compiled by an earlier run).
    Cache,
    /// Compiled when the daemon was built (a bundled plugin; see `host/build.rs`).
    Build,
}

/// A compiled, validated plugin version, ready to be called.
pub struct LoadedPlugin {
    pub(crate) manifest: Arc<Manifest>,
    /// The manifest's id, handed to every call.
    pub(crate) id: Arc<str>,
    /// This install's id for the plugin (an HMAC of the daemon's install id,
    /// [`super::plugin_install_id`]): made once at load, handed to every call.
    pub(crate) install_id: Arc<str>,
    pub(crate) contract: semver::Version,
    pub(crate) exports: Exports,
    pub(crate) pre: InstancePre<CallState>,
    pub(crate) sha256: String,
    pub(crate) source: Source,
    pub(crate) loaded_at: DateTime<Utc>,
    pub(crate) imports: Vec<String>,
    pub(crate) export_names: Vec<String>,
    pub(crate) size: usize,
    pub(crate) code_from: CodeFrom,
    pub(crate) timings: LoadTimings,
    /// Whether this version's extra hosts may be reached at the origins its manifest chose:
    /// true for bundled plugins, for versions without extra hosts and for versions an admin
    /// approved (or that reach no further than an approved one); the registry decides.
    pub(crate) reach_approved: std::sync::atomic::AtomicBool,
    /// Traps of this version, whatever server they were about: health of the whole plugin.
    health: std::sync::Mutex<Health>,
    /// Remote failures (wall-clock timeouts), per server base URL: health of (plugin, server).
    server_health: std::sync::Mutex<std::collections::HashMap<String, Health>>,
    /// The fresh instance for this version's next call (see `PluginHost::after_call`).
    spare: std::sync::Mutex<SpareSlot>,
    /// Told when the making of a spare ends (for [`LoadedPlugin::spare_settled`]).
    spare_made: tokio::sync::Notify,
}

/// Where the next call's fresh instance stands.
#[derive(Default)]
enum SpareSlot {
    /// None is ready or being made: the next call makes its own.
    #[default]
    Empty,
    /// One is being made.
    Making,
    Ready(call::Spare),
}

/// Failures in a row and the backoff after too many: refused until `until`, then one call is
/// let through; a success ends it, another failure doubles the wait (up to [`MAX_BACKOFF`]).
#[derive(Debug, Default, Clone)]
pub(crate) struct Health {
    consecutive: u32,
    trips: u32,
    until: Option<Instant>,
}

/// Longest wait before a refused plugin (or plugin and server) gets another call.
pub const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

impl Health {
    fn refused(&self, now: Instant) -> bool {
        self.until.is_some_and(|t| now < t)
    }

    /// Record one outcome; `true` when this failure started a backoff.
    fn record(&mut self, failed: bool, threshold: u32, base: Duration) -> bool {
        if !failed {
            *self = Health::default();
            return false;
        }
        self.consecutive += 1;
        if self.consecutive < threshold {
            return false;
        }
        let wait = base
            .saturating_mul(1 << self.trips.min(16))
            .min(MAX_BACKOFF);
        self.trips += 1;
        self.until = Some(Instant::now() + wait);
        true
    }
}

/// What a call outcome means for health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blame {
    /// It worked (or failed in a way that says nothing about health).
    None,
    /// The plugin itself trapped: counts for the whole plugin.
    Plugin,
    /// The server did not answer in time: counts for this plugin with this server only.
    Server,
}

/// How long the steps of a load took.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadTimings {
    /// Compile or cache load.
    pub compile: Duration,
    /// `instantiate_pre` and export lookup.
    pub link: Duration,
    /// `describe()`, including instantiation.
    pub describe: Duration,
}

impl LoadedPlugin {
    /// The validated manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Whether the plugin crashed too often in a row and is refused (in its backoff) now.
    pub(crate) fn is_unhealthy(&self) -> bool {
        self.health.lock().is_ok_and(|h| h.refused(Instant::now()))
    }

    /// Whether calls about the server at `base_url` are refused now (the plugin, or the plugin
    /// with this server, is in its backoff).
    pub(crate) fn refuses(&self, base_url: Option<&str>) -> bool {
        let now = Instant::now();
        self.is_unhealthy()
            || base_url.is_some_and(|url| {
                self.server_health
                    .lock()
                    .is_ok_and(|m| m.get(url).is_some_and(|h| h.refused(now)))
            })
    }

    /// Take the fresh instance made for the next call, if one is ready.
    pub(crate) fn take_spare(&self) -> Option<call::Spare> {
        let mut slot = self.spare.lock().ok()?;
        match std::mem::take(&mut *slot) {
            SpareSlot::Ready(spare) => Some(spare),
            other => {
                *slot = other;
                None
            }
        }
    }

    /// Claim the making of the next call's instance: `true` when none is ready or being made;
    /// the claimer then ends it with [`LoadedPlugin::put_spare`].
    pub(crate) fn claim_spare(&self) -> bool {
        let Ok(mut slot) = self.spare.lock() else {
            return false;
        };
        if matches!(*slot, SpareSlot::Empty) {
            *slot = SpareSlot::Making;
            true
        } else {
            false
        }
    }

    /// End a making claimed with [`LoadedPlugin::claim_spare`]: the instance, or `None` when it
    /// could not be made (the next call then makes its own, and reports why).
    pub(crate) fn put_spare(&self, spare: Option<call::Spare>) {
        if let Ok(mut slot) = self.spare.lock() {
            *slot = spare.map_or(SpareSlot::Empty, SpareSlot::Ready);
        }
        self.spare_made.notify_waiters();
    }

    /// Whether a fresh instance is ready for this version's next call.
    pub(crate) fn has_spare(&self) -> bool {
        self.spare
            .lock()
            .is_ok_and(|slot| matches!(*slot, SpareSlot::Ready(_)))
    }

    /// Wait until no instance is being made for this version.
    pub(crate) async fn spare_settled(&self) {
        loop {
            let made = self.spare_made.notified();
            if !self
                .spare
                .lock()
                .is_ok_and(|slot| matches!(*slot, SpareSlot::Making))
            {
                return;
            }
            made.await;
        }
    }

    pub(crate) fn consecutive_crashes(&self) -> u32 {
        self.health.lock().map_or(0, |h| h.consecutive)
    }

    /// Record the outcome of a call; returns `true` when it started a backoff.
    pub(crate) fn record(
        &self,
        blame: Blame,
        base_url: Option<&str>,
        threshold: u32,
        backoff: Duration,
    ) -> bool {
        let mut started = false;
        if let Ok(mut h) = self.health.lock() {
            started |= h.record(blame == Blame::Plugin, threshold, backoff);
        }
        if let Some(url) = base_url
            && let Ok(mut m) = self.server_health.lock()
        {
            if blame == Blame::Server {
                started |= m
                    .entry(url.to_owned())
                    .or_default()
                    .record(true, threshold, backoff);
            } else if blame == Blame::None {
                m.remove(url);
            }
            // A plugin trap says nothing about the server: its count is kept.
        }
        started
    }

    /// Names of the optional interfaces exported.
    pub(crate) fn interfaces(&self) -> Vec<&'static str> {
        let mut v = vec!["connector"];
        if self.exports.oauth.is_some() {
            v.push("oauth");
        }
        if self.exports.auth.is_some() {
            v.push("auth");
        }
        v
    }
}

/// Why a load was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The plugin id, when `describe()` got far enough to tell.
    pub id: Option<String>,
    /// The precise reason.
    pub message: String,
}

impl LoadError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            id: None,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LoadError {}

/// Hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Refuse files that are obviously not a component, with a reason that says what they are.
pub(crate) fn check_header(bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.is_empty() {
        return Err(LoadError::new("the file is empty"));
    }
    if bytes.len() > MAX_COMPONENT_BYTES {
        return Err(LoadError::new(format!(
            "the file is {} bytes; plugins may be at most {} MiB",
            bytes.len(),
            MAX_COMPONENT_BYTES / (1024 * 1024)
        )));
    }
    if Engine::detect_precompiled(bytes).is_some() {
        return Err(LoadError::new(
            "this is precompiled native code (.cwasm), not a WebAssembly component; install the .wasm file",
        ));
    }
    if bytes.len() < 8 || &bytes[..4] != WASM_MAGIC {
        return Err(LoadError::new(
            "not a WebAssembly file (no `\\0asm` header)",
        ));
    }
    match &bytes[4..8] {
        v if v == COMPONENT_VERSION => Ok(()),
        v if v == CORE_VERSION => Err(LoadError::new(
            "a core WebAssembly module, not a component; build the plugin for the wasm32-wasip2 target \
             (cargo build --release --target wasm32-wasip2)",
        )),
        v => Err(LoadError::new(format!(
            "a WebAssembly binary of an unsupported version or layer ({:02x} {:02x} {:02x} {:02x})",
            v[0], v[1], v[2], v[3]
        ))),
    }
}

/// Refuse a component with a function too large to compile within bounded memory (see
/// [`MAX_FUNCTION_BYTES`]). A file that does not parse is left to the compiler, which says
/// precisely what is wrong with it.
pub(crate) fn check_code(bytes: &[u8]) -> Result<(), LoadError> {
    use wasmparser::{Parser, Payload};
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else {
            return Ok(());
        };
        if let Payload::CodeSectionEntry(body) = payload {
            let size = body.range().len();
            if size > MAX_FUNCTION_BYTES {
                return Err(LoadError::new(format!(
                    "the component has a function of {size} bytes of code; plugins may have \
                     functions of at most {} KiB each (larger ones take too much memory and time to compile)",
                    MAX_FUNCTION_BYTES / 1024
                )));
            }
        }
    }
    Ok(())
}

/// Refuse a component that would take more memories, tables or core instances per call than
/// any plugin may (so one crafted component cannot take every slot of the instance pool).
pub(crate) fn check_resources(component: &Component) -> Result<(), LoadError> {
    let Some(r) = component.resources_required() else {
        return Err(LoadError::new(
            "the component instantiates a module it imports; plugins may not",
        ));
    };
    if r.num_memories as usize > call::MAX_MEMORIES {
        return Err(LoadError::new(format!(
            "the component has {} linear memories; plugins may have at most {}",
            r.num_memories,
            call::MAX_MEMORIES
        )));
    }
    if r.num_tables as usize > call::MAX_TABLES {
        return Err(LoadError::new(format!(
            "the component has {} tables; plugins may have at most {}",
            r.num_tables,
            call::MAX_TABLES
        )));
    }
    Ok(())
}

/// [`COMPILE_LIMIT`] as the loader holds it.
pub(crate) fn default_compile_limit() -> Arc<std::sync::atomic::AtomicU64> {
    Arc::new(std::sync::atomic::AtomicU64::new(
        u64::try_from(COMPILE_LIMIT.as_millis()).unwrap_or(u64::MAX),
    ))
}

/// The refusal of a file that did not compile within `limit`.
fn too_slow(limit: Duration) -> LoadError {
    LoadError::new(format!(
        "compiling the plugin took longer than {limit:?}; plugins must compile within that \
         (the file is not compiled again until it changes or the daemon restarts)"
    ))
}

/// What a load needs from the host.
#[derive(Clone)]
pub(crate) struct Loader {
    pub(crate) engine: Engine,
    pub(crate) linker: Arc<Linker<CallState>>,
    pub(crate) cache: Option<CodeCache>,
    pub(crate) http: Arc<HttpShared>,
    pub(crate) install_id: Arc<str>,
    pub(crate) memory_bytes: usize,
    /// How long a compile may take, milliseconds ([`COMPILE_LIMIT`]; tests lower it).
    pub(crate) compile_limit_ms: Arc<std::sync::atomic::AtomicU64>,
    /// Files (SHA-256) whose compile took longer than the limit: refused without compiling
    /// again, so a rescan does not start another long compile of the same file.
    pub(crate) too_slow: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl Loader {
    /// Run the whole pipeline on `bytes`.
    pub(crate) async fn load(
        &self,
        bytes: Bytes,
        source: Source,
    ) -> Result<LoadedPlugin, LoadError> {
        check_header(&bytes)?;
        let sha256 = sha256_hex(&bytes);

        let started = Instant::now();
        let (component, code_from) = self.compile(bytes.clone(), sha256.clone()).await?;
        let compile = started.elapsed();

        check_resources(&component)?;
        let started = Instant::now();
        let (contract, export_names) = self.contract(&component)?;
        let imports: Vec<String> = component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        let pre = self.linker.instantiate_pre(&component).map_err(|e| {
            LoadError::new(format!(
                "the plugin imports something this daemon does not provide: {e}"
            ))
        })?;
        let has = |prefix: &str| export_names.iter().any(|n| n.starts_with(prefix));
        let exports =
            Exports {
                connector: connector::GuestIndices::new(&pre).map_err(|e| {
                    LoadError::new(format!("the `connector` export is incomplete: {e}"))
                })?,
                oauth: if has(bindings::OAUTH_EXPORT) {
                    Some(oauth::GuestIndices::new(&pre).map_err(|e| {
                        LoadError::new(format!("the `oauth` export is incomplete: {e}"))
                    })?)
                } else {
                    None
                },
                auth: if has(bindings::AUTH_EXPORT) {
                    Some(auth::GuestIndices::new(&pre).map_err(|e| {
                        LoadError::new(format!("the `auth` export is incomplete: {e}"))
                    })?)
                } else {
                    None
                },
            };
        let link = started.elapsed();

        let started = Instant::now();
        let manifest = self.describe(&pre, &exports).await?;
        let describe = started.elapsed();
        let interfaces = Interfaces {
            oauth: exports.oauth.is_some(),
            auth: exports.auth.is_some(),
        };
        manifest::validate(&manifest, interfaces).map_err(|message| LoadError {
            id: Some(manifest.id.clone()),
            message: format!("invalid manifest: {message}"),
        })?;

        Ok(LoadedPlugin {
            id: Arc::from(manifest.id.as_str()),
            install_id: Arc::from(super::plugin_install_id(&self.install_id, &manifest.id)),
            manifest: Arc::new(manifest),
            contract,
            exports,
            pre,
            sha256,
            source,
            loaded_at: Utc::now(),
            imports,
            export_names,
            size: bytes.len(),
            code_from,
            timings: LoadTimings {
                compile,
                link,
                describe,
            },
            reach_approved: std::sync::atomic::AtomicBool::new(true),
            health: std::sync::Mutex::new(Health::default()),
            server_health: std::sync::Mutex::new(std::collections::HashMap::new()),
            spare: std::sync::Mutex::default(),
            spare_made: tokio::sync::Notify::new(),
        })
    }

    /// Take the code compiled at build time (a bundled plugin) or from the cache, or compile on
    /// a blocking thread within the time limit (the function-size check first bounds its memory).
    async fn compile(
        &self,
        bytes: Bytes,
        sha256: String,
    ) -> Result<(Component, CodeFrom), LoadError> {
        let limit = Duration::from_millis(
            self.compile_limit_ms
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        if self.too_slow.lock().is_ok_and(|s| s.contains(&sha256)) {
            return Err(too_slow(limit));
        }
        let engine = self.engine.clone();
        let cache = self.cache.clone();
        let key = sha256.clone();
        let wasm = bytes.clone();
        // Neither is a compile (a file written or compared, a checksum, a compatibility check,
        // a mapping): no time limit.
        let ready = tokio::task::spawn_blocking(move || {
            if let Some(code) = super::precompiled_for(&wasm) {
                // Mapped from the cache folder (file-backed), else copied from the executable.
                if let Some(component) = cache
                    .as_ref()
                    .and_then(|c| c.load_build_time(&engine, &key, code))
                    .or_else(|| super::cache::deserialize_embedded(&engine, code))
                {
                    return Some((component, CodeFrom::Build));
                }
            }
            cache
                .as_ref()
                .and_then(|c| c.load(&engine, &key))
                .map(|component| (component, CodeFrom::Cache))
        })
        .await
        .ok()
        .flatten();
        if let Some(ready) = ready {
            return Ok(ready);
        }
        // Its own thread rather than the runtime's blocking pool: a compile given up on is not
        // waited for when the runtime shuts down (`zondarr plugin check` exits at once).
        let engine = self.engine.clone();
        let (done, compiling) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("zondarr-compile".into())
            .spawn(move || {
                let result = check_code(&bytes).and_then(|()| {
                    Component::from_binary(&engine, &bytes).map_err(|e| {
                        LoadError::new(format!("not a valid WebAssembly component: {e:#}"))
                    })
                });
                let _ = done.send(result);
            })
            .map_err(|e| LoadError::new(format!("cannot start compiling the plugin: {e}")))?;
        let component = match tokio::time::timeout(limit, compiling).await {
            Ok(joined) => joined
                .map_err(|_| LoadError::new("compiling the plugin failed (it panicked)"))??,
            Err(_) => {
                // The compile cannot be interrupted: it finishes on its thread and its result is
                // dropped. Remember the file so it is not compiled again.
                if let Ok(mut s) = self.too_slow.lock() {
                    s.insert(sha256);
                }
                tracing::warn!(
                    limit_ms = limit.as_millis() as u64,
                    "plugin compile took too long; refused"
                );
                return Err(too_slow(limit));
            }
        };
        if let Some(cache) = self.cache.clone() {
            let stored = component.clone();
            let _ = tokio::task::spawn_blocking(move || cache.store(&sha256, &stored)).await;
        }
        Ok((component, CodeFrom::Compiled))
    }

    /// The contract version from the name of the `connector` export, checked for compatibility.
    fn contract(&self, component: &Component) -> Result<(semver::Version, Vec<String>), LoadError> {
        let names: Vec<String> = component
            .component_type()
            .exports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        let Some(name) = names
            .iter()
            .find(|n| n.starts_with(bindings::CONNECTOR_EXPORT))
        else {
            let shown = if names.is_empty() {
                "nothing".to_owned()
            } else {
                names.join(", ")
            };
            return Err(LoadError::new(format!(
                "the component does not export `zondarr:connector/connector`; it exports {shown}. \
                 Is it a connector plugin?"
            )));
        };
        let version_text = &name[bindings::CONNECTOR_EXPORT.len()..];
        let version = semver::Version::parse(version_text).map_err(|_| {
            LoadError::new(format!("the contract version in `{name}` is not semver"))
        })?;
        let (major, minor) = bindings::CONTRACT_MAJOR;
        let compatible = if major == 0 {
            version.major == 0 && version.minor == minor
        } else {
            version.major == major
        };
        if !compatible {
            return Err(LoadError::new(format!(
                "the plugin is built for contract zondarr:connector@{version}; this daemon supports \
                 zondarr:connector@{major}.{minor}.x"
            )));
        }
        Ok((version, names))
    }

    /// `describe()` with no network, a 1 s CPU budget and a 2 s wall-clock limit.
    async fn describe(
        &self,
        pre: &InstancePre<CallState>,
        exports: &Exports,
    ) -> Result<Manifest, LoadError> {
        let setup = CallSetup {
            engine: &self.engine,
            pre,
            exports,
            limits: CallLimits {
                memory_bytes: self.memory_bytes,
                cpu: DESCRIBE_CPU,
                wall: DESCRIBE_WALL,
                max_requests: 0,
            },
            io: CallIo {
                plugin_id: Arc::from("(loading)"),
                manifest: None,
                reach_approved: false,
                http: self.http.clone(),
                budget: RequestBudget { made: 0, max: 0 },
                install_id: self.install_id.clone(),
                log_lines: 0,
                denied_logged: 0,
            },
        };
        match call::run(setup, None, None, Op::Describe).await.outcome {
            Ok(Ok(Reply::Manifest(m))) => (*m).try_into().map_err(LoadError::new),
            Ok(Ok(_)) | Ok(Err(_)) => {
                Err(LoadError::new("describe() returned something unexpected"))
            }
            Err(Failure::Timeout) => Err(LoadError::new(format!(
                "describe() did not return within {} s",
                DESCRIBE_WALL.as_secs()
            ))),
            Err(Failure::Crash(kind, detail)) => Err(LoadError::new(format!(
                "describe() {}: {detail}",
                kind.phrase()
            ))),
            Err(Failure::PoolFull) => Err(LoadError::new("the instance pool is full; try again")),
            Err(Failure::NotExported(i)) => {
                Err(LoadError::new(format!("the `{i}` export is missing")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_told_apart() {
        assert!(check_header(b"").unwrap_err().message.contains("empty"));
        assert!(
            check_header(b"hello world")
                .unwrap_err()
                .message
                .contains("not a WebAssembly file")
        );
        let core = [WASM_MAGIC, CORE_VERSION].concat();
        assert!(
            check_header(&core)
                .unwrap_err()
                .message
                .contains("core WebAssembly module")
        );
        let component = [WASM_MAGIC, COMPONENT_VERSION].concat();
        assert!(check_header(&component).is_ok());
    }

    #[test]
    fn the_bundled_plugins_are_within_the_function_size_cap() {
        let bundled = crate::plugins::bundled();
        for b in bundled.iter().filter(|b| !b.bytes.is_empty()) {
            let largest = wasmparser::Parser::new(0)
                .parse_all(&b.bytes)
                .filter_map(|p| match p {
                    Ok(wasmparser::Payload::CodeSectionEntry(body)) => Some(body.range().len()),
                    _ => None,
                })
                .max()
                .unwrap_or(0);
            println!("{}: largest function {largest} bytes", b.name);
            assert!(largest > 0, "{}: no code found", b.name);
            assert!(check_code(&b.bytes).is_ok(), "{}", b.name);
        }
    }
}

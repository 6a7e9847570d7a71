//! Which plugin version serves each id, and how that changes: bundled plugins, the plugins
//! folder (startup scan, watcher, rescan), overrides and fall-backs, and the atomic swap.
//!
//! All changes go through one `tokio::sync::Mutex<Registry>`, so reloads are serialized. Calls
//! never take that lock: they read the published [`Slot`]s (a short `RwLock` read, then an
//! `ArcSwap` load), so a call already running keeps the version it started with.

use super::load::{LoadError, LoadedPlugin, Loader, MAX_COMPONENT_BYTES, Source, sha256_hex};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock};
use tokio::sync::Semaphore;

/// The published state of one plugin id.
pub(crate) struct Slot {
    pub(crate) current: arc_swap::ArcSwap<LoadedPlugin>,
    pub(crate) semaphore: Semaphore,
    pub(crate) calls: AtomicU64,
    pub(crate) errors: AtomicU64,
}

/// A refused file (or bundled plugin), as shown by the API.
#[derive(Debug, Clone)]
pub(crate) struct FileError {
    /// File name in the plugins folder; `None` for a bundled plugin.
    pub(crate) file: Option<String>,
    /// Dir name of a bundled plugin.
    pub(crate) bundled: Option<String>,
    pub(crate) error: LoadError,
    pub(crate) at: DateTime<Utc>,
    /// Whether this file still has an older version loaded.
    pub(crate) serving: bool,
}

/// A plugin embedded in (or, for tests, given to) the daemon.
#[derive(Clone)]
pub struct Bundled {
    /// Name used in messages (the directory under `plugins/`).
    pub name: String,
    /// The component.
    pub bytes: Arc<[u8]>,
}

#[derive(Default)]
struct FileRecord {
    loaded: Option<Arc<LoadedPlugin>>,
    attempted_sha: Option<String>,
    error: Option<(LoadError, DateTime<Utc>)>,
}

struct BundledRecord {
    source: Bundled,
    loaded: Option<Arc<LoadedPlugin>>,
    error: Option<(LoadError, DateTime<Utc>)>,
}

/// Outcome of a rescan.
#[derive(Debug, Default, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RescanReport {
    /// Files (re)loaded.
    pub loaded: Vec<String>,
    /// Files refused, with the reason.
    pub failed: Vec<RescanFailure>,
    /// Files whose content had not changed.
    pub unchanged: Vec<String>,
    /// Files that disappeared (their plugins were unloaded or fell back to the bundled one).
    pub removed: Vec<String>,
}

/// A refused file in a [`RescanReport`].
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RescanFailure {
    /// File name.
    pub file: String,
    /// Why.
    pub error: String,
}

enum Outcome {
    Loaded,
    Failed(String),
    Unchanged,
    Removed,
}

/// The mutable registry; only the reload path touches it.
pub(crate) struct Registry {
    dir: Option<PathBuf>,
    files: BTreeMap<String, FileRecord>,
    bundled: Vec<BundledRecord>,
}

/// What the registry publishes to.
pub(crate) struct Published {
    pub(crate) slots: RwLock<BTreeMap<String, Arc<Slot>>>,
    pub(crate) errors: RwLock<Vec<FileError>>,
    pub(crate) concurrency: usize,
}

impl Published {
    pub(crate) fn slot(&self, id: &str) -> Option<Arc<Slot>> {
        self.slots.read().ok()?.get(id).cloned()
    }
}

/// Whether `path` names a plugin file: `*.wasm`, not hidden.
pub(crate) fn plugin_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    (name.ends_with(".wasm") && !name.starts_with('.') && name.len() > 5).then(|| name.to_owned())
}

impl Registry {
    pub(crate) fn new(dir: Option<PathBuf>, bundled: Vec<Bundled>) -> Self {
        Self {
            dir,
            files: BTreeMap::new(),
            bundled: bundled
                .into_iter()
                .map(|source| BundledRecord {
                    source,
                    loaded: None,
                    error: None,
                })
                .collect(),
        }
    }

    /// Load every bundled plugin.
    pub(crate) async fn load_bundled(&mut self, loader: &Loader, out: &Published) {
        for i in 0..self.bundled.len() {
            self.load_bundled_one(i, loader, out).await;
        }
        self.publish_errors(out);
    }

    async fn load_bundled_one(&mut self, i: usize, loader: &Loader, out: &Published) {
        let source = self.bundled[i].source.clone();
        let result = if source.bytes.is_empty() {
            Err(LoadError {
                id: None,
                message: format!(
                    "the bundled plugin `{}` is empty: this daemon was built with PLUGINS_SKIP_BUILD",
                    source.name
                ),
            })
        } else {
            loader
                .load(
                    source.bytes.clone(),
                    Source::Bundled {
                        name: source.name.clone(),
                    },
                )
                .await
        };
        match result {
            Ok(p) => {
                let id = p.manifest.id.clone();
                let clash =
                    self.bundled.iter().enumerate().any(|(j, b)| {
                        j != i && b.loaded.as_ref().is_some_and(|l| l.manifest.id == id)
                    });
                if clash {
                    self.bundled[i].error = Some((
                        LoadError {
                            id: Some(id.clone()),
                            message: format!("another bundled plugin already has the id `{id}`"),
                        },
                        Utc::now(),
                    ));
                    return;
                }
                tracing::info!(plugin = %id, version = %p.manifest.version, "loaded bundled plugin");
                self.bundled[i].loaded = Some(Arc::new(p));
                self.bundled[i].error = None;
                self.publish(&id, out);
            }
            Err(e) => {
                tracing::error!(plugin = %source.name, error = %e, "bundled plugin refused");
                self.bundled[i].error = Some((e, Utc::now()));
            }
        }
    }

    /// Re-read every file in the folder (startup scan and `POST /plugins/rescan`). Files that did
    /// not change are skipped, unless they failed or their plugin is unhealthy.
    pub(crate) async fn rescan(&mut self, loader: &Loader, out: &Published) -> RescanReport {
        let mut report = RescanReport::default();
        // Unhealthy bundled plugins get a fresh start too.
        for i in 0..self.bundled.len() {
            if self.bundled[i]
                .loaded
                .as_ref()
                .is_some_and(|p| p.is_unhealthy())
            {
                self.load_bundled_one(i, loader, out).await;
            }
        }
        let mut names: Vec<String> = Vec::new();
        if let Some(dir) = &self.dir {
            match std::fs::read_dir(dir) {
                Ok(entries) => {
                    for entry in entries.flatten() {
                        if entry
                            .file_type()
                            .is_ok_and(|t| t.is_file() || t.is_symlink())
                            && let Some(name) = plugin_file_name(&entry.path())
                        {
                            names.push(name);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e.kind(), "cannot list the plugins folder"),
            }
        }
        names.sort();
        // Known files that vanished without an event.
        let gone: Vec<String> = self
            .files
            .keys()
            .filter(|k| !names.contains(k))
            .cloned()
            .collect();
        for name in gone.into_iter().chain(names) {
            let force = self.files.get(&name).is_some_and(|r| {
                r.error.is_some() || r.loaded.as_ref().is_some_and(|p| p.is_unhealthy())
            });
            match self.reload_file(&name, force, loader, out).await {
                Outcome::Loaded => report.loaded.push(name),
                Outcome::Failed(error) => report.failed.push(RescanFailure { file: name, error }),
                Outcome::Unchanged => report.unchanged.push(name),
                Outcome::Removed => report.removed.push(name),
            }
        }
        self.publish_errors(out);
        report
    }

    /// React to changes of these files (watcher events).
    pub(crate) async fn changed(&mut self, names: Vec<String>, loader: &Loader, out: &Published) {
        for name in names {
            self.reload_file(&name, false, loader, out).await;
        }
        self.publish_errors(out);
    }

    async fn reload_file(
        &mut self,
        name: &str,
        force: bool,
        loader: &Loader,
        out: &Published,
    ) -> Outcome {
        let Some(dir) = self.dir.clone() else {
            return Outcome::Unchanged;
        };
        let path = dir.join(name);
        let bytes = match read_capped(&path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                return if self.remove_file(name, loader, out).await {
                    Outcome::Removed
                } else {
                    Outcome::Unchanged
                };
            }
            Err(message) => {
                let record = self.files.entry(name.to_owned()).or_default();
                record.attempted_sha = None;
                record.error = Some((
                    LoadError {
                        id: None,
                        message: message.clone(),
                    },
                    Utc::now(),
                ));
                return Outcome::Failed(message);
            }
        };
        let sha = sha256_hex(&bytes);
        let record = self.files.entry(name.to_owned()).or_default();
        if !force && record.attempted_sha.as_deref() == Some(sha.as_str()) {
            return Outcome::Unchanged;
        }
        record.attempted_sha = Some(sha);

        let result = loader
            .load(
                Arc::from(bytes),
                Source::Folder {
                    file: name.to_owned(),
                },
            )
            .await;
        let loaded = match result {
            Ok(p) => p,
            Err(e) => return self.fail(name, e),
        };
        let id = loaded.manifest.id.clone();
        if let Some(other) = self
            .files
            .iter()
            .find(|(n, r)| {
                n.as_str() != name && r.loaded.as_ref().is_some_and(|p| p.manifest.id == id)
            })
            .map(|(n, _)| n.clone())
        {
            let e = LoadError {
                id: Some(id.clone()),
                message: format!("the id `{id}` is already provided by the file {other}"),
            };
            return self.fail(name, e);
        }
        tracing::info!(
            plugin = %id,
            version = %loaded.manifest.version,
            file = name,
            cached = loaded.from_cache,
            compile_ms = loaded.timings.compile.as_millis() as u64,
            "loaded plugin from the plugins folder"
        );
        let record = self.files.entry(name.to_owned()).or_default();
        let previous = record
            .loaded
            .replace(Arc::new(loaded))
            .map(|p| p.manifest.id.clone());
        record.error = None;
        self.publish(&id, out);
        if let Some(old) = previous
            && old != id
        {
            self.publish(&old, out);
        }
        Outcome::Loaded
    }

    fn fail(&mut self, name: &str, e: LoadError) -> Outcome {
        let record = self.files.entry(name.to_owned()).or_default();
        tracing::warn!(
            file = name,
            error = %e,
            keeps = record.loaded.as_ref().map(|p| format!("{} {}", p.manifest.id, p.manifest.version)),
            "plugin file refused"
        );
        let message = e.message.clone();
        record.error = Some((e, Utc::now()));
        Outcome::Failed(message)
    }

    /// Forget a deleted file; its id falls back to the bundled plugin, or is unloaded. Files
    /// that were refused because they clashed with this one get another chance.
    async fn remove_file(&mut self, name: &str, loader: &Loader, out: &Published) -> bool {
        let Some(record) = self.files.remove(name) else {
            return false;
        };
        if let Some(p) = record.loaded {
            let id = p.manifest.id.clone();
            self.publish(&id, out);
            let retry: Vec<String> = self
                .files
                .iter()
                .filter(|(_, r)| {
                    r.loaded.is_none()
                        && r.error
                            .as_ref()
                            .is_some_and(|(e, _)| e.id.as_deref() == Some(&id))
                })
                .map(|(n, _)| n.clone())
                .collect();
            for other in retry {
                Box::pin(self.reload_file(&other, true, loader, out)).await;
            }
        }
        true
    }

    /// The version that should serve `id`: a folder file overrides the bundled plugin.
    fn effective(&self, id: &str) -> Option<Arc<LoadedPlugin>> {
        self.files
            .values()
            .find_map(|r| r.loaded.as_ref().filter(|p| p.manifest.id == id).cloned())
            .or_else(|| {
                self.bundled
                    .iter()
                    .find_map(|b| b.loaded.as_ref().filter(|p| p.manifest.id == id).cloned())
            })
    }

    /// Make the effective version of `id` the one calls get: the atomic swap.
    fn publish(&self, id: &str, out: &Published) {
        let effective = self.effective(id);
        let Ok(mut slots) = out.slots.write() else {
            return;
        };
        match (effective, slots.get(id)) {
            (Some(p), Some(slot)) => {
                if !Arc::ptr_eq(&slot.current.load(), &p) {
                    tracing::info!(plugin = id, version = %p.manifest.version, "plugin version swapped in");
                    slot.current.store(p);
                }
            }
            (Some(p), None) => {
                slots.insert(
                    id.to_owned(),
                    Arc::new(Slot {
                        current: arc_swap::ArcSwap::new(p),
                        semaphore: Semaphore::new(out.concurrency),
                        calls: AtomicU64::new(0),
                        errors: AtomicU64::new(0),
                    }),
                );
            }
            (None, Some(_)) => {
                tracing::info!(plugin = id, "plugin unloaded");
                slots.remove(id);
            }
            (None, None) => {}
        }
    }

    fn publish_errors(&self, out: &Published) {
        let mut errors = Vec::new();
        for b in &self.bundled {
            if let Some((e, at)) = &b.error {
                errors.push(FileError {
                    file: None,
                    bundled: Some(b.source.name.clone()),
                    error: e.clone(),
                    at: *at,
                    serving: b.loaded.is_some(),
                });
            }
        }
        for (name, r) in &self.files {
            if let Some((e, at)) = &r.error {
                let mut error = e.clone();
                // A file whose old version still serves is known by that version's id.
                if error.id.is_none() {
                    error.id = r.loaded.as_ref().map(|p| p.manifest.id.clone());
                }
                errors.push(FileError {
                    file: Some(name.clone()),
                    bundled: None,
                    error,
                    at: *at,
                    serving: r.loaded.is_some(),
                });
            }
        }
        if let Ok(mut slot) = out.errors.write() {
            *slot = errors;
        }
    }
}

/// Read a plugin file with the size cap; `Ok(None)` when it does not exist (any more).
fn read_capped(path: &Path) -> Result<Option<Vec<u8>>, String> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read the file: {}", e.kind())),
    };
    let mut bytes = Vec::new();
    file.take(MAX_COMPONENT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {}", e.kind()))?;
    if bytes.len() > MAX_COMPONENT_BYTES {
        return Err(format!(
            "the file is larger than {} MiB",
            MAX_COMPONENT_BYTES / (1024 * 1024)
        ));
    }
    Ok(Some(bytes))
}

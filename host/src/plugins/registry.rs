//! Which plugin version serves each id, and how that changes: bundled plugins, the plugins
//! folder (startup scan, watcher, rescan), overrides and fall-backs, and the atomic swap.
//!
//! All changes go through one `tokio::sync::Mutex<Registry>`, so reloads are serialized. Calls
//! never take that lock: they read the published [`Slot`]s (a short `RwLock` read, then an
//! `ArcSwap` load), so a call already running keeps the version it started with.

use super::load::{LoadError, LoadedPlugin, Loader, MAX_COMPONENT_BYTES, Source, sha256_hex};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::Semaphore;

/// The published state of one plugin id.
pub(crate) struct Slot {
    pub(crate) current: arc_swap::ArcSwap<LoadedPlugin>,
    pub(crate) semaphore: Semaphore,
    /// The budget of operations unauthenticated visitors can start (see `Op::is_public`).
    pub(crate) public_semaphore: Semaphore,
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
    /// The version of this file waiting for an admin's approval, if any.
    pub(crate) pending: Option<PendingApproval>,
}

/// A loaded version held back until an admin approves it (`POST /plugins/{id}/approve`,
/// `zondarr plugin approve`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PendingApproval {
    /// The file in the plugins folder.
    pub file: String,
    /// The plugin version it carries.
    pub version: String,
    /// Hex SHA-256 of the file: what an approval is for.
    pub sha256: String,
    /// Why it needs an approval.
    pub reason: String,
}

/// An approved plugin version: this id from a file with this content may serve.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Approval {
    /// Plugin id.
    pub id: String,
    /// Hex SHA-256 of the approved file.
    pub sha256: String,
}

/// A plugin embedded in (or, for tests, given to) the daemon.
#[derive(Clone)]
pub struct Bundled {
    /// Name used in messages (the directory under `plugins/`).
    pub name: String,
    /// The component (a static in the daemon's executable for the embedded ones: not copied).
    pub bytes: Bytes,
}

#[derive(Default)]
struct FileRecord {
    loaded: Option<Arc<LoadedPlugin>>,
    /// A version that loaded but waits for an admin's approval (it would take over an id that
    /// another source provides).
    held: Option<(Arc<LoadedPlugin>, String)>,
    attempted_sha: Option<String>,
    error: Option<(LoadError, DateTime<Utc>)>,
    /// The loaded version serves, but its extra hosts wait for an admin's approval (the first
    /// version of a new id that declares some): why.
    reach_pending: Option<String>,
    /// Another file took this file's id over with an admin's approval: not retried by rescans
    /// (only when that file goes away), so two approved files do not take turns.
    superseded: bool,
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
    /// Files that wait for an admin's approval: held (the previous version serves), or serving
    /// with their extra hosts closed.
    pub pending_approval: Vec<String>,
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
    Held,
    Failed(String),
    Unchanged,
    Removed,
}

/// The mutable registry; only the reload path touches it.
pub(crate) struct Registry {
    dir: Option<PathBuf>,
    files: BTreeMap<String, FileRecord>,
    bundled: Vec<BundledRecord>,
    approved: BTreeSet<Approval>,
    /// Versions an admin refused: a takeover or extra hosts they asked for are not asked again
    /// until the file changes.
    refused: BTreeSet<Approval>,
}

/// What the registry publishes to.
pub(crate) struct Published {
    pub(crate) slots: RwLock<BTreeMap<String, Arc<Slot>>>,
    pub(crate) errors: RwLock<Vec<FileError>>,
    pub(crate) concurrency: usize,
    /// Raised after every change of `slots` (a plugin loaded, swapped or unloaded): what was
    /// derived from the manifests at one generation is stale at the next.
    pub(crate) generation: AtomicU64,
}

impl Published {
    pub(crate) fn slot(&self, id: &str) -> Option<Arc<Slot>> {
        self.slots.read().ok()?.get(id).cloned()
    }
}

/// Calls of unauthenticated paths one plugin may run at once: half its concurrency, at least one.
pub(crate) fn public_concurrency(concurrency: usize) -> usize {
    (concurrency / 2).max(1)
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
            approved: BTreeSet::new(),
            refused: BTreeSet::new(),
        }
    }

    /// Replace the set of approved versions (at start, and before a rescan, from the database).
    pub(crate) fn set_approvals(&mut self, approvals: impl IntoIterator<Item = Approval>) {
        self.approved = approvals.into_iter().collect();
    }

    /// Replace the set of refused versions (at start and before a rescan, from the database),
    /// and refuse what waits now and is in it.
    pub(crate) fn set_refusals(
        &mut self,
        refusals: impl IntoIterator<Item = Approval>,
        out: &Published,
    ) {
        self.refused = refusals.into_iter().collect();
        let ids: BTreeSet<String> = self.refused.iter().map(|r| r.id.clone()).collect();
        for id in ids {
            self.refuse_matching(&id, true, out);
        }
    }

    /// Refuse what waits for an approval for `id`: a held version is dropped (the version
    /// serving now keeps serving), and a serving version's extra hosts stay closed. Neither is
    /// asked again until the file changes. Returns what was refused; empty when nothing waited.
    pub(crate) fn refuse(&mut self, id: &str, out: &Published) -> Vec<PendingApproval> {
        self.refuse_matching(id, false, out)
    }

    /// [`Registry::refuse`]; with `only_listed`, only the versions in the refused set.
    fn refuse_matching(
        &mut self,
        id: &str,
        only_listed: bool,
        out: &Published,
    ) -> Vec<PendingApproval> {
        let mut refused = Vec::new();
        for (name, record) in self.files.iter_mut() {
            let waiting = match (&record.held, &record.loaded, &record.reach_pending) {
                (Some((p, reason)), _, _) if p.manifest.id == id => {
                    Some((p.clone(), reason.clone(), true))
                }
                (None, Some(p), Some(reason)) if p.manifest.id == id => {
                    Some((p.clone(), reason.clone(), false))
                }
                _ => None,
            };
            let Some((plugin, reason, held)) = waiting else {
                continue;
            };
            let version = Approval {
                id: id.to_owned(),
                sha256: plugin.sha256.clone(),
            };
            if only_listed && !self.refused.contains(&version) {
                continue;
            }
            self.refused.insert(version);
            let message = if held {
                record.held = None;
                format!("refused by an admin: {reason}; the version serving now keeps serving")
            } else {
                record.reach_pending = None;
                format!(
                    "extra hosts refused by an admin: version {} serves without them",
                    plugin.manifest.version
                )
            };
            tracing::warn!(plugin = id, version = %plugin.manifest.version, file = %name, sha256 = %plugin.sha256, "{message}");
            record.error = Some((
                LoadError {
                    id: Some(id.to_owned()),
                    message: format!(
                        "{message}. It is not asked again until the file changes; to remove it, \
                         delete the file from the plugins folder"
                    ),
                },
                Utc::now(),
            ));
            refused.push(PendingApproval {
                file: name.clone(),
                version: plugin.manifest.version.clone(),
                sha256: plugin.sha256.clone(),
                reason,
            });
        }
        if !refused.is_empty() {
            self.publish_errors(out);
        }
        refused
    }

    /// Approve the held version(s) of `id`: they serve from now on, and a file that served the
    /// id before stops serving it. Returns what was approved; empty when nothing was waiting.
    pub(crate) fn approve(&mut self, id: &str, out: &Published) -> Vec<PendingApproval> {
        // A version serving with its extra hosts closed: they open now.
        let mut approved = Vec::new();
        for (name, record) in self.files.iter_mut() {
            let Some(plugin) = record.loaded.as_ref().filter(|p| p.manifest.id == id) else {
                continue;
            };
            let Some(reason) = record.reach_pending.take() else {
                continue;
            };
            plugin.reach_approved.store(true, Ordering::Release);
            self.approved.insert(Approval {
                id: id.to_owned(),
                sha256: plugin.sha256.clone(),
            });
            tracing::warn!(plugin = id, version = %plugin.manifest.version, file = %name, sha256 = %plugin.sha256, "plugin's extra hosts approved by an admin");
            approved.push(PendingApproval {
                file: name.clone(),
                version: plugin.manifest.version.clone(),
                sha256: plugin.sha256.clone(),
                reason,
            });
            record.error = None;
        }
        let names: Vec<String> = self
            .files
            .iter()
            .filter(|(_, r)| r.held.as_ref().is_some_and(|(p, _)| p.manifest.id == id))
            .map(|(n, _)| n.clone())
            .collect();
        for name in names {
            self.supersede_others(id, &name);
            let Some(record) = self.files.get_mut(&name) else {
                continue;
            };
            let Some((plugin, reason)) = record.held.take() else {
                continue;
            };
            self.approved.insert(Approval {
                id: id.to_owned(),
                sha256: plugin.sha256.clone(),
            });
            plugin.reach_approved.store(true, Ordering::Release);
            tracing::warn!(plugin = id, version = %plugin.manifest.version, file = %name, sha256 = %plugin.sha256, "plugin version approved by an admin");
            approved.push(PendingApproval {
                file: name.clone(),
                version: plugin.manifest.version.clone(),
                sha256: plugin.sha256.clone(),
                reason,
            });
            record.loaded = Some(plugin);
            record.error = None;
            record.superseded = false;
        }
        if !approved.is_empty() {
            self.publish(id, out);
            self.publish_errors(out);
        }
        approved
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

    /// Stop serving `id` from every file but `name`, which an admin approved to provide it.
    fn supersede_others(&mut self, id: &str, name: &str) {
        for (other, record) in self.files.iter_mut() {
            if other != name && record.loaded.as_ref().is_some_and(|p| p.manifest.id == id) {
                record.loaded = None;
                record.superseded = true;
                record.error = Some((
                    LoadError {
                        id: Some(id.to_owned()),
                        message: format!(
                            "the id `{id}` is now provided by the approved file {name}"
                        ),
                    },
                    Utc::now(),
                ));
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
        if let Some(dir) = self.dir.clone() {
            // Listing a folder is blocking I/O too: off the runtime. Every `*.wasm` entry that is
            // not a folder is looked at, so a FIFO or a link to one is reported, not ignored.
            let listed = tokio::task::spawn_blocking(move || {
                std::fs::read_dir(&dir).map(|entries| {
                    entries
                        .flatten()
                        .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
                        .filter_map(|e| plugin_file_name(&e.path()))
                        .collect::<Vec<String>>()
                })
            })
            .await;
            match listed {
                Ok(Ok(found)) => names = found,
                Ok(Err(e)) => tracing::warn!(error = %e.kind(), "cannot list the plugins folder"),
                Err(_) => tracing::warn!("cannot list the plugins folder"),
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
                (r.error.is_some() && !r.superseded)
                    || r.loaded.as_ref().is_some_and(|p| p.is_unhealthy())
            });
            match self.reload_file(&name, force, loader, out).await {
                Outcome::Loaded => {
                    // It serves, but its extra hosts wait for an admin: it waits too.
                    if self
                        .files
                        .get(&name)
                        .is_some_and(|r| r.reach_pending.is_some())
                    {
                        report.pending_approval.push(name.clone());
                    }
                    report.loaded.push(name)
                }
                Outcome::Held => report.pending_approval.push(name),
                Outcome::Failed(error) => report.failed.push(RescanFailure { file: name, error }),
                Outcome::Unchanged => report.unchanged.push(name),
                Outcome::Removed => report.removed.push(name),
            }
        }
        self.publish_errors(out);
        self.prune_cache(loader).await;
        report
    }

    /// React to changes of these files (watcher events).
    pub(crate) async fn changed(&mut self, names: Vec<String>, loader: &Loader, out: &Published) {
        for name in names {
            self.reload_file(&name, false, loader, out).await;
        }
        self.publish_errors(out);
        self.prune_cache(loader).await;
    }

    /// Delete the compiled code of plugin versions no longer installed: every version that is
    /// bundled, in the folder now, serving or held for approval keeps its entry.
    async fn prune_cache(&self, loader: &Loader) {
        let Some(cache) = loader.cache.clone() else {
            return;
        };
        let mut keep: HashSet<String> = HashSet::new();
        let mut unhashed: Vec<Bytes> = Vec::new();
        for b in &self.bundled {
            match &b.loaded {
                Some(p) => {
                    keep.insert(p.sha256.clone());
                }
                None => unhashed.push(b.source.bytes.clone()),
            }
        }
        for r in self.files.values() {
            keep.extend(r.attempted_sha.iter().cloned());
            keep.extend(r.loaded.iter().map(|p| p.sha256.clone()));
            keep.extend(r.held.iter().map(|(p, _)| p.sha256.clone()));
        }
        let _ = tokio::task::spawn_blocking(move || {
            keep.extend(unhashed.iter().map(|b| sha256_hex(b)));
            cache.retain(&keep)
        })
        .await;
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
        let (bytes, sha) = match read_plugin_file(path).await {
            Ok(Some(read)) => read,
            Ok(None) => {
                return if self.remove_file(name, loader, out).await {
                    Outcome::Removed
                } else {
                    Outcome::Unchanged
                };
            }
            Err(message) => {
                tracing::warn!(file = name, error = %message, "plugin file skipped");
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
        let record = self.files.entry(name.to_owned()).or_default();
        if !force && record.attempted_sha.as_deref() == Some(sha.as_str()) {
            return Outcome::Unchanged;
        }
        record.attempted_sha = Some(sha);

        let result = loader
            .load(
                Bytes::from(bytes),
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
        let serving = self.effective(&id);
        if let Some(serving) = &serving
            && let Some(reason) = reclassified(&serving.manifest, &loaded.manifest)
        {
            let e = LoadError {
                id: Some(id.clone()),
                message: reason,
            };
            return self.fail(name, e);
        }
        // Taking over an id another source provides (a bundled plugin, or another file) needs
        // an admin's approval of this exact file; the version serving now keeps serving.
        let own = self
            .files
            .get(name)
            .and_then(|r| r.loaded.as_ref())
            .is_some_and(|p| p.manifest.id == id);
        let bundled = self
            .bundled
            .iter()
            .any(|b| b.loaded.as_ref().is_some_and(|p| p.manifest.id == id));
        let other_file = self
            .files
            .iter()
            .find(|(n, r)| {
                n.as_str() != name && r.loaded.as_ref().is_some_and(|p| p.manifest.id == id)
            })
            .map(|(n, _)| n.clone());
        let takeover = match (&other_file, bundled) {
            (Some(other), _) => Some(format!(
                "the id `{id}` is already provided by the file {other}"
            )),
            (None, true) => Some(format!(
                "the id `{id}` is already provided by a plugin bundled with Zondarr{}",
                if own { " (this file overrides it)" } else { "" }
            )),
            (None, false) => None,
        };
        // A new version that reaches further than the one serving (another extra host, another
        // origin, or credentials sent where they were not) needs an approval too.
        let reach = match &serving {
            Some(s) => more_reach(&s.manifest, &loaded.manifest),
            // The first version of a new id: sending the server's credentials to an extra host
            // holds it; extra hosts without credentials let it serve, but they stay closed
            // until an admin approves (below).
            None => credentials_elsewhere(&loaded.manifest),
        };
        // Whether its extra hosts may be reached at the manifest's origins: approved for this
        // exact file, or no further than an approved version serving now.
        let approved_reach = self.approved.contains(&Approval {
            id: id.clone(),
            sha256: loaded.sha256.clone(),
        }) || match &serving {
            Some(s) => s.reach_approved.load(Ordering::Acquire) && reach.is_none(),
            None => loaded.manifest.extra_hosts.is_empty(),
        };
        loaded
            .reach_approved
            .store(approved_reach, Ordering::Release);
        let refused = self.refused.contains(&Approval {
            id: id.clone(),
            sha256: loaded.sha256.clone(),
        });
        let reach_pending = (!approved_reach && reach.is_none() && !refused).then(|| {
            let hosts: Vec<String> = loaded
                .manifest
                .extra_hosts
                .iter()
                .map(|h| format!("`{}` ({})", h.id, h.origin))
                .collect();
            format!(
                "version {} serves, but its extra host(s) {} stay closed until an admin approves \
                 them (or sets an origin for them in a server's settings)",
                loaded.manifest.version,
                hosts.join(", ")
            )
        });
        let takeover = match (takeover, reach) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
        let approval = Approval {
            id: id.clone(),
            sha256: loaded.sha256.clone(),
        };
        if let Some(why) = &takeover
            && refused
            && !self.approved.contains(&approval)
        {
            let e = LoadError {
                id: Some(id),
                message: format!(
                    "refused by an admin: {why}. It is not asked again until the file changes; to \
                     remove it, delete the file from the plugins folder"
                ),
            };
            return self.fail(name, e);
        }
        if let Some(why) = takeover
            && !self.approved.contains(&approval)
        {
            let message = format!(
                "waiting for an admin's approval: {why}; approve this file (sha256 {}) with \
                 `zondarr plugin approve {id}` or POST /api/v1/plugins/{id}/approve, or refuse \
                 it with POST /api/v1/plugins/{id}/refuse",
                loaded.sha256
            );
            tracing::warn!(
                plugin = %id,
                version = %loaded.manifest.version,
                file = name,
                sha256 = %loaded.sha256,
                "plugin file held until an admin approves it; the version serving now keeps serving"
            );
            let record = self.files.entry(name.to_owned()).or_default();
            record.held = Some((Arc::new(loaded), why));
            record.error = Some((
                LoadError {
                    id: Some(id),
                    message,
                },
                Utc::now(),
            ));
            return Outcome::Held;
        }
        if other_file.is_some() {
            self.supersede_others(&id, name);
        }
        tracing::info!(
            plugin = %id,
            version = %loaded.manifest.version,
            file = name,
            code = ?loaded.code_from,
            compile_ms = loaded.timings.compile.as_millis() as u64,
            "loaded plugin from the plugins folder"
        );
        let record = self.files.entry(name.to_owned()).or_default();
        let sha256 = loaded.sha256.clone();
        let previous = record
            .loaded
            .replace(Arc::new(loaded))
            .map(|p| p.manifest.id.clone());
        record.held = None;
        let version = record.loaded.as_ref().map(|p| p.manifest.version.clone());
        record.error = reach_pending
            .as_ref()
            .map(|why| {
                tracing::warn!(plugin = %id, file = name, %sha256, "plugin serves; its extra hosts wait for an admin's approval");
                format!(
                    "{why}; approve this file (sha256 {sha256}) with `zondarr plugin approve {id}` \
                     or POST /api/v1/plugins/{id}/approve, or refuse it with \
                     POST /api/v1/plugins/{id}/refuse"
                )
            })
            .or_else(|| {
                (refused && !approved_reach).then(|| {
                    format!(
                        "extra hosts refused by an admin: version {} serves without them. It is \
                         not asked again until the file changes",
                        version.unwrap_or_default()
                    )
                })
            })
            .map(|message| {
                (
                    LoadError {
                        id: Some(id.clone()),
                        message,
                    },
                    Utc::now(),
                )
            });
        record.reach_pending = reach_pending;
        record.superseded = false;
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
                    out.generation.fetch_add(1, Ordering::Release);
                }
            }
            (Some(p), None) => {
                slots.insert(
                    id.to_owned(),
                    Arc::new(Slot {
                        current: arc_swap::ArcSwap::new(p),
                        semaphore: Semaphore::new(out.concurrency),
                        public_semaphore: Semaphore::new(public_concurrency(out.concurrency)),
                        calls: AtomicU64::new(0),
                        errors: AtomicU64::new(0),
                    }),
                );
                out.generation.fetch_add(1, Ordering::Release);
            }
            (None, Some(_)) => {
                tracing::info!(plugin = id, "plugin unloaded");
                slots.remove(id);
                out.generation.fetch_add(1, Ordering::Release);
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
                    pending: None,
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
                    pending: r
                        .held
                        .as_ref()
                        .map(|(p, reason)| (p, reason))
                        .or_else(|| r.loaded.as_ref().zip(r.reach_pending.as_ref()))
                        .map(|(p, reason)| PendingApproval {
                            file: name.clone(),
                            version: p.manifest.version.clone(),
                            sha256: p.sha256.clone(),
                            reason: reason.clone(),
                        }),
                });
            }
        }
        if let Ok(mut slot) = out.errors.write() {
            *slot = errors;
        }
    }
}

/// Why `new` may not replace `old`: a field that is a secret in the version serving now would
/// become a non-secret one, so the plugin could read stored credentials as configuration.
/// (Stored sealed values stay secret anyway, see `servers::Settings::sealed`; the refusal makes
/// the mistake or the attempt visible.)
pub(crate) fn reclassified(
    old: &super::types::Manifest,
    new: &super::types::Manifest,
) -> Option<String> {
    use super::types::ValueKind;
    for field in old.config.iter().filter(|f| f.kind == ValueKind::Secret) {
        if let Some(now) = new.config_field(&field.key)
            && now.kind != ValueKind::Secret
        {
            return Some(format!(
                "refused: the config field `{}` is a secret in version {} (serving now) and version {} \
                 makes it a {} field, which would hand stored credentials to the plugin; a secret \
                 field must stay secret (use a new key for a non-secret value)",
                field.key,
                old.version,
                new.version,
                serde_json::to_value(now.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "non-secret".into()),
            ));
        }
    }
    None
}

/// The extra hosts `m` wants the server's credentials sent to, as an approval reason.
pub(crate) fn credentials_elsewhere(m: &super::types::Manifest) -> Option<String> {
    let hosts: Vec<String> = m
        .extra_hosts
        .iter()
        .filter(|h| h.send_credentials)
        .map(|h| format!("`{}` ({})", h.id, h.origin))
        .collect();
    (!hosts.is_empty()).then(|| {
        format!(
            "version {} asks for the server's credentials to be sent to the extra host(s) {}",
            m.version,
            hosts.join(", ")
        )
    })
}

/// How `new` reaches further than `old` over the network: an extra host `old` does not declare,
/// one moved to another origin, or credentials sent to a host that did not get them.
pub(crate) fn more_reach(
    old: &super::types::Manifest,
    new: &super::types::Manifest,
) -> Option<String> {
    let mut asks = Vec::new();
    for h in &new.extra_hosts {
        match old.extra_host(&h.id) {
            None => asks.push(format!("a new extra host `{}` ({})", h.id, h.origin)),
            Some(o) if o.origin != h.origin => asks.push(format!(
                "the extra host `{}` at {} instead of {}",
                h.id, h.origin, o.origin
            )),
            Some(o) if h.send_credentials && !o.send_credentials => asks.push(format!(
                "the server's credentials sent to the extra host `{}` ({})",
                h.id, h.origin
            )),
            Some(_) => {}
        }
    }
    (!asks.is_empty()).then(|| {
        format!(
            "version {} asks for more network reach than version {} (serving now): {}",
            new.version,
            old.version,
            asks.join(", ")
        )
    })
}

/// Read a plugin file with the size cap, off the async runtime, and hash it: `Ok(None)` when it
/// does not exist (any more).
async fn read_plugin_file(path: PathBuf) -> Result<Option<(Vec<u8>, String)>, String> {
    tokio::task::spawn_blocking(move || {
        Ok(read_plugin_file_blocking(&path)?.map(|bytes| {
            let sha = sha256_hex(&bytes);
            (bytes, sha)
        }))
    })
    .await
    .map_err(|_| "reading the file failed".to_owned())?
}

/// Read a plugin file: regular files only (a FIFO, device or folder named `*.wasm`, or a
/// symlink to one, is refused instead of blocking forever), at most [`MAX_COMPONENT_BYTES`].
/// Opened non-blocking, so a file swapped for a FIFO between the check and the open cannot
/// block either. `Ok(None)` when it does not exist.
pub(crate) fn read_plugin_file_blocking(path: &Path) -> Result<Option<Vec<u8>>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let not_regular = |meta: &std::fs::Metadata| {
        let t = meta.file_type();
        let what = if t.is_dir() {
            "a folder"
        } else if t.is_file() {
            return None;
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        Some(format!("skipped: {what}; plugins must be regular files"))
    };
    // `metadata` follows symlinks: a link to a FIFO is judged by the FIFO.
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read the file: {}", e.kind())),
    };
    if let Some(reason) = not_regular(&meta) {
        return Err(reason);
    }
    let too_large = || {
        format!(
            "the file is larger than {} MiB",
            MAX_COMPONENT_BYTES / (1024 * 1024)
        )
    };
    if meta.len() > MAX_COMPONENT_BYTES as u64 {
        return Err(too_large());
    }
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read the file: {}", e.kind())),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read the file: {}", e.kind()))?;
    if let Some(reason) = not_regular(&meta) {
        return Err(reason);
    }
    let mut bytes = Vec::new();
    file.take(MAX_COMPONENT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {}", e.kind()))?;
    if bytes.len() > MAX_COMPONENT_BYTES {
        return Err(too_large());
    }
    Ok(Some(bytes))
}

//! Compiled-code cache: `<cache_dir>/<sha256 of the .wasm>-<engine compatibility key>.cwasm`.
//!
//! `Component::deserialize` trusts its input completely (it is native code), so only files this
//! module wrote are ever deserialized: they live in the daemon's own cache folder, are written
//! atomically (temporary file + rename), and end with a SHA-256 of their contents that is
//! checked before deserializing, which catches truncation and corruption. Never point this at
//! the plugins folder. The registry deletes the entries of plugin versions no longer installed
//! ([`CodeCache::retain`]) after every scan.
//!
//! Entries are mapped, not copied (`Component::deserialize_file`), so the code is file-backed
//! memory (docs/performance.md, "Idle memory"). That is sound only because an entry's bytes
//! never change while mapped: entries are only ever replaced by a rename or deleted. Bundled
//! plugins' build-time code is written here too and mapped the same way.

use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use wasmtime::Engine;
use wasmtime::component::Component;

const DIGEST_LEN: usize = 32;
/// Age after which a temporary file in the cache is left over from a crash.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// The on-disk cache of compiled components.
#[derive(Debug, Clone)]
pub(crate) struct CodeCache {
    dir: PathBuf,
    compat: String,
}

impl CodeCache {
    /// A cache in `dir` (created if missing) for `engine`.
    pub(crate) fn open(dir: PathBuf, engine: &Engine) -> anyhow::Result<Self> {
        fs::create_dir_all(&dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the plugin cache folder {}: {e}",
                dir.display()
            )
        })?;
        let cache = Self {
            dir,
            compat: super::engine::compat_key(engine),
        };
        cache.prune();
        Ok(cache)
    }

    /// Delete entries another engine (an older wasmtime or other settings) wrote: this engine
    /// never loads them. Entries of plugin versions no longer installed go in [`Self::retain`].
    fn prune(&self) {
        let suffix = format!("-{}.cwasm", self.compat);
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(".cwasm")
                && !name.ends_with(&suffix)
                && entry.file_type().is_ok_and(|t| t.is_file())
                && fs::remove_file(entry.path()).is_ok()
            {
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(
                removed,
                "pruned plugin cache entries of another engine version"
            );
        }
    }

    /// Delete this engine's entries of components not in `keep` (hex SHA-256 of every plugin
    /// installed now: bundled, in the plugins folder, serving or held), and temporary files a
    /// crash left behind more than [`STALE_TMP`] ago. Blocking I/O: call off the async threads.
    /// Returns how many entries were deleted.
    pub(crate) fn retain(&self, keep: &HashSet<String>) -> usize {
        let suffix = format!("-{}.cwasm", self.compat);
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return 0;
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let stale = if let Some(sha256) = name.strip_suffix(&suffix) {
                !keep.contains(sha256)
            } else {
                // A writer that is still running renames its file within moments; one from a
                // crash is never renamed.
                name.starts_with('.')
                    && name.ends_with(".tmp")
                    && meta
                        .modified()
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > STALE_TMP)
            };
            if stale && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(
                removed,
                "pruned plugin cache entries of plugin versions no longer installed"
            );
        }
        removed
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.cwasm", self.compat))
    }

    /// The cached component for `sha256`, if a valid entry exists. Its code is mapped from the
    /// file, not copied (see [`map_entry`]), where the folder allows it.
    pub(crate) fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let path = self.path(sha256);
        let bytes = fs::read(&path).ok()?;
        match check_digest(&bytes).and_then(|()| map_or_copy(engine, &path, &bytes)) {
            Ok(component) => Some(component),
            Err(reason) => {
                tracing::warn!(file = %path.display(), %reason, "discarding a bad plugin cache entry");
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// A bundled plugin's build-time `code` (see [`deserialize_embedded`]), mapped from its
    /// entry in this cache, which is written from the executable's copy when missing or
    /// different. Mapped, the code is file-backed: pages of a connector that never runs (no
    /// server of its kind) are never read into the daemon's memory, where a copy from the
    /// executable made every connector's code anonymous memory (5.2 MiB for the seven, measured
    /// in docs/performance.md "Idle memory"). `None` when the entry cannot be written or the
    /// code does not fit this engine; the caller then takes the executable's copy or compiles.
    pub(crate) fn load_build_time(
        &self,
        engine: &Engine,
        sha256: &str,
        code: &[u8],
    ) -> Option<Component> {
        let path = self.path(sha256);
        let same = fs::read(&path).is_ok_and(|entry| {
            entry.len() == code.len() + DIGEST_LEN && entry[..code.len()] == *code
        });
        if !same {
            let mut entry = Vec::with_capacity(code.len() + DIGEST_LEN);
            entry.extend_from_slice(code);
            entry.extend_from_slice(&Sha256::digest(code));
            // No fsync: a torn entry after a crash differs from the executable's copy and is
            // written again at the next start (and fails `load`'s digest check).
            if let Err(e) = self.write_atomically(sha256, &entry, false) {
                tracing::warn!(error = %e, "cannot write the plugin cache");
                return None;
            }
        }
        match map_entry(engine, &path) {
            Ok(component) => Some(component),
            Err(reason) => {
                tracing::info!(%reason, "cannot map the bundled plugin's build-time code from the cache");
                None
            }
        }
    }

    /// Store `component` for `sha256`. Failures only cost a recompile later, so they are logged.
    pub(crate) fn store(&self, sha256: &str, component: &Component) {
        if let Err(e) = self.try_store(sha256, component) {
            tracing::warn!(error = %e, "cannot write the plugin cache");
        }
    }

    fn try_store(&self, sha256: &str, component: &Component) -> anyhow::Result<()> {
        let mut bytes = component.serialize().map_err(|e| anyhow::anyhow!("{e}"))?;
        let digest = Sha256::digest(&bytes);
        bytes.extend_from_slice(&digest);
        self.write_atomically(sha256, &bytes, true)
    }

    /// Write the entry for `sha256` through a temporary file and a rename, so a reader sees the
    /// old entry or the new one, and a component mapped from the old one keeps its inode.
    fn write_atomically(&self, sha256: &str, bytes: &[u8], sync: bool) -> anyhow::Result<()> {
        let path = self.path(sha256);
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .dir
            .join(format!(".{sha256}.{}.{unique}.tmp", std::process::id()));
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        if sync {
            file.sync_all()?;
        }
        drop(file);
        fs::rename(&tmp, &path).inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })?;
        Ok(())
    }
}

/// Check the trailing digest of a cache entry.
fn check_digest(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() <= DIGEST_LEN {
        return Err("entry is truncated".into());
    }
    let (code, digest) = bytes.split_at(bytes.len() - DIGEST_LEN);
    if Sha256::digest(code).as_slice() != digest {
        return Err("checksum mismatch".into());
    }
    Ok(())
}

/// [`map_entry`], or where the folder's file system refuses executable mappings (`noexec`), a
/// copy of the checked `entry` in memory as before.
#[allow(unsafe_code)]
fn map_or_copy(engine: &Engine, path: &std::path::Path, entry: &[u8]) -> Result<Component, String> {
    map_entry(engine, path).or_else(|mapped| {
        tracing::debug!(reason = %mapped, "cannot map the plugin cache entry; copying it");
        // SAFETY: `entry` is the file's content whose digest the caller checked; the same
        // argument as in `map_entry`.
        unsafe { Component::deserialize(engine, &entry[..entry.len() - DIGEST_LEN]) }
            .map_err(|e| e.to_string())
    })
}

/// Map a cache entry's code (wasmtime maps the file privately and makes its text executable in
/// place: nothing is copied, no page is written). The trailing digest is past the end of the
/// code object, which wasmtime ignores.
#[allow(unsafe_code)]
fn map_entry(engine: &Engine, path: &std::path::Path) -> Result<Component, String> {
    // SAFETY: the file was checked just before by the caller: either its digest matched, or it
    // equals a bundled plugin's build-time code byte for byte. It is in the daemon's own cache
    // folder and was written by this module (never copied from the plugins folder or any other
    // input), and entries are only ever replaced by a rename or deleted, never changed in place,
    // so the mapping keeps exactly the bytes checked. wasmtime additionally rejects code built
    // by another version or an incompatible engine configuration.
    unsafe { Component::deserialize_file(engine, path) }.map_err(|e| e.to_string())
}

/// The code `host/build.rs` compiled for a bundled plugin, if this engine can run it. `None`
/// (and the caller compiles as usual) when the daemon runs with other engine settings or on a
/// CPU without the features the build machine had: wasmtime checks both before anything runs.
#[allow(unsafe_code)]
pub(crate) fn deserialize_embedded(engine: &Engine, code: &[u8]) -> Option<Component> {
    // SAFETY: `code` is a static in this executable, produced by `host/build.rs` with
    // `Engine::precompile_component` from the very component bytes it is looked up by
    // (`precompiled_for` compares them in full). It is as trusted as the daemon's own machine
    // code, and wasmtime still rejects code of another version or an incompatible engine.
    match unsafe { Component::deserialize(engine, code) } {
        Ok(component) => Some(component),
        Err(e) => {
            tracing::info!(reason = %e, "the bundled plugin's build-time code does not fit this engine; compiling it");
            None
        }
    }
}

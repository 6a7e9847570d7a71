//! The plugins-folder watcher: `notify-debouncer-full` (non-recursive, [`super::WATCH_DEBOUNCE`])
//! feeding one reload task, which serializes reloads through the registry lock.
//!
//! Events are reduced to "these `*.wasm` file names changed"; the registry then looks at each
//! file as it is now (present → load if the content changed, absent → unload), so the kind of
//! event (create, modify, rename, remove) does not matter and atomic tmp + rename installs
//! work. The task holds only a weak reference to the host, so dropping the host ends it.

use super::{Inner, PluginHost};
use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Weak;
use tokio::sync::mpsc;

/// A running watcher and its reload task.
pub(crate) struct Watcher {
    debouncer: Debouncer<notify_debouncer_full::notify::RecommendedWatcher, RecommendedCache>,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    pub(crate) fn start(dir: &Path, host: Weak<Inner>) -> anyhow::Result<Self> {
        let (tx, mut rx) = mpsc::unbounded_channel::<BTreeSet<String>>();
        let mut debouncer = new_debouncer(super::WATCH_DEBOUNCE, None, move |result: DebounceEventResult| {
            match result {
                Ok(events) => {
                    let names: BTreeSet<String> = events
                        .iter()
                        .filter(|e| !matches!(e.kind, EventKind::Access(_)))
                        .flat_map(|e| e.paths.iter())
                        .filter_map(|p| super::registry::plugin_file_name(p))
                        .collect();
                    if !names.is_empty() {
                        let _ = tx.send(names);
                    }
                }
                Err(errors) => {
                    for e in errors {
                        tracing::warn!(error = %e, "plugins folder watcher error; use rescan if changes are missed");
                    }
                }
            }
        })
        .map_err(|e| anyhow::anyhow!("cannot watch the plugins folder: {e}"))?;
        debouncer
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|e| {
                anyhow::anyhow!("cannot watch the plugins folder {}: {e}", dir.display())
            })?;

        let task = tokio::spawn(async move {
            while let Some(mut names) = rx.recv().await {
                // Coalesce whatever else arrived meanwhile.
                while let Ok(more) = rx.try_recv() {
                    names.extend(more);
                }
                let Some(inner) = host.upgrade() else { break };
                let host = PluginHost { inner };
                host.files_changed(names.into_iter().collect()).await;
            }
        });
        Ok(Self { debouncer, task })
    }

    /// Stop watching and end the reload task (a reload in progress is abandoned; the registry
    /// is left consistent because swaps are the last step).
    pub(crate) async fn stop(self) {
        let Watcher { debouncer, task } = self;
        // `stop` joins the debouncer thread, which may sleep for a tick: not on the runtime.
        let _ = tokio::task::spawn_blocking(move || debouncer.stop()).await;
        task.abort();
        let _ = task.await;
    }
}

//! The process-wide wasmtime `Engine`, its epoch ticker thread and the `Linker` every plugin
//! is instantiated against.
//!
//! The pooling allocator is used when the machine lets us reserve its address space (it makes
//! instantiation about twice as fast); otherwise the engine falls back to on-demand allocation.

use super::bindings::FullPlugin;
use super::call::{CallState, MAX_CORE_INSTANCES, MAX_MEMORIES, MAX_TABLES, TICK};
use super::engine_config::base_config;
use crate::config::PluginsConfig;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Live instances the pool holds (across all plugins); a call beyond that gets `PLUGIN_BUSY`.
pub const POOL_INSTANCES: u32 = 128;
/// Dirty bytes of a linear memory that are reset in place (copied back from the image or
/// zeroed) when its instance ends, instead of being given back to the kernel with `madvise`.
/// The next instance in that pool slot then finds the pages mapped: no page faults, no TLB
/// shootdown. Only with `PAGEMAP_SCAN` (Linux 6.7+), which finds the dirty pages; without it
/// wasmtime would `memset` this many bytes whatever the guest touched, so it stays 0 there.
/// Cost: up to this much resident memory per pool slot that has been used.
pub const MEMORY_KEEP_RESIDENT: usize = 1024 * 1024;
/// The same for tables (a Rust connector's function tables are a few KiB).
pub const TABLE_KEEP_RESIDENT: usize = 64 * 1024;

/// Build the engine; `true` when it uses the pooling allocator.
pub(crate) fn build(cfg: &PluginsConfig) -> anyhow::Result<(Engine, bool)> {
    let mut pooled = base_config();
    let mut pool = PoolingAllocationConfig::new();
    let memory = usize::try_from(cfg.memory_bytes).unwrap_or(usize::MAX);
    pool.total_component_instances(POOL_INSTANCES)
        .total_core_instances(POOL_INSTANCES * 8)
        .total_memories(POOL_INSTANCES * 2)
        .total_tables(POOL_INSTANCES * 4)
        .total_stacks(POOL_INSTANCES)
        // One component cannot take every slot: its memories and tables are capped (and a
        // component that asks for more is refused at load, see `load`).
        .max_memories_per_component(MAX_MEMORIES as u32)
        .max_tables_per_component(MAX_TABLES as u32)
        .max_core_instances_per_component(MAX_CORE_INSTANCES as u32)
        .max_memory_size(memory);
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
            .table_keep_resident(TABLE_KEEP_RESIDENT);
    }
    pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&pooled) {
        Ok(engine) => Ok((engine, true)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot reserve the plugin instance pool; using on-demand allocation");
            let engine = Engine::new(&base_config())
                .map_err(|e| anyhow::anyhow!("cannot create the wasm engine: {e}"))?;
            Ok((engine, false))
        }
    }
}

/// An engine for hosts that never run a plugin (router tests): cannot fail.
pub(crate) fn inert() -> Engine {
    Engine::new(&base_config()).unwrap_or_default()
}

/// Every import a plugin may use: WASI p2 (with nothing granted by the per-call context) and
/// the `zondarr:connector/host` interface.
pub(crate) fn linker(engine: &Engine) -> anyhow::Result<Linker<CallState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow::anyhow!("{e}"))?;
    FullPlugin::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |s| s)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(linker)
}

/// The thread that advances the engine's epoch every [`TICK`]. Stops when dropped.
pub(crate) struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    pub(crate) fn start(engine: &Engine) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let engine = engine.clone();
        let thread = std::thread::Builder::new()
            .name("zondarr-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    engine.increment_epoch();
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How often the [`TimerAnchor`] re-arms its timer: shorter than every per-call timer (the call's
/// wall clock, the HTTP timeouts, the wait for a busy plugin: all whole seconds, at least one).
pub(crate) const ANCHOR_PERIOD: std::time::Duration = std::time::Duration::from_secs(1);

/// A task of the runtime the host started in that keeps one timer armed, at most
/// [`ANCHOR_PERIOD`] ahead. Why: tokio wakes the worker that parks its timer driver whenever a
/// new timer is earlier than every armed one (an `eventfd` write and a thread wake-up, 5 to
/// 20 µs on this machine). Each plugin call arms two timers (its wall clock, then reqwest's
/// timeout of its request); with no earlier timer armed, each woke that worker: 2.7 wake-ups
/// per call against 1.2 for a plain reqwest GET (`strace -c` of the perf bench, issue 22). With
/// the anchor armed, a timer seconds ahead is never the earliest and wakes nothing; the cost is
/// one wake-up a second. Aborted when dropped.
pub(crate) struct TimerAnchor(tokio::task::JoinHandle<()>);

impl TimerAnchor {
    /// Start it on the current tokio runtime; `None` outside one (`zondarr plugin check`).
    pub(crate) fn start() -> Option<Self> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        Some(Self(runtime.spawn(async {
            loop {
                tokio::time::sleep(ANCHOR_PERIOD).await;
            }
        })))
    }
}

impl Drop for TimerAnchor {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A short stable string of the engine's compatibility hash, for cache file names.
pub(crate) fn compat_key(engine: &Engine) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timer_anchor_needs_a_runtime() {
        assert!(TimerAnchor::start().is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_timer_anchor_keeps_one_task_until_dropped() {
        let metrics = tokio::runtime::Handle::current().metrics();
        let before = metrics.num_alive_tasks();
        let anchor = TimerAnchor::start().expect("inside a runtime");
        assert_eq!(metrics.num_alive_tasks(), before + 1);
        // It keeps running across its period (it re-arms rather than ending).
        tokio::time::sleep(ANCHOR_PERIOD + std::time::Duration::from_millis(200)).await;
        assert_eq!(metrics.num_alive_tasks(), before + 1);
        drop(anchor);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while metrics.num_alive_tasks() != before {
            assert!(
                std::time::Instant::now() < deadline,
                "the anchor outlived its drop"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

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

/// A short stable string of the engine's compatibility hash, for cache file names.
pub(crate) fn compat_key(engine: &Engine) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

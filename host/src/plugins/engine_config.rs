//! The wasmtime settings every engine of the daemon starts from. Also compiled into
//! `host/build.rs`, which precompiles the bundled plugins with them: code compiled at build time
//! is only usable by an engine whose settings produce the same compatibility hash, so both sides
//! must read them from this one file. Keep it free of crate imports.

/// Guest stack limit.
pub const MAX_WASM_STACK: usize = 1024 * 1024;

/// Engine settings shared by the daemon, `zondarr plugin check` and the build script.
pub fn base_config() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .max_wasm_stack(MAX_WASM_STACK)
        .parallel_compilation(true);
    config
}

//! Builds every connector under `plugins/*` for `wasm32-wasip2` with a nested cargo and embeds
//! the bundled ones in the daemon (see `../shared/design/BUILD.md` §8 and `docs/plugins.md`).
//!
//! - Output: `$OUT_DIR/plugins.rs` with `BUNDLED: &[(&str, &[u8], &[u8])]` (every plugin
//!   directory except `fixture`: its component and that component precompiled for this machine
//!   with the daemon's engine settings, see [`precompile`]), and `ZONDARR_FIXTURE_WASM` (absolute path of the built test fixture) as a rustc
//!   environment variable for the crate's tests and benchmarks. The fixture is never embedded.
//! - `PLUGINS_SKIP_BUILD=1` skips the nested build (rust-analyzer, host-only hacking): the embeds
//!   are empty files, which the daemon refuses at runtime with a clear message.
//! - The nested build has its own target dir (`plugins/` in the outer target dir) and a scrubbed environment, so it
//!   neither deadlocks on the outer build's lock nor inherits the host target's flags or clippy.

#[path = "src/plugins/engine_config.rs"]
mod engine_config;

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// The plugin that exists only for tests; it is built but never bundled.
const FIXTURE: &str = "fixture";
const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "plugin-release";

/// Variables the nested cargo must not inherit (BUILD.md §3).
const SCRUB: &[&str] = &[
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CLIPPY_ARGS",
    "CLIPPY_CONF_DIR",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_BUILD_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_INCREMENTAL",
    "TARGET",
    "HOST",
    "PROFILE",
    "OPT_LEVEL",
    "DEBUG",
    "OUT_DIR",
    "NUM_JOBS",
    "RUSTC_LINKER",
];

/// Prefixes of per-build-script variables that would leak into the nested build's own scripts,
/// and of profile overrides that would flow into `plugin-release` through `inherits`.
const SCRUB_PREFIXES: &[&str] = &[
    "CARGO_CFG_",
    "CARGO_FEATURE_",
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
    "DEP_",
    "CARGO_PROFILE_RELEASE_",
    "CARGO_PROFILE_PLUGIN_RELEASE_",
];

struct Plugin {
    /// Package name (`-p`).
    package: String,
    /// Name of the produced `.wasm` (crate name with `-` replaced by `_`).
    artifact: String,
    /// Directory name under `plugins/`.
    dir: String,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
    let ws = manifest_dir
        .join("..")
        .canonicalize()
        .map_err(|e| format!("cannot resolve the workspace root: {e}"))?;
    let out_dir = PathBuf::from(env_var("OUT_DIR")?);

    // Rerun lines first, so that a failed run still records what to watch. Never the workspace
    // root: that would scan target/ and rerun this script on every build.
    for rel in ["plugins", "plugin-sdk", "Cargo.toml", "Cargo.lock"] {
        println!("cargo::rerun-if-changed={}", ws.join(rel).display());
    }
    let cargo_config = ws.join(".cargo/config.toml");
    if cargo_config.exists() {
        println!("cargo::rerun-if-changed={}", cargo_config.display());
    }
    println!("cargo::rerun-if-env-changed=PLUGINS_SKIP_BUILD");
    println!("cargo::rerun-if-env-changed=CARGO_TARGET_DIR");

    let plugins = discover(&ws.join("plugins"))?;

    if env::var_os("PLUGINS_SKIP_BUILD").is_some_and(|v| !v.is_empty() && v != "0") {
        println!(
            "cargo::warning=PLUGINS_SKIP_BUILD is set: plugins are not built and the embedded ones are empty"
        );
        for p in &plugins {
            write(&out_dir.join(format!("{}.wasm", p.artifact)), &[])?;
            write(&out_dir.join(format!("{}.cwasm", p.artifact)), &[])?;
        }
        return finish(&out_dir, &built_dir(&ws), &plugins);
    }

    if let Some(hint) = missing_target_hint()? {
        println!("cargo::error={hint}");
        // Still produce the generated file so the rest of the crate type-checks.
        for p in &plugins {
            write(&out_dir.join(format!("{}.wasm", p.artifact)), &[])?;
            write(&out_dir.join(format!("{}.cwasm", p.artifact)), &[])?;
        }
        return finish(&out_dir, &out_dir, &plugins);
    }

    if !plugins.is_empty() {
        nested_build(&ws, &plugins)?;
    }
    let built = built_dir(&ws);
    for p in &plugins {
        let from = built.join(format!("{}.wasm", p.artifact));
        let to = out_dir.join(format!("{}.wasm", p.artifact));
        fs::copy(&from, &to)
            .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))?;
    }
    precompile(&out_dir, &plugins)?;
    finish(&out_dir, &built, &plugins)
}

/// Where the nested build puts the components.
fn built_dir(ws: &Path) -> PathBuf {
    plugins_target_dir(ws).join(TARGET).join(PROFILE)
}

/// The nested build's target dir: `plugins/` inside the outer build's target dir, so that a target
/// dir kept outside the checkout (`CARGO_TARGET_DIR`, as `.ci/run` does) keeps the plugins warm too.
fn plugins_target_dir(ws: &Path) -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => ws.join(dir).join("plugins"),
        None => ws.join("target/plugins"),
    }
}

fn env_var(key: &str) -> Result<String, String> {
    env::var(key).map_err(|_| format!("{key} is not set"))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Every directory under `plugins/` with a `Cargo.toml`, sorted by name.
fn discover(dir: &Path) -> Result<Vec<Plugin>, String> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(format!("cannot list {}: {e}", dir.display())),
    };
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let manifest = entry.path().join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = fs::read_to_string(&manifest)
            .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
        let dir_name = entry.file_name().to_string_lossy().into_owned();
        let package = package_name(&text).unwrap_or_else(|| dir_name.clone());
        out.push(Plugin {
            artifact: package.replace('-', "_"),
            package,
            dir: dir_name,
        });
    }
    out.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(out)
}

/// `name = "…"` of the `[package]` table (a tiny reader: plugin manifests are ours).
fn package_name(toml: &str) -> Option<String> {
    let mut in_package = false;
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if in_package
            && let Some(rest) = line.strip_prefix("name")
            && let Some(value) = rest.trim_start().strip_prefix('=')
        {
            return Some(value.trim().trim_matches('"').to_owned());
        }
    }
    None
}

/// `Some(message)` when the toolchain lacks the wasm target (BUILD.md §6).
fn missing_target_hint() -> Result<Option<String>, String> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run {rustc} --print sysroot: {e}"))?;
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .join("lib")
        .is_dir()
    {
        return Ok(None);
    }
    let toolchain = env::var("RUSTUP_TOOLCHAIN")
        .map(|t| format!(" --toolchain {t}"))
        .unwrap_or_default();
    Ok(Some(format!(
        "the {TARGET} target is not installed for this toolchain; run: rustup target add {TARGET}{toolchain}"
    )))
}

fn nested_build(ws: &Path, plugins: &[Plugin]) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(ws).args([
        "build",
        "--locked",
        "--target",
        TARGET,
        "--profile",
        PROFILE,
        "--target-dir",
    ]);
    cmd.arg(plugins_target_dir(ws));
    for p in plugins {
        cmd.args(["-p", &p.package]);
    }
    // An empty value beats RUSTFLAGS and every config `rustflags`; removing it would not.
    cmd.env("CARGO_ENCODED_RUSTFLAGS", "");
    for key in SCRUB {
        cmd.env_remove(key);
    }
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if SCRUB_PREFIXES.iter().any(|p| key.starts_with(p)) {
            cmd.env_remove(key.as_ref());
        }
    }
    // Cargo would parse the nested stdout as directives.
    cmd.stdout(Stdio::from(std::io::stderr()));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        // Exiting non-zero makes cargo show this script's stderr: the nested diagnostics.
        Err(format!(
            "building the plugins for {TARGET} failed ({status}); the diagnostics are above. \
             Set PLUGINS_SKIP_BUILD=1 to build the daemon without plugins."
        ))
    }
}

/// Compile every bundled plugin to this machine's code with the daemon's engine settings
/// (`src/plugins/engine_config.rs`), so that the daemon's first start deserializes it instead
/// of compiling (docs/performance.md, "Start-up"). The daemon still checks that the code fits
/// its engine and compiles as before when it does not. Skipped (empty files) when
/// cross-compiling, where this machine's code would not run, or with `PLUGINS_NO_PRECOMPILE=1`.
fn precompile(out_dir: &Path, plugins: &[Plugin]) -> Result<(), String> {
    println!("cargo::rerun-if-env-changed=PLUGINS_NO_PRECOMPILE");
    let skip = env::var_os("PLUGINS_NO_PRECOMPILE").is_some_and(|v| !v.is_empty() && v != "0")
        || env::var("TARGET").ok() != env::var("HOST").ok();
    // A failure here only costs a compile at the daemon's first start: a warning, not an error.
    let engine = if skip {
        None
    } else {
        match wasmtime::Engine::new(&engine_config::base_config()) {
            Ok(engine) => Some(engine),
            Err(e) => {
                println!(
                    "cargo::warning=cannot create the wasm engine to precompile the bundled plugins ({e}); they will compile at the daemon's first start"
                );
                None
            }
        }
    };
    for p in plugins.iter().filter(|p| p.dir != FIXTURE) {
        let code = match &engine {
            Some(engine) => {
                let wasm_path = out_dir.join(format!("{}.wasm", p.artifact));
                let wasm = fs::read(&wasm_path)
                    .map_err(|e| format!("cannot read {}: {e}", wasm_path.display()))?;
                engine.precompile_component(&wasm).unwrap_or_else(|e| {
                    println!(
                        "cargo::warning=cannot precompile the plugin `{}` ({e}); it will compile at the daemon's first start",
                        p.dir
                    );
                    Vec::new()
                })
            }
            None => Vec::new(),
        };
        write(&out_dir.join(format!("{}.cwasm", p.artifact)), &code)?;
    }
    Ok(())
}

/// Write `plugins.rs` and export the fixture's path. The fixture path points at the nested
/// build's own output (`built`), not at `OUT_DIR`: `OUT_DIR` is rewritten with empty files by any
/// `PLUGINS_SKIP_BUILD` run, while `target/plugins` only changes when the plugins are rebuilt.
/// When no fixture was ever built, it points at an empty placeholder and the tests say so.
fn finish(out_dir: &Path, built: &Path, plugins: &[Plugin]) -> Result<(), String> {
    let mut src = String::from(
        "/// Connector plugins built from `plugins/*` and embedded in the daemon: (directory name,\n\
         /// component, its code precompiled for the build machine or empty).\n\
         pub static BUNDLED: &[(&str, &[u8], &[u8])] = &[\n",
    );
    for p in plugins.iter().filter(|p| p.dir != FIXTURE) {
        src.push_str(&format!(
            "    ({:?}, include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{}.wasm\")), \
             include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{}.cwasm\"))),\n",
            p.dir, p.artifact, p.artifact
        ));
    }
    src.push_str("];\n");
    write(&out_dir.join("plugins.rs"), src.as_bytes())?;

    let mut fixture = built.join(format!("{FIXTURE}.wasm"));
    if !fixture.is_file() {
        fixture = out_dir.join(format!("{FIXTURE}-missing.wasm"));
        write(&fixture, &[])?;
    }
    println!(
        "cargo::rustc-env=ZONDARR_FIXTURE_WASM={}",
        fixture.display()
    );
    Ok(())
}

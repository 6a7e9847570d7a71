//! The `zondarr` binary: parse the command line, set up logging, hand over to the library.

use clap::Parser;
use std::process::ExitCode;
use zondarr::cli::{Cli, Command};
use zondarr::config::Config;

fn main() -> ExitCode {
    tune_malloc();
    let cli = Cli::parse();
    let config = match Config::load(&cli.global.overrides()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("zondarr: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let logs = zondarr::logging::init(&config.log_level, config.log_json, config.log_buffer_events);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zondarr: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    let result = runtime.block_on(async {
        match command {
            Command::Serve => zondarr::run(config, logs).await.map(|()| None),
            other => zondarr::cli::run_command(&other, &config).await.map(Some),
        }
    });
    match result {
        Ok(Some(output)) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zondarr: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// glibc's malloc, tuned so that memory used for a moment goes back to the system: every
/// allocation of 256 KiB or more gets its own mapping, unmapped when freed (glibc otherwise
/// raises that threshold after the first such free, so each Argon2 hash's 19 MiB stayed in the
/// arena of the thread that computed it), and at most two arenas instead of eight per core.
/// Measured in docs/performance.md ("Memory"). The environment's `GLIBC_TUNABLES` is
/// overridden for these two settings.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // The second place outside wasmtime's: a libc call with no memory handed over.
fn tune_malloc() {
    // SAFETY: mallopt only changes malloc's parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

//! The `zondarr` binary: parse the command line, set up logging, hand over to the library.

use clap::Parser;
use std::process::ExitCode;
use zondarr::cli::{Cli, Command};
use zondarr::config::Config;

/// The daemon's allocator (docs/performance.md, "The invitee's first request"): glibc's malloc
/// took about a quarter of the CPU time of a validation request under load (allocation, frees,
/// consolidation, arena locks). Tuned in [`tune_allocator`] to give memory back at once.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    #[cfg(not(target_os = "linux"))]
    tune_allocator();
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

/// mimalloc, tuned so that memory freed goes back to the system at once rather than after a
/// delay or never from a thread that went idle: without this, each Argon2 hash's 19 MiB stayed
/// (idle 32 MiB anonymous, 57 MiB after five sign-ins, docs/performance.md "Idle memory").
/// The values are those of `mi_option_e` in `mimalloc.h` of mimalloc v3 (what libmimalloc-sys
/// builds by default); the bindings do not name these two. On Linux this runs from
/// `.init_array`, before `main` and before the first allocation: the arena setting only applies
/// to arenas reserved after it, and the first is reserved by the first allocation (measured:
/// set from `main`, idle stayed at 23 MiB anonymous instead of 14.5).
#[allow(unsafe_code)] // A libc-style call with no memory handed over.
extern "C" fn tune_allocator() {
    /// Commit arena memory only when it is used (the default commits it eagerly).
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    /// Milliseconds before freed memory is given back (default 10; 0: at once).
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: mi_option_set only stores an option value; called before any other thread exists.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}

/// The loader calls [`tune_allocator`] before `main`, as it does every C constructor.
#[cfg(target_os = "linux")]
#[used]
#[allow(unsafe_code)]
#[unsafe(link_section = ".init_array")]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

/// glibc's malloc, which C code (SQLite) still uses, tuned so that memory used for a moment goes
/// back to the system: every allocation of 256 KiB or more gets its own mapping, unmapped when
/// freed (glibc otherwise raises that threshold after the first such free; before mimalloc, each
/// Argon2 hash's 19 MiB stayed in the arena of the thread that computed it), and at most two
/// arenas instead of eight per core. Measured in docs/performance.md ("Memory"). The
/// environment's `GLIBC_TUNABLES` is overridden for these two settings.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // A libc call with no memory handed over.
fn tune_malloc() {
    // SAFETY: mallopt only changes malloc's parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

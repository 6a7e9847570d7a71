//! Writes (or, with `--check`, compares) the committed excerpts of the official OpenAPI documents
//! in `tests/fakes/specs/` (see `zondarr_fakes::openapi::excerpt`).
//!
//! ```text
//! cargo run -p zondarr-fakes --bin openapi-excerpt -- [--check] [SPECS_DIR]
//! ```
//!
//! `SPECS_DIR` defaults to `ZONDARR_OFFICIAL_SPECS`, then `../shared/specs` beside the repository.

use std::path::PathBuf;
use std::process::ExitCode;

use zondarr_fakes::openapi::excerpt::{EXCERPTS, excerpts_dir, official_specs_dir};

fn main() -> ExitCode {
    let mut check = false;
    let mut dir = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("usage: openapi-excerpt [--check] [SPECS_DIR]");
                return ExitCode::SUCCESS;
            }
            other => dir = Some(PathBuf::from(other)),
        }
    }
    let Some(dir) = dir.or_else(official_specs_dir) else {
        eprintln!(
            "error: no official documents: pass SPECS_DIR, set ZONDARR_OFFICIAL_SPECS, or put them in ../shared/specs"
        );
        return ExitCode::FAILURE;
    };
    let mut failed = false;
    for excerpt in EXCERPTS {
        let text = match excerpt.generate(&dir) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
                continue;
            }
        };
        let target = excerpts_dir().join(excerpt.file);
        if check {
            let same = std::fs::read_to_string(&target).is_ok_and(|t| t == text);
            println!(
                "{}: {}",
                excerpt.file,
                if same { "up to date" } else { "STALE" }
            );
            failed |= !same;
        } else if let Err(e) = std::fs::write(&target, &text) {
            eprintln!("error: cannot write {}: {e}", target.display());
            failed = true;
        } else {
            println!(
                "{}: {} operations, {} bytes",
                excerpt.file,
                excerpt.operations.len(),
                text.len()
            );
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

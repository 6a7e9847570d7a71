//! The `zondarr` binary: parse the command line, set up logging, hand over to the library.

use clap::Parser;
use std::process::ExitCode;
use zondarr::cli::{Cli, Command};
use zondarr::config::Config;

fn main() -> ExitCode {
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

//! Command-line interface. Global flags override every other configuration layer.

use crate::config::{Config, Overrides};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Zondarr: invite people to your media servers and manage their accounts.
#[derive(Debug, Parser)]
#[command(name = "zondarr", version, about, propagate_version = true)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Address to listen on [default: 127.0.0.1:8000].
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Data folder (database, secret key, plugins) [default: ./data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Configuration file [default: <data-dir>/zondarr.toml if it exists].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log output format.
    #[arg(long, global = true, value_parser = ["text", "json"])]
    pub log_format: Option<String>,
}

impl GlobalArgs {
    /// The flag layer of the configuration.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen.clone(),
            data_dir: self.data_dir.clone(),
            config_file: self.config.clone(),
            log_format: self.log_format.clone(),
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `zondarr config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective values (secrets masked).
    Check,
    /// Print the reference table of every setting (Markdown).
    Reference,
}

/// Run a command that is not `serve` with a loaded configuration; returns what to print.
pub async fn run_command(command: &Command, config: &Config) -> anyhow::Result<String> {
    match command {
        Command::Serve => anyhow::bail!("serve is handled by main"),
        Command::Migrate => {
            let (db, _) = crate::open_storage(config)?;
            let version = db
                .run(|c| Ok(crate::db::schema_version(c)?))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(format!(
                "database {} is at schema version {version}",
                config.database_path().display()
            ))
        }
        Command::Config(ConfigCommand::Check) => Ok(format!(
            "# effective configuration (secrets masked)\n{}\nconfiguration OK",
            config.values.render_masked()
        )),
        Command::Config(ConfigCommand::Reference) => Ok(crate::config::reference_markdown()),
    }
}

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
    /// Manage admin accounts (for headless installs and lost passwords).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage the secret key.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Work with connector plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Write a consistent copy of the database to PATH (safe while the daemon runs). The secret
    /// key is not included: keep a copy of `<data-dir>/secret.key` separately.
    Backup {
        /// The backup file to write (its folder must exist).
        path: PathBuf,
        /// Replace PATH if it exists.
        #[arg(long)]
        force: bool,
    },
}

/// `zondarr plugin ...`
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Run the load pipeline on a `.wasm` file and print its manifest, imports and contract
    /// version, or the exact reason it would be refused (exit status 1).
    Check {
        /// The component to check.
        file: PathBuf,
    },
    /// Approve the file(s) in the plugins folder that provide plugin ID, so they may take over
    /// an id another source provides (a bundled plugin or another file). The approval is for
    /// the files' current content (SHA-256); a running daemon applies it at its next rescan.
    Approve {
        /// The plugin id, e.g. `jellyfin`.
        id: String,
    },
    /// Refuse the file(s) in the plugins folder that provide plugin ID: a takeover is not
    /// loaded (the version serving now keeps serving) and a first version's extra hosts stay
    /// closed. Kept for the files' current content (SHA-256): a changed file is asked about
    /// again. A running daemon applies it at its next rescan. To remove a file, delete it.
    Refuse {
        /// The plugin id, e.g. `jellyfin`.
        id: String,
    },
    /// Write a ready-to-build connector crate from the template.
    New {
        /// Connector id and crate name, e.g. `emby`.
        name: String,
        /// Parent folder; the crate goes into `<dir>/<name>` [default: .].
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// `zondarr admin ...`. Passwords are read from standard input (one line), so they never appear
/// in the process list or shell history: `zondarr admin create --username alice < pw.txt`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin (completes first-run setup if there is none yet).
    Create {
        /// Username.
        #[arg(long)]
        username: String,
    },
    /// Set a new password for an admin and sign out all their sessions.
    ResetPassword {
        /// Username.
        #[arg(long)]
        username: String,
        /// Also turn off TOTP (lost authenticator).
        #[arg(long)]
        disable_totp: bool,
    },
}

/// `zondarr secrets ...`
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Re-encrypt every stored secret with a new secret key. Stop the daemon first.
    Rotate {
        /// File holding the new key (at least 32 characters). Default: generate one; required
        /// when the key comes from the configuration rather than the key file.
        #[arg(long, value_name = "FILE")]
        new_key_file: Option<PathBuf>,
    },
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
            let lock = crate::lock::DataLock::acquire(&config.data_dir, "to migrate the database")?;
            let (db, _) = crate::open_storage_locked(config, &lock)?;
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
        Command::Admin(cmd) => admin_command(cmd, config).await,
        Command::Plugin(PluginCommand::Check { file }) => {
            crate::plugins::cli::check(file, config).await
        }
        Command::Plugin(PluginCommand::Approve { id }) => {
            decide_plugin(id, config, crate::ops::PluginDecision::Approve).await
        }
        Command::Plugin(PluginCommand::Refuse { id }) => {
            decide_plugin(id, config, crate::ops::PluginDecision::Refuse).await
        }
        Command::Plugin(PluginCommand::New { name, dir }) => {
            let parent = dir.clone().unwrap_or_else(|| PathBuf::from("."));
            let path = crate::plugins::cli::new_plugin(name, &parent)?;
            Ok(format!(
                "created {0}\nbuild it with: cd {0} && cargo build --release --target wasm32-wasip2",
                path.display()
            ))
        }
        Command::Backup { path, force } => {
            let source = config.database_path();
            let (dest, force) = (path.clone(), *force);
            let busy = std::time::Duration::from_millis(config.database.busy_timeout_ms);
            let summary = tokio::task::spawn_blocking(move || {
                crate::backup::run(&source, &dest, force, busy)
            })
            .await??;
            Ok(summary.to_string())
        }
        Command::Secrets(SecretsCommand::Rotate { new_key_file }) => {
            let new_key = match new_key_file {
                Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                    anyhow::anyhow!("cannot read {}: {}", path.display(), e.kind())
                })?),
                None => None,
            };
            let config = config.clone();
            tokio::task::spawn_blocking(move || crate::secret::rotate(&config, new_key)).await?
        }
    }
}

async fn decide_plugin(
    id: &str,
    config: &Config,
    decision: crate::ops::PluginDecision,
) -> anyhow::Result<String> {
    use crate::db::{self, audit};
    use crate::ops::PluginDecision;
    let (action, done) = match decision {
        PluginDecision::Approve => ("plugin.approve", "approved"),
        PluginDecision::Refuse => ("plugin.refuse", "refused"),
    };
    let found = crate::plugins::cli::folder_versions_of(id, config).await?;
    if found.is_empty() {
        anyhow::bail!(
            "no file in {} provides the plugin `{}`",
            config.plugins.dir.display(),
            id.escape_debug()
        );
    }
    let (db, _) = crate::open_storage(config)?;
    let approvals: Vec<crate::plugins::Approval> = found
        .iter()
        .map(|(_, _, sha)| crate::plugins::Approval {
            id: id.to_owned(),
            sha256: sha.clone(),
        })
        .collect();
    let detail = serde_json::json!({
        "versions": found.iter().map(|(file, version, sha)| serde_json::json!({
            "file": file, "version": version, "sha256": sha
        })).collect::<Vec<_>>()
    });
    let target = format!("plugin:{id}");
    db.write(move |tx| {
        match decision {
            PluginDecision::Approve => db::meta::add_plugin_approvals(tx, &approvals)?,
            PluginDecision::Refuse => db::meta::add_plugin_refusals(tx, &approvals)?,
        }
        audit::append(
            tx,
            &audit::NewEvent {
                actor: "cli",
                ip: None,
                action,
                target: Some(&target),
                outcome: audit::Outcome::Success,
                detail: Some(detail),
            },
        )?;
        Ok(())
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out = String::new();
    for (file, version, sha) in &found {
        out.push_str(&format!("{done} {file}: {id} {version} (sha256 {sha})\n"));
    }
    out.push_str(
        "a running daemon applies it at its next rescan (POST /api/v1/plugins/rescan) or restart",
    );
    Ok(out)
}

fn read_password_from_stdin() -> anyhow::Result<String> {
    use std::io::BufRead;
    eprintln!("password (one line on standard input):");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

async fn admin_command(cmd: &AdminCommand, config: &Config) -> anyhow::Result<String> {
    use crate::auth::password;
    use crate::db::{self, audit};
    let (db, _) = crate::open_storage(config)?;
    let err = |e: crate::error::Error| anyhow::anyhow!("{e}");
    match cmd {
        AdminCommand::Create { username } => {
            password::check_username(username)
                .map_err(|rule| anyhow::anyhow!("username {rule}"))?;
            let pw = read_password_from_stdin()?;
            password::check_password(&pw, username)
                .map_err(|rule| anyhow::anyhow!("password {rule}"))?;
            let hash = tokio::task::spawn_blocking(move || password::hash(&pw)).await??;
            let name = username.clone();
            db.write(move |tx| {
                if db::auth::admin_by_username(tx, &name)?.is_some() {
                    return Err(crate::error::Error::new(
                        crate::error::ErrorCode::Conflict,
                        format!("an admin named {name} already exists"),
                    ));
                }
                let id = db::auth::insert_admin(tx, &name, &hash)?;
                db::meta::get_or_insert(tx, "setup_completed_at", db::time::now)?;
                audit::append(
                    tx,
                    &audit::NewEvent {
                        actor: "cli",
                        ip: None,
                        action: "admin.create",
                        target: Some(&format!("admin:{id}")),
                        outcome: audit::Outcome::Success,
                        detail: Some(serde_json::json!({ "username": name })),
                    },
                )?;
                Ok(())
            })
            .await
            .map_err(err)?;
            Ok(format!("admin {username} created"))
        }
        AdminCommand::ResetPassword {
            username,
            disable_totp,
        } => {
            let name = username.clone();
            let admin = db
                .run(move |c| Ok(db::auth::admin_by_username(c, &name)?))
                .await
                .map_err(err)?
                .ok_or_else(|| anyhow::anyhow!("no admin named {username}"))?;
            let pw = read_password_from_stdin()?;
            password::check_password(&pw, &admin.username)
                .map_err(|rule| anyhow::anyhow!("password {rule}"))?;
            let hash = tokio::task::spawn_blocking(move || password::hash(&pw)).await??;
            let disable = *disable_totp;
            let revoked = db
                .write(move |tx| {
                    db::auth::set_password(tx, admin.id, &hash)?;
                    if disable {
                        db::auth::disable_totp(tx, admin.id)?;
                    }
                    db::auth::clear_failures(tx, &admin.username)?;
                    let revoked = db::auth::delete_other_sessions(tx, admin.id, None)?;
                    audit::append(tx, &audit::NewEvent {
                        actor: "cli",
                        ip: None,
                        action: "admin.reset_password",
                        target: Some(&format!("admin:{}", admin.id)),
                        outcome: audit::Outcome::Success,
                        detail: Some(serde_json::json!({ "sessions_revoked": revoked, "totp_disabled": disable })),
                    })?;
                    Ok(revoked)
                })
                .await
                .map_err(err)?;
            Ok(format!(
                "password of {username} reset; {revoked} session(s) signed out"
            ))
        }
    }
}

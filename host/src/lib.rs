//! Zondarr: invite people to your media servers and manage their accounts for their whole life.
//! Media-server support lives in sandboxed WebAssembly connector plugins (see `plugins`).
//!
//! `main.rs` only parses the command line; everything else is here so tests can drive it.

pub mod auth;
pub mod backup;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod dashboard;
pub mod db;
pub mod error;
pub mod expiry;
pub mod http;
pub mod input;
pub mod invitations;
pub mod jobs;
pub mod join;
pub mod lock;
pub mod logging;
mod memory;
pub mod metrics;
pub mod ops;
pub mod plugins;
pub mod redemption;
pub mod secret;
pub mod server_ca;
pub mod servers;
pub mod settings;
pub mod state;
pub mod sync;
pub mod users;
pub mod web;
pub mod wizard;

use crate::config::Config;
use crate::db::Db;
use crate::state::AppState;
use anyhow::Context;
use std::time::Duration;

/// Prepare the data folder, the secret key and the database for a command beside the daemon
/// (`admin`, `plugin approve`). Without a daemon the data folder is locked while migrations and
/// an interrupted key rotation are dealt with; while a daemon holds it ([`lock::DataLock`]), the
/// database is used as it is: a command never migrates it or moves key files under a running
/// daemon, and refuses when it would have to migrate.
pub fn open_storage(config: &Config) -> anyhow::Result<(Db, config::SecretKey)> {
    secret::ensure_data_dir(&config.data_dir)?;
    if let Some(lock) = lock::DataLock::try_acquire(&config.data_dir)? {
        let out = open_storage_locked(config, &lock);
        drop(lock);
        return out;
    }
    let conn = rusqlite::Connection::open(config.database_path())?;
    let (current, latest) = (
        db::schema_version(&conn)?,
        db::MIGRATIONS.last().map_or(0, |m| m.version),
    );
    if current != latest {
        return Err(lock::held_by_other(
            &config.data_dir,
            &format!("to migrate the database (schema {current} to {latest})"),
        ));
    }
    let key = secret::load_or_create(config)?;
    secret::check_key_matches(&conn, &key)?;
    let db = Db::open(
        &config.database_path(),
        config.database.pool_size,
        Duration::from_millis(config.database.busy_timeout_ms),
    )?;
    Ok((db, key))
}

/// [`open_storage`] with the data folder's lock held: migrations applied, an interrupted key
/// rotation finished or undone.
pub fn open_storage_locked(
    config: &Config,
    _lock: &lock::DataLock,
) -> anyhow::Result<(Db, config::SecretKey)> {
    secret::ensure_data_dir(&config.data_dir)?;
    let db = Db::open(
        &config.database_path(),
        config.database.pool_size,
        Duration::from_millis(config.database.busy_timeout_ms),
    )
    .with_context(|| {
        format!(
            "cannot open the database {}",
            config.database_path().display()
        )
    })?;
    let conn = rusqlite::Connection::open(config.database_path())?;
    secret::recover_interrupted_rotation(config, &conn)?;
    let key = secret::load_or_create(config)?;
    secret::check_key_matches(&conn, &key)?;
    Ok((db, key))
}

/// Run the daemon until SIGTERM or Ctrl-C; in-flight requests finish before it returns. `logs`
/// is the handle [`logging::init`] returned.
pub async fn run(config: Config, logs: logging::LogHandle) -> anyhow::Result<()> {
    secret::ensure_data_dir(&config.data_dir)?;
    // Held until the daemon exits (the kernel releases it even after SIGKILL): `secrets rotate`
    // and `migrate` refuse to run beside it, and a second daemon on this folder refuses to start.
    let _lock = lock::DataLock::acquire_waiting(
        &config.data_dir,
        "to start the daemon",
        Duration::from_secs(10),
    )?;
    let (db, secret_key) = open_storage_locked(&config, &_lock)?;
    let config = settings::effective(&config, &db).await?;
    if let Err(e) = logs.set_filter(&config.log_level) {
        tracing::warn!(error = %e, "cannot apply the stored log level");
    }
    let security =
        std::sync::Arc::new(auth::Security::new(&config, secret_key.expose(), &db).await?);
    if !security.setup_done() {
        tracing::warn!(
            "no admin account yet: finish setup with POST /api/v1/setup (or `zondarr admin create`)"
        );
    }
    let install_id = db
        .write(|tx| {
            Ok(db::meta::get_or_insert(tx, "install_id", || {
                uuid::Uuid::new_v4().simple().to_string()
            })?)
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the install id: {e}"))?;
    let (approvals, refusals) = db
        .run(|c| {
            Ok((
                db::meta::plugin_approvals(c)?,
                db::meta::plugin_refusals(c)?,
            ))
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the plugin approvals: {e}"))?;
    let plugins = plugins::PluginHost::start(
        &config.plugins,
        config.plugin_cache_dir.clone(),
        install_id,
        approvals,
    )
    .await?;
    plugins.set_refusals(refusals).await;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let grace = Duration::from_secs(config.http.shutdown_grace_secs);
    let state = AppState::with_logs(config, db, plugins.clone(), security, logs.clone());
    let everything = db::time::fmt(chrono::Utc::now() + chrono::Duration::seconds(1));
    match redemption::recover(&state, everything).await {
        Ok(r) if r.settled() == 0 && r.waiting == 0 => {}
        Ok(r) => tracing::warn!(
            completed = r.completed,
            rolled_back = r.compensated,
            waiting = r.waiting,
            "settled redemptions interrupted by the last shutdown"
        ),
        Err(e) => {
            tracing::error!(error = %e, "redemption recovery failed; it runs again at the next start")
        }
    }
    match state
        .db()
        .write(|tx| Ok(db::jobs::mark_interrupted(tx)?))
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::warn!(runs = n, "job runs were interrupted by the last shutdown"),
        Err(e) => tracing::warn!(error = %e, "cannot mark interrupted job runs"),
    }
    let schedule = jobs::spawn(&state);
    let sagas = state.clone();
    let metrics = state.metrics().clone();
    let mapped = memory::mapped_files(&state.config().plugin_cache_dir);
    let app = http::app(state);

    // Subscribed to SIGTERM before the daemon says it listens.
    let shutdown = http::shutdown_signal();
    // A fixed line on stdout that scripts and tests can wait for (logs go to stderr).
    println!("zondarr listening on http://{addr}");
    tracing::info!(%addr, version = env!("CARGO_PKG_VERSION"), "zondarr is ready");
    memory::after_startup(&mapped);
    tokio::spawn(memory::watch_idle(
        move || metrics.requests_answered(),
        mapped,
    ));

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut server = tokio::spawn(async move {
        let mut stop_rx = stop_rx;
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        })
        .await
    });
    tokio::select! {
        res = &mut server => { res??; }
        () = shutdown => {
            let _ = stop_tx.send(true);
            // Open log streams never end by themselves; end them so they do not hold up the
            // graceful shutdown.
            logs.end_streams();
            match tokio::time::timeout(grace, &mut server).await {
                Ok(res) => res??,
                Err(_) => tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests did not finish in time; exiting anyway"),
            }
        }
    }
    for task in schedule {
        task.abort();
    }
    // Redemptions are tasks of the daemon: let them reach a recorded end before the plugins go.
    let left = sagas.sagas().shutdown(grace).await;
    if left > 0 {
        tracing::warn!(
            redemptions = left,
            "redemptions did not finish within the grace period; recovery settles them at the next start"
        );
    }
    plugins.shutdown().await;
    tracing::info!("zondarr stopped");
    Ok(())
}

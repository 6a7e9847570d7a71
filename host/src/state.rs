//! The one application state shared by every handler and background task.
//!
//! `AppState` is a cheap clone around an `Arc`; it holds no global statics (STYLE.md rule 2).

use crate::auth::Security;
use crate::config::Config;
use crate::db::Db;
use crate::logging::LogHandle;
use crate::metrics::Metrics;
use crate::plugins::PluginHost;
use std::sync::Arc;

/// Shared state of the daemon.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    db: Db,
    plugins: PluginHost,
    security: Arc<Security>,
    logs: LogHandle,
    metrics: Arc<Metrics>,
}

impl AppState {
    /// Bundle the parts, with a detached log handle (tests and benchmarks; see
    /// [`AppState::with_logs`]).
    pub fn new(config: Config, db: Db, plugins: PluginHost, security: Arc<Security>) -> Self {
        let logs = LogHandle::detached(config.log_buffer_events);
        Self::with_logs(config, db, plugins, security, logs)
    }

    /// Bundle the parts with the log handle of the installed subscriber. Fresh metrics are
    /// created and the plugin host reports its calls to them.
    pub fn with_logs(
        config: Config,
        db: Db,
        plugins: PluginHost,
        security: Arc<Security>,
        logs: LogHandle,
    ) -> Self {
        let metrics = Arc::new(Metrics::new());
        plugins.set_observer(metrics.clone());
        Self {
            inner: Arc::new(Inner {
                config,
                db,
                plugins,
                security,
                logs,
                metrics,
            }),
        }
    }

    /// The effective configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Admin access and secrets at rest.
    pub fn security(&self) -> &Security {
        &self.inner.security
    }

    /// The connector plugin host.
    pub fn plugins(&self) -> &PluginHost {
        &self.inner.plugins
    }

    /// The log buffer, live log subscriptions and the run-time log filter.
    pub fn logs(&self) -> &LogHandle {
        &self.inner.logs
    }

    /// The Prometheus metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }
}

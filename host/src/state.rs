//! The one application state shared by every handler and background task.
//!
//! `AppState` is a cheap clone around an `Arc`; it holds no global statics (STYLE.md rule 2).

use crate::auth::Security;
use crate::config::Config;
use crate::db::Db;
use crate::jobs::Scheduler;
use crate::logging::LogHandle;
use crate::metrics::Metrics;
use crate::plugins::PluginHost;
use crate::settings::Live;
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
    live: Live,
    scheduler: Scheduler,
    logs: LogHandle,
    metrics: Arc<Metrics>,
    sagas: crate::redemption::Sagas,
    offers: crate::join::OfferCache,
}

impl AppState {
    /// Bundle the parts, with a detached log handle (tests and benchmarks; see
    /// [`AppState::with_logs`]). `config` is the effective configuration (stored live settings
    /// laid over it, see [`crate::settings::effective`]).
    pub fn new(config: Config, db: Db, plugins: PluginHost, security: Arc<Security>) -> Self {
        let logs = LogHandle::detached(config.log_buffer_events);
        Self::with_logs(config, db, plugins, security, logs)
    }

    /// A state for unit tests: an in-memory database, no plugins, a fixed secret key, and the
    /// configuration from these environment variables over the defaults.
    #[cfg(test)]
    pub(crate) async fn for_tests(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap().keep();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let config = crate::config::Config::load_from(
            &crate::config::Overrides {
                data_dir: Some(dir),
                ..Default::default()
            },
            &env,
        )
        .unwrap();
        let db = Db::open_in_memory().unwrap();
        let security = Security::new(&config, "test-secret-key-test-secret-key-0", &db)
            .await
            .unwrap();
        Self::new(config, db, PluginHost::default(), Arc::new(security))
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
                live: Live::new(config.clone()),
                scheduler: Scheduler::default(),
                config,
                db,
                plugins,
                security,
                logs,
                metrics,
                sagas: crate::redemption::Sagas::default(),
                offers: crate::join::OfferCache::default(),
            }),
        }
    }

    /// The configuration the daemon started with. Settings that can change at run time are
    /// read from [`AppState::live`].
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

    /// The live settings.
    pub fn live(&self) -> &Live {
        &self.inner.live
    }

    /// Background jobs in progress (so none overlaps itself).
    pub fn scheduler(&self) -> &Scheduler {
        &self.inner.scheduler
    }

    /// The log buffer, live log subscriptions and the run-time log filter.
    pub fn logs(&self) -> &LogHandle {
        &self.inner.logs
    }

    /// The Prometheus metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// What invitation codes offered, as last read (see [`crate::join::OfferCache`]).
    pub fn offers(&self) -> &crate::join::OfferCache {
        &self.inner.offers
    }

    /// The redemptions running in this daemon.
    pub fn sagas(&self) -> &crate::redemption::Sagas {
        &self.inner.sagas
    }
}

//! The one application state shared by every handler and background task.
//!
//! `AppState` is a cheap clone around an `Arc`; it holds no global statics (STYLE.md rule 2).

use crate::auth::Security;
use crate::config::Config;
use crate::db::Db;
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
}

impl AppState {
    /// Bundle the parts.
    pub fn new(config: Config, db: Db, plugins: PluginHost, security: Arc<Security>) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                db,
                plugins,
                security,
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
}

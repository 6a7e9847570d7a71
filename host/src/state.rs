//! The one application state shared by every handler and background task.
//!
//! `AppState` is a cheap clone around an `Arc`; it holds no global statics (STYLE.md rule 2).

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
}

impl AppState {
    /// Bundle the parts.
    pub fn new(config: Config, db: Db, plugins: PluginHost) -> Self {
        Self { inner: Arc::new(Inner { config, db, plugins }) }
    }

    /// The effective configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The connector plugin host.
    pub fn plugins(&self) -> &PluginHost {
        &self.inner.plugins
    }
}

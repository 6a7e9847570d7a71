//! The admin's overview as numbers: invitations, users, servers and plugins by state, each
//! server's health, recent activity and job runs. Both the JSON API (`GET /api/v1/dashboard`)
//! and the dashboard page call [`overview`]; nothing here knows axum, JSON bodies or HTML.

use crate::db::Cached;
use crate::db::{self, audit, jobs::JobRun, time};
use crate::error::Result;
use crate::plugins::PluginState;
use crate::state::AppState;

/// Invitations by state.
#[derive(Debug, Default, Clone)]
pub struct InvitationCounts {
    /// Can be redeemed.
    pub active: i64,
    /// Active and not used yet.
    pub pending: i64,
    /// No uses left.
    pub used_up: i64,
    /// Past their expiry.
    pub expired: i64,
    /// Switched off.
    pub disabled: i64,
    /// Offering a library its server no longer lists.
    pub library_missing: i64,
}

/// Accounts by state.
#[derive(Debug, Default, Clone)]
pub struct UserCounts {
    /// All accounts.
    pub total: i64,
    /// Enabled, access not ended, still on the server.
    pub active: i64,
    /// Disabled.
    pub disabled: i64,
    /// Access ends within 7 days.
    pub expiring_7d: i64,
    /// Access has ended.
    pub expired: i64,
    /// No longer on their server.
    pub vanished: i64,
}

/// A server's health.
#[derive(Debug, Clone)]
pub struct ServerHealth {
    /// Server id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Connector id.
    pub kind: String,
    /// `healthy`, `failing`, `connector_missing` or `disabled`.
    pub health: &'static str,
    /// Why the last background call failed.
    pub last_error: Option<String>,
    /// When a sync last completed.
    pub last_sync_at: Option<String>,
}

/// Servers by health.
#[derive(Debug, Default, Clone)]
pub struct ServerCounts {
    /// Working.
    pub healthy: i64,
    /// Last background call failed.
    pub failing: i64,
    /// Connector plugin not loaded.
    pub connector_missing: i64,
    /// Switched off.
    pub disabled: i64,
}

/// Connector plugins by state.
#[derive(Debug, Default, Clone)]
pub struct PluginCounts {
    /// Loaded and callable.
    pub loaded: i64,
    /// Failed to load.
    pub failed: i64,
    /// Crashed too often.
    pub unhealthy: i64,
}

/// Redemptions that need attention.
#[derive(Debug, Default, Clone)]
pub struct RedemptionCounts {
    /// Running or waiting for recovery.
    pub pending: i64,
    /// Undone with an account left behind.
    pub unresolved: i64,
}

/// The admin's overview.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Invitations.
    pub invitations: InvitationCounts,
    /// Accounts.
    pub users: UserCounts,
    /// Servers by health.
    pub server_counts: ServerCounts,
    /// Each server's health.
    pub servers: Vec<ServerHealth>,
    /// Plugins.
    pub plugins: PluginCounts,
    /// Plugins that failed to load or are unhealthy: id and state.
    pub plugin_problems: Vec<(String, &'static str)>,
    /// Redemptions that need attention.
    pub redemptions: RedemptionCounts,
    /// The latest audit events (10).
    pub recent_activity: Vec<audit::Event>,
    /// The latest job runs (10).
    pub recent_jobs: Vec<JobRun>,
    /// When a request last came through a reverse proxy that is not trusted (within the last
    /// day; see [`crate::auth::Security::untrusted_proxy_seen`]).
    pub untrusted_proxy_seen_at: Option<String>,
}

/// Compute the overview.
pub async fn overview(state: &AppState) -> Result<Overview> {
    let now = time::now();
    let soon = time::fmt(chrono::Utc::now() + chrono::Duration::days(7));
    let (invitations, users, redemptions, rows, recent_activity, recent_jobs) = state
        .db()
        .run(move |c| {
            let (by_status, pending) = db::invitations::status_counts(c, &now)?;
            let n = |s: &str| by_status.get(s).copied().unwrap_or(0);
            let invitations = InvitationCounts {
                active: n("active"),
                pending,
                used_up: n("used_up"),
                expired: n("expired"),
                disabled: n("disabled"),
                library_missing: db::invitations::count_offering_missing_libraries(c)?,
            };
            let users = c.row(
                "SELECT count(*),
                   coalesce(sum(enabled = 1 AND (expires_at IS NULL OR expires_at > ?1) AND vanished_at IS NULL), 0),
                   coalesce(sum(enabled = 0), 0),
                   coalesce(sum(expires_at > ?1 AND expires_at <= ?2), 0),
                   coalesce(sum(expires_at <= ?1), 0),
                   coalesce(sum(vanished_at IS NOT NULL), 0)
                 FROM users",
                [&now, &soon],
                |r| {
                    Ok(UserCounts {
                        total: r.get(0)?,
                        active: r.get(1)?,
                        disabled: r.get(2)?,
                        expiring_7d: r.get(3)?,
                        expired: r.get(4)?,
                        vanished: r.get(5)?,
                    })
                },
            )?;
            let redemptions = c.row(
                "SELECT coalesce(sum(state = 'pending'), 0), coalesce(sum(state = 'unresolved'), 0) FROM redemptions",
                [],
                |r| {
                    Ok(RedemptionCounts {
                        pending: r.get(0)?,
                        unresolved: r.get(1)?,
                    })
                },
            )?;
            let rows = db::servers::list(c)?;
            let (recent_activity, _) = db::audit::list(c, &db::audit::Filter::default(), 10, 0)?;
            let (recent_jobs, _) = db::jobs::list(c, &db::jobs::Filter::default(), 10, 0)?;
            Ok((invitations, users, redemptions, rows, recent_activity, recent_jobs))
        })
        .await?;
    let mut server_counts = ServerCounts::default();
    let servers = rows
        .into_iter()
        .map(|row| {
            let connector = crate::servers::connector_state(state, &row.kind);
            let health = if !row.enabled {
                server_counts.disabled += 1;
                "disabled"
            } else if connector != "loaded" {
                server_counts.connector_missing += 1;
                "connector_missing"
            } else if row.last_error.is_some() {
                server_counts.failing += 1;
                "failing"
            } else {
                server_counts.healthy += 1;
                "healthy"
            };
            ServerHealth {
                id: row.id,
                name: row.name,
                kind: row.kind,
                health,
                last_error: row.last_error,
                last_sync_at: row.last_sync_at,
            }
        })
        .collect();
    let mut plugins = PluginCounts::default();
    let mut plugin_problems = Vec::new();
    for p in state.plugins().list() {
        match p.state {
            PluginState::Loaded => plugins.loaded += 1,
            PluginState::Failed => {
                plugins.failed += 1;
                plugin_problems.push((p.id.clone().unwrap_or_default(), "failed"));
            }
            PluginState::Unhealthy => {
                plugins.unhealthy += 1;
                plugin_problems.push((p.id.clone().unwrap_or_default(), "unhealthy"));
            }
        }
    }
    Ok(Overview {
        invitations,
        users,
        server_counts,
        servers,
        plugins,
        plugin_problems,
        redemptions,
        recent_activity,
        recent_jobs,
        untrusted_proxy_seen_at: state.security().untrusted_proxy_seen().map(time::fmt),
    })
}

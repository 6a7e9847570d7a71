//! Operations rules that the JSON API and the admin pages share and that have no better home:
//! the audit log's filters and reading it, and the plugins-folder rescan. Like every domain
//! module it knows neither axum, JSON bodies nor HTML.

use crate::db::{self, audit, time};
use crate::error::{Error, FieldError, Result};
use crate::plugins::RescanReport;
use crate::state::AppState;

/// Filters of the audit log as given (query strings of the JSON API and the audit page).
#[derive(Debug, Default, Clone)]
pub struct AuditQuery {
    /// Exact action (`auth.login`), or a prefix ending in `.` (`auth.`).
    pub action: Option<String>,
    /// Exact actor, e.g. `admin:alice`.
    pub actor: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// Events at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Events before this time (RFC 3339).
    pub until: Option<String>,
}

impl AuditQuery {
    /// The filter (times normalised to the stored form), or every field that is wrong.
    pub fn check(self) -> Result<audit::Filter> {
        let mut fields = Vec::new();
        if self
            .outcome
            .as_deref()
            .is_some_and(|o| o != "success" && o != "failure")
        {
            fields.push(FieldError::new("outcome", "must be `success` or `failure`"));
        }
        let mut time_field = |name: &str, v: &Option<String>| -> Option<String> {
            let v = v.as_deref()?;
            match time::parse(v) {
                Some(t) => Some(time::fmt(t)),
                None => {
                    fields.push(FieldError::new(name, "must be an RFC 3339 time"));
                    None
                }
            }
        };
        let since = time_field("since", &self.since);
        let until = time_field("until", &self.until);
        if !fields.is_empty() {
            return Err(Error::invalid(fields));
        }
        Ok(audit::Filter {
            action: self.action,
            actor: self.actor,
            outcome: self.outcome,
            since,
            until,
        })
    }
}

/// Audit events matching `filter`, newest first, with the total.
pub async fn audit_log(
    state: &AppState,
    filter: audit::Filter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<audit::Event>, i64)> {
    state
        .db()
        .run(move |c| Ok(db::audit::list(c, &filter, limit, offset)?))
        .await
}

/// Re-read the plugins folder now. Approvals given with `zondarr plugin approve` are in the
/// database: they are applied first, so an approved file serves after this rescan.
pub async fn rescan_plugins(state: &AppState) -> Result<RescanReport> {
    let approvals = state
        .db()
        .run(|c| Ok(db::meta::plugin_approvals(c)?))
        .await?;
    Ok(state.plugins().rescan_with_approvals(approvals).await)
}

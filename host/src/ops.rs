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

/// Re-read the plugins folder now. Approvals and refusals given with `zondarr plugin approve`
/// or elsewhere are in the database: they are applied first, so an approved file serves after
/// this rescan and a refused one is not asked again.
pub async fn rescan_plugins(state: &AppState) -> Result<RescanReport> {
    let (approvals, refusals) = state
        .db()
        .run(|c| {
            Ok((
                db::meta::plugin_approvals(c)?,
                db::meta::plugin_refusals(c)?,
            ))
        })
        .await?;
    state.plugins().set_refusals(refusals).await;
    Ok(state.plugins().rescan_with_approvals(approvals).await)
}

/// An admin's answer to a plugin version waiting for approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginDecision {
    /// It serves (a takeover), or its extra hosts open.
    Approve,
    /// It is dropped (a takeover: the version serving now keeps serving), or its extra hosts
    /// stay closed; not asked again until the file changes.
    Refuse,
}

/// Approve or refuse the version(s) of plugin `id` waiting for an admin's approval (a folder
/// file that takes over an id another source provides, or a first version's extra hosts). The
/// decision is stored (by SHA-256, so a later change of the file asks again) and audited as
/// `plugin.approve` or `plugin.refuse`. `PLUGIN_NOT_FOUND` for an unknown id, `CONFLICT` when
/// nothing waits.
pub async fn decide_plugin(
    state: &AppState,
    actor: &crate::auth::Actor,
    id: &str,
    decision: PluginDecision,
) -> Result<Vec<crate::plugins::PendingApproval>> {
    use crate::error::ErrorCode;
    let shown: String = id
        .chars()
        .take(64)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if state.plugins().status(id).is_none() {
        return Err(Error::new(
            ErrorCode::PluginNotFound,
            format!("no connector plugin `{shown}`"),
        ));
    }
    let decided = match decision {
        PluginDecision::Approve => state.plugins().approve(id).await,
        PluginDecision::Refuse => state.plugins().refuse(id).await,
    };
    if decided.is_empty() {
        return Err(Error::new(
            ErrorCode::Conflict,
            format!("no version of `{shown}` is waiting for approval"),
        ));
    }
    let stored: Vec<crate::plugins::Approval> = decided
        .iter()
        .map(|a| crate::plugins::Approval {
            id: id.to_owned(),
            sha256: a.sha256.clone(),
        })
        .collect();
    let detail = serde_json::json!({
        "versions": decided.iter().map(|a| serde_json::json!({
            "file": a.file, "version": a.version, "sha256": a.sha256
        })).collect::<Vec<_>>()
    });
    let (actor, target) = (actor.clone(), format!("plugin:{id}"));
    state
        .db()
        .write(move |tx| {
            match decision {
                PluginDecision::Approve => {
                    db::meta::add_plugin_approvals(tx, &stored)?;
                    actor.audit(tx, "plugin.approve", Some(&target), Some(detail))?;
                }
                PluginDecision::Refuse => {
                    db::meta::add_plugin_refusals(tx, &stored)?;
                    actor.audit(tx, "plugin.refuse", Some(&target), Some(detail))?;
                }
            }
            Ok(())
        })
        .await?;
    Ok(decided)
}

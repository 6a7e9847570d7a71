//! `GET /api/v1/audit`: the audit log, newest first, paginated and filterable by action (exact, or
//! a prefix ending in `.`), actor, outcome and time range.

use crate::auth::Admin;
use crate::db;
use crate::error::{Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Query};
use crate::http::openapi::Errors;
use crate::http::pagination::{PageQuery, Paginated};
use crate::state::AppState;
use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::routes;

/// Audit routes.
pub fn routes() -> Routes {
    vec![routes!(list)]
}

/// Filters of the audit log.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// 1-based page number (default 1, at most 1,000,000).
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u32>,
    /// Items per page (default 50, at most 100).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<u32>,
    /// Exact action (`auth.login`), or a prefix ending in `.` (`auth.`).
    action: Option<String>,
    /// Exact actor, e.g. `admin:alice`.
    actor: Option<String>,
    /// `success` or `failure`.
    #[param(schema_with = outcome_schema)]
    outcome: Option<String>,
    /// Events at or after this time (RFC 3339).
    #[param(schema_with = crate::http::openapi::date_time)]
    since: Option<String>,
    /// Events before this time (RFC 3339).
    #[param(schema_with = crate::http::openapi::date_time)]
    until: Option<String>,
}

fn outcome_schema() -> utoipa::openapi::Object {
    crate::http::openapi::string_enum(&["success", "failure"])
}

/// Read the audit log
///
/// Newest first.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    operation_id = "list_audit_events",
    params(AuditQuery),
    responses((status = OK, body = Paginated<db::audit::Event>), Errors<code::ValidationFailed>)
)]
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Paginated<db::audit::Event>>> {
    let page = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .validate()?;
    let filter = crate::ops::AuditQuery {
        action: q.action,
        actor: q.actor,
        outcome: q.outcome,
        since: q.since,
        until: q.until,
    }
    .check()?;
    let (items, total) = crate::ops::audit_log(&state, filter, page.limit(), page.offset()).await?;
    Ok(Json(Paginated::new(items, total, page)))
}

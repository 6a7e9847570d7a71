//! `GET /api/v1/audit`: the audit log, newest first, paginated and filterable by action (exact, or
//! a prefix ending in `.`), actor, outcome and time range.

use crate::auth::Admin;
use crate::db::{self, audit::Filter, time};
use crate::error::{Error, FieldError, Result};
use crate::http::extract::{Json, Query};
use crate::http::pagination::{PageQuery, Paginated};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;

/// Audit routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

#[derive(Deserialize)]
struct AuditQuery {
    page: Option<u32>,
    per_page: Option<u32>,
    action: Option<String>,
    actor: Option<String>,
    outcome: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

async fn list(State(state): State<AppState>, _admin: Admin, Query(q): Query<AuditQuery>) -> Result<Json<Paginated<db::audit::Event>>> {
    let page = PageQuery { page: q.page, per_page: q.per_page }.validate()?;
    let mut fields = Vec::new();
    if q.outcome.as_deref().is_some_and(|o| o != "success" && o != "failure") {
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
    let since = time_field("since", &q.since);
    let until = time_field("until", &q.until);
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    let filter = Filter { action: q.action, actor: q.actor, outcome: q.outcome, since, until };
    let (items, total) = state.db().run(move |c| Ok(db::audit::list(c, &filter, page.limit(), page.offset())?)).await?;
    Ok(Json(Paginated::new(items, total, page)))
}

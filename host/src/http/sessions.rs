//! The signed-in admin's sessions: list, revoke one, revoke all others ("sign out everywhere").

use crate::auth::Admin;
use crate::db::{self, audit::Outcome};
use crate::error::{Error, Result};
use crate::http::extract::{Json, Path, Query};
use crate::http::pagination::{PageQuery, Paginated};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use serde::Serialize;
use serde_json::json;

/// Session routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(list).delete(revoke_others))
        .route("/sessions/{id}", delete(revoke))
}

#[derive(Serialize)]
struct SessionView {
    id: i64,
    created_at: String,
    last_seen_at: String,
    expires_at: String,
    ip: Option<String>,
    user_agent: Option<String>,
    current: bool,
}

async fn list(State(state): State<AppState>, admin: Admin, Query(q): Query<PageQuery>) -> Result<Json<Paginated<SessionView>>> {
    let page = q.validate()?;
    let id = admin.id;
    let rows = state.db().run(move |c| Ok(db::auth::sessions_of(c, id)?)).await?;
    let current = admin.session_id();
    let items: Vec<SessionView> = rows
        .into_iter()
        .map(|s| SessionView {
            current: Some(s.id) == current,
            id: s.id,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            ip: s.ip,
            user_agent: s.user_agent,
        })
        .collect();
    Ok(Json(Paginated::from_vec(items, page)))
}

async fn revoke(State(state): State<AppState>, admin: Admin, Path(id): Path<i64>) -> Result<StatusCode> {
    let admin_id = admin.id;
    let found = state.db().write(move |tx| Ok(db::auth::delete_session(tx, admin_id, id)?)).await?;
    if !found {
        return Err(Error::not_found("session"));
    }
    admin.audit(state.db(), "session.revoke", Some(format!("session:{id}")), Outcome::Success, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_others(State(state): State<AppState>, admin: Admin) -> Result<Json<serde_json::Value>> {
    let (admin_id, keep) = (admin.id, admin.session_id());
    let n = state.db().write(move |tx| Ok(db::auth::delete_other_sessions(tx, admin_id, keep)?)).await?;
    admin.audit(state.db(), "session.revoke_all", None, Outcome::Success, Some(json!({ "revoked": n }))).await?;
    Ok(Json(json!({ "revoked": n })))
}

//! The signed-in admin's sessions: list, revoke one, revoke all others ("sign out everywhere").
//! The rules are in [`crate::auth::api_keys`]; this is the JSON skin.

use crate::auth::{Admin, api_keys};
use crate::error::{Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path, Query};
use crate::http::openapi::Errors;
use crate::http::pagination::{PageQuery, Paginated};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa_axum::routes;

/// Session routes.
pub fn routes() -> Routes {
    vec![routes!(list, revoke_others), routes!(revoke)]
}

/// A session of the signed-in admin.
#[derive(Serialize, utoipa::ToSchema)]
struct SessionView {
    /// Session id.
    id: i64,
    /// Sign-in time.
    created_at: String,
    /// Last request (minute resolution).
    last_seen_at: String,
    /// When it ends at the latest.
    expires_at: String,
    /// Client address at sign-in.
    ip: Option<String>,
    /// Browser at sign-in.
    user_agent: Option<String>,
    /// Whether this request came with it.
    current: bool,
}

/// List the admin's sessions
#[utoipa::path(
    get,
    path = "/sessions",
    tag = "sessions",
    operation_id = "list_sessions",
    params(PageQuery),
    responses((status = OK, body = Paginated<SessionView>), Errors<code::ValidationFailed>)
)]
async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<PageQuery>,
) -> Result<Json<Paginated<SessionView>>> {
    let page = q.validate()?;
    let rows = api_keys::sessions(&state, &admin).await?;
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

/// Sign out one session
#[utoipa::path(
    delete,
    path = "/sessions/{id}",
    tag = "sessions",
    operation_id = "revoke_session",
    params(("id" = i64, Path, description = "Session id")),
    responses((status = NO_CONTENT, description = "Signed out"), Errors<code::NotFound>)
)]
async fn revoke(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    api_keys::revoke_session(&state, &admin, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sessions signed out at once.
#[derive(Serialize, utoipa::ToSchema)]
struct Revoked {
    /// How many sessions were signed out.
    revoked: usize,
}

/// Sign out everywhere else
///
/// Ends every session of the admin except the current one (all of them with an API key).
#[utoipa::path(
    delete,
    path = "/sessions",
    tag = "sessions",
    operation_id = "revoke_other_sessions",
    responses((status = OK, body = Revoked))
)]
async fn revoke_others(State(state): State<AppState>, admin: Admin) -> Result<Json<Revoked>> {
    let n = api_keys::revoke_other_sessions(&state, &admin).await?;
    Ok(Json(Revoked { revoked: n }))
}

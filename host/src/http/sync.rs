//! `POST /api/v1/servers/{id}/sync` and the user-sync exclusion list of a server
//! (`GET|POST /api/v1/servers/{id}/exclusions`, `DELETE /api/v1/servers/{id}/exclusions/{external_id}`).

use crate::auth::Admin;
use crate::db::jobs::Exclusion;
use crate::error::{Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path, Query};
use crate::http::openapi::{ConnectorCall, Errors};
use crate::http::pagination::{PageQuery, Paginated};
use crate::state::AppState;
use crate::sync::{Report, What};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

/// Sync routes.
pub fn routes() -> Routes {
    vec![
        routes!(sync),
        routes!(list_exclusions, add_exclusion),
        routes!(remove_exclusion),
    ]
}

/// What to sync.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct SyncInput {
    /// `libraries`, `users` or `all` (default).
    #[serde(default)]
    what: What,
    /// Report what would change without changing anything (default `false`).
    #[serde(default)]
    dry_run: bool,
    /// Apply a user sync even when it would mark more accounts as vanished than
    /// `sync.max_vanished_percent` allows (default `false`).
    #[serde(default)]
    force: bool,
}

/// Sync a server now
///
/// Library sync adds, renames and removes libraries; user sync imports accounts created
/// outside Zondarr (except excluded ones), updates known ones and marks those the server no
/// longer lists as vanished — it never deletes. Each part is recorded as a job run, returned
/// here. A user sync that would mark more than `sync.max_vanished_percent` of the known
/// accounts is refused with `SYNC_REFUSED` and changes nothing (unless `force`).
#[utoipa::path(
    post,
    path = "/servers/{id}/sync",
    tag = "servers",
    operation_id = "sync_server",
    params(("id" = i64, Path, description = "Server id")),
    request_body = SyncInput,
    responses((status = OK, body = Report), Errors<(code::NotFound, code::ValidationFailed, code::JobRunning, code::SyncRefused, ConnectorCall)>)
)]
async fn sync(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Json(input): Json<SyncInput>,
) -> Result<Json<Report>> {
    let report = crate::sync::run_by(
        &state,
        &(&admin).into(),
        id,
        input.what,
        input.dry_run,
        input.force,
    )
    .await?;
    Ok(Json(report))
}

/// List a server's sync exclusions
///
/// Accounts user sync does not import again.
#[utoipa::path(
    get,
    path = "/servers/{id}/exclusions",
    tag = "servers",
    operation_id = "list_sync_exclusions",
    params(("id" = i64, Path, description = "Server id"), PageQuery),
    responses((status = OK, body = Paginated<Exclusion>), Errors<(code::NotFound, code::ValidationFailed)>)
)]
async fn list_exclusions(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<i64>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Paginated<Exclusion>>> {
    let page = page.validate()?;
    let all = crate::sync::exclusions(&state, id).await?;
    Ok(Json(Paginated::from_vec(all, page)))
}

/// An account to exclude from user sync.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ExclusionInput {
    /// The server's id for the account, 1 to 200 characters (not only spaces).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    external_id: String,
    /// A name to recognise it by, at most 200 characters (default: the external id).
    #[schema(max_length = 200)]
    username: Option<String>,
}

/// Exclude an account from user sync
///
/// It is not imported again. Excluding an account Zondarr already knows does not remove it;
/// delete the user with `keep_remote=true` for that (which also excludes it).
#[utoipa::path(
    post,
    path = "/servers/{id}/exclusions",
    tag = "servers",
    operation_id = "add_sync_exclusion",
    params(("id" = i64, Path, description = "Server id")),
    request_body = ExclusionInput,
    responses((status = CREATED, body = Exclusion), Errors<(code::NotFound, code::ValidationFailed)>)
)]
async fn add_exclusion(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Json(input): Json<ExclusionInput>,
) -> Result<(StatusCode, Json<Exclusion>)> {
    let exclusion = crate::sync::exclude(
        &state,
        &(&admin).into(),
        id,
        &input.external_id,
        input.username.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(exclusion)))
}

/// Remove a sync exclusion
///
/// The next user sync imports the account again if the server still has it.
#[utoipa::path(
    delete,
    path = "/servers/{id}/exclusions/{external_id}",
    tag = "servers",
    operation_id = "remove_sync_exclusion",
    params(
        ("id" = i64, Path, description = "Server id"),
        ("external_id" = String, Path, description = "The server's id for the account")
    ),
    responses((status = NO_CONTENT, description = "Removed"), Errors<code::NotFound>)
)]
async fn remove_exclusion(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, external_id)): Path<(i64, String)>,
) -> Result<StatusCode> {
    crate::sync::include(&state, &(&admin).into(), id, &external_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `GET /plugins`, `GET /plugins/{id}`, `POST /plugins/rescan`, `POST /plugins/{id}/approve`,
//! `POST /plugins/{id}/refuse` (nested under `/api/v1`): the loaded connector plugins, the refused files and the versions
//! waiting for approval, for the admin. No handler here calls into a plugin.

use crate::auth::Admin;
use crate::error::{Error, ErrorCode, code};
use crate::http::Routes;
use crate::http::extract::{Path, Query};
use crate::http::openapi::Errors;
use crate::http::pagination::{PageQuery, Paginated};
use crate::ops::PluginDecision;
use crate::plugins::{PendingApproval, PluginStatus, RescanReport};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::routes;

/// Plugin routes (mounted under the admin router, which requires an authenticated admin).
pub fn routes() -> Routes {
    vec![
        routes!(list),
        routes!(rescan),
        routes!(show),
        routes!(approve),
        routes!(refuse),
    ]
}

/// List connector plugins
///
/// Loaded plugins first (by id), then refused files that serve nothing.
#[utoipa::path(
    get,
    path = "/plugins",
    tag = "plugins",
    operation_id = "list_plugins",
    params(PageQuery),
    responses((status = OK, body = Paginated<PluginStatus>), Errors<code::ValidationFailed>)
)]
async fn list(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Paginated<PluginStatus>>, Error> {
    let page = q.validate()?;
    let all = state.plugins().list();
    let total = all.len() as i64;
    let skip = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let items = all
        .into_iter()
        .skip(skip)
        .take(page.per_page as usize)
        .collect();
    Ok(Json(Paginated::new(items, total, page)))
}

/// Get a connector plugin
#[utoipa::path(
    get,
    path = "/plugins/{id}",
    tag = "plugins",
    operation_id = "get_plugin",
    params(("id" = String, Path, description = "Plugin id, e.g. `jellyfin`")),
    responses((status = OK, body = PluginStatus), Errors<code::PluginNotFound>)
)]
async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PluginStatus>, Error> {
    state.plugins().status(&id).map(Json).ok_or_else(|| {
        let shown: String = id.chars().take(64).collect();
        Error::new(
            ErrorCode::PluginNotFound,
            format!("no connector plugin `{}`", shown.escape_debug()),
        )
    })
}

/// The rescan outcome and the plugins afterwards.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RescanResponse {
    /// What the rescan changed.
    rescan: RescanReport,
    /// Every plugin after the rescan.
    plugins: Vec<PluginStatus>,
}

/// Rescan the plugins folder
///
/// Loads new and changed files now instead of waiting for the folder watcher.
#[utoipa::path(
    post,
    path = "/plugins/rescan",
    tag = "plugins",
    operation_id = "rescan_plugins",
    responses((status = OK, body = RescanResponse))
)]
async fn rescan(State(state): State<AppState>) -> Result<Json<RescanResponse>, Error> {
    let rescan = crate::ops::rescan_plugins(&state).await?;
    Ok(Json(RescanResponse {
        rescan,
        plugins: state.plugins().list(),
    }))
}

/// What an approval let in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ApproveResponse {
    /// The approved file versions (they serve now).
    approved: Vec<PendingApproval>,
    /// The plugin afterwards.
    plugin: PluginStatus,
}

/// Approve a plugin version waiting for approval
///
/// A file in the plugins folder that would take over an id another source provides (a plugin
/// bundled with Zondarr, or another file) waits for an admin's approval, and the version serving
/// before keeps serving. This approves the waiting file (by its SHA-256, so a later change of
/// the file needs a new approval) and lets it serve now.
#[utoipa::path(
    post,
    path = "/plugins/{id}/approve",
    tag = "plugins",
    operation_id = "approve_plugin",
    params(("id" = String, Path, description = "Plugin id, e.g. `jellyfin`")),
    responses((status = OK, body = ApproveResponse), Errors<(code::PluginNotFound, code::Conflict)>)
)]
async fn approve(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<ApproveResponse>, Error> {
    let approved = decide(&state, &admin, &id, PluginDecision::Approve).await?;
    Ok(Json(ApproveResponse {
        approved: approved.0,
        plugin: approved.1,
    }))
}

/// What a refusal turned away.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RefuseResponse {
    /// The refused file versions.
    refused: Vec<PendingApproval>,
    /// The plugin afterwards.
    plugin: PluginStatus,
}

/// Refuse a plugin version waiting for approval
///
/// The opposite of approving: a file that would take over an id is not loaded and the version
/// serving now keeps serving; a first version's extra hosts stay closed and it serves without
/// them. The refusal is kept (by SHA-256): the same file is not asked about again, a changed
/// file is. To remove a refused file, delete it from the plugins folder.
#[utoipa::path(
    post,
    path = "/plugins/{id}/refuse",
    tag = "plugins",
    operation_id = "refuse_plugin",
    params(("id" = String, Path, description = "Plugin id, e.g. `jellyfin`")),
    responses((status = OK, body = RefuseResponse), Errors<(code::PluginNotFound, code::Conflict)>)
)]
async fn refuse(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<RefuseResponse>, Error> {
    let (refused, plugin) = decide(&state, &admin, &id, PluginDecision::Refuse).await?;
    Ok(Json(RefuseResponse { refused, plugin }))
}

async fn decide(
    state: &AppState,
    admin: &Admin,
    id: &str,
    decision: PluginDecision,
) -> Result<(Vec<PendingApproval>, PluginStatus), Error> {
    let decided = crate::ops::decide_plugin(state, &admin.into(), id, decision).await?;
    let plugin = state.plugins().status(id).ok_or_else(|| {
        let shown: String = id.chars().take(64).collect();
        Error::new(
            ErrorCode::PluginNotFound,
            format!("no connector plugin `{}`", shown.escape_debug()),
        )
    })?;
    Ok((decided, plugin))
}

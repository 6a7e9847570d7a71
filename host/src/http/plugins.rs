//! `GET /plugins`, `GET /plugins/{id}`, `POST /plugins/rescan` (nested under `/api/v1`): the
//! loaded connector plugins and the refused files, for the admin. Read-only views over
//! [`crate::plugins::PluginHost`]; no handler here calls into a plugin.

use crate::error::{Error, ErrorCode, code};
use crate::http::Routes;
use crate::http::extract::{Path, Query};
use crate::http::openapi::Errors;
use crate::http::pagination::{PageQuery, Paginated};
use crate::plugins::{PluginStatus, RescanReport};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::routes;

/// Plugin routes (mounted under the admin router, which requires an authenticated admin).
pub fn routes() -> Routes {
    vec![routes!(list), routes!(rescan), routes!(show)]
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
async fn rescan(State(state): State<AppState>) -> Json<RescanResponse> {
    let rescan = state.plugins().rescan().await;
    Json(RescanResponse {
        rescan,
        plugins: state.plugins().list(),
    })
}

//! `GET /plugins`, `GET /plugins/{id}`, `POST /plugins/rescan` (nested under `/api/v1`): the
//! loaded connector plugins and the refused files, for the admin. Read-only views over
//! [`crate::plugins::PluginHost`]; no handler here calls into a plugin.

use crate::error::{Error, ErrorCode};
use crate::http::extract::{Path, Query};
use crate::http::pagination::{PageQuery, Paginated};
use crate::plugins::{PluginStatus, RescanReport};
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Serialize;

/// Plugin routes (mounted under the admin router, which requires an authenticated admin).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/plugins", get(list))
        .route("/plugins/rescan", post(rescan))
        .route("/plugins/{id}", get(show))
}

/// Loaded plugins first (by id), then refused files that serve nothing.
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
#[derive(Debug, Serialize)]
struct RescanResponse {
    rescan: RescanReport,
    plugins: Vec<PluginStatus>,
}

async fn rescan(State(state): State<AppState>) -> Json<RescanResponse> {
    let rescan = state.plugins().rescan().await;
    Json(RescanResponse {
        rescan,
        plugins: state.plugins().list(),
    })
}

//! `GET /plugins`, `GET /plugins/{id}`, `POST /plugins/rescan` (nested under `/api/v1`): the
//! loaded connector plugins and the refused files, for the admin. Read-only views over
//! [`crate::plugins::PluginHost`]; no handler here calls into a plugin.

use crate::error::{Error, ErrorCode};
use crate::plugins::{PluginStatus, RescanReport};
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

/// Plugin routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/plugins", get(list))
        .route("/plugins/rescan", post(rescan))
        .route("/plugins/{id}", get(show))
}

/// Pagination of list endpoints.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    page: Option<u32>,
    per_page: Option<u32>,
}

/// A page of plugins.
#[derive(Debug, Serialize)]
struct PluginList {
    items: Vec<PluginStatus>,
    page: u32,
    per_page: u32,
    total: usize,
}

// The rejections are taken as values and converted, so malformed input gets the daemon's
// error envelope (`BAD_REQUEST`) rather than axum's plain-text body.
async fn list(
    State(state): State<AppState>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Json<PluginList>, Error> {
    let Query(page) = page?;
    let per_page = page.per_page.unwrap_or(100);
    let number = page.page.unwrap_or(1);
    if !(1..=100).contains(&per_page) || number == 0 {
        return Err(Error::new(ErrorCode::BadRequest, "page must be at least 1 and per_page from 1 to 100"));
    }
    let all = state.plugins().list();
    let total = all.len();
    let skip = (number as usize - 1).saturating_mul(per_page as usize);
    let items = all.into_iter().skip(skip).take(per_page as usize).collect();
    Ok(Json(PluginList { items, page: number, per_page, total }))
}

async fn show(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<PluginStatus>, Error> {
    let Path(id) = id?;
    state
        .plugins()
        .status(&id)
        .map(Json)
        .ok_or_else(|| Error::new(ErrorCode::PluginNotFound, format!("no connector plugin `{}`", id.chars().take(64).collect::<String>().escape_debug())))
}

/// The rescan outcome and the plugins afterwards.
#[derive(Debug, Serialize)]
struct RescanResponse {
    rescan: RescanReport,
    plugins: Vec<PluginStatus>,
}

async fn rescan(State(state): State<AppState>) -> Json<RescanResponse> {
    let rescan = state.plugins().rescan().await;
    Json(RescanResponse { rescan, plugins: state.plugins().list() })
}

//! API keys: created with a name, a scope (`read` or `admin`) and an optional expiry; the key is
//! shown once and stored hashed; listed with last use; revoked.

use crate::auth::{Admin, Scope, new_api_key};
use crate::db::{self, audit::Outcome, time};
use crate::error::{Error, FieldError, Result};
use crate::http::extract::{Json, Path, Query};
use crate::http::pagination::{PageQuery, Paginated};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

/// API key routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api-keys", get(list).post(create)).route("/api-keys/{id}", get(show).delete(revoke))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    name: String,
    scope: String,
    expires_at: Option<String>,
}

async fn create(State(state): State<AppState>, admin: Admin, Json(req): Json<CreateKey>) -> Result<(StatusCode, Json<serde_json::Value>)> {
    let mut fields = Vec::new();
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 64 {
        fields.push(FieldError::new("name", "must be 1 to 64 characters"));
    }
    let scope = Scope::parse(&req.scope);
    if scope.is_none() {
        fields.push(FieldError::new("scope", "must be `read` or `admin`"));
    }
    let expires_at = match req.expires_at.as_deref().map(time::parse) {
        None => None,
        Some(Some(t)) if t > Utc::now() => Some(time::fmt(t)),
        Some(Some(_)) => {
            fields.push(FieldError::new("expires_at", "must be in the future"));
            None
        }
        Some(None) => {
            fields.push(FieldError::new("expires_at", "must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z"));
            None
        }
    };
    let Some(scope) = scope.filter(|_| fields.is_empty()) else { return Err(Error::invalid(fields)) };
    let (prefix, full, hash) = new_api_key();
    let admin_id = admin.id;
    let (p, n, e) = (prefix.clone(), name.clone(), expires_at.clone());
    let id = state
        .db()
        .write(move |tx| Ok(db::auth::insert_api_key(tx, &p, &hash, &n, scope.as_str(), admin_id, e.as_deref())?))
        .await?;
    admin
        .audit(state.db(), "api_key.create", Some(format!("api-key:{prefix}")), Outcome::Success, Some(json!({ "name": name, "scope": scope.as_str() })))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id,
            "prefix": prefix,
            "name": name,
            "scope": scope.as_str(),
            "expires_at": expires_at,
            "key": full,
            "note": "this is the only time the key is shown; store it now",
        })),
    ))
}

async fn list(State(state): State<AppState>, _admin: Admin, Query(q): Query<PageQuery>) -> Result<Json<Paginated<db::auth::ApiKey>>> {
    let page = q.validate()?;
    let (items, total) = state.db().run(move |c| Ok(db::auth::list_api_keys(c, page.limit(), page.offset())?)).await?;
    Ok(Json(Paginated::new(items, total, page)))
}

async fn show(State(state): State<AppState>, _admin: Admin, Path(id): Path<i64>) -> Result<Json<db::auth::ApiKey>> {
    state.db().run(move |c| Ok(db::auth::api_key_by_id(c, id)?)).await?.map(Json).ok_or_else(|| Error::not_found("API key"))
}

async fn revoke(State(state): State<AppState>, admin: Admin, Path(id): Path<i64>) -> Result<StatusCode> {
    let key = state.db().run(move |c| Ok(db::auth::api_key_by_id(c, id)?)).await?.ok_or_else(|| Error::not_found("API key"))?;
    let revoked = state.db().write(move |tx| Ok(db::auth::revoke_api_key(tx, id)?)).await?;
    if !revoked {
        return Err(Error::new(crate::error::ErrorCode::Conflict, "the API key is already revoked"));
    }
    admin.audit(state.db(), "api_key.revoke", Some(format!("api-key:{}", key.prefix)), Outcome::Success, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

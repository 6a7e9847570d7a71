//! API keys: created with a name, a scope (`read` or `admin`) and an optional expiry; the key is
//! shown once and stored hashed; listed with last use; revoked. The rules are in
//! [`crate::auth::api_keys`]; this is the JSON skin.

use crate::auth::{Admin, Scope, api_keys};
use crate::db;
use crate::error::{Result, code};
use crate::http::Routes;
use crate::http::auth::StepUp;
use crate::http::extract::{Json, Path, Query};
use crate::http::openapi::Errors;
use crate::http::pagination::{PageQuery, Paginated};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

/// API key routes.
pub fn routes() -> Routes {
    vec![routes!(list, create), routes!(show, revoke)]
}

/// A new API key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    /// 1 to 64 characters (not only spaces).
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    name: String,
    /// `read` (no changes) or `admin`.
    #[schema(schema_with = scope_schema)]
    scope: String,
    /// Expiry (RFC 3339, in the future); absent or `null` for none.
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    /// The admin's current password (see `STEP_UP_REQUIRED`).
    #[serde(default)]
    current_password: Option<String>,
}

/// The created key, with its secret (shown this once).
#[derive(Serialize, ToSchema)]
struct CreatedKey {
    /// Key id.
    id: i64,
    /// Public prefix, e.g. `zk_ab12cd34`.
    prefix: String,
    /// Name.
    name: String,
    /// `read` or `admin`.
    scope: &'static str,
    /// Expiry.
    expires_at: Option<String>,
    /// The full key for `Authorization: Bearer <key>`; it cannot be shown again.
    key: String,
    /// A reminder that the key is shown once.
    note: &'static str,
}

/// Create an API key
///
/// Needs the current password. An API key may create `read` keys; it may create `admin` keys
/// only when `security.api_keys_create_admin_keys` is on.
#[utoipa::path(
    post,
    path = "/api-keys",
    tag = "api-keys",
    operation_id = "create_api_key",
    request_body = CreateKey,
    responses((status = CREATED, body = CreatedKey), Errors<(code::ValidationFailed, code::StepUpRequired, code::AdminKeyFromKey, code::AccountLocked)>)
)]
async fn create(
    State(state): State<AppState>,
    admin: Admin,
    Json(req): Json<CreateKey>,
) -> Result<(StatusCode, Json<CreatedKey>)> {
    let created = api_keys::create(
        &state,
        &admin,
        api_keys::NewKey {
            name: req.name,
            scope: req.scope,
            expires_at: req.expires_at,
            current_password: req.current_password,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            id: created.id,
            prefix: created.prefix,
            name: created.name,
            scope: created.scope.as_str(),
            expires_at: created.expires_at,
            key: created.key,
            note: "this is the only time the key is shown; store it now",
        }),
    ))
}

/// List API keys
///
/// Every key, revoked ones included; never the secrets.
#[utoipa::path(
    get,
    path = "/api-keys",
    tag = "api-keys",
    operation_id = "list_api_keys",
    params(PageQuery),
    responses((status = OK, body = Paginated<db::auth::ApiKey>), Errors<code::ValidationFailed>)
)]
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<PageQuery>,
) -> Result<Json<Paginated<db::auth::ApiKey>>> {
    let page = q.validate()?;
    let (items, total) = api_keys::list(&state, page.limit(), page.offset()).await?;
    Ok(Json(Paginated::new(items, total, page)))
}

/// Get an API key
#[utoipa::path(
    get,
    path = "/api-keys/{id}",
    tag = "api-keys",
    operation_id = "get_api_key",
    params(("id" = i64, Path, description = "API key id")),
    responses((status = OK, body = db::auth::ApiKey), Errors<code::NotFound>)
)]
async fn show(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<i64>,
) -> Result<Json<db::auth::ApiKey>> {
    api_keys::get(&state, id).await.map(Json)
}

/// Revoke an API key
///
/// Needs the current password (`{"current_password": ...}` as the body).
#[utoipa::path(
    delete,
    path = "/api-keys/{id}",
    tag = "api-keys",
    operation_id = "revoke_api_key",
    params(("id" = i64, Path, description = "API key id")),
    request_body = StepUp,
    responses((status = NO_CONTENT, description = "Revoked"), Errors<(code::NotFound, code::Conflict, code::StepUpRequired, code::AccountLocked)>)
)]
async fn revoke(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Json(req): Json<StepUp>,
) -> Result<StatusCode> {
    api_keys::revoke(&state, &admin, id, req.current_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn scope_schema() -> utoipa::openapi::Object {
    crate::http::openapi::string_enum(&[Scope::Read.as_str(), Scope::Admin.as_str()])
}

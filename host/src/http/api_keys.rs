//! API keys: created with a name, a scope (`read` or `admin`) and an optional expiry; the key is
//! shown once and stored hashed; listed with last use; revoked.

use crate::auth::account::step_up;
use crate::auth::{Admin, Scope, Via, new_api_key};
use crate::db::{self, audit::Outcome, time};
use crate::error::{Error, ErrorCode, FieldError, Result, code};
use crate::http::Routes;
use crate::http::auth::StepUp;
use crate::http::extract::{Json, Path, Query};
use crate::http::openapi::Errors;
use crate::http::pagination::{PageQuery, Paginated};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
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
            fields.push(FieldError::new(
                "expires_at",
                "must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z",
            ));
            None
        }
    };
    let Some(scope) = scope.filter(|_| fields.is_empty()) else {
        return Err(Error::invalid(fields));
    };
    if scope == Scope::Admin
        && matches!(admin.via, Via::ApiKey { .. })
        && !state.security().config().api_keys_create_admin_keys
    {
        return Err(Error::new(
            ErrorCode::AdminKeyFromKey,
            "an API key may not create admin-scope keys (security.api_keys_create_admin_keys is off)",
        ));
    }
    step_up(&state, &admin, "current_password", req.current_password).await?;
    let (prefix, full, hash) = new_api_key();
    let admin_id = admin.id;
    let (p, n, e) = (prefix.clone(), name.clone(), expires_at.clone());
    let id = state
        .db()
        .write(move |tx| {
            Ok(db::auth::insert_api_key(
                tx,
                &p,
                &hash,
                &n,
                scope.as_str(),
                admin_id,
                e.as_deref(),
            )?)
        })
        .await?;
    admin
        .audit(
            state.db(),
            "api_key.create",
            Some(format!("api-key:{prefix}")),
            Outcome::Success,
            Some(json!({ "name": name, "scope": scope.as_str() })),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            id,
            prefix,
            name,
            scope: scope.as_str(),
            expires_at,
            key: full,
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
    let (items, total) = state
        .db()
        .run(move |c| Ok(db::auth::list_api_keys(c, page.limit(), page.offset())?))
        .await?;
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
    state
        .db()
        .run(move |c| Ok(db::auth::api_key_by_id(c, id)?))
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("API key"))
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
    let key = state
        .db()
        .run(move |c| Ok(db::auth::api_key_by_id(c, id)?))
        .await?
        .ok_or_else(|| Error::not_found("API key"))?;
    step_up(&state, &admin, "current_password", req.current_password).await?;
    let revoked = state
        .db()
        .write(move |tx| Ok(db::auth::revoke_api_key(tx, id)?))
        .await?;
    state.security().credentials_revoked();
    if !revoked {
        return Err(Error::new(
            ErrorCode::Conflict,
            "the API key is already revoked",
        ));
    }
    admin
        .audit(
            state.db(),
            "api_key.revoke",
            Some(format!("api-key:{}", key.prefix)),
            Outcome::Success,
            None,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn scope_schema() -> utoipa::openapi::Object {
    crate::http::openapi::string_enum(&[Scope::Read.as_str(), Scope::Admin.as_str()])
}

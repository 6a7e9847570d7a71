//! Users (accounts on servers) and identities (people): list across servers, detail, enable and
//! disable where the connector can, delete (remote first, then local), libraries, permissions,
//! password, expiry; identities: rename, link, unlink.
//!
//! The rules and the remote-first orchestration live in [`crate::users`]; these handlers parse,
//! call one domain function and render JSON.

use crate::auth::Admin;
use crate::db::{self, users::User};
use crate::error::{Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path, Query};
use crate::http::openapi::{ConnectorCall, Errors};
use crate::http::pagination::{PageQuery, Paginated};
use crate::state::AppState;
use crate::users;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as JsonValue};
use utoipa::ToSchema;
use utoipa_axum::routes;

/// User and identity routes.
pub fn routes() -> Routes {
    vec![
        routes!(list),
        routes!(show, update, remove),
        routes!(enable),
        routes!(disable),
        routes!(set_libraries),
        routes!(set_permissions),
        routes!(set_password),
        routes!(show_identity, update_identity),
        routes!(link),
        routes!(unlink),
    ]
}

/// Filters, sort and page of the user list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// 1-based page number (default 1, at most 1,000,000).
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u32>,
    /// Items per page (default 50, at most 100).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<u32>,
    /// Only accounts on this server.
    server_id: Option<i64>,
    /// Only accounts created with this invitation.
    invitation_id: Option<i64>,
    /// Only enabled (`true`) or disabled (`false`) accounts.
    enabled: Option<bool>,
    /// `expired`, `expiring` (within 7 days), `never` or `current` (not expired).
    #[param(schema_with = expiry_schema)]
    expiry: Option<String>,
    /// Only accounts user sync found gone from their server (`true`), or only present ones.
    vanished: Option<bool>,
    /// Part of the username or e-mail (case-insensitive).
    search: Option<String>,
    /// `username` (default), `created_at`, `expires_at` or `server`.
    #[param(schema_with = sort_schema)]
    sort: Option<String>,
    /// `asc` (default) or `desc`.
    #[param(schema_with = crate::http::openapi::order_schema)]
    order: Option<String>,
}

/// List users across servers
#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    operation_id = "list_users",
    params(ListQuery),
    responses((status = OK, body = Paginated<User>), Errors<code::ValidationFailed>)
)]
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<ListQuery>,
) -> Result<Json<Paginated<User>>> {
    let page = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .validate()?;
    let spec = users::ListQuery {
        server_id: q.server_id,
        invitation_id: q.invitation_id,
        enabled: q.enabled,
        expiry: q.expiry,
        vanished: q.vanished,
        search: q.search,
        sort: q.sort,
        order: q.order,
    }
    .check()?;
    let (items, total) = users::list(&state, spec, page.limit(), page.offset()).await?;
    Ok(Json(Paginated::new(items, total, page)))
}

/// A user with its identity, the invitation it came from and what can be done with it.
#[derive(Serialize, ToSchema)]
struct UserDetail {
    #[serde(flatten)]
    user: User,
    /// The person, with all their accounts.
    identity: Option<IdentityView>,
    /// The invitation that created the account.
    invitation: Option<InvitationRef>,
    /// Actions the server's connector supports for this account: `enable_disable`, `delete`,
    /// `libraries`, `permissions`, `password`.
    actions: Vec<&'static str>,
}

/// An invitation by id and code.
#[derive(Serialize, ToSchema)]
struct InvitationRef {
    /// Invitation id.
    id: i64,
    /// Its code.
    code: String,
}

/// An identity (a person) with their accounts.
#[derive(Serialize, ToSchema)]
struct IdentityView {
    #[serde(flatten)]
    identity: db::users::Identity,
    /// Their accounts on the servers.
    users: Vec<User>,
}

impl From<users::IdentityDetail> for IdentityView {
    fn from(d: users::IdentityDetail) -> IdentityView {
        IdentityView {
            identity: d.identity,
            users: d.users,
        }
    }
}

/// Get a user
#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "users",
    operation_id = "get_user",
    params(("id" = i64, Path, description = "User id")),
    responses((status = OK, body = UserDetail), Errors<code::NotFound>)
)]
async fn show(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<i64>,
) -> Result<Json<UserDetail>> {
    let d = users::detail(&state, id).await?;
    Ok(Json(UserDetail {
        actions: d.actions,
        user: d.user,
        identity: d.identity.map(IdentityView::from),
        invitation: d.invitation.map(|(id, code)| InvitationRef { id, code }),
    }))
}

/// Enable a user
///
/// On the server first, then in Zondarr.
#[utoipa::path(
    post,
    path = "/users/{id}/enable",
    tag = "users",
    operation_id = "enable_user",
    params(("id" = i64, Path, description = "User id")),
    responses((status = OK, body = User), Errors<(code::NotFound, ConnectorCall)>)
)]
async fn enable(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<Json<User>> {
    Ok(Json(
        users::set_enabled(&state, &(&admin).into(), id, true).await?,
    ))
}

/// Disable a user
///
/// On the server first, then in Zondarr.
#[utoipa::path(
    post,
    path = "/users/{id}/disable",
    tag = "users",
    operation_id = "disable_user",
    params(("id" = i64, Path, description = "User id")),
    responses((status = OK, body = User), Errors<(code::NotFound, ConnectorCall)>)
)]
async fn disable(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<Json<User>> {
    Ok(Json(
        users::set_enabled(&state, &(&admin).into(), id, false).await?,
    ))
}

/// Options of a user deletion.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DeleteQuery {
    /// For sharing servers: also remove the friend / home user (default `false`).
    remove_account: Option<bool>,
    /// Remove the account from Zondarr only, leaving it on the server, and exclude it from
    /// user sync so it is not imported again (default `false`).
    keep_remote: Option<bool>,
}

/// Delete a user
///
/// On the server first (an account already gone there is fine), then in Zondarr; an identity
/// left without accounts is removed. With `keep_remote=true` only the Zondarr record goes and
/// the account is excluded from user sync.
#[utoipa::path(
    delete,
    path = "/users/{id}",
    tag = "users",
    operation_id = "delete_user",
    params(("id" = i64, Path, description = "User id"), DeleteQuery),
    responses((status = NO_CONTENT, description = "Deleted"), Errors<(code::NotFound, ConnectorCall)>)
)]
async fn remove(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Query(q): Query<DeleteQuery>,
) -> Result<StatusCode> {
    let mode = users::DeleteMode {
        remove_account: q.remove_account.unwrap_or(false),
        keep_remote: q.keep_remote.unwrap_or(false),
    };
    users::delete(&state, &(&admin).into(), id, mode).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The libraries a user may see.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LibrariesInput {
    /// Library ids of the user's server; `null` for all.
    #[schema(min_items = 1)]
    libraries: Option<Vec<i64>>,
}

/// Set a user's libraries
#[utoipa::path(
    put,
    path = "/users/{id}/libraries",
    tag = "users",
    operation_id = "set_user_libraries",
    params(("id" = i64, Path, description = "User id")),
    request_body = LibrariesInput,
    responses((status = OK, body = User), Errors<(code::NotFound, code::ValidationFailed, ConnectorCall)>)
)]
async fn set_libraries(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Json(input): Json<LibrariesInput>,
) -> Result<Json<User>> {
    Ok(Json(
        users::set_libraries(&state, &(&admin).into(), id, input.libraries).await?,
    ))
}

/// Permission values to apply.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PermissionsInput {
    /// Values by key, as the server's connector declares them (`permissions` of the plugin);
    /// at least one.
    #[schema(schema_with = permissions_schema)]
    permissions: Map<String, JsonValue>,
}

/// Set a user's permissions
#[utoipa::path(
    put,
    path = "/users/{id}/permissions",
    tag = "users",
    operation_id = "set_user_permissions",
    params(("id" = i64, Path, description = "User id")),
    request_body = PermissionsInput,
    responses((status = OK, body = User), Errors<(code::NotFound, code::ValidationFailed, ConnectorCall)>)
)]
async fn set_permissions(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Json(input): Json<PermissionsInput>,
) -> Result<Json<User>> {
    Ok(Json(
        users::set_permissions(&state, &(&admin).into(), id, input.permissions).await?,
    ))
}

/// A new password for the account on the server.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordInput {
    /// 8 to 256 characters.
    #[schema(min_length = 8, max_length = 256)]
    password: String,
}

/// Set a user's password
///
/// On the media server, where the connector supports it.
#[utoipa::path(
    post,
    path = "/users/{id}/password",
    tag = "users",
    operation_id = "set_user_password",
    params(("id" = i64, Path, description = "User id")),
    request_body = PasswordInput,
    responses((status = NO_CONTENT, description = "Changed"), Errors<(code::NotFound, code::ValidationFailed, ConnectorCall)>)
)]
async fn set_password(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Json(input): Json<PasswordInput>,
) -> Result<StatusCode> {
    users::set_password(&state, &(&admin).into(), id, input.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes to a user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    /// New expiry; `null` clears it.
    #[serde(default, deserialize_with = "crate::http::extract::double")]
    #[schema(format = DateTime)]
    expires_at: Option<Option<String>>,
}

/// Change or clear a user's expiry
#[utoipa::path(
    patch,
    path = "/users/{id}",
    tag = "users",
    operation_id = "update_user",
    params(("id" = i64, Path, description = "User id")),
    request_body = UserPatch,
    responses((status = OK, body = User), Errors<(code::NotFound, code::ValidationFailed)>)
)]
async fn update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Json(input): Json<UserPatch>,
) -> Result<Json<User>> {
    Ok(Json(match input.expires_at {
        Some(expiry) => users::set_expiry(&state, &(&admin).into(), id, expiry).await?,
        None => users::get(&state, id).await?,
    }))
}

/// Get an identity
#[utoipa::path(
    get,
    path = "/identities/{id}",
    tag = "identities",
    operation_id = "get_identity",
    params(("id" = i64, Path, description = "Identity id")),
    responses((status = OK, body = IdentityView), Errors<code::NotFound>)
)]
async fn show_identity(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<i64>,
) -> Result<Json<IdentityView>> {
    Ok(Json(users::identity(&state, id).await?.into()))
}

/// Changes to an identity; absent fields keep their value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct IdentityPatch {
    /// 1 to 100 characters (not only spaces).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    display_name: Option<String>,
    /// E-mail address, at most 254 characters; `null` or empty clears it.
    #[serde(default, deserialize_with = "crate::http::extract::double")]
    #[schema(max_length = 254, pattern = r"(^\s*$)|@")]
    email: Option<Option<String>>,
}

/// Rename an identity or change its e-mail
#[utoipa::path(
    patch,
    path = "/identities/{id}",
    tag = "identities",
    operation_id = "update_identity",
    params(("id" = i64, Path, description = "Identity id")),
    request_body = IdentityPatch,
    responses((status = OK, body = IdentityView), Errors<(code::NotFound, code::ValidationFailed)>)
)]
async fn update_identity(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Json(input): Json<IdentityPatch>,
) -> Result<Json<IdentityView>> {
    let identity = users::update_identity(
        &state,
        &(&admin).into(),
        id,
        input.display_name,
        input.email,
    )
    .await?;
    Ok(Json(identity.into()))
}

/// A user to add to an identity.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LinkInput {
    /// User id; the user leaves its current identity (removed when left without accounts).
    user_id: i64,
}

/// Link a user to an identity
#[utoipa::path(
    post,
    path = "/identities/{id}/users",
    tag = "identities",
    operation_id = "link_identity_user",
    params(("id" = i64, Path, description = "Identity id")),
    request_body = LinkInput,
    responses((status = OK, body = IdentityView), Errors<code::NotFound>)
)]
async fn link(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Json(input): Json<LinkInput>,
) -> Result<Json<IdentityView>> {
    let identity = users::link(&state, &(&admin).into(), id, input.user_id).await?;
    Ok(Json(identity.into()))
}

/// Unlink a user from an identity
///
/// The user stays and belongs to no identity; an identity left without accounts is removed.
#[utoipa::path(
    delete,
    path = "/identities/{id}/users/{user}",
    tag = "identities",
    operation_id = "unlink_identity_user",
    params(("id" = i64, Path, description = "Identity id"), ("user" = i64, Path, description = "User id")),
    responses((status = NO_CONTENT, description = "Unlinked"), Errors<code::NotFound>)
)]
async fn unlink(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, user_id)): Path<(i64, i64)>,
) -> Result<StatusCode> {
    users::unlink(&state, &(&admin).into(), id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn expiry_schema() -> utoipa::openapi::Object {
    crate::http::openapi::string_enum(&["expired", "expiring", "never", "current"])
}

fn sort_schema() -> utoipa::openapi::Object {
    crate::http::openapi::string_enum(&["username", "created_at", "expires_at", "server"])
}

fn permissions_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Object)
        .min_properties(Some(1))
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(true),
        ))
        .build()
}

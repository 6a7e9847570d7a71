//! Users (accounts on servers) and identities (people): list across servers, detail, enable and
//! disable where the connector can, delete (remote first, then local), libraries, permissions,
//! password, expiry; identities: rename, link, unlink.
//!
//! Remote changes happen first; the local row changes only when the server accepted them, so the
//! two never disagree after an error.

use crate::auth::Admin;
use crate::db::{
    self,
    audit::Outcome,
    users::{Filter, User},
};
use crate::error::{Error, ErrorCode, FieldError, Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path, Query};
use crate::http::openapi::{ConnectorCall, Errors};
use crate::http::pagination::{PageQuery, Paginated};
use crate::plugins::{
    Capability, DeleteOptions, LibraryAccess, Manifest, PermissionValue, SecretString,
    ServerContext, Value, ValueKind,
};
use crate::servers;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as JsonValue, json};
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
    /// `expired`, `expiring` (within 7 days) or `never`.
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
    let mut fields = Vec::new();
    if q.expiry
        .as_deref()
        .is_some_and(|e| !["expired", "expiring", "never"].contains(&e))
    {
        fields.push(FieldError::new(
            "expiry",
            "must be expired, expiring or never",
        ));
    }
    let sort = match q.sort.as_deref().unwrap_or("username") {
        "username" => "u.username COLLATE NOCASE",
        "created_at" => "u.created_at",
        "expires_at" => "coalesce(u.expires_at, '9999')",
        "server" => "s.name COLLATE NOCASE",
        _ => {
            fields.push(FieldError::new(
                "sort",
                "must be username, created_at, expires_at or server",
            ));
            "u.id"
        }
    };
    let descending = match q.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => {
            fields.push(FieldError::new("order", "must be asc or desc"));
            false
        }
    };
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    let search = q
        .search
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.chars().take(100).collect());
    let filter = Filter {
        server_id: q.server_id,
        invitation_id: q.invitation_id,
        enabled: q.enabled,
        expiry: q.expiry,
        vanished: q.vanished,
        search,
    };
    let (items, total) = state
        .db()
        .run(move |c| {
            Ok(db::users::list(
                c,
                &filter,
                sort,
                descending,
                page.limit(),
                page.offset(),
            )?)
        })
        .await?;
    Ok(Json(Paginated::new(items, total, page)))
}

async fn load(state: &AppState, id: i64) -> Result<User> {
    state
        .db()
        .run(move |c| Ok(db::users::get(c, id)?))
        .await?
        .ok_or_else(|| Error::not_found("user"))
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

fn actions(manifest: Option<&Manifest>) -> Vec<&'static str> {
    let Some(m) = manifest else { return Vec::new() };
    [
        (Capability::SetEnabled, "enable_disable"),
        (Capability::DeleteUser, "delete"),
        (Capability::LibraryAccess, "libraries"),
        (Capability::Permissions, "permissions"),
        (Capability::SetPassword, "password"),
    ]
    .into_iter()
    .filter_map(|(cap, name)| m.supports(cap).then_some(name))
    .collect()
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
    let user = load(&state, id).await?;
    let (identity_id, invitation_id) = (user.identity_id, user.invitation_id);
    let (identity, invitation) = state
        .db()
        .run(move |c| {
            let identity = match identity_id {
                Some(i) => db::users::identity(c, i)?
                    .map(|identity| {
                        Ok::<_, Error>(IdentityView {
                            users: db::users::of_identity(c, i)?,
                            identity,
                        })
                    })
                    .transpose()?,
                None => None,
            };
            let invitation = match invitation_id {
                Some(i) => db::invitations::get(c, i)?.map(|inv| InvitationRef {
                    id: inv.id,
                    code: inv.code,
                }),
                None => None,
            };
            Ok((identity, invitation))
        })
        .await?;
    let manifest = state.plugins().manifest(&user.server_kind);
    Ok(Json(UserDetail {
        actions: actions(manifest.as_ref()),
        user,
        identity,
        invitation,
    }))
}

/// The connector manifest and call context of a user's server, checking the capability.
async fn remote(
    state: &AppState,
    user: &User,
    cap: Capability,
) -> Result<(Manifest, ServerContext)> {
    let manifest = state
        .plugins()
        .manifest(&user.server_kind)
        .ok_or_else(|| servers::connector_missing(&user.server_kind))?;
    if !manifest.supports(cap) {
        return Err(Error::new(
            ErrorCode::Unsupported,
            format!("{} servers do not support this", manifest.name),
        ));
    }
    let server_id = user.server_id;
    let row = state
        .db()
        .run(move |c| Ok(db::servers::get(c, server_id)?))
        .await?
        .ok_or_else(|| Error::not_found("server"))?;
    let ctx = servers::context_of(&state.security().crypto, &manifest, &row)?;
    Ok((manifest, ctx))
}

async fn audit(
    state: &AppState,
    admin: &Admin,
    action: &'static str,
    user: &User,
    detail: Option<JsonValue>,
) -> Result<()> {
    admin
        .audit(
            state.db(),
            action,
            Some(format!("user:{}", user.id)),
            Outcome::Success,
            detail,
        )
        .await
}

async fn set_enabled(state: AppState, admin: Admin, id: i64, enabled: bool) -> Result<Json<User>> {
    let user = load(&state, id).await?;
    let (_, ctx) = remote(&state, &user, Capability::SetEnabled).await?;
    state
        .plugins()
        .set_enabled(&user.server_kind, &ctx, &user.external_id, enabled)
        .await?;
    state
        .db()
        .write(move |tx| Ok(db::users::set_enabled(tx, id, enabled)?))
        .await?;
    audit(
        &state,
        &admin,
        if enabled {
            "user.enable"
        } else {
            "user.disable"
        },
        &user,
        None,
    )
    .await?;
    Ok(Json(load(&state, id).await?))
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
    set_enabled(state, admin, id, true).await
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
    set_enabled(state, admin, id, false).await
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
    let user = load(&state, id).await?;
    if q.keep_remote == Some(true) {
        let (server_id, external_id, username, actor) = (
            user.server_id,
            user.external_id.clone(),
            user.username.clone(),
            admin.actor(),
        );
        state
            .db()
            .write(move |tx| {
                db::jobs::exclude(tx, server_id, &external_id, &username, &actor)?;
                Ok(db::users::delete(tx, id)?)
            })
            .await?;
        audit(
            &state,
            &admin,
            "user.forget",
            &user,
            Some(
                json!({ "username": user.username, "server": user.server_name, "excluded": true }),
            ),
        )
        .await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let (_, ctx) = remote(&state, &user, Capability::DeleteUser).await?;
    let options = DeleteOptions {
        remove_account: q.remove_account.unwrap_or(false),
    };
    // Already gone remotely counts as removed: removing the local row is what the admin wants.
    state
        .plugins()
        .remove_user(&user.server_kind, &ctx, &user.external_id, options)
        .await?;
    state
        .db()
        .write(move |tx| Ok(db::users::delete(tx, id)?))
        .await?;
    audit(
        &state,
        &admin,
        "user.delete",
        &user,
        Some(json!({ "username": user.username, "server": user.server_name })),
    )
    .await?;
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
    let user = load(&state, id).await?;
    let (_, ctx) = remote(&state, &user, Capability::LibraryAccess).await?;
    let server_id = user.server_id;
    let libs = state
        .db()
        .run(move |c| Ok(db::servers::libraries(c, server_id)?))
        .await?;
    let access = match &input.libraries {
        None => LibraryAccess::All,
        Some(ids) => {
            // A library the server no longer lists (marked missing) cannot be granted either.
            let unknown: Vec<String> = ids
                .iter()
                .filter(|i| !libs.iter().any(|l| l.id == **i && !l.is_missing()))
                .map(|i| i.to_string())
                .collect();
            if !unknown.is_empty() || ids.is_empty() {
                return Err(Error::invalid(vec![FieldError::new(
                    "libraries",
                    if ids.is_empty() {
                        "give at least one library, or null for all".to_owned()
                    } else {
                        format!(
                            "not libraries of this server (or no longer on it): {}",
                            unknown.join(", ")
                        )
                    },
                )]));
            }
            LibraryAccess::Only(
                libs.iter()
                    .filter(|l| ids.contains(&l.id))
                    .map(|l| l.external_id.clone())
                    .collect(),
            )
        }
    };
    state
        .plugins()
        .set_library_access(&user.server_kind, &ctx, &user.external_id, &access)
        .await?;
    audit(
        &state,
        &admin,
        "user.libraries",
        &user,
        Some(json!({ "libraries": input.libraries })),
    )
    .await?;
    Ok(Json(user))
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
    let user = load(&state, id).await?;
    let (manifest, ctx) = remote(&state, &user, Capability::Permissions).await?;
    let mut fields = Vec::new();
    let mut values = Vec::new();
    for (key, v) in &input.permissions {
        let Some(def) = manifest.permissions.iter().find(|p| &p.key == key) else {
            fields.push(FieldError::new(
                format!("permissions.{key}"),
                format!("is not a permission of {} servers", manifest.name),
            ));
            continue;
        };
        let value = match def.kind {
            ValueKind::Flag => v.as_bool().map(Value::Flag),
            ValueKind::Number => v.as_i64().map(Value::Number),
            _ => v.as_str().map(|s| Value::Text(s.to_owned())),
        };
        match value {
            Some(value) => values.push(PermissionValue {
                key: key.clone(),
                value,
            }),
            None => fields.push(FieldError::new(
                format!("permissions.{key}"),
                "has the wrong type",
            )),
        }
    }
    if values.is_empty() && fields.is_empty() {
        fields.push(FieldError::new(
            "permissions",
            "give at least one permission",
        ));
    }
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    state
        .plugins()
        .set_permissions(&user.server_kind, &ctx, &user.external_id, &values)
        .await?;
    audit(
        &state,
        &admin,
        "user.permissions",
        &user,
        Some(json!({ "permissions": input.permissions })),
    )
    .await?;
    Ok(Json(user))
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
    if !(8..=256).contains(&input.password.chars().count()) {
        return Err(Error::invalid(vec![FieldError::new(
            "password",
            "must be 8 to 256 characters",
        )]));
    }
    let user = load(&state, id).await?;
    let (_, ctx) = remote(&state, &user, Capability::SetPassword).await?;
    let password = SecretString::new(input.password);
    state
        .plugins()
        .set_password(&user.server_kind, &ctx, &user.external_id, &password)
        .await?;
    audit(&state, &admin, "user.password", &user, None).await?;
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
    let user = load(&state, id).await?;
    if let Some(expiry) = input.expires_at {
        let parsed = match expiry.as_deref() {
            None => None,
            Some(text) => Some(db::time::parse(text).map(db::time::fmt).ok_or_else(|| {
                Error::invalid(vec![FieldError::new(
                    "expires_at",
                    "must be an RFC 3339 time or null",
                )])
            })?),
        };
        let stored = parsed.clone();
        state
            .db()
            .write(move |tx| Ok(db::users::set_expiry(tx, id, stored.as_deref())?))
            .await?;
        audit(
            &state,
            &admin,
            "user.expiry",
            &user,
            Some(json!({ "expires_at": parsed })),
        )
        .await?;
    }
    Ok(Json(load(&state, id).await?))
}

async fn load_identity(state: &AppState, id: i64) -> Result<IdentityView> {
    state
        .db()
        .run(move |c| {
            let identity =
                db::users::identity(c, id)?.ok_or_else(|| Error::not_found("identity"))?;
            Ok(IdentityView {
                users: db::users::of_identity(c, id)?,
                identity,
            })
        })
        .await
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
    Ok(Json(load_identity(&state, id).await?))
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
    let current = load_identity(&state, id).await?;
    let mut fields = Vec::new();
    let name = input
        .display_name
        .map(|n| n.trim().to_owned())
        .unwrap_or(current.identity.display_name);
    if name.is_empty() || name.chars().count() > 100 {
        fields.push(FieldError::new(
            "display_name",
            "must be 1 to 100 characters",
        ));
    }
    let email = match input.email {
        Some(e) => e.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()),
        None => current.identity.email,
    };
    if email
        .as_ref()
        .is_some_and(|e| !e.contains('@') || e.chars().count() > 254)
    {
        fields.push(FieldError::new("email", "is not a valid e-mail address"));
    }
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    state
        .db()
        .write(move |tx| Ok(db::users::update_identity(tx, id, &name, email.as_deref())?))
        .await?;
    admin
        .audit(
            state.db(),
            "identity.update",
            Some(format!("identity:{id}")),
            Outcome::Success,
            None,
        )
        .await?;
    Ok(Json(load_identity(&state, id).await?))
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
    load_identity(&state, id).await?;
    let user = load(&state, input.user_id).await?;
    state
        .db()
        .write(move |tx| Ok(db::users::set_identity(tx, user.id, Some(id))?))
        .await?;
    admin
        .audit(
            state.db(),
            "identity.link",
            Some(format!("identity:{id}")),
            Outcome::Success,
            Some(json!({ "user": input.user_id })),
        )
        .await?;
    Ok(Json(load_identity(&state, id).await?))
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
    let user = load(&state, user_id).await?;
    if user.identity_id != Some(id) {
        return Err(Error::not_found("user in this identity"));
    }
    state
        .db()
        .write(move |tx| Ok(db::users::set_identity(tx, user_id, None)?))
        .await?;
    admin
        .audit(
            state.db(),
            "identity.unlink",
            Some(format!("identity:{id}")),
            Outcome::Success,
            Some(json!({ "user": user_id })),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn expiry_schema() -> utoipa::openapi::Object {
    crate::http::openapi::string_enum(&["expired", "expiring", "never"])
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

//! Users (accounts on servers) and identities (people) as rules: validation of the list query,
//! of expiry, library, permission and password changes and of identity edits, and the
//! orchestration of enable/disable, delete, library/permission/password changes on the server
//! and in Zondarr, with their audit events.
//!
//! Remote changes happen first; the local row changes only when the server accepted them, so the
//! two never disagree after an error. Both skins call these functions: the JSON API
//! (`http::users`) and the admin pages. Nothing here knows axum, JSON bodies or HTML.

use crate::auth::Actor;
use crate::db::{
    self,
    users::{Filter, Identity, User},
};
use crate::error::{Error, ErrorCode, FieldError, Result};
use crate::plugins::{
    Capability, DeleteOptions, LibraryAccess, Manifest, PermissionValue, SecretString,
    ServerContext, Value, ValueKind,
};
use crate::servers;
use crate::state::AppState;
use serde_json::{Map, Value as JsonValue, json};

/// Filters and sort of the user list, as given (validated by [`ListQuery::check`]).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only accounts on this server.
    pub server_id: Option<i64>,
    /// Only accounts created with this invitation.
    pub invitation_id: Option<i64>,
    /// Only enabled or disabled accounts.
    pub enabled: Option<bool>,
    /// `expired`, `expiring` (within 7 days), `never` or `current` (not expired).
    pub expiry: Option<String>,
    /// Only vanished (or only present) accounts.
    pub vanished: Option<bool>,
    /// Part of the username or e-mail.
    pub search: Option<String>,
    /// `username` (default), `created_at`, `expires_at` or `server`.
    pub sort: Option<String>,
    /// `asc` (default) or `desc`.
    pub order: Option<String>,
}

/// A validated user list query.
#[derive(Debug, Clone)]
pub struct ListSpec {
    filter: Filter,
    sort: &'static str,
    descending: bool,
}

impl ListQuery {
    /// Validate: unknown expiry, sort or order are field errors; the search is cut to 100
    /// characters and ignored when blank.
    pub fn check(self) -> Result<ListSpec> {
        let mut fields = Vec::new();
        if self
            .expiry
            .as_deref()
            .is_some_and(|e| !["expired", "expiring", "never", "current"].contains(&e))
        {
            fields.push(FieldError::new(
                "expiry",
                "must be expired, expiring, never or current",
            ));
        }
        let sort = match self.sort.as_deref().unwrap_or("username") {
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
        let descending = match self.order.as_deref() {
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
        let search = self
            .search
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.chars().take(100).collect());
        Ok(ListSpec {
            filter: Filter {
                server_id: self.server_id,
                invitation_id: self.invitation_id,
                enabled: self.enabled,
                expiry: self.expiry,
                vanished: self.vanished,
                search,
            },
            sort,
            descending,
        })
    }
}

/// One page of users and the total matching.
pub async fn list(
    state: &AppState,
    spec: ListSpec,
    limit: i64,
    offset: i64,
) -> Result<(Vec<User>, i64)> {
    // `select`, not `run`: a list only reads, so it leaves the join page's cache alone.
    state
        .db()
        .select(move |c| {
            Ok(db::users::list(
                c,
                &spec.filter,
                spec.sort,
                spec.descending,
                limit,
                offset,
            )?)
        })
        .await
}

/// A user by id.
pub async fn get(state: &AppState, id: i64) -> Result<User> {
    state
        .db()
        .run(move |c| Ok(db::users::get(c, id)?))
        .await?
        .ok_or_else(|| Error::not_found("user"))
}

/// An identity with all its accounts.
#[derive(Debug, Clone)]
pub struct IdentityDetail {
    /// The person.
    pub identity: Identity,
    /// Their accounts on the servers.
    pub users: Vec<User>,
}

/// A user with its identity, the invitation it came from and what can be done with it.
#[derive(Debug, Clone)]
pub struct Detail {
    /// The account.
    pub user: User,
    /// The person, with all their accounts.
    pub identity: Option<IdentityDetail>,
    /// Id and code of the invitation that created the account.
    pub invitation: Option<(i64, String)>,
    /// Actions the server's connector supports: `enable_disable`, `delete`, `libraries`,
    /// `permissions`, `password`.
    pub actions: Vec<&'static str>,
}

/// The actions a connector supports for its accounts.
pub fn actions(manifest: Option<&Manifest>) -> Vec<&'static str> {
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

fn identity_of(c: &rusqlite::Connection, id: i64) -> Result<Option<IdentityDetail>> {
    db::users::identity(c, id)?
        .map(|identity| {
            Ok(IdentityDetail {
                users: db::users::of_identity(c, id)?,
                identity,
            })
        })
        .transpose()
}

/// A user with its identity, invitation and actions.
pub async fn detail(state: &AppState, id: i64) -> Result<Detail> {
    let user = get(state, id).await?;
    let (identity_id, invitation_id) = (user.identity_id, user.invitation_id);
    let (identity, invitation) = state
        .db()
        .run(move |c| {
            let identity = match identity_id {
                Some(i) => identity_of(c, i)?,
                None => None,
            };
            let invitation = match invitation_id {
                Some(i) => db::invitations::get(c, i)?.map(|inv| (inv.id, inv.code)),
                None => None,
            };
            Ok((identity, invitation))
        })
        .await?;
    let manifest = state.plugins().manifest(&user.server_kind);
    Ok(Detail {
        actions: actions(manifest.as_ref()),
        user,
        identity,
        invitation,
    })
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

/// Record a change that happened only on the server.
async fn audit(
    state: &AppState,
    actor: &Actor,
    action: &'static str,
    user_id: i64,
    detail: Option<JsonValue>,
) -> Result<()> {
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| Ok(actor.audit(tx, action, Some(&format!("user:{user_id}")), detail)?))
        .await
}

/// Enable or disable an account: on the server first, then in Zondarr.
pub async fn set_enabled(state: &AppState, actor: &Actor, id: i64, enabled: bool) -> Result<User> {
    let user = get(state, id).await?;
    let (_, ctx) = remote(state, &user, Capability::SetEnabled).await?;
    state
        .plugins()
        .set_enabled(&user.server_kind, &ctx, &user.external_id, enabled)
        .await?;
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            db::users::set_enabled(tx, id, enabled)?;
            let action = if enabled {
                "user.enable"
            } else {
                "user.disable"
            };
            Ok(actor.audit(tx, action, Some(&format!("user:{id}")), None)?)
        })
        .await?;
    get(state, id).await
}

/// How a user is deleted.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeleteMode {
    /// For sharing servers: also remove the friend / home user.
    pub remove_account: bool,
    /// Remove the Zondarr record only and exclude the account from user sync.
    pub keep_remote: bool,
}

/// Delete a user: on the server first (an account already gone there is fine), then in
/// Zondarr; with `keep_remote` only the Zondarr record goes and the account is excluded from
/// user sync.
pub async fn delete(state: &AppState, actor: &Actor, id: i64, mode: DeleteMode) -> Result<()> {
    let user = get(state, id).await?;
    let actor = actor.clone();
    if mode.keep_remote {
        return state
            .db()
            .write(move |tx| {
                db::jobs::exclude(
                    tx,
                    user.server_id,
                    &user.external_id,
                    &user.username,
                    &actor.name,
                )?;
                db::users::delete(tx, id)?;
                Ok(actor.audit(
                    tx,
                    "user.forget",
                    Some(&format!("user:{id}")),
                    Some(json!({ "username": user.username, "server": user.server_name, "excluded": true })),
                )?)
            })
            .await;
    }
    let (_, ctx) = remote(state, &user, Capability::DeleteUser).await?;
    let options = DeleteOptions {
        remove_account: mode.remove_account,
    };
    // Already gone remotely counts as removed: removing the local row is what the admin wants.
    state
        .plugins()
        .remove_user(&user.server_kind, &ctx, &user.external_id, options)
        .await?;
    state
        .db()
        .write(move |tx| {
            db::users::delete(tx, id)?;
            Ok(actor.audit(
                tx,
                "user.delete",
                Some(&format!("user:{id}")),
                Some(json!({ "username": user.username, "server": user.server_name })),
            )?)
        })
        .await
}

/// Set the libraries an account may see (`None`: all) on its server.
pub async fn set_libraries(
    state: &AppState,
    actor: &Actor,
    id: i64,
    libraries: Option<Vec<i64>>,
) -> Result<User> {
    let user = get(state, id).await?;
    let (_, ctx) = remote(state, &user, Capability::LibraryAccess).await?;
    let server_id = user.server_id;
    let libs = state
        .db()
        .run(move |c| Ok(db::servers::libraries(c, server_id)?))
        .await?;
    let access = match &libraries {
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
        state,
        actor,
        "user.libraries",
        id,
        Some(json!({ "libraries": libraries })),
    )
    .await?;
    Ok(user)
}

/// Permission values by key, typed by the connector's declarations; unknown keys, wrong types
/// and an empty set are field errors.
fn permission_values(
    manifest: &Manifest,
    permissions: &Map<String, JsonValue>,
) -> Result<Vec<PermissionValue>> {
    let mut fields = Vec::new();
    let mut values = Vec::new();
    for (key, v) in permissions {
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
    Ok(values)
}

/// Apply permission values to an account on its server.
pub async fn set_permissions(
    state: &AppState,
    actor: &Actor,
    id: i64,
    permissions: Map<String, JsonValue>,
) -> Result<User> {
    let user = get(state, id).await?;
    let (manifest, ctx) = remote(state, &user, Capability::Permissions).await?;
    let values = permission_values(&manifest, &permissions)?;
    state
        .plugins()
        .set_permissions(&user.server_kind, &ctx, &user.external_id, &values)
        .await?;
    audit(
        state,
        actor,
        "user.permissions",
        id,
        Some(json!({ "permissions": permissions })),
    )
    .await?;
    Ok(user)
}

/// Set an account's password on its server (8 to 256 characters).
pub async fn set_password(
    state: &AppState,
    actor: &Actor,
    id: i64,
    password: String,
) -> Result<()> {
    if !(8..=256).contains(&password.chars().count()) {
        return Err(Error::invalid(vec![FieldError::new(
            "password",
            "must be 8 to 256 characters",
        )]));
    }
    let user = get(state, id).await?;
    let (_, ctx) = remote(state, &user, Capability::SetPassword).await?;
    let password = SecretString::new(password);
    state
        .plugins()
        .set_password(&user.server_kind, &ctx, &user.external_id, &password)
        .await?;
    audit(state, actor, "user.password", id, None).await
}

/// Change (`Some`) or clear (`None`) an account's expiry, an RFC 3339 time.
pub async fn set_expiry(
    state: &AppState,
    actor: &Actor,
    id: i64,
    expires_at: Option<String>,
) -> Result<User> {
    get(state, id).await?;
    let parsed = match expires_at.as_deref() {
        None => None,
        Some(text) => Some(db::time::parse(text).map(db::time::fmt).ok_or_else(|| {
            Error::invalid(vec![FieldError::new(
                "expires_at",
                "must be an RFC 3339 time or null",
            )])
        })?),
    };
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            db::users::set_expiry(tx, id, parsed.as_deref())?;
            Ok(actor.audit(
                tx,
                "user.expiry",
                Some(&format!("user:{id}")),
                Some(json!({ "expires_at": parsed })),
            )?)
        })
        .await?;
    get(state, id).await
}

/// An identity with its accounts.
pub async fn identity(state: &AppState, id: i64) -> Result<IdentityDetail> {
    state
        .db()
        .run(move |c| identity_of(c, id)?.ok_or_else(|| Error::not_found("identity")))
        .await
}

/// Rename an identity (1 to 100 characters) or change its e-mail (`Some(None)` or blank
/// clears it); absent fields keep their value.
pub async fn update_identity(
    state: &AppState,
    actor: &Actor,
    id: i64,
    display_name: Option<String>,
    email: Option<Option<String>>,
) -> Result<IdentityDetail> {
    let current = identity(state, id).await?;
    let mut fields = Vec::new();
    let name = display_name
        .map(|n| n.trim().to_owned())
        .unwrap_or(current.identity.display_name);
    if name.is_empty() || name.chars().count() > 100 {
        fields.push(FieldError::new(
            "display_name",
            "must be 1 to 100 characters",
        ));
    }
    let email = match email {
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
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            db::users::update_identity(tx, id, &name, email.as_deref())?;
            Ok(actor.audit(tx, "identity.update", Some(&format!("identity:{id}")), None)?)
        })
        .await?;
    identity(state, id).await
}

/// Move a user into an identity; it leaves its current one (removed when left without
/// accounts).
pub async fn link(
    state: &AppState,
    actor: &Actor,
    id: i64,
    user_id: i64,
) -> Result<IdentityDetail> {
    identity(state, id).await?;
    get(state, user_id).await?;
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            db::users::set_identity(tx, user_id, Some(id))?;
            Ok(actor.audit(
                tx,
                "identity.link",
                Some(&format!("identity:{id}")),
                Some(json!({ "user": user_id })),
            )?)
        })
        .await?;
    identity(state, id).await
}

/// Take a user out of an identity; an identity left without accounts is removed.
pub async fn unlink(state: &AppState, actor: &Actor, id: i64, user_id: i64) -> Result<()> {
    let user = get(state, user_id).await?;
    if user.identity_id != Some(id) {
        return Err(Error::not_found("user in this identity"));
    }
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            db::users::set_identity(tx, user_id, None)?;
            Ok(actor.audit(
                tx,
                "identity.unlink",
                Some(&format!("identity:{id}")),
                Some(json!({ "user": user_id })),
            )?)
        })
        .await
}

/// Extend an account's access by `days` (1 to 3650): from its current expiry, or from now when
/// it has none or it has passed.
pub async fn extend_expiry(state: &AppState, actor: &Actor, id: i64, days: i64) -> Result<User> {
    if !(1..=3650).contains(&days) {
        return Err(Error::invalid(vec![FieldError::new(
            "days",
            "must be 1 to 3650",
        )]));
    }
    let user = get(state, id).await?;
    let now = chrono::Utc::now();
    let from = user
        .expires_at
        .as_deref()
        .and_then(db::time::parse)
        .filter(|at| *at > now)
        .unwrap_or(now);
    let until = db::time::fmt(from + chrono::Duration::days(days));
    set_expiry(state, actor, id, Some(until)).await
}

/// Put account `other` into the identity of account `id` (it leaves its own); when `id` has no
/// identity yet, one is made for it first, named after it.
pub async fn link_accounts(
    state: &AppState,
    actor: &Actor,
    id: i64,
    other: i64,
) -> Result<IdentityDetail> {
    let user = get(state, id).await?;
    get(state, other).await?;
    if id == other {
        return Err(Error::invalid(vec![FieldError::new(
            "user_id",
            "is this account itself",
        )]));
    }
    let identity = match user.identity_id {
        Some(i) => i,
        None => {
            let actor = actor.clone();
            state
                .db()
                .write(move |tx| {
                    let i = db::users::create_identity(tx, &user.username, user.email.as_deref())?;
                    db::users::set_identity(tx, id, Some(i))?;
                    actor.audit(
                        tx,
                        "identity.link",
                        Some(&format!("identity:{i}")),
                        Some(json!({ "user": id })),
                    )?;
                    Ok(i)
                })
                .await?
        }
    };
    link(state, actor, identity, other).await
}

/// The latest audit events about an account and its identity (50).
pub async fn audit_trail(state: &AppState, user: &User) -> Result<Vec<db::audit::Event>> {
    let (id, identity) = (user.id, user.identity_id);
    state
        .db()
        .run(move |c| Ok(db::users::audit_trail(c, id, identity, 50)?))
        .await
}

/// Accounts named `name` exactly (case-insensitive), on any server.
pub async fn by_username(state: &AppState, name: String) -> Result<Vec<User>> {
    state
        .db()
        .run(move |c| Ok(db::users::by_username(c, &name)?))
        .await
}

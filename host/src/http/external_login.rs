//! Optional admin sign-in through a media server, off unless the admin enables it per server
//! (`admin_login` on the server): a Jellyfin administrator with their Jellyfin password (the
//! connector's `authenticate`), or the Plex server owner through the PIN flow (the linked
//! account must be the account the connector lists as the server's administrator).
//!
//! A successful sign-in maps to a local admin record (`<name>@server<id>`, no usable password),
//! so sessions, TOTP, the audit log and revocation work exactly as for local admins. The same
//! rate limits, lockout and single generic error as the password sign-in apply.

use crate::auth::{ClientIp, audit_anonymous, check_locked, record_failure};
use crate::crypto::random_token;
use crate::db::{self, audit::Outcome};
use crate::error::{Error, ErrorCode, Result, code};
use crate::http::Routes;
use crate::http::auth::{
    LoginResponse, check_login_origin, complete_sign_in, invalid_credentials, rate_limited,
};
use crate::http::extract::{Json, Path};
use crate::http::openapi::Errors;
use crate::http::servers::admin_login_method;
use crate::plugins::{CallError, LinkStatus, ServerContext};
use crate::servers;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::{Duration, Instant};
use utoipa::ToSchema;
use utoipa_axum::routes;

/// Public routes of the external sign-in.
pub fn public_routes() -> Routes {
    vec![
        routes!(sign_in_servers),
        routes!(sign_in_with_password),
        routes!(start_sign_in_link),
        routes!(poll_sign_in_link),
    ]
}

/// A server admins may sign in through.
#[derive(Serialize, ToSchema)]
struct SignInServer {
    /// Server id.
    id: i64,
    /// Display name.
    name: String,
    /// Connector id.
    kind: String,
    /// `password` (username and password of the server) or `oauth` (its account link).
    method: &'static str,
}

/// Servers admins may sign in through
#[utoipa::path(
    get,
    path = "/auth/servers",
    tag = "auth",
    operation_id = "list_sign_in_servers",
    responses((status = OK, body = Vec<SignInServer>))
)]
async fn sign_in_servers(State(state): State<AppState>) -> Result<Json<Vec<SignInServer>>> {
    let rows = state.db().run(|c| Ok(db::servers::list(c)?)).await?;
    Ok(Json(
        rows.into_iter()
            .filter(|r| r.admin_login && r.enabled)
            .filter_map(|r| {
                let method = admin_login_method(&state.plugins().manifest(&r.kind)?)?;
                Some(SignInServer {
                    id: r.id,
                    name: r.name,
                    kind: r.kind,
                    method,
                })
            })
            .collect(),
    ))
}

/// The server (enabled, admin sign-in on, connector loaded with `method`) and its context.
async fn sign_in_server(
    state: &AppState,
    id: i64,
    method: &str,
) -> Result<(db::servers::ServerRow, ServerContext)> {
    let not_offered = || Error::new(ErrorCode::NotFound, "no such sign-in method");
    let row = state
        .db()
        .run(move |c| Ok(db::servers::get(c, id)?))
        .await?
        .filter(|r| r.admin_login && r.enabled)
        .ok_or_else(not_offered)?;
    let manifest = state
        .plugins()
        .manifest(&row.kind)
        .ok_or_else(not_offered)?;
    if admin_login_method(&manifest) != Some(method) {
        return Err(not_offered());
    }
    let ctx = servers::context_of(&state.security().crypto, &manifest, &row)?;
    Ok((row, ctx))
}

/// Sign in as the admin behind `external_id` on server `row`.
async fn sign_in(
    state: &AppState,
    row: &db::servers::ServerRow,
    external_id: String,
    remote_name: String,
    ip: Option<String>,
    headers: &HeaderMap,
    method: &'static str,
) -> Result<Response> {
    let server_id = row.id;
    let admin = state
        .db()
        .write(move |tx| {
            Ok(db::auth::external_admin(
                tx,
                server_id,
                &external_id,
                &remote_name,
            )?)
        })
        .await?;
    complete_sign_in(state, admin, ip, headers, method).await
}

/// Username and password of an administrator of the server.
#[derive(Deserialize, ToSchema)]
struct PasswordSignIn {
    /// Username on the media server.
    username: String,
    /// Password on the media server.
    password: String,
}

/// Sign in with a media server's administrator account
///
/// For servers whose connector can check passwords (e.g. Jellyfin). The account must administer
/// the server. Wrong credentials and non-admin accounts get the same answer.
#[utoipa::path(
    post,
    path = "/auth/login/server/{id}",
    tag = "auth",
    operation_id = "login_with_server",
    params(("id" = i64, Path, description = "Server id")),
    request_body = PasswordSignIn,
    responses(
        (status = OK, description = "Signed in, or a second factor is required", body = LoginResponse,
            headers(("set-cookie" = String, description = "The session cookie, when signed in"))),
        Errors<(code::NotFound, code::CsrfFailed, code::InvalidCredentials, code::AccountLocked, code::RateLimited)>,
    )
)]
async fn sign_in_with_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(req): Json<PasswordSignIn>,
) -> Result<Response> {
    check_login_origin(&state, &headers)?;
    let security = state.security();
    security
        .login_ip
        .check(ip.as_deref().unwrap_or("unknown"))
        .map_err(rate_limited)?;
    let username = req.username.trim().to_owned();
    if username.is_empty()
        || username.len() > 128
        || req.password.is_empty()
        || req.password.len() > 1024
    {
        return Err(invalid_credentials());
    }
    // Per account and address, like the password sign-in (see `auth::lock_key`).
    let key = crate::auth::lock_key(&format!("server{id}:{username}"), ip.as_deref());
    security.login_account.check(&key).map_err(rate_limited)?;
    let lookup = key.clone();
    let failures = state
        .db()
        .run(move |c| Ok(db::auth::failures(c, &lookup)?))
        .await?;
    check_locked(&failures)?;
    let (row, ctx) = sign_in_server(&state, id, "password").await?;

    let password = crate::plugins::SecretString::new(req.password);
    let result = state
        .plugins()
        .authenticate(&row.kind, &ctx, &username, &password)
        .await;
    let account = match result {
        Ok(a) if a.admin => Some(a),
        Ok(_) | Err(CallError::Connector { .. }) => None,
        Err(other) => return Err(other.into()),
    };
    let Some(account) = account else {
        let cfg = security.config();
        let name = key.clone();
        let locked = state
            .db()
            .write(move |tx| {
                let mut f = db::auth::failures(tx, &name)?;
                let locked = record_failure(&cfg, &mut f);
                db::auth::save_failures(tx, &name, &f)?;
                Ok(locked)
            })
            .await?;
        audit_anonymous(
            state.db(),
            format!("anonymous:{username}"),
            ip,
            "auth.login",
            Some(format!("server:{id}")),
            Outcome::Failure,
            Some(json!({ "method": "server_password", "locked": locked })),
        )
        .await?;
        return Err(invalid_credentials());
    };
    state
        .db()
        .write(move |tx| Ok(db::auth::clear_failures(tx, &key)?))
        .await?;
    sign_in(
        &state,
        &row,
        account.user_id,
        account.username,
        ip,
        &headers,
        "server_password",
    )
    .await
}

/// A started account link for admin sign-in.
#[derive(Serialize, ToSchema)]
struct SignInLink {
    /// Send it back to the poll endpoint.
    challenge: String,
    /// Code to show.
    code: String,
    /// Where to approve the sign-in.
    auth_url: String,
    /// Seconds until it expires.
    expires_in: u32,
}

/// Start signing in with the server owner's account
///
/// For servers whose connector links accounts (e.g. "Sign in with Plex"). Open `auth_url`, then
/// poll with the challenge.
#[utoipa::path(
    post,
    path = "/auth/login/server/{id}/oauth",
    tag = "auth",
    operation_id = "start_server_sign_in_link",
    params(("id" = i64, Path, description = "Server id")),
    responses(
        (status = CREATED, body = SignInLink),
        Errors<(code::NotFound, code::RateLimited, code::ServerUnavailable)>,
    )
)]
async fn start_sign_in_link(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<SignInLink>)> {
    state
        .security()
        .login_ip
        .check(ip.as_deref().unwrap_or("unknown"))
        .map_err(rate_limited)?;
    let (row, ctx) = sign_in_server(&state, id, "oauth").await?;
    let started = state
        .plugins()
        .start_link(&row.kind, &ctx)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "could not start an admin sign-in link");
            Error::new(
                ErrorCode::ServerUnavailable,
                "signing in through this server is not available right now",
            )
        })?;
    let challenge = random_token(24);
    let ttl = Duration::from_secs(u64::from(started.expires_in.clamp(60, 1800)));
    state
        .security()
        .remember_link(&challenge, id, started.pin_id, Instant::now() + ttl);
    Ok((
        StatusCode::CREATED,
        Json(SignInLink {
            challenge,
            code: started.code,
            auth_url: started.auth_url,
            expires_in: started.expires_in,
        }),
    ))
}

/// The challenge of a started sign-in link.
#[derive(Deserialize, ToSchema)]
struct PollRequest {
    /// From the start endpoint.
    challenge: String,
}

/// The link is not approved yet.
#[derive(Serialize, ToSchema)]
struct Pending {
    /// Always `pending`.
    status: &'static str,
}

/// Finish signing in with the server owner's account
///
/// Answers 202 while the link is not approved; once it is, signs in when the linked account is
/// the server's owner (or asks for the second factor), and refuses any other account.
#[utoipa::path(
    post,
    path = "/auth/login/server/{id}/oauth/poll",
    tag = "auth",
    operation_id = "poll_server_sign_in_link",
    params(("id" = i64, Path, description = "Server id")),
    request_body = PollRequest,
    responses(
        (status = OK, description = "Signed in, or a second factor is required", body = LoginResponse,
            headers(("set-cookie" = String, description = "The session cookie, when signed in"))),
        (status = ACCEPTED, description = "Not approved yet; poll again", body = Pending),
        Errors<(code::NotFound, code::CsrfFailed, code::InvalidCredentials, code::RateLimited, code::ServerUnavailable)>,
    )
)]
async fn poll_sign_in_link(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(req): Json<PollRequest>,
) -> Result<Response> {
    check_login_origin(&state, &headers)?;
    let expired = || {
        Error::new(
            ErrorCode::InvalidCredentials,
            "the sign-in expired or was refused; start again",
        )
    };
    let pin = state
        .security()
        .link(&req.challenge, id)
        .ok_or_else(expired)?;
    let (row, ctx) = sign_in_server(&state, id, "oauth").await?;
    let unavailable = |e: CallError| {
        tracing::warn!(error = %e, "admin sign-in link failed");
        Error::new(
            ErrorCode::ServerUnavailable,
            "signing in through this server is not available right now",
        )
    };
    let account = match state
        .plugins()
        .poll_link(&row.kind, &ctx, &pin)
        .await
        .map_err(unavailable)?
    {
        LinkStatus::Pending => {
            return Ok((StatusCode::ACCEPTED, Json(Pending { status: "pending" })).into_response());
        }
        LinkStatus::Expired => {
            state.security().forget_link(&req.challenge);
            return Err(expired());
        }
        LinkStatus::Linked(account) => account,
    };
    state.security().forget_link(&req.challenge);
    // Only the account the connector lists as the server's administrator may sign in.
    let users = state
        .plugins()
        .list_users(&row.kind, &ctx)
        .await
        .map_err(unavailable)?;
    if !users.iter().any(|u| u.admin && u.id == account.id) {
        audit_anonymous(
            state.db(),
            format!("anonymous:{}", account.username),
            ip,
            "auth.login",
            Some(format!("server:{id}")),
            Outcome::Failure,
            Some(json!({ "method": "server_link", "reason": "not the server's administrator" })),
        )
        .await?;
        return Err(invalid_credentials());
    }
    sign_in(
        &state,
        &row,
        account.id,
        account.username,
        ip,
        &headers,
        "server_link",
    )
    .await
}

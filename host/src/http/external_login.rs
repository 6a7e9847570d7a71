//! Optional admin sign-in through a media server, off unless the admin enables it per server
//! (`admin_login` on the server): a Jellyfin administrator with their Jellyfin password (the
//! connector's `authenticate`), or the Plex server owner through the PIN flow (the linked
//! account must be the account the connector lists as the server's administrator).
//!
//! A successful sign-in maps to a local admin record (`<name>@server<id>`, no usable password),
//! so sessions, TOTP, the audit log and revocation work exactly as for local admins. The same
//! rate limits, lockout and single generic error as the password sign-in apply. The rules are in
//! [`crate::auth::external`]; these handlers parse, call it and answer JSON.

use crate::auth::{ClientIp, external};
use crate::error::{Result, code};
use crate::http::Routes;
use crate::http::auth::{LoginResponse, check_login_origin, complete_sign_in};
use crate::http::extract::{Json, Path};
use crate::http::openapi::Errors;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
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
    Ok(Json(
        external::servers(&state)
            .await?
            .into_iter()
            .map(|s| SignInServer {
                id: s.id,
                name: s.name,
                kind: s.kind,
                method: s.method,
            })
            .collect(),
    ))
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
    let admin =
        external::password_sign_in(&state, ip.clone(), id, &req.username, req.password).await?;
    complete_sign_in(&state, admin, ip, &headers, "server_password").await
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
    let started = external::start_link(&state, ip, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(SignInLink {
            challenge: started.challenge,
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
    match external::poll_link(&state, ip.clone(), id, &req.challenge).await? {
        external::LinkPoll::Pending => {
            Ok((StatusCode::ACCEPTED, Json(Pending { status: "pending" })).into_response())
        }
        external::LinkPoll::Admin(admin) => {
            complete_sign_in(&state, admin, ip, &headers, "server_link").await
        }
    }
}

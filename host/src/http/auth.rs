//! First-run setup, sign-in (password, then TOTP or a backup code), sign-out, the current admin,
//! password change and TOTP management.
//!
//! Every credential check answers the same error for an unknown user and a wrong password, after
//! the same Argon2 work, and is rate limited per client address and per username with a growing
//! lockout. Nothing secret reaches a response, a log line or the audit log. The rules live in
//! [`crate::auth::sign_in`] and [`crate::auth::account`]; this module is the JSON skin (cookies,
//! the login origin check, the request and response shapes).

use crate::auth::sign_in::{
    RequestAddress, SignInStep, load_admin, password_sign_in, second_factor_sign_in, setup_admin,
    sign_in_step, sign_out,
};
use crate::auth::{Admin, ClientIp, account};
use crate::db;
use crate::error::{Error, ErrorCode, Result, code};
use crate::http::Routes;
use crate::http::extract::Json;
use crate::http::openapi::Errors;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header::{SET_COOKIE, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

/// Routes that work without a session (setup, sign-in).
pub fn public_routes() -> Routes {
    vec![
        routes!(setup_status, setup),
        routes!(login),
        routes!(login_totp),
    ]
}

/// Routes for a signed-in admin.
pub fn admin_routes() -> Routes {
    vec![
        routes!(logout),
        routes!(me),
        routes!(change_password),
        routes!(totp_setup),
        routes!(totp_confirm),
        routes!(totp_disable),
        routes!(totp_backup_codes),
    ]
}

/// Whether first-run setup is still to be done.
#[derive(Serialize, ToSchema)]
struct SetupStatus {
    /// `true` until `POST /api/v1/setup` succeeded.
    setup_required: bool,
}

/// Whether setup is required
///
/// A fresh daemon has no admin; until `POST /api/v1/setup` every admin endpoint answers
/// `SETUP_REQUIRED`.
#[utoipa::path(get, path = "/setup", tag = "setup", operation_id = "get_setup_status", responses((status = OK, body = SetupStatus)))]
async fn setup_status(State(state): State<AppState>) -> Result<Json<SetupStatus>> {
    let done = state.security().refresh_setup(state.db()).await?;
    Ok(Json(SetupStatus {
        setup_required: !done,
    }))
}

/// The first admin account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SetupRequest {
    /// 3 to 32 characters: letters, digits, `_`, `.` and `-`, starting with a letter or digit.
    username: String,
    /// 12 to 256 characters, not the username, not a common password.
    password: String,
    /// Where users reach Zondarr, e.g. `https://media.example.org` (used in invitation links and
    /// the CSRF origin check); ignored when the configuration fixes it.
    public_url: Option<String>,
}

/// The signed-in admin, as answered by setup and sign-in.
#[derive(Serialize, ToSchema)]
pub(crate) struct AdminView {
    /// Admin id.
    id: i64,
    /// Username.
    username: String,
    /// Whether sign-in asks for a second factor.
    totp_enabled: bool,
    /// Send back as `x-csrf-token` on cookie-authenticated changes when no `Origin` is sent.
    csrf_token: String,
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    response
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(200).collect())
}

/// Complete first-run setup
///
/// Creates the admin account and signs it in (sets the session cookie). Works once.
#[utoipa::path(
    post,
    path = "/setup",
    tag = "setup",
    operation_id = "complete_setup",
    request_body = SetupRequest,
    responses(
        (status = CREATED, description = "The admin, signed in", body = AdminView,
            headers(("set-cookie" = String, description = "The session cookie"))),
        Errors<(code::SetupAlreadyDone, code::SetupHostRefused, code::ValidationFailed)>,
    )
)]
async fn setup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(req): Json<SetupRequest>,
) -> Result<Response> {
    let (admin_id, session) = setup_admin(
        &state,
        ip,
        user_agent(&headers),
        &request_address(&headers),
        &req.username,
        req.password,
        req.public_url.as_deref(),
    )
    .await?;
    let body = Json(AdminView {
        id: admin_id,
        username: req.username,
        totp_enabled: false,
        csrf_token: session.csrf_token,
    });
    Ok(with_cookie(
        (StatusCode::CREATED, body).into_response(),
        &state.security().session_cookie(&session.token),
    ))
}

/// Credentials for the first sign-in step.
#[derive(Deserialize, ToSchema)]
struct LoginRequest {
    /// Username.
    username: String,
    /// Password.
    password: String,
}

/// Either signed in, or a second factor is needed.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum LoginResponse {
    /// Signed in (the session cookie is set).
    Done(SignedIn),
    /// TOTP is enabled: send the challenge with a code to `POST /api/v1/auth/totp`.
    SecondFactor(SecondFactorRequired),
}

/// Signed in; the session cookie is set.
#[derive(Serialize, ToSchema)]
pub(crate) struct SignedIn {
    /// The admin.
    admin: AdminView,
}

/// The password was right; a second factor is required.
#[derive(Serialize, ToSchema)]
pub(crate) struct SecondFactorRequired {
    /// Always `true`.
    second_factor_required: bool,
    /// Send back to `POST /api/v1/auth/totp`.
    challenge: String,
    /// Seconds the challenge stays valid.
    expires_in: u64,
}

/// Where the request was made, for the setup check ([`crate::auth::sign_in::check_setup_request`]).
pub(crate) fn request_address(headers: &HeaderMap) -> RequestAddress {
    let text = |name| {
        headers
            .get(name)
            .map(|v: &HeaderValue| v.to_str().unwrap_or("\u{0}").to_owned())
    };
    RequestAddress {
        host: text(axum::http::header::HOST),
        origin: text(axum::http::header::ORIGIN),
    }
}

/// Refuse a sign-in posted from another site (login CSRF), when the browser says where from.
pub(crate) fn check_login_origin(state: &AppState, headers: &HeaderMap) -> Result<()> {
    match headers.get("origin").and_then(|v| v.to_str().ok()) {
        Some(origin) if !origin.eq_ignore_ascii_case(&state.security().public_origin()) => Err(
            Error::new(ErrorCode::CsrfFailed, "sign-in from another site refused"),
        ),
        _ => Ok(()),
    }
}

/// Sign in with username and password
///
/// Without TOTP this signs in and sets the session cookie; with TOTP it answers a challenge for
/// `POST /api/v1/auth/totp`. Unknown users and wrong passwords get the same answer. Rate limited
/// per client address and username, with a growing lockout after repeated failures.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = OK, description = "Signed in, or a second factor is required", body = LoginResponse,
            headers(("set-cookie" = String, description = "The session cookie, when signed in"))),
        Errors<(code::SetupRequired, code::CsrfFailed, code::InvalidCredentials, code::AccountLocked, code::RateLimited)>,
    )
)]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Response> {
    check_login_origin(&state, &headers)?;
    let admin = password_sign_in(&state, ip.clone(), &req.username, req.password).await?;
    complete_sign_in(&state, admin, ip, &headers, "password").await
}

/// The JSON answer of a correct first factor (password or external sign-in).
pub(crate) async fn complete_sign_in(
    state: &AppState,
    admin: db::auth::Admin,
    ip: Option<String>,
    headers: &HeaderMap,
    method: &'static str,
) -> Result<Response> {
    match sign_in_step(state, admin, ip, user_agent(headers), method).await? {
        SignInStep::SecondFactor { challenge } => {
            Ok(Json(LoginResponse::SecondFactor(SecondFactorRequired {
                second_factor_required: true,
                challenge,
                expires_in: 300,
            }))
            .into_response())
        }
        SignInStep::Done { admin, session } => Ok(signed_in(state, admin, session)),
    }
}

fn signed_in(
    state: &AppState,
    admin: db::auth::Admin,
    session: crate::auth::IssuedSession,
) -> Response {
    let body = LoginResponse::Done(SignedIn {
        admin: AdminView {
            id: admin.id,
            username: admin.username,
            totp_enabled: admin.totp_secret.is_some(),
            csrf_token: session.csrf_token,
        },
    });
    with_cookie(
        Json(body).into_response(),
        &state.security().session_cookie(&session.token),
    )
}

/// The second sign-in step.
#[derive(Deserialize, ToSchema)]
struct TotpLoginRequest {
    /// The challenge from `POST /api/v1/auth/login`.
    challenge: String,
    /// A 6-digit TOTP code or an unused backup code.
    code: String,
}

/// Finish sign-in with a TOTP or backup code
#[utoipa::path(
    post,
    path = "/auth/totp",
    tag = "auth",
    operation_id = "login_second_factor",
    request_body = TotpLoginRequest,
    responses(
        (status = OK, description = "Signed in", body = SignedIn,
            headers(("set-cookie" = String, description = "The session cookie"))),
        Errors<(code::CsrfFailed, code::InvalidSecondFactor, code::RateLimited)>,
    )
)]
async fn login_totp(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(req): Json<TotpLoginRequest>,
) -> Result<Response> {
    check_login_origin(&state, &headers)?;
    let (admin, session) =
        second_factor_sign_in(&state, ip, user_agent(&headers), &req.challenge, &req.code).await?;
    Ok(signed_in(&state, admin, session))
}

/// Sign out
///
/// Ends the current session and clears the cookie (with an API key there is nothing to end).
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    operation_id = "logout",
    responses((status = NO_CONTENT, description = "Signed out", headers(("set-cookie" = String, description = "Clears the session cookie"))))
)]
async fn logout(State(state): State<AppState>, admin: Admin) -> Result<Response> {
    sign_out(&state, &admin).await?;
    Ok(with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        &state.security().clear_cookie(),
    ))
}

/// The signed-in admin and how this request authenticated.
#[derive(Serialize, ToSchema)]
struct Me {
    /// Admin id.
    id: i64,
    /// Username.
    username: String,
    /// When the account was created.
    created_at: String,
    /// Whether sign-in asks for a second factor.
    totp_enabled: bool,
    /// Unused backup codes.
    backup_codes_left: i64,
    /// How this request authenticated.
    auth: AuthVia,
}

/// A session cookie or an API key.
#[derive(Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum AuthVia {
    /// The session cookie.
    Session {
        /// Session id.
        session_id: i64,
        /// Send as `x-csrf-token` on changes when no `Origin` header is sent.
        csrf_token: String,
    },
    /// An API key.
    ApiKey {
        /// API key id.
        api_key_id: i64,
        /// The key's public prefix.
        prefix: String,
        /// `read` or `admin`.
        scope: &'static str,
    },
}

/// The current admin
#[utoipa::path(get, path = "/auth/me", tag = "auth", operation_id = "get_current_admin", responses((status = OK, body = Me)))]
async fn me(State(state): State<AppState>, admin: Admin) -> Result<impl IntoResponse> {
    let row = load_admin(&state, admin.id).await?;
    let id = admin.id;
    let backup_codes_left = state
        .db()
        .run(move |c| Ok(db::auth::backup_codes_left(c, id)?))
        .await?;
    let auth = match &admin.via {
        crate::auth::Via::Session { id, csrf_token } => AuthVia::Session {
            session_id: *id,
            csrf_token: csrf_token.clone(),
        },
        crate::auth::Via::ApiKey { id, prefix, scope } => AuthVia::ApiKey {
            api_key_id: *id,
            prefix: prefix.clone(),
            scope: scope.as_str(),
        },
    };
    Ok(Json(Me {
        id: row.id,
        username: row.username,
        created_at: row.created_at,
        totp_enabled: row.totp_secret.is_some(),
        backup_codes_left,
        auth,
    }))
}

/// A password change.
#[derive(Deserialize, ToSchema)]
struct PasswordChange {
    /// The current password (see `STEP_UP_REQUIRED`).
    #[serde(default)]
    current_password: Option<String>,
    /// The new password (12 to 256 characters, not the username, not a common password).
    new_password: String,
}

/// The password was changed.
#[derive(Serialize, ToSchema)]
struct PasswordChanged {
    /// Other sessions of the admin that were signed out.
    sessions_revoked: usize,
    /// API keys of the admin that were revoked (all of them, the one making the request too).
    api_keys_revoked: usize,
}

/// Change the password
///
/// Needs the current password. Signs out every other session of the admin and revokes all of
/// the admin's API keys (the one making this request too): they were issued under the old
/// password.
#[utoipa::path(
    post,
    path = "/auth/password",
    tag = "auth",
    operation_id = "change_password",
    request_body = PasswordChange,
    responses((status = OK, body = PasswordChanged), Errors<(code::ValidationFailed, code::StepUpRequired, code::AccountLocked)>)
)]
async fn change_password(
    State(state): State<AppState>,
    admin: Admin,
    Json(req): Json<PasswordChange>,
) -> Result<impl IntoResponse> {
    let changed =
        account::change_password(&state, &admin, req.current_password, req.new_password).await?;
    Ok(Json(PasswordChanged {
        sessions_revoked: changed.sessions_revoked,
        api_keys_revoked: changed.api_keys_revoked,
    }))
}

/// A new TOTP secret to enrol in an authenticator app.
#[derive(Serialize, ToSchema)]
struct TotpSecret {
    /// The secret, base32.
    secret: String,
    /// The `otpauth://` URI (what the QR code encodes).
    otpauth_uri: String,
    /// The QR code as an SVG document.
    qr_svg: String,
}

/// Proof for a sensitive change.
#[derive(Deserialize, ToSchema)]
pub(crate) struct StepUp {
    /// The admin's current password (see `STEP_UP_REQUIRED`).
    #[serde(default)]
    pub(crate) current_password: Option<String>,
}

/// Start enabling TOTP
///
/// Needs the current password. Creates a pending secret; it takes effect with
/// `POST /api/v1/auth/totp/confirm`.
#[utoipa::path(
    post,
    path = "/auth/totp/setup",
    tag = "auth",
    operation_id = "start_totp_setup",
    request_body = StepUp,
    responses((status = OK, body = TotpSecret), Errors<(code::Conflict, code::StepUpRequired, code::AccountLocked)>)
)]
async fn totp_setup(
    State(state): State<AppState>,
    admin: Admin,
    Json(req): Json<StepUp>,
) -> Result<impl IntoResponse> {
    let new = account::totp_setup(&state, &admin, req.current_password).await?;
    Ok(Json(TotpSecret {
        secret: new.secret,
        otpauth_uri: new.otpauth_uri,
        qr_svg: new.qr_svg,
    }))
}

/// A TOTP code.
#[derive(Deserialize, ToSchema)]
struct CodeRequest {
    /// The current 6-digit code.
    code: String,
}

/// TOTP is enabled.
#[derive(Serialize, ToSchema)]
struct TotpEnabled {
    /// Always `true`.
    totp_enabled: bool,
    /// Single-use backup codes, shown this once.
    backup_codes: Vec<String>,
}

/// Confirm TOTP with a first code
///
/// Enables TOTP and answers the backup codes (shown once).
#[utoipa::path(
    post,
    path = "/auth/totp/confirm",
    tag = "auth",
    operation_id = "confirm_totp",
    request_body = CodeRequest,
    responses((status = OK, body = TotpEnabled), Errors<(code::Conflict, code::ValidationFailed)>)
)]
async fn totp_confirm(
    State(state): State<AppState>,
    admin: Admin,
    Json(req): Json<CodeRequest>,
) -> Result<impl IntoResponse> {
    let backup_codes = account::totp_confirm(&state, &admin, &req.code).await?;
    Ok(Json(TotpEnabled {
        totp_enabled: true,
        backup_codes,
    }))
}

/// Proof to turn TOTP off.
#[derive(Deserialize, ToSchema)]
struct DisableRequest {
    /// The admin's password.
    #[serde(default)]
    password: Option<String>,
    /// A current TOTP code or an unused backup code.
    code: String,
}

/// TOTP is disabled.
#[derive(Serialize, ToSchema)]
struct TotpDisabled {
    /// Always `false`.
    totp_enabled: bool,
}

/// Disable TOTP
#[utoipa::path(
    post,
    path = "/auth/totp/disable",
    tag = "auth",
    operation_id = "disable_totp",
    request_body = DisableRequest,
    responses((status = OK, body = TotpDisabled), Errors<(code::Conflict, code::StepUpRequired, code::AccountLocked, code::InvalidSecondFactor)>)
)]
async fn totp_disable(
    State(state): State<AppState>,
    admin: Admin,
    Json(req): Json<DisableRequest>,
) -> Result<impl IntoResponse> {
    account::totp_disable(&state, &admin, req.password, &req.code).await?;
    Ok(Json(TotpDisabled {
        totp_enabled: false,
    }))
}

/// Proof to replace the backup codes.
#[derive(Deserialize, ToSchema)]
struct RegenerateRequest {
    /// The admin's password.
    #[serde(default)]
    password: Option<String>,
}

/// New backup codes.
#[derive(Serialize, ToSchema)]
struct BackupCodes {
    /// Single-use backup codes, shown this once; the old ones no longer work.
    backup_codes: Vec<String>,
}

/// Replace the backup codes
#[utoipa::path(
    post,
    path = "/auth/totp/backup-codes",
    tag = "auth",
    operation_id = "regenerate_backup_codes",
    request_body = RegenerateRequest,
    responses((status = OK, body = BackupCodes), Errors<(code::Conflict, code::StepUpRequired, code::AccountLocked)>)
)]
async fn totp_backup_codes(
    State(state): State<AppState>,
    admin: Admin,
    Json(req): Json<RegenerateRequest>,
) -> Result<impl IntoResponse> {
    let backup_codes = account::replace_backup_codes(&state, &admin, req.password).await?;
    Ok(Json(BackupCodes { backup_codes }))
}

//! The public join API: validate a code, link an account (PIN flow), redeem.
//!
//! Everything here is rate limited per client address, answers one generic `INVITE_INVALID` for
//! any code that cannot be used, and never reveals server URLs, plugin details or the invitee's
//! token (which stays sealed in the daemon until the redemption uses it).

use crate::auth::ClientIp;
use crate::error::{Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path};
use crate::http::openapi::Errors;
use crate::join::Budget;
use crate::join::LinkState;
use crate::plugins::JoinFlow;
use crate::redemption::{self, InProgress, Progress, RedeemRequest, Redeemed, invite_invalid};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

/// Public join routes.
pub fn routes() -> Routes {
    vec![
        routes!(validate, redeem),
        routes!(redemption_status),
        routes!(start_link),
        routes!(poll_link),
    ]
}

pub(crate) fn limit(state: &AppState, ip: &Option<String>, budget: Budget) -> Result<()> {
    crate::join::limit(state, ip, budget)
}

fn redemption_code_is_malformed(code: &str) -> bool {
    crate::join::code_is_malformed(code)
}

/// A server the invitation gives access to.
#[derive(Serialize, ToSchema)]
struct ServerOffer {
    /// Server name.
    name: String,
    /// Connector id, e.g. `jellyfin`.
    kind: String,
    /// Human name of the server kind, e.g. `Jellyfin`.
    kind_name: String,
    /// `credentials` or `oauth_link`.
    join_flow: JoinFlow,
    /// Names of the libraries offered; `null` means every library.
    libraries: Option<Vec<String>>,
}

/// What the invitee needs to know about a valid code.
#[derive(Serialize, ToSchema)]
#[schema(as = JoinValidation)]
struct Validation {
    /// The code, as stored.
    code: String,
    /// The servers it gives access to.
    servers: Vec<ServerOffer>,
    /// Days the accounts last; `null`: no limit.
    access_duration_days: Option<i64>,
    /// The admin's message to invitees (plain text with line breaks; show it escaped);
    /// `null`: none.
    message: Option<String>,
    /// Whether the invitee must choose a username and password.
    needs_credentials: bool,
    /// Connectors whose account must be linked first (`POST .../oauth/{connector}`).
    oauth: Vec<String>,
    /// Wizard to complete before redeeming (send its completion token as `wizard_token`);
    /// `null` when there is none, or it is disabled or empty.
    pre_wizard: Option<crate::wizard::PublicWizard>,
    /// Wizard to show after the accounts are created; `null` when there is none.
    post_wizard: Option<crate::wizard::PublicWizard>,
}

/// Check an invitation code
///
/// Answers only what the invitee needs. Any code that cannot be used (unknown, expired,
/// disabled, used up) gets the same `INVITE_INVALID`. Rate limited per client address.
#[utoipa::path(
    get,
    path = "/join/{code}",
    tag = "join",
    operation_id = "validate_invitation",
    params(("code" = String, Path, description = "The invitation code")),
    responses((status = OK, body = Validation), Errors<(code::InviteInvalid, code::RateLimited)>)
)]
async fn validate(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
) -> Result<Response> {
    limit(&state, &ip, Budget::Check)?;
    // Rendered once per cached offer: a popular link answers the same bytes many times.
    let body = crate::join::rendered_offer(&state, code, |offer| {
        let validation = Validation {
            pre_wizard: offer.pre_wizard,
            post_wizard: offer.post_wizard,
            needs_credentials: offer.needs_credentials,
            code: offer.invitation.code,
            servers: offer
                .servers
                .into_iter()
                .map(|s| ServerOffer {
                    name: s.name,
                    kind: s.kind,
                    kind_name: s.kind_name,
                    join_flow: s.join_flow,
                    libraries: s.libraries,
                })
                .collect(),
            access_duration_days: offer.invitation.access_duration_days,
            message: offer.invitation.message,
            oauth: offer.oauth,
        };
        serde_json::to_vec(&validation).map_err(|e| anyhow::Error::new(e).into())
    })
    .await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// Redeem an invitation
///
/// Creates an account on every target server of the invitation, or none: on any failure the
/// accounts already created are removed again and the use is released. Servers with the
/// `oauth_link` join flow need a linked account first (`links`).
#[utoipa::path(
    post,
    path = "/join/{code}",
    tag = "join",
    operation_id = "redeem_invitation",
    params(("code" = String, Path, description = "The invitation code")),
    request_body = RedeemRequest,
    responses(
        (status = CREATED, description = "Every account exists", body = Redeemed),
        (status = ACCEPTED, description = "Still running: poll `GET /join/{code}/redemptions/{handle}`", body = InProgress),
        Errors<(
            code::InviteInvalid,
            code::RateLimited,
            code::ValidationFailed,
            code::UsernameTaken,
            code::LinkRequired,
            code::WizardRequired,
            code::WizardTokenInvalid,
            code::ServerUnavailable,
            code::RemoteInvalidInput,
            code::AlreadyMember,
            code::InvitationLibraryMissing,
            code::Unavailable,
        )>,
    )
)]
async fn redeem(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
    Json(req): Json<RedeemRequest>,
) -> Result<Response> {
    limit(&state, &ip, Budget::Redeem)?;
    if redemption_code_is_malformed(&code) {
        return Err(invite_invalid());
    }
    Ok(progress_response(
        redemption::redeem(&state, &code, req, ip).await?,
        StatusCode::CREATED,
    ))
}

fn progress_response(progress: Progress, done: StatusCode) -> Response {
    match progress {
        Progress::Completed(redeemed) => (done, Json(redeemed)).into_response(),
        Progress::Running(running) => (StatusCode::ACCEPTED, Json(running)).into_response(),
    }
}

/// Poll a redemption
///
/// Where a redemption that answered `202` stands: `200` with the accounts once it completed,
/// `202` while it runs, or the error it ended with (nothing was kept).
#[utoipa::path(
    get,
    path = "/join/{code}/redemptions/{handle}",
    tag = "join",
    operation_id = "redemption_status",
    params(
        ("code" = String, Path, description = "The invitation code"),
        ("handle" = String, Path, description = "The handle from the redemption's answer"),
    ),
    responses(
        (status = OK, description = "Every account exists", body = Redeemed),
        (status = ACCEPTED, description = "Still running", body = InProgress),
        Errors<(
            code::InviteInvalid,
            code::RateLimited,
            code::ValidationFailed,
            code::UsernameTaken,
            code::ServerUnavailable,
            code::RemoteInvalidInput,
            code::Internal,
        )>,
    )
)]
async fn redemption_status(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path((code, handle)): Path<(String, String)>,
) -> Result<Response> {
    limit(&state, &ip, Budget::Poll)?;
    Ok(progress_response(
        redemption::status(&state, &code, &handle).await?,
        StatusCode::OK,
    ))
}

/// A started account link (PIN flow).
#[derive(Serialize, ToSchema)]
struct LinkStarted {
    /// Poll `GET .../oauth/{connector}/{link}` with this handle, and redeem with it in `links`.
    link: String,
    /// Code to show the invitee.
    code: String,
    /// Where to send the invitee to approve.
    auth_url: String,
    /// Seconds until the PIN expires.
    expires_in: u32,
}

/// Start linking an account
///
/// For servers with the `oauth_link` join flow (e.g. "Sign in with Plex"): starts a PIN; show
/// the code, send the invitee to `auth_url`, then poll. The invitee's token stays in the daemon.
#[utoipa::path(
    post,
    path = "/join/{code}/oauth/{connector}",
    tag = "join",
    operation_id = "start_account_link",
    params(
        ("code" = String, Path, description = "The invitation code"),
        ("connector" = String, Path, description = "Connector id, from `oauth` of the validation"),
    ),
    responses(
        (status = CREATED, body = LinkStarted),
        Errors<(code::InviteInvalid, code::RateLimited, code::NotFound, code::ServerUnavailable)>,
    )
)]
async fn start_link(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path((code, connector)): Path<(String, String)>,
) -> Result<(StatusCode, Json<LinkStarted>)> {
    limit(&state, &ip, Budget::Redeem)?;
    let started = crate::join::start_link(&state, code, &connector).await?;
    Ok((
        StatusCode::CREATED,
        Json(LinkStarted {
            link: started.link,
            code: started.code,
            auth_url: started.auth_url,
            expires_in: started.expires_in,
        }),
    ))
}

/// The state of an account link.
#[derive(Serialize, ToSchema)]
struct LinkPoll {
    /// `pending`, `linked` or `expired`.
    status: &'static str,
    /// The linked account's name (never its token).
    username: Option<String>,
    /// The linked account's e-mail, if it has one.
    email: Option<String>,
}

/// Poll an account link
///
/// `linked` once the invitee approved; then redeem with the link id in `links`.
#[utoipa::path(
    get,
    path = "/join/{code}/oauth/{connector}/{link}",
    tag = "join",
    operation_id = "poll_account_link",
    params(
        ("code" = String, Path, description = "The invitation code"),
        ("connector" = String, Path, description = "Connector id"),
        ("link" = String, Path, description = "The link handle from the start"),
    ),
    responses(
        (status = OK, body = LinkPoll),
        Errors<(code::InviteInvalid, code::RateLimited, code::NotFound, code::ServerUnavailable)>,
    )
)]
async fn poll_link(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path((code, connector, link)): Path<(String, String, String)>,
) -> Result<Json<LinkPoll>> {
    limit(&state, &ip, Budget::Poll)?;
    let polled = crate::join::poll_link(&state, code, &connector, &link).await?;
    Ok(Json(match polled {
        LinkState::Pending => LinkPoll {
            status: "pending",
            username: None,
            email: None,
        },
        LinkState::Expired => LinkPoll {
            status: "expired",
            username: None,
            email: None,
        },
        LinkState::Linked { username, email } => LinkPoll {
            status: "linked",
            username,
            email,
        },
    }))
}

//! The public join API: validate a code, link an account (PIN flow), redeem.
//!
//! Everything here is rate limited per client address (one budget each for checks, polls, wizard
//! answers and redemptions, so a page that polls cannot use up the budget to redeem), answers one
//! generic `INVITE_INVALID` for
//! any code that cannot be used, and never reveals server URLs, plugin details or the invitee's
//! token (which stays sealed in the daemon until the redemption uses it).

use crate::auth::ClientIp;
use crate::crypto::Purpose;
use crate::db::{self, invitations::Status};
use crate::error::{Error, ErrorCode, Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path};
use crate::http::openapi::Errors;
use crate::plugins::{JoinFlow, LinkStatus};
use crate::redemption::{
    self, InProgress, Progress, RedeemRequest, Redeemed, StoredAccount, invite_invalid,
};
use crate::servers;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rusqlite::{OptionalExtension, params};
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

/// The join-page rate budgets, each per client address and sized for a real invitee.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Budget {
    /// Opening the link (`security.join_per_ip_per_minute`).
    Check,
    /// Polling an account link or a redemption in progress (`security.join_poll_per_ip_per_minute`).
    Poll,
    /// Answering a wizard step (`security.join_wizard_per_ip_per_minute`).
    Wizard,
    /// Redeeming and starting account links (`security.join_redeem_per_ip_per_minute`).
    Redeem,
}

pub(crate) fn limit(state: &AppState, ip: &Option<String>, budget: Budget) -> Result<()> {
    let key = ip.clone().unwrap_or_else(|| "unknown".into());
    let security = state.security();
    let limiter = match budget {
        Budget::Check => &security.join_ip,
        Budget::Poll => &security.join_poll,
        Budget::Wizard => &security.join_wizard,
        Budget::Redeem => &security.join_redeem,
    };
    limiter.check(&key).map_err(|secs| {
        Error::new(
            ErrorCode::RateLimited,
            format!("too many requests; try again in {secs} s"),
        )
        .with_retry_after(secs)
    })
}

async fn active_invitation(state: &AppState, code: String) -> Result<db::invitations::Invitation> {
    if redemption_code_is_malformed(&code) {
        return Err(invite_invalid());
    }
    let inv = state
        .db()
        .run(move |c| Ok(db::invitations::by_code(c, &code)?))
        .await?
        .ok_or_else(invite_invalid)?;
    // An invitation whose every target server was deleted has nothing left to give.
    if inv.status(&db::time::now()) != Status::Active || inv.targets.is_empty() {
        return Err(invite_invalid());
    }
    Ok(inv)
}

fn redemption_code_is_malformed(code: &str) -> bool {
    crate::http::invitations::check_custom_code(code).is_err()
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
) -> Result<Json<Validation>> {
    limit(&state, &ip, Budget::Check)?;
    let inv = active_invitation(&state, code).await?;
    let targets = inv.targets.clone();
    let rows = state
        .db()
        .run(move |c| {
            targets
                .iter()
                .map(|t| {
                    Ok((
                        t.clone(),
                        db::servers::get(c, t.server_id)?,
                        db::servers::libraries(c, t.server_id)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()
        })
        .await?;
    let mut servers = Vec::new();
    let mut oauth = Vec::new();
    for (target, server, libs) in rows {
        let Some(server) = server else {
            return Err(invite_invalid());
        };
        let manifest = state.plugins().manifest(&server.kind);
        let join_flow = manifest
            .as_ref()
            .map_or(JoinFlow::Credentials, |m| m.join_flow);
        if join_flow == JoinFlow::OauthLink && !oauth.contains(&server.kind) {
            oauth.push(server.kind.clone());
        }
        servers.push(ServerOffer {
            name: server.name,
            kind_name: manifest
                .as_ref()
                .map_or_else(|| server.kind.clone(), |m| m.name.clone()),
            kind: server.kind,
            join_flow,
            libraries: target.libraries.map(|ids| {
                libs.iter()
                    .filter(|l| ids.contains(&l.id))
                    .map(|l| l.name.clone())
                    .collect()
            }),
        });
    }
    let (pre_wizard, post_wizard) = crate::wizard::offered(&state, &inv).await?;
    Ok(Json(Validation {
        pre_wizard,
        post_wizard,
        needs_credentials: servers.iter().any(|s| s.join_flow == JoinFlow::Credentials),
        code: inv.code,
        servers,
        access_duration_days: inv.access_duration_days,
        oauth,
    }))
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

/// The first target server of the invitation run by `connector`, with its context.
async fn link_server(
    state: &AppState,
    inv: &db::invitations::Invitation,
    connector: &str,
) -> Result<(i64, crate::plugins::ServerContext)> {
    let ids: Vec<i64> = inv.targets.iter().map(|t| t.server_id).collect();
    let kind = connector.to_owned();
    let server = state
        .db()
        .run(move |c| {
            for id in ids {
                if let Some(s) = db::servers::get(c, id)?
                    && s.kind == kind
                {
                    return Ok(Some(s));
                }
            }
            Ok(None)
        })
        .await?
        .ok_or_else(|| Error::not_found("account link for this invitation"))?;
    let manifest = state
        .plugins()
        .manifest(&server.kind)
        .filter(|m| m.join_flow == JoinFlow::OauthLink)
        .ok_or_else(|| {
            Error::new(
                ErrorCode::ServerUnavailable,
                "account linking is not available right now",
            )
        })?;
    Ok((
        server.id,
        servers::context_of(&state.security().crypto, &manifest, &server)?,
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
    let inv = active_invitation(&state, code).await?;
    let (server_id, ctx) = link_server(&state, &inv, &connector).await?;
    let started = state
        .plugins()
        .start_link(&connector, &ctx)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "could not start an account link");
            Error::new(
                ErrorCode::ServerUnavailable,
                "account linking is not available right now; try again later",
            )
        })?;
    let expires = db::time::fmt(
        chrono::Utc::now()
            + chrono::Duration::seconds(i64::from(started.expires_in.clamp(60, 3600))),
    );
    let (inv_id, pin) = (inv.id, started.pin_id.clone());
    let handle = crate::crypto::random_token(18);
    let link = state
        .db()
        .write(move |tx| {
            tx.execute(
                "INSERT INTO join_links (handle, invitation_id, server_id, pin_id, state, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6)
                 ON CONFLICT(server_id, pin_id) DO NOTHING",
                params![handle, inv_id, server_id, pin, db::time::now(), expires],
            )?;
            Ok(tx.query_row("SELECT handle FROM join_links WHERE server_id = ?1 AND pin_id = ?2 AND invitation_id = ?3", params![server_id, pin, inv_id], |r| r.get(0))?)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(LinkStarted {
            link,
            code: started.code,
            auth_url: started.auth_url,
            expires_in: started.expires_in,
        }),
    ))
}

/// row id, server id, pin id, state, sealed account, expiry.
type LinkRow = (i64, i64, String, String, Option<Vec<u8>>, String);

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
/// `linked` once the invitee approved; then redeem with the link handle in `links`.
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
    Path((code, connector, handle)): Path<(String, String, String)>,
) -> Result<Json<LinkPoll>> {
    limit(&state, &ip, Budget::Poll)?;
    let inv = active_invitation(&state, code).await?;
    if handle.len() > 64 {
        return Err(Error::not_found("account link"));
    }
    let inv_id = inv.id;
    let row: Option<LinkRow> = state
        .db()
        .run(move |c| {
            Ok(c.query_row(
                "SELECT id, server_id, pin_id, state, account, expires_at FROM join_links WHERE handle = ?1 AND invitation_id = ?2",
                params![handle, inv_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .optional()?)
        })
        .await?;
    let Some((link, server_id, pin, link_state, sealed, expires_at)) = row else {
        return Err(Error::not_found("account link"));
    };
    let crypto = &state.security().crypto;
    let binding = format!("join-link:{link}");
    match link_state.as_str() {
        "linked" => {
            let account: Option<StoredAccount> = sealed
                .and_then(|s| crypto.open(Purpose::LinkedAccount, &binding, &s).ok())
                .and_then(|p| serde_json::from_slice(&p).ok());
            return Ok(Json(LinkPoll {
                status: "linked",
                username: account.as_ref().map(|a| a.username.clone()),
                email: account.and_then(|a| a.email),
            }));
        }
        "pending" if expires_at > db::time::now() => {}
        _ => {
            return Ok(Json(LinkPoll {
                status: "expired",
                username: None,
                email: None,
            }));
        }
    }
    let (link_server_id, ctx) = link_server(&state, &inv, &connector).await?;
    if link_server_id != server_id {
        return Err(Error::not_found("account link"));
    }
    let status = state
        .plugins()
        .poll_link(&connector, &ctx, &pin)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "could not poll an account link");
            Error::new(
                ErrorCode::ServerUnavailable,
                "account linking is not available right now; try again later",
            )
        })?;
    match status {
        LinkStatus::Pending => Ok(Json(LinkPoll {
            status: "pending",
            username: None,
            email: None,
        })),
        LinkStatus::Expired => {
            state
                .db()
                .write(move |tx| {
                    Ok(tx
                        .execute(
                            "UPDATE join_links SET state = 'expired' WHERE id = ?1",
                            [link],
                        )
                        .map(|_| ())?)
                })
                .await?;
            Ok(Json(LinkPoll {
                status: "expired",
                username: None,
                email: None,
            }))
        }
        LinkStatus::Linked(account) => {
            let stored = StoredAccount::from(&account);
            let plain = serde_json::to_vec(&stored).map_err(|e| Error::Internal(e.into()))?;
            let sealed = crypto.seal(Purpose::LinkedAccount, &binding, &plain);
            state
                .db()
                .write(move |tx| {
                    Ok(tx
                        .execute(
                            "UPDATE join_links SET state = 'linked', account = ?2 WHERE id = ?1 AND state = 'pending'",
                            params![link, sealed],
                        )
                        .map(|_| ())?)
                })
                .await?;
            Ok(Json(LinkPoll {
                status: "linked",
                username: Some(account.username),
                email: account.email,
            }))
        }
    }
}

//! The public join API: validate a code, link an account (PIN flow), redeem.
//!
//! Everything here is rate limited per client address, answers one generic `INVITE_INVALID` for
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
use crate::redemption::{self, RedeemRequest, Redeemed, StoredAccount, invite_invalid};
use crate::servers;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

/// Public join routes.
pub fn routes() -> Routes {
    vec![
        routes!(validate, redeem),
        routes!(start_link),
        routes!(poll_link),
    ]
}

pub(crate) fn limit(state: &AppState, ip: &Option<String>) -> Result<()> {
    let key = ip.clone().unwrap_or_else(|| "unknown".into());
    state.security().join_ip.check(&key).map_err(|secs| {
        Error::new(ErrorCode::RateLimited, "too many requests; slow down").with_retry_after(secs)
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
    limit(&state, &ip)?;
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
        (status = CREATED, body = Redeemed),
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
        )>,
    )
)]
async fn redeem(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
    Json(req): Json<RedeemRequest>,
) -> Result<(StatusCode, Json<Redeemed>)> {
    limit(&state, &ip)?;
    if redemption_code_is_malformed(&code) {
        return Err(invite_invalid());
    }
    let redeemed = redemption::redeem(&state, &code, req, ip).await?;
    Ok((StatusCode::CREATED, Json(redeemed)))
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
    /// Poll `GET .../oauth/{connector}/{link}` with this id.
    link: i64,
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
    limit(&state, &ip)?;
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
    let link = state
        .db()
        .write(move |tx| {
            tx.execute(
                "INSERT INTO join_links (invitation_id, server_id, pin_id, state, created_at, expires_at) VALUES (?1, ?2, ?3, 'pending', ?4, ?5)
                 ON CONFLICT(server_id, pin_id) DO NOTHING",
                params![inv_id, server_id, pin, db::time::now(), expires],
            )?;
            Ok(tx.query_row("SELECT id FROM join_links WHERE server_id = ?1 AND pin_id = ?2", params![server_id, pin], |r| r.get(0))?)
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

/// server id, pin id, state, sealed account, expiry.
type LinkRow = (i64, String, String, Option<Vec<u8>>, String);

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
        ("link" = i64, Path, description = "The link id from the start"),
    ),
    responses(
        (status = OK, body = LinkPoll),
        Errors<(code::InviteInvalid, code::RateLimited, code::NotFound, code::ServerUnavailable)>,
    )
)]
async fn poll_link(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path((code, connector, link)): Path<(String, String, i64)>,
) -> Result<Json<LinkPoll>> {
    limit(&state, &ip)?;
    let inv = active_invitation(&state, code).await?;
    let inv_id = inv.id;
    let row: Option<LinkRow> = state
        .db()
        .run(move |c| {
            Ok(c.query_row(
                "SELECT server_id, pin_id, state, account, expires_at FROM join_links WHERE id = ?1 AND invitation_id = ?2",
                params![link, inv_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?)
        })
        .await?;
    let Some((server_id, pin, link_state, sealed, expires_at)) = row else {
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
                            "UPDATE join_links SET state = 'linked', account = ?2 WHERE id = ?1",
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

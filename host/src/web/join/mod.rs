//! The invitee's pages: `/j/{code}` (and `/join/{code}`, the link the API hands out), the
//! pre-join wizard, the account form or "Sign in with Plex", the post-join wizard and the
//! result.
//!
//! Every page works without JavaScript. Progress is carried in the URL and in forms as the same
//! signed tokens the JSON API uses (wizard progress and completion tokens, account-link ids),
//! plus a signed receipt of the redemption for the result page, so the server keeps nothing per
//! visitor. Each handler calls the domain function the JSON API calls ([`crate::join`],
//! [`crate::redemption::redeem`]) and maps its stable error code to a page:
//!
//! | Code | Page |
//! |---|---|
//! | `INVITE_INVALID` | one generic "this invitation cannot be used" page |
//! | `RATE_LIMITED` | "too many attempts", with when to retry (and `Retry-After`) |
//! | `VALIDATION_FAILED`, `USERNAME_TAKEN`, `LINK_REQUIRED` | the form again, the error next to the field |
//! | `WIZARD_TIMER_RUNNING` | the step again: "wait N more seconds" |
//! | `WIZARD_*` token errors | the wizard from its first step |
//! | anything else | "nothing was created, try again", with the code and the request id |
//!
//! **Redemptions that take time.** The result page is rendered from a [`Receipt`]. When the
//! redemption can answer "still running" with a handle, the receipt gets a state and the handle;
//! `done.html` then shows the progress with a "check again" link (no JavaScript) that `join.js`
//! follows by itself, until the receipt says finished.

use super::forms::{self, Csrf};
use super::i18n::Tr;
use super::{Ctx, Layout, MessagePage, html, percent_encode, see_other};
use crate::crypto::MacPurpose;
use crate::error::{Error, ErrorCode, FieldError};
use crate::http::extract::Path;
use crate::join::Budget;
use crate::join::{LinkState, Offer};
use crate::plugins::JoinFlow;
use crate::redemption::{Progress, RedeemRequest, Redeemed};
use crate::state::AppState;
use crate::wizard::{self, PublicInteractionConfig, PublicStep, PublicWizard, TokenKind};
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

mod account;
mod done;
mod steps;

use account::{account_page, account_submit, link_return, link_start, pending_page};
use done::{Receipt, done_page};
pub(crate) use steps::{Preview, answers, render_preview};
use steps::{wizard_page, wizard_submit};

/// The join routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/j/{code}", get(landing))
        .route("/join/{code}", get(landing))
        .route(
            "/j/{code}/wizard/{which}",
            get(wizard_page).post(wizard_submit),
        )
        .route("/j/{code}/account", get(account_page).post(account_submit))
        .route("/j/{code}/link/{connector}", get(link_start))
        .route("/j/{code}/link/{connector}/{link}", get(link_return))
        .route("/j/{code}/done", get(done_page))
        .route("/j/{code}/pending/{handle}", get(pending_page))
}

// ---------------------------------------------------------------------------------------------
// Dead ends: one page each, the message from the catalogue, the stable code under it.

fn message(
    ctx: &Ctx,
    status: StatusCode,
    key: &str,
    text: String,
    code: Option<&'static str>,
    links: Vec<(String, String)>,
) -> Response {
    let heading = ctx.t.t(key);
    let page = MessagePage {
        l: ctx.layout(heading.clone()),
        t: ctx.t.clone(),
        heading,
        text,
        code,
        links,
    };
    html(status, &page)
}

fn invalid(ctx: &Ctx) -> Response {
    message(
        ctx,
        StatusCode::NOT_FOUND,
        "invalid-title",
        ctx.t.t("invalid-text"),
        Some(ErrorCode::InviteInvalid.as_str()),
        Vec::new(),
    )
}

fn rate_limited(ctx: &Ctx, retry_after: Option<u64>, back: &str) -> Response {
    let secs = retry_after.unwrap_or(60);
    let mut response = message(
        ctx,
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited-title",
        ctx.t.n("rate-limited-text", "seconds", secs as i64),
        Some(ErrorCode::RateLimited.as_str()),
        vec![(back.to_owned(), ctx.t.t("try-again"))],
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

fn nothing_created(ctx: &Ctx, code: ErrorCode, back: &str) -> Response {
    let status = if code == ErrorCode::Internal {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    message(
        ctx,
        status,
        "failed-title",
        ctx.t.t("failed-text"),
        Some(code.as_str()),
        vec![(back.to_owned(), ctx.t.t("try-again"))],
    )
}

fn csrf_failed(ctx: &Ctx, back: &str) -> Response {
    message(
        ctx,
        StatusCode::FORBIDDEN,
        "csrf-title",
        ctx.t.t("csrf-text"),
        Some(ErrorCode::CsrfFailed.as_str()),
        vec![(back.to_owned(), ctx.t.t("try-again"))],
    )
}

/// The page for an error of a domain call that has no form to show it on.
fn failure(ctx: &Ctx, error: &Error, back: &str) -> Response {
    match error {
        Error::Client {
            code: ErrorCode::InviteInvalid,
            ..
        } => invalid(ctx),
        Error::Client {
            code: ErrorCode::RateLimited,
            retry_after,
            ..
        } => rate_limited(ctx, *retry_after, back),
        Error::Client {
            code: ErrorCode::NotFound,
            ..
        } => message(
            ctx,
            StatusCode::NOT_FOUND,
            "error-not-found-title",
            ctx.t.t("error-not-found-text"),
            Some(ErrorCode::NotFound.as_str()),
            vec![(back.to_owned(), ctx.t.t("back"))],
        ),
        other => {
            if let Error::Internal(cause) = other {
                tracing::error!(request_id = %ctx.request_id, error = %cause, "join page failed");
            }
            nothing_created(ctx, other.code(), back)
        }
    }
}

fn base(code: &str) -> String {
    format!("/j/{}", percent_encode(code))
}

// ---------------------------------------------------------------------------------------------
// Landing

/// A server on the landing page.
#[derive(Debug)]
struct ServerView {
    name: String,
    kind_name: String,
    /// `None`: every library.
    libraries: Option<String>,
}

#[derive(Template)]
#[template(path = "landing.html")]
struct LandingPage {
    l: Layout,
    t: Tr,
    servers: Vec<ServerView>,
    duration_days: Option<i64>,
    expires: Option<String>,
    start_href: String,
    wizard_steps: Option<i64>,
    /// The admin's message, plain text (escaped by the template, line breaks kept by CSS).
    message: Option<String>,
}

/// `GET /j/{code}` and `GET /join/{code}`: who invites, to what, for how long.
async fn landing(ctx: Ctx, Path(code): Path<String>) -> Response {
    let state = ctx.state().clone();
    if let Err(e) = crate::join::limit(&state, &ctx.ip, Budget::Check) {
        return failure(&ctx, &e, &base(&code));
    }
    let offer = match crate::join::offer(&state, code.clone()).await {
        Ok(o) => o,
        Err(e) => return failure(&ctx, &e, &base(&code)),
    };
    let base = base(&offer.invitation.code);
    let start_href = if offer.pre_wizard.is_some() {
        format!("{base}/wizard/pre")
    } else {
        format!("{base}/account")
    };
    let t = &ctx.t;
    let page = LandingPage {
        l: ctx.layout(t.t1("landing-title", "instance", &instance(&state))),
        servers: offer
            .servers
            .iter()
            .map(|s| ServerView {
                name: s.name.clone(),
                kind_name: s.kind_name.clone(),
                libraries: s.libraries.as_ref().map(|l| l.join(", ")),
            })
            .collect(),
        duration_days: offer.invitation.access_duration_days,
        expires: offer
            .invitation
            .expires_at
            .as_deref()
            .map(|e| t.datetime(e)),
        start_href,
        wizard_steps: offer.pre_wizard.as_ref().map(|w| w.steps.len() as i64),
        message: offer.invitation.message.clone(),
        t: ctx.t.clone(),
    };
    html(StatusCode::OK, &page)
}

fn instance(state: &AppState) -> String {
    state
        .live()
        .get()
        .value("ui.instance_name")
        .map_or("Zondarr", |(v, _)| v)
        .to_owned()
}

fn form_map(pairs: Vec<(String, String)>) -> BTreeMap<String, String> {
    // The first value wins: a form never sends a field twice, and a crafted one gains nothing.
    let mut map = BTreeMap::new();
    for (k, v) in pairs.into_iter().take(100) {
        map.entry(k).or_insert(v);
    }
    map
}

fn sep(url: &str) -> &'static str {
    if url.contains('?') { "&" } else { "?" }
}

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
use crate::join::Budget;
use crate::crypto::MacPurpose;
use crate::error::{Error, ErrorCode, FieldError};
use crate::http::extract::Path;
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

// ---------------------------------------------------------------------------------------------
// Wizards

/// Which wizard of the invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Pre,
    Post,
}

impl Which {
    fn parse(s: &str) -> Option<Which> {
        match s {
            "pre" => Some(Which::Pre),
            "post" => Some(Which::Post),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Which::Pre => "pre",
            Which::Post => "post",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct WizardQuery {
    /// Progress token.
    t: Option<String>,
    /// Receipt (post-join wizard).
    r: Option<String>,
    /// Set when the wizard was started again after a stale token.
    restarted: Option<String>,
}

/// An interaction as the template shows it.
#[derive(Debug)]
struct InteractionView {
    kind: &'static str,
    /// Form field name.
    name: String,
    label: String,
    placeholder: String,
    required: bool,
    min: Option<u32>,
    max: Option<u32>,
    options: Vec<(usize, String, bool)>,
    value: String,
    checked: bool,
    error: Option<String>,
    seconds: i64,
}

#[derive(Template)]
#[template(path = "wizard.html")]
struct WizardPage {
    l: Layout,
    t: Tr,
    action: String,
    csrf: String,
    token: String,
    receipt: String,
    wizard_name: String,
    number: usize,
    count: usize,
    step_id: i64,
    step_title: String,
    step_html: String,
    interactions: Vec<InteractionView>,
    submit_label: String,
    /// Seconds until the step's timer runs out, as the server counts.
    wait: i64,
    notice: Option<String>,
    error_code: Option<&'static str>,
}

/// Where a finished wizard leads.
fn after_wizard(code: &str, which: Which, completion: &str, receipt: &str) -> String {
    match which {
        Which::Pre => format!("{}/account?w={}", base(code), percent_encode(completion)),
        Which::Post => format!("{}/done?r={}", base(code), percent_encode(receipt)),
    }
}

/// The invitation and the wizard for a wizard page; `Err` is the page to show instead.
async fn load_wizard(
    ctx: &Ctx,
    code: &str,
    which: Which,
    receipt: Option<&str>,
) -> Result<(i64, Option<PublicWizard>), Response> {
    let state = ctx.state();
    let inv = match which {
        Which::Pre => crate::join::active_invitation(state, code.to_owned()).await,
        Which::Post => {
            if receipt.and_then(|r| Receipt::open(ctx, code, r)).is_none() {
                return Err(invalid(ctx));
            }
            crate::join::redeemed_invitation(state, code.to_owned()).await
        }
    }
    .map_err(|e| failure(ctx, &e, &base(code)))?;
    let (pre, post) = wizard::offered(state, &inv)
        .await
        .map_err(|e| failure(ctx, &e, &base(code)))?;
    Ok((
        inv.id,
        match which {
            Which::Pre => pre,
            Which::Post => post,
        },
    ))
}

/// The step a token unlocks and when it became available; the wizard's start when the token is
/// missing, stale or for something else.
enum Position {
    Step {
        index: usize,
        token: String,
        issued_ms: i64,
        restarted: bool,
    },
    Complete(String),
}

fn position(ctx: &Ctx, inv: i64, w: &PublicWizard, token: Option<&str>) -> Position {
    let crypto = &ctx.state().security().crypto;
    let now = wizard::now_ms();
    if let Some(token) = token
        && let Ok(claims) = wizard::verify(crypto, token, now)
        && claims.invitation == inv
        && claims.wizard == w.id
    {
        match claims.kind {
            TokenKind::Complete => return Position::Complete(token.to_owned()),
            TokenKind::Progress => {
                if let Ok(index) = usize::try_from(claims.step)
                    && index < w.steps.len()
                {
                    return Position::Step {
                        index,
                        token: token.to_owned(),
                        issued_ms: claims.issued_ms,
                        restarted: false,
                    };
                }
            }
        }
    }
    let issued_ms = wizard::verify(crypto, &w.start_token, now).map_or(now, |c| c.issued_ms);
    Position::Step {
        index: 0,
        token: w.start_token.clone(),
        issued_ms,
        restarted: token.is_some(),
    }
}

fn timer_seconds(step: &PublicStep) -> u32 {
    step.interactions
        .iter()
        .filter_map(|i| match i.config {
            PublicInteractionConfig::Timer { duration_seconds } => Some(duration_seconds),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// The views of a step's interactions, with the values sent (`form`) and the errors.
fn interaction_views(
    t: &Tr,
    step: &PublicStep,
    form: &BTreeMap<String, String>,
    errors: &[FieldError],
) -> Vec<InteractionView> {
    step.interactions
        .iter()
        .filter_map(|i| {
            let name = format!("a-{}", i.id);
            let sent = form.get(&name).cloned();
            let error = errors
                .iter()
                .find(|e| e.field == format!("answers.{}", i.id))
                .map(|_| match &i.config {
                    PublicInteractionConfig::Quiz { .. } if sent.is_some() => {
                        t.t("wizard-quiz-wrong")
                    }
                    PublicInteractionConfig::Quiz { .. } => t.t("wizard-quiz-choose"),
                    PublicInteractionConfig::Terms { .. } => t.t("wizard-terms-required"),
                    PublicInteractionConfig::TextInput {
                        min_length,
                        max_length,
                        ..
                    } => t.t2(
                        "wizard-text-length",
                        "min",
                        &min_length.unwrap_or(1).to_string(),
                        "max",
                        &max_length
                            .unwrap_or(wizard::MAX_TEXT_ANSWER_CHARS)
                            .to_string(),
                    ),
                    _ => t.t("wizard-answer-invalid"),
                });
            let mut view = InteractionView {
                kind: "",
                name,
                label: String::new(),
                placeholder: String::new(),
                required: false,
                min: None,
                max: None,
                options: Vec::new(),
                value: String::new(),
                checked: sent.is_some(),
                error,
                seconds: 0,
            };
            match &i.config {
                // The step's submit button is the click: see `submit_label`.
                PublicInteractionConfig::Click { .. } => return None,
                PublicInteractionConfig::Timer { duration_seconds } => {
                    view.kind = "timer";
                    view.seconds = i64::from(*duration_seconds);
                }
                PublicInteractionConfig::Terms { label } => {
                    view.kind = "terms";
                    view.label = label.clone();
                }
                PublicInteractionConfig::TextInput {
                    label,
                    placeholder,
                    required,
                    min_length,
                    max_length,
                } => {
                    view.kind = "text";
                    view.label = label.clone();
                    view.placeholder = placeholder.clone().unwrap_or_default();
                    view.required = *required;
                    view.min = *min_length;
                    view.max = Some(max_length.unwrap_or(wizard::MAX_TEXT_ANSWER_CHARS));
                    view.value = sent.unwrap_or_default();
                }
                PublicInteractionConfig::Quiz { question, options } => {
                    view.kind = "quiz";
                    view.label = question.clone();
                    view.options = options
                        .iter()
                        .enumerate()
                        .map(|(n, o)| (n, o.clone(), sent.as_deref() == Some(&n.to_string())))
                        .collect();
                }
            }
            Some(view)
        })
        .collect()
}

struct StepRender<'a> {
    code: &'a str,
    which: Which,
    receipt: &'a str,
    wizard: &'a PublicWizard,
    index: usize,
    token: &'a str,
    issued_ms: i64,
    form: BTreeMap<String, String>,
    errors: Vec<FieldError>,
    notice: Option<String>,
    error_code: Option<&'static str>,
}

fn render_step(ctx: &Ctx, status: StatusCode, r: StepRender<'_>) -> Response {
    let t = &ctx.t;
    let Some(step) = r.wizard.steps.get(r.index) else {
        return invalid(ctx);
    };
    let timer_ms = i64::from(timer_seconds(step)) * 1000;
    let wait_ms = r.issued_ms + timer_ms - wizard::now_ms();
    let submit_label = step
        .interactions
        .iter()
        .find_map(|i| match &i.config {
            PublicInteractionConfig::Click { button_text } => Some(button_text.clone()),
            _ => None,
        })
        .unwrap_or_else(|| t.t("wizard-continue"));
    let csrf = Csrf::for_page(ctx);
    let page = WizardPage {
        l: ctx.layout(format!("{} · {}", step.title, r.wizard.name)),
        action: format!("{}/wizard/{}", base(r.code), r.which.as_str()),
        csrf: csrf.token.clone(),
        token: r.token.to_owned(),
        receipt: r.receipt.to_owned(),
        wizard_name: r.wizard.name.clone(),
        number: r.index + 1,
        count: r.wizard.steps.len(),
        step_id: step.id,
        step_title: step.title.clone(),
        step_html: step.html.clone(),
        interactions: interaction_views(t, step, &r.form, &r.errors),
        submit_label,
        wait: if wait_ms > 0 {
            (wait_ms + 999) / 1000
        } else {
            0
        },
        notice: r.notice,
        error_code: r.error_code,
        t: ctx.t.clone(),
    };
    csrf.apply(html(status, &page))
}

/// `GET /j/{code}/wizard/{pre|post}`: the step the token unlocks.
async fn wizard_page(
    ctx: Ctx,
    Path((code, which)): Path<(String, String)>,
    Query(q): Query<WizardQuery>,
) -> Response {
    let Some(which) = Which::parse(&which) else {
        return failure(&ctx, &Error::not_found("page"), &base(&code));
    };
    if let Err(e) = crate::join::limit(ctx.state(), &ctx.ip, Budget::Wizard) {
        return failure(&ctx, &e, &base(&code));
    }
    let receipt = q.r.clone().unwrap_or_default();
    let (inv, w) = match load_wizard(&ctx, &code, which, q.r.as_deref()).await {
        Ok(x) => x,
        Err(page) => return page,
    };
    let Some(w) = w else {
        return see_other(&after_wizard(&code, which, "", &receipt));
    };
    match position(&ctx, inv, &w, q.t.as_deref()) {
        Position::Complete(token) => see_other(&after_wizard(&code, which, &token, &receipt)),
        Position::Step {
            index,
            token,
            issued_ms,
            restarted,
        } => render_step(
            &ctx,
            StatusCode::OK,
            StepRender {
                code: &code,
                which,
                receipt: &receipt,
                wizard: &w,
                index,
                token: &token,
                issued_ms,
                form: BTreeMap::new(),
                errors: Vec::new(),
                notice: (restarted || q.restarted.is_some()).then(|| ctx.t.t("wizard-restarted")),
                error_code: None,
            },
        ),
    }
}

/// The answers of a step from the form: checkbox and button interactions `true` when sent,
/// text as sent, a quiz option as its number.
fn answers(step: &PublicStep, form: &BTreeMap<String, String>) -> BTreeMap<String, Value> {
    let pressed = form.contains_key("go");
    let mut out = BTreeMap::new();
    for i in &step.interactions {
        let sent = form.get(&format!("a-{}", i.id));
        let value = match (&i.config, sent) {
            (PublicInteractionConfig::Click { .. }, _) => pressed.then_some(Value::Bool(true)),
            (PublicInteractionConfig::Terms { .. }, Some(_)) => Some(Value::Bool(true)),
            (PublicInteractionConfig::TextInput { .. }, Some(s)) => Some(Value::String(s.clone())),
            (PublicInteractionConfig::Quiz { .. }, Some(s)) => Some(
                s.parse::<u64>()
                    .map_or_else(|_| Value::String(s.clone()), Value::from),
            ),
            _ => None,
        };
        if let Some(v) = value {
            out.insert(i.id.to_string(), v);
        }
    }
    out
}

fn form_map(pairs: Vec<(String, String)>) -> BTreeMap<String, String> {
    // The first value wins: a form never sends a field twice, and a crafted one gains nothing.
    let mut map = BTreeMap::new();
    for (k, v) in pairs.into_iter().take(100) {
        map.entry(k).or_insert(v);
    }
    map
}

/// `POST /j/{code}/wizard/{pre|post}`: check the step's answers (the domain's
/// [`crate::join::submit_step`]), then go on to the next step or what follows the wizard.
async fn wizard_submit(
    ctx: Ctx,
    Path((code, which)): Path<(String, String)>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let Some(which) = Which::parse(&which) else {
        return failure(&ctx, &Error::not_found("page"), &base(&code));
    };
    let form = form_map(pairs);
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let receipt = field("r");
    let restart = if which == Which::Post {
        format!("{}/wizard/post?r={}", base(&code), percent_encode(&receipt))
    } else {
        format!("{}/wizard/pre", base(&code))
    };
    if !forms::check(&ctx, &field("csrf")) {
        return csrf_failed(&ctx, &restart);
    }
    if let Err(e) = crate::join::limit(ctx.state(), &ctx.ip, Budget::Wizard) {
        return failure(&ctx, &e, &restart);
    }
    let (_, w) = match load_wizard(&ctx, &code, which, Some(&receipt)).await {
        Ok(x) => x,
        Err(page) => return page,
    };
    let Some(w) = w else {
        return see_other(&after_wizard(&code, which, "", &receipt));
    };
    let step_id: i64 = field("step").parse().unwrap_or(-1);
    let token = field("t");
    let Some(index) = w.steps.iter().position(|s| s.id == step_id) else {
        return see_other(&format!("{restart}{}restarted=1", sep(&restart)));
    };
    let answers = answers(&w.steps[index], &form);
    match crate::join::submit_step(ctx.state(), code.clone(), step_id, &token, &answers).await {
        Ok(passed) if passed.completed => {
            see_other(&after_wizard(&code, which, &passed.token, &receipt))
        }
        Ok(passed) => {
            let mut to = format!(
                "{}/wizard/{}?t={}",
                base(&code),
                which.as_str(),
                percent_encode(&passed.token)
            );
            if which == Which::Post {
                to.push_str(&format!("&r={}", percent_encode(&receipt)));
            }
            see_other(&to)
        }
        Err(e) => {
            let issued_ms =
                wizard::verify(&ctx.state().security().crypto, &token, wizard::now_ms())
                    .map_or(0, |c| c.issued_ms);
            let render = |notice: Option<String>, errors: Vec<FieldError>, code_: ErrorCode| {
                render_step(
                    &ctx,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    StepRender {
                        code: &code,
                        which,
                        receipt: &receipt,
                        wizard: &w,
                        index,
                        token: &token,
                        issued_ms,
                        form: form.clone(),
                        errors,
                        notice,
                        error_code: Some(code_.as_str()),
                    },
                )
            };
            match e {
                Error::Client {
                    code: ErrorCode::WizardTimerRunning,
                    retry_after,
                    ..
                } => render(
                    Some(
                        ctx.t
                            .n("wizard-wait", "seconds", retry_after.unwrap_or(1) as i64),
                    ),
                    Vec::new(),
                    ErrorCode::WizardTimerRunning,
                ),
                Error::Client {
                    code: ErrorCode::ValidationFailed,
                    fields,
                    ..
                } => render(
                    Some(ctx.t.t("form-has-errors")),
                    fields,
                    ErrorCode::ValidationFailed,
                ),
                Error::Client {
                    code:
                        ErrorCode::WizardTokenInvalid
                        | ErrorCode::WizardStepOutOfOrder
                        | ErrorCode::NotFound,
                    ..
                } => see_other(&format!("{restart}{}restarted=1", sep(&restart))),
                other => failure(&ctx, &other, &restart),
            }
        }
    }
}

fn sep(url: &str) -> &'static str {
    if url.contains('?') { "&" } else { "?" }
}

// ---------------------------------------------------------------------------------------------
// Account

#[derive(Debug, Default, Deserialize)]
struct AccountQuery {
    /// Pre-join wizard completion token.
    w: Option<String>,
    /// Account-link id.
    link: Option<String>,
}

/// "Sign in with …" on the account page.
#[derive(Debug)]
struct LinkView {
    name: String,
    /// No-JavaScript start (full-page redirect).
    start_href: String,
    /// The JSON API the script uses for the popup.
    api_start: String,
    /// Where the script goes once the link is approved (`{link}` is appended).
    return_base: String,
    /// The linked account's name, once linked.
    linked_as: Option<String>,
    link: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    l: Layout,
    t: Tr,
    action: String,
    csrf: String,
    form_id: String,
    w: String,
    servers: Vec<ServerView>,
    needs_credentials: bool,
    link: Option<LinkView>,
    username: String,
    email: String,
    errors: BTreeMap<&'static str, String>,
    notice: Option<String>,
    error_code: Option<&'static str>,
}

struct AccountRender {
    w: String,
    link: Option<String>,
    username: String,
    email: String,
    errors: BTreeMap<&'static str, String>,
    notice: Option<String>,
    error_code: Option<&'static str>,
}

async fn render_account(
    ctx: &Ctx,
    status: StatusCode,
    offer: &Offer,
    r: AccountRender,
) -> Response {
    let code = &offer.invitation.code;
    let base = base(code);
    let w_q = percent_encode(&r.w);
    let link = match offer.oauth.first() {
        None => None,
        Some(connector) => {
            let linked_as = match &r.link {
                Some(id) => {
                    match crate::join::poll_link(ctx.state(), code.clone(), connector, id).await {
                        Ok(LinkState::Linked { username, .. }) => {
                            Some(username.unwrap_or_else(|| ctx.t.t("account-linked-unnamed")))
                        }
                        _ => None,
                    }
                }
                None => None,
            };
            let name = offer
                .servers
                .iter()
                .find(|s| &s.kind == connector)
                .map_or_else(|| connector.clone(), |s| s.kind_name.clone());
            Some(LinkView {
                name,
                start_href: format!("{base}/link/{connector}?w={w_q}"),
                api_start: format!("/api/v1/join/{}/oauth/{connector}", percent_encode(code)),
                return_base: format!("{base}/link/{connector}/"),
                link: if linked_as.is_some() {
                    r.link.clone().unwrap_or_default()
                } else {
                    String::new()
                },
                linked_as,
            })
        }
    };
    let csrf = Csrf::for_page(ctx);
    let t = &ctx.t;
    let page = AccountPage {
        l: ctx.layout(t.t("account-title")),
        action: format!("{base}/account"),
        csrf: csrf.token.clone(),
        form_id: forms::new_form_id(),
        w: r.w,
        servers: offer
            .servers
            .iter()
            .map(|s| ServerView {
                name: s.name.clone(),
                kind_name: s.kind_name.clone(),
                libraries: None,
            })
            .collect(),
        needs_credentials: offer.needs_credentials,
        link,
        username: r.username,
        email: r.email,
        errors: r.errors,
        notice: r.notice,
        error_code: r.error_code,
        t: ctx.t.clone(),
    };
    csrf.apply(html(status, &page))
}

/// Whether `w` completes the invitation's pre-join wizard (checked for real at redemption; here
/// only to send an invitee who skipped it back to it).
fn wizard_done(ctx: &Ctx, offer: &Offer, w: &str) -> bool {
    let Some(pre) = &offer.pre_wizard else {
        return true;
    };
    wizard::verify(&ctx.state().security().crypto, w, wizard::now_ms()).is_ok_and(|c| {
        c.kind == TokenKind::Complete && c.wizard == pre.id && c.invitation == offer.invitation.id
    })
}

/// `GET /j/{code}/account`: the account form (and/or "Sign in with …").
async fn account_page(
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<AccountQuery>,
) -> Response {
    if let Err(e) = crate::join::limit(ctx.state(), &ctx.ip, Budget::Check) {
        return failure(&ctx, &e, &base(&code));
    }
    let offer = match crate::join::offer(ctx.state(), code.clone()).await {
        Ok(o) => o,
        Err(e) => return failure(&ctx, &e, &base(&code)),
    };
    let w = q.w.unwrap_or_default();
    if !wizard_done(&ctx, &offer, &w) {
        return see_other(&format!("{}/wizard/pre", base(&code)));
    }
    render_account(
        &ctx,
        StatusCode::OK,
        &offer,
        AccountRender {
            w,
            link: q.link.filter(|l| !l.is_empty() && l.len() <= 64),
            username: String::new(),
            email: String::new(),
            errors: BTreeMap::new(),
            notice: None,
            error_code: None,
        },
    )
    .await
}

/// The field of a redemption's field error, as the form names it.
fn form_field(field: &str) -> Option<&'static str> {
    match field {
        "username" => Some("username"),
        "password" => Some("password"),
        "email" => Some("email"),
        _ => None,
    }
}

/// `POST /j/{code}/account`: redeem (the domain's [`crate::redemption::redeem`], as the JSON
/// API does), once per form, then the post-join wizard or the result.
async fn account_submit(
    ctx: Ctx,
    Path(code): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = form_map(pairs);
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let w = field("w");
    let back = format!("{}/account?w={}", base(&code), percent_encode(&w));
    if !forms::check(&ctx, &field("csrf")) {
        return csrf_failed(&ctx, &back);
    }
    if let Err(e) = crate::join::limit(ctx.state(), &ctx.ip, Budget::Redeem) {
        return failure(&ctx, &e, &back);
    }
    let offer = match crate::join::offer(ctx.state(), code.clone()).await {
        Ok(o) => o,
        Err(e) => return failure(&ctx, &e, &back),
    };
    let link: Option<String> = Some(field("link")).filter(|l| !l.is_empty() && l.len() <= 64);
    let username = field("username");
    let email = field("email");
    let mut errors = BTreeMap::new();
    if offer.needs_credentials && field("password") != field("password2") {
        errors.insert("password2", ctx.t.t("field-password-mismatch"));
    }
    let again = |errors: BTreeMap<&'static str, String>, code_: ErrorCode| AccountRender {
        w: w.clone(),
        link: link.clone(),
        username: username.clone(),
        email: email.clone(),
        errors,
        notice: Some(ctx.t.t("form-has-errors")),
        error_code: Some(code_.as_str()),
    };
    if !errors.is_empty() {
        let r = again(errors, ErrorCode::ValidationFailed);
        return render_account(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &offer, r).await;
    }
    let request = RedeemRequest {
        username: offer.needs_credentials.then(|| username.clone()),
        password: offer.needs_credentials.then(|| field("password")),
        email: Some(email.clone()).filter(|e| !e.trim().is_empty()),
        links: match (offer.oauth.first(), link.clone()) {
            (Some(connector), Some(id)) => BTreeMap::from([(connector.clone(), id)]),
            _ => BTreeMap::new(),
        },
        wizard_token: Some(w.clone()).filter(|w| !w.is_empty()),
        // The form's id is the attempt's idempotency key: a double submit, or a resubmit after
        // a lost answer, joins the attempt already made (even across a restart).
        attempt: Some(field("form_id")).filter(|f| !f.is_empty()),
    };
    let state = ctx.state().clone();
    let code_for_redeem = offer.invitation.code.clone();
    let has_post = offer.post_wizard.is_some();
    let ctx_ref = &ctx;
    let result = ctx
        .web
        .once
        .run(&field("form_id"), || async move {
            let progress =
                crate::redemption::redeem(&state, &code_for_redeem, request, ctx_ref.ip.clone())
                    .await?;
            let base = base(&code_for_redeem);
            let redeemed = match progress {
                Progress::Completed(redeemed) => redeemed,
                Progress::Running(running) => {
                    return Ok::<_, Error>(format!(
                        "{base}/pending/{}",
                        percent_encode(&running.handle)
                    ));
                }
            };
            let receipt = Receipt::seal(ctx_ref, &code_for_redeem, &redeemed);
            let r = percent_encode(&receipt);
            Ok::<_, Error>(if has_post {
                format!("{base}/wizard/post?r={r}")
            } else {
                format!("{base}/done?r={r}")
            })
        })
        .await;
    match result {
        Ok(to) => see_other(&to),
        Err(e) => {
            let code_ = e.code();
            match e {
                Error::Client {
                    code: ErrorCode::ValidationFailed,
                    fields,
                    ..
                } => {
                    let mut errors = BTreeMap::new();
                    for f in fields {
                        if let Some(name) = form_field(&f.field) {
                            let key = match (name, f.message.as_str()) {
                                (_, "is required") => "field-required",
                                ("username", _) => "field-username-invalid",
                                ("password", _) => "field-password-length",
                                _ => "field-email-invalid",
                            };
                            errors.insert(name, ctx.t.t(key));
                        }
                    }
                    let r = again(errors, code_);
                    render_account(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &offer, r).await
                }
                Error::Client {
                    code: ErrorCode::UsernameTaken,
                    ..
                } => {
                    let errors = BTreeMap::from([("username", ctx.t.t("field-username-taken"))]);
                    let r = again(errors, code_);
                    render_account(&ctx, StatusCode::CONFLICT, &offer, r).await
                }
                Error::Client {
                    code: ErrorCode::RemoteInvalidInput,
                    ..
                } => {
                    let errors = BTreeMap::from([("password", ctx.t.t("field-remote-invalid"))]);
                    let r = again(errors, code_);
                    render_account(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &offer, r).await
                }
                Error::Client {
                    code: ErrorCode::LinkRequired,
                    ..
                } => {
                    let errors = BTreeMap::from([("link", ctx.t.t("field-link-required"))]);
                    let r = again(errors, code_);
                    render_account(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &offer, r).await
                }
                Error::Client {
                    code: ErrorCode::WizardRequired | ErrorCode::WizardTokenInvalid,
                    ..
                } => see_other(&format!("{}/wizard/pre?restarted=1", base(&code))),
                other => failure(&ctx, &other, &back),
            }
        }
    }
}

/// `GET /j/{code}/pending/{handle}`: a redemption that was still running when the form's answer
/// was due. The page reloads itself every few seconds (no script needed) until the redemption has
/// ended, then goes on to the post-join wizard or the result, or shows why nothing was kept.
async fn pending_page(ctx: Ctx, Path((code, handle)): Path<(String, String)>) -> Response {
    if let Err(e) = crate::join::limit(ctx.state(), &ctx.ip, Budget::Poll) {
        return failure(&ctx, &e, &base(&code));
    }
    let back = base(&code);
    match crate::redemption::status(ctx.state(), &code, &handle).await {
        Ok(Progress::Completed(redeemed)) => {
            let receipt = Receipt::seal(&ctx, &code, &redeemed);
            let r = percent_encode(&receipt);
            let has_post = crate::join::redeemed_invitation(ctx.state(), code.clone())
                .await
                .is_ok_and(|inv| inv.post_wizard_id.is_some());
            see_other(&if has_post {
                format!("{back}/wizard/post?r={r}")
            } else {
                format!("{back}/done?r={r}")
            })
        }
        Ok(Progress::Running(_)) => {
            let here = format!("{back}/pending/{}", percent_encode(&handle));
            let heading = ctx.t.t("pending-title");
            let mut l = ctx.layout(heading.clone());
            l.refresh = Some(3);
            let page = MessagePage {
                l,
                t: ctx.t.clone(),
                heading,
                text: ctx.t.t("pending-text"),
                code: None,
                links: vec![(here, ctx.t.t("pending-check"))],
            };
            html(StatusCode::ACCEPTED, &page)
        }
        Err(e) => failure(&ctx, &e, &format!("{back}/account")),
    }
}

// ---------------------------------------------------------------------------------------------
// Account links ("Sign in with Plex") without JavaScript

/// `GET /j/{code}/link/{connector}?w=…`: start a PIN and send the browser to the provider's
/// sign-in page, which sends it back to [`link_return`] when approved. A plain link rather than
/// a form: the CSP's `form-action 'self'` would stop a form's redirect to another origin.
async fn link_start(
    ctx: Ctx,
    Path((code, connector)): Path<(String, String)>,
    Query(q): Query<AccountQuery>,
) -> Response {
    let back = base(&code);
    if let Err(e) = crate::join::limit(ctx.state(), &ctx.ip, Budget::Redeem) {
        return failure(&ctx, &e, &back);
    }
    match crate::join::start_link(ctx.state(), code.clone(), &connector).await {
        Ok(started) => {
            let public = ctx.public_url();
            let ret = format!(
                "{public}{back}/link/{}/{}?w={}",
                percent_encode(&connector),
                started.link,
                percent_encode(q.w.as_deref().unwrap_or_default())
            );
            // The provider reads its parameters from the URL fragment (`#?a=b`); the return
            // URL goes there as `forwardUrl`.
            let joiner = if started.auth_url.contains('#') {
                "&"
            } else {
                "#?"
            };
            see_other(&format!(
                "{}{joiner}forwardUrl={}",
                started.auth_url,
                percent_encode(&ret)
            ))
        }
        Err(e) => failure(&ctx, &e, &back),
    }
}

/// `GET /j/{code}/link/{connector}/{link}?w=…`: back from the provider (or from the script of
/// the popup path): linked → the account page with the link; still pending → "check again".
async fn link_return(
    ctx: Ctx,
    Path((code, connector, link)): Path<(String, String, String)>,
    Query(q): Query<AccountQuery>,
) -> Response {
    let back = base(&code);
    let w = percent_encode(q.w.as_deref().unwrap_or_default());
    if let Err(e) = crate::join::limit(ctx.state(), &ctx.ip, Budget::Poll) {
        return failure(&ctx, &e, &back);
    }
    match crate::join::poll_link(ctx.state(), code.clone(), &connector, &link).await {
        Ok(LinkState::Linked { .. }) => see_other(&format!("{back}/account?w={w}&link={link}")),
        Ok(LinkState::Pending) => message(
            &ctx,
            StatusCode::OK,
            "link-pending-title",
            ctx.t.t("link-pending-text"),
            None,
            vec![
                (
                    format!("{back}/link/{}/{link}?w={w}", percent_encode(&connector)),
                    ctx.t.t("link-check-again"),
                ),
                (format!("{back}/account?w={w}"), ctx.t.t("link-start-over")),
            ],
        ),
        Ok(LinkState::Expired) => message(
            &ctx,
            StatusCode::OK,
            "link-expired-title",
            ctx.t.t("link-expired-text"),
            None,
            vec![(format!("{back}/account?w={w}"), ctx.t.t("link-start-over"))],
        ),
        Err(e) => failure(&ctx, &e, &back),
    }
}

// ---------------------------------------------------------------------------------------------
// Result

/// What a redemption created, signed by the daemon and carried in the result page's URL (so
/// the page needs no per-visitor storage and can be reloaded). It holds no secret: server
/// names, kinds and usernames the invitee just chose or linked.
#[derive(Debug, Serialize, Deserialize)]
pub struct Receipt {
    /// The invitation code.
    c: String,
    /// Accounts: server name, connector id, username.
    a: Vec<(String, String, String)>,
    /// When access ends.
    e: Option<String>,
    /// Until when the receipt may be shown (ms since the epoch).
    x: i64,
}

/// How long the result page can be reloaded.
const RECEIPT_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

impl Receipt {
    fn seal(ctx: &Ctx, code: &str, redeemed: &Redeemed) -> String {
        let receipt = Receipt {
            c: code.to_ascii_lowercase(),
            a: redeemed
                .accounts
                .iter()
                .map(|a| (a.server.clone(), a.kind.clone(), a.username.clone()))
                .collect(),
            e: redeemed.expires_at.clone(),
            x: wizard::now_ms() + RECEIPT_TTL_MS,
        };
        let body = b64().encode(serde_json::to_vec(&receipt).unwrap_or_default());
        let tag = ctx
            .state()
            .security()
            .crypto
            .mac(MacPurpose::JoinReceipt, body.as_bytes());
        format!("{body}.{}", b64().encode(tag))
    }

    fn open(ctx: &Ctx, code: &str, sealed: &str) -> Option<Receipt> {
        let (body, tag) = sealed.split_once('.')?;
        let tag = b64().decode(tag).ok()?;
        if !ctx
            .state()
            .security()
            .crypto
            .verify_mac(MacPurpose::JoinReceipt, body.as_bytes(), &tag)
        {
            return None;
        }
        let receipt: Receipt = serde_json::from_slice(&b64().decode(body).ok()?).ok()?;
        (receipt.c == code.to_ascii_lowercase() && receipt.x > wizard::now_ms()).then_some(receipt)
    }
}

/// A created account on the result page.
#[derive(Debug)]
struct AccountView {
    server: String,
    kind_name: String,
    username: String,
    /// How to sign in there (from the catalogue, per connector).
    how: String,
    /// Where to get the apps.
    apps: Option<&'static str>,
}

/// The manifest of a loaded connector named by its id or its display name (a redemption's
/// `kind` has been either).
fn manifest_of(state: &AppState, kind: &str) -> Option<crate::plugins::Manifest> {
    state.plugins().manifest(kind).or_else(|| {
        state
            .plugins()
            .ids()
            .into_iter()
            .filter_map(|id| state.plugins().manifest(&id))
            .find(|m| m.name == kind)
    })
}

/// Where the apps of a connector kind are listed. The connector manifest has no field for this
/// yet, so the two bundled kinds are known here; another kind shows no link.
fn apps_url(kind: &str) -> Option<&'static str> {
    match kind {
        "jellyfin" => Some("https://jellyfin.org/downloads/"),
        "plex" => Some("https://www.plex.tv/apps-devices/"),
        _ => None,
    }
}

#[derive(Template)]
#[template(path = "done.html")]
struct DonePage {
    l: Layout,
    t: Tr,
    accounts: Vec<AccountView>,
    expires: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    r: Option<String>,
}

/// `GET /j/{code}/done?r=…`: what was created and how to sign in.
async fn done_page(ctx: Ctx, Path(code): Path<String>, Query(q): Query<DoneQuery>) -> Response {
    let Some(receipt) = q.r.as_deref().and_then(|r| Receipt::open(&ctx, &code, r)) else {
        return invalid(&ctx);
    };
    let t = &ctx.t;
    let accounts = receipt
        .a
        .into_iter()
        .map(|(server, kind, username)| {
            let manifest = manifest_of(ctx.state(), &kind);
            let kind_name = manifest
                .as_ref()
                .map_or_else(|| kind.clone(), |m| m.name.clone());
            let how = match manifest.as_ref().map(|m| m.join_flow) {
                Some(JoinFlow::OauthLink) => t.t1("done-how-linked", "kind", &kind_name),
                _ => t.t2(
                    "done-how-credentials",
                    "kind",
                    &kind_name,
                    "server",
                    &server,
                ),
            };
            AccountView {
                apps: manifest.as_ref().and_then(|m| apps_url(&m.id)),
                server,
                kind_name,
                username,
                how,
            }
        })
        .collect();
    let page = DonePage {
        l: ctx.layout(t.t("done-title")),
        accounts,
        expires: receipt.e.as_deref().map(|e| t.datetime(e)),
        t: ctx.t.clone(),
    };
    html(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(interactions: Vec<(i64, PublicInteractionConfig)>) -> PublicStep {
        PublicStep {
            id: 1,
            position: 0,
            title: "t".into(),
            html: String::new(),
            interactions: interactions
                .into_iter()
                .map(|(id, config)| wizard::PublicInteraction { id, config })
                .collect(),
        }
    }

    #[test]
    fn form_answers_become_the_api_answers() {
        let s = step(vec![
            (
                1,
                PublicInteractionConfig::Click {
                    button_text: "Go".into(),
                },
            ),
            (2, PublicInteractionConfig::Terms { label: "ok".into() }),
            (
                3,
                PublicInteractionConfig::Quiz {
                    question: "q".into(),
                    options: vec!["a".into(), "b".into()],
                },
            ),
            (
                4,
                PublicInteractionConfig::TextInput {
                    label: "l".into(),
                    placeholder: None,
                    required: true,
                    min_length: None,
                    max_length: None,
                },
            ),
            (
                5,
                PublicInteractionConfig::Timer {
                    duration_seconds: 3,
                },
            ),
        ]);
        let form = form_map(vec![
            ("go".into(), "1".into()),
            ("a-2".into(), "on".into()),
            ("a-3".into(), "1".into()),
            ("a-3".into(), "0".into()),
            ("a-4".into(), "hello".into()),
            ("a-9".into(), "ignored".into()),
        ]);
        let a = answers(&s, &form);
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!({"1": true, "2": true, "3": 1, "4": "hello"})
        );
        let none = answers(&s, &BTreeMap::new());
        assert!(none.is_empty(), "{none:?}");
    }
}

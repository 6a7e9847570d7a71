//! First-run setup, sign-in (password, then TOTP or a backup code) and sign-out, over the same
//! functions as `POST /api/v1/setup`, `/auth/login`, `/auth/totp` and `/auth/logout`.

use super::*;
use crate::http::auth::{
    SignInStep, check_login_origin, password_sign_in, second_factor_sign_in, setup_admin,
    sign_in_step, sign_out,
};
use askama::Template;
use axum::extract::Query;
use axum::http::HeaderMap;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "admin_setup.html")]
struct SetupPage {
    l: Layout,
    t: Tr,
    csrf: String,
    username: String,
    public_url: String,
    url_locked: bool,
    r: Refusal,
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(200).collect())
}

fn setup_gone(ctx: &Ctx) -> Response {
    message(
        ctx,
        StatusCode::NOT_FOUND,
        "error-not-found-title",
        ctx.t.t("setup-done-text"),
        None,
        vec![("/admin".to_owned(), ctx.t.t("signin-title"))],
    )
}

fn render_setup(
    ctx: &Ctx,
    status: StatusCode,
    username: String,
    url: String,
    r: Refusal,
) -> Response {
    // Anonymous form: the join pages' cookie-bound CSRF token.
    let csrf = super::super::forms::Csrf::for_page(ctx);
    let page = SetupPage {
        l: ctx.admin_layout(ctx.t.t("setup-title")),
        t: ctx.t.clone(),
        csrf: csrf.token.clone(),
        username,
        public_url: url,
        url_locked: ctx.state().security().public_url_locked(),
        r,
    };
    csrf.apply(html(status, &page))
}

/// `GET /setup`: the first admin account and the public URL; gone once set up.
pub(super) async fn setup_page(ctx: Ctx) -> Response {
    if ctx
        .state()
        .security()
        .refresh_setup(ctx.state().db())
        .await
        .unwrap_or(true)
    {
        return setup_gone(&ctx);
    }
    let url = ctx.public_url();
    render_setup(&ctx, StatusCode::OK, String::new(), url, Refusal::default())
}

/// `POST /setup`: create the admin (as `POST /api/v1/setup`), sign in, then "add your first
/// server" (skippable).
pub(super) async fn setup_submit(
    ctx: Ctx,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if ctx
        .state()
        .security()
        .refresh_setup(ctx.state().db())
        .await
        .unwrap_or(true)
    {
        return setup_gone(&ctx);
    }
    let username = form.get("username").trim().to_owned();
    let url = form.get("public_url").trim().to_owned();
    if !super::super::forms::check(&ctx, form.get("csrf")) {
        return message(
            &ctx,
            StatusCode::FORBIDDEN,
            "csrf-title",
            ctx.t.t("admin-csrf-text"),
            Some(ErrorCode::CsrfFailed.as_str()),
            vec![("/setup".to_owned(), ctx.t.t("try-again"))],
        );
    }
    if form.get("password") != form.get("password2") {
        let mut r = Refusal::default();
        r.fields
            .insert("password2".into(), ctx.t.t("field-password2-mismatch"));
        r.notice = Some(ctx.t.t("form-has-errors"));
        return render_setup(&ctx, StatusCode::UNPROCESSABLE_ENTITY, username, url, r);
    }
    let given_url =
        (!url.is_empty() && !ctx.state().security().public_url_locked()).then_some(url.as_str());
    match setup_admin(
        ctx.state(),
        ctx.ip.clone(),
        &headers,
        &username,
        form.get("password").to_owned(),
        given_url,
    )
    .await
    {
        Ok((_, session)) => with_cookie(
            see_other("/admin/servers/new?first=1"),
            &ctx.state().security().session_cookie(&session.token),
        ),
        Err(e) if e.code() == ErrorCode::SetupAlreadyDone => setup_gone(&ctx),
        Err(e) => {
            let r = Refusal::from_error(&ctx.t, &e, str::to_owned);
            render_setup(&ctx, refused_status(&e), username, url, r)
        }
    }
}

#[derive(Template)]
#[template(path = "admin_sign_in.html")]
struct SignInPage {
    l: Layout,
    t: Tr,
    next: String,
    username: String,
    /// Set on the second step.
    challenge: Option<String>,
    expired: bool,
    signed_out: bool,
    r: Refusal,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct SignInQuery {
    next: Option<String>,
    expired: Option<String>,
    out: Option<String>,
}

struct SignInRender {
    next: String,
    username: String,
    challenge: Option<String>,
    expired: bool,
    signed_out: bool,
    r: Refusal,
}

fn render_sign_in(ctx: &Ctx, status: StatusCode, s: SignInRender) -> Response {
    let page = SignInPage {
        l: ctx.admin_layout(ctx.t.t("signin-title")),
        t: ctx.t.clone(),
        next: s.next,
        username: s.username,
        challenge: s.challenge,
        expired: s.expired,
        signed_out: s.signed_out,
        r: s.r,
    };
    html(status, &page)
}

/// `GET /admin/sign-in?next=…`.
pub(super) async fn sign_in_page(ctx: Ctx, Query(q): Query<SignInQuery>) -> Response {
    if !ctx
        .state()
        .security()
        .refresh_setup(ctx.state().db())
        .await
        .unwrap_or(false)
    {
        return see_other("/setup");
    }
    render_sign_in(
        &ctx,
        StatusCode::OK,
        SignInRender {
            next: local_next(q.next.as_deref()),
            username: String::new(),
            challenge: None,
            expired: q.expired.is_some(),
            signed_out: q.out.is_some(),
            r: Refusal::default(),
        },
    )
}

/// The refusal of a sign-in step; lockouts and rate limits say when to retry.
fn sign_in_refusal(ctx: &Ctx, e: &Error) -> (StatusCode, Refusal) {
    let mut r = Refusal::from_error(&ctx.t, e, str::to_owned);
    if let Error::Client {
        retry_after: Some(secs),
        ..
    } = e
    {
        let key = if e.code() == ErrorCode::AccountLocked {
            "signin-locked"
        } else {
            "signin-rate-limited"
        };
        r.notice = Some(ctx.t.n(key, "seconds", *secs as i64));
    }
    (refused_status(e), r)
}

fn signed_in(ctx: &Ctx, token: &str, next: &str) -> Response {
    with_cookie(
        see_other(next),
        &ctx.state().security().session_cookie(token),
    )
}

fn with_retry(mut response: Response, e: &Error) -> Response {
    if let Error::Client {
        retry_after: Some(secs),
        ..
    } = e
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*secs));
    }
    response
}

/// `POST /admin/sign-in`: the password step (as `POST /api/v1/auth/login`).
pub(super) async fn sign_in_submit(
    ctx: Ctx,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    let next = local_next(Some(form.get("next")));
    let username = form.get("username").trim().to_owned();
    let refuse = |e: Error| {
        let (status, r) = sign_in_refusal(&ctx, &e);
        with_retry(
            render_sign_in(
                &ctx,
                status,
                SignInRender {
                    next: next.clone(),
                    username: username.clone(),
                    challenge: None,
                    expired: false,
                    signed_out: false,
                    r,
                },
            ),
            &e,
        )
    };
    if let Err(e) = check_login_origin(ctx.state(), &headers) {
        return refuse(e);
    }
    let admin = match password_sign_in(
        ctx.state(),
        ctx.ip.clone(),
        &username,
        form.get("password").to_owned(),
    )
    .await
    {
        Ok(a) => a,
        Err(e) if e.code() == ErrorCode::SetupRequired => return see_other("/setup"),
        Err(e) => return refuse(e),
    };
    match sign_in_step(
        ctx.state(),
        admin,
        ctx.ip.clone(),
        user_agent(&headers),
        "password",
    )
    .await
    {
        Ok(SignInStep::Done { session, .. }) => signed_in(&ctx, &session.token, &next),
        Ok(SignInStep::SecondFactor { challenge }) => render_sign_in(
            &ctx,
            StatusCode::OK,
            SignInRender {
                next,
                username,
                challenge: Some(challenge),
                expired: false,
                signed_out: false,
                r: Refusal::default(),
            },
        ),
        Err(e) => refuse(e),
    }
}

/// `POST /admin/sign-in/code`: the TOTP or backup code (as `POST /api/v1/auth/totp`).
pub(super) async fn code_submit(
    ctx: Ctx,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    let next = local_next(Some(form.get("next")));
    let challenge = form.get("challenge").to_owned();
    let result = match check_login_origin(ctx.state(), &headers) {
        Ok(()) => {
            second_factor_sign_in(
                ctx.state(),
                ctx.ip.clone(),
                user_agent(&headers),
                &challenge,
                form.get("code"),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok((_, session)) => signed_in(&ctx, &session.token, &next),
        Err(e) => {
            let (status, mut r) = sign_in_refusal(&ctx, &e);
            if e.code() == ErrorCode::InvalidSecondFactor {
                r.fields.insert("code".into(), ctx.t.t("signin-code-wrong"));
                r.notice = None;
            }
            with_retry(
                render_sign_in(
                    &ctx,
                    status,
                    SignInRender {
                        next,
                        username: String::new(),
                        challenge: Some(challenge),
                        expired: false,
                        signed_out: false,
                        r,
                    },
                ),
                &e,
            )
        }
    }
}

#[derive(Template)]
#[template(path = "admin_sign_out.html")]
struct SignOutPage {
    l: Layout,
    t: Tr,
}

/// `GET /admin/sign-out`: a button (signing out changes state, so it is a POST).
pub(super) async fn sign_out_page(a: AdminCtx) -> Response {
    let page = SignOutPage {
        l: a.layout(a.t().t("signout-title"), ""),
        t: a.t().clone(),
    };
    html(StatusCode::OK, &page)
}

/// `POST /admin/sign-out`: end the session (as `POST /api/v1/auth/logout`).
pub(super) async fn sign_out_submit(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed("/admin/sign-out");
    }
    if let Err(e) = sign_out(a.state(), &a.admin).await {
        return e.into_response();
    }
    with_cookie(
        see_other("/admin/sign-in?out=1"),
        &a.state().security().clear_cookie(),
    )
}

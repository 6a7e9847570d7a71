//! First-run setup, sign-in (password, then TOTP or a backup code) and sign-out, over the same
//! functions as `POST /api/v1/setup`, `/auth/login`, `/auth/totp` and `/auth/logout`.

use super::*;
use crate::auth::external;
use crate::auth::sign_in::{
    SignInStep, password_sign_in, second_factor_sign_in, setup_admin, sign_in_step, sign_out,
};
use crate::http::auth::{check_login_origin, request_address};
use askama::Template;
use axum::extract::{Path, Query};
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
        user_agent(&headers),
        &request_address(&headers),
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
    /// "Sign in with your media server", where enabled.
    servers: Vec<ExternalView>,
    /// The server whose form was refused (its fields carry the errors).
    refused_server: Option<i64>,
}

/// A media server admins may sign in through, on the sign-in page.
struct ExternalView {
    id: i64,
    /// "Home (Jellyfin)".
    label: String,
    /// `password` or `oauth`.
    method: &'static str,
    /// The no-JavaScript start of the account link (`oauth`).
    link_href: String,
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

async fn render_sign_in(ctx: &Ctx, status: StatusCode, s: SignInRender) -> Response {
    render_sign_in_for(ctx, status, s, None).await
}

async fn render_sign_in_for(
    ctx: &Ctx,
    status: StatusCode,
    s: SignInRender,
    refused_server: Option<i64>,
) -> Response {
    // The offer is public (as `GET /api/v1/auth/servers`); a failure to list only hides it.
    let servers = match &s.challenge {
        Some(_) => Vec::new(),
        None => external::servers(ctx.state())
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|x| ExternalView {
                link_href: format!(
                    "/admin/sign-in/server/{}/link?next={}",
                    x.id,
                    percent_encode(&s.next)
                ),
                id: x.id,
                label: ctx
                    .t
                    .t2("signin-server-label", "name", &x.name, "kind", &x.kind_name),
                method: x.method,
            })
            .collect(),
    };
    let page = SignInPage {
        l: ctx.admin_layout(ctx.t.t("signin-title")),
        t: ctx.t.clone(),
        next: s.next,
        username: s.username,
        challenge: s.challenge,
        expired: s.expired,
        signed_out: s.signed_out,
        r: s.r,
        servers,
        refused_server,
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
    .await
}

/// The refusal of a sign-in step; lockouts and rate limits say when to retry.
pub(super) fn sign_in_refusal(ctx: &Ctx, e: &Error) -> (StatusCode, Refusal) {
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

pub(super) fn with_retry(mut response: Response, e: &Error) -> Response {
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

/// The sign-in page again with the error of a first step (`server`: the media server whose
/// form was refused).
async fn refuse_first(
    ctx: &Ctx,
    e: &Error,
    next: &str,
    username: &str,
    server: Option<i64>,
) -> Response {
    let (status, r) = sign_in_refusal(ctx, e);
    let page = render_sign_in_for(
        ctx,
        status,
        SignInRender {
            next: next.to_owned(),
            username: username.to_owned(),
            challenge: None,
            expired: false,
            signed_out: false,
            r,
        },
        server,
    )
    .await;
    with_retry(page, e)
}

/// A correct first factor (password, or a media server's): the session, or the second-factor
/// step when TOTP is on.
async fn after_first_factor(
    ctx: &Ctx,
    headers: &HeaderMap,
    admin: crate::db::auth::Admin,
    method: &'static str,
    next: String,
) -> Result<Response, Error> {
    let username = admin.username.clone();
    match sign_in_step(
        ctx.state(),
        admin,
        ctx.ip.clone(),
        user_agent(headers),
        method,
    )
    .await?
    {
        SignInStep::Done { session, .. } => Ok(signed_in(ctx, &session.token, &next)),
        SignInStep::SecondFactor { challenge } => Ok(render_sign_in(
            ctx,
            StatusCode::OK,
            SignInRender {
                next,
                username,
                challenge: Some(challenge),
                expired: false,
                signed_out: false,
                r: Refusal::default(),
            },
        )
        .await),
    }
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
    let result = async {
        check_login_origin(ctx.state(), &headers)?;
        let admin = password_sign_in(
            ctx.state(),
            ctx.ip.clone(),
            &username,
            form.get("password").to_owned(),
        )
        .await?;
        after_first_factor(&ctx, &headers, admin, "password", next.clone()).await
    }
    .await;
    match result {
        Ok(response) => response,
        Err(e) if e.code() == ErrorCode::SetupRequired => see_other("/setup"),
        Err(e) => refuse_first(&ctx, &e, &next, &username, None).await,
    }
}

/// `POST /admin/sign-in/server/{id}`: an administrator of a media server with its username and
/// password (as `POST /api/v1/auth/login/server/{id}`), where the admin enabled it.
pub(super) async fn server_submit(
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    let next = local_next(Some(form.get("next")));
    let username = form.get("username").trim().to_owned();
    let result = async {
        check_login_origin(ctx.state(), &headers)?;
        let admin = external::password_sign_in(
            ctx.state(),
            ctx.ip.clone(),
            id,
            &username,
            form.get("password").to_owned(),
        )
        .await?;
        after_first_factor(&ctx, &headers, admin, "server_password", next.clone()).await
    }
    .await;
    match result {
        Ok(response) => response,
        Err(e) => refuse_first(&ctx, &e, &next, &username, Some(id)).await,
    }
}

/// `?next=` of the account-link sign-in.
#[derive(Debug, Default, Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

/// `GET /admin/sign-in/server/{id}/link?next=`: start the account link of a media server (as
/// `POST /api/v1/auth/login/server/{id}/oauth`) and send the browser to the provider's sign-in,
/// which comes back to [`server_link_return`]. A plain link, not a form: the CSP's
/// `form-action 'self'` would stop a form's redirect to another origin.
pub(super) async fn server_link_start(
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = local_next(q.next.as_deref());
    match external::start_link(ctx.state(), ctx.ip.clone(), id).await {
        Ok(started) => {
            let back = format!(
                "{}/admin/sign-in/server/{id}/link/{}?next={}",
                ctx.public_url(),
                started.challenge,
                percent_encode(&next)
            );
            // The provider reads its parameters from the URL fragment (`#?a=b`).
            let joiner = if started.auth_url.contains('#') {
                "&"
            } else {
                "#?"
            };
            see_other(&format!(
                "{}{joiner}forwardUrl={}",
                started.auth_url,
                percent_encode(&back)
            ))
        }
        Err(e) => refuse_first(&ctx, &e, &next, "", Some(id)).await,
    }
}

/// `GET /admin/sign-in/server/{id}/link/{challenge}?next=`: back from the provider: signed in
/// when the linked account owns the server (as `POST .../oauth/poll`), "check again" while
/// the link is not approved.
pub(super) async fn server_link_return(
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, challenge)): Path<(i64, String)>,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = local_next(q.next.as_deref());
    let result = async {
        match external::poll_link(ctx.state(), ctx.ip.clone(), id, &challenge).await? {
            external::LinkPoll::Admin(admin) => {
                after_first_factor(&ctx, &headers, admin, "server_link", next.clone()).await
            }
            external::LinkPoll::Pending => Ok(message(
                &ctx,
                StatusCode::OK,
                "signin-link-pending-title",
                ctx.t.t("signin-link-pending-text"),
                None,
                vec![
                    (
                        format!(
                            "/admin/sign-in/server/{id}/link/{}?next={}",
                            percent_encode(&challenge),
                            percent_encode(&next)
                        ),
                        ctx.t.t("link-check-again"),
                    ),
                    (
                        format!("/admin/sign-in?next={}", percent_encode(&next)),
                        ctx.t.t("link-start-over"),
                    ),
                ],
            )),
        }
    }
    .await;
    match result {
        Ok(response) => response,
        Err(e) => refuse_first(&ctx, &e, &next, "", Some(id)).await,
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
            let page = render_sign_in(
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
            )
            .await;
            with_retry(page, &e)
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

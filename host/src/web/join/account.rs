//! The account page (username and password, or "Sign in with …") and the redemption it
//! submits; the account-link pages of the no-JavaScript "Sign in with …" path.

use super::*;

#[derive(Debug, Default, Deserialize)]
pub(super) struct AccountQuery {
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
pub(super) async fn account_page(
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
pub(super) async fn account_submit(
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
                    // The servers of one invitation may have different rules (Jellyfin refuses
                    // names that Navidrome takes); which one refused is in the domain's English
                    // message only, so the page says what usually helps, next to the username.
                    let errors = BTreeMap::from([("username", ctx.t.t("field-remote-invalid"))]);
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

// ---------------------------------------------------------------------------------------------
// Account links ("Sign in with Plex") without JavaScript

/// `GET /j/{code}/link/{connector}?w=…`: start a PIN and send the browser to the provider's
/// sign-in page, which sends it back to [`link_return`] when approved. A plain link rather than
/// a form: the CSP's `form-action 'self'` would stop a form's redirect to another origin.
pub(super) async fn link_start(
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
pub(super) async fn link_return(
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

/// `GET /j/{code}/pending/{handle}`: a redemption that was still running when the form's answer
/// was due. The page reloads itself every few seconds (no script needed) until the redemption has
/// ended, then goes on to the post-join wizard or the result, or shows why nothing was kept.
pub(super) async fn pending_page(
    ctx: Ctx,
    Path((code, handle)): Path<(String, String)>,
) -> Response {
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

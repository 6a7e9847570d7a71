//! The admin's own account and security (`/admin/account…`): change the password; turn TOTP on
//! (a QR code rendered here as SVG, then the backup codes shown once, with a download) and off;
//! new backup codes; the sessions (where and when each signed in; sign one or all others out);
//! API keys (create with a scope and expiry, shown once with a copy button; list; revoke).
//!
//! Every change goes through the functions the JSON API calls ([`crate::auth::account`],
//! [`crate::auth::api_keys`]), so the step-up rule holds here too: the forms that change a
//! credential ask for the current password (an admin without one, signed in through a media
//! server, needs a fresh sign-in instead and sees no password field). Secrets shown once (a new
//! TOTP secret, backup codes, an API key) are the answer to the POST that made them, never a
//! page that can be fetched again, and pages are `no-store`.

use super::*;
use crate::auth::sign_in::load_admin;
use crate::auth::{Scope, account, api_keys, totp};
use askama::Template;
use axum::extract::{Path, Query};
use axum::routing::post;
use serde::Deserialize;

/// The account routes (merged into [`super::router`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/account", get(page))
        .route("/admin/account/password", post(change_password))
        .route("/admin/account/totp", post(totp_start))
        .route("/admin/account/totp/confirm", post(totp_confirm))
        .route("/admin/account/totp/disable", post(totp_disable))
        .route("/admin/account/backup-codes", post(backup_codes))
        .route(
            "/admin/account/backup-codes/download",
            post(backup_codes_download),
        )
        .route("/admin/account/sessions", get(sessions_page))
        .route(
            "/admin/account/sessions/revoke-others",
            post(sessions_revoke_others),
        )
        .route("/admin/account/sessions/{id}/revoke", post(session_revoke))
        .route("/admin/account/api-keys", get(keys_page).post(key_create))
        .route(
            "/admin/account/api-keys/{id}/revoke",
            get(key_revoke_page).post(key_revoke),
        )
}

/// A refused account form: the sign-in refusal (lockouts say when to retry), with the
/// step-up's rules in the page's language and the API's field names mapped by `rename`.
fn refusal(a: &AdminCtx, e: &Error, rename: impl Fn(&str) -> String) -> Refusal {
    let (_, mut r) = super::sign_in::sign_in_refusal(&a.ctx, e);
    let mut fields = BTreeMap::new();
    if let Error::Client { fields: list, .. } = e {
        for f in list {
            let text = match (e.code(), f.message.as_str()) {
                (ErrorCode::StepUpRequired, "is wrong") => a.t().t("acc-step-up-wrong"),
                (ErrorCode::StepUpRequired, "is required") => a.t().t("acc-step-up-required"),
                (ErrorCode::StepUpRequired, _) => a.t().t("acc-step-up-fresh"),
                (_, m) if m.starts_with("does not match") => a.t().t("acc-totp-code-wrong"),
                _ => crate::web::field_messages::translate(a.t(), &f.message),
            };
            fields.entry(rename(&f.field)).or_insert(text);
        }
    }
    if !fields.is_empty() {
        r.fields = fields;
    }
    if e.code() == ErrorCode::StepUpRequired {
        r.notice = Some(a.t().t("acc-step-up-notice"));
    }
    r
}

/// Whether the admin signs in with a Zondarr password (else through a media server: the
/// step-up is a fresh sign-in, and the forms show no password field).
async fn has_password(a: &AdminCtx) -> bool {
    load_admin(a.state(), a.admin.id)
        .await
        .is_ok_and(|row| row.password_hash.starts_with("$argon2"))
}

// ---------------------------------------------------------------------------------------------
// Password and TOTP

/// Which form of the account page was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    None,
    Password,
    TotpStart,
    TotpOff,
    Codes,
}

#[derive(Template)]
#[template(path = "admin_account.html")]
struct AccountPage {
    l: Layout,
    t: Tr,
    csrf: String,
    tab: &'static str,
    username: String,
    has_password: bool,
    totp_enabled: bool,
    backup_codes_left: i64,
    flash: Option<String>,
    r: Refusal,
    /// Field errors of each form (only the refused one has any).
    pw: BTreeMap<String, String>,
    start: BTreeMap<String, String>,
    off: BTreeMap<String, String>,
    codes: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AccountQuery {
    changed: Option<String>,
    sessions: Option<i64>,
    keys: Option<i64>,
    totp: Option<String>,
}

async fn render_account(
    a: &AdminCtx,
    status: StatusCode,
    flash: Option<String>,
    which: Which,
    mut r: Refusal,
) -> Response {
    let row = match load_admin(a.state(), a.admin.id).await {
        Ok(row) => row,
        Err(e) => return e.into_response(),
    };
    let id = a.admin.id;
    let left = a
        .state()
        .db()
        .run(move |c| Ok(crate::db::auth::backup_codes_left(c, id)?))
        .await
        .unwrap_or(0);
    let fields = std::mem::take(&mut r.fields);
    let mut page = AccountPage {
        l: a.layout(a.t().t("acc-title"), "account"),
        t: a.t().clone(),
        csrf: a.csrf.clone(),
        tab: "account",
        username: row.username,
        has_password: row.password_hash.starts_with("$argon2"),
        totp_enabled: row.totp_secret.is_some(),
        backup_codes_left: left,
        flash,
        r,
        pw: BTreeMap::new(),
        start: BTreeMap::new(),
        off: BTreeMap::new(),
        codes: BTreeMap::new(),
    };
    match which {
        Which::Password => page.pw = fields,
        Which::TotpStart => page.start = fields,
        Which::TotpOff => page.off = fields,
        Which::Codes => page.codes = fields,
        Which::None => {}
    }
    html(status, &page)
}

/// `GET /admin/account`: the password form and TOTP (on or off, with its forms).
pub(super) async fn page(a: AdminCtx, Query(q): Query<AccountQuery>) -> Response {
    let t = a.t();
    let flash = if q.changed.is_some() {
        Some(t.t2(
            "acc-password-changed",
            "sessions",
            &q.sessions.unwrap_or(0).max(0).to_string(),
            "keys",
            &q.keys.unwrap_or(0).max(0).to_string(),
        ))
    } else {
        match q.totp.as_deref() {
            Some("off") => Some(t.t("acc-totp-off-flash")),
            _ => None,
        }
    };
    render_account(&a, StatusCode::OK, flash, Which::None, Refusal::default()).await
}

/// `POST /admin/account/password`: [`account::change_password`]; other sessions end and every
/// API key is revoked (the page says how many).
pub(super) async fn change_password(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed("/admin/account");
    }
    if form.get("new_password") != form.get("new_password2") {
        let mut r = Refusal::default();
        r.fields
            .insert("new_password2".into(), a.t().t("field-password2-mismatch"));
        r.notice = Some(a.t().t("form-has-errors"));
        return render_account(
            &a,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Which::Password,
            r,
        )
        .await;
    }
    let current = Some(form.get("current_password").to_owned());
    let new = form.get("new_password").to_owned();
    match account::change_password(a.state(), &a.admin, current, new).await {
        Ok(done) => see_other(&format!(
            "/admin/account?changed=1&sessions={}&keys={}",
            done.sessions_revoked, done.api_keys_revoked
        )),
        Err(e) => {
            let r = refusal(&a, &e, str::to_owned);
            super::sign_in::with_retry(
                render_account(&a, refused_status(&e), None, Which::Password, r).await,
                &e,
            )
        }
    }
}

#[derive(Template)]
#[template(path = "admin_account_totp.html")]
struct TotpPage {
    l: Layout,
    t: Tr,
    csrf: String,
    secret: String,
    /// The secret in groups of four, for typing.
    secret_grouped: String,
    qr: String,
    r: Refusal,
}

/// The enrolment page: the QR code, the secret to type, the form for the first code.
fn render_enrol(a: &AdminCtx, status: StatusCode, new: &account::NewTotp, r: Refusal) -> Response {
    let grouped = new
        .secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let page = TotpPage {
        l: a.layout(a.t().t("acc-totp-enrol-title"), "account"),
        t: a.t().clone(),
        csrf: a.csrf.clone(),
        secret: new.secret.clone(),
        secret_grouped: grouped,
        qr: super::invitations::qr_svg(&new.otpauth_uri),
        r,
    };
    html(status, &page)
}

/// `POST /admin/account/totp`: [`account::totp_setup`] (with the current password), then the
/// enrolment page as the answer.
pub(super) async fn totp_start(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed("/admin/account");
    }
    let current = Some(form.get("current_password").to_owned());
    match account::totp_setup(a.state(), &a.admin, current).await {
        Ok(new) => render_enrol(&a, StatusCode::OK, &new, Refusal::default()),
        // Already on (a second tab, a double submit): the page shows how things are.
        Err(e) if e.code() == ErrorCode::Conflict => see_other("/admin/account"),
        Err(e) => {
            let r = refusal(&a, &e, str::to_owned);
            super::sign_in::with_retry(
                render_account(&a, refused_status(&e), None, Which::TotpStart, r).await,
                &e,
            )
        }
    }
}

#[derive(Template)]
#[template(path = "admin_account_codes.html")]
struct CodesPage {
    l: Layout,
    t: Tr,
    csrf: String,
    /// TOTP was just turned on (else the codes were replaced).
    enabled_now: bool,
    codes: Vec<String>,
}

fn render_codes(a: &AdminCtx, enabled_now: bool, codes: Vec<String>) -> Response {
    let page = CodesPage {
        l: a.layout(a.t().t("acc-codes-title"), "account"),
        t: a.t().clone(),
        csrf: a.csrf.clone(),
        enabled_now,
        codes,
    };
    html(StatusCode::OK, &page)
}

/// `POST /admin/account/totp/confirm`: [`account::totp_confirm`] with the first code; TOTP is
/// on and the backup codes are the answer (shown this once). A wrong code shows the enrolment
/// again, from the secret the page already had ([`account::pending_totp`]).
pub(super) async fn totp_confirm(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed("/admin/account");
    }
    match account::totp_confirm(a.state(), &a.admin, form.get("code").trim()).await {
        Ok(codes) => render_codes(&a, true, codes),
        Err(e) => match account::pending_totp(a.state(), &a.admin, form.get("secret")).await {
            Ok(Some(new)) => {
                let r = refusal(&a, &e, str::to_owned);
                render_enrol(&a, refused_status(&e), &new, r)
            }
            // Nothing pending any more (confirmed elsewhere, or started again): the account
            // page shows how things are.
            _ if e.code() == ErrorCode::Conflict => see_other("/admin/account"),
            _ => {
                let r = refusal(&a, &e, str::to_owned);
                render_account(&a, refused_status(&e), None, Which::None, r).await
            }
        },
    }
}

/// `POST /admin/account/totp/disable`: [`account::totp_disable`] with the password and a
/// current code or a backup code.
pub(super) async fn totp_disable(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed("/admin/account");
    }
    let password = Some(form.get("password").to_owned());
    match account::totp_disable(a.state(), &a.admin, password, form.get("code")).await {
        Ok(()) => see_other("/admin/account?totp=off"),
        Err(e) if e.code() == ErrorCode::Conflict => see_other("/admin/account"),
        Err(e) => {
            let mut r = refusal(&a, &e, str::to_owned);
            if e.code() == ErrorCode::InvalidSecondFactor {
                r.fields
                    .insert("code".into(), a.t().t("acc-totp-code-wrong"));
            }
            super::sign_in::with_retry(
                render_account(&a, refused_status(&e), None, Which::TotpOff, r).await,
                &e,
            )
        }
    }
}

/// `POST /admin/account/backup-codes`: [`account::replace_backup_codes`] (with the password);
/// the new codes are the answer.
pub(super) async fn backup_codes(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed("/admin/account");
    }
    let password = Some(form.get("password").to_owned());
    match account::replace_backup_codes(a.state(), &a.admin, password).await {
        Ok(codes) => render_codes(&a, false, codes),
        Err(e) if e.code() == ErrorCode::Conflict => see_other("/admin/account"),
        Err(e) => {
            let r = refusal(&a, &e, str::to_owned);
            super::sign_in::with_retry(
                render_account(&a, refused_status(&e), None, Which::Codes, r).await,
                &e,
            )
        }
    }
}

/// Whether `code` has the form of a backup code ([`totp::new_backup_codes`]).
fn looks_like_backup_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 11
        && b[5] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 5 || c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// `POST /admin/account/backup-codes/download`: the codes the page shows, posted back by its
/// download button, as a text file. The daemon keeps only their hashes, so the page sends them;
/// only well-formed codes are written (nothing else can be smuggled into the file).
pub(super) async fn backup_codes_download(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed("/admin/account");
    }
    let codes = form.all("code");
    if codes.is_empty()
        || codes.len() > totp::BACKUP_CODES
        || !codes.iter().all(|c| looks_like_backup_code(c))
    {
        return message(
            &a.ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            "acc-codes-title",
            a.t().t("acc-codes-download-invalid"),
            Some(ErrorCode::ValidationFailed.as_str()),
            vec![("/admin/account".to_owned(), a.t().t("acc-back"))],
        );
    }
    let instance = a.ctx.layout(String::new()).instance;
    let mut body = a.t().t1(
        "acc-codes-file-heading",
        "name",
        &format!("{instance} ({})", a.admin.username),
    );
    body.push_str("\r\n\r\n");
    for code in codes {
        body.push_str(code);
        body.push_str("\r\n");
    }
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"zondarr-backup-codes.txt\""),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Sessions

#[derive(Debug)]
struct SessionRow {
    id: i64,
    current: bool,
    ip: String,
    agent: String,
    signed_in: String,
    last_seen: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "admin_account_sessions.html")]
struct SessionsPage {
    l: Layout,
    t: Tr,
    csrf: String,
    tab: &'static str,
    rows: Vec<SessionRow>,
    others: i64,
    flash: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct SessionsQuery {
    revoked: Option<i64>,
}

/// `GET /admin/account/sessions`: every session of the admin with where (address and browser
/// as stored at sign-in) and when; this one marked.
pub(super) async fn sessions_page(a: AdminCtx, Query(q): Query<SessionsQuery>) -> Response {
    let list = match api_keys::sessions(a.state(), &a.admin).await {
        Ok(list) => list,
        Err(e) => return e.into_response(),
    };
    let current = a.admin.session_id();
    let dash = || "–".to_owned();
    let rows: Vec<SessionRow> = list
        .into_iter()
        .map(|s| SessionRow {
            id: s.id,
            current: Some(s.id) == current,
            ip: s.ip.unwrap_or_else(dash),
            agent: s.user_agent.unwrap_or_else(dash),
            signed_in: local_time(&a.ctx, &s.created_at),
            last_seen: local_time(&a.ctx, &s.last_seen_at),
            expires: local_time(&a.ctx, &s.expires_at),
        })
        .collect();
    let others = rows.iter().filter(|r| !r.current).count() as i64;
    let t = a.t();
    let page = SessionsPage {
        l: a.layout(t.t("acc-sessions-title"), "account"),
        t: t.clone(),
        csrf: a.csrf.clone(),
        tab: "sessions",
        rows,
        others,
        flash: q
            .revoked
            .map(|n| t.n("acc-sessions-revoked", "count", n.max(0))),
    };
    html(StatusCode::OK, &page)
}

/// `POST /admin/account/sessions/{id}/revoke`: [`api_keys::revoke_session`].
pub(super) async fn session_revoke(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed("/admin/account/sessions");
    }
    if Some(id) == a.admin.session_id() {
        // This session ends with "Sign out"; revoking it here would leave a page with no way on.
        return see_other("/admin/sign-out");
    }
    match api_keys::revoke_session(a.state(), &a.admin, id).await {
        Ok(()) => see_other("/admin/account/sessions?revoked=1"),
        Err(e) if e.code() == ErrorCode::NotFound => see_other("/admin/account/sessions"),
        Err(e) => e.into_response(),
    }
}

/// `POST /admin/account/sessions/revoke-others`: [`api_keys::revoke_other_sessions`].
pub(super) async fn sessions_revoke_others(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed("/admin/account/sessions");
    }
    match api_keys::revoke_other_sessions(a.state(), &a.admin).await {
        Ok(n) => see_other(&format!("/admin/account/sessions?revoked={n}")),
        Err(e) => e.into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// API keys

const KEYS_PER_PAGE: u32 = 25;

#[derive(Debug)]
struct KeyRow {
    id: i64,
    name: String,
    prefix: String,
    scope: String,
    created: String,
    expires: String,
    last_used: String,
    /// `active`, `expired` or `revoked`, and its label.
    state: (&'static str, String),
}

#[derive(Template)]
#[template(path = "admin_account_keys.html")]
struct KeysPage {
    l: Layout,
    t: Tr,
    csrf: String,
    tab: &'static str,
    rows: Vec<KeyRow>,
    total: i64,
    pages: Vec<(u32, String, bool)>,
    flash: Option<String>,
    r: Refusal,
    has_password: bool,
    name: String,
    scope: String,
    expires: String,
    tz: String,
    tz_minutes: i32,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct KeysQuery {
    page: Option<u32>,
    revoked: Option<String>,
}

/// What the create form held, to show again after a refusal (never the password).
#[derive(Debug, Default)]
struct KeyValues {
    name: String,
    scope: String,
    expires: String,
}

async fn render_keys(
    a: &AdminCtx,
    status: StatusCode,
    page_no: u32,
    flash: Option<String>,
    values: KeyValues,
    r: Refusal,
) -> Response {
    let page_no = page_no.max(1);
    let offset = i64::from((page_no - 1) * KEYS_PER_PAGE);
    let (list, total) = match api_keys::list(a.state(), i64::from(KEYS_PER_PAGE), offset).await {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let t = a.t();
    let now = chrono::Utc::now();
    let never = t.t("acc-never");
    let rows = list
        .into_iter()
        .map(|k| {
            let expired = k
                .expires_at
                .as_deref()
                .and_then(crate::db::time::parse)
                .is_some_and(|at| at <= now);
            let state = if k.revoked_at.is_some() {
                ("revoked", t.t("acc-key-revoked"))
            } else if expired {
                ("expired", t.t("acc-key-expired"))
            } else {
                ("active", t.t("acc-key-active"))
            };
            KeyRow {
                id: k.id,
                scope: match Scope::parse(&k.scope) {
                    Some(Scope::Admin) => t.t("acc-scope-admin"),
                    _ => t.t("acc-scope-read"),
                },
                name: k.name,
                prefix: k.prefix,
                created: local_time(&a.ctx, &k.created_at),
                expires: k
                    .expires_at
                    .as_deref()
                    .map_or_else(|| never.clone(), |at| local_time(&a.ctx, at)),
                last_used: k
                    .last_used_at
                    .as_deref()
                    .map_or_else(|| never.clone(), |at| local_time(&a.ctx, at)),
                state,
            }
        })
        .collect();
    let offset_tz = tz_offset(&a.ctx);
    let page = KeysPage {
        l: a.layout(t.t("acc-keys-title"), "account"),
        t: t.clone(),
        csrf: a.csrf.clone(),
        tab: "keys",
        rows,
        total,
        pages: pages("/admin/account/api-keys", page_no, KEYS_PER_PAGE, total),
        flash,
        r,
        has_password: has_password(a).await,
        name: values.name,
        scope: if values.scope.is_empty() {
            "read".to_owned()
        } else {
            values.scope
        },
        expires: values.expires,
        tz: offset_tz.to_string(),
        tz_minutes: offset_tz.local_minus_utc() / 60,
    };
    html(status, &page)
}

/// `GET /admin/account/api-keys`: the keys (newest first) and the form for a new one.
pub(super) async fn keys_page(a: AdminCtx, Query(q): Query<KeysQuery>) -> Response {
    let flash = q.revoked.map(|_| a.t().t("acc-key-revoked-flash"));
    render_keys(
        &a,
        StatusCode::OK,
        q.page.unwrap_or(1),
        flash,
        KeyValues::default(),
        Refusal::default(),
    )
    .await
}

#[derive(Template)]
#[template(path = "admin_account_key_created.html")]
struct KeyCreatedPage {
    l: Layout,
    t: Tr,
    name: String,
    prefix: String,
    scope: String,
    expires: String,
    key: String,
}

/// `POST /admin/account/api-keys`: [`api_keys::create`] (with the current password); the key
/// is the answer, shown this once.
pub(super) async fn key_create(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed("/admin/account/api-keys");
    }
    let values = KeyValues {
        name: form.get("name").to_owned(),
        scope: form.get("scope").to_owned(),
        expires: form.get("expires_at").trim().to_owned(),
    };
    let expires_at = if values.expires.is_empty() {
        None
    } else {
        let minutes = form.get("tz").parse::<i32>().ok();
        match from_local_input(&a.ctx, minutes, &values.expires) {
            Some(at) => Some(at),
            None => {
                let mut r = Refusal::default();
                r.fields
                    .insert("expires_at".into(), a.t().t("field-datetime"));
                r.notice = Some(a.t().t("form-has-errors"));
                r.code = Some(ErrorCode::ValidationFailed.as_str());
                return render_keys(&a, StatusCode::UNPROCESSABLE_ENTITY, 1, None, values, r).await;
            }
        }
    };
    let new = api_keys::NewKey {
        name: values.name.clone(),
        scope: values.scope.clone(),
        expires_at,
        current_password: Some(form.get("current_password").to_owned()),
    };
    match api_keys::create(a.state(), &a.admin, new).await {
        Ok(k) => {
            let t = a.t();
            let page = KeyCreatedPage {
                l: a.layout(t.t("acc-key-created-title"), "account"),
                t: t.clone(),
                scope: match k.scope {
                    Scope::Admin => t.t("acc-scope-admin"),
                    Scope::Read => t.t("acc-scope-read"),
                },
                expires: k
                    .expires_at
                    .as_deref()
                    .map_or_else(|| t.t("acc-never"), |at| local_time(&a.ctx, at)),
                name: k.name,
                prefix: k.prefix,
                key: k.key,
            };
            html(StatusCode::CREATED, &page)
        }
        Err(e) => {
            let r = refusal(&a, &e, str::to_owned);
            super::sign_in::with_retry(
                render_keys(&a, refused_status(&e), 1, None, values, r).await,
                &e,
            )
        }
    }
}

#[derive(Template)]
#[template(path = "admin_account_key_revoke.html")]
struct KeyRevokePage {
    l: Layout,
    t: Tr,
    csrf: String,
    id: i64,
    prefix: String,
    has_password: bool,
    r: Refusal,
}

async fn render_revoke(a: &AdminCtx, id: i64, status: StatusCode, r: Refusal) -> Response {
    let key = match api_keys::get(a.state(), id).await {
        Ok(key) if key.revoked_at.is_none() => key,
        Ok(_) => return see_other("/admin/account/api-keys"),
        Err(_) => {
            return message(
                &a.ctx,
                StatusCode::NOT_FOUND,
                "error-not-found-title",
                a.t().t("code-not-found"),
                Some(ErrorCode::NotFound.as_str()),
                vec![("/admin/account/api-keys".to_owned(), a.t().t("acc-back"))],
            );
        }
    };
    let t = a.t();
    let page = KeyRevokePage {
        l: a.layout(t.t1("acc-key-revoke-title", "name", &key.name), "account"),
        t: t.clone(),
        csrf: a.csrf.clone(),
        id,
        prefix: key.prefix,
        has_password: has_password(a).await,
        r,
    };
    html(status, &page)
}

/// `GET /admin/account/api-keys/{id}/revoke`: what revoking means, and the password.
pub(super) async fn key_revoke_page(a: AdminCtx, Path(id): Path<i64>) -> Response {
    render_revoke(&a, id, StatusCode::OK, Refusal::default()).await
}

/// `POST /admin/account/api-keys/{id}/revoke`: [`api_keys::revoke`] (with the password).
pub(super) async fn key_revoke(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    let back = format!("/admin/account/api-keys/{id}/revoke");
    if !a.form_ok(&form) {
        return a.csrf_failed(&back);
    }
    let password = Some(form.get("current_password").to_owned());
    match api_keys::revoke(a.state(), &a.admin, id, password).await {
        Ok(()) => see_other("/admin/account/api-keys?revoked=1"),
        Err(e) if matches!(e.code(), ErrorCode::Conflict) => see_other("/admin/account/api-keys"),
        Err(e) => {
            let r = refusal(&a, &e, str::to_owned);
            super::sign_in::with_retry(render_revoke(&a, id, refused_status(&e), r).await, &e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_backup_codes_go_into_the_file() {
        for (code, _) in totp::new_backup_codes() {
            assert!(looks_like_backup_code(&code), "{code}");
        }
        for bad in [
            "",
            "abcde-fghi",
            "abcde_fghij",
            "ABCDE-FGHIJ",
            "abcde-fghij\r\nX",
            "<scri-pt>ab",
        ] {
            assert!(!looks_like_backup_code(bad), "{bad:?}");
        }
    }
}

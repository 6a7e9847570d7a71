//! The admin's pages: first-run setup, sign-in (password, then TOTP or a backup code), sign-out,
//! the dashboard, invitations and servers; the ops pages (plugins, settings, jobs, logs, audit)
//! each bring their own `routes()`, merged here.
//!
//! Same rules as the join pages: a handler parses the request, calls one domain function (the
//! ones the JSON API calls: [`crate::invitations`], [`crate::servers`], [`crate::dashboard`],
//! [`crate::auth::sign_in`] and [`crate::auth::external`]) and renders a page. Every page works without
//! JavaScript; `admin.js` only adds the copy button, the password strength meter, the
//! in-place "Test connection" and the live log tail.
//!
//! **Sessions** are the JSON API's: the same cookie, issued by the same sign-in code, checked by
//! [`crate::auth::authenticate_session`]. A form carries the session's synchronizer token
//! (`csrf`), compared in constant time; the session cookie is `SameSite=Lax`, so another site
//! cannot post with it, and cannot read the token either. A request without a valid session
//! goes to `/admin/sign-in?next=<the page>` (only local paths are followed), which comes back
//! to that page after signing in.

use super::i18n::Tr;
use super::{Ctx, Layout, html, percent_encode, see_other};
use crate::auth::{Actor, Admin, Via};
use crate::error::{Error, ErrorCode};
use crate::state::AppState;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::BTreeMap;

mod account;
mod audit;
mod dashboard;
pub mod drafts;
mod invitations;
mod jobs;
mod logs;
#[cfg(test)]
mod ops_tests;
mod permissions;
mod plugins;
mod servers;
mod settings;
mod sign_in;
mod users;
mod users_bulk;
mod wizards;

/// The admin routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/setup",
            get(sign_in::setup_page).post(sign_in::setup_submit),
        )
        .route(
            "/admin/sign-in",
            get(sign_in::sign_in_page).post(sign_in::sign_in_submit),
        )
        .route(
            "/admin/sign-in/code",
            axum::routing::post(sign_in::code_submit),
        )
        .route(
            "/admin/sign-in/server/{id}",
            axum::routing::post(sign_in::server_submit),
        )
        .route(
            "/admin/sign-in/server/{id}/link",
            get(sign_in::server_link_start),
        )
        .route(
            "/admin/sign-in/server/{id}/link/{challenge}",
            get(sign_in::server_link_return),
        )
        .route(
            "/admin/sign-out",
            get(sign_in::sign_out_page).post(sign_in::sign_out_submit),
        )
        .route("/admin", get(dashboard::page))
        .route("/admin/invitations", get(invitations::list))
        .route(
            "/admin/invitations/new",
            get(invitations::new_page).post(invitations::create),
        )
        .route("/admin/invitations/{id}", get(invitations::show))
        .route(
            "/admin/invitations/{id}/edit",
            get(invitations::edit_page).post(invitations::edit),
        )
        .route(
            "/admin/invitations/{id}/delete",
            get(invitations::delete_page).post(invitations::delete),
        )
        .route("/admin/servers", get(servers::list))
        .route(
            "/admin/servers/new",
            get(servers::new_page).post(servers::create),
        )
        .route("/admin/servers/{id}", get(servers::show))
        .route(
            "/admin/servers/{id}/edit",
            get(servers::edit_page).post(servers::edit),
        )
        .route(
            "/admin/servers/{id}/enabled",
            axum::routing::post(servers::set_enabled),
        )
        .route(
            "/admin/servers/{id}/sync",
            axum::routing::post(servers::sync),
        )
        .route(
            "/admin/servers/{id}/exclusions",
            axum::routing::post(servers::exclusions),
        )
        .route(
            "/admin/servers/{id}/delete",
            get(servers::delete_page).post(servers::delete),
        )
        .merge(wizards::routes())
        .merge(plugins::routes())
        .merge(settings::routes())
        .merge(jobs::routes())
        .merge(logs::routes())
        .merge(audit::routes())
        .merge(users::routes())
        .route_layer(axum::middleware::from_fn(drafts::keep_body))
        // After the drafts layer: nothing posted to the account pages is kept (secrets, codes).
        .merge(account::routes())
}

/// `GET /`: setup on a fresh install, else the dashboard (which asks to sign in first).
pub async fn root(ctx: Ctx) -> Response {
    match ctx.state().security().refresh_setup(ctx.state().db()).await {
        Ok(false) => see_other("/setup"),
        _ => see_other("/admin"),
    }
}

/// A `next` target: a local path only (never `//host`, a URL or a backslash trick), else the
/// dashboard.
pub fn local_next(next: Option<&str>) -> String {
    next.filter(|n| {
        n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.contains(['\r', '\n'])
    })
    .map_or_else(|| "/admin".to_owned(), str::to_owned)
}

/// A signed-in admin's request: the page context, the admin and the session's form token.
pub struct AdminCtx {
    /// The page context.
    pub ctx: Ctx,
    /// The admin.
    pub admin: Admin,
    /// The session's synchronizer token, put in every form as `csrf`.
    pub csrf: String,
}

impl FromRequestParts<AppState> for AdminCtx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<AdminCtx, Response> {
        let ctx = Ctx::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match state.security().refresh_setup(state.db()).await {
            Ok(true) => {}
            Ok(false) => return Err(see_other("/setup")),
            Err(e) => return Err(e.into_response()),
        }
        let to_sign_in = |expired: bool| {
            // A form posted after the session ended: keep what was typed for the way back to
            // the page the form was on (its own path when the browser does not say).
            let posted = parts.extensions.get::<drafts::PostedForm>();
            let page = posted
                .and_then(|_| drafts::form_page(state, &parts.headers))
                .unwrap_or_else(|| ctx.path_and_query.clone());
            let page_path = page.split('?').next().unwrap_or_default();
            let draft = posted.and_then(|posted| {
                ctx.web
                    .drafts
                    .keep(state, page_path, &parts.headers, posted)
            });
            let next = match &draft {
                Some((id, _)) if page.contains('?') => format!("{page}&draft={id}"),
                Some((id, _)) => format!("{page}?draft={id}"),
                None => page.clone(),
            };
            let next = percent_encode(&next);
            let expired = if expired { "&expired=1" } else { "" };
            let mut response = see_other(&format!("/admin/sign-in?next={next}{expired}"));
            if let Some((_, cookie)) = draft
                && let Ok(v) = HeaderValue::from_str(&cookie)
            {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        };
        let Some(token) =
            crate::auth::session_token(&parts.headers, state.security().cookie_name())
        else {
            return Err(to_sign_in(false));
        };
        match crate::auth::authenticate_session(state, token, ctx.ip.clone()).await {
            Ok((admin, csrf)) => Ok(AdminCtx { ctx, admin, csrf }),
            Err(e) if e.code() == ErrorCode::Unauthenticated => Err(to_sign_in(true)),
            Err(e) => Err(e.into_response()),
        }
    }
}

impl AdminCtx {
    /// The audit actor.
    pub fn actor(&self) -> Actor {
        (&self.admin).into()
    }

    /// Whether a form's `csrf` value is this session's token.
    pub fn form_ok(&self, form: &Form) -> bool {
        matches!(self.admin.via, Via::Session { .. })
            && crate::crypto::constant_time_eq(form.get("csrf").as_bytes(), self.csrf.as_bytes())
    }

    /// The layout of an admin page: the navigation marks `section`.
    pub fn layout(&self, title: String, section: &'static str) -> Layout {
        let mut l = self.ctx.admin_layout(title);
        l.admin = Some(Nav {
            section,
            username: self.admin.username.clone(),
            csrf: self.csrf.clone(),
        });
        l
    }

    /// The draft `id` of the form on this page (see [`drafts`]), taken once.
    pub fn take_draft(&self, id: Option<&str>) -> Option<Form> {
        let path = self
            .ctx
            .path_and_query
            .split('?')
            .next()
            .unwrap_or_default();
        self.ctx.web.drafts.take(id?, path, &self.ctx.cookies)
    }

    /// The translator.
    pub fn t(&self) -> &Tr {
        &self.ctx.t
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        self.ctx.state()
    }

    /// "This form has expired" (a token that does not match the session).
    pub fn csrf_failed(&self, back: &str) -> Response {
        message(
            &self.ctx,
            StatusCode::FORBIDDEN,
            "csrf-title",
            self.t().t("admin-csrf-text"),
            Some(ErrorCode::CsrfFailed.as_str()),
            vec![(back.to_owned(), self.t().t("try-again"))],
        )
    }
}

/// The admin navigation in the layout's header.
#[derive(Debug, Clone)]
pub struct Nav {
    /// `dashboard`, `invitations`, `servers`, `plugins`, `settings`, `jobs`, `logs` or `audit`.
    pub section: &'static str,
    /// Who is signed in.
    pub username: String,
    /// For the sign-out form.
    pub csrf: String,
}

/// A submitted form: every pair, in order (checkbox groups repeat a name).
#[derive(Debug, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// The first value of `key`, or "".
    pub fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The value of `key` trimmed, `None` when empty.
    pub fn opt(&self, key: &str) -> Option<String> {
        let v = self.get(key).trim();
        (!v.is_empty()).then(|| v.to_owned())
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether a checkbox `key` was checked.
    pub fn checked(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }
}

/// What a refused form shows: errors by field, a notice for the rest, the stable code.
#[derive(Debug, Default)]
pub struct Refusal {
    /// Field errors by the form's field name.
    pub fields: BTreeMap<String, String>,
    /// A message not tied to a field.
    pub notice: Option<String>,
    /// The API's error code.
    pub code: Option<&'static str>,
}

impl Refusal {
    /// From a domain error: field errors go next to their fields (`rename` maps the API's field
    /// names to the form's), the rest into the notice, in the page's language where the
    /// catalogue has a message for the code.
    pub fn from_error(t: &Tr, e: &Error, rename: impl Fn(&str) -> String) -> Refusal {
        let mut out = Refusal {
            code: Some(e.code().as_str()),
            ..Refusal::default()
        };
        if let Error::Client { fields, .. } = e {
            for f in fields {
                out.fields
                    .entry(rename(&f.field))
                    .or_insert_with(|| crate::web::field_messages::translate(t, &f.message));
            }
        }
        let key = match e.code() {
            ErrorCode::InvalidCredentials => Some("code-invalid-credentials"),
            ErrorCode::Conflict => Some("code-conflict"),
            ErrorCode::SetupHostRefused => Some("code-setup-host-refused"),
            ErrorCode::NotFound => Some("code-not-found"),
            ErrorCode::ValidationFailed => Some("form-has-errors"),
            ErrorCode::RemoteUnauthorized
            | ErrorCode::RemoteForbidden
            | ErrorCode::ServerUrlNotFound
            | ErrorCode::RemoteUnreachable
            | ErrorCode::RemoteTimeout
            | ErrorCode::RemoteError => Some("code-remote"),
            _ => None,
        };
        out.notice = Some(match key {
            Some(key) => t.t(key),
            None if out.fields.is_empty() => e.public_message(),
            None => t.t("form-has-errors"),
        });
        out
    }
}

/// A message page (errors, confirmations without a form).
pub fn message(
    ctx: &Ctx,
    status: StatusCode,
    key: &str,
    text: String,
    code: Option<&'static str>,
    links: Vec<(String, String)>,
) -> Response {
    let heading = ctx.t.t(key);
    let page = super::MessagePage {
        l: ctx.layout(heading.clone()),
        t: ctx.t.clone(),
        heading,
        text,
        code,
        links,
    };
    html(status, &page)
}

/// A rendered page with a status and a `Set-Cookie`.
pub fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// The status of a refused form: the code's 4xx, or 422 when the API would answer 5xx for
/// what the media server said (the page itself worked: it shows the answer next to the field).
pub fn refused_status(e: &Error) -> StatusCode {
    let s = e.code().status();
    if s.is_server_error() && e.code() != ErrorCode::Internal {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        s
    }
}

/// An RFC 3339 time in the admin's time zone (the `tz` cookie, minutes east of UTC set by
/// `admin.js`; UTC without it), in the page's language.
pub fn local_time(ctx: &Ctx, rfc3339: &str) -> String {
    let offset = tz_offset(ctx);
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => {
            let t = t.with_timezone(&offset);
            let fmt = ctx.t.t("format-datetime-local");
            let mut s = t
                .format_localized(&fmt, ctx.t.lang.chrono_locale())
                .to_string();
            if offset.local_minus_utc() == 0 {
                s.push_str(" UTC");
            }
            s
        }
        Err(_) => rfc3339.to_owned(),
    }
}

/// The admin's UTC offset from the `zondarr_tz` cookie (minutes east of UTC, as `admin.js`
/// sets it); UTC without one.
pub fn tz_offset(ctx: &Ctx) -> chrono::FixedOffset {
    super::cookie(&ctx.cookies, "zondarr_tz")
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|m| (-14 * 60..=14 * 60).contains(m))
        .and_then(|m| chrono::FixedOffset::east_opt(m * 60))
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).unwrap_or(chrono::Utc.fix()))
}

use chrono::{Offset, TimeZone};

/// A `datetime-local` value (`2027-01-31T18:30`) in the admin's time zone as RFC 3339 UTC.
/// `minutes` is the offset the form was rendered with (its `tz` field); without it, the cookie's.
pub fn from_local_input(ctx: &Ctx, minutes: Option<i32>, value: &str) -> Option<String> {
    let naive = chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    let offset = minutes
        .filter(|m| (-14 * 60..=14 * 60).contains(m))
        .and_then(|m| chrono::FixedOffset::east_opt(m * 60))
        .unwrap_or_else(|| tz_offset(ctx));
    let t = offset.from_local_datetime(&naive).single()?;
    Some(crate::db::time::fmt(t.with_timezone(&chrono::Utc)))
}

/// An RFC 3339 time as a `datetime-local` value in the admin's time zone.
pub fn to_local_input(ctx: &Ctx, rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&tz_offset(ctx))
                .format("%Y-%m-%dT%H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// Page links of a list: (label, href, current).
pub fn pages(base: &str, page: u32, per_page: u32, total: i64) -> Vec<(u32, String, bool)> {
    let last = (total.max(0) as u64).div_ceil(u64::from(per_page)).max(1) as u32;
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut shown: Vec<u32> = vec![1, page.saturating_sub(1), page, page + 1, last];
    shown.retain(|p| (1..=last).contains(p));
    shown.sort_unstable();
    shown.dedup();
    shown
        .into_iter()
        .map(|p| (p, format!("{base}{sep}page={p}"), p == page))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_a_local_path_only() {
        assert_eq!(
            local_next(Some("/admin/invitations?status=active")),
            "/admin/invitations?status=active"
        );
        for evil in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "",
            "admin",
        ] {
            assert_eq!(local_next(Some(evil)), "/admin", "{evil}");
        }
        assert_eq!(local_next(None), "/admin");
    }

    #[test]
    fn page_links_around_the_current_page() {
        let p = pages("/admin/invitations?status=active", 5, 50, 1000);
        let numbers: Vec<u32> = p.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(numbers, [1, 4, 5, 6, 20]);
        assert_eq!(p[2].1, "/admin/invitations?status=active&page=5");
        assert!(p[2].2);
        assert_eq!(pages("/x", 1, 50, 0).len(), 1);
    }
}

//! What the admin typed survives a session that ended mid-form.
//!
//! A form posted without a valid session goes to sign-in like any admin request; before that,
//! its fields are kept here, in memory, under a random id for ten minutes. The sign-in's `next`
//! carries `draft=<id>` back to the form's page, which fills the form from the draft once (the
//! draft is taken, not read) and says so. Nothing secret is kept: no CSRF token, no password or
//! code field, no connector setting any loaded connector declares secret — those are typed again.
//!
//! A draft is only kept for a post the browser marks as coming from this site (`Origin` equal to
//! the public origin, or `Sec-Fetch-Site: same-origin`), and is only given back to the browser
//! holding the `zondarr_draft` cookie set with it, so another site cannot plant values in the
//! admin's forms. The table is bounded: a flood of posts without a session only pushes out the
//! oldest drafts.

use super::Form;
use crate::crypto::random_token;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The cookie naming the browser's draft.
pub const DRAFT_COOKIE: &str = "zondarr_draft";
/// How long a draft is kept.
const TTL: Duration = Duration::from_secs(10 * 60);
/// Most drafts kept at once.
const MAX_DRAFTS: usize = 64;
/// Largest form body kept (admin forms are a few kilobytes).
const MAX_BODY: usize = 64 * 1024;
/// Fields never kept.
const NEVER: &[&str] = &[
    "csrf",
    "form_id",
    "op",
    "password",
    "password2",
    "current_password",
    "new_password",
    "code",
];

struct Draft {
    path: String,
    fields: Vec<(String, String)>,
    at: Instant,
}

/// The drafts of forms posted after the session ended.
#[derive(Default)]
pub struct Drafts {
    map: Mutex<HashMap<String, Draft>>,
}

/// The raw body of an admin form post, kept by [`keep_body`] for the session check.
#[derive(Clone)]
pub struct PostedForm(axum::body::Bytes);

/// Middleware on the admin routes: keep a copy of a posted form's body in the request, so the
/// session check can save it as a draft when the session has ended. Other requests pass as
/// they are.
pub async fn keep_body(req: Request, next: Next) -> Response {
    let is_form = req.method() == Method::POST
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        // Too large for any admin form: refused as the form extractor would refuse it.
        return axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    parts.extensions.insert(PostedForm(bytes.clone()));
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Whether the browser says the post comes from this site.
fn same_site(state: &AppState, headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    header("sec-fetch-site") == Some("same-origin")
        || header("origin")
            .is_some_and(|o| o.eq_ignore_ascii_case(&state.security().public_origin()))
}

/// The admin page a form was posted from (its `Referer`, when the browser says the post comes
/// from this site): path and query, without an earlier `draft`. A form often posts to an action
/// with no page of its own (`/admin/servers/3/sync`); sign-in then returns to this page.
pub fn form_page(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if !same_site(state, headers) {
        return None;
    }
    let referer: axum::http::Uri = headers.get(header::REFERER)?.to_str().ok()?.parse().ok()?;
    let authority = referer.authority()?.as_str();
    let origin = format!("{}://{authority}", referer.scheme_str()?);
    let from_here = origin.eq_ignore_ascii_case(&state.security().public_origin())
        || headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| h.eq_ignore_ascii_case(authority));
    if !from_here || !referer.path().starts_with("/admin") {
        return None;
    }
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(referer.query().unwrap_or_default())
            .ok()?
            .into_iter()
            .filter(|(k, _)| k != "draft")
            .collect();
    let mut page = referer.path().to_owned();
    if !query.is_empty() {
        page.push('?');
        page.push_str(&serde_urlencoded::to_string(query).ok()?);
    }
    Some(page)
}

/// Connector settings any loaded connector declares secret (`config.<key>`).
fn secret_settings(state: &AppState) -> Vec<String> {
    let plugins = state.plugins();
    plugins
        .ids()
        .into_iter()
        .filter_map(|id| plugins.manifest(&id))
        .flat_map(|m| {
            m.config
                .into_iter()
                .filter(|f| f.kind == crate::plugins::ValueKind::Secret)
                .map(|f| format!("config.{}", f.key))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The fields of a posted form worth keeping: everything but [`NEVER`] and `secrets`; `None`
/// when nothing is left or the body is not a form.
fn kept_fields(body: &[u8], secrets: &[String]) -> Option<Vec<(String, String)>> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .filter(|(k, _)| !NEVER.contains(&k.as_str()) && !secrets.contains(k))
        .collect();
    (!fields.is_empty()).then_some(fields)
}

impl Drafts {
    /// Keep the fields of a form posted to `path` without a session; the id and the cookie to
    /// set, or `None` when there is nothing to keep or the post did not come from this site.
    pub fn keep(
        &self,
        state: &AppState,
        path: &str,
        headers: &HeaderMap,
        posted: &PostedForm,
    ) -> Option<(String, String)> {
        if !same_site(state, headers) {
            return None;
        }
        let fields = kept_fields(&posted.0, &secret_settings(state))?;
        let id = random_token(18);
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, d| d.at.elapsed() < TTL);
        while map.len() >= MAX_DRAFTS {
            let Some(oldest) = map.iter().min_by_key(|(_, d)| d.at).map(|(k, _)| k.clone()) else {
                break;
            };
            map.remove(&oldest);
        }
        map.insert(
            id.clone(),
            Draft {
                path: path.to_owned(),
                fields,
                at: Instant::now(),
            },
        );
        let secure = if state.security().secure_cookies() {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!(
            "{DRAFT_COOKIE}={id}; Path=/admin; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
            TTL.as_secs()
        );
        Some((id, cookie))
    }

    /// Take the draft `id` of the form at `path`, if this browser holds its cookie.
    pub fn take(&self, id: &str, path: &str, cookies: &str) -> Option<Form> {
        if super::super::cookie(cookies, DRAFT_COOKIE) != Some(id) {
            return None;
        }
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let draft = map.remove(id)?;
        (draft.path == path && draft.at.elapsed() < TTL).then_some(Form(draft.fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_tokens_and_passwords_are_never_kept() {
        let body =
            b"csrf=tok&form_id=f&op=test&name=Home&url=http%3A%2F%2Fjf&config.api_key=s3cret\
&config.admin_user=root&password=hunter2&password2=hunter2&current_password=x&new_password=y\
&code=123456&note=half%0Atyped&server=1&server=2";
        let kept = kept_fields(body, &["config.api_key".to_owned()]).unwrap();
        assert_eq!(
            kept,
            [
                ("name", "Home"),
                ("url", "http://jf"),
                ("config.admin_user", "root"),
                ("note", "half\ntyped"),
                ("server", "1"),
                ("server", "2"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(kept_fields(b"csrf=tok&password=x", &[]), None);
    }
}

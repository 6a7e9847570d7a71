//! The HTML skin: server-rendered pages over the same domain functions the JSON API calls
//! (`crate::join`, `crate::redemption`, `crate::wizard`). A handler here extracts the request,
//! calls one domain function and renders an askama page; it holds no business rule.
//!
//! * **Templates** live in one folder, `host/src/web/templates/` (configured in
//!   `host/askama.toml`), one struct per page or partial (partials end in `_partial.html`).
//!   One folder rather than files beside each handler because every page extends the same
//!   layout and includes the same partials, and askama resolves `extends`/`include` against its
//!   template folders: one folder keeps those paths plain, and lets whoever edits markup or
//!   wording see all of it together. The structs stay next to their handlers.
//! * **Strings** come from the Fluent catalogues ([`i18n`]); **assets** are embedded and served
//!   under content-hashed names ([`assets`]); **forms** carry a CSRF token bound to a
//!   short-lived cookie and are submitted once ([`forms`]).
//! * **Errors**: a browser (`Accept: text/html`, outside `/api/`) gets an HTML page with the
//!   message and the request id ([`error_page`], called by `http::front`); an API
//!   client keeps the JSON envelope.
//! * **Security**: the daemon's Content-Security-Policy (`script-src 'self'`, no inline script
//!   or style) applies unchanged; pages work without JavaScript, `join.js` only enhances.
//!   Nothing internal (server URLs, tokens, SQL, paths) is rendered.

pub mod admin;
pub mod assets;
pub mod field_messages;
pub mod forms;
pub mod i18n;
pub mod join;

use crate::error::ErrorCode;
use crate::http::RequestId;
use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use i18n::{Catalogues, Lang, Tr};
use std::sync::Arc;

/// What the pages share: the catalogues, the assets, the in-flight form submissions and the
/// daemon's state (for error pages rendered by the middleware, which has no handler state).
pub struct Web {
    state: AppState,
    catalogues: Arc<Catalogues>,
    assets: assets::Assets,
    once: forms::Once,
    drafts: admin::drafts::Drafts,
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Web")
    }
}

impl Web {
    /// Load the catalogues and hash the assets.
    pub fn new(state: AppState) -> Arc<Web> {
        Arc::new(Web {
            state,
            catalogues: Arc::new(Catalogues::load()),
            assets: assets::Assets::load(),
            once: forms::Once::default(),
            drafts: admin::drafts::Drafts::default(),
        })
    }
}

/// The page routes (public; no `/api` prefix).
pub fn router(web: Arc<Web>) -> Router<AppState> {
    Router::new()
        .route("/", get(admin::root))
        .route("/assets/{name}", get(assets::serve))
        .route("/theme/{file}", get(assets::theme))
        .route("/lang/{tag}", get(switch_language))
        .merge(join::router())
        .merge(admin::router())
        .layer(axum::Extension(web))
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

fn cookie_header(headers: &HeaderMap) -> &str {
    headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The language of a request: switcher cookie, then `Accept-Language`, then the setting.
fn language(headers: &HeaderMap, state: &AppState) -> Lang {
    i18n::from_cookie(cookie_header(headers))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(i18n::from_accept_language)
        })
        .or_else(|| {
            state
                .live()
                .get()
                .value("ui.default_language")
                .and_then(|(v, _)| Lang::parse(v))
        })
        .unwrap_or(Lang::En)
}

/// A link of the language switcher.
#[derive(Debug)]
pub struct LangLink {
    /// Language tag.
    pub tag: &'static str,
    /// Its own name.
    pub name: &'static str,
    /// `/lang/{tag}?back=…`.
    pub href: String,
    /// Whether it is the page's language.
    pub current: bool,
}

/// What the layout (`base.html`) shows around every page.
#[derive(Debug)]
pub struct Layout {
    /// `lang` attribute.
    pub lang: &'static str,
    /// Page title (before the instance name).
    pub title: String,
    /// The instance's name (`ui.instance_name`).
    pub instance: String,
    /// Stylesheet URL.
    pub css: String,
    /// Accent stylesheet URL, when an accent colour is set.
    pub theme: Option<String>,
    /// Script URL.
    pub js: String,
    /// The language switcher.
    pub languages: Vec<LangLink>,
    /// The request id, shown on error pages.
    pub request_id: String,
    /// Reload the page after this many seconds (a redemption still running; works without
    /// JavaScript and needs no inline script).
    pub refresh: Option<u32>,
    /// The admin navigation, on admin pages.
    pub admin: Option<admin::Nav>,
    /// The admin pages' script, on admin pages (setup and sign-in included). Admin pages also
    /// send their origin on same-origin requests (`referrer` `same-origin` instead of
    /// `no-referrer`), so sign-in's origin check sees the real `Origin` rather than `null`.
    pub admin_js: Option<String>,
}

/// The request as every page handler needs it: translator, layout parts, client address,
/// cookies. Extracting it never fails.
pub struct Ctx {
    /// The shared web parts.
    pub web: Arc<Web>,
    /// The translator for the request's language.
    pub t: Tr,
    /// The `Cookie` header.
    pub cookies: String,
    /// The client address (for rate limits).
    pub ip: Option<String>,
    /// The `Host` header, when it is a plain host name or address with an optional port.
    host: Option<String>,
    path_and_query: String,
    request_id: String,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = crate::error::Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Ctx, Self::Rejection> {
        let web =
            parts.extensions.get::<Arc<Web>>().cloned().ok_or_else(|| {
                crate::error::Error::Internal(anyhow::anyhow!("web layer missing"))
            })?;
        let crate::auth::ClientIp(ip) =
            crate::auth::ClientIp::from_request_parts(parts, state).await?;
        let lang = language(&parts.headers, state);
        Ok(Ctx {
            t: Tr::new(web.catalogues.clone(), lang),
            cookies: cookie_header(&parts.headers).to_owned(),
            ip,
            host: parts
                .headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .filter(|h| {
                    (1..=255).contains(&h.len())
                        && h.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
                })
                .map(str::to_owned),
            path_and_query: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
            request_id: parts
                .extensions
                .get::<RequestId>()
                .map(|r| r.0.clone())
                .unwrap_or_default(),
            web,
        })
    }
}

impl Ctx {
    /// The layout for a page titled `title`.
    pub fn layout(&self, title: String) -> Layout {
        layout(
            &self.web,
            self.t.lang,
            title,
            &self.path_and_query,
            &self.request_id,
        )
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        &self.web.state
    }

    /// The layout of an admin page outside the navigation (setup, sign-in): with the admin
    /// script.
    pub fn admin_layout(&self, title: String) -> Layout {
        let mut l = self.layout(title);
        l.admin_js = Some(self.web.assets.admin_js.url.clone());
        l
    }

    /// The daemon's public URL for links that leave the daemon and come back (the return
    /// address given to a sign-in provider): the configured `public_url`; when none was
    /// configured (the default is derived from the listen address, often `127.0.0.1`), the
    /// address the browser used to reach this page.
    pub fn public_url(&self) -> String {
        let config = self.state().live().get();
        match (config.value("public_url"), &self.host) {
            (Some((_, crate::config::Source::Derived)), Some(host)) => format!("http://{host}"),
            _ => config.public_url.clone(),
        }
    }
}

fn layout(web: &Web, lang: Lang, title: String, back: &str, request_id: &str) -> Layout {
    let config = web.state.live().get();
    let instance = config
        .value("ui.instance_name")
        .map_or("Zondarr", |(v, _)| v)
        .to_owned();
    let theme = config
        .value("ui.accent_color")
        .and_then(|(v, _)| v.strip_prefix('#'))
        .map(|hex| format!("/theme/{hex}.css"));
    let back = percent_encode(back);
    Layout {
        lang: lang.tag(),
        title,
        instance,
        css: web.assets.css.url.clone(),
        js: web.assets.js.url.clone(),
        theme,
        languages: Lang::ALL
            .iter()
            .map(|l| LangLink {
                tag: l.tag(),
                name: l.native_name(),
                href: format!("/lang/{}?back={back}", l.tag()),
                current: *l == lang,
            })
            .collect(),
        request_id: request_id.to_owned(),
        refresh: None,
        admin: None,
        admin_js: None,
    }
}

/// Percent-encode everything but unreserved characters (for query values).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A rendered page: `text/html`, never cached (pages carry per-visitor tokens).
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            body,
        )
            .into_response(),
        Err(e) => crate::error::Error::Internal(anyhow::anyhow!("template: {e}")).into_response(),
    }
}

/// A `303 See Other` (POST-redirect-GET).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A page with a heading, a paragraph and optional links: the root page, error pages and the
/// join path's dead ends.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    l: Layout,
    t: Tr,
    heading: String,
    text: String,
    /// Stable error code, shown small under the text.
    code: Option<&'static str>,
    links: Vec<(String, String)>,
}

#[derive(serde::Deserialize)]
struct Back {
    back: Option<String>,
}

/// `GET /lang/{tag}?back=/path`: remember the language for a year and go back. Only a local
/// path is followed (never `//host` or a URL), so the switcher is no open redirect.
async fn switch_language(
    Path(tag): Path<String>,
    Query(back): Query<Back>,
    State(_): State<AppState>,
) -> Response {
    let target = back
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or_else(|| "/".to_owned());
    let Some(lang) = Lang::parse(&tag) else {
        return see_other(&target);
    };
    let mut response = see_other(&target);
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        i18n::LANG_COOKIE,
        lang.tag()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// Whether an error answer to this request should be an HTML page: a browser navigation
/// (`Accept` names `text/html`) to a path outside the API, health and metrics.
pub fn wants_html(headers: &HeaderMap, uri: &Uri) -> bool {
    let path = uri.path();
    if path.starts_with("/api/") || path.starts_with("/health/") || path == "/metrics" {
        return false;
    }
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// The HTML error page for `code` (used by `http::front` for browsers): the message
/// in the request's language, the code and the request id; never the internal cause.
pub fn error_page(web: &Web, headers: &HeaderMap, code: ErrorCode, request_id: &str) -> Response {
    let lang = language(headers, &web.state);
    let t = Tr::new(web.catalogues.clone(), lang);
    let (heading, text) = match code {
        ErrorCode::NotFound => (t.t("error-not-found-title"), t.t("error-not-found-text")),
        ErrorCode::Internal => (t.t("error-internal-title"), t.t("error-internal-text")),
        ErrorCode::RateLimited => (t.t("rate-limited-title"), t.t("rate-limited-text-soon")),
        _ => (t.t("error-request-title"), t.t("error-request-text")),
    };
    let page = MessagePage {
        l: layout(web, lang, heading.clone(), "/", request_id),
        heading,
        text,
        code: Some(code.as_str()),
        links: vec![("/".to_owned(), t.t("error-home"))],
        t,
    };
    html(code.status(), &page)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt;

    /// The whole app on an in-memory database, with these environment variables.
    pub(crate) async fn app(env: &[(&str, &str)]) -> Router {
        crate::http::app(AppState::for_tests(env).await)
    }

    async fn get(
        app: &Router,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, String) {
        let mut req = Request::get(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    const BROWSER: (&str, &str) = ("accept", "text/html,application/xhtml+xml,*/*;q=0.8");

    #[tokio::test]
    async fn browsers_get_html_errors_and_api_clients_json_both_with_the_request_id() {
        let app = app(&[]).await;
        let (status, headers, body) = get(&app, "/no/such/page", &[BROWSER]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let id = headers["x-request-id"].to_str().unwrap();
        assert!(body.contains(id), "{body}");
        assert!(
            body.contains("Page not found") && body.contains("NOT_FOUND"),
            "{body}"
        );
        assert!(!body.contains("no/such"), "the path is not echoed: {body}");

        let (status, headers, body) = get(&app, "/no/such/page", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            json["error"]["request_id"],
            headers["x-request-id"].to_str().unwrap()
        );

        // The API stays JSON even for a browser.
        let (_, headers, _) = get(&app, "/api/v1/nope", &[BROWSER]).await;
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );

        // German when the browser asks for it.
        let (_, _, body) = get(
            &app,
            "/nope",
            &[BROWSER, ("accept-language", "de-CH,de;q=0.9")],
        )
        .await;
        assert!(
            body.contains("Seite nicht gefunden") && body.contains("lang=\"de\""),
            "{body}"
        );
    }

    #[tokio::test]
    async fn root_leads_to_setup_whose_page_has_the_instance_name_and_accent() {
        let app = app(&[
            ("ZONDARR_UI_INSTANCE_NAME", "Kim's <Films>"),
            ("ZONDARR_UI_ACCENT_COLOR", "#AA3300"),
        ])
        .await;
        let (status, headers, _) = get(&app, "/", &[BROWSER]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "/setup");
        let (_, headers, _) = get(&app, "/admin/invitations", &[BROWSER]).await;
        assert_eq!(
            headers[header::LOCATION],
            "/setup",
            "no admin pages before setup"
        );
        let (status, headers, body) = get(&app, "/setup", &[BROWSER]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Set up Zondarr") && body.contains("name=\"public_url\""));
        assert!(
            body.contains("Kim&#39;s &#60;Films&#62;"),
            "escaped: {body}"
        );
        assert!(body.contains("href=\"/theme/aa3300.css\""), "{body}");
        assert!(
            !body.contains("<style") && !body.contains("style="),
            "no inline style"
        );
        assert!(!body.contains("<script>"), "no inline script");
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("style-src 'self'"));

        let (status, headers, css) = get(&app, "/theme/aa3300.css", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            css.contains("--accent:#aa3300") && css.contains("--on-accent:#ffffff"),
            "{css}"
        );
        assert!(
            headers[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        assert_eq!(
            get(&app, "/theme/red.css", &[]).await.0,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn assets_are_served_by_hashed_name_with_immutable_caching() {
        let app = app(&[]).await;
        let (_, _, page) = get(&app, "/setup", &[BROWSER]).await;
        let css = page
            .split("href=\"")
            .map(|s| s.split('"').next().unwrap_or_default())
            .find(|h| h.starts_with("/assets/app."))
            .unwrap()
            .to_owned();
        let (status, headers, body) = get(&app, &css, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("prefers-color-scheme: dark"));
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/css")
        );
        assert_eq!(
            get(&app, "/assets/app.css", &[]).await.0,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn the_language_switcher_sets_a_cookie_and_only_goes_back_to_local_paths() {
        let app = app(&[]).await;
        let (status, headers, _) = get(&app, "/lang/de?back=%2Fj%2Fabc", &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "/j/abc");
        assert!(
            headers[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .starts_with("zondarr_lang=de;")
        );
        for evil in [
            "//evil.example/x",
            "https://evil.example",
            "/\\evil.example",
        ] {
            let (_, headers, _) = get(
                &app,
                &format!("/lang/en?back={}", percent_encode(evil)),
                &[],
            )
            .await;
            assert_eq!(headers[header::LOCATION], "/", "{evil}");
        }
        let (_, _, body) = get(&app, "/setup", &[BROWSER, ("cookie", "zondarr_lang=de")]).await;
        assert!(body.contains("Zondarr einrichten"), "{body}");
    }

    #[tokio::test]
    async fn join_pages_share_the_api_rate_limit_and_say_when_to_retry() {
        let app = app(&[("ZONDARR_SECURITY_JOIN_PER_IP_PER_MINUTE", "1")]).await;
        assert_eq!(
            get(&app, "/j/nope", &[BROWSER]).await.0,
            StatusCode::NOT_FOUND
        );
        let (status, headers, body) = get(&app, "/j/nope", &[BROWSER]).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        let secs: u64 = headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&secs), "{secs}");
        assert!(
            body.contains("Too many attempts") && body.contains("RATE_LIMITED"),
            "{body}"
        );
        assert!(
            body.contains(&format!("Try again in {secs} second")),
            "{body}"
        );
        // The JSON validation counts against the same limit.
        let (status, _, body) = get(&app, "/api/v1/join/nope", &[]).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(body.contains("RATE_LIMITED"), "{body}");
    }

    #[tokio::test]
    async fn an_unknown_invitation_is_one_generic_page_and_forms_need_the_csrf_cookie() {
        let app = app(&[]).await;
        for code in ["nope", "x"] {
            let (status, _, body) = get(&app, &format!("/j/{code}"), &[BROWSER]).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{code}");
            assert!(
                body.contains("This invitation cannot be used") && body.contains("INVITE_INVALID")
            );
        }
        let (status, _, _) = get(&app, "/join/nope", &[BROWSER]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // A result page needs a receipt the daemon signed.
        for r in ["", "eyJjIjoibm9wZSJ9.AAAA", "not-a-receipt"] {
            let (status, _, body) = get(&app, &format!("/j/nope/done?r={r}"), &[BROWSER]).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{r}");
            assert!(body.contains("INVITE_INVALID"), "{body}");
        }
        let (status, _, body) = get(&app, "/j/nope/wizard/sideways", &[BROWSER]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("NOT_FOUND"), "{body}");

        let post = Request::post("/j/nope/account")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "text/html")
            .body(Body::from("csrf=forged&username=a&password=b"))
            .unwrap();
        let resp = app.clone().oneshot(post).await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let body = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(
            body.contains("CSRF_FAILED") && body.contains("This form has expired"),
            "{body}"
        );
    }

    /// A form posted after the session ended comes back filled after signing in: once, only to
    /// the browser holding the draft's cookie, never for a post from another site.
    #[tokio::test]
    async fn a_form_posted_after_the_session_ended_comes_back_filled() {
        let app = app(&[]).await;
        let req = Request::post("/api/v1/setup")
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"username":"robin","password":"violet-kettle-harbour-42"}"#,
            ))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let session = resp.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let post = |site: &'static str| {
            let app = app.clone();
            async move {
                let req = Request::post("/admin/invitations/new")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("accept", "text/html")
                    .header("cookie", "zondarr_session=ended")
                    .header("sec-fetch-site", site)
                    .body(Body::from(
                        "csrf=old&note=half-typed&max_uses=7&message=Hi%0Athere",
                    ))
                    .unwrap();
                app.oneshot(req).await.unwrap()
            }
        };
        // From another site: signed out as ever, nothing kept.
        let resp = post("cross-site").await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            resp.headers()[header::LOCATION],
            "/admin/sign-in?next=%2Fadmin%2Finvitations%2Fnew&expired=1"
        );
        assert!(resp.headers().get(header::SET_COOKIE).is_none());
        // From this site: the draft's id in `next` and in a cookie.
        let resp = post("same-origin").await;
        let location = resp.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned();
        let id = location
            .split("draft%3D")
            .nth(1)
            .and_then(|rest| rest.split('&').next())
            .expect("the draft id in next")
            .to_owned();
        let set = resp.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            set.starts_with(&format!("zondarr_draft={id};")) && set.contains("SameSite=Strict"),
            "{set}"
        );
        let page = format!("/admin/invitations/new?draft={id}");
        let draft_cookie = format!("{session}; zondarr_draft={id}");
        // Another browser (no draft cookie) gets the empty form, and does not use it up.
        let (_, _, body) = get(&app, &page, &[BROWSER, ("cookie", &session)]).await;
        assert!(!body.contains("half-typed"), "{body}");
        // The admin's browser gets it back, once.
        let (status, _, body) = get(&app, &page, &[BROWSER, ("cookie", &draft_cookie)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(">half-typed</textarea>"), "{body}");
        assert!(body.contains(">Hi\nthere</textarea>"), "{body}");
        assert!(body.contains("value=\"7\""), "{body}");
        assert!(body.contains("Your session had ended"), "{body}");
        let (_, _, body) = get(&app, &page, &[BROWSER, ("cookie", &draft_cookie)]).await;
        assert!(!body.contains("half-typed"), "taken once: {body}");
        // A draft belongs to its page.
        let resp = post("same-origin").await;
        let location = resp.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned();
        let id = location
            .split("draft%3D")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let (_, _, body) = get(
            &app,
            &format!("/admin/servers/new?draft={id}"),
            &[
                BROWSER,
                ("cookie", &format!("{session}; zondarr_draft={id}")),
            ],
        )
        .await;
        assert!(!body.contains("Your session had ended"), "{body}");
    }

    async fn post_form(
        app: &Router,
        path: &str,
        cookie: &str,
        body: &str,
    ) -> (StatusCode, HeaderMap, String) {
        let req = Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "text/html")
            .header("cookie", cookie)
            .body(Body::from(body.to_owned()))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn admin_pages_need_a_session_and_its_form_token_and_setup_is_gone_after_setup() {
        let app = app(&[]).await;
        // Setup through the API (a headless install): the browser goes to sign-in from now on.
        let req = Request::post("/api/v1/setup")
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"username":"robin","password":"violet-kettle-harbour-42"}"#,
            ))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        let session = resp.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();

        assert_eq!(
            get(&app, "/setup", &[BROWSER]).await.0,
            StatusCode::NOT_FOUND
        );
        let (_, headers, _) = get(&app, "/", &[BROWSER]).await;
        assert_eq!(headers[header::LOCATION], "/admin");
        let (status, headers, _) = get(&app, "/admin/invitations?status=active", &[BROWSER]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(
            headers[header::LOCATION],
            "/admin/sign-in?next=%2Fadmin%2Finvitations%3Fstatus%3Dactive"
        );
        // An ended session says so.
        let (_, headers, _) = get(
            &app,
            "/admin",
            &[BROWSER, ("cookie", "zondarr_session=not-a-session")],
        )
        .await;
        assert_eq!(
            headers[header::LOCATION],
            "/admin/sign-in?next=%2Fadmin&expired=1"
        );
        // `next` is followed only to local paths.
        let (_, _, body) = get(&app, "/admin/sign-in?next=//evil.example/x", &[BROWSER]).await;
        assert!(body.contains("name=\"next\" value=\"/admin\""), "{body}");

        // Signed in: the pages render; a form without the session's token is refused.
        let (status, _, body) = get(&app, "/admin", &[BROWSER, ("cookie", &session)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("Sign out (robin)"));
        let (status, _, body) = get(
            &app,
            "/admin/invitations?status=sideways",
            &[BROWSER, ("cookie", &session)],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "a bad filter is a message, not an error page"
        );
        assert!(body.contains("VALIDATION_FAILED"), "{body}");
        let (status, _, body) = post_form(
            &app,
            "/admin/invitations/new",
            &session,
            "csrf=forged&server=1&note=x",
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("CSRF_FAILED"), "{body}");
        let (status, _, _) = post_form(&app, "/admin/sign-out", &session, "csrf=forged").await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // With the token (read from the page) the domain judges: no server chosen.
        let (_, _, page) = get(
            &app,
            "/admin/invitations/new",
            &[BROWSER, ("cookie", &session)],
        )
        .await;
        let token = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned();
        let (status, _, body) = post_form(
            &app,
            "/admin/invitations/new",
            &session,
            &format!("csrf={token}&max_uses=many"),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("Enter a whole number."), "{body}");
        let (status, _, body) = post_form(
            &app,
            "/admin/invitations/new",
            &session,
            &format!("csrf={token}&max_uses=3"),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        // The domain's rule, in the page's language (not the API's English text).
        assert!(body.contains("Choose at least one server."), "{body}");
        assert!(!body.contains("choose at least one server"), "{body}");
        assert!(
            body.contains("value=\"3\""),
            "the entered value is kept: {body}"
        );
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = "a=1; zondarr_lang=de; zondarr_lang_x=en";
        assert_eq!(cookie(h, "zondarr_lang"), Some("de"));
        assert_eq!(cookie(h, "lang"), None);
        assert_eq!(cookie("", "a"), None);
    }

    #[test]
    fn html_is_for_browsers_outside_the_api() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_static("text/html,*/*"));
        assert!(wants_html(&h, &"/nope".parse().unwrap()));
        assert!(!wants_html(&h, &"/api/v1/nope".parse().unwrap()));
        assert!(!wants_html(&HeaderMap::new(), &"/nope".parse().unwrap()));
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("/j/abc?x=1&y"), "%2Fj%2Fabc%3Fx%3D1%26y");
    }
}

//! Router tests of the ops pages (plugins, settings, jobs, logs, audit): the real app on an
//! in-memory database, driven without a socket, signed in with a real session.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

struct Admin {
    app: Router,
    cookie: String,
    csrf: String,
}

impl Admin {
    async fn new(env: &[(&str, &str)]) -> Admin {
        let app = crate::web::tests::app(env).await;
        let req = Request::post("/api/v1/setup")
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"username":"robin","password":"violet-kettle-harbour-42"}"#,
            ))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        let cookie = resp.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut admin = Admin {
            app,
            cookie,
            csrf: String::new(),
        };
        let (_, body) = admin.get("/admin/settings").await;
        admin.csrf = body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_owned();
        admin
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let req = Request::get(path)
            .header("cookie", &self.cookie)
            .header("accept", "text/html")
            .body(Body::empty())
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let body = to_bytes(resp.into_body(), 1 << 22).await.unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn json(&self, path: &str) -> Value {
        let req = Request::get(path)
            .header("cookie", &self.cookie)
            .body(Body::empty())
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let body = to_bytes(resp.into_body(), 1 << 22).await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    /// A form post with the session's token (unless `form` brings its own); status, redirect
    /// target and body.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, String) {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if !form.iter().any(|(k, _)| *k == "csrf") {
            pairs.push(("csrf", &self.csrf));
        }
        pairs.extend_from_slice(form);
        let body = pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    crate::web::percent_encode(k),
                    crate::web::percent_encode(v)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        let req = Request::post(path)
            .header("cookie", &self.cookie)
            .header("accept", "text/html")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = to_bytes(resp.into_body(), 1 << 22).await.unwrap();
        (
            status,
            location,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    async fn setting(&self, key: &str) -> Value {
        let all = self.json("/api/v1/settings").await;
        all["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == key)
            .unwrap()
            .clone()
    }
}

#[tokio::test]
async fn settings_are_changed_on_the_page_with_the_apis_rules() {
    let a = Admin::new(&[("ZONDARR_EXPIRY_ACTION", "delete")]).await;
    let (status, page) = a.get("/admin/settings").await;
    assert_eq!(status, StatusCode::OK);
    for group in [
        "Public address",
        "Sessions",
        "Sync and expiry",
        "Rate limits",
        "Logging",
    ] {
        assert!(page.contains(group), "{group}");
    }
    // Locked by the environment: read-only, not sent, and says what locks it.
    let row = page
        .split("id=\"s-expiry-action-row\"")
        .nth(1)
        .unwrap()
        .split("</div>")
        .next()
        .unwrap();
    assert!(
        row.contains("readonly") && !row.contains("name=\"expiry.action\""),
        "{row}"
    );
    assert!(row.contains("ZONDARR_EXPIRY_ACTION"), "{row}");

    // A value out of range: refused next to its field, what was typed kept, nothing changed.
    let (status, _, body) = a
        .post(
            "/admin/settings",
            &[("jobs.keep_days", "0"), ("ui.instance_name", "Robin's")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("id=\"s-jobs-keep-days-error\""), "{body}");
    assert!(body.contains("A whole number from 1 to 3650."));
    assert!(body.contains("value=\"0\""), "the typed value is kept");
    assert!(body.contains("VALIDATION_FAILED"));
    assert_eq!(a.setting("jobs.keep_days").await["value"], 30);
    assert_eq!(a.setting("ui.instance_name").await["value"], "Zondarr");

    // A locked setting sent anyway (a stale page) is refused by the domain, next to the field.
    let (status, _, body) = a
        .post("/admin/settings", &[("expiry.action", "disable")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("id=\"s-expiry-action-error\""), "{body}");
    assert!(body.contains("locked by the configuration"));
    assert_eq!(a.setting("expiry.action").await["value"], "delete");

    // Valid values apply at once; an unchanged field is not sent.
    let (status, to, _) = a
        .post(
            "/admin/settings",
            &[
                ("jobs.keep_days", "45"),
                ("ui.instance_name", "Robin's Media"),
                ("log.level", "info"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, "/admin/settings?saved=2");
    let keep = a.setting("jobs.keep_days").await;
    assert_eq!(
        (keep["value"].clone(), keep["source"].clone()),
        (45.into(), "app".into())
    );
    let (_, page) = a.get("/admin/settings?saved=2").await;
    assert!(
        page.contains("Robin&#x27;s Media") || page.contains("Robin&#39;s Media"),
        "the header shows the new name"
    );
    assert!(page.contains("Saved."));
    // Back to the default.
    let (status, _, _) = a
        .post("/admin/settings", &[("reset:jobs.keep_days", "1")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let keep = a.setting("jobs.keep_days").await;
    assert_eq!(
        (keep["value"].clone(), keep["source"].clone()),
        (30.into(), "default".into())
    );
    // Nothing changed: said so, nothing audited.
    let (_, to, _) = a.post("/admin/settings", &[("jobs.keep_days", "30")]).await;
    assert_eq!(to, "/admin/settings?saved=0");
    // A forged form.
    let (status, _, body) = a
        .post(
            "/admin/settings",
            &[("csrf", "forged"), ("jobs.keep_days", "9")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("CSRF_FAILED"));

    // The audit page lists both changes, filterable by the action's prefix.
    let (_, audit) = a.get("/admin/audit?action=settings.").await;
    assert!(audit.contains("2 events"), "{audit}");
    assert!(audit.contains("settings.update") && audit.contains("admin:robin"));
    let (_, audit) = a.get("/admin/audit?action=auth.").await;
    assert!(!audit.contains("settings.update"));
}

#[tokio::test]
async fn jobs_run_now_from_the_page_and_show_in_the_list_and_the_audit_log() {
    let a = Admin::new(&[]).await;
    let (status, page) = a.get("/admin/jobs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("0 runs"));
    assert!(page.contains("id=\"run-cleanup\""));
    let (status, to, _) = a.post("/admin/jobs/run", &[("job", "cleanup")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let run: i64 = to
        .strip_prefix("/admin/jobs?ran=")
        .and_then(|r| r.split('#').next())
        .unwrap()
        .parse()
        .unwrap();
    let (_, page) = a.get(&format!("/admin/jobs?ran={run}")).await;
    assert!(page.contains("Clean-up: succeeded."), "{page}");
    assert!(page.contains(&format!("id=\"run-{run}\"")) && page.contains("1 run"));
    assert!(
        page.contains("nothing to do") && !page.contains("sessions_and_challenges"),
        "counts of zero say nothing"
    );
    // The dashboard's recent runs show it as it went (not as failed).
    let (_, dash) = a.get("/admin").await;
    let jobs = dash.split("id=\"h-jobs\"").nth(1).unwrap();
    assert!(
        jobs.contains("cleanup") && !jobs.contains("badge off"),
        "{jobs}"
    );
    // The API sees the same run, started by an admin.
    let runs = a.json("/api/v1/jobs?job=cleanup").await;
    assert_eq!(runs["total"], 1);
    assert_eq!(runs["items"][0]["trigger"], "manual");
    // Filters, and the API's rules for wrong ones.
    let (_, page) = a.get("/admin/jobs?job=user_expiry").await;
    assert!(page.contains("0 runs"));
    let (status, page) = a.get("/admin/jobs?outcome=exploded").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("VALIDATION_FAILED"), "{page}");
    // A sync needs a server; an unknown job is refused with its code.
    let (status, _, body) = a
        .post(
            "/admin/jobs/run",
            &[("job", "user_sync"), ("server", "999")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _, body) = a.post("/admin/jobs/run", &[("job", "nope")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("NOT_FOUND"));
    // The audit log links the run.
    let (_, audit) = a.get("/admin/audit?action=job.run").await;
    assert!(
        audit.contains(&format!("href=\"/admin/jobs#run-{run}\"")),
        "{audit}"
    );
}

#[tokio::test]
async fn audit_logs_and_plugins_pages_answer_wrong_filters_with_errors() {
    let a = Admin::new(&[]).await;
    let (status, page) = a.get("/admin/audit?outcome=bogus").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("VALIDATION_FAILED") && page.contains("0 events"));
    let (_, page) = a.get("/admin/audit?since=yesterday").await;
    assert!(page.contains("id=\"f-since-error\""), "{page}");
    let (_, page) = a.get("/admin/audit?since=2020-01-01T00:00&tz=60").await;
    assert!(
        page.contains("auth.setup") || page.contains("events"),
        "{page}"
    );
    let (status, page) = a.get("/admin/logs?level=loud").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"f-level-error\""));
    let (status, page) = a.get("/admin/logs?level=warn&target=zondarr::jobs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-stream=\"/api/v1/logs/stream?level=warn&#38;target=zondarr%3A%3Ajobs&#38;backfill=100\""), "{page}");
    assert!(page.contains("href=\"/admin/logs?level=warn&#38;target=zondarr%3A%3Ajobs\""));
    let (status, page) = a.get("/admin/plugins").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"rescan\""));
    let (status, to, _) = a.post("/admin/plugins/rescan", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.starts_with("/admin/plugins?rescanned=1"), "{to}");
    let (status, _, body) = a.post("/admin/plugins/nope/approve", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("PLUGIN_NOT_FOUND"));
    // Without a session: to sign-in, never the page.
    let req = Request::get("/admin/audit")
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    let resp = a.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}

/// Whether a page shows a message id instead of its text (a key missing from a catalogue is
/// rendered as the key): a text node that starts with one of the ops pages' prefixes.
fn shown_keys(body: &str) -> Vec<String> {
    const PREFIXES: [&str; 6] = ["plg-", "set-", "job-", "log-", "aud-", "nav-"];
    body.split('>')
        .filter_map(|chunk| {
            let text = chunk.trim_start();
            let word: String = text
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                .collect();
            (PREFIXES
                .iter()
                .any(|p| word.starts_with(p) && word.len() > p.len()))
            .then_some(word)
        })
        .collect()
}

#[tokio::test]
async fn every_ops_page_has_its_text_in_english_and_german() {
    let mut a = Admin::new(&[("ZONDARR_EXPIRY_ACTION", "delete")]).await;
    a.post("/admin/jobs/run", &[("job", "cleanup")]).await;
    a.post("/admin/settings", &[("jobs.keep_days", "31")]).await;
    let session = a.cookie.clone();
    for lang in ["en", "de"] {
        a.cookie = format!("{session}; zondarr_lang={lang}");
        for path in [
            "/admin/plugins?rescanned=1&loaded=1",
            "/admin/settings?saved=1",
            "/admin/jobs?ran=1",
            "/admin/jobs?outcome=nope",
            "/admin/logs",
            "/admin/logs?level=nope",
            "/admin/audit",
            "/admin/audit?since=nope",
        ] {
            let (status, body) = a.get(path).await;
            assert_eq!(status, StatusCode::OK, "{lang} {path}");
            assert!(
                body.contains(&format!("<html lang=\"{lang}\"")),
                "{lang} {path}"
            );
            let keys = shown_keys(&body);
            assert!(keys.is_empty(), "{lang} {path} shows message ids: {keys:?}");
        }
        // A refused setting, in the page's language.
        let (_, _, body) = a.post("/admin/settings", &[("jobs.keep_days", "0")]).await;
        assert!(
            shown_keys(&body).is_empty(),
            "{lang}: {:?}",
            shown_keys(&body)
        );
    }
    // The check itself finds a missing message.
    assert_eq!(shown_keys("<p>plg-nope</p>"), ["plg-nope"]);
}

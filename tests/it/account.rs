//! The account pages as plain form posts over real HTTP (what a browser without JavaScript
//! sends): the session's form token is required, the step-up holds on every form that changes a
//! credential (the same `STEP_UP_REQUIRED` as the API, the error next to the field), a key made
//! on the page works as the API's keys do, "sign out all other sessions" ends exactly the
//! others, the backup-code download writes only backup codes, and the pages come in German too.

use crate::support::{Daemon, client};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PASSWORD: &str = "amber-orchard-lantern-58";

struct Session {
    base: String,
    cookie: String,
    csrf: String,
}

impl Session {
    async fn get(&self, path: &str, lang: &str) -> (StatusCode, String) {
        let resp = client()
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("accept", "text/html")
            .header("accept-language", lang)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["cache-control"], "no-store");
        (resp.status(), resp.text().await.unwrap())
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let resp = no_redirects()
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("accept", "text/html")
            .header("origin", &self.base)
            .form(form)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let body = resp.text().await.unwrap();
        (status, location.unwrap_or(body))
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn signed_in(daemon: &Daemon) -> Session {
    let base = daemon.url.clone();
    let resp = client()
        .post(daemon.at("/api/v1/setup"))
        .json(&json!({ "username": "kim", "password": PASSWORD, "public_url": base }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body: Value = resp.json().await.unwrap();
    Session {
        base,
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn account_forms_need_the_form_token_and_the_current_password() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let s = signed_in(&daemon).await;
    let csrf = s.csrf.clone();

    let (status, page) = s.get("/admin/account", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"totp-form\"") && page.contains("id=\"password-form\""));
    let (_, page) = s.get("/admin/account/api-keys", "de").await;
    assert!(page.contains("Neuer API-Schlüssel"), "{page}");

    // Without the session's form token: "this form has expired", nothing changes.
    let (status, page) = s
        .post("/admin/account/totp", &[("current_password", PASSWORD)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("CSRF_FAILED"), "{page}");

    // The step-up on each credential form: refused with the API's code, next to the field.
    for (path, form, field) in [
        (
            "/admin/account/totp",
            vec![("current_password", "wrong-password-entirely")],
            "totp-current-error",
        ),
        (
            "/admin/account/password",
            vec![
                ("current_password", ""),
                ("new_password", "another-long-password-7"),
                ("new_password2", "another-long-password-7"),
            ],
            "pw-current-error",
        ),
        (
            "/admin/account/api-keys",
            vec![("name", "bot"), ("scope", "admin"), ("expires_at", "")],
            "key-current-error",
        ),
    ] {
        let mut form = form.clone();
        form.push(("csrf", &csrf));
        let (status, page) = s.post(path, &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.contains("STEP_UP_REQUIRED"), "{path}: {page}");
        assert!(page.contains(&format!("id=\"{field}\"")), "{path}: {page}");
    }
    let me: Value = client()
        .get(daemon.at("/api/v1/auth/me"))
        .header("cookie", &s.cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["totp_enabled"], false);
    let keys: Value = client()
        .get(daemon.at("/api/v1/api-keys"))
        .header("cookie", &s.cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["total"], 0, "{keys}");

    // Confirming with nothing pending leads back to the account page, which shows TOTP off.
    let (status, to) = s
        .post(
            "/admin/account/totp/confirm",
            &[("csrf", &csrf), ("code", "123456"), ("secret", "AAAA")],
        )
        .await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/admin/account")
    );

    // A repeated password that differs, and an expiry in the past: errors next to the fields.
    let (status, page) = s
        .post(
            "/admin/account/password",
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("new_password", "another-long-password-7"),
                ("new_password2", "another-long-password-8"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"pw-new2-error\""), "{page}");
    let (status, page) = s
        .post(
            "/admin/account/api-keys",
            &[
                ("csrf", &csrf),
                ("name", "bot"),
                ("scope", "read"),
                ("expires_at", "2001-02-03T04:05"),
                ("tz", "0"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"key-expires-error\""), "{page}");
    assert!(page.contains("value=\"bot\""), "the name is kept");

    // With the password: an admin key, shown once, that works like the API's.
    let (status, page) = s
        .post(
            "/admin/account/api-keys",
            &[
                ("csrf", &csrf),
                ("name", "deploy"),
                ("scope", "admin"),
                ("expires_at", ""),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let start = page.find("value=\"zk_").unwrap() + "value=\"".len();
    let key = &page[start..start + page[start..].find('"').unwrap()];
    let me = client()
        .get(daemon.at("/api/v1/auth/me"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let (_, list) = s.get("/admin/account/api-keys", "en").await;
    assert!(
        list.contains("deploy") && !list.contains(key),
        "never the secret again"
    );

    // "Sign out all other sessions": two other devices signed out, this session kept.
    let mut others = Vec::new();
    for _ in 0..2 {
        let resp = client()
            .post(daemon.at("/api/v1/auth/login"))
            .header("origin", &s.base)
            .json(&json!({ "username": "kim", "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let cookie = resp.headers()["set-cookie"].to_str().unwrap();
        others.push(cookie.split(';').next().unwrap().to_owned());
    }
    let (_, page) = s.get("/admin/account/sessions", "en").await;
    assert!(page.contains("Sign out all 2 other sessions"), "{page}");
    let (status, to) = s
        .post("/admin/account/sessions/revoke-others", &[("csrf", &csrf)])
        .await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/admin/account/sessions?revoked=2")
    );
    for cookie in others.iter().chain([&s.cookie]) {
        let status = client()
            .get(daemon.at("/api/v1/auth/me"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .status();
        let want = if cookie == &s.cookie {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(status, want);
    }

    // The download writes backup codes only.
    let (status, page) = s
        .post(
            "/admin/account/backup-codes/download",
            &[("csrf", &csrf), ("code", "<script>alert(1)</script>")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!page.contains("<script>alert"), "{page}");
}

/// Wrong current passwords on the account forms count toward the lockout, as on the API; the
/// locked page says when to try again and sends `Retry-After`.
#[tokio::test]
async fn wrong_step_up_passwords_on_the_pages_lock_and_say_when_to_retry() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with(dir.path(), &[], &[("ZONDARR_SECURITY_LOCKOUT_AFTER", "2")]);
    let s = signed_in(&daemon).await;
    for _ in 0..2 {
        let (status, _) = s
            .post(
                "/admin/account/totp",
                &[("csrf", &s.csrf), ("current_password", "not-it-at-all-1")],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // Locked now: even the right password waits.
    let resp = no_redirects()
        .post(daemon.at("/admin/account/totp"))
        .header("cookie", &s.cookie)
        .header("accept", "text/html")
        .form(&[("csrf", s.csrf.as_str()), ("current_password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0);
    let page = resp.text().await.unwrap();
    assert!(page.contains("Try again in"), "{page}");
}

//! The account pages in a real browser, at 390×844 and 1280×800 (each with its own daemon):
//! change the password (a wrong current password first: the error next to the field), turn
//! TOTP on from the QR page (a wrong first code, then the code computed from the key the page
//! shows), the backup codes shown once and downloaded as a text file, sign out and sign in with
//! password + TOTP; sessions with where and when, another session signed out from the page (its
//! cookie then refused by the API); a read-only API key with an expiry created on the page (a
//! refusal without the password first), used over real HTTP — a read passes, a write is refused
//! with `FORBIDDEN_SCOPE` — then revoked on the page and refused. Every page is screenshotted and
//! checked by axe-core.

use super::admin::{ADMIN_VIEWPORTS, totp_code, wait_for, wait_text};
use super::*;

const PASSWORD: &str = "saffron-lantern-meadow-17";
const NEW_PASSWORD: &str = "quiet-harbour-copper-93";

/// A session of `username` opened through the JSON API (another device); its cookie.
async fn api_session(base: &str, username: &str, password: &str) -> String {
    let resp = client()
        .post(format!("{base}/api/v1/auth/login"))
        .header("origin", base)
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// `GET /api/v1/auth/me` with a session cookie: its status.
async fn me_with_cookie(base: &str, cookie: &str) -> u16 {
    client()
        .get(format!("{base}/api/v1/auth/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The ids of the sessions table's "Sign out" buttons.
async fn revoke_buttons(p: &Page) -> Vec<String> {
    let mut ids = Vec::new();
    for e in p
        .client
        .find_all(Locator::Css("button[id^='revoke-session-']"))
        .await
        .unwrap()
    {
        ids.push(e.attr("id").await.unwrap().unwrap_or_default());
    }
    ids
}

async fn journey(driver: String, axe: Arc<String>, viewport: Viewport) {
    let dir = tempfile::tempdir().unwrap().keep();
    let daemon = Daemon::start_with(&dir, &[], &[]);
    let base = daemon.url.clone();
    // The public address is the one the browser uses (sign-in checks the origin against it).
    let resp = client()
        .post(daemon.at("/api/v1/setup"))
        .json(&json!({ "username": "robin", "password": PASSWORD, "public_url": base }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let label = format!("account-{}", viewport.name);
    let mut p = Page::open(&driver, &base, label, viewport, true, "en-US", axe).await;

    // Sign in; the navigation leads to the account page.
    p.goto("/admin/sign-in").await;
    p.fill("#username", "robin").await;
    p.fill("#password", PASSWORD).await;
    p.click("#sign-in").await;
    wait_for(&p, "a[href='/admin/account']").await;
    p.click("a[href='/admin/account']").await;
    p.wait_path("/admin/account").await;
    assert!(p.text("#totp-state").await.contains("off"));
    p.check("account").await;

    // Change the password: a wrong current password first, then the right one. The other
    // sessions (setup's, and a second device through the API) are signed out by the change.
    let other = api_session(&base, "robin", PASSWORD).await;
    assert_eq!(me_with_cookie(&base, &other).await, 200);
    p.fill("#pw-current", "not-my-password-at-all").await;
    p.fill("#pw-new", NEW_PASSWORD).await;
    p.fill("#pw-new2", NEW_PASSWORD).await;
    p.click("#change-password").await;
    wait_for(&p, "#pw-current-error").await;
    assert!(p.text("#pw-current-error").await.contains("wrong"));
    assert!(p.text("#notice").await.contains("STEP_UP_REQUIRED"));
    p.check("password-wrong").await;
    p.fill("#pw-current", PASSWORD).await;
    p.fill("#pw-new", NEW_PASSWORD).await;
    p.fill("#pw-new2", NEW_PASSWORD).await;
    p.click("#change-password").await;
    p.wait_path("changed=1").await;
    let flash = p.text("#flash").await;
    // The setup's session and the API one.
    assert!(flash.contains("Other sessions signed out: 2"), "{flash}");
    assert_eq!(me_with_cookie(&base, &other).await, 401, "signed out");
    p.check("password-changed").await;

    // TOTP: the password first, then the QR page.
    p.fill("#totp-current", NEW_PASSWORD).await;
    p.click("#totp-start").await;
    wait_for(&p, "#totp-qr svg").await;
    let secret: String = p.text("#totp-secret").await.split_whitespace().collect();
    assert!(secret.len() >= 16, "{secret}");
    p.check("totp-enrol").await;
    p.fill("#totp-code", "000000").await;
    p.click("#totp-confirm").await;
    wait_for(&p, "#totp-code-error").await;
    let again: String = p.text("#totp-secret").await.split_whitespace().collect();
    assert_eq!(again, secret, "the same key after a wrong code");
    p.check("totp-wrong-code").await;
    p.fill("#totp-code", &totp_code(&secret, 0)).await;
    p.click("#totp-confirm").await;
    wait_for(&p, "#backup-codes").await;
    let codes: Vec<String> = p
        .text("#backup-codes")
        .await
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    p.check("backup-codes").await;
    // The download button posts them back and gets a text file (over HTTP with this
    // browser's session, as the button would).
    let session = p
        .client
        .get_all_cookies()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name() == "zondarr_session")
        .expect("session cookie");
    let cookie = format!("zondarr_session={}", session.value());
    let csrf = p.value("#codes-download-form input[name='csrf']").await;
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    form.extend(codes.iter().map(|c| ("code", c.as_str())));
    let resp = client()
        .post(daemon.at("/admin/account/backup-codes/download"))
        .header("cookie", &cookie)
        .header("origin", &base)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let file = resp.text().await.unwrap();
    assert!(codes.iter().all(|c| file.contains(c.as_str())), "{file}");
    p.click("#codes-done").await;
    p.wait_path("/admin/account").await;
    assert!(p.text("#totp-state").await.contains("on"));
    assert!(p.text("#codes-left").await.contains("10"));
    p.check("account-totp-on").await;

    // Sign out and in again: password, then the next window's code.
    p.click("#sign-out").await;
    p.wait_path("/admin/sign-in").await;
    p.goto("/admin/account/sessions").await;
    p.wait_path("/admin/sign-in").await;
    p.fill("#username", "robin").await;
    p.fill("#password", NEW_PASSWORD).await;
    p.click("#sign-in").await;
    wait_for(&p, "#code").await;
    p.fill("#code", &totp_code(&secret, 1)).await;
    p.click("#verify").await;
    p.wait_path("/admin/account/sessions").await;

    // Sessions: this one marked, another one (an API sign-in with a backup code) signed out here.
    let resp = client()
        .post(format!("{base}/api/v1/auth/login"))
        .header("origin", &base)
        .json(&json!({ "username": "robin", "password": NEW_PASSWORD }))
        .send()
        .await
        .unwrap();
    let challenge: Value = resp.json().await.unwrap();
    let resp = client()
        .post(format!("{base}/api/v1/auth/totp"))
        .header("origin", &base)
        .json(&json!({ "challenge": challenge["challenge"], "code": codes[0] }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let other = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(me_with_cookie(&base, &other).await, 200);
    p.goto("/admin/account/sessions").await;
    assert!(
        p.text("#current-session").await.contains("this session"),
        "this session is marked"
    );
    let buttons = revoke_buttons(&p).await;
    assert_eq!(buttons.len(), 1, "{buttons:?}");
    let sessions = p.text("#sessions").await;
    assert!(sessions.contains("127.0.0.1"), "where: {sessions}");
    p.check("sessions").await;
    p.click(&format!("#{}", buttons[0])).await;
    p.wait_path("revoked=1").await;
    assert!(p.text("#flash").await.contains("1 session signed out"));
    assert!(revoke_buttons(&p).await.is_empty());
    assert_eq!(me_with_cookie(&base, &other).await, 401, "signed out");
    p.check("sessions-revoked").await;

    // API keys: read-only with an expiry. Without the password first: refused at the field.
    p.click("#tab-keys").await;
    p.wait_path("/admin/account/api-keys").await;
    assert!(p.text("#keys-total").await.contains("0 keys"));
    p.check("api-keys").await;
    p.fill("#key-name", "reporting").await;
    p.click("#key-scope-read").await;
    p.client
        .execute(
            "document.getElementById('key-expires').value = '2030-01-31T18:30'; return true;",
            Vec::new(),
        )
        .await
        .unwrap();
    p.click("#create-key").await;
    wait_for(&p, "#key-current-error").await;
    assert!(p.text("#notice").await.contains("STEP_UP_REQUIRED"));
    assert_eq!(p.value("#key-name").await, "reporting", "kept");
    p.check("api-key-refused").await;
    p.fill("#key-current", NEW_PASSWORD).await;
    p.client
        .execute(
            "document.getElementById('key-expires').value = '2030-01-31T18:30'; return true;",
            Vec::new(),
        )
        .await
        .unwrap();
    p.click("#create-key").await;
    wait_for(&p, "#api-key").await;
    let key = p.value("#api-key").await;
    assert!(key.starts_with("zk_"), "{key}");
    assert!(p.text("#key-scope").await.contains("Read only"));
    let expires = p.text("#key-expires-value").await;
    assert!(expires.contains("January 31, 2030"), "{expires}");
    p.check("api-key-created").await;

    // Over real HTTP: reading works, a write is refused with the stable code.
    let read = client()
        .get(daemon.at("/api/v1/invitations"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let write = client()
        .post(daemon.at("/api/v1/invitations"))
        .bearer_auth(&key)
        .json(&json!({ "servers": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);
    let body: Value = write.json().await.unwrap();
    assert_eq!(body["error"]["code"], "FORBIDDEN_SCOPE", "{body}");

    // Listed, then revoked on the page (with the password): the key no longer works.
    p.click("#keys-done").await;
    p.wait_path("/admin/account/api-keys").await;
    let list = p.text("#api-keys").await;
    assert!(
        list.contains("reporting") && list.contains("active"),
        "{list}"
    );
    p.click("a[id^='revoke-key-']").await;
    wait_for(&p, "#confirm-revoke").await;
    p.check("api-key-revoke").await;
    p.fill("#revoke-current", NEW_PASSWORD).await;
    p.click("#confirm-revoke").await;
    p.wait_path("revoked=1").await;
    wait_text(&p, "#api-keys", "revoked").await;
    p.check("api-key-revoked").await;
    let refused = client()
        .get(daemon.at("/api/v1/invitations"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    p.close().await;
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn account_pages_in_a_real_browser() {
    if let Some(what) = missing() {
        let required = std::env::var("BROWSER_TESTS").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "BROWSER_TESTS=required but {what} is missing (.ci/run installs them)"
        );
        println!(
            "browser tests skipped: {what} missing; install with `apt-get install -y chromium chromium-driver && npm install --prefix target/axe axe-core@4.11.0` (or set AXE_CORE_JS)"
        );
        return;
    }
    let axe = Arc::new(std::fs::read_to_string(axe_path()).unwrap());
    let driver = Driver::start().await;
    let runs = ADMIN_VIEWPORTS
        .iter()
        .map(|v| {
            let run = tokio::spawn(journey(driver.url.clone(), axe.clone(), *v));
            (v.name, run)
        })
        .collect();
    await_all(runs).await;
}

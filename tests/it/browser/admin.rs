//! The admin pages in a real browser, on a fresh install at 390×844 and 1280×800: setup, adding
//! the fake Jellyfin with "Test connection" (a wrong token first: the server's error next to the
//! field), an invitation for two of its libraries with a permission set, its link opened in a
//! second browser session to join, the dashboard and the invitation's redemptions showing the
//! new user, list filters surviving a reload, an expired session in the middle of a form, and
//! sign-in with TOTP. Every page is screenshotted and checked by axe-core.

use super::*;
use crate::support::client;

const PASSWORD: &str = "violet-kettle-harbour-42";

pub(super) const ADMIN_VIEWPORTS: [Viewport; 2] = [
    Viewport {
        name: "phone",
        width: 390,
        height: 844,
    },
    Viewport {
        name: "desktop",
        width: 1280,
        height: 800,
    },
];

/// The TOTP code of the window `ahead` steps from now (the daemon accepts one step of skew and
/// never the same step twice).
pub(super) fn totp_code(secret_b32: &str, ahead: u64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret_b32.to_owned())
        .to_bytes()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, "t".into())
        .unwrap()
        .generate(now + 30 * ahead)
}

/// Turn TOTP on for `username` through the JSON API (its own session); returns the secret.
async fn enable_totp(base: &str, username: &str) -> String {
    let http = client();
    let resp = http
        .post(format!("{base}/api/v1/auth/login"))
        .header("origin", base)
        .json(&json!({ "username": username, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let post = |path: &str, body: Value| {
        http.post(format!("{base}/api/v1{path}"))
            .header("cookie", &cookie)
            .header("origin", base)
            .json(&body)
            .send()
    };
    let enrol: Value = post("/auth/totp/setup", json!({ "current_password": PASSWORD }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    let resp = post(
        "/auth/totp/confirm",
        json!({ "code": totp_code(&secret, 0) }),
    )
    .await
    .unwrap();
    assert!(resp.status().is_success());
    secret
}

pub(super) async fn wait_for(p: &Page, css: &str) {
    if let Err(e) = p
        .client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
    {
        panic!("{}: no {css}: {e}: {}", p.label, p.text("body").await);
    }
}

/// Wait until the text of `css` contains `needle` (after a click that reloads the same URL).
pub(super) async fn wait_text(p: &Page, css: &str, needle: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = p.text(css).await;
        if text.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: {css} never said {needle:?}: {text}",
            p.label
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn journey(driver: String, axe: Arc<String>, viewport: Viewport) {
    let dir = tempfile::tempdir().unwrap().keep();
    let daemon = Daemon::start_with(
        &dir,
        &[],
        &[
            ("ZONDARR_SECURITY_JOIN_PER_IP_PER_MINUTE", "10000"),
            ("ZONDARR_SECURITY_JOIN_REDEEM_PER_IP_PER_MINUTE", "10000"),
            ("ZONDARR_UI_INSTANCE_NAME", "Robin's Media"),
        ],
    );
    let jellyfin = JellyfinFake::start().await;
    let label = format!("admin-{}", viewport.name);
    let mut p = Page::open(
        &driver,
        &daemon.url,
        label.clone(),
        viewport,
        true,
        "en-US",
        axe.clone(),
    )
    .await;

    // Fresh install: / leads to setup.
    p.goto("/").await;
    p.wait_path("/setup").await;
    assert_eq!(p.value("#public_url").await, daemon.url, "pre-filled");
    p.fill("#username", "robin").await;
    p.fill("#password", "short").await;
    assert!(p.text("#strength").await.contains("Too short"));
    p.fill("#password", PASSWORD).await;
    assert!(!p.text("#strength").await.is_empty());
    p.fill("#password2", PASSWORD).await;
    p.check("setup").await;
    p.click("#create-admin").await;
    p.wait_path("/admin/servers/new").await;
    p.check("first-server").await;
    // Setup is gone now.
    let resp = client().get(daemon.at("/setup")).send().await.unwrap();
    assert_eq!(resp.status(), 404);

    // Add the Jellyfin server: a wrong token first.
    p.click("#connector-jellyfin").await;
    p.wait_path("kind=jellyfin").await;
    p.fill("#name", "Home").await;
    p.fill("#url", jellyfin.base_url()).await;
    p.fill("[id='config.api_key']", "not-the-token").await;
    p.check("server-form").await;
    p.click("#test").await;
    wait_for(&p, "[id='config.api_key-error']").await;
    let error = p.text("[id='config.api_key-error']").await;
    assert!(!error.is_empty(), "the server's answer next to the token");
    assert!(p.location().await.contains("/admin/servers/new"));
    p.check("server-wrong-token").await;
    p.fill("[id='config.api_key']", jellyfin.api_key()).await;
    p.click("#test").await;
    wait_for(&p, "#tested").await;
    let tested = p.text("#tested").await;
    assert!(tested.contains("Connected"), "{tested}");
    p.check("server-tested").await;
    p.click("#save").await;
    // The first server leads on to the first invitation.
    p.wait_path("/admin/invitations/new").await;
    p.check("invitation-form").await;

    // An invitation for two of its libraries, downloads switched off.
    p.click("input[name='server']").await;
    p.click("input[id$='-chosen']").await;
    let libs = p
        .client
        .find_all(Locator::Css("input[name^='lib-']"))
        .await
        .unwrap();
    assert!(libs.len() >= 2, "the fake has libraries");
    libs[0].click().await.unwrap();
    libs[1].click().await.unwrap();
    p.click("input[id$='-allow_downloads']").await;
    p.fill("#max_uses", "5").await;
    p.fill("#note", "for the neighbours").await;
    p.fill("#message", "Hi neighbours,\nsee you <i>soon</i>")
        .await;
    p.click("#save").await;
    p.wait_path("created=1").await;
    assert!(p.text("#flash").await.contains("ready"));
    let link = p.value("#invite-link").await;
    assert!(link.starts_with(&format!("{}/join/", daemon.url)), "{link}");
    assert!(
        p.client.find(Locator::Css("#qr svg")).await.is_ok(),
        "QR code"
    );
    p.click("#copy-link").await;
    p.check("invitation").await;
    let invitation_path = p.location().await;
    let invitation_path = invitation_path.split('?').next().unwrap().to_owned();
    // Not used yet: under the "unused" filter (the dashboard's "not used yet" links there).
    p.goto("/admin/invitations?status=unused").await;
    assert!(p.text("#total").await.contains("1 invitation"));

    // A second browser session joins with the link.
    let username = format!("sam-{}", viewport.name);
    let mut invitee = Page::open(
        &driver,
        &daemon.url,
        format!("{label}-invitee"),
        viewport,
        true,
        "en-US",
        axe.clone(),
    )
    .await;
    invitee.goto(link.strip_prefix(&daemon.url).unwrap()).await;
    assert_eq!(
        invitee.text("#welcome blockquote").await,
        "Hi neighbours,\nsee you <i>soon</i>",
        "the admin's message, as text"
    );
    invitee.check("landing").await;
    invitee.click("#start").await;
    invitee.wait_path("/account").await;
    invitee.fill("#username", &username).await;
    invitee.fill("#password", "a-long-password-1").await;
    invitee.fill("#password2", "a-long-password-1").await;
    invitee.click("#create").await;
    invitee.wait_path("/done").await;
    invitee.check("done").await;
    invitee.close().await;
    let user = jellyfin
        .user(&username)
        .expect("the account is on Jellyfin");
    let policy = jellyfin.policy(&user.id).unwrap();
    assert_eq!(policy["EnableContentDownloading"], false, "{policy}");
    assert_eq!(
        policy["EnabledFolders"].as_array().map(Vec::len),
        Some(2),
        "{policy}"
    );

    // The dashboard and the invitation's redemptions show the new user.
    p.goto("/admin").await;
    let users = p.text("#user-figures").await;
    let users = users.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(users.starts_with("1 active"), "{users}");
    p.check("dashboard").await;
    p.goto("/admin/invitations?status=unused").await;
    assert!(p.text("#total").await.contains("0 invitations"), "used now");
    p.goto(&invitation_path).await;
    let redemptions = p.text("#redemptions").await;
    assert!(redemptions.contains(&username), "{redemptions}");
    p.check("invitation-redeemed").await;

    // List filters live in the URL and survive a reload. With JavaScript the list is updated
    // in place (the page is not loaded again: a mark set on it stays), and the back button
    // brings the unfiltered list back.
    p.goto("/admin/invitations").await;
    p.check("invitations").await;
    let unfiltered = p.text("#total").await;
    p.client
        .execute(
            "document.body.dataset.kept = 'yes'; return true;",
            Vec::new(),
        )
        .await
        .unwrap();
    p.client
        .find(Locator::Css("#f-status option[value='active']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    p.fill("#f-search", &link.rsplit('/').next().unwrap()[..4])
        .await;
    p.click("#apply-filters").await;
    p.wait_path("status=active").await;
    wait_text(&p, "#total", "1 invitation").await;
    let kept = |p: &Page| {
        let client = p.client.clone();
        async move {
            client
                .execute("return document.body.dataset.kept || '';", Vec::new())
                .await
                .unwrap()
        }
    };
    assert_eq!(kept(&p).await, "yes", "the list was updated in place");
    // Back undoes one filter step at a time (the search, then the status), fields included.
    let wait_value = |p: &Page, css: &'static str, want: &'static str| {
        let client = p.client.clone();
        async move {
            let deadline = Instant::now() + PATIENCE;
            loop {
                let field = client.find(Locator::Css(css)).await.unwrap();
                let value = field.prop("value").await.unwrap().unwrap_or_default();
                if value == want {
                    return;
                }
                assert!(Instant::now() < deadline, "{css} stayed {value:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    p.client.back().await.unwrap();
    wait_value(&p, "#f-search", "").await;
    assert_eq!(p.value("#f-status").await, "active");
    p.client.back().await.unwrap();
    wait_value(&p, "#f-status", "").await;
    wait_text(&p, "#total", &unfiltered).await;
    assert!(!p.location().await.contains("status=active"));
    assert_eq!(kept(&p).await, "yes", "back stayed on the page");
    p.client.forward().await.unwrap();
    p.client.forward().await.unwrap();
    p.wait_path("status=active").await;
    wait_value(&p, "#f-status", "active").await;
    wait_text(&p, "#total", "1 invitation").await;
    p.client.refresh().await.unwrap();
    assert!(p.location().await.contains("status=active"));
    assert_eq!(p.value("#f-status").await, "active");
    assert!(p.text("#total").await.contains("1 invitation"));
    p.check("invitations-filtered").await;

    // The session expires in the middle of a form: sign in again, back to the form.
    p.goto("/admin/invitations/new").await;
    p.fill("#note", "half-typed").await;
    p.fill("#message", "Welcome\nback").await;
    p.fill("#max_uses", "7").await;
    rusqlite::Connection::open(daemon.data_dir.join("zondarr.db"))
        .unwrap()
        .execute(
            "UPDATE admin_sessions SET expires_at = '2000-01-01T00:00:00Z'",
            [],
        )
        .unwrap();
    p.click("#save").await;
    p.wait_path("/admin/sign-in").await;
    assert!(p.text("#expired").await.contains("session has ended"));
    p.check("session-expired").await;
    p.fill("#username", "robin").await;
    p.fill("#password", PASSWORD).await;
    p.click("#sign-in").await;
    p.wait_path("/admin/invitations/new").await;
    // What was typed came back with the form, and the page says so.
    assert_eq!(p.value("#note").await, "half-typed", "the note survived");
    assert_eq!(
        p.value("#message").await,
        "Welcome\nback",
        "the message survived"
    );
    assert_eq!(p.value("#max_uses").await, "7");
    assert!(p.text("#notice").await.contains("session had ended"));
    p.check("draft-restored").await;
    // A draft is given back once: a reload shows the empty form.
    p.client.refresh().await.unwrap();
    assert_eq!(p.value("#note").await, "");

    // Servers list and a server's page.
    p.goto("/admin/servers").await;
    assert!(p.text("#servers").await.contains("Home"));
    p.check("servers").await;
    p.click("#servers a").await;
    p.wait_path("/admin/servers/").await;
    assert!(!p.text("#libraries").await.is_empty());
    p.check("server").await;
    // A new address asks for the token again; the old one is kept otherwise.
    p.click("#edit").await;
    p.wait_path("/edit").await;
    p.fill("#url", "http://127.0.0.1:9").await;
    p.click("#save").await;
    wait_for(&p, "[id='config.api_key-error']").await;
    assert!(
        p.text("[id='config.api_key-error']")
            .await
            .contains("enter this again")
    );
    p.check("server-edit").await;
    p.fill("#url", jellyfin.base_url()).await;
    p.fill("#name", "Home server").await;
    p.click("#save").await;
    p.wait_path("saved=1").await;
    assert!(p.text("h1").await.contains("Home server"));
    // Switch off and on again (on tests the connection first).
    p.click("#toggle").await;
    wait_text(&p, "h1", "disabled").await;
    p.click("#toggle").await;
    wait_text(&p, "h1", "healthy").await;
    p.check("server-saved").await;
    // Sync now: the dry-run preview first, then the sync.
    p.click("#sync-preview").await;
    p.wait_path("/sync").await;
    assert!(p.text("h1").await.contains("preview"));
    assert!(p.text("main").await.contains("listed by the server"));
    p.check("sync-preview").await;
    p.click("#sync-apply").await;
    wait_text(&p, "h1", "done").await;
    p.check("sync-done").await;
    // Exclude an account from user sync, then include it again.
    p.click("#back").await;
    p.wait_path("/admin/servers/").await;
    p.fill("#external_id", "guest-account-id").await;
    p.fill("#exclusion-username", "guest").await;
    p.click("#exclude").await;
    wait_text(&p, "#exclusion-list", "guest").await;
    p.check("exclusions").await;
    p.click("#exclusion-list button").await;
    wait_text(&p, "#exclusions", "No exclusions").await;

    // Sign-in with TOTP.
    let secret = enable_totp(&daemon.url, "robin").await;
    p.click("#sign-out").await;
    p.wait_path("/admin/sign-in").await;
    assert!(p.text("#signed-out").await.contains("signed out"));
    p.check("signed-out").await;
    p.goto("/admin/invitations").await;
    p.wait_path("/admin/sign-in").await;
    p.fill("#username", "robin").await;
    p.fill("#password", PASSWORD).await;
    p.click("#sign-in").await;
    wait_for(&p, "#code").await;
    p.check("totp").await;
    p.fill("#code", "000000").await;
    p.click("#verify").await;
    wait_for(&p, "#code-error").await;
    p.check("totp-wrong").await;
    // The confirmation used this window's code; sign in with the next window's.
    p.fill("#code", &totp_code(&secret, 1)).await;
    p.click("#verify").await;
    p.wait_path("/admin/invitations").await;
    assert!(p.text("h1").await.contains("Invitations"));

    // "Sign in with your media server", once the admin allows it for the Jellyfin server.
    let db = rusqlite::Connection::open(daemon.data_dir.join("zondarr.db")).unwrap();
    let server: i64 = db
        .query_row("SELECT id FROM servers ORDER BY id LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    p.click("#sign-out").await;
    p.wait_path("/admin/sign-in").await;
    assert!(
        p.client.find(Locator::Css("#external")).await.is_err(),
        "not offered while no server allows it"
    );
    db.execute("UPDATE servers SET admin_login = 1 WHERE id = ?1", [server])
        .unwrap();
    p.goto("/admin/sign-in?next=/admin/servers").await;
    let offered = p.text("#external").await;
    assert!(offered.contains("Home server (Jellyfin)"), "{offered}");
    p.check("sign-in-external").await;
    let field = |f: &str| format!("#server-{server}-{f}");
    p.fill(&field("username"), zondarr_fakes::jellyfin::ADMIN_NAME)
        .await;
    p.fill(&field("password"), "not-the-password").await;
    p.click(&field("submit")).await;
    wait_for(&p, "#notice").await;
    assert!(p.text("#notice").await.contains("INVALID_CREDENTIALS"));
    assert_eq!(
        p.value(&field("username")).await,
        zondarr_fakes::jellyfin::ADMIN_NAME,
        "the name is kept in the server's form"
    );
    p.fill(&field("password"), zondarr_fakes::jellyfin::ADMIN_PASSWORD)
        .await;
    p.click(&field("submit")).await;
    p.wait_path("/admin/servers").await;
    assert!(
        p.text("#sign-out").await.contains(&format!(
            "{}@server{server}",
            zondarr_fakes::jellyfin::ADMIN_NAME
        )),
        "signed in as the server's administrator"
    );
    p.close().await;
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admin_pages_in_a_real_browser() {
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

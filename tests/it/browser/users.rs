//! The users pages in a real browser at 390×844 and 1280×800, with 10,000 accounts imported from
//! the fake Jellyfin by the daemon's own user sync: the list and its count, a search, the
//! "expiring within 7 days" filter, "select all on this page" without JavaScript, a bulk disable
//! of 3 users through the confirmation summary (the fake then shows exactly those 3 disabled),
//! and a user's page (set a password and a permission on the server, extend the expiry). Every
//! page is screenshotted and checked by axe-core. Then, without JavaScript, the "select all"
//! link and a bulk enable of those 3.

use super::*;

const VIEWPORTS: [Viewport; 2] = [
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

/// The daemon's API, as the admin's key.
struct Api {
    url: String,
    key: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.url))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// The id and the Jellyfin id of the account named `name`.
    async fn user(&self, name: &str) -> (i64, String) {
        let found = self
            .call(reqwest::Method::GET, &format!("/users?search={name}"), None)
            .await;
        let u = found["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .unwrap_or_else(|| panic!("{name} imported: {found}"));
        (
            u["id"].as_i64().unwrap(),
            u["external_id"].as_str().unwrap().to_owned(),
        )
    }
}

/// Digits of a text ("10,001 users" → 10001).
fn number_in(text: &str) -> i64 {
    text.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(-1)
}

async fn checked(p: &Page, css: &str) -> bool {
    p.client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .prop("checked")
        .await
        .unwrap()
        .is_some_and(|v| v == "true")
}

async fn journey(
    driver: &str,
    axe: Arc<String>,
    viewport: Viewport,
    api: &Api,
    jellyfin: &JellyfinFake,
    first: usize,
) {
    let label = format!("users-{}", viewport.name);
    // Four accounts whose access ends in three days: the "expiring" filter finds exactly them.
    let names: Vec<String> = (first..first + 4).map(|i| format!("user{i:05}")).collect();
    let mut accounts = Vec::new();
    let soon = zondarr_time(Duration::from_secs(3 * 24 * 3600));
    for name in &names {
        let (id, external) = api.user(name).await;
        api.call(
            reqwest::Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({ "expires_at": soon })),
        )
        .await;
        accounts.push((id, external));
    }

    let mut p = Page::open(
        driver,
        &api.url,
        label.clone(),
        viewport,
        true,
        "en-US",
        axe.clone(),
    )
    .await;
    p.goto("/admin/users").await;
    p.sign_in_as_test_admin("/admin/users").await;
    assert_eq!(number_in(&p.text("#total").await), 10_001, "every account");
    let rows = p
        .client
        .find_all(Locator::Css("#users tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 50, "one page of 50");
    reveal(&p, "#users").await;
    p.check("list").await;

    // Search.
    p.fill("#f-search", "user09999").await;
    p.click("#apply-filters").await;
    p.wait_path("search=user09999").await;
    assert_eq!(p.text("#total").await, "1 user");
    assert!(p.text("#users").await.contains("user09999"));
    p.check("search").await;

    // Filter by expiring within 7 days (the search cleared).
    p.fill("#f-search", "").await;
    p.client
        .find(Locator::Css("#f-expiry option[value='expiring']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    p.click("#apply-filters").await;
    p.wait_path("expiry=expiring").await;
    assert_eq!(p.text("#total").await, "4 users");
    let listed = p.text("#users").await;
    for name in &names {
        assert!(listed.contains(name.as_str()), "{name} in {listed}");
    }
    reveal(&p, "#users").await;
    p.check("expiring").await;
    // The filter lives in the URL: a reload keeps it.
    p.client.refresh().await.unwrap();
    assert_eq!(p.value("#f-expiry").await, "expiring");

    // "Select all on this page": with JavaScript it ticks the boxes in place, and clears them
    // again; without, it is a plain link to the page with every box ticked by the server.
    let href = p
        .client
        .find(Locator::Css("#select-all"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    p.click("#select-all").await;
    for (id, _) in &accounts {
        assert!(checked(&p, &format!("#sel-{id}")).await, "row {id} ticked");
    }
    assert!(!p.location().await.contains("select=all"), "in place");
    assert_eq!(p.text("#select-all").await, "Clear the selection");
    p.click("#select-all").await;
    wait_unchecked(&p, &format!("#sel-{}", accounts[0].0)).await;
    let path = href.strip_prefix(&api.url).unwrap_or(&href).to_owned();
    assert!(path.contains("select=all"), "{path}");
    p.goto(&path).await;
    for (id, _) in &accounts {
        assert!(checked(&p, &format!("#sel-{id}")).await, "row {id} checked");
    }
    reveal(&p, "#users").await;
    p.check("select-all").await;
    p.click("#select-all").await;
    p.wait_path("expiry=expiring").await;
    wait_unchecked(&p, &format!("#sel-{}", accounts[0].0)).await;

    // Bulk-disable three of them: the summary first, then the result.
    for (id, _) in &accounts[..3] {
        p.click(&format!("#sel-{id}")).await;
    }
    p.client
        .find(Locator::Css("#bulk-action option[value='disable']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    p.click("#bulk-review").await;
    p.wait_path("/admin/users/bulk").await;
    let summary = p.text("#summary").await;
    assert!(
        summary.contains("Home (Jellyfin): 3 accounts will be disabled on the server"),
        "{summary}"
    );
    for name in &names[..3] {
        assert!(summary.contains(name.as_str()), "{summary}");
    }
    assert!(!summary.contains(names[3].as_str()), "{summary}");
    assert!(p.text("h1").await.contains("Disable 3 users"));
    p.check("bulk-confirm").await;
    p.click("#confirm").await;
    wait_text_in(&p, "#flash", "3 done, 0 failed").await;
    let outcomes = p.text("#outcomes").await;
    assert_eq!(outcomes.matches("done").count(), 3, "{outcomes}");
    p.check("bulk-result").await;
    for (_, external) in &accounts[..3] {
        let policy = jellyfin.policy(external).unwrap();
        assert_eq!(policy["IsDisabled"], true, "disabled on the fake: {policy}");
    }
    let policy = jellyfin.policy(&accounts[3].1).unwrap();
    assert_eq!(policy["IsDisabled"], false, "not selected: {policy}");
    // Back to the list, as it was.
    p.click("#back").await;
    p.wait_path("expiry=expiring").await;
    let listed = p.text("#users").await;
    assert_eq!(listed.matches("disabled").count(), 3, "{listed}");
    reveal(&p, "#users").await;
    p.check("list-after").await;

    // A user's page: password and a permission on the server, the expiry extended.
    let (id, external) = accounts[3].clone();
    p.goto(&format!("/admin/users/{id}")).await;
    assert!(p.text("h1").await.contains(names[3].as_str()));
    assert!(p.text("#facts").await.contains("user sync"));
    p.check("user").await;
    p.fill("#password", "a-new-long-password").await;
    p.click("#save-password").await;
    wait_text_in(&p, "#flash", "Password set").await;
    assert!(jellyfin.check_password(&external, "a-new-long-password"));
    let downloads = format!("[id='perm-{}-allow_downloads']", server_of(api, id).await);
    let before = checked(&p, &downloads).await;
    p.click(&downloads).await;
    p.click("#save-permissions").await;
    wait_text_in(&p, "#flash", "Permissions saved").await;
    let policy = jellyfin.policy(&external).unwrap();
    assert_eq!(
        policy["EnableContentDownloading"], !before,
        "the permission on the fake: {policy}"
    );
    p.fill("#password", "short").await;
    p.click("#save-password").await;
    wait_for_css(&p, "#password-error").await;
    p.check("user-refused").await;
    // "Never expire" is the expiry form's second button (its name survives the submit-once
    // script).
    p.click("#clear-expiry").await;
    wait_text_in(&p, "#flash", "Expiry saved").await;
    assert_eq!(
        api.call(reqwest::Method::GET, &format!("/users/{id}"), None)
            .await["expires_at"],
        Value::Null
    );
    let audit = p.text("#audit").await;
    assert!(
        audit.contains("user.permissions")
            && audit.contains("user.password")
            && audit.contains("user.expiry"),
        "{audit}"
    );
    p.close().await;

    // Leave the next journey a clean "expiring" filter.
    for (id, _) in &accounts {
        api.call(
            reqwest::Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({ "expires_at": null })),
        )
        .await;
    }
}

/// Scroll `css` into view before a screenshot (the phone shows the filters first).
async fn reveal(p: &Page, css: &str) {
    p.client
        .execute(
            "document.querySelector(arguments[0]).scrollIntoView();",
            vec![json!(css)],
        )
        .await
        .unwrap();
}

/// Without JavaScript, at phone width: the phone journey's three disabled accounts, made to
/// expire soon again, are found with the filter, all ticked by the "select all" link (the
/// server renders the page with every box checked) and enabled in bulk; the fake shows them
/// enabled again.
async fn without_javascript(driver: &str, axe: Arc<String>, api: &Api, jellyfin: &JellyfinFake) {
    let soon = zondarr_time(Duration::from_secs(2 * 24 * 3600));
    let mut accounts = Vec::new();
    for i in 101..104 {
        let (id, external) = api.user(&format!("user{i:05}")).await;
        api.call(
            reqwest::Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({ "expires_at": soon })),
        )
        .await;
        assert_eq!(jellyfin.policy(&external).unwrap()["IsDisabled"], true);
        accounts.push(external);
    }
    let mut p = Page::open(
        driver,
        &api.url,
        "users-nojs".into(),
        VIEWPORTS[0],
        false,
        "en-US",
        axe,
    )
    .await;
    p.goto("/admin/users?expiry=expiring&status=disabled").await;
    p.sign_in_as_test_admin("status=disabled").await;
    assert_eq!(p.text("#total").await, "3 users");
    p.click("#select-all").await;
    p.wait_path("select=all").await;
    let boxes = p
        .client
        .find_all(Locator::Css("#users input[name='user']:checked"))
        .await
        .unwrap();
    assert_eq!(boxes.len(), 3, "all three ticked by the server");
    p.client
        .find(Locator::Css("#bulk-action option[value='enable']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    p.click("#bulk-review").await;
    p.wait_path("/admin/users/bulk").await;
    assert!(
        p.text("#summary")
            .await
            .contains("3 accounts will be enabled on the server")
    );
    p.check("bulk-confirm").await;
    p.click("#confirm").await;
    wait_text_in(&p, "#flash", "3 done, 0 failed").await;
    p.check("bulk-result").await;
    for external in &accounts {
        assert_eq!(
            jellyfin.policy(external).unwrap()["IsDisabled"],
            false,
            "enabled again on the fake"
        );
    }
    p.close().await;
}

async fn server_of(api: &Api, id: i64) -> i64 {
    api.call(reqwest::Method::GET, &format!("/users/{id}"), None)
        .await["server_id"]
        .as_i64()
        .unwrap()
}

async fn wait_unchecked(p: &Page, css: &str) {
    let deadline = Instant::now() + PATIENCE;
    while checked(p, css).await {
        assert!(
            Instant::now() < deadline,
            "{}: {css} stays checked",
            p.label
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_for_css(p: &Page, css: &str) {
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

async fn wait_text_in(p: &Page, css: &str, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = p.text(css).await;
        if text.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: {css} never said {needle:?}: {}",
            p.label,
            p.text("main").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_pages_with_10000_users_in_a_real_browser() {
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
    let dir = tempfile::tempdir().unwrap().keep();
    // 10,000 Jellyfin users are a body of about 20 MB: the plugins get room for it.
    let daemon = Daemon::start_with(
        &dir,
        &[],
        &[
            ("ZONDARR_PLUGINS_MEMORY_MIB", "256"),
            ("ZONDARR_PLUGINS_MAX_RESPONSE_BYTES", "67108864"),
            ("ZONDARR_PLUGINS_CALL_TIMEOUT_SECS", "120"),
            ("ZONDARR_PLUGINS_HTTP_TIMEOUT_SECS", "120"),
        ],
    );
    let key = admin_key(&daemon).await;
    let api = Api {
        url: daemon.url.clone(),
        key,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()
            .unwrap(),
    };
    // The browser's sign-in must come from the public origin.
    api.call(
        reqwest::Method::PATCH,
        "/settings",
        Some(json!({ "public_url": daemon.url })),
    )
    .await;
    let jellyfin = JellyfinFake::start().await;
    jellyfin.seed_users(10_000);
    let server = api
        .call(
            reqwest::Method::POST,
            "/servers",
            Some(json!({ "name": "Home", "kind": "jellyfin", "url": jellyfin.base_url(), "config": { "api_key": jellyfin.api_key() } })),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    // The daemon imports them with its own user sync (the fake's administrator too).
    let report = api
        .call(
            reqwest::Method::POST,
            &format!("/servers/{server}/sync"),
            Some(json!({ "what": "users" })),
        )
        .await;
    assert_eq!(report["users"]["counts"]["imported"], 10_001, "{report}");
    // One viewport after the other: each sets its own four expiring accounts.
    for (viewport, first) in VIEWPORTS.into_iter().zip([101, 201]) {
        journey(&driver.url, axe.clone(), viewport, &api, &jellyfin, first).await;
    }
    without_javascript(&driver.url, axe.clone(), &api, &jellyfin).await;
    println!(
        "users browser journeys passed; screenshots in {}",
        screenshot_dir().display()
    );
    drop(daemon);
}

//! The ops pages in a real browser at 390×844 and 1280×800 (each with its own daemon and fake
//! Jellyfin): a broken file dropped into the plugins folder and "Rescan" show its load error on
//! the plugins page; a live setting changed on the settings page (a refused value first, its
//! error next to the field) is applied at once (the JSON API and the page header show it); "Run
//! now" of a job and of a server's user sync add runs to the jobs page; the log tail shows an
//! event produced after it opened, holds events while paused and shows them on resume; the
//! audit log lists those actions, filtered, and links to the server's page. Every page is
//! screenshotted (`ops-{phone,desktop}-NN-*.png`) and checked by axe-core.

use super::*;
use crate::support::client;

const OPS_VIEWPORTS: [Viewport; 2] = [
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

async fn wait_text(p: &Page, css: &str, needle: &str) {
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

async fn attr(p: &Page, css: &str, name: &str) -> Option<String> {
    p.client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{}: no {css}: {e}", p.label))
        .attr(name)
        .await
        .unwrap()
}

/// Wait until the element's attribute has the value.
async fn wait_attr(p: &Page, css: &str, name: &str, value: &str) {
    wait_attr_until(p, css, name, &format!("became {value:?}"), |v| {
        v == Some(value)
    })
    .await;
}

/// Wait until the paused log tail holds at least one event (a scheduled job's event may be
/// held too, so not exactly one).
async fn wait_held(p: &Page) {
    wait_attr_until(p, "#log-tail", "data-held", "held an event", |held| {
        held.and_then(|h| h.parse::<u32>().ok()) >= Some(1)
    })
    .await;
}

/// Poll the element's attribute until `done` accepts it; fail after 20 s, saying what it
/// never did (`what`) and the last value seen.
async fn wait_attr_until(
    p: &Page,
    css: &str,
    name: &str,
    what: &str,
    done: impl Fn(Option<&str>) -> bool,
) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let value = attr(p, css, name).await;
        if done(value.as_deref()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: {css} [{name}] never {what} (last {value:?})",
            p.label
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn api(base: &str, key: &str, method: &str, path: &str) -> Value {
    let http = client();
    let url = format!("{base}{path}");
    let req = match method {
        "POST" => http.post(url).json(&json!({})),
        _ => http.get(url),
    };
    let resp = req.bearer_auth(key).send().await.unwrap();
    assert!(
        resp.status().is_success(),
        "{method} {path}: {}",
        resp.status()
    );
    resp.json().await.unwrap()
}

/// A daemon of one journey: its URL, data folder and an admin API key.
struct Target {
    url: String,
    data_dir: PathBuf,
    key: String,
}

async fn journey(driver: String, axe: Arc<String>, viewport: Viewport, daemon: Target) {
    let key = daemon.key.clone();
    let jellyfin = JellyfinFake::start().await;
    let server = api_post(
        &daemon.url,
        &key,
        "/api/v1/servers",
        json!({ "name": "Home", "kind": "jellyfin", "url": jellyfin.base_url(), "config": { "api_key": jellyfin.api_key() } }),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let mut p = Page::open(
        &driver,
        &daemon.url,
        format!("ops-{}", viewport.name),
        viewport,
        true,
        "en-US",
        axe.clone(),
    )
    .await;
    p.goto("/admin/plugins").await;
    p.sign_in_as_test_admin("/admin/plugins").await;

    // Plugins: the bundled connectors, then a broken file and a rescan.
    assert!(p.text("#plugin-jellyfin").await.contains("Jellyfin"));
    let plex = p.text("#plugin-plex").await;
    assert!(
        plex.contains("https://plex.tv") && plex.contains("gets the server's credentials"),
        "extra hosts and their credentials: {plex}"
    );
    shot(&mut p, "plugins").await;
    std::fs::write(
        daemon.data_dir.join("plugins/broken.wasm"),
        b"this is not wasm at all",
    )
    .unwrap();
    p.click("#rescan").await;
    p.wait_path("rescanned=1").await;
    assert!(p.text("#flash").await.contains("Rescan done"));
    let card = p.text("#plugin-broken-wasm").await;
    assert!(card.contains("broken.wasm"), "{card}");
    assert!(
        card.contains("not a WebAssembly file"),
        "the full error: {card}"
    );
    assert!(card.contains("failed to load"), "{card}");
    shot(&mut p, "plugins-broken").await;
    // A new plugin whose extra host waits for an admin: the card asks, and "Refuse" answers.
    std::fs::write(
        daemon.data_dir.join("plugins/fixture.wasm"),
        crate::plugins::fixture(),
    )
    .unwrap();
    p.click("#rescan").await;
    // The URL already says `rescanned=1`: wait for the new card instead.
    wait_for(&p, "#refuse-fixture").await;
    let card = p.text("#plugin-fixture").await;
    assert!(card.contains("Refuse"), "{card}");
    shot(&mut p, "plugins-pending").await;
    p.click("#refuse-fixture").await;
    p.wait_path("refused=fixture").await;
    assert!(p.text("#flash").await.contains("is refused"));
    let card = p.text("#plugin-fixture").await;
    assert!(card.contains("extra hosts refused"), "{card}");
    assert!(!card.contains("Approve this version"), "{card}");

    // Settings: a locked one is read-only; a wrong value is refused next to its field; a good
    // one applies at once.
    p.goto("/admin/settings").await;
    assert!(
        attr(&p, "#s-security-join-per-ip-per-minute", "readonly")
            .await
            .is_some()
    );
    assert!(
        p.text("#s-security-join-per-ip-per-minute-meta")
            .await
            .contains("ZONDARR_SECURITY_JOIN_PER_IP_PER_MINUTE")
    );
    shot(&mut p, "settings").await;
    p.fill("#s-jobs-keep-days", "0").await;
    p.click("#save-settings").await;
    wait_for(&p, "#s-jobs-keep-days-error").await;
    assert!(
        p.text("#s-jobs-keep-days-error")
            .await
            .contains("1 to 3650")
    );
    assert_eq!(p.value("#s-jobs-keep-days").await, "0", "kept as typed");
    shot(&mut p, "settings-refused").await;
    p.fill("#s-jobs-keep-days", "45").await;
    p.fill("#s-ui-instance-name", "Ops Corner").await;
    p.click("#save-settings").await;
    p.wait_path("saved=").await;
    assert!(p.text("#flash").await.contains("Saved"));
    assert_eq!(
        p.text(".brand").await,
        "Ops Corner",
        "applied to every page"
    );
    let settings = api(&daemon.url, &key, "GET", "/api/v1/settings").await;
    let keep = settings["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "jobs.keep_days")
        .unwrap();
    assert_eq!(keep["value"], 45);
    assert_eq!(keep["source"], "app");
    shot(&mut p, "settings-saved").await;

    // Jobs: run now, daemon-wide and for the server.
    p.goto("/admin/jobs").await;
    shot(&mut p, "jobs").await;
    p.click("#run-cleanup").await;
    p.wait_path("ran=").await;
    assert!(p.text("#flash").await.contains("Clean-up: succeeded"));
    // The schedule may add runs meanwhile: find this one by its id.
    let row = format!("#run-{}", ran(&p).await);
    assert!(p.text(&row).await.contains("Clean-up"));
    p.click(&format!("#run-user_sync-{server}")).await;
    wait_text(&p, "#flash", "User sync: succeeded").await;
    let row = p.text(&format!("#run-{}", ran(&p).await)).await;
    assert!(row.contains("User sync") && row.contains("Home"), "{row}");
    assert!(row.contains("imported 1"), "what it did: {row}");
    let runs = api(&daemon.url, &key, "GET", "/api/v1/jobs?trigger=manual").await;
    assert_eq!(runs["total"], 2, "{runs}");
    shot(&mut p, "jobs-ran").await;

    // Logs: a live tail of the jobs' events.
    p.goto("/admin/logs?target=zondarr::jobs").await;
    wait_attr(&p, "#log-tail", "data-state", "live").await;
    shot(&mut p, "logs").await;
    // The schedule runs these jobs too; only an admin's run is `trigger=manual`.
    api(
        &daemon.url,
        &key,
        "POST",
        "/api/v1/jobs/invitation_expiry/run",
    )
    .await;
    wait_tail(&p, "invitation_expiry").await;
    // Paused: the next event is held, then shown on resume.
    p.click("#log-pause").await;
    wait_text(&p, "#log-status", "Paused").await;
    api(&daemon.url, &key, "POST", "/api/v1/jobs/prune_job_runs/run").await;
    // At least one held: a scheduled job's event may be held as well (the schedule runs too).
    wait_held(&p).await;
    assert!(!tail_has(&p, "prune_job_runs").await, "held while paused");
    p.click("#log-pause").await;
    wait_tail(&p, "prune_job_runs").await;
    shot(&mut p, "logs-live").await;

    // Without JavaScript: the log page is the recent events with a refresh link, and "Run now"
    // is a plain form.
    let mut plain = Page::open(
        &driver,
        &daemon.url,
        format!("ops-{}-nojs", viewport.name),
        viewport,
        false,
        "en-US",
        axe,
    )
    .await;
    plain.goto("/admin/logs?target=zondarr::jobs").await;
    plain.sign_in_as_test_admin("/admin/logs").await;
    assert!(
        tail_has(&plain, "prune_job_runs").await,
        "rendered by the server"
    );
    assert!(
        plain
            .text("#log-status")
            .await
            .contains("at the time the page was loaded")
    );
    assert!(!tail_has(&plain, "user_expiry").await);
    shot(&mut plain, "logs-static").await;
    plain.goto("/admin/jobs").await;
    plain.click("#run-user_expiry").await;
    plain.wait_path("ran=").await;
    assert!(
        plain
            .text("#flash")
            .await
            .contains("User expiry: succeeded")
    );
    plain.goto("/admin/logs?target=zondarr::jobs").await;
    plain.click("#refresh").await;
    wait_tail(&plain, "user_expiry").await;
    plain.close().await;

    // Audit: the actions above, filtered, linked to what they are about.
    p.goto("/admin/audit").await;
    shot(&mut p, "audit").await;
    p.fill("#f-action", "server.").await;
    p.click("#apply-filters").await;
    p.wait_path("action=server.").await;
    let events = p.text("#events").await;
    assert!(
        events.contains("server.sync") && !events.contains("settings.update"),
        "{events}"
    );
    shot(&mut p, "audit-filtered").await;
    p.click("#events a.about").await;
    p.wait_path(&format!("/admin/servers/{server}")).await;
    p.close().await;
}

/// Screenshot, console and axe-core checks, and no sideways scrolling (a phone screen too).
async fn shot(p: &mut Page, name: &str) {
    p.check(name).await;
    let wide = p
        .client
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            Vec::new(),
        )
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    assert!(
        wide <= 0,
        "{} {name}: the page is {wide}px too wide",
        p.label
    );
}

/// The run id in the page's `ran=` (the run "Run now" started).
async fn ran(p: &Page) -> i64 {
    let here = p.location().await;
    here.split("ran=")
        .nth(1)
        .and_then(|r| r.split(['&', '#']).next())
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("{}: no ran= in {here}", p.label))
}

/// Whether the log tail shows an admin's run of `job` finishing.
async fn tail_has(p: &Page, job: &str) -> bool {
    p.client
        .execute(
            "var job = arguments[0];
             return Array.from(document.querySelectorAll('#log-tail li')).some(function (li) {
                 return li.textContent.indexOf('job=' + job + ' ') >= 0
                     && li.textContent.indexOf('trigger=manual') >= 0; });",
            vec![json!(job)],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap()
}

async fn wait_tail(p: &Page, job: &str) {
    let deadline = Instant::now() + PATIENCE;
    while !tail_has(p, job).await {
        assert!(
            Instant::now() < deadline,
            "{}: the log tail never showed {job}: {}",
            p.label,
            p.text("#log-tail").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_for(p: &Page, css: &str) {
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

async fn api_post(base: &str, key: &str, path: &str, body: Value) -> Value {
    let resp = client()
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ops_pages_in_a_real_browser() {
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
    // The daemons stay with the test (they are not `Sync`); each journey gets its own.
    let mut daemons = Vec::new();
    let mut runs = Vec::new();
    for v in OPS_VIEWPORTS {
        let dir = tempfile::tempdir().unwrap().keep();
        // Locks one setting: the page shows it read-only.
        let daemon = Daemon::start_with(
            &dir,
            &[],
            &[("ZONDARR_SECURITY_JOIN_PER_IP_PER_MINUTE", "10000")],
        );
        let key = admin_key(&daemon).await;
        // Sign-in checks the browser's origin against the public address: the daemon's own.
        let resp = client()
            .patch(daemon.at("/api/v1/settings"))
            .bearer_auth(&key)
            .json(&json!({ "public_url": daemon.url }))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        let target = Target {
            url: daemon.url.clone(),
            data_dir: daemon.data_dir.clone(),
            key,
        };
        runs.push((
            v.name,
            tokio::spawn(journey(driver.url.clone(), axe.clone(), v, target)),
        ));
        daemons.push(daemon);
    }
    await_all(runs).await;
    drop(daemons);
}

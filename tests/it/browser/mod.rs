//! The invitee's join pages in a real browser: Debian's Chromium, headless, driven through
//! chromedriver (WebDriver) with `fantoccini`, against the real daemon and the fake Jellyfin,
//! Plex Media Server and plex.tv.
//!
//! Every journey runs at 360×740 (a phone) and 1280×800, saves a screenshot of every page it
//! sees (folder: `$SCREENSHOT_DIR`, default `target/screenshots`), fails on any console error or
//! CSP violation the browser reports, runs axe-core on the pages (no serious or critical
//! violation) and checks the account on the fake server at the end.
//!
//! Chromium, chromedriver and axe-core are found at `/usr/bin/chromium`,
//! `/usr/bin/chromedriver` and `$AXE_CORE_JS` (default
//! `target/axe/node_modules/axe-core/axe.min.js`). When one is missing the test prints one line
//! saying how to install them and passes — unless `BROWSER_TESTS=required` (`.ci/run` sets it),
//! where it fails.

mod account;
mod admin;
mod journeys;
mod ops;
mod users;
mod wizards;

use crate::support::{Daemon, admin_key, client};
use fantoccini::{Client, ClientBuilder, Locator};
use journeys::{expired, german, jellyfin_with_wizards, mixed, plex_sign_in, taken_username};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zondarr_fakes::jellyfin::JellyfinFake;

/// The pre-join wizard's timer in the Jellyfin journey: long enough that the page is read before
/// it runs out on a slow, busy machine; the journey waits it out.
const WIZARD_TIMER_SECS: u64 = 4;
use zondarr_fakes::navidrome::NavidromeFake;
use zondarr_fakes::plex::PlexFake;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How many browser sessions run at once (the machine has two cores).
const PARALLEL: usize = 3;
/// How long a browser test waits for something to appear before it fails: generous, because
/// CI runs the browser tests beside every other test on two cores, where a page or a password
/// hash can take many times its usual second.
pub(super) const PATIENCE: Duration = Duration::from_secs(30);
/// The address members use for the Jellyfin server, as the admin gave it (the result page shows
/// it instead of the fake's loopback URL).
pub(super) const MEMBER_URL: &str = "https://jellyfin.example.org";

fn workspace() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

fn axe_path() -> PathBuf {
    std::env::var_os("AXE_CORE_JS").map_or_else(
        || workspace().join("target/axe/node_modules/axe-core/axe.min.js"),
        PathBuf::from,
    )
}

fn screenshot_dir() -> PathBuf {
    std::env::var_os("SCREENSHOT_DIR")
        .map_or_else(|| workspace().join("target/screenshots"), PathBuf::from)
}

/// `None` when everything the browser tests need is installed; otherwise what is missing.
fn missing() -> Option<String> {
    let missing: Vec<String> = [
        PathBuf::from(CHROMIUM),
        PathBuf::from(CHROMEDRIVER),
        axe_path(),
    ]
    .into_iter()
    .filter(|p| !p.exists())
    .map(|p| p.display().to_string())
    .collect();
    (!missing.is_empty()).then(|| missing.join(", "))
}

/// A chromedriver process on a free loopback port; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + PATIENCE;
        while client().get(format!("{url}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chromedriver's browser console log (`POST /session/{id}/se/log`), which also carries CSP
/// violations. Not in the W3C protocol, hence a command of our own.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct Viewport {
    name: &'static str,
    width: u32,
    height: u32,
}

const VIEWPORTS: [Viewport; 2] = [
    Viewport {
        name: "phone",
        width: 360,
        height: 740,
    },
    Viewport {
        name: "desktop",
        width: 1280,
        height: 800,
    },
];

/// One browser session of one journey.
struct Page {
    client: Client,
    base: String,
    label: String,
    shots: usize,
    js: bool,
    axe: Arc<String>,
    /// Console messages that are expected (the unreachable plex.tv sign-in page).
    tolerated: Vec<&'static str>,
}

impl Page {
    async fn open(
        driver: &str,
        base: &str,
        label: String,
        viewport: Viewport,
        js: bool,
        lang: &str,
        axe: Arc<String>,
    ) -> Page {
        let mut prefs = json!({ "intl": { "accept_languages": lang } });
        if !js {
            prefs["profile"] = json!({ "managed_default_content_settings": { "javascript": 2 } });
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--disable-extensions",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--lang={lang}"),
                    format!("--window-size={},{}", viewport.width, viewport.height),
                    // Hermetic: nothing but loopback resolves (plex.tv's sign-in page fails fast).
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                ],
                "prefs": prefs,
            }
        });
        let caps = match caps {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(driver)
            .await
            .expect("start a Chromium session");
        // The window includes the browser's own frame: size it so the page's viewport is exactly
        // the journey's.
        client
            .set_window_size(viewport.width, viewport.height)
            .await
            .unwrap();
        client.goto("about:blank").await.unwrap();
        if let Ok(inner) = client
            .execute(
                "return [window.innerWidth, window.innerHeight];",
                Vec::new(),
            )
            .await
            && let (Some(w), Some(h)) = (inner[0].as_u64(), inner[1].as_u64())
        {
            let width = 2 * u64::from(viewport.width) - w;
            let height = 2 * u64::from(viewport.height) - h;
            client
                .set_window_size(width as u32, height as u32)
                .await
                .unwrap();
        }
        Page {
            client,
            base: base.to_owned(),
            label,
            shots: 0,
            js,
            axe,
            tolerated: Vec::new(),
        }
    }

    async fn goto(&mut self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    /// The page's path and query.
    async fn location(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Wait until the path contains `part` (after a click that navigates).
    async fn wait_path(&self, part: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let here = self.location().await;
            if here.contains(part) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: expected a page at …{part}…, still at {here}: {}",
                self.label,
                self.text("body").await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{}: no {css}: {e}", self.label))
            .click()
            .await
            .unwrap();
    }

    async fn fill(&self, css: &str, value: &str) {
        let e = self.client.find(Locator::Css(css)).await.unwrap();
        e.clear().await.unwrap();
        e.send_keys(value).await.unwrap();
    }

    /// On the sign-in page an admin page sent the browser to: sign in as the admin made by
    /// [`admin_key`], and wait until the browser is back at `then` (a part of the path).
    async fn sign_in_as_test_admin(&self, then: &str) {
        self.wait_path("/admin/sign-in").await;
        self.fill("#username", "admin").await;
        self.fill("#password", crate::support::ADMIN_PASSWORD).await;
        self.click("#sign-in").await;
        self.wait_path(then).await;
    }

    async fn value(&self, css: &str) -> String {
        let e = self.client.find(Locator::Css(css)).await.unwrap();
        e.prop("value").await.unwrap().unwrap_or_default()
    }

    /// Screenshot, console check and accessibility check of the current page.
    async fn check(&mut self, name: &str) {
        self.shots += 1;
        let png = self.client.screenshot().await.unwrap();
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("{}-{:02}-{name}.png", self.label, self.shots)),
            png,
        )
        .unwrap();
        self.console_clean().await;
        if self.js {
            self.axe(name).await;
        }
    }

    async fn console_clean(&self) {
        let log = self.client.issue_cmd(BrowserLog).await.unwrap();
        let errors: Vec<String> = log
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE" || e["level"] == "WARNING")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .filter(|m| !self.tolerated.iter().any(|t| m.contains(t)))
            .filter(|m| !is_error_page_status(m))
            .collect();
        assert!(
            errors.is_empty(),
            "{}: console errors or CSP violations: {errors:#?}",
            self.label
        );
    }

    async fn axe(&self, name: &str) {
        // WebDriver scripts run outside the page's CSP, so axe-core can be injected from its
        // file; the page itself still allows only its own script.
        self.client
            .execute(&format!("{}\nreturn true;", self.axe), Vec::new())
            .await
            .unwrap();
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact,
                        nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5) }))))
                    .catch(e => done([{ id: 'axe-failed', impact: 'critical', nodes: [String(e)] }]));",
                Vec::new(),
            )
            .await
            .unwrap();
        let bad: Vec<&Value> = result
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["impact"] == "serious" || v["impact"] == "critical")
            .collect();
        assert!(
            bad.is_empty(),
            "{} {name}: accessibility violations: {bad:#?}",
            self.label
        );
    }

    async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Everything the journeys share: the daemon, its admin API key and the fakes.
struct World {
    /// The daemon's URL (the `Daemon` itself stays with the test: it is not `Sync`).
    url: String,
    data_dir: PathBuf,
    key: String,
    jellyfin: JellyfinFake,
    plex: PlexFake,
    /// A second credential server whose name rules are looser than Jellyfin's.
    navidrome: NavidromeFake,
    jellyfin_server: i64,
    plex_server: i64,
    navidrome_server: i64,
    pre_wizard: i64,
    post_wizard: i64,
    driver: String,
    axe: Arc<String>,
}

/// The admin's message on the wizard journeys' invitations: HTML in it must show as text, its
/// line break kept.
const WELCOME: &str = "Welcome, <b>friend</b>!\nPopcorn is on me.";

impl World {
    async fn admin(&self, path: &str, body: Value) -> Value {
        let resp = client()
            .post(format!("{}/api/v1{path}", self.url))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    async fn invitation(&self, code: &str, server: i64, wizards: bool) {
        let mut body = json!({ "code": code, "servers": [{ "server_id": server }], "access_duration_days": 30 });
        if wizards {
            body["pre_wizard_id"] = json!(self.pre_wizard);
            body["post_wizard_id"] = json!(self.post_wizard);
            body["message"] = json!(WELCOME);
        }
        self.admin("/invitations", body).await;
    }

    async fn page(&self, label: String, viewport: Viewport, js: bool, lang: &str) -> Page {
        Page::open(
            &self.driver,
            &self.url,
            label,
            viewport,
            js,
            lang,
            self.axe.clone(),
        )
        .await
    }

    /// The PIN of the newest account link of an invitation (what plex.tv would show the
    /// invitee), read from the daemon's database.
    fn newest_pin(&self, code: &str) -> String {
        rusqlite::Connection::open(self.data_dir.join("zondarr.db"))
            .unwrap()
            .query_row(
                "SELECT l.pin_id FROM join_links l JOIN invitations i ON i.id = l.invitation_id
                 WHERE i.code = ?1 ORDER BY l.id DESC LIMIT 1",
                [code],
                |r| r.get(0),
            )
            .unwrap()
    }
}

async fn setup(driver: String, axe: String) -> (Daemon, World) {
    let dir = tempfile::tempdir().unwrap().keep();
    let daemon = Daemon::start_with(
        &dir,
        &[],
        &[
            ("ZONDARR_SECURITY_JOIN_PER_IP_PER_MINUTE", "10000"),
            ("ZONDARR_SECURITY_JOIN_POLL_PER_IP_PER_MINUTE", "10000"),
            ("ZONDARR_SECURITY_JOIN_WIZARD_PER_IP_PER_MINUTE", "10000"),
            ("ZONDARR_SECURITY_JOIN_REDEEM_PER_IP_PER_MINUTE", "10000"),
            ("ZONDARR_UI_INSTANCE_NAME", "Robin's Media"),
        ],
    );
    let key = admin_key(&daemon).await;
    let jellyfin = JellyfinFake::start().await;
    let plex = PlexFake::start().await;
    let navidrome = NavidromeFake::start().await;
    let mut world = World {
        url: daemon.url.clone(),
        data_dir: daemon.data_dir.clone(),
        key,
        jellyfin,
        plex,
        navidrome,
        jellyfin_server: 0,
        plex_server: 0,
        navidrome_server: 0,
        pre_wizard: 0,
        post_wizard: 0,
        driver,
        axe: Arc::new(axe),
    };
    world.jellyfin_server = world
        .admin("/servers", json!({ "name": "Home", "kind": "jellyfin", "url": world.jellyfin.base_url(), "config": { "api_key": world.jellyfin.api_key(), "member_url": MEMBER_URL } }))
        .await["id"]
        .as_i64()
        .unwrap();
    world.plex_server = world
        .admin("/servers", json!({
            "name": "Movies", "kind": "plex", "url": world.plex.pms_url(),
            "config": { "token": world.plex.owner_token() },
            "extra_hosts": { "plex-tv": world.plex.plex_tv_url(), "clients-plex-tv": world.plex.plex_tv_url() }
        }))
        .await["id"]
        .as_i64()
        .unwrap();
    world.navidrome_server = world
        .admin(
            "/servers",
            json!({
                "name": "Music", "kind": "navidrome", "url": world.navidrome.base_url(),
                "config": { "username": zondarr_fakes::navidrome::ADMIN_NAME,
                            "password": zondarr_fakes::navidrome::ADMIN_PASSWORD }
            }),
        )
        .await["id"]
        .as_i64()
        .unwrap();

    let pre = world
        .admin("/wizards", json!({ "name": "House rules" }))
        .await["id"]
        .as_i64()
        .unwrap();
    let rules = world
        .admin(&format!("/wizards/{pre}/steps"), json!({ "title": "Be kind", "content": "# Our rules\n\nNo sharing of **passwords**. Read them [here](https://example.org/rules)." }))
        .await["id"]
        .as_i64()
        .unwrap();
    world
        .admin(
            &format!("/wizards/{pre}/steps/{rules}/interactions"),
            json!({ "type": "quiz", "question": "May you share your password?", "options": ["Yes", "No"], "correct_index": 1 }),
        )
        .await;
    world
        .admin(
            &format!("/wizards/{pre}/steps/{rules}/interactions"),
            json!({ "type": "timer", "duration_seconds": WIZARD_TIMER_SECS }),
        )
        .await;
    let terms = world
        .admin(
            &format!("/wizards/{pre}/steps"),
            json!({ "title": "Terms", "content": "Access can end at any time." }),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    world
        .admin(
            &format!("/wizards/{pre}/steps/{terms}/interactions"),
            json!({ "type": "terms", "label": "I accept the terms" }),
        )
        .await;
    let post = world
        .admin("/wizards", json!({ "name": "Getting started" }))
        .await["id"]
        .as_i64()
        .unwrap();
    let apps = world
        .admin(
            &format!("/wizards/{post}/steps"),
            json!({ "title": "Install an app", "content": "Install the app on your TV." }),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    world
        .admin(
            &format!("/wizards/{post}/steps/{apps}/interactions"),
            json!({ "type": "click", "button_text": "Got it" }),
        )
        .await;
    world.pre_wizard = pre;
    world.post_wizard = post;
    (daemon, world)
}

/// Chrome logs the status of every page answered with an error status ("Failed to load
/// resource: … 404"), including the pages that are meant to be error pages (an invalid
/// invitation is a 404, a form with errors a 422, also on the admin pages). Those are expected;
/// a failed asset, theme or API request is not.
fn is_error_page_status(message: &str) -> bool {
    let Some((url, rest)) = message.split_once(" - ") else {
        return false;
    };
    rest.starts_with("Failed to load resource: the server responded with a status of 4")
        && (url.contains("/j/") || url.contains("/admin/") || url.contains("/setup"))
        && !["/assets/", "/theme/", "/api/"]
            .iter()
            .any(|p| url.contains(p))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invitees_join_in_a_real_browser() {
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
    let started = Instant::now();
    let axe = std::fs::read_to_string(axe_path()).unwrap();
    let driver = Driver::start().await;
    let (_daemon, world) = setup(driver.url.clone(), axe).await;
    let world = Arc::new(world);
    let expiring = "gone-soon";
    world
        .admin(
            "/invitations",
            json!({ "code": expiring, "servers": [{ "server_id": world.jellyfin_server }],
                    "expires_at": zondarr_time(Duration::from_secs(2)) }),
        )
        .await;

    type Journey = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
    let mut journeys: Vec<(String, Journey)> = Vec::new();
    for viewport in VIEWPORTS {
        for js in [true, false] {
            let w = world.clone();
            journeys.push((
                format!("jellyfin js={js} {}", viewport.name),
                Box::pin(async move { jellyfin_with_wizards(&w, viewport, js).await }),
            ));
            let w = world.clone();
            journeys.push((
                format!("plex js={js} {}", viewport.name),
                Box::pin(async move { plex_sign_in(&w, viewport, js).await }),
            ));
            let w = world.clone();
            journeys.push((
                format!("mixed js={js} {}", viewport.name),
                Box::pin(async move { mixed(&w, viewport, js).await }),
            ));
        }
        let w = world.clone();
        journeys.push((
            format!("taken username {}", viewport.name),
            Box::pin(async move { taken_username(&w, viewport).await }),
        ));
        let w = world.clone();
        journeys.push((
            format!("german {}", viewport.name),
            Box::pin(async move { german(&w, viewport).await }),
        ));
        let w = world.clone();
        journeys.push((
            format!("expired {}", viewport.name),
            Box::pin(async move {
                tokio::time::sleep(Duration::from_secs(3)).await;
                expired(&w, viewport, expiring).await
            }),
        ));
    }

    let gate = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut tasks = Vec::new();
    for (name, journey) in journeys {
        let gate = gate.clone();
        tasks.push((
            name,
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await.unwrap();
                tokio::time::timeout(Duration::from_secs(120), journey)
                    .await
                    .expect("journey timed out");
            }),
        ));
    }
    await_all(tasks).await;
    println!(
        "browser journeys passed in {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        screenshot_dir().display()
    );
}

/// Await every journey, then fail once naming each that failed with its panic message: a
/// journey that fails does not cancel the others, and the message stays next to the test's
/// name at the end of the output (CI shows the end).
async fn await_all<N: std::fmt::Display>(tasks: Vec<(N, tokio::task::JoinHandle<()>)>) {
    let mut failed = Vec::new();
    for (name, task) in tasks {
        if let Err(e) = task.await {
            let message = e
                .try_into_panic()
                .ok()
                .and_then(|p| {
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                })
                .unwrap_or_else(|| "cancelled".into());
            failed.push(format!("{name}: {message}"));
        }
    }
    assert!(
        failed.is_empty(),
        "journeys failed:\n{}",
        failed.join("\n\n")
    );
}

/// RFC 3339 UTC time `after` from now.
fn zondarr_time(after: Duration) -> String {
    (chrono::Utc::now() + chrono::Duration::from_std(after).unwrap())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

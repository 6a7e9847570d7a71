//! The sandbox against a hostile plugin (issue 17): stored secrets stay sealed whatever manifest
//! is loaded, an impostor of an id in use waits for an admin's approval, a FIFO in the plugins
//! folder is skipped, and the other limits hold.

use super::api::{admin_client, get_json};
use super::*;

const DESCRIBE_TAG: &[u8] = b"ZONDARR-FIXTURE-DESCRIBE=normal;";

/// The fixture as a hostile new version: `api_key` declared as plain text, no credential.
fn retyped(version: &str) -> Vec<u8> {
    patch(
        &fixture_version(version),
        DESCRIBE_TAG,
        b"ZONDARR-FIXTURE-DESCRIBE=retype;",
    )
}

fn status_of(host: &PluginHost) -> zondarr::plugins::PluginStatus {
    host.status("fixture").expect("fixture status")
}

#[tokio::test]
async fn a_new_version_that_retypes_a_secret_field_is_refused_and_the_old_one_serves() {
    let (env, _tmp) = with_fixture(|_| {}).await;
    let fake = fake_server().await;
    install(&env.dir, "fixture.wasm", &retyped("0.2.0"));
    let report = env.host.rescan().await;
    let failure = report
        .failed
        .iter()
        .find(|f| f.file == "fixture.wasm")
        .unwrap_or_else(|| panic!("the retyped version was not refused: {report:#?}"));
    assert!(
        failure.error.contains("`api_key` is a secret") && failure.error.contains("0.2.0"),
        "{}",
        failure.error
    );
    let status = status_of(&env.host);
    assert_eq!(status.version.as_deref(), Some("0.1.0"));
    assert!(
        status
            .error
            .as_ref()
            .is_some_and(|e| e.message.contains("secret")),
        "{status:#?}"
    );
    env.host
        .test_connection("fixture", &server(&fake, ""))
        .await
        .expect("the old version still serves");
}

#[tokio::test]
async fn a_folder_file_taking_over_a_bundled_id_waits_for_approval() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = config(tmp.path());
    std::fs::create_dir_all(&cfg.dir).expect("mkdir");
    install(&cfg.dir, "impostor.wasm", &fixture_version("6.6.6"));
    let bundled = || {
        vec![Bundled {
            name: "fixture".into(),
            bytes: bytes::Bytes::from(fixture()),
        }]
    };
    let env = start(cfg.clone(), bundled()).await;
    let fake = fake_server().await;

    let status = status_of(&env.host);
    assert_eq!(
        status.version.as_deref(),
        Some("0.1.0"),
        "the bundled version serves"
    );
    assert_eq!(
        status.source,
        SourceView::Bundled {
            name: Some("fixture".into())
        }
    );
    let pending = status
        .pending_approval
        .clone()
        .expect("pending approval shown");
    assert_eq!(pending.file, "impostor.wasm");
    assert_eq!(pending.version, "6.6.6");
    assert!(pending.reason.contains("bundled"), "{}", pending.reason);
    env.host
        .test_connection("fixture", &server(&fake, ""))
        .await
        .expect("the bundled version serves meanwhile");
    // A rescan does not let it in either.
    let report = env.host.rescan().await;
    assert_eq!(report.pending_approval, vec!["impostor.wasm".to_owned()]);
    assert_eq!(status_of(&env.host).version.as_deref(), Some("0.1.0"));

    let approved = env.host.approve("fixture").await;
    assert_eq!(approved.len(), 1, "{approved:#?}");
    let status = status_of(&env.host);
    assert_eq!(status.version.as_deref(), Some("6.6.6"));
    assert!(status.pending_approval.is_none());
    assert!(
        env.host.approve("fixture").await.is_empty(),
        "nothing left to approve"
    );
    env.host.shutdown().await;

    // The approval is for that file's content: a restart with it lets it in at once, without it
    // the bundled version serves again.
    let approval = zondarr::plugins::Approval {
        id: "fixture".into(),
        sha256: approved[0].sha256.clone(),
    };
    let root = tmp.path().to_owned();
    let again = PluginHost::start_full(
        &cfg,
        root.join("cache"),
        "i".into(),
        bundled(),
        vec![approval],
    )
    .await
    .expect("start");
    assert_eq!(status_of(&again).version.as_deref(), Some("6.6.6"));
    again.shutdown().await;
    let fresh = PluginHost::start_full(&cfg, root.join("cache"), "i".into(), bundled(), Vec::new())
        .await
        .expect("start");
    assert_eq!(status_of(&fresh).version.as_deref(), Some("0.1.0"));
    // A changed file needs a new approval.
    install(&cfg.dir, "impostor.wasm", &fixture_version("6.6.7"));
    fresh.rescan().await;
    let status = status_of(&fresh);
    assert_eq!(status.version.as_deref(), Some("0.1.0"));
    assert_eq!(
        status.pending_approval.map(|p| p.version).as_deref(),
        Some("6.6.7")
    );
}

#[tokio::test]
async fn fifos_in_the_plugins_folder_are_skipped_with_an_error() {
    let (env, tmp) = with_fixture(|_| {}).await;
    let fifo = env.dir.join("x.wasm");
    let outside = tmp.path().join("pipe");
    for path in [&fifo, &outside] {
        let ok = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .expect("mkfifo")
            .success();
        assert!(ok, "mkfifo {}", path.display());
    }
    std::os::unix::fs::symlink(&outside, env.dir.join("y.wasm")).expect("symlink");
    let report = tokio::time::timeout(Duration::from_secs(20), env.host.rescan())
        .await
        .expect("a rescan with FIFOs in the folder must not hang");
    for name in ["x.wasm", "y.wasm"] {
        let failure = report
            .failed
            .iter()
            .find(|f| f.file == name)
            .unwrap_or_else(|| panic!("{name} not reported: {report:#?}"));
        assert!(
            failure.error.contains("regular file"),
            "{name}: {}",
            failure.error
        );
    }
    assert_eq!(status_of(&env.host).state, PluginState::Loaded);

    // Start-up with a symlink to a FIFO in the folder does not hang either.
    let cfg = PluginsConfig {
        dir: env.dir.clone(),
        ..config(tmp.path())
    };
    let started = tokio::time::timeout(
        Duration::from_secs(20),
        PluginHost::start_with_bundled(&cfg, tmp.path().join("cache2"), "i".into(), Vec::new()),
    )
    .await
    .expect("start-up with a FIFO in the folder must not hang")
    .expect("start");
    assert_eq!(started.ids(), vec!["fixture".to_owned()]);
    assert!(
        started.list().iter().any(|s| s
            .error
            .as_ref()
            .is_some_and(|e| e.file.as_deref() == Some("y.wasm"))),
        "{:#?}",
        started.list()
    );

    // `zondarr plugin check` refuses a FIFO instead of blocking on it.
    let out = crate::support::command(&tmp.path().join("check-data"))
        .args(["plugin", "check"])
        .arg(&fifo)
        .output()
        .expect("plugin check");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("regular file"), "{text}");
}

async fn send_json(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Value,
) -> (u16, Value) {
    let resp = http
        .request(method, url)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_sealed_secret_stays_secret_when_a_new_manifest_retypes_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let plugins = data.join("plugins");
    std::fs::create_dir_all(&plugins).expect("mkdir");
    install(&plugins, "fixture.wasm", &fixture());
    let fake = fake_server().await;
    let daemon = crate::support::Daemon::start(&data);
    let http = admin_client(&daemon).await;
    let (status, created) = send_json(
        &http,
        reqwest::Method::POST,
        &daemon.at("/api/v1/servers"),
        json!({"name": "fx", "kind": "fixture", "url": fake.url, "config": {"api_key": TOKEN}, "extra_hosts": {"echo": fake.url}}),
    )
    .await;
    assert_eq!(status, 201, "{created:#}");
    let id = created["id"].as_i64().expect("id");
    daemon.terminate();

    // The daemon restarts with a version that declares `api_key` as plain text.
    install(&plugins, "fixture.wasm", &retyped("0.2.0"));
    let daemon = crate::support::Daemon::start(&data);
    let server_url = daemon.at(&format!("/api/v1/servers/{id}"));
    let (status, body) = send_json(
        &http,
        reqwest::Method::PATCH,
        &server_url,
        json!({"enabled": false, "config": {"behaviour": "leak"}}),
    )
    .await;
    assert_eq!(status, 200, "{body:#}");
    let (_, shown) = get_json(&http, &server_url).await;
    assert!(
        !shown.to_string().contains(TOKEN),
        "secret returned: {shown:#}"
    );
    assert_eq!(shown["credentials"]["api_key"], true, "{shown:#}");
    assert!(shown["config"].get("api_key").is_none(), "{shown:#}");

    // The plugin asks for it as configuration: it gets nothing.
    let (status, body) = send_json(
        &http,
        reqwest::Method::PATCH,
        &server_url,
        json!({"enabled": true}),
    )
    .await;
    assert_ne!(status, 200, "{body:#}");
    let text = body.to_string();
    assert!(
        text.contains("leaked api_key=<none>"),
        "the leak path did not run: {text}"
    );
    assert!(!text.contains(TOKEN), "secret handed to the plugin: {text}");
    let db = rusqlite::Connection::open(data.join("zondarr.db")).expect("db");
    let plain: String = db
        .query_row("SELECT config FROM servers WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .expect("row");
    assert!(
        !plain.contains(TOKEN),
        "secret in the plaintext column: {plain}"
    );
}

#[tokio::test]
async fn a_takeover_of_another_file_waits_for_approval_by_api_or_cli() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let plugins = data.join("plugins");
    std::fs::create_dir_all(&plugins).expect("mkdir");
    install(&plugins, "a.wasm", &fixture());
    let daemon = crate::support::Daemon::start(&data);
    let http = admin_client(&daemon).await;
    let plugin_url = daemon.at("/api/v1/plugins/fixture");
    let rescan = || async {
        let resp = http
            .post(daemon.at("/api/v1/plugins/rescan"))
            .send()
            .await
            .expect("rescan");
        assert_eq!(resp.status(), 200);
    };

    // The first file serves; its extra host waits for an approval, given here. Then nothing
    // waits: approving again is a conflict.
    let approve_url = daemon.at("/api/v1/plugins/fixture/approve");
    let approve = || send_json(&http, reqwest::Method::POST, &approve_url, json!({}));
    let (status, body) = approve().await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["approved"][0]["file"], "a.wasm", "{body:#}");
    let (status, body) = approve().await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("CONFLICT")),
        "{body:#}"
    );

    install(&plugins, "b.wasm", &fixture_version("0.2.0"));
    rescan().await;
    let (_, shown) = get_json(&http, &plugin_url).await;
    assert_eq!(shown["version"], "0.1.0", "{shown:#}");
    assert_eq!(shown["pending_approval"]["file"], "b.wasm", "{shown:#}");
    assert_eq!(shown["pending_approval"]["version"], "0.2.0", "{shown:#}");

    // `zondarr plugin approve` records the approval; the next rescan applies it.
    let out = crate::support::command(&data)
        .args(["plugin", "approve", "fixture"])
        .output()
        .expect("plugin approve");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("b.wasm"));
    rescan().await;
    let (_, shown) = get_json(&http, &plugin_url).await;
    assert_eq!(shown["version"], "0.2.0", "{shown:#}");
    assert_eq!(shown["source"]["file"], "b.wasm", "{shown:#}");
    rescan().await;
    let (_, shown) = get_json(&http, &plugin_url).await;
    assert_eq!(
        shown["source"]["file"], "b.wasm",
        "approved files do not take turns: {shown:#}"
    );

    // The API approves a waiting file at once.
    install(&plugins, "c.wasm", &fixture_version("0.3.0"));
    rescan().await;
    let (_, shown) = get_json(&http, &plugin_url).await;
    assert_eq!(shown["version"], "0.2.0", "{shown:#}");
    let (status, body) = send_json(
        &http,
        reqwest::Method::POST,
        &daemon.at("/api/v1/plugins/fixture/approve"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["plugin"]["version"], "0.3.0", "{body:#}");
    assert_eq!(body["approved"][0]["file"], "c.wasm", "{body:#}");
}

#[tokio::test]
async fn dot_segments_and_redirects_cannot_leave_the_base_path() {
    let (env, _tmp) = with_fixture(|_| {}).await;
    let fake = fake_server().await;
    let ctx = ServerContext::new(format!("{}/base", fake.url))
        .with_secret("api_key", TOKEN)
        .with_config("behaviour", "escape");
    let err = env
        .host
        .test_connection("fixture", &ctx)
        .await
        .expect_err("the fixture reports how its escapes went");
    match &err {
        CallError::Connector {
            error: ConnectorError::Denied(m),
            ..
        } => assert_eq!(m, "escapes refused"),
        other => panic!("an escape was not refused: {other}"),
    }
    assert_eq!(
        fake.state.outside.load(Ordering::SeqCst),
        0,
        "a request reached the application outside the base path"
    );
}

#[tokio::test]
async fn plugin_text_cannot_forge_log_lines_and_denied_requests_cost_budget() {
    let (env, _tmp) = with_fixture(|_| {}).await;
    let fake = fake_server().await;
    let (logs, _guard) = capture_logs();
    env.host
        .test_connection("fixture", &server(&fake, "forge-log"))
        .await
        .expect("forge-log then behaves normally");
    let text = logs.text();
    assert!(text.contains("fixture says hi"), "{text}");
    for line in text.lines() {
        assert!(
            !line.starts_with("2026-01-01T00:00:00Z") && !line.starts_with("FORGED"),
            "a plugin forged a log line: {line:?}"
        );
    }
    assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
    assert!(text.contains("\\n2026-01-01T00:00:00Z"), "{text}");

    // 100 denied requests: the budget (10) stops them, and only a few are logged.
    let err = env
        .host
        .test_connection("fixture", &server(&fake, "denied-loop"))
        .await
        .expect_err("denied");
    match &err {
        CallError::Connector {
            error: ConnectorError::Denied(m),
            ..
        } => assert!(m.contains("as many HTTP requests"), "{m}"),
        other => panic!("denied requests cost nothing: {other}"),
    }
    let text = logs.text();
    let warned = text
        .lines()
        .filter(|l| l.contains("plugin request denied") && l.contains("WARN"))
        .count();
    assert!((1..=3).contains(&warned), "{warned} warnings:\n{text}");
    assert!(text.contains("they are not logged"), "{text}");
}

#[tokio::test]
async fn plugin_check_escapes_what_the_manifest_says() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("forged.wasm");
    std::fs::write(
        &file,
        patch(
            &fixture(),
            DESCRIBE_TAG,
            b"ZONDARR-FIXTURE-DESCRIBE=forged;",
        ),
    )
    .expect("write");
    let out = crate::support::command(&tmp.path().join("data"))
        .args(["plugin", "check"])
        .arg(&file)
        .output()
        .expect("plugin check");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<&str> = text.lines().filter(|l| l.starts_with("  id:")).collect();
    assert_eq!(ids, ["  id:           fixture"], "{text}");
    assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
    assert!(text.contains("ok\\n  id:"), "{text}");
}

#[tokio::test]
async fn spinning_between_host_calls_is_stopped_by_the_cpu_budget() {
    let (env, _tmp) = with_fixture(|_| {}).await;
    let fake = fake_server().await;
    let started = Instant::now();
    let err = env
        .host
        .test_connection("fixture", &server(&fake, "spin-after-wait"))
        .await
        .expect_err("spins forever");
    println!(
        "spin-after-wait stopped after {} ms (CPU budget 500 ms, wall limit 10 s)",
        started.elapsed().as_millis()
    );
    assert_eq!(crash_kind(&err), Some(CrashKind::CpuBudget), "{err}");
}

/// A loopback listener that accepts connections and never answers.
async fn silent_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

#[tokio::test]
async fn one_failing_server_does_not_disable_the_connector_for_others_and_health_recovers() {
    let (env, _tmp) = with_fixture(|c| {
        c.call_timeout_secs = 1;
        c.unhealthy_after = 2;
    })
    .await;
    env.host.set_health_backoff(Duration::from_millis(300));
    let fake = fake_server().await;
    let silent = ServerContext::new(silent_server().await).with_secret("api_key", TOKEN);
    let good = server(&fake, "");
    for _ in 0..2 {
        let err = env
            .host
            .test_connection("fixture", &silent)
            .await
            .expect_err("times out");
        assert!(matches!(err, CallError::Timeout { .. }), "{err}");
    }
    let err = env
        .host
        .test_connection("fixture", &silent)
        .await
        .expect_err("refused");
    assert!(matches!(err, CallError::Unhealthy(_)), "{err}");
    env.host
        .test_connection("fixture", &good)
        .await
        .expect("another server is not affected");
    assert_eq!(status_of(&env.host).state, PluginState::Loaded);

    // Traps count for the whole plugin.
    for _ in 0..2 {
        let err = env
            .host
            .test_connection("fixture", &server(&fake, "panic"))
            .await
            .expect_err("panics");
        assert_eq!(crash_kind(&err), Some(CrashKind::Panic), "{err}");
    }
    let err = env
        .host
        .test_connection("fixture", &good)
        .await
        .expect_err("the plugin is refused");
    assert!(matches!(err, CallError::Unhealthy(_)), "{err}");
    assert_eq!(status_of(&env.host).state, PluginState::Unhealthy);

    // It recovers on its own after the backoff, without a reload.
    tokio::time::sleep(Duration::from_millis(700)).await;
    env.host
        .test_connection("fixture", &good)
        .await
        .expect("recovered after the backoff");
    assert_eq!(status_of(&env.host).state, PluginState::Loaded);
}

/// A component whose core modules have `memories` linear memories in all.
fn component_with_memories(memories: u32) -> Vec<u8> {
    use wasm_encoder::{
        Component, InstanceSection, MemorySection, MemoryType, Module, ModuleArg, ModuleSection,
    };
    let mut module = Module::new();
    let mut section = MemorySection::new();
    section.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    module.section(&section);
    let mut component = Component::new();
    component.section(&ModuleSection(&module));
    let mut instances = InstanceSection::new();
    for _ in 0..memories {
        instances.instantiate(0, Vec::<(&str, ModuleArg)>::new());
    }
    component.section(&instances);
    component.finish()
}

#[tokio::test]
async fn a_component_with_more_memories_than_allowed_is_refused_at_load() {
    let (env, _tmp) = with_fixture(|_| {}).await;
    // Over the per-component caps: refused before anything is instantiated (by the pool's
    // per-component limits when the pool is used, else by the loader's own check).
    for (memories, expected) in [(3, "memories"), (64, "64")] {
        let err = env
            .host
            .inspect(&component_with_memories(memories))
            .await
            .expect_err("refused");
        println!("{memories} memories: {}", err.message);
        assert!(
            err.message.contains(expected)
                && (err.message.contains("memories") || err.message.contains("instances")),
            "{memories}: {}",
            err.message
        );
    }
    // At the cap, a component is judged on what it exports, like any other.
    let err = env
        .host
        .inspect(&component_with_memories(2))
        .await
        .expect_err("not a connector");
    assert!(err.message.contains("does not export"), "{}", err.message);
}

#[test]
fn the_response_cap_fits_in_the_guest_memory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(tmp.path());
    cfg.memory_bytes = 64 * 1024 * 1024;
    cfg.max_response_bytes = 64 * 1024 * 1024;
    assert_eq!(zondarr::plugins::response_cap(&cfg), 32 * 1024 * 1024);
    cfg.max_response_bytes = 1024 * 1024;
    assert_eq!(zondarr::plugins::response_cap(&cfg), 1024 * 1024);
}

/// The first version of a new id serves, but the extra hosts its manifest declares stay closed
/// (no packet sent) until an admin approves that file; an origin the admin set for the host in
/// a server's settings is an approval of its own. A later version that reaches no further keeps
/// the approval; the approval survives a restart of the host (it is stored by the daemon; here
/// handed back as `set_approvals` does at start).
#[tokio::test]
async fn a_first_versions_extra_hosts_stay_closed_until_approved() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = config(tmp.path());
    std::fs::create_dir_all(&cfg.dir).expect("mkdir");
    install(&cfg.dir, "fixture.wasm", &fixture());
    let env = start(cfg, Vec::new()).await;
    let fake = fake_server().await;
    let status = env.host.status("fixture").expect("status");
    assert_eq!(status.state, PluginState::Loaded, "it serves");
    let pending = status.pending_approval.expect("its reach waits");
    assert!(pending.reason.contains("`echo`"), "{}", pending.reason);
    env.host
        .test_connection("fixture", &server(&fake, ""))
        .await
        .expect("the server's own origin works");

    // The manifest's origin for `echo`: closed, refused by the policy before anything is sent
    // (`denied`, not `unreachable`).
    let ctx = ServerContext::new(fake.url.clone()).with_secret("api_key", TOKEN);
    let before = fake.requests();
    let err = env
        .host
        .start_link("fixture", &ctx)
        .await
        .expect_err("closed");
    match &err {
        CallError::Connector {
            error: ConnectorError::Denied(m),
            ..
        } => assert!(m.contains("waits for an admin's approval"), "{m}"),
        other => panic!("the unapproved extra host was used: {other}"),
    }
    assert_eq!(fake.requests(), before, "nothing sent anywhere");
    // The admin's origin for this server is allowed without it.
    env.host
        .start_link("fixture", &server(&fake, ""))
        .await
        .expect("the admin's own origin");

    // Approved: the manifest's origin now meets the next rule (https and public).
    let approved = env.host.approve("fixture").await;
    assert_eq!(approved.len(), 1, "{approved:#?}");
    assert!(
        env.host
            .status("fixture")
            .unwrap()
            .pending_approval
            .is_none()
    );
    let err = env
        .host
        .start_link("fixture", &ctx)
        .await
        .expect_err("still http");
    assert!(err.to_string().contains("must use https"), "{err}");

    // A new version with the same reach keeps the approval.
    install(&env.dir, "fixture.wasm", &fixture_version("0.2.0"));
    env.host.rescan().await;
    let status = env.host.status("fixture").expect("status");
    assert_eq!(status.version.as_deref(), Some("0.2.0"));
    assert!(status.pending_approval.is_none(), "{status:?}");
    assert!(status.error.is_none(), "{:?}", status.error);
}

#[tokio::test]
async fn extra_hosts_chosen_by_the_plugin_must_be_https_and_public() {
    let (env, tmp) = with_fixture(|_| {}).await;
    let fake = fake_server().await;
    // The fixture declares `echo` at http://127.0.0.1:9. Without the admin's override for this
    // server, the plugin's own choice is refused: plain http, and a loopback address.
    let ctx = ServerContext::new(fake.url.clone()).with_secret("api_key", TOKEN);
    let err = env
        .host
        .start_link("fixture", &ctx)
        .await
        .expect_err("denied");
    match &err {
        CallError::Connector {
            error: ConnectorError::Denied(m),
            ..
        } => assert!(m.contains("must use https"), "{m}"),
        other => panic!("the plugin's own http origin was used: {other}"),
    }
    // With the admin's override it works (the existing calls tests use that).
    env.host
        .start_link("fixture", &server(&fake, ""))
        .await
        .expect("the admin's origin is allowed");

    // An https name that resolves to loopback is refused when connecting, before any packet
    // goes to it.
    let cfg = config(tmp.path());
    let local = patch(&fixture(), b"http://127.0.0.1:9", b"https://localhost/");
    let dir = tmp.path().join("other");
    std::fs::create_dir_all(dir.join("plugins")).expect("mkdir");
    let cfg = PluginsConfig {
        dir: dir.join("plugins"),
        ..cfg
    };
    install(&cfg.dir, "fixture.wasm", &local);
    let other = start(cfg, Vec::new()).await;
    assert_eq!(
        other.host.approve("fixture").await.len(),
        1,
        "its extra host opened"
    );
    let err = other
        .host
        .start_link("fixture", &ctx)
        .await
        .expect_err("refused");
    match &err {
        CallError::Connector {
            error: ConnectorError::Unreachable(m),
            ..
        } => assert!(m.contains("loopback"), "{m}"),
        other => panic!("a name resolving to loopback was reached: {other}"),
    }
}

#[tokio::test]
async fn unauthenticated_operations_cannot_starve_the_admin() {
    let (env, _tmp) = with_fixture(|c| c.concurrency = 2).await;
    let fake = fake_server().await;
    let slow = server(&fake, "sleep:3000");
    let polls: Vec<_> = (0..3)
        .map(|_| {
            let host = env.host.clone();
            let slow = slow.clone();
            tokio::spawn(async move { host.poll_link("fixture", &slow, "p2").await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    env.host
        .list_users("fixture", &server(&fake, ""))
        .await
        .expect("the admin's call has its own budget");
    let mut busy = 0;
    for p in polls {
        if matches!(p.await.expect("join"), Err(CallError::Busy(_))) {
            busy += 1;
        }
    }
    assert_eq!(busy, 2, "the public budget of concurrency 2 is one call");
}

#[tokio::test]
async fn the_code_cache_may_not_overlap_the_plugins_folder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = config(tmp.path());
    let err = PluginHost::start_with_bundled(&cfg, cfg.dir.join("cache"), "i".into(), Vec::new())
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("overlaps the plugins folder"),
        "{err}"
    );
}

#[tokio::test]
async fn a_new_version_that_reaches_further_waits_for_approval() {
    let (env, _tmp) = with_fixture(|_| {}).await;
    let moved = patch(
        &fixture_version("0.2.0"),
        b"http://127.0.0.1:9",
        b"http://127.0.0.2:9",
    );
    install(&env.dir, "fixture.wasm", &moved);
    let report = env.host.rescan().await;
    assert_eq!(
        report.pending_approval,
        vec!["fixture.wasm".to_owned()],
        "{report:#?}"
    );
    let status = status_of(&env.host);
    assert_eq!(
        status.version.as_deref(),
        Some("0.1.0"),
        "the old version serves"
    );
    let pending = status.pending_approval.expect("pending");
    assert!(
        pending.reason.contains("more network reach") && pending.reason.contains("127.0.0.2"),
        "{}",
        pending.reason
    );
    assert_eq!(env.host.approve("fixture").await.len(), 1);
    assert_eq!(status_of(&env.host).version.as_deref(), Some("0.2.0"));
    // A version with the same reach is an ordinary update.
    install(
        &env.dir,
        "fixture.wasm",
        &patch(
            &fixture_version("0.3.0"),
            b"http://127.0.0.1:9",
            b"http://127.0.0.2:9",
        ),
    );
    env.host.rescan().await;
    assert_eq!(status_of(&env.host).version.as_deref(), Some("0.3.0"));
}

#[tokio::test]
async fn cache_entries_of_another_engine_are_pruned() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = config(tmp.path());
    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(&cache).expect("mkdir");
    let stale = cache.join("abc-0000000000000000.cwasm");
    std::fs::write(&stale, b"old").expect("write");
    std::fs::create_dir_all(&cfg.dir).expect("mkdir");
    install(&cfg.dir, "fixture.wasm", &fixture());
    let env = start(cfg, Vec::new()).await;
    assert!(!stale.exists(), "a stale entry is pruned");
    let kept: Vec<_> = std::fs::read_dir(&cache)
        .expect("read")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".cwasm"))
        .collect();
    assert_eq!(kept.len(), 1, "the fixture's own entry stays");
    drop(env);
}

#[tokio::test]
async fn a_new_plugin_that_sends_credentials_elsewhere_waits_for_approval() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = config(tmp.path());
    std::fs::create_dir_all(&cfg.dir).expect("mkdir");
    install(
        &cfg.dir,
        "fixture.wasm",
        &patch(
            &fixture(),
            DESCRIBE_TAG,
            b"ZONDARR-FIXTURE-DESCRIBE=creds_;",
        ),
    );
    let env = start(cfg, Vec::new()).await;
    let fake = fake_server().await;
    assert!(
        env.host.ids().is_empty(),
        "nothing serves before the approval"
    );
    let status = status_of(&env.host);
    assert_eq!(status.state, PluginState::Failed);
    let pending = status.pending_approval.expect("pending");
    assert!(pending.reason.contains("credentials"), "{}", pending.reason);
    let err = env
        .host
        .test_connection("fixture", &server(&fake, ""))
        .await
        .expect_err("not loaded");
    assert!(matches!(err, CallError::NotFound(_)), "{err}");
    assert_eq!(env.host.approve("fixture").await.len(), 1);
    assert_eq!(env.host.ids(), vec!["fixture".to_owned()]);
    env.host
        .test_connection("fixture", &server(&fake, ""))
        .await
        .expect("serves once approved");
}

/// A component whose one core function has `pairs` × (`i32.const 0`, `drop`): 3 bytes each.
fn component_with_a_function_of(pairs: usize) -> Vec<u8> {
    use wasm_encoder::{
        CodeSection, Component, Function, FunctionSection, Instruction, Module, ModuleSection,
        TypeSection,
    };
    let mut module = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    module.section(&types);
    let mut functions = FunctionSection::new();
    functions.function(0);
    module.section(&functions);
    let mut body = Function::new([]);
    for _ in 0..pairs {
        body.instruction(&Instruction::I32Const(0));
        body.instruction(&Instruction::Drop);
    }
    body.instruction(&Instruction::End);
    let mut code = CodeSection::new();
    code.function(&body);
    module.section(&code);
    let mut component = Component::new();
    component.section(&ModuleSection(&module));
    component.finish()
}

#[tokio::test]
async fn a_component_with_a_function_too_large_to_compile_in_bounded_memory_is_refused() {
    let (env, _tmp) = with_fixture(|_| {}).await;
    let fake = fake_server().await;
    let pairs = zondarr::plugins::MAX_FUNCTION_BYTES / 3 + 1000;
    let err = env
        .host
        .inspect(&component_with_a_function_of(pairs))
        .await
        .expect_err("refused");
    println!("{}", err.message);
    assert!(
        err.message.contains("a function of") && err.message.contains("at most 256 KiB"),
        "{}",
        err.message
    );
    // Just under the cap it gets as far as the compiler (and fails later: no connector export).
    let small = env
        .host
        .inspect(&component_with_a_function_of(1000))
        .await
        .expect_err("not a connector");
    assert!(
        small.message.contains("does not export"),
        "{}",
        small.message
    );
    // The daemon is healthy and the plugin serving is unaffected.
    env.host
        .test_connection("fixture", &server(&fake, ""))
        .await
        .expect("fixture still serves");
}

#[tokio::test]
async fn a_plugin_that_takes_longer_than_the_limit_to_compile_is_refused_and_not_compiled_again() {
    let (env, _tmp) = with_fixture(|_| {}).await;
    let fake = fake_server().await;
    // No component compiles within a millisecond (the cache holds only the version serving).
    env.host.set_compile_limit(Duration::from_millis(1));
    let slow = fixture_version("0.7.0");
    let err = env.host.inspect(&slow).await.expect_err("refused");
    println!("{}", err.message);
    assert!(
        err.message.contains("took longer than 1ms"),
        "{}",
        err.message
    );

    // With the usual limit again, the same file is still refused without another compile...
    env.host.set_compile_limit(zondarr::plugins::COMPILE_LIMIT);
    let again = env.host.inspect(&slow).await.expect_err("still refused");
    assert!(
        again.message.contains("took longer than"),
        "{}",
        again.message
    );
    // ...through the plugins folder too, where the version serving keeps serving...
    install(&env.dir, "fixture.wasm", &slow);
    let report = env.host.rescan().await;
    assert!(
        report
            .failed
            .iter()
            .any(|f| f.file == "fixture.wasm" && f.error.contains("took longer than")),
        "{report:?}"
    );
    assert_eq!(
        env.host.manifest("fixture").map(|m| m.version),
        Some("0.1.0".to_owned())
    );
    env.host
        .test_connection("fixture", &server(&fake, ""))
        .await
        .expect("the old version serves");
    // ...while another file compiles as usual.
    let other = env
        .host
        .inspect(&fixture_version("0.8.0"))
        .await
        .expect("compiles within the usual limit");
    assert!(!other.from_cache);
    assert_eq!(other.manifest.version, "0.8.0");
}

/// "Refuse", the other answer to a version waiting for approval (API, the plugins page and the
/// CLI): a first version's extra hosts stay closed while it serves; a takeover is dropped and
/// the version serving keeps serving. Neither is asked again, across rescans and a restart,
/// until the file changes.
#[tokio::test]
async fn a_refused_version_is_not_asked_again_until_its_file_changes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let plugins = data.join("plugins");
    std::fs::create_dir_all(&plugins).expect("mkdir");
    install(&plugins, "a.wasm", &fixture());
    let mut daemon = crate::support::Daemon::start(&data);
    let http = admin_client(&daemon).await;
    let plugin_url = daemon.at("/api/v1/plugins/fixture");
    let rescan = |daemon: &crate::support::Daemon| {
        let req = http.post(daemon.at("/api/v1/plugins/rescan"));
        async move { assert_eq!(req.send().await.expect("rescan").status(), 200) }
    };
    let decide = |daemon: &crate::support::Daemon, what: &str| {
        let url = daemon.at(&format!("/api/v1/plugins/fixture/{what}"));
        let http = http.clone();
        async move { send_json(&http, reqwest::Method::POST, &url, json!({})).await }
    };

    // The first version's extra hosts wait; refused, it serves without them.
    let (_, shown) = get_json(&http, &plugin_url).await;
    assert_eq!(shown["pending_approval"]["file"], "a.wasm", "{shown:#}");
    let (status, body) = decide(&daemon, "refuse").await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["refused"][0]["file"], "a.wasm", "{body:#}");
    assert!(body["plugin"]["pending_approval"].is_null(), "{body:#}");
    assert_eq!(body["plugin"]["state"], "loaded", "{body:#}");
    for what in ["refuse", "approve"] {
        let (status, body) = decide(&daemon, what).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (409, Some("CONFLICT")),
            "{what}: nothing waits any more: {body:#}"
        );
    }

    // A takeover by another file waits; the plugins page offers "Refuse" and refuses it.
    install(&plugins, "b.wasm", &fixture_version("0.2.0"));
    rescan(&daemon).await;
    let (_, shown) = get_json(&http, &plugin_url).await;
    assert_eq!(shown["pending_approval"]["file"], "b.wasm", "{shown:#}");
    let (cookie, csrf) = crate::support::admin_session(&daemon).await;
    let page = crate::support::client()
        .get(daemon.at("/admin/plugins"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains(r#"action="/admin/plugins/fixture/refuse""#),
        "no Refuse control on the page"
    );
    let resp = crate::support::client()
        .post(daemon.at("/admin/plugins/fixture/refuse"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("refuse form");
    assert_eq!(resp.status(), 200, "the redirect leads back to the list");
    assert!(
        resp.url()
            .as_str()
            .contains("/admin/plugins?refused=fixture")
    );
    let html = resp.text().await.expect("html");
    assert!(html.contains("is refused"), "no confirmation shown");
    let (_, shown) = get_json(&http, &plugin_url).await;
    assert_eq!(
        shown["version"], "0.1.0",
        "the serving version stays: {shown:#}"
    );
    assert!(shown["pending_approval"].is_null(), "{shown:#}");

    // Rescans and a restart do not ask again.
    rescan(&daemon).await;
    drop(daemon);
    daemon = crate::support::Daemon::start(&data);
    let plugin_url = daemon.at("/api/v1/plugins/fixture");
    let (_, shown) = get_json(&http, &plugin_url).await;
    assert_eq!(shown["version"], "0.1.0", "{shown:#}");
    assert!(
        shown["pending_approval"].is_null(),
        "asked again after a restart: {shown:#}"
    );
    let (_, list) = get_json(&http, &daemon.at("/api/v1/plugins")).await;
    assert!(
        list.to_string().contains("refused by an admin"),
        "the refusal is shown: {list:#}"
    );

    // A changed file is asked about again; `zondarr plugin refuse` refuses it for the next
    // rescan.
    install(&plugins, "b.wasm", &fixture_version("0.3.0"));
    let req = http.post(daemon.at("/api/v1/plugins/rescan"));
    assert_eq!(req.send().await.expect("rescan").status(), 200);
    let (_, shown) = get_json(&http, &plugin_url).await;
    assert_eq!(shown["pending_approval"]["version"], "0.3.0", "{shown:#}");
    let out = crate::support::command(&data)
        .args(["plugin", "refuse", "fixture"])
        .output()
        .expect("plugin refuse");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("refused b.wasm"));
    let req = http.post(daemon.at("/api/v1/plugins/rescan"));
    assert_eq!(req.send().await.expect("rescan").status(), 200);
    let (_, shown) = get_json(&http, &plugin_url).await;
    assert_eq!(shown["version"], "0.1.0", "{shown:#}");
    assert!(shown["pending_approval"].is_null(), "{shown:#}");
}

//! The plugins API of the real daemon, `zondarr plugin check` and `zondarr plugin new`.

use super::*;

// ---------------------------------------------------------------------------------------------
// The plugins API of the real daemon

/// A client authenticated with an admin API key (bearer), via the shared setup helper.
pub(super) async fn admin_client(daemon: &crate::support::Daemon) -> reqwest::Client {
    let key = crate::support::admin_key(daemon).await;
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer = format!("Bearer {key}");
    headers.insert(
        "authorization",
        bearer.parse().expect("authorization header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

pub(super) async fn get_json(http: &reqwest::Client, url: &str) -> (u16, Value) {
    let resp = http.get(url).send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json body"))
}

/// Poll `url` until `done` holds for its JSON (10 s bound); returns the last body.
async fn poll_json(
    http: &reqwest::Client,
    url: &str,
    what: &str,
    done: impl Fn(u16, &Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = get_json(http, url).await;
        if done(status, &body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within 10 s; last answer {status} {body:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_daemon_lists_reloads_and_refuses_plugins_over_its_api() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let plugins = data.join("plugins");
    std::fs::create_dir_all(&plugins).expect("mkdir");
    install(&plugins, "fixture.wasm", &fixture());
    let daemon = crate::support::Daemon::start(&data);
    let (status, body) = get_json(&crate::support::client(), &daemon.at("/api/v1/plugins")).await;
    assert_ne!(status, 200, "the plugins API needs an admin: {body}");
    let http = admin_client(&daemon).await;

    let (status, list) = get_json(&http, &daemon.at("/api/v1/plugins")).await;
    assert_eq!(status, 200, "{list:#}");
    let items = list["items"].as_array().expect("items");
    assert_eq!(list["total"].as_u64(), Some(items.len() as u64));
    let fixture_item = items
        .iter()
        .find(|p| p["id"] == "fixture")
        .expect("fixture listed");
    assert_eq!(fixture_item["state"], "loaded");
    assert_eq!(fixture_item["version"], "0.1.0");
    assert_eq!(fixture_item["contract_version"], "0.3.0");
    assert_eq!(
        fixture_item["source"],
        json!({"kind": "folder", "file": "fixture.wasm"})
    );
    assert_eq!(fixture_item["join_flow"], "credentials");
    assert_eq!(fixture_item["extra_hosts"][0]["id"], "echo");
    assert!(
        fixture_item["capabilities"]
            .as_array()
            .expect("caps")
            .contains(&json!("list_users"))
    );
    assert!(
        fixture_item["permissions"]
            .as_array()
            .expect("perms")
            .iter()
            .any(|p| p["key"] == "allow_downloads")
    );
    assert!(
        fixture_item["config_fields"]
            .as_array()
            .expect("config")
            .iter()
            .any(|f| f["key"] == "api_key" && f["kind"] == "secret")
    );
    assert!(
        fixture_item["loaded_at"]
            .as_str()
            .expect("loaded_at")
            .ends_with('Z')
    );
    assert_eq!(fixture_item["calls"], 0);
    for other in items.iter().filter(|p| p["id"] != "fixture") {
        assert_eq!(other["source"]["kind"], "bundled", "{other:#}");
        assert_eq!(other["state"], "loaded", "bundled plugins load: {other:#}");
    }

    let (status, one) = get_json(&http, &daemon.at("/api/v1/plugins/fixture")).await;
    assert_eq!((status, one["id"].as_str()), (200, Some("fixture")));
    let (status, missing) = get_json(&http, &daemon.at("/api/v1/plugins/nope")).await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("PLUGIN_NOT_FOUND"))
    );
    let (status, bad) = get_json(&http, &daemon.at("/api/v1/plugins?per_page=0")).await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(bad["error"]["fields"][0]["field"], "per_page");

    // The watcher picks up a broken file: listed as failed with the reason, nothing else changes.
    install(&plugins, "broken.wasm", b"definitely not wasm");
    let list = poll_json(
        &http,
        &daemon.at("/api/v1/plugins"),
        "broken file listed",
        |_, body| {
            body["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|p| p["source"]["file"] == "broken.wasm"))
        },
    )
    .await;
    let broken = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|p| p["source"]["file"] == "broken.wasm")
        .cloned();
    let broken = broken.expect("broken entry");
    assert_eq!(broken["state"], "failed");
    assert!(
        broken["error"]["message"]
            .as_str()
            .expect("message")
            .contains("not a WebAssembly file"),
        "{broken:#}"
    );
    let text = list.to_string();
    assert!(
        !text.contains(&*tmp.path().to_string_lossy()),
        "no filesystem paths in the API: {text}"
    );

    // A new version is swapped in, then deleting the file unloads it.
    install(&plugins, "fixture.wasm", &fixture_version("0.2.0"));
    poll_json(
        &http,
        &daemon.at("/api/v1/plugins/fixture"),
        "new version",
        |_, b| b["version"] == "0.2.0",
    )
    .await;
    std::fs::remove_file(plugins.join("fixture.wasm")).expect("rm");
    poll_json(
        &http,
        &daemon.at("/api/v1/plugins/fixture"),
        "unloaded",
        |status, _| status == 404,
    )
    .await;

    // Rescan retries failed files and reports.
    let resp = http
        .post(daemon.at("/api/v1/plugins/rescan"))
        .send()
        .await
        .expect("rescan");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body["rescan"]["failed"][0]["file"], "broken.wasm",
        "{body:#}"
    );
    assert!(
        body["plugins"]
            .as_array()
            .expect("plugins")
            .iter()
            .all(|p| p["id"] != "fixture")
    );
}

// ---------------------------------------------------------------------------------------------
// `zondarr plugin check` and `plugin new`

fn daemon_config(dir: &Path) -> zondarr::config::Config {
    let overrides = zondarr::config::Overrides {
        data_dir: Some(dir.to_owned()),
        ..Default::default()
    };
    zondarr::config::Config::load_from(&overrides, &[]).expect("config")
}

#[tokio::test]
async fn plugin_check_prints_the_manifest_or_the_exact_refusal() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = daemon_config(tmp.path());
    let good = tmp.path().join("fixture.wasm");
    std::fs::write(&good, fixture()).expect("write");
    let out = zondarr::plugins::cli::check(&good, &cfg)
        .await
        .expect("check the fixture");
    for needle in [
        "OK, the daemon would load this plugin",
        "contract:     zondarr:connector@0.3.0",
        "id:           fixture",
        "version:      0.1.0",
        "interfaces:   connector, oauth, auth",
        "auth:         header X-Fixture-Token: {api_key}",
        "echo http://127.0.0.1:9",
        "zondarr:connector/host@0.3.0",
        "wasi:",
        "zondarr:connector/connector@0.3.0",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }

    for (what, bytes, reason) in broken_files() {
        let path = tmp.path().join("bad.wasm");
        std::fs::write(&path, &bytes).expect("write");
        let err = zondarr::plugins::cli::check(&path, &cfg)
            .await
            .expect_err(what)
            .to_string();
        assert!(
            err.contains("would be refused") && err.contains(reason),
            "{what}: {err}"
        );
    }
    let err = zondarr::plugins::cli::check(&tmp.path().join("missing.wasm"), &cfg)
        .await
        .expect_err("missing");
    assert!(err.to_string().contains("cannot read"), "{err}");
    let err = zondarr::plugins::cli::check(tmp.path(), &cfg)
        .await
        .expect_err("directory");
    assert!(err.to_string().contains("is a directory"), "{err}");
}

#[test]
fn plugin_new_writes_a_crate_with_the_sdk_vendored() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = zondarr::plugins::cli::new_plugin("my-server", tmp.path()).expect("new");
    assert_eq!(root, tmp.path().join("my-server"));
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("lib.rs");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    for text in [&cargo, &lib, &readme] {
        assert!(!text.contains("{{"), "unfilled placeholder:\n{text}");
    }
    let manifest: toml::Table = cargo.parse().expect("valid TOML");
    assert_eq!(manifest["package"]["name"].as_str(), Some("my-server"));
    let sdk = manifest["dependencies"]["zondarr-plugin-sdk"]["path"]
        .as_str()
        .expect("path dependency");
    assert_eq!(
        sdk,
        zondarr::plugins::cli::VENDORED_SDK,
        "vendored, not this checkout"
    );
    assert!(root.join(sdk).join("Cargo.toml").is_file(), "{sdk}");
    assert!(root.join(sdk).join("wit/connector.wit").is_file());
    assert!(lib.contains("\"my-server\""), "the id is the name");
    assert!(
        readme.contains("my_server.wasm"),
        "crate_name in the README"
    );

    let err = zondarr::plugins::cli::new_plugin("my-server", tmp.path()).expect_err("exists");
    assert!(err.to_string().contains("already exists"), "{err}");
    for bad in ["", "My", "9lives", "a_b", "x-", &"a".repeat(33), "self"] {
        assert!(
            zondarr::plugins::cli::new_plugin(bad, tmp.path()).is_err(),
            "{bad:?} accepted"
        );
    }
}

//! The daemon as a new user meets it: the real binary, its data folder, health, errors, config.

use crate::support::{Daemon, client, command};
use std::process::Stdio;

#[tokio::test]
async fn serve_creates_database_and_key_and_answers_health() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let daemon = Daemon::start(&data);
    let http = client();

    for path in ["/health/live", "/health/ready"] {
        let resp = http.get(daemon.at(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert!(resp.headers().contains_key("x-request-id"));
    }

    let log = daemon.log_lines().join("\n");
    assert!(
        log.contains("generated a new secret key"),
        "first start says so: {log}"
    );

    let db_path = data.join("zondarr.db");
    assert!(db_path.is_file(), "database file created");
    let conn = rusqlite::Connection::open(&db_path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let key_path = data.join("secret.key");
    let key = std::fs::read_to_string(&key_path).unwrap();
    assert_eq!(key.trim().len(), 64);
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // Restart: same database (the install id survives) and same key.
    let install_id: String = conn
        .query_row("SELECT value FROM meta WHERE key = 'install_id'", [], |r| {
            r.get(0)
        })
        .unwrap();
    drop(conn);
    let status = daemon.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status}");

    let daemon = Daemon::start(&data);
    let resp = http.get(daemon.at("/health/ready")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        std::fs::read_to_string(&key_path).unwrap(),
        key,
        "key reused"
    );
    let conn = rusqlite::Connection::open(&db_path).unwrap();
    let again: String = conn
        .query_row("SELECT value FROM meta WHERE key = 'install_id'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(again, install_id, "database reused");
}

#[tokio::test]
async fn unknown_api_path_is_a_json_404_with_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let resp = client()
        .get(daemon.at("/api/v1/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let header_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "NOT_FOUND");
    assert_eq!(body["error"]["request_id"], header_id.as_str());
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn bad_requests_never_get_a_500() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let http = client();
    let resp = http.delete(daemon.at("/health/live")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED");

    let resp = http
        .get(daemon.at("/%ff%fe/../../etc/passwd"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "NOT_FOUND");
}

#[test]
fn unknown_config_key_exits_non_zero_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("zondarr.toml"),
        "listen = \"127.0.0.1:0\"\nlistne = 1\n",
    )
    .unwrap();
    let out = command(dir.path())
        .arg("serve")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`listne`"), "{stderr}");
    assert!(stderr.contains("did you mean `listen`"), "{stderr}");
    assert!(
        !dir.path().join("zondarr.db").exists(),
        "nothing created on a bad config"
    );
}

#[test]
fn bad_config_value_exits_non_zero_with_the_allowed_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path())
        .env("ZONDARR_PLUGINS_MEMORY_MIB", "lots")
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`plugins.memory_mib`") && stderr.contains("from 1 to 4096"),
        "{stderr}"
    );
}

#[test]
fn config_check_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "s3cr3t-value-that-is-long-enough-123456";
    let out = command(dir.path())
        .env("ZONDARR_SECRET_KEY", secret)
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("secret_key = \"********\"  # env ZONDARR_SECRET_KEY"),
        "{stdout}"
    );
    assert!(!stdout.contains(secret));
    assert!(
        stdout.contains("listen = \"127.0.0.1:8000\"  # default"),
        "{stdout}"
    );
}

#[test]
fn version_and_migrate_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path()).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("zondarr {}", env!("CARGO_PKG_VERSION"))
    );

    let out = command(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("schema version"));
    assert!(dir.path().join("zondarr.db").is_file());
}

#[test]
fn database_from_a_newer_release_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("zondarr.db")).unwrap();
    conn.execute_batch("PRAGMA user_version = 9999").unwrap();
    drop(conn);
    let out = command(dir.path()).arg("migrate").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("newer release"), "{stderr}");
}

#[test]
fn plugin_check_and_plugin_new_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = env!("ZONDARR_FIXTURE_WASM");
    let out = command(dir.path())
        .args(["plugin", "check", fixture])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("the daemon would load this plugin"),
        "{stdout}"
    );
    assert!(
        stdout.contains("contract:     zondarr:connector@0.3.0"),
        "{stdout}"
    );
    assert!(stdout.contains("id:           fixture"), "{stdout}");
    // Human forms, as in the API: no Rust debug output such as `Flag(false)` or `Credentials`.
    for line in [
        "join flow:    credentials",
        "- api_key (secret, required): API key",
        "- behaviour (text): Behaviour",
        "        How the fixture misbehaves; empty for normal behaviour.",
        "- allow_downloads (flag, default false): Downloads",
        "- max_sessions (number, default 0): Maximum sessions",
        "- echo http://127.0.0.1:9 (no credentials): test echo host",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    for debug in ["Flag(", "Number(", "Credentials", "Secret", "Text("] {
        assert!(!stdout.contains(debug), "debug form {debug:?} in\n{stdout}");
    }

    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"definitely not wasm").unwrap();
    let out = command(dir.path())
        .args(["plugin", "check"])
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a WebAssembly file"));

    let out = command(dir.path())
        .args(["plugin", "new", "my-server", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let krate = dir.path().join("my-server");
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("name = \"my-server\"") && manifest.contains("cdylib"),
        "{manifest}"
    );
    assert!(krate.join("src/lib.rs").is_file());
    let out = command(dir.path())
        .args(["plugin", "new", "Bad Name"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

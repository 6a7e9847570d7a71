//! The plugin author's path with nothing but the `zondarr` binary and a Rust toolchain: the SDK
//! crate packages on its own (WIT inside), and `zondarr plugin new` writes a crate that builds,
//! tests and passes `plugin check` from an empty folder with no path into this checkout.

use crate::support::command;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use zondarr::plugins::cli::{SDK_FILES, VENDORED_SDK};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// `cargo` as the test runner's toolchain has it, with the outer build's flags removed.
fn cargo(dir: &Path, target_dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_MANIFEST_DIR");
    cmd
}

fn ok(what: &str, out: &Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file `cargo package` ships is what `plugin new` vendors, and the package builds.
#[test]
fn the_sdk_crate_packages_on_its_own_with_the_wit_inside() {
    let ws = workspace();
    let target = ws.join("target/sdk-package");
    let list = cargo(&ws, &target)
        .args([
            "package",
            "-p",
            "zondarr-plugin-sdk",
            "--allow-dirty",
            "--list",
            "--offline",
        ])
        .output()
        .unwrap();
    let listed: Vec<String> = ok("cargo package --list", &list)
        .lines()
        .filter(|f| {
            !matches!(
                *f,
                ".cargo_vcs_info.json" | "Cargo.lock" | "Cargo.toml.orig"
            )
        })
        .map(str::to_owned)
        .collect();
    let mut vendored: Vec<String> = SDK_FILES.iter().map(|(f, _)| (*f).to_owned()).collect();
    vendored.sort();
    assert_eq!(listed, vendored, "SDK_FILES must match the package");
    assert!(listed.contains(&"wit/connector.wit".to_owned()));
    let package = cargo(&ws, &target)
        .args([
            "package",
            "-p",
            "zondarr-plugin-sdk",
            "--allow-dirty",
            "--no-verify",
            "--offline",
        ])
        .output()
        .unwrap();
    ok("cargo package", &package);
    let krate = target.join("package/zondarr-plugin-sdk-0.1.0.crate");
    assert!(std::fs::metadata(&krate).unwrap().len() > 10_000);
}

/// The acceptance path, as a stranger with only the release binary would run it.
#[test]
fn a_new_connector_builds_tests_and_loads_without_a_checkout() {
    let home = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = command(data.path())
        .current_dir(home.path())
        .args(["plugin", "new", "demo"])
        .output()
        .unwrap();
    let said = ok("zondarr plugin new demo", &out);
    assert!(
        said.contains("cargo build --release --target wasm32-wasip2"),
        "{said}"
    );
    let krate = home.path().join("demo");

    // Nothing in the new crate points back into this checkout.
    let ws = workspace().display().to_string();
    let mut files = 0;
    let mut stack = vec![krate.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files += 1;
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(!text.contains(&ws), "{} names the checkout", path.display());
                assert!(!text.contains("{{"), "{} has a placeholder", path.display());
            }
        }
    }
    assert_eq!(
        files,
        4 + SDK_FILES.len(),
        "Cargo.toml, README, lib.rs, .gitignore, SDK"
    );
    assert!(krate.join(VENDORED_SDK).join("wit/connector.wit").is_file());

    // One target dir under this workspace's target/, so reruns are warm.
    let target = workspace().join("target/template-check");
    let build = cargo(&krate, &target)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--offline",
        ])
        .output()
        .unwrap();
    ok("cargo build --release --target wasm32-wasip2", &build);
    let test = cargo(&krate, &target)
        .args(["test", "--offline"])
        .output()
        .unwrap();
    let tests = ok("cargo test", &test);
    assert!(tests.contains("test result: ok. 2 passed"), "{tests}");

    let wasm = target.join("wasm32-wasip2/release/demo.wasm");
    let check = command(data.path())
        .current_dir(home.path())
        .args(["plugin", "check"])
        .arg(&wasm)
        .output()
        .unwrap();
    let report = ok("zondarr plugin check", &check);
    assert!(report.contains("id:           demo"), "{report}");
    assert!(
        report.contains("the daemon would load this plugin"),
        "{report}"
    );
    for line in [
        "- allow_downloads (flag, default false): Downloads",
        "        The account may download media for offline use.",
        "        Create one in the server's settings.",
        "join flow:    credentials",
    ] {
        assert!(report.contains(line), "missing {line:?} in\n{report}");
    }
}

/// A tiny web server that is not a media server: `html` answers every path with a web page,
/// otherwise every path is 404 (a URL missing its path prefix looks like this).
async fn not_a_media_server(html: bool) -> String {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(move || async move {
        if html {
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<!DOCTYPE html><html><body>Router login</body></html>",
            )
                .into_response()
        } else {
            (StatusCode::NOT_FOUND, "no such page").into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// The admin gets what to fix, not "could not be understood", and never a 404 that reads as
/// "no such route" when the address they typed answered 404.
#[tokio::test]
async fn a_wrong_server_url_is_explained_to_the_admin() {
    use crate::domain::{Api, code};
    let dir = tempfile::tempdir().unwrap();
    let daemon = crate::support::Daemon::start(dir.path());
    let api = Api::new(&daemon).await;

    let page = not_a_media_server(true).await;
    let input =
        serde_json::json!({ "kind": "jellyfin", "url": page, "config": { "api_key": "k" } });
    let (status, body) = api.post("/servers/test", input).await;
    assert_eq!(
        (status, code(&body)),
        (reqwest::StatusCode::BAD_GATEWAY, "REMOTE_ERROR"),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("HTML"), "{message}");
    assert!(message.contains("server URL"), "{message}");
    assert!(!message.contains("127.0.0.1"), "{message}");

    let missing = not_a_media_server(false).await;
    let input =
        serde_json::json!({ "kind": "jellyfin", "url": missing, "config": { "api_key": "k" } });
    for path in ["/servers/test", "/servers"] {
        let mut input = input.clone();
        input["name"] = "Wrong".into();
        if path == "/servers/test" {
            input.as_object_mut().unwrap().remove("name");
        }
        let (status, body) = api.post(path, input).await;
        assert_eq!(
            (status, code(&body)),
            (reqwest::StatusCode::BAD_GATEWAY, "SERVER_URL_NOT_FOUND"),
            "{path}: {body}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(
                "the server URL answered \"not found\": check that it points at a Jellyfin server"
            ),
            "{message}"
        );
    }
}

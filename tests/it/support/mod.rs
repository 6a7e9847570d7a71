//! Shared test helpers: start the real daemon binary on `127.0.0.1:0` with its own data folder.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Path of the `zondarr` binary cargo built for these tests.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_zondarr")
}

/// A `zondarr` command with a clean environment: no `ZONDARR_*` variables leak in from the
/// developer's shell.
pub fn command(data_dir: &Path) -> Command {
    let mut cmd = Command::new(binary());
    for (key, _) in std::env::vars() {
        if key.starts_with("ZONDARR_") {
            cmd.env_remove(key);
        }
    }
    cmd.arg("--data-dir").arg(data_dir);
    cmd
}

/// The compiled-code cache the test daemons share (`plugins.cache_dir`).
pub fn shared_plugin_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("daemon-plugin-cache")
}

/// A running daemon; killed when dropped.
pub struct Daemon {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// The data folder.
    pub data_dir: PathBuf,
    stderr: mpsc::Receiver<String>,
}

impl Daemon {
    /// Start `zondarr serve` on a free loopback port and wait until it listens.
    pub fn start(data_dir: &Path) -> Daemon {
        Self::start_with(data_dir, &[], &[])
    }

    /// Start with extra arguments and environment variables.
    pub fn start_with(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let mut cmd = command(data_dir);
        cmd.args(["--listen", "127.0.0.1:0"])
            .args(args)
            .arg("serve");
        // Every test daemon loads every bundled connector: one compiled-code cache for all of
        // them (entries are keyed by the component's hash and written atomically) saves each
        // daemon compiling them again (about 3 s with seven connectors on two busy cores).
        cmd.env("ZONDARR_PLUGINS_CACHE_DIR", shared_plugin_cache());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        let mut child = cmd.spawn().expect("start zondarr");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (url_tx, url_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("zondarr listening on ") {
                    let _ = url_tx.send(url.to_owned());
                }
            }
        });
        let (err_tx, err_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = err_tx.send(line);
            }
        });
        let url = match url_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let log: Vec<String> = err_rx.try_iter().collect();
                panic!(
                    "zondarr did not start listening within 60 s; stderr:\n{}",
                    log.join("\n")
                );
            }
        };
        Daemon {
            child,
            url,
            data_dir: data_dir.to_owned(),
            stderr: err_rx,
        }
    }

    /// `url` + `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// Log lines written so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }

    /// Wait until a log line contains `needle` (bounded); returns that line.
    pub fn wait_for_stderr(&self, needle: &str, within: Duration) -> String {
        let deadline = std::time::Instant::now() + within;
        let mut seen = Vec::new();
        while std::time::Instant::now() < deadline {
            match self.stderr.recv_timeout(Duration::from_millis(100)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => seen.push(line),
                Err(_) => {}
            }
        }
        panic!(
            "no log line with {needle:?} within {within:?}; saw:\n{}",
            seen.join("\n")
        );
    }

    /// The daemon's peak resident memory so far (`VmHWM` of `/proc/PID/status`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    /// The daemon's resident memory now (`VmRSS` of `/proc/PID/status`), in KiB (for the perf
    /// bench, which shares these helpers).
    #[allow(dead_code)]
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// The part of [`Self::rss_kib`] that is the daemon's own (`RssAnon`: heap, stacks, the
    /// plugins' compiled code), without the executable's and libraries' file pages.
    #[allow(dead_code)]
    pub fn rss_anon_kib(&self) -> u64 {
        self.status_kib("RssAnon:")
    }

    /// A `kB` field of `/proc/PID/status`.
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the daemon's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc status"))
    }

    /// Send SIGTERM and wait for the exit status (bounded).
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -TERM failed");
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("zondarr did not exit within 30 s of SIGTERM");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking-free HTTP client for tests.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// Password of the admin created by [`admin_key`].
pub const ADMIN_PASSWORD: &str = "correct-violet-kettle-42";

/// Finish setup on a fresh daemon (admin `admin`) and return an `admin`-scope API key, for
/// tests of admin endpoints that are not about authentication.
pub async fn admin_key(daemon: &Daemon) -> String {
    let http = client();
    let resp = http
        .post(daemon.at("/api/v1/setup"))
        .json(&serde_json::json!({ "username": "admin", "password": ADMIN_PASSWORD }))
        .send()
        .await
        .expect("setup request");
    assert_eq!(
        resp.status(),
        201,
        "setup: {}",
        resp.text().await.unwrap_or_default()
    );
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let me: serde_json::Value = http
        .get(daemon.at("/api/v1/auth/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("me json");
    let csrf = me["auth"]["csrf_token"]
        .as_str()
        .expect("csrf token")
        .to_owned();
    let key: serde_json::Value = http
        .post(daemon.at("/api/v1/api-keys"))
        .header("cookie", &cookie)
        .header("x-csrf-token", csrf)
        .json(&serde_json::json!({ "name": "tests", "scope": "admin", "current_password": ADMIN_PASSWORD }))
        .send()
        .await
        .expect("create key")
        .json()
        .await
        .expect("key json");
    key["key"].as_str().expect("key").to_owned()
}

/// Sign in as the admin made by [`admin_key`] (password, no TOTP) and return the session's
/// `cookie` header value and its CSRF token, for posting the admin pages' forms.
pub async fn admin_session(daemon: &Daemon) -> (String, String) {
    let http = client();
    let resp = http
        .post(daemon.at("/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": "admin", "password": ADMIN_PASSWORD }))
        .send()
        .await
        .expect("login request");
    assert_eq!(resp.status(), 200, "login");
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let me: serde_json::Value = http
        .get(daemon.at("/api/v1/auth/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("me json");
    let csrf = me["auth"]["csrf_token"].as_str().expect("csrf").to_owned();
    (cookie, csrf)
}

//! Admin access and security through the real daemon: setup, sessions, TOTP, API keys, CSRF,
//! rate limits and lockout, secrets at rest, the audit log.

use crate::support::{Daemon, client};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

const PASSWORD: &str = "correct-violet-kettle-42";

/// A client that keeps the session cookie and sends the origin a browser on the public URL would.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
    origin: Option<String>,
}

impl Browser {
    fn new(daemon: &Daemon) -> Browser {
        Browser {
            http: client(),
            base: daemon.url.clone(),
            cookie: None,
            origin: Some(daemon.url.clone()),
        }
    }

    async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if let Some(o) = &self.origin {
            req = req.header("origin", o);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap().to_owned();
            if pair.ends_with('=') {
                self.cookie = None
            } else {
                self.cookie = Some(pair)
            }
        }
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&mut self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&mut self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn patch_json(&mut self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    async fn delete(&mut self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    async fn delete_json(&mut self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, Some(body)).await
    }
}

async fn setup(daemon: &Daemon) -> Browser {
    let mut b = Browser::new(daemon);
    let (status, body) = b
        .post(
            "/api/v1/setup",
            json!({ "username": "alice", "password": PASSWORD, "public_url": daemon.url }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(b.cookie.is_some(), "setup signs the admin in");
    b
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<none>")
}

fn totp_code(secret_b32: &str, unix: u64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret_b32.to_owned())
        .to_bytes()
        .unwrap();
    let totp =
        totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, "t".into()).unwrap();
    totp.generate(unix)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn audit_actions(b: &mut Browser) -> Vec<(String, String)> {
    let (status, body) = b.get("/api/v1/audit?per_page=100").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn setup_runs_once_even_under_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let http = client();

    let (status, body) = Browser::new(&daemon).get("/api/v1/plugins").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "SETUP_REQUIRED")
    );
    let status: Value = http
        .get(daemon.at("/api/v1/setup"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["setup_required"], true);

    let (status, body) = Browser::new(&daemon)
        .post(
            "/api/v1/setup",
            json!({ "username": "alice", "password": "short" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED")
    );
    assert_eq!(body["error"]["fields"][0]["field"], "password");
    let (_, body) = Browser::new(&daemon)
        .post(
            "/api/v1/setup",
            json!({ "username": "alice", "password": "Password1234" }),
        )
        .await;
    assert_eq!(
        code(&body),
        "VALIDATION_FAILED",
        "common passwords are refused"
    );

    let mut tasks = Vec::new();
    for i in 0..8 {
        let url = daemon.at("/api/v1/setup");
        let http = http.clone();
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .json(&json!({ "username": format!("admin{i}"), "password": PASSWORD }))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 1, "exactly one concurrent setup wins");
    let resp = http
        .post(daemon.at("/api/v1/setup"))
        .json(&json!({ "username": "late", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "SETUP_ALREADY_DONE");
    let status: Value = http
        .get(daemon.at("/api/v1/setup"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["setup_required"], false);
}

#[tokio::test]
async fn login_logout_sessions_and_password_change() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let mut first = setup(&daemon).await;

    let (status, me) = first.get("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "alice");
    assert_eq!(me["auth"]["kind"], "session");

    // Wrong password and unknown user answer the same.
    let mut anon = Browser::new(&daemon);
    let (s1, b1) = anon
        .post(
            "/api/v1/auth/login",
            json!({ "username": "alice", "password": "wrong-password-123" }),
        )
        .await;
    let (s2, b2) = anon
        .post(
            "/api/v1/auth/login",
            json!({ "username": "mallory", "password": "wrong-password-123" }),
        )
        .await;
    assert_eq!(
        (s1, code(&b1)),
        (StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS")
    );
    assert_eq!(
        (s2, code(&b2), b2["error"]["message"].clone()),
        (s1, code(&b1), b1["error"]["message"].clone())
    );

    let mut second = Browser::new(&daemon);
    let (status, body) = second
        .post(
            "/api/v1/auth/login",
            json!({ "username": "ALICE", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["admin"]["username"], "alice");
    let mut third = Browser::new(&daemon);
    third
        .post(
            "/api/v1/auth/login",
            json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;

    let (_, list) = first.get("/api/v1/sessions").await;
    assert_eq!(list["total"], 3);
    let current: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["current"] == true)
        .collect();
    assert_eq!(current.len(), 1);

    // Revoke the third session from the first.
    let (_, me3) = third.get("/api/v1/auth/me").await;
    let third_id = me3["auth"]["session_id"].as_i64().unwrap();
    let (status, _) = first.delete(&format!("/api/v1/sessions/{third_id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = third.get("/api/v1/auth/me").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
    );

    // Logout ends the second session and clears its cookie.
    let cookie = second.cookie.clone();
    let (status, _) = second.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(second.cookie.is_none());
    second.cookie = cookie;
    let (status, _) = second.get("/api/v1/auth/me").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old cookie no longer works"
    );

    // Password change keeps this session and revokes the others.
    let mut fourth = Browser::new(&daemon);
    fourth
        .post(
            "/api/v1/auth/login",
            json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;
    let (status, body) = first
        .post("/api/v1/auth/password", json!({ "current_password": "nope-nope-nope", "new_password": "another-long-passphrase" }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "STEP_UP_REQUIRED")
    );
    let (status, body) = first
        .post(
            "/api/v1/auth/password",
            json!({ "current_password": PASSWORD, "new_password": "another-long-passphrase" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessions_revoked"], 1);
    assert_eq!(
        fourth.get("/api/v1/auth/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(first.get("/api/v1/auth/me").await.0, StatusCode::OK);
    let (status, _) = Browser::new(&daemon)
        .post(
            "/api/v1/auth/login",
            json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "old password no longer works"
    );

    let actions = audit_actions(&mut first).await;
    for expected in [
        "setup.complete",
        "auth.login",
        "auth.logout",
        "session.revoke",
        "auth.password_change",
    ] {
        assert!(
            actions.iter().any(|(a, o)| a == expected && o == "success"),
            "missing {expected}: {actions:?}"
        );
    }
    assert!(
        actions
            .iter()
            .any(|(a, o)| a == "auth.login" && o == "failure")
    );
}

#[tokio::test]
async fn totp_enrolment_login_replay_and_backup_codes() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let mut admin = setup(&daemon).await;

    let (status, enrol) = admin
        .post(
            "/api/v1/auth/totp/setup",
            json!({ "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{enrol}");
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    assert!(
        enrol["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert!(enrol["qr_svg"].as_str().unwrap().contains("<svg"));

    let (status, body) = admin
        .post("/api/v1/auth/totp/confirm", json!({ "code": "000000" }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let t = now();
    let (status, confirmed) = admin
        .post(
            "/api/v1/auth/totp/confirm",
            json!({ "code": totp_code(&secret, t) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    let backup: Vec<String> = confirmed["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(backup.len(), 10);

    // The TOTP secret is sealed at rest: neither its base32 nor raw bytes are in the file.
    let db_bytes = std::fs::read(daemon.data_dir.join("zondarr.db")).unwrap();
    let wal_bytes = std::fs::read(daemon.data_dir.join("zondarr.db-wal")).unwrap_or_default();
    let raw = totp_rs::Secret::Encoded(secret.clone()).to_bytes().unwrap();
    for haystack in [&db_bytes, &wal_bytes] {
        assert!(
            !haystack
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "base32 secret in plain text"
        );
        assert!(
            !haystack.windows(raw.len()).any(|w| w == raw.as_slice()),
            "raw secret in plain text"
        );
        assert!(
            !haystack
                .windows(PASSWORD.len())
                .any(|w| w == PASSWORD.as_bytes()),
            "password in plain text"
        );
    }

    // Login now needs the second factor.
    let mut b = Browser::new(&daemon);
    let (status, step1) = b
        .post(
            "/api/v1/auth/login",
            json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(step1["second_factor_required"], true);
    assert!(b.cookie.is_none(), "no session before the second factor");
    let challenge = step1["challenge"].as_str().unwrap().to_owned();
    // The confirming code's step is used up: replay refused.
    let (status, body) = b
        .post(
            "/api/v1/auth/totp",
            json!({ "challenge": challenge, "code": totp_code(&secret, t) }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "INVALID_SECOND_FACTOR")
    );
    // The next step's code is inside the accepted window.
    let next = totp_code(&secret, t + 30);
    let (status, body) = b
        .post(
            "/api/v1/auth/totp",
            json!({ "challenge": challenge, "code": next }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(b.cookie.is_some());

    // Replaying that code on a new login is refused.
    let mut c = Browser::new(&daemon);
    let (_, step1) = c
        .post(
            "/api/v1/auth/login",
            json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;
    let challenge = step1["challenge"].as_str().unwrap().to_owned();
    let (status, _) = c
        .post(
            "/api/v1/auth/totp",
            json!({ "challenge": challenge, "code": next }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "replay refused");
    // A backup code works once.
    let (status, _) = c
        .post(
            "/api/v1/auth/totp",
            json!({ "challenge": challenge, "code": backup[0].to_uppercase() }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut d = Browser::new(&daemon);
    let (_, step1) = d
        .post(
            "/api/v1/auth/login",
            json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;
    let challenge = step1["challenge"].as_str().unwrap().to_owned();
    let (status, _) = d
        .post(
            "/api/v1/auth/totp",
            json!({ "challenge": challenge, "code": backup[0] }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "backup code is single-use"
    );
    let (status, _) = d
        .post(
            "/api/v1/auth/totp",
            json!({ "challenge": "forged", "code": backup[1] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "unknown challenge");

    let (_, me) = admin.get("/api/v1/auth/me").await;
    assert_eq!(
        (
            me["totp_enabled"].as_bool(),
            me["backup_codes_left"].as_i64()
        ),
        (Some(true), Some(9))
    );

    // Disabling needs password and a code.
    let (status, _) = admin
        .post(
            "/api/v1/auth/totp/disable",
            json!({ "password": PASSWORD, "code": "123456" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = admin
        .post(
            "/api/v1/auth/totp/disable",
            json!({ "password": PASSWORD, "code": backup[1] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let actions = audit_actions(&mut admin).await;
    for expected in ["auth.totp_setup", "auth.totp_enable", "auth.totp_disable"] {
        assert!(
            actions.iter().any(|(a, o)| a == expected && o == "success"),
            "missing {expected}"
        );
    }
    assert!(
        actions
            .iter()
            .any(|(a, o)| a == "auth.totp" && o == "failure")
    );
    // Nothing secret in the audit log.
    let (_, audit) = admin.get("/api/v1/audit?per_page=100").await;
    let text = audit.to_string();
    assert!(!text.contains(&secret) && !text.contains(PASSWORD) && !text.contains(&backup[2]));
}

#[tokio::test]
async fn api_keys_scopes_and_csrf() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let mut admin = setup(&daemon).await;
    let http = client();

    let (status, body) = admin
        .post(
            "/api/v1/api-keys",
            json!({ "name": "dashboard", "scope": "read", "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let read_key = body["key"].as_str().unwrap().to_owned();
    let (_, body) = admin
        .post(
            "/api/v1/api-keys",
            json!({ "name": "bot", "scope": "admin", "expires_at": "2099-01-01T00:00:00Z", "current_password": PASSWORD }),
        )
        .await;
    let admin_key = body["key"].as_str().unwrap().to_owned();
    let admin_key_id = body["id"].as_i64().unwrap();
    let (status, body) = admin
        .post(
            "/api/v1/api-keys",
            json!({ "name": "", "scope": "root", "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["fields"].as_array().unwrap().len(), 2);

    // Read key: reads work, writes are refused with FORBIDDEN_SCOPE.
    let resp = http
        .get(daemon.at("/api/v1/auth/me"))
        .bearer_auth(&read_key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = http
        .post(daemon.at("/api/v1/plugins/rescan"))
        .bearer_auth(&read_key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "FORBIDDEN_SCOPE");
    // Admin key: writes work without any CSRF token (bearer requests are exempt).
    let resp = http
        .post(daemon.at("/api/v1/plugins/rescan"))
        .bearer_auth(&admin_key)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());

    // The list shows last use and never the secret.
    let (_, list) = admin.get("/api/v1/api-keys").await;
    assert_eq!(list["total"], 2);
    assert!(!list.to_string().contains(&read_key[12..]));
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["last_used_at"].is_string())
    );

    // Revoke → the key stops working.
    let (status, _) = admin
        .delete_json(
            &format!("/api/v1/api-keys/{admin_key_id}"),
            json!({ "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let resp = http
        .get(daemon.at("/api/v1/auth/me"))
        .bearer_auth(&admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = http
        .get(daemon.at("/api/v1/auth/me"))
        .bearer_auth("zk_00000000_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // CSRF: a cookie write from a foreign origin is refused; without Origin it needs the token.
    admin.origin = Some("https://evil.example".into());
    let (status, body) = admin.post("/api/v1/plugins/rescan", json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "CSRF_FAILED")
    );
    admin.origin = None;
    let (status, body) = admin.post("/api/v1/plugins/rescan", json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "CSRF_FAILED")
    );
    let (_, me) = admin.get("/api/v1/auth/me").await;
    let csrf = me["auth"]["csrf_token"].as_str().unwrap().to_owned();
    let resp = http
        .post(daemon.at("/api/v1/plugins/rescan"))
        .header("cookie", admin.cookie.clone().unwrap())
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success(),
        "synchronizer token accepted: {}",
        resp.status()
    );
    // Reads with a cookie need no token.
    assert_eq!(admin.get("/api/v1/plugins").await.0, StatusCode::OK);

    let actions = audit_actions(&mut Browser {
        origin: Some(daemon.url.clone()),
        ..admin
    })
    .await;
    assert!(actions.iter().any(|(a, _)| a == "api_key.create"));
    assert!(actions.iter().any(|(a, _)| a == "api_key.revoke"));
}

#[tokio::test]
async fn failed_logins_are_rate_limited_and_lock_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with(
        dir.path(),
        &[],
        &[
            ("ZONDARR_SECURITY_LOCKOUT_AFTER", "3"),
            ("ZONDARR_SECURITY_LOGIN_PER_ACCOUNT_PER_MINUTE", "1000"),
            ("ZONDARR_SECURITY_LOGIN_PER_IP_PER_MINUTE", "5"),
        ],
    );
    let mut admin = setup(&daemon).await;
    let mut b = Browser::new(&daemon);
    for _ in 0..3 {
        let (status, _) = b
            .post(
                "/api/v1/auth/login",
                json!({ "username": "alice", "password": "not-the-password" }),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right password is refused, with Retry-After.
    let resp = client()
        .post(daemon.at("/api/v1/auth/login"))
        .json(&json!({ "username": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "ACCOUNT_LOCKED");

    // Per-IP limit (5 a minute): the sixth attempt in the minute from this address is a 429 RATE_LIMITED.
    let (status, body) = b
        .post(
            "/api/v1/auth/login",
            json!({ "username": "bob", "password": "whatever-123456" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = b
        .post(
            "/api/v1/auth/login",
            json!({ "username": "bob", "password": "whatever-123456" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED")
    );

    let actions = audit_actions(&mut admin).await;
    assert!(
        actions.iter().any(|(a, _)| a == "auth.lockout"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn cli_creates_admins_and_resets_passwords() {
    use std::io::Write;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: &str| {
        let mut child = crate::support::command(dir.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(&["admin", "create", "--username", "root"], "short\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12"));
    let out = run(
        &["admin", "create", "--username", "root"],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let daemon = Daemon::start(dir.path());
    // No public URL was set (no setup call): a client that sends no Origin, like curl.
    let mut b = Browser {
        origin: None,
        ..Browser::new(&daemon)
    };
    let (status, body) = b
        .post(
            "/api/v1/auth/login",
            json!({ "username": "root", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "CLI admin completes setup: {body}");

    let out = run(
        &["admin", "reset-password", "--username", "root"],
        "a-brand-new-passphrase\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 session(s) signed out"));
    assert_eq!(
        b.get("/api/v1/auth/me").await.0,
        StatusCode::UNAUTHORIZED,
        "sessions revoked"
    );
    let mut fresh = Browser {
        origin: None,
        ..Browser::new(&daemon)
    };
    let (status, _) = fresh
        .post(
            "/api/v1/auth/login",
            json!({ "username": "root", "password": "a-brand-new-passphrase" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_can_sign_in_through_a_media_server_when_enabled() {
    use zondarr_fakes::jellyfin::{ADMIN_NAME, ADMIN_PASSWORD, JellyfinFake};
    use zondarr_fakes::plex::PlexFake;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let mut admin = setup(&daemon).await;
    let jellyfin = JellyfinFake::start().await;
    jellyfin.add_user("joe", "joe-password");
    let plex = PlexFake::start().await;

    let (status, body) = admin
        .post("/api/v1/servers", json!({ "name": "JF", "kind": "jellyfin", "url": jellyfin.base_url(), "config": { "api_key": jellyfin.api_key() } }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let jf = body["id"].as_i64().unwrap();
    assert_eq!(body["admin_login"], false, "off by default");
    let (status, body) = admin
        .post(
            "/api/v1/servers",
            json!({ "name": "PX", "kind": "plex", "url": plex.pms_url(), "config": { "token": plex.owner_token() },
                    "extra_hosts": { "plex-tv": plex.plex_tv_url(), "clients-plex-tv": plex.plex_tv_url() }, "admin_login": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let px = body["id"].as_i64().unwrap();

    // Not enabled for Jellyfin yet: not offered, and the endpoint answers as for an unknown server.
    let mut anon = Browser::new(&daemon);
    let (_, offered) = anon.get("/api/v1/auth/servers").await;
    assert_eq!(offered.as_array().unwrap().len(), 1);
    assert_eq!(
        (offered[0]["id"].as_i64(), offered[0]["method"].as_str()),
        (Some(px), Some("oauth"))
    );
    let (status, _) = anon
        .post(
            &format!("/api/v1/auth/login/server/{jf}"),
            json!({ "username": ADMIN_NAME, "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = admin
        .patch_json(
            &format!("/api/v1/servers/{jf}"),
            json!({ "admin_login": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A Jellyfin administrator signs in; a plain user and a wrong password get the same answer.
    let (s1, b1) = anon
        .post(
            &format!("/api/v1/auth/login/server/{jf}"),
            json!({ "username": "joe", "password": "joe-password" }),
        )
        .await;
    let (s2, b2) = anon
        .post(
            &format!("/api/v1/auth/login/server/{jf}"),
            json!({ "username": ADMIN_NAME, "password": "wrong" }),
        )
        .await;
    assert_eq!(
        (s1, code(&b1)),
        (StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS")
    );
    assert_eq!((s2, code(&b2)), (s1, code(&b1)));
    let mut jf_admin = Browser::new(&daemon);
    let (status, body) = jf_admin
        .post(
            &format!("/api/v1/auth/login/server/{jf}"),
            json!({ "username": ADMIN_NAME, "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, me) = jf_admin.get("/api/v1/auth/me").await;
    assert_eq!(me["username"], format!("{ADMIN_NAME}@server{jf}"));
    // Its local record has no password that could be guessed.
    let (status, _) = Browser::new(&daemon)
        .post(
            "/api/v1/auth/login",
            json!({ "username": format!("{ADMIN_NAME}@server{jf}"), "password": "!" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Plex: only the server owner's account may sign in through the PIN flow.
    let stranger = plex.add_account("mallory", "m@example.org");
    for (account, want) in [
        (stranger.id, StatusCode::UNAUTHORIZED),
        (plex.owner().id, StatusCode::OK),
    ] {
        let mut b = Browser::new(&daemon);
        let (status, started) = b
            .post(&format!("/api/v1/auth/login/server/{px}/oauth"), json!({}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{started}");
        let challenge = started["challenge"].as_str().unwrap().to_owned();
        let (status, _) = b
            .post(
                &format!("/api/v1/auth/login/server/{px}/oauth/poll"),
                json!({ "challenge": challenge }),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "pending until approved");
        let pin = plex
            .pin_id_by_code(started["code"].as_str().unwrap())
            .unwrap();
        assert!(plex.approve_pin(&pin, account));
        let (status, body) = b
            .post(
                &format!("/api/v1/auth/login/server/{px}/oauth/poll"),
                json!({ "challenge": challenge }),
            )
            .await;
        assert_eq!(status, want, "{body}");
        if want == StatusCode::OK {
            assert!(b.cookie.is_some());
            let (_, me) = b.get("/api/v1/auth/me").await;
            assert!(
                me["username"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("@server{px}"))
            );
        }
    }
    // The sign-in page offers both; its "Sign in with Plex" works without JavaScript: a link to
    // plex.tv that comes back to the daemon, which signs the owner in and goes on to `next`.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(daemon.at("/admin/sign-in?next=/admin/servers"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = format!("/admin/sign-in/server/{px}/link?next=%2Fadmin%2Fservers");
    assert!(page.contains(&start), "{page}");
    assert!(
        page.contains(&format!("action=\"/admin/sign-in/server/{jf}\"")),
        "{page}"
    );
    for (account, signed_in) in [(stranger.id, false), (plex.owner().id, true)] {
        let resp = http.get(daemon.at(&start)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let to = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(to.host_str(), Some("app.plex.tv"), "{to}");
        let fragment = to.fragment().unwrap().trim_start_matches('?').to_owned();
        let params: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(fragment.as_bytes())
                .into_owned()
                .collect();
        let back = &params["forwardUrl"];
        assert!(back.starts_with(&daemon.url), "{back}");
        // Not approved yet: "check again".
        let resp = http
            .get(back)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.text().await.unwrap().contains("Not approved yet"));
        let pin = plex.pin_id_by_code(&params["code"]).unwrap();
        assert!(plex.approve_pin(&pin, account));
        let resp = http
            .get(back)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        if signed_in {
            assert_eq!(resp.status(), StatusCode::SEE_OTHER);
            assert_eq!(resp.headers()["location"], "/admin/servers");
            let cookie = resp.headers()["set-cookie"].to_str().unwrap();
            let cookie = cookie.split(';').next().unwrap().to_owned();
            let mut owner = Browser::new(&daemon);
            owner.cookie = Some(cookie);
            let (_, me) = owner.get("/api/v1/auth/me").await;
            assert!(
                me["username"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("@server{px}")),
                "{me}"
            );
        } else {
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
            assert!(resp.headers().get("set-cookie").is_none());
            assert!(resp.text().await.unwrap().contains("INVALID_CREDENTIALS"));
        }
    }

    // An external admin has no Zondarr password: a fresh sign-in is its step-up.
    let (status, body) = jf_admin
        .post(
            "/api/v1/api-keys",
            json!({ "name": "jf-bot", "scope": "admin" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let jf_key = body["key"].as_str().unwrap().to_owned();
    assert_eq!(me_with_key(&daemon, &jf_key).await, StatusCode::OK);
    // Turning its sign-in off ends its sessions and revokes its keys at once.
    let (status, body) = admin
        .patch_json(
            &format!("/api/v1/servers/{jf}"),
            json!({ "admin_login": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        jf_admin.get("/api/v1/auth/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me_with_key(&daemon, &jf_key).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(admin.get("/api/v1/auth/me").await.0, StatusCode::OK);

    let actions = audit_actions(&mut admin).await;
    assert!(
        actions
            .iter()
            .filter(|(a, o)| a == "auth.login" && o == "failure")
            .count()
            >= 3
    );
    assert!(
        actions
            .iter()
            .any(|(a, _)| a == "server.external_admins_revoked")
    );
}

/// GET /api/v1/auth/me with an API key.
async fn me_with_key(daemon: &Daemon, key: &str) -> StatusCode {
    client()
        .get(daemon.at("/api/v1/auth/me"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
}

/// POST as an API key.
async fn post_with_key(daemon: &Daemon, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let resp = client()
        .post(daemon.at(path))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Issue 17 item 15: enrolling TOTP and creating or revoking API keys need the current password;
/// an admin key cannot mint admin keys; a password change revokes every key and other session;
/// wrong step-up passwords count toward the lockout.
#[tokio::test]
async fn sensitive_changes_need_the_current_password() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let mut admin = setup(&daemon).await;

    for body in [json!({}), json!({ "current_password": "not-the-password" })] {
        let (status, body) = admin.post("/api/v1/auth/totp/setup", body).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "STEP_UP_REQUIRED"),
            "{body}"
        );
        assert_eq!(body["error"]["fields"][0]["field"], "current_password");
    }
    let (_, me) = admin.get("/api/v1/auth/me").await;
    assert_eq!(me["totp_enabled"], false);

    let (status, body) = admin
        .post(
            "/api/v1/api-keys",
            json!({ "name": "bot", "scope": "admin" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "STEP_UP_REQUIRED")
    );
    let (status, body) = admin
        .post(
            "/api/v1/api-keys",
            json!({ "name": "bot", "scope": "admin", "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let admin_key = body["key"].as_str().unwrap().to_owned();

    // An admin key may create read keys, with the password, but never admin keys.
    let (status, body) = post_with_key(
        &daemon,
        &admin_key,
        "/api/v1/api-keys",
        json!({ "name": "forever", "scope": "admin", "current_password": PASSWORD }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "ADMIN_KEY_FROM_KEY")
    );
    let (status, body) = post_with_key(
        &daemon,
        &admin_key,
        "/api/v1/api-keys",
        json!({ "name": "reader", "scope": "read" }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "STEP_UP_REQUIRED")
    );
    let (status, body) = post_with_key(
        &daemon,
        &admin_key,
        "/api/v1/api-keys",
        json!({ "name": "reader", "scope": "read", "current_password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let read_key = body["key"].as_str().unwrap().to_owned();
    let read_id = body["id"].as_i64().unwrap();
    let (_, list) = admin.get("/api/v1/api-keys").await;
    assert_eq!(list["total"], 2, "{list}");

    // Revoking needs the password too.
    let (status, body) = admin
        .delete_json(&format!("/api/v1/api-keys/{read_id}"), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "STEP_UP_REQUIRED")
    );
    assert_eq!(me_with_key(&daemon, &read_key).await, StatusCode::OK);

    // A password change ends the other sessions and revokes every key.
    let mut other = Browser::new(&daemon);
    let (status, _) = other
        .post(
            "/api/v1/auth/login",
            json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = admin
        .post(
            "/api/v1/auth/password",
            json!({ "current_password": PASSWORD, "new_password": "another-long-passphrase" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["sessions_revoked"], &body["api_keys_revoked"]),
        (&json!(1), &json!(2))
    );
    assert_eq!(
        me_with_key(&daemon, &admin_key).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me_with_key(&daemon, &read_key).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        other.get("/api/v1/auth/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(admin.get("/api/v1/auth/me").await.0, StatusCode::OK);

    // Guessing the password through a stolen session is locked like sign-in.
    let mut last = (StatusCode::OK, Value::Null);
    for _ in 0..5 {
        last = admin
            .post(
                "/api/v1/auth/totp/setup",
                json!({ "current_password": "guess-guess-guess" }),
            )
            .await;
    }
    assert_eq!(code(&last.1), "STEP_UP_REQUIRED");
    let (status, body) = admin
        .post(
            "/api/v1/auth/totp/setup",
            json!({ "current_password": "another-long-passphrase" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "ACCOUNT_LOCKED"),
        "{body}"
    );
    let actions = audit_actions(&mut admin).await;
    assert!(
        actions
            .iter()
            .any(|(a, o)| a == "auth.step_up" && o == "failure")
    );
}

/// `security.api_keys_create_admin_keys` lets an admin key create admin keys.
#[tokio::test]
async fn admin_keys_may_mint_admin_keys_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with(
        dir.path(),
        &[],
        &[("ZONDARR_SECURITY_API_KEYS_CREATE_ADMIN_KEYS", "true")],
    );
    let mut admin = setup(&daemon).await;
    let (status, body) = admin
        .post(
            "/api/v1/api-keys",
            json!({ "name": "bot", "scope": "admin", "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key = body["key"].as_str().unwrap().to_owned();
    let (status, body) = post_with_key(
        &daemon,
        &key,
        "/api/v1/api-keys",
        json!({ "name": "minted", "scope": "admin", "current_password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// POST a login as a client behind a proxy that sends `forwarded` as X-Forwarded-For.
async fn login_via(
    daemon: &Daemon,
    forwarded: &str,
    username: &str,
    password: &str,
) -> (StatusCode, Value) {
    let resp = client()
        .post(daemon.at("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded)
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The addresses the audit log recorded for failed sign-ins, newest first.
async fn failed_login_ips(admin: &mut Browser) -> Vec<String> {
    let (_, body) = admin
        .get("/api/v1/audit?action=auth.login&outcome=failure&per_page=100")
        .await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["ip"].as_str().map(str::to_owned))
        .collect()
}

/// Issue 17 item 12: the left-most `X-Forwarded-For` entry is the client's to write, so it must
/// not pick the address limits and the audit log count under.
#[tokio::test]
async fn spoofed_forwarded_for_neither_bypasses_limits_nor_forges_audit_addresses() {
    // No trusted proxy: the header is ignored, whatever it says.
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with(
        dir.path(),
        &[],
        &[("ZONDARR_SECURITY_LOGIN_PER_IP_PER_MINUTE", "5")],
    );
    let mut admin = setup(&daemon).await;
    let mut refused = 0;
    for i in 0..8 {
        let (status, body) = login_via(
            &daemon,
            &format!("203.0.113.{i}"),
            &format!("u{i}"),
            "wrong-password-1",
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(code(&body), "RATE_LIMITED");
            refused += 1;
        }
    }
    assert_eq!(
        refused, 3,
        "five a minute from this one address, whatever the header says"
    );
    let ips = failed_login_ips(&mut admin).await;
    assert!(!ips.is_empty());
    assert!(ips.iter().all(|ip| ip == "127.0.0.1"), "{ips:?}");
    drop(daemon);

    // Behind a trusted proxy (loopback here): the right-most entry the proxy appended is the
    // client; entries to its left, written by the client, change nothing.
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with(
        dir.path(),
        &[],
        &[
            ("ZONDARR_SECURITY_LOGIN_PER_IP_PER_MINUTE", "5"),
            ("ZONDARR_HTTP_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8"),
        ],
    );
    let mut admin = setup(&daemon).await;
    let mut refused = 0;
    for i in 0..8 {
        // "forged, client, inner proxy": the inner proxy (10.1.2.3) is trusted too.
        let forwarded = format!("198.51.100.{i}, 203.0.113.9, 10.1.2.3");
        let (status, _) =
            login_via(&daemon, &forwarded, &format!("u{i}"), "wrong-password-1").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert_eq!(
        refused, 3,
        "the forged left-most entries do not make new clients"
    );
    let ips = failed_login_ips(&mut admin).await;
    assert!(ips.iter().all(|ip| ip == "203.0.113.9"), "{ips:?}");
    // Another client behind the same proxy has its own budget.
    let (status, body) = login_via(&daemon, "203.0.113.10", "u9", "wrong-password-1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // IPv6 clients count by their /64: a new address in the same /64 is the same client.
    for i in 0..5 {
        let (status, _) = login_via(
            &daemon,
            &format!("2001:db8:1:2::{i:x}"),
            &format!("v{i}"),
            "wrong-password-1",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = login_via(&daemon, "2001:db8:1:2:ffff::1", "v9", "wrong-password-1").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED")
    );
}

/// Issue 17 item 12, the opposite failure: behind a proxy that is not trusted every visitor
/// shares the proxy's address; the daemon says so in its log.
#[tokio::test]
async fn an_untrusted_reverse_proxy_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let mut admin = setup(&daemon).await;
    // Nothing to report before any proxied request.
    let (_, dashboard) = admin.get("/api/v1/dashboard").await;
    assert!(
        dashboard["untrusted_proxy_seen_at"].is_null(),
        "{dashboard}"
    );
    let page = client()
        .get(daemon.at("/admin"))
        .header("cookie", admin.cookie.clone().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("id=\"untrusted-proxy\""));

    let _ = login_via(&daemon, "203.0.113.5", "nobody", "wrong-password-1").await;
    let log = daemon.wait_for_stderr(
        "reverse proxy that is not trusted",
        std::time::Duration::from_secs(10),
    );
    assert!(log.contains("http.trusted_proxies"), "{log}");
    // The dashboard says so too, in JSON and on the page (English and German).
    let (_, dashboard) = admin.get("/api/v1/dashboard").await;
    assert!(
        dashboard["untrusted_proxy_seen_at"].is_string(),
        "{dashboard}"
    );
    for (lang, words) in [("en", "does not trust"), ("de", "nicht vertraut")] {
        let page = client()
            .get(daemon.at("/admin"))
            .header("cookie", admin.cookie.clone().unwrap())
            .header("accept-language", lang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("id=\"untrusted-proxy\""), "{lang}");
        assert!(
            page.contains(words) && page.contains("http.trusted_proxies"),
            "{lang}"
        );
    }
}

/// Issue 17 item 13: someone else's failures, from elsewhere, do not lock the admin out; the
/// attacker's own address is locked.
#[tokio::test]
async fn an_attackers_failures_do_not_lock_out_the_admin_signing_in_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with(
        dir.path(),
        &[],
        &[
            ("ZONDARR_SECURITY_LOCKOUT_AFTER", "3"),
            ("ZONDARR_HTTP_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    );
    setup(&daemon).await;
    for _ in 0..3 {
        let (status, _) = login_via(&daemon, "198.51.100.66", "alice", "guess-guess-1").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = login_via(&daemon, "198.51.100.66", "alice", PASSWORD).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "ACCOUNT_LOCKED")
    );
    // The admin, elsewhere, with the right password.
    let (status, body) = login_via(&daemon, "192.0.2.10", "alice", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["admin"]["csrf_token"].is_string(), "{body}");
}

/// Issue 17 item 14: with the password known, second-factor guesses are counted and locked, and
/// a fresh challenge (another correct password) does not reset the count.
#[tokio::test]
async fn totp_guesses_count_toward_the_lockout() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with(
        dir.path(),
        &[],
        &[
            ("ZONDARR_SECURITY_LOCKOUT_AFTER", "3"),
            ("ZONDARR_SECURITY_LOGIN_PER_IP_PER_MINUTE", "1000"),
            ("ZONDARR_SECURITY_LOGIN_PER_ACCOUNT_PER_MINUTE", "1000"),
        ],
    );
    let mut admin = setup(&daemon).await;
    let (_, enrol) = admin
        .post(
            "/api/v1/auth/totp/setup",
            json!({ "current_password": PASSWORD }),
        )
        .await;
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    let (status, body) = admin
        .post(
            "/api/v1/auth/totp/confirm",
            json!({ "code": totp_code(&secret, now()) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let mut b = Browser::new(&daemon);
    let mut last = (StatusCode::OK, Value::Null);
    for _ in 0..4 {
        // A new challenge each time: the password is right.
        let (status, step1) = b
            .post(
                "/api/v1/auth/login",
                json!({ "username": "alice", "password": PASSWORD }),
            )
            .await;
        if status != StatusCode::OK {
            last = (status, step1);
            break;
        }
        let challenge = step1["challenge"].as_str().unwrap().to_owned();
        last = b
            .post(
                "/api/v1/auth/totp",
                json!({ "challenge": challenge, "code": "000000" }),
            )
            .await;
    }
    assert_eq!(
        (last.0, code(&last.1)),
        (StatusCode::TOO_MANY_REQUESTS, "ACCOUNT_LOCKED"),
        "three wrong codes lock this account at this address: {}",
        last.1
    );
    // Even the right code is refused while locked.
    let (status, step1) = b
        .post(
            "/api/v1/auth/login",
            json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;
    assert_eq!(
        (status, code(&step1)),
        (StatusCode::TOO_MANY_REQUESTS, "ACCOUNT_LOCKED")
    );
}

/// Issue 17 item 16: a flood of bad sign-ins neither runs hundreds of Argon2 hashes (19 MiB each)
/// at once nor queues without bound: the excess is answered at once with UNAVAILABLE, and the
/// daemon's peak memory stays far below what 200 hashes in flight would take (~3.8 GiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_bad_sign_ins_is_queued_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with(
        dir.path(),
        &[],
        &[
            ("ZONDARR_SECURITY_LOGIN_PER_IP_PER_MINUTE", "10000"),
            ("ZONDARR_SECURITY_LOGIN_PER_ACCOUNT_PER_MINUTE", "10000"),
            ("ZONDARR_SECURITY_LOCKOUT_AFTER", "1000"),
        ],
    );
    setup(&daemon).await;
    let before = daemon.peak_rss_kib();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let url = daemon.at("/api/v1/auth/login");
            tokio::spawn(async move {
                let resp = client()
                    .post(url)
                    .json(&json!({ "username": format!("u{i}"), "password": "wrong-password-1" }))
                    .send()
                    .await
                    .unwrap();
                let status = resp.status();
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                (status, code(&body).to_owned())
            })
        })
        .collect();
    let mut unavailable = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            (StatusCode::SERVICE_UNAVAILABLE, c) => {
                assert_eq!(c, "UNAVAILABLE");
                unavailable += 1;
            }
            (StatusCode::UNAUTHORIZED, c) => {
                assert_eq!(c, "INVALID_CREDENTIALS");
                refused += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(unavailable + refused, 200);
    assert!(
        unavailable > 0,
        "the queue is bounded: some were turned away at once"
    );
    assert!(refused >= 2, "the hashing slots kept working: {refused}");
    let grown_mib = daemon.peak_rss_kib().saturating_sub(before) / 1024;
    // Measured: about 1.2 GiB with the blocking pool (before the fix), about 210 MiB now.
    assert!(grown_mib < 400, "peak memory grew by {grown_mib} MiB");
}

/// Issue 17 item 17: a server's stored secrets were given for its address. Moving the URL or an
/// extra host to another origin needs them again in the same request, and the new address never
/// sees the old ones (not even as a connection test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_address_needs_the_secrets_again() {
    use zondarr_fakes::jellyfin::JellyfinFake;
    use zondarr_fakes::plex::PlexFake;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let mut admin = setup(&daemon).await;
    let home = JellyfinFake::start().await;
    let elsewhere = JellyfinFake::start().await;

    let (status, body) = admin
        .post("/api/v1/servers", json!({ "name": "JF", "kind": "jellyfin", "url": home.base_url(), "config": { "api_key": home.api_key() } }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let jf = body["id"].as_i64().unwrap();

    let (status, body) = admin
        .patch_json(
            &format!("/api/v1/servers/{jf}"),
            json!({ "url": elsewhere.base_url() }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "SECRETS_REQUIRED"),
        "{body}"
    );
    assert_eq!(body["error"]["fields"][0]["field"], "config.api_key");
    assert!(
        elsewhere.requests().is_empty(),
        "nothing was sent to the new address"
    );
    let (_, shown) = admin.get(&format!("/api/v1/servers/{jf}")).await;
    assert_eq!(shown["url"], home.base_url(), "nothing changed");
    // Another base path on the same origin may be another application: the same rule.
    let (status, body) = admin
        .patch_json(
            &format!("/api/v1/servers/{jf}"),
            json!({ "url": format!("{}/other-app", home.base_url()) }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "SECRETS_REQUIRED"),
        "{body}"
    );

    // The same origin (another name of nothing: only other fields change) needs nothing again.
    let (status, body) = admin
        .patch_json(&format!("/api/v1/servers/{jf}"), json!({ "name": "Home" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // With the secret of the new address, the move is made.
    let (status, body) = admin
        .patch_json(
            &format!("/api/v1/servers/{jf}"),
            json!({ "url": elsewhere.base_url(), "config": { "api_key": elsewhere.api_key() } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        elsewhere
            .requests()
            .iter()
            .all(|r| !format!("{:?}", r.headers).contains(home.api_key())),
        "the old secret never reached the new address"
    );

    // An extra host moved to another origin: the same rule.
    let plex = PlexFake::start().await;
    let other = PlexFake::start().await;
    let (status, body) = admin
        .post(
            "/api/v1/servers",
            json!({ "name": "PX", "kind": "plex", "url": plex.pms_url(), "config": { "token": plex.owner_token() },
                    "extra_hosts": { "plex-tv": plex.plex_tv_url(), "clients-plex-tv": plex.plex_tv_url() } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let px = body["id"].as_i64().unwrap();
    let (status, body) = admin
        .patch_json(
            &format!("/api/v1/servers/{px}"),
            json!({ "extra_hosts": { "plex-tv": other.plex_tv_url(), "clients-plex-tv": plex.plex_tv_url() } }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "SECRETS_REQUIRED"),
        "{body}"
    );
    assert_eq!(body["error"]["fields"][0]["field"], "config.token");
    assert!(
        other.requests().is_empty(),
        "nothing was sent to the new host"
    );
}

/// PATCH as an API key.
async fn patch_with_key(
    daemon: &Daemon,
    key: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let resp = client()
        .patch(daemon.at(path))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Issue 17 items 18 and 19: `secrets rotate` and `migrate` refuse while a daemon holds the data
/// folder, a daemon killed with SIGKILL leaves no lock behind, and a rotation killed at any step
/// leaves every sealed value readable (the next start finishes or undoes it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_rotate_refuses_beside_the_daemon_and_survives_being_killed() {
    use zondarr_fakes::jellyfin::JellyfinFake;
    let dir = tempfile::tempdir().unwrap();
    let jellyfin = JellyfinFake::start().await;
    let cli = |args: &[&str], failpoint: Option<&str>| {
        let mut cmd = crate::support::command(dir.path());
        cmd.args(args);
        if let Some(point) = failpoint {
            cmd.env("ZONDARR_FAILPOINT", point);
        }
        cmd.output().unwrap()
    };

    let daemon = Daemon::start(dir.path());
    let mut admin = setup(&daemon).await;
    let (status, body) = admin
        .post("/api/v1/servers", json!({ "name": "JF", "kind": "jellyfin", "url": jellyfin.base_url(), "config": { "api_key": jellyfin.api_key() } }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let jf = body["id"].as_i64().unwrap();
    let (status, body) = admin
        .post(
            "/api/v1/api-keys",
            json!({ "name": "ops", "scope": "admin", "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key = body["key"].as_str().unwrap().to_owned();

    for args in [&["secrets", "rotate"][..], &["migrate"][..]] {
        let out = cli(args, None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} ran beside the daemon");
        assert!(
            err.contains("stop the daemon first") && err.contains("pid "),
            "{args:?}: {err}"
        );
    }
    // A second daemon on the same folder refuses to start too.
    let second = crate::support::command(dir.path())
        .args(["--listen", "127.0.0.1:0", "serve"])
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("stop the daemon first"));
    drop(daemon); // SIGKILL: the kernel releases the lock

    // The credential opens with the key in force, and the fake accepts it only when right.
    let readable = |round: String| {
        let key = key.clone();
        let dir = dir.path().to_owned();
        async move {
            let daemon = Daemon::start(&dir);
            let (status, body) = patch_with_key(
                &daemon,
                &key,
                &format!("/api/v1/servers/{jf}"),
                json!({ "name": format!("JF {round}") }),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "after {round}: {body}");
        }
    };
    for point in [
        "rotate-key-written",
        "rotate-mid-transaction",
        "rotate-committed",
        "rotate-old-key-moved",
    ] {
        let out = cli(&["secrets", "rotate"], Some(point));
        assert!(!out.status.success(), "the failpoint {point} killed it");
        readable(format!("a rotation killed at {point}")).await;
    }
    let out = cli(&["secrets", "rotate"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-encrypted 1 secret"));
    readable("a whole rotation".into()).await;
    let out = cli(&["migrate"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 17 item 19: setup is taken only at the daemon's own address (no DNS rebinding, no
/// other site's page).
#[tokio::test]
async fn setup_is_refused_for_foreign_hosts_and_origins() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let body = json!({ "username": "alice", "password": PASSWORD });
    let authority = daemon.url.trim_start_matches("http://").to_owned();
    for (host, origin) in [
        ("rebind.attacker.example:80", None),
        (authority.as_str(), Some("http://rebind.attacker.example")),
    ] {
        let mut req = client()
            .post(daemon.at("/api/v1/setup"))
            .header("host", host)
            .json(&body);
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let answer: Value = resp.json().await.unwrap();
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::FORBIDDEN, "SETUP_HOST_REFUSED"),
            "{host} {origin:?}"
        );
    }
    // A LAN name works (the daemon's own name on the network, not one anybody can register).
    let port = authority.rsplit_once(':').unwrap().1;
    let resp = client()
        .post(daemon.at("/api/v1/setup"))
        .header("host", format!("nas.local:{port}"))
        .header("origin", format!("http://nas.local:{port}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
}

/// Issue 17 item 19: over http only the plain cookie name counts, and every answer carrying a
/// secret or token is `Cache-Control: no-store`.
#[tokio::test]
async fn cookie_name_follows_the_scheme_and_secrets_are_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let mut admin = setup(&daemon).await;
    let pair = admin.cookie.clone().unwrap();
    let token = pair.split_once('=').unwrap().1.to_owned();
    assert!(pair.starts_with("zondarr_session="), "{pair}");
    let resp = client()
        .get(daemon.at("/api/v1/auth/me"))
        .header("cookie", format!("__Host-zondarr_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "the __Host- name means nothing over http"
    );

    let (_, me) = admin.get("/api/v1/auth/me").await;
    let csrf = me["auth"]["csrf_token"].as_str().unwrap().to_owned();
    let resp = client()
        .post(daemon.at("/api/v1/api-keys"))
        .header("cookie", &pair)
        .header("x-csrf-token", &csrf)
        .json(&json!({ "name": "k", "scope": "read", "current_password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let resp = client()
        .post(daemon.at("/api/v1/auth/login"))
        .json(&json!({ "username": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let resp = client()
        .get(daemon.at("/api/v1/auth/me"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let resp = client()
        .get(daemon.at("/admin/servers"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
}

/// Read an SSE response until it ends; `Ok` when the daemon closed it, `Err` when the client's
/// own timeout (30 s) cut it.
async fn read_until_closed(mut resp: reqwest::Response) -> Result<(), reqwest::Error> {
    while resp.chunk().await?.is_some() {}
    Ok(())
}

/// Issue 17 item 19: the log stream ends when the session or key it was opened with is revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_stream_ends_when_its_credential_is_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let mut admin = setup(&daemon).await;
    let (_, body) = admin
        .post(
            "/api/v1/api-keys",
            json!({ "name": "tail", "scope": "read", "current_password": PASSWORD }),
        )
        .await;
    let key = body["key"].as_str().unwrap().to_owned();
    let key_id = body["id"].as_i64().unwrap();

    let resp = client()
        .get(daemon.at("/api/v1/logs/stream?backfill=0"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let reading = tokio::spawn(read_until_closed(resp));
    let (status, _) = admin
        .delete_json(
            &format!("/api/v1/api-keys/{key_id}"),
            json!({ "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        reading.await.unwrap().is_ok(),
        "the daemon ended the stream of the revoked key"
    );

    // A session's stream ends when the session is signed out.
    let mut other = Browser::new(&daemon);
    let (status, _) = other
        .post(
            "/api/v1/auth/login",
            json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let resp = client()
        .get(daemon.at("/api/v1/logs/stream?backfill=0"))
        .header("cookie", other.cookie.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let reading = tokio::spawn(read_until_closed(resp));
    let (status, _) = other.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        reading.await.unwrap().is_ok(),
        "the daemon ended the stream of the ended session"
    );
}

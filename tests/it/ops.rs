//! Operations through the real daemon: Prometheus metrics after real traffic (an API request, a
//! plugin call against the fake Jellyfin, a redemption) and their token, the live log stream
//! (server-sent events) with its filters and resume, and `zondarr backup` against a running
//! daemon's database.

use crate::support::{Daemon, admin_key, client, command};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use zondarr_fakes::jellyfin::JellyfinFake;

/// Add the fake Jellyfin as a server and create an invitation `code` for it; returns the
/// invitation id.
async fn server_and_invitation(daemon: &Daemon, key: &str, fake: &JellyfinFake, code: &str) -> i64 {
    let http = client();
    let resp = http
        .post(daemon.at("/api/v1/servers"))
        .bearer_auth(key)
        .json(&json!({ "name": "Home", "kind": "jellyfin", "url": fake.base_url(), "config": { "api_key": fake.api_key() } }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let server: Value = resp.json().await.unwrap();
    let resp = http
        .post(daemon.at("/api/v1/invitations"))
        .bearer_auth(key)
        .json(&json!({ "code": code, "servers": [{ "server_id": server["id"] }], "max_uses": 5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let inv: Value = resp.json().await.unwrap();
    inv["id"].as_i64().unwrap()
}

/// The value of the sample `series` (name with labels, exactly as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_plugin_calls_and_redemptions_by_route_template() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let key = admin_key(&daemon).await;
    let fake = JellyfinFake::start().await;
    let code = "Metrics-Invite-42";
    let inv = server_and_invitation(&daemon, &key, &fake, code).await;
    let http = client();

    let resp = http
        .get(daemon.at(&format!("/api/v1/invitations/{inv}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let join = daemon.at(&format!("/api/v1/join/{code}"));
    let resp = http
        .post(&join)
        .json(&json!({ "username": "metric", "password": "short" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = http
        .post(&join)
        .json(&json!({ "username": "metric", "password": "a fine password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = http
        .get(daemon.at(&format!("/no/such/{code}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let resp = http.get(daemon.at("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = resp.text().await.unwrap();

    for (series, expected) in [
        (
            "zondarr_http_requests_total{method=\"GET\",route=\"/api/v1/invitations/{id}\",status=\"200\"}",
            1.0,
        ),
        (
            "zondarr_http_requests_total{method=\"POST\",route=\"/api/v1/join/{code}\",status=\"201\"}",
            1.0,
        ),
        (
            "zondarr_http_requests_total{method=\"POST\",route=\"/api/v1/join/{code}\",status=\"422\"}",
            1.0,
        ),
        (
            "zondarr_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}",
            1.0,
        ),
        (
            "zondarr_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/invitations/{id}\"}",
            1.0,
        ),
        (
            "zondarr_plugin_calls_total{plugin=\"jellyfin\",operation=\"create-user\",outcome=\"ok\"}",
            1.0,
        ),
        (
            "zondarr_plugin_call_duration_seconds_count{plugin=\"jellyfin\",operation=\"create-user\"}",
            1.0,
        ),
        ("zondarr_redemptions_total{outcome=\"completed\"}", 1.0),
        ("zondarr_redemptions_total{outcome=\"refused\"}", 1.0),
        // Every bundled connector.
        (
            "zondarr_plugins_loaded",
            zondarr::plugins::bundled().len() as f64,
        ),
        ("zondarr_build_info{version=\"0.1.0\"}", 1.0),
    ] {
        assert_eq!(sample(&text, series), Some(expected), "{series}\n{text}");
    }
    assert!(
        sample(
            &text,
            "zondarr_plugin_calls_total{plugin=\"jellyfin\",operation=\"test-connection\",outcome=\"ok\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        text.contains(
            "zondarr_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/invitations/{id}\",le=\"+Inf\"} 1\n"
        ),
        "{text}"
    );
    for pool in ["read", "write"] {
        for state in ["idle", "in_use"] {
            let series =
                format!("zondarr_db_pool_connections{{pool=\"{pool}\",state=\"{state}\"}}");
            assert!(sample(&text, &series).is_some(), "{series}\n{text}");
        }
    }
    // Families without samples yet are announced.
    assert!(
        text.contains("# TYPE zondarr_job_runs_total counter\n"),
        "{text}"
    );
    // Raw paths never become labels: no invite code, no id.
    assert!(!text.contains(code), "{text}");
    assert!(!text.contains(&format!("/invitations/{inv}")), "{text}");
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let token = "metrics-token-for-the-tests";
    let daemon = Daemon::start_with(dir.path(), &[], &[("ZONDARR_METRICS_TOKEN", token)]);
    let http = client();
    for auth in [
        None,
        Some("Bearer wrong-token-wrong-token"),
        Some("Basic bWU6eW91"),
    ] {
        let mut req = http.get(daemon.at("/metrics"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert!(resp.headers().contains_key("www-authenticate"));
        assert!(resp.headers().contains_key("x-request-id"));
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "UNAUTHENTICATED", "{body}");
        assert!(!body.to_string().contains(token));
    }
    let resp = http
        .get(daemon.at("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("zondarr_build_info"));
    // The probes stay open.
    let resp = http.get(daemon.at("/health/live")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

/// One server-sent event.
#[derive(Debug)]
struct Sse {
    event: Option<String>,
    id: Option<u64>,
    data: Value,
}

/// Reads a server-sent event stream chunk by chunk.
struct SseReader {
    resp: reqwest::Response,
    buf: String,
}

impl SseReader {
    async fn open(daemon: &Daemon, key: &str, query: &str, last_id: Option<u64>) -> SseReader {
        // No overall timeout: the stream stays open; each read below has its own.
        let http = reqwest::Client::new();
        let mut req = http
            .get(daemon.at(&format!("/api/v1/logs/stream{query}")))
            .bearer_auth(key);
        if let Some(id) = last_id {
            req = req.header("last-event-id", id.to_string());
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        SseReader {
            resp,
            buf: String::new(),
        }
    }

    /// The next event (comments skipped), or `None` after `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut event = Sse {
                    event: None,
                    id: None,
                    data: Value::Null,
                };
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event.event = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("id:") {
                        event.id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                event.data = serde_json::from_str(&data).unwrap();
                return Some(event);
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .ok()?
                .unwrap()?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Events up to and including the first whose message contains `needle`.
    async fn until(&mut self, needle: &str) -> Vec<Sse> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(event) = self.next(left).await else {
                panic!("no event with {needle:?} within 30 s; got {seen:#?}");
            };
            let found = event.data["message"]
                .as_str()
                .is_some_and(|m| m.contains(needle));
            seen.push(event);
            if found {
                return seen;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_stream_delivers_new_events_with_filters_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let key = admin_key(&daemon).await;

    // Without credentials, or with a bad filter, there is no stream.
    let resp = client()
        .get(daemon.at("/api/v1/logs/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    for (query, status) in [
        ("?level=loud", StatusCode::UNPROCESSABLE_ENTITY),
        ("?backfill=-1", StatusCode::BAD_REQUEST),
    ] {
        let resp = client()
            .get(daemon.at(&format!("/api/v1/logs/stream{query}")))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{query}");
    }

    let mut warnings = SseReader::open(&daemon, &key, "?level=warn&backfill=0", None).await;
    // Opening a second stream is an admin action logged at info level.
    let mut infos =
        SseReader::open(&daemon, &key, "?level=info&target=zondarr&backfill=0", None).await;
    let resp = client()
        .post(daemon.at("/api/v1/auth/login"))
        .json(&json!({ "username": "admin", "password": "not-the-password-at-all" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let seen = warnings.until("sign-in failed").await;
    for e in &seen {
        let level = e.data["level"].as_str().unwrap();
        assert!(level == "warn" || level == "error", "{e:?}");
        assert!(e.event.is_none(), "{e:?}");
    }
    let failed = seen.last().unwrap();
    assert_eq!(failed.data["level"], "warn");
    assert_eq!(failed.data["fields"]["username"], "admin");
    assert!(
        failed.data["target"]
            .as_str()
            .unwrap()
            .starts_with("zondarr")
    );
    let time = failed.data["time"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(time).is_ok() && time.ends_with('Z'),
        "{time}"
    );
    let seq = failed.data["seq"].as_u64().unwrap();
    assert_eq!(failed.id, Some(seq));

    // The info stream got the info line the warn stream left out, then the same warning.
    let seen = infos.until("sign-in failed").await;
    assert!(
        seen.iter()
            .any(|e| e.data["message"] == "log stream opened" && e.data["level"] == "info"),
        "{seen:#?}"
    );
    assert_eq!(seen.last().unwrap().data["seq"], seq);

    // Resuming after the event before it starts exactly at it.
    let mut resumed = SseReader::open(&daemon, &key, "?level=warn", Some(seq - 1)).await;
    let first = resumed.next(Duration::from_secs(10)).await.unwrap();
    assert_eq!(first.id, Some(seq), "{first:?}");
    assert_eq!(first.data["message"], failed.data["message"]);

    // Backfill replays recent matching events to a new subscriber.
    let mut replay = SseReader::open(
        &daemon,
        &key,
        // The sign-in rules (and their failure line) live in `auth::sign_in`.
        "?level=warn&target=zondarr::auth&backfill=5",
        None,
    )
    .await;
    let seen = replay.until("sign-in failed").await;
    assert!(seen.len() <= 5, "{seen:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_copies_a_running_daemons_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let daemon = Daemon::start(&data);
    let key = admin_key(&daemon).await;
    let fake = JellyfinFake::start().await;
    server_and_invitation(&daemon, &key, &fake, "Backed-Up-Code").await;

    let dest = dir.path().join("zondarr-backup.db");
    let out = command(&data).arg("backup").arg(&dest).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("backup written to"), "{stdout}");
    assert!(stdout.contains("schema version"), "{stdout}");
    assert!(stdout.contains("secret.key"), "{stdout}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let conn = rusqlite::Connection::open(&dest).unwrap();
    let codes: Vec<String> = conn
        .prepare("SELECT code FROM invitations")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(codes, ["Backed-Up-Code"]);
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);

    // A second backup to the same path is refused unless forced.
    let out = command(&data).arg("backup").arg(&dest).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    let out = command(&data)
        .args(["backup", "--force"])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The daemon kept running throughout.
    let resp = client()
        .get(daemon.at("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

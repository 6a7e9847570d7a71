//! Core-domain benchmark (`cargo bench -p zondarr --bench domain`): prints a table.
//!
//! The daemon's real router, database (a SQLite file), plugin host and bundled Jellyfin
//! connector, served on a loopback port, against the stateful fake Jellyfin:
//! - redemption latency (p50/p99 over `BENCH_REDEMPTIONS`, default 200, sequential);
//! - validation endpoint throughput (`GET /api/v1/join/{code}`, 8 concurrent clients);
//! - the invitee's landing page `GET /j/{code}` against the JSON validation, each under
//!   `wrk -t2 -c32 -d15s` in the same run (`BENCH_WRK_SECS` changes the duration; skipped with
//!   a line saying so when `wrk` is not installed), with the process's memory before and after;
//! - the admin's dashboard page and invitation list page with 1,000 invitations (first page,
//!   a status filter with a search, a late page), signed in with a session, sequential;
//! - user list with 10,000 users (first page, a search, a late page);
//! - the admin's user list page with those users (first page, a filter, the expiring filter,
//!   a search, a late page) and the HTML size of one page of 50 users;
//! - user sync of a server with 10,000 accounts (first import, then a sync with no change);
//!
//! A join against servers of growing size is the perf bench's `join` section
//! (`cargo bench -p zondarr --bench perf -- --only join`).

// A benchmark is a test tool: a failed setup step should stop it loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zondarr::config::{Config, Overrides};
use zondarr::db::Db;
use zondarr::state::AppState;
use zondarr_fakes::jellyfin::JellyfinFake;

#[path = "perf/wrk.rs"]
mod wrk;
use wrk::wrk;

fn env_num(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

struct Daemon {
    url: String,
    key: String,
    /// The admin's session cookie (from setup), for the admin pages.
    cookie: String,
    http: reqwest::Client,
}

impl Daemon {
    async fn start(dir: &std::path::Path) -> Daemon {
        let env = [
            (
                "ZONDARR_SECURITY_JOIN_PER_IP_PER_MINUTE".to_owned(),
                "10000".to_owned(),
            ),
            // 200 sequential redemptions from one address.
            (
                "ZONDARR_SECURITY_JOIN_REDEEM_PER_IP_PER_MINUTE".to_owned(),
                "10000".to_owned(),
            ),
            ("ZONDARR_LOG".to_owned(), "warn".to_owned()),
            // The user sync row lists 10,000 Jellyfin accounts, a body of about 20 MB: more
            // than the default response cap (16 MiB).
            (
                "ZONDARR_PLUGINS_MAX_RESPONSE_BYTES".to_owned(),
                "67108864".to_owned(),
            ),
            ("ZONDARR_PLUGINS_MEMORY_MIB".to_owned(), "256".to_owned()),
            // wrk spreads its requests over 1,000 client addresses (X-Forwarded-For) so the
            // per-address join limit measures nothing but itself.
            (
                "ZONDARR_HTTP_TRUST_FORWARDED_FOR".to_owned(),
                "true".to_owned(),
            ),
        ];
        let config = Config::load_from(
            &Overrides {
                data_dir: Some(dir.to_owned()),
                listen: Some("127.0.0.1:0".into()),
                ..Default::default()
            },
            &env,
        )
        .unwrap();
        let (db, key) = zondarr::open_storage(&config).unwrap();
        let security = Arc::new(
            zondarr::auth::Security::new(&config, key.expose(), &db)
                .await
                .unwrap(),
        );
        let plugins = zondarr::plugins::PluginHost::start(
            &config.plugins,
            dir.join("plugin-cache"),
            "bench".into(),
            Vec::new(),
        )
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = zondarr::http::app(AppState::new(config, db, plugins, security));
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap();
        });
        let http = reqwest::Client::new();
        let resp = http
            .post(format!("{url}/api/v1/setup"))
            .json(&json!({ "username": "admin", "password": "bench-password-long-enough" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let cookie = resp.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let me: Value = http
            .get(format!("{url}/api/v1/auth/me"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let key: Value = http
            .post(format!("{url}/api/v1/api-keys"))
            .header("cookie", &cookie)
            .header("x-csrf-token", me["auth"]["csrf_token"].as_str().unwrap())
            .json(&json!({ "name": "bench", "scope": "admin", "current_password": "bench-password-long-enough" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Daemon {
            url,
            key: key["key"].as_str().unwrap().to_owned(),
            cookie,
            http,
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}/api/v1{path}", self.url))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }
}

/// Resident memory of this process, KiB (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(tmp.path()).await;
    let fake = JellyfinFake::start().await;
    let server = daemon.post("/servers", json!({ "name": "Bench", "kind": "jellyfin", "url": fake.base_url(), "config": { "api_key": fake.api_key() } })).await;
    let server_id = server["id"].as_i64().unwrap();
    daemon.post("/invitations", json!({ "code": "bench", "servers": [{ "server_id": server_id, "permissions": { "allow_downloads": false } }] })).await;
    let mut rows: Vec<(String, String, String)> = Vec::new();

    // Redemption latency.
    let n = env_num("BENCH_REDEMPTIONS", 200);
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        let resp = daemon
            .http
            .post(format!("{}/api/v1/join/bench", daemon.url))
            .json(&json!({ "username": format!("bench{i}"), "password": "bench password" }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            201,
            "{}",
            resp.text().await.unwrap_or_default()
        );
        samples.push(started.elapsed());
    }
    samples.sort();
    rows.push((
        format!("redemption, 1 Jellyfin server ({n} sequential)"),
        format!("p50 {}", ms(pct(&samples, 0.5))),
        format!("p99 {}", ms(pct(&samples, 0.99))),
    ));

    // Validation throughput.
    let total = env_num("BENCH_VALIDATIONS", 4000);
    let clients = 8;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, url) = (
            daemon.http.clone(),
            format!("{}/api/v1/join/bench", daemon.url),
        );
        tasks.push(tokio::spawn(async move {
            for _ in 0..total / clients {
                let resp = http.get(&url).send().await.unwrap();
                assert_eq!(resp.status(), 200);
                resp.bytes().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();
    rows.push((
        format!("validation GET /join/{{code}} ({total} requests, {clients} clients)"),
        format!("{:.0} req/s", total as f64 / elapsed.as_secs_f64()),
        format!("mean {}", ms(elapsed * clients as u32 / total as u32)),
    ));

    // The landing page against the JSON validation, under wrk.
    let secs = env_num("BENCH_WRK_SECS", 15);
    let rss_before = rss_kib();
    let mut visits = 0u64;
    for (label, path) in [
        (
            "JSON validation GET /api/v1/join/{code}",
            "/api/v1/join/bench",
        ),
        ("landing page GET /j/{code}", "/j/bench"),
    ] {
        match wrk(&format!("{}{path}", daemon.url), secs as u64) {
            Some(w) => {
                visits += w.requests;
                rows.push((
                    format!("{label} (wrk -t2 -c32 -d{secs}s, {} requests)", w.requests),
                    format!("{:.0} req/s", w.per_sec),
                    format!("p99 {}", ms(w.p99)),
                ));
            }
            None => {
                rows.push((
                    format!("{label}: wrk not installed (apt-get install wrk)"),
                    "-".into(),
                    "-".into(),
                ));
            }
        }
    }
    if visits > 0 {
        rows.push((
            format!("process memory before / after {visits} requests"),
            format!("{} MiB", rss_before / 1024),
            format!("{} MiB", rss_kib() / 1024),
        ));
    }

    // The admin pages with 1,000 invitations (one exists already).
    for i in 1..1000 {
        let mut body =
            json!({ "servers": [{ "server_id": server_id }], "note": format!("bench {i}") });
        if i % 3 == 0 {
            body["max_uses"] = json!(1 + i % 7);
        }
        if i % 5 == 0 {
            body["enabled"] = json!(false);
        }
        daemon.post("/invitations", body).await;
    }
    let pages = env_num("BENCH_ADMIN_PAGES", 300);
    for (label, path) in [
        ("admin dashboard GET /admin", "/admin"),
        (
            "admin invitation list, first page (1,000 invitations)",
            "/admin/invitations",
        ),
        (
            "admin invitation list, status filter + search",
            "/admin/invitations?status=active&search=A&sort=code",
        ),
        (
            "admin invitation list, page 30",
            "/admin/invitations?page=30",
        ),
    ] {
        let mut samples = Vec::with_capacity(pages);
        for _ in 0..pages {
            let started = Instant::now();
            let resp = daemon
                .http
                .get(format!("{}{path}", daemon.url))
                .header("cookie", &daemon.cookie)
                .header("accept", "text/html")
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{path}");
            let body = resp.text().await.unwrap();
            assert!(body.contains("Sign out"), "{path}: signed in");
            samples.push(started.elapsed());
        }
        samples.sort();
        rows.push((
            format!("{label} ({pages} sequential)"),
            format!("p50 {}", ms(pct(&samples, 0.5))),
            format!("p99 {}", ms(pct(&samples, 0.99))),
        ));
    }

    // User list with 10,000 users (inserted directly: the list is what is measured).
    let db = Db::open(&tmp.path().join("zondarr.db"), 2, Duration::from_secs(5)).unwrap();
    db.write(move |tx| {
        let now = zondarr::db::time::now();
        let mut stmt = tx.prepare(
            "INSERT INTO users (server_id, external_id, username, email, enabled, source, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 1, 'sync', ?5, ?5)",
        )?;
        for i in 0..10_000 {
            stmt.execute(rusqlite::params![server_id, format!("ext{i}"), format!("member{i:05}"), format!("m{i}@example.org"), now])?;
        }
        Ok(())
    })
    .await
    .unwrap();
    for (label, query) in [
        (
            "user list, 10,000 users, first page of 100",
            "/users?per_page=100",
        ),
        (
            "user list, 10,000 users, search",
            "/users?search=member0999&per_page=100",
        ),
        (
            "user list, 10,000 users, page 80 sorted by creation",
            "/users?per_page=100&page=80&sort=created_at",
        ),
    ] {
        let mut samples = Vec::new();
        for _ in 0..50 {
            let started = Instant::now();
            let resp = daemon
                .http
                .get(format!("{}/api/v1{query}", daemon.url))
                .bearer_auth(&daemon.key)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let body: Value = resp.json().await.unwrap();
            assert!(body["total"].as_i64().unwrap() >= 1);
            samples.push(started.elapsed());
        }
        samples.sort();
        rows.push((
            label.to_owned(),
            format!("p50 {}", ms(pct(&samples, 0.5))),
            format!("p99 {}", ms(pct(&samples, 0.99))),
        ));
    }

    // The admin's user list page with those 10,000 users (plus the redeemed ones), signed in
    // with the session, through the real router: every fifth disabled, every seventh expiring
    // within three days, so the filters have something to find.
    db.write(move |tx| {
        let soon = zondarr::db::time::fmt(chrono::Utc::now() + chrono::Duration::days(3));
        tx.execute("UPDATE users SET enabled = 0 WHERE id % 5 = 0", [])?;
        tx.execute("UPDATE users SET expires_at = ?1 WHERE id % 7 = 0", [soon])?;
        Ok(())
    })
    .await
    .unwrap();
    let mut page_bytes = 0;
    for (label, path) in [
        (
            "admin user list, 10,000 users: first page (50 rows)",
            "/admin/users".to_owned(),
        ),
        (
            "admin user list, 10,000 users: one server, disabled, page 20",
            format!("/admin/users?server={server_id}&status=disabled&page=20"),
        ),
        (
            "admin user list, 10,000 users: expiring within 7 days, by expiry",
            "/admin/users?expiry=expiring&sort=expires_at".to_owned(),
        ),
        (
            "admin user list, 10,000 users: search",
            "/admin/users?search=member0999".to_owned(),
        ),
        (
            "admin user list, 10,000 users: page 200, newest first",
            "/admin/users?page=200&sort=created_at&order=desc".to_owned(),
        ),
    ] {
        let mut samples = Vec::with_capacity(pages);
        for _ in 0..pages {
            let started = Instant::now();
            let resp = daemon
                .http
                .get(format!("{}{path}", daemon.url))
                .header("cookie", &daemon.cookie)
                .header("accept", "text/html")
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{path}");
            let body = resp.text().await.unwrap();
            samples.push(started.elapsed());
            assert!(body.contains("id=\"users\""), "{path}: a list of users");
            if path == "/admin/users" {
                assert_eq!(body.matches("name=\"user\"").count(), 50, "50 rows");
                page_bytes = body.len();
            }
        }
        samples.sort();
        rows.push((
            format!("{label} ({pages} sequential)"),
            format!("p50 {}", ms(pct(&samples, 0.5))),
            format!("p99 {}", ms(pct(&samples, 0.99))),
        ));
    }
    assert!(
        page_bytes < 100 * 1024,
        "one page of 50 users is {page_bytes} bytes"
    );
    rows.push((
        "admin user list: HTML of one page of 50 users".to_owned(),
        format!("{page_bytes} B"),
        format!("{:.1} KiB", page_bytes as f64 / 1024.0),
    ));

    // User sync against a server with 10,000 accounts: the first sync imports them all, a
    // second finds nothing to change (the plugin's list call is most of it).
    let big = JellyfinFake::start().await;
    big.seed_users(10_000);
    let big_server = daemon.post("/servers", json!({ "name": "Big", "kind": "jellyfin", "url": big.base_url(), "config": { "api_key": big.api_key() } })).await;
    let big_id = big_server["id"].as_i64().unwrap();
    let started = Instant::now();
    let report = daemon
        .post(
            &format!("/servers/{big_id}/sync"),
            json!({ "what": "users" }),
        )
        .await;
    let first = started.elapsed();
    assert_eq!(report["users"]["counts"]["imported"], 10_001, "{report}");
    let mut samples = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let report = daemon
            .post(
                &format!("/servers/{big_id}/sync"),
                json!({ "what": "users" }),
            )
            .await;
        assert_eq!(report["users"]["counts"]["unchanged"], 10_001, "{report}");
        samples.push(started.elapsed());
    }
    samples.sort();
    rows.push((
        "user sync, 10,000 remote accounts: first (imports all) / again (no change, median of 5)"
            .to_owned(),
        ms(first),
        ms(pct(&samples, 0.5)),
    ));

    print_rows(rows);
}

fn print_rows(rows: Vec<(String, String, String)>) {
    let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(10);
    println!("\n{:w$}  {:>16}  {:>16}", "measurement", "", "");
    println!("{}", "-".repeat(w + 36));
    for (a, b, c) in rows {
        println!("{a:w$}  {b:>16}  {c:>16}");
    }
}

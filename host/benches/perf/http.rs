//! HTTP figures of issue 22, against the real `zondarr` binary (the one cargo built beside this
//! bench, started as the integration tests start it) on loopback:
//! - the invitee's first request `GET /api/v1/join/{code}` under `wrk -t2 -c32` next to a bare
//!   axum "hello" handler served by this process in the same run (the ratio's denominator);
//! - the crowd behind a reverse proxy: 1,000 clients (distinct `X-Forwarded-For` from the
//!   trusted loopback proxy) each opening the join page `/j/{code}` as often as the default
//!   per-client rate allows, and one client beyond it;
//! - the admin user list over HTTP (`GET /api/v1/users` and the `/admin/users` page) with
//!   10,000 and 100,000 users: first, middle and last page and a filter with a search.
//!
//! wrk is a separate program (Debian package `wrk`, installed by `.ci/run`); without it the
//! first-request rows say so and are not measured.

use super::table::{Table, ms, p50_p99};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use zondarr_fakes::jellyfin::JellyfinFake;

use super::support;
use super::wrk::{Wrk, wrk};

use support::Daemon;

/// The default `security.join_per_ip_per_minute` (README's configuration table).
const JOIN_RATE: usize = 30;
/// The crowd.
const CLIENTS: usize = 1000;

pub fn run(t: &mut Table, short: bool) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let daemon = Daemon::start_with(
            dir.path(),
            &[],
            &[("ZONDARR_HTTP_TRUSTED_PROXIES", "127.0.0.1")],
        );
        let key = support::admin_key(&daemon).await;
        let fake = JellyfinFake::start().await;
        let http = support::client();
        let post = |path: &str, body: Value| {
            let req = http
                .post(daemon.at(&format!("/api/v1{path}")))
                .bearer_auth(&key)
                .json(&body);
            async move {
                let resp = req.send().await.unwrap();
                assert!(resp.status().is_success(), "{}", resp.status());
                resp.json::<Value>().await.unwrap()
            }
        };
        let server = post("/servers", json!({ "name": "Bench", "kind": "jellyfin", "url": fake.base_url(), "config": { "api_key": fake.api_key() } })).await;
        post(
            "/invitations",
            json!({ "code": "bench", "servers": [{ "server_id": server["id"] }] }),
        )
        .await;
        let set_join_rate = |n: usize| {
            let req = http
                .patch(daemon.at("/api/v1/settings"))
                .bearer_auth(&key)
                .json(&json!({ "security.join_per_ip_per_minute": n }));
            async move {
                let resp = req.send().await.unwrap();
                assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
            }
        };
        // wrk's 1,000 client addresses at the highest rate the setting allows: room for far
        // more than this machine can send, so the limit measures nothing but its own cost.
        set_join_rate(10_000).await;
        first_request(t, short, &daemon).await;
        set_join_rate(JOIN_RATE).await;
        crowd(t, short, &daemon).await;
        drop(daemon);
        let sizes: &[usize] = if short { &[10_000] } else { &[10_000, 100_000] };
        for &n in sizes {
            user_list(t, short, n).await;
        }
    });
}

/// A bare axum "hello" on a loopback port of this process: the physical limit for an HTTP
/// answer here.
async fn bare_axum() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// The invitee's first request against bare axum. The daemon runs under wrk for `secs`; bare
/// axum for half of that just before and half just after, and its throughput is the two halves'
/// requests over their time. So a machine that slows down or speeds up during the run (CPU
/// steal comes and goes here) weighs on the ratio's two sides alike, rather than on whichever
/// ran first.
async fn first_request(t: &mut Table, short: bool, daemon: &Daemon) {
    let url = daemon.at("/api/v1/join/bench");
    let resp = support::client().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let bare = bare_axum().await;
    let secs: u64 = if short { 3 } else { 15 };
    let half = secs.div_ceil(2);
    let (Some(before), Some(join), Some(after)) = (
        tokio::task::block_in_place(|| wrk(&bare, half)),
        tokio::task::block_in_place(|| wrk(&url, secs)),
        tokio::task::block_in_place(|| wrk(&bare, half)),
    ) else {
        eprintln!("wrk is not installed (Debian: apt-get install wrk): first request not measured");
        t.info(
            "invitee's first request: wrk not installed (apt-get install wrk), not measured",
            "-",
        );
        return;
    };
    let base = pooled(&before, &after);
    t.info(
        format!("bare axum \"hello\" (wrk -t2 -c32 -d{half}s before and after the daemon's run)"),
        format!(
            "{:.0} req/s ({:.0} before, {:.0} after), p99 {} / {}",
            base,
            before.per_sec,
            after.per_sec,
            ms(before.p99),
            ms(after.p99)
        ),
    );
    let share = join.per_sec / base;
    t.goal(
        format!(
            "invitee's first request GET /api/v1/join/{{code}} (wrk -t2 -c32 -d{secs}s, {} requests)",
            join.requests
        ),
        format!(
            "{:.0} req/s ({:.0} % of bare axum), p99 {}",
            join.per_sec,
            share * 100.0,
            ms(join.p99)
        ),
        "≥ 50 % of bare axum, p99 ≤ 3 ms",
        share >= 0.5 && join.p99 <= Duration::from_millis(3),
    );
    t.ratio(
        "invitee's first request: bare axum's throughput over the join check's",
        1.0 / share.max(1e-9),
    );
}

/// The throughput of two wrk runs taken as one: their requests over their time.
fn pooled(a: &Wrk, b: &Wrk) -> f64 {
    let time = a.requests as f64 / a.per_sec + b.requests as f64 / b.per_sec;
    (a.requests + b.requests) as f64 / time
}

/// One visit of the join page as the client `ip` behind the trusted proxy; whether it was
/// refused (429) rather than shown (200).
async fn visit(http: &reqwest::Client, url: &str, ip: &str) -> bool {
    let resp = http
        .get(url)
        .header("x-forwarded-for", ip)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    resp.bytes().await.unwrap();
    assert!(status == 200 || status == 429, "join page: {status}");
    status == 429
}

/// The address of crowd member `i` (a documentation range, 1,000 distinct addresses).
fn member(i: usize) -> String {
    format!("198.18.{}.{}", i / 250, i % 250 + 1)
}

/// 1,000 clients behind the trusted proxy, each opening the join page as often as the default
/// rate allows (all of them interleaved, 32 at a time), then one client beyond its rate.
async fn crowd(t: &mut Table, short: bool, daemon: &Daemon) {
    let each = if short { 10 } else { JOIN_RATE };
    let total = CLIENTS * each;
    let url = Arc::new(daemon.at("/j/bench"));
    let http = support::client();
    let next = Arc::new(AtomicUsize::new(0));
    let refused_by: Arc<Vec<AtomicUsize>> =
        Arc::new((0..CLIENTS).map(|_| AtomicUsize::new(0)).collect());
    let started = Instant::now();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (http, url, next, refused_by) =
                (http.clone(), url.clone(), next.clone(), refused_by.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return;
                    }
                    if visit(&http, &url, &member(i % CLIENTS)).await {
                        refused_by[i % CLIENTS].fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let refused = refused_by
        .iter()
        .filter(|n| n.load(Ordering::Relaxed) > 0)
        .count();
    t.goal(
        format!(
            "crowd behind a trusted proxy: {CLIENTS} clients × {each} join-page visits (rate {JOIN_RATE}/min per client)"
        ),
        format!(
            "{refused} of {CLIENTS} clients refused ({total} visits, {:.0} visits/s)",
            total as f64 / elapsed.as_secs_f64()
        ),
        "0 refused",
        refused == 0,
    );
    // One more client, at twice its rate in a row: to see no refusal it would have to take a
    // minute.
    let mut over = 0;
    for _ in 0..2 * JOIN_RATE {
        if visit(&http, &url, "198.19.0.1").await {
            over += 1;
        }
    }
    t.goal(
        format!(
            "one client behind the proxy at twice its rate ({} visits in a row)",
            2 * JOIN_RATE
        ),
        format!("{over} refused"),
        "refused beyond its rate",
        over > 0,
    );
}

/// p50/p99 of `n` sequential GETs of `url` (with `headers`), checking each answer with `check`;
/// also the last body's size. The first `n / 20` GETs (at least 5) are not timed: they warm the
/// daemon's statement cache and SQLite's page cache for this query, so the p99 is the steady
/// state's and not the cost of the first visit (the second-worst of 200 samples would be).
async fn sample(
    http: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
    n: usize,
    check: impl Fn(&str) -> bool,
) -> (Duration, Duration, usize) {
    let mut samples = Vec::with_capacity(n);
    let mut size = 0;
    let warm = (n / 20).max(5);
    for i in 0..warm + n {
        let mut req = http.get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let started = Instant::now();
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let body = resp.text().await.unwrap();
        if i >= warm {
            samples.push(started.elapsed());
        }
        assert!(status == 200 && check(&body), "{url}: {status} {body:.300}");
        size = body.len();
    }
    let (p50, p99) = p50_p99(samples);
    (p50, p99, size)
}

/// The admin user list over HTTP with `n` users (seeded into the database file before the
/// daemon starts, as `users.rs` seeds them).
async fn user_list(t: &mut Table, short: bool, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path(), n);
    let daemon = Daemon::start(dir.path());
    let key = support::admin_key(&daemon).await;
    let (cookie, _) = support::admin_session(&daemon).await;
    let http = support::client();
    let calls = if short { 50 } else { 500 };
    let (base, _, _) = sample(&http, &daemon.at("/health/live"), &[], calls * 2, |_| true).await;
    t.info(
        format!("baseline, {n} users: GET /health/live (same client)"),
        format!("p50 {}", ms(base)),
    );
    let pages = n / 50;
    let cases = [
        ("first page", "page=1".to_owned(), "page=1".to_owned()),
        (
            "middle page",
            format!("page={}", pages / 2),
            format!("page={}", pages / 2),
        ),
        (
            "last page",
            format!("page={pages}"),
            format!("page={pages}"),
        ),
        (
            "one server, enabled, search",
            "server_id=2&enabled=true&search=member12".to_owned(),
            "server=2&status=enabled&search=member12".to_owned(),
        ),
    ];
    let bearer = format!("Bearer {key}");
    for (label, api, page) in &cases {
        let (p50, p99, _) = sample(
            &http,
            &daemon.at(&format!("/api/v1/users?{api}")),
            &[("authorization", &bearer)],
            calls,
            |b| {
                serde_json::from_str::<Value>(b)
                    .is_ok_and(|v| v["items"].as_array().is_some_and(|i| !i.is_empty()))
            },
        )
        .await;
        let figure = format!("GET /api/v1/users, {n} users: {label}");
        t.ratio(figure.clone(), p50.as_secs_f64() / base.as_secs_f64());
        t.goal(
            figure,
            format!("p50 {}, p99 {}", ms(p50), ms(p99)),
            "p99 ≤ 5 ms",
            p99 <= Duration::from_millis(5),
        );
        let (p50, p99, size) = sample(
            &http,
            &daemon.at(&format!("/admin/users?{page}")),
            &[("cookie", &cookie), ("accept", "text/html")],
            calls,
            |b| b.contains("name=\"user\""),
        )
        .await;
        let figure = format!("page /admin/users, {n} users: {label}");
        t.ratio(figure.clone(), p50.as_secs_f64() / base.as_secs_f64());
        t.goal(
            figure,
            format!(
                "p50 {}, p99 {}, {:.1} KB",
                ms(p50),
                ms(p99),
                size as f64 / 1000.0
            ),
            "p99 < 20 ms, < 100 KB",
            p99 < Duration::from_millis(20) && size < 100 * 1024,
        );
    }
}

/// A database file with every migration and `n` users on two servers.
pub fn seed(dir: &Path, n: usize) {
    let mut c = rusqlite::Connection::open(dir.join("zondarr.db")).unwrap();
    c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")
        .unwrap();
    zondarr::db::migrate(&mut c).unwrap();
    super::users::seed(&c, n);
}

//! Start-up and memory figures of issue 22, on the real `zondarr` binary (started as the
//! integration tests start it):
//! - the cold first start: an empty data folder and an empty compiled-code cache, from the
//!   process's spawn to its "listening" line (migrations, the key, every bundled connector
//!   compiled and described; the daemon listens only after that), then the second start on the
//!   same folder (the code from the cache);
//! - resident memory (`VmRSS`): idle after start, idle with one server configured after setup
//!   and five sign-ins (Argon2id's 19 MiB working memory must not stay), and after 10,000 users
//!   and 300,000 validations of an invitation code (`GET /api/v1/join/{code}` under wrk; 30,000
//!   with `--short`). Each with its anonymous part (`RssAnon`: heap, stacks, the plugins'
//!   compiled code), the daemon's own memory; the rest are pages of the executable and libraries.
//!   Idle means after the daemon's idle give-back (`memory::watch_idle`), which unmaps the code
//!   pages requests mapped back in; the row before it shows them half a second after the
//!   requests, and the row after it what the next request pays to map them back.

use super::table::Table;
use serde_json::json;
use std::time::{Duration, Instant};
use zondarr_fakes::jellyfin::JellyfinFake;

use super::support;
use support::Daemon;

const MIB: f64 = 1024.0;

pub fn run(t: &mut Table, short: bool) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cache = tempfile::tempdir().unwrap();
        let cache_env = [("ZONDARR_PLUGINS_CACHE_DIR", cache.path().to_str().unwrap())];
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let daemon = Daemon::start_with(dir.path(), &[], &cache_env);
        let cold = started.elapsed();
        daemon.terminate();
        let started = Instant::now();
        let daemon = Daemon::start_with(dir.path(), &[], &cache_env);
        let warm = started.elapsed();
        t.goal(
            "cold first start (empty data folder and code cache; every bundled connector)",
            format!("{:.0} ms", cold.as_secs_f64() * 1000.0),
            "≤ 100 ms",
            cold <= Duration::from_millis(100),
        );
        t.info(
            "second start (the same folder; compiled code from the cache)",
            format!("{:.0} ms", warm.as_secs_f64() * 1000.0),
        );
        t.ratio(
            "cold first start over the second start",
            cold.as_secs_f64() / warm.as_secs_f64(),
        );

        go_idle().await;
        let idle = daemon.rss_kib() as f64 / MIB;
        let idle_anon = anon_mib(&daemon);
        t.info(
            "resident memory after start, idle",
            format!("{idle:.1} MiB ({idle_anon:.1} MiB anonymous)"),
        );
        let key = support::admin_key(&daemon).await;
        let fake = JellyfinFake::start().await;
        let http = support::client();
        add_server(&daemon, &key, &fake).await;
        for _ in 0..5 {
            support::admin_session(&daemon).await;
        }
        settle().await;
        t.info(
            "resident memory half a second after the sign-ins (the code they ran mapped in)",
            format!(
                "{:.1} MiB ({:.1} MiB anonymous)",
                daemon.rss_kib() as f64 / MIB,
                anon_mib(&daemon)
            ),
        );
        go_idle().await;
        let signed_in = daemon.rss_kib() as f64 / MIB;
        let signed_in_anon = anon_mib(&daemon);
        // What the idle give-back costs the next request: the code it runs maps back in.
        let cold = admin_request(&daemon, &key).await;
        let warm = admin_request(&daemon, &key).await;
        t.info(
            "  the next admin request (user list) after that, and the one after it",
            format!(
                "{:.2} ms, then {:.2} ms",
                cold.as_secs_f64() * 1000.0,
                warm.as_secs_f64() * 1000.0
            ),
        );
        t.goal(
            "resident memory, idle, one server configured, after setup and 5 sign-ins",
            format!("{signed_in:.1} MiB ({signed_in_anon:.1} MiB anonymous)"),
            "≤ 20 MiB",
            signed_in <= 20.0,
        );
        // The daemon's own memory: what a password hash (19 MiB of Argon2 memory each) or a
        // request leaves behind. The executable's pages the requests ran are mapped back in
        // (see `memory.rs`) and are in the row above, not here.
        t.goal(
            "  anonymous growth from idle after start (setup, 5 sign-ins, one server)",
            format!("{:+.1} MiB", signed_in_anon - idle_anon),
            "≤ +2 MiB (idle stays idle)",
            signed_in_anon - idle_anon <= 2.0,
        );
        t.ratio(
            "anonymous memory after sign-ins over idle after start",
            signed_in_anon / idle_anon,
        );
        drop(daemon);

        // 10,000 users, then validations of one invitation code.
        let dir = tempfile::tempdir().unwrap();
        super::http::seed(dir.path(), 10_000);
        let daemon = Daemon::start_with(
            dir.path(),
            &[],
            &[
                cache_env[0],
                ("ZONDARR_HTTP_TRUSTED_PROXIES", "127.0.0.1"),
                ("ZONDARR_SECURITY_JOIN_PER_IP_PER_MINUTE", "10000"),
            ],
        );
        let key = support::admin_key(&daemon).await;
        let server = add_server(&daemon, &key, &fake).await;
        let resp = http
            .post(daemon.at("/api/v1/invitations"))
            .bearer_auth(&key)
            .json(&json!({ "code": "bench", "servers": [{ "server_id": server["id"] }] }))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        settle().await;
        let before = daemon.rss_kib() as f64 / MIB;
        let target: u64 = if short { 30_000 } else { 300_000 };
        let url = daemon.at("/api/v1/join/bench");
        let mut validations = 0;
        while validations < target {
            let Some(w) = tokio::task::block_in_place(|| super::wrk::wrk(&url, 3)) else {
                eprintln!(
                    "wrk is not installed (Debian: apt-get install wrk): validations not measured"
                );
                t.info(
                    "memory after validations: wrk not installed, not measured",
                    "-",
                );
                return;
            };
            validations += w.requests;
        }
        go_idle().await;
        let after = daemon.rss_kib() as f64 / MIB;
        let after_anon = anon_mib(&daemon);
        t.goal(
            format!("resident memory after 10000 users and {validations} validations"),
            format!(
                "{after:.1} MiB ({after_anon:.1} MiB anonymous; {before:.1} MiB before the validations)"
            ),
            "≤ 40 MiB",
            after <= 40.0,
        );
        t.ratio(
            "anonymous memory after 10000 users and the validations over idle after start",
            after_anon / idle_anon,
        );
    });
}

/// Add the fake Jellyfin as a server; its JSON.
async fn add_server(daemon: &Daemon, key: &str, fake: &JellyfinFake) -> serde_json::Value {
    let resp = support::client()
        .post(daemon.at("/api/v1/servers"))
        .bearer_auth(key)
        .json(&json!({ "name": "Bench", "kind": "jellyfin", "url": fake.base_url(), "config": { "api_key": fake.api_key() } }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.json().await.unwrap()
}

/// Let the daemon finish what a request started (a session write, a log line) before reading
/// its memory.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// Wait until the daemon has been idle long enough to give memory back (it does so between one
/// and two `memory::IDLE_AFTER` of 2 s after its last answered request).
async fn go_idle() {
    tokio::time::sleep(Duration::from_millis(5_000)).await;
}

/// The time of one `GET /api/v1/users` with an API key.
async fn admin_request(daemon: &Daemon, key: &str) -> Duration {
    let http = support::client();
    let started = Instant::now();
    let resp = http
        .get(daemon.at("/api/v1/users"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.bytes().await.unwrap();
    started.elapsed()
}

/// The daemon's anonymous resident memory (`RssAnon`), MiB.
fn anon_mib(daemon: &Daemon) -> f64 {
    daemon.rss_anon_kib() as f64 / MIB
}

//! A join against media servers of growing size (issue 22): the real `zondarr` binary with its
//! bundled Jellyfin connector, on loopback, against the stateful fake Jellyfin seeded with 0,
//! 1,000 and 10,000 accounts (`short`: 0 and 10,000). Sequential joins, each a new account; the
//! latency (p50/p99) and what the fake sent per join (bytes and requests, from its records).
//!
//! The cost must not grow with the server: the ratio for the regression check is the p50 at the
//! largest size over the p50 at 0 accounts in the same run, and the bytes likewise.

use super::table::{Table, ms, p50_p99};
use serde_json::{Value, json};
use std::time::Instant;
use zondarr_fakes::jellyfin::JellyfinFake;

use super::support;

pub fn run(t: &mut Table, short: bool) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(joins(t, short));
}

async fn joins(t: &mut Table, short: bool) {
    let dir = tempfile::tempdir().unwrap();
    // Every join comes from this one address: lift its redemption budget (default 10 a minute).
    let daemon = support::Daemon::start_with(
        dir.path(),
        &[],
        &[
            ("ZONDARR_SECURITY_JOIN_REDEEM_PER_IP_PER_MINUTE", "10000"),
            ("ZONDARR_SECURITY_JOIN_PER_IP_PER_MINUTE", "10000"),
            ("ZONDARR_LOG", "warn"),
        ],
    );
    let key = support::admin_key(&daemon).await;
    let http = support::client();
    let post = |path: String, body: Value| {
        let req = http.post(daemon.at(&path)).bearer_auth(&key).json(&body);
        async move {
            let resp = req.send().await.unwrap();
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            resp.json::<Value>().await.unwrap()
        }
    };
    let sizes: &[usize] = if short {
        &[0, 10_000]
    } else {
        &[0, 1_000, 10_000]
    };
    let joins = if short { 30 } else { 100 };
    let mut at_zero = None;
    for &accounts in sizes {
        let fake = JellyfinFake::start().await;
        fake.seed_users(accounts);
        let server = post(
            "/api/v1/servers".into(),
            json!({ "name": format!("Sized {accounts}"), "kind": "jellyfin", "url": fake.base_url(), "config": { "api_key": fake.api_key() } }),
        )
        .await;
        let code = format!("sized{accounts}");
        post(
            "/api/v1/invitations".into(),
            json!({ "code": code, "servers": [{ "server_id": server["id"] }] }),
        )
        .await;
        // One join before measuring (connections, the plugin's first instance).
        let join = |i: usize| {
            let req = http
                .post(daemon.at(&format!("/api/v1/join/{code}")))
                .json(&json!({ "username": format!("joiner{i}"), "password": "bench password" }));
            async move {
                let resp = req.send().await.unwrap();
                let status = resp.status();
                assert_eq!(status, 201, "{}", resp.text().await.unwrap_or_default());
            }
        };
        join(0).await;
        fake.clear_requests();
        let mut samples = Vec::with_capacity(joins);
        for i in 1..=joins {
            let started = Instant::now();
            join(i).await;
            samples.push(started.elapsed());
        }
        let requests = fake.requests();
        let bytes: usize = requests
            .iter()
            .filter_map(|r| r.response.as_ref().map(|a| a.size))
            .sum();
        let per_join = bytes as f64 / joins as f64;
        let (p50, p99) = p50_p99(samples);
        t.goal(
            format!("join, Jellyfin with {accounts} accounts ({joins} sequential)"),
            format!("p50 {}, p99 {}", ms(p50), ms(p99)),
            "p50 ≤ 3 ms",
            p50.as_secs_f64() <= 0.003,
        );
        let (base_p50, base_bytes) = *at_zero.get_or_insert((p50, per_join));
        t.goal(
            format!("join, Jellyfin with {accounts} accounts: from the server per join"),
            format!(
                "{:.1} KB in {:.1} requests",
                per_join / 1000.0,
                requests.len() as f64 / joins as f64
            ),
            "the same as at 0 accounts",
            per_join <= base_bytes * 1.1,
        );
        if accounts > 0 {
            t.ratio(
                format!("join latency, {accounts} accounts over 0 accounts"),
                p50.as_secs_f64() / base_p50.as_secs_f64().max(1e-9),
            );
            t.ratio(
                format!("join bytes, {accounts} accounts over 0 accounts"),
                per_join / base_bytes.max(1.0),
            );
        }
    }
}

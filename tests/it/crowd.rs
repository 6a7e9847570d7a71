//! Issue 22: a popular invitation link behind a reverse proxy. Every visitor arrives from the
//! proxy's address; with the proxy trusted, each counts against its own join budget, so a crowd
//! of visitors is not refused below the per-client rate. Counts only, no timing.

use crate::domain::{Api, code};
use crate::support::{Daemon, client};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use zondarr_fakes::jellyfin::JellyfinFake;

/// The per-client rate of the test daemon (`security.join_per_ip_per_minute`).
const RATE: usize = 3;
const CLIENTS: usize = 1000;

/// One visit of `url` (the join page or the API's check, one budget) as `ip` behind the proxy:
/// its status and error code (`<none>` for a page).
async fn visit(http: &reqwest::Client, url: &str, ip: &str) -> (StatusCode, String) {
    let resp = http
        .get(url)
        .header("x-forwarded-for", ip)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (status, code(&body).to_owned())
}

#[tokio::test]
async fn a_crowd_behind_a_trusted_proxy_each_get_their_own_join_budget() {
    let dir = tempfile::tempdir().unwrap();
    let rate = RATE.to_string();
    let daemon = Daemon::start_with(
        dir.path(),
        &[],
        &[
            ("ZONDARR_HTTP_TRUSTED_PROXIES", "127.0.0.1"),
            ("ZONDARR_SECURITY_JOIN_PER_IP_PER_MINUTE", &rate),
        ],
    );
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    let (status, body) = api
        .post(
            "/invitations",
            json!({ "code": "popular", "servers": [{ "server_id": server }] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // 1,000 clients, each opening the link exactly as often as its rate allows, interleaved
    // (client i % 1,000 sends request i), 16 at a time: the proxy's address sends 3,000.
    let url = Arc::new(daemon.at("/j/popular"));
    let http = client();
    let next = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let shown = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (http, url, next, refused, shown) = (
                http.clone(),
                url.clone(),
                next.clone(),
                refused.clone(),
                shown.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= CLIENTS * RATE {
                        return;
                    }
                    let c = i % CLIENTS;
                    let ip = format!("198.18.{}.{}", c / 250, c % 250 + 1);
                    match visit(&http, &url, &ip).await {
                        (StatusCode::OK, _) => shown.fetch_add(1, Ordering::Relaxed),
                        (StatusCode::TOO_MANY_REQUESTS, _) => {
                            refused.fetch_add(1, Ordering::Relaxed)
                        }
                        other => panic!("{ip}: {other:?}"),
                    };
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        (
            shown.load(Ordering::Relaxed),
            refused.load(Ordering::Relaxed)
        ),
        (CLIENTS * RATE, 0),
        "every visit of the crowd shown, none refused"
    );

    // One client beyond its rate: twice the rate in a row (a minute would have to pass for
    // the budget to refill that much) is refused beyond its budget, alone.
    let api_url = daemon.at("/api/v1/join/popular");
    let mut refused_over = 0;
    for i in 0..2 * RATE {
        let url = if i % 2 == 0 { &url } else { &api_url };
        let (status, code) = visit(&http, url, "198.19.0.1").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(code == "RATE_LIMITED" || code == "<none>", "{code}");
            refused_over += 1;
        }
    }
    assert!(refused_over >= 1, "a client beyond its rate is refused");
    let (status, _) = visit(&http, &api_url, "198.19.0.2").await;
    assert_eq!(status, StatusCode::OK, "its neighbour is not");

    // The same crowd without the proxy trusted shares one address, hence one budget: what the
    // setting prevents (and what this test would see if the budget were shared).
    drop(daemon);
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with(
        dir.path(),
        &[],
        &[("ZONDARR_SECURITY_JOIN_PER_IP_PER_MINUTE", &rate)],
    );
    let api = Api::new(&daemon).await;
    let server = api.add_jellyfin("Home", &fake).await;
    api.post(
        "/invitations",
        json!({ "code": "popular", "servers": [{ "server_id": server }] }),
    )
    .await;
    let url = daemon.at("/api/v1/join/popular");
    let mut refused = 0;
    for c in 0..2 * RATE {
        let (status, _) = visit(&http, &url, &format!("198.18.0.{}", c + 1)).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(
        refused >= 1,
        "untrusted: {} different clients share one budget",
        2 * RATE
    );
}

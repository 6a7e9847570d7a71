//! Steps shared by the per-server connector tests of issue 19 (`emby.rs`, `komga.rs`, …): each
//! runs the real daemon with its bundled connector against the server's stateful fake from
//! `tests/fakes`, through the public API only, and checks what the fake holds afterwards.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use zondarr_fakes::jellyfin::RecordedRequest;
use zondarr_fakes::openapi::{OpenApi, excerpt};
use zondarr_fakes::server::{Fake, WebSite};

use crate::domain::{Api, code, public_post};
use crate::support::Daemon;

/// A daemon with an admin API client and one server of a connector under test.
pub(crate) struct Started {
    /// The daemon.
    pub(crate) daemon: Daemon,
    /// The admin's API client.
    pub(crate) api: Api,
    /// The server's id.
    pub(crate) server: i64,
    /// The daemon's data folder (bind it: it is removed when dropped).
    pub(crate) dir: tempfile::TempDir,
}

/// What every connector test starts with: a fresh daemon and an admin; a URL that serves a web
/// page and the server's URL with the `wrong` credentials are each explained to the admin
/// (`servers/test`); then the server at `url` with `config` is added, its connector loaded and
/// its three libraries listed.
pub(crate) async fn start_with_server(
    kind: &str,
    url: &str,
    config: Value,
    wrong: Value,
) -> Started {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    wrong_url_is_explained(&api, kind, config.clone()).await;
    let (status, body) = api
        .post(
            "/servers/test",
            json!({ "kind": kind, "url": url, "config": wrong }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_GATEWAY, "REMOTE_UNAUTHORIZED"),
        "{body}"
    );
    let server = add_server(&api, kind, url, config).await;
    let (_, shown) = api.get(&format!("/servers/{server}")).await;
    assert_eq!(shown["libraries"], 3, "{shown}");
    Started {
        daemon,
        api,
        server,
        dir,
    }
}

/// Adds a server of `kind` at `url` and returns its id.
pub(crate) async fn add_server(api: &Api, kind: &str, url: &str, config: Value) -> i64 {
    let (status, body) = api
        .post(
            "/servers",
            json!({ "name": format!("My {kind}"), "kind": kind, "url": url, "config": config }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, server) = api.get(&format!("/servers/{}", body["id"])).await;
    assert_eq!(server["connector_state"], "loaded", "{server}");
    body["id"].as_i64().unwrap()
}

/// Tests a server of `kind` whose URL serves an ordinary web site: the admin is told the answer
/// was a web page and to check the URL. Returns the message.
pub(crate) async fn wrong_url_is_explained(api: &Api, kind: &str, config: Value) -> String {
    let site = Fake::serve(|_| WebSite).await;
    let (status, body) = api
        .post(
            "/servers/test",
            json!({ "kind": kind, "url": site.base_url(), "config": config }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_GATEWAY, "REMOTE_ERROR"),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("HTML page") && message.contains("server URL"),
        "{message}"
    );
    assert!(!message.contains(site.base_url()), "{message}");
    message
}

/// An invitation `code` for the first and third of the server's three libraries with these
/// permissions; returns the external ids of the two libraries.
pub(crate) async fn invite_two_of_three(
    api: &Api,
    server: i64,
    code: &str,
    permissions: Value,
) -> Vec<String> {
    let libs = api.library_ids(server).await;
    assert_eq!(libs.len(), 3, "{libs:?}");
    let chosen = [&libs[0], &libs[2]];
    let (status, inv) = api
        .post(
            "/invitations",
            json!({ "code": code, "servers": [{ "server_id": server,
                "libraries": [chosen[0].0, chosen[1].0], "permissions": permissions }] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    chosen.iter().map(|(_, ext)| ext.clone()).collect()
}

/// Redeems `code` as an invitee and returns how long the redemption took.
pub(crate) async fn redeem(daemon: &Daemon, code: &str, body: Value) -> Duration {
    let started = Instant::now();
    let (status, answer) = public_post(daemon, &format!("/api/v1/join/{code}"), body).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    took
}

/// The Zondarr user for `username` on `server`.
pub(crate) async fn user(api: &Api, server: i64, username: &str) -> Value {
    let (_, users) = api.get(&format!("/users?server_id={server}")).await;
    users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap_or_else(|| panic!("{username} is not a user of server {server}: {users}"))
        .clone()
}

/// Sets the user's libraries to the server's library rows at `rows` (indexes).
pub(crate) async fn set_libraries(
    api: &Api,
    server: i64,
    user: i64,
    rows: &[usize],
) -> Vec<String> {
    let libs = api.library_ids(server).await;
    let ids: Vec<i64> = rows.iter().map(|i| libs[*i].0).collect();
    let (status, body) = api
        .call(
            reqwest::Method::PUT,
            &format!("/users/{user}/libraries"),
            Some(json!({ "libraries": ids })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    rows.iter().map(|i| libs[*i].1.clone()).collect()
}

/// Runs a user sync of `server` and checks it succeeded.
pub(crate) async fn sync_users(api: &Api, server: i64) {
    let (status, report) = api
        .post(
            &format!("/servers/{server}/sync"),
            json!({ "what": "users" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
}

/// Lets the user's access end an hour ago and runs expiry enforcement once; returns the run.
pub(crate) async fn expire(api: &Api, user: i64) -> Value {
    let past = (chrono::Utc::now() - chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (status, body) = api
        .patch(&format!("/users/{user}"), json!({ "expires_at": past }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, run) = api.post("/jobs/user_expiry/run", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["counts"]["failed"], 0, "{run}");
    run
}

/// The external admin sign-in through `server` (issue 19's "sign-in check for admin login"):
/// once switched on, an administrator of the media server signs in with their own password and
/// becomes the local admin `<name>@server<id>`; a member who is not an administrator and a wrong
/// password get the same refusal.
pub(crate) async fn admin_sign_in(
    api: &Api,
    daemon: &Daemon,
    server: i64,
    admin: (&str, &str),
    member: (&str, &str),
) {
    let (status, body) = api
        .patch(
            &format!("/servers/{server}"),
            json!({ "admin_login": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path = format!("/api/v1/auth/login/server/{server}");
    for (name, password) in [member, (admin.0, "not the password")] {
        let (status, body) = public_post(
            daemon,
            &path,
            json!({ "username": name, "password": password }),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS"),
            "{name}: {body}"
        );
    }
    let (status, body) = public_post(
        daemon,
        &path,
        json!({ "username": admin.0, "password": admin.1 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let local = body["admin"]["username"].as_str().unwrap_or_default();
    assert!(
        local.ends_with(&format!("@server{server}")),
        "signed in as the server's admin: {body}"
    );
}

/// The committed excerpts of the official documents whose file names start with `prefix`.
pub(crate) fn specs(prefix: &str) -> Vec<OpenApi> {
    let specs: Vec<OpenApi> = excerpt::EXCERPTS
        .iter()
        .filter(|e| e.official.starts_with(prefix))
        .map(|e| e.load().unwrap())
        .collect();
    assert!(!specs.is_empty(), "no excerpt for {prefix}");
    specs
}

/// Every request in `requests` is one the official documents allow, and every successful JSON
/// answer of the fake matches them (so the fake cannot drift from the real API).
pub(crate) fn assert_contract(specs: &[OpenApi], requests: &[RecordedRequest]) {
    assert_contract_allowing(specs, requests, &[]);
}

/// [`assert_contract`], except for violations where the official document is known to be wrong
/// about the real server: each allowance is (part of the request line, part of the violation),
/// and the caller says why in a comment.
pub(crate) fn assert_contract_allowing(
    specs: &[OpenApi],
    requests: &[RecordedRequest],
    allowed: &[(&str, &str)],
) {
    let mut violations = Vec::new();
    for request in requests {
        for spec in specs {
            if let Err(errors) = spec.validate_request(&request.parts()) {
                violations.extend(
                    errors
                        .into_iter()
                        .map(|e| format!("{}: {e}", request.line())),
                );
            }
            if let Some(response) = &request.response
                && request.injected.is_none()
                && (200..300).contains(&response.status)
                && let Err(errors) = spec.validate_response(
                    &request.method,
                    &request.path,
                    response.status,
                    response.content_type.as_deref(),
                    &response.body,
                )
            {
                violations.extend(
                    errors
                        .into_iter()
                        .map(|e| format!("the fake answered {} wrongly: {e}", request.line())),
                );
            }
        }
    }
    let mut used = vec![false; allowed.len()];
    violations.retain(|violation| {
        match allowed
            .iter()
            .position(|(line, text)| violation.contains(line) && violation.contains(text))
        {
            Some(i) => {
                used[i] = true;
                false
            }
            None => true,
        }
    });
    assert!(
        used.iter().all(|u| *u),
        "an allowance matched nothing (the document or the fake changed): {allowed:?} {used:?}"
    );
    assert!(
        violations.is_empty(),
        "requests outside the official API:\n{}",
        violations.join("\n")
    );
    assert!(!requests.is_empty(), "no request was checked");
}

/// Issue 19's first check: a fresh daemon lists all seven connectors as loaded and bundled.
#[tokio::test]
async fn a_fresh_daemon_lists_the_seven_bundled_connectors_as_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let (status, body) = api.get("/plugins").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().or(body.as_array()).unwrap();
    let mut ids: Vec<&str> = items
        .iter()
        .inspect(|p| {
            assert_eq!(p["state"], "loaded", "{p}");
            assert_eq!(p["source"]["kind"], "bundled", "{p}");
        })
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "audiobookshelf",
            "emby",
            "jellyfin",
            "kavita",
            "komga",
            "navidrome",
            "plex"
        ]
    );
}

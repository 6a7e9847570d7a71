//! Servers, invitations, redemption and users through the real daemon, the real bundled
//! Jellyfin connector and the stateful fake Jellyfin.

use crate::support::{Daemon, admin_key, client};
use reqwest::StatusCode;
use serde_json::{Value, json};
use zondarr_fakes::jellyfin::{Failure, JellyfinFake};

pub(crate) struct Api {
    http: reqwest::Client,
    base: String,
    pub(crate) key: String,
}

impl Api {
    pub(crate) async fn new(daemon: &Daemon) -> Api {
        Api {
            http: client(),
            base: daemon.url.clone(),
            key: admin_key(daemon).await,
        }
    }

    /// For a daemon restarted on the same data folder: the key made before still works.
    pub(crate) fn with_key(daemon: &Daemon, key: String) -> Api {
        Api {
            http: client(),
            base: daemon.url.clone(),
            key,
        }
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{}", self.base, path))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub(crate) async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub(crate) async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    pub(crate) async fn add_jellyfin(&self, name: &str, fake: &JellyfinFake) -> i64 {
        let (status, body) = self
            .post("/servers", json!({ "name": name, "kind": "jellyfin", "url": fake.base_url(), "config": { "api_key": fake.api_key() } }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_i64().unwrap()
    }

    /// Adds a Plex server backed by `plex` (its PMS and plex.tv fakes) and returns its id.
    pub(crate) async fn add_plex(&self, name: &str, plex: &zondarr_fakes::plex::PlexFake) -> i64 {
        let (status, body) = self
            .post(
                "/servers",
                json!({
                    "name": name,
                    "kind": "plex",
                    "url": plex.pms_url(),
                    "config": { "token": plex.owner_token() },
                    "extra_hosts": { "plex-tv": plex.plex_tv_url(), "clients-plex-tv": plex.plex_tv_url() }
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert!(!body.to_string().contains(&plex.owner_token()));
        body["id"].as_i64().unwrap()
    }

    pub(crate) async fn library_ids(&self, server: i64) -> Vec<(i64, String)> {
        let (_, libs) = self.get(&format!("/servers/{server}/libraries")).await;
        libs["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["id"].as_i64().unwrap(),
                    l["external_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

pub(crate) async fn public_post(daemon: &Daemon, path: &str, body: Value) -> (StatusCode, Value) {
    let resp = client()
        .post(daemon.at(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub(crate) fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<none>")
}

fn normalize(id: &str) -> String {
    id.replace('-', "").to_ascii_lowercase()
}

#[tokio::test]
async fn servers_are_tested_before_saving_and_keep_credentials_secret() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;

    let (status, body) = api.post("/servers/test", json!({ "kind": "jellyfin", "url": fake.base_url(), "config": { "api_key": fake.api_key() } })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["server"]["product"], "Jellyfin");
    assert_eq!(body["libraries"].as_array().unwrap().len(), 4);

    // Bad input: unknown connector, missing key, wrong key, unknown setting.
    let (status, body) = api
        .post(
            "/servers",
            json!({ "name": "x", "kind": "nope", "url": fake.base_url() }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED")
    );
    let (_, body) = api
        .post(
            "/servers",
            json!({ "name": "x", "kind": "jellyfin", "url": fake.base_url() }),
        )
        .await;
    assert_eq!(body["error"]["fields"][0]["field"], "config.api_key");
    let (status, body) = api
        .post("/servers", json!({ "name": "x", "kind": "jellyfin", "url": fake.base_url(), "config": { "api_key": "wrong", "colour": "red" } }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = api.post("/servers", json!({ "name": "x", "kind": "jellyfin", "url": fake.base_url(), "config": { "api_key": "wrong" } })).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_GATEWAY, "REMOTE_UNAUTHORIZED")
    );
    assert!(
        !body.to_string().contains(fake.base_url()),
        "no remote URL in errors: {body}"
    );
    let (_, list) = api.get("/servers").await;
    assert_eq!(list["total"], 0, "nothing saved after a failed test");

    let id = api.add_jellyfin("Living room", &fake).await;
    let (status, server) = api.get(&format!("/servers/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server["credentials"]["api_key"], true);
    assert_eq!(server["connector_state"], "loaded");
    assert_eq!(server["libraries"], 4);
    assert!(
        !server.to_string().contains(fake.api_key()),
        "the key is never returned"
    );
    let (status, body) = api.post("/servers", json!({ "name": "LIVING ROOM", "kind": "jellyfin", "url": fake.base_url(), "config": { "api_key": fake.api_key() } })).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "CONFLICT"));

    // The key is sealed at rest.
    let db = std::fs::read(dir.path().join("zondarr.db")).unwrap();
    let wal = std::fs::read(dir.path().join("zondarr.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes
                .windows(fake.api_key().len())
                .any(|w| w == fake.api_key().as_bytes())
        );
    }

    // Edit: a wrong key is refused after a test and changes nothing; a rename works.
    let (status, _) = api
        .patch(
            &format!("/servers/{id}"),
            json!({ "config": { "api_key": "wrong" } }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let (status, body) = api
        .patch(&format!("/servers/{id}"), json!({ "name": "Den" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Den");
    // Library sync on edit picks up a new library.
    fake.add_library("Audiobooks", Some("books"));
    let (_, body) = api
        .patch(&format!("/servers/{id}"), json!({ "enabled": true }))
        .await;
    assert_eq!(body["libraries"], 5);
    // A disabled server can be saved even while unreachable (it is not contacted).
    let (status, body) = api
        .patch(
            &format!("/servers/{id}"),
            // A new address needs the secret again (issue 17 item 17), even for a disabled server.
            json!({ "enabled": false, "url": "http://127.0.0.1:9", "config": { "api_key": fake.api_key() } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, _) = api.delete(&format!("/servers/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get(&format!("/servers/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn invitation_redeemed_with_libraries_and_permissions_applied() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    let libs = api.library_ids(server).await;
    let chosen = vec![libs[0].0, libs[2].0];

    // Validation of the invitation itself.
    let (status, body) = api
        .post(
            "/invitations",
            json!({ "servers": [{ "server_id": server, "libraries": [999] }] }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED")
    );
    let (_, body) = api
        .post(
            "/invitations",
            json!({ "servers": [{ "server_id": server, "permissions": { "teleport": true } }] }),
        )
        .await;
    assert!(
        body["error"]["fields"][0]["field"]
            .as_str()
            .unwrap()
            .contains("permissions.teleport")
    );
    let (_, body) = api.post("/invitations", json!({ "servers": [] })).await;
    assert_eq!(code(&body), "VALIDATION_FAILED");

    let (status, inv) = api
        .post(
            "/invitations",
            json!({
                "code": "Family-2027",
                "servers": [{ "server_id": server, "libraries": chosen, "permissions": { "allow_downloads": true, "max_active_sessions": 2 } }],
                "max_uses": 3,
                "access_duration_days": 30,
                "note": "for the cousins"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    assert_eq!(inv["status"], "active");
    assert!(inv["url"].as_str().unwrap().ends_with("/join/Family-2027"));
    let inv_id = inv["id"].as_i64().unwrap();
    let (status, body) = api
        .post(
            "/invitations",
            json!({ "code": "family-2027", "servers": [{ "server_id": server }] }),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "CONFLICT"));
    let (status, generated) = api
        .post(
            "/invitations",
            json!({ "servers": [{ "server_id": server }] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(generated["code"].as_str().unwrap().len(), 12);

    // Public validation shows what the invitee needs, nothing internal.
    let resp = client()
        .get(daemon.at("/api/v1/join/family-2027"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let offer: Value = resp.json().await.unwrap();
    assert_eq!(offer["servers"][0]["name"], "Home");
    assert_eq!(
        offer["servers"][0]["libraries"].as_array().unwrap().len(),
        2
    );
    assert_eq!(offer["needs_credentials"], true);
    assert!(!offer.to_string().contains(fake.base_url()));
    for bad in ["nope-nope", "%20", &"x".repeat(40)] {
        let resp = client()
            .get(daemon.at(&format!("/api/v1/join/{bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), "INVITE_INVALID");
    }

    // Redeem.
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/Family-2027",
        json!({ "username": "cousin", "password": "short" }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED")
    );
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/Family-2027",
        json!({ "username": "cousin", "password": "a fine password", "email": "c@example.org" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["expires_at"].is_string());
    let remote = fake.user("cousin").expect("account created on the server");
    assert!(fake.check_password(&remote.id, "a fine password"));
    assert_eq!(remote.policy["EnableAllFolders"], false);
    let mut enabled: Vec<String> = remote.policy["EnabledFolders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| normalize(v.as_str().unwrap()))
        .collect();
    enabled.sort();
    let mut want: Vec<String> = vec![normalize(&libs[0].1), normalize(&libs[2].1)];
    want.sort();
    assert_eq!(enabled, want, "exactly the invitation's libraries");
    assert_eq!(remote.policy["EnableContentDownloading"], true);
    assert_eq!(remote.policy["MaxActiveSessions"], 2);

    // Name taken: clear error, no use consumed.
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/Family-2027",
        json!({ "username": "Cousin", "password": "a fine password" }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "USERNAME_TAKEN"),
        "{body}"
    );
    let (_, inv) = api.get(&format!("/invitations/{inv_id}")).await;
    assert_eq!(inv["use_count"], 1);

    // "unused": can be redeemed and was never used — the generated one, not Family-2027.
    let (status, unused) = api.get("/invitations?status=unused").await;
    assert_eq!(status, StatusCode::OK, "{unused}");
    assert_eq!(unused["total"], 1, "{unused}");
    assert_eq!(unused["items"][0]["code"], generated["code"]);
    assert_eq!(unused["items"][0]["use_count"], 0);
    let (_, active) = api.get("/invitations?status=active").await;
    assert_eq!(active["total"], 2, "{active}");

    // The user is listed with its identity and invitation.
    let (_, users) = api.get(&format!("/users?invitation_id={inv_id}")).await;
    assert_eq!(users["total"], 1);
    let user_id = users["items"][0]["id"].as_i64().unwrap();
    let (_, detail) = api.get(&format!("/users/{user_id}")).await;
    assert_eq!(detail["invitation"]["code"], "Family-2027");
    assert_eq!(detail["identity"]["users"].as_array().unwrap().len(), 1);
    assert!(
        detail["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "enable_disable")
    );

    // Edit and clear invitation fields; the code cannot change.
    let (status, body) = api
        .patch(
            &format!("/invitations/{inv_id}"),
            json!({ "max_uses": null, "note": null, "expires_at": "2099-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["max_uses"].is_null() && body["note"].is_null());
    assert_eq!(body["expires_at"], "2099-01-01T00:00:00.000Z");
    let (status, _) = api
        .patch(
            &format!("/invitations/{inv_id}"),
            json!({ "code": "other" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = api
        .patch(
            &format!("/invitations/{inv_id}"),
            json!({ "enabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/Family-2027",
        json!({ "username": "another", "password": "a fine password" }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "INVITE_INVALID"),
        "disabled answers like unknown"
    );
    let (_, list) = api.get("/invitations?status=disabled").await;
    assert_eq!(list["total"], 1);
    let (_, list) = api
        .get(&format!("/invitations?status=active&server_id={server}"))
        .await;
    assert_eq!(list["total"], 1);

    // Deleting the invitation keeps the account and clears its link.
    assert_eq!(
        api.delete(&format!("/invitations/{inv_id}")).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, detail) = api.get(&format!("/users/{user_id}")).await;
    assert!(detail["invitation_id"].is_null());
}

#[tokio::test]
async fn fifty_concurrent_redemptions_of_five_uses_create_exactly_five_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with(
        dir.path(),
        &[],
        &[
            ("ZONDARR_SECURITY_JOIN_PER_IP_PER_MINUTE", "1000"),
            ("ZONDARR_SECURITY_JOIN_REDEEM_PER_IP_PER_MINUTE", "1000"),
        ],
    );
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    let (_, inv) = api
        .post(
            "/invitations",
            json!({ "code": "rush", "servers": [{ "server_id": server }], "max_uses": 5 }),
        )
        .await;
    let inv_id = inv["id"].as_i64().unwrap();
    let before = fake.users().len();

    let mut tasks = Vec::new();
    for i in 0..50 {
        let url = daemon.at("/api/v1/join/rush");
        tasks.push(tokio::spawn(async move {
            let resp = client()
                .post(url)
                .json(&json!({ "username": format!("guest{i}"), "password": "a fine password" }))
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            (status, body)
        }));
    }
    let mut created = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::NOT_FOUND => assert_eq!(code(&body), "INVITE_INVALID"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 5);
    assert_eq!(
        fake.users().len() - before,
        5,
        "exactly five accounts on the server"
    );
    let (_, users) = api.get(&format!("/users?invitation_id={inv_id}")).await;
    assert_eq!(users["total"], 5);
    let (_, inv) = api.get(&format!("/invitations/{inv_id}")).await;
    assert_eq!(
        (inv["use_count"].as_i64(), inv["status"].as_str()),
        (Some(5), Some("used_up"))
    );
}

#[tokio::test]
async fn a_failure_on_the_second_server_removes_the_first_account() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let (first, second) = (JellyfinFake::start().await, JellyfinFake::start().await);
    let s1 = api.add_jellyfin("One", &first).await;
    let s2 = api.add_jellyfin("Two", &second).await;
    let (_, inv) = api
        .post(
            "/invitations",
            json!({ "code": "pair", "servers": [{ "server_id": s1 }, { "server_id": s2 }] }),
        )
        .await;
    let inv_id = inv["id"].as_i64().unwrap();

    second.fail_next_on("POST", "/Users/New", Failure::Status(500));
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/pair",
        json!({ "username": "dana", "password": "a fine password" }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "SERVER_UNAVAILABLE"),
        "{body}"
    );
    assert!(!body.to_string().contains("127.0.0.1"), "{body}");
    assert!(
        first.user("dana").is_none(),
        "the first account was removed again"
    );
    assert!(second.user("dana").is_none());
    let (_, users) = api.get("/users").await;
    assert_eq!(users["total"], 0, "no local rows");
    let (_, inv) = api.get(&format!("/invitations/{inv_id}")).await;
    assert_eq!(inv["use_count"], 0, "the use was released");

    // The same invitation works once the server is healthy again.
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/pair",
        json!({ "username": "dana", "password": "a fine password" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(first.user("dana").is_some() && second.user("dana").is_some());
    let (_, users) = api.get("/users?search=DAN").await;
    assert_eq!(users["total"], 2);
    let identity = users["items"][0]["identity_id"].as_i64().unwrap();
    assert_eq!(
        users["items"][1]["identity_id"].as_i64().unwrap(),
        identity,
        "one identity groups both accounts"
    );
}

// Multi-threaded: the restarted daemon calls the fakes (served by this runtime) while
// `Daemon::start` blocks this thread waiting for it to listen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redemption_interrupted_by_a_crash_is_rolled_back_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (JellyfinFake::start().await, JellyfinFake::start().await);
    let (s1, inv_id, key) = {
        let daemon = Daemon::start(dir.path());
        let api = Api::new(&daemon).await;
        let s1 = api.add_jellyfin("One", &first).await;
        let s2 = api.add_jellyfin("Two", &second).await;
        let (_, inv) = api
            .post(
                "/invitations",
                json!({ "code": "crash", "servers": [{ "server_id": s1 }, { "server_id": s2 }] }),
            )
            .await;
        // The second server hangs on the create: the redemption is stuck after the first
        // account exists.
        second.fail_next_on("POST", "/Users/New", Failure::Hang);
        let url = daemon.at("/api/v1/join/crash");
        let pending = tokio::spawn(async move {
            let _ = client()
                .post(url)
                .json(&json!({ "username": "erin", "password": "a fine password" }))
                .send()
                .await;
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while first.user("erin").is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "the first account was never created"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        drop(daemon); // SIGKILL: no graceful anything.
        pending.abort();
        (s1, inv["id"].as_i64().unwrap(), api.key.clone())
    };
    assert!(
        first.user("erin").is_some(),
        "the crash left the account behind"
    );

    let daemon = Daemon::start(dir.path());
    let api = Api {
        http: client(),
        base: daemon.url.clone(),
        key,
    };
    assert!(
        first.user("erin").is_none(),
        "recovery removed the account at start"
    );
    let (_, inv) = api.get(&format!("/invitations/{inv_id}")).await;
    assert_eq!(inv["use_count"], 0, "the use was released");
    let (_, users) = api.get(&format!("/users?server_id={s1}")).await;
    assert_eq!(users["total"], 0);
    let (_, audit) = api.get("/audit?action=redemption.recover").await;
    assert_eq!(audit["total"], 1);
}

#[tokio::test]
async fn users_can_be_disabled_restricted_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    api.post(
        "/invitations",
        json!({ "code": "u", "servers": [{ "server_id": server }] }),
    )
    .await;
    public_post(
        &daemon,
        "/api/v1/join/u",
        json!({ "username": "finn", "password": "a fine password" }),
    )
    .await;
    let (_, users) = api.get("/users").await;
    let id = users["items"][0]["id"].as_i64().unwrap();
    let remote = fake.user("finn").unwrap().id;

    let (status, body) = api.post(&format!("/users/{id}/disable"), json!({})).await;
    assert_eq!(
        (status, body["enabled"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    assert!(fake.user(&remote).unwrap().flag("IsDisabled"));
    let (_, body) = api.get("/users?enabled=false").await;
    assert_eq!(body["total"], 1);
    api.post(&format!("/users/{id}/enable"), json!({})).await;
    assert!(!fake.user(&remote).unwrap().flag("IsDisabled"));

    let libs = api.library_ids(server).await;
    let (status, body) = api
        .call(
            reqwest::Method::PUT,
            &format!("/users/{id}/libraries"),
            Some(json!({ "libraries": [libs[1].0] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let policy = fake.policy(&remote).unwrap();
    assert_eq!(policy["EnableAllFolders"], false);
    assert_eq!(
        normalize(policy["EnabledFolders"][0].as_str().unwrap()),
        normalize(&libs[1].1)
    );
    let (status, _) = api
        .call(
            reqwest::Method::PUT,
            &format!("/users/{id}/permissions"),
            Some(json!({ "permissions": { "allow_live_tv": true } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fake.policy(&remote).unwrap()["EnableLiveTvAccess"], true);
    let (status, _) = api
        .post(
            &format!("/users/{id}/password"),
            json!({ "password": "another fine one" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(fake.check_password(&remote, "another fine one"));
    let (status, body) = api
        .patch(
            &format!("/users/{id}"),
            json!({ "expires_at": "2030-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(
        (status, body["expires_at"].as_str()),
        (StatusCode::OK, Some("2030-01-01T00:00:00.000Z"))
    );
    let (_, body) = api
        .patch(&format!("/users/{id}"), json!({ "expires_at": null }))
        .await;
    assert!(body["expires_at"].is_null());

    // Identity: rename, unlink, link.
    let identity = body["identity_id"].as_i64().unwrap();
    let (status, body) = api
        .patch(
            &format!("/identities/{identity}"),
            json!({ "display_name": "Finn F." }),
        )
        .await;
    assert_eq!(
        (status, body["display_name"].as_str()),
        (StatusCode::OK, Some("Finn F."))
    );

    // Delete: remote first, then local; the identity goes with its last account.
    assert_eq!(
        api.delete(&format!("/users/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert!(fake.user(&remote).is_none());
    assert_eq!(
        api.get(&format!("/users/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get(&format!("/identities/{identity}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, audit) = api.get("/audit?action=user.").await;
    assert!(audit["total"].as_i64().unwrap() >= 6, "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plex_invitee_links_their_account_and_gets_exactly_the_offered_libraries() {
    use zondarr_fakes::plex::PlexFake;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let plex = PlexFake::start().await;
    let server = api.add_plex("Plex", &plex).await;
    let libs = api.library_ids(server).await;
    assert!(libs.len() >= 5, "{libs:?}");
    let offered: Vec<i64> = vec![libs[1].0, libs[3].0];
    let (status, body) = api
        .post("/invitations", json!({ "code": "plexfam", "servers": [{ "server_id": server, "libraries": offered, "permissions": { "allow_sync": true } }] }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (_, offer) = (
        StatusCode::OK,
        client()
            .get(daemon.at("/api/v1/join/plexfam"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap(),
    );
    assert_eq!(offer["oauth"], json!(["plex"]));
    assert_eq!(offer["needs_credentials"], false);

    // Redeeming without a link is refused.
    let (status, body) = public_post(&daemon, "/api/v1/join/plexfam", json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "LINK_REQUIRED")
    );

    // Start the PIN flow; the invitee approves it at plex.tv.
    let (status, started) =
        public_post(&daemon, "/api/v1/join/plexfam/oauth/plex", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    assert!(
        started["auth_url"]
            .as_str()
            .unwrap()
            .starts_with("https://app.plex.tv/auth#")
    );
    let link = started["link"].as_str().unwrap().to_owned();
    let poll = || async {
        client()
            .get(daemon.at(&format!("/api/v1/join/plexfam/oauth/plex/{link}")))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    assert_eq!(poll().await["status"], "pending");
    let pin_id: String = rusqlite::Connection::open(dir.path().join("zondarr.db"))
        .unwrap()
        .query_row(
            "SELECT pin_id FROM join_links WHERE handle = ?1",
            [&link],
            |r| r.get(0),
        )
        .unwrap();
    let invitee = plex.add_account("robin", "robin@example.org");
    assert!(plex.approve_pin(&pin_id, invitee.id));
    let linked = poll().await;
    assert_eq!(
        (linked["status"].as_str(), linked["username"].as_str()),
        (Some("linked"), Some("robin"))
    );
    assert!(
        !linked.to_string().to_lowercase().contains("token"),
        "the token never leaves the daemon: {linked}"
    );

    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/plexfam",
        json!({ "links": { "plex": link } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let shares = plex.shares_of(invitee.id);
    assert_eq!(shares.len(), 1);
    let mut keys = shares[0].section_keys.clone();
    keys.sort();
    let mut want = vec![libs[1].1.clone(), libs[3].1.clone()];
    want.sort();
    assert_eq!(keys, want, "exactly the two offered libraries");
    assert!(!shares[0].all_libraries && shares[0].accepted);
    assert!(
        plex.pending_invites().is_empty(),
        "accepted on the invitee's behalf"
    );
    assert!(plex.settings_of(invitee.id).allow_sync);

    // The link is single-use.
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/plexfam",
        json!({ "links": { "plex": link } }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "LINK_REQUIRED")
    );

    // Deleting the user removes the share.
    let (_, users) = api.get(&format!("/users?server_id={server}")).await;
    let user = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "robin")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        api.delete(&format!("/users/{user}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert!(plex.shares_of(invitee.id).is_empty());
}

/// Any connector dropped into the plugins folder works end to end: the test-only fixture
/// connector, loaded from `<data-dir>/plugins`, against its small fake server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_from_the_plugins_folder_serves_invitations_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::write(
        dir.path().join("plugins/fixture.wasm"),
        crate::plugins::fixture(),
    )
    .unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = crate::plugins::fake_server().await;
    let (status, body) = api
        .post("/servers", json!({ "name": "Fixture", "kind": "fixture", "url": fake.url, "config": { "api_key": crate::plugins::TOKEN } }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let server = body["id"].as_i64().unwrap();
    assert_eq!(body["remote"]["name"], "Fake");
    let (status, body) = api
        .post("/invitations", json!({ "code": "fx", "servers": [{ "server_id": server, "permissions": { "allow_downloads": true, "max_sessions": 3 } }] }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/fx",
        json!({ "username": "gus", "password": "a fine password" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/fx",
        json!({ "username": "taken", "password": "a fine password" }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "USERNAME_TAKEN")
    );

    // The connector disappears: the server shows it and keeps its data.
    std::fs::remove_file(dir.path().join("plugins/fixture.wasm")).unwrap();
    let (status, _) = api.post("/plugins/rescan", json!({})).await;
    assert!(status.is_success());
    let (_, shown) = api.get(&format!("/servers/{server}")).await;
    assert_eq!(shown["connector_state"], "missing");
    assert_eq!(shown["name"], "Fixture");
    let (_, users) = api.get(&format!("/users?server_id={server}")).await;
    assert_eq!(users["total"], 1, "its users are kept");
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/fx",
        json!({ "username": "hal", "password": "a fine password" }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "SERVER_UNAVAILABLE")
    );
    std::fs::write(
        dir.path().join("plugins/fixture.wasm"),
        crate::plugins::fixture(),
    )
    .unwrap();
    api.post("/plugins/rescan", json!({})).await;
    let (_, shown) = api.get(&format!("/servers/{server}")).await;
    assert_eq!(shown["connector_state"], "loaded");

    // Deleting the server leaves the invitation with nothing to give: it stops working.
    assert_eq!(
        api.delete(&format!("/servers/{server}")).await.0,
        StatusCode::NO_CONTENT
    );
    let resp = client()
        .get(daemon.at("/api/v1/join/fx"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let (_, users) = api.get("/users").await;
    assert_eq!(users["total"], 0, "the server's users went with it");
}

#[tokio::test]
async fn an_invitation_carries_the_admins_message_to_invitees() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;

    // Control and invisible characters and more than 1,000 characters are refused by field.
    for bad in [
        "hi\u{0007}there".to_owned(),
        "a\u{202E}b".to_owned(),
        "x".repeat(1001),
    ] {
        let (status, body) = api
            .post(
                "/invitations",
                json!({ "servers": [{ "server_id": server }], "message": bad }),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED"),
            "{body}"
        );
        assert_eq!(body["error"]["fields"][0]["field"], "message", "{body}");
    }

    // Trimmed, NFC, line breaks kept (CRLF becomes LF); 1,000 characters fit.
    let (status, inv) = api
        .post(
            "/invitations",
            json!({
                "code": "welcome-1",
                "servers": [{ "server_id": server }],
                "message": "  Hi <b>friend</b>!\r\nCafe\u{0301} opens at 8.\n\n"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    assert_eq!(inv["message"], "Hi <b>friend</b>!\nCaf\u{e9} opens at 8.");
    let id = inv["id"].as_i64().unwrap();
    let (_, read) = api.get(&format!("/invitations/{id}")).await;
    assert_eq!(read["message"], inv["message"]);

    // The invitee's validation answers it too: it is what the landing page shows.
    let resp = client()
        .get(daemon.at("/api/v1/join/welcome-1"))
        .send()
        .await
        .unwrap();
    let offer: Value = resp.json().await.unwrap();
    assert_eq!(offer["message"], inv["message"]);
    assert!(offer.get("note").is_none(), "the admin note stays private");

    // Absent keeps it; a change replaces it; null (or blank) clears it.
    let (_, body) = api
        .patch(&format!("/invitations/{id}"), json!({ "max_uses": 5 }))
        .await;
    assert_eq!(body["message"], inv["message"]);
    let long = "y".repeat(1000);
    let (status, body) = api
        .patch(&format!("/invitations/{id}"), json!({ "message": long }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"].as_str().unwrap().chars().count(), 1000);
    let (status, body) = api
        .patch(&format!("/invitations/{id}"), json!({ "message": null }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["message"].is_null());
    let (_, body) = api
        .patch(&format!("/invitations/{id}"), json!({ "message": " \n " }))
        .await;
    assert!(body["message"].is_null());
    let offer: Value = client()
        .get(daemon.at("/api/v1/join/welcome-1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(offer["message"].is_null());
}

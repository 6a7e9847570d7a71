//! Operations through the real daemon: the scheduler and its job records, live settings,
//! invitation expiry, user-expiry enforcement, library and user sync against the stateful fake
//! Jellyfin, the dashboard.

use crate::domain::{Api, code, public_post};
use crate::support::{Daemon, client};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use zondarr_fakes::jellyfin::{Failure, JellyfinFake};

/// Poll `check` every 200 ms until it returns `Some`, failing after `limit`.
async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn rfc3339_in(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn runs(api: &Api, query: &str) -> Value {
    let (status, body) = api.get(&format!("/jobs?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_invitation_is_refused_at_once_and_marked_by_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with(
        dir.path(),
        &[],
        &[("ZONDARR_JOBS_EXPIRY_INTERVAL_SECS", "1")],
    );
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;

    // The environment locks the interval: shown as locked, and a change is refused.
    let (_, settings) = api.get("/settings").await;
    let interval = settings["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "jobs.expiry_interval_secs")
        .unwrap()
        .clone();
    assert_eq!(interval["locked"], true, "{interval}");
    assert_eq!(interval["value"], 1);
    assert_eq!(interval["source"], "env");
    let (status, body) = api
        .patch("/settings", json!({ "jobs.expiry_interval_secs": 60 }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ZONDARR_JOBS_EXPIRY_INTERVAL_SECS"),
        "{body}"
    );

    let (status, inv) = api
        .post(
            "/invitations",
            json!({ "code": "soon-gone", "servers": [{ "server_id": server }], "expires_at": rfc3339_in(2) }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    let id = inv["id"].as_i64().unwrap();
    assert_eq!(inv["status"], "active");
    let resp = client()
        .get(daemon.at("/api/v1/join/soon-gone"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    tokio::time::sleep(Duration::from_millis(2200)).await;
    // Inactive as soon as the time passes, job or not.
    let resp = client()
        .get(daemon.at("/api/v1/join/soon-gone"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/soon-gone",
        json!({ "username": "late", "password": "a fine password" }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "INVITE_INVALID")
    );
    assert!(fake.user("late").is_none());

    // And the job marks it.
    let marked = eventually(Duration::from_secs(15), "the expiry mark", || async {
        let (_, inv) = api.get(&format!("/invitations/{id}")).await;
        (inv["closed_reason"] == "expired").then_some(inv)
    })
    .await;
    assert_eq!(marked["status"], "expired");
    assert!(marked["closed_at"].is_string());
    let (_, dash) = api.get("/dashboard").await;
    assert_eq!(
        dash["invitations"],
        json!({ "active": 0, "pending": 0, "used_up": 0, "expired": 1, "disabled": 0, "library_missing": 0 })
    );
    let (_, listed) = api.get("/invitations?status=expired").await;
    assert_eq!(listed["total"], 1);
    let recorded = runs(
        &api,
        "job=invitation_expiry&trigger=automatic&outcome=succeeded",
    )
    .await;
    assert!(
        recorded["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["counts"]["expired"] == 1),
        "{recorded}"
    );

    // Extending it reopens it on the next run.
    let (status, _) = api
        .patch(
            &format!("/invitations/{id}"),
            json!({ "expires_at": rfc3339_in(3600) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    eventually(Duration::from_secs(15), "the reopening", || async {
        let (_, inv) = api.get(&format!("/invitations/{id}")).await;
        inv["closed_at"].is_null().then_some(())
    })
    .await;
    let (_, dash) = api.get("/dashboard").await;
    assert_eq!(
        (
            dash["invitations"]["active"].clone(),
            dash["invitations"]["pending"].clone()
        ),
        (json!(1), json!(1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_whose_access_ended_is_disabled_on_the_next_run_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    api.post(
        "/invitations",
        json!({ "code": "x", "servers": [{ "server_id": server }] }),
    )
    .await;
    for name in ["finn", "gale"] {
        let (status, body) = public_post(
            &daemon,
            "/api/v1/join/x",
            json!({ "username": name, "password": "a fine password" }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, users) = api.get("/users?sort=username").await;
    let finn = users["items"][0]["id"].as_i64().unwrap();
    let gale = users["items"][1]["id"].as_i64().unwrap();
    // finn's access ended an hour ago; gale's ends tomorrow.
    api.patch(
        &format!("/users/{finn}"),
        json!({ "expires_at": rfc3339_in(-3600) }),
    )
    .await;
    api.patch(
        &format!("/users/{gale}"),
        json!({ "expires_at": rfc3339_in(86_400) }),
    )
    .await;

    // A grace period keeps it for now; the preview says so.
    let (status, _) = api
        .patch("/settings", json!({ "expiry.grace_hours": 2 }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, preview) = api.get("/expiry/preview").await;
    assert_eq!(preview["total"], 0, "{preview}");
    let (_, settings) = api
        .patch("/settings", json!({ "expiry.grace_hours": null }))
        .await;
    let grace = settings["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "expiry.grace_hours")
        .unwrap()
        .clone();
    assert_eq!(
        (grace["value"].clone(), grace["source"].clone()),
        (json!(0), json!("default"))
    );

    let (_, preview) = api.get("/expiry/preview").await;
    assert_eq!(preview["total"], 1, "{preview}");
    assert_eq!(preview["items"][0]["username"], "finn");
    assert_eq!(preview["items"][0]["action"], "disable");
    assert!(
        !fake.user("finn").unwrap().flag("IsDisabled"),
        "the preview changes nothing"
    );

    // Turn the schedule on from the API: the next run disables finn on the server.
    let (status, body) = api
        .patch("/settings", json!({ "jobs.expiry_interval_secs": 1 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually(Duration::from_secs(15), "finn disabled", || async {
        fake.user("finn").unwrap().flag("IsDisabled").then_some(())
    })
    .await;
    let user = eventually(Duration::from_secs(10), "the local record", || async {
        let (_, u) = api.get(&format!("/users/{finn}")).await;
        (u["expiry_action"] == "disabled").then_some(u)
    })
    .await;
    assert_eq!(user["enabled"], false);
    assert!(!fake.user("gale").unwrap().flag("IsDisabled"));
    let (_, gale_now) = api.get(&format!("/users/{gale}")).await;
    assert_eq!(gale_now["enabled"], true);

    let (_, audit) = api.get("/audit?action=user.expire").await;
    assert_eq!(audit["total"], 1, "{audit}");
    let event = &audit["items"][0];
    assert_eq!(event["actor"], "system");
    assert_eq!(event["target"], format!("user:{finn}"));
    assert_eq!(event["outcome"], "success");
    let recorded = runs(&api, "job=user_expiry&outcome=succeeded").await;
    assert!(
        recorded["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["counts"]["disabled"] == 1 && r["trigger"] == "automatic"),
        "{recorded}"
    );
    // Taken once: later runs leave it alone.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, audit) = api.get("/audit?action=user.expire").await;
    assert_eq!(audit["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_sync_interval_takes_effect_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    // A second server hangs when asked for its users.
    let slow_fake = JellyfinFake::start().await;
    let slow = api.add_jellyfin("Slow", &slow_fake).await;
    slow_fake.fail_next_on("GET", "/Users", Failure::Hang);

    // Default: every 6 hours, so nothing has run.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(runs(&api, "job=user_sync").await["total"], 0);

    let (status, body) = api
        .patch("/settings", json!({ "jobs.sync_interval_secs": 1 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let run = eventually(
        Duration::from_secs(15),
        "an automatic user sync",
        || async {
            let body = runs(
                &api,
                &format!("job=user_sync&trigger=automatic&outcome=succeeded&server_id={server}"),
            )
            .await;
            body["items"].as_array().unwrap().first().cloned()
        },
    )
    .await;
    assert_eq!(run["server_name"], "Home");
    // The slow server holds up nothing, and its sync never overlaps itself: ticks every
    // second find it still running and skip it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let home_runs = runs(&api, &format!("job=user_sync&server_id={server}")).await;
    assert!(home_runs["total"].as_i64().unwrap() >= 2, "{home_runs}");
    let slow_runs = runs(&api, &format!("job=user_sync&server_id={slow}")).await;
    assert_eq!(slow_runs["total"], 1, "{slow_runs}");
    assert_eq!(slow_runs["items"][0]["outcome"], "running");
    assert!(
        runs(&api, "job=library_sync&trigger=automatic").await["total"]
            .as_i64()
            .unwrap()
            >= 1
    );

    // Switching it off stops the schedule (at most a run already started completes).
    api.patch("/settings", json!({ "jobs.sync_interval_secs": 0 }))
        .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let settled = runs(&api, "job=user_sync").await["total"].clone();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(runs(&api, "job=user_sync").await["total"], settled);

    // Rate limits are live settings too.
    let (status, _) = api
        .patch("/settings", json!({ "security.join_per_ip_per_minute": 2 }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let resp = client()
            .get(daemon.at("/api/v1/join/nope"))
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, vec![404, 404, 429]);

    // Bad input names the field.
    let (status, body) = api
        .patch(
            "/settings",
            json!({ "jobs.sync_interval_secs": -5, "expiry.action": "explode", "nope": 1, "listen": "x" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for f in ["jobs.sync_interval_secs", "expiry.action", "nope", "listen"] {
        assert!(fields.contains(&f), "{f} in {body}");
    }

    let (_, audit) = api.get("/audit?action=settings.update").await;
    assert!(audit["total"].as_i64().unwrap() >= 3, "{audit}");
}

fn usernames(users: &Value) -> Vec<String> {
    let mut names: Vec<String> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_sync_imports_outside_accounts_and_keeps_excluded_ones_out() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    fake.add_user("outsider", "pw");

    // A dry run reports without changing anything.
    let (status, report) = api
        .post(
            &format!("/servers/{server}/sync"),
            json!({ "what": "users", "dry_run": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["dry_run"], true);
    assert!(report["libraries"].is_null());
    assert_eq!(report["users"]["counts"]["imported"], 2, "{report}");
    assert_eq!(api.get("/users").await.1["total"], 0);

    let (status, report) = api
        .post(&format!("/servers/{server}/sync"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["users"]["outcome"], "succeeded");
    assert_eq!(report["users"]["trigger"], "manual");
    assert_eq!(report["libraries"]["outcome"], "succeeded");
    let (_, users) = api.get("/users").await;
    assert_eq!(usernames(&users), vec!["admin", "outsider"], "{users}");
    let outsider = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "outsider")
        .unwrap()
        .clone();
    assert_eq!(outsider["source"], "sync");

    // Changes on the server are taken over; a second sync imports nothing new.
    fake.edit_policy(&fake.user("outsider").unwrap().id, |p| {
        p.insert("IsDisabled".into(), json!(true));
    });
    let (_, report) = api
        .post(
            &format!("/servers/{server}/sync"),
            json!({ "what": "users" }),
        )
        .await;
    assert_eq!(report["users"]["counts"]["imported"], 0, "{report}");
    assert_eq!(report["users"]["counts"]["updated"], 1, "{report}");
    let (_, now) = api.get(&format!("/users/{}", outsider["id"])).await;
    assert_eq!(now["enabled"], false);

    // Removed from Zondarr only: excluded, and not imported again.
    let (status, _) = api
        .delete(&format!("/users/{}?keep_remote=true", outsider["id"]))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(fake.user("outsider").is_some(), "kept on the server");
    let (_, report) = api
        .post(
            &format!("/servers/{server}/sync"),
            json!({ "what": "users" }),
        )
        .await;
    assert_eq!(report["users"]["counts"]["imported"], 0, "{report}");
    assert_eq!(report["users"]["counts"]["excluded"], 1, "{report}");
    assert_eq!(usernames(&api.get("/users").await.1), vec!["admin"]);
    let (_, exclusions) = api.get(&format!("/servers/{server}/exclusions")).await;
    assert_eq!(exclusions["total"], 1);
    assert_eq!(exclusions["items"][0]["username"], "outsider");

    // Lifting the exclusion brings it back.
    let ext = exclusions["items"][0]["external_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = api
        .delete(&format!("/servers/{server}/exclusions/{ext}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    api.post(
        &format!("/servers/{server}/sync"),
        json!({ "what": "users" }),
    )
    .await;
    assert_eq!(
        usernames(&api.get("/users").await.1),
        vec!["admin", "outsider"]
    );

    // Library sync adds and removes.
    fake.add_library("Audiobooks", Some("books"));
    let (_, report) = api
        .post(
            &format!("/servers/{server}/sync"),
            json!({ "what": "libraries" }),
        )
        .await;
    assert_eq!(report["libraries"]["counts"]["added"], 1, "{report}");
    assert_eq!(
        report["libraries"]["counts"]["added_names"][0],
        "Audiobooks"
    );

    // The dashboard sees all of it.
    let (status, dash) = api.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dash["users"]["total"], 2, "{dash}");
    assert_eq!(dash["users"]["disabled"], 1, "{dash}");
    assert_eq!(dash["server_counts"]["healthy"], 1, "{dash}");
    assert_eq!(dash["servers"][0]["health"], "healthy");
    assert!(dash["servers"][0]["last_sync_at"].is_string());
    assert!(dash["plugins"]["loaded"].as_i64().unwrap() >= 2);
    assert!(!dash["recent_jobs"].as_array().unwrap().is_empty());
    assert!(!dash["recent_activity"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_remote_user_list_is_refused_by_the_safety_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    fake.add_user("a", "pw");
    fake.add_user("b", "pw");
    let (status, _) = api
        .post(
            &format!("/servers/{server}/sync"),
            json!({ "what": "users" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.get("/users").await.1["total"], 3);

    // A misconfigured server answers an empty list.
    fake.fail_next_on("GET", "/Users", Failure::Garbage("[]".into()));
    let (status, body) = api
        .post(
            &format!("/servers/{server}/sync"),
            json!({ "what": "users" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "SYNC_REFUSED"),
        "{body}"
    );
    let (_, users) = api.get("/users").await;
    assert!(
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["vanished_at"].is_null()),
        "nothing marked: {users}"
    );
    let refused = runs(&api, "job=user_sync&outcome=refused").await;
    assert_eq!(refused["total"], 1);
    assert_eq!(refused["items"][0]["counts"]["vanished"], 3);

    // One account really gone is within the threshold and is marked, never deleted.
    let b = fake.user("b").unwrap().id;
    assert!(fake.remove_user(&b));
    let (status, report) = api
        .post(
            &format!("/servers/{server}/sync"),
            json!({ "what": "users" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["users"]["counts"]["vanished"], 1);
    let (_, users) = api.get("/users").await;
    assert_eq!(users["total"], 3, "kept");
    let gone = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "b")
        .unwrap()
        .clone();
    assert!(gone["vanished_at"].is_string());
    let (_, listed) = api.get("/users?vanished=true").await;
    assert_eq!(usernames(&listed), vec!["b"]);
    assert_eq!(api.get("/users?vanished=false").await.1["total"], 2);
    let (_, dash) = api.get("/dashboard").await;
    assert_eq!(dash["users"]["vanished"], 1);

    // With force an admin can apply what the threshold held back.
    fake.fail_next_on("GET", "/Users", Failure::Garbage("[]".into()));
    let (status, report) = api
        .post(
            &format!("/servers/{server}/sync"),
            json!({ "what": "users", "force": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["users"]["counts"]["vanished"], 2);
}

#[tokio::test]
async fn the_public_url_chosen_at_setup_is_a_live_setting_that_later_changes_keep() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let http = client();
    let resp = http
        .post(daemon.at("/api/v1/setup"))
        .json(&json!({ "username": "admin", "password": crate::support::ADMIN_PASSWORD, "public_url": "https://media.example.org/" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me: Value = http
        .get(daemon.at("/api/v1/auth/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = me["auth"]["csrf_token"].as_str().unwrap().to_owned();
    let public_url = |settings: &Value| {
        settings["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == "public_url")
            .map(|s| (s["value"].clone(), s["source"].clone()))
            .unwrap()
    };
    let send = |req: reqwest::RequestBuilder| {
        req.header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .send()
    };
    let settings: Value = send(http.get(daemon.at("/api/v1/settings")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        public_url(&settings),
        (json!("https://media.example.org"), json!("app"))
    );
    // Changing another setting keeps it.
    let resp = send(
        http.patch(daemon.at("/api/v1/settings"))
            .json(&json!({ "jobs.keep_days": 10 })),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let settings: Value = resp.json().await.unwrap();
    assert_eq!(
        public_url(&settings),
        (json!("https://media.example.org"), json!("app"))
    );
    // And it is still the trusted origin for cookie-authenticated changes.
    for days in [11, 12] {
        let resp = http
            .patch(daemon.at("/api/v1/settings"))
            .header("cookie", &cookie)
            .header("origin", "https://media.example.org")
            .json(&json!({ "jobs.keep_days": days }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
}

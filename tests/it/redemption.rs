//! Redemption safety under faults (docs/redemption.md): the saga is the daemon's, not the
//! request's; only accounts a redemption provably made are ever deleted; unknown outcomes are
//! resolved; uses are never released twice; a double click is one attempt.

use crate::domain::{Api, code, public_post};
use crate::support::{Daemon, client};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use zondarr_fakes::jellyfin::{ADMIN_NAME, Failure, JellyfinFake};
use zondarr_fakes::plex::PlexFake;

/// Settings every test here starts the daemon with: generous join budgets, short plugin limits
/// (so a hanging server is a quick test).
const FAST: &[(&str, &str)] = &[
    ("ZONDARR_SECURITY_JOIN_PER_IP_PER_MINUTE", "10000"),
    ("ZONDARR_SECURITY_JOIN_REDEEM_PER_IP_PER_MINUTE", "10000"),
    ("ZONDARR_SECURITY_JOIN_POLL_PER_IP_PER_MINUTE", "10000"),
    ("ZONDARR_PLUGINS_HTTP_TIMEOUT_SECS", "2"),
    ("ZONDARR_PLUGINS_CALL_TIMEOUT_SECS", "4"),
];

fn start(dir: &std::path::Path, extra: &[(&str, &str)]) -> Daemon {
    let env: Vec<(&str, &str)> = FAST.iter().chain(extra).copied().collect();
    Daemon::start_with(dir, &[], &env)
}

async fn invite(api: &Api, code: &str, servers: &[i64], max_uses: Option<i64>) -> i64 {
    let servers: Vec<Value> = servers.iter().map(|s| json!({ "server_id": s })).collect();
    let mut body = json!({ "code": code, "servers": servers });
    if let Some(n) = max_uses {
        body["max_uses"] = json!(n);
    }
    let (status, inv) = api.post("/invitations", body).await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    inv["id"].as_i64().unwrap()
}

async fn use_count(api: &Api, invitation: i64) -> i64 {
    api.get(&format!("/invitations/{invitation}")).await.1["use_count"]
        .as_i64()
        .unwrap()
}

/// Polls `check` every 50 ms until it holds, failing with `what` after `secs`.
async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The redemption journal, read from the database file.
fn journal(dir: &std::path::Path) -> Vec<(String, Vec<String>)> {
    let db = rusqlite::Connection::open(dir.join("zondarr.db")).unwrap();
    let mut stmt = db
        .prepare("SELECT id, state FROM redemptions ORDER BY id")
        .unwrap();
    let rows: Vec<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.into_iter()
        .map(|(id, state)| {
            let mut stmt = db
                .prepare(
                    "SELECT state FROM redemption_steps WHERE redemption_id = ?1 ORDER BY rowid",
                )
                .unwrap();
            let steps = stmt
                .query_map([id], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (state, steps)
        })
        .collect()
}

async fn audit(api: &Api, action: &str) -> Vec<Value> {
    let (_, body) = api.get(&format!("/audit?action={action}")).await;
    body["items"].as_array().cloned().unwrap_or_default()
}

/// The review's attack: an invitee redeems with the name of an existing account (and of the
/// server's administrator), the server is slow to answer the name check, the invitee closes the
/// connection and the daemon is killed. After a restart and a recovery run, both accounts are
/// still there: nothing proves the redemption made them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_never_deletes_an_account_the_redemption_did_not_make() {
    let dir = tempfile::tempdir().unwrap();
    let fake = JellyfinFake::start().await;
    let erin = fake.add_user("erin", "erins own password");
    let key = {
        let daemon = start(
            dir.path(),
            &[
                ("ZONDARR_PLUGINS_HTTP_TIMEOUT_SECS", "30"),
                ("ZONDARR_PLUGINS_CALL_TIMEOUT_SECS", "60"),
            ],
        );
        let api = Api::new(&daemon).await;
        let server = api.add_jellyfin("Home", &fake).await;
        invite(&api, "grab", &[server], None).await;
        for name in ["erin", ADMIN_NAME] {
            fake.fail_next_on("GET", "/Users", Failure::Hang);
            let url = daemon.at("/api/v1/join/grab");
            let body = json!({ "username": name, "password": "a fine password" });
            // The invitee gives up after 300 ms (the connection is closed).
            let _ = client()
                .post(url)
                .timeout(Duration::from_millis(300))
                .json(&body)
                .send()
                .await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(daemon); // SIGKILL
        api.key.clone()
    };
    let daemon = start(dir.path(), &[]);
    let api = Api::with_key(&daemon, key);
    let (status, run) = api.post("/jobs/redemption_recovery/run", json!({})).await;
    assert!(status.is_success(), "{run}");
    assert!(fake.user(&erin).is_some(), "erin's account still exists");
    assert!(
        fake.user(ADMIN_NAME).is_some(),
        "the administrator still exists"
    );
    assert!(audit(&api, "redemption.account_removed").await.is_empty());
    let recovered = audit(&api, "redemption.recover").await;
    assert_eq!(
        recovered.len(),
        2,
        "both interrupted redemptions were settled and audited"
    );
    for (state, steps) in journal(dir.path()) {
        assert_eq!(state, "compensated");
        assert_ne!(steps, vec!["compensated".to_owned()], "nothing was deleted");
    }
}

/// A create whose answer never comes (the plugin call times out after the server made the
/// account) is resolved by the proof: the name was free right before the call, so the account is
/// this redemption's, and it is deleted by its id. The audit log names it.
#[tokio::test]
async fn an_unknown_create_outcome_is_resolved_and_undone_by_remote_id() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = start(dir.path(), &[]);
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    let inv = invite(&api, "lost", &[server], None).await;
    let before = fake.users().len();

    fake.fail_next_on("POST", "/Users/New", Failure::HandledThenHang);
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/lost",
        json!({ "username": "frank", "password": "a fine password" }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "SERVER_UNAVAILABLE"),
        "{body}"
    );
    assert_eq!(
        fake.users().len(),
        before,
        "the account the server made was removed again"
    );
    assert_eq!(use_count(&api, inv).await, 0, "the use was released");
    let removed = audit(&api, "redemption.account_removed").await;
    assert_eq!(removed.len(), 1, "{removed:?}");
    let detail = &removed[0]["detail"];
    assert_eq!(detail["server"], "Home");
    assert_eq!(detail["username"], "frank");
    assert_eq!(detail["remote_id"].as_str().unwrap().len(), 32, "{detail}");
    assert_eq!(journal(dir.path())[0].1, vec!["compensated".to_owned()]);

    // The name is free again.
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/lost",
        json!({ "username": "frank", "password": "a fine password" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Issue 22: a join no longer downloads the server's user list. On a Jellyfin fake with 1,000
/// accounts a join sends no `GET /Users` (Jellyfin has no query by name, so a name check would
/// be the whole list); the account is created with the redemption's one-time password and then
/// gets the invitee's password by its id, so the invitee signs in with their own password and the
/// one-time one no longer works. A taken name is still refused (the server's own 400), and the
/// existing account is untouched.
#[tokio::test]
async fn a_join_does_not_download_the_user_list() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = start(dir.path(), &[]);
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    fake.seed_users(1000);
    let server = api.add_jellyfin("Home", &fake).await;
    invite(&api, "big", &[server], None).await;
    fake.clear_requests();

    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/big",
        json!({ "username": "grace", "password": "graces password" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let lines: Vec<String> = fake.requests().iter().map(|r| r.line()).collect();
    assert!(
        !lines
            .iter()
            .any(|l| l == "GET /Users" || l.starts_with("GET /Users?")),
        "a join listed the users: {lines:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| *l == "POST /Users/New").count(),
        1,
        "{lines:?}"
    );
    let grace = fake.user("grace").expect("the account exists");
    assert!(fake.check_password(&grace.id, "graces password"));
    let (_, users) = api.get("/users?page_size=10&search=grace").await;
    assert_eq!(
        users["items"][0]["external_id"]
            .as_str()
            .map(|e| e.replace('-', "")),
        Some(grace.id.replace('-', "")),
        "{users}"
    );
    let journal = journal(dir.path());
    assert_eq!(
        journal,
        vec![("completed".to_owned(), vec!["created".to_owned()])]
    );

    // A taken name: the server refuses it, nothing is made or removed.
    let taken = fake.user("user00042").unwrap();
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/big",
        json!({ "username": "USER00042", "password": "a fine password" }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "USERNAME_TAKEN"),
        "{body}"
    );
    assert!(fake.check_password(&taken.id, "password"), "untouched");
    assert_eq!(fake.users().len(), 1000 + 2, "seeded, the admin and grace");
    assert!(audit(&api, "redemption.account_removed").await.is_empty());
}

/// The one-time password is what proves the account is this redemption's: when the server
/// refuses the invitee's password after the account was made, the account (known by the id the
/// create answered) is deleted again, and a pre-existing account of another name is not touched.
#[tokio::test]
async fn a_refused_password_after_the_create_removes_the_new_account() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = start(dir.path(), &[]);
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    let inv = invite(&api, "pw", &[server], None).await;
    let before = fake.users().len();
    fake.fail_next_on("POST", "/Users/Password", Failure::Status(400));
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/pw",
        json!({ "username": "heidi", "password": "a fine password" }),
    )
    .await;
    assert!(status.is_client_error(), "{status} {body}");
    assert_eq!(fake.users().len(), before, "the new account was removed");
    assert!(fake.user("heidi").is_none());
    assert_eq!(use_count(&api, inv).await, 0, "the use was released");
    let removed = audit(&api, "redemption.account_removed").await;
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0]["detail"]["username"], "heidi");
}

/// The one case the one-time password cannot settle: Emby's connector creates the account and
/// sets its password in two requests, and the call dies between them (the plugin's time limit
/// ends while the password request hangs). The account then has no password: the one-time
/// password does not sign in, an empty one does, so the account is reported, never deleted (it
/// could be someone else's passwordless account).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passwordless_account_left_by_a_dead_call_is_reported_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    // The call's limit ends while the password request hangs (the HTTP limit is longer); it is
    // generous so that a busy machine does not end the call before the create is sent.
    let daemon = start(
        dir.path(),
        &[
            ("ZONDARR_PLUGINS_HTTP_TIMEOUT_SECS", "30"),
            ("ZONDARR_PLUGINS_CALL_TIMEOUT_SECS", "6"),
        ],
    );
    let api = Api::new(&daemon).await;
    let fake = zondarr_fakes::emby::EmbyFake::start().await;
    let server = crate::media::add_server(
        &api,
        "emby",
        fake.base_url(),
        json!({ "api_key": fake.api_key() }),
    )
    .await;
    let inv = invite(&api, "half", &[server], None).await;
    fake.fail_next_on("POST", "/Users/*/Password", Failure::Hang);
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/half",
        json!({ "username": "ivan", "password": "a fine password" }),
    )
    .await;
    assert!(!status.is_success(), "{status} {body}");
    let sent: Vec<String> = fake.requests().iter().map(|r| r.line()).collect();
    let ivan = fake
        .user("ivan")
        .unwrap_or_else(|| panic!("the half-made account is left; requests: {sent:?}"));
    assert_eq!(ivan.password, "", "it has no password");
    assert_eq!(use_count(&api, inv).await, 0, "the use was released");
    assert!(audit(&api, "redemption.account_removed").await.is_empty());
    let reported = audit(&api, "redemption.unresolved").await;
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert_eq!(reported[0]["detail"]["username"], "ivan");
    assert_eq!(
        journal(dir.path()),
        vec![("unresolved".to_owned(), vec!["reported".to_owned()])]
    );
}

/// The client goes away in the middle: the saga carries on to a recorded end, here a complete
/// one, and the same attempt key then answers with its result instead of a second attempt.
#[tokio::test]
async fn a_client_that_disconnects_does_not_stop_the_redemption() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = start(dir.path(), &[]);
    let api = Api::new(&daemon).await;
    let (first, second) = (JellyfinFake::start().await, JellyfinFake::start().await);
    let s1 = api.add_jellyfin("One", &first).await;
    let s2 = api.add_jellyfin("Two", &second).await;
    let inv = invite(&api, "walkaway", &[s1, s2], Some(1)).await;

    second.fail_next_on("POST", "/Users/New", Failure::Delay(1500));
    let body = json!({ "username": "gail", "password": "a fine password", "attempt": "gail-attempt-0001" });
    let gone = client()
        .post(daemon.at("/api/v1/join/walkaway"))
        .timeout(Duration::from_millis(400))
        .json(&body)
        .send()
        .await;
    assert!(gone.is_err(), "the client gave up before the answer");
    eventually(10, "both accounts and the identity", || async {
        api.get("/users?search=gail").await.1["total"] == 2
    })
    .await;
    assert!(first.user("gail").is_some() && second.user("gail").is_some());
    assert_eq!(use_count(&api, inv).await, 1);

    // Retrying with the same key answers the finished attempt; no second account is tried.
    let (status, again) = public_post(&daemon, "/api/v1/join/walkaway", body).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["state"], "completed");
    assert_eq!(again["accounts"].as_array().unwrap().len(), 2);
    assert_eq!(journal(dir.path()).len(), 1, "one attempt");
}

/// A redemption slower than the request's wait answers 202 with a handle; polling it ends in the
/// accounts. A double click (two requests with the same key at once) is one attempt.
#[tokio::test]
async fn a_slow_redemption_answers_in_progress_and_a_double_click_is_one_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = start(
        dir.path(),
        &[("ZONDARR_SECURITY_JOIN_REDEEM_WAIT_SECS", "1")],
    );
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    invite(&api, "slow", &[server], None).await;

    fake.fail_next_on("POST", "/Users/New", Failure::Delay(1700));
    let body = json!({ "username": "hank", "password": "a fine password", "attempt": "hank-double-click-1" });
    let (a, b) = tokio::join!(
        public_post(&daemon, "/api/v1/join/slow", body.clone()),
        public_post(&daemon, "/api/v1/join/slow", body.clone()),
    );
    for (status, answer) in [&a, &b] {
        assert_eq!(*status, StatusCode::ACCEPTED, "{answer}");
        assert_eq!(answer["state"], "in_progress");
    }
    assert_eq!(a.1["handle"], b.1["handle"], "the same attempt");
    let handle = a.1["handle"].as_str().unwrap().to_owned();
    assert!(handle.len() >= 22, "an unguessable handle: {handle}");

    let poll = daemon.at(&format!("/api/v1/join/slow/redemptions/{handle}"));
    let deadline = Instant::now() + Duration::from_secs(15);
    let done = loop {
        let resp = client().get(&poll).send().await.unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        if status == StatusCode::OK {
            break body;
        }
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert!(Instant::now() < deadline, "the redemption never completed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["accounts"][0]["username"], "hank");
    let created: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/Users/New")
        .collect();
    assert_eq!(created.len(), 1, "one account creation for two clicks");

    // Another invitation's code does not reveal this redemption.
    invite(&api, "other", &[server], None).await;
    let resp = client()
        .get(daemon.at(&format!("/api/v1/join/other/redemptions/{handle}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

/// 500 concurrent redemptions of a 10-use invitation while clients randomly give up: exactly ten
/// accounts, every one tracked, none orphaned, and the use count agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_racing_redemptions_with_disconnects_give_exactly_the_allowed_accounts() {
    let dir = tempfile::tempdir().unwrap();
    // Generous limits: this test is about races and disconnects, not slow servers (under load
    // a 2 s limit would leave some outcomes for the periodic recovery to settle).
    let daemon = start(
        dir.path(),
        &[
            ("ZONDARR_PLUGINS_HTTP_TIMEOUT_SECS", "20"),
            ("ZONDARR_PLUGINS_CALL_TIMEOUT_SECS", "40"),
        ],
    );
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    let inv = invite(&api, "storm", &[server], Some(10)).await;
    let before = fake.users().len();

    let mut tasks = Vec::new();
    for i in 0..500u64 {
        let url = daemon.at("/api/v1/join/storm");
        // Every third client gives up after a few milliseconds.
        let timeout = if i % 3 == 0 {
            Duration::from_millis(2 + i % 20)
        } else {
            Duration::from_secs(30)
        };
        tasks.push(tokio::spawn(async move {
            let _ = client()
                .post(url)
                .timeout(timeout)
                .json(&json!({ "username": format!("storm{i}"), "password": "a fine password" }))
                .send()
                .await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    eventually(120, "every saga settled", || async {
        journal(dir.path())
            .iter()
            .all(|(state, _)| state != "pending")
    })
    .await;
    let made = fake.users().len() - before;
    let (_, users) = api
        .get(&format!("/users?invitation_id={inv}&page_size=100"))
        .await;
    assert_eq!(made, 10, "exactly the accounts allowed");
    assert_eq!(users["total"], 10, "every account tracked");
    let tracked: Vec<&str> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    for user in fake.users().iter().filter(|u| u.name.starts_with("storm")) {
        assert!(
            tracked.contains(&user.name.as_str()),
            "{} is orphaned",
            user.name
        );
    }
    assert_eq!(use_count(&api, inv).await, 10);
}

/// The fault matrix: at every remote call of the saga (name check and creation, on the first and
/// on the second of two servers, and on a single server), each fault — the client closing the
/// connection, the daemon killed, the plugin call timing out, the plugin trapping, the server
/// answering 500 — ends, after a restart and a recovery run, with: every account that exists on
/// the servers tracked by exactly one Zondarr user, no account that existed before removed, and
/// the use count equal to the completed redemptions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix_leaves_nothing_orphaned_lost_or_double_counted() {
    #[derive(Debug, Clone, Copy)]
    enum Fault {
        Disconnect,
        Kill,
        PluginTimeout,
        Trap,
        Remote500,
    }
    let faults = [
        Fault::Disconnect,
        Fault::Kill,
        Fault::PluginTimeout,
        Fault::Trap,
        Fault::Remote500,
    ];
    // (servers, index of the faulty server, the call). A join sends `POST /Users/New` with the
    // one-time password, then `POST /Users/Password` with the invitee's (no `GET /Users` since
    // issue 22, so the list is no fault point any more).
    let points: [(usize, usize, (&str, &str)); 6] = [
        (1, 0, ("POST", "/Users/Password")),
        (1, 0, ("POST", "/Users/New")),
        (2, 0, ("POST", "/Users/Password")),
        (2, 0, ("POST", "/Users/New")),
        (2, 1, ("POST", "/Users/Password")),
        (2, 1, ("POST", "/Users/New")),
    ];
    let mut cases = Vec::new();
    for point in points {
        for fault in faults {
            cases.push((point, fault));
        }
    }
    for ((servers, faulty, (method, path)), fault) in cases {
        let case = format!("{servers} server(s), {method} {path} on #{faulty}, {fault:?}");
        // A plugin timeout: the call's wall-clock limit ends before the server's answer would.
        // A trap: an answer larger than the plugin's memory.
        let env: &[(&str, &str)] = match fault {
            Fault::PluginTimeout => &[
                ("ZONDARR_PLUGINS_HTTP_TIMEOUT_SECS", "10"),
                ("ZONDARR_PLUGINS_CALL_TIMEOUT_SECS", "2"),
            ],
            Fault::Trap => &[("ZONDARR_PLUGINS_MEMORY_MIB", "16")],
            _ => &[],
        };
        let dir = tempfile::tempdir().unwrap();
        let fakes = [JellyfinFake::start().await, JellyfinFake::start().await];
        let mut daemon = Some(start(dir.path(), env));
        let api = Api::new(daemon.as_ref().unwrap()).await;
        let mut ids = Vec::new();
        for (i, fake) in fakes.iter().take(servers).enumerate() {
            ids.push(api.add_jellyfin(&format!("S{i}"), fake).await);
        }
        let inv = invite(&api, "matrix", &ids, None).await;
        let existing: Vec<Vec<String>> = fakes
            .iter()
            .map(|f| f.users().into_iter().map(|u| u.id).collect())
            .collect();
        let failure = match fault {
            Fault::Disconnect | Fault::Kill => Failure::Delay(1500),
            Fault::PluginTimeout => Failure::HandledThenHang,
            Fault::Trap => Failure::HandledThenHuge(40 * 1024 * 1024),
            Fault::Remote500 => Failure::Status(500),
        };
        fakes[faulty].fail_next_on(method, path, failure);
        let url = daemon.as_ref().unwrap().at("/api/v1/join/matrix");
        let request = client()
            .post(url)
            .json(&json!({ "username": "mallory", "password": "a fine password" }));
        match fault {
            Fault::Disconnect => {
                let _ = request.timeout(Duration::from_millis(500)).send().await;
            }
            Fault::Kill => {
                let _ = request.timeout(Duration::from_millis(500)).send().await;
                daemon = None; // SIGKILL mid-call
            }
            _ => {
                let _ = request.send().await;
            }
        }
        drop(daemon);
        assert!(
            fakes[faulty]
                .requests()
                .iter()
                .any(|r| r.injected.is_some()),
            "{case}: the fault was never hit"
        );
        tokio::time::sleep(Duration::from_millis(1800)).await;
        let daemon = start(dir.path(), env);
        let api = Api::with_key(&daemon, api.key.clone());
        let (status, _) = api.post("/jobs/redemption_recovery/run", json!({})).await;
        assert!(status.is_success(), "{case}");

        let states: Vec<String> = journal(dir.path()).into_iter().map(|(s, _)| s).collect();
        assert!(!states.iter().any(|s| s == "pending"), "{case}: {states:?}");
        let completed = states.iter().filter(|s| *s == "completed").count() as i64;
        assert_eq!(use_count(&api, inv).await, completed, "{case}");
        let (_, users) = api.get("/users?page_size=100").await;
        let tracked: Vec<(i64, String)> = users["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["source"] == "invitation")
            .map(|u| {
                (
                    u["server_id"].as_i64().unwrap(),
                    u["external_id"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        for (i, fake) in fakes.iter().take(servers).enumerate() {
            let now: Vec<String> = fake.users().into_iter().map(|u| u.id).collect();
            for id in &existing[i] {
                assert!(
                    now.contains(id),
                    "{case}: a pre-existing account was removed"
                );
            }
            for id in now.iter().filter(|id| !existing[i].contains(id)) {
                let owners = tracked
                    .iter()
                    .filter(|(s, e)| *s == ids[i] && e.replace('-', "") == id.replace('-', ""))
                    .count();
                assert_eq!(
                    owners, 1,
                    "{case}: account {id} on S{i} is tracked {owners} times"
                );
            }
        }
    }
}

/// Starts "Sign in with Plex" on the invitation `code`, approves the PIN on the fake plex.tv as
/// `user_id`, polls until linked, and returns the link handle.
async fn link_plex(
    daemon: &Daemon,
    dir: &std::path::Path,
    plex: &PlexFake,
    code: &str,
    user_id: u64,
) -> String {
    let (status, started) = public_post(
        daemon,
        &format!("/api/v1/join/{code}/oauth/plex"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let link = started["link"].as_str().unwrap().to_owned();
    assert!(link.len() >= 22, "an unguessable link handle: {link}");
    let pin_id: String = rusqlite::Connection::open(dir.join("zondarr.db"))
        .unwrap()
        .query_row(
            "SELECT pin_id FROM join_links WHERE handle = ?1",
            [&link],
            |r| r.get(0),
        )
        .unwrap();
    assert!(plex.approve_pin(&pin_id, user_id));
    let linked: Value = client()
        .get(daemon.at(&format!("/api/v1/join/{code}/oauth/plex/{link}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(linked["status"], "linked");
    link
}

/// A Plex invitee who already had a share of the server keeps it when the redemption is rolled
/// back because a second server failed: the share was adopted, not created.
#[tokio::test]
async fn an_adopted_plex_share_survives_a_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = start(dir.path(), &[]);
    let api = Api::new(&daemon).await;
    let plex = PlexFake::start().await;
    let jellyfin = JellyfinFake::start().await;
    let plex_id = api.add_plex("Plex", &plex).await;
    let jelly_id = api.add_jellyfin("Jelly", &jellyfin).await;
    let inv = invite(&api, "both", &[plex_id, jelly_id], None).await;

    let robin = plex.add_account("robin", "robin@example.org");
    let section = plex.sections()[0].key.clone();
    plex.share(robin.id, &[section.as_str()], true);
    assert_eq!(plex.shares_of(robin.id).len(), 1);

    let link = link_plex(&daemon, dir.path(), &plex, "both", robin.id).await;

    jellyfin.fail_next_on("POST", "/Users/New", Failure::Status(500));
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/both",
        json!({ "username": "robin", "password": "a fine password", "links": { "plex": link } }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "SERVER_UNAVAILABLE"),
        "{body}"
    );
    assert_eq!(
        plex.shares_of(robin.id).len(),
        1,
        "the share robin had before is kept"
    );
    assert!(audit(&api, "redemption.account_removed").await.is_empty());
    assert_eq!(use_count(&api, inv).await, 0);
    assert_eq!(
        journal(dir.path())[0].1,
        vec!["kept".to_owned(), "failed".to_owned()]
    );

    // The link is usable again, and this time the redemption completes; a second redemption
    // with the same Plex account is refused before anything is made.
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/both",
        json!({ "username": "robin", "password": "a fine password", "links": { "plex": link } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let link2 = link_plex(&daemon, dir.path(), &plex, "both", robin.id).await;
    let requests_before = jellyfin.requests().len();
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/both",
        json!({ "username": "robin2", "password": "a fine password", "links": { "plex": link2 } }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "ALREADY_MEMBER"),
        "{body}"
    );
    assert_eq!(
        jellyfin.requests().len(),
        requests_before,
        "nothing was called"
    );
}

/// Invitee text is normalised and refused when it hides what it is, on every path (a Plex-only
/// invitation included); the join budgets are separate, so polling does not use up redeeming.
#[tokio::test]
async fn invitee_text_is_normalised_and_budgets_are_separate() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with(
        dir.path(),
        &[],
        &[("ZONDARR_SECURITY_JOIN_PER_IP_PER_MINUTE", "5")],
    );
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    invite(&api, "text", &[server], None).await;

    for bad in [
        "er\u{200B}in",
        "admin\u{202E}nimda",
        "\u{0430}dmin",
        "ｆｕｌｌ",
        "a\u{0000}b",
    ] {
        let (status, body) = public_post(
            &daemon,
            "/api/v1/join/text",
            json!({ "username": bad, "password": "a fine password" }),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED"),
            "{bad:?}: {body}"
        );
        assert_eq!(body["error"]["fields"][0]["field"], "username");
    }
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/text",
        json!({ "username": "José", "password": "a fine password", "email": "j@example.org\u{200B}" }),
    )
    .await;
    assert_eq!(
        body["error"]["fields"][0]["field"], "email",
        "{status} {body}"
    );
    // "José" with a combining accent is stored in NFC.
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/text",
        json!({ "username": "Jose\u{0301}", "password": "a fine password" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(fake.user("Jos\u{00E9}").is_some());

    // Ten checks use up the check budget of 5 …
    for _ in 0..10 {
        let _ = client()
            .get(daemon.at("/api/v1/join/text"))
            .send()
            .await
            .unwrap();
    }
    let resp = client()
        .get(daemon.at("/api/v1/join/text"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    // … and the invitee can still redeem.
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/text",
        json!({ "username": "ivy", "password": "a fine password" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// SIGTERM while a redemption runs: the daemon lets it finish (within the grace period) before
/// it exits, so the journal is complete and the account tracked without any recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_running_redemption_finish() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = start(dir.path(), &[]);
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    let inv = invite(&api, "closing", &[server], None).await;

    fake.fail_next_on("POST", "/Users/New", Failure::Delay(1500));
    // The invitee's request is gone; only the daemon's saga is left running.
    let _ = client()
        .post(daemon.at("/api/v1/join/closing"))
        .timeout(Duration::from_millis(300))
        .json(&json!({ "username": "jules", "password": "a fine password" }))
        .send()
        .await;
    eventually(10, "the creation request reached the server", || async {
        fake.requests()
            .iter()
            .any(|r| r.method == "POST" && r.path == "/Users/New")
    })
    .await;
    let status = tokio::task::spawn_blocking(move || daemon.terminate())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(fake.user("jules").is_some());
    assert_eq!(
        journal(dir.path()),
        vec![("completed".to_owned(), vec!["created".to_owned()])],
        "finished before the daemon exited"
    );
    let daemon = start(dir.path(), &[]);
    let api = Api::with_key(&daemon, api.key.clone());
    assert_eq!(use_count(&api, inv).await, 1);
    assert_eq!(api.get("/users?search=jules").await.1["total"], 1);
}

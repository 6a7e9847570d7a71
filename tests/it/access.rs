//! Access that must be neither lost nor kept by mistake (issue 13, items 5 and 6), through the
//! real daemon, the real bundled connectors and the stateful fakes: invitations keep their
//! libraries whatever library sync sees, and an expired Plex user really loses access.

use crate::domain::{Api, code, public_post};
use crate::support::Daemon;
use reqwest::StatusCode;
use serde_json::{Value, json};
use zondarr_fakes::jellyfin::{Failure, JellyfinFake};
use zondarr_fakes::plex::{Fault, PlexFake, Side};

fn rfc3339_in(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `/Library/VirtualFolders` as the fake Jellyfin would answer it for these (id, name) pairs,
/// in this order (kinds as the fake has them): what it answers once, for a server whose
/// libraries changed.
fn folders(fake: &JellyfinFake, libraries: &[(&str, &str)]) -> String {
    let kinds = fake.libraries();
    Value::Array(
        libraries
            .iter()
            .map(|(id, name)| {
                let mut folder = json!({ "Name": name, "ItemId": id });
                if let Some(kind) = kinds
                    .iter()
                    .find(|l| l.id == *id)
                    .and_then(|l| l.collection_type.clone())
                {
                    folder["CollectionType"] = json!(kind);
                }
                folder
            })
            .collect(),
    )
    .to_string()
}

async fn sync_libraries(api: &Api, server: i64) -> (StatusCode, Value) {
    api.post(
        &format!("/servers/{server}/sync"),
        json!({ "what": "libraries" }),
    )
    .await
}

/// The server's libraries as (row id, external id, name, missing).
async fn libraries(api: &Api, server: i64) -> Vec<(i64, String, String, bool)> {
    let (status, libs) = api.get(&format!("/servers/{server}/libraries")).await;
    assert_eq!(status, StatusCode::OK, "{libs}");
    libs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["id"].as_i64().unwrap(),
                l["external_id"].as_str().unwrap().to_owned(),
                l["name"].as_str().unwrap().to_owned(),
                !l["missing_since"].is_null(),
            )
        })
        .collect()
}

/// The invitation's offered libraries on its first server as (row id, name, missing).
fn offered(inv: &Value) -> Vec<(i64, String, bool)> {
    inv["servers"][0]["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["id"].as_i64().unwrap(),
                l["name"].as_str().unwrap().to_owned(),
                l["missing"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// A Jellyfin server with its four libraries and an invitation `code` offering two of them (the
/// second and the fourth by name); returns (server, invitation, the fake's libraries by name).
async fn restricted_invitation(
    api: &Api,
    fake: &JellyfinFake,
    code: &str,
) -> (i64, i64, Vec<(String, String)>) {
    let server = api.add_jellyfin("Home", fake).await;
    let libs = libraries(api, server).await;
    assert_eq!(libs.len(), 4, "{libs:?}");
    let chosen = vec![libs[1].0, libs[3].0];
    let (status, inv) = api
        .post(
            "/invitations",
            json!({ "code": code, "servers": [{ "server_id": server, "libraries": chosen }] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    let remote = fake
        .libraries()
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect();
    (server, inv["id"].as_i64().unwrap(), remote)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_library_answer_changes_nothing_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let (server, inv, _) = restricted_invitation(&api, &fake, "keep").await;
    let before = libraries(&api, server).await;
    let (_, shown) = api.get(&format!("/invitations/{inv}")).await;
    let offered_before = offered(&shown);
    assert_eq!(offered_before.len(), 2);

    // A misconfigured server (or proxy) answers an empty list.
    fake.fail_next_on(
        "GET",
        "/Library/VirtualFolders",
        Failure::Garbage("[]".into()),
    );
    let (status, body) = sync_libraries(&api, server).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "SYNC_REFUSED"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was changed"),
        "{body}"
    );
    assert_eq!(libraries(&api, server).await, before, "nothing changed");
    let (_, shown) = api.get(&format!("/invitations/{inv}")).await;
    assert_eq!(offered(&shown), offered_before);
    assert_eq!(shown["libraries_missing"], false);

    // Recorded as a refused library sync with what it would have done.
    let (_, refused) = api.get("/jobs?job=library_sync&outcome=refused").await;
    assert_eq!(refused["total"], 1, "{refused}");
    let run = &refused["items"][0];
    assert_eq!(run["counts"]["gone"], 4, "{run}");
    assert_eq!(run["counts"]["remote"], 0, "{run}");
    assert!(
        run["error"]
            .as_str()
            .unwrap()
            .contains("max_vanished_percent")
    );

    // A full sync still syncs the users when its library part is refused, and answers the
    // refusal.
    fake.fail_next_on(
        "GET",
        "/Library/VirtualFolders",
        Failure::Garbage("[]".into()),
    );
    let (status, body) = api
        .post(&format!("/servers/{server}/sync"), json!({ "what": "all" }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "SYNC_REFUSED"),
        "{body}"
    );
    let (_, user_runs) = api.get("/jobs?job=user_sync&outcome=succeeded").await;
    assert_eq!(user_runs["total"], 1, "{user_runs}");
    assert_eq!(libraries(&api, server).await, before);

    // With force the admin can apply it: the offered libraries are kept (marked missing), the
    // others are deleted.
    fake.fail_next_on(
        "GET",
        "/Library/VirtualFolders",
        Failure::Garbage("[]".into()),
    );
    let (status, report) = api
        .post(
            &format!("/servers/{server}/sync"),
            json!({ "what": "libraries", "force": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["libraries"]["counts"]["missing"], 2, "{report}");
    assert_eq!(report["libraries"]["counts"]["removed"], 2, "{report}");
    let after = libraries(&api, server).await;
    let kept: Vec<i64> = after.iter().map(|l| l.0).collect();
    let offered_ids: Vec<i64> = offered_before.iter().map(|l| l.0).collect();
    assert_eq!(kept.len(), 2);
    assert!(offered_ids.iter().all(|id| kept.contains(id)), "{after:?}");
    assert!(after.iter().all(|l| l.3), "both marked missing: {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_keeps_its_libraries_through_renames_reorders_and_a_brief_absence() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let (server, inv, remote) = restricted_invitation(&api, &fake, "steady").await;
    let (_, shown) = api.get(&format!("/invitations/{inv}")).await;
    let before = offered(&shown);
    let ids: Vec<i64> = before.iter().map(|l| l.0).collect();
    let ext_of = |name: &str| {
        remote
            .iter()
            .find(|(_, n)| n == name)
            .map(|(id, _)| id.clone())
            .unwrap()
    };
    let first = before[0].1.clone();
    let second = before[1].1.clone();
    let others: Vec<(String, String)> = remote
        .iter()
        .filter(|(_, n)| n != &first && n != &second)
        .cloned()
        .collect();

    // Renamed and listed in reverse order.
    let renamed = format!("{first} (4K)");
    let (first_ext, second_ext) = (ext_of(&first), ext_of(&second));
    let answer = folders(
        &fake,
        &[
            (&second_ext, &second),
            (&others[1].0, &others[1].1),
            (&first_ext, &renamed),
            (&others[0].0, &others[0].1),
        ],
    );
    fake.fail_next_on("GET", "/Library/VirtualFolders", Failure::Garbage(answer));
    let (status, report) = sync_libraries(&api, server).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["libraries"]["counts"]["updated"], 1, "{report}");
    let (_, shown) = api.get(&format!("/invitations/{inv}")).await;
    let now: Vec<(i64, String, bool)> = offered(&shown);
    assert_eq!(now.iter().map(|l| l.0).collect::<Vec<_>>(), ids);
    assert!(now.iter().any(|l| l.1 == renamed), "{shown}");

    // One offered library is briefly absent (one of four: within the threshold), then back.
    let answer = folders(
        &fake,
        &[
            (&first_ext, &renamed),
            (&others[0].0, &others[0].1),
            (&others[1].0, &others[1].1),
        ],
    );
    fake.fail_next_on("GET", "/Library/VirtualFolders", Failure::Garbage(answer));
    let (status, absent) = sync_libraries(&api, server).await;
    assert_eq!(status, StatusCode::OK, "{absent}");
    let (status, back) = sync_libraries(&api, server).await;
    assert_eq!(status, StatusCode::OK, "{back}");
    let (_, shown) = api.get(&format!("/invitations/{inv}")).await;
    assert_eq!(
        offered(&shown).iter().map(|l| l.0).collect::<Vec<_>>(),
        ids,
        "the same rows, none lost: {shown}"
    );
    assert_eq!(absent["libraries"]["counts"]["missing"], 1, "{absent}");
    assert_eq!(back["libraries"]["counts"]["returned"], 1, "{back}");
    assert_eq!(shown["libraries_missing"], false);

    // Redemption grants exactly the two offered libraries.
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/steady",
        json!({ "username": "iris", "password": "a fine password" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let policy = fake.policy(&fake.user("iris").unwrap().id).unwrap();
    assert_eq!(policy["EnableAllFolders"], false, "{policy}");
    let mut granted: Vec<String> = policy["EnabledFolders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().replace('-', "").to_ascii_lowercase())
        .collect();
    granted.sort();
    let mut want = vec![first_ext.clone(), second_ext.clone()];
    want.sort();
    assert_eq!(granted, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_library_is_marked_missing_flagged_counted_and_refuses_redemption() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let (server, inv, remote) = restricted_invitation(&api, &fake, "gone").await;
    let (_, shown) = api.get(&format!("/invitations/{inv}")).await;
    let before = offered(&shown);
    let (gone_id, gone_name) = (before[0].0, before[0].1.clone());
    let (_, dash) = api.get("/dashboard").await;
    assert_eq!(dash["invitations"]["library_missing"], 0, "{dash}");

    // The server stops listing one offered library and one that nothing offers.
    let unoffered = remote
        .iter()
        .find(|(_, n)| before.iter().all(|l| &l.1 != n))
        .unwrap()
        .1
        .clone();
    let listed: Vec<(&str, &str)> = remote
        .iter()
        .filter(|(_, n)| n != &gone_name && n != &unoffered)
        .map(|(id, n)| (id.as_str(), n.as_str()))
        .collect();
    fake.fail_next_on(
        "GET",
        "/Library/VirtualFolders",
        Failure::Garbage(folders(&fake, &listed)),
    );
    let (status, report) = sync_libraries(&api, server).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let counts = &report["libraries"]["counts"];
    assert_eq!(
        (counts["missing"].as_i64(), counts["removed"].as_i64()),
        (Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(counts["missing_names"], json!([gone_name]));
    let libs = libraries(&api, server).await;
    assert_eq!(libs.len(), 3, "the unoffered one is deleted: {libs:?}");
    let gone = libs.iter().find(|l| l.0 == gone_id).expect("kept");
    assert!(gone.3, "marked missing: {libs:?}");

    // The invitation view flags it, the dashboard counts it.
    let (_, shown) = api.get(&format!("/invitations/{inv}")).await;
    assert_eq!(shown["libraries_missing"], true, "{shown}");
    assert_eq!(shown["servers"][0]["libraries_missing"], true, "{shown}");
    let flags: Vec<(i64, bool)> = offered(&shown).iter().map(|l| (l.0, l.2)).collect();
    assert_eq!(flags, vec![(gone_id, true), (before[1].0, false)]);
    let (_, listed) = api.get("/invitations").await;
    assert_eq!(listed["items"][0]["libraries_missing"], true);
    let (_, dash) = api.get("/dashboard").await;
    assert_eq!(dash["invitations"]["library_missing"], 1, "{dash}");

    // A missing library cannot be offered anew.
    let (status, body) = api
        .post(
            "/invitations",
            json!({ "servers": [{ "server_id": server, "libraries": [gone_id] }] }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED"),
        "{body}"
    );

    // Redemption is refused with the new code and creates nothing.
    let users_before = fake.users().len();
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/gone",
        json!({ "username": "jules", "password": "a fine password" }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "INVITATION_LIBRARY_MISSING"),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("no longer exists on Home"), "{message}");
    assert!(fake.user("jules").is_none());
    assert_eq!(fake.users().len(), users_before, "nothing created");
    let (_, shown) = api.get(&format!("/invitations/{inv}")).await;
    assert_eq!(shown["use_count"], 0, "no use taken");

    // The library comes back: unmarked, and the invitation works again with both libraries.
    let (status, report) = sync_libraries(&api, server).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["libraries"]["counts"]["returned"], 1, "{report}");
    let (_, shown) = api.get(&format!("/invitations/{inv}")).await;
    assert_eq!(shown["libraries_missing"], false, "{shown}");
    let (_, dash) = api.get("/dashboard").await;
    assert_eq!(dash["invitations"]["library_missing"], 0);
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/gone",
        json!({ "username": "jules", "password": "a fine password" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let policy = fake.policy(&fake.user("jules").unwrap().id).unwrap();
    assert_eq!(
        policy["EnabledFolders"].as_array().unwrap().len(),
        2,
        "{policy}"
    );
}

/// A Plex server with a friend (`kim`) who has an accepted share of two libraries, imported by
/// user sync, whose access ended an hour ago; returns (server, kim's user id, kim's plex.tv id).
async fn plex_with_an_expired_friend(api: &Api, plex: &PlexFake) -> (i64, i64, u64) {
    let server = api.add_plex("Plex", plex).await;
    let key = plex.sections()[0].key.clone();
    let key2 = plex.sections()[1].key.clone();
    let kim = plex.add_account("kim", "kim@example.org");
    plex.add_friend(kim.id);
    plex.share(kim.id, &[&key, &key2], true);
    let (status, report) = api
        .post(
            &format!("/servers/{server}/sync"),
            json!({ "what": "users" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let (_, users) = api.get(&format!("/users?server_id={server}")).await;
    let user = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "kim")
        .unwrap_or_else(|| panic!("kim imported: {users}"))["id"]
        .as_i64()
        .unwrap();
    let (status, body) = api
        .patch(
            &format!("/users/{user}"),
            json!({ "expires_at": rfc3339_in(-3600) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (server, user, kim.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_plex_user_loses_the_share_with_default_settings_audited_once() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let plex = PlexFake::start().await;
    let (_, user, kim) = plex_with_an_expired_friend(&api, &plex).await;

    // Default settings: action disable, which Plex cannot do, fallback remove_libraries.
    let (_, preview) = api.get("/expiry/preview").await;
    assert_eq!(
        preview["items"][0]["action"], "remove_libraries",
        "{preview}"
    );

    let (status, run) = api.post("/jobs/user_expiry/run", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["counts"]["access_removed"], 1, "{run}");
    assert_eq!(run["counts"]["failed"], 0, "{run}");
    assert!(plex.shares_of(kim).is_empty(), "the share is gone");
    assert!(plex.is_friend(kim), "only this server's share is removed");
    let (_, shown) = api.get(&format!("/users/{user}")).await;
    assert_eq!(shown["expiry_action"], "access_removed", "{shown}");

    let (_, audit) = api.get("/audit?action=user.expire").await;
    assert_eq!(audit["total"], 1, "{audit}");
    assert_eq!(audit["items"][0]["outcome"], "success");
    assert_eq!(audit["items"][0]["detail"]["result"], "access_removed");

    // Done once: the next run leaves it alone and audits nothing.
    let (status, run) = api.post("/jobs/user_expiry/run", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["counts"]["access_removed"], 0, "{run}");
    assert_eq!(run["counts"]["failed"], 0, "{run}");
    let (_, audit) = api.get("/audit?action=user.expire").await;
    assert_eq!(audit["total"], 1, "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiry_that_cannot_be_enforced_is_reported_once_not_on_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let plex = PlexFake::start().await;
    let (_, user, kim) = plex_with_an_expired_friend(&api, &plex).await;
    // plex.tv refuses to remove the share (400: the connector's invalid-input), every time.
    let machine = plex.machine_identifier();
    plex.fail_always(
        Side::PlexTv,
        &format!("/api/servers/{machine}/shared_servers/"),
        Fault::Status(400),
    );

    let (status, run) = api.post("/jobs/user_expiry/run", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["counts"]["failed"], 1, "{run}");
    assert_eq!(run["counts"]["access_removed"], 0, "{run}");
    assert_eq!(plex.shares_of(kim).len(), 1, "the share is still there");
    let (_, shown) = api.get(&format!("/users/{user}")).await;
    assert_eq!(shown["expiry_action"], "failed", "{shown}");
    let (_, audit) = api.get("/audit?action=user.expire").await;
    assert_eq!(audit["total"], 1, "{audit}");
    let event = &audit["items"][0];
    assert_eq!(event["outcome"], "failure");
    assert!(
        event["detail"]["error"]
            .as_str()
            .unwrap()
            .contains("remove the access by hand"),
        "{event}"
    );

    // Reported once: later runs neither try again nor audit again.
    let (_, run) = api.post("/jobs/user_expiry/run", json!({})).await;
    assert_eq!(run["counts"]["failed"], 0, "{run}");
    let (_, audit) = api.get("/audit?action=user.expire").await;
    assert_eq!(audit["total"], 1, "{audit}");

    // Extending the expiry clears the mark; once it ends again and plex.tv works, it is done.
    plex.clear_faults();
    api.patch(
        &format!("/users/{user}"),
        json!({ "expires_at": rfc3339_in(-60) }),
    )
    .await;
    let (_, run) = api.post("/jobs/user_expiry/run", json!({})).await;
    assert_eq!(run["counts"]["access_removed"], 1, "{run}");
    assert!(plex.shares_of(kim).is_empty());
}

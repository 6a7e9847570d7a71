//! The bundled Emby connector through the real daemon against the stateful fake Emby
//! (`tests/fakes/src/emby.rs`); every request it sends is checked against the official Emby
//! 4.8.11.0 OpenAPI document (the committed excerpt).

use reqwest::StatusCode;
use serde_json::json;
use zondarr_fakes::emby::{ADMIN_NAME, ADMIN_PASSWORD, EmbyFake};

use crate::domain::code;
use crate::media;

fn config(fake: &EmbyFake) -> serde_json::Value {
    json!({ "api_key": fake.api_key() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emby_invitee_gets_exactly_the_offered_libraries_and_is_managed_to_the_end() {
    let fake = EmbyFake::start().await;
    let media::Started {
        daemon,
        api,
        server,
        dir: _dir,
    } = media::start_with_server(
        "emby",
        fake.base_url(),
        config(&fake),
        json!({ "api_key": "wrong" }),
    )
    .await;
    // Library ids are Emby's Guids, which EnabledFolders takes, not the numeric ids.
    let guids: Vec<String> = fake.libraries().into_iter().map(|l| l.guid).collect();
    let chosen = media::invite_two_of_three(
        &api,
        server,
        "emby-family",
        json!({ "allow_downloads": false, "simultaneous_streams": 2 }),
    )
    .await;
    assert!(chosen.iter().all(|id| guids.contains(id)), "{chosen:?}");

    let took = media::redeem(
        &daemon,
        "emby-family",
        json!({ "username": "cousin", "password": "a fine password" }),
    )
    .await;
    eprintln!("emby: redemption took {took:?}");
    let remote = fake.user("cousin").expect("the account exists on Emby");
    assert_eq!(remote.password, "a fine password");
    assert!(!remote.flag("EnableAllFolders"));
    assert_eq!(remote.enabled_folders(), chosen);
    assert!(!remote.flag("EnableContentDownloading"));
    assert_eq!(remote.policy["SimultaneousStreamLimit"], 2);
    assert!(remote.flag("EnableMediaPlayback"), "defaults are kept");

    let user = media::user(&api, server, "cousin").await;
    let id = user["id"].as_i64().unwrap();
    assert_eq!(user["external_id"], remote.id.as_str());

    // Disable and enable.
    let (status, body) = api.post(&format!("/users/{id}/disable"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(fake.user(&remote.id).unwrap().flag("IsDisabled"));
    api.post(&format!("/users/{id}/enable"), json!({})).await;
    assert!(!fake.user(&remote.id).unwrap().flag("IsDisabled"));

    // Change libraries and a permission; the rest of the policy stays.
    let wanted = media::set_libraries(&api, server, id, &[1]).await;
    let policy = fake.user(&remote.id).unwrap();
    assert_eq!(policy.enabled_folders(), wanted);
    assert_eq!(policy.policy["SimultaneousStreamLimit"], 2);
    let (status, _) = api
        .call(
            reqwest::Method::PUT,
            &format!("/users/{id}/permissions"),
            Some(json!({ "permissions": { "allow_live_tv": false } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!fake.user(&remote.id).unwrap().flag("EnableLiveTvAccess"));
    let (status, _) = api
        .post(
            &format!("/users/{id}/password"),
            json!({ "password": "another fine one" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(fake.user(&remote.id).unwrap().password, "another fine one");

    // An account made in Emby itself is imported by user sync; the admin is marked.
    let made = fake.add_user("walk-in", "pw");
    media::sync_users(&api, server).await;
    let imported = media::user(&api, server, "walk-in").await;
    assert_eq!(imported["external_id"], made.as_str());
    let admin = media::user(&api, server, "admin").await;
    assert_eq!(admin["kind"], "admin", "{admin}");
    // Zondarr never changes an administrator.
    let (status, body) = api
        .post(&format!("/users/{}/disable", admin["id"]), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "REMOTE_INVALID_INPUT"),
        "{body}"
    );
    assert!(!fake.user("admin").unwrap().flag("IsDisabled"));

    // Expiry: the default action (disable) is what Emby does.
    let run = media::expire(&api, imported["id"].as_i64().unwrap()).await;
    assert_eq!(run["counts"]["disabled"], 1, "{run}");
    assert!(fake.user(&made).unwrap().flag("IsDisabled"));

    // Delete.
    assert_eq!(
        api.delete(&format!("/users/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert!(fake.user(&remote.id).is_none());

    // Admin sign-in with Emby's own AuthenticateByName, each check's session logged out again.
    fake.add_user("viewer", "viewer password");
    media::admin_sign_in(
        &api,
        &daemon,
        server,
        (ADMIN_NAME, ADMIN_PASSWORD),
        ("viewer", "viewer password"),
    )
    .await;
    assert!(fake.sessions().is_empty(), "every sign-in check logged out");

    media::assert_contract(&media::specs("emby-"), &fake.requests());
}

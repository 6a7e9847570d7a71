//! The bundled Audiobookshelf connector through the real daemon against the stateful fake
//! Audiobookshelf (`tests/fakes/src/audiobookshelf.rs`). Audiobookshelf's published OpenAPI
//! document has no user endpoints; the fake follows its source.

use reqwest::StatusCode;
use serde_json::json;
use zondarr_fakes::audiobookshelf::{AudiobookshelfFake, ROOT_NAME};

use crate::domain::code;
use crate::media;

fn config(fake: &AudiobookshelfFake) -> serde_json::Value {
    json!({ "api_token": fake.token() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audiobookshelf_invitee_gets_exactly_the_offered_libraries_and_is_managed() {
    let fake = AudiobookshelfFake::start().await;
    let media::Started {
        daemon,
        api,
        server,
        dir: _dir,
    } = media::start_with_server(
        "audiobookshelf",
        fake.base_url(),
        config(&fake),
        json!({ "api_token": "wrong" }),
    )
    .await;
    let chosen = media::invite_two_of_three(
        &api,
        server,
        "abs-club",
        json!({ "allow_downloads": false, "allow_explicit": true }),
    )
    .await;
    let took = media::redeem(
        &daemon,
        "abs-club",
        json!({ "username": "listener", "password": "a fine password" }),
    )
    .await;
    eprintln!("audiobookshelf: redemption took {took:?}");
    let remote = fake.user("listener").expect("the account exists");
    assert_eq!(remote["password"], "a fine password");
    assert_eq!(
        remote["isActive"], true,
        "active (Audiobookshelf defaults to inactive)"
    );
    assert_eq!(remote["permissions"]["accessAllLibraries"], false);
    assert_eq!(remote["librariesAccessible"], json!(chosen));
    assert_eq!(remote["permissions"]["download"], false);
    assert_eq!(remote["permissions"]["accessExplicitContent"], true);
    let remote_id = remote["id"].as_str().unwrap().to_owned();

    let user = media::user(&api, server, "listener").await;
    let id = user["id"].as_i64().unwrap();
    assert_eq!(user["external_id"], remote_id.as_str());

    let (status, body) = api.post(&format!("/users/{id}/disable"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(fake.user(&remote_id).unwrap()["isActive"], false);
    api.post(&format!("/users/{id}/enable"), json!({})).await;
    assert_eq!(fake.user(&remote_id).unwrap()["isActive"], true);

    let wanted = media::set_libraries(&api, server, id, &[1]).await;
    assert_eq!(
        fake.user(&remote_id).unwrap()["librariesAccessible"],
        json!(wanted)
    );
    let (status, _) = api
        .call(
            reqwest::Method::PUT,
            &format!("/users/{id}/permissions"),
            Some(json!({ "permissions": { "allow_upload": true } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let after = fake.user(&remote_id).unwrap();
    assert_eq!(after["permissions"]["upload"], true);
    assert_eq!(after["permissions"]["download"], false, "others kept");
    let (status, _) = api
        .post(
            &format!("/users/{id}/password"),
            json!({ "password": "another fine one" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        fake.user(&remote_id).unwrap()["password"],
        "another fine one"
    );

    let made = fake.add_user("walk-in");
    media::sync_users(&api, server).await;
    let imported = media::user(&api, server, "walk-in").await;
    assert_eq!(imported["external_id"], made.as_str());
    let root = media::user(&api, server, ROOT_NAME).await;
    assert_eq!(root["kind"], "admin", "{root}");
    let (status, body) = api
        .post(&format!("/users/{}/disable", root["id"]), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "REMOTE_INVALID_INPUT"),
        "{body}"
    );
    assert_eq!(fake.user(ROOT_NAME).unwrap()["isActive"], true);

    let run = media::expire(&api, imported["id"].as_i64().unwrap()).await;
    assert_eq!(run["counts"]["disabled"], 1, "{run}");
    assert_eq!(fake.user(&made).unwrap()["isActive"], false);

    assert_eq!(
        api.delete(&format!("/users/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert!(fake.user(&remote_id).is_none());

    // Admin sign-in with Audiobookshelf's own /login, each check's session logged out again.
    fake.add_account("keeper", "keeper password", "admin");
    fake.add_account("listener2", "listener password", "user");
    media::admin_sign_in(
        &api,
        &daemon,
        server,
        ("keeper", "keeper password"),
        ("listener2", "listener password"),
    )
    .await;
    assert!(fake.sessions().is_empty(), "every sign-in check logged out");
}

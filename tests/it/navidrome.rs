//! The bundled Navidrome connector through the real daemon against the stateful fake Navidrome
//! (`tests/fakes/src/navidrome.rs`). Navidrome publishes no OpenAPI document for its native API;
//! the fake follows its source, and the test checks that only the native API is used (never
//! Subsonic), that every request carries the session token of the daemon's own sign-in, and that
//! the daemon signs in once and again only after Navidrome ended the session.

use reqwest::StatusCode;
use serde_json::json;
use zondarr_fakes::navidrome::{ADMIN_NAME, ADMIN_PASSWORD, NavidromeFake};

use crate::domain::code;
use crate::media;

fn config() -> serde_json::Value {
    json!({ "username": ADMIN_NAME, "password": ADMIN_PASSWORD })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_navidrome_invitee_gets_exactly_the_offered_libraries_through_the_native_api() {
    let fake = NavidromeFake::start().await;
    let media::Started {
        daemon,
        api,
        server,
        dir: _dir,
    } = media::start_with_server(
        "navidrome",
        fake.base_url(),
        config(),
        json!({ "username": ADMIN_NAME, "password": "wrong" }),
    )
    .await;
    let chosen = media::invite_two_of_three(&api, server, "nd-club", json!({})).await;
    let took = media::redeem(
        &daemon,
        "nd-club",
        json!({ "username": "listener", "password": "a fine password", "email": "l@example.org" }),
    )
    .await;
    eprintln!("navidrome: redemption took {took:?}");
    let remote = fake
        .user("listener")
        .expect("the account exists on Navidrome");
    assert!(!remote.is_admin);
    assert_eq!(remote.password, "a fine password");
    assert_eq!(remote.email, "l@example.org");
    let libraries: Vec<String> = remote.libraries.iter().map(i64::to_string).collect();
    assert_eq!(
        libraries, chosen,
        "exactly the offered libraries, not Navidrome's defaults for new users"
    );

    let user = media::user(&api, server, "listener").await;
    let id = user["id"].as_i64().unwrap();
    assert_eq!(user["external_id"], remote.id.as_str());

    let wanted = media::set_libraries(&api, server, id, &[1]).await;
    let libraries: Vec<String> = fake
        .user("listener")
        .unwrap()
        .libraries
        .iter()
        .map(i64::to_string)
        .collect();
    assert_eq!(libraries, wanted);
    let (status, _) = api
        .post(
            &format!("/users/{id}/password"),
            json!({ "password": "another fine one" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let after = fake.user("listener").unwrap();
    assert_eq!(after.password, "another fine one");
    assert_eq!(after.email, "l@example.org", "the rest of the user is kept");

    // Sync imports an account made in Navidrome; the admin is marked and left alone.
    let made = fake.add_user("walk-in");
    media::sync_users(&api, server).await;
    let imported = media::user(&api, server, "walk-in").await;
    assert_eq!(imported["external_id"], made.as_str());
    let admin = media::user(&api, server, ADMIN_NAME).await;
    assert_eq!(admin["kind"], "admin", "{admin}");
    let (status, body) = api.delete(&format!("/users/{}", admin["id"])).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "REMOTE_INVALID_INPUT"),
        "{body}"
    );
    assert!(fake.user(ADMIN_NAME).is_some());

    // Expiry: Navidrome can neither disable nor leave a user without libraries, so with the
    // default settings the daemon's fallback ends the access by deleting the account.
    let run = media::expire(&api, imported["id"].as_i64().unwrap()).await;
    assert_eq!(run["counts"]["access_removed"], 1, "{run}");
    assert!(fake.user(&made).is_none());

    assert_eq!(
        api.delete(&format!("/users/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert!(fake.user("listener").is_none());

    // One sign-in served every call so far; when Navidrome ends the session, the daemon signs
    // in again once and the call goes through.
    assert_eq!(
        fake.sign_ins(),
        [ADMIN_NAME],
        "one sign-in, reused across calls"
    );
    fake.expire_tokens();
    media::sync_users(&api, server).await;
    assert_eq!(fake.sign_ins(), [ADMIN_NAME, ADMIN_NAME]);
    media::sync_users(&api, server).await;
    assert_eq!(fake.sign_ins().len(), 2, "the new session is kept");

    let requests = fake.requests();
    assert!(!requests.is_empty());
    let tokens: Vec<String> = fake.with(|n| n.tokens.iter().map(|(t, _)| t.clone()).collect());
    for request in &requests {
        if request.path == "/auth/login" {
            assert_eq!(request.method, "POST");
            assert_eq!(request.header("x-nd-authorization"), None);
            continue;
        }
        assert!(
            request.path.starts_with("/api/"),
            "only the native API: {}",
            request.line()
        );
        let bearer = request.header("x-nd-authorization").unwrap_or_default();
        assert!(
            bearer.starts_with("Bearer ") && request.header("remote-user").is_none(),
            "{}",
            request.line()
        );
    }
    let refused = requests
        .iter()
        .filter(|r| r.path != "/auth/login" && r.response.as_ref().is_some_and(|a| a.status == 401))
        .count();
    assert_eq!(refused, 1, "only the request after the expiry was refused");
    assert_eq!(tokens.len(), 1, "only the new session is live");

    // Admin sign-in with Navidrome's /auth/login as the person signing in (not the daemon's
    // session, which the fake would refuse to see on a sign-in).
    fake.add_account("guest", "guest password", false);
    media::admin_sign_in(
        &api,
        &daemon,
        server,
        (ADMIN_NAME, ADMIN_PASSWORD),
        ("guest", "guest password"),
    )
    .await;
    assert_eq!(
        fake.sign_ins()[2..],
        ["guest", ADMIN_NAME],
        "the checks signed in as those people"
    );
}

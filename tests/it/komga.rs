//! The bundled Komga connector through the real daemon against the stateful fake Komga
//! (`tests/fakes/src/komga.rs`); every request it sends is checked against the official Komga
//! 1.26.3 OpenAPI document (the committed excerpt).

use reqwest::StatusCode;
use serde_json::json;
use zondarr_fakes::komga::{ADMIN_EMAIL, ADMIN_PASSWORD, KomgaFake};

use crate::domain::{code, public_post};
use crate::media;

fn config(fake: &KomgaFake) -> serde_json::Value {
    json!({ "api_key": fake.api_key() })
}

fn roles(fake: &KomgaFake, id: &str) -> Vec<String> {
    let mut roles = fake.user(id).unwrap().roles;
    roles.sort();
    roles
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_komga_invitee_signs_in_with_their_email_and_loses_the_libraries_on_expiry() {
    let fake = KomgaFake::start().await;
    let media::Started {
        daemon,
        api,
        server,
        dir: _dir,
    } = media::start_with_server(
        "komga",
        fake.base_url(),
        config(&fake),
        json!({ "api_key": "wrong" }),
    )
    .await;
    let chosen = media::invite_two_of_three(
        &api,
        server,
        "komga-club",
        json!({ "allow_downloads": false, "allow_kobo_sync": true }),
    )
    .await;

    // Komga's login is the e-mail address: without one, nothing is made and the invitee is
    // asked for other input (the join page shows the daemon's own sentence).
    let (status, body) = public_post(
        &daemon,
        "/api/v1/join/komga-club",
        json!({ "username": "reader", "password": "a fine password" }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "REMOTE_INVALID_INPUT"),
        "{body}"
    );
    assert_eq!(fake.with(|k| k.users.len()), 1, "nothing was made");
    let took = media::redeem(
        &daemon,
        "komga-club",
        json!({ "username": "reader", "password": "a fine password", "email": "reader@example.org" }),
    )
    .await;
    eprintln!("komga: redemption took {took:?}");
    let remote = fake
        .user("reader@example.org")
        .expect("the account exists on Komga");
    assert_eq!(remote.password, "a fine password");
    assert!(!remote.shared_all);
    let mut shared = remote.shared_ids.clone();
    shared.sort();
    let mut want = chosen.clone();
    want.sort();
    assert_eq!(shared, want, "exactly the offered libraries");
    assert_eq!(roles(&fake, &remote.id), ["KOBO_SYNC", "PAGE_STREAMING"]);

    let user = media::user(&api, server, "reader@example.org").await;
    let id = user["id"].as_i64().unwrap();
    assert_eq!(user["external_id"], remote.id.as_str());
    let (_, detail) = api.get(&format!("/users/{id}")).await;
    assert!(
        !detail["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "enable_disable"),
        "Komga cannot disable: {detail}"
    );

    // Change libraries, a permission and the password.
    let wanted = media::set_libraries(&api, server, id, &[1]).await;
    assert_eq!(fake.user(&remote.id).unwrap().shared_ids, wanted);
    let (status, body) = api
        .call(
            reqwest::Method::PUT,
            &format!("/users/{id}/permissions"),
            Some(json!({ "permissions": { "allow_downloads": true } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        roles(&fake, &remote.id),
        ["FILE_DOWNLOAD", "KOBO_SYNC", "PAGE_STREAMING"]
    );
    let (status, _) = api
        .post(
            &format!("/users/{id}/password"),
            json!({ "password": "another fine one" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(fake.user(&remote.id).unwrap().password, "another fine one");

    // Sync imports an account made in Komga; the admin is marked and left alone.
    let made = fake.add_user("walk-in@example.org", "pw", &["PAGE_STREAMING"]);
    media::sync_users(&api, server).await;
    let imported = media::user(&api, server, "walk-in@example.org").await;
    assert_eq!(imported["external_id"], made.as_str());
    let admin = media::user(&api, server, ADMIN_EMAIL).await;
    assert_eq!(admin["kind"], "admin", "{admin}");
    let (status, body) = api
        .call(
            reqwest::Method::PUT,
            &format!("/users/{}/libraries", admin["id"]),
            Some(json!({ "libraries": [api.library_ids(server).await[0].0] })),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "REMOTE_INVALID_INPUT"),
        "{body}"
    );
    assert!(fake.user(ADMIN_EMAIL).unwrap().shared_all);

    // Expiry: Komga cannot disable, so the fallback takes every library away; the account stays.
    let run = media::expire(&api, imported["id"].as_i64().unwrap()).await;
    assert_eq!(run["counts"]["libraries_removed"], 1, "{run}");
    let expired = fake.user(&made).unwrap();
    assert!(
        !expired.shared_all && expired.shared_ids.is_empty(),
        "{expired:?}"
    );

    // Delete.
    assert_eq!(
        api.delete(&format!("/users/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert!(fake.user(&remote.id).is_none());

    // Admin sign-in with Komga's HTTP Basic (the e-mail address), each check's session ended.
    fake.add_user("viewer@example.org", "viewer password", &["PAGE_STREAMING"]);
    media::admin_sign_in(
        &api,
        &daemon,
        server,
        (ADMIN_EMAIL, ADMIN_PASSWORD),
        ("viewer@example.org", "viewer password"),
    )
    .await;
    assert!(fake.sessions().is_empty(), "every sign-in check logged out");

    media::assert_contract(&media::specs("komga-"), &fake.requests());
}

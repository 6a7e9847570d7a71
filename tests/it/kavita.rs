//! The bundled Kavita connector through the real daemon against the stateful fake Kavita
//! (`tests/fakes/src/kavita.rs`); every request it sends is checked against the official Kavita
//! 0.8.3.2 OpenAPI document (the committed excerpt), with four allowances where the document is
//! wrong about the server (see `KNOWN_DOCUMENT_ERRORS`).

use reqwest::StatusCode;
use serde_json::json;
use zondarr_fakes::kavita::{ADMIN_NAME, ADMIN_PASSWORD, KavitaFake};
use zondarr_fakes::server::Failure;

use crate::domain::code;
use crate::media;

/// Violations that are the document's, not the connector's:
/// - `/api/Plugin/authenticate`, `/api/Account/login` and `/api/Account/confirm-email` are
///   `[AllowAnonymous]` in Kavita's source, but the document puts its global `Bearer`
///   requirement on every operation. (The connector sends the Bearer token to confirm-email
///   anyway, so only the two sign-ins are allowed here.)
/// - `POST /api/Account/invite` is declared as answering a string; the source
///   (`AccountController.InviteUser`) answers an `InviteUserResponse` object.
/// - Kavita writes its local times (`created`, `lastActive`, `lastScanned`) as .NET
///   `DateTimeKind.Unspecified` values without a UTC offset, which the document's `date-time`
///   (RFC 3339) does not allow; the fake answers as the server does.
const KNOWN_DOCUMENT_ERRORS: &[(&str, &str)] = &[
    ("", "is not a valid date-time"),
    (
        "POST /api/Plugin/authenticate",
        "requires credentials that were not sent",
    ),
    (
        "POST /api/Account/login",
        "requires credentials that were not sent",
    ),
    ("POST /api/Account/invite", "expected string, found object"),
];

fn config(fake: &KavitaFake) -> serde_json::Value {
    json!({ "api_key": fake.api_key() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kavita_invitee_is_invited_confirmed_and_managed_by_user_name() {
    let fake = KavitaFake::start().await;
    let media::Started {
        daemon,
        api,
        server,
        dir: _dir,
    } = media::start_with_server(
        "kavita",
        fake.base_url(),
        config(&fake),
        json!({ "api_key": "wrong" }),
    )
    .await;
    let chosen = media::invite_two_of_three(
        &api,
        server,
        "kavita-club",
        json!({ "allow_downloads": true, "allow_bookmarks": false }),
    )
    .await;
    let took = media::redeem(
        &daemon,
        "kavita-club",
        json!({ "username": "reader", "password": "a fine password", "email": "reader@example.org" }),
    )
    .await;
    eprintln!("kavita: redemption took {took:?}");
    let remote = fake.user("reader").expect("the account exists on Kavita");
    assert!(!remote.pending, "the invite was confirmed");
    assert_eq!(remote.email, "reader@example.org");
    assert_eq!(remote.password, "a fine password");
    let libraries: Vec<String> = remote.libraries.iter().map(i64::to_string).collect();
    assert_eq!(libraries, chosen, "exactly the offered libraries");
    for (role, has) in [
        ("Login", true),
        ("Download", true),
        ("Change Password", true),
        ("Bookmark", false),
        ("Admin", false),
    ] {
        assert_eq!(remote.has(role), has, "{role}: {:?}", remote.roles);
    }

    // A second invitee with the same name: the name is taken, nothing is left behind.
    let (status, body) = crate::domain::public_post(
        &daemon,
        "/api/v1/join/kavita-club",
        json!({ "username": "Reader", "password": "a fine password", "email": "other@example.org" }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "USERNAME_TAKEN"),
        "{body}"
    );
    assert_eq!(
        fake.with(|k| k.users.len()),
        2,
        "no pending account is left"
    );
    // The confirmation step fails: the pending account the invite made is deleted again.
    fake.fail_next_on("POST", "/api/Account/confirm-email", Failure::Status(400));
    let (status, body) = crate::domain::public_post(
        &daemon,
        "/api/v1/join/kavita-club",
        json!({ "username": "second", "password": "a fine password", "email": "second@example.org" }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "REMOTE_INVALID_INPUT"),
        "{body}"
    );
    assert!(
        fake.user("second@example.org").is_none(),
        "the pending account was removed"
    );
    assert_eq!(fake.with(|k| k.users.len()), 2);

    let user = media::user(&api, server, "reader").await;
    let id = user["id"].as_i64().unwrap();
    assert_eq!(user["external_id"], remote.id.to_string());

    // Disable (the Login role goes) and enable.
    let (status, body) = api.post(&format!("/users/{id}/disable"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let disabled = fake.user("reader").unwrap();
    assert!(!disabled.has("Login"));
    assert_eq!(disabled.libraries, remote.libraries, "libraries are kept");
    assert!(disabled.has("Download"), "other roles are kept");
    api.post(&format!("/users/{id}/enable"), json!({})).await;
    assert!(fake.user("reader").unwrap().has("Login"));

    // Libraries, a permission, the password.
    let wanted = media::set_libraries(&api, server, id, &[1]).await;
    let libraries: Vec<String> = fake
        .user("reader")
        .unwrap()
        .libraries
        .iter()
        .map(i64::to_string)
        .collect();
    assert_eq!(libraries, wanted);
    let (status, _) = api
        .call(
            reqwest::Method::PUT,
            &format!("/users/{id}/permissions"),
            Some(json!({ "permissions": { "allow_downloads": false } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!fake.user("reader").unwrap().has("Download"));
    let (status, _) = api
        .post(
            &format!("/users/{id}/password"),
            json!({ "password": "another fine one" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(fake.user("reader").unwrap().password, "another fine one");

    // Sync imports an account made in Kavita; the admin is marked and left alone.
    let made = fake.add_user("walk-in", "walk-in@example.org", &[1]);
    media::sync_users(&api, server).await;
    let imported = media::user(&api, server, "walk-in").await;
    assert_eq!(imported["external_id"], made.to_string());
    let admin = media::user(&api, server, ADMIN_NAME).await;
    assert_eq!(admin["kind"], "admin", "{admin}");
    let (status, body) = api.delete(&format!("/users/{}", admin["id"])).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "REMOTE_INVALID_INPUT"),
        "{body}"
    );
    assert!(fake.user(ADMIN_NAME).is_some());

    // Expiry: disabled (the Login role goes).
    let run = media::expire(&api, imported["id"].as_i64().unwrap()).await;
    assert_eq!(run["counts"]["disabled"], 1, "{run}");
    assert!(!fake.user("walk-in").unwrap().has("Login"));

    // Delete, by user name.
    assert_eq!(
        api.delete(&format!("/users/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert!(fake.user("reader").is_none());
    let deletes: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.line())
        .collect();
    assert!(
        deletes
            .iter()
            .any(|l| l.contains("/api/Users/delete-user?username=reader")),
        "{deletes:?}"
    );

    // Admin sign-in with Kavita's own /api/Account/login.
    fake.add_user("viewer", "viewer@example.org", &[1]);
    media::admin_sign_in(
        &api,
        &daemon,
        server,
        (ADMIN_NAME, ADMIN_PASSWORD),
        ("viewer", "password"),
    )
    .await;

    // The API key is in exactly one kind of request, the plugin sign-in; every other request
    // carries that sign-in's JWT instead.
    for request in fake.requests() {
        let sign_in = request.method == "POST" && request.path == "/api/Plugin/authenticate";
        let has_key = request.query.as_deref().unwrap_or("").contains("apiKey=");
        assert_eq!(has_key, sign_in, "{}", request.line());
        if !sign_in && request.path != "/api/Account/login" {
            let bearer = request.header("authorization").unwrap_or_default();
            assert!(bearer.starts_with("Bearer "), "{}", request.line());
        }
    }

    media::assert_contract_allowing(
        &media::specs("kavita-"),
        &fake.requests(),
        KNOWN_DOCUMENT_ERRORS,
    );
}

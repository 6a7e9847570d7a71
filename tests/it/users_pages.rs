//! The admin's user pages over plain HTTP, without a browser (the browser journey is in
//! `browser/users.rs`): the real daemon with the fake Jellyfin and the fake Navidrome (which
//! cannot disable accounts). Bulk actions summarise before they run and then report each user;
//! extend, set expiry, delete on the server and "keep the account on the server"; a user's page
//! links and unlinks accounts; bad input is a clear refusal with a code, never a 500; and every
//! user number of the dashboard links to a list showing that many users.

use crate::support::{Daemon, admin_key};
use reqwest::StatusCode;
use serde_json::{Value, json};
use zondarr_fakes::jellyfin::JellyfinFake;
use zondarr_fakes::navidrome::NavidromeFake;

struct Admin {
    url: String,
    key: String,
    cookie: String,
    csrf: String,
    http: reqwest::Client,
}

impl Admin {
    async fn start(daemon: &Daemon) -> Admin {
        let key = admin_key(daemon).await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut admin = Admin {
            url: daemon.url.clone(),
            key,
            cookie: String::new(),
            csrf: String::new(),
            http,
        };
        admin
            .api(
                reqwest::Method::PATCH,
                "/settings",
                Some(json!({ "public_url": daemon.url })),
            )
            .await;
        let resp = admin
            .http
            .post(format!("{}/api/v1/auth/login", admin.url))
            .header("origin", &admin.url)
            .json(&json!({ "username": "admin", "password": crate::support::ADMIN_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        admin.cookie = resp.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let me: Value = admin
            .http
            .get(format!("{}/api/v1/auth/me", admin.url))
            .header("cookie", &admin.cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        admin.csrf = me["auth"]["csrf_token"].as_str().unwrap().to_owned();
        admin
    }

    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.url))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    async fn page(&self, path: &str) -> (StatusCode, String) {
        let resp = self
            .http
            .get(format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        (resp.status(), resp.text().await.unwrap())
    }

    /// Post a form with the session's token; a redirect answers with its target.
    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, String) {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(pairs);
        let resp = self
            .http
            .post(format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .header("origin", &self.url)
            .header("accept", "text/html")
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        if status == StatusCode::SEE_OTHER {
            let to = resp.headers()["location"].to_str().unwrap().to_owned();
            return (status, to);
        }
        (status, resp.text().await.unwrap())
    }

    async fn user(&self, name: &str) -> Value {
        let found = self
            .api(reqwest::Method::GET, &format!("/users?search={name}"), None)
            .await;
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    }

    async fn id(&self, name: &str) -> String {
        self.user(name).await["id"].as_i64().unwrap().to_string()
    }
}

struct World {
    _daemon: Daemon,
    admin: Admin,
    jellyfin: JellyfinFake,
    navidrome: NavidromeFake,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap().keep();
    let daemon = Daemon::start_with(&dir, &[], &[]);
    let admin = Admin::start(&daemon).await;
    let jellyfin = JellyfinFake::start().await;
    let navidrome = NavidromeFake::start().await;
    for name in ["ann", "bob", "dora"] {
        jellyfin.add_user(name, "a-long-password");
    }
    navidrome.add_user("carl");
    let home = admin
        .api(
            reqwest::Method::POST,
            "/servers",
            Some(json!({ "name": "Home", "kind": "jellyfin", "url": jellyfin.base_url(), "config": { "api_key": jellyfin.api_key() } })),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let music = admin
        .api(
            reqwest::Method::POST,
            "/servers",
            Some(json!({ "name": "Music", "kind": "navidrome", "url": navidrome.base_url(), "config": { "username": zondarr_fakes::navidrome::ADMIN_NAME, "password": zondarr_fakes::navidrome::ADMIN_PASSWORD } })),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    for server in [home, music] {
        admin
            .api(
                reqwest::Method::POST,
                &format!("/servers/{server}/sync"),
                Some(json!({ "what": "users" })),
            )
            .await;
    }
    World {
        _daemon: daemon,
        admin,
        jellyfin,
        navidrome,
    }
}

fn days_from_now(rfc3339: &str) -> f64 {
    let at = chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap();
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds() as f64 / 86_400.0
}

#[tokio::test]
async fn bulk_actions_summarise_first_then_report_each_user() {
    let w = world().await;
    let a = &w.admin;
    let (ann, bob, carl) = (a.id("ann").await, a.id("bob").await, a.id("carl").await);
    let ann_ext = a.user("ann").await["external_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let selection = |action: &'static str| {
        vec![
            ("user", ann.as_str()),
            ("user", bob.as_str()),
            ("user", carl.as_str()),
            ("action", action),
            ("back", "/admin/users?server=1"),
        ]
    };

    // The summary says what will happen per server, and nothing happens yet.
    let (status, body) = a.post("/admin/users/bulk", &selection("disable")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains("Home (Jellyfin): 2 accounts will be disabled on the server"),
        "{body}"
    );
    assert!(
        body.contains(
            "Music (Navidrome): Navidrome servers cannot do this; 1 account will be skipped as failed."
        ),
        "{body}"
    );
    assert!(body.contains("Disable 3 users"));
    assert_eq!(
        w.jellyfin.policy(&ann_ext).unwrap()["IsDisabled"],
        false,
        "only a summary"
    );

    // Confirmed: each user's outcome; the one Navidrome cannot disable fails with the reason.
    let mut confirmed = selection("disable");
    confirmed.push(("confirmed", "1"));
    let (status, body) = a.post("/admin/users/bulk", &confirmed).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("2 done, 1 failed."), "{body}");
    assert!(
        body.contains("Navidrome servers do not support this (UNSUPPORTED)"),
        "{body}"
    );
    assert!(
        body.contains("href=\"/admin/users?server=1\""),
        "back to the list"
    );
    assert_eq!(w.jellyfin.policy(&ann_ext).unwrap()["IsDisabled"], true);
    assert_eq!(a.user("bob").await["enabled"], false);
    assert_eq!(a.user("carl").await["enabled"], true);

    // Extend by 10 days twice: from now (no expiry yet), then from the new expiry.
    let only_ann = |action: &'static str, extra: Vec<(&'static str, &'static str)>| {
        let mut v = vec![
            ("user", ann.clone()),
            ("action", action.to_owned()),
            ("confirmed", "1".to_owned()),
        ];
        v.extend(extra.into_iter().map(|(k, v)| (k, v.to_owned())));
        v
    };
    for expected in [10.0, 20.0] {
        let pairs = only_ann("extend", vec![("days", "10")]);
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = a.post("/admin/users/bulk", &pairs).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let left = days_from_now(a.user("ann").await["expires_at"].as_str().unwrap());
        assert!((left - expected).abs() < 0.01, "{left} days left");
    }
    // Set an end of access in the admin's time zone (UTC+2 here).
    let pairs = only_ann(
        "set_expiry",
        vec![("expires", "2030-01-01T10:00"), ("tz", "120")],
    );
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    a.post("/admin/users/bulk", &pairs).await;
    assert_eq!(
        a.user("ann").await["expires_at"],
        "2030-01-01T08:00:00.000Z",
        "stored in UTC"
    );
    let pairs = only_ann("clear_expiry", vec![]);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    a.post("/admin/users/bulk", &pairs).await;
    assert_eq!(a.user("ann").await["expires_at"], Value::Null);

    // Delete keeping the account on the server: gone from Zondarr, still on Navidrome, and
    // user sync does not bring it back.
    let (_, body) = a
        .post(
            "/admin/users/bulk",
            &[("user", &carl), ("action", "delete"), ("keep_remote", "1")],
        )
        .await;
    assert!(
        body.contains("1 account will be removed from Zondarr only; it stays on the server"),
        "{body}"
    );
    let (_, body) = a
        .post(
            "/admin/users/bulk",
            &[
                ("user", &carl),
                ("action", "delete"),
                ("keep_remote", "1"),
                ("confirmed", "1"),
            ],
        )
        .await;
    assert!(body.contains("1 done, 0 failed."), "{body}");
    assert_eq!(a.user("carl").await, Value::Null);
    assert!(w.navidrome.user("carl").is_some(), "kept on the server");
    // Delete on the server too, from the user's page: back leads to the list then.
    let page = format!("/admin/users/{bob}");
    let (_, body) = a
        .post(
            "/admin/users/bulk",
            &[
                ("user", &bob),
                ("action", "delete"),
                ("back", &page),
                ("confirmed", "1"),
            ],
        )
        .await;
    assert!(body.contains("1 done, 0 failed."), "{body}");
    assert!(body.contains("href=\"/admin/users\" id=\"back\""), "{body}");
    assert!(w.jellyfin.user("bob").is_none(), "deleted on Jellyfin");
    assert_eq!(a.user("bob").await, Value::Null);
}

#[tokio::test]
async fn bulk_and_user_forms_refuse_bad_input_with_a_code_never_a_500() {
    let w = world().await;
    let a = &w.admin;
    let ann = a.id("ann").await;
    for (pairs, says) in [
        (vec![("action", "disable")], "Select at least one user."),
        (
            vec![("user", "abc"), ("action", "disable")],
            "Select at least one user.",
        ),
        (
            vec![("user", ann.as_str()), ("action", "explode")],
            "Choose an action.",
        ),
        (
            vec![("user", ann.as_str()), ("action", "extend"), ("days", "0")],
            "Enter the days to extend by",
        ),
        (
            vec![
                ("user", ann.as_str()),
                ("action", "set_expiry"),
                ("expires", "soon"),
            ],
            "Enter a date and time",
        ),
    ] {
        let (status, body) = a.post("/admin/users/bulk", &pairs).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{pairs:?}");
        assert!(
            body.contains(says) && body.contains("VALIDATION_FAILED"),
            "{body}"
        );
    }
    // A form without the session's token changes nothing.
    let resp = a
        .http
        .post(format!("{}/admin/users/bulk", a.url))
        .header("cookie", &a.cookie)
        .form(&[
            ("csrf", "forged"),
            ("user", ann.as_str()),
            ("action", "disable"),
            ("confirmed", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(a.user("ann").await["enabled"], true);
    // Unparseable numbers in the address: a page saying so with the code.
    for path in ["/admin/users?page=abc", "/admin/users/abc"] {
        let (status, body) = a.page(path).await;
        assert!(status.is_client_error(), "{path}: {status}");
        assert!(
            ["BAD_REQUEST", "VALIDATION_FAILED", "NOT_FOUND"]
                .iter()
                .any(|c| body.contains(&format!("<code>{c}</code>"))),
            "{path}: {body}"
        );
        assert!(body.contains("<html"), "{path}: an HTML page");
    }
    // Bad list parameters are shown as such.
    for query in [
        "?status=bogus",
        "?server=abc",
        "?sort=bogus",
        "?expiry=soon",
    ] {
        let (status, body) = a.page(&format!("/admin/users{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert!(body.contains("VALIDATION_FAILED"), "{query}: {body}");
    }
    // A user's forms: the error next to the field, with the code.
    let (status, body) = a
        .post(
            &format!("/admin/users/{ann}/expiry"),
            &[("op", "save"), ("expires", "tomorrow")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("id=\"expires-error\""), "{body}");
    let (status, body) = a
        .post(
            &format!("/admin/users/{ann}/password"),
            &[("password", "short")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("id=\"password-error\""), "{body}");
    // A form's target opened as a page (sign-in comes back there after a session ended
    // mid-form) leads to the page the form is on.
    for (path, to) in [
        (
            format!("/admin/users/{ann}/expiry"),
            format!("/admin/users/{ann}"),
        ),
        ("/admin/users/bulk".to_owned(), "/admin/users".to_owned()),
    ] {
        let resp = a
            .http
            .get(format!("{}{path}", a.url))
            .header("cookie", &a.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(resp.headers()["location"], to.as_str());
    }
    let (status, _) = a.page("/admin/users/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = a
        .post("/admin/users/999999/enabled", &[("enabled", "false")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_users_page_links_and_unlinks_accounts_of_one_person() {
    let w = world().await;
    let a = &w.admin;
    let (ann, dora) = (a.id("ann").await, a.id("dora").await);
    let (_, body) = a.page(&format!("/admin/users/{ann}")).await;
    assert!(body.contains("not linked to a person yet"), "{body}");
    assert!(body.contains("id=\"toggle\""), "Jellyfin can disable");

    let (status, body) = a
        .post(
            &format!("/admin/users/{ann}/link"),
            &[("account", "nobody")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("No other account is named nobody."), "{body}");
    assert!(body.contains("value=\"nobody\""), "what was typed stays");

    // By name (case-insensitive): a person is made for ann, and dora joins it.
    let (status, to) = a
        .post(&format!("/admin/users/{ann}/link"), &[("account", "DORA")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, format!("/admin/users/{ann}?done=linked"));
    let identity = a.user("ann").await["identity_id"].clone();
    assert!(identity.is_number());
    assert_eq!(a.user("dora").await["identity_id"], identity);
    let (_, body) = a.page(&format!("/admin/users/{dora}")).await;
    assert!(
        body.contains(&format!("href=\"/admin/users/{ann}\"")),
        "{body}"
    );
    assert!(body.contains("identity.link"), "in the audit trail");

    // Carl (Navidrome) by #id: one person across servers.
    let carl = a.id("carl").await;
    let (status, _) = a
        .post(
            &format!("/admin/users/{dora}/link"),
            &[("account", &format!("#{carl}"))],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, body) = a.page(&format!("/admin/users/{carl}")).await;
    assert!(body.contains("Music") && body.contains("Home"), "{body}");
    assert!(!body.contains("id=\"toggle\""), "Navidrome cannot disable");

    let (status, _) = a
        .post(&format!("/admin/users/{ann}/unlink"), &[("user", &dora)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(a.user("dora").await["identity_id"], Value::Null);
    assert_eq!(a.user("carl").await["identity_id"], identity);
}

/// "Every number links to the filtered list behind it": each user figure of the dashboard
/// links to the user list, which shows the same count.
#[tokio::test]
async fn every_user_number_of_the_dashboard_links_to_a_list_of_that_many() {
    let w = world().await;
    let a = &w.admin;
    let soon = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let past = (chrono::Utc::now() - chrono::Duration::days(2)).to_rfc3339();
    for (name, body) in [
        ("ann", json!({ "expires_at": soon })),
        ("bob", json!({ "expires_at": past })),
    ] {
        let id = a.id(name).await;
        a.api(reqwest::Method::PATCH, &format!("/users/{id}"), Some(body))
            .await;
    }
    let dora = a.id("dora").await;
    a.api(
        reqwest::Method::POST,
        &format!("/users/{dora}/disable"),
        None,
    )
    .await;
    let (_, body) = a.page("/admin").await;
    let figures = body
        .split("id=\"user-figures\"")
        .nth(1)
        .unwrap()
        .split("</ul>")
        .next()
        .unwrap();
    let mut values = Vec::new();
    for item in figures.split("<li><a href=\"").skip(1) {
        let href = item.split('"').next().unwrap().replace("&amp;", "&");
        let value: i64 = item
            .split("<span class=\"figure\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(href.starts_with("/admin/users?"), "{href}");
        let (status, list) = a.page(&href).await;
        assert_eq!(status, StatusCode::OK);
        let total: i64 = list
            .split("id=\"total\">")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(total, value, "{href}");
        values.push(value);
    }
    assert_eq!(values.len(), 5);
    // Expiring, expired and disabled are one each here, active and vanished are not: the
    // comparison above tells the filters apart.
    assert_eq!(values[1..4], [1, 1, 1], "{values:?}");
    assert!(values[0] >= 2 && values[4] == 0, "{values:?}");
}

/// Libraries on a user's page: chosen ones reach the server as exactly those folders; "chosen"
/// with none ticked is refused next to the field.
#[tokio::test]
async fn a_users_libraries_are_set_on_the_server() {
    let w = world().await;
    let a = &w.admin;
    let ann = a.user("ann").await;
    let (id, sid) = (
        ann["id"].as_i64().unwrap(),
        ann["server_id"].as_i64().unwrap(),
    );
    let external = ann["external_id"].as_str().unwrap();
    let libs = a
        .api(
            reqwest::Method::GET,
            &format!("/servers/{sid}/libraries"),
            None,
        )
        .await;
    let first = &libs["items"][0];
    let lib_id = first["id"].as_i64().unwrap().to_string();
    let (_, body) = a.page(&format!("/admin/users/{id}")).await;
    assert!(
        body.contains(&format!("id=\"lib-{sid}-{lib_id}\"")),
        "{body}"
    );

    let field = format!("libs-{sid}");
    let (status, body) = a
        .post(
            &format!("/admin/users/{id}/libraries"),
            &[(&field, "chosen")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("VALIDATION_FAILED"), "{body}");
    assert_eq!(
        w.jellyfin.policy(external).unwrap()["EnableAllFolders"],
        true,
        "unchanged"
    );

    let one = format!("lib-{sid}");
    let (status, to) = a
        .post(
            &format!("/admin/users/{id}/libraries"),
            &[(&field, "chosen"), (&one, &lib_id)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
    assert_eq!(to, format!("/admin/users/{id}?done=libraries"));
    let policy = w.jellyfin.policy(external).unwrap();
    assert_eq!(policy["EnableAllFolders"], false, "{policy}");
    assert_eq!(
        policy["EnabledFolders"],
        json!([first["external_id"]]),
        "{policy}"
    );
    let (_, body) = a.page(&to).await;
    assert!(body.contains("Libraries saved on the server."));
    assert!(body.contains("user.libraries"), "in the audit trail");
}

/// From an invitation to its accounts and back: the invitation page links each redeemed account
/// and the list filtered by the invitation; the account's page links the invitation; the
/// server page links its accounts.
#[tokio::test]
async fn invitations_servers_and_users_link_to_each_other() {
    let w = world().await;
    let a = &w.admin;
    let sid = a.user("ann").await["server_id"].as_i64().unwrap();
    let inv = a
        .api(
            reqwest::Method::POST,
            "/invitations",
            Some(json!({ "code": "friends", "servers": [{ "server_id": sid }] })),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/join/friends", a.url))
        .json(&json!({ "username": "erin", "password": "a fine password" }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let erin = a.id("erin").await;

    let (_, body) = a.page(&format!("/admin/invitations/{inv}")).await;
    assert!(
        body.contains(&format!("href=\"/admin/users/{erin}\"")),
        "{body}"
    );
    assert!(body.contains(&format!("href=\"/admin/users?invitation={inv}\"")));
    let (_, list) = a.page(&format!("/admin/users?invitation={inv}")).await;
    assert!(list.contains("id=\"total\">1 user<"), "{list}");
    assert!(
        list.contains("Only accounts from invitation friends."),
        "{list}"
    );
    assert!(
        list.contains("href=\"/admin/users\" id=\"drop-invitation\""),
        "{list}"
    );
    let (_, page) = a.page(&format!("/admin/users/{erin}")).await;
    assert!(
        page.contains(&format!("href=\"/admin/invitations/{inv}\"")),
        "{page}"
    );
    assert!(page.contains("an invitation"), "its source");

    let (_, server) = a.page(&format!("/admin/servers/{sid}")).await;
    assert!(server.contains(&format!("href=\"/admin/users?server={sid}\"")));
    let (_, list) = a.page(&format!("/admin/users?server={sid}")).await;
    let total: i64 = list
        .split("id=\"total\">")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        total,
        w.jellyfin.users().len() as i64,
        "every Jellyfin account"
    );
}

//! The admin pages over plain HTTP (no browser): their forms posted with a session cookie and
//! its CSRF token, as a browser without JavaScript would, through the real daemon and the
//! stateful fake Jellyfin.

use crate::domain::Api;
use crate::support::{Daemon, admin_session, client};
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use zondarr_fakes::jellyfin::JellyfinFake;

/// The server page's "Sync now" past the safety check: the page says why nothing changed and
/// previews what a forced sync would mark vanished; its "Sync anyway" applies it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_page_offers_a_forced_sync_when_the_safety_check_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    fake.add_user("ann", "pw");
    fake.add_user("ben", "pw");
    let sync = json!({ "what": "users" });
    api.post(&format!("/servers/{server}/sync"), sync).await;
    assert_eq!(api.get("/users").await.1["total"], 3);
    for name in ["ann", "ben"] {
        assert!(fake.remove_user(&fake.user(name).unwrap().id));
    }

    let (cookie, csrf) = admin_session(&daemon).await;
    let page = |force: bool| {
        let mut form = vec![("csrf", csrf.clone()), ("dry_run", "0".to_owned())];
        if force {
            form.push(("force", "1".to_owned()));
        }
        let req = client()
            .post(daemon.at(&format!("/admin/servers/{server}/sync")))
            .header("cookie", &cookie)
            .form(&form);
        async move {
            let resp = req.send().await.unwrap();
            (resp.status(), resp.text().await.unwrap())
        }
    };
    let vanished = |users: &Value| {
        let mut names: Vec<String> = users["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["vanished_at"].is_string())
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };

    let (status, html) = page(false).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"refused\""), "{html}");
    assert!(html.contains("id=\"sync-force\""), "{html}");
    assert!(html.contains("ann, ben"), "the preview names them: {html}");
    assert!(
        vanished(&api.get("/users").await.1).is_empty(),
        "nothing changed"
    );

    let (status, html) = page(true).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(!html.contains("id=\"refused\""), "{html}");
    assert_eq!(vanished(&api.get("/users").await.1), vec!["ann", "ben"]);
}

/// The value of `name=` in a `Set-Cookie` among `resp`'s.
fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// A form posted after the session ended goes to sign-in and, signed in again, back to the page
/// it was on (not to the action it posted to, which has no page), with what was typed put back:
/// the server page's exclusion form and the server edit form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_posted_after_the_session_ended_comes_back_on_its_page() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin("Home", &fake).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (cookie, csrf) = admin_session(&daemon).await;
    rusqlite::Connection::open(dir.path().join("zondarr.db"))
        .unwrap()
        .execute(
            "UPDATE admin_sessions SET expires_at = '2000-01-01T00:00:00Z'",
            [],
        )
        .unwrap();

    let cases = [
        (
            format!("/admin/servers/{server}/exclusions"),
            format!("/admin/servers/{server}?tab=x"),
            vec![
                ("op", "add"),
                ("external_id", "guest-id-7"),
                ("username", "guest"),
            ],
            vec![
                "value=\"guest-id-7\"",
                "value=\"guest\"",
                "nothing was done",
            ],
        ),
        (
            format!("/admin/servers/{server}/edit"),
            format!("/admin/servers/{server}/edit"),
            vec![
                ("name", "Renamed"),
                ("url", "http://127.0.0.1:9"),
                ("ca_certificate", "typed-ca-text"),
            ],
            vec![
                "value=\"Renamed\"",
                "value=\"http://127.0.0.1:9\"",
                ">typed-ca-text</textarea>",
                "nothing was saved",
            ],
        ),
    ];
    for (action, page, fields, expect) in cases {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields);
        let resp = http
            .post(daemon.at(&action))
            .header("cookie", &cookie)
            .header("sec-fetch-site", "same-origin")
            .header("referer", daemon.at(&page))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{action}");
        let draft = set_cookie(&resp, "zondarr_draft")
            .unwrap_or_else(|| panic!("a draft cookie: {:?}", resp.headers()));
        let location = resp.headers()[LOCATION].to_str().unwrap().to_owned();
        let next = url::Url::parse(&daemon.at(&location))
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "next")
            .map(|(_, v)| v.into_owned())
            .expect("next");
        let page_path = page.split('?').next().unwrap();
        assert!(
            next.starts_with(&format!("{page_path}?")) && next.contains("draft="),
            "back to the form's page with the draft: {next}"
        );
        if page.contains("tab=x") {
            assert!(next.contains("tab=x"), "the page's query is kept: {next}");
        }

        // Signed in again, the page shows what was typed; nothing was done meanwhile.
        let (fresh, _) = admin_session(&daemon).await;
        let resp = http
            .get(daemon.at(&next))
            .header("cookie", format!("{fresh}; {draft}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{next}");
        let html = resp.text().await.unwrap();
        for needle in expect {
            assert!(html.contains(needle), "{next}: {needle} in {html}");
        }
        // A draft is given back once.
        let again = http
            .get(daemon.at(&next))
            .header("cookie", format!("{fresh}; {draft}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!again.contains("Your session had ended"), "{again}");
    }
    let (_, exclusions) = api.get(&format!("/servers/{server}/exclusions")).await;
    assert_eq!(exclusions["total"], 0, "nothing was excluded");
    let (_, row) = api.get(&format!("/servers/{server}")).await;
    assert_eq!(row["name"], "Home", "nothing was saved");
}

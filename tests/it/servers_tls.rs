//! A private CA per server (issue 17 item 11), through the real daemon and the real bundled
//! connectors: the fakes served over TLS by a front whose certificate a CA made at test time
//! signed. Without the CA the connection test fails cleanly; with it the server is added and
//! synced; an extra host signed by the same CA is still refused (the CA is trusted for the
//! server's own origin only).

use crate::domain::{Api, code};
use crate::support::Daemon;
use reqwest::StatusCode;
use serde_json::json;
use zondarr_fakes::jellyfin::JellyfinFake;
use zondarr_fakes::plex::PlexFake;
use zondarr_fakes::tls::{TestCa, TlsFront};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_behind_a_private_ca_work_with_its_certificate_and_only_for_their_origin() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let ca = TestCa::new("Home CA");
    let jellyfin = JellyfinFake::start().await;
    let front = TlsFront::start(&ca, jellyfin.base_url()).await;
    let server = |extra: serde_json::Value| {
        let mut body = json!({ "name": "Home", "kind": "jellyfin", "url": front.url(), "config": { "api_key": jellyfin.api_key() } });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };

    // Without the CA: the certificate is not trusted, said cleanly (no 500, no internal detail).
    let (status, body) = api.post("/servers/test", server(json!({}))).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_GATEWAY, "REMOTE_UNREACHABLE"),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("certificate"), "{message}");
    for leak in [
        front.url(),
        "127.0.0.1",
        "UnknownIssuer",
        "rustls",
        "reqwest",
    ] {
        assert!(!body.to_string().contains(leak), "{leak} in {body}");
    }
    assert_eq!(front.handshakes(), 0, "nothing reached the server");

    // Bad CA text: a stable code and the reason next to the field.
    for (text, why) in [
        ("not a certificate", "holds no certificate"),
        (ca.key_pem(), "private key"),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "X.509",
        ),
    ] {
        let (status, body) = api
            .post("/servers", server(json!({ "ca_certificate": text })))
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "CA_CERTIFICATE_INVALID"),
            "{body}"
        );
        assert_eq!(body["error"]["fields"][0]["field"], "ca_certificate");
        let rule = body["error"]["fields"][0]["message"].as_str().unwrap();
        assert!(rule.contains(why), "{rule}");
    }
    // Both a CA and "accept invalid certificates": refused, the CA is meant to be checked.
    let (status, body) = api
        .post(
            "/servers",
            server(json!({ "ca_certificate": ca.pem(), "accept_invalid_certs": true })),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED"),
        "{body}"
    );
    assert_eq!(body["error"]["fields"][0]["field"], "ca_certificate");
    let (_, list) = api.get("/servers").await;
    assert_eq!(list["total"], 0, "nothing saved");

    // With the CA (as a browser's text area sends it, CRLF): added, libraries imported, synced.
    let (status, body) = api
        .post(
            "/servers",
            server(json!({ "ca_certificate": ca.pem().replace('\n', "\r\n") })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_i64().unwrap();
    assert_eq!(body["libraries"], 4, "{body}");
    assert_eq!(
        body["ca_certificate"],
        ca.pem(),
        "stored normalised, returned"
    );
    assert_eq!(body["ca_certificates"][0]["subject"], "Home CA");
    assert_eq!(body["ca_certificates"][0]["not_after"], "2035-01-01");
    assert!(front.handshakes() > 0);
    jellyfin.add_user("alice", "alice-password-1");
    let (status, report) = api
        .post(
            &format!("/servers/{id}/sync"),
            json!({ "what": "all", "dry_run": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["users"]["outcome"], "succeeded", "{report}");
    let (_, users) = api.get("/users").await;
    assert!(users.to_string().contains("alice"), "imported: {users}");

    // Another CA at the same address trusts more: the secret must be entered again, and nothing
    // is sent under the new trust before it is.
    let other = TestCa::new("Other CA");
    let (status, body) = api
        .patch(
            &format!("/servers/{id}"),
            json!({ "ca_certificate": other.pem() }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "SECRETS_REQUIRED"),
        "{body}"
    );
    assert_eq!(body["error"]["fields"][0]["field"], "config.api_key");
    // The same certificate again (other line endings) is no change; removing it narrows trust
    // and needs no secret (and then the server no longer verifies).
    let (status, body) = api
        .patch(
            &format!("/servers/{id}"),
            json!({ "ca_certificate": ca.pem() }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api
        .patch(&format!("/servers/{id}"), json!({ "ca_certificate": null }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_GATEWAY, "REMOTE_UNREACHABLE"),
        "tested again without the CA: {body}"
    );
    let (_, shown) = api.get(&format!("/servers/{id}")).await;
    assert_eq!(
        shown["ca_certificate"],
        ca.pem(),
        "a failed edit changes nothing"
    );
    // Turning "accept invalid certificates" on trusts more as well.
    let (status, body) = api
        .patch(
            &format!("/servers/{id}"),
            json!({ "ca_certificate": null, "accept_invalid_certs": true }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "SECRETS_REQUIRED"),
        "{body}"
    );

    // Plex behind the same CA: its own origin works with the CA; its plex.tv extra host, set to
    // an origin whose certificate the same CA signed, is refused (public roots only there).
    let plex = PlexFake::start().await;
    let pms = TlsFront::start(&ca, plex.pms_url()).await;
    let plex_tv = TlsFront::start(&ca, plex.plex_tv_url()).await;
    let (status, body) = api
        .post(
            "/servers",
            json!({ "name": "Plex", "kind": "plex", "url": pms.url(), "config": { "token": plex.owner_token() },
                    "ca_certificate": ca.pem(),
                    "extra_hosts": { "plex-tv": plex_tv.url(), "clients-plex-tv": plex_tv.url() } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let px = body["id"].as_i64().unwrap();
    let (status, report) = api
        .post(
            &format!("/servers/{px}/sync"),
            json!({ "what": "users", "dry_run": true }),
        )
        .await;
    // Reported as a failed part, or as the call's error: either way not a success, and why.
    if status == StatusCode::OK {
        assert_ne!(report["users"]["outcome"], "succeeded", "{report}");
    } else {
        assert_eq!(code(&report), "REMOTE_UNREACHABLE", "{report}");
    }
    assert!(report.to_string().contains("certificate"), "{report}");
    assert_eq!(plex_tv.handshakes(), 0, "the extra host was never trusted");
}

/// The add and edit forms (plain HTTP, as a browser without JavaScript posts them): the CA text
/// area, its errors next to it in the page's language, the typed text kept, the summary on the
/// server's page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_forms_take_a_ca_certificate() {
    use crate::support::admin_session;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let ca = TestCa::new("Home CA");
    let jellyfin = JellyfinFake::start().await;
    let front = TlsFront::start(&ca, jellyfin.base_url()).await;
    crate::support::admin_key(&daemon).await;
    let (cookie, csrf) = admin_session(&daemon).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |path: String, lang: &'static str, fields: Vec<(&'static str, String)>| {
        let mut form = vec![("csrf", csrf.clone())];
        form.extend(fields);
        let req = http
            .post(daemon.at(&path))
            .header("cookie", &cookie)
            .header("accept-language", lang)
            .form(&form);
        async move {
            let resp = req.send().await.unwrap();
            let location = resp
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned());
            (resp.status(), location, resp.text().await.unwrap())
        }
    };
    let new_server = |ca_text: String| {
        vec![
            ("kind", "jellyfin".to_owned()),
            ("name", "Home".to_owned()),
            ("url", front.url().to_owned()),
            ("config.api_key", jellyfin.api_key().to_owned()),
            ("ca_certificate", ca_text),
            ("op", "save".to_owned()),
        ]
    };

    // An admin page's HTML.
    let page = |path: &str| {
        let req = http.get(daemon.at(path)).header("cookie", &cookie);
        async move { req.send().await.unwrap().text().await.unwrap() }
    };

    // The add form shows the field.
    let new_form = page("/admin/servers/new?kind=jellyfin").await;
    assert!(
        new_form.contains("<textarea id=\"ca_certificate\" name=\"ca_certificate\""),
        "{new_form}"
    );

    // A private key instead of the certificate: refused next to the field, in German on a
    // German page, the text kept.
    let (status, _, html) = post(
        "/admin/servers/new".into(),
        "de",
        new_server("junk my-ca-text".into()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("id=\"ca_certificate-error\""), "{html}");
    assert!(html.contains("Hier ist kein Zertifikat"), "{html}");
    assert!(html.contains("junk my-ca-text</textarea>"), "{html}");
    let (status, _, html) = post(
        "/admin/servers/new".into(),
        "en",
        new_server(ca.key_pem().to_owned()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("This holds a private key"), "{html}");

    // Without a CA the test names the certificate next to the address.
    let (status, _, html) =
        post("/admin/servers/new".into(), "en", new_server(String::new())).await;
    assert_ne!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(html.contains("id=\"url-error\""), "{html}");
    assert!(html.contains("TLS certificate is not trusted"), "{html}");

    // With it (CRLF, as a text area sends it): saved; the server's page summarises the CA.
    let (status, location, html) = post(
        "/admin/servers/new".into(),
        "en",
        new_server(ca.pem().replace('\n', "\r\n")),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let location = location.unwrap();
    let id: i64 = location
        .trim_start_matches("/admin/servers/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let show = page(&format!("/admin/servers/{id}")).await;
    assert!(show.contains("Home CA, valid until 2035-01-01"), "{show}");

    // The edit page shows the stored CA; saving it unchanged needs no secret, another CA does.
    let edit = page(&format!("/admin/servers/{id}/edit")).await;
    assert!(
        edit.contains(&format!(">{}</textarea>", ca.pem())),
        "{edit}"
    );
    let edit_form = |ca_text: String| {
        vec![
            ("name", "Home".to_owned()),
            ("url", front.url().to_owned()),
            ("ca_certificate", ca_text),
        ]
    };
    let (status, _, html) = post(
        format!("/admin/servers/{id}/edit"),
        "en",
        edit_form(ca.pem().replace('\n', "\r\n")),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let other = TestCa::new("Other CA");
    let (status, _, html) = post(
        format!("/admin/servers/{id}/edit"),
        "en",
        edit_form(other.pem().to_owned()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("The trusted certificates changed: enter this again."),
        "{html}"
    );
    assert!(html.contains("Other CA") || html.contains(other.pem().lines().nth(1).unwrap()));
}

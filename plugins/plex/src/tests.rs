//! Native unit tests of whole operations against `MockServer`; the integration tests in
//! `tests/it/plex.rs` run the built component against the stateful fake.

#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn manifest_is_an_oauth_link_connector_without_enable_or_password() {
    let manifest = Plex::describe();
    assert_eq!(manifest.id, "plex");
    assert_eq!(manifest.join_flow, JoinFlow::OauthLink);
    assert!(!manifest.capabilities.contains(&Capability::SetEnabled));
    assert!(!manifest.capabilities.contains(&Capability::SetPassword));
    assert_eq!(manifest.capabilities.len(), 7);
    assert!(manifest.capabilities.contains(&Capability::FindUser));
    let hosts: Vec<(&str, bool)> = manifest
        .extra_hosts
        .iter()
        .map(|h| (h.id.as_str(), h.send_credentials))
        .collect();
    assert_eq!(hosts, [("plex-tv", true), ("clients-plex-tv", false)]);
}

mod flows {
    use std::cell::Cell;
    use std::rc::Rc;

    use zondarr_plugin_sdk::serde_json::{Value as Json, json};
    use zondarr_plugin_sdk::testing::MockServer;

    use super::*;

    const SERVERS: &str = r#"<MediaContainer size="1"><Server machineIdentifier="m1" name="Home"><Section id="901" key="1" title="Movies" type="movie"/><Section id="902" key="2" title="Shows" type="show"/></Server></MediaContainer>"#;

    fn linked_user(libraries: LibraryAccess) -> NewUser {
        NewUser {
            username: "ann".into(),
            password: None,
            email: None,
            linked_account: Some(LinkedAccount {
                id: "42".into(),
                username: "ann".into(),
                email: Some("ann@example.com".into()),
                token: "invitee-token".into(),
            }),
            libraries,
            permissions: vec![PermissionValue::new(ALLOW_SYNC, true)],
        }
    }

    /// plex.tv as far as sharing needs it. `shares_listed` says what the first listing of the
    /// shares returns; a POST answers "already sharing".
    fn sharing_mock(first_listing_empty: bool) -> MockServer {
        let listings = Rc::new(Cell::new(0));
        MockServer::for_connector::<Plex>("http://pms.test", move |host, request| {
            let target = request.target();
            let method = request.method();
            match (host, method, target) {
                (None, Method::Get, "/identity") => {
                    Ok(Response::new(200).with_body(r#"<MediaContainer machineIdentifier="m1" version="1.4"/>"#))
                }
                (Some("plex-tv"), Method::Get, "/api/servers/m1") => Ok(Response::new(200).with_body(SERVERS)),
                (Some("plex-tv"), Method::Get, "/api/servers/m1/shared_servers") => {
                    listings.set(listings.get() + 1);
                    if first_listing_empty && listings.get() == 1 {
                        return Ok(Response::new(200).with_body(r#"<MediaContainer size="0"/>"#));
                    }
                    Ok(Response::new(200).with_body(
                        r#"<MediaContainer size="2"><SharedServer id="7" userID="41" username="bob" acceptedAt="17"/><SharedServer id="8" userID="42" username="ann" email="ann@example.com" acceptedAt="0" accessToken="share-token"/></MediaContainer>"#,
                    ))
                }
                (Some("plex-tv"), Method::Post, "/api/servers/m1/shared_servers") => Ok(Response::new(400)
                    .with_body(r#"<Response code="400" status="You're already sharing this server with ann."/>"#)),
                (Some("plex-tv"), Method::Put, "/api/servers/m1/shared_servers/8") => Ok(Response::new(200)),
                (Some("plex-tv"), Method::Put, target) if target.starts_with("/api/v2/sharings/42?") => {
                    Ok(Response::new(204))
                }
                (Some("clients-plex-tv"), Method::Get, "/api/v2/shared_servers/invites/received/pending") => {
                    Response::from_json(200, &json!([{"sharedServers": [{"id": 99}]}, {"sharedServers": [{"id": "8"}]}]))
                }
                (Some("clients-plex-tv"), Method::Post, "/api/v2/shared_servers/8/accept") => Ok(Response::new(200)),
                _ => Ok(Response::new(404)),
            }
        })
    }

    fn targets(mock: &MockServer) -> Vec<String> {
        mock.calls()
            .iter()
            .map(|call| {
                format!(
                    "{} {}",
                    call.request.method().as_str(),
                    call.request.target()
                )
            })
            .collect()
    }

    #[test]
    fn an_existing_share_is_updated_and_only_its_invite_accepted() {
        let mock = sharing_mock(false);
        let user = Plex::create_user(
            &mock.server(),
            linked_user(LibraryAccess::Only(vec!["2".into()])),
        )
        .unwrap();
        assert_eq!(
            user.origin,
            AccountOrigin::Adopted,
            "the share existed before"
        );
        let user = user.user;
        assert_eq!(
            (user.id.as_str(), user.kind.as_deref()),
            ("42", Some("friend"))
        );
        let calls = targets(&mock);
        assert!(
            !calls.iter().any(|c| c.starts_with("POST /api/servers")),
            "{calls:?}"
        );
        assert!(
            calls.contains(&"POST /api/v2/shared_servers/8/accept".to_owned()),
            "{calls:?}"
        );
        assert!(!calls.iter().any(|c| c.contains("/99/")), "{calls:?}");
        let put = mock
            .calls()
            .into_iter()
            .find(|c| c.request.target() == "/api/servers/m1/shared_servers/8")
            .unwrap();
        let body: Json = put.request.body_json().unwrap().unwrap();
        assert_eq!(body["shared_server"]["library_section_ids"], json!([902]));
        let accept = mock
            .calls()
            .into_iter()
            .find(|c| c.request.target().ends_with("/accept"))
            .unwrap();
        assert_eq!(
            accept.request.header_value("x-plex-token"),
            Some("invitee-token")
        );
    }

    #[test]
    fn already_sharing_falls_back_to_an_update() {
        let mock = sharing_mock(true);
        let user = Plex::create_user(&mock.server(), linked_user(LibraryAccess::All)).unwrap();
        assert_eq!(user.origin, AccountOrigin::Adopted);
        assert_eq!(user.user.id, "42");
        let calls = targets(&mock);
        let post = calls
            .iter()
            .position(|c| c == "POST /api/servers/m1/shared_servers")
            .unwrap();
        let put = calls
            .iter()
            .position(|c| c == "PUT /api/servers/m1/shared_servers/8")
            .unwrap();
        assert!(post < put, "{calls:?}");
    }

    #[test]
    fn owner_calls_never_carry_a_plugin_set_token() {
        let mock = sharing_mock(false);
        Plex::create_user(&mock.server(), linked_user(LibraryAccess::All)).unwrap();
        for call in mock.calls() {
            let token = call.request.header_value("x-plex-token");
            match call.host.as_deref() {
                Some("clients-plex-tv") => assert_eq!(token, Some("invitee-token")),
                _ => assert_eq!(token, None, "{}", call.request.target()),
            }
        }
    }
}

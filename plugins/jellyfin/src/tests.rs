//! Native unit tests of the connector's request sequences against the SDK's mock server. The
//! behaviour against a stateful fake Jellyfin, through the real daemon and the built component,
//! is tested in `tests/it/jellyfin.rs`.

use std::cell::RefCell;
use std::rc::Rc;

use zondarr_plugin_sdk::serde_json::{Value as Json, json};
use zondarr_plugin_sdk::testing::MockServer;

use super::*;

const USER: &str = "5f1c3b2a9d8e4f7a8b6c5d4e3f2a1b0c";
const USER_DASHED: &str = "5f1c3b2a-9d8e-4f7a-8b6c-5d4e3f2a1b0c";

fn policy() -> Json {
    json!({
        "IsAdministrator": false,
        "IsDisabled": false,
        "EnableAllFolders": true,
        "EnabledFolders": [],
        "EnableContentDownloading": true,
        "BlockedTags": ["gore"],
        "SomeFutureField": {"Nested": 1},
        "AuthenticationProviderId": "Custom.Auth",
        "PasswordResetProviderId": "Custom.Reset",
    })
}

fn user_dto(name: &str) -> Json {
    json!({ "Name": name, "Id": USER, "Policy": policy() })
}

/// A tiny scripted Jellyfin: `GET /Users` lists `existing`, creation answers the new user, the
/// policy endpoint answers `policy_status` and stores what it got.
fn scripted(
    existing: &'static [&'static str],
    policy_status: u16,
) -> (MockServer, Rc<RefCell<Option<Json>>>) {
    let posted = Rc::new(RefCell::new(None));
    let sink = posted.clone();
    let mock = MockServer::for_connector::<Jellyfin>("http://jf.test", move |_, request| {
        let target = request.target();
        match (request.method(), target) {
            (Method::Get, "/Users") => {
                let users: Vec<Json> = existing.iter().map(|name| user_dto(name)).collect();
                Response::from_json(200, &users)
            }
            (Method::Post, "/Users/New") => {
                let body: Json = request.body_json()?.unwrap_or_default();
                Response::from_json(200, &user_dto(body["Name"].as_str().unwrap_or("?")))
            }
            (Method::Get, t) if t == format!("/Users/{USER_DASHED}") => {
                Response::from_json(200, &user_dto("ann"))
            }
            (Method::Post, t) if t == format!("/Users/{USER_DASHED}/Policy") => {
                *sink.borrow_mut() = request.body_json()?;
                Ok(Response::new(policy_status))
            }
            (Method::Delete, t) if t == format!("/Users/{USER_DASHED}") => Ok(Response::new(204)),
            _ => Ok(Response::new(404)),
        }
    });
    (mock, posted)
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        password: Some("pw".into()),
        email: None,
        linked_account: None,
        libraries: LibraryAccess::Only(vec!["0123456789abcdef0123456789ABCDEF".into()]),
        permissions: vec![
            PermissionValue::new("allow_downloads", false),
            PermissionValue::new("max_active_sessions", 2_i64),
        ],
    }
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
fn manifest_declares_the_header_scheme_and_every_permission() {
    let manifest = Jellyfin::describe();
    assert_eq!(manifest.id, "jellyfin");
    assert_eq!(
        manifest.auth,
        AuthScheme::header("Authorization", "MediaBrowser Token=\"{api_key}\"")
    );
    assert_eq!(manifest.permissions.len(), 10);
    assert!(!manifest.capabilities.contains(&Capability::OauthLink));
    assert_eq!(manifest.config[0].kind, ValueKind::Secret);
}

#[test]
fn create_user_creates_then_writes_the_whole_policy() {
    let (mock, posted) = scripted(&["Bob"], 204);
    let created = Jellyfin::create_user(&mock.server(), new_user("ann")).unwrap();
    assert_eq!(created.user.id, USER);
    assert_eq!(created.user.username, "ann");
    assert_eq!(created.origin, AccountOrigin::Created);
    assert_eq!(
        targets(&mock),
        [
            "POST /Users/New".to_owned(),
            format!("GET /Users/{USER_DASHED}"),
            format!("POST /Users/{USER_DASHED}/Policy"),
        ]
    );
    let mut expected = policy();
    expected["EnableAllFolders"] = json!(false);
    expected["EnabledFolders"] = json!(["01234567-89ab-cdef-0123-456789abcdef"]);
    expected["EnableContentDownloading"] = json!(false);
    expected["MaxActiveSessions"] = json!(2);
    assert_eq!(posted.borrow().clone().unwrap(), expected);
}

#[test]
fn find_user_matches_names_as_jellyfin_compares_them() {
    let (mock, _) = scripted(&["Bob", "ANN"], 204);
    let found = Jellyfin::find_user(&mock.server(), &new_user("ann")).unwrap();
    assert_eq!(found.map(|u| u.username), Some("ANN".to_owned()));
    assert_eq!(
        Jellyfin::find_user(&mock.server(), &new_user("carl")).unwrap(),
        None
    );
    assert_eq!(targets(&mock), ["GET /Users", "GET /Users"]);
}

#[test]
fn a_failed_policy_removes_the_new_user_again() {
    let (mock, _) = scripted(&[], 500);
    assert_eq!(
        Jellyfin::create_user(&mock.server(), new_user("ann")).unwrap_err(),
        Error::RemoteStatus(500)
    );
    assert_eq!(
        targets(&mock).last().unwrap(),
        &format!("DELETE /Users/{USER_DASHED}")
    );
}

#[test]
fn bad_input_sends_nothing() {
    let (mock, _) = scripted(&[], 204);
    let server = mock.server();
    for name in ["", " ann", "ann ", "a/b", "a\u{7}b", "semi;colon"] {
        let result = Jellyfin::create_user(&server, new_user(name));
        assert!(matches!(result, Err(Error::InvalidInput(_))), "{name:?}");
    }
    let mut no_password = new_user("ann");
    no_password.password = None;
    assert!(matches!(
        Jellyfin::create_user(&server, no_password),
        Err(Error::InvalidInput(_))
    ));
    let mut bad_permission = new_user("ann");
    bad_permission.permissions = vec![PermissionValue::new("allow_downloads", "yes")];
    assert!(matches!(
        Jellyfin::create_user(&server, bad_permission),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        Jellyfin::set_enabled(&server, "../System/Restart", false),
        Err(Error::InvalidInput(_))
    ));
    assert!(mock.calls().is_empty());
}

#[test]
fn unicode_names_are_left_to_the_server() {
    assert!(check_username("Zoë O'Brien-Smith_2@home.lan+x").is_ok());
    assert!(check_username("渡辺").is_ok());
}

#[test]
fn unchanged_policies_are_not_written() {
    let (mock, posted) = scripted(&[], 204);
    Jellyfin::set_enabled(&mock.server(), USER, true).unwrap();
    assert!(posted.borrow().is_none());
    assert_eq!(targets(&mock), [format!("GET /Users/{USER_DASHED}")]);
}

#[test]
fn sign_in_sends_the_client_fields_and_logs_the_session_out() {
    let mock = MockServer::for_connector::<Jellyfin>("http://jf.test", |_, request| match request
        .target()
    {
        "/Users/AuthenticateByName" => {
            let mut dto = user_dto("Admin");
            dto["Policy"]["IsAdministrator"] = json!(true);
            Response::from_json(200, &json!({ "User": dto, "AccessToken": "tok" }))
        }
        "/Sessions/Logout" => Ok(Response::new(204)),
        _ => Ok(Response::new(404)),
    });
    let who = Jellyfin::authenticate(&mock.server(), "admin", "pw").unwrap();
    assert_eq!(who, Authenticated::new(USER, "Admin", true));
    let calls = mock.calls();
    let auth = calls[0].request.header_value("Authorization").unwrap();
    assert_eq!(
        auth,
        format!(
            "MediaBrowser Client=\"Zondarr\", Device=\"Zondarr\", DeviceId=\"native-test-install\", Version=\"{}\"",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(
        calls[1].request.header_value("Authorization"),
        Some("MediaBrowser Token=\"tok\"")
    );
}

#[test]
fn losing_a_race_for_the_name_is_username_taken() {
    let mock = MockServer::for_connector::<Jellyfin>("http://jf.test", move |_, request| {
        match (request.method(), request.target()) {
            (Method::Get, "/Users") => Response::from_json(200, &vec![user_dto("ANN")]),
            (Method::Post, "/Users/New") => {
                Ok(Response::new(400).with_body("Error processing request."))
            }
            _ => Ok(Response::new(404)),
        }
    });
    assert_eq!(
        Jellyfin::create_user(&mock.server(), new_user("ann")).unwrap_err(),
        Error::UsernameTaken
    );
    assert_eq!(targets(&mock), ["POST /Users/New", "GET /Users"]);
}

#[test]
fn a_lost_creation_answer_is_reported_as_such_and_nothing_is_guessed() {
    let mock = MockServer::for_connector::<Jellyfin>("http://jf.test", move |_, request| {
        match (request.method(), request.target()) {
            (Method::Get, "/Users") => Response::from_json(200, &vec![user_dto("ann")]),
            (Method::Post, "/Users/New") => Err(Error::Timeout),
            _ => Ok(Response::new(404)),
        }
    });
    // The daemon resolves the unknown outcome with `find-user` and its journal's proof; the
    // connector neither lists nor deletes by name.
    assert_eq!(
        Jellyfin::create_user(&mock.server(), new_user("ann")).unwrap_err(),
        Error::Timeout
    );
    assert_eq!(targets(&mock), ["POST /Users/New"]);
}

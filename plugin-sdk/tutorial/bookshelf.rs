//! The connector built in `TUTORIAL.md`: Zondarr accounts on "Bookshelf", a made-up audiobook
//! server with a typical REST API. It is the `src/lib.rs` of a crate made with
//! `zondarr plugin new bookshelf`; the SDK's own tests compile it and run its tests, so the
//! tutorial cannot drift from working code.

use serde::Deserialize;
use zondarr_plugin_sdk::prelude::*;
use zondarr_plugin_sdk::rest::{ensure_applied, undo_on_error};
use zondarr_plugin_sdk::serde_json::{self, Value as Json, json};

pub struct Bookshelf;

zondarr_plugin_sdk::export!(Bookshelf);

#[derive(Deserialize)]
struct Status {
    name: String,
    version: String,
}

#[derive(Deserialize)]
struct ApiLibrary {
    id: String,
    name: String,
    #[serde(rename = "mediaType")]
    media_type: String,
}

#[derive(Deserialize)]
struct ApiUser {
    id: String,
    username: String,
    email: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "isActive")]
    active: bool,
    #[serde(rename = "lastSeen")]
    last_seen: Option<String>,
}

impl ApiUser {
    fn is_admin(&self) -> bool {
        self.kind == "root" || self.kind == "admin"
    }
}

impl From<ApiUser> for RemoteUser {
    fn from(user: ApiUser) -> Self {
        let admin = user.is_admin();
        let remote = RemoteUser::new(user.id, user.username)
            .with_email(user.email)
            .with_kind(user.kind)
            .with_disabled(!user.active)
            .with_admin(admin);
        match user.last_seen {
            Some(at) => remote.with_last_activity(at),
            None => remote,
        }
    }
}

/// The permission keys of the manifest, and the field of Bookshelf's `permissions` object each
/// one sets.
const PERMISSIONS: [(&str, &str); 2] =
    [("allow_downloads", "download"), ("allow_upload", "upload")];

fn user_path(id: &str) -> String {
    format!("/api/users/{}", zondarr_plugin_sdk::percent_encode(id))
}

/// Bookshelf's `permissions` object for the permission values Zondarr sends.
fn permissions_json(values: &[PermissionValue]) -> Json {
    let mut permissions = json!({});
    for value in values {
        if let Some((_, field)) = PERMISSIONS.iter().find(|(key, _)| *key == value.key) {
            permissions[*field] = json!(value.value.as_flag().unwrap_or(false));
        }
    }
    permissions
}

/// The account, refused when it administers the server: Zondarr never changes those.
fn managed_user(server: &Server, id: &str) -> Result<ApiUser> {
    let user: ApiUser = server.get_json(&user_path(id))?;
    if user.is_admin() {
        return Err(Error::InvalidInput(format!(
            "{} administers the Bookshelf server; Zondarr leaves administrators alone",
            user.username
        )));
    }
    Ok(user)
}

impl Connector for Bookshelf {
    fn describe() -> Manifest {
        Manifest::new(
            "bookshelf",
            "Bookshelf",
            "0.1.0",
            "Accounts on Bookshelf audiobook servers.",
        )
        .with_capabilities([
            Capability::ListUsers,
            Capability::FindUser,
            Capability::CreateUser,
            Capability::DeleteUser,
            Capability::SetEnabled,
            Capability::Permissions,
        ])
        .with_permission(PermissionDef::flag("allow_downloads", "Downloads", false))
        .with_permission(PermissionDef::flag("allow_upload", "Upload", false))
        .with_config(
            ConfigField::secret("api_token", "API token")
                .required()
                .with_help("Settings → Users → your admin account → API token."),
        )
        .with_auth(AuthScheme::header("Authorization", "Bearer {api_token}"))
    }

    fn test_connection(server: &Server) -> Result<ServerInfo> {
        let status: Status = server.get_json("/api/status")?;
        Ok(ServerInfo::new(status.name, "Bookshelf").with_version(status.version))
    }

    fn list_libraries(server: &Server) -> Result<Vec<Library>> {
        let libraries: Vec<ApiLibrary> = server.get_list("/api/libraries")?;
        Ok(libraries
            .into_iter()
            .map(|l| Library::new(l.id, l.name, l.media_type))
            .collect())
    }

    fn list_users(server: &Server) -> Result<Vec<RemoteUser>> {
        let users: Vec<ApiUser> = server.get_list("/api/users")?;
        Ok(users.into_iter().map(RemoteUser::from).collect())
    }

    fn find_user(server: &Server, user: &NewUser) -> Result<Option<RemoteUser>> {
        let users: Vec<ApiUser> = server.get_list("/api/users")?;
        Ok(users
            .into_iter()
            .map(RemoteUser::from)
            .find(|u| u.username.eq_ignore_ascii_case(&user.username)))
    }

    fn create_user(server: &Server, user: NewUser) -> Result<CreatedUser> {
        let Some(password) = user.password.as_deref() else {
            return Err(Error::InvalidInput(
                "a Bookshelf account needs a password".into(),
            ));
        };
        let wanted = json!({
            "username": user.username,
            "email": user.email,
            "type": "user",
            "isActive": true,
            "permissions": permissions_json(&user.permissions),
            "accessAllLibraries": user.libraries.only_ids().is_none(),
            "librariesAccessible": user.libraries.only_ids().unwrap_or_default(),
        });
        let mut body = wanted.clone();
        body["password"] = json!(password);
        let created: Json = server
            .post_json("/api/users", &body)
            .or_taken(&["already taken", "already exists"])?;
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        let checked = ensure_applied("the new account", &wanted, &created)
            .and_then(|()| Ok(serde_json::from_value::<ApiUser>(created)?));
        undo_on_error(checked, "the new account", || {
            server.delete(&user_path(&id))
        })
        .map(|user| CreatedUser::created(RemoteUser::from(user)))
    }

    fn delete_user(server: &Server, user_id: &str, _options: DeleteOptions) -> Result<()> {
        match managed_user(server, user_id) {
            Ok(_) => {}
            Err(Error::NotFound(_)) => return Ok(()),
            Err(other) => return Err(other),
        }
        match server.delete(&user_path(user_id)) {
            Err(Error::NotFound(_)) => Ok(()),
            other => other,
        }
    }

    fn set_enabled(server: &Server, user_id: &str, enabled: bool) -> Result<()> {
        managed_user(server, user_id)?;
        server.patch_json_discard(&user_path(user_id), &json!({ "isActive": enabled }))
    }

    fn set_permissions(server: &Server, user_id: &str, values: Vec<PermissionValue>) -> Result<()> {
        managed_user(server, user_id)?;
        let path = user_path(user_id);
        let write = Request::put(format!("{path}/permissions"));
        server.update_json(&path, "/permissions", write, |permissions| {
            for (field, value) in permissions_json(&values).as_object().into_iter().flatten() {
                permissions[field] = value.clone();
            }
            Ok(())
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use zondarr_plugin_sdk::testing::MockServer;

    use super::*;

    /// The fake Bookshelf's accounts, by id.
    type Users = BTreeMap<String, Json>;

    /// A fake Bookshelf that keeps its accounts in the mock's state. `ignores` lists the
    /// permission fields it drops on create, like an older server version would.
    fn bookshelf(ignores: &'static [&'static str]) -> MockServer<Users> {
        let admin = json!({"id": "1", "username": "root", "email": null, "type": "root",
            "isActive": true, "lastSeen": null, "permissions": {"download": true, "upload": true}});
        let users = BTreeMap::from([("1".to_owned(), admin)]);
        MockServer::stateful("http://books.test", users, move |users, _host, request| {
            let path = request.target().to_owned();
            let id = path.strip_prefix("/api/users/").map(|rest| rest.trim_end_matches("/permissions"));
            match (request.method(), path.as_str(), id) {
                (Method::Get, "/api/status", _) => {
                    Response::from_json(200, &json!({"name": "Attic", "version": "2.17.0"}))
                }
                (Method::Get, "/api/libraries", _) => Response::from_json(
                    200,
                    &json!({"libraries": [{"id": "lib1", "name": "Audiobooks", "mediaType": "book"}]}),
                ),
                (Method::Get, "/api/users", _) => {
                    Response::from_json(200, &json!({"users": users.values().collect::<Vec<_>>()}))
                }
                (Method::Post, "/api/users", _) => {
                    let mut user: Json = request.body_json()?.unwrap_or_default();
                    if users.values().any(|u| u["username"] == user["username"]) {
                        return Ok(Response::new(400).with_body("Username already taken"));
                    }
                    let id = (users.len() + 1).to_string();
                    user["id"] = json!(id);
                    user["lastSeen"] = Json::Null;
                    for field in ignores {
                        user["permissions"][*field] = json!(false);
                    }
                    if let Some(fields) = user.as_object_mut() {
                        fields.remove("password");
                    }
                    users.insert(id, user.clone());
                    Response::from_json(200, &user)
                }
                (Method::Delete, _, Some(id)) => match users.remove(id) {
                    Some(_) => Ok(Response::new(204)),
                    None => Ok(Response::new(404)),
                },
                (method, _, Some(id)) => match (method, users.get_mut(id)) {
                    (_, None) => Ok(Response::new(404)),
                    (Method::Get, Some(user)) => Response::from_json(200, user),
                    (Method::Patch, Some(user)) => {
                        let changes: Json = request.body_json()?.unwrap_or_default();
                        for (field, value) in changes.as_object().into_iter().flatten() {
                            user[field] = value.clone();
                        }
                        Ok(Response::new(204))
                    }
                    (Method::Put, Some(user)) => {
                        user["permissions"] = request.body_json()?.unwrap_or_default();
                        Ok(Response::new(204))
                    }
                    _ => Ok(Response::new(405)),
                },
                _ => Ok(Response::new(404)),
            }
        })
        .declared_by::<Bookshelf>()
    }

    fn invitee(name: &str, downloads: bool) -> NewUser {
        NewUser {
            username: name.into(),
            password: Some("correct horse battery".into()),
            email: Some(format!("{name}@example.org")),
            linked_account: None,
            libraries: LibraryAccess::Only(vec!["lib1".into()]),
            permissions: vec![
                PermissionValue::new("allow_downloads", downloads),
                PermissionValue::new("allow_upload", false),
            ],
        }
    }

    #[test]
    fn identifies_the_server_and_lists_wrapped_answers() -> Result<()> {
        let fake = bookshelf(&[]);
        let info = Bookshelf::test_connection(&fake.server())?;
        assert_eq!(
            (info.name.as_str(), info.version.as_deref()),
            ("Attic", Some("2.17.0"))
        );
        let libraries = Bookshelf::list_libraries(&fake.server())?;
        assert_eq!(libraries, vec![Library::new("lib1", "Audiobooks", "book")]);
        let users = Bookshelf::list_users(&fake.server())?;
        assert_eq!(users.len(), 1);
        assert!(users[0].admin, "the root account is reported as an admin");
        Ok(())
    }

    #[test]
    fn creates_an_account_with_everything_applied() -> Result<()> {
        let fake = bookshelf(&[]);
        let created = Bookshelf::create_user(&fake.server(), invitee("ann", true))?.user;
        assert_eq!(
            (created.id.as_str(), created.username.as_str()),
            ("2", "ann")
        );
        {
            let stored = &fake.state()["2"];
            assert_eq!(
                stored["permissions"],
                json!({"download": true, "upload": false})
            );
            assert_eq!(stored["librariesAccessible"], json!(["lib1"]));
            assert_eq!(
                stored.get("password"),
                None,
                "the fake drops it, as servers do"
            );
        }
        let again = Bookshelf::create_user(&fake.server(), invitee("ann", true));
        assert_eq!(again.unwrap_err(), Error::UsernameTaken);
        Ok(())
    }

    #[test]
    fn an_account_the_server_did_not_fully_set_up_is_removed_again() {
        let fake = bookshelf(&["download"]);
        let refused = Bookshelf::create_user(&fake.server(), invitee("bob", true));
        let Err(Error::InvalidResponse(message)) = refused else {
            panic!("{refused:?}")
        };
        assert!(
            message.contains("permissions.download is false, not true"),
            "{message}"
        );
        assert!(
            !fake.state().contains_key("2"),
            "the half-made account was deleted"
        );
    }

    #[test]
    fn changes_accounts_but_never_admins() -> Result<()> {
        let fake = bookshelf(&[]);
        Bookshelf::create_user(&fake.server(), invitee("cy", false))?;
        Bookshelf::set_enabled(&fake.server(), "2", false)?;
        assert_eq!(fake.state()["2"]["isActive"], json!(false));
        let downloads = vec![PermissionValue::new("allow_downloads", true)];
        Bookshelf::set_permissions(&fake.server(), "2", downloads)?;
        assert_eq!(
            fake.state()["2"]["permissions"],
            json!({"download": true, "upload": false})
        );
        let admin = Bookshelf::set_enabled(&fake.server(), "1", false);
        assert!(matches!(admin, Err(Error::InvalidInput(m)) if m.contains("root administers")));
        let keep = || DeleteOptions {
            remove_account: false,
        };
        let admin = Bookshelf::delete_user(&fake.server(), "1", keep());
        assert!(matches!(admin, Err(Error::InvalidInput(_))));
        Bookshelf::delete_user(&fake.server(), "2", keep())?;
        assert!(!fake.state().contains_key("2"));
        Bookshelf::delete_user(&fake.server(), "2", keep())?; // already gone: still a success
        Ok(())
    }
}

//! The Audiobookshelf connector, bundled with Zondarr and written with the plugin SDK's building
//! blocks only. The API token of an administrator (or the root user) is sent by the daemon as
//! `Authorization: Bearer`. `docs/connectors/audiobookshelf.md` lists the requests of every
//! operation.

use serde::Deserialize;
use zondarr_plugin_sdk::percent_encode;
use zondarr_plugin_sdk::prelude::*;
use zondarr_plugin_sdk::rest::{TakenExt, ensure_applied, permission_fields, undo_on_error};
use zondarr_plugin_sdk::serde_json::{Value as Json, json};

/// The connector.
pub struct Audiobookshelf;

zondarr_plugin_sdk::export!(Audiobookshelf);

/// Permission key, label, field of Audiobookshelf's `permissions`, default (Audiobookshelf's own
/// for an account of type `user`).
const PERMISSIONS: &[(&str, &str, &str, bool)] = &[
    ("allow_downloads", "Can download", "download", true),
    ("allow_update", "Can update", "update", false),
    ("allow_delete", "Can delete", "delete", false),
    ("allow_upload", "Can upload", "upload", false),
    (
        "allow_ereader",
        "Can create e-reader devices",
        "createEreader",
        false,
    ),
    (
        "allow_explicit",
        "Can access explicit content",
        "accessExplicitContent",
        false,
    ),
];

#[derive(Deserialize)]
struct Status {
    app: Option<String>,
    #[serde(rename = "serverVersion")]
    server_version: Option<String>,
}

#[derive(Deserialize)]
struct ApiLibrary {
    id: String,
    name: String,
    #[serde(rename = "mediaType", default)]
    media_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    username: String,
    email: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    is_active: bool,
}

/// Audiobookshelf's answer to `POST /login`.
#[derive(Deserialize)]
struct SignedIn {
    user: SignedInUser,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignedInUser {
    #[serde(flatten)]
    user: User,
    refresh_token: Option<String>,
}

impl User {
    fn is_admin(&self) -> bool {
        self.kind == "root" || self.kind == "admin"
    }
}

impl From<User> for RemoteUser {
    fn from(user: User) -> Self {
        let admin = user.is_admin();
        RemoteUser::new(&user.id, &user.username)
            .with_email(user.email.clone())
            .with_kind(if admin {
                "admin".to_owned()
            } else {
                user.kind.clone()
            })
            .with_disabled(!user.is_active)
            .with_admin(admin)
    }
}

fn user_path(id: &str) -> String {
    format!("/api/users/{}", percent_encode(id))
}

fn mapping() -> Vec<(&'static str, &'static str)> {
    PERMISSIONS.iter().map(|(k, _, f, _)| (*k, *f)).collect()
}

/// `permissions` and `librariesAccessible` for an access (Audiobookshelf applies
/// `librariesAccessible` only together with a `permissions` object).
fn library_fields(access: &LibraryAccess, permissions: &mut Json) -> Json {
    permissions["accessAllLibraries"] = json!(access.only_ids().is_none());
    json!(access.only_ids().unwrap_or_default())
}

/// The account `id`, refused when it administers the server; `None` when it does not exist.
fn managed(server: &Server<'_>, id: &str) -> Result<Option<User>> {
    let user: User = match server.get_json(&user_path(id)) {
        Ok(user) => user,
        Err(Error::NotFound(_)) => return Ok(None),
        Err(other) => return Err(other),
    };
    if user.is_admin() {
        return Err(Error::InvalidInput(format!(
            "{} administers the Audiobookshelf server; Zondarr does not change administrators",
            user.username
        )));
    }
    Ok(Some(user))
}

fn patch(server: &Server<'_>, id: &str, body: &Json) -> Result<()> {
    managed(server, id)?.ok_or_else(|| Error::NotFound(format!("the Audiobookshelf user {id}")))?;
    server.patch_json_discard(&user_path(id), body)
}

impl Connector for Audiobookshelf {
    fn describe() -> Manifest {
        let manifest = Manifest::new(
            "audiobookshelf",
            "Audiobookshelf",
            env!("CARGO_PKG_VERSION"),
            "Creates and manages accounts on Audiobookshelf servers: libraries, permissions, \
             passwords, disabling, admin sign-in.",
        )
        .with_capabilities([
            Capability::ListUsers,
            Capability::FindUser,
            Capability::CreateUser,
            Capability::DeleteUser,
            Capability::SetEnabled,
            Capability::LibraryAccess,
            Capability::Permissions,
            Capability::SetPassword,
            Capability::Authenticate,
        ])
        .with_config(
            ConfigField::secret("api_token", "API token")
                .required()
                .with_help(
                    "The API token of an Audiobookshelf administrator (Settings → Users → the \
                     account, or Settings → API Keys). Zondarr sends it as Authorization: Bearer.",
                ),
        )
        .with_auth(AuthScheme::header("Authorization", "Bearer {api_token}"))
        .with_member_address_field(
            "member_url",
            "Address for members",
            "The address your members open to reach Audiobookshelf, e.g. https://abs.example.com. It is shown to \
             invitees when their account is ready; leave it empty when the URL above is not \
             meant for them.",
        )
        .with_color("#232323");
        PERMISSIONS
            .iter()
            .map(|(key, label, field, default)| {
                PermissionDef::flag(*key, *label, *default)
                    .with_description(format!("Audiobookshelf permission `{field}`."))
            })
            .fold(manifest, Manifest::with_permission)
    }

    fn test_connection(server: &Server<'_>) -> Result<ServerInfo> {
        let status: Status = server.get_json("/status")?;
        if status.app.as_deref() != Some("audiobookshelf") {
            return Err(Error::InvalidInput(
                "the server at this URL does not say it is Audiobookshelf".into(),
            ));
        }
        let users: Result<Vec<User>> = server.get_list("/api/users");
        match users {
            Err(Error::Forbidden(_)) => {
                return Err(Error::InvalidInput(
                    "the API token does not belong to an Audiobookshelf administrator".into(),
                ));
            }
            other => other?,
        };
        let info = ServerInfo::new("Audiobookshelf", "Audiobookshelf");
        Ok(match status.server_version {
            Some(version) => info.with_version(version),
            None => info,
        })
    }

    fn list_libraries(server: &Server<'_>) -> Result<Vec<Library>> {
        let libraries: Vec<ApiLibrary> = server.get_list("/api/libraries")?;
        Ok(libraries
            .into_iter()
            .map(|l| Library::new(l.id, l.name, l.media_type))
            .collect())
    }

    fn list_users(server: &Server<'_>) -> Result<Vec<RemoteUser>> {
        let users: Vec<User> = server.get_list("/api/users")?;
        Ok(users.into_iter().map(RemoteUser::from).collect())
    }

    fn find_user(server: &Server<'_>, user: &NewUser) -> Result<Option<RemoteUser>> {
        // Audiobookshelf compares user names case-insensitively (`lower(username)`).
        let users: Vec<User> = server.get_list("/api/users")?;
        let wanted = user.username.to_lowercase();
        Ok(users
            .into_iter()
            .find(|u| u.username.to_lowercase() == wanted)
            .map(RemoteUser::from))
    }

    fn create_user(server: &Server<'_>, user: NewUser) -> Result<CreatedUser> {
        let password = user
            .password
            .as_deref()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                Error::InvalidInput("an Audiobookshelf account needs a password".into())
            })?;
        let mut permissions = Json::Object(permission_fields(&user.permissions, &mapping()));
        let libraries = library_fields(&user.libraries, &mut permissions);
        let wanted = json!({
            "username": user.username,
            "type": "user",
            "isActive": true,
            "permissions": permissions,
            "librariesAccessible": libraries,
        });
        let mut body = wanted.clone();
        body["password"] = json!(password);
        if let Some(email) = &user.email {
            body["email"] = json!(email);
        }
        let answer: Json = server
            .post_json("/api/users", &body)
            .or_taken(&["already taken"])?;
        let created = answer.get("user").cloned().unwrap_or(answer);
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        let checked = ensure_applied("the new Audiobookshelf account", &wanted, &created)
            .and_then(|()| Ok(zondarr_plugin_sdk::serde_json::from_value::<User>(created)?));
        let stored = undo_on_error(checked, "the new Audiobookshelf account", || {
            server.delete(&user_path(&id))
        })?;
        Ok(CreatedUser::created(RemoteUser::from(stored)))
    }

    fn delete_user(server: &Server<'_>, user_id: &str, _options: DeleteOptions) -> Result<()> {
        if managed(server, user_id)?.is_none() {
            return Ok(());
        }
        match server.delete(&user_path(user_id)) {
            Err(Error::NotFound(_)) => Ok(()),
            other => other,
        }
    }

    fn set_enabled(server: &Server<'_>, user_id: &str, enabled: bool) -> Result<()> {
        patch(server, user_id, &json!({ "isActive": enabled }))
    }

    fn set_library_access(server: &Server<'_>, user_id: &str, access: LibraryAccess) -> Result<()> {
        let mut permissions = json!({});
        let libraries = library_fields(&access, &mut permissions);
        let body = json!({ "permissions": permissions, "librariesAccessible": libraries });
        patch(server, user_id, &body)
    }

    fn set_permissions(
        server: &Server<'_>,
        user_id: &str,
        permissions: Vec<PermissionValue>,
    ) -> Result<()> {
        let fields = permission_fields(&permissions, &mapping());
        if fields.is_empty() {
            return Ok(());
        }
        patch(server, user_id, &json!({ "permissions": fields }))
    }

    fn set_password(server: &Server<'_>, user_id: &str, password: &str) -> Result<()> {
        patch(server, user_id, &json!({ "password": password }))
    }

    fn authenticate(server: &Server<'_>, username: &str, password: &str) -> Result<Authenticated> {
        if username.trim().is_empty() {
            return Err(Error::Unauthorized);
        }
        // Audiobookshelf's local sign-in, without the admin's token. `x-return-tokens` asks for
        // the refresh token in the answer (instead of a cookie), to end the session right after.
        let request = Request::post("/login")
            .header("x-return-tokens", "true")
            .json(&json!({ "username": username, "password": password }))?;
        let signed_in: SignedIn = server.send_json_without_credentials(request)?;
        let SignedInUser {
            user,
            refresh_token,
        } = signed_in.user;
        if let Some(token) = refresh_token.filter(|t| !t.is_empty()) {
            let logout = Request::post("/logout").header("x-refresh-token", token);
            server.end_session(logout);
        }
        let admin = user.is_admin();
        Ok(Authenticated::new(user.id, user.username, admin))
    }
}

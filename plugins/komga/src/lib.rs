//! The Komga connector, bundled with Zondarr and written with the plugin SDK's building blocks
//! only. Komga accounts are identified by their e-mail address (the login); the API key is sent
//! by the daemon as `X-API-Key`. Komga cannot disable an account: the manifest leaves
//! `set-enabled` out, and expiry falls back to removing every library. `docs/connectors/komga.md`
//! lists the requests of every operation.

use serde::Deserialize;
use zondarr_plugin_sdk::percent_encode;
use zondarr_plugin_sdk::prelude::*;
use zondarr_plugin_sdk::rest::{TakenExt, ensure_applied, undo_on_error};
use zondarr_plugin_sdk::serde_json::{Value as Json, json};

/// The connector.
pub struct Komga;

zondarr_plugin_sdk::export!(Komga);

/// Permission key, label, Komga role, default (what Komga's own "add user" form ticks).
const ROLES: &[(&str, &str, &str, bool)] = &[
    ("allow_downloads", "File download", "FILE_DOWNLOAD", true),
    (
        "allow_page_streaming",
        "Page streaming",
        "PAGE_STREAMING",
        true,
    ),
    ("allow_kobo_sync", "Kobo sync", "KOBO_SYNC", false),
    (
        "allow_koreader_sync",
        "KOReader sync",
        "KOREADER_SYNC",
        false,
    ),
];
const ADMIN: &str = "ADMIN";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    email: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    shared_all_libraries: bool,
    #[serde(default)]
    shared_libraries_ids: Vec<String>,
}

impl User {
    fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == ADMIN)
    }
}

impl From<User> for RemoteUser {
    fn from(user: User) -> Self {
        let admin = user.is_admin();
        RemoteUser::new(&user.id, &user.email)
            .with_email(Some(user.email.clone()))
            .with_kind(if admin { "admin" } else { "local" })
            .with_admin(admin)
    }
}

#[derive(Deserialize)]
struct ApiLibrary {
    id: String,
    name: String,
}

#[derive(Deserialize, Default)]
struct ActuatorInfo {
    #[serde(default)]
    build: Json,
}

fn user_path(id: &str) -> String {
    format!("/api/v2/users/{}", percent_encode(id))
}

/// Komga's `sharedLibraries` for an access.
fn shared(access: &LibraryAccess) -> Json {
    match access.only_ids() {
        None => json!({ "all": true, "libraryIds": [] }),
        Some(ids) => json!({ "all": false, "libraryIds": ids }),
    }
}

/// `roles` with the permission values applied, sorted; roles no permission names (ADMIN) stay.
fn with_permissions(mut roles: Vec<String>, values: &[PermissionValue]) -> Vec<String> {
    for (key, _, role, _) in ROLES {
        let Some(on) = values
            .iter()
            .find(|v| v.key == *key)
            .and_then(|v| v.value.as_flag())
        else {
            continue;
        };
        roles.retain(|r| r != role);
        if on {
            roles.push((*role).to_owned());
        }
    }
    roles.sort();
    roles.dedup();
    roles
}

/// The account's state in the form the checks compare (sets as sorted lists).
fn applied(roles: &[String], all: bool, ids: &[String]) -> Json {
    let mut roles = roles.to_vec();
    roles.sort();
    let mut ids = ids.to_vec();
    ids.sort();
    json!({ "roles": roles, "all": all, "libraryIds": if all { Vec::new() } else { ids } })
}

fn users(server: &Server<'_>) -> Result<Vec<User>> {
    server.get_list("/api/v2/users")
}

/// The account `id`, refused when it administers the server; `None` when it does not exist.
fn managed(server: &Server<'_>, id: &str) -> Result<Option<User>> {
    let Some(user) = users(server)?.into_iter().find(|u| u.id == id) else {
        return Ok(None);
    };
    if user.is_admin() {
        return Err(Error::InvalidInput(format!(
            "{} administers the Komga server; Zondarr does not change administrators",
            user.email
        )));
    }
    Ok(Some(user))
}

fn existing(server: &Server<'_>, id: &str) -> Result<User> {
    managed(server, id)?.ok_or_else(|| Error::NotFound(format!("the Komga user {id}")))
}

/// The login of a new account: its e-mail address.
fn login(user: &NewUser) -> Result<String> {
    let email = user
        .email
        .clone()
        .or_else(|| user.username.contains('@').then(|| user.username.clone()));
    email.ok_or_else(|| {
        Error::InvalidInput(
            "Komga signs in with an e-mail address: enter an e-mail address to join".into(),
        )
    })
}

impl Connector for Komga {
    fn describe() -> Manifest {
        let manifest = Manifest::new(
            "komga",
            "Komga",
            env!("CARGO_PKG_VERSION"),
            "Creates and manages accounts on Komga servers: shared libraries, roles, passwords, \
             admin sign-in. Komga signs in with the e-mail address.",
        )
        .with_capabilities([
            Capability::ListUsers,
            Capability::FindUser,
            Capability::CreateUser,
            Capability::DeleteUser,
            Capability::LibraryAccess,
            Capability::Permissions,
            Capability::SetPassword,
            Capability::Authenticate,
        ])
        .with_config(
            ConfigField::secret("api_key", "API key")
                .required()
                .with_help(
                    "An API key of a Komga administrator (Account settings → API keys, Komga \
                     1.20 or later). Zondarr sends it as the X-API-Key header.",
                ),
        )
        .with_auth(AuthScheme::header("X-API-Key", "{api_key}"))
        .with_member_address_field(
            "member_url",
            "Address for members",
            "The address your members open to reach Komga, e.g. https://komga.example.com. It is shown to \
             invitees when their account is ready; leave it empty when the URL above is not \
             meant for them.",
        )
        .with_color("#005ed3");
        ROLES
            .iter()
            .map(|(key, label, role, default)| {
                PermissionDef::flag(*key, *label, *default)
                    .with_description(format!("Komga role {role}."))
            })
            .fold(manifest, Manifest::with_permission)
    }

    fn test_connection(server: &Server<'_>) -> Result<ServerInfo> {
        let me: User = server.get_json("/api/v2/users/me")?;
        if !me.is_admin() {
            return Err(Error::InvalidInput(format!(
                "the API key belongs to {}, who is not a Komga administrator; use an \
                 administrator's key",
                me.email
            )));
        }
        let info: ActuatorInfo = server.get_json("/actuator/info").unwrap_or_default();
        let result = ServerInfo::new("Komga", "Komga");
        Ok(match info.build["version"].as_str() {
            Some(version) => result.with_version(version),
            None => result,
        })
    }

    fn list_libraries(server: &Server<'_>) -> Result<Vec<Library>> {
        let libraries: Vec<ApiLibrary> = server.get_list("/api/v1/libraries")?;
        Ok(libraries
            .into_iter()
            .map(|l| Library::new(l.id, l.name, "books"))
            .collect())
    }

    fn list_users(server: &Server<'_>) -> Result<Vec<RemoteUser>> {
        Ok(users(server)?.into_iter().map(RemoteUser::from).collect())
    }

    fn find_user(server: &Server<'_>, user: &NewUser) -> Result<Option<RemoteUser>> {
        let email = login(user)?;
        Ok(users(server)?
            .into_iter()
            .find(|u| u.email.eq_ignore_ascii_case(&email))
            .map(RemoteUser::from))
    }

    fn create_user(server: &Server<'_>, user: NewUser) -> Result<CreatedUser> {
        let email = login(&user)?;
        let password = user
            .password
            .as_deref()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::InvalidInput("a Komga account needs a password".into()))?;
        let roles = with_permissions(Vec::new(), &user.permissions);
        let sharing = shared(&user.libraries);
        let body = json!({
            "email": email,
            "password": password,
            "roles": roles,
            "sharedLibraries": sharing,
        });
        let created: User = server
            .post_json("/api/v2/users", &body)
            .or_taken(&["already exists"])?;
        // Komga drops library ids it does not know and roles it does not know, silently.
        let wanted = applied(
            &roles,
            sharing["all"] == true,
            user.libraries.only_ids().unwrap_or_default(),
        );
        let got = applied(
            &created.roles,
            created.shared_all_libraries,
            &created.shared_libraries_ids,
        );
        let path = user_path(&created.id);
        let checked = ensure_applied("the new Komga account", &wanted, &got).map(|()| created);
        let created = undo_on_error(checked, "the new Komga account", || server.delete(&path))?;
        Ok(CreatedUser::created(RemoteUser::from(created)))
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

    fn set_library_access(server: &Server<'_>, user_id: &str, access: LibraryAccess) -> Result<()> {
        existing(server, user_id)?;
        let body = json!({ "sharedLibraries": shared(&access) });
        server.patch_json_discard(&user_path(user_id), &body)
    }

    fn set_permissions(
        server: &Server<'_>,
        user_id: &str,
        permissions: Vec<PermissionValue>,
    ) -> Result<()> {
        let user = existing(server, user_id)?;
        let roles = with_permissions(user.roles.clone(), &permissions);
        let mut before = user.roles;
        before.sort();
        if roles == before {
            return Ok(());
        }
        server.patch_json_discard(&user_path(user_id), &json!({ "roles": roles }))
    }

    fn set_password(server: &Server<'_>, user_id: &str, password: &str) -> Result<()> {
        existing(server, user_id)?;
        let body = json!({ "password": password });
        server.patch_json_discard(&format!("{}/password", user_path(user_id)), &body)
    }

    fn authenticate(server: &Server<'_>, username: &str, password: &str) -> Result<Authenticated> {
        if username.trim().is_empty() {
            return Err(Error::Unauthorized);
        }
        // Komga's own sign-in: HTTP Basic with the e-mail address, without the API key. An empty
        // `X-Auth-Token` asks Komga to answer the new session's id in that header.
        let request = Request::get("/api/v2/users/me")
            .basic_auth(username, password)
            .header("X-Auth-Token", "")
            .header("Accept", "application/json");
        let response = server
            .request_without_credentials(request)?
            .error_for_status()?;
        let me: User = response.json()?;
        // End that session, so sign-in checks do not pile up in Komga's session registry.
        if let Some(session) = response.header("x-auth-token").filter(|s| !s.is_empty()) {
            let logout = Request::post("/api/logout").header("X-Auth-Token", session);
            server.end_session(logout);
        }
        let admin = me.is_admin();
        Ok(Authenticated::new(me.id, me.email, admin))
    }
}

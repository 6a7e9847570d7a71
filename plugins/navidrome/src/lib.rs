//! The Navidrome connector, bundled with Zondarr and written with the plugin SDK's building
//! blocks only. It manages accounts through Navidrome's native API (`/api/user`,
//! `/api/library`), never Subsonic, whose user-management endpoints Navidrome answers with 501.
//!
//! Authentication: Navidrome's own sign-in. The daemon posts the administrator's user name and
//! password to `POST /auth/login` (`session` auth), keeps the JWT it answers and sends it as
//! `x-nd-authorization: Bearer …`, signing in again when Navidrome answers 401.
//! `docs/connectors/navidrome.md` says more.

use serde::Deserialize;
use zondarr_plugin_sdk::percent_encode;
use zondarr_plugin_sdk::prelude::*;
use zondarr_plugin_sdk::rest::{TakenExt, collect_pages, ensure_applied, undo_on_error};
use zondarr_plugin_sdk::serde_json::{Value as Json, json};

/// The connector.
pub struct Navidrome;

zondarr_plugin_sdk::export!(Navidrome);

/// Users per `GET /api/user` page.
const PAGE: usize = 500;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    user_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    is_admin: bool,
    last_access_at: Option<String>,
}

impl From<User> for RemoteUser {
    fn from(user: User) -> Self {
        let remote = RemoteUser::new(&user.id, &user.user_name)
            .with_email((!user.email.is_empty()).then_some(user.email))
            .with_kind(if user.is_admin { "admin" } else { "local" })
            .with_admin(user.is_admin);
        match user.last_access_at {
            Some(at) => remote.with_last_activity(at),
            None => remote,
        }
    }
}

#[derive(Deserialize)]
struct ApiLibrary {
    id: i64,
    name: String,
}

/// Navidrome's answer to `POST /auth/login`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignedIn {
    id: String,
    username: String,
    #[serde(default)]
    is_admin: bool,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

fn user_path(id: &str) -> String {
    format!("/api/user/{}", percent_encode(id))
}

fn users(server: &Server<'_>) -> Result<Vec<User>> {
    collect_pages(100, |start| {
        let request = Request::get("/api/user")
            .query("_start", &start.to_string())
            .query("_end", &(start + PAGE).to_string())
            .query("_sort", "userName")
            .query("_order", "ASC");
        let response = server.send(request.header("Accept", "application/json"))?;
        let total = response
            .header("x-total-count")
            .and_then(|t| t.trim().parse().ok());
        Ok((response.json::<Vec<User>>()?, total))
    })
}

/// The account `id`, refused when it administers the server; `None` when it does not exist.
fn managed(server: &Server<'_>, id: &str) -> Result<Option<User>> {
    let user: User = match server.get_json(&user_path(id)) {
        Ok(user) => user,
        Err(Error::NotFound(_)) => return Ok(None),
        Err(other) => return Err(other),
    };
    if user.is_admin {
        return Err(Error::InvalidInput(format!(
            "{} administers the Navidrome server; Zondarr does not change administrators",
            user.user_name
        )));
    }
    Ok(Some(user))
}

/// The library ids for an access; Navidrome requires at least one for a regular user and has no
/// "every library, also later ones" setting.
fn library_ids(server: &Server<'_>, access: &LibraryAccess) -> Result<Vec<i64>> {
    let ids: Vec<i64> = match access.only_ids() {
        None => server
            .get_list::<ApiLibrary>("/api/library")?
            .into_iter()
            .map(|l| l.id)
            .collect(),
        Some(ids) => ids
            .iter()
            .map(|id| {
                id.parse().map_err(|_| {
                    Error::InvalidInput(format!("`{id}` is not a Navidrome library id"))
                })
            })
            .collect::<Result<_>>()?,
    };
    if ids.is_empty() {
        return Err(Error::InvalidInput(
            "Navidrome requires at least one library for a regular user".into(),
        ));
    }
    Ok(ids)
}

fn set_libraries(server: &Server<'_>, id: &str, ids: &[i64]) -> Result<Vec<i64>> {
    let path = format!("{}/library", user_path(id));
    let answer: Vec<ApiLibrary> = server.put_json(&path, &json!({ "libraryIds": ids }))?;
    Ok(answer.into_iter().map(|l| l.id).collect())
}

fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

impl Connector for Navidrome {
    fn describe() -> Manifest {
        Manifest::new(
            "navidrome",
            "Navidrome",
            env!("CARGO_PKG_VERSION"),
            "Creates and manages accounts on Navidrome servers (0.58 or later) through its \
             native API: libraries, passwords, and admin sign-in.",
        )
        .with_capabilities([
            Capability::ListUsers,
            Capability::FindUser,
            Capability::CreateUser,
            Capability::DeleteUser,
            Capability::LibraryAccess,
            Capability::SetPassword,
            Capability::Authenticate,
        ])
        .with_config(
            ConfigField::text("username", "Administrator's user name")
                .required()
                .with_help(
                    "A Navidrome administrator. Zondarr signs in as this user at /auth/login, \
                     as Navidrome's web interface does, and keeps the session in memory.",
                ),
        )
        .with_config(
            ConfigField::secret("password", "Administrator's password")
                .required()
                .with_help("The password of that administrator."),
        )
        .with_auth(AuthScheme::session(
            "/auth/login",
            [("username", "username"), ("password", "password")],
            "/token",
            "x-nd-authorization",
            "Bearer {token}",
        ))
        .with_member_address_field(
            "member_url",
            "Address for members",
            "The address your members open to reach Navidrome, e.g. https://music.example.com. It is shown to \
             invitees when their account is ready; leave it empty when the URL above is not \
             meant for them.",
        )
        .with_color("#0084ff")
    }

    fn test_connection(server: &Server<'_>) -> Result<ServerInfo> {
        users(server).map_err(|error| match error {
            Error::Forbidden(_) => Error::InvalidInput(
                "the user Zondarr signs in as is not a Navidrome administrator".into(),
            ),
            other => other,
        })?;
        Ok(ServerInfo::new("Navidrome", "Navidrome"))
    }

    fn list_libraries(server: &Server<'_>) -> Result<Vec<Library>> {
        let libraries: Vec<ApiLibrary> = server.get_list("/api/library")?;
        Ok(libraries
            .into_iter()
            .map(|l| Library::new(l.id.to_string(), l.name, "music"))
            .collect())
    }

    fn list_users(server: &Server<'_>) -> Result<Vec<RemoteUser>> {
        Ok(users(server)?.into_iter().map(RemoteUser::from).collect())
    }

    fn find_user(server: &Server<'_>, user: &NewUser) -> Result<Option<RemoteUser>> {
        // Navidrome compares user names with COLLATE NOCASE.
        let wanted = user.username.to_lowercase();
        Ok(users(server)?
            .into_iter()
            .find(|u| u.user_name.to_lowercase() == wanted)
            .map(RemoteUser::from))
    }

    fn create_user(server: &Server<'_>, user: NewUser) -> Result<CreatedUser> {
        let password = user
            .password
            .as_deref()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::InvalidInput("a Navidrome account needs a password".into()))?;
        let libraries = library_ids(server, &user.libraries)?;
        let body = json!({
            "userName": user.username,
            "name": user.username,
            "email": user.email.clone().unwrap_or_default(),
            "password": password,
            "isAdmin": false,
        });
        let created: Created = server
            .post_json("/api/user", &body)
            .or_taken(&["ra.validation.unique"])?;
        let path = user_path(&created.id);
        // A new user gets the libraries Navidrome marks for new users; set exactly the chosen ones.
        let applied = set_libraries(server, &created.id, &libraries).and_then(|got| {
            ensure_applied(
                "the new Navidrome account",
                &json!(sorted(libraries.clone())),
                &json!(sorted(got)),
            )?;
            server.get_json::<User>(&path)
        });
        let stored = undo_on_error(applied, "the new Navidrome account", || {
            server.delete(&path)
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

    fn set_library_access(server: &Server<'_>, user_id: &str, access: LibraryAccess) -> Result<()> {
        managed(server, user_id)?
            .ok_or_else(|| Error::NotFound(format!("the Navidrome user {user_id}")))?;
        let ids = library_ids(server, &access)?;
        set_libraries(server, user_id, &ids).map(drop)
    }

    fn set_password(server: &Server<'_>, user_id: &str, password: &str) -> Result<()> {
        managed(server, user_id)?
            .ok_or_else(|| Error::NotFound(format!("the Navidrome user {user_id}")))?;
        // `PUT /api/user/{id}` replaces the user: everything is sent back as read, with the
        // new password (an administrator needs no current password for another user).
        let path = user_path(user_id);
        let write = Request::put(path.clone());
        server.update_json(&path, "", write, |user: &mut Json| {
            user["password"] = json!(password);
            Ok(())
        })?;
        Ok(())
    }

    fn authenticate(server: &Server<'_>, username: &str, password: &str) -> Result<Authenticated> {
        if username.trim().is_empty() {
            return Err(Error::Unauthorized);
        }
        // The same sign-in as the daemon's, as this user and without the daemon's session token.
        // Navidrome's tokens are JWTs without a server-side session: there is nothing to log out.
        let request = Request::post("/auth/login")
            .json(&json!({ "username": username, "password": password }))?;
        let signed_in: SignedIn = server.send_json_without_credentials(request)?;
        Ok(Authenticated::new(
            signed_in.id,
            signed_in.username,
            signed_in.is_admin,
        ))
    }
}

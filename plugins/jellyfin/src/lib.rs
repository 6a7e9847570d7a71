//! The Jellyfin connector, bundled with Zondarr. It manages local Jellyfin accounts through the
//! server's REST API, authenticated with an API key the daemon injects as
//! `Authorization: MediaBrowser Token="…"`: the only scheme Jellyfin 12.0 still accepts by
//! default, and one that works from 10.9 on. It never uses `X-Emby-Token`, `?api_key=` or routes
//! missing from the official OpenAPI documents. `docs/connectors/jellyfin.md` lists the requests
//! of every operation.
//!
//! Modules: `api` (sending, status mapping, decoding), `policy` (permissions and the whole-policy
//! read-modify-write), `ids` (GUID forms), `dates` (timestamps).

mod api;
mod dates;
mod ids;
mod policy;

use zondarr_plugin_sdk::prelude::*;
use zondarr_plugin_sdk::rest::undo_on_error;
use zondarr_plugin_sdk::serde_json::json;
use zondarr_plugin_sdk::{install_id, percent_encode};

use ids::Guid;
use policy::Changes;

/// The connector.
pub struct Jellyfin;

zondarr_plugin_sdk::export!(Jellyfin);

/// Name and device the connector signs in as, in Jellyfin's device list.
const CLIENT: &str = "Zondarr";

/// The config field with the address members use.
const MEMBER_ADDRESS: &str = "member_url";

const EMBY: &str = "the server at this URL is Emby, not Jellyfin; this connector only manages \
                    Jellyfin servers";

impl Connector for Jellyfin {
    fn describe() -> Manifest {
        let manifest = Manifest::new(
            "jellyfin",
            "Jellyfin",
            env!("CARGO_PKG_VERSION"),
            "Creates and manages accounts on Jellyfin servers (10.9 to 12.0): libraries, \
             permissions, passwords, and admin sign-in.",
        )
        .with_capabilities([
            Capability::ListUsers,
            Capability::CreateUser,
            Capability::DeleteUser,
            Capability::SetEnabled,
            Capability::LibraryAccess,
            Capability::Permissions,
            Capability::SetPassword,
            Capability::Authenticate,
            Capability::FindUser,
        ])
        .with_config(
            ConfigField::secret("api_key", "API key")
                .required()
                .with_help(
                    "Create one in Jellyfin under Dashboard → API Keys. Zondarr sends it as \
                     `Authorization: MediaBrowser Token=…`.",
                ),
        )
        .with_auth(AuthScheme::header(
            "Authorization",
            "MediaBrowser Token=\"{api_key}\"",
        ))
        .with_member_address_field(
            MEMBER_ADDRESS,
            "Address for members",
            "The address your members type into their Jellyfin apps, e.g. \
             https://jellyfin.example.com. It is shown to invitees when their account is ready; \
             leave it empty when the URL above is not meant for them.",
        )
        .with_apps_url("https://jellyfin.org/downloads/")
        .with_color("#aa5cc3");
        policy::definitions().fold(manifest, Manifest::with_permission)
    }

    fn test_connection(server: &Server<'_>) -> Result<ServerInfo> {
        let request = Request::get("/System/Info").header("Accept", "application/json");
        let response = server.request(request)?;
        if response.status() == 401 {
            return Err(if is_emby(server) {
                Error::InvalidInput(EMBY.to_owned())
            } else {
                Error::Unauthorized
            });
        }
        let what = "the Jellyfin API (GET /System/Info answered 404; check the server URL)";
        let info: api::SystemInfo = api::check(response, what)?.json()?;
        match info.product_name.as_deref() {
            Some(product) if product.to_ascii_lowercase().contains("jellyfin") => {}
            Some(product) => {
                return Err(Error::InvalidInput(format!(
                    "the server at this URL is `{}`, not Jellyfin",
                    product.escape_debug()
                )));
            }
            None => return Err(Error::InvalidInput(EMBY.to_owned())),
        }
        let name = info
            .server_name
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| "Jellyfin".to_owned());
        let mut result = ServerInfo::new(name, "Jellyfin");
        if let Some(version) = info.version {
            result = result.with_version(version);
        }
        if let Some(id) = info.id {
            result = result.with_server_id(Guid::normalise(&id));
        }
        Ok(result)
    }

    fn list_libraries(server: &Server<'_>) -> Result<Vec<Library>> {
        let folders: Vec<api::VirtualFolder> = api::fetch_json(
            server,
            Request::get("/Library/VirtualFolders"),
            "the Jellyfin library list",
        )?;
        let mut libraries = Vec::with_capacity(folders.len());
        for folder in folders {
            let Some(id) = folder.item_id.filter(|id| !id.is_empty()) else {
                zondarr_plugin_sdk::warn!(
                    "skipping the library {:?}: Jellyfin gave it no ItemId",
                    folder.name.unwrap_or_default()
                );
                continue;
            };
            let id = Guid::normalise(&id);
            let name = folder.name.unwrap_or_else(|| id.clone());
            let kind = folder
                .collection_type
                .filter(|kind| !kind.is_empty())
                .unwrap_or_else(|| "mixed".to_owned());
            libraries.push(Library::new(id, name, kind));
        }
        Ok(libraries)
    }

    fn list_users(server: &Server<'_>) -> Result<Vec<RemoteUser>> {
        let users: Vec<api::User> =
            api::fetch_json(server, Request::get("/Users"), "the Jellyfin user list")?;
        Ok(users.into_iter().map(remote_user).collect())
    }

    fn find_user(server: &Server<'_>, user: &NewUser) -> Result<Option<RemoteUser>> {
        Ok(find_by_name(server, &user.username)?.map(remote_user))
    }

    fn create_user(server: &Server<'_>, user: NewUser) -> Result<CreatedUser> {
        check_username(&user.username)?;
        let password = user
            .password
            .as_deref()
            .filter(|password| !password.is_empty())
            .ok_or_else(|| Error::InvalidInput("a Jellyfin account needs a password".into()))?;
        // Everything is validated before the account exists, so bad input never needs a rollback.
        let changes =
            Changes::libraries(&user.libraries)?.and(Changes::permissions(&user.permissions)?);

        // No name check before the call: Jellyfin refuses a duplicate name itself (case-
        // insensitively, under its user lock), and its user list has no filter by name, so a
        // check would download every account. A duplicate gets a bare 400, which is told apart
        // below (only then is the list read).
        let body = json!({ "Name": user.username, "Password": password });
        let request = Request::post("/Users/New").json(&body)?;
        let response = server.request(request.header("Accept", "application/json"))?;
        if response.status() == 400 {
            // Someone took the name since the check, or Jellyfin refused the name itself.
            return Err(if find_by_name(server, &user.username)?.is_some() {
                Error::UsernameTaken
            } else {
                let text = response
                    .server_message()
                    .filter(|text| text != "Error processing request.");
                Error::InvalidInput(match text {
                    Some(text) => format!("Jellyfin refused the username: {text}"),
                    None => "Jellyfin refused the username".to_owned(),
                })
            });
        }
        // The account may exist although the answer was lost (a timeout, a cut-off body, a
        // server error after the insert). The connector does not guess: the error tells the
        // daemon that the outcome is unknown, and the daemon finds the account with `find-user`
        // and removes it by id only if its journal proves that this redemption made it.
        let created: api::User =
            api::check(response, "the Jellyfin user-creation endpoint")?.json()?;
        let Some(id) = Guid::parse(&created.id) else {
            remove_by_name(server, &user.username);
            return Err(Error::InvalidResponse(format!(
                "Jellyfin created the user but gave it the id `{}`, which is not a GUID",
                created.id.escape_debug()
            )));
        };

        let applied = policy::update(server, &id, |policy| {
            changes.apply(policy);
            Ok(())
        });
        // Nothing half-done: an account without its library limits must not stay.
        let what = format!("the new Jellyfin user {}", id.hex());
        let policy = undo_on_error(applied, &what, || delete(server, &id))?;
        let flag = |field: &str| policy[field].as_bool().unwrap_or(false);
        Ok(CreatedUser::created(
            RemoteUser::new(id.hex(), created.name.unwrap_or(user.username))
                .with_kind("local")
                .with_disabled(flag("IsDisabled"))
                .with_admin(flag("IsAdministrator")),
        ))
    }

    fn delete_user(server: &Server<'_>, user_id: &str, _options: DeleteOptions) -> Result<()> {
        delete(server, &Guid::user(user_id)?)
    }

    fn set_enabled(server: &Server<'_>, user_id: &str, enabled: bool) -> Result<()> {
        let id = Guid::user(user_id)?;
        policy::update(server, &id, |policy| {
            let admin = policy.get("IsAdministrator").and_then(|v| v.as_bool());
            if !enabled && admin == Some(true) {
                return Err(Error::InvalidInput(
                    "Jellyfin does not allow disabling an administrator".into(),
                ));
            }
            Changes::default()
                .set("IsDisabled", json!(!enabled))
                .apply(policy);
            Ok(())
        })
        .map(drop)
    }

    fn set_library_access(server: &Server<'_>, user_id: &str, access: LibraryAccess) -> Result<()> {
        let id = Guid::user(user_id)?;
        let changes = Changes::libraries(&access)?;
        policy::update(server, &id, |policy| {
            changes.apply(policy);
            Ok(())
        })
        .map(drop)
    }

    fn set_permissions(
        server: &Server<'_>,
        user_id: &str,
        permissions: Vec<PermissionValue>,
    ) -> Result<()> {
        let id = Guid::user(user_id)?;
        let changes = Changes::permissions(&permissions)?;
        if changes.is_empty() {
            return Ok(());
        }
        policy::update(server, &id, |policy| {
            changes.apply(policy);
            Ok(())
        })
        .map(drop)
    }

    fn set_password(server: &Server<'_>, user_id: &str, password: &str) -> Result<()> {
        let id = Guid::user(user_id)?;
        if password.is_empty() {
            return Err(Error::InvalidInput(
                "the new password must not be empty".into(),
            ));
        }
        // `ResetPassword: true` would clear the password instead of setting `NewPw`. An admin
        // credential (the API key) needs no `CurrentPw`.
        let body = json!({ "NewPw": password, "ResetPassword": false });
        let request = Request::post("/Users/Password")
            .query("userId", &id.dashed())
            .json(&body)?;
        api::send(server, request, &format!("Jellyfin user {}", id.hex())).map(drop)
    }

    fn authenticate(server: &Server<'_>, username: &str, password: &str) -> Result<Authenticated> {
        if username.trim().is_empty() {
            return Err(Error::Unauthorized);
        }
        // A sign-in must carry the client fields and no token: Jellyfin answers 400 without
        // Client, Device, DeviceId and Version, and the API key must not ride along (it is sent
        // without the server's credentials).
        let authorization = format!(
            "MediaBrowser Client=\"{}\", Device=\"{}\", DeviceId=\"{}\", Version=\"{}\"",
            CLIENT,
            CLIENT,
            percent_encode(&install_id()),
            percent_encode(env!("CARGO_PKG_VERSION")),
        );
        let body = json!({ "Username": username, "Pw": password });
        let request = Request::post("/Users/AuthenticateByName")
            .header("Authorization", authorization)
            .json(&body)?;
        let response =
            server.request_without_credentials(request.header("Accept", "application/json"))?;
        let result: api::AuthenticationResult =
            api::check(response, "the Jellyfin sign-in endpoint")?.json()?;
        let user = result.user.ok_or_else(|| {
            Error::InvalidResponse("Jellyfin accepted the sign-in but sent no user".into())
        })?;
        // End the session the check created, so checks do not pile up as devices in Jellyfin.
        // Only `Token=` is sent: with the client fields Jellyfin would rewrite the device record.
        if let Some(token) = result.access_token.filter(|token| !token.is_empty()) {
            server.end_session(Request::post("/Sessions/Logout").header(
                "Authorization",
                format!("MediaBrowser Token=\"{}\"", percent_encode(&token)),
            ));
        }
        let admin = user.policy.as_ref().is_some_and(|p| p.is_administrator);
        let name = user.name.clone().unwrap_or_else(|| username.to_owned());
        Ok(Authenticated::new(Guid::normalise(&user.id), name, admin))
    }
}

/// `true` when the `/System/Info/Public` of a server that refused the key looks like Emby's,
/// which has no `ProductName`.
fn is_emby(server: &Server<'_>) -> bool {
    let request = Request::get("/System/Info/Public").header("Accept", "application/json");
    let Ok(response) = server.request(request) else {
        return false;
    };
    response.is_success()
        && response
            .json::<api::SystemInfo>()
            .is_ok_and(|info| info.product_name.is_none() && info.version.is_some())
}

fn delete(server: &Server<'_>, id: &Guid) -> Result<()> {
    let request = Request::delete(format!("/Users/{}", id.dashed()));
    api::send(server, request, &format!("Jellyfin user {}", id.hex())).map(drop)
}

/// The account called `name`, compared case-insensitively as Jellyfin compares names.
fn find_by_name(server: &Server<'_>, name: &str) -> Result<Option<api::User>> {
    let users: Vec<api::User> =
        api::fetch_json(server, Request::get("/Users"), "the Jellyfin user list")?;
    let wanted = name.to_lowercase();
    Ok(users.into_iter().find(|user| {
        user.name
            .as_deref()
            .is_some_and(|existing| existing.to_lowercase() == wanted)
    }))
}

/// Best effort after a creation whose answer was lost: deletes the account called `name` if
/// Jellyfin created it after all. The name was free just before, so it is this call's account.
fn remove_by_name(server: &Server<'_>, name: &str) {
    let leftover = match find_by_name(server, name) {
        Ok(leftover) => leftover,
        Err(err) => {
            zondarr_plugin_sdk::error!(
                "could not check whether Jellyfin created the user {name:?} after all ({err}); \
                 check in Jellyfin"
            );
            return;
        }
    };
    let Some(user) = leftover else { return };
    let removed = Guid::parse(&user.id)
        .ok_or_else(|| Error::InvalidResponse(format!("the id `{}` is not a GUID", user.id)))
        .and_then(|id| delete(server, &id));
    match removed {
        Ok(()) => zondarr_plugin_sdk::warn!(
            "Jellyfin created the user {name:?} although its answer was lost; it was removed again"
        ),
        Err(err) => zondarr_plugin_sdk::error!(
            "Jellyfin created the user {name:?} but the connector could not remove it ({err}); \
             delete it in Jellyfin"
        ),
    }
}

/// Jellyfin's rule for names is `^(?!\s)[\w\ \-'._@+]+(?<!\s)$`. Only the ASCII part is checked
/// here (Unicode word characters are left to the server), so nothing Jellyfin accepts is refused.
fn check_username(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::InvalidInput("the username must not be empty".into()));
    }
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return Err(Error::InvalidInput(
            "the username must not start or end with a space".into(),
        ));
    }
    if let Some(bad) = name.chars().find(|c| {
        (c.is_ascii() && !(c.is_ascii_alphanumeric() || " -'._@+".contains(*c))) || c.is_control()
    }) {
        return Err(Error::InvalidInput(format!(
            "Jellyfin usernames may only contain letters, digits, spaces and - ' . _ @ +; \
             `{}` is not allowed",
            bad.escape_debug()
        )));
    }
    Ok(())
}

fn remote_user(user: api::User) -> RemoteUser {
    let flags = user.policy.unwrap_or_default();
    let id = Guid::normalise(&user.id);
    let name = user.name.unwrap_or_else(|| id.clone());
    let mut remote = RemoteUser::new(id, name)
        .with_kind("local")
        .with_disabled(flags.is_disabled)
        .with_admin(flags.is_administrator);
    let last = user
        .last_activity_date
        .as_deref()
        .and_then(dates::to_rfc3339_utc)
        .or_else(|| {
            user.last_login_date
                .as_deref()
                .and_then(dates::to_rfc3339_utc)
        });
    if let Some(at) = last {
        remote = remote.with_last_activity(at);
    }
    remote
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

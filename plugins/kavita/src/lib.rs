//! The Kavita connector, bundled with Zondarr and written with the plugin SDK's building blocks
//! only. Every call first exchanges the API key (which the daemon adds as the `apiKey` query
//! parameter) for a JWT at `POST /api/Plugin/authenticate`, then sends every other request
//! without the daemon's credentials (so the key is in no other URL) and with that JWT as
//! `Authorization: Bearer`. Accounts are made in two steps (invite, then confirm with the token of
//! the invite link), deleted by user name, and disabled by taking away the `Login` role.
//! `docs/connectors/kavita.md` lists the requests of every operation.

use serde::Deserialize;
use zondarr_plugin_sdk::prelude::*;
use zondarr_plugin_sdk::rest::{TakenExt, ensure_applied, link_param, undo_on_error};
use zondarr_plugin_sdk::serde_json::{Value as Json, json};

/// The connector.
pub struct Kavita;

zondarr_plugin_sdk::export!(Kavita);

/// The name Kavita logs the plugin sign-in under.
const PLUGIN_NAME: &str = "Zondarr";
/// Permission key, label, Kavita role, default.
const ROLES: &[(&str, &str, &str, bool)] = &[
    ("allow_downloads", "Download", "Download", false),
    (
        "allow_change_password",
        "Change Password",
        "Change Password",
        true,
    ),
    ("allow_bookmarks", "Bookmark", "Bookmark", true),
    (
        "allow_change_restriction",
        "Change Restriction",
        "Change Restriction",
        false,
    ),
];
const ADMIN: &str = "Admin";
const LOGIN: &str = "Login";
/// Added by Kavita to every account that is not an administrator.
const PLEB: &str = "Pleb";

#[derive(Deserialize)]
struct SignIn {
    username: Option<String>,
    token: Option<String>,
    #[serde(rename = "kavitaVersion")]
    version: Option<String>,
}

#[derive(Deserialize, Clone)]
struct ApiLibrary {
    id: i64,
    name: Option<String>,
    #[serde(rename = "type", default)]
    kind: i64,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Member {
    id: i64,
    username: Option<String>,
    email: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    libraries: Vec<ApiLibrary>,
    #[serde(default)]
    age_restriction: Json,
    last_active_utc: Option<String>,
}

impl Member {
    fn has(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    fn name(&self) -> String {
        self.username.clone().unwrap_or_else(|| self.id.to_string())
    }

    fn library_ids(&self) -> Vec<i64> {
        self.libraries.iter().map(|l| l.id).collect()
    }
}

impl From<Member> for RemoteUser {
    fn from(member: Member) -> Self {
        let admin = member.has(ADMIN);
        let remote = RemoteUser::new(member.id.to_string(), member.name())
            .with_email(member.email.clone())
            .with_kind(if admin { "admin" } else { "local" })
            .with_disabled(!member.has(LOGIN))
            .with_admin(admin);
        match member.last_active_utc {
            Some(at) if !at.starts_with("0001-") => remote.with_last_activity(at),
            _ => remote,
        }
    }
}

/// A signed-in session: the JWT every request but the sign-in carries.
struct Session<'a> {
    server: &'a Server<'a>,
    bearer: String,
    version: Option<String>,
}

impl<'a> Session<'a> {
    fn open(server: &'a Server<'a>) -> Result<Self> {
        let request = Request::post("/api/Plugin/authenticate").query("pluginName", PLUGIN_NAME);
        let answer: SignIn = server.send_json(request)?;
        let token = answer.token.filter(|t| !t.is_empty()).ok_or_else(|| {
            Error::InvalidResponse("Kavita accepted the API key but sent no token".into())
        })?;
        Ok(Self {
            server,
            bearer: format!("Bearer {token}"),
            version: answer.version,
        })
    }

    /// Sends a request with the session's JWT, without the daemon's `apiKey` (Kavita reads it
    /// only at the sign-in; elsewhere it would just sit in the URL, and in proxies' logs).
    fn send(&self, request: Request) -> Result<Response> {
        self.server
            .request_without_credentials(
                request
                    .header("Authorization", self.bearer.as_str())
                    .header("Accept", "application/json"),
            )?
            .error_for_status()
    }

    fn get<T: serde::de::DeserializeOwned>(&self, request: Request) -> Result<T> {
        self.send(request)?.json()
    }

    fn post(&self, path: &str, body: &Json) -> Result<Response> {
        self.send(Request::post(path).json(body)?)
    }

    fn libraries(&self) -> Result<Vec<ApiLibrary>> {
        self.get(Request::get("/api/Library/libraries"))
    }

    fn members(&self, pending: bool) -> Result<Vec<Member>> {
        let request = Request::get("/api/Users");
        let request = if pending {
            request.query("includePending", "true")
        } else {
            request
        };
        self.get(request)
    }

    /// The account `id`, refused when it administers the server.
    fn managed(&self, id: &str) -> Result<Option<Member>> {
        let Some(member) = self
            .members(true)?
            .into_iter()
            .find(|m| m.id.to_string() == id)
        else {
            return Ok(None);
        };
        if member.has(ADMIN) {
            return Err(Error::InvalidInput(format!(
                "{} administers the Kavita server; Zondarr does not change administrators",
                member.name()
            )));
        }
        Ok(Some(member))
    }

    fn existing(&self, id: &str) -> Result<Member> {
        self.managed(id)?
            .ok_or_else(|| Error::NotFound(format!("the Kavita user {id}")))
    }

    /// `POST /api/Account/update`, which replaces name, roles, libraries and age rating: what
    /// is not changed is sent as it is.
    fn update(&self, member: &Member, roles: &[String], libraries: &[i64]) -> Result<()> {
        let age = if member.age_restriction.is_object() {
            member.age_restriction.clone()
        } else {
            json!({ "ageRating": -1, "includeUnknowns": true })
        };
        let body = json!({
            "userId": member.id,
            "username": member.name(),
            "roles": roles,
            "libraries": libraries,
            "ageRestriction": age,
        });
        self.post("/api/Account/update", &body).map(drop)
    }

    /// The library ids for an access: every current library for "all".
    fn library_ids(&self, access: &LibraryAccess) -> Result<Vec<i64>> {
        match access.only_ids() {
            None => Ok(self.libraries()?.into_iter().map(|l| l.id).collect()),
            Some(ids) => ids
                .iter()
                .map(|id| {
                    id.parse().map_err(|_| {
                        Error::InvalidInput(format!("`{id}` is not a Kavita library id"))
                    })
                })
                .collect(),
        }
    }
}

/// Roles with the permission values applied (`Pleb` left out: Kavita adds it), sorted.
fn with_permissions(roles: &[String], values: &[PermissionValue]) -> Vec<String> {
    let mut roles: Vec<String> = roles.iter().filter(|r| *r != PLEB).cloned().collect();
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

fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut items = items.to_vec();
    items.sort();
    items
}

/// The e-mail address the invite goes to.
fn invite_email(user: &NewUser) -> Result<String> {
    user.email
        .clone()
        .or_else(|| user.username.contains('@').then(|| user.username.clone()))
        .ok_or_else(|| {
            Error::InvalidInput(
                "Kavita invites accounts by e-mail address: enter an e-mail address to join".into(),
            )
        })
}

impl Connector for Kavita {
    fn describe() -> Manifest {
        let manifest = Manifest::new(
            "kavita",
            "Kavita",
            env!("CARGO_PKG_VERSION"),
            "Creates and manages accounts on Kavita servers (0.8): libraries, roles, passwords, \
             disabling, admin sign-in.",
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
            ConfigField::secret("api_key", "API key")
                .required()
                .with_help(
                    "The API key of a Kavita administrator (User settings → 3rd Party Clients). \
                     Zondarr sends it as the apiKey query parameter to sign in.",
                ),
        )
        .with_auth(AuthScheme::query("apiKey", "api_key"))
        .with_member_address_field(
            "member_url",
            "Address for members",
            "The address your members open to reach Kavita, e.g. https://kavita.example.com. It is shown to \
             invitees when their account is ready; leave it empty when the URL above is not \
             meant for them.",
        )
        .with_color("#4ac694");
        ROLES
            .iter()
            .map(|(key, label, role, default)| {
                PermissionDef::flag(*key, *label, *default)
                    .with_description(format!("Kavita role \"{role}\"."))
            })
            .fold(manifest, Manifest::with_permission)
    }

    fn test_connection(server: &Server<'_>) -> Result<ServerInfo> {
        let session = Session::open(server)?;
        // Only an administrator may list users; anyone else gets 403 here.
        match session.members(false) {
            Err(Error::Forbidden(_)) => {
                return Err(Error::InvalidInput(
                    "the API key does not belong to a Kavita administrator; use an \
                     administrator's key"
                        .into(),
                ));
            }
            other => other?,
        };
        let info = ServerInfo::new("Kavita", "Kavita");
        Ok(match session.version {
            Some(version) => info.with_version(version),
            None => info,
        })
    }

    fn list_libraries(server: &Server<'_>) -> Result<Vec<Library>> {
        let session = Session::open(server)?;
        Ok(session
            .libraries()?
            .into_iter()
            .map(|l| {
                // LibraryType: 0 manga, 1 comic, 2 book, 3 image, 4 light novel, 5 comic (flexible).
                let kind = [
                    "manga",
                    "comics",
                    "books",
                    "images",
                    "lightnovels",
                    "comics",
                ]
                .get(usize::try_from(l.kind).unwrap_or(0))
                .copied()
                .unwrap_or("books");
                Library::new(l.id.to_string(), l.name.unwrap_or_default(), kind)
            })
            .collect())
    }

    fn list_users(server: &Server<'_>) -> Result<Vec<RemoteUser>> {
        let session = Session::open(server)?;
        Ok(session
            .members(false)?
            .into_iter()
            .map(RemoteUser::from)
            .collect())
    }

    fn find_user(server: &Server<'_>, user: &NewUser) -> Result<Option<RemoteUser>> {
        let email = invite_email(user)?;
        let session = Session::open(server)?;
        let wanted = user.username.to_uppercase();
        Ok(session
            .members(true)?
            .into_iter()
            .find(|m| {
                m.name().to_uppercase() == wanted
                    || m.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(&email))
            })
            .map(RemoteUser::from))
    }

    fn create_user(server: &Server<'_>, user: NewUser) -> Result<CreatedUser> {
        let email = invite_email(&user)?;
        let password = user
            .password
            .as_deref()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::InvalidInput("a Kavita account needs a password".into()))?;
        let session = Session::open(server)?;
        let libraries = session.library_ids(&user.libraries)?;
        let roles = with_permissions(&[LOGIN.to_owned()], &user.permissions);

        // Step 1: the invite makes a pending account named after the e-mail address.
        let invite = json!({
            "email": email,
            "roles": roles,
            "libraries": libraries,
            "ageRestriction": { "ageRating": -1, "includeUnknowns": true },
        });
        let answer: Json = session
            .post("/api/Account/invite", &invite)
            .or_taken(&["already registered", "already invited"])?
            .json()?;
        // Kavita's document says a string (the link); its source answers an object with it.
        let link = answer
            .as_str()
            .or_else(|| answer["emailLink"].as_str())
            .unwrap_or_default()
            .to_owned();
        let delete_pending = || {
            let request = Request::delete("/api/Users/delete-user").query("username", &email);
            session.send(request).map(drop)
        };

        // Step 2: confirm with the invite's token, the chosen name and the password.
        let confirmed = link_param(&link, "token")
            .ok_or_else(|| {
                Error::InvalidResponse("Kavita's invite link carries no confirmation token".into())
            })
            .and_then(|token| {
                let confirm = json!({
                    "email": email, "token": token, "password": password, "username": user.username,
                });
                session
                    .post("/api/Account/confirm-email", &confirm)
                    .or_taken(&["already taken"])
            })
            .and_then(|_| {
                let wanted = user.username.to_uppercase();
                session
                    .members(false)?
                    .into_iter()
                    .find(|m| m.name().to_uppercase() == wanted)
                    .ok_or_else(|| {
                        Error::InvalidResponse("the confirmed Kavita account is not listed".into())
                    })
            })
            .and_then(|member| {
                let mut want_roles = roles.clone();
                want_roles.push(PLEB.to_owned());
                let wanted = json!({ "roles": sorted(&want_roles), "libraries": sorted(&libraries) });
                let got = json!({ "roles": sorted(&member.roles), "libraries": sorted(&member.library_ids()) });
                ensure_applied("the new Kavita account", &wanted, &got)?;
                Ok(member)
            });
        // A failure after the invite removes the pending (or confirmed) account again; until
        // it is confirmed its user name is the e-mail address.
        let member = match confirmed {
            Ok(member) => member,
            Err(error) => {
                let renamed = session
                    .members(true)
                    .ok()
                    .and_then(|all| {
                        all.into_iter()
                            .find(|m| m.email.as_deref() == Some(email.as_str()))
                    })
                    .map(|m| m.name());
                return undo_on_error(Err(error), "the new Kavita account", || match renamed {
                    Some(name) if name != email => session
                        .send(Request::delete("/api/Users/delete-user").query("username", &name))
                        .map(drop),
                    _ => delete_pending(),
                });
            }
        };
        Ok(CreatedUser::created(RemoteUser::from(member)))
    }

    fn delete_user(server: &Server<'_>, user_id: &str, _options: DeleteOptions) -> Result<()> {
        let session = Session::open(server)?;
        // Kavita deletes by user name and answers 500 for a name it does not know.
        let Some(member) = session.managed(user_id)? else {
            return Ok(());
        };
        let request = Request::delete("/api/Users/delete-user").query("username", &member.name());
        session.send(request).map(drop)
    }

    fn set_enabled(server: &Server<'_>, user_id: &str, enabled: bool) -> Result<()> {
        let session = Session::open(server)?;
        let member = session.existing(user_id)?;
        if member.has(LOGIN) == enabled {
            return Ok(());
        }
        let mut roles = with_permissions(&member.roles, &[]);
        roles.retain(|r| r != LOGIN);
        if enabled {
            roles.push(LOGIN.to_owned());
        }
        session.update(&member, &roles, &member.library_ids())
    }

    fn set_library_access(server: &Server<'_>, user_id: &str, access: LibraryAccess) -> Result<()> {
        let session = Session::open(server)?;
        let member = session.existing(user_id)?;
        let libraries = session.library_ids(&access)?;
        session.update(&member, &with_permissions(&member.roles, &[]), &libraries)
    }

    fn set_permissions(
        server: &Server<'_>,
        user_id: &str,
        permissions: Vec<PermissionValue>,
    ) -> Result<()> {
        let session = Session::open(server)?;
        let member = session.existing(user_id)?;
        let roles = with_permissions(&member.roles, &permissions);
        if roles == with_permissions(&member.roles, &[]) {
            return Ok(());
        }
        session.update(&member, &roles, &member.library_ids())
    }

    fn set_password(server: &Server<'_>, user_id: &str, password: &str) -> Result<()> {
        let session = Session::open(server)?;
        let member = session.existing(user_id)?;
        let body = json!({ "userName": member.name(), "password": password });
        session.post("/api/Account/reset-password", &body).map(drop)
    }

    fn authenticate(server: &Server<'_>, username: &str, password: &str) -> Result<Authenticated> {
        if username.trim().is_empty() {
            return Err(Error::Unauthorized);
        }
        // Kavita's own sign-in, as the user and without the API key. Its `UserDto` names no
        // roles, so the account is then looked up with the administrator's session. Kavita keeps
        // no server-side session for the JWT: there is nothing to log out.
        let request = Request::post("/api/Account/login")
            .json(&json!({ "username": username, "password": password }))?;
        let signed_in: SignIn = server.send_json_without_credentials(request)?;
        let name = signed_in.username.unwrap_or_else(|| username.to_owned());
        let session = Session::open(server)?;
        let member = session
            .members(false)?
            .into_iter()
            .find(|m| m.name().to_uppercase() == name.to_uppercase())
            .ok_or(Error::Unauthorized)?;
        let admin = member.has(ADMIN);
        Ok(Authenticated::new(
            member.id.to_string(),
            member.name(),
            admin,
        ))
    }
}

//! A stateful fake Emby Server (4.8 behaviour) for connector tests, on the routes a
//! user-management connector needs, as the official OpenAPI document (4.8.11.0) and
//! `MEDIA-APIS.md` §1.5 describe them:
//! - API keys arrive as `X-Emby-Token` or the `api_key` query parameter (or as `Token=` of an
//!   `X-Emby-Authorization: Emby …` header, which is how user sessions authenticate); anything
//!   else is anonymous and gets 401 with Emby's text body.
//! - Users are listed with `GET /Users/Query` (`{Items, TotalRecordCount}`, paged with
//!   `StartIndex`/`Limit`); there is no bare `GET /Users` for an API key (404 here, as the
//!   document has none).
//! - `POST /Users/New {Name}` creates an account without a password; a duplicate name
//!   (case-insensitive) is a text/plain 400. `POST /Users/{Id}/Password` sets one.
//! - Libraries come from `GET /Library/VirtualFolders/Query`; each has a numeric `Id`/`ItemId`
//!   and a different `Guid`, and **`EnabledFolders` holds `Guid`s**: a policy naming a library by
//!   its numeric id grants nothing (the real server drops ids it does not know).
//! - `POST /Users/{Id}/Policy` replaces the whole policy: fields left out take Emby's defaults
//!   (`EnableAllFolders: true`!). Administrators cannot be disabled (400 text).
//! - User ids are 32-hex GUIDs; unknown ids are 404 with a text body.
//! - `GET /System/Info/Public` needs no key and has no `ProductName` (how Emby differs from
//!   Jellyfin).
//! - `POST /Users/AuthenticateByName {Username, Pw}` (user names case-insensitive) answers an
//!   `AuthenticationResult` with a new session's `AccessToken`; a wrong password, an unknown or
//!   a disabled user is 401. `POST /Sessions/Logout` with that token (`X-Emby-Token` or `Token=`
//!   of `X-Emby-Authorization`) ends the session (204). Test instrument, not Emby behaviour: a
//!   sign-in that carries the server's API key is answered 400, so a test fails if the daemon
//!   attached it.

use serde_json::{Value, json};

use crate::policy::{emby_defaults as default_policy, replace_policy};
use crate::server::{Backend, Fake, Incoming, Reply, flag, hex_id};

/// The server version the fake reports.
pub const VERSION: &str = "4.8.11.0";
/// The administrator every fake starts with.
pub const ADMIN_NAME: &str = "admin";
/// The administrator's password.
pub const ADMIN_PASSWORD: &str = "admin-password";

/// A library.
#[derive(Debug, Clone)]
pub struct EmbyLibrary {
    /// Numeric id (also `ItemId`).
    pub id: String,
    /// The `Guid` that `EnabledFolders` takes.
    pub guid: String,
    /// Name.
    pub name: String,
    /// `CollectionType`.
    pub kind: String,
}

/// An account.
#[derive(Debug, Clone)]
pub struct EmbyUser {
    /// 32-hex id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Password (empty: none).
    pub password: String,
    /// The whole `UserPolicy`.
    pub policy: Value,
}

impl EmbyUser {
    /// A boolean policy field.
    pub fn flag(&self, field: &str) -> bool {
        flag(&self.policy, field)
    }

    /// `EnabledFolders` as strings.
    pub fn enabled_folders(&self) -> Vec<String> {
        self.policy["EnabledFolders"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The fake's state.
#[derive(Debug)]
pub struct Emby {
    /// The API key it accepts.
    pub api_key: String,
    /// Server id.
    pub server_id: String,
    /// Libraries.
    pub libraries: Vec<EmbyLibrary>,
    /// Accounts.
    pub users: Vec<EmbyUser>,
    /// Live user sessions as (access token, user id).
    pub sessions: Vec<(String, String)>,
    base_url: String,
}

/// A running fake Emby.
pub type EmbyFake = Fake<Emby>;

impl EmbyFake {
    /// Starts a fake with one administrator and three libraries (Movies, TV Shows, Music).
    pub async fn start() -> EmbyFake {
        Fake::serve(|base_url| {
            let mut emby = Emby {
                api_key: hex_id(),
                server_id: hex_id(),
                libraries: Vec::new(),
                users: Vec::new(),
                sessions: Vec::new(),
                base_url: base_url.to_owned(),
            };
            for (i, (name, kind)) in [
                ("Movies", "movies"),
                ("TV Shows", "tvshows"),
                ("Music", "music"),
            ]
            .into_iter()
            .enumerate()
            {
                emby.libraries.push(EmbyLibrary {
                    id: (i + 3).to_string(),
                    guid: hex_id(),
                    name: name.to_owned(),
                    kind: kind.to_owned(),
                });
            }
            let admin = emby.insert(ADMIN_NAME, ADMIN_PASSWORD);
            if let Some(user) = emby.user_mut(&admin) {
                user.policy["IsAdministrator"] = json!(true);
            }
            emby
        })
        .await
    }

    /// The API key.
    pub fn api_key(&self) -> String {
        self.with(|e| e.api_key.clone())
    }

    /// Adds an ordinary account (as an admin would in Emby's dashboard); returns its id.
    pub fn add_user(&self, name: &str, password: &str) -> String {
        self.with(|e| e.insert(name, password))
    }

    /// An account by id or name (case-insensitive).
    pub fn user(&self, id_or_name: &str) -> Option<EmbyUser> {
        self.with(|e| {
            e.users
                .iter()
                .find(|u| u.id == id_or_name || u.name.eq_ignore_ascii_case(id_or_name))
                .cloned()
        })
    }

    /// The live user sessions as (access token, user id).
    pub fn sessions(&self) -> Vec<(String, String)> {
        self.with(|e| e.sessions.clone())
    }

    /// Makes the account an administrator.
    pub fn make_admin(&self, id: &str) {
        self.with(|e| {
            if let Some(user) = e.user_mut(id) {
                user.policy["IsAdministrator"] = json!(true);
            }
        });
    }

    /// The libraries.
    pub fn libraries(&self) -> Vec<EmbyLibrary> {
        self.with(|e| e.libraries.clone())
    }
}

impl Emby {
    fn insert(&mut self, name: &str, password: &str) -> String {
        let id = hex_id();
        self.users.push(EmbyUser {
            id: id.clone(),
            name: name.to_owned(),
            password: password.to_owned(),
            policy: Value::Object(default_policy()),
        });
        id
    }

    fn user_mut(&mut self, id: &str) -> Option<&mut EmbyUser> {
        self.users.iter_mut().find(|u| u.id == id)
    }

    /// Every token the request carries: `X-Emby-Token`, `api_key`, and `Token=` of an
    /// `X-Emby-Authorization` (or `Authorization`) `Emby …` header.
    fn tokens(request: &Incoming) -> Vec<String> {
        let header_token = request.header("x-emby-token");
        let query_token = request.query("api_key");
        let emby_auth = request
            .header("x-emby-authorization")
            .or_else(|| request.header("authorization"))
            .and_then(|value| value.trim().strip_prefix("Emby "))
            .and_then(|fields| {
                fields.split(',').find_map(|field| {
                    let (key, value) = field.split_once('=')?;
                    (key.trim() == "Token").then(|| value.trim().trim_matches('"').to_owned())
                })
            });
        [
            header_token.map(str::to_owned),
            query_token.map(str::to_owned),
            emby_auth,
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn authorized(&self, request: &Incoming) -> bool {
        Self::tokens(request).contains(&self.api_key)
    }

    /// `POST /Users/AuthenticateByName`.
    fn sign_in(&mut self, request: &Incoming) -> Reply {
        if self.authorized(request) {
            return Reply::text(400, "test fake: the sign-in carried the server's API key");
        }
        let body = request.json_object().unwrap_or_default();
        let text = |key: &str| {
            body.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let (name, password) = (text("Username"), text("Pw"));
        let Some(user) = self
            .users
            .iter()
            .find(|u| u.name.eq_ignore_ascii_case(&name) && u.password == password)
            .filter(|u| !u.flag("IsDisabled"))
            .cloned()
        else {
            return Reply::text(401, "Invalid username or password entered.");
        };
        let token = hex_id();
        self.sessions.push((token.clone(), user.id.clone()));
        Reply::json(
            200,
            &json!({"User": self.user_dto(&user), "AccessToken": token, "ServerId": self.server_id}),
        )
    }

    fn user_dto(&self, user: &EmbyUser) -> Value {
        json!({
            "Name": user.name,
            "ServerId": self.server_id,
            "Id": user.id,
            "HasPassword": !user.password.is_empty(),
            "HasConfiguredPassword": !user.password.is_empty(),
            "HasConfiguredEasyPassword": false,
            "EnableAutoLogin": false,
            "DateCreated": "2026-01-01T00:00:00.0000000Z",
            "Configuration": {"PlayDefaultAudioTrack": true, "SubtitleMode": "Default"},
            "Policy": user.policy,
        })
    }

    fn info(&self, full: bool) -> Value {
        let mut info = json!({
            "LocalAddress": self.base_url,
            "ServerName": "Fake Emby",
            "Version": VERSION,
            "Id": self.server_id,
        });
        if full {
            info["OperatingSystem"] = json!("Linux");
            info["HasPendingRestart"] = json!(false);
            info["IsShuttingDown"] = json!(false);
        }
        info
    }

    fn update_policy(&mut self, id: &str, request: &Incoming) -> Reply {
        let Some(body) = request.json_object() else {
            return Reply::text(400, "Request body is required");
        };
        let known: Vec<String> = self.libraries.iter().map(|l| l.guid.clone()).collect();
        let Some(user) = self.user_mut(id) else {
            return Reply::text(404, "User not found");
        };
        // Emby matches the sent fields' names exactly and takes their values as sent.
        let (mut policy, _) = replace_policy(default_policy(), &body, &[], false, |_, value, _| {
            Ok(value.clone())
        });
        // Ids Emby does not know as library Guids are dropped.
        if let Some(Value::Array(folders)) = policy.get_mut("EnabledFolders") {
            folders.retain(|f| f.as_str().is_some_and(|f| known.iter().any(|k| k == f)));
        }
        if flag(&user.policy, "IsAdministrator")
            && policy.get("IsDisabled").and_then(Value::as_bool) == Some(true)
        {
            return Reply::text(400, "Administrators cannot be disabled.");
        }
        user.policy = Value::Object(policy);
        Reply::empty(204)
    }
}

impl Backend for Emby {
    fn error(&self, status: u16) -> Reply {
        Reply::text(status, "An error occurred")
    }

    fn handle(&mut self, request: &Incoming) -> Reply {
        let method = request.method.as_str();
        let parts = request.parts();
        let lower: Vec<String> = parts.iter().map(|p| p.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        match (method, lower.as_slice()) {
            ("GET", ["system", "info", "public"]) => return Reply::json(200, &self.info(false)),
            ("POST", ["users", "authenticatebyname"]) => return self.sign_in(request),
            ("POST", ["sessions", "logout"]) => {
                let tokens = Self::tokens(request);
                let before = self.sessions.len();
                self.sessions.retain(|(t, _)| !tokens.contains(t));
                if self.sessions.len() == before {
                    return Reply::text(401, "Access token is invalid or expired.");
                }
                return Reply::empty(204);
            }
            _ => {}
        }
        if !self.authorized(request) {
            return Reply::text(401, "Access token is invalid or expired.");
        }
        match (method, lower.as_slice()) {
            ("GET", ["system", "info"]) => Reply::json(200, &self.info(true)),
            ("GET", ["library", "virtualfolders", "query"]) => {
                let items: Vec<Value> = self
                    .libraries
                    .iter()
                    .map(|l| {
                        json!({"Name": l.name, "Locations": [format!("/media/{}", l.name)],
                               "CollectionType": l.kind, "ItemId": l.id, "Id": l.id,
                               "Guid": l.guid, "RefreshStatus": "Idle"})
                    })
                    .collect();
                let total = items.len();
                Reply::json(200, &json!({"Items": items, "TotalRecordCount": total}))
            }
            ("GET", ["users", "query"]) => {
                let start: usize = request
                    .query("StartIndex")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let limit: usize = request
                    .query("Limit")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(usize::MAX);
                let items: Vec<Value> = self
                    .users
                    .iter()
                    .skip(start)
                    .take(limit)
                    .map(|u| self.user_dto(u))
                    .collect();
                Reply::json(
                    200,
                    &json!({"Items": items, "TotalRecordCount": self.users.len()}),
                )
            }
            ("POST", ["users", "new"]) => {
                let name = request
                    .json_object()
                    .and_then(|b| b.get("Name").and_then(Value::as_str).map(str::to_owned));
                let Some(name) = name.filter(|n| !n.trim().is_empty()) else {
                    return Reply::text(400, "Name is required");
                };
                if self
                    .users
                    .iter()
                    .any(|u| u.name.eq_ignore_ascii_case(&name))
                {
                    return Reply::text(
                        400,
                        &format!("A user with the name '{name}' already exists."),
                    );
                }
                let id = self.insert(&name, "");
                let user = self.users.iter().find(|u| u.id == id).cloned();
                user.map_or_else(
                    || Reply::empty(500),
                    |u| Reply::json(200, &self.user_dto(&u)),
                )
            }
            ("GET", ["users", _]) => match self.users.iter().find(|u| u.id == parts[1]) {
                Some(user) => Reply::json(200, &self.user_dto(user)),
                None => Reply::text(404, "User not found"),
            },
            ("DELETE", ["users", _]) | ("POST", ["users", _, "delete"]) => {
                let id = parts[1].to_owned();
                match self.users.iter().position(|u| u.id == id) {
                    Some(at)
                        if self.users[at].flag("IsAdministrator")
                            && self
                                .users
                                .iter()
                                .filter(|u| u.flag("IsAdministrator"))
                                .count()
                                == 1 =>
                    {
                        Reply::text(
                            400,
                            "There must be at least one user in the system with administrative access.",
                        )
                    }
                    Some(at) => {
                        self.users.remove(at);
                        Reply::empty(204)
                    }
                    None => Reply::text(404, "User not found"),
                }
            }
            ("POST", ["users", _, "policy"]) => self.update_policy(parts[1], request),
            ("POST", ["users", _, "password"]) => {
                let body = request.json_object().unwrap_or_default();
                let reset = body.get("ResetPassword").and_then(Value::as_bool) == Some(true);
                let new = body
                    .get("NewPw")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let id = parts[1].to_owned();
                match self.user_mut(&id) {
                    Some(user) => {
                        user.password = if reset { String::new() } else { new };
                        Reply::empty(204)
                    }
                    None => Reply::text(404, "User not found"),
                }
            }
            _ => Reply::text(404, "Not found"),
        }
    }
}

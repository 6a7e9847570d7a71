//! A stateful fake Audiobookshelf (2.x behaviour) for connector tests, as Audiobookshelf's source
//! describes it (`server/Server.js`, `server/controllers/UserController.js`,
//! `server/controllers/LibraryController.js`, `server/models/User.js`); its published OpenAPI
//! document has no user endpoints.
//! - `GET /status` is public (`{app, serverVersion, isInit, …}`); everything under `/api` needs
//!   `Authorization: Bearer <token>` (401 text "Unauthorized") and user management an admin or
//!   the root user (403).
//! - `GET /api/users` answers `{users: […]}`, `GET /api/libraries` `{libraries: […]}`; ids are
//!   dashed UUIDs.
//! - `POST /api/users` answers `{user}`; a taken name (case-insensitive) is a text/plain 400
//!   "Username already taken"; `isActive` is `!!body.isActive` (an account is inactive unless
//!   sent `true`); permissions start from the type's defaults.
//! - `PATCH /api/users/{id}` merges what it is sent; **`librariesAccessible` is applied only when
//!   the body also has a `permissions` object** (as in the source); the root user cannot be
//!   changed by anyone else (403). `DELETE` refuses the root user (403) and oneself (400).
//! - `POST /login {username, password}` (`server/Auth.js`, `auth/LocalAuthStrategy.js`; user
//!   names compared in lower case) answers `{user, userDefaultLibraryId, serverSettings, …}` with
//!   the user's `accessToken`, and its `refreshToken` when sent `x-return-tokens: true`; a wrong
//!   password, an unknown or an inactive user is 401 "Unauthorized". `POST /logout` with that
//!   refresh token in `x-refresh-token` ends the session. Test instrument, not Audiobookshelf
//!   behaviour: a sign-in that carries an `Authorization` header (the admin's token riding
//!   along) is answered 400, so a test fails if the daemon attached it.

use serde_json::{Map, Value, json};

use crate::server::{Backend, Fake, Incoming, Reply};

/// The version `/status` reports.
pub const VERSION: &str = "2.30.0";
/// The root user every fake starts with.
pub const ROOT_NAME: &str = "root";

/// The fake's state.
#[derive(Debug)]
pub struct Audiobookshelf {
    /// The root user's API token.
    pub token: String,
    /// Libraries as (id, name, mediaType).
    pub libraries: Vec<(String, String, String)>,
    /// Users as the JSON the server stores (with `password` kept in the clear for tests).
    pub users: Vec<Map<String, Value>>,
    /// Live sign-in sessions as (refresh token, user id).
    pub sessions: Vec<(String, String)>,
}

/// A running fake Audiobookshelf.
pub type AudiobookshelfFake = Fake<Audiobookshelf>;

fn default_permissions(kind: &str) -> Map<String, Value> {
    let elevated = kind == "root" || kind == "admin";
    let fields = [
        ("download", true),
        ("update", elevated),
        ("delete", kind == "root"),
        ("upload", elevated),
        ("createEreader", elevated),
        ("accessAllLibraries", true),
        ("accessAllTags", true),
        ("accessExplicitContent", elevated),
        ("selectedTagsNotAccessible", false),
    ];
    fields
        .into_iter()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect()
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Audiobookshelf {
    fn insert(&mut self, username: &str, kind: &str, active: bool) -> String {
        let id = uuid();
        let mut user = Map::new();
        user.insert("id".into(), json!(id));
        user.insert("username".into(), json!(username));
        user.insert("email".into(), Value::Null);
        user.insert("type".into(), json!(kind));
        user.insert("token".into(), json!(uuid()));
        user.insert("isActive".into(), json!(active));
        user.insert("isLocked".into(), json!(false));
        user.insert("lastSeen".into(), Value::Null);
        user.insert("createdAt".into(), json!(1_764_000_000_000_i64));
        user.insert(
            "permissions".into(),
            Value::Object(default_permissions(kind)),
        );
        user.insert("librariesAccessible".into(), json!([]));
        user.insert("itemTagsSelected".into(), json!([]));
        user.insert("password".into(), json!("password"));
        self.users.push(user);
        id
    }

    fn browser_json(user: &Map<String, Value>) -> Value {
        let mut user = user.clone();
        user.remove("password");
        user.insert("seriesHideFromContinueListening".into(), json!([]));
        user.insert("hasOpenIDLink".into(), json!(false));
        Value::Object(user)
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.users.iter().position(|u| u["id"] == id)
    }

    fn create(&mut self, body: &Map<String, Value>) -> Reply {
        let (Some(username), Some(password)) = (
            body.get("username").and_then(Value::as_str),
            body.get("password").and_then(Value::as_str),
        ) else {
            return Reply::text(400, "Username and password are required");
        };
        if username.is_empty() || password.is_empty() {
            return Reply::text(400, "Username and password are required");
        }
        let kind = body.get("type").and_then(Value::as_str).unwrap_or("user");
        if !["root", "admin", "user", "guest"].contains(&kind) {
            return Reply::text(400, "Invalid account type");
        }
        if self.users.iter().any(|u| {
            u["username"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(username))
        }) {
            return Reply::text(400, "Username already taken");
        }
        let active = body.get("isActive").and_then(Value::as_bool) == Some(true);
        let id = self.insert(username, kind, active);
        let Some(at) = self.position(&id) else {
            return Reply::empty(500);
        };
        let user = &mut self.users[at];
        user.insert("password".into(), json!(password));
        if let Some(email) = body.get("email").and_then(Value::as_str) {
            user.insert("email".into(), json!(email));
        }
        if let Some(Value::Object(sent)) = body.get("permissions")
            && let Some(Value::Object(permissions)) = user.get_mut("permissions")
        {
            for (key, value) in sent {
                if permissions.contains_key(key) && value.is_boolean() {
                    permissions.insert(key.clone(), value.clone());
                }
            }
        }
        if let Some(Value::Array(ids)) = body.get("librariesAccessible")
            && ids.iter().all(Value::is_string)
        {
            user.insert("librariesAccessible".into(), Value::Array(ids.clone()));
        }
        Reply::json(200, &json!({ "user": Self::browser_json(user) }))
    }

    fn update(&mut self, caller_root: bool, at: usize, body: &Map<String, Value>) -> Reply {
        let is_root = self.users[at]["type"] == "root";
        if is_root && !caller_root {
            return Reply::empty(403);
        }
        for key in ["id", "pash", "token", "extraData", "bookmarks"] {
            if body.contains_key(key) {
                return Reply::text(400, &format!("Key \"{key}\" cannot be updated"));
            }
        }
        if let Some(name) = body.get("username").and_then(Value::as_str) {
            let own = self.users[at]["id"].clone();
            if self.users.iter().any(|u| {
                u["id"] != own
                    && u["username"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
            }) {
                return Reply::text(400, "Username already taken");
            }
        }
        let user = &mut self.users[at];
        for key in ["username", "email"] {
            if let Some(value) = body.get(key).filter(|v| v.is_string()) {
                user.insert(key.into(), value.clone());
            }
        }
        if let Some(kind) = body.get("type").filter(|_| !is_root) {
            user.insert("type".into(), kind.clone());
        }
        if let Some(active) = body.get("isActive").filter(|v| v.is_boolean()) {
            user.insert("isActive".into(), active.clone());
        }
        if let Some(password) = body.get("password").and_then(Value::as_str)
            && !password.is_empty()
        {
            user.insert("password".into(), json!(password));
        }
        if let Some(Value::Object(sent)) = body.get("permissions") {
            if let Some(Value::Object(permissions)) = user.get_mut("permissions") {
                for (key, value) in sent {
                    if permissions.contains_key(key) && value.is_boolean() {
                        permissions.insert(key.clone(), value.clone());
                    }
                }
            }
            // Only inside the permissions branch, as in the source.
            if let Some(Value::Array(ids)) = body.get("librariesAccessible") {
                user.insert("librariesAccessible".into(), Value::Array(ids.clone()));
            }
        }
        Reply::json(
            200,
            &json!({ "success": true, "user": Self::browser_json(user) }),
        )
    }
}

impl Audiobookshelf {
    /// `POST /login`, the local strategy.
    fn login(&mut self, request: &Incoming) -> Reply {
        if request.header("authorization").is_some() {
            return Reply::text(
                400,
                "test fake: the sign-in carried an Authorization header",
            );
        }
        let body = request.json_object().unwrap_or_default();
        let text = |key: &str| {
            body.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let (name, password) = (text("username").to_lowercase(), text("password"));
        let Some(user) = self
            .users
            .iter()
            .find(|u| {
                u["username"]
                    .as_str()
                    .is_some_and(|n| n.to_lowercase() == name)
            })
            .filter(|u| u["isActive"] == true && u["password"] == password.as_str())
            .cloned()
        else {
            return Reply::text(401, "Unauthorized");
        };
        let refresh = uuid();
        let id = user["id"].as_str().unwrap_or("").to_owned();
        self.sessions.push((refresh.clone(), id));
        let mut json = Self::browser_json(&user);
        json["accessToken"] = json!(uuid());
        json["refreshToken"] = if request.header("x-return-tokens") == Some("true") {
            json!(refresh)
        } else {
            Value::Null
        };
        Reply::json(
            200,
            &json!({"user": json, "userDefaultLibraryId": self.libraries.first().map(|l| l.0.clone()),
                    "serverSettings": {}, "ereaderDevices": [], "Source": "docker"}),
        )
    }
}

impl Backend for Audiobookshelf {
    fn error(&self, status: u16) -> Reply {
        Reply::text(status, "Internal Server Error")
    }

    fn handle(&mut self, request: &Incoming) -> Reply {
        let parts = request.parts();
        let method = request.method.as_str();
        if let ("GET", ["status"]) = (method, parts.as_slice()) {
            return Reply::json(
                200,
                &json!({"app": "audiobookshelf", "serverVersion": VERSION, "isInit": true,
                        "language": "en-us", "authMethods": ["local"], "authFormData": {}}),
            );
        }
        match (method, parts.as_slice()) {
            ("POST", ["login"]) => return self.login(request),
            ("POST", ["logout"]) => {
                let refresh = request.header("x-refresh-token").unwrap_or("");
                self.sessions.retain(|(t, _)| t != refresh);
                return Reply::json(200, &json!({ "redirect_url": null }));
            }
            _ => {}
        }
        if parts.first() != Some(&"api") {
            return Reply::html(200);
        }
        let token = request
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "));
        let Some(caller) = token.and_then(|t| self.users.iter().find(|u| u["token"] == t)) else {
            return Reply::text(401, "Unauthorized");
        };
        let caller_id = caller["id"].as_str().unwrap_or("").to_owned();
        let caller_root = caller["type"] == "root";
        let admin = caller_root || caller["type"] == "admin";
        match (method, &parts[1..]) {
            ("GET", ["libraries"]) => {
                let list: Vec<Value> = self
                    .libraries
                    .iter()
                    .map(|(id, name, kind)| {
                        json!({"id": id, "name": name, "mediaType": kind, "folders": [],
                               "displayOrder": 1, "icon": "database", "provider": "google"})
                    })
                    .collect();
                Reply::json(200, &json!({ "libraries": list }))
            }
            _ if !admin => Reply::empty(403),
            ("GET", ["users"]) => {
                let users: Vec<Value> = self.users.iter().map(Self::browser_json).collect();
                Reply::json(200, &json!({ "users": users }))
            }
            ("POST", ["users"]) => match request.json_object() {
                Some(body) => self.create(&body),
                None => Reply::text(400, "Username and password are required"),
            },
            (_, ["users", id]) => {
                let Some(at) = self.position(id) else {
                    return Reply::empty(404);
                };
                match method {
                    "GET" => Reply::json(200, &Self::browser_json(&self.users[at])),
                    "PATCH" => match request.json_object() {
                        Some(body) => self.update(caller_root, at, &body),
                        None => Reply::text(400, "Invalid payload"),
                    },
                    "DELETE" => {
                        if *id == caller_id {
                            return Reply::empty(400);
                        }
                        if self.users[at]["type"] == "root" {
                            return Reply::empty(403);
                        }
                        let removed = self.users.remove(at);
                        Reply::json(
                            200,
                            &json!({"success": true, "user": Self::browser_json(&removed)}),
                        )
                    }
                    _ => Reply::empty(404),
                }
            }
            _ => Reply::empty(404),
        }
    }
}

impl AudiobookshelfFake {
    /// Starts a fake with the root user ([`ROOT_NAME`]), whose token the fake accepts, and three
    /// libraries (Audiobooks, Podcasts, Radio plays).
    pub async fn start() -> AudiobookshelfFake {
        Fake::serve(|_| {
            let mut abs = Audiobookshelf {
                token: String::new(),
                libraries: vec![
                    (uuid(), "Audiobooks".to_owned(), "book".to_owned()),
                    (uuid(), "Podcasts".to_owned(), "podcast".to_owned()),
                    (uuid(), "Radio plays".to_owned(), "book".to_owned()),
                ],
                users: Vec::new(),
                sessions: Vec::new(),
            };
            let root = abs.insert(ROOT_NAME, "root", true);
            abs.token = abs
                .position(&root)
                .and_then(|at| abs.users[at]["token"].as_str().map(str::to_owned))
                .unwrap_or_default();
            abs
        })
        .await
    }

    /// The root user's token.
    pub fn token(&self) -> String {
        self.with(|a| a.token.clone())
    }

    /// A user by id or name (case-insensitive), as stored.
    pub fn user(&self, id_or_name: &str) -> Option<Map<String, Value>> {
        self.with(|a| {
            a.users
                .iter()
                .find(|u| {
                    u["id"] == id_or_name
                        || u["username"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(id_or_name))
                })
                .cloned()
        })
    }

    /// Adds an active user of this type (`user`, `admin`, …) with this password; returns its id.
    pub fn add_account(&self, username: &str, password: &str, kind: &str) -> String {
        self.with(|a| {
            let id = a.insert(username, kind, true);
            if let Some(at) = a.position(&id) {
                a.users[at].insert("password".into(), json!(password));
            }
            id
        })
    }

    /// The live sign-in sessions as (refresh token, user id).
    pub fn sessions(&self) -> Vec<(String, String)> {
        self.with(|a| a.sessions.clone())
    }

    /// Adds an active user, as an admin would in Audiobookshelf; returns its id.
    pub fn add_user(&self, username: &str) -> String {
        self.with(|a| a.insert(username, "user", true))
    }
}

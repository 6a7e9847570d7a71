//! A stateful fake Kavita (0.8.3 behaviour) for connector tests, on the routes a user-management
//! connector needs, as the official OpenAPI document (0.8.3.2) and Kavita's source
//! (`Controllers/PluginController.cs`, `AccountController.cs`, `UsersController.cs`,
//! `Constants/PolicyConstants.cs`) describe them:
//! - `POST /api/Plugin/authenticate?apiKey=…&pluginName=…` is anonymous and answers a `UserDto`
//!   whose `token` is a JWT; every other route needs `Authorization: Bearer <token>` (401 with an
//!   empty body otherwise) and the user routes the `Admin` role (403).
//! - Accounts are made in two steps: `POST /api/Account/invite {email, roles, libraries,
//!   ageRestriction}` creates a *pending* account whose user name is the e-mail address and
//!   answers `{emailLink, emailSent, invalidEmail}` (the document says a string; the source
//!   returns this object), the link carrying the confirmation token; then the anonymous
//!   `POST /api/Account/confirm-email {email, token, password, username}` sets the name and
//!   password and confirms it. A taken name is a 400 with a JSON list of `ApiException`s
//!   ("Username is already taken"); other refusals are text/plain 400s.
//! - `GET /api/Users` lists confirmed accounts (`includePending=true` adds pending ones); ids are
//!   integers; roles are Kavita's role names, `Login` being what lets an account sign in (its
//!   absence is a disabled account) and `Pleb` being added to every non-admin.
//! - `POST /api/Account/update` replaces roles and library access (ids Kavita does not know are
//!   dropped); `DELETE /api/Users/delete-user?username=…` deletes **by user name**, and an unknown
//!   name is a 500 (the source deletes a null user); `POST /api/Account/reset-password` sets a
//!   password (6 to 256 characters).
//! - `POST /api/Account/login {username, password, apiKey?}` (anonymous) answers a `UserDto` with
//!   a JWT; both `username` and `password` must be present (the `LoginDto` declares them
//!   non-nullable, which ASP.NET Core's implicit `[Required]` enforces: 400 with the validation
//!   problem otherwise), an `apiKey` replaces the password check. An unknown user or a wrong
//!   password is a 401 "Your credentials are not correct", an account without the `Login` role
//!   or still pending is refused too (401). Kavita has no logout for these tokens. Test
//!   instrument, not Kavita behaviour: a sign-in that carries the administrator's `apiKey` query
//!   parameter or a Bearer token is answered 400, so a test fails if the daemon attached them.

use serde_json::{Value, json};

use crate::server::{Backend, Fake, Incoming, Reply, hex_id};

/// The version the fake reports.
pub const VERSION: &str = "0.8.3.2";
/// The administrator every fake starts with.
pub const ADMIN_NAME: &str = "admin";
/// The administrator's password.
pub const ADMIN_PASSWORD: &str = "admin-password";
/// Kavita's valid roles.
pub const ROLES: [&str; 9] = [
    "Admin",
    "Pleb",
    "Download",
    "Change Password",
    "Bookmark",
    "Change Restriction",
    "Login",
    "Read Only",
    "Promote",
];

/// An account.
#[derive(Debug, Clone)]
pub struct KavitaUser {
    /// Integer id.
    pub id: i64,
    /// User name (the e-mail address while pending).
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Password.
    pub password: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Library ids.
    pub libraries: Vec<i64>,
    /// Invited but not confirmed.
    pub pending: bool,
    confirmation: Option<String>,
}

impl KavitaUser {
    /// Whether the account has this role.
    pub fn has(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// The fake's state.
#[derive(Debug)]
pub struct Kavita {
    /// The admin's API key.
    pub api_key: String,
    /// Libraries as (id, name).
    pub libraries: Vec<(i64, String)>,
    /// Accounts.
    pub users: Vec<KavitaUser>,
    tokens: Vec<(String, i64)>,
    base_url: String,
    next_id: i64,
}

/// A running fake Kavita.
pub type KavitaFake = Fake<Kavita>;

fn api_exception(status: u16, message: &str) -> Value {
    json!({"status": status, "message": message, "details": null})
}

impl Kavita {
    fn insert(&mut self, username: &str, email: &str, password: &str, roles: &[&str]) -> i64 {
        self.next_id += 1;
        self.users.push(KavitaUser {
            id: self.next_id,
            username: username.to_owned(),
            email: email.to_owned(),
            password: password.to_owned(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            libraries: Vec::new(),
            pending: false,
            confirmation: None,
        });
        self.next_id
    }

    fn library_dto(id: i64, name: &str) -> Value {
        json!({"id": id, "name": name, "lastScanned": "2026-12-01T10:00:00",
               "type": 0, "coverImage": null, "folderWatching": true,
               "includeInDashboard": true, "includeInRecommended": true,
               "manageCollections": true, "manageReadingLists": true, "includeInSearch": true,
               "allowScrobbling": true, "folders": [format!("/data/{name}")],
               "collapseSeriesRelationships": false, "libraryFileTypes": [1, 2, 3],
               "excludePatterns": []})
    }

    fn member(&self, user: &KavitaUser) -> Value {
        let libraries: Vec<Value> = self
            .libraries
            .iter()
            .filter(|(id, _)| user.libraries.contains(id))
            .map(|(id, name)| Self::library_dto(*id, name))
            .collect();
        json!({"id": user.id, "username": user.username, "email": user.email,
               "isPending": user.pending,
               "ageRestriction": {"ageRating": -1, "includeUnknowns": true},
               "created": "2026-12-01T10:00:00", "createdUtc": "2026-12-01T10:00:00Z",
               "lastActive": "2026-12-02T10:00:00", "lastActiveUtc": "2026-12-02T10:00:00Z",
               "libraries": libraries, "roles": user.roles})
    }

    fn user_dto(&mut self, id: i64) -> Value {
        let token = format!("eyJhbGciOiJIUzUxMiJ9.{}.sig", hex_id());
        self.tokens.push((token.clone(), id));
        let user = self.users.iter().find(|u| u.id == id);
        json!({"username": user.map(|u| u.username.clone()),
               "email": user.map(|u| u.email.clone()),
               "token": token, "refreshToken": hex_id(), "apiKey": null,
               "ageRestriction": {"ageRating": -1, "includeUnknowns": true},
               "kavitaVersion": VERSION})
    }

    /// `POST /api/Account/login`, as `AccountController.Login` answers it.
    fn login(&mut self, request: &Incoming) -> Reply {
        if request.query("apiKey").is_some() || request.header("authorization").is_some() {
            return Reply::text(
                400,
                "test fake: the sign-in carried the administrator's credentials",
            );
        }
        let body = request.json_object().unwrap_or_default();
        let missing: Vec<&str> = ["username", "password"]
            .into_iter()
            .filter(|key| !body.get(*key).is_some_and(Value::is_string))
            .collect();
        if !missing.is_empty() {
            let errors: serde_json::Map<String, Value> = missing
                .iter()
                .map(|key| {
                    let name = format!("{}{}", key[..1].to_uppercase(), &key[1..]);
                    let message = format!("The {name} field is required.");
                    (name, json!([message]))
                })
                .collect();
            return Reply::json(
                400,
                &json!({"type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                        "title": "One or more validation errors occurred.", "status": 400,
                        "errors": errors}),
            );
        }
        let text = |key: &str| {
            body.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let (name, password, key) = (text("username"), text("password"), text("apiKey"));
        let user = if key.is_empty() {
            self.users
                .iter()
                .find(|u| u.username.to_uppercase() == name.to_uppercase())
        } else {
            self.users
                .iter()
                .find(|_| key == self.api_key)
                .and(self.users.first())
        };
        let refused = || Reply::text(401, "Your credentials are not correct");
        let Some(user) = user else {
            return refused();
        };
        if !user.has("Login") {
            return Reply::text(401, "Your account is disabled. Contact the server admin.");
        }
        if key.is_empty() && (user.pending || user.password != password) {
            return refused();
        }
        let id = user.id;
        let dto = self.user_dto(id);
        Reply::json(200, &dto)
    }

    /// Roles as Kavita stores them: valid ones only, `Pleb` added to every non-admin.
    fn roles(value: Option<&Value>) -> Vec<String> {
        let mut roles: Vec<String> = value
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|r| ROLES.contains(r))
            .map(str::to_owned)
            .collect();
        if !roles.iter().any(|r| r == "Admin") {
            roles.push("Pleb".into());
        }
        roles.sort();
        roles.dedup();
        roles
    }

    fn library_ids(&self, value: Option<&Value>) -> Vec<i64> {
        value
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .filter(|id| self.libraries.iter().any(|(l, _)| l == id))
            .collect()
    }

    fn invite(&mut self, request: &Incoming) -> Reply {
        let Some(body) = request.json_object() else {
            return Reply::text(400, "Invalid payload");
        };
        let email = body
            .get("email")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_owned();
        if email.is_empty() {
            return Reply::text(400, "Invalid payload");
        }
        if let Some(existing) = self
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(&email))
        {
            return Reply::text(
                400,
                &if existing.pending {
                    "User is already invited under this email and has yet to accept invite."
                        .to_owned()
                } else {
                    format!("User is already registered as {}", existing.username)
                },
            );
        }
        let roles = Self::roles(body.get("roles"));
        let admin = roles.iter().any(|r| r == "Admin");
        let libraries = if admin {
            self.libraries.iter().map(|(id, _)| *id).collect()
        } else {
            self.library_ids(body.get("libraries"))
        };
        let id = self.insert(&email, &email, "", &[]);
        let token = format!("CfDJ8{}+/=", hex_id());
        if let Some(user) = self.users.iter_mut().find(|u| u.id == id) {
            user.roles = roles;
            user.libraries = libraries;
            user.pending = true;
            user.confirmation = Some(token.clone());
        }
        let link = format!(
            "{}/registration/confirm-email?token={}&email={}",
            self.base_url,
            encode(&token),
            encode(&email)
        );
        Reply::json(
            200,
            &json!({"emailLink": link, "emailSent": false, "invalidEmail": true}),
        )
    }

    fn confirm(&mut self, request: &Incoming) -> Reply {
        let body = request.json_object().unwrap_or_default();
        let text = |key: &str| {
            body.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let (email, token, password, username) = (
            text("email"),
            text("token"),
            text("password"),
            text("username"),
        );
        let Some(at) = self.users.iter().position(|u| u.email == email) else {
            return Reply::text(400, "Invalid email confirmation");
        };
        let mut errors = Vec::new();
        if username != email
            && self.users[at].username != username
            && self
                .users
                .iter()
                .any(|u| u.username.to_uppercase() == username.to_uppercase())
        {
            errors.push(api_exception(400, "Username is already taken"));
        }
        if password.len() < 6 || password.len() > 256 {
            errors.push(api_exception(
                400,
                "Passwords must be at least 6 characters",
            ));
        }
        if !errors.is_empty() {
            return Reply::json(400, &Value::Array(errors));
        }
        let user = &mut self.users[at];
        if user.confirmation.as_deref() != Some(token.as_str()) {
            return Reply::text(400, "Invalid email confirmation");
        }
        user.username = username;
        user.password = password;
        user.pending = false;
        user.confirmation = None;
        if !user.has("Login") {
            user.roles.push("Login".into());
            user.roles.sort();
        }
        let id = user.id;
        let dto = self.user_dto(id);
        Reply::json(200, &dto)
    }

    fn update(&mut self, request: &Incoming) -> Reply {
        let Some(body) = request.json_object() else {
            return Reply::text(400, "Invalid payload");
        };
        let id = body.get("userId").and_then(Value::as_i64).unwrap_or(0);
        let username = body
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let roles = Self::roles(body.get("roles"));
        let admin = roles.iter().any(|r| r == "Admin");
        let libraries = if admin {
            self.libraries.iter().map(|(id, _)| *id).collect()
        } else {
            self.library_ids(body.get("libraries"))
        };
        let taken = self
            .users
            .iter()
            .any(|u| u.id != id && u.username.eq_ignore_ascii_case(&username));
        let Some(user) = self.users.iter_mut().find(|u| u.id == id) else {
            return Reply::text(400, "User does not exist");
        };
        if user.username != username {
            if taken || username.is_empty() {
                return Reply::text(400, "Username is already taken");
            }
            user.username = username;
        }
        user.roles = roles;
        user.libraries = libraries;
        Reply::empty(200)
    }
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl Backend for Kavita {
    fn error(&self, status: u16) -> Reply {
        Reply::json(status, &api_exception(status, "Internal Server Error"))
    }

    fn handle(&mut self, request: &Incoming) -> Reply {
        let parts = request.parts();
        let lower: Vec<String> = parts.iter().map(|p| p.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        let method = request.method.as_str();
        match (method, lower.as_slice()) {
            ("POST", ["api", "plugin", "authenticate"]) => {
                if request.query("pluginName").is_none_or(str::is_empty) {
                    return Reply::json(
                        400,
                        &json!({"errors": {"pluginName": ["The pluginName field is required."]}}),
                    );
                }
                let key = request.query("apiKey").unwrap_or("");
                if key != self.api_key {
                    return Reply::json(401, &api_exception(401, "Unauthorized"));
                }
                let Some(admin) = self.users.first().map(|u| u.id) else {
                    return Reply::empty(500);
                };
                let dto = self.user_dto(admin);
                return Reply::json(200, &dto);
            }
            ("POST", ["api", "account", "confirm-email"]) => return self.confirm(request),
            ("POST", ["api", "account", "login"]) => return self.login(request),
            _ => {}
        }
        let caller = request
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .and_then(|token| self.tokens.iter().find(|(t, _)| t == token))
            .and_then(|(_, id)| self.users.iter().find(|u| u.id == *id));
        let Some(caller) = caller else {
            return Reply::empty(401);
        };
        if !caller.has("Admin") {
            return Reply::empty(403);
        }
        match (method, lower.as_slice()) {
            ("GET", ["api", "library", "libraries"]) => {
                let list: Vec<Value> = self
                    .libraries
                    .iter()
                    .map(|(id, name)| Self::library_dto(*id, name))
                    .collect();
                Reply::json(200, &Value::Array(list))
            }
            ("GET", ["api", "users"]) => {
                let pending = request
                    .query("includePending")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"));
                let list: Vec<Value> = self
                    .users
                    .iter()
                    .filter(|u| pending || !u.pending)
                    .map(|u| self.member(u))
                    .collect();
                Reply::json(200, &Value::Array(list))
            }
            ("POST", ["api", "account", "invite"]) => self.invite(request),
            ("POST", ["api", "account", "update"]) => self.update(request),
            ("DELETE", ["api", "users", "delete-user"]) => {
                let name = request.query("username").unwrap_or("");
                match self.users.iter().position(|u| u.username == name) {
                    Some(at) => {
                        self.users.remove(at);
                        Reply::empty(200)
                    }
                    None => Reply::json(
                        500,
                        &api_exception(500, "Value cannot be null. (Parameter 'entity')"),
                    ),
                }
            }
            ("POST", ["api", "account", "reset-password"]) => {
                let body = request.json_object().unwrap_or_default();
                let name = body.get("userName").and_then(Value::as_str).unwrap_or("");
                let password = body
                    .get("password")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                if password.len() < 6 || password.len() > 256 {
                    return Reply::json(
                        400,
                        &json!([api_exception(
                            400,
                            "Passwords must be at least 6 characters"
                        )]),
                    );
                }
                match self.users.iter_mut().find(|u| u.username == name) {
                    Some(user) => {
                        user.password = password;
                        Reply::empty(200)
                    }
                    None => Reply::text(400, "User does not exist"),
                }
            }
            _ => Reply::empty(404),
        }
    }
}

impl KavitaFake {
    /// Starts a fake with an administrator ([`ADMIN_NAME`]) whose API key the fake accepts, and
    /// three libraries (Comics, Manga, Light Novels).
    pub async fn start() -> KavitaFake {
        Fake::serve(|base_url| {
            let mut kavita = Kavita {
                api_key: hex_id(),
                libraries: vec![
                    (1, "Comics".to_owned()),
                    (2, "Manga".to_owned()),
                    (3, "Light Novels".to_owned()),
                ],
                users: Vec::new(),
                tokens: Vec::new(),
                base_url: base_url.to_owned(),
                next_id: 0,
            };
            let admin = kavita.insert(
                ADMIN_NAME,
                "admin@example.org",
                ADMIN_PASSWORD,
                &["Admin", "Login"],
            );
            if let Some(user) = kavita.users.iter_mut().find(|u| u.id == admin) {
                user.libraries = vec![1, 2, 3];
            }
            kavita
        })
        .await
    }

    /// The API key.
    pub fn api_key(&self) -> String {
        self.with(|k| k.api_key.clone())
    }

    /// An account by id (as text) or user name.
    pub fn user(&self, id_or_name: &str) -> Option<KavitaUser> {
        self.with(|k| {
            k.users
                .iter()
                .find(|u| u.id.to_string() == id_or_name || u.username == id_or_name)
                .cloned()
        })
    }

    /// Adds a confirmed account, as an admin would in Kavita; returns its id.
    pub fn add_user(&self, username: &str, email: &str, libraries: &[i64]) -> i64 {
        self.with(|k| {
            let id = k.insert(username, email, "password", &["Login", "Pleb"]);
            if let Some(user) = k.users.iter_mut().find(|u| u.id == id) {
                user.libraries = libraries.to_vec();
            }
            id
        })
    }
}

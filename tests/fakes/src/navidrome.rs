//! A stateful fake Navidrome (0.58+ behaviour, multi-library) for connector tests: its native API
//! (`/api/…`, the one the web UI uses), not Subsonic, as Navidrome's source describes it
//! (`server/auth.go`, `server/nativeapi/native_api.go`, `server/nativeapi/library.go`,
//! `persistence/user_repository.go`, `core/library.go`). Navidrome publishes no OpenAPI document
//! for it.
//! - Sign-in: `POST /auth/login {"username", "password"}` (user names compared case-insensitively,
//!   as `COLLATE NOCASE`) answers `{id, name, username, isAdmin, token, subsonicSalt,
//!   subsonicToken}`; a wrong password or unknown user is 401 `{"error": "Invalid username or
//!   password"}`, a body that is not a JSON object 422 `{"error": "invalid request payload"}`.
//!   Navidrome has no logout: the token is a JWT that ends with `SessionTimeout`
//!   ([`NavidromeFake::expire_tokens`] ends every token at once, as a restart with a new secret
//!   or a timeout does).
//! - Every `/api` request needs `x-nd-authorization: Bearer <token>` of a sign-in (anything else:
//!   401 `{"error": "Not authenticated"}`); user management needs an admin (403 otherwise).
//! - Test instrument, not Navidrome behaviour: a sign-in that carries an `x-nd-authorization`
//!   header (the administrator's session riding along on someone else's sign-in) is answered
//!   400, so a test fails if the daemon attached it.
//! - `GET /api/user?_start=&_end=&_sort=&_order=` is a JSON list with the total in
//!   `X-Total-Count`; ids are 22-character random strings; user names are unique
//!   case-insensitively (400 `{"errors": {"userName": "ra.validation.unique"}}`).
//! - `POST /api/user` answers `{"id": …}`; a new regular user gets the libraries marked for new
//!   users. `PUT /api/user/{id}` replaces the user (`password` sets a new one).
//! - `PUT /api/user/{id}/library {"libraryIds": [int]}`: 400 for an admin ("cannot manually
//!   assign libraries to admin users") and for an empty list ("at least one library must be
//!   assigned to non-admin users"), 404 for an unknown user; answers the user's libraries.
//! - Subsonic's `createUser`, `updateUser`, `deleteUser` and `changePassword` answer 501, as the
//!   real server does (`server/subsonic/api.go`).

use serde_json::{Value, json};

use crate::server::{Backend, Fake, Incoming, Reply, hex_id};

/// The administrator every fake starts with.
pub const ADMIN_NAME: &str = "admin";
/// The administrator's password.
pub const ADMIN_PASSWORD: &str = "admin-password";

/// An account.
#[derive(Debug, Clone)]
pub struct NavidromeUser {
    /// 22-character id.
    pub id: String,
    /// Login.
    pub user_name: String,
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Password.
    pub password: String,
    /// Administrator.
    pub is_admin: bool,
    /// Library ids.
    pub libraries: Vec<i64>,
}

/// The fake's state.
#[derive(Debug)]
pub struct Navidrome {
    /// Libraries as (id, name, given to new users).
    pub libraries: Vec<(i64, String, bool)>,
    /// Accounts.
    pub users: Vec<NavidromeUser>,
    /// Valid session tokens, with the id of the user each belongs to.
    pub tokens: Vec<(String, String)>,
    /// The user names of successful sign-ins, in order.
    pub sign_ins: Vec<String>,
}

/// A running fake Navidrome.
pub type NavidromeFake = Fake<Navidrome>;

fn error(status: u16, message: &str) -> Reply {
    Reply::json(status, &json!({ "error": message }))
}

impl Navidrome {
    fn insert(&mut self, user_name: &str, password: &str, admin: bool) -> String {
        let id: String = hex_id().chars().take(22).collect();
        let libraries = if admin {
            self.libraries.iter().map(|(id, _, _)| *id).collect()
        } else {
            self.libraries
                .iter()
                .filter(|(_, _, default)| *default)
                .map(|(id, _, _)| *id)
                .collect()
        };
        self.users.push(NavidromeUser {
            id: id.clone(),
            user_name: user_name.to_owned(),
            name: user_name.to_owned(),
            email: String::new(),
            password: password.to_owned(),
            is_admin: admin,
            libraries,
        });
        id
    }

    fn library_json(&self, id: i64) -> Value {
        let name = self
            .libraries
            .iter()
            .find(|(l, _, _)| *l == id)
            .map(|(_, n, _)| n.clone())
            .unwrap_or_default();
        json!({"id": id, "name": name, "path": format!("/music/{name}")})
    }

    fn user_json(&self, user: &NavidromeUser) -> Value {
        let libraries: Vec<Value> = user
            .libraries
            .iter()
            .map(|id| self.library_json(*id))
            .collect();
        json!({"id": user.id, "userName": user.user_name, "name": user.name, "email": user.email,
               "isAdmin": user.is_admin, "lastLoginAt": null, "lastAccessAt": null,
               "createdAt": "2026-12-01T10:00:00Z", "updatedAt": "2026-12-01T10:00:00Z",
               "libraries": libraries})
    }

    fn caller(&self, request: &Incoming) -> Option<&NavidromeUser> {
        let bearer = request.header("x-nd-authorization")?;
        let token = bearer
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("bearer "))
            .map(|_| &bearer[7..])?;
        let (_, id) = self.tokens.iter().find(|(t, _)| t == token)?;
        self.users.iter().find(|u| u.id == *id)
    }

    /// `POST /auth/login`, as `server/auth.go` `login` answers it.
    fn login(&mut self, request: &Incoming) -> Reply {
        if request.header("x-nd-authorization").is_some() {
            return error(
                400,
                "test fake: the sign-in carried an x-nd-authorization header",
            );
        }
        let Some(body) = request.json_object() else {
            return error(422, "invalid request payload");
        };
        let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or("");
        let (name, password) = (text("username"), text("password"));
        let Some(user) = self
            .users
            .iter()
            .find(|u| u.user_name.eq_ignore_ascii_case(name) && u.password == password)
            .cloned()
        else {
            return error(401, "Invalid username or password");
        };
        let token = hex_id();
        self.tokens.push((token.clone(), user.id.clone()));
        self.sign_ins.push(user.user_name.clone());
        Reply::json(
            200,
            &json!({"id": user.id, "name": user.name, "username": user.user_name,
                    "isAdmin": user.is_admin, "token": token,
                    "subsonicSalt": "a1b2c3", "subsonicToken": hex_id()}),
        )
    }

    fn name_taken(&self, name: &str, except: &str) -> bool {
        self.users
            .iter()
            .any(|u| u.id != except && u.user_name.eq_ignore_ascii_case(name))
    }

    fn save(&mut self, id: Option<&str>, body: &serde_json::Map<String, Value>) -> Reply {
        let text = |key: &str| {
            body.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let user_name = text("userName");
        let password = text("password");
        let mut errors = serde_json::Map::new();
        if user_name.is_empty() {
            errors.insert("userName".into(), json!("ra.validation.required"));
        } else if self.name_taken(&user_name, id.unwrap_or("")) {
            errors.insert("userName".into(), json!("ra.validation.unique"));
        }
        if id.is_none() && password.is_empty() {
            errors.insert("password".into(), json!("ra.validation.required"));
        }
        if !errors.is_empty() {
            return Reply::json(400, &json!({ "errors": errors }));
        }
        let admin = body
            .get("isAdmin")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let id = match id {
            Some(id) => id.to_owned(),
            None => self.insert(&user_name, &password, admin),
        };
        let Some(user) = self.users.iter_mut().find(|u| u.id == id) else {
            return error(404, "Not found");
        };
        user.user_name = user_name;
        user.name = text("name");
        user.email = text("email");
        user.is_admin = admin;
        if !password.is_empty() {
            user.password = password;
        }
        Reply::json(200, &json!({ "id": id }))
    }
}

impl Backend for Navidrome {
    fn error(&self, status: u16) -> Reply {
        error(status, "Internal Server Error")
    }

    fn handle(&mut self, request: &Incoming) -> Reply {
        let parts = request.parts();
        if let ["rest", endpoint] = parts.as_slice() {
            let endpoint = endpoint.trim_end_matches(".view");
            if ["createUser", "updateUser", "deleteUser", "changePassword"].contains(&endpoint) {
                return Reply::text(501, "Not Implemented");
            }
            return Reply::empty(404);
        }
        if let ("POST", ["auth", "login"]) = (request.method.as_str(), parts.as_slice()) {
            return self.login(request);
        }
        if parts.first() != Some(&"api") {
            return Reply::html(200);
        }
        let Some(caller) = self.caller(request) else {
            return error(401, "Not authenticated");
        };
        if !caller.is_admin {
            return error(403, "Permission denied");
        }
        let method = request.method.as_str();
        match (method, &parts[1..]) {
            ("GET", ["library"]) => {
                let list: Vec<Value> = self
                    .libraries
                    .iter()
                    .map(|(id, _, _)| self.library_json(*id))
                    .collect();
                Reply::json(200, &Value::Array(list))
            }
            ("GET", ["user"]) => {
                let start: usize = request
                    .query("_start")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let end: usize = request
                    .query("_end")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(usize::MAX);
                let mut users: Vec<&NavidromeUser> = self.users.iter().collect();
                users.sort_by_key(|u| u.user_name.to_lowercase());
                let page: Vec<Value> = users
                    .iter()
                    .skip(start)
                    .take(end.saturating_sub(start))
                    .map(|u| self.user_json(u))
                    .collect();
                Reply::json(200, &Value::Array(page))
                    .with_header("X-Total-Count", self.users.len().to_string())
            }
            ("POST", ["user"]) => match request.json_object() {
                Some(body) => self.save(None, &body),
                None => error(400, "invalid request payload"),
            },
            ("GET", ["user", id]) => match self.users.iter().find(|u| u.id == *id) {
                Some(user) => Reply::json(200, &self.user_json(user)),
                None => error(404, "Not found"),
            },
            ("PUT", ["user", id]) => {
                let id = (*id).to_owned();
                if !self.users.iter().any(|u| u.id == id) {
                    return error(404, "Not found");
                }
                match request.json_object() {
                    Some(body) => self.save(Some(&id), &body),
                    None => error(400, "invalid request payload"),
                }
            }
            ("DELETE", ["user", id]) => {
                let id = (*id).to_owned();
                match self.users.iter().position(|u| u.id == id) {
                    Some(at) => {
                        self.users.remove(at);
                        Reply::json(200, &json!({}))
                    }
                    None => error(404, "Not found"),
                }
            }
            ("GET", ["user", id, "library"]) => match self.users.iter().find(|u| u.id == *id) {
                Some(user) => Reply::json(
                    200,
                    &Value::Array(
                        user.libraries
                            .iter()
                            .map(|l| self.library_json(*l))
                            .collect(),
                    ),
                ),
                None => Reply::text(404, "User not found"),
            },
            ("PUT", ["user", id, "library"]) => {
                let id = (*id).to_owned();
                let ids: Option<Vec<i64>> = request
                    .json_object()
                    .and_then(|b| b.get("libraryIds").cloned())
                    .and_then(|v| serde_json::from_value(v).ok());
                let Some(ids) = ids else {
                    return Reply::text(400, "Invalid request body");
                };
                let known: Vec<i64> = self.libraries.iter().map(|(l, _, _)| *l).collect();
                let Some(user) = self.users.iter_mut().find(|u| u.id == id) else {
                    return Reply::text(404, "User not found");
                };
                if user.is_admin {
                    return Reply::text(
                        400,
                        "validation error: cannot manually assign libraries to admin users",
                    );
                }
                if ids.is_empty() {
                    return Reply::text(
                        400,
                        "validation error: at least one library must be assigned to non-admin users",
                    );
                }
                if let Some(bad) = ids.iter().find(|i| !known.contains(i)) {
                    return Reply::text(
                        400,
                        &format!("validation error: library ID {bad} does not exist"),
                    );
                }
                user.libraries = ids;
                let libraries: Vec<i64> = user.libraries.clone();
                Reply::json(
                    200,
                    &Value::Array(libraries.iter().map(|l| self.library_json(*l)).collect()),
                )
            }
            _ => error(404, "Not found"),
        }
    }
}

impl NavidromeFake {
    /// Starts a fake with an administrator ([`ADMIN_NAME`], password [`ADMIN_PASSWORD`]) and
    /// three libraries (Music and Audiobooks given to new users, Podcasts not).
    pub async fn start() -> NavidromeFake {
        Fake::serve(|_| {
            let mut navidrome = Navidrome {
                libraries: vec![
                    (1, "Music".to_owned(), true),
                    (2, "Audiobooks".to_owned(), true),
                    (3, "Podcasts".to_owned(), false),
                ],
                users: Vec::new(),
                tokens: Vec::new(),
                sign_ins: Vec::new(),
            };
            navidrome.insert(ADMIN_NAME, ADMIN_PASSWORD, true);
            navidrome
        })
        .await
    }

    /// An account by id or user name (case-insensitive).
    pub fn user(&self, id_or_name: &str) -> Option<NavidromeUser> {
        self.with(|n| {
            n.users
                .iter()
                .find(|u| u.id == id_or_name || u.user_name.eq_ignore_ascii_case(id_or_name))
                .cloned()
        })
    }

    /// Adds a regular account, as an admin would in Navidrome; returns its id.
    pub fn add_user(&self, user_name: &str) -> String {
        self.with(|n| n.insert(user_name, "password", false))
    }

    /// Adds an account with this password, an administrator or not; returns its id.
    pub fn add_account(&self, user_name: &str, password: &str, admin: bool) -> String {
        self.with(|n| n.insert(user_name, password, admin))
    }

    /// Ends every session token (as `SessionTimeout` or a new JWT secret does).
    pub fn expire_tokens(&self) {
        self.with(|n| n.tokens.clear());
    }

    /// The user names of successful sign-ins so far, in order.
    pub fn sign_ins(&self) -> Vec<String> {
        self.with(|n| n.sign_ins.clone())
    }
}

//! A stateful fake Komga (1.26 behaviour) for connector tests, on the routes a user-management
//! connector needs, as the official OpenAPI document (1.26.3) and Komga's source
//! (`interfaces/api/rest/UserController.kt`, `domain/model/UserRoles.kt`) describe them:
//! - Authentication is an API key in `X-API-Key` (or HTTP Basic with an account's e-mail and
//!   password); anything else is 401. User management needs the `ADMIN` role (403 otherwise).
//! - Accounts are identified by their **e-mail address** (the login), compared
//!   case-insensitively; a duplicate is a 400 whose Spring error body says "A user with this email
//!   already exists". Ids are 13-character TSIDs.
//! - `GET /api/v2/users` is a bare list (there is no `GET /api/v2/users/{id}`);
//!   `PATCH /api/v2/users/{id}` changes only the members it is sent (`roles` replaces the role
//!   set; `sharedLibraries {all, libraryIds}` replaces the library access, ids Komga does not know
//!   being dropped) and answers 204; an admin cannot patch or delete itself (403).
//! - There is no way to disable an account.
//! - Errors carry Spring Boot's JSON error body (`timestamp, status, error, message, path`).
//! - Sessions (`SmartHttpSessionIdResolver`, `SessionTest.kt`): a request authenticated with HTTP
//!   Basic that carries an `X-Auth-Token` header (even empty) gets a new session id back in
//!   `X-Auth-Token`; `GET|POST /api/logout` with that header ends the session (204). A wrong
//!   password is 401. Test instrument, not Komga behaviour: a Basic request that also carries
//!   the administrator's `X-API-Key` is answered 400, so a test fails if the daemon attached it
//!   to someone's sign-in.

use serde_json::{Value, json};

use crate::server::{Backend, Fake, Incoming, Reply};

/// The version `/actuator/info` reports.
pub const VERSION: &str = "1.26.3";
/// The e-mail address of the administrator every fake starts with.
pub const ADMIN_EMAIL: &str = "admin@example.org";
/// The administrator's password.
pub const ADMIN_PASSWORD: &str = "admin-password";
/// Komga's roles.
pub const ROLES: [&str; 5] = [
    "ADMIN",
    "FILE_DOWNLOAD",
    "PAGE_STREAMING",
    "KOBO_SYNC",
    "KOREADER_SYNC",
];

/// An account.
#[derive(Debug, Clone)]
pub struct KomgaUser {
    /// TSID.
    pub id: String,
    /// E-mail address, the login.
    pub email: String,
    /// Password.
    pub password: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Access to every library.
    pub shared_all: bool,
    /// Library ids when not `shared_all`.
    pub shared_ids: Vec<String>,
}

/// The fake's state.
#[derive(Debug)]
pub struct Komga {
    /// The admin's API key.
    pub api_key: String,
    /// Libraries as (id, name).
    pub libraries: Vec<(String, String)>,
    /// Accounts.
    pub users: Vec<KomgaUser>,
    /// Live sessions as (session id, user id).
    pub sessions: Vec<(String, String)>,
    next: u64,
}

/// A running fake Komga.
pub type KomgaFake = Fake<Komga>;

impl Komga {
    /// A new TSID-like id (13 characters of Crockford base 32).
    fn id(&mut self) -> String {
        const DIGITS: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        self.next += 1;
        let mut n = 0x0B7D_5000_0000_u64 * 1_000 + self.next * 7919;
        let mut out = Vec::new();
        for _ in 0..13 {
            out.push(DIGITS[(n % 32) as usize]);
            n /= 32;
        }
        out.reverse();
        String::from_utf8(out).unwrap_or_default()
    }

    fn insert(&mut self, email: &str, password: &str, roles: &[&str]) -> String {
        let id = self.id();
        self.users.push(KomgaUser {
            id: id.clone(),
            email: email.to_owned(),
            password: password.to_owned(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            shared_all: true,
            shared_ids: Vec::new(),
        });
        id
    }

    fn dto(user: &KomgaUser) -> Value {
        json!({
            "id": user.id,
            "email": user.email,
            "roles": user.roles,
            "sharedAllLibraries": user.shared_all,
            "sharedLibrariesIds": user.shared_ids,
            "labelsAllow": [],
            "labelsExclude": [],
        })
    }

    fn spring_error(status: u16, message: &str, path: &str) -> Reply {
        let error = match status {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            _ => "Internal Server Error",
        };
        Reply::json(
            status,
            &json!({"timestamp": "2026-12-04T12:00:00.000+00:00", "status": status,
                    "error": error, "message": message, "path": path}),
        )
    }

    /// The caller's account, by API key or HTTP Basic.
    fn caller(&self, request: &Incoming) -> Option<&KomgaUser> {
        if request.header("x-api-key") == Some(self.api_key.as_str()) {
            return self.users.first();
        }
        let basic = request.header("authorization")?.strip_prefix("Basic ")?;
        let decoded = base64_decode(basic.trim())?;
        let (email, password) = decoded.split_once(':')?;
        self.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email) && u.password == password)
    }

    /// The library ids of `sharedLibraries`, known ones only; `None` when malformed.
    fn shared(&self, value: &Value) -> Option<(bool, Vec<String>)> {
        let all = value.get("all")?.as_bool()?;
        let ids = value.get("libraryIds")?.as_array()?;
        let known = ids
            .iter()
            .filter_map(Value::as_str)
            .filter(|id| self.libraries.iter().any(|(l, _)| l == id))
            .map(str::to_owned)
            .collect();
        Some((all, if all { Vec::new() } else { known }))
    }

    fn roles(value: &Value) -> Option<Vec<String>> {
        let mut roles: Vec<String> = value
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .filter(|r| ROLES.contains(r))
            .map(str::to_owned)
            .collect();
        roles.sort();
        roles.dedup();
        Some(roles)
    }

    fn create(&mut self, request: &Incoming) -> Reply {
        let path = &request.path;
        let Some(body) = request.json_object() else {
            return Self::spring_error(400, "Failed to read request", path);
        };
        let email = body.get("email").and_then(Value::as_str).unwrap_or("");
        let password = body.get("password").and_then(Value::as_str).unwrap_or("");
        let Some(roles) = body.get("roles").and_then(Self::roles) else {
            return Self::spring_error(400, "Validation failed: roles", path);
        };
        if !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
            return Self::spring_error(
                400,
                "Validation failed: email must be a well-formed email address",
                path,
            );
        }
        if password.is_empty() {
            return Self::spring_error(400, "Validation failed: password must not be blank", path);
        }
        if self
            .users
            .iter()
            .any(|u| u.email.eq_ignore_ascii_case(email))
        {
            return Self::spring_error(400, "A user with this email already exists", path);
        }
        let shared = match body.get("sharedLibraries") {
            None | Some(Value::Null) => (true, Vec::new()),
            Some(value) => match self.shared(value) {
                Some(shared) => shared,
                None => return Self::spring_error(400, "Validation failed: sharedLibraries", path),
            },
        };
        let role_refs: Vec<&str> = roles.iter().map(String::as_str).collect();
        let id = self.insert(email, password, &role_refs);
        let Some(user) = self.users.iter_mut().find(|u| u.id == id) else {
            return Reply::empty(500);
        };
        (user.shared_all, user.shared_ids) = shared;
        Reply::json(201, &Self::dto(user))
    }

    fn patch(&mut self, caller: &str, id: &str, request: &Incoming) -> Reply {
        let path = &request.path;
        if caller == id {
            return Self::spring_error(403, "Access Denied", path);
        }
        let Some(body) = request.json_object() else {
            return Self::spring_error(400, "Failed to read request", path);
        };
        let shared = match body.get("sharedLibraries") {
            None => None,
            Some(value) => match self.shared(value) {
                Some(shared) => Some(shared),
                None => return Self::spring_error(400, "Validation failed: sharedLibraries", path),
            },
        };
        let roles = match body.get("roles") {
            None => None,
            Some(value) => match Self::roles(value) {
                Some(roles) => Some(roles),
                None => return Self::spring_error(400, "Validation failed: roles", path),
            },
        };
        let Some(user) = self.users.iter_mut().find(|u| u.id == id) else {
            return Self::spring_error(404, "", path);
        };
        if let Some((all, ids)) = shared {
            user.shared_all = all;
            user.shared_ids = ids;
        }
        if let Some(roles) = roles {
            user.roles = roles;
        }
        Reply::empty(204)
    }
}

/// A `LibraryDto` with Komga's defaults for a new library.
fn library_dto(id: &str, name: &str) -> Value {
    let mut dto = json!({
        "id": id, "name": name, "root": format!("/data/{name}"), "unavailable": false,
        "scanInterval": "EVERY_6H", "seriesCover": "FIRST", "scanDirectoryExclusions": ["#recycle", "@eaDir"],
    });
    for (flag, on) in [
        ("analyzeDimensions", true),
        ("convertToCbz", false),
        ("emptyTrashAfterScan", false),
        ("hashFiles", true),
        ("hashKoreader", false),
        ("hashPages", false),
        ("importBarcodeIsbn", false),
        ("importComicInfoBook", true),
        ("importComicInfoCollection", true),
        ("importComicInfoReadList", true),
        ("importComicInfoSeries", true),
        ("importComicInfoSeriesAppendVolume", true),
        ("importEpubBook", true),
        ("importEpubSeries", true),
        ("importLocalArtwork", true),
        ("importMylarSeries", true),
        ("repairExtensions", false),
        ("scanCbx", true),
        ("scanEpub", true),
        ("scanForceModifiedTime", false),
        ("scanOnStartup", false),
        ("scanPdf", true),
    ] {
        dto[flag] = json!(on);
    }
    dto
}

/// Standard base64 (for HTTP Basic).
fn base64_decode(text: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0_u32;
    let mut count = 0;
    let mut out = Vec::new();
    for byte in text.bytes().filter(|b| *b != b'=') {
        let value = u32::try_from(ALPHABET.iter().position(|a| *a == byte)?).ok()?;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from((bits >> count) & 0xff).ok()?);
        }
    }
    String::from_utf8(out).ok()
}

impl Backend for Komga {
    fn error(&self, status: u16) -> Reply {
        Self::spring_error(status, "", "/")
    }

    fn handle(&mut self, request: &Incoming) -> Reply {
        let path = request.path.clone();
        let basic = request
            .header("authorization")
            .is_some_and(|h| h.starts_with("Basic "));
        if basic && request.header("x-api-key").is_some() {
            return Self::spring_error(
                400,
                "test fake: a Basic sign-in carried the administrator's API key",
                &path,
            );
        }
        if let ["api", "logout"] = request.parts().as_slice() {
            let session = request.header("x-auth-token").unwrap_or("");
            let before = self.sessions.len();
            self.sessions.retain(|(s, _)| s != session);
            if self.sessions.len() == before {
                return Self::spring_error(401, "Unauthorized", &path);
            }
            return Reply::empty(204);
        }
        let Some(caller) = self.caller(request) else {
            return Self::spring_error(401, "Unauthorized", &path);
        };
        let new_session = (basic && request.header("x-auth-token").is_some())
            .then(|| (crate::server::hex_id(), caller.id.clone()));
        let reply = self.answer(request, &path);
        match new_session {
            Some((session, user)) if reply.status < 300 => {
                self.sessions.push((session.clone(), user));
                reply.with_header("X-Auth-Token", session)
            }
            _ => reply,
        }
    }
}

impl Komga {
    fn answer(&mut self, request: &Incoming, path: &str) -> Reply {
        let path = path.to_owned();
        let Some(caller) = self.caller(request) else {
            return Self::spring_error(401, "Unauthorized", &path);
        };
        let caller_id = caller.id.clone();
        let admin = caller.roles.iter().any(|r| r == "ADMIN");
        let parts = request.parts();
        match (request.method.as_str(), parts.as_slice()) {
            ("GET", ["api", "v2", "users", "me"]) => Reply::json(200, &Self::dto(caller)),
            ("GET", ["actuator", "info"]) if admin => Reply::json(
                200,
                &json!({"build": {"artifact": "komga", "name": "komga", "version": VERSION,
                                  "group": "komga"},
                        "java": {"version": "23.0.2"}}),
            ),
            ("GET", ["api", "v1", "libraries"]) => {
                let libraries: Vec<Value> = self
                    .libraries
                    .iter()
                    .map(|(id, name)| library_dto(id, name))
                    .collect();
                Reply::json(200, &Value::Array(libraries))
            }
            (_, ["api", "v2", "users", ..] | ["actuator", ..]) if !admin => {
                Self::spring_error(403, "Access Denied", &path)
            }
            ("GET", ["api", "v2", "users"]) => {
                let users: Vec<Value> = self.users.iter().map(Self::dto).collect();
                Reply::json(200, &Value::Array(users))
            }
            ("POST", ["api", "v2", "users"]) => self.create(request),
            ("PATCH", ["api", "v2", "users", id]) => {
                let id = (*id).to_owned();
                self.patch(&caller_id, &id, request)
            }
            ("PATCH", ["api", "v2", "users", id, "password"]) => {
                let id = (*id).to_owned();
                let password = request
                    .json_object()
                    .and_then(|b| b.get("password").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_default();
                if password.is_empty() {
                    return Self::spring_error(400, "Validation failed: password", &path);
                }
                match self.users.iter_mut().find(|u| u.id == id) {
                    Some(user) => {
                        user.password = password;
                        Reply::empty(204)
                    }
                    None => Self::spring_error(404, "", &path),
                }
            }
            ("DELETE", ["api", "v2", "users", id]) => {
                if *id == caller_id {
                    return Self::spring_error(403, "Access Denied", &path);
                }
                let id = (*id).to_owned();
                match self.users.iter().position(|u| u.id == id) {
                    Some(at) => {
                        self.users.remove(at);
                        Reply::empty(204)
                    }
                    None => Self::spring_error(404, "", &path),
                }
            }
            _ => Self::spring_error(404, "No static resource", &path),
        }
    }
}

impl KomgaFake {
    /// Starts a fake with an administrator ([`ADMIN_EMAIL`]) whose API key the fake accepts,
    /// and three libraries (Comics, Manga, Books).
    pub async fn start() -> KomgaFake {
        Fake::serve(|_| {
            let mut komga = Komga {
                api_key: crate::server::hex_id(),
                libraries: Vec::new(),
                users: Vec::new(),
                sessions: Vec::new(),
                next: 0,
            };
            komga.insert(
                ADMIN_EMAIL,
                ADMIN_PASSWORD,
                &["ADMIN", "FILE_DOWNLOAD", "PAGE_STREAMING"],
            );
            for name in ["Comics", "Manga", "Books"] {
                let id = komga.id();
                komga.libraries.push((id, name.to_owned()));
            }
            komga
        })
        .await
    }

    /// The API key.
    pub fn api_key(&self) -> String {
        self.with(|k| k.api_key.clone())
    }

    /// An account by id or e-mail address (case-insensitive).
    pub fn user(&self, id_or_email: &str) -> Option<KomgaUser> {
        self.with(|k| {
            k.users
                .iter()
                .find(|u| u.id == id_or_email || u.email.eq_ignore_ascii_case(id_or_email))
                .cloned()
        })
    }

    /// Adds an account with roles, as an admin would in Komga; returns its id.
    pub fn add_user(&self, email: &str, password: &str, roles: &[&str]) -> String {
        self.with(|k| k.insert(email, password, roles))
    }

    /// The live sessions as (session id, user id).
    pub fn sessions(&self) -> Vec<(String, String)> {
        self.with(|k| k.sessions.clone())
    }

    /// The library ids, in order.
    pub fn library_ids(&self) -> Vec<String> {
        self.with(|k| k.libraries.iter().map(|(id, _)| id.clone()).collect())
    }
}

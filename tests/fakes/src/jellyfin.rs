//! A stateful fake Jellyfin server (10.11 / 12.0 behaviour) for connector tests and benchmarks.
//!
//! It runs in-process on `127.0.0.1:0` and behaves as `MEDIA-APIS.md` §1 documents the real
//! server, on the routes a user-management connector needs:
//! - GUIDs are written in the 32-hex form and read in any form; JSON is PascalCase; request
//!   property names are matched case-insensitively, as Jellyfin does; routes are
//!   case-insensitive.
//! - Authentication is `Authorization: MediaBrowser Token="…"` (or the `?ApiKey=` fallback). The
//!   legacy `X-Emby-Token`, `X-MediaBrowser-Token`, `X-Emby-Authorization`, `?api_key=` and the
//!   `Emby` scheme are ignored, as in 12.0, so a request using them is anonymous and gets 401.
//! - `POST /Users/New` answers a duplicate (case-insensitive) or invalid name with a text/plain
//!   400 "Error processing request.", as production servers do.
//! - `POST /Users/{id}/Policy` replaces the whole policy: fields left out fall back to Jellyfin's
//!   defaults, unknown fields are dropped, and a policy without the two provider ids is a 400.
//!   Administrators cannot be disabled (403); disabling revokes the user's sessions.
//! - `POST /Users/AuthenticateByName` needs `Client`, `Device`, `DeviceId` and `Version` in the
//!   `Authorization` header (400 otherwise), creates a session per (user, device), and
//!   `POST /Sessions/Logout` ends it.
//! - 404 for unknown users and routes, 204 where the real server answers 204.
//!
//! Tests read and change the state directly, read the log of every request (with the answer),
//! and can make the next request — or the next one matching a method and path — fail with a
//! status, a hang, a garbage or HTML body, or a truncated answer. The fake never checks requests
//! against the OpenAPI documents itself; `crate::openapi` does that on the recorded log.
//!
//! Layout: this file holds the public API and the state; `http` the axum handler, routing and
//! answer bodies; `handlers` what each route does; `policy` the `UserPolicy` defaults and rules.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::openapi::RequestParts;

mod handlers;
mod http;
mod policy;
#[cfg(test)]
mod tests;

/// The server version the fake reports.
pub const VERSION: &str = "10.11.11";
/// `ProductName` of a real Jellyfin server.
pub const PRODUCT_NAME: &str = "Jellyfin Server";
/// Jellyfin's default authentication provider id.
pub const DEFAULT_AUTH_PROVIDER: &str =
    "Jellyfin.Server.Implementations.Users.DefaultAuthenticationProvider";
/// Jellyfin's default password-reset provider id.
pub const DEFAULT_RESET_PROVIDER: &str =
    "Jellyfin.Server.Implementations.Users.DefaultPasswordResetProvider";
/// The administrator every fake starts with.
pub const ADMIN_NAME: &str = "admin";
/// Its password.
pub const ADMIN_PASSWORD: &str = "admin-password";
/// Jellyfin's answer body for errors outside Development mode.
pub const ERROR_TEXT: &str = "Error processing request.";

/// How long a [`Failure::Hang`] holds the request before answering 503.
const HANG: Duration = Duration::from_secs(300);
/// Response bodies larger than this are not kept in the request log.
const MAX_LOGGED_BODY: usize = 4 * 1024 * 1024;
/// Policy fields that hold GUID lists (stored in the 32-hex form).
const GUID_LIST_FIELDS: [&str; 4] = [
    "EnabledFolders",
    "EnabledChannels",
    "BlockedMediaFolders",
    "BlockedChannels",
];
const PROVIDER_FIELDS: [&str; 2] = ["AuthenticationProviderId", "PasswordResetProviderId"];

/// A misbehaviour for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Answer this status with Jellyfin's text/plain error body; nothing changes.
    Status(u16),
    /// Never answer (for several minutes); nothing changes.
    Hang,
    /// Answer 200 `application/json` with this body; nothing changes.
    Garbage(String),
    /// Answer 200 with an HTML sign-in page, as a misconfigured reverse proxy would.
    Html,
    /// Handle the request normally (state changes happen), then cut the body in half.
    Truncated,
    /// Wait this many milliseconds, then handle the request normally.
    Delay(u64),
    /// Handle the request normally (state changes happen), then never answer (for several
    /// minutes): the caller cannot know what happened.
    HandledThenHang,
    /// Handle the request normally (state changes happen), then answer 200 with a JSON body of
    /// this many bytes (white space around `null`), enough to exhaust a plugin's memory.
    HandledThenHuge(usize),
}

/// What the fake answered.
#[derive(Debug, Clone)]
pub struct RecordedResponse {
    /// Status code.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body (empty when `body_omitted`).
    pub body: Vec<u8>,
    /// The length of the body as sent.
    pub size: usize,
    /// The body was larger than 4 MiB and is not kept.
    pub body_omitted: bool,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Method, e.g. `POST`.
    pub method: String,
    /// Path as sent (percent-encoded).
    pub path: String,
    /// Raw query, without `?`.
    pub query: Option<String>,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// The failure injected into this request, if any.
    pub injected: Option<Failure>,
    /// The answer; `None` while it is pending or when the fake hung.
    pub response: Option<RecordedResponse>,
}

impl RecordedRequest {
    /// The request for [`crate::openapi::OpenApi::validate_request`].
    pub fn parts(&self) -> RequestParts<'_> {
        RequestParts {
            method: &self.method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
            body: &self.body,
        }
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// `METHOD /path?query`, for assertions and messages.
    pub fn line(&self) -> String {
        match &self.query {
            Some(query) => format!("{} {}?{query}", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

/// A user account on the fake server.
#[derive(Debug, Clone)]
pub struct FakeUser {
    /// 32-hex id.
    pub id: String,
    /// User name.
    pub name: String,
    /// The whole `UserPolicy`.
    pub policy: Value,
    /// Whether a password is set.
    pub has_password: bool,
    /// Last sign-in.
    pub last_login: Option<DateTime<Utc>>,
    /// Last activity.
    pub last_activity: Option<DateTime<Utc>>,
}

impl FakeUser {
    /// A boolean policy field (`false` when absent).
    pub fn flag(&self, field: &str) -> bool {
        self.policy
            .get(field)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

/// A signed-in session created by `AuthenticateByName`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeSession {
    /// The access token.
    pub token: String,
    /// 32-hex user id.
    pub user_id: String,
    /// `Client` of the sign-in header.
    pub client: String,
    /// `Device`.
    pub device: String,
    /// `DeviceId`.
    pub device_id: String,
    /// `Version`.
    pub version: String,
}

/// A library (virtual folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeLibrary {
    /// 32-hex `ItemId`, the id that goes into `EnabledFolders`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `CollectionType`; `None` for a mixed library.
    pub collection_type: Option<String>,
}

#[derive(Debug, Clone)]
struct Account {
    user: FakeUser,
    /// The name upper-cased, as the duplicate check compares it (kept so a create on a server
    /// with 10,000 accounts does not upper-case 10,000 names: the bench measures the daemon).
    name_key: String,
    password: String,
    configuration: Value,
}

#[derive(Debug)]
struct Rule {
    method: Option<String>,
    pattern: Option<Vec<String>>,
    failure: Failure,
}

impl Rule {
    fn matches(&self, method: &str, path: &str) -> bool {
        if self
            .method
            .as_ref()
            .is_some_and(|m| !m.eq_ignore_ascii_case(method))
        {
            return false;
        }
        let Some(pattern) = &self.pattern else {
            return true;
        };
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        segments.len() == pattern.len()
            && pattern
                .iter()
                .zip(&segments)
                .all(|(p, s)| p == "*" || p.eq_ignore_ascii_case(s))
    }
}

struct State {
    server_name: String,
    server_id: String,
    version: String,
    product_name: Option<String>,
    accounts: Vec<Account>,
    /// Position of each account in `accounts` by id (rebuilt when one is removed).
    by_id: std::collections::HashMap<String, usize>,
    /// Position of each account by its upper-cased name, as the duplicate check and sign-in
    /// look names up (rebuilt with `by_id`): the bench measures the daemon, not a scan of the
    /// fake's 10,000 accounts on each create.
    by_name: std::collections::HashMap<String, usize>,
    libraries: Vec<FakeLibrary>,
    sessions: Vec<FakeSession>,
    requests: Vec<RecordedRequest>,
    rules: VecDeque<Rule>,
}

struct Shared {
    api_key: String,
    base_url: String,
    port: u16,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running fake Jellyfin; it stops when dropped.
pub struct JellyfinFake {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for JellyfinFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JellyfinFake")
            .field("base_url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

impl Drop for JellyfinFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A GUID in any of the forms Jellyfin reads, as 32 lower-case hex digits.
pub fn parse_guid(text: &str) -> Option<String> {
    uuid::Uuid::parse_str(text.trim())
        .ok()
        .map(|u| u.simple().to_string())
}

impl JellyfinFake {
    /// Starts a fake with one administrator ([`ADMIN_NAME`] / [`ADMIN_PASSWORD`]) and four
    /// libraries: Movies, Shows, Music and a mixed one.
    ///
    /// # Panics
    /// When no loopback port can be bound (a broken test machine).
    #[allow(clippy::expect_used)]
    pub async fn start() -> JellyfinFake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the fake Jellyfin");
        let port = listener
            .local_addr()
            .expect("the fake Jellyfin's address")
            .port();
        let mut state = State {
            server_name: "Fake Jellyfin".to_owned(),
            server_id: new_id(),
            version: VERSION.to_owned(),
            product_name: Some(PRODUCT_NAME.to_owned()),
            accounts: Vec::new(),
            by_id: Default::default(),
            by_name: Default::default(),
            libraries: Vec::new(),
            sessions: Vec::new(),
            requests: Vec::new(),
            rules: VecDeque::new(),
        };
        let admin = state.insert_account(ADMIN_NAME, ADMIN_PASSWORD);
        if let Some(account) = state.account_mut(&admin) {
            account.user.policy["IsAdministrator"] = json!(true);
            account.user.policy["IsHidden"] = json!(false);
            account.user.policy["EnableContentDeletion"] = json!(true);
            let now = Utc::now();
            account.user.last_login = Some(now - chrono::Duration::hours(2));
            account.user.last_activity = Some(now - chrono::Duration::minutes(5));
        }
        for (name, kind) in [
            ("Movies", Some("movies")),
            ("Shows", Some("tvshows")),
            ("Music", Some("music")),
            ("Home videos and photos", None),
        ] {
            state.libraries.push(FakeLibrary {
                id: new_id(),
                name: name.to_owned(),
                collection_type: kind.map(str::to_owned),
            });
        }
        let shared = Arc::new(Shared {
            api_key: new_id(),
            base_url: format!("http://127.0.0.1:{port}"),
            port,
            state: Mutex::new(state),
        });
        let app = Router::new()
            .fallback(http::handle)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        JellyfinFake { shared, task }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The API key the fake accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// The server's 32-hex id.
    pub fn server_id(&self) -> String {
        self.shared.lock().server_id.clone()
    }

    /// The 32-hex id of the administrator the fake started with.
    pub fn admin_id(&self) -> String {
        self.user(ADMIN_NAME).map(|u| u.id).unwrap_or_default()
    }

    /// Changes `ProductName` (`None` makes the fake look like Emby, which omits it).
    pub fn set_product_name(&self, product: Option<&str>) {
        self.shared.lock().product_name = product.map(str::to_owned);
    }

    /// Changes the reported version.
    pub fn set_version(&self, version: &str) {
        version.clone_into(&mut self.shared.lock().version);
    }

    /// Adds an ordinary user with Jellyfin's default policy; returns its 32-hex id.
    pub fn add_user(&self, name: &str, password: &str) -> String {
        self.shared.lock().insert_account(name, password)
    }

    /// Removes an account as an administrator would in Jellyfin's dashboard (sessions go with
    /// it); returns whether it existed.
    pub fn remove_user(&self, id: &str) -> bool {
        let mut state = self.shared.lock();
        let before = state.accounts.len();
        state.remove_account(id);
        state.sessions.retain(|s| s.user_id != id);
        before != state.accounts.len()
    }

    /// Adds an administrator; returns its 32-hex id.
    pub fn add_admin(&self, name: &str, password: &str) -> String {
        let mut state = self.shared.lock();
        let id = state.insert_account(name, password);
        if let Some(account) = state.account_mut(&id) {
            account.user.policy["IsAdministrator"] = json!(true);
        }
        id
    }

    /// Adds `count` users named `user00001`, `user00002`, … (password `password`), with
    /// realistic sign-in dates, e.g. for a list-users benchmark.
    pub fn seed_users(&self, count: usize) {
        let mut state = self.shared.lock();
        let now = Utc::now();
        state.accounts.reserve(count);
        for i in 1..=count {
            let id = state.insert_account(&format!("user{i:05}"), "password");
            if let Some(account) = state.account_mut(&id) {
                let minutes = i64::try_from(i).unwrap_or(i64::MAX / 2);
                account.user.last_login = Some(now - chrono::Duration::minutes(minutes * 7));
                account.user.last_activity = Some(now - chrono::Duration::minutes(minutes));
            }
        }
    }

    /// Adds a library; returns its 32-hex `ItemId`.
    pub fn add_library(&self, name: &str, collection_type: Option<&str>) -> String {
        let id = new_id();
        self.shared.lock().libraries.push(FakeLibrary {
            id: id.clone(),
            name: name.to_owned(),
            collection_type: collection_type.map(str::to_owned),
        });
        id
    }

    /// The libraries.
    pub fn libraries(&self) -> Vec<FakeLibrary> {
        self.shared.lock().libraries.clone()
    }

    /// Every user, in creation order.
    pub fn users(&self) -> Vec<FakeUser> {
        self.shared
            .lock()
            .accounts
            .iter()
            .map(|a| a.user.clone())
            .collect()
    }

    /// A user by id (any GUID form) or by name (case-insensitive).
    pub fn user(&self, id_or_name: &str) -> Option<FakeUser> {
        let state = self.shared.lock();
        let by_id = parse_guid(id_or_name).and_then(|id| state.account(&id));
        by_id
            .or_else(|| state.account_by_name(id_or_name))
            .map(|a| a.user.clone())
    }

    /// A user's whole policy.
    pub fn policy(&self, id: &str) -> Option<Value> {
        self.user(id).map(|u| u.policy)
    }

    /// Changes a user's stored policy directly (test setup); no validation.
    pub fn edit_policy(&self, id: &str, edit: impl FnOnce(&mut Map<String, Value>)) {
        let mut state = self.shared.lock();
        let Some(id) = parse_guid(id) else { return };
        if let Some(Value::Object(policy)) = state.account_mut(&id).map(|a| &mut a.user.policy) {
            edit(policy);
        }
    }

    /// Whether `password` is the user's password.
    pub fn check_password(&self, id: &str, password: &str) -> bool {
        let state = self.shared.lock();
        parse_guid(id)
            .and_then(|id| state.account(&id))
            .is_some_and(|a| a.password == password)
    }

    /// The signed-in sessions.
    pub fn sessions(&self) -> Vec<FakeSession> {
        self.shared.lock().sessions.clone()
    }

    /// Every request received so far, in order, with the answers.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// Makes the next request fail.
    pub fn fail_next(&self, failure: Failure) {
        self.shared.lock().rules.push_back(Rule {
            method: None,
            pattern: None,
            failure,
        });
    }

    /// Makes the next request with this method and path fail. In `path`, `*` stands for one
    /// segment: `fail_next_on("POST", "/Users/*/Policy", Failure::Status(500))`.
    pub fn fail_next_on(&self, method: &str, path: &str, failure: Failure) {
        let pattern = path
            .trim_matches('/')
            .split('/')
            .map(str::to_owned)
            .collect();
        self.shared.lock().rules.push_back(Rule {
            method: Some(method.to_owned()),
            pattern: Some(pattern),
            failure,
        });
    }
}

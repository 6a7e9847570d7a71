//! A stateful fake Plex: the owner's Plex Media Server and plex.tv (which also stands in for
//! clients.plex.tv: point both extra hosts at [`PlexFake::plex_tv_url`]), each an in-process axum
//! server on `127.0.0.1:0`, behaving as `MEDIA-APIS.md` §2 documents the real ones.
//!
//! - XML by default, Plex's JSON (`{"MediaContainer": {…}}`) with `Accept: application/json`,
//!   with the real element and attribute names; `/api/v2/*` answers JSON when asked.
//! - `X-Plex-Token` (header or query) is checked everywhere except PMS `/identity` and the PINs:
//!   401 with the PMS's HTML page, plex.tv v1's `<Response code status/>` or v2's
//!   `{"errors":[{code, message, status}]}`.
//! - State: accounts with tokens, the owner's friends and Home, two servers of the owner (the PMS
//!   with five libraries, and a second one), shares per server with global section ids, settings
//!   per account, acceptance, and PINs a test approves with [`PlexFake::approve_pin`].
//! - Real traps are kept: an empty `library_section_ids` shares every library, and a second share
//!   for the same account is refused with "already sharing".
//! - Every request is recorded ([`PlexFake::requests`]); [`PlexFake::fail_next`] and
//!   [`PlexFake::fail_always`] inject failures ([`Fault`]).

mod doc;
mod pms;
mod state;
mod tv;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State as AxumState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};
use tokio::task::JoinHandle;

use self::doc::El;
use self::state::State;
pub use self::state::{Account, Pin, Section, Settings, Share};

/// Which of the two fake servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The Plex Media Server.
    Pms,
    /// plex.tv (and clients.plex.tv).
    PlexTv,
}

/// A failure to inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// This status, with the error body of the endpoint's kind.
    Status(u16),
    /// 429 with the error body and, when given, `Retry-After` in seconds.
    RateLimited {
        /// `Retry-After` seconds.
        retry_after: Option<u32>,
    },
    /// No answer for this long (then a 504).
    Hang(Duration),
    /// 200 with bytes that are neither UTF-8 nor XML nor JSON.
    Garbage,
    /// 200 with an XML document cut off in the middle of an element.
    MalformedXml,
    /// 200 with well-formed JSON of the wrong shape.
    UnexpectedJson,
    /// Exactly this answer.
    Canned {
        /// Status.
        status: u16,
        /// `Content-Type`.
        content_type: String,
        /// Body.
        body: String,
    },
}

/// A request one of the fakes received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Which fake.
    pub side: Side,
    /// Method, e.g. `POST`.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body (lossy UTF-8).
    pub body: String,
}

impl RecordedRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first query parameter with this name.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Json> {
        serde_json::from_str(&self.body).ok()
    }
}

struct Rule {
    side: Side,
    path_prefix: String,
    fault: Fault,
    /// `None`: every time.
    remaining: Option<usize>,
}

struct Shared {
    state: Mutex<State>,
    requests: Mutex<Vec<RecordedRequest>>,
    rules: Mutex<Vec<Rule>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn take_fault(&self, side: Side, path: &str) -> Option<Fault> {
        let mut rules = lock(&self.rules);
        let index = rules
            .iter()
            .position(|rule| rule.side == side && path.starts_with(&rule.path_prefix))?;
        let fault = rules[index].fault.clone();
        if let Some(remaining) = &mut rules[index].remaining {
            *remaining -= 1;
            if *remaining == 0 {
                rules.remove(index);
            }
        }
        Some(fault)
    }
}

/// The running fakes; both servers stop when it is dropped.
pub struct PlexFake {
    shared: Arc<Shared>,
    pms_url: String,
    plex_tv_url: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for PlexFake {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl PlexFake {
    /// Starts the fake PMS and the fake plex.tv on loopback, seeded with the owner, the PMS with
    /// five libraries (keys `1`–`5`) and a second server of the owner. Panics when it cannot bind
    /// a port (nothing could run anyway).
    pub async fn start() -> PlexFake {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::seeded()),
            requests: Mutex::new(Vec::new()),
            rules: Mutex::new(Vec::new()),
        });
        let (pms_url, pms_task) = serve(shared.clone(), Side::Pms).await;
        let (plex_tv_url, tv_task) = serve(shared.clone(), Side::PlexTv).await;
        PlexFake {
            shared,
            pms_url,
            plex_tv_url,
            tasks: vec![pms_task, tv_task],
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

    /// Base URL of the fake PMS, `http://127.0.0.1:PORT`.
    pub fn pms_url(&self) -> &str {
        &self.pms_url
    }

    /// Origin of the fake plex.tv (serving clients.plex.tv's paths too).
    pub fn plex_tv_url(&self) -> &str {
        &self.plex_tv_url
    }

    /// The owner's account.
    pub fn owner(&self) -> Account {
        let state = self.state();
        state.owner().cloned().unwrap_or_else(no_owner)
    }

    /// The owner's token (works on the PMS and plex.tv).
    pub fn owner_token(&self) -> String {
        self.owner().token
    }

    /// The PMS's machine identifier.
    pub fn machine_identifier(&self) -> String {
        self.state()
            .pms()
            .map(|s| s.machine_id.clone())
            .unwrap_or_default()
    }

    /// The PMS's friendly name.
    pub fn server_name(&self) -> String {
        self.state()
            .pms()
            .map(|s| s.name.clone())
            .unwrap_or_default()
    }

    /// The PMS's libraries.
    pub fn sections(&self) -> Vec<Section> {
        self.state()
            .pms()
            .map(|s| s.sections.clone())
            .unwrap_or_default()
    }

    /// Machine identifier of the owner's second server.
    pub fn other_machine_identifier(&self) -> String {
        self.state()
            .servers
            .get(1)
            .map(|s| s.machine_id.clone())
            .unwrap_or_default()
    }

    /// A new plex.tv account (not related to the owner).
    pub fn add_account(&self, username: &str, email: &str) -> Account {
        self.state().add_account(username, email)
    }

    /// Makes an account the owner's friend.
    pub fn add_friend(&self, user_id: u64) {
        self.state().friends.insert(user_id);
    }

    /// Adds an account to the owner's Plex Home.
    pub fn add_home_user(&self, user_id: u64) {
        self.state().home.insert(user_id);
    }

    /// Shares the PMS with an account (sections by PMS key), accepted or pending, as if the owner
    /// had done it in Plex Web. Returns the share id.
    pub fn share(&self, user_id: u64, section_keys: &[&str], accepted: bool) -> u64 {
        let mut state = self.state();
        let Some(pms) = state.pms().cloned() else {
            return 0;
        };
        let ids = pms
            .sections
            .iter()
            .filter(|s| section_keys.contains(&s.key.as_str()))
            .map(|s| s.id)
            .collect();
        let id = state.add_share(&pms.machine_id, user_id, ids, false);
        if accepted {
            state.accept(id);
        }
        id
    }

    /// Shares the owner's second server (all its libraries, accepted) with an account.
    pub fn share_other_server(&self, user_id: u64) -> u64 {
        let mut state = self.state();
        let Some(other) = state.servers.get(1).cloned() else {
            return 0;
        };
        let ids = other.sections.iter().map(|s| s.id).collect();
        let id = state.add_share(&other.machine_id, user_id, ids, false);
        state.accept(id);
        id
    }

    /// Sets an account's sharing settings.
    pub fn set_settings(&self, user_id: u64, settings: Settings) {
        self.state().settings.insert(user_id, settings);
    }

    /// Every share of the PMS.
    pub fn shares(&self) -> Vec<Share> {
        let state = self.state();
        let machine = state
            .pms()
            .map(|s| s.machine_id.clone())
            .unwrap_or_default();
        state
            .shares
            .iter()
            .filter(|s| s.machine_id == machine)
            .map(|s| state.share_view(s))
            .collect()
    }

    /// The shares of the PMS with this account (more than one only if the fake was misused).
    pub fn shares_of(&self, user_id: u64) -> Vec<Share> {
        self.shares()
            .into_iter()
            .filter(|s| s.user_id == user_id)
            .collect()
    }

    /// Every share on any of the owner's servers (the second server too).
    pub fn all_shares(&self) -> Vec<Share> {
        let state = self.state();
        state.shares.iter().map(|s| state.share_view(s)).collect()
    }

    /// Shares not accepted yet, on any server.
    pub fn pending_invites(&self) -> Vec<Share> {
        self.all_shares()
            .into_iter()
            .filter(|s| !s.accepted)
            .collect()
    }

    /// Whether the account is the owner's friend.
    pub fn is_friend(&self, user_id: u64) -> bool {
        self.state().friends.contains(&user_id)
    }

    /// Whether the account is in the owner's Plex Home.
    pub fn is_home_user(&self, user_id: u64) -> bool {
        self.state().home.contains(&user_id)
    }

    /// An account's sharing settings.
    pub fn settings_of(&self, user_id: u64) -> Settings {
        self.state().settings_of(user_id)
    }

    /// A PIN by id.
    pub fn pin(&self, pin_id: &str) -> Option<Pin> {
        let id = pin_id.parse::<u64>().ok()?;
        self.state().pins.get(&id).map(|p| Pin {
            id: p.id,
            code: p.code.clone(),
            client_identifier: p.client_id.clone(),
            product: p.product.clone(),
            strong: p.strong,
            approved_by: p.approved_by,
        })
    }

    /// The id of the PIN with this code (what the person approving it sees), if any.
    pub fn pin_id_by_code(&self, code: &str) -> Option<String> {
        self.state()
            .pins
            .values()
            .find(|p| p.code == code)
            .map(|p| p.id.to_string())
    }

    /// The invitee signs in on app.plex.tv and approves the PIN: polling it now yields the
    /// account's token. `false` when there is no such live PIN or account.
    pub fn approve_pin(&self, pin_id: &str, user_id: u64) -> bool {
        let Ok(id) = pin_id.parse::<u64>() else {
            return false;
        };
        let mut state = self.state();
        if !state.accounts.contains_key(&user_id) {
            return false;
        }
        match state.pins.get_mut(&id) {
            Some(pin) if pin.is_live(state::now()) => {
                pin.approved_by = Some(user_id);
                true
            }
            _ => false,
        }
    }

    /// Lets a PIN expire now (plex.tv then answers 404 for it).
    pub fn expire_pin(&self, pin_id: &str) {
        if let Ok(id) = pin_id.parse::<u64>()
            && let Some(pin) = self.state().pins.get_mut(&id)
        {
            pin.expired = true;
        }
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// The requests to one fake whose path starts with `prefix`.
    pub fn requests_to(&self, side: Side, prefix: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.side == side && r.path.starts_with(prefix))
            .collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// The next request to `side` whose path starts with `path_prefix` gets `fault` instead of
    /// its answer. Rules are checked in the order they were added.
    pub fn fail_next(&self, side: Side, path_prefix: &str, fault: Fault) {
        self.add_rule(side, path_prefix, fault, Some(1));
    }

    /// Every request to `side` whose path starts with `path_prefix` gets `fault`, until
    /// [`clear_faults`](Self::clear_faults).
    pub fn fail_always(&self, side: Side, path_prefix: &str, fault: Fault) {
        self.add_rule(side, path_prefix, fault, None);
    }

    /// Removes every injected failure.
    pub fn clear_faults(&self) {
        lock(&self.shared.rules).clear();
    }

    fn add_rule(&self, side: Side, path_prefix: &str, fault: Fault, remaining: Option<usize>) {
        lock(&self.shared.rules).push(Rule {
            side,
            path_prefix: path_prefix.to_owned(),
            fault,
            remaining,
        });
    }
}

fn no_owner() -> Account {
    // The seeded state always has its owner; an empty account makes any misuse visible as 401s.
    Account {
        id: 0,
        uuid: String::new(),
        username: String::new(),
        email: String::new(),
        token: String::new(),
    }
}

async fn serve(shared: Arc<Shared>, side: Side) -> (String, JoinHandle<()>) {
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(err) => panic!("the fake Plex cannot bind a loopback port: {err}"),
    };
    let url = match listener.local_addr() {
        Ok(addr) => format!("http://{addr}"),
        Err(err) => panic!("the fake Plex has no local address: {err}"),
    };
    let app = Router::new().fallback(handle).with_state((shared, side));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

async fn handle(
    AxumState((shared, side)): AxumState<(Arc<Shared>, Side)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req::new(method, &uri, headers, body.to_vec());
    lock(&shared.requests).push(RecordedRequest {
        side,
        method: req.method.to_string(),
        path: req.path.clone(),
        query: req.query.clone(),
        headers: req
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&req.body).into_owned(),
    });
    if let Some(fault) = shared.take_fault(side, &req.path) {
        return fault_reply(&req, side, fault).await.into_response();
    }
    let reply = {
        let mut state = lock(&shared.state);
        match side {
            Side::Pms => pms::route(&mut state, &req),
            Side::PlexTv => tv::route(&mut state, &req),
        }
    };
    reply.into_response()
}

async fn fault_reply(req: &Req, side: Side, fault: Fault) -> Reply {
    match fault {
        Fault::Status(status) => Reply::error(req, side, status, "Injected failure"),
        Fault::RateLimited { retry_after } => {
            let reply = Reply::error(req, side, 429, "Too Many Requests");
            match retry_after {
                Some(seconds) => reply.with_header("Retry-After", &seconds.to_string()),
                None => reply,
            }
        }
        Fault::Hang(duration) => {
            tokio::time::sleep(duration).await;
            Reply::bytes(504, "text/plain", b"gateway timeout".to_vec())
        }
        Fault::Garbage => Reply::bytes(200, "text/xml", vec![0xff, 0xfe, 0x00, b'<', b'?', 0x9c, b'{', b'{']),
        Fault::MalformedXml => Reply::bytes(
            200,
            "text/xml;charset=utf-8",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MediaContainer size=\"1\" machineIdentifier=\"x\">\n  <User id=\"1\" title=\"cut".to_vec(),
        ),
        Fault::UnexpectedJson => Reply::json(200, &json!({"MediaContainer": "surprise", "errors": null, "id": [1, 2]})),
        Fault::Canned { status, content_type, body } => Reply::bytes(status, &content_type, body.into_bytes()),
    }
}

/// A request as the routers see it.
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Req {
    fn new(method: Method, uri: &Uri, headers: HeaderMap, body: Vec<u8>) -> Self {
        let query = Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map(|q| q.0)
            .unwrap_or_default();
        Self {
            method,
            path: uri.path().to_owned(),
            query,
            headers,
            body,
        }
    }

    /// Path segments, empty ones dropped (`/api/users/` is `["api", "users"]`).
    pub(crate) fn segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }

    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `X-Plex-…` values may come as a header or a query parameter, as Plex accepts both.
    pub(crate) fn plex(&self, name: &str) -> Option<&str> {
        self.header(name)
            .or_else(|| self.query(name))
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn token(&self) -> Option<&str> {
        self.plex("X-Plex-Token")
    }

    pub(crate) fn wants_json(&self) -> bool {
        self.header("accept")
            .is_some_and(|a| a.contains("application/json"))
    }

    pub(crate) fn json_body(&self) -> Option<Json> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// An answer.
pub(crate) struct Reply {
    status: u16,
    content_type: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    pub(crate) fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type: content_type.to_owned(),
            headers: Vec::new(),
            body,
        }
    }

    pub(crate) fn empty(status: u16) -> Self {
        Self::bytes(status, "text/plain", Vec::new())
    }

    pub(crate) fn json(status: u16, value: &Json) -> Self {
        Self::bytes(status, "application/json", value.to_string().into_bytes())
    }

    /// A document as XML, or as JSON when the client asked for it.
    pub(crate) fn doc(req: &Req, status: u16, el: &El) -> Self {
        if req.wants_json() {
            Self::json(status, &el.to_json())
        } else {
            Self::bytes(status, "text/xml;charset=utf-8", el.to_xml().into_bytes())
        }
    }

    /// The error shape of the endpoint: the PMS's HTML page, plex.tv v2's `errors` (JSON or
    /// XML), or plex.tv v1's `<Response code status/>`.
    pub(crate) fn error(req: &Req, side: Side, status: u16, message: &str) -> Self {
        if side == Side::Pms {
            let title = format!("{status} {message}");
            let html = format!(
                "<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
            );
            return Self::bytes(status, "text/html", html.into_bytes());
        }
        if req.path.starts_with("/api/v2/") {
            let code = 1000 + u32::from(status);
            if req.wants_json() {
                return Self::json(
                    status,
                    &json!({"errors": [{"code": code, "message": message, "status": status}]}),
                );
            }
            let el = El::new("errors").child(
                El::new("error")
                    .attr("code", code)
                    .attr("message", message)
                    .attr("status", status),
            );
            return Self::bytes(status, "text/xml;charset=utf-8", el.to_xml().into_bytes());
        }
        let el = El::new("Response")
            .attr("code", status)
            .attr("status", message);
        Self::bytes(status, "text/xml;charset=utf-8", el.to_xml().into_bytes())
    }

    pub(crate) fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut headers = HeaderMap::new();
        for (name, value) in
            std::iter::once(("content-type".to_owned(), self.content_type)).chain(self.headers)
        {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                headers.insert(name, value);
            }
        }
        (status, headers, Body::from(self.body)).into_response()
    }
}

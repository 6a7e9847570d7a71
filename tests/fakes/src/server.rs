//! The common part of the fakes added for issue 19 (Emby, Komga, Kavita, Navidrome,
//! Audiobookshelf): an in-process axum server on `127.0.0.1:0` that records every request with
//! its answer, injects failures, and hands each request to a server-specific [`Backend`] that
//! holds the state and behaves like the real server. The Jellyfin fake predates it and has its
//! own copy of this machinery; the recorded types are shared with it, so the contract check
//! (`crate::openapi`) works on both.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

pub use crate::jellyfin::{Failure, RecordedRequest, RecordedResponse};
use crate::openapi::percent_decode;

/// How long a [`Failure::Hang`] holds the request.
const HANG: Duration = Duration::from_secs(300);

/// What a server does with a request.
pub trait Backend: Send + 'static {
    /// Answers one request, changing the state as the real server would.
    fn handle(&mut self, request: &Incoming) -> Reply;
    /// The body the real server sends with an error status (for [`Failure::Status`]).
    fn error(&self, status: u16) -> Reply {
        Reply::empty(status)
    }
}

/// A request as a [`Backend`] sees it.
#[derive(Debug)]
pub struct Incoming {
    /// Upper-case method.
    pub method: String,
    /// The path as sent (percent-encoded).
    pub path: String,
    /// The path's segments, percent-decoded.
    pub segments: Vec<String>,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Incoming {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first query value with this name (`exact` case).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as a JSON object, if it is one.
    pub fn json_object(&self) -> Option<Map<String, Value>> {
        match serde_json::from_slice(&self.body) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        }
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The segments as `&str`, for matching.
    pub fn parts(&self) -> Vec<&str> {
        self.segments.iter().map(String::as_str).collect()
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// Body.
    pub body: Vec<u8>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// The same answer with one more header.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// No body.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            content_type: None,
            body: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// A JSON body.
    pub fn json(status: u16, value: &Value) -> Self {
        Self {
            status,
            content_type: Some("application/json; charset=utf-8".into()),
            body: serde_json::to_vec(value).unwrap_or_default(),
            headers: Vec::new(),
        }
    }

    /// A text/plain body.
    pub fn text(status: u16, text: &str) -> Self {
        Self {
            status,
            content_type: Some("text/plain; charset=utf-8".into()),
            body: text.as_bytes().to_vec(),
            headers: Vec::new(),
        }
    }

    /// An HTML page, what a web server or a proxy's sign-in page answers.
    pub fn html(status: u16) -> Self {
        Self {
            status,
            content_type: Some("text/html; charset=utf-8".into()),
            body: b"<!DOCTYPE html>\n<html><head><title>Welcome</title></head>\
                    <body><h1>It works!</h1></body></html>\n"
                .to_vec(),
            headers: Vec::new(),
        }
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.body).into_response();
        if let Some(value) = self
            .content_type
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (
                axum::http::HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }
}

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

struct Inner<B> {
    backend: B,
    requests: Vec<RecordedRequest>,
    rules: VecDeque<Rule>,
}

struct Core<B> {
    base_url: String,
    inner: Mutex<Inner<B>>,
}

impl<B> Core<B> {
    fn lock(&self) -> MutexGuard<'_, Inner<B>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running fake server; it stops when dropped.
pub struct Fake<B> {
    core: Arc<Core<B>>,
    task: tokio::task::JoinHandle<()>,
}

impl<B> std::fmt::Debug for Fake<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fake")
            .field("base_url", &self.core.base_url)
            .finish_non_exhaustive()
    }
}

impl<B> Drop for Fake<B> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<B: Backend> Fake<B> {
    /// Serves `backend` on a loopback port.
    ///
    /// # Panics
    /// When no loopback port can be bound (a broken test machine).
    #[allow(clippy::expect_used)]
    pub async fn serve(backend: impl FnOnce(&str) -> B) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for a fake server");
        let port = listener.local_addr().expect("the fake's address").port();
        let base_url = format!("http://127.0.0.1:{port}");
        let core = Arc::new(Core {
            inner: Mutex::new(Inner {
                backend: backend(&base_url),
                requests: Vec::new(),
                rules: VecDeque::new(),
            }),
            base_url,
        });
        let app = Router::new().fallback(handle::<B>).with_state(core.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { core, task }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> &str {
        &self.core.base_url
    }

    /// Reads or changes the server's state.
    pub fn with<R>(&self, f: impl FnOnce(&mut B) -> R) -> R {
        f(&mut self.core.lock().backend)
    }

    /// Every request received so far, in order, with the answers.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.core.lock().requests.clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.core.lock().requests.clear();
    }

    /// Makes the next request with this method and path fail; `*` stands for one segment.
    pub fn fail_next_on(&self, method: &str, path: &str, failure: Failure) {
        let pattern = path
            .trim_matches('/')
            .split('/')
            .map(str::to_owned)
            .collect();
        self.core.lock().rules.push_back(Rule {
            method: Some(method.to_owned()),
            pattern: Some(pattern),
            failure,
        });
    }

    /// Makes the next request fail, whatever it is.
    pub fn fail_next(&self, failure: Failure) {
        self.core.lock().rules.push_back(Rule {
            method: None,
            pattern: None,
            failure,
        });
    }
}

/// A web server that answers every request with a 200 HTML page: a server URL that points at
/// something other than a media server.
#[derive(Debug, Default)]
pub struct WebSite;

impl Backend for WebSite {
    fn handle(&mut self, _request: &Incoming) -> Reply {
        Reply::html(200)
    }
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

async fn handle<B: Backend>(
    AxumState(core): AxumState<Arc<Core<B>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let header_list: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let record = RecordedRequest {
        method: method.as_str().to_owned(),
        path: path.clone(),
        query: uri.query().map(str::to_owned),
        headers: header_list.clone(),
        body: body.to_vec(),
        injected: None,
        response: None,
    };
    let (index, failure) = {
        let mut inner = core.lock();
        inner.requests.push(record);
        let index = inner.requests.len() - 1;
        let position = inner
            .rules
            .iter()
            .position(|rule| rule.matches(method.as_str(), &path));
        let failure = position
            .and_then(|i| inner.rules.remove(i))
            .map(|rule| rule.failure);
        inner.requests[index].injected.clone_from(&failure);
        (index, failure)
    };
    let incoming = || Incoming {
        method: method.as_str().to_owned(),
        path: path.clone(),
        segments: path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode(s, false))
            .collect(),
        query: query_pairs(uri.query()),
        headers: header_list.clone(),
        body: body.to_vec(),
    };
    let reply = match failure {
        Some(Failure::Hang) => {
            tokio::time::sleep(HANG).await;
            Reply::empty(503)
        }
        Some(Failure::Status(status)) => core.lock().backend.error(status),
        Some(Failure::Garbage(text)) => Reply {
            status: 200,
            content_type: Some("application/json".into()),
            body: text.into_bytes(),
            headers: Vec::new(),
        },
        Some(Failure::Html) => Reply::html(200),
        other => {
            if let Some(Failure::Delay(ms)) = other {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            let request = incoming();
            let mut reply = core.lock().backend.handle(&request);
            match other {
                Some(Failure::Truncated) => {
                    let keep = reply.body.len() / 2;
                    reply.body.truncate(keep);
                }
                Some(Failure::HandledThenHang) => {
                    tokio::time::sleep(HANG).await;
                    reply = Reply::empty(503);
                }
                Some(Failure::HandledThenHuge(size)) => {
                    let mut body = vec![b' '; size.max(4)];
                    let at = body.len() - 4;
                    body[at..].copy_from_slice(b"null");
                    reply = Reply {
                        status: 200,
                        content_type: Some("application/json".into()),
                        body,
                        headers: Vec::new(),
                    };
                }
                _ => {}
            }
            reply
        }
    };
    if let Some(entry) = core.lock().requests.get_mut(index) {
        entry.response = Some(RecordedResponse {
            status: reply.status,
            content_type: reply.content_type.clone(),
            body: reply.body.clone(),
            size: reply.body.len(),
            body_omitted: false,
        });
    }
    reply.into_response()
}

/// A new random id in the 32-hex form.
pub fn hex_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A boolean member of a JSON object (`false` when absent).
pub fn flag(value: &Value, field: &str) -> bool {
    value.get(field).and_then(Value::as_bool).unwrap_or(false)
}

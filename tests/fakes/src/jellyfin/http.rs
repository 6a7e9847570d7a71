//! The HTTP side of the fake: the one axum handler (request log, injected failures), routing,
//! the `MediaBrowser` authorization header, and the answer bodies.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{
    ERROR_TEXT, Failure, HANG, MAX_LOGGED_BODY, RecordedRequest, RecordedResponse, Shared,
};
use crate::openapi::percent_decode;

/// The fields of a `MediaBrowser` authorization header; `None` for any other scheme. Values
/// may be quoted and are URL-decoded; keys are case-sensitive.
pub(super) fn parse_authorization(headers: &HeaderMap) -> Option<BTreeMap<String, String>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("MediaBrowser") {
        return None;
    }
    let mut fields = BTreeMap::new();
    for part in rest.split(',') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        fields.insert(key.trim().to_owned(), percent_decode(value, false));
    }
    Some(fields)
}

/// A property of a JSON request body, matched case-insensitively as Jellyfin does.
pub(super) fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) content_type: Option<&'static str>,
    pub(super) body: Vec<u8>,
}

pub(super) const JSON: &str = "application/json; charset=utf-8";

impl Reply {
    pub(super) fn empty(status: u16) -> Self {
        Self {
            status,
            content_type: None,
            body: Vec::new(),
        }
    }

    pub(super) fn json(status: u16, value: &Value) -> Self {
        Self {
            status,
            content_type: Some(JSON),
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    pub(super) fn text(status: u16, text: &str) -> Self {
        Self {
            status,
            content_type: Some("text/plain; charset=utf-8"),
            body: text.as_bytes().to_vec(),
        }
    }

    /// ASP.NET's validation answer.
    pub(super) fn problem<K: AsRef<str>>(errors: &[(K, String)]) -> Self {
        let errors: Map<String, Value> = errors
            .iter()
            .map(|(k, v)| (k.as_ref().to_owned(), json!([v])))
            .collect();
        Self {
            status: 400,
            content_type: Some("application/problem+json; charset=utf-8"),
            body: serde_json::to_vec(&json!({
                "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                "title": "One or more validation errors occurred.",
                "status": 400,
                "errors": errors,
            }))
            .unwrap_or_default(),
        }
    }

    pub(super) fn user_not_found() -> Self {
        Self::json(404, &json!("User not found"))
    }

    pub(super) fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.body).into_response();
        if let Some(content_type) = self.content_type {
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        response
    }
}

/// Who made a request.
#[derive(Debug, Clone)]
pub(super) enum Caller {
    ApiKey,
    User { id: String, token: String },
}

/// The routes, matched case-insensitively.
#[derive(Debug)]
pub(super) enum Route {
    PublicInfo,
    Info,
    VirtualFolders,
    MediaFolders,
    ListUsers,
    NewUser,
    Password,
    GetUser(String),
    DeleteUser(String),
    Policy(String),
    AuthenticateByName,
    Logout,
}

pub(super) fn route(method: &Method, path: &str) -> Option<Route> {
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(|s| percent_decode(s, false))
        .collect();
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let route = match (method.as_str(), lower.as_slice()) {
        ("GET", ["system", "info", "public"]) => Route::PublicInfo,
        ("GET", ["system", "info"]) => Route::Info,
        ("GET", ["library", "virtualfolders"]) => Route::VirtualFolders,
        ("GET", ["library", "mediafolders"]) => Route::MediaFolders,
        ("GET", ["users"]) => Route::ListUsers,
        ("POST", ["users", "new"]) => Route::NewUser,
        ("POST", ["users", "password"]) => Route::Password,
        ("POST", ["users", "authenticatebyname"]) => Route::AuthenticateByName,
        ("GET", ["users", _]) => Route::GetUser(segments[1].clone()),
        ("DELETE", ["users", _]) => Route::DeleteUser(segments[1].clone()),
        ("POST", ["users", _, "policy"]) => Route::Policy(segments[1].clone()),
        ("POST", ["sessions", "logout"]) => Route::Logout,
        _ => return None,
    };
    Some(route)
}

pub(super) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
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

pub(super) fn query_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The parts of a request the handlers read.
pub(super) struct Incoming<'a> {
    pub(super) method: &'a Method,
    pub(super) path: &'a str,
    pub(super) query: Vec<(String, String)>,
    pub(super) headers: &'a HeaderMap,
    pub(super) body: &'a [u8],
}

impl Incoming<'_> {
    pub(super) fn json_object(&self) -> Option<Map<String, Value>> {
        match serde_json::from_slice(self.body) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        }
    }
}

pub(super) async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let record = RecordedRequest {
        method: method.as_str().to_owned(),
        path: path.clone(),
        query: uri.query().map(str::to_owned),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        injected: None,
        response: None,
    };
    let (index, failure) = {
        let mut state = shared.lock();
        state.requests.push(record);
        let index = state.requests.len() - 1;
        let position = state
            .rules
            .iter()
            .position(|rule| rule.matches(method.as_str(), &path));
        let failure = position
            .and_then(|i| state.rules.remove(i))
            .map(|rule| rule.failure);
        state.requests[index].injected.clone_from(&failure);
        (index, failure)
    };
    let reply = match failure {
        Some(Failure::Hang) => {
            tokio::time::sleep(HANG).await;
            Reply::empty(503)
        }
        Some(Failure::Status(status)) => match status {
            401 | 204 => Reply::empty(status),
            _ => Reply::text(status, ERROR_TEXT),
        },
        Some(Failure::Garbage(text)) => Reply {
            status: 200,
            content_type: Some(JSON),
            body: text.into_bytes(),
        },
        Some(Failure::Html) => Reply {
            status: 200,
            content_type: Some("text/html; charset=utf-8"),
            body: b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\
                    <body><form method=\"post\"><input name=\"user\"></form></body></html>\n"
                .to_vec(),
        },
        Some(
            Failure::Truncated
            | Failure::Delay(_)
            | Failure::HandledThenHang
            | Failure::HandledThenHuge(_),
        )
        | None => {
            if let Some(Failure::Delay(ms)) = failure {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            let incoming = Incoming {
                method: &method,
                path: &path,
                query: query_pairs(uri.query()),
                headers: &headers,
                body: &body,
            };
            let mut reply = shared.lock().dispatch(&shared, &incoming);
            match failure {
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
                        content_type: Some(JSON),
                        body,
                    };
                }
                _ => {}
            }
            reply
        }
    };
    {
        let mut state = shared.lock();
        if let Some(entry) = state.requests.get_mut(index) {
            let omitted = reply.body.len() > MAX_LOGGED_BODY;
            entry.response = Some(RecordedResponse {
                status: reply.status,
                content_type: reply.content_type.map(str::to_owned),
                body: if omitted {
                    Vec::new()
                } else {
                    reply.body.clone()
                },
                size: reply.body.len(),
                body_omitted: omitted,
            });
        }
    }
    reply.into_response()
}

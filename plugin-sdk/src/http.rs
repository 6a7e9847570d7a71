//! Plain HTTP values: the request a connector builds and the response it gets back, with the
//! JSON/XML decoding and the status-to-error mapping. Nothing here talks to the host, so all of it
//! runs (and is tested) natively; sending is [`crate::Server`]'s job.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

use crate::__private::bindings::zondarr::connector::host;

/// HTTP method of a [`Request`]. `Display` and `Debug` both print it as on the wire (`GET`), so
/// a failed `assert_eq!` on a request reads like HTTP.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `HEAD`
    Head,
}

impl Method {
    /// The method name as sent on the wire, e.g. `"GET"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Head => "HEAD",
        }
    }
}

/// The method name as sent on the wire: `GET`, `POST`, …
impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// As [`Display`](std::fmt::Display): `GET`, not `Method::Get`.
impl std::fmt::Debug for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Method> for host::Method {
    fn from(method: Method) -> Self {
        match method {
            Method::Get => Self::Get,
            Method::Post => Self::Post,
            Method::Put => Self::Put,
            Method::Patch => Self::Patch,
            Method::Delete => Self::Delete,
            Method::Head => Self::Head,
        }
    }
}

/// An HTTP request to the configured server ([`crate::Server::request`]) or to a declared extra
/// host ([`crate::Server::fetch`]).
///
/// The target is a path (plus query) starting with `/`, relative to the server's base URL or to
/// the extra host's origin; the daemon refuses absolute URLs. Credentials, `Host` and hop-by-hop
/// headers are set by the daemon.
///
/// ```
/// use zondarr_plugin_sdk::{Method, Request};
///
/// let request = Request::get("/Users")
///     .query("isDisabled", "false")
///     .header("Accept", "application/json");
/// assert_eq!(request.method(), Method::Get);
/// assert_eq!(request.target(), "/Users?isDisabled=false");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    method: Method,
    target: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    credentials: bool,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, target: impl Into<String>) -> Self {
        Self {
            method,
            target: target.into(),
            headers: Vec::new(),
            body: None,
            credentials: true,
        }
    }

    /// Whether the daemon adds the server's credentials to this request: `false` once it went
    /// through [`crate::Server::request_without_credentials`]. A [`crate::testing::MockServer`]
    /// handler reads it to check that a sign-in did not carry the admin's token.
    pub fn sends_credentials(&self) -> bool {
        self.credentials
    }

    pub(crate) fn without_credentials(mut self) -> Self {
        self.credentials = false;
        self
    }

    /// A `GET` request.
    pub fn get(target: impl Into<String>) -> Self {
        Self::new(Method::Get, target)
    }

    /// A `POST` request.
    pub fn post(target: impl Into<String>) -> Self {
        Self::new(Method::Post, target)
    }

    /// A `PUT` request.
    pub fn put(target: impl Into<String>) -> Self {
        Self::new(Method::Put, target)
    }

    /// A `PATCH` request.
    pub fn patch(target: impl Into<String>) -> Self {
        Self::new(Method::Patch, target)
    }

    /// A `DELETE` request.
    pub fn delete(target: impl Into<String>) -> Self {
        Self::new(Method::Delete, target)
    }

    /// A `HEAD` request.
    pub fn head(target: impl Into<String>) -> Self {
        Self::new(Method::Head, target)
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `Authorization: Basic …` for `user:password` (RFC 7617, UTF-8), for servers whose own
    /// sign-in is HTTP Basic (Komga's e-mail and password). Send it with
    /// [`Server::request_without_credentials`](crate::Server::request_without_credentials) when
    /// it checks someone's password, so the server's own credentials do not ride along.
    ///
    /// ```
    /// # use zondarr_plugin_sdk::prelude::*;
    /// let request = Request::get("/api/v2/users/me").basic_auth("Aladdin", "open sesame");
    /// assert_eq!(request.header_value("Authorization"), Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
    /// ```
    #[must_use]
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        let credentials = base64(format!("{user}:{password}").as_bytes());
        self.header("Authorization", format!("Basic {credentials}"))
    }

    /// Appends a query parameter to the target, percent-encoding name and value.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        let separator = if self.target.contains('?') { '&' } else { '?' };
        self.target.push(separator);
        self.target.push_str(&percent_encode(name));
        self.target.push('=');
        self.target.push_str(&percent_encode(value));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets a JSON body and the `Content-Type: application/json` header.
    ///
    /// # Errors
    /// [`Error::Internal`] when `value` cannot be serialised (e.g. a map with non-string keys).
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self> {
        let body = serde_json::to_vec(value)
            .map_err(|err| Error::Internal(format!("cannot encode the request body: {err}")))?;
        Ok(self.header("Content-Type", "application/json").body(body))
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The path and query.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The headers added so far, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first header with this name (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body, if one was set.
    pub fn body_bytes(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }

    /// The body decoded as JSON; `None` without a body. Handy in fake servers.
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] when the body is not valid JSON for `T`.
    pub fn body_json<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        self.body
            .as_deref()
            .map(serde_json::from_slice)
            .transpose()
            .map_err(Error::from)
    }

    /// `METHOD /path` without the query, for messages (a query may carry a token).
    pub(crate) fn label(&self) -> String {
        format!("{} {}", self.method, path_only(&self.target))
    }

    pub(crate) fn into_host(self) -> host::Request {
        host::Request {
            method: self.method.into(),
            target: self.target,
            headers: self.headers,
            body: self.body,
        }
    }
}

/// Shows the method as on the wire (`GET`), and the body as text when it is UTF-8, so test
/// failures read like an HTTP exchange.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct("Request");
        out.field("method", &format_args!("{}", self.method))
            .field("target", &self.target)
            .field("headers", &self.headers);
        if !self.credentials {
            out.field("credentials", &false);
        }
        match self.body.as_deref().map(std::str::from_utf8) {
            None => out.field("body", &None::<()>),
            Some(Ok(text)) => out.field("body", &text),
            Some(Err(_)) => out.field(
                "body",
                &format_args!("{} bytes", self.body.as_ref().map_or(0, Vec::len)),
            ),
        };
        out.finish()
    }
}

/// The path of a target, without its query.
fn path_only(target: &str) -> &str {
    target.split_once('?').map_or(target, |(path, _)| path)
}

/// An HTTP response, after the daemon followed same-origin redirects.
///
/// It is a plain value: fake servers in tests build one with [`Response::new`].
///
/// ```
/// use zondarr_plugin_sdk::{Error, Response};
///
/// let ok = Response::new(200).with_body(r#"{"Name":"Home"}"#);
/// let value: serde_json::Value = ok.json()?;
/// assert_eq!(value["Name"], "Home");
///
/// let limited = Response::new(429).with_header("Retry-After", "30");
/// assert_eq!(limited.error_for_status().unwrap_err(), Error::RateLimited(Some(30)));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    target: String,
    /// `METHOD /path` of the request this answers, when known; used in messages.
    label: String,
}

impl Response {
    /// A response with this status, no headers and an empty body.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            target: String::new(),
            label: String::new(),
        }
    }

    /// A response with this status and `value` as its JSON body.
    ///
    /// # Errors
    /// [`Error::Internal`] when `value` cannot be serialised.
    pub fn from_json<T: Serialize + ?Sized>(status: u16, value: &T) -> Result<Self> {
        let body = serde_json::to_vec(value)
            .map_err(|err| Error::Internal(format!("cannot encode the response body: {err}")))?;
        Ok(Self::new(status)
            .with_header("content-type", "application/json")
            .with_body(body))
    }

    /// Adds a header; the name is stored in lower case, as the daemon delivers it.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Records which request this answers; used in error messages ([`Error::NotFound`] names the
    /// target, the others `METHOD /path`).
    pub(crate) fn for_request(mut self, target: &str, label: String) -> Self {
        target.clone_into(&mut self.target);
        self.label = label;
        self
    }

    /// `"GET /path"` when the request is known, else `"the request"`.
    fn what(&self) -> &str {
        if self.label.is_empty() {
            "the request"
        } else {
            &self.label
        }
    }

    pub(crate) fn from_host(response: host::Response) -> Self {
        Self {
            status: response.status,
            headers: response.headers,
            body: response.body,
            target: String::new(),
            label: String::new(),
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// All headers, names in lower case.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The raw body, by value.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The body as text.
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] when the body is not UTF-8.
    pub fn text(&self) -> Result<&str> {
        Ok(std::str::from_utf8(&self.body)?)
    }

    /// The body decoded from JSON.
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] naming the request, when the body is not valid JSON for `T`.
    /// The message tells an HTML page (a login page, a reverse proxy's error page: the server URL
    /// points at the wrong thing), an empty body and a cut-off body ("truncated JSON") apart from
    /// JSON of the wrong shape ("JSON the connector cannot read").
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|err| {
            self.not_understood("JSON").unwrap_or_else(|| {
                Error::InvalidResponse(if err.is_eof() {
                    format!(
                        "{} was answered with truncated JSON (the body ends after {} bytes)",
                        self.what(),
                        self.body.len()
                    )
                } else {
                    format!(
                        "{} was answered with JSON the connector cannot read: {err}",
                        self.what()
                    )
                })
            })
        })
    }

    /// An explanation for a body that is not the expected format at all: an HTML page or
    /// nothing. `None` when the body is something else (then the decoder's message is better).
    fn not_understood(&self, format: &str) -> Option<Error> {
        let what = self.what();
        if self.looks_like_html() {
            return Some(Error::InvalidResponse(format!(
                "{what} was answered with an HTML page instead of {format}; check that the server \
                 URL points at the media server itself (with its port and any path prefix), not at \
                 a web page, a login page or a reverse proxy's error page"
            )));
        }
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Some(Error::InvalidResponse(format!(
                "{what} was answered with an empty body instead of {format}"
            )));
        }
        None
    }

    /// Whether the body is an HTML page: an HTML content type, or a body starting with a doctype
    /// or an `<html>`, `<head>` or `<body>` tag.
    pub fn looks_like_html(&self) -> bool {
        if self
            .header("content-type")
            .is_some_and(|value| value.to_ascii_lowercase().contains("text/html"))
        {
            return true;
        }
        let start = self
            .body
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map_or(&[][..], |i| &self.body[i..]);
        let start = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
        let head: Vec<u8> = start.iter().take(16).map(u8::to_ascii_lowercase).collect();
        [&b"<!doctype html"[..], b"<html", b"<head", b"<body"]
            .iter()
            .any(|tag| head.starts_with(tag))
    }

    /// The server's own explanation in an error answer, made safe to show: a `message`,
    /// `error`, `detail` or `title` field of a JSON body (or a JSON string), or the plain text;
    /// one line, control characters removed, at most 200 characters. `None` for an empty body,
    /// an HTML page or a body that is not UTF-8.
    pub fn server_message(&self) -> Option<String> {
        if self.looks_like_html() {
            return None;
        }
        let text = std::str::from_utf8(&self.body).ok()?.trim();
        let text = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::String(message)) => message,
            Ok(serde_json::Value::Object(fields)) => {
                let keys = ["message", "error", "detail", "title", "error_description"];
                keys.iter()
                    .find_map(|key| {
                        fields
                            .iter()
                            .find(|(name, _)| name.eq_ignore_ascii_case(key))
                            .and_then(|(_, value)| value.as_str())
                    })?
                    .to_owned()
            }
            Ok(_) => return None,
            Err(_) => text.to_owned(),
        };
        clip(&text, 200)
    }

    /// The body decoded from XML with `quick-xml`'s serde support: attributes are fields named
    /// `@name`, text content is `$text`, repeated elements are a `Vec`.
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] when the body is not UTF-8 or not valid XML for `T`.
    pub fn xml<T: DeserializeOwned>(&self) -> Result<T> {
        if let Some(error) = self.not_understood("XML") {
            return Err(error);
        }
        Ok(quick_xml::de::from_str(self.text()?)?)
    }

    /// The response itself when the status is 2xx; otherwise the matching error:
    ///
    /// | status | error |
    /// |---|---|
    /// | 401 | [`Error::Unauthorized`] |
    /// | 400, 422 | [`Error::InvalidInput`] naming the request, with the server's own message ([`Response::server_message`]) when it gave one |
    /// | 403 | [`Error::Forbidden`] naming the request, with the server's own message when it gave one |
    /// | 404 | [`Error::NotFound`] with the request target |
    /// | 429 | [`Error::RateLimited`] with `Retry-After` in seconds, when it is a number |
    /// | anything else | [`Error::RemoteStatus`] |
    ///
    /// # Errors
    /// As in the table.
    pub fn error_for_status(self) -> Result<Self> {
        match self.status {
            _ if self.is_success() => Ok(self),
            400 | 422 => Err(Error::InvalidInput(match self.server_message() {
                Some(message) => format!(
                    "the server refused {} (HTTP {}): {message}",
                    self.what(),
                    self.status
                ),
                None => format!("the server refused {} (HTTP {})", self.what(), self.status),
            })),
            401 => Err(Error::Unauthorized),
            403 => Err(Error::Forbidden(match self.server_message() {
                Some(message) => format!(
                    "the server does not allow {} for these credentials: {message}",
                    self.what()
                ),
                None => format!(
                    "the server does not allow {} for these credentials",
                    self.what()
                ),
            })),
            404 if self.target.is_empty() => Err(Error::NotFound("the server answered 404".into())),
            404 => Err(Error::NotFound(self.target)),
            429 => Err(Error::RateLimited(
                self.header("retry-after")
                    .and_then(|value| value.trim().parse().ok()),
            )),
            status => Err(Error::RemoteStatus(status)),
        }
    }
}

/// `text` on one line without control characters, cut to `max` characters (with `…`); `None`
/// when nothing is left.
pub(crate) fn clip(text: &str, max: usize) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let line: String = words
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if line.is_empty() {
        return None;
    }
    if line.chars().count() <= max {
        return Some(line);
    }
    let mut clipped: String = line.chars().take(max).collect();
    clipped.push('…');
    Some(clipped)
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0_u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Percent-encodes everything except the unreserved characters (`A-Z a-z 0-9 - . _ ~`), for a
/// path segment or a query value: `format!("/Users/{}", percent_encode(id))`.
pub fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
        let request = Request::get("/me").basic_auth("ü@x.org", "p:w");
        assert_eq!(
            request.header_value("authorization"),
            Some("Basic w7xAeC5vcmc6cDp3")
        );
    }

    #[test]
    fn status_mapping() {
        let error = |status| Response::new(status).error_for_status().unwrap_err();
        assert_eq!(error(401), Error::Unauthorized);
        assert_eq!(
            error(403),
            Error::Forbidden("the server does not allow the request for these credentials".into())
        );
        assert_eq!(error(409), Error::RemoteStatus(409));
        assert_eq!(error(500), Error::RemoteStatus(500));
        assert_eq!(error(302), Error::RemoteStatus(302));
        assert_eq!(error(101), Error::RemoteStatus(101));
        assert!(matches!(error(404), Error::NotFound(_)));
        assert_eq!(error(429), Error::RateLimited(None));
        for status in [200, 201, 204, 299] {
            assert!(Response::new(status).error_for_status().is_ok(), "{status}");
        }
    }

    #[test]
    fn not_found_names_the_target() {
        let response = Response::new(404).for_request("/users/42", "GET /users/42".into());
        assert_eq!(
            response.error_for_status().unwrap_err(),
            Error::NotFound("/users/42".into())
        );
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let limited = |value: &str| {
            Response::new(429)
                .with_header("Retry-After", value)
                .error_for_status()
                .unwrap_err()
        };
        assert_eq!(limited("120"), Error::RateLimited(Some(120)));
        assert_eq!(limited(" 7 "), Error::RateLimited(Some(7)));
        assert_eq!(
            limited("Wed, 21 Oct 2015 07:28:00 GMT"),
            Error::RateLimited(None)
        );
        assert_eq!(limited("-1"), Error::RateLimited(None));
    }

    #[test]
    fn headers_are_case_insensitive() {
        let response = Response::new(200).with_header("X-Plex-Token", "abc");
        assert_eq!(response.header("x-plex-token"), Some("abc"));
        assert_eq!(response.header("X-PLEX-TOKEN"), Some("abc"));
        assert_eq!(response.headers()[0].0, "x-plex-token");
        assert_eq!(response.header("missing"), None);
        let request = Request::get("/").header("Accept", "application/xml");
        assert_eq!(request.header_value("accept"), Some("application/xml"));
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct User {
        id: String,
        name: String,
    }

    #[test]
    fn json_body() {
        let response = Response::new(200).with_body(r#"[{"id":"1","name":"ann","extra":true}]"#);
        let users: Vec<User> = response.json().unwrap();
        assert_eq!(
            users,
            vec![User {
                id: "1".into(),
                name: "ann".into()
            }]
        );
        let bad = Response::new(200).with_body("<html>").json::<Vec<User>>();
        assert!(matches!(bad, Err(Error::InvalidResponse(_))));
        let empty = Response::new(200).json::<Vec<User>>();
        assert!(matches!(empty, Err(Error::InvalidResponse(_))));
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Container {
        #[serde(rename = "@size")]
        size: u32,
        #[serde(rename = "Directory", default)]
        directories: Vec<Directory>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Directory {
        #[serde(rename = "@key")]
        key: String,
        #[serde(rename = "@title")]
        title: String,
    }

    #[test]
    fn xml_body() {
        let response = Response::new(200).with_body(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <MediaContainer size="2">
              <Directory key="1" title="Movies"/>
              <Directory key="2" title="TV &amp; Shows"/>
            </MediaContainer>"#,
        );
        let container: Container = response.xml().unwrap();
        assert_eq!(container.size, 2);
        assert_eq!(container.directories[1].title, "TV & Shows");
        assert_eq!(container.directories[0].key, "1");
        let bad = Response::new(200).with_body("{}").xml::<Container>();
        assert!(matches!(bad, Err(Error::InvalidResponse(_))));
        let not_utf8 = Response::new(200)
            .with_body(vec![0xff, 0xfe])
            .xml::<Container>();
        assert!(matches!(not_utf8, Err(Error::InvalidResponse(_))));
    }

    #[test]
    fn text_body() {
        assert_eq!(
            Response::new(200).with_body("héllo").text().unwrap(),
            "héllo"
        );
        assert!(Response::new(200).with_body(vec![0xc3]).text().is_err());
    }

    #[test]
    fn from_json_round_trips() {
        let response = Response::from_json(201, &serde_json::json!({"id": "9"})).unwrap();
        assert_eq!(response.status(), 201);
        assert_eq!(response.header("Content-Type"), Some("application/json"));
        assert_eq!(response.json::<serde_json::Value>().unwrap()["id"], "9");
    }

    #[test]
    fn request_builder() {
        let request = Request::post("/Users/New")
            .query("a b", "c&d=é")
            .query("x", "1")
            .json(&serde_json::json!({"Name": "ann"}))
            .unwrap();
        assert_eq!(request.method(), Method::Post);
        assert_eq!(request.target(), "/Users/New?a%20b=c%26d%3D%C3%A9&x=1");
        assert_eq!(
            request.header_value("content-type"),
            Some("application/json")
        );
        assert_eq!(request.body_bytes(), Some(&br#"{"Name":"ann"}"#[..]));
        let decoded: Option<serde_json::Value> = request.body_json().unwrap();
        assert_eq!(decoded.unwrap()["Name"], "ann");
        assert_eq!(Request::delete("/x").body_json::<u8>().unwrap(), None);
        assert_eq!(Method::Patch.as_str(), "PATCH");
    }

    #[test]
    fn refusals_keep_the_servers_message() {
        let refused = |status, content_type: &str, body: &str| {
            Response::new(status)
                .with_header("content-type", content_type)
                .with_body(body.to_owned())
                .for_request("/api/users?token=secret", "POST /api/users".into())
                .error_for_status()
                .unwrap_err()
        };
        assert_eq!(
            refused(400, "text/plain", "  Password is\n too short  "),
            Error::InvalidInput(
                "the server refused POST /api/users (HTTP 400): Password is too short".into()
            )
        );
        assert_eq!(
            refused(
                422,
                "application/json",
                r#"{"Message": "Name taken", "code": 7}"#
            ),
            Error::InvalidInput("the server refused POST /api/users (HTTP 422): Name taken".into())
        );
        assert_eq!(
            refused(422, "application/json", r#"{"errors": []}"#),
            Error::InvalidInput("the server refused POST /api/users (HTTP 422)".into())
        );
        assert_eq!(
            refused(400, "text/html", "<p>Bad</p>"),
            Error::InvalidInput("the server refused POST /api/users (HTTP 400)".into())
        );
        let long = refused(400, "text/plain", &"é".repeat(500));
        let Error::InvalidInput(message) = long else {
            panic!("{long:?}")
        };
        assert!(
            message.ends_with(&format!("{}…", "é".repeat(200))),
            "{message}"
        );
        assert!(!message.contains("secret"));
        assert_eq!(
            Response::new(400).error_for_status().unwrap_err(),
            Error::InvalidInput("the server refused the request (HTTP 400)".into())
        );
    }

    #[test]
    fn html_instead_of_json_or_xml_is_explained() {
        let page = Response::new(200)
            .with_body("\n <!DOCTYPE html><html><body>Sign in</body></html>")
            .for_request("/Users", "GET /Users".into());
        let Err(Error::InvalidResponse(message)) = page.json::<Vec<User>>() else {
            panic!("HTML decoded as JSON")
        };
        assert!(
            message.starts_with("GET /Users was answered with an HTML page instead of JSON;"),
            "{message}"
        );
        assert!(message.contains("server URL"), "{message}");
        let Err(Error::InvalidResponse(message)) = page.xml::<Container>() else {
            panic!("HTML decoded as XML")
        };
        assert!(message.contains("HTML page instead of XML"), "{message}");
        let typed = Response::new(200)
            .with_header("Content-Type", "text/html; charset=utf-8")
            .with_body("oops");
        assert!(typed.looks_like_html());
        assert!(
            !Response::new(200)
                .with_body("<MediaContainer/>")
                .looks_like_html()
        );
        let empty = Response::new(200).with_body(" \n").json::<Vec<User>>();
        assert_eq!(
            empty,
            Err(Error::InvalidResponse(
                "the request was answered with an empty body instead of JSON".into()
            ))
        );
        let shape = Response::new(200).with_body("{}").json::<Vec<User>>();
        assert!(
            matches!(shape, Err(Error::InvalidResponse(m)) if m.starts_with("the request was answered with JSON the connector cannot read"))
        );
        let cut = Response::new(200)
            .with_body("[{\"a\": 1")
            .json::<Vec<User>>();
        assert_eq!(
            cut,
            Err(Error::InvalidResponse(
                "the request was answered with truncated JSON (the body ends after 8 bytes)".into()
            ))
        );
    }

    #[test]
    fn methods_and_requests_print_like_http() {
        assert_eq!(Method::Get.to_string(), "GET");
        assert_eq!(format!("{:?}", Method::Patch), "PATCH");
        assert_eq!(format!("{:>6}", Method::Delete.as_str()), "DELETE");
        let request = Request::post("/x?y=1").body("hi");
        assert_eq!(
            format!("{request:?}"),
            r#"Request { method: POST, target: "/x?y=1", headers: [], body: "hi" }"#
        );
        assert_eq!(request.label(), "POST /x");
        let binary = format!("{:?}", Request::put("/b").body(vec![0xff, 0xfe]));
        assert!(binary.contains("body: 2 bytes"), "{binary}");
    }

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("abc-XYZ_0.9~"), "abc-XYZ_0.9~");
        assert_eq!(percent_encode("a/b c?"), "a%2Fb%20c%3F");
        assert_eq!(percent_encode("ü"), "%C3%BC");
        assert_eq!(percent_encode(""), "");
    }
}

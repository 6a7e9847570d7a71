//! The connector's handle on the configured media server: its URL, its non-secret settings and an
//! HTTP client whose requests the daemon checks, sends and signs with the server's credentials.
//! This module maps the host's `http-error` onto [`Error`]; it never sees a secret.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::__private::bindings::zondarr::connector::host;
use crate::error::{Error, Result};
use crate::http::{Request, Response};
use crate::testing::MockBackend;

/// Message of [`Error::InvalidResponse`] when the daemon cut off a response body.
pub(crate) const TOO_LARGE: &str = "the response body exceeded the daemon's size limit";
/// Message of [`Error::Denied`] when the call used up its HTTP request budget.
pub(crate) const BUDGET_EXHAUSTED: &str = "this call already made as many HTTP requests as it may";

/// The media server an operation is about.
///
/// The daemon owns it: the connector sees the base URL and the non-secret configuration, never the
/// credentials, which the daemon adds to each request as the manifest's [`crate::AuthScheme`]
/// says. Every request goes through the daemon, which allows only the server's own origin and the
/// declared extra hosts, and enforces the per-call limits (see the crate documentation).
///
/// The typed helpers ([`get_json`](Self::get_json), [`post_json`](Self::post_json), …) send
/// `Accept: application/json`, check the status with [`Response::error_for_status`] and decode
/// the body; [`request`](Self::request) gives full control and checks nothing.
pub struct Server<'a> {
    backend: Backend<'a>,
}

enum Backend<'a> {
    Host(&'a host::Server),
    Mock(&'a dyn MockBackend),
}

impl<'a> Server<'a> {
    pub(crate) fn from_host(server: &'a host::Server) -> Self {
        Self {
            backend: Backend::Host(server),
        }
    }

    pub(crate) fn from_mock(server: &'a dyn MockBackend) -> Self {
        Self {
            backend: Backend::Mock(server),
        }
    }

    /// The base URL the admin configured, e.g. `http://192.168.1.10:8096`.
    pub fn base_url(&self) -> String {
        match self.backend {
            Backend::Host(server) => server.base_url(),
            Backend::Mock(mock) => mock.base_url().to_owned(),
        }
    }

    /// A non-secret configuration value by field key, as declared in the manifest's `config`.
    /// Secret fields always answer `None`.
    pub fn config(&self, key: &str) -> Option<String> {
        match self.backend {
            Backend::Host(server) => server.config(key),
            Backend::Mock(mock) => mock.config_value(key),
        }
    }

    /// Sends a request to the server (target relative to the base URL) and returns the response
    /// whatever its status.
    ///
    /// # Errors
    /// When no response arrived: [`Error::Denied`] (refused by the daemon, or the request budget
    /// is used up), [`Error::Timeout`], [`Error::Unreachable`], or [`Error::InvalidResponse`] when
    /// the body was larger than the daemon allows.
    pub fn request(&self, request: Request) -> Result<Response> {
        let (target, label) = (request.target().to_owned(), request.label());
        let response = match self.backend {
            Backend::Host(server) => server
                .request(&request.into_host())
                .map(Response::from_host)
                .map_err(Error::from),
            Backend::Mock(mock) => mock.handle(None, request),
        };
        response.map(|response| response.for_request(&target, label))
    }

    /// Sends a request to the server **without** the server's credentials: the daemon neither
    /// adds the credential header (or query parameter, or session token) nor lets the plugin set
    /// it. For calls made as someone else, above all checking a user's own password in
    /// `authenticate`, where the admin's token must not ride along. Otherwise as
    /// [`request`](Self::request).
    ///
    /// # Errors
    /// As [`request`](Self::request).
    pub fn request_without_credentials(&self, request: Request) -> Result<Response> {
        let (target, label) = (request.target().to_owned(), request.label());
        let response = match self.backend {
            Backend::Host(server) => server
                .request_without_credentials(&request.into_host())
                .map(Response::from_host)
                .map_err(Error::from),
            Backend::Mock(mock) => mock.handle(None, request.without_credentials()),
        };
        response.map(|response| response.for_request(&target, label))
    }

    /// [`request_without_credentials`](Self::request_without_credentials) with
    /// `Accept: application/json`, the status checked and the JSON answer decoded, as
    /// [`send_json`](Self::send_json).
    ///
    /// # Errors
    /// As [`send_json`](Self::send_json).
    pub fn send_json_without_credentials<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> Result<T> {
        self.request_without_credentials(request.header("Accept", "application/json"))?
            .error_for_status()?
            .json()
    }

    /// Ends a session the connector opened as someone else, e.g. the one a password check in
    /// `authenticate` created: sends `request` (the server's logout, carrying that session's
    /// token) without the server's credentials and checks the status. A failure is only logged
    /// (at warn level): the check itself already succeeded, and the session ends on its own.
    ///
    /// ```
    /// # use zondarr_plugin_sdk::prelude::*;
    /// # use zondarr_plugin_sdk::testing::MockServer;
    /// # let fake = MockServer::new("http://x.test", |_, request| {
    /// #     assert!(!request.sends_credentials());
    /// #     Ok(Response::new(204))
    /// # });
    /// # let server = fake.server();
    /// server.end_session(Request::post("/api/logout").header("X-Auth-Token", "session-id"));
    /// ```
    pub fn end_session(&self, request: Request) {
        let label = request.label();
        let ended = self
            .request_without_credentials(request)
            .and_then(Response::error_for_status);
        if let Err(error) = ended {
            crate::warn!("could not end the session ({label}): {error}");
        }
    }

    /// Sends a request to an extra host declared in the manifest, by its id; the target is
    /// relative to that host's origin. Credentials are added only if the manifest says so for
    /// that host.
    ///
    /// # Errors
    /// As [`request`](Self::request); an undeclared host id is [`Error::Denied`].
    pub fn fetch(&self, host_id: &str, request: Request) -> Result<Response> {
        let (target, label) = (request.target().to_owned(), request.label());
        let response = match self.backend {
            Backend::Host(server) => server
                .fetch(host_id, &request.into_host())
                .map(Response::from_host)
                .map_err(Error::from),
            Backend::Mock(mock) => mock.handle(Some(host_id), request),
        };
        response.map(|response| response.for_request(&target, label))
    }

    /// Sends a request and checks the status: [`request`](Self::request) followed by
    /// [`Response::error_for_status`].
    ///
    /// # Errors
    /// Transport errors as in [`request`](Self::request), status errors as in
    /// [`Response::error_for_status`].
    pub fn send(&self, request: Request) -> Result<Response> {
        self.request(request)?.error_for_status()
    }

    /// Sends a request with `Accept: application/json`, checks the status and decodes the JSON
    /// answer. The building block of the `*_json` helpers, for requests they do not cover (extra
    /// headers, a query built with [`Request::query`]).
    ///
    /// # Errors
    /// As [`send`](Self::send), and [`Error::InvalidResponse`] when the body does not decode
    /// (an HTML page or an empty body is named as such).
    pub fn send_json<T: DeserializeOwned>(&self, request: Request) -> Result<T> {
        self.send_accepting_json(request)?.json()
    }

    /// `GET path`, status checked; the response is returned for the caller to decode.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn get(&self, path: &str) -> Result<Response> {
        self.send(Request::get(path))
    }

    /// `GET path` with `Accept: application/json`, status checked, body decoded.
    ///
    /// # Errors
    /// As [`send_json`](Self::send_json).
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send_json(Request::get(path))
    }

    /// `GET path` for a list that the server answers either bare (`[…]`) or wrapped in an
    /// object (`{"Items": […], "TotalRecordCount": 3}`); see [`crate::rest::list_from`] for how
    /// the list is found.
    ///
    /// # Errors
    /// As [`send_json`](Self::send_json), and [`Error::InvalidResponse`] when the answer holds
    /// no list or an item does not decode.
    pub fn get_list<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>> {
        let value: serde_json::Value = self.get_json(path)?;
        crate::rest::list_from(value)
    }

    /// `GET path` with `Accept: application/xml`, status checked, body decoded with
    /// [`Response::xml`].
    ///
    /// # Errors
    /// As [`get`](Self::get), and [`Error::InvalidResponse`] when the body does not decode.
    pub fn get_xml<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send(Request::get(path).header("Accept", "application/xml"))?
            .xml()
    }

    /// `POST path` with a JSON body, status checked, JSON answer decoded.
    ///
    /// # Errors
    /// As [`send_json`](Self::send_json).
    pub fn post_json<B, T>(&self, path: &str, body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.send_json(Request::post(path).json(body)?)
    }

    /// `POST path` with a JSON body, status checked, answer ignored (for endpoints that answer
    /// `204 No Content` or something the connector does not need).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn post_json_discard<B: Serialize + ?Sized>(&self, path: &str, body: &B) -> Result<()> {
        self.send_accepting_json(Request::post(path).json(body)?)
            .map(drop)
    }

    /// `PUT path` with a JSON body, status checked, JSON answer decoded.
    ///
    /// # Errors
    /// As [`send_json`](Self::send_json).
    pub fn put_json<B, T>(&self, path: &str, body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.send_json(Request::put(path).json(body)?)
    }

    /// `PUT path` with a JSON body, status checked, answer ignored.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn put_json_discard<B: Serialize + ?Sized>(&self, path: &str, body: &B) -> Result<()> {
        self.send_accepting_json(Request::put(path).json(body)?)
            .map(drop)
    }

    /// `PATCH path` with a JSON body, status checked, JSON answer decoded.
    ///
    /// # Errors
    /// As [`send_json`](Self::send_json).
    pub fn patch_json<B, T>(&self, path: &str, body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.send_json(Request::patch(path).json(body)?)
    }

    /// `PATCH path` with a JSON body, status checked, answer ignored.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn patch_json_discard<B: Serialize + ?Sized>(&self, path: &str, body: &B) -> Result<()> {
        self.send_accepting_json(Request::patch(path).json(body)?)
            .map(drop)
    }

    /// `POST path` without a body, status checked, answer ignored (actions such as
    /// `POST /users/7/disable`).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn post_empty(&self, path: &str) -> Result<()> {
        self.send(Request::post(path)).map(drop)
    }

    /// `DELETE path`, status checked, answer ignored.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn delete(&self, path: &str) -> Result<()> {
        self.send(Request::delete(path)).map(drop)
    }

    /// `DELETE path` with a JSON body, status checked, answer ignored (APIs that say what to
    /// delete in the body).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn delete_json<B: Serialize + ?Sized>(&self, path: &str, body: &B) -> Result<()> {
        self.send_accepting_json(Request::delete(path).json(body)?)
            .map(drop)
    }

    /// Read-modify-write of a JSON document, keeping every field the connector does not know
    /// about: `GET read_path`, take the part at the JSON pointer `pointer` (`""` for the whole
    /// document, `"/Policy"` for one member), let `edit` change it, and send it back with
    /// `write` (its JSON body is set here). Returns the part as it now is on the server; when
    /// `edit` left it as it was, nothing is written (one request instead of two).
    ///
    /// ```
    /// # use zondarr_plugin_sdk::prelude::*;
    /// # use zondarr_plugin_sdk::testing::MockServer;
    /// # let fake = MockServer::new("http://x.test", |_, request| match request.method() {
    /// #     Method::Get => Response::from_json(200, &serde_json::json!({"Policy": {"IsDisabled": false, "Other": 1}})),
    /// #     _ => Ok(Response::new(204)),
    /// # });
    /// # let server = fake.server();
    /// let written = server.update_json("/Users/7", "/Policy", Request::post("/Users/7/Policy"), |policy| {
    ///     policy["IsDisabled"] = true.into();
    ///     Ok(())
    /// })?;
    /// assert_eq!(written, serde_json::json!({"IsDisabled": true, "Other": 1}));
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`send_json`](Self::send_json) for both requests; [`Error::InvalidResponse`] when the
    /// document has nothing at `pointer`; whatever `edit` returns (then nothing is written).
    pub fn update_json<F>(
        &self,
        read_path: &str,
        pointer: &str,
        write: Request,
        edit: F,
    ) -> Result<serde_json::Value>
    where
        F: FnOnce(&mut serde_json::Value) -> Result<()>,
    {
        let mut document: serde_json::Value = self.get_json(read_path)?;
        let part = document.pointer_mut(pointer).ok_or_else(|| {
            Error::InvalidResponse(format!(
                "GET {} has no `{pointer}` to update",
                read_path.split('?').next().unwrap_or(read_path)
            ))
        })?;
        let before = part.clone();
        edit(part)?;
        let part = part.take();
        if part != before {
            self.send_accepting_json(write.json(&part)?)?;
        }
        Ok(part)
    }

    fn send_accepting_json(&self, request: Request) -> Result<Response> {
        self.send(request.header("Accept", "application/json"))
    }
}

impl std::fmt::Debug for Server<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.backend {
            Backend::Host(_) => "host",
            Backend::Mock(_) => "mock",
        };
        f.debug_struct("Server").field("backend", &kind).finish()
    }
}

/// A stable identifier of this Zondarr installation, generated once. Use it where a remote
/// service wants a client identifier (e.g. Plex's `X-Plex-Client-Identifier`). Natively (in unit
/// tests) it is the fixed string `"native-test-install"`.
pub fn install_id() -> String {
    #[cfg(target_arch = "wasm32")]
    return host::install_id();
    #[cfg(not(target_arch = "wasm32"))]
    return "native-test-install".to_owned();
}

impl From<host::HttpError> for Error {
    fn from(err: host::HttpError) -> Self {
        match err {
            host::HttpError::Denied(reason) => Self::Denied(reason),
            host::HttpError::Timeout => Self::Timeout,
            host::HttpError::TooLarge => Self::InvalidResponse(TOO_LARGE.to_owned()),
            host::HttpError::BudgetExhausted => Self::Denied(BUDGET_EXHAUSTED.to_owned()),
            host::HttpError::Transport(reason) => Self::Unreachable(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_errors_map_to_sdk_errors() {
        use host::HttpError;
        assert_eq!(
            Error::from(HttpError::Denied("http://evil".into())),
            Error::Denied("http://evil".into())
        );
        assert_eq!(Error::from(HttpError::Timeout), Error::Timeout);
        assert_eq!(
            Error::from(HttpError::TooLarge),
            Error::InvalidResponse(TOO_LARGE.into())
        );
        assert_eq!(
            Error::from(HttpError::BudgetExhausted),
            Error::Denied(BUDGET_EXHAUSTED.into())
        );
        assert_eq!(
            Error::from(HttpError::Transport("connection refused".into())),
            Error::Unreachable("connection refused".into())
        );
    }

    #[test]
    fn install_id_is_stable_natively() {
        assert_eq!(install_id(), install_id());
    }
}

//! A fake server for unit-testing a connector natively with `cargo test`, without the daemon.
//!
//! [`MockServer`] answers the connector's requests with a closure and applies the same rules as
//! the daemon: targets must be relative, extra hosts must be declared, secrets are never readable,
//! a call may make at most [`DEFAULT_REQUEST_BUDGET`] requests and a response body may not exceed
//! [`DEFAULT_MAX_RESPONSE_BYTES`]. It cannot reproduce the CPU, memory and time limits; run
//! `zondarr plugin check` on the built `.wasm` for those.
//!
//! ```
//! use zondarr_plugin_sdk::prelude::*;
//! use zondarr_plugin_sdk::testing::MockServer;
//!
//! struct Demo;
//! impl Connector for Demo {
//!     fn describe() -> Manifest {
//!         Manifest::new("demo", "Demo", "0.1.0", "A demo.")
//!     }
//!     fn test_connection(server: &Server) -> Result<ServerInfo> {
//!         let info: serde_json::Value = server.get_json("/info")?;
//!         Ok(ServerInfo::new(info["name"].as_str().unwrap_or("?"), "Demo"))
//!     }
//! }
//!
//! let fake = MockServer::for_connector::<Demo>("http://demo.test", |_host, request| {
//!     match request.target() {
//!         "/info" => Response::from_json(200, &serde_json::json!({"name": "Basement"})),
//!         _ => Ok(Response::new(404)),
//!     }
//! });
//! let info = Demo::test_connection(&fake.server())?;
//! assert_eq!(info.name, "Basement");
//! assert_eq!(fake.calls()[0].request.target(), "/info");
//! # Ok::<(), Error>(())
//! ```

use std::cell::{Cell, Ref, RefCell, RefMut};
use std::collections::{BTreeMap, BTreeSet};

use crate::connector::Connector;
use crate::error::{Error, Result};
use crate::http::{Request, Response};
use crate::server::{BUDGET_EXHAUSTED, Server, TOO_LARGE};
use crate::types::ValueKind;

/// How many HTTP requests the daemon lets one call make, by default (`plugins.max_http_requests`).
pub const DEFAULT_REQUEST_BUDGET: usize = 50;
/// The largest response body the daemon delivers, by default (`plugins.max_response_bytes`,
/// 16 MiB; the daemon never uses more than half of the call's memory limit).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

type Handler<S> = dyn FnMut(&mut S, Option<&str>, &Request) -> Result<Response>;

/// One request the connector made through a [`MockServer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The extra host id for [`Server::fetch`], `None` for [`Server::request`].
    pub host: Option<String>,
    /// The request as the connector built it.
    pub request: Request,
}

/// A fake media server (and fake extra hosts) behind a [`Server`] handle. See the
/// [module documentation](self).
///
/// `S` is the fake's own state (the accounts it holds, say), given to the handler as `&mut S`
/// and readable afterwards with [`state`](Self::state); stateless fakes use `()`.
///
/// Each [`server`](Self::server) handle stands for one call of the daemon: its request budget
/// starts afresh, while [`calls`](Self::calls) keeps recording across handles.
pub struct MockServer<S = ()> {
    base_url: String,
    config: BTreeMap<String, String>,
    secret_keys: BTreeSet<String>,
    extra_hosts: BTreeSet<String>,
    request_budget: usize,
    max_response_bytes: usize,
    handler: RefCell<Box<Handler<S>>>,
    state: RefCell<S>,
    attempts: Cell<usize>,
    calls: RefCell<Vec<Call>>,
}

impl MockServer {
    /// A fake server at `base_url` whose answers come from `handler`. The handler receives the
    /// extra host id (`None` for the server itself) and the request; an `Err` it returns reaches
    /// the connector as if the daemon had produced it.
    pub fn new<F>(base_url: impl Into<String>, mut handler: F) -> Self
    where
        F: FnMut(Option<&str>, &Request) -> Result<Response> + 'static,
    {
        Self::stateful(base_url, (), move |(), host, request| {
            handler(host, request)
        })
    }

    /// Like [`new`](Self::new), with the extra hosts and secret fields taken from `C`'s manifest,
    /// so undeclared hosts are refused and secrets read as `None`, as in the daemon.
    pub fn for_connector<C: Connector>(
        base_url: impl Into<String>,
        handler: impl FnMut(Option<&str>, &Request) -> Result<Response> + 'static,
    ) -> Self {
        Self::new(base_url, handler).declared_by::<C>()
    }
}

impl<S: 'static> MockServer<S> {
    /// A fake server that keeps `state` between requests: the handler gets it as `&mut S`, and
    /// the test reads it with [`state`](Self::state). No `Rc<RefCell<…>>` needed.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use zondarr_plugin_sdk::prelude::*;
    /// use zondarr_plugin_sdk::testing::MockServer;
    ///
    /// // The fake's state: user id -> name.
    /// let fake = MockServer::stateful("http://x.test", BTreeMap::new(), |users, _host, request| {
    ///     match (request.method(), request.target()) {
    ///         (Method::Post, "/users") => {
    ///             let id = (users.len() + 1).to_string();
    ///             users.insert(id.clone(), "ann".to_owned());
    ///             Response::from_json(201, &serde_json::json!({"id": id}))
    ///         }
    ///         _ => Ok(Response::new(404)),
    ///     }
    /// });
    /// fake.server().post_empty("/users")?;
    /// fake.server().post_empty("/users")?;
    /// assert_eq!(fake.state().len(), 2);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn stateful<F>(base_url: impl Into<String>, state: S, handler: F) -> Self
    where
        F: FnMut(&mut S, Option<&str>, &Request) -> Result<Response> + 'static,
    {
        Self {
            base_url: base_url.into(),
            config: BTreeMap::new(),
            secret_keys: BTreeSet::new(),
            extra_hosts: BTreeSet::new(),
            request_budget: DEFAULT_REQUEST_BUDGET,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            handler: RefCell::new(Box::new(handler)),
            state: RefCell::new(state),
            attempts: Cell::new(0),
            calls: RefCell::new(Vec::new()),
        }
    }

    /// Takes the extra hosts and secret fields from `C`'s manifest: undeclared hosts are
    /// refused and secrets read as `None`, as in the daemon.
    pub fn declared_by<C: Connector>(mut self) -> Self {
        let manifest = C::describe();
        self.extra_hosts = manifest.extra_hosts.into_iter().map(|h| h.id).collect();
        self.secret_keys = manifest
            .config
            .into_iter()
            .filter(|field| field.kind == ValueKind::Secret)
            .map(|field| field.key)
            .collect();
        self
    }

    /// Sets a configuration value, as the admin would in the server form.
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Declares an extra host id that [`Server::fetch`] may use.
    pub fn with_extra_host(mut self, id: impl Into<String>) -> Self {
        self.extra_hosts.insert(id.into());
        self
    }

    /// Changes the per-call request budget (default [`DEFAULT_REQUEST_BUDGET`]).
    pub fn with_request_budget(mut self, requests: usize) -> Self {
        self.request_budget = requests;
        self
    }

    /// Changes the response size limit (default [`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub fn with_max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// The handle to pass to one of the connector's operations. Like a call in the daemon, it
    /// starts with a fresh request budget.
    pub fn server(&self) -> Server<'_> {
        self.attempts.set(0);
        Server::from_mock(self)
    }

    /// The fake's state, e.g. to check what a call changed.
    ///
    /// # Panics
    /// While the handler runs (it has the state then); a test never reaches that.
    pub fn state(&self) -> Ref<'_, S> {
        self.state.borrow()
    }

    /// The fake's state, to change it between calls (e.g. to make a user vanish).
    ///
    /// # Panics
    /// As [`state`](Self::state).
    pub fn state_mut(&self) -> RefMut<'_, S> {
        self.state.borrow_mut()
    }

    /// The requests that reached the handler so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.borrow().clone()
    }

    /// Forgets the recorded calls and resets the request budget.
    pub fn reset(&self) {
        self.attempts.set(0);
        self.calls.borrow_mut().clear();
    }
}

/// What [`Server`] needs from a mock, whatever its state type.
pub(crate) trait MockBackend {
    fn base_url(&self) -> &str;
    fn config_value(&self, key: &str) -> Option<String>;
    fn handle(&self, host: Option<&str>, request: Request) -> Result<Response>;
}

impl<S> MockBackend for MockServer<S> {
    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn config_value(&self, key: &str) -> Option<String> {
        if self.secret_keys.contains(key) {
            return None;
        }
        self.config.get(key).cloned()
    }

    fn handle(&self, host: Option<&str>, request: Request) -> Result<Response> {
        if !request.target().starts_with('/') {
            return Err(Error::Denied(format!(
                "the target must be a path starting with '/': {}",
                request.target()
            )));
        }
        if let Some(id) = host
            && !self.extra_hosts.contains(id)
        {
            return Err(Error::Denied(format!("undeclared host: {id}")));
        }
        if self.attempts.get() >= self.request_budget {
            return Err(Error::Denied(BUDGET_EXHAUSTED.to_owned()));
        }
        self.attempts.set(self.attempts.get() + 1);
        let response = match (self.handler.try_borrow_mut(), self.state.try_borrow_mut()) {
            (Ok(mut handler), Ok(mut state)) => (*handler)(&mut state, host, &request),
            _ => Err(Error::Internal(
                "MockServer: the test still holds state() or state_mut() while the connector \
                 makes a request; drop it first"
                    .to_owned(),
            )),
        };
        self.calls.borrow_mut().push(Call {
            host: host.map(str::to_owned),
            request,
        });
        let response = response?;
        if response.body().len() > self.max_response_bytes {
            return Err(Error::InvalidResponse(TOO_LARGE.to_owned()));
        }
        Ok(response)
    }
}

impl<S> std::fmt::Debug for MockServer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("base_url", &self.base_url)
            .field("config", &self.config)
            .field("extra_hosts", &self.extra_hosts)
            .field("calls", &self.calls.borrow().len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn echo() -> MockServer {
        MockServer::new("http://fake.test:8096", |host, request| {
            Ok(Response::new(200).with_body(format!("{host:?} {}", request.target())))
        })
    }

    #[test]
    fn answers_and_records() {
        let mock = echo()
            .with_extra_host("plex-tv")
            .with_config("region", "eu");
        let server = mock.server();
        assert_eq!(server.base_url(), "http://fake.test:8096");
        assert_eq!(server.config("region").as_deref(), Some("eu"));
        assert_eq!(server.config("missing"), None);
        let response = server.get("/a").unwrap();
        assert_eq!(response.text().unwrap(), "None /a");
        let response = server.fetch("plex-tv", Request::post("/pins")).unwrap();
        assert_eq!(response.text().unwrap(), "Some(\"plex-tv\") /pins");
        let calls = mock.calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].host.as_deref(), Some("plex-tv"));
        mock.reset();
        assert!(mock.calls().is_empty());
    }

    #[test]
    fn refuses_what_the_daemon_refuses() {
        let mock = echo().with_request_budget(2);
        let server = mock.server();
        assert!(matches!(
            server.request(Request::get("http://169.254.169.254/latest")),
            Err(Error::Denied(_))
        ));
        assert!(matches!(
            server.fetch("evil", Request::get("/")),
            Err(Error::Denied(m)) if m.contains("evil")
        ));
        server.get("/1").unwrap();
        server.get("/2").unwrap();
        assert_eq!(
            server.get("/3").unwrap_err(),
            Error::Denied(BUDGET_EXHAUSTED.into())
        );
        assert_eq!(mock.calls().len(), 2);
    }

    #[test]
    fn caps_the_response_size() {
        let mock = MockServer::new("http://fake.test", |_, _| {
            Ok(Response::new(200).with_body(vec![b'x'; 11]))
        })
        .with_max_response_bytes(10);
        assert_eq!(
            mock.server().get("/big").unwrap_err(),
            Error::InvalidResponse(TOO_LARGE.into())
        );
    }

    #[test]
    fn typed_helpers_check_status_and_decode() {
        let mock = MockServer::new("http://fake.test", |_, request| {
            match (request.method(), request.target()) {
                (crate::Method::Get, "/users") => {
                    assert_eq!(request.header_value("accept"), Some("application/json"));
                    Response::from_json(200, &serde_json::json!([1, 2, 3]))
                }
                (crate::Method::Post, "/users") => {
                    let body: serde_json::Value = request.body_json()?.unwrap_or_default();
                    Response::from_json(201, &body["n"])
                }
                (crate::Method::Put, "/users/1") => Ok(Response::new(204)),
                (crate::Method::Delete, "/users/1") => Ok(Response::new(204)),
                (crate::Method::Delete, "/users/2") => Ok(Response::new(404)),
                _ => Ok(Response::new(500)),
            }
        });
        let server = mock.server();
        assert_eq!(server.get_json::<Vec<u8>>("/users").unwrap(), vec![1, 2, 3]);
        let n: u32 = server
            .post_json("/users", &serde_json::json!({"n": 5}))
            .unwrap();
        assert_eq!(n, 5);
        server
            .put_json_discard("/users/1", &serde_json::json!({}))
            .unwrap();
        server.delete("/users/1").unwrap();
        assert_eq!(
            server.delete("/users/2").unwrap_err(),
            Error::NotFound("/users/2".into())
        );
        assert_eq!(
            server
                .post_json_discard("/elsewhere", &serde_json::json!({}))
                .unwrap_err(),
            Error::RemoteStatus(500)
        );
        assert_eq!(
            server.put_json::<_, u8>("/users/1", &()).unwrap_err(),
            Error::InvalidResponse(
                "PUT /users/1 was answered with an empty body instead of JSON".into()
            )
        );
    }

    #[test]
    fn every_server_handle_gets_a_fresh_budget() {
        let mock = echo().with_request_budget(2);
        for _ in 0..3 {
            let server = mock.server();
            server.get("/1").unwrap();
            server.get("/2").unwrap();
            assert!(matches!(server.get("/3"), Err(Error::Denied(_))));
        }
        assert_eq!(mock.calls().len(), 6, "calls are kept across handles");
    }

    #[test]
    fn state_without_rc_refcell() {
        // A counter the handler owns and changes, and the test reads and changes too.
        let mock = MockServer::stateful("http://fake.test", 0_u32, |count, _, request| {
            *count += 1;
            match request.method() {
                crate::Method::Delete => Ok(Response::new(204)),
                _ => Response::from_json(200, &*count),
            }
        });
        assert_eq!(mock.server().get_json::<u32>("/n").unwrap(), 1);
        mock.server().delete("/n").unwrap();
        assert_eq!(*mock.state(), 2);
        *mock.state_mut() = 10;
        assert_eq!(mock.server().get_json::<u32>("/n").unwrap(), 11);
        let held = mock.state();
        let err = mock.server().get("/n").unwrap_err();
        assert!(matches!(err, Error::Internal(m) if m.contains("drop it first")));
        assert_eq!(*held, 11);
    }

    #[test]
    fn verb_helpers_send_the_right_method_and_body() {
        let mock = MockServer::new("http://fake.test", |_, request| {
            Response::from_json(
                200,
                &serde_json::json!({
                    "method": request.method().as_str(),
                    "body": request.body_json::<serde_json::Value>()?,
                    "accept": request.header_value("accept"),
                }),
            )
        });
        let server = mock.server();
        let body = serde_json::json!({"a": 1});
        let echoed: serde_json::Value = server.patch_json("/p", &body).unwrap();
        assert_eq!(echoed["method"], "PATCH");
        assert_eq!(echoed["body"], body);
        assert_eq!(echoed["accept"], "application/json");
        server.patch_json_discard("/p", &body).unwrap();
        server.delete_json("/d", &body).unwrap();
        server.post_empty("/e").unwrap();
        let sent: Vec<(String, Option<Vec<u8>>)> = mock
            .calls()
            .into_iter()
            .map(|call| {
                (
                    call.request.method().to_string(),
                    call.request.body_bytes().map(<[u8]>::to_vec),
                )
            })
            .collect();
        assert_eq!(
            sent,
            vec![
                ("PATCH".to_owned(), Some(br#"{"a":1}"#.to_vec())),
                ("PATCH".to_owned(), Some(br#"{"a":1}"#.to_vec())),
                ("DELETE".to_owned(), Some(br#"{"a":1}"#.to_vec())),
                ("POST".to_owned(), None),
            ]
        );
        let echoed: serde_json::Value = server
            .send_json(Request::get("/l").query("q", "1"))
            .unwrap();
        assert_eq!(echoed["method"], "GET");
        assert_eq!(echoed["accept"], "application/json");
        assert_eq!(mock.calls()[4].request.target(), "/l?q=1");
    }

    #[test]
    fn read_modify_write_keeps_unknown_fields() {
        let mock = MockServer::stateful(
            "http://fake.test",
            serde_json::json!({"Name": "ann", "Policy": {"IsDisabled": false, "Future": [1]}}),
            |user, _, request| match (request.method(), request.target()) {
                (crate::Method::Get, "/Users/1") => Response::from_json(200, &*user),
                (crate::Method::Post, "/Users/1/Policy") => {
                    user["Policy"] = request.body_json()?.unwrap_or_default();
                    Ok(Response::new(204))
                }
                _ => Ok(Response::new(404)),
            },
        );
        let written = mock
            .server()
            .update_json(
                "/Users/1",
                "/Policy",
                Request::post("/Users/1/Policy"),
                |policy| {
                    policy["IsDisabled"] = true.into();
                    Ok(())
                },
            )
            .unwrap();
        let policy = serde_json::json!({"IsDisabled": true, "Future": [1]});
        assert_eq!(written, policy);
        assert_eq!(mock.state()["Policy"], policy);
        assert_eq!(mock.state()["Name"], "ann");
        let missing = mock
            .server()
            .update_json("/Users/1", "/Nope", Request::post("/x"), |_| Ok(()));
        assert_eq!(
            missing.unwrap_err(),
            Error::InvalidResponse("GET /Users/1 has no `/Nope` to update".into())
        );
        let refused = mock
            .server()
            .update_json("/Users/1", "", Request::put("/x"), |_| {
                Err(Error::InvalidInput("no".into()))
            });
        assert_eq!(refused.unwrap_err(), Error::InvalidInput("no".into()));
        assert_eq!(
            mock.calls().len(),
            4,
            "nothing written after a refused edit"
        );
    }

    #[test]
    fn handler_errors_pass_through() {
        let mock = MockServer::new("http://fake.test", |_, _| Err(Error::Timeout));
        assert_eq!(mock.server().get("/").unwrap_err(), Error::Timeout);
    }

    #[test]
    fn a_request_without_credentials_is_marked_for_the_fake() {
        // The fake answers 401 to anything that would carry the admin's credentials on the
        // sign-in path, as a server that refuses a mixed-up sign-in would.
        let mock = MockServer::new("http://fake.test", |_, request| {
            match (request.target(), request.sends_credentials()) {
                ("/login", false) => Response::from_json(200, &serde_json::json!({"ok": true})),
                ("/login", true) => Ok(Response::new(401)),
                _ => Ok(Response::new(204)),
            }
        });
        let server = mock.server();
        let answer: serde_json::Value = server
            .send_json_without_credentials(Request::post("/login"))
            .unwrap();
        assert_eq!(answer["ok"], true);
        assert_eq!(
            server.post_empty("/login").unwrap_err(),
            Error::Unauthorized
        );
        let calls = mock.calls();
        assert!(!calls[0].request.sends_credentials());
        assert!(calls[1].request.sends_credentials());
        assert!(format!("{:?}", calls[0].request).contains("credentials: false"));
    }
}

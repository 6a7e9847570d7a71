//! The `server` resource of the `host` interface: a plugin's only way to the network.
//!
//! Policy, enforced here and reported as typed `http-error`s (never traps):
//! - `server.request` reaches only the configured server's origin, under its base path; the
//!   target must be a path (`/…`), never an absolute or protocol-relative URL.
//! - `server.fetch` reaches only extra hosts the manifest declared, at their default origin or
//!   the per-server override.
//! - Credentials are injected by the host per the manifest's auth scheme; the plugin cannot set
//!   or override the credential header / query parameter, `Host`, or hop-by-hop headers.
//! - Redirects are followed by the host only within the same origin (at most
//!   [`MAX_REDIRECTS`]); a redirect elsewhere is handed back unfollowed. Every hop counts
//!   against the call's request budget.
//! - Response bodies are streamed and aborted past the size cap (`too-large`).
//! - Nothing here logs a credential: URLs are logged without their query, reqwest errors are
//!   stripped of their URL, headers are never logged.

use super::bindings::host::{self, HttpError, Method};
use super::call::CallState;
use super::types::{AuthScheme, Manifest, ServerContext};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::Resource;

/// Same-origin redirects followed per request.
pub const MAX_REDIRECTS: usize = 5;
/// Most headers a plugin may set on one request.
const MAX_HEADERS: usize = 64;
/// Longest request target.
const MAX_TARGET_LEN: usize = 8192;

/// Headers only the host sets.
const FORBIDDEN_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
    "proxy-authenticate",
    "proxy-connection",
];

/// The host-side value behind a `server` resource handle.
pub struct ServerHandle {
    pub(crate) ctx: Arc<ServerContext>,
}

/// What every call shares: the HTTP clients and the limits.
pub(crate) struct HttpShared {
    strict: reqwest::Client,
    insecure: reqwest::Client,
    /// Clients that also trust a server's private CA, one per distinct CA text (by its SHA-256),
    /// made on first use: a TLS client is costly to build, and servers usually share one CA.
    with_ca: std::sync::Mutex<std::collections::HashMap<[u8; 32], reqwest::Client>>,
    /// The timeout the clients are built with (for the ones made later).
    timeout: Duration,
    /// For extra hosts at the origin the plugin's manifest chose: https only, and every
    /// resolved address is checked at connect time (see [`PublicOnly`]).
    public: reqwest::Client,
    pub(crate) max_response_bytes: u64,
    /// Session tokens of servers whose connector uses `session` auth, by [`session_key`]. Kept
    /// in memory only: a restart signs in again.
    sessions: std::sync::Mutex<std::collections::HashMap<[u8; 32], Arc<str>>>,
}

/// Most session tokens kept; past it the cache starts afresh (servers sign in again).
const MAX_SESSIONS: usize = 1024;
/// Most private-CA clients kept; past it the cache starts afresh (they are made again).
const MAX_CA_CLIENTS: usize = 64;

/// A client builder with the settings every client of the plugin host has.
fn client_builder(timeout: Duration) -> reqwest::ClientBuilder {
    // Proxy environment variables are ignored: a proxy would resolve names itself, out of
    // reach of the address checks, and would see every credential.
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .user_agent(concat!("zondarr/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
}

/// Why `ip` may not be reached at an origin a plugin chose itself: loopback, link-local (cloud
/// metadata at 169.254.169.254), private, unique-local, shared (CGNAT), unspecified, broadcast
/// or multicast. `None` for a public address.
pub(crate) fn local_address(ip: std::net::IpAddr) -> Option<&'static str> {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if v4.is_private() {
                Some("private")
            } else if o[0] == 100 && (64..128).contains(&o[1]) {
                Some("shared (CGNAT)")
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || o[0] == 0 {
                Some("unspecified, broadcast or multicast")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return local_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if first & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if first & 0xfe00 == 0xfc00 {
                Some("unique-local")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("unspecified or multicast")
            } else {
                None
            }
        }
    }
}

/// A resolver that drops local and private addresses, so a name chosen by a plugin cannot be
/// pointed (even by DNS rebinding: the check is made when the connection is made) at the
/// admin's network or the cloud metadata service.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<std::net::SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| local_address(a.ip()).is_none())
                .collect();
            if public.is_empty() {
                let why = all
                    .first()
                    .and_then(|a| local_address(a.ip()))
                    .unwrap_or("no");
                return Err(format!(
                    "{host} resolves only to {why} addresses, which a plugin may not reach on its own"
                )
                .into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

impl HttpShared {
    pub(crate) fn new(timeout: Duration, max_response_bytes: u64) -> anyhow::Result<Self> {
        let builder = || client_builder(timeout);
        Ok(Self {
            strict: builder().build()?,
            insecure: builder().danger_accept_invalid_certs(true).build()?,
            with_ca: Default::default(),
            timeout,
            public: builder()
                .https_only(true)
                .dns_resolver(Arc::new(PublicOnly))
                .build()?,
            max_response_bytes,
            sessions: Default::default(),
        })
    }

    /// The client that trusts the private CA certificates in `pem` besides the public roots:
    /// the cached one for this CA text, or a new one.
    fn client_with_ca(&self, pem: &str) -> Result<reqwest::Client, HttpError> {
        use sha2::Digest;
        let key: [u8; 32] = sha2::Sha256::digest(pem.as_bytes()).into();
        let mut clients = self
            .with_ca
            .lock()
            .map_err(|_| HttpError::Transport("the TLS client cache is unusable".into()))?;
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        // The text was checked when the admin saved it; failing here means it was edited in
        // the database by hand.
        let unusable = || HttpError::Transport("the server's CA certificate cannot be used".into());
        let mut builder = client_builder(self.timeout);
        for der in crate::server_ca::parse(pem).map_err(|_| unusable())? {
            let certificate = reqwest::Certificate::from_der(&der).map_err(|_| unusable())?;
            builder = builder.add_root_certificate(certificate);
        }
        let client = builder.build().map_err(|_| unusable())?;
        if clients.len() >= MAX_CA_CLIENTS {
            clients.clear();
        }
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// Private-CA clients made so far (for tests of the cache).
    #[cfg(test)]
    fn ca_clients(&self) -> usize {
        self.with_ca.lock().map_or(0, |c| c.len())
    }

    /// Clients with reqwest's defaults, for the inert host that never runs a plugin.
    pub(crate) fn unusable() -> Self {
        Self {
            strict: reqwest::Client::new(),
            insecure: reqwest::Client::new(),
            with_ca: Default::default(),
            timeout: Duration::ZERO,
            public: reqwest::Client::new(),
            max_response_bytes: 0,
            sessions: Default::default(),
        }
    }
}

/// Which origin a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dest<'a> {
    /// The configured server.
    Server,
    /// The configured server, without the server's credentials
    /// (`server.request-without-credentials`).
    ServerBare,
    /// A declared extra host, by id.
    Extra(&'a str),
}

/// A request that passed the policy and may be sent.
#[derive(Debug)]
pub(crate) struct Planned {
    method: reqwest::Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    credential: Credential,
    trust: Trust,
    /// An origin the plugin chose (an extra host without the admin's override): https only,
    /// public addresses only.
    public_only: bool,
    /// The path every request and followed redirect must stay under (the server's base path,
    /// `/` for extra hosts), with a trailing `/`.
    scope: String,
}

/// Which certificates a request's TLS connection accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Trust {
    /// The public roots.
    Public,
    /// Any certificate (the server's `accept_invalid_certs`).
    AnyCertificate,
    /// The public roots and the server's private CA certificates (PEM).
    PrivateCa(Arc<str>),
}

#[derive(Debug, Clone)]
enum Credential {
    None,
    Header(HeaderName, HeaderValue),
    Query(String, String),
}

impl Credential {
    fn apply(&self, url: &mut Url, headers: &mut HeaderMap) {
        match self {
            Credential::None => {}
            Credential::Header(name, value) => {
                headers.insert(name.clone(), value.clone());
            }
            Credential::Query(param, value) => {
                let kept: Vec<(String, String)> = url
                    .query_pairs()
                    .filter(|(k, _)| k != param.as_str())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                url.query_pairs_mut()
                    .clear()
                    .extend_pairs(kept)
                    .append_pair(param, value);
            }
        }
    }
}

fn parse_origin(s: &str) -> Option<Url> {
    let url = Url::parse(s).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    Some(url)
}

/// Whether `path` (a request path without its query) has a `.` or `..` segment, also when
/// percent-encoded (once or twice, `%2e%2e`, `%252e`) or split by an encoded `/` or `\`: a
/// reverse proxy in front of the server may decode and normalise it, sending the request, with
/// the server's credential, to another application.
pub(crate) fn has_dot_segment(path: &str) -> bool {
    let mut text = path.to_owned();
    for _ in 0..3 {
        if text.split(['/', '\\']).any(|seg| seg == "." || seg == "..") {
            return true;
        }
        let decoded = percent_decode(&text);
        if decoded == text {
            return false;
        }
        text = decoded;
    }
    // Still encoded after three rounds: nothing legitimate looks like that.
    true
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(v) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `url` is inside `scope` (a path ending in `/`) and free of dot segments.
fn in_scope(url: &Url, scope: &str) -> bool {
    let path = url.path();
    (path.starts_with(scope) || format!("{path}/") == scope) && !has_dot_segment(path)
}

/// [`plan_with_session`] for a connector without `session` auth.
#[cfg(test)]
pub(crate) fn plan(
    ctx: &ServerContext,
    manifest: &Manifest,
    dest: Dest<'_>,
    req: host::Request,
) -> Result<Planned, String> {
    plan_with_session(ctx, manifest, dest, req, None)
}

/// Check `req` against the policy and build what to send; `session` is the current token for
/// `session` auth. `Err` is the `denied` reason.
pub(crate) fn plan_with_session(
    ctx: &ServerContext,
    manifest: &Manifest,
    dest: Dest<'_>,
    req: host::Request,
    session: Option<&str>,
) -> Result<Planned, String> {
    let (base, credentials, trust, public_only) = match dest {
        // The server's own base URL was typed by the admin: allowed wherever it points, with the
        // trust the admin chose for it. A CA certificate wins over `accept_invalid_certs` (the
        // domain refuses both at once; verifying is the safe reading).
        Dest::Server | Dest::ServerBare => {
            let base =
                parse_origin(&ctx.base_url).ok_or("the server URL is not a valid http(s) URL")?;
            let trust = match &ctx.ca_certificate {
                Some(pem) => Trust::PrivateCa(pem.clone()),
                None if ctx.accept_invalid_certs => Trust::AnyCertificate,
                None => Trust::Public,
            };
            (base, dest == Dest::Server, trust, false)
        }
        Dest::Extra(id) => {
            let declared = manifest
                .extra_host(id)
                .ok_or_else(|| format!("`{id}` is not an extra host declared in the manifest"))?;
            // An origin the admin set for this server is the admin's exact approval; the
            // manifest's own default must be https and public.
            let overridden = ctx.extra_host_origins.get(id);
            let origin = overridden.map_or(declared.origin.as_str(), String::as_str);
            let base = parse_origin(origin).ok_or_else(|| {
                format!("the origin configured for `{id}` is not a valid http(s) origin")
            })?;
            let public_only = overridden.is_none();
            if public_only {
                if base.scheme() != "https" {
                    return Err(format!(
                        "the extra host `{id}` must use https (an admin can set another origin for it in the server's settings)"
                    ));
                }
                let literal = base
                    .host_str()
                    .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
                    .and_then(|h| h.parse::<std::net::IpAddr>().ok());
                if let Some(why) = literal.and_then(local_address) {
                    return Err(format!(
                        "the extra host `{id}` is a {why} address, which a plugin may not reach on its own (an admin can set it in the server's settings)"
                    ));
                }
            }
            // Extra hosts never share the server's trust: public roots only.
            (base, declared.send_credentials, Trust::Public, public_only)
        }
    };

    let target = req.target.as_str();
    if !target.starts_with('/') || target.starts_with("//") {
        return Err("the target must be a path starting with `/`, not a URL".into());
    }
    if target.len() > MAX_TARGET_LEN {
        return Err("the target is too long".into());
    }
    if target
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\' || c == '#')
    {
        return Err("the target contains characters that are not allowed in a path".into());
    }

    // Origin and base path of the destination, then the target appended to the path. Dot
    // segments (`/../x`, `%2e%2e`) are refused before the URL parser would resolve them.
    let target_path = target.split('?').next().unwrap_or_default();
    if has_dot_segment(target_path) {
        return Err("the target contains `.` or `..` path segments (also percent-encoded)".into());
    }
    let origin = base.origin().ascii_serialization();
    let prefix = if matches!(dest, Dest::Server | Dest::ServerBare) {
        base.path().trim_end_matches('/')
    } else {
        ""
    };
    let scope = format!("{prefix}/");
    let mut url = Url::parse(&format!("{origin}{prefix}{target}"))
        .map_err(|_| "the target is not a valid path".to_owned())?;
    if url.origin() != base.origin() {
        return Err("the target leaves the allowed origin".into());
    }
    if !in_scope(&url, &scope) {
        return Err("the target leaves the server's base path".into());
    }

    let credential = if credentials {
        credential_for(ctx, &manifest.auth, session)
    } else {
        Credential::None
    };
    // A plugin that sets the credential header itself (e.g. Jellyfin's sign-in with a user's
    // password, or a logout with that session's token) sends its own value for this one request
    // and the server's secret is simply not attached. The plugin never sees the secret either way.
    let credential = match credential {
        Credential::Header(cred, _)
            if req
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(cred.as_str())) =>
        {
            Credential::None
        }
        other => other,
    };

    if req.headers.len() > MAX_HEADERS {
        return Err(format!("at most {MAX_HEADERS} headers may be set"));
    }
    let mut headers = HeaderMap::new();
    for (name, value) in req.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`{}` is not a valid header name", name.escape_debug()))?;
        if FORBIDDEN_HEADERS.contains(&name.as_str()) {
            return Err(format!("the header `{name}` is set by the daemon"));
        }
        let value = HeaderValue::from_str(&value)
            .map_err(|_| format!("the value of header `{name}` is not valid"))?;
        headers.append(name, value);
    }
    if let Credential::Query(param, _) = &credential
        && url.query_pairs().any(|(k, _)| k == param.as_str())
    {
        return Err(format!(
            "the query parameter `{param}` carries the server's credentials and is set by the daemon"
        ));
    }
    credential.apply(&mut url, &mut headers);

    let method = match req.method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
        Method::Head => reqwest::Method::HEAD,
    };
    Ok(Planned {
        method,
        url,
        headers,
        body: req.body,
        credential,
        trust,
        public_only,
        scope,
    })
}

/// The credential to inject, or none when a referenced secret is not configured (the server
/// then answers 401 and the connector reports `unauthorized`).
fn credential_for(ctx: &ServerContext, auth: &AuthScheme, session: Option<&str>) -> Credential {
    match auth {
        AuthScheme::None => Credential::None,
        AuthScheme::Session {
            header,
            value_template,
            ..
        } => {
            let value =
                session.and_then(|token| fill_template(value_template, |_| Some(token.to_owned())));
            match (
                HeaderName::from_bytes(header.as_bytes()),
                value.map(|v| HeaderValue::from_str(&v)),
            ) {
                (Ok(name), Some(Ok(mut value))) => {
                    value.set_sensitive(true);
                    Credential::Header(name, value)
                }
                _ => Credential::None,
            }
        }
        AuthScheme::Header {
            name,
            value_template,
        } => {
            let Some(value) = fill_template(value_template, |key| {
                ctx.secrets.get(key).map(|s| s.expose().to_owned())
            }) else {
                return Credential::None;
            };
            match (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                (Ok(name), Ok(mut value)) => {
                    value.set_sensitive(true);
                    Credential::Header(name, value)
                }
                _ => Credential::None,
            }
        }
        AuthScheme::Query { param, field } => match ctx.secrets.get(field) {
            Some(secret) => Credential::Query(param.clone(), secret.expose().to_owned()),
            None => Credential::None,
        },
    }
}

/// Replace every `{key}` in `template`; `None` when a key has no value or a brace is unbalanced.
pub(crate) fn fill_template(
    template: &str,
    mut value: impl FnMut(&str) -> Option<String>,
) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        out.push_str(&value(&after[..close])?);
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

/// The placeholders of a template (for manifest validation); `None` if malformed.
pub(crate) fn template_keys(template: &str) -> Option<Vec<String>> {
    let mut keys = Vec::new();
    fill_template(template, |k| {
        keys.push(k.to_owned());
        Some(String::new())
    })?;
    Some(keys)
}

/// Send a planned request, following same-origin redirects, with the budget and size cap.
pub(crate) async fn send(
    shared: &HttpShared,
    budget: &mut RequestBudget,
    plugin: &str,
    planned: Planned,
) -> Result<host::Response, HttpError> {
    let Planned {
        mut method,
        mut url,
        headers,
        mut body,
        credential,
        trust,
        public_only,
        scope,
    } = planned;
    let client = match trust {
        _ if public_only => shared.public.clone(),
        Trust::AnyCertificate => shared.insecure.clone(),
        Trust::PrivateCa(pem) => shared.client_with_ca(&pem)?,
        Trust::Public => shared.strict.clone(),
    };
    let origin = url.origin();
    let mut hops = 0;
    loop {
        budget.take()?;
        let started = Instant::now();
        let mut builder = client
            .request(method.clone(), url.clone())
            .headers(headers.clone());
        if let Some(b) = &body {
            builder = builder.body(b.clone());
        }
        let resp = builder.send().await.map_err(transport_error)?;
        let status = resp.status();
        tracing::debug!(
            plugin,
            method = %method,
            origin = %origin.ascii_serialization(),
            path = url.path(),
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "plugin http request"
        );

        if status.is_redirection() && hops < MAX_REDIRECTS {
            let next = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|loc| url.join(loc).ok());
            // Followed only within the origin and under the base path; anything else is handed
            // back to the plugin unfollowed, so the credential goes nowhere else.
            if let Some(mut next) = next
                && next.origin() == origin
                && in_scope(&next, &scope)
            {
                hops += 1;
                // 303 always, and 301/302 after a POST, become a GET without body (as browsers
                // do); 307/308 repeat the request as it was.
                let code = status.as_u16();
                if code == 303 || (matches!(code, 301 | 302) && method == reqwest::Method::POST) {
                    method = reqwest::Method::GET;
                    body = None;
                }
                let mut ignored = HeaderMap::new();
                credential.apply(&mut next, &mut ignored);
                url = next;
                continue;
            }
        }
        return read_response(resp, shared.max_response_bytes).await;
    }
}

async fn read_response(mut resp: reqwest::Response, cap: u64) -> Result<host::Response, HttpError> {
    if resp.content_length().is_some_and(|len| len > cap) {
        return Err(HttpError::TooLarge);
    }
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport_error)? {
        if (body.len() + chunk.len()) as u64 > cap {
            return Err(HttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(host::Response {
        status,
        headers,
        body,
    })
}

fn transport_error(e: reqwest::Error) -> HttpError {
    if e.is_timeout() {
        return HttpError::Timeout;
    }
    // The URL may carry a query credential: never let it into a message.
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    HttpError::Transport(text)
}

/// HTTP requests a call may still make.
#[derive(Debug)]
pub(crate) struct RequestBudget {
    pub(crate) made: u32,
    pub(crate) max: u32,
}

impl RequestBudget {
    fn take(&mut self) -> Result<(), HttpError> {
        if self.made >= self.max {
            return Err(HttpError::BudgetExhausted);
        }
        self.made += 1;
        Ok(())
    }
}

impl CallState {
    fn server_ctx(&self, handle: &Resource<ServerHandle>) -> wasmtime::Result<Arc<ServerContext>> {
        Ok(self.table.get(handle)?.ctx.clone())
    }

    async fn outbound(
        &mut self,
        handle: Resource<ServerHandle>,
        dest: Dest<'_>,
        req: host::Request,
    ) -> wasmtime::Result<Result<host::Response, HttpError>> {
        // Charge the guest's CPU time up to here before anything waits.
        if self.cpu_charge() {
            return Err(self.cpu_budget_error());
        }
        let ctx = self.server_ctx(&handle)?;
        let Some(manifest) = self.io.manifest.clone() else {
            return Ok(Err(HttpError::Denied(
                "no network access while the plugin is being loaded".into(),
            )));
        };
        // `session` auth: the token of this server, signing in first when there is none.
        let session = match self.session_for(&ctx, &manifest, dest).await {
            Ok(session) => session,
            Err(SessionFailure::Answer(response)) => return Ok(Ok(response)),
            Err(SessionFailure::Http(e)) => return Ok(Err(e)),
        };
        let retry = session.as_ref().map(|_| req.clone());
        let response = match self
            .plan_and_send(&ctx, &manifest, dest, req, session.as_ref())
            .await
        {
            Ok(response) => response,
            Err(e) => return Ok(Err(e)),
        };
        // A 401 with a session token: the session ended on the server. Sign in again once and
        // repeat the request (a 401 means the server did not act on it).
        let (Some((key, _)), Some(req)) = (session, retry) else {
            return Ok(Ok(response));
        };
        if response.status != 401 {
            return Ok(Ok(response));
        }
        self.io.http.forget_session(&key);
        let session = match self.sign_in(&ctx, &manifest, key).await {
            Ok(session) => session,
            Err(SessionFailure::Answer(response)) => return Ok(Ok(response)),
            Err(SessionFailure::Http(e)) => return Ok(Err(e)),
        };
        Ok(self
            .plan_and_send(&ctx, &manifest, dest, req, Some(&session))
            .await)
    }

    /// Check a request against the policy and send it. A refusal costs budget and is logged
    /// (at most a few per call).
    async fn plan_and_send(
        &mut self,
        ctx: &ServerContext,
        manifest: &Manifest,
        dest: Dest<'_>,
        req: host::Request,
        session: Option<&([u8; 32], Arc<str>)>,
    ) -> Result<host::Response, HttpError> {
        let token = session.map(|(_, token)| &**token);
        let planned = match self
            .reach_approved(ctx, dest)
            .and_then(|()| plan_with_session(ctx, manifest, dest, req, token))
        {
            Ok(p) => p,
            Err(reason) => {
                // A denied request costs budget like a sent one, and only the first few of a
                // call are logged, so a plugin cannot flood the log or spin on refusals.
                self.io.denied_logged += 1;
                let plugin = self.io.plugin_id.clone();
                let reason = super::host_log::escape(&reason).into_owned();
                match self.io.denied_logged {
                    n if n <= MAX_DENIED_LOGGED => {
                        tracing::warn!(plugin = %plugin, %reason, "plugin request denied")
                    }
                    n if n == MAX_DENIED_LOGGED + 1 => tracing::warn!(
                        plugin = %plugin,
                        "more requests of this call were denied; they are not logged"
                    ),
                    _ => tracing::debug!(plugin = %plugin, %reason, "plugin request denied"),
                }
                self.io.budget.take()?;
                return Err(HttpError::Denied(reason));
            }
        };
        let shared = self.io.http.clone();
        let plugin = self.io.plugin_id.clone();
        let response = send(&shared, &mut self.io.budget, &plugin, planned).await;
        // The wait was not guest CPU time: the guest resumes here.
        self.cpu_resume();
        response
    }

    /// An extra host at the origin the plugin chose is reachable only once an admin approved
    /// this plugin version's network reach (bundled plugins and versions that reach no further
    /// than an approved one are); an origin the admin set in the server's settings is approved
    /// by that.
    fn reach_approved(&self, ctx: &ServerContext, dest: Dest<'_>) -> Result<(), String> {
        match dest {
            Dest::Extra(id)
                if !self.io.reach_approved && !ctx.extra_host_origins.contains_key(id) =>
            {
                Err(format!(
                    "the extra host `{id}` waits for an admin's approval of this plugin version \
                     (the plugins page, POST /api/v1/plugins/{plugin}/approve or `zondarr plugin \
                     approve {plugin}`), or an origin set for it in the server's settings",
                    plugin = self.io.plugin_id
                ))
            }
            _ => Ok(()),
        }
    }

    /// The session token for a request to `dest`, when the connector uses `session` auth and
    /// the request carries credentials: the cached one, or a new sign-in.
    async fn session_for(
        &mut self,
        ctx: &ServerContext,
        manifest: &Manifest,
        dest: Dest<'_>,
    ) -> Result<Option<([u8; 32], Arc<str>)>, SessionFailure> {
        let AuthScheme::Session { .. } = manifest.auth else {
            return Ok(None);
        };
        let credentials = match dest {
            Dest::Server => true,
            Dest::ServerBare => false,
            Dest::Extra(id) => manifest.extra_host(id).is_some_and(|h| h.send_credentials),
        };
        if !credentials {
            return Ok(None);
        }
        let Some(key) = session_key(&self.io.plugin_id, ctx, manifest) else {
            // A field the sign-in needs is not configured: send without, the server answers 401.
            return Ok(None);
        };
        if let Some(token) = self.io.http.session(&key) {
            return Ok(Some((key, token)));
        }
        self.sign_in(ctx, manifest, key).await.map(Some)
    }

    /// Sign in as the manifest's `session` auth says, and keep the token.
    async fn sign_in(
        &mut self,
        ctx: &ServerContext,
        manifest: &Manifest,
        key: [u8; 32],
    ) -> Result<([u8; 32], Arc<str>), SessionFailure> {
        let AuthScheme::Session {
            login_path,
            token_pointer,
            ..
        } = &manifest.auth
        else {
            return Err(SessionFailure::Http(HttpError::Denied(
                "the connector does not use session auth".into(),
            )));
        };
        let body = session_body(ctx, manifest).ok_or_else(|| {
            SessionFailure::Http(HttpError::Denied(
                "a field the sign-in needs is not configured".into(),
            ))
        })?;
        let login = host::Request {
            method: Method::Post,
            target: login_path.clone(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("accept".into(), "application/json".into()),
            ],
            body: Some(body),
        };
        let response = self
            .plan_and_send(ctx, manifest, Dest::ServerBare, login, None)
            .await
            .map_err(SessionFailure::Http)?;
        if !(200..300).contains(&response.status) {
            // The server refused the sign-in (401 for wrong credentials): the plugin sees that
            // answer, and reports it as it would a refused credential.
            return Err(SessionFailure::Answer(response));
        }
        let Ok(answer) = serde_json::from_slice::<serde_json::Value>(&response.body) else {
            // Not JSON at all (a web page: the URL is not the server's API): the plugin sees that
            // answer and explains it as it would for any request.
            return Err(SessionFailure::Answer(response));
        };
        let token = Some(answer)
            .and_then(|v| {
                v.pointer(token_pointer)
                    .and_then(|t| t.as_str())
                    .map(str::to_owned)
            })
            .filter(|t| !t.is_empty() && t.len() <= 8192)
            .ok_or_else(|| {
                SessionFailure::Http(HttpError::Transport(format!(
                    "the server's sign-in answer has no session token at `{token_pointer}`"
                )))
            })?;
        let token: Arc<str> = Arc::from(token);
        self.io.http.keep_session(key, token.clone());
        Ok((key, token))
    }
}

/// Why a `session` sign-in gave no token.
enum SessionFailure {
    /// The server answered the sign-in with a refusal, handed to the plugin as the answer.
    Answer(host::Response),
    /// No answer.
    Http(HttpError),
}

/// The JSON body of the `session` sign-in, from the server's configuration and secrets; `None`
/// when a field is not configured.
fn session_body(ctx: &ServerContext, manifest: &Manifest) -> Option<Vec<u8>> {
    let AuthScheme::Session { body_fields, .. } = &manifest.auth else {
        return None;
    };
    let mut body = serde_json::Map::new();
    for (member, key) in body_fields {
        let value = match ctx.secrets.get(key) {
            Some(secret) => secret.expose().to_owned(),
            None => ctx.config.get(key)?.clone(),
        };
        body.insert(member.clone(), serde_json::Value::String(value));
    }
    serde_json::to_vec(&body).ok()
}

/// The cache key of a server's session: a hash of the plugin, the server's URL and the sign-in
/// body, so changed credentials or another server never reuse a token.
fn session_key(plugin: &str, ctx: &ServerContext, manifest: &Manifest) -> Option<[u8; 32]> {
    use sha2::Digest;
    let body = session_body(ctx, manifest)?;
    let mut hash = sha2::Sha256::new();
    for part in [plugin.as_bytes(), ctx.base_url.as_bytes(), &body] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    Some(hash.finalize().into())
}

impl HttpShared {
    fn session(&self, key: &[u8; 32]) -> Option<Arc<str>> {
        self.sessions.lock().ok()?.get(key).cloned()
    }

    fn keep_session(&self, key: [u8; 32], token: Arc<str>) {
        if let Ok(mut sessions) = self.sessions.lock() {
            if sessions.len() >= MAX_SESSIONS {
                sessions.clear();
            }
            sessions.insert(key, token);
        }
    }

    fn forget_session(&self, key: &[u8; 32]) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(key);
        }
    }
}

/// Denied requests logged per call at `warn`.
const MAX_DENIED_LOGGED: u32 = 3;

impl host::HostServer for CallState {
    async fn base_url(&mut self, handle: Resource<ServerHandle>) -> wasmtime::Result<String> {
        Ok(self.server_ctx(&handle)?.base_url.clone())
    }

    async fn config(
        &mut self,
        handle: Resource<ServerHandle>,
        key: String,
    ) -> wasmtime::Result<Option<String>> {
        let ctx = self.server_ctx(&handle)?;
        let field = self
            .io
            .manifest
            .as_deref()
            .and_then(|m| m.config_field(&key).cloned());
        if field
            .as_ref()
            .is_some_and(|f| f.kind == super::types::ValueKind::Secret)
        {
            return Ok(None);
        }
        Ok(ctx.config.get(&key).cloned().or_else(|| {
            field
                .and_then(|f| f.default_value)
                .map(|v| v.to_config_text())
        }))
    }

    async fn request(
        &mut self,
        handle: Resource<ServerHandle>,
        req: host::Request,
    ) -> wasmtime::Result<Result<host::Response, HttpError>> {
        self.outbound(handle, Dest::Server, req).await
    }

    async fn request_without_credentials(
        &mut self,
        handle: Resource<ServerHandle>,
        req: host::Request,
    ) -> wasmtime::Result<Result<host::Response, HttpError>> {
        self.outbound(handle, Dest::ServerBare, req).await
    }

    async fn fetch(
        &mut self,
        handle: Resource<ServerHandle>,
        host_id: String,
        req: host::Request,
    ) -> wasmtime::Result<Result<host::Response, HttpError>> {
        self.outbound(handle, Dest::Extra(&host_id), req).await
    }

    async fn drop(&mut self, handle: Resource<ServerHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::types::{Brand, ExtraHost, JoinFlow};

    fn manifest(auth: AuthScheme) -> Manifest {
        Manifest {
            id: "t".into(),
            name: "T".into(),
            version: "1.0.0".into(),
            description: String::new(),
            capabilities: vec![],
            permissions: vec![],
            join_flow: JoinFlow::Credentials,
            config: vec![],
            auth,
            extra_hosts: vec![ExtraHost {
                id: "tv".into(),
                origin: "https://plex.example".into(),
                send_credentials: false,
                purpose: "x".into(),
            }],
            brand: Brand::default(),
            join_help: Default::default(),
        }
    }

    fn get(target: &str) -> host::Request {
        host::Request {
            method: Method::Get,
            target: target.into(),
            headers: vec![],
            body: None,
        }
    }

    fn ctx() -> ServerContext {
        ServerContext::new("http://10.0.0.5:8096/jf/").with_secret("api_key", "s3cret")
    }

    fn header_auth() -> AuthScheme {
        AuthScheme::Header {
            name: "X-Emby-Token".into(),
            value_template: "Token=\"{api_key}\"".into(),
        }
    }

    #[test]
    fn joins_the_base_path_and_injects_the_header() {
        let p = plan(
            &ctx(),
            &manifest(header_auth()),
            Dest::Server,
            get("/Users?x=1"),
        )
        .unwrap();
        assert_eq!(p.url.as_str(), "http://10.0.0.5:8096/jf/Users?x=1");
        assert_eq!(p.headers.get("x-emby-token").unwrap(), "Token=\"s3cret\"");
        assert!(format!("{p:?}").contains("Sensitive") || !format!("{p:?}").contains("s3cret"));
    }

    #[test]
    fn refuses_absolute_and_protocol_relative_targets() {
        for t in [
            "http://evil.example/x",
            "//evil.example/x",
            "Users",
            "/\\evil.example",
            "/a b",
            "",
        ] {
            let err = plan(&ctx(), &manifest(AuthScheme::None), Dest::Server, get(t)).unwrap_err();
            assert!(err.contains("target"), "{t}: {err}");
        }
    }

    #[test]
    fn refuses_escapes_from_the_base_path() {
        for t in [
            "/../x",
            "/a/../../x",
            "/%2e%2e/x",
            "/%2E%2e/x",
            "/.%2e/x",
            "/%252e%252e/x",
            "/..%2fx",
            "/a/..%5cx",
            "/./x",
            "/..",
        ] {
            let err = plan(&ctx(), &manifest(AuthScheme::None), Dest::Server, get(t)).unwrap_err();
            assert!(
                err.contains("`..`") || err.contains("base path"),
                "{t}: {err}"
            );
        }
        // Dots inside a name are fine, and so is a query that mentions `..`.
        for t in ["/a..b/x", "/file.json", "/x?path=../y", "/..."] {
            plan(&ctx(), &manifest(AuthScheme::None), Dest::Server, get(t))
                .unwrap_or_else(|e| panic!("{t}: {e}"));
        }
        let p = plan(&ctx(), &manifest(AuthScheme::None), Dest::Server, get("/x")).unwrap();
        assert!(in_scope(&p.url, &p.scope));
        let outside = Url::parse("http://10.0.0.5:8096/other/x").unwrap();
        assert!(
            !in_scope(&outside, &p.scope),
            "a redirect out of /jf/ is not followed"
        );
        let sibling = Url::parse("http://10.0.0.5:8096/jfx/x").unwrap();
        assert!(!in_scope(&sibling, &p.scope));
    }

    #[test]
    fn refuses_forbidden_headers() {
        for h in ["Host", "content-length", "Transfer-Encoding"] {
            let mut req = get("/");
            req.headers.push((h.into(), "v".into()));
            let err = plan(&ctx(), &manifest(header_auth()), Dest::Server, req).unwrap_err();
            assert!(err.contains("set by the daemon"), "{h}: {err}");
        }
    }

    #[test]
    fn a_plugin_set_credential_header_replaces_the_injected_one() {
        let mut req = get("/Users/AuthenticateByName");
        req.headers
            .push(("x-emby-token".into(), "the user's own".into()));
        let p = plan(&ctx(), &manifest(header_auth()), Dest::Server, req).unwrap();
        let values: Vec<_> = p.headers.get_all("x-emby-token").iter().collect();
        assert_eq!(
            values,
            ["the user's own"],
            "exactly one header, the plugin's, never the secret"
        );
    }

    #[test]
    fn query_credentials_are_appended_and_cannot_be_preset() {
        let auth = AuthScheme::Query {
            param: "X-Plex-Token".into(),
            field: "api_key".into(),
        };
        let p = plan(
            &ctx(),
            &manifest(auth.clone()),
            Dest::Server,
            get("/library?a=1"),
        )
        .unwrap();
        assert_eq!(p.url.query(), Some("a=1&X-Plex-Token=s3cret"));
        let err = plan(
            &ctx(),
            &manifest(auth),
            Dest::Server,
            get("/x?X-Plex-Token=mine"),
        )
        .unwrap_err();
        assert!(err.contains("query parameter"), "{err}");
    }

    #[test]
    fn extra_hosts_must_be_declared_and_get_no_credentials_unless_asked() {
        let m = manifest(header_auth());
        let err = plan(&ctx(), &m, Dest::Extra("other"), get("/")).unwrap_err();
        assert!(err.contains("not an extra host"), "{err}");
        let p = plan(&ctx(), &m, Dest::Extra("tv"), get("/api/v2/pins")).unwrap();
        assert_eq!(p.url.as_str(), "https://plex.example/api/v2/pins");
        assert!(p.headers.is_empty());
        let overridden = ctx().with_extra_host("tv", "http://127.0.0.1:4000");
        let p = plan(&overridden, &m, Dest::Extra("tv"), get("/x")).unwrap();
        assert_eq!(p.url.as_str(), "http://127.0.0.1:4000/x");
    }

    /// Issue 17 item 11: the server's private CA (and `accept_invalid_certs`) apply to its own
    /// origin only; extra hosts, even ones the admin set, keep the public roots.
    #[test]
    fn a_private_ca_is_trusted_for_the_server_origin_only() {
        let m = manifest(header_auth());
        let ca = zondarr_fakes::tls::TestCa::new("Home CA");
        let mut with_ca = ctx().with_extra_host("tv", "https://127.0.0.1:4000");
        with_ca.ca_certificate = Some(Arc::from(ca.pem()));
        for dest in [Dest::Server, Dest::ServerBare] {
            let p = plan(&with_ca, &m, dest, get("/x")).unwrap();
            assert_eq!(p.trust, Trust::PrivateCa(Arc::from(ca.pem())), "{dest:?}");
        }
        for context in [with_ca.clone(), ctx()] {
            let p = plan(&context, &m, Dest::Extra("tv"), get("/x")).unwrap();
            assert_eq!(p.trust, Trust::Public);
        }
        let mut insecure = ctx();
        insecure.accept_invalid_certs = true;
        assert_eq!(
            plan(&insecure, &m, Dest::Server, get("/x")).unwrap().trust,
            Trust::AnyCertificate
        );
        assert_eq!(
            plan(&insecure, &m, Dest::Extra("tv"), get("/x"))
                .unwrap()
                .trust,
            Trust::Public
        );
        // Both set (the domain refuses that): the certificate is still verified.
        insecure.ca_certificate = Some(Arc::from(ca.pem()));
        assert_eq!(
            plan(&insecure, &m, Dest::Server, get("/x")).unwrap().trust,
            Trust::PrivateCa(Arc::from(ca.pem()))
        );
        assert_eq!(
            plan(&ctx(), &m, Dest::Server, get("/x")).unwrap().trust,
            Trust::Public
        );
    }

    /// One client per distinct CA, made once and reused (not one per call).
    #[test]
    fn private_ca_clients_are_cached_per_ca() {
        let shared = HttpShared::new(Duration::from_secs(5), 1024).unwrap();
        let one = zondarr_fakes::tls::TestCa::new("One");
        let two = zondarr_fakes::tls::TestCa::new("Two");
        shared.client_with_ca(one.pem()).unwrap();
        shared.client_with_ca(one.pem()).unwrap();
        assert_eq!(shared.ca_clients(), 1);
        shared.client_with_ca(two.pem()).unwrap();
        shared.client_with_ca(one.pem()).unwrap();
        assert_eq!(shared.ca_clients(), 2);
        assert!(shared.client_with_ca("not a certificate").is_err());
        assert_eq!(shared.ca_clients(), 2);
    }

    #[test]
    fn extra_hosts_chosen_by_the_plugin_must_be_https_and_public() {
        let mut m = manifest(AuthScheme::None);
        for (origin, why) in [
            ("http://plex.example", "https"),
            ("https://169.254.169.254", "link-local"),
            ("https://127.0.0.1:8443", "loopback"),
            ("https://10.1.2.3", "private"),
            ("https://192.168.1.2", "private"),
            ("https://[::1]", "loopback"),
            ("https://[fd00::1]", "unique-local"),
            ("https://[::ffff:169.254.169.254]", "link-local"),
        ] {
            m.extra_hosts[0].origin = origin.into();
            let err = plan(&ctx(), &m, Dest::Extra("tv"), get("/")).unwrap_err();
            assert!(err.contains(why), "{origin}: {err}");
            // The admin's override for this server is allowed wherever it points.
            let approved = ctx().with_extra_host("tv", origin);
            plan(&approved, &m, Dest::Extra("tv"), get("/")).unwrap();
        }
        m.extra_hosts[0].origin = "https://8.8.8.8".into();
        assert!(
            plan(&ctx(), &m, Dest::Extra("tv"), get("/"))
                .unwrap()
                .public_only
        );
    }

    #[test]
    fn missing_secret_means_no_credential() {
        let c = ServerContext::new("http://h");
        let p = plan(&c, &manifest(header_auth()), Dest::Server, get("/")).unwrap();
        assert!(p.headers.is_empty());
    }

    #[test]
    fn templates() {
        assert_eq!(
            template_keys("MediaBrowser Token=\"{api_key}\"").unwrap(),
            vec!["api_key"]
        );
        assert_eq!(template_keys("{a}{b}").unwrap(), vec!["a", "b"]);
        assert!(template_keys("{a").is_none());
        assert!(template_keys("a}").is_none());
    }
}

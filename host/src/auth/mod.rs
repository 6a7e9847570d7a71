//! Admin access: who is calling (session cookie or API key), whether they may change things
//! (API key scope, CSRF for cookies), brute-force protection (rate limits and lockout), and the
//! shared security state.
//!
//! Authentication is an extractor ([`Admin`]), applied as a layer to the whole admin router so no
//! admin route can forget it; handlers that need the identity take the same extractor, which then
//! reuses the layer's result instead of authenticating twice.

pub mod account;
pub mod api_keys;
pub mod external;
pub mod password;
pub mod sign_in;
pub mod totp;

use crate::config::{Config, SecurityConfig};
use crate::crypto::{Crypto, constant_time_eq, random_token, token_hash};
use crate::db::{self, Db, audit, time};
use crate::error::{Error, ErrorCode, Result};
use crate::state::AppState;
use arc_swap::ArcSwap;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, Method};
use chrono::{Duration as ChronoDuration, Utc};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Name of the session cookie over plain HTTP.
pub const COOKIE_NAME: &str = "zondarr_session";
/// Name over HTTPS: the `__Host-` prefix makes browsers refuse it unless Secure, path `/`, and
/// no Domain, so a sibling subdomain cannot plant or read it.
pub const SECURE_COOKIE_NAME: &str = "__Host-zondarr_session";
/// Header carrying the synchronizer token when there is no `Origin`.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Prefix of every API key.
pub const API_KEY_PREFIX: &str = "zk_";

/// A keyed limiter with "retry after" in whole seconds. Its rate can be changed at run time
/// (live settings): the state starts afresh at the new rate.
pub struct Limiter {
    inner: ArcSwap<(u32, DefaultKeyedRateLimiter<String>)>,
    clock: DefaultClock,
}

fn keyed_per_minute(n: u32) -> (u32, DefaultKeyedRateLimiter<String>) {
    let rate = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    (n, DefaultKeyedRateLimiter::keyed(Quota::per_minute(rate)))
}

impl Limiter {
    fn per_minute(n: u32) -> Limiter {
        Limiter {
            inner: ArcSwap::from_pointee(keyed_per_minute(n)),
            clock: DefaultClock::default(),
        }
    }

    /// Change the rate (no-op when unchanged).
    pub fn set_per_minute(&self, n: u32) {
        if self.inner.load().0 != n {
            self.inner.store(Arc::new(keyed_per_minute(n)));
        }
    }

    /// Take one unit for `key`; `Err(seconds)` when over the limit. An IPv6 address counts
    /// under its /64 ([`limit_key`]).
    pub fn check(&self, key: &str) -> std::result::Result<(), u64> {
        self.inner
            .load()
            .1
            .check_key(&limit_key(key))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_secs().max(1))
    }

    /// Drop state of keys that are back to full capacity (bounded memory).
    pub fn prune(&self) {
        let inner = self.inner.load();
        inner.1.retain_recent();
        inner.1.shrink_to_fit();
    }
}

/// Password hashes computed at the same time (each takes Argon2's 19 MiB for about a tenth of a
/// second of one core). Two keep both cores of a small machine busy without starving the rest.
pub const HASHES_AT_ONCE: usize = 2;
/// Sign-ins that may wait for (or be in) a hashing thread; beyond that they are answered `UNAVAILABLE` with
/// `Retry-After` at once, so a flood of bad logins neither queues without bound nor grows memory.
pub const HASH_QUEUE: usize = 32;

/// A bounded queue in front of the password hasher: `slots` dedicated threads compute the
/// hashes, at most `queue` requests wait, and the rest are refused at once.
///
/// Dedicated threads rather than tokio's blocking pool: each thread that allocates Argon2's
/// 19 MiB gets a malloc arena that keeps the memory, and the blocking pool has hundreds of
/// threads, so a flood of sign-ins grew the daemon by over a gigabyte even with only two hashes
/// running at a time (measured by `a_flood_of_bad_sign_ins_is_queued_within_bounds`).
pub struct HashGate {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<HashJob>>,
    waiting: std::sync::atomic::AtomicUsize,
    queue: usize,
}

type HashJob = Box<dyn FnOnce() + Send>;

impl HashGate {
    fn new(slots: usize, queue: usize) -> HashGate {
        let (tx, rx) = std::sync::mpsc::channel::<HashJob>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for n in 0..slots {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("zondarr-hash-{n}"))
                .spawn(move || {
                    loop {
                        let job = {
                            let guard =
                                rx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                            guard.recv()
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password-hashing thread");
            }
        }
        HashGate {
            jobs: std::sync::Mutex::new(tx),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            queue,
        }
    }

    /// Run `work` (a password hash or verification) on a hashing thread; `UNAVAILABLE` (retry
    /// after 1 s) when `queue` requests are already waiting.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let before = self.waiting.fetch_add(1, Ordering::AcqRel);
        if before >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::new(
                ErrorCode::Unavailable,
                "too many sign-ins at once; try again in a moment",
            )
            .with_retry_after(1));
        }
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(Box::new(move || {
                let _ = done_tx.send(work());
            }));
        let result = match sent {
            Ok(()) => done_rx
                .await
                .map_err(|_| Error::Internal(anyhow::anyhow!("a password-hashing thread stopped"))),
            Err(_) => Err(Error::Internal(anyhow::anyhow!(
                "no password-hashing thread runs"
            ))),
        };
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        result
    }

    /// Requests waiting for or in a hashing thread now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }
}

/// Security state shared by the whole daemon.
pub struct Security {
    /// Sealing of secrets at rest.
    pub crypto: Crypto,
    config: ArcSwap<SecurityConfig>,
    public_url: ArcSwap<String>,
    public_url_locked: bool,
    setup_done: AtomicBool,
    /// Login and second-factor attempts per client address.
    pub login_ip: Limiter,
    /// Login attempts per username.
    pub login_account: Limiter,
    /// Invitation checks per client address.
    pub join_ip: Limiter,
    /// Join-page polls (account links, redemptions in progress) per client address.
    pub join_poll: Limiter,
    /// Wizard step answers per client address.
    pub join_wizard: Limiter,
    /// Redemption attempts per client address.
    pub join_redeem: Limiter,
    /// A real Argon2id hash verified for unknown usernames so their timing matches known ones.
    dummy_hash: String,
    /// Bounds the password hashes (19 MiB of Argon2 memory each) computed at once.
    pub hashing: HashGate,
    trust_forwarded_for: bool,
    trusted_proxies: Vec<Cidr>,
    /// When a request last came through a proxy that is not trusted (Unix seconds; 0: never).
    untrusted_proxy_at: std::sync::atomic::AtomicU64,
    /// Bumped whenever sessions end or API keys are revoked, so long-lived responses (the log
    /// stream) check at once whether their credential still holds.
    revocations: tokio::sync::watch::Sender<u64>,
    /// Admin sign-in links in progress: challenge → (server id, the connector's PIN id, expiry).
    /// In memory on purpose: a restart simply asks the admin to start again.
    links: std::sync::Mutex<std::collections::HashMap<String, (i64, String, std::time::Instant)>>,
}

impl Security {
    /// Build from the effective configuration (its public URL includes one set at setup or in
    /// the settings, see [`crate::settings::effective`]) and the setup state in the database.
    pub async fn new(config: &Config, secret_key: &str, db: &Db) -> anyhow::Result<Security> {
        let admins = db
            .run(|c| Ok(db::auth::count_admins(c)?))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let locked = config.public_url_is_explicit();
        let url = config.public_url.clone();
        let dummy_hash = password::dummy_hash()?;
        let s = &config.security;
        Ok(Security {
            crypto: Crypto::new(secret_key),
            config: ArcSwap::from_pointee(s.clone()),
            public_url: ArcSwap::from_pointee(url),
            public_url_locked: locked,
            setup_done: AtomicBool::new(admins > 0),
            login_ip: Limiter::per_minute(s.login_per_ip_per_minute),
            login_account: Limiter::per_minute(s.login_per_account_per_minute),
            join_ip: Limiter::per_minute(s.join_per_ip_per_minute),
            join_poll: Limiter::per_minute(s.join_poll_per_ip_per_minute),
            join_wizard: Limiter::per_minute(s.join_wizard_per_ip_per_minute),
            join_redeem: Limiter::per_minute(s.join_redeem_per_ip_per_minute),
            dummy_hash,
            hashing: HashGate::new(HASHES_AT_ONCE, HASH_QUEUE),
            trust_forwarded_for: config.http.trust_forwarded_for,
            trusted_proxies: config.http.trusted_proxies.clone(),
            untrusted_proxy_at: std::sync::atomic::AtomicU64::new(0),
            revocations: tokio::sync::watch::channel(0).0,
            links: std::sync::Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// Say that sessions ended or API keys were revoked (see [`Security::watch_revocations`]).
    pub fn credentials_revoked(&self) {
        self.revocations.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes whenever [`Security::credentials_revoked`] is called.
    pub fn watch_revocations(&self) -> tokio::sync::watch::Receiver<u64> {
        self.revocations.subscribe()
    }

    /// Record a request that carried `X-Forwarded-For` from a private address that is not a
    /// trusted proxy: Zondarr sits behind a reverse proxy it was not told about, so every visitor
    /// shares the proxy's address and its rate limits. Logged loudly at most every ten minutes,
    /// and shown on the dashboard ([`Security::untrusted_proxy_seen`]).
    fn note_untrusted_proxy(&self, peer: IpAddr) {
        let now = Utc::now().timestamp().max(1) as u64;
        let last = self.untrusted_proxy_at.swap(now, Ordering::AcqRel);
        if now.saturating_sub(last) >= 600 {
            tracing::warn!(
                proxy = %peer,
                "requests arrive through a reverse proxy that is not trusted: every visitor \
                 shares its address and its rate limits; add it to http.trusted_proxies \
                 (docs/reverse-proxy.md)"
            );
        }
    }

    /// When a request last came through an untrusted reverse proxy (within the last day).
    pub fn untrusted_proxy_seen(&self) -> Option<chrono::DateTime<Utc>> {
        let at = self.untrusted_proxy_at.load(Ordering::Acquire);
        let at = chrono::DateTime::from_timestamp(i64::try_from(at).ok()?, 0)?;
        (at > Utc::now() - ChronoDuration::days(1)).then_some(at)
    }

    /// The current settings (they can change at run time).
    pub fn config(&self) -> Arc<SecurityConfig> {
        self.config.load_full()
    }

    /// Apply changed settings: lifetimes, cookie mode, lockout and rate limits, public URL.
    pub fn apply(&self, config: &Config) {
        let s = &config.security;
        self.login_ip.set_per_minute(s.login_per_ip_per_minute);
        self.login_account
            .set_per_minute(s.login_per_account_per_minute);
        self.join_ip.set_per_minute(s.join_per_ip_per_minute);
        self.join_poll.set_per_minute(s.join_poll_per_ip_per_minute);
        self.join_wizard
            .set_per_minute(s.join_wizard_per_ip_per_minute);
        self.join_redeem
            .set_per_minute(s.join_redeem_per_ip_per_minute);
        self.config.store(Arc::new(s.clone()));
        self.set_public_url(&config.public_url);
    }

    /// The public URL (no trailing slash).
    pub fn public_url(&self) -> Arc<String> {
        self.public_url.load_full()
    }

    /// Change the public URL unless the configuration locks it; returns whether it changed.
    pub fn set_public_url(&self, url: &str) -> bool {
        if self.public_url_locked {
            return false;
        }
        self.public_url
            .store(Arc::new(url.trim_end_matches('/').to_owned()));
        true
    }

    /// Whether the configuration fixes the public URL.
    pub fn public_url_locked(&self) -> bool {
        self.public_url_locked
    }

    /// The origin (`scheme://host[:port]`) browsers send for pages under the public URL.
    pub fn public_origin(&self) -> String {
        origin_of(&self.public_url())
    }

    /// Whether cookies get `Secure` (and the `__Host-` name).
    pub fn secure_cookies(&self) -> bool {
        match self.config().secure_cookies.as_str() {
            "always" => true,
            "never" => false,
            _ => self.public_url().starts_with("https://"),
        }
    }

    /// Whether first-run setup is done.
    pub fn setup_done(&self) -> bool {
        self.setup_done.load(Ordering::Acquire)
    }

    /// Whether setup is done, looking at the database when the cached answer is "no" (an admin
    /// may have been created from the CLI while the daemon runs).
    pub async fn refresh_setup(&self, db: &Db) -> Result<bool> {
        if self.setup_done() {
            return Ok(true);
        }
        let admins = db.run(|c| Ok(db::auth::count_admins(c)?)).await?;
        if admins > 0 {
            self.mark_setup_done();
        }
        Ok(admins > 0)
    }

    /// Record that setup completed.
    pub fn mark_setup_done(&self) {
        self.setup_done.store(true, Ordering::Release);
    }

    /// The dummy hash for unknown usernames.
    pub fn dummy_hash(&self) -> &str {
        &self.dummy_hash
    }

    /// The cookie name in use.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookies() {
            SECURE_COOKIE_NAME
        } else {
            COOKIE_NAME
        }
    }

    /// `Set-Cookie` value for a new session token.
    pub fn session_cookie(&self, token: &str) -> String {
        let max_age = self.config().session_absolute_hours * 3600;
        let secure = if self.secure_cookies() {
            "; Secure"
        } else {
            ""
        };
        format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
            self.cookie_name()
        )
    }

    /// `Set-Cookie` value that deletes the session cookie.
    pub fn clear_cookie(&self) -> String {
        let secure = if self.secure_cookies() {
            "; Secure"
        } else {
            ""
        };
        format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
            self.cookie_name()
        )
    }

    /// Remember an admin sign-in link (bounded: expired ones are dropped, at most 1,000 kept).
    pub fn remember_link(
        &self,
        challenge: &str,
        server_id: i64,
        pin_id: String,
        expires: std::time::Instant,
    ) {
        let mut links = self
            .links
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = std::time::Instant::now();
        links.retain(|_, (_, _, exp)| *exp > now);
        if links.len() >= 1000 {
            return;
        }
        links.insert(challenge.to_owned(), (server_id, pin_id, expires));
    }

    /// The PIN id of a live sign-in link for `server_id`.
    pub fn link(&self, challenge: &str, server_id: i64) -> Option<String> {
        let links = self
            .links
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        links
            .get(challenge)
            .filter(|(server, _, exp)| *server == server_id && *exp > std::time::Instant::now())
            .map(|(_, pin, _)| pin.clone())
    }

    /// Forget a sign-in link (used or expired).
    pub fn forget_link(&self, challenge: &str) {
        self.links
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(challenge);
    }

    /// Drop idle rate-limiter state.
    pub fn prune_limiters(&self) {
        self.login_ip.prune();
        self.login_account.prune();
        self.join_ip.prune();
    }
}

/// `scheme://host[:port]` of a URL (lower-cased scheme and host).
pub fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    )
}

/// An IP address range (`10.0.0.0/8`, `fd00::/8`) or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parse `addr` or `addr/prefix`.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (
                a.trim().parse::<IpAddr>().ok()?,
                Some(p.trim().parse::<u8>().ok()?),
            ),
            None => (text.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr {
            network: addr,
            prefix,
        })
    }

    /// Whether `addr` lies in the range.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.network, canonical(addr)) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether an address is one a reverse proxy on the same host or network would connect from.
fn is_private(addr: IpAddr) -> bool {
    match canonical(addr) {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The key a per-address rate limit counts under: the address itself, or for IPv6 its /64 (one
/// customer's network, which hands out addresses from it at will).
pub fn limit_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        // An IPv4 address parses only from its one canonical spelling (no leading zeros), so
        // the text is the key as it is (this runs on every invitee's request).
        Ok(IpAddr::V4(_)) => ip.to_owned(),
        Ok(addr) => keyed(canonical(addr)),
        Err(_) => ip.to_owned(),
    }
}

/// The limiter key of a parsed address.
fn keyed(addr: IpAddr) -> String {
    match addr {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        v4 => v4.to_string(),
    }
}

/// `X-Forwarded-For`, named once rather than looked up by its text on every request.
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The client's address.
///
/// Without trusted proxies it is the connecting peer. When the peer is a trusted proxy
/// (`http.trusted_proxies`, or any peer with `http.trust_forwarded_for`), `X-Forwarded-For` is
/// read from the right: each proxy appends the address it saw, so the right-most entry that is
/// not itself a trusted proxy is the client (entries further left were written by the client and
/// prove nothing).
#[derive(Debug, Clone)]
pub struct ClientIp(pub Option<String>);

impl ClientIp {
    /// The client address of a request from `peer` with these headers.
    pub fn resolve(
        security: &Security,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
    ) -> Option<IpAddr> {
        let peer = peer.map(canonical)?;
        let trusted = |addr: IpAddr| security.trusted_proxies.iter().any(|c| c.contains(addr));
        let forwarded = || {
            headers
                .get_all(&X_FORWARDED_FOR)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
                .map(canonical)
        };
        if security.trust_forwarded_for || trusted(peer) {
            // The right-most entry that is not a trusted proxy; when all are, the left-most.
            let (mut first, mut client) = (None, None);
            for addr in forwarded() {
                first.get_or_insert(addr);
                if !trusted(addr) {
                    client = Some(addr);
                }
            }
            return client.or(first).or(Some(peer));
        }
        if is_private(peer) && forwarded().next().is_some() {
            security.note_untrusted_proxy(peer);
        }
        Some(peer)
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| ci.0.ip());
        Ok(ClientIp(
            ClientIp::resolve(state.security(), peer, &parts.headers).map(|a| a.to_string()),
        ))
    }
}

/// An API key's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Read-only: any write answers `FORBIDDEN_SCOPE`.
    Read,
    /// Everything the admin can do.
    Admin,
}

impl Scope {
    /// Parse `read` / `admin`.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }
}

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Via {
    /// A session cookie.
    Session {
        /// Session row id.
        id: i64,
        /// The session's synchronizer token.
        csrf_token: String,
    },
    /// An API key.
    ApiKey {
        /// Key row id.
        id: i64,
        /// Public prefix.
        prefix: String,
        /// Scope.
        scope: Scope,
    },
}

/// An authenticated admin. Rejects with `SETUP_REQUIRED`, `UNAUTHENTICATED`, `FORBIDDEN_SCOPE`
/// (read key on a write) or `CSRF_FAILED` (cookie write without matching Origin or token).
#[derive(Debug, Clone)]
pub struct Admin {
    /// Admin row id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// Session or API key.
    pub via: Via,
    /// Client address.
    pub ip: Option<String>,
}

impl Admin {
    /// The actor string for the audit log.
    pub fn actor(&self) -> String {
        match &self.via {
            Via::Session { .. } => format!("admin:{}", self.username),
            Via::ApiKey { prefix, .. } => format!("api-key:{prefix}"),
        }
    }

    /// The current session id, if authenticated by cookie.
    pub fn session_id(&self) -> Option<i64> {
        match self.via {
            Via::Session { id, .. } => Some(id),
            Via::ApiKey { .. } => None,
        }
    }

    /// Append an audit event with this admin as the actor.
    pub async fn audit(
        &self,
        db: &Db,
        action: &'static str,
        target: Option<String>,
        outcome: audit::Outcome,
        detail: Option<serde_json::Value>,
    ) -> Result<()> {
        let actor = self.actor();
        let ip = self.ip.clone();
        db.write(move |tx| {
            audit::append(
                tx,
                &audit::NewEvent {
                    actor: &actor,
                    ip: ip.as_deref(),
                    action,
                    target: target.as_deref(),
                    outcome,
                    detail,
                },
            )?;
            Ok(())
        })
        .await
    }
}

/// Who does something, for the audit log: `admin:<name>` or `api-key:<prefix>`, and from where.
/// Domain functions take this instead of the HTTP extractor.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The actor string of the audit log.
    pub name: String,
    /// Client address.
    pub ip: Option<String>,
}

impl From<&Admin> for Actor {
    fn from(admin: &Admin) -> Actor {
        Actor {
            name: admin.actor(),
            ip: admin.ip.clone(),
        }
    }
}

impl Actor {
    /// Append an audit event with this actor (inside a write transaction).
    pub fn audit(
        &self,
        tx: &rusqlite::Connection,
        action: &'static str,
        target: Option<&str>,
        detail: Option<serde_json::Value>,
    ) -> rusqlite::Result<()> {
        audit::append(
            tx,
            &audit::NewEvent {
                actor: &self.name,
                ip: self.ip.as_deref(),
                action,
                target,
                outcome: audit::Outcome::Success,
                detail,
            },
        )
    }
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The session token from the `Cookie` header, under the cookie name of the scheme in use only
/// ([`Security::cookie_name`]): over https a plain `zondarr_session` (which a sibling subdomain or
/// a man in the middle on http could have planted) is ignored, so the `__Host-` guarantees hold.
pub fn session_token(headers: &HeaderMap, cookie_name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == cookie_name)
                .then(|| value.trim().to_owned())
                .filter(|v| !v.is_empty())
        })
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        if let Some(admin) = parts.extensions.get::<Admin>() {
            return Ok(admin.clone());
        }
        let security = state.security();
        if !security.refresh_setup(state.db()).await? {
            return Err(Error::new(
                ErrorCode::SetupRequired,
                "first-run setup is required: POST /api/v1/setup",
            ));
        }
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let write = is_write(&parts.method);

        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|v| v.trim().to_owned());
        let admin = if let Some(key) = bearer {
            // Every credential a request carries must hold: a valid key does not excuse a
            // session cookie that is unknown or expired (the request is refused, not silently
            // served as the key), so a client never acts under an identity it did not mean.
            if let Some(token) = session_token(&parts.headers, security.cookie_name()) {
                authenticate_session(state, token, ip.clone()).await?;
            }
            let admin = authenticate_api_key(state.db(), key, ip).await?;
            if write
                && matches!(
                    admin.via,
                    Via::ApiKey {
                        scope: Scope::Read,
                        ..
                    }
                )
            {
                return Err(Error::new(
                    ErrorCode::ForbiddenScope,
                    "this API key is read-only",
                ));
            }
            admin
        } else if let Some(token) = session_token(&parts.headers, security.cookie_name()) {
            let (admin, csrf) = authenticate_session(state, token, ip).await?;
            if write {
                check_csrf(&parts.headers, &security.public_origin(), &csrf)?;
            }
            admin
        } else {
            return Err(unauthenticated());
        };
        parts.extensions.insert(admin.clone());
        Ok(admin)
    }
}

fn unauthenticated() -> Error {
    Error::new(
        ErrorCode::Unauthenticated,
        "sign in, or send an API key as `Authorization: Bearer <key>`",
    )
}

/// Cookie-authenticated writes need an `Origin` equal to the public URL's origin, or (for HTML
/// forms and clients that send no Origin) the session's synchronizer token in `x-csrf-token`.
pub fn check_csrf(headers: &HeaderMap, public_origin: &str, csrf_token: &str) -> Result<()> {
    let refused = || {
        Error::new(
            ErrorCode::CsrfFailed,
            "cross-site request refused: send it from the Zondarr origin or with the x-csrf-token header",
        )
    };
    if let Some(origin) = headers.get("origin") {
        let origin = origin.to_str().map_err(|_| refused())?;
        return if origin.eq_ignore_ascii_case(public_origin) {
            Ok(())
        } else {
            Err(refused())
        };
    }
    match headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        Some(t) if constant_time_eq(t.as_bytes(), csrf_token.as_bytes()) => Ok(()),
        _ => Err(refused()),
    }
}

pub async fn authenticate_session(
    state: &AppState,
    token: String,
    ip: Option<String>,
) -> Result<(Admin, String)> {
    let cfg = state.security().config();
    let now = Utc::now();
    // Read on the pool; the single writer is used only when something changes (an expired
    // session to delete, or a last-seen time more than 30 s old), so authenticated requests do
    // not queue behind each other.
    let found = state
        .db()
        .run(move |c| {
            let Some(session) = db::auth::session_by_hash(c, &token_hash(&token))? else {
                return Ok(None);
            };
            let admin = db::auth::admin_by_id(c, session.admin_id)?;
            Ok(Some((session, admin)))
        })
        .await?;
    let Some((session, admin)) = found else {
        return Err(unauthenticated());
    };
    let seen = time::parse(&session.last_seen_at);
    let idle_ok = seen
        .is_some_and(|seen| now - seen < ChronoDuration::minutes(cfg.session_idle_minutes as i64));
    let absolute_ok = time::parse(&session.expires_at).is_some_and(|exp| now < exp);
    if !idle_ok || !absolute_ok {
        let (admin_id, id) = (session.admin_id, session.id);
        state
            .db()
            .write(move |tx| Ok(db::auth::delete_session(tx, admin_id, id)?))
            .await?;
        return Err(Error::new(
            ErrorCode::Unauthenticated,
            "the session expired; sign in again",
        ));
    }
    let Some(admin) = admin else {
        return Err(unauthenticated());
    };
    if seen.is_none_or(|seen| now - seen > ChronoDuration::seconds(30)) {
        let id = session.id;
        state
            .db()
            .write(move |tx| Ok(db::auth::touch_session(tx, id)?))
            .await?;
    }
    Ok((
        Admin {
            id: admin.id,
            username: admin.username,
            via: Via::Session {
                id: session.id,
                csrf_token: session.csrf_token.clone(),
            },
            ip,
        },
        session.csrf_token,
    ))
}

/// Whether the credential `admin` authenticated with still holds: the session exists and has
/// not reached its absolute expiry, or the API key is neither revoked nor expired. Long-lived
/// responses (the log stream) ask this when credentials are revoked and every few seconds.
pub async fn still_valid(state: &AppState, admin: &Admin) -> bool {
    let (admin_id, via) = (admin.id, admin.via.clone());
    let now = Utc::now();
    state
        .db()
        .run(move |c| {
            Ok(match via {
                Via::Session { id, .. } => db::auth::sessions_of(c, admin_id)?
                    .iter()
                    .find(|s| s.id == id)
                    .and_then(|s| time::parse(&s.expires_at))
                    .is_some_and(|exp| now < exp),
                Via::ApiKey { id, .. } => db::auth::api_key_by_id(c, id)?.is_some_and(|k| {
                    k.revoked_at.is_none()
                        && k.expires_at
                            .as_deref()
                            .and_then(time::parse)
                            .is_none_or(|exp| now < exp)
                }),
            })
        })
        .await
        .unwrap_or(false)
}

/// Split `zk_<prefix>_<secret>`.
fn parse_api_key(key: &str) -> Option<(String, &str)> {
    let rest = key.strip_prefix(API_KEY_PREFIX)?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 8 && prefix.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty())
        .then(|| (format!("{API_KEY_PREFIX}{prefix}"), secret))
}

async fn authenticate_api_key(db: &Db, key: String, ip: Option<String>) -> Result<Admin> {
    let invalid = || {
        Error::new(
            ErrorCode::Unauthenticated,
            "the API key is invalid, revoked or expired",
        )
    };
    // Read on the pool; write only to record use (at most every 30 s per key).
    let (admin, touch) = db
        .run(move |c| {
            let (prefix, secret) = parse_api_key(&key).ok_or_else(invalid)?;
            let row = db::auth::api_key_by_prefix(c, &prefix)?.ok_or_else(invalid)?;
            if !constant_time_eq(&token_hash(secret), &row.secret_hash) || row.revoked_at.is_some()
            {
                return Err(invalid());
            }
            if row
                .expires_at
                .as_deref()
                .and_then(time::parse)
                .is_some_and(|exp| exp <= Utc::now())
            {
                return Err(invalid());
            }
            let scope = Scope::parse(&row.scope).ok_or_else(invalid)?;
            let admin = db::auth::admin_by_id(c, row.admin_id)?.ok_or_else(invalid)?;
            let touch = row
                .last_used_at
                .as_deref()
                .and_then(time::parse)
                .is_none_or(|t| Utc::now() - t > ChronoDuration::seconds(30));
            let admin = Admin {
                id: admin.id,
                username: admin.username,
                via: Via::ApiKey {
                    id: row.id,
                    prefix,
                    scope,
                },
                ip,
            };
            Ok((admin, touch.then_some(row.id)))
        })
        .await?;
    if let Some(id) = touch {
        db.write(move |tx| Ok(db::auth::touch_api_key(tx, id)?))
            .await?;
    }
    Ok(admin)
}

/// Create an API key; returns the row id and the full key (shown once).
pub fn new_api_key() -> (String, String, Vec<u8>) {
    let prefix = format!(
        "{API_KEY_PREFIX}{}",
        &hex::encode(token_hash(&random_token(16)))[..8]
    );
    let secret = random_token(32);
    let full = format!("{prefix}_{secret}");
    let hash = token_hash(&secret);
    (prefix, full, hash)
}

/// A new session: its id, the cookie token and the synchronizer (CSRF) token.
#[derive(Debug)]
pub struct IssuedSession {
    /// Row id.
    pub id: i64,
    /// Goes into the cookie only.
    pub token: String,
    /// Given to the client for `x-csrf-token` / form fields.
    pub csrf_token: String,
}

/// Issue a session for `admin_id`.
pub async fn issue_session(
    state: &AppState,
    admin_id: i64,
    ip: Option<String>,
    user_agent: Option<String>,
) -> Result<IssuedSession> {
    let token = random_token(32);
    let hash = token_hash(&token);
    let csrf_token = random_token(24);
    let expires =
        Utc::now() + ChronoDuration::hours(state.security().config().session_absolute_hours as i64);
    let csrf = csrf_token.clone();
    let id = state
        .db()
        .write(move |tx| {
            Ok(db::auth::insert_session(
                tx,
                &hash,
                admin_id,
                &csrf,
                expires,
                ip.as_deref(),
                user_agent.as_deref(),
            )?)
        })
        .await?;
    Ok(IssuedSession {
        id,
        token,
        csrf_token,
    })
}

/// Lockout check before a login attempt: `ACCOUNT_LOCKED` with `Retry-After` while locked.
pub fn check_locked(f: &db::auth::Failures) -> Result<()> {
    if let Some(until) = f.locked_until.as_deref().and_then(time::parse) {
        let left = (until - Utc::now()).num_seconds();
        if left > 0 {
            return Err(Error::new(
                ErrorCode::AccountLocked,
                "too many failed sign-ins; try again later",
            )
            .with_retry_after(left as u64));
        }
    }
    Ok(())
}

/// The key failed sign-ins are counted and locked under: the account *and* the client address
/// (an IPv6 address by its /64). Someone else's failures from elsewhere never lock the admin
/// out; brute force from one place is locked, and spread over many places it is bounded by the
/// per-address rate limits and the password hasher's queue (docs/security.md).
pub fn lock_key(username: &str, ip: Option<&str>) -> String {
    format!(
        "{}\u{1f}{}",
        username.trim().to_lowercase(),
        ip.map_or_else(|| "unknown".to_owned(), limit_key)
    )
}

/// Count a failed login or second factor; returns whether this failure locked the key.
///
/// Failures decay: after `lockout_max_secs` without a failure the count and the lockout
/// doubling start afresh, so an old incident does not make the next typo cost an hour.
pub fn record_failure(cfg: &SecurityConfig, f: &mut db::auth::Failures) -> bool {
    let quiet = f
        .last_failure_at
        .as_deref()
        .and_then(time::parse)
        .is_some_and(|at| Utc::now() - at > ChronoDuration::seconds(cfg.lockout_max_secs as i64));
    let locked_now = f
        .locked_until
        .as_deref()
        .and_then(time::parse)
        .is_some_and(|until| until > Utc::now());
    if quiet && !locked_now {
        f.failures = 0;
        f.lockouts = 0;
    }
    f.failures += 1;
    if f.failures < i64::from(cfg.lockout_after) {
        return false;
    }
    f.failures = 0;
    f.lockouts += 1;
    let factor = 1u64
        .checked_shl((f.lockouts - 1).clamp(0, 30) as u32)
        .unwrap_or(u64::MAX);
    let secs = cfg
        .lockout_base_secs
        .saturating_mul(factor)
        .min(cfg.lockout_max_secs);
    f.locked_until = Some(time::fmt(Utc::now() + ChronoDuration::seconds(secs as i64)));
    true
}

/// Append an audit event for an actor that is not an authenticated admin.
pub async fn audit_anonymous(
    db: &Db,
    actor: String,
    ip: Option<String>,
    action: &'static str,
    target: Option<String>,
    outcome: audit::Outcome,
    detail: Option<serde_json::Value>,
) -> Result<()> {
    db.write(move |tx| {
        audit::append(
            tx,
            &audit::NewEvent {
                actor: &actor,
                ip: ip.as_deref(),
                action,
                target: target.as_deref(),
                outcome,
                detail,
            },
        )?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn csrf_rules() {
        let origin = "https://media.example.org";
        assert!(
            check_csrf(
                &headers(&[("origin", "https://media.example.org")]),
                origin,
                "t"
            )
            .is_ok()
        );
        assert!(check_csrf(&headers(&[("origin", "https://evil.example")]), origin, "t").is_err());
        assert!(
            check_csrf(
                &headers(&[("origin", "https://evil.example"), (CSRF_HEADER, "t")]),
                origin,
                "t"
            )
            .is_err()
        );
        assert!(check_csrf(&headers(&[(CSRF_HEADER, "t")]), origin, "t").is_ok());
        assert!(check_csrf(&headers(&[(CSRF_HEADER, "x")]), origin, "t").is_err());
        assert!(check_csrf(&headers(&[]), origin, "t").is_err());
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://Media.Example.org/invite/"),
            "https://media.example.org"
        );
        assert_eq!(origin_of("http://127.0.0.1:8000"), "http://127.0.0.1:8000");
    }

    #[test]
    fn cookie_parsing() {
        let h = headers(&[("cookie", "a=b; zondarr_session=tok123; c=d")]);
        assert_eq!(session_token(&h, COOKIE_NAME).as_deref(), Some("tok123"));
        assert_eq!(
            session_token(&h, SECURE_COOKIE_NAME),
            None,
            "not over https"
        );
        let h = headers(&[("cookie", "__Host-zondarr_session=tok9")]);
        assert_eq!(session_token(&h, COOKIE_NAME), None, "not over http");
        assert_eq!(
            session_token(&headers(&[("cookie", "zondarr_session=")]), COOKIE_NAME),
            None
        );
    }

    #[test]
    fn api_key_format() {
        let (prefix, full, hash) = new_api_key();
        let (p, secret) = parse_api_key(&full).unwrap();
        assert_eq!(p, prefix);
        assert_eq!(token_hash(secret), hash);
        assert!(parse_api_key("zk_short_x").is_none());
        assert!(parse_api_key("nope").is_none());
    }

    #[test]
    fn lockout_doubles_up_to_the_cap() {
        let cfg = SecurityConfig {
            session_idle_minutes: 1,
            session_absolute_hours: 1,
            secure_cookies: "auto".into(),
            login_per_ip_per_minute: 1,
            login_per_account_per_minute: 1,
            join_per_ip_per_minute: 1,
            join_poll_per_ip_per_minute: 1,
            join_wizard_per_ip_per_minute: 1,
            join_redeem_per_ip_per_minute: 1,
            join_redeem_wait_secs: 1,
            lockout_after: 2,
            lockout_base_secs: 60,
            lockout_max_secs: 150,
            api_keys_create_admin_keys: false,
        };
        let mut f = db::auth::Failures::default();
        assert!(!record_failure(&cfg, &mut f));
        assert!(record_failure(&cfg, &mut f));
        assert!(check_locked(&f).is_err());
        let first = time::parse(f.locked_until.as_deref().unwrap()).unwrap() - Utc::now();
        assert!(first.num_seconds() <= 60 && first.num_seconds() >= 58);
        record_failure(&cfg, &mut f);
        record_failure(&cfg, &mut f);
        let second = time::parse(f.locked_until.as_deref().unwrap()).unwrap() - Utc::now();
        assert!(second.num_seconds() > 100 && second.num_seconds() <= 120);
        record_failure(&cfg, &mut f);
        record_failure(&cfg, &mut f);
        let third = time::parse(f.locked_until.as_deref().unwrap()).unwrap() - Utc::now();
        assert!(third.num_seconds() <= 150, "capped");
    }

    #[test]
    fn limit_keys_are_one_per_address_or_ipv6_network() {
        assert_eq!(limit_key("192.0.2.7"), "192.0.2.7");
        assert_eq!(limit_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(limit_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(limit_key("2001:DB8:1:2::9"), "2001:db8:1:2::/64");
        assert_eq!(limit_key("unknown"), "unknown");
        // The IPv4 key is the text as given because no other spelling of an address parses.
        for other in [
            "010.0.0.1",
            "10.0.0.01",
            "10.0.1",
            "0x0a.0.0.1",
            " 10.0.0.1",
        ] {
            assert!(other.parse::<IpAddr>().is_err(), "{other}");
        }
    }

    #[test]
    fn limiter_refuses_past_quota() {
        let l = Limiter::per_minute(2);
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        let wait = l.check("a").unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(l.check("b").is_ok(), "keys are independent");
    }
}

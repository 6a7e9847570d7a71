//! Configuration: one registry of every setting, layered defaults < `zondarr.toml` <
//! `ZONDARR_*` environment variables < command-line flags.
//!
//! Every key is declared once in [`SETTINGS`] with its type, default and documentation; the
//! loader, the error messages, `zondarr config check` and the README's reference table all come
//! from that list. Unknown keys and bad values are errors that name the key and what is allowed.
//! Secrets may also come from a file (`<key>_file` in TOML, `ZONDARR_<KEY>_FILE` in the
//! environment) and are masked whenever the configuration is printed.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Log filters the document describes: comma-separated directives, each a level or a target
/// (`zondarr::plugins`) with an optional `=level`.
const LOG_FILTER_PATTERN: &str = concat!(
    r"^\s*(?:(?:error|warn|info|debug|trace|off)|[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*",
    r"(?:=(?:error|warn|info|debug|trace|off))?)",
    r"(?:,(?:(?:error|warn|info|debug|trace|off)|[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*",
    r"(?:=(?:error|warn|info|debug|trace|off))?))*\s*$"
);

/// Whether `filter` has the shape of [`LOG_FILTER_PATTERN`] (written out, so the daemon needs no
/// regular-expression engine): directives separated by `,`, each a level, or a target of
/// `::`-separated identifiers with an optional `=level`.
fn is_simple_log_filter(filter: &str) -> bool {
    const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];
    let ident = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    filter.split(',').all(|directive| {
        if LEVELS.contains(&directive) {
            return true;
        }
        let (target, level) = match directive.split_once('=') {
            Some((t, l)) => (t, Some(l)),
            None => (directive, None),
        };
        level.is_none_or(|l| LEVELS.contains(&l)) && target.split("::").all(ident)
    })
}

/// The type and range of a setting.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Free text.
    Text,
    /// A secret string of at least `min_len` characters; masked when printed.
    Secret {
        /// Minimum length.
        min_len: usize,
    },
    /// `host:port` to listen on.
    SocketAddr,
    /// An absolute `http://` or `https://` URL without query or fragment.
    Url,
    /// A filesystem path.
    Path,
    /// A whole number in a range.
    Number {
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// `true` or `false`.
    Bool,
    /// One of a fixed list.
    Choice(&'static [&'static str]),
    /// A tracing filter directive such as `info` or `zondarr=debug,tower_http=info`.
    LogFilter,
    /// A colour written `#rrggbb`.
    Color,
    /// Comma-separated IP addresses or CIDR ranges, e.g. `10.0.0.0/8, 192.168.1.5`.
    AddressList,
}

impl Kind {
    /// What values are allowed, for error messages and docs.
    pub fn allowed(&self) -> String {
        match self {
            Kind::Text => "any text".into(),
            Kind::Secret { min_len } => format!("a secret of at least {min_len} characters"),
            Kind::SocketAddr => "an address like 127.0.0.1:8000 or [::1]:8000".into(),
            Kind::Url => "an absolute http:// or https:// URL".into(),
            Kind::Path => "a filesystem path".into(),
            Kind::Number { min, max } => format!("a whole number from {min} to {max}"),
            Kind::Bool => "true or false".into(),
            Kind::Choice(list) => format!("one of: {}", list.join(", ")),
            Kind::Color => "a colour like #3366cc".into(),
            Kind::AddressList => {
                "comma-separated addresses or CIDR ranges, like 10.0.0.0/8, 192.168.1.5".into()
            }
            Kind::LogFilter => {
                "a level (error, warn, info, debug, trace) or a filter like zondarr=debug,info"
                    .into()
            }
        }
    }

    /// An ECMA-262 pattern that every value [`Kind::validate`] accepts matches, and that refuses
    /// what it refuses where a pattern can say so: the OpenAPI document declares it, so clients
    /// learn the rule from the same place the daemon keeps it (a test checks both agree).
    pub fn pattern(&self) -> Option<&'static str> {
        match self {
            Kind::Text | Kind::Path => Some(r"\S"),
            Kind::Url => Some(r"^\s*https?://[^/?#@\s]+[^?#@\s]*\s*$"),
            Kind::Color => Some(r"^\s*#[0-9a-fA-F]{6}\s*$"),
            Kind::AddressList => Some(r"^[0-9A-Fa-f:.,/\s]+$"),
            Kind::LogFilter => Some(LOG_FILTER_PATTERN),
            _ => None,
        }
    }

    fn validate(&self, raw: &str) -> Result<String, String> {
        let value = raw.trim();
        match self {
            Kind::Text | Kind::Path => {
                if value.is_empty() {
                    return Err("must not be empty".into());
                }
            }
            Kind::Secret { min_len } => {
                if value.chars().count() < *min_len {
                    return Err(format!("is too short (at least {min_len} characters)"));
                }
            }
            Kind::SocketAddr => {
                value
                    .parse::<SocketAddr>()
                    .map_err(|_| "is not a valid address".to_string())?;
            }
            Kind::Url => {
                let rest = value
                    .strip_prefix("http://")
                    .or_else(|| value.strip_prefix("https://"))
                    .ok_or_else(|| "must start with http:// or https://".to_string())?;
                let host = rest.split('/').next().unwrap_or_default();
                if host.is_empty() || value.contains(['?', '#', ' ', '@']) || value.len() > 512 {
                    return Err(
                        "must be a URL with a host, without query, fragment or credentials, \
                         at most 512 characters"
                            .into(),
                    );
                }
                return Ok(value.trim_end_matches('/').to_owned());
            }
            Kind::Number { min, max } => {
                let n: u64 = value
                    .parse()
                    .map_err(|_| "is not a whole number".to_string())?;
                if n < *min || n > *max {
                    return Err(format!("is out of range ({n})"));
                }
            }
            Kind::Bool => {
                return match value.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => Ok("true".into()),
                    "false" | "0" | "no" | "off" => Ok("false".into()),
                    _ => Err("is not a boolean".into()),
                };
            }
            Kind::Choice(list) => {
                let lower = value.to_ascii_lowercase();
                if !list.contains(&lower.as_str()) {
                    return Err(format!("`{value}` is not allowed"));
                }
                return Ok(lower);
            }
            Kind::AddressList => {
                for item in value.split(',').map(str::trim) {
                    if crate::auth::Cidr::parse(item).is_none() {
                        return Err(format!("`{item}` is not an address or CIDR range"));
                    }
                }
            }
            Kind::Color => {
                let hex = value.strip_prefix('#').unwrap_or_default();
                if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err("is not a colour written #rrggbb".into());
                }
                return Ok(value.to_ascii_lowercase());
            }
            Kind::LogFilter => {
                if !is_simple_log_filter(value) {
                    return Err(
                        "must be comma-separated levels (error, warn, info, debug, trace, off) or \
                         targets with an optional =level, like zondarr=debug,info"
                            .into(),
                    );
                }
                tracing_subscriber::EnvFilter::builder()
                    .parse(value)
                    .map_err(|e| format!("is not a valid filter ({e})"))?;
            }
        }
        Ok(value.to_owned())
    }
}

/// One setting.
#[derive(Debug)]
pub struct Setting {
    /// Dotted key as written in `zondarr.toml`, e.g. `plugins.memory_mib`.
    pub key: &'static str,
    /// Type and range.
    pub kind: Kind,
    /// Default value; `None` when the default is computed (documented in `doc`).
    pub default: Option<&'static str>,
    /// One-line documentation.
    pub doc: &'static str,
    /// Command-line flag that sets it, if any.
    pub flag: Option<&'static str>,
}

impl Setting {
    /// The environment variable: `ZONDARR_` + the key upper-cased, dots as `_`.
    pub fn env_var(&self) -> String {
        format!(
            "ZONDARR_{}",
            self.key.replace('.', "_").to_ascii_uppercase()
        )
    }

    /// Whether the value is masked and may come from a file.
    pub fn is_secret(&self) -> bool {
        matches!(self.kind, Kind::Secret { .. })
    }
}

macro_rules! setting {
    ($key:literal, $kind:expr, $default:expr, $flag:expr, $doc:literal) => {
        Setting {
            key: $key,
            kind: $kind,
            default: $default,
            flag: $flag,
            doc: $doc,
        }
    };
}

/// Every setting the daemon reads. Keep in sync with [`Config::from_values`]; a test checks
/// that every key is consumed.
pub static SETTINGS: &[Setting] = &[
    setting!(
        "listen",
        Kind::SocketAddr,
        Some("127.0.0.1:8000"),
        Some("--listen"),
        "Address and port the HTTP server binds."
    ),
    setting!(
        "data_dir",
        Kind::Path,
        Some("./data"),
        Some("--data-dir"),
        "Folder for the database, secret key, plugins and caches. Environment or flag only."
    ),
    setting!(
        "public_url",
        Kind::Url,
        None,
        None,
        "URL people use to reach Zondarr (invite links, trusted origin). Default: http://<listen>."
    ),
    setting!(
        "ui.instance_name",
        Kind::Text,
        Some("Zondarr"),
        None,
        "Name shown at the top of every page and in page titles."
    ),
    setting!(
        "ui.accent_color",
        Kind::Color,
        None,
        None,
        "Accent colour of the pages (buttons, links), #rrggbb. Unset: the built-in blue."
    ),
    setting!(
        "ui.default_language",
        Kind::Choice(&["en", "de"]),
        Some("en"),
        None,
        "Language of the pages when the browser asks for none that Zondarr has."
    ),
    setting!(
        "secret_key",
        Kind::Secret { min_len: 32 },
        None,
        None,
        "Key that encrypts secrets at rest. Default: generated on first start into <data_dir>/secret.key (mode 0600)."
    ),
    setting!(
        "log.level",
        Kind::LogFilter,
        Some("info"),
        None,
        "Log filter; also ZONDARR_LOG. Examples: info, debug, zondarr=debug,info."
    ),
    setting!(
        "log.format",
        Kind::Choice(&["text", "json"]),
        Some("text"),
        Some("--log-format"),
        "Log output: human-readable text or one JSON object per line. An event logged while a request is served names its method, path and request id."
    ),
    setting!(
        "log.buffer_events",
        Kind::Number {
            min: 100,
            max: 100_000
        },
        Some("2000"),
        None,
        "Recent log events kept in memory for the live log stream (GET /api/v1/logs/stream) to replay."
    ),
    setting!(
        "metrics.token",
        Kind::Secret { min_len: 16 },
        None,
        None,
        "Bearer token GET /metrics requires. Unset: /metrics is open like /health (bind to loopback or protect it in the proxy)."
    ),
    setting!(
        "http.max_body_bytes",
        Kind::Number {
            min: 1024,
            max: 64 * 1024 * 1024
        },
        Some("1048576"),
        None,
        "Largest accepted request body, in bytes."
    ),
    setting!(
        "http.request_timeout_secs",
        Kind::Number { min: 1, max: 3600 },
        Some("60"),
        None,
        "Longest a request may take before it is answered with REQUEST_TIMEOUT."
    ),
    setting!(
        "http.shutdown_grace_secs",
        Kind::Number { min: 0, max: 3600 },
        Some("30"),
        None,
        "On SIGTERM or Ctrl-C, how long in-flight requests may still run."
    ),
    setting!(
        "http.trust_forwarded_for",
        Kind::Bool,
        Some("false"),
        None,
        "Believe the connecting peer's X-Forwarded-For (one reverse proxy you control, taking the right-most entry). Prefer http.trusted_proxies."
    ),
    setting!(
        "http.trusted_proxies",
        Kind::AddressList,
        None,
        None,
        "Reverse proxies whose X-Forwarded-For is believed: the client is the right-most address not in this list. Unset: none (see docs/reverse-proxy.md)."
    ),
    setting!(
        "database.pool_size",
        Kind::Number { min: 1, max: 64 },
        Some("8"),
        None,
        "SQLite connections in the pool."
    ),
    setting!(
        "database.busy_timeout_ms",
        Kind::Number {
            min: 0,
            max: 600_000
        },
        Some("5000"),
        None,
        "How long a connection waits for a lock before failing."
    ),
    setting!(
        "security.session_idle_minutes",
        Kind::Number {
            min: 1,
            max: 525_600
        },
        Some("720"),
        None,
        "An admin session ends after this many minutes without a request."
    ),
    setting!(
        "security.session_absolute_hours",
        Kind::Number { min: 1, max: 8760 },
        Some("168"),
        None,
        "An admin session ends this many hours after login, however active."
    ),
    setting!(
        "security.secure_cookies",
        Kind::Choice(&["auto", "always", "never"]),
        Some("auto"),
        None,
        "Mark cookies Secure: auto = when public_url is https."
    ),
    setting!(
        "security.login_per_ip_per_minute",
        Kind::Number {
            min: 1,
            max: 10_000
        },
        Some("10"),
        None,
        "Login and second-factor attempts allowed per client address per minute."
    ),
    setting!(
        "security.login_per_account_per_minute",
        Kind::Number {
            min: 1,
            max: 10_000
        },
        Some("5"),
        None,
        "Login attempts allowed per username per minute."
    ),
    setting!(
        "security.join_per_ip_per_minute",
        Kind::Number {
            min: 1,
            max: 10_000
        },
        Some("30"),
        None,
        "Invitation checks (opening a join link) allowed per client address per minute."
    ),
    setting!(
        "security.join_poll_per_ip_per_minute",
        Kind::Number {
            min: 1,
            max: 10_000
        },
        Some("120"),
        None,
        "Join-page polls (an account link or a redemption in progress) allowed per client address per minute; a page polls every 2 s."
    ),
    setting!(
        "security.join_wizard_per_ip_per_minute",
        Kind::Number {
            min: 1,
            max: 10_000
        },
        Some("60"),
        None,
        "Onboarding-wizard step answers allowed per client address per minute."
    ),
    setting!(
        "security.join_redeem_per_ip_per_minute",
        Kind::Number {
            min: 1,
            max: 10_000
        },
        Some("10"),
        None,
        "Redemption attempts (account creations) allowed per client address per minute."
    ),
    setting!(
        "security.join_redeem_wait_secs",
        Kind::Number { min: 1, max: 50 },
        Some("20"),
        None,
        "How long a redemption request waits for the accounts before it answers 202 with a handle to poll; the redemption itself goes on either way."
    ),
    setting!(
        "security.lockout_after",
        Kind::Number { min: 1, max: 1000 },
        Some("5"),
        None,
        "Consecutive failed logins after which the account is locked."
    ),
    setting!(
        "security.lockout_base_secs",
        Kind::Number {
            min: 1,
            max: 86_400
        },
        Some("60"),
        None,
        "First lockout length; each further lockout doubles it."
    ),
    setting!(
        "security.lockout_max_secs",
        Kind::Number {
            min: 1,
            max: 604_800
        },
        Some("3600"),
        None,
        "Longest lockout."
    ),
    setting!(
        "security.api_keys_create_admin_keys",
        Kind::Bool,
        Some("false"),
        None,
        "Whether an admin-scope API key may create admin-scope API keys (signed-in admins always may). Not a live setting, so a key cannot turn it on."
    ),
    setting!(
        "plugins.dir",
        Kind::Path,
        None,
        None,
        "Folder watched for connector plugins (*.wasm). Default: <data_dir>/plugins."
    ),
    setting!(
        "plugins.cache_dir",
        Kind::Path,
        None,
        None,
        "Folder for plugins' compiled code, keyed by file hash and engine; entries of plugins no longer installed are deleted, so daemons sharing one should have the same plugins. Default: <data_dir>/plugin-cache."
    ),
    setting!(
        "plugins.watch",
        Kind::Bool,
        Some("true"),
        None,
        "Reload plugins automatically when files in the folder change."
    ),
    setting!(
        "plugins.memory_mib",
        Kind::Number { min: 1, max: 4096 },
        Some("64"),
        None,
        "Memory limit of one plugin call, in MiB."
    ),
    setting!(
        "plugins.cpu_ms",
        Kind::Number {
            min: 10,
            max: 600_000
        },
        Some("2000"),
        None,
        "CPU time budget of one plugin call, in milliseconds."
    ),
    setting!(
        "plugins.call_timeout_secs",
        Kind::Number { min: 1, max: 600 },
        Some("30"),
        None,
        "Wall-clock limit of one plugin call, in seconds."
    ),
    setting!(
        "plugins.max_http_requests",
        Kind::Number {
            min: 1,
            max: 10_000
        },
        Some("50"),
        None,
        "HTTP requests one plugin call may make."
    ),
    setting!(
        "plugins.max_response_bytes",
        Kind::Number {
            min: 1024,
            max: 1024 * 1024 * 1024
        },
        Some("16777216"),
        None,
        "Largest HTTP response body a plugin may receive, in bytes; at most half of plugins.memory_mib is used, so a body fits in the plugin's memory with room to parse it."
    ),
    setting!(
        "plugins.http_timeout_secs",
        Kind::Number { min: 1, max: 600 },
        Some("30"),
        None,
        "Timeout of one outbound HTTP request made for a plugin."
    ),
    setting!(
        "plugins.concurrency",
        Kind::Number { min: 1, max: 1024 },
        Some("8"),
        None,
        "Calls one plugin may run at the same time."
    ),
    setting!(
        "plugins.unhealthy_after",
        Kind::Number { min: 1, max: 1000 },
        Some("5"),
        None,
        "Consecutive crashes (or, per server, timeouts) after which a plugin is refused for a while: 30 s, doubled each time, up to 15 min, or until reloaded."
    ),
    setting!(
        "jobs.sync_interval_secs",
        Kind::Number {
            min: 0,
            max: 2_592_000
        },
        Some("21600"),
        None,
        "Seconds between automatic library and user syncs of every enabled server; 0 turns them off."
    ),
    setting!(
        "jobs.expiry_interval_secs",
        Kind::Number {
            min: 0,
            max: 86_400
        },
        Some("300"),
        None,
        "Seconds between runs of invitation expiry and user-expiry enforcement; 0 turns them off."
    ),
    setting!(
        "jobs.keep_days",
        Kind::Number { min: 1, max: 3650 },
        Some("30"),
        None,
        "Job-run records older than this many days are pruned."
    ),
    setting!(
        "sync.max_vanished_percent",
        Kind::Number { min: 0, max: 100 },
        Some("50"),
        None,
        "User sync refuses to mark more than this share of a server's known accounts as vanished (100 = never refuse)."
    ),
    setting!(
        "expiry.action",
        Kind::Choice(&["disable", "delete"]),
        Some("disable"),
        None,
        "What happens to an account whose access has ended: disable it, or delete it on the server and in Zondarr."
    ),
    setting!(
        "expiry.grace_hours",
        Kind::Number { min: 0, max: 8760 },
        Some("0"),
        None,
        "Hours after an account's access ends before the expiry action is taken."
    ),
    setting!(
        "expiry.fallback",
        Kind::Choice(&["remove_libraries", "delete", "none"]),
        Some("remove_libraries"),
        None,
        "When the server cannot disable accounts (Plex): remove its library access, delete it, or do nothing but report it."
    ),
];

/// Where a value came from, for `config check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Built-in default.
    Default,
    /// Computed from other settings.
    Derived,
    /// The configuration file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// A command-line flag.
    Flag(&'static str),
    /// Changed at run time in the app (settings API), stored in the database.
    App,
}

impl Source {
    /// Whether a value from here locks the setting against changes in the app: values given
    /// in the environment, on the command line or in the configuration file win.
    pub fn locks(&self) -> bool {
        matches!(self, Source::Env(_) | Source::Flag(_) | Source::File(_))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::Derived => f.write_str("derived"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Env(v) => write!(f, "env {v}"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
            Source::App => f.write_str("app"),
        }
    }
}

/// A configuration error: always names the key and what is allowed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A key that is not a setting.
    #[error("unknown configuration key `{key}` in {origin}{hint}")]
    UnknownKey {
        /// The key as written.
        key: String,
        /// File or environment.
        origin: String,
        /// "; did you mean ..." or the list of keys.
        hint: String,
    },
    /// A value that does not fit the setting.
    #[error("invalid value for `{key}` (from {origin}): {problem}; allowed: {allowed}")]
    BadValue {
        /// The key.
        key: String,
        /// Where the value came from.
        origin: String,
        /// What is wrong.
        problem: String,
        /// What would be accepted.
        allowed: String,
    },
    /// The configuration file could not be read or parsed.
    #[error("cannot use configuration file {path}: {problem}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
}

/// Overrides from command-line flags.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen`
    pub listen: Option<String>,
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--config`
    pub config_file: Option<PathBuf>,
    /// `--log-format`
    pub log_format: Option<String>,
}

/// Resolved values with their origin, before typing.
#[derive(Clone, Default)]
pub struct Values {
    map: BTreeMap<&'static str, (String, Source)>,
}

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a secret, even in a debug dump.
        f.write_str("Values { ")?;
        for (key, (value, source)) in &self.map {
            let shown = if lookup(key).is_some_and(Setting::is_secret) {
                "***"
            } else {
                value
            };
            write!(f, "{key}: {shown:?} ({source}), ")?;
        }
        f.write_str("}")
    }
}

impl Values {
    fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(|(v, _)| v.as_str())
    }

    /// Lines `key = value  # source`, secrets masked, in catalogue order.
    pub fn render_masked(&self) -> String {
        let mut out = String::new();
        for s in SETTINGS {
            let (value, source) = match self.map.get(s.key) {
                Some((_, src)) if s.is_secret() => ("\"********\"".to_owned(), src.to_string()),
                Some((v, src)) => (toml_literal(&s.kind, v), src.to_string()),
                None => ("(unset)".to_owned(), "default".to_owned()),
            };
            out.push_str(&format!("{} = {}  # {}\n", s.key, value, source));
        }
        out
    }
}

fn toml_literal(kind: &Kind, value: &str) -> String {
    match kind {
        Kind::Number { .. } | Kind::Bool => value.to_owned(),
        _ => format!("{value:?}"),
    }
}

/// Per-call limits and behaviour of the plugin host.
#[derive(Debug, Clone)]
pub struct PluginsConfig {
    /// Folder watched for `*.wasm` files.
    pub dir: PathBuf,
    /// Whether to watch the folder.
    pub watch: bool,
    /// Memory limit per call, bytes.
    pub memory_bytes: u64,
    /// CPU budget per call, milliseconds.
    pub cpu_ms: u64,
    /// Wall-clock limit per call, seconds.
    pub call_timeout_secs: u64,
    /// HTTP requests per call.
    pub max_http_requests: u32,
    /// Response body cap, bytes.
    pub max_response_bytes: u64,
    /// Timeout of one outbound request, seconds.
    pub http_timeout_secs: u64,
    /// Concurrent calls per plugin.
    pub concurrency: u32,
    /// Consecutive traps before a plugin is unhealthy.
    pub unhealthy_after: u32,
}

/// HTTP server settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Body size limit, bytes.
    pub max_body_bytes: usize,
    /// Request timeout, seconds.
    pub request_timeout_secs: u64,
    /// Grace period for in-flight requests on shutdown, seconds.
    pub shutdown_grace_secs: u64,
    /// Trust `X-Forwarded-For` from the connecting peer (one proxy hop).
    pub trust_forwarded_for: bool,
    /// Proxies whose `X-Forwarded-For` entries are believed.
    pub trusted_proxies: Vec<crate::auth::Cidr>,
}

/// Admin access and brute-force protection.
#[derive(Debug, Clone)]
pub struct SecurityConfig {
    /// Idle lifetime of a session, minutes.
    pub session_idle_minutes: u64,
    /// Absolute lifetime of a session, hours.
    pub session_absolute_hours: u64,
    /// `auto`, `always` or `never`.
    pub secure_cookies: String,
    /// Login attempts per IP per minute.
    pub login_per_ip_per_minute: u32,
    /// Login attempts per account per minute.
    pub login_per_account_per_minute: u32,
    /// Invitation checks per IP per minute.
    pub join_per_ip_per_minute: u32,
    /// Join-page polls per IP per minute.
    pub join_poll_per_ip_per_minute: u32,
    /// Wizard step answers per IP per minute.
    pub join_wizard_per_ip_per_minute: u32,
    /// Redemption attempts per IP per minute.
    pub join_redeem_per_ip_per_minute: u32,
    /// Seconds a redemption request waits before answering "in progress".
    pub join_redeem_wait_secs: u64,
    /// Failures before lockout.
    pub lockout_after: u32,
    /// First lockout, seconds.
    pub lockout_base_secs: u64,
    /// Longest lockout, seconds.
    pub lockout_max_secs: u64,
    /// Whether an admin-scope API key may create admin-scope keys.
    pub api_keys_create_admin_keys: bool,
}

/// Background jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsConfig {
    /// Seconds between automatic syncs; 0 = off.
    pub sync_interval_secs: u64,
    /// Seconds between expiry runs; 0 = off.
    pub expiry_interval_secs: u64,
    /// Days job runs are kept.
    pub keep_days: u64,
    /// Largest share (percent) of known accounts a user sync may mark vanished.
    pub max_vanished_percent: u64,
}

/// What expiry enforcement does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryConfig {
    /// `disable` or `delete`.
    pub action: String,
    /// Hours after the end of access before acting.
    pub grace_hours: u64,
    /// `remove_libraries`, `delete` or `none`, where the connector cannot disable.
    pub fallback: String,
}

/// Database settings.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// Pool size.
    pub pool_size: u32,
    /// SQLite busy timeout, milliseconds.
    pub busy_timeout_ms: u64,
}

/// A secret from the configuration (the daemon's secret key, the metrics token). Its `Debug`
/// never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// Wrap a key.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The key material.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bind address.
    pub listen: SocketAddr,
    /// Data folder.
    pub data_dir: PathBuf,
    /// Public URL without trailing slash.
    pub public_url: String,
    /// Secret key given in the configuration; `None` means "use or create the key file".
    pub secret_key: Option<SecretKey>,
    /// Log filter.
    pub log_level: String,
    /// `true` for JSON logs.
    pub log_json: bool,
    /// Log events kept for the live log stream.
    pub log_buffer_events: usize,
    /// Bearer token that `/metrics` requires; `None`: open.
    pub metrics_token: Option<SecretKey>,
    /// HTTP server.
    pub http: HttpConfig,
    /// Database.
    pub database: DatabaseConfig,
    /// Plugin host.
    pub plugins: PluginsConfig,
    /// Compiled-code cache of the plugin host (`plugins.cache_dir`).
    pub plugin_cache_dir: PathBuf,
    /// Admin access.
    pub security: SecurityConfig,
    /// Background jobs.
    pub jobs: JobsConfig,
    /// Expiry enforcement.
    pub expiry: ExpiryConfig,
    /// The layered values, for `config check`.
    pub values: Values,
}

impl Config {
    /// Load the configuration from the real environment.
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(overrides, &env)
    }

    /// Load with an explicit environment (tests).
    pub fn load_from(
        overrides: &Overrides,
        env: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let mut values = Values::default();
        for s in SETTINGS {
            if let Some(d) = s.default {
                values.map.insert(s.key, (d.to_owned(), Source::Default));
            }
        }

        // The data folder decides where the default config file lives, so it is resolved from
        // the layers that cannot come from that file first.
        let env_map = parse_env(env)?;
        let data_dir = overrides
            .data_dir
            .clone()
            .or_else(|| env_map.get("data_dir").map(|(v, _)| PathBuf::from(v)))
            .unwrap_or_else(|| PathBuf::from("./data"));
        let config_file = overrides.config_file.clone().or_else(|| {
            env.iter()
                .find(|(k, _)| k == "ZONDARR_CONFIG")
                .map(|(_, v)| PathBuf::from(v))
        });
        let (file_path, required) = match config_file {
            Some(p) => (p, true),
            None => (data_dir.join("zondarr.toml"), false),
        };
        if required || file_path.exists() {
            for (key, value) in parse_file(&file_path)? {
                values
                    .map
                    .insert(key, (value, Source::File(file_path.clone())));
            }
        }
        for (key, (value, var)) in env_map {
            values.map.insert(key, (value, Source::Env(var)));
        }
        let flags: [(&'static str, Option<String>, &'static str); 3] = [
            ("listen", overrides.listen.clone(), "--listen"),
            (
                "data_dir",
                overrides.data_dir.as_ref().map(|p| p.display().to_string()),
                "--data-dir",
            ),
            ("log.format", overrides.log_format.clone(), "--log-format"),
        ];
        for (key, value, flag) in flags {
            if let Some(v) = value {
                values.map.insert(key, (v, Source::Flag(flag)));
            }
        }

        // Validate every value against its kind, naming its origin on failure.
        for s in SETTINGS {
            if let Some((raw, source)) = values.map.get(s.key).cloned() {
                let clean = s
                    .kind
                    .validate(&raw)
                    .map_err(|problem| ConfigError::BadValue {
                        key: s.key.to_owned(),
                        origin: source.to_string(),
                        problem,
                        allowed: s.kind.allowed(),
                    })?;
                values.map.insert(s.key, (clean, source));
            }
        }
        Self::from_values(values)
    }

    fn from_values(mut values: Values) -> Result<Config, ConfigError> {
        let text = |v: &Values, k: &str| v.get(k).unwrap_or_default().to_owned();
        let num = |v: &Values, k: &str| -> u64 {
            v.get(k).and_then(|s| s.parse().ok()).unwrap_or_default()
        };
        let listen: SocketAddr =
            text(&values, "listen")
                .parse()
                .map_err(|_| ConfigError::BadValue {
                    key: "listen".into(),
                    origin: "default".into(),
                    problem: "not an address".into(),
                    allowed: Kind::SocketAddr.allowed(),
                })?;
        let data_dir = PathBuf::from(text(&values, "data_dir"));
        if values.get("public_url").is_none() {
            values
                .map
                .insert("public_url", (format!("http://{listen}"), Source::Derived));
        }
        if values.get("plugins.dir").is_none() {
            values.map.insert(
                "plugins.dir",
                (
                    data_dir.join("plugins").display().to_string(),
                    Source::Derived,
                ),
            );
        }
        if values.get("plugins.cache_dir").is_none() {
            values.map.insert(
                "plugins.cache_dir",
                (
                    data_dir.join("plugin-cache").display().to_string(),
                    Source::Derived,
                ),
            );
        }
        let secret_key = values
            .get("secret_key")
            .map(|s| SecretKey::new(s.to_owned()));
        Ok(Config {
            listen,
            public_url: text(&values, "public_url"),
            secret_key,
            log_level: text(&values, "log.level"),
            log_json: values.get("log.format") == Some("json"),
            log_buffer_events: num(&values, "log.buffer_events") as usize,
            metrics_token: values
                .get("metrics.token")
                .map(|s| SecretKey::new(s.to_owned())),
            http: HttpConfig {
                max_body_bytes: num(&values, "http.max_body_bytes") as usize,
                request_timeout_secs: num(&values, "http.request_timeout_secs"),
                shutdown_grace_secs: num(&values, "http.shutdown_grace_secs"),
                trust_forwarded_for: values.get("http.trust_forwarded_for") == Some("true"),
                trusted_proxies: values
                    .get("http.trusted_proxies")
                    .map(|list| {
                        list.split(',')
                            .filter_map(|item| crate::auth::Cidr::parse(item.trim()))
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            security: SecurityConfig {
                session_idle_minutes: num(&values, "security.session_idle_minutes"),
                session_absolute_hours: num(&values, "security.session_absolute_hours"),
                secure_cookies: text(&values, "security.secure_cookies"),
                login_per_ip_per_minute: num(&values, "security.login_per_ip_per_minute") as u32,
                login_per_account_per_minute: num(&values, "security.login_per_account_per_minute")
                    as u32,
                join_per_ip_per_minute: num(&values, "security.join_per_ip_per_minute") as u32,
                join_poll_per_ip_per_minute: num(&values, "security.join_poll_per_ip_per_minute")
                    as u32,
                join_wizard_per_ip_per_minute: num(
                    &values,
                    "security.join_wizard_per_ip_per_minute",
                ) as u32,
                join_redeem_per_ip_per_minute: num(
                    &values,
                    "security.join_redeem_per_ip_per_minute",
                ) as u32,
                join_redeem_wait_secs: num(&values, "security.join_redeem_wait_secs"),
                lockout_after: num(&values, "security.lockout_after") as u32,
                lockout_base_secs: num(&values, "security.lockout_base_secs"),
                lockout_max_secs: num(&values, "security.lockout_max_secs"),
                api_keys_create_admin_keys: values.get("security.api_keys_create_admin_keys")
                    == Some("true"),
            },
            jobs: JobsConfig {
                sync_interval_secs: num(&values, "jobs.sync_interval_secs"),
                expiry_interval_secs: num(&values, "jobs.expiry_interval_secs"),
                keep_days: num(&values, "jobs.keep_days"),
                max_vanished_percent: num(&values, "sync.max_vanished_percent"),
            },
            expiry: ExpiryConfig {
                action: text(&values, "expiry.action"),
                grace_hours: num(&values, "expiry.grace_hours"),
                fallback: text(&values, "expiry.fallback"),
            },
            database: DatabaseConfig {
                pool_size: num(&values, "database.pool_size") as u32,
                busy_timeout_ms: num(&values, "database.busy_timeout_ms"),
            },
            plugin_cache_dir: PathBuf::from(text(&values, "plugins.cache_dir")),
            plugins: PluginsConfig {
                dir: PathBuf::from(text(&values, "plugins.dir")),
                watch: values.get("plugins.watch") == Some("true"),
                memory_bytes: num(&values, "plugins.memory_mib") * 1024 * 1024,
                cpu_ms: num(&values, "plugins.cpu_ms"),
                call_timeout_secs: num(&values, "plugins.call_timeout_secs"),
                max_http_requests: num(&values, "plugins.max_http_requests") as u32,
                max_response_bytes: num(&values, "plugins.max_response_bytes"),
                http_timeout_secs: num(&values, "plugins.http_timeout_secs"),
                concurrency: num(&values, "plugins.concurrency") as u32,
                unhealthy_after: num(&values, "plugins.unhealthy_after") as u32,
            },
            data_dir,
            values,
        })
    }

    /// Whether `public_url` was set in the configuration (which then locks it against changes
    /// made in the app).
    pub fn public_url_is_explicit(&self) -> bool {
        self.values
            .map
            .get("public_url")
            .is_some_and(|(_, src)| src.locks())
    }

    /// The current value of a setting and where it came from.
    pub fn value(&self, key: &str) -> Option<(&str, &Source)> {
        self.values.map.get(key).map(|(v, s)| (v.as_str(), s))
    }

    /// Validate `raw` for the setting `key`: the cleaned value, or what is wrong and allowed.
    pub fn check_value(key: &str, raw: &str) -> Result<String, String> {
        let setting = lookup(key).ok_or_else(|| format!("unknown setting{}", suggest(key)))?;
        setting
            .kind
            .validate(raw)
            .map_err(|problem| format!("{problem}; allowed: {}", setting.kind.allowed()))
    }

    /// This configuration with values changed in the app laid over it: each `(key, value)`
    /// replaces the value unless the key is locked (set in the environment, a flag or the
    /// file); `None` drops an app value back to the default. Values are validated.
    pub fn with_app_values<'a>(
        &self,
        changes: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Result<Config, ConfigError> {
        let mut values = self.values.clone();
        for (key, value) in changes {
            let Some(setting) = lookup(key) else {
                return Err(ConfigError::UnknownKey {
                    key: key.to_owned(),
                    origin: "the app".into(),
                    hint: suggest(key),
                });
            };
            if values.map.get(key).is_some_and(|(_, src)| src.locks()) {
                continue;
            }
            match value {
                Some(raw) => {
                    let clean =
                        setting
                            .kind
                            .validate(raw)
                            .map_err(|problem| ConfigError::BadValue {
                                key: key.to_owned(),
                                origin: "the app".into(),
                                problem,
                                allowed: setting.kind.allowed(),
                            })?;
                    values.map.insert(setting.key, (clean, Source::App));
                }
                None => match setting.default {
                    Some(d) => {
                        values
                            .map
                            .insert(setting.key, (d.to_owned(), Source::Default));
                    }
                    None => {
                        values.map.remove(setting.key);
                    }
                },
            }
        }
        Config::from_values(values)
    }

    /// Path of the SQLite database.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("zondarr.db")
    }

    /// Path of the generated secret key file.
    pub fn secret_key_path(&self) -> PathBuf {
        self.data_dir.join("secret.key")
    }
}

fn lookup(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

fn suggest(key: &str) -> String {
    let close: Vec<&str> = SETTINGS
        .iter()
        .map(|s| s.key)
        .filter(|k| edit_distance(k, key) <= 3 || k.ends_with(key) || key.ends_with(k))
        .collect();
    match close.as_slice() {
        [] => format!(
            "; known keys: {}",
            SETTINGS
                .iter()
                .map(|s| s.key)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        some => format!("; did you mean `{}`?", some.join("` or `")),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn read_secret_file(key: &str, path: &Path, origin: &str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim_end_matches(['\n', '\r']).to_owned())
        .map_err(|e| ConfigError::BadValue {
            key: key.to_owned(),
            origin: origin.to_owned(),
            problem: format!("cannot read {}: {}", path.display(), e.kind()),
            allowed: "a readable file containing the secret".into(),
        })
}

/// Environment variables: every `ZONDARR_*` must be a known setting (typos are errors).
fn parse_env(
    env: &[(String, String)],
) -> Result<BTreeMap<&'static str, (String, String)>, ConfigError> {
    let mut out = BTreeMap::new();
    for (var, value) in env {
        let Some(rest) = var.strip_prefix("ZONDARR_") else {
            continue;
        };
        // Variables that are not settings but are read by the CLI itself.
        if rest == "CONFIG" {
            continue;
        }
        if rest == "LOG" {
            out.insert("log.level", (value.clone(), var.clone()));
            continue;
        }
        if let Some(setting) = SETTINGS.iter().find(|s| s.env_var() == *var) {
            out.insert(setting.key, (value.clone(), var.clone()));
            continue;
        }
        if let Some(base) = var.strip_suffix("_FILE")
            && let Some(setting) = SETTINGS
                .iter()
                .find(|s| s.is_secret() && s.env_var() == base)
        {
            let secret = read_secret_file(setting.key, Path::new(value), var)?;
            out.insert(setting.key, (secret, var.clone()));
            continue;
        }
        let guess = rest.to_ascii_lowercase();
        return Err(ConfigError::UnknownKey {
            key: var.clone(),
            origin: "the environment".into(),
            hint: suggest(&guess),
        });
    }
    Ok(out)
}

fn parse_file(path: &Path) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.to_owned(),
        problem: e.kind().to_string(),
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::File {
            path: path.to_owned(),
            problem: e.message().to_owned(),
        })?;
    let origin = format!("file {}", path.display());
    let mut out = Vec::new();
    flatten(&table, "", &origin, &mut out)?;
    Ok(out)
}

fn flatten(
    table: &toml::Table,
    prefix: &str,
    origin: &str,
    out: &mut Vec<(&'static str, String)>,
) -> Result<(), ConfigError> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if let toml::Value::Table(inner) = v {
            flatten(inner, &key, origin, out)?;
            continue;
        }
        let scalar = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(ConfigError::BadValue {
                    key,
                    origin: origin.to_owned(),
                    problem: format!("a {} is not accepted here", other.type_str()),
                    allowed: lookup(k)
                        .map(|s| s.kind.allowed())
                        .unwrap_or_else(|| "a string, number or boolean".into()),
                });
            }
        };
        if key == "data_dir" {
            return Err(ConfigError::BadValue {
                key,
                origin: origin.to_owned(),
                problem: "the data folder cannot be set in the file that lives in it".into(),
                allowed: "--data-dir or ZONDARR_DATA_DIR".into(),
            });
        }
        if let Some(setting) = lookup(&key) {
            out.push((setting.key, scalar));
            continue;
        }
        if let Some(base) = key.strip_suffix("_file")
            && let Some(setting) = lookup(base).filter(|s| s.is_secret())
        {
            out.push((
                setting.key,
                read_secret_file(setting.key, Path::new(&scalar), origin)?,
            ));
            continue;
        }
        return Err(ConfigError::UnknownKey {
            key: key.clone(),
            origin: origin.to_owned(),
            hint: suggest(&key),
        });
    }
    Ok(())
}

/// The configuration reference as a Markdown table (used by the README; a test keeps it current).
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "| Key (`zondarr.toml`) | Environment | Flag | Default | Allowed | Meaning |\n|---|---|---|---|---|---|\n",
    );
    for s in SETTINGS {
        let env = if s.is_secret() {
            format!("`{0}`, `{0}_FILE`", s.env_var())
        } else if s.key == "log.level" {
            format!("`{}`, `ZONDARR_LOG`", s.env_var())
        } else {
            format!("`{}`", s.env_var())
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            s.key,
            env,
            s.flag.map(|f| format!("`{f}`")).unwrap_or_default(),
            s.default
                .map(|d| format!("`{d}`"))
                .unwrap_or_else(|| "see meaning".into()),
            s.kind.allowed(),
            s.doc
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn dir_with_file(content: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("zondarr.toml"), content).unwrap();
        dir
    }

    fn overrides(dir: &Path) -> Overrides {
        Overrides {
            data_dir: Some(dir.to_owned()),
            ..Overrides::default()
        }
    }

    #[test]
    fn defaults_apply_without_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load_from(&overrides(dir.path()), &[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8000");
        assert_eq!(c.public_url, "http://127.0.0.1:8000");
        assert_eq!(c.plugins.dir, dir.path().join("plugins"));
        assert_eq!(c.plugins.memory_bytes, 64 * 1024 * 1024);
        assert!(c.secret_key.is_none());
        assert!(!c.log_json);
    }

    #[test]
    fn layers_override_in_order() {
        let dir = dir_with_file(
            "listen = \"127.0.0.1:9000\"\n[plugins]\ncpu_ms = 500\nmemory_mib = 32\n",
        );
        let e = env(&[
            ("ZONDARR_PLUGINS_CPU_MS", "700"),
            ("ZONDARR_LISTEN", "127.0.0.1:9100"),
        ]);
        let mut o = overrides(dir.path());
        let c = Config::load_from(&o, &e).unwrap();
        assert_eq!(
            c.plugins.memory_bytes,
            32 * 1024 * 1024,
            "file beats default"
        );
        assert_eq!(c.plugins.cpu_ms, 700, "env beats file");
        assert_eq!(c.listen.to_string(), "127.0.0.1:9100");
        o.listen = Some("127.0.0.1:9200".into());
        let c = Config::load_from(&o, &e).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9200", "flag beats env");
    }

    #[test]
    fn unknown_file_key_is_named_with_a_suggestion() {
        let dir = dir_with_file("[plugins]\nmemroy_mib = 3\n");
        let err = Config::load_from(&overrides(dir.path()), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`plugins.memroy_mib`"), "{err}");
        assert!(err.contains("plugins.memory_mib"), "{err}");
    }

    #[test]
    fn unknown_env_var_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Config::load_from(&overrides(dir.path()), &env(&[("ZONDARR_LISTN", "x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ZONDARR_LISTN"), "{err}");
        assert!(err.contains("listen"), "{err}");
    }

    #[test]
    fn bad_values_name_key_and_allowed_range() {
        let dir = dir_with_file("[plugins]\ncpu_ms = 1\n");
        let err = Config::load_from(&overrides(dir.path()), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`plugins.cpu_ms`") && err.contains("from 10 to 600000"),
            "{err}"
        );

        let dir = dir_with_file("[log]\nformat = \"xml\"\n");
        let err = Config::load_from(&overrides(dir.path()), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`log.format`") && err.contains("text, json"),
            "{err}"
        );

        let dir = dir_with_file("public_url = \"ftp://x\"\n");
        let err = Config::load_from(&overrides(dir.path()), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`public_url`") && err.contains("http://"),
            "{err}"
        );

        let dir = dir_with_file("listen = [1, 2]\n");
        let err = Config::load_from(&overrides(dir.path()), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`listen`") && err.contains("array"), "{err}");
    }

    #[test]
    fn malformed_file_is_reported_with_its_path() {
        let dir = dir_with_file("listen = \n");
        let err = Config::load_from(&overrides(dir.path()), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("zondarr.toml"), "{err}");
    }

    #[test]
    fn explicit_config_file_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let o = Overrides {
            config_file: Some(dir.path().join("missing.toml")),
            ..overrides(dir.path())
        };
        assert!(Config::load_from(&o, &[]).is_err());
    }

    #[test]
    fn secrets_come_from_files_and_are_masked() {
        let dir = tempfile::tempdir().unwrap();
        let secret_path = dir.path().join("key.txt");
        std::fs::write(&secret_path, "k".repeat(40) + "\n").unwrap();
        let e = env(&[("ZONDARR_SECRET_KEY_FILE", secret_path.to_str().unwrap())]);
        let c = Config::load_from(&overrides(dir.path()), &e).unwrap();
        assert_eq!(c.secret_key.as_ref().unwrap().expose(), "k".repeat(40));
        let printed = c.values.render_masked();
        assert!(!printed.contains("kkkk"), "{printed}");
        assert!(printed.contains("secret_key = \"********\""), "{printed}");
        assert!(!format!("{c:?}").contains("kkkk"));

        std::fs::write(
            dir.path().join("zondarr.toml"),
            format!("secret_key_file = {:?}\n", secret_path),
        )
        .unwrap();
        let c = Config::load_from(&overrides(dir.path()), &[]).unwrap();
        assert_eq!(c.secret_key.unwrap().expose(), "k".repeat(40));
    }

    #[test]
    fn short_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = Config::load_from(
            &overrides(dir.path()),
            &env(&[("ZONDARR_SECRET_KEY", "hunter2-xyz")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`secret_key`") && err.contains("at least 32"),
            "{err}"
        );
        assert!(
            !err.contains("hunter2"),
            "the secret itself must not be echoed: {err}"
        );
    }

    #[test]
    fn zondarr_log_sets_the_level() {
        let dir = tempfile::tempdir().unwrap();
        let c =
            Config::load_from(&overrides(dir.path()), &env(&[("ZONDARR_LOG", "debug")])).unwrap();
        assert_eq!(c.log_level, "debug");
        let err = Config::load_from(&overrides(dir.path()), &env(&[("ZONDARR_LOG", "loud=[")]));
        assert!(err.is_err());
    }

    #[test]
    fn every_setting_has_docs_and_a_valid_default() {
        for s in SETTINGS {
            assert!(!s.doc.is_empty(), "{}", s.key);
            if let Some(d) = s.default {
                s.kind
                    .validate(d)
                    .unwrap_or_else(|e| panic!("{}: {e}", s.key));
            }
        }
    }

    #[test]
    fn public_url_validation() {
        assert_eq!(
            Config::check_value("public_url", "https://media.example.org/invite/").unwrap(),
            "https://media.example.org/invite"
        );
        for bad in ["ftp://x", "https://", "https://a?b", "https://user@host"] {
            assert!(Config::check_value("public_url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn readme_reference_is_current() {
        let readme =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
                .unwrap_or_default();
        assert!(
            readme.contains(&reference_markdown()),
            "README.md's configuration table is stale; paste the output of `zondarr config reference`"
        );
    }
}

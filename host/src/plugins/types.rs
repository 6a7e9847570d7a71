//! Host-side Rust types of the connector contract. The rest of the daemon uses these, never the
//! `bindgen!` types, so a new contract version only touches `plugins::bindings`.
//!
//! Secrets (server credentials, passwords, invitee tokens) never appear in `Debug` output.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// A secret string: its `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Wrap a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; only for injecting it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// Everything a call needs to know about the media server it is about. The caller builds it
/// from the server's row; the plugin sees `base_url` and `config` (non-secret values only)
/// and never `secrets`, which the host injects into requests as the manifest's auth scheme says.
#[derive(Debug, Clone, Default)]
pub struct ServerContext {
    /// Absolute `http://` or `https://` URL, optionally with a path prefix
    /// (e.g. `http://192.168.1.10:8096/jellyfin`).
    pub base_url: String,
    /// Non-secret configuration values by field key.
    pub config: BTreeMap<String, String>,
    /// Secret configuration values by field key.
    pub secrets: BTreeMap<String, SecretString>,
    /// Per-server origin overrides of the manifest's extra hosts, by extra-host id
    /// (`https://host[:port]`).
    pub extra_host_origins: BTreeMap<String, String>,
    /// Accept self-signed or otherwise invalid TLS certificates of this server (LAN installs).
    /// Applies to the server's own origin only, never to extra hosts.
    pub accept_invalid_certs: bool,
    /// Private CA certificates (PEM, checked by `server_ca`) trusted for this server's own
    /// origin in addition to the public roots; never for extra hosts.
    pub ca_certificate: Option<std::sync::Arc<str>>,
}

impl ServerContext {
    /// A context for `base_url` with no configuration.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            ..Self::default()
        }
    }

    /// Add a non-secret configuration value.
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Add a secret configuration value.
    pub fn with_secret(mut self, key: impl Into<String>, value: impl Into<SecretString>) -> Self {
        self.secrets.insert(key.into(), value.into());
        self
    }

    /// Override the origin of an extra host.
    pub fn with_extra_host(mut self, id: impl Into<String>, origin: impl Into<String>) -> Self {
        self.extra_host_origins.insert(id.into(), origin.into());
        self
    }
}

/// What a connector can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// `list_users`.
    ListUsers,
    /// `create_user`.
    CreateUser,
    /// `delete_user`.
    DeleteUser,
    /// `set_enabled`.
    SetEnabled,
    /// `set_library_access`.
    LibraryAccess,
    /// `set_permissions`.
    Permissions,
    /// `set_password`.
    SetPassword,
    /// The `oauth` interface (`start_link`, `poll_link`).
    OauthLink,
    /// The `auth` interface (`authenticate`).
    Authenticate,
    /// `find_user`: looks up the account `create_user` would make or adopt.
    FindUser,
}

impl Capability {
    /// The snake_case name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::ListUsers => "list_users",
            Capability::CreateUser => "create_user",
            Capability::DeleteUser => "delete_user",
            Capability::SetEnabled => "set_enabled",
            Capability::LibraryAccess => "library_access",
            Capability::Permissions => "permissions",
            Capability::SetPassword => "set_password",
            Capability::OauthLink => "oauth_link",
            Capability::Authenticate => "authenticate",
            Capability::FindUser => "find_user",
        }
    }
}

/// How an invitee gets an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JoinFlow {
    /// The invitee chooses a username and password.
    Credentials,
    /// The invitee links an existing account through the `oauth` interface.
    OauthLink,
}

/// The kind of a configuration field or permission value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// Free text.
    Text,
    /// A secret, injected by the host and never given to the plugin.
    Secret,
    /// An absolute http(s) URL.
    Url,
    /// A boolean.
    Flag,
    /// A whole number.
    Number,
}

/// A configuration or permission value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = PluginValue)]
pub enum Value {
    /// Text, URL or secret.
    Text(String),
    /// A boolean.
    Flag(bool),
    /// A whole number.
    Number(i64),
}

impl Value {
    /// The kinds this value can be a default of.
    pub fn fits(&self, kind: ValueKind) -> bool {
        matches!(
            (self, kind),
            (
                Value::Text(_),
                ValueKind::Text | ValueKind::Url | ValueKind::Secret
            ) | (Value::Flag(_), ValueKind::Flag)
                | (Value::Number(_), ValueKind::Number)
        )
    }

    /// The value as configuration text (what `server.config` returns).
    pub fn to_config_text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Flag(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
        }
    }
}

/// A configuration field of a server of this kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConfigField {
    /// Stable key, `[a-z0-9_]`.
    pub key: String,
    /// Form label.
    pub label: String,
    /// Help text.
    pub help: Option<String>,
    /// Kind of value.
    pub kind: ValueKind,
    /// Whether it must be filled in.
    pub required: bool,
    /// Default when left empty (never for secrets).
    #[schema(value_type = Option<crate::http::openapi::PluginValue>)]
    pub default_value: Option<Value>,
}

/// A permission an invitation can grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PermissionDef {
    /// Stable key, `[a-z0-9_]`.
    pub key: String,
    /// Label.
    pub label: String,
    /// Longer explanation.
    pub description: Option<String>,
    /// `flag`, `number` or `text`.
    pub kind: ValueKind,
    /// Value applied when an invitation does not set it.
    #[schema(value_type = crate::http::openapi::PluginValue)]
    pub default_value: Value,
}

/// A permission key with a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionValue {
    /// A key from the manifest's permissions.
    pub key: String,
    /// The value.
    pub value: Value,
}

/// How the host attaches the server's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthScheme {
    /// Nothing is attached.
    None,
    /// One header built from secret fields; `{key}` in the template is replaced by the field.
    Header {
        /// Header name.
        name: String,
        /// Value template.
        value_template: String,
    },
    /// One query parameter with the value of a secret field.
    Query {
        /// Parameter name.
        param: String,
        /// The secret field.
        field: String,
    },
    /// A session token the host gets by signing in with the configured fields, kept in memory
    /// and sent as a header; on a 401 the host signs in again once.
    Session {
        /// Path of the sign-in `POST`, relative to the base URL.
        login_path: String,
        /// The JSON object sent, as `[member name, config field key]` pairs; each value a JSON
        /// string.
        #[schema(value_type = Vec<Vec<String>>)]
        body_fields: Vec<(String, String)>,
        /// JSON pointer to the token in the answer.
        token_pointer: String,
        /// The header carrying the token.
        header: String,
        /// Its value; `{token}` is replaced by the token.
        value_template: String,
    },
}

/// Getting started on a server of this kind, for the invitee's result page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default, utoipa::ToSchema)]
pub struct JoinHelp {
    /// Where the apps are listed (`https`).
    pub apps_url: Option<String>,
    /// Where members sign in on the web, when it is one place for every server (`https`).
    pub web_url: Option<String>,
    /// The `url` configuration field holding the address members use.
    pub address_field: Option<String>,
}

/// A host other than the configured server that the plugin may reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ExtraHost {
    /// Id the plugin passes to `server.fetch`.
    pub id: String,
    /// Default origin, `scheme://host[:port]`.
    pub origin: String,
    /// Whether the server's credentials are injected into requests to this host.
    pub send_credentials: bool,
    /// Why the plugin needs it.
    pub purpose: String,
}

/// Colours and icon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default, utoipa::ToSchema)]
pub struct Brand {
    /// `#rrggbb`.
    pub color: Option<String>,
    /// A small SVG (sanitised before it is shown).
    pub icon_svg: Option<String>,
}

/// What a connector declares about itself (`describe()`), validated by the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// Stable id, `[a-z0-9-]{1,32}`.
    pub id: String,
    /// Human name of the server kind.
    pub name: String,
    /// The plugin's semver version.
    pub version: String,
    /// One sentence.
    pub description: String,
    /// What it supports.
    pub capabilities: Vec<Capability>,
    /// Permission keys.
    pub permissions: Vec<PermissionDef>,
    /// How invitees join.
    pub join_flow: JoinFlow,
    /// Configuration fields.
    pub config: Vec<ConfigField>,
    /// Credential injection.
    pub auth: AuthScheme,
    /// Extra hosts.
    pub extra_hosts: Vec<ExtraHost>,
    /// Colours and icon.
    pub brand: Brand,
    /// Getting started, for the invitee's result page.
    pub join_help: JoinHelp,
}

impl Manifest {
    /// Whether `cap` is declared.
    pub fn supports(&self, cap: Capability) -> bool {
        self.capabilities.contains(&cap)
    }

    /// The configuration field `key`.
    pub fn config_field(&self, key: &str) -> Option<&ConfigField> {
        self.config.iter().find(|f| f.key == key)
    }

    /// The extra host `id`.
    pub fn extra_host(&self, id: &str) -> Option<&ExtraHost> {
        self.extra_hosts.iter().find(|h| h.id == id)
    }
}

/// What `test_connection` learns about the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ServerInfo {
    /// The server's own name.
    pub name: String,
    /// Product, e.g. `Jellyfin`.
    pub product: String,
    /// Server software version.
    pub version: Option<String>,
    /// The server's stable unique id.
    pub server_id: Option<String>,
}

/// A content library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Library {
    /// Id used for access control.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Kind, free text.
    pub kind: String,
}

/// An account on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteUser {
    /// The server's id.
    pub id: String,
    /// Username.
    pub username: String,
    /// E-mail.
    pub email: Option<String>,
    /// Kind of account.
    pub kind: Option<String>,
    /// Disabled.
    pub disabled: bool,
    /// Administers the server.
    pub admin: bool,
    /// Last activity, RFC 3339.
    pub last_activity: Option<String>,
}

/// Whether `create_user` made the account or took over one that existed before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountOrigin {
    /// Made by this call: may be deleted again on rollback.
    Created,
    /// Existed before: never deleted on rollback.
    Adopted,
}

/// What `create_user` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedUser {
    /// The account.
    pub user: RemoteUser,
    /// Whether it was created or adopted.
    pub origin: AccountOrigin,
}

/// Which libraries an account may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "ids", rename_all = "snake_case")]
pub enum LibraryAccess {
    /// Every library, including later ones.
    All,
    /// Only these ids.
    Only(Vec<String>),
}

/// An account linked through the `oauth` interface. The token never leaves the daemon.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkedAccount {
    /// Id at the identity provider.
    pub id: String,
    /// Username.
    pub username: String,
    /// E-mail.
    pub email: Option<String>,
    /// The invitee's token.
    pub token: SecretString,
}

impl fmt::Debug for LinkedAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkedAccount")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field("token", &self.token)
            .finish()
    }
}

/// The account to create.
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Username.
    pub username: String,
    /// Password, for credential servers.
    pub password: Option<SecretString>,
    /// E-mail.
    pub email: Option<String>,
    /// The linked account, for oauth-link servers.
    pub linked_account: Option<LinkedAccount>,
    /// Libraries to grant.
    pub libraries: LibraryAccess,
    /// Permissions to apply.
    pub permissions: Vec<PermissionValue>,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("password", &self.password)
            .field("email", &self.email)
            .field("linked_account", &self.linked_account)
            .field("libraries", &self.libraries)
            .field("permissions", &self.permissions)
            .finish()
    }
}

/// Options of `delete_user`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeleteOptions {
    /// Also remove the friend / home-user relationship (sharing servers).
    pub remove_account: bool,
}

/// A started account link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkStart {
    /// Opaque id to poll with.
    pub pin_id: String,
    /// Code shown to the invitee.
    pub code: String,
    /// Where to send the invitee.
    pub auth_url: String,
    /// Seconds until the PIN expires.
    pub expires_in: u32,
}

/// The state of an account link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkStatus {
    /// Not approved yet.
    Pending,
    /// Expired or refused.
    Expired,
    /// Approved.
    Linked(LinkedAccount),
}

/// Who signed in through the `auth` interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authenticated {
    /// The server's id for the account.
    pub user_id: String,
    /// Username.
    pub username: String,
    /// Administers the server.
    pub admin: bool,
}

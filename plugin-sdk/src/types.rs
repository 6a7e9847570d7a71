//! The contract's plain data types, re-exported from the generated bindings, plus constructors
//! and builders that keep manifests and results short. Only inherent helpers live here; the
//! shapes themselves are defined by `plugin-sdk/wit/connector.wit` and never change within one `0.N`.

use serde::ser::{Serialize, Serializer};

use crate::__private::bindings::zondarr::connector::types as wit;

pub use crate::__private::bindings::exports::zondarr::connector::auth::Authenticated;
pub use crate::__private::bindings::exports::zondarr::connector::oauth::{LinkStart, LinkStatus};
pub use wit::{
    AccountOrigin, AuthScheme, Brand, Capability, ConfigField, CreatedUser, DeleteOptions,
    ExtraHost, HeaderAuth, JoinFlow, JoinHelp, Library, LibraryAccess, LinkedAccount, Manifest,
    NewUser, PermissionDef, PermissionValue, QueryAuth, RemoteUser, ServerInfo, SessionAuth, Value,
    ValueKind,
};

impl Capability {
    /// Every capability, for a connector that implements every operation.
    pub const ALL: [Capability; 10] = [
        Capability::ListUsers,
        Capability::CreateUser,
        Capability::DeleteUser,
        Capability::SetEnabled,
        Capability::LibraryAccess,
        Capability::Permissions,
        Capability::SetPassword,
        Capability::OauthLink,
        Capability::Authenticate,
        Capability::FindUser,
    ];
}

impl CreatedUser {
    /// An account this call made (the daemon may delete it again on rollback).
    pub fn created(user: RemoteUser) -> Self {
        Self {
            user,
            origin: AccountOrigin::Created,
        }
    }

    /// An account that existed before this call, which it only granted access to (the daemon
    /// never deletes it on rollback).
    pub fn adopted(user: RemoteUser) -> Self {
        Self {
            user,
            origin: AccountOrigin::Adopted,
        }
    }
}

impl Manifest {
    /// A manifest with the required fields; everything else starts empty: no capabilities, no
    /// permissions or config fields, the `credentials` join flow, no credential injection, no
    /// extra hosts, no brand. Chain the `with_*` methods to fill it in.
    ///
    /// ```
    /// use zondarr_plugin_sdk::prelude::*;
    ///
    /// let manifest = Manifest::new("acme", "Acme Media", "1.2.0", "Acme Media servers.")
    ///     .with_capabilities([Capability::ListUsers, Capability::CreateUser])
    ///     .with_permission(PermissionDef::flag("allow_downloads", "Downloads", false))
    ///     .with_config(ConfigField::secret("api_key", "API key").required())
    ///     .with_auth(AuthScheme::header("X-Api-Key", "{api_key}"))
    ///     .with_color("#1e88e5");
    /// assert_eq!(manifest.capabilities.len(), 2);
    /// ```
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        version: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            version: version.into(),
            description: description.into(),
            capabilities: Vec::new(),
            permissions: Vec::new(),
            join_flow: JoinFlow::Credentials,
            config: Vec::new(),
            auth: AuthScheme::None,
            extra_hosts: Vec::new(),
            brand: Brand {
                color: None,
                icon_svg: None,
            },
            join_help: JoinHelp {
                apps_url: None,
                web_url: None,
                address_field: None,
            },
        }
    }

    /// Adds capabilities (duplicates are ignored).
    pub fn with_capabilities(mut self, capabilities: impl IntoIterator<Item = Capability>) -> Self {
        for capability in capabilities {
            if !self.capabilities.contains(&capability) {
                self.capabilities.push(capability);
            }
        }
        self
    }

    /// Adds a permission an invitation can grant.
    pub fn with_permission(mut self, permission: PermissionDef) -> Self {
        self.permissions.push(permission);
        self
    }

    /// Sets how invitees join.
    pub fn with_join_flow(mut self, join_flow: JoinFlow) -> Self {
        self.join_flow = join_flow;
        self
    }

    /// Adds a configuration field of the server form.
    pub fn with_config(mut self, field: ConfigField) -> Self {
        self.config.push(field);
        self
    }

    /// Sets how the daemon injects the credentials.
    pub fn with_auth(mut self, auth: AuthScheme) -> Self {
        self.auth = auth;
        self
    }

    /// Declares an extra host the connector may reach with [`crate::Server::fetch`].
    pub fn with_extra_host(mut self, host: ExtraHost) -> Self {
        self.extra_hosts.push(host);
        self
    }

    /// Sets the brand colour, `#rrggbb`.
    pub fn with_color(mut self, color: impl Into<String>) -> Self {
        self.brand.color = Some(color.into());
        self
    }

    /// Sets the icon, a small SVG document (the daemon sanitises it).
    pub fn with_icon_svg(mut self, svg: impl Into<String>) -> Self {
        self.brand.icon_svg = Some(svg.into());
        self
    }

    /// Where the apps for this kind of server are listed (`https`), shown to a new member.
    pub fn with_apps_url(mut self, url: impl Into<String>) -> Self {
        self.join_help.apps_url = Some(url.into());
        self
    }

    /// Where members sign in on the web when it is one fixed place for every server of this
    /// kind (`https`), e.g. `https://app.plex.tv`.
    pub fn with_web_url(mut self, url: impl Into<String>) -> Self {
        self.join_help.web_url = Some(url.into());
        self
    }

    /// Adds an optional `url` field `key` in which the admin gives the address members use to
    /// reach the server, and names it as the address shown on the invitee's result page (the
    /// configured base URL, often a LAN address, is never shown).
    pub fn with_member_address_field(
        mut self,
        key: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        let key = key.into();
        self.config
            .push(ConfigField::url(key.clone(), label).with_help(help));
        self.join_help.address_field = Some(key);
        self
    }
}

impl PermissionDef {
    /// A yes/no permission, e.g. `PermissionDef::flag("allow_downloads", "Downloads", false)`.
    pub fn flag(key: impl Into<String>, label: impl Into<String>, default: bool) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            description: None,
            kind: ValueKind::Flag,
            default_value: Value::Flag(default),
        }
    }

    /// A numeric permission, e.g. `PermissionDef::number("max_streams", "Streams", 0)`.
    pub fn number(key: impl Into<String>, label: impl Into<String>, default: i64) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            description: None,
            kind: ValueKind::Number,
            default_value: Value::Number(default),
        }
    }

    /// A free-text permission (e.g. a content filter), empty by default.
    pub fn text(key: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            description: None,
            kind: ValueKind::Text,
            default_value: Value::Text(String::new()),
        }
    }

    /// Adds the longer explanation shown to the admin.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

impl ConfigField {
    /// An optional field of the given kind; see the kind-named shortcuts.
    pub fn new(key: impl Into<String>, label: impl Into<String>, kind: ValueKind) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            help: None,
            kind,
            required: false,
            default_value: None,
        }
    }

    /// A free-text field.
    pub fn text(key: impl Into<String>, label: impl Into<String>) -> Self {
        Self::new(key, label, ValueKind::Text)
    }

    /// A secret (API key, token): stored encrypted, never shown again, never given to the
    /// connector; reference it from the [`AuthScheme`] instead.
    pub fn secret(key: impl Into<String>, label: impl Into<String>) -> Self {
        Self::new(key, label, ValueKind::Secret)
    }

    /// An absolute `http://` or `https://` URL.
    pub fn url(key: impl Into<String>, label: impl Into<String>) -> Self {
        Self::new(key, label, ValueKind::Url)
    }

    /// A checkbox.
    pub fn flag(key: impl Into<String>, label: impl Into<String>) -> Self {
        Self::new(key, label, ValueKind::Flag)
    }

    /// A whole number.
    pub fn number(key: impl Into<String>, label: impl Into<String>) -> Self {
        Self::new(key, label, ValueKind::Number)
    }

    /// Makes the field required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Adds help text shown under the field.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the value used when the field is left empty (never for secrets).
    pub fn with_default(mut self, value: impl Into<Value>) -> Self {
        self.default_value = Some(value.into());
        self
    }
}

impl AuthScheme {
    /// One header built from secret fields: `{key}` in the template is replaced by the field
    /// `key`, e.g. `AuthScheme::header("Authorization", "MediaBrowser Token=\"{api_key}\"")`.
    pub fn header(name: impl Into<String>, value_template: impl Into<String>) -> Self {
        Self::Header(HeaderAuth {
            name: name.into(),
            value_template: value_template.into(),
        })
    }

    /// One query parameter carrying a secret field, e.g. `AuthScheme::query("X-Plex-Token", "token")`.
    pub fn query(param: impl Into<String>, field: impl Into<String>) -> Self {
        Self::Query(QueryAuth {
            param: param.into(),
            field: field.into(),
        })
    }

    /// A session token the daemon gets by signing in: a `POST login_path` with a JSON object
    /// whose members are `(member name, config field key)` pairs, each sent as a JSON string;
    /// the token read at the JSON pointer `token_pointer` of the answer and sent as the header
    /// `header_name` built from `header_template` (`{token}` replaced). The daemon signs in again
    /// once when the server answers 401.
    ///
    /// ```
    /// use zondarr_plugin_sdk::prelude::*;
    ///
    /// let auth = AuthScheme::session(
    ///     "/auth/login",
    ///     [("username", "username"), ("password", "password")],
    ///     "/token",
    ///     "x-nd-authorization",
    ///     "Bearer {token}",
    /// );
    /// assert!(matches!(auth, AuthScheme::Session(_)));
    /// ```
    pub fn session<'a>(
        login_path: impl Into<String>,
        body_fields: impl IntoIterator<Item = (&'a str, &'a str)>,
        token_pointer: impl Into<String>,
        header_name: impl Into<String>,
        header_template: impl Into<String>,
    ) -> Self {
        Self::Session(SessionAuth {
            login_path: login_path.into(),
            body_fields: body_fields
                .into_iter()
                .map(|(member, key)| (member.to_owned(), key.to_owned()))
                .collect(),
            token_pointer: token_pointer.into(),
            header: HeaderAuth {
                name: header_name.into(),
                value_template: header_template.into(),
            },
        })
    }
}

impl ExtraHost {
    /// A host the connector may reach besides the server, without the server's credentials.
    /// `origin` is `https://host[:port]` without a path; `purpose` is shown to the admin.
    pub fn new(
        id: impl Into<String>,
        origin: impl Into<String>,
        purpose: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            origin: origin.into(),
            send_credentials: false,
            purpose: purpose.into(),
        }
    }

    /// Lets the daemon inject the server's credentials into requests to this host too.
    pub fn with_credentials(mut self) -> Self {
        self.send_credentials = true;
        self
    }
}

impl Value {
    /// The text of a `text` value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The boolean of a `flag` value.
    pub fn as_flag(&self) -> Option<bool> {
        match self {
            Self::Flag(flag) => Some(*flag),
            _ => None,
        }
    }

    /// The number of a `number` value.
    pub fn as_number(&self) -> Option<i64> {
        match self {
            Self::Number(number) => Some(*number),
            _ => None,
        }
    }
}

impl From<bool> for Value {
    fn from(flag: bool) -> Self {
        Self::Flag(flag)
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Self {
        Self::Number(number)
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

/// A value serialises as the plain JSON value: a string, a boolean or a number.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(text) => serializer.serialize_str(text),
            Self::Flag(flag) => serializer.serialize_bool(*flag),
            Self::Number(number) => serializer.serialize_i64(*number),
        }
    }
}

impl PermissionValue {
    /// A permission key with its value.
    pub fn new(key: impl Into<String>, value: impl Into<Value>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

impl NewUser {
    /// The value to apply for a permission key, if the daemon sent one.
    pub fn permission(&self, key: &str) -> Option<&Value> {
        self.permissions
            .iter()
            .find(|permission| permission.key == key)
            .map(|permission| &permission.value)
    }
}

impl LibraryAccess {
    /// The library ids for `only`, `None` for `all`.
    pub fn only_ids(&self) -> Option<&[String]> {
        match self {
            Self::All => None,
            Self::Only(ids) => Some(ids),
        }
    }
}

impl ServerInfo {
    /// What `test-connection` found: the server's name and product; add the version and id with
    /// the `with_*` methods.
    pub fn new(name: impl Into<String>, product: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            product: product.into(),
            version: None,
            server_id: None,
        }
    }

    /// Sets the server software version.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Sets the server's stable unique id.
    pub fn with_server_id(mut self, id: impl Into<String>) -> Self {
        self.server_id = Some(id.into());
        self
    }
}

impl Library {
    /// A library with its id, display name and kind (`movies`, `tvshows`, `music`, …).
    pub fn new(id: impl Into<String>, name: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            kind: kind.into(),
        }
    }
}

impl RemoteUser {
    /// An enabled, non-admin account with only an id and a username; add the rest with the
    /// `with_*` methods.
    pub fn new(id: impl Into<String>, username: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            username: username.into(),
            email: None,
            kind: None,
            disabled: false,
            admin: false,
            last_activity: None,
        }
    }

    /// Sets the e-mail address (an empty one counts as none).
    pub fn with_email(mut self, email: Option<String>) -> Self {
        self.email = email.filter(|email| !email.is_empty());
        self
    }

    /// Sets the kind of account, e.g. `local`, `friend`, `home`.
    pub fn with_kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Sets whether the account is disabled.
    pub fn with_disabled(mut self, disabled: bool) -> Self {
        self.disabled = disabled;
        self
    }

    /// Sets whether the account administers the server.
    pub fn with_admin(mut self, admin: bool) -> Self {
        self.admin = admin;
        self
    }

    /// Sets the last activity, RFC 3339 UTC.
    pub fn with_last_activity(mut self, at: impl Into<String>) -> Self {
        self.last_activity = Some(at.into());
        self
    }
}

impl Authenticated {
    /// Who signed in.
    pub fn new(user_id: impl Into<String>, username: impl Into<String>, admin: bool) -> Self {
        Self {
            user_id: user_id.into(),
            username: username.into(),
            admin,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn manifest_builder_fills_every_field() {
        let manifest = Manifest::new("acme", "Acme", "1.0.0", "Acme servers.")
            .with_capabilities(Capability::ALL)
            .with_capabilities([Capability::ListUsers])
            .with_permission(
                PermissionDef::flag("allow_downloads", "Downloads", true).with_description("d"),
            )
            .with_permission(PermissionDef::number("max_sessions", "Sessions", 2))
            .with_join_flow(JoinFlow::OauthLink)
            .with_config(ConfigField::secret("api_key", "API key").required())
            .with_config(
                ConfigField::number("page", "Page size")
                    .with_default(50_i64)
                    .with_help("h"),
            )
            .with_auth(AuthScheme::header("X-Token", "{api_key}"))
            .with_extra_host(
                ExtraHost::new("plex-tv", "https://plex.tv", "sign-in").with_credentials(),
            )
            .with_color("#000000")
            .with_icon_svg("<svg/>");
        assert_eq!(manifest.capabilities.len(), 10);
        assert_eq!(manifest.permissions[0].default_value, Value::Flag(true));
        assert_eq!(manifest.permissions[0].kind, ValueKind::Flag);
        assert_eq!(manifest.permissions[0].description.as_deref(), Some("d"));
        assert_eq!(manifest.permissions[1].default_value, Value::Number(2));
        assert_eq!(manifest.permissions[1].kind, ValueKind::Number);
        assert_eq!(manifest.join_flow, JoinFlow::OauthLink);
        assert!(manifest.config[0].required);
        assert_eq!(manifest.config[0].kind, ValueKind::Secret);
        assert!(!manifest.config[1].required);
        assert_eq!(manifest.config[1].default_value, Some(Value::Number(50)));
        assert_eq!(
            manifest.auth,
            AuthScheme::Header(HeaderAuth {
                name: "X-Token".into(),
                value_template: "{api_key}".into()
            })
        );
        assert!(manifest.extra_hosts[0].send_credentials);
        assert_eq!(manifest.brand.color.as_deref(), Some("#000000"));
        assert_eq!(manifest.brand.icon_svg.as_deref(), Some("<svg/>"));
    }

    #[test]
    fn manifest_defaults() {
        let manifest = Manifest::new("x", "X", "0.1.0", "X.");
        assert!(manifest.capabilities.is_empty());
        assert_eq!(manifest.join_flow, JoinFlow::Credentials);
        assert_eq!(manifest.auth, AuthScheme::None);
        assert_eq!(
            AuthScheme::query("api_key", "key"),
            AuthScheme::Query(QueryAuth {
                param: "api_key".into(),
                field: "key".into()
            })
        );
        assert!(!ExtraHost::new("a", "https://a", "p").send_credentials);
    }

    #[test]
    fn values() {
        assert_eq!(Value::from(true).as_flag(), Some(true));
        assert_eq!(Value::from(3_i64).as_number(), Some(3));
        assert_eq!(Value::from("a").as_text(), Some("a"));
        assert_eq!(Value::from(String::from("b")).as_flag(), None);
        let json = serde_json::to_string(&[
            Value::Text("t".into()),
            Value::Flag(false),
            Value::Number(-4),
        ])
        .unwrap();
        assert_eq!(json, r#"["t",false,-4]"#);
    }

    #[test]
    fn new_user_helpers() {
        let user = NewUser {
            username: "ann".into(),
            password: None,
            email: None,
            linked_account: None,
            libraries: LibraryAccess::Only(vec!["1".into()]),
            permissions: vec![PermissionValue::new("allow_downloads", true)],
        };
        assert_eq!(user.permission("allow_downloads"), Some(&Value::Flag(true)));
        assert_eq!(user.permission("other"), None);
        assert_eq!(user.libraries.only_ids(), Some(&["1".to_owned()][..]));
        assert_eq!(LibraryAccess::All.only_ids(), None);
    }

    #[test]
    fn result_builders() {
        let user = RemoteUser::new("1", "ann")
            .with_email(Some(String::new()))
            .with_kind("local")
            .with_disabled(true)
            .with_admin(true)
            .with_last_activity("2026-01-01T00:00:00Z");
        assert_eq!(user.email, None);
        assert!(user.disabled && user.admin);
        assert_eq!(
            RemoteUser::new("1", "a")
                .with_email(Some("a@b".into()))
                .email
                .as_deref(),
            Some("a@b")
        );
        let info = ServerInfo::new("Home", "Jellyfin")
            .with_version("10.9")
            .with_server_id("abc");
        assert_eq!(info.version.as_deref(), Some("10.9"));
        assert_eq!(info.server_id.as_deref(), Some("abc"));
        assert_eq!(Library::new("1", "Movies", "movies").kind, "movies");
        assert!(Authenticated::new("1", "admin", true).admin);
    }
}

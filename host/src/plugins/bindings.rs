//! The one `bindgen!` site of the host (contract `zondarr:connector@0.3.x`) and the conversions
//! between the generated types and the host-side types in [`super::types`].
//!
//! Nothing outside `plugins` sees these types. A future major version of the contract gets a
//! sibling module with its own bindings and the same conversions.

use super::error::ConnectorError;
use super::types as t;

wasmtime::component::bindgen!({
    world: "full-plugin",
    path: "../plugin-sdk/wit",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "zondarr:connector/host.server": super::host_http::ServerHandle,
    },
});

pub(crate) use exports::zondarr::connector::{auth, connector, oauth};
pub(crate) use zondarr::connector::host;
pub(crate) use zondarr::connector::types as wit;

/// The contract major this module implements: `0.3.x` (for `0.x`, the minor is the major).
pub(crate) const CONTRACT_MAJOR: (u64, u64) = (0, 3);
/// Export name prefix of the required interface.
pub(crate) const CONNECTOR_EXPORT: &str = "zondarr:connector/connector@";
/// Export name prefix of the optional PIN-linking interface.
pub(crate) const OAUTH_EXPORT: &str = "zondarr:connector/oauth@";
/// Export name prefix of the optional sign-in interface.
pub(crate) const AUTH_EXPORT: &str = "zondarr:connector/auth@";

/// A capability this daemon knows; `None` for an `other(..)` one, which it ignores (a newer
/// plugin may offer what this daemon cannot use).
fn capability(c: wit::Capability) -> Option<t::Capability> {
    Some(match c {
        wit::Capability::ListUsers => t::Capability::ListUsers,
        wit::Capability::CreateUser => t::Capability::CreateUser,
        wit::Capability::DeleteUser => t::Capability::DeleteUser,
        wit::Capability::SetEnabled => t::Capability::SetEnabled,
        wit::Capability::LibraryAccess => t::Capability::LibraryAccess,
        wit::Capability::Permissions => t::Capability::Permissions,
        wit::Capability::SetPassword => t::Capability::SetPassword,
        wit::Capability::OauthLink => t::Capability::OauthLink,
        wit::Capability::Authenticate => t::Capability::Authenticate,
        wit::Capability::FindUser => t::Capability::FindUser,
        wit::Capability::Other(_) => return None,
    })
}

impl TryFrom<wit::JoinFlow> for t::JoinFlow {
    type Error = String;

    fn try_from(j: wit::JoinFlow) -> Result<Self, String> {
        match j {
            wit::JoinFlow::Credentials => Ok(t::JoinFlow::Credentials),
            wit::JoinFlow::OauthLink => Ok(t::JoinFlow::OauthLink),
            wit::JoinFlow::Other(name) => Err(format!(
                "the plugin needs the join flow `{}`, which this daemon does not know; a newer Zondarr may support it",
                name.escape_debug()
            )),
        }
    }
}

impl TryFrom<wit::ValueKind> for t::ValueKind {
    type Error = String;

    fn try_from(k: wit::ValueKind) -> Result<Self, String> {
        match k {
            wit::ValueKind::Text => Ok(t::ValueKind::Text),
            wit::ValueKind::Secret => Ok(t::ValueKind::Secret),
            wit::ValueKind::Url => Ok(t::ValueKind::Url),
            wit::ValueKind::Flag => Ok(t::ValueKind::Flag),
            wit::ValueKind::Number => Ok(t::ValueKind::Number),
            wit::ValueKind::Other(name) => Err(format!(
                "the plugin uses the value kind `{}`, which this daemon does not know; a newer Zondarr may support it",
                name.escape_debug()
            )),
        }
    }
}

impl From<wit::Value> for t::Value {
    fn from(v: wit::Value) -> Self {
        match v {
            wit::Value::Text(s) => t::Value::Text(s),
            wit::Value::Flag(b) => t::Value::Flag(b),
            wit::Value::Number(n) => t::Value::Number(n),
        }
    }
}

impl From<&t::Value> for wit::Value {
    fn from(v: &t::Value) -> Self {
        match v {
            t::Value::Text(s) => wit::Value::Text(s.clone()),
            t::Value::Flag(b) => wit::Value::Flag(*b),
            t::Value::Number(n) => wit::Value::Number(*n),
        }
    }
}

impl TryFrom<wit::Manifest> for t::Manifest {
    type Error = String;

    fn try_from(m: wit::Manifest) -> Result<Self, String> {
        Ok(t::Manifest {
            id: m.id,
            name: m.name,
            version: m.version,
            description: m.description,
            capabilities: m.capabilities.into_iter().filter_map(capability).collect(),
            permissions: m
                .permissions
                .into_iter()
                .map(|p| {
                    Ok(t::PermissionDef {
                        key: p.key,
                        label: p.label,
                        description: p.description,
                        kind: p.kind.try_into()?,
                        default_value: p.default_value.into(),
                    })
                })
                .collect::<Result<_, String>>()?,
            join_flow: m.join_flow.try_into()?,
            config: m
                .config
                .into_iter()
                .map(|f| {
                    Ok(t::ConfigField {
                        key: f.key,
                        label: f.label,
                        help: f.help,
                        kind: f.kind.try_into()?,
                        required: f.required,
                        default_value: f.default_value.map(Into::into),
                    })
                })
                .collect::<Result<_, String>>()?,
            auth: match m.auth {
                wit::AuthScheme::None => t::AuthScheme::None,
                wit::AuthScheme::Header(h) => t::AuthScheme::Header {
                    name: h.name,
                    value_template: h.value_template,
                },
                wit::AuthScheme::Query(q) => t::AuthScheme::Query {
                    param: q.param,
                    field: q.field,
                },
                wit::AuthScheme::Session(s) => t::AuthScheme::Session {
                    login_path: s.login_path,
                    body_fields: s.body_fields,
                    token_pointer: s.token_pointer,
                    header: s.header.name,
                    value_template: s.header.value_template,
                },
            },
            extra_hosts: m
                .extra_hosts
                .into_iter()
                .map(|h| t::ExtraHost {
                    id: h.id,
                    origin: h.origin,
                    send_credentials: h.send_credentials,
                    purpose: h.purpose,
                })
                .collect(),
            brand: t::Brand {
                color: m.brand.color,
                icon_svg: m.brand.icon_svg,
            },
            join_help: t::JoinHelp {
                apps_url: m.join_help.apps_url,
                web_url: m.join_help.web_url,
                address_field: m.join_help.address_field,
            },
        })
    }
}

impl From<wit::ConnectorError> for ConnectorError {
    fn from(e: wit::ConnectorError) -> Self {
        match e {
            wit::ConnectorError::Unauthorized => ConnectorError::Unauthorized,
            wit::ConnectorError::Forbidden(m) => ConnectorError::Forbidden(m),
            wit::ConnectorError::NotFound(m) => ConnectorError::NotFound(m),
            wit::ConnectorError::UsernameTaken => ConnectorError::UsernameTaken,
            wit::ConnectorError::InvalidInput(m) => ConnectorError::InvalidInput(m),
            wit::ConnectorError::Unreachable(m) => ConnectorError::Unreachable(m),
            wit::ConnectorError::Timeout => ConnectorError::Timeout,
            wit::ConnectorError::RateLimited(s) => ConnectorError::RateLimited(s),
            wit::ConnectorError::Unsupported(m) => ConnectorError::Unsupported(m),
            wit::ConnectorError::RemoteStatus(s) => ConnectorError::RemoteStatus(s),
            wit::ConnectorError::InvalidResponse(m) => ConnectorError::InvalidResponse(m),
            wit::ConnectorError::Denied(m) => ConnectorError::Denied(m),
            wit::ConnectorError::Internal(m) | wit::ConnectorError::Other(m) => {
                ConnectorError::Internal(m)
            }
        }
    }
}

impl From<wit::ServerInfo> for t::ServerInfo {
    fn from(s: wit::ServerInfo) -> Self {
        t::ServerInfo {
            name: s.name,
            product: s.product,
            version: s.version,
            server_id: s.server_id,
        }
    }
}

impl From<wit::Library> for t::Library {
    fn from(l: wit::Library) -> Self {
        t::Library {
            id: l.id,
            name: l.name,
            kind: l.kind,
        }
    }
}

impl From<wit::RemoteUser> for t::RemoteUser {
    fn from(u: wit::RemoteUser) -> Self {
        t::RemoteUser {
            id: u.id,
            username: u.username,
            email: u.email,
            kind: u.kind,
            disabled: u.disabled,
            admin: u.admin,
            last_activity: u.last_activity,
        }
    }
}

impl From<wit::CreatedUser> for t::CreatedUser {
    fn from(c: wit::CreatedUser) -> Self {
        t::CreatedUser {
            user: c.user.into(),
            origin: match c.origin {
                wit::AccountOrigin::Created => t::AccountOrigin::Created,
                wit::AccountOrigin::Adopted => t::AccountOrigin::Adopted,
            },
        }
    }
}

impl From<&t::LibraryAccess> for wit::LibraryAccess {
    fn from(a: &t::LibraryAccess) -> Self {
        match a {
            t::LibraryAccess::All => wit::LibraryAccess::All,
            t::LibraryAccess::Only(ids) => wit::LibraryAccess::Only(ids.clone()),
        }
    }
}

impl From<&t::PermissionValue> for wit::PermissionValue {
    fn from(p: &t::PermissionValue) -> Self {
        wit::PermissionValue {
            key: p.key.clone(),
            value: (&p.value).into(),
        }
    }
}

impl From<&t::LinkedAccount> for wit::LinkedAccount {
    fn from(a: &t::LinkedAccount) -> Self {
        wit::LinkedAccount {
            id: a.id.clone(),
            username: a.username.clone(),
            email: a.email.clone(),
            token: a.token.expose().to_owned(),
        }
    }
}

impl From<wit::LinkedAccount> for t::LinkedAccount {
    fn from(a: wit::LinkedAccount) -> Self {
        t::LinkedAccount {
            id: a.id,
            username: a.username,
            email: a.email,
            token: a.token.into(),
        }
    }
}

impl From<&t::NewUser> for wit::NewUser {
    fn from(u: &t::NewUser) -> Self {
        wit::NewUser {
            username: u.username.clone(),
            password: u.password.as_ref().map(|p| p.expose().to_owned()),
            email: u.email.clone(),
            linked_account: u.linked_account.as_ref().map(Into::into),
            libraries: (&u.libraries).into(),
            permissions: u.permissions.iter().map(Into::into).collect(),
        }
    }
}

impl From<t::DeleteOptions> for wit::DeleteOptions {
    fn from(o: t::DeleteOptions) -> Self {
        wit::DeleteOptions {
            remove_account: o.remove_account,
        }
    }
}

impl From<oauth::LinkStart> for t::LinkStart {
    fn from(s: oauth::LinkStart) -> Self {
        t::LinkStart {
            pin_id: s.pin_id,
            code: s.code,
            auth_url: s.auth_url,
            expires_in: s.expires_in,
        }
    }
}

impl From<oauth::LinkStatus> for t::LinkStatus {
    fn from(s: oauth::LinkStatus) -> Self {
        match s {
            oauth::LinkStatus::Pending => t::LinkStatus::Pending,
            oauth::LinkStatus::Expired => t::LinkStatus::Expired,
            oauth::LinkStatus::Linked(a) => t::LinkStatus::Linked(a.into()),
        }
    }
}

impl From<auth::Authenticated> for t::Authenticated {
    fn from(a: auth::Authenticated) -> Self {
        t::Authenticated {
            user_id: a.user_id,
            username: a.username,
            admin: a.admin,
        }
    }
}

//! Validation of the manifest a plugin returns from `describe()`. Every rule has a precise
//! message naming the offending field, shown by the API and `zondarr plugin check`.

use super::host_http::template_keys;
use super::types::{AuthScheme, Capability, JoinFlow, Manifest, ValueKind};
use std::collections::HashSet;

/// Largest accepted brand icon.
const MAX_ICON_BYTES: usize = 64 * 1024;

fn is_id(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_key(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A well-formed origin: `http(s)://host[:port]`, nothing else.
pub(crate) fn is_origin(s: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(s) else {
        return false;
    };
    matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && !s.trim_end_matches('/').ends_with(':')
}

/// What the component exports besides `connector`, for consistency checks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Interfaces {
    pub(crate) oauth: bool,
    pub(crate) auth: bool,
}

/// Check `m`; `Err` is the refusal reason.
pub(crate) fn validate(m: &Manifest, interfaces: Interfaces) -> Result<(), String> {
    if !is_id(&m.id) {
        return Err(format!(
            "manifest id `{}` is not 1 to 32 characters of a-z, 0-9 and `-`",
            m.id.escape_debug()
        ));
    }
    if m.name.trim().is_empty() || m.name.chars().count() > 100 {
        return Err("manifest name must be 1 to 100 characters".into());
    }
    if semver::Version::parse(&m.version).is_err() {
        return Err(format!(
            "manifest version `{}` is not a semver version",
            m.version.escape_debug()
        ));
    }
    if m.description.chars().count() > 500 {
        return Err("manifest description is longer than 500 characters".into());
    }

    let mut seen = HashSet::new();
    for c in &m.capabilities {
        if !seen.insert(*c) {
            return Err(format!("capability `{}` is listed twice", c.as_str()));
        }
    }
    if m.supports(Capability::OauthLink) && !interfaces.oauth {
        return Err(
            "capability `oauth_link` is declared but the `oauth` interface is not exported".into(),
        );
    }
    if m.supports(Capability::Authenticate) && !interfaces.auth {
        return Err(
            "capability `authenticate` is declared but the `auth` interface is not exported".into(),
        );
    }
    if m.join_flow == JoinFlow::OauthLink && !m.supports(Capability::OauthLink) {
        return Err("join flow `oauth_link` needs the `oauth_link` capability".into());
    }

    let mut keys = HashSet::new();
    for f in &m.config {
        if !is_key(&f.key) {
            return Err(format!(
                "config field key `{}` is not 1 to 64 characters of a-z, 0-9 and `_`",
                f.key.escape_debug()
            ));
        }
        if !keys.insert(f.key.as_str()) {
            return Err(format!("config field `{}` is declared twice", f.key));
        }
        if f.label.trim().is_empty() {
            return Err(format!("config field `{}` has no label", f.key));
        }
        match &f.default_value {
            Some(_) if f.kind == ValueKind::Secret => {
                return Err(format!(
                    "config field `{}` is a secret and cannot have a default",
                    f.key
                ));
            }
            Some(v) if !v.fits(f.kind) => {
                return Err(format!(
                    "the default of config field `{}` does not match its kind",
                    f.key
                ));
            }
            _ => {}
        }
    }

    let mut perms = HashSet::new();
    for p in &m.permissions {
        if !is_key(&p.key) {
            return Err(format!(
                "permission key `{}` is not 1 to 64 characters of a-z, 0-9 and `_`",
                p.key.escape_debug()
            ));
        }
        if !perms.insert(p.key.as_str()) {
            return Err(format!("permission `{}` is declared twice", p.key));
        }
        if !matches!(
            p.kind,
            ValueKind::Flag | ValueKind::Number | ValueKind::Text
        ) {
            return Err(format!(
                "permission `{}` must be of kind flag, number or text",
                p.key
            ));
        }
        if !p.default_value.fits(p.kind) {
            return Err(format!(
                "the default of permission `{}` does not match its kind",
                p.key
            ));
        }
    }

    let secret = |key: &str| {
        m.config_field(key)
            .is_some_and(|f| f.kind == ValueKind::Secret)
    };
    match &m.auth {
        AuthScheme::None => {}
        AuthScheme::Header {
            name,
            value_template,
        } => {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(format!(
                    "auth header name `{}` is not a valid header name",
                    name.escape_debug()
                ));
            }
            let keys = template_keys(value_template)
                .ok_or_else(|| "the auth header template has unbalanced `{` `}`".to_owned())?;
            if keys.is_empty() {
                return Err("the auth header template refers to no secret field".into());
            }
            for k in keys {
                if !secret(&k) {
                    return Err(format!(
                        "the auth header template refers to `{{{k}}}`, which is not a secret config field"
                    ));
                }
            }
        }
        AuthScheme::Query { param, field } => {
            if param.is_empty()
                || param
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || "&=#?".contains(c))
            {
                return Err(format!(
                    "auth query parameter `{}` is not a valid name",
                    param.escape_debug()
                ));
            }
            if !secret(field) {
                return Err(format!(
                    "auth query field `{field}` is not a secret config field"
                ));
            }
        }
        AuthScheme::Session {
            login_path,
            body_fields,
            token_pointer,
            header,
            value_template,
        } => validate_session(
            m,
            login_path,
            body_fields,
            token_pointer,
            header,
            value_template,
        )?,
    }

    let mut hosts = HashSet::new();
    for h in &m.extra_hosts {
        if !is_id(&h.id) {
            return Err(format!(
                "extra host id `{}` is not 1 to 32 characters of a-z, 0-9 and `-`",
                h.id.escape_debug()
            ));
        }
        if !hosts.insert(h.id.as_str()) {
            return Err(format!("extra host `{}` is declared twice", h.id));
        }
        if !is_origin(&h.origin) {
            return Err(format!(
                "extra host `{}` origin `{}` is not of the form http(s)://host[:port]",
                h.id,
                h.origin.escape_debug()
            ));
        }
        if h.purpose.trim().is_empty() {
            return Err(format!(
                "extra host `{}` does not say why it is needed",
                h.id
            ));
        }
    }

    if let Some(color) = &m.brand.color
        && !(color.len() == 7
            && color.starts_with('#')
            && color[1..].bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(format!(
            "brand color `{}` is not #rrggbb",
            color.escape_debug()
        ));
    }
    if m.brand
        .icon_svg
        .as_ref()
        .is_some_and(|s| s.len() > MAX_ICON_BYTES)
    {
        return Err("brand icon is larger than 64 KiB".into());
    }
    for (name, url) in [
        ("apps_url", &m.join_help.apps_url),
        ("web_url", &m.join_help.web_url),
    ] {
        if let Some(url) = url
            && !is_https_url(url)
        {
            return Err(format!(
                "join help `{name}` `{}` is not an https URL",
                url.escape_debug()
            ));
        }
    }
    if let Some(key) = &m.join_help.address_field
        && m.config_field(key).is_none_or(|f| f.kind != ValueKind::Url)
    {
        return Err(format!(
            "join help `address_field` names `{}`, which is not a url config field",
            key.escape_debug()
        ));
    }
    Ok(())
}

/// An absolute `https` URL without credentials, at most 512 characters.
fn is_https_url(s: &str) -> bool {
    s.len() <= 512
        && reqwest::Url::parse(s).is_ok_and(|url| {
            url.scheme() == "https"
                && url.host_str().is_some()
                && url.username().is_empty()
                && url.password().is_none()
        })
}

/// The rules of a `session` auth scheme: a path to sign in at, body members taken from config
/// fields (at least one secret), a JSON pointer, and a header template around `{token}`.
fn validate_session(
    m: &Manifest,
    login_path: &str,
    body_fields: &[(String, String)],
    token_pointer: &str,
    header: &str,
    value_template: &str,
) -> Result<(), String> {
    if !login_path.starts_with('/') || login_path.starts_with("//") || login_path.len() > 512 {
        return Err(format!(
            "the session sign-in path `{}` must be a path starting with `/`",
            login_path.escape_debug()
        ));
    }
    let mut members = HashSet::new();
    let mut secrets = 0;
    for (member, key) in body_fields {
        if member.is_empty() || !members.insert(member.as_str()) {
            return Err(format!(
                "the session body member `{}` is empty or listed twice",
                member.escape_debug()
            ));
        }
        match m.config_field(key) {
            None => {
                return Err(format!(
                    "the session body member `{}` takes `{}`, which is not a config field",
                    member.escape_debug(),
                    key.escape_debug()
                ));
            }
            Some(f) if f.kind == ValueKind::Secret => secrets += 1,
            Some(_) => {}
        }
    }
    if secrets == 0 {
        return Err("the session sign-in sends no secret field".into());
    }
    if !token_pointer.starts_with('/') {
        return Err(format!(
            "the session token pointer `{}` is not a JSON pointer (it starts with `/`)",
            token_pointer.escape_debug()
        ));
    }
    if reqwest::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
        return Err(format!(
            "session header name `{}` is not a valid header name",
            header.escape_debug()
        ));
    }
    if template_keys(value_template).as_deref() != Some(&["token".to_owned()][..]) {
        return Err(
            "the session header template must contain `{token}` and nothing else in braces".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::types::{Brand, ConfigField, ExtraHost, JoinHelp, PermissionDef, Value};

    fn good() -> Manifest {
        Manifest {
            id: "jelly-fin2".into(),
            name: "Jellyfin".into(),
            version: "1.2.3-beta.1".into(),
            description: "x".into(),
            capabilities: vec![Capability::ListUsers],
            permissions: vec![PermissionDef {
                key: "allow_downloads".into(),
                label: "Downloads".into(),
                description: None,
                kind: ValueKind::Flag,
                default_value: Value::Flag(true),
            }],
            join_flow: JoinFlow::Credentials,
            config: vec![ConfigField {
                key: "api_key".into(),
                label: "API key".into(),
                help: None,
                kind: ValueKind::Secret,
                required: true,
                default_value: None,
            }],
            auth: AuthScheme::Header {
                name: "X-Emby-Token".into(),
                value_template: "{api_key}".into(),
            },
            extra_hosts: vec![ExtraHost {
                id: "plex-tv".into(),
                origin: "https://plex.tv".into(),
                send_credentials: false,
                purpose: "sign in".into(),
            }],
            brand: Brand {
                color: Some("#aa00FF".into()),
                icon_svg: None,
            },
            join_help: JoinHelp::default(),
        }
    }

    const ALL: Interfaces = Interfaces {
        oauth: true,
        auth: true,
    };

    fn refused(f: impl FnOnce(&mut Manifest)) -> String {
        let mut m = good();
        f(&mut m);
        validate(&m, ALL).unwrap_err()
    }

    #[test]
    fn accepts_a_good_manifest() {
        validate(&good(), ALL).unwrap();
    }

    #[test]
    fn refuses_each_bad_field_with_its_name() {
        assert!(refused(|m| m.id = "Bad_Id".into()).contains("manifest id"));
        assert!(refused(|m| m.id = "a".repeat(33)).contains("manifest id"));
        assert!(refused(|m| m.version = "1.0".into()).contains("semver"));
        assert!(refused(|m| m.permissions[0].key = "Allow".into()).contains("permission key"));
        assert!(refused(|m| m.permissions.push(m.permissions[0].clone())).contains("twice"));
        assert!(
            refused(|m| m.auth = AuthScheme::Header {
                name: "X".into(),
                value_template: "{nope}".into()
            })
            .contains("{nope}")
        );
        assert!(
            refused(|m| m.auth = AuthScheme::Query {
                param: "t".into(),
                field: "url".into()
            })
            .contains("`url`")
        );
        assert!(
            refused(|m| m.extra_hosts[0].origin = "https://plex.tv/path".into()).contains("origin")
        );
        assert!(refused(|m| m.extra_hosts[0].origin = "ftp://plex.tv".into()).contains("origin"));
        assert!(
            refused(|m| m.extra_hosts[0].origin = "https://u:p@plex.tv".into()).contains("origin")
        );
        assert!(refused(|m| m.brand.color = Some("red".into())).contains("color"));
        assert!(refused(|m| m.capabilities.push(Capability::ListUsers)).contains("twice"));
        assert!(
            refused(|m| m.config[0].default_value = Some(Value::Text("x".into())))
                .contains("secret")
        );
    }

    fn session() -> AuthScheme {
        AuthScheme::Session {
            login_path: "/auth/login".into(),
            body_fields: vec![("password".into(), "api_key".into())],
            token_pointer: "/token".into(),
            header: "x-nd-authorization".into(),
            value_template: "Bearer {token}".into(),
        }
    }

    #[test]
    fn session_auth_signs_in_with_a_secret_and_sends_the_token() {
        let mut m = good();
        m.auth = session();
        validate(&m, ALL).unwrap();
        let with = |f: fn(&mut AuthScheme)| {
            refused(|m| {
                m.auth = session();
                f(&mut m.auth);
            })
        };
        macro_rules! field {
            ($name:ident, $value:expr) => {
                |a: &mut AuthScheme| {
                    if let AuthScheme::Session { $name, .. } = a {
                        *$name = $value;
                    }
                }
            };
        }
        assert!(with(field!(login_path, "https://evil.test/x".into())).contains("sign-in path"));
        assert!(with(field!(body_fields, vec![])).contains("no secret"));
        assert!(
            with(field!(body_fields, vec![("user".into(), "nope".into())]))
                .contains("not a config field")
        );
        assert!(
            with(field!(
                body_fields,
                vec![
                    ("p".into(), "api_key".into()),
                    ("p".into(), "api_key".into())
                ]
            ))
            .contains("twice")
        );
        assert!(with(field!(token_pointer, "token".into())).contains("JSON pointer"));
        assert!(with(field!(header, "bad header".into())).contains("header name"));
        assert!(with(field!(value_template, "Bearer {api_key}".into())).contains("{token}"));
    }

    #[test]
    fn join_help_links_are_https_and_the_address_is_a_url_field() {
        let mut m = good();
        m.config.push(ConfigField {
            key: "member_url".into(),
            label: "Address".into(),
            help: None,
            kind: ValueKind::Url,
            required: false,
            default_value: None,
        });
        m.join_help = JoinHelp {
            apps_url: Some("https://jellyfin.org/downloads/".into()),
            web_url: None,
            address_field: Some("member_url".into()),
        };
        validate(&m, ALL).unwrap();
        let mut bad = m.clone();
        bad.join_help.apps_url = Some("javascript:alert(1)".into());
        assert!(validate(&bad, ALL).unwrap_err().contains("apps_url"));
        let mut bad = m.clone();
        bad.join_help.web_url = Some("http://app.example".into());
        assert!(validate(&bad, ALL).unwrap_err().contains("web_url"));
        let mut bad = m;
        bad.join_help.address_field = Some("api_key".into());
        assert!(validate(&bad, ALL).unwrap_err().contains("address_field"));
    }

    #[test]
    fn origins() {
        assert!(is_origin("https://plex.tv"));
        assert!(is_origin("http://127.0.0.1:9"));
        assert!(is_origin("https://plex.tv/"));
        assert!(!is_origin("https://plex.tv:443x"));
        assert!(!is_origin("https://plex.tv?x"));
        assert!(!is_origin("plex.tv"));
    }

    #[test]
    fn optional_interfaces_must_back_their_capabilities() {
        let mut m = good();
        m.capabilities.push(Capability::OauthLink);
        let err = validate(
            &m,
            Interfaces {
                oauth: false,
                auth: true,
            },
        )
        .unwrap_err();
        assert!(err.contains("oauth"), "{err}");
    }
}

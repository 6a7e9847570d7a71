//! Media servers: validation of a server's settings against its connector's manifest, sealing of
//! its credentials, and the [`ServerContext`] a plugin call needs. No HTTP here.

use crate::crypto::{Crypto, Purpose};
use crate::db::servers::ServerRow;
use crate::error::{Error, ErrorCode, FieldError, Result};
use crate::plugins::{Manifest, ServerContext, ValueKind};
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet};

/// Settings of a server as given by the admin (create, update, test).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Base URL.
    pub url: String,
    /// Every configuration field, secret or not, by key.
    pub config: BTreeMap<String, String>,
    /// Extra-host origin overrides.
    pub extra_hosts: BTreeMap<String, String>,
    /// Accept invalid TLS certificates.
    pub accept_invalid_certs: bool,
    /// Keys whose values are stored sealed. They stay secret whatever manifest is loaded now: a
    /// plugin version that drops or retypes the field never gets them as configuration, they
    /// are never written to the plaintext column and never returned.
    pub sealed: BTreeSet<String>,
}

impl Settings {
    /// Whether the value of `key` is a secret: the manifest says so, or it is stored sealed.
    pub fn is_secret(&self, manifest: &Manifest, key: &str) -> bool {
        self.sealed.contains(key)
            || manifest
                .config_field(key)
                .is_some_and(|f| f.kind == ValueKind::Secret)
    }
}

/// Validate a base URL: absolute http(s), a host, no credentials, query or fragment. Returns it
/// without a trailing slash.
pub fn check_url(url: &str) -> std::result::Result<String, &'static str> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("must start with http:// or https://")?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty()
        || authority.contains('@')
        || url.contains(['?', '#', ' '])
        || url.len() > 2048
    {
        return Err("must be an absolute URL with a host and no credentials, query or fragment");
    }
    Ok(url.to_owned())
}

fn check_origin(origin: &str) -> bool {
    check_url(origin).is_ok_and(|u| {
        u.split_once("://")
            .is_some_and(|(_, rest)| !rest.contains('/'))
    })
}

/// Turn a JSON value from a request into the text form stored for a field of `kind`.
fn field_text(kind: ValueKind, value: &Json) -> std::result::Result<String, &'static str> {
    match (kind, value) {
        (ValueKind::Flag, Json::Bool(b)) => Ok(b.to_string()),
        (ValueKind::Flag, Json::String(s)) if s == "true" || s == "false" => Ok(s.clone()),
        (ValueKind::Flag, _) => Err("must be true or false"),
        (ValueKind::Number, Json::Number(n)) if n.is_i64() => Ok(n.to_string()),
        (ValueKind::Number, Json::String(s)) if s.parse::<i64>().is_ok() => Ok(s.clone()),
        (ValueKind::Number, _) => Err("must be a whole number"),
        (ValueKind::Url, Json::String(s)) => {
            check_url(s).map_err(|_| "must be an absolute http:// or https:// URL")
        }
        (_, Json::String(s)) if s.len() > 4096 => Err("is too long"),
        (_, Json::String(s)) => Ok(s.clone()),
        _ => Err("must be a string"),
    }
}

/// Validate `config` (JSON object from a request) against the manifest, merging over `current`
/// (for updates: absent keys keep their value, `null` clears an optional one). Returns every
/// field's text value.
pub fn merge_config(
    manifest: &Manifest,
    current: &BTreeMap<String, String>,
    given: Option<&Map<String, Json>>,
    fields: &mut Vec<FieldError>,
) -> BTreeMap<String, String> {
    let mut out = current.clone();
    if let Some(given) = given {
        for (key, value) in given {
            let Some(field) = manifest.config_field(key) else {
                fields.push(FieldError::new(
                    format!("config.{key}"),
                    format!("is not a setting of {} servers", manifest.name),
                ));
                continue;
            };
            if value.is_null() {
                out.remove(key);
                continue;
            }
            match field_text(field.kind, value) {
                Ok(text) if text.trim().is_empty() => {
                    out.remove(key);
                }
                Ok(text) => {
                    out.insert(key.clone(), text);
                }
                Err(rule) => fields.push(FieldError::new(format!("config.{key}"), rule)),
            }
        }
    }
    for field in &manifest.config {
        if !out.contains_key(&field.key) {
            if let Some(default) = &field.default_value {
                out.insert(field.key.clone(), default.to_config_text());
            } else if field.required {
                fields.push(FieldError::new(
                    format!("config.{}", field.key),
                    format!("{} is required", field.label),
                ));
            }
        }
    }
    out
}

/// Validate extra-host overrides against the manifest.
pub fn check_extra_hosts(
    manifest: &Manifest,
    given: &BTreeMap<String, String>,
    fields: &mut Vec<FieldError>,
) {
    for (id, origin) in given {
        if manifest.extra_host(id).is_none() {
            fields.push(FieldError::new(
                format!("extra_hosts.{id}"),
                "is not a host this connector declares",
            ));
        } else if !check_origin(origin) {
            fields.push(FieldError::new(
                format!("extra_hosts.{id}"),
                "must be an origin like https://host[:port]",
            ));
        }
    }
}

/// Split settings into what the plugin may see and the secrets the host injects.
pub fn context(manifest: &Manifest, settings: &Settings) -> ServerContext {
    let mut ctx = ServerContext::new(settings.url.clone());
    for (key, value) in &settings.config {
        ctx = if settings.is_secret(manifest, key) {
            ctx.with_secret(key.clone(), value.clone())
        } else {
            ctx.with_config(key.clone(), value.clone())
        };
    }
    for (id, origin) in &settings.extra_hosts {
        ctx = ctx.with_extra_host(id.clone(), origin.clone());
    }
    ctx.accept_invalid_certs = settings.accept_invalid_certs;
    ctx
}

/// The keys of secret fields in `manifest`.
pub fn secret_keys(manifest: &Manifest) -> Vec<String> {
    manifest
        .config
        .iter()
        .filter(|f| f.kind == ValueKind::Secret)
        .map(|f| f.key.clone())
        .collect()
}

fn binding(id: i64) -> String {
    format!("server:{id}")
}

/// Seal the secret values of `config` for server `id`; `None` when there are none.
pub fn seal_credentials(
    crypto: &Crypto,
    id: i64,
    secrets: &BTreeMap<String, String>,
) -> Option<Vec<u8>> {
    if secrets.is_empty() {
        return None;
    }
    let json = serde_json::to_vec(secrets).unwrap_or_default();
    Some(crypto.seal(Purpose::ServerCredential, &binding(id), &json))
}

/// Open the sealed credentials of a server row.
pub fn open_credentials(crypto: &Crypto, row: &ServerRow) -> Result<BTreeMap<String, String>> {
    let Some(sealed) = &row.credentials else {
        return Ok(BTreeMap::new());
    };
    let plain = crypto
        .open(Purpose::ServerCredential, &binding(row.id), sealed)
        .map_err(|e| {
            Error::Internal(anyhow::anyhow!(
                "cannot open the credentials of server {}: {e}",
                row.id
            ))
        })?;
    serde_json::from_slice(&plain)
        .map_err(|e| Error::Internal(anyhow::anyhow!("credentials of server {}: {e}", row.id)))
}

/// The full settings of a stored server (credentials opened).
pub fn settings_of(crypto: &Crypto, row: &ServerRow) -> Result<Settings> {
    let mut config: BTreeMap<String, String> =
        serde_json::from_str(&row.config).unwrap_or_default();
    let sealed = open_credentials(crypto, row)?;
    let sealed_keys = sealed.keys().cloned().collect();
    // A sealed value wins over a plaintext one of the same key.
    config.extend(sealed);
    Ok(Settings {
        url: row.base_url.clone(),
        config,
        extra_hosts: serde_json::from_str(&row.extra_hosts).unwrap_or_default(),
        accept_invalid_certs: row.accept_invalid_certs,
        sealed: sealed_keys,
    })
}

/// The plugin call context of a stored server.
pub fn context_of(crypto: &Crypto, manifest: &Manifest, row: &ServerRow) -> Result<ServerContext> {
    Ok(context(manifest, &settings_of(crypto, row)?))
}

/// The JSON stored in `servers.config`: the non-secret values only (a key the manifest calls
/// secret, or one already stored sealed, goes to the sealed part).
pub fn public_config(
    manifest: &Manifest,
    settings: &Settings,
) -> (String, BTreeMap<String, String>) {
    let (secret, public): (BTreeMap<_, _>, BTreeMap<_, _>) = settings
        .config
        .clone()
        .into_iter()
        .partition(|(k, _)| settings.is_secret(manifest, k));
    (
        serde_json::to_string(&public).unwrap_or_else(|_| "{}".into()),
        secret,
    )
}

/// The connector's manifest for `kind`, or a field error naming what is loaded.
pub fn manifest_for(plugins: &crate::plugins::PluginHost, kind: &str) -> Result<Manifest> {
    plugins.manifest(kind).ok_or_else(|| {
        let mut ids = plugins.ids();
        ids.sort();
        Error::invalid(vec![FieldError::new(
            "kind",
            if ids.is_empty() {
                "no connector plugin is loaded".to_owned()
            } else {
                format!(
                    "no connector `{kind}` is loaded (loaded: {})",
                    ids.join(", ")
                )
            },
        )])
    })
}

/// The error for a server whose connector plugin is not loaded.
pub fn connector_missing(kind: &str) -> Error {
    Error::new(
        ErrorCode::PluginNotFound,
        format!("the connector plugin `{kind}` of this server is not loaded"),
    )
}

/// A value for display in the API: flags and numbers as JSON types.
pub fn display_value(kind: ValueKind, text: &str) -> Json {
    match kind {
        ValueKind::Flag => Json::Bool(text == "true"),
        ValueKind::Number => text
            .parse::<i64>()
            .map(Json::from)
            .unwrap_or_else(|_| Json::String(text.to_owned())),
        _ => Json::String(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            check_url("http://192.168.1.10:8096/").unwrap(),
            "http://192.168.1.10:8096"
        );
        assert_eq!(
            check_url("https://media.example.org/jellyfin").unwrap(),
            "https://media.example.org/jellyfin"
        );
        assert!(check_url("ftp://x").is_err());
        assert!(check_url("http://user:pw@host").is_err());
        assert!(check_url("http://host/?a=b").is_err());
        assert!(check_origin("https://plex.tv"));
        assert!(!check_origin("https://plex.tv/api"));
    }

    #[test]
    fn field_values() {
        assert_eq!(
            field_text(ValueKind::Flag, &Json::Bool(true)).unwrap(),
            "true"
        );
        assert!(field_text(ValueKind::Flag, &Json::from(1)).is_err());
        assert_eq!(field_text(ValueKind::Number, &Json::from(5)).unwrap(), "5");
        assert!(field_text(ValueKind::Number, &Json::from(1.5)).is_err());
        assert!(field_text(ValueKind::Url, &Json::from("nope")).is_err());
        assert_eq!(
            field_text(ValueKind::Secret, &Json::from("k")).unwrap(),
            "k"
        );
    }

    #[test]
    fn credentials_round_trip_bound_to_the_row() {
        let crypto = Crypto::new("0123456789abcdef0123456789abcdef");
        let mut secrets = BTreeMap::new();
        secrets.insert("api_key".to_owned(), "s3cret".to_owned());
        let sealed = seal_credentials(&crypto, 7, &secrets).unwrap();
        let mut row = ServerRow {
            id: 7,
            name: "a".into(),
            kind: "k".into(),
            base_url: "http://x".into(),
            config: "{}".into(),
            credentials: Some(sealed),
            extra_hosts: "{}".into(),
            accept_invalid_certs: false,
            enabled: true,
            remote: Default::default(),
            last_checked_at: None,
            created_at: String::new(),
            updated_at: String::new(),
            admin_login: false,
            last_sync_at: None,
            last_error: None,
            last_error_at: None,
        };
        assert_eq!(open_credentials(&crypto, &row).unwrap(), secrets);
        row.id = 8;
        assert!(
            open_credentials(&crypto, &row).is_err(),
            "moved to another row"
        );
    }
}

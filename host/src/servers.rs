//! Media servers: validation of a server's settings against its connector's manifest, sealing of
//! its credentials, the [`ServerContext`] a plugin call needs, and the orchestration of testing,
//! adding, editing and deleting a server ([`test`], [`create`], [`update`], [`delete`]).
//!
//! Both skins call these functions: the JSON API (`http::servers`) and the admin pages
//! (`web::admin`). Nothing here knows axum, JSON bodies or HTML.

use crate::auth::Actor;
use crate::crypto::{Crypto, Purpose};
use crate::db::{self, servers::ServerRow};
use crate::error::{Error, ErrorCode, FieldError, Result};
use crate::plugins::{Library, Manifest, PluginState, ServerContext, ServerInfo, ValueKind};
use crate::state::AppState;
use serde_json::{Map, Value as Json, json};
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
    /// Private CA certificates (normalised PEM) trusted for the server's own origin, in
    /// addition to the public roots.
    pub ca_certificate: Option<String>,
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
    ctx.ca_certificate = settings.ca_certificate.as_deref().map(std::sync::Arc::from);
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
        ca_certificate: row.ca_certificate.clone(),
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

/// A server's settings as the admin gives them. On create, `name`, `kind` and `url` are
/// required; on update absent fields keep their value.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// Display name, 1 to 64 characters, unique.
    pub name: Option<String>,
    /// Connector id; cannot change after creation.
    pub kind: Option<String>,
    /// Base URL.
    pub url: Option<String>,
    /// Values of the connector's configuration fields by key (`null` or empty clears).
    pub config: Option<Map<String, Json>>,
    /// Extra-host origin overrides.
    pub extra_hosts: Option<BTreeMap<String, String>>,
    /// Accept a TLS certificate that does not verify.
    pub accept_invalid_certs: Option<bool>,
    /// Private CA certificates in PEM form (`Some(None)` or blank clears them).
    pub ca_certificate: Option<Option<String>>,
    /// Whether the server is used.
    pub enabled: Option<bool>,
    /// Let the server's admins sign in to Zondarr.
    pub admin_login: Option<bool>,
}

/// What a connection test learned.
#[derive(Debug, Clone)]
pub struct Probe {
    /// What the server says about itself.
    pub server: ServerInfo,
    /// Its libraries.
    pub libraries: Vec<Library>,
}

/// How admins sign in through a server of this kind, if they can: `password` (the connector's
/// `authenticate`) or `oauth` (its account link, e.g. "Sign in with Plex").
pub fn admin_login_method(manifest: &Manifest) -> Option<&'static str> {
    if manifest.supports(crate::plugins::Capability::Authenticate) {
        Some("password")
    } else if manifest.supports(crate::plugins::Capability::OauthLink) {
        Some("oauth")
    } else {
        None
    }
}

fn check_admin_login(manifest: &Manifest, wanted: Option<bool>, fields: &mut Vec<FieldError>) {
    if wanted == Some(true) && admin_login_method(manifest).is_none() {
        fields.push(FieldError::new(
            "admin_login",
            format!("{} servers cannot check admin sign-ins", manifest.name),
        ));
    }
}

/// The state of the connector of `kind`: `loaded`, `unhealthy`, `failed` or `missing`.
pub fn connector_state(state: &AppState, kind: &str) -> &'static str {
    match state.plugins().status(kind).map(|s| s.state) {
        Some(PluginState::Loaded) if state.plugins().manifest(kind).is_some() => "loaded",
        Some(PluginState::Unhealthy) => "unhealthy",
        Some(PluginState::Failed) => "failed",
        _ => "missing",
    }
}

/// Which secret fields of a stored server are set.
pub fn credentials_set(state: &AppState, row: &ServerRow) -> BTreeMap<String, bool> {
    let manifest = state.plugins().manifest(&row.kind);
    let secret_set: Vec<String> = state
        .security()
        .crypto
        .open(
            Purpose::ServerCredential,
            &binding(row.id),
            row.credentials.as_deref().unwrap_or_default(),
        )
        .ok()
        .and_then(|plain| serde_json::from_slice::<BTreeMap<String, String>>(&plain).ok())
        .map(|m| m.into_keys().collect())
        .unwrap_or_default();
    let mut credentials: BTreeMap<String, bool> = manifest
        .as_ref()
        .map(|m| secret_keys(m).into_iter().map(|k| (k, false)).collect())
        .unwrap_or_default();
    for key in secret_set {
        credentials.insert(key, true);
    }
    credentials
}

fn check_name(name: &str, fields: &mut Vec<FieldError>) -> String {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 64 {
        fields.push(FieldError::new("name", "must be 1 to 64 characters"));
    }
    name
}

/// The CA certificates an input leaves the server with: absent keeps `current`'s, `null` or
/// blank clears them, anything else must be PEM certificates (`CA_CERTIFICATE_INVALID`).
fn ca_certificate_from(input: &Input, current: Option<&Settings>) -> Result<Option<String>> {
    let given = match &input.ca_certificate {
        None => return Ok(current.and_then(|c| c.ca_certificate.clone())),
        Some(None) => return Ok(None),
        Some(Some(text)) if text.trim().is_empty() => return Ok(None),
        Some(Some(text)) => text,
    };
    match crate::server_ca::parse(given) {
        Ok(_) => Ok(Some(crate::server_ca::normalise(given))),
        Err(rule) => Err(Error::Client {
            code: ErrorCode::CaCertificateInvalid,
            message: format!("the CA certificate {rule}"),
            fields: vec![FieldError::new("ca_certificate", rule)],
            retry_after: None,
        }),
    }
}

/// The rule for a CA certificate together with accepting invalid certificates.
pub const RULE_CA_WITH_INVALID_CERTS: &str = "cannot be combined with accepting invalid \
     certificates: with a CA certificate the server's certificate is verified; turn that off";

/// Validate the settings part of an input against the manifest, over `current` settings. A CA
/// certificate that does not parse is refused first, on its own (`CA_CERTIFICATE_INVALID`).
fn settings_from(
    manifest: &Manifest,
    input: &Input,
    current: Option<&Settings>,
    fields: &mut Vec<FieldError>,
) -> Result<Settings> {
    let ca_certificate = ca_certificate_from(input, current)?;
    let url = match input.url.as_deref().or(current.map(|c| c.url.as_str())) {
        Some(u) => check_url(u).unwrap_or_else(|rule| {
            fields.push(FieldError::new("url", rule));
            String::new()
        }),
        None => {
            fields.push(FieldError::new("url", "is required"));
            String::new()
        }
    };
    let empty = BTreeMap::new();
    let config = merge_config(
        manifest,
        current.map_or(&empty, |c| &c.config),
        input.config.as_ref(),
        fields,
    );
    let extra_hosts = input
        .extra_hosts
        .clone()
        .or_else(|| current.map(|c| c.extra_hosts.clone()))
        .unwrap_or_default();
    check_extra_hosts(manifest, &extra_hosts, fields);
    let accept_invalid_certs = input
        .accept_invalid_certs
        .or(current.map(|c| c.accept_invalid_certs))
        .unwrap_or(false);
    // Both at once would leave it unclear whether the certificate is verified: refused.
    if accept_invalid_certs && ca_certificate.is_some() {
        fields.push(FieldError::new(
            "ca_certificate",
            RULE_CA_WITH_INVALID_CERTS,
        ));
    }
    Ok(Settings {
        url,
        config,
        extra_hosts,
        accept_invalid_certs,
        ca_certificate,
        sealed: current.map(|c| c.sealed.clone()).unwrap_or_default(),
    })
}

/// Test the connection and read the libraries; nothing is stored.
///
/// A "not found" from the media server here is about the URL the admin typed, not about a route
/// of this API: it is answered as `SERVER_URL_NOT_FOUND` (502), never as a 404.
async fn probe(state: &AppState, manifest: &Manifest, settings: &Settings) -> Result<Probe> {
    let ctx = context(manifest, settings);
    let relabel = |e: Error| url_not_found(manifest, e);
    let server = state
        .plugins()
        .test_connection(&manifest.id, &ctx)
        .await
        .map_err(|e| relabel(e.into()))?;
    let libraries = state
        .plugins()
        .list_libraries(&manifest.id, &ctx)
        .await
        .map_err(|e| relabel(e.into()))?;
    Ok(Probe { server, libraries })
}

fn url_not_found(manifest: &Manifest, e: Error) -> Error {
    if e.code() != ErrorCode::RemoteNotFound {
        return e;
    }
    Error::new(
        ErrorCode::ServerUrlNotFound,
        format!(
            "the server URL answered \"not found\": check that it points at a {} server, with \
             its port and any path prefix ({})",
            manifest.name,
            e.public_message()
        ),
    )
}

/// Check the settings against the connector, connect and read the libraries. Nothing is stored.
pub async fn test(state: &AppState, input: &Input) -> Result<Probe> {
    let kind = input
        .kind
        .clone()
        .ok_or_else(|| Error::invalid(vec![FieldError::new("kind", "is required")]))?;
    let manifest = manifest_for(state.plugins(), &kind)?;
    let mut fields = Vec::new();
    let settings = settings_from(&manifest, input, None, &mut fields)?;
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    probe(state, &manifest, &settings).await
}

fn library_triples(libraries: &[Library]) -> Vec<(String, String, String)> {
    libraries
        .iter()
        .map(|l| (l.id.clone(), l.name.clone(), l.kind.clone()))
        .collect()
}

fn name_conflict(name: &str) -> Error {
    Error::new(
        ErrorCode::Conflict,
        format!("a server named {name} already exists"),
    )
}

/// Add a server: validate, test the connection, store it (credentials sealed) with its
/// libraries. Returns the new id and the number of libraries imported.
pub async fn create(state: &AppState, actor: &Actor, input: Input) -> Result<(i64, i64)> {
    let mut fields = Vec::new();
    let name = check_name(input.name.as_deref().unwrap_or_default(), &mut fields);
    let kind = input.kind.clone().unwrap_or_default();
    if kind.is_empty() {
        fields.push(FieldError::new("kind", "is required"));
        return Err(Error::invalid(fields));
    }
    let manifest = manifest_for(state.plugins(), &kind)?;
    let settings = settings_from(&manifest, &input, None, &mut fields)?;
    check_admin_login(&manifest, input.admin_login, &mut fields);
    let admin_login = input.admin_login.unwrap_or(false);
    let check = name.clone();
    if state
        .db()
        .run(move |c| Ok(db::servers::name_taken(c, &check, None)?))
        .await?
    {
        return Err(name_conflict(&name));
    }
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    let probed = probe(state, &manifest, &settings).await?;

    let (config_json, secrets) = public_config(&manifest, &settings);
    let row = ServerRow {
        id: 0,
        name: name.clone(),
        kind: kind.clone(),
        base_url: settings.url.clone(),
        config: config_json,
        credentials: None,
        extra_hosts: serde_json::to_string(&settings.extra_hosts).unwrap_or_else(|_| "{}".into()),
        accept_invalid_certs: settings.accept_invalid_certs,
        ca_certificate: settings.ca_certificate.clone(),
        enabled: input.enabled.unwrap_or(true),
        remote: [
            Some(probed.server.name.clone()),
            Some(probed.server.product.clone()),
            probed.server.version.clone(),
            probed.server.server_id.clone(),
        ],
        last_checked_at: Some(db::time::now()),
        created_at: String::new(),
        updated_at: String::new(),
        admin_login: false,
        last_sync_at: None,
        last_error: None,
        last_error_at: None,
    };
    let crypto = state.security().crypto.clone();
    let libs = library_triples(&probed.libraries);
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            if db::servers::name_taken(tx, &row.name, None)? {
                return Err(name_conflict(&row.name));
            }
            let id = db::servers::insert(tx, &row)?;
            let sealed = seal_credentials(&crypto, id, &secrets);
            db::servers::set_credentials(tx, id, sealed.as_deref())?;
            let sync = db::servers::sync_libraries(tx, id, &libs)?;
            db::servers::set_admin_login(tx, id, admin_login)?;
            actor.audit(
                tx,
                "server.create",
                Some(&format!("server:{id}")),
                Some(json!({ "name": row.name, "kind": row.kind, "libraries": sync.added })),
            )?;
            Ok((id, sync.added as i64))
        })
        .await
}

/// A server by id, or `NOT_FOUND`.
pub async fn load(state: &AppState, id: i64) -> Result<ServerRow> {
    state
        .db()
        .run(move |c| Ok(db::servers::get(c, id)?))
        .await?
        .ok_or_else(|| Error::not_found("server"))
}

/// Every server by name, with its number of libraries.
pub async fn list(state: &AppState) -> Result<Vec<(ServerRow, i64)>> {
    state
        .db()
        .run(|c| {
            let rows = db::servers::list(c)?;
            rows.into_iter()
                .map(|r| Ok((db::servers::library_count(c, r.id)?, r)))
                .map(|x: Result<(i64, ServerRow)>| x.map(|(n, r)| (r, n)))
                .collect::<Result<Vec<_>>>()
        })
        .await
}

/// The number of libraries of server `id`.
pub async fn library_count(state: &AppState, id: i64) -> Result<i64> {
    state
        .db()
        .run(move |c| Ok(db::servers::library_count(c, id)?))
        .await
}

/// The secrets stored for a server were given for its address: when its URL (origin or base
/// path) or the origin of an extra host changes, every stored secret must be entered again in the same
/// request (`SECRETS_REQUIRED` names the missing ones), so a typo or a hostile edit never sends
/// them — not even for the connection test — to the new address. A sealed value the connector
/// no longer declares cannot be entered again and is dropped.
///
/// Trusting more at the same address counts as a move too: a CA certificate added or replaced,
/// or invalid certificates accepted, would let whoever holds that CA's key (or any certificate)
/// receive the secrets. Trusting less (the CA removed, verification turned back on) does not.
fn secrets_follow_the_address(
    manifest: &Manifest,
    input: &Input,
    current: &Settings,
    settings: &mut Settings,
) -> Result<()> {
    let origin = |url: &str| crate::auth::origin_of(url);
    // The base path counts too: another application may sit behind the same reverse proxy.
    let url_moved = origin(&settings.url) != origin(&current.url)
        || settings.url.trim_end_matches('/') != current.url.trim_end_matches('/');
    let hosts_moved = input.extra_hosts.is_some() && {
        let norm = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
            m.iter().map(|(k, v)| (k.clone(), origin(v))).collect()
        };
        norm(&settings.extra_hosts) != norm(&current.extra_hosts)
    };
    let trust_widened = (settings.accept_invalid_certs && !current.accept_invalid_certs)
        || crate::server_ca::widens(
            current.ca_certificate.as_deref(),
            settings.ca_certificate.as_deref(),
        );
    if !url_moved && !hosts_moved && !trust_widened {
        return Ok(());
    }
    let retyped = |key: &str| {
        input
            .config
            .as_ref()
            .and_then(|c| c.get(key))
            .and_then(Json::as_str)
            .is_some_and(|v| !v.trim().is_empty())
    };
    let mut missing = Vec::new();
    for key in current.config.keys() {
        if !current.is_secret(manifest, key) || retyped(key) {
            continue;
        }
        if manifest.config_field(key).is_some() {
            missing.push(FieldError::new(
                format!("config.{key}"),
                if url_moved || hosts_moved {
                    "must be entered again: the address changed"
                } else {
                    "must be entered again: the trusted certificates changed"
                },
            ));
        } else {
            settings.config.remove(key);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let message = if url_moved || hosts_moved {
        let what = if url_moved { "URL" } else { "extra host" };
        format!(
            "the server's {what} moves to another address: enter its secrets again in the same \
             request (the stored ones are not sent to the new address)"
        )
    } else {
        "the server's trusted certificates change (a new CA certificate, or invalid \
         certificates accepted): enter its secrets again in the same request (the stored ones \
         are not sent under the new trust)"
            .to_owned()
    };
    Err(Error::Client {
        code: ErrorCode::SecretsRequired,
        message,
        fields: missing,
        retry_after: None,
    })
}

/// Edit a server: absent fields keep their value. An enabled server is tested again before the
/// change is saved, and its libraries are re-imported.
pub async fn update(state: &AppState, actor: &Actor, id: i64, input: Input) -> Result<()> {
    let mut row = load(state, id).await?;
    let mut fields = Vec::new();
    if input.kind.as_deref().is_some_and(|k| k != row.kind) {
        fields.push(FieldError::new(
            "kind",
            "cannot be changed; add a new server instead",
        ));
    }
    let manifest = state
        .plugins()
        .manifest(&row.kind)
        .ok_or_else(|| connector_missing(&row.kind))?;
    let current = settings_of(&state.security().crypto, &row)?;
    let mut settings = settings_from(&manifest, &input, Some(&current), &mut fields)?;
    if let Some(name) = &input.name {
        row.name = check_name(name, &mut fields);
        let (check, except) = (row.name.clone(), row.id);
        if fields.is_empty()
            && state
                .db()
                .run(move |c| Ok(db::servers::name_taken(c, &check, Some(except))?))
                .await?
        {
            return Err(name_conflict(&row.name));
        }
    }
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    secrets_follow_the_address(&manifest, &input, &current, &mut settings)?;
    row.enabled = input.enabled.unwrap_or(row.enabled);
    let mut admin_fields = Vec::new();
    check_admin_login(&manifest, input.admin_login, &mut admin_fields);
    if !admin_fields.is_empty() {
        return Err(Error::invalid(admin_fields));
    }
    let admin_login = input.admin_login;
    // A disabled server is not contacted, so it can be switched off even while unreachable.
    let libs = if row.enabled {
        let probed = probe(state, &manifest, &settings).await?;
        row.remote = [
            Some(probed.server.name),
            Some(probed.server.product),
            probed.server.version,
            probed.server.server_id,
        ];
        row.last_checked_at = Some(db::time::now());
        Some(library_triples(&probed.libraries))
    } else {
        None
    };
    let (config_json, secrets) = public_config(&manifest, &settings);
    row.config = config_json;
    row.credentials = seal_credentials(&state.security().crypto, id, &secrets);
    row.base_url = settings.url;
    row.extra_hosts = serde_json::to_string(&settings.extra_hosts).unwrap_or_else(|_| "{}".into());
    row.accept_invalid_certs = settings.accept_invalid_certs;
    row.ca_certificate = settings.ca_certificate.clone();
    let changed: Vec<&str> = [
        ("name", input.name.is_some()),
        ("url", input.url.is_some()),
        ("config", input.config.is_some()),
        ("extra_hosts", input.extra_hosts.is_some()),
        ("accept_invalid_certs", input.accept_invalid_certs.is_some()),
        ("ca_certificate", input.ca_certificate.is_some()),
        ("enabled", input.enabled.is_some()),
        ("admin_login", input.admin_login.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, c)| c.then_some(k))
    .collect();
    let detail = json!({ "changed": changed });
    let actor = actor.clone();
    let stored = row.clone();
    state
        .db()
        .write(move |tx| {
            db::servers::update(tx, &stored)?;
            if let Some(enabled) = admin_login {
                db::servers::set_admin_login(tx, stored.id, enabled)?;
            }
            // Admins who sign in through this server lose their sessions and keys the moment
            // it stops vouching for them (admin sign-in off, or the server switched off).
            if !stored.enabled || !admin_login.unwrap_or(stored.admin_login) {
                let (sessions, keys) = db::auth::revoke_external_admins(tx, stored.id)?;
                if sessions + keys > 0 {
                    actor.audit(
                        tx,
                        "server.external_admins_revoked",
                        Some(&format!("server:{}", stored.id)),
                        Some(json!({ "sessions": sessions, "api_keys": keys })),
                    )?;
                }
            }
            if let Some(libs) = &libs {
                db::servers::sync_libraries(tx, stored.id, libs)?;
            }
            actor.audit(
                tx,
                "server.update",
                Some(&format!("server:{}", stored.id)),
                Some(detail),
            )?;
            Ok(())
        })
        .await?;
    state.security().credentials_revoked();
    Ok(())
}

/// Delete a server: its users and libraries are removed from Zondarr (not from the server);
/// invitations lose it as a target.
pub async fn delete(state: &AppState, actor: &Actor, id: i64) -> Result<()> {
    let row = load(state, id).await?;
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            if !db::servers::delete(tx, id)? {
                return Err(Error::not_found("server"));
            }
            actor.audit(
                tx,
                "server.delete",
                Some(&format!("server:{id}")),
                Some(json!({ "name": row.name })),
            )?;
            Ok(())
        })
        .await?;
    // Admins who signed in through it are deleted with it (their sessions and keys too).
    state.security().credentials_revoked();
    Ok(())
}

/// The libraries of server `id` (`NOT_FOUND` for an unknown server).
pub async fn libraries(state: &AppState, id: i64) -> Result<Vec<db::servers::LibraryRow>> {
    load(state, id).await?;
    state
        .db()
        .run(move |c| Ok(db::servers::libraries(c, id)?))
        .await
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
            ca_certificate: None,
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

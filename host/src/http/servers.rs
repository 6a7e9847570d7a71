//! Media servers: test a connection before saving, create (libraries imported right away),
//! list, get, edit (re-tested before saving), delete, and the server's libraries.
//!
//! Credentials are write-only: responses say which secret fields are set, never their values.

use crate::auth::Admin;
use crate::db::{self, audit::Outcome, servers::ServerRow};
use crate::error::{Error, ErrorCode, FieldError, Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path, Query};
use crate::http::openapi::{ConnectorCall, Errors};
use crate::http::pagination::{PageQuery, Paginated};
use crate::plugins::{Library, Manifest, PluginState, ServerInfo, ValueKind};
use crate::servers::{self, Settings};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as JsonValue, json};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa_axum::routes;

/// Server routes.
pub fn routes() -> Routes {
    vec![
        routes!(list, create),
        routes!(test),
        routes!(show, update, remove),
        routes!(libraries),
    ]
}

/// A media server's settings. On create, `name`, `kind` and `url` are required; on update every
/// field is optional and absent fields keep their value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ServerInput {
    /// Display name, 1 to 64 characters (not only spaces), unique.
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    name: Option<String>,
    /// Connector id (`GET /api/v1/plugins`), e.g. `jellyfin`; cannot change after creation.
    #[schema(min_length = 1)]
    kind: Option<String>,
    /// The server's base URL (http or https).
    #[schema(min_length = 1)]
    url: Option<String>,
    /// Values of the connector's configuration fields (`config_fields` of the plugin), by key;
    /// secret fields are stored encrypted and never returned.
    #[schema(value_type = Option<BTreeMap<String, Value>>)]
    config: Option<Map<String, JsonValue>>,
    /// Origins overriding the defaults of the connector's extra hosts, by extra-host id.
    extra_hosts: Option<BTreeMap<String, String>>,
    /// Accept a TLS certificate that does not verify (self-signed).
    accept_invalid_certs: Option<bool>,
    /// Whether the server is used (default `true`). A disabled server is not contacted.
    enabled: Option<bool>,
    /// Let this server's administrators (Jellyfin) or owner (Plex) sign in to Zondarr as admins
    /// (default `false`). Needs a connector with the `authenticate` or `oauth_link` capability.
    admin_login: Option<bool>,
}

crate::required_body!(
    /// A new media server: `name`, `kind` and `url` are required.
    NewServer(ServerInput): "name", "kind", "url"
);

crate::required_body!(
    /// Changes to a media server (its kind cannot change).
    ServerChanges(ServerInput): ; omit "kind"
);

crate::required_body!(
    /// A connection test: `kind` and `url` are required.
    ServerToTest(ServerInput): "kind", "url"
);

/// What the connection test learned, as shown to the admin.
#[derive(Serialize, ToSchema)]
struct TestResult {
    /// What the server says about itself.
    server: ServerInfo,
    /// Its libraries.
    libraries: Vec<Library>,
}

/// A media server.
#[derive(Serialize, ToSchema)]
struct ServerView {
    /// Server id.
    id: i64,
    /// Display name.
    name: String,
    /// Connector id.
    kind: String,
    /// Base URL.
    url: String,
    /// Whether it is used.
    enabled: bool,
    /// Whether a TLS certificate that does not verify is accepted.
    accept_invalid_certs: bool,
    /// Non-secret configuration values.
    #[schema(value_type = BTreeMap<String, Value>)]
    config: BTreeMap<String, JsonValue>,
    /// Secret fields and whether each is set (values are never returned).
    credentials: BTreeMap<String, bool>,
    /// Extra-host origins set for this server, by extra-host id.
    extra_hosts: BTreeMap<String, String>,
    /// `loaded`, `unhealthy`, `failed` or `missing`.
    connector_state: &'static str,
    /// What the server said about itself at the last check.
    remote: Option<ServerInfo>,
    /// When the connection was last checked.
    last_checked_at: Option<String>,
    /// Number of libraries.
    libraries: i64,
    /// Creation time.
    created_at: String,
    /// Last change.
    updated_at: String,
    /// Admins may sign in through this server.
    admin_login: bool,
    /// When a sync last completed.
    last_sync_at: Option<String>,
    /// Why the last background call to the server failed; `null` when it worked.
    last_error: Option<String>,
    /// When it failed.
    last_error_at: Option<String>,
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

pub fn connector_state(state: &AppState, kind: &str) -> &'static str {
    match state.plugins().status(kind).map(|s| s.state) {
        Some(PluginState::Loaded) if state.plugins().manifest(kind).is_some() => "loaded",
        Some(PluginState::Unhealthy) => "unhealthy",
        Some(PluginState::Failed) => "failed",
        _ => "missing",
    }
}

fn view(state: &AppState, row: ServerRow, library_count: i64) -> ServerView {
    let manifest = state.plugins().manifest(&row.kind);
    let public: BTreeMap<String, String> = serde_json::from_str(&row.config).unwrap_or_default();
    let kind_of = |key: &str| {
        manifest
            .as_ref()
            .and_then(|m| m.config_field(key))
            .map_or(ValueKind::Text, |f| f.kind)
    };
    let secret_set: Vec<String> = state
        .security()
        .crypto
        .open(
            crate::crypto::Purpose::ServerCredential,
            &format!("server:{}", row.id),
            row.credentials.as_deref().unwrap_or_default(),
        )
        .ok()
        .and_then(|plain| serde_json::from_slice::<BTreeMap<String, String>>(&plain).ok())
        .map(|m| m.into_keys().collect())
        .unwrap_or_default();
    let mut credentials: BTreeMap<String, bool> = manifest
        .as_ref()
        .map(|m| {
            servers::secret_keys(m)
                .into_iter()
                .map(|k| (k, false))
                .collect()
        })
        .unwrap_or_default();
    for key in secret_set {
        credentials.insert(key, true);
    }
    let [name, product, version, remote_id] = row.remote.clone();
    ServerView {
        connector_state: connector_state(state, &row.kind),
        config: public
            .iter()
            .map(|(k, v)| (k.clone(), servers::display_value(kind_of(k), v)))
            .collect(),
        credentials,
        extra_hosts: serde_json::from_str(&row.extra_hosts).unwrap_or_default(),
        remote: name.map(|name| ServerInfo {
            name,
            product: product.unwrap_or_default(),
            version,
            server_id: remote_id,
        }),
        id: row.id,
        name: row.name,
        kind: row.kind,
        url: row.base_url,
        enabled: row.enabled,
        accept_invalid_certs: row.accept_invalid_certs,
        last_checked_at: row.last_checked_at,
        libraries: library_count,
        created_at: row.created_at,
        updated_at: row.updated_at,
        admin_login: row.admin_login,
        last_sync_at: row.last_sync_at,
        last_error: row.last_error,
        last_error_at: row.last_error_at,
    }
}

fn check_name(name: &str, fields: &mut Vec<FieldError>) -> String {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 64 {
        fields.push(FieldError::new("name", "must be 1 to 64 characters"));
    }
    name
}

/// Validate the settings part of an input against the manifest, over `current` settings.
fn settings_from(
    manifest: &Manifest,
    input: &ServerInput,
    current: Option<&Settings>,
    fields: &mut Vec<FieldError>,
) -> Settings {
    let url = match input.url.as_deref().or(current.map(|c| c.url.as_str())) {
        Some(u) => servers::check_url(u).unwrap_or_else(|rule| {
            fields.push(FieldError::new("url", rule));
            String::new()
        }),
        None => {
            fields.push(FieldError::new("url", "is required"));
            String::new()
        }
    };
    let empty = BTreeMap::new();
    let config = servers::merge_config(
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
    servers::check_extra_hosts(manifest, &extra_hosts, fields);
    Settings {
        url,
        config,
        extra_hosts,
        accept_invalid_certs: input
            .accept_invalid_certs
            .or(current.map(|c| c.accept_invalid_certs))
            .unwrap_or(false),
        sealed: current.map(|c| c.sealed.clone()).unwrap_or_default(),
    }
}

/// Test the connection and read the libraries; nothing is stored.
///
/// A "not found" from the media server here is about the URL the admin typed, not about a route
/// of this API: it is answered as `SERVER_URL_NOT_FOUND` (502), never as a 404.
async fn probe(state: &AppState, manifest: &Manifest, settings: &Settings) -> Result<TestResult> {
    let ctx = servers::context(manifest, settings);
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
    Ok(TestResult { server, libraries })
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

/// Test a connection without saving
///
/// Checks the settings against the connector, connects and reads the libraries. Nothing is
/// stored.
#[utoipa::path(
    post,
    path = "/servers/test",
    tag = "servers",
    operation_id = "test_server_connection",
    request_body = ServerToTest,
    responses((status = OK, body = TestResult), Errors<(code::ValidationFailed, code::ServerUrlNotFound, ConnectorCall)>)
)]
async fn test(
    State(state): State<AppState>,
    _admin: Admin,
    Json(ServerToTest(input)): Json<ServerToTest>,
) -> Result<Json<TestResult>> {
    let kind = input
        .kind
        .clone()
        .ok_or_else(|| Error::invalid(vec![FieldError::new("kind", "is required")]))?;
    let manifest = servers::manifest_for(state.plugins(), &kind)?;
    let mut fields = Vec::new();
    let settings = settings_from(&manifest, &input, None, &mut fields);
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    Ok(Json(probe(&state, &manifest, &settings).await?))
}

fn library_triples(libraries: &[Library]) -> Vec<(String, String, String)> {
    libraries
        .iter()
        .map(|l| (l.id.clone(), l.name.clone(), l.kind.clone()))
        .collect()
}

/// Add a media server
///
/// Tests the connection first; the libraries are imported right away.
#[utoipa::path(
    post,
    path = "/servers",
    tag = "servers",
    operation_id = "create_server",
    request_body = NewServer,
    responses((status = CREATED, body = ServerView), Errors<(code::ValidationFailed, code::Conflict, code::ServerUrlNotFound, ConnectorCall)>)
)]
async fn create(
    State(state): State<AppState>,
    admin: Admin,
    Json(NewServer(input)): Json<NewServer>,
) -> Result<(StatusCode, Json<ServerView>)> {
    let mut fields = Vec::new();
    let name = check_name(input.name.as_deref().unwrap_or_default(), &mut fields);
    let kind = input.kind.clone().unwrap_or_default();
    if kind.is_empty() {
        fields.push(FieldError::new("kind", "is required"));
        return Err(Error::invalid(fields));
    }
    let manifest = servers::manifest_for(state.plugins(), &kind)?;
    let settings = settings_from(&manifest, &input, None, &mut fields);
    check_admin_login(&manifest, input.admin_login, &mut fields);
    let admin_login = input.admin_login.unwrap_or(false);
    let check = name.clone();
    if state
        .db()
        .run(move |c| Ok(db::servers::name_taken(c, &check, None)?))
        .await?
    {
        return Err(Error::new(
            ErrorCode::Conflict,
            format!("a server named {name} already exists"),
        ));
    }
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    let probed = probe(&state, &manifest, &settings).await?;

    let (config_json, secrets) = servers::public_config(&manifest, &settings);
    let row = ServerRow {
        id: 0,
        name: name.clone(),
        kind: kind.clone(),
        base_url: settings.url.clone(),
        config: config_json,
        credentials: None,
        extra_hosts: serde_json::to_string(&settings.extra_hosts).unwrap_or_else(|_| "{}".into()),
        accept_invalid_certs: settings.accept_invalid_certs,
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
    let security = state.security();
    let crypto = security.crypto.clone();
    let libs = library_triples(&probed.libraries);
    let (actor, ip) = (admin.actor(), admin.ip.clone());
    let (id, count) = state
        .db()
        .write(move |tx| {
            if db::servers::name_taken(tx, &row.name, None)? {
                return Err(Error::new(
                    ErrorCode::Conflict,
                    format!("a server named {} already exists", row.name),
                ));
            }
            let id = db::servers::insert(tx, &row)?;
            let sealed = servers::seal_credentials(&crypto, id, &secrets);
            db::servers::set_credentials(tx, id, sealed.as_deref())?;
            let sync = db::servers::sync_libraries(tx, id, &libs)?;
            db::servers::set_admin_login(tx, id, admin_login)?;
            db::audit::append(
                tx,
                &db::audit::NewEvent {
                    actor: &actor,
                    ip: ip.as_deref(),
                    action: "server.create",
                    target: Some(&format!("server:{id}")),
                    outcome: Outcome::Success,
                    detail: Some(
                        json!({ "name": row.name, "kind": row.kind, "libraries": sync.added }),
                    ),
                },
            )?;
            Ok((id, sync.added as i64))
        })
        .await?;
    let row = load(&state, id).await?;
    Ok((StatusCode::CREATED, Json(view(&state, row, count))))
}

/// A server by id, or `NOT_FOUND`.
pub(crate) async fn load(state: &AppState, id: i64) -> Result<ServerRow> {
    state
        .db()
        .run(move |c| Ok(db::servers::get(c, id)?))
        .await?
        .ok_or_else(|| Error::not_found("server"))
}

/// List media servers
///
/// By name.
#[utoipa::path(
    get,
    path = "/servers",
    tag = "servers",
    operation_id = "list_servers",
    params(PageQuery),
    responses((status = OK, body = Paginated<ServerView>), Errors<code::ValidationFailed>)
)]
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<PageQuery>,
) -> Result<Json<Paginated<ServerView>>> {
    let page = q.validate()?;
    let rows = state
        .db()
        .run(|c| {
            let rows = db::servers::list(c)?;
            rows.into_iter()
                .map(|r| Ok((db::servers::library_count(c, r.id)?, r)))
                .collect::<Result<Vec<_>>>()
        })
        .await?;
    let items: Vec<ServerView> = rows.into_iter().map(|(n, r)| view(&state, r, n)).collect();
    Ok(Json(Paginated::from_vec(items, page)))
}

/// Get a media server
#[utoipa::path(
    get,
    path = "/servers/{id}",
    tag = "servers",
    operation_id = "get_server",
    params(("id" = i64, Path, description = "Server id")),
    responses((status = OK, body = ServerView), Errors<code::NotFound>)
)]
async fn show(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<i64>,
) -> Result<Json<ServerView>> {
    let row = load(&state, id).await?;
    let count = state
        .db()
        .run(move |c| Ok(db::servers::library_count(c, id)?))
        .await?;
    Ok(Json(view(&state, row, count)))
}

/// Edit a media server
///
/// Absent fields keep their value. An enabled server is tested again before the change is
/// saved, and its libraries are re-imported.
#[utoipa::path(
    patch,
    path = "/servers/{id}",
    tag = "servers",
    operation_id = "update_server",
    params(("id" = i64, Path, description = "Server id")),
    request_body = ServerChanges,
    responses((status = OK, body = ServerView), Errors<(code::NotFound, code::ValidationFailed, code::Conflict, code::ServerUrlNotFound, ConnectorCall)>)
)]
async fn update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Json(ServerChanges(input)): Json<ServerChanges>,
) -> Result<Json<ServerView>> {
    let mut row = load(&state, id).await?;
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
        .ok_or_else(|| servers::connector_missing(&row.kind))?;
    let current = servers::settings_of(&state.security().crypto, &row)?;
    let settings = settings_from(&manifest, &input, Some(&current), &mut fields);
    if let Some(name) = &input.name {
        row.name = check_name(name, &mut fields);
        let (check, except) = (row.name.clone(), row.id);
        if fields.is_empty()
            && state
                .db()
                .run(move |c| Ok(db::servers::name_taken(c, &check, Some(except))?))
                .await?
        {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!("a server named {} already exists", row.name),
            ));
        }
    }
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    row.enabled = input.enabled.unwrap_or(row.enabled);
    let mut admin_fields = Vec::new();
    check_admin_login(&manifest, input.admin_login, &mut admin_fields);
    if !admin_fields.is_empty() {
        return Err(Error::invalid(admin_fields));
    }
    let admin_login = input.admin_login;
    // A disabled server is not contacted, so it can be switched off even while unreachable.
    let libs = if row.enabled {
        let probed = probe(&state, &manifest, &settings).await?;
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
    let (config_json, secrets) = servers::public_config(&manifest, &settings);
    row.config = config_json;
    row.credentials = servers::seal_credentials(&state.security().crypto, id, &secrets);
    row.base_url = settings.url;
    row.extra_hosts = serde_json::to_string(&settings.extra_hosts).unwrap_or_else(|_| "{}".into());
    row.accept_invalid_certs = settings.accept_invalid_certs;
    let changed: Vec<&str> = [
        ("name", input.name.is_some()),
        ("url", input.url.is_some()),
        ("config", input.config.is_some()),
        ("extra_hosts", input.extra_hosts.is_some()),
        ("accept_invalid_certs", input.accept_invalid_certs.is_some()),
        ("enabled", input.enabled.is_some()),
        ("admin_login", input.admin_login.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, c)| c.then_some(k))
    .collect();
    let detail = json!({ "changed": changed });
    let (actor, ip) = (admin.actor(), admin.ip.clone());
    let stored = row.clone();
    state
        .db()
        .write(move |tx| {
            db::servers::update(tx, &stored)?;
            if let Some(enabled) = admin_login {
                db::servers::set_admin_login(tx, stored.id, enabled)?;
            }
            if let Some(libs) = &libs {
                db::servers::sync_libraries(tx, stored.id, libs)?;
            }
            db::audit::append(
                tx,
                &db::audit::NewEvent {
                    actor: &actor,
                    ip: ip.as_deref(),
                    action: "server.update",
                    target: Some(&format!("server:{}", stored.id)),
                    outcome: Outcome::Success,
                    detail: Some(detail),
                },
            )?;
            Ok(())
        })
        .await?;
    show(State(state), admin, Path(id)).await
}

/// Delete a media server
///
/// Its users and libraries are removed from Zondarr (not from the server); invitations lose it
/// as a target.
#[utoipa::path(
    delete,
    path = "/servers/{id}",
    tag = "servers",
    operation_id = "delete_server",
    params(("id" = i64, Path, description = "Server id")),
    responses((status = NO_CONTENT, description = "Deleted"), Errors<code::NotFound>)
)]
async fn remove(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let row = load(&state, id).await?;
    let deleted = state
        .db()
        .write(move |tx| Ok(db::servers::delete(tx, id)?))
        .await?;
    if !deleted {
        return Err(Error::not_found("server"));
    }
    admin
        .audit(
            state.db(),
            "server.delete",
            Some(format!("server:{id}")),
            Outcome::Success,
            Some(json!({ "name": row.name })),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List a server's libraries
///
/// By name, as imported at the last successful check.
#[utoipa::path(
    get,
    path = "/servers/{id}/libraries",
    tag = "servers",
    operation_id = "list_server_libraries",
    params(("id" = i64, Path, description = "Server id"), PageQuery),
    responses((status = OK, body = Paginated<db::servers::LibraryRow>), Errors<(code::NotFound, code::ValidationFailed)>)
)]
async fn libraries(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Paginated<db::servers::LibraryRow>>> {
    let page = q.validate()?;
    load(&state, id).await?;
    let items = state
        .db()
        .run(move |c| Ok(db::servers::libraries(c, id)?))
        .await?;
    Ok(Json(Paginated::from_vec(items, page)))
}

//! Media servers: test a connection before saving, create (libraries imported right away),
//! list, get, edit (re-tested before saving), delete, and the server's libraries.
//!
//! Credentials are write-only: responses say which secret fields are set, never their values.

use crate::auth::Admin;
use crate::db::{self, servers::ServerRow};
use crate::error::{Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path, Query};
use crate::http::openapi::{ConnectorCall, Errors};
use crate::http::pagination::{PageQuery, Paginated};
use crate::plugins::{Library, ServerInfo, ValueKind};
use crate::servers;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as JsonValue};
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
    /// Accept a TLS certificate that does not verify (self-signed). Cannot be combined with
    /// `ca_certificate`.
    accept_invalid_certs: Option<bool>,
    /// Private CA certificates in PEM form (one or more `CERTIFICATE` blocks, at most 64 KiB),
    /// trusted for the server's own URL in addition to the public roots, never for the
    /// connector's extra hosts; `null` or blank removes them. Text that holds no certificate, a
    /// damaged one or a private key is refused (`CA_CERTIFICATE_INVALID`). Adding or replacing a
    /// CA certificate of a saved server needs its secrets again in the same request
    /// (`SECRETS_REQUIRED`).
    #[serde(default, deserialize_with = "crate::http::extract::double")]
    #[schema(max_length = 65536)]
    ca_certificate: Option<Option<String>>,
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

/// What a CA certificate says about itself.
#[derive(Serialize, ToSchema)]
struct CaCertificateInfo {
    /// Its subject's common name (or organisation); `?` when it has neither.
    subject: String,
    /// The day it expires (UTC), `YYYY-MM-DD`.
    #[schema(format = Date)]
    not_after: Option<String>,
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
    /// The private CA certificates (PEM) trusted for the server's URL; `null` when none (a
    /// certificate is public, so it is returned).
    ca_certificate: Option<String>,
    /// Subject and expiry of each certificate of `ca_certificate`, in order.
    ca_certificates: Vec<CaCertificateInfo>,
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

pub use crate::servers::{admin_login_method, connector_state};

impl From<ServerInput> for servers::Input {
    fn from(i: ServerInput) -> servers::Input {
        servers::Input {
            name: i.name,
            kind: i.kind,
            url: i.url,
            config: i.config,
            extra_hosts: i.extra_hosts,
            accept_invalid_certs: i.accept_invalid_certs,
            ca_certificate: i.ca_certificate,
            enabled: i.enabled,
            admin_login: i.admin_login,
        }
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
    let credentials = servers::credentials_set(state, &row);
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
        ca_certificates: row
            .ca_certificate
            .as_deref()
            .map(crate::server_ca::summaries)
            .unwrap_or_default()
            .into_iter()
            .map(|s| CaCertificateInfo {
                subject: s.subject,
                not_after: s.not_after,
            })
            .collect(),
        ca_certificate: row.ca_certificate,
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
    responses((status = OK, body = TestResult), Errors<(code::ValidationFailed, code::CaCertificateInvalid, code::ServerUrlNotFound, ConnectorCall)>)
)]
async fn test(
    State(state): State<AppState>,
    _admin: Admin,
    Json(ServerToTest(input)): Json<ServerToTest>,
) -> Result<Json<TestResult>> {
    let probed = servers::test(&state, &input.into()).await?;
    Ok(Json(TestResult {
        server: probed.server,
        libraries: probed.libraries,
    }))
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
    responses((status = CREATED, body = ServerView), Errors<(code::ValidationFailed, code::CaCertificateInvalid, code::Conflict, code::ServerUrlNotFound, ConnectorCall)>)
)]
async fn create(
    State(state): State<AppState>,
    admin: Admin,
    Json(NewServer(input)): Json<NewServer>,
) -> Result<(StatusCode, Json<ServerView>)> {
    let (id, count) = servers::create(&state, &(&admin).into(), input.into()).await?;
    let row = load(&state, id).await?;
    Ok((StatusCode::CREATED, Json(view(&state, row, count))))
}

/// A server by id, or `NOT_FOUND`.
pub(crate) async fn load(state: &AppState, id: i64) -> Result<ServerRow> {
    servers::load(state, id).await
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
    let rows = servers::list(&state).await?;
    let items: Vec<ServerView> = rows.into_iter().map(|(r, n)| view(&state, r, n)).collect();
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
    let count = servers::library_count(&state, id).await?;
    Ok(Json(view(&state, row, count)))
}

/// Edit a media server
///
/// Absent fields keep their value. An enabled server is tested again before the change is
/// saved, and its libraries are re-imported. When the URL (origin or base path) or an extra
/// host's origin changes, or the server is to trust more certificates (a CA certificate added or
/// replaced, `accept_invalid_certs` turned on), the secrets must be given again in the same
/// request (`SECRETS_REQUIRED`): the stored ones are never sent to the new address.
#[utoipa::path(
    patch,
    path = "/servers/{id}",
    tag = "servers",
    operation_id = "update_server",
    params(("id" = i64, Path, description = "Server id")),
    request_body = ServerChanges,
    responses((status = OK, body = ServerView), Errors<(code::NotFound, code::ValidationFailed, code::CaCertificateInvalid, code::SecretsRequired, code::Conflict, code::ServerUrlNotFound, ConnectorCall)>)
)]
async fn update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Json(ServerChanges(input)): Json<ServerChanges>,
) -> Result<Json<ServerView>> {
    servers::update(&state, &(&admin).into(), id, input.into()).await?;
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
    servers::delete(&state, &(&admin).into(), id).await?;
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
    let items = servers::libraries(&state, id).await?;
    Ok(Json(Paginated::from_vec(items, page)))
}

//! Operations: live settings (`GET|PATCH /api/v1/settings`), job runs (`GET /api/v1/jobs`,
//! `POST /api/v1/jobs/{job}/run`), the expiry preview (`GET /api/v1/expiry/preview`) and the
//! dashboard (`GET /api/v1/dashboard`).

use crate::auth::Admin;
use crate::config::{Config, Kind, Source};
use crate::db::{audit, jobs::JobRun};
use crate::error::{Error, FieldError, Result, code};
use crate::expiry::Planned;
use crate::http::Routes;
use crate::http::extract::{Json, Path, Query};
use crate::http::openapi::Errors;
use crate::http::pagination::{PageQuery, Paginated};
use crate::jobs::Job;
use crate::settings;
use crate::state::AppState;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::routes;

/// Operations routes.
pub fn routes() -> Routes {
    vec![
        routes!(get_settings, patch_settings),
        routes!(list_jobs),
        routes!(run_job),
        routes!(expiry_preview),
        routes!(dashboard),
    ]
}

// ---------------------------------------------------------------------------------------------
// Settings

/// One setting that can be changed at run time.
#[derive(Serialize, ToSchema)]
struct SettingView {
    /// Dotted key, e.g. `jobs.sync_interval_secs`.
    key: &'static str,
    /// Current value (number, boolean or text); `null` when unset.
    #[schema(value_type = Value)]
    value: Value,
    /// Built-in default; `null` when computed (see `description`).
    #[schema(value_type = Value)]
    default: Value,
    /// Where the value comes from: `default`, `derived`, `file`, `env`, `flag` or `app`.
    source: &'static str,
    /// Whether the configuration (environment, flag or file) fixes it; locked settings cannot
    /// be changed here.
    locked: bool,
    /// What locks it, e.g. the environment variable.
    locked_by: Option<String>,
    /// The environment variable that would set (and lock) it.
    env_var: String,
    /// What values are allowed.
    allowed: String,
    /// What it does.
    description: &'static str,
}

/// The live settings.
#[derive(Serialize, ToSchema)]
struct SettingsView {
    /// In display order.
    settings: Vec<SettingView>,
}

fn typed(kind: &Kind, raw: Option<&str>) -> Value {
    match raw {
        None => Value::Null,
        Some(v) => match kind {
            Kind::Number { .. } => v
                .parse::<u64>()
                .map_or_else(|_| Value::from(v), Value::from),
            Kind::Bool => Value::Bool(v == "true"),
            _ => Value::from(v),
        },
    }
}

fn source_name(source: &Source) -> &'static str {
    match source {
        Source::Default => "default",
        Source::Derived => "derived",
        Source::File(_) => "file",
        Source::Env(_) => "env",
        Source::Flag(_) => "flag",
        Source::App => "app",
    }
}

fn settings_view(config: &Config) -> SettingsView {
    let settings = settings::describe(config)
        .into_iter()
        .map(|d| SettingView {
            key: d.setting.key,
            value: typed(&d.setting.kind, d.value.as_deref()),
            default: typed(&d.setting.kind, d.setting.default),
            source: source_name(&d.source),
            locked: d.locked(),
            locked_by: settings::locked_by(&d.source),
            env_var: d.setting.env_var(),
            allowed: d.setting.kind.allowed(),
            description: d.setting.doc,
        })
        .collect();
    SettingsView { settings }
}

/// Read the live settings
///
/// Every setting that can be changed at run time, with its value, default, where the value
/// comes from and whether the configuration locks it.
#[utoipa::path(
    get,
    path = "/settings",
    tag = "operations",
    operation_id = "get_settings",
    responses((status = OK, body = SettingsView))
)]
async fn get_settings(State(state): State<AppState>, _admin: Admin) -> Json<SettingsView> {
    Json(settings_view(&state.live().get()))
}

/// The body of `PATCH /settings`: its schema is made from the catalogue of live settings, the
/// same one the handler validates against, so the two cannot drift.
struct SettingsPatch;

impl utoipa::PartialSchema for SettingsPatch {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        let mut object = ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Object))
            .min_properties(Some(1))
            .additional_properties(Some(
                utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
            ));
        for key in settings::LIVE {
            let Some(setting) = settings::setting(key) else {
                continue;
            };
            let nullable = |t: Type| SchemaType::from_iter([t, Type::Null]);
            let mut p = ObjectBuilder::new().description(Some(setting.doc));
            p = match &setting.kind {
                Kind::Number { min, max } => p
                    .schema_type(nullable(Type::Integer))
                    .minimum(Some(*min as f64))
                    .maximum(Some(*max as f64)),
                Kind::Bool => p.schema_type(nullable(Type::Boolean)),
                Kind::Choice(values) => p
                    .schema_type(nullable(Type::String))
                    .enum_values(Some(values.iter().copied().map(Some).chain([None]))),
                Kind::Url => p
                    .schema_type(nullable(Type::String))
                    .max_length(Some(512))
                    .pattern(setting.kind.pattern()),
                _ => p
                    .schema_type(nullable(Type::String))
                    .pattern(setting.kind.pattern()),
            };
            object = object.property(*key, p);
        }
        utoipa::openapi::RefOr::T(utoipa::openapi::Schema::Object(object.build()))
    }
}

impl ToSchema for SettingsPatch {}

/// Change settings
///
/// A JSON object of key → new value (number, boolean or text); `null` returns a setting to its
/// default. All changes are validated first and applied together, at once, without a restart.
/// A setting fixed by the environment, a flag or the configuration file cannot be changed.
#[utoipa::path(
    patch,
    path = "/settings",
    tag = "operations",
    operation_id = "update_settings",
    request_body(content = SettingsPatch, description = "Key → value; `null` resets to the default"),
    responses((status = OK, body = SettingsView), Errors<code::ValidationFailed>)
)]
async fn patch_settings(
    State(state): State<AppState>,
    admin: Admin,
    Json(input): Json<Map<String, Value>>,
) -> Result<Json<SettingsView>> {
    // The JSON types are this skin's concern; the rules (key, lock, value) are the domain's.
    let mut fields = Vec::new();
    let mut changes: Vec<(String, Option<String>)> = Vec::new();
    for (key, value) in &input {
        let kind = settings::setting(key).map(|s| s.kind);
        let raw = match (value, kind) {
            (Value::Null, _) | (_, None) => None,
            (Value::Number(n), Some(Kind::Number { .. })) => Some(n.to_string()),
            (Value::Bool(b), Some(Kind::Bool)) => Some(b.to_string()),
            (Value::String(s), Some(kind)) if !matches!(kind, Kind::Number { .. } | Kind::Bool) => {
                Some(s.clone())
            }
            (_, Some(kind)) => {
                fields.push(FieldError::new(
                    key.as_str(),
                    match kind {
                        Kind::Number { .. } => "must be a whole number or null",
                        Kind::Bool => "must be true, false or null",
                        _ => "must be text or null",
                    },
                ));
                continue;
            }
        };
        changes.push((key.clone(), raw));
    }
    if !fields.is_empty() {
        if let Err(more) = settings::check(&state.live().get(), &changes) {
            fields.extend(more);
        }
        return Err(Error::invalid(fields));
    }
    settings::update(&state, &(&admin).into(), &changes).await?;
    Ok(Json(settings_view(&state.live().get())))
}

// ---------------------------------------------------------------------------------------------
// Jobs

/// Filters of the job-run list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct JobsQuery {
    /// 1-based page number (default 1, at most 1,000,000).
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u32>,
    /// Items per page (default 50, at most 100).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<u32>,
    /// Job name: `invitation_expiry`, `user_expiry`, `library_sync`, `user_sync`,
    /// `redemption_recovery`, `cleanup` or `prune_job_runs`.
    #[param(schema_with = job_schema)]
    job: Option<String>,
    /// Only runs for this server.
    server_id: Option<i64>,
    /// `running`, `succeeded`, `failed`, `refused` or `interrupted`.
    #[param(schema_with = run_outcome_schema)]
    outcome: Option<String>,
    /// `automatic` or `manual`.
    #[param(schema_with = trigger_schema)]
    trigger: Option<String>,
}

/// List job runs
///
/// Newest first.
#[utoipa::path(
    get,
    path = "/jobs",
    tag = "operations",
    operation_id = "list_job_runs",
    params(JobsQuery),
    responses((status = OK, body = Paginated<JobRun>), Errors<code::ValidationFailed>)
)]
async fn list_jobs(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<JobsQuery>,
) -> Result<Json<Paginated<JobRun>>> {
    let page = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .validate()?;
    let filter = crate::jobs::ListQuery {
        job: q.job,
        server_id: q.server_id,
        outcome: q.outcome,
        trigger: q.trigger,
    }
    .check()?;
    let (items, total) = crate::jobs::list(&state, filter, page.limit(), page.offset()).await?;
    Ok(Json(Paginated::new(items, total, page)))
}

/// The job of `POST /jobs/{job}/run`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documents the path parameter; the handler reads it as a plain string
struct JobPath {
    /// Job name.
    #[param(schema_with = daemon_job_schema, required = true)]
    job: String,
}

/// Run a job now
///
/// Runs one of the daemon-wide jobs (`invitation_expiry`, `user_expiry`,
/// `redemption_recovery`, `cleanup`, `prune_job_runs`) at once and answers with its record.
/// Syncs run per server (`POST /servers/{id}/sync`); their names are `NOT_FOUND` here.
#[utoipa::path(
    post,
    path = "/jobs/{job}/run",
    tag = "operations",
    operation_id = "run_job",
    params(JobPath),
    responses((status = OK, body = JobRun), Errors<(code::NotFound, code::JobRunning)>)
)]
async fn run_job(
    State(state): State<AppState>,
    admin: Admin,
    Path(name): Path<String>,
) -> Result<Json<JobRun>> {
    let job = Job::parse(&name).ok_or_else(|| Error::not_found("job"))?;
    Ok(Json(
        crate::jobs::run_by(&state, &(&admin).into(), job).await?,
    ))
}

/// Preview expiry enforcement
///
/// What the next `user_expiry` run would do with the current settings: each account whose
/// access has ended (past the grace period) and the action it gets. Nothing is changed.
#[utoipa::path(
    get,
    path = "/expiry/preview",
    tag = "operations",
    operation_id = "preview_expiry",
    params(PageQuery),
    responses((status = OK, body = Paginated<Planned>), Errors<code::ValidationFailed>)
)]
async fn expiry_preview(
    State(state): State<AppState>,
    _admin: Admin,
    Query(page): Query<PageQuery>,
) -> Result<Json<Paginated<Planned>>> {
    let page = page.validate()?;
    let planned = crate::expiry::plan(&state).await?;
    Ok(Json(Paginated::from_vec(planned, page)))
}

// ---------------------------------------------------------------------------------------------
// Dashboard

/// Invitations by state.
#[derive(Serialize, ToSchema, Default)]
struct InvitationCounts {
    /// Can be redeemed.
    active: i64,
    /// Active and not used yet.
    pending: i64,
    /// No uses left.
    used_up: i64,
    /// Past their expiry.
    expired: i64,
    /// Switched off.
    disabled: i64,
    /// Invitations (in any state) that offer a library its server no longer lists: they cannot
    /// be redeemed until edited.
    library_missing: i64,
}

/// Accounts by state.
#[derive(Serialize, ToSchema, Default)]
struct UserCounts {
    /// All accounts.
    total: i64,
    /// Enabled, access not ended, still on the server.
    active: i64,
    /// Disabled.
    disabled: i64,
    /// Access ends within 7 days.
    expiring_7d: i64,
    /// Access has ended.
    expired: i64,
    /// No longer on their server (user sync).
    vanished: i64,
}

/// A server's health.
#[derive(Serialize, ToSchema)]
struct ServerHealth {
    /// Server id.
    id: i64,
    /// Name.
    name: String,
    /// Connector id.
    kind: String,
    /// `healthy`, `failing` (the last background call failed), `connector_missing` or
    /// `disabled`.
    health: &'static str,
    /// Why the last background call failed.
    last_error: Option<String>,
    /// When a sync last completed.
    last_sync_at: Option<String>,
}

/// Servers by health.
#[derive(Serialize, ToSchema, Default)]
struct ServerCounts {
    /// Working.
    healthy: i64,
    /// Last background call failed.
    failing: i64,
    /// Connector plugin not loaded.
    connector_missing: i64,
    /// Switched off.
    disabled: i64,
}

/// Connector plugins by state.
#[derive(Serialize, ToSchema, Default)]
struct PluginCounts {
    /// Loaded and callable.
    loaded: i64,
    /// Failed to load.
    failed: i64,
    /// Crashed too often; waiting for a reload.
    unhealthy: i64,
}

/// Redemptions that need attention (docs/redemption.md).
#[derive(Serialize, ToSchema, Default)]
struct RedemptionCounts {
    /// Running, or waiting for recovery to settle them (their uses are reserved).
    pending: i64,
    /// Undone, but an account whose origin could not be proven was left on a server (audit
    /// action `redemption.unresolved` names it).
    unresolved: i64,
}

/// The admin's overview.
#[derive(Serialize, ToSchema)]
struct Dashboard {
    /// Invitations.
    invitations: InvitationCounts,
    /// Accounts.
    users: UserCounts,
    /// Servers by health.
    server_counts: ServerCounts,
    /// Each server's health.
    servers: Vec<ServerHealth>,
    /// Plugins.
    plugins: PluginCounts,
    /// Redemptions that need attention.
    redemptions: RedemptionCounts,
    /// The latest audit events (10).
    recent_activity: Vec<audit::Event>,
    /// The latest job runs (10).
    recent_jobs: Vec<JobRun>,
    /// When a request last came through a reverse proxy that is not trusted (a private address
    /// sending `X-Forwarded-For` that is not in `http.trusted_proxies`), within the last day;
    /// `null` otherwise. While it happens every visitor shares the proxy's address, and so its
    /// per-address rate limits: add the proxy to `http.trusted_proxies` (docs/reverse-proxy.md).
    #[schema(format = DateTime)]
    untrusted_proxy_seen_at: Option<String>,
}

/// The dashboard
///
/// Counts of invitations, users, servers and plugins by state, each server's health, recent
/// activity and the latest job runs.
#[utoipa::path(
    get,
    path = "/dashboard",
    tag = "operations",
    operation_id = "get_dashboard",
    responses((status = OK, body = Dashboard))
)]
async fn dashboard(State(state): State<AppState>, _admin: Admin) -> Result<Json<Dashboard>> {
    let o = crate::dashboard::overview(&state).await?;
    let (i, u, sc, p, r) = (
        o.invitations,
        o.users,
        o.server_counts,
        o.plugins,
        o.redemptions,
    );
    Ok(Json(Dashboard {
        invitations: InvitationCounts {
            active: i.active,
            pending: i.pending,
            used_up: i.used_up,
            expired: i.expired,
            disabled: i.disabled,
            library_missing: i.library_missing,
        },
        users: UserCounts {
            total: u.total,
            active: u.active,
            disabled: u.disabled,
            expiring_7d: u.expiring_7d,
            expired: u.expired,
            vanished: u.vanished,
        },
        server_counts: ServerCounts {
            healthy: sc.healthy,
            failing: sc.failing,
            connector_missing: sc.connector_missing,
            disabled: sc.disabled,
        },
        servers: o
            .servers
            .into_iter()
            .map(|s| ServerHealth {
                id: s.id,
                name: s.name,
                kind: s.kind,
                health: s.health,
                last_error: s.last_error,
                last_sync_at: s.last_sync_at,
            })
            .collect(),
        plugins: PluginCounts {
            loaded: p.loaded,
            failed: p.failed,
            unhealthy: p.unhealthy,
        },
        redemptions: RedemptionCounts {
            pending: r.pending,
            unresolved: r.unresolved,
        },
        recent_activity: o.recent_activity,
        recent_jobs: o.recent_jobs,
        untrusted_proxy_seen_at: o.untrusted_proxy_seen_at,
    }))
}

fn job_schema() -> utoipa::openapi::Object {
    crate::http::openapi::string_enum(&Job::ALL.map(Job::name))
}

/// The jobs `POST /jobs/{job}/run` runs (syncs run per server).
fn daemon_job_schema() -> utoipa::openapi::Object {
    let names: Vec<&str> = Job::ALL
        .into_iter()
        .filter(|j| !j.per_server())
        .map(Job::name)
        .collect();
    crate::http::openapi::string_enum(&names)
}

fn run_outcome_schema() -> utoipa::openapi::Object {
    crate::http::openapi::string_enum(&crate::jobs::OUTCOMES)
}

fn trigger_schema() -> utoipa::openapi::Object {
    crate::http::openapi::string_enum(&["automatic", "manual"])
}

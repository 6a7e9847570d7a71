//! Invitations: create (generated or custom code), list with filters/sort/pagination, get, edit
//! and clear any field except the code and the use count, delete.

use crate::auth::Admin;
use crate::db::invitations::Status;
use crate::error::{Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path, Query};
use crate::http::openapi::Errors;
use crate::http::pagination::{PageQuery, Paginated};
use crate::invitations;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as JsonValue};
use utoipa::ToSchema;
use utoipa_axum::routes;

/// Invitation routes.
pub fn routes() -> Routes {
    vec![routes!(list, create), routes!(show, update, remove)]
}

pub use crate::invitations::{CODE_ALPHABET, check_custom_code, generate_code};

/// A target server of an invitation and what it grants there.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TargetInput {
    /// Server id.
    #[schema(minimum = 1)]
    server_id: i64,
    /// Library ids (`GET /servers/{id}/libraries`), at least one; absent or null: all
    /// libraries.
    #[serde(default)]
    #[schema(min_items = 1)]
    libraries: Option<Vec<i64>>,
    /// Permission values by key, as the server's connector declares them (`permissions` of the
    /// plugin); absent keys get the connector's default.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Value>)]
    permissions: Map<String, JsonValue>,
}

/// An invitation's settings. On create every field is optional except `servers`; on update
/// absent fields keep their value and `null` clears `expires_at`, `max_uses`,
/// `access_duration_days`, `note` and `message`. The code and the use count cannot be changed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct InvitationInput {
    /// Custom code, 1 to 32 of `[A-Za-z0-9_-]`, unique case-insensitively; absent: a generated
    /// 12-character code.
    #[schema(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9_-]+$")]
    code: Option<String>,
    /// Target servers (at least one).
    #[schema(min_items = 1)]
    servers: Option<Vec<TargetInput>>,
    /// Expiry (RFC 3339, in the future when creating).
    #[serde(default, deserialize_with = "crate::http::extract::double")]
    #[schema(format = DateTime)]
    expires_at: Option<Option<String>>,
    /// Maximum uses, 1 to 1000000; `null`: unlimited.
    #[serde(default, deserialize_with = "crate::http::extract::double")]
    #[schema(minimum = 1, maximum = 1000000)]
    max_uses: Option<Option<i64>>,
    /// Days the created accounts last, 1 to 36500; `null`: no limit.
    #[serde(default, deserialize_with = "crate::http::extract::double")]
    #[schema(minimum = 1, maximum = 36500)]
    access_duration_days: Option<Option<i64>>,
    /// Admin note, at most 500 characters.
    #[serde(default, deserialize_with = "crate::http::extract::double")]
    #[schema(max_length = 500)]
    note: Option<Option<String>>,
    /// The admin's message to invitees, shown as plain text on the join page and in the public
    /// validation (`GET /join/{code}`): at most 1000 characters, trimmed, NFC, line breaks kept; control
    /// and invisible characters are refused. `null` or blank clears it.
    #[serde(default, deserialize_with = "crate::http::extract::double")]
    #[schema(max_length = 1000)]
    message: Option<Option<String>>,
    /// Whether the code can be redeemed (default `true`).
    enabled: Option<bool>,
    /// Wizard the invitee must complete before redeeming (`GET /wizards`); `null`: none.
    #[serde(default, deserialize_with = "crate::http::extract::double")]
    #[schema(minimum = 1)]
    pre_wizard_id: Option<Option<i64>>,
    /// Wizard shown after the accounts are created; `null`: none.
    #[serde(default, deserialize_with = "crate::http::extract::double")]
    #[schema(minimum = 1)]
    post_wizard_id: Option<Option<i64>>,
}

crate::required_body!(
    /// A new invitation: `servers` is required.
    NewInvitation(InvitationInput): "servers"
);

crate::required_body!(
    /// Changes to an invitation (its code cannot change).
    InvitationChanges(InvitationInput): ; omit "code"
);

/// A library by id and name.
#[derive(Serialize, ToSchema)]
struct LibraryRef {
    /// Library id.
    id: i64,
    /// Name.
    name: String,
    /// The server no longer lists it (library sync marked it missing): the invitation cannot be
    /// redeemed until it is edited.
    missing: bool,
}

/// A target server of an invitation.
#[derive(Serialize, ToSchema)]
struct TargetView {
    /// Server id.
    server_id: i64,
    /// Server name.
    server_name: String,
    /// Connector id.
    kind: String,
    /// `null`: every library.
    libraries: Option<Vec<LibraryRef>>,
    /// Some offered library is no longer on the server; redemption is refused with
    /// `INVITATION_LIBRARY_MISSING` until the invitation is edited.
    libraries_missing: bool,
    /// Permission values by key.
    #[schema(value_type = BTreeMap<String, Value>)]
    permissions: Map<String, JsonValue>,
}

/// An invitation.
#[derive(Serialize, ToSchema)]
struct InvitationView {
    /// Invitation id.
    id: i64,
    /// The code.
    code: String,
    /// The join link to send.
    url: String,
    /// Whether it can be redeemed now, and if not why.
    status: Status,
    /// Whether it is enabled.
    enabled: bool,
    /// Expiry.
    expires_at: Option<String>,
    /// Maximum uses; `null`: unlimited.
    max_uses: Option<i64>,
    /// Uses so far (including redemptions in progress).
    use_count: i64,
    /// Uses left; `null`: unlimited.
    remaining_uses: Option<i64>,
    /// Days the created accounts last; `null`: no limit.
    access_duration_days: Option<i64>,
    /// Admin note (admins only).
    note: Option<String>,
    /// The admin's message to invitees, shown on the join page.
    message: Option<String>,
    /// Target servers.
    servers: Vec<TargetView>,
    /// A target offers a library that is no longer on its server (see `servers[].libraries_missing`).
    libraries_missing: bool,
    /// Wizard completed before redeeming (cleared when the wizard is deleted).
    pre_wizard_id: Option<i64>,
    /// Wizard shown after the accounts are created (cleared when the wizard is deleted).
    post_wizard_id: Option<i64>,
    /// Who created it (`admin:<name>` or `api-key:<prefix>`).
    created_by: String,
    /// Creation time.
    created_at: String,
    /// Last change.
    updated_at: String,
    /// When the invitation-expiry job found it expired or used up (`null` while open).
    closed_at: Option<String>,
    /// `expired` or `used_up`, with `closed_at`.
    closed_reason: Option<String>,
}

impl From<TargetInput> for invitations::TargetSpec {
    fn from(t: TargetInput) -> invitations::TargetSpec {
        invitations::TargetSpec {
            server_id: t.server_id,
            libraries: t.libraries,
            permissions: t.permissions,
        }
    }
}

impl From<InvitationInput> for invitations::Changes {
    fn from(i: InvitationInput) -> invitations::Changes {
        invitations::Changes {
            code: i.code,
            servers: i.servers.map(|ts| ts.into_iter().map(Into::into).collect()),
            expires_at: i.expires_at,
            max_uses: i.max_uses,
            access_duration_days: i.access_duration_days,
            note: i.note,
            message: i.message,
            enabled: i.enabled,
            pre_wizard_id: i.pre_wizard_id,
            post_wizard_id: i.post_wizard_id,
        }
    }
}

fn view(d: invitations::Detail) -> InvitationView {
    let remaining_uses = d.remaining_uses();
    let libraries_missing = d.libraries_missing();
    let inv = d.inv;
    InvitationView {
        status: d.status,
        url: d.url,
        remaining_uses,
        id: inv.id,
        code: inv.code,
        enabled: inv.enabled,
        expires_at: inv.expires_at,
        max_uses: inv.max_uses,
        use_count: inv.use_count,
        access_duration_days: inv.access_duration_days,
        note: inv.note,
        message: inv.message,
        libraries_missing,
        servers: d
            .targets
            .into_iter()
            .map(|t| TargetView {
                server_id: t.server_id,
                server_name: t.server_name,
                kind: t.kind,
                libraries: t.libraries.map(|ls| {
                    ls.into_iter()
                        .map(|l| LibraryRef {
                            id: l.id,
                            name: l.name,
                            missing: l.missing,
                        })
                        .collect()
                }),
                libraries_missing: t.libraries_missing,
                permissions: t.permissions,
            })
            .collect(),
        pre_wizard_id: inv.pre_wizard_id,
        post_wizard_id: inv.post_wizard_id,
        created_by: inv.created_by,
        created_at: inv.created_at,
        updated_at: inv.updated_at,
        closed_at: inv.closed_at,
        closed_reason: inv.closed_reason,
    }
}

/// Create an invitation
#[utoipa::path(
    post,
    path = "/invitations",
    tag = "invitations",
    operation_id = "create_invitation",
    request_body = NewInvitation,
    responses((status = CREATED, body = InvitationView), Errors<(code::ValidationFailed, code::Conflict)>)
)]
async fn create(
    State(state): State<AppState>,
    admin: Admin,
    Json(NewInvitation(input)): Json<NewInvitation>,
) -> Result<(StatusCode, Json<InvitationView>)> {
    let id = invitations::create(&state, &(&admin).into(), input.into()).await?;
    Ok((
        StatusCode::CREATED,
        show(State(state), admin, Path(id)).await?,
    ))
}

/// Get an invitation
#[utoipa::path(
    get,
    path = "/invitations/{id}",
    tag = "invitations",
    operation_id = "get_invitation",
    params(("id" = i64, Path, description = "Invitation id")),
    responses((status = OK, body = InvitationView), Errors<code::NotFound>)
)]
async fn show(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<i64>,
) -> Result<Json<InvitationView>> {
    Ok(Json(view(invitations::get(&state, id).await?)))
}

/// Filters, sort and page of the invitation list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// 1-based page number (default 1, at most 1,000,000).
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u32>,
    /// Items per page (default 50, at most 100).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<u32>,
    /// `active`, `unused` (active and never redeemed: no use so far and none in progress; the
    /// dashboard's `pending`), `expired`, `used_up` or `disabled`.
    #[param(schema_with = status_schema)]
    status: Option<String>,
    /// Only invitations targeting this server.
    server_id: Option<i64>,
    /// Part of the code (case-insensitive).
    search: Option<String>,
    /// `created_at` (default), `expires_at`, `code` or `use_count`.
    #[param(schema_with = sort_schema)]
    sort: Option<String>,
    /// `asc` or `desc` (default: `desc` for `created_at` and `use_count`, else `asc`).
    #[param(schema_with = crate::http::openapi::order_schema)]
    order: Option<String>,
}

/// List invitations
#[utoipa::path(
    get,
    path = "/invitations",
    tag = "invitations",
    operation_id = "list_invitations",
    params(ListQuery),
    responses((status = OK, body = Paginated<InvitationView>), Errors<code::ValidationFailed>)
)]
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<ListQuery>,
) -> Result<Json<Paginated<InvitationView>>> {
    let page = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .validate()?;
    let spec = invitations::ListQuery {
        status: q.status,
        server_id: q.server_id,
        search: q.search,
        sort: q.sort,
        order: q.order,
    }
    .check()?;
    let (items, total) = invitations::list(&state, spec, page.limit(), page.offset()).await?;
    Ok(Json(Paginated::new(
        items.into_iter().map(view).collect(),
        total,
        page,
    )))
}

/// Edit an invitation
///
/// Absent fields keep their value; `null` clears a clearable field. The code and the use count
/// cannot be changed.
#[utoipa::path(
    patch,
    path = "/invitations/{id}",
    tag = "invitations",
    operation_id = "update_invitation",
    params(("id" = i64, Path, description = "Invitation id")),
    request_body = InvitationChanges,
    responses((status = OK, body = InvitationView), Errors<(code::NotFound, code::ValidationFailed)>)
)]
async fn update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Json(InvitationChanges(input)): Json<InvitationChanges>,
) -> Result<Json<InvitationView>> {
    invitations::update(&state, &(&admin).into(), id, input.into()).await?;
    show(State(state), admin, Path(id)).await
}

/// Delete an invitation
///
/// Accounts created with it keep existing; their link to it is cleared.
#[utoipa::path(
    delete,
    path = "/invitations/{id}",
    tag = "invitations",
    operation_id = "delete_invitation",
    params(("id" = i64, Path, description = "Invitation id")),
    responses((status = NO_CONTENT, description = "Deleted"), Errors<code::NotFound>)
)]
async fn remove(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    invitations::delete(&state, &(&admin).into(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn status_schema() -> utoipa::openapi::Object {
    crate::http::openapi::string_enum(&["active", "unused", "expired", "used_up", "disabled"])
}

fn sort_schema() -> utoipa::openapi::Object {
    crate::http::openapi::string_enum(&["created_at", "expires_at", "code", "use_count"])
}

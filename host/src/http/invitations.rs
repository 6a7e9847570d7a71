//! Invitations: create (generated or custom code), list with filters/sort/pagination, get, edit
//! and clear any field except the code and the use count, delete.

use crate::auth::Admin;
use crate::db::{
    self,
    audit::Outcome,
    invitations::{Filter, Invitation, Sort, Status, Target},
};
use crate::error::{Error, ErrorCode, FieldError, Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path, Query};
use crate::http::openapi::Errors;
use crate::http::pagination::{PageQuery, Paginated};
use crate::plugins::{PluginHost, ValueKind};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as JsonValue, json};
use utoipa::ToSchema;
use utoipa_axum::routes;

/// Invitation routes.
pub fn routes() -> Routes {
    vec![routes!(list, create), routes!(show, update, remove)]
}

/// Alphabet of generated codes: upper-case letters and digits without the look-alikes 0 O 1 I L.
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A generated 12-character code.
pub fn generate_code() -> String {
    let mut rng = rand::rng();
    (0..12)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// Custom codes: 1–32 of `[A-Za-z0-9_-]`.
pub fn check_custom_code(code: &str) -> std::result::Result<(), &'static str> {
    if code.is_empty() || code.len() > 32 {
        return Err("must be 1 to 32 characters");
    }
    if !code
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("may contain only letters, digits, '_' and '-'");
    }
    Ok(())
}

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
/// `access_duration_days` and `note`. The code and the use count cannot be changed.
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
    /// Admin note.
    note: Option<String>,
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

fn view(state: &AppState, c: &rusqlite::Connection, inv: Invitation) -> Result<InvitationView> {
    let now = db::time::now();
    let mut servers = Vec::new();
    for t in &inv.targets {
        let Some(server) = db::servers::get(c, t.server_id)? else {
            continue;
        };
        let libs = db::servers::libraries(c, t.server_id)?;
        let offered: Option<Vec<LibraryRef>> = t.library_refs.as_ref().map(|refs| {
            refs.iter()
                .filter_map(|ext| libs.iter().find(|l| &l.external_id == ext))
                .map(|l| LibraryRef {
                    id: l.id,
                    name: l.name.clone(),
                    missing: l.is_missing(),
                })
                .collect()
        });
        // Missing: marked so by library sync, or (a reference without a row) unknown altogether;
        // an empty list (never accepted by the API) offers nothing and counts as missing too, as
        // in redemption.
        let libraries_missing = match (&t.library_refs, &offered) {
            (Some(refs), Some(found)) => {
                refs.is_empty() || found.len() < refs.len() || found.iter().any(|l| l.missing)
            }
            _ => false,
        };
        servers.push(TargetView {
            server_id: t.server_id,
            server_name: server.name,
            kind: server.kind,
            libraries: offered,
            libraries_missing,
            permissions: t.permissions.clone(),
        });
    }
    Ok(InvitationView {
        status: inv.status(&now),
        url: format!("{}/join/{}", state.security().public_url(), inv.code),
        remaining_uses: inv.max_uses.map(|m| (m - inv.use_count).max(0)),
        id: inv.id,
        code: inv.code,
        enabled: inv.enabled,
        expires_at: inv.expires_at,
        max_uses: inv.max_uses,
        use_count: inv.use_count,
        access_duration_days: inv.access_duration_days,
        note: inv.note,
        libraries_missing: servers.iter().any(|t| t.libraries_missing),
        servers,
        pre_wizard_id: inv.pre_wizard_id,
        post_wizard_id: inv.post_wizard_id,
        created_by: inv.created_by,
        created_at: inv.created_at,
        updated_at: inv.updated_at,
        closed_at: inv.closed_at,
        closed_reason: inv.closed_reason,
    })
}

/// Check the targets: servers exist, libraries belong to them, permission keys are declared by
/// the server's connector with values of the declared kind.
fn check_targets(
    plugins: &PluginHost,
    c: &rusqlite::Connection,
    targets: &[TargetInput],
    fields: &mut Vec<FieldError>,
) -> Result<Vec<Target>> {
    if targets.is_empty() {
        fields.push(FieldError::new("servers", "choose at least one server"));
    }
    let mut out = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let at = |f: &str| format!("servers[{i}].{f}");
        if targets
            .iter()
            .filter(|o| o.server_id == t.server_id)
            .count()
            > 1
        {
            fields.push(FieldError::new(at("server_id"), "is listed twice"));
            continue;
        }
        let Some(server) = db::servers::get(c, t.server_id)? else {
            fields.push(FieldError::new(at("server_id"), "no such server"));
            continue;
        };
        // The API takes library row ids; they are stored as the server's ids for them.
        let mut library_refs = None;
        if let Some(ids) = &t.libraries {
            let libs = db::servers::libraries(c, t.server_id)?;
            if ids.is_empty() {
                fields.push(FieldError::new(
                    at("libraries"),
                    "give at least one library, or null for all",
                ));
            }
            let mut refs: Vec<String> = Vec::with_capacity(ids.len());
            for id in ids {
                match libs.iter().find(|l| l.id == *id) {
                    None => fields.push(FieldError::new(
                        at("libraries"),
                        format!("library {id} does not belong to server {}", server.name),
                    )),
                    Some(l) if l.is_missing() => fields.push(FieldError::new(
                        at("libraries"),
                        format!(
                            "library {} ({id}) is no longer on server {}; choose another",
                            l.name, server.name
                        ),
                    )),
                    Some(l) if refs.contains(&l.external_id) => {}
                    Some(l) => refs.push(l.external_id.clone()),
                }
            }
            library_refs = Some(refs);
        }
        match plugins.manifest(&server.kind) {
            Some(manifest) => {
                for (key, value) in &t.permissions {
                    let Some(def) = manifest.permissions.iter().find(|p| &p.key == key) else {
                        fields.push(FieldError::new(
                            at(&format!("permissions.{key}")),
                            format!("is not a permission of {} servers", manifest.name),
                        ));
                        continue;
                    };
                    let fits = match def.kind {
                        ValueKind::Flag => value.is_boolean(),
                        ValueKind::Number => value.is_i64(),
                        _ => value.is_string(),
                    };
                    if !fits {
                        fields.push(FieldError::new(
                            at(&format!("permissions.{key}")),
                            "has the wrong type",
                        ));
                    }
                }
            }
            None if !t.permissions.is_empty() => {
                fields.push(FieldError::new(
                    at("permissions"),
                    "the server's connector is not loaded, so permissions cannot be checked",
                ));
            }
            None => {}
        }
        out.push(Target {
            server_id: t.server_id,
            library_refs,
            libraries: t.libraries.clone(),
            permissions: t.permissions.clone(),
        });
    }
    Ok(out)
}

/// Apply the wizard links of `input`; an unknown wizard is a field error.
fn check_wizards(
    c: &rusqlite::Connection,
    inv: &mut Invitation,
    input: &InvitationInput,
    fields: &mut Vec<FieldError>,
) -> Result<()> {
    for (field, given, slot) in [
        ("pre_wizard_id", input.pre_wizard_id, &mut inv.pre_wizard_id),
        (
            "post_wizard_id",
            input.post_wizard_id,
            &mut inv.post_wizard_id,
        ),
    ] {
        let Some(given) = given else { continue };
        if let Some(id) = given
            && db::wizards::get(c, id)?.is_none()
        {
            fields.push(FieldError::new(field, "no such wizard"));
        }
        *slot = given;
    }
    Ok(())
}

fn check_scalars(
    inv: &mut Invitation,
    input: &InvitationInput,
    creating: bool,
    fields: &mut Vec<FieldError>,
) {
    if let Some(expires) = &input.expires_at {
        inv.expires_at = match expires.as_deref().map(db::time::parse) {
            None => None,
            Some(Some(t)) => {
                if creating && t <= chrono::Utc::now() {
                    fields.push(FieldError::new("expires_at", "must be in the future"));
                }
                Some(db::time::fmt(t))
            }
            Some(None) => {
                fields.push(FieldError::new(
                    "expires_at",
                    "must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z",
                ));
                None
            }
        };
    }
    if let Some(max) = input.max_uses {
        if max.is_some_and(|m| !(1..=1_000_000).contains(&m)) {
            fields.push(FieldError::new(
                "max_uses",
                "must be from 1 to 1000000, or null for unlimited",
            ));
        }
        inv.max_uses = max;
    }
    if let Some(days) = input.access_duration_days {
        if days.is_some_and(|d| !(1..=36_500).contains(&d)) {
            fields.push(FieldError::new(
                "access_duration_days",
                "must be from 1 to 36500, or null for no limit",
            ));
        }
        inv.access_duration_days = days;
    }
    if let Some(note) = &input.note {
        let note = note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
            fields.push(FieldError::new("note", "must be at most 500 characters"));
        }
        inv.note = note;
    }
    if let Some(enabled) = input.enabled {
        inv.enabled = enabled;
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
    Json(NewInvitation(mut input)): Json<NewInvitation>,
) -> Result<(StatusCode, Json<InvitationView>)> {
    let mut fields = Vec::new();
    let custom = input.code.clone();
    if let Some(code) = &custom
        && let Err(rule) = check_custom_code(code)
    {
        fields.push(FieldError::new("code", rule));
    }
    let mut inv = Invitation {
        id: 0,
        code: String::new(),
        enabled: true,
        expires_at: None,
        max_uses: None,
        use_count: 0,
        access_duration_days: None,
        note: None,
        created_by: admin.actor(),
        created_at: String::new(),
        updated_at: String::new(),
        closed_at: None,
        closed_reason: None,
        targets: Vec::new(),
        pre_wizard_id: None,
        post_wizard_id: None,
    };
    check_scalars(&mut inv, &input, true, &mut fields);
    let plugins = state.plugins().clone();
    let targets_input = input.servers.take().unwrap_or_default();
    let (actor, ip) = (admin.actor(), admin.ip.clone());
    let id = state
        .db()
        .write(move |tx| {
            inv.targets = check_targets(&plugins, tx, &targets_input, &mut fields)?;
            check_wizards(tx, &mut inv, &input, &mut fields)?;
            if !fields.is_empty() {
                return Err(Error::invalid(fields));
            }
            inv.code = match custom {
                Some(code) if db::invitations::code_taken(tx, &code)? => {
                    return Err(Error::Client {
                        code: ErrorCode::Conflict,
                        message: format!("the code {code} is already used by another invitation"),
                        fields: vec![FieldError::new("code", "is already taken (codes are case-insensitive)")],
                        retry_after: None,
                    });
                }
                Some(code) => code,
                None => {
                    let mut code = generate_code();
                    while db::invitations::code_taken(tx, &code)? {
                        code = generate_code();
                    }
                    code
                }
            };
            let id = db::invitations::insert(tx, &inv)?;
            db::audit::append(tx, &db::audit::NewEvent {
                actor: &actor,
                ip: ip.as_deref(),
                action: "invitation.create",
                target: Some(&format!("invitation:{id}")),
                outcome: Outcome::Success,
                detail: Some(json!({ "code": inv.code, "servers": inv.targets.iter().map(|t| t.server_id).collect::<Vec<_>>() })),
            })?;
            Ok(id)
        })
        .await?;
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
    let st = state.clone();
    state
        .db()
        .run(move |c| {
            let inv = db::invitations::get(c, id)?.ok_or_else(|| Error::not_found("invitation"))?;
            view(&st, c, inv)
        })
        .await
        .map(Json)
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
    /// `active`, `expired`, `used_up` or `disabled`.
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
    let mut fields = Vec::new();
    let status = q.status.as_deref().map(|s| {
        Status::parse(s).ok_or_else(|| {
            fields.push(FieldError::new(
                "status",
                "must be active, expired, used_up or disabled",
            ))
        })
    });
    let sort = Sort::parse(q.sort.as_deref().unwrap_or("created_at"));
    if sort.is_none() {
        fields.push(FieldError::new(
            "sort",
            "must be created_at, expires_at, code or use_count",
        ));
    }
    let descending = match q.order.as_deref() {
        None => sort == Some(Sort::CreatedAt) || sort == Some(Sort::UseCount),
        Some("desc") => true,
        Some("asc") => false,
        Some(_) => {
            fields.push(FieldError::new("order", "must be asc or desc"));
            false
        }
    };
    if !fields.is_empty() {
        return Err(Error::invalid(fields));
    }
    let filter = Filter {
        status: status.and_then(|s| s.ok()),
        server_id: q.server_id,
        search: q.search,
    };
    let sort = sort.unwrap_or(Sort::CreatedAt);
    let st = state.clone();
    state
        .db()
        .run(move |c| {
            let (items, total) =
                db::invitations::list(c, &filter, sort, descending, page.limit(), page.offset())?;
            let views = items
                .into_iter()
                .map(|inv| view(&st, c, inv))
                .collect::<Result<Vec<_>>>()?;
            Ok(Paginated::new(views, total, page))
        })
        .await
        .map(Json)
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
    let plugins = state.plugins().clone();
    let (actor, ip) = (admin.actor(), admin.ip.clone());
    state
        .db()
        .write(move |tx| {
            let mut inv =
                db::invitations::get(tx, id)?.ok_or_else(|| Error::not_found("invitation"))?;
            let mut fields = Vec::new();
            if input
                .code
                .as_ref()
                .is_some_and(|c| !c.eq_ignore_ascii_case(&inv.code))
            {
                fields.push(FieldError::new(
                    "code",
                    "cannot be changed; create a new invitation instead",
                ));
            }
            check_scalars(&mut inv, &input, false, &mut fields);
            if let Some(targets) = &input.servers {
                inv.targets = check_targets(&plugins, tx, targets, &mut fields)?;
            }
            check_wizards(tx, &mut inv, &input, &mut fields)?;
            if !fields.is_empty() {
                return Err(Error::invalid(fields));
            }
            db::invitations::update(tx, &inv)?;
            db::audit::append(
                tx,
                &db::audit::NewEvent {
                    actor: &actor,
                    ip: ip.as_deref(),
                    action: "invitation.update",
                    target: Some(&format!("invitation:{id}")),
                    outcome: Outcome::Success,
                    detail: None,
                },
            )?;
            Ok(())
        })
        .await?;
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
    let (actor, ip) = (admin.actor(), admin.ip.clone());
    state
        .db()
        .write(move |tx| {
            let inv =
                db::invitations::get(tx, id)?.ok_or_else(|| Error::not_found("invitation"))?;
            db::invitations::delete(tx, id)?;
            db::audit::append(
                tx,
                &db::audit::NewEvent {
                    actor: &actor,
                    ip: ip.as_deref(),
                    action: "invitation.delete",
                    target: Some(&format!("invitation:{id}")),
                    outcome: Outcome::Success,
                    detail: Some(json!({ "code": inv.code })),
                },
            )?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_avoid_look_alikes() {
        for _ in 0..200 {
            let code = generate_code();
            assert_eq!(code.len(), 12);
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']), "{code}");
            assert!(check_custom_code(&code).is_ok());
        }
    }

    #[test]
    fn custom_codes() {
        assert!(check_custom_code("family-2027_x").is_ok());
        assert!(check_custom_code("").is_err());
        assert!(check_custom_code(&"a".repeat(33)).is_err());
        assert!(check_custom_code("no spaces").is_err());
        assert!(check_custom_code("ünïcode").is_err());
    }
}

fn status_schema() -> utoipa::openapi::Object {
    crate::http::openapi::string_enum(&["active", "expired", "used_up", "disabled"])
}

fn sort_schema() -> utoipa::openapi::Object {
    crate::http::openapi::string_enum(&["created_at", "expires_at", "code", "use_count"])
}

//! Server pages: the list with each server's health, add (choose a connector, then its own
//! fields from the manifest, "Test connection" before saving), a server's page with its
//! libraries, and delete (saying what happens to its users). Every change goes through
//! [`crate::servers`], as the JSON API's does.

use super::invitations::confirm_delete;
use super::*;
use crate::plugins::{Manifest, ValueKind};
use crate::servers::{self as domain, Input};
use askama::Template;
use axum::extract::{Path, Query};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Debug)]
struct ServerRow {
    href: String,
    name: String,
    kind: String,
    health: String,
    healthy: bool,
    last_error: Option<String>,
    libraries: i64,
}

#[derive(Template)]
#[template(path = "admin_servers.html")]
struct ListPage {
    l: Layout,
    t: Tr,
    rows: Vec<ServerRow>,
    flash: Option<String>,
}

fn health(state: &AppState, row: &crate::db::servers::ServerRow) -> &'static str {
    let connector = domain::connector_state(state, &row.kind);
    if !row.enabled {
        "disabled"
    } else if connector != "loaded" {
        "connector_missing"
    } else if row.last_error.is_some() {
        "failing"
    } else {
        "healthy"
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Flash {
    deleted: Option<String>,
    created: Option<String>,
    saved: Option<String>,
    /// A form of the page posted after the session ended (see [`super::drafts`]).
    draft: Option<String>,
}

/// `GET /admin/servers`.
pub(super) async fn list(a: AdminCtx, Query(f): Query<Flash>) -> Response {
    let rows = match domain::list(a.state()).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let t = a.t();
    let rows = rows
        .into_iter()
        .map(|(row, n)| {
            let h = health(a.state(), &row);
            ServerRow {
                href: format!("/admin/servers/{}", row.id),
                health: t.t(&format!("health-{}", h.replace('_', "-"))),
                healthy: h == "healthy",
                last_error: row.last_error.clone(),
                libraries: n,
                kind: row.kind,
                name: row.name,
            }
        })
        .collect();
    let page = ListPage {
        l: a.layout(t.t("srv-list-title"), "servers"),
        t: t.clone(),
        rows,
        flash: f.deleted.map(|_| t.t("srv-deleted-flash")),
    };
    html(StatusCode::OK, &page)
}

/// A loaded connector to choose.
#[derive(Debug)]
struct Connector {
    id: String,
    name: String,
    description: String,
    href: String,
}

/// A manifest field of the form.
#[derive(Debug)]
struct FieldView {
    name: String,
    label: String,
    help: Option<String>,
    /// `text`, `password`, `url`, `number` or `flag`.
    input: &'static str,
    value: String,
    checked: bool,
    required: bool,
}

#[derive(Template)]
#[template(path = "admin_server_new.html")]
struct NewPage {
    l: Layout,
    t: Tr,
    csrf: String,
    first: bool,
    connectors: Vec<Connector>,
    /// The chosen connector.
    kind: Option<(String, String)>,
    name: String,
    url: String,
    accept_invalid_certs: bool,
    /// The private CA certificates' PEM, as typed.
    ca_certificate: String,
    fields: Vec<FieldView>,
    /// What "Test connection" found: server name, version, libraries.
    tested: Option<(String, String, Vec<String>)>,
    r: Refusal,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct NewQuery {
    kind: Option<String>,
    first: Option<String>,
    /// What the admin typed before the session ended (see [`super::drafts`]).
    draft: Option<String>,
}

struct NewRender {
    first: bool,
    manifest: Option<Manifest>,
    form: Form,
    tested: Option<(String, String, Vec<String>)>,
    r: Refusal,
}

fn render_new(a: &AdminCtx, status: StatusCode, n: NewRender) -> Response {
    let t = a.t();
    let mut connectors: Vec<Connector> = a
        .state()
        .plugins()
        .ids()
        .into_iter()
        .filter_map(|id| a.state().plugins().manifest(&id))
        .map(|m| Connector {
            href: format!(
                "/admin/servers/new?kind={}{}",
                percent_encode(&m.id),
                if n.first { "&first=1" } else { "" }
            ),
            id: m.id,
            name: m.name,
            description: m.description,
        })
        .collect();
    connectors.sort_by(|x, y| x.name.cmp(&y.name));
    let fields = n
        .manifest
        .as_ref()
        .map(|m| {
            m.config
                .iter()
                .map(|f| {
                    let name = format!("config.{}", f.key);
                    // Secrets are never sent back to the browser: a refused form asks again.
                    let value = if f.kind == ValueKind::Secret {
                        String::new()
                    } else {
                        n.form.opt(&name).unwrap_or_else(|| {
                            f.default_value
                                .as_ref()
                                .map(|d| d.to_config_text())
                                .unwrap_or_default()
                        })
                    };
                    FieldView {
                        input: match f.kind {
                            ValueKind::Secret => "password",
                            ValueKind::Url => "url",
                            ValueKind::Number => "number",
                            ValueKind::Flag => "flag",
                            ValueKind::Text => "text",
                        },
                        checked: if n.form.0.is_empty() {
                            value == "true"
                        } else {
                            n.form.checked(&name)
                        },
                        value,
                        label: f.label.clone(),
                        help: f.help.clone(),
                        required: f.required,
                        name,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let page = NewPage {
        l: a.layout(t.t("srv-new-title"), "servers"),
        t: t.clone(),
        csrf: a.csrf.clone(),
        first: n.first,
        connectors,
        kind: n.manifest.as_ref().map(|m| (m.id.clone(), m.name.clone())),
        name: n.form.get("name").to_owned(),
        url: n.form.get("url").to_owned(),
        accept_invalid_certs: n.form.checked("accept_invalid_certs"),
        ca_certificate: n.form.get("ca_certificate").to_owned(),
        fields,
        tested: n.tested,
        r: n.r,
    };
    html(status, &page)
}

/// `GET /admin/servers/new[?kind=…][&draft=…]`: choose a connector, then its form (filled from a
/// draft kept when the session ended mid-form).
pub(super) async fn new_page(a: AdminCtx, Query(q): Query<NewQuery>) -> Response {
    let draft = a.take_draft(q.draft.as_deref());
    let kind = match &draft {
        Some(form) => Some(form.get("kind").to_owned()),
        None => q.kind.clone(),
    };
    let manifest = kind
        .as_deref()
        .and_then(|k| a.state().plugins().manifest(k));
    let r = Refusal {
        notice: draft.as_ref().map(|_| a.t().t("draft-restored")),
        ..Refusal::default()
    };
    render_new(
        &a,
        StatusCode::OK,
        NewRender {
            first: q.first.is_some() || draft.as_ref().is_some_and(|f| f.checked("first")),
            manifest,
            form: draft.unwrap_or_default(),
            tested: None,
            r,
        },
    )
}

fn input_of(manifest: &Manifest, form: &Form) -> Input {
    let mut config = Map::new();
    for f in &manifest.config {
        let name = format!("config.{}", f.key);
        let value = match f.kind {
            ValueKind::Flag => Value::Bool(form.checked(&name)),
            _ => match form.opt(&name) {
                Some(v) => Value::String(v),
                None => continue,
            },
        };
        config.insert(f.key.clone(), value);
    }
    Input {
        name: Some(form.get("name").trim().to_owned()),
        kind: Some(manifest.id.clone()),
        url: Some(form.get("url").trim().to_owned()),
        config: Some(config),
        extra_hosts: None,
        accept_invalid_certs: Some(form.checked("accept_invalid_certs")),
        // Empty removes the CA; the edit page shows the stored one, so it stays unless changed.
        ca_certificate: Some(form.opt("ca_certificate")),
        enabled: Some(true),
        admin_login: None,
    }
}

/// Where the error of a connection attempt belongs: the server's answer to a credential goes
/// next to the secret field, a "not found" or unreachable URL next to the URL.
fn place_remote_error(manifest: &Manifest, e: &Error, r: &mut Refusal) {
    if !r.fields.is_empty() {
        return;
    }
    let msg = e.public_message();
    let field = match e.code() {
        ErrorCode::RemoteUnauthorized | ErrorCode::RemoteForbidden => manifest
            .config
            .iter()
            .find(|f| f.kind == ValueKind::Secret)
            .map(|f| format!("config.{}", f.key)),
        ErrorCode::ServerUrlNotFound | ErrorCode::RemoteUnreachable | ErrorCode::RemoteTimeout => {
            Some("url".to_owned())
        }
        _ => None,
    };
    if let Some(field) = field {
        r.fields.insert(field, msg);
    }
}

/// `POST /admin/servers/new`: "Test connection" (`op=test`, nothing stored) or save (tested
/// again by the domain before it is stored).
pub(super) async fn create(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed("/admin/servers/new");
    }
    let first = form.checked("first");
    let Some(manifest) = a.state().plugins().manifest(form.get("kind")) else {
        return render_new(
            &a,
            StatusCode::UNPROCESSABLE_ENTITY,
            NewRender {
                first,
                manifest: None,
                form: Form::default(),
                tested: None,
                r: Refusal {
                    notice: Some(a.t().t("srv-choose-connector")),
                    ..Refusal::default()
                },
            },
        );
    };
    let input = input_of(&manifest, &form);
    if form.get("op") == "test" {
        return match domain::test(a.state(), &input).await {
            Ok(p) => {
                let tested = Some((
                    p.server.name.clone(),
                    format!(
                        "{} {}",
                        p.server.product,
                        p.server.version.unwrap_or_default()
                    )
                    .trim()
                    .to_owned(),
                    p.libraries.iter().map(|l| l.name.clone()).collect(),
                ));
                render_new(
                    &a,
                    StatusCode::OK,
                    NewRender {
                        first,
                        manifest: Some(manifest),
                        form,
                        tested,
                        r: Refusal::default(),
                    },
                )
            }
            Err(e) => {
                let mut r = Refusal::from_error(a.t(), &e, str::to_owned);
                place_remote_error(&manifest, &e, &mut r);
                render_new(
                    &a,
                    refused_status(&e),
                    NewRender {
                        first,
                        manifest: Some(manifest),
                        form,
                        tested: None,
                        r,
                    },
                )
            }
        };
    }
    match domain::create(a.state(), &a.actor(), input).await {
        Ok((id, _)) => see_other(&if first {
            "/admin/invitations/new".to_owned()
        } else {
            format!("/admin/servers/{id}?created=1")
        }),
        Err(e) => {
            let mut r = Refusal::from_error(a.t(), &e, str::to_owned);
            if e.code() == ErrorCode::Conflict {
                r.fields.insert("name".into(), a.t().t("srv-name-taken"));
            }
            place_remote_error(&manifest, &e, &mut r);
            render_new(
                &a,
                refused_status(&e),
                NewRender {
                    first,
                    manifest: Some(manifest),
                    form,
                    tested: None,
                    r,
                },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "admin_server.html")]
struct ShowPage {
    l: Layout,
    t: Tr,
    id: i64,
    name: String,
    facts: Vec<(String, String)>,
    health: String,
    healthy: bool,
    connector_note: Option<String>,
    last_error: Option<String>,
    libraries: Vec<(String, String, bool)>,
    flash: Option<String>,
    enabled: bool,
    csrf: String,
    /// Username, external id, since when.
    exclusions: Vec<(String, String, String)>,
    /// An action of this page was posted after the session ended: nothing was done.
    draft_notice: Option<String>,
    /// The exclusion form's values, from that draft.
    exclusion: (String, String),
}

fn not_found(a: &AdminCtx) -> Response {
    message(
        &a.ctx,
        StatusCode::NOT_FOUND,
        "error-not-found-title",
        a.t().t("srv-not-found"),
        Some(ErrorCode::NotFound.as_str()),
        vec![("/admin/servers".to_owned(), a.t().t("srv-list-title"))],
    )
}

/// `GET /admin/servers/{id}`: health, what it said about itself, its libraries.
pub(super) async fn show(a: AdminCtx, Path(id): Path<i64>, Query(f): Query<Flash>) -> Response {
    let Ok(row) = domain::load(a.state(), id).await else {
        return not_found(&a);
    };
    let libraries = domain::libraries(a.state(), id).await.unwrap_or_default();
    let exclusions = crate::sync::exclusions(a.state(), id)
        .await
        .unwrap_or_default();
    let draft = a.take_draft(f.draft.as_deref());
    let t = a.t();
    let h = health(a.state(), &row);
    let connector = domain::connector_state(a.state(), &row.kind);
    let [remote_name, product, version, _] = row.remote.clone();
    let mut facts = vec![
        (t.t("srv-kind"), row.kind.clone()),
        (t.t("srv-url"), row.base_url.clone()),
        (
            t.t("srv-remote"),
            [remote_name, product, version]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
        ),
        (
            t.t("srv-last-sync"),
            row.last_sync_at
                .as_deref()
                .map_or_else(|| t.t("never"), |at| local_time(&a.ctx, at)),
        ),
        (
            t.t("srv-last-checked"),
            row.last_checked_at
                .as_deref()
                .map_or_else(|| t.t("never"), |at| local_time(&a.ctx, at)),
        ),
    ];
    if let Some(pem) = &row.ca_certificate {
        let summary = crate::server_ca::summaries(pem)
            .into_iter()
            .map(|s| {
                t.t2(
                    "srv-ca-summary",
                    "subject",
                    &s.subject,
                    "date",
                    s.not_after.as_deref().unwrap_or("?"),
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        facts.push((t.t("srv-ca"), summary));
    }
    let page = ShowPage {
        l: a.layout(row.name.clone(), "servers"),
        t: t.clone(),
        id,
        facts,
        health: t.t(&format!("health-{}", h.replace('_', "-"))),
        healthy: h == "healthy",
        connector_note: (connector != "loaded")
            .then(|| t.t1(&format!("srv-connector-{connector}"), "kind", &row.kind)),
        last_error: row.last_error.clone(),
        libraries: libraries
            .into_iter()
            .map(|l| {
                let missing = l.is_missing();
                (l.name, l.kind, missing)
            })
            .collect(),
        name: row.name,
        flash: f
            .created
            .map(|_| t.t("srv-created-flash"))
            .or_else(|| f.saved.map(|_| t.t("saved-flash"))),
        enabled: row.enabled,
        csrf: a.csrf.clone(),
        exclusions: exclusions
            .into_iter()
            .map(|e| (e.username, e.external_id, local_time(&a.ctx, &e.created_at)))
            .collect(),
        draft_notice: draft.as_ref().map(|_| t.t("draft-action-not-done")),
        exclusion: draft.as_ref().map_or_else(Default::default, |d| {
            (
                d.get("external_id").to_owned(),
                d.get("username").to_owned(),
            )
        }),
    };
    html(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "admin_server_edit.html")]
struct EditPage {
    l: Layout,
    t: Tr,
    csrf: String,
    id: i64,
    name: String,
    url: String,
    accept_invalid_certs: bool,
    ca_certificate: String,
    fields: Vec<FieldView>,
    r: Refusal,
}

fn edit_fields(
    manifest: &Manifest,
    values: &BTreeMap<String, String>,
    form: Option<&Form>,
) -> Vec<FieldView> {
    manifest
        .config
        .iter()
        .map(|f| {
            let name = format!("config.{}", f.key);
            let value = match (f.kind, form) {
                // Secrets are never sent to the browser: empty means "keep".
                (ValueKind::Secret, _) => String::new(),
                (_, Some(form)) => form.get(&name).to_owned(),
                (_, None) => values.get(&f.key).cloned().unwrap_or_default(),
            };
            FieldView {
                input: match f.kind {
                    ValueKind::Secret => "password",
                    ValueKind::Url => "url",
                    ValueKind::Number => "number",
                    ValueKind::Flag => "flag",
                    ValueKind::Text => "text",
                },
                checked: match form {
                    Some(form) => form.checked(&name),
                    None => values.get(&f.key).is_some_and(|v| v == "true"),
                },
                value,
                label: f.label.clone(),
                help: f.help.clone(),
                required: false,
                name,
            }
        })
        .collect()
}

/// `GET /admin/servers/{id}/edit`: name, address, the connector's fields; secrets stay as they
/// are unless typed again (and must be typed again when the address changes).
pub(super) async fn edit_page(
    a: AdminCtx,
    Path(id): Path<i64>,
    Query(f): Query<Flash>,
) -> Response {
    let Ok(row) = domain::load(a.state(), id).await else {
        return not_found(&a);
    };
    let Some(manifest) = a.state().plugins().manifest(&row.kind) else {
        return show(a, Path(id), Query(Flash::default())).await;
    };
    let values: BTreeMap<String, String> = serde_json::from_str(&row.config).unwrap_or_default();
    let draft = a.take_draft(f.draft.as_deref());
    let t = a.t();
    let mut r = Refusal::default();
    let (name, url, accept_invalid_certs, ca_certificate) = match &draft {
        Some(d) => {
            r.notice = Some(t.t("draft-restored"));
            (
                d.get("name").to_owned(),
                d.get("url").to_owned(),
                d.checked("accept_invalid_certs"),
                d.get("ca_certificate").to_owned(),
            )
        }
        None => (
            row.name.clone(),
            row.base_url,
            row.accept_invalid_certs,
            row.ca_certificate.unwrap_or_default(),
        ),
    };
    let page = EditPage {
        l: a.layout(t.t1("srv-edit-title", "name", &row.name), "servers"),
        t: t.clone(),
        csrf: a.csrf.clone(),
        id,
        fields: edit_fields(&manifest, &values, draft.as_ref()),
        name,
        url,
        accept_invalid_certs,
        ca_certificate,
        r,
    };
    html(StatusCode::OK, &page)
}

/// `POST /admin/servers/{id}/edit`: through [`domain::update`] (tested again before saving).
pub(super) async fn edit(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    let action = format!("/admin/servers/{id}/edit");
    if !a.form_ok(&form) {
        return a.csrf_failed(&action);
    }
    let Ok(row) = domain::load(a.state(), id).await else {
        return not_found(&a);
    };
    let Some(manifest) = a.state().plugins().manifest(&row.kind) else {
        return show(a, Path(id), Query(Flash::default())).await;
    };
    let mut input = input_of(&manifest, &form);
    input.kind = None;
    input.enabled = None;
    // A new address gets the secrets again (the domain refuses with SECRETS_REQUIRED otherwise).
    match domain::update(a.state(), &a.actor(), id, input).await {
        Ok(()) => see_other(&format!("/admin/servers/{id}?saved=1")),
        Err(e) => {
            let mut r = Refusal::from_error(a.t(), &e, str::to_owned);
            if e.code() == ErrorCode::SecretsRequired {
                // The address moved, or the server is to trust more certificates.
                let key = if e.public_message().contains("trusted certificates") {
                    "srv-secret-again-trust"
                } else {
                    "srv-secret-again"
                };
                for message in r.fields.values_mut() {
                    *message = a.t().t(key);
                }
            }
            if e.code() == ErrorCode::Conflict {
                r.fields.insert("name".into(), a.t().t("srv-name-taken"));
            }
            place_remote_error(&manifest, &e, &mut r);
            let values = BTreeMap::new();
            let t = a.t();
            let page = EditPage {
                l: a.layout(t.t1("srv-edit-title", "name", &row.name), "servers"),
                t: t.clone(),
                csrf: a.csrf.clone(),
                id,
                fields: edit_fields(&manifest, &values, Some(&form)),
                name: form.get("name").to_owned(),
                url: form.get("url").to_owned(),
                accept_invalid_certs: form.checked("accept_invalid_certs"),
                ca_certificate: form.get("ca_certificate").to_owned(),
                r,
            };
            html(
                refused_status(&e).max(StatusCode::UNPROCESSABLE_ENTITY),
                &page,
            )
        }
    }
}

/// `POST /admin/servers/{id}/enabled`: switch the server on (tested first) or off.
pub(super) async fn set_enabled(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed(&format!("/admin/servers/{id}"));
    }
    let enabled = form.get("enabled") == "true";
    let input = Input {
        enabled: Some(enabled),
        ..Input::default()
    };
    match domain::update(a.state(), &a.actor(), id, input).await {
        Ok(()) => see_other(&format!("/admin/servers/{id}?saved=1")),
        Err(e) if e.code() == ErrorCode::NotFound => not_found(&a),
        Err(e) => message(
            &a.ctx,
            refused_status(&e),
            "srv-enable-failed",
            e.public_message(),
            Some(e.code().as_str()),
            vec![(format!("/admin/servers/{id}"), a.t().t("back"))],
        ),
    }
}

/// One part of a sync (libraries or users) as shown: the changes and their names.
#[derive(Debug)]
struct SyncPart {
    title: String,
    lines: Vec<(String, i64, String)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_sync.html")]
struct SyncPage {
    l: Layout,
    t: Tr,
    csrf: String,
    id: i64,
    name: String,
    dry_run: bool,
    /// The safety check's refusal (`SYNC_REFUSED`): the preview shows what a forced sync would
    /// do, and its button forces it.
    refused: Option<String>,
    parts: Vec<SyncPart>,
}

fn sync_part(t: &Tr, title: &str, run: &crate::db::jobs::JobRun) -> SyncPart {
    const KEYS: [&str; 12] = [
        "added",
        "imported",
        "updated",
        "returned",
        "missing",
        "removed",
        "vanished",
        "gone",
        "excluded",
        "unchanged",
        "known",
        "remote",
    ];
    let lines = KEYS
        .iter()
        .filter_map(|k| {
            let n = run.counts.get(*k)?.as_i64()?;
            let names = run
                .counts
                .get(format!("{k}_names"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            Some((t.t(&format!("sync-{k}")), n, names))
        })
        .collect();
    SyncPart {
        title: t.t(title),
        lines,
        error: run.error.clone(),
    }
}

/// `POST /admin/servers/{id}/sync`: `dry_run=1` shows what a sync would change, with a button
/// to apply it; applying syncs ([`crate::sync::run_by`], as `POST /api/v1/servers/{id}/sync`)
/// and shows the result.
///
/// When the safety check refuses (more accounts or libraries would vanish than
/// `sync.max_vanished_percent` allows), the page says why and previews what a forced sync would
/// change (a forced dry run changes nothing); its button sends `force=1`, the JSON API's
/// `force`.
pub(super) async fn sync(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed(&format!("/admin/servers/{id}"));
    }
    let Ok(row) = domain::load(a.state(), id).await else {
        return not_found(&a);
    };
    let mut dry_run = form.get("dry_run") == "1";
    let force = form.get("force") == "1";
    let mut refused = None;
    let all = crate::sync::What::All;
    let mut result = crate::sync::run_by(a.state(), &a.actor(), id, all, dry_run, force).await;
    if let Err(e) = &result
        && e.code() == ErrorCode::SyncRefused
        && !force
    {
        refused = Some(e.public_message());
        dry_run = true;
        result = crate::sync::run_by(a.state(), &a.actor(), id, all, true, true).await;
    }
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            return message(
                &a.ctx,
                refused_status(&e),
                "srv-sync-failed",
                e.public_message(),
                Some(e.code().as_str()),
                vec![(format!("/admin/servers/{id}"), a.t().t("back"))],
            );
        }
    };
    let t = a.t();
    let mut parts = Vec::new();
    if let Some(run) = &report.libraries {
        parts.push(sync_part(t, "inv-libraries", run));
    }
    if let Some(run) = &report.users {
        parts.push(sync_part(t, "dash-users", run));
    }
    let title = if refused.is_some() {
        t.t1("srv-sync-refused-title", "name", &row.name)
    } else if dry_run {
        t.t1("srv-sync-preview-title", "name", &row.name)
    } else {
        t.t1("srv-sync-done-title", "name", &row.name)
    };
    let page = SyncPage {
        l: a.layout(title, "servers"),
        t: t.clone(),
        csrf: a.csrf.clone(),
        id,
        name: row.name,
        dry_run,
        refused,
        parts,
    };
    html(StatusCode::OK, &page)
}

/// `POST /admin/servers/{id}/exclusions`: exclude an account from user sync (`op=add`, with
/// `external_id` and an optional `username`) or include it again (`op=remove`).
pub(super) async fn exclusions(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed(&format!("/admin/servers/{id}"));
    }
    let result = if form.get("op") == "remove" {
        crate::sync::include(a.state(), &a.actor(), id, form.get("external_id")).await
    } else {
        let username = form.opt("username");
        crate::sync::exclude(
            a.state(),
            &a.actor(),
            id,
            form.get("external_id"),
            username.as_deref(),
        )
        .await
        .map(|_| ())
    };
    match result {
        Ok(()) => see_other(&format!("/admin/servers/{id}?saved=1#exclusions")),
        Err(e) => {
            let r = Refusal::from_error(a.t(), &e, str::to_owned);
            let text = match r.fields.values().next() {
                Some(field) => format!("{} {field}", a.t().t("srv-exclusion-field")),
                None => r.notice.unwrap_or_else(|| e.public_message()),
            };
            message(
                &a.ctx,
                refused_status(&e),
                "srv-exclusion-failed",
                text,
                Some(e.code().as_str()),
                vec![(format!("/admin/servers/{id}#exclusions"), a.t().t("back"))],
            )
        }
    }
}

/// `GET /admin/servers/{id}/delete`: what happens to its users, and the button.
pub(super) async fn delete_page(a: AdminCtx, Path(id): Path<i64>) -> Response {
    let Ok(row) = domain::load(a.state(), id).await else {
        return not_found(&a);
    };
    let t = a.t();
    confirm_delete(
        &a,
        "servers",
        t.t1("srv-delete-title", "name", &row.name),
        t.t("srv-delete-text"),
        format!("/admin/servers/{id}/delete"),
        format!("/admin/servers/{id}"),
    )
}

/// `POST /admin/servers/{id}/delete`.
pub(super) async fn delete(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed(&format!("/admin/servers/{id}/delete"));
    }
    match domain::delete(a.state(), &a.actor(), id).await {
        Ok(()) => see_other("/admin/servers?deleted=1"),
        Err(_) => not_found(&a),
    }
}

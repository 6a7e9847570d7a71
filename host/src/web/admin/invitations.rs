//! Invitation pages: the list (status filter, search, sort, pages, all in the URL), create,
//! show (the link with a copy button and a QR code rendered here as SVG, its targets and its
//! redemptions), edit and delete. Every change goes through [`crate::invitations`], as the JSON
//! API's does.

use super::*;
use crate::db;
use crate::invitations::{self as domain, Changes, Detail, ListQuery, TargetSpec};
use askama::Template;
use axum::extract::Query;
use serde::Deserialize;
use serde_json::{Map, Value};

const PER_PAGE: u32 = 25;

/// One row of the list.
#[derive(Debug)]
struct Row {
    href: String,
    code: String,
    status: String,
    status_class: &'static str,
    uses: String,
    expires: String,
    servers: String,
    created: String,
}

#[derive(Template)]
#[template(path = "admin_invitations.html")]
struct ListPage {
    l: Layout,
    t: Tr,
    rows: Vec<Row>,
    total: i64,
    status: String,
    search: String,
    sort: String,
    order: String,
    statuses: Vec<(&'static str, String)>,
    sorts: Vec<(&'static str, String)>,
    pages: Vec<(u32, String, bool)>,
    r: Refusal,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListParams {
    status: Option<String>,
    search: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    page: Option<u32>,
}

fn status_label(t: &Tr, d: &Detail) -> (String, &'static str) {
    let s = d.status.as_str();
    (
        t.t(&format!("inv-status-{}", s.replace('_', "-"))),
        match s {
            "active" => "ok",
            _ => "off",
        },
    )
}

/// `GET /admin/invitations?status=&search=&sort=&order=&page=`.
pub(super) async fn list(a: AdminCtx, Query(q): Query<ListParams>) -> Response {
    let t = a.t().clone();
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let (status, search, sort, order) = (
        nonempty(&q.status),
        nonempty(&q.search),
        nonempty(&q.sort),
        nonempty(&q.order),
    );
    let page = q.page.filter(|p| *p >= 1).unwrap_or(1);
    let query = ListQuery {
        status: status.clone(),
        server_id: None,
        search: search.clone(),
        sort: sort.clone(),
        order: order.clone(),
    };
    let mut r = Refusal::default();
    let (items, total) = match query.check() {
        Ok(spec) => {
            let offset = i64::from(page - 1) * i64::from(PER_PAGE);
            match domain::list(a.state(), spec, i64::from(PER_PAGE), offset).await {
                Ok(x) => x,
                Err(e) => return e.into_response(),
            }
        }
        Err(e) => {
            r = Refusal::from_error(&t, &e, str::to_owned);
            (Vec::new(), 0)
        }
    };
    let mut base = String::from("/admin/invitations");
    let mut sep = '?';
    for (k, v) in [
        ("status", &status),
        ("search", &search),
        ("sort", &sort),
        ("order", &order),
    ] {
        if let Some(v) = v {
            base.push_str(&format!("{sep}{k}={}", percent_encode(v)));
            sep = '&';
        }
    }
    let rows = items
        .iter()
        .map(|d| {
            let (status, status_class) = status_label(&t, d);
            Row {
                href: format!("/admin/invitations/{}", d.inv.id),
                code: d.inv.code.clone(),
                status,
                status_class,
                uses: match d.inv.max_uses {
                    Some(m) => format!("{} / {m}", d.inv.use_count),
                    None => format!("{} / ∞", d.inv.use_count),
                },
                expires: d
                    .inv
                    .expires_at
                    .as_deref()
                    .map_or_else(|| t.t("never"), |e| local_time(&a.ctx, e)),
                servers: d
                    .targets
                    .iter()
                    .map(|t| t.server_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                created: local_time(&a.ctx, &d.inv.created_at),
            }
        })
        .collect();
    let page = ListPage {
        l: a.layout(t.t("inv-list-title"), "invitations"),
        rows,
        total,
        status: status.unwrap_or_default(),
        search: search.unwrap_or_default(),
        sort: sort.unwrap_or_default(),
        order: order.unwrap_or_default(),
        statuses: ["active", "unused", "used_up", "expired", "disabled"]
            .into_iter()
            .map(|s| (s, t.t(&format!("inv-status-{}", s.replace('_', "-")))))
            .collect(),
        sorts: ["created_at", "expires_at", "code", "use_count"]
            .into_iter()
            .map(|s| (s, t.t(&format!("inv-sort-{}", s.replace('_', "-")))))
            .collect(),
        pages: pages(&base, page, PER_PAGE, total),
        r,
        t,
    };
    html(StatusCode::OK, &page)
}

#[derive(Debug)]
struct LibChoice {
    id: i64,
    name: String,
    checked: bool,
}

#[derive(Debug)]
struct ServerChoice {
    id: i64,
    name: String,
    kind: String,
    checked: bool,
    all_libraries: bool,
    libraries: Vec<LibChoice>,
    permissions: Vec<super::permissions::PermField>,
}

#[derive(Debug)]
struct WizardOpt {
    id: i64,
    name: String,
    pre: bool,
    post: bool,
}

#[derive(Template)]
#[template(path = "admin_invitation_form.html")]
struct FormPage {
    l: Layout,
    t: Tr,
    csrf: String,
    action: String,
    editing: bool,
    code: String,
    custom_code: bool,
    servers: Vec<ServerChoice>,
    max_uses: String,
    expires: String,
    access_days: String,
    note: String,
    message: String,
    enabled: bool,
    wizards: Vec<WizardOpt>,
    tz: String,
    tz_minutes: i32,
    r: Refusal,
}

/// A chosen server in the form: all libraries?, the chosen library ids, permission values.
type Chosen = (bool, Vec<i64>, Map<String, Value>);

/// What the form shows: either from an invitation, or from the submitted form.
#[derive(Debug, Default)]
struct Values {
    code: String,
    custom_code: bool,
    /// Chosen servers: id → (all libraries, chosen library ids, permission values).
    chosen: BTreeMap<i64, Chosen>,
    max_uses: String,
    expires: String,
    access_days: String,
    note: String,
    message: String,
    enabled: bool,
    pre_wizard: Option<i64>,
    post_wizard: Option<i64>,
}

async fn render_form(
    a: &AdminCtx,
    status: StatusCode,
    action: String,
    editing: bool,
    v: Values,
    r: Refusal,
) -> Response {
    let st = a.state().clone();
    let loaded = a
        .state()
        .db()
        .run(move |c| {
            let mut out = Vec::new();
            for row in db::servers::list(c)? {
                let libs = db::servers::libraries(c, row.id)?;
                out.push((row, libs));
            }
            let (wizards, _) = db::wizards::list(c, 500, 0)?;
            Ok((out, wizards))
        })
        .await;
    let (rows, wizards) = match loaded {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let servers = rows
        .into_iter()
        .filter(|(row, _)| row.enabled || v.chosen.contains_key(&row.id))
        .map(|(row, libs)| {
            let chosen = v.chosen.get(&row.id);
            let manifest = st.plugins().manifest(&row.kind);
            let permissions = manifest
                .as_ref()
                .map(|m| super::permissions::fields(m, row.id, chosen.map(|(_, _, perms)| perms)))
                .unwrap_or_default();
            ServerChoice {
                id: row.id,
                kind: manifest.map_or_else(|| row.kind.clone(), |m| m.name.clone()),
                name: row.name,
                checked: chosen.is_some(),
                all_libraries: chosen.is_none_or(|(all, _, _)| *all),
                libraries: libs
                    .into_iter()
                    .filter(|l| !l.is_missing())
                    .map(|l| LibChoice {
                        checked: chosen.is_some_and(|(_, ids, _)| ids.contains(&l.id)),
                        id: l.id,
                        name: l.name,
                    })
                    .collect(),
                permissions,
            }
        })
        .collect();
    let t = a.t();
    let title = if editing {
        t.t1("inv-edit-title", "code", &v.code)
    } else {
        t.t("inv-new-title")
    };
    let offset = tz_offset(&a.ctx);
    let page = FormPage {
        l: a.layout(title, "invitations"),
        t: t.clone(),
        csrf: a.csrf.clone(),
        action,
        editing,
        code: v.code,
        custom_code: v.custom_code,
        servers,
        max_uses: v.max_uses,
        expires: v.expires,
        access_days: v.access_days,
        note: v.note,
        message: v.message,
        enabled: v.enabled,
        wizards: wizards
            .into_iter()
            .map(|(w, _)| WizardOpt {
                pre: v.pre_wizard == Some(w.id),
                post: v.post_wizard == Some(w.id),
                id: w.id,
                name: w.name,
            })
            .collect(),
        tz: offset.to_string(),
        tz_minutes: offset.local_minus_utc() / 60,
        r,
    };
    html(status, &page)
}

/// `?draft=`: what the admin typed before the session ended (see [`super::drafts`]).
#[derive(Debug, Default, Deserialize)]
pub(super) struct DraftQuery {
    draft: Option<String>,
}

/// The values of a kept draft, and the notice that says where they came from.
fn restored(a: &AdminCtx, q: &DraftQuery, editing: bool) -> Option<(Values, Refusal)> {
    let form = a.take_draft(q.draft.as_deref())?;
    let (_, v, _) = read_form(a, &form, editing);
    let r = Refusal {
        notice: Some(a.t().t("draft-restored")),
        ..Refusal::default()
    };
    Some((v, r))
}

/// `GET /admin/invitations/new[?draft=]`.
pub(super) async fn new_page(a: AdminCtx, Query(q): Query<DraftQuery>) -> Response {
    let (v, r) = restored(&a, &q, false).unwrap_or_else(|| {
        let v = Values {
            enabled: true,
            ..Values::default()
        };
        (v, Refusal::default())
    });
    render_form(
        &a,
        StatusCode::OK,
        "/admin/invitations/new".into(),
        false,
        v,
        r,
    )
    .await
}

/// Read the form into domain changes (and the values to show again); unparseable numbers and
/// times are field errors here, everything else is the domain's to judge.
fn read_form(a: &AdminCtx, form: &Form, editing: bool) -> (Changes, Values, Refusal) {
    let t = a.t();
    let mut r = Refusal::default();
    let mut v = Values {
        code: form.get("code").trim().to_owned(),
        custom_code: form.get("code_mode") == "custom",
        max_uses: form.get("max_uses").trim().to_owned(),
        expires: form.get("expires").trim().to_owned(),
        access_days: form.get("access_days").trim().to_owned(),
        note: form.get("note").to_owned(),
        message: form.get("message").to_owned(),
        enabled: !editing || form.checked("enabled"),
        pre_wizard: form.get("pre_wizard").parse().ok(),
        post_wizard: form.get("post_wizard").parse().ok(),
        ..Values::default()
    };
    let mut targets = Vec::new();
    for sid in form.all("server") {
        let Ok(sid) = sid.parse::<i64>() else {
            continue;
        };
        let all = form.get(&format!("libs-{sid}")) != "chosen";
        let ids: Vec<i64> = form
            .all(&format!("lib-{sid}"))
            .iter()
            .filter_map(|x| x.parse().ok())
            .collect();
        let perms = super::permissions::read(form, sid, t, &mut r);
        v.chosen.insert(sid, (all, ids.clone(), perms.clone()));
        targets.push(TargetSpec {
            server_id: sid,
            libraries: if all { None } else { Some(ids) },
            permissions: perms,
        });
    }
    let number = |key: &str, r: &mut Refusal| -> Option<Option<i64>> {
        let raw = form.get(key).trim();
        if raw.is_empty() {
            return Some(None);
        }
        match raw.parse::<i64>() {
            Ok(n) => Some(Some(n)),
            Err(_) => {
                r.fields.insert(key.to_owned(), t.t("field-number"));
                None
            }
        }
    };
    let max_uses = number("max_uses", &mut r);
    let access = number("access_days", &mut r);
    let expires = if v.expires.is_empty() {
        Some(None)
    } else {
        let minutes = form.get("tz").parse::<i32>().ok();
        match from_local_input(&a.ctx, minutes, &v.expires) {
            Some(at) => Some(Some(at)),
            None => {
                r.fields.insert("expires".into(), t.t("field-datetime"));
                None
            }
        }
    };
    let changes = Changes {
        code: (!editing && v.custom_code && !v.code.is_empty()).then(|| v.code.clone()),
        servers: Some(targets),
        expires_at: expires,
        max_uses,
        access_duration_days: access,
        note: Some(Some(v.note.clone())),
        message: Some(Some(v.message.clone())),
        enabled: Some(v.enabled),
        pre_wizard_id: Some(v.pre_wizard),
        post_wizard_id: Some(v.post_wizard),
    };
    if !r.fields.is_empty() {
        r.notice = Some(t.t("form-has-errors"));
        r.code = Some(ErrorCode::ValidationFailed.as_str());
    }
    (changes, v, r)
}

/// The form's name for a field the domain named.
fn form_name(field: &str, servers: &[i64]) -> String {
    if let Some(rest) = field.strip_prefix("servers[")
        && let Some((i, sub)) = rest.split_once("].")
        && let Some(sid) = i.parse::<usize>().ok().and_then(|i| servers.get(i))
    {
        return match sub.split_once('.') {
            Some(("permissions", key)) => format!("perm-{sid}-{key}"),
            _ if sub == "libraries" => format!("libs-{sid}"),
            _ => format!("server-{sid}"),
        };
    }
    match field {
        "expires_at" => "expires".into(),
        "access_duration_days" => "access_days".into(),
        "pre_wizard_id" => "pre_wizard".into(),
        "post_wizard_id" => "post_wizard".into(),
        other => other.to_owned(),
    }
}

/// `POST /admin/invitations/new`: create, then its page (with the link and QR code).
pub(super) async fn create(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    let action = "/admin/invitations/new".to_owned();
    if !a.form_ok(&form) {
        return a.csrf_failed(&action);
    }
    let (changes, v, r) = read_form(&a, &form, false);
    if !r.fields.is_empty() {
        return render_form(&a, StatusCode::UNPROCESSABLE_ENTITY, action, false, v, r).await;
    }
    // The domain names targets by position (`servers[i]`): the form's order of the servers.
    let order: Vec<i64> = form
        .all("server")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    match domain::create(a.state(), &a.actor(), changes).await {
        Ok(id) => see_other(&format!("/admin/invitations/{id}?created=1")),
        Err(e) => {
            let r = Refusal::from_error(a.t(), &e, |f| form_name(f, &order));
            render_form(&a, refused_status(&e), action, false, v, r).await
        }
    }
}

fn values_of(a: &AdminCtx, d: &Detail) -> Values {
    Values {
        code: d.inv.code.clone(),
        custom_code: false,
        chosen: d
            .targets
            .iter()
            .map(|t| {
                (
                    t.server_id,
                    (
                        t.libraries.is_none(),
                        t.libraries
                            .as_ref()
                            .map(|ls| ls.iter().map(|l| l.id).collect())
                            .unwrap_or_default(),
                        t.permissions.clone(),
                    ),
                )
            })
            .collect(),
        max_uses: d.inv.max_uses.map(|m| m.to_string()).unwrap_or_default(),
        expires: d
            .inv
            .expires_at
            .as_deref()
            .map(|e| to_local_input(&a.ctx, e))
            .unwrap_or_default(),
        access_days: d
            .inv
            .access_duration_days
            .map(|m| m.to_string())
            .unwrap_or_default(),
        note: d.inv.note.clone().unwrap_or_default(),
        message: d.inv.message.clone().unwrap_or_default(),
        enabled: d.inv.enabled,
        pre_wizard: d.inv.pre_wizard_id,
        post_wizard: d.inv.post_wizard_id,
    }
}

fn not_found(a: &AdminCtx) -> Response {
    message(
        &a.ctx,
        StatusCode::NOT_FOUND,
        "error-not-found-title",
        a.t().t("inv-not-found"),
        Some(ErrorCode::NotFound.as_str()),
        vec![("/admin/invitations".to_owned(), a.t().t("inv-list-title"))],
    )
}

/// `GET /admin/invitations/{id}/edit[?draft=]`.
pub(super) async fn edit_page(
    a: AdminCtx,
    axum::extract::Path(id): axum::extract::Path<i64>,
    Query(q): Query<DraftQuery>,
) -> Response {
    match domain::get(a.state(), id).await {
        Ok(d) => {
            let (mut v, r) =
                restored(&a, &q, true).unwrap_or_else(|| (values_of(&a, &d), Refusal::default()));
            // The code is not a form field when editing.
            v.code = d.inv.code.clone();
            render_form(
                &a,
                StatusCode::OK,
                format!("/admin/invitations/{id}/edit"),
                true,
                v,
                r,
            )
            .await
        }
        Err(_) => not_found(&a),
    }
}

/// `POST /admin/invitations/{id}/edit`: every field, cleared when left empty.
pub(super) async fn edit(
    a: AdminCtx,
    axum::extract::Path(id): axum::extract::Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    let action = format!("/admin/invitations/{id}/edit");
    if !a.form_ok(&form) {
        return a.csrf_failed(&action);
    }
    let Ok(current) = domain::get(a.state(), id).await else {
        return not_found(&a);
    };
    let (changes, mut v, r) = read_form(&a, &form, true);
    v.code = current.inv.code;
    if !r.fields.is_empty() {
        return render_form(&a, StatusCode::UNPROCESSABLE_ENTITY, action, true, v, r).await;
    }
    let order: Vec<i64> = form
        .all("server")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    match domain::update(a.state(), &a.actor(), id, changes).await {
        Ok(()) => see_other(&format!("/admin/invitations/{id}?saved=1")),
        Err(e) => {
            let r = Refusal::from_error(a.t(), &e, |f| form_name(f, &order));
            render_form(&a, refused_status(&e), action, true, v, r).await
        }
    }
}

#[derive(Debug)]
struct TargetLine {
    server: String,
    kind: String,
    libraries: String,
    missing: bool,
    permissions: Vec<(String, String)>,
}

#[derive(Debug)]
struct Redemption {
    id: i64,
    username: String,
    server: String,
    when: String,
    state: String,
}

#[derive(Template)]
#[template(path = "admin_invitation.html")]
struct ShowPage {
    l: Layout,
    t: Tr,
    id: i64,
    url: String,
    qr: String,
    status: String,
    status_class: &'static str,
    facts: Vec<(String, String)>,
    targets: Vec<TargetLine>,
    redemptions: Vec<Redemption>,
    flash: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ShowQuery {
    created: Option<String>,
    saved: Option<String>,
}

/// The link as an SVG QR code, without the XML prologue (it is inlined in the page). Only
/// presentation attributes, no `style`: the CSP allows no inline style.
pub(super) fn qr_svg(url: &str) -> String {
    match crate::auth::totp::qr_svg(url) {
        Ok(svg) => {
            let start = svg.find("<svg").unwrap_or(0);
            svg[start..].replacen(
                "<svg",
                "<svg role=\"img\" aria-hidden=\"true\" focusable=\"false\"",
                1,
            )
        }
        Err(_) => String::new(),
    }
}

/// `GET /admin/invitations/{id}`: the link, its QR code, the settings and the redemptions.
pub(super) async fn show(
    a: AdminCtx,
    axum::extract::Path(id): axum::extract::Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Response {
    let Ok(d) = domain::get(a.state(), id).await else {
        return not_found(&a);
    };
    let users = a
        .state()
        .db()
        .run(move |c| {
            let filter = db::users::Filter {
                invitation_id: Some(id),
                ..Default::default()
            };
            Ok(db::users::list(c, &filter, "u.created_at", true, 100, 0)?.0)
        })
        .await;
    let users = match users {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let t = a.t();
    let (status, status_class) = status_label(t, &d);
    let never = t.t("never");
    let facts = vec![
        (
            t.t("inv-uses"),
            match d.inv.max_uses {
                Some(m) => t.t2(
                    "inv-uses-of",
                    "used",
                    &d.inv.use_count.to_string(),
                    "max",
                    &m.to_string(),
                ),
                None => t.t1("inv-uses-unlimited", "used", &d.inv.use_count.to_string()),
            },
        ),
        (
            t.t("inv-expires"),
            d.inv
                .expires_at
                .as_deref()
                .map_or_else(|| never.clone(), |e| local_time(&a.ctx, e)),
        ),
        (
            t.t("inv-access"),
            d.inv.access_duration_days.map_or_else(
                || t.t("inv-access-unlimited"),
                |n| t.n("inv-access-days", "days", n),
            ),
        ),
        (t.t("inv-note"), d.inv.note.clone().unwrap_or_default()),
        (
            t.t("inv-message"),
            d.inv.message.clone().unwrap_or_default(),
        ),
        (t.t("inv-created"), local_time(&a.ctx, &d.inv.created_at)),
    ];
    let targets = d
        .targets
        .iter()
        .map(|tg| TargetLine {
            server: tg.server_name.clone(),
            kind: tg.kind.clone(),
            libraries: match &tg.libraries {
                None => t.t("inv-libraries-all"),
                Some(ls) => ls
                    .iter()
                    .map(|l| l.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            },
            missing: tg.libraries_missing,
            permissions: tg
                .permissions
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        match v {
                            Value::Bool(true) => t.t("yes"),
                            Value::Bool(false) => t.t("no"),
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        },
                    )
                })
                .collect(),
        })
        .collect();
    let redemptions = users
        .into_iter()
        .map(|u| Redemption {
            id: u.id,
            state: if u.vanished_at.is_some() {
                t.t("user-vanished")
            } else if u.enabled {
                t.t("user-active")
            } else {
                t.t("user-disabled")
            },
            username: u.username,
            server: u.server_name,
            when: local_time(&a.ctx, &u.created_at),
        })
        .collect();
    let flash = if q.created.is_some() {
        Some(t.t("inv-created-flash"))
    } else if q.saved.is_some() {
        Some(t.t("saved-flash"))
    } else {
        None
    };
    let page = ShowPage {
        l: a.layout(t.t1("inv-title", "code", &d.inv.code), "invitations"),
        t: t.clone(),
        id,
        qr: qr_svg(&d.url),
        url: d.url.clone(),
        status,
        status_class,
        facts,
        targets,
        redemptions,
        flash,
    };
    html(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "admin_confirm.html")]
struct ConfirmPage {
    l: Layout,
    t: Tr,
    heading: String,
    text: String,
    csrf: String,
    action: String,
    button: String,
    cancel: String,
}

/// "Delete …?": the page that says what deleting means, with the button posting to `action`
/// and a way back to `cancel`. The admin's pages in `section` share it.
pub(super) fn confirm_delete(
    a: &AdminCtx,
    section: &'static str,
    heading: String,
    text: String,
    action: String,
    cancel: String,
) -> Response {
    let t = a.t();
    let page = ConfirmPage {
        l: a.layout(heading.clone(), section),
        heading,
        text,
        csrf: a.csrf.clone(),
        action,
        button: t.t("delete"),
        cancel,
        t: t.clone(),
    };
    html(StatusCode::OK, &page)
}

/// `GET /admin/invitations/{id}/delete`: what deleting means, and the button.
pub(super) async fn delete_page(
    a: AdminCtx,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Response {
    let Ok(d) = domain::get(a.state(), id).await else {
        return not_found(&a);
    };
    let t = a.t();
    confirm_delete(
        &a,
        "invitations",
        t.t1("inv-delete-title", "code", &d.inv.code),
        t.t("inv-delete-text"),
        format!("/admin/invitations/{id}/delete"),
        format!("/admin/invitations/{id}"),
    )
}

/// `POST /admin/invitations/{id}/delete`.
pub(super) async fn delete(
    a: AdminCtx,
    axum::extract::Path(id): axum::extract::Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed(&format!("/admin/invitations/{id}/delete"));
    }
    match domain::delete(a.state(), &a.actor(), id).await {
        Ok(()) => see_other("/admin/invitations?deleted=1"),
        Err(_) => not_found(&a),
    }
}

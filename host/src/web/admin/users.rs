//! User pages: the list of every account on every server (search, filters, sort and pages, all
//! in the URL, with checkboxes for the bulk actions of [`super::users_bulk`]) and a user's page:
//! the person with all their linked accounts, the source invitation, enable/disable, expiry,
//! libraries and the connector's typed permissions, password where the connector can, link and
//! unlink, and the audit trail. Every change goes through [`crate::users`], as the JSON API's
//! does; an action the connector cannot do is not offered.

use super::permissions::{self, PermField};
use super::*;
use crate::db;
use crate::http::extract::{Path, Query};
use crate::users::{self as domain, ListQuery};
use askama::Template;
use axum::routing::post;
use serde::Deserialize;

/// Rows per page of the list.
pub(super) const PER_PAGE: u32 = 50;

/// The user routes. The forms' targets also answer `GET` with the page the form is on: after
/// a session ended mid-form, sign-in comes back to the form's target (see [`super::drafts`]).
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list))
        .route(
            "/admin/users/bulk",
            post(super::users_bulk::bulk).get(|| async { see_other("/admin/users") }),
        )
        .route("/admin/users/{id}", get(show))
        .route("/admin/users/{id}/enabled", post(set_enabled).get(to_user))
        .route("/admin/users/{id}/expiry", post(set_expiry).get(to_user))
        .route(
            "/admin/users/{id}/libraries",
            post(set_libraries).get(to_user),
        )
        .route(
            "/admin/users/{id}/permissions",
            post(set_permissions).get(to_user),
        )
        .route(
            "/admin/users/{id}/password",
            post(set_password).get(to_user),
        )
        .route("/admin/users/{id}/link", post(link).get(to_user))
        .route("/admin/users/{id}/unlink", post(unlink).get(to_user))
}

/// `GET` on a form's target: the user's page.
async fn to_user(Path(id): Path<i64>) -> Response {
    see_other(&format!("/admin/users/{id}"))
}

/// One row of the list.
#[derive(Debug)]
struct Row {
    id: i64,
    href: String,
    username: String,
    email: String,
    server: String,
    state: String,
    state_class: &'static str,
    expires: String,
    created: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct ListPage {
    l: Layout,
    t: Tr,
    csrf: String,
    rows: Vec<Row>,
    total: i64,
    search: String,
    server: String,
    status: String,
    expiry: String,
    sort: String,
    order: String,
    /// The invitation filter: as given, its code, the list without it.
    invitation: Option<(String, String, String)>,
    servers: Vec<(String, String)>,
    statuses: Vec<(&'static str, String)>,
    expiries: Vec<(&'static str, String)>,
    sorts: Vec<(&'static str, String)>,
    pages: Vec<(u32, String, bool)>,
    /// This page's URL (the bulk actions come back to it).
    here: String,
    select_all: String,
    selected_all: bool,
    tz_minutes: i32,
    r: Refusal,
}

/// The list's query string.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListParams {
    search: Option<String>,
    server: Option<String>,
    invitation: Option<String>,
    /// `active`, `enabled`, `disabled` or `vanished`.
    status: Option<String>,
    /// `expiring`, `expired` or `never`.
    expiry: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    page: Option<u32>,
    /// `all`: every row of the page checked (the no-JavaScript "select all").
    select: Option<String>,
}

/// The state of an account as the list and the user page show it.
pub(super) fn state_of(t: &Tr, u: &db::users::User) -> (String, &'static str) {
    let expired = u
        .expires_at
        .as_deref()
        .and_then(db::time::parse)
        .is_some_and(|at| at <= chrono::Utc::now());
    if u.vanished_at.is_some() {
        (t.t("user-vanished"), "off")
    } else if !u.enabled {
        (t.t("user-disabled"), "off")
    } else if expired {
        (t.t("users-state-expired"), "off")
    } else {
        (t.t("user-active"), "ok")
    }
}

/// `GET /admin/users?search=&server=&invitation=&status=&expiry=&sort=&order=&page=&select=`.
pub(super) async fn list(a: AdminCtx, Query(q): Query<ListParams>) -> Response {
    let t = a.t().clone();
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let search = nonempty(&q.search);
    let server = nonempty(&q.server);
    let invitation = nonempty(&q.invitation);
    let status = nonempty(&q.status);
    let expiry = nonempty(&q.expiry);
    let sort = nonempty(&q.sort);
    let order = nonempty(&q.order);
    let page = q.page.filter(|p| *p >= 1).unwrap_or(1);
    let mut r = Refusal::default();
    let id_of = |v: &Option<String>, field: &str, r: &mut Refusal| -> Option<i64> {
        let raw = v.as_deref()?;
        match raw.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                r.fields.insert(field.to_owned(), t.t("field-number"));
                None
            }
        }
    };
    let server_id = id_of(&server, "server", &mut r);
    let invitation_id = id_of(&invitation, "invitation", &mut r);
    let (enabled, vanished, current) = match status.as_deref() {
        None => (None, None, false),
        Some("active") => (Some(true), Some(false), true),
        Some("enabled") => (Some(true), None, false),
        Some("disabled") => (Some(false), None, false),
        Some("vanished") => (None, Some(true), false),
        Some(_) => {
            r.fields
                .insert("status".into(), t.t("users-filter-invalid"));
            (None, None, false)
        }
    };
    // "Active" is the dashboard's: enabled, present and not expired; an expiry filter given
    // with it narrows further.
    let expiry_filter = match (&expiry, current) {
        (Some(e), _) => Some(e.clone()),
        (None, true) => Some("current".to_owned()),
        (None, false) => None,
    };
    let query = ListQuery {
        server_id,
        invitation_id,
        enabled,
        expiry: expiry_filter,
        vanished,
        search: search.clone(),
        sort: sort.clone(),
        order: order.clone(),
    };
    let (items, total) = if r.fields.is_empty() {
        match query.check() {
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
        }
    } else {
        r.notice = Some(t.t("form-has-errors"));
        r.code = Some(ErrorCode::ValidationFailed.as_str());
        (Vec::new(), 0)
    };
    let loaded = a
        .state()
        .db()
        .run(move |c| {
            let servers = db::servers::list(c)?;
            let invitation = match invitation_id {
                Some(i) => db::invitations::get(c, i)?.map(|inv| (inv.id, inv.code)),
                None => None,
            };
            Ok((servers, invitation))
        })
        .await;
    let (servers, invitation_ref) = match loaded {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let mut base = String::from("/admin/users");
    let mut sep = '?';
    for (k, v) in [
        ("search", &search),
        ("server", &server),
        ("invitation", &invitation),
        ("status", &status),
        ("expiry", &expiry),
        ("sort", &sort),
        ("order", &order),
    ] {
        if let Some(v) = v {
            base.push_str(&format!("{sep}{k}={}", percent_encode(v)));
            sep = '&';
        }
    }
    let here = if page > 1 {
        format!("{base}{sep}page={page}")
    } else {
        base.clone()
    };
    let here_sep = if here.contains('?') { '&' } else { '?' };
    let selected_all = q.select.as_deref() == Some("all");
    let rows = items
        .iter()
        .map(|u| {
            let (state, state_class) = state_of(&t, u);
            Row {
                id: u.id,
                href: format!("/admin/users/{}", u.id),
                username: u.username.clone(),
                email: u.email.clone().unwrap_or_default(),
                server: u.server_name.clone(),
                state,
                state_class,
                expires: u
                    .expires_at
                    .as_deref()
                    .map_or_else(|| t.t("never"), |e| local_time(&a.ctx, e)),
                created: local_time(&a.ctx, &u.created_at),
                checked: selected_all,
            }
        })
        .collect();
    let offset = tz_offset(&a.ctx);
    let page = ListPage {
        l: a.layout(t.t("users-title"), "users"),
        csrf: a.csrf.clone(),
        rows,
        total,
        search: search.unwrap_or_default(),
        server: server.unwrap_or_default(),
        status: status.unwrap_or_default(),
        expiry: expiry.unwrap_or_default(),
        sort: sort.unwrap_or_default(),
        order: order.unwrap_or_default(),
        invitation: invitation.map(|raw| {
            let label = invitation_ref.map_or_else(|| raw.clone(), |(_, code)| code);
            let mut without = base.clone();
            without = without
                .replace(&format!("invitation={}", percent_encode(&raw)), "")
                .replace("?&", "?")
                .replace("&&", "&");
            let without = without.trim_end_matches(['?', '&']).to_owned();
            (raw, label, without)
        }),
        servers: servers
            .into_iter()
            .map(|s| (s.id.to_string(), s.name))
            .collect(),
        statuses: ["active", "enabled", "disabled", "vanished"]
            .into_iter()
            .map(|s| (s, t.t(&format!("users-status-{s}"))))
            .collect(),
        expiries: ["expiring", "expired", "never"]
            .into_iter()
            .map(|s| (s, t.t(&format!("users-expiry-{s}"))))
            .collect(),
        sorts: ["username", "created_at", "expires_at", "server"]
            .into_iter()
            .map(|s| (s, t.t(&format!("users-sort-{}", s.replace('_', "-")))))
            .collect(),
        pages: pages(&base, page, PER_PAGE, total),
        select_all: if selected_all {
            here.clone()
        } else {
            format!("{here}{here_sep}select=all")
        },
        here,
        selected_all,
        tz_minutes: offset.local_minus_utc() / 60,
        r,
        t,
    };
    html(StatusCode::OK, &page)
}

/// A linked account of the person.
#[derive(Debug)]
struct Linked {
    id: i64,
    href: String,
    username: String,
    server: String,
    state: String,
    state_class: &'static str,
    current: bool,
}

/// The permission controls of the user's server (the partial reads `s.id` and
/// `s.permissions`).
#[derive(Debug)]
struct PermGroup {
    id: i64,
    permissions: Vec<PermField>,
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct ShowPage {
    l: Layout,
    t: Tr,
    csrf: String,
    id: i64,
    username: String,
    state: String,
    state_class: &'static str,
    enabled: bool,
    facts: Vec<(String, String)>,
    invitation: Option<(String, String)>,
    server_href: String,
    server_name: String,
    can_enable: bool,
    can_delete: bool,
    can_libraries: bool,
    can_permissions: bool,
    can_password: bool,
    expires: String,
    tz: String,
    tz_minutes: i32,
    /// The person's name and e-mail, if the account belongs to one.
    person: Option<(String, String)>,
    linked: Vec<Linked>,
    all_libraries: bool,
    libraries: Vec<(i64, String, bool)>,
    /// The library choice's field name (its errors' key).
    libs_field: String,
    s: PermGroup,
    access_from: String,
    audit: Vec<(String, String, String, bool)>,
    flash: Option<String>,
    /// Which form the flash or the refusal belongs to: `enabled`, `expiry`, `libraries`,
    /// `permissions`, `password`, `link`.
    at: &'static str,
    account: String,
    r: Refusal,
}

/// `?done=`: what the last action on the page did.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Done {
    done: Option<String>,
}

fn not_found(a: &AdminCtx) -> Response {
    message(
        &a.ctx,
        StatusCode::NOT_FOUND,
        "error-not-found-title",
        a.t().t("users-not-found"),
        Some(ErrorCode::NotFound.as_str()),
        vec![("/admin/users".to_owned(), a.t().t("users-title"))],
    )
}

/// What the user page shows after a refused form: the status, the form it belongs to, the
/// refusal and what was typed there.
struct Refused {
    status: StatusCode,
    at: &'static str,
    r: Refusal,
    account: String,
}

/// `GET /admin/users/{id}`.
pub(super) async fn show(a: AdminCtx, Path(id): Path<i64>, Query(q): Query<Done>) -> Response {
    // The confirmation is shown at the form that was sent (the form's URL fragment brings the
    // browser there, through the redirect).
    let flash = q.done.as_deref().and_then(|d| {
        let at = match d {
            "enabled" | "disabled" => "enabled",
            "expiry" => "expiry",
            "libraries" => "libraries",
            "permissions" => "permissions",
            "password" => "password",
            "linked" | "unlinked" => "link",
            _ => return None,
        };
        Some((at, a.t().t(&format!("users-done-{d}"))))
    });
    render_show(&a, id, flash, None).await
}

async fn render_show(
    a: &AdminCtx,
    id: i64,
    flash: Option<(&'static str, String)>,
    refused: Option<Refused>,
) -> Response {
    let Ok(d) = domain::detail(a.state(), id).await else {
        return not_found(a);
    };
    let user = &d.user;
    let trail = match domain::audit_trail(a.state(), user).await {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let server_id = user.server_id;
    let inv_id = user.invitation_id;
    let st = a.state().clone();
    let loaded = a
        .state()
        .db()
        .run(move |c| {
            let libs = db::servers::libraries(c, server_id)?;
            let inv = match inv_id {
                Some(i) => match db::invitations::get(c, i)? {
                    Some(inv) => Some(crate::invitations::detail(&st, c, inv)?),
                    None => None,
                },
                None => None,
            };
            Ok((libs, inv))
        })
        .await;
    let (libs, inv) = match loaded {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let t = a.t();
    let (state, state_class) = state_of(t, user);
    let manifest = a.state().plugins().manifest(&user.server_kind);
    let kind = manifest
        .as_ref()
        .map_or_else(|| user.server_kind.clone(), |m| m.name.clone());
    // Zondarr does not read an account's current access back from the server: the forms
    // start from what its invitation granted there, or the connector's defaults.
    let target = inv
        .as_ref()
        .and_then(|inv| inv.targets.iter().find(|tg| tg.server_id == server_id));
    let chosen: Vec<i64> = target
        .and_then(|tg| tg.libraries.as_ref())
        .map(|ls| ls.iter().map(|l| l.id).collect())
        .unwrap_or_default();
    let mut facts = vec![
        (
            t.t("users-server"),
            format!("{} ({kind})", user.server_name),
        ),
        (
            t.t("users-email"),
            user.email.clone().unwrap_or_else(|| t.t("none")),
        ),
        (t.t("users-external-id"), user.external_id.clone()),
        (
            t.t("users-source"),
            t.t(&format!("users-source-{}", user.source)),
        ),
        (t.t("users-created"), local_time(&a.ctx, &user.created_at)),
        (
            t.t("users-expires"),
            user.expires_at
                .as_deref()
                .map_or_else(|| t.t("never"), |e| local_time(&a.ctx, e)),
        ),
    ];
    if let Some(kind) = &user.kind {
        facts.push((t.t("users-kind"), kind.clone()));
    }
    if let Some(v) = &user.vanished_at {
        facts.push((t.t("users-vanished-at"), local_time(&a.ctx, v)));
    }
    if let (Some(action), Some(at)) = (&user.expiry_action, &user.expiry_action_at) {
        facts.push((
            t.t("users-expiry-action"),
            format!("{action} · {}", local_time(&a.ctx, at)),
        ));
    }
    let offset = tz_offset(&a.ctx);
    let refused = refused.unwrap_or(Refused {
        status: StatusCode::OK,
        at: flash.as_ref().map_or("", |(at, _)| *at),
        r: Refusal::default(),
        account: String::new(),
    });
    let given_perms = target.map(|tg| &tg.permissions);
    let page = ShowPage {
        l: a.layout(user.username.clone(), "users"),
        t: t.clone(),
        csrf: a.csrf.clone(),
        id,
        username: user.username.clone(),
        state,
        state_class,
        enabled: user.enabled,
        facts,
        invitation: d
            .invitation
            .as_ref()
            .map(|(i, code)| (format!("/admin/invitations/{i}"), code.clone())),
        server_href: format!("/admin/servers/{server_id}"),
        server_name: user.server_name.clone(),
        can_enable: d.actions.contains(&"enable_disable"),
        can_delete: d.actions.contains(&"delete"),
        can_libraries: d.actions.contains(&"libraries"),
        can_permissions: d.actions.contains(&"permissions")
            && manifest.as_ref().is_some_and(|m| !m.permissions.is_empty()),
        can_password: d.actions.contains(&"password"),
        expires: user
            .expires_at
            .as_deref()
            .map(|e| to_local_input(&a.ctx, e))
            .unwrap_or_default(),
        tz: offset.to_string(),
        tz_minutes: offset.local_minus_utc() / 60,
        person: d.identity.as_ref().map(|i| {
            (
                i.identity.display_name.clone(),
                i.identity.email.clone().unwrap_or_default(),
            )
        }),
        linked: d
            .identity
            .as_ref()
            .map(|i| {
                i.users
                    .iter()
                    .map(|u| {
                        let (state, state_class) = state_of(t, u);
                        Linked {
                            id: u.id,
                            href: format!("/admin/users/{}", u.id),
                            username: u.username.clone(),
                            server: u.server_name.clone(),
                            state,
                            state_class,
                            current: u.id == id,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
        all_libraries: target.is_none_or(|tg| tg.libraries.is_none()),
        libraries: libs
            .into_iter()
            .filter(|l| !l.is_missing())
            .map(|l| (l.id, l.name, chosen.contains(&l.id)))
            .collect(),
        libs_field: format!("libs-{server_id}"),
        s: PermGroup {
            id: server_id,
            permissions: manifest
                .as_ref()
                .map(|m| permissions::fields(m, server_id, given_perms))
                .unwrap_or_default(),
        },
        access_from: match target {
            Some(_) => t.t("users-access-from-invitation"),
            None => t.t("users-access-from-defaults"),
        },
        audit: trail
            .into_iter()
            .map(|e| {
                let ok = e.outcome == "success";
                (local_time(&a.ctx, &e.at), e.action, e.actor, ok)
            })
            .collect(),
        flash: flash.map(|(_, f)| f),
        at: refused.at,
        account: refused.account,
        r: refused.r,
    };
    html(refused.status, &page)
}

/// After a form on the user page: its page with a flash, or the page again with the error at
/// the form.
async fn answer(
    a: &AdminCtx,
    id: i64,
    result: crate::error::Result<()>,
    done: &str,
    at: &'static str,
    rename: impl Fn(&str) -> String,
    account: String,
) -> Response {
    match result {
        Ok(()) => see_other(&format!("/admin/users/{id}?done={done}")),
        Err(e) if e.code() == ErrorCode::NotFound && at != "link" => not_found(a),
        Err(e) => {
            let r = Refusal::from_error(a.t(), &e, rename);
            let status = refused_status(&e);
            render_show(
                a,
                id,
                None,
                Some(Refused {
                    status,
                    at,
                    r,
                    account,
                }),
            )
            .await
        }
    }
}

/// A form on the user page, checked for the session's token.
async fn form_of(
    a: &AdminCtx,
    id: i64,
    pairs: Vec<(String, String)>,
) -> std::result::Result<Form, Response> {
    let form = Form(pairs);
    if a.form_ok(&form) {
        Ok(form)
    } else {
        Err(a.csrf_failed(&format!("/admin/users/{id}")))
    }
}

/// `POST /admin/users/{id}/enabled` (`enabled=true|false`).
pub(super) async fn set_enabled(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = match form_of(&a, id, pairs).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let enabled = form.get("enabled") == "true";
    let result = domain::set_enabled(a.state(), &a.actor(), id, enabled)
        .await
        .map(|_| ());
    let done = if enabled { "enabled" } else { "disabled" };
    answer(
        &a,
        id,
        result,
        done,
        "enabled",
        str::to_owned,
        String::new(),
    )
    .await
}

/// `POST /admin/users/{id}/expiry` (`op=save` with `expires`, or `op=clear`).
pub(super) async fn set_expiry(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = match form_of(&a, id, pairs).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let value = if form.get("op") == "clear" {
        None
    } else {
        let minutes = form.get("tz").parse::<i32>().ok();
        match from_local_input(&a.ctx, minutes, form.get("expires").trim()) {
            Some(at) => Some(at),
            None => {
                let mut r = Refusal::default();
                r.fields.insert("expires".into(), a.t().t("field-datetime"));
                r.notice = Some(a.t().t("form-has-errors"));
                r.code = Some(ErrorCode::ValidationFailed.as_str());
                return render_show(
                    &a,
                    id,
                    None,
                    Some(Refused {
                        status: StatusCode::UNPROCESSABLE_ENTITY,
                        at: "expiry",
                        r,
                        account: String::new(),
                    }),
                )
                .await;
            }
        }
    };
    let result = domain::set_expiry(a.state(), &a.actor(), id, value)
        .await
        .map(|_| ());
    answer(
        &a,
        id,
        result,
        "expiry",
        "expiry",
        |f| {
            if f == "expires_at" {
                "expires".into()
            } else {
                f.to_owned()
            }
        },
        String::new(),
    )
    .await
}

/// `POST /admin/users/{id}/libraries` (`libs-{server}=all|chosen`, `lib-{server}=id…`).
pub(super) async fn set_libraries(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = match form_of(&a, id, pairs).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Ok(user) = domain::get(a.state(), id).await else {
        return not_found(&a);
    };
    let sid = user.server_id;
    let libraries = if form.get(&format!("libs-{sid}")) == "chosen" {
        Some(
            form.all(&format!("lib-{sid}"))
                .iter()
                .filter_map(|x| x.parse().ok())
                .collect(),
        )
    } else {
        None
    };
    let result = domain::set_libraries(a.state(), &a.actor(), id, libraries)
        .await
        .map(|_| ());
    answer(
        &a,
        id,
        result,
        "libraries",
        "libraries",
        move |f| {
            if f == "libraries" {
                format!("libs-{sid}")
            } else {
                f.to_owned()
            }
        },
        String::new(),
    )
    .await
}

/// `POST /admin/users/{id}/permissions`: the connector's typed controls.
pub(super) async fn set_permissions(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = match form_of(&a, id, pairs).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Ok(user) = domain::get(a.state(), id).await else {
        return not_found(&a);
    };
    let sid = user.server_id;
    let mut r = Refusal::default();
    let perms = permissions::read(&form, sid, a.t(), &mut r);
    if !r.fields.is_empty() {
        r.notice = Some(a.t().t("form-has-errors"));
        r.code = Some(ErrorCode::ValidationFailed.as_str());
        return render_show(
            &a,
            id,
            None,
            Some(Refused {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                at: "permissions",
                r,
                account: String::new(),
            }),
        )
        .await;
    }
    let result = domain::set_permissions(a.state(), &a.actor(), id, perms)
        .await
        .map(|_| ());
    answer(
        &a,
        id,
        result,
        "permissions",
        "permissions",
        move |f| match f.strip_prefix("permissions.") {
            Some(key) => format!("perm-{sid}-{key}"),
            None => f.to_owned(),
        },
        String::new(),
    )
    .await
}

/// `POST /admin/users/{id}/password`.
pub(super) async fn set_password(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = match form_of(&a, id, pairs).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let result =
        domain::set_password(a.state(), &a.actor(), id, form.get("password").to_owned()).await;
    answer(
        &a,
        id,
        result,
        "password",
        "password",
        str::to_owned,
        String::new(),
    )
    .await
}

/// `POST /admin/users/{id}/link` (`account`: a username, or `#id`): put that account into this
/// account's person.
pub(super) async fn link(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = match form_of(&a, id, pairs).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let typed = form.get("account").trim().to_owned();
    let t = a.t();
    let refuse = |key: String| {
        let mut r = Refusal::default();
        r.fields.insert("account".into(), key);
        r.notice = Some(t.t("form-has-errors"));
        r.code = Some(ErrorCode::ValidationFailed.as_str());
        r
    };
    let other = if let Some(n) = typed.strip_prefix('#').and_then(|n| n.parse::<i64>().ok()) {
        Ok(n)
    } else if typed.is_empty() {
        Err(refuse(t.t("users-link-empty")))
    } else {
        match domain::by_username(a.state(), typed.clone()).await {
            Ok(found) => {
                let found: Vec<_> = found.into_iter().filter(|u| u.id != id).collect();
                match found.as_slice() {
                    [one] => Ok(one.id),
                    [] => Err(refuse(t.t1("users-link-none", "name", &typed))),
                    many => Err(refuse(
                        t.t1(
                            "users-link-many",
                            "choices",
                            &many
                                .iter()
                                .map(|u| format!("#{} ({})", u.id, u.server_name))
                                .collect::<Vec<_>>()
                                .join(", "),
                        ),
                    )),
                }
            }
            Err(e) => return e.into_response(),
        }
    };
    let other = match other {
        Ok(o) => o,
        Err(r) => {
            return render_show(
                &a,
                id,
                None,
                Some(Refused {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    at: "link",
                    r,
                    account: typed,
                }),
            )
            .await;
        }
    };
    let result = domain::link_accounts(a.state(), &a.actor(), id, other)
        .await
        .map(|_| ());
    answer(
        &a,
        id,
        result,
        "linked",
        "link",
        |_| "account".to_owned(),
        typed,
    )
    .await
}

/// `POST /admin/users/{id}/unlink` (`user`: the account to take out of the person).
pub(super) async fn unlink(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = match form_of(&a, id, pairs).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Ok(user) = domain::get(a.state(), id).await else {
        return not_found(&a);
    };
    let Some(identity) = user.identity_id else {
        return see_other(&format!("/admin/users/{id}"));
    };
    let Ok(other) = form.get("user").parse::<i64>() else {
        return see_other(&format!("/admin/users/{id}"));
    };
    let result = domain::unlink(a.state(), &a.actor(), identity, other).await;
    answer(
        &a,
        id,
        result,
        "unlinked",
        "link",
        |_| "account".to_owned(),
        String::new(),
    )
    .await
}

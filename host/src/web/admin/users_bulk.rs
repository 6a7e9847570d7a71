//! Bulk actions on the users chosen in the list (or one user, from its page): enable, disable,
//! extend or set or clear the expiry, delete (optionally keeping the account on its server).
//!
//! One endpoint, two steps, no JavaScript needed: the list's form posts the selection and the
//! action here, which answers with a summary of what will happen — how many accounts, on which
//! servers, and which of them the server's connector cannot do it for — and a form that carries
//! the same choice with `confirmed=1`. That post runs the action user by user through
//! [`crate::users`] (remote first, as everywhere) and shows each user's outcome: done, or failed
//! with the reason. A failure never stops the others.

use super::*;
use crate::db::users::User;
use crate::users::{self as domain, DeleteMode};
use askama::Template;
use std::collections::BTreeSet;

/// Most accounts one bulk action takes (two pages of the list).
const MAX_SELECTED: usize = 100;

/// What the admin chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Enable,
    Disable,
    Extend,
    SetExpiry,
    ClearExpiry,
    Delete,
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "enable" => Action::Enable,
            "disable" => Action::Disable,
            "extend" => Action::Extend,
            "set_expiry" => Action::SetExpiry,
            "clear_expiry" => Action::ClearExpiry,
            "delete" => Action::Delete,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Action::Enable => "enable",
            Action::Disable => "disable",
            Action::Extend => "extend",
            Action::SetExpiry => "set_expiry",
            Action::ClearExpiry => "clear_expiry",
            Action::Delete => "delete",
        }
    }

    /// The connector capability the action needs on the server (`None`: Zondarr only).
    fn needs(self, keep_remote: bool) -> Option<&'static str> {
        match self {
            Action::Enable | Action::Disable => Some("enable_disable"),
            Action::Delete if !keep_remote => Some("delete"),
            _ => None,
        }
    }
}

/// A validated bulk request.
#[derive(Debug)]
struct Plan {
    action: Action,
    ids: Vec<i64>,
    days: i64,
    /// RFC 3339 UTC, for `set_expiry`.
    expires_at: Option<String>,
    keep_remote: bool,
    back: String,
}

/// One server's part of the summary.
#[derive(Debug)]
struct ServerPart {
    text: String,
    ok: bool,
    users: String,
}

#[derive(Template)]
#[template(path = "admin_users_confirm.html")]
struct ConfirmPage {
    l: Layout,
    t: Tr,
    csrf: String,
    heading: String,
    parts: Vec<ServerPart>,
    ids: Vec<i64>,
    action: &'static str,
    days: i64,
    expires_at: String,
    keep_remote: bool,
    back: String,
    danger: bool,
    runnable: usize,
}

/// One user's outcome.
#[derive(Debug)]
struct Outcome {
    username: String,
    href: Option<String>,
    server: String,
    ok: bool,
    reason: String,
}

#[derive(Template)]
#[template(path = "admin_users_result.html")]
struct ResultPage {
    l: Layout,
    t: Tr,
    heading: String,
    summary: String,
    outcomes: Vec<Outcome>,
    back: String,
}

/// Read and check the posted choice; a problem is the message to show.
fn plan_of(a: &AdminCtx, form: &Form) -> std::result::Result<Plan, String> {
    let t = a.t();
    let back = local_next(Some(form.get("back")));
    let back = if back.starts_with("/admin/users") {
        back
    } else {
        "/admin/users".to_owned()
    };
    let mut seen = BTreeSet::new();
    let ids: Vec<i64> = form
        .all("user")
        .iter()
        .filter_map(|x| x.parse().ok())
        .filter(|i| seen.insert(*i))
        .collect();
    if ids.is_empty() {
        return Err(t.t("bulk-none-selected"));
    }
    if ids.len() > MAX_SELECTED {
        return Err(t.n("bulk-too-many", "max", MAX_SELECTED as i64));
    }
    let Some(action) = Action::parse(form.get("action")) else {
        return Err(t.t("bulk-choose-action"));
    };
    let mut plan = Plan {
        action,
        ids,
        days: 0,
        expires_at: None,
        keep_remote: form.checked("keep_remote"),
        back,
    };
    match action {
        Action::Extend => match form.get("days").trim().parse::<i64>() {
            Ok(d) if (1..=3650).contains(&d) => plan.days = d,
            _ => return Err(t.t("bulk-days-invalid")),
        },
        Action::SetExpiry => {
            // The confirmation carries the time already in UTC; the list's form has the
            // admin's local time.
            let at = match form.opt("expires_at") {
                Some(at) => crate::db::time::parse(&at).map(crate::db::time::fmt),
                None => {
                    let minutes = form.get("tz").parse::<i32>().ok();
                    from_local_input(&a.ctx, minutes, form.get("expires").trim())
                }
            };
            match at {
                Some(at) => plan.expires_at = Some(at),
                None => return Err(t.t("bulk-expires-invalid")),
            }
        }
        _ => {}
    }
    Ok(plan)
}

/// `POST /admin/users/bulk`: the summary of what the chosen action will do, or, with
/// `confirmed=1`, do it and show each user's outcome.
pub(super) async fn bulk(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed("/admin/users");
    }
    let plan = match plan_of(&a, &form) {
        Ok(p) => p,
        Err(text) => {
            let back = local_next(Some(form.get("back")));
            return message(
                &a.ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                "bulk-title",
                text,
                Some(ErrorCode::ValidationFailed.as_str()),
                vec![(back, a.t().t("back"))],
            );
        }
    };
    let mut users = Vec::with_capacity(plan.ids.len());
    for id in &plan.ids {
        // An account removed since the list was shown is simply not part of the action.
        if let Ok(u) = domain::get(a.state(), *id).await {
            users.push(u);
        }
    }
    if form.get("confirmed") == "1" {
        run(&a, &plan, users).await
    } else {
        confirm(&a, &plan, &users)
    }
}

/// The action's heading, e.g. "Disable 3 users".
fn heading(t: &Tr, plan: &Plan, count: usize) -> String {
    t.n(
        &format!("bulk-heading-{}", plan.action.as_str().replace('_', "-")),
        "count",
        count as i64,
    )
}

fn confirm(a: &AdminCtx, plan: &Plan, users: &[User]) -> Response {
    let t = a.t();
    // By server, in the order they first appear.
    let mut groups: Vec<(i64, String, String, Vec<&User>)> = Vec::new();
    for u in users {
        match groups.iter_mut().find(|g| g.0 == u.server_id) {
            Some(g) => g.3.push(u),
            None => groups.push((
                u.server_id,
                u.server_name.clone(),
                u.server_kind.clone(),
                vec![u],
            )),
        }
    }
    let when = plan
        .expires_at
        .as_deref()
        .map(|at| local_time(&a.ctx, at))
        .unwrap_or_default();
    let mut runnable = 0;
    let parts = groups
        .into_iter()
        .map(|(_, server, kind, members)| {
            let manifest = a.state().plugins().manifest(&kind);
            let kind_name = manifest
                .as_ref()
                .map_or_else(|| kind.clone(), |m| m.name.clone());
            let ok = plan
                .action
                .needs(plan.keep_remote)
                .is_none_or(|cap| domain::actions(manifest.as_ref()).contains(&cap));
            let count = members.len() as i64;
            let key = if !ok {
                "bulk-part-unsupported".to_owned()
            } else {
                match plan.action {
                    Action::Delete if plan.keep_remote => "bulk-part-forget".to_owned(),
                    other => format!("bulk-part-{}", other.as_str().replace('_', "-")),
                }
            };
            if ok {
                runnable += members.len();
            }
            let days = plan.days.to_string();
            let text = t.nt(
                &key,
                ("count", count),
                &[
                    ("server", &server),
                    ("kind", &kind_name),
                    ("days", &days),
                    ("when", &when),
                ],
            );
            ServerPart {
                text,
                ok,
                users: members
                    .iter()
                    .map(|u| u.username.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        })
        .collect();
    let heading = heading(t, plan, users.len());
    let page = ConfirmPage {
        l: a.layout(heading.clone(), "users"),
        t: t.clone(),
        csrf: a.csrf.clone(),
        heading,
        parts,
        ids: users.iter().map(|u| u.id).collect(),
        action: plan.action.as_str(),
        days: plan.days,
        expires_at: plan.expires_at.clone().unwrap_or_default(),
        keep_remote: plan.keep_remote,
        back: plan.back.clone(),
        danger: plan.action == Action::Delete,
        runnable,
    };
    html(StatusCode::OK, &page)
}

/// The reason of a failure, in the page's language where the catalogue has it, with its code.
fn reason(t: &Tr, e: &crate::error::Error) -> String {
    let r = Refusal::from_error(t, e, str::to_owned);
    let text = if r.fields.is_empty() {
        r.notice.unwrap_or_default()
    } else {
        r.fields.into_values().collect::<Vec<_>>().join("; ")
    };
    format!("{text} ({})", e.code().as_str())
}

async fn run(a: &AdminCtx, plan: &Plan, users: Vec<User>) -> Response {
    let t = a.t();
    let actor = a.actor();
    let state = a.state();
    let mut outcomes = Vec::with_capacity(users.len());
    for u in users {
        let id = u.id;
        let result = match plan.action {
            Action::Enable => domain::set_enabled(state, &actor, id, true)
                .await
                .map(|_| ()),
            Action::Disable => domain::set_enabled(state, &actor, id, false)
                .await
                .map(|_| ()),
            Action::Extend => domain::extend_expiry(state, &actor, id, plan.days)
                .await
                .map(|_| ()),
            Action::SetExpiry => domain::set_expiry(state, &actor, id, plan.expires_at.clone())
                .await
                .map(|_| ()),
            Action::ClearExpiry => domain::set_expiry(state, &actor, id, None)
                .await
                .map(|_| ()),
            Action::Delete => {
                let mode = DeleteMode {
                    remove_account: false,
                    keep_remote: plan.keep_remote,
                };
                domain::delete(state, &actor, id, mode).await
            }
        };
        let deleted = plan.action == Action::Delete && result.is_ok();
        outcomes.push(Outcome {
            href: (!deleted).then(|| format!("/admin/users/{id}")),
            username: u.username,
            server: u.server_name,
            ok: result.is_ok(),
            reason: match &result {
                Ok(()) => t.t("bulk-done"),
                Err(e) => reason(t, e),
            },
        });
    }
    // A deleted user's page is gone: from there, back leads to the list.
    let back = if plan.action == Action::Delete && plan.back.starts_with("/admin/users/") {
        "/admin/users".to_owned()
    } else {
        plan.back.clone()
    };
    let failed = outcomes.iter().filter(|o| !o.ok).count() as i64;
    let done = outcomes.len() as i64 - failed;
    let heading = heading(t, plan, outcomes.len());
    let page = ResultPage {
        l: a.layout(heading.clone(), "users"),
        t: t.clone(),
        heading,
        summary: t.t2(
            "bulk-summary",
            "done",
            &done.to_string(),
            "failed",
            &failed.to_string(),
        ),
        outcomes,
        back,
    };
    let status = if failed > 0 && done == 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    html(status, &page)
}

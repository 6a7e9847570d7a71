//! `/admin/audit`: the audit log, newest first, filtered by action (exact or a prefix ending in
//! `.`), actor, outcome and time range (all in the URL, 25 per page), through the same rules as
//! `GET /api/v1/audit` ([`crate::ops::AuditQuery`]). Each event links to what it is about: an
//! invitation, server or user page, a plugin, a job run; its actor links to the actor's events.

use super::*;
use crate::db::audit::Event;
use askama::Template;
use axum::extract::Query;
use serde::Deserialize;

const PER_PAGE: u32 = 25;

/// Action prefixes offered as suggestions.
const ACTIONS: [&str; 9] = [
    "auth.",
    "invitation.",
    "server.",
    "user.",
    "identity.",
    "wizard.",
    "settings.",
    "plugin.",
    "job.",
];

#[derive(Debug)]
struct Row {
    id: i64,
    when: String,
    action: String,
    actor: String,
    actor_href: String,
    ip: String,
    /// What it is about: (text, link).
    target: Option<(String, Option<String>)>,
    ok: bool,
    outcome: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    l: Layout,
    t: Tr,
    rows: Vec<Row>,
    total: i64,
    action: String,
    actor: String,
    outcome: String,
    since: String,
    until: String,
    tz: String,
    tz_minutes: i32,
    actions: Vec<&'static str>,
    pages: Vec<(u32, String, bool)>,
    r: Refusal,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Params {
    action: Option<String>,
    actor: Option<String>,
    outcome: Option<String>,
    since: Option<String>,
    until: Option<String>,
    /// The offset (minutes east of UTC) the form's times were entered in.
    tz: Option<i32>,
    page: Option<u32>,
}

/// The page an event's target has, if any.
fn target_href(target: &str) -> Option<String> {
    let (kind, id) = target.split_once(':')?;
    let numeric = || id.parse::<i64>().ok();
    match kind {
        "invitation" => numeric().map(|n| format!("/admin/invitations/{n}")),
        "server" => numeric().map(|n| format!("/admin/servers/{n}")),
        "user" => numeric().map(|n| format!("/admin/users/{n}")),
        "job_run" => numeric().map(|n| format!("/admin/jobs#run-{n}")),
        "plugin" => Some(format!(
            "/admin/plugins#plugin-{}",
            id.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect::<String>()
        )),
        _ => None,
    }
}

fn row(a: &AdminCtx, e: &Event) -> Row {
    let t = a.t();
    Row {
        id: e.id,
        when: local_time(&a.ctx, &e.at),
        action: e.action.clone(),
        actor_href: format!("/admin/audit?actor={}", percent_encode(&e.actor)),
        actor: e.actor.clone(),
        ip: e.ip.clone().unwrap_or_default(),
        target: e
            .target
            .as_ref()
            .map(|target| (target.clone(), target_href(target))),
        ok: e.outcome == "success",
        outcome: t.t(&format!("aud-outcome-{}", e.outcome)),
        detail: e
            .detail
            .as_ref()
            .map(serde_json::Value::to_string)
            .unwrap_or_default(),
    }
}

/// `GET /admin/audit?action=&actor=&outcome=&since=&until=&page=`.
pub(super) async fn list(a: AdminCtx, Query(q): Query<Params>) -> Response {
    let t = a.t().clone();
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (action, actor, outcome, since, until) = (
        nonempty(&q.action),
        nonempty(&q.actor),
        nonempty(&q.outcome),
        nonempty(&q.since),
        nonempty(&q.until),
    );
    let page = q.page.filter(|p| *p >= 1).unwrap_or(1);
    let mut r = Refusal::default();
    // The form's times are `datetime-local` in the admin's time zone; the domain takes RFC 3339.
    let mut time = |name: &str, v: &Option<String>| -> Option<String> {
        let v = v.as_deref()?;
        match from_local_input(&a.ctx, q.tz, v) {
            Some(utc) => Some(utc),
            None => {
                r.fields.insert(name.to_owned(), t.t("aud-bad-time"));
                None
            }
        }
    };
    let since_utc = time("since", &since);
    let until_utc = time("until", &until);
    let query = crate::ops::AuditQuery {
        action: action.clone(),
        actor: actor.clone(),
        outcome: outcome.clone(),
        since: since_utc,
        until: until_utc,
    };
    let (events, total) = match query.check() {
        Ok(filter) if r.fields.is_empty() => {
            let offset = i64::from(page - 1) * i64::from(PER_PAGE);
            match crate::ops::audit_log(a.state(), filter, i64::from(PER_PAGE), offset).await {
                Ok(x) => x,
                Err(e) => return e.into_response(),
            }
        }
        Ok(_) => {
            r.notice = Some(t.t("form-has-errors"));
            r.code = Some(ErrorCode::ValidationFailed.as_str());
            (Vec::new(), 0)
        }
        Err(e) => {
            let fields = std::mem::take(&mut r.fields);
            r = Refusal::from_error(&t, &e, str::to_owned);
            r.fields.extend(fields);
            (Vec::new(), 0)
        }
    };
    let offset = tz_offset(&a.ctx);
    let tz_minutes =
        q.tz.filter(|m| (-14 * 60..=14 * 60).contains(m))
            .unwrap_or(offset.local_minus_utc() / 60);
    let mut base = String::from("/admin/audit");
    let mut sep = '?';
    let tz_text = tz_minutes.to_string();
    let with_tz = since.is_some() || until.is_some();
    for (k, v) in [
        ("action", &action),
        ("actor", &actor),
        ("outcome", &outcome),
        ("since", &since),
        ("until", &until),
        ("tz", &with_tz.then(|| tz_text.clone())),
    ] {
        if let Some(v) = v {
            base.push_str(&format!("{sep}{k}={}", percent_encode(v)));
            sep = '&';
        }
    }
    let rows = events.iter().map(|e| row(&a, e)).collect();
    let page = AuditPage {
        l: a.layout(t.t("aud-title"), "audit"),
        rows,
        total,
        action: action.unwrap_or_default(),
        actor: actor.unwrap_or_default(),
        outcome: outcome.unwrap_or_default(),
        since: since.unwrap_or_default(),
        until: until.unwrap_or_default(),
        tz: offset.to_string(),
        tz_minutes,
        actions: ACTIONS.to_vec(),
        pages: pages(&base, page, PER_PAGE, total),
        r,
        t,
    };
    html(StatusCode::OK, &page)
}

/// The audit routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/audit", get(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_link_to_their_pages() {
        assert_eq!(
            target_href("invitation:12").as_deref(),
            Some("/admin/invitations/12")
        );
        assert_eq!(target_href("server:3").as_deref(), Some("/admin/servers/3"));
        assert_eq!(target_href("user:7").as_deref(), Some("/admin/users/7"));
        assert_eq!(
            target_href("plugin:jellyfin").as_deref(),
            Some("/admin/plugins#plugin-jellyfin")
        );
        assert_eq!(
            target_href("job_run:9").as_deref(),
            Some("/admin/jobs#run-9")
        );
        assert_eq!(target_href("server:x"), None, "not an id");
        assert_eq!(target_href("session:4"), None, "no page");
        assert_eq!(target_href("plain"), None);
    }
}

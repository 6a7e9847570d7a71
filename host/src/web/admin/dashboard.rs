//! `GET /admin`: the dashboard ([`crate::dashboard::overview`], as `GET /api/v1/dashboard`).
//! Every number links to the list behind it.

use super::*;
use askama::Template;

/// A number with its label and the list it links to.
#[derive(Debug)]
struct Figure {
    label: String,
    value: i64,
    href: String,
}

#[derive(Debug)]
struct ServerLine {
    name: String,
    href: String,
    kind: String,
    health: String,
    healthy: bool,
    last_error: Option<String>,
    last_sync: String,
}

#[derive(Debug)]
struct Line {
    when: String,
    what: String,
    who: String,
    ok: bool,
}

#[derive(Template)]
#[template(path = "admin_dashboard.html")]
struct DashboardPage {
    l: Layout,
    t: Tr,
    invitations: Vec<Figure>,
    users: Vec<Figure>,
    servers: Vec<ServerLine>,
    plugin_problems: Vec<(String, String)>,
    activity: Vec<Line>,
    jobs: Vec<Line>,
    no_servers: bool,
    /// The warning about an untrusted reverse proxy, when one was seen.
    untrusted_proxy: Option<String>,
}

/// `GET /admin`.
pub(super) async fn page(a: AdminCtx) -> Response {
    let o = match crate::dashboard::overview(a.state()).await {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let t = a.t();
    let fig = |key: &str, value: i64, href: &str| Figure {
        label: t.t(key),
        value,
        href: href.to_owned(),
    };
    let i = &o.invitations;
    let u = &o.users;
    let invitations = vec![
        fig(
            "dash-inv-active",
            i.active,
            "/admin/invitations?status=active",
        ),
        fig(
            "dash-inv-pending",
            i.pending,
            "/admin/invitations?status=unused",
        ),
        fig(
            "dash-inv-used-up",
            i.used_up,
            "/admin/invitations?status=used_up",
        ),
        fig(
            "dash-inv-expired",
            i.expired,
            "/admin/invitations?status=expired",
        ),
        fig(
            "dash-inv-disabled",
            i.disabled,
            "/admin/invitations?status=disabled",
        ),
    ];
    // Each number links to the user list with the filter that counts it ("active" is enabled,
    // present and not expired, as the dashboard counts it).
    let users = vec![
        fig("dash-users-active", u.active, "/admin/users?status=active"),
        fig(
            "dash-users-disabled",
            u.disabled,
            "/admin/users?status=disabled",
        ),
        fig(
            "dash-users-expiring",
            u.expiring_7d,
            "/admin/users?expiry=expiring",
        ),
        fig(
            "dash-users-expired",
            u.expired,
            "/admin/users?expiry=expired",
        ),
        fig(
            "dash-users-vanished",
            u.vanished,
            "/admin/users?status=vanished",
        ),
    ];
    let servers = o
        .servers
        .iter()
        .map(|s| ServerLine {
            name: s.name.clone(),
            href: format!("/admin/servers/{}", s.id),
            kind: s.kind.clone(),
            health: t.t(&format!("health-{}", s.health.replace('_', "-"))),
            healthy: s.health == "healthy",
            last_error: s.last_error.clone(),
            last_sync: s
                .last_sync_at
                .as_deref()
                .map_or_else(|| t.t("never"), |at| local_time(&a.ctx, at)),
        })
        .collect();
    let activity = o
        .recent_activity
        .iter()
        .map(|e| Line {
            when: local_time(&a.ctx, &e.at),
            what: match &e.target {
                Some(target) => format!("{} {target}", e.action),
                None => e.action.clone(),
            },
            who: e.actor.clone(),
            ok: e.outcome == "success",
        })
        .collect();
    let jobs = o
        .recent_jobs
        .iter()
        .map(|j| Line {
            when: local_time(&a.ctx, &j.started_at),
            what: match &j.server_name {
                Some(s) => format!("{} ({s})", j.job),
                None => j.job.clone(),
            },
            who: j.trigger.clone(),
            // Runs record `succeeded`, not `success` (the audit log's word).
            ok: matches!(j.outcome.as_str(), "succeeded" | "running"),
        })
        .collect();
    let page = DashboardPage {
        l: a.layout(t.t("dash-title"), "dashboard"),
        t: t.clone(),
        invitations,
        users,
        no_servers: o.servers.is_empty(),
        servers,
        plugin_problems: o
            .plugin_problems
            .iter()
            .map(|(id, s)| (id.clone(), t.t(&format!("plugin-{s}"))))
            .collect(),
        activity,
        jobs,
        untrusted_proxy: o
            .untrusted_proxy_seen_at
            .as_deref()
            .map(|at| t.t1("dash-untrusted-proxy", "when", &local_time(&a.ctx, at))),
    };
    html(StatusCode::OK, &page)
}

//! `/admin/plugins`: every connector plugin (loaded, unhealthy, or a refused file) with its
//! version, source, state, the full error of a failed load, capabilities, permissions, extra
//! hosts and whether they get the server's credentials, and its call counts; a "Rescan" button
//! ([`crate::ops::rescan_plugins`], as `POST /api/v1/plugins/rescan`) and, for a version that
//! waits for approval, "Approve" and "Refuse" ([`crate::ops::decide_plugin`], as the API's).

use super::*;
use crate::ops::PluginDecision;
use crate::plugins::{PluginState, PluginStatus, SourceView, ValueKind};
use askama::Template;
use axum::extract::{Path, Query};
use serde::Deserialize;

/// One permission a connector declares.
#[derive(Debug)]
struct Perm {
    key: String,
    label: String,
    kind: &'static str,
    default: String,
}

/// A host besides the server the plugin may reach.
#[derive(Debug)]
struct Host {
    id: String,
    origin: String,
    purpose: String,
    credentials: bool,
}

/// One plugin (or refused file) as the page shows it.
#[derive(Debug)]
struct Card {
    /// Anchor id.
    anchor: String,
    id: Option<String>,
    title: String,
    version: String,
    description: String,
    contract: String,
    source: String,
    state: String,
    ok: bool,
    error: Option<(String, String, String)>,
    /// The "error" is an admin's refusal, not a failed load.
    refused: bool,
    pending: Option<(String, String, String)>,
    capabilities: Vec<String>,
    permissions: Vec<Perm>,
    hosts: Vec<Host>,
    calls: i64,
    errors: i64,
    crashes: i64,
    loaded_at: String,
    sha256: String,
}

#[derive(Template)]
#[template(path = "admin_plugins.html")]
struct PluginsPage {
    l: Layout,
    t: Tr,
    csrf: String,
    cards: Vec<Card>,
    flash: Option<String>,
    r: Refusal,
}

/// What the rescan or an approval did, carried through the redirect.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Flash {
    rescanned: Option<u8>,
    loaded: Option<u32>,
    failed: Option<u32>,
    removed: Option<u32>,
    waiting: Option<u32>,
    approved: Option<String>,
    refused: Option<String>,
}

fn anchor(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn card(a: &AdminCtx, p: PluginStatus) -> Card {
    let t = a.t();
    let source = match &p.source {
        SourceView::Bundled { name } => match name {
            Some(n) => t.t1("plg-source-bundled-name", "name", n),
            None => t.t("plg-source-bundled"),
        },
        SourceView::Folder { file } => t.t1("plg-source-folder", "file", file),
    };
    let (state, ok) = match p.state {
        PluginState::Loaded => (t.t("plg-state-loaded"), true),
        PluginState::Unhealthy => (t.t("plugin-unhealthy"), false),
        PluginState::Failed => (t.t("plugin-failed"), false),
    };
    let file = match &p.source {
        SourceView::Folder { file } => Some(file.clone()),
        SourceView::Bundled { name } => name.clone(),
    };
    let title = p
        .name
        .clone()
        .or_else(|| p.id.clone())
        .or_else(|| file.clone())
        .unwrap_or_else(|| t.t("plg-unknown"));
    Card {
        anchor: format!(
            "plugin-{}",
            anchor(p.id.as_deref().or(file.as_deref()).unwrap_or("unknown"))
        ),
        id: p.id.clone(),
        title,
        version: p.version.clone().unwrap_or_default(),
        description: p.description.clone().unwrap_or_default(),
        contract: p.contract_version.clone().unwrap_or_default(),
        source,
        state,
        ok,
        // A version waiting for approval is explained by its own box; its load "error" says
        // the same.
        error: p
            .error
            .as_ref()
            .filter(|_| p.pending_approval.is_none())
            .map(|e| {
                (
                    e.file.clone().unwrap_or_default(),
                    e.message.clone(),
                    local_time(&a.ctx, &e.at),
                )
            }),
        refused: p
            .error
            .as_ref()
            .is_some_and(|e| e.message.contains("refused by an admin")),
        pending: p
            .pending_approval
            .as_ref()
            .map(|w| (w.file.clone(), w.version.clone(), w.reason.clone())),
        capabilities: p
            .capabilities
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        permissions: p
            .permissions
            .iter()
            .map(|d| Perm {
                key: d.key.clone(),
                label: d.label.clone(),
                kind: match d.kind {
                    ValueKind::Flag => "flag",
                    ValueKind::Number => "number",
                    _ => "text",
                },
                default: d.default_value.to_config_text(),
            })
            .collect(),
        hosts: p
            .extra_hosts
            .iter()
            .map(|h| Host {
                id: h.id.clone(),
                origin: h.origin.clone(),
                purpose: h.purpose.clone(),
                credentials: h.send_credentials,
            })
            .collect(),
        calls: i64::try_from(p.calls).unwrap_or(i64::MAX),
        errors: i64::try_from(p.errors).unwrap_or(i64::MAX),
        crashes: i64::from(p.consecutive_failures),
        loaded_at: p
            .loaded_at
            .as_deref()
            .map(|at| local_time(&a.ctx, at))
            .unwrap_or_default(),
        sha256: p.sha256.clone().unwrap_or_default(),
    }
}

fn render(a: &AdminCtx, status: StatusCode, flash: Option<String>, r: Refusal) -> Response {
    let mut cards: Vec<Card> = a
        .state()
        .plugins()
        .list()
        .into_iter()
        .map(|p| card(a, p))
        .collect();
    // Problems first: a refused file or a failing plugin is what the admin came to see.
    cards.sort_by_key(|c| c.ok && c.error.is_none() && c.pending.is_none());
    let t = a.t();
    let page = PluginsPage {
        l: a.layout(t.t("plg-title"), "plugins"),
        t: t.clone(),
        csrf: a.csrf.clone(),
        cards,
        flash,
        r,
    };
    html(status, &page)
}

/// `GET /admin/plugins`.
pub(super) async fn list(a: AdminCtx, Query(f): Query<Flash>) -> Response {
    let t = a.t();
    let flash = if f.rescanned.is_some() {
        let n = |v: Option<u32>| i64::from(v.unwrap_or(0));
        Some(format!(
            "{} {}",
            t.t("plg-rescanned"),
            [
                t.n("plg-rescan-loaded", "count", n(f.loaded)),
                t.n("plg-rescan-failed", "count", n(f.failed)),
                t.n("plg-rescan-removed", "count", n(f.removed)),
                t.n("plg-rescan-waiting", "count", n(f.waiting)),
            ]
            .join(", ")
        ))
    } else {
        f.approved
            .as_deref()
            .map(|id| t.t1("plg-approved", "id", id))
            .or_else(|| f.refused.as_deref().map(|id| t.t1("plg-refused", "id", id)))
    };
    render(&a, StatusCode::OK, flash, Refusal::default())
}

/// `POST /admin/plugins/rescan`: re-read the plugins folder, then back to the list with what
/// changed.
pub(super) async fn rescan(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    if !a.form_ok(&Form(pairs)) {
        return a.csrf_failed("/admin/plugins");
    }
    match crate::ops::rescan_plugins(a.state()).await {
        Ok(report) => see_other(&format!(
            "/admin/plugins?rescanned=1&loaded={}&failed={}&removed={}&waiting={}",
            report.loaded.len(),
            report.failed.len(),
            report.removed.len(),
            report.pending_approval.len()
        )),
        Err(e) => e.into_response(),
    }
}

/// `POST /admin/plugins/{id}/approve`: let the version waiting for approval serve.
pub(super) async fn approve(
    a: AdminCtx,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    decide(a, id, pairs, PluginDecision::Approve).await
}

/// `POST /admin/plugins/{id}/refuse`: turn the waiting version away (the version serving now
/// keeps serving, or serves without the extra hosts it asked for).
pub(super) async fn refuse(
    a: AdminCtx,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    decide(a, id, pairs, PluginDecision::Refuse).await
}

async fn decide(
    a: AdminCtx,
    id: String,
    pairs: Vec<(String, String)>,
    decision: PluginDecision,
) -> Response {
    if !a.form_ok(&Form(pairs)) {
        return a.csrf_failed("/admin/plugins");
    }
    match crate::ops::decide_plugin(a.state(), &a.actor(), &id, decision).await {
        Ok(_) => see_other(&format!(
            "/admin/plugins?{}={}#plugin-{}",
            match decision {
                PluginDecision::Approve => "approved",
                PluginDecision::Refuse => "refused",
            },
            percent_encode(&id),
            anchor(&id)
        )),
        Err(e) => {
            let r = Refusal::from_error(a.t(), &e, str::to_owned);
            render(&a, refused_status(&e), None, r)
        }
    }
}

/// The plugin routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/plugins", get(list))
        .route("/admin/plugins/rescan", axum::routing::post(rescan))
        .route("/admin/plugins/{id}/approve", axum::routing::post(approve))
        .route("/admin/plugins/{id}/refuse", axum::routing::post(refuse))
}

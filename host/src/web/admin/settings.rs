//! `/admin/settings`: every live setting, grouped (public address, sessions, sync and expiry,
//! rate limits, logging, branding and language), with its effective value, default and where
//! the value comes from. A setting fixed by the environment, a flag or the configuration file
//! is shown read-only with what fixes it. Saving sends only what changed to
//! [`crate::settings::update`] (as `PATCH /api/v1/settings`): applied at once, or refused with
//! each error next to its field and nothing changed.

use super::*;
use crate::config::{Kind, Source};
use crate::settings::{self as domain, Described};
use askama::Template;
use axum::extract::Query;
use serde::Deserialize;

/// The page's groups and their keys, in order. A unit test checks that every live setting is in
/// exactly one group.
const GROUPS: &[(&str, &[&str])] = &[
    ("public", &["public_url"]),
    (
        "sessions",
        &[
            "security.session_idle_minutes",
            "security.session_absolute_hours",
            "security.secure_cookies",
        ],
    ),
    (
        "sync",
        &[
            "jobs.sync_interval_secs",
            "jobs.expiry_interval_secs",
            "jobs.keep_days",
            "sync.max_vanished_percent",
            "expiry.action",
            "expiry.grace_hours",
            "expiry.fallback",
        ],
    ),
    (
        "limits",
        &[
            "security.login_per_ip_per_minute",
            "security.login_per_account_per_minute",
            "security.join_per_ip_per_minute",
            "security.join_poll_per_ip_per_minute",
            "security.join_wizard_per_ip_per_minute",
            "security.join_redeem_per_ip_per_minute",
            "security.join_redeem_wait_secs",
            "security.lockout_after",
            "security.lockout_base_secs",
            "security.lockout_max_secs",
        ],
    ),
    ("logging", &["log.level"]),
    (
        "branding",
        &["ui.instance_name", "ui.accent_color", "ui.default_language"],
    ),
];

/// One field of the form.
#[derive(Debug)]
struct Field {
    key: &'static str,
    /// Element id (dots are awkward in CSS selectors).
    id: String,
    label: String,
    help: String,
    allowed: String,
    /// `text`, `url`, `number`, `select`.
    input: &'static str,
    min: u64,
    max: u64,
    /// Choices of a `select`: (value, label).
    options: Vec<(String, String)>,
    value: String,
    default: String,
    source: String,
    /// What locks it, when it is locked.
    locked_by: Option<String>,
    /// Whether the app set it (then "back to the default" is offered).
    app: bool,
    error: Option<String>,
}

#[derive(Debug)]
struct Group {
    id: &'static str,
    title: String,
    fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "admin_settings.html")]
struct SettingsPage {
    l: Layout,
    t: Tr,
    csrf: String,
    groups: Vec<Group>,
    flash: Option<String>,
    r: Refusal,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Flash {
    saved: Option<String>,
}

fn slug(key: &str) -> String {
    key.replace(['.', '_'], "-")
}

/// The allowed values in the page's language.
fn allowed(t: &Tr, kind: &Kind) -> String {
    match kind {
        Kind::Number { min, max } => t.t2(
            "set-allowed-number",
            "min",
            &min.to_string(),
            "max",
            &max.to_string(),
        ),
        Kind::Bool => t.t("set-allowed-bool"),
        Kind::Choice(list) => t.t1("set-allowed-choice", "list", &list.join(", ")),
        Kind::Url => t.t("set-allowed-url"),
        Kind::Color => t.t("set-allowed-color"),
        Kind::LogFilter => t.t("set-allowed-log"),
        _ => t.t("set-allowed-text"),
    }
}

fn source_label(t: &Tr, source: &Source) -> String {
    t.t(match source {
        Source::Default => "set-source-default",
        Source::Derived => "set-source-derived",
        Source::File(_) => "set-source-file",
        Source::Env(_) => "set-source-env",
        Source::Flag(_) => "set-source-flag",
        Source::App => "set-source-app",
    })
}

fn locked_by(t: &Tr, source: &Source) -> Option<String> {
    match source {
        Source::Env(var) => Some(t.t1("set-locked-env", "name", var)),
        Source::Flag(flag) => Some(t.t1("set-locked-flag", "name", flag)),
        // The file's path is an internal detail.
        Source::File(_) => Some(t.t("set-locked-file")),
        _ => None,
    }
}

/// A domain field error in the page's language: a refused value says what is allowed.
fn field_error(t: &Tr, kind: &Kind, message: &str) -> String {
    if message.starts_with("is locked:") {
        t.t("set-error-locked")
    } else if message.contains("; allowed: ") {
        t.t1("set-error-invalid", "allowed", &allowed(t, kind))
    } else {
        crate::web::field_messages::translate(t, message)
    }
}

fn render(
    a: &AdminCtx,
    status: StatusCode,
    typed: Option<&Form>,
    flash: Option<String>,
    r: Refusal,
) -> Response {
    let t = a.t();
    let described = domain::describe(&a.state().live().get());
    let groups = GROUPS
        .iter()
        .map(|(id, keys)| Group {
            id,
            title: t.t(&format!("set-group-{id}")),
            fields: keys
                .iter()
                .filter_map(|k| described.iter().find(|d| d.setting.key == *k))
                .map(|d| field(t, d, typed, &r))
                .collect(),
        })
        .collect();
    let page = SettingsPage {
        l: a.layout(t.t("set-title"), "settings"),
        t: t.clone(),
        csrf: a.csrf.clone(),
        groups,
        flash,
        r,
    };
    html(status, &page)
}

fn field(t: &Tr, d: &Described, typed: Option<&Form>, r: &Refusal) -> Field {
    let s = d.setting;
    let key = s.key;
    let (input, min, max, options) = match s.kind {
        Kind::Number { min, max } => ("number", min, max, Vec::new()),
        Kind::Bool => (
            "select",
            0,
            0,
            vec![
                ("true".to_owned(), t.t("set-on")),
                ("false".to_owned(), t.t("set-off")),
            ],
        ),
        Kind::Choice(list) => (
            "select",
            0,
            0,
            list.iter()
                .map(|v| ((*v).to_owned(), (*v).to_owned()))
                .collect(),
        ),
        Kind::Url => ("url", 0, 0, Vec::new()),
        _ => ("text", 0, 0, Vec::new()),
    };
    let current = d.value.clone().unwrap_or_default();
    let value = match typed {
        Some(form) if !d.locked() => form.get(key).to_owned(),
        _ => current,
    };
    Field {
        key,
        id: format!("s-{}", slug(key)),
        label: t.t(&format!("set-{}", slug(key))),
        help: t.t(&format!("set-{}-help", slug(key))),
        allowed: allowed(t, &s.kind),
        input,
        min,
        max,
        options,
        value,
        default: s
            .default
            .map_or_else(|| t.t("set-default-computed"), str::to_owned),
        source: source_label(t, &d.source),
        locked_by: locked_by(t, &d.source),
        app: matches!(d.source, Source::App),
        error: r.fields.get(key).map(|m| field_error(t, &s.kind, m)),
    }
}

/// `GET /admin/settings`.
pub(super) async fn page(a: AdminCtx, Query(f): Query<Flash>) -> Response {
    let flash = f.saved.map(|n| {
        if n == "0" {
            a.t().t("set-nothing-changed")
        } else {
            a.t().t("saved-flash")
        }
    });
    render(&a, StatusCode::OK, None, flash, Refusal::default())
}

/// `POST /admin/settings`: what differs from the effective value (or is marked "back to the
/// default") goes to [`crate::settings::update`] in one call.
pub(super) async fn save(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed("/admin/settings");
    }
    let changes: Vec<(String, Option<String>)> = domain::describe(&a.state().live().get())
        .into_iter()
        // A locked field is shown read-only and not sent; one sent anyway (a stale page) goes
        // to the domain, which refuses it next to the field.
        .filter_map(|d| {
            let key = d.setting.key;
            if form.checked(&format!("reset:{key}")) {
                return (matches!(d.source, Source::App)).then(|| (key.to_owned(), None));
            }
            let given = form.0.iter().find(|(k, _)| k == key)?.1.trim().to_owned();
            let current = d.value.clone().unwrap_or_default();
            if given == current {
                None
            } else if given.is_empty() {
                Some((key.to_owned(), None))
            } else {
                Some((key.to_owned(), Some(given)))
            }
        })
        .collect();
    if changes.is_empty() {
        return see_other("/admin/settings?saved=0");
    }
    match domain::update(a.state(), &a.actor(), &changes).await {
        Ok(()) => see_other(&format!("/admin/settings?saved={}", changes.len())),
        Err(e) => {
            let r = Refusal::from_error(a.t(), &e, str::to_owned);
            render(&a, refused_status(&e), Some(&form), None, r)
        }
    }
}

/// The settings routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/settings", get(page).post(save))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_live_setting_is_in_exactly_one_group() {
        for key in crate::settings::LIVE {
            let n = GROUPS.iter().filter(|(_, keys)| keys.contains(key)).count();
            assert_eq!(n, 1, "{key} is in {n} groups");
        }
        let shown: usize = GROUPS.iter().map(|(_, keys)| keys.len()).sum();
        assert_eq!(shown, crate::settings::LIVE.len());
    }
}

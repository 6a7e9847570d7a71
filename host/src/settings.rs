//! Live settings: the part of the configuration an admin can change at run time
//! (`GET|PATCH /api/v1/settings`), stored in the `settings` table and applied without a restart.
//!
//! The effective configuration is the startup [`Config`] with the stored values laid over it
//! ([`Config::with_app_values`]); a value given in the environment, on the command line or in
//! the configuration file locks its setting (it wins and the app cannot change it). Whoever
//! depends on a live value reads [`Live::get`] each time, or waits on [`Live::subscribe`] (the
//! scheduler does, so a new interval takes effect at once).
//!
//! [`describe`] and [`update`] are the rules both skins use: the JSON API
//! (`GET|PATCH /api/v1/settings`) and the settings page (`/admin/settings`).

use crate::auth::Actor;
use crate::config::{Config, SETTINGS, Setting, Source};
use crate::db::{self, Db, audit};
use crate::error::{Error, FieldError, Result};
use crate::state::AppState;
use arc_swap::ArcSwap;
use std::sync::Arc;
use tokio::sync::watch;

/// Keys an admin may change at run time, in the order the settings page shows them.
pub const LIVE: &[&str] = &[
    "public_url",
    "ui.instance_name",
    "ui.accent_color",
    "ui.default_language",
    "jobs.sync_interval_secs",
    "jobs.expiry_interval_secs",
    "jobs.keep_days",
    "sync.max_vanished_percent",
    "expiry.action",
    "expiry.grace_hours",
    "expiry.fallback",
    "security.session_idle_minutes",
    "security.session_absolute_hours",
    "security.secure_cookies",
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
    "log.level",
];

/// The catalogue entry of a live key.
pub fn setting(key: &str) -> Option<&'static Setting> {
    LIVE.contains(&key)
        .then(|| SETTINGS.iter().find(|s| s.key == key))
        .flatten()
}

/// One live setting as an admin sees it.
#[derive(Debug, Clone)]
pub struct Described {
    /// The catalogue entry (key, kind, default, documentation).
    pub setting: &'static Setting,
    /// The effective value as text; `None` when unset.
    pub value: Option<String>,
    /// Where the value comes from.
    pub source: Source,
}

impl Described {
    /// Whether the configuration (environment, flag or file) fixes it.
    pub fn locked(&self) -> bool {
        self.source.locks()
    }
}

/// Every live setting of `config`, in [`LIVE`] order.
pub fn describe(config: &Config) -> Vec<Described> {
    LIVE.iter()
        .filter_map(|key| setting(key))
        .map(|s| {
            let (value, source) = match config.value(s.key) {
                Some((v, src)) => (Some(v.to_owned()), src.clone()),
                None => (None, Source::Default),
            };
            Described {
                setting: s,
                value,
                source,
            }
        })
        .collect()
}

/// What locks a setting, in words (`environment variable ZONDARR_…`, `command-line flag --…`,
/// `the configuration file`: the file's path is an internal detail and is not named).
pub fn locked_by(source: &Source) -> Option<String> {
    match source {
        Source::Env(var) => Some(format!("environment variable {var}")),
        Source::Flag(flag) => Some(format!("command-line flag {flag}")),
        Source::File(_) => Some("the configuration file".to_owned()),
        _ => None,
    }
}

/// Check changes (key → new value as text, `None` = back to the default) against `current`:
/// the key is a live setting, not locked, and the value valid for its kind. Returns the clean
/// values, or every problem by key.
pub fn check(
    current: &Config,
    changes: &[(String, Option<String>)],
) -> std::result::Result<Vec<(&'static str, Option<String>)>, Vec<FieldError>> {
    let mut fields = Vec::new();
    let mut clean = Vec::new();
    for (key, value) in changes {
        let Some(setting) = setting(key) else {
            let message = if SETTINGS.iter().any(|s| s.key == key) {
                "cannot be changed at run time; set it in zondarr.toml or the environment and restart"
            } else {
                "is not a setting"
            };
            fields.push(FieldError::new(key.as_str(), message));
            continue;
        };
        if let Some((_, src)) = current.value(setting.key)
            && let Some(by) = src.locks().then(|| locked_by(src)).flatten()
        {
            let by = if by.starts_with("the ") {
                by
            } else {
                format!("the {by}")
            };
            fields.push(FieldError::new(
                key.as_str(),
                format!("is locked: {by} sets it; change it there"),
            ));
            continue;
        }
        match value {
            None => clean.push((setting.key, None)),
            Some(raw) => match Config::check_value(setting.key, raw) {
                Ok(v) => clean.push((setting.key, Some(v))),
                Err(problem) => fields.push(FieldError::new(key.as_str(), problem)),
            },
        }
    }
    if fields.is_empty() {
        Ok(clean)
    } else {
        Err(fields)
    }
}

/// Change live settings: every change is checked first ([`check`]), then all are stored and
/// audited (`settings.update`) in one transaction and applied at once ([`apply`]). Nothing
/// changes when one of them is refused.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    changes: &[(String, Option<String>)],
) -> Result<()> {
    if changes.is_empty() {
        return Err(Error::invalid(vec![FieldError::new(
            "settings",
            "give at least one setting to change",
        )]));
    }
    let current = state.live().get();
    let clean = check(&current, changes).map_err(Error::invalid)?;
    let next = current
        .with_app_values(clean.iter().map(|(k, v)| (*k, v.as_deref())))
        .map_err(|e| Error::invalid(vec![FieldError::new("settings", e.to_string())]))?;
    let actor = actor.clone();
    let detail: serde_json::Map<String, serde_json::Value> = clean
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_owned(),
                v.clone()
                    .map_or(serde_json::Value::Null, serde_json::Value::from),
            )
        })
        .collect();
    state
        .db()
        .write(move |tx| {
            for (key, value) in &clean {
                match value {
                    Some(v) => db::settings::set(tx, key, v)?,
                    None => db::settings::delete(tx, key)?,
                }
            }
            audit::append(
                tx,
                &audit::NewEvent {
                    actor: &actor.name,
                    ip: actor.ip.as_deref(),
                    action: "settings.update",
                    target: None,
                    outcome: audit::Outcome::Success,
                    detail: Some(serde_json::Value::Object(detail)),
                },
            )?;
            Ok(())
        })
        .await?;
    apply(state, next);
    Ok(())
}

/// The effective configuration at start-up: `config` with the values stored in the database
/// laid over it. A stored value that no longer validates (an older release allowed it) is
/// skipped with a warning rather than stopping the daemon.
pub async fn effective(config: &Config, db: &Db) -> anyhow::Result<Config> {
    let stored = db
        .run(|c| {
            let mut out = Vec::new();
            for key in LIVE {
                if let Some(v) = db::settings::get(c, key)? {
                    out.push((*key, v));
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the stored settings: {e}"))?;
    let mut current = config.clone();
    for (key, value) in stored {
        match current.with_app_values([(key, Some(value.as_str()))]) {
            Ok(next) => current = next,
            Err(e) => tracing::warn!(key, error = %e, "ignoring a stored setting"),
        }
    }
    Ok(current)
}

/// The effective configuration, swapped atomically when settings change.
pub struct Live {
    current: ArcSwap<Config>,
    changed: watch::Sender<u64>,
}

impl Live {
    /// Start from the effective configuration.
    pub fn new(config: Config) -> Live {
        Live {
            current: ArcSwap::from_pointee(config),
            changed: watch::Sender::new(0),
        }
    }

    /// The configuration now.
    pub fn get(&self) -> Arc<Config> {
        self.current.load_full()
    }

    /// Replace the configuration and wake every subscriber.
    pub fn store(&self, config: Config) {
        self.current.store(Arc::new(config));
        self.changed.send_modify(|v| *v += 1);
    }

    /// A receiver that sees every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

/// Make `next` the effective configuration everywhere: admin security (lifetimes, cookies,
/// limits, public URL), the log filter, and [`Live`] (which wakes the scheduler). Every run-time
/// change goes through here: the settings API and first-run setup.
pub fn apply(state: &AppState, next: Config) {
    let before = state.live().get();
    state.security().apply(&next);
    if next.log_level != before.log_level
        && let Err(e) = state.logs().set_filter(&next.log_level)
    {
        // The value was validated as a filter already; a failure here is a bug worth a warning.
        tracing::warn!(error = %e, "cannot apply the new log level");
    }
    let changed: Vec<&str> = LIVE
        .iter()
        .copied()
        .filter(|k| before.value(k).map(|v| v.0) != next.value(k).map(|v| v.0))
        .collect();
    state.live().store(next);
    tracing::info!(changed = ?changed, "settings changed");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;

    fn config(env: &[(&str, &str)]) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::load_from(
            &Overrides {
                data_dir: Some(dir.path().to_owned()),
                ..Overrides::default()
            },
            &env,
        )
        .unwrap()
    }

    #[test]
    fn every_live_key_is_a_setting() {
        for key in LIVE {
            assert!(setting(key).is_some(), "{key} is not in SETTINGS");
        }
        assert!(setting("listen").is_none());
    }

    #[test]
    fn app_values_apply_unless_the_environment_locks_them() {
        let c = config(&[("ZONDARR_EXPIRY_ACTION", "delete")]);
        let next = c
            .with_app_values([
                ("expiry.action", Some("disable")),
                ("jobs.sync_interval_secs", Some("60")),
            ])
            .unwrap();
        assert_eq!(next.expiry.action, "delete", "locked by the environment");
        assert_eq!(next.jobs.sync_interval_secs, 60);
        let back = next
            .with_app_values([("jobs.sync_interval_secs", None)])
            .unwrap();
        assert_eq!(back.jobs.sync_interval_secs, 21_600);
        assert!(c.with_app_values([("jobs.keep_days", Some("0"))]).is_err());
    }

    #[test]
    fn changes_are_checked_for_key_lock_and_value_together() {
        let c = config(&[("ZONDARR_EXPIRY_ACTION", "delete")]);
        let given = |pairs: &[(&str, Option<&str>)]| -> Vec<(String, Option<String>)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
                .collect()
        };
        let problems = check(
            &c,
            &given(&[
                ("expiry.action", Some("disable")),
                ("nope", Some("1")),
                ("listen", Some("127.0.0.1:1")),
                ("jobs.keep_days", Some("0")),
                ("jobs.sync_interval_secs", Some("60")),
            ]),
        )
        .unwrap_err();
        let by_key: Vec<(&str, &str)> = problems
            .iter()
            .map(|f| (f.field.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(by_key.len(), 4, "{by_key:?}");
        assert_eq!(
            by_key[0],
            (
                "expiry.action",
                "is locked: the environment variable ZONDARR_EXPIRY_ACTION sets it; change it there"
            )
        );
        assert_eq!(by_key[1], ("nope", "is not a setting"));
        assert!(by_key[2].1.starts_with("cannot be changed at run time"));
        assert!(
            by_key[3]
                .1
                .contains("allowed: a whole number from 1 to 3650")
        );
        let clean = check(
            &c,
            &given(&[("jobs.keep_days", Some(" 45 ")), ("log.level", None)]),
        )
        .unwrap();
        assert_eq!(
            clean,
            [
                ("jobs.keep_days", Some("45".to_owned())),
                ("log.level", None)
            ]
        );
        let d = describe(&c);
        assert_eq!(d.len(), LIVE.len());
        let action = d.iter().find(|d| d.setting.key == "expiry.action").unwrap();
        assert!(action.locked());
        assert_eq!(
            locked_by(&action.source).as_deref(),
            Some("environment variable ZONDARR_EXPIRY_ACTION")
        );
    }

    #[tokio::test]
    async fn stored_values_build_the_effective_config() {
        let db = Db::open_in_memory().unwrap();
        db.write(|tx| {
            db::settings::set(tx, "jobs.expiry_interval_secs", "7")?;
            db::settings::set(tx, "expiry.grace_hours", "not a number")?;
            Ok(())
        })
        .await
        .unwrap();
        let c = effective(&config(&[]), &db).await.unwrap();
        assert_eq!(c.jobs.expiry_interval_secs, 7);
        assert_eq!(
            c.expiry.grace_hours, 0,
            "an invalid stored value is skipped"
        );
        let live = Live::new(c);
        let rx = live.subscribe();
        let mut next = (*live.get()).clone();
        next.jobs.expiry_interval_secs = 9;
        live.store(next);
        assert!(rx.has_changed().unwrap());
        assert_eq!(live.get().jobs.expiry_interval_secs, 9);
    }
}

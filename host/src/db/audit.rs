//! The audit log: append-only records of admin actions and security events. Nothing secret is
//! ever written here (no passwords, tokens, codes or keys — only ids and names).

use super::time;
use crate::db::Cached;
use rusqlite::{Connection, params_from_iter, types::Value};
use serde::Serialize;

/// Success or failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The action happened.
    Success,
    /// It was refused or failed.
    Failure,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// One event to append.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// Who: `admin:<name>`, `api-key:<prefix>`, `anonymous`, `system`, `cli`.
    pub actor: &'a str,
    /// Client address.
    pub ip: Option<&'a str>,
    /// Dotted action name, e.g. `auth.login`.
    pub action: &'a str,
    /// What it was done to, e.g. `session:12`.
    pub target: Option<&'a str>,
    /// Outcome.
    pub outcome: Outcome,
    /// Extra JSON detail (never secret).
    pub detail: Option<serde_json::Value>,
}

/// Append an event.
pub fn append(c: &Connection, e: &NewEvent<'_>) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO audit_log (at, actor, ip, action, target, outcome, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        rusqlite::params![
            time::now(),
            e.actor,
            e.ip,
            e.action,
            e.target,
            e.outcome.as_str(),
            e.detail.as_ref().map(|d| d.to_string())
        ],
    )?;
    Ok(())
}

/// A stored event.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AuditEvent)]
pub struct Event {
    /// Row id.
    pub id: i64,
    /// Time (RFC 3339 UTC).
    pub at: String,
    /// Actor.
    pub actor: String,
    /// Client address.
    pub ip: Option<String>,
    /// Action.
    pub action: String,
    /// Target.
    pub target: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    /// JSON detail.
    pub detail: Option<serde_json::Value>,
}

/// Filters for listing.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Exact action, or a prefix ending in `.` (e.g. `auth.`).
    pub action: Option<String>,
    /// Exact actor.
    pub actor: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// Events at or after this time.
    pub since: Option<String>,
    /// Events before this time.
    pub until: Option<String>,
}

/// Events matching `filter`, newest first, with the total count.
pub fn list(
    c: &Connection,
    filter: &Filter,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<Event>, i64)> {
    let mut clauses = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(a) = &filter.action {
        if let Some(prefix) = a.strip_suffix('.') {
            clauses.push("substr(action, 1, ?) = ?");
            args.push(Value::Integer(prefix.len() as i64 + 1));
            args.push(Value::Text(format!("{prefix}.")));
        } else {
            clauses.push("action = ?");
            args.push(Value::Text(a.clone()));
        }
    }
    for (col, v) in [
        ("actor = ?", &filter.actor),
        ("outcome = ?", &filter.outcome),
        ("at >= ?", &filter.since),
        ("at < ?", &filter.until),
    ] {
        if let Some(v) = v {
            clauses.push(col);
            args.push(Value::Text(v.clone()));
        }
    }
    let filter_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let total: i64 = c.row(
        &format!("SELECT count(*) FROM audit_log {filter_sql}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    args.push(Value::Integer(limit));
    args.push(Value::Integer(offset));
    let mut stmt = c.prepare_cached(&format!(
        "SELECT id, at, actor, ip, action, target, outcome, detail FROM audit_log {filter_sql} ORDER BY id DESC LIMIT ? OFFSET ?"
    ))?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), |r| {
            let detail: Option<String> = r.get(7)?;
            Ok(Event {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                ip: r.get(3)?,
                action: r.get(4)?,
                target: r.get(5)?,
                outcome: r.get(6)?,
                detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_filter_and_paginate() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut c).unwrap();
        for (i, action) in ["auth.login", "auth.logout", "api_key.create"]
            .iter()
            .enumerate()
        {
            append(
                &c,
                &NewEvent {
                    actor: "admin:alice",
                    ip: Some("127.0.0.1"),
                    action,
                    target: None,
                    outcome: if i == 0 {
                        Outcome::Failure
                    } else {
                        Outcome::Success
                    },
                    detail: Some(serde_json::json!({"n": i})),
                },
            )
            .unwrap();
        }
        let (all, total) = list(&c, &Filter::default(), 2, 0).unwrap();
        assert_eq!((all.len(), total), (2, 3));
        assert_eq!(all[0].action, "api_key.create");
        let auth = Filter {
            action: Some("auth.".into()),
            ..Filter::default()
        };
        assert_eq!(list(&c, &auth, 10, 0).unwrap().1, 2);
        let failed = Filter {
            outcome: Some("failure".into()),
            ..Filter::default()
        };
        let (rows, _) = list(&c, &failed, 10, 0).unwrap();
        assert_eq!(rows[0].detail, Some(serde_json::json!({"n": 0})));
    }
}

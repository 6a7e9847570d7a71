//! Invitations as rules: codes (generated or custom), validation of an invitation's settings
//! and targets against the servers and their connectors, and the orchestration of creating,
//! editing, deleting and listing them.
//!
//! Both skins call these functions: the JSON API (`http::invitations`) and the admin pages
//! (`web::admin`). Nothing here knows axum, JSON bodies or HTML; results are plain structs or
//! [`Error`]s with their stable codes.

use crate::auth::Actor;
use crate::db::{
    self,
    invitations::{Filter, Invitation, Sort, Status, Target},
};
use crate::error::{Error, ErrorCode, FieldError, Result};
use crate::plugins::{PluginHost, ValueKind};
use crate::state::AppState;
use rand::Rng;
use serde_json::{Map, Value, json};

/// Alphabet of generated codes: upper-case letters and digits without the look-alikes 0 O 1 I L.
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A generated 12-character code.
pub fn generate_code() -> String {
    let mut rng = rand::rng();
    (0..12)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// Custom codes: 1–32 of `[A-Za-z0-9_-]`.
pub fn check_custom_code(code: &str) -> std::result::Result<(), &'static str> {
    if code.is_empty() || code.len() > 32 {
        return Err("must be 1 to 32 characters");
    }
    if !code
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("may contain only letters, digits, '_' and '-'");
    }
    Ok(())
}

/// Longest message to invitees, in characters.
pub const MESSAGE_MAX: usize = 1000;

/// The admin's message to invitees: plain text, trimmed, NFC, line breaks kept (`\r\n` becomes
/// `\n`), at most [`MESSAGE_MAX`] characters, no control or invisible characters (the rules of
/// [`crate::input::free_text`]). Blank is `None`.
///
/// # Errors
/// The rule that was broken.
pub fn check_message(text: &str) -> std::result::Result<Option<String>, crate::input::Rule> {
    let text = crate::input::free_text(text.trim(), usize::MAX)?;
    if text.chars().count() > MESSAGE_MAX {
        return Err("must be at most 1000 characters");
    }
    Ok(Some(text).filter(|t| !t.is_empty()))
}

/// A target server of an invitation and what it grants there.
#[derive(Debug, Clone, Default)]
pub struct TargetSpec {
    /// Server id.
    pub server_id: i64,
    /// Library row ids; `None`: all libraries.
    pub libraries: Option<Vec<i64>>,
    /// Permission values by key, as the server's connector declares them.
    pub permissions: Map<String, Value>,
}

/// An invitation's settings as the admin gives them. On create every field is optional except
/// `servers`; on update absent fields keep their value and `Some(None)` clears a clearable one.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// Custom code (create only).
    pub code: Option<String>,
    /// Target servers.
    pub servers: Option<Vec<TargetSpec>>,
    /// Expiry (RFC 3339).
    pub expires_at: Option<Option<String>>,
    /// Maximum uses.
    pub max_uses: Option<Option<i64>>,
    /// Days the created accounts last.
    pub access_duration_days: Option<Option<i64>>,
    /// Admin note.
    pub note: Option<Option<String>>,
    /// The admin's message to invitees.
    pub message: Option<Option<String>>,
    /// Whether the code can be redeemed.
    pub enabled: Option<bool>,
    /// Pre-join wizard.
    pub pre_wizard_id: Option<Option<i64>>,
    /// Post-join wizard.
    pub post_wizard_id: Option<Option<i64>>,
}

/// A library offered by an invitation.
#[derive(Debug, Clone)]
pub struct LibraryRef {
    /// Library row id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The server no longer lists it.
    pub missing: bool,
}

/// A target server of an invitation, resolved.
#[derive(Debug, Clone)]
pub struct TargetDetail {
    /// Server id.
    pub server_id: i64,
    /// Server name.
    pub server_name: String,
    /// Connector id.
    pub kind: String,
    /// `None`: every library.
    pub libraries: Option<Vec<LibraryRef>>,
    /// Some offered library is no longer on the server.
    pub libraries_missing: bool,
    /// Permission values by key.
    pub permissions: Map<String, Value>,
}

/// An invitation with its status, link and resolved targets.
#[derive(Debug, Clone)]
pub struct Detail {
    /// The stored invitation.
    pub inv: Invitation,
    /// Whether it can be redeemed now, and if not why.
    pub status: Status,
    /// The join link.
    pub url: String,
    /// Target servers that still exist.
    pub targets: Vec<TargetDetail>,
}

impl Detail {
    /// Uses left; `None`: unlimited.
    pub fn remaining_uses(&self) -> Option<i64> {
        self.inv.max_uses.map(|m| (m - self.inv.use_count).max(0))
    }

    /// Whether a target offers a library that is no longer on its server.
    pub fn libraries_missing(&self) -> bool {
        self.targets.iter().any(|t| t.libraries_missing)
    }
}

/// Resolve an invitation's targets and status.
pub fn detail(state: &AppState, c: &rusqlite::Connection, inv: Invitation) -> Result<Detail> {
    let now = db::time::now();
    let mut targets = Vec::new();
    for t in &inv.targets {
        let Some(server) = db::servers::get(c, t.server_id)? else {
            continue;
        };
        let libs = db::servers::libraries(c, t.server_id)?;
        let offered: Option<Vec<LibraryRef>> = t.library_refs.as_ref().map(|refs| {
            refs.iter()
                .filter_map(|ext| libs.iter().find(|l| &l.external_id == ext))
                .map(|l| LibraryRef {
                    id: l.id,
                    name: l.name.clone(),
                    missing: l.is_missing(),
                })
                .collect()
        });
        // Missing: marked so by library sync, or (a reference without a row) unknown altogether;
        // an empty list (never accepted by the API) offers nothing and counts as missing too, as
        // in redemption.
        let libraries_missing = match (&t.library_refs, &offered) {
            (Some(refs), Some(found)) => {
                refs.is_empty() || found.len() < refs.len() || found.iter().any(|l| l.missing)
            }
            _ => false,
        };
        targets.push(TargetDetail {
            server_id: t.server_id,
            server_name: server.name,
            kind: server.kind,
            libraries: offered,
            libraries_missing,
            permissions: t.permissions.clone(),
        });
    }
    Ok(Detail {
        status: inv.status(&now),
        url: format!("{}/join/{}", state.security().public_url(), inv.code),
        inv,
        targets,
    })
}

/// Check the targets: servers exist, libraries belong to them, permission keys are declared by
/// the server's connector with values of the declared kind.
fn check_targets(
    plugins: &PluginHost,
    c: &rusqlite::Connection,
    targets: &[TargetSpec],
    fields: &mut Vec<FieldError>,
) -> Result<Vec<Target>> {
    if targets.is_empty() {
        fields.push(FieldError::new("servers", "choose at least one server"));
    }
    let mut out = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let at = |f: &str| format!("servers[{i}].{f}");
        if targets
            .iter()
            .filter(|o| o.server_id == t.server_id)
            .count()
            > 1
        {
            fields.push(FieldError::new(at("server_id"), "is listed twice"));
            continue;
        }
        let Some(server) = db::servers::get(c, t.server_id)? else {
            fields.push(FieldError::new(at("server_id"), "no such server"));
            continue;
        };
        // The API takes library row ids; they are stored as the server's ids for them.
        let mut library_refs = None;
        if let Some(ids) = &t.libraries {
            let libs = db::servers::libraries(c, t.server_id)?;
            if ids.is_empty() {
                fields.push(FieldError::new(
                    at("libraries"),
                    "give at least one library, or null for all",
                ));
            }
            let mut refs: Vec<String> = Vec::with_capacity(ids.len());
            for id in ids {
                match libs.iter().find(|l| l.id == *id) {
                    None => fields.push(FieldError::new(
                        at("libraries"),
                        format!("library {id} does not belong to server {}", server.name),
                    )),
                    Some(l) if l.is_missing() => fields.push(FieldError::new(
                        at("libraries"),
                        format!(
                            "library {} ({id}) is no longer on server {}; choose another",
                            l.name, server.name
                        ),
                    )),
                    Some(l) if refs.contains(&l.external_id) => {}
                    Some(l) => refs.push(l.external_id.clone()),
                }
            }
            library_refs = Some(refs);
        }
        match plugins.manifest(&server.kind) {
            Some(manifest) => {
                for (key, value) in &t.permissions {
                    let Some(def) = manifest.permissions.iter().find(|p| &p.key == key) else {
                        fields.push(FieldError::new(
                            at(&format!("permissions.{key}")),
                            format!("is not a permission of {} servers", manifest.name),
                        ));
                        continue;
                    };
                    let fits = match def.kind {
                        ValueKind::Flag => value.is_boolean(),
                        ValueKind::Number => value.is_i64(),
                        _ => value.is_string(),
                    };
                    if !fits {
                        fields.push(FieldError::new(
                            at(&format!("permissions.{key}")),
                            "has the wrong type",
                        ));
                    }
                }
            }
            None if !t.permissions.is_empty() => {
                fields.push(FieldError::new(
                    at("permissions"),
                    "the server's connector is not loaded, so permissions cannot be checked",
                ));
            }
            None => {}
        }
        out.push(Target {
            server_id: t.server_id,
            library_refs,
            libraries: t.libraries.clone(),
            permissions: t.permissions.clone(),
        });
    }
    Ok(out)
}

/// Apply the wizard links of `changes`; an unknown wizard is a field error.
fn check_wizards(
    c: &rusqlite::Connection,
    inv: &mut Invitation,
    changes: &Changes,
    fields: &mut Vec<FieldError>,
) -> Result<()> {
    for (field, given, slot) in [
        (
            "pre_wizard_id",
            changes.pre_wizard_id,
            &mut inv.pre_wizard_id,
        ),
        (
            "post_wizard_id",
            changes.post_wizard_id,
            &mut inv.post_wizard_id,
        ),
    ] {
        let Some(given) = given else { continue };
        if let Some(id) = given
            && db::wizards::get(c, id)?.is_none()
        {
            fields.push(FieldError::new(field, "no such wizard"));
        }
        *slot = given;
    }
    Ok(())
}

fn check_scalars(
    inv: &mut Invitation,
    changes: &Changes,
    creating: bool,
    fields: &mut Vec<FieldError>,
) {
    if let Some(expires) = &changes.expires_at {
        inv.expires_at = match expires.as_deref().map(db::time::parse) {
            None => None,
            Some(Some(t)) => {
                if creating && t <= chrono::Utc::now() {
                    fields.push(FieldError::new("expires_at", "must be in the future"));
                }
                Some(db::time::fmt(t))
            }
            Some(None) => {
                fields.push(FieldError::new(
                    "expires_at",
                    "must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z",
                ));
                None
            }
        };
    }
    if let Some(max) = changes.max_uses {
        if max.is_some_and(|m| !(1..=1_000_000).contains(&m)) {
            fields.push(FieldError::new(
                "max_uses",
                "must be from 1 to 1000000, or null for unlimited",
            ));
        }
        inv.max_uses = max;
    }
    if let Some(days) = changes.access_duration_days {
        if days.is_some_and(|d| !(1..=36_500).contains(&d)) {
            fields.push(FieldError::new(
                "access_duration_days",
                "must be from 1 to 36500, or null for no limit",
            ));
        }
        inv.access_duration_days = days;
    }
    if let Some(note) = &changes.note {
        let note = note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
            fields.push(FieldError::new("note", "must be at most 500 characters"));
        }
        inv.note = note;
    }
    if let Some(message) = &changes.message {
        inv.message = match message.as_deref().map(check_message) {
            None | Some(Ok(None)) => None,
            Some(Ok(Some(m))) => Some(m),
            Some(Err(rule)) => {
                fields.push(FieldError::new("message", rule));
                None
            }
        };
    }
    if let Some(enabled) = changes.enabled {
        inv.enabled = enabled;
    }
}

/// Create an invitation; returns its id.
pub async fn create(state: &AppState, actor: &Actor, mut changes: Changes) -> Result<i64> {
    let mut fields = Vec::new();
    let custom = changes.code.clone();
    if let Some(code) = &custom
        && let Err(rule) = check_custom_code(code)
    {
        fields.push(FieldError::new("code", rule));
    }
    let mut inv = Invitation {
        id: 0,
        code: String::new(),
        enabled: true,
        expires_at: None,
        max_uses: None,
        use_count: 0,
        access_duration_days: None,
        note: None,
        message: None,
        created_by: actor.name.clone(),
        created_at: String::new(),
        updated_at: String::new(),
        closed_at: None,
        closed_reason: None,
        targets: Vec::new(),
        pre_wizard_id: None,
        post_wizard_id: None,
    };
    check_scalars(&mut inv, &changes, true, &mut fields);
    let plugins = state.plugins().clone();
    let targets = changes.servers.take().unwrap_or_default();
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            inv.targets = check_targets(&plugins, tx, &targets, &mut fields)?;
            check_wizards(tx, &mut inv, &changes, &mut fields)?;
            if !fields.is_empty() {
                return Err(Error::invalid(fields));
            }
            inv.code = match custom {
                Some(code) if db::invitations::code_taken(tx, &code)? => {
                    return Err(Error::Client {
                        code: ErrorCode::Conflict,
                        message: format!("the code {code} is already used by another invitation"),
                        fields: vec![FieldError::new(
                            "code",
                            "is already taken (codes are case-insensitive)",
                        )],
                        retry_after: None,
                    });
                }
                Some(code) => code,
                None => {
                    let mut code = generate_code();
                    while db::invitations::code_taken(tx, &code)? {
                        code = generate_code();
                    }
                    code
                }
            };
            let id = db::invitations::insert(tx, &inv)?;
            let servers: Vec<i64> = inv.targets.iter().map(|t| t.server_id).collect();
            actor.audit(
                tx,
                "invitation.create",
                Some(&format!("invitation:{id}")),
                Some(json!({ "code": inv.code, "servers": servers })),
            )?;
            Ok(id)
        })
        .await
}

/// An invitation by id with its targets resolved, or `NOT_FOUND`.
pub async fn get(state: &AppState, id: i64) -> Result<Detail> {
    let st = state.clone();
    state
        .db()
        .run(move |c| {
            let inv = db::invitations::get(c, id)?.ok_or_else(|| Error::not_found("invitation"))?;
            detail(&st, c, inv)
        })
        .await
}

/// Filters and sort of the invitation list, as given (validated by [`ListQuery::check`]).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// `active`, `unused` (active and never redeemed), `expired`, `used_up` or `disabled`.
    pub status: Option<String>,
    /// Only invitations targeting this server.
    pub server_id: Option<i64>,
    /// Part of the code (case-insensitive).
    pub search: Option<String>,
    /// `created_at` (default), `expires_at`, `code` or `use_count`.
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub order: Option<String>,
}

/// A validated list query.
#[derive(Debug, Clone)]
pub struct ListSpec {
    filter: Filter,
    sort: Sort,
    descending: bool,
}

impl ListQuery {
    /// Validate: unknown status, sort or order are field errors.
    pub fn check(self) -> Result<ListSpec> {
        let mut fields = Vec::new();
        // `unused` is the dashboard's "pending": can be redeemed and never was.
        let unused = self.status.as_deref() == Some("unused");
        let status = match self.status.as_deref() {
            None => None,
            Some("unused") => Some(Status::Active),
            Some(s) => {
                let parsed = Status::parse(s);
                if parsed.is_none() {
                    fields.push(FieldError::new(
                        "status",
                        "must be active, unused, expired, used_up or disabled",
                    ));
                }
                parsed
            }
        };
        let sort = Sort::parse(self.sort.as_deref().unwrap_or("created_at"));
        if sort.is_none() {
            fields.push(FieldError::new(
                "sort",
                "must be created_at, expires_at, code or use_count",
            ));
        }
        let descending = match self.order.as_deref() {
            None => sort == Some(Sort::CreatedAt) || sort == Some(Sort::UseCount),
            Some("desc") => true,
            Some("asc") => false,
            Some(_) => {
                fields.push(FieldError::new("order", "must be asc or desc"));
                false
            }
        };
        if !fields.is_empty() {
            return Err(Error::invalid(fields));
        }
        Ok(ListSpec {
            filter: Filter {
                status,
                unused,
                server_id: self.server_id,
                search: self.search,
            },
            sort: sort.unwrap_or(Sort::CreatedAt),
            descending,
        })
    }
}

/// One page of invitations and the total matching.
pub async fn list(
    state: &AppState,
    spec: ListSpec,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Detail>, i64)> {
    let st = state.clone();
    state
        .db()
        .run(move |c| {
            let (items, total) =
                db::invitations::list(c, &spec.filter, spec.sort, spec.descending, limit, offset)?;
            let details = items
                .into_iter()
                .map(|inv| detail(&st, c, inv))
                .collect::<Result<Vec<_>>>()?;
            Ok((details, total))
        })
        .await
}

/// Edit an invitation: absent fields keep their value; the code and the use count cannot be
/// changed.
pub async fn update(state: &AppState, actor: &Actor, id: i64, changes: Changes) -> Result<()> {
    let plugins = state.plugins().clone();
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            let mut inv =
                db::invitations::get(tx, id)?.ok_or_else(|| Error::not_found("invitation"))?;
            let mut fields = Vec::new();
            if changes
                .code
                .as_ref()
                .is_some_and(|c| !c.eq_ignore_ascii_case(&inv.code))
            {
                fields.push(FieldError::new(
                    "code",
                    "cannot be changed; create a new invitation instead",
                ));
            }
            check_scalars(&mut inv, &changes, false, &mut fields);
            if let Some(targets) = &changes.servers {
                inv.targets = check_targets(&plugins, tx, targets, &mut fields)?;
            }
            check_wizards(tx, &mut inv, &changes, &mut fields)?;
            if !fields.is_empty() {
                return Err(Error::invalid(fields));
            }
            db::invitations::update(tx, &inv)?;
            actor.audit(
                tx,
                "invitation.update",
                Some(&format!("invitation:{id}")),
                None,
            )?;
            Ok(())
        })
        .await
}

/// Delete an invitation; accounts created with it keep existing.
pub async fn delete(state: &AppState, actor: &Actor, id: i64) -> Result<()> {
    let actor = actor.clone();
    state
        .db()
        .write(move |tx| {
            let inv =
                db::invitations::get(tx, id)?.ok_or_else(|| Error::not_found("invitation"))?;
            db::invitations::delete(tx, id)?;
            actor.audit(
                tx,
                "invitation.delete",
                Some(&format!("invitation:{id}")),
                Some(json!({ "code": inv.code })),
            )?;
            Ok(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_avoid_look_alikes() {
        for _ in 0..200 {
            let code = generate_code();
            assert_eq!(code.len(), 12);
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']), "{code}");
            assert!(check_custom_code(&code).is_ok());
        }
    }

    #[test]
    fn custom_codes() {
        assert!(check_custom_code("family-2027_x").is_ok());
        assert!(check_custom_code("").is_err());
        assert!(check_custom_code(&"a".repeat(33)).is_err());
        assert!(check_custom_code("no spaces").is_err());
        assert!(check_custom_code("ünïcode").is_err());
    }

    #[test]
    fn list_queries_are_checked() {
        assert!(ListQuery::default().check().is_ok());
        let bad = ListQuery {
            status: Some("sideways".into()),
            sort: Some("nope".into()),
            order: Some("up".into()),
            ..Default::default()
        };
        let Err(Error::Client { fields, .. }) = bad.check() else {
            panic!("accepted");
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["status", "sort", "order"]);
    }

    #[test]
    fn messages_are_trimmed_normalised_and_checked() {
        assert_eq!(check_message("  \n "), Ok(None));
        assert_eq!(
            check_message("\r\n Welcome!\r\nSee you\n\n")
                .unwrap()
                .as_deref(),
            Some("Welcome!\nSee you")
        );
        // e + combining acute becomes the single code point.
        assert_eq!(
            check_message("Cafe\u{0301}").unwrap().as_deref(),
            Some("Caf\u{e9}")
        );
        assert_eq!(
            check_message("hi\u{0007}there"),
            Err("contains invisible or control characters")
        );
        assert!(check_message("a\u{202E}b").is_err());
        assert!(check_message(&"x".repeat(MESSAGE_MAX)).is_ok());
        assert_eq!(
            check_message(&"x".repeat(MESSAGE_MAX + 1)),
            Err("must be at most 1000 characters")
        );
        // Counted in characters, not bytes.
        assert!(check_message(&"ü".repeat(MESSAGE_MAX)).is_ok());
    }
}

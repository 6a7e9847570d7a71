//! The typed controls of a connector's declared permissions (flags, numbers, text), as the
//! invitation form and the user page show them, and reading them back from a submitted form.
//! Field names are `perm-{server}-{key}`, with a hidden `permkind-{server}` = `key:kind` per
//! control so an unchecked flag still counts as `false`. The values are judged by the domain
//! ([`crate::users`], [`crate::invitations`]); only a number that does not parse is refused here.

use super::{Form, Refusal};
use crate::plugins::{Manifest, ValueKind};
use crate::web::i18n::Tr;
use serde_json::{Map, Value};

/// A permission control of a form.
#[derive(Debug)]
pub struct PermField {
    /// The connector's key.
    pub key: String,
    /// The form field's name.
    pub name: String,
    /// Label from the manifest.
    pub label: String,
    /// Help text from the manifest.
    pub help: Option<String>,
    /// `flag`, `number` or `text`.
    pub kind: &'static str,
    /// A number's or a text's value.
    pub value: String,
    /// A flag's value.
    pub checked: bool,
}

/// The controls of `manifest`'s permissions for server `sid`, showing `given` values where
/// there are some and the connector's defaults elsewhere.
pub fn fields(manifest: &Manifest, sid: i64, given: Option<&Map<String, Value>>) -> Vec<PermField> {
    manifest
        .permissions
        .iter()
        .map(|p| {
            let given = given.and_then(|perms| perms.get(&p.key));
            let default = &p.default_value;
            let (kind, value, checked) = match p.kind {
                ValueKind::Flag => (
                    "flag",
                    String::new(),
                    given
                        .and_then(Value::as_bool)
                        .unwrap_or(matches!(default, crate::plugins::Value::Flag(true))),
                ),
                ValueKind::Number => (
                    "number",
                    given.map_or_else(
                        || default.to_config_text(),
                        |g| g.as_i64().map_or_else(|| g.to_string(), |n| n.to_string()),
                    ),
                    false,
                ),
                _ => (
                    "text",
                    given
                        .and_then(Value::as_str)
                        .map_or_else(|| default.to_config_text(), str::to_owned),
                    false,
                ),
            };
            PermField {
                key: p.key.clone(),
                name: format!("perm-{sid}-{}", p.key),
                label: p.label.clone(),
                help: p.description.clone(),
                kind,
                value,
                checked,
            }
        })
        .collect()
}

/// The permission values of server `sid` in a submitted form; a number that does not parse is
/// a field error in `r`.
pub fn read(form: &Form, sid: i64, t: &Tr, r: &mut Refusal) -> Map<String, Value> {
    let mut perms = Map::new();
    let prefix = format!("perm-{sid}-");
    for raw in form.all(&format!("permkind-{sid}")) {
        let Some((key, kind)) = raw.split_once(':') else {
            continue;
        };
        let name = format!("{prefix}{key}");
        match kind {
            "flag" => {
                perms.insert(key.to_owned(), Value::Bool(form.checked(&name)));
            }
            "number" => match form.get(&name).trim().parse::<i64>() {
                Ok(n) => {
                    perms.insert(key.to_owned(), Value::from(n));
                }
                Err(_) => {
                    r.fields.insert(name, t.t("field-number"));
                }
            },
            _ => {
                perms.insert(key.to_owned(), Value::String(form.get(&name).to_owned()));
            }
        }
    }
    perms
}

//! Excerpts of official OpenAPI documents: exactly the operations a connector uses, with their
//! parameters, request bodies, responses and every schema they reach, and none of the documents'
//! prose (descriptions, summaries, examples, titles, tags, vendor extensions).
//!
//! The repository keeps the excerpts (`tests/fakes/specs/*.json`) so that the contract tests run
//! from a fresh clone with nothing beside it; a test regenerates each one from the official
//! document where that is available and fails if the committed file differs, so an excerpt can
//! never drift from its source. `cargo run -p zondarr-fakes --bin openapi-excerpt` rewrites them
//! after a connector starts using another operation.
//!
//! An excerpt is itself a valid OpenAPI 3.0 document that [`OpenApi`] validates against exactly as
//! it would against the whole one: removing path templates never changes which template a request
//! the connector sends is routed to, because the template the whole document would pick is kept
//! and the router prefers the most literal segments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::OpenApi;

/// Keys that are annotations or prose wherever a schema, parameter, operation or response object
/// has them. Never removed from a map of names (`properties`, `paths`, `content`, …).
const PROSE: &[&str] = &[
    "description",
    "summary",
    "title",
    "example",
    "examples",
    "externalDocs",
    "tags",
    "operationId",
    "default",
    "deprecated",
    "xml",
];

/// Keys whose value is an object keyed by names (or status codes, media types) rather than by
/// OpenAPI keywords.
const NAME_MAPS: &[&str] = &[
    "properties",
    "paths",
    "content",
    "responses",
    "schemas",
    "parameters",
    "securitySchemes",
    "requestBodies",
    "headers",
    "encoding",
    "links",
    "callbacks",
    "variables",
    "mapping",
];

/// Keys whose value is data that is kept as it is (enumerated values, required names, security
/// requirements).
const DATA: &[&str] = &["enum", "required", "security"];

/// One excerpt the repository keeps.
#[derive(Debug, Clone, Copy)]
pub struct Excerpt {
    /// The official document's file name in `shared/specs/`.
    pub official: &'static str,
    /// The excerpt's file name in `tests/fakes/specs/`.
    pub file: &'static str,
    /// The operations the connector uses, as (method, path template).
    pub operations: &'static [(&'static str, &'static str)],
    /// The committed excerpt.
    pub text: &'static str,
}

/// The operations the bundled Jellyfin connector sends (both supported server versions).
const JELLYFIN_OPERATIONS: &[(&str, &str)] = &[
    ("GET", "/System/Info"),
    ("GET", "/System/Info/Public"),
    ("GET", "/Library/VirtualFolders"),
    ("GET", "/Library/MediaFolders"),
    ("GET", "/Users"),
    ("POST", "/Users/New"),
    ("GET", "/Users/{userId}"),
    ("DELETE", "/Users/{userId}"),
    ("POST", "/Users/{userId}/Policy"),
    ("POST", "/Users/Password"),
    ("POST", "/Users/AuthenticateByName"),
    ("POST", "/Sessions/Logout"),
];

/// The operations the bundled Emby connector sends.
const EMBY_OPERATIONS: &[(&str, &str)] = &[
    ("GET", "/System/Info"),
    ("GET", "/Library/VirtualFolders/Query"),
    ("GET", "/Users/Query"),
    ("POST", "/Users/New"),
    ("GET", "/Users/{Id}"),
    ("DELETE", "/Users/{Id}"),
    ("POST", "/Users/{Id}/Policy"),
    ("POST", "/Users/{Id}/Password"),
    ("POST", "/Users/AuthenticateByName"),
    ("POST", "/Sessions/Logout"),
];

/// The operations the bundled Komga connector sends.
const KOMGA_OPERATIONS: &[(&str, &str)] = &[
    ("GET", "/api/v2/users/me"),
    ("GET", "/actuator/info"),
    ("GET", "/api/v1/libraries"),
    ("GET", "/api/v2/users"),
    ("POST", "/api/v2/users"),
    ("PATCH", "/api/v2/users/{id}"),
    ("DELETE", "/api/v2/users/{id}"),
    ("PATCH", "/api/v2/users/{id}/password"),
    ("POST", "/api/logout"),
];

/// The operations the bundled Kavita connector sends.
const KAVITA_OPERATIONS: &[(&str, &str)] = &[
    ("POST", "/api/Plugin/authenticate"),
    ("GET", "/api/Library/libraries"),
    ("GET", "/api/Users"),
    ("POST", "/api/Account/invite"),
    ("POST", "/api/Account/confirm-email"),
    ("POST", "/api/Account/update"),
    ("DELETE", "/api/Users/delete-user"),
    ("POST", "/api/Account/reset-password"),
    ("POST", "/api/Account/login"),
];

/// Every excerpt the repository keeps.
pub const EXCERPTS: &[Excerpt] = &[
    Excerpt {
        official: "jellyfin-openapi-10.11.11.json",
        file: "jellyfin-10.11.11.json",
        operations: JELLYFIN_OPERATIONS,
        text: include_str!("../../specs/jellyfin-10.11.11.json"),
    },
    Excerpt {
        official: "jellyfin-openapi-12.0.0.json",
        file: "jellyfin-12.0.0.json",
        operations: JELLYFIN_OPERATIONS,
        text: include_str!("../../specs/jellyfin-12.0.0.json"),
    },
    Excerpt {
        official: "emby-openapi-4.8.11.0.json",
        file: "emby-4.8.11.0.json",
        operations: EMBY_OPERATIONS,
        text: include_str!("../../specs/emby-4.8.11.0.json"),
    },
    Excerpt {
        official: "komga-openapi-1.26.3.json",
        file: "komga-1.26.3.json",
        operations: KOMGA_OPERATIONS,
        text: include_str!("../../specs/komga-1.26.3.json"),
    },
    Excerpt {
        official: "kavita-openapi-0.8.3.2.json",
        file: "kavita-0.8.3.2.json",
        operations: KAVITA_OPERATIONS,
        text: include_str!("../../specs/kavita-0.8.3.2.json"),
    },
];

impl Excerpt {
    /// The committed excerpt, parsed.
    ///
    /// # Errors
    /// When the committed file is not a valid document (it is generated, so only by hand-editing).
    pub fn load(&self) -> Result<OpenApi, String> {
        let doc: Value = serde_json::from_str(self.text)
            .map_err(|e| format!("{} is not JSON: {e}", self.file))?;
        OpenApi::from_value(self.file, doc)
    }

    /// Generates this excerpt from the official document in `specs_dir`, as the text that is
    /// committed.
    ///
    /// # Errors
    /// When the document cannot be read or lacks an operation the excerpt names.
    pub fn generate(&self, specs_dir: &Path) -> Result<String, String> {
        let path = specs_dir.join(self.official);
        let text =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let doc: Value = serde_json::from_slice(&text)
            .map_err(|e| format!("{} is not JSON: {e}", self.official))?;
        let excerpt = excerpt(&doc, self.official, self.operations)?;
        Ok(to_text(&excerpt))
    }
}

/// Where the committed excerpts live (`tests/fakes/specs`).
pub fn excerpts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("specs")
}

/// Where the official documents are: `ZONDARR_OFFICIAL_SPECS` if set, else `../shared/specs`
/// beside the repository. `None` when neither exists.
pub fn official_specs_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ZONDARR_OFFICIAL_SPECS").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs");
    beside.is_dir().then_some(beside)
}

/// The excerpt of `doc` with `operations` (method, path template).
///
/// # Errors
/// When an operation is not in the document, or a `$ref` cannot be resolved.
pub fn excerpt(doc: &Value, source: &str, operations: &[(&str, &str)]) -> Result<Value, String> {
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for (method, template) in operations {
        let item = doc
            .pointer(&format!("/paths/{}", escape_pointer(template)))
            .ok_or_else(|| format!("{source} has no path {template}"))?;
        let method = method.to_ascii_lowercase();
        let operation = item
            .get(&method)
            .ok_or_else(|| format!("{source} has no {method} {template}"))?;
        let entry = paths.entry((*template).to_owned()).or_default();
        if let Some(shared) = item.get("parameters") {
            entry.insert("parameters".into(), shared.clone());
        }
        entry.insert(method, operation.clone());
    }

    let mut out = Map::new();
    out.insert(
        "openapi".into(),
        doc.get("openapi").cloned().unwrap_or(Value::Null),
    );
    let mut info = Map::new();
    info.insert(
        "version".into(),
        doc.pointer("/info/version").cloned().unwrap_or(Value::Null),
    );
    info.insert("x-excerpt-of".into(), Value::String(source.to_owned()));
    out.insert("info".into(), Value::Object(info));
    if let Some(security) = doc.get("security") {
        out.insert("security".into(), security.clone());
    }
    let paths: Map<String, Value> = paths
        .into_iter()
        .map(|(k, v)| (k, Value::Object(v)))
        .collect();
    let paths = strip(&Value::Object(paths), true);

    // Every component the kept operations reach, transitively, plus the security schemes they
    // (or the document's default) require.
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    let mut queue = Vec::new();
    collect_refs(&paths, &mut queue);
    while let Some(reference) = queue.pop() {
        if !wanted.insert(reference.clone()) {
            continue;
        }
        let pointer = reference
            .strip_prefix('#')
            .ok_or_else(|| format!("{source}: non-local $ref {reference}"))?;
        let target = doc
            .pointer(pointer)
            .ok_or_else(|| format!("{source}: unresolvable $ref {reference}"))?;
        collect_refs(target, &mut queue);
    }
    let mut components: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for reference in &wanted {
        let mut parts = reference.trim_start_matches("#/").split('/');
        let (Some("components"), Some(kind), Some(name), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(format!(
                "{source}: $ref {reference} is not of the form #/components/KIND/NAME"
            ));
        };
        let name = unescape_pointer(name);
        let target = doc
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or(&Value::Null);
        components
            .entry(kind.to_owned())
            .or_default()
            .insert(name, strip(target, false));
    }
    let mut schemes_used = BTreeSet::new();
    collect_security(&paths, &mut schemes_used);
    if let Some(security) = doc.get("security") {
        collect_security(security, &mut schemes_used);
    }
    for scheme in schemes_used {
        let target = doc
            .pointer(&format!(
                "/components/securitySchemes/{}",
                escape_pointer(&scheme)
            ))
            .ok_or_else(|| format!("{source}: no security scheme {scheme}"))?;
        components
            .entry("securitySchemes".into())
            .or_default()
            .insert(scheme, strip(target, false));
    }
    out.insert("paths".into(), paths);
    out.insert(
        "components".into(),
        Value::Object(
            components
                .into_iter()
                .map(|(k, v)| (k, Value::Object(v)))
                .collect(),
        ),
    );
    Ok(sorted(&Value::Object(out)))
}

/// The committed form: sorted keys, two-space indentation, a final newline.
pub fn to_text(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(&sorted(value)).unwrap_or_default();
    text.push('\n');
    text
}

/// Removes prose. `names` is true when `value`'s keys are names, not keywords.
fn strip(value: &Value, names: bool) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, child) in map {
                if names {
                    out.insert(key.clone(), strip(child, false));
                    continue;
                }
                if PROSE.contains(&key.as_str()) || key.starts_with("x-") {
                    continue;
                }
                let child = if DATA.contains(&key.as_str()) && !child.is_object() {
                    child.clone()
                } else {
                    strip(
                        child,
                        NAME_MAPS.contains(&key.as_str()) && child.is_object(),
                    )
                };
                out.insert(key.clone(), child);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| strip(v, false)).collect()),
        other => other.clone(),
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(reference)) => out.push(reference.clone()),
                    _ => collect_refs(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Names of the security schemes in every `security` requirement list under `value` (or `value`
/// itself when it is one).
fn collect_security(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "security"
                    && let Value::Array(alternatives) = child
                {
                    for alternative in alternatives.iter().filter_map(Value::as_object) {
                        out.extend(alternative.keys().cloned());
                    }
                } else {
                    collect_security(child, out);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                if let Value::Object(requirement) = item
                    && requirement.values().all(Value::is_array)
                {
                    out.extend(requirement.keys().cloned());
                }
            }
        }
        _ => {}
    }
}

/// The same value with every object's keys in sorted order, whatever `serde_json`'s map is.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let ordered: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(ordered.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn unescape_pointer(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_operations_and_what_they_reach_and_drops_prose() {
        let doc = json!({
            "openapi": "3.0.1",
            "info": {"title": "Server API", "version": "1.0", "description": "long prose"},
            "paths": {
                "/Users/{userId}": {
                    "parameters": [{"name": "userId", "in": "path", "required": true,
                                    "description": "The id.", "schema": {"type": "string"}}],
                    "get": {
                        "summary": "Gets a user.", "operationId": "GetUser", "tags": ["User"],
                        "responses": {"200": {"description": "ok", "content": {"application/json":
                            {"schema": {"$ref": "#/components/schemas/User"}}}}},
                        "security": [{"Key": []}]
                    },
                    "delete": {"responses": {"204": {"description": "gone"}}}
                },
                "/Other": {"get": {"responses": {}}}
            },
            "components": {
                "schemas": {
                    "User": {"type": "object", "description": "A user.", "properties": {
                        "description": {"type": "string", "description": "a property named description"},
                        "Policy": {"$ref": "#/components/schemas/Policy"}
                    }, "required": ["Policy"]},
                    "Policy": {"type": "object", "properties": {
                        "Kind": {"enum": ["a", "b"], "type": "string", "default": "a"}}},
                    "Unused": {"type": "string"}
                },
                "securitySchemes": {
                    "Key": {"type": "apiKey", "in": "header", "name": "Authorization",
                            "description": "API key"},
                    "Unused": {"type": "apiKey", "in": "header", "name": "X"}
                }
            }
        });
        let out = excerpt(&doc, "server.json", &[("GET", "/Users/{userId}")]).unwrap();
        assert_eq!(
            out,
            json!({
                "openapi": "3.0.1",
                "info": {"version": "1.0", "x-excerpt-of": "server.json"},
                "paths": {"/Users/{userId}": {
                    "parameters": [{"name": "userId", "in": "path", "required": true,
                                    "schema": {"type": "string"}}],
                    "get": {
                        "responses": {"200": {"content": {"application/json":
                            {"schema": {"$ref": "#/components/schemas/User"}}}}},
                        "security": [{"Key": []}]
                    }
                }},
                "components": {
                    "schemas": {
                        "User": {"type": "object", "properties": {
                            "description": {"type": "string"},
                            "Policy": {"$ref": "#/components/schemas/Policy"}
                        }, "required": ["Policy"]},
                        "Policy": {"type": "object", "properties": {
                            "Kind": {"enum": ["a", "b"], "type": "string"}}}
                    },
                    "securitySchemes": {"Key": {"type": "apiKey", "in": "header", "name": "Authorization"}}
                }
            })
        );
        assert!(OpenApi::from_value("excerpt", out).is_ok());
    }

    #[test]
    fn a_missing_operation_is_an_error() {
        let doc = json!({"openapi": "3.0.1", "paths": {"/A": {"get": {}}}});
        let error = excerpt(&doc, "s.json", &[("POST", "/A")]).unwrap_err();
        assert!(error.contains("no post /A"), "{error}");
        let error = excerpt(&doc, "s.json", &[("GET", "/B")]).unwrap_err();
        assert!(error.contains("no path /B"), "{error}");
    }

    #[test]
    fn every_committed_excerpt_loads() {
        for excerpt in EXCERPTS {
            let doc = excerpt.load().unwrap();
            assert!(!doc.version().is_empty(), "{}", excerpt.file);
        }
    }

    /// The committed excerpts are exactly what the official documents give today. Where the
    /// documents are not beside the repository (a clone on its own), this one test says so and
    /// checks nothing; `.ci/run` sets `ZONDARR_REQUIRE_OFFICIAL_SPECS=1` so CI never skips it.
    #[test]
    fn committed_excerpts_match_the_official_documents() {
        let Some(dir) = official_specs_dir() else {
            assert!(
                std::env::var_os("ZONDARR_REQUIRE_OFFICIAL_SPECS").is_none_or(|v| v.is_empty()),
                "ZONDARR_REQUIRE_OFFICIAL_SPECS is set, but the official OpenAPI documents are \
                 neither in ZONDARR_OFFICIAL_SPECS nor in ../shared/specs"
            );
            println!(
                "skipped: the official OpenAPI documents are not beside this clone (../shared/specs); \
                 the contract tests use the committed excerpts"
            );
            return;
        };
        let mut stale = Vec::new();
        for excerpt in EXCERPTS {
            let fresh = excerpt.generate(&dir).unwrap();
            if fresh != excerpt.text {
                stale.push(excerpt.file);
            }
        }
        assert!(
            stale.is_empty(),
            "these excerpts differ from the official documents in {}: {stale:?}; \
             run `cargo run -p zondarr-fakes --bin openapi-excerpt` and commit the result",
            dir.display()
        );
    }
}

//! A small in-process OpenAPI 3.0 (and 3.1, see `from_value`) validator over `serde_json::Value`, for contract tests: is a
//! request a connector sent one that the official API description allows? It also checks the
//! JSON bodies a fake answers with, so the fakes cannot drift from the real API's shapes.
//!
//! What a request must satisfy: a path template and method of the document; every required path,
//! query and header parameter, each value matching its schema; no query parameter the operation
//! does not declare; the operation's security requirement (an `apiKey` header or query parameter
//! present); and, when the operation has a request body, a declared content type and a JSON body
//! valid against the schema.
//!
//! Schemas: `$ref` (local, `#/…`), `allOf`, `oneOf`, `anyOf`, `type`, `nullable`, `enum`,
//! `properties`, `required`, `additionalProperties`, `items`, `minLength`, `maxLength`,
//! `minimum`, `maximum`, and the formats `uuid`, `int32`, `int64` and `date-time`. Annotations
//! (`description`, `default`, `deprecated`, `readOnly`, `discriminator`, …) are ignored. Any other
//! keyword met while validating is reported as a violation, so a schema this validator cannot
//! judge fails loudly instead of passing silently.
//!
//! Deliberate departures from a literal reading, each forced by the real servers:
//! - **`format: uuid` accepts the 32-hex form as well as the dashed one.** Jellyfin writes every
//!   GUID without dashes (`"a076a5bfc9034f379f5889bc6dafc77b"`) and reads both forms, while its
//!   OpenAPI documents say `uuid` (MEDIA-APIS.md §0.4). A connector that writes back a policy it
//!   read must be able to echo the server's own ids.
//! - **`readOnly` properties are allowed in requests.** OpenAPI says they SHOULD NOT be sent; a
//!   whole-policy write-back echoes them (e.g. `AccessSchedule.Id`) and the server ignores them.
//! - Property and parameter names are matched exactly (Jellyfin itself matches them
//!   case-insensitively), so a connector must use the documented spelling.

use std::collections::BTreeMap;

use serde_json::Value;

pub mod excerpt;
mod schema;
#[cfg(test)]
mod tests;

pub use schema::is_guid;

/// Nesting of `$ref`/`allOf` hops that is treated as a cycle.
const MAX_DEPTH: usize = 128;

/// One HTTP request as a server received it.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// Method, e.g. `POST`.
    pub method: &'a str,
    /// Path, percent-encoded as sent, without the query.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// Headers as received.
    pub headers: &'a [(String, String)],
    /// Body bytes; empty for none.
    pub body: &'a [u8],
}

/// A loaded OpenAPI document.
#[derive(Debug)]
pub struct OpenApi {
    name: String,
    doc: Value,
    templates: Vec<Template>,
}

#[derive(Debug)]
struct Template {
    raw: String,
    segments: Vec<Segment>,
}

#[derive(Debug)]
enum Segment {
    Literal(String),
    Param(String),
}

impl Template {
    fn parse(raw: &str) -> Self {
        let segments = raw
            .trim_start_matches('/')
            .split('/')
            .map(|segment| {
                match segment
                    .strip_prefix('{')
                    .and_then(|rest| rest.strip_suffix('}'))
                {
                    Some(name) => Segment::Param(name.to_owned()),
                    None => Segment::Literal(segment.to_owned()),
                }
            })
            .collect();
        Self {
            raw: raw.to_owned(),
            segments,
        }
    }

    /// The captured path parameters (still percent-encoded) when `segments` match.
    fn captures(&self, segments: &[&str]) -> Option<Vec<(String, String)>> {
        if segments.len() != self.segments.len() {
            return None;
        }
        let mut captures = Vec::new();
        for (template, actual) in self.segments.iter().zip(segments) {
            match template {
                Segment::Literal(literal) if literal == actual => {}
                Segment::Literal(_) => return None,
                Segment::Param(_) if actual.is_empty() => return None,
                Segment::Param(name) => captures.push((name.clone(), (*actual).to_owned())),
            }
        }
        Some(captures)
    }

    fn literal_count(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count()
    }
}

impl OpenApi {
    /// Reads a document from a JSON file.
    ///
    /// # Errors
    /// When the file cannot be read or is not an OpenAPI 3.0 JSON document.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, String> {
        let path = path.as_ref();
        let text =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let doc: Value = serde_json::from_slice(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Self::from_value(name, doc)
    }

    /// Wraps a parsed document.
    ///
    /// # Errors
    /// When it is not an OpenAPI 3.0 document with `paths`.
    pub fn from_value(name: impl Into<String>, doc: Value) -> Result<Self, String> {
        let name = name.into();
        let version = doc.get("openapi").and_then(Value::as_str).unwrap_or("");
        // 3.1 documents (Komga's) are read with the 3.0 rules; the one 3.1 schema form those
        // rules would misjudge, a list of types, is reported as a violation where it is met.
        if !version.starts_with("3.0.") && !version.starts_with("3.1.") {
            return Err(format!(
                "{name}: not an OpenAPI 3.0 or 3.1 document (openapi: {version:?})"
            ));
        }
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{name}: no `paths`"))?;
        let templates = paths.keys().map(|raw| Template::parse(raw)).collect();
        Ok(Self {
            name,
            doc,
            templates,
        })
    }

    /// The document's name (its file name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `info.version` of the document.
    pub fn version(&self) -> &str {
        self.doc
            .pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Checks one request. `Ok` carries the matched path template.
    ///
    /// # Errors
    /// Every violation found, one sentence each.
    pub fn validate_request(&self, request: &RequestParts<'_>) -> Result<String, Vec<String>> {
        let method = request.method.to_ascii_lowercase();
        let (template, captures) = self.route(request.path).ok_or_else(|| {
            vec![format!(
                "{}: no path template matches {}",
                self.name, request.path
            )]
        })?;
        let item = &self.doc["paths"][&template.raw];
        let Some(operation) = item.get(&method) else {
            return Err(vec![format!(
                "{}: {} has no {} operation",
                self.name,
                template.raw,
                request.method.to_ascii_uppercase()
            )]);
        };
        let mut errors = Vec::new();
        let parameters = self.parameters(item, operation, &mut errors);
        let query = parse_query(request.query.unwrap_or(""));

        for parameter in &parameters {
            let name = parameter.get("name").and_then(Value::as_str).unwrap_or("");
            let location = parameter.get("in").and_then(Value::as_str).unwrap_or("");
            let required = parameter.get("required").and_then(Value::as_bool) == Some(true)
                || location == "path";
            let schema = parameter.get("schema").unwrap_or(&Value::Null);
            let values: Vec<String> = match location {
                "path" => captures
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| percent_decode(v, false))
                    .collect(),
                "query" => query
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .collect(),
                "header" => request
                    .headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
                    .collect(),
                _ => continue,
            };
            if values.is_empty() {
                if required {
                    errors.push(format!("required {location} parameter `{name}` is missing"));
                }
                continue;
            }
            let at = format!("{location} parameter `{name}`");
            self.check_text_values(&values, schema, &at, &mut errors);
        }

        let security = operation
            .get("security")
            .or_else(|| self.doc.get("security"))
            .and_then(Value::as_array);
        let mut credential_params = Vec::new();
        if let Some(alternatives) = security.filter(|a| !a.is_empty()) {
            let mut satisfied = false;
            let mut wanted = Vec::new();
            for alternative in alternatives {
                let Some(schemes) = alternative.as_object() else {
                    continue;
                };
                let mut all = true;
                for scheme_name in schemes.keys() {
                    let scheme = &self.doc["components"]["securitySchemes"][scheme_name];
                    let key = scheme.get("name").and_then(Value::as_str).unwrap_or("");
                    let present = match (
                        scheme.get("type").and_then(Value::as_str),
                        scheme.get("in").and_then(Value::as_str),
                    ) {
                        (Some("apiKey"), Some("header")) => request
                            .headers
                            .iter()
                            .any(|(n, v)| n.eq_ignore_ascii_case(key) && !v.trim().is_empty()),
                        (Some("apiKey"), Some("query")) => {
                            credential_params.push(key.to_owned());
                            query.iter().any(|(n, _)| n == key)
                        }
                        // Other schemes (http bearer, oauth2) are not judged here.
                        _ => true,
                    };
                    if !present {
                        all = false;
                        wanted.push(format!("{scheme_name} ({key})"));
                    }
                }
                satisfied |= all;
            }
            if !satisfied {
                errors.push(format!(
                    "the operation requires credentials that were not sent: {}",
                    wanted.join(" or ")
                ));
            }
        }

        for (name, _) in &query {
            let declared = parameters.iter().any(|p| {
                p.get("in").and_then(Value::as_str) == Some("query")
                    && p.get("name").and_then(Value::as_str) == Some(name.as_str())
            });
            if !declared && !credential_params.contains(name) {
                errors.push(format!(
                    "query parameter `{name}` is not declared by the operation"
                ));
            }
        }

        self.check_body(operation, request, &mut errors);

        if errors.is_empty() {
            Ok(template.raw.clone())
        } else {
            let prefix = format!(
                "{}: {} {}",
                self.name,
                request.method.to_ascii_uppercase(),
                template.raw
            );
            Err(errors
                .into_iter()
                .map(|e| format!("{prefix}: {e}"))
                .collect())
        }
    }

    /// Checks a JSON response body against the schema the document gives for this status (or
    /// `default`). Statuses the document does not describe, and non-JSON bodies, are not judged:
    /// real servers answer statuses their documents leave out.
    ///
    /// # Errors
    /// Every violation found.
    pub fn validate_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), Vec<String>> {
        let Some((template, _)) = self.route(path) else {
            return Err(vec![format!(
                "{}: no path template matches {path}",
                self.name
            )]);
        };
        let item = &self.doc["paths"][&template.raw];
        let Some(operation) = item.get(method.to_ascii_lowercase()) else {
            return Err(vec![format!(
                "{}: {} has no {method} operation",
                self.name, template.raw
            )]);
        };
        let responses = &operation["responses"];
        let response = responses
            .get(status.to_string())
            .or_else(|| responses.get("default"));
        let Some(response) = response else {
            return Ok(());
        };
        let mut errors = Vec::new();
        let response = self.resolve(response, &mut errors);
        let media = content_type.map(media_type).unwrap_or_default();
        if !media.contains("json") || body.is_empty() {
            return Ok(());
        }
        let Some(schema) = response
            .get("content")
            .and_then(Value::as_object)
            .and_then(|content| {
                content
                    .iter()
                    .find(|(declared, _)| media_matches(declared, &media))
                    .map(|(_, v)| v)
            })
            .and_then(|m| m.get("schema"))
        else {
            return Ok(());
        };
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => self.check(&value, schema, "body", 0, &mut errors),
            Err(e) => errors.push(format!("the body is not JSON: {e}")),
        }
        if errors.is_empty() {
            Ok(())
        } else {
            let prefix = format!(
                "{}: response {status} to {method} {}",
                self.name, template.raw
            );
            Err(errors
                .into_iter()
                .map(|e| format!("{prefix}: {e}"))
                .collect())
        }
    }

    /// The template for a path: of all that match, the one with the most literal segments
    /// (`/Users/New` before `/Users/{userId}`).
    fn route(&self, path: &str) -> Option<(&Template, Vec<(String, String)>)> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        self.templates
            .iter()
            .filter_map(|t| t.captures(&segments).map(|c| (t, c)))
            .max_by_key(|(t, _)| t.literal_count())
    }

    /// Path-item and operation parameters, `$ref`s resolved, the operation's winning on
    /// (name, in).
    fn parameters<'a>(
        &'a self,
        item: &'a Value,
        operation: &'a Value,
        errors: &mut Vec<String>,
    ) -> Vec<&'a Value> {
        let mut by_key: BTreeMap<(String, String), &Value> = BTreeMap::new();
        for list in [item.get("parameters"), operation.get("parameters")] {
            for parameter in list.and_then(Value::as_array).into_iter().flatten() {
                let parameter = self.resolve(parameter, errors);
                let key = (
                    parameter
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    parameter
                        .get("in")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                );
                by_key.insert(key, parameter);
            }
        }
        by_key.into_values().collect()
    }

    fn check_body(&self, operation: &Value, request: &RequestParts<'_>, errors: &mut Vec<String>) {
        let Some(body_spec) = operation.get("requestBody") else {
            if !request.body.is_empty() {
                errors.push("the operation takes no request body, but one was sent".into());
            }
            return;
        };
        let body_spec = self.resolve(body_spec, errors);
        if request.body.is_empty() {
            if body_spec.get("required").and_then(Value::as_bool) == Some(true) {
                errors.push("the request body is required".into());
            }
            return;
        }
        let content_type = request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| media_type(v));
        let Some(content_type) = content_type else {
            errors.push("a body was sent without a Content-Type".into());
            return;
        };
        let content = body_spec.get("content").and_then(Value::as_object);
        let Some((_, media)) = content
            .into_iter()
            .flatten()
            .find(|(declared, _)| media_matches(declared, &content_type))
        else {
            let declared: Vec<&String> = content.into_iter().flat_map(|c| c.keys()).collect();
            errors.push(format!(
                "Content-Type {content_type} is not one of the declared {declared:?}"
            ));
            return;
        };
        let Some(schema) = media.get("schema") else {
            return;
        };
        if !content_type.contains("json") {
            errors.push(format!("cannot validate a {content_type} body"));
            return;
        }
        match serde_json::from_slice::<Value>(request.body) {
            Ok(value) => self.check(&value, schema, "body", 0, errors),
            Err(e) => errors.push(format!("the body is not valid JSON: {e}")),
        }
    }

    /// Follows `$ref`s of a parameter, request body or response object.
    fn resolve<'a>(&'a self, mut value: &'a Value, errors: &mut Vec<String>) -> &'a Value {
        for _ in 0..MAX_DEPTH {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return value;
            };
            match self.lookup(reference) {
                Some(target) => value = target,
                None => {
                    errors.push(format!("unresolvable $ref {reference}"));
                    return &Value::Null;
                }
            }
        }
        errors.push("a $ref cycle".into());
        &Value::Null
    }

    fn lookup(&self, reference: &str) -> Option<&Value> {
        let pointer = reference.strip_prefix('#')?;
        self.doc.pointer(pointer)
    }

    /// Path, query and header values are text; they are checked against the schema after the
    /// conversion the server does (numbers, booleans, comma lists for `explode: false` arrays).
    fn check_text_values(
        &self,
        values: &[String],
        schema: &Value,
        at: &str,
        errors: &mut Vec<String>,
    ) {
        let resolved = self.flatten_type(schema, errors);
        if resolved.as_deref() == Some("array") {
            let items: Vec<Value> = values
                .iter()
                .flat_map(|v| v.split(','))
                .map(|v| Value::String(v.to_owned()))
                .collect();
            let item_schema = self.array_items(schema, errors);
            for (i, item) in items.iter().enumerate() {
                if let Value::String(text) = item {
                    self.check_text(text, &item_schema, &format!("{at}[{i}]"), errors);
                }
            }
            return;
        }
        if values.len() > 1 {
            errors.push(format!("{at} is given {} times", values.len()));
        }
        self.check_text(&values[0], schema, at, errors);
    }

    fn check_text(&self, text: &str, schema: &Value, at: &str, errors: &mut Vec<String>) {
        let value = match self.flatten_type(schema, errors).as_deref() {
            Some("integer") => match text.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    errors.push(format!("{at}: `{text}` is not an integer"));
                    return;
                }
            },
            Some("number") => match text
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
            {
                Some(n) => Value::Number(n),
                None => {
                    errors.push(format!("{at}: `{text}` is not a number"));
                    return;
                }
            },
            Some("boolean") => match text.to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    errors.push(format!("{at}: `{text}` is not a boolean"));
                    return;
                }
            },
            _ => Value::String(text.to_owned()),
        };
        self.check(&value, schema, at, 0, errors);
    }

    /// The `type` a schema ends up with through `$ref` and `allOf`, if any.
    fn flatten_type(&self, schema: &Value, errors: &mut Vec<String>) -> Option<String> {
        let schema = self.resolve(schema, errors);
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            return Some(t.to_owned());
        }
        schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find_map(|part| self.flatten_type(part, errors))
    }

    fn array_items(&self, schema: &Value, errors: &mut Vec<String>) -> Value {
        let schema = self.resolve(schema, errors);
        if let Some(items) = schema.get("items") {
            return items.clone();
        }
        schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|part| self.array_items(part, errors))
            .find(|items| !items.is_null())
            .unwrap_or(Value::Null)
    }
}

/// The media type without parameters, lower case.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// `declared` may be a range like `application/*+json` or `*/*`.
fn media_matches(declared: &str, actual: &str) -> bool {
    let declared = declared.to_ascii_lowercase();
    if declared == actual || declared == "*/*" {
        return true;
    }
    let (Some((d_type, d_sub)), Some((a_type, a_sub))) =
        (declared.split_once('/'), actual.split_once('/'))
    else {
        return false;
    };
    if d_type != a_type {
        return false;
    }
    match d_sub.strip_prefix('*') {
        Some(suffix) => a_sub.ends_with(suffix),
        None => false,
    }
}

/// `application/x-www-form-urlencoded`-style query parsing.
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name, true), percent_decode(value, true))
        })
        .collect()
}

/// Percent-decoding; `plus_is_space` for query strings. Invalid escapes are kept as they are.
pub fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

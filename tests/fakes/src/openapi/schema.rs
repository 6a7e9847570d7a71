//! Validation of a JSON value against an OpenAPI 3.0 schema object: the keywords and formats
//! listed in the parent module's documentation, with its deliberate departures (32-hex GUIDs for
//! `format: uuid`, `readOnly` allowed in requests).

use serde_json::Value;

use super::{MAX_DEPTH, OpenApi};

/// Schema keywords that do not constrain a value.
const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "default",
    "example",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "discriminator",
    "externalDocs",
    "xml",
];

/// Keywords this validator checks.
const CHECKED: &[&str] = &[
    "$ref",
    "allOf",
    "oneOf",
    "anyOf",
    "type",
    "nullable",
    "enum",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minLength",
    "maxLength",
    "uniqueItems",
    "minimum",
    "maximum",
    "format",
];

impl OpenApi {
    /// Validates `value` against `schema`, adding violations to `errors`.
    pub(super) fn check(
        &self,
        value: &Value,
        schema: &Value,
        at: &str,
        depth: usize,
        errors: &mut Vec<String>,
    ) {
        if depth > MAX_DEPTH {
            errors.push(format!("{at}: schema nesting too deep (a $ref cycle?)"));
            return;
        }
        let Some(object) = schema.as_object() else {
            // `true`/absent schema: anything goes.
            return;
        };
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            // OpenAPI 3.0: siblings of `$ref` are ignored.
            match self.lookup(reference) {
                Some(target) => self.check(value, target, at, depth + 1, errors),
                None => errors.push(format!("{at}: unresolvable $ref {reference}")),
            }
            return;
        }
        for keyword in object.keys() {
            if !CHECKED.contains(&keyword.as_str())
                && !ANNOTATIONS.contains(&keyword.as_str())
                && !keyword.starts_with("x-")
            {
                errors.push(format!(
                    "{at}: the schema uses `{keyword}`, which this validator does not check; \
                     extend tests/fakes/src/openapi.rs"
                ));
            }
        }
        if value.is_null() && object.get("nullable").and_then(Value::as_bool) == Some(true) {
            return;
        }
        if let Some(parts) = object.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.check(value, part, at, depth + 1, errors);
            }
        }
        for (keyword, exactly_one) in [("oneOf", true), ("anyOf", false)] {
            if let Some(parts) = object.get(keyword).and_then(Value::as_array) {
                let passing = parts
                    .iter()
                    .filter(|part| {
                        let mut scratch = Vec::new();
                        self.check(value, part, at, depth + 1, &mut scratch);
                        scratch.is_empty()
                    })
                    .count();
                let ok = if exactly_one {
                    passing == 1
                } else {
                    passing >= 1
                };
                if !ok {
                    errors.push(format!(
                        "{at}: matches {passing} of the {} `{keyword}` alternatives",
                        parts.len()
                    ));
                }
            }
        }
        if let Some(allowed) = object.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            errors.push(format!(
                "{at}: {value} is not one of {}",
                Value::from(allowed.clone())
            ));
        }
        if object.get("type").is_some_and(Value::is_array) {
            errors.push(format!(
                "{at}: a list of types (OpenAPI 3.1) cannot be judged by this validator"
            ));
            return;
        }
        let Some(kind) = object.get("type").and_then(Value::as_str) else {
            return;
        };
        let fits = match (kind, value) {
            (_, Value::Null) => false,
            ("string", Value::String(_))
            | ("boolean", Value::Bool(_))
            | ("object", Value::Object(_))
            | ("array", Value::Array(_))
            | ("number", Value::Number(_)) => true,
            ("integer", Value::Number(n)) => n.is_i64() || n.is_u64(),
            _ => false,
        };
        if !fits {
            errors.push(format!("{at}: expected {kind}, found {}", kind_of(value)));
            return;
        }
        match value {
            Value::String(text) => self.check_string(text, object, at, errors),
            Value::Number(number) => check_number(number, object, at, errors),
            Value::Array(items) => {
                if let Some(item_schema) = object.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item, item_schema, &format!("{at}[{i}]"), depth + 1, errors);
                    }
                }
                if object.get("uniqueItems").and_then(Value::as_bool) == Some(true)
                    && let Some(i) = (1..items.len()).find(|i| items[..*i].contains(&items[*i]))
                {
                    errors.push(format!("{at}[{i}]: repeats an earlier item (uniqueItems)"));
                }
            }
            Value::Object(map) => {
                let properties = object.get("properties").and_then(Value::as_object);
                for required in object
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if !map.contains_key(required) {
                        errors.push(format!("{at}: required property `{required}` is missing"));
                    }
                }
                for (key, item) in map {
                    let child = format!("{at}.{key}");
                    match properties.and_then(|p| p.get(key)) {
                        Some(property) => self.check(item, property, &child, depth + 1, errors),
                        None => match object.get("additionalProperties") {
                            Some(Value::Bool(false)) => {
                                errors.push(format!("{at}: property `{key}` is not in the schema"))
                            }
                            Some(extra @ Value::Object(_)) => {
                                self.check(item, extra, &child, depth + 1, errors);
                            }
                            _ => {}
                        },
                    }
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    fn check_string(
        &self,
        text: &str,
        schema: &serde_json::Map<String, Value>,
        at: &str,
        errors: &mut Vec<String>,
    ) {
        let length = text.chars().count();
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && (length as u64) < min
        {
            errors.push(format!("{at}: shorter than {min} characters"));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && (length as u64) > max
        {
            errors.push(format!("{at}: longer than {max} characters"));
        }
        let ok = match schema.get("format").and_then(Value::as_str) {
            Some("uuid") => is_guid(text),
            Some("date-time") => is_date_time(text),
            _ => true,
        };
        if !ok {
            let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
            errors.push(format!("{at}: `{text}` is not a valid {format}"));
        }
    }
}

fn check_number(
    number: &serde_json::Number,
    schema: &serde_json::Map<String, Value>,
    at: &str,
    errors: &mut Vec<String>,
) {
    let value = number.as_f64().unwrap_or(f64::NAN);
    let range = match schema.get("format").and_then(Value::as_str) {
        Some("int32") => Some((f64::from(i32::MIN), f64::from(i32::MAX))),
        Some("int64") => Some((i64::MIN as f64, i64::MAX as f64)),
        _ => None,
    };
    if let Some((low, high)) = range
        && !(low..=high).contains(&value)
    {
        errors.push(format!("{at}: {number} does not fit the declared format"));
    }
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
        && value < min
    {
        errors.push(format!("{at}: {number} is below the minimum {min}"));
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
        && value > max
    {
        errors.push(format!("{at}: {number} is above the maximum {max}"));
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A GUID in the dashed `8-4-4-4-12` form or, deliberately (see the module docs), the 32-hex
/// form Jellyfin writes.
pub fn is_guid(text: &str) -> bool {
    let bytes = text.as_bytes();
    match bytes.len() {
        32 => bytes.iter().all(u8::is_ascii_hexdigit),
        36 => bytes.iter().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        }),
        _ => false,
    }
}

/// RFC 3339 `date-time` (full-date `T` full-time with offset), loosely: the digits and
/// separators in place, any fraction, `Z` or `±hh:mm`.
pub(super) fn is_date_time(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() < 20 {
        return false;
    }
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let fixed = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
        .iter()
        .all(|&i| digit(i));
    if !fixed
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    matches!(rest, [b'Z' | b'z'])
        || matches!(rest, [b'+' | b'-', h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()))
}

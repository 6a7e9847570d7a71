//! The OpenAPI document as the real daemon serves it, held against the real daemon's behaviour:
//! a walk through every documented operation (setup, sign-in with TOTP, API keys, sessions, the
//! audit log, plugins, a Jellyfin and a Plex server on the fakes, invitations, the join flow with
//! a PIN link, users and identities) checks each request body against the documented request
//! schema and each answer against the documented responses: the status must be documented, the
//! JSON body must match its schema — with no undocumented properties — and an error's code must
//! be one the document lists for that status. The walk must reach every operation.
//!
//! The schema check covers the JSON Schema keywords the generated document uses (`$ref`, `type`,
//! `enum`, `oneOf`, `anyOf`, `allOf`, `properties`, `required`, `additionalProperties`, `items`,
//! `minimum`, `maximum`); any other keyword fails the test, so a schema it cannot judge never
//! passes silently. Objects are closed: a property the schema (with its `allOf` parts) does not
//! name is a violation, which is how a renamed or added field without documentation shows up.

use crate::support::{Daemon, client};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};
use zondarr_fakes::jellyfin::JellyfinFake;
use zondarr_fakes::plex::PlexFake;

const PASSWORD: &str = "correct-violet-kettle-42";
const NEW_PASSWORD: &str = "another-violet-kettle-43";

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
const CHECKED: &[&str] = &[
    "$ref",
    "type",
    "enum",
    "oneOf",
    "anyOf",
    "allOf",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "format",
    "propertyNames",
    "minItems",
    "maxItems",
    "minProperties",
];
/// Keywords this walk does not judge: `pattern` needs a regular-expression engine (the
/// property-based run, `.ci/schemathesis.py`, checks every pattern against the daemon), and
/// `contentMediaType` only says what a string holds.
const CHECKED_ELSEWHERE: &[&str] = &["pattern", "contentMediaType"];
const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "default",
    "example",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// The served document, with lookups by concrete request.
struct Contract {
    doc: Value,
}

impl Contract {
    /// The template and operation for a concrete path: of the matching templates, the one with
    /// the most literal segments (`/servers/test` before `/servers/{id}`).
    fn operation(&self, method: &str, path: &str) -> Option<(String, &Value)> {
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, &String)> = None;
        for template in self.doc["paths"].as_object()?.keys() {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let fits = parts
                .iter()
                .zip(&segments)
                .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s);
            let literals = parts.iter().filter(|t| !t.starts_with('{')).count();
            if fits && best.is_none_or(|(n, _)| literals > n) {
                best = Some((literals, template));
            }
        }
        let (_, template) = best?;
        let op = self.doc["paths"][template].get(method)?;
        Some((template.clone(), op))
    }

    fn resolve(&self, reference: &str) -> Option<&Value> {
        self.doc.pointer(reference.strip_prefix('#')?)
    }

    /// Property names an object schema names, through `$ref` and `allOf`.
    fn known_properties(&self, schema: &Value, out: &mut BTreeSet<String>, depth: usize) {
        if depth > 32 {
            return;
        }
        if let Some(target) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| self.resolve(r))
        {
            self.known_properties(target, out, depth + 1);
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            out.extend(props.keys().cloned());
        }
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.known_properties(part, out, depth + 1);
        }
    }

    /// Check `value` against `schema`. `closed`: unknown object properties are violations (off
    /// for the parts of an `allOf`, whose union is checked by the `allOf` itself).
    fn check(
        &self,
        value: &Value,
        schema: &Value,
        at: &str,
        closed: bool,
        errors: &mut Vec<String>,
        depth: usize,
    ) {
        if depth > 64 {
            errors.push(format!("{at}: schema nesting too deep"));
            return;
        }
        let Some(schema_map) = schema.as_object() else {
            return;
        };
        for keyword in schema_map.keys() {
            if !CHECKED.contains(&keyword.as_str())
                && !ANNOTATIONS.contains(&keyword.as_str())
                && !CHECKED_ELSEWHERE.contains(&keyword.as_str())
                && !keyword.starts_with("x-")
            {
                errors.push(format!("{at}: schema keyword `{keyword}` is not checked by this test; extend tests/it/openapi.rs"));
            }
        }
        if let Some(reference) = schema_map.get("$ref").and_then(Value::as_str) {
            match self.resolve(reference) {
                Some(target) => self.check(value, target, at, closed, errors, depth + 1),
                None => errors.push(format!("{at}: unresolvable $ref {reference}")),
            }
        }
        if let Some(types) = schema_map.get("type") {
            let types: Vec<&str> = match types {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let fits = types.iter().any(|t| match *t {
                "null" => value.is_null(),
                "boolean" => value.is_boolean(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "string" => value.is_string(),
                "array" => value.is_array(),
                "object" => value.is_object(),
                _ => false,
            });
            if !fits {
                errors.push(format!("{at}: {} is not of type {types:?}", short(value)));
                return;
            }
        }
        if let Some(text) = value.as_str() {
            let chars = text.chars().count() as u64;
            if let Some(min) = schema_map.get("minLength").and_then(Value::as_u64)
                && chars < min
            {
                errors.push(format!("{at}: {} is shorter than {min}", short(value)));
            }
            if let Some(max) = schema_map.get("maxLength").and_then(Value::as_u64)
                && chars > max
            {
                errors.push(format!("{at}: {} is longer than {max}", short(value)));
            }
        }
        if let Some(items) = value.as_array() {
            let n = items.len() as u64;
            if let Some(min) = schema_map.get("minItems").and_then(Value::as_u64)
                && n < min
            {
                errors.push(format!("{at}: {n} items, fewer than {min}"));
            }
            if let Some(max) = schema_map.get("maxItems").and_then(Value::as_u64)
                && n > max
            {
                errors.push(format!("{at}: {n} items, more than {max}"));
            }
        }
        if let Some(object) = value.as_object()
            && let Some(min) = schema_map.get("minProperties").and_then(Value::as_u64)
            && (object.len() as u64) < min
        {
            errors.push(format!("{at}: fewer than {min} properties"));
        }
        if let Some(allowed) = schema_map.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            errors.push(format!(
                "{at}: {} is not one of {}",
                short(value),
                Value::from(allowed.clone())
            ));
        }
        for (keyword, exactly_one) in [("oneOf", true), ("anyOf", false)] {
            if let Some(parts) = schema_map.get(keyword).and_then(Value::as_array) {
                let passing = parts
                    .iter()
                    .filter(|part| {
                        let mut scratch = Vec::new();
                        self.check(value, part, at, closed, &mut scratch, depth + 1);
                        scratch.is_empty()
                    })
                    .count();
                if (exactly_one && passing != 1) || passing == 0 {
                    errors.push(format!(
                        "{at}: {} matches {passing} of the {} `{keyword}` alternatives",
                        short(value),
                        parts.len()
                    ));
                }
            }
        }
        if let Some(parts) = schema_map.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.check(value, part, at, false, errors, depth + 1);
            }
            if closed && let Some(object) = value.as_object() {
                let mut known = BTreeSet::new();
                self.known_properties(schema, &mut known, 0);
                for key in object.keys().filter(|k| !known.contains(*k)) {
                    errors.push(format!("{at}: property `{key}` is not documented"));
                }
            }
        }
        if let Some(number) = value.as_f64() {
            if schema_map
                .get("minimum")
                .and_then(Value::as_f64)
                .is_some_and(|m| number < m)
            {
                errors.push(format!("{at}: {number} is below the minimum"));
            }
            if schema_map
                .get("maximum")
                .and_then(Value::as_f64)
                .is_some_and(|m| number > m)
            {
                errors.push(format!("{at}: {number} is above the maximum"));
            }
        }
        if let Some(items) = schema_map.get("items")
            && let Some(array) = value.as_array()
        {
            for (i, item) in array.iter().enumerate() {
                self.check(item, items, &format!("{at}[{i}]"), true, errors, depth + 1);
            }
        }
        let Some(object) = value.as_object() else {
            return;
        };
        if let Some(required) = schema_map.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(name) {
                    errors.push(format!("{at}: required property `{name}` is missing"));
                }
            }
        }
        let properties = schema_map.get("properties").and_then(Value::as_object);
        for (key, v) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(property) => {
                    self.check(v, property, &format!("{at}.{key}"), true, errors, depth + 1)
                }
                None => match schema_map.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        errors.push(format!("{at}: property `{key}` is not allowed"))
                    }
                    Some(extra @ Value::Object(_)) => {
                        self.check(v, extra, &format!("{at}.{key}"), true, errors, depth + 1)
                    }
                    // A closed object names every property: one the schema leaves out is undocumented.
                    None if closed && properties.is_some() && !schema_map.contains_key("allOf") => {
                        errors.push(format!("{at}: property `{key}` is not documented"));
                    }
                    _ => {}
                },
            }
        }
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 120 {
        format!(
            "{}…",
            &text[..text.char_indices().nth(117).map_or(text.len(), |(i, _)| i)]
        )
    } else {
        text
    }
}

/// How a request authenticates.
#[derive(Clone, Copy)]
enum As {
    Anonymous,
    /// The admin's browser session: cookie plus CSRF token.
    Browser,
    /// The admin API key.
    Key,
}

/// A client that checks every exchange against the contract and records what it covered.
struct Walk {
    http: reqwest::Client,
    base: String,
    contract: Contract,
    cookie: Option<String>,
    csrf: Option<String>,
    key: Option<String>,
    covered: BTreeSet<String>,
    violations: Vec<String>,
    /// Set while a `fails` call runs: its body is not held to the request schema.
    request_may_be_invalid: bool,
}

impl Walk {
    async fn call(
        &mut self,
        who: As,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let lower = method.as_str().to_ascii_lowercase();
        let bare = path.split('?').next().unwrap_or(path);
        let found = self
            .contract
            .operation(&lower, bare)
            .map(|(t, op)| (t, op.clone()));
        let Some((template, op)) = found else {
            self.violations
                .push(format!("{method} {bare}: no documented operation"));
            return (StatusCode::IM_A_TEAPOT, Value::Null);
        };
        let at = format!("{method} {template}");
        self.covered.insert(at.clone());

        let mut req = self.http.request(method, format!("{}{path}", self.base));
        match who {
            As::Anonymous => {}
            As::Browser => {
                req = req
                    .header("cookie", self.cookie.clone().unwrap())
                    .header("x-csrf-token", self.csrf.clone().unwrap());
            }
            As::Key => req = req.bearer_auth(self.key.clone().unwrap()),
        }
        if let Some(b) = &body {
            match op["requestBody"]["content"]["application/json"]["schema"].clone() {
                Value::Null => self
                    .violations
                    .push(format!("{at}: sent a JSON body, but none is documented")),
                _ if self.request_may_be_invalid => {}
                schema => {
                    let mut errors = Vec::new();
                    self.contract
                        .check(b, &schema, "request", true, &mut errors, 0);
                    self.violations
                        .extend(errors.into_iter().map(|e| format!("{at}: {e}")));
                }
            }
            req = req.json(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        for v in resp.headers().get_all("set-cookie") {
            let pair = v.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = if pair.ends_with('=') {
                None
            } else {
                Some(pair)
            };
        }
        let text = resp.text().await.unwrap();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);

        let Some(documented) = op["responses"].get(status.as_str()) else {
            self.violations.push(format!(
                "{at}: answered {status}, which is not documented: {}",
                short(&value)
            ));
            return (status, value);
        };
        let schema = &documented["content"]["application/json"]["schema"];
        if text.is_empty() {
            if !schema.is_null() {
                self.violations
                    .push(format!("{at}: {status} has no body, but one is documented"));
            }
        } else if schema.is_null() {
            self.violations
                .push(format!("{at}: {status} has a body, but none is documented"));
        } else {
            if !content_type.starts_with("application/json") {
                self.violations.push(format!(
                    "{at}: {status} answered with content type {content_type:?}"
                ));
            }
            let mut errors = Vec::new();
            self.contract
                .check(&value, schema, "response", true, &mut errors, 0);
            self.violations
                .extend(errors.into_iter().map(|e| format!("{at} {status}: {e}")));
        }
        if status.is_client_error() || status.is_server_error() {
            let code = value["error"]["code"].clone();
            let listed = documented["x-error-codes"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !listed.contains(&code) {
                self.violations.push(format!(
                    "{at}: answered {status} {code}, but the document lists {listed:?} for it"
                ));
            }
        }
        (status, value)
    }

    async fn ok(
        &mut self,
        who: As,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected: u16,
    ) -> Value {
        let (status, value) = self.call(who, method.clone(), path, body).await;
        assert_eq!(status.as_u16(), expected, "{method} {path}: {value}");
        value
    }

    /// A GET whose successful answer is not JSON (`/metrics`, the log stream): the status must
    /// be documented and the content type one the document lists for it. Returns the first
    /// chunk of the body (a stream is not read further).
    async fn non_json(&mut self, who: As, path: &str, expected: u16) -> String {
        let bare = path.split('?').next().unwrap_or(path);
        let (template, op) = self
            .contract
            .operation("get", bare)
            .map(|(t, op)| (t, op.clone()))
            .unwrap_or_else(|| panic!("GET {bare}: no documented operation"));
        let at = format!("GET {template}");
        self.covered.insert(at.clone());
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let As::Key = who {
            req = req.bearer_auth(self.key.clone().unwrap());
        }
        let mut resp = req.send().await.unwrap();
        let status = resp.status();
        assert_eq!(status.as_u16(), expected, "{at}");
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let documented: Vec<String> = op["responses"][status.as_str()]["content"]
            .as_object()
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default();
        if !documented
            .iter()
            .any(|t| content_type.starts_with(t.as_str()))
        {
            self.violations.push(format!(
                "{at}: {status} answered with content type {content_type:?}, documented {documented:?}"
            ));
        }
        let first = tokio::time::timeout(std::time::Duration::from_secs(10), resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("{at}: no body within 10 s"))
            .unwrap()
            .unwrap_or_default();
        String::from_utf8_lossy(&first).into_owned()
    }

    async fn fails(
        &mut self,
        who: As,
        method: Method,
        path: &str,
        body: Option<Value>,
        code: &str,
    ) {
        // A request meant to fail may break the documented request schema: that it is refused is
        // what the document promises.
        self.request_may_be_invalid = true;
        let (status, value) = self.call(who, method.clone(), path, body).await;
        self.request_may_be_invalid = false;
        assert_eq!(
            value["error"]["code"], code,
            "{method} {path}: {status} {value}"
        );
    }
}

fn totp_code(secret_b32: &str, unix: u64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret_b32.to_owned())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, "t".into())
        .unwrap()
        .generate(unix)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_the_served_document_says() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let resp = client()
        .get(daemon.at("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let doc: Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    assert_eq!(doc["info"]["title"], "Zondarr");
    let all: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();

    let mut w = Walk {
        http: client(),
        base: daemon.url.clone(),
        contract: Contract { doc },
        cookie: None,
        csrf: None,
        key: None,
        covered: BTreeSet::new(),
        violations: Vec::new(),
        request_may_be_invalid: false,
    };
    use As::{Anonymous, Browser, Key};
    use Method as M;

    // Public: probes, the document itself, setup and sign-in.
    w.ok(Anonymous, M::GET, "/health/live", None, 200).await;
    w.ok(Anonymous, M::GET, "/health/ready", None, 200).await;
    w.ok(Anonymous, M::GET, "/api/v1/openapi.json", None, 200)
        .await;
    w.ok(Anonymous, M::GET, "/api/v1/setup", None, 200).await;
    let metrics = w.non_json(Anonymous, "/metrics", 200).await;
    assert!(metrics.starts_with("# HELP "), "{metrics}");
    w.fails(Anonymous, M::GET, "/api/v1/plugins", None, "SETUP_REQUIRED")
        .await;
    w.fails(
        Anonymous,
        M::POST,
        "/api/v1/setup",
        Some(json!({ "username": "alice", "password": "short" })),
        "VALIDATION_FAILED",
    )
    .await;
    let admin = w
        .ok(
            Anonymous,
            M::POST,
            "/api/v1/setup",
            Some(json!({ "username": "alice", "password": PASSWORD, "public_url": daemon.url })),
            201,
        )
        .await;
    w.csrf = Some(admin["csrf_token"].as_str().unwrap().to_owned());
    w.fails(
        Anonymous,
        M::POST,
        "/api/v1/setup",
        Some(json!({ "username": "bob", "password": PASSWORD })),
        "SETUP_ALREADY_DONE",
    )
    .await;
    w.fails(
        Anonymous,
        M::POST,
        "/api/v1/auth/login",
        Some(json!({ "username": "alice", "password": "wrong-password-here" })),
        "INVALID_CREDENTIALS",
    )
    .await;
    // Sign-in through a media server: none is enabled yet.
    w.ok(Anonymous, M::GET, "/api/v1/auth/servers", None, 200)
        .await;
    w.fails(
        Anonymous,
        M::POST,
        "/api/v1/auth/login/server/999",
        Some(json!({ "username": "admin", "password": "whatever-password" })),
        "NOT_FOUND",
    )
    .await;
    w.fails(
        Anonymous,
        M::POST,
        "/api/v1/auth/login/server/999/oauth",
        None,
        "NOT_FOUND",
    )
    .await;
    w.fails(
        Anonymous,
        M::POST,
        "/api/v1/auth/login/server/999/oauth/poll",
        Some(json!({ "challenge": "unknown" })),
        "INVALID_CREDENTIALS",
    )
    .await;
    w.fails(
        Anonymous,
        M::GET,
        "/api/v1/auth/me",
        None,
        "UNAUTHENTICATED",
    )
    .await;

    // The admin: API keys, current admin, TOTP, sessions, audit.
    let me = w.ok(Browser, M::GET, "/api/v1/auth/me", None, 200).await;
    assert_eq!(me["auth"]["kind"], "session");
    let key = w
        .ok(
            Browser,
            M::POST,
            "/api/v1/api-keys",
            Some(json!({ "name": "walk", "scope": "admin", "current_password": PASSWORD })),
            201,
        )
        .await;
    w.key = Some(key["key"].as_str().unwrap().to_owned());
    let read_key = w
        .ok(
            Key,
            M::POST,
            "/api/v1/api-keys",
            Some(
                json!({ "name": "reader", "scope": "read", "expires_at": "2099-01-01T00:00:00Z", "current_password": PASSWORD }),
            ),
            201,
        )
        .await;
    w.fails(
        Key,
        M::POST,
        "/api/v1/api-keys",
        Some(json!({ "name": "", "scope": "root" })),
        "VALIDATION_FAILED",
    )
    .await;
    w.fails(
        Key,
        M::POST,
        "/api/v1/api-keys",
        Some(json!({ "name": "minted", "scope": "admin", "current_password": PASSWORD })),
        "ADMIN_KEY_FROM_KEY",
    )
    .await;
    w.fails(
        Key,
        M::POST,
        "/api/v1/api-keys",
        Some(json!({ "name": "minted", "scope": "read" })),
        "STEP_UP_REQUIRED",
    )
    .await;
    w.ok(Key, M::GET, "/api/v1/api-keys?per_page=10", None, 200)
        .await;
    w.ok(
        Key,
        M::GET,
        &format!("/api/v1/api-keys/{}", id(&key)),
        None,
        200,
    )
    .await;
    w.fails(
        Key,
        M::DELETE,
        &format!("/api/v1/api-keys/{}", id(&read_key)),
        Some(json!({})),
        "STEP_UP_REQUIRED",
    )
    .await;
    w.ok(
        Key,
        M::DELETE,
        &format!("/api/v1/api-keys/{}", id(&read_key)),
        Some(json!({ "current_password": PASSWORD })),
        204,
    )
    .await;
    w.fails(
        Key,
        M::DELETE,
        &format!("/api/v1/api-keys/{}", id(&read_key)),
        Some(json!({ "current_password": PASSWORD })),
        "CONFLICT",
    )
    .await;
    w.fails(Key, M::GET, "/api/v1/api-keys/999999", None, "NOT_FOUND")
        .await;
    let me = w.ok(Key, M::GET, "/api/v1/auth/me", None, 200).await;
    assert_eq!(me["auth"]["kind"], "api_key");

    w.fails(
        Browser,
        M::POST,
        "/api/v1/auth/totp/setup",
        Some(json!({ "current_password": "not-the-password" })),
        "STEP_UP_REQUIRED",
    )
    .await;
    let enrol = w
        .ok(
            Browser,
            M::POST,
            "/api/v1/auth/totp/setup",
            Some(json!({ "current_password": PASSWORD })),
            200,
        )
        .await;
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    w.fails(
        Browser,
        M::POST,
        "/api/v1/auth/totp/confirm",
        Some(json!({ "code": "000000" })),
        "VALIDATION_FAILED",
    )
    .await;
    let t = now();
    let confirmed = w
        .ok(
            Browser,
            M::POST,
            "/api/v1/auth/totp/confirm",
            Some(json!({ "code": totp_code(&secret, t) })),
            200,
        )
        .await;
    let backup = confirmed["backup_codes"].clone();
    w.fails(
        Browser,
        M::POST,
        "/api/v1/auth/totp/setup",
        Some(json!({ "current_password": PASSWORD })),
        "CONFLICT",
    )
    .await;
    let browser = (w.cookie.clone(), w.csrf.clone());
    let step = w
        .ok(
            Anonymous,
            M::POST,
            "/api/v1/auth/login",
            Some(json!({ "username": "alice", "password": PASSWORD })),
            200,
        )
        .await;
    let challenge = step["challenge"].as_str().unwrap().to_owned();
    w.fails(
        Anonymous,
        M::POST,
        "/api/v1/auth/totp",
        Some(json!({ "challenge": challenge, "code": "000000" })),
        "INVALID_SECOND_FACTOR",
    )
    .await;
    w.ok(
        Anonymous,
        M::POST,
        "/api/v1/auth/totp",
        Some(json!({ "challenge": challenge, "code": totp_code(&secret, t + 30) })),
        200,
    )
    .await;
    (w.cookie, w.csrf) = browser; // back to the first session
    let codes = w
        .ok(
            Browser,
            M::POST,
            "/api/v1/auth/totp/backup-codes",
            Some(json!({ "password": PASSWORD })),
            200,
        )
        .await;
    assert_ne!(codes["backup_codes"], backup);
    w.fails(
        Browser,
        M::POST,
        "/api/v1/auth/totp/disable",
        Some(json!({ "password": PASSWORD, "code": "123456" })),
        "INVALID_SECOND_FACTOR",
    )
    .await;
    w.ok(
        Browser,
        M::POST,
        "/api/v1/auth/totp/disable",
        Some(json!({ "password": PASSWORD, "code": codes["backup_codes"][0] })),
        200,
    )
    .await;

    let sessions = w.ok(Browser, M::GET, "/api/v1/sessions", None, 200).await;
    let other = sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .map(id)
        .unwrap();
    w.ok(
        Browser,
        M::DELETE,
        &format!("/api/v1/sessions/{other}"),
        None,
        204,
    )
    .await;
    w.fails(
        Browser,
        M::DELETE,
        &format!("/api/v1/sessions/{other}"),
        None,
        "NOT_FOUND",
    )
    .await;
    w.ok(Browser, M::DELETE, "/api/v1/sessions", None, 200)
        .await;
    w.ok(
        Key,
        M::GET,
        "/api/v1/audit?action=auth.&per_page=100",
        None,
        200,
    )
    .await;
    w.fails(
        Key,
        M::GET,
        "/api/v1/audit?outcome=maybe",
        None,
        "VALIDATION_FAILED",
    )
    .await;
    w.fails(Key, M::GET, "/api/v1/audit?per_page=x", None, "BAD_REQUEST")
        .await;

    // The log stream (server-sent events; the first chunk is the one backfilled event).
    let first = w
        .non_json(Key, "/api/v1/logs/stream?level=info&backfill=1", 200)
        .await;
    assert!(first.contains("data: {"), "{first}");
    w.fails(
        Key,
        M::GET,
        "/api/v1/logs/stream?level=loud",
        None,
        "VALIDATION_FAILED",
    )
    .await;

    // Plugins.
    w.ok(Key, M::GET, "/api/v1/plugins", None, 200).await;
    w.ok(Key, M::GET, "/api/v1/plugins/jellyfin", None, 200)
        .await;
    w.ok(Key, M::GET, "/api/v1/plugins/plex", None, 200).await;
    w.fails(
        Key,
        M::GET,
        "/api/v1/plugins/nope",
        None,
        "PLUGIN_NOT_FOUND",
    )
    .await;
    w.ok(Key, M::POST, "/api/v1/plugins/rescan", None, 200)
        .await;
    // Nothing waits for approval in this walk (the approval flow is in plugins::sandbox).
    w.fails(
        Key,
        M::POST,
        "/api/v1/plugins/jellyfin/approve",
        None,
        "CONFLICT",
    )
    .await;
    w.fails(
        Key,
        M::POST,
        "/api/v1/plugins/nope/approve",
        None,
        "PLUGIN_NOT_FOUND",
    )
    .await;
    w.fails(
        Key,
        M::POST,
        "/api/v1/plugins/jellyfin/refuse",
        None,
        "CONFLICT",
    )
    .await;
    w.fails(
        Key,
        M::POST,
        "/api/v1/plugins/nope/refuse",
        None,
        "PLUGIN_NOT_FOUND",
    )
    .await;

    // Servers on the fakes.
    let jellyfin = JellyfinFake::start().await;
    let input = json!({ "name": "Jelly", "kind": "jellyfin", "url": jellyfin.base_url(), "config": { "api_key": jellyfin.api_key() } });
    w.ok(
        Key,
        M::POST,
        "/api/v1/servers/test",
        Some(input.clone()),
        200,
    )
    .await;
    w.fails(Key, M::POST, "/api/v1/servers/test", Some(json!({ "kind": "jellyfin", "url": jellyfin.base_url(), "config": { "api_key": "wrong" } })), "REMOTE_UNAUTHORIZED").await;
    let server = w
        .ok(Key, M::POST, "/api/v1/servers", Some(input.clone()), 201)
        .await;
    w.fails(Key, M::POST, "/api/v1/servers", Some(input), "CONFLICT")
        .await;
    w.fails(
        Key,
        M::POST,
        "/api/v1/servers",
        Some(json!({ "name": "X", "kind": "nope", "url": "http://127.0.0.1:1" })),
        "VALIDATION_FAILED",
    )
    .await;
    let server_id = id(&server);
    w.ok(Key, M::GET, "/api/v1/servers", None, 200).await;
    w.ok(
        Key,
        M::GET,
        &format!("/api/v1/servers/{server_id}"),
        None,
        200,
    )
    .await;
    w.ok(
        Key,
        M::PATCH,
        &format!("/api/v1/servers/{server_id}"),
        Some(json!({ "name": "Jellyfin" })),
        200,
    )
    .await;
    w.fails(Key, M::GET, "/api/v1/servers/999999", None, "NOT_FOUND")
        .await;
    let libraries = w
        .ok(
            Key,
            M::GET,
            &format!("/api/v1/servers/{server_id}/libraries"),
            None,
            200,
        )
        .await;
    let library = id(&libraries["items"][0]);

    let plex = PlexFake::start().await;
    let plex_input = json!({
        "name": "Plex",
        "kind": "plex",
        "url": plex.pms_url(),
        "config": { "token": plex.owner_token() },
        "extra_hosts": { "plex-tv": plex.plex_tv_url(), "clients-plex-tv": plex.plex_tv_url() }
    });
    let plex_server = id(&w
        .ok(Key, M::POST, "/api/v1/servers", Some(plex_input), 201)
        .await);

    // Invitations and the join flow.
    let invitation = w
        .ok(
            Key,
            M::POST,
            "/api/v1/invitations",
            Some(json!({
                "code": "walk-2027",
                "servers": [{ "server_id": server_id, "libraries": [library], "permissions": { "allow_downloads": true } }],
                "max_uses": 5,
                "access_duration_days": 30,
                "note": "for the walk"
            })),
            201,
        )
        .await;
    let inv_id = id(&invitation);
    w.fails(
        Key,
        M::POST,
        "/api/v1/invitations",
        Some(json!({ "code": "WALK-2027", "servers": [{ "server_id": server_id }] })),
        "CONFLICT",
    )
    .await;
    w.ok(
        Key,
        M::GET,
        "/api/v1/invitations?status=active&sort=code&order=asc",
        None,
        200,
    )
    .await;
    w.ok(
        Key,
        M::GET,
        &format!("/api/v1/invitations/{inv_id}"),
        None,
        200,
    )
    .await;
    w.ok(
        Key,
        M::PATCH,
        &format!("/api/v1/invitations/{inv_id}"),
        Some(json!({ "note": null, "expires_at": "2099-01-01T00:00:00Z" })),
        200,
    )
    .await;
    w.ok(Anonymous, M::GET, "/api/v1/join/walk-2027", None, 200)
        .await;
    w.fails(
        Anonymous,
        M::GET,
        "/api/v1/join/no-such-code",
        None,
        "INVITE_INVALID",
    )
    .await;
    w.fails(
        Anonymous,
        M::POST,
        "/api/v1/join/walk-2027",
        Some(json!({ "username": "finn", "password": "short" })),
        "VALIDATION_FAILED",
    )
    .await;
    let redeemed = w.ok(Anonymous, M::POST, "/api/v1/join/walk-2027", Some(json!({ "username": "finn", "password": "a fine password", "email": "finn@example.org" })), 201).await;
    let identity = redeemed["identity_id"].as_i64().unwrap();
    let handle = redeemed["handle"].as_str().unwrap().to_owned();
    let polled = w
        .ok(
            Anonymous,
            M::GET,
            &format!("/api/v1/join/walk-2027/redemptions/{handle}"),
            None,
            200,
        )
        .await;
    assert_eq!(polled["identity_id"].as_i64(), Some(identity));
    w.fails(
        Anonymous,
        M::GET,
        "/api/v1/join/walk-2027/redemptions/not-a-handle",
        None,
        "INVITE_INVALID",
    )
    .await;
    w.fails(
        Anonymous,
        M::POST,
        "/api/v1/join/walk-2027",
        Some(json!({ "username": "finn", "password": "a fine password" })),
        "USERNAME_TAKEN",
    )
    .await;
    w.ok(
        Anonymous,
        M::POST,
        "/api/v1/join/walk-2027",
        Some(json!({ "username": "gale", "password": "a fine password" })),
        201,
    )
    .await;

    let plex_invite = json!({ "code": "walk-plex", "servers": [{ "server_id": plex_server }] });
    w.ok(Key, M::POST, "/api/v1/invitations", Some(plex_invite), 201)
        .await;
    w.ok(Anonymous, M::GET, "/api/v1/join/walk-plex", None, 200)
        .await;
    w.fails(
        Anonymous,
        M::POST,
        "/api/v1/join/walk-plex",
        Some(json!({})),
        "LINK_REQUIRED",
    )
    .await;
    let started = w
        .ok(
            Anonymous,
            M::POST,
            "/api/v1/join/walk-plex/oauth/plex",
            None,
            201,
        )
        .await;
    let link = started["link"].as_str().unwrap().to_owned();
    let polled = w
        .ok(
            Anonymous,
            M::GET,
            &format!("/api/v1/join/walk-plex/oauth/plex/{link}"),
            None,
            200,
        )
        .await;
    assert_eq!(polled["status"], "pending");
    w.fails(
        Anonymous,
        M::GET,
        &format!("/api/v1/join/walk-plex/oauth/plex/{link}x"),
        None,
        "NOT_FOUND",
    )
    .await;

    // Wizards: the builder, the invitee's step check, and the redemption it gates.
    let wizard = w
        .ok(
            Key,
            M::POST,
            "/api/v1/wizards",
            Some(json!({ "name": "Walk", "description": "For the walk" })),
            201,
        )
        .await;
    let wid = id(&wizard);
    let wiz = format!("/api/v1/wizards/{wid}");
    w.fails(
        Key,
        M::POST,
        "/api/v1/wizards",
        Some(json!({ "name": "" })),
        "VALIDATION_FAILED",
    )
    .await;
    w.ok(Key, M::GET, "/api/v1/wizards?per_page=10", None, 200)
        .await;
    w.ok(Key, M::GET, &wiz, None, 200).await;
    w.fails(Key, M::GET, "/api/v1/wizards/999999", None, "NOT_FOUND")
        .await;
    w.ok(
        Key,
        M::PATCH,
        &wiz,
        Some(json!({ "description": null, "enabled": true })),
        200,
    )
    .await;
    let step = id(&w
        .ok(
            Key,
            M::POST,
            &format!("{wiz}/steps"),
            Some(json!({ "title": "Rules", "content": "# Hi" })),
            201,
        )
        .await);
    let second = id(&w
        .ok(
            Key,
            M::POST,
            &format!("{wiz}/steps"),
            Some(json!({ "title": "Two", "content": "x", "position": 0 })),
            201,
        )
        .await);
    w.ok(Key, M::GET, &format!("{wiz}/steps?per_page=5"), None, 200)
        .await;
    w.ok(Key, M::GET, &format!("{wiz}/steps/{step}"), None, 200)
        .await;
    w.ok(
        Key,
        M::PATCH,
        &format!("{wiz}/steps/{step}"),
        Some(json!({ "content": "# Rules\n\nBe kind." })),
        200,
    )
    .await;
    w.ok(
        Key,
        M::POST,
        &format!("{wiz}/steps/{step}/move"),
        Some(json!({ "position": 0 })),
        200,
    )
    .await;
    w.fails(
        Key,
        M::POST,
        &format!("{wiz}/steps/{step}/move"),
        Some(json!({ "position": -1 })),
        "VALIDATION_FAILED",
    )
    .await;
    let interactions = format!("{wiz}/steps/{step}/interactions");
    let quiz = id(&w
        .ok(
            Key,
            M::POST,
            &interactions,
            Some(json!({ "type": "quiz", "question": "?", "options": ["a", "b"], "correct_index": 1 })),
            201,
        )
        .await);
    w.fails(
        Key,
        M::POST,
        &interactions,
        Some(json!({ "type": "timer", "duration_seconds": 0 })),
        "VALIDATION_FAILED",
    )
    .await;
    w.ok(
        Key,
        M::GET,
        &format!("{interactions}?per_page=5"),
        None,
        200,
    )
    .await;
    w.ok(Key, M::GET, &format!("{interactions}/{quiz}"), None, 200)
        .await;
    w.ok(
        Key,
        M::PATCH,
        &format!("{interactions}/{quiz}"),
        Some(json!({ "type": "quiz", "question": "Which?", "options": ["a", "b"], "correct_index": 0 })),
        200,
    )
    .await;
    let extra = id(&w
        .ok(
            Key,
            M::POST,
            &interactions,
            Some(json!({ "type": "text_input", "label": "Name", "placeholder": null, "required": false, "min_length": 1, "max_length": 20 })),
            201,
        )
        .await);
    w.ok(
        Key,
        M::DELETE,
        &format!("{interactions}/{extra}"),
        None,
        204,
    )
    .await;
    w.fails(
        Key,
        M::DELETE,
        &format!("{interactions}/{extra}"),
        None,
        "NOT_FOUND",
    )
    .await;
    w.ok(Key, M::DELETE, &format!("{wiz}/steps/{second}"), None, 204)
        .await;
    w.ok(
        Key,
        M::POST,
        "/api/v1/invitations",
        Some(json!({ "code": "walk-wizard", "servers": [{ "server_id": server_id }], "pre_wizard_id": wid, "post_wizard_id": null })),
        201,
    )
    .await;
    let validation = w
        .ok(Anonymous, M::GET, "/api/v1/join/walk-wizard", None, 200)
        .await;
    let start = validation["pre_wizard"]["start_token"].clone();
    w.fails(
        Anonymous,
        M::POST,
        "/api/v1/join/walk-wizard",
        Some(json!({ "username": "hal", "password": "a fine password" })),
        "WIZARD_REQUIRED",
    )
    .await;
    let submit = format!("/api/v1/join/walk-wizard/wizard/{step}");
    w.fails(
        Anonymous,
        M::POST,
        &submit,
        Some(json!({ "token": start, "answers": { quiz.to_string(): 1 } })),
        "VALIDATION_FAILED",
    )
    .await;
    let done = w
        .ok(
            Anonymous,
            M::POST,
            &submit,
            Some(json!({ "token": start, "answers": { quiz.to_string(): 0 } })),
            200,
        )
        .await;
    w.ok(
        Anonymous,
        M::POST,
        "/api/v1/join/walk-wizard",
        Some(json!({ "username": "hal", "password": "a fine password", "wizard_token": done["token"] })),
        201,
    )
    .await;
    w.ok(Key, M::DELETE, &wiz, None, 204).await;

    // Users and identities.
    let users = w
        .ok(
            Key,
            M::GET,
            &format!("/api/v1/users?invitation_id={inv_id}&sort=username"),
            None,
            200,
        )
        .await;
    let finn = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "finn")
        .map(id)
        .unwrap();
    let gale = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "gale")
        .map(id)
        .unwrap();
    w.ok(Key, M::GET, &format!("/api/v1/users/{finn}"), None, 200)
        .await;
    w.fails(
        Key,
        M::GET,
        "/api/v1/users?expiry=soon",
        None,
        "VALIDATION_FAILED",
    )
    .await;
    w.ok(
        Key,
        M::PATCH,
        &format!("/api/v1/users/{finn}"),
        Some(json!({ "expires_at": "2031-01-01T00:00:00Z" })),
        200,
    )
    .await;
    w.ok(
        Key,
        M::POST,
        &format!("/api/v1/users/{finn}/disable"),
        None,
        200,
    )
    .await;
    w.ok(
        Key,
        M::POST,
        &format!("/api/v1/users/{finn}/enable"),
        None,
        200,
    )
    .await;
    w.ok(
        Key,
        M::PUT,
        &format!("/api/v1/users/{finn}/libraries"),
        Some(json!({ "libraries": null })),
        200,
    )
    .await;
    w.ok(
        Key,
        M::PUT,
        &format!("/api/v1/users/{finn}/permissions"),
        Some(json!({ "permissions": { "allow_downloads": false } })),
        200,
    )
    .await;
    w.fails(
        Key,
        M::PUT,
        &format!("/api/v1/users/{finn}/permissions"),
        Some(json!({ "permissions": { "teleport": true } })),
        "VALIDATION_FAILED",
    )
    .await;
    w.ok(
        Key,
        M::POST,
        &format!("/api/v1/users/{finn}/password"),
        Some(json!({ "password": "another fine one" })),
        204,
    )
    .await;
    w.ok(
        Key,
        M::GET,
        &format!("/api/v1/identities/{identity}"),
        None,
        200,
    )
    .await;
    w.ok(
        Key,
        M::PATCH,
        &format!("/api/v1/identities/{identity}"),
        Some(json!({ "display_name": "Finn F.", "email": null })),
        200,
    )
    .await;
    let linked = w
        .ok(
            Key,
            M::POST,
            &format!("/api/v1/identities/{identity}/users"),
            Some(json!({ "user_id": gale })),
            200,
        )
        .await;
    assert_eq!(linked["users"].as_array().unwrap().len(), 2);
    let detail = w
        .ok(Key, M::GET, &format!("/api/v1/users/{gale}"), None, 200)
        .await;
    assert_eq!(detail["identity"]["id"], identity);
    w.ok(
        Key,
        M::DELETE,
        &format!("/api/v1/identities/{identity}/users/{gale}"),
        None,
        204,
    )
    .await;
    w.fails(
        Key,
        M::DELETE,
        &format!("/api/v1/identities/{identity}/users/{gale}"),
        None,
        "NOT_FOUND",
    )
    .await;
    w.ok(
        Key,
        M::DELETE,
        &format!("/api/v1/users/{gale}?remove_account=true"),
        None,
        204,
    )
    .await;
    w.fails(
        Key,
        M::GET,
        &format!("/api/v1/users/{gale}"),
        None,
        "NOT_FOUND",
    )
    .await;

    // Operations: live settings, sync, exclusions, jobs, expiry preview, dashboard.
    w.ok(Key, M::GET, "/api/v1/settings", None, 200).await;
    w.ok(
        Key,
        M::PATCH,
        "/api/v1/settings",
        Some(json!({ "jobs.keep_days": 60, "expiry.action": "disable" })),
        200,
    )
    .await;
    w.fails(
        Key,
        M::PATCH,
        "/api/v1/settings",
        Some(json!({ "listen": "0.0.0.0:1" })),
        "VALIDATION_FAILED",
    )
    .await;
    let report = w
        .ok(
            Key,
            M::POST,
            &format!("/api/v1/servers/{server_id}/sync"),
            Some(json!({ "what": "all", "dry_run": true })),
            200,
        )
        .await;
    assert_eq!(report["users"]["outcome"], "succeeded", "{report}");
    w.fails(
        Key,
        M::POST,
        "/api/v1/servers/999999/sync",
        Some(json!({})),
        "NOT_FOUND",
    )
    .await;
    w.ok(
        Key,
        M::GET,
        &format!("/api/v1/servers/{server_id}/exclusions"),
        None,
        200,
    )
    .await;
    w.ok(
        Key,
        M::POST,
        &format!("/api/v1/servers/{server_id}/exclusions"),
        Some(json!({ "external_id": "abc", "username": "ghost" })),
        201,
    )
    .await;
    w.ok(
        Key,
        M::DELETE,
        &format!("/api/v1/servers/{server_id}/exclusions/abc"),
        None,
        204,
    )
    .await;
    w.fails(
        Key,
        M::DELETE,
        &format!("/api/v1/servers/{server_id}/exclusions/abc"),
        None,
        "NOT_FOUND",
    )
    .await;
    w.ok(Key, M::POST, "/api/v1/jobs/cleanup/run", None, 200)
        .await;
    w.fails(
        Key,
        M::POST,
        "/api/v1/jobs/user_sync/run",
        None,
        "NOT_FOUND",
    )
    .await;
    w.fails(Key, M::POST, "/api/v1/jobs/nope/run", None, "NOT_FOUND")
        .await;
    let runs = w
        .ok(Key, M::GET, "/api/v1/jobs?per_page=5", None, 200)
        .await;
    assert!(runs["total"].as_i64().unwrap() >= 3, "{runs}");
    w.fails(
        Key,
        M::GET,
        "/api/v1/jobs?job=nope",
        None,
        "VALIDATION_FAILED",
    )
    .await;
    w.ok(Key, M::GET, "/api/v1/expiry/preview", None, 200).await;
    let dashboard = w.ok(Key, M::GET, "/api/v1/dashboard", None, 200).await;
    assert!(
        dashboard["plugins"]["loaded"].as_i64().unwrap() >= 2,
        "{dashboard}"
    );

    // Clean-up endpoints, the password change and sign-out.
    w.ok(
        Key,
        M::DELETE,
        &format!("/api/v1/invitations/{inv_id}"),
        None,
        204,
    )
    .await;
    w.fails(
        Key,
        M::GET,
        &format!("/api/v1/invitations/{inv_id}"),
        None,
        "NOT_FOUND",
    )
    .await;
    w.ok(
        Key,
        M::DELETE,
        &format!("/api/v1/servers/{plex_server}"),
        None,
        204,
    )
    .await;
    w.fails(
        Browser,
        M::POST,
        "/api/v1/auth/password",
        Some(json!({ "current_password": "nope", "new_password": NEW_PASSWORD })),
        "STEP_UP_REQUIRED",
    )
    .await;
    w.fails(
        Browser,
        M::POST,
        "/api/v1/auth/password",
        Some(json!({ "current_password": PASSWORD, "new_password": "short" })),
        "VALIDATION_FAILED",
    )
    .await;
    w.ok(
        Browser,
        M::POST,
        "/api/v1/auth/password",
        Some(json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD })),
        200,
    )
    .await;
    w.ok(Browser, M::POST, "/api/v1/auth/logout", None, 204)
        .await;
    assert!(w.cookie.is_none(), "sign-out clears the cookie");
    w.ok(
        Anonymous,
        M::POST,
        "/api/v1/auth/login",
        Some(json!({ "username": "alice", "password": NEW_PASSWORD })),
        200,
    )
    .await;

    assert!(
        w.violations.is_empty(),
        "{} answers differ from the document:\n{}",
        w.violations.len(),
        w.violations.join("\n")
    );
    let missed: Vec<&String> = all.difference(&w.covered).collect();
    assert!(
        missed.is_empty(),
        "the walk does not reach these documented operations; extend it: {missed:?}"
    );
}

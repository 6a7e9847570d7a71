//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the whole HTTP API, generated from
//! the code with `utoipa`.
//!
//! # How routes and documentation stay in sync
//!
//! There is one source for both: every handler carries a `#[utoipa::path(...)]` annotation
//! (method, path, parameters, request body, responses, error codes), and the router is built
//! *from those annotations* with `utoipa_axum::routes!`, which reads the method and the path out
//! of the annotation and registers the handler there. So:
//!
//! - a handler cannot be routed without an annotation (`routes!` does not compile without one),
//!   and the documented path and method are, by construction, the ones the router serves;
//! - route modules hand [`super::Routes`] (the `routes!` outputs) to [`super::routes`], never an
//!   `axum::Router`, so there is no place to slip in an undocumented `.route(...)`;
//! - the admin group is one value: the authentication layer (in [`super::app`]) and the security
//!   requirement of the document ([`require_admin`]) are applied to that same group in
//!   [`super::routes`], so "needs a session or API key" cannot drift from what is enforced.
//!
//! The tests below hold the remaining edges: every documented operation is answered by the real
//! router (not the 404 fallback or a 405), every *undocumented* method on a documented path is a
//! 405 (the router serves nothing the document leaves out), documented security matches what the
//! router enforces, and no file in `http/` registers a raw axum route. A route added the
//! ordinary way is documented; one added around the design fails a test. The integration test
//! `tests/it/openapi.rs` then holds the *content* to the behaviour: it walks every operation on
//! the real daemon and checks each request and answer against the served document.
//!
//! # Error responses
//!
//! Every error has the envelope `{"error": {"code", "message", "request_id", "fields"?}}`
//! (`ErrorEnvelope`; `code` is the `ErrorCode` enum of [`ErrorCode::ALL`]). An operation lists
//! the codes particular to it in its annotation with [`Errors`] (checked by the compiler:
//! `Errors<(code::NotFound, code::Conflict)>`); [`document`] adds the codes every operation of
//! its shape can answer (a JSON body: `MALFORMED_JSON`, `UNSUPPORTED_MEDIA_TYPE`,
//! `PAYLOAD_TOO_LARGE`; parameters: `BAD_REQUEST`; admin routes: `UNAUTHENTICATED`,
//! `SETUP_REQUIRED`, and on changes `FORBIDDEN_SCOPE` and `CSRF_FAILED`; all: `REQUEST_TIMEOUT`,
//! `UNAVAILABLE`, `INTERNAL`), then writes one response per HTTP status whose description names
//! each code and whose `x-error-codes` extension lists them.

use crate::error::{Codes, Envelope, ErrorCode, FieldError, code};
use crate::http::Routes;
use crate::state::AppState;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::OnceLock;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::{Response as ApiResponse, ResponseBuilder};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{Components, ContentBuilder, InfoBuilder, OpenApi, Ref, RefOr};
use utoipa::{IntoResponses, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Name of the session-cookie security scheme.
pub const SESSION_SCHEME: &str = "session";
/// Name of the API-key (bearer) security scheme.
pub const API_KEY_SCHEME: &str = "api_key";
/// Extension listing the error codes of an error response.
pub const ERROR_CODES_EXTENSION: &str = "x-error-codes";

/// [`crate::plugins::Value`] under a name that `utoipa` does not take for `serde_json::Value`
/// (it treats any type named `Value` as "any JSON"), for `#[schema(value_type = ...)]`.
pub type PluginValue = crate::plugins::Value;

/// Codes of any call into a connector plugin and, through it, the media server.
pub type ConnectorCall = (
    code::PluginNotFound,
    code::PluginUnhealthy,
    code::PluginBusy,
    code::PluginTimeout,
    code::PluginFailed,
    code::PluginHostDenied,
    code::Unsupported,
    RemoteErrors,
);

/// Codes of a media server's answers relayed by a connector.
pub type RemoteErrors = (
    code::RemoteUnauthorized,
    code::RemoteForbidden,
    code::RemoteNotFound,
    code::RemoteInvalidInput,
    code::RemoteUnreachable,
    code::RemoteTimeout,
    code::RemoteRateLimited,
    code::RemoteError,
);

/// The error responses of an operation, for `#[utoipa::path(responses(..., Errors<C>))]`: one
/// response per HTTP status of the codes in `C`, each with the `ErrorEnvelope` body.
#[derive(Debug)]
pub struct Errors<C>(PhantomData<C>);

impl<C: Codes> IntoResponses for Errors<C> {
    fn responses() -> BTreeMap<String, RefOr<ApiResponse>> {
        let mut codes = Vec::new();
        C::collect(&mut codes);
        error_responses(&codes)
    }
}

/// One response per status, in catalogue order within a status.
fn error_responses(codes: &[ErrorCode]) -> BTreeMap<String, RefOr<ApiResponse>> {
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for code in ErrorCode::ALL.iter().filter(|c| codes.contains(c)) {
        by_status
            .entry(code.status().as_u16())
            .or_default()
            .push(*code);
    }
    by_status
        .into_iter()
        .map(|(status, codes)| {
            let description = codes
                .iter()
                .map(|c| format!("`{}`: {}", c.as_str(), c.description()))
                .collect::<Vec<_>>()
                .join("\n\n");
            let mut extensions = utoipa::openapi::extensions::Extensions::default();
            extensions.insert(
                ERROR_CODES_EXTENSION.to_owned(),
                codes.iter().map(|c| c.as_str()).collect::<Vec<_>>().into(),
            );
            let response = ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(Envelope::name())))
                        .build(),
                )
                .extensions(Some(extensions))
                .build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

/// The codes an error response lists in its extension.
fn listed_codes(response: &RefOr<ApiResponse>) -> Vec<ErrorCode> {
    let RefOr::T(response) = response else {
        return Vec::new();
    };
    let Some(listed) = response
        .extensions
        .as_ref()
        .and_then(|e| e.get(ERROR_CODES_EXTENSION))
        .and_then(|v| v.as_array())
    else {
        return Vec::new();
    };
    listed
        .iter()
        .filter_map(|v| v.as_str())
        .filter_map(|s| ErrorCode::ALL.iter().copied().find(|c| c.as_str() == s))
        .collect()
}

/// A string schema with exactly these values, for `#[param(schema_with = ...)]` and
/// `#[schema(schema_with = ...)]` where the Rust type is a plain string checked by the handler.
pub fn string_enum(values: &[&str]) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

/// The schema of `T` with the named properties required and not `null`: for request bodies that
/// share one Rust type between create (some fields required) and update (every field optional),
/// so the document states exactly what each operation refuses.
///
/// `omit` names properties the operation does not take (they are removed from the schema; the
/// handler refuses them if sent).
pub fn requiring<T: ToSchema>(required: &[&str], omit: &[&str]) -> RefOr<utoipa::openapi::Schema> {
    use utoipa::openapi::Schema;
    use utoipa::openapi::schema::{SchemaType, Type};
    let mut schema = <T as utoipa::PartialSchema>::schema();
    let RefOr::T(Schema::Object(object)) = &mut schema else {
        return schema;
    };
    for name in omit {
        object.properties.shift_remove(*name);
    }
    for name in required {
        if let Some(RefOr::T(Schema::Object(property))) = object.properties.get_mut(*name)
            && let SchemaType::Array(types) = &property.schema_type
        {
            let types: Vec<Type> = types
                .iter()
                .filter(|t| **t != Type::Null)
                .cloned()
                .collect();
            property.schema_type = match types.as_slice() {
                [only] => SchemaType::Type(only.clone()),
                _ => SchemaType::Array(types),
            };
        }
        if !object.required.iter().any(|r| r == name) {
            object.required.push((*name).to_owned());
        }
    }
    object.description = None;
    schema
}

/// A request body that is `T` with some properties required, as its own named schema (see
/// [`requiring`]). Declare with [`required_body!`].
#[macro_export]
macro_rules! required_body {
    ($(#[$meta:meta])* $name:ident($inner:ty): $($field:literal),*) => {
        $crate::required_body!($(#[$meta])* $name($inner): $($field),*; omit);
    };
    ($(#[$meta:meta])* $name:ident($inner:ty): $($field:literal),*; omit $($gone:literal),*) => {
        $(#[$meta])*
        #[derive(serde::Deserialize)]
        #[serde(transparent)]
        struct $name($inner);

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
                $crate::http::openapi::requiring::<$inner>(&[$($field),*], &[$($gone),*])
            }
        }

        impl utoipa::ToSchema for $name {
            fn schemas(
                schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::Schema>)>,
            ) {
                <$inner as utoipa::ToSchema>::schemas(schemas);
            }
        }
    };
}

/// `asc` or `desc`.
pub fn order_schema() -> utoipa::openapi::Object {
    string_enum(&["asc", "desc"])
}

/// A string schema in the `date-time` format (RFC 3339), for fields the handler parses.
pub fn date_time() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::DateTime,
        )))
        .build()
}

/// Mark every operation of the admin group as requiring a session cookie or an API key.
pub(super) fn require_admin(mut group: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    let requirement = vec![
        SecurityRequirement::new(SESSION_SCHEME, Vec::<String>::new()),
        SecurityRequirement::new(API_KEY_SCHEME, Vec::<String>::new()),
    ];
    for item in group.get_openapi_mut().paths.paths.values_mut() {
        for (_, operation) in operations_mut(item) {
            operation.security = Some(requirement.clone());
        }
    }
    group
}

/// The operations of a path item with their lower-case method.
fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("options", item.options.as_mut()),
        ("head", item.head.as_mut()),
        ("patch", item.patch.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.map(|op| (method, op)))
}

/// OpenAPI links from every create operation (`POST` on a collection, answering 201) to the
/// operations on what it created: each path under `{collection}/{param}` with no other new
/// parameter, with `{param}` taken from the created object's `id` and the collection's own path
/// parameters from the request. Clients and stateful testers (Schemathesis) follow them to chain
/// "create, then read, change, delete".
fn add_links(api: &mut OpenApi) {
    use utoipa::openapi::link::LinkBuilder;
    // (create path, link name, target operation id, link parameters)
    type Found = (String, String, String, Vec<(String, String)>);
    let mut found: Vec<Found> = Vec::new();
    let paths: Vec<String> = api.paths.paths.keys().cloned().collect();
    for create in &paths {
        let creates = api
            .paths
            .paths
            .get(create)
            .and_then(|item| item.post.as_ref())
            .is_some_and(|op| op.responses.responses.contains_key("201"));
        if !creates {
            continue;
        }
        let create_params = path_params(create);
        for target in &paths {
            let Some(rest) = target.strip_prefix(create.as_str()) else {
                continue;
            };
            let Some(new_param) = rest
                .strip_prefix("/{")
                .and_then(|r| r.split_once('}'))
                .map(|(name, _)| name.to_owned())
            else {
                continue;
            };
            let target_params = path_params(target);
            if target_params.len() != create_params.len() + 1 {
                continue;
            }
            let Some(item) = api.paths.paths.get_mut(target) else {
                continue;
            };
            for (method, operation) in operations_mut(item) {
                let Some(operation_id) = operation.operation_id.clone() else {
                    continue;
                };
                let parameters: Vec<(String, String)> = target_params
                    .iter()
                    .map(|p| {
                        let value = if *p == new_param {
                            "$response.body#/id".to_owned()
                        } else {
                            format!("$request.path.{p}")
                        };
                        (p.clone(), value)
                    })
                    .collect();
                let name = format!("{method}_{operation_id}");
                found.push((create.clone(), name, operation_id, parameters));
            }
        }
    }
    for (create, name, operation_id, parameters) in found {
        let Some(RefOr::T(response)) = api
            .paths
            .paths
            .get_mut(&create)
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.responses.responses.get_mut("201"))
        else {
            continue;
        };
        let mut link = LinkBuilder::new().operation_id(operation_id);
        for (param, value) in parameters {
            link = link.parameter(param, value);
        }
        response.links.insert(name, RefOr::T(link.build()));
    }
}

/// Tagged unions whose handler refuses keys a variant does not have; utoipa leaves enum variants
/// open, so close them here.
const CLOSED_UNIONS: &[&str] = &["InteractionConfig"];

fn close_union_variants(components: &mut Components) {
    use utoipa::openapi::Schema;
    use utoipa::openapi::schema::AdditionalProperties;
    for name in CLOSED_UNIONS {
        let Some(RefOr::T(Schema::OneOf(one_of))) = components.schemas.get_mut(*name) else {
            continue;
        };
        for item in &mut one_of.items {
            if let RefOr::T(Schema::Object(variant)) = item {
                variant.additional_properties =
                    Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
    }
}

/// The `{name}`s of a path template, in order.
fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_owned)
        .collect()
}

/// Optional query parameters sent with an empty value (`?outcome=`) are read as absent (see
/// [`crate::http::extract::Query`]); say so with `allowEmptyValue`, which utoipa's typed
/// `Parameter` leaves out (it is kept in OpenAPI 3.1, only discouraged).
fn allow_empty_query_values(operation: &mut Operation) {
    use utoipa::openapi::Required;
    use utoipa::openapi::path::ParameterIn;
    for parameter in operation.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        // A path parameter is always required (utoipa drops it with `schema_with`).
        if matches!(parameter.parameter_in, ParameterIn::Path) {
            parameter.required = Required::True;
        }
        if matches!(parameter.parameter_in, ParameterIn::Query)
            && !matches!(parameter.required, Required::True)
        {
            parameter
                .extensions
                .get_or_insert_with(Default::default)
                .insert("allowEmptyValue".to_owned(), true.into());
        }
    }
}

/// The codes every operation of this shape can answer, besides its own.
fn shared_codes(method: &str, operation: &Operation) -> Vec<ErrorCode> {
    let mut codes = vec![
        ErrorCode::RequestTimeout,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];
    if operation.request_body.is_some() {
        codes.extend([
            ErrorCode::MalformedJson,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::PayloadTooLarge,
        ]);
    }
    if operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
        codes.push(ErrorCode::BadRequest);
    }
    if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        codes.extend([ErrorCode::Unauthenticated, ErrorCode::SetupRequired]);
        if !matches!(method, "get" | "head" | "options") {
            codes.extend([ErrorCode::ForbiddenScope, ErrorCode::CsrfFailed]);
        }
    }
    codes
}

/// Rewrite the error responses of `operation` from its own codes plus the shared ones. An error
/// response written by hand (without [`Errors`]) is left alone; the tests refuse it.
fn complete_errors(method: &str, operation: &mut Operation) {
    let shared = shared_codes(method, operation);
    let responses = &mut operation.responses.responses;
    let mut codes: Vec<ErrorCode> = responses.values().flat_map(listed_codes).collect();
    codes.extend(shared);
    responses.retain(|_, response| listed_codes(response).is_empty());
    for (status, response) in error_responses(&codes) {
        responses.entry(status).or_insert(response);
    }
}

/// Give every response without a description the reason phrase of its status (OpenAPI requires
/// a description).
fn describe_responses(operation: &mut Operation) {
    for (status, response) in &mut operation.responses.responses {
        if let RefOr::T(response) = response
            && response.description.is_empty()
        {
            let reason = status
                .parse::<u16>()
                .ok()
                .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                .and_then(|s| s.canonical_reason());
            response.description = reason.unwrap_or("Success").to_owned();
        }
    }
}

/// The complete document: every route of the daemon, the schemas, the security schemes, the
/// tags and the error responses.
pub fn document() -> OpenApi {
    let (_, mut api) = super::routes(|admin| admin).split_for_parts();

    api.info = InfoBuilder::new()
        .title("Zondarr")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(DESCRIPTION))
        .build();

    for item in api.paths.paths.values_mut() {
        for (method, operation) in operations_mut(item) {
            complete_errors(method, operation);
            describe_responses(operation);
            allow_empty_query_values(operation);
        }
    }

    add_links(&mut api);

    let components = api.components.get_or_insert_with(Components::new);
    let mut schemas = Vec::new();
    <Envelope as ToSchema>::schemas(&mut schemas);
    schemas.push((
        Envelope::name().into_owned(),
        <Envelope as utoipa::PartialSchema>::schema(),
    ));
    schemas.push((
        ErrorCode::name().into_owned(),
        <ErrorCode as utoipa::PartialSchema>::schema(),
    ));
    // The data of the log stream's messages (`StreamEvent.data`), named in its description.
    <crate::logging::LogEvent as ToSchema>::schemas(&mut schemas);
    schemas.push((
        crate::logging::LogEvent::name().into_owned(),
        <crate::logging::LogEvent as utoipa::PartialSchema>::schema(),
    ));
    schemas.push((
        FieldError::name().into_owned(),
        <FieldError as utoipa::PartialSchema>::schema(),
    ));
    components.schemas.extend(schemas);
    close_union_variants(components);
    components.security_schemes.insert(
        SESSION_SCHEME.to_owned(),
        RefOr::T(SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            crate::auth::COOKIE_NAME,
            "The session cookie set by `POST /api/v1/setup`, `/auth/login` or `/auth/totp`. Over \
             HTTPS it is named `__Host-zondarr_session`. Changes (any method but GET) made with \
             the cookie must come from the Zondarr origin (`Origin` header) or carry the \
             session's CSRF token (from `GET /api/v1/auth/me`) in `x-csrf-token`, or they are \
             refused with `CSRF_FAILED`.",
        )))),
    );
    components.security_schemes.insert(
        API_KEY_SCHEME.to_owned(),
        RefOr::T(SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("zk_<prefix>_<secret>")
                .description(Some(
                    "An API key (`POST /api/v1/api-keys`) as `Authorization: Bearer <key>`. A \
                     `read` key may only read; changes answer `FORBIDDEN_SCOPE`.",
                ))
                .build(),
        )),
    );

    api.tags = Some(
        TAGS.iter()
            .map(|(name, description)| {
                TagBuilder::new()
                    .name(*name)
                    .description(Some(*description))
                    .build()
            })
            .collect(),
    );
    api
}

const DESCRIPTION: &str = "Invite people to your media servers and manage their accounts.\n\n\
Authentication: the admin endpoints take either the session cookie (`session`) or an API key \
(`api_key`, `Authorization: Bearer <key>`). Public endpoints (no security requirement): first-run \
setup, sign-in (`/auth/login`, `/auth/totp`), the invitee's `/join/...` endpoints, this document, \
the health probes and `/metrics` (which takes its own bearer token when `metrics.token` is set).\n\n\
Errors: every error answer has the body `{\"error\": {\"code\", \"message\", \"request_id\", \
\"fields\"?}}` (`ErrorEnvelope`); `code` is a stable `ErrorCode`. Each operation lists the codes \
it may answer per HTTP status (also in the `x-error-codes` extension of the response). Any \
request may also get `NOT_FOUND` (no such path), `METHOD_NOT_ALLOWED` or `RATE_LIMITED`.\n\n\
Lists are paginated with `page` (from 1) and `per_page` (1 to 100, default 50) and answer \
`{\"items\", \"total\", \"page\", \"per_page\"}`. Times are RFC 3339 strings in UTC.";

/// Tags, in the order a reader meets them.
pub const TAGS: &[(&str, &str)] = &[
    (
        "setup",
        "First-run setup: creates the admin account (once).",
    ),
    (
        "auth",
        "Sign-in with a password and a second factor, sign-out, the current admin, password and TOTP.",
    ),
    ("sessions", "The signed-in admin's sessions."),
    ("api-keys", "API keys for scripts and integrations."),
    (
        "audit",
        "The audit log of admin actions and security events.",
    ),
    ("logs", "A live tail of the daemon's logs."),
    (
        "plugins",
        "Connector plugins: what is loaded and what was refused.",
    ),
    ("servers", "Media servers and their libraries."),
    (
        "invitations",
        "Invitation codes: which servers, libraries and permissions they grant.",
    ),
    (
        "join",
        "Public endpoints for invitees: check a code, link an account, redeem.",
    ),
    ("users", "Accounts on the media servers."),
    (
        "wizards",
        "Onboarding wizards: ordered steps of Markdown with interactions, shown to invitees before or after joining.",
    ),
    (
        "identities",
        "People: the accounts of one person across servers.",
    ),
    (
        "operations",
        "Live settings, background job runs, the expiry preview and the dashboard.",
    ),
    ("meta", "This document."),
    (
        "health",
        "Liveness and readiness probes and Prometheus metrics (outside `/api/v1`).",
    ),
];

/// The document, serialised once.
fn cached_json() -> Option<Bytes> {
    static JSON: OnceLock<Option<Bytes>> = OnceLock::new();
    JSON.get_or_init(|| serde_json::to_vec(&document()).ok().map(Bytes::from))
        .clone()
}

/// The OpenAPI document
///
/// This description of the whole API, as OpenAPI 3.1 JSON. Load it into any OpenAPI viewer or
/// client generator.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    operation_id = "get_openapi_document",
    responses((status = OK, description = "The OpenAPI 3.1 document", body = Object, content_type = "application/json"))
)]
async fn openapi_json() -> Response {
    match cached_json() {
        Some(bytes) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        None => crate::error::Error::Internal(anyhow::anyhow!(
            "the OpenAPI document cannot be serialised"
        ))
        .into_response(),
    }
}

/// The document's own route (public).
pub(super) fn routes() -> Routes {
    vec![routes!(openapi_json)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::extract::Request;
    use axum::http::{Method, StatusCode};
    use serde_json::{Value, json};
    use std::collections::{BTreeSet, HashSet};
    use tower::ServiceExt;

    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    fn doc() -> Value {
        serde_json::to_value(document()).unwrap()
    }

    /// `(method, path template, operation)` of every operation in the document.
    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    out.push((method.to_owned(), path.clone(), op.clone()));
                }
            }
        }
        out
    }

    /// The names in `{...}` of a path template.
    fn template_params(path: &str) -> Vec<String> {
        path.split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect()
    }

    fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
        doc.pointer(reference.strip_prefix('#')?)
    }

    fn collect_refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    if key == "$ref" {
                        out.push(v.as_str().unwrap_or("<not a string>").to_owned());
                    } else {
                        collect_refs(v, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn document_is_openapi_3_1_with_title_version_and_tags() {
        let doc = doc();
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1."),
            "{}",
            doc["openapi"]
        );
        assert_eq!(doc["info"]["title"], "Zondarr");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert!(
            !doc["info"]["description"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
        );
        let tags: Vec<&str> = doc["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(tags, TAGS.iter().map(|(n, _)| *n).collect::<Vec<_>>());
        // Serialising to text works too (the route serves these bytes).
        assert!(cached_json().is_some_and(|b| b.len() > 1000));
    }

    #[test]
    fn every_ref_resolves() {
        let doc = doc();
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(refs.len() > 100, "suspiciously few $refs: {}", refs.len());
        let broken: BTreeSet<&String> =
            refs.iter().filter(|r| resolve(&doc, r).is_none()).collect();
        assert!(broken.is_empty(), "unresolvable $refs: {broken:?}");
    }

    #[test]
    fn every_operation_is_complete() {
        let doc = doc();
        let tags: HashSet<&str> = TAGS.iter().map(|(n, _)| *n).collect();
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        let mut ids = HashSet::new();
        let mut problems = Vec::new();
        for (method, path, op) in operations(&doc) {
            let at = format!("{} {path}", method.to_uppercase());
            match op["operationId"].as_str() {
                Some(id) if !id.is_empty() => {
                    if !ids.insert(id.to_owned()) {
                        problems.push(format!("{at}: operationId {id} is not unique"));
                    }
                }
                _ => problems.push(format!("{at}: no operationId")),
            }
            if op["summary"].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{at}: no summary (doc comment of the handler)"));
            }
            match op["tags"].as_array().map(Vec::as_slice) {
                Some([tag]) if tags.contains(tag.as_str().unwrap_or_default()) => {}
                other => problems.push(format!("{at}: needs exactly one known tag, has {other:?}")),
            }

            // Path parameters: exactly the template's, each required.
            let declared: Vec<&Value> = op["parameters"]
                .as_array()
                .map(|p| p.iter().collect())
                .unwrap_or_default();
            let path_params: BTreeSet<String> = declared
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
                .collect();
            let in_template: BTreeSet<String> = template_params(&path).into_iter().collect();
            if path_params != in_template {
                problems.push(format!(
                    "{at}: path parameters {path_params:?}, template has {in_template:?}"
                ));
            }
            for p in declared.iter().filter(|p| p["in"] == "path") {
                if p["required"] != true {
                    problems.push(format!(
                        "{at}: path parameter {} must be required",
                        p["name"]
                    ));
                }
            }
            for p in &declared {
                if p["schema"].is_null() {
                    problems.push(format!("{at}: parameter {} has no schema", p["name"]));
                }
            }

            // Responses: at least one 2xx; every one described; errors are envelopes whose codes
            // belong to their status.
            let responses = op["responses"].as_object().unwrap();
            if !responses.keys().any(|s| s.starts_with('2')) {
                problems.push(format!("{at}: no 2xx response"));
            }
            for (status, response) in responses {
                if response["description"].as_str().is_none_or(str::is_empty) {
                    problems.push(format!("{at} {status}: no description"));
                }
                if status == "204" && response.get("content").is_some() {
                    problems.push(format!("{at}: 204 with a body"));
                }
                // JSON as a rule; `/metrics` (text) and the log stream (events) document theirs.
                if status.starts_with('2')
                    && status != "204"
                    && response["content"]
                        .as_object()
                        .is_none_or(|c| c.values().all(|media| media["schema"].is_null()))
                {
                    problems.push(format!("{at} {status}: no body schema"));
                }
                if status.starts_with(['4', '5']) {
                    if response["content"]["application/json"]["schema"]["$ref"]
                        != "#/components/schemas/ErrorEnvelope"
                    {
                        problems.push(format!("{at} {status}: body is not the ErrorEnvelope"));
                    }
                    let codes = response[ERROR_CODES_EXTENSION]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    if codes.is_empty() {
                        problems.push(format!("{at} {status}: no {ERROR_CODES_EXTENSION}; list error codes with `Errors<...>`"));
                    }
                    for c in codes {
                        let code = ErrorCode::ALL
                            .iter()
                            .find(|k| k.as_str() == c.as_str().unwrap_or_default());
                        match code {
                            Some(code) if code.status().as_u16().to_string() == *status => {}
                            Some(code) => problems.push(format!(
                                "{at} {status}: {} is sent with {}",
                                code.as_str(),
                                code.status()
                            )),
                            None => problems.push(format!("{at} {status}: unknown code {c}")),
                        }
                    }
                }
            }
            for shared in ["408", "500", "503"] {
                if !responses.contains_key(shared) {
                    problems.push(format!("{at}: no {shared} response"));
                }
            }
            if op.get("requestBody").is_some()
                && !(responses.contains_key("400") && responses.contains_key("415"))
            {
                problems.push(format!("{at}: takes a body but documents no 400/415"));
            }

            // Security: only known schemes; secured operations document 401.
            for requirement in op["security"].as_array().into_iter().flatten() {
                for scheme in requirement.as_object().unwrap().keys() {
                    if !schemes.contains_key(scheme) {
                        problems.push(format!("{at}: unknown security scheme {scheme}"));
                    }
                }
                if !responses.contains_key("401") {
                    problems.push(format!("{at}: secured but no 401"));
                }
            }
        }
        assert!(
            problems.is_empty(),
            "{} problems:\n{}",
            problems.len(),
            problems.join("\n")
        );
        assert!(ids.len() >= 45, "only {} operations", ids.len());
    }

    #[test]
    fn error_schemas_describe_the_envelope_and_every_code() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let codes: Vec<&str> = schemas["ErrorCode"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            ErrorCode::ALL
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
        );
        assert_eq!(schemas["ErrorEnvelope"]["required"], json!(["error"]));
        assert_eq!(
            schemas["ErrorEnvelope"]["properties"]["error"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        let body = &schemas["ErrorBody"];
        assert_eq!(body["required"], json!(["code", "message", "request_id"]));
        assert_eq!(
            body["properties"]["code"]["$ref"],
            "#/components/schemas/ErrorCode"
        );
        assert_eq!(
            body["properties"]["fields"]["items"]["$ref"],
            "#/components/schemas/FieldError"
        );
        // The schema matches what the daemon renders.
        let rendered = serde_json::to_value(Envelope {
            error: crate::error::EnvelopeBody {
                code: "NOT_FOUND",
                message: "m",
                request_id: "r",
                fields: &[FieldError::new("f", "bad")],
            },
        })
        .unwrap();
        let keys: BTreeSet<&String> = rendered["error"].as_object().unwrap().keys().collect();
        let documented: BTreeSet<&String> =
            body["properties"].as_object().unwrap().keys().collect();
        assert_eq!(keys, documented);
    }

    #[test]
    fn errors_group_codes_by_status() {
        let responses =
            Errors::<(code::NotFound, (code::RemoteNotFound, code::Conflict))>::responses();
        assert_eq!(responses.keys().collect::<Vec<_>>(), ["404", "409"]);
        let RefOr::T(not_found) = &responses["404"] else {
            panic!("inline response expected")
        };
        let listed = not_found
            .extensions
            .as_ref()
            .unwrap()
            .get(ERROR_CODES_EXTENSION)
            .unwrap();
        assert_eq!(listed, &json!(["NOT_FOUND", "REMOTE_NOT_FOUND"]));
        assert!(not_found.description.contains("`REMOTE_NOT_FOUND`"));
    }

    /// Exactly these operations are public; every other one requires a session or an API key.
    /// Making an endpoint public is a security decision: change this list deliberately.
    #[test]
    fn only_the_intended_operations_are_public() {
        let doc = doc();
        let public: BTreeSet<String> = operations(&doc)
            .into_iter()
            .filter(|(_, _, op)| op["security"].as_array().is_none_or(Vec::is_empty))
            .map(|(m, p, _)| format!("{} {p}", m.to_uppercase()))
            .collect();
        let expected: BTreeSet<String> = [
            "GET /health/live",
            "GET /health/ready",
            // Open like the probes unless `metrics.token` is set; it never takes admin
            // credentials, so it is not in the admin group.
            "GET /metrics",
            "GET /api/v1/openapi.json",
            "GET /api/v1/setup",
            "POST /api/v1/setup",
            "POST /api/v1/auth/login",
            "POST /api/v1/auth/totp",
            "GET /api/v1/auth/servers",
            "POST /api/v1/auth/login/server/{id}",
            "POST /api/v1/auth/login/server/{id}/oauth",
            "POST /api/v1/auth/login/server/{id}/oauth/poll",
            "GET /api/v1/join/{code}",
            "POST /api/v1/join/{code}",
            "POST /api/v1/join/{code}/oauth/{connector}",
            "GET /api/v1/join/{code}/oauth/{connector}/{link}",
            "POST /api/v1/join/{code}/wizard/{step}",
            "GET /api/v1/join/{code}/redemptions/{handle}",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        assert_eq!(public, expected);
    }

    async fn test_app() -> Router {
        super::super::app(AppState::for_tests(&[]).await)
    }

    /// A session cookie and its CSRF token.
    type Credentials = (String, String);

    async fn send(
        app: &Router,
        method: &str,
        path: &str,
        credentials: Option<&Credentials>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
            .uri(path);
        if let Some((cookie, csrf)) = credentials {
            req = req
                .header(header::COOKIE, cookie)
                .header(crate::auth::CSRF_HEADER, csrf);
        }
        let req = req.body(Body::empty()).unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let body = to_bytes(resp.into_body(), 1 << 22).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// A concrete path for a template: integer parameters get `1`, others `x`.
    fn concrete(path: &str, op: &Value) -> String {
        let mut out = path.to_owned();
        for name in template_params(path) {
            let param = op["parameters"].as_array().and_then(|ps| {
                ps.iter()
                    .find(|p| p["name"] == name.as_str() && p["in"] == "path")
            });
            let sample = if param.is_some_and(|p| p["schema"]["type"] == "integer") {
                "1"
            } else {
                "x"
            };
            out = out.replace(&format!("{{{name}}}"), sample);
        }
        out
    }

    /// Walk the document against the real router: every documented operation is served (not the
    /// fallback's 404, not a 405); the documented security is what the router enforces (without
    /// credentials: `UNAUTHENTICATED` exactly on the secured operations); and, signed in, every
    /// method the document does *not* list on a documented path is a 405, so the router serves
    /// nothing on those paths beyond the document. (The admin layer runs before axum's method
    /// check, so that probe needs credentials.)
    #[tokio::test]
    async fn the_router_serves_exactly_the_documented_operations_with_their_security() {
        let app = test_app().await;
        let setup = Request::post("/api/v1/setup")
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"username": "admin", "password": "correct-violet-kettle-42"}"#,
            ))
            .unwrap();
        let resp = app.clone().oneshot(setup).await.unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        let cookie = resp.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let admin: Value =
            serde_json::from_slice(&to_bytes(resp.into_body(), 1 << 20).await.unwrap()).unwrap();
        let credentials = (cookie, admin["csrf_token"].as_str().unwrap().to_owned());

        let doc = doc();
        let mut problems = Vec::new();
        let mut paths: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
        for (method, path, op) in operations(&doc) {
            let at = format!("{} {path}", method.to_uppercase());
            let url = concrete(&path, &op);
            let (status, body) = send(&app, &method, &url, None).await;
            let code = body["error"]["code"].as_str().unwrap_or_default();
            let fallback = code == "NOT_FOUND"
                && body["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("no route for");
            if fallback || status == StatusCode::METHOD_NOT_ALLOWED {
                problems.push(format!("{at}: documented but not routed ({status} {code})"));
            }
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if secured && code != "UNAUTHENTICATED" {
                problems.push(format!("{at}: documented as secured, but without credentials it answered {status} {code}"));
            }
            if !secured && (code == "UNAUTHENTICATED" || code == "SETUP_REQUIRED") {
                problems.push(format!(
                    "{at}: documented as public, but it answered {code}"
                ));
            }
            paths
                .entry(path.clone())
                .or_insert_with(|| (url, Vec::new()))
                .1
                .push(method);
        }
        for (path, (url, documented)) in &paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                if documented.iter().any(|m| m == method) {
                    continue;
                }
                let (status, body) = send(&app, method, url, Some(&credentials)).await;
                if status != StatusCode::METHOD_NOT_ALLOWED {
                    problems.push(format!(
                        "{} {path}: not documented, but the router answered {status} {}",
                        method.to_uppercase(),
                        body["error"]["code"]
                    ));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[tokio::test]
    async fn the_route_serves_the_document() {
        let app = test_app().await;
        let resp = app
            .oneshot(
                Request::get("/api/v1/openapi.json")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
        let body: Value =
            serde_json::from_slice(&to_bytes(resp.into_body(), 1 << 22).await.unwrap()).unwrap();
        assert_eq!(body, doc());
    }

    /// The design above holds only if routes reach the router through `routes!`. Fail when a file
    /// of the HTTP layer registers an axum route directly (outside its tests).
    #[test]
    fn no_http_module_registers_raw_axum_routes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (n, line) in code.lines().enumerate() {
                let line = line.trim_start();
                if line.starts_with("//") {
                    continue;
                }
                for forbidden in [
                    ".route(",
                    ".route_service(",
                    ".nest_service(",
                    ".fallback_service(",
                    "routing::",
                ] {
                    assert!(
                        !line.contains(forbidden),
                        "{}:{}: `{forbidden}` registers a route the OpenAPI document does not know; annotate the \
                         handler with #[utoipa::path] and add it with utoipa_axum::routes! instead",
                        path.display(),
                        n + 1
                    );
                }
            }
            checked += 1;
        }
        assert!(
            checked >= 10,
            "only {checked} files checked in {}",
            dir.display()
        );
    }
}

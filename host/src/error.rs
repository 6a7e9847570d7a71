//! The daemon's one client-facing error type and the catalogue of stable error codes.
//!
//! Every failure that reaches an HTTP client is an [`Error`]; its [`ErrorCode`] is the stable,
//! documented contract (listed in `docs/errors.md`, which a test keeps in sync with
//! [`ErrorCode::ALL`]). Internal causes are logged with the request id and never rendered.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;

/// Result with the daemon's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])+ $variant:ident = ($code:literal, $status:expr), )+) => {
        /// A stable error code. The string form is part of the public API: never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl ErrorCode {
            /// Every code, in catalogue order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The upper-snake string sent to clients.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)+ }
            }

            /// The HTTP status this code is sent with.
            pub fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => $status,)+ }
            }

            /// One-line description for the documentation.
            pub fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => concat!($($doc),+).trim_ascii(),)+ }
            }
        }

        /// One marker type per [`ErrorCode`], named like the variant, so an endpoint's OpenAPI
        /// annotation can list the codes it answers with and the compiler checks them:
        /// `responses(..., Errors<(code::NotFound, code::Conflict)>)` (see `http::openapi`).
        pub mod code {
            $(
                $(#[doc = $doc])+
                #[derive(Debug)]
                pub struct $variant;

                impl super::Codes for $variant {
                    fn collect(out: &mut Vec<super::ErrorCode>) {
                        out.push(super::ErrorCode::$variant);
                    }
                }
            )+
        }
    };
}

/// A list of error codes as a type: one [`code`] marker, or a tuple of lists (nested tuples are
/// fine, so common groups can be named with a type alias).
pub trait Codes {
    /// Append the codes, in order.
    fn collect(out: &mut Vec<ErrorCode>);
}

macro_rules! tuple_codes {
    ($($t:ident),+) => {
        impl<$($t: Codes),+> Codes for ($($t,)+) {
            fn collect(out: &mut Vec<ErrorCode>) {
                $($t::collect(out);)+
            }
        }
    };
}

tuple_codes!(A);
tuple_codes!(A, B);
tuple_codes!(A, B, C);
tuple_codes!(A, B, C, D);
tuple_codes!(A, B, C, D, E);
tuple_codes!(A, B, C, D, E, F);
tuple_codes!(A, B, C, D, E, F, G);
tuple_codes!(A, B, C, D, E, F, G, H);
tuple_codes!(A, B, C, D, E, F, G, H, I);
tuple_codes!(A, B, C, D, E, F, G, H, I, J);
tuple_codes!(A, B, C, D, E, F, G, H, I, J, K);
tuple_codes!(A, B, C, D, E, F, G, H, I, J, K, L);

error_codes! {
    /// The request body is not valid JSON, or does not have the expected shape.
    MalformedJson = ("MALFORMED_JSON", StatusCode::BAD_REQUEST),
    /// A query string or path parameter could not be parsed.
    BadRequest = ("BAD_REQUEST", StatusCode::BAD_REQUEST),
    /// One or more fields are invalid; `fields` says which and why.
    ValidationFailed = ("VALIDATION_FAILED", StatusCode::UNPROCESSABLE_ENTITY),
    /// The request body's content type is not `application/json`.
    UnsupportedMediaType = ("UNSUPPORTED_MEDIA_TYPE", StatusCode::UNSUPPORTED_MEDIA_TYPE),
    /// The request body is larger than the configured limit.
    PayloadTooLarge = ("PAYLOAD_TOO_LARGE", StatusCode::PAYLOAD_TOO_LARGE),
    /// No route matches the path.
    NotFound = ("NOT_FOUND", StatusCode::NOT_FOUND),
    /// The route exists but not with this HTTP method.
    MethodNotAllowed = ("METHOD_NOT_ALLOWED", StatusCode::METHOD_NOT_ALLOWED),
    /// The request took longer than the configured request timeout.
    RequestTimeout = ("REQUEST_TIMEOUT", StatusCode::REQUEST_TIMEOUT),
    /// The change conflicts with the current state (e.g. a duplicate).
    Conflict = ("CONFLICT", StatusCode::CONFLICT),
    /// The same background job is already running for this target; try again when it ends.
    JobRunning = ("JOB_RUNNING", StatusCode::CONFLICT),
    /// The user sync would mark more accounts as vanished than `sync.max_vanished_percent`
    /// allows (a misconfigured server answering an empty list looks like this); nothing was
    /// changed. Check the server, or repeat with `force`.
    SyncRefused = ("SYNC_REFUSED", StatusCode::CONFLICT),
    /// First-run setup has not been done yet; `POST /api/v1/setup` first.
    SetupRequired = ("SETUP_REQUIRED", StatusCode::FORBIDDEN),
    /// First-run setup was sent to a host name that is not the daemon's own (an IP address,
    /// `localhost`, a LAN name such as `nas` or `nas.local`, or the public URL's host), or from a
    /// page of another origin: a site whose name resolves to the daemon (DNS rebinding) must not
    /// be able to create the admin. Open the setup at the daemon's address.
    SetupHostRefused = ("SETUP_HOST_REFUSED", StatusCode::FORBIDDEN),
    /// Setup was already done; it runs only once.
    SetupAlreadyDone = ("SETUP_ALREADY_DONE", StatusCode::CONFLICT),
    /// No valid session cookie or API key was presented (or it expired).
    Unauthenticated = ("UNAUTHENTICATED", StatusCode::UNAUTHORIZED),
    /// Wrong username or password (the same answer for both).
    InvalidCredentials = ("INVALID_CREDENTIALS", StatusCode::UNAUTHORIZED),
    /// The TOTP or backup code is wrong, already used, or the login challenge expired.
    InvalidSecondFactor = ("INVALID_SECOND_FACTOR", StatusCode::UNAUTHORIZED),
    /// Too many failed logins: the account is locked for the time in `Retry-After`.
    AccountLocked = ("ACCOUNT_LOCKED", StatusCode::TOO_MANY_REQUESTS),
    /// Authenticated, but not allowed to do this.
    Forbidden = ("FORBIDDEN", StatusCode::FORBIDDEN),
    /// The API key's scope (`read`) does not allow changes.
    ForbiddenScope = ("FORBIDDEN_SCOPE", StatusCode::FORBIDDEN),
    /// A sensitive change (TOTP, password, API keys) needs the admin's current password in the
    /// request (`current_password`), and it was missing or wrong. An admin who signs in through a
    /// media server has no Zondarr password: for them the session must have been opened within
    /// the last 5 minutes instead (sign in again). Wrong passwords count toward the lockout.
    StepUpRequired = ("STEP_UP_REQUIRED", StatusCode::FORBIDDEN),
    /// An API key may not create an admin-scope key unless the configuration allows it
    /// (`security.api_keys_create_admin_keys`); create it signed in, or ask for a `read` key.
    AdminKeyFromKey = ("ADMIN_KEY_FROM_KEY", StatusCode::FORBIDDEN),
    /// A cookie-authenticated change came without a matching `Origin` or CSRF token.
    CsrfFailed = ("CSRF_FAILED", StatusCode::FORBIDDEN),
    /// Too many requests; retry after the time in `Retry-After`.
    RateLimited = ("RATE_LIMITED", StatusCode::TOO_MANY_REQUESTS),
    /// A dependency of the daemon (such as the database) is not available right now.
    Unavailable = ("UNAVAILABLE", StatusCode::SERVICE_UNAVAILABLE),
    /// The invitation code is unknown, expired, disabled or used up (one answer for all, so
    /// codes cannot be probed).
    InviteInvalid = ("INVITE_INVALID", StatusCode::NOT_FOUND),
    /// A server of the invitation cannot take new accounts right now; nothing was created.
    ServerUnavailable = ("SERVER_UNAVAILABLE", StatusCode::SERVICE_UNAVAILABLE),
    /// The invitation offers a library its server no longer lists (library sync marked it
    /// missing); nothing was created. The admin has to edit the invitation or send a new one.
    InvitationLibraryMissing = ("INVITATION_LIBRARY_MISSING", StatusCode::CONFLICT),
    /// The invitation needs a linked account (e.g. "Sign in with Plex") first.
    LinkRequired = ("LINK_REQUIRED", StatusCode::UNPROCESSABLE_ENTITY),
    /// The invitation has a pre-join wizard: complete it and send its `wizard_token`.
    WizardRequired = ("WIZARD_REQUIRED", StatusCode::UNPROCESSABLE_ENTITY),
    /// The wizard token is malformed, forged, expired, for another invitation or wizard, or the
    /// wizard changed since it was issued; start the wizard again.
    WizardTokenInvalid = ("WIZARD_TOKEN_INVALID", StatusCode::UNPROCESSABLE_ENTITY),
    /// Wizard steps are completed in order: the token is not the one for the step before this.
    WizardStepOutOfOrder = ("WIZARD_STEP_OUT_OF_ORDER", StatusCode::CONFLICT),
    /// The step's timer has not run out yet; retry after the time in `Retry-After`.
    WizardTimerRunning = ("WIZARD_TIMER_RUNNING", StatusCode::UNPROCESSABLE_ENTITY),
    /// No connector plugin with this id is loaded.
    PluginNotFound = ("PLUGIN_NOT_FOUND", StatusCode::NOT_FOUND),
    /// The plugin file was refused by the load pipeline; the message says why.
    PluginInvalid = ("PLUGIN_INVALID", StatusCode::UNPROCESSABLE_ENTITY),
    /// The plugin crashed (trapped, panicked, ran out of memory or CPU budget).
    PluginFailed = ("PLUGIN_FAILED", StatusCode::BAD_GATEWAY),
    /// The plugin did not finish within its wall-clock limit.
    PluginTimeout = ("PLUGIN_TIMEOUT", StatusCode::GATEWAY_TIMEOUT),
    /// The plugin (or the plugin with this server) failed too many times in a row and is not called for a while (30 s, doubled each time, up to 15 min) or until it is reloaded.
    PluginUnhealthy = ("PLUGIN_UNHEALTHY", StatusCode::SERVICE_UNAVAILABLE),
    /// The plugin tried to reach a host it did not declare; nothing was sent.
    PluginHostDenied = ("PLUGIN_HOST_DENIED", StatusCode::BAD_GATEWAY),
    /// The plugin has as many calls running as it may; retry shortly.
    PluginBusy = ("PLUGIN_BUSY", StatusCode::SERVICE_UNAVAILABLE),
    /// The connector does not support this operation.
    Unsupported = ("UNSUPPORTED", StatusCode::NOT_IMPLEMENTED),
    /// The media server refused the configured credentials.
    RemoteUnauthorized = ("REMOTE_UNAUTHORIZED", StatusCode::BAD_GATEWAY),
    /// The media server's credentials are valid but lack the rights for this.
    RemoteForbidden = ("REMOTE_FORBIDDEN", StatusCode::BAD_GATEWAY),
    /// The media server says the object does not exist.
    RemoteNotFound = ("REMOTE_NOT_FOUND", StatusCode::NOT_FOUND),
    /// The username is already taken on the media server.
    UsernameTaken = ("USERNAME_TAKEN", StatusCode::CONFLICT),
    /// The invitee's linked account already has access to that server through Zondarr.
    AlreadyMember = ("ALREADY_MEMBER", StatusCode::CONFLICT),
    /// The media server refused the input.
    RemoteInvalidInput = ("REMOTE_INVALID_INPUT", StatusCode::UNPROCESSABLE_ENTITY),
    /// The media server could not be reached.
    RemoteUnreachable = ("REMOTE_UNREACHABLE", StatusCode::BAD_GATEWAY),
    /// The media server did not answer in time.
    RemoteTimeout = ("REMOTE_TIMEOUT", StatusCode::GATEWAY_TIMEOUT),
    /// The media server asked to slow down.
    RemoteRateLimited = ("REMOTE_RATE_LIMITED", StatusCode::SERVICE_UNAVAILABLE),
    /// The media server answered with something unexpected.
    RemoteError = ("REMOTE_ERROR", StatusCode::BAD_GATEWAY),
    /// The server's URL (its origin or base path) or an extra host's origin changes, or it is to
    /// trust more certificates (a new CA certificate, or invalid ones accepted), and the stored
    /// secrets were given under the old address and trust: enter them again in the same request
    /// (`fields` names each). The stored secrets are never sent to the new address.
    SecretsRequired = ("SECRETS_REQUIRED", StatusCode::UNPROCESSABLE_ENTITY),
    /// The server's `ca_certificate` is not usable: not PEM, no certificate in it, a block that
    /// is not an X.509 certificate, a private key among the certificates, or over 64 KiB
    /// (`fields` says which). Give the CA certificate(s) in PEM form only.
    CaCertificateInvalid = ("CA_CERTIFICATE_INVALID", StatusCode::UNPROCESSABLE_ENTITY),
    /// While the connection was tested, the address answered "not found" (HTTP 404): the URL
    /// probably does not lead to a server of this kind (check the port and any path prefix).
    ServerUrlNotFound = ("SERVER_URL_NOT_FOUND", StatusCode::BAD_GATEWAY),
    /// An unexpected failure inside the daemon; the log has details under the request id.
    Internal = ("INTERNAL", StatusCode::INTERNAL_SERVER_ERROR),
}

/// A field-level validation failure.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    /// The field, as named in the request (dotted for nested fields).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A failure of `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every error a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A client-facing failure with a stable code and a message safe to show.
    #[error("{message}")]
    Client {
        /// The stable code; its status is the HTTP status.
        code: ErrorCode,
        /// Human-readable message; never contains internal details.
        message: String,
        /// Field-level details for `VALIDATION_FAILED`.
        fields: Vec<FieldError>,
        /// Seconds for `Retry-After`, when the client should come back later.
        retry_after: Option<u64>,
    },
    /// An internal failure: logged with the request id, rendered as `INTERNAL`.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// A client error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error::Client {
            code,
            message: message.into(),
            fields: Vec::new(),
            retry_after: None,
        }
    }

    /// `VALIDATION_FAILED` with field details.
    pub fn invalid(fields: Vec<FieldError>) -> Self {
        let message = match fields.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", fields.len()),
        };
        Error::Client {
            code: ErrorCode::ValidationFailed,
            message,
            fields,
            retry_after: None,
        }
    }

    /// `NOT_FOUND` for a thing described by `what` (e.g. "plugin").
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// The same client error under another code (keeps message and fields).
    pub fn retagged(mut self, new_code: ErrorCode) -> Self {
        if let Error::Client { code, .. } = &mut self {
            *code = new_code;
        }
        self
    }

    /// Attach a `Retry-After` hint.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        if let Error::Client { retry_after, .. } = &mut self {
            *retry_after = Some(seconds);
        }
        self
    }

    /// The message a client may see: the client message, or a generic line for internal
    /// failures (whose cause is only logged).
    pub fn public_message(&self) -> String {
        match self {
            Error::Client { message, .. } => message.clone(),
            Error::Internal(_) => "an internal error occurred; the daemon log has details".into(),
        }
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Client { code, .. } => *code,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Internal(anyhow::Error::new(e).context("database"))
    }
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Self {
        tracing::warn!(error = %e, "database pool exhausted or unavailable");
        Error::new(ErrorCode::Unavailable, "the database is busy; try again").with_retry_after(1)
    }
}

/// What an error response carries until the envelope middleware renders it with the request id
/// (see `http::render_errors`). Kept in the response extensions, never serialised directly.
#[derive(Debug, Clone)]
pub struct ErrorPayload {
    /// The stable code.
    pub code: ErrorCode,
    /// The message safe to show.
    pub message: String,
    /// Field details.
    pub fields: Vec<FieldError>,
    /// Internal cause, logged by the middleware, never rendered.
    pub internal: Option<Arc<str>>,
}

/// The JSON error envelope of SPEC.md §4: every error response has this shape.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ErrorEnvelope)]
pub struct Envelope<'a> {
    /// The error.
    pub error: EnvelopeBody<'a>,
}

/// Body of the JSON error envelope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ErrorBody)]
pub struct EnvelopeBody<'a> {
    /// Stable code (see the `ErrorCode` schema); clients match on it, not on the message.
    #[schema(value_type = ErrorCode)]
    pub code: &'a str,
    /// Human-readable message, safe to show; it never contains internal details.
    pub message: &'a str,
    /// The request id, also in the `x-request-id` header.
    pub request_id: &'a str,
    /// Field details (for `VALIDATION_FAILED`), omitted when empty.
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    #[schema(value_type = Vec<FieldError>)]
    pub fields: &'a [FieldError],
}

/// The OpenAPI schema of the codes: a string enum of [`ErrorCode::ALL`] whose description is the
/// catalogue (code, HTTP status, meaning).
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let mut description = String::from(
            "A stable error code. Codes are never renamed; clients may match on them.\n\n\
             | Code | HTTP status | Meaning |\n|---|---|---|\n",
        );
        for code in ErrorCode::ALL {
            description.push_str(&format!(
                "| `{}` | {} | {} |\n",
                code.as_str(),
                code.status().as_u16(),
                code.description()
            ));
        }
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .description(Some(description))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCode {}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (payload, retry_after) = match self {
            Error::Client {
                code,
                message,
                fields,
                retry_after,
            } => (
                ErrorPayload {
                    code,
                    message,
                    fields,
                    internal: None,
                },
                retry_after,
            ),
            Error::Internal(err) => (
                ErrorPayload {
                    code: ErrorCode::Internal,
                    message: "internal error; the daemon log has details under this request id"
                        .to_owned(),
                    fields: Vec::new(),
                    internal: Some(format!("{err:#}").into()),
                },
                None,
            ),
        };
        let mut response = payload.code.status().into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response.extensions_mut().insert(payload);
        response
    }
}

/// Render the catalogue as Markdown (the body of `docs/errors.md`).
pub fn catalogue_markdown() -> String {
    let mut out = String::from(
        "# Error codes\n\n\
         Every error response has the shape `{\"error\": {\"code\", \"message\", \"request_id\", \"fields\"?}}`.\n\
         Codes are stable: clients may match on them. This file is generated from `host/src/error.rs`;\n\
         a test fails when they differ (`UPDATE_DOCS=1 cargo test` rewrites it).\n\n\
         | Code | HTTP status | Meaning |\n|---|---|---|\n",
    );
    for code in ErrorCode::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            code.as_str(),
            code.status().as_u16(),
            code.description()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_upper_snake() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{s}");
            assert!(!code.description().is_empty());
        }
    }

    #[test]
    fn only_internal_is_a_500() {
        for code in ErrorCode::ALL {
            let is_500 = code.status() == StatusCode::INTERNAL_SERVER_ERROR;
            assert_eq!(is_500, *code == ErrorCode::Internal, "{}", code.as_str());
        }
    }

    #[test]
    fn docs_errors_md_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/errors.md");
        let want = catalogue_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            have, want,
            "docs/errors.md is stale: run UPDATE_DOCS=1 cargo test -p zondarr"
        );
    }

    #[test]
    fn invalid_names_the_single_field() {
        let e = Error::invalid(vec![FieldError::new("name", "must not be empty")]);
        assert_eq!(e.code(), ErrorCode::ValidationFailed);
        assert_eq!(e.to_string(), "name: must not be empty");
    }
}

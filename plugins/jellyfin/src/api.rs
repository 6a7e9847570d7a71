//! Talking to Jellyfin: sending a request, turning its status into the contract's errors, and
//! decoding its JSON with messages an admin can act on (an HTML login page, an empty or cut-off
//! body). Also the few response shapes the connector reads; every other field is ignored on the
//! way in. Policies are kept as raw JSON objects (see `policy.rs`) so no field is ever lost.
//!
//! Messages name the method and path only: never the server URL, a token or a password.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use zondarr_plugin_sdk::serde_json::{self, Map, Value};
use zondarr_plugin_sdk::{Error, Request, Response, Result, Server};

/// `GET|POST … path` without the query, for messages.
pub(crate) fn describe(request: &Request) -> String {
    let target = request.target();
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    format!("{} {path}", request.method().as_str())
}

/// Sends `request` with `Accept: application/json`. A 2xx answer is returned; anything else is
/// the matching error: 401 `unauthorized`, 403 `forbidden`, 404 `not-found` naming `what`, 400
/// `invalid-input` with the server's text when it has a useful one, 429 `rate-limited`, other
/// statuses `remote-status`.
pub(crate) fn send(server: &Server<'_>, request: Request, what: &str) -> Result<Response> {
    let label = describe(&request);
    let response = server.request(request.header("Accept", "application/json"))?;
    check(response, &label, what)
}

/// The status check of [`send`], for responses the caller inspected first.
pub(crate) fn check(response: Response, label: &str, what: &str) -> Result<Response> {
    match response.status() {
        200..=299 => Ok(response),
        400 => Err(Error::InvalidInput(match server_text(&response) {
            Some(text) => format!("Jellyfin refused {label}: {text}"),
            None => format!("Jellyfin refused {label} as invalid"),
        })),
        404 => Err(Error::NotFound(what.to_owned())),
        _ => response.error_for_status(),
    }
}

/// The server's plain-text error, when it says more than Jellyfin's production placeholder.
pub(crate) fn server_text(response: &Response) -> Option<String> {
    let text = std::str::from_utf8(response.body()).ok()?.trim();
    let useless = text.is_empty()
        || text.starts_with('<')
        || text.starts_with('{')
        || text.eq_ignore_ascii_case("Error processing request.");
    if useless {
        return None;
    }
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.chars().count() <= 200 {
        return Some(clean);
    }
    let mut clipped: String = clean.chars().take(200).collect();
    clipped.push('…');
    Some(clipped)
}

/// Decodes a JSON body, explaining what was wrong with it.
pub(crate) fn decode<T: DeserializeOwned>(response: &Response, label: &str) -> Result<T> {
    let body = response.body();
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| &body[i..]);
    let start = start.map(|b| b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b));
    match start {
        None | Some([]) => {
            return Err(Error::InvalidResponse(format!(
                "Jellyfin answered {label} with an empty body instead of JSON"
            )));
        }
        Some([b'<', ..]) => {
            return Err(Error::InvalidResponse(format!(
                "Jellyfin answered {label} with HTML instead of JSON; check that the server URL \
                 points at Jellyfin itself and not at a login page or a proxy's error page"
            )));
        }
        Some(_) => {}
    }
    serde_json::from_slice(body).map_err(|err| {
        Error::InvalidResponse(if err.is_eof() {
            format!(
                "Jellyfin answered {label} with truncated JSON (the body ends after {} bytes)",
                body.len()
            )
        } else {
            format!("Jellyfin answered {label} with JSON the connector cannot read: {err}")
        })
    })
}

/// [`send`] then [`decode`].
pub(crate) fn fetch_json<T: DeserializeOwned>(
    server: &Server<'_>,
    request: Request,
    what: &str,
) -> Result<T> {
    let label = describe(&request);
    let response = send(server, request, what)?;
    decode(&response, &label)
}

/// `SystemInfo` and `PublicSystemInfo` (the fields read from either).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SystemInfo {
    pub(crate) server_name: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) product_name: Option<String>,
    pub(crate) id: Option<String>,
}

/// `VirtualFolderInfo`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct VirtualFolder {
    pub(crate) name: Option<String>,
    pub(crate) collection_type: Option<String>,
    pub(crate) item_id: Option<String>,
}

/// `UserDto`, with the policy flags the listing needs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) last_activity_date: Option<String>,
    pub(crate) last_login_date: Option<String>,
    pub(crate) policy: Option<PolicyFlags>,
}

/// The two `UserPolicy` flags the connector reports.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PolicyFlags {
    #[serde(default)]
    pub(crate) is_administrator: bool,
    #[serde(default)]
    pub(crate) is_disabled: bool,
}

/// `UserDto` with its whole policy as a JSON object, for read-modify-write.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UserWithPolicy {
    pub(crate) policy: Option<Map<String, Value>>,
}

/// `AuthenticationResult`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AuthenticationResult {
    pub(crate) user: Option<User>,
    pub(crate) access_token: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn json_response(body: &str) -> Response {
        Response::new(200).with_body(body)
    }

    #[test]
    fn decoding_explains_bad_bodies() {
        let err = |body: &str| match decode::<Vec<User>>(&json_response(body), "GET /Users") {
            Err(Error::InvalidResponse(message)) => message,
            other => panic!("expected invalid-response, got {other:?}"),
        };
        assert!(err("").contains("empty body"));
        assert!(err("  \n").contains("empty body"));
        assert!(err("<!DOCTYPE html><html>").contains("HTML"));
        assert!(err("\u{feff}<html>").contains("HTML"));
        assert!(err(r#"[{"Id":"a","Na"#).contains("truncated JSON"));
        assert!(err(r#"{"Id":"a"}"#).contains("cannot read"));
        assert!(err("Error processing request.").contains("cannot read"));
        let users: Vec<User> = decode(&json_response(r#"[{"Id":"a","Extra":1}]"#), "x").unwrap();
        assert_eq!(users[0].id, "a");
    }

    #[test]
    fn statuses_map_to_errors() {
        let status = |code: u16, body: &str| {
            check(
                Response::new(code).with_body(body),
                "POST /Users/New",
                "the user",
            )
        };
        assert!(status(204, "").is_ok());
        assert_eq!(status(401, "").unwrap_err(), Error::Unauthorized);
        assert_eq!(
            status(403, "").unwrap_err(),
            Error::Forbidden("the server does not allow the request for these credentials".into())
        );
        assert_eq!(
            status(404, "").unwrap_err(),
            Error::NotFound("the user".into())
        );
        assert_eq!(status(500, "").unwrap_err(), Error::RemoteStatus(500));
        assert_eq!(
            status(400, "Error processing request.").unwrap_err(),
            Error::InvalidInput("Jellyfin refused POST /Users/New as invalid".into())
        );
        assert_eq!(
            status(400, "Password is too short\n").unwrap_err(),
            Error::InvalidInput("Jellyfin refused POST /Users/New: Password is too short".into())
        );
        assert!(
            matches!(status(400, "<html>"), Err(Error::InvalidInput(m)) if !m.contains("html"))
        );
    }

    #[test]
    fn labels_leave_out_the_query() {
        let request = Request::post("/Users/Password").query("userId", "abc");
        assert_eq!(describe(&request), "POST /Users/Password");
    }
}

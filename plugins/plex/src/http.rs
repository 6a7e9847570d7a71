//! Requests to the three places the connector talks to (the owner's Plex Media Server, plex.tv with
//! the owner's token, clients.plex.tv without it) and the mapping of their answers to SDK errors.
//!
//! Error texts built here never quote a response body verbatim: plex.tv answers carry access
//! tokens (`SharedServer@accessToken`, `authToken`), and a connector error ends up in the daemon's
//! log. Only Plex's own short error message is passed on, and decoder messages are redacted.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use zondarr_plugin_sdk::prelude::*;
use zondarr_plugin_sdk::{install_id, percent_encode};

/// Extra host id of plex.tv; the daemon injects the owner's token into every request.
pub const PLEX_TV: &str = "plex-tv";
/// Extra host id of clients.plex.tv; no credentials are injected. Used for the PIN and for calls
/// made on the invitee's behalf with the invitee's own token.
pub const CLIENTS: &str = "clients-plex-tv";
/// `X-Plex-Product`, also the product name shown on Plex's sign-in page.
pub const PRODUCT: &str = "Zondarr";
/// Longest remote error message passed on to the admin.
const MAX_MESSAGE: usize = 200;

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    /// The configured Plex Media Server (owner's token injected).
    Pms,
    /// plex.tv (owner's token injected).
    Owner,
    /// clients.plex.tv (nothing injected).
    Clients,
}

/// Adds the client identification Plex wants on every call. The identifier is the daemon's
/// install id: stable per installation (plex.tv ties a PIN to it) and never shared between
/// installs.
fn identify(request: Request) -> Request {
    request
        .header("X-Plex-Client-Identifier", install_id())
        .header("X-Plex-Product", PRODUCT)
        .header("X-Plex-Version", env!("CARGO_PKG_VERSION"))
}

/// Sends `request` to `dest` and checks the status; `what` names the object for error texts.
pub fn send(server: &Server<'_>, dest: Dest, request: Request, what: &str) -> Result<Response> {
    let request = identify(request);
    let response = match dest {
        Dest::Pms => server.request(request),
        Dest::Owner => server.fetch(PLEX_TV, request),
        Dest::Clients => server.fetch(CLIENTS, request),
    }?;
    check(response, what)
}

/// `GET path` asking for XML, status checked, body decoded.
pub fn get_xml<T: DeserializeOwned>(
    server: &Server<'_>,
    dest: Dest,
    path: &str,
    what: &str,
) -> Result<T> {
    let response = send(
        server,
        dest,
        Request::get(path).header("Accept", "application/xml"),
        what,
    )?;
    decode_xml(&response, what)
}

/// Sends `request` asking for JSON, status checked, body decoded.
pub fn json<T: DeserializeOwned>(
    server: &Server<'_>,
    dest: Dest,
    request: Request,
    what: &str,
) -> Result<T> {
    let response = send(
        server,
        dest,
        request.header("Accept", "application/json"),
        what,
    )?;
    decode_json(&response, what)
}

/// The response when its status is 2xx, otherwise the matching error. A 400 or 422 carries Plex's
/// own message as [`Error::InvalidInput`] (e.g. "already sharing"), so callers can react to it.
pub fn check(response: Response, what: &str) -> Result<Response> {
    if response.is_success() {
        return Ok(response);
    }
    let status = response.status();
    Err(match status {
        401 => Error::Unauthorized,
        403 => Error::Forbidden(format!("Plex does not let this token reach {what}")),
        404 => Error::NotFound(what.to_owned()),
        429 => Error::RateLimited(
            response
                .header("retry-after")
                .and_then(|value| value.trim().parse().ok()),
        ),
        400 | 422 => Error::InvalidInput(
            remote_message(&response)
                .unwrap_or_else(|| format!("Plex refused the request for {what} (HTTP {status})")),
        ),
        _ => Error::RemoteStatus(status),
    })
}

/// Decodes an XML body; decoder messages are redacted (see the module documentation).
pub fn decode_xml<T: DeserializeOwned>(response: &Response, what: &str) -> Result<T> {
    response.xml().map_err(|err| invalid(what, err))
}

/// Decodes a JSON body; decoder messages are redacted.
pub fn decode_json<T: DeserializeOwned>(response: &Response, what: &str) -> Result<T> {
    response.json().map_err(|err| invalid(what, err))
}

fn invalid(what: &str, err: Error) -> Error {
    match err {
        Error::InvalidResponse(message) => Error::InvalidResponse(format!(
            "unexpected answer for {what}: {}",
            redact(&message)
        )),
        other => other,
    }
}

/// Replaces every double-quoted part of a decoder message (serde quotes the offending value
/// there) with `"…"`, and keeps the message on one bounded line.
pub fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        if c == '"' {
            if quoted {
                out.push_str("…\"");
            } else {
                out.push('"');
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(if c.is_control() { ' ' } else { c });
        }
    }
    if quoted {
        out.push_str("…\"");
    }
    clip(&out)
}

fn clip(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    if trimmed.chars().count() <= MAX_MESSAGE {
        return trimmed.to_owned();
    }
    let mut cut: String = trimmed.chars().take(MAX_MESSAGE).collect();
    cut.push('…');
    cut
}

/// v1 error: `<Response code="400" status="message"/>`.
#[derive(Deserialize)]
struct XmlResponse {
    #[serde(rename = "@status")]
    status: Option<String>,
}

/// v2 error as XML: `<errors><error code=".." message=".." status=".."/></errors>`.
#[derive(Deserialize)]
struct XmlErrors {
    #[serde(rename = "error", default)]
    errors: Vec<XmlError>,
}

#[derive(Deserialize)]
struct XmlError {
    #[serde(rename = "@message")]
    message: Option<String>,
}

/// v2 error as JSON: `{"errors":[{"code":1001,"message":"..","status":401}]}`.
#[derive(Deserialize)]
struct JsonErrors {
    errors: Vec<JsonError>,
}

#[derive(Deserialize)]
struct JsonError {
    message: Option<String>,
}

/// Plex's own error message in any of its error shapes, if the body has one.
pub fn remote_message(response: &Response) -> Option<String> {
    let text = response.text().ok()?.trim();
    let message = if text.starts_with('{') {
        let errors: JsonErrors = serde_json::from_str(text).ok()?;
        errors.errors.into_iter().find_map(|e| e.message)
    } else if text.starts_with('<') {
        let errors = response.xml::<XmlErrors>().ok();
        errors
            .and_then(|e| e.errors.into_iter().find_map(|e| e.message))
            .or_else(|| response.xml::<XmlResponse>().ok().and_then(|r| r.status))
    } else {
        None
    }?;
    let message = clip(&message);
    (!message.is_empty()).then_some(message)
}

/// A remote id that goes into a path: percent-encoded, never empty.
pub fn segment(id: &str, what: &str) -> Result<String> {
    if id.trim().is_empty() {
        return Err(Error::InvalidInput(format!("{what} is empty")));
    }
    Ok(percent_encode(id.trim()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_typed_errors() {
        let err = |response: Response| check(response, "the users").unwrap_err();
        assert_eq!(err(Response::new(401)), Error::Unauthorized);
        assert_eq!(
            err(Response::new(403)),
            Error::Forbidden("Plex does not let this token reach the users".into())
        );
        assert_eq!(err(Response::new(404)), Error::NotFound("the users".into()));
        assert_eq!(
            err(Response::new(429).with_header("Retry-After", "12")),
            Error::RateLimited(Some(12))
        );
        assert_eq!(err(Response::new(429)), Error::RateLimited(None));
        assert_eq!(err(Response::new(503)), Error::RemoteStatus(503));
        assert_eq!(
            err(Response::new(400).with_body(
                r#"<Response code="400" status="You're already sharing this server"/>"#
            )),
            Error::InvalidInput("You're already sharing this server".into())
        );
        assert_eq!(
            err(Response::new(422)
                .with_body(r#"{"errors":[{"code":1,"message":"Bad id","status":422}]}"#)),
            Error::InvalidInput("Bad id".into())
        );
        assert_eq!(
            err(Response::new(400)
                .with_body(r#"<errors><error code="1" message="Nope" status="400"/></errors>"#)),
            Error::InvalidInput("Nope".into())
        );
        assert!(
            matches!(err(Response::new(400).with_body("<html>")), Error::InvalidInput(m) if m.contains("HTTP 400"))
        );
    }

    #[test]
    fn decoder_messages_never_quote_values() {
        assert_eq!(
            redact("invalid type: string \"s3cr3t-token\", expected u64"),
            "invalid type: string \"…\", expected u64"
        );
        assert_eq!(redact("missing field `@id`"), "missing field `@id`");
        assert_eq!(redact("unterminated \"abc"), "unterminated \"…\"");
        let long = "x".repeat(500);
        assert_eq!(redact(&long).chars().count(), MAX_MESSAGE + 1);
    }

    #[test]
    fn segments_are_encoded_and_never_empty() {
        assert_eq!(segment("12 3", "user id").unwrap(), "12%203");
        assert!(matches!(
            segment(" ", "user id"),
            Err(Error::InvalidInput(_))
        ));
    }
}

//! Talking to Jellyfin, on the SDK's status mapping and JSON decoding (which name the request
//! and explain an HTML page, an empty or a cut-off body): only a 404 is told apart, naming what
//! was asked for. Also the few response shapes the connector reads; every other field is ignored
//! on the way in. Policies are kept as raw JSON (see `policy.rs`) so no field is ever lost.
//!
//! Messages name the method and path only: never the server URL, a token or a password.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use zondarr_plugin_sdk::{Error, Request, Response, Result, Server};

/// Sends `request` with `Accept: application/json` and checks the status ([`check`]).
pub(crate) fn send(server: &Server<'_>, request: Request, what: &str) -> Result<Response> {
    check(
        server.request(request.header("Accept", "application/json"))?,
        what,
    )
}

/// The SDK's status check, except that a 404 is `not-found` naming `what` (the user or list
/// asked for) rather than the path.
pub(crate) fn check(response: Response, what: &str) -> Result<Response> {
    match response.status() {
        404 => Err(Error::NotFound(what.to_owned())),
        _ => response.error_for_status(),
    }
}

/// [`send`], then the JSON answer decoded.
pub(crate) fn fetch_json<T: DeserializeOwned>(
    server: &Server<'_>,
    request: Request,
    what: &str,
) -> Result<T> {
    send(server, request, what)?.json()
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

    #[test]
    fn a_404_names_what_was_asked_for_and_other_statuses_are_the_sdks() {
        let status = |code: u16| check(Response::new(code), "Jellyfin user 0a1b");
        assert!(status(204).is_ok());
        assert_eq!(
            status(404).unwrap_err(),
            Error::NotFound("Jellyfin user 0a1b".into())
        );
        assert_eq!(status(401).unwrap_err(), Error::Unauthorized);
        assert_eq!(status(500).unwrap_err(), Error::RemoteStatus(500));
    }
}

//! "Sign in with Plex" for invitees: a strong PIN on clients.plex.tv, the app.plex.tv page where
//! the invitee approves it, polling, and resolving the PIN's token to the plex.tv account.
//!
//! These calls go to the `clients-plex-tv` host, which the daemon sends no credentials to: the
//! owner's token has no business in an invitee's sign-in, and the invitee's token is set by the
//! connector itself. The PIN is bound to `X-Plex-Client-Identifier`, the daemon's install id, so
//! polling must (and does) send the same one.

use zondarr_plugin_sdk::prelude::*;
use zondarr_plugin_sdk::{debug, install_id, percent_encode};

use crate::http::{Dest, PRODUCT, decode_json, json, segment, send};
use crate::model::{Account, Pin, non_empty};

/// Where the invitee approves the PIN. Fixed: a per-server override of the plex.tv origins (used
/// to point tests at a fake) never changes this page.
pub const AUTH_PAGE: &str = "https://app.plex.tv/auth#?";

/// `POST /api/v2/pins?strong=true`.
pub fn start_link(server: &Server<'_>) -> Result<LinkStart> {
    let request = Request::post("/api/v2/pins").query("strong", "true");
    let pin: Pin = json(server, Dest::Clients, request, "the Plex sign-in PIN")?;
    let expires_in = pin
        .expires_in
        .filter(|seconds| *seconds > 0)
        .and_then(|seconds| u32::try_from(seconds).ok())
        .ok_or_else(|| {
            Error::InvalidResponse("plex.tv returned a PIN without its lifetime".into())
        })?;
    if pin.code.trim().is_empty() {
        return Err(Error::InvalidResponse(
            "plex.tv returned a PIN without a code".into(),
        ));
    }
    debug!("started Plex PIN {}", pin.id);
    Ok(LinkStart {
        auth_url: auth_url(&install_id(), &pin.code),
        pin_id: pin.id,
        code: pin.code,
        expires_in,
    })
}

/// The app.plex.tv URL for a PIN code.
pub fn auth_url(client_id: &str, code: &str) -> String {
    format!(
        "{AUTH_PAGE}clientID={}&code={}&{}={}",
        percent_encode(client_id),
        percent_encode(code),
        percent_encode("context[device][product]"),
        percent_encode(PRODUCT)
    )
}

/// `GET /api/v2/pins/{id}`: pending until approved, expired on 404, then the account behind the
/// token (`GET /api/v2/user` with that token).
pub fn poll_link(server: &Server<'_>, pin_id: &str) -> Result<LinkStatus> {
    let pin_id = pin_id.trim();
    if pin_id.is_empty() || pin_id.len() > 20 || !pin_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidInput("a Plex PIN id is a number".into()));
    }
    let path = format!("/api/v2/pins/{}", segment(pin_id, "the PIN id")?);
    let request = Request::get(path).header("Accept", "application/json");
    let response = match send(server, Dest::Clients, request, "the Plex sign-in PIN") {
        Ok(response) => response,
        // plex.tv forgets a PIN when it expires.
        Err(Error::NotFound(_)) => return Ok(LinkStatus::Expired),
        Err(err) => return Err(err),
    };
    let pin: Pin = decode_json(&response, "the Plex sign-in PIN")?;
    let Some(token) = pin.auth_token.filter(|token| !token.trim().is_empty()) else {
        return Ok(if pin.expires_in.is_some_and(|seconds| seconds <= 0) {
            LinkStatus::Expired
        } else {
            LinkStatus::Pending
        });
    };
    let request = Request::get("/api/v2/user").header("X-Plex-Token", token.as_str());
    let account: Account = json(
        server,
        Dest::Clients,
        request,
        "the invitee's plex.tv account",
    )?;
    let username = non_empty(account.username.as_deref())
        .or_else(|| non_empty(account.title.as_deref()))
        .ok_or_else(|| Error::InvalidResponse("the plex.tv account has no username".into()))?
        .to_owned();
    debug!("Plex PIN {pin_id} linked plex.tv account {}", account.id);
    Ok(LinkStatus::Linked(LinkedAccount {
        id: account.id,
        username,
        email: account.email.filter(|email| !email.trim().is_empty()),
        token,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Plex;
    use zondarr_plugin_sdk::serde_json::json;
    use zondarr_plugin_sdk::testing::MockServer;

    #[test]
    fn auth_url_is_app_plex_tv_with_encoded_context() {
        assert_eq!(
            auth_url("abc 1", "XYZ"),
            "https://app.plex.tv/auth#?clientID=abc%201&code=XYZ&context%5Bdevice%5D%5Bproduct%5D=Zondarr"
        );
    }

    #[test]
    fn pin_lifecycle_without_the_owner_token() {
        let mock = MockServer::for_connector::<Plex>("http://pms.test", |host, request| {
            assert_eq!(host, Some("clients-plex-tv"));
            assert_eq!(
                request.header_value("x-plex-client-identifier"),
                Some("native-test-install")
            );
            match request.target() {
                "/api/v2/pins?strong=true" => Response::from_json(
                    201,
                    &json!({"id": 77, "code": "CODE", "expiresIn": 1800, "authToken": null}),
                ),
                "/api/v2/pins/77" => Response::from_json(
                    200,
                    &json!({"id": 77, "code": "CODE", "expiresIn": 1700, "authToken": "invitee"}),
                ),
                "/api/v2/pins/78" => Response::from_json(
                    200,
                    &json!({"id": 78, "code": "C", "expiresIn": 0, "authToken": null}),
                ),
                "/api/v2/user" => {
                    assert_eq!(request.header_value("x-plex-token"), Some("invitee"));
                    Response::from_json(
                        200,
                        &json!({"id": 5, "username": "ann", "email": "ann@example.com"}),
                    )
                }
                _ => Ok(Response::new(404)),
            }
        });
        let server = mock.server();
        let start = start_link(&server).unwrap();
        assert_eq!(start.pin_id, "77");
        assert_eq!(start.expires_in, 1800);
        assert!(
            start
                .auth_url
                .contains("clientID=native-test-install&code=CODE")
        );
        let LinkStatus::Linked(account) = poll_link(&server, "77").unwrap() else {
            panic!("expected a linked account");
        };
        assert_eq!(
            (account.id.as_str(), account.username.as_str()),
            ("5", "ann")
        );
        assert_eq!(account.token, "invitee");
        assert_eq!(poll_link(&server, "78").unwrap(), LinkStatus::Expired);
        assert_eq!(poll_link(&server, "79").unwrap(), LinkStatus::Expired);
        assert!(matches!(
            poll_link(&server, "../x"),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn unexpected_json_is_an_invalid_response() {
        let mock = MockServer::for_connector::<Plex>("http://pms.test", |_, _| {
            Response::from_json(201, &json!({"pin": {"id": 1}}))
        });
        assert!(matches!(
            start_link(&mock.server()),
            Err(Error::InvalidResponse(_))
        ));
    }
}

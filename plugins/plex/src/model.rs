//! The shapes of the Plex answers the connector reads, with their real element and attribute
//! names (MEDIA-APIS.md §2). Only the fields the connector needs are declared; everything else,
//! notably the access tokens some answers carry, is skipped by the decoder and never held.

use serde::{Deserialize, Deserializer};

/// PMS `GET /identity`: `<MediaContainer machineIdentifier=".." version=".."/>`.
#[derive(Debug, Deserialize)]
pub struct Identity {
    #[serde(rename = "@machineIdentifier")]
    pub machine_identifier: String,
    #[serde(rename = "@version", default)]
    pub version: Option<String>,
}

/// PMS `GET /`: `<MediaContainer friendlyName=".." machineIdentifier=".." version="..">`.
#[derive(Debug, Deserialize)]
pub struct Root {
    #[serde(rename = "@friendlyName")]
    pub friendly_name: String,
    #[serde(rename = "@machineIdentifier")]
    pub machine_identifier: String,
    #[serde(rename = "@version", default)]
    pub version: Option<String>,
}

/// PMS `GET /library/sections`: `<MediaContainer><Directory key title type/>…`.
#[derive(Debug, Deserialize)]
pub struct Sections {
    #[serde(rename = "Directory", default)]
    pub directories: Vec<Directory>,
}

/// One library section of the PMS.
#[derive(Debug, Deserialize)]
pub struct Directory {
    #[serde(rename = "@key")]
    pub key: String,
    #[serde(rename = "@title")]
    pub title: String,
    #[serde(rename = "@type")]
    pub kind: String,
}

/// plex.tv `GET /api/servers/{machineId}`: `<MediaContainer><Server machineIdentifier><Section
/// id key title type/>…`.
#[derive(Debug, Deserialize)]
pub struct TvServers {
    #[serde(rename = "Server", default)]
    pub servers: Vec<TvServer>,
}

/// One server of the owner's plex.tv account.
#[derive(Debug, Deserialize)]
pub struct TvServer {
    #[serde(rename = "@machineIdentifier")]
    pub machine_identifier: String,
    #[serde(rename = "Section", default)]
    pub sections: Vec<TvSection>,
}

/// A library section as plex.tv knows it: `id` is the global id sharing takes, `key` the PMS key.
#[derive(Debug, Clone, Deserialize)]
pub struct TvSection {
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(rename = "@key")]
    pub key: String,
}

/// plex.tv `GET /api/users`: friends and home users with the servers shared with them.
#[derive(Debug, Deserialize)]
pub struct Users {
    #[serde(rename = "User", default)]
    pub users: Vec<User>,
}

/// One `User` of `/api/users`.
#[derive(Debug, Deserialize)]
pub struct User {
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(rename = "@title", default)]
    pub title: Option<String>,
    #[serde(rename = "@username", default)]
    pub username: Option<String>,
    #[serde(rename = "@email", default)]
    pub email: Option<String>,
    #[serde(rename = "@home", default)]
    pub home: Option<String>,
    #[serde(rename = "@restricted", default)]
    pub restricted: Option<String>,
    #[serde(rename = "Server", default)]
    pub servers: Vec<UserServer>,
}

impl User {
    /// Member of the owner's Plex Home (invited account or managed user).
    pub fn is_home(&self) -> bool {
        is_true(self.home.as_deref()) || is_true(self.restricted.as_deref())
    }

    /// The name to show: the username, or the title for managed users who have none.
    pub fn display_name(&self) -> String {
        non_empty(self.username.as_deref())
            .or_else(|| non_empty(self.title.as_deref()))
            .unwrap_or(&self.id)
            .to_owned()
    }
}

/// A `Server` child of a `User`: one server shared with that user.
#[derive(Debug, Deserialize)]
pub struct UserServer {
    #[serde(rename = "@machineIdentifier")]
    pub machine_identifier: String,
    #[serde(rename = "@pending", default)]
    pub pending: Option<String>,
    #[serde(rename = "@lastSeenAt", default)]
    pub last_seen_at: Option<String>,
}

impl UserServer {
    /// Whether the share still waits for the user's acceptance.
    pub fn is_pending(&self) -> bool {
        is_true(self.pending.as_deref())
    }
}

/// plex.tv `GET|POST /api/servers/{machineId}/shared_servers`.
#[derive(Debug, Deserialize)]
pub struct SharedServers {
    #[serde(rename = "SharedServer", default)]
    pub shared: Vec<SharedServer>,
}

/// One share of this server. `accessToken` is deliberately not declared.
#[derive(Debug, Clone, Deserialize)]
pub struct SharedServer {
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(rename = "@userID", default)]
    pub user_id: Option<String>,
    #[serde(rename = "@username", default)]
    pub username: Option<String>,
    #[serde(rename = "@email", default)]
    pub email: Option<String>,
    #[serde(rename = "@acceptedAt", default)]
    pub accepted_at: Option<String>,
}

impl SharedServer {
    /// Whether the share belongs to the account known by any of `names` (plex.tv id, e-mail or
    /// username; case-insensitive for the latter two).
    pub fn belongs_to(&self, names: &[&str]) -> bool {
        names.iter().filter(|name| !name.is_empty()).any(|name| {
            self.user_id.as_deref() == Some(*name)
                || eq_ignore_case(self.email.as_deref(), name)
                || eq_ignore_case(self.username.as_deref(), name)
        })
    }

    /// Whether the invitee accepted it (`acceptedAt` is a timestamp, `0` while pending).
    pub fn is_accepted(&self) -> bool {
        self.accepted_at
            .as_deref()
            .is_some_and(|at| !at.trim().is_empty() && at.trim() != "0")
    }

    /// The plex.tv account id of the invitee, when plex.tv knows it.
    pub fn account_id(&self) -> Option<&str> {
        non_empty(self.user_id.as_deref()).filter(|id| *id != "0")
    }
}

/// plex.tv `POST /api/v2/pins` and `GET /api/v2/pins/{id}` (JSON).
#[derive(Debug, Deserialize)]
pub struct Pin {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    pub code: String,
    #[serde(rename = "expiresIn", default)]
    pub expires_in: Option<i64>,
    #[serde(rename = "authToken", default)]
    pub auth_token: Option<String>,
}

/// plex.tv `GET /api/v2/user` (JSON).
#[derive(Debug, Deserialize)]
pub struct Account {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// One entry of `GET /api/v2/shared_servers/invites/received/pending` (JSON, invitee side).
#[derive(Debug, Deserialize)]
pub struct ReceivedInvite {
    #[serde(rename = "sharedServers", default)]
    pub shared_servers: Vec<InvitedShare>,
}

/// A share inside a received invite; its `id` is the owner side's `SharedServer@id`.
#[derive(Debug, Deserialize)]
pub struct InvitedShare {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
}

/// An id that Plex writes as a JSON number or string, as text.
fn id_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    match Id::deserialize(deserializer)? {
        Id::Number(n) => Ok(n.to_string()),
        Id::Text(text) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
        Id::Text(_) => Err(serde::de::Error::custom("empty id")),
    }
}

/// Plex booleans: `1`/`0` in XML, sometimes `true`/`false`.
pub fn is_true(value: Option<&str>) -> bool {
    matches!(value.map(str::trim), Some("1" | "true"))
}

/// `Some(text)` when it has anything but whitespace.
pub fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|text| !text.trim().is_empty())
}

fn eq_ignore_case(value: Option<&str>, name: &str) -> bool {
    value.is_some_and(|value| value.eq_ignore_ascii_case(name))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use zondarr_plugin_sdk::Response;

    fn xml<T: serde::de::DeserializeOwned>(body: &str) -> zondarr_plugin_sdk::Result<T> {
        Response::new(200).with_body(body).xml()
    }

    #[test]
    fn users_with_servers() {
        let users: Users = xml(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <MediaContainer friendlyName="myPlex" identifier="com.plexapp.plugins.myplex" size="2">
              <User id="11" title="ann" username="ann" email="ann@example.com" home="0" restricted="0" allowSync="1">
                <Server id="5" serverId="9" machineIdentifier="abc" name="Home" lastSeenAt="1700000000" numLibraries="2" allLibraries="0" owned="1" pending="0"/>
              </User>
              <User id="12" title="Kid" username="" email="" home="1" restricted="1"/>
            </MediaContainer>"#,
        )
        .unwrap();
        assert_eq!(users.users.len(), 2);
        assert_eq!(users.users[0].servers[0].machine_identifier, "abc");
        assert!(!users.users[0].servers[0].is_pending());
        assert!(!users.users[0].is_home());
        assert!(users.users[1].is_home());
        assert_eq!(users.users[1].display_name(), "Kid");
    }

    #[test]
    fn shared_servers_skip_the_access_token() {
        let shared: SharedServers = xml(
            r#"<MediaContainer size="1"><SharedServer id="77" username="ann" email="Ann@Example.com" userID="11" accessToken="tok" acceptedAt="0" invitedAt="1700000000"><Section id="1001" key="1" title="Movies" type="movie" shared="1"/></SharedServer></MediaContainer>"#,
        )
        .unwrap();
        let share = &shared.shared[0];
        assert!(share.belongs_to(&["ann@example.com"]));
        assert!(share.belongs_to(&["11"]));
        assert!(!share.belongs_to(&["", "12"]));
        assert!(!share.is_accepted());
        assert_eq!(share.account_id(), Some("11"));
    }

    #[test]
    fn missing_attributes_are_errors() {
        assert!(xml::<Identity>(r#"<MediaContainer size="0" version="1"/>"#).is_err());
        assert!(
            xml::<Sections>(
                r#"<MediaContainer><Directory key="1" type="movie"/></MediaContainer>"#
            )
            .is_err()
        );
    }

    #[test]
    fn ids_are_numbers_or_strings() {
        let pin: Pin =
            serde_json::from_str(r#"{"id":123,"code":"abc","expiresIn":1800,"authToken":null}"#)
                .unwrap();
        assert_eq!(pin.id, "123");
        assert_eq!(pin.auth_token, None);
        let account: Account = serde_json::from_str(r#"{"id":"9","username":"bob"}"#).unwrap();
        assert_eq!(account.id, "9");
        assert!(serde_json::from_str::<Account>(r#"{"id":"","username":"bob"}"#).is_err());
        assert!(serde_json::from_str::<Account>(r#"{"username":"bob"}"#).is_err());
    }
}

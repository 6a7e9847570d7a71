//! Jellyfin's `UserPolicy`: the permissions the connector offers, how they and library access map
//! onto policy fields, and the read-modify-write of the whole policy.
//!
//! `POST /Users/{id}/Policy` replaces the entire policy: a field left out is reset to Jellyfin's
//! default (for `EnableAllFolders` that means every library), and the two provider ids are
//! required. So the connector always reads the user's current policy, changes only the fields it
//! owns, and writes back every other field exactly as the server gave it, including fields this
//! connector does not know (newer servers).

use zondarr_plugin_sdk::serde_json::{Map, Value as Json, json};
use zondarr_plugin_sdk::{
    Error, LibraryAccess, PermissionDef, PermissionValue, Request, Result, Server, Value,
};

use crate::ids::Guid;

/// The two fields Jellyfin requires in every policy it is sent.
pub(crate) const PROVIDER_FIELDS: [&str; 2] =
    ["AuthenticationProviderId", "PasswordResetProviderId"];

/// A permission's kind and default. Defaults are what Jellyfin itself gives a new account.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Flag(bool),
    Number(i64),
}

/// One permission key of the manifest and the policy field it sets.
#[derive(Debug)]
struct Permission {
    key: &'static str,
    label: &'static str,
    description: &'static str,
    field: &'static str,
    kind: Kind,
}

const PERMISSIONS: [Permission; 10] = [
    Permission {
        key: "allow_downloads",
        label: "Downloads",
        description: "Download media files to keep them offline (EnableContentDownloading).",
        field: "EnableContentDownloading",
        kind: Kind::Flag(true),
    },
    Permission {
        key: "allow_media_playback",
        label: "Media playback",
        description: "Play media at all; without it the account can only browse (EnableMediaPlayback).",
        field: "EnableMediaPlayback",
        kind: Kind::Flag(true),
    },
    Permission {
        key: "allow_audio_transcoding",
        label: "Audio transcoding",
        description: "Let the server convert audio the player cannot play (EnableAudioPlaybackTranscoding).",
        field: "EnableAudioPlaybackTranscoding",
        kind: Kind::Flag(true),
    },
    Permission {
        key: "allow_video_transcoding",
        label: "Video transcoding",
        description: "Let the server convert video the player cannot play; costs server CPU (EnableVideoPlaybackTranscoding).",
        field: "EnableVideoPlaybackTranscoding",
        kind: Kind::Flag(true),
    },
    Permission {
        key: "allow_remuxing",
        label: "Remuxing",
        description: "Let the server repackage media into another container without converting it (EnablePlaybackRemuxing).",
        field: "EnablePlaybackRemuxing",
        kind: Kind::Flag(true),
    },
    Permission {
        key: "allow_live_tv",
        label: "Live TV",
        description: "Watch live TV and recordings (EnableLiveTvAccess).",
        field: "EnableLiveTvAccess",
        kind: Kind::Flag(true),
    },
    Permission {
        key: "allow_remote_access",
        label: "Remote access",
        description: "Connect from outside the server's local network (EnableRemoteAccess).",
        field: "EnableRemoteAccess",
        kind: Kind::Flag(true),
    },
    Permission {
        key: "max_active_sessions",
        label: "Maximum active sessions",
        description: "How many devices may play at the same time; 0 means no limit (MaxActiveSessions).",
        field: "MaxActiveSessions",
        kind: Kind::Number(0),
    },
    Permission {
        key: "allow_content_deletion",
        label: "Content deletion",
        description: "Delete media from every library (EnableContentDeletion).",
        field: "EnableContentDeletion",
        kind: Kind::Flag(false),
    },
    Permission {
        key: "allow_public_sharing",
        label: "Public sharing",
        description: "Create public share links to media (EnablePublicSharing).",
        field: "EnablePublicSharing",
        kind: Kind::Flag(true),
    },
];

/// The manifest's permission definitions.
pub(crate) fn definitions() -> impl Iterator<Item = PermissionDef> {
    PERMISSIONS.iter().map(|p| {
        let def = match p.kind {
            Kind::Flag(default) => PermissionDef::flag(p.key, p.label, default),
            Kind::Number(default) => PermissionDef::number(p.key, p.label, default),
        };
        def.with_description(p.description)
    })
}

/// Validated changes to a policy, field by field. Built before anything is sent, so bad input
/// never leaves a half-done change behind.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Changes(Vec<(&'static str, Json)>);

impl Changes {
    /// The policy fields for permission values. Unknown keys and values of the wrong kind are
    /// invalid input.
    pub(crate) fn permissions(values: &[PermissionValue]) -> Result<Self> {
        let mut changes = Self::default();
        for value in values {
            let permission = PERMISSIONS
                .iter()
                .find(|p| p.key == value.key)
                .ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "`{}` is not a Jellyfin permission of this connector",
                        value.key.escape_debug()
                    ))
                })?;
            let json = match (permission.kind, &value.value) {
                (Kind::Flag(_), Value::Flag(flag)) => json!(flag),
                (Kind::Number(_), Value::Number(number)) => {
                    let number =
                        i32::try_from(*number)
                            .ok()
                            .filter(|n| *n >= 0)
                            .ok_or_else(|| {
                                Error::InvalidInput(format!(
                                    "{} must be a whole number from 0 to {}, not {number}",
                                    permission.label,
                                    i32::MAX
                                ))
                            })?;
                    json!(number)
                }
                (Kind::Flag(_), _) => {
                    return Err(Error::InvalidInput(format!(
                        "{} (`{}`) is a yes/no permission",
                        permission.label, permission.key
                    )));
                }
                (Kind::Number(_), _) => {
                    return Err(Error::InvalidInput(format!(
                        "{} (`{}`) is a number",
                        permission.label, permission.key
                    )));
                }
            };
            changes.0.push((permission.field, json));
        }
        Ok(changes)
    }

    /// The policy fields for library access: every library (including ones added later), or
    /// exactly these library ids (`ItemId` of `/Library/VirtualFolders`).
    pub(crate) fn libraries(access: &LibraryAccess) -> Result<Self> {
        let (all, folders) = match access {
            LibraryAccess::All => (true, Vec::new()),
            LibraryAccess::Only(ids) => {
                let mut folders: Vec<String> = Vec::with_capacity(ids.len());
                for id in ids {
                    let dashed = Guid::library(id)?.dashed();
                    if !folders.contains(&dashed) {
                        folders.push(dashed);
                    }
                }
                (false, folders)
            }
        };
        Ok(Self(vec![
            ("EnableAllFolders", json!(all)),
            ("EnabledFolders", json!(folders)),
        ]))
    }

    /// Sets one field.
    pub(crate) fn set(mut self, field: &'static str, value: Json) -> Self {
        self.0.push((field, value));
        self
    }

    /// Adds every change of `other` after these.
    pub(crate) fn and(mut self, other: Changes) -> Self {
        self.0.extend(other.0);
        self
    }

    /// Whether there is nothing to change.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Writes the changes into a policy object; every other field stays as it is.
    pub(crate) fn apply(&self, policy: &mut Map<String, Json>) {
        for (field, value) in &self.0 {
            policy.insert((*field).to_owned(), value.clone());
        }
    }
}

/// Reads user `user`'s whole policy, lets `edit` change it, and writes the whole policy back when
/// something changed (the SDK's `update_json`). Returns the policy as it now is on the server.
///
/// # Errors
/// `not-found` for an unknown user, `invalid-response` when the server's policy lacks the
/// provider ids (writing it back would fail or reset the user's sign-in provider), whatever
/// `edit` returns, and the errors of the two requests.
pub(crate) fn update(
    server: &Server<'_>,
    user: &Guid,
    edit: impl FnOnce(&mut Map<String, Json>) -> Result<()>,
) -> Result<Json> {
    let path = format!("/Users/{}", user.dashed());
    let write = Request::post(format!("{path}/Policy"));
    let updated = server.update_json(&path, "/Policy", write, |policy| {
        let policy = policy.as_object_mut().ok_or_else(|| {
            Error::InvalidResponse(format!(
                "Jellyfin returned user {} without its policy",
                user.hex()
            ))
        })?;
        let missing = PROVIDER_FIELDS.iter().find(|field| {
            policy
                .get(**field)
                .and_then(Json::as_str)
                .is_none_or(|value| value.trim().is_empty())
        });
        if let Some(field) = missing {
            return Err(Error::InvalidResponse(format!(
                "the policy Jellyfin returned for user {} has no {field}; the connector does not \
                 write a policy back without it, since Jellyfin would refuse it or reset how the \
                 user signs in",
                user.hex()
            )));
        }
        edit(policy)
    });
    updated.map_err(|error| match error {
        Error::NotFound(_) => Error::NotFound(format!("Jellyfin user {}", user.hex())),
        other => other,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn definitions_cover_every_permission_once() {
        let defs: Vec<PermissionDef> = definitions().collect();
        assert_eq!(defs.len(), 10);
        let mut keys: Vec<&str> = defs.iter().map(|d| d.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 10);
        let sessions = defs
            .iter()
            .find(|d| d.key == "max_active_sessions")
            .unwrap();
        assert_eq!(sessions.default_value, Value::Number(0));
        let deletion = defs
            .iter()
            .find(|d| d.key == "allow_content_deletion")
            .unwrap();
        assert_eq!(deletion.default_value, Value::Flag(false));
        assert!(defs.iter().all(|d| d.description.is_some()));
    }

    #[test]
    fn permission_values_become_policy_fields() {
        let changes = Changes::permissions(&[
            PermissionValue::new("allow_downloads", false),
            PermissionValue::new("max_active_sessions", 3_i64),
        ])
        .unwrap();
        let mut policy = Map::new();
        policy.insert("BlockedTags".into(), json!(["x"]));
        changes.apply(&mut policy);
        assert_eq!(policy["EnableContentDownloading"], json!(false));
        assert_eq!(policy["MaxActiveSessions"], json!(3));
        assert_eq!(policy["BlockedTags"], json!(["x"]));
    }

    #[test]
    fn bad_permission_values_are_refused() {
        let refused = |value: PermissionValue| {
            matches!(Changes::permissions(&[value]), Err(Error::InvalidInput(_)))
        };
        assert!(refused(PermissionValue::new("allow_everything", true)));
        assert!(refused(PermissionValue::new("allow_downloads", 1_i64)));
        assert!(refused(PermissionValue::new("max_active_sessions", true)));
        assert!(refused(PermissionValue::new("max_active_sessions", -1_i64)));
        assert!(refused(PermissionValue::new(
            "max_active_sessions",
            1_i64 << 40
        )));
        assert!(refused(PermissionValue::new("allow_live_tv", "yes")));
    }

    #[test]
    fn library_access() {
        let all = Changes::libraries(&LibraryAccess::All).unwrap();
        let mut policy = Map::new();
        all.apply(&mut policy);
        assert_eq!(policy["EnableAllFolders"], json!(true));
        assert_eq!(policy["EnabledFolders"], json!([]));
        let only = Changes::libraries(&LibraryAccess::Only(vec![
            "A076A5BFC9034F379F5889BC6DAFC77B".into(),
            "a076a5bf-c903-4f37-9f58-89bc6dafc77b".into(),
        ]))
        .unwrap();
        only.apply(&mut policy);
        assert_eq!(policy["EnableAllFolders"], json!(false));
        assert_eq!(
            policy["EnabledFolders"],
            json!(["a076a5bf-c903-4f37-9f58-89bc6dafc77b"])
        );
        assert!(matches!(
            Changes::libraries(&LibraryAccess::Only(vec!["movies".into()])),
            Err(Error::InvalidInput(_))
        ));
    }
}

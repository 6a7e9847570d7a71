//! `UserPolicy` as the Jellyfin and Emby fakes store it. Jellyfin is a fork of Emby and both
//! replace the whole policy on `POST /Users/{id}/Policy`: the server builds a new policy object
//! from its own defaults and writes over them the fields it was sent (fields it does not know are
//! dropped), so a client that leaves a field out resets it. What differs is the per-server list
//! of fields with their defaults, and how a sent value is matched and converted (Jellyfin:
//! case-insensitive names, typed conversion with validation errors; Emby: exact names, values as
//! sent), which each fake passes in.

use serde_json::{Map, Value, json};

/// A new policy: `defaults` with every sent field the server knows (a key of `defaults`, or one
/// of `extra_fields`, which have no default) written over, after `convert(field, value,
/// default)`. Names are matched exactly, or ignoring ASCII case when `any_case` (the stored name
/// is the server's own spelling). Unknown fields are dropped. Returns the policy and every
/// `(field, message)` that `convert` refused (those fields keep their defaults).
pub fn replace_policy(
    defaults: Map<String, Value>,
    sent: &Map<String, Value>,
    extra_fields: &[&str],
    any_case: bool,
    convert: impl Fn(&str, &Value, Option<&Value>) -> Result<Value, String>,
) -> (Map<String, Value>, Vec<(String, String)>) {
    let mut policy = defaults;
    let mut errors = Vec::new();
    for (key, value) in sent {
        let known = policy
            .keys()
            .map(String::as_str)
            .chain(extra_fields.iter().copied())
            .find(|k| {
                if any_case {
                    k.eq_ignore_ascii_case(key)
                } else {
                    k == key
                }
            })
            .map(str::to_owned);
        let Some(field) = known else {
            continue;
        };
        match convert(&field, value, policy.get(&field)) {
            Ok(value) => {
                policy.insert(field, value);
            }
            Err(message) => errors.push((field, message)),
        }
    }
    (policy, errors)
}

/// Jellyfin's defaults for a `UserPolicy` field the client left out (the `UserPolicy`
/// constructor's values). The provider ids have none: they are required.
pub fn jellyfin_defaults() -> Map<String, Value> {
    let fields = [
        ("IsAdministrator", json!(false)),
        ("IsHidden", json!(true)),
        ("EnableCollectionManagement", json!(false)),
        ("EnableSubtitleManagement", json!(false)),
        ("EnableLyricManagement", json!(false)),
        ("IsDisabled", json!(false)),
        ("MaxParentalRating", json!(null)),
        ("MaxParentalSubRating", json!(null)),
        ("BlockedTags", json!([])),
        ("AllowedTags", json!([])),
        ("EnableUserPreferenceAccess", json!(true)),
        ("AccessSchedules", json!([])),
        ("BlockUnratedItems", json!([])),
        ("EnableRemoteControlOfOtherUsers", json!(false)),
        ("EnableSharedDeviceControl", json!(true)),
        ("EnableRemoteAccess", json!(true)),
        ("EnableLiveTvManagement", json!(true)),
        ("EnableLiveTvAccess", json!(true)),
        ("EnableMediaPlayback", json!(true)),
        ("EnableAudioPlaybackTranscoding", json!(true)),
        ("EnableVideoPlaybackTranscoding", json!(true)),
        ("EnablePlaybackRemuxing", json!(true)),
        ("ForceRemoteSourceTranscoding", json!(false)),
        ("EnableContentDeletion", json!(false)),
        ("EnableContentDeletionFromFolders", json!([])),
        ("EnableContentDownloading", json!(true)),
        ("EnableSyncTranscoding", json!(true)),
        ("EnableMediaConversion", json!(true)),
        ("EnabledDevices", json!([])),
        ("EnableAllDevices", json!(true)),
        ("EnabledChannels", json!([])),
        ("EnableAllChannels", json!(true)),
        ("EnabledFolders", json!([])),
        ("EnableAllFolders", json!(true)),
        ("InvalidLoginAttemptCount", json!(0)),
        ("LoginAttemptsBeforeLockout", json!(-1)),
        ("MaxActiveSessions", json!(0)),
        ("EnablePublicSharing", json!(true)),
        ("BlockedMediaFolders", json!([])),
        ("BlockedChannels", json!([])),
        ("RemoteClientBitrateLimit", json!(0)),
        ("SyncPlayAccess", json!("CreateAndJoinGroups")),
    ];
    fields
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}

/// Emby's defaults for a policy field a client leaves out.
pub fn emby_defaults() -> Map<String, Value> {
    let fields = [
        ("IsAdministrator", json!(false)),
        ("IsHidden", json!(true)),
        ("IsHiddenRemotely", json!(true)),
        ("IsHiddenFromUnusedDevices", json!(false)),
        ("IsDisabled", json!(false)),
        ("AllowTagOrRating", json!(false)),
        ("BlockedTags", json!([])),
        ("IsTagBlockingModeInclusive", json!(false)),
        ("IncludeTags", json!([])),
        ("EnableUserPreferenceAccess", json!(true)),
        ("AccessSchedules", json!([])),
        ("BlockUnratedItems", json!([])),
        ("EnableRemoteControlOfOtherUsers", json!(false)),
        ("EnableSharedDeviceControl", json!(true)),
        ("EnableRemoteAccess", json!(true)),
        ("EnableLiveTvManagement", json!(true)),
        ("EnableLiveTvAccess", json!(true)),
        ("EnableMediaPlayback", json!(true)),
        ("EnableAudioPlaybackTranscoding", json!(true)),
        ("EnableVideoPlaybackTranscoding", json!(true)),
        ("EnablePlaybackRemuxing", json!(true)),
        ("EnableContentDeletion", json!(false)),
        ("RestrictedFeatures", json!([])),
        ("EnableContentDeletionFromFolders", json!([])),
        ("EnableContentDownloading", json!(true)),
        ("EnableSubtitleDownloading", json!(true)),
        ("EnableSubtitleManagement", json!(false)),
        ("EnableSyncTranscoding", json!(true)),
        ("EnableMediaConversion", json!(true)),
        ("EnabledChannels", json!([])),
        ("EnableAllChannels", json!(true)),
        ("EnabledFolders", json!([])),
        ("EnableAllFolders", json!(true)),
        ("InvalidLoginAttemptCount", json!(0)),
        ("EnablePublicSharing", json!(true)),
        ("BlockedMediaFolders", json!([])),
        ("RemoteClientBitrateLimit", json!(0)),
        (
            "AuthenticationProviderId",
            json!("Emby.Server.Implementations.Library.DefaultAuthenticationProvider"),
        ),
        ("ExcludedSubFolders", json!([])),
        ("SimultaneousStreamLimit", json!(0)),
        ("EnabledDevices", json!([])),
        ("EnableAllDevices", json!(true)),
        ("AllowCameraUpload", json!(true)),
        ("AllowSharingPersonalItems", json!(false)),
    ];
    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

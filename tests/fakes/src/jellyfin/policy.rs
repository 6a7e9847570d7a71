//! `UserPolicy` as the fake stores it: Jellyfin's defaults for a new account and for fields a
//! policy update leaves out, and how a sent value is converted (or refused) field by field.

use serde_json::{Map, Value, json};

use super::{
    DEFAULT_AUTH_PROVIDER, DEFAULT_RESET_PROVIDER, GUID_LIST_FIELDS, PROVIDER_FIELDS, parse_guid,
};

/// Jellyfin's defaults for a `UserPolicy` field the client left out (the `UserPolicy`
/// constructor's values). The provider ids have none: they are required.
pub(super) fn default_policy() -> Map<String, Value> {
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

pub(super) fn new_user_policy() -> Value {
    let mut policy = default_policy();
    policy.insert(
        "AuthenticationProviderId".into(),
        json!(DEFAULT_AUTH_PROVIDER),
    );
    policy.insert(
        "PasswordResetProviderId".into(),
        json!(DEFAULT_RESET_PROVIDER),
    );
    Value::Object(policy)
}

pub(super) fn default_configuration() -> Value {
    json!({
        "PlayDefaultAudioTrack": true,
        "SubtitleLanguagePreference": "",
        "DisplayMissingEpisodes": false,
        "GroupedFolders": [],
        "SubtitleMode": "Default",
        "DisplayCollectionsView": false,
        "EnableLocalPassword": false,
        "OrderedViews": [],
        "LatestItemsExcludes": [],
        "MyMediaExcludes": [],
        "HidePlayedInLatest": true,
        "RememberAudioSelections": true,
        "RememberSubtitleSelections": true,
        "EnableNextEpisodeAutoPlay": true,
        "CastReceiverId": "F007D354",
    })
}

/// A sent policy value as Jellyfin would deserialise it into `UserPolicy`, or the validation
/// message when it would not.
pub(super) fn convert_policy_value(
    field: &str,
    value: &Value,
    default: Option<&Value>,
) -> Result<Value, String> {
    let bad = || format!("The JSON value could not be converted for {field}.");
    if GUID_LIST_FIELDS.contains(&field) {
        return match value {
            Value::Null => Ok(json!([])),
            Value::Array(items) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .and_then(parse_guid)
                        .map(Value::String)
                        .ok_or_else(bad)
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            _ => Err(bad()),
        };
    }
    if PROVIDER_FIELDS.contains(&field) {
        return match value {
            Value::Null | Value::String(_) => Ok(value.clone()),
            _ => Err(bad()),
        };
    }
    if field == "SyncPlayAccess" {
        return match value.as_str() {
            Some("CreateAndJoinGroups" | "JoinGroups" | "None") => Ok(value.clone()),
            _ => Err(bad()),
        };
    }
    let int32 = |v: &Value| v.as_i64().is_some_and(|n| i32::try_from(n).is_ok());
    match (default, value) {
        (Some(Value::Bool(_)), Value::Bool(_))
        | (Some(Value::Null), Value::Null)
        | (Some(Value::Array(_)), Value::Array(_)) => Ok(value.clone()),
        (Some(Value::Array(_)), Value::Null) => Ok(json!([])),
        (Some(Value::Number(_)) | Some(Value::Null), v) if int32(v) => Ok(value.clone()),
        _ => Err(bad()),
    }
}

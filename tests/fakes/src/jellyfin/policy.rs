//! `UserPolicy` as the fake stores it: Jellyfin's defaults for a new account and for fields a
//! policy update leaves out, and how a sent value is converted (or refused) field by field.

use serde_json::{Value, json};

pub(super) use crate::policy::jellyfin_defaults as default_policy;

use super::{
    DEFAULT_AUTH_PROVIDER, DEFAULT_RESET_PROVIDER, GUID_LIST_FIELDS, PROVIDER_FIELDS, parse_guid,
};

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

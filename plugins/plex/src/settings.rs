//! Share settings: the declared permission keys, their Plex names, and the content filters.
//!
//! Plex keeps `allowSync`, `allowCameraUpload`, `allowChannels` and the `filter*` strings per
//! invited account. A content filter is `contentRating=G%2CPG|label=kids` (keys `contentRating`,
//! `label`, `contentRating!`, `label!`; values comma-separated, the comma written `%2C` or `,`).
//!
//! Contract 0.1.0 allows only flag and number permissions, so the filters are not declared as
//! permissions: the server's configuration fields of the same keys give the filter every new share
//! gets, and a `text` permission value with a filter key (should the daemon send one) overrides it.

use serde_json::{Value as Json, json};
use zondarr_plugin_sdk::prelude::*;

/// Permission key: downloads (`allowSync`).
pub const ALLOW_SYNC: &str = "allow_sync";
/// Permission key: camera upload (`allowCameraUpload`).
pub const ALLOW_CAMERA_UPLOAD: &str = "allow_camera_upload";
/// Permission key: channels and live TV (`allowChannels`).
pub const ALLOW_CHANNELS: &str = "allow_channels";
/// Filter key: movies (`filterMovies`).
pub const FILTER_MOVIES: &str = "filter_movies";
/// Filter key: TV shows (`filterTelevision`).
pub const FILTER_TELEVISION: &str = "filter_television";
/// Filter key: music (`filterMusic`).
pub const FILTER_MUSIC: &str = "filter_music";

const FLAGS: [(&str, &str); 3] = [
    (ALLOW_SYNC, "allowSync"),
    (ALLOW_CAMERA_UPLOAD, "allowCameraUpload"),
    (ALLOW_CHANNELS, "allowChannels"),
];
/// Filter keys with their Plex names.
pub const FILTERS: [(&str, &str); 3] = [
    (FILTER_MOVIES, "filterMovies"),
    (FILTER_TELEVISION, "filterTelevision"),
    (FILTER_MUSIC, "filterMusic"),
];
const FILTER_FIELDS: [&str; 4] = ["contentRating", "contentRating!", "label", "label!"];

/// The settings a request changes, by Plex name, in a fixed order; keys it does not mention keep
/// their current value at plex.tv.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patch {
    values: Vec<(&'static str, String)>,
}

impl Patch {
    /// The patch for permission values from the daemon. Unknown keys and values of the wrong kind
    /// are refused rather than ignored, so the admin never believes a setting was applied.
    pub fn from_values(values: &[PermissionValue]) -> Result<Self> {
        let mut patch = Self::default();
        for value in values {
            if let Some((_, plex)) = FLAGS.iter().find(|(key, _)| *key == value.key) {
                let flag = value.value.as_flag().ok_or_else(|| {
                    Error::InvalidInput(format!("permission `{}` must be a flag", value.key))
                })?;
                patch.set(plex, flag_text(flag));
            } else if let Some((key, plex)) = FILTERS.iter().find(|(key, _)| *key == value.key) {
                let text = value.value.as_text().ok_or_else(|| {
                    Error::InvalidInput(format!("permission `{}` must be text", value.key))
                })?;
                // Empty means "no per-account filter": the server's default filter applies.
                if !text.trim().is_empty() {
                    patch.set(plex, filter(key, text)?);
                }
            } else {
                return Err(Error::InvalidInput(format!(
                    "unknown permission `{}` for Plex",
                    value.key.escape_debug()
                )));
            }
        }
        Ok(patch)
    }

    /// Every setting a new share needs: the patch, then for filters the server's configured
    /// default, then the manifest defaults (everything off, no filter).
    pub fn complete(mut self, server: &Server<'_>) -> Result<Self> {
        for (_, plex) in FLAGS {
            if self.get(plex).is_none() {
                self.set(plex, flag_text(false));
            }
        }
        for (key, plex) in FILTERS {
            if self.get(plex).is_none() {
                let configured = server.config(key).unwrap_or_default();
                let value = filter(key, &configured).map_err(|_| {
                    Error::InvalidInput(format!(
                        "the server setting `{key}` is not a valid Plex content filter"
                    ))
                })?;
                self.set(plex, value);
            }
        }
        Ok(self)
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `(plexName, value)` pairs, for the query of `PUT /api/v2/sharings/{userId}`.
    pub fn pairs(&self) -> &[(&'static str, String)] {
        &self.values
    }

    /// The `sharing_settings` object of `POST /api/servers/{machineId}/shared_servers`.
    pub fn sharing_settings(&self) -> Json {
        let mut object = serde_json::Map::new();
        for (name, value) in &self.values {
            object.insert((*name).to_owned(), json!(value));
        }
        Json::Object(object)
    }

    fn get(&self, plex: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(name, _)| *name == plex)
            .map(|(_, value)| value.as_str())
    }

    fn set(&mut self, plex: &'static str, value: String) {
        match self.values.iter_mut().find(|(name, _)| *name == plex) {
            Some(slot) => slot.1 = value,
            None => self.values.push((plex, value)),
        }
    }
}

fn flag_text(flag: bool) -> String {
    if flag { "1" } else { "0" }.to_owned()
}

/// A content filter, checked and normalised (trimmed parts); empty means no filter.
pub fn filter(key: &str, text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(String::new());
    }
    let mut parts = Vec::new();
    for part in text.split('|') {
        let (field, values) = part.trim().split_once('=').ok_or_else(|| bad_filter(key))?;
        let field = field.trim();
        let values = values.trim();
        let valid_values = !values.is_empty()
            && values
                .chars()
                .all(|c| !c.is_control() && c != '|' && c != '&' && c != '=');
        if !FILTER_FIELDS.contains(&field) || !valid_values {
            return Err(bad_filter(key));
        }
        parts.push(format!("{field}={values}"));
    }
    Ok(parts.join("|"))
}

fn bad_filter(key: &str) -> Error {
    Error::InvalidInput(format!(
        "`{key}` must look like `contentRating=G%2CPG|label=kids` (fields contentRating, label, contentRating!, label!)"
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use zondarr_plugin_sdk::testing::MockServer;

    #[test]
    fn values_become_plex_names() {
        let patch = Patch::from_values(&[
            PermissionValue::new(ALLOW_SYNC, true),
            PermissionValue::new(FILTER_MOVIES, " contentRating=G%2CPG | label!=horror "),
        ])
        .unwrap();
        assert_eq!(
            patch.pairs(),
            &[
                ("allowSync", "1".to_owned()),
                (
                    "filterMovies",
                    "contentRating=G%2CPG|label!=horror".to_owned()
                )
            ]
        );
    }

    #[test]
    fn wrong_keys_kinds_and_filters_are_refused() {
        let refused = |value: PermissionValue| {
            matches!(Patch::from_values(&[value]), Err(Error::InvalidInput(_)))
        };
        assert!(refused(PermissionValue::new("allow_everything", true)));
        assert!(refused(PermissionValue::new(ALLOW_CHANNELS, "yes")));
        assert!(refused(PermissionValue::new(FILTER_MUSIC, true)));
        assert!(refused(PermissionValue::new(FILTER_MUSIC, "genre=rock")));
        assert!(refused(PermissionValue::new(FILTER_MUSIC, "label=")));
        assert!(refused(PermissionValue::new(FILTER_MUSIC, "label=a&b=c")));
    }

    #[test]
    fn complete_fills_defaults_and_configured_filters() {
        let mock = MockServer::new("http://pms.test", |_, _| Ok(Response::new(500)))
            .with_config(FILTER_TELEVISION, "label=family");
        let patch = Patch::from_values(&[PermissionValue::new(ALLOW_CHANNELS, true)])
            .unwrap()
            .complete(&mock.server())
            .unwrap();
        assert_eq!(
            patch.sharing_settings(),
            json!({"allowChannels": "1", "allowSync": "0", "allowCameraUpload": "0",
                   "filterMovies": "", "filterTelevision": "label=family", "filterMusic": ""})
        );
        let bad = MockServer::new("http://pms.test", |_, _| Ok(Response::new(500)))
            .with_config(FILTER_MOVIES, "rating=R");
        assert!(matches!(
            Patch::default().complete(&bad.server()),
            Err(Error::InvalidInput(m)) if m.contains("filter_movies")
        ));
    }
}

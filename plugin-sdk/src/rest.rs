//! Building blocks for the patterns every REST connector repeats. Each is a plain function (or a
//! method on [`Result`]), so a connector uses the ones it needs and keeps full control:
//!
//! | pattern | building block |
//! |---|---|
//! | a list answered bare (`[…]`) or wrapped (`{"Items": […]}`) | [`list_from`], [`Server::get_list`](crate::Server::get_list) |
//! | read-modify-write of a user's settings, keeping unknown fields | [`Server::update_json`](crate::Server::update_json) |
//! | check that a create or update applied everything that was sent | [`ensure_applied`] |
//! | map "already taken" answers to [`Error::UsernameTaken`] | [`TakenExt::or_taken`] |
//! | roll back a half-made account when a later step fails | [`undo_on_error`] |
//! | turn permission values into the server's own fields | [`permission_fields`] |
//! | read a list the server answers page by page | [`collect_pages`] |
//! | take a token out of a link the server made (an invite or confirmation link) | [`link_param`] |
//!
//! The second example of the tutorial (`TUTORIAL.md`, shipped with this crate) uses all of them.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::types::{PermissionValue, Value as PermissionData};

/// Field names under which APIs commonly wrap a list, tried in this order (case-insensitive).
pub const LIST_KEYS: [&str; 8] = [
    "items", "data", "results", "users", "records", "value", "entries", "list",
];

/// The items of a list answer, whether the server sends the list bare (`[…]`) or wrapped in an
/// object. In an object, the list is the member named like one of [`LIST_KEYS`]
/// (case-insensitive, so Jellyfin's `Items` works), or else the object's only array member; any
/// other members (totals, paging) are ignored.
///
/// ```
/// use zondarr_plugin_sdk::rest::list_from;
/// use zondarr_plugin_sdk::serde_json::json;
///
/// let bare: Vec<u32> = list_from(json!([1, 2]))?;
/// let wrapped: Vec<u32> = list_from(json!({"Items": [1, 2], "TotalRecordCount": 2}))?;
/// let only_array: Vec<u32> = list_from(json!({"libraries": [1, 2], "count": 2}))?;
/// assert_eq!(bare, wrapped);
/// assert_eq!(wrapped, only_array);
/// # Ok::<(), zondarr_plugin_sdk::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidResponse`] when the answer holds no list, or an item does not decode as `T`.
pub fn list_from<T: DeserializeOwned>(answer: Value) -> Result<Vec<T>> {
    let list = match answer {
        Value::Array(items) => items,
        Value::Object(mut fields) => {
            let named = LIST_KEYS.iter().find_map(|key| {
                fields
                    .keys()
                    .find(|name| name.eq_ignore_ascii_case(key) && fields[*name].is_array())
                    .cloned()
            });
            let arrays: Vec<&String> = fields
                .iter()
                .filter(|(_, value)| value.is_array())
                .map(|(name, _)| name)
                .collect();
            let key = match (named, arrays.as_slice()) {
                (Some(key), _) => key,
                (None, [only]) => (*only).clone(),
                (None, _) => {
                    return Err(Error::InvalidResponse(
                        "expected a list, or an object holding one list".into(),
                    ));
                }
            };
            match fields.remove(&key) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            }
        }
        _ => {
            return Err(Error::InvalidResponse(
                "expected a list, or an object holding one list".into(),
            ));
        }
    };
    list.into_iter()
        .map(|item| serde_json::from_value(item).map_err(Error::from))
        .collect()
}

/// Checks that the server applied what was sent: every member of `wanted` (recursively, for
/// objects) must be present in `got` with the same value; members `got` has beyond those are
/// fine. Servers that silently ignore a field they do not know (a misspelt setting, an older
/// server version) are caught here instead of leaving an account with the wrong rights.
///
/// ```
/// use zondarr_plugin_sdk::rest::ensure_applied;
/// use zondarr_plugin_sdk::serde_json::json;
///
/// let sent = json!({"downloads": false, "libraries": ["1"]});
/// let answer = json!({"id": 7, "downloads": true, "libraries": ["1"]});
/// let err = ensure_applied("the new account", &sent, &answer).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid response: the server did not apply everything to the new account: \
///      downloads is true, not false"
/// );
/// ```
///
/// # Errors
/// [`Error::InvalidResponse`] naming (up to five of) the members that differ.
pub fn ensure_applied(what: &str, wanted: &Value, got: &Value) -> Result<()> {
    let mut differences = Vec::new();
    compare("", wanted, got, &mut differences);
    if differences.is_empty() {
        return Ok(());
    }
    let more = differences.len().saturating_sub(5);
    differences.truncate(5);
    let mut message = format!(
        "the server did not apply everything to {what}: {}",
        differences.join("; ")
    );
    if more > 0 {
        message.push_str(&format!(" (and {more} more)"));
    }
    Err(Error::InvalidResponse(message))
}

fn compare(path: &str, wanted: &Value, got: &Value, out: &mut Vec<String>) {
    match (wanted, got) {
        (Value::Object(wanted), Value::Object(got)) => {
            for (key, value) in wanted {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match got.get(key) {
                    Some(actual) => compare(&path, value, actual, out),
                    None => out.push(format!("{path} is missing")),
                }
            }
        }
        _ if wanted == got => {}
        _ => {
            let label = if path.is_empty() { "the value" } else { path };
            out.push(format!("{label} is {}, not {}", short(got), short(wanted)));
        }
    }
}

/// A JSON value for a message, cut to 60 characters.
fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Maps the ways servers say "this username is taken" to [`Error::UsernameTaken`], so the
/// invitee is asked for another name instead of seeing a generic failure.
pub trait TakenExt<T> {
    /// [`Error::UsernameTaken`] for HTTP 409, and for an [`Error::InvalidInput`] (a 400 or 422
    /// answer, see [`Response::error_for_status`](crate::Response::error_for_status)) whose
    /// message contains one of `phrases` (case-insensitive). Anything else passes unchanged.
    ///
    /// ```
    /// use zondarr_plugin_sdk::Error;
    /// use zondarr_plugin_sdk::rest::TakenExt;
    ///
    /// let answer: Result<(), Error> = Err(Error::InvalidInput(
    ///     "the server refused POST /api/users (HTTP 400): User already exists".into(),
    /// ));
    /// assert_eq!(answer.or_taken(&["already exists", "is taken"]), Err(Error::UsernameTaken));
    /// let conflict: Result<(), Error> = Err(Error::RemoteStatus(409));
    /// assert_eq!(conflict.or_taken(&[]), Err(Error::UsernameTaken));
    /// ```
    ///
    /// # Errors
    /// The mapped error.
    fn or_taken(self, phrases: &[&str]) -> Result<T>;
}

impl<T> TakenExt<T> for Result<T> {
    fn or_taken(self, phrases: &[&str]) -> Result<T> {
        self.map_err(|error| match error {
            Error::RemoteStatus(409) => Error::UsernameTaken,
            Error::InvalidInput(message) => {
                let lower = message.to_lowercase();
                if phrases
                    .iter()
                    .any(|phrase| lower.contains(&phrase.to_lowercase()))
                {
                    Error::UsernameTaken
                } else {
                    Error::InvalidInput(message)
                }
            }
            other => other,
        })
    }
}

/// Rolls back a half-made change: when `result` is an error, runs `undo` (e.g. deletes the
/// account the first request created) and returns the original error, so the admin or invitee
/// sees why it failed and nothing is left behind. When `undo` fails too, the account may be left
/// half made: the answer is then [`Error::Internal`] naming both failures (and the line is
/// logged), so the admin knows to look.
///
/// ```
/// use zondarr_plugin_sdk::Error;
/// use zondarr_plugin_sdk::rest::undo_on_error;
///
/// let mut deleted = false;
/// let step: Result<(), Error> = Err(Error::InvalidInput("password too short".into()));
/// let answer = undo_on_error(step, "the new account ann", || {
///     deleted = true;
///     Ok(())
/// });
/// assert_eq!(answer, Err(Error::InvalidInput("password too short".into())));
/// assert!(deleted);
/// ```
///
/// # Errors
/// The original error, or [`Error::Internal`] when the undo failed as well.
pub fn undo_on_error<T>(
    result: Result<T>,
    what: &str,
    undo: impl FnOnce() -> Result<()>,
) -> Result<T> {
    let Err(error) = result else {
        return result;
    };
    match undo() {
        Ok(()) => Err(error),
        Err(undo_error) => {
            let message = format!(
                "{error}; removing {what} again also failed ({undo_error}): remove it by hand"
            );
            crate::error!("{message}");
            Err(Error::Internal(message))
        }
    }
}

/// The server's own fields for permission values: for each `(key, field)` of `mapping`, the
/// value of the permission `key` (a flag as a JSON boolean, a number as a JSON number, text as
/// a string) under the name `field`. Keys `values` does not hold are left out, so the result
/// can be merged into a document the server sent ("keys not listed keep their current value").
///
/// ```
/// use zondarr_plugin_sdk::PermissionValue;
/// use zondarr_plugin_sdk::rest::permission_fields;
/// use zondarr_plugin_sdk::serde_json::json;
///
/// const FIELDS: &[(&str, &str)] = &[("allow_downloads", "download"), ("max_streams", "streams")];
/// let values = [PermissionValue::new("allow_downloads", true)];
/// assert_eq!(serde_json::Value::Object(permission_fields(&values, FIELDS)), json!({"download": true}));
/// ```
pub fn permission_fields(
    values: &[PermissionValue],
    mapping: &[(&str, &str)],
) -> serde_json::Map<String, Value> {
    let mut fields = serde_json::Map::new();
    for (key, field) in mapping {
        if let Some(value) = values.iter().find(|v| v.key == *key) {
            let json = match &value.value {
                PermissionData::Flag(flag) => Value::Bool(*flag),
                PermissionData::Number(number) => Value::from(*number),
                PermissionData::Text(text) => Value::String(text.clone()),
            };
            fields.insert((*field).to_owned(), json);
        }
    }
    fields
}

/// Reads a list that the server answers page by page. `fetch(offset)` returns the items from
/// `offset` on (one page) and the total the server reports, if any; pages are fetched until the
/// total is reached, or until a page comes back empty when the server reports no total. At most
/// `max_pages` pages are read, so a server that keeps answering never exhausts the call's
/// request budget unnoticed.
///
/// ```
/// use zondarr_plugin_sdk::rest::collect_pages;
///
/// let all: Vec<u32> = (0..25).collect();
/// let read = collect_pages(10, |offset| {
///     let page = all.iter().copied().skip(offset).take(10).collect();
///     Ok((page, Some(all.len())))
/// })?;
/// assert_eq!(read, all);
/// # Ok::<(), zondarr_plugin_sdk::Error>(())
/// ```
///
/// # Errors
/// Whatever `fetch` returns, and [`Error::InvalidResponse`] when the list does not end within
/// `max_pages` pages.
pub fn collect_pages<T>(
    max_pages: usize,
    mut fetch: impl FnMut(usize) -> Result<(Vec<T>, Option<usize>)>,
) -> Result<Vec<T>> {
    let mut items = Vec::new();
    for _ in 0..max_pages {
        let (page, total) = fetch(items.len())?;
        let empty = page.is_empty();
        items.extend(page);
        match total {
            Some(total) if items.len() >= total || empty => return Ok(items),
            None if empty => return Ok(items),
            _ => {}
        }
    }
    Err(Error::InvalidResponse(format!(
        "the list did not end within {max_pages} pages ({} items read)",
        items.len()
    )))
}

/// The value of the query parameter `name` in a link (an absolute URL, a path or a bare query,
/// with or without a `#fragment` holding the query), percent-decoded (`+` as a space). Servers
/// that set accounts up through invite or confirmation links put the token there.
///
/// ```
/// use zondarr_plugin_sdk::rest::link_param;
///
/// let link = "http://k.test/registration/confirm-email?token=CfDJ8%2Bab%3D%3D&email=a%40b.org";
/// assert_eq!(link_param(link, "token").as_deref(), Some("CfDJ8+ab=="));
/// assert_eq!(link_param(link, "email").as_deref(), Some("a@b.org"));
/// assert_eq!(link_param("/x#/confirm?token=t", "token").as_deref(), Some("t"));
/// assert_eq!(link_param(link, "nope"), None);
/// ```
pub fn link_param(link: &str, name: &str) -> Option<String> {
    let query = link.split_once('?').map_or(link, |(_, query)| query);
    query.split(['&', '#']).find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (decode(key) == name).then(|| decode(value))
    })
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() && text.is_char_boundary(i + 3) => {
                match u8::from_str_radix(&text[i + 1..i + 3], 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Item {
        id: u32,
    }

    #[test]
    fn lists_bare_wrapped_and_refused() {
        let expected = vec![Item { id: 1 }, Item { id: 2 }];
        let items = json!([{"id": 1}, {"id": 2}]);
        assert_eq!(list_from::<Item>(items.clone()).unwrap(), expected);
        for key in ["Items", "data", "results", "USERS"] {
            let wrapped = json!({"total": 2, "other": [], key: items.clone()});
            assert_eq!(list_from::<Item>(wrapped).unwrap(), expected, "{key}");
        }
        let only = json!({"total": 2, "accounts": items});
        assert_eq!(list_from::<Item>(only).unwrap(), expected);
        for bad in [json!({"a": [], "b": []}), json!({"n": 1}), json!(3)] {
            assert!(
                matches!(
                    list_from::<Item>(bad.clone()),
                    Err(Error::InvalidResponse(_))
                ),
                "{bad}"
            );
        }
        let wrong_item = list_from::<Item>(json!([{"id": "x"}]));
        assert!(matches!(wrong_item, Err(Error::InvalidResponse(m)) if m.starts_with("bad JSON")));
    }

    #[test]
    fn applied_means_every_sent_member_matches() {
        let sent = json!({"a": 1, "policy": {"downloads": true, "max": 2}, "libs": ["1", "2"]});
        let same = json!({"id": 9, "a": 1, "policy": {"downloads": true, "max": 2, "x": 0}, "libs": ["1", "2"]});
        assert_eq!(ensure_applied("ann", &sent, &same), Ok(()));
        let off = json!({"a": 2, "policy": {"downloads": false}, "libs": ["1"]});
        assert_eq!(
            ensure_applied("ann", &sent, &off),
            Err(Error::InvalidResponse(
                "the server did not apply everything to ann: a is 2, not 1; libs is [\"1\"], not \
                 [\"1\",\"2\"]; policy.downloads is false, not true; policy.max is missing"
                    .into()
            ))
        );
        let many: serde_json::Map<String, Value> =
            (0..8).map(|i| (format!("k{i}"), json!(i))).collect();
        let Err(Error::InvalidResponse(message)) =
            ensure_applied("x", &Value::Object(many), &json!({}))
        else {
            panic!("differences not found")
        };
        assert!(message.ends_with("k4 is missing (and 3 more)"), "{message}");
        assert_eq!(
            ensure_applied("x", &json!(1), &json!(2)),
            Err(Error::InvalidResponse(
                "the server did not apply everything to x: the value is 2, not 1".into()
            ))
        );
    }

    #[test]
    fn permission_fields_map_kinds_and_skip_missing_keys() {
        let values = [
            PermissionValue::new("a", true),
            PermissionValue::new("n", 3_i64),
            PermissionValue::new("t", "x"),
            PermissionValue::new("unmapped", true),
        ];
        let fields = permission_fields(&values, &[("a", "A"), ("n", "N"), ("t", "T"), ("m", "M")]);
        assert_eq!(Value::Object(fields), json!({"A": true, "N": 3, "T": "x"}));
    }

    #[test]
    fn pages_stop_at_the_total_at_an_empty_page_or_at_the_limit() {
        let all: Vec<u32> = (0..7).collect();
        let mut calls = 0;
        let read = collect_pages(10, |offset| {
            calls += 1;
            Ok((all.iter().copied().skip(offset).take(3).collect(), Some(7)))
        })
        .unwrap();
        assert_eq!((read, calls), (all.clone(), 3));
        let read = collect_pages(10, |offset| {
            Ok((
                all.iter().copied().skip(offset).take(3).collect::<Vec<_>>(),
                None,
            ))
        })
        .unwrap();
        assert_eq!(read, all);
        // A total the pages never reach ends at an empty page instead of looping.
        let short = collect_pages(10, |offset| {
            Ok((
                all.iter().copied().skip(offset).take(3).collect::<Vec<_>>(),
                Some(100),
            ))
        })
        .unwrap();
        assert_eq!(short.len(), 7);
        let endless = collect_pages(4, |_| Ok((vec![1], None)));
        assert!(matches!(endless, Err(Error::InvalidResponse(m)) if m.contains("within 4 pages")));
        let failed = collect_pages::<u8>(4, |_| Err(Error::Timeout));
        assert_eq!(failed, Err(Error::Timeout));
    }

    #[test]
    fn link_params_are_found_and_decoded() {
        assert_eq!(link_param("?a=1&b=x+y%21", "b").as_deref(), Some("x y!"));
        assert_eq!(link_param("a=1", "a").as_deref(), Some("1"));
        assert_eq!(link_param("?a=%zz%4", "a").as_deref(), Some("%zz%4"));
        assert_eq!(link_param("https://h.test/p", "a"), None);
    }

    #[test]
    fn taken_answers() {
        let taken = |error: Error| Err::<(), _>(error).or_taken(&["Already Exists"]);
        assert_eq!(taken(Error::RemoteStatus(409)), Err(Error::UsernameTaken));
        assert_eq!(
            taken(Error::InvalidInput("user already exists".into())),
            Err(Error::UsernameTaken)
        );
        assert_eq!(
            taken(Error::InvalidInput("password too short".into())),
            Err(Error::InvalidInput("password too short".into()))
        );
        assert_eq!(
            taken(Error::RemoteStatus(500)),
            Err(Error::RemoteStatus(500))
        );
        assert_eq!(Ok::<u8, Error>(1).or_taken(&[]), Ok(1));
    }

    #[test]
    fn undo_runs_only_on_error_and_reports_its_own_failure() {
        let mut undone = 0;
        assert_eq!(
            undo_on_error(Ok(5), "x", || {
                undone += 1;
                Ok(())
            }),
            Ok(5)
        );
        assert_eq!(undone, 0);
        let failed = undo_on_error::<()>(
            Err(Error::Forbidden("no".into())),
            "the account ann",
            || Err(Error::Timeout),
        );
        assert_eq!(
            failed,
            Err(Error::Internal(
                "forbidden: no; removing the account ann again also \
                 failed (the server did not answer in time): remove it by hand"
                    .into()
            ))
        );
    }
}

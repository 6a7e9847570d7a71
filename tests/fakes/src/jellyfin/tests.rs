//! Unit tests of the fake's parsing and policy rules (its HTTP behaviour is exercised by
//! `tests/it/jellyfin`).

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::DateTime;
use serde_json::{Value, json};

use super::handlers::{dotnet_date, valid_name};
use super::http::parse_authorization;
use super::policy::{convert_policy_value, default_policy};
use super::{Failure, Rule};

#[test]
fn authorization_headers_parse_like_jellyfin() {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static(
            "MediaBrowser Client=\"Zondarr\", Device=\"My%20Box\", DeviceId=abc, Version=\"1.0\"",
        ),
    );
    let fields = parse_authorization(&headers).unwrap();
    assert_eq!(fields["Client"], "Zondarr");
    assert_eq!(fields["Device"], "My Box");
    assert_eq!(fields["DeviceId"], "abc");
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Emby Token=\"k\""),
    );
    assert!(parse_authorization(&headers).is_none());
    headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer k"));
    assert!(parse_authorization(&headers).is_none());
}

#[test]
fn names_follow_jellyfins_rule() {
    for good in ["ann", "Zoë O'Brien-Smith", "a_b.c@d+e", "渡辺"] {
        assert!(valid_name(good), "{good}");
    }
    for bad in ["", " ann", "ann ", "a/b", "a;b", "a\tb"] {
        assert!(!valid_name(bad), "{bad:?}");
    }
}

#[test]
fn policy_values_convert_as_userpolicy_would() {
    let defaults = default_policy();
    let convert =
        |field: &str, value: Value| convert_policy_value(field, &value, defaults.get(field));
    assert_eq!(
        convert(
            "EnabledFolders",
            json!(["A076A5BF-C903-4F37-9F58-89BC6DAFC77B"])
        )
        .unwrap(),
        json!(["a076a5bfc9034f379f5889bc6dafc77b"])
    );
    assert!(convert("EnabledFolders", json!(["movies"])).is_err());
    assert_eq!(convert("BlockedTags", Value::Null).unwrap(), json!([]));
    assert!(convert("IsDisabled", json!("yes")).is_err());
    assert!(convert("MaxActiveSessions", json!(1_i64 << 40)).is_err());
    assert_eq!(convert("MaxParentalRating", json!(13)).unwrap(), json!(13));
    assert!(convert("SyncPlayAccess", json!("Everything")).is_err());
}

#[test]
fn failure_rules_match_method_and_path() {
    let rule = Rule {
        method: Some("POST".into()),
        pattern: Some(vec!["Users".into(), "*".into(), "Policy".into()]),
        failure: Failure::Hang,
    };
    assert!(rule.matches("post", "/Users/abc/Policy"));
    assert!(!rule.matches("GET", "/Users/abc/Policy"));
    assert!(!rule.matches("POST", "/Users/abc"));
    assert_eq!(
        dotnet_date(DateTime::UNIX_EPOCH),
        "1970-01-01T00:00:00.0000000Z"
    );
}

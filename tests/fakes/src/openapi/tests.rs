//! Unit tests of the validator against a small document written for them.

use super::schema::is_date_time;
use super::*;
use serde_json::json;

/// A small document in the shape of Jellyfin's (written for these tests).
fn doc() -> OpenApi {
    let uuid = json!({"type": "string", "format": "uuid"});
    OpenApi::from_value(
        "test.json",
        json!({
            "openapi": "3.0.1",
            "info": {"title": "t", "version": "1.2.3"},
            "paths": {
                "/Items/{itemId}": {
                    "get": {
                        "parameters": [
                            {"name": "itemId", "in": "path", "required": true, "schema": uuid},
                            {"name": "limit", "in": "query", "schema": {"type": "integer", "format": "int32"}},
                            {"name": "flag", "in": "query", "schema": {"type": "boolean"}},
                            {"$ref": "#/components/parameters/Tags"}
                        ],
                        "responses": {"200": {"description": "ok", "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}}},
                        "security": [{"Key": []}]
                    },
                    "post": {
                        "parameters": [{"name": "itemId", "in": "path", "required": true, "schema": uuid}],
                        "requestBody": {"required": true, "content": {
                            "application/json": {"schema": {"allOf": [{"$ref": "#/components/schemas/Item"}]}},
                            "application/*+json": {"schema": {"allOf": [{"$ref": "#/components/schemas/Item"}]}}
                        }},
                        "responses": {"204": {"description": "done"}}
                    }
                },
                "/Items/New": {"post": {"responses": {"200": {"description": "ok"}}}},
                "/Odd": {"get": {"parameters": [
                    {"name": "p", "in": "query", "schema": {"type": "string", "pattern": "^a$"}},
                    {"name": "X-Need", "in": "header", "required": true, "schema": {"type": "string"}}
                ], "responses": {}}}
            },
            "components": {
                "parameters": {"Tags": {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}}},
                "schemas": {
                    "Item": {
                        "type": "object",
                        "required": ["Name"],
                        "additionalProperties": false,
                        "properties": {
                            "Name": {"type": "string", "minLength": 1},
                            "Count": {"type": "integer", "format": "int32", "minimum": 0},
                            "Kind": {"allOf": [{"$ref": "#/components/schemas/Kind"}], "nullable": true},
                            "Ids": {"type": "array", "items": uuid, "nullable": true},
                            "When": {"type": "string", "format": "date-time", "nullable": true},
                            "Id": {"type": "integer", "readOnly": true},
                            "Choice": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
                        }
                    },
                    "Kind": {"type": "string", "enum": ["Movie", "Show"]}
                },
                "securitySchemes": {"Key": {"type": "apiKey", "in": "header", "name": "Authorization"}}
            }
        }),
    )
    .unwrap()
}

const DASHED: &str = "a076a5bf-c903-4f37-9f58-89bc6dafc77b";
const HEX: &str = "a076a5bfc9034f379f5889bc6dafc77b";

fn auth() -> Vec<(String, String)> {
    vec![("authorization".into(), "MediaBrowser Token=\"k\"".into())]
}

fn json_headers() -> Vec<(String, String)> {
    vec![(
        "content-type".into(),
        "application/json; charset=utf-8".into(),
    )]
}

fn get(
    path: &str,
    query: Option<&str>,
    headers: &[(String, String)],
) -> Result<String, Vec<String>> {
    doc().validate_request(&RequestParts {
        method: "GET",
        path,
        query,
        headers,
        body: b"",
    })
}

fn post(path: &str, body: &serde_json::Value) -> Result<String, Vec<String>> {
    let body = serde_json::to_vec(body).unwrap();
    doc().validate_request(&RequestParts {
        method: "POST",
        path,
        query: None,
        headers: &json_headers(),
        body: &body,
    })
}

fn violations(result: Result<String, Vec<String>>) -> String {
    result.expect_err("expected a violation").join("\n")
}

#[test]
fn routes_prefer_literal_segments_and_check_methods() {
    let new = doc().validate_request(&RequestParts {
        method: "POST",
        path: "/Items/New",
        query: None,
        headers: &[],
        body: b"",
    });
    assert_eq!(new.unwrap(), "/Items/New");
    assert_eq!(
        get(&format!("/Items/{DASHED}"), None, &auth()).unwrap(),
        "/Items/{itemId}"
    );
    assert!(violations(get("/Nope", None, &auth())).contains("no path template"));
    assert!(violations(get("/items/x", None, &auth())).contains("no path template"));
    let delete = doc().validate_request(&RequestParts {
        method: "DELETE",
        path: &format!("/Items/{DASHED}"),
        query: None,
        headers: &auth(),
        body: b"",
    });
    assert!(violations(delete).contains("no DELETE operation"));
}

#[test]
fn guids_in_both_forms_are_accepted_and_nothing_else() {
    assert!(get(&format!("/Items/{HEX}"), None, &auth()).is_ok());
    assert!(get(&format!("/Items/{}", HEX.to_uppercase()), None, &auth()).is_ok());
    assert!(violations(get("/Items/123", None, &auth())).contains("not a valid uuid"));
    assert!(violations(get(&format!("/Items/{HEX}0"), None, &auth())).contains("uuid"));
}

#[test]
fn query_parameters_are_typed_and_must_be_declared() {
    let path = format!("/Items/{HEX}");
    assert!(get(&path, Some("limit=5&flag=true&tags=a,b"), &auth()).is_ok());
    assert!(get(&path, Some("tags=a&tags=b"), &auth()).is_ok());
    assert!(violations(get(&path, Some("limit=five"), &auth())).contains("not an integer"));
    assert!(violations(get(&path, Some("limit=3000000000"), &auth())).contains("format"));
    assert!(violations(get(&path, Some("flag=yes"), &auth())).contains("not a boolean"));
    assert!(violations(get(&path, Some("tags=c"), &auth())).contains("is not one of"));
    assert!(violations(get(&path, Some("Limit=5"), &auth())).contains("not declared"));
    assert!(violations(get(&path, Some("api_key=x"), &auth())).contains("not declared"));
}

#[test]
fn security_requirements_need_the_credential() {
    let path = format!("/Items/{HEX}");
    assert!(violations(get(&path, None, &[])).contains("requires credentials"));
    let legacy = vec![("x-emby-token".to_owned(), "k".to_owned())];
    assert!(violations(get(&path, None, &legacy)).contains("requires credentials"));
}

#[test]
fn bodies_are_validated_against_the_schema() {
    let path = format!("/Items/{HEX}");
    assert!(
        post(
            &path,
            &json!({"Name": "x", "Count": 1, "Kind": null, "Ids": [DASHED, HEX], "Id": 7})
        )
        .is_ok()
    );
    assert!(
        post(
            &path,
            &json!({"Name": "x", "When": "2024-05-01T18:03:11.1234567Z", "Choice": 3})
        )
        .is_ok()
    );
    let cases = [
        (json!({}), "required property `Name`"),
        (json!({"Name": ""}), "shorter than 1"),
        (
            json!({"Name": "x", "name": "y"}),
            "`name` is not in the schema",
        ),
        (json!({"Name": "x", "Count": -1}), "below the minimum"),
        (json!({"Name": "x", "Count": 1.5}), "expected integer"),
        (json!({"Name": "x", "Kind": "Song"}), "is not one of"),
        (json!({"Name": "x", "Ids": ["nope"]}), "Ids[0]"),
        (json!({"Name": "x", "When": "yesterday"}), "date-time"),
        (
            json!({"Name": "x", "Choice": true}),
            "matches 0 of the 2 `oneOf`",
        ),
        (json!({"Name": 5}), "expected string, found number"),
        (json!(null), "expected object, found null"),
    ];
    for (body, expected) in cases {
        let found = violations(post(&path, &body));
        assert!(found.contains(expected), "{body}: {found}");
    }
}

#[test]
fn body_presence_and_content_type() {
    let path = format!("/Items/{HEX}");
    let no_body = doc().validate_request(&RequestParts {
        method: "POST",
        path: &path,
        query: None,
        headers: &[],
        body: b"",
    });
    assert!(violations(no_body).contains("body is required"));
    let text = doc().validate_request(&RequestParts {
        method: "POST",
        path: &path,
        query: None,
        headers: &[("Content-Type".into(), "text/plain".into())],
        body: b"{\"Name\":\"x\"}",
    });
    assert!(violations(text).contains("not one of the declared"));
    let vendor = doc().validate_request(&RequestParts {
        method: "POST",
        path: &path,
        query: None,
        headers: &[("Content-Type".into(), "application/vnd.x+json".into())],
        body: b"{\"Name\":\"x\"}",
    });
    assert!(vendor.is_ok());
    let broken = doc().validate_request(&RequestParts {
        method: "POST",
        path: &path,
        query: None,
        headers: &json_headers(),
        body: b"{\"Name\":",
    });
    assert!(violations(broken).contains("not valid JSON"));
    let stray = doc().validate_request(&RequestParts {
        method: "GET",
        path: &path,
        query: None,
        headers: &auth(),
        body: b"{}",
    });
    assert!(violations(stray).contains("takes no request body"));
}

#[test]
fn unsupported_keywords_and_missing_headers_fail_loudly() {
    let found = violations(get("/Odd", Some("p=a"), &[]));
    assert!(found.contains("`pattern`"), "{found}");
    assert!(
        found.contains("header parameter `X-Need` is missing"),
        "{found}"
    );
}

#[test]
fn responses_are_checked_when_documented() {
    let api = doc();
    let path = format!("/Items/{HEX}");
    let json = Some("application/json; charset=utf-8");
    assert!(
        api.validate_response("GET", &path, 200, json, br#"{"Name":"x"}"#)
            .is_ok()
    );
    let bad = api.validate_response("GET", &path, 200, json, br#"{"Nam":"x"}"#);
    assert!(bad.unwrap_err().join(" ").contains("`Nam`"));
    assert!(
        api.validate_response("GET", &path, 404, Some("text/plain"), b"nope")
            .is_ok()
    );
    assert!(
        api.validate_response("GET", &path, 200, Some("text/html"), b"<html>")
            .is_ok()
    );
}

#[test]
fn helpers() {
    assert_eq!(percent_decode("a%20b+c%2", true), "a b c%2");
    assert_eq!(percent_decode("a+b%2Fc", false), "a+b/c");
    assert_eq!(
        parse_query("userId=1&x=%C3%A9&flag"),
        vec![
            ("userId".into(), "1".into()),
            ("x".into(), "é".into()),
            ("flag".into(), String::new())
        ]
    );
    assert!(media_matches(
        "application/*+json",
        "application/problem+json"
    ));
    assert!(!media_matches("text/json", "application/json"));
    assert!(is_date_time("2024-05-01T18:03:11+02:00"));
    assert!(!is_date_time("2024-05-01 18:03:11Z"));
    assert_eq!(doc().version(), "1.2.3");
    assert!(OpenApi::from_value("x", json!({"openapi": "2.0", "paths": {}})).is_err());
}

#[test]
fn unique_items_refuses_a_repeated_item() {
    let api = OpenApi::from_value(
        "u.json",
        json!({"openapi": "3.0.1", "info": {"version": "1"}, "paths": {}}),
    )
    .unwrap();
    let schema = json!({"type": "array", "items": {"type": "string"}, "uniqueItems": true});
    let mut errors = Vec::new();
    api.check(&json!(["a", "b"]), &schema, "body", 0, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    api.check(&json!(["a", "b", "a"]), &schema, "body", 0, &mut errors);
    assert_eq!(
        errors,
        vec!["body[2]: repeats an earlier item (uniqueItems)"]
    );
}

#[test]
fn a_list_of_types_is_reported_not_passed() {
    let api = OpenApi::from_value(
        "t.json",
        json!({"openapi": "3.1.0", "info": {"version": "1"}, "paths": {}}),
    )
    .unwrap();
    let mut errors = Vec::new();
    api.check(
        &json!("x"),
        &json!({"type": ["string", "null"]}),
        "body",
        0,
        &mut errors,
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(OpenApi::from_value("t.json", json!({"openapi": "2.0", "paths": {}})).is_err());
}

//! Issue 20: the OpenAPI document declares every constraint the server enforces, and the server
//! accepts everything the document allows. One check per mismatch the property-based run
//! (Schemathesis, `.ci/schemathesis.py`) found, so none can come back without this suite
//! noticing, even where Schemathesis is not installed.

use crate::domain::Api;
use crate::support::{Daemon, client};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The request-body schema of `method path`, with a top-level `$ref` resolved.
fn body_schema<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let schema =
        &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    resolve(doc, schema)
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

fn query_param<'a>(doc: &'a Value, path: &str, name: &str) -> &'a Value {
    doc["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no parameter {name} on GET {path}"))
}

fn required(schema: &Value) -> Vec<&str> {
    schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_document_states_what_the_server_enforces() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let doc: Value = client()
        .get(daemon.at("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // Required fields: a server needs name, kind and url on create (not on update); a wizard
    // its name; an invitation at least one server.
    let new_server = body_schema(&doc, "post", "/api/v1/servers");
    for field in ["name", "kind", "url"] {
        assert!(
            required(new_server).contains(&field),
            "{field}: {new_server}"
        );
        assert_eq!(
            new_server["properties"][field]["type"], "string",
            "{field} is not nullable"
        );
    }
    assert_eq!(new_server["properties"]["name"]["minLength"], 1);
    assert_eq!(new_server["properties"]["name"]["maxLength"], 64);
    let server_changes = body_schema(&doc, "patch", "/api/v1/servers/{id}");
    assert!(required(server_changes).is_empty());
    assert!(
        server_changes["properties"].get("kind").is_none(),
        "kind cannot change"
    );
    assert!(required(body_schema(&doc, "post", "/api/v1/wizards")).contains(&"name"));
    let new_invitation = body_schema(&doc, "post", "/api/v1/invitations");
    assert!(required(new_invitation).contains(&"servers"));
    let props = &new_invitation["properties"];
    assert_eq!(props["servers"]["minItems"], 1);
    assert_eq!(props["max_uses"]["minimum"], 1);
    assert_eq!(props["max_uses"]["maximum"], 1_000_000);
    assert_eq!(props["access_duration_days"]["minimum"], 1);
    assert_eq!(props["access_duration_days"]["maximum"], 36_500);
    assert_eq!(props["pre_wizard_id"]["minimum"], 1);
    assert_eq!(props["expires_at"]["format"], "date-time");
    let step = body_schema(&doc, "post", "/api/v1/wizards/{id}/steps");
    assert_eq!(step["properties"]["position"]["minimum"], 0);

    // Enums and formats.
    let outcome = query_param(&doc, "/api/v1/audit", "outcome");
    assert_eq!(outcome["schema"]["enum"], json!(["success", "failure"]));
    assert_eq!(outcome["allowEmptyValue"], true);
    assert_eq!(
        query_param(&doc, "/api/v1/audit", "since")["schema"]["format"],
        "date-time"
    );
    let key = body_schema(&doc, "post", "/api/v1/api-keys");
    assert_eq!(key["properties"]["scope"]["enum"], json!(["read", "admin"]));
    assert_eq!(key["properties"]["name"]["maxLength"], 64);
    assert_eq!(key["properties"]["expires_at"]["format"], "date-time");

    // "At least one setting", and each setting's type and range from the catalogue.
    let settings = body_schema(&doc, "patch", "/api/v1/settings");
    assert_eq!(settings["minProperties"], 1);
    assert_eq!(settings["additionalProperties"], false);
    assert_eq!(
        settings["properties"]["jobs.keep_days"]["type"],
        json!(["integer", "null"])
    );
    assert_eq!(settings["properties"]["jobs.keep_days"]["minimum"], 1);
    assert_eq!(settings["properties"]["jobs.keep_days"]["maximum"], 3650);

    // The page number has a maximum, and the server enforces it.
    let page = query_param(&doc, "/api/v1/invitations", "page");
    assert_eq!(page["schema"]["maximum"], 1_000_000);
    let (status, _) = api.get("/invitations?page=1000000").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api.get("/invitations?page=1000001").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "page");

    // Empty optional query parameters are absent, as `allowEmptyValue` says.
    let (status, body) = api
        .get("/audit?page=1&action=&actor=&outcome=&since=&until=")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api.get("/invitations?status=&sort=&order=&search=").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // An integral number written as a float is that integer.
    let (status, body) = api
        .patch("/settings", json!({ "jobs.keep_days": 30.0 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api.post("/wizards", json!({ "name": "Welcome" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let wizard = body["id"].as_i64().unwrap();
    let (status, body) = api
        .post(
            &format!("/wizards/{wizard}/steps"),
            json!({ "title": "One", "content": "x", "position": 0.0 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = api
        .post(
            &format!("/wizards/{wizard}/steps"),
            json!({ "title": "Two", "position": 0.5 }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a fraction stays a fraction: {body}"
    );
    // A setting's type is enforced: text is not a number.
    let (status, body) = api
        .patch("/settings", json!({ "jobs.keep_days": "30" }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Links from create operations to what they created.
    let links = &doc["paths"]["/api/v1/servers"]["post"]["responses"]["201"]["links"];
    let get = links
        .as_object()
        .unwrap()
        .values()
        .find(|l| l["operationId"] == "get_server")
        .unwrap_or_else(|| panic!("no link to get_server: {links}"));
    assert_eq!(get["parameters"]["id"], "$response.body#/id");
    let steps = &doc["paths"]["/api/v1/wizards/{id}/steps"]["post"]["responses"]["201"]["links"];
    let step_link = steps
        .as_object()
        .unwrap()
        .values()
        .find(|l| l["operationId"] == "delete_wizard_step")
        .unwrap_or_else(|| panic!("no link to delete_wizard_step: {steps}"));
    assert_eq!(step_link["parameters"]["id"], "$request.path.id");
    assert_eq!(step_link["parameters"]["step"], "$response.body#/id");
}

/// A request that carries a session cookie that does not verify is refused even when it also
/// carries a valid API key (Schemathesis's ignored-auth check).
#[tokio::test]
async fn a_failing_credential_is_refused_beside_a_valid_one() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let (status, _) = api.get("/auth/me").await;
    assert_eq!(status, StatusCode::OK);
    let resp = client()
        .get(daemon.at("/api/v1/auth/me"))
        .bearer_auth(&api.key)
        .header("cookie", "zondarr_session=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // An empty cookie value is no credential.
    let resp = client()
        .get(daemon.at("/api/v1/auth/me"))
        .bearer_auth(&api.key)
        .header("cookie", "zondarr_session=")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

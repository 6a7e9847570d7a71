//! Onboarding wizards through the real daemon: the builder API, the invitee's step checks with
//! signed progress, enforcement at redemption against the fake Jellyfin, and what the public
//! side never shows (quiz answers, scripts).

use crate::support::{Daemon, admin_key, client};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use zondarr_fakes::jellyfin::JellyfinFake;

struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

/// Status, parsed body and the raw text (to check what the bytes on the wire contain).
type Answer = (StatusCode, Value, String);

impl Api {
    async fn new(daemon: &Daemon) -> Api {
        Api {
            http: client(),
            base: daemon.url.clone(),
            key: admin_key(daemon).await,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder, body: Option<Value>) -> Answer {
        let req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        )
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        let req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.key);
        self.send(req, body).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, v, _) = self.admin(reqwest::Method::GET, path, None).await;
        (s, v)
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, v, _) = self.admin(reqwest::Method::POST, path, Some(body)).await;
        (s, v)
    }

    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, v, _) = self.admin(reqwest::Method::PATCH, path, Some(body)).await;
        (s, v)
    }

    async fn delete(&self, path: &str) -> StatusCode {
        self.admin(reqwest::Method::DELETE, path, None).await.0
    }

    /// A public (unauthenticated) request.
    async fn public(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        let req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        self.send(req, body).await
    }

    async fn validate(&self, code: &str) -> Answer {
        self.public(reqwest::Method::GET, &format!("/join/{code}"), None)
            .await
    }

    async fn step(&self, code: &str, step: i64, token: &str, answers: Value) -> Answer {
        self.public(
            reqwest::Method::POST,
            &format!("/join/{code}/wizard/{step}"),
            Some(json!({ "token": token, "answers": answers })),
        )
        .await
    }

    async fn redeem(&self, code: &str, body: Value) -> Answer {
        self.public(reqwest::Method::POST, &format!("/join/{code}"), Some(body))
            .await
    }

    async fn add_jellyfin(&self, fake: &JellyfinFake) -> i64 {
        let (status, body) = self
            .post("/servers", json!({ "name": "Home", "kind": "jellyfin", "url": fake.base_url(), "config": { "api_key": fake.api_key() } }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_i64().unwrap()
    }

    async fn wizard(&self, name: &str) -> i64 {
        let (status, body) = self.post("/wizards", json!({ "name": name })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_i64().unwrap()
    }

    async fn add_step(&self, wizard: i64, title: &str, content: &str) -> i64 {
        let (status, body) = self
            .post(
                &format!("/wizards/{wizard}/steps"),
                json!({ "title": title, "content": content }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_i64().unwrap()
    }

    async fn add_interaction(&self, wizard: i64, step: i64, config: Value) -> i64 {
        let (status, body) = self
            .post(
                &format!("/wizards/{wizard}/steps/{step}/interactions"),
                config,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_i64().unwrap()
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<none>")
}

fn fields(body: &Value) -> Vec<String> {
    body["error"]["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|f| f["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The ids of a wizard's steps, in position order, checking the positions are 0..n.
fn step_order(wizard: &Value) -> Vec<i64> {
    let steps = wizard["steps"].as_array().unwrap();
    for (i, s) in steps.iter().enumerate() {
        assert_eq!(
            s["position"], i as i64,
            "positions are contiguous: {wizard}"
        );
    }
    steps.iter().map(|s| s["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn a_pre_join_wizard_with_a_quiz_and_a_timer_must_be_passed_before_redemption() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with(
        dir.path(),
        &[],
        &[("ZONDARR_SECURITY_JOIN_PER_IP_PER_MINUTE", "1000")],
    );
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin(&fake).await;

    // The wizard: rules with a button and a quiz, a timed step with terms, a text question.
    let wizard = api.wizard("Welcome").await;
    let rules = api
        .add_step(
            wizard,
            "House rules",
            "# Rules\n\nBe **kind**. [Guide](https://example.org/guide)\n\n\
             <script>alert('pwned')</script>\n\n<img src=\"x\" onerror=\"alert(1)\">\n\n\
             [click](javascript:alert(2))",
        )
        .await;
    let click = api
        .add_interaction(
            wizard,
            rules,
            json!({ "type": "click", "button_text": "I read them" }),
        )
        .await;
    let quiz = api
        .add_interaction(
            wizard,
            rules,
            json!({ "type": "quiz", "question": "Where do requests go?", "options": ["E-mail", "Phone", "The request form"], "correct_index": 2 }),
        )
        .await;
    let wait = api
        .add_step(wizard, "Take a breath", "Read it again.")
        .await;
    api.add_interaction(
        wizard,
        wait,
        json!({ "type": "timer", "duration_seconds": 2 }),
    )
    .await;
    let terms = api
        .add_interaction(
            wizard,
            wait,
            json!({ "type": "terms", "label": "I accept the rules" }),
        )
        .await;
    let about = api.add_step(wizard, "About you", "Tell us.").await;
    let text = api
        .add_interaction(
            wizard,
            about,
            json!({ "type": "text_input", "label": "Your favourite film", "min_length": 2, "max_length": 40 }),
        )
        .await;

    // Settings are validated by type, with field-level errors.
    for (config, field) in [
        (
            json!({ "type": "timer", "duration_seconds": 0 }),
            "duration_seconds",
        ),
        (
            json!({ "type": "timer", "duration_seconds": 301 }),
            "duration_seconds",
        ),
        (
            json!({ "type": "quiz", "question": "?", "options": ["only"], "correct_index": 0 }),
            "options",
        ),
        (
            json!({ "type": "quiz", "question": "?", "options": ["a", "b"], "correct_index": 5 }),
            "correct_index",
        ),
        (json!({ "type": "terms" }), "label"),
        (
            json!({ "type": "text_input", "label": "x", "min_length": 9, "max_length": 3 }),
            "min_length",
        ),
        (json!({ "type": "click", "colour": "red" }), "colour"),
        (json!({ "type": "teleport" }), "type"),
    ] {
        let (status, body) = api
            .post(
                &format!("/wizards/{wizard}/steps/{about}/interactions"),
                config.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{config}: {body}");
        assert_eq!(code(&body), "VALIDATION_FAILED");
        assert!(
            fields(&body).contains(&field.to_owned()),
            "{config}: {body}"
        );
    }
    let (status, body) = api
        .post(
            &format!("/wizards/{wizard}/steps"),
            json!({ "title": "Huge", "content": "x".repeat(20_001) }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), ["content"]);
    let (status, body) = api.post("/wizards", json!({ "name": "" })).await;
    assert_eq!(
        (status, fields(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()])
    );

    // Invitations link the wizard; an unknown wizard is a field error.
    let (status, body) = api
        .post(
            "/invitations",
            json!({ "code": "films", "servers": [{ "server_id": server }], "pre_wizard_id": wizard, "post_wizard_id": 999_999 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), ["post_wizard_id"]);
    let (status, body) = api
        .post(
            "/invitations",
            json!({ "code": "films", "servers": [{ "server_id": server }], "pre_wizard_id": wizard }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["pre_wizard_id"], wizard);
    assert!(body["post_wizard_id"].is_null());
    let (status, other_inv) = api
        .post(
            "/invitations",
            json!({ "code": "other", "servers": [{ "server_id": server }], "pre_wizard_id": wizard }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let other_inv = other_inv["id"].as_i64().unwrap();

    // The validation shows the wizard rendered and sanitised, without the quiz answer.
    let (status, validation, raw) = api.validate("films").await;
    assert_eq!(status, StatusCode::OK, "{raw}");
    assert!(validation["post_wizard"].is_null());
    let pre = &validation["pre_wizard"];
    assert_eq!(pre["id"], wizard);
    let steps: Vec<i64> = pre["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(steps, [rules, wait, about]);
    let html = pre["steps"][0]["html"].as_str().unwrap();
    assert!(html.contains("<strong>kind</strong>"), "{html}");
    assert!(
        html.contains("rel=\"noopener noreferrer\""),
        "links get rel: {html}"
    );
    let lower = raw.to_ascii_lowercase();
    for banned in ["<script", "onerror", "javascript:", "pwned", "correct"] {
        assert!(
            !lower.contains(banned),
            "`{banned}` in the validation: {raw}"
        );
    }
    assert_eq!(
        pre["steps"][0]["interactions"][1]["config"],
        json!({ "type": "quiz", "question": "Where do requests go?", "options": ["E-mail", "Phone", "The request form"] })
    );
    let start = pre["start_token"].as_str().unwrap().to_owned();
    let (_, other_validation, _) = api.validate("other").await;
    let other_start = other_validation["pre_wizard"]["start_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Redemption demands the completed wizard.
    let account = json!({ "username": "wanda", "password": "a fine password" });
    let (status, body, _) = api.redeem("films", account.clone()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "WIZARD_REQUIRED"),
        "{body}"
    );
    let mut with_token = account.clone();
    with_token["wizard_token"] = json!("forged.token");
    let (status, body, _) = api.redeem("films", with_token.clone()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "WIZARD_TOKEN_INVALID")
    );
    with_token["wizard_token"] = json!(start.clone());
    let (_, body, _) = api.redeem("films", with_token).await;
    assert_eq!(
        code(&body),
        "WIZARD_TOKEN_INVALID",
        "a start token is no completion"
    );
    assert!(fake.users().iter().all(|u| u.name != "wanda"));

    // Skipping a step, another invitation's token, a forged token, a wrong quiz answer.
    let (status, body, _) = api.step("films", wait, &start, json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "WIZARD_STEP_OUT_OF_ORDER"),
        "{body}"
    );
    let right = json!({ click.to_string(): true, quiz.to_string(): 2 });
    let (status, body, _) = api.step("films", rules, &other_start, right.clone()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "WIZARD_TOKEN_INVALID"),
        "{body}"
    );
    let mut forged = start.clone().into_bytes();
    forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let (_, body, _) = api.step("films", rules, &forged, right.clone()).await;
    assert_eq!(code(&body), "WIZARD_TOKEN_INVALID");
    let (status, body, raw) = api
        .step(
            "films",
            rules,
            &start,
            json!({ click.to_string(): true, quiz.to_string(): 0 }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED")
    );
    assert_eq!(fields(&body), [format!("answers.{quiz}")]);
    assert!(
        !raw.contains("correct") && !raw.contains("request form"),
        "{raw}"
    );
    let (status, body, _) = api.step("films", 999_999, &start, json!({})).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let (status, body, _) = api.step("nope", rules, &start, right.clone()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "INVITE_INVALID")
    );

    // Step 1 passes; the timed step is refused until the server's clock says so.
    let (status, passed, raw) = api.step("films", rules, &start, right).await;
    assert_eq!(status, StatusCode::OK, "{raw}");
    assert_eq!(passed["completed"], false);
    assert_eq!(passed["next_step"], wait);
    assert!(!raw.contains("correct"));
    let after_rules = passed["token"].as_str().unwrap().to_owned();
    let accept = json!({ terms.to_string(): true });
    let resp = client()
        .post(daemon.at(&format!("/api/v1/join/films/wizard/{wait}")))
        .json(&json!({ "token": after_rules, "answers": accept }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.headers().get("retry-after").is_some());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "WIZARD_TIMER_RUNNING");
    let (_, body, _) = api
        .step(
            "films",
            wait,
            &after_rules,
            json!({ terms.to_string(): false }),
        )
        .await;
    assert_eq!(
        code(&body),
        "WIZARD_TIMER_RUNNING",
        "the timer is checked first"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (_, body, _) = api.step("films", wait, &after_rules, json!({})).await;
    assert_eq!(
        fields(&body),
        [format!("answers.{terms}")],
        "terms must be accepted"
    );
    let (status, passed, raw) = api.step("films", wait, &after_rules, accept).await;
    assert_eq!(status, StatusCode::OK, "{raw}");
    let after_wait = passed["token"].as_str().unwrap().to_owned();
    // An old token cannot be replayed for a later step.
    let (_, body, _) = api
        .step(
            "films",
            about,
            &after_rules,
            json!({ text.to_string(): "Alien" }),
        )
        .await;
    assert_eq!(code(&body), "WIZARD_STEP_OUT_OF_ORDER");

    // Text answers are bounded.
    let (status, body, _) = api
        .step(
            "films",
            about,
            &after_wait,
            json!({ text.to_string(): "x".repeat(5000) }),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![format!("answers.{text}")]
        )
    );
    let (status, done, raw) = api
        .step(
            "films",
            about,
            &after_wait,
            json!({ text.to_string(): "Alien" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{raw}");
    assert_eq!(done["completed"], true);
    assert!(done["next_step"].is_null());
    let completion = done["token"].as_str().unwrap().to_owned();

    // The completion token works only for its own invitation.
    let mut redeem = account.clone();
    redeem["wizard_token"] = json!(completion.clone());
    let (_, body, _) = api.redeem("other", redeem.clone()).await;
    assert_eq!(code(&body), "WIZARD_TOKEN_INVALID");
    let (status, body, _) = api.redeem("films", redeem).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(fake.users().iter().any(|u| u.name == "wanda"));

    // Editing the wizard invalidates the tokens issued for the old version.
    let (status, _) = api
        .patch(
            &format!("/wizards/{wizard}"),
            json!({ "description": "New rules" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut again =
        json!({ "username": "xavier", "password": "a fine password", "wizard_token": completion });
    let (_, body, _) = api.redeem("films", again.clone()).await;
    assert_eq!(code(&body), "WIZARD_TOKEN_INVALID");

    // A disabled wizard is skipped, not demanded.
    let (status, _) = api
        .patch(&format!("/wizards/{wizard}"), json!({ "enabled": false }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, validation, _) = api.validate("films").await;
    assert!(validation["pre_wizard"].is_null(), "{validation}");
    again.as_object_mut().unwrap().remove("wizard_token");
    let (status, body, _) = api.redeem("films", again).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // So is an empty one.
    let empty = api.wizard("Nothing yet").await;
    let (status, _) = api
        .patch(
            &format!("/invitations/{other_inv}"),
            json!({ "pre_wizard_id": empty }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, validation, _) = api.validate("other").await;
    assert!(validation["pre_wizard"].is_null(), "{validation}");
    let (status, body, _) = api
        .redeem(
            "other",
            json!({ "username": "yusuf", "password": "a fine password" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Every admin change is audited.
    let (_, audit) = api.get("/audit?action=wizard.&per_page=100").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "wizard.create",
        "wizard.step.create",
        "wizard.interaction.create",
        "wizard.update",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn steps_move_contiguously_and_deleting_a_wizard_unlinks_its_invitations() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin(&fake).await;

    let wizard = api.wizard("Tour").await;
    let mut ids = Vec::new();
    for title in ["a", "b", "c", "d"] {
        ids.push(api.add_step(wizard, title, "").await);
    }
    let (a, b, c, d) = (ids[0], ids[1], ids[2], ids[3]);
    // Insert at a position.
    let (status, body) = api
        .post(
            &format!("/wizards/{wizard}/steps"),
            json!({ "title": "first", "content": "", "position": 0 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let first = body["id"].as_i64().unwrap();
    let (_, w) = api.get(&format!("/wizards/{wizard}")).await;
    assert_eq!(step_order(&w), [first, a, b, c, d]);

    // Moves in both directions keep positions contiguous (no unique-constraint failure).
    let moved = async |to: i64, step: i64| {
        api.post(
            &format!("/wizards/{wizard}/steps/{step}/move"),
            json!({ "position": to }),
        )
        .await
    };
    let (status, w) = moved(0, d).await;
    assert_eq!(status, StatusCode::OK, "{w}");
    assert_eq!(step_order(&w), [d, first, a, b, c]);
    let (_, w) = moved(4, first).await;
    assert_eq!(step_order(&w), [d, a, b, c, first]);
    let (_, w) = moved(2, c).await;
    assert_eq!(step_order(&w), [d, a, c, b, first]);
    let (_, w) = moved(2, c).await;
    assert_eq!(step_order(&w), [d, a, c, b, first], "a move in place");
    // Past the end moves the step to the end (the document allows any position from 0).
    let (status, w) = moved(5, c).await;
    assert_eq!(status, StatusCode::OK, "{w}");
    assert_eq!(step_order(&w), [d, a, b, first, c]);
    let (_, w) = moved(2, c).await;
    assert_eq!(step_order(&w), [d, a, c, b, first]);
    let (status, body) = moved(-1, c).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let other = api.wizard("Other").await;
    let (status, _) = api
        .post(
            &format!("/wizards/{other}/steps/{c}/move"),
            json!({ "position": 0 }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a step of another wizard");
    // Deleting closes the gap.
    assert_eq!(
        api.delete(&format!("/wizards/{wizard}/steps/{a}")).await,
        StatusCode::NO_CONTENT
    );
    let (_, w) = api.get(&format!("/wizards/{wizard}")).await;
    assert_eq!(step_order(&w), [d, c, b, first]);
    let (status, page) = api
        .get(&format!("/wizards/{wizard}/steps?page=2&per_page=3"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 4);
    assert_eq!(page["items"][0]["id"], first);
    let (status, body) = api.get("/wizards?per_page=101").await;
    assert_eq!(
        (status, fields(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["per_page".to_owned()]
        )
    );
    let (_, list) = api.get("/wizards?per_page=1").await;
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // Step edits: title and content; position only through move.
    let (status, body) = api
        .patch(
            &format!("/wizards/{wizard}/steps/{b}"),
            json!({ "title": "Bee", "content": "*hi*" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["html"], "<p><em>hi</em></p>\n");
    let (status, body) = api
        .patch(
            &format!("/wizards/{wizard}/steps/{b}"),
            json!({ "position": 0 }),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["position".to_owned()]
        )
    );

    // Interactions: PATCH merges, a type change starts afresh, delete renumbers.
    let quiz = api
        .add_interaction(
            wizard,
            b,
            json!({ "type": "quiz", "question": "?", "options": ["x", "y"], "correct_index": 0 }),
        )
        .await;
    let path = format!("/wizards/{wizard}/steps/{b}/interactions/{quiz}");
    let (status, body) = api.patch(&path, json!({ "correct_index": 1 })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["config"]["correct_index"], 1);
    assert_eq!(body["config"]["options"], json!(["x", "y"]));
    let (status, body) = api.patch(&path, json!({ "correct_index": 2 })).await;
    assert_eq!(
        (status, fields(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["correct_index".to_owned()]
        )
    );
    let (status, body) = api.patch(&path, json!({ "type": "click" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["config"],
        json!({ "type": "click", "button_text": "Continue" })
    );
    assert_eq!(api.delete(&path).await, StatusCode::NO_CONTENT);
    assert_eq!(api.get(&path).await.0, StatusCode::NOT_FOUND);

    // Links: set, cleared with null, set again, then cleared by deleting the wizard.
    let (status, inv) = api
        .post(
            "/invitations",
            json!({ "code": "tour", "servers": [{ "server_id": server }], "pre_wizard_id": wizard, "post_wizard_id": wizard }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    let inv_id = inv["id"].as_i64().unwrap();
    let (_, inv) = api
        .patch(
            &format!("/invitations/{inv_id}"),
            json!({ "post_wizard_id": null }),
        )
        .await;
    assert!(inv["post_wizard_id"].is_null());
    assert_eq!(inv["pre_wizard_id"], wizard, "absent keeps its value");
    let (status, body) = api
        .patch(
            &format!("/invitations/{inv_id}"),
            json!({ "pre_wizard_id": 999_999 }),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["pre_wizard_id".to_owned()]
        )
    );
    let (_, inv) = api
        .patch(
            &format!("/invitations/{inv_id}"),
            json!({ "post_wizard_id": wizard }),
        )
        .await;
    assert_eq!(inv["post_wizard_id"], wizard);
    let (_, w) = api.get(&format!("/wizards/{wizard}")).await;
    assert_eq!(w["invitation_count"], 1);
    assert_eq!(
        api.delete(&format!("/wizards/{wizard}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.get(&format!("/wizards/{wizard}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, inv) = api.get(&format!("/invitations/{inv_id}")).await;
    assert!(inv["pre_wizard_id"].is_null(), "{inv}");
    assert!(inv["post_wizard_id"].is_null(), "{inv}");
    let (_, validation, _) = api.validate("tour").await;
    assert!(validation["pre_wizard"].is_null());
    assert!(
        api.get("/audit?action=wizard.delete").await.1["total"] == 1,
        "the delete is audited"
    );
}

#[tokio::test]
async fn the_post_join_wizard_stays_available_after_the_last_use() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path());
    let api = Api::new(&daemon).await;
    let fake = JellyfinFake::start().await;
    let server = api.add_jellyfin(&fake).await;
    let wizard = api.wizard("Next steps").await;
    let step = api
        .add_step(
            wizard,
            "Get the app",
            "Install [Jellyfin](https://jellyfin.org).",
        )
        .await;
    let button = api
        .add_interaction(wizard, step, json!({ "type": "click" }))
        .await;
    let (status, _) = api
        .post(
            "/invitations",
            json!({ "code": "once", "servers": [{ "server_id": server }], "max_uses": 1, "post_wizard_id": wizard }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, validation, _) = api.validate("once").await;
    assert!(validation["pre_wizard"].is_null());
    let start = validation["post_wizard"]["start_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // No pre-join wizard: redemption needs no token; it uses the invitation up.
    let (status, body, _) = api
        .redeem(
            "once",
            json!({ "username": "zoe", "password": "a fine password" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(api.validate("once").await.0, StatusCode::NOT_FOUND);
    let (status, body, _) = api
        .step("once", step, &start, json!({ button.to_string(): false }))
        .await;
    assert_eq!(
        (status, fields(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![format!("answers.{button}")]
        )
    );
    let (status, done, _) = api
        .step("once", step, &start, json!({ button.to_string(): true }))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["completed"], true);
}

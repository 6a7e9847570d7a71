//! Broken answers, error statuses, hangs, unreachable servers, and 10,000 users.

use super::*;

// ---------------------------------------------------------------------------------------------
// Bad answers and failures

#[tokio::test]
async fn malformed_answers_are_invalid_responses_with_a_helpful_message() {
    let h = harness().await;
    let cases = [
        (Failure::Html, "HTML"),
        (Failure::Garbage(String::new()), "empty body"),
        (Failure::Garbage("  \n".into()), "empty body"),
        (Failure::Truncated, "truncated JSON"),
        (Failure::Garbage("[{\"Id\": 5}]".into()), "cannot read"),
        (
            Failure::Garbage("Error processing request.".into()),
            "cannot read",
        ),
    ];
    for (failure, needle) in cases {
        h.fake.fail_next(failure.clone());
        let error = connector_error(h.host.list_users(PLUGIN, &h.ctx).await);
        assert!(
            matches!(&error, ConnectorError::InvalidResponse(m) if m.contains(needle) && m.contains("GET /Users")),
            "{failure:?}: {error:?}"
        );
    }
    for failure in [
        Failure::Html,
        Failure::Truncated,
        Failure::Garbage(String::new()),
    ] {
        h.fake.fail_next(failure.clone());
        let error = connector_error(h.host.test_connection(PLUGIN, &h.ctx).await);
        assert!(
            matches!(error, ConnectorError::InvalidResponse(_)),
            "{failure:?}: {error:?}"
        );
        h.fake.fail_next(failure.clone());
        let error = connector_error(h.host.list_libraries(PLUGIN, &h.ctx).await);
        assert!(
            matches!(error, ConnectorError::InvalidResponse(_)),
            "{failure:?}: {error:?}"
        );
    }
    h.finish();
}

#[tokio::test]
async fn statuses_map_to_typed_errors() {
    let h = harness().await;
    let cases = [
        (500, ConnectorError::RemoteStatus(500)),
        (502, ConnectorError::RemoteStatus(502)),
        (503, ConnectorError::RemoteStatus(503)),
        (401, ConnectorError::Unauthorized),
        (
            403,
            ConnectorError::Forbidden(
                "the server does not allow GET /Users for these credentials: Error processing request."
                    .into(),
            ),
        ),
        (429, ConnectorError::RateLimited(None)),
    ];
    for (status, expected) in cases {
        h.fake.fail_next(Failure::Status(status));
        assert_eq!(
            connector_error(h.host.list_users(PLUGIN, &h.ctx).await),
            expected,
            "{status}"
        );
    }
    h.fake.fail_next(Failure::Status(404));
    let error = connector_error(h.host.list_users(PLUGIN, &h.ctx).await);
    assert!(matches!(error, ConnectorError::NotFound(_)), "{error:?}");
    h.fake.fail_next(Failure::Status(404));
    let error = connector_error(h.host.test_connection(PLUGIN, &h.ctx).await);
    assert!(
        matches!(&error, ConnectorError::NotFound(m) if m.contains("server URL")),
        "{error:?}"
    );
    h.fake
        .fail_next_on("POST", "/Users/Password", Failure::Status(403));
    let user = h.fake.add_user("nina", "pw");
    let error = connector_error(
        h.host
            .set_password(PLUGIN, &h.ctx, &user, &SecretString::new("x"))
            .await,
    );
    assert!(
        matches!(&error, ConnectorError::Forbidden(m) if m.contains("/Users/Password")),
        "a 403 names the refused request: {error:?}"
    );
    h.finish();
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let h = harness().await;
    h.fake.fail_next(Failure::Hang);
    let started = Instant::now();
    let error = connector_error(h.host.list_users(PLUGIN, &h.ctx).await);
    assert_eq!(error, ConnectorError::Timeout);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
    println!("a hanging Jellyfin was given up after {elapsed:?}");
    h.finish();
}

#[tokio::test]
async fn an_unreachable_server_is_unreachable_and_clients_see_no_url_or_key() {
    let h = harness().await;
    let url = format!("http://127.0.0.1:{}", closed_port());
    let ctx = ServerContext::new(url.as_str()).with_secret("api_key", h.fake.api_key());
    let result = h.host.list_users(PLUGIN, &ctx).await;
    let error = connector_error(result.clone());
    assert!(matches!(error, ConnectorError::Unreachable(_)), "{error:?}");

    // What an API client would see of this and the other failures: no URL, no key.
    let mut shown = Vec::new();
    shown.push(zondarr::error::Error::from(result.expect_err("unreachable")).to_string());
    h.fake.fail_next(Failure::Html);
    shown.push(
        zondarr::error::Error::from(h.host.list_users(PLUGIN, &h.ctx).await.expect_err("html"))
            .to_string(),
    );
    let wrong = ServerContext::new(h.fake.base_url()).with_secret("api_key", "wrong-key-1234");
    shown.push(
        zondarr::error::Error::from(h.host.list_users(PLUGIN, &wrong).await.expect_err("401"))
            .to_string(),
    );
    let missing = "0123456789abcdef0123456789abcdef";
    shown.push(
        zondarr::error::Error::from(
            h.host
                .set_enabled(PLUGIN, &h.ctx, missing, true)
                .await
                .expect_err("404"),
        )
        .to_string(),
    );
    for message in &shown {
        for secret in [
            url.as_str(),
            h.fake.base_url(),
            h.fake.api_key(),
            "127.0.0.1",
            "wrong-key-1234",
        ] {
            assert!(!message.contains(secret), "{message:?} shows {secret:?}");
        }
    }
    h.finish();
}

// ---------------------------------------------------------------------------------------------
// Scale

#[tokio::test]
async fn list_users_handles_ten_thousand_users() {
    let h = harness_with(|cfg| {
        cfg.max_response_bytes = 64 * 1024 * 1024;
        cfg.http_timeout_secs = 30;
    })
    .await;
    h.fake.seed_users(10_000);
    let started = Instant::now();
    let users = h
        .host
        .list_users(PLUGIN, &h.ctx)
        .await
        .expect("list 10,000 users");
    let elapsed = started.elapsed();
    assert_eq!(users.len(), 10_001);
    assert!(
        users
            .iter()
            .all(|u| is_hex_id(&u.id) && u.last_activity.is_some())
    );
    let body_bytes = h
        .fake
        .requests()
        .last()
        .and_then(|r| r.response.as_ref())
        .map(|r| r.size)
        .unwrap_or_default();
    // The same answer fetched without the plugin: the fake's (and loopback's) share of the time.
    let started = Instant::now();
    let body = reqwest::Client::new()
        .get(format!("{}/Users", h.fake.base_url()))
        .header(
            "Authorization",
            format!("MediaBrowser Token=\"{}\"", h.fake.api_key()),
        )
        .send()
        .await
        .expect("GET /Users")
        .bytes()
        .await
        .expect("body");
    let plain = started.elapsed();
    assert_eq!(body.len(), body_bytes);
    println!(
        "list_users over 10,001 Jellyfin users: {elapsed:?} through the plugin; the fake alone \
         serves the {body_bytes}-byte answer in {plain:?} (the daemon's default cap is 64 MiB)"
    );
    h.fake.clear_requests();
    h.finish();
}

#[tokio::test]
async fn a_user_list_over_the_response_limit_is_a_clear_error() {
    let h = harness_with(|cfg| cfg.max_response_bytes = 1024 * 1024).await;
    h.fake.seed_users(1_000);
    let error = connector_error(h.host.list_users(PLUGIN, &h.ctx).await);
    assert!(
        matches!(&error, ConnectorError::InvalidResponse(m) if m.contains("size limit")),
        "{error:?}"
    );
    h.finish();
}

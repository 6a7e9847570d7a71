//! Loading the component, its manifest, test connection and credentials, and admin sign-in.

use super::*;

// ---------------------------------------------------------------------------------------------
// Loading and the manifest

#[tokio::test]
async fn the_bundled_plugin_loads_with_its_manifest() {
    let h = harness().await;
    let status = h.host.status(PLUGIN).expect("status");
    assert_eq!(
        status.source,
        SourceView::Bundled {
            name: Some(PLUGIN.into())
        }
    );
    assert!(
        status.interfaces.contains(&"auth"),
        "{:?}",
        status.interfaces
    );
    let manifest = h.host.manifest(PLUGIN).expect("manifest");
    assert_eq!(manifest.name, "Jellyfin");
    let capabilities: Vec<&str> = manifest.capabilities.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        capabilities,
        [
            "list_users",
            "create_user",
            "delete_user",
            "set_enabled",
            "library_access",
            "permissions",
            "set_password",
            "authenticate",
            "find_user"
        ]
    );
    let auth = serde_json::to_value(&manifest.auth).expect("auth");
    assert_eq!(
        auth,
        json!({"kind": "header", "name": "Authorization", "value_template": "MediaBrowser Token=\"{api_key}\""})
    );
    let key = manifest.config_field("api_key").expect("api_key field");
    assert!(key.required);
    assert_eq!(
        serde_json::to_value(key.kind).expect("kind"),
        json!("secret")
    );
    let permissions: Vec<(String, Value)> = manifest
        .permissions
        .iter()
        .map(|p| {
            (
                p.key.clone(),
                serde_json::to_value(&p.default_value).expect("value"),
            )
        })
        .collect();
    let expected = [
        ("allow_downloads", json!(true)),
        ("allow_media_playback", json!(true)),
        ("allow_audio_transcoding", json!(true)),
        ("allow_video_transcoding", json!(true)),
        ("allow_remuxing", json!(true)),
        ("allow_live_tv", json!(true)),
        ("allow_remote_access", json!(true)),
        ("max_active_sessions", json!(0)),
        ("allow_content_deletion", json!(false)),
        ("allow_public_sharing", json!(true)),
    ];
    let expected: Vec<(String, Value)> = expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    assert_eq!(permissions, expected);
    assert!(
        manifest
            .permissions
            .iter()
            .all(|p| !p.label.is_empty() && p.description.is_some())
    );
    assert!(h.fake.requests().is_empty(), "loading makes no request");
    h.finish();
}

#[tokio::test]
async fn plugin_check_reports_the_manifest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let overrides = zondarr::config::Overrides {
        data_dir: Some(tmp.path().to_owned()),
        ..Default::default()
    };
    let cfg = zondarr::config::Config::load_from(&overrides, &[]).expect("config");
    let path = tmp.path().join("jellyfin.wasm");
    std::fs::write(&path, &bundled_jellyfin().bytes[..]).expect("write");
    let out = zondarr::plugins::cli::check(&path, &cfg)
        .await
        .expect("plugin check");
    for needle in [
        "OK, the daemon would load this plugin",
        "id:           jellyfin",
        "interfaces:   connector, oauth, auth",
        "auth:         header Authorization: MediaBrowser Token=\"{api_key}\"",
        "api_key (secret, required): API key",
        "max_active_sessions (number, default 0): Maximum active sessions",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
}

// ---------------------------------------------------------------------------------------------
// Test connection

#[tokio::test]
async fn test_connection_identifies_the_server_with_the_mediabrowser_header_only() {
    let h = harness().await;
    let info = h
        .host
        .test_connection(PLUGIN, &h.ctx)
        .await
        .expect("test connection");
    assert_eq!(info.name, "Fake Jellyfin");
    assert_eq!(info.product, "Jellyfin");
    assert_eq!(info.version.as_deref(), Some("10.11.11"));
    assert_eq!(info.server_id, Some(h.fake.server_id()));
    let requests = h.fake.requests();
    assert_eq!(h.lines(), ["GET /System/Info"]);
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("MediaBrowser Token=\"{}\"", h.fake.api_key()).as_str())
    );
    h.finish();
}

#[tokio::test]
async fn test_connection_tells_emby_from_jellyfin() {
    let h = harness().await;
    h.fake.set_product_name(None);
    let error = connector_error(h.host.test_connection(PLUGIN, &h.ctx).await);
    assert!(
        matches!(&error, ConnectorError::InvalidInput(m) if m.contains("Emby")),
        "{error:?}"
    );
    // Emby refuses a Jellyfin-style key; its public info still gives it away.
    let wrong_key = ServerContext::new(h.fake.base_url()).with_secret("api_key", "not-the-key");
    let error = connector_error(h.host.test_connection(PLUGIN, &wrong_key).await);
    assert!(
        matches!(&error, ConnectorError::InvalidInput(m) if m.contains("Emby")),
        "{error:?}"
    );
    h.fake.set_product_name(Some("Something Else"));
    let error = connector_error(h.host.test_connection(PLUGIN, &h.ctx).await);
    assert!(
        matches!(&error, ConnectorError::InvalidInput(m) if m.contains("not Jellyfin")),
        "{error:?}"
    );
    h.finish();
}

#[tokio::test]
async fn a_wrong_or_missing_api_key_is_unauthorized() {
    let h = harness().await;
    let wrong = ServerContext::new(h.fake.base_url()).with_secret("api_key", "0123456789abcdef");
    let missing = ServerContext::new(h.fake.base_url());
    for ctx in [&missing, &wrong] {
        assert_eq!(
            connector_error(h.host.test_connection(PLUGIN, ctx).await),
            ConnectorError::Unauthorized
        );
        assert_eq!(
            connector_error(h.host.list_users(PLUGIN, ctx).await),
            ConnectorError::Unauthorized
        );
        assert_eq!(
            connector_error(h.host.list_libraries(PLUGIN, ctx).await),
            ConnectorError::Unauthorized
        );
        if std::ptr::eq(ctx, &missing) {
            // Without a configured key the daemon sends no credentials at all, which the
            // documents (rightly) call a request outside the API: that is why the server
            // answers 401. Only the wrong-key requests go through the contract check.
            assert!(
                h.fake
                    .requests()
                    .iter()
                    .all(|r| r.header("authorization").is_none())
            );
            h.fake.clear_requests();
        }
    }
    let admin = h.fake.admin_id();
    assert_eq!(
        connector_error(h.host.set_enabled(PLUGIN, &wrong, &admin, true).await),
        ConnectorError::Unauthorized
    );
    h.finish();
}

#[tokio::test]
async fn legacy_authentication_is_refused_like_jellyfin_12() {
    let h = harness().await;
    let http = reqwest::Client::new();
    let url = format!("{}/System/Info", h.fake.base_url());
    let key = h.fake.api_key();
    let legacy = [
        http.get(&url).header("X-Emby-Token", key),
        http.get(&url).header("X-MediaBrowser-Token", key),
        http.get(&url).header(
            "X-Emby-Authorization",
            format!("MediaBrowser Token=\"{key}\""),
        ),
        http.get(&url)
            .header("Authorization", format!("Emby Token=\"{key}\"")),
        http.get(format!("{url}?api_key={key}")),
        http.get(&url),
    ];
    for request in legacy {
        let response = request.send().await.expect("send");
        assert_eq!(response.status(), 401);
    }
    let modern = http
        .get(&url)
        .header("Authorization", format!("MediaBrowser Token=\"{key}\""))
        .send()
        .await
        .expect("send");
    assert_eq!(modern.status(), 200);
    // The connector works against such a server (and `finish` checks it sent nothing legacy).
    h.fake.clear_requests();
    h.host
        .test_connection(PLUGIN, &h.ctx)
        .await
        .expect("test connection");
    h.host.list_users(PLUGIN, &h.ctx).await.expect("list users");
    h.finish();
}

// ---------------------------------------------------------------------------------------------
// Admin sign-in

#[tokio::test]
async fn authenticate_reports_the_admin_flag_and_logs_the_session_out() {
    let h = harness().await;
    let user = h.fake.add_user("mia", "mia-pw");

    let admin = h
        .host
        .authenticate(
            PLUGIN,
            &h.ctx,
            ADMIN_NAME,
            &SecretString::new(ADMIN_PASSWORD),
        )
        .await
        .expect("admin signs in");
    assert_eq!(
        (admin.user_id.as_str(), admin.username.as_str(), admin.admin),
        (h.fake.admin_id().as_str(), ADMIN_NAME, true)
    );
    let other = h
        .host
        .authenticate(PLUGIN, &h.ctx, "MIA", &SecretString::new("mia-pw"))
        .await
        .expect("user signs in");
    assert_eq!(
        (other.user_id.as_str(), other.username.as_str(), other.admin),
        (user.as_str(), "mia", false)
    );
    assert!(
        h.fake.sessions().is_empty(),
        "every sign-in session was logged out"
    );

    let requests = h.fake.requests();
    let sign_ins: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|r| r.path == "/Users/AuthenticateByName")
        .collect();
    assert_eq!(sign_ins.len(), 2);
    let version = h.host.manifest(PLUGIN).expect("manifest").version;
    for sign_in in &sign_ins {
        assert_eq!(
            sign_in.header("authorization"),
            Some(
                format!(
                    "MediaBrowser Client=\"Zondarr\", Device=\"Zondarr\", DeviceId=\"{}\", Version=\"{version}\"",
                    // Each plugin sees its own install id, derived from the installation's.
                    zondarr::plugins::plugin_install_id(INSTALL_ID, PLUGIN)
                )
                .as_str()
            ),
            "the sign-in carries the client fields and neither the API key nor a token"
        );
    }
    let logouts: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|r| r.path == "/Sessions/Logout")
        .collect();
    assert_eq!(logouts.len(), 2);
    for request in sign_ins.iter().chain(&logouts) {
        let count = request
            .headers
            .iter()
            .filter(|(name, _)| name == "authorization")
            .count();
        assert_eq!(
            count, 1,
            "exactly one Authorization header: {:?}",
            request.headers
        );
    }
    for logout in &logouts {
        let auth = logout.header("authorization").expect("authorization");
        assert!(
            auth.starts_with("MediaBrowser Token=\"") && !auth.contains(h.fake.api_key()),
            "{auth}"
        );
    }

    for (name, password) in [(ADMIN_NAME, "wrong"), ("nobody", "pw"), ("", "pw")] {
        let error = connector_error(
            h.host
                .authenticate(PLUGIN, &h.ctx, name, &SecretString::new(password))
                .await,
        );
        assert_eq!(error, ConnectorError::Unauthorized, "{name}");
    }
    h.fake.edit_policy(&user, |p| {
        p.insert("IsDisabled".into(), json!(true));
    });
    let error = connector_error(
        h.host
            .authenticate(PLUGIN, &h.ctx, "mia", &SecretString::new("mia-pw"))
            .await,
    );
    assert!(
        matches!(&error, ConnectorError::Forbidden(m) if m.contains("POST /Users/AuthenticateByName")),
        "a 403 names the refused request: {error:?}"
    );
    h.finish();
}

/// The fake itself, driven directly: the behaviours the connector relies on are the documented
/// ones (its answers go through the contract check of `finish` too).
#[tokio::test]
async fn the_fake_signs_in_and_replaces_whole_policies_like_jellyfin() {
    let h = harness().await;
    let http = reqwest::Client::new();
    let base = h.fake.base_url().to_owned();
    let sign_in = |authorization: &str| {
        http.post(format!("{base}/Users/AuthenticateByName"))
            .header("Authorization", authorization.to_owned())
            .json(&json!({"Username": ADMIN_NAME, "Pw": ADMIN_PASSWORD}))
            .send()
    };
    let full = "MediaBrowser Client=\"t\", Device=\"d\", DeviceId=\"1\", Version=\"1\"";
    let response = sign_in(full).await.expect("sign in");
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.expect("JSON");
    let token = result["AccessToken"].as_str().expect("token").to_owned();
    assert_eq!(result["User"]["Policy"]["IsAdministrator"], json!(true));
    assert_eq!(h.fake.sessions().len(), 1);
    let partial = "MediaBrowser Client=\"t\", Device=\"d\", DeviceId=\"1\"";
    assert_eq!(sign_in(partial).await.expect("send").status(), 400);
    let logout = http
        .post(format!("{base}/Sessions/Logout"))
        .header("Authorization", format!("MediaBrowser Token=\"{token}\""))
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), 204);
    assert!(h.fake.sessions().is_empty());

    // A policy with only the provider ids is valid, and resets everything else to the defaults.
    let user = h.fake.add_user("olga", "pw");
    let library = h.fake.libraries()[0].id.clone();
    h.fake.edit_policy(&user, |p| {
        p.insert("EnableAllFolders".into(), json!(false));
        p.insert("EnabledFolders".into(), json!([library]));
    });
    let response = http
        .post(format!("{base}/Users/{user}/Policy"))
        .header(
            "Authorization",
            format!("MediaBrowser Token=\"{}\"", h.fake.api_key()),
        )
        .json(&json!({
            "IsDisabled": true,
            "AuthenticationProviderId": DEFAULT_AUTH_PROVIDER,
            "PasswordResetProviderId": DEFAULT_RESET_PROVIDER,
        }))
        .send()
        .await
        .expect("policy");
    assert_eq!(response.status(), 204);
    let policy = h.fake.policy(&user).expect("policy");
    assert_eq!(policy["IsDisabled"], json!(true));
    assert_eq!(
        policy["EnableAllFolders"],
        json!(true),
        "the library limit is gone"
    );
    assert_eq!(policy["EnabledFolders"], json!([]));

    // Without the provider ids it is refused (and outside the documents, so not logged).
    h.fake.clear_requests();
    let response = http
        .post(format!("{base}/Users/{user}/Policy"))
        .header(
            "Authorization",
            format!("MediaBrowser Token=\"{}\"", h.fake.api_key()),
        )
        .json(&json!({"IsDisabled": false}))
        .send()
        .await
        .expect("policy");
    assert_eq!(response.status(), 400);
    assert_eq!(
        h.fake.policy(&user).expect("policy")["IsDisabled"],
        json!(true)
    );
    h.fake.clear_requests();
    h.finish();
}

//! Libraries and users: listing, creating (all or nothing), deleting, and every policy edit.

use super::*;

// ---------------------------------------------------------------------------------------------
// Libraries and users

#[tokio::test]
async fn list_libraries_returns_the_ids_that_go_into_enabled_folders() {
    let h = harness().await;
    let libraries = h
        .host
        .list_libraries(PLUGIN, &h.ctx)
        .await
        .expect("list libraries");
    let expected: Vec<(String, String, String)> = h
        .fake
        .libraries()
        .into_iter()
        .map(|l| {
            (
                l.id,
                l.name,
                l.collection_type.unwrap_or_else(|| "mixed".into()),
            )
        })
        .collect();
    let got: Vec<(String, String, String)> = libraries
        .iter()
        .map(|l| (l.id.clone(), l.name.clone(), l.kind.clone()))
        .collect();
    assert_eq!(got, expected);
    assert!(got.iter().any(|(_, _, kind)| kind == "mixed"));
    assert_eq!(h.lines(), ["GET /Library/VirtualFolders"]);

    // Granting a listed library puts exactly that id into the policy.
    let user = h.fake.add_user("ann", "pw");
    let music = libraries.iter().find(|l| l.kind == "music").expect("music");
    h.host
        .set_library_access(
            PLUGIN,
            &h.ctx,
            &user,
            &LibraryAccess::Only(vec![music.id.clone()]),
        )
        .await
        .expect("grant");
    let policy = h.fake.policy(&user).expect("policy");
    assert_eq!(policy["EnabledFolders"], json!([music.id]));
    assert_eq!(policy["EnableAllFolders"], json!(false));
    h.finish();
}

#[tokio::test]
async fn list_users_reports_ids_names_flags_and_last_activity() {
    let h = harness().await;
    let ann = h.fake.add_user("ann", "pw");
    let bob = h.fake.add_user("Bob", "pw");
    h.fake.edit_policy(&bob, |p| {
        p.insert("IsDisabled".into(), json!(true));
    });
    let users = h.host.list_users(PLUGIN, &h.ctx).await.expect("list users");
    assert_eq!(users.len(), 3);
    let admin = users
        .iter()
        .find(|u| u.username == ADMIN_NAME)
        .expect("admin");
    assert!(admin.admin && !admin.disabled);
    assert_eq!(admin.id, h.fake.admin_id());
    let fake_admin = h.fake.user(ADMIN_NAME).expect("fake admin");
    let activity = fake_admin.last_activity.expect("admin activity");
    assert_eq!(
        admin.last_activity.as_deref(),
        Some(activity.format("%Y-%m-%dT%H:%M:%SZ").to_string().as_str())
    );
    let ann_user = users.iter().find(|u| u.id == ann).expect("ann");
    assert_eq!(ann_user.username, "ann");
    assert!(!ann_user.admin && !ann_user.disabled);
    assert_eq!(ann_user.last_activity, None, "never active");
    assert_eq!(ann_user.kind.as_deref(), Some("local"));
    let bob_user = users.iter().find(|u| u.id == bob).expect("bob");
    assert!(bob_user.disabled);
    assert!(users.iter().all(|u| is_hex_id(&u.id)));
    assert_eq!(h.lines(), ["GET /Users"]);
    h.finish();
}

// ---------------------------------------------------------------------------------------------
// Creating users

#[tokio::test]
async fn create_user_sets_the_password_libraries_and_permissions() {
    let h = harness().await;
    let libraries = h.fake.libraries();
    let mut user = new_user("Zoë O'Brien", "s3cret pass");
    user.libraries = LibraryAccess::Only(vec![
        libraries[0].id.clone(),
        dashed(&libraries[2].id).to_uppercase(),
    ]);
    user.permissions = vec![
        flag("allow_downloads", false),
        flag("allow_media_playback", true),
        flag("allow_audio_transcoding", false),
        flag("allow_video_transcoding", false),
        flag("allow_remuxing", false),
        flag("allow_live_tv", false),
        flag("allow_remote_access", false),
        number("max_active_sessions", 2),
        flag("allow_content_deletion", true),
        flag("allow_public_sharing", false),
    ];
    let created = h.create(&user).await.expect("create");
    assert_eq!(created.username, "Zoë O'Brien");
    assert!(is_hex_id(&created.id), "{}", created.id);
    assert!(!created.admin && !created.disabled);
    let fake_user = h.fake.user(&created.id).expect("the user exists");
    assert_eq!(fake_user.name, "Zoë O'Brien");
    assert!(h.fake.check_password(&created.id, "s3cret pass"));
    let policy = fake_user.policy;
    assert_eq!(policy["EnableAllFolders"], json!(false));
    assert_eq!(
        policy["EnabledFolders"],
        json!([libraries[0].id, libraries[2].id])
    );
    for (field, value) in [
        ("EnableContentDownloading", json!(false)),
        ("EnableMediaPlayback", json!(true)),
        ("EnableAudioPlaybackTranscoding", json!(false)),
        ("EnableVideoPlaybackTranscoding", json!(false)),
        ("EnablePlaybackRemuxing", json!(false)),
        ("EnableLiveTvAccess", json!(false)),
        ("EnableRemoteAccess", json!(false)),
        ("MaxActiveSessions", json!(2)),
        ("EnableContentDeletion", json!(true)),
        ("EnablePublicSharing", json!(false)),
        ("AuthenticationProviderId", json!(DEFAULT_AUTH_PROVIDER)),
        ("PasswordResetProviderId", json!(DEFAULT_RESET_PROVIDER)),
        ("EnableLiveTvManagement", json!(true)),
    ] {
        assert_eq!(policy[field], value, "{field}");
    }
    let id = dashed(&created.id);
    assert_eq!(
        h.lines(),
        [
            "POST /Users/New".to_owned(),
            format!("GET /Users/{id}"),
            format!("POST /Users/{id}/Policy"),
        ]
    );
    let new_request = &h.fake.requests()[0];
    assert_eq!(
        new_request.body_json(),
        Some(json!({"Name": "Zoë O'Brien", "Password": "s3cret pass"}))
    );
    h.finish();
}

#[tokio::test]
async fn create_user_with_jellyfin_defaults_writes_no_policy() {
    let h = harness().await;
    let mut user = new_user("carol", "pw");
    user.permissions = default_permissions(&h.host);
    let created = h.create(&user).await.expect("create");
    let policy = h.fake.policy(&created.id).expect("policy");
    assert_eq!(policy["EnableAllFolders"], json!(true));
    assert_eq!(policy["EnableContentDownloading"], json!(true));
    assert_eq!(
        h.lines(),
        [
            "POST /Users/New".to_owned(),
            format!("GET /Users/{}", dashed(&created.id)),
        ],
        "the defaults equal Jellyfin's, so the policy is left as it is"
    );
    h.finish();
}

#[tokio::test]
async fn a_taken_name_is_found_by_find_user_and_refused_by_create() {
    let h = harness().await;
    let ann = h.fake.add_user("Ann", "pw");
    // `find-user` compares names as Jellyfin does; the daemon calls it before creating.
    let found = h
        .host
        .find_user(PLUGIN, &h.ctx, &new_user("aNN", "other"))
        .await
        .expect("find")
        .expect("Ann is found");
    assert_eq!(
        (found.id.as_str(), found.username.as_str()),
        (ann.as_str(), "Ann")
    );
    let none = h
        .host
        .find_user(PLUGIN, &h.ctx, &new_user("bea", "other"))
        .await
        .expect("find");
    assert_eq!(none, None);
    assert_eq!(h.lines(), ["GET /Users", "GET /Users"]);
    // Jellyfin's bare 400 for the duplicate is told apart by a second look.
    h.fake.clear_requests();
    let error = connector_error(h.create(&new_user("aNN", "other")).await);
    assert_eq!(error, ConnectorError::UsernameTaken);
    assert_eq!(h.lines(), ["POST /Users/New", "GET /Users"]);
    assert_eq!(h.fake.users().len(), 2);
    h.finish();
}

#[tokio::test]
async fn names_jellyfin_refuses_are_invalid_input() {
    let h = harness().await;
    for name in ["bad/name", " padded", "semi;colon", ""] {
        let error = connector_error(h.create(&new_user(name, "pw")).await);
        assert!(
            matches!(error, ConnectorError::InvalidInput(_)),
            "{name:?}: {error:?}"
        );
    }
    assert!(
        h.fake.requests().is_empty(),
        "refused before sending anything"
    );
    // A name only the server can judge: it answers its bare 400.
    let error = connector_error(h.create(&new_user("snow\u{2603}man", "pw")).await);
    assert!(
        matches!(&error, ConnectorError::InvalidInput(m) if m.contains("refused the username")),
        "{error:?}"
    );
    assert_eq!(h.lines(), ["POST /Users/New", "GET /Users"]);
    let error = connector_error(
        h.create(&NewUser {
            password: None,
            ..new_user("dave", "")
        })
        .await,
    );
    assert!(
        matches!(&error, ConnectorError::InvalidInput(m) if m.contains("password")),
        "{error:?}"
    );
    assert_eq!(h.fake.users().len(), 1);
    h.finish();
}

#[tokio::test]
async fn a_failed_policy_write_removes_the_new_user_again() {
    let h = harness().await;
    h.fake
        .fail_next_on("POST", "/Users/*/Policy", Failure::Status(500));
    let mut user = new_user("erin", "pw");
    user.libraries = LibraryAccess::Only(vec![h.fake.libraries()[0].id.clone()]);
    let error = connector_error(h.create(&user).await);
    assert_eq!(error, ConnectorError::RemoteStatus(500));
    assert!(
        h.fake.user("erin").is_none(),
        "the half-created user was removed"
    );
    let lines = h.lines();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines[3].starts_with("DELETE /Users/"), "{lines:?}");
    h.finish();
}

#[tokio::test]
async fn a_broken_policy_read_removes_the_new_user_again() {
    let h = harness().await;
    h.fake.fail_next_on("GET", "/Users/*", Failure::Html);
    let error = connector_error(h.create(&new_user("frank", "pw")).await);
    assert!(
        matches!(&error, ConnectorError::InvalidResponse(m) if m.contains("HTML")),
        "{error:?}"
    );
    assert!(h.fake.user("frank").is_none());
    assert!(
        h.lines()
            .last()
            .is_some_and(|l| l.starts_with("DELETE /Users/"))
    );
    h.finish();
}

#[tokio::test]
async fn a_lost_creation_answer_is_left_to_the_daemon_to_resolve() {
    let h = harness().await;
    // The server creates the account but the answer is cut off: the connector says the answer
    // could not be read and guesses nothing; the daemon resolves it with `find-user` and its
    // journal (tests/it/redemption.rs).
    h.fake
        .fail_next_on("POST", "/Users/New", Failure::Truncated);
    let error = connector_error(h.create(&new_user("paula", "pw")).await);
    assert!(
        matches!(&error, ConnectorError::InvalidResponse(m) if m.contains("truncated")),
        "{error:?}"
    );
    assert_eq!(h.lines(), ["POST /Users/New"]);
    let found = h
        .host
        .find_user(PLUGIN, &h.ctx, &new_user("paula", "pw"))
        .await
        .expect("find");
    assert!(
        found.is_some(),
        "the account exists for the daemon to judge"
    );

    // A server error: likewise only the error.
    h.fake.clear_requests();
    h.fake
        .fail_next_on("POST", "/Users/New", Failure::Status(500));
    let error = connector_error(h.create(&new_user("quinn", "pw")).await);
    assert_eq!(error, ConnectorError::RemoteStatus(500));
    assert_eq!(h.lines(), ["POST /Users/New"]);
    h.finish();
}

// ---------------------------------------------------------------------------------------------
// Changing users

#[tokio::test]
async fn delete_user_removes_the_account() {
    let h = harness().await;
    let ann = h.fake.add_user("ann", "pw");
    h.host
        .delete_user(PLUGIN, &h.ctx, &ann, DeleteOptions::default())
        .await
        .expect("delete");
    assert!(h.fake.user(&ann).is_none());
    assert_eq!(h.lines(), [format!("DELETE /Users/{}", dashed(&ann))]);
    let error = connector_error(
        h.host
            .delete_user(PLUGIN, &h.ctx, &ann, DeleteOptions::default())
            .await,
    );
    assert!(
        matches!(&error, ConnectorError::NotFound(m) if m.contains(&ann)),
        "{error:?}"
    );
    h.finish();
}

/// The unrelated fields a real policy may carry, set by an admin in Jellyfin's dashboard or by
/// another tool; none of them may change when Zondarr edits the policy.
fn decorate_policy(fake: &JellyfinFake, user: &str) -> Value {
    let library = fake.libraries()[1].id.clone();
    fake.edit_policy(user, |p| {
        for (field, value) in [
            ("AuthenticationProviderId", json!("Jellyfin.Plugin.LDAP_Auth.LdapAuthenticationProviderPlugin")),
            ("PasswordResetProviderId", json!("Jellyfin.Plugin.LDAP_Auth.LdapPasswordResetProvider")),
            ("IsHidden", json!(false)),
            ("MaxParentalRating", json!(13)),
            ("BlockedTags", json!(["gore", "horror"])),
            ("AllowedTags", json!(["kids"])),
            ("BlockUnratedItems", json!(["Movie", "Series"])),
            (
                "AccessSchedules",
                json!([{"Id": 4, "UserId": user, "DayOfWeek": "Weekday", "StartHour": 7.0, "EndHour": 21.5}]),
            ),
            ("EnableSharedDeviceControl", json!(false)),
            ("EnableLiveTvManagement", json!(false)),
            ("EnableSubtitleManagement", json!(true)),
            ("EnableAllDevices", json!(false)),
            ("EnabledDevices", json!(["living-room-tv"])),
            ("EnableAllChannels", json!(false)),
            ("EnabledChannels", json!(["5d41402abc4b2a76b9719d911017c592"])),
            ("BlockedMediaFolders", json!([library])),
            ("EnableContentDeletionFromFolders", json!(["/media/scratch"])),
            ("LoginAttemptsBeforeLockout", json!(3)),
            ("RemoteClientBitrateLimit", json!(8_000_000)),
            ("SyncPlayAccess", json!("JoinGroups")),
            ("EnableSyncTranscoding", json!(false)),
            ("ForceRemoteSourceTranscoding", json!(true)),
        ] {
            p.insert(field.into(), value);
        }
    });
    fake.policy(user).expect("policy")
}

#[tokio::test]
async fn policy_edits_keep_every_unrelated_field_and_the_provider_ids() {
    let h = harness().await;
    let user = h.fake.add_user("gina", "pw");
    let mut expected = decorate_policy(&h.fake, &user);

    h.host
        .set_enabled(PLUGIN, &h.ctx, &user, false)
        .await
        .expect("disable");
    expected["IsDisabled"] = json!(true);
    assert_eq!(h.fake.policy(&user).expect("policy"), expected);

    let library = h.fake.libraries()[0].id.clone();
    h.host
        .set_library_access(
            PLUGIN,
            &h.ctx,
            &user,
            &LibraryAccess::Only(vec![library.clone()]),
        )
        .await
        .expect("libraries");
    expected["EnableAllFolders"] = json!(false);
    expected["EnabledFolders"] = json!([library]);
    assert_eq!(h.fake.policy(&user).expect("policy"), expected);

    h.host
        .set_permissions(
            PLUGIN,
            &h.ctx,
            &user,
            &[
                flag("allow_downloads", false),
                number("max_active_sessions", 1),
            ],
        )
        .await
        .expect("permissions");
    expected["EnableContentDownloading"] = json!(false);
    expected["MaxActiveSessions"] = json!(1);
    assert_eq!(h.fake.policy(&user).expect("policy"), expected);

    h.host
        .set_enabled(PLUGIN, &h.ctx, &user, true)
        .await
        .expect("enable");
    expected["IsDisabled"] = json!(false);
    assert_eq!(h.fake.policy(&user).expect("policy"), expected);

    // Each edit was one read and one write of the whole policy.
    let posts: Vec<RecordedRequest> = h
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 4);
    for post in &posts {
        let body = post.body_json().expect("JSON body");
        assert_eq!(
            body["AuthenticationProviderId"],
            json!("Jellyfin.Plugin.LDAP_Auth.LdapAuthenticationProviderPlugin")
        );
        assert!(
            body.as_object().is_some_and(|o| o.len() >= 40),
            "the whole policy is sent"
        );
    }
    h.finish();
}

#[tokio::test]
async fn administrators_cannot_be_disabled_and_unchanged_policies_are_not_written() {
    let h = harness().await;
    let user = h.fake.add_user("hank", "pw");
    let admin = h.fake.admin_id();
    let error = connector_error(h.host.set_enabled(PLUGIN, &h.ctx, &admin, false).await);
    assert!(
        matches!(&error, ConnectorError::InvalidInput(m) if m.contains("administrator")),
        "{error:?}"
    );
    assert!(!h.fake.user(&admin).expect("admin").flag("IsDisabled"));
    assert!(
        h.lines().iter().all(|l| !l.starts_with("POST")),
        "nothing written"
    );

    h.host
        .set_enabled(PLUGIN, &h.ctx, &user, false)
        .await
        .expect("disable");
    assert!(h.fake.user(&user).expect("user").flag("IsDisabled"));
    // Already disabled: nothing to write.
    h.fake.clear_requests();
    h.host
        .set_enabled(PLUGIN, &h.ctx, &user, false)
        .await
        .expect("disable again");
    assert_eq!(h.lines(), [format!("GET /Users/{}", dashed(&user))]);
    h.finish();
}

#[tokio::test]
async fn library_access_all_or_a_list() {
    let h = harness().await;
    let user = h.fake.add_user("ivy", "pw");
    let libraries = h.fake.libraries();
    let only = LibraryAccess::Only(vec![
        dashed(&libraries[3].id),
        libraries[1].id.to_uppercase(),
    ]);
    h.host
        .set_library_access(PLUGIN, &h.ctx, &user, &only)
        .await
        .expect("only");
    let policy = h.fake.policy(&user).expect("policy");
    assert_eq!(policy["EnableAllFolders"], json!(false));
    assert_eq!(
        policy["EnabledFolders"],
        json!([libraries[3].id, libraries[1].id])
    );
    h.host
        .set_library_access(PLUGIN, &h.ctx, &user, &LibraryAccess::All)
        .await
        .expect("all");
    let policy = h.fake.policy(&user).expect("policy");
    assert_eq!(policy["EnableAllFolders"], json!(true));
    assert_eq!(policy["EnabledFolders"], json!([]));
    h.host
        .set_library_access(PLUGIN, &h.ctx, &user, &LibraryAccess::Only(Vec::new()))
        .await
        .expect("none");
    let policy = h.fake.policy(&user).expect("policy");
    assert_eq!(
        (
            policy["EnableAllFolders"].clone(),
            policy["EnabledFolders"].clone()
        ),
        (json!(false), json!([]))
    );
    h.fake.clear_requests();
    let error = connector_error(
        h.host
            .set_library_access(
                PLUGIN,
                &h.ctx,
                &user,
                &LibraryAccess::Only(vec!["Movies".into()]),
            )
            .await,
    );
    assert!(
        matches!(&error, ConnectorError::InvalidInput(m) if m.contains("library id")),
        "{error:?}"
    );
    assert!(h.fake.requests().is_empty());
    h.finish();
}

#[tokio::test]
async fn every_permission_key_sets_its_policy_field() {
    let h = harness().await;
    let user = h.fake.add_user("jack", "pw");
    let cases = [
        ("allow_downloads", "EnableContentDownloading"),
        ("allow_media_playback", "EnableMediaPlayback"),
        ("allow_audio_transcoding", "EnableAudioPlaybackTranscoding"),
        ("allow_video_transcoding", "EnableVideoPlaybackTranscoding"),
        ("allow_remuxing", "EnablePlaybackRemuxing"),
        ("allow_live_tv", "EnableLiveTvAccess"),
        ("allow_remote_access", "EnableRemoteAccess"),
        ("allow_content_deletion", "EnableContentDeletion"),
        ("allow_public_sharing", "EnablePublicSharing"),
    ];
    for (key, field) in cases {
        let before = h.fake.policy(&user).expect("policy");
        let current = before[field].as_bool().expect("a flag");
        h.host
            .set_permissions(PLUGIN, &h.ctx, &user, &[flag(key, !current)])
            .await
            .expect(key);
        let mut expected = before;
        expected[field] = json!(!current);
        assert_eq!(h.fake.policy(&user).expect("policy"), expected, "{key}");
    }
    h.host
        .set_permissions(PLUGIN, &h.ctx, &user, &[number("max_active_sessions", 5)])
        .await
        .expect("sessions");
    assert_eq!(
        h.fake.policy(&user).expect("policy")["MaxActiveSessions"],
        json!(5)
    );

    h.fake.clear_requests();
    for bad in [
        flag("allow_everything", true),
        number("allow_downloads", 1),
        flag("max_active_sessions", true),
        number("max_active_sessions", -1),
        number("max_active_sessions", 1 << 40),
    ] {
        let error = connector_error(
            h.host
                .set_permissions(PLUGIN, &h.ctx, &user, std::slice::from_ref(&bad))
                .await,
        );
        assert!(
            matches!(error, ConnectorError::InvalidInput(_)),
            "{bad:?}: {error:?}"
        );
    }
    h.host
        .set_permissions(PLUGIN, &h.ctx, &user, &[])
        .await
        .expect("nothing to change");
    assert!(
        h.fake.requests().is_empty(),
        "bad or empty input sends nothing"
    );
    h.finish();
}

#[tokio::test]
async fn set_password_uses_the_documented_route() {
    let h = harness().await;
    let user = h.fake.add_user("kim", "old");
    h.host
        .set_password(PLUGIN, &h.ctx, &user, &SecretString::new("n3w pass"))
        .await
        .expect("set password");
    assert!(h.fake.check_password(&user, "n3w pass"));
    let requests = h.fake.requests();
    assert_eq!(
        h.lines(),
        [format!("POST /Users/Password?userId={}", dashed(&user))]
    );
    assert_eq!(
        requests[0].body_json(),
        Some(json!({"NewPw": "n3w pass", "ResetPassword": false}))
    );
    let error = connector_error(
        h.host
            .set_password(PLUGIN, &h.ctx, &user, &SecretString::new(""))
            .await,
    );
    assert!(
        matches!(error, ConnectorError::InvalidInput(_)),
        "{error:?}"
    );
    assert!(h.fake.check_password(&user, "n3w pass"));
    h.finish();
}

#[tokio::test]
async fn every_user_operation_accepts_dashed_and_upper_case_ids() {
    let h = harness().await;
    let user = h.fake.add_user("leo", "pw");
    let forms = [
        dashed(&user),
        dashed(&user).to_uppercase(),
        user.to_uppercase(),
        format!("{{{}}}", dashed(&user)),
    ];
    for id in &forms {
        h.host
            .set_enabled(PLUGIN, &h.ctx, id, false)
            .await
            .expect("disable");
        h.host
            .set_enabled(PLUGIN, &h.ctx, id, true)
            .await
            .expect("enable");
        h.host
            .set_library_access(PLUGIN, &h.ctx, id, &LibraryAccess::All)
            .await
            .expect("libraries");
        h.host
            .set_permissions(PLUGIN, &h.ctx, id, &[flag("allow_live_tv", false)])
            .await
            .expect("permissions");
        h.host
            .set_password(PLUGIN, &h.ctx, id, &SecretString::new(id.as_str()))
            .await
            .expect("password");
        assert!(h.fake.check_password(&user, id));
    }
    h.host
        .delete_user(PLUGIN, &h.ctx, &forms[1], DeleteOptions::default())
        .await
        .expect("delete");
    assert!(h.fake.user(&user).is_none());
    h.finish();
}

#[tokio::test]
async fn unknown_users_are_not_found() {
    let h = harness().await;
    let nobody = "0123456789abcdef0123456789abcdef";
    let results = [
        connector_error(h.host.set_enabled(PLUGIN, &h.ctx, nobody, false).await),
        connector_error(
            h.host
                .set_library_access(PLUGIN, &h.ctx, nobody, &LibraryAccess::All)
                .await,
        ),
        connector_error(
            h.host
                .set_permissions(PLUGIN, &h.ctx, nobody, &[flag("allow_live_tv", true)])
                .await,
        ),
        connector_error(
            h.host
                .set_password(PLUGIN, &h.ctx, nobody, &SecretString::new("pw"))
                .await,
        ),
        connector_error(
            h.host
                .delete_user(PLUGIN, &h.ctx, nobody, DeleteOptions::default())
                .await,
        ),
    ];
    for error in results {
        assert!(
            matches!(&error, ConnectorError::NotFound(m) if m.contains(nobody)),
            "{error:?}"
        );
    }
    let error = connector_error(h.host.set_enabled(PLUGIN, &h.ctx, "not-an-id", false).await);
    assert!(
        matches!(&error, ConnectorError::InvalidInput(m) if m.contains("user id")),
        "{error:?}"
    );
    h.finish();
}

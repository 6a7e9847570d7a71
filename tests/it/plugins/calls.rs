//! Calls through the sandbox: every operation and host import, then each limit.

use super::*;

// ---------------------------------------------------------------------------------------------
// Normal operation

#[tokio::test]
async fn fixture_serves_every_operation_through_the_host_imports() {
    let (env, _tmp) = with_fixture(|_| {}).await;
    let fake = fake_server().await;
    let host = &env.host;
    let ctx = server(&fake, "");

    let info = host
        .test_connection("fixture", &ctx)
        .await
        .expect("test_connection");
    assert_eq!(
        (info.name.as_str(), info.version.as_deref()),
        ("Fake", Some("9.9"))
    );
    assert_eq!(info.server_id.as_deref(), Some("srv-1"));

    let libraries = host
        .list_libraries("fixture", &ctx)
        .await
        .expect("libraries");
    assert_eq!(libraries[0].name, "Movies");
    let users = host.list_users("fixture", &ctx).await.expect("users");
    assert_eq!(users[0].username, "ann");

    let mut user = NewUser {
        username: "zoe".into(),
        password: Some(SecretString::new("pw")),
        email: None,
        linked_account: None,
        libraries: LibraryAccess::Only(vec!["1".into()]),
        permissions: vec![PermissionValue {
            key: "allow_downloads".into(),
            value: PValue::Flag(true),
        }],
    };
    assert_eq!(
        host.create_user("fixture", &ctx, &user)
            .await
            .expect("create")
            .user
            .username,
        "zoe"
    );
    user.username = "taken".into();
    let err = host
        .create_user("fixture", &ctx, &user)
        .await
        .expect_err("taken");
    assert_eq!(err.connector_error(), Some(&ConnectorError::UsernameTaken));

    host.delete_user("fixture", &ctx, "7", DeleteOptions::default())
        .await
        .expect("delete");
    host.set_enabled("fixture", &ctx, "7", false)
        .await
        .expect("disable");
    host.set_library_access("fixture", &ctx, "7", &LibraryAccess::All)
        .await
        .expect("libraries");
    host.set_permissions("fixture", &ctx, "7", &[])
        .await
        .expect("permissions");
    host.set_password("fixture", &ctx, "7", &SecretString::new("new"))
        .await
        .expect("password");

    // The optional interfaces, through the declared extra host (overridden to the fake).
    let link = host.start_link("fixture", &ctx).await.expect("start_link");
    assert_eq!(link.pin_id, "p1");
    assert_eq!(
        *fake.state.client_ids.lock().expect("lock"),
        vec![zondarr::plugins::plugin_install_id("install-1", "fixture")],
        "install-id import: derived per plugin, never the installation's own id"
    );
    match host.poll_link("fixture", &ctx, "p1").await.expect("poll") {
        zondarr::plugins::LinkStatus::Linked(account) => {
            assert_eq!(account.username, "bob");
            assert_eq!(account.token.expose(), "linked-secret-77");
            assert!(
                !format!("{account:?}").contains("linked-secret-77"),
                "tokens never in Debug"
            );
        }
        other => panic!("{other:?}"),
    }
    let who = host
        .authenticate("fixture", &ctx, "admin", &SecretString::new("right"))
        .await
        .expect("authenticate");
    assert!(who.admin);

    // Credentials are injected by the host; a wrong secret is the server's 401, not a crash.
    let wrong = server(&fake, "").with_secret("api_key", "wrong");
    let err = host
        .test_connection("fixture", &wrong)
        .await
        .expect_err("wrong token");
    assert_eq!(err.connector_error(), Some(&ConnectorError::Unauthorized));

    let status = host.status("fixture").expect("status");
    assert_eq!(status.state, PluginState::Loaded);
    assert_eq!(status.version.as_deref(), Some("0.1.0"));
    assert_eq!(status.contract_version.as_deref(), Some("0.3.0"));
    assert_eq!(
        status.source,
        SourceView::Folder {
            file: "fixture.wasm".into()
        }
    );
    assert_eq!(status.interfaces, vec!["connector", "oauth", "auth"]);
    assert_eq!(status.calls, 14);
    assert_eq!(status.errors, 2);
    assert_eq!(status.consecutive_failures, 0);
    assert!(status.loaded_at.is_some());

    let err = host
        .test_connection("nope", &ctx)
        .await
        .expect_err("unknown plugin");
    assert_eq!(err, CallError::NotFound("nope".into()));
}

#[tokio::test]
async fn plugin_logs_and_secrets_stay_where_they_belong() {
    let (logs, _guard) = capture_logs();
    let (env, _tmp) = with_fixture(|_| {}).await;
    let fake = fake_server().await;
    env.host
        .test_connection("fixture", &server(&fake, "log"))
        .await
        .expect("log behaviour");
    let text = logs.text();
    assert!(text.contains("fixture log line"), "{text}");
    assert!(
        text.contains("plugin=\"fixture\"") || text.contains("plugin=fixture"),
        "{text}"
    );
    assert!(
        !text.contains(TOKEN),
        "the server token must never be logged:\n{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Sandbox limits

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_fails_within_the_cpu_budget_while_other_calls_work() {
    let (env, _tmp) = with_fixture(|c| c.cpu_ms = 300).await;
    let fake = fake_server().await;
    let host = env.host.clone();
    let looping = {
        let host = host.clone();
        let ctx = server(&fake, "loop");
        tokio::spawn(async move {
            let started = Instant::now();
            let result = host.test_connection("fixture", &ctx).await;
            (result, started.elapsed())
        })
    };
    // While the loop spins, the host keeps answering.
    let mut served_meanwhile = 0;
    while !looping.is_finished() && served_meanwhile < 50 {
        host.test_connection("fixture", &server(&fake, ""))
            .await
            .expect("normal call during the loop");
        served_meanwhile += 1;
    }
    let (result, elapsed) = looping.await.expect("join");
    let err = result.expect_err("the loop must fail");
    assert_eq!(crash_kind(&err), Some(CrashKind::CpuBudget), "{err}");
    println!(
        "loop stopped after {elapsed:?} (budget 300 ms CPU); {served_meanwhile} calls served meanwhile"
    );
    assert!(served_meanwhile > 0);
    host.test_connection("fixture", &server(&fake, ""))
        .await
        .expect("normal call after the loop");
}

#[tokio::test]
async fn a_memory_bomb_fails_cleanly() {
    let (env, _tmp) = with_fixture(|c| c.memory_bytes = 32 * 1024 * 1024).await;
    let fake = fake_server().await;
    let err = env
        .host
        .test_connection("fixture", &server(&fake, "alloc"))
        .await
        .expect_err("alloc");
    assert_eq!(crash_kind(&err), Some(CrashKind::Memory), "{err}");
    let api: zondarr::error::Error = err.into();
    assert_eq!(api.code(), zondarr::error::ErrorCode::PluginFailed);
    env.host
        .test_connection("fixture", &server(&fake, ""))
        .await
        .expect("normal call after");
}

/// The message of the fixture's `remember` behaviour: what state the instance found.
async fn remembered(host: &PluginHost, ctx: &ServerContext) -> String {
    match host.test_connection("fixture", ctx).await {
        Err(CallError::Connector {
            error: ConnectorError::InvalidInput(message),
            ..
        }) => message,
        other => panic!("{other:?}"),
    }
}

/// The instance pool resets memory in place (pages stay resident between instances): every call
/// still starts from the component's initial memory, whatever earlier calls wrote, one at a time
/// and side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_starts_from_fresh_memory() {
    let (env, _tmp) = with_fixture(|_| {}).await;
    let fake = fake_server().await;
    let ctx = server(&fake, "remember");
    for _ in 0..20 {
        assert_eq!(
            remembered(&env.host, &ctx).await,
            "data=7 bss=0 heap=0",
            "state of an earlier call"
        );
    }
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let (host, ctx) = (env.host.clone(), ctx.clone());
            tokio::spawn(async move { remembered(&host, &ctx).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.expect("join"), "data=7 bss=0 heap=0");
    }
}

/// A call's instance is made after the previous call, off the path of its reply, and taken by
/// exactly one call: it is as fresh as one made inside the call. (Current-thread runtime: the
/// task that makes it runs only when the test waits, so what is ready when is certain.)
#[tokio::test(flavor = "current_thread")]
async fn the_instance_made_between_calls_is_fresh_and_used_once() {
    let (env, _tmp) = with_fixture(|_| {}).await;
    let fake = fake_server().await;
    let ctx = server(&fake, "remember");
    assert!(
        !env.host.spare_ready("fixture"),
        "nothing made before a call"
    );
    assert_eq!(remembered(&env.host, &ctx).await, "data=7 bss=0 heap=0");
    env.host.settle("fixture").await;
    assert!(env.host.spare_ready("fixture"), "made after the first call");
    for _ in 0..5 {
        // This call takes the instance made after the previous one...
        assert_eq!(
            remembered(&env.host, &ctx).await,
            "data=7 bss=0 heap=0",
            "state of an earlier call"
        );
        // ...so none is ready until the next one is made.
        assert!(!env.host.spare_ready("fixture"), "an instance used twice");
        env.host.settle("fixture").await;
        assert!(env.host.spare_ready("fixture"));
    }
    // A new version does not get the old version's instance.
    install(&env.dir, "fixture.wasm", &fixture_version("0.2.0"));
    env.host.rescan().await;
    assert_eq!(
        env.host
            .status("fixture")
            .expect("status")
            .version
            .as_deref(),
        Some("0.2.0")
    );
    assert!(
        !env.host.spare_ready("fixture"),
        "the old version's instance"
    );
    assert_eq!(remembered(&env.host, &ctx).await, "data=7 bss=0 heap=0");
    env.host.settle("fixture").await;
    assert!(env.host.spare_ready("fixture"));
}

/// Minor page faults of the calling thread so far (`/proc/thread-self/stat`, field 10).
fn thread_minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    after
        .split(' ')
        .nth(7)
        .and_then(|f| f.parse().ok())
        .expect("minflt")
}

/// With `PAGEMAP_SCAN` (Linux 6.7+) the pool keeps an instance's dirty pages mapped and resets
/// them in place, so the next instance in the slot takes no page faults for the memory the
/// guest touches again (with `madvise`, each call faulted every page it touched back in).
#[tokio::test(flavor = "current_thread")]
async fn a_call_in_a_warm_pool_slot_takes_no_page_faults_for_guest_memory() {
    if !wasmtime::PoolingAllocationConfig::is_pagemap_scan_available() {
        println!("PAGEMAP_SCAN is not available on this kernel: memory is reset with madvise");
        return;
    }
    let (env, _tmp) = with_fixture(|_| {}).await;
    assert!(env.host.uses_pooling());
    let fake = fake_server().await;
    // No request: the whole call runs on this thread (current-thread runtime).
    let ctx = server(&fake, "remember");
    for _ in 0..5 {
        remembered(&env.host, &ctx).await;
    }
    let calls = 50;
    let before = thread_minor_faults();
    for _ in 0..calls {
        remembered(&env.host, &ctx).await;
    }
    let faults = thread_minor_faults() - before;
    println!("{faults} minor page faults in {calls} calls");
    // The guest touches its stack, data, heap and the page `remember` grows; with the slot given
    // back by madvise each call faulted them in again (1,252 faults in 50 calls when measured).
    assert!(
        faults < calls,
        "{faults} minor page faults in {calls} calls: guest memory is not kept resident"
    );
}

#[tokio::test]
async fn undeclared_hosts_and_absolute_urls_are_denied_before_anything_is_sent() {
    let (env, _tmp) = with_fixture(|_| {}).await;
    let fake = fake_server().await;
    for behaviour in ["undeclared", "absolute"] {
        let before = fake.requests();
        let err = env
            .host
            .test_connection("fixture", &server(&fake, behaviour))
            .await
            .expect_err(behaviour);
        match err.connector_error() {
            Some(ConnectorError::Denied(reason)) => println!("{behaviour}: denied: {reason}"),
            other => panic!("{behaviour}: expected denied, got {other:?} ({err})"),
        }
        assert_eq!(
            fake.requests(),
            before,
            "{behaviour}: no request may reach the network"
        );
        let api: zondarr::error::Error = err.into();
        assert_eq!(api.code(), zondarr::error::ErrorCode::PluginHostDenied);
        assert!(
            !api.to_string().contains("169.254"),
            "no URL in client messages: {api}"
        );
    }
}

#[tokio::test]
async fn a_panic_is_reported_with_its_message_in_the_log() {
    let (logs, _guard) = capture_logs();
    let (env, _tmp) = with_fixture(|_| {}).await;
    let fake = fake_server().await;
    let err = env
        .host
        .test_connection("fixture", &server(&fake, "panic"))
        .await
        .expect_err("panic");
    match &err {
        CallError::Crashed {
            kind: CrashKind::Panic,
            detail,
            plugin,
        } => {
            assert_eq!(plugin, "fixture");
            assert!(detail.contains("fixture panicked on purpose"), "{detail}");
        }
        other => panic!("expected a panic crash, got {other:?}"),
    }
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("fixture panicked on purpose"))
        .unwrap_or_else(|| panic!("panic message not in the log:\n{text}"));
    assert!(line.contains("fixture"), "{line}");
    let api: zondarr::error::Error = err.into();
    assert_eq!(api.code(), zondarr::error::ErrorCode::PluginFailed);
    assert!(
        !api.to_string().contains("src/"),
        "no source paths for clients: {api}"
    );
}

#[tokio::test]
async fn a_huge_response_is_too_large() {
    let (env, _tmp) = with_fixture(|_| {}).await;
    let fake = fake_server().await;
    let err = env
        .host
        .test_connection("fixture", &server(&fake, "huge"))
        .await
        .expect_err("huge");
    match err.connector_error() {
        Some(ConnectorError::InvalidResponse(m)) => assert!(m.contains("size limit"), "{m}"),
        other => panic!("expected the too-large error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_request_budget_is_enforced() {
    let (env, _tmp) = with_fixture(|c| c.max_http_requests = 7).await;
    let fake = fake_server().await;
    let before = fake.requests();
    let err = env
        .host
        .test_connection("fixture", &server(&fake, "many-requests"))
        .await
        .expect_err("budget");
    match err.connector_error() {
        Some(ConnectorError::Denied(m)) => assert!(m.contains("as many HTTP requests"), "{m}"),
        other => panic!("expected budget-exhausted, got {other:?}"),
    }
    assert_eq!(
        fake.requests() - before,
        7,
        "exactly the budget reached the server"
    );
}

#[tokio::test]
async fn a_slow_call_hits_the_wall_clock_limit() {
    let (env, _tmp) = with_fixture(|c| c.call_timeout_secs = 1).await;
    let fake = fake_server().await;
    let err = env
        .host
        .test_connection("fixture", &server(&fake, "sleep:5000"))
        .await
        .expect_err("timeout");
    assert!(matches!(err, CallError::Timeout { secs: 1, .. }), "{err:?}");
    env.host
        .test_connection("fixture", &server(&fake, ""))
        .await
        .expect("normal call after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_at_its_concurrency_limit_is_busy() {
    let (env, _tmp) = with_fixture(|c| c.concurrency = 1).await;
    let fake = fake_server().await;
    let slow = {
        let host = env.host.clone();
        let ctx = server(&fake, "sleep:4000");
        tokio::spawn(async move { host.test_connection("fixture", &ctx).await })
    };
    // Wait until the slow call holds the only slot.
    for _ in 0..200 {
        if env.host.status("fixture").is_some_and(|s| s.calls == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let err = env
        .host
        .test_connection("fixture", &server(&fake, ""))
        .await
        .expect_err("busy");
    assert_eq!(err, CallError::Busy("fixture".into()));
    slow.await
        .expect("join")
        .expect("the slow call itself succeeds");
}

#[tokio::test]
async fn a_big_result_crosses_the_boundary_or_fails_cleanly() {
    let (env, _tmp) = with_fixture(|_| {}).await;
    let fake = fake_server().await;
    match env
        .host
        .list_users("fixture", &server(&fake, "big-result"))
        .await
    {
        Ok(users) => {
            println!("200,000 users crossed the boundary");
            assert_eq!(users.len(), 200_000);
        }
        Err(e) => {
            println!("big result: {e}");
            assert_eq!(crash_kind(&e), Some(CrashKind::Memory), "{e}");
        }
    }
    env.host
        .test_connection("fixture", &server(&fake, ""))
        .await
        .expect("normal call after");
}

#[tokio::test]
async fn repeated_crashes_make_a_plugin_unhealthy_until_it_is_reloaded() {
    let (env, _tmp) = with_fixture(|c| c.unhealthy_after = 3).await;
    let fake = fake_server().await;
    for _ in 0..3 {
        let err = env
            .host
            .test_connection("fixture", &server(&fake, "panic"))
            .await
            .expect_err("panic");
        assert!(err.is_crash());
    }
    let status = env.host.status("fixture").expect("status");
    assert_eq!(status.state, PluginState::Unhealthy);
    assert_eq!(status.consecutive_failures, 3);
    let err = env
        .host
        .test_connection("fixture", &server(&fake, ""))
        .await
        .expect_err("unhealthy");
    assert_eq!(err, CallError::Unhealthy("fixture".into()));
    let api: zondarr::error::Error = err.into();
    assert_eq!(api.code(), zondarr::error::ErrorCode::PluginUnhealthy);

    let report = env.host.rescan().await;
    assert_eq!(report.loaded, vec!["fixture.wasm".to_owned()], "{report:?}");
    assert_eq!(
        env.host.status("fixture").expect("status").state,
        PluginState::Loaded
    );
    env.host
        .test_connection("fixture", &server(&fake, ""))
        .await
        .expect("healthy again");
}

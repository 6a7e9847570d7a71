//! The journeys of the browser tests; the harness is in `mod.rs`.

use super::*;

/// Jellyfin with the pre-join wizard (quiz + 3 s timer, then terms) and the post-join wizard.
/// With JavaScript the countdown enables the button; without it the server answers "wait".
pub(super) async fn jellyfin_with_wizards(w: &World, viewport: Viewport, js: bool) {
    let mode = if js { "js" } else { "nojs" };
    let code = format!("wiz-{mode}-{}", viewport.name);
    let username = format!("alex-{mode}-{}", viewport.name);
    w.invitation(&code, w.jellyfin_server, true).await;
    let mut p = w
        .page(
            format!("jellyfin-{mode}-{}", viewport.name),
            viewport,
            js,
            "en-US",
        )
        .await;

    p.goto(&format!("/join/{code}")).await;
    assert_eq!(p.text("h1").await, "Robin's Media invites you");
    assert!(
        p.text("main").await.contains("30 days"),
        "{}",
        p.text("main").await
    );
    // The admin's message: shown as typed, HTML as text, the line break kept.
    assert_eq!(p.text("#welcome blockquote").await, WELCOME);
    assert!(
        p.client.find(Locator::Css("#welcome b")).await.is_err(),
        "HTML in the message is not markup"
    );
    p.check("landing").await;
    p.click("#start").await;
    p.wait_path("/wizard/pre").await;
    assert!(p.text("main").await.contains("Our rules"));
    if js {
        // The countdown holds the button until the server's timer has run out. Read at once,
        // before the screenshot and the accessibility check: on a slow machine those two can
        // take longer than the timer.
        let next = p.client.find(Locator::Css("#next")).await.unwrap();
        assert!(
            !next.is_enabled().await.unwrap(),
            "the timer button starts disabled"
        );
    }
    p.check("wizard-rules").await;

    // The wrong answer first: the error is next to the quiz.
    p.click("input[name^='a-'][value='0']").await;
    if js {
        p.client
            .wait()
            .at_most(Duration::from_secs(WIZARD_TIMER_SECS + 3))
            .for_element(Locator::Css("#next:enabled"))
            .await
            .unwrap();
    } else {
        // Without JavaScript the button answers with the time still to wait.
        p.click("#next").await;
        p.wait_path("/wizard/pre").await;
        let notice = p.text("#notice").await;
        assert!(notice.contains("more second"), "{notice}");
        assert!(notice.contains("WIZARD_TIMER_RUNNING"), "{notice}");
        p.check("wizard-wait").await;
        tokio::time::sleep(Duration::from_secs(WIZARD_TIMER_SECS)).await;
    }
    p.click("#next").await;
    p.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(".quiz .error"))
        .await
        .unwrap();
    assert!(
        p.text(".quiz .error")
            .await
            .contains("not the right answer")
    );
    let picked = p
        .client
        .find(Locator::Css("input[name^='a-'][value='0']"))
        .await
        .unwrap();
    assert!(picked.is_selected().await.unwrap(), "the answer is kept");
    p.check("wizard-wrong").await;
    p.click("input[name^='a-'][value='1']").await;
    p.click("#next").await;
    p.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("input[type='checkbox']"))
        .await
        .unwrap();
    assert!(p.text("h1").await.contains("Terms"));
    p.check("wizard-terms").await;
    p.click("input[type='checkbox']").await;
    p.click("#next").await;
    p.wait_path("/account").await;
    p.check("account").await;

    p.fill("#username", &username).await;
    p.fill("#password", "a-long-password-1").await;
    p.fill("#password2", "a-long-password-1").await;
    p.click("#create").await;
    p.wait_path("/wizard/post").await;
    assert!(p.text("h1").await.contains("Install an app"));
    p.check("post-wizard").await;
    assert_eq!(p.text("#next").await, "Got it");
    p.click("#next").await;
    p.wait_path("/done").await;
    assert!(p.text(".username").await.contains(&username));
    // How to sign in comes from the connector's manifest: the address the admin gave for
    // members (never the server URL the daemon uses) and the apps page.
    assert_eq!(p.text(".address").await, super::MEMBER_URL);
    let page = p.client.source().await.unwrap();
    assert!(page.contains("https://jellyfin.org/downloads/"));
    assert!(
        !page.contains(w.jellyfin.base_url()),
        "the internal URL is not shown"
    );
    p.check("done").await;
    p.close().await;

    let user = w
        .jellyfin
        .user(&username)
        .expect("the account exists on Jellyfin");
    assert!(w.jellyfin.check_password(&user.id, "a-long-password-1"));
}

/// "Sign in with Plex": with JavaScript in a popup while the page polls; without it a full-page
/// redirect to plex.tv that comes back to the join page.
pub(super) async fn plex_sign_in(w: &World, viewport: Viewport, js: bool) {
    let mode = if js { "popup" } else { "redirect" };
    let code = format!("plex-{mode}-{}", viewport.name);
    let name = format!("robin-{mode}-{}", viewport.name);
    w.invitation(&code, w.plex_server, false).await;
    let invitee = w.plex.add_account(&name, &format!("{name}@example.org"));
    let mut p = w
        .page(
            format!("plex-{mode}-{}", viewport.name),
            viewport,
            js,
            "en-US",
        )
        .await;
    p.tolerated.push("plex.tv");
    p.goto(&format!("/j/{code}")).await;
    p.check("landing").await;
    p.click("#start").await;
    p.wait_path("/account").await;
    assert!(p.text("#link-start").await.contains("Sign in with Plex"));
    p.check("account").await;

    link_plex(w, &mut p, &code, invitee.id, js).await;
    p.wait_path("link=").await;
    assert!(
        p.text("#linked").await.contains(&name),
        "{}",
        p.text("main").await
    );
    p.check("linked").await;
    p.click("#create").await;
    p.wait_path("/done").await;
    assert!(p.text(".username").await.contains(&name));
    assert!(
        p.text("main")
            .await
            .contains("sign in with your Plex account")
    );
    p.check("done").await;
    p.close().await;
    assert!(
        w.plex.shares().iter().any(|s| s.user_id == invitee.id),
        "the Plex account was shared with"
    );
}

/// A mixed invitation (SPEC §3.4 step 3, "mixed invitations do both"): two credential servers
/// whose username rules differ (Jellyfin refuses `#`, Navidrome takes it) and Plex. The account
/// page offers "Sign in with Plex" and the credentials form together; a name only one server
/// refuses rolls everything back and is shown next to the username; the corrected name creates
/// the account on both credential servers and shares Plex with the linked account.
pub(super) async fn mixed(w: &World, viewport: Viewport, js: bool) {
    let mode = if js { "js" } else { "nojs" };
    let code = format!("mixed-{mode}-{}", viewport.name);
    let plex_name = format!("kim-{mode}-{}", viewport.name);
    let invitee = w
        .plex
        .add_account(&plex_name, &format!("{plex_name}@example.org"));
    w.admin(
        "/invitations",
        json!({ "code": code, "servers": [
            { "server_id": w.jellyfin_server },
            { "server_id": w.navidrome_server },
            { "server_id": w.plex_server },
        ] }),
    )
    .await;
    let mut p = w
        .page(
            format!("mixed-{mode}-{}", viewport.name),
            viewport,
            js,
            "en-US",
        )
        .await;
    p.tolerated.push("plex.tv");
    p.goto(&format!("/j/{code}")).await;
    let servers = p.text(".servers").await;
    for name in ["Home", "Music", "Movies"] {
        assert!(servers.contains(name), "{servers}");
    }
    p.click("#start").await;
    p.wait_path("/account").await;
    assert!(p.text("#link-start").await.contains("Sign in with Plex"));
    assert!(
        p.client.find(Locator::Css("#username")).await.is_ok(),
        "the credentials form is there too"
    );
    p.check("mixed-account").await;

    link_plex(w, &mut p, &code, invitee.id, js).await;
    p.wait_path("link=").await;
    assert!(p.text("#linked").await.contains(&plex_name));

    // A name Navidrome would take but Jellyfin refuses: nothing is kept anywhere.
    let refused = format!("kim#{mode}{}", viewport.name);
    p.fill("#username", &refused).await;
    p.fill("#password", "a-long-password-3").await;
    p.fill("#password2", "a-long-password-3").await;
    p.click("#create").await;
    p.client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("#username-error"))
        .await
        .unwrap();
    assert!(
        p.text("#notice").await.contains("REMOTE_INVALID_INPUT"),
        "{}",
        p.text("main").await
    );
    assert_eq!(p.value("#username").await, refused, "the username is kept");
    assert!(
        p.text("#linked").await.contains(&plex_name),
        "the Plex link is kept"
    );
    p.check("mixed-refused").await;
    assert!(w.navidrome.user(&refused).is_none(), "rolled back");
    assert!(w.jellyfin.user(&refused).is_none());
    assert!(
        w.plex.shares_of(invitee.id).is_empty(),
        "no share is left from the refused try"
    );

    let username = format!("kim-{mode}-{}", viewport.name);
    p.fill("#username", &username).await;
    p.fill("#password", "a-long-password-3").await;
    p.fill("#password2", "a-long-password-3").await;
    p.click("#create").await;
    p.wait_path("/done").await;
    let done = p.text("main").await;
    assert!(done.contains(&username), "{done}");
    p.check("mixed-done").await;
    p.close().await;

    let jf = w
        .jellyfin
        .user(&username)
        .expect("the account is on Jellyfin");
    assert!(w.jellyfin.check_password(&jf.id, "a-long-password-3"));
    let nd = w
        .navidrome
        .user(&username)
        .expect("the account is on Navidrome");
    assert_eq!(nd.password, "a-long-password-3");
    assert!(
        !w.plex.shares_of(invitee.id).is_empty(),
        "the Plex account was shared with"
    );
}

/// An expired invitation gets the one generic page.
pub(super) async fn expired(w: &World, viewport: Viewport, code: &str) {
    let mut p = w
        .page(
            format!("expired-{}", viewport.name),
            viewport,
            true,
            "en-US",
        )
        .await;
    p.goto(&format!("/j/{code}")).await;
    assert_eq!(p.text("h1").await, "This invitation cannot be used");
    assert!(p.text("main").await.contains("INVITE_INVALID"));
    p.check("invalid").await;
    p.close().await;
}

/// A taken username: the error is next to the field, the name is kept, the password is not;
/// the second try works.
pub(super) async fn taken_username(w: &World, viewport: Viewport) {
    let code = format!("taken-{}", viewport.name);
    let taken = format!("sam-{}", viewport.name);
    w.jellyfin.add_user(&taken, "whatever-1234");
    w.invitation(&code, w.jellyfin_server, false).await;
    let mut p = w
        .page(format!("taken-{}", viewport.name), viewport, true, "en-US")
        .await;
    p.goto(&format!("/j/{code}")).await;
    p.click("#start").await;
    p.wait_path("/account").await;
    p.fill("#username", &taken).await;
    p.fill("#password", "another-password-2").await;
    p.fill("#password2", "another-password-2").await;
    p.fill("#email", "sam@example.org").await;
    p.click("#create").await;
    p.client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("#username-error"))
        .await
        .unwrap();
    assert!(p.text("#username-error").await.contains("already taken"));
    assert!(p.text("#notice").await.contains("USERNAME_TAKEN"));
    assert_eq!(p.value("#username").await, taken, "the username is kept");
    assert_eq!(
        p.value("#email").await,
        "sam@example.org",
        "the e-mail is kept"
    );
    assert_eq!(
        p.value("#password").await,
        "",
        "the password is never sent back"
    );
    p.check("taken").await;
    let second = format!("{taken}-2");
    p.fill("#username", &second).await;
    p.fill("#password", "another-password-2").await;
    p.fill("#password2", "another-password-2").await;
    p.click("#create").await;
    p.wait_path("/done").await;
    p.check("done").await;
    p.close().await;
    assert!(w.jellyfin.user(&second).is_some());
}

/// German from `Accept-Language`, dates included.
pub(super) async fn german(w: &World, viewport: Viewport) {
    let code = format!("deutsch-{}", viewport.name);
    let username = format!("kim-{}", viewport.name);
    w.admin(
        "/invitations",
        json!({ "code": code, "servers": [{ "server_id": w.jellyfin_server }], "expires_at": "2099-03-01T12:00:00Z" }),
    )
    .await;
    let mut p = w
        .page(
            format!("german-{}", viewport.name),
            viewport,
            true,
            "de-DE,de",
        )
        .await;
    p.goto(&format!("/j/{code}")).await;
    assert_eq!(p.text("h1").await, "Robin's Media lädt dich ein");
    assert!(
        p.text("main").await.contains("1. März 2099"),
        "{}",
        p.text("main").await
    );
    assert_eq!(
        p.client
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .as_deref(),
        Some("de")
    );
    p.check("landing").await;
    p.click("#start").await;
    p.wait_path("/account").await;
    assert_eq!(p.text("h1").await, "Konto erstellen");
    p.fill("#username", &username).await;
    p.fill("#password", "ein-langes-passwort").await;
    p.fill("#password2", "ein-anderes-passwort").await;
    p.click("#create").await;
    p.client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("#password2-error"))
        .await
        .unwrap();
    assert!(
        p.text("#password2-error")
            .await
            .contains("stimmen nicht überein")
    );
    p.check("mismatch").await;
    p.fill("#password", "ein-langes-passwort").await;
    p.fill("#password2", "ein-langes-passwort").await;
    p.click("#create").await;
    p.wait_path("/done").await;
    assert_eq!(p.text("h1").await, "Geschafft");
    p.check("done").await;
    // The switcher changes the language and keeps the page.
    p.click("a[hreflang='en']").await;
    p.wait_path("/done").await;
    assert_eq!(p.text("h1").await, "You are in");
    p.close().await;
    assert!(w.jellyfin.user(&username).is_some());
}

/// "Sign in with Plex" on the account page, approved on the fake plex.tv: with JavaScript in the
/// popup while the page polls, without it by the full-page redirect and back.
async fn link_plex(w: &World, p: &mut Page, code: &str, plex_user: u64, js: bool) {
    p.click("#link-start").await;
    if js {
        // The popup opens at plex.tv; the page waits and polls.
        let deadline = Instant::now() + Duration::from_secs(10);
        while p.text("#link-status").await.is_empty() {
            assert!(Instant::now() < deadline, "no popup status");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            p.client.windows().await.unwrap().len() >= 2,
            "a popup opened"
        );
        let pin = w.newest_pin(code);
        assert!(w.plex.approve_pin(&pin, plex_user));
    } else {
        let deadline = Instant::now() + PATIENCE;
        let url = loop {
            let url = p.client.current_url().await.unwrap();
            if url.host_str() == Some("app.plex.tv") {
                break url;
            }
            assert!(Instant::now() < deadline, "no redirect to plex.tv: {url}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let fragment = url.fragment().unwrap_or_default().to_owned();
        let forward = fragment
            .trim_start_matches('?')
            .split('&')
            .find_map(|kv| kv.strip_prefix("forwardUrl="))
            .expect("forwardUrl in the sign-in URL");
        let forward = percent_decode(forward);
        assert!(forward.starts_with(&p.base), "{forward}");
        // plex.tv: the invitee signs in and approves, then plex.tv sends the browser back.
        let pin = w.newest_pin(code);
        assert!(w.plex.approve_pin(&pin, plex_user));
        p.client.goto(&forward).await.unwrap();
    }
}

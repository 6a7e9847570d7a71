//! The wizard builder in a real browser, at 390×844 and 1280×800: an admin builds a wizard with
//! a timer step and a quiz step (a refused setting first: its error next to the field), reads
//! the rendered Markdown, puts the quiz first with the keyboard (Enter on the arrow buttons; the
//! focus stays on the moved step), previews the wizard as an invitee (a wrong answer, then the
//! timer), attaches it to an invitation, and an invitee completes it and joins the fake
//! Jellyfin. Every page is screenshotted and checked by axe-core.

use super::*;
use fantoccini::key::Key;

const VIEWPORTS: [Viewport; 2] = [
    Viewport {
        name: "phone",
        width: 390,
        height: 844,
    },
    Viewport {
        name: "desktop",
        width: 1280,
        height: 800,
    },
];

/// Wait until the element with id `want` has the focus (the page's script gives it once loaded).
async fn wait_focus(p: &Page, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let id = p
            .client
            .execute(
                "return document.readyState === 'complete' && document.activeElement \
                 ? document.activeElement.id : '';",
                Vec::new(),
            )
            .await
            .unwrap();
        if id.as_str() == Some(want) {
            return;
        }
        if Instant::now() >= deadline {
            let html = p
                .client
                .execute(
                    "return document.getElementById('steps').outerHTML + ' url ' + location.href;",
                    Vec::new(),
                )
                .await
                .unwrap();
            panic!("{}: focus on {id}, not {want}: {html}", p.label);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The steps' titles on the wizard page, in order.
async fn step_titles(p: &Page) -> Vec<String> {
    let mut out = Vec::new();
    for li in p
        .client
        .find_all(Locator::Css("#steps li strong"))
        .await
        .unwrap()
    {
        out.push(li.text().await.unwrap());
    }
    out
}

/// The step id in a step page's address (`/admin/wizards/{id}/steps/{step}`).
async fn step_id(p: &Page) -> String {
    let here = p.location().await;
    let path = here.split('?').next().unwrap();
    path.rsplit('/').next().unwrap().to_owned()
}

/// Press the "Continue" button once the step's timer lets it (JavaScript counts down).
async fn next_when_enabled(p: &Page) {
    p.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#next:enabled"))
        .await
        .unwrap();
    p.click("#next").await;
}

async fn journey(driver: String, axe: Arc<String>, viewport: Viewport) {
    let dir = tempfile::tempdir().unwrap().keep();
    let daemon = Daemon::start_with(
        &dir,
        &[],
        &[
            ("ZONDARR_SECURITY_JOIN_PER_IP_PER_MINUTE", "10000"),
            ("ZONDARR_SECURITY_JOIN_WIZARD_PER_IP_PER_MINUTE", "10000"),
            ("ZONDARR_SECURITY_JOIN_REDEEM_PER_IP_PER_MINUTE", "10000"),
        ],
    );
    let key = admin_key(&daemon).await;
    // The address the browser uses is the public one (sign-in checks the Origin against it).
    let resp = client()
        .patch(daemon.at("/api/v1/settings"))
        .bearer_auth(&key)
        .json(&json!({ "public_url": daemon.url }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let jellyfin = JellyfinFake::start().await;
    let resp = client()
        .post(daemon.at("/api/v1/servers"))
        .bearer_auth(&key)
        .json(&json!({ "name": "Home", "kind": "jellyfin", "url": jellyfin.base_url(), "config": { "api_key": jellyfin.api_key() } }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    let label = format!("wizards-{}", viewport.name);
    let mut p = Page::open(
        &driver,
        &daemon.url,
        label.clone(),
        viewport,
        true,
        "en-US",
        axe.clone(),
    )
    .await;
    p.goto("/admin/wizards").await;
    p.sign_in_as_test_admin("/admin/wizards").await;
    assert!(p.text("#no-wizards").await.contains("No wizards yet"));
    p.check("wizards-empty").await;

    // A new wizard, and its first step: Markdown and a timer.
    p.fill("#name", "House rules").await;
    p.click("#create-wizard").await;
    p.wait_path("created=1").await;
    assert!(p.text("#no-steps").await.contains("No steps yet"));
    p.check("wizard-new").await;
    p.fill("#new-title", "Welcome").await;
    p.fill("#new-content", "# Hello\n\nRead **this** first.")
        .await;
    p.click("#add-step").await;
    p.wait_path("/steps/").await;
    p.click("#render").await;
    p.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#rendered h1"))
        .await
        .unwrap();
    assert_eq!(p.text("#rendered h1").await, "Hello");
    assert_eq!(p.text("#rendered strong").await, "this");
    p.check("step-rendered").await;
    // Choosing the type shows its settings (JavaScript sends the chooser).
    p.client
        .find(Locator::Css("#add-type option[value='timer']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    p.wait_path("add=timer").await;
    p.fill("#new-duration_seconds", "2").await;
    p.click("#new-save").await;
    p.wait_path("saved=1").await;
    assert_eq!(p.value("[id$='-duration_seconds']").await, "2");
    p.check("step-timer").await;

    // The second step: a quiz, a refused setting first.
    p.click("#back").await;
    p.wait_path("/admin/wizards/").await;
    p.fill("#new-title", "Quiz").await;
    p.click("#add-step").await;
    p.wait_path("/steps/").await;
    let quiz = step_id(&p).await;
    p.goto(&format!(
        "{}?add=quiz",
        p.location().await.split('?').next().unwrap()
    ))
    .await;
    p.fill("#new-question", "Which colour is the sky?").await;
    p.fill("#new-options", "Red\nBlue\nGreen").await;
    p.fill("#new-correct", "9").await;
    p.click("#new-save").await;
    p.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#new-correct-error"))
        .await
        .unwrap();
    assert!(!p.text("#new-correct-error").await.is_empty());
    assert_eq!(p.value("#new-options").await, "Red\nBlue\nGreen", "kept");
    assert!(p.text("#new-notice").await.contains("VALIDATION_FAILED"));
    p.check("quiz-refused").await;
    p.fill("#new-correct", "2").await;
    p.click("#new-save").await;
    p.wait_path("saved=1").await;
    p.check("step-quiz").await;

    // Put the quiz first with the keyboard: Enter on its "up" button. The focus stays on the
    // moved step (its "down" button, the "up" one is gone at the top); Enter there moves it
    // back, and once more up.
    p.click("#back").await;
    p.wait_path("/admin/wizards/").await;
    assert_eq!(step_titles(&p).await, ["Welcome", "Quiz"]);
    p.check("wizard-steps").await;
    let up = p
        .client
        .find(Locator::Css(&format!("#up-{quiz}")))
        .await
        .unwrap();
    up.send_keys(&Key::Enter.to_string()).await.unwrap();
    p.wait_path(&format!("moved={quiz}")).await;
    assert_eq!(step_titles(&p).await, ["Quiz", "Welcome"]);
    wait_focus(&p, &format!("down-{quiz}")).await;
    let active = p.client.active_element().await.unwrap();
    active.send_keys(&Key::Enter.to_string()).await.unwrap();
    p.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&format!("#steps li:last-child#step-{quiz}")))
        .await
        .unwrap();
    assert_eq!(step_titles(&p).await, ["Welcome", "Quiz"]);
    wait_focus(&p, &format!("up-{quiz}")).await;
    let active = p.client.active_element().await.unwrap();
    active.send_keys(&Key::Enter.to_string()).await.unwrap();
    p.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&format!("#steps li:first-child#step-{quiz}")))
        .await
        .unwrap();
    assert_eq!(step_titles(&p).await, ["Quiz", "Welcome"]);
    assert!(p.text("#unused").await.contains("No invitation"));
    p.check("wizard-reordered").await;

    // Preview as invitee: the join page's own rendering; a wrong answer, then the timer.
    p.click("#preview").await;
    p.wait_path("/preview").await;
    assert!(p.text("#preview-banner").await.contains("Preview"));
    assert!(p.text("h1").await.contains("Quiz"));
    p.check("preview-quiz").await;
    p.click("input[name^='a-'][value='0']").await;
    p.click("#next").await;
    p.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(".quiz .error"))
        .await
        .unwrap();
    p.check("preview-wrong").await;
    p.click("input[name^='a-'][value='1']").await;
    p.click("#next").await;
    p.wait_path("step=1").await;
    assert!(p.text("h1").await.contains("Welcome"));
    assert_eq!(p.text(".content h1").await, "Hello");
    p.check("preview-timer").await;
    next_when_enabled(&p).await;
    p.wait_path("previewed=1").await;
    assert!(p.text("#flash").await.contains("Preview finished"));

    // Attach it to an invitation: the wizard page then lists it.
    p.goto("/admin/invitations/new").await;
    p.click("input[name='server']").await;
    p.client
        .find(Locator::Css("#pre_wizard option:nth-child(2)"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    p.click("#save").await;
    p.wait_path("created=1").await;
    let link = p.value("#invite-link").await;
    let code = link.rsplit('/').next().unwrap().to_owned();
    p.goto("/admin/wizards").await;
    p.click("#wizards a").await;
    p.wait_path("/admin/wizards/").await;
    assert!(p.text("#used-by").await.contains(&code), "used by {code}");
    p.check("wizard-used").await;
    p.close().await;

    // The invitee walks it and joins.
    let username = format!("kim-{}", viewport.name);
    let mut invitee = Page::open(
        &driver,
        &daemon.url,
        format!("{label}-invitee"),
        viewport,
        true,
        "en-US",
        axe,
    )
    .await;
    invitee.goto(link.strip_prefix(&daemon.url).unwrap()).await;
    invitee.click("#start").await;
    invitee.wait_path("/wizard/pre").await;
    assert!(invitee.text("h1").await.contains("Quiz"));
    invitee.click("input[name^='a-'][value='1']").await;
    invitee.click("#next").await;
    invitee
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#timer"))
        .await
        .unwrap();
    assert!(invitee.text("h1").await.contains("Welcome"));
    next_when_enabled(&invitee).await;
    invitee.wait_path("/account").await;
    invitee.fill("#username", &username).await;
    invitee.fill("#password", "a-long-password-1").await;
    invitee.fill("#password2", "a-long-password-1").await;
    invitee.click("#create").await;
    invitee.wait_path("/done").await;
    invitee.check("joined").await;
    invitee.close().await;
    assert!(
        jellyfin.user(&username).is_some(),
        "the account is on Jellyfin"
    );
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_wizard_builder_in_a_real_browser() {
    if let Some(what) = missing() {
        let required = std::env::var("BROWSER_TESTS").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "BROWSER_TESTS=required but {what} is missing (.ci/run installs them)"
        );
        println!("browser tests skipped: {what} missing (see browser/mod.rs)");
        return;
    }
    let axe = Arc::new(std::fs::read_to_string(axe_path()).unwrap());
    let driver = Driver::start().await;
    // Both widths at once, in this task (the daemon handle is not shared across threads).
    let [phone, desktop] = VIEWPORTS;
    tokio::join!(
        journey(driver.url.clone(), axe.clone(), phone),
        journey(driver.url.clone(), axe.clone(), desktop)
    );
}

//! The pre-join and post-join wizard pages: the step a signed token unlocks, its interactions as
//! form controls, and the check of the answers by [`crate::join::submit_step`].

use super::*;

/// Which wizard of the invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Pre,
    Post,
}

impl Which {
    fn parse(s: &str) -> Option<Which> {
        match s {
            "pre" => Some(Which::Pre),
            "post" => Some(Which::Post),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Which::Pre => "pre",
            Which::Post => "post",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WizardQuery {
    /// Progress token.
    t: Option<String>,
    /// Receipt (post-join wizard).
    r: Option<String>,
    /// Set when the wizard was started again after a stale token.
    restarted: Option<String>,
}

/// An interaction as the template shows it.
#[derive(Debug)]
struct InteractionView {
    kind: &'static str,
    /// Form field name.
    name: String,
    label: String,
    placeholder: String,
    required: bool,
    min: Option<u32>,
    max: Option<u32>,
    options: Vec<(usize, String, bool)>,
    value: String,
    checked: bool,
    error: Option<String>,
    seconds: i64,
}

#[derive(Template)]
#[template(path = "wizard.html")]
struct WizardPage {
    l: Layout,
    t: Tr,
    action: String,
    csrf: String,
    token: String,
    receipt: String,
    wizard_name: String,
    number: usize,
    count: usize,
    step_id: i64,
    step_title: String,
    step_html: String,
    interactions: Vec<InteractionView>,
    submit_label: String,
    /// Seconds until the step's timer runs out, as the server counts.
    wait: i64,
    notice: Option<String>,
    error_code: Option<&'static str>,
    /// The admin's preview: the banner saying so (nothing is used or kept).
    preview: Option<String>,
}

/// Where a finished wizard leads.
fn after_wizard(code: &str, which: Which, completion: &str, receipt: &str) -> String {
    match which {
        Which::Pre => format!("{}/account?w={}", base(code), percent_encode(completion)),
        Which::Post => format!("{}/done?r={}", base(code), percent_encode(receipt)),
    }
}

/// The invitation and the wizard for a wizard page; `Err` is the page to show instead.
async fn load_wizard(
    ctx: &Ctx,
    code: &str,
    which: Which,
    receipt: Option<&str>,
) -> Result<(i64, Option<PublicWizard>), Response> {
    let state = ctx.state();
    let inv = match which {
        Which::Pre => crate::join::active_invitation(state, code.to_owned()).await,
        Which::Post => {
            if receipt.and_then(|r| Receipt::open(ctx, code, r)).is_none() {
                return Err(invalid(ctx));
            }
            crate::join::redeemed_invitation(state, code.to_owned()).await
        }
    }
    .map_err(|e| failure(ctx, &e, &base(code)))?;
    let (pre, post) = wizard::offered(state, &inv)
        .await
        .map_err(|e| failure(ctx, &e, &base(code)))?;
    Ok((
        inv.id,
        match which {
            Which::Pre => pre,
            Which::Post => post,
        },
    ))
}

/// The step a token unlocks and when it became available; the wizard's start when the token is
/// missing, stale or for something else.
enum Position {
    Step {
        index: usize,
        token: String,
        issued_ms: i64,
        restarted: bool,
    },
    Complete(String),
}

fn position(ctx: &Ctx, inv: i64, w: &PublicWizard, token: Option<&str>) -> Position {
    let crypto = &ctx.state().security().crypto;
    let now = wizard::now_ms();
    if let Some(token) = token
        && let Ok(claims) = wizard::verify(crypto, token, now)
        && claims.invitation == inv
        && claims.wizard == w.id
    {
        match claims.kind {
            TokenKind::Complete => return Position::Complete(token.to_owned()),
            TokenKind::Progress => {
                if let Ok(index) = usize::try_from(claims.step)
                    && index < w.steps.len()
                {
                    return Position::Step {
                        index,
                        token: token.to_owned(),
                        issued_ms: claims.issued_ms,
                        restarted: false,
                    };
                }
            }
        }
    }
    let issued_ms = wizard::verify(crypto, &w.start_token, now).map_or(now, |c| c.issued_ms);
    Position::Step {
        index: 0,
        token: w.start_token.clone(),
        issued_ms,
        restarted: token.is_some(),
    }
}

fn timer_seconds(step: &PublicStep) -> u32 {
    step.interactions
        .iter()
        .filter_map(|i| match i.config {
            PublicInteractionConfig::Timer { duration_seconds } => Some(duration_seconds),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// The views of a step's interactions, with the values sent (`form`) and the errors.
fn interaction_views(
    t: &Tr,
    step: &PublicStep,
    form: &BTreeMap<String, String>,
    errors: &[FieldError],
) -> Vec<InteractionView> {
    step.interactions
        .iter()
        .filter_map(|i| {
            let name = format!("a-{}", i.id);
            let sent = form.get(&name).cloned();
            let error = errors
                .iter()
                .find(|e| e.field == format!("answers.{}", i.id))
                .map(|_| match &i.config {
                    PublicInteractionConfig::Quiz { .. } if sent.is_some() => {
                        t.t("wizard-quiz-wrong")
                    }
                    PublicInteractionConfig::Quiz { .. } => t.t("wizard-quiz-choose"),
                    PublicInteractionConfig::Terms { .. } => t.t("wizard-terms-required"),
                    PublicInteractionConfig::TextInput {
                        min_length,
                        max_length,
                        ..
                    } => t.t2(
                        "wizard-text-length",
                        "min",
                        &min_length.unwrap_or(1).to_string(),
                        "max",
                        &max_length
                            .unwrap_or(wizard::MAX_TEXT_ANSWER_CHARS)
                            .to_string(),
                    ),
                    _ => t.t("wizard-answer-invalid"),
                });
            let mut view = InteractionView {
                kind: "",
                name,
                label: String::new(),
                placeholder: String::new(),
                required: false,
                min: None,
                max: None,
                options: Vec::new(),
                value: String::new(),
                checked: sent.is_some(),
                error,
                seconds: 0,
            };
            match &i.config {
                // The step's submit button is the click: see `submit_label`.
                PublicInteractionConfig::Click { .. } => return None,
                PublicInteractionConfig::Timer { duration_seconds } => {
                    view.kind = "timer";
                    view.seconds = i64::from(*duration_seconds);
                }
                PublicInteractionConfig::Terms { label } => {
                    view.kind = "terms";
                    view.label = label.clone();
                }
                PublicInteractionConfig::TextInput {
                    label,
                    placeholder,
                    required,
                    min_length,
                    max_length,
                } => {
                    view.kind = "text";
                    view.label = label.clone();
                    view.placeholder = placeholder.clone().unwrap_or_default();
                    view.required = *required;
                    view.min = *min_length;
                    view.max = Some(max_length.unwrap_or(wizard::MAX_TEXT_ANSWER_CHARS));
                    view.value = sent.unwrap_or_default();
                }
                PublicInteractionConfig::Quiz { question, options } => {
                    view.kind = "quiz";
                    view.label = question.clone();
                    view.options = options
                        .iter()
                        .enumerate()
                        .map(|(n, o)| (n, o.clone(), sent.as_deref() == Some(&n.to_string())))
                        .collect();
                }
            }
            Some(view)
        })
        .collect()
}

struct StepRender<'a> {
    code: &'a str,
    which: Which,
    receipt: &'a str,
    wizard: &'a PublicWizard,
    index: usize,
    token: &'a str,
    issued_ms: i64,
    form: BTreeMap<String, String>,
    errors: Vec<FieldError>,
    notice: Option<String>,
    error_code: Option<&'static str>,
}

/// The page of step `index` (`None` past the end): what the join page and the admin's preview
/// share. The caller fills in where the form goes and what it carries.
fn step_page(
    ctx: &Ctx,
    wizard: &PublicWizard,
    index: usize,
    issued_ms: i64,
    form: &BTreeMap<String, String>,
    errors: &[FieldError],
) -> Option<WizardPage> {
    let t = &ctx.t;
    let step = wizard.steps.get(index)?;
    let timer_ms = i64::from(timer_seconds(step)) * 1000;
    let wait_ms = issued_ms + timer_ms - wizard::now_ms();
    let submit_label = step
        .interactions
        .iter()
        .find_map(|i| match &i.config {
            PublicInteractionConfig::Click { button_text } => Some(button_text.clone()),
            _ => None,
        })
        .unwrap_or_else(|| t.t("wizard-continue"));
    Some(WizardPage {
        l: ctx.layout(format!("{} · {}", step.title, wizard.name)),
        action: String::new(),
        csrf: String::new(),
        token: String::new(),
        receipt: String::new(),
        wizard_name: wizard.name.clone(),
        number: index + 1,
        count: wizard.steps.len(),
        step_id: step.id,
        step_title: step.title.clone(),
        step_html: step.html.clone(),
        interactions: interaction_views(t, step, form, errors),
        submit_label,
        wait: if wait_ms > 0 {
            (wait_ms + 999) / 1000
        } else {
            0
        },
        notice: None,
        error_code: None,
        preview: None,
        t: ctx.t.clone(),
    })
}

fn render_step(ctx: &Ctx, status: StatusCode, r: StepRender<'_>) -> Response {
    let Some(mut page) = step_page(ctx, r.wizard, r.index, r.issued_ms, &r.form, &r.errors) else {
        return invalid(ctx);
    };
    let csrf = Csrf::for_page(ctx);
    page.action = format!("{}/wizard/{}", base(r.code), r.which.as_str());
    page.csrf = csrf.token.clone();
    page.token = r.token.to_owned();
    page.receipt = r.receipt.to_owned();
    page.notice = r.notice;
    page.error_code = r.error_code;
    csrf.apply(html(status, &page))
}

/// A step of the admin's "preview as invitee", rendered exactly as the join page renders it.
pub(crate) struct Preview<'a> {
    /// The wizard ([`wizard::preview`]).
    pub wizard: &'a PublicWizard,
    /// 0-based step.
    pub index: usize,
    /// When the step was shown (its timers run from then); sent back in the form's `t` field.
    pub since_ms: i64,
    /// Where the answers go, and the admin session's CSRF token.
    pub action: String,
    pub csrf: String,
    /// The answers sent and what was wrong with them.
    pub form: BTreeMap<String, String>,
    pub errors: Vec<FieldError>,
    pub notice: Option<String>,
    pub error_code: Option<&'static str>,
}

/// Render a preview step (`None` past the last step).
pub(crate) fn render_preview(ctx: &Ctx, status: StatusCode, p: Preview<'_>) -> Option<Response> {
    let mut page = step_page(ctx, p.wizard, p.index, p.since_ms, &p.form, &p.errors)?;
    page.action = p.action;
    page.csrf = p.csrf;
    page.token = p.since_ms.to_string();
    page.notice = p.notice;
    page.error_code = p.error_code;
    page.preview = Some(ctx.t.t("wizard-preview-banner"));
    Some(html(status, &page))
}

/// `GET /j/{code}/wizard/{pre|post}`: the step the token unlocks.
pub(super) async fn wizard_page(
    ctx: Ctx,
    Path((code, which)): Path<(String, String)>,
    Query(q): Query<WizardQuery>,
) -> Response {
    let Some(which) = Which::parse(&which) else {
        return failure(&ctx, &Error::not_found("page"), &base(&code));
    };
    if let Err(e) = crate::join::limit(ctx.state(), &ctx.ip, Budget::Wizard) {
        return failure(&ctx, &e, &base(&code));
    }
    let receipt = q.r.clone().unwrap_or_default();
    let (inv, w) = match load_wizard(&ctx, &code, which, q.r.as_deref()).await {
        Ok(x) => x,
        Err(page) => return page,
    };
    let Some(w) = w else {
        return see_other(&after_wizard(&code, which, "", &receipt));
    };
    match position(&ctx, inv, &w, q.t.as_deref()) {
        Position::Complete(token) => see_other(&after_wizard(&code, which, &token, &receipt)),
        Position::Step {
            index,
            token,
            issued_ms,
            restarted,
        } => render_step(
            &ctx,
            StatusCode::OK,
            StepRender {
                code: &code,
                which,
                receipt: &receipt,
                wizard: &w,
                index,
                token: &token,
                issued_ms,
                form: BTreeMap::new(),
                errors: Vec::new(),
                notice: (restarted || q.restarted.is_some()).then(|| ctx.t.t("wizard-restarted")),
                error_code: None,
            },
        ),
    }
}

/// The answers of a step from the form: checkbox and button interactions `true` when sent,
/// text as sent, a quiz option as its number.
pub(crate) fn answers(
    step: &PublicStep,
    form: &BTreeMap<String, String>,
) -> BTreeMap<String, Value> {
    let pressed = form.contains_key("go");
    let mut out = BTreeMap::new();
    for i in &step.interactions {
        let sent = form.get(&format!("a-{}", i.id));
        let value = match (&i.config, sent) {
            (PublicInteractionConfig::Click { .. }, _) => pressed.then_some(Value::Bool(true)),
            (PublicInteractionConfig::Terms { .. }, Some(_)) => Some(Value::Bool(true)),
            (PublicInteractionConfig::TextInput { .. }, Some(s)) => Some(Value::String(s.clone())),
            (PublicInteractionConfig::Quiz { .. }, Some(s)) => Some(
                s.parse::<u64>()
                    .map_or_else(|_| Value::String(s.clone()), Value::from),
            ),
            _ => None,
        };
        if let Some(v) = value {
            out.insert(i.id.to_string(), v);
        }
    }
    out
}

/// `POST /j/{code}/wizard/{pre|post}`: check the step's answers (the domain's
/// [`crate::join::submit_step`]), then go on to the next step or what follows the wizard.
pub(super) async fn wizard_submit(
    ctx: Ctx,
    Path((code, which)): Path<(String, String)>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let Some(which) = Which::parse(&which) else {
        return failure(&ctx, &Error::not_found("page"), &base(&code));
    };
    let form = form_map(pairs);
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let receipt = field("r");
    let restart = if which == Which::Post {
        format!("{}/wizard/post?r={}", base(&code), percent_encode(&receipt))
    } else {
        format!("{}/wizard/pre", base(&code))
    };
    if !forms::check(&ctx, &field("csrf")) {
        return csrf_failed(&ctx, &restart);
    }
    if let Err(e) = crate::join::limit(ctx.state(), &ctx.ip, Budget::Wizard) {
        return failure(&ctx, &e, &restart);
    }
    let (_, w) = match load_wizard(&ctx, &code, which, Some(&receipt)).await {
        Ok(x) => x,
        Err(page) => return page,
    };
    let Some(w) = w else {
        return see_other(&after_wizard(&code, which, "", &receipt));
    };
    let step_id: i64 = field("step").parse().unwrap_or(-1);
    let token = field("t");
    let Some(index) = w.steps.iter().position(|s| s.id == step_id) else {
        return see_other(&format!("{restart}{}restarted=1", sep(&restart)));
    };
    let answers = answers(&w.steps[index], &form);
    match crate::join::submit_step(ctx.state(), code.clone(), step_id, &token, &answers).await {
        Ok(passed) if passed.completed => {
            see_other(&after_wizard(&code, which, &passed.token, &receipt))
        }
        Ok(passed) => {
            let mut to = format!(
                "{}/wizard/{}?t={}",
                base(&code),
                which.as_str(),
                percent_encode(&passed.token)
            );
            if which == Which::Post {
                to.push_str(&format!("&r={}", percent_encode(&receipt)));
            }
            see_other(&to)
        }
        Err(e) => {
            let issued_ms =
                wizard::verify(&ctx.state().security().crypto, &token, wizard::now_ms())
                    .map_or(0, |c| c.issued_ms);
            let render = |notice: Option<String>, errors: Vec<FieldError>, code_: ErrorCode| {
                render_step(
                    &ctx,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    StepRender {
                        code: &code,
                        which,
                        receipt: &receipt,
                        wizard: &w,
                        index,
                        token: &token,
                        issued_ms,
                        form: form.clone(),
                        errors,
                        notice,
                        error_code: Some(code_.as_str()),
                    },
                )
            };
            match e {
                Error::Client {
                    code: ErrorCode::WizardTimerRunning,
                    retry_after,
                    ..
                } => render(
                    Some(
                        ctx.t
                            .n("wizard-wait", "seconds", retry_after.unwrap_or(1) as i64),
                    ),
                    Vec::new(),
                    ErrorCode::WizardTimerRunning,
                ),
                Error::Client {
                    code: ErrorCode::ValidationFailed,
                    fields,
                    ..
                } => render(
                    Some(ctx.t.t("form-has-errors")),
                    fields,
                    ErrorCode::ValidationFailed,
                ),
                Error::Client {
                    code:
                        ErrorCode::WizardTokenInvalid
                        | ErrorCode::WizardStepOutOfOrder
                        | ErrorCode::NotFound,
                    ..
                } => see_other(&format!("{restart}{}restarted=1", sep(&restart))),
                other => failure(&ctx, &other, &restart),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wizard::PublicStep;

    fn step(interactions: Vec<(i64, PublicInteractionConfig)>) -> PublicStep {
        PublicStep {
            id: 1,
            position: 0,
            title: "t".into(),
            html: String::new(),
            interactions: interactions
                .into_iter()
                .map(|(id, config)| wizard::PublicInteraction { id, config })
                .collect(),
        }
    }

    #[test]
    fn form_answers_become_the_api_answers() {
        let s = step(vec![
            (
                1,
                PublicInteractionConfig::Click {
                    button_text: "Go".into(),
                },
            ),
            (2, PublicInteractionConfig::Terms { label: "ok".into() }),
            (
                3,
                PublicInteractionConfig::Quiz {
                    question: "q".into(),
                    options: vec!["a".into(), "b".into()],
                },
            ),
            (
                4,
                PublicInteractionConfig::TextInput {
                    label: "l".into(),
                    placeholder: None,
                    required: true,
                    min_length: None,
                    max_length: None,
                },
            ),
            (
                5,
                PublicInteractionConfig::Timer {
                    duration_seconds: 3,
                },
            ),
        ]);
        let form = form_map(vec![
            ("go".into(), "1".into()),
            ("a-2".into(), "on".into()),
            ("a-3".into(), "1".into()),
            ("a-3".into(), "0".into()),
            ("a-4".into(), "hello".into()),
            ("a-9".into(), "ignored".into()),
        ]);
        let a = answers(&s, &form);
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!({"1": true, "2": true, "3": 1, "4": "hello"})
        );
        let none = answers(&s, &BTreeMap::new());
        assert!(none.is_empty(), "{none:?}");
    }
}

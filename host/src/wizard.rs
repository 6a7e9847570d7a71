//! Onboarding wizards: interaction configuration rules, Markdown rendering, signed progress
//! tokens and the server-side check of an invitee's answers.
//!
//! This module owns the rules; it does no HTTP (see `http::wizards`) and no SQL of its own (see
//! `db::wizards`).
//!
//! # Tokens
//!
//! Progress is stateless and signed: `base64url(claims JSON) "." base64url(HMAC-SHA256)`, the
//! MAC keyed by HKDF from the daemon's secret key ([`MacPurpose::WizardToken`]) and compared in
//! constant time. The claims name the invitation, the wizard, the wizard's version, the step the
//! token unlocks (progress) or the number of steps passed (completion), and the server's time
//! when it was issued and when it expires ([`TOKEN_TTL_MS`]).
//!
//! * The validation of a code issues a progress token for step 0 of each wizard it shows.
//! * Passing step N answers a progress token for step N + 1, or, after the last step, a
//!   completion token. Step N + 1 must be sent with that token, so steps cannot be skipped.
//! * The issue time of the token a step is sent with is when the server made that step
//!   available, so timers are measured by the server's clock from that moment; the client
//!   cannot choose it.
//! * Any change to the wizard bumps its version and invalidates every token issued before.
//!
//! The answers themselves are checked and then forgotten: nothing is stored per invitee.

use crate::crypto::{Crypto, MacPurpose};
use crate::db::{
    self,
    invitations::Invitation,
    wizards::{FullStep, Interaction, Wizard},
};
use crate::error::{Error, ErrorCode, FieldError, Result};
use crate::state::AppState;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Longest step content (Markdown), in characters.
pub const MAX_CONTENT_CHARS: usize = 20_000;
/// Longest text answer, whatever the interaction's `max_length`.
pub const MAX_TEXT_ANSWER_CHARS: u32 = 2_000;
/// Most steps in one wizard.
pub const MAX_STEPS: usize = 50;
/// Most interactions on one step.
pub const MAX_INTERACTIONS: usize = 10;
/// How long a progress or completion token is valid.
pub const TOKEN_TTL_MS: i64 = 60 * 60 * 1000;
/// Longest token accepted (anything longer is refused before decoding).
const MAX_TOKEN_LEN: usize = 1024;

/// An interaction's configuration, as the admin sets it (and sees it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InteractionConfig {
    /// A button to continue.
    Click {
        /// Button text, at most 100 characters (default `Continue`).
        #[serde(default = "default_button")]
        button_text: String,
    },
    /// A wait, measured by the server from when the step became available.
    Timer {
        /// Seconds, 1 to 300.
        duration_seconds: u32,
    },
    /// A checkbox the invitee must tick.
    Terms {
        /// The checkbox label, at most 500 characters.
        label: String,
    },
    /// A text field.
    TextInput {
        /// Label, at most 200 characters.
        label: String,
        /// Placeholder, at most 200 characters.
        #[serde(default)]
        placeholder: Option<String>,
        /// Whether an answer is needed (default `true`).
        #[serde(default = "default_true")]
        required: bool,
        /// Shortest answer in characters, 0 to 2000.
        #[serde(default)]
        min_length: Option<u32>,
        /// Longest answer in characters, 1 to 2000 (answers are capped at 2000 anyway).
        #[serde(default)]
        max_length: Option<u32>,
    },
    /// A multiple-choice question with one right answer.
    Quiz {
        /// The question, at most 500 characters.
        question: String,
        /// 2 to 10 options, each at most 200 characters.
        options: Vec<String>,
        /// 0-based index of the right option; never sent to invitees.
        correct_index: u32,
    },
}

fn default_button() -> String {
    "Continue".into()
}

fn default_true() -> bool {
    true
}

impl InteractionConfig {
    /// The type name (`kind` column).
    pub fn kind(&self) -> &'static str {
        match self {
            InteractionConfig::Click { .. } => "click",
            InteractionConfig::Timer { .. } => "timer",
            InteractionConfig::Terms { .. } => "terms",
            InteractionConfig::TextInput { .. } => "text_input",
            InteractionConfig::Quiz { .. } => "quiz",
        }
    }

    /// What the invitee may see: everything but the quiz answer.
    pub fn public(&self) -> PublicInteractionConfig {
        match self.clone() {
            InteractionConfig::Click { button_text } => {
                PublicInteractionConfig::Click { button_text }
            }
            InteractionConfig::Timer { duration_seconds } => {
                PublicInteractionConfig::Timer { duration_seconds }
            }
            InteractionConfig::Terms { label } => PublicInteractionConfig::Terms { label },
            InteractionConfig::TextInput {
                label,
                placeholder,
                required,
                min_length,
                max_length,
            } => PublicInteractionConfig::TextInput {
                label,
                placeholder,
                required,
                min_length,
                max_length,
            },
            InteractionConfig::Quiz {
                question, options, ..
            } => PublicInteractionConfig::Quiz { question, options },
        }
    }
}

/// An interaction as the invitee sees it (a quiz without its answer).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PublicInteractionConfig {
    /// A button; answer `true`.
    Click {
        /// Button text.
        button_text: String,
    },
    /// A wait; no answer needed, but the step is refused until the time has passed.
    Timer {
        /// Seconds, counted by the server from when the step became available.
        duration_seconds: u32,
    },
    /// A checkbox; answer `true`.
    Terms {
        /// The checkbox label.
        label: String,
    },
    /// A text field; answer a string.
    TextInput {
        /// Label.
        label: String,
        /// Placeholder.
        placeholder: Option<String>,
        /// Whether an answer is needed.
        required: bool,
        /// Shortest answer in characters.
        min_length: Option<u32>,
        /// Longest answer in characters.
        max_length: Option<u32>,
    },
    /// A question; answer the 0-based index of the chosen option.
    Quiz {
        /// The question.
        question: String,
        /// The options.
        options: Vec<String>,
    },
}

/// Settings each interaction type takes.
const KINDS: &[(&str, &[&str])] = &[
    ("click", &["button_text"]),
    ("timer", &["duration_seconds"]),
    ("terms", &["label"]),
    (
        "text_input",
        &[
            "label",
            "placeholder",
            "required",
            "min_length",
            "max_length",
        ],
    ),
    ("quiz", &["question", "options", "correct_index"]),
];

fn text(
    input: &Map<String, Value>,
    key: &str,
    required: bool,
    max: usize,
    fields: &mut Vec<FieldError>,
) -> Option<String> {
    match input.get(key) {
        None | Some(Value::Null) => {
            if required {
                fields.push(FieldError::new(key, "is required"));
            }
            None
        }
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                if required {
                    fields.push(FieldError::new(key, "is required"));
                }
                None
            } else if s.chars().count() > max {
                fields.push(FieldError::new(
                    key,
                    format!("must be at most {max} characters"),
                ));
                None
            } else {
                Some(s.to_owned())
            }
        }
        Some(_) => {
            fields.push(FieldError::new(key, "must be text"));
            None
        }
    }
}

fn integer(
    input: &Map<String, Value>,
    key: &str,
    range: std::ops::RangeInclusive<u32>,
    fields: &mut Vec<FieldError>,
) -> Option<u32> {
    match input.get(key) {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if range.contains(&n) => Some(n),
            _ => {
                fields.push(FieldError::new(
                    key,
                    format!(
                        "must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                ));
                None
            }
        },
    }
}

/// Check an interaction's settings (a JSON object with `type`) and normalise them. Every
/// problem is reported by field.
pub fn parse_config(
    input: &Map<String, Value>,
) -> std::result::Result<InteractionConfig, Vec<FieldError>> {
    let kinds = || KINDS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ");
    let Some((kind, allowed)) = input
        .get("type")
        .and_then(Value::as_str)
        .and_then(|t| KINDS.iter().find(|(k, _)| *k == t))
    else {
        return Err(vec![FieldError::new(
            "type",
            format!("must be one of: {}", kinds()),
        )]);
    };
    let mut fields = Vec::new();
    for key in input.keys() {
        if key != "type" && !allowed.contains(&key.as_str()) {
            fields.push(FieldError::new(
                key.as_str(),
                format!("is not a setting of {kind} interactions"),
            ));
        }
    }
    let missing = |fields: &mut Vec<FieldError>, key: &str| {
        if !fields.iter().any(|f| f.field == key) {
            fields.push(FieldError::new(key, "is required"));
        }
    };
    let config = match *kind {
        "click" => Some(InteractionConfig::Click {
            button_text: text(input, "button_text", false, 100, &mut fields)
                .unwrap_or_else(default_button),
        }),
        "timer" => {
            let d = integer(input, "duration_seconds", 1..=300, &mut fields);
            if d.is_none() {
                missing(&mut fields, "duration_seconds");
            }
            d.map(|duration_seconds| InteractionConfig::Timer { duration_seconds })
        }
        "terms" => text(input, "label", true, 500, &mut fields)
            .map(|label| InteractionConfig::Terms { label }),
        "text_input" => {
            let label = text(input, "label", true, 200, &mut fields);
            let placeholder = text(input, "placeholder", false, 200, &mut fields);
            let required = match input.get("required") {
                None | Some(Value::Null) => true,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    fields.push(FieldError::new("required", "must be true or false"));
                    true
                }
            };
            let min_length = integer(input, "min_length", 0..=MAX_TEXT_ANSWER_CHARS, &mut fields);
            let max_length = integer(input, "max_length", 1..=MAX_TEXT_ANSWER_CHARS, &mut fields);
            if let (Some(min), Some(max)) = (min_length, max_length)
                && min > max
            {
                fields.push(FieldError::new(
                    "min_length",
                    "must not be more than max_length",
                ));
            }
            label.map(|label| InteractionConfig::TextInput {
                label,
                placeholder,
                required,
                min_length,
                max_length,
            })
        }
        _ => {
            let question = text(input, "question", true, 500, &mut fields);
            let mut options = Vec::new();
            match input.get("options") {
                Some(Value::Array(list)) => {
                    if !(2..=10).contains(&list.len()) {
                        fields.push(FieldError::new("options", "give 2 to 10 options"));
                    }
                    for (i, o) in list.iter().enumerate() {
                        match o.as_str().map(str::trim) {
                            Some(s) if !s.is_empty() && s.chars().count() <= 200 => {
                                options.push(s.to_owned())
                            }
                            _ => fields.push(FieldError::new(
                                format!("options[{i}]"),
                                "must be text of 1 to 200 characters",
                            )),
                        }
                    }
                }
                None | Some(Value::Null) => fields.push(FieldError::new("options", "is required")),
                Some(_) => fields.push(FieldError::new("options", "must be a list of texts")),
            }
            let last = options.len().saturating_sub(1) as u32;
            let correct = integer(input, "correct_index", 0..=last, &mut fields);
            if correct.is_none() {
                missing(&mut fields, "correct_index");
            }
            match (question, correct) {
                (Some(question), Some(correct_index)) => Some(InteractionConfig::Quiz {
                    question,
                    options,
                    correct_index,
                }),
                _ => None,
            }
        }
    };
    match config {
        Some(c) if fields.is_empty() => Ok(c),
        _ => Err(fields),
    }
}

/// Markdown to HTML that is safe to insert into a page: CommonMark (with tables and
/// strikethrough) rendered by `pulldown-cmark`, then cleaned by `ammonia`'s allow-list: no
/// scripts, styles or event-handler attributes; links only to `http`, `https` and `mailto`, and
/// with `rel="noopener noreferrer"`. Raw HTML in the Markdown goes through the same cleaning.
pub fn render_markdown(markdown: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let mut raw = String::with_capacity(markdown.len() + markdown.len() / 2);
    html::push_html(&mut raw, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer"))
        .clean(&raw)
        .to_string()
}

/// What a token proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// The steps before `step` are done; `step` may be sent.
    Progress,
    /// Every step is done.
    Complete,
}

/// The signed content of a wizard token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// Progress or completion.
    pub kind: TokenKind,
    /// The invitation the wizard is walked through for.
    pub invitation: i64,
    /// The wizard.
    pub wizard: i64,
    /// The wizard's version when the token was issued.
    pub version: i64,
    /// Progress: the 0-based position of the step this token unlocks. Completion: the number
    /// of steps.
    pub step: i64,
    /// Server time of issue (ms since the epoch): when step `step` became available.
    pub issued_ms: i64,
    /// Server time of expiry (ms since the epoch).
    pub expires_ms: i64,
}

impl Claims {
    /// Claims issued now for `wizard` of `invitation`.
    pub fn new(
        kind: TokenKind,
        invitation: i64,
        wizard: &Wizard,
        step: i64,
        now_ms: i64,
    ) -> Claims {
        Claims {
            kind,
            invitation,
            wizard: wizard.id,
            version: wizard.version,
            step,
            issued_ms: now_ms,
            expires_ms: now_ms + TOKEN_TTL_MS,
        }
    }
}

/// Sign claims into a token.
pub fn sign(crypto: &Crypto, claims: &Claims) -> String {
    // Serialising plain integers and enums cannot fail.
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let tag = crypto.mac(MacPurpose::WizardToken, payload.as_bytes());
    format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Check a token's signature and expiry and return its claims. Every failure is the same
/// `WIZARD_TOKEN_INVALID`, so a forger learns nothing from the answer.
pub fn verify(crypto: &Crypto, token: &str, now_ms: i64) -> Result<Claims> {
    let invalid = || {
        Error::new(
            ErrorCode::WizardTokenInvalid,
            "the wizard token is not valid or has expired; start the wizard again",
        )
    };
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid());
    }
    let (payload, tag) = token.split_once('.').ok_or_else(invalid)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    if !crypto.verify_mac(MacPurpose::WizardToken, payload.as_bytes(), &tag) {
        return Err(invalid());
    }
    let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    let claims: Claims = serde_json::from_slice(&json).map_err(|_| invalid())?;
    if claims.expires_ms <= now_ms {
        return Err(invalid());
    }
    Ok(claims)
}

/// Current server time in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn token_mismatch(message: &str) -> Error {
    Error::new(ErrorCode::WizardTokenInvalid, message)
}

/// Check a token for one step of `wizard` on `invitation`: genuine, unexpired, for this
/// invitation, wizard and version, and unlocking exactly `position`.
pub fn check_step_token(
    crypto: &Crypto,
    token: &str,
    invitation: i64,
    wizard: &Wizard,
    position: i64,
    now_ms: i64,
) -> Result<Claims> {
    let claims = verify(crypto, token, now_ms)?;
    if claims.invitation != invitation || claims.wizard != wizard.id {
        return Err(token_mismatch(
            "the wizard token belongs to another invitation or wizard",
        ));
    }
    if claims.version != wizard.version {
        return Err(token_mismatch(
            "the wizard was changed since this token was issued; start it again",
        ));
    }
    if claims.kind != TokenKind::Progress || claims.step != position {
        let message = match claims.kind {
            TokenKind::Complete => "the wizard is already complete".to_owned(),
            TokenKind::Progress if claims.step < position => {
                format!("complete step {} first", claims.step + 1)
            }
            TokenKind::Progress => format!("step {} is already done", position + 1),
        };
        return Err(Error::new(ErrorCode::WizardStepOutOfOrder, message));
    }
    Ok(claims)
}

/// Refuse a step whose timers have not run out: `available_ms` is when the server made the
/// step available (the issue time of the token it was sent with).
pub fn check_timers(interactions: &[Interaction], available_ms: i64, now_ms: i64) -> Result<()> {
    let longest = interactions
        .iter()
        .filter_map(|i| match i.config {
            InteractionConfig::Timer { duration_seconds } => Some(i64::from(duration_seconds)),
            _ => None,
        })
        .max();
    let Some(seconds) = longest else {
        return Ok(());
    };
    let remaining_ms = available_ms + seconds * 1000 - now_ms;
    if remaining_ms > 0 {
        let secs = (remaining_ms + 999) / 1000;
        return Err(Error::new(
            ErrorCode::WizardTimerRunning,
            format!("wait {secs} more second(s) before continuing"),
        )
        .with_retry_after(secs as u64));
    }
    Ok(())
}

/// Check the invitee's answers for a step's interactions, keyed by interaction id. Returns the
/// problems by field (`answers.<id>`).
pub fn check_answers(
    interactions: &[Interaction],
    answers: &BTreeMap<String, Value>,
) -> Vec<FieldError> {
    let mut fields = Vec::new();
    for key in answers.keys() {
        if !interactions.iter().any(|i| i.id.to_string() == *key) {
            fields.push(FieldError::new(
                format!("answers.{}", key.chars().take(20).collect::<String>()),
                "is not an interaction of this step",
            ));
        }
    }
    for i in interactions {
        let field = format!("answers.{}", i.id);
        let answer = answers.get(&i.id.to_string()).filter(|v| !v.is_null());
        let problem = match (&i.config, answer) {
            (InteractionConfig::Click { .. }, Some(Value::Bool(true))) => None,
            (InteractionConfig::Click { .. }, _) => Some("answer true to continue".to_owned()),
            (InteractionConfig::Timer { .. }, None | Some(Value::Bool(true))) => None,
            (InteractionConfig::Timer { .. }, _) => Some("needs no answer".to_owned()),
            (InteractionConfig::Terms { .. }, Some(Value::Bool(true))) => None,
            (InteractionConfig::Terms { .. }, _) => Some("must be accepted".to_owned()),
            (
                InteractionConfig::TextInput {
                    required,
                    min_length,
                    max_length,
                    ..
                },
                answer,
            ) => match answer {
                None if *required => Some("is required".to_owned()),
                None => None,
                Some(Value::String(s)) => {
                    let len = s.trim().chars().count() as u32;
                    let max = max_length.unwrap_or(MAX_TEXT_ANSWER_CHARS);
                    if s.chars().count() as u32 > MAX_TEXT_ANSWER_CHARS || len > max {
                        Some(format!("must be at most {max} characters"))
                    } else if len == 0 && *required {
                        Some("is required".to_owned())
                    } else if len > 0 && min_length.is_some_and(|m| len < m) {
                        Some(format!(
                            "must be at least {} characters",
                            min_length.unwrap_or(0)
                        ))
                    } else {
                        None
                    }
                }
                Some(_) => Some("must be text".to_owned()),
            },
            (InteractionConfig::Quiz { correct_index, .. }, Some(v)) => match v.as_u64() {
                Some(n) if n == u64::from(*correct_index) => None,
                Some(_) => Some("is not the right answer".to_owned()),
                None => Some("must be the index of an option".to_owned()),
            },
            (InteractionConfig::Quiz { .. }, None) => Some("choose an answer".to_owned()),
        };
        if let Some(message) = problem {
            fields.push(FieldError::new(field, message));
        }
    }
    fields
}

/// A step as the invitee sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicStep {
    /// Step id: `POST /join/{code}/wizard/{step}`.
    pub id: i64,
    /// 0-based position.
    pub position: i64,
    /// Title.
    pub title: String,
    /// The content as sanitised HTML.
    pub html: String,
    /// What the invitee must do to continue.
    pub interactions: Vec<PublicInteraction>,
}

/// An interaction as the invitee sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicInteraction {
    /// Interaction id: the key of its answer in `answers`.
    pub id: i64,
    /// What it asks.
    pub config: PublicInteractionConfig,
}

/// A wizard the invitee walks through.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicWizard {
    /// Wizard id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Send with the first step. Its issue time starts the first step's timer.
    pub start_token: String,
    /// When `start_token` expires (fetch the validation again for a new one).
    pub token_expires_at: String,
    /// The steps, in order.
    pub steps: Vec<PublicStep>,
}

fn ms_to_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(db::time::fmt)
        .unwrap_or_default()
}

/// A wizard worth showing: enabled with at least one step.
fn shown(full: Option<(Wizard, Vec<FullStep>)>) -> Option<(Wizard, Vec<FullStep>)> {
    full.filter(|(w, steps)| w.enabled && !steps.is_empty())
}

fn public_wizard(
    crypto: &Crypto,
    invitation: i64,
    (wizard, steps): (Wizard, Vec<FullStep>),
    now_ms: i64,
) -> PublicWizard {
    let claims = Claims::new(TokenKind::Progress, invitation, &wizard, 0, now_ms);
    PublicWizard {
        id: wizard.id,
        start_token: sign(crypto, &claims),
        token_expires_at: ms_to_rfc3339(claims.expires_ms),
        name: wizard.name,
        description: wizard.description,
        steps: steps
            .into_iter()
            .map(|(s, interactions)| PublicStep {
                id: s.id,
                position: s.position,
                html: render_markdown(&s.content),
                title: s.title,
                interactions: interactions
                    .iter()
                    .map(|i| PublicInteraction {
                        id: i.id,
                        config: i.config.public(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The pre-join and post-join wizards an invitation shows, if enabled and not empty.
pub async fn offered(
    state: &AppState,
    inv: &Invitation,
) -> Result<(Option<PublicWizard>, Option<PublicWizard>)> {
    let (pre, post) = (inv.pre_wizard_id, inv.post_wizard_id);
    let (pre, post) = state
        .db()
        .run(move |c| {
            let load = |id: Option<i64>| -> Result<_> {
                Ok(match id {
                    Some(id) => shown(db::wizards::full(c, id)?),
                    None => None,
                })
            };
            Ok((load(pre)?, load(post)?))
        })
        .await?;
    let crypto = &state.security().crypto;
    let now = now_ms();
    Ok((
        pre.map(|w| public_wizard(crypto, inv.id, w, now)),
        post.map(|w| public_wizard(crypto, inv.id, w, now)),
    ))
}

/// At redemption: when the invitation has a pre-join wizard that is enabled and has steps,
/// `token` must be its completion token for this invitation and the wizard's current version.
pub async fn require_pre_join(
    state: &AppState,
    inv: &Invitation,
    token: Option<&str>,
) -> Result<()> {
    let Some(wizard_id) = inv.pre_wizard_id else {
        return Ok(());
    };
    let loaded = state
        .db()
        .run(move |c| {
            let Some(w) = db::wizards::get(c, wizard_id)? else {
                return Ok(None);
            };
            let steps = db::wizards::steps(c, wizard_id)?.len() as i64;
            Ok(Some((w, steps)))
        })
        .await?;
    let Some((wizard, steps)) = loaded.filter(|(w, n)| w.enabled && *n > 0) else {
        return Ok(());
    };
    let Some(token) = token else {
        return Err(Error::new(
            ErrorCode::WizardRequired,
            "complete the invitation's wizard first and send its wizard_token",
        ));
    };
    let claims = verify(&state.security().crypto, token, now_ms())?;
    if claims.invitation != inv.id || claims.wizard != wizard.id {
        return Err(token_mismatch(
            "the wizard token belongs to another invitation or wizard",
        ));
    }
    if claims.version != wizard.version {
        return Err(token_mismatch(
            "the wizard was changed since this token was issued; complete it again",
        ));
    }
    if claims.kind != TokenKind::Complete || claims.step != steps {
        return Err(token_mismatch(
            "this token does not prove the wizard was completed",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn wizard(version: i64) -> Wizard {
        Wizard {
            id: 7,
            name: "w".into(),
            description: None,
            enabled: true,
            version,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn code(r: Result<Claims>) -> ErrorCode {
        r.err().map_or(ErrorCode::Internal, |e| e.code())
    }

    #[test]
    fn tokens_round_trip_and_refuse_tampering_expiry_and_other_keys() {
        let c = Crypto::new(KEY);
        let now = 1_700_000_000_000;
        let claims = Claims::new(TokenKind::Progress, 3, &wizard(1), 0, now);
        let token = sign(&c, &claims);
        assert_eq!(verify(&c, &token, now + 1).unwrap(), claims);
        // Expired.
        assert_eq!(
            code(verify(&c, &token, now + TOKEN_TTL_MS)),
            ErrorCode::WizardTokenInvalid
        );
        // Another secret key.
        let other = Crypto::new("another-secret-key-of-sufficient-length");
        assert_eq!(
            code(verify(&other, &token, now)),
            ErrorCode::WizardTokenInvalid
        );
        // Changed claims with the old signature.
        let (_, tag) = token.split_once('.').unwrap();
        let forged_claims = Claims {
            step: 5,
            ..claims.clone()
        };
        let forged = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged_claims).unwrap())
        );
        assert_eq!(
            code(verify(&c, &forged, now)),
            ErrorCode::WizardTokenInvalid
        );
        // Garbage of every shape.
        for bad in [
            "",
            ".",
            "abc",
            "a.b",
            &"x".repeat(5000),
            &format!("{token}x"),
        ] {
            assert_eq!(code(verify(&c, bad, now)), ErrorCode::WizardTokenInvalid);
        }
    }

    #[test]
    fn step_tokens_are_bound_to_invitation_wizard_version_and_position() {
        let c = Crypto::new(KEY);
        let now = 1_700_000_000_000;
        let w = wizard(2);
        let token = sign(&c, &Claims::new(TokenKind::Progress, 3, &w, 1, now));
        assert!(check_step_token(&c, &token, 3, &w, 1, now).is_ok());
        assert_eq!(
            code(check_step_token(&c, &token, 4, &w, 1, now)),
            ErrorCode::WizardTokenInvalid
        );
        assert_eq!(
            code(check_step_token(&c, &token, 3, &wizard(3), 1, now)),
            ErrorCode::WizardTokenInvalid
        );
        let other_wizard = Wizard { id: 8, ..w.clone() };
        assert_eq!(
            code(check_step_token(&c, &token, 3, &other_wizard, 1, now)),
            ErrorCode::WizardTokenInvalid
        );
        assert_eq!(
            code(check_step_token(&c, &token, 3, &w, 2, now)),
            ErrorCode::WizardStepOutOfOrder
        );
        assert_eq!(
            code(check_step_token(&c, &token, 3, &w, 0, now)),
            ErrorCode::WizardStepOutOfOrder
        );
        let done = sign(&c, &Claims::new(TokenKind::Complete, 3, &w, 2, now));
        assert_eq!(
            code(check_step_token(&c, &done, 3, &w, 2, now)),
            ErrorCode::WizardStepOutOfOrder
        );
    }

    fn interaction(id: i64, config: InteractionConfig) -> Interaction {
        Interaction {
            id,
            step_id: 1,
            position: 0,
            config,
        }
    }

    #[test]
    fn timers_count_from_the_server_time_the_step_became_available() {
        let timer = [interaction(
            1,
            InteractionConfig::Timer {
                duration_seconds: 2,
            },
        )];
        let err = check_timers(&timer, 10_000, 11_500).unwrap_err();
        assert_eq!(err.code(), ErrorCode::WizardTimerRunning);
        assert!(matches!(
            err,
            Error::Client {
                retry_after: Some(1),
                ..
            }
        ));
        assert!(check_timers(&timer, 10_000, 12_000).is_ok());
        assert!(check_timers(&[], 10_000, 10_000).is_ok());
    }

    #[test]
    fn answers_are_checked_per_type() {
        let list = [
            interaction(
                1,
                InteractionConfig::Click {
                    button_text: "Go".into(),
                },
            ),
            interaction(
                2,
                InteractionConfig::Terms {
                    label: "I agree".into(),
                },
            ),
            interaction(
                3,
                InteractionConfig::TextInput {
                    label: "Why?".into(),
                    placeholder: None,
                    required: true,
                    min_length: Some(3),
                    max_length: Some(10),
                },
            ),
            interaction(
                4,
                InteractionConfig::Quiz {
                    question: "2+2?".into(),
                    options: vec!["3".into(), "4".into()],
                    correct_index: 1,
                },
            ),
        ];
        let answers = |v: Value| -> BTreeMap<String, Value> { serde_json::from_value(v).unwrap() };
        assert!(
            check_answers(
                &list,
                &answers(json!({ "1": true, "2": true, "3": "because", "4": 1 }))
            )
            .is_empty()
        );
        let fields: Vec<String> = check_answers(
            &list,
            &answers(json!({ "1": false, "3": "x".repeat(11), "4": 0, "99": true })),
        )
        .into_iter()
        .map(|f| f.field)
        .collect();
        assert_eq!(
            fields,
            [
                "answers.99",
                "answers.1",
                "answers.2",
                "answers.3",
                "answers.4"
            ]
        );
        let fields = check_answers(
            &list,
            &answers(json!({ "1": true, "2": true, "3": "ab", "4": "1" })),
        );
        assert_eq!(fields.len(), 2, "{fields:?}");
        let huge = "y".repeat(100_000);
        let open_text = [interaction(
            5,
            InteractionConfig::TextInput {
                label: "Anything".into(),
                placeholder: None,
                required: false,
                min_length: None,
                max_length: None,
            },
        )];
        assert_eq!(
            check_answers(&open_text, &answers(json!({ "5": huge }))).len(),
            1,
            "the absolute cap applies without max_length"
        );
        assert!(check_answers(&open_text, &answers(json!({}))).is_empty());
    }

    #[test]
    fn configs_are_validated_with_field_errors() {
        let parse = |v: Value| parse_config(v.as_object().unwrap());
        assert_eq!(
            parse(json!({ "type": "click" })).unwrap(),
            InteractionConfig::Click {
                button_text: "Continue".into()
            }
        );
        let fields = |v: Value| -> Vec<String> {
            parse(v).unwrap_err().into_iter().map(|f| f.field).collect()
        };
        assert_eq!(fields(json!({ "type": "nope" })), ["type"]);
        assert_eq!(fields(json!({})), ["type"]);
        assert_eq!(
            fields(json!({ "type": "timer", "duration_seconds": 301 })),
            ["duration_seconds"]
        );
        assert_eq!(fields(json!({ "type": "timer" })), ["duration_seconds"]);
        assert_eq!(
            fields(json!({ "type": "timer", "duration_seconds": 0, "label": "x" })),
            ["label", "duration_seconds"]
        );
        assert_eq!(fields(json!({ "type": "terms", "label": "  " })), ["label"]);
        assert_eq!(
            fields(json!({ "type": "text_input", "label": "x", "min_length": 5, "max_length": 4 })),
            ["min_length"]
        );
        assert_eq!(
            fields(
                json!({ "type": "quiz", "question": "q", "options": ["a"], "correct_index": 0 })
            ),
            ["options"]
        );
        assert_eq!(
            fields(
                json!({ "type": "quiz", "question": "q", "options": ["a", "b"], "correct_index": 2 })
            ),
            ["correct_index"]
        );
        assert_eq!(
            fields(
                json!({ "type": "quiz", "question": "q", "options": ["a", ""], "correct_index": 0 })
            ),
            ["options[1]"]
        );
        let quiz = parse(
            json!({ "type": "quiz", "question": "q", "options": [" a ", "b"], "correct_index": 1 }),
        )
        .unwrap();
        let public = serde_json::to_string(&quiz.public()).unwrap();
        assert!(!public.contains("correct"), "{public}");
        // Round trip through the stored form.
        let stored = serde_json::to_string(&quiz).unwrap();
        assert_eq!(
            serde_json::from_str::<InteractionConfig>(&stored).unwrap(),
            quiz
        );
    }

    #[test]
    fn markdown_is_rendered_and_sanitised() {
        let html = render_markdown(
            "# Welcome\n\n**Read** [the rules](https://example.org/rules).\n\n\
             <script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n\
             [bad](javascript:alert(3)) <a href=\"data:text/html,x\" onclick=\"y()\">d</a>\n\n\
             <iframe src=\"https://evil.example\"></iframe><style>body{}</style>",
        );
        assert!(html.contains("<h1>Welcome</h1>"), "{html}");
        assert!(html.contains("<strong>Read</strong>"), "{html}");
        assert!(
            html.contains(
                "<a href=\"https://example.org/rules\" rel=\"noopener noreferrer\">the rules</a>"
            ),
            "{html}"
        );
        let lower = html.to_ascii_lowercase();
        for banned in [
            "<script",
            "onerror",
            "onclick",
            "javascript:",
            "data:",
            "<iframe",
            "<style",
            "alert(1)",
        ] {
            assert!(!lower.contains(banned), "{banned} survived: {html}");
        }
    }
}

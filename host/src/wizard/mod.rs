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

pub mod builder;
mod interactions;
mod token;

pub use interactions::{
    InteractionConfig, PublicInteractionConfig, check_answers, check_timers, parse_config,
};
pub use token::{Claims, TokenKind, check_step_token, now_ms, sign, verify};

use crate::crypto::Crypto;
use crate::db::{
    self,
    invitations::Invitation,
    wizards::{FullStep, Wizard},
};
use crate::error::{Error, ErrorCode, Result};
use crate::state::AppState;
use serde::Serialize;
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
        start_token: sign(crypto, &claims),
        token_expires_at: ms_to_rfc3339(claims.expires_ms),
        ..preview((wizard, steps))
    }
}

/// A wizard as an invitee would see it, for the admin's "preview as invitee": the same steps,
/// content and interactions, without a token (no invitation is involved; the preview checks
/// the answers with [`check_answers`] and [`check_timers`] and keeps nothing). Shown whether
/// enabled or not.
pub fn preview((wizard, steps): (Wizard, Vec<FullStep>)) -> PublicWizard {
    PublicWizard {
        id: wizard.id,
        start_token: String::new(),
        token_expires_at: String::new(),
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

/// The pre-join and post-join wizards of an invitation as stored, if enabled and not empty.
pub type Offered = (
    Option<(Wizard, Vec<FullStep>)>,
    Option<(Wizard, Vec<FullStep>)>,
);

/// Read the wizards [`offered`] shows (only `SELECT`s).
pub fn load_offered(c: &rusqlite::Connection, inv: &Invitation) -> Result<Offered> {
    let load = |id: Option<i64>| -> Result<_> {
        Ok(match id {
            Some(id) => shown(db::wizards::full(c, id)?),
            None => None,
        })
    };
    Ok((load(inv.pre_wizard_id)?, load(inv.post_wizard_id)?))
}

/// The invitee's view of wizards read by [`load_offered`], each with a fresh start token.
pub fn publish_offered(
    state: &AppState,
    invitation: i64,
    (pre, post): Offered,
) -> (Option<PublicWizard>, Option<PublicWizard>) {
    let crypto = &state.security().crypto;
    let now = now_ms();
    (
        pre.map(|w| public_wizard(crypto, invitation, w, now)),
        post.map(|w| public_wizard(crypto, invitation, w, now)),
    )
}

/// The pre-join and post-join wizards an invitation shows, if enabled and not empty.
pub async fn offered(
    state: &AppState,
    inv: &Invitation,
) -> Result<(Option<PublicWizard>, Option<PublicWizard>)> {
    if inv.pre_wizard_id.is_none() && inv.post_wizard_id.is_none() {
        return Ok((None, None));
    }
    let stored = inv.clone();
    let loaded = state.db().select(move |c| load_offered(c, &stored)).await?;
    Ok(publish_offered(state, inv.id, loaded))
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
        return Err(token::mismatch(
            "the wizard token belongs to another invitation or wizard",
        ));
    }
    if claims.version != wizard.version {
        return Err(token::mismatch(
            "the wizard was changed since this token was issued; complete it again",
        ));
    }
    if claims.kind != TokenKind::Complete || claims.step != steps {
        return Err(token::mismatch(
            "this token does not prove the wizard was completed",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! The invitee's wizard step check, `POST /join/{code}/wizard/{step}`: public, rate limited per
//! client address, stateless (signed tokens, see `crate::wizard`), and never shows a quiz answer.

use crate::auth::ClientIp;
use crate::db::{self, invitations::Status};
use crate::error::{Error, Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path};
use crate::http::openapi::Errors;
use crate::state::AppState;
use crate::wizard::{self, Claims, TokenKind};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa_axum::routes;

/// Public routes.
pub fn routes() -> Routes {
    vec![routes!(submit_step)]
}

/// The invitee's answers for one step.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StepSubmission {
    /// For the first step the wizard's `start_token` from the validation; for every later step
    /// the `token` the previous step answered.
    token: String,
    /// Answers by interaction id: `true` for `click` and `terms`, a string for `text_input`, the
    /// chosen option's 0-based index for `quiz`; `timer` needs none.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Value>)]
    answers: BTreeMap<String, Value>,
}

/// A passed step.
#[derive(Debug, Serialize, ToSchema)]
struct StepPassed {
    /// Send it with the next step; after the last step it is the completion token (for a
    /// pre-join wizard: send it as `wizard_token` when redeeming).
    token: String,
    /// Whether this was the last step.
    completed: bool,
    /// The next step's id; `null` after the last step.
    next_step: Option<i64>,
    /// When `token` expires.
    expires_at: String,
}

/// Check a wizard step
///
/// Checks the invitee's answers for one step of the invitation's pre-join or post-join wizard.
/// Steps are completed in order, each with the token of the one before; timers count from when
/// the server made the step available. Nothing is stored. Rate limited per client address.
#[utoipa::path(
    post,
    path = "/join/{code}/wizard/{step}",
    tag = "join",
    operation_id = "submit_wizard_step",
    params(
        ("code" = String, Path, description = "The invitation code"),
        ("step" = i64, Path, description = "Step id, from the validation"),
    ),
    request_body = StepSubmission,
    responses(
        (status = OK, body = StepPassed),
        Errors<(
            code::InviteInvalid,
            code::RateLimited,
            code::NotFound,
            code::ValidationFailed,
            code::WizardTokenInvalid,
            code::WizardStepOutOfOrder,
            code::WizardTimerRunning,
        )>,
    )
)]
async fn submit_step(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path((code, step_id)): Path<(String, i64)>,
    Json(req): Json<StepSubmission>,
) -> Result<Json<StepPassed>> {
    crate::http::join::limit(&state, &ip, crate::http::join::Budget::Wizard)?;
    if crate::http::invitations::check_custom_code(&code).is_err() {
        return Err(crate::redemption::invite_invalid());
    }
    let loaded = state
        .db()
        .run(move |c| {
            let Some(inv) = db::invitations::by_code(c, &code)? else {
                return Ok(None);
            };
            let step = db::wizards::step(c, step_id)?;
            let wizard = match &step {
                Some(s) => db::wizards::get(c, s.wizard_id)?,
                None => None,
            };
            let rest = match (step, wizard) {
                (Some(step), Some(wizard)) => {
                    let steps = db::wizards::steps(c, wizard.id)?;
                    let interactions = db::wizards::interactions(c, step.id)?;
                    Some((step, wizard, steps, interactions))
                }
                _ => None,
            };
            Ok(Some((inv, rest)))
        })
        .await?;
    let Some((inv, rest)) = loaded else {
        return Err(crate::redemption::invite_invalid());
    };
    // The post-join wizard runs after the redemption, which may have used up the invitation; it
    // stays available then. Anything else needs an invitation that can still be redeemed.
    let status = inv.status(&db::time::now());
    if !matches!(status, Status::Active | Status::UsedUp) || inv.targets.is_empty() {
        return Err(crate::redemption::invite_invalid());
    }
    let step_not_found = || Error::not_found("wizard step");
    let (step, wizard, steps, interactions) = rest.ok_or_else(step_not_found)?;
    let count = steps.len() as i64;
    let is_pre = inv.pre_wizard_id == Some(wizard.id) && status == Status::Active;
    let is_post = inv.post_wizard_id == Some(wizard.id);
    if !(is_pre || is_post) || !wizard.enabled {
        return Err(step_not_found());
    }

    let crypto = &state.security().crypto;
    let now = wizard::now_ms();
    let claims = wizard::check_step_token(crypto, &req.token, inv.id, &wizard, step.position, now)?;
    wizard::check_timers(&interactions, claims.issued_ms, now)?;
    let problems = wizard::check_answers(&interactions, &req.answers);
    if !problems.is_empty() {
        return Err(Error::invalid(problems));
    }

    let last = step.position + 1 >= count;
    let next = if last {
        Claims::new(TokenKind::Complete, inv.id, &wizard, count, now)
    } else {
        Claims::new(TokenKind::Progress, inv.id, &wizard, step.position + 1, now)
    };
    let next_step = steps
        .iter()
        .find(|s| s.position == step.position + 1)
        .map(|s| s.id);
    let expires_at = chrono::DateTime::from_timestamp_millis(next.expires_ms)
        .map(db::time::fmt)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("token expiry out of range")))?;
    Ok(Json(StepPassed {
        token: wizard::sign(crypto, &next),
        completed: last,
        next_step,
        expires_at,
    }))
}

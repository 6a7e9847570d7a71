//! The invitee's wizard step check, `POST /join/{code}/wizard/{step}`: public, rate limited per
//! client address, stateless (signed tokens, see `crate::wizard`), and never shows a quiz answer.

use crate::auth::ClientIp;
use crate::error::{Result, code};
use crate::http::Routes;
use crate::http::extract::{Json, Path};
use crate::http::openapi::Errors;
use crate::state::AppState;
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
    crate::http::join::limit(&state, &ip, crate::join::Budget::Wizard)?;
    let passed = crate::join::submit_step(&state, code, step_id, &req.token, &req.answers).await?;
    Ok(Json(StepPassed {
        token: passed.token,
        completed: passed.completed,
        next_step: passed.next_step,
        expires_at: passed.expires_at,
    }))
}

//! The invitee's side of an invitation, as rules: which codes are usable, what an invitation
//! offers, the account-link (PIN) flow and the check of one wizard step.
//!
//! Both skins call these functions: the JSON API (`http::join`, `http::wizard_join`) and the
//! join pages (`web::join`). Nothing here knows axum, JSON bodies or HTML; results are plain
//! structs or [`Error`]s with their stable codes. The redemption itself lives in
//! [`crate::redemption`].

use crate::crypto::Purpose;
use crate::db::Cached;
use crate::db::{self, invitations::Invitation, invitations::Status};
use crate::error::{Error, ErrorCode, Result};
use crate::plugins::{JoinFlow, LinkStatus};
use crate::redemption::{StoredAccount, invite_invalid};
use crate::servers;
use crate::state::AppState;
use crate::wizard::{self, Claims, PublicWizard, TokenKind};
use rusqlite::{OptionalExtension, params};
use serde_json::Value;
use std::collections::BTreeMap;

/// The join-page rate budgets, each per client address and sized for a real invitee, so a page
/// that polls cannot use up what the invitee needs to redeem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Opening the link (`security.join_per_ip_per_minute`).
    Check,
    /// Polling an account link or a redemption in progress (`security.join_poll_per_ip_per_minute`).
    Poll,
    /// Answering a wizard step (`security.join_wizard_per_ip_per_minute`).
    Wizard,
    /// Redeeming and starting account links (`security.join_redeem_per_ip_per_minute`).
    Redeem,
}

/// Count one public join request of `ip` against its budget; `RATE_LIMITED` with the seconds to
/// wait when exceeded.
pub fn limit(state: &AppState, ip: &Option<String>, budget: Budget) -> Result<()> {
    let key = ip.as_deref().unwrap_or("unknown");
    let security = state.security();
    let limiter = match budget {
        Budget::Check => &security.join_ip,
        Budget::Poll => &security.join_poll,
        Budget::Wizard => &security.join_wizard,
        Budget::Redeem => &security.join_redeem,
    };
    limiter.check(key).map_err(|secs| {
        Error::new(
            ErrorCode::RateLimited,
            format!("too many requests; try again in {secs} s"),
        )
        .with_retry_after(secs)
    })
}

/// Whether `code` cannot be an invitation code at all (checked before any database access).
pub fn code_is_malformed(code: &str) -> bool {
    crate::invitations::check_custom_code(code).is_err()
}

/// The invitation behind `code`, if the code can be one; `INVITE_INVALID` otherwise.
async fn by_code(state: &AppState, code: String) -> Result<Invitation> {
    if code_is_malformed(&code) {
        return Err(invite_invalid());
    }
    state
        .db()
        .run(move |c| Ok(db::invitations::by_code(c, &code)?))
        .await?
        .ok_or_else(invite_invalid)
}

/// The invitation behind `code` if it can be redeemed now; `INVITE_INVALID` for anything else.
pub async fn active_invitation(state: &AppState, code: String) -> Result<Invitation> {
    let inv = by_code(state, code).await?;
    // An invitation whose every target server was deleted has nothing left to give.
    if inv.status(&db::time::now()) != Status::Active || inv.targets.is_empty() {
        return Err(invite_invalid());
    }
    Ok(inv)
}

/// The invitation behind `code` for what follows a redemption (the post-join wizard): it may
/// be used up by then. `INVITE_INVALID` when it is expired, disabled or unknown.
pub async fn redeemed_invitation(state: &AppState, code: String) -> Result<Invitation> {
    let inv = by_code(state, code).await?;
    let status = inv.status(&db::time::now());
    if !matches!(status, Status::Active | Status::UsedUp) || inv.targets.is_empty() {
        return Err(invite_invalid());
    }
    Ok(inv)
}

/// A server an invitation gives access to.
#[derive(Debug, Clone)]
pub struct OfferedServer {
    /// Server name.
    pub name: String,
    /// Connector id, e.g. `jellyfin`.
    pub kind: String,
    /// Human name of the server kind, e.g. `Jellyfin`.
    pub kind_name: String,
    /// How the invitee gets an account there.
    pub join_flow: JoinFlow,
    /// Names of the libraries offered; `None` means every library.
    pub libraries: Option<Vec<String>>,
}

/// What a usable invitation offers its invitee.
#[derive(Debug)]
pub struct Offer {
    /// The invitation.
    pub invitation: Invitation,
    /// Its servers, in the invitation's order.
    pub servers: Vec<OfferedServer>,
    /// Whether the invitee must choose a username and password.
    pub needs_credentials: bool,
    /// Connectors whose account must be linked first.
    pub oauth: Vec<String>,
    /// Wizard before the redemption, if enabled and not empty (with a fresh start token).
    pub pre_wizard: Option<PublicWizard>,
    /// Wizard after the redemption, if enabled and not empty (with a fresh start token).
    pub post_wizard: Option<PublicWizard>,
}

/// What [`offer`] reads from the database for one code.
#[derive(Debug)]
struct Stored {
    invitation: Invitation,
    /// Each target with its server (`None`: deleted) and that server's libraries.
    rows: Vec<(
        db::invitations::Target,
        Option<db::servers::ServerRow>,
        Vec<db::servers::LibraryRow>,
    )>,
    wizards: wizard::Offered,
    /// The answer [`rendered_offer`] made of these rows, with the plugin generation
    /// ([`crate::plugins::PluginHost::generation`]) it was made at.
    rendered: std::sync::Mutex<Option<(u64, bytes::Bytes)>>,
}

/// Codes kept at most; beyond, the cache starts afresh (random codes cannot grow it).
const OFFER_CACHE_ENTRIES: usize = 1024;
/// The longest an entry is used: bounds how late a change made by another process (the
/// `zondarr` command line on the same file) is seen.
const OFFER_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// The rows [`offer`] read per code, with the [`db::Db::generation`] they were read at. The
/// invitee's first request is the daemon's hottest path (a popular link, a crowd): reading the
/// invitation, its servers, libraries and wizards took three trips to the blocking pool per
/// request, most of its cost (docs/performance.md, "The invitee's first request"). An entry is
/// used only while nothing was written since it was read, and for at most a second; whether the
/// invitation is usable is still decided per request, against the clock.
#[derive(Default)]
pub struct OfferCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, OfferEntry>>,
}

/// A cached offer: the generation it was read at, when, and the rows.
type OfferEntry = (u64, std::time::Instant, std::sync::Arc<Stored>);

impl OfferCache {
    fn get(&self, code: &str, generation: u64) -> Option<std::sync::Arc<Stored>> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, read, stored) = entries.get(code)?;
        (*at == generation && read.elapsed() < OFFER_CACHE_TTL).then(|| stored.clone())
    }

    fn put(&self, code: String, generation: u64, stored: std::sync::Arc<Stored>) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= OFFER_CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(code, (generation, std::time::Instant::now(), stored));
    }
}

/// The stored rows behind `code` (`None`: no such invitation), from the cache when nothing was
/// written since they were read.
async fn stored(state: &AppState, code: String) -> Result<Option<std::sync::Arc<Stored>>> {
    // Taken before reading: a write that ends while the read runs changes it, so the entry is
    // never used.
    let generation = state.db().generation();
    if let Some(hit) = state.offers().get(&code, generation) {
        return Ok(Some(hit));
    }
    let key = code.clone();
    let stored = state
        .db()
        .select(move |c| {
            let Some(invitation) = db::invitations::by_code(c, &code)? else {
                return Ok(None);
            };
            let rows = invitation
                .targets
                .iter()
                .map(|t| {
                    Ok((
                        t.clone(),
                        db::servers::get(c, t.server_id)?,
                        db::servers::libraries(c, t.server_id)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            let wizards = wizard::load_offered(c, &invitation)?;
            Ok(Some(std::sync::Arc::new(Stored {
                invitation,
                rows,
                wizards,
                rendered: std::sync::Mutex::new(None),
            })))
        })
        .await?;
    if let Some(s) = &stored {
        state.offers().put(key, generation, s.clone());
    }
    Ok(stored)
}

/// Validate `code` and describe what it offers.
pub async fn offer(state: &AppState, code: String) -> Result<Offer> {
    let stored = usable(state, code).await?;
    offer_of(state, &stored)
}

/// The stored rows of `code` when it is usable now; `INVITE_INVALID` otherwise.
async fn usable(state: &AppState, code: String) -> Result<std::sync::Arc<Stored>> {
    if code_is_malformed(&code) {
        return Err(invite_invalid());
    }
    let stored = stored(state, code).await?.ok_or_else(invite_invalid)?;
    let inv = &stored.invitation;
    // As in `active_invitation`.
    if inv.status(&db::time::now()) != Status::Active || inv.targets.is_empty() {
        return Err(invite_invalid());
    }
    Ok(stored)
}

/// Validate `code` and answer what it offers as `render` writes it (the JSON API's body). The
/// answer is kept with the cached rows and reused while neither they nor the loaded plugins
/// changed; whether the code is usable is still decided per request, against the clock. An
/// offer with a wizard is rendered every time: its start tokens are fresh per request.
pub async fn rendered_offer(
    state: &AppState,
    code: String,
    render: impl FnOnce(Offer) -> Result<Vec<u8>>,
) -> Result<bytes::Bytes> {
    let stored = usable(state, code).await?;
    let lock = |m: &std::sync::Mutex<Option<(u64, bytes::Bytes)>>| {
        m.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    };
    // Read before the manifests: a plugin swapped while this renders leaves the answer stored
    // under the older generation, so it is never reused.
    let plugins = state.plugins().generation();
    if let Some((at, body)) = lock(&stored.rendered)
        && at == plugins
    {
        return Ok(body);
    }
    let reusable = stored.wizards.0.is_none() && stored.wizards.1.is_none();
    let body = bytes::Bytes::from(render(offer_of(state, &stored)?)?);
    if reusable {
        *stored
            .rendered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((plugins, body.clone()));
    }
    Ok(body)
}

/// What the usable invitation of `stored` offers.
fn offer_of(state: &AppState, stored: &Stored) -> Result<Offer> {
    let inv = stored.invitation.clone();
    let mut servers = Vec::new();
    let mut oauth = Vec::new();
    for (target, server, libs) in &stored.rows {
        let Some(server) = server else {
            return Err(invite_invalid());
        };
        let (join_flow, kind_name) = state
            .plugins()
            .with_manifest(&server.kind, |m| (m.join_flow, m.name.clone()))
            .unwrap_or_else(|| (JoinFlow::Credentials, server.kind.clone()));
        if join_flow == JoinFlow::OauthLink && !oauth.contains(&server.kind) {
            oauth.push(server.kind.clone());
        }
        servers.push(OfferedServer {
            name: server.name.clone(),
            kind_name,
            kind: server.kind.clone(),
            join_flow,
            libraries: target.libraries.as_ref().map(|ids| {
                libs.iter()
                    .filter(|l| ids.contains(&l.id))
                    .map(|l| l.name.clone())
                    .collect()
            }),
        });
    }
    let (pre_wizard, post_wizard) = wizard::publish_offered(state, inv.id, stored.wizards.clone());
    Ok(Offer {
        needs_credentials: servers.iter().any(|s| s.join_flow == JoinFlow::Credentials),
        invitation: inv,
        servers,
        oauth,
        pre_wizard,
        post_wizard,
    })
}

/// The first target server of the invitation run by `connector`, with its context.
async fn link_server(
    state: &AppState,
    inv: &Invitation,
    connector: &str,
) -> Result<(i64, crate::plugins::ServerContext)> {
    let ids: Vec<i64> = inv.targets.iter().map(|t| t.server_id).collect();
    let kind = connector.to_owned();
    let server = state
        .db()
        .run(move |c| {
            for id in ids {
                if let Some(s) = db::servers::get(c, id)?
                    && s.kind == kind
                {
                    return Ok(Some(s));
                }
            }
            Ok(None)
        })
        .await?
        .ok_or_else(|| Error::not_found("account link for this invitation"))?;
    let manifest = state
        .plugins()
        .manifest(&server.kind)
        .filter(|m| m.join_flow == JoinFlow::OauthLink)
        .ok_or_else(|| {
            Error::new(
                ErrorCode::ServerUnavailable,
                "account linking is not available right now",
            )
        })?;
    Ok((
        server.id,
        servers::context_of(&state.security().crypto, &manifest, &server)?,
    ))
}

/// A started account link (PIN flow).
#[derive(Debug, Clone)]
pub struct LinkStarted {
    /// The link's handle (poll it, then redeem with it): unguessable, so one shared code does
    /// not let anyone read or use another invitee's link.
    pub link: String,
    /// Code to show the invitee.
    pub code: String,
    /// Where to send the invitee to approve.
    pub auth_url: String,
    /// Seconds until the PIN expires.
    pub expires_in: u32,
}

/// Start linking an account of `connector` for the invitation `code`.
pub async fn start_link(state: &AppState, code: String, connector: &str) -> Result<LinkStarted> {
    let inv = active_invitation(state, code).await?;
    let (server_id, ctx) = link_server(state, &inv, connector).await?;
    let started = state
        .plugins()
        .start_link(connector, &ctx)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "could not start an account link");
            Error::new(
                ErrorCode::ServerUnavailable,
                "account linking is not available right now; try again later",
            )
        })?;
    let expires = db::time::fmt(
        chrono::Utc::now()
            + chrono::Duration::seconds(i64::from(started.expires_in.clamp(60, 3600))),
    );
    let (inv_id, pin) = (inv.id, started.pin_id.clone());
    let handle = crate::crypto::random_token(18);
    let link = state
        .db()
        .write(move |tx| {
            tx.exec(
                "INSERT INTO join_links (handle, invitation_id, server_id, pin_id, state, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6)
                 ON CONFLICT(server_id, pin_id) DO NOTHING",
                params![handle, inv_id, server_id, pin, db::time::now(), expires],
            )?;
            Ok(tx.row("SELECT handle FROM join_links WHERE server_id = ?1 AND pin_id = ?2 AND invitation_id = ?3", params![server_id, pin, inv_id], |r| r.get(0))?)
        })
        .await?;
    Ok(LinkStarted {
        link,
        code: started.code,
        auth_url: started.auth_url,
        expires_in: started.expires_in,
    })
}

/// The state of an account link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Not approved yet.
    Pending,
    /// Approved: the account's name and e-mail (never its token).
    Linked {
        /// Account name.
        username: Option<String>,
        /// E-mail, if the account has one.
        email: Option<String>,
    },
    /// The PIN ran out.
    Expired,
}

/// row id, server id, pin id, state, sealed account, expiry.
type LinkRow = (i64, i64, String, String, Option<Vec<u8>>, String);

/// Poll the link `link` of `connector` for the invitation `code`.
pub async fn poll_link(
    state: &AppState,
    code: String,
    connector: &str,
    handle: &str,
) -> Result<LinkState> {
    let inv = active_invitation(state, code).await?;
    if handle.len() > 64 {
        return Err(Error::not_found("account link"));
    }
    let (inv_id, handle) = (inv.id, handle.to_owned());
    let row: Option<LinkRow> = state
        .db()
        .run(move |c| {
            Ok(c.row(
                "SELECT id, server_id, pin_id, state, account, expires_at FROM join_links WHERE handle = ?1 AND invitation_id = ?2",
                params![handle, inv_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .optional()?)
        })
        .await?;
    let Some((link, server_id, pin, link_state, sealed, expires_at)) = row else {
        return Err(Error::not_found("account link"));
    };
    let crypto = &state.security().crypto;
    let binding = format!("join-link:{link}");
    match link_state.as_str() {
        "linked" => {
            let account: Option<StoredAccount> = sealed
                .and_then(|s| crypto.open(Purpose::LinkedAccount, &binding, &s).ok())
                .and_then(|p| serde_json::from_slice(&p).ok());
            return Ok(LinkState::Linked {
                username: account.as_ref().map(|a| a.username.clone()),
                email: account.and_then(|a| a.email),
            });
        }
        "pending" if expires_at > db::time::now() => {}
        _ => return Ok(LinkState::Expired),
    }
    let (link_server_id, ctx) = link_server(state, &inv, connector).await?;
    if link_server_id != server_id {
        return Err(Error::not_found("account link"));
    }
    let status = state
        .plugins()
        .poll_link(connector, &ctx, &pin)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "could not poll an account link");
            Error::new(
                ErrorCode::ServerUnavailable,
                "account linking is not available right now; try again later",
            )
        })?;
    match status {
        LinkStatus::Pending => Ok(LinkState::Pending),
        LinkStatus::Expired => {
            state
                .db()
                .write(move |tx| {
                    Ok(tx
                        .exec(
                            "UPDATE join_links SET state = 'expired' WHERE id = ?1",
                            [link],
                        )
                        .map(|_| ())?)
                })
                .await?;
            Ok(LinkState::Expired)
        }
        LinkStatus::Linked(account) => {
            let stored = StoredAccount::from(&account);
            let plain = serde_json::to_vec(&stored).map_err(|e| Error::Internal(e.into()))?;
            let sealed = crypto.seal(Purpose::LinkedAccount, &binding, &plain);
            state
                .db()
                .write(move |tx| {
                    Ok(tx
                        .exec(
                            "UPDATE join_links SET state = 'linked', account = ?2 WHERE id = ?1 AND state = 'pending'",
                            params![link, sealed],
                        )
                        .map(|_| ())?)
                })
                .await?;
            Ok(LinkState::Linked {
                username: Some(account.username),
                email: account.email,
            })
        }
    }
}

/// A passed wizard step.
#[derive(Debug, Clone)]
pub struct StepPassed {
    /// Token for the next step, or the completion token after the last one.
    pub token: String,
    /// Whether this was the last step.
    pub completed: bool,
    /// The next step's id; `None` after the last step.
    pub next_step: Option<i64>,
    /// When `token` expires.
    pub expires_at: String,
}

/// Check the invitee's `answers` for the step `step_id` of the invitation's pre-join or
/// post-join wizard, sent with `token` (the start token or the previous step's). Steps are
/// passed in order; timers count from the token's issue time. Nothing is stored.
pub async fn submit_step(
    state: &AppState,
    code: String,
    step_id: i64,
    token: &str,
    answers: &BTreeMap<String, Value>,
) -> Result<StepPassed> {
    if code_is_malformed(&code) {
        return Err(invite_invalid());
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
        return Err(invite_invalid());
    };
    // The post-join wizard runs after the redemption, which may have used up the invitation; it
    // stays available then. Anything else needs an invitation that can still be redeemed.
    let status = inv.status(&db::time::now());
    if !matches!(status, Status::Active | Status::UsedUp) || inv.targets.is_empty() {
        return Err(invite_invalid());
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
    let claims = wizard::check_step_token(crypto, token, inv.id, &wizard, step.position, now)?;
    wizard::check_timers(&interactions, claims.issued_ms, now)?;
    let problems = wizard::check_answers(&interactions, answers);
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
    Ok(StepPassed {
        token: wizard::sign(crypto, &next),
        completed: last,
        next_step,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn state() -> AppState {
        AppState::for_tests(&[]).await
    }

    fn code_of(r: Result<Offer>) -> &'static str {
        match r {
            Ok(_) => "OK",
            Err(e) => e.code().as_str(),
        }
    }

    /// The offer cache: a change is seen by the very next request, whether written through
    /// `Db::write` or (as some reads' neighbours do) through `Db::run`.
    #[tokio::test]
    async fn an_offer_reflects_every_change_at_once() {
        let state = state().await;
        state
            .db()
            .write(|tx| {
                tx.execute_batch(
                    "INSERT INTO servers(id, name, kind, base_url, created_at, updated_at)
                       VALUES (1, 'Home', 'jellyfin', 'http://a', '2026', '2026');
                     INSERT INTO invitations(id, code, enabled, created_by, created_at, updated_at)
                       VALUES (1, 'crowd', 1, 'admin', '2026', '2026');
                     INSERT INTO invitation_servers(invitation_id, server_id, permissions)
                       VALUES (1, 1, '{}');",
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let offer = offer(&state, "crowd".into()).await.unwrap();
        assert_eq!(offer.servers[0].name, "Home");
        // Read again from the cache.
        assert_eq!(code_of(super::offer(&state, "crowd".into()).await), "OK");
        state
            .db()
            .write(|tx| {
                tx.exec("UPDATE servers SET name = 'Cinema' WHERE id = 1", [])?;
                Ok(())
            })
            .await
            .unwrap();
        let offer = super::offer(&state, "crowd".into()).await.unwrap();
        assert_eq!(offer.servers[0].name, "Cinema");
        state
            .db()
            .run(|c| {
                c.exec("UPDATE invitations SET enabled = 0 WHERE id = 1", [])?;
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(
            code_of(super::offer(&state, "crowd".into()).await),
            "INVITE_INVALID"
        );
        state
            .db()
            .write(|tx| {
                tx.exec(
                    "UPDATE invitations SET enabled = 1, max_uses = 1, use_count = 1 WHERE id = 1",
                    [],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(
            code_of(super::offer(&state, "crowd".into()).await),
            "INVITE_INVALID",
            "used up"
        );
    }
}

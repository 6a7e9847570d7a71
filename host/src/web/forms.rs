//! Form safety for anonymous invitees: CSRF tokens bound to a short-lived cookie, and
//! submissions that run once however often the button is pressed.
//!
//! * **CSRF**: the visitor gets a random value in the `zondarr_join_csrf` cookie (HttpOnly,
//!   SameSite=Lax, two hours); every form carries `HMAC(cookie)` under the daemon's key. A
//!   cross-site page can neither read the cookie nor compute the token, and a token stolen from
//!   one visitor's page is useless with another's cookie. Nothing is stored on the server.
//! * **Once**: a form that changes something carries a random `form_id`. The first submission
//!   with an id runs; a second one while it runs waits for it and, when it succeeded, gets the
//!   same redirect instead of running again (double click, refresh of the POST, a flaky network
//!   retrying). Finished entries are forgotten after ten minutes; the table is bounded.

use super::Ctx;
use crate::crypto::{MacPurpose, random_token};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use base64::Engine;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// The CSRF cookie.
pub const CSRF_COOKIE: &str = "zondarr_join_csrf";
const CSRF_MAX_AGE_SECS: u32 = 2 * 60 * 60;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn well_formed(cookie: &str) -> bool {
    (20..=100).contains(&cookie.len())
        && cookie
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The CSRF token for a page, and the cookie to set when the visitor had none.
#[derive(Debug)]
pub struct Csrf {
    /// The token to put in the form's `csrf` field.
    pub token: String,
    set_cookie: Option<String>,
}

impl Csrf {
    /// The token for the visitor's cookie, or a new cookie.
    pub fn for_page(ctx: &Ctx) -> Csrf {
        let existing = super::cookie(&ctx.cookies, CSRF_COOKIE).filter(|c| well_formed(c));
        let (value, set_cookie) = match existing {
            Some(v) => (v.to_owned(), None),
            None => {
                let v = random_token(24);
                let secure = if ctx.state().security().secure_cookies() {
                    "; Secure"
                } else {
                    ""
                };
                let cookie = format!(
                    "{CSRF_COOKIE}={v}; Path=/; Max-Age={CSRF_MAX_AGE_SECS}; HttpOnly; SameSite=Lax{secure}"
                );
                (v, Some(cookie))
            }
        };
        Csrf {
            token: token_for(ctx, &value),
            set_cookie,
        }
    }

    /// Add the cookie to `response` when it is new.
    pub fn apply(&self, mut response: Response) -> Response {
        if let Some(cookie) = &self.set_cookie
            && let Ok(v) = HeaderValue::from_str(cookie)
        {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
        response
    }
}

fn token_for(ctx: &Ctx, cookie: &str) -> String {
    b64(&ctx
        .state()
        .security()
        .crypto
        .mac(MacPurpose::JoinForm, cookie.as_bytes()))
}

/// Whether `token` (from the form) belongs to the visitor's CSRF cookie.
pub fn check(ctx: &Ctx, token: &str) -> bool {
    let Some(cookie) = super::cookie(&ctx.cookies, CSRF_COOKIE).filter(|c| well_formed(c)) else {
        return false;
    };
    let Ok(tag) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token) else {
        return false;
    };
    ctx.state()
        .security()
        .crypto
        .verify_mac(MacPurpose::JoinForm, cookie.as_bytes(), &tag)
}

/// A new id for a form that must be submitted once.
pub fn new_form_id() -> String {
    random_token(16)
}

const KEEP: Duration = Duration::from_secs(10 * 60);
const MAX_ENTRIES: usize = 10_000;

type Cell = Arc<OnceCell<String>>;

/// Submissions by form id (see the module documentation).
#[derive(Default)]
pub struct Once {
    entries: Mutex<HashMap<String, (Instant, Cell)>>,
}

impl Once {
    fn cell(&self, form_id: &str) -> Option<Cell> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _)| now.duration_since(*at) < KEEP);
            if entries.len() >= MAX_ENTRIES {
                return None;
            }
        }
        Some(
            entries
                .entry(form_id.to_owned())
                .or_insert_with(|| (now, Arc::new(OnceCell::new())))
                .1
                .clone(),
        )
    }

    /// Run `submit` for `form_id` unless a submission with that id already succeeded (then its
    /// redirect target is returned) or is running (then this waits for it). A failed
    /// submission is not remembered, so the invitee can correct and send again. A malformed id
    /// or a full table runs `submit` unguarded rather than refusing the invitee.
    pub async fn run<E, F, Fut>(&self, form_id: &str, submit: F) -> Result<String, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, E>>,
    {
        let cell = if well_formed(form_id) {
            self.cell(form_id)
        } else {
            None
        };
        match cell {
            Some(cell) => cell.get_or_try_init(submit).await.cloned(),
            None => submit().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_form_id_runs_once_and_failures_can_be_retried() {
        let once = Once::default();
        let runs = AtomicUsize::new(0);
        let id = new_form_id();
        let submit = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, ()>("/done".to_owned())
        };
        let (a, b) = tokio::join!(once.run(&id, submit), once.run(&id, submit));
        assert_eq!((a, b), (Ok("/done".to_owned()), Ok("/done".to_owned())));
        assert_eq!(runs.load(Ordering::SeqCst), 1, "the double submit ran once");
        assert_eq!(once.run(&id, submit).await, Ok("/done".to_owned()));
        assert_eq!(runs.load(Ordering::SeqCst), 1);

        let other = new_form_id();
        let failed: Result<String, &str> = once.run(&other, || async { Err("taken") }).await;
        assert_eq!(failed, Err("taken"));
        let retried: Result<String, &str> =
            once.run(&other, || async { Ok("/ok".to_owned()) }).await;
        assert_eq!(retried, Ok("/ok".to_owned()));
    }
}

//! Runs the stateful fakes (a Jellyfin server, a Plex Media Server and plex.tv) on loopback until
//! killed, for tools that drive the real daemon from outside the test suite (the property-based
//! API test in `.ci/schemathesis.py`).
//!
//! ```text
//! cargo run -p zondarr-fakes --bin fake-servers
//! ```
//!
//! Prints one JSON line with the addresses and credentials, then serves:
//! `{"jellyfin": {"url", "api_key"}, "plex": {"url", "plex_tv_url", "token"}}`.

use std::io::Write;

use zondarr_fakes::jellyfin::JellyfinFake;
use zondarr_fakes::plex::PlexFake;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let jellyfin = JellyfinFake::start().await;
    let plex = PlexFake::start().await;
    let line = serde_json::json!({
        "jellyfin": { "url": jellyfin.base_url(), "api_key": jellyfin.api_key() },
        "plex": { "url": plex.pms_url(), "plex_tv_url": plex.plex_tv_url(), "token": plex.owner_token() },
    });
    let mut out = std::io::stdout().lock();
    // Nothing useful can be done when the reader has gone; the fakes keep serving.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    drop(out);
    std::future::pending::<()>().await;
}

//! The fake Plex Media Server: `/identity` (no token), `/` and `/library/sections` (owner's
//! token), with the attributes the real server writes.

use axum::http::Method;

use super::doc::El;
use super::state::State;
use super::{Reply, Req, Side};

pub(crate) fn route(state: &mut State, req: &Req) -> Reply {
    let (Some(server), Some(owner)) = (state.pms().cloned(), state.owner().cloned()) else {
        return Reply::error(req, Side::Pms, 500, "Internal Server Error");
    };
    if req.method != Method::GET {
        return Reply::error(req, Side::Pms, 405, "Method Not Allowed");
    }
    let segments = req.segments();
    if segments == ["identity"] {
        let el = El::new("MediaContainer")
            .attr("size", 0)
            .attr("apiVersion", "1.1.1")
            .attr("claimed", 1)
            .attr("machineIdentifier", &server.machine_id)
            .attr("version", &server.version);
        return Reply::doc(req, 200, &el);
    }
    if req.token() != Some(owner.token.as_str()) {
        return Reply::error(req, Side::Pms, 401, "Unauthorized");
    }
    match segments.as_slice() {
        [] => {
            let el = El::new("MediaContainer")
                .attr("size", 3)
                .flag("allowCameraUpload", true)
                .flag("allowSync", true)
                .flag("claimed", true)
                .attr("friendlyName", &server.name)
                .attr("machineIdentifier", &server.machine_id)
                .flag("myPlex", true)
                .attr("myPlexSigninState", "ok")
                .attr("myPlexUsername", &owner.username)
                .attr("platform", "Linux")
                .attr("version", &server.version)
                .children(["butler", "library", "playlists"].map(|key| {
                    El::new("Directory")
                        .attr("count", 1)
                        .attr("key", key)
                        .attr("title", key)
                }));
            Reply::doc(req, 200, &el)
        }
        ["library", "sections"] => {
            let directories = server.sections.iter().map(|section| {
                El::new("Directory")
                    .flag("allowSync", true)
                    .attr("art", format!("/:/resources/{}-fanart.jpg", section.kind))
                    .attr(
                        "composite",
                        format!("/library/sections/{}/composite/1700000000", section.key),
                    )
                    .flag("filters", true)
                    .flag("refreshing", false)
                    .attr("thumb", format!("/:/resources/{}.png", section.kind))
                    .attr("key", &section.key)
                    .attr("type", &section.kind)
                    .attr("title", &section.title)
                    .attr("agent", "tv.plex.agents.none")
                    .attr("scanner", "Plex Scanner")
                    .attr("language", "en-US")
                    .attr(
                        "uuid",
                        format!("00000000-0000-4000-8000-{:012}", section.id),
                    )
                    .attr("updatedAt", 1_700_000_000)
                    .attr("createdAt", 1_690_000_000)
                    .attr("scannedAt", 1_700_000_000)
                    .flag("content", true)
                    .flag("directory", true)
                    .attr("hidden", 0)
                    .child(
                        El::new("Location")
                            .attr("id", &section.key)
                            .attr("path", format!("/data/{}", section.title)),
                    )
            });
            let el = El::new("MediaContainer")
                .attr("size", server.sections.len())
                .flag("allowSync", false)
                .attr("title1", "Plex Library")
                .children(directories);
            Reply::doc(req, 200, &el)
        }
        _ => Reply::error(req, Side::Pms, 404, "Not Found"),
    }
}

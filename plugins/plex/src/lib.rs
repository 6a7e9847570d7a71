//! `plex`: the bundled Plex connector. User management on Plex is sharing: the connector shares the
//! owner's Plex Media Server with invitees' existing plex.tv accounts, linked through "Sign in with
//! Plex" (a PIN), and accepts the share on the invitee's behalf so nothing stays pending.
//!
//! Three destinations, each with its own credentials (`docs/connectors/plex.md` has the requests
//! per operation):
//! - the PMS (the server's base URL): the owner's token, injected by the daemon as `X-Plex-Token`;
//! - `plex-tv` (`https://plex.tv`): sharing and users, the owner's token injected by the daemon;
//! - `clients-plex-tv` (`https://clients.plex.tv`): the PIN and the invitee-side calls; the daemon
//!   injects nothing, and the connector sends the invitee's token itself.
//!
//! The connector never sees the owner's token and never logs the invitee's.

mod http;
mod link;
mod model;
mod pms;
mod settings;
mod sharing;
mod time;

use zondarr_plugin_sdk::prelude::*;

use crate::http::{CLIENTS, PLEX_TV};
use crate::settings::{
    ALLOW_CAMERA_UPLOAD, ALLOW_CHANNELS, ALLOW_SYNC, FILTER_MOVIES, FILTER_MUSIC, FILTER_TELEVISION,
};

/// The Plex connector.
pub struct Plex;

zondarr_plugin_sdk::export!(Plex);

const FILTER_HELP: &str = "Content filter for new shares, e.g. contentRating=G%2CPG|label=kids \
     (fields contentRating, label, contentRating!, label!). Empty: no filter.";

impl Connector for Plex {
    fn describe() -> Manifest {
        Manifest::new(
            "plex",
            "Plex",
            env!("CARGO_PKG_VERSION"),
            "Shares your Plex Media Server with invitees' plex.tv accounts (Sign in with Plex).",
        )
        .with_capabilities([
            Capability::ListUsers,
            Capability::CreateUser,
            Capability::DeleteUser,
            Capability::LibraryAccess,
            Capability::Permissions,
            Capability::OauthLink,
            Capability::FindUser,
        ])
        .with_join_flow(JoinFlow::OauthLink)
        .with_config(
            ConfigField::secret("token", "Plex token")
                .required()
                .with_help("The X-Plex-Token of the plex.tv account that owns this server."),
        )
        .with_config(ConfigField::text(FILTER_MOVIES, "Movie filter").with_help(FILTER_HELP))
        .with_config(ConfigField::text(FILTER_TELEVISION, "TV filter").with_help(FILTER_HELP))
        .with_config(ConfigField::text(FILTER_MUSIC, "Music filter").with_help(FILTER_HELP))
        .with_auth(AuthScheme::header("X-Plex-Token", "{token}"))
        .with_extra_host(
            ExtraHost::new(
                PLEX_TV,
                "https://plex.tv",
                "Sharing this server with plex.tv accounts, listing and removing them (with the owner's token).",
            )
            .with_credentials(),
        )
        .with_extra_host(ExtraHost::new(
            CLIENTS,
            "https://clients.plex.tv",
            "Sign in with Plex for invitees, and accepting the share with the invitee's own token (never the owner's).",
        ))
        .with_permission(
            PermissionDef::flag(ALLOW_SYNC, "Downloads", false)
                .with_description("Download (sync) media to devices for offline playback."),
        )
        .with_permission(
            PermissionDef::flag(ALLOW_CAMERA_UPLOAD, "Camera upload", false)
                .with_description("Upload photos from phones to this server."),
        )
        .with_permission(
            PermissionDef::flag(ALLOW_CHANNELS, "Live TV and channels", false)
                .with_description("Watch live TV (DVR tuners) and channels of this server."),
        )
        .with_permission(
            PermissionDef::text(FILTER_MOVIES, "Movie filter")
                .with_description("Limit the movies this account sees (empty: the server's default filter). See the filter help of the server settings."),
        )
        .with_permission(
            PermissionDef::text(FILTER_TELEVISION, "TV filter")
                .with_description("Limit the TV shows this account sees (empty: the server's default filter)."),
        )
        .with_permission(
            PermissionDef::text(FILTER_MUSIC, "Music filter")
                .with_description("Limit the music this account hears (empty: the server's default filter)."),
        )
        .with_apps_url("https://www.plex.tv/apps-devices/")
        .with_web_url("https://app.plex.tv/")
        .with_color("#e5a00d")
    }

    fn test_connection(server: &Server<'_>) -> Result<ServerInfo> {
        pms::test_connection(server)
    }

    fn list_libraries(server: &Server<'_>) -> Result<Vec<Library>> {
        pms::list_libraries(server)
    }

    fn list_users(server: &Server<'_>) -> Result<Vec<RemoteUser>> {
        sharing::list_users(server)
    }

    fn find_user(server: &Server<'_>, user: &NewUser) -> Result<Option<RemoteUser>> {
        sharing::find_user(server, user)
    }

    fn create_user(server: &Server<'_>, user: NewUser) -> Result<CreatedUser> {
        sharing::create_user(server, user)
    }

    fn delete_user(server: &Server<'_>, user_id: &str, options: DeleteOptions) -> Result<()> {
        sharing::delete_user(server, user_id, options)
    }

    fn set_enabled(server: &Server<'_>, user_id: &str, enabled: bool) -> Result<()> {
        let _ = (server, user_id, enabled);
        Err(Error::Unsupported(
            "Plex has no disabled accounts: remove the user's access instead".into(),
        ))
    }

    fn set_library_access(server: &Server<'_>, user_id: &str, access: LibraryAccess) -> Result<()> {
        sharing::set_library_access(server, user_id, &access)
    }

    fn set_permissions(
        server: &Server<'_>,
        user_id: &str,
        permissions: Vec<PermissionValue>,
    ) -> Result<()> {
        sharing::set_permissions(server, user_id, &permissions)
    }

    fn set_password(server: &Server<'_>, user_id: &str, password: &str) -> Result<()> {
        let _ = (server, user_id, password);
        Err(Error::Unsupported(
            "Plex accounts belong to plex.tv: their passwords are changed there".into(),
        ))
    }

    fn start_link(server: &Server<'_>) -> Result<LinkStart> {
        link::start_link(server)
    }

    fn poll_link(server: &Server<'_>, pin_id: &str) -> Result<LinkStatus> {
        link::poll_link(server, pin_id)
    }
}

#[cfg(test)]
mod tests;

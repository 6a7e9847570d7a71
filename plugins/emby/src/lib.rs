//! The Emby connector, bundled with Zondarr and written with the plugin SDK's building blocks
//! only. It manages local Emby accounts through Emby's REST API with an API key the daemon sends
//! as `X-Emby-Token`; `docs/connectors/emby.md` lists the requests of every operation.

use serde::Deserialize;
use zondarr_plugin_sdk::prelude::*;
use zondarr_plugin_sdk::rest::{
    TakenExt, collect_pages, ensure_applied, permission_fields, undo_on_error,
};
use zondarr_plugin_sdk::serde_json::{Value as Json, json};
use zondarr_plugin_sdk::{install_id, percent_encode};

/// The connector.
pub struct Emby;

zondarr_plugin_sdk::export!(Emby);

/// Permission key, label, `UserPolicy` field, default (Emby's own default for a new account).
const FLAGS: &[(&str, &str, &str, bool)] = &[
    (
        "allow_downloads",
        "Downloads",
        "EnableContentDownloading",
        true,
    ),
    (
        "allow_media_playback",
        "Media playback",
        "EnableMediaPlayback",
        true,
    ),
    (
        "allow_audio_transcoding",
        "Audio transcoding",
        "EnableAudioPlaybackTranscoding",
        true,
    ),
    (
        "allow_video_transcoding",
        "Video transcoding",
        "EnableVideoPlaybackTranscoding",
        true,
    ),
    ("allow_remuxing", "Remuxing", "EnablePlaybackRemuxing", true),
    ("allow_live_tv", "Live TV", "EnableLiveTvAccess", true),
    (
        "allow_remote_access",
        "Remote access",
        "EnableRemoteAccess",
        true,
    ),
    (
        "allow_subtitle_downloads",
        "Subtitle downloads",
        "EnableSubtitleDownloading",
        true,
    ),
    (
        "allow_camera_upload",
        "Camera upload",
        "AllowCameraUpload",
        true,
    ),
    (
        "allow_content_deletion",
        "Content deletion",
        "EnableContentDeletion",
        false,
    ),
];
const STREAMS: (&str, &str) = ("simultaneous_streams", "SimultaneousStreamLimit");
/// Users per `GET /Users/Query` page.
const PAGE: usize = 500;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Info {
    server_name: Option<String>,
    version: Option<String>,
    id: Option<String>,
    product_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Folder {
    name: String,
    collection_type: Option<String>,
    item_id: Option<String>,
    id: Option<String>,
    guid: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct User {
    id: String,
    name: String,
    #[serde(default)]
    policy: Json,
    last_activity_date: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UserPage {
    items: Vec<User>,
    total_record_count: Option<usize>,
}

/// Emby's answer to a sign-in (`AuthenticationResult`).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SignedIn {
    user: User,
    access_token: Option<String>,
}

/// The `X-Emby-Authorization` a client signs in with (Emby wants to know the client and device);
/// with `token`, the header of that session.
fn client_header(token: Option<&str>) -> String {
    let mut header = format!(
        "Emby Client=\"Zondarr\", Device=\"Zondarr\", DeviceId=\"{}\", Version=\"{}\"",
        percent_encode(&install_id()),
        env!("CARGO_PKG_VERSION"),
    );
    if let Some(token) = token {
        header.push_str(&format!(", Token=\"{}\"", percent_encode(token)));
    }
    header
}

impl User {
    fn flag(&self, field: &str) -> bool {
        self.policy[field].as_bool().unwrap_or(false)
    }
}

impl From<User> for RemoteUser {
    fn from(user: User) -> Self {
        let admin = user.flag("IsAdministrator");
        let remote = RemoteUser::new(&user.id, &user.name)
            .with_kind(if admin { "admin" } else { "local" })
            .with_disabled(user.flag("IsDisabled"))
            .with_admin(admin);
        match user.last_activity_date {
            Some(at) => remote.with_last_activity(at),
            None => remote,
        }
    }
}

fn user_path(id: &str) -> String {
    format!("/Users/{}", percent_encode(id))
}

/// The policy fields an invitation's libraries and permissions set.
fn policy_changes(libraries: Option<&LibraryAccess>, permissions: &[PermissionValue]) -> Json {
    let mapping: Vec<(&str, &str)> = FLAGS
        .iter()
        .map(|(key, _, field, _)| (*key, *field))
        .chain([STREAMS])
        .collect();
    let mut changes = permission_fields(permissions, &mapping);
    if let Some(access) = libraries {
        let folders = access.only_ids().unwrap_or_default();
        changes.insert(
            "EnableAllFolders".into(),
            json!(access.only_ids().is_none()),
        );
        changes.insert("EnabledFolders".into(), json!(folders));
    }
    Json::Object(changes)
}

/// Read-modify-write of the whole policy (Emby replaces it): the user's policy is read, the
/// changes are merged, everything else is written back as Emby sent it. Administrators are
/// never changed.
fn update_policy(server: &Server<'_>, id: &str, changes: &Json) -> Result<()> {
    let path = user_path(id);
    let write = Request::post(format!("{path}/Policy"));
    server.update_json(&path, "/Policy", write, |policy| {
        if policy["IsAdministrator"].as_bool() == Some(true) {
            return Err(Error::InvalidInput(
                "this account administers the Emby server; Zondarr does not change administrators"
                    .into(),
            ));
        }
        for (field, value) in changes.as_object().into_iter().flatten() {
            policy[field] = value.clone();
        }
        Ok(())
    })?;
    Ok(())
}

fn all_users(server: &Server<'_>) -> Result<Vec<User>> {
    collect_pages(100, |offset| {
        let request = Request::get("/Users/Query")
            .query("StartIndex", &offset.to_string())
            .query("Limit", &PAGE.to_string());
        let page: UserPage = server.send_json(request)?;
        Ok((page.items, page.total_record_count))
    })
}

fn find(server: &Server<'_>, name: &str) -> Result<Option<User>> {
    let wanted = name.to_lowercase();
    Ok(all_users(server)?
        .into_iter()
        .find(|user| user.name.to_lowercase() == wanted))
}

impl Connector for Emby {
    fn describe() -> Manifest {
        let manifest = Manifest::new(
            "emby",
            "Emby",
            env!("CARGO_PKG_VERSION"),
            "Creates and manages accounts on Emby servers (4.8): libraries, permissions, \
             passwords, and admin sign-in.",
        )
        .with_capabilities([
            Capability::ListUsers,
            Capability::FindUser,
            Capability::CreateUser,
            Capability::DeleteUser,
            Capability::SetEnabled,
            Capability::LibraryAccess,
            Capability::Permissions,
            Capability::SetPassword,
            Capability::Authenticate,
        ])
        .with_config(
            ConfigField::secret("api_key", "API key")
                .required()
                .with_help(
                    "Create one in Emby under Settings → Advanced → API Keys. Zondarr sends it \
                     as the X-Emby-Token header.",
                ),
        )
        .with_auth(AuthScheme::header("X-Emby-Token", "{api_key}"))
        .with_member_address_field(
            "member_url",
            "Address for members",
            "The address your members open to reach Emby, e.g. https://emby.example.com. It is shown to \
             invitees when their account is ready; leave it empty when the URL above is not \
             meant for them.",
        )
        .with_apps_url("https://emby.media/download.html")
        .with_color("#52b54b");
        FLAGS
            .iter()
            .map(|(key, label, field, default)| {
                PermissionDef::flag(*key, *label, *default)
                    .with_description(format!("Emby policy setting {field}."))
            })
            .chain([PermissionDef::number(STREAMS.0, "Simultaneous streams", 0)
                .with_description("Emby's SimultaneousStreamLimit; 0 means no limit.")])
            .fold(manifest, Manifest::with_permission)
    }

    fn test_connection(server: &Server<'_>) -> Result<ServerInfo> {
        let info: Info = server.get_json("/System/Info")?;
        if let Some(product) = info.product_name {
            // Jellyfin (a fork of Emby) names itself; Emby sends no ProductName.
            return Err(Error::InvalidInput(format!(
                "the server at this URL is `{}`, not Emby",
                product.escape_debug()
            )));
        }
        let mut result = ServerInfo::new(info.server_name.unwrap_or_else(|| "Emby".into()), "Emby");
        if let Some(version) = info.version {
            result = result.with_version(version);
        }
        if let Some(id) = info.id {
            result = result.with_server_id(id);
        }
        Ok(result)
    }

    fn list_libraries(server: &Server<'_>) -> Result<Vec<Library>> {
        let folders: Vec<Folder> = server.get_list("/Library/VirtualFolders/Query")?;
        Ok(folders
            .into_iter()
            .filter_map(|folder| {
                // `EnabledFolders` takes the Guid where Emby gives one.
                let id = folder.guid.or(folder.item_id).or(folder.id)?;
                let kind = folder.collection_type.unwrap_or_else(|| "mixed".into());
                Some(Library::new(id, folder.name, kind))
            })
            .collect())
    }

    fn list_users(server: &Server<'_>) -> Result<Vec<RemoteUser>> {
        Ok(all_users(server)?
            .into_iter()
            .map(RemoteUser::from)
            .collect())
    }

    fn find_user(server: &Server<'_>, user: &NewUser) -> Result<Option<RemoteUser>> {
        Ok(find(server, &user.username)?.map(RemoteUser::from))
    }

    fn create_user(server: &Server<'_>, user: NewUser) -> Result<CreatedUser> {
        let password = user
            .password
            .as_deref()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::InvalidInput("an Emby account needs a password".into()))?;
        let changes = policy_changes(Some(&user.libraries), &user.permissions);
        let created: User = server
            .post_json("/Users/New", &json!({ "Name": user.username }))
            .or_taken(&["already exists"])?;
        let id = created.id.clone();
        let path = user_path(&id);
        let rest = server
            .post_json_discard(
                &format!("{path}/Password"),
                &json!({ "Id": id, "NewPw": password, "ResetPassword": false }),
            )
            .and_then(|()| update_policy(server, &id, &changes))
            .and_then(|()| server.get_json::<User>(&path))
            .and_then(|stored| {
                ensure_applied("the new Emby account", &changes, &stored.policy)?;
                Ok(stored)
            });
        let stored = undo_on_error(rest, "the new Emby account", || server.delete(&path))?;
        Ok(CreatedUser::created(RemoteUser::from(stored)))
    }

    fn delete_user(server: &Server<'_>, user_id: &str, _options: DeleteOptions) -> Result<()> {
        let path = user_path(user_id);
        let user: User = match server.get_json(&path) {
            Ok(user) => user,
            Err(Error::NotFound(_)) => return Ok(()),
            Err(other) => return Err(other),
        };
        if user.flag("IsAdministrator") {
            return Err(Error::InvalidInput(
                "this account administers the Emby server; Zondarr does not delete administrators"
                    .into(),
            ));
        }
        match server.delete(&path) {
            Err(Error::NotFound(_)) => Ok(()),
            other => other,
        }
    }

    fn set_enabled(server: &Server<'_>, user_id: &str, enabled: bool) -> Result<()> {
        update_policy(server, user_id, &json!({ "IsDisabled": !enabled }))
    }

    fn set_library_access(server: &Server<'_>, user_id: &str, access: LibraryAccess) -> Result<()> {
        update_policy(server, user_id, &policy_changes(Some(&access), &[]))
    }

    fn set_permissions(
        server: &Server<'_>,
        user_id: &str,
        permissions: Vec<PermissionValue>,
    ) -> Result<()> {
        update_policy(server, user_id, &policy_changes(None, &permissions))
    }

    fn set_password(server: &Server<'_>, user_id: &str, password: &str) -> Result<()> {
        if password.is_empty() {
            return Err(Error::InvalidInput(
                "the new password must not be empty".into(),
            ));
        }
        let body = json!({ "Id": user_id, "NewPw": password, "ResetPassword": false });
        server.post_json_discard(&format!("{}/Password", user_path(user_id)), &body)
    }

    fn authenticate(server: &Server<'_>, username: &str, password: &str) -> Result<Authenticated> {
        if username.trim().is_empty() {
            return Err(Error::Unauthorized);
        }
        // As the user, not with the API key: sent without the server's credentials.
        let request = Request::post("/Users/AuthenticateByName")
            .header("X-Emby-Authorization", client_header(None))
            .json(&json!({ "Username": username, "Pw": password }))?;
        let signed_in: SignedIn = server.send_json_without_credentials(request)?;
        // End the session the check opened, so checks do not pile up as devices in Emby.
        if let Some(token) = signed_in.access_token.filter(|t| !t.is_empty()) {
            let logout = Request::post("/Sessions/Logout")
                .header("X-Emby-Authorization", client_header(Some(&token)));
            server.end_session(logout);
        }
        let user = signed_in.user;
        let admin = user.flag("IsAdministrator");
        Ok(Authenticated::new(user.id, user.name, admin))
    }
}

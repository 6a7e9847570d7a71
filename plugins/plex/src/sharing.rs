//! Who has access to this server, and sharing it: plex.tv's v1 sharing API with the owner's token
//! (`/api/users`, `/api/servers/{machineId}/shared_servers`, `/api/v2/sharings`), and the
//! invitee-side acceptance on clients.plex.tv with the invitee's own token.
//!
//! A user id is the plex.tv account id (`User@id`, `SharedServer@userID`). For a share made by
//! e-mail or username before plex.tv resolved the account, the e-mail or username is accepted as
//! the id too.

use serde_json::json;
use zondarr_plugin_sdk::prelude::*;
use zondarr_plugin_sdk::{info, warn};

use crate::http::{Dest, decode_xml, get_xml, json, segment, send};
use crate::model::{ReceivedInvite, SharedServer, SharedServers, Users, non_empty};
use crate::pms::{global_sections, machine, section_ids};
use crate::settings::Patch;
use crate::time::rfc3339;

/// Kind of a user who is a member of the owner's Plex Home.
pub const KIND_HOME: &str = "home";
/// Kind of a user who accepted the share of this server.
pub const KIND_FRIEND: &str = "friend";
/// Kind of a user the server is shared with whose acceptance is still pending.
pub const KIND_SHARED: &str = "shared";
/// Kind of the plex.tv account that owns the server (listed as its administrator).
pub const KIND_OWNER: &str = "owner";

/// The users this server is shared with: plex.tv's friends and home users filtered on this
/// server's machine identifier.
pub fn list_users(server: &Server<'_>) -> Result<Vec<RemoteUser>> {
    let machine_id = machine(server)?.machine_identifier;
    let users: Users = get_xml(server, Dest::Owner, "/api/users", "the plex.tv users")?;
    let listed = users
        .users
        .into_iter()
        .filter_map(|user| {
            let share = user
                .servers
                .iter()
                .find(|s| s.machine_identifier == machine_id)?;
            let kind = if user.is_home() {
                KIND_HOME
            } else if share.is_pending() {
                KIND_SHARED
            } else {
                KIND_FRIEND
            };
            let seen = share
                .last_seen_at
                .as_deref()
                .and_then(|at| at.trim().parse::<i64>().ok())
                .and_then(rfc3339);
            let remote = RemoteUser::new(user.id.clone(), user.display_name())
                .with_email(user.email.clone())
                .with_kind(kind);
            Some(match seen {
                Some(at) => remote.with_last_activity(at),
                None => remote,
            })
        })
        .collect::<Vec<_>>();
    // The owner administers the server: listed like Jellyfin lists its administrators, which is
    // also how the daemon recognises the owner for "sign in with Plex" admin access.
    let request = Request::get("/api/v2/user").header("Accept", "application/json");
    let owner: crate::model::Account =
        json(server, Dest::Owner, request, "the owner's plex.tv account")?;
    let name = non_empty(owner.username.as_deref())
        .or_else(|| non_empty(owner.title.as_deref()))
        .unwrap_or("owner")
        .to_owned();
    let mut listed = listed;
    listed.insert(
        0,
        RemoteUser::new(owner.id, name)
            .with_email(owner.email.filter(|e| !e.trim().is_empty()))
            .with_kind(KIND_OWNER)
            .with_admin(true),
    );
    Ok(listed)
}

/// Who a new share is for.
enum Invitee {
    /// A plex.tv account id, from the linked account.
    Id(u64),
    /// An e-mail address or username, when no account was linked.
    Name(String),
}

/// Shares this server with the invitee (or updates the share they already have), with exactly the
/// chosen libraries and settings, then accepts it with the invitee's token when the account was
/// linked, so nothing stays pending. Calling it again for the same account converges to the same
/// state, so a retry after any failure is safe.
/// The share of this server that the invitee already has, if any: what `create_user` would adopt.
pub fn find_user(server: &Server<'_>, user: &NewUser) -> Result<Option<RemoteUser>> {
    let (invitee, names) = invitee(user)?;
    let machine_id = machine(server)?.machine_identifier;
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let Some(share) = find_share(server, &machine_id, &name_refs)? else {
        return Ok(None);
    };
    let id = match (&invitee, share.account_id()) {
        (Invitee::Id(id), _) => id.to_string(),
        (Invitee::Name(_), Some(id)) => id.to_owned(),
        (Invitee::Name(name), None) => name.clone(),
    };
    let username = non_empty(share.username.as_deref())
        .map(str::to_owned)
        .unwrap_or_else(|| user.username.clone());
    Ok(Some(
        RemoteUser::new(id, username)
            .with_email(share.email.clone())
            .with_kind(if share.is_accepted() {
                KIND_FRIEND
            } else {
                KIND_SHARED
            }),
    ))
}

pub fn create_user(server: &Server<'_>, user: NewUser) -> Result<CreatedUser> {
    let (invitee, names) = invitee(&user)?;
    let settings = Patch::from_values(&user.permissions)?.complete(server)?;
    let machine_id = machine(server)?.machine_identifier;
    let ids = section_ids(&user.libraries, &global_sections(server, &machine_id)?)?;
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();

    let mut updated = true;
    let share = match find_share(server, &machine_id, &name_refs)? {
        Some(existing) => {
            update_existing(server, &machine_id, &existing, &ids, &settings)?;
            existing
        }
        None => match create_share(server, &machine_id, &invitee, &ids, &settings) {
            Ok(created) => {
                updated = false;
                created
            }
            // Shared in the meantime (or plex.tv matched the account another way): update it.
            Err(Error::InvalidInput(message))
                if message.to_ascii_lowercase().contains("already sharing") =>
            {
                let existing = find_share(server, &machine_id, &name_refs)?
                    .ok_or(Error::InvalidInput(message))?;
                update_existing(server, &machine_id, &existing, &ids, &settings)?;
                existing
            }
            Err(err) => return Err(err),
        },
    };

    let mut accepted = share.is_accepted();
    if !accepted && let Some(token) = linked_token(&user) {
        accepted = accept(server, token, &share.id)?;
        if !accepted {
            warn!(
                "plex.tv shows the invitee no pending invite for share {}; it stays pending",
                share.id
            );
        }
    }
    info!(
        "{} plex.tv account {} ({}, {})",
        if updated {
            "updated the share of this server with"
        } else {
            "shared this server with"
        },
        share.account_id().unwrap_or("not yet resolved"),
        libraries(ids.len()),
        if accepted { "accepted" } else { "pending" }
    );

    let id = match (&invitee, share.account_id()) {
        (Invitee::Id(id), _) => id.to_string(),
        (Invitee::Name(_), Some(id)) => id.to_owned(),
        (Invitee::Name(name), None) => name.clone(),
    };
    let linked = user.linked_account.as_ref();
    let username = linked
        .map(|account| account.username.clone())
        .or_else(|| non_empty(share.username.as_deref()).map(str::to_owned))
        .unwrap_or_else(|| user.username.clone());
    let email = linked
        .and_then(|account| account.email.clone())
        .or_else(|| user.email.clone())
        .or_else(|| share.email.clone());
    let account = RemoteUser::new(id, username)
        .with_email(email)
        .with_kind(if accepted { KIND_FRIEND } else { KIND_SHARED });
    // A share that existed before this call is adopted: a rollback must never end it.
    Ok(if updated {
        CreatedUser::adopted(account)
    } else {
        CreatedUser::created(account)
    })
}

fn invitee(user: &NewUser) -> Result<(Invitee, Vec<String>)> {
    if let Some(account) = &user.linked_account {
        let id = account.id.trim().parse::<u64>().map_err(|_| {
            Error::InvalidInput("the linked Plex account has no numeric plex.tv id".into())
        })?;
        let mut names = vec![id.to_string(), account.username.clone()];
        names.extend(account.email.clone());
        return Ok((Invitee::Id(id), names));
    }
    let name = non_empty(user.email.as_deref())
        .or_else(|| non_empty(Some(&user.username)))
        .ok_or_else(|| {
            Error::InvalidInput(
                "a Plex share needs a linked account, an e-mail address or a username".into(),
            )
        })?
        .trim()
        .to_owned();
    Ok((Invitee::Name(name.clone()), vec![name]))
}

fn linked_token(user: &NewUser) -> Option<&str> {
    user.linked_account
        .as_ref()
        .map(|account| account.token.as_str())
        .filter(|token| !token.trim().is_empty())
}

fn shares_path(machine_id: &str) -> Result<String> {
    Ok(format!(
        "/api/servers/{}/shared_servers",
        segment(machine_id, "the machine identifier")?
    ))
}

/// The share of this server that belongs to the account known by any of `names`.
fn find_share(
    server: &Server<'_>,
    machine_id: &str,
    names: &[&str],
) -> Result<Option<SharedServer>> {
    let shares: SharedServers = get_xml(
        server,
        Dest::Owner,
        &shares_path(machine_id)?,
        "the shares of this server",
    )?;
    Ok(shares
        .shared
        .into_iter()
        .find(|share| share.belongs_to(names)))
}

fn share_for_user(server: &Server<'_>, machine_id: &str, user_id: &str) -> Result<SharedServer> {
    find_share(server, machine_id, &[user_id.trim()])?.ok_or_else(|| {
        Error::NotFound(format!(
            "a share of this server with plex.tv user {user_id}"
        ))
    })
}

/// `POST /api/servers/{machineId}/shared_servers` with libraries and settings in one request.
fn create_share(
    server: &Server<'_>,
    machine_id: &str,
    invitee: &Invitee,
    ids: &[u64],
    settings: &Patch,
) -> Result<SharedServer> {
    let shared_server = match invitee {
        Invitee::Id(id) => json!({"library_section_ids": ids, "invited_id": id}),
        Invitee::Name(name) => json!({"library_section_ids": ids, "invited_email": name}),
    };
    let body = json!({
        "server_id": machine_id,
        "shared_server": shared_server,
        "sharing_settings": settings.sharing_settings(),
    });
    let request = Request::post(shares_path(machine_id)?)
        .header("Accept", "application/xml")
        .json(&body)?;
    let response = send(server, Dest::Owner, request, "the new share")?;
    let created: SharedServers = decode_xml(&response, "the new share")?;
    created
        .shared
        .into_iter()
        .next()
        .ok_or_else(|| Error::InvalidResponse("plex.tv did not return the new share".into()))
}

fn update_existing(
    server: &Server<'_>,
    machine_id: &str,
    share: &SharedServer,
    ids: &[u64],
    settings: &Patch,
) -> Result<()> {
    put_libraries(server, machine_id, &share.id, ids)?;
    let account = share.account_id().ok_or_else(|| {
        Error::InvalidResponse("plex.tv lists the existing share without its user id".into())
    })?;
    put_settings(server, account, settings)
}

/// `PUT /api/servers/{machineId}/shared_servers/{id}`: replaces the shared libraries.
fn put_libraries(server: &Server<'_>, machine_id: &str, share_id: &str, ids: &[u64]) -> Result<()> {
    let path = format!(
        "{}/{}",
        shares_path(machine_id)?,
        segment(share_id, "the share id")?
    );
    let body = json!({"server_id": machine_id, "shared_server": {"library_section_ids": ids}});
    let request = Request::put(path)
        .header("Accept", "application/xml")
        .json(&body)?;
    send(server, Dest::Owner, request, "the share").map(drop)
}

/// `PUT /api/v2/sharings/{userId}?allowSync=…`: changes only the settings in `patch`.
fn put_settings(server: &Server<'_>, account_id: &str, patch: &Patch) -> Result<()> {
    if patch.is_empty() {
        return Ok(());
    }
    let mut request = Request::put(format!(
        "/api/v2/sharings/{}",
        segment(account_id, "the user id")?
    ));
    for (name, value) in patch.pairs() {
        request = request.query(name, value);
    }
    send(
        server,
        Dest::Owner,
        request.header("Accept", "application/json"),
        "the share settings",
    )
    .map(drop)
}

/// Accepts the pending share `share_id` as the invitee. Only that share is accepted, never the
/// first or every invite the invitee has. `false` when the invitee has no such pending invite.
fn accept(server: &Server<'_>, token: &str, share_id: &str) -> Result<bool> {
    let invites: Vec<ReceivedInvite> = json(
        server,
        Dest::Clients,
        Request::get("/api/v2/shared_servers/invites/received/pending")
            .header("X-Plex-Token", token),
        "the invitee's pending invites",
    )?;
    let pending = invites
        .iter()
        .flat_map(|invite| &invite.shared_servers)
        .any(|share| share.id == share_id);
    if !pending {
        return Ok(false);
    }
    let path = format!(
        "/api/v2/shared_servers/{}/accept",
        segment(share_id, "the share id")?
    );
    let request = Request::post(path)
        .header("X-Plex-Token", token)
        .header("Accept", "application/json");
    send(server, Dest::Clients, request, "the invite").map(|_| true)
}

/// Replaces the libraries of an existing share.
pub fn set_library_access(
    server: &Server<'_>,
    user_id: &str,
    access: &LibraryAccess,
) -> Result<()> {
    let machine_id = machine(server)?.machine_identifier;
    let ids = section_ids(access, &global_sections(server, &machine_id)?)?;
    let share = share_for_user(server, &machine_id, user_id)?;
    put_libraries(server, &machine_id, &share.id, &ids)?;
    info!(
        "plex.tv share {} now has {}",
        share.id,
        libraries(ids.len())
    );
    Ok(())
}

/// Applies permission values to an existing share; keys not listed keep their value.
pub fn set_permissions(
    server: &Server<'_>,
    user_id: &str,
    values: &[PermissionValue],
) -> Result<()> {
    let patch = Patch::from_values(values)?;
    let machine_id = machine(server)?.machine_identifier;
    let share = share_for_user(server, &machine_id, user_id)?;
    let account = share.account_id().unwrap_or(user_id);
    put_settings(server, account, &patch)?;
    info!(
        "updated {} settings of plex.tv share {}",
        patch.pairs().len(),
        share.id
    );
    Ok(())
}

/// Removes the share of this server; with `remove_account`, also the friend or home-user
/// relationship. `NotFound` when there was nothing to remove.
pub fn delete_user(server: &Server<'_>, user_id: &str, options: DeleteOptions) -> Result<()> {
    let machine_id = machine(server)?.machine_identifier;
    let share = find_share(server, &machine_id, &[user_id.trim()])?;
    if let Some(share) = &share {
        let path = format!(
            "{}/{}",
            shares_path(&machine_id)?,
            segment(&share.id, "the share id")?
        );
        send(server, Dest::Owner, Request::delete(path), "the share").map(drop)?;
        info!("removed plex.tv share {}", share.id);
    }
    let account = share
        .as_ref()
        .and_then(|share| share.account_id().map(str::to_owned))
        .unwrap_or_else(|| user_id.trim().to_owned());
    let removed_account = options.remove_account && remove_account(server, &account)?;
    if share.is_none() && !removed_account {
        return Err(Error::NotFound(format!(
            "plex.tv user {user_id} on this server"
        )));
    }
    Ok(())
}

/// Ends the friendship or the Plex Home membership. `false` when the account is neither.
fn remove_account(server: &Server<'_>, account_id: &str) -> Result<bool> {
    let users: Users = get_xml(server, Dest::Owner, "/api/users", "the plex.tv users")?;
    let Some(user) = users.users.iter().find(|user| user.id == account_id) else {
        return Ok(false);
    };
    let id = segment(&user.id, "the user id")?;
    let (path, relation) = if user.is_home() {
        (format!("/api/home/users/{id}"), "Plex Home member")
    } else {
        (format!("/api/v2/friends/{id}"), "friend")
    };
    let response = send(
        server,
        Dest::Owner,
        Request::delete(path),
        "the plex.tv user",
    );
    match response {
        Ok(_) => {}
        // Gone between the listing and the removal: what the admin asked for is done.
        Err(Error::NotFound(_)) => return Ok(true),
        Err(err) => return Err(err),
    }
    info!("removed plex.tv {relation} {}", user.id);
    Ok(true)
}

fn libraries(count: usize) -> String {
    format!(
        "{count} {}",
        if count == 1 { "library" } else { "libraries" }
    )
}

//! The fake plex.tv (and clients.plex.tv): sign-in PINs and accounts (`/api/v2/pins`,
//! `/api/v2/user`), the owner's users and servers (`/api/users`, `/api/servers/{machineId}`),
//! sharing (`/api/servers/{machineId}/shared_servers`, `/api/v2/sharings`), removing friends and
//! Home members, and the invitee's side of an invite
//! (`/api/v2/shared_servers/invites/received/pending`, `…/{id}/accept`).

use axum::http::Method;
use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};

use super::doc::El;
use super::state::{Account, PinRec, ShareRec, State, now};
use super::{Reply, Req, Side};

pub(crate) fn route(state: &mut State, req: &Req) -> Reply {
    let segments = req.segments();
    let method = req.method.clone();
    // PINs need a client identifier, not a token.
    match (&method, segments.as_slice()) {
        (&Method::POST, ["api", "v2", "pins"]) => return create_pin(state, req),
        (&Method::GET, ["api", "v2", "pins", id]) => return poll_pin(state, req, id),
        _ => {}
    }
    let Some(account) = req
        .token()
        .and_then(|token| state.account_by_token(token))
        .cloned()
    else {
        let message = if req.path.starts_with("/api/v2/") {
            "User could not be authenticated"
        } else {
            "Unauthorized"
        };
        return Reply::error(req, Side::PlexTv, 401, message);
    };
    match (&method, segments.as_slice()) {
        (&Method::GET, ["api", "v2", "user"]) => return user(req, &account),
        (
            &Method::GET,
            [
                "api",
                "v2",
                "shared_servers",
                "invites",
                "received",
                "pending",
            ],
        ) => {
            return received_invites(state, &account);
        }
        (&Method::POST, ["api", "v2", "shared_servers", id, "accept"]) => {
            return accept(state, req, &account, id);
        }
        _ => {}
    }
    if account.id != state.owner_id {
        return Reply::error(req, Side::PlexTv, 403, "Forbidden");
    }
    match (&method, segments.as_slice()) {
        (&Method::GET, ["api", "users"]) => users(state, req),
        (&Method::GET, ["api", "invites", "requested"]) => requested_invites(state, req),
        (&Method::GET, ["api", "servers", machine]) => server(state, req, machine),
        (&Method::GET, ["api", "servers", machine, "shared_servers"]) => {
            list_shares(state, req, machine, None)
        }
        (&Method::POST, ["api", "servers", machine, "shared_servers"]) => {
            create_share(state, req, machine)
        }
        (&Method::GET, ["api", "servers", machine, "shared_servers", id]) => match num_text(id) {
            Some(id) => list_shares(state, req, machine, Some(id)),
            None => not_found(req, "Shared server not found"),
        },
        (&Method::PUT, ["api", "servers", machine, "shared_servers", id]) => {
            update_share(state, req, machine, id)
        }
        (&Method::DELETE, ["api", "servers", machine, "shared_servers", id]) => {
            delete_share(state, req, machine, id)
        }
        (&Method::PUT, ["api", "v2", "sharings", user_id]) => update_settings(state, req, user_id),
        (&Method::DELETE, ["api", "v2", "sharings", user_id]) => {
            remove_relation(state, req, user_id, Relation::SharesOnly)
        }
        (&Method::DELETE, ["api", "v2", "friends", user_id]) => {
            remove_relation(state, req, user_id, Relation::Friend)
        }
        (&Method::DELETE, ["api", "home", "users", user_id]) => {
            remove_relation(state, req, user_id, Relation::Home)
        }
        _ => not_found(req, "Not Found"),
    }
}

fn not_found(req: &Req, message: &str) -> Reply {
    Reply::error(req, Side::PlexTv, 404, message)
}

fn bad_request(req: &Req, message: &str) -> Reply {
    Reply::error(req, Side::PlexTv, 400, message)
}

fn num_text(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// An id written as a JSON number or a numeric string.
fn num(value: &Json) -> Option<u64> {
    value.as_u64().or_else(|| value.as_str().and_then(num_text))
}

fn rfc3339(seconds: i64) -> String {
    DateTime::<Utc>::from_timestamp(seconds, 0)
        .map(|at| at.to_rfc3339())
        .unwrap_or_default()
}

fn wire_text(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        Json::Bool(flag) => if *flag { "1" } else { "0" }.to_owned(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

// --- PINs and accounts ------------------------------------------------------------------------

fn pin_json(state: &State, pin: &PinRec) -> Json {
    let token = pin
        .approved_by
        .and_then(|id| state.accounts.get(&id))
        .map(|a| a.token.clone());
    json!({
        "id": pin.id,
        "code": pin.code,
        "product": pin.product,
        "trusted": false,
        "qr": format!("https://plex.tv/api/v2/pins/qr/{}", pin.code),
        "clientIdentifier": pin.client_id,
        "location": {"code": "US", "european_union_member": false, "continent_code": "NA",
                     "country": "United States", "city": "Springfield", "time_zone": "America/Chicago",
                     "postal_code": "62701", "in_privacy_restricted_country": false,
                     "subdivisions": "Illinois", "coordinates": "39.8, -89.6"},
        "expiresIn": (pin.expires_at - now()).max(0),
        "createdAt": rfc3339(pin.created_at),
        "expiresAt": rfc3339(pin.expires_at),
        "authToken": token,
        "newRegistration": null,
    })
}

fn pin_reply(state: &State, req: &Req, status: u16, pin: &PinRec) -> Reply {
    let value = pin_json(state, pin);
    if req.wants_json() {
        return Reply::json(status, &value);
    }
    let mut el = El::new("pin");
    for key in [
        "id",
        "code",
        "product",
        "trusted",
        "qr",
        "clientIdentifier",
        "expiresIn",
        "createdAt",
        "expiresAt",
        "authToken",
    ] {
        el = el.attr(key, wire_text(&value[key]));
    }
    Reply::bytes(status, "text/xml;charset=utf-8", el.to_xml().into_bytes())
}

fn create_pin(state: &mut State, req: &Req) -> Reply {
    let Some(client_id) = req.plex("X-Plex-Client-Identifier").map(str::to_owned) else {
        return bad_request(req, "X-Plex-Client-Identifier is missing");
    };
    let product = req.plex("X-Plex-Product").unwrap_or("Plex Web").to_owned();
    let strong = req.query("strong") == Some("true")
        || String::from_utf8_lossy(&req.body).contains("strong=true");
    let pin = state.new_pin(&client_id, &product, strong);
    pin_reply(state, req, 201, &pin)
}

/// A PIN is only visible to the client identifier that created it, and forgotten once expired.
fn poll_pin(state: &State, req: &Req, id: &str) -> Reply {
    let pin = num_text(id)
        .and_then(|id| state.pins.get(&id))
        .filter(|pin| {
            pin.is_live(now())
                && req.plex("X-Plex-Client-Identifier") == Some(pin.client_id.as_str())
        });
    match pin {
        Some(pin) => pin_reply(state, req, 200, pin),
        None => not_found(req, "Code not found or expired"),
    }
}

fn user(req: &Req, account: &Account) -> Reply {
    let value = json!({
        "id": account.id,
        "uuid": account.uuid,
        "username": account.username,
        "title": account.username,
        "email": account.email,
        "friendlyName": account.username,
        "locale": null,
        "confirmed": true,
        "joinedAt": 1_600_000_000,
        "emailOnlyAuth": false,
        "hasPassword": true,
        "protected": false,
        "thumb": format!("https://plex.tv/users/{}/avatar", account.uuid),
        "authToken": account.token,
        "mailingListStatus": "unsubscribed",
        "mailingListActive": false,
        "scrobbleTypes": "",
        "country": "US",
        "subscription": {"active": false, "subscribedAt": null, "status": "Inactive", "paymentService": null, "plan": null, "features": []},
        "restricted": false,
        "anonymous": null,
        "home": false,
        "guest": false,
        "homeSize": 1,
        "homeAdmin": false,
        "maxHomeSize": 15,
        "roles": [],
        "entitlements": [],
    });
    if req.wants_json() {
        return Reply::json(200, &value);
    }
    let mut el = El::new("user");
    for key in [
        "id",
        "uuid",
        "username",
        "title",
        "email",
        "friendlyName",
        "thumb",
        "authToken",
        "country",
    ] {
        el = el.attr(key, wire_text(&value[key]));
    }
    Reply::bytes(200, "text/xml;charset=utf-8", el.to_xml().into_bytes())
}

// --- The owner's users and servers --------------------------------------------------------------

fn users(state: &State, req: &Req) -> Reply {
    let ids: Vec<u64> = state.friends.union(&state.home).copied().collect();
    let users = ids
        .into_iter()
        .filter_map(|id| state.accounts.get(&id))
        .map(|account| {
            let settings = state.settings_of(account.id);
            let servers = state
                .shares
                .iter()
                .filter(|s| s.user_id == account.id)
                .filter_map(|share| {
                    let (index, server) = state
                        .servers
                        .iter()
                        .enumerate()
                        .find(|(_, s)| s.machine_id == share.machine_id)?;
                    Some(
                        El::new("Server")
                            .attr("id", share.id)
                            .attr("serverId", 4_000_000 + index)
                            .attr("machineIdentifier", &share.machine_id)
                            .attr("name", &server.name)
                            .attr(
                                "lastSeenAt",
                                if share.accepted_at == 0 {
                                    share.invited_at
                                } else {
                                    share.accepted_at
                                },
                            )
                            .attr("numLibraries", share.section_ids.len())
                            .flag("allLibraries", share.all_libraries)
                            .flag("owned", true)
                            .flag("pending", share.accepted_at == 0),
                    )
                });
            El::new("User")
                .attr("id", account.id)
                .attr("title", &account.username)
                .attr("username", &account.username)
                .attr("email", &account.email)
                .attr("recommendationsPlaylistId", "")
                .attr(
                    "thumb",
                    format!("https://plex.tv/users/{}/avatar", account.uuid),
                )
                .flag("protected", false)
                .flag("home", state.home.contains(&account.id))
                .flag("allowTuners", false)
                .flag("allowSync", settings.allow_sync)
                .flag("allowCameraUpload", settings.allow_camera_upload)
                .flag("allowChannels", settings.allow_channels)
                .flag("allowSubtitleAdmin", false)
                .attr("filterAll", "")
                .attr("filterMovies", &settings.filter_movies)
                .attr("filterMusic", &settings.filter_music)
                .attr("filterPhotos", "")
                .attr("filterTelevision", &settings.filter_television)
                .flag("restricted", false)
                .children(servers)
        });
    let users: Vec<El> = users.collect();
    let el = El::new("MediaContainer")
        .attr("friendlyName", "myPlex")
        .attr("identifier", "com.plexapp.plugins.myplex")
        .attr("machineIdentifier", "")
        .attr("totalSize", users.len())
        .attr("size", users.len())
        .children(users);
    Reply::doc(req, 200, &el)
}

/// Invites the owner sent that are not accepted, for accounts that are not friends yet.
fn requested_invites(state: &State, req: &Req) -> Reply {
    let invites = state
        .shares
        .iter()
        .filter(|s| {
            s.accepted_at == 0
                && !state.friends.contains(&s.user_id)
                && !state.home.contains(&s.user_id)
        })
        .filter_map(|share| {
            let account = state.accounts.get(&share.user_id)?;
            let server = state.owned_server(&share.machine_id)?;
            Some(
                El::new("Invite")
                    .attr("id", account.id)
                    .attr("createdAt", share.invited_at)
                    .flag("friend", true)
                    .flag("home", false)
                    .flag("server", true)
                    .attr("username", &account.username)
                    .attr("email", &account.email)
                    .attr(
                        "thumb",
                        format!("https://plex.tv/users/{}/avatar", account.uuid),
                    )
                    .attr("friendlyName", &account.username)
                    .child(
                        El::new("Server")
                            .attr("name", &server.name)
                            .attr("numLibraries", share.section_ids.len()),
                    ),
            )
        })
        .collect::<Vec<_>>();
    let el = El::new("MediaContainer")
        .attr("friendlyName", "myPlex")
        .attr("identifier", "com.plexapp.plugins.myplex")
        .attr("size", invites.len())
        .children(invites);
    Reply::doc(req, 200, &el)
}

fn server(state: &State, req: &Req, machine: &str) -> Reply {
    let (Some(server), Some(owner)) = (state.owned_server(machine), state.owner()) else {
        return not_found(req, "Server not found");
    };
    let sections = server.sections.iter().map(|s| {
        El::new("Section")
            .attr("id", s.id)
            .attr("key", &s.key)
            .attr("type", &s.kind)
            .attr("title", &s.title)
    });
    let el = El::new("MediaContainer")
        .attr("friendlyName", "myPlex")
        .attr("identifier", "com.plexapp.plugins.myplex")
        .attr("machineIdentifier", machine)
        .attr("size", 1)
        .child(
            El::new("Server")
                .attr("accessToken", &owner.token)
                .attr("name", &server.name)
                .attr("address", "127.0.0.1")
                .attr("port", 32400)
                .attr("version", &server.version)
                .attr("scheme", "http")
                .attr("host", "127.0.0.1")
                .attr("localAddresses", "127.0.0.1")
                .attr("machineIdentifier", machine)
                .attr("createdAt", 1_690_000_000)
                .attr("updatedAt", 1_700_000_000)
                .flag("owned", true)
                .flag("synced", false)
                .children(sections),
        );
    Reply::doc(req, 200, &el)
}

// --- Shares -------------------------------------------------------------------------------------

fn shared_server_el(state: &State, share: &ShareRec) -> El {
    let account = state.accounts.get(&share.user_id);
    let settings = state.settings_of(share.user_id);
    let server = state.owned_server(&share.machine_id);
    let sections = server.map(|s| s.sections.clone()).unwrap_or_default();
    El::new("SharedServer")
        .attr("id", share.id)
        .attr(
            "username",
            account.map(|a| a.username.as_str()).unwrap_or_default(),
        )
        .attr(
            "email",
            account.map(|a| a.email.as_str()).unwrap_or_default(),
        )
        .attr("userID", share.user_id)
        .attr("accessToken", &share.access_token)
        .attr("name", server.map(|s| s.name.as_str()).unwrap_or_default())
        .attr("acceptedAt", share.accepted_at)
        .attr("invitedAt", share.invited_at)
        .flag("allowSync", settings.allow_sync)
        .flag("allowCameraUpload", settings.allow_camera_upload)
        .flag("allowChannels", settings.allow_channels)
        .flag("allowTuners", false)
        .flag("allowSubtitleAdmin", false)
        .flag("owned", false)
        .flag("allLibraries", share.all_libraries)
        .attr("filterAll", "")
        .attr("filterMovies", &settings.filter_movies)
        .attr("filterMusic", &settings.filter_music)
        .attr("filterPhotos", "")
        .attr("filterTelevision", &settings.filter_television)
        .children(sections.iter().map(|s| {
            El::new("Section")
                .attr("id", s.id)
                .attr("key", &s.key)
                .attr("title", &s.title)
                .attr("type", &s.kind)
                .flag("shared", share.section_ids.contains(&s.id))
        }))
}

fn shares_doc(state: &State, req: &Req, machine: &str, shares: Vec<&ShareRec>) -> Reply {
    let el = El::new("MediaContainer")
        .attr("friendlyName", "myPlex")
        .attr("identifier", "com.plexapp.plugins.myplex")
        .attr("machineIdentifier", machine)
        .attr("size", shares.len())
        .children(
            shares
                .into_iter()
                .map(|share| shared_server_el(state, share)),
        );
    Reply::doc(req, 200, &el)
}

fn list_shares(state: &State, req: &Req, machine: &str, id: Option<u64>) -> Reply {
    if state.owned_server(machine).is_none() {
        return not_found(req, "Server not found");
    }
    let shares: Vec<&ShareRec> = state
        .shares
        .iter()
        .filter(|s| s.machine_id == machine && id.is_none_or(|id| s.id == id))
        .collect();
    if id.is_some() && shares.is_empty() {
        return not_found(req, "Shared server not found");
    }
    shares_doc(state, req, machine, shares)
}

/// `library_section_ids` checked against the server: `(ids, all)`; an empty list means every
/// library, as on the real plex.tv.
fn section_ids(state: &State, machine: &str, value: &Json) -> Result<(Vec<u64>, bool), String> {
    let items = value
        .as_array()
        .ok_or("library_section_ids must be a list")?;
    let known: Vec<u64> = state
        .owned_server(machine)
        .map(|s| s.sections.iter().map(|s| s.id).collect())
        .unwrap_or_default();
    if items.is_empty() {
        return Ok((known, true));
    }
    let mut ids = Vec::new();
    for item in items {
        let id = num(item).ok_or("library_section_ids must hold ids")?;
        if !known.contains(&id) {
            return Err(format!("Invalid library section id {id}"));
        }
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok((ids, false))
}

fn apply_settings(state: &mut State, user_id: u64, values: &Json) {
    if let Some(object) = values.as_object() {
        let settings = state.settings.entry(user_id).or_default();
        for (name, value) in object {
            settings.apply(name, &wire_text(value));
        }
    }
}

fn create_share(state: &mut State, req: &Req, machine: &str) -> Reply {
    if state.owned_server(machine).is_none() {
        return not_found(req, "Server not found");
    }
    let Some(body) = req.json_body() else {
        return bad_request(req, "The request body must be JSON");
    };
    if body["server_id"].as_str() != Some(machine) {
        return bad_request(req, "server_id does not match the server");
    }
    let shared = &body["shared_server"];
    let (ids, all) = match section_ids(state, machine, &shared["library_section_ids"]) {
        Ok(found) => found,
        Err(message) => return bad_request(req, &message),
    };
    let invitee = if let Some(id) = num(&shared["invited_id"]) {
        state.accounts.get(&id)
    } else if let Some(name) = shared["invited_email"].as_str() {
        state.account_by_name(name.trim())
    } else {
        return bad_request(req, "invited_id or invited_email is required");
    };
    let Some(invitee) = invitee.cloned() else {
        return bad_request(
            req,
            "Unable to find a plex.tv user with that id, e-mail or username",
        );
    };
    if invitee.id == state.owner_id {
        return bad_request(req, "You cannot share a server with yourself");
    }
    if state
        .shares
        .iter()
        .any(|s| s.machine_id == machine && s.user_id == invitee.id)
    {
        return bad_request(
            req,
            &format!(
                "You're already sharing this server with {}. Please edit your existing share.",
                invitee.username
            ),
        );
    }
    apply_settings(state, invitee.id, &body["sharing_settings"]);
    let id = state.add_share(machine, invitee.id, ids, all);
    let created: Vec<&ShareRec> = state.shares.iter().filter(|s| s.id == id).collect();
    shares_doc(state, req, machine, created)
}

fn update_share(state: &mut State, req: &Req, machine: &str, id: &str) -> Reply {
    let Some(index) = num_text(id).and_then(|id| {
        state
            .shares
            .iter()
            .position(|s| s.id == id && s.machine_id == machine)
    }) else {
        return not_found(req, "Shared server not found");
    };
    let Some(body) = req.json_body() else {
        return bad_request(req, "The request body must be JSON");
    };
    let (ids, all) = match section_ids(
        state,
        machine,
        &body["shared_server"]["library_section_ids"],
    ) {
        Ok(found) => found,
        Err(message) => return bad_request(req, &message),
    };
    let user_id = state.shares[index].user_id;
    state.shares[index].section_ids = ids;
    state.shares[index].all_libraries = all;
    apply_settings(state, user_id, &body["sharing_settings"]);
    let share_id = state.shares[index].id;
    let updated: Vec<&ShareRec> = state.shares.iter().filter(|s| s.id == share_id).collect();
    shares_doc(state, req, machine, updated)
}

fn delete_share(state: &mut State, req: &Req, machine: &str, id: &str) -> Reply {
    let Some(index) = num_text(id).and_then(|id| {
        state
            .shares
            .iter()
            .position(|s| s.id == id && s.machine_id == machine)
    }) else {
        return not_found(req, "Shared server not found");
    };
    state.shares.remove(index);
    Reply::empty(200)
}

/// `PUT /api/v2/sharings/{userId}?allowSync=1&…`: only the settings in the query change.
fn update_settings(state: &mut State, req: &Req, user_id: &str) -> Reply {
    let Some(user_id) = num_text(user_id) else {
        return not_found(req, "User not found");
    };
    let related = state.friends.contains(&user_id)
        || state.home.contains(&user_id)
        || state.shares.iter().any(|s| s.user_id == user_id);
    if !related {
        return not_found(req, "User not found");
    }
    let settings = state.settings.entry(user_id).or_default();
    for (name, value) in &req.query {
        settings.apply(name, value);
    }
    Reply::empty(204)
}

enum Relation {
    SharesOnly,
    Friend,
    Home,
}

/// Ending a friendship or a Home membership also ends the shares with that account.
fn remove_relation(state: &mut State, req: &Req, user_id: &str, relation: Relation) -> Reply {
    let Some(user_id) = num_text(user_id) else {
        return not_found(req, "User not found");
    };
    let had_shares = state.shares.iter().any(|s| s.user_id == user_id);
    let removed = match relation {
        Relation::SharesOnly => had_shares,
        Relation::Friend => state.friends.remove(&user_id),
        Relation::Home => state.home.remove(&user_id),
    };
    if !removed {
        return not_found(req, "User not found");
    }
    state.shares.retain(|s| s.user_id != user_id);
    match relation {
        Relation::Home => Reply::empty(200),
        _ => Reply::empty(204),
    }
}

// --- The invitee's side -------------------------------------------------------------------------

fn invited_share_json(state: &State, share: &ShareRec) -> Json {
    let server = state.owned_server(&share.machine_id);
    let index = state
        .servers
        .iter()
        .position(|s| s.machine_id == share.machine_id)
        .unwrap_or_default();
    let libraries: Vec<Json> = server
        .map(|s| {
            s.sections
                .iter()
                .filter(|section| share.section_ids.contains(&section.id))
                .map(|section| json!({"id": section.id, "key": section.key, "title": section.title, "type": section.kind}))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "id": share.id,
        "ownerId": state.owner_id,
        "invitedId": share.user_id,
        "serverId": 4_000_000 + index,
        "name": server.map(|s| s.name.as_str()).unwrap_or_default(),
        "machineIdentifier": share.machine_id,
        "invitedAt": rfc3339(share.invited_at),
        "acceptedAt": if share.accepted_at == 0 { Json::Null } else { json!(rfc3339(share.accepted_at)) },
        "numLibraries": share.section_ids.len(),
        "allLibraries": share.all_libraries,
        "libraries": libraries,
    })
}

/// Always JSON: the endpoint exists for clients that ask for JSON.
fn received_invites(state: &State, account: &Account) -> Reply {
    let pending: Vec<&ShareRec> = state
        .shares
        .iter()
        .filter(|s| s.user_id == account.id && s.accepted_at == 0)
        .collect();
    let Some(owner) = state.owner() else {
        return Reply::json(200, &json!([]));
    };
    if pending.is_empty() {
        return Reply::json(200, &json!([]));
    }
    let settings = state.settings_of(account.id);
    let invite = json!({
        "id": pending.iter().map(|s| s.id).min().unwrap_or_default() + 1,
        "createdAt": rfc3339(pending.iter().map(|s| s.invited_at).min().unwrap_or_default()),
        "friend": !state.friends.contains(&account.id),
        "home": false,
        "server": true,
        "sharingSettings": {
            "allowSync": settings.allow_sync,
            "allowCameraUpload": settings.allow_camera_upload,
            "allowChannels": settings.allow_channels,
            "filterMovies": settings.filter_movies,
            "filterTelevision": settings.filter_television,
            "filterMusic": settings.filter_music,
        },
        "owner": {
            "id": owner.id,
            "uuid": owner.uuid,
            "title": owner.username,
            "username": owner.username,
            "email": owner.email,
            "friendlyName": owner.username,
            "thumb": format!("https://plex.tv/users/{}/avatar", owner.uuid),
        },
        "sharedServers": pending.iter().map(|share| invited_share_json(state, share)).collect::<Vec<_>>(),
    });
    Reply::json(200, &json!([invite]))
}

fn accept(state: &mut State, req: &Req, account: &Account, id: &str) -> Reply {
    let Some(share_id) = num_text(id).filter(|id| {
        state
            .shares
            .iter()
            .any(|s| s.id == *id && s.user_id == account.id)
    }) else {
        return not_found(req, "Invite not found");
    };
    state.accept(share_id);
    match state.shares.iter().find(|s| s.id == share_id) {
        Some(share) => Reply::json(200, &invited_share_json(state, share)),
        None => not_found(req, "Invite not found"),
    }
}

//! The owner's Plex Media Server: identity, name and libraries, and the translation of its library
//! keys into the global section ids plex.tv's sharing takes.
//!
//! Library ids the connector exposes are the PMS section keys (`/library/sections` `Directory@key`,
//! e.g. `"1"`): what the admin sees in the Plex URL bar, and stable on the server. Sharing calls
//! convert them with plex.tv's `/api/servers/{machineId}` (`Section@key` → `Section@id`).

use zondarr_plugin_sdk::prelude::*;

use crate::http::{Dest, get_xml, segment};
use crate::model::{Identity, Root, Sections, TvSection, TvServers};

/// The product name reported by `test-connection`.
pub const PRODUCT_NAME: &str = "Plex Media Server";

/// `GET /identity` (answered without a token), then the root (needs the token): name, version and
/// machine identifier.
pub fn test_connection(server: &Server<'_>) -> Result<ServerInfo> {
    let identity = machine(server)?;
    let root: Root = get_xml(server, Dest::Pms, "/", "the Plex Media Server")?;
    if root.machine_identifier != identity.machine_identifier {
        return Err(Error::InvalidResponse(
            "the Plex Media Server reported two different machine identifiers".into(),
        ));
    }
    let version = root.version.or(identity.version);
    let info =
        ServerInfo::new(root.friendly_name, PRODUCT_NAME).with_server_id(root.machine_identifier);
    Ok(match version {
        Some(version) => info.with_version(version),
        None => info,
    })
}

/// The server's identity; its machine identifier ties plex.tv's sharing to this server.
pub fn machine(server: &Server<'_>) -> Result<Identity> {
    let identity: Identity = get_xml(
        server,
        Dest::Pms,
        "/identity",
        "the Plex Media Server identity",
    )
    .map_err(|err| match err {
        Error::InvalidResponse(message) => Error::InvalidResponse(format!(
            "this does not look like a Plex Media Server ({message})"
        )),
        other => other,
    })?;
    if identity.machine_identifier.trim().is_empty() {
        return Err(Error::InvalidResponse(
            "the Plex Media Server has no machine identifier".into(),
        ));
    }
    Ok(identity)
}

/// The PMS libraries, with the section key as id.
pub fn list_libraries(server: &Server<'_>) -> Result<Vec<Library>> {
    let sections: Sections = get_xml(server, Dest::Pms, "/library/sections", "the libraries")?;
    Ok(sections
        .directories
        .into_iter()
        .map(|directory| Library::new(directory.key, directory.title, kind(&directory.kind)))
        .collect())
}

fn kind(plex_type: &str) -> &str {
    match plex_type {
        "movie" => "movies",
        "show" => "tvshows",
        "artist" => "music",
        "photo" => "photos",
        other => other,
    }
}

/// This server's library sections as plex.tv knows them (owner's token).
pub fn global_sections(server: &Server<'_>, machine_id: &str) -> Result<Vec<TvSection>> {
    let path = format!(
        "/api/servers/{}",
        segment(machine_id, "the machine identifier")?
    );
    let what = "this server on the owner's plex.tv account";
    let servers: TvServers = get_xml(server, Dest::Owner, &path, what)?;
    servers
        .servers
        .into_iter()
        .find(|s| s.machine_identifier == machine_id)
        .map(|s| s.sections)
        .ok_or_else(|| Error::NotFound(what.to_owned()))
}

/// The global section ids for `access`: every section of this server for `All` (listed one by
/// one: an empty list means "all libraries, including future ones" to plex.tv, which `All`
/// promises only for the ones that exist), or exactly the given PMS keys. An empty selection is
/// refused for the same reason.
pub fn section_ids(access: &LibraryAccess, sections: &[TvSection]) -> Result<Vec<u64>> {
    let chosen: Vec<&TvSection> = match access {
        LibraryAccess::All => sections.iter().collect(),
        LibraryAccess::Only(keys) => {
            let mut chosen: Vec<&TvSection> = Vec::new();
            for key in keys {
                let section = sections
                    .iter()
                    .find(|section| section.key == key.trim())
                    .ok_or_else(|| {
                        Error::InvalidInput(format!(
                            "library `{}` does not exist on this Plex server",
                            key.escape_debug()
                        ))
                    })?;
                if !chosen.iter().any(|c| c.id == section.id) {
                    chosen.push(section);
                }
            }
            chosen
        }
    };
    if chosen.is_empty() {
        return Err(Error::InvalidInput(
            "choose at least one library: Plex treats an empty list as every library".into(),
        ));
    }
    chosen
        .into_iter()
        .map(|section| {
            section.id.trim().parse::<u64>().map_err(|_| {
                Error::InvalidResponse(
                    "plex.tv listed a library section without a numeric id".into(),
                )
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sections() -> Vec<TvSection> {
        [("9001", "1"), ("9002", "2"), ("9003", "3")]
            .into_iter()
            .map(|(id, key)| TvSection {
                id: id.into(),
                key: key.into(),
            })
            .collect()
    }

    #[test]
    fn keys_map_to_global_ids() {
        let only = LibraryAccess::Only(vec!["3".into(), "1".into(), "3".into()]);
        assert_eq!(section_ids(&only, &sections()).unwrap(), vec![9003, 9001]);
        assert_eq!(
            section_ids(&LibraryAccess::All, &sections()).unwrap(),
            vec![9001, 9002, 9003]
        );
    }

    #[test]
    fn never_an_empty_list() {
        let empty = LibraryAccess::Only(Vec::new());
        assert!(matches!(
            section_ids(&empty, &sections()),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            section_ids(&LibraryAccess::All, &[]),
            Err(Error::InvalidInput(_))
        ));
        let unknown = LibraryAccess::Only(vec!["9001".into()]);
        assert!(
            matches!(section_ids(&unknown, &sections()), Err(Error::InvalidInput(m)) if m.contains("9001"))
        );
    }

    #[test]
    fn kinds() {
        assert_eq!(kind("show"), "tvshows");
        assert_eq!(kind("clip"), "clip");
    }
}

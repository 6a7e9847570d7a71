//! Jellyfin ids. Jellyfin writes its GUIDs without dashes (`a076a5bfc9034f379f5889bc6dafc77b`,
//! .NET's "N" format) and reads every common form. Its OpenAPI documents, however, declare them
//! as `format: uuid`, the dashed form. The connector therefore reports ids in the server's own
//! 32-hex form (what admins see in Jellyfin's URLs) and sends the dashed form, which both the
//! server and a strict reading of the spec accept. Nothing here talks to the network.

use zondarr_plugin_sdk::{Error, Result};

/// A Jellyfin GUID, held as 32 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Guid(String);

impl Guid {
    /// Parses the dashed (`8-4-4-4-12`), 32-hex and braced forms, in any letter case.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let text = text
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
            .unwrap_or(text);
        let hex: String = match text.len() {
            32 => text.to_owned(),
            36 => {
                let dashes_in_place = text
                    .char_indices()
                    .all(|(i, c)| (c == '-') == matches!(i, 8 | 13 | 18 | 23));
                if !dashes_in_place {
                    return None;
                }
                text.chars().filter(|c| *c != '-').collect()
            }
            _ => return None,
        };
        if hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(Self(hex.to_ascii_lowercase()))
        } else {
            None
        }
    }

    /// Parses a user id given by the daemon; anything that is not a GUID is invalid input.
    pub(crate) fn user(text: &str) -> Result<Self> {
        Self::parse(text).ok_or_else(|| {
            Error::InvalidInput(format!(
                "`{}` is not a Jellyfin user id (a GUID: 32 hex digits, with or without dashes)",
                text.escape_debug()
            ))
        })
    }

    /// Parses a library id given by the daemon.
    pub(crate) fn library(text: &str) -> Result<Self> {
        Self::parse(text).ok_or_else(|| {
            Error::InvalidInput(format!(
                "`{}` is not a Jellyfin library id (a GUID: 32 hex digits, with or without dashes)",
                text.escape_debug()
            ))
        })
    }

    /// Normalises an id the server reported: its GUIDs become the 32-hex form; anything else is
    /// kept as it came, so an unusual server still produces usable (if unnormalised) ids.
    pub(crate) fn normalise(text: &str) -> String {
        Self::parse(text).map_or_else(|| text.to_owned(), |guid| guid.0)
    }

    /// The 32-hex form, as Jellyfin writes it.
    pub(crate) fn hex(&self) -> &str {
        &self.0
    }

    /// The dashed form, as the OpenAPI documents declare it; used in every request.
    pub(crate) fn dashed(&self) -> String {
        let h = &self.0;
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const HEX: &str = "a076a5bfc9034f379f5889bc6dafc77b";
    const DASHED: &str = "a076a5bf-c903-4f37-9f58-89bc6dafc77b";

    #[test]
    fn every_form_parses_to_the_same_id() {
        for text in [
            HEX,
            DASHED,
            "A076A5BFC9034F379F5889BC6DAFC77B",
            "{a076a5bf-c903-4f37-9f58-89bc6dafc77b}",
            " a076a5bf-C903-4f37-9f58-89bc6dafc77b ",
        ] {
            let guid = Guid::parse(text).unwrap();
            assert_eq!(guid.hex(), HEX, "{text}");
            assert_eq!(guid.dashed(), DASHED, "{text}");
        }
    }

    #[test]
    fn malformed_ids_are_refused() {
        for text in [
            "",
            "1",
            "a076a5bfc9034f379f5889bc6dafc77",
            "a076a5bf-c9034-f379f-5889bc6dafc77b",
            "g076a5bfc9034f379f5889bc6dafc77b",
            "a076a5bf-c903-4f37-9f58-89bc6dafc77b0",
            "../../System/Restart",
            "é076a5bfc9034f379f5889bc6dafc7",
        ] {
            assert_eq!(Guid::parse(text), None, "{text}");
        }
        assert!(matches!(Guid::user("x"), Err(Error::InvalidInput(m)) if m.contains("user id")));
        assert!(
            matches!(Guid::library("x"), Err(Error::InvalidInput(m)) if m.contains("library id"))
        );
    }

    #[test]
    fn reported_ids_are_normalised_when_they_are_guids() {
        assert_eq!(Guid::normalise(DASHED), HEX);
        assert_eq!(Guid::normalise("not-a-guid"), "not-a-guid");
    }
}

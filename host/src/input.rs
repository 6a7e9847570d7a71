//! Text that invitees type (usernames, e-mail addresses, wizard text answers): normalised to NFC
//! and refused when it hides what it is.
//!
//! Refused everywhere: control characters, invisible format characters (zero-width spaces and
//! joiners, bidi embeddings, overrides and isolates, the BOM, soft hyphens, tags), private-use and
//! unassigned-looking code points, line and paragraph separators. Refused in names as well:
//! compatibility look-alikes (text that NFKC changes, such as full-width letters, ligatures or
//! mathematical alphanumerics) and a mix of Latin with Cyrillic or Greek letters, the usual way to
//! spoof a name (`аdmin` with a Cyrillic `а`). Lengths count characters after normalisation.

use icu_normalizer::ComposingNormalizerBorrowed;

/// Why a text was refused, as the short rule shown next to the field.
pub type Rule = &'static str;

/// Longest username, in characters.
pub const USERNAME_MAX: usize = 64;
/// Longest e-mail address, in bytes (RFC 5321).
pub const EMAIL_MAX: usize = 254;
/// Longest password, in characters.
pub const PASSWORD_MAX: usize = 256;
/// Shortest password, in characters.
pub const PASSWORD_MIN: usize = 8;

/// Invisible format characters (Unicode general category Cf) and other code points that change
/// how text looks without being seen.
fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{034F}'
        | '\u{0600}'..='\u{0605}'
        | '\u{061C}'
        | '\u{06DD}'
        | '\u{070F}'
        | '\u{115F}'..='\u{1160}'
        | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFFF}'
        | '\u{E0000}'..='\u{E0FFF}'
        | '\u{E000}'..='\u{F8FF}'
        | '\u{F0000}'..='\u{10FFFF}'
    )
}

/// NFC of `text`, refused if it holds a control or hidden character; whitespace other than the
/// plain space is refused unless `multiline` (then `\n` is kept and `\r\n` becomes `\n`).
fn clean(text: &str, multiline: bool) -> Result<String, Rule> {
    let nfc = ComposingNormalizerBorrowed::new_nfc().normalize(text);
    let text = if multiline {
        nfc.replace("\r\n", "\n")
    } else {
        nfc.into_owned()
    };
    let bad = text.chars().any(|c| {
        let allowed_space = c == ' ' || (multiline && c == '\n');
        is_hidden(c) || (c.is_control() && !allowed_space) || (c.is_whitespace() && !allowed_space)
    });
    if bad {
        return Err("contains invisible or control characters");
    }
    Ok(text)
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Script {
    Latin,
    Greek,
    Cyrillic,
}

fn script(c: char) -> Option<Script> {
    match c {
        'a'..='z' | 'A'..='Z' | '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' => {
            Some(Script::Latin)
        }
        '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}' => Some(Script::Greek),
        '\u{0400}'..='\u{052F}' | '\u{1C80}'..='\u{1C8F}' | '\u{2DE0}'..='\u{2DFF}' => {
            Some(Script::Cyrillic)
        }
        _ => None,
    }
}

/// A name someone else will read (username): NFC, 1 to `max` characters, no leading or trailing
/// space, none of `<>"/\`, no compatibility look-alikes, no Latin mixed with Greek or Cyrillic.
///
/// # Errors
/// The rule that was broken.
pub fn name(text: &str, max: usize) -> Result<String, Rule> {
    let text = clean(text, false)?;
    let len = text.chars().count();
    if len == 0 || len > max {
        return Err(if max == USERNAME_MAX {
            "must be 1 to 64 characters"
        } else {
            "is too long"
        });
    }
    if text.trim() != text || text.chars().any(|c| "<>\"/\\".contains(c)) {
        return Err("contains characters that are not allowed");
    }
    if ComposingNormalizerBorrowed::new_nfkc().normalize(&text) != text {
        return Err("contains look-alike characters (such as full-width or styled letters)");
    }
    let mut seen: Option<Script> = None;
    for s in text.chars().filter_map(script) {
        match seen {
            None => seen = Some(s),
            Some(first) if first != s => {
                return Err("mixes Latin letters with Greek or Cyrillic ones");
            }
            Some(_) => {}
        }
    }
    Ok(text)
}

/// An invitee's username.
///
/// # Errors
/// The rule that was broken.
pub fn username(text: &str) -> Result<String, Rule> {
    name(text, USERNAME_MAX)
}

/// An e-mail address: trimmed, NFC, at most 254 bytes, one `@` with text on both sides, no
/// whitespace. An empty one is `None`.
///
/// # Errors
/// The rule that was broken.
pub fn email(text: &str) -> Result<Option<String>, Rule> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let email = clean(trimmed, false)?;
    let valid = email.len() <= EMAIL_MAX
        && !email.contains(' ')
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && email.matches('@').count() == 1;
    if !valid {
        return Err("is not a valid e-mail address");
    }
    Ok(Some(email))
}

/// A password: 8 to 256 characters. It is not normalised (the servers compare bytes) but may not
/// hold control or hidden characters, which no keyboard types and which would make it impossible
/// to sign in on a TV app.
///
/// # Errors
/// The rule that was broken.
pub fn password(text: &str) -> Result<(), Rule> {
    let len = text.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
        return Err("must be 8 to 256 characters");
    }
    if text.chars().any(|c| c.is_control() || is_hidden(c)) {
        return Err("contains invisible or control characters");
    }
    Ok(())
}

/// Free text (a wizard's text answer): NFC, line breaks allowed, at most `max` characters.
///
/// # Errors
/// The rule that was broken.
pub fn free_text(text: &str, max: usize) -> Result<String, Rule> {
    let text = clean(text, true)?;
    if text.chars().count() > max {
        return Err("is too long");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_to_nfc() {
        // "é" as e + combining acute becomes the single code point.
        assert_eq!(username("Jose\u{0301}").unwrap(), "José");
        assert_eq!(username("erin").unwrap(), "erin");
        assert_eq!(username("Δημήτρης").unwrap(), "Δημήτρης");
        assert_eq!(username("Анна 2").unwrap(), "Анна 2");
    }

    #[test]
    fn hidden_and_spoofing_characters_are_refused() {
        for bad in [
            "er\u{200B}in",
            "admin\u{202E}nimda",
            "\u{2066}erin\u{2069}",
            "er\u{00AD}in",
            "\u{FEFF}erin",
            "erin\u{200D}",
            "er\tin",
            "er\nin",
            "er\u{0007}in",
            "\u{E000}x",
        ] {
            assert_eq!(
                username(bad),
                Err("contains invisible or control characters"),
                "{bad:?}"
            );
        }
        // Full-width and mathematical letters look like ASCII.
        assert!(username("ａｄｍｉｎ").is_err());
        assert!(username("𝐚𝐝𝐦𝐢𝐧").is_err());
        assert!(username("ﬁnn").is_err());
        // Cyrillic "а" in a Latin name.
        assert_eq!(
            username("\u{0430}dmin"),
            Err("mixes Latin letters with Greek or Cyrillic ones")
        );
    }

    #[test]
    fn length_and_shape_rules() {
        assert!(username("").is_err());
        assert!(username(&"a".repeat(64)).is_ok());
        assert!(username(&"a".repeat(65)).is_err());
        assert!(username(" erin").is_err());
        assert!(username("er/in").is_err());
        assert!(username("<b>").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(email("  ").unwrap(), None);
        assert_eq!(
            email(" a@b.example ").unwrap().as_deref(),
            Some("a@b.example")
        );
        assert!(email("nope").is_err());
        assert!(email("a@@b.example").is_err());
        assert!(email("a b@c.example").is_err());
        assert!(email("a@b\u{200B}.example").is_err());
        assert!(email(&format!("{}@b.example", "a".repeat(250))).is_err());
    }

    #[test]
    fn passwords_and_free_text() {
        assert!(password("correct horse").is_ok());
        assert!(password("short").is_err());
        assert!(password("pass\u{200B}word1").is_err());
        assert!(password(&"p".repeat(257)).is_err());
        assert_eq!(free_text("a\r\nb", 10).unwrap(), "a\nb");
        assert!(free_text("a\u{202E}b", 10).is_err());
        assert!(free_text("abcdef", 5).is_err());
    }
}

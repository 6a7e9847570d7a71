//! The domain's field rules in the page's language.
//!
//! The domain (and the JSON API) word a field error as a short English rule ("must be in the
//! future"); those texts are part of the API's behaviour and stay English there. The pages show
//! them next to the field in the page's language: each known rule maps to a catalogue message,
//! a rule with a name in it (a connector's, a server's) keeps that name as an argument. A text
//! not in the table (a remote server's own answer, a rule added later) is shown as it is, so a
//! page never loses an error; the tests below call the domain's own checks so a reworded rule is
//! noticed.

use super::i18n::Tr;

/// Rules that are the whole message, and their catalogue keys.
const EXACT: &[(&str, &str)] = &[
    ("is required", "fm-required"),
    ("must be in the future", "fm-future"),
    (
        "must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z",
        "field-datetime",
    ),
    (
        "must be from 1 to 1000000, or null for unlimited",
        "fm-max-uses",
    ),
    (
        "must be from 1 to 36500, or null for no limit",
        "fm-access-days",
    ),
    ("must be at most 500 characters", "fm-max-500"),
    ("must be at most 1000 characters", "fm-max-1000"),
    ("must be 1 to 32 characters", "fm-code-length"),
    (
        "may contain only letters, digits, '_' and '-'",
        "fm-code-chars",
    ),
    (
        "is already taken (codes are case-insensitive)",
        "fm-code-taken",
    ),
    ("choose at least one server", "fm-servers"),
    ("no such server", "fm-no-server"),
    ("no such wizard", "fm-no-wizard"),
    ("is listed twice", "fm-twice"),
    (
        "give at least one library, or null for all",
        "fm-libraries-empty",
    ),
    ("has the wrong type", "fm-wrong-type"),
    (
        "the server's connector is not loaded, so permissions cannot be checked",
        "fm-connector-missing",
    ),
    (
        "contains invisible or control characters",
        "fm-hidden-chars",
    ),
    ("must be 1 to 64 characters", "fm-length-64"),
    (
        "must be 3 to 32 characters long",
        "fm-admin-username-length",
    ),
    (
        "must start with a letter or digit",
        "fm-admin-username-start",
    ),
    (
        "may contain only letters, digits, '_', '.' and '-'",
        "fm-admin-username-chars",
    ),
    ("must be at least 12 characters long", "fm-password-short"),
    ("must be at most 256 characters long", "fm-password-long"),
    ("is too common; choose another", "fm-password-common"),
    (
        "is too easy to guess; choose another",
        "fm-password-guessable",
    ),
    ("must be an origin like https://host[:port]", "fm-origin"),
    ("is not a host this connector declares", "fm-unknown-host"),
    ("no connector plugin is loaded", "fm-no-connector"),
    (
        "cannot be changed; add a new server instead",
        "fm-kind-fixed",
    ),
    (crate::server_ca::RULE_NOT_PEM, "fm-ca-not-pem"),
    (crate::server_ca::RULE_NO_CERTIFICATE, "fm-ca-none"),
    (crate::server_ca::RULE_NOT_X509, "fm-ca-not-x509"),
    (crate::server_ca::RULE_PRIVATE_KEY, "fm-ca-private-key"),
    (crate::server_ca::RULE_OTHER_BLOCK, "fm-ca-other-block"),
    (crate::server_ca::RULE_TOO_LARGE, "fm-ca-too-large"),
    (crate::server_ca::RULE_TOO_MANY, "fm-ca-too-many"),
    (
        crate::servers::RULE_CA_WITH_INVALID_CERTS,
        "fm-ca-with-invalid-certs",
    ),
];

/// Rules with one name in them: (text before, text after, key); the name becomes `$name`.
const WITH_NAME: &[(&str, &str, &str)] = &[
    ("is not a permission of ", " servers", "fm-not-a-permission"),
    ("is not a setting of ", " servers", "fm-not-a-setting"),
    (
        "",
        " servers cannot check admin sign-ins",
        "fm-no-admin-login",
    ),
    ("", " is required", "fm-required"),
];

/// Rules naming a library and a server: (separator, text after, key); `library {library}
/// {separator}{server}{after}` becomes `$library` and `$server`.
const LIBRARY: &[(&str, &str, &str)] = &[
    (
        " is no longer on server ",
        "; choose another",
        "fm-library-missing",
    ),
    (" does not belong to server ", "", "fm-library-foreign"),
];

/// `message` (a domain field rule) in `t`'s language; unknown texts unchanged.
pub fn translate(t: &Tr, message: &str) -> String {
    if let Some((_, key)) = EXACT.iter().find(|(rule, _)| *rule == message) {
        return t.t(key);
    }
    for (before, after, key) in WITH_NAME {
        if let Some(name) = message
            .strip_prefix(before)
            .and_then(|rest| rest.strip_suffix(after))
            .filter(|name| !name.is_empty())
        {
            return t.t1(key, "name", name);
        }
    }
    if let Some(rest) = message.strip_prefix("library ") {
        for (sep, after, key) in LIBRARY {
            if let Some((library, server)) =
                rest.strip_suffix(after).and_then(|r| r.split_once(sep))
            {
                return t.t2(key, "library", library, "server", server);
            }
        }
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::i18n::{Catalogues, Lang};
    use std::sync::Arc;

    fn tr(lang: Lang) -> Tr {
        Tr::new(Arc::new(Catalogues::load()), lang)
    }

    /// The domain's own checks produce rules the table knows: a German page shows none of
    /// them in English.
    #[test]
    fn the_domains_rules_are_translated() {
        let de = tr(Lang::De);
        let mut rules: Vec<String> = vec![
            crate::invitations::check_custom_code("")
                .unwrap_err()
                .into(),
            crate::invitations::check_custom_code("a b")
                .unwrap_err()
                .into(),
            crate::invitations::check_message("a\u{7}")
                .unwrap_err()
                .into(),
            crate::invitations::check_message(&"x".repeat(1001))
                .unwrap_err()
                .into(),
            crate::auth::password::check_username("ab")
                .unwrap_err()
                .into(),
            crate::auth::password::check_username("_ab")
                .unwrap_err()
                .into(),
            crate::auth::password::check_username("a b c")
                .unwrap_err()
                .into(),
            crate::auth::password::check_password("short", "robin")
                .unwrap_err()
                .into(),
            crate::auth::password::check_password(&"p".repeat(300), "robin")
                .unwrap_err()
                .into(),
        ];
        rules.extend(
            crate::auth::sign_in::credential_fields("x", "aaaaaaaaaaaaa")
                .into_iter()
                .map(|f| f.message),
        );
        rules.extend(
            [
                "hello",
                "-----BEGIN CERTIFICATE-----\nAAAA\n",
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
            ]
            .into_iter()
            .map(|pem| crate::server_ca::parse(pem).unwrap_err().to_owned()),
        );
        rules.push(crate::servers::RULE_CA_WITH_INVALID_CERTS.to_owned());
        for rule in &rules {
            let shown = translate(&de, rule);
            assert_ne!(&shown, rule, "no German text for the rule {rule:?}");
            assert!(!shown.starts_with("fm-"), "missing message for {rule:?}");
        }
    }

    #[test]
    fn every_key_of_the_table_is_in_both_catalogues() {
        for lang in [Lang::En, Lang::De] {
            let t = tr(lang);
            for (_, key) in EXACT {
                assert_ne!(t.t(key), *key, "{key} in {}", lang.tag());
            }
            for (_, _, key) in WITH_NAME {
                assert_ne!(t.t1(key, "name", "X"), *key, "{key} in {}", lang.tag());
            }
            for (_, _, key) in LIBRARY {
                let shown = t.t2(key, "library", "Films (3)", "server", "Home");
                assert!(
                    shown.contains("Films (3)") && shown.contains("Home"),
                    "{shown}"
                );
            }
        }
    }

    #[test]
    fn names_are_kept_and_unknown_texts_pass_through() {
        let de = tr(Lang::De);
        let en = tr(Lang::En);
        assert_eq!(
            translate(&de, "is not a permission of Jellyfin servers"),
            "ist keine Berechtigung von Jellyfin-Servern"
        );
        assert_eq!(
            translate(&en, "API key is required"),
            "This field is required."
        );
        assert_eq!(
            translate(&de, "Unauthorized: the token was refused"),
            "Unauthorized: the token was refused"
        );
        assert_eq!(
            translate(&de, "must be in the future"),
            "Muss in der Zukunft liegen."
        );
        assert_eq!(
            translate(
                &de,
                "library Films (3) is no longer on server Home; choose another"
            ),
            "Die Bibliothek Films (3) ist nicht mehr auf dem Server Home; wähle eine andere."
        );
    }
}

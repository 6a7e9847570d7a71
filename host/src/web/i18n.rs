//! Languages of the pages: the Fluent catalogues (`locales/*.ftl`, compiled into the binary),
//! the choice of language for a request and the translator the templates call.
//!
//! The language is, in this order: the `zondarr_lang` cookie the switcher sets, the browser's
//! `Accept-Language`, the `ui.default_language` setting. Every catalogue must have every key
//! the English one has (a unit test checks it), so a missing translation is a test failure, not
//! an English word on a German page.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::Arc;

/// The cookie that keeps the language the invitee picked with the switcher.
pub const LANG_COOKIE: &str = "zondarr_lang";

/// A language the pages are available in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// German.
    De,
}

impl Lang {
    /// Every language, in switcher order.
    pub const ALL: &'static [Lang] = &[Lang::En, Lang::De];

    /// The BCP 47 tag (`lang` attribute, cookie value).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
        }
    }

    /// Parse a tag such as `de`, `de-AT` or `EN_us`.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "de" => Some(Lang::De),
            _ => None,
        }
    }

    fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::De => 1,
        }
    }

    pub(crate) fn chrono_locale(self) -> chrono::Locale {
        match self {
            Lang::En => chrono::Locale::en_US,
            Lang::De => chrono::Locale::de_DE,
        }
    }
}

/// The best language of an `Accept-Language` header: highest quality first, ties in header
/// order; `None` when the header names none of ours.
pub fn from_accept_language(header: &str) -> Option<Lang> {
    let mut best: Option<(u16, Lang)> = None;
    for part in header.split(',').take(20) {
        let mut pieces = part.split(';');
        let tag = pieces.next().unwrap_or_default();
        let quality = pieces
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1000), |q| {
                q.trim().parse::<f32>().ok().map(|q| (q * 1000.0) as u16)
            });
        let (Some(quality), Some(lang)) = (quality, Lang::parse(tag)) else {
            continue;
        };
        if quality > 0 && best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

/// The language cookie's value in a `Cookie` header.
pub fn from_cookie(header: &str) -> Option<Lang> {
    super::cookie(header, LANG_COOKIE).and_then(Lang::parse)
}

/// Each language's catalogue: the main file and one file per group of admin pages (kept apart
/// so that work on different pages does not collide in one file).
const SOURCES: [&str; 2] = [
    concat!(
        include_str!("locales/en.ftl"),
        "\n",
        include_str!("locales/en-users.ftl"),
        "\n",
        include_str!("locales/en-account.ftl"),
        "\n",
        include_str!("locales/en-ops.ftl"),
        "\n",
        include_str!("locales/en-wizards.ftl"),
    ),
    concat!(
        include_str!("locales/de.ftl"),
        "\n",
        include_str!("locales/de-users.ftl"),
        "\n",
        include_str!("locales/de-account.ftl"),
        "\n",
        include_str!("locales/de-ops.ftl"),
        "\n",
        include_str!("locales/de-wizards.ftl"),
    ),
];

/// The compiled catalogues.
pub struct Catalogues {
    bundles: Vec<FluentBundle<FluentResource>>,
}

impl std::fmt::Debug for Catalogues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Catalogues")
    }
}

impl Catalogues {
    /// Parse the embedded catalogues. A syntax error is a bug caught by the unit tests; it is
    /// logged and the faulty entries are left out rather than stopping the daemon.
    pub fn load() -> Catalogues {
        let bundles = Lang::ALL
            .iter()
            .map(|lang| {
                let source = SOURCES[lang.index()];
                let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(
                    |(partial, errors)| {
                        tracing::error!(lang = lang.tag(), ?errors, "catalogue has errors");
                        partial
                    },
                );
                let id = lang
                    .tag()
                    .parse()
                    .unwrap_or_else(|_| unic_langid::LanguageIdentifier::default());
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                // Unicode isolation marks protect right-to-left text; neither language needs
                // them and they would end up in attribute values and page titles.
                bundle.set_use_isolating(false);
                if let Err(errors) = bundle.add_resource(resource) {
                    tracing::error!(lang = lang.tag(), ?errors, "catalogue has duplicates");
                }
                bundle
            })
            .collect();
        Catalogues { bundles }
    }

    fn format(&self, lang: Lang, key: &str, args: Option<&FluentArgs>) -> String {
        let Some(bundle) = self.bundles.get(lang.index()) else {
            return key.to_owned();
        };
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            tracing::warn!(key, lang = lang.tag(), "missing message");
            return key.to_owned();
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(key, lang = lang.tag(), ?errors, "message formatting failed");
        }
        text.into_owned()
    }

    /// Message ids of `lang`'s catalogue (for the completeness test): every line that starts
    /// an entry, `id =`.
    #[cfg(test)]
    fn keys(lang: Lang) -> Vec<String> {
        SOURCES[lang.index()]
            .lines()
            .filter_map(|l| l.split_once(" ="))
            .map(|(id, _)| id)
            .filter(|id| {
                id.starts_with(|c: char| c.is_ascii_lowercase())
                    && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            .map(str::to_owned)
            .collect()
    }
}

/// The translator a page's template calls: `t.t("key")`, with arguments `t.t1(...)`.
#[derive(Clone)]
pub struct Tr {
    catalogues: Arc<Catalogues>,
    /// The page's language.
    pub lang: Lang,
}

impl std::fmt::Debug for Tr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tr({})", self.lang.tag())
    }
}

impl Tr {
    /// A translator for `lang`.
    pub fn new(catalogues: Arc<Catalogues>, lang: Lang) -> Tr {
        Tr { catalogues, lang }
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> String {
        self.catalogues.format(self.lang, key, None)
    }

    /// The message `key` with one text argument.
    pub fn t1(&self, key: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), FluentValue::from(value.to_owned()));
        self.catalogues.format(self.lang, key, Some(&args))
    }

    /// The message `key` with two text arguments.
    pub fn t2(&self, key: &str, name: &str, value: &str, name2: &str, value2: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), FluentValue::from(value.to_owned()));
        args.set(name2.to_owned(), FluentValue::from(value2.to_owned()));
        self.catalogues.format(self.lang, key, Some(&args))
    }

    /// The message `key` with one number argument (plurals). Takes the number or a reference
    /// to it (templates pass references).
    pub fn n(&self, key: &str, name: &str, value: impl std::borrow::Borrow<i64>) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), FluentValue::from(*value.borrow()));
        self.catalogues.format(self.lang, key, Some(&args))
    }

    /// The message `key` with a count (plurals) and text arguments.
    pub fn nt(&self, key: &str, count: (&str, i64), texts: &[(&str, &str)]) -> String {
        let mut args = FluentArgs::new();
        args.set(count.0.to_owned(), FluentValue::from(count.1));
        for (name, value) in texts {
            args.set((*name).to_owned(), FluentValue::from((*value).to_owned()));
        }
        self.catalogues.format(self.lang, key, Some(&args))
    }

    /// An RFC 3339 time as a date and time in the page's language (the time in UTC: the
    /// server does not know the invitee's time zone). Unparseable input is shown as it is.
    pub fn datetime(&self, rfc3339: &str) -> String {
        match chrono::DateTime::parse_from_rfc3339(rfc3339) {
            Ok(t) => t
                .with_timezone(&chrono::Utc)
                .format_localized(&self.t("format-datetime"), self.lang.chrono_locale())
                .to_string(),
            Err(_) => rfc3339.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_language_we_have() {
        assert_eq!(
            from_accept_language("de-DE,de;q=0.9,en;q=0.8"),
            Some(Lang::De)
        );
        assert_eq!(
            from_accept_language("fr-FR, en;q=0.5, de;q=0.7"),
            Some(Lang::De)
        );
        assert_eq!(from_accept_language("en-GB,en;q=0.9"), Some(Lang::En));
        assert_eq!(from_accept_language("fr, it"), None);
        assert_eq!(from_accept_language("de;q=0, en;q=0.1"), Some(Lang::En));
        assert_eq!(from_accept_language("de;q=abc"), None);
        assert_eq!(from_accept_language(""), None);
    }

    #[test]
    fn every_catalogue_has_every_english_key_and_nothing_else() {
        let english = Catalogues::keys(Lang::En);
        assert!(english.len() > 50, "{}", english.len());
        for lang in Lang::ALL {
            let mut keys = Catalogues::keys(*lang);
            keys.sort();
            let mut want = english.clone();
            want.sort();
            assert_eq!(keys, want, "catalogue {} differs from English", lang.tag());
            let source = SOURCES[lang.index()];
            assert!(
                FluentResource::try_new(source.to_owned()).is_ok(),
                "{} has syntax errors",
                lang.tag()
            );
        }
    }

    #[test]
    fn messages_format_with_arguments_and_dates_follow_the_language() {
        let catalogues = Arc::new(Catalogues::load());
        let de = Tr::new(catalogues.clone(), Lang::De);
        let en = Tr::new(catalogues, Lang::En);
        assert_eq!(en.n("wizard-wait", "seconds", 1), "Wait 1 more second.");
        assert_eq!(en.n("wizard-wait", "seconds", 3), "Wait 3 more seconds.");
        assert_eq!(
            de.n("wizard-wait", "seconds", 3),
            "Bitte noch 3 Sekunden warten."
        );
        assert_eq!(
            en.datetime("2026-12-04T15:04:05Z"),
            "December 4, 2026, 15:04 UTC"
        );
        assert_eq!(
            de.datetime("2026-12-04T15:04:05Z"),
            "4. Dezember 2026, 15:04 UTC"
        );
        assert_eq!(de.datetime("not a date"), "not a date");
    }
}

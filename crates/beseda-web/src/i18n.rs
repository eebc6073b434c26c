//! The interface in English and Russian. Texts live in `locales/<lang>/main.ftl` (Fluent, with
//! Russian plural forms); the language is the manager's setting, else the browser's
//! Accept-Language, else English.

use beseda_core::values::Locale;
use fluent_templates::{LanguageIdentifier, Loader, langid};
use std::collections::HashMap;

// Compiled-in, read-only texts: the one static of the server, as constant as its templates.
fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

static EN: LanguageIdentifier = langid!("en");
static RU: LanguageIdentifier = langid!("ru");

/// Translates keys into one language; templates call `tr.t("key")`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tr(pub Locale);

impl Tr {
    fn lang(self) -> &'static LanguageIdentifier {
        match self.0 {
            Locale::En => &EN,
            Locale::Ru => &RU,
        }
    }

    pub fn t(&self, key: &str) -> String {
        LOCALES.lookup(self.lang(), key)
    }

    /// A text with one named argument, e.g. `tr.t1("signed-in-as", "name", name)`.
    pub fn t1(&self, key: &str, arg: &str, value: &str) -> String {
        self.ta(key, &[(arg, value)])
    }

    /// A text with named arguments, e.g. `tr.ta("event-dialog_closed", &[("by", name)])`.
    pub fn ta(&self, key: &str, args: &[(&str, &str)]) -> String {
        let args = args
            .iter()
            .map(|(k, v)| ((*k).to_owned().into(), (*v).to_owned().into()))
            .collect::<HashMap<_, _>>();
        LOCALES.lookup_with_args(self.lang(), key, &args)
    }

    /// The `lang` attribute of the page.
    pub fn code(&self) -> &'static str {
        self.0.as_str()
    }
}

/// The manager's own choice wins; otherwise the first supported language the browser asks for.
pub fn negotiate(chosen: Option<Locale>, accept_language: Option<&str>) -> Locale {
    if let Some(l) = chosen {
        return l;
    }
    let Some(header) = accept_language else {
        return Locale::En;
    };
    let mut ranked: Vec<(f32, &str)> = header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next()?.trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((q, tag))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked
        .iter()
        .filter(|(q, _)| *q > 0.0)
        .find_map(|(_, tag)| {
            Locale::parse(
                &tag.split(['-', '_'])
                    .next()
                    .unwrap_or_default()
                    .to_lowercase(),
            )
            .ok()
        })
        .unwrap_or(Locale::En)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(ftl: &str) -> BTreeSet<String> {
        ftl.lines()
            .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
            .filter_map(|l| l.split_once(" =").map(|(k, _)| k.trim().to_owned()))
            .collect()
    }

    #[test]
    fn every_key_exists_in_both_languages_and_renders() {
        let en = keys(include_str!("../locales/en/main.ftl"));
        let ru = keys(include_str!("../locales/ru/main.ftl"));
        assert_eq!(en, ru, "the two locales must have the same keys");
        assert!(en.len() > 10);
        for key in &en {
            for lang in [&EN, &RU] {
                let args = HashMap::from([
                    ("seconds".into(), 5.into()),
                    ("name".into(), "Anna".into()),
                    ("by".into(), "Anna".into()),
                    ("from".into(), "Boris".into()),
                    ("to".into(), "Clara".into()),
                    ("at".into(), "2026-12-01 10:00 UTC".into()),
                    ("emoji".into(), "👍".into()),
                ]);
                let text = LOCALES
                    .try_lookup_with_args(lang, key, &args)
                    .unwrap_or_else(|| panic!("{key} is missing in {lang}"));
                assert!(
                    !text.is_empty() && !text.contains("Unknown"),
                    "{key} in {lang}: {text:?}"
                );
            }
        }
    }

    #[test]
    fn the_browser_language_is_used_unless_the_manager_chose() {
        assert_eq!(negotiate(None, Some("ru-RU,ru;q=0.9,en;q=0.8")), Locale::Ru);
        assert_eq!(
            negotiate(None, Some("de-DE, en;q=0.5, ru;q=0.7")),
            Locale::Ru
        );
        assert_eq!(negotiate(None, Some("fr, de")), Locale::En);
        assert_eq!(negotiate(None, Some("ru;q=0")), Locale::En);
        assert_eq!(negotiate(None, None), Locale::En);
        assert_eq!(negotiate(Some(Locale::En), Some("ru")), Locale::En);
    }
}

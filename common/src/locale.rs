//! The languages buyers are surveyed in, and the widget's own words in each.

use crate::error::quoted;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A language we can survey a buyer in. Adding one means adding its strings here and its
/// email templates under `email-templates/<code>/`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    En,
    Fr,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Fr];

    /// Accepts a BCP 47 tag such as `fr`, `fr-CA` or `en_GB`; the region is not needed to
    /// pick the words, so only the language decides.
    pub fn parse(tag: &str) -> Result<Self, String> {
        let language = tag
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match language.as_str() {
            "en" => Ok(Locale::En),
            "fr" => Ok(Locale::Fr),
            _ => Err(format!(
                "unsupported locale {}; supported: en, fr",
                quoted(tag)
            )),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
        }
    }

    pub fn strings(self) -> &'static Strings {
        match self {
            Locale::En => &EN,
            Locale::Fr => &FR,
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What the widget says before a survey has loaded, or when none will, in one language:
/// compiled into the widget, since there is no survey document to bring them. Every other
/// sentence comes with the survey, from the server's catalogue.
#[derive(Debug)]
pub struct Strings {
    pub loading: &'static str,
    pub load_error: &'static str,
    pub try_again: &'static str,
    pub invalid_link: &'static str,
    pub already_answered: &'static str,
}

static EN: Strings = Strings {
    loading: "Loading the survey…",
    load_error: "We could not load the survey. Please check your connection.",
    try_again: "Try again",
    invalid_link: "This survey link is not valid or has expired.",
    already_answered: "This survey has already been answered. Thank you!",
};

static FR: Strings = Strings {
    loading: "Chargement du questionnaire…",
    load_error: "Nous n’avons pas pu charger le questionnaire. Vérifiez votre connexion.",
    try_again: "Réessayer",
    invalid_link: "Ce lien de questionnaire n’est pas valide ou a expiré.",
    already_answered: "Ce questionnaire a déjà reçu une réponse. Merci !",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regional_tags_pick_the_language() {
        assert_eq!(Locale::parse("fr-CA"), Ok(Locale::Fr));
        assert_eq!(Locale::parse("en_GB"), Ok(Locale::En));
        assert_eq!(Locale::parse("FR"), Ok(Locale::Fr));
    }

    #[test]
    fn unknown_languages_are_refused_with_the_supported_list() {
        let err = Locale::parse("de-DE").expect_err("German is not supported yet");
        assert!(err.contains("en, fr"), "{err}");
        assert!(Locale::parse("").is_err());
    }

    #[test]
    fn every_locale_says_its_own_words() {
        assert_ne!(Locale::En.strings().loading, Locale::Fr.strings().loading);
        assert_ne!(
            Locale::En.strings().try_again,
            Locale::Fr.strings().try_again
        );
    }
}

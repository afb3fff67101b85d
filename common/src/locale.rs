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

/// Every sentence the widget shows, in one language.
#[derive(Debug)]
pub struct Strings {
    /// Contains `{company}`; use [`Strings::nps_question`].
    nps_question_template: &'static str,
    pub nps_low: &'static str,
    pub nps_high: &'static str,
    pub reason_question: &'static str,
    pub reason_hint: &'static str,
    /// The follow-up question of a `survey_then_interview` segment.
    pub interview_offer: &'static str,
    pub submit: &'static str,
    pub submitting: &'static str,
    pub thanks_title: &'static str,
    pub thanks_body: &'static str,
    pub already_answered: &'static str,
    pub invalid_link: &'static str,
    pub pick_a_score: &'static str,
    pub reason_too_long: &'static str,
    pub network_error: &'static str,
    pub load_error: &'static str,
    pub try_again: &'static str,
    pub loading: &'static str,
}

impl Strings {
    /// "How likely are you to recommend Acme to a colleague?"
    pub fn nps_question(&self, company: &str) -> String {
        self.nps_question_template.replace("{company}", company)
    }
}

static EN: Strings = Strings {
    nps_question_template: "How likely are you to recommend {company} to a colleague?",
    nps_low: "Not at all likely",
    nps_high: "Extremely likely",
    reason_question: "What was the main reason for your decision?",
    reason_hint: "A sentence or two is plenty.",
    interview_offer: "Yes, I would take 30 minutes to tell you more.",
    submit: "Send my answers",
    submitting: "Sending…",
    thanks_title: "Thank you!",
    thanks_body:
        "Your answers have been recorded. They go straight to the team that decides what we change.",
    already_answered: "This survey has already been answered. Thank you!",
    invalid_link: "This survey link is not valid or has expired.",
    pick_a_score: "Please choose a score from 0 to 10.",
    reason_too_long: "Please shorten your answer.",
    network_error: "We could not send your answers. Please try again.",
    load_error: "We could not load the survey. Please check your connection.",
    try_again: "Try again",
    loading: "Loading the survey…",
};

static FR: Strings = Strings {
    nps_question_template: "Quelle est la probabilité que vous recommandiez {company} à un collègue ?",
    nps_low: "Pas du tout probable",
    nps_high: "Très probable",
    reason_question: "Quelle a été la raison principale de votre décision ?",
    reason_hint: "Une ou deux phrases suffisent.",
    interview_offer: "Oui, je veux bien en parler 30 minutes.",
    submit: "Envoyer mes réponses",
    submitting: "Envoi…",
    thanks_title: "Merci !",
    thanks_body: "Vos réponses ont été enregistrées. Elles vont directement à l’équipe qui décide de nos améliorations.",
    already_answered: "Ce questionnaire a déjà reçu une réponse. Merci !",
    invalid_link: "Ce lien de questionnaire n’est pas valide ou a expiré.",
    pick_a_score: "Veuillez choisir une note de 0 à 10.",
    reason_too_long: "Veuillez raccourcir votre réponse.",
    network_error: "Nous n’avons pas pu envoyer vos réponses. Veuillez réessayer.",
    load_error: "Nous n’avons pas pu charger le questionnaire. Vérifiez votre connexion.",
    try_again: "Réessayer",
    loading: "Chargement du questionnaire…",
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
    fn every_locale_asks_the_nps_question() {
        for locale in Locale::ALL {
            let question = locale.strings().nps_question("Acme");
            assert!(
                question.contains("Acme") && !question.contains('{'),
                "{question}"
            );
        }
        assert_ne!(
            Locale::En.strings().reason_question,
            Locale::Fr.strings().reason_question
        );
    }
}

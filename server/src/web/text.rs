use serde::{Deserialize, Serialize};

/// A label or sentence in each language the program speaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub en: String,
    pub fr: String,
}

impl Text {
    pub fn new(en: &str, fr: &str) -> Text {
        Text {
            en: en.to_owned(),
            fr: fr.to_owned(),
        }
    }

    /// In `locale`.
    pub fn get(&self, locale: debrief_common::Locale) -> &str {
        match locale {
            debrief_common::Locale::Fr => &self.fr,
            debrief_common::Locale::En => &self.en,
        }
    }
}

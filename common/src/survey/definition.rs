//! A survey definition: the versioned JSON a program owner writes (or imports from
//! SurveyJS), which the widget, the no-JS form and the server all read. A stored version
//! that has answers never changes; an edit is a new version.

use super::logic::Condition;
use crate::locale::Locale;
use crate::map::Map;
use serde::{Deserialize, Serialize};

/// The JSON format this build reads and writes.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    /// The format's version, so that stored definitions can be carried forward.
    #[serde(default = "format_v1")]
    pub format: u32,
    /// Used for a text missing in the buyer's language, and for a buyer whose language
    /// the survey is not written in.
    pub default_locale: Locale,
    /// The languages the survey is written in: every text has each of them.
    pub locales: Vec<Locale>,
    pub pages: Vec<Page>,
}

fn format_v1() -> u32 {
    FORMAT
}

/// One screen of questions; the buyer sees a progress indicator across pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Text>,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    /// Unique in the survey; answers are stored under it, one row each.
    pub id: String,
    /// May name deal attributes: "Why did you choose {competitor}?".
    pub title: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Text>,
    #[serde(default)]
    pub required: bool,
    /// Shown only when this holds, given earlier answers and the deal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_if: Option<Condition>,
    #[serde(flatten)]
    pub kind: QuestionKind,
}

/// What is asked and what a valid answer is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    /// 0–10, "How likely are you to recommend…".
    Nps,
    /// CSAT and the like: whole numbers from `min` to `max` (1–5 by default).
    Rating {
        #[serde(default = "rating_min")]
        min: i64,
        #[serde(default = "rating_max")]
        max: i64,
    },
    SingleChoice {
        choices: Vec<Choice>,
        /// Offers "Other, please say", answered as the choice [`OTHER`] with a text.
        #[serde(default)]
        other: bool,
    },
    MultipleChoice {
        choices: Vec<Choice>,
        #[serde(default)]
        other: bool,
    },
    /// The buyer's own words.
    FreeText {
        #[serde(default = "free_text_max")]
        max_chars: u32,
    },
    /// Each decision driver rated from very negative to very positive, or "not a factor".
    DriverMatrix { drivers: Vec<Driver> },
    /// Yes or no to a conversation, with the times that suit the buyer as text.
    InterviewOptIn,
    /// A checkbox; when required, it must be ticked.
    Consent,
}

fn rating_min() -> i64 {
    1
}
fn rating_max() -> i64 {
    5
}
fn free_text_max() -> u32 {
    2_000
}

/// The choice id of "Other, please say".
pub const OTHER: &str = "other";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub text: Text,
}

/// A decision driver of the program's taxonomy, in its family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Driver {
    pub id: String,
    pub family: DriverFamily,
    pub text: Text,
}

/// The five families the default driver list is grouped in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriverFamily {
    ProductService,
    SalesExperience,
    PriceAndPackaging,
    Company,
    CustomerSupport,
}

impl DriverFamily {
    pub const ALL: [DriverFamily; 5] = [
        DriverFamily::ProductService,
        DriverFamily::SalesExperience,
        DriverFamily::PriceAndPackaging,
        DriverFamily::Company,
        DriverFamily::CustomerSupport,
    ];

    /// As written in a definition: `price_and_packaging`.
    pub fn code(self) -> &'static str {
        match self {
            DriverFamily::ProductService => "product_service",
            DriverFamily::SalesExperience => "sales_experience",
            DriverFamily::PriceAndPackaging => "price_and_packaging",
            DriverFamily::Company => "company",
            DriverFamily::CustomerSupport => "customer_support",
        }
    }

    pub fn parse(code: &str) -> Option<DriverFamily> {
        DriverFamily::ALL.into_iter().find(|f| f.code() == code)
    }
}

/// A text in each of the survey's languages.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text(pub Map<Locale, String>);

impl Text {
    /// In `locale`, else in `fallback`, else in any language the text has.
    pub fn get(&self, locale: Locale, fallback: Locale) -> &str {
        self.0
            .get(&locale)
            .or_else(|| self.0.get(&fallback))
            .or_else(|| self.0.values().next())
            .map(String::as_str)
            .unwrap_or_default()
    }
}

impl Definition {
    /// Every question, in the order the buyer meets them, with its page's index.
    pub fn questions(&self) -> impl Iterator<Item = (usize, &Question)> {
        self.pages
            .iter()
            .enumerate()
            .flat_map(|(p, page)| page.questions.iter().map(move |q| (p, q)))
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions().map(|(_, q)| q).find(|q| q.id == id)
    }

    /// The language to show: the buyer's when the survey is written in it.
    pub fn locale_for(&self, buyer: Locale) -> Locale {
        if self.locales.contains(&buyer) {
            buyer
        } else {
            self.default_locale
        }
    }
}

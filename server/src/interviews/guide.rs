//! The interview guide: the stages of the buying journey an interviewer walks through in
//! 30 to 45 minutes, each with suggested questions and "five whys" prompts to reach the
//! root cause, in English and French. Programs edit it; each edit is a new version, and
//! notes say which version they were taken against. Version 0 is the built-in guide.

use crate::platform::db::Db;
use crate::platform::versions::Versions;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

pub use crate::web::text::Text;

/// One stage of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Stable across versions: notes are kept by it (`selection_criteria`).
    pub key: String,
    pub title: Text,
    /// Minutes it usually takes.
    pub minutes: i64,
    pub questions: Vec<Text>,
    /// Follow-ups that ask why again, until the root cause.
    pub five_whys: Vec<Text>,
}

/// The guide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Guide {
    pub stages: Vec<Stage>,
}

/// A guide as stored, with its version.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Versioned {
    pub version: i64,
    pub guide: Guide,
}

fn text(en: &str, fr: &str) -> Text {
    Text::new(en, fr)
}

fn stage(
    key: &str,
    title: (&str, &str),
    minutes: i64,
    questions: &[(&str, &str)],
    five_whys: &[(&str, &str)],
) -> Stage {
    Stage {
        key: key.to_owned(),
        title: text(title.0, title.1),
        minutes,
        questions: questions.iter().map(|(en, fr)| text(en, fr)).collect(),
        five_whys: five_whys.iter().map(|(en, fr)| text(en, fr)).collect(),
    }
}

/// The built-in guide: the nine stages of the buying journey.
pub fn default_guide() -> Guide {
    let why = (
        "Why did that matter to you?",
        "Pourquoi était-ce important pour vous ?",
    );
    let example = (
        "Can you give me an example of when that came up?",
        "Pouvez-vous me donner un exemple où cela s’est présenté ?",
    );
    Guide {
        stages: vec![
            stage(
                "buyer",
                ("Who the buyer is", "Qui est l’acheteur"),
                3,
                &[
                    ("What is your role, and what were you responsible for in this project?", "Quel est votre rôle, et de quoi étiez-vous responsable dans ce projet ?"),
                    ("Who else took part in the decision?", "Qui d’autre a pris part à la décision ?"),
                ],
                &[why],
            ),
            stage(
                "origin",
                ("Origin of the deal and first perceptions", "Origine du projet et premières perceptions"),
                4,
                &[
                    ("What made you start looking for a solution, and why then?", "Qu’est-ce qui vous a fait chercher une solution, et pourquoi à ce moment-là ?"),
                    ("How did you first hear of us, and what did you think?", "Comment avez-vous entendu parler de nous, et qu’en avez-vous pensé ?"),
                ],
                &[why, ("What would have happened had you done nothing?", "Que se serait-il passé si vous n’aviez rien fait ?")],
            ),
            stage(
                "selection_criteria",
                ("Selection criteria and expectations", "Critères de choix et attentes"),
                5,
                &[
                    ("Which criteria mattered most, on paper and in practice?", "Quels critères comptaient le plus, sur le papier et en pratique ?"),
                    ("What were you afraid of getting wrong?", "Qu’est-ce que vous aviez peur de mal choisir ?"),
                ],
                &[why, ("How did you know a vendor met it?", "Comment saviez-vous qu’un fournisseur y répondait ?")],
            ),
            stage(
                "product_evaluation",
                ("Product evaluation", "Évaluation du produit"),
                6,
                &[
                    ("How did you evaluate our product, and theirs?", "Comment avez-vous évalué notre produit, et les leurs ?"),
                    ("What stood out, good or bad?", "Qu’est-ce qui vous a marqué, en bien ou en mal ?"),
                ],
                &[why, example],
            ),
            stage(
                "pricing",
                ("Pricing and business model", "Prix et modèle économique"),
                4,
                &[
                    ("How did our price and terms compare with what you expected?", "Comment notre prix et nos conditions se comparaient-ils à vos attentes ?"),
                    ("Was price the reason, or the reason given?", "Le prix était-il la raison, ou la raison donnée ?"),
                ],
                &[why, ("What would the right price have been, and for what?", "Quel aurait été le bon prix, et pour quoi ?")],
            ),
            stage(
                "sales_experience",
                ("Sales experience", "Expérience commerciale"),
                4,
                &[
                    ("How did our team help, or get in the way?", "En quoi notre équipe vous a-t-elle aidé, ou gêné ?"),
                    ("What did another vendor do better?", "Qu’est-ce qu’un autre fournisseur a mieux fait ?"),
                ],
                &[why, example],
            ),
            stage(
                "competition",
                ("Competition", "Concurrence"),
                4,
                &[
                    ("Who else did you consider, and how did we compare?", "Qui d’autre avez-vous envisagé, et comment nous comparions-nous ?"),
                    ("What did they say about us?", "Que disaient-ils de nous ?"),
                ],
                &[why],
            ),
            stage(
                "decision",
                ("Negotiation and decision process", "Négociation et processus de décision"),
                5,
                &[
                    ("How was the final decision made, and by whom?", "Comment la décision finale a-t-elle été prise, et par qui ?"),
                    ("What tipped the balance at the end?", "Qu’est-ce qui a fait pencher la balance à la fin ?"),
                ],
                &[why, ("Was there a moment the decision could have gone the other way?", "Y a-t-il eu un moment où la décision aurait pu basculer ?")],
            ),
            stage(
                "conclusion",
                ("Conclusion", "Conclusion"),
                5,
                &[
                    ("From 0 to 10, how likely are you to recommend us to a peer?", "De 0 à 10, quelle est la probabilité que vous nous recommandiez à un pair ?"),
                    ("What would it take to work together, now or later?", "Que faudrait-il pour travailler ensemble, maintenant ou plus tard ?"),
                    ("Would you speak for us to a peer?", "Accepteriez-vous de parler de nous à un pair ?"),
                    ("Is there anything we did not ask that we should have?", "Y a-t-il une question que nous aurions dû vous poser ?"),
                ],
                &[why],
            ),
        ],
    }
}

/// Checks a guide; the field at fault and why.
pub fn check(guide: &Guide) -> Result<(), (String, String)> {
    let fail = |field: String, message: &str| Err((field, message.to_owned()));
    if guide.stages.is_empty() || guide.stages.len() > 15 {
        return fail("stages".into(), "must hold 1 to 15 stages");
    }
    let mut keys = HashSet::new();
    for (i, stage) in guide.stages.iter().enumerate() {
        let at = |field: &str| format!("stages[{i}].{field}");
        let key_ok = (1..=40).contains(&stage.key.len())
            && stage
                .key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !key_ok {
            return fail(at("key"), "must be 1 to 40 of a-z, 0-9 and _");
        }
        if !keys.insert(&stage.key) {
            return fail(at("key"), "is given twice");
        }
        if !(1..=30).contains(&stage.minutes) {
            return fail(at("minutes"), "must be 1 to 30");
        }
        check_text(&stage.title, 120, &at("title"))?;
        if stage.questions.is_empty() || stage.questions.len() > 12 {
            return fail(at("questions"), "must hold 1 to 12 questions");
        }
        if stage.five_whys.len() > 8 {
            return fail(at("five_whys"), "must hold at most 8 prompts");
        }
        for (j, q) in stage.questions.iter().enumerate() {
            check_text(q, 500, &at(&format!("questions[{j}]")))?;
        }
        for (j, q) in stage.five_whys.iter().enumerate() {
            check_text(q, 500, &at(&format!("five_whys[{j}]")))?;
        }
    }
    // Each stage is 1 to 30 minutes by now: the sum cannot overflow.
    let total: i64 = guide.stages.iter().map(|s| s.minutes).sum();
    if total > 90 {
        return fail("stages".into(), "must fit in 90 minutes");
    }
    Ok(())
}

fn check_text(text: &Text, max: usize, field: &str) -> Result<(), (String, String)> {
    for (lang, value) in [("en", &text.en), ("fr", &text.fr)] {
        let chars = value.trim().chars().count();
        if chars == 0 || chars > max {
            return Err((
                format!("{field}.{lang}"),
                format!("must be 1 to {max} characters"),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err((
                format!("{field}.{lang}"),
                "must not contain control characters".to_owned(),
            ));
        }
    }
    Ok(())
}

/// The guide's versions: 0 is the built-in one.
pub const VERSIONS: Versions<Guide> = Versions {
    table: "interview_guides",
    builtin: default_guide,
};

/// The guide of `version`: 0 is the built-in one; none for a version never stored.
pub async fn version(db: &Db, version: i64) -> anyhow::Result<Option<Guide>> {
    VERSIONS.at(db, version).await
}

/// The guide in force: the newest stored, else the built-in one.
pub async fn current(db: &Db) -> anyhow::Result<Versioned> {
    let (version, guide) = VERSIONS.current(db).await?;
    Ok(Versioned { version, guide })
}

/// Stores `guide` as the version after `read` if that is still the newest; `None` when
/// another was stored since.
pub async fn store_after(
    db: &Db,
    guide: &Guide,
    read: i64,
    by: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<i64>> {
    VERSIONS.store_after(db, guide, read, by, now).await
}

/// Stores `guide` as the next version; its number.
pub async fn store(db: &Db, guide: &Guide, by: &str, now: DateTime<Utc>) -> anyhow::Result<i64> {
    VERSIONS.store(db, guide, by, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_guide_walks_the_nine_stages_within_45_minutes() {
        let guide = default_guide();
        assert_eq!(check(&guide), Ok(()));
        assert_eq!(guide.stages.len(), 9);
        let minutes: i64 = guide.stages.iter().map(|s| s.minutes).sum();
        assert!((30..=45).contains(&minutes), "{minutes} minutes");
        assert_eq!(guide.stages[0].key, "buyer");
        assert_eq!(guide.stages[8].key, "conclusion");
        assert!(guide.stages.iter().all(|s| !s.five_whys.is_empty()));
    }

    #[test]
    fn a_guide_is_checked_field_by_field() {
        let field = |edit: &dyn Fn(&mut Guide)| {
            let mut guide = default_guide();
            edit(&mut guide);
            check(&guide).expect_err("refused").0
        };
        assert_eq!(
            field(&|g| g.stages[1].key = "Origin!".into()),
            "stages[1].key"
        );
        assert_eq!(
            field(&|g| g.stages[2].key = "buyer".into()),
            "stages[2].key"
        );
        assert_eq!(field(&|g| g.stages[0].minutes = 0), "stages[0].minutes");
        assert_eq!(
            field(&|g| g.stages[3].title.fr = " ".into()),
            "stages[3].title.fr"
        );
        assert_eq!(
            field(&|g| g.stages[4].questions.clear()),
            "stages[4].questions"
        );
        assert_eq!(
            field(&|g| g.stages[5].questions[1].en = "a\u{0}b".into()),
            "stages[5].questions[1].en"
        );
        assert_eq!(field(&|g| g.stages.clear()), "stages");
        assert_eq!(
            field(&|g| g.stages.iter_mut().for_each(|s| s.minutes = 11)),
            "stages"
        );
    }
}

//! Suggested drivers for uncoded text, from a keyword and phrase lexicon per locale that
//! the program edits. No model and no network: a phrase found in a sentence suggests its
//! driver, quoting that sentence as the excerpt (so accepting it passes the excerpt
//! check as it stands). How often analysts agree is measured ([`Agreement`]), so the
//! lexicon can be tuned against their judgement.

use super::taxonomy::Taxonomy;
use crate::platform::db::time::to_db;
use crate::platform::db::Db;
use chrono::{DateTime, Utc};
use debrief_common::Locale;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// A phrase and the driver it suggests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Matched as whole words, whatever the case and accents.
    pub phrase: String,
    pub driver: String,
    /// The influence the phrase usually carries (`too expensive`: −2), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub influence: Option<i64>,
}

/// One locale's lexicon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lexicon {
    pub entries: Vec<Entry>,
}

/// A driver suggested for a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub driver: String,
    /// The lexicon phrase that matched.
    pub phrase: String,
    /// The sentence it was found in, exactly as the buyer wrote it.
    pub excerpt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub influence: Option<i64>,
}

/// Lower case, accents folded, and anything but letters and digits a single space, with
/// a space at each end: phrases then match whole words by plain substring search.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    for c in text.chars().flat_map(char::to_lowercase) {
        let folded = match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' => "a",
            'ç' => "c",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'î' | 'ï' | 'í' | 'ì' => "i",
            'ô' | 'ö' | 'ó' | 'õ' => "o",
            'ù' | 'û' | 'ü' | 'ú' => "u",
            'ÿ' => "y",
            'ñ' => "n",
            'œ' => "oe",
            'æ' => "ae",
            c if c.is_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => " ",
        };
        if folded == " " {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push_str(folded);
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

/// The sentences of `text`, as slices of it, trimmed.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive(['.', '!', '?', ';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The drivers `lexicon` suggests for `text`, each once, in the order first met. An entry
/// for a merged driver suggests the driver it became; one for a driver retired or split
/// suggests nothing (the analyst picks among the new ones).
pub fn suggest(text: &str, lexicon: &Lexicon, taxonomy: &Taxonomy) -> Vec<Suggestion> {
    let entries: Vec<(String, &Entry, &str)> = lexicon
        .entries
        .iter()
        .filter_map(|e| {
            let driver = taxonomy
                .reporting(&e.driver)
                .filter(|d| taxonomy.active(&d.id).is_some())?;
            let phrase = normalize(&e.phrase);
            (phrase.trim() != "").then_some((phrase, e, driver.id.as_str()))
        })
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for sentence in sentences(text) {
        let normalized = normalize(sentence);
        for (phrase, entry, driver) in &entries {
            if normalized.contains(phrase.as_str()) && seen.insert(*driver) {
                out.push(Suggestion {
                    driver: (*driver).to_owned(),
                    phrase: entry.phrase.clone(),
                    excerpt: sentence.to_owned(),
                    influence: entry.influence,
                });
            }
        }
    }
    out
}

/// Checks a lexicon against the taxonomy: the field at fault and why.
pub fn check(lexicon: &Lexicon, taxonomy: &Taxonomy) -> Result<(), (String, String)> {
    if lexicon.entries.len() > 5_000 {
        return Err(("entries".into(), "must hold at most 5,000 entries".into()));
    }
    let mut phrases = HashSet::new();
    for (i, entry) in lexicon.entries.iter().enumerate() {
        let at = |f: &str| format!("entries[{i}].{f}");
        let words = normalize(&entry.phrase);
        if words.trim().is_empty() || entry.phrase.chars().count() > 100 {
            return Err((
                at("phrase"),
                "must be 1 to 100 characters, with a word".into(),
            ));
        }
        if !phrases.insert(words) {
            return Err((at("phrase"), "is given twice".into()));
        }
        if taxonomy.driver(&entry.driver).is_none() {
            return Err((at("driver"), "is not a driver of the taxonomy".into()));
        }
        if entry.influence.is_some_and(|n| !(-2..=2).contains(&n)) {
            return Err((at("influence"), "must be -2 to 2".into()));
        }
    }
    Ok(())
}

/// The lexicon of `locale`: the program's, else the built-in one.
pub async fn lexicon(db: &Db, locale: Locale) -> anyhow::Result<Lexicon> {
    let stored: Option<(String,)> =
        sqlx::query_as("select entries from lexicons where locale = $1")
            .bind(locale.code())
            .fetch_optional(db.pool())
            .await?;
    Ok(match stored {
        Some((json,)) => serde_json::from_str(&json)?,
        None => builtin(locale),
    })
}

/// Stores the program's lexicon for `locale`, in place of the one before.
pub async fn store(
    db: &Db,
    locale: Locale,
    lexicon: &Lexicon,
    by: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "insert into lexicons (locale, entries, updated_at, updated_by) values ($1, $2, $3, $4)
         on conflict (locale) do update set entries = excluded.entries,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(locale.code())
    .bind(serde_json::to_string(lexicon)?)
    .bind(to_db(now))
    .bind(by)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// How well the lexicon agrees with the analysts, over the texts they coded.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Agreement {
    /// Texts analysts coded (or reviewed and found nothing to code).
    pub texts: u64,
    /// Drivers the lexicon suggests for those texts.
    pub suggested: u64,
    /// Of those, the drivers the analysts coded too.
    pub agreed: u64,
    /// Drivers the analysts coded.
    pub coded: u64,
    /// `agreed / suggested`: the share of suggestions analysts accept. `None` before any.
    pub agreement_rate: Option<f64>,
    /// `agreed / coded`: the share of the analysts' drivers the lexicon found.
    pub coverage: Option<f64>,
    /// Per driver suggested or coded: the same counts.
    pub by_driver: BTreeMap<String, DriverAgreement>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct DriverAgreement {
    pub suggested: u64,
    pub agreed: u64,
    pub coded: u64,
}

fn ratio(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| (n as f64 / of as f64 * 1000.0).round() / 1000.0)
}

impl Agreement {
    /// Adds one text: the drivers suggested for it, and those the analysts coded.
    pub fn add(&mut self, suggested: &BTreeSet<String>, coded: &BTreeSet<String>) {
        self.texts += 1;
        for driver in suggested.union(coded) {
            let d = self.by_driver.entry(driver.clone()).or_default();
            let (s, c) = (suggested.contains(driver), coded.contains(driver));
            d.suggested += u64::from(s);
            d.coded += u64::from(c);
            d.agreed += u64::from(s && c);
            self.suggested += u64::from(s);
            self.coded += u64::from(c);
            self.agreed += u64::from(s && c);
        }
        self.agreement_rate = ratio(self.agreed, self.suggested);
        self.coverage = ratio(self.agreed, self.coded);
    }
}

/// The built-in lexicon of `locale`.
pub fn builtin(locale: Locale) -> Lexicon {
    let entries: &[(&str, &str, Option<i64>)] = match locale {
        Locale::En => &[
            ("too expensive", "price", Some(-2)),
            ("expensive", "price", Some(-1)),
            ("price", "price", None),
            ("cheaper", "price", None),
            ("budget", "price", None),
            ("cost", "price", None),
            ("licensing", "pricing_model", None),
            ("per seat", "pricing_model", None),
            ("pricing model", "pricing_model", None),
            ("subscription", "pricing_model", None),
            ("return on investment", "roi", None),
            ("roi", "roi", None),
            ("business case", "roi", None),
            ("contract", "contract_terms", None),
            ("terms", "contract_terms", None),
            ("fit our needs", "product_fit", Some(1)),
            ("fit", "product_fit", None),
            ("use case", "product_fit", None),
            ("feature", "functionality", None),
            ("features", "functionality", None),
            ("functionality", "functionality", None),
            ("missing", "functionality", Some(-1)),
            ("easy to use", "ease_of_use", Some(1)),
            ("ease of use", "ease_of_use", None),
            ("user interface", "ease_of_use", None),
            ("ux", "ease_of_use", None),
            ("integration", "integration", None),
            ("integrate", "integration", None),
            ("api", "integration", None),
            ("security", "security", None),
            ("compliance", "security", None),
            ("gdpr", "security", None),
            ("implementation", "implementation", None),
            ("time to value", "implementation", None),
            ("rollout", "implementation", None),
            ("understood our", "understood_need", Some(1)),
            ("did not understand", "understood_need", Some(-2)),
            ("listened", "understood_need", Some(1)),
            ("responsive", "responsiveness", Some(1)),
            ("slow to respond", "responsiveness", Some(-2)),
            ("follow up", "responsiveness", None),
            ("demo", "demo", None),
            ("proof of concept", "demo", None),
            ("poc", "demo", None),
            ("pilot", "demo", None),
            ("trust", "trust", None),
            ("pushy", "trust", Some(-2)),
            ("honest", "trust", Some(1)),
            ("reputation", "reputation", None),
            ("brand", "reputation", None),
            ("analyst report", "reputation", None),
            ("financial", "viability", None),
            ("roadmap", "viability", None),
            ("startup", "viability", None),
            ("references", "references", None),
            ("reference", "references", None),
            ("case study", "references", None),
            ("expertise", "expertise", None),
            ("our industry", "expertise", None),
            ("support", "support_quality", None),
            ("helpdesk", "support_quality", None),
            ("onboarding", "onboarding", None),
            ("training", "onboarding", None),
            ("sla", "service_levels", None),
            ("uptime", "service_levels", None),
            ("service level", "service_levels", None),
            ("account manager", "account_management", None),
            ("customer success", "account_management", None),
        ],
        Locale::Fr => &[
            ("trop cher", "price", Some(-2)),
            ("trop chere", "price", Some(-2)),
            ("trop chers", "price", Some(-2)),
            ("cher", "price", Some(-1)),
            ("chere", "price", Some(-1)),
            ("prix", "price", None),
            ("tarif", "price", None),
            ("budget", "price", None),
            ("cout", "price", None),
            ("moins cher", "price", None),
            ("licence", "pricing_model", None),
            ("par utilisateur", "pricing_model", None),
            ("abonnement", "pricing_model", None),
            ("modele de prix", "pricing_model", None),
            ("retour sur investissement", "roi", None),
            ("roi", "roi", None),
            ("rentabilite", "roi", None),
            ("contrat", "contract_terms", None),
            ("conditions", "contract_terms", None),
            ("besoins", "product_fit", None),
            ("adequation", "product_fit", None),
            ("fonctionnalite", "functionality", None),
            ("fonctionnalites", "functionality", None),
            ("manque", "functionality", Some(-1)),
            ("facile", "ease_of_use", Some(1)),
            ("ergonomie", "ease_of_use", None),
            ("interface", "ease_of_use", None),
            ("integration", "integration", None),
            ("api", "integration", None),
            ("connecteur", "integration", None),
            ("securite", "security", None),
            ("conformite", "security", None),
            ("rgpd", "security", None),
            ("mise en oeuvre", "implementation", None),
            ("deploiement", "implementation", None),
            ("delai", "implementation", None),
            ("compris notre", "understood_need", Some(1)),
            ("pas compris", "understood_need", Some(-2)),
            ("ecoute", "understood_need", Some(1)),
            ("reactif", "responsiveness", Some(1)),
            ("reactivite", "responsiveness", None),
            ("relance", "responsiveness", None),
            ("demo", "demo", None),
            ("demonstration", "demo", None),
            ("preuve de concept", "demo", None),
            ("pilote", "demo", None),
            ("confiance", "trust", None),
            ("insistant", "trust", Some(-2)),
            ("reputation", "reputation", None),
            ("notoriete", "reputation", None),
            ("marque", "reputation", None),
            ("solidite financiere", "viability", None),
            ("feuille de route", "viability", None),
            ("perennite", "viability", None),
            ("references", "references", None),
            ("reference", "references", None),
            ("temoignage", "references", None),
            ("expertise", "expertise", None),
            ("notre secteur", "expertise", None),
            ("support", "support_quality", None),
            ("assistance", "support_quality", None),
            ("accompagnement", "onboarding", None),
            ("formation", "onboarding", None),
            ("niveau de service", "service_levels", None),
            ("disponibilite", "service_levels", None),
            ("sla", "service_levels", None),
            ("suivi de compte", "account_management", None),
            ("interlocuteur", "account_management", None),
        ],
    };
    Lexicon {
        entries: entries
            .iter()
            .map(|(phrase, driver, influence)| Entry {
                phrase: (*phrase).to_owned(),
                driver: (*driver).to_owned(),
                influence: *influence,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::taxonomy::{builtin as taxonomy, Change};

    #[test]
    fn phrases_match_whole_words_whatever_the_case_and_accents() {
        let t = taxonomy();
        let fr = builtin(Locale::Fr);
        let found = suggest(
            "Votre offre était TROP CHÈRE pour nous. La démo, en revanche, était parfaite !",
            &fr,
            &t,
        );
        let drivers: Vec<_> = found.iter().map(|s| s.driver.as_str()).collect();
        assert_eq!(drivers, ["price", "demo"]);
        assert_eq!(found[0].excerpt, "Votre offre était TROP CHÈRE pour nous.");
        assert_eq!(found[1].excerpt, "La démo, en revanche, était parfaite !");
        // "api" is a word, not a part of "rapide".
        assert!(suggest("Une réponse rapide.", &fr, &t).is_empty());
    }

    #[test]
    fn a_merged_driver_is_suggested_as_the_one_it_became_and_a_split_one_not_at_all() {
        let t = taxonomy()
            .with(&[
                Change::Merge {
                    drivers: vec!["demo".into(), "trust".into()],
                    into: "demo".into(),
                    label: None,
                    family: None,
                },
                Change::Add {
                    family: "sales_experience".into(),
                    id: "negotiation".into(),
                    label: crate::web::text::Text::new("Negotiation", "Négociation"),
                },
            ])
            .expect("valid");
        let en = builtin(Locale::En);
        let found = suggest("We did not trust them.", &en, &t);
        assert_eq!(found.first().map(|s| s.driver.as_str()), Some("demo"));
    }

    #[test]
    fn agreement_counts_suggestions_analysts_took_and_drivers_they_found_alone() {
        let set = |d: &[&str]| d.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        let mut a = Agreement::default();
        a.add(&set(&["price", "demo"]), &set(&["price"]));
        a.add(
            &set(&["support_quality"]),
            &set(&["support_quality", "trust"]),
        );
        assert_eq!((a.texts, a.suggested, a.agreed, a.coded), (2, 3, 2, 3));
        assert_eq!(a.agreement_rate, Some(0.667));
        assert_eq!(a.coverage, Some(0.667));
        assert_eq!(a.by_driver["demo"].agreed, 0);
    }

    #[test]
    fn the_builtin_lexicons_name_drivers_of_the_builtin_taxonomy() {
        for locale in Locale::ALL {
            assert_eq!(check(&builtin(locale), &taxonomy()), Ok(()), "{locale:?}");
        }
    }
}

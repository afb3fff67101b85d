//! The decision-driver taxonomy: 15 to 25 drivers in families (product and service, sales
//! experience, price and packaging, company, customer support), each labelled in English
//! and French. Every coded insight names a driver by its id and the taxonomy version it
//! was coded against.
//!
//! A program reshapes the taxonomy through [`Change`]s, each set stored as a new version.
//! Ids are never reused and never deleted, so history keeps its meaning:
//! - a **rename** changes a label, not the id: past insights read the new label;
//! - a **merge** retires drivers in favour of one: their past insights count under it;
//! - a **split** retires a driver in favour of several: its past insights cannot be
//!   divided after the fact, so they stay under the old driver, shown as split;
//! - a **retire** stops a driver being coded; its past insights stay under it.

use crate::platform::versions::Versions;
use crate::text_enum;
use crate::web::text::Text;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

text_enum! {
    /// Whether a driver is offered for coding.
    pub enum DriverStatus {
        Active = "active",
        /// Kept for history: merged, split or retired.
        Retired = "retired",
    }
}

/// A family of drivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Family {
    pub id: String,
    pub label: Text,
}

/// A decision driver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Driver {
    /// Stable for ever: insights are coded by it.
    pub id: String,
    pub family: String,
    pub label: Text,
    pub status: DriverStatus,
    /// For a retired driver: the one it was merged into, or those it was split into.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaced_by: Vec<String>,
}

/// The taxonomy: families and drivers, retired ones included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    pub families: Vec<Family>,
    pub drivers: Vec<Driver>,
}

/// A taxonomy as stored, with its version.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionedTaxonomy {
    pub version: i64,
    pub taxonomy: Taxonomy,
}

/// A new driver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDriver {
    pub id: String,
    pub label: Text,
}

/// One edit of the taxonomy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// A new driver in a family.
    Add {
        family: String,
        id: String,
        label: Text,
    },
    /// A driver's new label (and family, if given); its id and history stay.
    Rename {
        driver: String,
        label: Text,
        #[serde(default)]
        family: Option<String>,
    },
    /// Several drivers become one: `into` is one of them, or a new driver (then `label`
    /// and `family` are required). Past insights of the others count under it.
    Merge {
        drivers: Vec<String>,
        into: String,
        #[serde(default)]
        label: Option<Text>,
        #[serde(default)]
        family: Option<String>,
    },
    /// One driver becomes several new ones in its family.
    Split {
        driver: String,
        into: Vec<NewDriver>,
    },
    /// A driver is no longer coded.
    Retire { driver: String },
    /// A new family (it needs 4 drivers added in the same set of changes).
    AddFamily { id: String, label: Text },
}

/// The taxonomy's versions: 0 is the built-in one.
pub const VERSIONS: Versions<Taxonomy> = Versions {
    table: "driver_taxonomies",
    builtin,
};

/// Active drivers in all, and in each family with any.
pub const DRIVERS: std::ops::RangeInclusive<usize> = 15..=25;
pub const PER_FAMILY: std::ops::RangeInclusive<usize> = 4..=10;

/// The built-in taxonomy: the driver matrix of the built-in win-loss survey, plus two
/// drivers analysts code from free text.
pub fn builtin() -> Taxonomy {
    let families = [
        (
            "product_service",
            "Product and service",
            "Produit et service",
        ),
        (
            "sales_experience",
            "Sales experience",
            "Expérience commerciale",
        ),
        (
            "price_and_packaging",
            "Price and packaging",
            "Prix et offre",
        ),
        ("company", "Company", "Entreprise"),
        ("customer_support", "Customer support", "Support client"),
    ];
    let drivers = [
        (
            "product_service",
            "product_fit",
            "Fit with our needs",
            "Adéquation à nos besoins",
        ),
        (
            "product_service",
            "functionality",
            "Features and capabilities",
            "Fonctionnalités",
        ),
        (
            "product_service",
            "ease_of_use",
            "Ease of use",
            "Facilité d'utilisation",
        ),
        (
            "product_service",
            "integration",
            "Integration with our systems",
            "Intégration à nos systèmes",
        ),
        (
            "product_service",
            "security",
            "Security and compliance",
            "Sécurité et conformité",
        ),
        (
            "product_service",
            "implementation",
            "Implementation plan and time to value",
            "Plan de mise en œuvre et délai de résultats",
        ),
        (
            "sales_experience",
            "understood_need",
            "The sales team understood our need",
            "L'équipe commerciale a compris notre besoin",
        ),
        (
            "sales_experience",
            "responsiveness",
            "Responsiveness",
            "Réactivité",
        ),
        (
            "sales_experience",
            "demo",
            "Demo and proof of concept",
            "Démonstration et preuve de concept",
        ),
        (
            "sales_experience",
            "trust",
            "Trust in the people we worked with",
            "Confiance dans nos interlocuteurs",
        ),
        ("price_and_packaging", "price", "Price", "Prix"),
        (
            "price_and_packaging",
            "pricing_model",
            "Pricing model and flexibility",
            "Modèle de prix et flexibilité",
        ),
        (
            "price_and_packaging",
            "roi",
            "Expected return on investment",
            "Retour sur investissement attendu",
        ),
        (
            "price_and_packaging",
            "contract_terms",
            "Contract terms",
            "Conditions contractuelles",
        ),
        ("company", "reputation", "Reputation", "Réputation"),
        (
            "company",
            "viability",
            "Financial strength and roadmap",
            "Solidité financière et feuille de route",
        ),
        (
            "company",
            "references",
            "Customer references",
            "Références clients",
        ),
        (
            "company",
            "expertise",
            "Expertise in our industry",
            "Expertise de notre secteur",
        ),
        (
            "customer_support",
            "support_quality",
            "Quality of support",
            "Qualité du support",
        ),
        (
            "customer_support",
            "onboarding",
            "Onboarding and training",
            "Accompagnement et formation",
        ),
        (
            "customer_support",
            "service_levels",
            "Service levels",
            "Niveaux de service",
        ),
        (
            "customer_support",
            "account_management",
            "Account management",
            "Suivi de compte",
        ),
    ];
    Taxonomy {
        families: families
            .into_iter()
            .map(|(id, en, fr)| Family {
                id: id.to_owned(),
                label: Text::new(en, fr),
            })
            .collect(),
        drivers: drivers
            .into_iter()
            .map(|(family, id, en, fr)| Driver {
                id: id.to_owned(),
                family: family.to_owned(),
                label: Text::new(en, fr),
                status: DriverStatus::Active,
                replaced_by: Vec::new(),
            })
            .collect(),
    }
}

/// A refusal: the field at fault and why.
pub type Refusal = (String, String);

fn refuse<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, Refusal> {
    Err((field.into(), message.into()))
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && id.len() <= 40
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn check_label(label: &Text, field: &str) -> Result<(), Refusal> {
    for (lang, text) in [("en", &label.en), ("fr", &label.fr)] {
        let chars = text.trim().chars().count();
        if chars == 0 || chars > 120 || text.chars().any(char::is_control) {
            return refuse(
                format!("{field}.{lang}"),
                "must be 1 to 120 characters, with no control characters",
            );
        }
    }
    Ok(())
}

impl Taxonomy {
    pub fn driver(&self, id: &str) -> Option<&Driver> {
        self.drivers.iter().find(|d| d.id == id)
    }

    pub fn family(&self, id: &str) -> Option<&Family> {
        self.families.iter().find(|f| f.id == id)
    }

    /// A driver analysts may code now.
    pub fn active(&self, id: &str) -> Option<&Driver> {
        self.driver(id).filter(|d| d.status == DriverStatus::Active)
    }

    pub fn active_drivers(&self) -> impl Iterator<Item = &Driver> {
        self.drivers
            .iter()
            .filter(|d| d.status == DriverStatus::Active)
    }

    /// The driver an insight coded as `id` counts under today: merges are followed (an
    /// insight about a merged driver counts for the driver it became); a split or retired
    /// driver keeps its own insights. `None` for an id this taxonomy never had.
    pub fn reporting(&self, id: &str) -> Option<&Driver> {
        let mut driver = self.driver(id)?;
        // Each merge retires drivers into one that was active then, so a chain is at
        // most as long as the taxonomy; the bound guards a hand-edited cycle.
        for _ in 0..self.drivers.len() {
            match driver.replaced_by.as_slice() {
                [one] => match self.driver(one) {
                    Some(next) => driver = next,
                    None => break,
                },
                _ => break,
            }
        }
        Some(driver)
    }

    /// Every driver whose insights count under `id` today: itself and those merged into
    /// it (see [`Taxonomy::reporting`]).
    pub fn counted_under(&self, id: &str) -> Vec<&str> {
        self.drivers
            .iter()
            .filter(|d| self.reporting(&d.id).is_some_and(|r| r.id == id))
            .map(|d| d.id.as_str())
            .collect()
    }

    /// Checks the shape every stored version keeps.
    pub fn check(&self) -> Result<(), Refusal> {
        let mut families = HashSet::new();
        for (i, family) in self.families.iter().enumerate() {
            if !valid_id(&family.id) {
                return refuse(
                    format!("families[{i}].id"),
                    "must be lower-case letters, digits and _, starting with a letter (at most 40)",
                );
            }
            if !families.insert(family.id.as_str()) {
                return refuse(format!("families[{i}].id"), "is given twice");
            }
            check_label(&family.label, &format!("families[{i}].label"))?;
        }
        let mut ids = HashSet::new();
        let mut per_family: HashMap<&str, usize> = HashMap::new();
        for (i, driver) in self.drivers.iter().enumerate() {
            let at = |f: &str| format!("drivers[{i}].{f}");
            if !valid_id(&driver.id) {
                return refuse(
                    at("id"),
                    "must be lower-case letters, digits and _, starting with a letter (at most 40)",
                );
            }
            if !ids.insert(driver.id.as_str()) {
                return refuse(at("id"), "is given twice");
            }
            if !families.contains(driver.family.as_str()) {
                return refuse(at("family"), "is not a family of the taxonomy");
            }
            check_label(&driver.label, &at("label"))?;
            if driver.status == DriverStatus::Active {
                *per_family.entry(&driver.family).or_default() += 1;
            }
        }
        for (i, driver) in self.drivers.iter().enumerate() {
            if driver.status == DriverStatus::Active && !driver.replaced_by.is_empty() {
                return refuse(
                    format!("drivers[{i}].replaced_by"),
                    "only a retired driver is replaced",
                );
            }
            if let Some(unknown) = driver
                .replaced_by
                .iter()
                .find(|r| !ids.contains(r.as_str()))
            {
                return refuse(
                    format!("drivers[{i}].replaced_by"),
                    format!("names {unknown}, which is not a driver"),
                );
            }
        }
        let active: usize = per_family.values().sum();
        if !DRIVERS.contains(&active) {
            return refuse(
                "drivers",
                format!("must hold 15 to 25 active drivers, not {active}"),
            );
        }
        for family in &self.families {
            let n = per_family.get(family.id.as_str()).copied().unwrap_or(0);
            if n > 0 && !PER_FAMILY.contains(&n) {
                return refuse(
                    "drivers",
                    format!(
                        "family {} must hold 4 to 10 active drivers, not {n}",
                        family.id
                    ),
                );
            }
        }
        Ok(())
    }

    /// This taxonomy with `changes` made in order, checked; the field at fault names the
    /// change (`changes[2].into`) or, for the shape of the result, the taxonomy.
    pub fn with(&self, changes: &[Change]) -> Result<Taxonomy, Refusal> {
        if changes.is_empty() || changes.len() > 100 {
            return refuse("changes", "must hold 1 to 100 changes");
        }
        let mut next = self.clone();
        for (i, change) in changes.iter().enumerate() {
            next.change(change, &format!("changes[{i}]"))?;
        }
        next.check()?;
        Ok(next)
    }

    fn active_mut(&mut self, id: &str, field: String) -> Result<&mut Driver, Refusal> {
        match self.drivers.iter_mut().find(|d| d.id == id) {
            Some(d) if d.status == DriverStatus::Active => Ok(d),
            Some(_) => refuse(field, format!("{id} is retired")),
            None => refuse(field, format!("{id} is not a driver")),
        }
    }

    fn new_driver(
        &mut self,
        family: &str,
        id: &str,
        label: &Text,
        at: &str,
    ) -> Result<(), Refusal> {
        if !valid_id(id) {
            return refuse(
                format!("{at}.id"),
                "must be lower-case letters, digits and _, starting with a letter (at most 40)",
            );
        }
        if self.driver(id).is_some() {
            // Ids are never reused: a retired driver's history would read as the new one's.
            return refuse(
                format!("{at}.id"),
                format!("{id} is taken (ids are never reused)"),
            );
        }
        if self.family(family).is_none() {
            return refuse(format!("{at}.family"), format!("{family} is not a family"));
        }
        check_label(label, &format!("{at}.label"))?;
        self.drivers.push(Driver {
            id: id.to_owned(),
            family: family.to_owned(),
            label: label.clone(),
            status: DriverStatus::Active,
            replaced_by: Vec::new(),
        });
        Ok(())
    }

    fn change(&mut self, change: &Change, at: &str) -> Result<(), Refusal> {
        match change {
            Change::Add { family, id, label } => self.new_driver(family, id, label, at),
            Change::Rename {
                driver,
                label,
                family,
            } => {
                check_label(label, &format!("{at}.label"))?;
                if let Some(f) = family.as_deref().filter(|f| self.family(f).is_none()) {
                    return refuse(format!("{at}.family"), format!("{f} is not a family"));
                }
                let d = self.active_mut(driver, format!("{at}.driver"))?;
                d.label = label.clone();
                if let Some(f) = family {
                    d.family = f.clone();
                }
                Ok(())
            }
            Change::Merge {
                drivers,
                into,
                label,
                family,
            } => {
                let distinct: HashSet<&String> = drivers.iter().collect();
                if drivers.len() < 2 || distinct.len() != drivers.len() {
                    return refuse(
                        format!("{at}.drivers"),
                        "must name 2 or more drivers, each once",
                    );
                }
                for (j, id) in drivers.iter().enumerate() {
                    self.active_mut(id, format!("{at}.drivers[{j}]"))?;
                }
                if !drivers.contains(into) {
                    let (Some(label), Some(family)) = (label, family) else {
                        return refuse(
                            format!("{at}.into"),
                            "is a new driver: give its label and family, or merge into one of the drivers",
                        );
                    };
                    self.new_driver(family, into, label, at)?;
                } else if let Some(label) = label {
                    check_label(label, &format!("{at}.label"))?;
                    self.active_mut(into, format!("{at}.into"))?.label = label.clone();
                }
                for d in self.drivers.iter_mut() {
                    if drivers.contains(&d.id) && d.id != *into {
                        d.status = DriverStatus::Retired;
                        d.replaced_by = vec![into.clone()];
                    }
                }
                Ok(())
            }
            Change::Split { driver, into } => {
                if into.len() < 2 {
                    return refuse(format!("{at}.into"), "must name 2 or more new drivers");
                }
                let family = self
                    .active_mut(driver, format!("{at}.driver"))?
                    .family
                    .clone();
                for (j, new) in into.iter().enumerate() {
                    self.new_driver(&family, &new.id, &new.label, &format!("{at}.into[{j}]"))?;
                }
                let d = self.active_mut(driver, format!("{at}.driver"))?;
                d.status = DriverStatus::Retired;
                d.replaced_by = into.iter().map(|n| n.id.clone()).collect();
                Ok(())
            }
            Change::Retire { driver } => {
                self.active_mut(driver, format!("{at}.driver"))?.status = DriverStatus::Retired;
                Ok(())
            }
            Change::AddFamily { id, label } => {
                if !valid_id(id) {
                    return refuse(
                        format!("{at}.id"),
                        "must be lower-case letters, digits and _, starting with a letter (at most 40)",
                    );
                }
                if self.family(id).is_some() {
                    return refuse(format!("{at}.id"), format!("{id} is a family already"));
                }
                check_label(label, &format!("{at}.label"))?;
                self.families.push(Family {
                    id: id.clone(),
                    label: label.clone(),
                });
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(en: &str) -> Text {
        Text::new(en, en)
    }

    #[test]
    fn the_builtin_taxonomy_has_22_drivers_in_5_families_of_4_to_6() {
        let t = builtin();
        assert_eq!(t.check(), Ok(()));
        assert_eq!(t.families.len(), 5);
        assert_eq!(t.active_drivers().count(), 22);
    }

    #[test]
    fn the_builtin_taxonomy_covers_every_row_of_the_builtin_driver_matrix() {
        let t = builtin();
        use debrief_common::survey::{Definition, QuestionKind, DEFAULT_WIN_LOSS};
        let survey: Definition = serde_json::from_str(DEFAULT_WIN_LOSS).expect("built-in survey");
        let rows: Vec<_> = survey
            .questions()
            .flat_map(|(_, q)| match &q.kind {
                QuestionKind::DriverMatrix { drivers } => drivers.clone(),
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(rows.len(), 20);
        for row in rows {
            let driver = t
                .active(&row.id)
                .unwrap_or_else(|| panic!("{} is a driver", row.id));
            assert_eq!(driver.family, row.family.code(), "{}", row.id);
        }
    }

    #[test]
    fn a_merge_counts_history_under_the_merged_driver_and_a_split_keeps_its_own() {
        let t = builtin()
            .with(&[
                Change::Add {
                    family: "price_and_packaging".into(),
                    id: "discounts".into(),
                    label: label("Discounts"),
                },
                Change::Add {
                    family: "price_and_packaging".into(),
                    id: "payment_terms".into(),
                    label: label("Payment terms"),
                },
                Change::Merge {
                    drivers: vec!["price".into(), "pricing_model".into()],
                    into: "price".into(),
                    label: Some(label("Price and pricing model")),
                    family: None,
                },
                Change::Split {
                    driver: "integration".into(),
                    into: vec![
                        NewDriver {
                            id: "integration_crm".into(),
                            label: label("CRM integration"),
                        },
                        NewDriver {
                            id: "integration_erp".into(),
                            label: label("ERP integration"),
                        },
                    ],
                },
            ])
            .expect("valid changes");
        let reporting = |id: &str| t.reporting(id).map(|d| d.id.as_str());
        assert_eq!(reporting("pricing_model"), Some("price"));
        assert_eq!(
            t.driver("price").map(|d| d.label.en.as_str()),
            Some("Price and pricing model")
        );
        assert_eq!(reporting("integration"), Some("integration"));
        assert!(t.active("integration").is_none());
        assert!(t.active("integration_erp").is_some());
        assert_eq!(reporting("weather"), None);
        // A merge into a merged driver follows the chain.
        let later = t
            .with(&[Change::Merge {
                drivers: vec!["price".into(), "roi".into()],
                into: "value".into(),
                label: Some(label("Value for money")),
                family: Some("price_and_packaging".into()),
            }])
            .expect("valid merge");
        assert_eq!(
            later.reporting("pricing_model").map(|d| d.id.as_str()),
            Some("value")
        );
    }

    #[test]
    fn changes_that_break_the_shape_are_refused_naming_the_field() {
        let t = builtin();
        let field = |changes: &[Change]| t.with(changes).expect_err("refused").0;
        assert_eq!(
            field(&[Change::Retire {
                driver: "weather".into()
            }]),
            "changes[0].driver"
        );
        assert_eq!(
            field(&[
                Change::Retire {
                    driver: "price".into()
                },
                Change::Retire {
                    driver: "price".into()
                },
            ]),
            "changes[1].driver"
        );
        // Price and packaging would keep 3.
        assert_eq!(
            field(&[Change::Retire {
                driver: "roi".into()
            }]),
            "drivers"
        );
        assert_eq!(
            field(&[Change::Add {
                family: "company".into(),
                id: "price".into(),
                label: label("Again")
            }]),
            "changes[0].id"
        );
        assert_eq!(
            field(&[Change::Merge {
                drivers: vec!["demo".into()],
                into: "demo".into(),
                label: None,
                family: None
            }]),
            "changes[0].drivers"
        );
        assert_eq!(
            field(&[Change::Rename {
                driver: "demo".into(),
                label: Text::new("", "Démo"),
                family: None
            }]),
            "changes[0].label.en"
        );
        assert_eq!(field(&[]), "changes");
    }
}

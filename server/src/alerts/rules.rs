//! Alert rules: a metric on a slice of the program over a window of months, against the
//! window before it or a fixed threshold, with a minimum sample so that noise does not
//! alert, and the program owner's corrective action. Each rule may be evaluated per
//! segment, competitor or outcome: each group alerts on its own.

use crate::channels::webhooks;
use crate::insights::taxonomy::Taxonomy;
use crate::outreach::Outcome;
use crate::platform::db::time::to_db;
use crate::platform::db::{self, Db};
use crate::text_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

text_enum! {
    /// What a rule watches. NPS reads −100 to 100; the others are percentages, 0 to 100.
    pub enum Metric {
        Nps = "nps",
        /// Completed over invited.
        Participation = "participation",
        /// The share of a driver's mentions that weighed against us.
        DriverNegativeShare = "driver_negative_share",
        /// Won over won and lost, among coded buyers.
        WinRate = "win_rate",
    }
}

impl Metric {
    /// The values the metric can take.
    pub fn range(self) -> (f64, f64) {
        match self {
            Metric::Nps => (-100.0, 100.0),
            _ => (0.0, 100.0),
        }
    }
}

text_enum! {
    /// What a rule's groups are.
    pub enum Per {
        Segment = "segment",
        Competitor = "competitor",
        Outcome = "outcome",
    }
}

text_enum! {
    /// How a change against the previous window is measured.
    pub enum Unit {
        /// In the metric's own points: NPS 42 to 30 is −12.
        Points = "points",
        /// Relative: participation 40% to 36% is −10%.
        Percent = "percent",
    }
}

/// What the value is compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "against", rename_all = "snake_case", deny_unknown_fields)]
pub enum Comparison {
    /// The same metric over the window before: alerts when the change reaches `change`
    /// (negative: a drop of at least that much; positive: a rise).
    PreviousWindow { change: f64, unit: Unit },
    /// A fixed bound: alerts below `below` or above `above`.
    Threshold {
        #[serde(default)]
        below: Option<f64>,
        #[serde(default)]
        above: Option<f64>,
    },
}

/// Where a firing is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Receiver {
    /// A Slack incoming webhook.
    Slack { url: String },
    /// A Microsoft Teams incoming webhook.
    Teams { url: String },
    /// Any HTTP endpoint, signed per Standard Webhooks; the secret (`whsec_…`) is made
    /// when not given, and shown only when the rule is created or changed.
    Webhook {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
    },
}

impl Receiver {
    pub fn url(&self) -> &str {
        match self {
            Receiver::Slack { url } | Receiver::Teams { url } | Receiver::Webhook { url, .. } => {
                url
            }
        }
    }
}

/// A rule, as staff write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    pub metric: Metric,
    /// For `driver_negative_share`: the driver watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// The slice watched; none for the whole program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub competitor: Option<String>,
    /// Each group of the slice alerts on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<Per>,
    /// Months in a window, 1 to 12, the current month last.
    pub window_months: u32,
    pub comparison: Comparison,
    /// Answers (or invitations, for participation) each window needs before the rule may
    /// alert.
    pub min_sample: u64,
    /// What to do about it, in the program owner's words.
    pub action: String,
    /// Who is emailed when it fires.
    #[serde(default)]
    pub owners: Vec<String>,
    /// The language the owners are emailed in: en (the default) or fr.
    #[serde(default)]
    pub locale: debrief_common::Locale,
    #[serde(default)]
    pub receivers: Vec<Receiver>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A refusal: the field at fault and why.
pub type Refusal = (String, String);

impl Rule {
    /// Checks a rule; receivers' addresses are checked apart ([`Rule::check_receivers`]).
    pub fn check(&self, taxonomy: &Taxonomy) -> Result<(), Refusal> {
        let fail = |field: &str, message: &str| Err((field.to_owned(), message.to_owned()));
        let name = self.name.trim().chars().count();
        if name == 0 || name > 200 || self.name.chars().any(char::is_control) {
            return fail("name", "must be 1 to 200 characters");
        }
        match (&self.metric, &self.driver) {
            (Metric::DriverNegativeShare, None) => {
                return fail("driver", "is needed to watch a driver's negative share")
            }
            (Metric::DriverNegativeShare, Some(d)) if taxonomy.driver(d).is_none() => {
                return fail("driver", "is not a driver of the taxonomy")
            }
            (Metric::DriverNegativeShare, _) => {}
            (_, Some(_)) => return fail("driver", "only a driver_negative_share rule names one"),
            (_, None) => {}
        }
        for (field, value) in [("segment", &self.segment), ("competitor", &self.competitor)] {
            if value
                .as_ref()
                .is_some_and(|v| v.trim().is_empty() || v.chars().count() > 200)
            {
                return fail(field, "must be 1 to 200 characters");
            }
        }
        if self.metric == Metric::Participation
            && (self.competitor.is_some() || self.per == Some(Per::Competitor))
        {
            return fail(
                "competitor",
                "participation is not counted by competitor: an invitation's deal may have met several",
            );
        }
        if self.metric == Metric::WinRate
            && (self.outcome.is_some() || self.per == Some(Per::Outcome))
        {
            return fail(
                "outcome",
                "a win rate counts wins and losses: it takes no outcome",
            );
        }
        if !(1..=12).contains(&self.window_months) {
            return fail("window_months", "must be 1 to 12");
        }
        let (low, high) = self.metric.range();
        match &self.comparison {
            Comparison::PreviousWindow { change, unit } => {
                let span = match unit {
                    Unit::Points => high - low,
                    Unit::Percent => 1000.0,
                };
                let possible = match unit {
                    Unit::Points => change.abs() <= span,
                    // A value cannot fall by more than all of itself.
                    Unit::Percent => *change >= -100.0 && *change <= span,
                };
                if !change.is_finite() || *change == 0.0 || !possible {
                    return fail(
                        "comparison.change",
                        "must be a change the metric can make: not zero, within its range",
                    );
                }
            }
            Comparison::Threshold { below, above } => {
                if below.is_none() && above.is_none() {
                    return fail("comparison", "needs below, above or both");
                }
                // Nothing falls below the bottom of the range, nor rises above its top.
                if below.is_some_and(|b| !(b > low && b <= high)) {
                    return fail(
                        "comparison.below",
                        "must be a value the metric can fall below",
                    );
                }
                if above.is_some_and(|a| !(a >= low && a < high)) {
                    return fail(
                        "comparison.above",
                        "must be a value the metric can rise above",
                    );
                }
            }
        }
        if self.min_sample == 0 || self.min_sample > 1_000_000 {
            return fail("min_sample", "must be 1 to 1,000,000");
        }
        let action = self.action.trim().chars().count();
        if action == 0 || action > 2_000 {
            return fail("action", "must be 1 to 2,000 characters");
        }
        if self.owners.len() > 20 {
            return fail("owners", "must hold at most 20 addresses");
        }
        for (i, owner) in self.owners.iter().enumerate() {
            if owner.parse::<lettre::Address>().is_err() {
                return Err((format!("owners[{i}]"), "must be an email address".into()));
            }
        }
        if self.receivers.len() > 10 {
            return fail("receivers", "must hold at most 10 receivers");
        }
        for (i, receiver) in self.receivers.iter().enumerate() {
            webhooks::Url::parse(receiver.url())
                .map_err(|e| (format!("receivers[{i}].url"), e.to_string()))?;
            if let Receiver::Webhook {
                secret: Some(secret),
                ..
            } = receiver
            {
                if !webhooks::valid_secret(secret) {
                    return Err((
                        format!("receivers[{i}].secret"),
                        "must be whsec_ and 24 to 64 bytes in base64".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Refuses a receiver whose address is private or loopback (unless allowed), or does
    /// not resolve.
    pub async fn check_receivers(&self, allow_private: bool) -> Result<(), Refusal> {
        for (i, receiver) in self.receivers.iter().enumerate() {
            let url = webhooks::Url::parse(receiver.url())
                .map_err(|e| (format!("receivers[{i}].url"), e.to_string()))?;
            url.resolve(allow_private)
                .await
                .map_err(|e| (format!("receivers[{i}].url"), e.to_string()))?;
        }
        Ok(())
    }

    /// Gives each webhook receiver without a secret a new one.
    pub fn with_secrets(mut self) -> Rule {
        for receiver in &mut self.receivers {
            if let Receiver::Webhook { secret, .. } = receiver {
                if secret.is_none() {
                    *secret = Some(webhooks::new_secret());
                }
            }
        }
        self
    }

    /// As shown when read back: secrets withheld, and Slack's and Teams' URLs masked
    /// (the URL is their only credential: whoever reads it can post to the channel).
    pub fn redacted(mut self) -> Rule {
        for receiver in &mut self.receivers {
            if let Receiver::Webhook { secret, .. } = receiver {
                *secret = None;
            }
        }
        self.masked()
    }

    /// Slack's and Teams' URLs masked; a webhook's new secret still shown (once, as the
    /// rule is created or changed).
    pub fn masked(mut self) -> Rule {
        for receiver in &mut self.receivers {
            if let Receiver::Slack { url } | Receiver::Teams { url } = receiver {
                *url = masked(url);
            }
        }
        self
    }

    /// `self` as sent back by an editor who read it [`Rule::redacted`]: each masked URL
    /// is the stored receiver of the same kind it masks, wherever the editor moved it
    /// (the mask carries a fingerprint of the URL, so two Slack channels never swap). A
    /// mask that matches none is a refusal naming the receiver's URL.
    pub fn unmasked(mut self, stored: &Rule) -> Result<Rule, Refusal> {
        for (i, receiver) in self.receivers.iter_mut().enumerate() {
            let full = match &*receiver {
                Receiver::Slack { url } => stored.receivers.iter().find_map(|r| match r {
                    Receiver::Slack { url: full } if masked(full) == *url => Some(full.clone()),
                    _ => None,
                }),
                Receiver::Teams { url } => stored.receivers.iter().find_map(|r| match r {
                    Receiver::Teams { url: full } if masked(full) == *url => Some(full.clone()),
                    _ => None,
                }),
                Receiver::Webhook { .. } => None,
            };
            match (receiver, full) {
                (Receiver::Slack { url } | Receiver::Teams { url }, Some(full)) => *url = full,
                (receiver, _) if receiver.url().contains("/…") => {
                    return Err((
                        format!("receivers[{i}].url"),
                        "is masked and matches no stored receiver of its kind: send the full URL"
                            .into(),
                    ));
                }
                _ => {}
            }
        }
        Ok(self)
    }
}

/// A URL with only its origin shown, and a fingerprint that tells two apart without
/// revealing them: `https://hooks.slack.com/…3fa2c01b`.
fn masked(url: &str) -> String {
    use sha2::{Digest, Sha256};
    let fingerprint: String = Sha256::digest(url.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let origin = webhooks::Url::parse(url)
        .ok()
        .and_then(|u| reqwest::Url::parse(&u.url).ok())
        .map(|parsed| parsed.origin().ascii_serialization())
        .unwrap_or_default();
    format!("{origin}/…{fingerprint}")
}

/// A stored rule.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredRule {
    pub id: String,
    #[serde(flatten)]
    pub rule: Rule,
    pub updated_at: String,
}

/// Every rule, oldest first.
pub async fn all(db: &Db) -> anyhow::Result<Vec<StoredRule>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "select id, definition, updated_at from alert_rules order by created_at, id",
    )
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|(id, definition, updated_at)| {
            Ok(StoredRule {
                id,
                rule: serde_json::from_str(&definition)?,
                updated_at,
            })
        })
        .collect()
}

pub async fn get(db: &Db, id: &str) -> anyhow::Result<Option<StoredRule>> {
    let row: Option<(String, String)> =
        sqlx::query_as("select definition, updated_at from alert_rules where id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    row.map(|(definition, updated_at)| {
        Ok(StoredRule {
            id: id.to_owned(),
            rule: serde_json::from_str(&definition)?,
            updated_at,
        })
    })
    .transpose()
}

/// Stores a new rule; its id.
pub async fn create(db: &Db, rule: &Rule, by: &str, now: DateTime<Utc>) -> anyhow::Result<String> {
    let id = db::new_id();
    let stamp = to_db(now);
    sqlx::query(
        "insert into alert_rules (id, definition, created_at, updated_at, created_by)
         values ($1, $2, $3, $3, $4)",
    )
    .bind(&id)
    .bind(serde_json::to_string(rule)?)
    .bind(&stamp)
    .bind(by)
    .execute(db.pool())
    .await?;
    Ok(id)
}

/// Replaces a rule; false when there is none. A webhook receiver sent without its
/// secret keeps the one stored for the same URL.
pub async fn replace(
    db: &Db,
    id: &str,
    rule: Rule,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Rule>> {
    let Some(stored) = get(db, id).await? else {
        return Ok(None);
    };
    let mut rule = rule;
    for receiver in &mut rule.receivers {
        if let Receiver::Webhook { url, secret } = receiver {
            if secret.is_none() {
                *secret = stored.rule.receivers.iter().find_map(|r| match r {
                    Receiver::Webhook { url: u, secret } if u == url => secret.clone(),
                    _ => None,
                });
            }
        }
    }
    let rule = rule.with_secrets();
    sqlx::query("update alert_rules set definition = $1, updated_at = $2 where id = $3")
        .bind(serde_json::to_string(&rule)?)
        .bind(to_db(now))
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(Some(rule))
}

/// Deletes a rule and its firings; false when there is none.
pub async fn delete(db: &Db, id: &str) -> anyhow::Result<bool> {
    let mut conn = db.pool().acquire().await?;
    let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
    sqlx::query("delete from alert_firings where rule_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let deleted = sqlx::query("delete from alert_rules where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(deleted == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::taxonomy::builtin;

    #[test]
    fn a_channels_url_is_shown_masked_and_kept_when_sent_back_masked() {
        let slack = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
        let mut rule = nps_drop();
        rule.receivers = vec![
            Receiver::Slack { url: slack.into() },
            Receiver::Teams {
                url: "https://acme.webhook.office.com/webhookb2/SECRET".into(),
            },
        ];
        let shown = rule.clone().redacted();
        assert!(shown.receivers[0]
            .url()
            .starts_with("https://hooks.slack.com/…"));
        assert!(shown.receivers[1]
            .url()
            .starts_with("https://acme.webhook.office.com/…"));
        assert!(!serde_json::to_string(&shown)
            .expect("json")
            .contains("SECRET"));
        // Sent back as read: the stored URLs stay.
        let edited = shown.clone().unmasked(&rule).expect("unmasked");
        assert_eq!(edited.receivers, rule.receivers);
        // Two channels of one workspace, reordered and one dropped: each mask still
        // finds its own URL, not the one that used to be at its place.
        let other = "https://hooks.slack.com/services/T000/B000/OTHERSECRET";
        rule.receivers.push(Receiver::Slack { url: other.into() });
        let mut moved = rule.clone().redacted();
        moved.receivers.remove(0);
        moved.receivers.reverse();
        let edited = moved.unmasked(&rule).expect("unmasked");
        assert_eq!(edited.receivers[0].url(), other);
        assert_eq!(
            edited.receivers[1].url(),
            "https://acme.webhook.office.com/webhookb2/SECRET"
        );
        // A Slack mask sent as a Teams receiver matches nothing.
        let mut crossed = rule.clone().redacted();
        crossed.receivers[1] = Receiver::Teams {
            url: crossed.receivers[0].url().to_owned(),
        };
        assert_eq!(
            crossed.unmasked(&rule).map(|_| ()),
            Err((
                "receivers[1].url".to_owned(),
                "is masked and matches no stored receiver of its kind: send the full URL"
                    .to_owned()
            ))
        );
        // A new URL is taken as sent.
        let mut changed = rule.clone().redacted();
        changed.receivers[0] = Receiver::Slack {
            url: "https://hooks.slack.com/services/T000/B000/NEW".into(),
        };
        assert_eq!(
            changed.unmasked(&rule).expect("unmasked").receivers[0].url(),
            "https://hooks.slack.com/services/T000/B000/NEW"
        );
    }

    fn nps_drop() -> Rule {
        Rule {
            name: "NPS down 10 points".into(),
            metric: Metric::Nps,
            driver: None,
            segment: None,
            outcome: Some(Outcome::Lost),
            competitor: None,
            per: Some(Per::Competitor),
            window_months: 1,
            comparison: Comparison::PreviousWindow {
                change: -10.0,
                unit: Unit::Points,
            },
            min_sample: 5,
            action: "Run a deeper satisfaction survey.".into(),
            owners: vec!["owner@acme.example".into()],
            locale: Default::default(),
            receivers: vec![Receiver::Webhook {
                url: "https://hooks.example.com/debrief".into(),
                secret: None,
            }],
            enabled: true,
        }
    }

    #[test]
    fn impossible_windows_and_thresholds_are_refused_naming_the_field() {
        let t = builtin();
        assert_eq!(nps_drop().check(&t), Ok(()));
        let field = |edit: &dyn Fn(&mut Rule)| {
            let mut r = nps_drop();
            edit(&mut r);
            r.check(&t).expect_err("refused").0
        };
        assert_eq!(field(&|r| r.window_months = 0), "window_months");
        assert_eq!(field(&|r| r.window_months = 13), "window_months");
        assert_eq!(
            field(&|r| r.comparison = Comparison::PreviousWindow {
                change: -250.0,
                unit: Unit::Points
            }),
            "comparison.change"
        );
        assert_eq!(
            field(&|r| r.comparison = Comparison::PreviousWindow {
                change: 0.0,
                unit: Unit::Points
            }),
            "comparison.change"
        );
        assert_eq!(
            field(&|r| r.comparison = Comparison::PreviousWindow {
                change: -120.0,
                unit: Unit::Percent
            }),
            "comparison.change"
        );
        assert_eq!(
            field(&|r| r.comparison = Comparison::Threshold {
                below: Some(-100.0),
                above: None
            }),
            "comparison.below"
        );
        assert_eq!(
            field(&|r| r.comparison = Comparison::Threshold {
                below: None,
                above: None
            }),
            "comparison"
        );
        assert_eq!(field(&|r| r.min_sample = 0), "min_sample");
        assert_eq!(field(&|r| r.driver = Some("price".into())), "driver");
        assert_eq!(
            field(&|r| {
                r.metric = Metric::DriverNegativeShare;
                r.driver = Some("weather".into());
            }),
            "driver"
        );
        assert_eq!(field(&|r| r.metric = Metric::Participation), "competitor");
        assert_eq!(field(&|r| r.owners = vec!["nobody".into()]), "owners[0]");
        assert_eq!(
            field(&|r| r.receivers = vec![Receiver::Slack {
                url: "hooks.slack.com".into()
            }]),
            "receivers[0].url"
        );
        assert_eq!(field(&|r| r.action = " ".into()), "action");
    }

    #[test]
    fn secrets_are_made_when_missing_and_withheld_when_read() {
        let rule = nps_drop().with_secrets();
        let Receiver::Webhook {
            secret: Some(secret),
            ..
        } = &rule.receivers[0]
        else {
            panic!("a secret");
        };
        assert!(webhooks::valid_secret(secret));
        let shown = rule.redacted();
        assert_eq!(
            shown.receivers[0],
            Receiver::Webhook {
                url: "https://hooks.example.com/debrief".into(),
                secret: None
            }
        );
    }
}

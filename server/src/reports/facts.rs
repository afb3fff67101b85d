//! What a period of the program says, gathered once from the dashboards' aggregates for
//! the monthly digests and the quarterly report: participation against target, NPS and its
//! trend, drivers for wins and losses, competitors, the buyers' strongest words, the unmet
//! needs and the alerts still open. Both read the same functions as the staff API, so an
//! email never says something the dashboards do not.

use crate::alerts::delivery::{open_firings, Firing};
use crate::analytics::drivers::{
    self, CompetitorReport, DeclinedReport, DriverFigure, DriverReport, OutcomeDrivers, Verbatim,
};
use crate::analytics::filter::{Filter, Month};
use crate::analytics::funnel::{self, FunnelBy, FunnelReport};
use crate::analytics::nps::{self, NpsBy, NpsFigure, NpsReport};
use crate::insights::taxonomy::Taxonomy;
use crate::platform::db::Db;
use debrief_common::Locale;

/// Months `first..=last` of decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub first: Month,
    pub last: Month,
}

impl Period {
    pub fn month(m: Month) -> Period {
        Period { first: m, last: m }
    }

    /// The quarter `2026-Q3`.
    pub fn quarter(text: &str) -> Option<Period> {
        let (year, q) = text.split_once("-Q")?;
        let year: i32 = year.parse().ok().filter(|y| (2000..=9999).contains(y))?;
        let q: u32 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
        let first = Month {
            year,
            month: q * 3 - 2,
        };
        (text.len() == 7).then_some(Period {
            first,
            last: first.plus(2),
        })
    }

    /// The period of the same length just before.
    pub fn previous(self) -> Period {
        let length = self.length();
        Period {
            first: self.first.plus(-length),
            last: self.last.plus(-length),
        }
    }

    fn length(self) -> i32 {
        (self.last.year - self.first.year) * 12 + i32::try_from(self.last.month).unwrap_or(0)
            - i32::try_from(self.first.month).unwrap_or(0)
            + 1
    }

    pub fn filter(self) -> Filter {
        Filter {
            from: Some(self.first),
            to: Some(self.last),
            ..Filter::default()
        }
    }
}

/// A period's figures.
pub struct Facts {
    pub period: Period,
    pub funnel: FunnelReport,
    pub nps: NpsFigure,
    pub nps_before: NpsFigure,
    /// By month, over the `trend` months up to the period's end.
    pub trend: NpsReport,
    pub by_segment: NpsReport,
    pub by_segment_before: NpsReport,
    pub drivers: DriverReport,
    pub drivers_before: DriverReport,
    pub competitors: CompetitorReport,
    /// The strongest words per driver, up to three each.
    pub words: std::collections::BTreeMap<String, Vec<Verbatim>>,
    pub declined: DeclinedReport,
    /// Open or acknowledged firings, newest first.
    pub alerts: Vec<Firing>,
}

/// What figures are read against at `now`: the answers stored before it coded, and the
/// taxonomy and the program in force (its segments and participation targets).
pub async fn in_force(
    db: &Db,
    definitions: &crate::surveys::definitions::Definitions,
    programs: &crate::programs::store::Programs,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<(Taxonomy, std::sync::Arc<crate::programs::Program>)> {
    crate::insights::coding::catch_up(db, definitions, now).await?;
    let (_, taxonomy) = crate::insights::taxonomy::VERSIONS.current(db).await?;
    let mut conn = db.pool().acquire().await?;
    let program = programs.in_force_at(&mut conn, now).await?;
    Ok((taxonomy, program))
}

impl Facts {
    /// The figures of `period`, with an NPS trend over `trend` months; `targets` are the
    /// program's survey and interview participation targets.
    pub async fn gather(
        db: &Db,
        taxonomy: &Taxonomy,
        period: Period,
        trend: i32,
        targets: (f64, f64),
    ) -> anyhow::Result<Facts> {
        crate::analytics::funnel::catch_up(db).await?;
        let filter = period.filter();
        let before = period.previous().filter();
        let trend_filter = Filter {
            from: Some(period.last.plus(1 - trend.max(1))),
            to: Some(period.last),
            ..Filter::default()
        };
        let alerts = open_firings(db, 10).await?;
        let by_segment = nps::nps(db, &filter, NpsBy::Segment).await?;
        let by_segment_before = nps::nps(db, &before, NpsBy::Segment).await?;
        Ok(Facts {
            period,
            nps: by_segment.overall.clone(),
            nps_before: by_segment_before.overall.clone(),
            funnel: funnel::funnel(db, &filter, FunnelBy::Method, targets).await?,
            trend: nps::nps(db, &trend_filter, NpsBy::Month).await?,
            by_segment,
            by_segment_before,
            drivers: drivers::drivers(db, &filter, taxonomy).await?,
            drivers_before: drivers::drivers(db, &before, taxonomy).await?,
            competitors: drivers::competitors(db, &filter, taxonomy).await?,
            words: drivers::verbatims(db, &filter, taxonomy, None, 3)
                .await?
                .by_driver,
            declined: drivers::declined(db, &filter, taxonomy).await?,
            alerts,
        })
    }

    /// The figures of `period` as they stand at `now`: the answers stored before it coded,
    /// read against the taxonomy and the participation targets in force. With the
    /// taxonomy, for the words the figures are written in.
    pub async fn as_they_stand(
        db: &Db,
        definitions: &crate::surveys::definitions::Definitions,
        programs: &crate::programs::store::Programs,
        period: Period,
        trend: i32,
        now: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<(Facts, Taxonomy)> {
        let (taxonomy, program) = in_force(db, definitions, programs, now).await?;
        let targets = (program.survey_target, program.interview_target);
        let facts = Facts::gather(db, &taxonomy, period, trend, targets).await?;
        Ok((facts, taxonomy))
    }

    /// The buyers' strongest words among `drivers` (all when `None`), strongest first, at
    /// most `n`, one per response.
    pub fn strongest_words(&self, drivers: Option<&[&str]>, n: usize) -> Vec<&Verbatim> {
        let mut all: Vec<&Verbatim> = self
            .words
            .iter()
            .filter(|(d, _)| drivers.is_none_or(|keep| keep.contains(&d.as_str())))
            .flat_map(|(_, w)| w)
            .collect();
        all.sort_by_key(|v| std::cmp::Reverse(v.influence.abs()));
        let mut seen = std::collections::BTreeSet::new();
        all.retain(|v| seen.insert(v.response_id.clone()));
        all.truncate(n);
        all
    }
}

/// The drivers of `outcome` that weighed for us (`positive`) or against us, those `keep`
/// takes, most often first, each with how many responses it weighed in.
pub fn weighing(
    outcome: &OutcomeDrivers,
    positive: bool,
    keep: impl Fn(&str) -> bool,
) -> Vec<(&DriverFigure, u64)> {
    let mut drivers: Vec<(&DriverFigure, u64)> = outcome
        .drivers
        .iter()
        .map(|d| {
            let weight = if positive {
                d.counts.positive
            } else {
                d.counts.negative
            };
            (d, weight)
        })
        .filter(|(d, weight)| *weight > 0 && keep(&d.id))
        .collect();
    drivers.sort_by(|(a, wa), (b, wb)| wb.cmp(wa).then(a.id.cmp(&b.id)));
    drivers
}

/// Numbers and names as a reader of `locale` writes them.
#[derive(Debug, Clone, Copy)]
pub struct Words(pub Locale);

impl Words {
    fn fr(self) -> bool {
        self.0 == Locale::Fr
    }

    /// `November 2026`, `novembre 2026`.
    pub fn month(self, m: Month) -> String {
        crate::web::dates::month(m.year, m.month, self.0)
    }

    /// `Q3 2026`, `T3 2026`.
    pub fn quarter(self, p: Period) -> String {
        let q = (p.first.month - 1) / 3 + 1;
        format!("{}{q} {}", if self.fr() { "T" } else { "Q" }, p.first.year)
    }

    /// One decimal, with the locale's decimal mark.
    fn decimal(self, v: f64) -> String {
        let s = format!("{v:.1}");
        if self.fr() {
            s.replace('.', ",")
        } else {
            s
        }
    }

    /// An NPS: `+12.5`, `-8.0`; `n/a` without answers.
    pub fn nps(self, v: Option<f64>) -> String {
        match v {
            Some(v) if v > 0.0 => format!("+{}", self.decimal(v)),
            Some(v) => self.decimal(v),
            None => self.none(),
        }
    }

    /// A change in points: `+4.0 pts`, `-12.0 pts`.
    pub fn points(self, v: f64) -> String {
        let sign = if v > 0.0 { "+" } else { "" };
        format!("{sign}{} pts", self.decimal(v))
    }

    /// A share (0 to 1) as a whole percentage: `38%`, `38 %`.
    pub fn percent(self, share: Option<f64>) -> String {
        match share {
            Some(s) if self.fr() => format!("{:.0}\u{202f}%", s * 100.0),
            Some(s) => format!("{:.0}%", s * 100.0),
            None => self.none(),
        }
    }

    pub fn none(self) -> String {
        if self.fr() { "n.d." } else { "n/a" }.to_owned()
    }

    pub fn outcome(self, outcome: &str) -> String {
        let (en, fr) = match outcome {
            "won" => ("won", "gagné"),
            "lost" => ("lost", "perdu"),
            "no_decision" => ("no decision", "sans décision"),
            "declined" => ("declined by us", "décliné par nous"),
            other => (other, other),
        };
        if self.fr() { fr } else { en }.to_owned()
    }

    pub fn driver(self, taxonomy: &Taxonomy, id: &str) -> String {
        taxonomy
            .driver(id)
            .map_or_else(|| id.to_owned(), |d| d.label.get(self.0).to_owned())
    }

    pub fn family(self, taxonomy: &Taxonomy, id: &str) -> String {
        taxonomy
            .family(id)
            .map_or_else(|| id.to_owned(), |f| f.label.get(self.0).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_parse_strictly_and_know_the_one_before() {
        let q3 = Period::quarter("2026-Q3").expect("a quarter");
        assert_eq!(
            (q3.first.label(), q3.last.label()),
            ("2026-07".into(), "2026-09".into())
        );
        let q4_before = Period::quarter("2026-Q1").expect("a quarter").previous();
        assert_eq!(
            (q4_before.first.label(), q4_before.last.label()),
            ("2025-10".into(), "2025-12".into())
        );
        for bad in ["2026-Q5", "2026-Q0", "2026Q3", "26-Q3", "2026-Q3x", "-Q3"] {
            assert_eq!(Period::quarter(bad), None, "{bad}");
        }
    }

    #[test]
    fn figures_read_as_each_language_writes_them() {
        let (en, fr) = (Words(Locale::En), Words(Locale::Fr));
        assert_eq!(en.nps(Some(12.5)), "+12.5");
        assert_eq!(fr.nps(Some(-8.0)), "-8,0");
        assert_eq!(en.nps(None), "n/a");
        assert_eq!(en.percent(Some(0.384)), "38%");
        assert_eq!(fr.percent(Some(0.41)), "41\u{202f}%");
        let nov = Month {
            year: 2026,
            month: 11,
        };
        assert_eq!(fr.month(nov), "novembre 2026");
        assert_eq!(
            en.quarter(Period::quarter("2026-Q4").expect("q")),
            "Q4 2026"
        );
        assert_eq!(fr.points(-12.0), "-12,0 pts");
    }
}

//! Net Promoter Score: the 0–10 answer and the arithmetic over many answers.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An answer to "How likely are you to recommend…", 0 to 10 inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u8")]
pub struct NpsScore(u8);

impl NpsScore {
    pub const MAX: u8 = 10;

    pub fn parse(value: i64) -> Result<Self, String> {
        u8::try_from(value)
            .ok()
            .filter(|v| *v <= Self::MAX)
            .map(Self)
            .ok_or_else(|| format!("must be a whole number from 0 to 10, got {value}"))
    }

    pub fn value(self) -> u8 {
        self.0
    }

    pub fn category(self) -> NpsCategory {
        match self.0 {
            9..=10 => NpsCategory::Promoter,
            7..=8 => NpsCategory::Passive,
            _ => NpsCategory::Detractor,
        }
    }

    /// All eleven scores in order, for rendering the scale.
    pub fn all() -> impl Iterator<Item = NpsScore> {
        (0..=Self::MAX).map(NpsScore)
    }
}

impl TryFrom<i64> for NpsScore {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<NpsScore> for u8 {
    fn from(score: NpsScore) -> u8 {
        score.0
    }
}

impl fmt::Display for NpsScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpsCategory {
    Detractor,
    Passive,
    Promoter,
}

/// Counts of answers by category, and the score they make.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NpsSummary {
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
}

impl NpsSummary {
    pub fn from_scores(scores: impl IntoIterator<Item = NpsScore>) -> Self {
        scores.into_iter().fold(Self::default(), |mut s, score| {
            s.add(score, 1);
            s
        })
    }

    /// Counts `count` answers of `score`.
    pub fn add(&mut self, score: NpsScore, count: u64) {
        match score.category() {
            NpsCategory::Promoter => self.promoters += count,
            NpsCategory::Passive => self.passives += count,
            NpsCategory::Detractor => self.detractors += count,
        }
    }

    pub fn sample_size(&self) -> u64 {
        self.promoters + self.passives + self.detractors
    }

    /// % promoters − % detractors, from −100 to 100, rounded to one decimal.
    /// `None` with no answers: a score of 0 would claim a neutral result nobody gave.
    pub fn score(&self) -> Option<f64> {
        let n = self.sample_size();
        if n == 0 {
            return None;
        }
        let raw = (self.promoters as f64 - self.detractors as f64) * 100.0 / n as f64;
        Some((raw * 10.0).round() / 10.0)
    }
}

impl NpsSummary {
    /// The 95% confidence interval of the score, as (low, high) within −100 to 100,
    /// rounded to one decimal: the score ± 1.96 standard errors, the variance of a
    /// promoter-minus-detractor share being `(p + d − (p − d)²) / n`. `None` with no
    /// answers. With a handful of answers the interval is wide, as it should read.
    pub fn confidence_interval(&self) -> Option<(f64, f64)> {
        let n = self.sample_size();
        if n == 0 {
            return None;
        }
        let p = self.promoters as f64 / n as f64;
        let d = self.detractors as f64 / n as f64;
        let nps = p - d;
        let se = ((p + d - nps * nps).max(0.0) / n as f64).sqrt();
        let round = |x: f64| ((x * 100.0).clamp(-100.0, 100.0) * 10.0).round() / 10.0;
        Some((round(nps - 1.96 * se), round(nps + 1.96 * se)))
    }
}

impl std::ops::AddAssign for NpsSummary {
    fn add_assign(&mut self, other: Self) {
        self.promoters += other.promoters;
        self.passives += other.passives;
        self.detractors += other.detractors;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_interval_narrows_as_answers_grow_and_stays_within_the_scale() {
        let summary = |p: u64, passives: u64, d: u64| NpsSummary {
            promoters: p,
            passives,
            detractors: d,
        };
        // 50 promoters, 30 passives, 20 detractors: NPS 30, p = .5, d = .2,
        // variance (.7 − .09) / 100 = .0061, se .0781, ± 15.3.
        assert_eq!(
            summary(50, 30, 20).confidence_interval(),
            Some((14.7, 45.3))
        );
        let wide = summary(5, 3, 2).confidence_interval().expect("interval");
        assert!(wide.1 - wide.0 > 45.0, "{wide:?}");
        assert_eq!(summary(3, 0, 0).confidence_interval(), Some((100.0, 100.0)));
        assert_eq!(NpsSummary::default().confidence_interval(), None);
    }

    #[test]
    fn scores_outside_zero_to_ten_are_refused() {
        assert!(NpsScore::parse(-1).is_err());
        assert!(NpsScore::parse(11).is_err());
        assert!(NpsScore::parse(1_000).is_err());
        assert_eq!(NpsScore::parse(10).map(NpsScore::value), Ok(10));
        assert_eq!(NpsScore::parse(0).map(NpsScore::value), Ok(0));
    }

    #[test]
    fn categories_follow_the_standard_cut_offs() {
        let cat = |v| NpsScore::parse(v).map(NpsScore::category);
        assert_eq!(cat(6), Ok(NpsCategory::Detractor));
        assert_eq!(cat(7), Ok(NpsCategory::Passive));
        assert_eq!(cat(8), Ok(NpsCategory::Passive));
        assert_eq!(cat(9), Ok(NpsCategory::Promoter));
    }

    #[test]
    fn one_promoter_is_nps_100_and_no_answer_is_no_score() {
        let one = NpsSummary::from_scores(NpsScore::parse(9));
        assert_eq!(one.score(), Some(100.0));
        assert_eq!(one.sample_size(), 1);
        assert_eq!(NpsSummary::default().score(), None);
    }

    #[test]
    fn mixed_answers_give_the_textbook_score() {
        // 2 promoters, 1 passive, 1 detractor: 50% - 25% = 25.
        let scores = [10, 9, 7, 3].map(|v| NpsScore::parse(v).expect("valid"));
        assert_eq!(NpsSummary::from_scores(scores).score(), Some(25.0));
    }

    #[test]
    fn json_rejects_out_of_range_scores() {
        assert!(serde_json::from_str::<NpsScore>("11").is_err());
        assert!(serde_json::from_str::<NpsScore>("-3").is_err());
        assert_eq!(
            serde_json::from_str::<NpsScore>("7")
                .map(NpsScore::value)
                .ok(),
            Some(7)
        );
    }

    proptest! {
        #[test]
        fn score_is_always_between_minus_100_and_100(values in proptest::collection::vec(0i64..=10, 1..200)) {
            let summary = NpsSummary::from_scores(values.iter().map(|v| NpsScore::parse(*v).expect("in range")));
            let score = summary.score().expect("non-empty");
            prop_assert!((-100.0..=100.0).contains(&score));
            prop_assert_eq!(summary.sample_size(), values.len() as u64);
        }
    }
}

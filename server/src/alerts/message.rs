//! What a firing says, in the reader's language: one sentence from the rule and the
//! firing's figures. The firing stores it in English for the API; an owner's email and a
//! digest say it again in their reader's language.

use super::rules::{Comparison, Metric, Per, Rule, Unit};
use crate::analytics::filter::Month;
use debrief_common::Locale;

/// A firing's figures: its group ('' for the whole slice), its window's key
/// (`2026-10..2026-12`), its value, the previous window's value, its sample.
#[derive(Debug, Clone, Copy)]
pub struct Figures<'a> {
    pub group: &'a str,
    pub window: &'a str,
    pub value: f64,
    pub baseline: Option<f64>,
    pub sample: u64,
}

impl<'a> Figures<'a> {
    pub fn of(firing: &'a super::delivery::Firing) -> Figures<'a> {
        Figures {
            group: &firing.group_key,
            window: &firing.window_key,
            value: firing.value,
            baseline: firing.baseline,
            sample: u64::try_from(firing.sample).unwrap_or(0),
        }
    }
}

fn metric(metric: Metric, fr: bool) -> &'static str {
    match (metric, fr) {
        (Metric::Nps, _) => "NPS",
        (Metric::Participation, false) => "Participation",
        (Metric::Participation, true) => "Taux de participation",
        (Metric::DriverNegativeShare, false) => "Negative share",
        (Metric::DriverNegativeShare, true) => "Part de mentions négatives",
        (Metric::WinRate, false) => "Win rate",
        (Metric::WinRate, true) => "Taux de victoire",
    }
}

fn outcome(outcome: &str, fr: bool) -> String {
    if !fr {
        return outcome.replace('_', " ");
    }
    match outcome {
        "won" => "gagnées",
        "lost" => "perdues",
        "no_decision" => "sans décision",
        "declined" => "déclinées",
        other => other,
    }
    .to_owned()
}

/// What the rule watches, e.g. "NPS on lost deals against Northwind".
fn subject(rule: &Rule, group: &str, fr: bool) -> String {
    let mut parts = vec![metric(rule.metric, fr).to_owned()];
    let deals = |o: &str| {
        if fr {
            format!("des affaires {}", outcome(o, true))
        } else {
            format!("on {} deals", outcome(o, false))
        }
    };
    let against = |c: &str| {
        if fr {
            format!("face à {c}")
        } else {
            format!("against {c}")
        }
    };
    let segment = |s: &str| {
        if fr {
            format!("dans le segment {s}")
        } else {
            format!("in segment {s}")
        }
    };
    if let Some(d) = &rule.driver {
        parts.push(if fr {
            format!("de {d}")
        } else {
            format!("of {d}")
        });
    }
    if let Some(o) = rule.outcome {
        parts.push(deals(o.as_str()));
    }
    if let Some(s) = &rule.segment {
        parts.push(segment(s));
    }
    if let Some(c) = &rule.competitor {
        parts.push(against(c));
    }
    match rule.per {
        Some(Per::Competitor) if !group.is_empty() => parts.push(against(group)),
        Some(Per::Segment) if !group.is_empty() => parts.push(segment(group)),
        Some(Per::Outcome) if !group.is_empty() => parts.push(deals(group)),
        _ => {}
    }
    parts.join(" ")
}

/// The window before `window` (`2026-10..2026-12`), of the same length.
fn previous(window: &str) -> Option<String> {
    let (from, to) = window.split_once("..")?;
    let (from, to) = (Month::parse(from)?, Month::parse(to)?);
    let n = (to.year - from.year) * 12 + i32::try_from(to.month).ok()?
        - i32::try_from(from.month).ok()?
        + 1;
    Some(format!(
        "{}..{}",
        from.plus(-n).label(),
        to.plus(-n).label()
    ))
}

/// The sentence a firing says, e.g. "NPS on lost deals against Northwind: 8.0 in
/// 2026-11..2026-11, -12.0 points from 20.0 in 2026-10..2026-10 (sample 25)."
pub fn describe(rule: &Rule, f: Figures<'_>, locale: Locale) -> String {
    let fr = locale == Locale::Fr;
    let number = |v: f64| {
        let s = format!("{v:.1}");
        if fr {
            s.replace('.', ",")
        } else {
            s
        }
    };
    let unit = match (rule.metric, fr) {
        (Metric::Nps, _) => "",
        (_, false) => "%",
        (_, true) => "\u{202f}%",
    };
    let subject = subject(rule, f.group, fr);
    let (value, window, sample) = (number(f.value), f.window, f.sample);
    let colon = if fr { "\u{a0}:" } else { ":" };
    let sample = if fr {
        format!("(échantillon {sample})")
    } else {
        format!("(sample {sample})")
    };
    match (&rule.comparison, f.baseline) {
        (Comparison::PreviousWindow { unit: by, .. }, Some(before)) => {
            let moved = match by {
                Unit::Points => f.value - before,
                Unit::Percent if before != 0.0 => (f.value - before) / before.abs() * 100.0,
                Unit::Percent => 0.0,
            };
            let how = match (by, fr) {
                (Unit::Points, false) => format!("{:+.1} points", moved),
                (Unit::Points, true) => format!("{} points", signed(&number(moved), moved)),
                (Unit::Percent, false) => format!("{moved:+.1}%"),
                (Unit::Percent, true) => format!("{}\u{202f}%", signed(&number(moved), moved)),
            };
            let was = previous(window).unwrap_or_default();
            let before = number(before);
            if fr {
                format!("{subject}{colon} {value}{unit} sur {window}, {how} par rapport à {before}{unit} sur {was} {sample}.")
            } else {
                format!("{subject}{colon} {value}{unit} in {window}, {how} from {before}{unit} in {was} {sample}.")
            }
        }
        (Comparison::Threshold { below, above }, _) => {
            let bound = match (below, above) {
                (Some(b), _) if f.value < *b => {
                    let b = number(*b);
                    if fr {
                        format!("sous {b}{unit}")
                    } else {
                        format!("below {b}{unit}")
                    }
                }
                (_, Some(a)) if f.value > *a => {
                    let a = number(*a);
                    if fr {
                        format!("au-dessus de {a}{unit}")
                    } else {
                        format!("above {a}{unit}")
                    }
                }
                _ => String::new(),
            };
            if fr {
                format!("{subject}{colon} {value}{unit} sur {window}, {bound} {sample}.")
            } else {
                format!("{subject}{colon} {value}{unit} in {window}, {bound} {sample}.")
            }
        }
        (Comparison::PreviousWindow { .. }, None) => {
            if fr {
                format!("{subject}{colon} {value}{unit} sur {window} {sample}.")
            } else {
                format!("{subject}{colon} {value}{unit} in {window} {sample}.")
            }
        }
    }
}

/// `+4,0` for a positive change: the sign a French reader expects as well.
fn signed(number: &str, v: f64) -> String {
    if v > 0.0 {
        format!("+{number}")
    } else {
        number.to_owned()
    }
}

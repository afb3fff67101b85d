//! Charts as SVG markup, drawn on the server: no script, so they hold under the console's
//! strict CSP, print as they show, and can go into an email. Each chart names itself
//! (`role="img"`, a title and a description) and never relies on colour alone: values
//! are printed beside their marks, negatives are hatched as well as red, targets dashed,
//! and confidence bands outlined. Every page that shows one also shows its table.
//!
//! All text is escaped here; callers pass plain text.

use super::html::escape;
use std::fmt::Write;

const INK: &str = "#1d2433";
const MUTED: &str = "#4a5368";
const GRID: &str = "#d5d9e2";
const GOOD: &str = "#1b7a3d";
const BAD: &str = "#b3261e";
const ACCENT: &str = "#1f4fd1";
const BAND: &str = "#c9d6f7";

/// One bar of [`bars`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    /// 0 to 100.
    pub percent: Option<f64>,
    /// The target, 0 to 100, drawn as a dashed mark.
    pub target: Option<f64>,
    /// What is printed at the end of the bar (e.g. "38% (412 of 1,084)").
    pub caption: String,
}

/// The opening of a chart: its box, title and description, and the hatch pattern.
fn open(svg: &mut String, id: &str, width: u32, height: u32, title: &str, description: &str) {
    let id = escape(id);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc><defs><pattern id="{id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="{BAD}" fill-opacity="0.25"/><line x1="0" y1="0" x2="0" y2="6" stroke="{BAD}" stroke-width="3"/></pattern></defs>"#,
        escape(title),
        escape(description),
    );
}

fn text(svg: &mut String, x: f64, y: f64, anchor: &str, fill: &str, content: &str) {
    let _ = write!(
        svg,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" fill="{fill}" font-size="13">{}</text>"#,
        escape(content)
    );
}

/// Horizontal bars from 0 to 100%, each with its caption and, if any, its target.
pub fn bars(id: &str, title: &str, description: &str, rows: &[Bar]) -> String {
    let (label_w, bar_w, caption_w, row_h) = (180.0, 320.0, 200.0, 30.0);
    let width = label_w + bar_w + caption_w;
    let height = row_h * rows.len().max(1) as f64 + 24.0;
    let mut svg = String::new();
    open(
        &mut svg,
        id,
        width as u32,
        height as u32,
        title,
        description,
    );
    for (i, row) in rows.iter().enumerate() {
        let y = 8.0 + row_h * i as f64;
        text(&mut svg, label_w - 8.0, y + 17.0, "end", INK, &row.label);
        let _ = write!(
            svg,
            r#"<rect x="{label_w}" y="{y:.1}" width="{bar_w}" height="22" fill="none" stroke="{GRID}"/>"#
        );
        if let Some(p) = row.percent {
            let w = bar_w * p.clamp(0.0, 100.0) / 100.0;
            let _ = write!(
                svg,
                r#"<rect x="{label_w}" y="{y:.1}" width="{w:.1}" height="22" fill="{ACCENT}"/>"#
            );
        }
        if let Some(t) = row.target {
            let x = label_w + bar_w * t.clamp(0.0, 100.0) / 100.0;
            let _ = write!(
                svg,
                r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{INK}" stroke-width="2" stroke-dasharray="4 3"/>"#,
                y - 3.0,
                y + 25.0
            );
        }
        text(
            &mut svg,
            label_w + bar_w + 8.0,
            y + 17.0,
            "start",
            INK,
            &row.caption,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One row of [`diverging`]: a driver's negative share to the left, positive to the right.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub label: String,
    /// 0 to 100 each.
    pub negative: f64,
    pub positive: f64,
    /// Printed after the label (the sample size).
    pub note: String,
}

/// Negative shares hatched to the left of a centre line, positive ones solid to the right,
/// each with its percentage printed.
pub fn diverging(
    id: &str,
    title: &str,
    description: &str,
    legend: (&str, &str),
    rows: &[Split],
) -> String {
    // A gutter each side of the bars for their values ("−100%"), so that a full bar's
    // value touches neither the label nor the edge.
    let (label_w, gutter, half, row_h) = (250.0, 52.0, 160.0, 28.0);
    let width = label_w + 2.0 * (gutter + half);
    let height = row_h * rows.len().max(1) as f64 + 40.0;
    let centre = label_w + gutter + half;
    let mut svg = String::new();
    open(
        &mut svg,
        id,
        width as u32,
        height as u32,
        title,
        description,
    );
    // The legend: what each side means, in words.
    let _ = write!(
        svg,
        r#"<rect x="{:.1}" y="4" width="14" height="14" fill="url(#{}-hatch)" stroke="{BAD}"/>"#,
        centre - half,
        escape(id)
    );
    text(&mut svg, centre - half + 20.0, 16.0, "start", INK, legend.0);
    let _ = write!(
        svg,
        r#"<rect x="{:.1}" y="4" width="14" height="14" fill="{GOOD}"/>"#,
        centre + 10.0
    );
    text(&mut svg, centre + 30.0, 16.0, "start", INK, legend.1);
    for (i, row) in rows.iter().enumerate() {
        let y = 30.0 + row_h * i as f64;
        text(
            &mut svg,
            label_w - 8.0,
            y + 15.0,
            "end",
            INK,
            &format!("{} {}", short(&row.label, 26), row.note),
        );
        let neg = half * row.negative.clamp(0.0, 100.0) / 100.0;
        let pos = half * row.positive.clamp(0.0, 100.0) / 100.0;
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{y:.1}" width="{neg:.1}" height="20" fill="url(#{}-hatch)" stroke="{BAD}"/><rect x="{centre:.1}" y="{y:.1}" width="{pos:.1}" height="20" fill="{GOOD}"/>"#,
            centre - neg,
            escape(id)
        );
        text(
            &mut svg,
            centre - neg - 4.0,
            y + 15.0,
            "end",
            BAD,
            &signed_percent('−', row.negative),
        );
        text(
            &mut svg,
            centre + pos + 4.0,
            y + 15.0,
            "start",
            GOOD,
            &signed_percent('+', row.positive),
        );
    }
    let _ = write!(
        svg,
        r#"<line x1="{centre:.1}" y1="26" x2="{centre:.1}" y2="{:.1}" stroke="{INK}"/>"#,
        height - 6.0
    );
    svg.push_str("</svg>");
    svg
}

/// `label` cut to `max` characters, with an ellipsis: the chart's table gives it whole.
fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        return label.to_owned();
    }
    let cut: String = label.chars().take(max - 1).collect();
    format!("{}…", cut.trim_end())
}

/// A share as its bar's side reads it: `−25%`, `+40%`, and a plain `0%` for none.
fn signed_percent(sign: char, value: f64) -> String {
    if value.round() == 0.0 {
        "0%".to_owned()
    } else {
        format!("{sign}{value:.0}%")
    }
}

/// One point of [`trend`].
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    pub value: Option<f64>,
    /// The confidence interval around it.
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// A line over `-100..=100` (an NPS) with its confidence band, each point's value printed.
pub fn trend(id: &str, title: &str, description: &str, points: &[Point]) -> String {
    let (left, top, plot_w, plot_h) = (44.0, 12.0, 640.0, 220.0);
    let width = left + plot_w + 16.0;
    let height = top + plot_h + 40.0;
    let y_of = |v: f64| top + plot_h * (100.0 - v.clamp(-100.0, 100.0)) / 200.0;
    let step = plot_w / points.len().max(1) as f64;
    let x_of = |i: usize| left + step * (i as f64 + 0.5);
    let mut svg = String::new();
    open(
        &mut svg,
        id,
        width as u32,
        height as u32,
        title,
        description,
    );
    for v in [-100.0, -50.0, 0.0, 50.0, 100.0] {
        let y = y_of(v);
        let _ = write!(
            svg,
            r#"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{GRID}"{}/>"#,
            left + plot_w,
            if v == 0.0 { r#" stroke-width="2""# } else { "" }
        );
        text(
            &mut svg,
            left - 6.0,
            y + 4.0,
            "end",
            MUTED,
            &format!("{v:.0}"),
        );
    }
    // The band: upper edge left to right, lower edge back, over the points that have one.
    let banded: Vec<(usize, f64, f64)> = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i, p.low?, p.high?)))
        .collect();
    if banded.len() > 1 {
        let mut path = String::new();
        for (n, (i, _, high)) in banded.iter().enumerate() {
            let _ = write!(
                path,
                "{}{:.1},{:.1} ",
                if n == 0 { "M" } else { "L" },
                x_of(*i),
                y_of(*high)
            );
        }
        for (i, low, _) in banded.iter().rev() {
            let _ = write!(path, "L{:.1},{:.1} ", x_of(*i), y_of(*low));
        }
        let _ = write!(
            svg,
            r#"<path d="{}Z" fill="{BAND}" fill-opacity="0.6" stroke="{ACCENT}" stroke-dasharray="3 3"/>"#,
            path
        );
    } else {
        for (i, low, high) in &banded {
            let _ = write!(
                svg,
                r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{ACCENT}" stroke-width="8" stroke-opacity="0.3"/>"#,
                y_of(*high),
                y_of(*low),
                x = x_of(*i)
            );
        }
    }
    let mut line = String::new();
    for (i, p) in points.iter().enumerate() {
        match p.value {
            Some(v) => {
                let _ = write!(
                    line,
                    "{}{:.1},{:.1} ",
                    if line.is_empty() { "M" } else { "L" },
                    x_of(i),
                    y_of(v)
                );
            }
            // A month without answers breaks the line rather than drawing through it.
            None => {
                if !line.is_empty() {
                    let _ = write!(
                        svg,
                        r#"<path d="{line}" fill="none" stroke="{ACCENT}" stroke-width="2.5"/>"#
                    );
                    line.clear();
                }
            }
        }
    }
    if !line.is_empty() {
        let _ = write!(
            svg,
            r#"<path d="{line}" fill="none" stroke="{ACCENT}" stroke-width="2.5"/>"#
        );
    }
    // At most seven labels under the axis: a month's label is as wide as its slot at
    // twelve, and they ran together.
    let every = points.len().div_ceil(7).max(1);
    for (i, p) in points.iter().enumerate() {
        if let Some(v) = p.value {
            let (x, y) = (x_of(i), y_of(v));
            let _ = write!(
                svg,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{ACCENT}" stroke="#fff"/>"##
            );
            text(&mut svg, x, y - 8.0, "middle", INK, &format!("{v:.0}"));
        }
        if i % every == 0 {
            text(
                &mut svg,
                x_of(i),
                top + plot_h + 20.0,
                "middle",
                MUTED,
                &p.label,
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_is_as_long_as_its_share_and_shows_its_target_and_caption() {
        let svg = bars(
            "funnel",
            "Participation",
            "Surveys against target",
            &[Bar {
                label: "Surveys".into(),
                percent: Some(50.0),
                target: Some(30.0),
                caption: "50% (5 of 10)".into(),
            }],
        );
        // 320 px for 100%: half of it, and the target's dashed mark at 30%.
        assert!(svg.contains(r#"width="160.0""#), "{svg}");
        assert!(svg.contains(r#"x1="276.0""#), "{svg}");
        assert!(svg.contains("stroke-dasharray"));
        assert!(svg.contains("50% (5 of 10)"));
        assert!(svg.contains(r#"role="img""#));
    }

    #[test]
    fn labels_are_escaped() {
        let hostile = "<script>alert(1)</script>";
        let svg = diverging(
            "d",
            hostile,
            hostile,
            (hostile, hostile),
            &[Split {
                label: hostile.into(),
                negative: 10.0,
                positive: 20.0,
                note: hostile.into(),
            }],
        );
        assert!(!svg.contains("<script>"), "{svg}");
        let svg = trend(
            "t",
            hostile,
            hostile,
            &[Point {
                label: hostile.into(),
                value: Some(1.0),
                low: None,
                high: None,
            }],
        );
        assert!(!svg.contains("<script>"), "{svg}");
    }

    #[test]
    fn negatives_are_hatched_and_printed_not_only_red() {
        let svg = diverging(
            "wins",
            "Drivers",
            "",
            ("Against us", "For us"),
            &[Split {
                label: "Price".into(),
                negative: 40.0,
                positive: 10.0,
                note: "(n=20)".into(),
            }],
        );
        assert!(svg.contains("url(#wins-hatch)"));
        assert!(svg.contains("−40%") && svg.contains("+10%"));
    }

    #[test]
    fn a_trend_breaks_where_a_month_has_no_answers() {
        let p = |v: Option<f64>| Point {
            label: "m".into(),
            value: v,
            low: v.map(|v| v - 10.0),
            high: v.map(|v| v + 10.0),
        };
        let svg = trend(
            "n",
            "NPS",
            "",
            &[p(Some(10.0)), p(None), p(Some(30.0)), p(Some(20.0))],
        );
        // Two pieces of line: the single point, then the last two.
        assert_eq!(svg.matches("stroke-width=\"2.5\"").count(), 2, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3);
        // y of 0 is the middle of the 220 px plot that starts at 12.
        assert!(svg.contains(r#"y1="122.0""#));
    }
}

//! Email templates from `email-templates/<locale>/`, compiled into the binary so a deployed
//! server cannot run with templates that do not match its code.

use anyhow::Context;
use debrief_common::Locale;
use handlebars::Handlebars;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// One template, in every locale: `(locale, subject, text, html)`.
macro_rules! template_set {
    ($name:literal) => {
        [
            (
                Locale::En,
                include_str!(concat!(
                    "../../../../email-templates/en/",
                    $name,
                    ".subject.hbs"
                )),
                include_str!(concat!(
                    "../../../../email-templates/en/",
                    $name,
                    ".text.hbs"
                )),
                include_str!(concat!(
                    "../../../../email-templates/en/",
                    $name,
                    ".html.hbs"
                )),
            ),
            (
                Locale::Fr,
                include_str!(concat!(
                    "../../../../email-templates/fr/",
                    $name,
                    ".subject.hbs"
                )),
                include_str!(concat!(
                    "../../../../email-templates/fr/",
                    $name,
                    ".text.hbs"
                )),
                include_str!(concat!(
                    "../../../../email-templates/fr/",
                    $name,
                    ".html.hbs"
                )),
            ),
        ]
    };
}

/// A compiled shape's key: locale, template and the data's shape.
type ShapeKey = (Locale, String, serde_json::Value);

pub struct Templates {
    /// HTML escaping on: for the HTML part, where buyer-supplied names appear.
    html: Handlebars<'static>,
    /// No escaping: for the subject and the text part, which are not markup.
    plain: Handlebars<'static>,
    /// Each template rendered once per locale and shape (see [`Templates::render`]).
    shapes: RwLock<HashMap<ShapeKey, Arc<Compiled>>>,
}

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Shapes kept per process: two templates, two locales and a few flags make a few dozen;
/// the bound only guards against data whose shape never repeats.
const MAX_SHAPES: usize = 1_024;

/// Marks the `n`th value in a template rendered with stand-ins: characters of Unicode's
/// private use area, which no template, escaping or value of ours produces.
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// A template rendered with stand-ins for its values, cut at each one.
struct Compiled {
    subject: Vec<Piece>,
    text: Vec<Piece>,
    html: Vec<Piece>,
}

enum Piece {
    Literal(String),
    /// The `n`th string value of the data.
    Value(usize),
}

/// The templates of this build, loaded once, for what renders an email outside the job
/// runner (an account manager's preview).
static SHARED: std::sync::LazyLock<Templates> = std::sync::LazyLock::new(|| {
    // Compiled in and checked by the tests below: a failure here is a build that never
    // passed them.
    Templates::load().expect("the email templates compiled into this build load")
});

impl Templates {
    pub fn shared() -> &'static Templates {
        &SHARED
    }

    pub fn load() -> anyhow::Result<Templates> {
        let mut html = Handlebars::new();
        let mut plain = Handlebars::new();
        html.set_strict_mode(true);
        plain.set_strict_mode(true);
        plain.register_escape_fn(handlebars::no_escape);
        let sets = [
            ("survey_invitation", template_set!("survey_invitation")),
            (
                "interview_invitation",
                template_set!("interview_invitation"),
            ),
            ("interview_calendar", template_set!("interview_calendar")),
            ("interview_reminder", template_set!("interview_reminder")),
            ("alert", template_set!("alert")),
            ("monthly_digest", template_set!("monthly_digest")),
            ("sign_in", template_set!("sign_in")),
        ];
        for (template, parts) in sets {
            for (locale, subject, text, body) in parts {
                let name = |part: &str| part_name(locale, template, part);
                plain
                    .register_template_string(&name("subject"), subject)
                    .with_context(|| format!("{template} subject template"))?;
                plain
                    .register_template_string(&name("text"), text)
                    .with_context(|| format!("{template} text template"))?;
                html.register_template_string(&name("html"), body)
                    .with_context(|| format!("{template} html template"))?;
            }
        }
        Ok(Templates {
            html,
            plain,
            shapes: RwLock::new(HashMap::new()),
        })
    }

    /// Renders a template's three parts for `data`, which the caller has already made JSON
    /// (its shape is read from it, so it is not converted a second time).
    ///
    /// An outbox pass renders thousands of emails that differ only in their values (the
    /// buyer's name, links), and handlebars would walk the same templates for each. So a
    /// template is rendered once per locale and shape (the data with every non-empty
    /// string replaced by a numbered stand-in: what its conditions and loops see), and
    /// each email fills in its values, HTML-escaped in the HTML part as handlebars would.
    /// This holds because the templates only test a value's presence (`#if`), never
    /// compare it or print it unescaped; the tests below check both ways agree.
    pub fn render(
        &self,
        template: &str,
        locale: Locale,
        data: serde_json::Value,
    ) -> anyhow::Result<Rendered> {
        let mut values = Vec::new();
        // Keyed by the shape itself: serialising it to a string key cost an allocation of
        // its whole text for every email.
        let key = (locale, template.to_owned(), stand_ins(data, &mut values));
        let known = self
            .shapes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        let compiled = match known {
            Some(compiled) => compiled,
            None => {
                let compiled = Arc::new(self.compile(template, locale, &key.2)?);
                let mut shapes = self.shapes.write().unwrap_or_else(|e| e.into_inner());
                if shapes.len() < MAX_SHAPES {
                    shapes.insert(key, compiled.clone());
                }
                compiled
            }
        };
        Ok(Rendered {
            subject: one_line(&fill(&compiled.subject, &values, false)),
            text: fill(&compiled.text, &values, false),
            html: fill(&compiled.html, &values, true),
        })
    }

    fn compile(
        &self,
        template: &str,
        locale: Locale,
        shape: &serde_json::Value,
    ) -> anyhow::Result<Compiled> {
        let name = |part: &str| part_name(locale, template, part);
        Ok(Compiled {
            subject: pieces(&self.plain.render(&name("subject"), shape)?)?,
            text: pieces(&self.plain.render(&name("text"), shape)?)?,
            html: pieces(&self.html.render(&name("html"), shape)?)?,
        })
    }
}

/// A template part's registered name, e.g. `fr/survey_invitation.html`.
fn part_name(locale: Locale, template: &str, part: &str) -> String {
    format!("{}/{template}.{part}", locale.code())
}

/// A subject is one line: a newline from data would start a new header.
fn one_line(subject: &str) -> String {
    subject.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `value` with each non-empty string replaced by a stand-in for it, the strings moved to
/// `values` in order. An empty string stays: `#if` treats it as absent.
fn stand_ins(value: serde_json::Value, values: &mut Vec<String>) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) if !s.is_empty() => {
            let stand_in = format!("{OPEN}{}{CLOSE}", values.len());
            values.push(s);
            Value::String(stand_in)
        }
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| stand_ins(v, values)).collect())
        }
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, stand_ins(v, values)))
                .collect(),
        ),
        other => other,
    }
}

/// A rendering with stand-ins, cut into literal text and values.
fn pieces(rendered: &str) -> anyhow::Result<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut rest = rendered;
    while let Some(open) = rest.find(OPEN) {
        if open > 0 {
            pieces.push(Piece::Literal(rest[..open].to_owned()));
        }
        let after = &rest[open + OPEN.len_utf8()..];
        let close = after
            .find(CLOSE)
            .context("a value's stand-in was cut by its template")?;
        let n = after[..close]
            .parse()
            .context("a value's stand-in was changed by its template")?;
        pieces.push(Piece::Value(n));
        rest = &after[close + CLOSE.len_utf8()..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest.to_owned()));
    }
    Ok(pieces)
}

fn fill(pieces: &[Piece], values: &[String], escape: bool) -> String {
    let mut out = String::with_capacity(
        pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => s.len(),
                Piece::Value(_) => 64,
            })
            .sum(),
    );
    for piece in pieces {
        match piece {
            Piece::Literal(s) => out.push_str(s),
            Piece::Value(n) => {
                let value = values.get(*n).map(String::as_str).unwrap_or_default();
                if escape {
                    out.push_str(&handlebars::html_escape(value));
                } else {
                    out.push_str(value);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The template rendered by handlebars for this very data, as before shapes existed.
    fn directly(
        templates: &Templates,
        template: &str,
        locale: Locale,
        data: &serde_json::Value,
    ) -> Rendered {
        let name = |part: &str| part_name(locale, template, part);
        let subject = templates
            .plain
            .render(&name("subject"), data)
            .expect("subject");
        Rendered {
            subject: one_line(&subject),
            text: templates.plain.render(&name("text"), data).expect("text"),
            html: templates.html.render(&name("html"), data).expect("html"),
        }
    }

    /// Renders `template` by filling in its shape, checks that handlebars itself renders
    /// the same, and gives it.
    fn same_as_handlebars(
        templates: &Templates,
        template: &str,
        locale: Locale,
        data: &serde_json::Value,
        shape: &str,
    ) -> Rendered {
        let filled = templates
            .render(template, locale, data.clone())
            .expect("filled");
        let direct = directly(templates, template, locale, data);
        assert_eq!(
            (&filled.subject, &filled.text, &filled.html),
            (&direct.subject, &direct.text, &direct.html),
            "{template} {locale:?} {shape}"
        );
        filled
    }

    #[test]
    fn filling_in_a_shape_gives_what_handlebars_renders_for_every_buyer() {
        let templates = Templates::load().expect("templates");
        let names = [
            "Camille Martin",
            "<script>alert('x')</script> & \"Co\" = `1`",
            "Zoë\nWinter",
            "\u{E000}0\u{E001}",
            "",
        ];
        let mut checked = 0;
        for locale in [Locale::En, Locale::Fr] {
            for (i, name) in names.iter().enumerate() {
                for flags in 0..16u8 {
                    let bit = |n: u8| flags & (1 << n) != 0;
                    let survey_url = format!("https://debrief.example/s/tok{i}=&<");
                    let data = json!({
                        "contact_name": name,
                        "company": "Acme & Sons",
                        "account_manager_name": names[(i + 1) % names.len()],
                        "scores": (0..=10).map(|s| json!({ "score": s, "url": format!("{survey_url}?score={s}") })).collect::<Vec<_>>(),
                        "survey_url": survey_url,
                        "booking_url": format!("https://debrief.example/i/tok{i}=&<"),
                        "opt_out_url": format!("https://debrief.example/u/tok{i}"),
                        "reminder": bit(0),
                        "declined_request": bit(1),
                        "request_kind": if bit(2) { Some(*name) } else { None },
                        "incentive": if bit(3) { Some("un bon de 50 € <b>") } else { None },
                        "note": if bit(2) { Some("Merci <b>d’avance</b>\nAna") } else { None },
                    });
                    for template in ["survey_invitation", "interview_invitation"] {
                        same_as_handlebars(
                            &templates,
                            template,
                            locale,
                            &data,
                            &format!("{name:?} {flags}"),
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 2 * 5 * 16 * 2);
        // Buyers share shapes: one per locale, template, flags and empty value (none, the
        // name, the manager's name), whatever the names.
        let shapes = templates.shapes.read().expect("shapes").len();
        assert_eq!(shapes, 2 * 2 * 16 * 3, "{checked} emails");
    }

    #[test]
    fn the_interview_emails_fill_in_as_handlebars_renders_them_in_every_shape() {
        let templates = Templates::load().expect("templates");
        let mut checked = 0;
        for locale in [Locale::En, Locale::Fr] {
            for flags in 0..128u8 {
                let bit = |n: u8| flags & (1 << n) != 0;
                let data = json!({
                    "name": "Zoë <b>Winter</b>",
                    "counterpart": "Ivy & Co",
                    "when": "mardi 1 décembre 2026, 15:00",
                    "ends": "15:45",
                    "zone": "Europe/Paris",
                    "phone": if bit(0) { Some("+33 1 23 <45>") } else { None },
                    "prefers_video": bit(1),
                    "prefers_phone": bit(2),
                    "booking_url": if bit(3) { Some("https://debrief.example/i/t=&<") } else { None },
                    "signature": if bit(4) { Some("Ana \"Duarte\"") } else { None },
                    "company": "Acme & Sons",
                    "cancelled": bit(5),
                    "moved": bit(6),
                });
                for template in ["interview_calendar", "interview_reminder"] {
                    let filled =
                        same_as_handlebars(&templates, template, locale, &data, &flags.to_string());
                    assert!(!filled.html.contains("<b>Winter"), "the HTML part escapes");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 2 * 128 * 2);
    }

    #[test]
    fn the_staff_emails_fill_in_as_handlebars_renders_them_and_escape_buyers_words() {
        let templates = Templates::load().expect("templates");
        let words = "Le <b>prix</b> & \"tout\"";
        let rate = json!({ "completed": "3", "invited": "9", "rate": "33%", "target": "25%",
                           "below": false });
        for locale in [Locale::En, Locale::Fr] {
            for flags in 0..16u8 {
                let bit = |n: u8| flags & (1 << n) != 0;
                let lines = |on: bool, line: serde_json::Value| {
                    if on {
                        vec![line.clone(), line]
                    } else {
                        Vec::new()
                    }
                };
                let digest = json!({
                    "company": "Acme & Sons", "department": "Sales", "focus": "Price",
                    "month": "November 2026",
                    "surveys": if bit(0) { Some(rate.clone()) } else { None },
                    "interviews": if bit(1) { Some(rate.clone()) } else { None },
                    "nps": "+12.5", "nps_sample": "40",
                    "nps_change": if bit(2) { "+3.0 pts" } else { "" },
                    "trend": [{ "month": "October 2026", "nps": "n/a", "sample": "0" }],
                    "wins": lines(bit(3), json!({ "driver": words, "share": "50%", "mentions": "4", "alone": "" })),
                    "losses": lines(bit(2), json!({ "driver": "Price", "share": "50%", "mentions": "4", "alone": "1" })),
                    "words": [{ "excerpt": words, "driver": "Price", "outcome": "lost" }],
                    "competitors": lines(bit(0), json!({ "name": words, "won": "1", "lost": "2", "win_rate": "33%", "why_we_lose": "" })),
                    "needs": lines(bit(1), json!({ "driver": "Price", "requests": "2" })),
                    "alerts": lines(bit(3), json!({ "rule": words, "message": words, "action": words })),
                });
                let filled = same_as_handlebars(
                    &templates,
                    "monthly_digest",
                    locale,
                    &digest,
                    &flags.to_string(),
                );
                assert!(!filled.html.contains("<b>prix"), "the HTML part escapes");
                assert!(filled.text.contains(words), "the text part is the words");
            }
            let alert = json!({ "rule": words, "message": words, "action": words,
                                "url": "https://debrief.example/f/1" });
            let filled = same_as_handlebars(&templates, "alert", locale, &alert, "alert");
            assert!(!filled.html.contains("<b>prix"), "the HTML part escapes");
        }
    }
}

//! Server-rendered pages: handlebars templates from `server/templates/` and one message
//! catalogue per locale from `server/locales/`, both compiled into the binary. Every value
//! a template prints is HTML-escaped by handlebars; buyer text never reaches a page any
//! other way. The shell around each page (headers, CSP) is [`super::html::html_page`].

use super::html::{escape, html_page};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use debrief_common::Locale;
use handlebars::Handlebars;
use serde_json::{Map, Value};
use std::sync::LazyLock;

/// `(name, source)` of every page template.
const TEMPLATES: [(&str, &str); 5] = [
    ("message", include_str!("../../templates/message.hbs")),
    ("booking", include_str!("../../templates/booking.hbs")),
    (
        "opt_out_confirm",
        include_str!("../../templates/opt_out_confirm.hbs"),
    ),
    (
        "survey_form",
        include_str!("../../templates/survey_form.hbs"),
    ),
    (
        "quarterly_report",
        include_str!("../../templates/quarterly_report.hbs"),
    ),
];

/// `(locale, catalogue)`: every sentence a page shows, by key.
const CATALOGUES: [(Locale, &str); 2] = [
    (Locale::En, include_str!("../../locales/en.json")),
    (Locale::Fr, include_str!("../../locales/fr.json")),
];

pub struct Pages {
    handlebars: Handlebars<'static>,
    catalogues: Vec<(Locale, Map<String, Value>)>,
}

static PAGES: LazyLock<Pages> = LazyLock::new(|| {
    // Both are compiled in and checked by the tests below: a failure here is a build
    // that never passed them.
    Pages::load().expect("the page templates and catalogues compiled into this build load")
});

/// A JSON object literal as template data.
pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The pages of this build.
pub fn pages() -> &'static Pages {
    &PAGES
}

impl Pages {
    fn load() -> anyhow::Result<Pages> {
        Pages::from_sources(&TEMPLATES, &CATALOGUES)
    }

    /// Templates `(name, source)` and catalogues `(locale, JSON)`, as compiled in: the
    /// buyers' pages here, the console's in `console::page`.
    pub fn from_sources(
        templates: &[(&str, &str)],
        catalogues: &[(Locale, &str)],
    ) -> anyhow::Result<Pages> {
        let mut handlebars = Handlebars::new();
        // A key missing from a catalogue, or a value a template expects and the handler
        // forgot, fails the render (and the tests) instead of printing nothing.
        handlebars.set_strict_mode(true);
        for (name, source) in templates {
            handlebars.register_template_string(name, source)?;
        }
        let catalogues = catalogues
            .iter()
            .map(|(locale, json)| Ok((*locale, serde_json::from_str(json)?)))
            .collect::<anyhow::Result<_>>()?;
        Ok(Pages {
            handlebars,
            catalogues,
        })
    }

    /// Every locale's catalogue, English first.
    pub fn catalogues(&self) -> impl Iterator<Item = (Locale, &Map<String, Value>)> {
        self.catalogues.iter().map(|(l, c)| (*l, c))
    }

    /// The catalogue of `locale`, else the first (English): every locale has every key
    /// (a test says so), so the fallback only covers a locale without a catalogue.
    fn of(&self, locale: Locale) -> Option<&Map<String, Value>> {
        self.catalogues
            .iter()
            .find(|(l, _)| *l == locale)
            .or_else(|| self.catalogues.first())
            .map(|(_, c)| c)
    }

    /// The catalogue of `locale`, with `{name}` replaced by each `(name, value)` given.
    fn catalogue(&self, locale: Locale, values: &[(&str, &str)]) -> Map<String, Value> {
        let mut out = self.of(locale).cloned().unwrap_or_default();
        for text in out.values_mut() {
            if let Value::String(s) = text {
                for (name, value) in values {
                    *s = s.replace(&format!("{{{name}}}"), value);
                }
            }
        }
        out
    }

    /// The catalogue of `locale` as a lookup: a key it lacks reads as itself.
    pub fn sentences(&self, locale: Locale) -> impl Fn(&str) -> String + '_ {
        let catalogue = self.of(locale);
        move |key| {
            catalogue
                .and_then(|c| c.get(key))
                .and_then(Value::as_str)
                .unwrap_or(key)
                .to_owned()
        }
    }

    /// Renders `template` with `data` and the locale's catalogue as `t`, in the page shell.
    /// `values` fill the catalogue's `{name}` placeholders (e.g. the company's name).
    pub fn render(
        &self,
        status: StatusCode,
        locale: Locale,
        title: &str,
        template: &str,
        data: Map<String, Value>,
        values: &[(&str, &str)],
    ) -> HttpResponse {
        match self.body(locale, template, data, values) {
            Ok(body) => html_page(status, locale, &escape(title), &body),
            Err(e) => {
                tracing::error!(error = %e, template, "a page failed to render");
                self.message(StatusCode::INTERNAL_SERVER_ERROR, None, "server_error")
            }
        }
    }

    /// The page's markup, inside the shell: `template` with `data` and the catalogue as `t`.
    pub fn body(
        &self,
        locale: Locale,
        template: &str,
        mut data: Map<String, Value>,
        values: &[(&str, &str)],
    ) -> Result<String, handlebars::RenderError> {
        data.insert("t".into(), Value::Object(self.catalogue(locale, values)));
        self.handlebars.render(template, &data)
    }

    /// A page with one message from the catalogue: in the buyer's language when known,
    /// else in every language (a dead link does not tell us the buyer's).
    pub fn message(&self, status: StatusCode, locale: Option<Locale>, key: &str) -> HttpResponse {
        let shown: Vec<&(Locale, Map<String, Value>)> = self
            .catalogues
            .iter()
            .filter(|(l, _)| locale.is_none_or(|wanted| *l == wanted))
            .collect();
        let text = |c: &Map<String, Value>, key: &str| {
            c.get(key).and_then(Value::as_str).unwrap_or(key).to_owned()
        };
        let messages: Vec<Value> = shown
            .iter()
            .map(|(l, c)| serde_json::json!({ "lang": l.code(), "text": text(c, key) }))
            .collect();
        // The page's heading, in the languages shown.
        let title = shown
            .iter()
            .map(|(_, c)| text(c, "page_title"))
            .collect::<Vec<_>>()
            .join(" · ");
        let data = serde_json::json!({ "messages": messages, "title": title });
        let body = self
            .handlebars
            .render("message", &data)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "the message page failed to render");
                String::new()
            });
        html_page(status, locale.unwrap_or_default(), "Debrief", &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_has_every_sentence_of_the_english_catalogue() {
        let pages = Pages::load().expect("pages load");
        let english: Vec<&String> = pages.catalogues[0].1.keys().collect();
        for (locale, catalogue) in &pages.catalogues {
            let keys: Vec<&String> = catalogue.keys().collect();
            assert_eq!(keys, english, "{locale}");
            assert!(
                catalogue
                    .values()
                    .all(|v| v.as_str().is_some_and(|s| !s.trim().is_empty())),
                "{locale} has an empty sentence"
            );
        }
    }

    #[test]
    fn every_template_renders_in_every_locale_and_escapes_what_it_prints() {
        let pages = Pages::load().expect("pages load");
        let hostile = "<script>alert(1)</script>\"'&";
        for (locale, _) in &pages.catalogues {
            let t = Value::Object(pages.catalogue(*locale, &[("company", hostile)]));
            let mut data = crate::surveys::form::sample_view(*locale, hostile);
            let extra = serde_json::json!({
                "t": t, "token": hostile, "score": "7", "locale": locale.code(),
                "messages": [{ "lang": locale.code(), "text": hostile }],
                "title": hostile,
                // The booking page's.
                "error": hostile, "tz": hostile, "phone": hostile,
                "prefers_video": true, "prefers_phone": false,
                "zones": [{ "name": hostile, "selected": true }],
                "days": [{ "label": hostile, "slots": [{ "value": hostile, "label": hostile }] }],
                "booked": { "when": hostile, "zone": hostile, "interviewer": hostile, "ics": hostile },
                "report": crate::reports::quarterly::sample(hostile),
            });
            for (k, v) in object(extra) {
                data[k] = v;
            }
            for (name, _) in TEMPLATES {
                let html = pages.handlebars.render(name, &data).expect(name);
                assert!(
                    !html.contains("<script>alert"),
                    "{name} in {locale}: {html}"
                );
            }
        }
    }
}

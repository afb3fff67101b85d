//! Email templates from `email-templates/<locale>/`, compiled into the binary so a deployed
//! server cannot run with templates that do not match its code.

use anyhow::Context;
use debrief_common::Locale;
use handlebars::Handlebars;
use serde::Serialize;

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

pub struct Templates {
    /// HTML escaping on: for the HTML part, where buyer-supplied names appear.
    html: Handlebars<'static>,
    /// No escaping: for the subject and the text part, which are not markup.
    plain: Handlebars<'static>,
}

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Templates {
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
        ];
        for (template, parts) in sets {
            for (locale, subject, text, body) in parts {
                let name = |part: &str| format!("{}/{template}.{part}", locale.code());
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
        Ok(Templates { html, plain })
    }

    pub fn render(
        &self,
        template: &str,
        locale: Locale,
        data: &impl Serialize,
    ) -> anyhow::Result<Rendered> {
        let name = |part: &str| format!("{}/{template}.{part}", locale.code());
        let subject = self.plain.render(&name("subject"), data)?;
        Ok(Rendered {
            // A subject is one line: a newline from data would start a new header.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: self.plain.render(&name("text"), data)?,
            html: self.html.render(&name("html"), data)?,
        })
    }
}

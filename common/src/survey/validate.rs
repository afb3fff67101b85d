//! The one validator of definitions and answers, used by the widget, the no-JS form, the
//! API and the SurveyJS importer alike. Every fault is reported with the JSON path of what
//! caused it, all at once.

use super::answers::{Answer, AnswerItem, AnswerValue, Influence};
use super::definition::{Definition, Question, QuestionKind, Text, FORMAT, OTHER};
use super::logic::{is_placeholder, Answers, Condition, SurveyContext};
use crate::error::{quoted, FieldError};
use crate::map::{Map, Set};

pub const MAX_PAGES: usize = 50;
pub const MAX_QUESTIONS: usize = 200;
pub const MAX_CHOICES: usize = 100;
pub const MAX_DRIVERS: usize = 50;
pub const MAX_TEXT_CHARS: usize = 1_000;
pub const MAX_ID_CHARS: usize = 64;
/// Nesting of `all`, `any` and `not`.
pub const MAX_CONDITION_DEPTH: usize = 8;
/// "Other, please say" and interview times.
pub const MAX_NOTE_CHARS: usize = 500;
pub const MAX_FREE_TEXT_CHARS: u32 = 10_000;

/// Checks a definition; each fault names its path, e.g. `pages[1].questions[0].title.fr`.
pub fn validate_definition(d: &Definition) -> Result<(), Vec<FieldError>> {
    let mut f = Faults::default();
    if d.format != FORMAT {
        f.push(
            "format",
            format!("must be {FORMAT}, the format this version reads"),
        );
    }
    if d.locales.is_empty() {
        f.push("locales", "must list at least one language");
    }
    let mut seen_locales = Set::new();
    for (i, l) in d.locales.iter().enumerate() {
        if !seen_locales.insert(*l) {
            f.push(format!("locales[{i}]"), format!("{l} is listed twice"));
        }
    }
    if !d.locales.is_empty() && !d.locales.contains(&d.default_locale) {
        f.push("default_locale", "must be one of the survey's locales");
    }
    if d.pages.is_empty() {
        f.push("pages", "must have at least one page");
    }
    if d.pages.len() > MAX_PAGES {
        f.push("pages", format!("must have at most {MAX_PAGES} pages"));
    }
    let total: usize = d.pages.iter().map(|p| p.questions.len()).sum();
    if total > MAX_QUESTIONS {
        f.push(
            "pages",
            format!("must have at most {MAX_QUESTIONS} questions in all"),
        );
    }

    let mut page_ids = Set::new();
    // Questions met so far, in order: a condition may only look back, so logic has no
    // cycles and a buyer never sees a question appear above the one that revealed it.
    let mut earlier: Map<&str, &Question> = Map::new();
    let all_ids: Set<&str> = d.questions().map(|(_, q)| q.id.as_str()).collect();
    for (p, page) in d.pages.iter().enumerate().take(MAX_PAGES) {
        let at = format!("pages[{p}]");
        check_id(&mut f, &format!("{at}.id"), &page.id);
        if !page_ids.insert(page.id.as_str()) {
            f.push(
                format!("{at}.id"),
                format!("page id {} is used twice", quoted(&page.id)),
            );
        }
        if let Some(title) = &page.title {
            check_text(&mut f, &format!("{at}.title"), title, d);
        }
        if page.questions.is_empty() {
            f.push(format!("{at}.questions"), "must have at least one question");
        }
        for (i, q) in page.questions.iter().enumerate() {
            let at = format!("{at}.questions[{i}]");
            check_id(&mut f, &format!("{at}.id"), &q.id);
            if earlier.contains_key(q.id.as_str()) {
                f.push(
                    format!("{at}.id"),
                    format!("question id {} is used twice", quoted(&q.id)),
                );
            }
            check_text(&mut f, &format!("{at}.title"), &q.title, d);
            if let Some(help) = &q.help {
                check_text(&mut f, &format!("{at}.help"), help, d);
            }
            check_kind(&mut f, &at, q, d);
            if let Some(c) = &q.visible_if {
                check_condition(
                    &mut f,
                    &format!("{at}.visible_if"),
                    c,
                    &earlier,
                    &all_ids,
                    0,
                );
            }
            earlier.insert(q.id.as_str(), q);
        }
    }
    f.finish()
}

fn check_kind(f: &mut Faults, at: &str, q: &Question, d: &Definition) {
    match &q.kind {
        QuestionKind::Nps | QuestionKind::InterviewOptIn | QuestionKind::Consent => {}
        QuestionKind::Rating { min, max } => {
            if !(0..=1).contains(min) {
                f.push(format!("{at}.min"), "must be 0 or 1");
            }
            if *max <= *min || *max > 10 {
                f.push(format!("{at}.max"), "must be above min and at most 10");
            } else if (*min, *max) == (0, 10) {
                // One meaning per scale: analytics, the email's score links and SurveyJS
                // (a 0-10 rating) all read 0-10 as the recommendation score.
                f.push(
                    format!("{at}.max"),
                    "a 0 to 10 scale is the nps question type",
                );
            }
        }
        QuestionKind::SingleChoice { choices, other }
        | QuestionKind::MultipleChoice { choices, other } => {
            if choices.len() + usize::from(*other) < 2 {
                f.push(format!("{at}.choices"), "must offer at least two choices");
            }
            if choices.len() > MAX_CHOICES {
                f.push(
                    format!("{at}.choices"),
                    format!("must offer at most {MAX_CHOICES} choices"),
                );
            }
            let listed = choices.iter().map(|c| (c.id.as_str(), &c.text));
            check_listed(
                f,
                &format!("{at}.choices"),
                "choice",
                listed.take(MAX_CHOICES),
                d,
            );
            if let Some(c) = choices.iter().position(|c| *other && c.id == OTHER) {
                f.push(
                    format!("{at}.choices[{c}].id"),
                    "\"other\" is the id of \"Other, please say\"",
                );
            }
        }
        QuestionKind::FreeText { max_chars } => {
            if *max_chars == 0 || *max_chars > MAX_FREE_TEXT_CHARS {
                f.push(
                    format!("{at}.max_chars"),
                    format!("must be from 1 to {MAX_FREE_TEXT_CHARS}"),
                );
            }
        }
        QuestionKind::DriverMatrix { drivers } => {
            if drivers.is_empty() || drivers.len() > MAX_DRIVERS {
                f.push(
                    format!("{at}.drivers"),
                    format!("must list 1 to {MAX_DRIVERS} drivers"),
                );
            }
            let listed = drivers.iter().map(|k| (k.id.as_str(), &k.text));
            check_listed(
                f,
                &format!("{at}.drivers"),
                "driver",
                listed.take(MAX_DRIVERS),
                d,
            );
        }
    }
}

/// Choices or drivers: each with a well-formed id, used once, and its text.
fn check_listed<'a>(
    f: &mut Faults,
    at: &str,
    what: &str,
    items: impl Iterator<Item = (&'a str, &'a Text)>,
    d: &Definition,
) {
    let mut ids = Set::new();
    for (i, (id, text)) in items.enumerate() {
        let path = format!("{at}[{i}]");
        check_id(f, &format!("{path}.id"), id);
        if !ids.insert(id) {
            f.push(
                format!("{path}.id"),
                format!("{what} id {} is used twice", quoted(id)),
            );
        }
        check_text(f, &format!("{path}.text"), text, d);
    }
}

fn check_condition(
    f: &mut Faults,
    at: &str,
    c: &Condition,
    earlier: &Map<&str, &Question>,
    all_ids: &Set<&str>,
    depth: usize,
) {
    if depth >= MAX_CONDITION_DEPTH {
        f.push(
            at,
            format!("nests deeper than {MAX_CONDITION_DEPTH} levels"),
        );
        return;
    }
    let subjects = usize::from(!c.all.is_empty())
        + usize::from(!c.any.is_empty())
        + usize::from(c.not.is_some())
        + usize::from(c.answer.is_some())
        + usize::from(c.deal.is_some());
    if subjects != 1 {
        f.push(at, "must have exactly one of all, any, not, answer or deal");
        return;
    }
    let tests = usize::from(c.at_most.is_some())
        + usize::from(c.at_least.is_some())
        + usize::from(c.any_of.is_some())
        + usize::from(c.is.is_some())
        + usize::from(c.answered.is_some());
    for (list, name) in [(&c.all, "all"), (&c.any, "any")] {
        for (i, inner) in list.iter().enumerate() {
            check_condition(
                f,
                &format!("{at}.{name}[{i}]"),
                inner,
                earlier,
                all_ids,
                depth + 1,
            );
        }
    }
    if let Some(inner) = &c.not {
        check_condition(f, &format!("{at}.not"), inner, earlier, all_ids, depth + 1);
    }
    if c.answer.is_none() && c.deal.is_none() {
        if tests > 0 {
            f.push(at, "a test (at_most, any_of…) belongs with answer or deal");
        }
        return;
    }
    if tests != 1 {
        f.push(
            at,
            "must have exactly one test: at_most, at_least, any_of, is or answered",
        );
        return;
    }
    if c.deal.is_some() {
        if c.any_of.is_none() && c.answered.is_none() {
            f.push(at, "a deal attribute is tested with any_of or answered");
        }
        return;
    }
    let Some(id) = c.answer.as_deref() else {
        return;
    };
    let Some(question) = earlier.get(id) else {
        let why = if all_ids.contains(id) {
            format!(
                "question {} comes later: a condition may only look back, so logic has no cycles",
                quoted(id)
            )
        } else {
            format!("no question has the id {}", quoted(id))
        };
        f.push(format!("{at}.answer"), why);
        return;
    };
    if c.answered.is_some() {
        return;
    }
    let fits = match &question.kind {
        QuestionKind::Nps | QuestionKind::Rating { .. } => {
            c.at_most.is_some() || c.at_least.is_some()
        }
        QuestionKind::SingleChoice { choices, other }
        | QuestionKind::MultipleChoice { choices, other } => {
            if let Some(list) = &c.any_of {
                for (i, wanted) in list.iter().enumerate() {
                    let known =
                        choices.iter().any(|ch| &ch.id == wanted) || (*other && wanted == OTHER);
                    if !known {
                        f.push(
                            format!("{at}.any_of[{i}]"),
                            format!("{} is not a choice of {}", quoted(wanted), quoted(id)),
                        );
                    }
                }
                true
            } else {
                false
            }
        }
        QuestionKind::InterviewOptIn | QuestionKind::Consent => c.is.is_some(),
        QuestionKind::FreeText { .. } | QuestionKind::DriverMatrix { .. } => false,
    };
    if !fits {
        f.push(at, format!("this test does not apply to question {}: scores take at_most or at_least, choices any_of, yes/no questions is, and any question answered", quoted(id)));
    }
}

fn check_text(f: &mut Faults, at: &str, text: &Text, d: &Definition) {
    for locale in &d.locales {
        match text.0.get(locale) {
            None => f.push(format!("{at}.{locale}"), "is missing"),
            Some(s) if s.trim().is_empty() => f.push(format!("{at}.{locale}"), "must not be empty"),
            Some(s) => {
                if s.chars().count() > MAX_TEXT_CHARS {
                    f.push(
                        format!("{at}.{locale}"),
                        format!("must be at most {MAX_TEXT_CHARS} characters"),
                    );
                }
                for name in placeholders(s) {
                    if !is_placeholder(name) {
                        f.push(
                            format!("{at}.{locale}"),
                            format!(
                                "{{{}}} is not a deal attribute or {{company}}",
                                name.chars().take(40).collect::<String>()
                            ),
                        );
                    }
                }
            }
        }
    }
    for locale in text.0.keys() {
        if !d.locales.contains(locale) {
            f.push(
                format!("{at}.{locale}"),
                "is not one of the survey's locales",
            );
        }
    }
}

/// Names in braces, for the placeholder check. Braces with spaces or nothing inside are
/// plain text.
fn placeholders(s: &str) -> impl Iterator<Item = &str> {
    s.split('{').skip(1).filter_map(|part| {
        let name = part.split('}').next().filter(|_| part.contains('}'))?;
        (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .then_some(name)
    })
}

fn check_id(f: &mut Faults, at: &str, id: &str) {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !ok {
        f.push(
            at,
            format!("must be 1 to {MAX_ID_CHARS} characters of a-z, 0-9, _ and -"),
        );
    }
}

/// Whether an answer is a full submission or a page saved on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// Only what is given is checked: the buyer is still answering.
    Partial,
    /// A page is done: its required questions that are shown must be answered.
    Page(usize),
    /// Every required question that is shown must be answered.
    Complete,
}

impl Completeness {
    fn requires(self, page: usize) -> bool {
        match self {
            Completeness::Partial => false,
            Completeness::Page(p) => p == page,
            Completeness::Complete => true,
        }
    }
}

/// What to do with an answer to a question the other answers hide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// The API: the client should not have sent it.
    Refuse,
    /// The no-JS form: the question was shown when the page was drawn, and an answer on
    /// the same page has hidden it since.
    Drop,
}

/// A fault's words (its message, and the path of the answer it names), written only in
/// builds that show them (feature `messages`, on by default): the widget marks a refused
/// answer without them, and its download then carries neither their text nor their
/// formatting.
macro_rules! say {
    ($($arg:tt)*) => {
        if cfg!(feature = "messages") {
            format!($($arg)*)
        } else {
            String::new()
        }
    };
}

/// Checks answers against the exact definition they answer. `stored` are the answers saved
/// earlier from the same link; `items` are new or changed ones. Gives every answer, stored
/// and new, that is still shown: an answer to a question that a changed answer now hides
/// is dropped, as the buyer no longer sees it.
pub fn validate_answers(
    d: &Definition,
    context: &SurveyContext,
    stored: &Answers,
    items: &[AnswerItem],
    completeness: Completeness,
    hidden: Hidden,
) -> Result<Answers, Vec<FieldError>> {
    let mut f = Faults::default();
    let mut given: Map<&str, (usize, &AnswerItem)> = Map::new();
    for (i, item) in items.iter().enumerate() {
        if given.insert(item.question.as_str(), (i, item)).is_some() {
            f.push(
                say!("answers[{i}].question"),
                say!("is answered twice in one request"),
            );
        }
    }
    let mut answers = Answers::new();
    let mut hidden_but_given = Vec::new();
    for (page, q) in d.questions() {
        let shown = q
            .visible_if
            .as_ref()
            .is_none_or(|c| c.holds(&answers, context));
        let answer = match given.remove(q.id.as_str()) {
            Some((i, _)) if !shown => {
                hidden_but_given.push(i);
                continue;
            }
            Some((i, item)) => match check_answer(q, item) {
                // Nothing picked, typed, rated or ticked: the same as no answer, and it
                // takes back what was saved.
                Ok(answer) => Some(answer).filter(|a| !a.is_blank()),
                Err((field, message)) => {
                    f.push(say!("answers[{i}].{field}"), message);
                    continue;
                }
            },
            None if !shown => continue,
            None => stored.get(&q.id).cloned(),
        };
        match answer {
            Some(answer) => {
                answers.insert(q.id.clone(), answer);
            }
            None if q.required && completeness.requires(page) => {
                f.push("answers", say!("question {} is required", quoted(&q.id)));
            }
            None => {}
        }
    }
    if hidden == Hidden::Refuse {
        for i in hidden_but_given {
            f.push(
                say!("answers[{i}].question"),
                say!("is not shown for the answers given"),
            );
        }
    }
    for (_, (i, item)) in given {
        f.push(
            say!("answers[{i}].question"),
            say!("no question has the id {}", quoted(&item.question)),
        );
    }
    f.finish().map(|()| answers)
}

/// The place in the request of the answer a fault names: `answers[3].value` → 3. The
/// no-JS form and the widget mark the question of that answer.
pub fn answer_index(field: &str) -> Option<usize> {
    field
        .strip_prefix("answers[")?
        .split(']')
        .next()?
        .parse()
        .ok()
}

/// The answer if it fits the question, else the field at fault and why.
fn check_answer(q: &Question, item: &AnswerItem) -> Result<Answer, (&'static str, String)> {
    let wrong = |what: &str| Err(("value", say!("must be {what}")));
    let note = |allowed: bool| -> Result<Option<String>, (&'static str, String)> {
        match item
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            None => Ok(None),
            Some(_) if !allowed => Err(("text", say!("is not asked for by this question"))),
            Some(t) => {
                check_words(t, MAX_NOTE_CHARS).map_err(|m| ("text", m))?;
                Ok(Some(t.to_owned()))
            }
        }
    };
    match (&q.kind, &item.value) {
        (QuestionKind::Nps, AnswerValue::Number(n)) if (0..=10).contains(n) => {
            note(false)?;
            Ok(Answer::Score(*n))
        }
        (QuestionKind::Nps, _) => wrong("a whole number from 0 to 10"),
        (QuestionKind::Rating { min, max }, AnswerValue::Number(n))
            if (*min..=*max).contains(n) =>
        {
            note(false)?;
            Ok(Answer::Score(*n))
        }
        (QuestionKind::Rating { min, max }, _) => {
            wrong(&say!("a whole number from {min} to {max}"))
        }
        (QuestionKind::SingleChoice { choices, other }, AnswerValue::Text(choice)) => {
            let is_other = *other && choice == OTHER;
            if !is_other && !choices.iter().any(|c| &c.id == choice) {
                return wrong("one of the question's choices");
            }
            let text = note(is_other)?;
            if is_other && text.is_none() {
                return Err(("text", say!("is needed with \"Other\"")));
            }
            Ok(Answer::Choice {
                choice: choice.clone(),
                other: text,
            })
        }
        (QuestionKind::SingleChoice { .. }, _) => wrong("the id of one choice"),
        (QuestionKind::MultipleChoice { choices, other }, AnswerValue::List(picked)) => {
            let mut seen = Set::new();
            for p in picked {
                let known = choices.iter().any(|c| &c.id == p) || (*other && p == OTHER);
                if !known || !seen.insert(p.as_str()) {
                    return wrong("distinct ids of the question's choices");
                }
            }
            let with_other = seen.contains(OTHER);
            let text = note(with_other)?;
            if with_other && text.is_none() {
                return Err(("text", say!("is needed with \"Other\"")));
            }
            Ok(Answer::Choices {
                choices: picked.clone(),
                other: text,
            })
        }
        (QuestionKind::MultipleChoice { .. }, _) => wrong("a list of choice ids"),
        (QuestionKind::FreeText { max_chars }, AnswerValue::Text(text)) => {
            let text = text.trim();
            check_words(text, *max_chars as usize).map_err(|m| ("value", m))?;
            note(false)?;
            Ok(Answer::Text(text.to_owned()))
        }
        (QuestionKind::FreeText { .. }, _) => wrong("text"),
        (QuestionKind::DriverMatrix { drivers }, AnswerValue::Map(rated)) => {
            let mut out = Map::new();
            for (driver, influence) in rated {
                if !drivers.iter().any(|d| &d.id == driver) {
                    return Err((
                        "value",
                        say!("{} is not a driver of this question", quoted(driver)),
                    ));
                }
                let Some(influence) = Influence::parse(influence) else {
                    return Err(("value", say!("{}: must be very_negative, negative, neutral, positive, very_positive or not_a_factor", quoted(driver))));
                };
                out.insert(driver.clone(), influence);
            }
            note(false)?;
            Ok(Answer::Drivers(out))
        }
        (QuestionKind::DriverMatrix { .. }, _) => wrong("an object of driver ids to influences"),
        (QuestionKind::InterviewOptIn, AnswerValue::Flag(yes)) => {
            let times = note(*yes)?;
            Ok(Answer::InterviewOptIn { yes: *yes, times })
        }
        (QuestionKind::InterviewOptIn, _) => wrong("true or false"),
        (QuestionKind::Consent, AnswerValue::Flag(ticked)) => {
            note(false)?;
            Ok(Answer::Consent(*ticked))
        }
        (QuestionKind::Consent, _) => wrong("true or false"),
    }
}

/// Buyer text: stored as given (escaped where shown), but bounded, and with no control
/// characters beyond line breaks and tabs.
fn check_words(text: &str, max_chars: usize) -> Result<(), String> {
    let n = text.chars().count();
    if n > max_chars {
        return Err(say!("must be at most {max_chars} characters, got {n}"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(say!("must not contain control characters"));
    }
    Ok(())
}

#[derive(Default)]
struct Faults(Vec<FieldError>);

impl Faults {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

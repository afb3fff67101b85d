//! How a buyer walks a survey: which questions show, where a returning buyer resumes, which
//! page comes next, and how a page's form fields read as answers. The no-JS form and the
//! widget both walk the survey with these functions, so the two paths stay in step.

use super::answers::{AnswerItem, AnswerValue};
use super::definition::{Definition, Question, QuestionKind};
use super::logic::{Answers, SurveyContext};
use crate::map::Map;

/// Whether `q` is shown, given the answers so far and the deal.
pub fn shown(q: &Question, answers: &Answers, context: &SurveyContext) -> bool {
    q.visible_if
        .as_ref()
        .is_none_or(|c| c.holds(answers, context))
}

/// Whether `page` shows any question: a page whose questions are all hidden is skipped.
pub fn page_shows(d: &Definition, page: usize, answers: &Answers, ctx: &SurveyContext) -> bool {
    d.pages
        .get(page)
        .is_some_and(|p| p.questions.iter().any(|q| shown(q, answers, ctx)))
}

/// The next page after `page` that shows a question; `None` when `page` is the last.
pub fn next_page(
    d: &Definition,
    page: usize,
    answers: &Answers,
    ctx: &SurveyContext,
) -> Option<usize> {
    (page + 1..d.pages.len()).find(|&p| page_shows(d, p, answers, ctx))
}

/// The page before `page` that shows a question.
pub fn previous_page(
    d: &Definition,
    page: usize,
    answers: &Answers,
    ctx: &SurveyContext,
) -> Option<usize> {
    (0..page.min(d.pages.len()))
        .rev()
        .find(|&p| page_shows(d, p, answers, ctx))
}

/// Where a returning buyer picks up: the first page with a question shown and not
/// answered, else the last page that shows anything.
pub fn resume_page(d: &Definition, answers: &Answers, ctx: &SurveyContext) -> usize {
    let first = (0..d.pages.len())
        .find(|&p| page_shows(d, p, answers, ctx))
        .unwrap_or(0);
    if answers.is_empty() {
        return first;
    }
    d.pages
        .iter()
        .position(|p| {
            p.questions
                .iter()
                .any(|q| shown(q, answers, ctx) && !answers.contains_key(&q.id))
        })
        .or_else(|| {
            (0..d.pages.len())
                .rev()
                .find(|&p| page_shows(d, p, answers, ctx))
        })
        .unwrap_or(first)
}

/// The required questions of `page` that are shown and not answered.
pub fn missing_required<'d>(
    d: &'d Definition,
    page: usize,
    answers: &Answers,
    ctx: &SurveyContext,
) -> Vec<&'d str> {
    d.pages.get(page).map_or_else(Vec::new, |p| {
        p.questions
            .iter()
            .filter(|q| q.required && shown(q, answers, ctx) && !answers.contains_key(&q.id))
            .map(|q| q.id.as_str())
            .collect()
    })
}

/// Whether the answers `after` show a question of `page` that `before` hid and that has no
/// answer yet: the buyer must see it before moving on ("price, and what else?").
pub fn reveals_new_questions(
    d: &Definition,
    page: usize,
    before: &Answers,
    after: &Answers,
    ctx: &SurveyContext,
) -> bool {
    d.pages.get(page).is_some_and(|p| {
        p.questions
            .iter()
            .any(|q| shown(q, after, ctx) && !shown(q, before, ctx) && !after.contains_key(&q.id))
    })
}

/// The form field a question's answer is posted in: `q.<id>`. Its note is
/// `q.<id>.other` or `q.<id>.times`, and each driver of a matrix `q.<id>.<driver>`.
pub fn field_name(question: &str) -> String {
    let mut name = String::with_capacity(question.len() + 2);
    name.push_str("q.");
    name.push_str(question);
    name
}

/// The answer that a page's posted fields give to `q`, if any field was filled in. Fields
/// are `(name, value)` pairs as a browser posts them (see [`field_name`]).
pub fn item_from_fields(q: &Question, fields: &[(String, String)]) -> Option<AnswerItem> {
    let name = field_name(&q.id);
    let values: Vec<&str> = fields
        .iter()
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
        .collect();
    let extra = |suffix: &str| {
        fields
            .iter()
            .find(|(k, _)| {
                k.strip_prefix(name.as_str())
                    .and_then(|rest| rest.strip_prefix('.'))
                    == Some(suffix)
            })
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let first = values.first().map(|v| v.trim()).filter(|v| !v.is_empty());
    let (value, text) = match &q.kind {
        QuestionKind::Nps | QuestionKind::Rating { .. } => {
            // A value that is not a number reaches the validator as text: "must be a
            // whole number" is the answer to a tampered form too.
            let v = first?;
            let value = v
                .parse::<i64>()
                .map(AnswerValue::Number)
                .unwrap_or_else(|_| AnswerValue::Text(v.to_owned()));
            (value, None)
        }
        QuestionKind::SingleChoice { .. } => (AnswerValue::Text(first?.to_owned()), extra("other")),
        QuestionKind::MultipleChoice { .. } => {
            if values.is_empty() {
                return None;
            }
            let picked = values.iter().map(|v| (*v).to_owned()).collect();
            (AnswerValue::List(picked), extra("other"))
        }
        QuestionKind::FreeText { .. } => (AnswerValue::Text(first?.to_owned()), None),
        QuestionKind::DriverMatrix { drivers } => {
            let rated: Map<String, String> = drivers
                .iter()
                .filter_map(|driver| Some((driver.id.clone(), extra(&driver.id)?)))
                .collect();
            if rated.is_empty() {
                return None;
            }
            (AnswerValue::Map(rated), None)
        }
        QuestionKind::InterviewOptIn => match first? {
            "yes" => (AnswerValue::Flag(true), extra("times")),
            "no" => (AnswerValue::Flag(false), None),
            other => (AnswerValue::Text(other.to_owned()), None),
        },
        // An unticked checkbox sends nothing: consent not given, which a required consent
        // reports as unanswered.
        QuestionKind::Consent => (AnswerValue::Flag(first? == "yes"), None),
    };
    Some(AnswerItem {
        question: q.id.clone(),
        value,
        text,
    })
}

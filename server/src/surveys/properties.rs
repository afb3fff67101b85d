//! Properties over generated surveys: any definition the validator accepts renders on
//! every page of the no-JS form (escaping whatever its texts hold) and survives SurveyJS
//! out and back; any answer the validator accepts is stored and read back as given.

use super::form::{view, Faults};
use super::progress::{answer_from_rows, rows_of};
use super::surveyjs;
use crate::web::pages::{object, pages};
use debrief_common::map::Map;
use debrief_common::survey::{
    validate_answers, validate_definition, AnswerItem, AnswerValue, Answers, Choice, Completeness,
    Condition, DealAttribute, Definition, Driver, DriverFamily, Hidden, Influence, Page, Question,
    QuestionKind, SurveyContext, Text,
};
use debrief_common::Locale;
use proptest::prelude::*;

/// Texts as buyers and owners write them, hostile ones included.
fn words() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Zéèà ,.?'-]{1,40}",
        Just("<script>alert(1)</script>".to_owned()),
        Just("\"quoted\" & 'single' {company} {competitor}".to_owned()),
        Just("\u{202E}reversed\u{202C} text".to_owned()),
    ]
}

fn text(locales: Vec<Locale>) -> impl Strategy<Value = Text> {
    proptest::collection::vec(words(), locales.len())
        .prop_map(move |w| Text(locales.iter().copied().zip(w).collect()))
}

fn choices(locales: Vec<Locale>) -> impl Strategy<Value = Vec<Choice>> {
    proptest::collection::vec(text(locales), 2..5).prop_map(|texts| {
        texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| Choice {
                id: format!("c{i}"),
                text,
            })
            .collect::<Vec<_>>()
    })
}

fn kind(locales: Vec<Locale>) -> impl Strategy<Value = QuestionKind> {
    let drivers = proptest::collection::vec(
        (
            text(locales.clone()),
            prop::sample::select(vec![
                DriverFamily::ProductService,
                DriverFamily::SalesExperience,
                DriverFamily::PriceAndPackaging,
                DriverFamily::Company,
                DriverFamily::CustomerSupport,
            ]),
        ),
        1..6,
    )
    .prop_map(|list| {
        list.into_iter()
            .enumerate()
            .map(|(i, (text, family))| Driver {
                id: format!("d{i}"),
                family,
                text,
            })
            .collect::<Vec<_>>()
    });
    prop_oneof![
        Just(QuestionKind::Nps),
        (0i64..=1, 2i64..=10).prop_map(|(min, max)| QuestionKind::Rating { min, max }),
        (choices(locales.clone()), any::<bool>())
            .prop_map(|(choices, other)| QuestionKind::SingleChoice { choices, other }),
        (choices(locales), any::<bool>())
            .prop_map(|(choices, other)| QuestionKind::MultipleChoice { choices, other }),
        (1u32..=3_000).prop_map(|max_chars| QuestionKind::FreeText { max_chars }),
        drivers.prop_map(|drivers| QuestionKind::DriverMatrix { drivers }),
        Just(QuestionKind::InterviewOptIn),
        Just(QuestionKind::Consent),
    ]
}

/// A condition on an earlier question (by index into those before it), or on the deal.
fn condition_for(earlier: &[Question], pick: usize, n: i64, deal: bool) -> Option<Condition> {
    if deal {
        return Some(Condition {
            deal: Some(DealAttribute::Outcome),
            any_of: Some(vec!["lost".into()]),
            ..Condition::default()
        });
    }
    let q = earlier.get(pick % earlier.len().max(1))?;
    let mut c = Condition {
        answer: Some(q.id.clone()),
        ..Condition::default()
    };
    match &q.kind {
        QuestionKind::Nps | QuestionKind::Rating { .. } => c.at_most = Some(n),
        QuestionKind::SingleChoice { choices, .. }
        | QuestionKind::MultipleChoice { choices, .. } => {
            c.any_of = Some(vec![choices.first()?.id.clone()])
        }
        QuestionKind::InterviewOptIn | QuestionKind::Consent => c.is = Some(n % 2 == 0),
        QuestionKind::FreeText { .. } | QuestionKind::DriverMatrix { .. } => {
            c.answered = Some(true)
        }
    }
    Some(c)
}

fn definition() -> impl Strategy<Value = Definition> {
    prop::sample::select(vec![
        vec![Locale::En],
        vec![Locale::Fr],
        vec![Locale::En, Locale::Fr],
    ])
    .prop_flat_map(|locales| {
        let question = (
            text(locales.clone()),
            proptest::option::of(text(locales.clone())),
            any::<bool>(),
            kind(locales.clone()),
            (any::<usize>(), 0i64..=10, any::<bool>(), any::<bool>()),
        );
        let page = (
            proptest::option::of(text(locales.clone())),
            proptest::collection::vec(question, 1..5),
        );
        (Just(locales), proptest::collection::vec(page, 1..4))
    })
    .prop_map(|(locales, pages)| {
        let mut all: Vec<Question> = Vec::new();
        let mut out = Vec::new();
        for (p, (title, questions)) in pages.into_iter().enumerate() {
            let mut page = Vec::new();
            for (title, help, required, kind, (pick, n, conditional, on_deal)) in questions {
                let visible_if = conditional
                    .then(|| condition_for(&all, pick, n, on_deal && all.is_empty()))
                    .flatten();
                let q = Question {
                    id: format!("q{}", all.len()),
                    title,
                    help,
                    required,
                    visible_if,
                    kind,
                };
                all.push(q.clone());
                page.push(q);
            }
            out.push(Page {
                id: format!("p{p}"),
                title,
                questions: page,
            });
        }
        Definition {
            format: debrief_common::survey::definition::FORMAT,
            default_locale: locales[0],
            locales,
            pages: out,
        }
    })
}

/// An answer of roughly the right shape for `q`, out of range at times.
fn answer_for(q: &Question, seed: u64) -> AnswerItem {
    let n = (seed % 13) as i64 - 1;
    let value = match &q.kind {
        QuestionKind::Nps | QuestionKind::Rating { .. } => AnswerValue::Number(n),
        QuestionKind::SingleChoice { .. } => AnswerValue::Text(format!("c{}", seed % 4)),
        QuestionKind::MultipleChoice { .. } => {
            AnswerValue::List((0..seed % 3).map(|i| format!("c{i}")).collect())
        }
        QuestionKind::FreeText { .. } => {
            AnswerValue::Text("<b>mine</b> \u{202E}".repeat((seed % 4) as usize))
        }
        QuestionKind::DriverMatrix { drivers } => AnswerValue::Map(
            drivers
                .iter()
                .take((seed % 4) as usize)
                .map(|d| {
                    (
                        d.id.clone(),
                        Influence::ALL[(seed % 6) as usize].code().to_owned(),
                    )
                })
                .collect(),
        ),
        QuestionKind::InterviewOptIn | QuestionKind::Consent => {
            AnswerValue::Flag(seed.is_multiple_of(2))
        }
    };
    AnswerItem {
        question: q.id.clone(),
        value,
        text: seed.is_multiple_of(5).then(|| "Tuesdays <i>".to_owned()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_accepted_definition_renders_every_page_and_survives_surveyjs(d in definition()) {
        prop_assume!(validate_definition(&d).is_ok());
        let context = SurveyContext {
            company: "<Acme>".into(),
            deal: Map::from([(DealAttribute::Outcome, "lost".to_owned())]),
        };
        for locale in &d.locales {
            for page in 0..d.pages.len() {
                let data = view(&d, page, &Answers::new(), &context, *locale, &Faults::default());
                let html = pages()
                    .body(*locale, "survey_form", object(data), &[("page", "1"), ("pages", "1")])
                    .expect("renders");
                prop_assert!(!html.contains("<script>"), "unescaped: {html}");
                prop_assert!(!html.contains("<Acme>"));
            }
        }
        let back = surveyjs::import(&surveyjs::export(&d));
        prop_assert_eq!(back.unmapped, vec![]);
        prop_assert_eq!(back.definition, d);
    }

    #[test]
    fn any_accepted_answer_is_stored_and_read_back_as_given(
        d in definition(),
        seeds in proptest::collection::vec(any::<u64>(), 30),
    ) {
        prop_assume!(validate_definition(&d).is_ok());
        let items: Vec<AnswerItem> = d
            .questions()
            .zip(seeds.iter().cycle())
            .map(|((_, q), seed)| answer_for(q, *seed))
            .collect();
        let context = SurveyContext::default();
        if let Ok(answers) =
            validate_answers(&d, &context, &Answers::new(), &items, Completeness::Partial, Hidden::Drop)
        {
            for (id, answer) in &answers {
                let q = d.question(id).expect("an answered question exists");
                let stored = answer_from_rows(q, &rows_of(answer));
                prop_assert_eq!(stored.as_ref(), Some(answer));
                // As the API sends it back to resume, it reads as the same answer.
                let again = validate_answers(
                    &d, &context, &answers, &[answer.to_item(id)], Completeness::Partial, Hidden::Drop,
                );
                let read = again.ok().and_then(|a| a.get(id).cloned());
                prop_assert_eq!(read.as_ref(), Some(answer));
            }
        }
    }
}

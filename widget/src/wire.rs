//! The survey document read from the browser's own JSON parser, and answers written as
//! JSON, by hand. serde's derived readers, with the buffering that tagged and flattened
//! enums need, weighed more than half of the widget's download; these readers know the
//! one format the server writes (`debrief_common::survey`, whose serde types stay the
//! reference and are what the server and the tests use).
//!
//! A value of the wrong shape makes the whole document unreadable (`None`): the server
//! wrote it, so a fault means a mismatched build, and the widget says it cannot load.

use debrief_common::map::Map;
use debrief_common::survey::definition::{Choice, Driver, DriverFamily, Page, Question};
use debrief_common::survey::{
    AnswerItem, AnswerValue, Condition, DealAttribute, Definition, QuestionKind, SurveyContext,
    SurveyDocument, Text,
};
use debrief_common::{FieldError, Locale};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

fn get(v: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(v, &JsValue::from_str(key))
        .ok()
        .filter(|x| !x.is_undefined() && !x.is_null())
}

fn string(v: &JsValue, key: &str) -> Option<String> {
    get(v, key)?.as_string()
}

fn int(v: &JsValue, key: &str) -> Option<i64> {
    as_int(&get(v, key)?)
}

fn as_int(v: &JsValue) -> Option<i64> {
    let n = v.as_f64()?;
    (n.fract() == 0.0 && n.abs() < 9.0e15).then_some(n as i64)
}

fn flag(v: &JsValue, key: &str) -> bool {
    get(v, key).and_then(|x| x.as_bool()).unwrap_or(false)
}

/// Each element of a JS array, read by `each`; `None` if one is unreadable. A plain loop:
/// `collect` into `Option<Vec<_>>` costs an iterator adapter per element type.
fn elements<T>(array: &JsValue, each: impl Fn(&JsValue) -> Option<T>) -> Option<Vec<T>> {
    let array: &Array = array.dyn_ref()?;
    let mut out = Vec::with_capacity(array.length() as usize);
    for i in 0..array.length() {
        out.push(each(&array.get(i))?);
    }
    Some(out)
}

/// Each element of an array field; an absent field is empty.
fn list<T>(v: &JsValue, key: &str, each: impl Fn(&JsValue) -> Option<T>) -> Option<Vec<T>> {
    match get(v, key) {
        None => Some(Vec::new()),
        Some(array) => elements(&array, each),
    }
}

/// An object's entries as `(key, value)`.
fn entries(v: &JsValue) -> Option<Vec<(String, JsValue)>> {
    elements(&Object::entries(v.dyn_ref()?), |pair| {
        let pair: &Array = pair.dyn_ref()?;
        Some((pair.get(0).as_string()?, pair.get(1)))
    })
}

fn text(v: &JsValue) -> Option<Text> {
    let mut by_locale = Map::new();
    for (locale, value) in entries(v)? {
        by_locale.insert(Locale::parse(&locale).ok()?, value.as_string()?);
    }
    Some(Text(by_locale))
}

fn text_field(v: &JsValue, key: &str) -> Option<Option<Text>> {
    match get(v, key) {
        None => Some(None),
        Some(t) => text(&t).map(Some),
    }
}

fn strings(v: &JsValue) -> Option<Vec<String>> {
    elements(v, JsValue::as_string)
}

fn deal_attribute(name: &str) -> Option<DealAttribute> {
    DealAttribute::ALL.into_iter().find(|a| a.name() == name)
}

fn condition(v: &JsValue) -> Option<Condition> {
    Some(Condition {
        all: list(v, "all", condition)?,
        any: list(v, "any", condition)?,
        not: match get(v, "not") {
            None => None,
            Some(c) => Some(Box::new(condition(&c)?)),
        },
        answer: string(v, "answer"),
        deal: match string(v, "deal") {
            None => None,
            Some(name) => Some(deal_attribute(&name)?),
        },
        at_most: int(v, "at_most"),
        at_least: int(v, "at_least"),
        any_of: match get(v, "any_of") {
            None => None,
            Some(a) => Some(strings(&a)?),
        },
        is: get(v, "is").and_then(|x| x.as_bool()),
        answered: get(v, "answered").and_then(|x| x.as_bool()),
    })
}

fn choice(v: &JsValue) -> Option<Choice> {
    Some(Choice {
        id: string(v, "id")?,
        text: text(&get(v, "text")?)?,
    })
}

fn driver(v: &JsValue) -> Option<Driver> {
    Some(Driver {
        id: string(v, "id")?,
        family: DriverFamily::parse(&string(v, "family")?)?,
        text: text(&get(v, "text")?)?,
    })
}

fn kind(v: &JsValue) -> Option<QuestionKind> {
    Some(match string(v, "type")?.as_str() {
        "nps" => QuestionKind::Nps,
        "rating" => QuestionKind::Rating {
            min: int(v, "min").unwrap_or(1),
            max: int(v, "max").unwrap_or(5),
        },
        "single_choice" => QuestionKind::SingleChoice {
            choices: list(v, "choices", choice)?,
            other: flag(v, "other"),
        },
        "multiple_choice" => QuestionKind::MultipleChoice {
            choices: list(v, "choices", choice)?,
            other: flag(v, "other"),
        },
        "free_text" => QuestionKind::FreeText {
            max_chars: int(v, "max_chars")
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(2_000),
        },
        "driver_matrix" => QuestionKind::DriverMatrix {
            drivers: list(v, "drivers", driver)?,
        },
        "interview_opt_in" => QuestionKind::InterviewOptIn,
        "consent" => QuestionKind::Consent,
        _ => return None,
    })
}

fn question(v: &JsValue) -> Option<Question> {
    Some(Question {
        id: string(v, "id")?,
        title: text(&get(v, "title")?)?,
        help: text_field(v, "help")?,
        required: flag(v, "required"),
        visible_if: match get(v, "visible_if") {
            None => None,
            Some(c) => Some(condition(&c)?),
        },
        kind: kind(v)?,
    })
}

fn page(v: &JsValue) -> Option<Page> {
    Some(Page {
        id: string(v, "id")?,
        title: text_field(v, "title")?,
        questions: list(v, "questions", question)?,
    })
}

fn definition(v: &JsValue) -> Option<Definition> {
    Some(Definition {
        format: int(v, "format")
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1),
        default_locale: Locale::parse(&string(v, "default_locale")?).ok()?,
        locales: list(v, "locales", |l| Locale::parse(&l.as_string()?).ok())?,
        pages: list(v, "pages", page)?,
    })
}

fn context(v: &JsValue) -> Option<SurveyContext> {
    let mut deal = Map::new();
    if let Some(d) = get(v, "deal") {
        for (name, value) in entries(&d)? {
            deal.insert(deal_attribute(&name)?, value.as_string()?);
        }
    }
    Some(SurveyContext {
        company: string(v, "company")?,
        deal,
    })
}

fn answer_value(v: &JsValue) -> Option<AnswerValue> {
    if let Some(b) = v.as_bool() {
        return Some(AnswerValue::Flag(b));
    }
    if let Some(s) = v.as_string() {
        return Some(AnswerValue::Text(s));
    }
    if v.is_array() {
        return strings(v).map(AnswerValue::List);
    }
    if v.as_f64().is_some() {
        return as_int(v).map(AnswerValue::Number);
    }
    let mut map = Map::new();
    for (key, value) in entries(v)? {
        map.insert(key, value.as_string()?);
    }
    Some(AnswerValue::Map(map))
}

fn answer_item(v: &JsValue) -> Option<AnswerItem> {
    Some(AnswerItem {
        question: string(v, "question")?,
        value: answer_value(&get(v, "value")?)?,
        text: string(v, "text"),
    })
}

/// `GET /api/v1/surveys/{token}/definition`, parsed by the browser.
pub fn document(v: &JsValue) -> Option<SurveyDocument> {
    let mut sentences = Map::new();
    if let Some(s) = get(v, "sentences") {
        for (key, value) in entries(&s)? {
            sentences.insert(key, value.as_string()?);
        }
    }
    Some(SurveyDocument {
        survey_key: string(v, "survey_key")?,
        version: int(v, "version")?,
        locale: Locale::parse(&string(v, "locale")?).ok()?,
        definition: definition(&get(v, "definition")?)?,
        context: context(&get(v, "context")?)?,
        answers: list(v, "answers", answer_item)?,
        complete: flag(v, "complete"),
        sentences,
    })
}

/// The fields an API error body names: where the answers at fault are.
pub fn error_fields(v: &JsValue) -> Option<Vec<FieldError>> {
    list(v, "fields", |f| {
        Some(FieldError {
            field: string(f, "field")?,
            message: string(f, "message").unwrap_or_default(),
        })
    })
}

/// A JSON string literal: the browser's own `JSON.stringify` escapes it.
fn push_string(out: &mut String, s: &str) {
    match js_sys::JSON::stringify(&JsValue::from_str(s))
        .ok()
        .and_then(|j| j.as_string())
    {
        Some(quoted) => out.push_str(&quoted),
        None => out.push_str("\"\""),
    }
}

/// `{"answers": […]}` as `PUT …/answers` and `POST …/complete` read it.
pub fn answers_json(items: &[AnswerItem]) -> String {
    let mut out = String::from("{\"answers\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"question\":");
        push_string(&mut out, &item.question);
        out.push_str(",\"value\":");
        match &item.value {
            AnswerValue::Flag(b) => out.push_str(if *b { "true" } else { "false" }),
            AnswerValue::Number(n) => out.push_str(&n.to_string()),
            AnswerValue::Text(t) => push_string(&mut out, t),
            AnswerValue::List(l) => {
                out.push('[');
                for (j, s) in l.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    push_string(&mut out, s);
                }
                out.push(']');
            }
            AnswerValue::Map(m) => {
                out.push('{');
                for (j, (k, v)) in m.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    push_string(&mut out, k);
                    out.push(':');
                    push_string(&mut out, v);
                }
                out.push('}');
            }
        }
        if let Some(t) = &item.text {
            out.push_str(",\"text\":");
            push_string(&mut out, t);
        }
        out.push('}');
    }
    out.push_str("]}");
    out
}

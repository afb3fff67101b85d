//! SurveyJS in and out: the common subset of its JSON format (pages; `rating`,
//! `radiogroup`, `checkbox`, `comment`, `text`, `boolean` and `matrix` elements; simple
//! `visibleIf` expressions; localized strings), so that a program can move its survey in
//! from SurveyJS and out to it. Kept on the server: it adds nothing to the widget.
//!
//! Nothing is dropped silently. What has no equivalent here (another element type, a
//! page condition, validators, an expression outside the subset) is listed as unmapped;
//! what is mapped with a change (a choice value that is not a valid id) is listed as a
//! note.
//!
//! How the types correspond:
//! - `nps` is a `rating` from 0 to 10; `rating` keeps its `rateMin`/`rateMax`;
//! - single and multiple choice are `radiogroup` and `checkbox`, "other" is `showOtherItem`;
//! - free text is `comment` (a `text` element imports as free text too);
//! - the driver matrix is a `matrix` whose columns are the six influences and whose row
//!   values are `family.driver`;
//! - the interview opt-in is a `boolean` with a comment area (the times that suit);
//!   consent is a `boolean` rendered as a checkbox; any other `boolean` imports as a
//!   yes/no single choice;
//! - the deal's attributes are the variables `{deal_outcome}`, `{deal_competitor}`…

use debrief_common::survey::{
    Choice, Condition, DealAttribute, Definition, Driver, DriverFamily, Influence, Page, Question,
    QuestionKind, Text,
};

use debrief_common::Locale;
use serde_json::{json, Map, Value};

/// Something the import changed or could not carry, with its path in the SurveyJS JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub path: String,
    pub message: String,
}

#[derive(Debug)]
pub struct Imported {
    pub definition: Definition,
    /// Mapped with a change.
    pub notes: Vec<Report>,
    /// Not carried over: the caller must accept the loss before storing.
    pub unmapped: Vec<Report>,
}

/// Element properties that only change how SurveyJS lays a question out: safe to leave.
const PRESENTATION: &[&str] = &[
    "colCount",
    "titleLocation",
    "hideNumber",
    "width",
    "minWidth",
    "maxWidth",
    "startWithNewLine",
    "indent",
    "placeholder",
    "autoGrow",
    "rows",
    "descriptionLocation",
    "requiredErrorText",
    "renderAs",
    "rateType",
    "displayMode",
    "choicesOrder",
    "showCommentArea",
    "commentText",
    "labelTrue",
    "labelFalse",
    "otherText",
    "otherPlaceholder",
    "maxLength",
    "inputType",
    "isAllRowRequired",
    "rateCount",
];

/// Survey properties that only change how SurveyJS runs its pages.
const SURVEY_PRESENTATION: &[&str] = &[
    "showProgressBar",
    "progressBarType",
    "showQuestionNumbers",
    "questionsOnPageMode",
    "completeText",
    "pageNextText",
    "pagePrevText",
    "widthMode",
    "locale",
    "logoPosition",
    "checkErrorsMode",
    "textUpdateMode",
    "showTitle",
    "showPageTitles",
    "firstPageIsStarted",
    "goNextPageAutomatic",
    "questionErrorLocation",
    "questionTitleLocation",
    "progressBarLocation",
];

/// Survey properties mapped.
const SURVEY_MAPPED: &[&str] = &["pages", "elements"];

/// The properties each element type maps; any other one is reported.
const MAPPED: &[&str] = &[
    "type",
    "name",
    "title",
    "description",
    "isRequired",
    "visibleIf",
    "visible",
    "rateMin",
    "rateMax",
    "choices",
    "showOtherItem",
    "hasOther",
    "columns",
    "rows",
    "minRateDescription",
    "maxRateDescription",
];

pub fn import(json: &Value) -> Imported {
    let mut ctx = ImportCtx::default();
    let pages: Vec<(String, &Value)> = match (json.get("pages"), json.get("elements")) {
        (Some(Value::Array(pages)), _) => pages
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("pages[{i}]"), p))
            .collect(),
        // A survey of one page may list its elements at the top.
        (None, Some(_)) => vec![(String::new(), json)],
        _ => {
            ctx.unmapped("pages", "a survey has pages (or elements at the top)");
            Vec::new()
        }
    };
    if let Some(top) = json.as_object() {
        for key in top.keys() {
            if !SURVEY_MAPPED.contains(&key.as_str())
                && !SURVEY_PRESENTATION.contains(&key.as_str())
            {
                ctx.unmapped(key, "has no equivalent here");
            }
        }
    }
    let mut out_pages = Vec::new();
    for (n, (path, page)) in pages.into_iter().enumerate() {
        let at = |s: &str| {
            if path.is_empty() {
                s.to_owned()
            } else {
                format!("{path}.{s}")
            }
        };
        if page.get("visibleIf").is_some() {
            ctx.unmapped(
                &at("visibleIf"),
                "pages are always shown here; put the condition on its questions",
            );
        }
        let id = page
            .get("name")
            .and_then(Value::as_str)
            .map(|name| ctx.id(&at("name"), name))
            .unwrap_or_else(|| format!("page{}", n + 1));
        let title = page.get("title").map(|t| ctx.text(t));
        let mut questions = Vec::new();
        if let Some(Value::Array(elements)) = page.get("elements") {
            for (i, element) in elements.iter().enumerate() {
                if let Some(q) = ctx.question(&at(&format!("elements[{i}]")), element) {
                    questions.push(q);
                }
            }
        }
        out_pages.push(Page {
            id,
            title,
            questions,
        });
    }
    let locales: Vec<Locale> = ctx.locales.iter().copied().collect();
    // The survey's own `locale`, when it is written in it; else English, else the first.
    let stated = json
        .get("locale")
        .and_then(Value::as_str)
        .and_then(|l| Locale::parse(l).ok())
        .filter(|l| ctx.locales.contains(l));
    let default_locale = match stated {
        Some(l) => l,
        None if ctx.locales.contains(&Locale::En) || locales.is_empty() => Locale::En,
        None => locales[0],
    };
    Imported {
        definition: Definition {
            format: debrief_common::survey::definition::FORMAT,
            default_locale,
            locales: if locales.is_empty() {
                vec![Locale::En]
            } else {
                locales
            },
            pages: out_pages,
        },
        notes: ctx.notes,
        unmapped: ctx.unmapped,
    }
}

#[derive(Default)]
struct ImportCtx {
    locales: std::collections::BTreeSet<Locale>,
    notes: Vec<Report>,
    unmapped: Vec<Report>,
}

impl ImportCtx {
    fn unmapped(&mut self, path: &str, message: &str) {
        self.unmapped.push(Report {
            path: path.to_owned(),
            message: message.to_owned(),
        });
    }

    /// An id as this format spells them; a value that is not one is converted, and noted.
    fn id(&mut self, path: &str, value: &str) -> String {
        let id: String = value
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        let id = if id.is_empty() { "_".to_owned() } else { id };
        if id != value {
            self.notes.push(Report {
                path: path.to_owned(),
                message: format!("{value:?} became the id {id:?}"),
            });
        }
        id
    }

    /// A localized string: text (in English) or `{"default": …, "fr": …}`.
    fn text(&mut self, value: &Value) -> Text {
        let mut out = debrief_common::map::Map::new();
        match value {
            Value::String(s) => {
                out.insert(Locale::En, s.clone());
            }
            Value::Object(map) => {
                for (code, text) in map {
                    let Some(text) = text.as_str() else { continue };
                    let locale = if code == "default" {
                        Some(Locale::En)
                    } else {
                        Locale::parse(code).ok()
                    };
                    match locale {
                        Some(l) => {
                            out.insert(l, text.to_owned());
                        }
                        None => self.notes.push(Report {
                            path: code.clone(),
                            message: format!("texts in {code:?} are left out: not a language surveys are written in here"),
                        }),
                    }
                }
            }
            _ => {}
        }
        self.locales.extend(out.keys().copied());
        Text(out)
    }

    fn question(&mut self, at: &str, element: &Value) -> Option<Question> {
        let Some(object) = element.as_object() else {
            self.unmapped(at, "an element is an object");
            return None;
        };
        let kind_name = object
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(name) = object.get("name").and_then(Value::as_str) else {
            self.unmapped(at, "an element without a name cannot hold answers");
            return None;
        };
        for key in object.keys() {
            if !MAPPED.contains(&key.as_str()) && !PRESENTATION.contains(&key.as_str()) {
                self.unmapped(&format!("{at}.{key}"), "has no equivalent here");
            }
        }
        let id = self.id(&format!("{at}.name"), name);
        let choices = |ctx: &mut ImportCtx| -> Vec<Choice> {
            let mut out = Vec::new();
            if let Some(Value::Array(list)) = object.get("choices") {
                for (i, c) in list.iter().enumerate() {
                    let path = format!("{at}.choices[{i}]");
                    let (value, text) = match c {
                        Value::Object(o) => (
                            o.get("value").map(value_text).unwrap_or_default(),
                            o.get("text").cloned(),
                        ),
                        other => (value_text(other), None),
                    };
                    let text = match text {
                        Some(t) => ctx.text(&t),
                        None => ctx.text(&Value::String(value.clone())),
                    };
                    out.push(Choice {
                        id: ctx.id(&format!("{path}.value"), &value),
                        text,
                    });
                }
            }
            out
        };
        let other = object
            .get("showOtherItem")
            .or_else(|| object.get("hasOther"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let int = |key: &str| object.get(key).and_then(Value::as_i64);
        let kind = match kind_name {
            "rating" => match (int("rateMin").unwrap_or(1), int("rateMax").unwrap_or(5)) {
                (0, 10) => QuestionKind::Nps,
                (min, max) => QuestionKind::Rating { min, max },
            },
            "radiogroup" => QuestionKind::SingleChoice {
                choices: choices(self),
                other,
            },
            "checkbox" => QuestionKind::MultipleChoice {
                choices: choices(self),
                other,
            },
            "comment" | "text" => {
                if let Some(input) = object.get("inputType").and_then(Value::as_str) {
                    if input != "text" {
                        self.notes.push(Report {
                            path: format!("{at}.inputType"),
                            message: format!("a {input:?} input becomes free text"),
                        });
                    }
                }
                QuestionKind::FreeText {
                    max_chars: int("maxLength")
                        .and_then(|n| u32::try_from(n).ok())
                        .filter(|n| *n > 0)
                        .unwrap_or(2_000),
                }
            }
            "boolean" => {
                // SurveyJS 2+ writes `renderAs: "checkbox"` back as `displayMode`.
                let checkbox = ["renderAs", "displayMode"]
                    .iter()
                    .any(|k| object.get(*k).and_then(Value::as_str) == Some("checkbox"));
                if checkbox {
                    QuestionKind::Consent
                } else if object.get("showCommentArea").and_then(Value::as_bool) == Some(true) {
                    QuestionKind::InterviewOptIn
                } else {
                    let yes = object.get("labelTrue").map(|t| self.text(t));
                    let no = object.get("labelFalse").map(|t| self.text(t));
                    QuestionKind::SingleChoice {
                        choices: vec![
                            Choice {
                                id: "yes".into(),
                                text: yes.unwrap_or_else(|| english("Yes")),
                            },
                            Choice {
                                id: "no".into(),
                                text: no.unwrap_or_else(|| english("No")),
                            },
                        ],
                        other: false,
                    }
                }
            }
            "matrix" => match self.drivers(at, object) {
                Some(drivers) => QuestionKind::DriverMatrix { drivers },
                None => return None,
            },
            other => {
                self.unmapped(
                    &format!("{at}.type"),
                    &format!("{other:?} elements have no equivalent here"),
                );
                return None;
            }
        };
        // `visible: false` with a `visibleIf` is the condition's last result, written back
        // by SurveyJS; alone, it hides the question for good, which is nothing to import.
        if object.get("visible") == Some(&Value::Bool(false)) && object.get("visibleIf").is_none() {
            self.unmapped(
                &format!("{at}.visible"),
                "a question hidden for good has no equivalent here",
            );
        }
        let visible_if = match object.get("visibleIf").and_then(Value::as_str) {
            None => None,
            Some(expression) => match parse_condition(expression) {
                Ok(c) => Some(c),
                Err(why) => {
                    self.unmapped(&format!("{at}.visibleIf"), &why);
                    None
                }
            },
        };
        Some(Question {
            id,
            title: object
                .get("title")
                .map(|t| self.text(t))
                .unwrap_or_else(|| english(name)),
            help: object.get("description").map(|t| self.text(t)),
            required: object
                .get("isRequired")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            visible_if,
            kind,
        })
    }

    /// A matrix is a driver matrix when its columns are the six influences.
    fn drivers(&mut self, at: &str, object: &Map<String, Value>) -> Option<Vec<Driver>> {
        let columns: Vec<String> = match object.get("columns") {
            Some(Value::Array(c)) => c
                .iter()
                .map(|c| {
                    c.get("value")
                        .map(value_text)
                        .unwrap_or_else(|| value_text(c))
                })
                .collect(),
            _ => Vec::new(),
        };
        let influences: Vec<&str> = Influence::ALL.iter().map(|i| i.code()).collect();
        if columns != influences {
            self.unmapped(
                &format!("{at}.columns"),
                "only a matrix rated very_negative … very_positive, not_a_factor maps (a driver matrix)",
            );
            return None;
        }
        let mut drivers = Vec::new();
        if let Some(Value::Array(rows)) = object.get("rows") {
            for (i, row) in rows.iter().enumerate() {
                let path = format!("{at}.rows[{i}]");
                let value = row
                    .get("value")
                    .map(value_text)
                    .unwrap_or_else(|| value_text(row));
                let (family, id) = match value.split_once('.') {
                    Some((f, id)) => match serde_json::from_value::<DriverFamily>(json!(f)) {
                        Ok(f) => (f, id.to_owned()),
                        Err(_) => {
                            self.unmapped(
                                &format!("{path}.value"),
                                "the part before the dot is not a driver family",
                            );
                            continue;
                        }
                    },
                    None => {
                        self.notes.push(Report {
                            path: format!("{path}.value"),
                            message: "no family given: filed under product_service".into(),
                        });
                        (DriverFamily::ProductService, value.clone())
                    }
                };
                let text = row
                    .get("text")
                    .map(|t| self.text(t))
                    .unwrap_or_else(|| english(&id));
                drivers.push(Driver {
                    id: self.id(&format!("{path}.value"), &id),
                    family,
                    text,
                });
            }
        }
        Some(drivers)
    }
}

fn english(s: &str) -> Text {
    Text([(Locale::En, s.to_owned())].into_iter().collect())
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The definition as SurveyJS JSON.
pub fn export(d: &Definition) -> Value {
    let text = |t: &Text| -> Value {
        // "default" is SurveyJS's default language, English; the others by code.
        let mut map = Map::new();
        if let Some(s) = t.0.get(&Locale::En) {
            map.insert("default".into(), json!(s));
        }
        for (locale, s) in &t.0 {
            if *locale != Locale::En {
                map.insert(locale.code().into(), json!(s));
            }
        }
        Value::Object(map)
    };
    let pages: Vec<Value> = d
        .pages
        .iter()
        .map(|p| {
            let elements: Vec<Value> = p
                .questions
                .iter()
                .map(|q| {
                    let mut e = Map::new();
                    e.insert("name".into(), json!(q.id));
                    e.insert("title".into(), text(&q.title));
                    if let Some(help) = &q.help {
                        e.insert("description".into(), text(help));
                    }
                    if q.required {
                        e.insert("isRequired".into(), json!(true));
                    }
                    if let Some(c) = &q.visible_if {
                        e.insert("visibleIf".into(), json!(condition_expression(c)));
                    }
                    let choices = |choices: &[Choice]| -> Value {
                        choices
                            .iter()
                            .map(|c| json!({ "value": c.id, "text": text(&c.text) }))
                            .collect()
                    };
                    match &q.kind {
                        QuestionKind::Nps => {
                            e.insert("type".into(), json!("rating"));
                            e.insert("rateMin".into(), json!(0));
                            e.insert("rateMax".into(), json!(10));
                        }
                        QuestionKind::Rating { min, max } => {
                            e.insert("type".into(), json!("rating"));
                            e.insert("rateMin".into(), json!(min));
                            e.insert("rateMax".into(), json!(max));
                        }
                        QuestionKind::SingleChoice { choices: c, other } => {
                            e.insert("type".into(), json!("radiogroup"));
                            e.insert("choices".into(), choices(c));
                            if *other {
                                e.insert("showOtherItem".into(), json!(true));
                            }
                        }
                        QuestionKind::MultipleChoice { choices: c, other } => {
                            e.insert("type".into(), json!("checkbox"));
                            e.insert("choices".into(), choices(c));
                            if *other {
                                e.insert("showOtherItem".into(), json!(true));
                            }
                        }
                        QuestionKind::FreeText { max_chars } => {
                            e.insert("type".into(), json!("comment"));
                            e.insert("maxLength".into(), json!(max_chars));
                        }
                        QuestionKind::DriverMatrix { drivers } => {
                            e.insert("type".into(), json!("matrix"));
                            e.insert(
                                "columns".into(),
                                Influence::ALL.iter().map(|i| json!({ "value": i.code() })).collect(),
                            );
                            e.insert(
                                "rows".into(),
                                drivers
                                    .iter()
                                    .map(|k| {
                                        let family = serde_json::to_value(k.family)
                                            .ok()
                                            .and_then(|f| f.as_str().map(str::to_owned))
                                            .unwrap_or_default();
                                        json!({ "value": format!("{family}.{}", k.id), "text": text(&k.text) })
                                    })
                                    .collect(),
                            );
                        }
                        QuestionKind::InterviewOptIn => {
                            e.insert("type".into(), json!("boolean"));
                            e.insert("showCommentArea".into(), json!(true));
                        }
                        QuestionKind::Consent => {
                            e.insert("type".into(), json!("boolean"));
                            e.insert("renderAs".into(), json!("checkbox"));
                        }
                    }
                    Value::Object(e)
                })
                .collect();
            let mut page = Map::new();
            page.insert("name".into(), json!(p.id));
            if let Some(title) = &p.title {
                page.insert("title".into(), text(title));
            }
            page.insert("elements".into(), Value::Array(elements));
            Value::Object(page)
        })
        .collect();
    let mut survey = json!({ "pages": pages, "showProgressBar": "top" });
    // SurveyJS's own default is English; a survey whose default is another language says so.
    if d.default_locale != Locale::En {
        survey["locale"] = json!(d.default_locale.code());
    }
    survey
}

/// SurveyJS expression for a condition (see [`parse_condition`] for the reverse).
pub fn condition_expression(c: &Condition) -> String {
    let list = |items: &[String]| {
        let quoted: Vec<String> = items.iter().map(|i| quote(i)).collect();
        format!("[{}]", quoted.join(", "))
    };
    if !c.all.is_empty() {
        return c
            .all
            .iter()
            .map(|c| format!("({})", condition_expression(c)))
            .collect::<Vec<_>>()
            .join(" and ");
    }
    if !c.any.is_empty() {
        return c
            .any
            .iter()
            .map(|c| format!("({})", condition_expression(c)))
            .collect::<Vec<_>>()
            .join(" or ");
    }
    if let Some(inner) = &c.not {
        return format!("!({})", condition_expression(inner));
    }
    let subject = match (&c.answer, c.deal) {
        (Some(q), _) => format!("{{{q}}}"),
        (None, Some(attribute)) => format!("{{deal_{}}}", attribute.name()),
        (None, None) => return "false".into(),
    };
    if let Some(n) = c.at_most {
        return format!("{subject} <= {n}");
    }
    if let Some(n) = c.at_least {
        return format!("{subject} >= {n}");
    }
    if let Some(values) = &c.any_of {
        return format!("{subject} anyof {}", list(values));
    }
    if let Some(b) = c.is {
        return format!("{subject} = {b}");
    }
    match c.answered {
        Some(true) => format!("{subject} notempty"),
        _ => format!("{subject} empty"),
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The subset of SurveyJS expressions that conditions here can say: comparisons of a
/// question or a `{deal_…}` variable with a number, a string, `true`/`false` or a list
/// (`=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`, `anyof`, `noneof`, `contains`, `notcontains`,
/// `empty`, `notempty`), joined by `and`, `or`, `!` and parentheses.
pub fn parse_condition(expression: &str) -> Result<Condition, String> {
    let tokens = tokenize(expression)?;
    let mut p = Parser { tokens, at: 0 };
    let c = p.or()?;
    if p.at != p.tokens.len() {
        return Err(format!("{expression:?}: unexpected {:?}", p.tokens[p.at]));
    }
    Ok(c)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Var(String),
    Num(i64),
    Str(String),
    Bool(bool),
    Op(String),
    Word(String),
    Open,
    Close,
    ListOpen,
    ListClose,
    Comma,
    Not,
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '{' => {
                let end = chars[i..]
                    .iter()
                    .position(|c| *c == '}')
                    .ok_or("an unclosed {")?;
                out.push(Token::Var(
                    chars[i + 1..i + end]
                        .iter()
                        .collect::<String>()
                        .trim()
                        .to_owned(),
                ));
                i += end + 1;
            }
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '[' => {
                out.push(Token::ListOpen);
                i += 1;
            }
            ']' => {
                out.push(Token::ListClose);
                i += 1;
            }
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            '\'' | '"' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("an unclosed string".into()),
                        Some('\\') => {
                            if let Some(n) = chars.get(i + 1) {
                                text.push(*n);
                            }
                            i += 2;
                        }
                        Some(q) if *q == c => {
                            i += 1;
                            break;
                        }
                        Some(other) => {
                            text.push(*other);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Str(text));
            }
            '!' if chars.get(i + 1) != Some(&'=') => {
                out.push(Token::Not);
                i += 1;
            }
            '<' | '>' | '=' | '!' => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let op = if ["<=", ">=", "==", "!=", "<>"].contains(&two.as_str()) {
                    two
                } else {
                    c.to_string()
                };
                i += op.chars().count();
                out.push(Token::Op(op));
            }
            '-' | '0'..='9' => {
                let start = i;
                i += 1;
                while chars.get(i).is_some_and(char::is_ascii_digit) {
                    i += 1;
                }
                let n: String = chars[start..i].iter().collect();
                out.push(Token::Num(
                    n.parse()
                        .map_err(|_| format!("{n:?} is not a whole number"))?,
                ));
            }
            c if c.is_alphabetic() => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect::<String>().to_lowercase();
                out.push(match word.as_str() {
                    "true" => Token::Bool(true),
                    "false" => Token::Bool(false),
                    "not" => Token::Not,
                    _ => Token::Word(word),
                });
            }
            other => return Err(format!("{other:?} is outside the expressions that map")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

enum Operand {
    Num(i64),
    Str(String),
    Bool(bool),
    List(Vec<String>),
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Token::Word("or".into())) {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition {
                any: parts,
                ..Condition::default()
            }
        })
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut parts = vec![self.unary()?];
        while self.peek() == Some(&Token::Word("and".into())) {
            self.at += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition {
                all: parts,
                ..Condition::default()
            }
        })
    }

    fn unary(&mut self) -> Result<Condition, String> {
        if self.peek() == Some(&Token::Not) {
            self.at += 1;
            return Ok(not(self.unary()?));
        }
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let c = self.or()?;
            if self.next() != Some(Token::Close) {
                return Err("a ( without its )".into());
            }
            return Ok(c);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Condition, String> {
        let Some(Token::Var(name)) = self.next() else {
            return Err("a comparison starts with a {question} or a {deal_…} variable".into());
        };
        let mut base = match name.strip_prefix("deal_") {
            Some(attr) => Condition {
                deal: Some(
                    DealAttribute::ALL
                        .into_iter()
                        .find(|a| a.name() == attr)
                        .ok_or_else(|| format!("{{{name}}} is not a deal attribute"))?,
                ),
                ..Condition::default()
            },
            None => Condition {
                answer: Some(name.clone()),
                ..Condition::default()
            },
        };
        let op = match self.next() {
            Some(Token::Op(op)) => op,
            Some(Token::Word(w)) => w,
            other => {
                return Err(format!(
                    "after {{{name}}}: {other:?} is not an operator that maps"
                ))
            }
        };
        match op.as_str() {
            "empty" | "notempty" => {
                base.answered = Some(op == "notempty");
                return Ok(base);
            }
            _ => {}
        }
        let operand = self.operand()?;
        let with = |mut c: Condition, f: &dyn Fn(&mut Condition)| {
            f(&mut c);
            c
        };
        match (op.as_str(), operand) {
            ("<=", Operand::Num(n)) => Ok(with(base, &|c| c.at_most = Some(n))),
            ("<", Operand::Num(n)) => Ok(with(base, &|c| c.at_most = Some(n - 1))),
            (">=", Operand::Num(n)) => Ok(with(base, &|c| c.at_least = Some(n))),
            (">", Operand::Num(n)) => Ok(with(base, &|c| c.at_least = Some(n + 1))),
            ("=" | "==", Operand::Num(n)) => Ok(Condition {
                all: vec![
                    with(base.clone(), &|c| c.at_least = Some(n)),
                    with(base, &|c| c.at_most = Some(n)),
                ],
                ..Condition::default()
            }),
            ("=" | "==", Operand::Bool(b)) => Ok(with(base, &|c| c.is = Some(b))),
            ("!=" | "<>", Operand::Bool(b)) => Ok(with(base, &|c| c.is = Some(!b))),
            ("=" | "==" | "contains", Operand::Str(s)) | ("anyof", Operand::Str(s)) => {
                Ok(with(base, &|c| c.any_of = Some(vec![s.clone()])))
            }
            ("anyof", Operand::List(l)) => Ok(with(base, &|c| c.any_of = Some(l.clone()))),
            ("!=" | "<>" | "notcontains", Operand::Str(s)) => {
                Ok(not(with(base, &|c| c.any_of = Some(vec![s.clone()]))))
            }
            ("noneof", Operand::List(l)) => Ok(not(with(base, &|c| c.any_of = Some(l.clone())))),
            (op, _) => Err(format!(
                "{{{name}}} {op} …: this comparison has no equivalent here"
            )),
        }
    }

    fn operand(&mut self) -> Result<Operand, String> {
        match self.next() {
            Some(Token::Num(n)) => Ok(Operand::Num(n)),
            Some(Token::Str(s)) => Ok(Operand::Str(s)),
            Some(Token::Bool(b)) => Ok(Operand::Bool(b)),
            Some(Token::ListOpen) => {
                let mut items = Vec::new();
                loop {
                    match self.next() {
                        Some(Token::ListClose) => break,
                        Some(Token::Comma) => {}
                        Some(Token::Str(s)) => items.push(s),
                        Some(Token::Num(n)) => items.push(n.to_string()),
                        other => return Err(format!("{other:?} in a list")),
                    }
                }
                Ok(Operand::List(items))
            }
            other => Err(format!("{other:?} is not a value that maps")),
        }
    }
}

fn not(c: Condition) -> Condition {
    Condition {
        not: Some(Box::new(c)),
        ..Condition::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use debrief_common::survey::validate_definition;

    fn default_surveys() -> [Definition; 2] {
        [
            serde_json::from_str(debrief_common::survey::DEFAULT_WIN_LOSS).expect("win-loss"),
            serde_json::from_str(debrief_common::survey::DEFAULT_DECLINED_REQUEST)
                .expect("declined"),
        ]
    }

    #[test]
    fn the_built_in_surveys_go_out_and_come_back_unchanged() {
        for survey in default_surveys() {
            let out = export(&survey);
            let back = import(&out);
            assert_eq!(back.unmapped, [], "{out:#}");
            assert_eq!(back.notes, []);
            assert_eq!(back.definition, survey);
        }
    }

    #[test]
    fn conditions_read_back_as_written() {
        for expression in [
            "{nps} <= 6",
            "{reasons} anyof ['price', 'o\\'brien']",
            "({deal_outcome} anyof ['lost']) and ({deal_competitor} notempty)",
            "!({consent} = true)",
            "({a} >= 3) or ({b} empty)",
        ] {
            let c = parse_condition(expression).expect(expression);
            assert_eq!(condition_expression(&c), expression);
        }
        let c = parse_condition("{q} = 'yes' and not {n} > 8").expect("parses");
        assert_eq!(
            condition_expression(&c),
            "({q} anyof ['yes']) and (!({n} >= 9))"
        );
        for outside in [
            "{a} + 1 > 2",
            "age({birth}) > 18",
            "{a} contains {b}",
            "{deal_mood} = 'x'",
        ] {
            assert!(parse_condition(outside).is_err(), "{outside}");
        }
    }

    #[test]
    fn a_realistic_surveyjs_survey_maps_and_reports_what_does_not() {
        let json = json!({
            "title": "Customer feedback",
            "pages": [{
                "name": "page1",
                "elements": [
                    { "type": "rating", "name": "satisfaction", "title": { "default": "How satisfied are you?", "fr": "Êtes-vous satisfait ?" },
                      "rateMin": 1, "rateMax": 5, "isRequired": true },
                    { "type": "radiogroup", "name": "Main Reason", "title": { "default": "Main reason", "fr": "Raison principale" },
                      "choices": [ { "value": "Price", "text": { "default": "Price", "fr": "Prix" } },
                                   { "value": "features", "text": { "default": "Features", "fr": "Fonctions" } } ],
                      "showOtherItem": true, "colCount": 2 },
                    { "type": "comment", "name": "why", "title": { "default": "Why?", "fr": "Pourquoi ?" },
                      "visibleIf": "{satisfaction} <= 2" },
                    { "type": "dropdown", "name": "country", "choices": ["FR", "DE"] },
                    { "type": "text", "name": "email", "inputType": "email",
                      "title": { "default": "Email", "fr": "Courriel" }, "validators": [{ "type": "email" }] },
                    { "type": "boolean", "name": "contact", "title": { "default": "May we call?", "fr": "Pouvons-nous appeler ?" },
                      "labelTrue": { "default": "Yes", "fr": "Oui" }, "labelFalse": { "default": "No", "fr": "Non" },
                      "visibleIf": "{satisfaction} + 1 > 2" }
                ]
            }, {
                "name": "page2", "visibleIf": "{satisfaction} > 3",
                "elements": [ { "type": "html", "name": "note", "html": "<b>Thanks</b>" } ]
            }]
        });
        let imported = import(&json);
        let paths: Vec<&str> = imported.unmapped.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "title",
                "pages[0].elements[3].type",
                "pages[0].elements[4].validators",
                "pages[0].elements[5].visibleIf",
                "pages[1].visibleIf",
                "pages[1].elements[0].html",
                "pages[1].elements[0].type",
            ],
            "{:#?}",
            imported.unmapped
        );
        let notes: Vec<&str> = imported.notes.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            notes,
            [
                "pages[0].elements[1].name",
                "pages[0].elements[1].choices[0].value",
                "pages[0].elements[4].inputType"
            ]
        );
        let d = &imported.definition;
        assert_eq!(d.locales, [Locale::En, Locale::Fr]);
        assert_eq!(
            d.question("main_reason").map(|q| &q.kind),
            Some(&QuestionKind::SingleChoice {
                choices: vec![
                    Choice {
                        id: "price".into(),
                        text: Text(
                            [(Locale::En, "Price".into()), (Locale::Fr, "Prix".into())]
                                .into_iter()
                                .collect()
                        )
                    },
                    Choice {
                        id: "features".into(),
                        text: Text(
                            [
                                (Locale::En, "Features".into()),
                                (Locale::Fr, "Fonctions".into())
                            ]
                            .into_iter()
                            .collect()
                        )
                    },
                ],
                other: true,
            })
        );
        assert_eq!(
            d.question("why").and_then(|q| q.visible_if.clone()),
            Some(parse_condition("{satisfaction} <= 2").expect("condition"))
        );
        // The second page lost its only element: the validator says so before storing.
        let errors = validate_definition(d).expect_err("an empty page");
        assert!(
            errors.iter().any(|e| e.field == "pages[1].questions"),
            "{errors:?}"
        );
    }
}

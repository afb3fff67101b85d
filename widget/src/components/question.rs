//! One question, drawn from its definition as the no-JS form draws it: a fieldset with its
//! legend, native radios and checkboxes (keyboard use and screen reader announcements for
//! free), and the fault next to it.

use crate::state::{note_field, Action, Fault, SurveyState};
use debrief_common::map::Map;
use debrief_common::survey::definition::OTHER;
use debrief_common::survey::flow::field_name;
use debrief_common::survey::{Answer, AnswerItem, AnswerValue, Influence, Question, QuestionKind};
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The input an event came from: its value and whether it is ticked.
fn input_of(e: &Event) -> Option<(String, bool)> {
    let input = e.target()?.dyn_into::<HtmlInputElement>().ok()?;
    Some((input.value(), input.checked()))
}

/// The text of a text field or text area an event came from.
fn text_of(e: &Event) -> Option<String> {
    let target = e.target()?;
    match target.dyn_ref::<HtmlInputElement>() {
        Some(input) => Some(input.value()),
        None => target
            .dyn_into::<web_sys::HtmlTextAreaElement>()
            .ok()
            .map(|t| t.value()),
    }
}

fn item(q: &Question, value: AnswerValue, text: Option<String>) -> AnswerItem {
    AnswerItem {
        question: q.id.clone(),
        value,
        text: text.filter(|t| !t.trim().is_empty()),
    }
}

/// One radio or checkbox with its label.
struct Tick<'a> {
    /// `radio` or `checkbox`.
    kind: &'static str,
    name: &'a str,
    value: &'a str,
    label: String,
    checked: bool,
    class: &'static str,
}

impl Tick<'_> {
    fn view(self, disabled: bool, onchange: Callback<Event>) -> Html {
        html! {
            <label class={self.class}>
                <input type={self.kind} name={self.name.to_owned()} value={self.value.to_owned()}
                    checked={self.checked} {disabled} {onchange} />
                { " " }{ self.label }
            </label>
        }
    }
}

pub fn question(
    q: &Question,
    state: &SurveyState,
    dispatch: &Callback<Action>,
    prefix: &str,
    disabled: bool,
) -> Html {
    let Some(survey) = &state.survey else {
        return Html::default();
    };
    let s = |key: &str| survey.sentence(key).to_owned();
    let id = format!("{prefix}-q-{}", q.id);
    let name = format!("{prefix}-{}", field_name(&q.id));
    let answer = state.answers.get(&q.id);
    let fault = state.faults.get(&q.id).map(|f| match f {
        Fault::Missing => s("answer_required"),
        Fault::Invalid => s("answer_invalid"),
    });
    let error_id = format!("{id}-error");
    let note_id = format!("{id}-note");
    let note = note_field(q);
    // What is typed in a text field is a draft until the buyer leaves the field.
    let draft = |field: String| {
        dispatch.reform(move |e: InputEvent| Action::Draft {
            field: field.clone(),
            text: text_of(&e).unwrap_or_default(),
        })
    };
    // A note typed beside a choice: kept as a draft while typing, an answer on leaving.
    let note_input = |label: String, saved: Option<&String>, on_leave: Callback<String>| {
        let text = state.field_text(&note, saved.map(String::as_str));
        let draft = draft(note.clone());
        let leave = Callback::from(move |e: Event| {
            if let Some(text) = text_of(&e) {
                on_leave.emit(text);
            }
        });
        html! {
            <>
                <label class="debrief-choice" for={note_id.clone()}>{ label }</label>
                <input type="text" id={note_id.clone()} value={text} maxlength="500"
                    {disabled} oninput={draft} onchange={leave} />
            </>
        }
    };

    let body = match &q.kind {
        QuestionKind::Nps | QuestionKind::Rating { .. } => {
            let (min, max) = match q.kind {
                QuestionKind::Rating { min, max } => (min, max),
                _ => (0, 10),
            };
            let picked = answer.and_then(Answer::number);
            let onchange = {
                let q = q.clone();
                dispatch.reform(move |e: Event| {
                    let n = input_of(&e)
                        .and_then(|(v, _)| v.parse::<i64>().ok())
                        .unwrap_or_default();
                    Action::Answer(item(&q, AnswerValue::Number(n), None))
                })
            };
            let ends = matches!(q.kind, QuestionKind::Nps).then(|| {
                html! { <p class="debrief-scale-ends">{ s("nps_low") }{ " · " }{ s("nps_high") }</p> }
            });
            html! {
                <>
                    <div class="debrief-scale">
                        { for (min..=max).map(|n| {
                            let v = n.to_string();
                            Tick { kind: "radio", name: &name, value: &v, label: v.clone(), checked: picked == Some(n), class: "debrief-score" }.view(disabled, onchange.clone())
                        }) }
                    </div>
                    { ends }
                </>
            }
        }
        QuestionKind::SingleChoice { choices, other }
        | QuestionKind::MultipleChoice { choices, other } => {
            let multiple = matches!(q.kind, QuestionKind::MultipleChoice { .. });
            let picked: Vec<String> = answer
                .map(|a| a.chosen().into_iter().map(str::to_owned).collect())
                .unwrap_or_default();
            let saved_note = match answer {
                Some(Answer::Choice { other, .. } | Answer::Choices { other, .. }) => other.clone(),
                _ => None,
            };
            let current_note = state.field_text(&note, saved_note.as_deref());
            // Picking or unpicking a choice keeps the note typed beside "other".
            let choose = {
                let (q, picked) = (q.clone(), picked.clone());
                move |value: String, on: bool, note: Option<String>| {
                    let value = if multiple {
                        let mut list: Vec<String> =
                            picked.iter().filter(|p| **p != value).cloned().collect();
                        if on {
                            list.push(value);
                        }
                        AnswerValue::List(list)
                    } else {
                        AnswerValue::Text(value)
                    };
                    Action::Answer(item(&q, value, note))
                }
            };
            let onchange = {
                let (choose, note) = (choose.clone(), current_note.clone());
                dispatch.reform(move |e: Event| {
                    let (value, on) = input_of(&e).unwrap_or_default();
                    choose(value, on, Some(note.clone()))
                })
            };
            let kind = if multiple { "checkbox" } else { "radio" };
            let mut listed: Vec<(String, String)> = choices
                .iter()
                .map(|c| (c.id.clone(), state.text(&c.text)))
                .collect();
            if *other {
                listed.push((OTHER.to_owned(), s("other_label")));
            }
            // Typing a note ticks "other": the buyer plainly meant it.
            let on_note =
                dispatch.reform(move |text: String| choose(OTHER.to_owned(), true, Some(text)));
            html! {
                <>
                    { for listed.into_iter().map(|(value, label)| {
                        let checked = picked.contains(&value);
                        Tick { kind, name: &name, value: &value, label, checked, class: "debrief-choice" }.view(disabled, onchange.clone())
                    }) }
                    if *other {
                        { note_input(s("other_label"), saved_note.as_ref(), on_note) }
                    }
                </>
            }
        }
        QuestionKind::FreeText { max_chars } => {
            let field = field_name(&q.id);
            let saved = match answer {
                Some(Answer::Text(t)) => Some(t.as_str()),
                _ => None,
            };
            let text = state.field_text(&field, saved);
            let draft = draft(field);
            let leave = {
                let q = q.clone();
                dispatch.reform(move |e: Event| {
                    Action::Answer(item(
                        &q,
                        AnswerValue::Text(text_of(&e).unwrap_or_default()),
                        None,
                    ))
                })
            };
            html! {
                <textarea rows="4" maxlength={max_chars.to_string()} aria-labelledby={format!("{id}-title")}
                    value={text} {disabled} oninput={draft} onchange={leave} />
            }
        }
        QuestionKind::DriverMatrix { drivers } => {
            let rated: Map<String, String> = match answer {
                Some(Answer::Drivers(r)) => r
                    .iter()
                    .map(|(d, i)| (d.clone(), i.code().to_owned()))
                    .collect(),
                _ => Map::new(),
            };
            html! {
                <>
                    { for drivers.iter().map(|driver| {
                        let mine = rated.get(&driver.id).cloned();
                        let onchange = {
                            let (q, rated, driver) = (q.clone(), rated.clone(), driver.id.clone());
                            dispatch.reform(move |e: Event| {
                                let (code, _) = input_of(&e).unwrap_or_default();
                                let mut rated = rated.clone();
                                rated.insert(driver.clone(), code);
                                Action::Answer(item(&q, AnswerValue::Map(rated), None))
                            })
                        };
                        let group = format!("{name}.{}", driver.id);
                        html! {
                            <fieldset class="debrief-driver">
                                <legend>{ state.text(&driver.text) }</legend>
                                { for Influence::ALL.iter().map(|i| {
                                    let code = i.code();
                                    let label = s(&format!("influence_{code}"));
                                    Tick { kind: "radio", name: &group, value: code, label, checked: mine.as_deref() == Some(code), class: "debrief-choice" }.view(disabled, onchange.clone())
                                }) }
                            </fieldset>
                        }
                    }) }
                </>
            }
        }
        QuestionKind::InterviewOptIn => {
            let (yes, times) = match answer {
                Some(Answer::InterviewOptIn { yes, times }) => (Some(*yes), times.clone()),
                _ => (None, None),
            };
            let current = state.field_text(&note, times.as_deref());
            let onchange = {
                let (q, current) = (q.clone(), current.clone());
                dispatch.reform(move |e: Event| {
                    let (value, _) = input_of(&e).unwrap_or_default();
                    let yes = value == "yes";
                    Action::Answer(item(
                        &q,
                        AnswerValue::Flag(yes),
                        yes.then(|| current.clone()),
                    ))
                })
            };
            let on_times = {
                let q = q.clone();
                dispatch.reform(move |text: String| {
                    Action::Answer(item(&q, AnswerValue::Flag(true), Some(text)))
                })
            };
            html! {
                <>
                    { Tick { kind: "radio", name: &name, value: "yes", label: s("yes"), checked: yes == Some(true), class: "debrief-choice" }.view(disabled, onchange.clone()) }
                    { Tick { kind: "radio", name: &name, value: "no", label: s("no"), checked: yes == Some(false), class: "debrief-choice" }.view(disabled, onchange) }
                    { note_input(s("times_label"), times.as_ref(), on_times) }
                </>
            }
        }
        QuestionKind::Consent => {
            let ticked = matches!(answer, Some(Answer::Consent(true)));
            let onchange = {
                let q = q.clone();
                dispatch.reform(move |e: Event| {
                    let (_, on) = input_of(&e).unwrap_or_default();
                    Action::Answer(item(&q, AnswerValue::Flag(on), None))
                })
            };
            Tick {
                kind: "checkbox",
                name: &name,
                value: "yes",
                label: s("consent_label"),
                checked: ticked,
                class: "debrief-choice",
            }
            .view(disabled, onchange)
        }
    };
    let help = q
        .help
        .as_ref()
        .map(|h| html! { <p class="debrief-hint">{ state.text(h) }</p> });
    html! {
        <fieldset class="debrief-question-block" id={id.clone()} key={q.id.as_str()}
            aria-describedby={fault.as_ref().map(|_| error_id.clone())}>
            <legend class="debrief-question" id={format!("{id}-title")}>
                { state.text(&q.title) }
                if q.required {
                    { " " }<span class="debrief-required">{ "(" }{ s("required") }{ ")" }</span>
                }
            </legend>
            { help }
            if let Some(fault) = fault {
                <p class="debrief-error" id={error_id}>{ fault }</p>
            }
            { body }
        </fieldset>
    }
}

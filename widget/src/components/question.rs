//! One question, drawn from its definition as the no-JS form draws it: a fieldset with its
//! legend, native radios and checkboxes (keyboard use and screen reader announcements for
//! free), and the fault next to it.

use crate::state::{note_field, Fault, SurveyState};
use debrief_common::survey::definition::OTHER;
use debrief_common::survey::flow::field_name;
use debrief_common::survey::{Answer, Influence, Question, QuestionKind};
use yew::prelude::*;

/// One radio or checkbox with its label.
struct Tick<'a> {
    /// `radio` or `checkbox`.
    kind: &'static str,
    name: &'a str,
    value: &'a str,
    label: String,
    checked: bool,
    /// A score of a scale, drawn as a box, rather than a choice.
    score: bool,
}

impl Tick<'_> {
    fn view(self, disabled: bool) -> Html {
        let input = html! {
            <input type={self.kind} name={self.name.to_owned()} value={self.value.to_owned()}
                checked={self.checked} {disabled} />
        };
        // Literal classes: a class given as a value goes through yew's `Classes`, a set
        // with its own code in the download.
        if self.score {
            html! { <label class="debrief-score">{ input }{ " " }{ self.label }</label> }
        } else {
            html! { <label class="debrief-choice">{ input }{ " " }{ self.label }</label> }
        }
    }
}

/// A question's fields, named as the no-JS form names them: the form around them reads
/// every change and every keystroke (see `survey`), so no field has a listener of its own.
pub fn question(q: &Question, state: &SurveyState, prefix: &str, disabled: bool) -> Html {
    let Some(survey) = &state.survey else {
        return Html::default();
    };
    let s = |key: &str| survey.sentence(key).to_owned();
    let id = format!("{prefix}-q-{}", q.id);
    let name = field_name(&q.id);
    let answer = state.answers.get(&q.id);
    let fault = state.faults.get(&q.id).map(|f| match f {
        Fault::Missing => s("answer_required"),
        Fault::Invalid => s("answer_invalid"),
    });
    let error_id = format!("{id}-error");
    let note_id = format!("{id}-note");
    let note = note_field(q);
    // A note typed beside a choice, or the times that suit an interview.
    let note_input = |label: String, saved: Option<&String>| {
        let text = state.field_text(&note, saved.map(String::as_str));
        html! {
            <>
                <label class="debrief-choice" for={note_id.clone()}>{ label }</label>
                <input type="text" id={note_id.clone()} name={note.clone()} value={text}
                    maxlength="500" {disabled} />
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
            let ends = matches!(q.kind, QuestionKind::Nps).then(|| {
                html! { <p class="debrief-scale-ends">{ s("nps_low") }{ " · " }{ s("nps_high") }</p> }
            });
            html! {
                <>
                    <div class="debrief-scale">
                        { for (min..=max).map(|n| {
                            let v = n.to_string();
                            Tick { kind: "radio", name: &name, value: &v, label: v.clone(), checked: picked == Some(n), score: true }.view(disabled)
                        }) }
                    </div>
                    { ends }
                </>
            }
        }
        QuestionKind::SingleChoice { choices, other }
        | QuestionKind::MultipleChoice { choices, other } => {
            let multiple = matches!(q.kind, QuestionKind::MultipleChoice { .. });
            let picked: Vec<&str> = answer.map(Answer::chosen).unwrap_or_default();
            let saved_note = match answer {
                Some(Answer::Choice { other, .. } | Answer::Choices { other, .. }) => other.clone(),
                _ => None,
            };
            let kind = if multiple { "checkbox" } else { "radio" };
            let mut listed: Vec<(String, String)> = choices
                .iter()
                .map(|c| (c.id.clone(), state.text(&c.text)))
                .collect();
            if *other {
                listed.push((OTHER.to_owned(), s("other_label")));
            }
            html! {
                <>
                    { for listed.into_iter().map(|(value, label)| {
                        let checked = picked.contains(&value.as_str());
                        Tick { kind, name: &name, value: &value, label, checked, score: false }.view(disabled)
                    }) }
                    if *other {
                        { note_input(s("other_label"), saved_note.as_ref()) }
                    }
                </>
            }
        }
        QuestionKind::FreeText { max_chars } => {
            let saved = match answer {
                Some(Answer::Text(t)) => Some(t.as_str()),
                _ => None,
            };
            let text = state.field_text(&name, saved);
            html! {
                <textarea name={name.clone()} rows="4" maxlength={max_chars.to_string()}
                    aria-labelledby={format!("{id}-title")} value={text} {disabled} />
            }
        }
        QuestionKind::DriverMatrix { drivers } => {
            let rated = match answer {
                Some(Answer::Drivers(r)) => Some(r),
                _ => None,
            };
            html! {
                <>
                    { for drivers.iter().map(|driver| {
                        let mine = rated.and_then(|r| r.get(&driver.id)).map(|i| i.code());
                        let group = format!("{name}.{}", driver.id);
                        html! {
                            <fieldset class="debrief-driver">
                                <legend>{ state.text(&driver.text) }</legend>
                                { for Influence::ALL.iter().map(|i| {
                                    let code = i.code();
                                    let label = s(&format!("influence_{code}"));
                                    Tick { kind: "radio", name: &group, value: code, label, checked: mine == Some(code), score: false }.view(disabled)
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
            html! {
                <>
                    { Tick { kind: "radio", name: &name, value: "yes", label: s("yes"), checked: yes == Some(true), score: false }.view(disabled) }
                    { Tick { kind: "radio", name: &name, value: "no", label: s("no"), checked: yes == Some(false), score: false }.view(disabled) }
                    { note_input(s("times_label"), times.as_ref()) }
                </>
            }
        }
        QuestionKind::Consent => Tick {
            kind: "checkbox",
            name: &name,
            value: "yes",
            label: s("consent_label"),
            checked: matches!(answer, Some(Answer::Consent(true))),
            score: false,
        }
        .view(disabled),
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

//! The survey: loads the buyer's survey version, shows its pages from the definition, and
//! saves each answer as the buyer goes. The markup is the no-JS form's (same classes, same
//! structure), so the widget takes over the server-rendered page without a jump.

use super::question::question;
use crate::api::{self, ApiError};
use crate::state::{Action, Command, FocusTarget, Phase, SurveyState};
use debrief_common::survey::logic::fill_with;
use debrief_common::{Locale, NpsScore};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

#[derive(Properties, PartialEq, Clone)]
pub struct SurveyProps {
    pub token: AttrValue,
    /// The score clicked in the email, if any.
    pub preselect: Option<NpsScore>,
    /// Where the API lives; empty for the page's own origin.
    pub api_base: AttrValue,
    /// The language to show while loading, before the server says which one to use.
    pub locale: Locale,
    /// Makes every id of this widget unique on the page.
    pub prefix: AttrValue,
    /// The element the widget is mounted on: answers given in the form it held before
    /// (the server-rendered page) are taken over.
    pub host: Option<web_sys::Element>,
    /// A survey document (JSON) to show instead of loading one: the console's preview,
    /// whose answers go nowhere.
    pub preview: Option<AttrValue>,
}

/// The fields of the form the host element held before the widget took over, as a
/// browser would post them.
fn fields_before(host: Option<&web_sys::Element>) -> Vec<(String, String)> {
    host.and_then(|h| h.query_selector("form").ok().flatten())
        .and_then(|f| f.dyn_into::<web_sys::HtmlFormElement>().ok())
        .map_or_else(Vec::new, |form| form_fields(&form))
}

/// A form's fields as a browser would post them.
fn form_fields(form: &web_sys::HtmlFormElement) -> Vec<(String, String)> {
    let Ok(data) = web_sys::FormData::new_with_form(form) else {
        return Vec::new();
    };
    // `Array.from` walks the form data's iterator in the browser: a plain loop here.
    let entries = js_sys::Array::from(&data);
    let mut fields = Vec::with_capacity(entries.length() as usize);
    for i in 0..entries.length() {
        let pair: js_sys::Array = entries.get(i).unchecked_into();
        // A file field's value is not text: not a field a survey has.
        if let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
            fields.push((name, value));
        }
    }
    fields
}

/// Runs what the state asks of the outside world: requests, a timer, the focus.
fn run(command: &Command, props: &SurveyProps, dispatch: Callback<Action>, refs: &Refs) {
    let outcome = |result: Result<(), ApiError>, ok: Action| match result {
        Ok(()) => ok,
        Err(ApiError::InvalidLink) => Action::LinkInvalid,
        Err(ApiError::Closed) => Action::Closed,
        Err(ApiError::AlreadyAnswered) => Action::AlreadyAnswered,
        Err(ApiError::Refused(errors)) => Action::Refused(errors),
        Err(ApiError::Network) => Action::NetworkFailed,
    };
    match command {
        // One future for both: each kind of future is its own code in the download.
        Command::Save(_) | Command::Complete(_) if props.preview.is_some() => {
            let last = matches!(command, Command::Complete(_));
            dispatch.emit(if last {
                Action::Completed
            } else {
                Action::Saved
            });
        }
        Command::Save(items) | Command::Complete(items) => {
            let last = matches!(command, Command::Complete(_));
            let (base, token, items) = (props.api_base.clone(), props.token.clone(), items.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let result = api::send(&base, &token, items, last).await;
                let done = if last {
                    Action::Completed
                } else {
                    Action::Saved
                };
                dispatch.emit(outcome(result, done));
            });
        }
        Command::RetryIn(ms) => {
            let retry = Closure::once_into_js(move || dispatch.emit(Action::Retry));
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                    retry.unchecked_ref(),
                    i32::try_from(*ms).unwrap_or(i32::MAX),
                );
            }
        }
        Command::Focus(target) => {
            let node = match target {
                FocusTarget::Page => &refs.heading,
                FocusTarget::Faults => &refs.faults,
            };
            if let Some(element) = node.cast::<web_sys::HtmlElement>() {
                let _ = element.focus();
            }
        }
    }
}

/// The elements the focus moves to, and the page's form.
#[derive(Clone)]
struct Refs {
    heading: NodeRef,
    faults: NodeRef,
    form: NodeRef,
}

/// A string property of the element an event came from (`name`, `value`, `type`).
fn target_property(e: &Event, property: &str) -> Option<String> {
    let target = e.target()?;
    js_sys::Reflect::get(&target, &JsValue::from_str(property))
        .ok()?
        .as_string()
}

#[function_component(Survey)]
pub fn survey(props: &SurveyProps) -> Html {
    let state = use_reducer({
        let locale = props.locale;
        move || SurveyState::new(locale)
    });
    let refs = Refs {
        heading: use_node_ref(),
        faults: use_node_ref(),
        form: use_node_ref(),
    };
    let dispatch = {
        let state = state.clone();
        Callback::from(move |action| state.dispatch(action))
    };

    {
        let (dispatch, props) = (dispatch.clone(), props.clone());
        let attempt = state.phase == Phase::Loading;
        use_effect_with(attempt, move |attempt| {
            if *attempt {
                wasm_bindgen_futures::spawn_local(async move {
                    let loaded = match &props.preview {
                        Some(json) => js_sys::JSON::parse(json)
                            .ok()
                            .and_then(|v| crate::wire::document(&v))
                            .ok_or(ApiError::Network),
                        None => api::load(&props.api_base, &props.token).await,
                    };
                    let action = match loaded {
                        Ok(document) => Action::Loaded {
                            document,
                            preselect: props.preselect,
                            fields: fields_before(props.host.as_ref()),
                        },
                        Err(ApiError::InvalidLink) => Action::LinkInvalid,
                        Err(ApiError::Closed) => Action::Closed,
                        Err(ApiError::AlreadyAnswered) => Action::AlreadyAnswered,
                        Err(_) => Action::LoadFailed,
                    };
                    dispatch.emit(action);
                });
            }
        });
    }
    {
        let (dispatch, props, refs) = (dispatch.clone(), props.clone(), refs.clone());
        use_effect_with(state.command.clone(), move |command| {
            if let Some((_, command)) = command {
                run(command, &props, dispatch, &refs);
            }
        });
    }

    {
        // After the render: the attribute changes once the survey is on screen.
        let host = props.host.clone();
        use_effect_with(state.phase, move |phase| {
            if let Some(host) = host {
                let _ = host.set_attribute("data-debrief-state", phase.code());
            }
        });
    }

    let strings = state.locale.strings();
    let body = match state.phase {
        // The page's own content (the server-rendered form) shows until the survey is
        // loaded; on a host that had none, a line saying it is loading.
        Phase::Loading => html! {
            <slot><p class="debrief-loading" role="status">{ strings.loading }</p></slot>
        },
        Phase::LoadFailed => {
            // Worth a retry: the buyer may be on a flaky connection.
            let reload = Callback::from(|_: MouseEvent| {
                if let Some(window) = web_sys::window() {
                    let _ = window.location().reload();
                }
            });
            html! {
                <>
                    <p class="debrief-error" role="alert">{ strings.load_error }</p>
                    <button type="button" class="debrief-submit" onclick={reload}>{ strings.try_again }</button>
                </>
            }
        }
        // Literal classes: a class given as a value goes through yew's `Classes`, a set
        // with its own code in the download.
        Phase::Invalid => {
            html! { <p class="debrief-invalid" role="status">{ strings.invalid_link }</p> }
        }
        Phase::Closed => {
            html! { <p class="debrief-closed" role="status">{ sentence(&state, "survey_closed") }</p> }
        }
        Phase::AlreadyAnswered => {
            html! { <p class="debrief-answered" role="status">{ strings.already_answered }</p> }
        }
        Phase::Done => {
            html! { <p class="debrief-done" role="status">{ sentence(&state, "thanks") }</p> }
        }
        Phase::Open | Phase::Finishing => page(&state, &dispatch, props, &refs),
    };
    html! {
        <div class="debrief-widget" lang={state.locale.code()}>{ body }</div>
    }
}

fn sentence(state: &SurveyState, key: &str) -> String {
    state
        .survey
        .as_ref()
        .map_or(key, |s| s.sentence(key))
        .to_owned()
}

fn page(
    state: &UseReducerHandle<SurveyState>,
    dispatch: &Callback<Action>,
    props: &SurveyProps,
    refs: &Refs,
) -> Html {
    let Some(survey) = state.survey.clone() else {
        return Html::default();
    };
    let d = &survey.definition;
    let finishing = state.phase == Phase::Finishing;
    let title = d
        .pages
        .get(state.page)
        .and_then(|p| p.title.as_ref())
        .map_or_else(
            || survey.sentence("page_title").to_owned(),
            |t| state.text(t),
        );
    let (page, pages) = ((state.page + 1).to_string(), d.pages.len().to_string());
    let progress = fill_with(survey.sentence("form_progress"), |name| match name {
        "page" => Some(page.as_str()),
        "pages" => Some(pages.as_str()),
        _ => None,
    });
    let prefix = &props.prefix;
    let progress_id = format!("{prefix}-progress");
    let onsubmit = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            dispatch.emit(Action::Next);
        })
    };
    let back = {
        let dispatch = dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::Back))
    };
    // Every field's change and keystroke reach the form: one listener each for the page.
    let onchange = {
        let (dispatch, form) = (dispatch.clone(), refs.form.clone());
        Callback::from(move |e: Event| {
            let form = form.cast::<web_sys::HtmlFormElement>();
            if let (Some(field), Some(form)) = (target_property(&e, "name"), form) {
                let fields = form_fields(&form);
                dispatch.emit(Action::Changed { field, fields });
            }
        })
    };
    let oninput = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: InputEvent| {
            // Typing, not ticking: radios and checkboxes send `input` too.
            let typed = matches!(
                target_property(&e, "type").as_deref(),
                Some("text" | "textarea")
            );
            let field = target_property(&e, "name").filter(|_| typed);
            if let (Some(field), Some(text)) = (field, target_property(&e, "value")) {
                dispatch.emit(Action::Draft { field, text });
            }
        })
    };
    let questions = state.questions();
    let notice = if state.failures > 0 {
        html! { <p class="debrief-error debrief-offline" role="alert">{ survey.sentence("save_failed") }</p> }
    } else if finishing {
        html! { <p class="debrief-saving" role="status">{ survey.sentence("sending") }</p> }
    } else {
        // Always in the page, so that a screen reader hears it change.
        let text = if state.saving() {
            survey.sentence("saving")
        } else {
            ""
        };
        html! { <p class="debrief-saving" role="status">{ text }</p> }
    };
    html! {
        <form class="debrief-form" novalidate=true ref={refs.form.clone()} {onsubmit} {onchange} {oninput}
            aria-busy={finishing.then_some("true")}>
            <p class="debrief-progress" id={progress_id.clone()}>{ progress }</p>
            <progress max={d.pages.len().to_string()} value={(state.page + 1).to_string()}
                aria-labelledby={progress_id} />
            <h2 class="debrief-page-title" tabindex="-1" ref={refs.heading.clone()}>{ title }</h2>
            <div tabindex="-1" ref={refs.faults.clone()}>
                if !state.faults.is_empty() {
                    <div role="alert" class="debrief-errors"><p>{ survey.sentence("form_errors") }</p></div>
                }
            </div>
            { for questions.into_iter().map(|q| question(q, state, prefix, finishing)) }
            { notice }
            <div class="debrief-nav">
                if state.can_go_back() {
                    <button type="button" class="debrief-back" onclick={back} disabled={finishing}>
                        { survey.sentence("back") }
                    </button>
                }
                <button type="submit" class="debrief-submit" disabled={finishing}>
                    { survey.sentence(if state.is_last_page() { "finish" } else { "next" }) }
                </button>
            </div>
        </form>
    }
}

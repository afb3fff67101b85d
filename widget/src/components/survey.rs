//! The survey: loads the buyer's survey, shows the questions, sends the answer.

use super::nps_scale::NpsScale;
use crate::api::{self, ApiError};
use crate::state::{Action, Phase, SurveyState};
use debrief_common::{Locale, NpsScore, REASON_MAX_CHARS};
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
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
}

#[function_component(Survey)]
pub fn survey(props: &SurveyProps) -> Html {
    let state = use_reducer({
        let locale = props.locale;
        move || SurveyState::new(locale)
    });

    {
        let (state, props) = (state.clone(), props.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match api::load(&props.api_base, &props.token).await {
                    Ok(view) => state.dispatch(Action::Loaded {
                        view,
                        preselect: props.preselect,
                    }),
                    Err(ApiError::InvalidLink) => state.dispatch(Action::LinkInvalid),
                    Err(_) => state.dispatch(Action::LoadFailed),
                }
            });
        });
    }

    {
        // Tell the server once that the buyer engaged (a score picked, or brought from
        // the email), for the participation funnel.
        let should = state.should_report_start();
        let (dispatcher, props) = (state.dispatcher(), props.clone());
        use_effect_with(should, move |should| {
            if *should {
                dispatcher.dispatch(Action::StartReported);
                wasm_bindgen_futures::spawn_local(async move {
                    if let Err(ApiError::AlreadyAnswered) =
                        api::report_start(&props.api_base, &props.token).await
                    {
                        dispatcher.dispatch(Action::AlreadyAnswered);
                    }
                });
            }
        });
    }

    let strings = state.locale.strings();
    let body = match state.phase {
        Phase::Loading => {
            // A failed load is worth a retry: the buyer may be on a flaky connection.
            let reload = Callback::from(|_: MouseEvent| {
                if let Some(window) = web_sys::window() {
                    let _ = window.location().reload();
                }
            });
            html! {
                <>
                    if let Some(banner) = state.banner {
                        <p class="debrief-error" role="alert">{ banner }</p>
                        <button type="button" class="debrief-submit" onclick={reload}>{ strings.try_again }</button>
                    } else {
                        <p class="debrief-status" role="status">{ strings.loading }</p>
                    }
                </>
            }
        }
        Phase::Invalid => {
            html! { <p class="debrief-status debrief-invalid" role="alert">{ strings.invalid_link }</p> }
        }
        Phase::AlreadyAnswered => {
            html! { <p class="debrief-status debrief-answered" role="status">{ strings.already_answered }</p> }
        }
        Phase::Done => html! {
            <div class="debrief-done" role="status" tabindex="-1">
                <h2>{ strings.thanks_title }</h2>
                <p>{ strings.thanks_body }</p>
            </div>
        },
        Phase::Open | Phase::Submitting => {
            let submitting = state.phase == Phase::Submitting;
            let on_pick = {
                let state = state.clone();
                Callback::from(move |score| state.dispatch(Action::Pick(score)))
            };
            let on_input = {
                let state = state.clone();
                Callback::from(move |e: InputEvent| {
                    if let Some(area) = e
                        .target()
                        .and_then(|t| t.dyn_into::<HtmlTextAreaElement>().ok())
                    {
                        state.dispatch(Action::EditReason(area.value()));
                    }
                })
            };
            let on_interview = {
                let state = state.clone();
                Callback::from(move |e: Event| {
                    if let Some(input) = e
                        .target()
                        .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                    {
                        state.dispatch(Action::ToggleInterview(input.checked()));
                    }
                })
            };
            let on_submit = {
                let (state, props) = (state.clone(), props.clone());
                Callback::from(move |e: SubmitEvent| {
                    e.prevent_default();
                    match state.submission() {
                        Err(errors) => state.dispatch(Action::Refused(errors)),
                        Ok(answer) => {
                            state.dispatch(Action::Submitting);
                            let (state, props) = (state.clone(), props.clone());
                            wasm_bindgen_futures::spawn_local(async move {
                                let action =
                                    match api::submit(&props.api_base, &props.token, &answer).await
                                    {
                                        Ok(()) => Action::Submitted,
                                        Err(ApiError::AlreadyAnswered) => Action::AlreadyAnswered,
                                        Err(ApiError::InvalidLink) => Action::LinkInvalid,
                                        Err(ApiError::Refused(errors)) => Action::Refused(errors),
                                        Err(ApiError::Network) => Action::NetworkFailed,
                                    };
                                state.dispatch(action);
                            });
                        }
                    }
                })
            };
            let question = strings.nps_question(&state.company);
            let reason_error = state.error_for("reason");
            html! {
                <form class="debrief-form" onsubmit={on_submit} novalidate=true>
                    <NpsScale
                        question={AttrValue::from(question)}
                        low_label={strings.nps_low}
                        high_label={strings.nps_high}
                        selected={state.nps}
                        error={state.error_for("nps").map(AttrValue::from)}
                        disabled={submitting}
                        {on_pick} />
                    <div class="debrief-field">
                        <label class="debrief-question" for="debrief-reason">{ strings.reason_question }</label>
                        <p id="debrief-reason-hint" class="debrief-hint">{ strings.reason_hint }</p>
                        <textarea id="debrief-reason" rows="4"
                            maxlength={REASON_MAX_CHARS.to_string()}
                            aria-describedby={if reason_error.is_some() { "debrief-reason-hint debrief-reason-error" } else { "debrief-reason-hint" }}
                            aria-invalid={reason_error.is_some().then_some("true")}
                            value={state.reason.clone()}
                            disabled={submitting}
                            oninput={on_input} />
                        if let Some(error) = reason_error {
                            <p id="debrief-reason-error" class="debrief-error" role="alert">{ error }</p>
                        }
                    </div>
                    if state.offers_interview {
                        <label class="debrief-field debrief-check">
                            <input type="checkbox" checked={state.interview} disabled={submitting}
                                onchange={on_interview} />
                            { strings.interview_offer }
                        </label>
                    }
                    if let Some(banner) = state.banner {
                        <p class="debrief-error" role="alert">{ banner }</p>
                    }
                    <button type="submit" class="debrief-submit" disabled={submitting} aria-busy={submitting.then_some("true")}>
                        { if submitting { strings.submitting } else { strings.submit } }
                    </button>
                </form>
            }
        }
    };
    html! {
        <section class="debrief-widget" lang={state.locale.code()}>
            { body }
        </section>
    }
}

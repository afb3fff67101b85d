//! The 0–10 scale as a radio group: native radios give keyboard use (arrow keys, space)
//! and screen reader announcements for free.

use debrief_common::NpsScore;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct NpsScaleProps {
    pub question: AttrValue,
    pub low_label: AttrValue,
    pub high_label: AttrValue,
    pub selected: Option<NpsScore>,
    pub error: Option<AttrValue>,
    pub disabled: bool,
    pub on_pick: Callback<NpsScore>,
}

#[function_component(NpsScale)]
pub fn nps_scale(props: &NpsScaleProps) -> Html {
    let error_id = "debrief-nps-error";
    html! {
        <fieldset class="debrief-nps" aria-describedby={props.error.as_ref().map(|_| error_id)}>
            <legend class="debrief-question">{ props.question.clone() }</legend>
            <div class="debrief-scale" role="radiogroup">
                { for NpsScore::all().map(|score| {
                    let on_pick = props.on_pick.clone();
                    let onchange = Callback::from(move |_: Event| on_pick.emit(score));
                    let checked = props.selected == Some(score);
                    html! {
                        <label class={classes!("debrief-score", checked.then_some("is-selected"))}>
                            <input type="radio" name="debrief-nps" value={score.to_string()}
                                {checked} disabled={props.disabled} {onchange} />
                            <span>{ score.to_string() }</span>
                        </label>
                    }
                }) }
            </div>
            <div class="debrief-scale-ends" aria-hidden="true">
                <span>{ props.low_label.clone() }</span>
                <span>{ props.high_label.clone() }</span>
            </div>
            if let Some(error) = &props.error {
                <p id={error_id} class="debrief-error" role="alert">{ error.clone() }</p>
            }
        </fieldset>
    }
}

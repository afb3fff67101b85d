//! Debrief's buyer survey widget. Compiled to WebAssembly; a host page mounts it into any
//! element:
//!
//! ```js
//! import init, { mount } from "/widget/debrief_widget.js";
//! await init();
//! mount("#survey", { token: "…", score: 9, apiBase: "https://debrief.example.com" });
//! ```

pub mod api;
pub mod components;
pub mod state;

use components::survey::{Survey, SurveyProps};
use debrief_common::{Locale, NpsScore};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

/// Options accepted by `mount`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MountOptions {
    pub token: String,
    /// The score clicked in the email (0–10); anything else is ignored.
    #[serde(default)]
    pub score: Option<f64>,
    /// Origin of the Debrief server; defaults to the page's own origin.
    #[serde(default)]
    pub api_base: Option<String>,
    /// Language to show while loading (`en`, `fr-CA`…); the survey's own locale wins.
    #[serde(default)]
    pub locale: Option<String>,
}

/// Mounts the survey into the first element matching `selector`.
#[wasm_bindgen]
pub fn mount(selector: &str, options: JsValue) -> Result<(), JsValue> {
    let options: MountOptions = serde_wasm_bindgen::from_value(options)
        .map_err(|e| JsValue::from_str(&format!("debrief: invalid options: {e}")))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| JsValue::from_str("debrief: no document"))?;
    let root = document
        .query_selector(selector)?
        .ok_or_else(|| JsValue::from_str(&format!("debrief: no element matches {selector:?}")))?;
    install_style(&document)?;
    let props = SurveyProps {
        token: options.token.into(),
        preselect: preselect(options.score),
        api_base: options.api_base.unwrap_or_default().into(),
        locale: options
            .locale
            .as_deref()
            .and_then(|l| Locale::parse(l).ok())
            .unwrap_or_default(),
    };
    root.set_inner_html("");
    yew::Renderer::<Survey>::with_root_and_props(root, props).render();
    Ok(())
}

/// The score from the email link, if it is one: a mangled value is dropped, and the
/// survey opens with nothing selected.
pub fn preselect(score: Option<f64>) -> Option<NpsScore> {
    // NaN and infinities have no zero fraction; `as` saturates the rest.
    score
        .filter(|s| s.fract() == 0.0)
        .and_then(|s| NpsScore::parse(s as i64).ok())
}

/// The widget carries its own style, so a host page needs nothing but the script. Class
/// names are prefixed to stay out of the host's way.
fn install_style(document: &web_sys::Document) -> Result<(), JsValue> {
    const ID: &str = "debrief-widget-style";
    if document.get_element_by_id(ID).is_some() {
        return Ok(());
    }
    let style = document.create_element("style")?;
    style.set_id(ID);
    style.set_text_content(Some(include_str!("../static/widget.css")));
    if let Some(head) = document.head() {
        head.append_child(&style)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::preselect;

    #[test]
    fn a_mangled_score_in_the_link_is_ignored() {
        assert_eq!(preselect(Some(9.0)).map(|s| s.value()), Some(9));
        for bad in [
            Some(42.0),
            Some(-1.0),
            Some(4.5),
            Some(f64::NAN),
            Some(f64::INFINITY),
            None,
        ] {
            assert_eq!(preselect(bad), None, "{bad:?}");
        }
    }
}

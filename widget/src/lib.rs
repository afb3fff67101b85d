//! Debrief's buyer survey widget, compiled to WebAssembly. A portal embeds it with one
//! script tag and an element:
//!
//! ```html
//! <script type="module" src="https://debrief.example.com/widget/embed.js"></script>
//! <div data-debrief-token="…" data-debrief-locale="fr"></div>
//! ```
//!
//! or mounts it from its own script:
//!
//! ```js
//! import init, { mount } from "https://debrief.example.com/widget/debrief_widget.js";
//! await init();
//! mount("#survey", { token: "…", score: 9, apiBase: "https://debrief.example.com" });
//! ```
//!
//! The widget draws itself in a shadow root: the host page's CSS does not reach in, and the
//! widget's does not leak out. The host themes it through CSS custom properties
//! (`--debrief-accent`, `--debrief-font`, `--debrief-radius`…), which cross that boundary.

pub mod api;
pub mod components;
pub mod state;
pub mod wire;

use components::survey::{Survey, SurveyProps};
use debrief_common::{Locale, NpsScore};
use std::sync::atomic::{AtomicU32, Ordering};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

// Talc in place of dlmalloc: smaller in the download, and faster (its authors' wasm
// benchmarks). The widget runs on the page's one thread.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Each widget on a page gets its own id prefix.
static MOUNTED: AtomicU32 = AtomicU32::new(0);

/// Reads a string option of `mount`'s options object.
fn option(options: &JsValue, name: &str) -> Option<String> {
    js_sys::Reflect::get(options, &JsValue::from_str(name))
        .ok()
        .and_then(|v| v.as_string().or_else(|| v.as_f64().map(number_text)))
        .filter(|v| !v.is_empty())
}

/// A number given as an option, as the text the score parser reads ("9"), without
/// formatting floats: a fraction cannot be a score, so it reads as no score.
fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && (0.0..=10.0).contains(&n) {
        (n as u8).to_string()
    } else {
        String::new()
    }
}

/// Mounts the survey into `target`: an element, or the first one matching a CSS selector.
/// `options`: `token` (required), `score` (clicked in the email), `apiBase` (the Debrief
/// server; the page's own origin by default), `locale` (shown while loading); or, in
/// place of a token, `preview`: a survey document as JSON, shown and never saved.
#[wasm_bindgen]
pub fn mount(target: JsValue, options: JsValue) -> Result<(), JsValue> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| JsValue::from_str("debrief: no document"))?;
    let host: web_sys::Element = match target.as_string() {
        Some(selector) => document
            .query_selector(&selector)?
            .ok_or_else(|| JsValue::from_str("debrief: no element matches the selector"))?,
        None => target
            .dyn_into()
            .map_err(|_| JsValue::from_str("debrief: mount needs an element or a selector"))?,
    };
    // A preview (the console's survey editor) brings its document and saves nothing.
    let preview = option(&options, "preview");
    let token = match (option(&options, "token"), &preview) {
        (Some(token), _) => token,
        (None, Some(_)) => String::new(),
        (None, None) => return Err(JsValue::from_str("debrief: the token option is required")),
    };
    let n = MOUNTED.fetch_add(1, Ordering::Relaxed) + 1;
    let props = SurveyProps {
        token: token.into(),
        preselect: preselect(option(&options, "score").as_deref()),
        api_base: option(&options, "apiBase").unwrap_or_default().into(),
        locale: option(&options, "locale")
            .and_then(|l| Locale::parse(&l).ok())
            .unwrap_or_default(),
        prefix: format!("debrief{n}").into(),
        host: Some(host.clone()),
        preview: preview.map(Into::into),
    };
    let root = shadow_root(&document, &host)?;
    yew::Renderer::<Survey>::with_root_and_props(root, props).render();
    Ok(())
}

/// The score from the email link, if it is one: a mangled value is dropped, and the
/// survey opens with nothing selected.
pub fn preselect(score: Option<&str>) -> Option<NpsScore> {
    score
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|s| NpsScore::parse(s).ok())
}

/// A shadow root on `host` holding the widget's style and an element to draw in. What the
/// host showed before (the server-rendered form on Debrief's own page) stays in the light
/// DOM, shown through a slot until the survey has loaded: the buyer can start answering
/// at once, and the widget takes those answers over.
fn shadow_root(
    document: &web_sys::Document,
    host: &web_sys::Element,
) -> Result<web_sys::Element, JsValue> {
    let shadow = match host.shadow_root() {
        Some(shadow) => {
            shadow.set_inner_html("");
            shadow
        }
        None => host.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))?,
    };
    let style = document.create_element("style")?;
    style.set_text_content(Some(include_str!("../static/debrief.css")));
    shadow.append_child(&style)?;
    let root = document.create_element("div")?;
    shadow.append_child(&root)?;
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::preselect;

    #[test]
    fn a_mangled_score_in_the_link_is_ignored() {
        assert_eq!(preselect(Some("9")).map(|s| s.value()), Some(9));
        for bad in [
            Some("42"),
            Some("-1"),
            Some("4.5"),
            Some("NaN"),
            Some(""),
            None,
        ] {
            assert_eq!(preselect(bad), None, "{bad:?}");
        }
    }
}

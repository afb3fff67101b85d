//! The wording of a document that says everything in each language (a survey, the
//! interview guide), as form fields: every translated text is found where it sits in the
//! document's JSON and named by its path (`pages[0].questions[1].title`), the path the
//! validators name faults by. Editors show one input per text and language, and apply
//! what was typed back onto the document; its structure is edited apart.

use debrief_common::{FieldError, Locale};
use serde_json::{Map, Value};

/// One text of the document, in each language.
#[derive(Debug, Clone, PartialEq)]
pub struct TextField {
    /// Where it sits: `pages[0].questions[1].title`.
    pub path: String,
    /// The same, as people read it: `intro › nps › title`, by the ids and keys of what
    /// holds it.
    pub label: String,
    /// Its words by language, empty where it is not translated yet.
    pub words: Vec<(Locale, String)>,
}

/// Every translated text of `document` as the editors' templates show it: a fieldset
/// per text (`label`), an input per language (`name` is `prefix` + path + language; a
/// textarea when the words are long or span lines).
pub fn form_fields(document: &Value, locales: &[Locale], prefix: &str) -> Vec<Value> {
    fields(document, locales)
        .into_iter()
        .map(|f| {
            let words: Vec<Value> = f
                .words
                .iter()
                .map(|(l, w)| {
                    serde_json::json!({
                        "name": format!("{prefix}{}.{}", f.path, l.code()),
                        "id": format!("t-{}-{}", f.path.replace(['[', ']', '.'], "-"), l.code()),
                        "lang": l.code(),
                        "words": w,
                        // An input would drop line breaks: a text that has them, or is
                        // long, is edited in a box.
                        "long": w.contains('\n') || w.chars().count() > 80,
                    })
                })
                .collect();
            serde_json::json!({ "label": f.label, "words": words })
        })
        .collect()
}

/// Whether `value` is a translated text: an object of languages only.
fn is_text(value: &Map<String, Value>) -> bool {
    !value.is_empty()
        && value
            .iter()
            .all(|(k, v)| Locale::parse(k).is_ok() && v.is_string())
}

/// Every translated text of `document`, in document order, with a word slot for each
/// of `locales`.
pub fn fields(document: &Value, locales: &[Locale]) -> Vec<TextField> {
    let mut found = Vec::new();
    walk(
        document,
        (String::new(), String::new()),
        locales,
        &mut found,
    );
    found
}

fn walk(
    value: &Value,
    (path, label): (String, String),
    locales: &[Locale],
    found: &mut Vec<TextField>,
) {
    let join = |part: &str| {
        if label.is_empty() {
            part.to_owned()
        } else {
            format!("{label} › {part}")
        }
    };
    match value {
        Value::Object(map) if is_text(map) => found.push(TextField {
            words: locales
                .iter()
                .map(|l| {
                    let words = map.get(l.code()).and_then(Value::as_str).unwrap_or("");
                    (*l, words.to_owned())
                })
                .collect(),
            path,
            label,
        }),
        Value::Object(map) => {
            for (key, inner) in map {
                let inner_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(inner, (inner_path, join(key)), locales, found);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                // An item is known by its id or key where it has one (`nps`), else by
                // its place, counted from 1.
                let name = ["id", "key"]
                    .iter()
                    .find_map(|k| inner.get(k).and_then(Value::as_str))
                    .map_or_else(|| format!("{}", i + 1), str::to_owned);
                let inner_label = if label.is_empty() {
                    name
                } else if inner.get("id").or_else(|| inner.get("key")).is_some() {
                    // "pages › intro" reads worse than "intro": the array's own name goes.
                    match label.rsplit_once(" › ") {
                        Some((before, _)) => format!("{before} › {name}"),
                        None => name,
                    }
                } else {
                    format!("{label} {name}")
                };
                walk(inner, (format!("{path}[{i}]"), inner_label), locales, found);
            }
        }
        _ => {}
    }
}

/// The text at `path` in `document`, if there is one there.
fn text_at<'a>(document: &'a mut Value, path: &str) -> Option<&'a mut Map<String, Value>> {
    let mut at = document;
    for segment in path.split('.') {
        let (key, indices) = segment.split_once('[').unwrap_or((segment, ""));
        at = at.as_object_mut()?.get_mut(key)?;
        if !indices.is_empty() {
            for index in format!("[{indices}").split('[').skip(1) {
                let i: usize = index.strip_suffix(']')?.parse().ok()?;
                at = at.as_array_mut()?.get_mut(i)?;
            }
        }
    }
    at.as_object_mut().filter(|map| is_text(map))
}

/// Puts each typed `(path.locale, words)` in `document`: a field that names no text of
/// it is a fault named by the field (`prefix` + its name). Emptied words stay, empty,
/// for the document's own check to name them (`….title.fr must not be empty`).
pub fn apply(
    document: &mut Value,
    typed: &[(String, String)],
    prefix: &str,
) -> Result<(), Vec<FieldError>> {
    let mut faults = Vec::new();
    for (name, words) in typed {
        let place = name
            .rsplit_once('.')
            .and_then(|(path, code)| Some((path, Locale::parse(code).ok()?)));
        let text = place.and_then(|(path, locale)| Some((text_at(document, path)?, locale)));
        let Some((text, locale)) = text else {
            faults.push(FieldError::new(
                format!("{prefix}{name}"),
                "names no text of this document",
            ));
            continue;
        };
        // Line ends as a browser posts them (CRLF) are not part of the words.
        let words = words.replace("\r\n", "\n").trim().to_owned();
        text.insert(locale.code().to_owned(), Value::String(words));
    }
    if faults.is_empty() {
        Ok(())
    } else {
        Err(faults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn survey() -> Value {
        json!({
            "format": 1,
            "pages": [{ "id": "p1", "questions": [
                { "id": "nps", "title": { "en": "Recommend us?", "fr": "Nous recommander ?" } },
                { "id": "why", "title": { "en": "Why?" },
                  "choices": [{ "id": "price", "text": { "en": "Price", "fr": "Prix" } }] },
            ]}],
            "five_whys": [{ "en": "Why so?", "fr": "Pourquoi ?" }],
        })
    }

    #[test]
    fn every_text_is_found_by_its_path_with_a_slot_per_language() {
        let found = fields(&survey(), &[Locale::En, Locale::Fr]);
        let paths: Vec<&str> = found.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "five_whys[0]",
                "pages[0].questions[0].title",
                "pages[0].questions[1].choices[0].text",
                "pages[0].questions[1].title",
            ]
        );
        let labels: Vec<&str> = found.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "five_whys 1",
                "p1 › nps › title",
                "p1 › why › price › text",
                "p1 › why › title"
            ]
        );
        // Not translated yet: an empty slot to fill.
        assert_eq!(
            found[3].words,
            [(Locale::En, "Why?".to_owned()), (Locale::Fr, String::new())]
        );
    }

    #[test]
    fn words_that_span_lines_are_edited_in_a_box_that_keeps_them() {
        let doc = json!({ "help": { "en": "Why?\nTell us", "fr": "Pourquoi ?" } });
        let shown = form_fields(&doc, &[Locale::En, Locale::Fr], "text:");
        assert_eq!(
            shown[0]["words"][0]["long"], true,
            "an input would drop the line break"
        );
        assert_eq!(shown[0]["words"][1]["long"], false);
        assert_eq!(shown[0]["words"][0]["name"], "text:help.en");
    }

    #[test]
    fn typed_words_land_at_their_path_and_a_made_up_path_is_named() {
        let mut doc = survey();
        let typed = [
            (
                "pages[0].questions[1].title.fr".to_owned(),
                "Pourquoi ?\r\n".to_owned(),
            ),
            ("five_whys[0].en".to_owned(), "  ".to_owned()),
        ];
        apply(&mut doc, &typed, "text:").expect("applied");
        assert_eq!(doc["pages"][0]["questions"][1]["title"]["fr"], "Pourquoi ?");
        assert_eq!(doc["five_whys"][0], json!({ "en": "", "fr": "Pourquoi ?" }));
        let before = doc.clone();
        for name in [
            "pages[0].questions[9].title.fr",
            "pages[0].id.fr",
            "pages[0].questions[0].title.de",
            "pages[0].questions[0].title",
            "pages[x].title.fr",
        ] {
            let refused = apply(&mut doc, &[(name.to_owned(), "x".to_owned())], "text:");
            assert_eq!(
                refused.map_err(|f| f[0].field.clone()),
                Err(format!("text:{name}")),
                "{name}"
            );
        }
        assert_eq!(doc, before, "nothing changed by a refused field");
    }
}

//! The JSON error body every API endpoint answers with, so clients (the widget included)
//! can show a message next to the field that caused it.

use serde::{Deserialize, Serialize};

/// One problem with one input field. `field` is a path such as `contacts[0].email`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Body of every non-2xx API answer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable, machine-readable code such as `validation_failed` or `already_answered`.
    pub error: String,
    /// A sentence for a person.
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

/// `s` (its first 64 characters, the longest id) in double quotes, with quotes, backslashes, control
/// characters and the invisible ones that reorder or hide text (bidi overrides, zero
/// widths) escaped as Rust's `{:?}` writes them: a hostile id reads plainly in a message.
/// Written out rather than through `Debug` or `char::escape_debug`, whose Unicode tables
/// the widget would download (its build compiles `Debug` out).
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(160) + 2);
    out.push('"');
    for c in s.chars().take(64) {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() || is_invisible(c) => {
                out.push_str("\\u{");
                let code = u32::from(c);
                let digits = (32 - code.leading_zeros()).div_ceil(4).max(1);
                for shift in (0..digits).rev() {
                    let nibble = (code >> (shift * 4)) & 0xf;
                    out.push(char::from_digit(nibble, 16).unwrap_or('0'));
                }
                out.push('}');
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Characters that change how text around them reads without showing themselves.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{a0}'
            | '\u{ad}'
            | '\u{61c}'
            | '\u{180e}'
            | '\u{2000}'..='\u{200f}'
            | '\u{2028}'..='\u{202f}'
            | '\u{205f}'..='\u{206f}'
            | '\u{3000}'
            | '\u{feff}'
            | '\u{e0000}'..='\u{e007f}'
    )
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn quoted_text_escapes_what_could_mislead_a_reader() {
        assert_eq!(quoted("price"), r#""price""#);
        assert_eq!(quoted("a\"b\\c'd"), r#""a\"b\\c'd""#);
        // A right-to-left override and a NUL are shown, not obeyed.
        assert_eq!(quoted("x\u{202e}y\0\u{1}"), r#""x\u{202e}y\0\u{1}""#);
        assert_eq!(quoted("tab\there\n"), r#""tab\there\n""#);
        assert_eq!(quoted(&"é".repeat(70)), format!("\"{}\"", "é".repeat(64)));
        // What Rust's `{:?}` escapes too: line separators, invisible marks, odd spaces.
        let marks = [
            '\u{a0}', '\u{ad}', '\u{61c}', '\u{180e}', '\u{3000}', '\u{feff}',
        ];
        let ranges = [
            0x2000..=0x200f,
            0x2028..=0x202f,
            0x205f..=0x206f,
            0xe0000..=0xe007f,
        ];
        let all = ranges
            .into_iter()
            .flatten()
            .filter_map(char::from_u32)
            .chain(marks);
        for c in all {
            let text = format!("a{c}b");
            assert_eq!(quoted(&text), format!("{text:?}"), "{:x}", u32::from(c));
        }
    }
}

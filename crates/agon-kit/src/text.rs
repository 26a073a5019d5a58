//! What characters text from clients may hold, for every field that names someone or something (emails, display
//! names, cities, device tokens, preference keys) and for free text (a bio).
//!
//! Refused everywhere:
//! - Unicode control characters (general category Cc: NUL, BEL, ESC, DEL, C1 controls…): they truncate strings
//!   in C libraries, drive terminals (ANSI escapes) and corrupt logs and mail headers when echoed.
//! - Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they reorder what a reader
//!   sees ("Trojan Source"), so a name could display as another. Bidi *marks* (U+200E, U+200F, U+061C) stay:
//!   they only nudge neutral characters and are needed to write mixed-direction names correctly.
//! - Invisible separators that serve only to make two names look alike: zero width space U+200B, word joiner
//!   U+2060, and the byte order mark U+FEFF. Zero width (non-)joiners U+200C/U+200D stay: Persian and Indic
//!   scripts and emoji sequences need them.
//! - In single-line fields, line and paragraph separators (U+2028, U+2029).
//!
//! Multi-line text may keep line feeds (`\n`) and nothing else of the above: not `\r`, not tabs.

use crate::error::FieldError;

/// Whether a field may span lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    Single,
    Multi,
}

/// A text field trimmed and checked — at most `max` characters, and the characters [`check`] allows — with any
/// problem added to `errors`: the one way services hold client text to their limits.
pub fn checked(
    field: &str,
    value: String,
    max: usize,
    lines: Lines,
    errors: &mut Vec<FieldError>,
) -> String {
    let value = value.trim().to_owned();
    if value.chars().count() > max {
        errors.push(FieldError {
            field: field.into(),
            message: format!("must be at most {max} characters"),
        });
    } else if let Err(e) = check(field, &value, lines) {
        errors.push(e);
    }
    value
}

/// [`checked`], and refused when nothing is left after trimming (a name, a title).
pub fn required(
    field: &str,
    value: String,
    max: usize,
    lines: Lines,
    errors: &mut Vec<FieldError>,
) -> String {
    let before = errors.len();
    let value = checked(field, value, max, lines, errors);
    if value.is_empty() && errors.len() == before {
        errors.push(FieldError {
            field: field.into(),
            message: "must not be empty".into(),
        });
    }
    value
}

/// The longest media URL kept.
pub const MEDIA_URL_MAX_CHARS: usize = 500;

/// A list of media URLs (`field`), trimmed: at most `max` of them, each an absolute http(s) URL of at most
/// [`MEDIA_URL_MAX_CHARS`] printable characters. Problems are collected into `errors` (`field.N` per URL).
pub fn media(
    field: &str,
    urls: Vec<String>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Vec<String> {
    if urls.len() > max {
        errors.push(FieldError {
            field: field.into(),
            message: format!("holds at most {max} URLs"),
        });
    }
    let urls: Vec<String> = urls.into_iter().map(|url| url.trim().to_owned()).collect();
    for (i, url) in urls.iter().enumerate() {
        let at = format!("{field}.{i}");
        let web = url.starts_with("https://") || url.starts_with("http://");
        if !web || url.chars().count() > MEDIA_URL_MAX_CHARS || url.chars().any(char::is_whitespace)
        {
            errors.push(FieldError {
                field: at,
                message: format!(
                    "must be an http(s) URL of at most {MEDIA_URL_MAX_CHARS} characters"
                ),
            });
        } else if let Err(e) = check(&at, url, Lines::Single) {
            errors.push(e);
        }
    }
    urls
}

/// Checks `value` for the characters this module refuses; the error names `field`.
pub fn check(field: &str, value: &str, lines: Lines) -> Result<(), FieldError> {
    let refused = |c: char| match c {
        '\n' => lines == Lines::Single,
        '\u{2028}' | '\u{2029}' => lines == Lines::Single,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => true,
        '\u{200B}' | '\u{2060}' | '\u{FEFF}' => true,
        c => c.is_control(),
    };
    match value.chars().find(|c| refused(*c)) {
        None => Ok(()),
        Some(c) => Err(FieldError {
            field: field.into(),
            message: format!(
                "must not contain control, bidirectional-override or invisible characters (found U+{:04X})",
                u32::from(c)
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_controls_overrides_and_invisibles() {
        for bad in [
            "a\0b",
            "a\u{7}b",
            "\u{1b}[31mred",
            "a\rb",
            "a\tb",
            "a\u{7f}",
            "a\u{85}",
            "abc\u{202E}gpj.exe",
            "a\u{2066}b",
            "a\u{200B}na",
            "\u{FEFF}ana",
        ] {
            assert!(check("name", bad, Lines::Single).is_err(), "{bad:?}");
            assert!(check("bio", bad, Lines::Multi).is_err(), "{bad:?}");
        }
        for line_break in ["a\nb", "a\u{2028}b"] {
            assert!(check("name", line_break, Lines::Single).is_err());
        }
        assert!(check("bio", "line one\nline two", Lines::Multi).is_ok());
        for good in [
            "Ana",
            "José Ñúñez",
            "محمد\u{200F}",
            "می\u{200C}خواهم",
            "👩\u{200D}💻",
            "李",
        ] {
            assert!(check("name", good, Lines::Single).is_ok(), "{good:?}");
        }
        let e = check("display_name", "x\u{1b}", Lines::Single).unwrap_err();
        assert_eq!(e.field, "display_name");
        assert!(e.message.contains("U+001B"), "{}", e.message);
    }
}

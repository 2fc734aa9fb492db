//! How is text cut and shown in messages? The helpers every message of the library
//! uses: cutting at a UTF-8 character boundary, short values, quotes of a server's
//! body, and URLs without their secrets.
//!
//! Messages are bounded (docs/design.md §3: `LCM_ERROR_SIZE`), so every value that goes
//! into one is cut here, never in place.

use std::borrow::Cow;
use std::fmt::Write;

use ureq::http::Uri;

/// How much of a server's body an error message may quote.
pub(crate) const MAX_QUOTED_BYTES: usize = 200;

/// Longest value shown whole by [`short`].
const MAX_SHORT_BYTES: usize = 80;

/// `text` as one line: control characters (C0, DEL, C1), from a caller's value or a
/// server's body, written as escapes (`\n`, `\r`, `\t`, `\x1b`, `\u{85}`), so that
/// no value can end a log line or forge another (docs/design.md §5).
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The largest index `<= max` that is a character boundary of `text`.
pub(crate) fn floor_char_boundary(text: &str, max: usize) -> usize {
    if max >= text.len() {
        return text.len();
    }
    (0..=max)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// Cuts `text` to at most `max` bytes without splitting a UTF-8 character.
pub(crate) fn truncate_at_char_boundary(text: &mut String, max: usize) {
    if text.len() > max {
        let cut = floor_char_boundary(text, max);
        text.truncate(cut);
    }
}

/// A value cut short enough to sit in an error message, marked with `...` when cut.
pub(crate) fn short(text: &str) -> String {
    let cut = floor_char_boundary(text, MAX_SHORT_BYTES);
    if cut < text.len() {
        format!("{}...", &text[..cut])
    } else {
        text.to_string()
    }
}

/// The start of a server's body for an error message: at most [`MAX_QUOTED_BYTES`]
/// bytes of it, invalid UTF-8 replaced, marked when cut.
pub(crate) fn quote_body(body: &[u8]) -> String {
    if body.is_empty() {
        return "(empty)".into();
    }
    let shown = body.len().min(MAX_QUOTED_BYTES);
    let text = String::from_utf8_lossy(&body[..shown]);
    // A replacement character is 3 bytes for 1: keep the quote within the bound.
    let text = &text[..floor_char_boundary(&text, MAX_QUOTED_BYTES)];
    if shown < body.len() {
        format!("'{text}' (first {shown} of {} bytes)", body.len())
    } else {
        format!("'{text}'")
    }
}

/// A URL for messages and logs: scheme, host, port and path, without user info or
/// query, which may carry credentials; the path cut short. A relative URL (a
/// `Location: /other`) shows its path alone.
pub(crate) fn display_url(uri: &Uri) -> String {
    let path = short(uri.path());
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => {
            let port = authority
                .port_u16()
                .map(|p| format!(":{p}"))
                .unwrap_or_default();
            format!(
                "{}://{}{port}{path}",
                scheme.to_ascii_lowercase(),
                authority.host()
            )
        }
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_onto_one_line() {
        assert_eq!(one_line("plain é"), "plain é");
        assert_eq!(
            one_line("a\r\nlcm-outcome [error] forged\x1b[31m\t\0\x7f\u{85}\u{9b}"),
            "a\\r\\nlcm-outcome [error] forged\\x1b[31m\\t\\x00\\x7f\\u{85}\\u{9b}"
        );
    }

    #[test]
    fn quoted_body_is_bounded() {
        let body = vec![b'a'; 10_000];
        let quoted = quote_body(&body);
        assert!(quoted.len() < MAX_QUOTED_BYTES + 40, "{quoted}");
        assert!(quoted.ends_with("(first 200 of 10000 bytes)"));
        assert_eq!(quote_body(b""), "(empty)");
    }

    #[test]
    fn short_values_are_cut_at_a_char_boundary() {
        let long = "é".repeat(100);
        let cut = short(&long);
        assert!(
            cut.ends_with("...") && cut.len() <= MAX_SHORT_BYTES + 3,
            "{cut}"
        );
        assert_eq!(short("abc"), "abc");
    }

    #[test]
    fn urls_lose_user_info_and_query() {
        let uri: Uri = "HTTPS://u:p@lcm.example.com:8443/api?token=x"
            .parse()
            .unwrap();
        assert_eq!(display_url(&uri), "https://lcm.example.com:8443/api");
        let relative: Uri = "/other".parse().unwrap();
        assert_eq!(display_url(&relative), "/other");
    }
}

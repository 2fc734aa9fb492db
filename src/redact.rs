//! What may a message or a log line show of what a server sent? Secrets never: the
//! `auth` value and its token are blanked out of any server text before it is quoted.
//! Personal data (agent comments a server may echo) only at `trace`: below it, log
//! lines leave out the quote of the server's body.

use crate::config::Secret;
use crate::error::Error;
use crate::log::Level;

/// `text` with the `auth` value and its token (without the scheme, `Bearer`)
/// overwritten with `*`, also where JSON escaped their `/` as `\/`: a server could
/// echo them, and answers end up in messages and logs. Lengths are kept, so a
/// message's structure (and UTF-8 validity: the secret is ASCII) survives.
pub(crate) fn scrub(mut text: Vec<u8>, auth: Option<&Secret>) -> Vec<u8> {
    let Some(secret) = auth else {
        return text;
    };
    let token = secret.0.split_once(' ').map(|(_, token)| token.trim());
    for plain in [Some(secret.0.as_str()), token].into_iter().flatten() {
        for needle in [plain.to_string(), plain.replace('/', "\\/")] {
            blank_out(&mut text, needle.as_bytes());
        }
    }
    text
}

/// Overwrites every occurrence of `needle` in `text` with `*`.
fn blank_out(text: &mut [u8], needle: &[u8]) {
    if needle.is_empty() {
        return;
    }
    let mut i = 0;
    while i + needle.len() <= text.len() {
        if &text[i..i + needle.len()] == needle {
            text[i..i + needle.len()].fill(b'*');
            i += needle.len();
        } else {
            i += 1;
        }
    }
}

/// The error text for a log line at `level`: without quotes of server bodies below
/// `trace`, since a body may echo agent comments (personal data).
pub(crate) fn loggable(level: Level, error: &Error) -> &str {
    if level >= Level::Trace {
        error.message()
    } else {
        error.message_without_quote()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;

    #[test]
    fn echoed_secrets_are_blanked() {
        let auth = Secret("Bearer ab/c123".into());
        let body = br#"{"echo":"Bearer ab/c123","token":"ab\/c123","other":"ab/c12"}"#;
        let scrubbed = String::from_utf8(scrub(body.to_vec(), Some(&auth))).unwrap();
        let expected = r#"{"echo":"**************","token":"********","other":"ab/c12"}"#;
        assert_eq!(scrubbed, expected);
        assert_eq!(scrub(b"ab/c123".to_vec(), None), b"ab/c123");
    }

    #[test]
    fn logs_below_trace_leave_the_body_quote_out() {
        let err = Error::with_body_quote(Status::HttpStatus, "LCM answered HTTP 500", "'echo'");
        assert_eq!(loggable(Level::Debug, &err), "LCM answered HTTP 500");
        assert_eq!(loggable(Level::Trace, &err), err.message());
    }
}

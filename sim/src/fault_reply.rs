//! The replies of the faults that answer in LCM's place ([`Answer`] other than `Normal`,
//! `DropConnection` and `Hang`), among them the echoes of what a client must never log:
//! its `Authorization` header in several encodings, its agent comments, and control
//! characters.

use base64::Engine;
use hyper::header;
use hyper::http::request::Parts;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::answer::{Answer, AuthEcho, AuthPart, RejectedDetail, CONTROL_CHARS};
use crate::envelope;
use crate::faults::MALFORMED_BODY;
use crate::reply::{add_header, error, json, text, Reply};

/// Percent-encoded: all but the RFC 3986 unreserved characters.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// Percent-encoded in a `Location` path: also keeps the other token68 characters.
const NOT_TOKEN68: &AsciiSet = &NOT_UNRESERVED.remove(b'+').remove(b'/').remove(b'=');

/// The reply of a fault that answers something; `parts` and `body` are the request's.
/// `None` for the answers [`handle`](crate::service::handle) gives itself (`Normal`,
/// `DropConnection`, `Hang`).
pub(crate) fn fault_reply(answer: &Answer, parts: &Parts, body: &[u8]) -> Option<Reply> {
    let reply = match answer {
        Answer::Normal | Answer::DropConnection | Answer::Hang => return None,
        Answer::Status {
            status,
            retry_after,
            ..
        } => {
            let mut reply = error(*status, "injected fault");
            if let Some(value) = retry_after {
                add_header(&mut reply, header::RETRY_AFTER, &value.value());
            }
            reply
        }
        Answer::Redirect { location, status } => redirect(*status, location),
        Answer::Malformed => json(200, MALFORMED_BODY),
        Answer::Variant(variant) => {
            let callid = envelope::loose_callid(body);
            json(200, envelope::variant(*variant, &callid))
        }
        Answer::EchoAuth { form, part, status } => {
            let value = parts
                .headers
                .get(header::AUTHORIZATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            echo_auth(*form, *status, auth_part(&value, *part))
        }
        Answer::ControlCharsBody { status } => text(
            *status,
            format!("injected control characters: {CONTROL_CHARS}"),
        ),
        Answer::RejectedDetail(detail) => {
            let callid = envelope::loose_callid(body);
            let detail = match detail {
                RejectedDetail::ControlChars => CONTROL_CHARS.to_owned(),
                RejectedDetail::AgentComments => {
                    format!("AgentComments: {}", envelope::loose_comments(body))
                }
            };
            json(200, envelope::ws_error(&callid, &detail))
        }
    };
    Some(reply)
}

/// A redirect to `location`, left out when it cannot be a header value.
fn redirect(status: u16, location: &str) -> Reply {
    let mut reply = error(status, "injected redirect");
    add_header(&mut reply, header::LOCATION, location);
    reply
}

/// The part of an `Authorization` value that is echoed.
fn auth_part(value: &str, part: AuthPart) -> &str {
    match part {
        AuthPart::Value => value,
        AuthPart::Token => value
            .split_once(' ')
            .map_or(value, |(_, token)| token.trim_start()),
    }
}

/// The [`Answer::EchoAuth`] reply carrying `echo`.
fn echo_auth(form: AuthEcho, status: u16, echo: &str) -> Reply {
    const SAID: &str = "invalid credentials: ";
    match form {
        AuthEcho::Plain => text(status, format!("{SAID}{echo}")),
        AuthEcho::JsonEscaped => json(
            status,
            format!(r#"{{"error":"{SAID}{}"}}"#, json_escape_like_dotnet(echo)),
        ),
        AuthEcho::Percent => text(
            status,
            format!("{SAID}{}", utf8_percent_encode(echo, NOT_UNRESERVED)),
        ),
        AuthEcho::Base64 => text(
            status,
            format!(
                "{SAID}{}",
                base64::engine::general_purpose::STANDARD.encode(echo)
            ),
        ),
        AuthEcho::Location => {
            let path = utf8_percent_encode(echo, NOT_TOKEN68);
            redirect(status, &format!("/lcm/rejected/{path}"))
        }
    }
}

/// `s` as the inside of a JSON string, escaped as System.Text.Json's default encoder
/// does (HTML-sensitive characters, `+`, `` ` ``, controls and non-ASCII as `\uXXXX`,
/// UTF-16 surrogate pairs beyond the BMP), with at least one `\u` escape: when nothing
/// needs one, the last character gets it, so the raw text never appears.
fn json_escape_like_dotnet(s: &str) -> String {
    let escaped_by_dotnet =
        |c: char| !c.is_ascii() || c.is_ascii_control() || "\"&'+<>`".contains(c);
    let forced = if s.chars().any(escaped_by_dotnet) {
        None
    } else {
        s.char_indices().last().map(|(i, _)| i)
    };
    let mut out = String::with_capacity(s.len() + 12);
    for (i, c) in s.char_indices() {
        if c == '\\' && forced != Some(i) {
            out.push_str("\\\\");
        } else if escaped_by_dotnet(c) || forced == Some(i) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotnet_escaping_hides_the_raw_text_and_decodes_back() {
        for (raw, want) in [
            ("Bearer abc+def", "Bearer abc\\u002Bdef"),
            ("tok", "to\\u006B"),
            ("a\"b\\c<", "a\\u0022b\\\\c\\u003C"),
            ("é😀\n", "\\u00E9\\uD83D\\uDE00\\u000A"),
            ("", ""),
        ] {
            let escaped = json_escape_like_dotnet(raw);
            assert_eq!(escaped, want, "{raw:?}");
            let back: String = serde_json::from_str(&format!("\"{escaped}\"")).unwrap();
            assert_eq!(back, raw);
        }
    }

    #[test]
    fn the_token_is_what_follows_the_scheme() {
        assert_eq!(auth_part("Bearer  abc", AuthPart::Token), "abc");
        assert_eq!(auth_part("abc", AuthPart::Token), "abc");
        assert_eq!(auth_part("Basic eA==", AuthPart::Value), "Basic eA==");
    }
}

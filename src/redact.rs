//! What may a message or a log line show of what a server sent? Secrets never: the
//! `auth` value, its token and the proxy's password are blanked out of any server text
//! before it is quoted or cut, in every form a server may echo them in (as sent,
//! JSON-escaped, percent-encoded, base64). Personal data (agent comments a server may
//! echo) only at `trace`: below it, the call's comments are blanked too, and log lines
//! leave out the quote of the server's body (docs/design.md §5).

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use memchr::memmem;

use crate::error::Error;
use crate::log::Level;

/// Agent comments shorter than this are not blanked: "OK" or "yes" would blank
/// every such word of a server's text and protect nobody.
const MIN_PERSONAL_BYTES: usize = 8;

/// Base64 forms shorter than this are not searched: they would match by chance.
const MIN_BASE64_CHARS: usize = 4;

/// What one call must keep out of the texts it produces.
pub(crate) struct Redactor {
    /// Never shown: the `auth` value, its token, the proxy's credentials.
    secrets: Vec<Needle>,
    /// Shown only at `trace`: the call's agent comments (empty at `trace`).
    personal: Vec<Needle>,
}

/// One value to blank, with the base64 forms it could be echoed in.
struct Needle {
    plain: Vec<u8>,
    base64: Vec<String>,
}

impl Needle {
    fn new(value: &str) -> Needle {
        Needle {
            plain: value.as_bytes().to_vec(),
            base64: base64_cores(value.as_bytes()),
        }
    }
}

impl Redactor {
    /// A redactor for `secrets` (empty ones are ignored) and, below `trace`, for the
    /// call's `comments`.
    pub(crate) fn new<'a>(
        secrets: impl IntoIterator<Item = &'a str>,
        comments: &str,
        level: Level,
    ) -> Redactor {
        let secrets = secrets
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(Needle::new)
            .collect();
        let personal = if level < Level::Trace && comments.len() >= MIN_PERSONAL_BYTES {
            vec![Needle::new(comments)]
        } else {
            Vec::new()
        };
        Redactor { secrets, personal }
    }

    /// Whether there is anything to blank at all (the common case has nothing).
    fn is_empty(&self) -> bool {
        self.secrets.is_empty() && self.personal.is_empty()
    }

    /// `text` with every form of every secret (and, below `trace`, of the comments)
    /// overwritten with `*`. Lengths are kept, so a message's structure survives, and
    /// the result stays valid UTF-8 when `text` was: whole characters are replaced.
    pub(crate) fn scrub(&self, mut text: Vec<u8>) -> Vec<u8> {
        if self.is_empty() || text.is_empty() {
            return text;
        }
        let decoded = Decoded::of(&text);
        let mut blank = Vec::new();
        for needle in self.secrets.iter().chain(&self.personal) {
            for at in memmem::find_iter(&decoded.bytes, &needle.plain) {
                blank.push(decoded.source_range(at, needle.plain.len()));
            }
            for form in &needle.base64 {
                for at in memmem::find_iter(&text, form.as_bytes()) {
                    blank.push((at, at + form.len()));
                }
            }
        }
        for (from, to) in blank {
            text[from..to].fill(b'*');
        }
        text
    }

    /// [`Redactor::scrub`] for text.
    pub(crate) fn scrub_str(&self, text: &str) -> String {
        let scrubbed = self.scrub(text.as_bytes().to_vec());
        String::from_utf8(scrubbed).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }
}

/// A text with JSON string escapes (`\u002B`, `\/`, ...) and percent-encodings
/// (`%2B`) decoded, and for each decoded byte the source bytes it came from: a secret
/// is searched in the decoded bytes and blanked in the source.
struct Decoded {
    bytes: Vec<u8>,
    /// `spans[i]` is the source range of decoded byte `i`.
    spans: Vec<(usize, usize)>,
}

impl Decoded {
    fn of(text: &[u8]) -> Decoded {
        let mut decoded = Decoded {
            bytes: Vec::with_capacity(text.len()),
            spans: Vec::with_capacity(text.len()),
        };
        let mut i = 0;
        while i < text.len() {
            let (bytes, len) = decode_at(text, i);
            for b in bytes.as_slice() {
                decoded.bytes.push(*b);
                decoded.spans.push((i, i + len));
            }
            i += len;
        }
        decoded
    }

    /// The source range of the decoded bytes `at..at + len`.
    fn source_range(&self, at: usize, len: usize) -> (usize, usize) {
        (self.spans[at].0, self.spans[at + len - 1].1)
    }
}

/// Up to four decoded bytes (one character's UTF-8).
struct Bytes {
    buf: [u8; 4],
    len: usize,
}

impl Bytes {
    fn one(b: u8) -> Bytes {
        Bytes {
            buf: [b, 0, 0, 0],
            len: 1,
        }
    }

    fn char(c: char) -> Bytes {
        let mut buf = [0; 4];
        let len = c.encode_utf8(&mut buf).len();
        Bytes { buf, len }
    }

    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The bytes the escape (or plain byte) at `text[i]` stands for, and its length.
fn decode_at(text: &[u8], i: usize) -> (Bytes, usize) {
    let hex = |from: usize, n: usize| -> Option<u32> {
        let digits = text.get(from..from + n)?;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    match text[i] {
        b'%' => match hex(i + 1, 2) {
            Some(b) => (Bytes::one(b as u8), 3),
            None => (Bytes::one(b'%'), 1),
        },
        b'\\' => match text.get(i + 1) {
            Some(b'u') => decode_unicode_escape(text, i, hex),
            Some(&c @ (b'"' | b'\\' | b'/')) => (Bytes::one(c), 2),
            Some(b'b') => (Bytes::one(8), 2),
            Some(b'f') => (Bytes::one(12), 2),
            Some(b'n') => (Bytes::one(b'\n'), 2),
            Some(b'r') => (Bytes::one(b'\r'), 2),
            Some(b't') => (Bytes::one(b'\t'), 2),
            _ => (Bytes::one(b'\\'), 1),
        },
        b => (Bytes::one(b), 1),
    }
}

/// `\uXXXX`, or a surrogate pair `\uD83D\uDE00`, at `text[i]`.
fn decode_unicode_escape(
    text: &[u8],
    i: usize,
    hex: impl Fn(usize, usize) -> Option<u32>,
) -> (Bytes, usize) {
    let Some(unit) = hex(i + 2, 4) else {
        return (Bytes::one(b'\\'), 1);
    };
    if (0xD800..0xDC00).contains(&unit) && text.get(i + 6..i + 8) == Some(b"\\u") {
        if let Some(low @ 0xDC00..=0xDFFF) = hex(i + 8, 4) {
            let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            if let Some(c) = char::from_u32(c) {
                return (Bytes::char(c), 12);
            }
        }
    }
    match char::from_u32(unit) {
        Some(c) => (Bytes::char(c), 6),
        None => (Bytes::one(b'\\'), 1),
    }
}

/// The base64 text that `value` shows as wherever it sits in a longer encoded value
/// (at each of the three byte alignments, in the standard and URL-safe alphabets),
/// without the characters it shares with its neighbours.
fn base64_cores(value: &[u8]) -> Vec<String> {
    let mut cores = Vec::new();
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        for shift in 0..3usize {
            let mut input = vec![0u8; shift];
            input.extend_from_slice(value);
            let encoded = engine.encode(&input);
            // Characters that mix the neighbours' bits with the value's: the first
            // ones (after the shift) and the last one of an incomplete group.
            let skip = [0, 2, 3][shift];
            let drop = usize::from((shift + value.len()) % 3 != 0);
            if encoded.len() >= skip + drop + MIN_BASE64_CHARS {
                let core = encoded[skip..encoded.len() - drop].to_string();
                if !cores.contains(&core) {
                    cores.push(core);
                }
            }
        }
    }
    cores
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

    fn scrubbed(redactor: &Redactor, text: &str) -> String {
        String::from_utf8(redactor.scrub(text.as_bytes().to_vec())).unwrap()
    }

    #[test]
    fn every_form_of_a_secret_is_blanked() {
        let auth = "Bearer ab/c+123=x";
        let token = "ab/c+123=x";
        let r = Redactor::new([auth, token], "", Level::Debug);
        let b64 = STANDARD_NO_PAD.encode(format!("user:{token}"));
        let rows = [
            (
                r#"{"echo":"Bearer ab/c+123=x"}"#,
                r#"{"echo":"*****************"}"#,
            ),
            (r#"{"t":"ab\/c+123=x"}"#, r#"{"t":"***********"}"#),
            (r#"{"t":"ab/c\u002B123=x"}"#, r#"{"t":"***************"}"#),
            (
                r#"{"t":"ab/c\u002b123\u003Dx"}"#,
                r#"{"t":"********************"}"#,
            ),
            ("/path/ab%2Fc%2B123%3dx/more", "/path/****************/more"),
            ("ab/c+12", "ab/c+12"),
        ];
        for (text, expected) in rows {
            assert_eq!(scrubbed(&r, text), expected, "{text}");
        }
        let echoed = scrubbed(&r, &format!("Basic {b64}"));
        assert!(!echoed.contains(&b64[6..b64.len() - 1]), "{echoed} / {b64}");
        let none = Redactor::new([], "", Level::Debug);
        assert_eq!(scrubbed(&none, "ab/c123"), "ab/c123");
    }

    #[test]
    fn comments_are_blanked_below_trace_only() {
        let comments = "Customer José asked to call back Tuesday";
        let body = r#"{"detail":"Customer Jos\u00e9 asked to call back Tuesday"}"#;
        let debug = Redactor::new([], comments, Level::Debug);
        assert!(!scrubbed(&debug, body).contains("call back"));
        let trace = Redactor::new([], comments, Level::Trace);
        assert_eq!(scrubbed(&trace, body), body);
        let short = Redactor::new([], "OK", Level::Debug);
        assert_eq!(scrubbed(&short, "OK then"), "OK then");
    }

    #[test]
    fn blanking_keeps_utf8_and_surrogate_pairs_decode() {
        let r = Redactor::new(["s3cr😀t"], "", Level::Debug);
        let out = scrubbed(&r, r#"x s3cr\uD83D\uDE00t é s3cr😀t"#);
        assert!(!out.contains("s3cr"), "{out}");
        assert!(out.contains('é'));
    }

    #[test]
    fn logs_below_trace_leave_the_body_quote_out() {
        let err = Error::with_body_quote(Status::HttpStatus, "LCM answered HTTP 500", "'echo'");
        assert_eq!(loggable(Level::Debug, &err), "LCM answered HTTP 500");
        assert_eq!(loggable(Level::Trace, &err), err.message());
    }
}

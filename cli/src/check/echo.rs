//! Does what the server sent hold the Authorization value? Then `check` shows none of
//! it. A server may echo the value as sent, JSON-escaped (as .NET escapes `+` to
//! `\u002B`), percent-encoded or in base64; each form is looked for, the value whole
//! and its token (what follows the scheme) alone.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;

/// The secrets to look for in what a server sent: the `Authorization` value and its
/// token.
pub struct Secrets(Vec<Vec<u8>>);

impl Secrets {
    pub fn of(auth: Option<&str>) -> Secrets {
        let Some(auth) = auth.filter(|a| !a.is_empty()) else {
            return Secrets(Vec::new());
        };
        let token = auth.split_once(' ').map(|(_, t)| t.trim());
        let found = std::iter::once(auth).chain(token.filter(|t| !t.is_empty()));
        Secrets(found.map(|s| s.as_bytes().to_vec()).collect())
    }

    /// Whether `text` holds a secret in any of the forms a server echoes one in.
    pub fn echoed_in(&self, text: &[u8]) -> bool {
        if self.0.is_empty() {
            return false;
        }
        let decoded = [
            text.to_vec(),
            percent_decoded(text),
            json_unescaped(text),
            json_unescaped(&percent_decoded(text)),
        ];
        self.0.iter().any(|secret| {
            decoded.iter().any(|d| contains(d, secret))
                || base64_cores(secret).iter().any(|core| contains(text, core))
        })
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// `%XX` sequences decoded; anything else as it is.
fn percent_decoded(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let hex = text
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (text[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// JSON string escapes decoded (`\uXXXX`, surrogate pairs included, and `\"`, `\\`,
/// `\/`); anything else as it is.
fn json_unescaped(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] != b'\\' || i + 1 == text.len() {
            out.push(text[i]);
            i += 1;
            continue;
        }
        let unit = |at: usize| {
            let hex = std::str::from_utf8(text.get(at..at + 4)?).ok()?;
            u32::from_str_radix(hex, 16).ok()
        };
        match (text[i + 1], unit(i + 2)) {
            (b'u', Some(high @ 0xD800..=0xDBFF)) => {
                let low = (text.get(i + 6..i + 8) == Some(b"\\u"))
                    .then(|| unit(i + 8))
                    .flatten()
                    .filter(|low| (0xDC00..=0xDFFF).contains(low));
                let (code, used) = match low {
                    Some(low) => (0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), 12),
                    None => (0xFFFD, 6),
                };
                push_char(&mut out, code);
                i += used;
            }
            (b'u', Some(code)) => {
                push_char(&mut out, code);
                i += 6;
            }
            (escaped @ (b'"' | b'\\' | b'/'), _) => {
                out.push(escaped);
                i += 2;
            }
            _ => {
                out.push(b'\\');
                i += 1;
            }
        }
    }
    out
}

fn push_char(out: &mut Vec<u8>, code: u32) {
    let c = char::from_u32(code).unwrap_or('\u{FFFD}');
    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
}

/// The base64 characters that `secret` yields wherever it starts in the encoded data
/// (three alignments), without the characters it shares with its neighbours; in the
/// standard and the URL-safe alphabet.
fn base64_cores(secret: &[u8]) -> Vec<Vec<u8>> {
    let mut cores = Vec::new();
    for shift in 0..3 {
        let mut data = vec![0u8; shift];
        data.extend_from_slice(secret);
        let encoded = STANDARD_NO_PAD.encode(&data).into_bytes();
        // Characters that hold bits of the padding before, or of what follows.
        let first = (shift * 8).div_ceil(6);
        let last = (data.len() * 8) / 6;
        if last > first + 1 {
            let core = encoded[first..last].to_vec();
            let url_safe = core
                .iter()
                .map(|&b| match b {
                    b'+' => b'-',
                    b'/' => b'_',
                    b => b,
                })
                .collect();
            cores.push(core);
            cores.push(url_safe);
        }
    }
    cores
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};

    const AUTH: &str = "Bearer s3cr3t+t0ken/=";

    fn echoed(text: &str) -> bool {
        Secrets::of(Some(AUTH)).echoed_in(text.as_bytes())
    }

    #[test]
    fn every_form_of_the_value_and_of_its_token_is_found() {
        let token = "s3cr3t+t0ken/=";
        for secret in [AUTH, token] {
            assert!(echoed(&format!("got {secret}.")), "{secret}");
            let json = serde_json::to_string(secret).unwrap();
            assert!(echoed(&json), "{json}");
            let dotnet = secret.replace('+', "\\u002B").replace('/', "\\/");
            assert!(echoed(&format!("{{\"auth\":\"{dotnet}\"}}")), "{dotnet}");
            let percent: String = secret.bytes().map(|b| format!("%{b:02X}")).collect();
            assert!(echoed(&format!("/rejected/{percent}")), "{percent}");
            for prefix in ["", "x", "xy", "xyz"] {
                let data = format!("{prefix}{secret} and more");
                for b64 in [STANDARD.encode(&data), URL_SAFE.encode(&data)] {
                    assert!(echoed(&b64), "{b64}");
                }
            }
        }
    }

    #[test]
    fn other_text_and_no_auth_are_not_echoes() {
        assert!(!echoed(r#"{"error":"path: lcm-sim serves /lcm"}"#));
        assert!(!echoed("Bearer s3cr3t"));
        assert!(!Secrets::of(None).echoed_in(AUTH.as_bytes()));
        assert!(!Secrets::of(Some("")).echoed_in(b""));
    }

    #[test]
    fn escapes_decode_as_json_and_urls_do() {
        assert_eq!(
            json_unescaped(br#"a\u002Bb\"\\\/\ud83d\ude00\n"#),
            "a+b\"\\/😀\\n".as_bytes()
        );
        assert_eq!(percent_decoded(b"a%2Bb%2fc%zz%4"), b"a+b/c%zz%4");
    }
}

//! One error type for the whole library, and its mapping onto the C status codes.
//!
//! Every failure the library can report is an [`Error`]: a [`Status`] (the code the
//! C caller branches on) plus a message (the text it logs or shows). The message is
//! bounded by [`MAX_MESSAGE_BYTES`] so that an error buffer of `LCM_ERROR_SIZE`
//! bytes never truncates it.

use std::ffi::CStr;
use std::fmt;

use crate::text::{floor_char_boundary, one_line, truncate_at_char_boundary};

/// Longest error message, in bytes, not counting the terminating NUL.
///
/// `LCM_ERROR_SIZE` in the header is this plus one; the two must move together.
pub const MAX_MESSAGE_BYTES: usize = 511;

/// Defines [`Status`] from one table: each row is the variant, its C value, its C
/// macro name and its meaning for the caller. The FFI constants, `lcm_status_name`
/// and the header are tied to this table (`src/ffi/mod.rs`), never written apart.
macro_rules! status_table {
    ($($variant:ident = $value:literal, $name:literal, $meaning:literal;)*) => {
        /// The outcome class of a call, with the values fixed by the C API
        /// (docs/design.md §3).
        ///
        /// Values are never renumbered; new ones are only appended.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum Status {
            $(#[doc = $meaning] $variant = $value,)*
        }

        impl Status {
            /// Every status, in value order.
            pub const ALL: &'static [Status] = &[$(Status::$variant,)*];

            /// The C macro name of the status, e.g. `"LCM_ERR_TIMEOUT"`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Status::$variant => $name,)*
                }
            }

            /// The name as a C string, for `lcm_status_name`.
            pub const fn c_name(self) -> &'static CStr {
                match self {
                    $(Status::$variant => match CStr::from_bytes_with_nul(
                        concat!($name, "\0").as_bytes(),
                    ) {
                        Ok(name) => name,
                        Err(_) => panic!("a status name contains a NUL"),
                    },)*
                }
            }

            /// What the status means for the caller, in one sentence.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(Status::$variant => $meaning,)*
                }
            }
        }
    };
}

status_table! {
    Ok = 0, "LCM_OK",
        "LCM confirmed the outcome (`success: true`).";
    InvalidArgument = 1, "LCM_ERR_INVALID_ARGUMENT",
        "A NULL, empty-where-mandatory, non-UTF-8, too long or non-finite argument; nothing was sent.";
    Config = 2, "LCM_ERR_CONFIG",
        "No or bad endpoint, unknown option, bad option value; nothing was sent.";
    Connect = 3, "LCM_ERR_CONNECT",
        "DNS, connect, TLS or proxy failure: the request was not delivered; safe to retry.";
    Timeout = 4, "LCM_ERR_TIMEOUT",
        "No complete answer in time: the outcome may or may not be recorded.";
    HttpStatus = 5, "LCM_ERR_HTTP_STATUS",
        "The server answered a non-2xx HTTP status.";
    BadResponse = 6, "LCM_ERR_BAD_RESPONSE",
        "A 2xx answer that is not a valid result envelope for this call.";
    Rejected = 7, "LCM_ERR_REJECTED",
        "LCM answered `success: false` (e.g. WS_Error \"Invalid Call ID.\").";
    Internal = 8, "LCM_ERR_INTERNAL",
        "A bug inside the library (a caught panic); never caused by a server or the network.";
    Queued = 9, "LCM_QUEUED",
        "Not confirmed now, but stored durably in the outbox and delivered later; only with `outbox` set.";
}

impl Status {
    /// The status's value as it crosses the C boundary.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The status for a C value, if there is one.
    pub fn from_code(code: i32) -> Option<Status> {
        Status::ALL.iter().copied().find(|s| s.code() == code)
    }
}

/// A failed call: what kind of failure, and a readable explanation of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
    /// How much of `message` comes before a quote of the server's body. Logs below
    /// `trace` show only this part: a body may echo the request's agent comments.
    unquoted_len: usize,
    /// The HTTP status LCM answered, for `LCM_ERR_HTTP_STATUS`.
    http_status: Option<u16>,
}

impl Error {
    /// An error of the given status. The message is cut to [`MAX_MESSAGE_BYTES`] at a
    /// character boundary; control characters (a server's NUL included) are escaped so
    /// that the text survives a trip through a C string and stays one line.
    ///
    /// # Panics
    /// In debug builds, when `status` is [`Status::Ok`]: success is not an error.
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        debug_assert!(status != Status::Ok, "Status::Ok is not an error");
        Error::from_parts(status, sanitized(&message.into()), "")
    }

    /// An error whose message ends with `; body: <quote>`, a quote of what the server
    /// sent (see [`Error::message_without_quote`]).
    pub(crate) fn with_body_quote(status: Status, message: &str, quote: &str) -> Error {
        Error::from_parts(
            status,
            sanitized(message),
            &format!("; body: {}", sanitized(quote)),
        )
    }

    /// The same error with `; why` added to the part that logs may show, before any
    /// quote of the server's body, which stays last and out of logs below `trace`.
    pub(crate) fn with_note(self, why: &str) -> Error {
        let (unquoted, quote) = self.message.split_at(self.unquoted_len);
        let unquoted = format!("{unquoted}; {}", sanitized(why));
        Error {
            http_status: self.http_status,
            ..Error::from_parts(self.status, unquoted, quote)
        }
    }

    /// The same error naming the call it belongs to, ` (call ID)` at the end of the
    /// part logs show (the id cut short, on one line), before any body quote.
    pub(crate) fn for_call(self, call_id: &str) -> Error {
        let (unquoted, quote) = self.message.split_at(self.unquoted_len);
        let unquoted = format!(
            "{unquoted} (call {})",
            sanitized(&crate::text::short(call_id))
        );
        Error {
            http_status: self.http_status,
            ..Error::from_parts(self.status, unquoted, quote)
        }
    }

    /// `unquoted` followed by `quote`, cut to [`MAX_MESSAGE_BYTES`], remembering
    /// where the quote starts.
    fn from_parts(status: Status, unquoted: String, quote: &str) -> Error {
        let mut message = unquoted;
        let unquoted_len = floor_char_boundary(&message, MAX_MESSAGE_BYTES);
        message.push_str(quote);
        truncate_at_char_boundary(&mut message, MAX_MESSAGE_BYTES);
        Error {
            status,
            message,
            unquoted_len,
            http_status: None,
        }
    }

    /// The same error, remembering the HTTP status LCM answered.
    pub(crate) fn with_http_status(mut self, code: u16) -> Error {
        self.http_status = Some(code);
        self
    }

    /// The same error with its text passed through `edit`, which must keep the text's
    /// length (it blanks secrets out), so that the quote boundary stays where it was.
    pub(crate) fn map_text(self, edit: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Error {
        let edited = edit(self.message.into_bytes());
        let mut message = String::from_utf8(edited)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        truncate_at_char_boundary(&mut message, MAX_MESSAGE_BYTES);
        let unquoted_len = floor_char_boundary(&message, self.unquoted_len);
        Error {
            status: self.status,
            message,
            unquoted_len,
            http_status: self.http_status,
        }
    }

    /// Shorthand for [`Status::InvalidArgument`].
    pub fn invalid_argument(message: impl Into<String>) -> Error {
        Error::new(Status::InvalidArgument, message)
    }

    /// Shorthand for [`Status::Config`].
    pub fn config(message: impl Into<String>) -> Error {
        Error::new(Status::Config, message)
    }

    /// The status the C caller receives.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The HTTP status LCM answered, when the status is [`Status::HttpStatus`].
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// The readable explanation, at most [`MAX_MESSAGE_BYTES`] bytes.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message without its quote of the server's body, for logs below `trace`.
    pub fn message_without_quote(&self) -> &str {
        &self.message[..self.unquoted_len]
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// `text` on one line, control characters (a server's NUL included) escaped, so that
/// it survives a trip through a C string and a log line.
fn sanitized(text: &str) -> String {
    one_line(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_contract_values() {
        for (value, &status) in Status::ALL.iter().enumerate() {
            assert_eq!(status.code(), value as i32);
            assert_eq!(Status::from_code(value as i32), Some(status));
        }
        assert_eq!(Status::from_code(Status::ALL.len() as i32), None);
        assert_eq!(Status::from_code(-1), None);
    }

    #[test]
    fn long_message_is_cut_at_a_char_boundary() {
        let text = "é".repeat(400); // 800 bytes, 2 bytes a character
        let err = Error::new(Status::BadResponse, text);
        assert!(err.message().len() <= MAX_MESSAGE_BYTES);
        assert_eq!(err.message().len() % 2, 0);
    }

    #[test]
    fn body_quotes_can_be_left_out() {
        let err = Error::with_body_quote(Status::HttpStatus, "LCM answered HTTP 500", "'secret'");
        assert_eq!(err.message(), "LCM answered HTTP 500; body: 'secret'");
        assert_eq!(err.message_without_quote(), "LCM answered HTTP 500");
    }

    #[test]
    fn a_note_goes_before_the_quote_and_stays_loggable() {
        let err = Error::with_body_quote(Status::HttpStatus, "LCM answered HTTP 503", "'echo'")
            .with_note("no time left for a retry");
        assert_eq!(
            err.message(),
            "LCM answered HTTP 503; no time left for a retry; body: 'echo'"
        );
        assert_eq!(
            err.message_without_quote(),
            "LCM answered HTTP 503; no time left for a retry"
        );
        let plain = Error::new(Status::Connect, "refused").with_note("no time left");
        assert_eq!(plain.message_without_quote(), "refused; no time left");
    }

    #[test]
    fn control_characters_are_escaped() {
        let err = Error::new(Status::BadResponse, "a\0b\nc");
        assert_eq!(err.message(), "a\\x00b\\nc");
    }
}

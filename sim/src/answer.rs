//! What lcm-sim answers to a request: LCM's own answer, or exactly one fault in its place
//! ([`Answer`]), with the names the command line gives each choice.

use std::fmt;
use std::str::FromStr;

/// What is answered to each request ([`Faults::answer`](crate::Faults::answer)): LCM's
/// own answer, or one fault instead of it. Being one value, two answers can never be
/// asked for at once. Every fault applies to any request, valid or not, and its outcome
/// is not recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Answer {
    /// Validate the request and answer as LCM would (recording an accepted outcome).
    #[default]
    Normal,
    /// Read the request, then close the TCP connection without sending a single byte.
    /// (`--drop-connection`)
    DropConnection,
    /// Read the request, then never answer: the connection stays open, silent, until the
    /// client closes it or the simulator stops. (`--hang`)
    Hang,
    /// Answer `status` with the body `{"error":"injected fault"}`. (`--fail-status`)
    Status {
        /// Any final status, 200..=599: e.g. 500, 502, 503, 429, 401, or 302 (without
        /// `Location`; see [`Answer::Redirect`]).
        status: u16,
        /// How many requests get it; after that, [`Answer::Normal`] resumes (and reads
        /// back from [`Sim::faults`](crate::Sim::faults)). `0`: every request.
        /// (`--fail-count`)
        count: u32,
        /// A `Retry-After` header to add, if any. (`--retry-after-secs`, `--retry-after`)
        retry_after: Option<RetryAfter>,
    },
    /// Answer `status` with `Location: <location>` and the body
    /// `{"error":"injected redirect"}`. A location that cannot be a header value is left
    /// out. (`--redirect-to`, `--redirect-status`)
    Redirect {
        /// The `Location` header's value.
        location: String,
        /// 301, 302, 303, 307 or 308: any status in 300..=399.
        status: u16,
    },
    /// Answer HTTP 200 with a body that is not JSON. (`--malformed`)
    Malformed,
    /// Answer HTTP 200 with a result envelope that is valid except for one thing.
    /// (`--answer-variant`)
    Variant(AnswerVariant),
}

impl Answer {
    /// `status` for every request, without `Retry-After`.
    pub fn fail(status: u16) -> Answer {
        Answer::Status {
            status,
            count: 0,
            retry_after: None,
        }
    }

    /// `status` for the next `count` requests, without `Retry-After`.
    pub fn fail_times(status: u16, count: u32) -> Answer {
        Answer::Status {
            status,
            count,
            retry_after: None,
        }
    }

    /// The variant's name and the command-line flag that selects it, for messages.
    pub(crate) fn describe(&self) -> (&'static str, &'static str) {
        match self {
            Answer::Normal => ("Normal", "no answer flag"),
            Answer::DropConnection => ("DropConnection", "--drop-connection"),
            Answer::Hang => ("Hang", "--hang"),
            Answer::Status { .. } => ("Status", "--fail-status"),
            Answer::Redirect { .. } => ("Redirect", "--redirect-to"),
            Answer::Malformed => ("Malformed", "--malformed"),
            Answer::Variant(_) => ("Variant", "--answer-variant"),
        }
    }

    /// Whether any bytes are answered at all.
    pub(crate) fn is_silent(&self) -> bool {
        matches!(self, Answer::DropConnection | Answer::Hang)
    }
}

/// The `Retry-After` header of an [`Answer::Status`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: N` (seconds). (`--retry-after-secs`)
    Secs(u64),
    /// `Retry-After` with exactly this value: an HTTP date such as
    /// `Wed, 21 Oct 2015 07:28:00 GMT`, or something invalid. A value that cannot be a
    /// header value (a control character) is left out. (`--retry-after`)
    Raw(String),
}

impl RetryAfter {
    /// The header's value.
    pub(crate) fn value(&self) -> String {
        match self {
            RetryAfter::Secs(secs) => secs.to_string(),
            RetryAfter::Raw(raw) => raw.clone(),
        }
    }
}

/// A 200 answer that is a valid result envelope except for one thing (for
/// [`Answer::Variant`]). The request's call id is echoed except with `OtherCallId`; an
/// unreadable request echoes `""`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnswerVariant {
    /// `subtopic` is `"SetCallOutcomeResult"`, not `"SetCallOutcomeWithCommentsResult"`.
    WrongSubtopic,
    /// `message.callid` is another call id: the request's with `"-other"` appended.
    OtherCallId,
    /// `message.response` is `{}`: no `success`.
    SuccessMissing,
    /// `success` is the string `"true"`, not a boolean.
    SuccessNotBoolean,
    /// `success: false` with the vendor's `WS_Error` object (type `WS_Error`, message
    /// `"Invalid Call ID."`, detail `"Invalid Call ID:<callid>"`).
    Rejected,
    /// `success: false` and no `error` object.
    RejectedWithoutError,
}

impl AnswerVariant {
    /// Every variant, in declaration order.
    pub const ALL: [AnswerVariant; 6] = [
        AnswerVariant::WrongSubtopic,
        AnswerVariant::OtherCallId,
        AnswerVariant::SuccessMissing,
        AnswerVariant::SuccessNotBoolean,
        AnswerVariant::Rejected,
        AnswerVariant::RejectedWithoutError,
    ];

    /// The command-line name: `wrong-subtopic`, `other-callid`, `success-missing`,
    /// `success-not-boolean`, `rejected`, `rejected-without-error`.
    pub fn name(self) -> &'static str {
        match self {
            AnswerVariant::WrongSubtopic => "wrong-subtopic",
            AnswerVariant::OtherCallId => "other-callid",
            AnswerVariant::SuccessMissing => "success-missing",
            AnswerVariant::SuccessNotBoolean => "success-not-boolean",
            AnswerVariant::Rejected => "rejected",
            AnswerVariant::RejectedWithoutError => "rejected-without-error",
        }
    }
}

impl fmt::Display for AnswerVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AnswerVariant {
    type Err = String;

    /// Parses a [`AnswerVariant::name`].
    fn from_str(s: &str) -> Result<AnswerVariant, String> {
        AnswerVariant::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = AnswerVariant::ALL.iter().map(|v| v.name()).collect();
                format!("expected one of {}, got {s:?}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_names_round_trip() {
        for v in AnswerVariant::ALL {
            assert_eq!(v.name().parse::<AnswerVariant>(), Ok(v));
        }
        assert!("nope"
            .parse::<AnswerVariant>()
            .unwrap_err()
            .contains("rejected"));
    }
}

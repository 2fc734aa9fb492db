//! What lcm-sim answers to a request: LCM's own answer, or exactly one fault in its place
//! ([`Answer`]), with the names the command line gives each choice.

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
    /// Answer `status` echoing the request's `Authorization` header (`part` of it) in
    /// the body or, for [`AuthEcho::Location`], in a redirect's `Location`, as servers
    /// that quote the credentials they refuse do. (`--echo-auth`, `--echo-auth-part`,
    /// `--echo-auth-status`)
    EchoAuth {
        /// Where and in which encoding the echo goes.
        form: AuthEcho,
        /// The whole header value or its token.
        part: AuthPart,
        /// 200..=599; 300..=399 for [`AuthEcho::Location`].
        status: u16,
    },
    /// Answer `status` with a `text/plain; charset=utf-8` body that holds
    /// [`CONTROL_CHARS`] raw: `injected control characters: <CONTROL_CHARS>`.
    /// (`--control-chars-body`, `--control-chars-status`)
    ControlCharsBody {
        /// 200..=599.
        status: u16,
    },
    /// Answer HTTP 200 with a rejected result (`success:false` and a `WS_Error` object,
    /// message `"Invalid Call ID."`, the request's call id echoed) whose `error.detail`
    /// is the given text. (`--rejected-detail`)
    RejectedDetail(RejectedDetail),
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
            Answer::EchoAuth { .. } => ("EchoAuth", "--echo-auth"),
            Answer::ControlCharsBody { .. } => ("ControlCharsBody", "--control-chars-body"),
            Answer::RejectedDetail(_) => ("RejectedDetail", "--rejected-detail"),
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

named_enum! {
    /// A 200 answer that is a valid result envelope except for one thing (for
    /// [`Answer::Variant`]). The request's call id is echoed except with `OtherCallId`; an
    /// unreadable request echoes `""`.
    pub enum AnswerVariant {
        /// `subtopic` is `"SetCallOutcomeResult"`, not `"SetCallOutcomeWithCommentsResult"`.
        WrongSubtopic => "wrong-subtopic",
        /// `message.callid` is another call id: the request's with `"-other"` appended.
        OtherCallId => "other-callid",
        /// `message.response` is `{}`: no `success`.
        SuccessMissing => "success-missing",
        /// `success` is the string `"true"`, not a boolean.
        SuccessNotBoolean => "success-not-boolean",
        /// `success: false` with the vendor's `WS_Error` object (type `WS_Error`, message
        /// `"Invalid Call ID."`, detail `"Invalid Call ID:<callid>"`).
        Rejected => "rejected",
        /// `success: false` and no `error` object.
        RejectedWithoutError => "rejected-without-error",
    }
}

named_enum! {
    /// How [`Answer::EchoAuth`] echoes the request's `Authorization` header (its
    /// [`AuthPart`]): each is a form a real server has been seen to use, and each must be
    /// kept out of a client's error texts and logs. An absent header echoes `""`.
    pub enum AuthEcho {
        /// As is, in a `text/plain` body: `invalid credentials: <echo>`.
        Plain => "plain",
        /// In a JSON body `{"error":"invalid credentials: <echo>"}`, escaped as .NET's
        /// System.Text.Json writes it by default: `+ < > & ' " `` ` `` and every non-ASCII
        /// or control character as `\uXXXX` (e.g. `+` as `\u002B`); when the echo has none
        /// of those, its last character is `\u`-escaped anyway, so the raw text never
        /// appears in the body.
        JsonEscaped => "json-escaped",
        /// Percent-encoded (every byte but `A-Z a-z 0-9 - . _ ~`), in a `text/plain` body:
        /// `invalid credentials: <echo>`.
        Percent => "percent",
        /// Base64 (standard alphabet, padded), in a `text/plain` body:
        /// `invalid credentials: <echo>`.
        Base64 => "base64",
        /// A redirect (3xx) whose `Location` is `/lcm/rejected/<echo>`, the echo kept as is
        /// except that bytes other than `A-Z a-z 0-9 - . _ ~ + / =` are percent-encoded;
        /// body `{"error":"injected redirect"}`.
        Location => "location",
    }
}

named_enum! {
    /// Which part of the `Authorization` header [`Answer::EchoAuth`] echoes.
    pub enum AuthPart {
        /// The whole value, e.g. `Bearer abc+def`.
        Value => "value",
        /// The token without its scheme: what follows the first space (`abc+def`), or the
        /// whole value when it has no space.
        Token => "token",
    }
}

named_enum! {
    /// What the `error.detail` of an [`Answer::RejectedDetail`] answer holds.
    pub enum RejectedDetail {
        /// [`CONTROL_CHARS`](crate::CONTROL_CHARS), as a JSON string (so CR, LF, ESC and
        /// NUL arrive `\`-escaped, DEL and the C1 characters as raw UTF-8).
        ControlChars => "control-chars",
        /// `AgentComments: <the request's AgentComments>` (personal data a server
        /// echoes); `""` in place of the comments when the request has none readable.
        AgentComments => "agent-comments",
    }
}

/// The text with control characters that [`Answer::ControlCharsBody`] and
/// [`RejectedDetail::ControlChars`] send: CR, LF, ESC (starting a colour sequence), NUL,
/// BEL, TAB, DEL, and the C1 characters NEL (U+0085) and CSI (U+009B), each named before it.
pub const CONTROL_CHARS: &str =
    "cr:\r lf:\n esc:\x1b[31m nul:\0 bel:\x07 tab:\t del:\x7f nel:\u{85} csi:\u{9b}2J end";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for v in AnswerVariant::ALL {
            assert_eq!(v.name().parse::<AnswerVariant>(), Ok(v));
        }
        for v in AuthEcho::ALL {
            assert_eq!(v.name().parse::<AuthEcho>(), Ok(v));
        }
        for v in AuthPart::ALL {
            assert_eq!(v.name().parse::<AuthPart>(), Ok(v));
        }
        for v in RejectedDetail::ALL {
            assert_eq!(v.name().parse::<RejectedDetail>(), Ok(v));
        }
        assert!("nope"
            .parse::<AnswerVariant>()
            .unwrap_err()
            .contains("rejected"));
    }
}

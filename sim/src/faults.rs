//! Fault injection: what to do to the next request instead of (or besides) answering it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Faults to inject, set at start ([`SimConfig::faults`](crate::SimConfig)) and changeable
/// at runtime ([`Sim::set_faults`](crate::Sim::set_faults)). The default injects nothing.
///
/// Three kinds, which combine:
/// - **What is answered.** One request gets at most one of these, the first set in this
///   order: `drop_connection`, `hang`, `fail_status`, `redirect_to`, `malformed`,
///   `answer_variant`; otherwise the answer LCM would give. Each applies to any request,
///   valid or not, and the outcome is not recorded.
/// - **How the answer is delivered**, whatever it is: `latency_ms`, `pad_body_to` (a
///   success only), `trickle_headers_ms`, `trickle_body_ms`, `reset_after_body_bytes`.
///   A valid request is still recorded before its answer leaves, so a client that gives
///   up can check that the outcome arrived anyway.
/// - **What happens after it**: `close_idle_ms`.
///
/// The delivery faults and `close_idle_ms` work on the raw byte stream under HTTP (see
/// `sim/src/fault_io.rs`), on plain and TLS connections alike, kept-alive ones included.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Sleep this long before answering each request (after recording it, so a client
    /// that times out can check that the outcome was recorded anyway).
    pub latency_ms: u64,
    /// Answer with this HTTP status and the body `{"error":"injected fault"}`: any final
    /// status, e.g. 500, 502, 503, 429, 401, 302 (without `Location`; see `redirect_to`).
    /// Statuses outside 200..=999 are sent as 500 (1xx cannot be a final answer).
    pub fail_status: Option<u16>,
    /// How many requests get `fail_status`; after that, normal behaviour resumes (and
    /// `fail_status` reads back as `None`). `0` means every request.
    pub fail_count: u32,
    /// With `fail_status`: add `Retry-After: N` (seconds).
    pub retry_after_secs: Option<u64>,
    /// With `fail_status`: add `Retry-After` with exactly this value (an HTTP date such
    /// as `Wed, 21 Oct 2015 07:28:00 GMT`, or something invalid); wins over
    /// `retry_after_secs`. A value that cannot be a header (a control character) is left out.
    pub retry_after: Option<String>,
    /// Answer with `redirect_status` (default 302) and `Location: <this>`, body
    /// `{"error":"injected redirect"}`. A value that cannot be a header is left out.
    pub redirect_to: Option<String>,
    /// The status of a `redirect_to` answer: 301, 302, 303, 307 or 308; `None` is 302.
    /// Anything outside 300..=399 is sent as 302.
    pub redirect_status: Option<u16>,
    /// Answer HTTP 200 with a body that is not JSON.
    pub malformed: bool,
    /// Answer HTTP 200 with a result envelope that is valid except for one thing.
    pub answer_variant: Option<AnswerVariant>,
    /// Read the request, then close the TCP connection without sending a single byte.
    pub drop_connection: bool,
    /// Read the request, then never answer: the connection stays open, silent, until the
    /// client closes it or the simulator stops.
    pub hang: bool,
    /// Pad each successful answer with trailing spaces to this many bytes: still a valid
    /// result envelope, so only a client that caps what it reads refuses it.
    pub pad_body_to: Option<usize>,
    /// Send the status line and headers one byte at a time, this many milliseconds
    /// apart (the first byte at once); the body then follows at once (or trickles too,
    /// with `trickle_body_ms`). `Some(0)`: one byte per write, no pause.
    pub trickle_headers_ms: Option<u64>,
    /// Send the headers at once, then the body one byte at a time, this many
    /// milliseconds apart. `Some(0)`: one byte per write, no pause.
    pub trickle_body_ms: Option<u64>,
    /// Send the headers and this many bytes of the body (at most all but its last byte),
    /// then abort the connection with a TCP RST (`SO_LINGER` 0): the client's next read
    /// fails with "connection reset".
    pub reset_after_body_bytes: Option<usize>,
    /// After an answer is written (the connection kept alive, nothing announced), close
    /// the connection once it has been idle this many milliseconds; `Some(0)` closes it
    /// right after the answer. A request that arrives in time is served and restarts
    /// the wait. The client's next request then needs a new connection, which
    /// [`Sim::connection_count`](crate::Sim::connection_count) counts.
    pub close_idle_ms: Option<u64>,
}

/// A 200 answer that is a valid result envelope except for one thing (for
/// [`Faults::answer_variant`]). The request's call id is echoed except with
/// `OtherCallId`; an unreadable request echoes `""`.
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

/// What is answered to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Validate and answer as LCM would.
    Normal,
    /// Answer this status with `{"error":"injected fault"}`.
    Status {
        status: u16,
        retry_after: Option<String>,
    },
    /// Answer this 3xx status with a `Location`.
    Redirect { status: u16, location: String },
    /// Answer 200 with a body that is not JSON.
    Malformed,
    /// Answer 200 with a result envelope that is wrong in one way.
    Variant(AnswerVariant),
    /// Close the connection, answer nothing.
    Drop,
    /// Keep the connection open, answer nothing.
    Hang,
}

/// How the bytes of one answer go out, and what follows it; carried out by
/// [`FaultIo`](crate::fault_io::FaultIo).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Delivery {
    pub trickle_head: Option<Duration>,
    pub trickle_body: Option<Duration>,
    pub reset_after_body_bytes: Option<usize>,
    pub close_idle: Option<Duration>,
}

impl Delivery {
    /// Whether the answer goes out untouched (the fast path).
    pub(crate) fn is_plain(&self) -> bool {
        *self == Delivery::default()
    }
}

/// The plan for one request.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub latency: Duration,
    pub action: Action,
    /// Pad a successful answer to this many bytes.
    pub pad_body_to: Option<usize>,
    pub delivery: Delivery,
}

/// The body of a malformed answer: starts like a result envelope, then stops being JSON,
/// so that a parser that only peeks at the first bytes is caught too.
pub(crate) const MALFORMED_BODY: &str = r#"{"channel":"LCM", this is not json"#;

impl Faults {
    /// The plan for the next request; consumes one of `fail_count`.
    pub(crate) fn next_plan(&mut self) -> Plan {
        let action = if self.drop_connection {
            Action::Drop
        } else if self.hang {
            Action::Hang
        } else if let Some(status) = self.fail_status {
            self.consume_fail_count();
            let status = if (100..=999).contains(&status) {
                status
            } else {
                500
            };
            let retry_after = self
                .retry_after
                .clone()
                .or_else(|| self.retry_after_secs.map(|secs| secs.to_string()));
            Action::Status {
                status,
                retry_after,
            }
        } else if let Some(location) = &self.redirect_to {
            let status = self
                .redirect_status
                .filter(|s| (300..=399).contains(s))
                .unwrap_or(302);
            Action::Redirect {
                status,
                location: location.clone(),
            }
        } else if self.malformed {
            Action::Malformed
        } else if let Some(variant) = self.answer_variant {
            Action::Variant(variant)
        } else {
            Action::Normal
        };
        Plan {
            latency: Duration::from_millis(self.latency_ms),
            action,
            pad_body_to: self.pad_body_to,
            delivery: Delivery {
                trickle_head: self.trickle_headers_ms.map(Duration::from_millis),
                trickle_body: self.trickle_body_ms.map(Duration::from_millis),
                reset_after_body_bytes: self.reset_after_body_bytes,
                close_idle: self.close_idle_ms.map(Duration::from_millis),
            },
        }
    }

    fn consume_fail_count(&mut self) {
        if self.fail_count > 0 {
            self.fail_count -= 1;
            if self.fail_count == 0 {
                // Count used up: back to normal. Leaving fail_status set would turn the
                // 0 left into "every request".
                self.fail_status = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_count_runs_out() {
        let mut f = Faults {
            fail_status: Some(503),
            fail_count: 2,
            retry_after_secs: Some(3),
            ..Faults::default()
        };
        let failed = Action::Status {
            status: 503,
            retry_after: Some("3".to_owned()),
        };
        assert_eq!(f.next_plan().action, failed);
        assert_eq!(f.next_plan().action, failed);
        assert_eq!(f.next_plan().action, Action::Normal);
        assert_eq!(f.fail_status, None);
    }

    #[test]
    fn fail_count_zero_is_forever_and_a_raw_retry_after_wins() {
        let mut f = Faults {
            fail_status: Some(500),
            retry_after_secs: Some(3),
            retry_after: Some("Wed, 21 Oct 2015 07:28:00 GMT".to_owned()),
            ..Faults::default()
        };
        for _ in 0..5 {
            let failed = Action::Status {
                status: 500,
                retry_after: Some("Wed, 21 Oct 2015 07:28:00 GMT".to_owned()),
            };
            assert_eq!(f.next_plan().action, failed);
        }
        f.fail_status = Some(42);
        assert!(matches!(
            f.next_plan().action,
            Action::Status { status: 500, .. }
        ));
    }

    #[test]
    fn drop_wins_and_does_not_consume_the_count() {
        let mut f = Faults {
            drop_connection: true,
            hang: true,
            fail_status: Some(500),
            fail_count: 1,
            malformed: true,
            latency_ms: 5,
            ..Faults::default()
        };
        let plan = f.next_plan();
        assert_eq!(plan.action, Action::Drop);
        assert_eq!(plan.latency, Duration::from_millis(5));
        assert_eq!(f.fail_count, 1);
        f.drop_connection = false;
        assert_eq!(f.next_plan().action, Action::Hang);
        assert_eq!(f.fail_count, 1);
    }

    #[test]
    fn answers_are_chosen_in_the_documented_order() {
        let mut f = Faults {
            redirect_to: Some("http://127.0.0.1:1/x".to_owned()),
            redirect_status: Some(200),
            malformed: true,
            answer_variant: Some(AnswerVariant::Rejected),
            ..Faults::default()
        };
        let redirect = Action::Redirect {
            status: 302,
            location: "http://127.0.0.1:1/x".to_owned(),
        };
        assert_eq!(f.next_plan().action, redirect);
        f.redirect_to = None;
        assert_eq!(f.next_plan().action, Action::Malformed);
        f.malformed = false;
        assert_eq!(
            f.next_plan().action,
            Action::Variant(AnswerVariant::Rejected)
        );
    }

    #[test]
    fn delivery_faults_ride_along_with_any_answer() {
        let mut f = Faults {
            fail_status: Some(503),
            trickle_headers_ms: Some(0),
            close_idle_ms: Some(7),
            ..Faults::default()
        };
        let plan = f.next_plan();
        assert!(matches!(plan.action, Action::Status { status: 503, .. }));
        assert_eq!(plan.delivery.trickle_head, Some(Duration::ZERO));
        assert_eq!(plan.delivery.close_idle, Some(Duration::from_millis(7)));
        assert!(!plan.delivery.is_plain());
        assert!(Faults::default().next_plan().delivery.is_plain());
    }

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

//! Fault injection: what to do to the next request instead of (or besides) answering it,
//! and which combinations make sense ([`Faults::validate`]).

use std::error::Error;
use std::fmt;
use std::time::Duration;

use hyper::body::Bytes;

use crate::answer::{Answer, AuthEcho};

/// Faults to inject, set at start ([`SimConfig::faults`](crate::SimConfig)) and changeable
/// at runtime ([`Sim::set_faults`](crate::Sim::set_faults)). The default injects nothing.
///
/// Three kinds, which combine:
/// - **What is answered**: [`Faults::answer`], one [`Answer`] (LCM's own, or one fault
///   in its place).
/// - **How the answer is delivered**, whatever it is: `latency_ms`, `pad_body_to` (LCM's
///   success answer only), `bom`, `gzip`, `overlong_chunk_line`, `trickle_headers_ms`,
///   `trickle_body_ms`, `reset_after_body_bytes`. A valid request is still recorded
///   before its answer leaves, so a client that gives up can check that the outcome
///   arrived anyway. The body faults apply in that order: padding, then the BOM, then
///   gzip (of the padded body with its BOM), then the chunked encoding.
/// - **What happens after it**: `close_idle_ms`, with `close_delay_ms`.
///
/// The delivery faults and `close_idle_ms` work on the raw byte stream under HTTP (see
/// `sim/src/fault_io.rs`), on plain and TLS connections alike, kept-alive ones included.
/// Combinations where a fault would silently do nothing are refused by
/// [`Faults::validate`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// What is answered; [`Answer::Normal`] by default.
    pub answer: Answer,
    /// Sleep this long before answering each request (after recording it, so a client
    /// that times out can check that the outcome was recorded anyway); with
    /// [`Answer::DropConnection`], before closing.
    pub latency_ms: u64,
    /// Pad each successful answer with trailing spaces to this many bytes: still a valid
    /// result envelope, so only a client that caps what it reads refuses it. Only with
    /// [`Answer::Normal`].
    pub pad_body_to: Option<usize>,
    /// Put a UTF-8 byte-order mark (`EF BB BF`) before every answer's body, as .NET and
    /// IIS backends do; `Content-Length` counts it. (`--bom`)
    pub bom: bool,
    /// Compress every answer's body with gzip and send `Content-Encoding: gzip`, though
    /// the client asked for no encoding; the body really is the gzip of the answer (a
    /// valid result, for LCM's success answer). (`--gzip`)
    pub gzip: bool,
    /// Send every answer in the chunked encoding (no `Content-Length`), its body as one
    /// chunk whose chunk-size line is this long: a size padded with leading zeros or
    /// followed by a long chunk extension. A complete, well-formed message otherwise,
    /// so only a client that bounds the line refuses it. Written by the simulator itself,
    /// so no trickle or reset applies to it. (`--overlong-chunk-line`,
    /// `--chunk-line-padding`)
    pub overlong_chunk_line: Option<OverlongChunkLine>,
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
    /// With `close_idle_ms`: the close comes this many milliseconds after the idle time,
    /// and in between the connection is abandoned, as nginx's `keepalive_timeout` does
    /// when its FIN is delayed: nothing more is read from it or answered on it. A request
    /// sent in between is never answered: its client sees the end of the connection (a
    /// FIN, or a reset since its request lies unread) before any answer byte. `0` (the
    /// default): closed at once. (`--close-delay-ms`)
    pub close_delay_ms: u64,
}

/// The chunk-size line of [`Faults::overlong_chunk_line`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverlongChunkLine {
    /// The line's length in bytes, without its CRLF (e.g. 16384); a length shorter than
    /// the size's hex digits gives the plain size.
    pub len: usize,
    /// What makes the line long.
    pub padding: ChunkPadding,
}

named_enum! {
    /// What makes an [`OverlongChunkLine`] long.
    pub enum ChunkPadding {
        /// Leading zeros before the size's hex digits (`0000…01a`): still the right size.
        Zeros => "zeros",
        /// A chunk extension after the size (`1a;x=aaaa…`), which parsers must skip.
        Extension => "extension",
    }
}

/// Why a [`Faults`] value was refused: names the field (and its command-line flag) and
/// what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidFaults(String);

impl fmt::Display for InvalidFaults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for InvalidFaults {}

impl Faults {
    /// No fault but `answer`.
    pub fn answering(answer: Answer) -> Faults {
        Faults {
            answer,
            ..Faults::default()
        }
    }

    /// Checks that every fault can take effect: statuses in range, and no fault that
    /// the chosen answer would silently ignore (e.g. `pad_body_to` with an injected
    /// status, or any delivery fault with [`Answer::Hang`]). The command line applies the
    /// same rules, through this function.
    pub fn validate(&self) -> Result<(), InvalidFaults> {
        self.validate_answer()?;
        let (kind, flag) = self.answer.describe();
        if self.pad_body_to.is_some() && self.answer != Answer::Normal {
            return Err(InvalidFaults(format!(
                "pad_body_to (--pad-body-to) pads LCM's own success answer only, but the \
                 answer is {kind} ({flag})"
            )));
        }
        if self.answer.is_silent() {
            if let Some((field, field_flag)) = self.delivery_faults().first() {
                return Err(InvalidFaults(format!(
                    "{field} ({field_flag}) shapes an answer, but with {kind} ({flag}) \
                     nothing is answered"
                )));
            }
        }
        if self.close_delay_ms > 0 && self.close_idle_ms.is_none() {
            return Err(InvalidFaults(
                "close_delay_ms (--close-delay-ms) delays the close of close_idle_ms \
                 (--close-idle-ms), which is not set"
                    .to_owned(),
            ));
        }
        if self.overlong_chunk_line.is_some() {
            let shaping = [
                (
                    "trickle_headers_ms",
                    "--trickle-headers-ms",
                    self.trickle_headers_ms.is_some(),
                ),
                (
                    "trickle_body_ms",
                    "--trickle-body-ms",
                    self.trickle_body_ms.is_some(),
                ),
                (
                    "reset_after_body_bytes",
                    "--reset-after-body-bytes",
                    self.reset_after_body_bytes.is_some(),
                ),
            ];
            if let Some((field, field_flag, _)) = shaping.iter().find(|f| f.2) {
                return Err(InvalidFaults(format!(
                    "{field} ({field_flag}) cannot shape an answer that overlong_chunk_line \
                     (--overlong-chunk-line) writes itself"
                )));
            }
        }
        Ok(())
    }

    /// The faults set that shape an answer's bytes or what follows it: (field, flag).
    fn delivery_faults(&self) -> Vec<(&'static str, &'static str)> {
        [
            ("bom", "--bom", self.bom),
            ("gzip", "--gzip", self.gzip),
            (
                "overlong_chunk_line",
                "--overlong-chunk-line",
                self.overlong_chunk_line.is_some(),
            ),
            (
                "trickle_headers_ms",
                "--trickle-headers-ms",
                self.trickle_headers_ms.is_some(),
            ),
            (
                "trickle_body_ms",
                "--trickle-body-ms",
                self.trickle_body_ms.is_some(),
            ),
            (
                "reset_after_body_bytes",
                "--reset-after-body-bytes",
                self.reset_after_body_bytes.is_some(),
            ),
            (
                "close_idle_ms",
                "--close-idle-ms",
                self.close_idle_ms.is_some(),
            ),
        ]
        .into_iter()
        .filter(|f| f.2)
        .map(|(field, flag, _)| (field, flag))
        .collect()
    }

    fn validate_answer(&self) -> Result<(), InvalidFaults> {
        match &self.answer {
            Answer::Status { status, .. } if !(200..=599).contains(status) => {
                Err(InvalidFaults(format!(
                    "answer Status.status (--fail-status): expected a final HTTP status \
                     200..=599, got {status}"
                )))
            }
            Answer::Redirect { status, .. } if !(300..=399).contains(status) => {
                Err(InvalidFaults(format!(
                    "answer Redirect.status (--redirect-status): expected a 3xx status \
                     (300..=399), got {status}"
                )))
            }
            Answer::EchoAuth {
                form: AuthEcho::Location,
                status,
                ..
            } if !(300..=399).contains(status) => Err(InvalidFaults(format!(
                "answer EchoAuth.status (--echo-auth-status): a Location echo needs a 3xx \
                 status (300..=399), got {status}"
            ))),
            Answer::EchoAuth { status, .. } if !(200..=599).contains(status) => {
                Err(InvalidFaults(format!(
                    "answer EchoAuth.status (--echo-auth-status): expected a final HTTP \
                     status 200..=599, got {status}"
                )))
            }
            Answer::ControlCharsBody { status } if !(200..=599).contains(status) => {
                Err(InvalidFaults(format!(
                    "answer ControlCharsBody.status (--control-chars-status): expected a \
                     final HTTP status 200..=599, got {status}"
                )))
            }
            _ => Ok(()),
        }
    }
}

/// How the bytes of one answer go out, and what follows it; carried out by
/// [`FaultIo`](crate::fault_io::FaultIo).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Delivery {
    /// The bytes to send instead of the answer hyper writes (which are swallowed): the
    /// answer in a shape hyper would not write.
    pub replace: Option<Bytes>,
    pub trickle_head: Option<Duration>,
    pub trickle_body: Option<Duration>,
    pub reset_after_body_bytes: Option<usize>,
    pub close_idle: Option<Duration>,
    /// With `close_idle`: how long the abandoned connection stays open.
    pub close_delay: Duration,
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
    pub answer: Answer,
    /// Pad a successful answer to this many bytes.
    pub pad_body_to: Option<usize>,
    pub bom: bool,
    pub gzip: bool,
    pub overlong_chunk_line: Option<OverlongChunkLine>,
    /// `replace` is left for the service to fill in, once it has the answer.
    pub delivery: Delivery,
}

/// The body of a malformed answer: starts like a result envelope, then stops being JSON,
/// so that a parser that only peeks at the first bytes is caught too.
pub(crate) const MALFORMED_BODY: &str = r#"{"channel":"LCM", this is not json"#;

impl Faults {
    /// The plan for the next request; consumes one of a counted [`Answer::Status`].
    pub(crate) fn next_plan(&mut self) -> Plan {
        let answer = self.answer.clone();
        if let Answer::Status { count, .. } = &mut self.answer {
            if *count > 0 {
                *count -= 1;
                if *count == 0 {
                    // Count used up: back to normal. Leaving the status set would turn
                    // the 0 left into "every request".
                    self.answer = Answer::Normal;
                }
            }
        }
        Plan {
            latency: Duration::from_millis(self.latency_ms),
            answer,
            pad_body_to: self.pad_body_to,
            bom: self.bom,
            gzip: self.gzip,
            overlong_chunk_line: self.overlong_chunk_line,
            delivery: Delivery {
                replace: None,
                trickle_head: self.trickle_headers_ms.map(Duration::from_millis),
                trickle_body: self.trickle_body_ms.map(Duration::from_millis),
                reset_after_body_bytes: self.reset_after_body_bytes,
                close_idle: self.close_idle_ms.map(Duration::from_millis),
                close_delay: Duration::from_millis(self.close_delay_ms),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::{AuthPart, RetryAfter};

    #[test]
    fn a_counted_status_runs_out() {
        let failed = Answer::Status {
            status: 503,
            count: 2,
            retry_after: Some(RetryAfter::Secs(3)),
        };
        let mut f = Faults::answering(failed.clone());
        assert_eq!(f.next_plan().answer, failed);
        assert!(matches!(
            f.next_plan().answer,
            Answer::Status { status: 503, .. }
        ));
        assert_eq!(f.next_plan().answer, Answer::Normal);
        assert_eq!(f.answer, Answer::Normal);
    }

    #[test]
    fn count_zero_is_forever() {
        let mut f = Faults::answering(Answer::fail(500));
        for _ in 0..5 {
            assert_eq!(f.next_plan().answer, Answer::fail(500));
        }
        assert_eq!(f.answer, Answer::fail(500));
    }

    #[test]
    fn latency_rides_along_with_a_drop_and_no_count_is_consumed() {
        let mut f = Faults {
            answer: Answer::DropConnection,
            latency_ms: 5,
            ..Faults::default()
        };
        let plan = f.next_plan();
        assert_eq!(plan.answer, Answer::DropConnection);
        assert_eq!(plan.latency, Duration::from_millis(5));
        assert!(f.validate().is_ok());
    }

    #[test]
    fn delivery_faults_ride_along_with_any_answer() {
        let mut f = Faults {
            answer: Answer::fail(503),
            trickle_headers_ms: Some(0),
            close_idle_ms: Some(7),
            ..Faults::default()
        };
        assert!(f.validate().is_ok());
        let plan = f.next_plan();
        assert!(matches!(plan.answer, Answer::Status { status: 503, .. }));
        assert_eq!(plan.delivery.trickle_head, Some(Duration::ZERO));
        assert_eq!(plan.delivery.close_idle, Some(Duration::from_millis(7)));
        assert!(!plan.delivery.is_plain());
        assert!(Faults::default().next_plan().delivery.is_plain());
    }

    #[test]
    fn validate_names_the_field_and_the_flag() {
        let cases = [
            (
                Faults::answering(Answer::fail(42)),
                "Status.status (--fail-status)",
            ),
            (Faults::answering(Answer::fail(600)), "got 600"),
            (
                Faults::answering(Answer::Redirect {
                    location: "/x".to_owned(),
                    status: 200,
                }),
                "Redirect.status (--redirect-status): expected a 3xx",
            ),
            (
                Faults {
                    answer: Answer::Malformed,
                    pad_body_to: Some(10),
                    ..Faults::default()
                },
                "pad_body_to (--pad-body-to) pads LCM's own success answer only, but the \
                 answer is Malformed (--malformed)",
            ),
            (
                Faults {
                    answer: Answer::Hang,
                    close_idle_ms: Some(0),
                    ..Faults::default()
                },
                "close_idle_ms (--close-idle-ms) shapes an answer, but with Hang (--hang)",
            ),
            (
                Faults {
                    answer: Answer::DropConnection,
                    trickle_body_ms: Some(1),
                    ..Faults::default()
                },
                "trickle_body_ms (--trickle-body-ms)",
            ),
            (
                Faults {
                    answer: Answer::Hang,
                    gzip: true,
                    ..Faults::default()
                },
                "gzip (--gzip) shapes an answer",
            ),
            (
                Faults {
                    close_delay_ms: 5,
                    ..Faults::default()
                },
                "close_delay_ms (--close-delay-ms) delays the close of close_idle_ms",
            ),
            (
                Faults {
                    overlong_chunk_line: Some(OverlongChunkLine {
                        len: 9000,
                        padding: ChunkPadding::Zeros,
                    }),
                    reset_after_body_bytes: Some(3),
                    ..Faults::default()
                },
                "reset_after_body_bytes (--reset-after-body-bytes) cannot shape",
            ),
            (
                Faults::answering(Answer::EchoAuth {
                    form: AuthEcho::Location,
                    part: AuthPart::Token,
                    status: 401,
                }),
                "EchoAuth.status (--echo-auth-status): a Location echo needs a 3xx",
            ),
            (
                Faults::answering(Answer::EchoAuth {
                    form: AuthEcho::Plain,
                    part: AuthPart::Value,
                    status: 99,
                }),
                "EchoAuth.status (--echo-auth-status): expected a final",
            ),
            (
                Faults::answering(Answer::ControlCharsBody { status: 1000 }),
                "ControlCharsBody.status (--control-chars-status)",
            ),
        ];
        for (faults, want) in cases {
            let err = faults.validate().expect_err(want).to_string();
            assert!(err.contains(want), "{err:?} should contain {want:?}");
        }
    }

    #[test]
    fn validate_accepts_faults_that_all_take_effect() {
        for fine in [
            Faults::default(),
            Faults::answering(Answer::fail(200)),
            Faults::answering(Answer::fail(599)),
            Faults::answering(Answer::Redirect {
                location: "/x".to_owned(),
                status: 308,
            }),
            Faults {
                pad_body_to: Some(1),
                reset_after_body_bytes: Some(1),
                bom: true,
                gzip: true,
                close_idle_ms: Some(1),
                close_delay_ms: 1,
                ..Faults::default()
            },
            Faults {
                answer: Answer::EchoAuth {
                    form: AuthEcho::Location,
                    part: AuthPart::Token,
                    status: 307,
                },
                overlong_chunk_line: Some(OverlongChunkLine {
                    len: 9000,
                    padding: ChunkPadding::Extension,
                }),
                ..Faults::default()
            },
        ] {
            assert_eq!(fine.validate(), Ok(()), "{fine:?}");
        }
    }
}

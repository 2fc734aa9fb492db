//! Fault injection: what to do to the next request instead of (or before) answering it.

use std::time::Duration;

/// Faults to inject, set at start ([`SimConfig::faults`](crate::SimConfig)) and changeable
/// at runtime ([`Sim::set_faults`](crate::Sim::set_faults)). The default injects nothing.
///
/// When several are set, one request gets at most one of them, in this order:
/// `drop_connection`, then `fail_status`, then `malformed`. `latency_ms` applies on top
/// of any of them. A request that gets a fault is not recorded as an accepted outcome,
/// except with `latency_ms` alone (a slow but valid answer still records).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Sleep this long before answering each request (after recording it, so a client
    /// that times out can check that the outcome was recorded anyway).
    pub latency_ms: u64,
    /// Answer with this HTTP status and the body `{"error":"injected fault"}`.
    /// Statuses outside 200..=999 are sent as 500 (1xx cannot be a final answer).
    pub fail_status: Option<u16>,
    /// How many requests get `fail_status`; after that, normal behaviour resumes (and
    /// `fail_status` reads back as `None`). `0` means every request.
    pub fail_count: u32,
    /// With `fail_status` 429 or 503: add `Retry-After: N` (seconds).
    pub retry_after_secs: Option<u64>,
    /// Answer HTTP 200 with a body that is not JSON.
    pub malformed: bool,
    /// Read the request, then close the TCP connection without sending a single byte.
    pub drop_connection: bool,
    /// Pad each successful answer with trailing spaces to this many bytes: still a valid
    /// result envelope, so only a client that caps what it reads refuses it.
    pub pad_body_to: Option<usize>,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Validate and answer as LCM would.
    Normal,
    /// Answer this status with `{"error":"injected fault"}`.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Answer 200 with a body that is not JSON.
    Malformed,
    /// Close the connection, answer nothing.
    Drop,
}

/// The plan for one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub latency: Duration,
    pub action: Action,
    /// Pad a successful answer to this many bytes.
    pub pad_body_to: Option<usize>,
}

/// The body of a malformed answer: starts like a result envelope, then stops being JSON,
/// so that a parser that only peeks at the first bytes is caught too.
pub(crate) const MALFORMED_BODY: &str = r#"{"channel":"LCM", this is not json"#;

impl Faults {
    /// The plan for the next request; consumes one of `fail_count`.
    pub(crate) fn next_plan(&mut self) -> Plan {
        let latency = Duration::from_millis(self.latency_ms);
        let action = if self.drop_connection {
            Action::Drop
        } else if let Some(status) = self.fail_status {
            if self.fail_count > 0 {
                self.fail_count -= 1;
                if self.fail_count == 0 {
                    // Count used up: back to normal. Leaving fail_status set would turn
                    // the 0 left into "every request".
                    self.fail_status = None;
                }
            }
            let status = if (100..=999).contains(&status) {
                status
            } else {
                500
            };
            let retry_after = self
                .retry_after_secs
                .filter(|_| status == 429 || status == 503);
            Action::Status {
                status,
                retry_after,
            }
        } else if self.malformed {
            Action::Malformed
        } else {
            Action::Normal
        };
        Plan {
            latency,
            action,
            pad_body_to: self.pad_body_to,
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
            retry_after: Some(3),
        };
        assert_eq!(f.next_plan().action, failed);
        assert_eq!(f.next_plan().action, failed);
        assert_eq!(f.next_plan().action, Action::Normal);
        assert_eq!(f.fail_status, None);
    }

    #[test]
    fn fail_count_zero_is_forever_and_retry_after_only_for_429_503() {
        let mut f = Faults {
            fail_status: Some(500),
            retry_after_secs: Some(3),
            ..Faults::default()
        };
        for _ in 0..5 {
            let failed = Action::Status {
                status: 500,
                retry_after: None,
            };
            assert_eq!(f.next_plan().action, failed);
        }
    }

    #[test]
    fn drop_wins_and_does_not_consume_the_count() {
        let mut f = Faults {
            drop_connection: true,
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
    }
}

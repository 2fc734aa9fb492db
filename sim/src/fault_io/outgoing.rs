//! Following the bytes of one faulty answer as hyper writes them: where its head ends
//! and its body starts, and how much of each one write may take.

use std::time::Duration;

use crate::faults::Delivery;

/// Where writing a faulty answer stands.
pub(super) struct Outgoing {
    pub(super) delivery: Delivery,
    /// How much of the blank line `\r\n\r\n` that ends the head has been written.
    head_matched: usize,
    in_body: bool,
    body_left: usize,
    body_sent: usize,
    /// After this many body bytes, reset; never at the last byte, so the answer is cut.
    reset_at: Option<usize>,
    /// How many bytes of `delivery.replace` were written.
    replaced: usize,
}

const HEAD_END: &[u8; 4] = b"\r\n\r\n";

/// The next state of a search for `\r\n\r\n` after byte `b` (no partial match can
/// restart inside the pattern except at a `\r`).
fn match_head_end(matched: usize, b: u8) -> usize {
    if b == HEAD_END[matched] {
        matched + 1
    } else if b == b'\r' {
        1
    } else {
        0
    }
}

impl Outgoing {
    pub(super) fn new(delivery: Delivery, body_len: usize) -> Outgoing {
        let reset_at = delivery
            .reset_after_body_bytes
            .map(|n| n.min(body_len.saturating_sub(1)));
        Outgoing {
            delivery,
            head_matched: 0,
            in_body: false,
            body_left: body_len,
            body_sent: 0,
            reset_at,
            replaced: 0,
        }
    }

    /// The pause between bytes in the current part, if it trickles.
    pub(super) fn pace(&self) -> Option<Duration> {
        if self.in_body {
            self.delivery.trickle_body
        } else {
            self.delivery.trickle_head
        }
    }

    pub(super) fn reset_due(&self) -> bool {
        self.in_body && self.reset_at == Some(self.body_sent)
    }

    pub(super) fn done(&self) -> bool {
        self.in_body && self.body_left == 0
    }

    /// How many leading bytes of `buf` one write may take: never past the end of the
    /// head (so the body's faults start exactly at the body), the end of the answer or
    /// the reset point; one byte when trickling.
    pub(super) fn allowance(&self, buf: &[u8]) -> usize {
        let mut n = if self.in_body {
            let mut n = buf.len().min(self.body_left);
            if let Some(at) = self.reset_at {
                n = n.min(at - self.body_sent);
            }
            n
        } else {
            let mut matched = self.head_matched;
            buf.iter()
                .position(|&b| {
                    matched = match_head_end(matched, b);
                    matched == HEAD_END.len()
                })
                .map_or(buf.len(), |i| i + 1)
        };
        if self.pace().is_some() {
            n = n.min(1);
        }
        n
    }

    /// Accounts for `written`, which is within [`Outgoing::allowance`].
    pub(super) fn advance(&mut self, written: &[u8]) {
        if self.in_body {
            self.body_sent += written.len();
            self.body_left -= written.len();
            return;
        }
        for &b in written {
            self.head_matched = match_head_end(self.head_matched, b);
        }
        if self.head_matched == HEAD_END.len() {
            self.in_body = true;
        }
    }

    /// What is left to write of the bytes that replace the answer, if they do.
    pub(super) fn replacement_left(&self) -> Option<&[u8]> {
        let replace = self.delivery.replace.as_ref()?;
        Some(&replace[self.replaced..])
    }

    /// Accounts for `n` bytes of the replacement written.
    pub(super) fn replacement_written(&mut self, n: usize) {
        self.replaced += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowance_stops_at_the_head_end_and_the_reset_point() {
        let delivery = Delivery {
            reset_after_body_bytes: Some(3),
            ..Delivery::default()
        };
        let wire = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789";
        let mut answer = Outgoing::new(delivery, 10);
        let head = answer.allowance(wire);
        assert_eq!(&wire[head - 4..head], b"\r\n\r\n");
        answer.advance(&wire[..head]);
        assert!(answer.in_body && !answer.reset_due());
        assert_eq!(answer.allowance(&wire[head..]), 3);
        answer.advance(&wire[head..head + 3]);
        assert!(answer.reset_due());
    }

    #[test]
    fn head_end_is_found_across_writes_and_after_false_starts() {
        let mut answer = Outgoing::new(Delivery::default(), 0);
        for chunk in [&b"HTTP/1.1 200 OK\r\nx: \r\r\n"[..], b"\r", b"\n"] {
            assert!(!answer.in_body);
            let n = answer.allowance(chunk);
            assert_eq!(n, chunk.len());
            answer.advance(&chunk[..n]);
        }
        assert!(answer.done());
    }

    #[test]
    fn reset_is_never_after_the_whole_body_and_trickle_takes_one_byte() {
        let delivery = Delivery {
            reset_after_body_bytes: Some(100),
            trickle_head: Some(Duration::ZERO),
            ..Delivery::default()
        };
        let answer = Outgoing::new(delivery, 10);
        assert_eq!(answer.reset_at, Some(9));
        assert_eq!(answer.allowance(b"HTTP/1.1"), 1);
    }
}

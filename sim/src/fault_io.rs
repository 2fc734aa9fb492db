//! Fault injection under HTTP, for tests only: answers whose bytes arrive slowly, stop
//! half-way with a TCP reset, or connections the server closes once idle. hyper writes
//! every answer as fast as the socket takes it, so these happen here, on the byte stream
//! between hyper and the socket (or the TLS session).
//!
//! Every connection's stream goes through a [`FaultIo`]. It passes bytes straight
//! through unless the request's service armed a [`Delivery`] for the answer it is about
//! to return; then it follows that answer's bytes (the head up to its blank line, then
//! `body_len` bytes of body) and paces, cuts or closes as asked. hyper serves one request
//! at a time per connection, so the next answer written is the armed one.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{sleep, Sleep};
use tokio_rustls::server::TlsStream;

use crate::faults::Delivery;
use crate::lock;

/// A served connection's transport.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref().0,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// The delivery faults of the answer a connection's service is about to return; set by
/// the service, taken by the connection's [`FaultIo`] when that answer's first byte is
/// written.
#[derive(Default)]
pub(crate) struct Arming {
    /// Lets a plain answer pass with one atomic load.
    armed: AtomicBool,
    next: Mutex<Option<(Delivery, usize)>>,
    /// A request is being served: the connection is not idle, even if hyper took the
    /// request from bytes it had already read (pipelined) and reads nothing now.
    in_request: AtomicBool,
}

impl Arming {
    /// Marks the connection busy until the next armed answer is written.
    pub(crate) fn begin_request(&self) {
        self.in_request.store(true, Ordering::Release);
    }

    /// Applies `delivery` to the next answer, whose body is `body_len` bytes on the wire.
    pub(crate) fn arm(&self, delivery: Delivery, body_len: usize) {
        *lock(&self.next) = Some((delivery, body_len));
        self.armed.store(true, Ordering::Release);
    }

    fn take(&self) -> Option<(Delivery, usize)> {
        if !self.armed.swap(false, Ordering::Acquire) {
            return None;
        }
        lock(&self.next).take()
    }
}

/// Where writing a faulty answer stands.
struct Answer {
    delivery: Delivery,
    /// How much of the blank line `\r\n\r\n` that ends the head has been written.
    head_matched: usize,
    in_body: bool,
    body_left: usize,
    body_sent: usize,
    /// After this many body bytes, reset; never at the last byte, so the answer is cut.
    reset_at: Option<usize>,
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

impl Answer {
    fn new(delivery: Delivery, body_len: usize) -> Answer {
        Answer {
            delivery,
            head_matched: 0,
            in_body: false,
            body_left: body_len,
            body_sent: 0,
            reset_at: delivery
                .reset_after_body_bytes
                .map(|n| n.min(body_len.saturating_sub(1))),
        }
    }

    /// The pause between bytes in the current part, if it trickles.
    fn pace(&self) -> Option<Duration> {
        if self.in_body {
            self.delivery.trickle_body
        } else {
            self.delivery.trickle_head
        }
    }

    fn reset_due(&self) -> bool {
        self.in_body && self.reset_at == Some(self.body_sent)
    }

    fn done(&self) -> bool {
        self.in_body && self.body_left == 0
    }

    /// How many leading bytes of `buf` one write may take: never past the end of the
    /// head (so the body's faults start exactly at the body), the end of the answer or
    /// the reset point; one byte when trickling.
    fn allowance(&self, buf: &[u8]) -> usize {
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

    /// Accounts for `written`, which is within [`Answer::allowance`].
    fn advance(&mut self, written: &[u8]) {
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
}

fn reset_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "reset_after_body_bytes fault",
    )
}

/// A connection's byte stream with the delivery faults applied; see the module comment.
pub(crate) struct FaultIo {
    stream: Stream,
    arming: std::sync::Arc<Arming>,
    answer: Option<Answer>,
    /// When the next trickled byte may go.
    pace: Option<Pin<Box<Sleep>>>,
    /// When this connection, idle since its last answer, is closed (`close_idle`).
    idle_close: Option<Pin<Box<Sleep>>>,
    idle_closed: bool,
    /// The connection was aborted: SO_LINGER is 0, so closing it sends a RST.
    reset: bool,
}

impl FaultIo {
    pub(crate) fn new(stream: Stream, arming: std::sync::Arc<Arming>) -> FaultIo {
        FaultIo {
            stream,
            arming,
            answer: None,
            pace: None,
            idle_close: None,
            idle_closed: false,
            reset: false,
        }
    }

    /// Sends what was written so far, then arms the RST that the socket's close sends.
    /// The error makes hyper drop the connection at once, without a FIN first.
    fn poll_reset(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        ready!(Pin::new(&mut self.stream).poll_flush(cx))?;
        self.stream.tcp().set_zero_linger()?;
        self.reset = true;
        self.answer = None;
        Poll::Ready(Err(reset_error()))
    }
}

impl AsyncRead for FaultIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.idle_closed {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if result.is_err() || buf.filled().len() > before {
                    this.idle_close = None;
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                let busy = this.arming.in_request.load(Ordering::Acquire);
                let idle_over = !busy
                    && this
                        .idle_close
                        .as_mut()
                        .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready());
                if !idle_over {
                    return Poll::Pending;
                }
                // An end of stream, to hyper: it closes the connection as if the client
                // had, sending a FIN and nothing else.
                this.idle_closed = true;
                this.idle_close = None;
                Poll::Ready(Ok(()))
            }
        }
    }
}

impl AsyncWrite for FaultIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.reset {
            return Poll::Ready(Err(reset_error()));
        }
        if this.answer.is_none() {
            match this.arming.take() {
                // The fast path: no fault for this answer.
                None => return Pin::new(&mut this.stream).poll_write(cx, buf),
                Some((delivery, body_len)) => {
                    this.answer = Some(Answer::new(delivery, body_len));
                    this.pace = None;
                }
            }
        }
        let Some(answer) = this.answer.as_mut() else {
            return Pin::new(&mut this.stream).poll_write(cx, buf);
        };
        if answer.reset_due() {
            return this.poll_reset(cx);
        }
        if let Some(pace) = this.pace.as_mut() {
            ready!(pace.as_mut().poll(cx));
            this.pace = None;
        }
        let allowed = answer.allowance(buf);
        let n = ready!(Pin::new(&mut this.stream).poll_write(cx, &buf[..allowed]))?;
        answer.advance(&buf[..n]);
        // Pausing after each byte (rather than before) sends the first one at once.
        this.pace = answer
            .pace()
            .filter(|p| n > 0 && !p.is_zero())
            .map(|p| Box::pin(sleep(p)));
        if answer.done() {
            let close_idle = answer.delivery.close_idle;
            this.answer = None;
            this.pace = None;
            this.arming.in_request.store(false, Ordering::Release);
            this.idle_close = None;
            if let Some(idle) = close_idle {
                // Polled here so that its timer wakes the connection: hyper may not read
                // again on its own before the client sends something (after pipelined
                // requests it still waits on an earlier read).
                let mut deadline = Box::pin(sleep(idle));
                if deadline.as_mut().poll(cx).is_ready() {
                    cx.waker().wake_by_ref();
                }
                this.idle_close = Some(deadline);
            }
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.reset {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.reset {
            // No FIN (nor TLS close_notify) before the RST.
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }

    // Not vectored: hyper then hands over each answer as one flat buffer, in order,
    // which is what `Answer` follows.
    fn is_write_vectored(&self) -> bool {
        false
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
        let mut answer = Answer::new(delivery, 10);
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
        let mut answer = Answer::new(Delivery::default(), 0);
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
        let answer = Answer::new(delivery, 10);
        assert_eq!(answer.reset_at, Some(9));
        assert_eq!(answer.allowance(b"HTTP/1.1"), 1);
    }
}

//! Fault injection under HTTP, for tests only: answers whose bytes arrive slowly, stop
//! half-way with a TCP reset, are replaced by bytes hyper would never write, or
//! connections the server closes (or abandons, then closes) once idle. hyper writes every
//! answer as fast as the socket takes it, so these happen here, on the byte stream between
//! hyper and the socket (or the TLS session).
//!
//! Every connection's stream goes through a [`FaultIo`]. It passes bytes straight
//! through unless the request's service armed a [`Delivery`] for the answer it is about
//! to return; then it follows that answer's bytes (the head up to its blank line, then
//! `body_len` bytes of body) and paces, cuts, replaces or closes as asked. hyper serves
//! one request at a time per connection, so the next answer written is the armed one.

mod outgoing;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{sleep, Sleep};

use crate::faults::Delivery;
use crate::lock;
use crate::stream::Stream;
use outgoing::Outgoing;

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

fn reset_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "reset_after_body_bytes fault",
    )
}

/// A connection's life after an answer with `close_idle`.
enum Idle {
    /// In use, or idle with no close planned.
    Open,
    /// Idle since its last answer; closed (or abandoned, with a delay) at this deadline.
    Waiting {
        deadline: Pin<Box<Sleep>>,
        delay: Duration,
    },
    /// Abandoned: nothing more is read until the close, at this deadline.
    Abandoned(Pin<Box<Sleep>>),
    /// Closed: every read is the end of the stream.
    Closed,
}

/// A connection's byte stream with the delivery faults applied; see the module comment.
pub(crate) struct FaultIo {
    stream: Stream,
    arming: Arc<Arming>,
    answer: Option<Outgoing>,
    /// When the next trickled byte may go.
    pace: Option<Pin<Box<Sleep>>>,
    idle: Idle,
    /// Counts the connections abandoned (`close_delay`), this one included once it is.
    abandoned: Arc<AtomicUsize>,
    /// The connection was aborted: SO_LINGER is 0, so closing it sends a RST.
    reset: bool,
}

impl FaultIo {
    pub(crate) fn new(stream: Stream, arming: Arc<Arming>, abandoned: Arc<AtomicUsize>) -> FaultIo {
        FaultIo {
            stream,
            arming,
            answer: None,
            pace: None,
            idle: Idle::Open,
            abandoned,
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

    /// Writes what is left of the bytes that replace the armed answer, if they do; ready
    /// once they are all out.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(answer) = self.answer.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        while let Some(left) = answer.replacement_left().filter(|l| !l.is_empty()) {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, left))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            answer.replacement_written(n);
        }
        Poll::Ready(Ok(()))
    }

    /// The armed answer is all written: the connection is idle from now on, and its
    /// close (`close_idle`) is planned.
    fn answer_done(&mut self, cx: &mut Context<'_>, delivery: &Delivery) {
        self.answer = None;
        self.pace = None;
        self.arming.in_request.store(false, Ordering::Release);
        self.idle = Idle::Open;
        if let Some(idle) = delivery.close_idle {
            // Polled here so that its timer wakes the connection: hyper may not read
            // again on its own before the client sends something (after pipelined
            // requests it still waits on an earlier read).
            let mut deadline = Box::pin(sleep(idle));
            if deadline.as_mut().poll(cx).is_ready() {
                cx.waker().wake_by_ref();
            }
            self.idle = Idle::Waiting {
                deadline,
                delay: delivery.close_delay,
            };
        }
    }

    /// With the socket silent: whether the idle connection's time is up, moving it on to
    /// abandoned or closed. Pending while it stays open.
    fn poll_idle_over(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let busy = self.arming.in_request.load(Ordering::Acquire);
        let Idle::Waiting { deadline, delay } = &mut self.idle else {
            return Poll::Pending;
        };
        if busy {
            return Poll::Pending;
        }
        ready!(deadline.as_mut().poll(cx));
        if delay.is_zero() {
            self.idle = Idle::Closed;
            return Poll::Ready(());
        }
        let mut close = Box::pin(sleep(*delay));
        // Registers the timer's wake-up; the close itself is the next read's.
        let _ = close.as_mut().poll(cx);
        self.idle = Idle::Abandoned(close);
        self.abandoned.fetch_add(1, Ordering::SeqCst);
        Poll::Pending
    }
}

impl AsyncRead for FaultIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match &mut this.idle {
            // An end of stream, to hyper: it closes the connection as if the client had,
            // sending a FIN and nothing else.
            Idle::Closed => return Poll::Ready(Ok(())),
            // Abandoned: the socket is not read, so a request sent now is never answered.
            Idle::Abandoned(close) => {
                ready!(close.as_mut().poll(cx));
                this.idle = Idle::Closed;
                return Poll::Ready(Ok(()));
            }
            Idle::Open | Idle::Waiting { .. } => {}
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if result.is_err() || buf.filled().len() > before {
                    this.idle = Idle::Open;
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                ready!(this.poll_idle_over(cx));
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
                    this.answer = Some(Outgoing::new(delivery, body_len));
                    this.pace = None;
                }
            }
        }
        ready!(this.poll_replacement(cx))?;
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
        let n = if answer.replacement_left().is_some() {
            // Replaced: hyper's own bytes for this answer are swallowed.
            allowed
        } else {
            ready!(Pin::new(&mut this.stream).poll_write(cx, &buf[..allowed]))?
        };
        answer.advance(&buf[..n]);
        // Pausing after each byte (rather than before) sends the first one at once.
        this.pace = answer
            .pace()
            .filter(|p| n > 0 && !p.is_zero())
            .map(|p| Box::pin(sleep(p)));
        if answer.done() {
            let delivery = answer.delivery.clone();
            this.answer_done(cx, &delivery);
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
    // which is what `Outgoing` follows.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

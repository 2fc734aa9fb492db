//! ureq's default resolver and connector, wrapped so that every failure before the
//! request is written is marked as such.
//!
//! The status a caller gets depends on one question: could LCM have received the
//! request? ureq reports a DNS failure, a refused connection, a TLS handshake error
//! and a reset after sending all as plain I/O errors, so the error kind cannot tell.
//! The stage can: anything the resolver or the connector chain (TCP, proxy CONNECT,
//! TLS) fails with happened before a byte of the request was sent, and comes back
//! wrapped in [`NotDelivered`].
//!
//! This uses ureq's `unversioned` transport API, which may change in a minor release;
//! Cargo.toml pins ureq to 3.5.x for that reason.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    time::Duration as TimeoutAfter, Buffers, ConnectionDetails, Connector, DefaultConnector,
    NextTimeout, Transport,
};

/// Where a request failed before it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Looking up the endpoint's (or proxy's) host name.
    Resolve,
    /// TCP connect, proxy CONNECT or TLS handshake.
    Connect,
}

/// A failure that provably happened before the request was written.
#[derive(Debug)]
pub(crate) struct NotDelivered {
    pub(crate) stage: Stage,
    pub(crate) error: ureq::Error,
}

impl fmt::Display for NotDelivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for NotDelivered {}

fn not_delivered(stage: Stage, error: ureq::Error) -> ureq::Error {
    // A proxy's CONNECT step opens its own connection through this same connector:
    // keep the innermost mark, which says what really failed.
    if as_not_delivered(&error).is_some() {
        return error;
    }
    ureq::Error::Other(Box::new(NotDelivered { stage, error }))
}

/// If `error` is a [`NotDelivered`] failure, the stage and the original error.
pub(crate) fn as_not_delivered(error: &ureq::Error) -> Option<&NotDelivered> {
    match error {
        ureq::Error::Other(inner) => inner.downcast_ref::<NotDelivered>(),
        _ => None,
    }
}

/// ureq's connector chain (TCP, proxies, rustls), with failures marked.
#[derive(Debug, Default)]
pub(crate) struct MarkingConnector(DefaultConnector);

impl Connector<()> for MarkingConnector {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let transport = self
            .0
            .connect(details, chained)
            .map_err(|e| not_delivered(Stage::Connect, e))?;
        Ok(transport.map(|inner| Box::new(OneWriteRequest::new(inner)) as Box<dyn Transport>))
    }
}

/// Most bytes held back before they are written anyway: a request is a few hundred
/// bytes, and a large body should not be gathered before any of it leaves.
const MAX_HELD_BYTES: usize = 16 * 1024;

/// Sends a request's head and body in one write instead of two.
///
/// ureq transmits the head, then the body, each with its own write. With
/// TCP_NODELAY that is two segments, and the server wakes up for each: on loopback it
/// made calls 1.26-1.42x slower than libcurl's single write at the median (BENCHMARKS.md).
/// What ureq transmits is held here until it waits for the answer (or
/// [`MAX_HELD_BYTES`] are held), then written at once. Waiting for `100 Continue`
/// also waits for input, so the head still goes out first in that case.
#[derive(Debug)]
struct OneWriteRequest {
    inner: Box<dyn Transport>,
    held: Vec<u8>,
}

impl OneWriteRequest {
    fn new(inner: Box<dyn Transport>) -> OneWriteRequest {
        OneWriteRequest {
            inner,
            held: Vec::new(),
        }
    }

    /// Writes what is held within `timeout` (ureq's budget for the operation that
    /// asked), and returns what is left of that budget.
    fn write_held(&mut self, timeout: NextTimeout) -> Result<NextTimeout, ureq::Error> {
        if self.held.is_empty() {
            // Every read of the answer comes through await_input: nothing to time.
            return Ok(timeout);
        }
        let started = std::time::Instant::now();
        let mut from = 0;
        while from < self.held.len() {
            let output = self.inner.buffers().output();
            let n = output.len().min(self.held.len() - from);
            output[..n].copy_from_slice(&self.held[from..from + n]);
            self.inner
                .transmit_output(n, remaining(timeout, started)?)?;
            from += n;
        }
        self.held.clear();
        if self.held.capacity() > 2 * MAX_HELD_BYTES {
            // A large body passed through; an idle pooled connection keeps no more.
            self.held = Vec::new();
        }
        remaining(timeout, started)
    }
}

/// `timeout` less the time since `since`, or a timeout error when nothing is left.
///
/// ureq computes one budget per operation; a step this wrapper adds inside one must
/// not hand the next step the whole budget again. And a zero budget must never
/// reach the socket, where ureq would read it as "no timeout".
fn remaining(timeout: NextTimeout, since: std::time::Instant) -> Result<NextTimeout, ureq::Error> {
    let mut timeout = timeout;
    if let TimeoutAfter::Exact(budget) = timeout.after {
        let left = budget.saturating_sub(since.elapsed());
        if left.is_zero() {
            return Err(ureq::Error::Timeout(timeout.reason));
        }
        timeout.after = TimeoutAfter::Exact(left);
    }
    Ok(timeout)
}

impl Transport for OneWriteRequest {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let output = &self.inner.buffers().output()[..amount];
        self.held.extend_from_slice(output);
        if self.held.len() >= MAX_HELD_BYTES {
            self.write_held(timeout)?;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let left = self.write_held(timeout)?;
        self.inner.await_input(left)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// ureq's resolver, with failures marked. An endpoint given as an IP address is
/// answered at once: ureq's resolver would start a thread per request for it
/// whenever a deadline is set, and every call here has one.
#[derive(Debug, Default)]
pub(crate) struct MarkingResolver(DefaultResolver);

impl Resolver for MarkingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        if let Some(addr) = literal_socket_addr(uri) {
            let mut addrs = self.empty();
            addrs.push(addr);
            return Ok(addrs);
        }
        self.0
            .resolve(uri, config, timeout)
            .map_err(|e| not_delivered(Stage::Resolve, e))
    }
}

/// The socket address of a URI whose host is an IP literal (`127.0.0.1`, `[::1]`).
fn literal_socket_addr(uri: &Uri) -> Option<SocketAddr> {
    let authority = uri.authority()?;
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip: IpAddr = host.parse().ok()?;
    let port = authority.port_u16().or(match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => Some(443),
        Some(s) if s.eq_ignore_ascii_case("http") => Some(80),
        _ => None,
    })?;
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_are_resolved_without_a_lookup() {
        let addr = |s: &str| literal_socket_addr(&s.parse().unwrap());
        assert_eq!(
            addr("http://127.0.0.1:8080/lcm"),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            addr("https://10.1.2.3/lcm"),
            Some("10.1.2.3:443".parse().unwrap())
        );
        assert_eq!(addr("http://[::1]/x"), Some("[::1]:80".parse().unwrap()));
        assert_eq!(addr("http://lcm.example.com/x"), None);
    }
}

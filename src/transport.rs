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
//! Two more things happen here, below ureq, because only the connection knows them:
//! whether a request went out on a reused connection that died before any answer
//! byte ([`Stale`]: the server closed it while idle, and the request can be sent
//! again on a fresh connection), and the absolute-form request line that a plain
//! HTTP proxy needs (RFC 9112 3.2.2), which ureq, tunnelling everything through
//! `CONNECT`, does not write.
//!
//! This uses ureq's `unversioned` transport API, which may change in a minor release;
//! Cargo.toml pins ureq to 3.5.x for that reason.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
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

/// A request sent on a reused pooled connection that failed before the first byte
/// of its answer: the server had closed the connection while it was idle.
#[derive(Debug)]
pub(crate) struct Stale(pub(crate) String);

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Stale {}

/// Whether `error` is a [`Stale`] connection's failure.
pub(crate) fn is_stale(error: &ureq::Error) -> bool {
    matches!(error, ureq::Error::Other(inner) if inner.is::<Stale>())
}

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

/// ureq's connector chain (TCP, proxies, rustls), with failures marked. With
/// `forward`, every connection goes to a plain HTTP proxy that takes absolute-form
/// requests (the resolver gives the proxy's address).
#[derive(Debug, Default)]
pub(crate) struct MarkingConnector {
    inner: DefaultConnector,
    forward: bool,
}

impl MarkingConnector {
    /// A connector for requests forwarded by a plain HTTP proxy.
    pub(crate) fn forwarding() -> MarkingConnector {
        MarkingConnector {
            inner: DefaultConnector::default(),
            forward: true,
        }
    }
}

impl Connector<()> for MarkingConnector {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let transport = self
            .inner
            .connect(details, chained)
            .map_err(|e| not_delivered(Stage::Connect, e))?;
        let absolute = match (self.forward, details.uri.authority()) {
            (true, Some(authority)) => Some(format!("http://{}", authority.as_str())),
            _ => None,
        };
        Ok(transport
            .map(|inner| Box::new(OneWriteRequest::new(inner, absolute)) as Box<dyn Transport>))
    }
}

/// Most bytes held back before they are written anyway: a request is a few hundred
/// bytes, and a large body should not be gathered before any of it leaves.
const MAX_HELD_BYTES: usize = 16 * 1024;

/// Sends a request's head and body in one write instead of two, and keeps what the
/// connection has seen.
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
    /// `http://host:port` to put before the path of each request line, for a proxy.
    absolute: Option<String>,
    /// Requests started on this connection (1 on a fresh one).
    requests: u32,
    /// Whether the current request's answer has begun.
    answered: bool,
}

impl OneWriteRequest {
    fn new(inner: Box<dyn Transport>, absolute: Option<String>) -> OneWriteRequest {
        OneWriteRequest {
            inner,
            held: Vec::new(),
            absolute,
            requests: 0,
            answered: false,
        }
    }

    /// Whether a failure now means the server closed a reused connection before
    /// reading this request: nothing of its answer came, and the connection had
    /// served a request before.
    fn may_be_stale(&self) -> bool {
        self.requests > 1 && !self.answered
    }

    /// `error`, marked [`Stale`] when it ended a reused connection before any answer
    /// byte. A timeout is never stale: the server may just be slow.
    fn classify(&self, error: ureq::Error) -> ureq::Error {
        match error {
            ureq::Error::Timeout(_) => error,
            e if self.may_be_stale() => ureq::Error::Other(Box::new(Stale(e.to_string()))),
            e => e,
        }
    }

    /// Notes the start of a request (ureq's first transmit after an answer began,
    /// or the first on the connection) and writes its request line in absolute form
    /// when a proxy needs it.
    fn start_request(&mut self) {
        self.requests += 1;
        self.answered = false;
        let Some(prefix) = &self.absolute else {
            return;
        };
        // "POST /path HTTP/1.1": the path starts after the first space.
        if let Some(space) = self.held.iter().position(|&b| b == b' ') {
            if self.held.get(space + 1) == Some(&b'/') {
                self.held
                    .splice(space + 1..space + 1, prefix.bytes())
                    .for_each(drop);
            }
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
                .transmit_output(n, remaining(timeout, started)?)
                .map_err(|e| self.classify(e))?;
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
        let starts_request = self.requests == 0 || self.answered;
        let output = &self.inner.buffers().output()[..amount];
        self.held.extend_from_slice(output);
        if starts_request {
            self.start_request();
        }
        if self.held.len() >= MAX_HELD_BYTES {
            self.write_held(timeout)?;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let left = self.write_held(timeout)?;
        match self.inner.await_input(left) {
            Ok(true) => {
                self.answered = true;
                Ok(true)
            }
            // The peer closed the connection: ureq reads no progress as that.
            Ok(false) if self.may_be_stale() => Err(ureq::Error::Other(Box::new(Stale(
                "the server closed the connection".into(),
            )))),
            Ok(false) => Ok(false),
            Err(e) => Err(self.classify(e)),
        }
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// The resolver, with failures marked. An endpoint given as an IP address is
/// answered at once; a host name goes to [`crate::resolve`], which never starts a
/// thread per call. With `forward_to`, every request's address is the proxy's.
#[derive(Debug, Default)]
pub(crate) struct MarkingResolver {
    forward_to: Option<Uri>,
}

impl MarkingResolver {
    /// A resolver that sends every request to the proxy at `proxy`.
    pub(crate) fn forwarding_to(proxy: Uri) -> MarkingResolver {
        MarkingResolver {
            forward_to: Some(proxy),
        }
    }
}

impl Resolver for MarkingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        _config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let uri = self.forward_to.as_ref().unwrap_or(uri);
        let mut addrs = self.empty();
        if let Some(addr) = literal_socket_addr(uri) {
            addrs.push(addr);
            return Ok(addrs);
        }
        let (host, port) = host_and_port(uri)
            .ok_or_else(|| not_delivered(Stage::Resolve, ureq::Error::HostNotFound))?;
        let found = crate::resolve::lookup(host, port, budget(timeout))
            .map_err(|why| not_delivered(Stage::Resolve, ureq::Error::Other(why.into())))?;
        for addr in found.iter().take(MAX_ADDRESSES) {
            addrs.push(*addr);
        }
        Ok(addrs)
    }
}

/// Most addresses ureq takes from one lookup (its fixed-size list holds 16).
const MAX_ADDRESSES: usize = 16;

/// How long ureq lets the lookup take.
fn budget(timeout: NextTimeout) -> std::time::Duration {
    match timeout.after {
        TimeoutAfter::Exact(d) => d,
        _ => std::time::Duration::from_secs(3600),
    }
}

/// The host (without IPv6 brackets) and port of `uri`, the scheme's port by default.
fn host_and_port(uri: &Uri) -> Option<(&str, u16)> {
    let authority = uri.authority()?;
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = authority.port_u16().or(match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => Some(443),
        Some(s) if s.eq_ignore_ascii_case("http") => Some(80),
        _ => None,
    })?;
    Some((host, port))
}

/// The socket address of a URI whose host is an IP literal (`127.0.0.1`, `[::1]`).
fn literal_socket_addr(uri: &Uri) -> Option<SocketAddr> {
    let (host, port) = host_and_port(uri)?;
    let ip: IpAddr = host.parse().ok()?;
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

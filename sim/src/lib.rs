//! `lcm-sim`: a local stand-in for the LCM web service's `SetCallOutcomeWithComments`.
//!
//! A real HTTP/1.1 server, built on [hyper](https://hyper.rs) and a small tokio runtime of
//! its own, meant for loopback, that behaves as the vendor page documents:
//! it validates the request envelope and every data field strictly (a test double should
//! catch client bugs), answers the documented `WS_Error` cases, records each accepted
//! outcome, and injects faults on demand (see [`Faults`] and the list below). It serves
//! HTTPS too ([`SimConfig::tls`], with certificates from a [`TestCa`]).
//!
//! ```no_run
//! use lcm_sim::{Answer, Faults, Sim, SimConfig};
//!
//! let sim = Sim::start(SimConfig::default()).unwrap();
//! let endpoint = sim.url(); // "http://127.0.0.1:PORT/lcm"; any path works (see SimConfig::path)
//! // ... point the client at `endpoint`, send an outcome ...
//! assert_eq!(sim.accepted().len(), 1);
//! sim.set_faults(Faults::answering(Answer::fail_times(503, 1))).unwrap();
//! // ... the next request gets a 503 ...
//! sim.stop();
//! ```
//!
//! # Answers
//! - with [`SimConfig::path`] set, a request for another path: 404 with
//!   `{"error":"path: lcm-sim serves <path>; point the endpoint there ..."}`, whatever the
//!   faults (no LCM is there to misbehave), nothing recorded;
//! - not `POST`: 405; a `Content-Type` other than `application/json`: 415; a body that
//!   is not a valid envelope: 400 with `{"error":"<field>: <what is wrong>"}`;
//! - an empty `callid`, or one missing from [`SimConfig::calls`]: 200 with the vendor's
//!   `WS_Error` result (`success:false`);
//! - otherwise the outcome is recorded, then 200 with the vendor's sample response.
//!
//! Every answer carries `Content-Length` (unless [`Faults::overlong_chunk_line`] says
//! otherwise); connections are kept alive unless the client asks otherwise. A request
//! hyper cannot parse gets hyper's own 400 (or 431) and a closed connection; a body over
//! 16 MiB gets 413.
//!
//! # Faults
//! [`Faults::answer`] replaces LCM's answer by one [`Answer`] (nothing is recorded):
//! - [`Answer::DropConnection`], [`Answer::Hang`]: no answer at all;
//! - [`Answer::Status`] (any status, counted, with [`RetryAfter`]), [`Answer::Redirect`];
//! - [`Answer::Malformed`] (not JSON), [`Answer::Variant`] (a result wrong in one way);
//! - [`Answer::EchoAuth`]: the request's `Authorization` (whole, or its token) echoed in
//!   the body, plain, JSON-escaped as .NET does (`+` as `\u002B`), percent-encoded or
//!   base64, or in a redirect's `Location` path ([`AuthEcho`], [`AuthPart`]);
//! - [`Answer::ControlCharsBody`]: an error body holding [`CONTROL_CHARS`] raw;
//! - [`Answer::RejectedDetail`]: `success:false` with a `WS_Error` whose `detail` holds
//!   [`CONTROL_CHARS`] or echoes the request's `AgentComments` ([`RejectedDetail`]).
//!
//! The other [`Faults`] fields shape whatever is answered: [`Faults::latency_ms`],
//! [`Faults::pad_body_to`], a UTF-8 byte-order mark ([`Faults::bom`]), an unasked gzip
//! body ([`Faults::gzip`]), a chunked answer with an over-long chunk-size line
//! ([`Faults::overlong_chunk_line`]), headers or body trickled byte by byte, a TCP reset
//! mid-body, and, after the answer, a close once idle ([`Faults::close_idle_ms`]), at once
//! or, with [`Faults::close_delay_ms`], after the connection lay abandoned, as a stale
//! keep-alive connection of nginx does ([`Sim::abandoned_connection_count`] tells when).
//! [`Faults::validate`] (applied by [`Sim::start`], [`Sim::set_faults`] and the command
//! line) refuses combinations where a fault could not take effect.
//!
//! The public API is synchronous: the server runs on its own threads (one that owns the
//! runtime, and a few runtime workers), so a [`Sim`] can be started, queried, stopped and
//! dropped from any thread, inside another async runtime or not.
#![warn(missing_docs)]

#[macro_use]
mod names;

mod answer;
mod cli;
mod envelope;
mod fault_io;
mod fault_reply;
mod faults;
mod record;
mod reply;
mod server;
mod service;
mod stream;
mod tls;

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub use answer::{
    Answer, AnswerVariant, AuthEcho, AuthPart, RejectedDetail, RetryAfter, CONTROL_CHARS,
};
pub use cli::{run_cli, usage, CliError};
pub use faults::{ChunkPadding, Faults, InvalidFaults, OverlongChunkLine};
pub use tls::{TestCa, TlsIdentity};

use record::Recorder;
use server::Server;
use service::Shared;

/// How to run a [`Sim`]. The default: plain HTTP, no record file, any call id known, no
/// faults, at most [`SimConfig::DEFAULT_MAX_CONNECTIONS`] connections at once, requests
/// kept for [`Sim::requests`].
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Append each accepted outcome to this file as one JSON line (created if needed).
    pub record: Option<PathBuf>,
    /// The known call ids; when set, any other call id gets the `WS_Error`
    /// `"Invalid Call ID:<callid>"`. `None` accepts any non-empty call id. The command
    /// line's `--calls FILE` fills it with [`load_calls_file`]: one call id per line,
    /// blanks around it trimmed, blank lines and lines starting with `#` ignored.
    pub calls: Option<HashSet<String>>,
    /// Faults injected from the first request on.
    pub faults: Faults,
    /// The most TCP connections served at once, at least 1; by default
    /// [`SimConfig::DEFAULT_MAX_CONNECTIONS`]. Further connections wait in the listen
    /// backlog until one closes. (Connections are tasks on a few runtime threads, not a
    /// thread each.)
    pub max_connections: usize,
    /// Serve HTTPS with this identity (e.g. from [`TestCa::issue_for_loopback`]);
    /// [`Sim::url`] then says `https://`. `None`: plain HTTP.
    pub tls: Option<TlsIdentity>,
    /// Keep every request and accepted outcome in memory for [`Sim::requests`] and
    /// [`Sim::accepted`] (the default). `false` for long load tests and benchmarks: memory
    /// stays flat, those two return empty lists, and the counters
    /// ([`Sim::request_count`], [`Sim::accepted_count`], [`Sim::connection_count`]) and
    /// the record file still work.
    pub keep_requests: bool,
    /// Serve only this request path, compared exactly (`/api/lcm`; the query string is
    /// not part of it): a request for any other path gets 404 with a JSON body naming
    /// the path served, whatever the faults, and nothing is recorded. [`Sim::url`] then
    /// ends with it. It must start with `/` and hold no blank, control character, `?`
    /// or `#`. `None` (the default): every path is served alike.
    pub path: Option<String>,
}

impl SimConfig {
    /// The default [`SimConfig::max_connections`].
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            record: None,
            calls: None,
            faults: Faults::default(),
            max_connections: SimConfig::DEFAULT_MAX_CONNECTIONS,
            tls: None,
            keep_requests: true,
            path: None,
        }
    }
}

/// A request as it arrived, kept for tests whatever happened to it afterwards.
#[derive(Clone, Debug)]
pub struct ReceivedRequest {
    /// Which TCP connection it came on: 1 for the first one accepted, and so on (see
    /// [`Sim::connection_count`]).
    pub connection: usize,
    /// The method, as sent (`"POST"`).
    pub method: String,
    /// The request target, as sent (`"/lcm"`, query included).
    pub path: String,
    /// The headers, names in lower case (as hyper gives them), each name's values in the
    /// order received.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked when it was sent chunked.
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    /// The first header named `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A running simulator. Stops on [`Sim::stop`] or when dropped.
pub struct Sim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    https: bool,
    /// The path [`Sim::url`] ends with.
    path: String,
    server: Option<Server>,
}

impl Sim {
    /// Starts a simulator on `127.0.0.1` and a free port (see [`Sim::addr`]).
    pub fn start(config: SimConfig) -> io::Result<Sim> {
        Sim::bind("127.0.0.1:0", config)
    }

    /// Starts a simulator on `addr`, e.g. `"127.0.0.1:8080"` (port 0 picks a free one).
    /// Fails if the faults are invalid (`InvalidInput`, with [`Faults::validate`]'s
    /// message), the address cannot be bound, the record file cannot be opened or the TLS
    /// identity is unusable (`InvalidData`, naming what is wrong); `max_connections` 0 and
    /// a [`SimConfig::path`] that is no path are `InvalidInput` too.
    pub fn bind(addr: &str, config: SimConfig) -> io::Result<Sim> {
        if config.max_connections == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "max_connections (--max-connections): must be at least 1, got 0",
            ));
        }
        if let Some(problem) = config.path.as_deref().and_then(service::path_problem) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, problem));
        }
        config
            .faults
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let tls = match &config.tls {
            Some(identity) => Some(tokio_rustls::TlsAcceptor::from(identity.server_config()?)),
            None => None,
        };
        let recorder = Recorder::open(config.record.as_deref(), config.keep_requests)?;
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let path = config.path.clone().unwrap_or_else(|| "/lcm".to_owned());
        let shared = Arc::new(Shared::new(
            config.calls,
            config.faults,
            recorder,
            config.keep_requests,
            config.path,
        ));
        let https = tls.is_some();
        let server = Server::start(listener, Arc::clone(&shared), config.max_connections, tls)?;
        Ok(Sim {
            shared,
            addr,
            https,
            path,
            server: Some(server),
        })
    }

    /// The address the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint URL, `http://127.0.0.1:PORT/lcm` (`https://` with
    /// [`SimConfig::tls`]; the path is [`SimConfig::path`] when set, and otherwise any path
    /// is served the same way). When bound to an unspecified address (`0.0.0.0`, `::`) it
    /// names the loopback one.
    pub fn url(&self) -> String {
        let addr = match self.addr {
            SocketAddr::V4(a) if a.ip().is_unspecified() => {
                SocketAddr::from((Ipv4Addr::LOCALHOST, a.port()))
            }
            SocketAddr::V6(a) if a.ip().is_unspecified() => {
                SocketAddr::from((Ipv6Addr::LOCALHOST, a.port()))
            }
            other => other,
        };
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{addr}{}", self.path)
    }

    /// Replaces the faults; applies from the next request whose head arrives. Refuses
    /// (and leaves the faults in force unchanged) what [`Faults::validate`] refuses.
    pub fn set_faults(&self, faults: Faults) -> Result<(), InvalidFaults> {
        faults.validate()?;
        *lock(&self.shared.faults) = faults;
        Ok(())
    }

    /// The faults now in force (a counted [`Answer::Status`] counts down as it is
    /// served, then reads back as [`Answer::Normal`]).
    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).clone()
    }

    /// Every request received so far, in order, faulted or not. Requests that were not
    /// readable HTTP (answered 400/431 by hyper, or 413 for a body over 16 MiB) are not
    /// included. Empty when [`SimConfig::keep_requests`] is false.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.shared
            .requests
            .as_ref()
            .map(|requests| lock(requests).clone())
            .unwrap_or_default()
    }

    /// How many requests were received so far (the length [`Sim::requests`] has when
    /// requests are kept); counted whether they are kept or not.
    pub fn request_count(&self) -> usize {
        self.shared.request_total.load(Ordering::SeqCst)
    }

    /// The accepted outcomes so far, in order: each request's `data` object plus
    /// `source` (null when not sent) and `received_at_ms` — the lines of the record file.
    /// Empty when [`SimConfig::keep_requests`] is false.
    pub fn accepted(&self) -> Vec<serde_json::Value> {
        self.shared.recorder.lines()
    }

    /// How many outcomes were accepted (recorded) so far, kept in memory or not.
    pub fn accepted_count(&self) -> usize {
        self.shared.recorder.count()
    }

    /// TCP connections accepted so far (exact: counted at `accept()`, whether or not a
    /// request, or a TLS handshake, followed). N sequential calls over a kept-alive
    /// connection count 1; each connection the simulator closed (`close_idle_ms`) and the
    /// client replaced counts again.
    pub fn connection_count(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// TCP connections closed so far, by either side; each is counted once its socket
    /// was released, so a test can wait for a close (e.g. `close_idle_ms`) to have
    /// happened before its next call.
    pub fn closed_connection_count(&self) -> usize {
        self.shared.closed_connections.load(Ordering::SeqCst)
    }

    /// Connections abandoned so far by [`Faults::close_delay_ms`]: counted the moment
    /// one is abandoned (idle for `close_idle_ms`), before its close, so that a test can
    /// wait for it and then send a request that must go unanswered.
    pub fn abandoned_connection_count(&self) -> usize {
        self.shared.abandoned_connections.load(Ordering::SeqCst)
    }

    /// Stops the simulator: closes the listener and every open connection, idle or busy
    /// (a client sees EOF, no answer), cuts latency sleeps short and waits for the
    /// server's threads, at most a few seconds. Dropping the `Sim` does the same.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("addr", &self.addr)
            .field("https", &self.https)
            .field("faults", &self.faults())
            .field("requests", &self.request_count())
            .field("connections", &self.connection_count())
            .finish_non_exhaustive()
    }
}

/// Reads a calls file (`--calls`): one known call id per line; surrounding whitespace is
/// trimmed, and blank lines and lines starting with `#` are ignored. For example:
///
/// ```text
/// # calls the dialer made today
/// 12345
/// 12346
/// ```
pub fn load_calls_file(path: &Path) -> io::Result<HashSet<String>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

/// Locks a mutex, ignoring poisoning: a panic in one connection task must not take
/// the whole simulator down, and every critical section leaves consistent data.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

//! Who holds a connection to LCM? A [`Client`]: its settings, the HTTP agent and
//! its connection pool, renewed after fork(). One call's deadline, attempts and
//! retries are in `call.rs`; what a failure means is in `failure.rs`.
//!
//! A [`Client`] holds an immutable snapshot (settings + agent) in an `ArcSwap`: a
//! call uses the settings in force when it started, configuration may change
//! meanwhile, and no lock is ever taken. That matters beyond speed: a child forked
//! while a parent thread held a lock would wait for that thread forever.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, ArcSwapOption};

use ureq::tls::TlsConfig;
use ureq::Agent;

pub(crate) use crate::call::send;
use crate::config::{Key, Settings};
use crate::error::Error;
use crate::message::Outcome;
use crate::outbox::{self, Counts, FlushReport, Sender};
use crate::proxy::{authorization, forwards, proxy_for};
use crate::redact::Redactor;
use crate::transport::{MarkingConnector, MarkingResolver};
use crate::trust::Trust;

pub use crate::call::MAX_RESPONSE_BYTES;

/// Idle connections kept per host. A dialer's agent threads call at once, and each
/// one that finds no idle connection opens a new one, so the pool is sized for
/// many threads rather than ureq's default of 3.
const MAX_IDLE_CONNECTIONS: usize = 256;

/// Buffers of each connection, which ureq allocates and zeroes when it opens one
/// and a pooled connection keeps (ureq's defaults are 128 KiB each). An answer's
/// head must fit the input buffer whole, hence the header limit below it; a
/// request leaves through the output buffer in pieces, so it can be small. Against
/// the defaults this saves 180,000 instructions on a process's first call and
/// 176 KiB per pooled connection.
const INPUT_BUFFER_BYTES: usize = 64 * 1024;
const OUTPUT_BUFFER_BYTES: usize = 16 * 1024;
const MAX_RESPONSE_HEADER_BYTES: usize = 32 * 1024;

/// A connection to one LCM service: its settings and its connection pool.
///
/// Safe to share between threads; every method takes `&self`.
pub struct Client {
    /// Shared with the outbox's sender, which delivers with the settings in force.
    current: Arc<ArcSwap<Snapshot>>,
    /// The outbox's background sender, once started (in this process).
    sender: ArcSwapOption<Sender>,
}

/// What a call needs, frozen: settings, the proxy they resolve to, and an agent
/// (pool) built from them in the process `pid`.
pub(crate) struct Snapshot {
    pub(crate) settings: Settings,
    /// The proxy in use for the endpoint, or why none can be (a SOCKS proxy in the
    /// environment).
    pub(crate) proxy: Result<Option<ureq::Proxy>, String>,
    /// `Proxy-Authorization` for requests that a plain HTTP proxy forwards.
    pub(crate) proxy_authorization: Option<String>,
    /// The CAs HTTPS trusts.
    pub(crate) trust: Trust,
    pub(crate) agent: Agent,
    /// An agent that keeps no connection, for the one re-send after a pooled
    /// connection turned out to be closed (docs/design.md §5).
    pub(crate) fresh_agent: Agent,
    pid: u32,
}

impl Snapshot {
    /// A snapshot for `settings`, reading the proxy environment if they say so, and
    /// the system's CA store if `tls_roots` does and it was not read yet or `reread`.
    fn new(settings: Settings, reread: bool) -> Snapshot {
        let proxy = proxy_for(&settings.proxy, settings.endpoint.as_ref());
        let trust = Trust::load(settings.tls_roots, settings.ca_file.as_ref(), reread);
        Snapshot::with_proxy(settings, proxy, trust)
    }

    fn with_proxy(
        settings: Settings,
        proxy: Result<Option<ureq::Proxy>, String>,
        trust: Trust,
    ) -> Snapshot {
        let usable = proxy.as_ref().ok().and_then(Option::as_ref);
        let forwarded = usable.filter(|p| forwards(settings.endpoint.as_ref(), p));
        Snapshot {
            agent: build_agent(&settings, usable, &trust, MAX_IDLE_CONNECTIONS),
            fresh_agent: build_agent(&settings, usable, &trust, 0),
            proxy_authorization: forwarded.and_then(authorization),
            settings,
            proxy,
            trust,
            pid: std::process::id(),
        }
    }

    /// Whether requests go to a plain HTTP proxy in absolute form.
    pub(crate) fn forwarded(&self) -> bool {
        matches!(&self.proxy, Ok(Some(p)) if forwards(self.settings.endpoint.as_ref(), p))
    }

    /// The same settings with a new, empty pool, for a forked child. Nothing is read
    /// from the environment here: a parent thread may have held its lock at fork().
    fn renewed(&self) -> Snapshot {
        Snapshot::with_proxy(
            self.settings.clone(),
            self.proxy.clone(),
            self.trust.clone(),
        )
    }

    /// Other settings over the same proxy and pool, for a change that does not
    /// touch the transport.
    fn keeping_pool(&self, settings: Settings) -> Snapshot {
        Snapshot {
            settings,
            proxy: self.proxy.clone(),
            proxy_authorization: self.proxy_authorization.clone(),
            trust: self.trust.clone(),
            agent: self.agent.clone(),
            fresh_agent: self.fresh_agent.clone(),
            pid: self.pid,
        }
    }

    /// What this snapshot's calls must keep out of their texts: the `auth` value and
    /// its token, the proxy's credentials, and (below `trace`) `comments`.
    pub(crate) fn redactor(&self, comments: &str) -> Redactor {
        let auth = self.settings.auth.as_ref().map(|a| a.0.as_str());
        let token = auth.and_then(|a| a.split_once(' ')).map(|(_, t)| t.trim());
        let proxy = self.proxy.as_ref().ok().and_then(Option::as_ref);
        let password = proxy.and_then(|p| p.password());
        let credentials = proxy
            .zip(password)
            .map(|(p, pass)| format!("{}:{pass}", p.username().unwrap_or_default()));
        Redactor::new(
            [
                auth,
                token,
                password,
                credentials.as_deref(),
                self.proxy_authorization.as_deref(),
            ]
            .into_iter()
            .flatten(),
            comments,
            self.settings.log_level,
        )
    }

    /// Whether a call to `endpoint` speaks TLS: to the endpoint, or to the proxy.
    pub(crate) fn uses_tls(&self, endpoint: &crate::config::Endpoint) -> bool {
        let https_proxy =
            matches!(&self.proxy, Ok(Some(p)) if p.protocol() == ureq::ProxyProtocol::Https);
        https_proxy
            || endpoint
                .url
                .get(..6)
                .is_some_and(|s| s.eq_ignore_ascii_case("https:"))
    }

    /// `host:port` of the proxy, for messages.
    pub(crate) fn proxy_name(&self) -> Option<String> {
        match &self.proxy {
            Ok(Some(p)) => Some(format!("{}:{}", p.host(), p.port())),
            _ => None,
        }
    }
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

impl Client {
    /// A client with the documented defaults and no endpoint; the environment is
    /// not read.
    pub fn new() -> Client {
        Client::with_settings(Settings::default())
    }

    /// A client configured from the `LCM_<KEY>` environment variables.
    pub fn from_env() -> Client {
        let client = Client::from_env_quietly();
        client.log_env_errors();
        client
    }

    /// [`Client::from_env`] without logging the environment's problems yet.
    pub(crate) fn from_env_quietly() -> Client {
        Client::with_settings(Settings::from_env())
    }

    /// Logs the `LCM_<KEY>` variables that could not be used (and are not yet
    /// overridden by configuration).
    pub(crate) fn log_env_errors(&self) {
        self.current.load().settings.log_env_errors();
    }

    /// A client with the given settings.
    pub fn with_settings(settings: Settings) -> Client {
        Client {
            current: Arc::new(ArcSwap::from_pointee(Snapshot::new(settings, false))),
            sender: ArcSwapOption::const_empty(),
        }
    }

    /// Sets option `key` (docs/design.md §4) to `value`; an empty value restores the
    /// default. Calls already running keep the settings they started with.
    pub fn configure(&self, key: &str, value: &str) -> Result<(), Error> {
        let key = Key::from_name(key)?;
        // Parse (which may read a CA file) and build, then swap in only if nobody
        // configured meanwhile; else redo on top of their change, which is kept.
        loop {
            let base = self.snapshot();
            let mut settings = base.settings.clone();
            settings.set(key, value)?;
            let next = if key.affects_transport() {
                // Setting tls_roots reads the system store again.
                Snapshot::new(settings, key == Key::TlsRoots)
            } else {
                base.keeping_pool(settings)
            };
            let previous = self.current.compare_and_swap(&base, Arc::new(next));
            if Arc::ptr_eq(&previous, &base) {
                if key == Key::Outbox {
                    self.start_sender_for_backlog();
                }
                return Ok(());
            }
        }
    }

    /// Starts the outbox's sender when the file just configured holds pending
    /// entries (left by an earlier run, or by another process).
    fn start_sender_for_backlog(&self) {
        let snapshot = self.snapshot();
        let backlog = snapshot
            .settings
            .outbox
            .as_ref()
            .and_then(|o| o.counts().ok())
            .is_some_and(|c| c.pending > 0);
        if backlog {
            Sender::wake(&self.sender, &self.current, false);
        }
    }

    /// Records `outcome` in LCM: builds the request, sends it, reads the answer.
    ///
    /// [`Sent::Confirmed`] only when LCM answered `success: true` for this call id;
    /// [`Sent::Queued`] when the client has an outbox and the outcome is stored in it
    /// for later delivery (docs/design.md §9). Returns within `timeout_ms`, retries
    /// included.
    ///
    /// Refused with [`Status::InvalidArgument`](crate::Status) from inside a log
    /// callback on the same thread: the call's own log lines would re-enter it.
    pub fn set_outcome(&self, outcome: &Outcome<'_>) -> Result<Sent, Error> {
        if crate::log::inside_callback() {
            return Err(Error::invalid_argument(
                "an outcome cannot be set from inside a log callback (its own log lines \
                 would come back to the callback); set it after the callback returns",
            ));
        }
        let snapshot = self.snapshot();
        match &snapshot.settings.outbox {
            None => send(
                &snapshot,
                outcome,
                Instant::now() + snapshot.settings.timeout,
                None,
            )
            .map(|()| Sent::Confirmed),
            Some(outbox) => {
                let wake = |lcm_up| Sender::wake(&self.sender, &self.current, lcm_up);
                outbox::send_or_queue(&snapshot, outbox, outcome, &wake)
            }
        }
    }

    /// Delivers the outbox's pending outcomes now, oldest first, each tried at most
    /// once, until none is left or `timeout` passes. `LCM_ERR_CONFIG` without an
    /// outbox.
    pub fn flush_outbox(&self, timeout: Duration) -> Result<FlushReport, Error> {
        let snapshot = self.snapshot();
        let outbox = outbox_of(&snapshot)?;
        outbox::flush(&snapshot, outbox, timeout)
    }

    /// The outbox's counts, without sending anything. `LCM_ERR_CONFIG` without an
    /// outbox.
    pub fn outbox_counts(&self) -> Result<Counts, Error> {
        outbox_of(&self.snapshot())?.counts()
    }

    /// The snapshot in force, with a fresh pool when the process has forked since
    /// the pool was made: a child must never write to its parent's sockets.
    fn snapshot(&self) -> Arc<Snapshot> {
        current(&self.current)
    }
}

impl Drop for Client {
    /// Stops the outbox's background sender and waits for it (within the deadline
    /// of a delivery it is making).
    fn drop(&mut self) {
        Sender::stop(&self.sender);
    }
}

/// The outcome of [`Client::set_outcome`] that is not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// LCM answered `success: true` for this call id.
    Confirmed,
    /// Not confirmed now, but stored in the outbox as entry `id`; `message` says why
    /// it was queued (`LCM_QUEUED`'s text).
    Queued { id: i64, message: String },
}

fn outbox_of(snapshot: &Snapshot) -> Result<&crate::outbox::Outbox, Error> {
    snapshot.settings.outbox.as_deref().ok_or_else(|| {
        Error::config("this client has no outbox; set the outbox option to a file path first")
    })
}

/// The snapshot in `cell`, renewed first when the process has forked since it was made.
pub(crate) fn current(cell: &ArcSwap<Snapshot>) -> Arc<Snapshot> {
    let pid = std::process::id();
    loop {
        let current = cell.load_full();
        if current.pid == pid {
            return current;
        }
        let renewed = Arc::new(current.renewed());
        let previous = cell.compare_and_swap(&current, renewed.clone());
        if Arc::ptr_eq(&previous, &current) {
            return renewed;
        }
        // Another thread of this child renewed or reconfigured it first: use that.
    }
}

/// The HTTP agent for `settings`: no redirects, non-2xx statuses as answers (not
/// errors), HTTPS trusting `trust` (`tls_roots` plus `ca_file`), failures before
/// sending marked as such, `proxy` as a tunnel or (plain HTTP) forwarding, and up to
/// `idle_connections` kept for reuse.
fn build_agent(
    settings: &Settings,
    proxy: Option<&ureq::Proxy>,
    trust: &Trust,
    idle_connections: usize,
) -> Agent {
    let tls = TlsConfig::builder().root_certs(trust.root_certs());
    let (forward, tunnel) = match proxy {
        Some(p) if forwards(settings.endpoint.as_ref(), p) => (Some(p), None),
        other => (None, other),
    };
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .timeout_connect(Some(settings.connect_timeout))
        .proxy(tunnel.cloned())
        .tls_config(tls.build())
        .user_agent(concat!("lcm-outcome/", env!("CARGO_PKG_VERSION")))
        .max_idle_connections(idle_connections)
        .max_idle_connections_per_host(idle_connections)
        .input_buffer_size(INPUT_BUFFER_BYTES)
        .output_buffer_size(OUTPUT_BUFFER_BYTES)
        .max_response_header_size(MAX_RESPONSE_HEADER_BYTES)
        .build();
    match forward {
        Some(proxy) => Agent::with_parts(
            config,
            MarkingConnector::forwarding(),
            MarkingResolver::forwarding_to(proxy.uri().clone()),
        ),
        None => Agent::with_parts(
            config,
            MarkingConnector::default(),
            MarkingResolver::default(),
        ),
    }
}

//! Sending: the HTTP agent and its connection pool, the per-call deadline, retries,
//! and the classification of every failure into a [`Status`].
//!
//! A [`Client`] holds an immutable snapshot (settings + agent) behind a lock that is
//! held only to clone or swap an `Arc`: a call uses the settings in force when it
//! started, configuration may change meanwhile, and calls never wait on each other
//! or on a configuration change's file reads.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard, TryLockError};
use std::time::{Duration, Instant, SystemTime};

use ureq::tls::{RootCerts, TlsConfig};
use ureq::Agent;

use crate::config::{Endpoint, Key, ProxySetting, Secret, Settings};
use crate::error::{Error, Status};
use crate::log::{log, Level};
use crate::message::{self, quote_body, Outcome};
use crate::transport::{as_not_delivered, MarkingConnector, MarkingResolver, Stage};

/// Largest answer body read, in bytes; a larger one is `LCM_ERR_BAD_RESPONSE`, so
/// that a hostile or broken server cannot exhaust the dialer's memory.
pub const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

/// Idle connections kept per host. A dialer's agent threads call at once, and each
/// one that finds no idle connection opens a new one, so the pool is sized for
/// many threads rather than ureq's default of 3.
const MAX_IDLE_CONNECTIONS: usize = 256;

/// The first retry waits between half of this and this; each further retry doubles
/// it, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What a forked child is told when another thread was changing this client's
/// configuration at the moment of fork().
const FORKED_WHILE_LOCKED: &str = "this client's configuration was being changed by another \
     thread when the process forked, so the child cannot use it; create a new client in the \
     child, or fork when no thread is inside lcm_configure";

/// A connection to one LCM service: its settings and its connection pool.
///
/// Safe to share between threads; every method takes `&self`.
pub struct Client {
    current: RwLock<Arc<Snapshot>>,
    /// The process the current pool belongs to, readable without the lock, so that
    /// a forked child never waits on a lock a parent thread held at fork().
    pool_pid: AtomicU32,
}

/// What a call needs, frozen: settings, and an agent (pool) built from them in the
/// process `pid`.
struct Snapshot {
    settings: Settings,
    agent: Agent,
    pid: u32,
    /// `host:port` of the proxy the agent goes through, for messages.
    proxy: Option<String>,
}

impl Snapshot {
    fn new(settings: Settings) -> Snapshot {
        let (agent, proxy) = build_agent(&settings);
        Snapshot {
            settings,
            agent,
            pid: std::process::id(),
            proxy,
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
        Client::with_settings(Settings::from_env())
    }

    /// A client with the given settings.
    pub fn with_settings(settings: Settings) -> Client {
        let snapshot = Snapshot::new(settings);
        let pid = snapshot.pid;
        Client {
            current: RwLock::new(Arc::new(snapshot)),
            pool_pid: AtomicU32::new(pid),
        }
    }

    /// Sets option `key` (design.md §4) to `value`; an empty value restores the
    /// default. Calls already running keep the settings they started with.
    pub fn configure(&self, key: &str, value: &str) -> Result<(), Error> {
        let key = Key::from_name(key)?;
        // Parse (which may read a CA file) and build outside the lock; swap only if
        // nobody configured meanwhile, else redo on top of their change.
        loop {
            let base = self.snapshot();
            let mut settings = base.settings.clone();
            settings.set(key, value)?;
            let next = if key.affects_transport() {
                Snapshot::new(settings)
            } else {
                Snapshot {
                    settings,
                    agent: base.agent.clone(),
                    pid: base.pid,
                    proxy: base.proxy.clone(),
                }
            };
            let mut slot = self.lock_for_swap()?;
            if Arc::ptr_eq(&slot, &base) {
                *slot = Arc::new(next);
                return Ok(());
            }
        }
    }

    /// The lock, for swapping the snapshot. In a forked child it may have been held
    /// by a parent thread at fork(), which would block forever: only try there.
    fn lock_for_swap(&self) -> Result<RwLockWriteGuard<'_, Arc<Snapshot>>, Error> {
        if self.pool_pid.load(Ordering::Acquire) == std::process::id() {
            return Ok(self.current.write().unwrap_or_else(PoisonError::into_inner));
        }
        match self.current.try_write() {
            Ok(slot) => Ok(slot),
            Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(TryLockError::WouldBlock) => Err(Error::config(FORKED_WHILE_LOCKED)),
        }
    }

    /// A copy of the settings in force now.
    pub fn settings(&self) -> Settings {
        self.snapshot().settings.clone()
    }

    /// Records `outcome` in LCM: builds the request, sends it, reads the answer.
    ///
    /// `Ok(())` only when LCM answered `success: true` for this call id. Returns
    /// within `timeout_ms`, retries included.
    pub fn set_outcome(&self, outcome: &Outcome<'_>) -> Result<(), Error> {
        let started = Instant::now();
        let snapshot = self.snapshot();
        let settings = &snapshot.settings;
        let level = settings.log_level;
        let result = message::build_request(&settings.source, outcome).and_then(|body| {
            let endpoint = settings.ready_endpoint()?;
            Call {
                snapshot: &snapshot,
                endpoint,
                body: &body,
                call_id: outcome.call_id,
            }
            .run(started + settings.timeout)
        });
        let elapsed = started.elapsed().as_millis();
        match &result {
            Ok(()) => log(level, Level::Debug, || {
                format!(
                    "outcome recorded for call {} in {elapsed} ms",
                    outcome.call_id
                )
            }),
            Err(e) => log(level, Level::Info, || {
                format!(
                    "{} after {elapsed} ms: {}",
                    e.status().name(),
                    loggable(level, e)
                )
            }),
        }
        result
    }

    /// The snapshot in force, with a fresh pool when the process has forked since
    /// the pool was made: a child must never write to its parent's sockets.
    fn snapshot(&self) -> Arc<Snapshot> {
        let pid = std::process::id();
        if self.pool_pid.load(Ordering::Acquire) == pid {
            return self
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
        }
        // A forked child. A parent thread may have held the lock at fork(); that
        // thread does not exist here, so waiting could be forever: only try.
        if let Ok(mut slot) = self.current.try_write() {
            if slot.pid != pid {
                *slot = Arc::new(Snapshot::new(slot.settings.clone()));
            }
            self.pool_pid.store(pid, Ordering::Release);
            return slot.clone();
        }
        match self.current.try_read() {
            // Unpooled for this call; a later call will try to install a pool again.
            Ok(slot) => Arc::new(Snapshot::new(slot.settings.clone())),
            // Held for writing at fork(): the settings are unreadable for good.
            Err(_) => Arc::new(Snapshot::new(Settings::unusable(FORKED_WHILE_LOCKED))),
        }
    }
}

/// The HTTP agent for `settings`: no redirects, non-2xx statuses as answers (not
/// errors), HTTPS trust from `ca_file` or the webpki roots, and failures before
/// sending marked as such. Also the proxy's `host:port`, if one is used.
fn build_agent(settings: &Settings) -> (Agent, Option<String>) {
    let mut tls = TlsConfig::builder();
    if let Some(ca) = &settings.ca_file {
        tls = tls.root_certs(RootCerts::Specific(ca.certs.clone()));
    }
    let proxy = match &settings.proxy {
        ProxySetting::FromEnvironment => ureq::Proxy::try_from_env(),
        ProxySetting::Direct => None,
        ProxySetting::Url(proxy) => Some(proxy.clone()),
    };
    let proxy_name = proxy.as_ref().map(|p| format!("{}:{}", p.host(), p.port()));
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .timeout_connect(Some(settings.connect_timeout))
        .proxy(proxy)
        .tls_config(tls.build())
        .user_agent(concat!("lcm-outcome/", env!("CARGO_PKG_VERSION")))
        .max_idle_connections(MAX_IDLE_CONNECTIONS)
        .max_idle_connections_per_host(MAX_IDLE_CONNECTIONS)
        .build();
    let agent = Agent::with_parts(
        config,
        MarkingConnector::default(),
        MarkingResolver::default(),
    );
    (agent, proxy_name)
}

/// The error text for a log line at `level`: without quotes of server bodies below
/// `trace`, since a body may echo agent comments (personal data).
fn loggable(level: Level, error: &Error) -> &str {
    if level >= Level::Trace {
        error.message()
    } else {
        error.message_without_quote()
    }
}

/// One failed attempt: the error the caller would get, and whether another attempt
/// is allowed (the request provably was not delivered, or the server asked for it).
struct Failure {
    error: Error,
    retry: Retry,
}

enum Retry {
    No,
    /// After the library's own backoff.
    Backoff,
    /// After the server's `Retry-After` (and at least the library's backoff).
    After(Duration),
}

impl Failure {
    fn final_(error: Error) -> Failure {
        Failure {
            error,
            retry: Retry::No,
        }
    }
}

/// One `lcm_set_outcome` call in flight.
struct Call<'a> {
    snapshot: &'a Snapshot,
    endpoint: &'a Endpoint,
    body: &'a [u8],
    call_id: &'a str,
}

impl Call<'_> {
    /// Attempts until success, a final failure, no retries left, or no time left.
    fn run(&self, deadline: Instant) -> Result<(), Error> {
        let settings = &self.snapshot.settings;
        let level = settings.log_level;
        let attempts = settings.retries + 1;
        let mut attempt = 1;
        loop {
            log(level, Level::Debug, || {
                format!(
                    "POST {} for call {} (attempt {attempt} of {attempts})",
                    self.endpoint.display, self.call_id
                )
            });
            let failure = match self.attempt(deadline) {
                Ok(()) => return Ok(()),
                Err(failure) => failure,
            };
            let delay = match failure.retry {
                Retry::No => return Err(failure.error),
                _ if attempt == attempts => return Err(failure.error),
                Retry::Backoff => backoff(attempt),
                Retry::After(asked) => asked.max(backoff(attempt)),
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if delay >= left {
                let why = match failure.retry {
                    Retry::After(asked) => format!(
                        "LCM asked to retry after {} s, past the call's deadline (timeout_ms {})",
                        asked.as_secs(),
                        settings.timeout.as_millis()
                    ),
                    _ => format!(
                        "no time left for a retry within timeout_ms ({})",
                        settings.timeout.as_millis()
                    ),
                };
                return Err(append(failure.error, &why));
            }
            log(level, Level::Warn, || {
                format!(
                    "attempt {attempt} of {attempts} for call {} failed: {}; retrying in {} ms",
                    self.call_id,
                    loggable(level, &failure.error),
                    delay.as_millis()
                )
            });
            std::thread::sleep(delay);
            attempt += 1;
        }
    }

    /// One HTTP exchange, within what is left of the deadline.
    fn attempt(&self, deadline: Instant) -> Result<(), Failure> {
        let settings = &self.snapshot.settings;
        let remaining = deadline.saturating_duration_since(Instant::now());
        log(settings.log_level, Level::Trace, || {
            format!("request body: {}", String::from_utf8_lossy(self.body))
        });
        let mut request = self
            .snapshot
            .agent
            .post(&self.endpoint.url)
            .config()
            .timeout_global(Some(remaining))
            .timeout_connect(Some(settings.connect_timeout.min(remaining)))
            .build()
            .header("Content-Type", "application/json")
            .header("Accept", "application/json");
        if let Some(auth) = &settings.auth {
            request = request.header("Authorization", auth.0.as_str());
        }
        let mut response = request
            .send(self.body)
            .map_err(|e| self.classify(e, deadline))?;

        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map(|b| self.scrub(b));
        log(settings.log_level, Level::Trace, || match &body {
            Ok(b) => format!(
                "answer: HTTP {} {}",
                status.as_u16(),
                String::from_utf8_lossy(b)
            ),
            Err(e) => format!("answer: HTTP {} (body unreadable: {e})", status.as_u16()),
        });

        if !status.is_success() {
            return Err(self.status_failure(&response, body));
        }
        let body = body.map_err(|e| self.classify(e, deadline))?;
        message::parse_result(&body, self.call_id).map_err(Failure::final_)
    }

    /// A non-2xx answer. 503 and 429 are the server saying "again, later"; nothing
    /// else is retried, since the request may have been acted on.
    fn status_failure(
        &self,
        response: &ureq::http::Response<ureq::Body>,
        body: Result<Vec<u8>, ureq::Error>,
    ) -> Failure {
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let mut text = format!(
            "LCM answered HTTP {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        );
        if status.is_redirection() {
            text.push_str(" (redirects are not followed: set endpoint to the final URL");
            if let Some(location) = header("location") {
                let location = self.scrub(location.as_bytes().to_vec());
                text.push_str(&format!(
                    ", Location: {}",
                    message::short(&String::from_utf8_lossy(&location))
                ));
            }
            text.push(')');
        }
        text.push_str(&format!(" from {}", self.endpoint.display));
        let quote = match body {
            Ok(body) => quote_body(&body),
            Err(ureq::Error::BodyExceedsLimit(limit)) => format!("(over {limit} bytes)"),
            Err(e) => format!("(unreadable: {e})"),
        };
        let error = Error::with_body_quote(Status::HttpStatus, &text, &quote);
        let retry = match status.as_u16() {
            429 | 503 => match header("retry-after").and_then(retry_after) {
                Some(delay) => Retry::After(delay),
                None => Retry::Backoff,
            },
            _ => Retry::No,
        };
        Failure { error, retry }
    }

    /// Maps a transport error to a status. The question is whether the request may
    /// have reached LCM: failures marked [`NotDelivered`](crate::transport) happened
    /// before sending (`Connect`, retried), anything later leaves the outcome
    /// unknown (`Timeout`, never retried).
    fn classify(&self, error: ureq::Error, deadline: Instant) -> Failure {
        let endpoint = &self.endpoint.display;
        let settings = &self.snapshot.settings;
        if let Some(failed) = as_not_delivered(&error) {
            let target = match &self.snapshot.proxy {
                Some(proxy) => format!("{endpoint} through proxy {proxy}"),
                None => endpoint.clone(),
            };
            let (what, retry) = match (&failed.error, failed.stage) {
                (ureq::Error::Timeout(_), _) if Instant::now() >= deadline => (
                    format!(
                        "could not connect to {target} within the call's deadline (timeout_ms {})",
                        settings.timeout.as_millis()
                    ),
                    Retry::No,
                ),
                (ureq::Error::Timeout(_), _) => (
                    format!(
                        "could not connect to {target} within connect_timeout_ms ({})",
                        settings.connect_timeout.as_millis()
                    ),
                    Retry::Backoff,
                ),
                (e, Stage::Resolve) => (
                    format!("cannot resolve the host of {target}: {e}"),
                    Retry::Backoff,
                ),
                (ureq::Error::ConnectProxyFailed(why), _) => (
                    format!(
                        "the proxy would not connect to {endpoint}: {}",
                        message::short(why)
                    ),
                    Retry::Backoff,
                ),
                (e, _) if is_tls_failure(e) => (
                    format!(
                        "TLS with {target} failed (certificate verification or handshake): {e}"
                    ),
                    Retry::No,
                ),
                (e, _) => (format!("cannot connect to {target}: {e}"), Retry::Backoff),
            };
            let error = Error::new(Status::Connect, format!("{what}; the outcome was not sent"));
            return Failure { error, retry };
        }
        let unknown = "the outcome may or may not be recorded";
        let error = match error {
            ureq::Error::Timeout(_) => Error::new(
                Status::Timeout,
                format!(
                    "no complete answer from {endpoint} within timeout_ms ({}); {unknown}",
                    settings.timeout.as_millis()
                ),
            ),
            ureq::Error::Io(e) => Error::new(
                Status::Timeout,
                format!(
                    "the connection to {endpoint} failed before a complete answer ({e}); {unknown}"
                ),
            ),
            ureq::Error::BodyExceedsLimit(limit) => Error::new(
                Status::BadResponse,
                format!("LCM's answer from {endpoint} is larger than {limit} bytes; {unknown}"),
            ),
            ureq::Error::Protocol(e) => Error::new(
                Status::BadResponse,
                format!("LCM's answer from {endpoint} is not valid HTTP ({e}); {unknown}"),
            ),
            ureq::Error::LargeResponseHeader(size, limit) => Error::new(
                Status::BadResponse,
                format!(
                    "LCM's answer headers from {endpoint} exceed {limit} bytes ({size}); {unknown}"
                ),
            ),
            ureq::Error::BadUri(_) | ureq::Error::InvalidProxyUrl => Error::config(format!(
                "the endpoint {endpoint} or the proxy URL is not usable"
            )),
            other => Error::new(
                Status::Internal,
                format!("unexpected transport error talking to {endpoint}: {other}"),
            ),
        };
        Failure::final_(error)
    }

    /// The answer body with the `auth` secret blanked out (see [`scrub`]).
    fn scrub(&self, body: Vec<u8>) -> Vec<u8> {
        scrub(body, self.snapshot.settings.auth.as_ref())
    }
}

/// `body` with the `auth` value, and its token without the scheme (`Bearer`),
/// overwritten with `*`: a server could echo them, and quotes of answers end up in
/// messages and logs.
fn scrub(mut body: Vec<u8>, auth: Option<&Secret>) -> Vec<u8> {
    let Some(secret) = auth else {
        return body;
    };
    let token = secret.0.split_once(' ').map(|(_, token)| token.trim());
    for needle in [Some(secret.0.as_str()), token].into_iter().flatten() {
        let needle = needle.as_bytes();
        if needle.is_empty() {
            continue;
        }
        let mut i = 0;
        while i + needle.len() <= body.len() {
            if &body[i..i + needle.len()] == needle {
                body[i..i + needle.len()].fill(b'*');
                i += needle.len();
            } else {
                i += 1;
            }
        }
    }
    body
}

/// `error` with `; why` added to its message, status unchanged.
fn append(error: Error, why: &str) -> Error {
    let text = format!("{}; {why}", error.message());
    Error::new(error.status(), text)
}

/// TLS failures surface from rustls as `InvalidData` I/O errors (or ureq's own TLS
/// errors); retrying them cannot help.
fn is_tls_failure(error: &ureq::Error) -> bool {
    match error {
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => true,
        ureq::Error::Io(e) => e.kind() == std::io::ErrorKind::InvalidData,
        _ => false,
    }
}

/// The delay a `Retry-After` value asks for: seconds, or an HTTP date.
fn retry_after(value: &str) -> Option<Duration> {
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The delay before retry number `attempt` (1-based): exponential, with jitter so
/// that 200 threads failing together do not come back together.
fn backoff(attempt: u32) -> Duration {
    let base = FIRST_BACKOFF
        .saturating_mul(1 << (attempt - 1).min(16))
        .min(MAX_BACKOFF);
    // Half fixed, half random: [base/2, base).
    let half = base / 2;
    half + half.mul_f64(random_unit())
}

/// A number in [0, 1), from the standard library's randomly seeded hasher: jitter
/// needs no more than that.
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 1..40 {
            let base = FIRST_BACKOFF
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(MAX_BACKOFF);
            let d = backoff(attempt);
            assert!(d >= base / 2 && d < base, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn echoed_secrets_are_blanked() {
        let auth = Secret("Bearer abc123".into());
        let body = br#"{"echo":"Bearer abc123","token":"abc123","other":"abc12"}"#.to_vec();
        let scrubbed = String::from_utf8(scrub(body, Some(&auth))).unwrap();
        assert_eq!(
            scrubbed,
            r#"{"echo":"*************","token":"******","other":"abc12"}"#
        );
        assert_eq!(scrub(b"abc123".to_vec(), None), b"abc123");
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("18446744073709551615"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
        assert!(retry_after(&later).unwrap() > Duration::from_secs(3500));
        assert_eq!(retry_after("soon"), None);
    }
}

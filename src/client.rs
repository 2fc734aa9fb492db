//! Sending: the HTTP agent and its connection pool, the per-call deadline, retries,
//! and the classification of every failure into a [`Status`].
//!
//! A [`Client`] holds an immutable snapshot (settings + agent) behind a lock that is
//! held only to clone or replace an `Arc`: a call uses the settings in force when it
//! started, configuration may change meanwhile, and calls never wait on each other.

use std::io::ErrorKind;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use ureq::tls::{RootCerts, TlsConfig};
use ureq::{Agent, Timeout};

use crate::config::{Endpoint, Key, ProxySetting, Settings};
use crate::error::{Error, Status};
use crate::log::{log, Level};
use crate::message::{self, quote_body, Outcome};

/// Largest answer body read, in bytes; a larger one is `LCM_ERR_BAD_RESPONSE`, so
/// that a hostile or broken server cannot exhaust the dialer's memory.
pub const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

/// Idle connections kept per host. A dialer's agent threads call at once, and each
/// one that finds no idle connection opens a new one, so the pool is sized for
/// many threads rather than ureq's default of 3.
const MAX_IDLE_CONNECTIONS: usize = 256;

/// First retry delay; doubled for each further retry, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// A connection to one LCM service: its settings and its connection pool.
///
/// Safe to share between threads; every method takes `&self`.
pub struct Client {
    current: RwLock<Arc<Snapshot>>,
}

/// What a call needs, frozen: settings, and an agent (pool) built from them in the
/// process `pid`.
struct Snapshot {
    settings: Settings,
    agent: Agent,
    pid: u32,
}

impl Snapshot {
    fn new(settings: Settings) -> Snapshot {
        let agent = build_agent(&settings);
        Snapshot {
            settings,
            agent,
            pid: std::process::id(),
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
        Client {
            current: RwLock::new(Arc::new(Snapshot::new(settings))),
        }
    }

    /// Sets option `key` (design.md §4) to `value`; an empty value restores the
    /// default. Calls already running keep the settings they started with.
    pub fn configure(&self, key: &str, value: &str) -> Result<(), Error> {
        let key = Key::from_name(key)?;
        let mut slot = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let mut settings = slot.settings.clone();
        settings.set(key, value)?;
        let agent = if key.affects_transport() {
            build_agent(&settings)
        } else {
            slot.agent.clone()
        };
        *slot = Arc::new(Snapshot {
            settings,
            agent,
            pid: slot.pid,
        });
        Ok(())
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
                format!("{} after {elapsed} ms: {}", e.status().name(), e.message())
            }),
        }
        result
    }

    /// The snapshot in force, with a fresh pool when the process has forked since
    /// the pool was made: a child must never write to its parent's sockets.
    fn snapshot(&self) -> Arc<Snapshot> {
        let snapshot = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if snapshot.pid == std::process::id() {
            return snapshot;
        }
        let mut slot = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if slot.pid != std::process::id() {
            *slot = Arc::new(Snapshot::new(slot.settings.clone()));
        }
        slot.clone()
    }
}

/// The HTTP agent for `settings`: no redirects, non-2xx statuses as answers (not
/// errors), HTTPS trust from `ca_file` or the webpki roots.
fn build_agent(settings: &Settings) -> Agent {
    let mut tls = TlsConfig::builder();
    if let Some(ca) = &settings.ca_file {
        tls = tls.root_certs(RootCerts::Specific(ca.certs.clone()));
    }
    let proxy = match &settings.proxy {
        ProxySetting::FromEnvironment => ureq::Proxy::try_from_env(),
        ProxySetting::Direct => None,
        ProxySetting::Url(proxy) => Some(proxy.clone()),
    };
    Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .timeout_connect(Some(settings.connect_timeout))
        .proxy(proxy)
        .tls_config(tls.build())
        .user_agent(concat!("lcm-outcome/", env!("CARGO_PKG_VERSION")))
        .max_idle_connections(MAX_IDLE_CONNECTIONS)
        .max_idle_connections_per_host(MAX_IDLE_CONNECTIONS)
        .build()
        .into()
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
    /// After the delay the server gave in `Retry-After`.
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
        let attempts = settings.retries + 1;
        for attempt in 1..=attempts {
            log(settings.log_level, Level::Debug, || {
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
                Retry::After(delay) => delay,
            };
            if Instant::now() + delay >= deadline {
                let why = match failure.retry {
                    Retry::After(_) => format!(
                        "LCM asked to retry after {} s, past the call's deadline (timeout_ms {})",
                        delay.as_secs(),
                        settings.timeout.as_millis()
                    ),
                    _ => format!(
                        "no time left for a retry within timeout_ms ({})",
                        settings.timeout.as_millis()
                    ),
                };
                let message = format!("{}; {why}", failure.error.message());
                return Err(Error::new(failure.error.status(), message));
            }
            log(settings.log_level, Level::Warn, || {
                format!(
                    "attempt {attempt} of {attempts} for call {} failed: {}; retrying in {} ms",
                    self.call_id,
                    failure.error.message(),
                    delay.as_millis()
                )
            });
            std::thread::sleep(delay);
        }
        unreachable!("the last attempt always returns")
    }

    /// One HTTP exchange, within what is left of the deadline.
    fn attempt(&self, deadline: Instant) -> Result<(), Failure> {
        let settings = &self.snapshot.settings;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Failure::final_(
                self.timeout_error("before the request was sent"),
            ));
        }
        log(settings.log_level, Level::Trace, || {
            format!("request body: {}", String::from_utf8_lossy(self.body))
        });
        let mut request = self
            .snapshot
            .agent
            .post(&self.endpoint.url)
            .config()
            .timeout_global(Some(remaining))
            .build()
            .header("Content-Type", "application/json")
            .header("Accept", "application/json");
        if let Some(auth) = &settings.auth {
            request = request.header("Authorization", auth.0.as_str());
        }
        let mut response = request.send(self.body).map_err(|e| self.classify(e))?;

        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec();
        log(settings.log_level, Level::Trace, || match &body {
            Ok(b) => format!(
                "answer: HTTP {} {}",
                status.as_u16(),
                self.scrub(&String::from_utf8_lossy(b))
            ),
            Err(e) => format!("answer: HTTP {} (body unreadable: {e})", status.as_u16()),
        });

        if !status.is_success() {
            return Err(self.status_failure(&response, body.unwrap_or_default()));
        }
        let body = body.map_err(|e| self.classify(e))?;
        message::parse_result(&body, self.call_id)
            .map_err(|e| Failure::final_(Error::new(e.status(), self.scrub(e.message()))))
    }

    /// A non-2xx answer. 503 and 429 are the server saying "again, later"; nothing
    /// else is retried, since the request may have been acted on.
    fn status_failure(
        &self,
        response: &ureq::http::Response<ureq::Body>,
        body: Vec<u8>,
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
            text.push_str(&format!(
                " (redirects are not followed: set endpoint to the final URL{})",
                header("location")
                    .map(|l| format!(", Location: {}", message::short(l)))
                    .unwrap_or_default()
            ));
        }
        text.push_str(&format!(
            " from {}; body: {}",
            self.endpoint.display,
            quote_body(&body)
        ));
        let error = Error::new(Status::HttpStatus, self.scrub(&text));
        let retry = match status.as_u16() {
            429 | 503 => match header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
                Some(secs) => Retry::After(Duration::from_secs(secs)),
                None => Retry::Backoff,
            },
            _ => Retry::No,
        };
        Failure { error, retry }
    }

    /// Maps a transport error to a status: was the request provably not delivered
    /// (`Connect`, retried), or may it have been acted on (`Timeout`, not retried)?
    fn classify(&self, error: ureq::Error) -> Failure {
        let endpoint = &self.endpoint.display;
        let settings = &self.snapshot.settings;
        let connect = |what: String, retry: Retry| Failure {
            error: Error::new(Status::Connect, format!("{what}; the outcome was not sent")),
            retry,
        };
        match error {
            ureq::Error::Timeout(Timeout::Resolve | Timeout::Connect) => connect(
                format!(
                    "could not connect to {endpoint} within connect_timeout_ms ({})",
                    settings.connect_timeout.as_millis()
                ),
                Retry::Backoff,
            ),
            ureq::Error::Timeout(_) => {
                Failure::final_(self.timeout_error("while waiting for the answer"))
            }
            ureq::Error::HostNotFound => connect(
                format!("cannot resolve the host of {endpoint}"),
                Retry::Backoff,
            ),
            ureq::Error::Io(e) if is_connect_error(e.kind()) => {
                connect(format!("cannot connect to {endpoint}: {e}"), Retry::Backoff)
            }
            ureq::Error::ConnectionFailed => {
                connect(format!("cannot connect to {endpoint}"), Retry::Backoff)
            }
            ureq::Error::ConnectProxyFailed(why) => connect(
                format!(
                    "the proxy would not connect to {endpoint}: {}",
                    message::short(&why)
                ),
                Retry::Backoff,
            ),
            ureq::Error::Tls(why) => {
                connect(format!("TLS with {endpoint} failed: {why}"), Retry::No)
            }
            ureq::Error::Rustls(e) => connect(
                format!("TLS with {endpoint} failed (certificate verification or handshake): {e}"),
                Retry::No,
            ),
            ureq::Error::Pem(e) => connect(format!("TLS set-up failed: {e}"), Retry::No),
            ureq::Error::Io(e) => Failure::final_(Error::new(
                Status::Timeout,
                format!(
                    "the connection to {endpoint} failed before a complete answer ({e}); \
                     the outcome may or may not be recorded"
                ),
            )),
            ureq::Error::BodyExceedsLimit(limit) => Failure::final_(Error::new(
                Status::BadResponse,
                format!("LCM's answer from {endpoint} is larger than {limit} bytes"),
            )),
            ureq::Error::Protocol(e) => Failure::final_(Error::new(
                Status::BadResponse,
                format!("LCM's answer from {endpoint} is not valid HTTP: {e}"),
            )),
            ureq::Error::LargeResponseHeader(size, limit) => Failure::final_(Error::new(
                Status::BadResponse,
                format!("LCM's answer headers from {endpoint} exceed {limit} bytes ({size})"),
            )),
            ureq::Error::BadUri(_) | ureq::Error::InvalidProxyUrl => Failure::final_(
                Error::config(format!("the endpoint or proxy URL is not usable: {error}")),
            ),
            other => Failure::final_(Error::new(
                Status::Internal,
                format!("unexpected transport error talking to {endpoint}: {other}"),
            )),
        }
    }

    fn timeout_error(&self, when: &str) -> Error {
        Error::new(
            Status::Timeout,
            format!(
                "no complete answer from {} within timeout_ms ({}) {when}; the outcome may or \
                 may not be recorded",
                self.endpoint.display,
                self.snapshot.settings.timeout.as_millis()
            ),
        )
    }

    /// Removes the `auth` value from text quoted from the server, which could echo it.
    fn scrub(&self, text: &str) -> String {
        match &self.snapshot.settings.auth {
            Some(secret) if !secret.0.is_empty() => text.replace(secret.0.as_str(), "(auth)"),
            _ => text.to_string(),
        }
    }
}

/// I/O errors that can only happen while connecting, before a byte was sent.
fn is_connect_error(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionRefused
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::AddrNotAvailable
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
}

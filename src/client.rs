//! Sending: the HTTP agent and its connection pool, the per-call deadline, retries,
//! and the classification of every failure into a [`Status`].
//!
//! A [`Client`] holds an immutable snapshot (settings + agent) in an `ArcSwap`: a
//! call uses the settings in force when it started, configuration may change
//! meanwhile, and no lock is ever taken. That matters beyond speed: a child forked
//! while a parent thread held a lock would wait for that thread forever.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;

use ureq::tls::{RootCerts, TlsConfig};
use ureq::Agent;

use crate::config::{
    display_url, is_supported_proxy, Endpoint, Key, ProxySetting, Secret, Settings,
};
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

/// Buffers of each connection, which ureq allocates and zeroes when it opens one
/// and a pooled connection keeps (ureq's defaults are 128 KiB each). An answer's
/// head must fit the input buffer whole, hence the header limit below it; a
/// request leaves through the output buffer in pieces, so it can be small. Against
/// the defaults this saves 180,000 instructions on a process's first call and
/// 176 KiB per pooled connection.
const INPUT_BUFFER_BYTES: usize = 64 * 1024;
const OUTPUT_BUFFER_BYTES: usize = 16 * 1024;
const MAX_RESPONSE_HEADER_BYTES: usize = 32 * 1024;

/// An attempt is not started with less time than this left: it could not connect
/// and answer in it, and ureq gives each connection attempt at least 10 ms anyway.
const MIN_ATTEMPT_TIME: Duration = Duration::from_millis(20);

/// The first retry waits between half of this and this; each further retry doubles
/// it, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// A connection to one LCM service: its settings and its connection pool.
///
/// Safe to share between threads; every method takes `&self`.
pub struct Client {
    current: ArcSwap<Snapshot>,
}

/// What a call needs, frozen: settings, the proxy they resolve to, and an agent
/// (pool) built from them in the process `pid`.
struct Snapshot {
    settings: Settings,
    /// The proxy in use, or why none can be (a SOCKS proxy in the environment).
    proxy: Result<Option<ureq::Proxy>, String>,
    agent: Agent,
    pid: u32,
}

impl Snapshot {
    /// A snapshot for `settings`, reading the proxy environment if they say so.
    fn new(settings: Settings) -> Snapshot {
        let proxy = resolve_proxy(&settings.proxy);
        Snapshot::with_proxy(settings, proxy)
    }

    fn with_proxy(settings: Settings, proxy: Result<Option<ureq::Proxy>, String>) -> Snapshot {
        let agent = build_agent(&settings, proxy.clone().ok().flatten());
        Snapshot {
            settings,
            proxy,
            agent,
            pid: std::process::id(),
        }
    }

    /// The same settings with a new, empty pool, for a forked child. Nothing is read
    /// from the environment here: a parent thread may have held its lock at fork().
    fn renewed(&self) -> Snapshot {
        Snapshot::with_proxy(self.settings.clone(), self.proxy.clone())
    }

    /// Other settings over the same proxy and pool, for a change that does not
    /// touch the transport.
    fn keeping_pool(&self, settings: Settings) -> Snapshot {
        Snapshot {
            settings,
            proxy: self.proxy.clone(),
            agent: self.agent.clone(),
            pid: self.pid,
        }
    }

    /// `host:port` of the proxy, for messages.
    fn proxy_name(&self) -> Option<String> {
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
            current: ArcSwap::from_pointee(Snapshot::new(settings)),
        }
    }

    /// Sets option `key` (design.md §4) to `value`; an empty value restores the
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
                Snapshot::new(settings)
            } else {
                base.keeping_pool(settings)
            };
            let previous = self.current.compare_and_swap(&base, Arc::new(next));
            if Arc::ptr_eq(&previous, &base) {
                return Ok(());
            }
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
            if let Err(problem) = &snapshot.proxy {
                return Err(Error::config(problem.as_str()));
            }
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
        loop {
            let current = self.current.load_full();
            if current.pid == pid {
                return current;
            }
            let renewed = Arc::new(current.renewed());
            let previous = self.current.compare_and_swap(&current, renewed.clone());
            if Arc::ptr_eq(&previous, &current) {
                return renewed;
            }
            // Another thread of this child renewed or reconfigured it first: use that.
        }
    }
}

/// The proxy `setting` asks for. From the environment, a SOCKS proxy is an error:
/// this build does not speak SOCKS, and ureq would otherwise go around it.
fn resolve_proxy(setting: &ProxySetting) -> Result<Option<ureq::Proxy>, String> {
    match setting {
        ProxySetting::Direct => Ok(None),
        ProxySetting::Url(proxy) => Ok(Some(proxy.clone())),
        ProxySetting::FromEnvironment => match ureq::Proxy::try_from_env() {
            Some(p) if !is_supported_proxy(&p) => Err(
                "the proxy in the environment (ALL_PROXY, HTTPS_PROXY or HTTP_PROXY) is a \
                 SOCKS proxy, which lcm-outcome does not support; set the proxy option to an \
                 http:// proxy or to 'none'"
                    .to_string(),
            ),
            other => Ok(other),
        },
    }
}

/// The HTTP agent for `settings`: no redirects, non-2xx statuses as answers (not
/// errors), HTTPS trust from `ca_file` or the webpki roots, and failures before
/// sending marked as such.
fn build_agent(settings: &Settings, proxy: Option<ureq::Proxy>) -> Agent {
    let mut tls = TlsConfig::builder();
    if let Some(ca) = &settings.ca_file {
        tls = tls.root_certs(RootCerts::Specific(ca.certs.clone()));
    }
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
        .input_buffer_size(INPUT_BUFFER_BYTES)
        .output_buffer_size(OUTPUT_BUFFER_BYTES)
        .max_response_header_size(MAX_RESPONSE_HEADER_BYTES)
        .build();
    Agent::with_parts(
        config,
        MarkingConnector::default(),
        MarkingResolver::default(),
    )
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
            if delay + MIN_ATTEMPT_TIME >= left {
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
                return Err(failure.error.with_note(&why));
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

    /// One HTTP exchange, within what is left of the deadline. Whatever the failure,
    /// its text has the `auth` secret blanked: parsed JSON can hold it decoded.
    fn attempt(&self, deadline: Instant) -> Result<(), Failure> {
        self.exchange(deadline).map_err(|mut failure| {
            failure.error = failure.error.map_text(|text| self.scrub(text));
            failure
        })
    }

    fn exchange(&self, deadline: Instant) -> Result<(), Failure> {
        let settings = &self.snapshot.settings;
        let remaining = deadline.saturating_duration_since(Instant::now());
        // Whether a connect timeout means the call's deadline rather than
        // connect_timeout_ms (ureq rounds the budget down, so comparing clocks
        // afterwards cannot tell).
        let deadline_bounds_connect = settings.connect_timeout >= remaining;
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
            .map_err(|e| self.classify(e, deadline_bounds_connect))?;

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
        let body = body.map_err(|e| self.classify(e, deadline_bounds_connect))?;
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
                // Shown like the endpoint: no user info or query, which may be secret.
                let shown = location
                    .parse::<ureq::http::Uri>()
                    .map(|uri| display_url(&uri))
                    .unwrap_or_else(|_| "(not a URL)".into());
                text.push_str(&format!(", Location: {shown}"));
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
    fn classify(&self, error: ureq::Error, deadline_bounds_connect: bool) -> Failure {
        let endpoint = &self.endpoint.display;
        let settings = &self.snapshot.settings;
        if let Some(failed) = as_not_delivered(&error) {
            let target = match self.snapshot.proxy_name() {
                Some(proxy) => format!("{endpoint} through proxy {proxy}"),
                None => endpoint.clone(),
            };
            let (what, retry) = match (&failed.error, failed.stage) {
                (ureq::Error::Timeout(_), _) if deadline_bounds_connect => (
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

    /// `text` with the `auth` secret blanked out (see [`scrub`]).
    fn scrub(&self, text: Vec<u8>) -> Vec<u8> {
        scrub(text, self.snapshot.settings.auth.as_ref())
    }
}

/// `text` with the `auth` value and its token (without the scheme, `Bearer`)
/// overwritten with `*`, also where JSON escaped their `/` as `\/`: a server could
/// echo them, and answers end up in messages and logs. Lengths are kept, so a
/// message's structure (and UTF-8 validity: the secret is ASCII) survives.
fn scrub(mut text: Vec<u8>, auth: Option<&Secret>) -> Vec<u8> {
    let Some(secret) = auth else {
        return text;
    };
    let token = secret.0.split_once(' ').map(|(_, token)| token.trim());
    for plain in [Some(secret.0.as_str()), token].into_iter().flatten() {
        for needle in [plain.to_string(), plain.replace('/', "\\/")] {
            blank_out(&mut text, needle.as_bytes());
        }
    }
    text
}

/// Overwrites every occurrence of `needle` in `text` with `*`.
fn blank_out(text: &mut [u8], needle: &[u8]) {
    if needle.is_empty() {
        return;
    }
    let mut i = 0;
    while i + needle.len() <= text.len() {
        if &text[i..i + needle.len()] == needle {
            text[i..i + needle.len()].fill(b'*');
            i += needle.len();
        } else {
            i += 1;
        }
    }
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
        let auth = Secret("Bearer ab/c123".into());
        let body = br#"{"echo":"Bearer ab/c123","token":"ab\/c123","other":"ab/c12"}"#;
        let scrubbed = String::from_utf8(scrub(body.to_vec(), Some(&auth))).unwrap();
        let expected = r#"{"echo":"**************","token":"********","other":"ab/c12"}"#;
        assert_eq!(scrubbed, expected);
        assert_eq!(scrub(b"ab/c123".to_vec(), None), b"ab/c123");
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

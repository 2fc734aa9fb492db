//! How does one `lcm_set_outcome` call spend its deadline? Attempts, each one HTTP
//! exchange within what is left; retries only where [`Failure::retry`] allows them,
//! after a backoff with jitter or the server's `Retry-After`, and never past the
//! deadline.

use std::time::{Duration, Instant, SystemTime};

use crate::client::Snapshot;
use crate::config::Endpoint;
use crate::error::Error;
use crate::failure::{Failure, HttpAnswer, Retry, Target};
use crate::log::{log, Level};
use crate::message;
use crate::message::Outcome;
use crate::redact::{loggable, Redactor};

/// Largest answer body read, in bytes; a larger one is `LCM_ERR_BAD_RESPONSE`, so
/// that a hostile or broken server cannot exhaust the dialer's memory.
pub const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

/// An attempt is not started with less time than this left: it could not connect
/// and answer in it, and ureq gives each connection attempt at least 10 ms anyway.
const MIN_ATTEMPT_TIME: Duration = Duration::from_millis(20);

/// The first retry waits between half of this and this; each further retry doubles
/// it, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// One `lcm_set_outcome` call in flight.
pub(crate) struct Call<'a> {
    pub(crate) snapshot: &'a Snapshot,
    pub(crate) endpoint: &'a Endpoint,
    pub(crate) body: &'a [u8],
    pub(crate) call_id: &'a str,
    /// What log lines call it: `call <id>`, or `outbox entry <n> (call <id>)`.
    pub(crate) subject: &'a str,
    pub(crate) redactor: Redactor,
}

impl Call<'_> {
    /// Attempts until success, a final failure, no retries left, or no time left.
    pub(crate) fn run(&self, deadline: Instant) -> Result<(), Error> {
        let settings = &self.snapshot.settings;
        let level = settings.log_level;
        let attempts = settings.retries + 1;
        let mut attempt = 1;
        let mut fresh = false;
        let mut resent = false;
        loop {
            log(level, Level::Debug, || {
                let on = if fresh {
                    ", again on a fresh connection"
                } else {
                    ""
                };
                format!(
                    "POST {} for {} (attempt {attempt} of {attempts}{on})",
                    self.endpoint.display, self.subject
                )
            });
            let (error, retry) = match self.attempt(deadline, fresh) {
                Ok(()) => return Ok(()),
                Err(failed) => failed,
            };
            fresh = false;
            if retry == Retry::Fresh {
                let left = deadline.saturating_duration_since(Instant::now());
                if resent || left < MIN_ATTEMPT_TIME {
                    return Err(error);
                }
                // The server closed an idle connection as the request went out; the
                // outcome was not received, and setting it is idempotent anyway.
                (fresh, resent) = (true, true);
                continue;
            }
            let delay = match retry {
                Retry::No => return Err(error),
                _ if attempt == attempts => return Err(error),
                Retry::Backoff => backoff(attempt),
                Retry::After(asked) => asked.max(backoff(attempt)),
                Retry::Fresh => unreachable!("handled above"),
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if delay + MIN_ATTEMPT_TIME >= left {
                return Err(error.with_note(&self.no_time_for(retry)));
            }
            log(level, Level::Warn, || {
                format!(
                    "attempt {attempt} of {attempts} for {} failed: {}; retrying in {} ms",
                    self.subject,
                    loggable(level, &error),
                    delay.as_millis()
                )
            });
            std::thread::sleep(delay);
            attempt += 1;
        }
    }

    /// Why a retry that was allowed did not happen.
    fn no_time_for(&self, retry: Retry) -> String {
        let timeout = self.snapshot.settings.timeout.as_millis();
        match retry {
            Retry::After(asked) => format!(
                "LCM asked to retry after {} s, past the call's deadline (timeout_ms {timeout})",
                asked.as_secs()
            ),
            _ => format!("no time left for a retry within timeout_ms ({timeout})"),
        }
    }

    /// One HTTP exchange, within what is left of the deadline: the caller's error
    /// and the retry decision on failure. Server text in it was scrubbed before it
    /// was cut; the whole text is scrubbed once more, in case a secret came through
    /// another way.
    fn attempt(&self, deadline: Instant, fresh: bool) -> Result<(), (Error, Retry)> {
        self.exchange(deadline, fresh).map_err(|failure| {
            let retry = failure.retry();
            let error = failure
                .into_error(&self.target())
                .map_text(|text| self.redactor.scrub(text));
            (error, retry)
        })
    }

    /// One request and its answer, on a pooled connection or (`fresh`) a new one.
    fn exchange(&self, deadline: Instant, fresh: bool) -> Result<(), Failure> {
        let settings = &self.snapshot.settings;
        let remaining = deadline.saturating_duration_since(Instant::now());
        // Whether a connect timeout means the call's deadline rather than
        // connect_timeout_ms (ureq rounds the budget down, so comparing clocks
        // afterwards cannot tell).
        let deadline_bounds_connect = settings.connect_timeout >= remaining;
        let transport = |e| Failure::from_transport(e, deadline_bounds_connect);
        log(settings.log_level, Level::Trace, || {
            format!("request body: {}", String::from_utf8_lossy(self.body))
        });
        let request = self.request(fresh, remaining);
        let mut response = request.send(self.body).map_err(transport)?;

        let status = response.status();
        // Nothing was asked for (no Accept-Encoding), so compressed bytes cannot be
        // read, and quoting them would only show noise.
        let encoding = response
            .headers()
            .get("content-encoding")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string())
            .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("identity"));
        if let (true, Some(encoding)) = (status.is_success(), &encoding) {
            return Err(Failure::Encoded(encoding.clone()));
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec();
        log(settings.log_level, Level::Trace, || match &body {
            Ok(b) => format!(
                "answer: HTTP {} {}",
                status.as_u16(),
                String::from_utf8_lossy(&self.redactor.scrub(b.clone()))
            ),
            Err(e) => format!("answer: HTTP {} (body unreadable: {e})", status.as_u16()),
        });

        if status.as_u16() == 407 && self.snapshot.forwarded() {
            // A forwarded request's 407 is the proxy's, not LCM's: nothing was sent on.
            return Err(Failure::ProxyRefused(407));
        }
        if !status.is_success() {
            let body = body.map(|b| self.redactor.scrub(b));
            let mut answer = http_answer(&response, encoding, body);
            answer.location = answer.location.map(|l| self.redactor.scrub_str(&l));
            return Err(Failure::HttpStatus(Box::new(answer)));
        }
        let body = body.map_err(transport)?;
        self.read_result(&body).map_err(Failure::Answer)
    }

    /// The POST for one attempt, on a pooled connection or (`fresh`) a new one, with
    /// `remaining` of the deadline as its whole budget.
    fn request(
        &self,
        fresh: bool,
        remaining: Duration,
    ) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        let settings = &self.snapshot.settings;
        let agent = if fresh {
            &self.snapshot.fresh_agent
        } else {
            &self.snapshot.agent
        };
        let mut request = agent
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
        if let Some(proxy_auth) = &self.snapshot.proxy_authorization {
            request = request.header("Proxy-Authorization", proxy_auth.as_str());
        }
        request
    }

    /// Reads a 2xx body. A body that does not confirm the outcome is read again
    /// scrubbed, for the text: parsing decodes JSON escapes, and a value cut short
    /// for a message could hold part of a secret that no later scrub recognises.
    fn read_result(&self, body: &[u8]) -> Result<(), Error> {
        let error = match message::parse_result(body, self.call_id) {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        match message::parse_result(&self.redactor.scrub(body.to_vec()), self.call_id) {
            Err(scrubbed) if scrubbed.status() == error.status() => Err(scrubbed),
            _ => Err(error.map_text(|text| self.redactor.scrub(text))),
        }
    }

    /// Where this call goes, for messages.
    fn target(&self) -> Target<'_> {
        let settings = &self.snapshot.settings;
        Target {
            endpoint: &self.endpoint.display,
            proxy: self.snapshot.proxy_name(),
            timeout: settings.timeout,
            connect_timeout: settings.connect_timeout,
            call_id: self.call_id,
        }
    }
}

/// Sends `outcome` with `snapshot` until `deadline`, and logs the result: for a call,
/// or for the outbox's `entry`.
pub(crate) fn send(
    snapshot: &Snapshot,
    outcome: &Outcome<'_>,
    deadline: Instant,
    entry: Option<i64>,
) -> Result<(), Error> {
    let started = Instant::now();
    let settings = &snapshot.settings;
    let level = settings.log_level;
    let what = match entry {
        Some(id) => format!("outbox entry {id} (call {})", outcome.call_id),
        None => format!("call {}", outcome.call_id),
    };
    let result = message::build_request(&settings.source, outcome).and_then(|body| {
        let endpoint = settings.ready_endpoint()?;
        if let Err(problem) = &snapshot.proxy {
            return Err(Error::config(problem.as_str()));
        }
        snapshot.trust.check(snapshot.uses_tls(endpoint), level)?;
        Call {
            snapshot,
            endpoint,
            body: &body,
            call_id: outcome.call_id,
            subject: &what,
            redactor: snapshot.redactor(outcome.agent_comments),
        }
        .run(deadline)
    });
    let elapsed = started.elapsed().as_millis();
    // A call's failure is returned to its caller, who knows the call; a delivery's
    // is read in the log alone, which must then say which entry failed.
    let whose = match entry {
        Some(_) => format!("{what}: "),
        None => String::new(),
    };
    match &result {
        Ok(()) => log(level, Level::Debug, || {
            format!("outcome recorded for {what} in {elapsed} ms")
        }),
        Err(e) => log(level, Level::Info, || {
            format!(
                "{whose}{} after {elapsed} ms: {}",
                e.status().name(),
                loggable(level, e)
            )
        }),
    }
    result
}

/// What a non-2xx answer says, for its message and the retry decision.
fn http_answer(
    response: &ureq::http::Response<ureq::Body>,
    encoding: Option<String>,
    body: Result<Vec<u8>, ureq::Error>,
) -> HttpAnswer {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    HttpAnswer {
        code: response.status().as_u16(),
        location: header("location").map(str::to_string),
        retry_after: header("retry-after").and_then(retry_after),
        encoding,
        body,
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

//! What went wrong in one attempt, and what follows from it?
//!
//! A [`Failure`] names where an attempt failed. From it alone follow the status the
//! caller gets ([`Failure::status`]), whether another attempt is allowed
//! ([`Failure::retry`]) and the text ([`Failure::into_error`]), each a plain table
//! over the variants, testable without a server. The question behind the table is
//! whether the request may have reached LCM (docs/design.md §3): a failure before
//! anything was sent is `LCM_ERR_CONNECT` and may be retried; anything later leaves
//! the outcome unknown and is never retried.

use std::time::Duration;

use crate::error::{Error, Status};
use crate::text::{display_url, quote_body, short};
use crate::transport::{as_not_delivered, is_stale, Stage};

/// Whether another attempt may follow a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Never: the request may have been acted on, or trying again cannot help.
    No,
    /// After the library's own backoff.
    Backoff,
    /// After the server's `Retry-After` (and at least the library's backoff).
    After(Duration),
    /// At once, on a fresh connection, once per call and not counted in `retries`:
    /// a reused connection was closed by the server before any answer.
    Fresh,
}

/// Where and why one attempt failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Connecting took longer than `connect_timeout_ms`, or than what was left of the
    /// call's deadline (`by_deadline`).
    ConnectTimeout { by_deadline: bool },
    /// The endpoint's (or the proxy's) host name did not resolve.
    Resolve(String),
    /// The proxy refused to pass the request on (`CONNECT` or a forwarded request
    /// answered with this status, e.g. 403 or 407).
    ProxyRefused(u16),
    /// The TLS handshake or certificate verification failed.
    Tls(String),
    /// Any other failure before the request was written.
    Connect(String),
    /// The request went out on a reused connection that the server had closed: it
    /// failed before the first byte of an answer.
    Stale(String),
    /// The request was sent; no complete answer came before the deadline.
    AnswerTimeout,
    /// The request was sent; the connection broke before a complete answer.
    Broken(String),
    /// The answer's body is larger than the library reads.
    TooLarge(u64),
    /// The answer is not valid HTTP.
    NotHttp(String),
    /// The answer's headers are larger than the library reads.
    HeadersTooLarge { size: usize, limit: usize },
    /// The answer's body is compressed (`Content-Encoding`), which was not asked for.
    Encoded(String),
    /// The answer's body could not be read to its end (a malformed chunk, a stall).
    Unreadable(String),
    /// The endpoint or the proxy URL cannot be used by the HTTP client.
    Unusable,
    /// A transport error this table does not know, after the request may have been
    /// sent: never `LCM_ERR_INTERNAL`, since a peer can cause it.
    Unexpected(String),
    /// LCM answered a status other than 2xx.
    HttpStatus(Box<HttpAnswer>),
    /// LCM answered 2xx with a body that does not confirm the outcome (its parse
    /// error: `LCM_ERR_BAD_RESPONSE` or `LCM_ERR_REJECTED`).
    Answer(Error),
}

/// A non-2xx answer, as far as a message and the retry decision need it.
#[derive(Debug)]
pub(crate) struct HttpAnswer {
    pub(crate) code: u16,
    /// The `Location` header, as sent.
    pub(crate) location: Option<String>,
    /// The delay the `Retry-After` header asks for, when it is readable.
    pub(crate) retry_after: Option<Duration>,
    /// The `Content-Encoding` header, when it is not `identity`: the body is then
    /// compressed bytes, described rather than quoted.
    pub(crate) encoding: Option<String>,
    /// The body, or why it could not be read.
    pub(crate) body: Result<Vec<u8>, ureq::Error>,
}

/// What a message says about where the call was going.
pub(crate) struct Target<'a> {
    /// The endpoint, as [`display_url`] shows it.
    pub(crate) endpoint: &'a str,
    /// `host:port` of the proxy in use, if any.
    pub(crate) proxy: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    /// The call's id, named in every text of a failed exchange.
    pub(crate) call_id: &'a str,
}

const NOT_SENT: &str = "the outcome was not sent";
const UNKNOWN: &str = "the outcome may or may not be recorded";

impl Failure {
    /// The failure a transport error stands for. `deadline_bounds_connect` says
    /// whether the connect limit in force was the call's deadline rather than
    /// `connect_timeout_ms` (ureq rounds budgets down, so clocks cannot tell later).
    pub(crate) fn from_transport(error: ureq::Error, deadline_bounds_connect: bool) -> Failure {
        if is_stale(&error) {
            return Failure::Stale(error.to_string());
        }
        if let Some(failed) = as_not_delivered(&error) {
            return match (&failed.error, failed.stage) {
                (ureq::Error::Timeout(_), _) => Failure::ConnectTimeout {
                    by_deadline: deadline_bounds_connect,
                },
                (e, Stage::Resolve) => Failure::Resolve(e.to_string()),
                (ureq::Error::ConnectProxyFailed(why), _) => match proxy_status(why) {
                    Some(code) => Failure::ProxyRefused(code),
                    None => Failure::Connect(format!("the proxy failed: {why}")),
                },
                (e, _) if is_tls_failure(e) => Failure::Tls(e.to_string()),
                (e, _) => Failure::Connect(e.to_string()),
            };
        }
        match error {
            ureq::Error::Timeout(_) => Failure::AnswerTimeout,
            ureq::Error::Io(e) => Failure::Broken(e.to_string()),
            ureq::Error::BodyExceedsLimit(limit) => Failure::TooLarge(limit),
            ureq::Error::Protocol(e) => Failure::NotHttp(e.to_string()),
            ureq::Error::LargeResponseHeader(size, limit) => {
                Failure::HeadersTooLarge { size, limit }
            }
            ureq::Error::BadUri(_) | ureq::Error::InvalidProxyUrl => Failure::Unusable,
            e @ (ureq::Error::BodyStalled | ureq::Error::Http(_) | ureq::Error::StatusCode(_)) => {
                Failure::Unreadable(e.to_string())
            }
            ureq::Error::Tls(e) => Failure::Broken(format!("TLS: {e}")),
            ureq::Error::Rustls(e) => Failure::Broken(format!("TLS: {e}")),
            other => Failure::Unexpected(other.to_string()),
        }
    }

    /// The status the caller gets.
    pub(crate) fn status(&self) -> Status {
        match self {
            Failure::ConnectTimeout { .. }
            | Failure::Resolve(_)
            | Failure::ProxyRefused(_)
            | Failure::Tls(_)
            | Failure::Connect(_) => Status::Connect,
            Failure::Stale(_)
            | Failure::AnswerTimeout
            | Failure::Broken(_)
            | Failure::Unexpected(_) => Status::Timeout,
            Failure::TooLarge(_)
            | Failure::NotHttp(_)
            | Failure::HeadersTooLarge { .. }
            | Failure::Encoded(_)
            | Failure::Unreadable(_) => Status::BadResponse,
            Failure::Unusable => Status::Config,
            Failure::HttpStatus(_) => Status::HttpStatus,
            Failure::Answer(error) => error.status(),
        }
    }

    /// Whether another attempt may follow: only when the request provably was not
    /// delivered, or the server asked for it (503, 429).
    pub(crate) fn retry(&self) -> Retry {
        match self {
            Failure::ConnectTimeout { by_deadline } if !by_deadline => Retry::Backoff,
            Failure::Resolve(_) | Failure::Connect(_) => Retry::Backoff,
            Failure::Stale(_) => Retry::Fresh,
            Failure::HttpStatus(answer) if matches!(answer.code, 429 | 503) => {
                answer.retry_after.map_or(Retry::Backoff, Retry::After)
            }
            _ => Retry::No,
        }
    }

    /// The caller's error, worded for `target`.
    pub(crate) fn into_error(self, target: &Target<'_>) -> Error {
        let error = self.text_error(target);
        match error.status() {
            Status::Connect | Status::Timeout | Status::HttpStatus | Status::BadResponse => {
                error.for_call(target.call_id)
            }
            _ => error,
        }
    }

    /// The error, without the call it belongs to.
    fn text_error(self, target: &Target<'_>) -> Error {
        let status = self.status();
        match self {
            Failure::HttpStatus(answer) => http_status_error(*answer, target.endpoint),
            Failure::Answer(error) => error,
            Failure::ConnectTimeout { .. }
            | Failure::Resolve(_)
            | Failure::ProxyRefused(_)
            | Failure::Tls(_)
            | Failure::Connect(_) => Error::new(
                status,
                format!("{}; {NOT_SENT}", self.not_sent_text(target)),
            ),
            other => Error::new(status, other.after_sending_text(target)),
        }
    }

    /// What went wrong before anything was sent.
    fn not_sent_text(&self, target: &Target<'_>) -> String {
        let endpoint = target.endpoint;
        let via = match &target.proxy {
            Some(proxy) => format!("{endpoint} through proxy {proxy}"),
            None => endpoint.to_string(),
        };
        match self {
            Failure::ConnectTimeout { by_deadline: true } => format!(
                "could not connect to {via} within the call's deadline (timeout_ms {})",
                target.timeout.as_millis()
            ),
            Failure::ConnectTimeout { by_deadline: false } => format!(
                "could not connect to {via} within connect_timeout_ms ({})",
                target.connect_timeout.as_millis()
            ),
            Failure::Resolve(e) => format!("cannot resolve the host of {via}: {e}"),
            Failure::ProxyRefused(code) => format!(
                "the proxy {} refused to pass the request to {endpoint}: it answered HTTP \
                 {code} {}; check the proxy's access rules and credentials",
                target.proxy.as_deref().unwrap_or("(unknown)"),
                reason(*code)
            ),
            Failure::Tls(e) => format!(
                "TLS with {via} failed (certificate verification or handshake): {e}{}",
                tls_hint(e)
            ),
            Failure::Connect(e) => format!("cannot connect to {via}: {e}"),
            _ => format!("cannot reach {via}"),
        }
    }

    /// What went wrong once the request may have been sent (or, for `Unusable`,
    /// could not be).
    fn after_sending_text(&self, target: &Target<'_>) -> String {
        let endpoint = target.endpoint;
        match self {
            Failure::Stale(e) => format!(
                "the server closed the pooled connection to {endpoint} before answering ({e}), \
                 and no time was left to send again on a fresh connection; {UNKNOWN}"
            ),
            Failure::AnswerTimeout => format!(
                "no complete answer from {endpoint} within timeout_ms ({}); {UNKNOWN}",
                target.timeout.as_millis()
            ),
            Failure::Broken(e) => format!(
                "the connection to {endpoint} failed before a complete answer ({e}); {UNKNOWN}"
            ),
            Failure::TooLarge(limit) => {
                format!("LCM's answer from {endpoint} is larger than {limit} bytes; {UNKNOWN}")
            }
            Failure::NotHttp(e) => {
                let hint = if endpoint.starts_with("http://") {
                    " (a TLS server answers a plain request like this: if it speaks TLS, the \
                     endpoint must be https://)"
                } else {
                    ""
                };
                format!("LCM's answer from {endpoint} is not valid HTTP ({e}){hint}; {UNKNOWN}")
            }
            Failure::HeadersTooLarge { size, limit } => format!(
                "LCM's answer headers from {endpoint} exceed {limit} bytes ({size}); {UNKNOWN}"
            ),
            Failure::Encoded(encoding) => format!(
                "LCM's answer from {endpoint} is compressed (Content-Encoding: {}), which \
                 lcm-outcome did not ask for and does not read; {UNKNOWN}",
                short(encoding)
            ),
            Failure::Unreadable(e) => format!(
                "LCM's answer from {endpoint} could not be read to its end ({e}); {UNKNOWN}"
            ),
            Failure::Unusable => format!("the endpoint {endpoint} or the proxy URL is not usable"),
            Failure::Unexpected(e) => format!(
                "the exchange with {endpoint} failed ({e}) before a complete answer; {UNKNOWN}"
            ),
            _ => format!("the exchange with {endpoint} failed; {UNKNOWN}"),
        }
    }
}

/// `LCM_ERR_HTTP_STATUS`: the status line, where a redirect pointed (redirects are
/// not followed), the endpoint, and a quote of the body.
fn http_status_error(answer: HttpAnswer, endpoint: &str) -> Error {
    let mut text = format!("LCM answered HTTP {} {}", answer.code, reason(answer.code));
    if (300..400).contains(&answer.code) {
        text.push_str(" (redirects are not followed: set endpoint to the final URL");
        if let Some(location) = &answer.location {
            // Shown like the endpoint: no user info or query, which may be secret.
            let shown = location
                .parse::<ureq::http::Uri>()
                .map(|uri| display_url(&uri))
                .unwrap_or_else(|_| "(not a URL)".into());
            text.push_str(&format!(", Location: {shown}"));
        }
        text.push(')');
    }
    text.push_str(&format!(" from {endpoint}"));
    let quote = match answer.body {
        Ok(_) if answer.encoding.is_some() => format!(
            "(Content-Encoding: {}, not shown)",
            short(answer.encoding.as_deref().unwrap_or_default())
        ),
        Ok(body) => quote_body(&body),
        Err(ureq::Error::BodyExceedsLimit(limit)) => format!("(over {limit} bytes)"),
        Err(e) => format!("(unreadable: {e})"),
    };
    Error::with_body_quote(Status::HttpStatus, &text, &quote).with_http_status(answer.code)
}

/// What a newcomer should check after a TLS failure: rustls's words are exact, but
/// say nothing of `ca_file`, `tls_roots` or a server that speaks plain HTTP.
fn tls_hint(error: &str) -> &'static str {
    if error.contains("InvalidContentType") || error.contains("corrupt message") {
        " (the server answered in plain HTTP, not TLS: if it has no TLS, the endpoint must be \
         http://)"
    } else if error.contains("UnknownIssuer") {
        " (the server's certificate is signed by a CA this client does not trust: put that \
         CA's certificate in ca_file, or check tls_roots)"
    } else if error.contains("NotValidForName") {
        " (the certificate is not for this host name: use the name it was issued for)"
    } else if error.contains("Expired") {
        " (the server's certificate has expired)"
    } else {
        ""
    }
}

/// The reason phrase of an HTTP status, `""` for an unknown one.
fn reason(code: u16) -> &'static str {
    ureq::http::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// The status a proxy answered `CONNECT` with, from ureq's text for it
/// (`proxy server responded 407/407`); `None` when it did not answer.
fn proxy_status(why: &str) -> Option<u16> {
    let digits: String = why
        .split_once("responded")?
        .1
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target<'static> {
        Target {
            endpoint: "http://127.0.0.1:9/lcm",
            proxy: None,
            timeout: Duration::from_millis(10_000),
            connect_timeout: Duration::from_millis(3_000),
            call_id: "12345",
        }
    }

    fn answer(code: u16, retry_after: Option<u64>) -> Failure {
        Failure::HttpStatus(Box::new(HttpAnswer {
            code,
            location: None,
            retry_after: retry_after.map(Duration::from_secs),
            encoding: None,
            body: Ok(b"{}".to_vec()),
        }))
    }

    /// The table itself: each failure's status, retry decision and the start of its
    /// text, without a server.
    #[test]
    fn each_failure_has_its_status_retry_and_text() {
        let io = || std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let rows: Vec<(Failure, Status, Retry, &str)> = vec![
            (Failure::ConnectTimeout { by_deadline: false }, Status::Connect, Retry::Backoff,
             "could not connect to http://127.0.0.1:9/lcm within connect_timeout_ms (3000); the outcome was not sent"),
            (Failure::ConnectTimeout { by_deadline: true }, Status::Connect, Retry::No,
             "could not connect to http://127.0.0.1:9/lcm within the call's deadline (timeout_ms 10000)"),
            (Failure::Resolve("no such host".into()), Status::Connect, Retry::Backoff,
             "cannot resolve the host of http://127.0.0.1:9/lcm: no such host"),
            (Failure::ProxyRefused(407), Status::Connect, Retry::No,
             "the proxy (unknown) refused to pass the request to http://127.0.0.1:9/lcm: it answered HTTP 407 Proxy Authentication Required"),
            (Failure::Stale("closed".into()), Status::Timeout, Retry::Fresh,
             "the server closed the pooled connection to http://127.0.0.1:9/lcm before answering (closed)"),
            (Failure::Tls("UnknownIssuer".into()), Status::Connect, Retry::No,
             "TLS with http://127.0.0.1:9/lcm failed"),
            (Failure::Connect("refused".into()), Status::Connect, Retry::Backoff,
             "cannot connect to http://127.0.0.1:9/lcm: refused"),
            (Failure::AnswerTimeout, Status::Timeout, Retry::No,
             "no complete answer from http://127.0.0.1:9/lcm within timeout_ms (10000); the outcome may or may not be recorded"),
            (Failure::from_transport(ureq::Error::Io(io()), false), Status::Timeout, Retry::No,
             "the connection to http://127.0.0.1:9/lcm failed before a complete answer (reset)"),
            (Failure::TooLarge(65536), Status::BadResponse, Retry::No,
             "LCM's answer from http://127.0.0.1:9/lcm is larger than 65536 bytes"),
            (Failure::HeadersTooLarge { size: 40000, limit: 32768 }, Status::BadResponse, Retry::No,
             "LCM's answer headers from http://127.0.0.1:9/lcm exceed 32768 bytes (40000)"),
            (Failure::Unusable, Status::Config, Retry::No, "the endpoint http://127.0.0.1:9/lcm or the proxy URL"),
            (Failure::Encoded("gzip".into()), Status::BadResponse, Retry::No,
             "LCM's answer from http://127.0.0.1:9/lcm is compressed (Content-Encoding: gzip)"),
            (Failure::from_transport(ureq::Error::BodyStalled, false), Status::BadResponse, Retry::No,
             "LCM's answer from http://127.0.0.1:9/lcm could not be read to its end"),
            (Failure::from_transport(ureq::Error::ConnectionFailed, false), Status::Timeout, Retry::No,
             "the exchange with http://127.0.0.1:9/lcm failed"),
            (answer(503, None), Status::HttpStatus, Retry::Backoff, "LCM answered HTTP 503 Service Unavailable from"),
            (answer(429, Some(7)), Status::HttpStatus, Retry::After(Duration::from_secs(7)), "LCM answered HTTP 429"),
            (answer(500, Some(7)), Status::HttpStatus, Retry::No, "LCM answered HTTP 500 Internal Server Error"),
            (Failure::Answer(Error::new(Status::Rejected, "LCM rejected")), Status::Rejected, Retry::No, "LCM rejected"),
        ];
        for (failure, status, retry, text) in rows {
            assert_eq!(failure.status(), status, "{failure:?}");
            assert_eq!(failure.retry(), retry, "{failure:?}");
            let error = failure.into_error(&target());
            assert_eq!(error.status(), status);
            assert!(
                error.message().starts_with(text),
                "{} / {text}",
                error.message()
            );
        }
    }

    #[test]
    fn a_proxy_refusal_is_read_from_ureqs_text() {
        assert_eq!(proxy_status("proxy server responded 407/407"), Some(407));
        assert_eq!(proxy_status("proxy server did not respond"), None);
    }

    #[test]
    fn a_proxy_is_named_and_a_redirect_shows_its_location_without_secrets() {
        let mut via_proxy = target();
        via_proxy.proxy = Some("127.0.0.1:3128".into());
        let error = Failure::Connect("refused".into()).into_error(&via_proxy);
        assert!(error.message().contains("through proxy 127.0.0.1:3128"));
        let redirect = Failure::HttpStatus(Box::new(HttpAnswer {
            code: 302,
            location: Some("https://other.example/api?token=s3cr3t".into()),
            retry_after: None,
            encoding: None,
            body: Ok(Vec::new()),
        }));
        let text = redirect.into_error(&target()).message().to_string();
        assert!(
            text.contains("Location: https://other.example/api)"),
            "{text}"
        );
        assert!(!text.contains("s3cr3t"));
    }
}

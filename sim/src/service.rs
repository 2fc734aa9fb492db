//! One request, served: which faults apply, the body read, and the answer LCM would give
//! (or the fault's answer instead).

use std::collections::HashSet;
use std::convert::Infallible;
use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, Version};

use crate::answer::Answer;
use crate::envelope;
use crate::fault_io::Arming;
use crate::fault_reply::fault_reply;
use crate::faults::{Faults, Plan};
use crate::record::Recorder;
use crate::reply::{self, error, json, wire_body_len, Reply};
use crate::{lock, ReceivedRequest};

/// Most bytes accepted for a request body; beyond it the answer is 413.
/// Far above any real outcome (the client caps each string at 64 KiB).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// State shared by the connection tasks and the [`Sim`](crate::Sim).
pub(crate) struct Shared {
    pub calls: Option<HashSet<String>>,
    /// The only path served (`SimConfig::path`); `None`: every path.
    pub path: Option<String>,
    pub faults: Mutex<Faults>,
    /// Every request, when kept (`SimConfig::keep_requests`).
    pub requests: Option<Mutex<Vec<ReceivedRequest>>>,
    /// Requests received so far, kept or not.
    pub request_total: AtomicUsize,
    pub recorder: Recorder,
    /// TCP connections accepted so far.
    pub connections: AtomicUsize,
    /// TCP connections closed so far (by either side), sockets released.
    pub closed_connections: AtomicUsize,
    /// Connections abandoned by the `close_delay_ms` fault (counted when abandoned, by
    /// their [`FaultIo`](crate::fault_io::FaultIo)).
    pub abandoned_connections: Arc<AtomicUsize>,
}

impl Shared {
    pub(crate) fn new(
        calls: Option<HashSet<String>>,
        faults: Faults,
        recorder: Recorder,
        keep_requests: bool,
        path: Option<String>,
    ) -> Shared {
        Shared {
            calls,
            path,
            faults: Mutex::new(faults),
            requests: keep_requests.then(|| Mutex::new(Vec::new())),
            request_total: AtomicUsize::new(0),
            recorder,
            connections: AtomicUsize::new(0),
            closed_connections: AtomicUsize::new(0),
            abandoned_connections: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn log_request(&self, connection: usize, parts: &Parts, body: &[u8]) {
        let Some(requests) = &self.requests else {
            self.request_total.fetch_add(1, Ordering::SeqCst);
            return;
        };
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        let request = ReceivedRequest {
            connection,
            method: parts.method.as_str().to_owned(),
            path: parts.uri.to_string(),
            headers,
            body: body.to_vec(),
        };
        // Counted under the lock, so that the count never runs ahead of the list.
        let mut requests = lock(requests);
        requests.push(request);
        self.request_total.fetch_add(1, Ordering::SeqCst);
    }

    /// Whether the request is for the path served (any path when none is set).
    fn serves(&self, parts: &Parts) -> bool {
        self.path.as_deref().is_none_or(|p| parts.uri.path() == p)
    }

    /// The answer LCM would give (no faults involved); records an accepted outcome
    /// before returning its answer.
    fn answer(&self, parts: &Parts, body: &[u8], pad_body_to: Option<usize>) -> Reply {
        if let Some(path) = self.path.as_deref().filter(|_| !self.serves(parts)) {
            // Most often an endpoint URL that names the wrong path: say which one is right.
            let message = format!(
                "path: lcm-sim serves {path}; point the endpoint there (this request was \
                 for {})",
                parts.uri.path()
            );
            return error(404, &message);
        }
        if parts.method != Method::POST {
            let message = format!("method: expected POST, got {}", parts.method);
            let mut answer = error(405, &message);
            answer
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return answer;
        }
        // The design sends Content-Type: application/json; a client that forgets it (curl
        // -d sends a form type) has a bug a real server may punish, so catch it here.
        let media_type = parts.headers.get(header::CONTENT_TYPE).map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        });
        match media_type {
            Some(t) if t.eq_ignore_ascii_case("application/json") => {}
            Some(t) => {
                let message = format!("Content-Type: expected application/json, got {t:?}");
                return error(415, &message);
            }
            None => return error(415, "Content-Type: missing, expected application/json"),
        }
        let request = match envelope::parse_request(body) {
            Ok(request) => request,
            Err(message) => return error(400, &message),
        };
        if request.callid.is_empty() {
            return json(200, envelope::ws_error("", "Callid is empty"));
        }
        if let Some(calls) = &self.calls {
            if !calls.contains(&request.callid) {
                let detail = format!("Invalid Call ID:{}", request.callid);
                return json(200, envelope::ws_error(&request.callid, &detail));
            }
        }
        let callid = request.callid;
        match self.recorder.record(request.data, request.source) {
            Ok(()) => {
                let mut body = envelope::success(&callid).into_bytes();
                if let Some(size) = pad_body_to {
                    body.resize(size.max(body.len()), b' ');
                }
                json(200, body)
            }
            // Not recorded, so never "success": a 500 the client reports as an HTTP error.
            Err(e) => error(500, &format!("record: cannot write the record file ({e})")),
        }
    }
}

/// The service's error that makes hyper close the connection without writing a byte:
/// the `drop_connection` fault.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("drop_connection fault")
    }
}

impl Error for DropConnection {}

/// Whether the client waits for `100 Continue` before sending its body.
fn expects_continue(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Reads the whole body, at most [`MAX_BODY_BYTES`]; `Err` is the answer to send instead.
async fn read_body(body: Incoming) -> Result<Bytes, Reply> {
    let too_large = || {
        let mut answer = error(413, "http: body too large");
        answer
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        answer
    };
    if body.size_hint().lower() > MAX_BODY_BYTES as u64 {
        return Err(too_large());
    }
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(too_large()),
        // A body hyper could not decode (a bad chunk, a client gone mid-body): where the
        // next request would start is unknown, so answer if possible, then close.
        Err(e) => {
            let mut answer = error(400, &format!("http: cannot read the body ({e})"));
            answer
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Err(answer)
        }
    }
}

/// Serves one request: faults first, then the answer LCM would give.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    connection: usize,
    arming: Arc<Arming>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let (parts, body) = request.into_parts();
    // Faults are decided per request, once its head is in, so that a drop can happen
    // before hyper's `100 Continue` (sent when the body is first read) gives the client
    // a byte.
    // A request for a path that is not served meets no LCM, so no fault either.
    let plan: Plan = if shared.serves(&parts) {
        lock(&shared.faults).next_plan()
    } else {
        Faults::default().next_plan()
    };
    arming.begin_request();
    let body = if plan.answer.is_silent() && expects_continue(&parts) {
        // The client sends its body only after `100 Continue`, which a drop or a hang
        // never sends.
        Bytes::new()
    } else {
        match read_body(body).await {
            Ok(body) => body,
            Err(reply) => return Ok(reply.map(Full::new)),
        }
    };
    shared.log_request(connection, &parts, &body);
    let reply = match &plan.answer {
        Answer::DropConnection => {
            pause(plan.latency).await;
            return Err(DropConnection);
        }
        Answer::Hang => {
            // hyper drops this future, and so ends the wait, when the client closes the
            // connection (it watches for EOF while a request is in progress) or the
            // runtime shuts down.
            let never: Infallible = std::future::pending().await;
            match never {}
        }
        answer => fault_reply(answer, &parts, &body)
            .unwrap_or_else(|| shared.answer(&parts, &body, plan.pad_body_to)),
    };
    pause(plan.latency).await;
    Ok(deliver(plan, &parts, reply, &arming))
}

/// Applies the plan's body and delivery faults to `reply`, the answer to `request`,
/// arming the connection's [`FaultIo`](crate::fault_io::FaultIo) when they need it.
fn deliver(
    mut plan: Plan,
    request: &Parts,
    mut reply: Reply,
    arming: &Arming,
) -> Response<Full<Bytes>> {
    // hyper answers an HTTP/1.0 request without keep-alive with HTTP/1.0 and closes the
    // connection after it; say so explicitly, as for HTTP/1.1's `Connection: close`.
    if request.version == Version::HTTP_10 && !asks_keep_alive(request) {
        reply
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if plan.bom {
        reply::add_bom(&mut reply);
    }
    if plan.gzip {
        reply::gzip(&mut reply);
    }
    if let Some(line) = plan.overlong_chunk_line {
        plan.delivery.replace = Some(reply::chunked_with_overlong_line(&reply, line));
    }
    if !plan.delivery.is_plain() {
        let body_len = wire_body_len(&request.method, &reply);
        arming.arm(plan.delivery, body_len);
    }
    reply.map(Full::new)
}

/// Whether an HTTP/1.0 request's `Connection` header lists `keep-alive`.
fn asks_keep_alive(parts: &Parts) -> bool {
    parts
        .headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"keep-alive"))
}

/// Why `path` cannot be [`SimConfig::path`], if it cannot: it must be a request path as
/// an endpoint URL ends with, so that the 404 for any other path is the only surprise.
pub(crate) fn path_problem(path: &str) -> Option<String> {
    let bad = |why: &str| Some(format!("path (--path): {why}, got {path:?}"));
    if !path.starts_with('/') {
        return bad("must start with /");
    }
    match path
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#'))
    {
        Some(c) => bad(&format!(
            "must hold no blank, control character, ? or # (found {c:?})"
        )),
        None => None,
    }
}

/// The `latency_ms` fault. Stop cuts it short: shutting the runtime down drops the task.
async fn pause(latency: Duration) {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

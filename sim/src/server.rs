//! The server machinery, on hyper (HTTP/1.1) and a small tokio runtime of its own: the
//! accept loop, one task per TCP connection, the answer to each request, and a shutdown
//! that never hangs.
//!
//! The runtime lives on a thread of its own (`lcm-sim`), which builds it, serves until
//! [`Server::stop`] and then shuts it down there; so a [`Sim`](crate::Sim) can be stopped
//! or dropped anywhere, even inside another async runtime.

use std::collections::HashSet;
use std::convert::Infallible;
use std::error::Error;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::http::request::Parts;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::envelope;
use crate::fault_io::{Arming, FaultIo, Stream};
use crate::faults::{Action, Faults, Plan, MALFORMED_BODY};
use crate::record::Recorder;
use crate::{lock, ReceivedRequest};

/// Connections served at once when [`SimConfig::threads`](crate::SimConfig) is 0.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Most bytes accepted for a request body; beyond it the answer is 413.
/// Far above any real outcome (the client caps each string at 64 KiB).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// How long the runtime's shutdown waits for its worker threads (they only ever run
/// short, non-blocking steps, so this is a bound, not an expected time).
const STOP_GRACE: Duration = Duration::from_secs(3);
/// How long [`Server::stop`] waits for the runtime thread before leaving it detached.
const STOP_WAIT: Duration = Duration::from_secs(4);

type Answer = Response<Full<Bytes>>;

/// State shared by the connection tasks and the [`Sim`](crate::Sim).
pub(crate) struct Shared {
    pub calls: Option<HashSet<String>>,
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
}

impl Shared {
    pub(crate) fn new(
        calls: Option<HashSet<String>>,
        faults: Faults,
        recorder: Recorder,
        keep_requests: bool,
    ) -> Shared {
        Shared {
            calls,
            faults: Mutex::new(faults),
            requests: keep_requests.then(|| Mutex::new(Vec::new())),
            request_total: AtomicUsize::new(0),
            recorder,
            connections: AtomicUsize::new(0),
            closed_connections: AtomicUsize::new(0),
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

    /// The answer LCM would give (no faults involved); records an accepted outcome
    /// before returning its answer.
    fn answer(&self, parts: &Parts, body: &[u8], pad_body_to: Option<usize>) -> Answer {
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

/// A JSON response; `Full` gives it a `Content-Length`.
fn json(status: u16, body: impl Into<Bytes>) -> Answer {
    let mut answer = Response::new(Full::new(body.into()));
    // hyper sends no 1xx as a final answer; such a status is sent as 500.
    *answer.status_mut() = StatusCode::from_u16(status)
        .ok()
        .filter(|s| !s.is_informational())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    answer
}

/// A JSON `{"error": message}` response; the message is JSON-escaped.
fn error(status: u16, message: &str) -> Answer {
    json(status, serde_json::json!({ "error": message }).to_string())
}

/// The body length an answer has on the wire: none for HEAD and for statuses that
/// cannot carry one, whatever `Content-Length` says.
fn wire_body_len(method: &Method, answer: &Answer) -> usize {
    let status = answer.status();
    if method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return 0;
    }
    answer
        .body()
        .size_hint()
        .exact()
        .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// Adds header `name` unless `value` cannot be a header value.
fn add_header(answer: &mut Answer, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        answer.headers_mut().insert(name, value);
    }
}

/// The service's error that makes hyper close the connection without writing a byte:
/// the `drop_connection` fault.
#[derive(Debug)]
struct DropConnection;

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
async fn read_body(body: Incoming) -> Result<Bytes, Answer> {
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
async fn handle(
    shared: Arc<Shared>,
    connection: usize,
    arming: Arc<Arming>,
    request: Request<Incoming>,
) -> Result<Answer, DropConnection> {
    let (parts, body) = request.into_parts();
    // Faults are decided per request, once its head is in, so that a drop can happen
    // before hyper's `100 Continue` (sent when the body is first read) gives the client
    // a byte.
    let plan: Plan = lock(&shared.faults).next_plan();
    arming.begin_request();
    let silent = matches!(plan.action, Action::Drop | Action::Hang);
    let body = if silent && expects_continue(&parts) {
        // The client sends its body only after `100 Continue`, which a drop or a hang
        // never sends.
        Bytes::new()
    } else {
        match read_body(body).await {
            Ok(body) => body,
            Err(answer) => return Ok(answer),
        }
    };
    shared.log_request(connection, &parts, &body);
    let mut answer = match plan.action {
        Action::Drop => {
            pause(plan.latency).await;
            return Err(DropConnection);
        }
        Action::Hang => {
            // hyper drops this future, and so ends the wait, when the client closes the
            // connection (it watches for EOF while a request is in progress) or the
            // runtime shuts down.
            let never: Infallible = std::future::pending().await;
            match never {}
        }
        Action::Status {
            status,
            retry_after,
        } => {
            let mut answer = error(status, "injected fault");
            if let Some(value) = retry_after {
                add_header(&mut answer, header::RETRY_AFTER, &value);
            }
            answer
        }
        Action::Redirect { status, location } => {
            let mut answer = error(status, "injected redirect");
            add_header(&mut answer, header::LOCATION, &location);
            answer
        }
        Action::Malformed => json(200, MALFORMED_BODY),
        Action::Variant(variant) => {
            let callid = envelope::loose_callid(&body);
            json(200, envelope::variant(variant, &callid))
        }
        Action::Normal => shared.answer(&parts, &body, plan.pad_body_to),
    };
    pause(plan.latency).await;
    // hyper answers an HTTP/1.0 request without keep-alive with HTTP/1.0 and closes the
    // connection after it; say so explicitly, as for HTTP/1.1's `Connection: close`.
    if parts.version == Version::HTTP_10 && !asks_keep_alive(&parts) {
        answer
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if !plan.delivery.is_plain() {
        arming.arm(plan.delivery, wire_body_len(&parts.method, &answer));
    }
    Ok(answer)
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

/// The `latency_ms` fault. Stop cuts it short: shutting the runtime down drops the task.
async fn pause(latency: Duration) {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

/// Accepts connections until the runtime shuts down, at most `limit` open at once:
/// beyond it, further connections wait in the kernel's listen backlog.
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    limit: Arc<Semaphore>,
    tls: Option<TlsAcceptor>,
) {
    let mut builder = http1::Builder::new();
    // No timer is configured, so nothing times out: an idle keep-alive connection stays
    // open until the client closes it or the simulator stops (or `close_idle_ms`).
    builder.header_read_timeout(None);
    let builder = Arc::new(builder);
    loop {
        let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
            return;
        };
        let stream = loop {
            match listener.accept().await {
                Ok((stream, _)) => break stream,
                // Out of descriptors and the like: back off a little instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        };
        let connection_number = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
        // Every answer is one write; without Nagle's delay it leaves at once.
        let _ = stream.set_nodelay(true);
        let conn_shared = Arc::clone(&shared);
        let builder = Arc::clone(&builder);
        let tls = tls.clone();
        tokio::spawn(async move {
            let _closed = CountOnDrop(Arc::clone(&conn_shared));
            let stream = match tls {
                None => Stream::Plain(stream),
                // A failed handshake (the client distrusts the certificate, or does not
                // speak TLS) just closes the connection; the client has the reason.
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => Stream::Tls(Box::new(stream)),
                    Err(_) => return,
                },
            };
            let arming = Arc::new(Arming::default());
            let io = FaultIo::new(stream, Arc::clone(&arming));
            let service = service_fn(move |request| {
                let arming = Arc::clone(&arming);
                handle(Arc::clone(&conn_shared), connection_number, arming, request)
            });
            // Ends when the client closes, asks to close, a fault drops the connection
            // (the service's error: hyper then closes without writing) or the request
            // cannot be read (hyper answers 400/431 first). Dropping the socket closes it.
            let _ = builder.serve_connection(TokioIo::new(io), service).await;
            drop(permit);
        });
    }
}

/// Counts a connection as closed when its task ends, however it ends; the socket
/// was dropped (closed) before, with the future that owned it.
struct CountOnDrop(Arc<Shared>);

impl Drop for CountOnDrop {
    fn drop(&mut self) {
        self.0.closed_connections.fetch_add(1, Ordering::SeqCst);
    }
}

/// Set when the runtime thread ends, even by a panic.
#[derive(Default)]
struct Done {
    done: Mutex<bool>,
    cv: Condvar,
}

struct DoneOnDrop(Arc<Done>);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        *lock(&self.0.done) = true;
        self.0.cv.notify_all();
    }
}

/// A running server: its runtime thread and the means to stop it.
pub(crate) struct Server {
    stop: mpsc::Sender<()>,
    done: Arc<Done>,
    thread: JoinHandle<()>,
}

impl Server {
    /// Serves `listener` (already bound) on a new runtime thread. Returns once the
    /// runtime runs, or with the error that kept it from starting.
    pub(crate) fn start(
        listener: std::net::TcpListener,
        shared: Arc<Shared>,
        max_connections: usize,
        tls: Option<TlsAcceptor>,
    ) -> io::Result<Server> {
        listener.set_nonblocking(true)?;
        let max_connections = match max_connections {
            0 => DEFAULT_MAX_CONNECTIONS,
            n => n.min(Semaphore::MAX_PERMITS),
        };
        let workers = thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
        let (stop, stop_rx) = mpsc::channel::<()>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<io::Result<()>>(1);
        let done = Arc::new(Done::default());
        let done_guard = DoneOnDrop(Arc::clone(&done));
        let thread = thread::Builder::new()
            .name("lcm-sim".to_owned())
            .spawn(move || {
                let _done = done_guard;
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .thread_name("lcm-sim-worker")
                    .enable_io()
                    .enable_time()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let listener = {
                    let _context = runtime.enter();
                    TcpListener::from_std(listener)
                };
                match listener {
                    Ok(listener) => {
                        let limit = Arc::new(Semaphore::new(max_connections));
                        runtime.spawn(accept_loop(listener, shared, limit, tls));
                        let _ = ready_tx.send(Ok(()));
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                }
                // Until stop() sends or the Server is dropped.
                let _ = stop_rx.recv();
                // Drops every task: the listener and every connection close (clients see
                // EOF), and latency sleeps end with them.
                runtime.shutdown_timeout(STOP_GRACE);
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Server { stop, done, thread }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(io::Error::other(
                    "lcm-sim: the server thread failed to start",
                ))
            }
        }
    }

    /// Stops the server: no new connections, open ones closed, latency sleeps cut short,
    /// the runtime thread joined. Bounded: a thread that does not finish within
    /// [`STOP_WAIT`] is left detached rather than hanging the caller.
    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
        let deadline = Instant::now() + STOP_WAIT;
        let mut done = lock(&self.done.done);
        while !*done {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            done = self
                .done
                .cv
                .wait_timeout(done, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(done);
        let _ = self.thread.join();
    }
}

#[cfg(test)]
mod tests {
    use crate::{Sim, SimConfig};

    #[test]
    fn stops_from_inside_another_async_runtime() {
        let outer = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        outer.block_on(async {
            let sim = Sim::start(SimConfig::default()).unwrap();
            let addr = sim.addr();
            sim.stop();
            assert!(std::net::TcpStream::connect(addr).is_err());
        });
    }
}

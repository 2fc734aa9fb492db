//! The server machinery: the accept loop, one thread per TCP connection, the answer to
//! each request, and a shutdown that never hangs.

use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::envelope;
use crate::faults::{Action, Faults, Plan, MALFORMED_BODY};
use crate::http::{self, Framing, Head, ReadError, Response};
use crate::record::Recorder;
use crate::{lock, ReceivedRequest};

/// Connections served at once when [`SimConfig::threads`](crate::SimConfig) is 0.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// How long [`stop`] waits for connection threads to finish before giving up on them.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// State shared by the accept thread, the connection threads and the [`Sim`](crate::Sim).
pub(crate) struct Shared {
    pub calls: Option<HashSet<String>>,
    pub faults: Mutex<Faults>,
    pub requests: Mutex<Vec<ReceivedRequest>>,
    pub recorder: Recorder,
    /// TCP connections accepted so far.
    pub connections: AtomicUsize,
    max_connections: usize,
    stopping: AtomicBool,
    /// Open connections, with a handle on each socket so that stop can shut it down
    /// (a thread blocked reading an idle keep-alive connection wakes up only that way).
    live: Mutex<Live>,
    live_changed: Condvar,
    /// Wakes latency sleeps at stop.
    wake: Mutex<()>,
    wake_cv: Condvar,
}

#[derive(Default)]
struct Live {
    next_id: u64,
    streams: HashMap<u64, TcpStream>,
}

impl Shared {
    pub(crate) fn new(
        calls: Option<HashSet<String>>,
        faults: Faults,
        recorder: Recorder,
        max_connections: usize,
    ) -> Shared {
        Shared {
            calls,
            faults: Mutex::new(faults),
            requests: Mutex::new(Vec::new()),
            recorder,
            connections: AtomicUsize::new(0),
            max_connections: if max_connections == 0 {
                DEFAULT_MAX_CONNECTIONS
            } else {
                max_connections
            },
            stopping: AtomicBool::new(false),
            live: Mutex::new(Live::default()),
            live_changed: Condvar::new(),
            wake: Mutex::new(()),
            wake_cv: Condvar::new(),
        }
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sleeps for `d`, or less if the simulator stops meanwhile.
    fn pause(&self, d: Duration) {
        if d.is_zero() {
            return;
        }
        let deadline = Instant::now() + d;
        let mut guard = lock(&self.wake);
        while !self.stopping() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            guard = self
                .wake_cv
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Forgets a finished connection.
    fn forget(&self, id: u64) {
        lock(&self.live).streams.remove(&id);
        self.live_changed.notify_all();
    }

    fn log_request(&self, head: &Head, body: &[u8]) {
        lock(&self.requests).push(ReceivedRequest {
            method: head.method.clone(),
            path: head.target.clone(),
            headers: head.headers.clone(),
            body: body.to_vec(),
        });
    }

    /// The answer LCM would give (no faults involved); records an accepted outcome
    /// before returning its answer.
    fn answer(&self, head: &Head, body: &[u8]) -> Response {
        if head.method != "POST" {
            let message = format!("method: expected POST, got {}", head.method);
            return Response::error(405, &message).with_header("Allow", "POST".to_owned());
        }
        // The design sends Content-Type: application/json; a client that forgets it (curl
        // -d sends a form type) has a bug a real server may punish, so catch it here.
        let media_type = head
            .header("content-type")
            .map(|v| v.split(';').next().unwrap_or("").trim());
        match media_type {
            Some(t) if t.eq_ignore_ascii_case("application/json") => {}
            Some(t) => {
                let message = format!("Content-Type: expected application/json, got {t:?}");
                return Response::error(415, &message);
            }
            None => {
                return Response::error(415, "Content-Type: missing, expected application/json")
            }
        }
        let request = match envelope::parse_request(body) {
            Ok(request) => request,
            Err(message) => return Response::error(400, &message),
        };
        if request.callid.is_empty() {
            return Response::json(200, envelope::ws_error("", "Callid is empty"));
        }
        if let Some(calls) = &self.calls {
            if !calls.contains(&request.callid) {
                let detail = format!("Invalid Call ID:{}", request.callid);
                return Response::json(200, envelope::ws_error(&request.callid, &detail));
            }
        }
        let callid = request.callid;
        match self.recorder.record(request.data, request.source) {
            Ok(()) => Response::json(200, envelope::success(&callid)),
            // Not recorded, so never "success": a 500 the client reports as an HTTP error.
            Err(e) => Response::error(500, &format!("record: cannot write the record file ({e})")),
        }
    }
}

/// Binds nothing; runs the accept loop on `listener` in a new thread.
pub(crate) fn spawn_accept(
    listener: TcpListener,
    shared: Arc<Shared>,
) -> std::io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("lcm-sim-accept".to_owned())
        .spawn(move || accept_loop(&listener, &shared))
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    loop {
        {
            // At the cap, leave further connections in the kernel's backlog until one ends.
            let mut live = lock(&shared.live);
            while live.streams.len() >= shared.max_connections && !shared.stopping() {
                live = shared
                    .live_changed
                    .wait(live)
                    .unwrap_or_else(|e| e.into_inner());
            }
        }
        if shared.stopping() {
            return;
        }
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(_) if shared.stopping() => return,
            Err(_) => {
                // Out of descriptors and the like: back off a little instead of spinning.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let id = {
            // Registering under the same lock that stop takes to set `stopping` means
            // either stop sees this connection and shuts it down, or we see `stopping`.
            let mut live = lock(&shared.live);
            if shared.stopping() {
                return;
            }
            let Ok(handle) = stream.try_clone() else {
                continue;
            };
            let id = live.next_id;
            live.next_id += 1;
            live.streams.insert(id, handle);
            shared.connections.fetch_add(1, Ordering::SeqCst);
            id
        };
        let conn_shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name(format!("lcm-sim-conn-{id}"))
            .spawn(move || {
                serve_connection(&conn_shared, stream);
                conn_shared.forget(id);
            });
        if spawned.is_err() {
            // The closure, and the stream in it, are gone: the connection is closed.
            shared.forget(id);
        }
    }
}

/// Serves requests on one connection until the client closes it, asks to close it, a
/// fault drops it, or the simulator stops.
fn serve_connection(shared: &Shared, stream: TcpStream) {
    // Every answer is one write; without Nagle's delay it leaves at once.
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream);
    loop {
        let head = match http::read_head(&mut reader) {
            Ok(head) => head,
            Err(ReadError::Closed) => return,
            Err(ReadError::Bad(status, why)) => return refuse(reader.get_mut(), status, why),
        };
        let framing = match head.framing() {
            Ok(framing) => framing,
            Err(ReadError::Closed) => return,
            Err(ReadError::Bad(status, why)) => return refuse(reader.get_mut(), status, why),
        };
        // Faults are decided per request, once its head is in, so that a drop can happen
        // before a `100 Continue` would have sent the client a byte.
        let plan: Plan = lock(&shared.faults).next_plan();
        let expects_continue = head.expects_continue() && framing != Framing::Length(0);
        let body = if expects_continue && plan.action == Action::Drop {
            // The client sends its body only after `100 Continue`, which a drop never sends.
            Vec::new()
        } else {
            if expects_continue && reader.get_mut().write_all(http::CONTINUE).is_err() {
                return;
            }
            match http::read_body(&mut reader, framing) {
                Ok(body) => body,
                Err(ReadError::Closed) => return,
                Err(ReadError::Bad(status, why)) => return refuse(reader.get_mut(), status, why),
            }
        };
        shared.log_request(&head, &body);
        let response = match plan.action {
            Action::Drop => {
                shared.pause(plan.latency);
                // shutdown, not just drop: stop() holds a duplicate of this socket, and only
                // shutdown sends the FIN while a duplicate is open.
                let _ = reader.get_ref().shutdown(Shutdown::Both);
                return;
            }
            Action::Status {
                status,
                retry_after,
            } => {
                let response = Response::error(status, "injected fault");
                match retry_after {
                    Some(secs) => response.with_header("Retry-After", secs.to_string()),
                    None => response,
                }
            }
            Action::Malformed => Response::json(200, MALFORMED_BODY),
            Action::Normal => shared.answer(&head, &body),
        };
        shared.pause(plan.latency);
        let keep_alive = head.keep_alive();
        let bytes = response.to_bytes(
            !keep_alive,
            keep_alive && head.minor_version == 0,
            head.method == "HEAD",
        );
        if reader.get_mut().write_all(&bytes).is_err() {
            return;
        }
        if !keep_alive {
            return close_gracefully(reader.get_mut());
        }
    }
}

/// Answers a request that cannot be read as HTTP, then closes the connection (where the
/// next request would start is unknown).
fn refuse(stream: &mut TcpStream, status: u16, why: &str) {
    let response = Response::error(status, &format!("http: {why}"));
    if stream
        .write_all(&response.to_bytes(true, false, false))
        .is_ok()
    {
        close_gracefully(stream);
    }
}

/// Closes after an answer without losing it: closing a socket that still has unread
/// input sends a reset, which can destroy the answer before the client reads it. So: send
/// FIN, drain what the client still sends (briefly, boundedly), then close.
fn close_gracefully(stream: &mut TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut sink = [0u8; 4096];
    let mut budget: usize = 1 << 20;
    while budget > 0 {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => budget = budget.saturating_sub(n),
        }
    }
}

/// Stops the server: no new connections, open ones shut down, latency sleeps cut short,
/// threads joined. Bounded: a thread that does not finish within [`STOP_GRACE`] is left
/// detached rather than hanging the caller.
pub(crate) fn stop(shared: &Shared, addr: SocketAddr, accept: Option<JoinHandle<()>>) {
    {
        let live = lock(&shared.live);
        shared.stopping.store(true, Ordering::SeqCst);
        for stream in live.streams.values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        shared.live_changed.notify_all();
    }
    {
        let _guard = lock(&shared.wake);
        shared.wake_cv.notify_all();
    }
    if let Some(accept) = accept {
        // accept() has no timeout; a connection to ourselves is what wakes it up.
        let target = match addr {
            SocketAddr::V4(a) if a.ip().is_unspecified() => {
                SocketAddr::from((Ipv4Addr::LOCALHOST, a.port()))
            }
            SocketAddr::V6(a) if a.ip().is_unspecified() => {
                SocketAddr::from((Ipv6Addr::LOCALHOST, a.port()))
            }
            other => other,
        };
        let woke = TcpStream::connect_timeout(&target, Duration::from_secs(1)).is_ok();
        if woke || accept.is_finished() {
            let _ = accept.join();
        }
    }
    let deadline = Instant::now() + STOP_GRACE;
    let mut live = lock(&shared.live);
    while !live.streams.is_empty() {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        live = shared
            .live_changed
            .wait_timeout(live, deadline - now)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

//! The server machinery, on hyper (HTTP/1.1) and a small tokio runtime of its own: the
//! accept loop, one task per TCP connection, the answer to each request, and a shutdown
//! that never hangs.
//!
//! The runtime lives on a thread of its own (`lcm-sim`), which builds it, serves until
//! [`Server::stop`] and then shuts it down there; so a [`Sim`](crate::Sim) can be stopped
//! or dropped anywhere, even inside another async runtime.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::fault_io::{Arming, FaultIo};
use crate::lock;
use crate::service::{handle, Shared};
use crate::stream::Stream;

/// How long the runtime's shutdown waits for its worker threads (they only ever run
/// short, non-blocking steps, so this is a bound, not an expected time).
const STOP_GRACE: Duration = Duration::from_secs(3);
/// How long [`Server::stop`] waits for the runtime thread before leaving it detached.
const STOP_WAIT: Duration = Duration::from_secs(4);

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
            let abandoned = Arc::clone(&conn_shared.abandoned_connections);
            let io = FaultIo::new(stream, Arc::clone(&arming), abandoned);
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

/// What the runtime thread serves.
struct Serve {
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    max_connections: usize,
    tls: Option<TlsAcceptor>,
}

impl Serve {
    /// The runtime thread: builds the runtime, reports on `ready` whether serving
    /// started, serves until `stop` says so (or its sender is dropped), then shuts the
    /// runtime down.
    fn run(self, ready: &mpsc::SyncSender<io::Result<()>>, stop: &mpsc::Receiver<()>) {
        let workers = thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("lcm-sim-worker")
            .enable_io()
            .enable_time()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let listener = {
            let _context = runtime.enter();
            TcpListener::from_std(self.listener)
        };
        match listener {
            Ok(listener) => {
                let limit = Arc::new(Semaphore::new(self.max_connections));
                runtime.spawn(accept_loop(listener, self.shared, limit, self.tls));
                let _ = ready.send(Ok(()));
            }
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        }
        // Until stop() sends or the Server is dropped.
        let _ = stop.recv();
        // Drops every task: the listener and every connection close (clients see EOF),
        // and latency sleeps end with them.
        runtime.shutdown_timeout(STOP_GRACE);
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
        let max_connections = max_connections.clamp(1, Semaphore::MAX_PERMITS);
        let (stop, stop_rx) = mpsc::channel::<()>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<io::Result<()>>(1);
        let done = Arc::new(Done::default());
        let done_guard = DoneOnDrop(Arc::clone(&done));
        let serve = Serve {
            listener,
            shared,
            max_connections,
            tls,
        };
        let thread = thread::Builder::new()
            .name("lcm-sim".to_owned())
            .spawn(move || {
                let _done = done_guard;
                serve.run(&ready_tx, &stop_rx);
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

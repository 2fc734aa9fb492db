//! How does a host name become addresses without costing a thread per call?
//!
//! The system's resolver (`getaddrinfo`) blocks and cannot be given a deadline, so a
//! call cannot simply wait for it: ureq starts a thread per lookup and abandons it at
//! the deadline, and while DNS hangs every call leaves one more thread behind (408
//! threads from 8 callers in 10 s). Here lookups run on at most [`MAX_WORKERS`]
//! threads shared by the process; callers asking for the same host wait for the same
//! lookup, each only until its own deadline; answers are cached for [`CACHE_TTL`].
//! While DNS hangs the number of threads stays at most [`MAX_WORKERS`], whatever the
//! number of calls (docs/design.md §5). A thread that cannot be started is an error,
//! never a panic.
//!
//! fork(): a child must not touch a lock a parent thread may have held at fork(),
//! nor wait for workers that do not exist in it, so each process uses state of its
//! own, found by process id (as the log callback's holder is).

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

/// Most lookup threads at once, for the whole process.
pub(crate) const MAX_WORKERS: usize = 4;

/// How long an answer is reused. Short, so that a moved LCM server is found again
/// soon; long enough that a busy dialer looks a host up a few times a minute.
const CACHE_TTL: Duration = Duration::from_secs(30);

/// Most hosts cached, and most distinct hosts waiting for a worker.
const MAX_HOSTS: usize = 256;

/// How long an idle worker waits for more work before it ends.
const WORKER_IDLE: Duration = Duration::from_secs(30);

type Key = (String, u16);
type Answer = Result<Arc<Vec<SocketAddr>>, String>;

/// The addresses of `host`:`port`, within `budget`: from the cache, or from a
/// lookup on a worker thread. The error says what went wrong, naming the host.
pub(crate) fn lookup(host: &str, port: u16, budget: Duration) -> Answer {
    let deadline = Instant::now() + budget;
    let lookups = Lookups::for_this_process();
    let key = (host.to_ascii_lowercase(), port);
    let slot = {
        let mut state = lookups.lock();
        if let Some((when, addrs)) = state.cache.get(&key) {
            if when.elapsed() < CACHE_TTL {
                return Ok(Arc::clone(addrs));
            }
        }
        match state.pending.get(&key) {
            Some(slot) => Arc::clone(slot),
            None => lookups.enqueue(&mut state, key.clone())?,
        }
    };
    slot.wait_until(deadline).unwrap_or_else(|| {
        Err(format!(
            "no answer from DNS for {host} within {} ms",
            budget.as_millis()
        ))
    })
}

/// One lookup's answer, which every caller waiting for it reads.
#[derive(Default)]
struct Slot {
    answer: Mutex<Option<Answer>>,
    ready: Condvar,
}

impl Slot {
    fn wait_until(&self, deadline: Instant) -> Option<Answer> {
        let mut answer = self.answer.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(answer) = answer.as_ref() {
                return Some(answer.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            answer = self
                .ready
                .wait_timeout(answer, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn fill(&self, answer: Answer) {
        *self.answer.lock().unwrap_or_else(|e| e.into_inner()) = Some(answer);
        self.ready.notify_all();
    }
}

/// The lookups of one process.
struct Lookups {
    pid: u32,
    state: Mutex<State>,
    work: Condvar,
}

#[derive(Default)]
struct State {
    cache: HashMap<Key, (Instant, Arc<Vec<SocketAddr>>)>,
    pending: HashMap<Key, Arc<Slot>>,
    queue: VecDeque<Key>,
    workers: usize,
    idle: usize,
}

static LOOKUPS: ArcSwapOption<Lookups> = ArcSwapOption::const_empty();

impl Lookups {
    fn for_this_process() -> Arc<Lookups> {
        let pid = std::process::id();
        loop {
            let current = LOOKUPS.load_full();
            if let Some(lookups) = current.as_ref().filter(|l| l.pid == pid) {
                return Arc::clone(lookups);
            }
            let fresh = Arc::new(Lookups {
                pid,
                state: Mutex::new(State::default()),
                work: Condvar::new(),
            });
            let before = LOOKUPS.compare_and_swap(&current, Some(Arc::clone(&fresh)));
            let swapped = match (before.as_ref(), current.as_ref()) {
                (Some(b), Some(c)) => Arc::ptr_eq(b, c),
                (None, None) => true,
                _ => false,
            };
            if swapped {
                return fresh;
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a lookup of `key` and makes sure a worker will take it.
    fn enqueue(self: &Arc<Self>, state: &mut State, key: Key) -> Result<Arc<Slot>, String> {
        if state.pending.len() >= MAX_HOSTS {
            return Err(format!(
                "too many host names are being looked up at once ({MAX_HOSTS}); DNS is not answering"
            ));
        }
        // One idle worker per queued lookup; more threads only up to the bound.
        if state.queue.len() >= state.idle && state.workers < MAX_WORKERS {
            let lookups = Arc::clone(self);
            std::thread::Builder::new()
                .name("lcm-outcome-dns".into())
                .spawn(move || lookups.work())
                .map_err(|e| format!("cannot start a thread to look up {}: {e}", key.0))?;
            state.workers += 1;
            state.idle += 1;
        }
        let slot = Arc::new(Slot::default());
        state.pending.insert(key.clone(), Arc::clone(&slot));
        state.queue.push_back(key);
        self.work.notify_one();
        Ok(slot)
    }

    /// A worker: takes queued lookups until none comes for [`WORKER_IDLE`].
    fn work(&self) {
        let mut state = self.lock();
        loop {
            let Some(key) = state.queue.pop_front() else {
                let (next, waited) = self
                    .work
                    .wait_timeout(state, WORKER_IDLE)
                    .unwrap_or_else(|e| e.into_inner());
                state = next;
                if waited.timed_out() && state.queue.is_empty() {
                    state.workers -= 1;
                    state.idle -= 1;
                    return;
                }
                continue;
            };
            state.idle -= 1;
            drop(state);
            let answer = resolve_now(&key);
            state = self.lock();
            state.idle += 1;
            if let Ok(addrs) = &answer {
                if state.cache.len() >= MAX_HOSTS {
                    state
                        .cache
                        .retain(|_, (when, _)| when.elapsed() < CACHE_TTL);
                }
                if state.cache.len() < MAX_HOSTS {
                    state
                        .cache
                        .insert(key.clone(), (Instant::now(), Arc::clone(addrs)));
                }
            }
            if let Some(slot) = state.pending.remove(&key) {
                slot.fill(answer);
            }
        }
    }
}

/// The system resolver's answer for `key`, blocking.
fn resolve_now((host, port): &Key) -> Answer {
    match (host.as_str(), *port).to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(format!("{host} has no address"))
            } else {
                Ok(Arc::new(addrs))
            }
        }
        Err(e) => Err(format!("{host}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_resolves_and_is_cached() {
        let first = lookup("localhost", 8080, Duration::from_secs(10)).unwrap();
        assert!(first
            .iter()
            .all(|a| a.port() == 8080 && a.ip().is_loopback()));
        let second = lookup("LOCALHOST", 8080, Duration::from_secs(10)).unwrap();
        assert!(
            Arc::ptr_eq(&first, &second),
            "the second answer came from the cache"
        );
    }

    #[test]
    fn an_unknown_host_is_an_error_naming_it() {
        let err = lookup("no-such-host.invalid", 80, Duration::from_secs(10)).unwrap_err();
        assert!(err.contains("no-such-host.invalid"), "{err}");
    }
}

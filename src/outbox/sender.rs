//! Who delivers what waits in the outbox? One background thread per client with an
//! outbox, started on first need, that takes due entries one by one, backs off while
//! LCM stays down (each entry waits `outbox_retry_ms`, doubling up to 16 times that),
//! and is woken early when a call just got through. It never blocks a caller, never
//! keeps the process alive (the process exits without waiting for it), and is stopped
//! and joined when its client is freed, within the deadline of the delivery in hand.
//!
//! fork(): the thread does not exist in a child; the child starts its own on first
//! need, and leaves the parent's handle alone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};

use super::deliver::{deliver_next, Delivery};
use crate::client::Snapshot;
use crate::log::{log, Level};

/// How long the sender sleeps when it has nothing due, at most: an entry another
/// process stored is found within this.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// The background sender of one client, in the process that started it.
pub(crate) struct Sender {
    pid: u32,
    state: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    stop: AtomicBool,
    /// Set to wake the sender; `true` inside means "LCM just answered: try every
    /// pending entry now, whatever its backoff".
    wake: Mutex<Option<bool>>,
    woken: Condvar,
}

impl Sender {
    /// Wakes the client's sender, starting it first when this process has none.
    /// `lcm_up`: a call just got through, so backoff is cut short.
    pub(crate) fn wake(
        slot: &ArcSwapOption<Sender>,
        current: &Arc<ArcSwap<Snapshot>>,
        lcm_up: bool,
    ) {
        let pid = std::process::id();
        let sender = match slot.load_full() {
            Some(sender) if sender.pid == pid => sender,
            other => match Sender::start(slot, current, other) {
                Some(sender) => sender,
                None => return,
            },
        };
        let mut wake = sender.state.wake.lock().unwrap_or_else(|e| e.into_inner());
        *wake = Some(wake.unwrap_or(false) || lcm_up);
        sender.state.woken.notify_one();
    }

    /// Starts a sender for this process unless another thread just did.
    fn start(
        slot: &ArcSwapOption<Sender>,
        current: &Arc<ArcSwap<Snapshot>>,
        seen: Option<Arc<Sender>>,
    ) -> Option<Arc<Sender>> {
        let retry = current.load().settings.outbox_retry;
        if retry.is_zero() {
            return None; // outbox_retry_ms = 0: delivery by flush only
        }
        let state = Arc::new(Shared {
            stop: AtomicBool::new(false),
            wake: Mutex::new(None),
            woken: Condvar::new(),
        });
        let sender = Arc::new(Sender {
            pid: std::process::id(),
            state: Arc::clone(&state),
            thread: Mutex::new(None),
        });
        let before = slot.compare_and_swap(&seen, Some(Arc::clone(&sender)));
        let swapped = match (before.as_ref(), seen.as_ref()) {
            (Some(b), Some(s)) => Arc::ptr_eq(b, s),
            (None, None) => true,
            _ => false,
        };
        if !swapped {
            return slot.load_full();
        }
        if seen.is_some() {
            // A parent's sender, inherited by fork(): its thread does not exist here.
            std::mem::forget(seen);
        }
        let snapshots = Arc::clone(current);
        let spawned = std::thread::Builder::new()
            .name("lcm-outcome-outbox".into())
            .spawn(move || run(&snapshots, &state));
        match spawned {
            Ok(handle) => {
                *sender.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
                Some(sender)
            }
            Err(e) => {
                let level = current.load().settings.log_level;
                log(level, Level::Error, || {
                    format!("cannot start the outbox sender thread ({e}); entries wait for a flush")
                });
                slot.store(None);
                None
            }
        }
    }

    /// Stops this process's sender and waits for it, for `lcm_client_free`.
    pub(crate) fn stop(slot: &ArcSwapOption<Sender>) {
        let Some(sender) = slot.swap(None) else {
            return;
        };
        if sender.pid != std::process::id() {
            std::mem::forget(sender);
            return;
        }
        sender.state.stop.store(true, Ordering::SeqCst);
        {
            let mut wake = sender.state.wake.lock().unwrap_or_else(|e| e.into_inner());
            *wake = Some(false);
            sender.state.woken.notify_one();
        }
        let handle = sender
            .thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

/// The sender's loop: deliver what is due, then sleep until woken, stopped, or the
/// next look.
fn run(snapshots: &ArcSwap<Snapshot>, state: &Shared) {
    let mut lcm_up = false;
    while !state.stop.load(Ordering::SeqCst) {
        let snapshot = crate::client::current(snapshots);
        let Some(outbox) = snapshot.settings.outbox.clone() else {
            lcm_up = wait(state, IDLE_WAIT);
            continue;
        };
        if snapshot.settings.outbox_retry.is_zero() {
            return;
        }
        let budget = snapshot.settings.timeout;
        match deliver_next(&snapshot, &outbox, !lcm_up, 0, budget) {
            Ok(Some((_, Delivery::Delivered))) => {
                lcm_up = true; // LCM is answering: the backlog goes now
                continue;
            }
            Ok(Some(_)) => {
                // Kept or dead: the next entry may well fare the same; look again soon,
                // without cutting the others' backoff short.
                lcm_up = false;
                continue;
            }
            Ok(None) => {}
            Err(problem) => {
                log(snapshot.settings.log_level, Level::Error, || {
                    problem.clone()
                });
            }
        }
        lcm_up = wait(state, IDLE_WAIT.min(snapshot.settings.outbox_retry));
    }
}

/// Sleeps until woken, stopped or `limit`; whether the wake said LCM is up.
fn wait(state: &Shared, limit: Duration) -> bool {
    let mut wake = state.wake.lock().unwrap_or_else(|e| e.into_inner());
    if wake.is_none() && !state.stop.load(Ordering::SeqCst) {
        wake = state
            .woken
            .wait_timeout(wake, limit)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    wake.take().unwrap_or(false)
}

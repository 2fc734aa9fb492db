//! `lcm_set_log_callback`: what the callback receives, and that replacing it waits
//! for callbacks still running, so that an application may free their state.
//!
//! The callback is process-wide, so this binary holds one test that runs its
//! scenarios in order.

mod common;

use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use common::*;
use lcm_outcome::ffi::*;

#[test]
fn log_callback() {
    lines_arrive_with_their_level_and_without_prefix();
    replacing_the_callback_waits_for_running_callbacks();
    a_callback_may_replace_itself();
    a_callback_cannot_set_an_outcome();
}

fn lines_arrive_with_their_level_and_without_prefix() {
    capture_logs();
    let sim = sim();
    let client = Client::for_endpoint(&sim.url());
    client.set("log_level", "trace");
    assert_status(&client.send(&Call::sample()), LCM_OK, &[]);
    let lines = take_my_logs();
    let levels: Vec<i32> = lines.iter().map(|l| l.level).collect();
    assert!(levels.contains(&LCM_LOG_DEBUG), "{lines:?}");
    assert!(levels.contains(&LCM_LOG_TRACE), "{lines:?}");
    assert!(lines
        .iter()
        .all(|l| !l.message.starts_with("lcm-outcome [")));
    assert!(lines
        .iter()
        .any(|l| l.level == LCM_LOG_TRACE && l.message.contains("Test comment")));

    let failing = Client::for_endpoint(&refused_endpoint());
    failing.set("retries", "1");
    let (status, message) = failing.send(&Call::sample());
    assert_eq!(status, LCM_ERR_CONNECT);
    let lines = take_my_logs();
    assert!(
        lines.iter().any(|l| l.level == LCM_LOG_WARN),
        "a retried attempt is a warning: {lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.level == LCM_LOG_INFO),
        "the default level (warn) leaves out info lines: {lines:?}"
    );
    failing.set("log_level", "info");
    let (_, again) = failing.send(&Call::sample());
    let lines = take_my_logs();
    assert!(
        lines
            .iter()
            .any(|l| l.level == LCM_LOG_INFO && l.message.contains(&again)),
        "a failed call is logged at info with the caller's text {message:?}: {lines:?}"
    );
}

/// Where the callback held "in flight" is; changes are announced on [`HOLD_CHANGED`].
struct Hold {
    entered: bool,
    released: bool,
    finished: bool,
}

static HOLD: Mutex<Hold> = Mutex::new(Hold {
    entered: false,
    released: false,
    finished: false,
});
static HOLD_CHANGED: Condvar = Condvar::new();

fn hold() -> MutexGuard<'static, Hold> {
    HOLD.lock().unwrap_or_else(|e| e.into_inner())
}

/// Blocks its first call until `released`, to hold a callback "in flight".
unsafe extern "C" fn slow(_level: i32, _message: *const c_char, _user: *mut c_void) {
    let mut state = hold();
    if !state.entered {
        state.entered = true;
        HOLD_CHANGED.notify_all();
        while !state.released {
            state = HOLD_CHANGED.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.finished = true;
    }
}

fn replacing_the_callback_waits_for_running_callbacks() {
    unsafe { lcm_set_log_callback(Some(slow), std::ptr::null_mut()) };
    let sim = sim();
    let logging = std::thread::spawn({
        let url = sim.url();
        move || {
            let client = Client::for_endpoint(&url);
            client.set("log_level", "debug");
            client.send(&Call::sample())
        }
    });
    let (state, waited) = HOLD_CHANGED
        .wait_timeout_while(hold(), Duration::from_secs(30), |s| !s.entered)
        .unwrap_or_else(|e| e.into_inner());
    assert!(!waited.timed_out(), "the call logged nothing within 30 s");
    drop(state);
    let (returned, replaced) = mpsc::channel();
    let replacer = std::thread::spawn(move || {
        unsafe { lcm_set_log_callback(None, std::ptr::null_mut()) };
        returned.send(hold().finished).unwrap();
    });
    // If replacing did not wait, it would return within this time while the
    // callback is still held; a correct library makes this wait inconclusive but
    // never failing.
    assert!(
        replaced.recv_timeout(Duration::from_millis(200)).is_err(),
        "lcm_set_log_callback returned while the old callback was still running"
    );
    hold().released = true;
    HOLD_CHANGED.notify_all();
    assert!(
        replaced.recv().unwrap(),
        "the old callback had finished when the replacement returned"
    );
    replacer.join().unwrap();
    assert_eq!(logging.join().unwrap().0, LCM_OK);
}

static SELF_REPLACED: AtomicUsize = AtomicUsize::new(0);

/// Restores stderr from inside a callback: must not wait for itself.
unsafe extern "C" fn replaces_itself(_level: i32, message: *const c_char, _user: *mut c_void) {
    assert!(!unsafe { CStr::from_ptr(message) }.to_bytes().is_empty());
    SELF_REPLACED.fetch_add(1, Ordering::SeqCst);
    unsafe { lcm_set_log_callback(None, std::ptr::null_mut()) };
}

fn a_callback_may_replace_itself() {
    unsafe { lcm_set_log_callback(Some(replaces_itself), std::ptr::null_mut()) };
    let sim = sim();
    let (done, result) = mpsc::channel();
    let url = sim.url();
    // On its own thread, so that a library waiting for its own caller fails this
    // test instead of hanging it.
    std::thread::spawn(move || {
        let client = Client::for_endpoint(&url);
        client.set("log_level", "debug");
        done.send(client.send(&Call::sample())).unwrap();
    });
    let result = result
        .recv_timeout(Duration::from_secs(20))
        .expect("a callback replacing itself waited for its own return");
    assert_status(&result, LCM_OK, &[]);
    assert_eq!(
        SELF_REPLACED.load(Ordering::SeqCst),
        1,
        "only the first line reached it; later ones went to stderr"
    );
}

static NESTED: Mutex<Option<(lcm_status, String)>> = Mutex::new(None);

/// Tries, once, to record an outcome with the client passed as `user` from inside
/// the callback: the library must refuse it, for C callers as for the bindings.
unsafe extern "C" fn sets_an_outcome(_level: i32, _message: *const c_char, user: *mut c_void) {
    let mut nested = NESTED.lock().unwrap_or_else(|e| e.into_inner());
    if nested.is_none() {
        // Marked before the call, so that a library that lets it through does not
        // recurse through this callback without end.
        *nested = Some((-1, String::new()));
        drop(nested);
        let result = Call::sample().send(user.cast());
        *NESTED.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
    }
}

fn a_callback_cannot_set_an_outcome() {
    let sim = sim();
    let client = Client::for_endpoint(&sim.url());
    client.set("log_level", "debug");
    unsafe { lcm_set_log_callback(Some(sets_an_outcome), client.0.cast()) };
    let outer = client.send(&Call::sample());
    unsafe { lcm_set_log_callback(None, std::ptr::null_mut()) };
    assert_status(&outer, LCM_OK, &[]);
    let nested = NESTED.lock().unwrap().clone().expect("the callback ran");
    assert_status(
        &nested,
        LCM_ERR_INVALID_ARGUMENT,
        &["inside a log callback", "after the callback returns"],
    );
    assert_eq!(sim.accepted_count(), 1, "only the outer call was recorded");
}

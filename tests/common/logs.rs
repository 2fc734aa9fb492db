//! Captures the library's log lines through `lcm_set_log_callback`, as an
//! application would, and hands each test the lines of its own calls.
//!
//! The callback is process-wide but runs on the thread making the logged call, so
//! lines are kept per thread: tests running in parallel never see each other's.

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr};
use std::sync::{Mutex, Once};
use std::thread::ThreadId;

use lcm_outcome::ffi::lcm_set_log_callback;

/// One captured line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub level: i32,
    pub message: String,
}

static LINES: Mutex<Option<HashMap<ThreadId, Vec<LogLine>>>> = Mutex::new(None);

/// What the callback is given as `user`, to check that it comes back unchanged.
static USER: u8 = 0;

/// A line that breaks the callback's contract becomes a line at this level, which
/// no test expects: a panic here would abort the whole process (it cannot unwind
/// through the library's C frames) and hide which test failed.
pub const CONTRACT_BROKEN: i32 = -1;

unsafe extern "C" fn collect(level: i32, message: *const c_char, user: *mut c_void) {
    // SAFETY: the library passes a NUL-terminated string valid for this call.
    let bytes = unsafe { CStr::from_ptr(message) }.to_bytes();
    let (level, message) = match std::str::from_utf8(bytes) {
        _ if !std::ptr::eq(user.cast_const().cast::<u8>(), &USER) => {
            (CONTRACT_BROKEN, format!("user pointer changed to {user:p}"))
        }
        Ok(text) if text.contains('\n') => (CONTRACT_BROKEN, format!("not one line: {text:?}")),
        Ok(text) => (level, text.to_string()),
        Err(_) => (CONTRACT_BROKEN, format!("not UTF-8: {bytes:?}")),
    };
    let mut lines = LINES.lock().unwrap_or_else(|e| e.into_inner());
    lines
        .get_or_insert_with(HashMap::new)
        .entry(std::thread::current().id())
        .or_default()
        .push(LogLine { level, message });
}

/// Sends the library's log lines to this process's collector (once per process).
pub fn capture_logs() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| unsafe {
        lcm_set_log_callback(Some(collect), std::ptr::from_ref(&USER).cast_mut().cast())
    });
}

/// Takes the lines logged so far by calls made on the current thread, failing the
/// test if any broke the callback's contract.
#[track_caller]
pub fn take_my_logs() -> Vec<LogLine> {
    let mut lines = LINES.lock().unwrap_or_else(|e| e.into_inner());
    let mine = lines
        .as_mut()
        .and_then(|map| map.remove(&std::thread::current().id()))
        .unwrap_or_default();
    drop(lines);
    let broken: Vec<_> = mine.iter().filter(|l| l.level == CONTRACT_BROKEN).collect();
    assert!(
        broken.is_empty(),
        "log callback contract broken: {broken:?}"
    );
    mine
}

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

unsafe extern "C" fn collect(level: i32, message: *const c_char, user: *mut c_void) {
    assert!(user.is_null(), "the user pointer is passed back unchanged");
    // SAFETY: the library passes a NUL-terminated string valid for this call.
    let bytes = unsafe { CStr::from_ptr(message) }.to_bytes();
    let message = std::str::from_utf8(bytes)
        .expect("log lines are UTF-8")
        .to_string();
    assert!(!message.contains('\n'), "one line per message: {message:?}");
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
    INSTALLED.call_once(|| unsafe { lcm_set_log_callback(Some(collect), std::ptr::null_mut()) });
}

/// Takes the lines logged so far by calls made on the current thread.
pub fn take_my_logs() -> Vec<LogLine> {
    let mut lines = LINES.lock().unwrap_or_else(|e| e.into_inner());
    lines
        .as_mut()
        .and_then(|map| map.remove(&std::thread::current().id()))
        .unwrap_or_default()
}

//! Where log lines go: stderr, or the application's function.

use std::ffi::c_void;

use super::boundary::or_fallback;
use crate::log::{set_callback, Level};

/// A function that receives the library's log lines instead of stderr.
///
/// - `level`: `LCM_LOG_ERROR` (1) to `LCM_LOG_TRACE` (5); each client's `log_level`
///   option decides which lines are produced at all (default `warn`).
/// - `message`: one line, NUL-terminated UTF-8, without a prefix or a newline;
///   valid only until the function returns (copy it to keep it).
/// - `user`: the pointer given to `lcm_set_log_callback()`.
///
/// It is called on the thread that is making the call being logged, so it may run
/// on many threads at once. It must return normally (no `longjmp`, no C++
/// exception). It may call `lcm_configure()`, `lcm_client_configure()` and
/// `lcm_set_log_callback()`, but not `lcm_set_outcome()` or
/// `lcm_client_set_outcome()` (whose own log lines would come back to it).
#[allow(non_camel_case_types)]
pub type lcm_log_callback =
    Option<unsafe extern "C" fn(level: i32, message: *const std::ffi::c_char, user: *mut c_void)>;

/// Log level of problems the operator must fix (e.g. a bad `LCM_<KEY>` variable).
pub const LCM_LOG_ERROR: i32 = 1;
/// Log level of failed attempts that the library retries.
pub const LCM_LOG_WARN: i32 = 2;
/// Log level of calls that fail (the same text as the error buffer gets).
pub const LCM_LOG_INFO: i32 = 3;
/// Log level of one line per attempt and per success, without message contents.
pub const LCM_LOG_DEBUG: i32 = 4;
/// Log level of request and answer bodies. Bodies hold agent comments, which are
/// personal data: enable `trace` only to diagnose, and protect such logs.
pub const LCM_LOG_TRACE: i32 = 5;

// The header's constants are literals (cbindgen copies them as written); keep them
// tied to the core's levels.
const _: () = assert!(
    LCM_LOG_ERROR == Level::Error as i32
        && LCM_LOG_WARN == Level::Warn as i32
        && LCM_LOG_INFO == Level::Info as i32
        && LCM_LOG_DEBUG == Level::Debug as i32
        && LCM_LOG_TRACE == Level::Trace as i32
);

/// Sends the log lines of every client in the process to `callback`, with `user`;
/// NULL restores the default, one line per message on stderr
/// (`lcm-outcome [level] message`).
///
/// The library keeps `callback` and `user` until the next call of this function.
/// When this function returns, no other thread of the process is still running the
/// previous callback, and none will call it again, so what its `user` pointed to
/// may be freed. Called from inside a callback, it waits for the other threads but
/// not for the calling one. In a child process after fork(), it waits for the
/// child's threads only (the parent's do not exist there).
///
/// Because it waits, do not call it while holding a lock that the callback takes.
///
/// The `auth` value never appears in a log line. Agent comments appear only at
/// `LCM_LOG_TRACE`.
///
/// Thread safety: safe from any thread at any time; lines being logged while it
/// runs go either to the old or to the new destination, whole.
///
/// # Safety
/// `callback`, when not NULL, must be safe to call from any thread with `user`
/// until it is replaced.
#[no_mangle]
pub unsafe extern "C" fn lcm_set_log_callback(callback: lcm_log_callback, user: *mut c_void) {
    // Nothing in here can panic today; the boundary keeps it so if that changes.
    // SAFETY: forwarded from this function's contract.
    or_fallback((), || unsafe { set_callback(callback, user) });
}

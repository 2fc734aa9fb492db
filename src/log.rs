//! Diagnostics: leveled log lines, written to stderr or given to the application's
//! callback.
//!
//! The level is a per-client setting (`log_level`); where lines go is process-wide.
//! Without a callback each line goes to standard error (`stderr.rs`: one
//! write, no lock, no SIGPIPE). The callback is held in an `ArcSwapOption` so that
//! reading it takes no lock either, which a forked child could inherit held.
//! What may be logged at which level is a privacy rule, not a taste: the `auth`
//! value is never logged, and agent comments (personal data) appear only at
//! [`Level::Trace`], inside request bodies.

use std::cell::Cell;
use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use arc_swap::ArcSwapOption;

/// How much the library says, from nothing to everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i32)]
pub enum Level {
    /// Nothing at all.
    Off = 0,
    /// Problems the operator must fix (bad environment configuration, internal bugs).
    Error = 1,
    /// Failed attempts that the library retries.
    Warn = 2,
    /// Calls that fail (the caller gets the same text as its error).
    Info = 3,
    /// One line per attempt and per success, without message contents.
    Debug = 4,
    /// Request and answer bodies, agent comments included (personal data).
    Trace = 5,
}

impl Level {
    /// Every level with its configuration name, least verbose first.
    pub const NAMES: [(Level, &'static str); 6] = [
        (Level::Off, "off"),
        (Level::Error, "error"),
        (Level::Warn, "warn"),
        (Level::Info, "info"),
        (Level::Debug, "debug"),
        (Level::Trace, "trace"),
    ];

    /// The level named `name` (`"warn"`, ...), as `log_level` accepts it.
    pub fn from_name(name: &str) -> Option<Level> {
        Level::NAMES
            .into_iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(level, _)| level)
    }

    /// The configuration name of the level.
    pub fn name(self) -> &'static str {
        Level::NAMES[self as usize].1
    }
}

/// Writes `message()` at `level` when `threshold` lets it through. The message is
/// built only then, so that verbose lines cost nothing when they are off.
pub(crate) fn log(threshold: Level, level: Level, message: impl FnOnce() -> String) {
    if level == Level::Off || level > threshold {
        return;
    }
    // Escaped here, whatever the line holds, so that no value interpolated into it (a
    // call id, a server's body at trace) can end it or forge another.
    let text = message();
    let text = crate::text::one_line(&text);
    match current_sink() {
        Some(sink) => sink.deliver(level, text.into_owned()),
        None => {
            let line = format!("lcm-outcome [{}] {text}\n", level.name());
            crate::stderr::write(line.as_bytes());
        }
    }
}

/// An application's function that receives log lines: the level (1 = error to
/// 5 = trace), the line without prefix or newline, and the application's pointer.
pub type Callback = unsafe extern "C" fn(level: i32, message: *const c_char, user: *mut c_void);

/// Where log lines go instead of stderr.
struct Sink {
    callback: Callback,
    user: *mut c_void,
    /// The process this holder belongs to. References that threads of a parent
    /// process held at fork() never go away in the child, so each process uses a
    /// holder of its own (see [`current_sink`]) and waits only for its own threads.
    pid: u32,
}

// SAFETY: the pointer is the application's; `set_callback`'s contract makes the
// application promise that its callback may be called with it from any thread.
unsafe impl Send for Sink {}
unsafe impl Sync for Sink {}

static SINK: ArcSwapOption<Sink> = ArcSwapOption::const_empty();

thread_local! {
    /// The holder whose callback this thread is running, and how many times over
    /// (a callback may make the library log again): a callback replacing itself
    /// must not wait for its own return, but must wait for every other thread.
    static RUNNING: Cell<(*const Sink, usize)> = const { Cell::new((std::ptr::null(), 0)) };
}

/// Whether this thread is running the application's log callback now (at any depth).
pub(crate) fn inside_callback() -> bool {
    RUNNING.get().1 > 0
}

/// The installed callback's holder for this process, taking a reference that keeps
/// a replacement waiting until it is dropped.
fn current_sink() -> Option<Arc<Sink>> {
    loop {
        let sink = SINK.load_full()?;
        let pid = std::process::id();
        if sink.pid == pid {
            return Some(sink);
        }
        // First line in a forked child: give it a holder of its own, whose
        // references only its own threads take.
        let own = Arc::new(Sink { pid, ..*sink });
        let before = SINK.compare_and_swap(&sink, Some(Arc::clone(&own)));
        if before.as_ref().is_some_and(|b| Arc::ptr_eq(b, &sink)) {
            return Some(own);
        }
    }
}

impl Sink {
    fn deliver(self: &Arc<Sink>, level: Level, message: String) {
        let text = CString::new(message).unwrap_or_else(|e| {
            // Messages are sanitised, but a NUL must never cut a line short silently.
            let bytes: Vec<u8> = e.into_vec().into_iter().filter(|&b| b != 0).collect();
            CString::new(bytes).expect("NULs were removed")
        });
        let me = Arc::as_ptr(self);
        let outer = RUNNING.get();
        let depth = if outer.0 == me { outer.1 + 1 } else { 1 };
        RUNNING.set((me, depth));
        // SAFETY: the application promised, when installing it, that `callback` is
        // safe to call with these arguments from any thread while it is installed;
        // `text` lives until the call returns.
        unsafe { (self.callback)(level as i32, text.as_ptr(), self.user) };
        RUNNING.set(outer);
    }
}

/// Sends every later log line to `callback` (with `user`), or back to stderr with
/// `None`, for all clients of the process.
///
/// When it returns, no other thread of this process is still running the previous
/// callback, so the application may free what the old `user` pointed to. (Threads
/// of a parent process that were inside the callback at fork() are not waited for:
/// they do not exist in the child.)
///
/// # Safety
/// `callback` must be safe to call from any thread, concurrently, with `user`, until
/// it is replaced; it must return normally (no `longjmp`, no C++ exception).
pub(crate) unsafe fn set_callback(callback: Option<Callback>, user: *mut c_void) {
    let new = callback.map(|callback| {
        Arc::new(Sink {
            callback,
            user,
            pid: std::process::id(),
        })
    });
    if let Some(old) = SINK.swap(new) {
        wait_until_unused(old);
    }
}

/// Waits until the other threads that took `old` before it was replaced are done
/// with it: each holds one reference while it runs the callback. Callbacks are
/// short, so this yields at first, then sleeps; it takes no lock, which a forked
/// child could inherit held.
fn wait_until_unused(old: Arc<Sink>) {
    if old.pid != std::process::id() {
        return; // the parent's holder: no thread of this process uses it
    }
    let running = RUNNING.get();
    let mine = if running.0 == Arc::as_ptr(&old) {
        running.1
    } else {
        0
    };
    let mut spins = 0u32;
    while Arc::strong_count(&old) > 1 + mine {
        if spins < 100 {
            spins += 1;
            std::thread::yield_now();
        } else {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (level, name) in Level::NAMES {
            assert_eq!(Level::from_name(name), Some(level));
            assert_eq!(level.name(), name);
        }
        assert_eq!(Level::from_name("TRACE"), Some(Level::Trace));
        assert_eq!(Level::from_name("verbose"), None);
    }
}

//! Diagnostics: leveled log lines, written to stderr.
//!
//! The level is a per-client setting (`log_level`). Each line goes to file
//! descriptor 2 in one `write(2)` call, without std's stderr lock: a child forked
//! while a parent thread held that lock would wait for it forever, and a single
//! write keeps lines from many threads whole (up to PIPE_BUF bytes on a pipe).
//! What may be logged at which level is a privacy rule, not a taste: the `auth`
//! value is never logged, and agent comments (personal data) appear only at
//! [`Level::Trace`], inside request bodies.

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
    let line = format!("lcm-outcome [{}] {}\n", level.name(), message());
    write_stderr(line.as_bytes());
}

/// Writes all of `bytes` to file descriptor 2. A failure has nowhere better to be
/// reported, so it ends the attempt silently.
fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe a live, initialised slice.
        let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        if n > 0 {
            bytes = &bytes[n as usize..];
        } else if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {
            continue;
        } else {
            return;
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

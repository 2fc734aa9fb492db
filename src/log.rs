//! Diagnostics: leveled log lines, written to stderr.
//!
//! The level is a per-client setting (`log_level`); each line is written with one
//! `write_all` on a locked stderr so that lines from many threads do not interleave.
//! What may be logged at which level is a privacy rule, not a taste: the `auth`
//! value is never logged, and agent comments (personal data) appear only at
//! [`Level::Trace`], inside request bodies.

use std::io::Write;

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
    // A failed write to stderr has nowhere better to be reported.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
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

//! How does `check` show where it is? One line per stage, printed the moment the stage
//! ends, with how long it took: a slow or hanging stage is the one not yet printed.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::show::printable;

/// The stages, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Dns,
    Connect,
    Tls,
    Http,
    Answer,
}

impl Stage {
    fn label(self) -> &'static str {
        match self {
            Stage::Dns => "DNS",
            Stage::Connect => "connect",
            Stage::Tls => "TLS",
            Stage::Http => "HTTP",
            Stage::Answer => "answer",
        }
    }

    fn next(self) -> Stage {
        match self {
            Stage::Dns => Stage::Connect,
            Stage::Connect => Stage::Tls,
            Stage::Tls => Stage::Http,
            Stage::Http | Stage::Answer => Stage::Answer,
        }
    }
}

/// The stage under way and since when; shared with ureq's resolver and connectors,
/// which end the first three.
#[derive(Debug)]
pub struct Progress {
    state: Mutex<(Stage, Instant)>,
    started: Instant,
}

impl Progress {
    pub fn new() -> Progress {
        let now = Instant::now();
        Progress {
            state: Mutex::new((Stage::Dns, now)),
            started: now,
        }
    }

    /// The stage under way: the one that failed, when an error comes back.
    pub fn current(&self) -> Stage {
        self.lock().0
    }

    /// Since the check began.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Ends `stage` as passed, saying `detail`; the next one begins.
    pub fn passed(&self, stage: Stage, detail: &str) {
        self.end(stage, "ok", true, detail);
    }

    /// Marks `stage` as not needed (TLS for http://); the next one begins.
    pub fn skipped(&self, stage: Stage, detail: &str) {
        self.end(stage, "-", false, detail);
    }

    /// Ends the stage under way as failed, saying `detail`; returns that stage.
    pub fn failed(&self, detail: &str) -> Stage {
        let stage = self.current();
        self.end(stage, "FAIL", true, detail);
        stage
    }

    fn end(&self, stage: Stage, mark: &str, timed: bool, detail: &str) {
        let mut state = self.lock();
        let now = Instant::now();
        let time = if timed {
            millis(now - state.1)
        } else {
            String::new()
        };
        *state = (stage.next(), now);
        // Written while holding the lock, so that lines never interleave; a reader
        // that went away is no reason to stop the check.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "{:<8}{:<5}{time:>10}  {}",
            stage.label(),
            mark,
            printable(detail)
        );
        let _ = out.flush();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Stage, Instant)> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `d` in milliseconds, to a tenth: `0.3 ms`, `1520.0 ms`.
pub fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

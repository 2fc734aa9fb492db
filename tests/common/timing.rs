//! How long did a call take, once the machine's share is taken out? On a loaded
//! machine a thread whose socket timeout has fired may wait a long time for a CPU
//! before it can return, and that wait is the scheduler's, not the library's: counted
//! against a deadline + 20% bound, it makes the bound fail for reasons the library
//! cannot help. The time a thread spends runnable but not running is what Linux counts
//! as its run-queue delay, so that is what [`CallTimer`] takes out; sleeping past a
//! timer (timer slack) stays the library's, as `docs/design.md` (§7.5) counts it.
//! Waits for other threads' CPUs (a contended lock) are not taken out.

use std::fmt;
use std::time::{Duration, Instant};

/// In total, how long the calling thread has been runnable without a CPU: the second
/// field of Linux's `/proc/thread-self/schedstat`, in nanoseconds. `None` where the
/// kernel does not say, and then nothing is taken out.
fn cpu_wait_so_far() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// A stopwatch for work done on the thread that starts it (and stops it).
pub struct CallTimer {
    started: Instant,
    waited_before: Option<Duration>,
}

impl CallTimer {
    pub fn start() -> CallTimer {
        let waited_before = cpu_wait_so_far();
        CallTimer {
            started: Instant::now(),
            waited_before,
        }
    }

    /// What the timer measured since it started; call it on the starting thread.
    pub fn stop(&self) -> CallTime {
        let elapsed = self.started.elapsed();
        let cpu_wait = match (self.waited_before, cpu_wait_so_far()) {
            (Some(before), Some(now)) => now.saturating_sub(before).min(elapsed),
            _ => Duration::ZERO,
        };
        CallTime { elapsed, cpu_wait }
    }
}

/// A [`CallTimer`]'s measure.
#[derive(Clone, Copy, Debug)]
pub struct CallTime {
    /// Wall-clock time.
    pub elapsed: Duration,
    /// The part of `elapsed` the thread spent waiting for a CPU.
    pub cpu_wait: Duration,
}

impl CallTime {
    /// The time the call itself accounts for: `elapsed` less the wait for a CPU. What
    /// upper bounds are checked against; lower bounds take `elapsed`, which a loaded
    /// machine only makes longer.
    pub fn own(&self) -> Duration {
        self.elapsed - self.cpu_wait
    }
}

impl fmt::Display for CallTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} ({:?} of it waiting for a CPU)",
            self.elapsed, self.cpu_wait
        )
    }
}

//! What does `lcm-outcome outbox flush` do? Delivers the outbox's pending entries with
//! the library's flush, shows a progress bar while it runs (on a terminal only), and
//! ends with one summary line and the flush's status.
//!
//! The library's flush reports only when it is done, so the bar is fed by counting the
//! file from a second thread while the flush runs; that thread wakes when the flush
//! ends, and otherwise only to redraw.

use std::io::IsTerminal;
use std::sync::mpsc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lcm_outcome::outbox::FlushReport;
use lcm_outcome::{Client, Error, Status};

use crate::args::FlushArgs;
use crate::connect::{client, has_endpoint};
use crate::exit::{Exit, Failure};
use crate::outbox::open;
use crate::show::line;

/// How often the bar is redrawn from the file's counts.
const REDRAW: Duration = Duration::from_millis(100);

pub fn run(args: &FlushArgs) -> Exit {
    // Checks that the file exists (the client would create it) and is an outbox.
    let before = open(&args.file)?.counts()?;
    if !has_endpoint(&args.connection) {
        // Every delivery would fail alike until the flush ran out of time.
        return Err(Failure::Status(Error::new(
            Status::Config,
            "outbox flush needs LCM's endpoint: give --endpoint URL or set LCM_ENDPOINT",
        )));
    }
    let client = client(&args.connection, Some(("FILE", &args.file.file)))?;
    let timeout = Duration::from_millis(args.flush_timeout_ms);
    let report = if std::io::stdout().is_terminal() {
        with_progress(&client, timeout, before.pending)?
    } else {
        client.flush_outbox(timeout)?
    };
    let newly_dead = report.dead.saturating_sub(before.dead);
    line(&format!(
        "flush: {} delivered, {} still pending, {} dead letter(s){}",
        report.delivered,
        report.pending,
        report.dead,
        match newly_dead {
            0 => String::new(),
            n => format!(" ({n} new: see `lcm-outcome outbox dead`)"),
        }
    ));
    if report.pending == 0 {
        return Ok(Status::Ok);
    }
    Err(Failure::Status(report.last_failure.unwrap_or_else(|| {
        Error::new(
            Status::Timeout,
            format!(
                "{} outcome(s) still pending: --flush-timeout-ms ({}) ran out, or another \
                 process is delivering them",
                report.pending, args.flush_timeout_ms
            ),
        )
    })))
}

/// The flush, with a bar that counts the entries that left the pending ones.
fn with_progress(client: &Client, timeout: Duration, pending: usize) -> Result<FlushReport, Error> {
    let bar = ProgressBar::with_draw_target(Some(pending as u64), ProgressDrawTarget::stdout());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} delivered or dead  {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let report = std::thread::scope(|scope| {
        let flushing = scope.spawn(move || {
            let report = client.flush_outbox(timeout);
            let _ = done_tx.send(());
            report
        });
        while let Err(mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(REDRAW) {
            if let Ok(now) = client.outbox_counts() {
                // Another process may add entries meanwhile: the bar grows with them.
                let left = pending.saturating_sub(now.pending);
                bar.set_length((left + now.pending).max(pending) as u64);
                bar.set_position(left as u64);
            }
        }
        flushing.join()
    });
    bar.finish_and_clear();
    report.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

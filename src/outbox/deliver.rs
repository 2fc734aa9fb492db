//! What happens to an outcome when the outbox is on: sent now or stored (the
//! `outbox_mode`), and later delivered from the file, by the background sender or by
//! a flush (docs/design.md §9).
//!
//! The one promise: `LCM_QUEUED` only for an outcome that is on disk. Order per call
//! id: an older entry never reaches LCM after a newer outcome of its call id; a direct
//! call holds (leases) its call id's pending entries while it sends, and waits behind
//! one that is in flight.

use std::time::{Duration, Instant};

use super::store::{self, Entry, StoredOutcome};
use super::{now_ms, Mode, Outbox};
use crate::client::{send, Sent, Snapshot};
use crate::error::{Error, Status};
use crate::log::{log, Level};
use crate::message::Outcome;

/// How much longer than a call's deadline a lease lasts: a sender that is still
/// alive has returned by then, one that is not has died.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// The longest wait between two attempts of one entry, in retry intervals.
const MAX_BACKOFF_INTERVALS: i64 = 16;

/// Whether a failed delivery may succeed later, so that the outcome is worth keeping:
/// not delivered or maybe delivered (`CONNECT`, `TIMEOUT`), or LCM saying "later"
/// (HTTP 408, 429, 5xx).
pub(crate) fn queueable(error: &Error) -> bool {
    match error.status() {
        Status::Connect | Status::Timeout => true,
        Status::HttpStatus => error
            .http_status()
            .is_some_and(|c| c == 408 || c == 429 || c >= 500),
        _ => false,
    }
}

/// Whether LCM gave a final no: the entry goes to the dead letters.
fn rejected(error: &Error) -> bool {
    match error.status() {
        Status::Rejected | Status::InvalidArgument => true,
        Status::HttpStatus => error
            .http_status()
            .is_some_and(|c| (400..500).contains(&c) && c != 408 && c != 429),
        _ => false,
    }
}

/// What became of one outcome given to a client with an outbox.
pub(crate) fn send_or_queue(
    snapshot: &Snapshot,
    outbox: &Outbox,
    outcome: &Outcome<'_>,
    wake_sender: &dyn Fn(bool),
) -> Result<Sent, Error> {
    // What cannot be built, or has nowhere to go, is the caller's to fix: never stored.
    crate::message::build_request(&snapshot.settings.source, outcome)?;
    snapshot.settings.ready_endpoint()?;
    let stored = StoredOutcome::from(outcome);
    let budget = snapshot.settings.timeout;
    match snapshot.settings.outbox_mode {
        Mode::Always => match outbox.run(budget, |c| store::enqueue(c, &stored, &[], now_ms())) {
            Ok(id) => {
                wake_sender(false);
                Ok(queued(outbox, id, "outbox_mode is always"))
            }
            // Not on disk: sending it now is the only way not to lose it.
            Err(problem) => send(snapshot, outcome, deadline(budget), None)
                .map(|()| Sent::Confirmed)
                .map_err(|e| not_stored(e, &problem)),
        },
        Mode::Fallback => fallback(snapshot, outbox, outcome, &stored, wake_sender),
    }
}

fn fallback(
    snapshot: &Snapshot,
    outbox: &Outbox,
    outcome: &Outcome<'_>,
    stored: &StoredOutcome,
    wake_sender: &dyn Fn(bool),
) -> Result<Sent, Error> {
    let budget = snapshot.settings.timeout;
    let owner = owner();
    let now = now_ms();
    let until = now + (budget + LEASE_MARGIN).as_millis() as i64;
    let held = outbox.run(budget, |c| {
        store::hold(c, outcome.call_id, &owner, now, until)
    });
    let held = match held {
        Ok(held) => held,
        Err(problem) => {
            return send(snapshot, outcome, deadline(budget), None)
                .map(|()| Sent::Confirmed)
                .map_err(|e| not_stored(e, &problem))
        }
    };
    if held.in_flight {
        let id = outbox
            .run(budget, |c| store::enqueue(c, stored, &[], now_ms()))
            .map_err(Error::config)?;
        wake_sender(false);
        return Ok(queued(
            outbox,
            id,
            "an earlier outcome of this call id is being delivered from the outbox, and this \
             one must follow it",
        ));
    }
    match send(snapshot, outcome, deadline(budget), None) {
        Ok(()) => {
            // Older outcomes of the call id are superseded by the one LCM just took.
            let _ = outbox.run(budget, |c| store::remove(c, &held.ids));
            wake_sender(true);
            Ok(Sent::Confirmed)
        }
        Err(e) if queueable(&e) => {
            match outbox.run(budget, |c| store::enqueue(c, stored, &held.ids, now_ms())) {
                Ok(id) => {
                    wake_sender(false);
                    Ok(queued(outbox, id, e.message()))
                }
                Err(problem) => {
                    let _ = outbox.run(budget, |c| store::release(c, &held.ids, now_ms()));
                    Err(not_stored(e, &problem))
                }
            }
        }
        Err(e) => {
            let _ = outbox.run(budget, |c| store::release(c, &held.ids, now_ms()));
            Err(e)
        }
    }
}

/// `LCM_QUEUED`'s text: the entry first (so no cut can lose it), then why.
fn queued(outbox: &Outbox, id: i64, why: &str) -> Sent {
    let text = format!(
        "queued in the outbox '{}' as entry {id}, to be delivered later; {why}",
        outbox.shown()
    );
    Sent::Queued {
        id,
        message: Error::new(Status::Queued, text).message().to_string(),
    }
}

/// The delivery error, saying that the outcome could not be stored either.
fn not_stored(error: Error, problem: &str) -> Error {
    error.with_note(&format!("the outcome was NOT queued: {problem}"))
}

fn deadline(budget: Duration) -> Instant {
    Instant::now() + budget
}

/// Who holds a lease, for an operator reading the file.
fn owner() -> String {
    format!("pid {}", std::process::id())
}

impl From<&Outcome<'_>> for StoredOutcome {
    fn from(o: &Outcome<'_>) -> StoredOutcome {
        StoredOutcome {
            call_id: o.call_id.to_string(),
            account_number: o.account_number.to_string(),
            outcome_id: o.outcome_id.to_string(),
            lead_score: o.lead_score,
            user_id: o.user_id.to_string(),
            agent_comments: o.agent_comments.to_string(),
            target_amount: o.target_amount,
        }
    }
}

/// What a flush did.
#[derive(Debug, Clone, Default)]
pub struct FlushReport {
    /// Entries LCM confirmed.
    pub delivered: usize,
    /// Entries still waiting afterwards (in flight elsewhere included).
    pub pending: usize,
    /// Dead letters afterwards.
    pub dead: usize,
    /// The last failed delivery, if one failed.
    pub last_failure: Option<Error>,
}

/// What became of one entry taken from the file.
pub(crate) enum Delivery {
    Delivered,
    /// Kept for later (or superseded by a newer outcome of its call id).
    Kept(Error),
    /// Moved to the dead letters.
    Dead(Error),
}

/// Takes the next entry after entry `after_id` (due ones only, unless `due_only` is
/// false) and delivers it with the client's settings in force now, within `budget`.
/// Returns the entry's id and what became of it; `None`: nothing to send.
pub(crate) fn deliver_next(
    snapshot: &Snapshot,
    outbox: &Outbox,
    due_only: bool,
    after_id: i64,
    budget: Duration,
) -> Result<Option<(i64, Delivery)>, String> {
    let call_budget = snapshot.settings.timeout.min(budget);
    let now = now_ms();
    let until = now + (call_budget + LEASE_MARGIN).as_millis() as i64;
    let owner = owner();
    let Some(entry) = outbox.run(call_budget, |c| {
        store::claim(c, &owner, now, until, due_only, after_id)
    })?
    else {
        return Ok(None);
    };
    Ok(Some((
        entry.id,
        deliver(snapshot, outbox, &entry, call_budget),
    )))
}

fn deliver(snapshot: &Snapshot, outbox: &Outbox, entry: &Entry, budget: Duration) -> Delivery {
    let settings = &snapshot.settings;
    let age = Duration::from_millis((now_ms() - entry.created_ms).max(0) as u64);
    if age > settings.outbox_max_age {
        let error = Error::new(
            Status::Timeout,
            format!(
                "outbox entry {} (call {}) was not delivered within outbox_max_age_s ({}); \
                 moved to the dead letters",
                entry.id,
                entry.outcome.call_id,
                settings.outbox_max_age.as_secs()
            ),
        );
        log(settings.log_level, Level::Error, || {
            error.message().to_string()
        });
        return bury(outbox, entry, error, budget);
    }
    match send(
        snapshot,
        &entry.outcome.as_outcome(),
        deadline(budget),
        Some(entry.id),
    ) {
        Ok(()) => {
            let _ = outbox.run(budget, |c| store::remove(c, &[entry.id]));
            Delivery::Delivered
        }
        Err(e) if rejected(&e) => {
            let level = settings.log_level;
            log(level, Level::Error, || {
                format!(
                    "outbox entry {} (call {}) moved to the dead letters: {}",
                    entry.id,
                    entry.outcome.call_id,
                    crate::redact::loggable(level, &e)
                )
            });
            bury(outbox, entry, e, budget)
        }
        Err(e) => {
            let interval = settings.outbox_retry.as_millis() as i64;
            // `attempts` as read when the entry was claimed: the attempts before this
            // one. After the first failure one interval, then 2, 4, 8, 16.
            let intervals = 1i64 << entry.attempts.clamp(0, 4);
            let next = now_ms() + interval * intervals.min(MAX_BACKOFF_INTERVALS);
            let _ = outbox.run(budget, |c| {
                store::retry_later(c, entry.id, e.status().name(), e.message(), now_ms(), next)
            });
            Delivery::Kept(e)
        }
    }
}

/// Moves `entry` to the dead letters with `error`, LCM's answer or why it was given up.
fn bury(outbox: &Outbox, entry: &Entry, error: Error, budget: Duration) -> Delivery {
    let _ = outbox.run(budget, |c| {
        store::bury(
            c,
            entry.id,
            error.status().name(),
            error.message(),
            now_ms(),
        )
    });
    Delivery::Dead(error)
}

/// Delivers pending entries, oldest first, until none is left or `timeout` passes.
/// Each entry is tried once: one that fails waits for the sender or the next flush,
/// rather than being retried at once, over and over, ahead of those behind it.
pub(crate) fn flush(
    snapshot: &Snapshot,
    outbox: &Outbox,
    timeout: Duration,
) -> Result<FlushReport, Error> {
    let deadline = Instant::now() + timeout;
    let mut report = FlushReport::default();
    let mut tried = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let Some((id, delivery)) =
            deliver_next(snapshot, outbox, false, tried, left).map_err(Error::config)?
        else {
            break;
        };
        tried = id;
        match delivery {
            Delivery::Delivered => report.delivered += 1,
            Delivery::Kept(e) | Delivery::Dead(e) => report.last_failure = Some(e),
        }
    }
    let counts = outbox.counts()?;
    report.pending = counts.pending;
    report.dead = counts.dead;
    Ok(report)
}

//! How does the command line print what it found? Lines on stdout that a closed pipe
//! does not turn into a panic, values made safe for a terminal, times, tables, and the
//! JSON form of an outbox entry.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lcm_outcome::outbox::Entry;
use serde::Serialize;

/// Writes `text` and a newline to stdout. A reader that went away (`| head`) is not an
/// error worth reporting: what it did not read, it did not want.
pub fn line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

/// `text` with control characters (a stored call id may hold an escape sequence that
/// would drive the terminal) written as escapes, as the library writes its own lines.
pub use lcm_outcome::text::one_line as printable;

/// Now, in ms since the Unix epoch, as the outbox stores times.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How long ago `ms` was, to the second: `1h 2m 3s`.
pub fn age(ms: i64) -> String {
    let secs = (now_ms() - ms).max(0) / 1000;
    humantime::format_duration(Duration::from_secs(secs as u64)).to_string()
}

/// `ms` as an RFC 3339 UTC time, to the second.
pub fn when(ms: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(time).to_string()
}

/// `rows` as lines whose columns line up, the first row being the header.
pub fn table(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, &width)| format!("{cell:<width$}"))
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}

/// An outbox entry as `--json` prints it: every field, times in ms since the Unix
/// epoch, as the file holds them.
#[derive(Serialize)]
pub struct EntryJson<'a> {
    id: i64,
    state: &'static str,
    call_id: &'a str,
    account_number: &'a str,
    outcome_id: &'a str,
    lead_score: f64,
    user_id: &'a str,
    agent_comments: &'a str,
    target_amount: f64,
    created_ms: i64,
    updated_ms: i64,
    next_attempt_ms: i64,
    attempts: i64,
    last_status: Option<&'a str>,
    last_error: Option<&'a str>,
}

impl<'a> From<&'a Entry> for EntryJson<'a> {
    fn from(e: &'a Entry) -> EntryJson<'a> {
        let o = &e.outcome;
        EntryJson {
            id: e.id,
            state: e.state.name(),
            call_id: &o.call_id,
            account_number: &o.account_number,
            outcome_id: &o.outcome_id,
            lead_score: o.lead_score,
            user_id: &o.user_id,
            agent_comments: &o.agent_comments,
            target_amount: o.target_amount,
            created_ms: e.created_ms,
            updated_ms: e.updated_ms,
            next_attempt_ms: e.next_attempt_ms,
            attempts: e.attempts,
            last_status: e.last_status.as_deref(),
            last_error: e.last_error.as_deref(),
        }
    }
}

/// `value` as one line of JSON.
pub fn json(value: &impl Serialize) -> String {
    // Serializing plain structs of strings and numbers cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

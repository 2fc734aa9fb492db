//! What does the outbox file hold, and how does it change? The schema and every
//! statement run on it, each change in one transaction (docs/design.md §9).
//!
//! An entry is `pending` (waiting to be sent), `sending` (leased by one sender until
//! `lease_until_ms`; a lease that expired means its sender died, and the entry is
//! pending again) or `dead` (given up: rejected by LCM, or too old). Latest wins per
//! call id: a new outcome deletes its call id's pending entry, and waits behind an
//! entry of the same call id that is being sent.

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

/// The schema's version, in `PRAGMA user_version`.
pub(crate) const SCHEMA_VERSION: i64 = 1;
/// `PRAGMA application_id` of an outbox file ("LCMO"), to tell it from other SQLite
/// files.
pub(crate) const APPLICATION_ID: i64 = 0x4C43_4D4F;

/// The schema, for a new file. Times are milliseconds since the Unix epoch
/// (`datetime(created_ms / 1000, 'unixepoch')` in the sqlite3 shell).
const SCHEMA: &str = "
CREATE TABLE entries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id         TEXT    NOT NULL,
    account_number  TEXT    NOT NULL,
    outcome_id      TEXT    NOT NULL,
    lead_score      REAL    NOT NULL,
    user_id         TEXT    NOT NULL,
    agent_comments  TEXT    NOT NULL,
    target_amount   REAL    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sending', 'dead')),
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    lease_until_ms  INTEGER,
    lease_owner     TEXT,
    last_status     TEXT,
    last_error      TEXT
);
CREATE INDEX entries_by_call_id ON entries (call_id, id);
CREATE INDEX entries_by_state ON entries (state, next_attempt_ms, id);
";

/// An outcome as the outbox keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOutcome {
    pub call_id: String,
    pub account_number: String,
    pub outcome_id: String,
    pub lead_score: f64,
    pub user_id: String,
    pub agent_comments: String,
    pub target_amount: f64,
}

impl StoredOutcome {
    /// The outcome, borrowed, as the library sends it.
    pub fn as_outcome(&self) -> crate::message::Outcome<'_> {
        crate::message::Outcome {
            call_id: &self.call_id,
            account_number: &self.account_number,
            outcome_id: &self.outcome_id,
            lead_score: self.lead_score,
            user_id: &self.user_id,
            agent_comments: &self.agent_comments,
            target_amount: self.target_amount,
        }
    }
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting to be sent.
    Pending,
    /// Leased by a sender now.
    Sending,
    /// Given up: LCM rejected it, or it grew too old. Kept for the operator.
    Dead,
}

impl State {
    /// The name stored in the `state` column.
    pub fn name(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Sending => "sending",
            State::Dead => "dead",
        }
    }

    fn from_name(name: &str) -> State {
        match name {
            "sending" => State::Sending,
            "dead" => State::Dead,
            _ => State::Pending,
        }
    }
}

/// One row of the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: i64,
    pub outcome: StoredOutcome,
    pub state: State,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub next_attempt_ms: i64,
    pub attempts: i64,
    /// The status name of the last failed delivery (`LCM_ERR_CONNECT`, ...).
    pub last_status: Option<String>,
    /// Its message: for a dead letter, LCM's answer.
    pub last_error: Option<String>,
}

const COLUMNS: &str = "id, call_id, account_number, outcome_id, lead_score, user_id, \
    agent_comments, target_amount, state, created_ms, updated_ms, next_attempt_ms, attempts, \
    last_status, last_error";

fn entry(row: &Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: row.get(0)?,
        outcome: StoredOutcome {
            call_id: row.get(1)?,
            account_number: row.get(2)?,
            outcome_id: row.get(3)?,
            lead_score: row.get(4)?,
            user_id: row.get(5)?,
            agent_comments: row.get(6)?,
            target_amount: row.get(7)?,
        },
        state: State::from_name(&row.get::<_, String>(8)?),
        created_ms: row.get(9)?,
        updated_ms: row.get(10)?,
        next_attempt_ms: row.get(11)?,
        attempts: row.get(12)?,
        last_status: row.get(13)?,
        last_error: row.get(14)?,
    })
}

/// Creates the schema in a new, empty file.
pub(crate) fn create(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()
}

/// What a dialer's call found in the outbox for its call id, with the entries it now
/// holds (leased to `owner`) so that no sender delivers an older outcome meanwhile.
pub(crate) struct Held {
    /// Pending entries of the call id, now leased to the caller.
    pub(crate) ids: Vec<i64>,
    /// Whether an entry of the call id is being sent by someone else: the new outcome
    /// must then wait behind it, in the outbox.
    pub(crate) in_flight: bool,
}

/// Leases the pending entries of `call_id` to `owner` until `until_ms`, unless one
/// of its entries is in flight elsewhere.
pub(crate) fn hold(
    conn: &mut Connection,
    call_id: &str,
    owner: &str,
    now_ms: i64,
    until_ms: i64,
) -> rusqlite::Result<Held> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let in_flight: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM entries WHERE call_id = ?1 AND state = 'sending' \
         AND lease_until_ms > ?2)",
        params![call_id, now_ms],
        |r| r.get(0),
    )?;
    let mut ids = Vec::new();
    if !in_flight {
        let mut select = tx.prepare(
            "SELECT id FROM entries WHERE call_id = ?1 AND (state = 'pending' OR \
             (state = 'sending' AND lease_until_ms <= ?2))",
        )?;
        ids = select
            .query_map(params![call_id, now_ms], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        drop(select);
        for id in &ids {
            tx.execute(
                "UPDATE entries SET state = 'sending', lease_owner = ?2, lease_until_ms = ?3, \
                 updated_ms = ?4 WHERE id = ?1",
                params![id, owner, until_ms, now_ms],
            )?;
        }
    }
    tx.commit()?;
    Ok(Held { ids, in_flight })
}

/// Stores `outcome` as pending (latest wins: its call id's pending entries, and any
/// `superseded` ones the caller held, are deleted), durably. Returns its id.
pub(crate) fn enqueue(
    conn: &mut Connection,
    outcome: &StoredOutcome,
    superseded: &[i64],
    now_ms: i64,
) -> rusqlite::Result<i64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "DELETE FROM entries WHERE call_id = ?1 AND state = 'pending'",
        params![outcome.call_id],
    )?;
    for id in superseded {
        tx.execute("DELETE FROM entries WHERE id = ?1", params![id])?;
    }
    tx.execute(
        "INSERT INTO entries (call_id, account_number, outcome_id, lead_score, user_id, \
         agent_comments, target_amount, state, created_ms, updated_ms, next_attempt_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8, ?8)",
        params![
            outcome.call_id,
            outcome.account_number,
            outcome.outcome_id,
            outcome.lead_score,
            outcome.user_id,
            outcome.agent_comments,
            outcome.target_amount,
            now_ms
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(id)
}

/// Deletes the entries `ids` (delivered, or superseded by an outcome LCM confirmed).
pub(crate) fn remove(conn: &mut Connection, ids: &[i64]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for id in ids {
        tx.execute("DELETE FROM entries WHERE id = ?1", params![id])?;
    }
    tx.commit()
}

/// Gives held entries back, pending as they were.
pub(crate) fn release(conn: &mut Connection, ids: &[i64], now_ms: i64) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for id in ids {
        tx.execute(
            "UPDATE entries SET state = 'pending', lease_owner = NULL, lease_until_ms = NULL, \
             updated_ms = ?2 WHERE id = ?1 AND state = 'sending'",
            params![id, now_ms],
        )?;
    }
    tx.commit()
}

/// Leases the oldest entry after entry `after_id` that may be sent now to `owner`
/// until `until_ms`: pending (and due, unless `due_only` is false), or in flight under
/// an expired lease, and with no older entry of its call id in flight. An expired
/// entry that a newer one of its call id has superseded is deleted instead.
pub(crate) fn claim(
    conn: &mut Connection,
    owner: &str,
    now_ms: i64,
    until_ms: i64,
    due_only: bool,
    after_id: i64,
) -> rusqlite::Result<Option<Entry>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "DELETE FROM entries WHERE state = 'sending' AND lease_until_ms <= ?1 AND EXISTS \
         (SELECT 1 FROM entries newer WHERE newer.call_id = entries.call_id \
          AND newer.id > entries.id AND newer.state != 'dead')",
        params![now_ms],
    )?;
    let due = if due_only { now_ms } else { i64::MAX };
    let found = tx
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM entries e WHERE \
                 e.id > ?3 AND ((e.state = 'pending' AND e.next_attempt_ms <= ?2) \
                  OR (e.state = 'sending' AND e.lease_until_ms <= ?1)) \
                 AND NOT EXISTS (SELECT 1 FROM entries s WHERE s.call_id = e.call_id \
                     AND s.id < e.id AND s.state = 'sending' AND s.lease_until_ms > ?1) \
                 ORDER BY e.id LIMIT 1"
            ),
            params![now_ms, due, after_id],
            entry,
        )
        .optional()?;
    if let Some(found) = &found {
        tx.execute(
            "UPDATE entries SET state = 'sending', lease_owner = ?2, lease_until_ms = ?3, \
             attempts = attempts + 1, updated_ms = ?4 WHERE id = ?1",
            params![found.id, owner, until_ms, now_ms],
        )?;
    }
    tx.commit()?;
    Ok(found)
}

/// Records a failed delivery of entry `id`: pending again from `next_attempt_ms`, or
/// deleted when a newer outcome of its call id came meanwhile (it supersedes this).
pub(crate) fn retry_later(
    conn: &mut Connection,
    id: i64,
    status: &str,
    error: &str,
    now_ms: i64,
    next_attempt_ms: i64,
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let superseded = tx.execute(
        "DELETE FROM entries WHERE id = ?1 AND EXISTS (SELECT 1 FROM entries newer \
         WHERE newer.call_id = entries.call_id AND newer.id > entries.id \
         AND newer.state != 'dead')",
        params![id],
    )?;
    if superseded == 0 {
        tx.execute(
            "UPDATE entries SET state = 'pending', lease_owner = NULL, lease_until_ms = NULL, \
             last_status = ?2, last_error = ?3, updated_ms = ?4, next_attempt_ms = ?5 \
             WHERE id = ?1",
            params![id, status, error, now_ms, next_attempt_ms],
        )?;
    }
    tx.commit()
}

/// Moves entry `id` to the dead letters with why.
pub(crate) fn bury(
    conn: &mut Connection,
    id: i64,
    status: &str,
    error: &str,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE entries SET state = 'dead', lease_owner = NULL, lease_until_ms = NULL, \
         last_status = ?2, last_error = ?3, updated_ms = ?4 WHERE id = ?1",
        params![id, status, error, now_ms],
    )?;
    Ok(())
}

/// Entries pending (in flight included) and dead, and when the oldest pending one
/// was given.
pub(crate) fn counts(conn: &Connection) -> rusqlite::Result<(usize, usize, Option<i64>)> {
    conn.query_row(
        "SELECT COUNT(*) FILTER (WHERE state != 'dead'), COUNT(*) FILTER (WHERE state = 'dead'), \
         MIN(created_ms) FILTER (WHERE state != 'dead') FROM entries",
        [],
        |r| {
            Ok((
                r.get::<_, i64>(0)? as usize,
                r.get::<_, i64>(1)? as usize,
                r.get(2)?,
            ))
        },
    )
}

/// Every entry in `states`, oldest first.
pub(crate) fn list(conn: &Connection, states: &[State]) -> rusqlite::Result<Vec<Entry>> {
    let mut select = conn.prepare(&format!("SELECT {COLUMNS} FROM entries ORDER BY id"))?;
    let all = select.query_map([], entry)?;
    let mut out = Vec::new();
    for e in all {
        let e = e?;
        if states.contains(&e.state) {
            out.push(e);
        }
    }
    Ok(out)
}

/// Moves dead letters (entry `id`, or all) back to pending, due now. Returns how many.
pub(crate) fn revive(conn: &Connection, id: Option<i64>, now_ms: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE entries SET state = 'pending', next_attempt_ms = ?2, updated_ms = ?2, \
         created_ms = ?2 WHERE state = 'dead' AND (?1 IS NULL OR id = ?1)",
        params![id, now_ms],
    )
}

/// Deletes dead letters (entry `id`, or all); never a pending entry. Returns how many.
pub(crate) fn purge(conn: &Connection, id: Option<i64>) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM entries WHERE state = 'dead' AND (?1 IS NULL OR id = ?1)",
        params![id],
    )
}

//! Where does an outcome wait while LCM is down? In the outbox: one SQLite file
//! (bundled SQLite, WAL, every commit fsync'd before a call returns) that several
//! processes and threads may share (docs/design.md §9).
//!
//! This module opens and checks the file and runs every statement under the right
//! busy timeout; `store.rs` holds the schema and the statements, `deliver.rs` what
//! the library does with an entry, `sender.rs` the background sender.
//!
//! A file that is not an outbox, is corrupt, or has a newer schema is refused with
//! `LCM_ERR_CONFIG` naming it, and is never written to. fork(): a child closes its
//! copy of the parent's connection and opens one of its own on first use.

mod deliver;
mod sender;
mod store;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use rusqlite::{Connection, OpenFlags};

use crate::error::Error;
use crate::text::short;

pub use deliver::FlushReport;
pub(crate) use deliver::{flush, send_or_queue};
pub(crate) use sender::Sender;
pub use store::{Entry, State, StoredOutcome};

/// How `outbox_mode` asks outcomes to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Send now; store only what LCM did not confirm for a reason that trying again
    /// later can fix.
    Fallback,
    /// Store, return `LCM_QUEUED` at once, deliver in the background.
    Always,
}

impl Mode {
    /// The mode named `name` (`fallback`, `always`).
    pub fn from_name(name: &str) -> Option<Mode> {
        match name.to_ascii_lowercase().as_str() {
            "fallback" => Some(Mode::Fallback),
            "always" => Some(Mode::Always),
            _ => None,
        }
    }
}

/// Counts of an outbox's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Waiting to be delivered (in flight included).
    pub pending: usize,
    /// Dead letters.
    pub dead: usize,
    /// When the oldest pending entry was given, in ms since the Unix epoch.
    pub oldest_pending_ms: Option<i64>,
}

/// An open outbox file.
pub struct Outbox {
    path: PathBuf,
    /// The path for messages.
    shown: String,
    connection: ArcSwapOption<PerProcess>,
    /// Held while a forked child replaces its parent's connection.
    renewal: Mutex<()>,
}

/// The connection of one process.
struct PerProcess {
    pid: u32,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Outbox({})", self.shown)
    }
}

/// The first bytes of every SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Longest a statement waits for another process's lock when the caller gives no
/// deadline of its own (the command line, counts).
pub(crate) const DEFAULT_BUSY: Duration = Duration::from_secs(5);

impl Outbox {
    /// Opens the outbox at `path`, creating it (mode 0600) when missing; its
    /// directory must exist. Anything that keeps it from being used is
    /// `LCM_ERR_CONFIG` naming the path.
    pub fn open(path: &str) -> Result<Outbox, Error> {
        let shown = short(path);
        let refuse = |why: String| Error::config(format!("outbox '{shown}' {why}"));
        let path_buf = PathBuf::from(path);
        let created = create_if_missing(&path_buf).map_err(|e| refuse(e.to_string()))?;
        if !created {
            check_header(&path_buf).map_err(refuse)?;
        }
        let conn = open_connection(&path_buf).map_err(|e| refuse(describe(&e)))?;
        let outbox = Outbox {
            path: path_buf,
            shown: shown.clone(),
            connection: ArcSwapOption::const_empty(),
            renewal: Mutex::new(()),
        };
        let mut conn = conn;
        check_or_create_schema(&mut conn).map_err(refuse)?;
        outbox.connection.store(Some(Arc::new(PerProcess {
            pid: std::process::id(),
            conn: Mutex::new(conn),
        })));
        Ok(outbox)
    }

    /// The path, as messages show it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Runs `statements` on this process's connection, waiting at most `busy` for
    /// another process's lock. The error says what failed, naming the file.
    pub(crate) fn run<T>(
        &self,
        busy: Duration,
        statements: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, String> {
        let per_process = self.per_process()?;
        let mut conn = lock(&per_process.conn);
        conn.busy_timeout(busy.max(Duration::from_millis(1)))
            .map_err(|e| self.problem(&e))?;
        statements(&mut conn).map_err(|e| self.problem(&e))
    }

    /// Counts, without sending anything.
    pub fn counts(&self) -> Result<Counts, Error> {
        let (pending, dead, oldest_pending_ms) = self
            .run(DEFAULT_BUSY, |c| store::counts(c))
            .map_err(Error::config)?;
        Ok(Counts {
            pending,
            dead,
            oldest_pending_ms,
        })
    }

    /// The entries in `states`, oldest first.
    pub fn entries(&self, states: &[State]) -> Result<Vec<Entry>, Error> {
        self.run(DEFAULT_BUSY, |c| store::list(c, states))
            .map_err(Error::config)
    }

    /// Moves dead letters (entry `id`, or all) back to pending. Returns how many.
    pub fn revive(&self, id: Option<i64>) -> Result<usize, Error> {
        self.run(DEFAULT_BUSY, |c| store::revive(c, id, now_ms()))
            .map_err(Error::config)
    }

    /// Deletes dead letters (entry `id`, or all); never a pending entry. Returns how
    /// many.
    pub fn purge(&self, id: Option<i64>) -> Result<usize, Error> {
        self.run(DEFAULT_BUSY, |c| store::purge(c, id))
            .map_err(Error::config)
    }

    /// This process's connection: opened anew in a forked child, after the parent's
    /// copy is closed there.
    ///
    /// Why close it: SQLite keeps, per process, what it knows of each file's locks, and
    /// a child inherits the parent's. A new connection in the child would then believe
    /// it holds the parent's locks and take none from the system: when the parent then
    /// closed its connection, it found no other user, checkpointed and deleted the
    /// write-ahead log under the child, whose later commits were lost. Closing the
    /// inherited connection first (which cannot checkpoint while the parent holds its
    /// lock) forgets that state. It can be closed safely only if no parent thread was
    /// in the middle of using it at fork(); else the outbox is refused in this process.
    fn per_process(&self) -> Result<Arc<PerProcess>, String> {
        let pid = std::process::id();
        let current = self.connection.load_full();
        if let Some(mine) = current.as_ref().filter(|c| c.pid == pid) {
            return Ok(Arc::clone(mine));
        }
        let _renewing = lock(&self.renewal);
        let current = self.connection.load_full();
        if let Some(mine) = current.as_ref().filter(|c| c.pid == pid) {
            return Ok(Arc::clone(mine)); // another thread of this child renewed it
        }
        if let Some(inherited) = &current {
            close_inherited(inherited).map_err(|why| format!("outbox '{}' {why}", self.shown))?;
        }
        let conn = open_connection(&self.path).map_err(|e| self.problem(&e))?;
        let fresh = Arc::new(PerProcess {
            pid,
            conn: Mutex::new(conn),
        });
        let before = self.connection.swap(Some(Arc::clone(&fresh)));
        // The parent's connection was closed above and its place holds an in-memory
        // one; the Arc itself may still be counted by parent threads' frames, which
        // do not exist here.
        std::mem::forget(before);
        Ok(fresh)
    }

    /// A storage error as a message naming the file.
    fn problem(&self, e: &rusqlite::Error) -> String {
        format!("outbox '{}': {}", self.shown, describe(e))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Closes, in a forked child, the connection inherited from its parent, unless a
/// parent thread was using it at fork() (then it holds the lock that no thread here
/// will release, and its state is half-way through a statement).
fn close_inherited(inherited: &PerProcess) -> Result<(), String> {
    let mut conn = match inherited.conn.try_lock() {
        Ok(conn) => conn,
        Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => {
            return Err(
                "cannot be used in this process: it was forked while another \
                        thread of its parent was using the outbox"
                    .into(),
            )
        }
    };
    let placeholder = Connection::open_in_memory().map_err(|e| describe(&e))?;
    let parents = std::mem::replace(&mut *conn, placeholder);
    // Errors are of no use here: the connection is gone either way.
    let _ = parents.close();
    Ok(())
}

/// What went wrong, in an operator's words where SQLite's code says more than its text.
fn describe(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => {
            "is locked by another process past the deadline".to_string()
        }
        Some(DiskFull) => "cannot be written: the disk is full".to_string(),
        Some(ReadOnly) => "cannot be written: it is read-only".to_string(),
        Some(DatabaseCorrupt | NotADatabase) => format!("is corrupt or not a database ({e})"),
        Some(CannotOpen) => format!("cannot be opened ({e})"),
        _ => e.to_string(),
    }
}

/// Creates an empty file at `path` with mode 0600 unless one exists; whether it did.
/// One that exists must open for writing: else the operating system's reason (a
/// read-only file system, say) is the error, where SQLite would only say that it
/// cannot open the file.
fn create_if_missing(path: &Path) -> std::io::Result<bool> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
            {
                Ok(_) => Ok(false),
                // A directory: check_header says so.
                Err(_) if path.is_dir() => Ok(false),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// Refuses, before SQLite touches it, a file that is not an SQLite database.
fn check_header(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    if meta.len() == 0 {
        return Ok(()); // a file created empty, by us or by a racing process
    }
    let mut header = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map_err(|_| "is not an outbox (not an SQLite database); left untouched".to_string())?;
    if &header != SQLITE_HEADER {
        return Err("is not an outbox (not an SQLite database); left untouched".into());
    }
    Ok(())
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    no_memory_statistics();
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(DEFAULT_BUSY)?;
    // Every commit is on disk before the call that made it returns.
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// Turns off SQLite's memory statistics, before SQLite starts. They are kept under
/// one process-wide mutex that every allocation takes: a fork() while another thread
/// of the parent allocates leaves it locked in the child, whose first use of the
/// outbox then waits forever (9 in 200 children of a dialer forking while a thread
/// queued outcomes hung). Once SQLite runs (started elsewhere in the process first)
/// this cannot be changed, and SQLite says so with an error that is ignored.
fn no_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a documented sqlite3_config option taking one int, called before
        // any connection of this library exists.
        unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::ffi::c_int,
            );
        }
    });
}

/// Accepts an outbox of this schema, creates the schema in an empty database, and
/// refuses anything else without writing to it.
fn check_or_create_schema(conn: &mut Connection) -> Result<(), String> {
    let read = |conn: &Connection| -> rusqlite::Result<(i64, i64, i64)> {
        let app: i64 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tables: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))?;
        Ok((app, version, tables))
    };
    let (app, version, tables) = read(conn).map_err(|e| describe(&e))?;
    match (app, tables) {
        (store::APPLICATION_ID, _) if version > store::SCHEMA_VERSION => Err(format!(
            "has a newer schema (version {version}; this library knows version {}): use a \
             newer lcm-outcome; left untouched",
            store::SCHEMA_VERSION
        )),
        (store::APPLICATION_ID, _) if version == store::SCHEMA_VERSION => {
            let ok: String = conn
                .query_row("PRAGMA quick_check", [], |r| r.get(0))
                .map_err(|e| describe(&e))?;
            if ok != "ok" {
                return Err(format!("is corrupt ({}); left untouched", short(&ok)));
            }
            set_wal(conn)
        }
        (0, 0) => {
            set_wal(conn)?;
            store::create(conn).map_err(|e| describe(&e))
        }
        _ => Err(format!(
            "is an SQLite database but not an lcm-outcome outbox (application_id {app}, \
             {tables} objects); left untouched"
        )),
    }
}

/// WAL: readers do not wait for a writer, and a commit is one append.
fn set_wal(conn: &Connection) -> Result<(), String> {
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|e| describe(&e))?;
    if mode.eq_ignore_ascii_case("wal") {
        Ok(())
    } else {
        Err(format!(
            "cannot use write-ahead logging (journal mode {mode})"
        ))
    }
}

/// Now, in ms since the Unix epoch, as the file stores times.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

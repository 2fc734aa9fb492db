//! The outbox's contract (docs/design.md §9), one test per rule, against real parts:
//! lcm-sim on loopback, SQLite files on disk under target/, processes that are
//! really killed with SIGKILL, forked, or run in private mount namespaces.
//!
//! - `rules`: which outcomes are queued, and latest wins;
//! - `delivery`: what leaves the outbox and when, flush and count, logs;
//! - `sender`: always mode and the background sender;
//! - `crash`: kill -9 at many moments, while queueing and while flushing;
//! - `processes`: several processes (and clients) flushing and queueing one file;
//! - `storage`: the file itself: schema, and the files refused;
//! - `unwritable`: locked, disk full, unwritable while in use;
//! - `fork`: a forking C program whose parent and children share one file.
//!
//! Child processes are this test binary again, running one `#[ignore]`d test (named
//! with `--exact`) with [`CHILD_VAR`] set; such a test does nothing without it.
//! Waits poll a counter of the simulator or the file, with generous deadlines.

#[path = "../common/mod.rs"]
mod common;

mod crash;
mod delivery;
mod fork;
mod processes;
mod rules;
mod sender;
mod storage;
mod unwritable;

use std::ffi::c_char;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use lcm_outcome::ffi::*;
use rusqlite::{Connection, OpenFlags};

/// Set (to the test's name) in a child process run by [`child`].
pub const CHILD_VAR: &str = "OUTBOX_TEST_CHILD";

/// An outbox file of its own for one test, in a fresh directory under target/.
pub struct OutboxFile {
    dir: WorkDir,
    path: PathBuf,
}

impl OutboxFile {
    /// `name` must be the calling test's own: tests run in parallel.
    pub fn new(name: &str) -> OutboxFile {
        let dir = WorkDir::new(&format!("outbox-{name}"));
        let path = dir.path().join("outbox.db");
        OutboxFile { dir, path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn shown(&self) -> &str {
        self.path.to_str().unwrap()
    }

    /// A client sending to `endpoint` with this outbox, no retries (a retryable
    /// failure is then one attempt) and no background sender: delivery only by
    /// flush, unless the test turns the sender on.
    pub fn client(&self, endpoint: &str) -> Client {
        let client = Client::for_endpoint(endpoint);
        client.set("retries", "0");
        client.set("outbox_retry_ms", "0");
        client.set("outbox", self.shown());
        client
    }

    /// Every row, oldest first, read with SQLite itself.
    pub fn rows(&self) -> Vec<Row> {
        rows(&self.path)
    }
}

/// One entry as the file holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: i64,
    pub call_id: String,
    pub account_number: String,
    pub outcome_id: String,
    pub lead_score: f64,
    pub user_id: String,
    pub agent_comments: String,
    pub target_amount: f64,
    pub state: String,
    pub created_ms: i64,
    pub attempts: i64,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
}

/// A connection of the test's own to an outbox file that exists (never created).
pub fn open(path: &Path) -> Connection {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    conn.busy_timeout(Duration::from_secs(30)).unwrap();
    conn
}

pub fn rows(path: &Path) -> Vec<Row> {
    let conn = open(path);
    let mut select = conn
        .prepare(
            "SELECT id, call_id, account_number, outcome_id, lead_score, user_id, \
             agent_comments, target_amount, state, created_ms, attempts, last_status, \
             last_error FROM entries ORDER BY id",
        )
        .unwrap();
    let rows = select
        .query_map([], |r| {
            Ok(Row {
                id: r.get(0)?,
                call_id: r.get(1)?,
                account_number: r.get(2)?,
                outcome_id: r.get(3)?,
                lead_score: r.get(4)?,
                user_id: r.get(5)?,
                agent_comments: r.get(6)?,
                target_amount: r.get(7)?,
                state: r.get(8)?,
                created_ms: r.get(9)?,
                attempts: r.get(10)?,
                last_status: r.get(11)?,
                last_error: r.get(12)?,
            })
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// `PRAGMA integrity_check` of the file: "ok" when sound.
pub fn integrity(path: &Path) -> String {
    open(path)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// What `lcm_client_outbox_flush` returned.
#[derive(Debug)]
pub struct Flushed {
    pub status: lcm_status,
    pub message: String,
    pub delivered: usize,
    pub pending: usize,
    pub dead: usize,
}

/// `lcm_client_outbox_flush(client, timeout_ms)`.
pub fn flush(client: &Client, timeout_ms: i32) -> Flushed {
    let (mut delivered, mut pending, mut dead) = (usize::MAX, usize::MAX, usize::MAX);
    let mut err = [0x55 as c_char; LCM_ERROR_SIZE];
    let status = unsafe {
        lcm_client_outbox_flush(
            client.0,
            timeout_ms,
            &mut delivered,
            &mut pending,
            &mut dead,
            err.as_mut_ptr(),
            err.len(),
        )
    };
    Flushed {
        status,
        message: buffer_text(&err),
        delivered,
        pending,
        dead,
    }
}

/// `lcm_client_outbox_count(client)`: status, pending, dead, message.
pub fn count(client: &Client) -> (lcm_status, usize, usize, String) {
    let (mut pending, mut dead) = (usize::MAX, usize::MAX);
    let mut err = [0x55 as c_char; LCM_ERROR_SIZE];
    let status = unsafe {
        lcm_client_outbox_count(
            client.0,
            &mut pending,
            &mut dead,
            err.as_mut_ptr(),
            err.len(),
        )
    };
    (status, pending, dead, buffer_text(&err))
}

/// `(pending, dead)` of a count that must succeed.
#[track_caller]
pub fn counts(client: &Client) -> (usize, usize) {
    let (status, pending, dead, message) = count(client);
    assert_eq!(name(status), "LCM_OK", "count: {message}");
    (pending, dead)
}

/// The sample outcome with call id `id` and outcome `outcome`.
pub fn outcome(id: &str, outcome: &str) -> Call {
    Call {
        call_id: Some(id.as_bytes().to_vec()),
        outcome_id: Some(outcome.as_bytes().to_vec()),
        ..Call::sample()
    }
}

/// Sends `call`, which must come back `LCM_QUEUED`; returns the entry id its
/// message names.
#[track_caller]
pub fn queue(client: &Client, call: &Call) -> i64 {
    let (status, message) = client.send(call);
    assert_eq!(name(status), "LCM_QUEUED", "{message}");
    entry_id(&message)
}

/// The entry id in an `LCM_QUEUED` message ("... as entry 12, ...").
#[track_caller]
pub fn entry_id(message: &str) -> i64 {
    message
        .split("as entry ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("no entry id in {message:?}"))
}

/// The call ids LCM recorded, in the order it recorded them.
pub fn accepted_ids(sim: &Sim) -> Vec<String> {
    sim.accepted()
        .iter()
        .map(|o| o["callid"].as_str().unwrap().to_string())
        .collect()
}

/// Polls `done` until it holds; fails the test naming `what` after `limit`.
#[track_caller]
pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "gave up after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Now in ms since the Unix epoch, as the file stores times.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// This test binary again, running only the ignored test `test` (its full path,
/// `module::name`) with [`CHILD_VAR`] set, without the test environment's `LCM_*`
/// variables and with no proxy.
pub fn child(test: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LCM_") {
            command.env_remove(name);
        }
    }
    command
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VAR, test)
        .env("LCM_PROXY", "none");
    command
}

/// Whether this process is the child [`child`] started for `test`.
pub fn is_child(test: &str) -> bool {
    std::env::var(CHILD_VAR).is_ok_and(|v| v == test)
}

/// The value of the variable `var` a parent passed to this child.
#[track_caller]
pub fn given(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("the parent sets {var}"))
}

/// Whether a private mount namespace can be made here (root on Linux, util-linux);
/// skips (or, under CI, fails) the calling test when not.
#[track_caller]
pub fn mount_namespaces() -> bool {
    let works = succeeds(Command::new("unshare").args(["-m", "true"]));
    present_or_skip(
        works,
        "a private mount namespace (unshare -m, as root)",
        "run the tests as root on Linux with util-linux",
    )
}

/// Runs the ignored test `test` in a private mount namespace prepared by `script`
/// (`sh -c`, with `$0` the work directory and `$1` this test binary), with `vars`.
pub fn in_namespace(test: &str, script: &str, dir: &Path, vars: &[(&str, &str)]) -> String {
    let inner = child(test);
    let args: Vec<String> = std::iter::once(inner.get_program().to_string_lossy().into_owned())
        .chain(inner.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect();
    let mut command = Command::new("unshare");
    command
        .args([
            "-m",
            "sh",
            "-c",
            &format!("{script} && exec \"$@\""),
            dir.to_str().unwrap(),
        ])
        .args(&args);
    for (name, value) in inner.get_envs() {
        match value {
            Some(v) => command.env(name, v),
            None => command.env_remove(name),
        };
    }
    command.env("OUTBOX_TEST_DIR", dir);
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = run_within(&mut command, Duration::from_secs(120))
        .unwrap_or_else(|o| panic!("{test} did not finish: {o:?}"));
    assert_success(&output, test)
}

/// The value after `RESULT name=` in a child's output.
pub fn result<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .split(&format!("RESULT {name}="))
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("no {name} in {stdout}"))
}

/// Waits for `child` to end, at most `limit`; `None` (and the child killed) when it
/// runs over.
pub fn wait_to_end(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

//! The outbox file itself (docs/design.md §9): the documented schema, readable with
//! SQLite's own tools; a path that cannot be an outbox, and files that are not an
//! outbox of this version (not SQLite, another application's, corrupt, a newer
//! schema, read-only), refused with `LCM_ERR_CONFIG` naming them and left untouched.
//!
//! A read-only file is one behind a read-only bind mount, in a private mount namespace
//! (`unshare -m`, root) where a child process runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use lcm_outcome::ffi::*;

use super::common::*;
use super::*;

/// The columns of the `entries` table, in order, as docs/design.md §9 documents.
const COLUMNS: [&str; 17] = [
    "id",
    "call_id",
    "account_number",
    "outcome_id",
    "lead_score",
    "user_id",
    "agent_comments",
    "target_amount",
    "state",
    "created_ms",
    "updated_ms",
    "next_attempt_ms",
    "attempts",
    "lease_until_ms",
    "lease_owner",
    "last_status",
    "last_error",
];

#[test]
fn a_new_outbox_has_the_documented_schema() {
    let outbox = OutboxFile::new("schema");
    let client = outbox.client(&refused_endpoint());
    let before = now_ms();
    queue(&client, &Call::with_id("schema"));
    let mode = std::fs::metadata(outbox.path()).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    let conn = open(outbox.path());
    let pragma = |name: &str| -> i64 { conn.pragma_query_value(None, name, |r| r.get(0)).unwrap() };
    assert_eq!(pragma("user_version"), 1);
    assert_eq!(pragma("application_id"), 0x4C43_4D4F, "\"LCMO\"");
    let journal: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    let mut columns = conn
        .prepare("SELECT name FROM pragma_table_info('entries')")
        .unwrap();
    let columns: Vec<String> = columns
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(columns, COLUMNS);
    let row = &outbox.rows()[0];
    assert_eq!((row.state.as_str(), row.attempts), ("pending", 0));
    assert!(
        (before..=now_ms()).contains(&row.created_ms),
        "ms since the epoch"
    );

    // The sqlite3 shell reads it as it is, while the library has it open.
    let shell = succeeds(Command::new("sqlite3").arg("-version"));
    if present_or_skip(shell, "the sqlite3 shell", "apt-get install sqlite3") {
        let output = Command::new("sqlite3")
            .arg("-readonly")
            .arg(outbox.path())
            .arg("SELECT call_id, state, datetime(created_ms / 1000, 'unixepoch') > '2020' FROM entries")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            stdout,
            "schema|pending|1\n",
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn a_path_that_cannot_be_an_outbox_is_refused_at_configure_time() {
    let work = WorkDir::new("outbox-bad-paths");
    let client = Client::for_endpoint(&refused_endpoint());
    client.set("retries", "0");
    let missing = work.path().join("no-such-dir/outbox.db");
    let result = client.configure("outbox", missing.to_str().unwrap());
    assert_status(
        &result,
        LCM_ERR_CONFIG,
        &[missing.to_str().unwrap(), "No such file or directory"],
    );
    let result = client.configure("outbox", work.path().to_str().unwrap());
    assert_status(
        &result,
        LCM_ERR_CONFIG,
        &[work.path().to_str().unwrap(), "not a regular file"],
    );
    assert_status(&client.send(&Call::sample()), LCM_ERR_CONNECT, &[]);
}

/// Everything in `dir`, name and bytes: to see that nothing was written or added.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// Configuring `path` as the outbox must be `LCM_ERR_CONFIG` with all of `words`,
/// and leave its directory exactly as it was.
#[track_caller]
fn refused_untouched(path: &Path, words: &[&str]) {
    let dir = path.parent().unwrap();
    let before = snapshot(dir);
    let client = Client::for_endpoint(&refused_endpoint());
    let result = client.configure("outbox", path.to_str().unwrap());
    let mut words = words.to_vec();
    words.push(path.to_str().unwrap());
    assert_status(&result, LCM_ERR_CONFIG, &words);
    assert!(result.1.contains("left untouched"), "{}", result.1);
    drop(client);
    assert!(snapshot(dir) == before, "{} was changed", path.display());
}

#[test]
fn files_that_are_not_outboxes_are_refused_and_left_untouched() {
    let work = WorkDir::new("outbox-not-outboxes");
    let text = work.path().join("notes.txt");
    std::fs::write(&text, "call list for Monday\n12345\n").unwrap();
    refused_untouched(&text, &["not an outbox (not an SQLite database)"]);

    let short = work.path().join("short");
    std::fs::write(&short, "SQLite").unwrap();
    refused_untouched(&short, &["not an outbox"]);

    let other = work.path().join("other-app.db");
    {
        let conn = rusqlite::Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('x');")
            .unwrap();
    }
    refused_untouched(&other, &["not an lcm-outcome outbox", "application_id 0"]);
}

/// An outbox holding the pending entries `ids`, closed (so that everything is in
/// the main file).
pub fn outbox_holding(name: &str, ids: &[&str]) -> OutboxFile {
    let outbox = OutboxFile::new(name);
    let client = outbox.client(&refused_endpoint());
    for id in ids {
        queue(&client, &Call::with_id(id));
    }
    drop(client);
    assert!(
        !outbox.dir().join("outbox.db-wal").exists(),
        "checkpointed on close"
    );
    outbox
}

#[test]
fn a_corrupt_outbox_is_refused_and_left_untouched() {
    let outbox = outbox_holding("corrupt", &["c-1", "c-2", "c-3"]);
    let mut bytes = std::fs::read(outbox.path()).unwrap();
    let page = rusqlite::Connection::open(outbox.path())
        .unwrap()
        .pragma_query_value(None, "page_size", |r| r.get::<_, i64>(0))
        .unwrap() as usize;
    // The second page is the entries table's root: its header becomes garbage.
    for b in &mut bytes[page..page + 12] {
        *b = 0x6b;
    }
    std::fs::write(outbox.path(), &bytes).unwrap();
    refused_untouched(outbox.path(), &["is corrupt"]);
}

#[test]
fn a_newer_schema_is_refused_untouched_and_nothing_is_lost() {
    let outbox = outbox_holding("newer-schema", &["n-1", "n-2"]);
    let set_version = |v: i64| {
        let conn = open(outbox.path());
        conn.pragma_update(None, "user_version", v).unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    };
    set_version(2);
    refused_untouched(outbox.path(), &["newer schema (version 2", "version 1"]);
    // Once the file is this library's version again, its entries are all there.
    set_version(1);
    let sim = sim();
    let client = outbox.client(&sim.url());
    let flushed = flush(&client, 10_000);
    assert_eq!(
        (flushed.status, flushed.delivered),
        (LCM_OK, 2),
        "{flushed:?}"
    );
    assert_eq!(accepted_ids(&sim), ["n-1", "n-2"]);
}

const READ_ONLY: &str = "storage::child_with_a_read_only_outbox";

#[test]
fn a_read_only_outbox_is_refused_and_stays_as_it_was() {
    if !mount_namespaces() {
        return;
    }
    let outbox = outbox_holding("read-only", &["ro-1", "ro-2"]);
    let remount = r#"mount --bind "$0" "$0" && mount -o remount,bind,ro "$0""#;
    let run = || {
        let before = snapshot(outbox.dir());
        in_namespace(READ_ONLY, remount, outbox.dir(), &[]);
        assert!(snapshot(outbox.dir()) == before, "the file was changed");
    };
    // Closed, and open in another process (its -wal and -shm exist, so that SQLite
    // alone could read it).
    run();
    let holder = open(outbox.path());
    let n: i64 = holder
        .query_row("SELECT COUNT(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    run();
    drop(holder);
    // Writable again: its entries are all there, and go.
    let sim = sim();
    let client = outbox.client(&sim.url());
    let flushed = flush(&client, 10_000);
    assert_eq!(
        (flushed.status, flushed.delivered),
        (LCM_OK, 2),
        "{flushed:?}"
    );
    assert_eq!(accepted_ids(&sim), ["ro-1", "ro-2"]);
}

/// Behind a read-only bind mount of the outbox's directory: configuring it is
/// `LCM_ERR_CONFIG` naming the file and the system's reason.
#[test]
#[ignore = "run by a_read_only_outbox_is_refused_and_stays_as_it_was"]
fn child_with_a_read_only_outbox() {
    if !is_child(READ_ONLY) {
        return;
    }
    let file = PathBuf::from(given("OUTBOX_TEST_DIR")).join("outbox.db");
    let shown = file.to_str().unwrap();
    let client = Client::for_endpoint(&refused_endpoint());
    let configured = client.configure("outbox", shown);
    assert_status(
        &configured,
        LCM_ERR_CONFIG,
        &[shown, "Read-only file system"],
    );
}

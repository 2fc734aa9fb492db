//! Processes and threads sharing one outbox file (docs/design.md §7, §9): two and
//! four processes flushing it at once deliver every entry exactly once; processes
//! queueing while others flush lose nothing and send nothing twice; clients of one
//! process do the same; and a process whose sender is busy still exits.
//!
//! The children use the default client (`lcm_configure`, `lcm_outbox_flush`), as a
//! legacy dialer would, and start together: each announces itself with a file and
//! waits for the parent's `go` file.

use std::ffi::{c_char, CString};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lcm_outcome::ffi::*;
use lcm_sim::{Answer, Faults};

use super::common::*;
use super::*;

const FLUSHER: &str = "processes::child_flushes";
const QUEUER: &str = "processes::child_queues";
const LEAVER: &str = "processes::child_returns_while_its_sender_is_busy";

#[test]
fn two_and_four_processes_flushing_one_file_deliver_each_entry_once() {
    for processes in [2, 4] {
        let outbox = OutboxFile::new(&format!("flushers-{processes}"));
        let sim = sim();
        let entries = 60 * processes;
        let seeder = outbox.client(&sim.url());
        seeder.set("outbox_mode", "always");
        let ids: Vec<String> = (0..entries).map(|i| format!("f{processes}-{i}")).collect();
        for id in &ids {
            queue(&seeder, &Call::with_id(id));
        }
        drop(seeder);
        let children: Vec<Kid> = (0..processes)
            .map(|i| spawn(FLUSHER, &outbox, &sim, i, &[]))
            .collect();
        start_together(&outbox, processes);
        let delivered = finish(children, &outbox);
        let mut sent = accepted_ids(&sim);
        sent.sort();
        let mut expected = ids.clone();
        expected.sort();
        assert_eq!(sent, expected, "{processes} processes: each entry once");
        assert_eq!(delivered.iter().sum::<usize>(), entries, "{delivered:?}");
        // SQLite's lock is not fair, so one process may get none; two at least did
        // deliver at the same time.
        assert!(
            delivered.iter().filter(|&&n| n > 0).count() >= 2,
            "the processes flushed at once: {delivered:?}"
        );
        assert_eq!(outbox.rows(), []);
        assert_eq!(integrity(outbox.path()), "ok");
        println!("{processes} processes flushing {entries} entries delivered {delivered:?}");
    }
}

#[test]
fn processes_queueing_while_others_flush_lose_nothing_and_send_nothing_twice() {
    let outbox = OutboxFile::new("queuers-and-flushers");
    let sim = sim();
    // Created before the children race to create it.
    drop(outbox.client(&sim.url()));
    let down = refused_endpoint();
    let mut children = vec![
        spawn(QUEUER, &outbox, &sim, 0, &[("OUTBOX_TEST_MODE", "always")]),
        spawn(
            QUEUER,
            &outbox,
            &sim,
            1,
            &[
                ("OUTBOX_TEST_MODE", "fallback"),
                ("OUTBOX_TEST_DOWN", &down),
            ],
        ),
    ];
    children.push(spawn(
        FLUSHER,
        &outbox,
        &sim,
        2,
        &[("OUTBOX_TEST_UNTIL", "queuers-done")],
    ));
    children.push(spawn(
        FLUSHER,
        &outbox,
        &sim,
        3,
        &[("OUTBOX_TEST_UNTIL", "queuers-done")],
    ));
    start_together(&outbox, children.len());
    let flushers = children.split_off(2);
    let queued = finish(children, &outbox);
    std::fs::write(outbox.dir().join("queuers-done"), "").unwrap();
    let delivered = finish(flushers, &outbox);
    let mut sent = accepted_ids(&sim);
    sent.sort();
    let mut expected: Vec<String> = (0..2)
        .flat_map(|q| (0..QUEUED_BY_EACH).map(move |i| format!("q{q}-{i}")))
        .collect();
    expected.sort();
    assert_eq!(
        queued,
        [QUEUED_BY_EACH, QUEUED_BY_EACH],
        "every outcome queued"
    );
    assert_eq!(sent, expected, "each queued outcome delivered once");
    assert_eq!(delivered.iter().sum::<usize>(), expected.len());
    assert_eq!(outbox.rows(), []);
    assert_eq!(integrity(outbox.path()), "ok");
    println!("2 processes queueing, 2 flushing: the flushers delivered {delivered:?}");
}

#[test]
fn clients_of_one_process_flushing_one_file_deliver_each_entry_once() {
    let outbox = OutboxFile::new("client-threads");
    let sim = sim();
    let seeder = outbox.client(&sim.url());
    seeder.set("outbox_mode", "always");
    for i in 0..120 {
        queue(&seeder, &Call::with_id(&format!("t-{i}")));
    }
    let start = Arc::new(std::sync::Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let client = outbox.client(&sim.url());
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                flush_until_empty(|| flush(&client, 30_000))
            })
        })
        .collect();
    let delivered: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(delivered.iter().sum::<usize>(), 120, "{delivered:?}");
    let mut sent = accepted_ids(&sim);
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), 120);
    assert_eq!(sim.accepted().len(), 120, "none twice");
}

#[test]
fn a_busy_sender_does_not_keep_its_process_from_exiting() {
    let outbox = OutboxFile::new("sender-exit");
    let sim = sim_with(Faults::answering(Answer::Hang));
    let Kid(_, mut child) = spawn(LEAVER, &outbox, &sim, 0, &[]);
    start_together(&outbox, 1);
    wait_for(
        "the child's sender to send",
        Duration::from_secs(30),
        || sim.request_count() >= 1,
    );
    std::fs::write(outbox.dir().join("return"), "").unwrap();
    let status = wait_to_end(&mut child, Duration::from_secs(20))
        .expect("the process exits while its sender waits for LCM");
    assert!(status.success(), "{status}: {}", stderr_of(&outbox, 0));
    let rows = outbox.rows();
    assert_eq!(
        (rows.len(), rows[0].state.as_str()),
        (1, "sending"),
        "it was in flight"
    );
}

/// Outcomes each queueing child queues.
const QUEUED_BY_EACH: usize = 100;

/// Starts child `i` running `test` on the file, for `sim`, with `extra` variables.
fn spawn(test: &str, outbox: &OutboxFile, sim: &Sim, i: usize, extra: &[(&str, &str)]) -> Kid {
    let mut command = child(test);
    command
        .env("OUTBOX_TEST_FILE", outbox.path())
        .env("OUTBOX_TEST_DIR", outbox.dir())
        .env("OUTBOX_TEST_URL", sim.url())
        .env("OUTBOX_TEST_INDEX", i.to_string())
        .stdout(std::fs::File::create(outbox.dir().join(format!("{i}.stdout"))).unwrap())
        .stderr(std::fs::File::create(outbox.dir().join(format!("{i}.stderr"))).unwrap());
    for (name, value) in extra {
        command.env(name, value);
    }
    Kid(i, command.stdin(Stdio::null()).spawn().unwrap())
}

fn stderr_of(outbox: &OutboxFile, i: usize) -> String {
    std::fs::read_to_string(outbox.dir().join(format!("{i}.stderr"))).unwrap_or_default()
}

/// Waits until `n` children are ready, then lets them go at once.
fn start_together(outbox: &OutboxFile, n: usize) {
    wait_for("the children to be ready", Duration::from_secs(60), || {
        (0..n).all(|i| outbox.dir().join(format!("ready-{i}")).exists())
    });
    std::fs::write(outbox.dir().join("go"), "").unwrap();
}

/// A child process and its index (its files: `<index>.stdout`, `ready-<index>`).
struct Kid(usize, Child);

/// Waits for each child to succeed; returns the number each printed as `RESULT n`.
fn finish(children: Vec<Kid>, outbox: &OutboxFile) -> Vec<usize> {
    children
        .into_iter()
        .map(|Kid(i, mut child)| {
            let status = wait_to_end(&mut child, Duration::from_secs(120))
                .unwrap_or_else(|| panic!("child {i} ran over: {}", stderr_of(outbox, i)));
            assert!(
                status.success(),
                "child {i}: {status}: {}",
                stderr_of(outbox, i)
            );
            let stdout = std::fs::read_to_string(outbox.dir().join(format!("{i}.stdout")))
                .unwrap_or_default();
            stdout
                .split("RESULT ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("child {i} printed no RESULT: {stdout}"))
        })
        .collect()
}

/// In a child: says it is ready and waits for the parent's word.
fn ready_and_wait() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(given("OUTBOX_TEST_DIR"));
    std::fs::write(
        dir.join(format!("ready-{}", given("OUTBOX_TEST_INDEX"))),
        "",
    )
    .unwrap();
    wait_for("the parent's go", Duration::from_secs(60), || {
        dir.join("go").exists()
    });
    dir
}

/// Flushes until nothing is pending (others may hold the last entries for a
/// moment); returns how many this caller delivered.
fn flush_until_empty(mut flush: impl FnMut() -> Flushed) -> usize {
    let mut delivered = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let flushed = flush();
        delivered += flushed.delivered;
        if flushed.pending == 0 {
            assert_eq!(flushed.status, LCM_OK, "{flushed:?}");
            return delivered;
        }
        assert!(Instant::now() < deadline, "still pending: {flushed:?}");
        std::thread::sleep(Duration::from_millis(5)); // others are delivering them
    }
}

/// `lcm_configure` on the default client, which must succeed.
fn configure_default(key: &str, value: &str) {
    let (k, v) = (CString::new(key).unwrap(), CString::new(value).unwrap());
    let mut err = [0 as c_char; LCM_ERROR_SIZE];
    let status = unsafe { lcm_configure(k.as_ptr(), v.as_ptr(), err.as_mut_ptr(), err.len()) };
    assert_eq!(status, LCM_OK, "{key}: {}", buffer_text(&err));
}

/// `lcm_outbox_flush` on the default client.
fn flush_default(timeout_ms: i32) -> Flushed {
    let (mut delivered, mut pending, mut dead) = (0, 0, 0);
    let mut err = [0 as c_char; LCM_ERROR_SIZE];
    let status = unsafe {
        lcm_outbox_flush(
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

/// `lcm_outbox_count` on the default client: pending entries.
fn pending_default() -> usize {
    let mut pending = 0;
    let mut err = [0 as c_char; LCM_ERROR_SIZE];
    let status = unsafe {
        lcm_outbox_count(
            &mut pending,
            std::ptr::null_mut(),
            err.as_mut_ptr(),
            err.len(),
        )
    };
    assert_eq!(status, LCM_OK, "{}", buffer_text(&err));
    pending
}

/// Configures the default client for the file and LCM the parent gave.
fn default_client_on_the_file() {
    configure_default("endpoint", &given("OUTBOX_TEST_URL"));
    configure_default("retries", "0");
    configure_default("outbox_retry_ms", "0");
    configure_default("outbox", &given("OUTBOX_TEST_FILE"));
}

#[test]
#[ignore = "run by the tests above, in a child process"]
fn child_flushes() {
    if !is_child(FLUSHER) {
        return;
    }
    default_client_on_the_file();
    let dir = ready_and_wait();
    let delivered = match std::env::var("OUTBOX_TEST_UNTIL") {
        // Until the queueing processes are done and everything is out.
        Ok(until) => {
            let mut delivered = 0;
            loop {
                let done = dir.join(&until).exists();
                let flushed = flush_default(30_000);
                delivered += flushed.delivered;
                if done && flushed.pending == 0 && pending_default() == 0 {
                    break delivered;
                }
                std::thread::sleep(Duration::from_millis(5)); // waiting for more
            }
        }
        Err(_) => flush_until_empty(|| flush_default(30_000)),
    };
    println!("RESULT {delivered}");
}

#[test]
#[ignore = "run by the tests above, in a child process"]
fn child_queues() {
    if !is_child(QUEUER) {
        return;
    }
    default_client_on_the_file();
    configure_default("outbox_mode", &given("OUTBOX_TEST_MODE"));
    if let Ok(down) = std::env::var("OUTBOX_TEST_DOWN") {
        configure_default("endpoint", &down);
    }
    let index = given("OUTBOX_TEST_INDEX");
    ready_and_wait();
    let mut queued = 0;
    for i in 0..QUEUED_BY_EACH {
        let (status, message) = Call::with_id(&format!("q{index}-{i}")).send_default();
        assert_eq!(name(status), "LCM_QUEUED", "{message}");
        queued += 1;
    }
    println!("RESULT {queued}");
}

#[test]
#[ignore = "run by a_busy_sender_does_not_keep_its_process_from_exiting"]
fn child_returns_while_its_sender_is_busy() {
    if !is_child(LEAVER) {
        return;
    }
    let client = Client::for_endpoint(&given("OUTBOX_TEST_URL"));
    client.set("timeout_ms", "60000");
    client.set("outbox_mode", "always");
    client.set("outbox_retry_ms", "50");
    client.set("outbox", &given("OUTBOX_TEST_FILE"));
    let dir = ready_and_wait();
    queue(&client, &Call::with_id("left-behind"));
    wait_for("the parent's word", Duration::from_secs(60), || {
        dir.join("return").exists()
    });
    // Not freed: the process ends with its sender waiting for LCM's answer.
    std::mem::forget(client);
}

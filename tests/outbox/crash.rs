//! kill -9 at any instant loses no outcome the process was told `LCM_QUEUED` for
//! (docs/design.md §7, §9): a child process queues outcomes (fallback mode with LCM
//! down, or always mode), then in half the runs flushes them to lcm-sim, and is killed
//! with SIGKILL at a different moment each run: after its k-th `LCM_QUEUED`, or after
//! LCM received the m-th delivery of its flush, plus a few hundred microseconds that
//! differ each run, so that the kill lands in SQLite's commits, in the wait for LCM's
//! answer and between them. The runs share one file, as successive dialer processes
//! do: each run's entries, and the leases a killed flush left, are picked up later.
//! After every kill the file passes `PRAGMA integrity_check`; at the end a flush
//! empties it and every outcome reported queued has reached LCM.

use std::collections::{HashMap, HashSet};
use std::fs::OpenOptions;
use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use lcm_outcome::ffi::*;

use super::common::*;
use super::*;

const RUNS: usize = 20;
/// Outcomes a child queues before it would flush, when it is to be killed while
/// queueing, and when it is to be killed while flushing (the backlog of the runs
/// before it, then).
const OUTCOMES: usize = 200;
const BEFORE_FLUSH: usize = 20;
/// The child's `timeout_ms`: a killed flush's lease (this plus the library's 5 s
/// margin) then expires within seconds.
const CHILD_TIMEOUT_MS: &str = "500";
const CHILD: &str = "crash::child_queues_then_flushes";

/// When a run's child is killed.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// After it reported its k-th `LCM_QUEUED` (it is queueing the next ones).
    Queued(usize),
    /// After LCM received the m-th request of its flush (at most half of what is
    /// pending, so that it is in the middle of delivering).
    Delivering(usize),
}

/// What run `run` does: the mode, when it is killed (given the entries `pending`
/// before it), and the extra microseconds before the kill. Spread over the ranges,
/// fixed for reproducibility; the last run queues, so that the final flush has
/// entries of an unflushed run too.
fn plan(run: usize, pending: usize) -> (&'static str, Moment, u64) {
    let mode = ["fallback", "always"][run % 2];
    let moment = if matches!(run % 4, 1 | 2) {
        Moment::Delivering(1 + (run * 47) % (pending + BEFORE_FLUSH).div_ceil(2))
    } else {
        Moment::Queued(1 + (run * 61) % (OUTCOMES / 2))
    };
    (mode, moment, (run as u64 * 397) % 2000)
}

#[test]
fn kill_9_at_any_moment_loses_nothing_that_was_queued() {
    let outbox = OutboxFile::new("kill-9");
    let sim = sim();
    let down = refused_endpoint();
    let mut queued = HashSet::new();
    let mut moments = Vec::new();
    for run in 0..RUNS {
        let pending = if run == 0 { 0 } else { outbox.rows().len() };
        let (mode, moment, jitter_us) = plan(run, pending);
        queued.extend(kill_one(&outbox, &sim, &down, run, mode, moment, jitter_us));
        moments.push((moment, jitter_us));
    }
    deliver_what_is_left(&outbox, &sim);

    let mut times: HashMap<String, usize> = HashMap::new();
    for id in accepted_ids(&sim) {
        *times.entry(id).or_default() += 1;
    }
    let missing: Vec<&String> = queued
        .iter()
        .filter(|id| !times.contains_key(*id))
        .collect();
    let deliveries: usize = times.values().sum();
    let duplicates = deliveries - times.len();
    let flush_kills = moments
        .iter()
        .filter(|(m, _)| matches!(m, Moment::Delivering(_)))
        .count();
    let shown: Vec<String> = moments
        .iter()
        .map(|(m, us)| format!("{m:?}+{us}us"))
        .collect();
    println!(
        "kill -9: {RUNS} runs, each killed ({} while queueing, {flush_kills} while a flush \
         was delivering); {} outcomes reported LCM_QUEUED, {} more stored before the kill \
         could be reported; {} distinct outcomes delivered in {deliveries} deliveries: \
         {duplicates} duplicates, {} missing; killed at {}",
        RUNS - flush_kills,
        queued.len(),
        times.len() - times.keys().filter(|id| queued.contains(*id)).count(),
        times.len(),
        missing.len(),
        shown.join(", ")
    );
    assert_eq!(missing, Vec::<&String>::new(), "queued, never delivered");
    // Only an entry in flight when its sender was killed may go twice: one per kill.
    assert!(duplicates <= flush_kills, "{duplicates} duplicates");
}

/// Runs one child and kills it at `moment` plus `jitter_us`; checks the file and
/// returns the call ids the child was told `LCM_QUEUED` for.
fn kill_one(
    outbox: &OutboxFile,
    sim: &Sim,
    down: &str,
    run: usize,
    mode: &str,
    moment: Moment,
    jitter_us: u64,
) -> Vec<String> {
    let report = outbox.dir().join(format!("run-{run}.report"));
    let stderr = outbox.dir().join(format!("run-{run}.stderr"));
    let before = sim.request_count();
    let flushes = matches!(moment, Moment::Delivering(_));
    let mut child = child(CHILD)
        .env("OUTBOX_TEST_FILE", outbox.path())
        .env("OUTBOX_TEST_REPORT", &report)
        .env("OUTBOX_TEST_RUN", run.to_string())
        .env("OUTBOX_TEST_MODE", mode)
        .env("OUTBOX_TEST_DOWN", down)
        .env("OUTBOX_TEST_URL", sim.url())
        .env("OUTBOX_TEST_FLUSH", flushes.to_string())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let reached = || match moment {
        Moment::Queued(k) => reported(&report).0.len() >= k,
        Moment::Delivering(m) => sim.request_count() >= before + m,
    };
    wait_until_or_exit(&mut child, &stderr, Duration::from_secs(60), reached);
    let spin = Instant::now();
    while spin.elapsed() < Duration::from_micros(jitter_us) {
        std::hint::spin_loop();
    }
    let alive = child.try_wait().unwrap().is_none();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        alive,
        "run {run}: ended before it was killed: {}",
        text(&stderr)
    );
    assert_eq!(
        integrity(outbox.path()),
        "ok",
        "run {run}, killed at {moment:?}"
    );
    let (ids, others) = reported(&report);
    assert_eq!(
        others,
        Vec::<String>::new(),
        "run {run}: every outcome was queued"
    );
    ids
}

/// Flushes what the killed processes left: their own entries, and those a killed
/// flush still holds under a lease that expires within seconds.
fn deliver_what_is_left(outbox: &OutboxFile, sim: &Sim) {
    let client = outbox.client(&sim.url());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let flushed = flush(&client, 30_000);
        if flushed.pending == 0 {
            assert_eq!((flushed.status, flushed.dead), (LCM_OK, 0), "{flushed:?}");
            break;
        }
        assert!(Instant::now() < deadline, "still pending: {flushed:?}");
        std::thread::sleep(Duration::from_millis(100)); // polling the leases' expiry
    }
    assert_eq!(integrity(outbox.path()), "ok");
    assert_eq!(outbox.rows(), []);
}

/// The `LCM_QUEUED` call ids a child reported, and its other lines.
fn reported(report: &Path) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(report).unwrap_or_default();
    let mut queued = Vec::new();
    let mut others = Vec::new();
    // A line without its newline was being written when the child was killed.
    for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
        match line.trim_end().strip_prefix("QUEUED ") {
            Some(id) => queued.push(id.to_string()),
            None if line.starts_with("FLUSH") => {}
            None => others.push(line.to_string()),
        }
    }
    (queued, others)
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Polls `reached` until it holds, failing when the child exits first or `limit`
/// passes.
fn wait_until_or_exit(
    child: &mut Child,
    stderr: &Path,
    limit: Duration,
    mut reached: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + limit;
    while !reached() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child exited ({status}) early: {}", text(stderr));
        }
        assert!(Instant::now() < deadline, "the kill moment never came");
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// The child: queues [`OUTCOMES`] outcomes, reporting each `LCM_QUEUED` in one
/// write to the report file once the call has returned; or, told to flush, queues
/// [`BEFORE_FLUSH`] and flushes the file to LCM. Its parent kills it before it ends.
#[test]
#[ignore = "run by kill_9_at_any_moment_loses_nothing_that_was_queued"]
fn child_queues_then_flushes() {
    if !is_child(CHILD) {
        return;
    }
    let run = given("OUTBOX_TEST_RUN");
    let flushes = given("OUTBOX_TEST_FLUSH") == "true";
    let client = Client::for_endpoint(&given("OUTBOX_TEST_DOWN"));
    client.set("retries", "0");
    client.set("timeout_ms", CHILD_TIMEOUT_MS);
    client.set("outbox_retry_ms", "0");
    client.set("outbox_mode", &given("OUTBOX_TEST_MODE"));
    client.set("outbox", &given("OUTBOX_TEST_FILE"));
    let mut report = OpenOptions::new()
        .append(true)
        .create(true)
        .open(given("OUTBOX_TEST_REPORT"))
        .unwrap();
    for i in 0..if flushes { BEFORE_FLUSH } else { OUTCOMES } {
        let id = format!("r{run}-{i}");
        // Comments of many sizes, some spilling over a page.
        let call = Call {
            agent_comments: Some(vec![b'c'; (i * 577) % 6000]),
            ..Call::with_id(&id)
        };
        let (status, message) = client.send(&call);
        let line = match status {
            LCM_QUEUED => format!("QUEUED {id}\n"),
            other => format!("NOT QUEUED {id}: {} {message}\n", name(other)),
        };
        report.write_all(line.as_bytes()).unwrap();
    }
    if flushes {
        report.write_all(b"FLUSHING\n").unwrap();
        client.set("endpoint", &given("OUTBOX_TEST_URL"));
        let flushed = flush(&client, 60_000);
        report
            .write_all(format!("FLUSHED {flushed:?}\n").as_bytes())
            .unwrap();
    }
}

const FLUSHER: &str = "crash::child_flushes_until_killed";

#[test]
fn a_killed_senders_entry_waits_for_its_lease_then_goes() {
    let outbox = OutboxFile::new("kill-lease");
    let sim = sim_with(lcm_sim::Faults {
        latency_ms: 60_000,
        ..lcm_sim::Faults::default()
    });
    let parent = outbox.client(&refused_endpoint());
    queue(&parent, &Call::with_id("leased"));
    let mut flusher = child(FLUSHER)
        .env("OUTBOX_TEST_FILE", outbox.path())
        .env("OUTBOX_TEST_URL", sim.url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(
        "the child's delivery to reach LCM",
        Duration::from_secs(30),
        || sim.request_count() == 1,
    );
    flusher.kill().unwrap(); // SIGKILL, with the delivery in flight
    flusher.wait().unwrap();
    let (state, owner, lease_until): (String, String, i64) = open(outbox.path())
        .query_row(
            "SELECT state, lease_owner, lease_until_ms FROM entries",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(state, "sending");
    assert_eq!(owner, format!("pid {}", flusher.id()));

    // Until the lease expires nobody sends it again, then the next flush does.
    sim.set_faults(lcm_sim::Faults::default()).unwrap();
    parent.set("endpoint", &sim.url());
    let meanwhile = flush(&parent, 1000);
    assert_eq!(
        (meanwhile.delivered, meanwhile.pending),
        (0, 1),
        "{meanwhile:?}"
    );
    assert_eq!(sim.request_count(), 1, "not sent again while leased");
    let deadline = Instant::now() + Duration::from_secs(60);
    while flush(&parent, 10_000).delivered == 0 {
        assert!(Instant::now() < deadline, "never picked up again");
        std::thread::sleep(Duration::from_millis(50)); // polling the lease's expiry
    }
    assert!(
        now_ms() >= lease_until,
        "sent again only after the lease expired"
    );
    // LCM recorded the first delivery on arrival: an ambiguous one goes twice.
    assert_eq!(accepted_ids(&sim), ["leased", "leased"]);
    assert_eq!(outbox.rows(), []);
}

/// Flushes the file to a server that takes a minute to answer; killed meanwhile.
#[test]
#[ignore = "run by a_killed_senders_entry_waits_for_its_lease_then_goes"]
fn child_flushes_until_killed() {
    if !is_child(FLUSHER) {
        return;
    }
    let client = Client::for_endpoint(&given("OUTBOX_TEST_URL"));
    // Longer than the parent needs to kill it once LCM has the request.
    client.set("timeout_ms", "3000");
    client.set("outbox_retry_ms", "0");
    client.set("outbox", &given("OUTBOX_TEST_FILE"));
    flush(&client, 60_000);
}

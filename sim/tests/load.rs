//! lcm-sim under load: with requests not kept, the counters and the record file stay
//! exact under many concurrent connections and memory stays flat; and (ignored by
//! default) a measurement of the simulator's CPU time per request.

mod common;

use std::collections::HashSet;
use std::time::Instant;

use common::*;
use lcm_sim::{Sim, SimConfig};

/// Sends `per_thread` outcomes on each of `threads` kept-alive connections to `addr`,
/// call ids `{prefix}-{thread}-{i}`; `after_answer` runs after each answer.
fn drive(
    addr: &str,
    threads: usize,
    per_thread: usize,
    prefix: &str,
    after_answer: impl Fn(&str) + Sync,
) {
    std::thread::scope(|s| {
        for t in 0..threads {
            let after_answer = &after_answer;
            s.spawn(move || {
                let mut conn = Conn::connect(addr);
                for i in 0..per_thread {
                    let callid = format!("{prefix}-{t}-{i}");
                    let resp = conn.post_outcome(&callid);
                    assert_eq!(resp.status, 200, "{callid}");
                    after_answer(&callid);
                }
            });
        }
    });
}

fn distinct_callids(record: &TempPath) -> HashSet<String> {
    record
        .lines()
        .iter()
        .map(|l| l["callid"].as_str().expect("callid").to_owned())
        .collect()
}

#[test]
fn without_kept_requests_counters_and_record_stay_exact_under_concurrency() {
    const THREADS: usize = 16;
    const PER_THREAD: usize = 100;
    let record = TempPath::new("load.jsonl");
    let sim = Sim::start(SimConfig {
        record: Some(record.0.clone()),
        keep_requests: false,
        ..SimConfig::default()
    })
    .unwrap();
    let addr = sim.addr().to_string();
    drive(&addr, THREADS, PER_THREAD, "k", |callid| {
        // Every 10th answer: its line must already be in the file.
        if callid.ends_with('0') {
            let text = std::fs::read_to_string(&record.0).unwrap();
            let needle = format!("\"callid\":\"{callid}\"");
            assert!(text.contains(&needle), "{callid} answered before recorded");
        }
    });
    let total = THREADS * PER_THREAD;
    assert_eq!(sim.request_count(), total);
    assert_eq!(sim.accepted_count(), total);
    assert_eq!(sim.connection_count(), THREADS);
    assert!(sim.requests().is_empty() && sim.accepted().is_empty());
    // Exactly one whole line per outcome: none lost, doubled or interleaved.
    assert_eq!(record.lines().len(), total);
    assert_eq!(distinct_callids(&record).len(), total);
}

/// The resident set size of process `pid`, in KiB.
#[cfg(target_os = "linux")]
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[cfg(target_os = "linux")]
#[test]
fn binary_memory_stays_flat_over_many_requests() {
    const THREADS: usize = 8;
    let record = TempPath::new("flat.jsonl");
    let sim = SimProcess::spawn(&["--record".as_ref(), record.0.as_os_str()]);
    let pid = sim.child.id();
    // Warm up: runtime threads, connection buffers and allocator pools settle.
    drive(sim.authority(), THREADS, 250, "warm", |_| {});
    let before = rss_kib(pid);
    drive(sim.authority(), THREADS, 1_250, "load", |_| {});
    let after = rss_kib(pid);
    // Keeping 10,000 requests and outcomes would take well over 10 MiB.
    assert!(
        after.saturating_sub(before) < 4 * 1024,
        "RSS grew from {before} KiB to {after} KiB over 10,000 requests"
    );
    assert_eq!(record.lines().len(), 12_000);
    assert_eq!(distinct_callids(&record).len(), 12_000);
}

/// CPU time (user + system) of process `pid` so far, in clock ticks (1/100 s on Linux).
#[cfg(target_os = "linux")]
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are the 14th and
    // 15th fields of the line, the 12th and 13th after it.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Not a pass/fail check: prints the simulator's CPU time per plain successful request.
/// Run on an optimised build:
/// `cargo test -p lcm-sim --release --test load -- --ignored --nocapture`.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "a measurement; run it on a release build"]
fn measure_cpu_time_per_request() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 25_000;
    let sim = SimProcess::spawn(&[]);
    let pid = sim.child.id();
    drive(sim.authority(), THREADS, 1_000, "warm", |_| {});
    let ticks = cpu_ticks(pid);
    let started = Instant::now();
    drive(sim.authority(), THREADS, PER_THREAD, "m", |_| {});
    let elapsed = started.elapsed();
    let requests = (THREADS * PER_THREAD) as f64;
    let cpu_us = (cpu_ticks(pid) - ticks) as f64 * 10_000.0 / requests;
    println!(
        "lcm-sim: {requests} requests on {THREADS} connections in {elapsed:?}: \
         {cpu_us:.1} us of simulator CPU per request, {:.0} requests/s",
        requests / elapsed.as_secs_f64()
    );
}

//! The outbox's cost, measured against direct calls on the same lcm-sim (scripts/bench
//! starts it and passes its URL in `BENCH_ENDPOINT`): how long `always` mode takes to
//! return (an fsync'd insert), and how many outcomes per second a flush delivers.
//!
//! Prints one result line for scripts/bench:
//! `mode=outbox calls=N direct_p50_ns=.. direct_p99_ns=.. direct_per_s=.. always_p50_ns=..
//! always_p99_ns=.. flush_per_s=..`

use std::time::{Duration, Instant};

use lcm_outcome::{Client, Outcome, Sent};

fn main() {
    let Ok(endpoint) = std::env::var("BENCH_ENDPOINT") else {
        eprintln!("benches/outbox: set BENCH_ENDPOINT to a running lcm-sim (scripts/bench does)");
        return;
    };
    let calls: usize = std::env::var("BENCH_OUTBOX_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let dir = std::env::var_os("BENCH_OUTBOX_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let file = dir.join(format!("lcm-bench-outbox-{}.db", std::process::id()));

    let direct = Client::new();
    configure(&direct, &[("endpoint", &endpoint), ("proxy", "none")]);
    let ids: Vec<String> = (0..calls).map(|i| format!("bench-{i}")).collect();
    // Warm-up: the connection and the first-call costs are not what is measured.
    send(&direct, "warm-up");
    let started = Instant::now();
    let mut direct_ns: Vec<u64> = ids.iter().map(|id| timed(|| send(&direct, id))).collect();
    let direct_per_s = calls as f64 / started.elapsed().as_secs_f64();

    let queued = Client::new();
    configure(
        &queued,
        &[
            ("endpoint", &endpoint),
            ("proxy", "none"),
            ("outbox", file.to_str().expect("a UTF-8 temp path")),
            ("outbox_mode", "always"),
            ("outbox_retry_ms", "0"), // no background sender: the flush below delivers
        ],
    );
    let mut always_ns: Vec<u64> = ids
        .iter()
        .map(|id| timed(|| assert!(matches!(set(&queued, id), Sent::Queued { .. }))))
        .collect();
    let started = Instant::now();
    let report = queued
        .flush_outbox(Duration::from_secs(600))
        .expect("flush");
    let flush_s = started.elapsed().as_secs_f64();
    assert_eq!(
        (report.delivered, report.pending),
        (calls, 0),
        "every entry delivered"
    );
    drop(queued);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }

    println!(
        "mode=outbox calls={calls} direct_p50_ns={} direct_p99_ns={} direct_per_s={:.0} \
         always_p50_ns={} always_p99_ns={} flush_per_s={:.0}",
        percentile(&mut direct_ns, 50),
        percentile(&mut direct_ns, 99),
        direct_per_s,
        percentile(&mut always_ns, 50),
        percentile(&mut always_ns, 99),
        calls as f64 / flush_s
    );
}

fn configure(client: &Client, options: &[(&str, &str)]) {
    for (key, value) in options {
        client
            .configure(key, value)
            .unwrap_or_else(|e| panic!("{key}: {e}"));
    }
}

fn set(client: &Client, call_id: &str) -> Sent {
    client
        .set_outcome(&Outcome {
            call_id,
            account_number: "5|3|1|0|0|44|1",
            outcome_id: "1",
            lead_score: 0.0,
            user_id: "testagent",
            agent_comments: "Test comment",
            target_amount: 0.0,
        })
        .unwrap_or_else(|e| panic!("{call_id}: {e}"))
}

fn send(client: &Client, call_id: &str) {
    assert_eq!(set(client, call_id), Sent::Confirmed);
}

fn timed(f: impl FnOnce()) -> u64 {
    let started = Instant::now();
    f();
    started.elapsed().as_nanos() as u64
}

fn percentile(values: &mut [u64], p: usize) -> u64 {
    values.sort_unstable();
    values[(values.len() * p / 100).min(values.len() - 1)]
}

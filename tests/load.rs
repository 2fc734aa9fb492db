//! Load: many threads sending through one client to lcm-sim recording to a file;
//! every call must return `LCM_OK` and every outcome must be recorded exactly once.
//!
//! The default run sends 10,000 calls. The full run of the reliability bar,
//! 100,000 calls, is `LCM_LOAD_CALLS=100000 cargo test --release --test load --
//! --nocapture` (it prints calls per second).

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use common::*;
use lcm_outcome::ffi::*;

const THREADS: usize = 8;

#[test]
fn every_call_is_confirmed_and_recorded_exactly_once() {
    let calls: usize = std::env::var("LCM_LOAD_CALLS")
        .ok()
        .map(|v| v.parse().expect("LCM_LOAD_CALLS is a number"))
        .unwrap_or(10_000);
    let record = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("load-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&record);
    let sim = Sim::start(SimConfig {
        record: Some(record.clone()),
        keep_requests: false,
        ..SimConfig::default()
    })
    .expect("start lcm-sim");
    let client = Arc::new(Client::for_endpoint(&sim.url()));

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let failures: Vec<(String, lcm_status, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let (client, next) = (client.clone(), next.clone());
                scope.spawn(move || {
                    let mut failed = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= calls {
                            return failed;
                        }
                        let id = format!("load-{i}");
                        let (status, message) = client.send(&Call::with_id(&id));
                        if status != LCM_OK {
                            failed.push((id, status, message));
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let elapsed = started.elapsed();
    assert!(
        failures.is_empty(),
        "{} of {calls} calls failed, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );

    // The sim flushes each line before it answers, so the file is complete now.
    let text = std::fs::read_to_string(&record).unwrap();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for line in text.lines() {
        let outcome: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        *seen
            .entry(outcome["callid"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, &n)| n > 1).take(5).collect();
    assert!(twice.is_empty(), "recorded more than once: {twice:?}");
    let missing: Vec<_> = (0..calls)
        .map(|i| format!("load-{i}"))
        .filter(|id| !seen.contains_key(id))
        .take(5)
        .collect();
    assert!(missing.is_empty(), "never recorded: {missing:?}");
    assert_eq!(seen.len(), calls);
    println!(
        "{calls} calls from {THREADS} threads in {:.2} s: {:.0} calls/s over {} connections",
        elapsed.as_secs_f64(),
        calls as f64 / elapsed.as_secs_f64(),
        sim.connection_count()
    );
    let _ = std::fs::remove_file(&record);
}

//! While DNS hangs, calls to a host-name endpoint end in `LCM_ERR_CONNECT` within
//! their deadline and the number of threads does not grow with the number of calls
//! (docs/design.md §5).
//!
//! A hanging DNS server needs a resolver configuration of its own: the test runs
//! itself again in a private mount namespace (`unshare -m`, root only) where
//! `/etc/resolv.conf` names a loopback UDP socket that this test holds open and never
//! answers. Nothing outside the namespace sees the change.

mod common;

use std::net::UdpSocket;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use lcm_outcome::ffi::*;

/// Marks the run inside the namespace.
const CHILD_VAR: &str = "LCM_TEST_DNS_CHILD";
/// The host nobody answers for (not in /etc/hosts).
const HUNG_HOST: &str = "lcm.hung-dns.test";
const CALLERS: usize = 8;
const TIMEOUT_MS: u64 = 500;
/// How long the callers keep calling: several deadlines each.
const CALLING_FOR: Duration = Duration::from_secs(3);
/// The library's bound on lookup threads (src/resolve.rs).
const DNS_WORKERS: usize = 4;

#[test]
fn threads_stay_bounded_while_dns_hangs() {
    let unshare = succeeds(Command::new("unshare").args(["-m", "true"]));
    if !present_or_skip(
        unshare,
        "a private mount namespace (unshare -m, as root)",
        "run the tests as root on Linux with util-linux",
    ) {
        return;
    }
    // A DNS server that never answers: the socket is bound and read by nobody.
    let silent = UdpSocket::bind("127.53.53.53:53").expect("bind UDP 127.53.53.53:53");
    let work = WorkDir::new("hung-dns");
    let resolv = work.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 127.53.53.53\noptions timeout:30 attempts:1\n",
    )
    .unwrap();
    let me = std::env::current_exe().unwrap();
    let mut child = Command::new("unshare");
    child
        .args(["-m", "sh", "-c", r#"mount --bind "$0" /etc/resolv.conf && exec "$1" --exact child_under_hung_dns --ignored --nocapture --test-threads=1"#])
        .arg(&resolv)
        .arg(&me)
        .env(CHILD_VAR, "1");
    let output = run_within(&mut child, Duration::from_secs(120))
        .unwrap_or_else(|o| panic!("the child did not finish: {o:?}"));
    drop(silent);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The harness prints the test's name before the line, on the same line.
    let result = stdout
        .split("RESULT ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("no RESULT line:\n{stdout}"));
    println!("hung DNS: {result}");
    let field = |name: &str| -> usize {
        result
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {result}"))
    };
    let calls = field("calls");
    assert!(
        calls >= CALLERS * 3,
        "each caller made several calls: {result}"
    );
    assert_eq!(
        field("connect"),
        calls,
        "every call is LCM_ERR_CONNECT: {result}"
    );
    assert!(
        field("slowest_ms") as u64 <= TIMEOUT_MS * 12 / 10,
        "every call returned within its deadline + 20%: {result}"
    );
    assert!(
        field("max_threads") <= field("threads_before") + DNS_WORKERS,
        "lookup threads are bounded, whatever the number of calls: {result}"
    );
}

/// Runs inside the namespace only (see above): callers keep calling the hung host
/// while the number of the process's threads is sampled.
#[test]
#[ignore = "run by threads_stay_bounded_while_dns_hangs inside a mount namespace"]
fn child_under_hung_dns() {
    if std::env::var_os(CHILD_VAR).is_none() {
        return;
    }
    let client = Arc::new(Client::for_endpoint(&format!(
        "http://{HUNG_HOST}:8080/lcm"
    )));
    client.set("timeout_ms", &TIMEOUT_MS.to_string());
    client.set("retries", "0");
    client.set("log_level", "off");
    let done = Arc::new(AtomicBool::new(false));
    let (calls, connect, slowest) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let start = Arc::new(std::sync::Barrier::new(CALLERS + 1));
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (client, done, start) = (client.clone(), done.clone(), start.clone());
            let (calls, connect, slowest) = (calls.clone(), connect.clone(), slowest.clone());
            std::thread::spawn(move || {
                start.wait();
                while !done.load(Ordering::SeqCst) {
                    let began = Instant::now();
                    let (status, message) = client.send(&Call::sample());
                    let took = began.elapsed().as_millis() as usize;
                    slowest.fetch_max(took, Ordering::SeqCst);
                    calls.fetch_add(1, Ordering::SeqCst);
                    if status == LCM_ERR_CONNECT && message.contains(HUNG_HOST) {
                        connect.fetch_add(1, Ordering::SeqCst);
                    } else {
                        eprintln!("unexpected: {} {message}", name(status));
                    }
                }
            })
        })
        .collect();
    let threads_before = thread_count();
    start.wait();
    let began = Instant::now();
    let mut max_threads = threads_before;
    while began.elapsed() < CALLING_FOR {
        max_threads = max_threads.max(thread_count());
        std::thread::sleep(Duration::from_millis(20)); // sampling, not waiting
    }
    done.store(true, Ordering::SeqCst);
    for caller in callers {
        caller.join().unwrap();
    }
    max_threads = max_threads.max(thread_count());
    println!(
        "RESULT calls={} connect={} slowest_ms={} threads_before={threads_before} max_threads={max_threads}",
        calls.load(Ordering::SeqCst),
        connect.load(Ordering::SeqCst),
        slowest.load(Ordering::SeqCst),
    );
}

/// The threads of this process now.
fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

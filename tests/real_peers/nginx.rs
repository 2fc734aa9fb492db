//! Real nginx in front of lcm-sim: calls on kept-alive connections that nginx closes
//! when they have been idle for its `keepalive_timeout` or have carried
//! `keepalive_requests`, and the error statuses nginx answers by itself.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::common::nginx::{nginx_or_skip, paths, Nginx, NginxConfig};
use crate::common::*;
use lcm_outcome::ffi::*;

/// nginx's `keepalive_timeout`: short, so that many calls fit in a few seconds.
const IDLE_MS: u64 = 100;
/// nginx's `keepalive_requests`: a connection carries this many, then nginx closes it
/// (announcing it with `Connection: close` on the last answer).
const REQUESTS_PER_CONNECTION: u32 = 5;
/// Clients pacing their calls at once, each on a connection (and a pool) of its own,
/// and paced calls per client after the first one that opens its connection: 992
/// calls in about 3 s. Enough that a client which does not resend a request that
/// died on a pooled connection nginx was closing fails every run: measured on a
/// loaded 2-core machine, 8 to 27 of the 992 HTTP calls and 37 to 82 of the HTTPS
/// ones failed per run (LCM_ERR_TIMEOUT, nothing recorded).
const CLIENTS: usize = 32;
const ROUNDS: usize = 30;
/// The paced calls go out from `EARLY_US` before `IDLE_MS` after the previous answer to
/// `SPREAD_US - EARLY_US` after it, evenly spread. nginx times the idle connection
/// from a clock it reads in whole milliseconds, before the client has the answer:
/// calls sent from about 2 ms before the client's `IDLE_MS` are over to 0.3 ms after
/// are the ones that met a connection nginx was closing.
const EARLY_US: i64 = 2_000;
const SPREAD_US: i64 = 2_500;

/// What one call returned.
struct Sent {
    call_id: String,
    /// When it went out, relative to `IDLE_MS` after the previous answer.
    offset_us: i64,
    result: (lcm_status, String),
}

fn nginx_for(name: &str, sim: &Sim, keepalive_requests: u32) -> Nginx {
    Nginx::start(
        name,
        &NginxConfig {
            upstream: sim.addr(),
            keepalive_timeout_ms: IDLE_MS,
            keepalive_requests,
        },
    )
}

/// One client's calls: the first opens a connection, each next one is sent when the
/// connection has been idle for about nginx's `keepalive_timeout`. (The sleep is the
/// test's stimulus, the pace of a quiet dialer, not a wait for an event.)
fn paced_client(nginx: &Nginx, tls: bool, tag: &str, index: usize) -> Vec<Sent> {
    let client = nginx.client(tls, "/lcm");
    let send = |call_id: String, offset_us: i64| {
        let result = client.send(&Call::with_id(&call_id));
        Sent {
            call_id,
            offset_us,
            result,
        }
    };
    let mut sent = vec![send(format!("{tag}-{index}-open"), 0)];
    let mut answered = Instant::now();
    for round in 0..ROUNDS {
        let step = (index * ROUNDS + round) as i64;
        let offset_us = step * SPREAD_US / (CLIENTS * ROUNDS) as i64 - EARLY_US;
        let due = answered + Duration::from_millis(IDLE_MS);
        let due = if offset_us >= 0 {
            due + Duration::from_micros(offset_us.unsigned_abs())
        } else {
            due - Duration::from_micros(offset_us.unsigned_abs())
        };
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        sent.push(send(format!("{tag}-{index}-{round}"), offset_us));
        answered = Instant::now();
    }
    sent
}

/// How many times lcm-sim recorded each call id.
fn recorded_per_call(sim: &Sim) -> HashMap<String, usize> {
    let mut recorded = HashMap::new();
    for line in sim.accepted() {
        let id = line["callid"]
            .as_str()
            .expect("a recorded callid")
            .to_string();
        *recorded.entry(id).or_default() += 1;
    }
    recorded
}

/// The number after `key=` in an access log line.
fn field(line: &str, key: &str) -> u64 {
    let prefix = format!("{key}=");
    line.split(' ')
        .find_map(|word| word.strip_prefix(prefix.as_str()))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

/// Every client's calls, the clients pacing at once.
fn paced_clients(nginx: &Nginx, tls: bool, tag: &str) -> Vec<Sent> {
    std::thread::scope(|s| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|index| s.spawn(move || paced_client(nginx, tls, tag, index)))
            .collect();
        clients
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect()
    })
}

/// Asserts that every call was `LCM_OK` and recorded exactly once, listing the
/// failures (when each went out, and whether it was recorded) otherwise.
#[track_caller]
fn assert_all_recorded_once(sent: &[Sent], sim: &Sim, tag: &str) {
    let recorded = recorded_per_call(sim);
    let failed: Vec<String> = sent
        .iter()
        .filter(|s| s.result.0 != LCM_OK)
        .map(|s| {
            let times = recorded.get(&s.call_id).copied().unwrap_or(0);
            let (status, message) = &s.result;
            let offset = s.offset_us;
            let status = name(*status);
            format!(
                "{} sent at {offset:+} us: {status} {message} (recorded {times}x)",
                s.call_id
            )
        })
        .collect();
    eprintln!("{tag}: {} of {} calls failed", failed.len(), sent.len());
    assert!(
        failed.is_empty(),
        "{} of {} calls failed (the first 20 follow):\n{}",
        failed.len(),
        sent.len(),
        failed[..failed.len().min(20)].join("\n"),
    );
    for s in sent {
        let times = recorded.get(&s.call_id).copied().unwrap_or(0);
        assert_eq!(times, 1, "{} recorded {times} times", s.call_id);
    }
}

/// Asserts, from nginx's access log, that each call reached nginx once and that the
/// pacing did what it is for: a tenth or more of the calls (28-44% when measured)
/// went out on a connection that had carried a request before, the others on a new
/// one after nginx had closed the old, none past `keepalive_requests`.
#[track_caller]
fn assert_connections_reused(nginx: &Nginx, sent: &[Sent], tag: &str) {
    let log = nginx.access_log();
    let posts: Vec<&String> = log
        .iter()
        .filter(|l| l.starts_with("POST /lcm 200 "))
        .collect();
    assert_eq!(
        posts.len(),
        sent.len(),
        "one request per call reached nginx"
    );
    let reused = posts.iter().filter(|l| field(l, "req") > 1).count();
    eprintln!("{tag}: {reused} calls on a reused connection");
    assert!(
        reused * 10 >= sent.len(),
        "only {reused} calls reused a connection"
    );
    let most = posts.iter().map(|l| field(l, "req")).max().unwrap();
    let limit = u64::from(REQUESTS_PER_CONNECTION);
    assert!(most <= limit, "a connection carried {most} requests");
}

fn paced_calls_all_succeed_once(tls: bool, tag: &str) {
    if !nginx_or_skip() {
        return;
    }
    let sim = sim();
    let nginx = nginx_for(tag, &sim, REQUESTS_PER_CONNECTION);
    let started = Instant::now();
    let sent = paced_clients(&nginx, tls, tag);
    eprintln!("{tag}: {} calls in {:.1?}", sent.len(), started.elapsed());
    assert_all_recorded_once(&sent, &sim, tag);
    assert_connections_reused(&nginx, &sent, tag);
}

#[test]
fn http_calls_paced_at_nginx_keepalive_timeout_all_succeed_once() {
    paced_calls_all_succeed_once(false, "paced-http");
}

#[test]
fn https_calls_paced_at_nginx_keepalive_timeout_all_succeed_once() {
    paced_calls_all_succeed_once(true, "paced-https");
}

#[test]
fn back_to_back_calls_move_on_when_nginx_ends_a_connection_after_keepalive_requests() {
    if !nginx_or_skip() {
        return;
    }
    let sim = sim();
    let nginx = nginx_for("requests", &sim, 3);
    for tls in [false, true] {
        let client = nginx.client(tls, "/lcm");
        for n in 0..10 {
            let call = Call::with_id(&format!("requests-{tls}-{n}"));
            assert_status(&client.send(&call), LCM_OK, &[]);
        }
    }
    let recorded = recorded_per_call(&sim);
    assert_eq!(recorded.len(), 20);
    assert!(recorded.values().all(|&n| n == 1), "{recorded:?}");
    let log = nginx.access_log();
    let posts: Vec<&String> = log
        .iter()
        .filter(|l| l.starts_with("POST /lcm 200 "))
        .collect();
    assert_eq!(posts.len(), 20, "{log:#?}");
    let connections: std::collections::HashSet<u64> =
        posts.iter().map(|l| field(l, "conn")).collect();
    // 10 calls, 3 per connection: 4 connections per scheme, each used to its limit.
    assert_eq!(connections.len(), 8, "{log:#?}");
}

/// nginx's own error answer for `path`: `LCM_ERR_HTTP_STATUS` naming the status, in
/// one attempt (none of these is a status that asks for a retry), nothing recorded.
#[track_caller]
fn assert_nginx_answers(nginx: &Nginx, sim: &Sim, path: &str, code: u16) {
    for tls in [false, true] {
        let client = nginx.client(tls, path);
        let result = client.send(&Call::with_id(&format!("status-{code}")));
        let words = [format!("HTTP {code}"), nginx.url(tls, path)];
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        assert_status(&result, LCM_ERR_HTTP_STATUS, &words);
    }
    let log = nginx.access_log();
    let answered: Vec<&String> = log
        .iter()
        .filter(|l| l.starts_with(&format!("POST {path} {code} ")))
        .collect();
    assert_eq!(
        answered.len(),
        2,
        "one request per call (HTTP, HTTPS): {log:#?}"
    );
    assert_eq!(sim.accepted_count(), 0);
}

#[test]
fn nginx_refusing_a_large_body_is_http_status_413() {
    if !nginx_or_skip() {
        return;
    }
    let sim = sim();
    let nginx = nginx_for("413", &sim, 100);
    assert_nginx_answers(&nginx, &sim, paths::SMALL, 413);
}

#[test]
fn nginx_without_its_upstream_is_http_status_502() {
    if !nginx_or_skip() {
        return;
    }
    let sim = sim();
    let nginx = nginx_for("502", &sim, 100);
    assert_nginx_answers(&nginx, &sim, paths::DEAD, 502);
}

#[test]
fn nginx_giving_up_on_a_silent_upstream_is_http_status_504() {
    if !nginx_or_skip() {
        return;
    }
    let sim = sim();
    let nginx = nginx_for("504", &sim, 100);
    assert_nginx_answers(&nginx, &sim, paths::SILENT, 504);
}

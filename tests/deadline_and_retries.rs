//! One deadline per call, retries included; retries only where the request was
//! provably not delivered or the server asked for them.

mod common;

use std::time::{Duration, Instant};

use common::*;
use lcm_outcome::ffi::*;
use lcm_sim::{Answer, RetryAfter};

#[test]
fn a_late_answer_ends_the_call_at_its_deadline() {
    // 3 s: its 20% is 600 ms, room for Linux's timer slack (up to about an eighth of
    // the wait, `docs/design.md` §7.5) and a few hundred milliseconds more. The answer
    // would come long after the bound.
    let sim = sim_with(Faults {
        latency_ms: 60_000,
        ..Faults::default()
    });
    let client = Client::for_endpoint(&sim.url());
    client.set("timeout_ms", "3000");
    let timer = CallTimer::start();
    let result = client.send(&Call::sample());
    let time = timer.stop();
    println!("returned after {time}");
    assert_status(&result, LCM_ERR_TIMEOUT, &["timeout_ms (3000)"]);
    assert!(
        time.elapsed >= Duration::from_millis(3_000),
        "returned early: {time}"
    );
    assert!(
        time.own() <= Duration::from_millis(3_600),
        "deadline + 20% exceeded: {time}"
    );
    assert_eq!(sim.request_count(), 1, "a timeout is never retried");
}

#[test]
fn a_refused_connection_is_connect_after_the_retries() {
    let client = Client::for_endpoint(&refused_endpoint());
    // Long, so that a call that waited out its deadline instead of failing after the
    // backoffs is three times the bound below.
    client.set("timeout_ms", "30000");
    let started = Instant::now();
    assert_status(
        &client.send(&Call::sample()),
        LCM_ERR_CONNECT,
        &["Connection refused"],
    );
    let elapsed = started.elapsed();
    // Two retries with 50..100 ms then 100..200 ms of backoff.
    assert!(
        elapsed >= Duration::from_millis(150),
        "no backoff: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[test]
fn retries_never_outlast_the_deadline() {
    let client = Client::for_endpoint(&refused_endpoint());
    client.set("retries", "10");
    // Ten backoffs take at least 6.55 s, so some do not fit in 2 s; 20% of 2 s is
    // 400 ms of room for a sleep that ends late.
    client.set("timeout_ms", "2000");
    let timer = CallTimer::start();
    assert_status(
        &client.send(&Call::sample()),
        LCM_ERR_CONNECT,
        &["no time left for a retry"],
    );
    let time = timer.stop();
    println!("returned after {time}");
    assert!(time.own() <= Duration::from_millis(2_400), "{time}");
}

#[test]
fn a_503_is_retried_and_then_succeeds() {
    let sim = sim_with(Faults {
        answer: Answer::fail_times(503, 1),
        ..Faults::default()
    });
    let client = Client::for_endpoint(&sim.url());
    assert_status(&client.send(&Call::sample()), LCM_OK, &[]);
    assert_eq!(sim.request_count(), 2);
    assert_eq!(sim.accepted().len(), 1, "recorded exactly once");
}

#[test]
fn a_500_is_not_retried() {
    let sim = sim_with(Faults {
        answer: Answer::fail_times(500, 1),
        ..Faults::default()
    });
    let client = Client::for_endpoint(&sim.url());
    assert_status(
        &client.send(&Call::sample()),
        LCM_ERR_HTTP_STATUS,
        &["HTTP 500"],
    );
    assert_eq!(sim.request_count(), 1);
    assert!(sim.accepted().is_empty());
}

#[test]
fn retries_zero_means_one_attempt() {
    let sim = sim_with(Faults {
        answer: Answer::fail_times(503, 1),
        ..Faults::default()
    });
    let client = Client::for_endpoint(&sim.url());
    client.set("retries", "0");
    assert_status(
        &client.send(&Call::sample()),
        LCM_ERR_HTTP_STATUS,
        &["HTTP 503"],
    );
    assert_eq!(sim.request_count(), 1);
}

#[test]
fn a_retry_after_beyond_the_deadline_ends_the_call() {
    let sim = sim_with(Faults {
        answer: Answer::Status {
            status: 429,
            count: 1,
            retry_after: Some(RetryAfter::Secs(60)),
        },
        ..Faults::default()
    });
    let client = Client::for_endpoint(&sim.url());
    // A call that waited, for the Retry-After or for as much of it as fits, would
    // take 30 s or more: three times the bound below.
    client.set("timeout_ms", "30000");
    let started = Instant::now();
    assert_status(
        &client.send(&Call::sample()),
        LCM_ERR_HTTP_STATUS,
        &["HTTP 429", "retry after 60 s, past the call's deadline"],
    );
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert_eq!(sim.request_count(), 1);
}

#[test]
fn a_dropped_connection_is_an_unknown_outcome_not_a_success() {
    let sim = sim_with(Faults {
        answer: Answer::DropConnection,
        ..Faults::default()
    });
    let client = Client::for_endpoint(&sim.url());
    // A call that waited for an answer on the dropped connection, or retried until
    // its deadline, would take 30 s: three times the bound below.
    client.set("timeout_ms", "30000");
    let started = Instant::now();
    assert_status(
        &client.send(&Call::sample()),
        LCM_ERR_TIMEOUT,
        &["may or may not be recorded"],
    );
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert_eq!(
        sim.request_count(),
        1,
        "the request may have been acted on: no retry"
    );
}

#[test]
fn a_429_is_retried_and_then_succeeds() {
    let sim = sim_with(Faults {
        answer: Answer::fail_times(429, 2),
        ..Faults::default()
    });
    let client = Client::for_endpoint(&sim.url());
    assert_status(&client.send(&Call::sample()), LCM_OK, &[]);
    assert_eq!(sim.request_count(), 3);
    assert_eq!(sim.accepted().len(), 1);
}

#[test]
fn a_retry_after_that_fits_is_waited_for() {
    let sim = sim_with(Faults {
        answer: Answer::Status {
            status: 503,
            count: 1,
            retry_after: Some(RetryAfter::Secs(1)),
        },
        ..Faults::default()
    });
    let client = Client::for_endpoint(&sim.url());
    let started = Instant::now();
    assert_status(&client.send(&Call::sample()), LCM_OK, &[]);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(sim.request_count(), 2);
}

#[test]
fn a_retry_after_of_zero_still_backs_off_and_a_huge_one_ends_the_call() {
    let sim = sim_with(Faults {
        answer: Answer::Status {
            status: 503,
            count: 1,
            retry_after: Some(RetryAfter::Secs(0)),
        },
        ..Faults::default()
    });
    let client = Client::for_endpoint(&sim.url());
    let started = Instant::now();
    assert_status(&client.send(&Call::sample()), LCM_OK, &[]);
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "{:?}",
        started.elapsed()
    );

    sim.set_faults(Faults {
        answer: Answer::Status {
            status: 503,
            count: 1,
            retry_after: Some(RetryAfter::Secs(u64::MAX)),
        },
        ..Faults::default()
    })
    .expect("valid faults");
    assert_status(
        &client.send(&Call::sample()),
        LCM_ERR_HTTP_STATUS,
        &["HTTP 503", "past the call's deadline"],
    );
}

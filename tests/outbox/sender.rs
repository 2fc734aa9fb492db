//! The background sender and always mode (docs/design.md §9): always mode returns
//! without waiting for LCM; the sender delivers, backs off while LCM stays down, is
//! woken when LCM answers a call, and is stopped and joined by `lcm_client_free`.

use std::time::{Duration, Instant};

use lcm_outcome::ffi::*;
use lcm_sim::{Answer, Faults};

use super::common::*;
use super::*;

#[test]
fn always_mode_returns_without_waiting_for_a_slow_lcm() {
    let outbox = OutboxFile::new("always-slow");
    let sim = sim_with(Faults {
        latency_ms: 3000,
        ..Faults::default()
    });
    let client = outbox.client(&sim.url());
    client.set("outbox_mode", "always");
    client.set("outbox_retry_ms", "50");
    let began = Instant::now();
    let first = queue(&client, &Call::with_id("slow-1"));
    let took = began.elapsed();
    assert!(took < Duration::from_millis(2000), "took {took:?}");
    // The sender is now waiting for LCM's answer to slow-1: a caller must not.
    wait_for("the sender to send slow-1", Duration::from_secs(20), || {
        sim.request_count() == 1
    });
    let began = Instant::now();
    queue(&client, &Call::with_id("slow-2"));
    let took = began.elapsed();
    assert!(took < Duration::from_millis(2000), "took {took:?}");
    assert!(
        outbox
            .rows()
            .iter()
            .any(|r| r.id == first && r.state == "sending"),
        "slow-1 was still in flight when slow-2 returned"
    );
    sim.set_faults(Faults::default()).unwrap();
    wait_for(
        "the sender to deliver both",
        Duration::from_secs(30),
        || counts(&client).0 == 0,
    );
    assert_eq!(accepted_ids(&sim), ["slow-1", "slow-2"]);
}

#[test]
fn the_sender_delivers_in_the_background_and_free_joins_it() {
    let outbox = OutboxFile::new("sender-free");
    let sim = sim();
    let client = outbox.client(&refused_endpoint());
    client.set("outbox_retry_ms", "50");
    queue(&client, &Call::with_id("background"));
    client.set("endpoint", &sim.url());
    wait_for("the sender to deliver", Duration::from_secs(30), || {
        counts(&client).0 == 0
    });
    assert_eq!(accepted_ids(&sim), ["background"]);

    // A sender in the middle of a delivery is stopped and joined by free.
    sim.set_faults(Faults::answering(Answer::Hang)).unwrap();
    client.set("timeout_ms", "1000");
    client.set("outbox_mode", "always");
    let entry = queue(&client, &Call::with_id("hung"));
    wait_for("the sender to send", Duration::from_secs(20), || {
        sim.request_count() == 2
    });
    let began = Instant::now();
    drop(client);
    let took = began.elapsed();
    assert!(took < Duration::from_secs(4), "free took {took:?}");
    let rows = outbox.rows();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].id, entry);
    assert_eq!(
        (rows[0].state.as_str(), rows[0].last_status.as_deref()),
        ("pending", Some("LCM_ERR_TIMEOUT")),
        "free returned after the delivery in hand ended and was recorded"
    );
}

#[test]
fn the_sender_backs_off_while_lcm_stays_down_and_resumes_when_it_answers() {
    let outbox = OutboxFile::new("sender-backoff");
    let sim = sim_with(Faults::answering(Answer::fail(503)));
    let client = outbox.client(&sim.url());
    client.set("outbox_retry_ms", "100");
    let began = Instant::now();
    queue(&client, &Call::with_id("backoff"));
    // Each attempt at least twice as long after the one before: 100, 200, 400 ms.
    let mut attempts = Vec::new();
    for n in 1..=4 {
        wait_for("the sender's next attempt", Duration::from_secs(30), || {
            sim.request_count() > n
        });
        attempts.push(began.elapsed());
    }
    for (k, pair) in attempts.windows(2).enumerate() {
        let least = Duration::from_millis(100 << k);
        assert!(pair[1] - pair[0] >= least, "attempt gaps {attempts:?}");
    }
    let client = std::sync::Arc::new(client);
    // Now a long backoff; LCM answering a call wakes the sender at once.
    client.set("outbox_retry_ms", "600000");
    let before = sim.request_count();
    wait_for("one more attempt", Duration::from_secs(30), || {
        sim.request_count() > before
    });
    sim.set_faults(Faults::default()).unwrap();
    assert_status(&client.send(&Call::with_id("direct")), LCM_OK, &[]);
    wait_for("the backlog to go", Duration::from_secs(30), || {
        counts(&client).0 == 0
    });
    assert_eq!(accepted_ids(&sim), ["direct", "backoff"]);
}

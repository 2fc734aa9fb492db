//! Many threads at once on one client, and configuration changing under them.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::*;
use lcm_outcome::ffi::*;

#[test]
fn many_threads_share_one_client_and_every_outcome_is_recorded_once() {
    const THREADS: usize = 8;
    const CALLS: usize = 50;
    let sim = sim();
    let client = Arc::new(Client::for_endpoint(&sim.url()));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let client = Arc::clone(&client);
            std::thread::spawn(move || {
                for i in 0..CALLS {
                    let result = client.send(&Call::with_id(&format!("t{t}-c{i}")));
                    assert_status(&result, LCM_OK, &[]);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker thread");
    }
    let ids: Vec<String> = sim
        .accepted()
        .iter()
        .map(|o| o["callid"].as_str().unwrap().to_string())
        .collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), THREADS * CALLS);
    assert_eq!(unique.len(), THREADS * CALLS, "no outcome recorded twice");
    assert!(
        sim.connection_count() <= THREADS,
        "connections are pooled: {}",
        sim.connection_count()
    );
}

#[test]
fn reconfiguring_while_sending_is_safe_and_takes_effect() {
    let first = sim();
    let second = sim();
    let client = Arc::new(Client::for_endpoint(&first.url()));
    let sender = {
        let client = Arc::clone(&client);
        std::thread::spawn(move || {
            for i in 0..200 {
                assert_status(&client.send(&Call::with_id(&format!("r{i}"))), LCM_OK, &[]);
            }
        })
    };
    for i in 0..50 {
        let target = if i % 2 == 0 {
            second.url()
        } else {
            first.url()
        };
        client.set("endpoint", &target);
        client.set("source", &format!("source-{i}"));
    }
    sender.join().unwrap();
    assert_eq!(first.accepted().len() + second.accepted().len(), 200);

    // Settled: the last change is in force for the next call.
    client.set("endpoint", &second.url());
    let before = second.accepted().len();
    assert_status(&client.send(&Call::with_id("after")), LCM_OK, &[]);
    assert_eq!(second.accepted().len(), before + 1);
    let last = second.requests().pop().unwrap().json().unwrap();
    assert_eq!(last["source"], "source-49");
}

#[test]
fn independent_clients_keep_independent_settings() {
    let a_sim = sim();
    let b_sim = sim();
    let a = Client::for_endpoint(&a_sim.url());
    let b = Client::for_endpoint(&b_sim.url());
    a.set("source", "client-a");
    assert_status(&a.send(&Call::sample()), LCM_OK, &[]);
    assert_status(&b.send(&Call::sample()), LCM_OK, &[]);
    assert_eq!(a_sim.requests()[0].json().unwrap()["source"], "client-a");
    assert_eq!(b_sim.requests()[0].json().unwrap()["source"], "lcm-outcome");
}

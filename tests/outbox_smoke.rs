//! Smoke test of the outbox through the C ABI: queued while LCM is down, delivered
//! once by a flush when it is back. The rules of docs/design.md §9, one by one, are
//! in tests/outbox/.

mod common;

use std::ffi::c_char;

use common::*;
use lcm_outcome::ffi::*;

#[test]
fn queued_while_down_then_flushed_once() {
    let work = WorkDir::new("outbox-smoke");
    let file = work.path().join("outbox.db");
    let client = Client::for_endpoint(&refused_endpoint());
    client.set("outbox", file.to_str().unwrap());
    client.set("outbox_retry_ms", "0");
    client.set("retries", "0");
    let (status, message) = client.send(&Call::with_id("q-1"));
    assert_eq!(status, LCM_QUEUED, "{message}");
    assert!(message.contains("entry 1"), "{message}");
    assert!(message.contains("the outcome was not sent"), "{message}");

    let (mut pending, mut dead) = (99usize, 99usize);
    let mut err = [0 as c_char; LCM_ERROR_SIZE];
    let st = unsafe {
        lcm_client_outbox_count(
            client.0,
            &mut pending,
            &mut dead,
            err.as_mut_ptr(),
            err.len(),
        )
    };
    assert_eq!((st, pending, dead), (LCM_OK, 1, 0), "{}", buffer_text(&err));

    let sim = sim();
    client.set("endpoint", &sim.url());
    let mut delivered = 0usize;
    let st = unsafe {
        lcm_client_outbox_flush(
            client.0,
            5000,
            &mut delivered,
            &mut pending,
            &mut dead,
            err.as_mut_ptr(),
            err.len(),
        )
    };
    assert_eq!(
        (st, delivered, pending, dead),
        (LCM_OK, 1, 0, 0),
        "{}",
        buffer_text(&err)
    );
    assert_eq!(sim.accepted_count(), 1);
}

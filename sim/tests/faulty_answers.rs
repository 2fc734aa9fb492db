//! Faults that replace the answer: hang, redirect, and result envelopes that are valid
//! but for one thing. Checked on the socket, with hand-written HTTP.

mod common;

use std::io::{ErrorKind, Read};
use std::time::Duration;

use common::*;
use lcm_sim::{Answer, AnswerVariant, Faults, Sim, SimConfig};
use serde_json::json;

fn sim_with(faults: Faults) -> Sim {
    Sim::start(SimConfig {
        faults,
        ..SimConfig::default()
    })
    .expect("start")
}

/// Asserts that nothing arrives on `conn` for a while and the connection stays open.
/// (A quiet period can only pass wrongly if the simulator answers later than it, which
/// the following steps of each test would then catch.)
fn assert_silent_and_open(conn: &mut Conn) {
    conn.stream()
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 64];
    match conn.reader.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        Ok(0) => panic!("the connection was closed"),
        Ok(n) => panic!("got {:?}", String::from_utf8_lossy(&buf[..n])),
        Err(e) => panic!("expected silence, got {e}"),
    }
    conn.stream().set_read_timeout(Some(READ_TIMEOUT)).unwrap();
}

#[test]
fn hang_reads_the_request_and_stays_silent_until_the_client_closes() {
    // One connection at a time: the next one is served only once the hung one is gone.
    let sim = Sim::start(SimConfig {
        max_connections: 1,
        ..SimConfig::default()
    })
    .unwrap();
    let mut conn = Conn::open(&sim);
    assert_eq!(conn.post_outcome("before").status, 200);
    // On the kept-alive connection, as a pooling client would send its next call.
    sim.set_faults(Faults {
        answer: Answer::Hang,
        ..Faults::default()
    })
    .expect("valid faults");
    conn.send(&post_outcome_bytes("hung"));
    wait_until("the hung request arrives", || sim.request_count() == 2);
    assert_silent_and_open(&mut conn);
    assert_eq!(sim.requests()[1].json(), Some(envelope("hung")));
    assert_eq!(sim.accepted_count(), 1, "a hung request is not recorded");

    sim.set_faults(Faults::default()).expect("valid faults");
    let mut next = Conn::open(&sim);
    next.send(&post_outcome_bytes("after"));
    drop(conn);
    assert_eq!(next.response().json(), success_body("after"));
    assert_eq!(sim.connection_count(), 2);
}

#[test]
fn hang_sends_no_100_continue_and_stop_ends_it() {
    let sim = sim_with(Faults {
        answer: Answer::Hang,
        ..Faults::default()
    });
    let mut conn = Conn::open(&sim);
    let body = envelope("1").to_string();
    conn.send(
        format!(
            "POST /lcm HTTP/1.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    wait_until("the request head arrives", || sim.request_count() == 1);
    assert_silent_and_open(&mut conn);
    sim.stop();
    conn.assert_closed();
}

#[test]
fn redirect_answers_3xx_with_a_location_and_records_nothing() {
    let sim = sim_with(Faults {
        answer: Answer::Redirect {
            location: "http://127.0.0.1:9/elsewhere".to_owned(),
            status: 302,
        },
        ..Faults::default()
    });
    let mut conn = Conn::open(&sim);
    let resp = conn.post_outcome("1");
    assert_eq!(resp.status, 302);
    assert_eq!(
        resp.header("location"),
        Some("http://127.0.0.1:9/elsewhere")
    );
    assert_eq!(resp.json(), json!({"error": "injected redirect"}));

    for status in [301, 303, 307, 308] {
        sim.set_faults(Faults {
            answer: Answer::Redirect {
                location: "/other".to_owned(),
                status,
            },
            ..Faults::default()
        })
        .expect("valid faults");
        let resp = conn.post_outcome("1");
        assert_eq!(
            (resp.status, resp.header("location")),
            (status, Some("/other"))
        );
    }
    assert_eq!(sim.request_count(), 5);
    assert_eq!(sim.accepted_count(), 0);
    // The connection stays usable.
    sim.set_faults(Faults::default()).expect("valid faults");
    assert_eq!(conn.post_outcome("1").status, 200);
}

#[test]
fn each_answer_variant_is_a_valid_result_but_for_one_thing() {
    let sim = start();
    let mut conn = Conn::open(&sim);
    let result = |subtopic: &str, callid: &str, response: serde_json::Value| {
        json!({"channel":"LCM","topic":"WebService","subtopic":subtopic,
               "message":{"callid":callid,"response":response}})
    };
    let ok = "SetCallOutcomeWithCommentsResult";
    for variant in AnswerVariant::ALL {
        sim.set_faults(Faults {
            answer: Answer::Variant(variant),
            ..Faults::default()
        })
        .expect("valid faults");
        let want = match variant {
            AnswerVariant::WrongSubtopic => {
                result("SetCallOutcomeResult", "v-1", json!({"success": true}))
            }
            AnswerVariant::OtherCallId => result(ok, "v-1-other", json!({"success": true})),
            AnswerVariant::SuccessMissing => result(ok, "v-1", json!({})),
            AnswerVariant::SuccessNotBoolean => result(ok, "v-1", json!({"success": "true"})),
            AnswerVariant::Rejected => ws_error_body("v-1", "Invalid Call ID:v-1"),
            AnswerVariant::RejectedWithoutError => result(ok, "v-1", json!({"success": false})),
        };
        let resp = conn.post_outcome("v-1");
        assert_eq!(resp.status, 200, "{variant}");
        assert_eq!(resp.header("content-type"), Some("application/json"));
        assert_eq!(resp.json(), want, "{variant}");
    }
    assert_eq!(sim.request_count(), AnswerVariant::ALL.len());
    assert_eq!(sim.accepted_count(), 0, "no variant records the outcome");

    // An unreadable request still gets the variant, echoing an empty call id.
    sim.set_faults(Faults {
        answer: Answer::Variant(AnswerVariant::SuccessMissing),
        ..Faults::default()
    })
    .expect("valid faults");
    let resp = conn.post("not json");
    assert_eq!(resp.json(), result(ok, "", json!({})));
}

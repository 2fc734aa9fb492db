//! `SimConfig::path` (`--path`): one path served, a 404 naming it everywhere else, and
//! faults only where LCM is.

mod common;

use std::io::ErrorKind;

use common::*;
use lcm_sim::{Answer, Faults, Sim, SimConfig};

/// A POST of the sample envelope for call `callid` to `target` (path and query).
fn post_to(target: &str, callid: &str) -> Vec<u8> {
    let body = envelope(callid).to_string();
    format!(
        "POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn serving(path: &str, faults: Faults) -> Sim {
    Sim::start(SimConfig {
        path: Some(path.to_owned()),
        faults,
        ..SimConfig::default()
    })
    .expect("start")
}

#[track_caller]
fn assert_hint(resp: &Resp, served: &str) {
    assert_eq!(resp.status, 404);
    let error = resp.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains(&format!(
            "lcm-sim serves {served}; point the endpoint there"
        )),
        "{error}"
    );
}

#[test]
fn only_the_path_is_served_and_elsewhere_is_a_404_naming_it() {
    let sim = serving("/api/SetCallOutcome", Faults::default());
    assert!(sim.url().ends_with("/api/SetCallOutcome"), "{}", sim.url());
    let mut conn = Conn::open(&sim);
    for elsewhere in ["/lcm", "/", "/api/SetCallOutcome/", "/API/SetCallOutcome"] {
        conn.send(&post_to(elsewhere, "1"));
        assert_hint(&conn.response(), "/api/SetCallOutcome");
    }
    // Any method, even one LCM would answer 405: the path comes first.
    conn.send(b"GET /lcm HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_hint(&conn.response(), "/api/SetCallOutcome");
    assert_eq!(sim.accepted_count(), 0);

    conn.send(&post_to("/api/SetCallOutcome", "12345"));
    assert_eq!(conn.response().json(), success_body("12345"));
    conn.send(&post_to("/api/SetCallOutcome?session=7", "12346"));
    assert_eq!(conn.response().json(), success_body("12346"));
    assert_eq!(sim.accepted_count(), 2);
    assert_eq!(sim.request_count(), 7, "the 404s were requests too");
}

#[test]
fn faults_apply_on_the_path_only_and_are_not_spent_elsewhere() {
    let sim = serving("/lcm", Faults::answering(Answer::fail_times(503, 1)));
    let mut conn = Conn::open(&sim);
    conn.send(&post_to("/other", "1"));
    assert_hint(&conn.response(), "/lcm");
    conn.send(&post_to("/lcm", "1"));
    assert_eq!(conn.response().status, 503, "the one 503 is still to come");
    conn.send(&post_to("/lcm", "1"));
    assert_eq!(conn.response().json(), success_body("1"));

    let hung = serving("/lcm", Faults::answering(Answer::Hang));
    let mut conn = Conn::open(&hung);
    conn.send(&post_to("/elsewhere", "1"));
    assert_hint(&conn.response(), "/lcm");
}

#[test]
fn a_path_that_is_no_request_path_is_refused() {
    for bad in ["lcm", "", "/a b", "/lcm?x=1", "/lcm#top", "/a\u{7}"] {
        let err = Sim::start(SimConfig {
            path: Some(bad.to_owned()),
            ..SimConfig::default()
        })
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        assert!(err.to_string().contains("--path"), "{bad:?}: {err}");
    }
}

#[test]
fn the_binary_announces_the_path_and_serves_only_it() {
    let sim = SimProcess::spawn(&["--path".as_ref(), "/svc/lcm".as_ref()]);
    assert!(sim.url.ends_with("/svc/lcm"), "{}", sim.url);
    let mut conn = Conn::connect(sim.authority());
    conn.send(&post_to("/lcm", "1"));
    assert_hint(&conn.response(), "/svc/lcm");
    conn.send(&post_to("/svc/lcm", "1"));
    assert_eq!(conn.response().json(), success_body("1"));
}

//! Every status code of the C API, reached through the C ABI functions against a
//! live lcm-sim. The server and network faults behind `LCM_ERR_CONNECT`,
//! `LCM_ERR_TIMEOUT`, `LCM_ERR_HTTP_STATUS` and `LCM_ERR_BAD_RESPONSE` are each a
//! row of the fault matrix in `tests/faults.rs`; this file covers the rest. (`LCM_ERR_INTERNAL` needs a panic, which no input can cause; the
//! panic boundary is tested in `src/ffi/boundary.rs` through an `extern "C"`
//! function built the same way as the exported ones.)

mod common;

use std::collections::HashSet;

use common::*;
use lcm_outcome::ffi::*;
use lcm_sim::Answer;

#[test]
fn ok_when_lcm_confirms() {
    let sim = sim();
    let client = Client::for_endpoint(&sim.url());
    assert_status(&client.send(&Call::sample()), LCM_OK, &[]);
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["callid"], "12345");
}

#[test]
fn invalid_argument_for_a_null_string() {
    let sim = sim();
    let client = Client::for_endpoint(&sim.url());
    let call = Call {
        user_id: None,
        ..Call::sample()
    };
    assert_status(
        &client.send(&call),
        LCM_ERR_INVALID_ARGUMENT,
        &["user_id is NULL"],
    );
    assert_eq!(sim.request_count(), 0);
}

#[test]
fn invalid_argument_for_a_null_client() {
    let result = Call::sample().send(std::ptr::null_mut());
    assert_status(&result, LCM_ERR_INVALID_ARGUMENT, &["client is NULL"]);
}

#[test]
fn config_without_an_endpoint() {
    let client = Client::new();
    assert_status(
        &client.send(&Call::sample()),
        LCM_ERR_CONFIG,
        &["endpoint is not set"],
    );
}

#[test]
fn config_for_unknown_options_and_bad_values() {
    let client = Client::new();
    assert_status(
        &client.configure("timeout", "5"),
        LCM_ERR_CONFIG,
        &["unknown option 'timeout'", "timeout_ms"],
    );
    assert_status(
        &client.configure("retries", "-1"),
        LCM_ERR_CONFIG,
        &["retries '-1'"],
    );
    assert_status(
        &client.configure("endpoint", "lcm:8080"),
        LCM_ERR_CONFIG,
        &["endpoint"],
    );
    assert_status(&client.configure("log_level", "debug"), LCM_OK, &[]);
}

#[test]
fn http_status_for_a_client_error_is_final() {
    // As an LCM that refuses the auth token would answer.
    let sim = sim_with(Faults {
        answer: Answer::fail(401),
        ..Faults::default()
    });
    let client = Client::for_endpoint(&sim.url());
    assert_status(
        &client.send(&Call::sample()),
        LCM_ERR_HTTP_STATUS,
        &["HTTP 401 Unauthorized"],
    );
    assert_eq!(sim.request_count(), 1, "4xx other than 429 is not retried");
}

#[test]
fn rejected_for_an_unknown_call_id() {
    let calls: HashSet<String> = ["known-1".to_string()].into();
    let sim = Sim::start(SimConfig {
        calls: Some(calls),
        ..SimConfig::default()
    })
    .unwrap();
    let client = Client::for_endpoint(&sim.url());
    assert_status(
        &client.send(&Call::with_id("unknown-9")),
        LCM_ERR_REJECTED,
        &["WS_Error", "Invalid Call ID.", "Invalid Call ID:unknown-9"],
    );
    assert_status(&client.send(&Call::with_id("known-1")), LCM_OK, &[]);
    assert_eq!(sim.accepted().len(), 1);
}

#[test]
fn status_names_cover_every_code() {
    let expected = [
        (LCM_OK, "LCM_OK"),
        (LCM_ERR_INVALID_ARGUMENT, "LCM_ERR_INVALID_ARGUMENT"),
        (LCM_ERR_CONFIG, "LCM_ERR_CONFIG"),
        (LCM_ERR_CONNECT, "LCM_ERR_CONNECT"),
        (LCM_ERR_TIMEOUT, "LCM_ERR_TIMEOUT"),
        (LCM_ERR_HTTP_STATUS, "LCM_ERR_HTTP_STATUS"),
        (LCM_ERR_BAD_RESPONSE, "LCM_ERR_BAD_RESPONSE"),
        (LCM_ERR_REJECTED, "LCM_ERR_REJECTED"),
        (LCM_ERR_INTERNAL, "LCM_ERR_INTERNAL"),
        (LCM_QUEUED, "LCM_QUEUED"),
        (10, "LCM_UNKNOWN_STATUS"),
        (-1, "LCM_UNKNOWN_STATUS"),
        (i32::MAX, "LCM_UNKNOWN_STATUS"),
    ];
    for (code, text) in expected {
        assert_eq!(name(code), text);
    }
}

#[test]
fn bad_response_for_an_answer_over_64_kib_even_if_valid() {
    // Valid JSON padded with spaces: only the cap stands between it and LCM_OK.
    let sim = sim_with(Faults {
        pad_body_to: Some(10 * 1024 * 1024),
        ..Faults::default()
    });
    let client = Client::for_endpoint(&sim.url());
    assert_status(
        &client.send(&Call::sample()),
        LCM_ERR_BAD_RESPONSE,
        &["is larger than 65536 bytes"],
    );
    sim.set_faults(Faults {
        pad_body_to: Some(64 * 1024),
        ..Faults::default()
    })
    .expect("valid faults");
    assert_status(&client.send(&Call::sample()), LCM_OK, &[]);
}

#[test]
fn connect_when_tls_fails() {
    // An https:// endpoint on a plain-HTTP port: the handshake fails before a byte
    // of the request is sent, and retrying would not help.
    let sim = sim();
    let endpoint = sim.url().replacen("http://", "https://", 1);
    let client = Client::for_endpoint(&endpoint);
    assert_status(
        &client.send(&Call::sample()),
        LCM_ERR_CONNECT,
        &["TLS with https://127.0.0.1:", "the outcome was not sent"],
    );
    assert_eq!(sim.request_count(), 0);
}

#[test]
fn connect_through_a_dead_proxy_names_the_proxy() {
    let sim = sim();
    let client = Client::for_endpoint(&sim.url());
    let dead = refused_endpoint();
    let proxy_port = dead
        .trim_end_matches("/lcm")
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    client.set("proxy", &format!("http://127.0.0.1:{proxy_port}"));
    client.set("retries", "0");
    assert_status(
        &client.send(&Call::sample()),
        LCM_ERR_CONNECT,
        &[
            &format!("through proxy 127.0.0.1:{proxy_port}"),
            "the outcome was not sent",
        ],
    );
    assert_eq!(sim.request_count(), 0);
}

#[test]
fn freeing_null_is_a_no_op() {
    unsafe { lcm_client_free(std::ptr::null_mut()) };
}

//! Bad arguments: each gives `LCM_ERR_INVALID_ARGUMENT` naming the field, and
//! nothing reaches the server.

mod common;

use common::*;
use lcm_outcome::ffi::*;

fn assert_refused(sim: &Sim, client: &Client, call: Call, words: &[&str]) {
    assert_status(&client.send(&call), LCM_ERR_INVALID_ARGUMENT, words);
    assert_eq!(sim.request_count(), 0, "nothing may be sent for {words:?}");
}

type Field = fn(&mut Call) -> &mut Option<Vec<u8>>;

const STRING_FIELDS: [(&str, Field); 5] = [
    ("call_id", |c| &mut c.call_id),
    ("account_number", |c| &mut c.account_number),
    ("outcome_id", |c| &mut c.outcome_id),
    ("user_id", |c| &mut c.user_id),
    ("agent_comments", |c| &mut c.agent_comments),
];

#[test]
fn null_strings_are_refused_by_name() {
    let sim = sim();
    let client = Client::for_endpoint(&sim.url());
    for (name, field) in STRING_FIELDS {
        let mut call = Call::sample();
        *field(&mut call) = None;
        assert_refused(&sim, &client, call, &[&format!("{name} is NULL")]);
    }
}

#[test]
fn empty_mandatory_strings_are_refused_by_name() {
    let sim = sim();
    let client = Client::for_endpoint(&sim.url());
    for (name, field) in STRING_FIELDS {
        let mut call = Call::sample();
        *field(&mut call) = Some(Vec::new());
        if name == "agent_comments" {
            assert_status(&client.send(&call), LCM_OK, &[]);
        } else {
            assert_refused(&sim, &client, call, &[&format!("{name} is empty")]);
        }
    }
    assert_eq!(
        sim.request_count(),
        1,
        "only the empty-comment call was sent"
    );
}

#[test]
fn invalid_utf8_is_refused_by_name() {
    let sim = sim();
    let client = Client::for_endpoint(&sim.url());
    for (name, field) in STRING_FIELDS {
        for bad in [
            &b"\xff"[..],
            b"ok\xc3",
            b"\xed\xa0\x80 surrogate",
            b"caf\xe9",
        ] {
            let mut call = Call::sample();
            *field(&mut call) = Some(bad.to_vec());
            assert_refused(
                &sim,
                &client,
                call,
                &[&format!("{name} is not valid UTF-8")],
            );
        }
    }
}

#[test]
fn strings_over_64_kib_are_refused_by_name() {
    let sim = sim();
    let client = Client::for_endpoint(&sim.url());
    let mut call = Call::sample();
    call.agent_comments = Some(vec![b'x'; 64 * 1024 + 1]);
    assert_refused(
        &sim,
        &client,
        call,
        &["agent_comments is longer than 65536 bytes"],
    );
    let mut call = Call::sample();
    call.agent_comments = Some(vec![b'x'; 64 * 1024]);
    assert_status(&client.send(&call), LCM_OK, &[]);
}

#[test]
fn nan_and_infinities_are_refused_by_name() {
    let sim = sim();
    let client = Client::for_endpoint(&sim.url());
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let call = Call {
            lead_score: bad,
            ..Call::sample()
        };
        assert_refused(
            &sim,
            &client,
            call,
            &["lead_score is", "must be a finite number"],
        );
        let call = Call {
            target_amount: bad,
            ..Call::sample()
        };
        assert_refused(
            &sim,
            &client,
            call,
            &["target_amount is", "must be a finite number"],
        );
    }
}

/// `lcm_client_configure` with raw pointers, as C could call it.
fn configure_raw(
    client: *mut lcm_client,
    key: *const std::ffi::c_char,
    value: *const std::ffi::c_char,
) -> (lcm_status, String) {
    let mut err = [0; LCM_ERROR_SIZE];
    let status = unsafe { lcm_client_configure(client, key, value, err.as_mut_ptr(), err.len()) };
    (status, buffer_text(&err))
}

#[test]
fn configure_refuses_null_and_invalid_utf8() {
    let client = Client::new();
    let null = std::ptr::null();
    let cases = [
        (client.0, null, c"x".as_ptr(), "key is NULL"),
        (client.0, c"source".as_ptr(), null, "value is NULL"),
        (
            client.0,
            c"source".as_ptr(),
            c"\xff".as_ptr(),
            "value is not valid UTF-8",
        ),
        (
            client.0,
            c"\xffkey".as_ptr(),
            c"x".as_ptr(),
            "key is not valid UTF-8",
        ),
        (
            std::ptr::null_mut(),
            c"source".as_ptr(),
            c"x".as_ptr(),
            "client is NULL",
        ),
    ];
    for (c, key, value, expected) in cases {
        assert_status(
            &configure_raw(c, key, value),
            LCM_ERR_INVALID_ARGUMENT,
            &[expected],
        );
    }
}

//! The error buffer convention: NULL or length 0 writes nothing; otherwise the
//! buffer is always NUL-terminated, never written past its length, cut at a UTF-8
//! boundary, and `""` after success.

mod common;

use std::ffi::c_char;

use common::*;
use lcm_outcome::ffi::*;
use lcm_sim::Answer;

const CANARY: c_char = 0x55;

/// Sends `call` with a buffer of `len` bytes inside a larger canary-filled one, and
/// returns the status, the text and whether anything past `len` was touched.
fn send_into(client: &Client, call: &Call, len: usize) -> (lcm_status, Vec<u8>, bool) {
    let mut backing = vec![CANARY; len + 64];
    let status = unsafe { call.send_raw(client.0, backing.as_mut_ptr(), len) };
    let overrun = backing[len..].iter().any(|&b| b != CANARY);
    let written: Vec<u8> = backing[..len].iter().map(|&b| b as u8).collect();
    (status, written, overrun)
}

fn failing_call() -> Call {
    // Its message is known: "user_id is NULL" (15 bytes).
    Call {
        user_id: None,
        ..Call::sample()
    }
}

#[test]
fn null_buffer_and_zero_length_write_nothing() {
    let client = Client::new();
    let status = unsafe { failing_call().send_raw(client.0, std::ptr::null_mut(), 0) };
    assert_eq!(status, LCM_ERR_INVALID_ARGUMENT);
    let status = unsafe { failing_call().send_raw(client.0, std::ptr::null_mut(), LCM_ERROR_SIZE) };
    assert_eq!(
        status, LCM_ERR_INVALID_ARGUMENT,
        "NULL with a length is still NULL"
    );
    let (status, written, overrun) = send_into(&client, &failing_call(), 0);
    assert_eq!(status, LCM_ERR_INVALID_ARGUMENT);
    assert!(written.is_empty() && !overrun);
}

#[test]
fn every_length_is_terminated_and_never_overrun() {
    let client = Client::new();
    let full = "user_id is NULL";
    for len in [1, 2, 8, 15, 16, LCM_ERROR_SIZE] {
        let (status, written, overrun) = send_into(&client, &failing_call(), len);
        assert_eq!(status, LCM_ERR_INVALID_ARGUMENT);
        assert!(!overrun, "wrote past {len} bytes");
        let nul = written
            .iter()
            .position(|&b| b == 0)
            .expect("NUL-terminated");
        let text = std::str::from_utf8(&written[..nul]).unwrap();
        assert_eq!(text, &full[..full.len().min(len - 1)], "len {len}");
    }
}

#[test]
fn multibyte_messages_are_cut_at_a_character_boundary() {
    // The message quotes the unknown option's name: "unknown option 'ééé…'".
    let client = Client::new();
    let key = std::ffi::CString::new("é".repeat(30)).unwrap();
    for len in 17..40 {
        let mut backing = vec![CANARY; len + 16];
        let status = unsafe {
            lcm_client_configure(
                client.0,
                key.as_ptr(),
                c"1".as_ptr(),
                backing.as_mut_ptr(),
                len,
            )
        };
        assert_eq!(status, LCM_ERR_CONFIG);
        assert!(
            backing[len..].iter().all(|&b| b == CANARY),
            "overrun at {len}"
        );
        // buffer_text panics unless the text is NUL-terminated, valid UTF-8.
        let text = buffer_text(&backing[..len]);
        assert!(
            text.len() < len && text.starts_with("unknown option '"),
            "{text:?}"
        );
    }
}

#[test]
fn buffer_holds_empty_string_after_success() {
    let sim = sim();
    let client = Client::for_endpoint(&sim.url());
    for len in [1, 8, LCM_ERROR_SIZE] {
        let (status, written, overrun) = send_into(&client, &Call::sample(), len);
        assert_eq!(status, LCM_OK);
        assert!(!overrun);
        assert_eq!(written[0], 0, "\"\" after success (len {len})");
    }
}

#[test]
fn longest_messages_fit_lcm_error_size_whole() {
    // The longest texts we build: an endpoint with a long path and a quoted server
    // body. Each part is bounded, so the message ends intact, not cut at 511 bytes.
    let sim = sim_with(Faults {
        answer: Answer::fail(502),
        ..Faults::default()
    });
    let client = Client::for_endpoint(&format!("{}/{}", sim.url(), "p".repeat(5000)));
    let (status, message) = client.send(&Call::sample());
    assert_eq!(status, LCM_ERR_HTTP_STATUS);
    assert!(message.len() < LCM_ERROR_SIZE, "{}", message.len());
    assert!(
        message.ends_with("body: '{\"error\":\"injected fault\"}'"),
        "{message}"
    );
    let (status, message) = client.configure(&"k".repeat(10_000), "v");
    assert_eq!(status, LCM_ERR_CONFIG);
    assert!(message.len() < LCM_ERROR_SIZE);
    assert!(
        message.ends_with("log_level, outbox, outbox_mode, outbox_retry_ms, outbox_max_age_s"),
        "{message}"
    );
}

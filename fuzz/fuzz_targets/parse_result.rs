//! Fuzzes the reading of LCM's answer (`message::parse_result`) with any body and any
//! call id.
//!
//! Input: the call id up to the first `\n` (invalid UTF-8 replaced), then the body.
//! Without a `\n` the whole input is the body and the call id is the vendor
//! sample's `12345`. The seeds in `corpus/parse_result/` are readable that way.
//!
//! Beyond "no panic, no hang": every error must fit the C error buffer contract, a
//! bad response must say that it is one, and every success or rejection must be one that a plain JSON reading of the body
//! confirms, so that the parser cannot drift into accepting what is not a result
//! envelope for this call. The oracle is the one the property tests use.
#![no_main]

#[path = "../../tests/oracle/parse_result.rs"]
mod oracle;

use libfuzzer_sys::fuzz_target;

use oracle::misjudgement;

fuzz_target!(|data: &[u8]| {
    let (call_id, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (
            String::from_utf8_lossy(&data[..i]).into_owned(),
            &data[i + 1..],
        ),
        None => ("12345".to_string(), data),
    };
    if let Some(wrong) = misjudgement(body, &call_id) {
        panic!("{wrong}");
    }
});

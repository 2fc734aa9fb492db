//! The process-wide default client: `LCM_<KEY>` environment variables read once at
//! first use, explicit `lcm_configure` winning over them. One test in this file on
//! purpose: the default client and the environment are per process.

mod common;

use std::ffi::{c_char, CString};

use common::*;
use lcm_outcome::ffi::*;

fn configure(key: &str, value: &str) -> (lcm_status, String) {
    let (k, v) = (CString::new(key).unwrap(), CString::new(value).unwrap());
    let mut err = [0 as c_char; LCM_ERROR_SIZE];
    let status = unsafe { lcm_configure(k.as_ptr(), v.as_ptr(), err.as_mut_ptr(), err.len()) };
    (status, buffer_text(&err))
}

#[test]
fn environment_first_then_explicit_configuration_wins() {
    let env_sim = sim();
    let explicit_sim = sim();
    // Set before the default client's first use, as an operator would.
    std::env::set_var("LCM_ENDPOINT", env_sim.url());
    std::env::set_var("LCM_SOURCE", "from-env");
    std::env::set_var("LCM_AUTH", "Bearer env-secret");
    std::env::set_var("LCM_RETRIES", "0");
    std::env::set_var("LCM_PROXY", "none");

    assert_status(&Call::sample().send_default(), LCM_OK, &[]);
    let request = env_sim.requests().pop().unwrap();
    assert_eq!(request.json().unwrap()["source"], "from-env");
    assert_eq!(request.header("authorization"), Some("Bearer env-secret"));

    // Read once: later changes to the environment do not matter...
    std::env::set_var("LCM_SOURCE", "changed-later");
    assert_status(&Call::with_id("2").send_default(), LCM_OK, &[]);
    assert_eq!(
        env_sim.requests().pop().unwrap().json().unwrap()["source"],
        "from-env"
    );

    // ...explicit configuration does.
    assert_status(&configure("endpoint", &explicit_sim.url()), LCM_OK, &[]);
    assert_status(&configure("source", "explicit"), LCM_OK, &[]);
    assert_status(&Call::with_id("3").send_default(), LCM_OK, &[]);
    assert_eq!(
        explicit_sim.requests()[0].json().unwrap()["source"],
        "explicit"
    );
    assert_eq!(env_sim.request_count(), 2);

    // Bad values are refused by name, and the setting stays as it was.
    assert_status(
        &configure("timeout_ms", "ten"),
        LCM_ERR_CONFIG,
        &["timeout_ms 'ten'"],
    );
    assert_status(
        &configure("nope", "1"),
        LCM_ERR_CONFIG,
        &["unknown option 'nope'"],
    );
    assert_status(&Call::with_id("4").send_default(), LCM_OK, &[]);
}

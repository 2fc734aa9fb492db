//! What every quickstart example (`examples/`: C, C++, Python, .NET) promises, checked
//! the same way for each language: it records the vendor's sample call at the
//! endpoint from its first argument or else from `LCM_ENDPOINT`, says so on stdout,
//! and reports a failure as `STATUS_NAME: message` on stderr with exit status 1.

use std::process::Command;

use super::{assert_failed, assert_success, refused_endpoint, run_to_end, sim};

/// Runs the example that `example` makes a command of against a fresh sim, first
/// with the endpoint as its argument, then from the environment only, and checks
/// that each run records the sample.
#[track_caller]
pub fn check_example_records_the_sample(example: impl Fn() -> Command) {
    let expected = format!(
        "LCM_OK: LCM recorded the outcome of call 12345 (lcm-outcome {})\n",
        env!("CARGO_PKG_VERSION")
    );
    let sim = sim();
    let stdout = assert_success(&run_to_end(example().arg(sim.url())), "the example");
    assert_eq!(stdout, expected);
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["callid"], "12345");
    assert_eq!(accepted[0]["AccountNumber"], "5|3|1|0|0|44|1");
    assert_eq!(accepted[0]["OutcomeId"], 1);
    assert_eq!(accepted[0]["UserID"], "testagent");
    assert_eq!(accepted[0]["AgentComments"], "Test comment");

    let stdout = assert_success(
        &run_to_end(example().env("LCM_ENDPOINT", sim.url())),
        "the example with LCM_ENDPOINT",
    );
    assert_eq!(stdout, expected);
    assert_eq!(sim.accepted().len(), 2);
}

/// Runs the example against an endpoint where nothing listens, without retries
/// (`LCM_RETRIES=0`, which the default client reads), and checks that it reports the
/// connection failure.
#[track_caller]
pub fn check_example_reports_a_refused_connection(example: impl Fn() -> Command) {
    let output = run_to_end(example().arg(refused_endpoint()).env("LCM_RETRIES", "0"));
    assert_failed(
        &output,
        "LCM_ERR_CONNECT: cannot connect to http://127.0.0.1:",
        &[],
    );
}

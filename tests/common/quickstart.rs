//! What every quickstart example (`examples/`: C, C++, Python, .NET) promises, checked
//! the same way for each language: it records the vendor's sample call at the
//! endpoint from its first argument or else from `LCM_ENDPOINT`, says so on stdout,
//! and reports a failure as `STATUS_NAME: message` on stderr with exit status 1. The
//! C, Python and .NET examples also report an outcome queued in the outbox
//! (`LCM_OUTBOX`) as a success.

use std::ffi::c_char;
use std::path::Path;
use std::process::Command;

use lcm_outcome::ffi::{lcm_client_outbox_flush, LCM_ERROR_SIZE, LCM_OK};

use super::{
    assert_failed, assert_success, buffer_text, name, refused_endpoint, run_to_end, sim, Client,
    WorkDir,
};

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

/// Runs the example against an endpoint where nothing listens with an outbox
/// (`LCM_OUTBOX`, no background sender, no retries), and checks that it reports the
/// outcome as queued, with exit status 0; then that the entry really is in the file,
/// by flushing it to a live sim: recorded once.
#[track_caller]
pub fn check_example_reports_a_queued_outcome(example: impl Fn() -> Command) {
    let work = WorkDir::new("example_outbox");
    let outbox = work.path().join("outbox.db");
    let output = run_to_end(
        example()
            .arg(refused_endpoint())
            .env("LCM_RETRIES", "0")
            .env("LCM_OUTBOX", &outbox)
            .env("LCM_OUTBOX_RETRY_MS", "0"),
    );
    let stdout = assert_success(&output, "the example with an outbox while LCM is down");
    assert_eq!(
        stdout,
        "LCM_QUEUED: call 12345 queued as entry 1, will be delivered later\n"
    );

    let sim = sim();
    assert_eq!(flush(&outbox, &sim.url()), (1, 0), "delivered, pending");
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["callid"], "12345");
    assert_eq!(accepted[0]["AgentComments"], "Test comment");
}

/// Flushes the outbox file `outbox` to `endpoint` with a client of this test:
/// `(delivered, pending)`.
fn flush(outbox: &Path, endpoint: &str) -> (usize, usize) {
    let client = Client::for_endpoint(endpoint);
    // Before `outbox`: a file with a backlog starts the background sender with the
    // settings then in force, and its lease would keep this flush from the entry.
    client.set("outbox_retry_ms", "0");
    client.set("outbox", outbox.to_str().expect("a UTF-8 path"));
    let (mut delivered, mut pending) = (0usize, 0usize);
    let mut err = [0 as c_char; LCM_ERROR_SIZE];
    // SAFETY: a live client, writable counts and a buffer of err.len() bytes.
    let status = unsafe {
        lcm_client_outbox_flush(
            client.0,
            10_000,
            &mut delivered,
            &mut pending,
            std::ptr::null_mut(),
            err.as_mut_ptr(),
            err.len(),
        )
    };
    assert_eq!(name(status), name(LCM_OK), "{}", buffer_text(&err));
    (delivered, pending)
}

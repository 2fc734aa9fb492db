//! The C++ example, `examples/cpp/set_outcome.cpp` (a RAII wrapper over the C API),
//! compiled as strict C++17 against the committed header and this build's cdylib, and
//! run against lcm-sim.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Output;

use common::*;

/// The example, compiled under a name of the calling test's own: tests run in
/// parallel and each removes its executable.
fn example_exe(test: &str) -> PathBuf {
    build_c_program(
        "examples/cpp/set_outcome.cpp",
        &format!("cpp_set_outcome_{test}"),
    )
}

/// Asserts that the example failed with exit status 1 and that its error line
/// starts with `prefix` (the status name first) and contains `words`.
#[track_caller]
fn assert_failed(output: &Output, prefix: &str, words: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(output.stdout, b"", "nothing on stdout after a failure");
    assert!(stderr.starts_with(prefix), "{stderr}");
    for word in words {
        assert!(stderr.contains(word), "{stderr:?} lacks {word:?}");
    }
}

#[test]
fn cpp_example_records_an_outcome() {
    let sim = sim();
    let exe = example_exe("records");
    let output = clean_command(&exe).arg(sim.url()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = format!(
        "LCM_OK: LCM recorded the outcome of call 12345 (lcm-outcome {})\n",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(stdout, expected);
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["callid"], "12345");
    assert_eq!(accepted[0]["AccountNumber"], "5|3|1|0|0|44|1");
    assert_eq!(accepted[0]["OutcomeId"], 1);
    assert_eq!(accepted[0]["UserID"], "testagent");
    assert_eq!(accepted[0]["AgentComments"], "Test comment");

    // The same binary, pointed at the sim through the environment only.
    let output = clean_command(&exe)
        .env("LCM_ENDPOINT", sim.url())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(sim.accepted().len(), 2);
    let _ = std::fs::remove_file(exe);
}

#[test]
fn cpp_example_reports_failures_with_status_name_and_text() {
    let exe = example_exe("failures");

    let failing = sim_with(Faults {
        fail_status: Some(500),
        ..Faults::default()
    });
    let output = clean_command(&exe).arg(failing.url()).output().unwrap();
    assert_failed(&output, "LCM_ERR_HTTP_STATUS: ", &["500", "injected fault"]);
    assert!(failing.accepted().is_empty());

    let strict = Sim::start(SimConfig {
        calls: Some(HashSet::from(["67890".to_owned()])),
        ..SimConfig::default()
    })
    .expect("start lcm-sim");
    let output = clean_command(&exe).arg(strict.url()).output().unwrap();
    assert_failed(
        &output,
        "LCM_ERR_REJECTED: ",
        &["WS_Error", "Invalid Call ID", "12345"],
    );
    assert!(strict.accepted().is_empty());

    let output = clean_command(&exe).output().unwrap();
    assert_failed(&output, "LCM_ERR_CONFIG: endpoint is not set", &[]);
    let _ = std::fs::remove_file(exe);
}

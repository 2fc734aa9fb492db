//! The C++ example, `examples/cpp/set_outcome.cpp` (a RAII wrapper over the C API),
//! compiled as strict C++17 against the committed header and this build's cdylib, and
//! run against lcm-sim.

mod common;

use std::collections::HashSet;

use common::*;
use lcm_sim::Answer;

/// The example, compiled under a name of the calling test's own: tests run in
/// parallel and each removes its executable.
fn example(test: &str) -> NativeProgram {
    NativeProgram::build(
        "examples/cpp/set_outcome.cpp",
        &format!("cpp_set_outcome_{test}"),
    )
}

#[test]
fn cpp_example_records_an_outcome() {
    let example = example("records");
    check_example_records_the_sample(|| example.command());
}

#[test]
fn cpp_example_reports_failures_with_status_name_and_text() {
    let example = example("failures");

    let failing = sim_with(Faults {
        answer: Answer::fail(500),
        ..Faults::default()
    });
    let output = run_to_end(example.command().arg(failing.url()));
    assert_failed(&output, "LCM_ERR_HTTP_STATUS: ", &["500", "injected fault"]);
    assert!(failing.accepted().is_empty());

    let strict = Sim::start(SimConfig {
        calls: Some(HashSet::from(["67890".to_owned()])),
        ..SimConfig::default()
    })
    .expect("start lcm-sim");
    let output = run_to_end(example.command().arg(strict.url()));
    assert_failed(
        &output,
        "LCM_ERR_REJECTED: ",
        &["WS_Error", "Invalid Call ID", "12345"],
    );
    assert!(strict.accepted().is_empty());

    let output = run_to_end(&mut example.command());
    assert_failed(&output, "LCM_ERR_CONFIG: endpoint is not set", &[]);
}

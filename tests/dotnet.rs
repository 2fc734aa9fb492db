//! The .NET binding, `bindings/dotnet/LcmOutcome.cs`, compiled by Mono's `mcs` and run
//! by `mono` against this build's cdylib: its own test program (which starts lcm-sim
//! processes itself, as an integrator would) and the quickstart example.
//!
//! Needs `mcs` and `mono` (Debian: `mono-mcs mono-runtime`). Without them the tests
//! fail under CI and are skipped, with a message, elsewhere.

mod common;

use std::path::PathBuf;

use common::*;

#[test]
fn dotnet_binding_tests_pass() {
    if !mono_available() {
        return;
    }
    let work = WorkDir::new("dotnet_binding");
    let tests_dir = repo_dir().join("bindings/dotnet/tests");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&tests_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "cs"))
        .collect();
    sources.sort();
    let exe = compile_cs(work.path(), "LcmOutcomeTests", &sources);

    let output = run_to_end(mono(&exe).env("LCM_SIM", sim_binary()));
    let stdout = assert_success(&output, "the .NET tests");

    // Every test the program registers must have run and passed.
    let registered = std::fs::read_to_string(tests_dir.join("LcmOutcomeTests.cs"))
        .unwrap()
        .matches("runner.Add(")
        .count();
    let summary = stdout.lines().last().unwrap_or_default();
    assert_eq!(
        summary,
        format!("dotnet: {registered} passed, 0 failed"),
        "{stdout}"
    );
    println!("{registered} .NET tests passed");
}

#[test]
fn dotnet_quickstart_records_an_outcome_and_reports_failures() {
    if !mono_available() {
        return;
    }
    let work = WorkDir::new("dotnet_quickstart");
    let exe = compile_cs(
        work.path(),
        "SetOutcome",
        &[repo_dir().join("examples/dotnet/SetOutcome.cs")],
    );
    check_example_records_the_sample(|| mono(&exe));
    check_example_reports_a_refused_connection(|| mono(&exe));
    check_example_reports_a_queued_outcome(|| mono(&exe));
}

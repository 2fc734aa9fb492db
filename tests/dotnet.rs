//! The .NET binding, `bindings/dotnet/LcmOutcome.cs`, compiled by Mono's `mcs` and run
//! by `mono` against this build's cdylib: its own test program (which starts lcm-sim
//! processes itself, as an integrator would) and the quickstart example.
//!
//! Needs `mcs` and `mono` (Debian: `mono-mcs mono-runtime`). Without them the tests
//! fail under CI and are skipped, with a message, elsewhere.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Whether `mcs` and `mono` can run. Under `CI=true` their absence is a failure.
fn mono_available() -> bool {
    let runs = |tool: &str| succeeds(Command::new(tool).arg("--version"));
    present_or_skip(
        runs("mcs") && runs("mono"),
        "mcs or mono not found",
        "install them with: apt-get install --no-install-recommends mono-mcs mono-runtime",
    )
}

/// Compiles the wrapper plus `sources` into `dir/name.exe`, every warning an error;
/// with `-doc`, that includes a public member of the wrapper without XML docs.
fn compile_cs(dir: &Path, name: &str, sources: &[PathBuf]) -> PathBuf {
    let exe = dir.join(format!("{name}.exe"));
    let doc = exe.with_extension("xml");
    let output = Command::new("mcs")
        .args(["-warn:4", "-warnaserror", "-debug"])
        .arg(format!("-doc:{}", doc.display()))
        .arg(format!("-out:{}", exe.display()))
        .arg(repo_dir().join("bindings/dotnet/LcmOutcome.cs"))
        .args(sources)
        .output()
        .expect("run mcs");
    assert_success(&output, "mcs");
    exe
}

/// `mono exe` in a clean environment (no `LCM_*` variable of ours, no proxy), loading
/// this test build's `liblcm_outcome.so`.
///
/// The library is found through `LD_LIBRARY_PATH`, pointed at [`lib_dir`], which holds
/// exactly the cdylib this test was built with: no copy to go stale, no dllmap file
/// to keep beside the assembly. Mono looks beside the assembly first, but the work
/// directory is fresh, so nothing there can shadow it.
fn mono(exe: &Path) -> Command {
    let mut command = clean_command(Path::new("mono"));
    let mut paths = vec![lib_dir()];
    if let Some(inherited) = std::env::var_os("LD_LIBRARY_PATH") {
        paths.extend(std::env::split_paths(&inherited));
    }
    command
        .env("LD_LIBRARY_PATH", std::env::join_paths(paths).unwrap())
        .arg("--debug")
        .arg(exe);
    command
}

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
}

//! The C test programs under valgrind's memcheck: no invalid read or write, no use
//! of uninitialised memory, no definite leak, across every function of the API.
//!
//! Blocks that the process-wide default client still holds at exit (its pooled
//! connections and their buffers) are reported by valgrind as "possibly lost" or
//! "still reachable": they live as long as the process, by design, so only
//! definite leaks count as errors.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use lcm_sim::Answer;

/// `valgrind`, or `None` (after saying why) when it is missing outside CI.
fn valgrind() -> Option<&'static str> {
    let present = succeeds(Command::new("valgrind").arg("--version"));
    present_or_skip(
        present,
        "valgrind is not installed",
        "apt-get install valgrind",
    )
    .then_some("valgrind")
}

/// Runs `exe ENDPOINT` under memcheck and returns its stdout, failing the test on
/// any memcheck error or definite leak.
fn memcheck(valgrind: &str, exe: &Path, endpoint: &str) -> String {
    let output = clean_command(Path::new(valgrind))
        .args([
            "--quiet",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--error-exitcode=99",
            "--track-origins=yes",
        ])
        .arg(exe)
        .arg(endpoint)
        .output()
        .expect("run valgrind");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{} under valgrind (99 = memcheck errors):\n{stderr}",
        exe.display()
    );
    assert!(!stderr.contains("definitely lost: "), "{stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn api_tour_is_clean_under_memcheck() {
    let Some(valgrind) = valgrind() else { return };
    let sim = sim();
    let exe = NativeProgram::build("tests/c/api_tour.c", "api_tour_memcheck");
    let stdout = memcheck(valgrind, exe.path(), &sim.url());
    assert!(stdout.starts_with("api_tour: "), "{stdout}");
    // 1 + 4 threads x 5 + 1 + 1 successful calls reached the server.
    assert_eq!(sim.accepted().len(), 23);
}

#[test]
fn example_failure_paths_are_clean_under_memcheck() {
    let Some(valgrind) = valgrind() else { return };
    let exe = NativeProgram::build("examples/c/set_outcome.c", "set_outcome_memcheck");
    let sim = sim_with(Faults {
        answer: Answer::fail_times(503, 1),
        ..Faults::default()
    });
    // A retried 503, then success.
    let stdout = memcheck(valgrind, exe.path(), &sim.url());
    assert!(stdout.starts_with("LCM_OK"), "{stdout}");
    assert_eq!(sim.request_count(), 2);
}

//! C programs compiled by the system C compiler against the committed header,
//! linked to the cdylib, and run against lcm-sim: the example users copy, and a
//! pre-forking dialer.

mod common;

use std::time::Duration;

use common::*;
use lcm_sim::Answer;

/// The example, compiled under a name of the calling test's own: tests run in
/// parallel and each removes its executable.
fn example(test: &str) -> NativeProgram {
    NativeProgram::build("examples/c/set_outcome.c", &format!("set_outcome_{test}"))
}

#[test]
fn c_example_records_an_outcome() {
    let example = example("records");
    check_example_records_the_sample(|| example.command());
}

#[test]
fn c_example_reports_failure_with_status_name_and_text() {
    let example = example("failure");
    check_example_reports_a_refused_connection(|| example.command());
    let output = run_to_end(&mut example.command());
    assert_failed(&output, "LCM_ERR_CONFIG: endpoint is not set", &[]);
}

#[test]
fn c_example_reports_a_queued_outcome() {
    let example = example("queued");
    check_example_reports_a_queued_outcome(|| example.command());
}

#[test]
fn after_fork_parent_and_child_never_share_a_connection() {
    let sim = sim();
    let program = NativeProgram::build("tests/c/fork_safety.c", "fork_safety");
    assert_success(&run_to_end(program.command().arg(sim.url())), "fork_safety");
    // Which TCP connection each call came on, as the server saw it.
    let connection_of: std::collections::HashMap<String, usize> = sim
        .requests()
        .iter()
        .map(|r| {
            (
                r.json().unwrap()["data"]["callid"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                r.connection,
            )
        })
        .collect();
    let mut ids: Vec<&String> = connection_of.keys().collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "before-fork",
            "child-0",
            "child-1",
            "child-2",
            "child-3",
            "parent"
        ]
    );
    // The parent reuses its pooled connection after the child is done; no call of
    // the child's may have gone over it.
    let parents = connection_of["before-fork"];
    assert_eq!(
        connection_of["parent"], parents,
        "the parent keeps its pool"
    );
    for child in ["child-0", "child-1", "child-2", "child-3"] {
        assert_ne!(
            connection_of[child], parents,
            "{child} wrote into the parent's socket"
        );
    }
    assert_eq!(sim.accepted().len(), 6);
}

#[test]
fn header_compiles_and_links_as_cpp() {
    let program = NativeProgram::build("tests/c/header_in_cpp.cpp", "header_in_cpp");
    let stdout = assert_success(&run_to_end(&mut program.command()), "header_in_cpp");
    let expected = format!("{} LCM_OK\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(stdout, expected);
}

/// Runs the example against `sim` at log level `level`, with a secret token in
/// play, and returns the library's log lines (not the example's own output).
fn logged_at(level: &str, sim: &Sim, example: &NativeProgram) -> String {
    let output = run_to_end(
        example
            .command()
            .arg(sim.url())
            .env("LCM_LOG_LEVEL", level)
            .env("LCM_AUTH", "Bearer SECRET-TOKEN-42"),
    );
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.starts_with("lcm-outcome ["))
        .map(|line| format!("{line}\n"))
        .collect()
}

#[test]
fn logs_never_hold_the_auth_value_and_comments_only_at_trace() {
    let example = example("logs");
    // Success, and failures that are retried, logged at every level.
    let ok = sim();
    let failing = sim_with(Faults {
        answer: Answer::fail(503),
        ..Faults::default()
    });
    for level in ["off", "error", "warn", "info", "debug", "trace"] {
        for server in [&ok, &failing] {
            let log = logged_at(level, server, &example);
            assert!(
                !log.contains("SECRET-TOKEN-42"),
                "auth logged at {level}: {log}"
            );
            // The example's agent comment is "Test comment".
            assert_eq!(
                log.contains("Test comment"),
                level == "trace",
                "{level}: {log}"
            );
        }
    }
    assert_eq!(logged_at("off", &failing, &example), "");
    let warn = logged_at("warn", &failing, &example);
    assert!(
        warn.contains("[warn] attempt 1 of 3 for call 12345 failed"),
        "{warn}"
    );
    let trace = logged_at("trace", &ok, &example);
    assert!(trace.contains("[trace] request body: {"), "{trace}");
    assert!(trace.contains("[trace] answer: HTTP 200 {"), "{trace}");
}

#[test]
fn api_tour_uses_every_function_and_the_log_callback() {
    let sim = sim();
    let program = NativeProgram::build("tests/c/api_tour.c", "api_tour");
    let output = run_to_end(program.command().arg(sim.url()));
    let stdout = assert_success(&output, "api_tour");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stdout.starts_with("api_tour: "), "{stdout}");
    // While the callback was set, nothing went to stderr; after NULL restored it,
    // the last call's debug line did.
    let logged: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("lcm-outcome ["))
        .collect();
    assert!(!logged.is_empty(), "{stderr}");
    for line in logged {
        assert!(
            line.starts_with("lcm-outcome [debug] ") && line.contains("call 777"),
            "only the last call logs to stderr: {stderr}"
        );
    }
}

#[test]
fn a_closed_stderr_pipe_does_not_kill_the_dialer() {
    // stderr is a pipe whose reader is already gone, as when a dialer's log
    // collector died: every log line meets EPIPE, and SIGPIPE (whose default
    // action ends the process) must not reach the program.
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: pipe fills two descriptors, which are closed or owned below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    unsafe { libc::close(fds[0]) };
    let broken = unsafe { OwnedFd::from_raw_fd(fds[1]) };
    let sim = sim();
    let program = NativeProgram::build("tests/c/api_tour.c", "api_tour_sigpipe");
    let output = program
        .command()
        .arg(sim.url())
        .stderr(std::process::Stdio::from(broken))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{:?} (a signal means SIGPIPE killed it)",
        output.status
    );
    assert_eq!(sim.accepted().len(), 23);
}

#[test]
fn after_fork_replacing_the_log_callback_waits_for_the_childs_threads() {
    let sim = sim();
    let program = NativeProgram::build("tests/c/fork_log_callback.c", "fork_log_callback");
    let output = run_to_end(program.command().arg(sim.url()));
    assert_success(&output, "fork_log_callback");
    assert_eq!(sim.accepted().len(), 1, "the child's call was recorded");
}

#[test]
fn a_log_callback_may_configure_while_the_default_client_is_created() {
    let program =
        NativeProgram::build("tests/c/reentrant_log_callback.c", "reentrant_log_callback");
    // A deadlock is the failure this test looks for: give it ample time, then fail.
    let output = run_within(
        program.command().env("LCM_TIMEOUT_MS", "soon"),
        Duration::from_secs(20),
    )
    .unwrap_or_else(|_| {
        panic!("the program hung: the callback waited for the default client's creation")
    });
    assert_success(&output, "reentrant_log_callback");
}

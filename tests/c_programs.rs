//! C programs compiled by the system C compiler against the committed header,
//! linked to the cdylib, and run against lcm-sim: the example users copy, and a
//! pre-forking dialer.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// The example, compiled under a name of the calling test's own: tests run in
/// parallel and each removes its executable.
fn example_exe(test: &str) -> PathBuf {
    build_c_program("examples/c/set_outcome.c", &format!("set_outcome_{test}"))
}

#[test]
fn c_example_records_an_outcome() {
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
    assert!(
        stdout.starts_with("LCM_OK: LCM recorded the outcome of call 12345"),
        "{stdout}"
    );
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["callid"], "12345");
    assert_eq!(accepted[0]["OutcomeId"], 1);

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
fn c_example_reports_failure_with_status_name_and_text() {
    let exe = example_exe("failure");
    let output = clean_command(&exe)
        .arg(refused_endpoint())
        .env("LCM_RETRIES", "0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("LCM_ERR_CONNECT: cannot connect to http://127.0.0.1:"),
        "{stderr}"
    );

    let output = clean_command(&exe).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("LCM_ERR_CONFIG: endpoint is not set"),
        "{stderr}"
    );
    let _ = std::fs::remove_file(exe);
}

#[test]
fn after_fork_parent_and_child_never_share_a_connection() {
    let sim = sim();
    let exe = build_c_program("tests/c/fork_safety.c", "fork_safety");
    let output = clean_command(&exe).arg(sim.url()).output().unwrap();
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
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
    let _ = std::fs::remove_file(exe);
}

#[test]
fn header_compiles_and_links_as_cpp() {
    let exe = build_c_program("tests/c/header_in_cpp.cpp", "header_in_cpp");
    let output = clean_command(&exe).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = format!("{} LCM_OK\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    let _ = std::fs::remove_file(exe);
}

/// Runs the example against `sim` at log level `level`, with a secret token in
/// play, and returns the library's log lines (not the example's own output).
fn logged_at(level: &str, sim: &Sim, exe: &Path) -> String {
    let output = clean_command(exe)
        .arg(sim.url())
        .env("LCM_LOG_LEVEL", level)
        .env("LCM_AUTH", "Bearer SECRET-TOKEN-42")
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.starts_with("lcm-outcome ["))
        .map(|line| format!("{line}\n"))
        .collect()
}

#[test]
fn logs_never_hold_the_auth_value_and_comments_only_at_trace() {
    let exe = example_exe("logs");
    // Success, and failures that are retried, logged at every level.
    let ok = sim();
    let failing = sim_with(Faults {
        fail_status: Some(503),
        fail_count: 0,
        ..Faults::default()
    });
    for level in ["off", "error", "warn", "info", "debug", "trace"] {
        for server in [&ok, &failing] {
            let log = logged_at(level, server, &exe);
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
    assert_eq!(logged_at("off", &failing, &exe), "");
    let warn = logged_at("warn", &failing, &exe);
    assert!(
        warn.contains("[warn] attempt 1 of 3 for call 12345 failed"),
        "{warn}"
    );
    let trace = logged_at("trace", &ok, &exe);
    assert!(trace.contains("[trace] request body: {"), "{trace}");
    assert!(trace.contains("[trace] answer: HTTP 200 {"), "{trace}");
    let _ = std::fs::remove_file(exe);
}

#[test]
fn api_tour_uses_every_function_and_the_log_callback() {
    let sim = sim();
    let exe = build_c_program("tests/c/api_tour.c", "api_tour");
    let output = clean_command(&exe).arg(sim.url()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
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
    let _ = std::fs::remove_file(exe);
}

#[test]
fn after_fork_replacing_the_log_callback_waits_for_the_childs_threads() {
    let sim = sim();
    let exe = build_c_program("tests/c/fork_log_callback.c", "fork_log_callback");
    let output = clean_command(&exe).arg(sim.url()).output().unwrap();
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(sim.accepted().len(), 1, "the child's call was recorded");
    let _ = std::fs::remove_file(exe);
}

#[test]
fn a_log_callback_may_configure_while_the_default_client_is_created() {
    let exe = build_c_program("tests/c/reentrant_log_callback.c", "reentrant_log_callback");
    let mut child = clean_command(&exe)
        .env("LCM_TIMEOUT_MS", "soon")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A deadlock is the failure this test looks for: give it ample time, then fail.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the program hung: the callback waited for the default client's creation");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "exit {status:?}: {stderr}");
    let _ = std::fs::remove_file(exe);
}

//! The .NET binding, `bindings/dotnet/LcmOutcome.cs`, compiled by Mono's `mcs` and run
//! by `mono` against this build's cdylib: its own test program (which starts lcm-sim
//! processes itself, as an integrator would) and the quickstart example.
//!
//! Needs `mcs` and `mono` (Debian: `mono-mcs mono-runtime`). Without them the tests
//! fail under CI and are skipped, with a message, elsewhere.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Longer than any healthy run (the test program takes a few seconds), short enough
/// that a hung runtime fails the test instead of the CI job.
const RUN_DEADLINE: Duration = Duration::from_secs(300);

/// Whether `mcs` and `mono` can run. Under `CI=true` their absence is a failure.
fn mono_available() -> bool {
    let runs = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if runs("mcs") && runs("mono") {
        return true;
    }
    let hint = "install them with: apt-get install --no-install-recommends mono-mcs mono-runtime";
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("mcs and mono are required under CI; {hint}");
    }
    eprintln!("skipped: mcs or mono not found; {hint}");
    false
}

/// A fresh directory for one test's assemblies and output, removed on drop.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(test: &str) -> WorkDir {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("dotnet_{test}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        WorkDir(dir)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
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
    assert!(
        output.status.success(),
        "mcs failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
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

/// Runs `command` to its end, at most [`RUN_DEADLINE`], output kept in `dir`'s files
/// (a pipe not read while waiting could fill and stall the program).
fn run(mut command: Command, dir: &Path) -> Output {
    let (stdout_path, stderr_path) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .expect("start mono");
    let deadline = Instant::now() + RUN_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "mono ran longer than {RUN_DEADLINE:?}; output so far:\n{}",
                std::fs::read_to_string(&stdout_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: std::fs::read(stdout_path).unwrap(),
        stderr: std::fs::read(stderr_path).unwrap(),
    }
}

#[test]
fn dotnet_binding_tests_pass() {
    if !mono_available() {
        return;
    }
    let work = WorkDir::new("binding");
    let tests_dir = repo_dir().join("bindings/dotnet/tests");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&tests_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "cs"))
        .collect();
    sources.sort();
    let exe = compile_cs(&work.0, "LcmOutcomeTests", &sources);

    let mut command = mono(&exe);
    command.env("LCM_SIM", sim_binary());
    let output = run(command, &work.0);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the .NET tests failed ({:?}):\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

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
    let work = WorkDir::new("quickstart");
    let exe = compile_cs(
        &work.0,
        "SetOutcome",
        &[repo_dir().join("examples/dotnet/SetOutcome.cs")],
    );
    let sim = sim();

    let mut command = mono(&exe);
    command.arg(sim.url());
    let output = run(command, &work.0);
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
    assert_eq!(accepted[0]["AgentComments"], "Test comment");

    // The endpoint from the environment only.
    let mut command = mono(&exe);
    command.env("LCM_ENDPOINT", sim.url());
    let output = run(command, &work.0);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(sim.accepted().len(), 2);

    // A failure: exit status 1, the status name first.
    let mut command = mono(&exe);
    command.arg(refused_endpoint()).env("LCM_RETRIES", "0");
    let output = run(command, &work.0);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("LCM_ERR_CONNECT: cannot connect to http://127.0.0.1:"),
        "{stderr}"
    );
}

//! Test helpers: run the real `lcm-outcome` binary, with a clean environment, against
//! lcm-sim on loopback and outbox files on disk.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub use lcm_sim::{Answer, AnswerVariant, Faults, Sim, SimConfig};

/// Longest any one run of the binary may take: its own deadlines are seconds, so a run
/// that lasts this long hangs.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_lcm-outcome")
}

/// `lcm-outcome` with `args`, no `LCM_*` (nor proxy) variable from the test's own
/// environment, and direct connections: a proxy must not stand before a loopback sim.
pub fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(binary());
    cmd.args(args).env_clear().env("LCM_PROXY", "none");
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd
}

/// What one run printed and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Both streams, for checks that a text appears nowhere.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn expect(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `cmd` with `input` on its stdin (closed at once when `None`), and waits for
/// it, killing it past [`RUN_LIMIT`].
pub fn run_command(mut cmd: Command, input: Option<&str>) -> Run {
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the command");
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        use std::io::Write;
        stdin.write_all(text.as_bytes()).expect("write stdin");
    }
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let output = child.wait_with_output();
        let _ = done.send(());
        output
    });
    if finished.recv_timeout(RUN_LIMIT).is_err() {
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        panic!("ran past {RUN_LIMIT:?}: {cmd:?}");
    }
    let output: Output = waiter.join().unwrap().expect("wait for the command");
    Run {
        code: output
            .status
            .code()
            .expect("exited, not killed by a signal"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `lcm-outcome args`.
pub fn exec(args: &[&str]) -> Run {
    run_command(command(args), None)
}

/// A fresh, empty directory for one test, under cargo's scratch directory.
pub fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The path as a `&str`, for argument lists.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// A simulator answering as LCM does.
pub fn sim() -> Sim {
    Sim::start(SimConfig::default()).expect("start lcm-sim")
}

/// A simulator injecting `faults`.
pub fn sim_with(faults: Faults) -> Sim {
    Sim::start(SimConfig {
        faults,
        ..SimConfig::default()
    })
    .expect("start lcm-sim")
}

/// An endpoint where nothing listens: a port just bound and released.
pub fn refused_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/lcm")
}

/// `send`'s arguments for call `call_id` (the vendor sample's other fields).
pub fn send_args(call_id: &str) -> Vec<String> {
    [
        "send",
        "--call-id",
        call_id,
        "--account",
        "5|3|1|0|0|44|1",
        "--outcome",
        "1",
        "--user",
        "testagent",
        "--comments",
        "Test comment",
    ]
    .map(String::from)
    .to_vec()
}

/// `send_args(call_id)` followed by `more` (and a 5 s deadline unless `more` sets
/// one), run.
pub fn send(call_id: &str, more: &[&str]) -> Run {
    let mut args = send_args(call_id);
    args.extend(more.iter().map(|a| a.to_string()));
    if !more.contains(&"--timeout-ms") {
        args.extend(["--timeout-ms".to_string(), "5000".to_string()]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    exec(&refs)
}

/// Each line of `text` parsed as one JSON object.
#[track_caller]
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

/// `outbox status FILE --json`, parsed.
#[track_caller]
pub fn counts(file: &Path) -> serde_json::Value {
    let run = exec(&["outbox", "status", s(file), "--json"]);
    run.expect(0);
    let mut lines = json_lines(&run.stdout);
    assert_eq!(lines.len(), 1, "{}", run.stdout);
    lines.remove(0)
}

/// Whether `script` (util-linux) can give the binary a terminal. Under `CI=true` its
/// absence is a failure; elsewhere the test is skipped, saying why.
pub fn script_available() -> bool {
    let found = Command::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "script (util-linux) is missing, and CI=true: install it"
        );
        eprintln!("skipped: script (util-linux) is missing, so no terminal can be given");
    }
    found
}

/// `lcm-outcome args` on a terminal (a pseudo-terminal from `script`) fed `input`;
/// what the terminal showed is in `stdout`.
pub fn run_on_terminal(args: &[&str], input: &str) -> Run {
    let quoted: Vec<String> = std::iter::once(binary())
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &quoted.join(" "), "/dev/null"])
        .env_clear()
        .env("LCM_PROXY", "none")
        .env("TERM", "xterm");
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    run_command(cmd, Some(input))
}

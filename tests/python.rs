//! The Python binding, `bindings/python` (ctypes), run by the system's `python3`
//! against this build's cdylib: its unittest suite (which starts lcm-sim processes
//! itself, as an integrator would), the quickstart example, and `pip install` of
//! the package without a network.
//!
//! Needs `python3` (3.8 or later) with the `venv` module. Without it the tests fail
//! under CI and are skipped, with a message, elsewhere. `PYTHON3` names another
//! interpreter.

mod common;

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Longer than any healthy run (the suite takes seconds, a venv with pip a few
/// more), short enough that a hung interpreter fails the test instead of the CI job.
const RUN_DEADLINE: Duration = Duration::from_secs(300);

fn python() -> OsString {
    std::env::var_os("PYTHON3").unwrap_or_else(|| "python3".into())
}

/// Whether `python3` runs. Under `CI=true` its absence is a failure.
fn python_available() -> bool {
    let runs = Command::new(python())
        .args(["-c", "import sys; assert sys.version_info >= (3, 8)"])
        .output()
        .is_ok_and(|o| o.status.success());
    if runs {
        return true;
    }
    let hint = "install Python 3.8 or later (Debian: apt-get install python3 python3-venv)";
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("python3 is required under CI; {hint}");
    }
    eprintln!(
        "skipped: {:?} not found or older than 3.8; {hint}",
        python()
    );
    false
}

/// A fresh directory for one test's files, removed on drop.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(test: &str) -> WorkDir {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("python_{test}_{}", std::process::id()));
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

fn library() -> PathBuf {
    let lib = lib_dir().join("liblcm_outcome.so");
    assert!(lib.is_file(), "{} was not built", lib.display());
    lib
}

/// `program` in a clean environment (no `LCM_*` variable of ours, no proxy) that
/// loads this test build's library and writes no bytecode into the source tree.
fn python_command(program: &Path) -> Command {
    let mut command = clean_command(program);
    command
        .env("LCM_OUTCOME_LIB", library())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .current_dir(repo_dir());
    command
}

/// Runs `command` to completion with output in files under `dir` (no pipe to keep
/// draining), killing it after `RUN_DEADLINE`.
fn run(mut command: Command, dir: &Path) -> Output {
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command:?} ran over {RUN_DEADLINE:?}; stderr so far:\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: std::fs::read(out).unwrap(),
        stderr: std::fs::read(err).unwrap(),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// From unittest's summary: how many tests ran, and how many of them were skipped.
fn unittest_counts(report: &str) -> (usize, usize) {
    let ran = report
        .lines()
        .find_map(|l| l.strip_prefix("Ran ")?.split(' ').next()?.parse().ok())
        .expect("unittest printed no 'Ran N tests' line");
    let skipped = report
        .lines()
        .rev()
        .find_map(|l| {
            l.split("skipped=")
                .nth(1)?
                .trim_end_matches(')')
                .parse()
                .ok()
        })
        .unwrap_or(0);
    (ran, skipped)
}

#[test]
fn python_unittest_suite_passes() {
    if !python_available() {
        return;
    }
    let dir = WorkDir::new("suite");
    let mut command = python_command(Path::new(&python()));
    command
        .args([
            "-m",
            "unittest",
            "discover",
            "-s",
            "bindings/python/tests",
            "-v",
        ])
        .env("PYTHONPATH", repo_dir().join("bindings/python/src"))
        .env("LCM_SIM", sim_binary())
        // A temporary directory of the test's own for the sims' record files.
        .env("TMPDIR", &dir.0);
    let output = run(command, &dir.0);
    // unittest reports on stderr.
    let report = text(&output.stderr);
    assert!(
        output.status.success(),
        "the Python tests failed ({:?}):\n{report}{}",
        output.status,
        text(&output.stdout)
    );
    let (ran, skipped) = unittest_counts(&report);
    println!("{report}");
    println!("Python unittest: {ran} tests ran, {skipped} of them skipped");
    // Discovery that silently finds nothing (a renamed directory, an import
    // error turned into a skip) must not pass.
    assert!(ran >= 30, "only {ran} Python tests ran:\n{report}");
    assert_eq!(skipped, 0, "Python tests were skipped:\n{report}");
}

#[test]
fn python_quickstart_example_records_an_outcome() {
    if !python_available() {
        return;
    }
    let dir = WorkDir::new("example");
    let example = repo_dir().join("examples/python/set_outcome.py");
    let example_command = || {
        let mut command = python_command(Path::new(&python()));
        command
            .arg(&example)
            .env("PYTHONPATH", repo_dir().join("bindings/python/src"));
        command
    };

    let sim = sim();
    let mut command = example_command();
    command.arg(sim.url());
    let output = run(command, &dir.0);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {}",
        output.status,
        text(&output.stderr)
    );
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        stdout,
        format!("LCM_OK: LCM recorded the outcome of call 12345 (lcm-outcome {version})\n")
    );
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["callid"], "12345");
    assert_eq!(accepted[0]["OutcomeId"], 1);
    assert_eq!(accepted[0]["UserID"], "testagent");
    assert_eq!(accepted[0]["AgentComments"], "Test comment");

    // The endpoint from the environment instead of argv.
    let mut command = example_command();
    command.env("LCM_ENDPOINT", sim.url());
    let output = run(command, &dir.0);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(sim.accepted().len(), 2);

    // A failure: the status name and message on stderr, exit status 1.
    let mut command = example_command();
    command.arg(refused_endpoint()).env("LCM_RETRIES", "0");
    let output = run(command, &dir.0);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("LCM_ERR_CONNECT: cannot connect to http://127.0.0.1:"),
        "{stderr}"
    );
}

/// Whether the build backend, flit_core, is installed for offline builds (CI
/// installs it from PyPI; a user's `pip install` fetches it by itself).
fn flit_core_available() -> bool {
    let mut command = python_command(Path::new(&python()));
    command.args(["-c", "import flit_core.buildapi"]);
    if command.output().is_ok_and(|o| o.status.success()) {
        return true;
    }
    let hint = "python3 -m pip install 'flit_core>=3.4,<4'";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("flit_core is missing; CI must install it: {hint}");
    }
    eprintln!("skipped: flit_core is not installed ({hint})");
    false
}

#[test]
fn python_package_installs_with_pip_offline() {
    if !python_available() {
        return;
    }
    let dir = WorkDir::new("pip");
    let venv = dir.0.join("venv");
    if !flit_core_available() {
        return;
    }
    // The venv sees the interpreter's own packages, flit_core among them, so that
    // the build needs no network.
    let mut command = python_command(Path::new(&python()));
    command
        .args(["-m", "venv", "--system-site-packages"])
        .arg(&venv);
    let output = run(command, &dir.0);
    assert!(
        output.status.success(),
        "python3 -m venv failed (Debian needs python3-venv):\n{}",
        text(&output.stderr)
    );
    let venv_python = venv.join("bin/python");

    let mut command = python_command(&venv_python);
    command
        .args(["-m", "pip", "install", "--no-index", "--no-build-isolation"])
        .arg("--no-cache-dir")
        .args(["--disable-pip-version-check", "--no-input"])
        .arg(repo_dir().join("bindings/python"));
    let output = run(command, &dir.0);
    assert!(
        output.status.success(),
        "pip install ./bindings/python failed:\n{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );

    // Imported from the venv (run outside the repository, with no PYTHONPATH), with
    // the library from LCM_OUTCOME_LIB.
    let mut command = python_command(&venv_python);
    command.current_dir(&dir.0).args([
        "-c",
        "import importlib.metadata as m, lcm_outcome\n\
         print(lcm_outcome.version(), m.version('lcm-outcome'), lcm_outcome.__version__,
               lcm_outcome.__file__)\n\
         import os; assert os.path.isfile(os.path.join(os.path.dirname(lcm_outcome.__file__), 'py.typed'))",
    ]);
    let output = run(command, &dir.0);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    let words: Vec<&str> = stdout.split_whitespace().collect();
    let version = env!("CARGO_PKG_VERSION");
    // The library, the package's metadata and its __version__ move in lockstep.
    assert_eq!(words[..3], [version, version, version], "{stdout}");
    assert!(
        Path::new(words[3]).starts_with(&venv),
        "imported from {}, not the venv",
        words[3]
    );
}

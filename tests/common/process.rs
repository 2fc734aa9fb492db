//! Running a program a test builds or drives (a compiled example, an interpreter, a
//! runtime) to its end within a deadline, and checking how it ended.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Longer than any healthy run (the slowest, a venv with pip, takes seconds), short
/// enough that a hung program fails its test instead of the CI job.
pub const RUN_DEADLINE: Duration = Duration::from_secs(300);

/// A fresh directory under cargo's temporary directory, removed on drop.
pub struct WorkDir(PathBuf);

impl WorkDir {
    /// `name` tells the tests of one binary apart; the process id, concurrent runs.
    pub fn new(name: &str) -> WorkDir {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{name}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        WorkDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `command` to its end, at most `limit`: `Ok` with its output, or `Err` with
/// the output so far once it has been killed for running over.
///
/// Output goes to files, not pipes: a pipe not read while waiting could fill and
/// stall the program.
pub fn run_within(command: &mut Command, limit: Duration) -> Result<Output, Output> {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let dir = WorkDir::new(&format!("run_{}", RUNS.fetch_add(1, Ordering::Relaxed)));
    let (stdout_path, stderr_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let deadline = Instant::now() + limit;
    let (status, in_time) = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break (status, true);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break (child.wait().unwrap(), false);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = Output {
        status,
        stdout: std::fs::read(stdout_path).unwrap(),
        stderr: std::fs::read(stderr_path).unwrap(),
    };
    if in_time {
        Ok(output)
    } else {
        Err(output)
    }
}

/// Runs `command` to its end, failing the test when it runs over [`RUN_DEADLINE`].
pub fn run_to_end(command: &mut Command) -> Output {
    run_within(command, RUN_DEADLINE).unwrap_or_else(|so_far| {
        panic!(
            "{command:?} ran longer than {RUN_DEADLINE:?}; stdout so far:\n{}\nstderr so far:\n{}",
            String::from_utf8_lossy(&so_far.stdout),
            String::from_utf8_lossy(&so_far.stderr)
        )
    })
}

/// Asserts that `what` (a name for the failure message) exited with success, showing
/// all of its output otherwise; returns its stdout.
#[track_caller]
pub fn assert_success(output: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({:?})\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Asserts that a program failed as the examples and test programs report a
/// failure: exit status 1, nothing on stdout, and on stderr a line starting with
/// `prefix` (the status name first) that contains every one of `words`.
#[track_caller]
pub fn assert_failed(output: &Output, prefix: &str, words: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "",
        "nothing on stdout after a failure"
    );
    assert!(stderr.starts_with(prefix), "{stderr}");
    for word in words {
        assert!(stderr.contains(word), "{stderr:?} lacks {word:?}");
    }
}

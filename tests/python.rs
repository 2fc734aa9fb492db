//! The Python binding, `bindings/python` (ctypes), run by the system's `python3`
//! against this build's cdylib: its unittest suite (which starts lcm-sim processes
//! itself, as an integrator would), the quickstart example, and `pip install` of
//! the package without a network.
//!
//! Needs `python3` (3.8 or later) with the `venv` module. Without it the tests fail
//! under CI and are skipped, with a message, elsewhere. `PYTHON3` names another
//! interpreter.

mod common;

use std::path::Path;

use common::*;

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
    let dir = WorkDir::new("python_suite");
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
        .env("TMPDIR", dir.path());
    let output = run_to_end(&mut command);
    assert_success(&output, "the Python tests");
    // unittest reports on stderr.
    let report = String::from_utf8_lossy(&output.stderr);
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
    let example = repo_dir().join("examples/python/set_outcome.py");
    let example_command = || {
        let mut command = python_command(Path::new(&python()));
        command
            .arg(&example)
            .env("PYTHONPATH", repo_dir().join("bindings/python/src"));
        command
    };
    check_example_records_the_sample(example_command);
    check_example_reports_a_refused_connection(example_command);
    check_example_reports_a_queued_outcome(example_command);
}

/// Whether the build backend, flit_core, is installed for offline builds (CI
/// installs it from PyPI; a user's `pip install` fetches it by itself).
fn flit_core_available() -> bool {
    present_or_skip(
        succeeds(python_command(Path::new(&python())).args(["-c", "import flit_core.buildapi"])),
        "flit_core is not installed",
        "python3 -m pip install 'flit_core>=3.4,<4'",
    )
}

#[test]
fn python_package_installs_with_pip_offline() {
    if !python_available() {
        return;
    }
    let dir = WorkDir::new("python_pip");
    let venv = dir.path().join("venv");
    if !flit_core_available() {
        return;
    }
    // The venv sees the interpreter's own packages, flit_core among them, so that
    // the build needs no network.
    let mut command = python_command(Path::new(&python()));
    command
        .args(["-m", "venv", "--system-site-packages"])
        .arg(&venv);
    assert_success(
        &run_to_end(&mut command),
        "python3 -m venv (Debian needs python3-venv)",
    );
    let venv_python = venv.join("bin/python");

    let mut command = python_command(&venv_python);
    command
        .args(["-m", "pip", "install", "--no-index", "--no-build-isolation"])
        .arg("--no-cache-dir")
        .args(["--disable-pip-version-check", "--no-input"])
        .arg(repo_dir().join("bindings/python"));
    assert_success(&run_to_end(&mut command), "pip install ./bindings/python");

    // Imported from the venv (run outside the repository, with no PYTHONPATH), with
    // the library from LCM_OUTCOME_LIB.
    let mut command = python_command(&venv_python);
    command.current_dir(dir.path()).args([
        "-c",
        "import importlib.metadata as m, lcm_outcome\n\
         print(lcm_outcome.version(), m.version('lcm-outcome'), lcm_outcome.__version__,
               lcm_outcome.__file__)\n\
         import os; assert os.path.isfile(os.path.join(os.path.dirname(lcm_outcome.__file__), 'py.typed'))",
    ]);
    let stdout = assert_success(&run_to_end(&mut command), "importing lcm_outcome");
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

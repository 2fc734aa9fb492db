//! How a test runs the system's Python on the binding in `bindings/python`: which
//! interpreter (`PYTHON3`, else `python3`), whether it is there, and a clean
//! environment that loads this test build's library.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{clean_command, lib_dir, present_or_skip, repo_dir, succeeds};

/// The interpreter: `$PYTHON3`, else `python3`.
pub fn python() -> OsString {
    std::env::var_os("PYTHON3").unwrap_or_else(|| "python3".into())
}

/// Whether `python3` runs. Under `CI=true` its absence is a failure.
pub fn python_available() -> bool {
    present_or_skip(
        succeeds(
            Command::new(python()).args(["-c", "import sys; assert sys.version_info >= (3, 8)"]),
        ),
        &format!("{:?} not found or older than 3.8", python()),
        "install Python 3.8 or later (Debian: apt-get install python3 python3-venv)",
    )
}

/// This test build's `liblcm_outcome.so`.
pub fn python_library() -> PathBuf {
    let lib = lib_dir().join("liblcm_outcome.so");
    assert!(lib.is_file(), "{} was not built", lib.display());
    lib
}

/// `program` in a clean environment (no `LCM_*` variable of ours, no proxy) that
/// loads this test build's library and writes no bytecode into the source tree.
pub fn python_command(program: &Path) -> Command {
    let mut command = clean_command(program);
    command
        .env("LCM_OUTCOME_LIB", python_library())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .current_dir(repo_dir());
    command
}

/// The interpreter in [`python_command`]'s environment, importing `lcm_outcome`
/// from the source tree (`bindings/python/src`).
pub fn python_on_source() -> Command {
    let mut command = python_command(Path::new(&python()));
    command.env("PYTHONPATH", repo_dir().join("bindings/python/src"));
    command
}

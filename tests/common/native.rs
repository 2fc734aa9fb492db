//! Native programs built by the system's compilers against the committed header and
//! this test build's cdylib, and a clean environment to run them (or another
//! language's runtime loading the library) in.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{lib_dir, repo_dir};

/// Compiles `source` with `cc` (or `$CC`; `c++` or `$CXX` for `.cpp`) into `exe`,
/// strictly, against `include/lcm_outcome.h` and `liblcm_outcome.so`.
pub fn compile_c(source: &Path, exe: &Path) {
    let cpp = source.extension().is_some_and(|e| e == "cpp");
    let (var, default, standard) = if cpp {
        ("CXX", "c++", "-std=c++17")
    } else {
        ("CC", "cc", "-std=c99")
    };
    let cc = std::env::var(var).unwrap_or_else(|_| default.into());
    let lib_dir = lib_dir();
    assert!(
        lib_dir.join("liblcm_outcome.so").exists(),
        "{} has no liblcm_outcome.so",
        lib_dir.display()
    );
    let output = Command::new(&cc)
        .args([
            standard,
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-pthread",
        ])
        .arg("-I")
        .arg(repo_dir().join("include"))
        .arg(source)
        .arg("-o")
        .arg(exe)
        .arg(format!("-L{}", lib_dir.display()))
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-llcm_outcome")
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc:?}: {e}"));
    assert!(
        output.status.success(),
        "{cc} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Compiles the C program at `path` (relative to the repository) into a fresh
/// executable under cargo's temporary directory.
pub fn build_c_program(path: &str, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let exe = dir.join(format!("{name}_{}", std::process::id()));
    compile_c(&repo_dir().join(path), &exe);
    exe
}

/// A command running `exe` with no `LCM_*` variable from the test environment, and
/// no proxy between it and the loopback sim.
pub fn clean_command(exe: &Path) -> Command {
    let mut command = Command::new(exe);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LCM_") {
            command.env_remove(name);
        }
    }
    command.env("LCM_PROXY", "none");
    command
}

/// A program built by [`build_c_program`], removed when dropped (also when its test
/// fails).
pub struct NativeProgram(PathBuf);

impl NativeProgram {
    /// Compiles the C or C++ program at `path` (relative to the repository); `name`
    /// must be of the calling test's own, since tests run in parallel.
    pub fn build(path: &str, name: &str) -> NativeProgram {
        NativeProgram(build_c_program(path, name))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A [`clean_command`] running the program.
    pub fn command(&self) -> Command {
        clean_command(&self.0)
    }
}

impl Drop for NativeProgram {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

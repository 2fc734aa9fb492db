//! How a test compiles C# against the binding in `bindings/dotnet` with Mono's `mcs`
//! and runs it with `mono` on this test build's library.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{assert_success, clean_command, lib_dir, present_or_skip, repo_dir, succeeds};

/// Whether `mcs` and `mono` can run. Under `CI=true` their absence is a failure.
pub fn mono_available() -> bool {
    let runs = |tool: &str| succeeds(Command::new(tool).arg("--version"));
    present_or_skip(
        runs("mcs") && runs("mono"),
        "mcs or mono not found",
        "install them with: apt-get install --no-install-recommends mono-mcs mono-runtime",
    )
}

/// Compiles the wrapper plus `sources` into `dir/name.exe`, every warning an error;
/// with `-doc`, that includes a public member of the wrapper without XML docs.
pub fn compile_cs(dir: &Path, name: &str, sources: &[PathBuf]) -> PathBuf {
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
    assert_success(&output, "mcs");
    exe
}

/// `mono exe` in a clean environment (no `LCM_*` variable of ours, no proxy), loading
/// this test build's `liblcm_outcome.so`.
///
/// The library is found through `LD_LIBRARY_PATH`, pointed at [`lib_dir`], which holds
/// exactly the cdylib this test was built with: no copy to go stale, no dllmap file
/// to keep beside the assembly. Mono looks beside the assembly first, but the work
/// directory is fresh, so nothing there can shadow it.
pub fn mono(exe: &Path) -> Command {
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

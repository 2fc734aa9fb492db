//! `cargo cinstall` into a temporary prefix, then the installed library used the way
//! a dialer's build uses it: the C example compiled with
//! `pkg-config --cflags --libs lcm_outcome`, and the CMake project in
//! examples/cmake; both run against lcm-sim.
//!
//! Checks what lands where, the soname, that the header installed is the committed
//! one, and that the programs load the installed library, not this test build's.
//! Needs cargo-c, pkg-config, cmake, make and readelf: under CI=true a missing
//! one fails the test, elsewhere the test is skipped with the reason.
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use common::*;

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[test]
fn cinstall_then_build_and_run_with_pkg_config_and_cmake() {
    if !tools_present() {
        return;
    }
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("packaging-{}", std::process::id()));
    let prefix = work.join("prefix");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();

    cinstall(&prefix);
    check_installed_files(&prefix);
    check_soname(&prefix);
    build_and_run_with_pkg_config(&prefix, &work);
    build_and_run_with_cmake(&prefix, &work);

    // Kept when a step fails, for a look at what was installed.
    std::fs::remove_dir_all(&work).unwrap();
}

/// Whether every tool is there; panics instead under CI, where a skipped test would
/// hide a broken install step.
fn tools_present() -> bool {
    let probes: [(&str, Command); 5] = [
        (
            "cargo-c (cargo install cargo-c --version 0.10.24 --locked)",
            cargo(["cinstall", "--version"]),
        ),
        ("pkg-config", tool("pkg-config", ["--version"])),
        ("cmake", tool("cmake", ["--version"])),
        // CMake's default generator on Linux writes Makefiles.
        ("make", tool("make", ["--version"])),
        ("readelf (binutils)", tool("readelf", ["--version"])),
    ];
    let missing: Vec<&str> = probes
        .into_iter()
        .filter_map(|(name, mut probe)| {
            let works = probe.output().is_ok_and(|o| o.status.success());
            (!works).then_some(name)
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    let reason = format!("the packaging test needs {}", missing.join(", "));
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{reason}");
    }
    eprintln!("SKIPPED: {reason}");
    false
}

fn tool<const N: usize>(program: &str, args: [&str; N]) -> Command {
    let mut command = Command::new(program);
    command.args(args);
    command
}

/// The cargo running these tests (cargo-c is one of its subcommands).
fn cargo<const N: usize>(args: [&str; N]) -> Command {
    tool(
        &std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        args,
    )
}

/// Runs `command`, which must succeed; its output goes into the panic message.
fn run(mut command: Command, what: &str) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn cinstall(prefix: &Path) {
    let repo = repo_dir();
    let mut command = cargo(["cinstall", "--release", "--locked", "-p", "lcm-outcome"]);
    command
        .arg("--manifest-path")
        .arg(repo.join("Cargo.toml"))
        // Its own target directory: a release build with cargo-c's link arguments
        // must neither wait for nor invalidate the debug build's.
        .arg("--target-dir")
        .arg(repo.join("target/cinstall"))
        .arg(format!("--prefix={}", prefix.display()))
        .arg(format!("--libdir={}", prefix.join("lib").display()));
    let started = Instant::now();
    run(command, "cargo cinstall");
    eprintln!(
        "cargo cinstall --release took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The version in cargo-c's soname: the part that stays the same between
/// compatible releases. From 1.0 on that is the major version (`.so.1`). Below 1.0
/// Cargo's semver treats the minor version as the breaking one, so 0.1.x gets
/// `.so.0.1`, and 0.0.x breaks with every patch (`.so.0.0.3`).
fn soname_version(version: &str) -> String {
    let parts: Vec<u64> = version.split('.').map(|p| p.parse().unwrap()).collect();
    match parts[..] {
        [0, 0, patch] => format!("0.0.{patch}"),
        [0, minor, _] => format!("0.{minor}"),
        [major, _, _] => format!("{major}"),
        _ => panic!("{version} is not MAJOR.MINOR.PATCH"),
    }
}

fn soname() -> String {
    format!("liblcm_outcome.so.{}", soname_version(VERSION))
}

fn check_installed_files(prefix: &Path) {
    let lib = prefix.join("lib");
    let real = format!("liblcm_outcome.so.{VERSION}");
    assert!(
        lib.join(&real).symlink_metadata().unwrap().is_file(),
        "{real} is not a regular file"
    );
    // The soname link is what programs load; the bare .so is what `-llcm_outcome`
    // finds when linking.
    for link in [soname(), "liblcm_outcome.so".to_string()] {
        let target = std::fs::read_link(lib.join(&link))
            .unwrap_or_else(|e| panic!("{link} is not a symbolic link: {e}"));
        assert_eq!(target, Path::new(&real), "{link}");
    }
    assert!(lib.join("liblcm_outcome.a").is_file());
    assert!(lib.join("pkgconfig/lcm_outcome.pc").is_file());

    let installed = std::fs::read(prefix.join("include/lcm_outcome.h")).unwrap();
    let committed = std::fs::read(repo_dir().join("include/lcm_outcome.h")).unwrap();
    assert!(
        installed == committed,
        "the installed lcm_outcome.h is not the committed include/lcm_outcome.h"
    );
}

/// The `readelf -d` entries of `kind` (`SONAME`, `NEEDED`) of an ELF file.
fn dynamic_entries(file: &Path, kind: &str) -> Vec<String> {
    let output = run(
        {
            let mut c = tool("readelf", ["-d", "--wide"]);
            c.arg(file);
            c
        },
        "readelf -d",
    );
    let tag = format!("({kind})");
    stdout(&output)
        .lines()
        .filter(|line| line.contains(&tag))
        .filter_map(|line| Some(line.split_once('[')?.1.split_once(']')?.0.to_string()))
        .collect()
}

fn check_soname(prefix: &Path) {
    let library = prefix.join(format!("lib/liblcm_outcome.so.{VERSION}"));
    assert_eq!(dynamic_entries(&library, "SONAME"), [soname()]);
}

/// pkg-config's output split into arguments; it escapes blanks in paths with `\`.
fn split_flags(flags: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut chars = flags.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.extend(chars.next()),
            c if c.is_whitespace() => {
                if !current.is_empty() {
                    args.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        args.push(current);
    }
    args
}

fn pkg_config<const N: usize>(prefix: &Path, args: [&str; N]) -> String {
    let mut command = tool("pkg-config", args);
    command.env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"));
    stdout(&run(command, "pkg-config")).trim().to_string()
}

fn build_and_run_with_pkg_config(prefix: &Path, work: &Path) {
    assert_eq!(pkg_config(prefix, ["--modversion", "lcm_outcome"]), VERSION);
    let flags = split_flags(&pkg_config(prefix, ["--cflags", "--libs", "lcm_outcome"]));
    let lib = prefix.join("lib");
    for expected in [
        format!("-I{}", prefix.join("include").display()),
        format!("-L{}", lib.display()),
        "-llcm_outcome".to_string(),
    ] {
        assert!(flags.contains(&expected), "{expected} not in {flags:?}");
    }

    let exe = work.join("set_outcome_pkg_config");
    let mut cc = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()));
    cc.args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg(repo_dir().join("examples/c/set_outcome.c"))
        .arg("-o")
        .arg(&exe)
        .args(&flags)
        .arg(format!("-Wl,-rpath,{}", lib.display()));
    run(cc, "cc with pkg-config's flags");

    // Bound to the soname, so that a later incompatible version installed beside
    // this one does not break the program.
    let needed = dynamic_entries(&exe, "NEEDED");
    assert!(needed.contains(&soname()), "{needed:?}");
    run_against_sim(&exe, &lib);
}

fn build_and_run_with_cmake(prefix: &Path, work: &Path) {
    let build = work.join("cmake-build");
    let mut configure = tool("cmake", ["-S"]);
    configure
        .arg(repo_dir().join("examples/cmake"))
        .arg("-B")
        .arg(&build)
        .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()))
        .arg("-DCMAKE_COMPILE_WARNING_AS_ERROR=ON")
        // Found through CMAKE_PREFIX_PATH alone, as the project's comment promises.
        .env_remove("PKG_CONFIG_PATH");
    let configured = stdout(&run(configure, "cmake configure"));
    let found = format!("lcm_outcome {VERSION} in {}", prefix.join("lib").display());
    assert!(
        configured.contains(&found),
        "{found:?} not in:\n{configured}"
    );

    let mut compile = tool("cmake", ["--build"]);
    compile.arg(&build);
    run(compile, "cmake --build");
    run_against_sim(&build.join("set_outcome"), &prefix.join("lib"));
}

/// Runs the example against a sim; it must load the library from `lib` (through its
/// rpath, with no `LD_LIBRARY_PATH` to help) and record the outcome.
fn run_against_sim(exe: &Path, lib: &Path) {
    let mut ldd = tool("ldd", []);
    ldd.arg(exe).env_remove("LD_LIBRARY_PATH");
    let resolved = stdout(&run(ldd, "ldd"));
    let expected = format!("{} => {}", soname(), lib.join(soname()).display());
    assert!(
        resolved.contains(&expected),
        "{expected:?} not in:\n{resolved}"
    );

    let sim = sim();
    let output = clean_command(exe)
        .env_remove("LD_LIBRARY_PATH")
        .arg(sim.url())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} exited {:?}: {}",
        exe.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout(&output),
        format!("LCM_OK: LCM recorded the outcome of call 12345 (lcm-outcome {VERSION})\n")
    );
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["callid"], "12345");
}

#[test]
fn soname_version_follows_cargo_semver() {
    assert_eq!(soname_version("0.1.0"), "0.1");
    assert_eq!(soname_version("0.1.7"), "0.1");
    assert_eq!(soname_version("0.0.3"), "0.0.3");
    assert_eq!(soname_version("1.4.2"), "1");
}

#[test]
fn split_flags_keeps_escaped_blanks() {
    assert_eq!(
        split_flags("-I/a\\ b/include  -L/lib -llcm_outcome \n"),
        ["-I/a b/include", "-L/lib", "-llcm_outcome"]
    );
}

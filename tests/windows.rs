//! Does `lcm_outcome.dll` work for a Windows program? The DLL is cross-built by
//! `scripts/build-windows` (what users run), C programs are compiled against it with
//! MinGW-w64, and each runs under Wine against lcm-sim on loopback: the C example,
//! `tests/c/api_tour.c`, a caller that binds the DLL at run time as ctypes and P/Invoke
//! do, and a multi-threaded dialer linked through an import library made from the
//! shipped `.def`, as MSVC users make theirs.
//!
//! The Windows-specific code paths: log lines go through std's stderr (no fork(), no
//! SIGPIPE there), checked into a file, a missing handle and a broken pipe; the fork
//! check compares `GetCurrentProcessId()` values, which must keep a client's pool
//! (one connection for several calls). What Wine cannot show: a console as stderr
//! (std then writes UTF-16 with `WriteConsoleW`), real Windows' loader and its
//! `ProcessPrng` (Wine 8 lacks it: a test-only stand-in from
//! `tests/c/windows/process_prng.c` sits beside the programs), and the Windows
//! certificate store, which the library does not use yet (`ca_file` and the built-in
//! roots are what HTTPS trusts here).
//!
//! Needs Debian's Rust 1.96 and the standard library's source, MinGW-w64 and Wine
//! (`apt-get install --no-install-recommends rustc-web cargo-web rust-web-src
//! gcc-mingw-w64-x86-64 wine64`). Without them the tests fail under CI and are skipped,
//! with a message, elsewhere. The cross build (1.5 minutes when clean) and the
//! Wine prefix live in `target/windows/`, kept between runs.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use lcm_sim::{Answer, TestCa};

const WINE: &str = "/usr/lib/wine/wine64";
const MINGW: &str = "x86_64-w64-mingw32";
const APT: &str = "apt-get install --no-install-recommends rustc-web cargo-web rust-web-src \
                   gcc-mingw-w64-x86-64 wine64";

/// A clean cross build takes 1.5 minutes on 2 cores, and was seen to take 10 on 2
/// busy ones: three times that is a hang.
const BUILD_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// The test programs, built once per test process, and the Wine prefix they run in.
struct Windows {
    /// The DLL, its stand-in neighbour and the programs, in one folder.
    bin: PathBuf,
    prefix: PathBuf,
}

/// `target/windows`: the cross build's own target directory, its output and the
/// Wine prefix, beside (never inside) the host build's directories.
fn windows_dir() -> PathBuf {
    // lib_dir() is target/<profile>/deps.
    lib_dir().ancestors().nth(2).unwrap().join("windows")
}

/// Whether everything the tests need is installed. Under `CI=true` a missing tool
/// is a failure.
fn tools_available() -> bool {
    let found = |path: &str| Path::new(path).exists();
    let missing: Vec<&str> = [
        (
            found("/usr/bin/cargo") && found("/usr/bin/rustc"),
            "Debian's cargo and rustc",
        ),
        (
            found("/usr/lib/rustlib/src/rust/library"),
            "the standard library's source",
        ),
        (
            succeeds(Command::new(format!("{MINGW}-gcc")).arg("--version")),
            "MinGW-w64",
        ),
        (found(WINE), "Wine (wine64)"),
    ]
    .into_iter()
    .filter_map(|(present, what)| (!present).then_some(what))
    .collect();
    present_or_skip(
        missing.is_empty(),
        &format!("no Windows cross toolchain: missing {}", missing.join(", ")),
        APT,
    )
}

/// The built programs, or `None` (after a message) when the tools are missing.
fn windows() -> Option<&'static Windows> {
    static BUILT: OnceLock<Result<Windows, String>> = OnceLock::new();
    if !tools_available() {
        return None;
    }
    // A failed build is kept as an error, so that the other tests report it instead
    // of each building again.
    match BUILT.get_or_init(prepare) {
        Ok(windows) => Some(windows),
        Err(why) => panic!("{why}"),
    }
}

fn prepare() -> Result<Windows, String> {
    let dir = windows_dir();
    let dist = dir.join("dist");
    cross_build(&dir, &dist)?;
    let bin = dir.join("test-bin");
    let _ = std::fs::remove_dir_all(&bin);
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    build_programs(&dist, &bin)?;
    let windows = Windows {
        bin,
        prefix: dir.join("wine-prefix"),
    };
    // The first program run in a new prefix creates it (seconds, or a minute on a
    // loaded machine): once, before the tests run programs side by side.
    let output = run_to_end(&mut windows.command_for(Path::new("cmd.exe"), &["/c", "exit"]));
    if !output.status.success() {
        return Err(format!(
            "Wine could not set up {}:\n{}",
            windows.prefix.display(),
            text(&output.stderr)
        ));
    }
    Ok(windows)
}

/// `scripts/build-windows` into `dist`, with `dir` as its target directory: a
/// no-op of a second or so when nothing changed.
fn cross_build(dir: &Path, dist: &Path) -> Result<(), String> {
    let started = Instant::now();
    let mut build = Command::new(repo_dir().join("scripts/build-windows"));
    build.arg(dist).env("WINDOWS_TARGET_DIR", dir);
    let output = run_within(&mut build, BUILD_DEADLINE).map_err(|so_far| {
        format!(
            "the cross build ran over {BUILD_DEADLINE:?}: {}",
            text(&so_far.stderr)
        )
    })?;
    if !output.status.success() {
        return Err(format!(
            "scripts/build-windows failed:\n{}",
            text(&output.stderr)
        ));
    }
    println!(
        "windows: scripts/build-windows took {:?}",
        started.elapsed()
    );
    Ok(())
}

/// The DLL, the ProcessPrng stand-in and the test programs, into `bin`.
fn build_programs(dist: &Path, bin: &Path) -> Result<(), String> {
    std::fs::copy(dist.join("lcm_outcome.dll"), bin.join("lcm_outcome.dll"))
        .map_err(|e| format!("copying lcm_outcome.dll: {e}"))?;
    let import_lib = dist.join("liblcm_outcome.dll.a");
    let shared: [&OsStr; 2] = ["-shared".as_ref(), "-ladvapi32".as_ref()];
    mingw_gcc(
        bin,
        "bcryptprimitives.dll",
        "tests/c/windows/process_prng.c",
        &shared,
    )?;
    let example = "examples/c/set_outcome.c";
    mingw_gcc(bin, "set_outcome.exe", example, &[import_lib.as_ref()])?;
    let threaded: [&OsStr; 2] = ["-pthread".as_ref(), import_lib.as_ref()];
    mingw_gcc(bin, "api_tour.exe", "tests/c/api_tour.c", &threaded)?;
    let caller = "tests/c/windows/dynamic_caller.c";
    mingw_gcc(bin, "dynamic_caller.exe", caller, &[])?;
    // What `lib /def:lcm_outcome.def` gives an MSVC user, made by MinGW's dlltool.
    let from_def = bin.join("lcm_outcome_from_def.lib");
    let mut dlltool = Command::new(format!("{MINGW}-dlltool"));
    dlltool
        .arg("-d")
        .arg(dist.join("lcm_outcome.def"))
        .arg("-l")
        .arg(&from_def);
    checked(&mut dlltool, "dlltool")?;
    mingw_gcc(
        bin,
        "threads.exe",
        "tests/c/windows/threads.c",
        &[from_def.as_ref()],
    )
}

/// Compiles `source` (relative to the repository) with MinGW-w64 into `bin/out`,
/// strictly, against the committed header; `extra` are the link inputs. Statically
/// linked (libgcc, winpthread), so that only the DLLs under test are needed beside it.
fn mingw_gcc(bin: &Path, out: &str, source: &str, extra: &[&OsStr]) -> Result<(), String> {
    let mut gcc = Command::new(format!("{MINGW}-gcc"));
    gcc.args([
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-static",
    ])
    .arg("-I")
    .arg(repo_dir().join("include"))
    .arg(repo_dir().join(source))
    .args(extra)
    .arg("-o")
    .arg(bin.join(out));
    checked(&mut gcc, &format!("{MINGW}-gcc {source}"))
}

/// Runs a build step to its end: `Err` with its stderr when it failed.
fn checked(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed:\n{}", text(&output.stderr)))
    }
}

impl Windows {
    /// A command running `program` (`bin/program.exe`) under Wine, in a clean
    /// environment ([`clean_command`]) in another folder than the program's, so that
    /// the DLLs are found because they are beside it.
    fn command(&self, program: &str, args: &[&str]) -> Command {
        self.command_for(&self.bin.join(format!("{program}.exe")), args)
    }

    fn command_for(&self, exe: &Path, args: &[&str]) -> Command {
        let mut command = clean_command(Path::new(WINE));
        command
            .arg(exe)
            .args(args)
            .env("WINEPREFIX", &self.prefix)
            // No Mono or Gecko installer for a prefix that never needs them.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            // Only a DLL that failed to load is worth Wine's own words.
            .env("WINEDEBUG", "-all,err+module")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .current_dir(windows_dir());
        command
    }

    /// Runs `program` to its end; its output with Windows' CRLF line ends as LF.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        run_wine(&mut self.command(program, args))
    }

    /// What `dynamic_caller` printed for each call: status name, milliseconds the
    /// call took (measured inside the program) and message.
    fn calls(&self, args: &[&str]) -> Vec<(String, f64, String)> {
        let output = self.run("dynamic_caller", args);
        let stdout = assert_success(&output, "dynamic_caller");
        stdout
            .lines()
            .map(|line| {
                let mut words = line.splitn(3, ' ');
                let status = words.next().unwrap().to_string();
                let ms = words.next().and_then(|w| w.parse().ok());
                let ms = ms.unwrap_or_else(|| panic!("no time in {line:?}"));
                (status, ms, words.next().unwrap_or("").to_string())
            })
            .collect()
    }
}

fn run_wine(command: &mut Command) -> Output {
    let started = Instant::now();
    let mut output = run_to_end(command);
    let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy()).collect();
    println!("wine: {} ({:?})", args.join(" "), started.elapsed());
    for stream in [&mut output.stdout, &mut output.stderr] {
        *stream = text(stream).replace("\r\n", "\n").into_bytes();
    }
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `path` as a Windows program under Wine names it: drive Z: is the Unix root.
fn windows_path(path: &Path) -> String {
    let path = path.canonicalize().unwrap();
    format!("Z:{}", path.display()).replace('/', "\\")
}

/// Asserts that `sim` recorded exactly the call ids `expected`, each once.
#[track_caller]
fn assert_recorded_once(sim: &Sim, expected: &[String]) {
    let mut recorded: Vec<String> = sim
        .accepted()
        .iter()
        .map(|o| o["callid"].as_str().unwrap().to_string())
        .collect();
    recorded.sort();
    let mut expected = expected.to_vec();
    expected.sort();
    assert_eq!(recorded, expected);
}

#[test]
fn the_c_example_records_an_outcome_and_reports_a_refused_port() {
    let Some(windows) = windows() else { return };
    let sim = sim();
    let url = sim.url();
    let expected = format!(
        "LCM_OK: LCM recorded the outcome of call 12345 (lcm-outcome {})\n",
        env!("CARGO_PKG_VERSION")
    );
    let output = windows.run("set_outcome", &[&url]);
    assert_eq!(assert_success(&output, "set_outcome.exe"), expected);
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["callid"], "12345");
    assert_eq!(accepted[0]["AccountNumber"], "5|3|1|0|0|44|1");
    assert_eq!(accepted[0]["AgentComments"], "Test comment");

    // The default client reads LCM_* from the Windows environment Wine passes on.
    let mut from_env = windows.command("set_outcome", &[]);
    from_env.env("LCM_ENDPOINT", &url);
    let output = run_wine(&mut from_env);
    assert_eq!(assert_success(&output, "set_outcome.exe"), expected);
    assert_eq!(sim.accepted().len(), 2);

    let mut refused = windows.command("set_outcome", &[&refused_endpoint()]);
    refused.env("LCM_RETRIES", "0");
    assert_failed(
        &run_wine(&mut refused),
        "LCM_ERR_CONNECT: cannot connect to http://127.0.0.1:",
        &["the outcome was not sent"],
    );
}

#[test]
fn log_lines_reach_stderr_and_never_carry_the_auth_value() {
    let Some(windows) = windows() else { return };
    let sim = sim();
    let mut command = windows.command("set_outcome", &[&sim.url()]);
    command
        .env("LCM_LOG_LEVEL", "debug")
        .env("LCM_AUTH", "Bearer SECRET-TOKEN-42");
    let output = run_wine(&mut command);
    assert_success(&output, "set_outcome.exe");
    let stderr = text(&output.stderr);
    let logged: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("lcm-outcome ["))
        .collect();
    assert!(
        logged
            .iter()
            .any(|l| l.starts_with("lcm-outcome [debug] POST ")),
        "{stderr}"
    );
    assert!(!stderr.contains("SECRET-TOKEN-42"), "{stderr}");
}

#[test]
fn logging_survives_a_missing_or_broken_stderr_handle() {
    let Some(windows) = windows() else { return };
    let sim = sim();
    let url = sim.url();
    for handle in ["--stderr=none", "--stderr=broken"] {
        let calls = windows.calls(&[handle, &url, "log_level=trace"]);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].0, "LCM_OK", "{handle}: {calls:?}");
    }
    assert_eq!(sim.accepted().len(), 2);
}

#[test]
fn api_tour_uses_every_function_and_the_log_callback() {
    let Some(windows) = windows() else { return };
    let sim = sim();
    let output = windows.run("api_tour", &[&sim.url()]);
    let stdout = assert_success(&output, "api_tour.exe");
    assert!(stdout.starts_with("api_tour: "), "{stdout}");
    assert_eq!(sim.accepted().len(), 23);
    // While the callback was set nothing went to stderr; after NULL restored it, the
    // last call's debug lines did.
    let stderr = text(&output.stderr);
    let logged: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("lcm-outcome ["))
        .collect();
    assert!(!logged.is_empty(), "{stderr}");
    for line in logged {
        assert!(
            line.starts_with("lcm-outcome [debug] ") && line.contains("call 777"),
            "only the last call logs to stderr: {stderr}"
        );
    }
}

#[test]
fn run_time_loading_as_ctypes_and_pinvoke_do_keeps_one_connection() {
    let Some(windows) = windows() else { return };
    let dll = windows_path(&windows.bin.join("lcm_outcome.dll"));
    for load in ["--load=pinvoke".to_string(), format!("--load={dll}")] {
        let sim = sim();
        let calls = windows.calls(&[&load, "--calls=3", &sim.url()]);
        let statuses: Vec<&str> = calls.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(statuses, ["LCM_OK"; 3], "{load}: {calls:?}");
        assert_eq!(sim.accepted().len(), 3);
        // The fork check compares process ids: a steady one keeps the pool.
        assert_eq!(
            sim.connection_count(),
            1,
            "{load}: one kept-alive connection"
        );
    }
}

#[test]
fn the_error_buffer_at_lengths_0_1_and_lcm_error_size() {
    let Some(windows) = windows() else { return };
    let sim = sim();
    let output = windows.run("dynamic_caller", &["--buffers", &sim.url()]);
    assert_eq!(
        assert_success(&output, "dynamic_caller --buffers"),
        "buffers: 7 checks passed\n"
    );
    assert_eq!(sim.accepted().len(), 2, "the two successful calls");
}

#[test]
fn a_hanging_server_times_out_within_the_deadline() {
    let Some(windows) = windows() else { return };
    let sim = sim_with(Faults::answering(Answer::Hang));
    let deadline_ms = 2000.0;
    let calls = windows.calls(&[&sim.url(), "timeout_ms=2000"]);
    let (status, ms, message) = &calls[0];
    assert_eq!(status, "LCM_ERR_TIMEOUT", "{message}");
    assert!(
        *ms >= deadline_ms * 0.95 && *ms <= deadline_ms * 1.2,
        "the call took {ms} ms for a {deadline_ms} ms deadline"
    );
    assert_eq!(sim.request_count(), 1, "a timeout is not retried");
    println!(
        "LCM_ERR_TIMEOUT after {ms} ms, measured in the program, for a {deadline_ms} ms deadline"
    );
}

#[test]
fn https_trusts_a_ca_file_given_as_a_windows_path_and_nothing_else() {
    let Some(windows) = windows() else { return };
    let (ca, stranger) = (TestCa::new().unwrap(), TestCa::new().unwrap());
    let dir = WorkDir::new("windows_https");
    let pem = dir.path().join("ca.pem");
    ca.write_cert_pem(&pem).unwrap();
    let ca_file = format!("ca_file={}", windows_path(&pem));
    let https = |ca: &TestCa| {
        Sim::start(SimConfig {
            tls: Some(ca.issue_for_loopback().unwrap()),
            ..SimConfig::default()
        })
        .unwrap()
    };

    let trusted = https(&ca);
    // By name too: the name goes through Windows' resolver and the certificate check.
    let by_name = format!("https://localhost:{}/lcm", trusted.addr().port());
    for endpoint in [trusted.url(), by_name] {
        let calls = windows.calls(&[&endpoint, &ca_file]);
        assert_eq!(calls[0].0, "LCM_OK", "{endpoint}: {calls:?}");
    }
    assert_eq!(trusted.accepted().len(), 2);

    let untrusted = https(&stranger);
    // With the other CA's file, and with the built-in roots alone.
    for trust in [vec![ca_file.as_str()], vec![]] {
        let url = untrusted.url();
        let calls = windows.calls(&[&[url.as_str(), "retries=0"], &trust[..]].concat());
        let (status, _, message) = &calls[0];
        assert_eq!(status, "LCM_ERR_CONNECT", "{trust:?}: {message}");
        assert!(message.contains("UnknownIssuer"), "{message}");
    }
    assert_eq!(untrusted.request_count(), 0, "nothing reached the server");
}

#[test]
fn eight_threads_fifty_calls_each_are_each_recorded_once() {
    let Some(windows) = windows() else { return };
    let sim = sim();
    let output = windows.run("threads", &[&sim.url()]);
    assert_eq!(
        assert_success(&output, "threads.exe"),
        "threads: 400 calls, 0 failed\n"
    );
    let expected: Vec<String> = (0..8)
        .flat_map(|t| (0..50).map(move |n| format!("t{t}-{n}")))
        .collect();
    assert_recorded_once(&sim, &expected);
}

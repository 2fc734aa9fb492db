//! The `lcm-sim` command line (std only, to keep the build small).

use std::fmt;
use std::io::Write;
use std::path::PathBuf;

use crate::{load_calls_file, Faults, Sim, SimConfig};

/// The `--help` text.
pub const USAGE: &str = "\
Usage: lcm-sim [OPTIONS]

A local LCM SetCallOutcomeWithComments endpoint for testing dialers and lcm-outcome.
Meant for loopback: it has no authentication and no TLS.

On start it prints one line, `lcm-sim listening on http://HOST:PORT/lcm`, then serves
until killed. Any path is served; requests must be POST with a JSON body.

Options:
  --listen ADDR            address to listen on [default: 127.0.0.1:8080]; port 0 picks one
  --record FILE            append each accepted outcome to FILE as one JSON line
  --calls FILE             known call ids, one per line (# comments); others get WS_Error
  --latency-ms N           wait N ms before each answer
  --fail-status CODE       answer CODE with {\"error\":\"injected fault\"} ...
  --fail-count N           ... for the next N requests only [default: 0 = every request]
  --retry-after-secs N     with --fail-status 429 or 503: send Retry-After: N
  --malformed              answer 200 with a body that is not JSON
  --drop-connection        read each request, then close the connection without answering
  --pad-body-to N          pad each successful answer with spaces to N bytes (still valid JSON)
  --threads N              most connections served at once [default: 1024]
  -h, --help               print this help
  -V, --version            print the version
";

/// Why the command line failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// Bad arguments (exit status 2; print [`USAGE`]).
    Usage(String),
    /// The simulator could not start (exit status 1).
    Failed(String),
}

impl CliError {
    /// The process exit status for this error: 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failed(_) => 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CliError {}

/// What the command line asks for.
enum Command {
    Help,
    Version,
    Serve { listen: String, config: SimConfig },
}

/// A number option's value.
fn number<T: std::str::FromStr>(option: &str, value: &str) -> Result<T, CliError> {
    value.parse().map_err(|_| {
        CliError::Usage(format!(
            "{option}: expected a non-negative integer, got {value:?}"
        ))
    })
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, CliError> {
    let mut listen = "127.0.0.1:8080".to_owned();
    let mut record = None;
    let mut calls_file: Option<PathBuf> = None;
    let mut faults = Faults::default();
    let mut fail_count_given = false;
    let mut threads = 0;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // Both "--opt value" and "--opt=value".
        let (option, inline) = match arg.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let takes_value = matches!(
            option.as_str(),
            "--listen"
                | "--record"
                | "--calls"
                | "--latency-ms"
                | "--fail-status"
                | "--fail-count"
                | "--retry-after-secs"
                | "--pad-body-to"
                | "--threads"
        );
        let value = if takes_value {
            match inline {
                Some(v) => v,
                None => args
                    .next()
                    .ok_or_else(|| CliError::Usage(format!("{option}: missing value")))?,
            }
        } else if inline.is_some() {
            return Err(CliError::Usage(format!("{option}: takes no value")));
        } else {
            String::new()
        };
        match option.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--listen" => listen = value,
            "--record" => record = Some(PathBuf::from(value)),
            "--calls" => calls_file = Some(PathBuf::from(value)),
            "--latency-ms" => faults.latency_ms = number(&option, &value)?,
            "--fail-status" => {
                let status: u16 = number(&option, &value)?;
                if !(100..=599).contains(&status) {
                    return Err(CliError::Usage(format!(
                        "--fail-status: expected an HTTP status 100..=599, got {status}"
                    )));
                }
                faults.fail_status = Some(status);
            }
            "--fail-count" => {
                faults.fail_count = number(&option, &value)?;
                fail_count_given = true;
            }
            "--retry-after-secs" => faults.retry_after_secs = Some(number(&option, &value)?),
            "--malformed" => faults.malformed = true,
            "--drop-connection" => faults.drop_connection = true,
            "--pad-body-to" => faults.pad_body_to = Some(number(&option, &value)?),
            "--threads" => threads = number(&option, &value)?,
            other => return Err(CliError::Usage(format!("unknown option {other:?}"))),
        }
    }
    // Options that would silently do nothing are mistakes worth reporting.
    if fail_count_given && faults.fail_status.is_none() {
        return Err(CliError::Usage(
            "--fail-count needs --fail-status".to_owned(),
        ));
    }
    if faults.retry_after_secs.is_some() && !matches!(faults.fail_status, Some(429 | 503)) {
        return Err(CliError::Usage(
            "--retry-after-secs needs --fail-status 429 or 503".to_owned(),
        ));
    }
    let calls = match calls_file {
        Some(path) => Some(load_calls_file(&path).map_err(|e| {
            CliError::Failed(format!("cannot read calls file {}: {e}", path.display()))
        })?),
        None => None,
    };
    Ok(Command::Serve {
        listen,
        config: SimConfig {
            record,
            calls,
            faults,
            threads,
        },
    })
}

/// Runs the `lcm-sim` command line. `args` excludes the program name. Serves until the
/// process is killed; returns only for `--help`, `--version` or an error.
pub fn run_cli(args: impl IntoIterator<Item = String>) -> Result<(), CliError> {
    let (listen, config) = match parse(args)? {
        Command::Help => {
            print!("{USAGE}");
            return Ok(());
        }
        Command::Version => {
            println!("lcm-sim {}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        Command::Serve { listen, config } => (listen, config),
    };
    let sim = Sim::bind(&listen, config)
        .map_err(|e| CliError::Failed(format!("cannot listen on {listen}: {e}")))?;
    {
        // Scripts read the port from this line, so it goes out whole and at once. A
        // closed stdout is no reason to stop serving.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "lcm-sim listening on {}", sim.url());
        let _ = out.flush();
    }
    // Serve until killed; park can wake spuriously, hence the loop.
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_every_option() {
        let Command::Serve { listen, config } = parse(args(&[
            "--listen=127.0.0.1:0",
            "--latency-ms",
            "5",
            "--fail-status",
            "503",
            "--fail-count",
            "2",
            "--retry-after-secs",
            "1",
            "--malformed",
            "--drop-connection",
            "--pad-body-to",
            "70000",
            "--threads",
            "4",
            "--record",
            "/tmp/x",
        ]))
        .ok()
        .unwrap() else {
            panic!("expected Serve")
        };
        assert_eq!(listen, "127.0.0.1:0");
        let want = Faults {
            latency_ms: 5,
            fail_status: Some(503),
            fail_count: 2,
            retry_after_secs: Some(1),
            malformed: true,
            drop_connection: true,
            pad_body_to: Some(70_000),
        };
        assert_eq!(config.faults, want);
        assert_eq!(config.threads, 4);
        assert_eq!(config.record, Some(PathBuf::from("/tmp/x")));
    }

    #[test]
    fn rejects_mistakes_as_usage_errors() {
        for bad in [
            &["--bogus"][..],
            &["--latency-ms"],
            &["--latency-ms", "-1"],
            &["--fail-status", "42"],
            &["--fail-count", "1"],
            &["--fail-status", "500", "--retry-after-secs", "1"],
            &["--malformed=yes"],
        ] {
            let err = parse(args(bad)).err().expect("should fail");
            assert_eq!(err.exit_code(), 2, "{bad:?}: {err}");
        }
    }
}

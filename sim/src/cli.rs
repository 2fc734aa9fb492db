//! The `lcm-sim` command line (std only, to keep the build small).

use std::fmt;
use std::io::Write;
use std::path::PathBuf;

use crate::{load_calls_file, Answer, Faults, RetryAfter, Sim, SimConfig, TestCa, TlsIdentity};

/// The `--help` text.
pub const USAGE: &str = "\
Usage: lcm-sim [OPTIONS]

A local LCM SetCallOutcomeWithComments endpoint for testing dialers and lcm-outcome.
Meant for loopback: it has no authentication.

On start it prints one line, `lcm-sim listening on http://HOST:PORT/lcm` (https:// with
TLS), then serves until killed. Any path is served; requests must be POST with a JSON
body. Requests are not kept in memory, so it can serve any number of them.

Options:
  --listen ADDR            address to listen on [default: 127.0.0.1:8080]; port 0 picks one
  --record FILE            append each accepted outcome to FILE as one JSON line, written
                           before the answer is sent
  --calls FILE             known call ids, one per line (# comments); others get WS_Error
  --max-connections N      most connections served at once [default: 1024]
                           (--threads N: the same, its older name)

TLS (plain HTTP without these):
  --tls-cert FILE          serve HTTPS with this PEM certificate chain ...
  --tls-key FILE           ... and this PEM private key
  --tls-test-ca DIR        make a throwaway CA and a certificate for 127.0.0.1, ::1 and
                           localhost; write DIR/ca.pem (for the client), DIR/cert.pem and
                           DIR/key.pem; serve HTTPS with them

Faults: what is answered (one of these at most; the outcome is not recorded):
  --drop-connection        read each request, then close the connection without answering
  --hang                   read each request, then never answer; keep the connection open
  --fail-status CODE       answer CODE (e.g. 500, 502, 503, 429) with
                           {\"error\":\"injected fault\"} ...
  --fail-count N           ... for the next N requests only [default: 0 = every request]
  --retry-after-secs N     with --fail-status: send Retry-After: N
  --retry-after VALUE      with --fail-status, instead of --retry-after-secs: send
                           Retry-After: VALUE as is (an HTTP date)
  --redirect-to URL        answer 302 with Location: URL
  --redirect-status CODE   with --redirect-to: this 3xx status instead of 302
  --malformed              answer 200 with a body that is not JSON
  --answer-variant NAME    answer 200 with a result that is valid but for one thing:
                           wrong-subtopic, other-callid, success-missing,
                           success-not-boolean, rejected (success:false with WS_Error),
                           rejected-without-error (success:false, no error object)

Faults: how each answer is delivered (a valid request is still recorded):
  --latency-ms N           wait N ms before each answer
  --pad-body-to N          pad each successful answer with spaces to N bytes (still valid JSON)
  --trickle-headers-ms N   send the status line and headers one byte every N ms
  --trickle-body-ms N      send the body one byte every N ms
  --reset-after-body-bytes N
                           send the headers and N body bytes (at most all but the last),
                           then abort the connection with a TCP RST
  --close-idle-ms N        close each connection once idle N ms after an answer, without
                           announcing it (0: right after the answer)

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

/// Where the TLS identity comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TlsSource {
    Files { cert: PathBuf, key: PathBuf },
    TestCa(PathBuf),
}

/// What the command line asks for.
enum Command {
    Help,
    Version,
    Serve {
        listen: String,
        config: Box<SimConfig>,
        tls: Option<TlsSource>,
    },
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
    let mut fail_status: Option<u16> = None;
    let mut fail_count = 0;
    let mut retry_after: Option<RetryAfter> = None;
    let mut redirect_to: Option<String> = None;
    let mut redirect_status: Option<u16> = None;
    let mut answers: Vec<(&'static str, Answer)> = Vec::new();
    let mut max_connections = SimConfig::DEFAULT_MAX_CONNECTIONS;
    let mut tls_cert: Option<PathBuf> = None;
    let mut tls_key: Option<PathBuf> = None;
    let mut tls_test_ca: Option<PathBuf> = None;
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
                | "--max-connections"
                | "--retry-after"
                | "--redirect-to"
                | "--redirect-status"
                | "--answer-variant"
                | "--trickle-headers-ms"
                | "--trickle-body-ms"
                | "--reset-after-body-bytes"
                | "--close-idle-ms"
                | "--tls-cert"
                | "--tls-key"
                | "--tls-test-ca"
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
                fail_status = Some(status);
            }
            "--fail-count" => {
                fail_count = number(&option, &value)?;
                fail_count_given = true;
            }
            "--retry-after-secs" => {
                if retry_after.is_some() {
                    return Err(CliError::Usage(
                        "--retry-after-secs and --retry-after: give one, not both".to_owned(),
                    ));
                }
                retry_after = Some(RetryAfter::Secs(number(&option, &value)?));
            }
            "--retry-after" => {
                if retry_after.is_some() {
                    return Err(CliError::Usage(
                        "--retry-after-secs and --retry-after: give one, not both".to_owned(),
                    ));
                }
                retry_after = Some(RetryAfter::Raw(value));
            }
            "--redirect-to" => redirect_to = Some(value),
            "--redirect-status" => {
                let status: u16 = number(&option, &value)?;
                if !(300..=399).contains(&status) {
                    return Err(CliError::Usage(format!(
                        "--redirect-status: expected a 3xx status, got {status}"
                    )));
                }
                redirect_status = Some(status);
            }
            "--answer-variant" => {
                let variant = value
                    .parse()
                    .map_err(|e| CliError::Usage(format!("{option}: {e}")))?;
                answers.push(("--answer-variant", Answer::Variant(variant)));
            }
            "--malformed" => answers.push(("--malformed", Answer::Malformed)),
            "--drop-connection" => answers.push(("--drop-connection", Answer::DropConnection)),
            "--hang" => answers.push(("--hang", Answer::Hang)),
            "--pad-body-to" => faults.pad_body_to = Some(number(&option, &value)?),
            "--trickle-headers-ms" => faults.trickle_headers_ms = Some(number(&option, &value)?),
            "--trickle-body-ms" => faults.trickle_body_ms = Some(number(&option, &value)?),
            "--reset-after-body-bytes" => {
                faults.reset_after_body_bytes = Some(number(&option, &value)?);
            }
            "--close-idle-ms" => faults.close_idle_ms = Some(number(&option, &value)?),
            "--max-connections" | "--threads" => max_connections = number(&option, &value)?,
            "--tls-cert" => tls_cert = Some(PathBuf::from(value)),
            "--tls-key" => tls_key = Some(PathBuf::from(value)),
            "--tls-test-ca" => tls_test_ca = Some(PathBuf::from(value)),
            other => return Err(CliError::Usage(format!("unknown option {other:?}"))),
        }
    }
    // Options that would silently do nothing are mistakes worth reporting.
    if fail_count_given && fail_status.is_none() {
        return Err(CliError::Usage(
            "--fail-count needs --fail-status".to_owned(),
        ));
    }
    if retry_after.is_some() && fail_status.is_none() {
        return Err(CliError::Usage(
            "--retry-after-secs and --retry-after need --fail-status".to_owned(),
        ));
    }
    if redirect_status.is_some() && redirect_to.is_none() {
        return Err(CliError::Usage(
            "--redirect-status needs --redirect-to".to_owned(),
        ));
    }
    if let Some(status) = fail_status {
        let answer = Answer::Status {
            status,
            count: fail_count,
            retry_after,
        };
        answers.push(("--fail-status", answer));
    }
    if let Some(location) = redirect_to {
        let status = redirect_status.unwrap_or(302);
        answers.push(("--redirect-to", Answer::Redirect { location, status }));
    }
    match answers.as_slice() {
        [] => {}
        [(_, answer)] => faults.answer = answer.clone(),
        [(first, _), (second, _), ..] => {
            return Err(CliError::Usage(format!(
                "{first} and {second} choose two different answers; give one"
            )))
        }
    }
    faults
        .validate()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let tls = match (tls_cert, tls_key, tls_test_ca) {
        (None, None, None) => None,
        (Some(cert), Some(key), None) => Some(TlsSource::Files { cert, key }),
        (None, None, Some(dir)) => Some(TlsSource::TestCa(dir)),
        (_, _, Some(_)) => {
            return Err(CliError::Usage(
                "--tls-test-ca cannot be combined with --tls-cert/--tls-key".to_owned(),
            ))
        }
        _ => {
            return Err(CliError::Usage(
                "--tls-cert and --tls-key go together".to_owned(),
            ))
        }
    };
    let calls = match calls_file {
        Some(path) => Some(load_calls_file(&path).map_err(|e| {
            CliError::Failed(format!("cannot read calls file {}: {e}", path.display()))
        })?),
        None => None,
    };
    Ok(Command::Serve {
        listen,
        config: Box::new(SimConfig {
            record,
            calls,
            faults,
            max_connections,
            tls: None,
            // Nothing could read them back, and a long run must not grow.
            keep_requests: false,
        }),
        tls,
    })
}

/// Loads (or, for `--tls-test-ca`, makes and writes) the TLS identity.
fn load_tls(source: &TlsSource) -> Result<TlsIdentity, CliError> {
    match source {
        TlsSource::Files { cert, key } => TlsIdentity::from_pem_files(cert, key)
            .map_err(|e| CliError::Failed(format!("cannot read the TLS certificate or key: {e}"))),
        TlsSource::TestCa(dir) => {
            let failed = |e: std::io::Error| {
                CliError::Failed(format!("--tls-test-ca {}: {e}", dir.display()))
            };
            std::fs::create_dir_all(dir).map_err(failed)?;
            let ca = TestCa::new().map_err(failed)?;
            ca.write_cert_pem(&dir.join("ca.pem")).map_err(failed)?;
            let identity = ca.issue_for_loopback().map_err(failed)?;
            identity.write_pem_files(dir).map_err(failed)?;
            Ok(identity)
        }
    }
}

/// Runs the `lcm-sim` command line. `args` excludes the program name. Serves until the
/// process is killed; returns only for `--help`, `--version` or an error.
pub fn run_cli(args: impl IntoIterator<Item = String>) -> Result<(), CliError> {
    let (listen, mut config, tls) = match parse(args)? {
        Command::Help => {
            print!("{USAGE}");
            return Ok(());
        }
        Command::Version => {
            println!("lcm-sim {}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        Command::Serve {
            listen,
            config,
            tls,
        } => (listen, config, tls),
    };
    if let Some(source) = &tls {
        config.tls = Some(load_tls(source)?);
    }
    let sim = Sim::bind(&listen, *config)
        .map_err(|e| CliError::Failed(format!("cannot serve on {listen}: {e}")))?;
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
    use crate::AnswerVariant;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn serve(list: &[&str]) -> (String, Box<SimConfig>, Option<TlsSource>) {
        match parse(args(list)) {
            Ok(Command::Serve {
                listen,
                config,
                tls,
            }) => (listen, config, tls),
            Ok(_) => panic!("{list:?}: expected Serve"),
            Err(e) => panic!("{list:?}: {e}"),
        }
    }

    #[test]
    fn parses_every_option() {
        let (listen, config, tls) = serve(&[
            "--listen=127.0.0.1:0",
            "--latency-ms",
            "5",
            "--fail-status",
            "503",
            "--fail-count",
            "2",
            "--retry-after=Wed, 21 Oct 2015 07:28:00 GMT",
            "--threads",
            "4",
            "--record",
            "/tmp/x",
            "--trickle-headers-ms",
            "10",
            "--trickle-body-ms=0",
            "--reset-after-body-bytes",
            "12",
            "--close-idle-ms",
            "250",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ]);
        assert_eq!(listen, "127.0.0.1:0");
        let want = Faults {
            answer: Answer::Status {
                status: 503,
                count: 2,
                retry_after: Some(RetryAfter::Raw("Wed, 21 Oct 2015 07:28:00 GMT".to_owned())),
            },
            latency_ms: 5,
            pad_body_to: None,
            trickle_headers_ms: Some(10),
            trickle_body_ms: Some(0),
            reset_after_body_bytes: Some(12),
            close_idle_ms: Some(250),
        };
        assert_eq!(config.faults, want);
        assert_eq!(config.max_connections, 4);
        assert_eq!(config.record, Some(PathBuf::from("/tmp/x")));
        assert!(!config.keep_requests);
        assert_eq!(
            tls,
            Some(TlsSource::Files {
                cert: PathBuf::from("c.pem"),
                key: PathBuf::from("k.pem")
            })
        );
    }

    #[test]
    fn each_answer_flag_chooses_its_answer() {
        let cases: Vec<(&[&str], Answer)> = vec![
            (&[], Answer::Normal),
            (&["--drop-connection"], Answer::DropConnection),
            (&["--hang"], Answer::Hang),
            (&["--malformed"], Answer::Malformed),
            (&["--fail-status", "500"], Answer::fail(500)),
            (
                &["--fail-status", "429", "--retry-after-secs", "1"],
                Answer::Status {
                    status: 429,
                    count: 0,
                    retry_after: Some(RetryAfter::Secs(1)),
                },
            ),
            (
                &["--redirect-to", "http://127.0.0.1:9/elsewhere"],
                Answer::Redirect {
                    location: "http://127.0.0.1:9/elsewhere".to_owned(),
                    status: 302,
                },
            ),
            (
                &["--redirect-to", "/x", "--redirect-status", "307"],
                Answer::Redirect {
                    location: "/x".to_owned(),
                    status: 307,
                },
            ),
            (
                &["--answer-variant", "success-not-boolean"],
                Answer::Variant(AnswerVariant::SuccessNotBoolean),
            ),
        ];
        for (list, want) in cases {
            assert_eq!(serve(list).1.faults.answer, want, "{list:?}");
        }
        let (_, config, _) = serve(&["--pad-body-to", "70000"]);
        assert_eq!(config.faults.pad_body_to, Some(70_000));
        let (_, config, _) = serve(&[]);
        assert_eq!(config.max_connections, SimConfig::DEFAULT_MAX_CONNECTIONS);
        let (_, config, _) = serve(&["--max-connections", "7"]);
        assert_eq!(config.max_connections, 7);
    }

    #[test]
    fn rejects_mistakes_as_usage_errors() {
        for bad in [
            &["--bogus"][..],
            &["--latency-ms"],
            &["--latency-ms", "-1"],
            &["--fail-status", "42"],
            &["--fail-count", "1"],
            &["--retry-after-secs", "1"],
            &["--retry-after", "soon"],
            &[
                "--fail-status",
                "503",
                "--retry-after-secs",
                "1",
                "--retry-after",
                "x",
            ],
            &["--redirect-status", "307"],
            &["--redirect-to", "/x", "--redirect-status", "200"],
            &["--answer-variant", "maybe"],
            &["--malformed", "--drop-connection"],
            &["--fail-status", "500", "--redirect-to", "/x"],
            &["--hang", "--close-idle-ms", "0"],
            &["--malformed", "--pad-body-to", "100"],
            &["--trickle-body-ms", "fast"],
            &["--tls-cert", "c.pem"],
            &["--tls-key", "k.pem"],
            &["--tls-test-ca", "d", "--tls-cert", "c", "--tls-key", "k"],
            &["--malformed=yes"],
            &["--hang=1"],
        ] {
            let err = parse(args(bad)).err().expect("should fail");
            assert_eq!(err.exit_code(), 2, "{bad:?}: {err}");
        }
    }
}

//! The `lcm-sim` command line: flags parsed by clap (see `cli/args.rs`), then the
//! simulator started and served until the process is killed.

mod args;

use std::fmt;
use std::io::Write;
use std::path::PathBuf;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser};

use crate::{load_calls_file, Sim, SimConfig, TestCa, TlsIdentity};
use args::Args;

/// The one-line usage summary (`Usage: lcm-sim [OPTIONS]`), to print after a usage error.
pub fn usage() -> String {
    Args::command().render_usage().to_string()
}

/// Why the command line failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// Bad arguments (exit status 2; print [`usage`] after it).
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
    /// Print this (the help or the version) and exit 0.
    Print(String),
    Serve {
        listen: String,
        config: Box<SimConfig>,
        tls: Option<TlsSource>,
    },
}

/// A clap error as one line for [`CliError::Usage`] (clap's own text, without its
/// `error: ` prefix and usage lines, which `main` prints once).
fn usage_error(e: &clap::Error) -> CliError {
    if e.kind() == ErrorKind::UnknownArgument {
        if let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) {
            return CliError::Usage(format!("unknown option {arg:?}"));
        }
    }
    // The message is the first paragraph (some, like a missing argument, go on over
    // indented lines).
    let text = e.to_string();
    let message: Vec<&str> = text
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let message = message.join(" ");
    CliError::Usage(
        message
            .strip_prefix("error: ")
            .unwrap_or(&message)
            .to_owned(),
    )
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, CliError> {
    let argv = std::iter::once("lcm-sim".to_owned()).chain(args);
    let args = match Args::try_parse_from(argv) {
        Ok(args) => args,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            return Ok(Command::Print(e.to_string()));
        }
        Err(e) => return Err(usage_error(&e)),
    };
    let faults = args.faults();
    faults
        .validate()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let tls = match (&args.tls_cert, &args.tls_key, &args.tls_test_ca) {
        (Some(cert), Some(key), _) => Some(TlsSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        }),
        (_, _, Some(dir)) => Some(TlsSource::TestCa(dir.clone())),
        // clap requires --tls-cert and --tls-key together.
        _ => None,
    };
    let calls = match &args.calls {
        Some(path) => Some(load_calls_file(path).map_err(|e| {
            CliError::Failed(format!("cannot read calls file {}: {e}", path.display()))
        })?),
        None => None,
    };
    Ok(Command::Serve {
        listen: args.listen,
        config: Box::new(SimConfig {
            record: args.record,
            calls,
            faults,
            max_connections: args.max_connections,
            tls: None,
            // Nothing could read them back, and a long run must not grow.
            keep_requests: false,
            path: args.path,
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
        Command::Print(text) => {
            print!("{text}");
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
    use crate::{
        Answer, AnswerVariant, AuthEcho, AuthPart, ChunkPadding, Faults, OverlongChunkLine,
        RejectedDetail, RetryAfter,
    };

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
            "--close-delay-ms",
            "40",
            "--bom",
            "--gzip",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--path",
            "/api/lcm",
        ]);
        assert_eq!(listen, "127.0.0.1:0");
        assert_eq!(config.path.as_deref(), Some("/api/lcm"));
        let want = Faults {
            answer: Answer::Status {
                status: 503,
                count: 2,
                retry_after: Some(RetryAfter::Raw("Wed, 21 Oct 2015 07:28:00 GMT".to_owned())),
            },
            latency_ms: 5,
            pad_body_to: None,
            bom: true,
            gzip: true,
            overlong_chunk_line: None,
            trickle_headers_ms: Some(10),
            trickle_body_ms: Some(0),
            reset_after_body_bytes: Some(12),
            close_idle_ms: Some(250),
            close_delay_ms: 40,
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
            (
                &["--echo-auth", "json-escaped"],
                Answer::EchoAuth {
                    form: AuthEcho::JsonEscaped,
                    part: AuthPart::Value,
                    status: 401,
                },
            ),
            (
                &["--echo-auth=location", "--echo-auth-part=token"],
                Answer::EchoAuth {
                    form: AuthEcho::Location,
                    part: AuthPart::Token,
                    status: 302,
                },
            ),
            (
                &["--echo-auth", "base64", "--echo-auth-status", "403"],
                Answer::EchoAuth {
                    form: AuthEcho::Base64,
                    part: AuthPart::Value,
                    status: 403,
                },
            ),
            (
                &["--control-chars-body"],
                Answer::ControlCharsBody { status: 500 },
            ),
            (
                &["--control-chars-body", "--control-chars-status", "502"],
                Answer::ControlCharsBody { status: 502 },
            ),
            (
                &["--rejected-detail", "agent-comments"],
                Answer::RejectedDetail(RejectedDetail::AgentComments),
            ),
        ];
        for (list, want) in cases {
            assert_eq!(serve(list).1.faults.answer, want, "{list:?}");
        }
        let (_, config, _) = serve(&["--pad-body-to", "70000"]);
        assert_eq!(config.faults.pad_body_to, Some(70_000));
        let (_, config, _) = serve(&["--overlong-chunk-line", "9000"]);
        let line = OverlongChunkLine {
            len: 9000,
            padding: ChunkPadding::Zeros,
        };
        assert_eq!(config.faults.overlong_chunk_line, Some(line));
        let (_, config, _) = serve(&[
            "--overlong-chunk-line",
            "20",
            "--chunk-line-padding",
            "extension",
        ]);
        let line = OverlongChunkLine {
            len: 20,
            padding: ChunkPadding::Extension,
        };
        assert_eq!(config.faults.overlong_chunk_line, Some(line));
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
            &["--max-connections", "0"],
            &["--echo-auth", "uuencode"],
            &["--echo-auth-part", "token"],
            &["--echo-auth", "location", "--echo-auth-status", "401"],
            &["--echo-auth", "plain", "--hang"],
            &["--control-chars-status", "500"],
            &["--rejected-detail", "secrets"],
            &["--chunk-line-padding", "zeros"],
            &["--overlong-chunk-line", "10", "--trickle-body-ms", "1"],
            &["--close-delay-ms", "10"],
            &["--drop-connection", "--bom"],
            &["--gzip=yes"],
            &["--path", "lcm"],
            &["--path", "/a b"],
            &["--path", "/lcm?x=1"],
        ] {
            let err = parse(args(bad)).err().expect("should fail");
            assert_eq!(err.exit_code(), 2, "{bad:?}: {err}");
        }
    }

    #[test]
    fn every_flag_states_its_default() {
        let command = Args::command();
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") {
                continue;
            }
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            assert!(
                !arg.get_default_values().is_empty() || help.contains("[default: "),
                "--{id}: its help does not state its default: {help:?}"
            );
        }
    }

    #[test]
    fn help_and_version_are_printed_not_errors() {
        for flag in ["--help", "-h", "--version", "-V"] {
            match parse(args(&[flag])) {
                Ok(Command::Print(text)) => assert!(!text.is_empty(), "{flag}"),
                _ => panic!("{flag}: expected text to print"),
            }
        }
        let Ok(Command::Print(help)) = parse(args(&["--help"])) else {
            unreachable!()
        };
        assert!(help.contains("loopback") && help.contains("--drop-connection"));
    }

    #[test]
    fn usage_errors_name_the_flag() {
        for (bad, want) in [
            (&["--bogus"][..], "unknown option \"--bogus\""),
            (&["--fail-count", "1"], "--fail-status"),
            (&["--hang", "--malformed"], "'--malformed'"),
            (&["--fail-status", "42"], "(--fail-status)"),
            (&["--hang", "--close-idle-ms", "0"], "(--close-idle-ms)"),
            (&["--latency-ms", "-1"], "'--latency-ms <N>'"),
            (&["--path", "lcm"], "must start with /"),
        ] {
            let err = parse(args(bad)).err().expect("should fail").to_string();
            assert!(
                err.contains(want),
                "{bad:?}: {err:?} should contain {want:?}"
            );
            assert!(!err.contains('\n'), "{bad:?}: one line: {err:?}");
        }
    }
}

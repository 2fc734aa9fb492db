//! What does `lcm-outcome` accept on its command line? Every command and flag, with the
//! help text that documents its default (docs/design.md §10).
//!
//! The flags that reach LCM default to their `LCM_*` variable and then to the library's
//! own default, so their help says both; clap's own `default_value` is kept for flags
//! that have a fixed default, where clap prints it itself.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The exit codes, shown at the end of the top-level help and of each command's.
pub const EXIT_CODES: &str = "\
Exit codes:
  0   LCM_OK: done (send: LCM confirmed the outcome; flush: nothing left pending;
      check: LCM refused the probe as documented)
  1-8 the library's error statuses: 1 INVALID_ARGUMENT, 2 CONFIG, 3 CONNECT, 4 TIMEOUT,
      5 HTTP_STATUS, 6 BAD_RESPONSE, 7 REJECTED, 8 INTERNAL
  9   LCM_QUEUED: not confirmed now, stored in the outbox, delivered later
  64  usage error (EX_USAGE): unknown or missing flag, a value that is not a number,
      --id naming no dead letter, purge without --yes when stdin is not a terminal";

/// Records call outcomes in LCM, and inspects and delivers the outbox, from a shell.
#[derive(Debug, Parser)]
#[command(name = "lcm-outcome", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Records one call's outcome in LCM; prints the status and its message, and exits
    /// with the status's value.
    #[command(after_help = EXIT_CODES)]
    Send(SendArgs),
    /// Inspects, delivers and tidies an outbox file (the outcomes waiting for LCM).
    #[command(subcommand, after_help = EXIT_CODES)]
    Outbox(OutboxCommand),
    /// Proves that the endpoint is reachable and is LCM's SetCallOutcomeWithComments,
    /// without recording anything: sends the vendor's documented empty-callid case and
    /// exits 0 only when LCM's documented refusal comes back.
    #[command(long_about = CHECK_ABOUT, after_help = CHECK_EXIT_CODES)]
    Check(CheckArgs),
}

const CHECK_ABOUT: &str = "\
Proves that the endpoint is reachable and is LCM's SetCallOutcomeWithComments, without \
recording anything: it sends the vendor's documented empty-callid case (data.callid \"\"), \
which LCM refuses with WS_Error \"Callid is empty\" / \"Invalid Call ID.\", and exits 0 \
only when that refusal comes back.

It prints each stage with its time as it ends: DNS (the host's lookup), connect (TCP), TLS \
(the handshake and the certificate's check, https:// only), HTTP (the probe sent and the \
whole answer read) and answer (whether it is the documented refusal). A failed stage says \
why, with the status line and the first 200 bytes of what came back; never the \
Authorization value, which is not shown when the answer echoes it.

It connects directly: a proxy (--proxy, LCM_PROXY, ALL_PROXY, HTTPS_PROXY, HTTP_PROXY) is \
refused, exit 2; give --proxy none to check a direct connection. The outbox (LCM_OUTBOX) \
is not used.";

/// `check`'s exit codes, after its help.
pub const CHECK_EXIT_CODES: &str = "\
Exit codes:
  0   LCM_OK: the documented refusal came back: the endpoint is LCM's
      SetCallOutcomeWithComments, and nothing was recorded
  2   LCM_ERR_CONFIG: no endpoint, a bad flag or LCM_* value, a proxy, no CA to trust
  3   LCM_ERR_CONNECT: DNS, connect or TLS failed; nothing was sent
  4   LCM_ERR_TIMEOUT: the probe was sent, but no complete answer came in time
  5   LCM_ERR_HTTP_STATUS: the answer's status is not 2xx (a wrong path: 404)
  6   LCM_ERR_BAD_RESPONSE: a 2xx answer that is not LCM's documented refusal
  64  usage error (EX_USAGE): unknown or missing flag, a value that is not a number";

/// Where `check` sends its probe: the connection flags of `send`, but for the log
/// level (the library sends nothing here) and the outbox.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// LCM's SetCallOutcomeWithComments URL, http:// or https:// [default: LCM_ENDPOINT,
    /// else none]
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// A file holding the Authorization header's whole value (e.g. "Bearer <token>"),
    /// sent with the probe; one trailing newline is ignored [default: LCM_AUTH, else no
    /// Authorization header]
    #[arg(long, value_name = "FILE")]
    pub auth_file: Option<PathBuf>,
    /// A PEM file of CAs that HTTPS trusts besides --tls-roots [default: LCM_CA_FILE,
    /// else none]
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Which CAs HTTPS trusts besides --ca-file [default: LCM_TLS_ROOTS, else system]
    #[arg(long, value_name = "ROOTS")]
    pub tls_roots: Option<TlsRoots>,
    /// none: connect directly, whatever the environment says; check refuses any proxy
    /// [default: LCM_PROXY, else ALL_PROXY, HTTPS_PROXY and HTTP_PROXY, refused when set]
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// The whole check's deadline, DNS to answer, 1 to 3600000; DNS, and connect with
    /// TLS, may each take LCM_CONNECT_TIMEOUT_MS of it (else 3000) [default:
    /// LCM_TIMEOUT_MS, else 10000]
    #[arg(long, value_name = "MS")]
    pub timeout_ms: Option<u64>,
}

impl CheckArgs {
    /// The flags as `send`'s connection flags, for [`crate::connect::apply`].
    pub fn connection(&self) -> Connection {
        Connection {
            endpoint: self.endpoint.clone(),
            auth_file: self.auth_file.clone(),
            ca_file: self.ca_file.clone(),
            tls_roots: self.tls_roots,
            proxy: self.proxy.clone(),
            timeout_ms: self.timeout_ms,
            log_level: None,
        }
    }
}

/// The outcome's fields, as the vendor's SetCallOutcomeWithComments takes them.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The dialer's call id [required]
    #[arg(long, value_name = "ID")]
    pub call_id: String,
    /// The contact's account number, e.g. 5|3|1|0|0|44|1 [required]
    #[arg(long = "account", value_name = "KEY")]
    pub account_number: String,
    /// The outcome's id in LCM [required]
    #[arg(long = "outcome", value_name = "ID")]
    pub outcome_id: String,
    /// The agent who handled the call [required]
    #[arg(long = "user", value_name = "AGENT")]
    pub user_id: String,
    /// The lead score
    #[arg(long, value_name = "N", default_value_t = 0.0)]
    pub lead_score: f64,
    /// The agent's comments (personal data: logged only at log level trace)
    #[arg(long = "comments", value_name = "TEXT", default_value = "")]
    pub agent_comments: String,
    /// The target amount
    #[arg(long, value_name = "N", default_value_t = 0.0)]
    pub target_amount: f64,
    #[command(flatten)]
    pub connection: Connection,
    /// The outbox file: an outcome LCM did not confirm for a reason that a later try can
    /// fix is stored there (exit 9) for `lcm-outcome outbox flush`; created when missing
    /// [default: LCM_OUTBOX, else none: nothing is stored]
    #[arg(long, value_name = "FILE")]
    pub outbox: Option<PathBuf>,
    /// fallback: send now, store only when not confirmed; always: store and exit 9 at
    /// once, without sending [default: LCM_OUTBOX_MODE, else fallback]
    #[arg(long, value_name = "MODE")]
    pub outbox_mode: Option<OutboxMode>,
}

/// Where LCM is and how to reach it: flags over the `LCM_*` variables.
#[derive(Debug, Args)]
pub struct Connection {
    /// LCM's SetCallOutcomeWithComments URL, http:// or https:// [default: LCM_ENDPOINT,
    /// else none]
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// A file holding the Authorization header's whole value (e.g. "Bearer <token>");
    /// one trailing newline is ignored. The token is never taken from a flag's value,
    /// which every user of the machine can see [default: LCM_AUTH, else no
    /// Authorization header]
    #[arg(long, value_name = "FILE")]
    pub auth_file: Option<PathBuf>,
    /// A PEM file of CAs that HTTPS trusts besides --tls-roots [default: LCM_CA_FILE,
    /// else none]
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Which CAs HTTPS trusts besides --ca-file [default: LCM_TLS_ROOTS, else system]
    #[arg(long, value_name = "ROOTS")]
    pub tls_roots: Option<TlsRoots>,
    /// http://host:port, https://host:port, or none for direct connections [default:
    /// LCM_PROXY, else ALL_PROXY, HTTPS_PROXY, HTTP_PROXY and NO_PROXY]
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// The deadline of one outcome's delivery, retries included, 1 to 3600000
    /// [default: LCM_TIMEOUT_MS, else 10000]
    #[arg(long, value_name = "MS")]
    pub timeout_ms: Option<u64>,
    /// How much the library logs, on stderr [default: LCM_LOG_LEVEL, else warn]
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<LogLevel>,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Counts the pending entries and dead letters, and says how old the oldest pending
    /// entry is.
    #[command(after_help = EXIT_CODES)]
    Status(Inspect),
    /// Lists the entries, oldest first (a table without the agents' comments, or with
    /// --json every field).
    #[command(after_help = EXIT_CODES)]
    List(ListArgs),
    /// Delivers the pending entries now, oldest first, with a progress bar on a
    /// terminal, and exits with the flush's status: 0 when nothing is left pending.
    #[command(after_help = EXIT_CODES)]
    Flush(FlushArgs),
    /// Lists the dead letters (outcomes LCM refused, or too old) with LCM's answer.
    #[command(after_help = EXIT_CODES)]
    Dead(Inspect),
    /// Moves dead letters back to pending, to be delivered by the next flush.
    #[command(after_help = EXIT_CODES)]
    Retry(Pick),
    /// Deletes dead letters, after asking on a terminal; never a pending entry.
    #[command(after_help = EXIT_CODES)]
    Purge(PurgeArgs),
}

/// An outbox file that must exist: these commands never create one.
#[derive(Debug, Args)]
pub struct OutboxFile {
    /// The outbox file (it must exist) [required]
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct Inspect {
    #[command(flatten)]
    pub file: OutboxFile,
    /// Print JSON (one object per line) instead of text [default: text]
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub inspect: Inspect,
    /// Only the entries in this state [default: every state]
    #[arg(long, value_name = "STATE")]
    pub state: Option<EntryState>,
}

#[derive(Debug, Args)]
pub struct FlushArgs {
    #[command(flatten)]
    pub file: OutboxFile,
    #[command(flatten)]
    pub connection: Connection,
    /// How long the whole flush may take, at most a day; entries still pending then
    /// stay for the next flush
    #[arg(long, value_name = "MS", default_value_t = 60_000,
          value_parser = clap::value_parser!(u64).range(0..=86_400_000))]
    pub flush_timeout_ms: u64,
}

#[derive(Debug, Args)]
pub struct Pick {
    #[command(flatten)]
    pub file: OutboxFile,
    /// Only the dead letter with this id (see `outbox dead`) [default: every dead letter]
    #[arg(long, value_name = "N")]
    pub id: Option<i64>,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    #[command(flatten)]
    pub pick: Pick,
    /// Delete without asking; required when stdin is not a terminal [default: ask]
    #[arg(long)]
    pub yes: bool,
}

/// `outbox_mode`'s values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutboxMode {
    Fallback,
    Always,
}

/// `tls_roots`'s values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TlsRoots {
    System,
    Webpki,
    None,
}

/// `log_level`'s values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogLevel {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// An entry's states, for `list --state`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EntryState {
    Pending,
    Sending,
    Dead,
}

/// The library's name for a value of one of these enums: the name clap parsed.
pub fn value_name(value: &impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

//! lcm-sim's flags (clap, derive): each one documented with its default, and their
//! mapping onto [`SimConfig`] and [`Faults`]. Which flags choose an answer is clap's
//! business (one of the `answer` group at most, each sub-option requiring its flag);
//! whether the faults make sense together is [`Faults::validate`]'s.

use std::path::PathBuf;

use clap::{ArgGroup, Parser};

use crate::{
    Answer, AnswerVariant, AuthEcho, AuthPart, ChunkPadding, Faults, OverlongChunkLine,
    RejectedDetail, RetryAfter, SimConfig,
};

/// The `--help` text's description of the program.
const ABOUT: &str = "\
A local LCM SetCallOutcomeWithComments endpoint for testing dialers and lcm-outcome. \
Meant for loopback: it has no authentication.

On start it prints one line, `lcm-sim listening on http://HOST:PORT/lcm` (https:// with \
TLS; the path is --path's when given), then serves until killed. Any path is served, or \
with --path that one only; requests must be POST with a JSON body. Requests are not kept \
in memory, so it can serve any number of them.

A calls file (--calls) lists the known call ids, one per line; blanks around an id are \
trimmed, and blank lines and lines starting with # are ignored:

  # calls the dialer made today
  12345
  12346";

const AFTER_HELP: &str = "\
Faults combine: one answer (at most one flag under \"Faults: what is answered\") with any \
delivery faults. Combinations where a fault could not take effect are refused.";

/// The command line, as clap parses it.
#[derive(Parser, Debug)]
#[command(
    name = "lcm-sim",
    version,
    about = "A local LCM SetCallOutcomeWithComments endpoint for testing dialers and lcm-outcome",
    long_about = ABOUT,
    after_help = AFTER_HELP,
    max_term_width = 100,
    // So that `--latency-ms -1` is a bad number, not an unknown option `-1`.
    allow_negative_numbers = true,
    group(ArgGroup::new("answer").multiple(false)),
)]
pub(super) struct Args {
    /// Address to listen on; port 0 picks a free one
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// Append each accepted outcome to FILE as one JSON line, written before the answer is
    /// sent [default: no record]
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,

    /// Known call ids, one per line (blank lines and lines starting with # ignored); other
    /// call ids get WS_Error "Invalid Call ID:<id>" [default: every non-empty call id is
    /// known]
    #[arg(long, value_name = "FILE")]
    pub calls: Option<PathBuf>,

    /// Serve only this path (exact match, e.g. /api/lcm; the query is not compared); any
    /// other path gets 404 with a body naming this one, and no fault [default: every path]
    #[arg(long, value_name = "PATH", value_parser = parse_path)]
    pub path: Option<String>,

    /// Most connections served at once; further ones wait in the listen backlog
    /// (--threads is its older name)
    #[arg(
        long,
        value_name = "N",
        visible_alias = "threads",
        default_value_t = SimConfig::DEFAULT_MAX_CONNECTIONS,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub max_connections: usize,

    /// Serve HTTPS with this PEM certificate chain (and --tls-key) [default: plain HTTP]
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_test_ca",
        help_heading = "TLS"
    )]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert [default: none]
    #[arg(long, value_name = "FILE", requires = "tls_cert", help_heading = "TLS")]
    pub tls_key: Option<PathBuf>,

    /// Make a throwaway CA and a certificate for 127.0.0.1, ::1 and localhost; write
    /// DIR/ca.pem (for the client), DIR/cert.pem and DIR/key.pem; serve HTTPS with them
    /// [default: plain HTTP]
    #[arg(long, value_name = "DIR", help_heading = "TLS")]
    pub tls_test_ca: Option<PathBuf>,

    #[command(flatten)]
    pub answer: AnswerArgs,

    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

/// The flags that choose what is answered (one [`Answer`]) and their sub-options.
#[derive(clap::Args, Debug)]
#[command(next_help_heading = "Faults: what is answered (the outcome is not recorded)")]
pub(super) struct AnswerArgs {
    /// Read each request, then close the connection without answering [default: off]
    #[arg(long, group = "answer")]
    pub drop_connection: bool,

    /// Read each request, then never answer; keep the connection open [default: off]
    #[arg(long, group = "answer")]
    pub hang: bool,

    /// Answer CODE (200..=599, e.g. 500, 502, 503, 429) with {"error":"injected fault"}
    /// [default: off]
    #[arg(long, value_name = "CODE", group = "answer")]
    pub fail_status: Option<u16>,

    /// With --fail-status: for the next N requests only; 0 is every request [default: 0]
    #[arg(long, value_name = "N", requires = "fail_status")]
    pub fail_count: Option<u32>,

    /// With --fail-status: send Retry-After: N (seconds) [default: no Retry-After]
    #[arg(
        long,
        value_name = "N",
        requires = "fail_status",
        conflicts_with = "retry_after"
    )]
    pub retry_after_secs: Option<u64>,

    /// With --fail-status: send Retry-After: VALUE as is (an HTTP date, or anything)
    /// [default: no Retry-After]
    #[arg(long, value_name = "VALUE", requires = "fail_status")]
    pub retry_after: Option<String>,

    /// Answer 302 (or --redirect-status) with Location: URL [default: off]
    #[arg(long, value_name = "URL", group = "answer")]
    pub redirect_to: Option<String>,

    /// With --redirect-to: this 3xx status [default: 302]
    #[arg(long, value_name = "CODE", requires = "redirect_to")]
    pub redirect_status: Option<u16>,

    /// Answer 200 with a body that is not JSON [default: off]
    #[arg(long, group = "answer")]
    pub malformed: bool,

    /// Answer 200 with a result that is valid but for one thing: wrong-subtopic,
    /// other-callid, success-missing, success-not-boolean, rejected (success:false with
    /// WS_Error), rejected-without-error (success:false, no error object) [default: off]
    #[arg(long, value_name = "NAME", group = "answer")]
    pub answer_variant: Option<AnswerVariant>,

    /// Answer --echo-auth-status with the request's Authorization header (or its token,
    /// --echo-auth-part) echoed: plain (text body), json-escaped (a JSON body escaped as
    /// .NET's System.Text.Json does, e.g. + as \u002B), percent (percent-encoded, text
    /// body), base64 (text body), location (a redirect to /lcm/rejected/<echo>)
    /// [default: off]
    #[arg(long, value_name = "FORM", group = "answer")]
    pub echo_auth: Option<AuthEcho>,

    /// With --echo-auth: echo the whole header value, or only its token (what follows the
    /// scheme) [default: value]
    #[arg(long, value_name = "PART", requires = "echo_auth")]
    pub echo_auth_part: Option<AuthPart>,

    /// With --echo-auth: the status to answer [default: 401; 302 for location]
    #[arg(long, value_name = "CODE", requires = "echo_auth")]
    pub echo_auth_status: Option<u16>,

    /// Answer --control-chars-status with a text body holding CR, LF, ESC, NUL, BEL, TAB,
    /// DEL and the C1 characters U+0085 and U+009B [default: off]
    #[arg(long, group = "answer")]
    pub control_chars_body: bool,

    /// With --control-chars-body: the status to answer [default: 500]
    #[arg(long, value_name = "CODE", requires = "control_chars_body")]
    pub control_chars_status: Option<u16>,

    /// Answer 200 with success:false and a WS_Error whose detail is: control-chars (the
    /// control characters of --control-chars-body) or agent-comments (the request's
    /// AgentComments echoed) [default: off]
    #[arg(long, value_name = "WHAT", group = "answer")]
    pub rejected_detail: Option<RejectedDetail>,
}

/// The flags that shape how each answer is delivered, and what follows it.
#[derive(clap::Args, Debug)]
#[command(
    next_help_heading = "Faults: how each answer is delivered (a valid request is still recorded)"
)]
pub(super) struct DeliveryArgs {
    /// Wait N ms before each answer
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub latency_ms: u64,

    /// Pad each successful answer with spaces to N bytes (still valid JSON) [default: off]
    #[arg(long, value_name = "N")]
    pub pad_body_to: Option<usize>,

    /// Put a UTF-8 byte-order mark (EF BB BF) before each answer's body, as .NET and IIS
    /// backends do [default: off]
    #[arg(long)]
    pub bom: bool,

    /// Compress each answer's body with gzip and send Content-Encoding: gzip, unasked
    /// [default: off]
    #[arg(long)]
    pub gzip: bool,

    /// Send each answer chunked, as one chunk whose chunk-size line is LEN bytes long (e.g.
    /// 16384) [default: off]
    #[arg(long, value_name = "LEN")]
    pub overlong_chunk_line: Option<usize>,

    /// With --overlong-chunk-line: what makes the line long: zeros (leading zeros before
    /// the size) or extension (a chunk extension after it)
    #[arg(
        long,
        value_name = "PADDING",
        requires = "overlong_chunk_line",
        default_value_t = ChunkPadding::Zeros
    )]
    pub chunk_line_padding: ChunkPadding,

    /// Send the status line and headers one byte every N ms (0: one byte per write)
    /// [default: off]
    #[arg(long, value_name = "N")]
    pub trickle_headers_ms: Option<u64>,

    /// Send the body one byte every N ms (0: one byte per write) [default: off]
    #[arg(long, value_name = "N")]
    pub trickle_body_ms: Option<u64>,

    /// Send the headers and N body bytes (at most all but the last), then abort the
    /// connection with a TCP RST [default: off]
    #[arg(long, value_name = "N")]
    pub reset_after_body_bytes: Option<usize>,

    /// Close each connection once idle N ms after an answer, without announcing it (0:
    /// right after the answer) [default: off]
    #[arg(long, value_name = "N")]
    pub close_idle_ms: Option<u64>,

    /// With --close-idle-ms: once idle that long, abandon the connection (read and answer
    /// nothing more) and close it D ms later, as nginx does when its FIN is delayed (0:
    /// close at once)
    #[arg(long, value_name = "D", default_value_t = 0)]
    pub close_delay_ms: u64,
}

/// `--path`'s value, refused as a usage error when it is no request path.
fn parse_path(value: &str) -> Result<String, String> {
    match crate::service::path_problem(value) {
        Some(problem) => Err(problem),
        None => Ok(value.to_owned()),
    }
}

impl AnswerArgs {
    /// The answer the flags choose; clap has already made sure that at most one did.
    fn answer(&self) -> Answer {
        let flags = [
            self.drop_connection.then_some(Answer::DropConnection),
            self.hang.then_some(Answer::Hang),
            self.malformed.then_some(Answer::Malformed),
            self.fail_status.map(|status| self.status(status)),
            self.redirect_to.as_ref().map(|location| Answer::Redirect {
                location: location.clone(),
                status: self.redirect_status.unwrap_or(302),
            }),
            self.answer_variant.map(Answer::Variant),
            self.echo_auth.map(|form| Answer::EchoAuth {
                form,
                part: self.echo_auth_part.unwrap_or(AuthPart::Value),
                status: self.echo_auth_status.unwrap_or(match form {
                    AuthEcho::Location => 302,
                    _ => 401,
                }),
            }),
            self.control_chars_body.then(|| Answer::ControlCharsBody {
                status: self.control_chars_status.unwrap_or(500),
            }),
            self.rejected_detail.map(Answer::RejectedDetail),
        ];
        flags.into_iter().flatten().next().unwrap_or_default()
    }

    /// The `--fail-status` answer.
    fn status(&self, status: u16) -> Answer {
        let retry_after = match (self.retry_after_secs, &self.retry_after) {
            (Some(secs), _) => Some(RetryAfter::Secs(secs)),
            (None, Some(raw)) => Some(RetryAfter::Raw(raw.clone())),
            (None, None) => None,
        };
        Answer::Status {
            status,
            count: self.fail_count.unwrap_or(0),
            retry_after,
        }
    }
}

impl Args {
    /// The faults the flags ask for, not yet validated.
    pub(super) fn faults(&self) -> Faults {
        let d = &self.delivery;
        Faults {
            answer: self.answer.answer(),
            latency_ms: d.latency_ms,
            pad_body_to: d.pad_body_to,
            bom: d.bom,
            gzip: d.gzip,
            overlong_chunk_line: d.overlong_chunk_line.map(|len| OverlongChunkLine {
                len,
                padding: d.chunk_line_padding,
            }),
            trickle_headers_ms: d.trickle_headers_ms,
            trickle_body_ms: d.trickle_body_ms,
            reset_after_body_bytes: d.reset_after_body_bytes,
            close_idle_ms: d.close_idle_ms,
            close_delay_ms: d.close_delay_ms,
        }
    }
}

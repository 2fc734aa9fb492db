//! What does `lcm-outcome check` do? It proves that the endpoint is reachable and is
//! LCM's SetCallOutcomeWithComments without recording anything (docs/design.md §10): it
//! sends the vendor's documented empty-callid case, which LCM refuses, prints each
//! stage with its time, and exits 0 only when that documented refusal came back.
//!
//! The library refuses an empty call id before sending (`LCM_ERR_INVALID_ARGUMENT`),
//! so the probe is built and sent here, with the library's settings and its parser.

mod answer;
mod echo;
mod exchange;
mod setup;
mod stages;

use std::sync::Arc;

use lcm_outcome::{Error, Status};

use crate::args::CheckArgs;
use crate::exit::{Exit, Failure};
use crate::show::{line, printable};
use echo::Secrets;
use exchange::Answer;
use setup::Setup;
use stages::{millis, Progress, Stage};

/// How much of a body a failure quotes.
const QUOTED_BYTES: usize = 200;

/// Said instead of what a server sent when it holds the Authorization value.
const HIDDEN: &str = "(not shown: it holds the Authorization value)";

pub fn run(args: &CheckArgs) -> Exit {
    let setup = setup::gather(args)?;
    line(&format!(
        "checking {} with the vendor's empty-callid case, which LCM refuses without \
         recording anything",
        setup.endpoint.display
    ));
    let progress = Arc::new(Progress::new());
    let probe = answer::probe(&setup.source);
    let answer = exchange::send(&setup, &probe, &progress)
        .map_err(|e| transport_failure(&setup, &progress, &e))?;
    let secrets = Secrets::of(setup.auth.as_deref());
    http_stage(&setup, &progress, &answer, &secrets)?;
    answer_stage(&setup, &progress, &answer, &secrets)?;
    line(&format!(
        "{}: {} is LCM's SetCallOutcomeWithComments: it refused the probe as documented, \
         and nothing was recorded ({} in all)",
        Status::Ok.name(),
        setup.endpoint.display,
        millis(progress.elapsed())
    ));
    Ok(Status::Ok)
}

/// The failed stage's line, and the error: `LCM_ERR_CONNECT` before the probe was sent.
fn transport_failure(setup: &Setup, progress: &Progress, error: &ureq::Error) -> Failure {
    let cause = match error {
        ureq::Error::Io(e) => e.to_string(),
        other => other.to_string(),
    };
    let stage = progress.failed(&cause);
    let limit = limit_reached(setup, error);
    let not_sent = |what: String| {
        let text = match &limit {
            Some(limit) => format!("{what}: no answer within {limit}"),
            None => format!("{what}: {cause}"),
        };
        (Status::Connect, format!("{text}; nothing was sent"))
    };
    let (status, text) = match stage {
        Stage::Dns => not_sent(format!("DNS: looking up {}", setup.host)),
        Stage::Connect => not_sent(format!("connect to {}", setup.endpoint.display)),
        Stage::Tls if limit.is_none() => {
            let (status, text) = not_sent("TLS handshake".to_string());
            let hint = "the CAs trusted are --tls-roots' and --ca-file's";
            (status, format!("{text} ({hint})"))
        }
        Stage::Tls => not_sent("TLS handshake".to_string()),
        Stage::Http | Stage::Answer if limit.is_some() => (
            Status::Timeout,
            format!(
                "the probe was sent, but no complete answer came within {} ms (--timeout-ms)",
                setup.timeout.as_millis()
            ),
        ),
        Stage::Http | Stage::Answer => match error {
            ureq::Error::Io(_) => (
                Status::Timeout,
                format!("the connection broke after the probe was sent: {cause}"),
            ),
            _ => (
                Status::BadResponse,
                format!("the answer is not readable HTTP: {cause}"),
            ),
        },
    };
    Failure::Status(Error::new(status, printable(&text)))
}

/// For a timeout, which limit ran out: the whole check's, or the connection's part of it.
fn limit_reached(setup: &Setup, error: &ureq::Error) -> Option<String> {
    match error {
        ureq::Error::Timeout(ureq::Timeout::Global) => {
            Some(format!("{} ms (--timeout-ms)", setup.timeout.as_millis()))
        }
        ureq::Error::Timeout(_) => Some(format!(
            "{} ms (LCM_CONNECT_TIMEOUT_MS)",
            setup.connect_timeout.as_millis()
        )),
        _ => None,
    }
}

/// The HTTP stage: a 2xx answer with an uncompressed body passes.
fn http_stage(
    setup: &Setup,
    progress: &Progress,
    answer: &Answer,
    secrets: &Secrets,
) -> Result<(), Failure> {
    let status = answer.status;
    let reason = status.canonical_reason().unwrap_or("");
    let summary = format!("{} {reason}, {} bytes", status.as_u16(), answer.body.len());
    let failure = if !status.is_success() {
        let location = match &answer.location {
            Some(l) if secrets.echoed_in(l.as_bytes()) => format!(" (Location: {HIDDEN})"),
            Some(l) => format!(" (Location: {l})"),
            None => String::new(),
        };
        Error::new(
            Status::HttpStatus,
            printable(&format!(
                "{} answered {} {reason}{location}, not LCM's 200: {}",
                setup.endpoint.display,
                status.as_u16(),
                quote(&answer.body, secrets)
            )),
        )
    } else if let Some(encoding) = &answer.encoding {
        Error::new(
            Status::BadResponse,
            printable(&format!(
                "the answer's body is compressed (Content-Encoding: {encoding}), which the \
                 probe did not ask for and LCM does not do"
            )),
        )
    } else {
        progress.passed(Stage::Http, &summary);
        return Ok(());
    };
    progress.failed(&summary);
    Err(Failure::Status(failure))
}

/// The answer stage: only the documented refusal passes.
fn answer_stage(
    setup: &Setup,
    progress: &Progress,
    answer: &Answer,
    secrets: &Secrets,
) -> Result<(), Failure> {
    let why = match answer::verdict(&answer.body) {
        Ok(()) => {
            let (kind, detail, message) = answer::REFUSAL;
            progress.passed(
                Stage::Answer,
                &format!("{kind} \"{detail}\" / \"{message}\": LCM's documented refusal"),
            );
            return Ok(());
        }
        Err(_) if secrets.echoed_in(&answer.body) => {
            format!("it is not LCM's documented refusal; its body is {HIDDEN}")
        }
        Err(why) => why,
    };
    progress.failed("not LCM's documented refusal of an empty callid");
    Err(Failure::Status(Error::new(
        Status::BadResponse,
        printable(&format!(
            "{} answered {}, but {why}",
            setup.endpoint.display,
            answer.status.as_u16()
        )),
    )))
}

/// The start of `body` for a message, unless it holds a secret.
fn quote(body: &[u8], secrets: &Secrets) -> String {
    if body.is_empty() {
        return "(no body)".into();
    }
    if secrets.echoed_in(body) {
        return format!("the body is {HIDDEN}");
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(QUOTED_BYTES)]);
    // A character cut in two at the limit shows as U+FFFD, which is honest enough.
    let more = if body.len() > QUOTED_BYTES { "..." } else { "" };
    format!("{}{more}", text.trim_end())
}

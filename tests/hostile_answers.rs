//! Answers that real servers give and that nobody here wrote (.NET and IIS backends,
//! nginx closing idle connections, servers echoing what they were sent): the library
//! must give the true status, never leak a secret in any encoding, keep agent comments
//! below `trace`, and keep every log line one line (docs/design.md §2, §5).

mod common;

use std::time::Duration;

use common::*;
use lcm_outcome::ffi::*;
use lcm_sim::{Answer, AuthEcho, AuthPart, ChunkPadding, OverlongChunkLine, RejectedDetail};

/// A token with the characters servers escape: `+` (System.Text.Json), `/` (JSON's
/// optional `\/`), `=` (percent-encoding).
const TOKEN: &str = "tok+en/7f3a=Zq9wK2";
const COMMENTS: &str = "Customer asked to be called back on Tuesday";
const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Every 6-byte piece of `secret`: a message holding any of them leaks part of it.
fn pieces(secret: &str) -> Vec<&str> {
    (0..=secret.len() - 6).map(|i| &secret[i..i + 6]).collect()
}

/// Calls `sim` at each log level and checks the texts and lines of every call.
#[track_caller]
fn check_at_every_level(sim: &Sim, expected: lcm_status, words: &[&str]) -> Vec<String> {
    let mut texts = Vec::new();
    for level in LEVELS {
        capture_logs();
        let _ = take_my_logs();
        let client = Client::for_endpoint(&sim.url());
        client.set("auth", &format!("Bearer {TOKEN}"));
        client.set("log_level", level);
        client.set("retries", "0");
        let call = Call {
            agent_comments: Some(COMMENTS.as_bytes().to_vec()),
            ..Call::sample()
        };
        let result = client.send(&call);
        // take_my_logs fails the test on a line that is not one line or not UTF-8.
        let logs = take_my_logs();
        assert_status(&result, expected, words);
        for piece in pieces(TOKEN) {
            assert!(
                !result.1.contains(piece),
                "[{level}] token piece {piece:?} in {:?}",
                result.1
            );
            for line in &logs {
                assert!(
                    !line.message.contains(piece),
                    "[{level}] token piece {piece:?} logged: {line:?}"
                );
            }
        }
        assert!(
            !result.1.chars().any(char::is_control),
            "[{level}] {:?}",
            result.1
        );
        if level != "trace" {
            assert!(
                !result.1.contains(&COMMENTS[..20]),
                "[{level}] comments in {:?}",
                result.1
            );
            for line in &logs {
                assert!(
                    !line.message.contains(&COMMENTS[..20]),
                    "[{level}] comments logged: {line:?}"
                );
            }
        }
        texts.push(result.1);
    }
    texts
}

#[test]
fn a_byte_order_mark_before_the_answer_is_still_success() {
    let sim = sim_with(Faults {
        bom: true,
        ..Faults::default()
    });
    check_at_every_level(&sim, LCM_OK, &[]);
    assert_eq!(sim.accepted_count(), LEVELS.len());
}

#[test]
fn an_unrequested_gzip_answer_names_its_encoding_and_quotes_no_noise() {
    let sim = sim_with(Faults {
        gzip: true,
        ..Faults::default()
    });
    for text in check_at_every_level(
        &sim,
        LCM_ERR_BAD_RESPONSE,
        &["Content-Encoding: gzip", "may or may not be recorded"],
    ) {
        assert!(!text.contains('\u{fffd}'), "binary noise quoted: {text}");
    }
}

#[test]
fn an_overlong_chunk_line_is_a_bad_response_not_an_internal_error() {
    for padding in [ChunkPadding::Zeros, ChunkPadding::Extension] {
        let sim = sim_with(Faults {
            overlong_chunk_line: Some(OverlongChunkLine {
                len: 70_000,
                padding,
            }),
            ..Faults::default()
        });
        check_at_every_level(&sim, LCM_ERR_BAD_RESPONSE, &["may or may not be recorded"]);
    }
}

#[test]
fn echoed_secrets_are_blanked_in_every_encoding() {
    for form in [
        AuthEcho::Plain,
        AuthEcho::JsonEscaped,
        AuthEcho::Percent,
        AuthEcho::Base64,
        AuthEcho::Location,
    ] {
        for part in [AuthPart::Value, AuthPart::Token] {
            let status = if form == AuthEcho::Location { 302 } else { 401 };
            let sim = sim_with(Faults::answering(Answer::EchoAuth { form, part, status }));
            println!("echo {form} of the {part}");
            check_at_every_level(&sim, LCM_ERR_HTTP_STATUS, &["LCM answered HTTP"]);
        }
    }
}

#[test]
fn control_characters_from_a_server_stay_escaped_on_one_line() {
    let sim = sim_with(Faults::answering(Answer::ControlCharsBody { status: 500 }));
    check_at_every_level(&sim, LCM_ERR_HTTP_STATUS, &["LCM answered HTTP 500"]);
    let sim = sim_with(Faults::answering(Answer::RejectedDetail(
        RejectedDetail::ControlChars,
    )));
    let texts = check_at_every_level(&sim, LCM_ERR_REJECTED, &["LCM rejected the outcome"]);
    assert!(
        texts.iter().all(|t| t.contains("cr:\\r lf:\\n esc:\\x1b")),
        "{texts:?}"
    );
}

#[test]
fn agent_comments_echoed_in_a_rejection_appear_only_at_trace() {
    let sim = sim_with(Faults::answering(Answer::RejectedDetail(
        RejectedDetail::AgentComments,
    )));
    let texts = check_at_every_level(&sim, LCM_ERR_REJECTED, &["WS_Error"]);
    let trace = texts.last().unwrap();
    assert!(
        trace.contains(&COMMENTS[..20]),
        "trace keeps the detail: {trace}"
    );
}

#[test]
fn a_call_id_cannot_forge_a_log_line() {
    capture_logs();
    let _ = take_my_logs();
    let client = Client::for_endpoint(&refused_endpoint());
    client.set("retries", "1"); // a retried attempt logs at the default level, warn
    let forged = "12345\r\nlcm-outcome [error] forged line\x1b[2J";
    let call = Call {
        call_id: Some(forged.as_bytes().to_vec()),
        ..Call::sample()
    };
    let result = client.send(&call);
    assert_eq!(result.0, LCM_ERR_CONNECT);
    // take_my_logs fails on a line holding CR or LF; ESC must be escaped too.
    let logs = take_my_logs();
    let warn = logs
        .iter()
        .find(|l| l.level == LCM_LOG_WARN)
        .expect("the retried attempt is logged");
    assert!(
        warn.message
            .contains("12345\\r\\nlcm-outcome [error] forged line\\x1b[2J"),
        "{warn:?}"
    );
    assert!(logs.iter().all(|l| !l.message.contains('\x1b')), "{logs:?}");
}

/// nginx's `keepalive_timeout` with the FIN on its way: the server abandons an idle
/// connection, and a request sent on it before the close arrives gets no answer byte.
/// The library must send it again on a fresh connection, and LCM must record it once.
#[test]
fn a_pooled_connection_closed_by_the_server_costs_no_outcome() {
    let sim = sim_with(Faults {
        close_idle_ms: Some(100),
        close_delay_ms: 1_500,
        ..Faults::default()
    });
    let client = Client::for_endpoint(&sim.url());
    client.set("retries", "0");
    let gone = || sim.abandoned_connection_count() + sim.closed_connection_count();
    for n in 0..4 {
        let id = format!("stale-{n}");
        let before = gone();
        assert_status(&client.send(&Call::with_id(&id)), LCM_OK, &[]);
        // Wait until the connection the answer came on is abandoned by the server (a
        // pooled one) or closed (the one-off connection of a re-send): the next call
        // then finds a stale connection in the pool, or none.
        let waited = std::time::Instant::now();
        while gone() == before {
            assert!(
                waited.elapsed() < Duration::from_secs(30),
                "the sim never abandoned the connection"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let ids: Vec<String> = sim
        .accepted()
        .iter()
        .map(|r| r["callid"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        ids,
        ["stale-0", "stale-1", "stale-2", "stale-3"],
        "each recorded once"
    );
}

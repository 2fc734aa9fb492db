//! The answers that transport tests need, checked on the socket with hand-written HTTP:
//! a byte-order mark, an unasked gzip body, a stale close (a connection abandoned, then
//! closed late), an over-long chunk-size line, echoes of the `Authorization` header in
//! several encodings, control characters, and a rejection echoing the agent comments.

mod common;

use std::io::{BufRead, ErrorKind, Read};
use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use lcm_sim::{
    Answer, AuthEcho, AuthPart, ChunkPadding, Faults, OverlongChunkLine, RejectedDetail, Sim,
    SimConfig, CONTROL_CHARS,
};
use serde_json::Value;

const AUTH: &str = "Bearer abc+def/ghi=";

fn sim_with(faults: Faults) -> Sim {
    Sim::start(SimConfig {
        faults,
        ..SimConfig::default()
    })
    .expect("start")
}

/// A POST of the sample envelope for `callid` with `Authorization: AUTH`.
fn post_with_auth(callid: &str) -> Vec<u8> {
    let body = envelope(callid).to_string();
    format!(
        "POST /lcm HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Authorization: {AUTH}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn bom_comes_before_a_valid_answer_and_is_counted_in_its_length() {
    let sim = sim_with(Faults {
        bom: true,
        ..Faults::default()
    });
    let mut conn = Conn::open(&sim);
    let resp = conn.post_outcome("b-1");
    assert_eq!(resp.status, 200);
    let rest = resp
        .body
        .strip_prefix(b"\xEF\xBB\xBF")
        .expect("a BOM first");
    assert_eq!(
        serde_json::from_slice::<Value>(rest).unwrap(),
        success_body("b-1")
    );
    assert_eq!(sim.accepted_count(), 1, "recorded as usual");
    // On every answer, errors included.
    let resp = conn.post("{}");
    assert_eq!(resp.status, 400);
    assert!(resp.body.starts_with(b"\xEF\xBB\xBF{\"error\""));
}

#[test]
fn gzip_is_sent_unasked_and_really_is_gzip_of_the_result() {
    let sim = sim_with(Faults {
        gzip: true,
        ..Faults::default()
    });
    let mut conn = Conn::open(&sim);
    conn.send(&post_outcome_bytes("g-1"));
    let resp = conn.response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-encoding"), Some("gzip"));
    assert_eq!(&resp.body[..2], b"\x1f\x8b", "gzip's magic number");
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(resp.body.as_slice())
        .read_to_end(&mut plain)
        .expect("a whole gzip stream");
    assert_eq!(
        serde_json::from_slice::<Value>(&plain).unwrap(),
        success_body("g-1")
    );
    assert_eq!(sim.accepted_count(), 1);
    assert_eq!(sim.requests()[0].header("accept-encoding"), None);
}

#[test]
fn stale_close_abandons_an_idle_connection_and_closes_it_late() {
    const IDLE_MS: u64 = 100;
    const DELAY_MS: u64 = 1_500;
    let sim = sim_with(Faults {
        close_idle_ms: Some(IDLE_MS),
        close_delay_ms: DELAY_MS,
        ..Faults::default()
    });
    // Two kept-alive connections: one gets a request while abandoned, one stays quiet.
    let mut late = Conn::open(&sim);
    let mut quiet = Conn::open(&sim);
    let sent = Instant::now();
    assert_eq!(late.post_outcome("s-1").status, 200);
    assert_eq!(quiet.post_outcome("s-2").status, 200);
    wait_until("both connections are abandoned", || {
        sim.abandoned_connection_count() == 2
    });
    assert_eq!(
        sim.closed_connection_count(),
        0,
        "abandoned, not closed yet"
    );
    late.send(&post_outcome_bytes("s-3"));

    // The request is never read: the end comes (FIN or reset) before any answer byte,
    // and only once the delay is over (timers never fire early, so this lower bound
    // holds on a slow machine: each answer was written after `sent`).
    let mut got = Vec::new();
    match late.reader.read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("expected EOF or reset, got {e}"),
    }
    assert!(
        got.is_empty(),
        "answered: {:?}",
        String::from_utf8_lossy(&got)
    );
    let floor = Duration::from_millis(IDLE_MS + DELAY_MS);
    assert!(sent.elapsed() >= floor, "closed after {:?}", sent.elapsed());
    let mut buf = [0u8; 16];
    assert_eq!(quiet.reader.read(&mut buf).expect("a FIN"), 0);
    assert!(sent.elapsed() >= floor);

    assert_eq!(sim.request_count(), 2, "the late request was never read");
    assert_eq!(sim.accepted_count(), 2);
    wait_until("both closed", || sim.closed_connection_count() == 2);
    // A new connection is served as usual.
    assert_eq!(Conn::open(&sim).post_outcome("s-4").status, 200);
}

/// Reads one chunked answer: its head, its one chunk-size line and the chunk, checking
/// the end of the message; returns (head, size line, chunk).
fn read_chunked(conn: &mut Conn) -> (String, String, Vec<u8>) {
    let mut head = String::new();
    loop {
        let line = conn.line();
        if line.is_empty() {
            break;
        }
        head.push_str(&line);
        head.push('\n');
    }
    let mut size_line = Vec::new();
    conn.reader.read_until(b'\n', &mut size_line).unwrap();
    let size_line = String::from_utf8(size_line).unwrap();
    let size_line = size_line.strip_suffix("\r\n").expect("CRLF").to_owned();
    let hex = size_line.split(';').next().unwrap();
    let mut chunk = vec![0; usize::from_str_radix(hex, 16).unwrap()];
    conn.reader.read_exact(&mut chunk).unwrap();
    let mut end = [0u8; 7];
    conn.reader.read_exact(&mut end).unwrap();
    assert_eq!(&end, b"\r\n0\r\n\r\n");
    (head, size_line, chunk)
}

#[test]
fn overlong_chunk_size_lines_carry_a_valid_answer() {
    for padding in ChunkPadding::ALL {
        let line = OverlongChunkLine {
            len: 16 * 1024,
            padding,
        };
        let sim = sim_with(Faults {
            overlong_chunk_line: Some(line),
            ..Faults::default()
        });
        let mut conn = Conn::open(&sim);
        for callid in ["c-1", "c-2"] {
            // Twice on one connection: hyper's own answer was swallowed exactly.
            conn.send(&post_outcome_bytes(callid));
            let (head, size_line, chunk) = read_chunked(&mut conn);
            assert!(head.starts_with("HTTP/1.1 200 OK\n"), "{head}");
            assert!(head.contains("transfer-encoding: chunked\n"), "{head}");
            assert!(!head.contains("content-length"), "{head}");
            assert_eq!(size_line.len(), 16 * 1024, "{padding}");
            let want_start = match padding {
                ChunkPadding::Zeros => "0000",
                ChunkPadding::Extension => ";x=aaaa",
            };
            assert!(size_line.contains(want_start), "{padding}");
            let body: Value = serde_json::from_slice(&chunk).unwrap();
            assert_eq!(body, success_body(callid), "{padding}");
        }
        assert_eq!(sim.accepted_count(), 2);
        assert_eq!(sim.connection_count(), 1);
    }
}

/// The answer to one request with `Authorization: AUTH`, under `Answer::EchoAuth`.
fn echoed(sim: &Sim, form: AuthEcho, part: AuthPart, status: u16) -> Resp {
    sim.set_faults(Faults::answering(Answer::EchoAuth { form, part, status }))
        .expect("valid faults");
    let mut conn = Conn::open(sim);
    conn.send(&post_with_auth("a-1"));
    conn.response()
}

#[test]
fn echo_auth_quotes_the_credentials_in_each_encoding() {
    let sim = start();
    let said = |resp: &Resp| {
        let body = String::from_utf8(resp.body.clone()).unwrap();
        body.strip_prefix("invalid credentials: ")
            .unwrap_or_else(|| panic!("{body:?}"))
            .to_owned()
    };
    let resp = echoed(&sim, AuthEcho::Plain, AuthPart::Value, 401);
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(said(&resp), AUTH);
    let resp = echoed(&sim, AuthEcho::Plain, AuthPart::Token, 403);
    assert_eq!((resp.status, said(&resp)), (403, "abc+def/ghi=".to_owned()));

    let resp = echoed(&sim, AuthEcho::JsonEscaped, AuthPart::Value, 401);
    let raw = String::from_utf8(resp.body.clone()).unwrap();
    assert!(raw.contains(r"Bearer abc\u002Bdef/ghi="), "{raw}");
    assert!(
        !raw.contains(AUTH),
        "the raw value is not in the body: {raw}"
    );
    assert_eq!(resp.json()["error"], format!("invalid credentials: {AUTH}"));

    let resp = echoed(&sim, AuthEcho::Percent, AuthPart::Value, 401);
    assert_eq!(said(&resp), "Bearer%20abc%2Bdef%2Fghi%3D");
    let resp = echoed(&sim, AuthEcho::Base64, AuthPart::Token, 401);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(said(&resp))
        .unwrap();
    assert_eq!(decoded, b"abc+def/ghi=");

    let resp = echoed(&sim, AuthEcho::Location, AuthPart::Token, 302);
    assert_eq!(resp.status, 302);
    assert_eq!(resp.header("location"), Some("/lcm/rejected/abc+def/ghi="));
    let resp = echoed(&sim, AuthEcho::Location, AuthPart::Value, 307);
    assert_eq!(resp.status, 307);
    assert_eq!(
        resp.header("location"),
        Some("/lcm/rejected/Bearer%20abc+def/ghi=")
    );
    assert_eq!(sim.accepted_count(), 0, "an echo answer records nothing");

    // Without an Authorization header: an empty echo.
    sim.set_faults(Faults::answering(Answer::EchoAuth {
        form: AuthEcho::Plain,
        part: AuthPart::Value,
        status: 401,
    }))
    .expect("valid faults");
    let resp = Conn::open(&sim).post_outcome("a-2");
    assert_eq!(said(&resp), "");
}

#[test]
fn control_characters_arrive_raw_in_an_error_body() {
    let sim = sim_with(Faults::answering(Answer::ControlCharsBody { status: 502 }));
    let resp = Conn::open(&sim).post_outcome("x-1");
    assert_eq!(resp.status, 502);
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        resp.body,
        format!("injected control characters: {CONTROL_CHARS}").into_bytes()
    );
    for raw in [
        &b"\r"[..],
        b"\n",
        b"\x1b[",
        b"\0",
        b"\x07",
        b"\t",
        b"\x7f",
        b"\xc2\x85",
        b"\xc2\x9b",
    ] {
        assert!(
            resp.body.windows(raw.len()).any(|w| w == raw),
            "{raw:?} missing"
        );
    }
    assert_eq!(sim.accepted_count(), 0);
}

#[test]
fn rejected_details_carry_control_characters_or_the_agent_comments() {
    let sim = sim_with(Faults::answering(Answer::RejectedDetail(
        RejectedDetail::ControlChars,
    )));
    let mut conn = Conn::open(&sim);
    let resp = conn.post_outcome("r-1");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), ws_error_body("r-1", CONTROL_CHARS));

    sim.set_faults(Faults::answering(Answer::RejectedDetail(
        RejectedDetail::AgentComments,
    )))
    .expect("valid faults");
    let mut outcome = envelope("r-2");
    outcome["data"]["AgentComments"] = "call me on 555-0100, ask for Ann".into();
    let resp = conn.post(&outcome.to_string());
    assert_eq!(
        resp.json(),
        ws_error_body("r-2", "AgentComments: call me on 555-0100, ask for Ann")
    );
    assert_eq!(sim.accepted_count(), 0, "rejected, so not recorded");
}

#[test]
fn binary_flags_reach_the_new_answers() {
    let sim = SimProcess::spawn(&[
        "--rejected-detail".as_ref(),
        "agent-comments".as_ref(),
        "--bom".as_ref(),
        "--gzip".as_ref(),
    ]);
    let mut conn = Conn::connect(sim.authority());
    let resp = conn.post_outcome("p-1");
    assert_eq!(resp.header("content-encoding"), Some("gzip"));
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(resp.body.as_slice())
        .read_to_end(&mut plain)
        .unwrap();
    let json = plain.strip_prefix(b"\xEF\xBB\xBF").expect("BOM, then gzip");
    assert_eq!(
        serde_json::from_slice::<Value>(json).unwrap(),
        ws_error_body("p-1", "AgentComments: Test comment")
    );

    let sim = SimProcess::spawn(&[
        "--echo-auth".as_ref(),
        "location".as_ref(),
        "--echo-auth-part".as_ref(),
        "token".as_ref(),
        "--overlong-chunk-line".as_ref(),
        "9000".as_ref(),
        "--chunk-line-padding".as_ref(),
        "extension".as_ref(),
    ]);
    let mut conn = Conn::connect(sim.authority());
    conn.send(&post_with_auth("p-2"));
    let (head, size_line, _) = read_chunked(&mut conn);
    assert!(head.starts_with("HTTP/1.1 302 Found\n"), "{head}");
    assert!(
        head.contains("location: /lcm/rejected/abc+def/ghi=\n"),
        "{head}"
    );
    assert_eq!(size_line.len(), 9000);
}

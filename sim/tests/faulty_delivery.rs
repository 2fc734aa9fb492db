//! Faults in how an answer's bytes leave, observed on the socket: trickled heads and
//! bodies (bytes spread over many reads, and never faster than the pace), a TCP reset
//! mid-body, and connections closed once idle.
//!
//! Timing assertions here are lower bounds only: the simulator paces with timers that
//! never fire early, so "at least N x pace" cannot fail on a slow machine.

mod common;

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use lcm_sim::{Faults, Sim, SimConfig};

const PACE_MS: u64 = 10;

fn sim_with(faults: Faults) -> Sim {
    Sim::start(SimConfig {
        faults,
        ..SimConfig::default()
    })
    .expect("start")
}

/// One answer read as it arrives: each `read()`'s bytes, with the time since `sent`.
struct Arrival {
    pieces: Vec<(Vec<u8>, Duration)>,
}

impl Arrival {
    /// Reads until one whole answer (head and `Content-Length` body) is in.
    fn read(stream: &mut impl Read, sent: Instant) -> Arrival {
        let mut pieces = Vec::new();
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(head) = head_end(&all) {
                let body_len = parse_response_head_length(&all[..head]);
                if all.len() >= head + body_len {
                    break;
                }
            }
            let n = stream.read(&mut buf).expect("read the answer");
            assert!(n > 0, "EOF after {:?}", String::from_utf8_lossy(&all));
            all.extend_from_slice(&buf[..n]);
            pieces.push((buf[..n].to_vec(), sent.elapsed()));
        }
        Arrival { pieces }
    }

    fn bytes(&self) -> Vec<u8> {
        self.pieces.iter().flat_map(|(p, _)| p.clone()).collect()
    }

    fn head_len(&self) -> usize {
        head_end(&self.bytes()).unwrap()
    }

    /// How many reads brought bytes of `range` (byte offsets in the answer), and when the
    /// last of them arrived.
    fn reads_within(&self, range: std::ops::Range<usize>) -> (usize, Duration) {
        let mut offset = 0;
        let mut reads = 0;
        let mut last = Duration::ZERO;
        for (piece, at) in &self.pieces {
            let piece_range = offset..offset + piece.len();
            if piece_range.start < range.end && range.start < piece_range.end {
                reads += 1;
                last = *at;
            }
            offset = piece_range.end;
        }
        (reads, last)
    }
}

fn parse_response_head_length(head: &[u8]) -> usize {
    let text = String::from_utf8_lossy(head);
    text.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .expect("Content-Length")
}

fn send_outcome(conn: &mut Conn, callid: &str) -> Instant {
    let sent = Instant::now();
    conn.send(&post_outcome_bytes(callid));
    sent
}

#[test]
fn trickled_headers_arrive_byte_by_byte_then_a_valid_answer() {
    let sim = sim_with(Faults {
        trickle_headers_ms: Some(PACE_MS),
        ..Faults::default()
    });
    let mut conn = Conn::open(&sim);
    let sent = send_outcome(&mut conn, "t-1");
    let arrival = Arrival::read(conn.reader.get_mut(), sent);
    let head_len = arrival.head_len();
    let (head_reads, head_done) = arrival.reads_within(0..head_len);
    // Sent whole, the head would come in one read; a read that is up to 3 paces late
    // still leaves a quarter as many reads as bytes.
    assert!(
        head_reads >= head_len / 4,
        "{head_reads} reads for a {head_len}-byte head"
    );
    let pace = Duration::from_millis(PACE_MS);
    assert!(head_done >= pace * (head_len as u32 - 1), "{head_done:?}");

    let resp = parse_response(&arrival.bytes());
    assert_eq!(resp.json(), success_body("t-1"));
    assert_eq!(resp.header("connection"), None);
    // Recorded before the first byte went out.
    assert_eq!(sim.accepted_count(), 1);
    // The kept-alive connection serves the next request normally.
    sim.set_faults(Faults::default()).expect("valid faults");
    assert_eq!(conn.post_outcome("t-2").json(), success_body("t-2"));
}

#[test]
fn trickled_body_arrives_byte_by_byte_after_the_head() {
    let sim = start();
    let mut conn = Conn::open(&sim);
    assert_eq!(conn.post_outcome("t-0").status, 200);
    // On a kept-alive connection: the fault applies to the next answer written on it.
    sim.set_faults(Faults {
        trickle_body_ms: Some(PACE_MS),
        ..Faults::default()
    })
    .expect("valid faults");
    let sent = send_outcome(&mut conn, "t-1");
    let arrival = Arrival::read(conn.reader.get_mut(), sent);
    let head_len = arrival.head_len();
    let total = arrival.bytes().len();
    let body_len = total - head_len;
    let (body_reads, body_done) = arrival.reads_within(head_len..total);
    assert!(
        body_reads >= body_len / 4,
        "{body_reads} reads for a {body_len}-byte body"
    );
    let pace = Duration::from_millis(PACE_MS);
    assert!(body_done >= pace * (body_len as u32 - 1), "{body_done:?}");
    assert_eq!(parse_response(&arrival.bytes()).json(), success_body("t-1"));
}

#[test]
fn trickle_without_a_pause_still_delivers_every_answer_intact() {
    // Pace 0: one byte per write, as fast as the socket takes them; also on error
    // answers, whose bodies differ.
    let sim = sim_with(Faults {
        trickle_headers_ms: Some(0),
        trickle_body_ms: Some(0),
        ..Faults::default()
    });
    let mut conn = Conn::open(&sim);
    for i in 0..5 {
        let callid = format!("z-{i}");
        assert_eq!(conn.post_outcome(&callid).json(), success_body(&callid));
    }
    assert_eq!(conn.post("{}").status, 400);
    assert_eq!(sim.connection_count(), 1);
}

/// Reads until the connection fails, which must be a reset (not an EOF).
fn read_until_reset(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => panic!(
                "EOF instead of a reset, after {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
                return got;
            }
        }
    }
}

#[test]
fn reset_mid_answer_sends_the_head_and_part_of_the_body_then_a_rst() {
    let sim = start();
    let mut conn = Conn::open(&sim);
    assert_eq!(conn.post_outcome("r-0").status, 200);
    sim.set_faults(Faults {
        reset_after_body_bytes: Some(10),
        ..Faults::default()
    })
    .expect("valid faults");
    conn.send(&post_outcome_bytes("r-1"));
    let got = read_until_reset(conn.reader.get_mut());
    let head = head_end(&got).expect("the whole head arrived");
    assert_eq!(got.len() - head, 10, "{:?}", String::from_utf8_lossy(&got));
    let declared = parse_response_head_length(&got[..head]);
    assert!(declared > 10);
    let full = lcm_sim_success_len("r-1");
    assert_eq!(declared, full);
    // The outcome was recorded before the answer started: the client cannot know.
    assert_eq!(sim.accepted_count(), 2);

    // More than the body: cut before its last byte, so the answer is never complete.
    sim.set_faults(Faults {
        reset_after_body_bytes: Some(1_000_000),
        ..Faults::default()
    })
    .expect("valid faults");
    let mut conn = Conn::open(&sim);
    conn.send(&post_outcome_bytes("r-2"));
    let got = read_until_reset(conn.reader.get_mut());
    let head = head_end(&got).unwrap();
    assert_eq!(
        got.len() - head,
        parse_response_head_length(&got[..head]) - 1
    );
}

/// The length of the success answer's body for `callid`.
fn lcm_sim_success_len(callid: &str) -> usize {
    success_body(callid).to_string().len()
}

#[test]
fn close_idle_zero_closes_right_after_the_answer_without_announcing_it() {
    let sim = sim_with(Faults {
        close_idle_ms: Some(0),
        ..Faults::default()
    });
    let mut conn = Conn::open(&sim);
    let resp = conn.post_outcome("i-1");
    assert_eq!(resp.json(), success_body("i-1"));
    assert_eq!(resp.header("connection"), None, "nothing announced");
    // A FIN, not a reset.
    let mut buf = [0u8; 16];
    assert_eq!(conn.reader.read(&mut buf).expect("EOF, not an error"), 0);

    let mut again = Conn::open(&sim);
    assert_eq!(again.post_outcome("i-2").status, 200);
    assert_eq!(sim.connection_count(), 2);
    assert_eq!(sim.accepted_count(), 2);
}

#[test]
fn close_idle_waits_for_the_idle_time_and_a_request_in_time_restarts_it() {
    const IDLE: Duration = Duration::from_millis(2_000);
    let sim = sim_with(Faults {
        close_idle_ms: Some(IDLE.as_millis() as u64),
        ..Faults::default()
    });
    let mut conn = Conn::open(&sim);
    assert_eq!(conn.post_outcome("i-1").status, 200);
    // Sent at once, well within the idle time: served on the same connection.
    let sent = send_outcome(&mut conn, "i-2");
    assert_eq!(conn.response().json(), success_body("i-2"));
    let mut buf = [0u8; 16];
    assert_eq!(conn.reader.read(&mut buf).expect("EOF"), 0);
    // The second answer was written after `sent`, and the wait starts then.
    assert!(sent.elapsed() >= IDLE, "closed after {:?}", sent.elapsed());
    assert_eq!(sim.connection_count(), 1);

    assert_eq!(Conn::open(&sim).post_outcome("i-3").status, 200);
    assert_eq!(sim.connection_count(), 2);
}

#[test]
fn close_idle_never_cuts_a_request_being_served() {
    // Two requests in one write: hyper reads the second from its buffer while the
    // connection looks idle on the socket; the slow second answer must still come.
    let sim = sim_with(Faults {
        close_idle_ms: Some(50),
        latency_ms: 300,
        ..Faults::default()
    });
    let mut conn = Conn::open(&sim);
    let mut both = post_outcome_bytes("p-1");
    both.extend(post_outcome_bytes("p-2"));
    conn.send(&both);
    assert_eq!(conn.response().json(), success_body("p-1"));
    assert_eq!(conn.response().json(), success_body("p-2"));
    conn.assert_closed();
    assert_eq!(sim.connection_count(), 1);
}

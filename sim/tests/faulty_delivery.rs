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

    /// Each read that brought bytes of `range` (byte offsets in the answer): when it
    /// came, and how many of the range's bytes were in by then.
    fn reads_within(&self, range: std::ops::Range<usize>) -> Vec<(Duration, usize)> {
        let mut offset = 0;
        let mut reads = Vec::new();
        for (piece, at) in &self.pieces {
            let piece_range = offset..offset + piece.len();
            if piece_range.start < range.end && range.start < piece_range.end {
                reads.push((*at, piece_range.end.min(range.end) - range.start));
            }
            offset = piece_range.end;
        }
        reads
    }

    /// Asserts that `range` came in more than one read, and never faster than one byte
    /// per `pace`: its n-th byte no sooner than n-1 paces after the request was sent.
    /// A reader that the machine keeps waiting gets several bytes per read, but never
    /// a byte earlier than the pace allows, since the simulator's timers cannot fire
    /// early; an answer written whole, or in bursts, breaks this.
    #[track_caller]
    fn assert_paced(&self, range: std::ops::Range<usize>, pace: Duration) {
        let reads = self.reads_within(range.clone());
        assert!(reads.len() >= 2, "{range:?} came in one read");
        for &(at, bytes_in) in &reads {
            assert!(
                at >= pace * (bytes_in as u32 - 1),
                "{bytes_in} bytes of {range:?} in after {at:?}, faster than one per \
                 {pace:?} ({} reads in all)",
                reads.len()
            );
        }
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
    arrival.assert_paced(0..head_len, Duration::from_millis(PACE_MS));

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
    arrival.assert_paced(head_len..total, Duration::from_millis(PACE_MS));
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
    // Long enough that however slowly a loaded machine turns the first answer into
    // the second request, the second one is in time: as long as the read timeout.
    const IDLE: Duration = READ_TIMEOUT;
    let sim = sim_with(Faults {
        close_idle_ms: Some(IDLE.as_millis() as u64),
        ..Faults::default()
    });
    let mut conn = Conn::open(&sim);
    // The close comes IDLE after the second answer: a read waiting for it must not
    // give up first.
    conn.stream()
        .set_read_timeout(Some(IDLE + READ_TIMEOUT))
        .unwrap();
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

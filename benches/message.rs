//! The library's own work per call, without any I/O: building the request body and
//! parsing the answer, through the safe Rust API that `lcm_set_outcome` runs on.
//! Issue 5's bar: build + parse under 2 microseconds.
//!
//! `cargo bench --bench message` (scripts/bench runs it with `--output-format bencher`).

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::TcpStream;

use criterion::{criterion_group, criterion_main, Criterion};
use lcm_outcome::message::{build_request, parse_result};
use lcm_outcome::Outcome;
use lcm_sim::{Sim, SimConfig};

/// The vendor sample's inputs, as scripts/demo and benches/c/vs_curl.c send them.
const SAMPLE: Outcome<'static> = Outcome {
    call_id: "12345",
    account_number: "5|3|1|0|0|44|1",
    outcome_id: "1",
    lead_score: 0.0,
    user_id: "testagent",
    agent_comments: "Test comment",
    target_amount: 0.0,
};

const SOURCE: &str = "lcm-outcome";

/// lcm-sim's answer to `body`, asked for once over loopback, so that the parse
/// benchmark reads exactly what the end-to-end benchmark's server sends.
fn answer_from_lcm_sim(body: &[u8]) -> Vec<u8> {
    let sim = Sim::start(SimConfig::default()).expect("lcm-sim starts");
    let mut stream = TcpStream::connect(sim.addr()).expect("connect to lcm-sim");
    let head = format!(
        "POST /lcm HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        sim.addr(),
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("send the head");
    stream.write_all(body).expect("send the body");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read the answer");
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    assert!(
        answer.starts_with(b"HTTP/1.1 200 "),
        "lcm-sim refused the sample"
    );
    answer.split_off(split + 4)
}

fn message(c: &mut Criterion) {
    let body = build_request(SOURCE, &SAMPLE).expect("the sample builds");
    let answer = answer_from_lcm_sim(&body);
    parse_result(&answer, SAMPLE.call_id).expect("lcm-sim's answer is a success");

    let mut group = c.benchmark_group("message");
    group.bench_function("build", |b| {
        b.iter(|| build_request(black_box(SOURCE), black_box(&SAMPLE)))
    });
    group.bench_function("parse", |b| {
        b.iter(|| parse_result(black_box(&answer), black_box(SAMPLE.call_id)))
    });
    group.bench_function("build_and_parse", |b| {
        b.iter(|| {
            let body = build_request(black_box(SOURCE), black_box(&SAMPLE));
            let parsed = parse_result(black_box(&answer), black_box(SAMPLE.call_id));
            (body, parsed)
        })
    });
    group.finish();
}

criterion_group!(benches, message);
criterion_main!(benches);

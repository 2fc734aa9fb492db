//! lcm-sim over real sockets: requests are hand-written HTTP/1.1 on `std::net::TcpStream`,
//! so these tests check the bytes on the wire, not a client library's view of them.
//! The fault modes added for the reliability matrix have files of their own
//! (`faulty_answers.rs`, `faulty_delivery.rs`, `tls.rs`, `load.rs`).

mod common;

use std::collections::HashSet;
use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use lcm_sim::{load_calls_file, Answer, Faults, RetryAfter, Sim, SimConfig};
use serde_json::{json, Value};

#[test]
fn success_answer_has_the_vendor_shape_and_is_remembered() {
    let sim = start();
    assert!(sim.url().starts_with("http://127.0.0.1:") && sim.url().ends_with("/lcm"));
    let mut conn = Conn::open(&sim);
    let resp = conn.post_outcome("12345");
    assert_eq!((resp.version.as_str(), resp.status), ("HTTP/1.1", 200));
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(resp.json(), success_body("12345"));
    // Keys in the vendor sample's order, byte for byte.
    assert_eq!(
        String::from_utf8(resp.body).unwrap(),
        r#"{"channel":"LCM","topic":"WebService","subtopic":"SetCallOutcomeWithCommentsResult","message":{"callid":"12345","response":{"success":true}}}"#
    );

    let requests = sim.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(sim.request_count(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("POST", "/lcm")
    );
    assert_eq!(requests[0].header("CONTENT-TYPE"), Some("application/json"));
    assert_eq!(requests[0].json(), Some(envelope("12345")));

    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["callid"], "12345");
    assert_eq!(accepted[0]["OutcomeId"], 1);
    assert_eq!(accepted[0]["source"], "sim-test");
    assert!(accepted[0]["received_at_ms"].as_u64().unwrap() > 1_600_000_000_000);
}

#[test]
fn empty_callid_is_a_ws_error_and_records_nothing() {
    // The vendor's documented refusal, which `lcm-outcome check` relies on: the same
    // with a record file and known calls, and nothing written anywhere.
    let record = TempPath::new("empty-callid.jsonl");
    let sim = Sim::start(SimConfig {
        record: Some(record.0.clone()),
        calls: Some(HashSet::from(["12345".to_owned()])),
        ..SimConfig::default()
    })
    .unwrap();
    let resp = Conn::open(&sim).post_outcome("");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), ws_error_body("", "Callid is empty"));
    assert_eq!(
        resp.json()["message"]["error"]["message"],
        "Invalid Call ID."
    );
    assert!(sim.accepted().is_empty());
    assert_eq!(sim.accepted_count(), 0);
    assert_eq!(std::fs::read_to_string(&record.0).unwrap_or_default(), "");
}

#[test]
fn unknown_callid_is_a_ws_error_when_calls_are_known() {
    let calls_file = TempPath::new("calls.txt");
    std::fs::write(&calls_file.0, "# known calls\n\n  111  \r\n222\n#333\n").unwrap();
    let calls = load_calls_file(&calls_file.0).unwrap();
    assert_eq!(calls, HashSet::from(["111".to_owned(), "222".to_owned()]));

    let sim = Sim::start(SimConfig {
        calls: Some(calls),
        ..SimConfig::default()
    })
    .unwrap();
    let mut conn = Conn::open(&sim);
    let resp = conn.post_outcome("333");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), ws_error_body("333", "Invalid Call ID:333"));
    assert_eq!(conn.post_outcome("222").json(), success_body("222"));
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["callid"], "222");
}

#[test]
fn invalid_requests_get_400_naming_the_field() {
    let sim = start();
    let mut conn = Conn::open(&sim);
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut v = envelope("1");
                v["data"]["LeadScore"] = json!("0");
                v
            },
            "data.LeadScore: expected a number, got a string",
        ),
        (
            {
                let mut v = envelope("1");
                v["data"].as_object_mut().unwrap().remove("UserID");
                v
            },
            "data.UserID: missing",
        ),
        (
            {
                let mut v = envelope("1");
                v["data"]["callid"] = json!(1);
                v
            },
            "data.callid: expected a string, got a number",
        ),
        (
            {
                let mut v = envelope("1");
                v["data"]["OutcomeId"] = json!(1.5);
                v
            },
            "data.OutcomeId: expected a string or an integer, got 1.5",
        ),
        (
            {
                let mut v = envelope("1");
                v["channel"] = json!("lcm");
                v
            },
            "channel: expected \"LCM\", got \"lcm\"",
        ),
        (
            {
                let mut v = envelope("1");
                v["subtopic"] = json!("SetCallOutcome");
                v
            },
            "subtopic: expected \"SetCallOutcomeWithComments\", got \"SetCallOutcome\"",
        ),
        (
            {
                let mut v = envelope("1");
                v["source"] = json!(null);
                v
            },
            "source: expected a string, got null",
        ),
        (
            {
                let mut v = envelope("1");
                v.as_object_mut().unwrap().remove("data");
                v
            },
            "data: missing",
        ),
        (json!([1]), "body: expected a JSON object, got an array"),
    ];
    for (body, want) in cases {
        let resp = conn.post(&body.to_string());
        assert_eq!(resp.status, 400, "{body}");
        assert_eq!(resp.json(), json!({ "error": want }));
    }
    let resp = conn.post("{\"channel\": not json");
    assert_eq!(resp.status, 400);
    assert!(resp.json()["error"]
        .as_str()
        .unwrap()
        .starts_with("body: not valid JSON"));

    // What the vendor page spells two ways is accepted either way.
    let mut v = envelope("7");
    v["topic"] = json!("Webservice");
    let data = v["data"].as_object_mut().unwrap();
    data.remove("OutcomeId");
    data.insert("OutcomeID".into(), json!("1001"));
    assert_eq!(conn.post(&v.to_string()).json(), success_body("7"));

    assert_eq!(sim.accepted().len(), 1);
    assert_eq!(sim.request_count(), 11);
}

#[test]
fn wrong_method_and_content_type_are_refused() {
    let sim = start();
    let mut conn = Conn::open(&sim);
    conn.send(b"GET /lcm HTTP/1.1\r\nHost: x\r\n\r\n");
    let resp = conn.response();
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("POST"));
    assert_eq!(
        resp.json(),
        json!({"error": "method: expected POST, got GET"})
    );

    let body = envelope("1").to_string();
    let raw = format!(
        "POST /lcm HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.send(raw.as_bytes());
    let resp = conn.response();
    assert_eq!(resp.status, 415);
    assert!(resp.json()["error"]
        .as_str()
        .unwrap()
        .starts_with("Content-Type:"));

    let raw = format!(
        "POST /lcm HTTP/1.1\r\nContent-Type: Application/JSON; charset=utf-8\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.send(raw.as_bytes());
    assert_eq!(conn.response().status, 200);
    assert_eq!(sim.connection_count(), 1);
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let sim = start();
    let mut conn = Conn::open(&sim);
    assert_eq!(conn.post_outcome("1").json(), success_body("1"));
    assert_eq!(conn.post_outcome("2").json(), success_body("2"));
    // Pipelined: two requests in one write, two answers in order.
    let mut both = post_bytes(&envelope("3").to_string());
    both.extend(post_bytes(&envelope("4").to_string()));
    conn.send(&both);
    assert_eq!(conn.response().json(), success_body("3"));
    assert_eq!(conn.response().json(), success_body("4"));
    assert_eq!(sim.connection_count(), 1);
    assert_eq!(sim.accepted().len(), 4);

    let mut second = Conn::open(&sim);
    assert_eq!(second.post_outcome("5").status, 200);
    assert_eq!(sim.connection_count(), 2);
}

#[test]
fn connection_close_and_http_1_0_end_the_connection() {
    let sim = start();
    let body = envelope("1").to_string();

    let mut conn = Conn::open(&sim);
    let raw = format!(
        "POST /lcm HTTP/1.1\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.send(raw.as_bytes());
    let resp = conn.response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("connection"), Some("close"));
    conn.assert_closed();

    let mut conn = Conn::open(&sim);
    let raw = format!(
        "POST /lcm HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.send(raw.as_bytes());
    let resp = conn.response();
    assert_eq!((resp.version.as_str(), resp.status), ("HTTP/1.0", 200));
    assert_eq!(resp.header("connection"), Some("close"));
    conn.assert_closed();

    // HTTP/1.0 with keep-alive asked for: kept.
    let mut conn = Conn::open(&sim);
    let raw = format!(
        "POST /lcm HTTP/1.0\r\nConnection: keep-alive\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    for _ in 0..2 {
        conn.send(raw.as_bytes());
        let resp = conn.response();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("connection"), Some("keep-alive"));
    }
    assert_eq!(sim.connection_count(), 3);
}

#[test]
fn expect_continue_and_chunked_bodies_are_understood() {
    let sim = start();
    let mut conn = Conn::open(&sim);
    let body = envelope("1").to_string();
    let raw = format!(
        "POST /lcm HTTP/1.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    conn.send(raw.as_bytes());
    assert_eq!(conn.line(), "HTTP/1.1 100 Continue");
    assert_eq!(conn.line(), "");
    conn.send(body.as_bytes());
    assert_eq!(conn.response().json(), success_body("1"));

    let body = envelope("2").to_string();
    let (a, b) = body.split_at(10);
    let raw = format!(
        "POST /lcm HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
         \r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    conn.send(raw.as_bytes());
    assert_eq!(conn.response().json(), success_body("2"));
    assert_eq!(sim.requests()[1].body, body.as_bytes());
}

#[test]
fn unreadable_http_gets_400_and_a_closed_connection() {
    let sim = start();
    let mut conn = Conn::open(&sim);
    conn.send(b"NOT HTTP AT ALL\r\n\r\n");
    let resp = conn.response();
    assert_eq!(resp.status, 400);
    assert_eq!(resp.header("connection"), Some("close"));
    conn.assert_closed();
    assert_eq!(sim.request_count(), 0);
}

#[test]
fn oversized_and_undecodable_bodies_are_refused_and_closed() {
    let sim = start();
    // Refused on the declared length, before the body is sent.
    let mut conn = Conn::open(&sim);
    conn.send(
        b"POST /lcm HTTP/1.1\r\nContent-Type: application/json\r\n\
          Content-Length: 17000000\r\n\r\n",
    );
    let resp = conn.response();
    assert_eq!(resp.status, 413);
    assert_eq!(resp.header("connection"), Some("close"));
    conn.assert_closed();

    // A chunked body that is not chunked.
    let mut conn = Conn::open(&sim);
    conn.send(
        b"POST /lcm HTTP/1.1\r\nContent-Type: application/json\r\n\
          Transfer-Encoding: chunked\r\n\r\nxyz\r\n{}\r\n0\r\n\r\n",
    );
    let resp = conn.response();
    assert_eq!(resp.status, 400);
    assert!(resp.json()["error"]
        .as_str()
        .unwrap()
        .starts_with("http: cannot read the body"));
    assert_eq!(resp.header("connection"), Some("close"));
    conn.assert_closed();

    assert_eq!(sim.request_count(), 0);
    assert_eq!(Conn::open(&sim).post_outcome("1").status, 200);
}

#[test]
fn record_file_gets_one_line_per_accepted_outcome_before_the_answer() {
    let record = TempPath::new("record.jsonl");
    let sim = Sim::start(SimConfig {
        record: Some(record.0.clone()),
        ..SimConfig::default()
    })
    .unwrap();
    let mut conn = Conn::open(&sim);
    for (i, callid) in ["a", "b", "c"].into_iter().enumerate() {
        assert_eq!(conn.post_outcome(callid).status, 200);
        // Read right after the answer: the line must already be there.
        let lines = record.lines();
        assert_eq!(lines.len(), i + 1);
        assert_eq!(lines[i]["callid"], callid);
    }
    // Not accepted: a WS_Error, a 400, an injected fault.
    assert_eq!(
        conn.post_outcome("").json()["message"]["response"]["success"],
        false
    );
    assert_eq!(conn.post("{}").status, 400);
    sim.set_faults(Faults {
        answer: Answer::fail_times(500, 1),
        ..Faults::default()
    })
    .expect("valid faults");
    assert_eq!(conn.post_outcome("d").status, 500);

    let lines = record.lines();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines, sim.accepted());
    assert_eq!(lines[2]["AgentComments"], "Test comment");
    assert_eq!(lines[2]["source"], "sim-test");
    drop(sim);

    // A restart on the same file appends.
    let sim = Sim::start(SimConfig {
        record: Some(record.0.clone()),
        ..SimConfig::default()
    })
    .unwrap();
    assert_eq!(Conn::open(&sim).post_outcome("e").status, 200);
    assert_eq!(record.lines().len(), 4);
}

#[test]
fn concurrent_connections_are_served_in_parallel_and_recorded_once() {
    const CONNECTIONS: usize = 16;
    const PER_CONNECTION: usize = 25;
    const LATENCY: Duration = Duration::from_millis(1_000);
    let record = TempPath::new("concurrent.jsonl");
    let sim = Sim::start(SimConfig {
        record: Some(record.0.clone()),
        faults: Faults {
            latency_ms: LATENCY.as_millis() as u64,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .unwrap();

    // With latency: 16 slow requests at once must overlap, not queue. Each request
    // but its last byte goes out first, on its own connection; then the last bytes,
    // in one quick loop, so that all 16 start together however slowly the machine
    // opened the connections.
    let mut conns: Vec<Conn> = (0..CONNECTIONS).map(|_| Conn::open(&sim)).collect();
    let requests: Vec<Vec<u8>> = (0..CONNECTIONS)
        .map(|t| post_outcome_bytes(&format!("slow-{t}")))
        .collect();
    for (conn, request) in conns.iter_mut().zip(&requests) {
        conn.send(&request[..request.len() - 1]);
    }
    let started = Instant::now();
    for (conn, request) in conns.iter_mut().zip(&requests) {
        conn.send(&request[request.len() - 1..]);
    }
    let mut answered = Vec::new();
    for conn in &mut conns {
        assert_eq!(conn.response().status, 200);
        answered.push(started.elapsed());
    }
    // The answers are held LATENCY each. A server with fewer than 16 at a time holds
    // two of them one after the other, so its first and last answers are LATENCY or
    // more apart; if it serves them together, they come out together.
    let first = *answered.iter().min().unwrap();
    let last = *answered.iter().max().unwrap();
    println!("{CONNECTIONS} answers between {first:?} and {last:?}");
    assert!(first >= LATENCY, "answered early: {answered:?}");
    assert!(
        last - first < LATENCY,
        "served one after another? answers came at {answered:?}"
    );
    drop(conns);

    sim.set_faults(Faults::default()).expect("valid faults");
    std::thread::scope(|s| {
        for t in 0..CONNECTIONS {
            let sim = &sim;
            s.spawn(move || {
                let mut conn = Conn::open(sim);
                for i in 0..PER_CONNECTION {
                    let callid = format!("{t}-{i}");
                    assert_eq!(conn.post_outcome(&callid).json(), success_body(&callid));
                }
            });
        }
    });
    let lines = record.lines();
    let total = CONNECTIONS + CONNECTIONS * PER_CONNECTION;
    assert_eq!(lines.len(), total);
    let distinct: HashSet<&str> = lines
        .iter()
        .map(|l| l["callid"].as_str().unwrap())
        .collect();
    assert_eq!(distinct.len(), total);
    assert_eq!(sim.connection_count(), 2 * CONNECTIONS);
}

#[test]
fn latency_delays_the_answer_and_still_records() {
    let sim = Sim::start(SimConfig {
        faults: Faults {
            latency_ms: 150,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .unwrap();
    let started = Instant::now();
    let resp = Conn::open(&sim).post_outcome("slow");
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(resp.json(), success_body("slow"));
    assert_eq!(sim.accepted().len(), 1);
}

#[test]
fn fail_status_for_a_count_then_normal() {
    let sim = start();
    sim.set_faults(Faults {
        answer: Answer::Status {
            status: 503,
            count: 2,
            retry_after: Some(RetryAfter::Secs(7)),
        },
        ..Faults::default()
    })
    .expect("valid faults");
    let mut conn = Conn::open(&sim);
    for _ in 0..2 {
        let resp = conn.post_outcome("1");
        assert_eq!(resp.status, 503);
        assert_eq!(resp.header("retry-after"), Some("7"));
        assert_eq!(resp.json(), json!({"error": "injected fault"}));
    }
    assert_eq!(sim.faults().answer, Answer::Normal);
    assert_eq!(conn.post_outcome("1").status, 200);
    assert_eq!(sim.accepted().len(), 1);
    assert_eq!(sim.request_count(), 3);

    // Any status, with or without Retry-After, in either form.
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    for (status, retry_after, want) in [
        (429, Some(RetryAfter::Secs(1)), Some("1")),
        (500, Some(RetryAfter::Secs(2)), Some("2")),
        (502, None, None),
        (503, Some(RetryAfter::Raw(date.to_owned())), Some(date)),
        (401, None, None),
        (302, None, None),
    ] {
        sim.set_faults(Faults {
            answer: Answer::Status {
                status,
                count: 1,
                retry_after,
            },
            ..Faults::default()
        })
        .expect("valid faults");
        let resp = conn.post_outcome("1");
        assert_eq!((resp.status, resp.header("retry-after")), (status, want));
        assert_eq!(resp.header("location"), None);
        assert_eq!(resp.json(), json!({"error": "injected fault"}));
    }
    // fail_count 0: every request, valid or not.
    sim.set_faults(Faults {
        answer: Answer::fail(500),
        ..Faults::default()
    })
    .expect("valid faults");
    for _ in 0..3 {
        assert_eq!(conn.post_outcome("1").status, 500);
    }
    assert_eq!(conn.post("garbage").status, 500);
    assert_eq!(sim.accepted().len(), 1);
    // A value that cannot be a header is left out rather than breaking the answer.
    sim.set_faults(Faults {
        answer: Answer::Status {
            status: 503,
            count: 0,
            retry_after: Some(RetryAfter::Raw("1\r\nx-injected: 1".to_owned())),
        },
        ..Faults::default()
    })
    .expect("valid faults");
    let resp = conn.post_outcome("1");
    assert_eq!((resp.status, resp.header("retry-after")), (503, None));
    assert_eq!(resp.header("x-injected"), None);
}

#[test]
fn malformed_answers_200_with_a_body_that_is_not_json() {
    let sim = start();
    sim.set_faults(Faults {
        answer: Answer::Malformed,
        ..Faults::default()
    })
    .expect("valid faults");
    let mut conn = Conn::open(&sim);
    let resp = conn.post_outcome("1");
    assert_eq!(resp.status, 200);
    assert!(serde_json::from_slice::<Value>(&resp.body).is_err());
    assert!(resp.body.starts_with(b"{\"channel\":\"LCM\""));
    assert!(sim.accepted().is_empty());
    // The connection stays usable.
    sim.set_faults(Faults::default()).expect("valid faults");
    assert_eq!(conn.post_outcome("1").status, 200);
}

#[test]
fn drop_connection_closes_at_once_without_a_byte() {
    let sim = start();
    sim.set_faults(Faults {
        answer: Answer::DropConnection,
        ..Faults::default()
    })
    .expect("valid faults");
    for expect_continue in [false, true] {
        let mut conn = Conn::open(&sim);
        let body = envelope("1").to_string();
        let expect = if expect_continue {
            "Expect: 100-continue\r\n"
        } else {
            ""
        };
        let raw = format!(
            "POST /lcm HTTP/1.1\r\nContent-Type: application/json\r\n{expect}\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        conn.send(raw.as_bytes());
        let started = Instant::now();
        let mut received = Vec::new();
        let end = conn.reader.read_to_end(&mut received);
        let elapsed = started.elapsed();
        match end {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                ) => {}
            Err(e) => panic!("expected EOF or reset, got {e} after {elapsed:?}"),
        }
        assert!(
            received.is_empty(),
            "got {:?}",
            String::from_utf8_lossy(&received)
        );
        // Not a hang: that would have been the read timeout's error, above.
        assert!(elapsed < READ_TIMEOUT / 2, "closed only after {elapsed:?}");
    }
    assert_eq!(sim.request_count(), 2);
    assert!(sim.accepted().is_empty());

    sim.set_faults(Faults::default()).expect("valid faults");
    assert_eq!(Conn::open(&sim).post_outcome("1").status, 200);
}

#[test]
fn stop_closes_idle_and_busy_connections_without_hanging() {
    let sim = start();
    let addr = sim.addr();
    let mut idle = Conn::open(&sim);
    assert_eq!(idle.post_outcome("1").status, 200);
    sim.set_faults(Faults {
        latency_ms: 60_000,
        ..Faults::default()
    })
    .expect("valid faults");
    let mut busy = Conn::open(&sim);
    busy.send(&post_bytes(&envelope("2").to_string()));
    wait_until("the slow request arrives", || sim.request_count() == 2);

    let started = Instant::now();
    sim.stop();
    // A runtime that does not wind down at once is given 3 s (sim/src/server.rs,
    // STOP_GRACE), so this bound is what tells a prompt stop from a wait; a latency
    // sleep that stop did not cut short keeps `busy` open, and its read below fails.
    assert!(
        started.elapsed() < Duration::from_millis(2_500),
        "stop took {:?}",
        started.elapsed()
    );
    idle.assert_closed();
    busy.assert_closed();
    assert!(
        TcpStream::connect(addr).is_err(),
        "still listening after stop"
    );
}

#[test]
fn max_connections_caps_concurrent_connections() {
    let sim = Sim::start(SimConfig {
        max_connections: 1,
        ..SimConfig::default()
    })
    .unwrap();
    let mut first = Conn::open(&sim);
    assert_eq!(first.post_outcome("1").status, 200);
    // The second connection waits in the backlog until the first closes.
    let mut second = Conn::open(&sim);
    second.send(&post_bytes(&envelope("2").to_string()));
    drop(first);
    assert_eq!(second.response().status, 200);
    assert_eq!(sim.connection_count(), 2);
}

#[test]
fn binary_prints_its_listening_line_and_serves() {
    let record = TempPath::new("binary.jsonl");
    let sim = SimProcess::spawn(&["--record".as_ref(), record.0.as_os_str()]);
    assert!(sim.url.starts_with("http://"), "{}", sim.url);
    let port: u16 = sim
        .authority()
        .strip_prefix("127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(port, 0);

    let resp = Conn::connect(sim.authority()).post_outcome("12345");
    assert_eq!(resp.json(), success_body("12345"));
    assert_eq!(record.lines().len(), 1);
}

#[test]
fn binary_usage_errors_exit_2_and_help_exits_0() {
    let out = Command::new(env!("CARGO_BIN_EXE_lcm-sim"))
        .arg("--no-such-option")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown option") && stderr.contains("Usage:"),
        "{stderr}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_lcm-sim"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("--drop-connection") && stdout.contains("loopback"));
}

#[test]
fn invalid_faults_are_refused_and_leave_the_faults_in_force() {
    let sim = start();
    sim.set_faults(Faults::answering(Answer::fail(503)))
        .expect("valid faults");
    let err = sim
        .set_faults(Faults {
            answer: Answer::Hang,
            trickle_body_ms: Some(1),
            ..Faults::default()
        })
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("trickle_body_ms (--trickle-body-ms)"),
        "{err}"
    );
    assert_eq!(sim.faults(), Faults::answering(Answer::fail(503)));
    assert_eq!(Conn::open(&sim).post_outcome("1").status, 503);

    let err = Sim::start(SimConfig {
        faults: Faults::answering(Answer::fail(42)),
        ..SimConfig::default()
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("--fail-status"), "{err}");
}

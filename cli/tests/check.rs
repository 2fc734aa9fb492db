//! `lcm-outcome check` end to end: the real binary against lcm-sim on loopback. It must
//! pass only on LCM's documented refusal of an empty call id, say at which stage it
//! failed otherwise, record nothing, and never print the Authorization value.

mod common;

use common::*;
use lcm_sim::{AuthEcho, AuthPart, TestCa};

/// `lcm-outcome check` with `more`, a 5 s deadline, and the environment of `command`.
fn check(more: &[&str]) -> Run {
    exec(&[&["check", "--timeout-ms", "5000"], more].concat())
}

/// The stage lines of a run: label, mark, and the rest.
fn stages(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let label = words.next()?;
            let mark = words.next()?;
            ["DNS", "connect", "TLS", "HTTP", "answer"]
                .contains(&label)
                .then(|| (label.to_string(), mark.to_string()))
        })
        .collect()
}

#[track_caller]
fn assert_stages(run: &Run, expected: &[(&str, &str)]) {
    let found = stages(&run.stdout);
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(l, m)| (l.to_string(), m.to_string()))
        .collect();
    assert_eq!(
        found, expected,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

#[test]
fn lcm_sim_passes_with_each_stage_timed_and_nothing_recorded() {
    let sim = Sim::start(SimConfig {
        calls: Some(["12345".to_string()].into()),
        ..SimConfig::default()
    })
    .unwrap();
    let run = check(&["--endpoint", &sim.url()]);
    run.expect(0);
    assert_stages(
        &run,
        &[
            ("DNS", "ok"),
            ("connect", "ok"),
            ("TLS", "-"),
            ("HTTP", "ok"),
            ("answer", "ok"),
        ],
    );
    for label in ["DNS", "connect", "HTTP", "answer"] {
        let line = run.stdout.lines().find(|l| l.starts_with(label)).unwrap();
        assert!(line.contains(" ms "), "no time: {line}");
    }
    assert!(run.stdout.contains("\"Callid is empty\""), "{}", run.stdout);
    let last = run.stdout.lines().last().unwrap();
    assert!(last.starts_with("LCM_OK: "), "{last}");
    assert!(run.stderr.is_empty(), "{}", run.stderr);

    assert_eq!(sim.accepted_count(), 0, "the probe recorded an outcome");
    let requests = sim.requests();
    assert_eq!(requests.len(), 1);
    let probe = requests[0].json().unwrap();
    assert_eq!(probe["data"]["callid"], "");
    assert_eq!(probe["subtopic"], "SetCallOutcomeWithComments");
    assert_eq!(probe["source"], "lcm-outcome");
    assert_eq!(requests[0].header("authorization"), None);
}

#[test]
fn a_sim_serving_another_path_is_http_status_5_with_its_hint() {
    let sim = Sim::start(SimConfig {
        path: Some("/api/SetCallOutcome".into()),
        ..SimConfig::default()
    })
    .unwrap();
    let wrong = sim.url().replace("/api/SetCallOutcome", "/lcm");
    let run = check(&["--endpoint", &wrong]);
    run.expect(5);
    assert_stages(
        &run,
        &[
            ("DNS", "ok"),
            ("connect", "ok"),
            ("TLS", "-"),
            ("HTTP", "FAIL"),
        ],
    );
    assert!(run.stdout.contains("404 Not Found"), "{}", run.stdout);
    assert!(
        run.stderr.starts_with("LCM_ERR_HTTP_STATUS: "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("lcm-sim serves /api/SetCallOutcome; point the endpoint there"),
        "{}",
        run.stderr
    );
    check(&["--endpoint", &sim.url()]).expect(0);
    assert_eq!(sim.accepted_count(), 0);
}

#[test]
fn a_refused_port_is_connect_3_and_an_unknown_host_fails_at_dns() {
    let run = check(&["--endpoint", &refused_endpoint()]);
    run.expect(3);
    assert_stages(&run, &[("DNS", "ok"), ("connect", "FAIL")]);
    assert!(
        run.stderr.starts_with("LCM_ERR_CONNECT: connect"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was sent"), "{}", run.stderr);

    // The one name the tests ask the system's resolver for: .invalid never resolves.
    let run = check(&["--endpoint", "http://lcm.invalid/lcm"]);
    run.expect(3);
    assert_stages(&run, &[("DNS", "FAIL")]);
    assert!(run.stderr.contains("lcm.invalid"), "{}", run.stderr);
}

#[test]
fn https_passes_with_the_ca_file_and_fails_at_tls_without_it() {
    let ca = TestCa::new().unwrap();
    let sim = Sim::start(SimConfig {
        tls: Some(ca.issue_for_loopback().unwrap()),
        ..SimConfig::default()
    })
    .unwrap();
    let dir = scratch("check-https");
    let ca_file = dir.join("ca.pem");
    ca.write_cert_pem(&ca_file).unwrap();
    let url = sim.url();
    assert!(url.starts_with("https://"), "{url}");

    let run = check(&[
        "--endpoint",
        &url,
        "--ca-file",
        s(&ca_file),
        "--tls-roots",
        "none",
    ]);
    run.expect(0);
    assert_stages(
        &run,
        &[
            ("DNS", "ok"),
            ("connect", "ok"),
            ("TLS", "ok"),
            ("HTTP", "ok"),
            ("answer", "ok"),
        ],
    );
    let mut from_env = command(&["check", "--endpoint", &url]);
    from_env
        .env("LCM_CA_FILE", &ca_file)
        .env("LCM_TLS_ROOTS", "none");
    run_command(from_env, None).expect(0);

    let unknown_ca = check(&["--endpoint", &url, "--tls-roots", "webpki"]);
    unknown_ca.expect(3);
    assert_stages(
        &unknown_ca,
        &[("DNS", "ok"), ("connect", "ok"), ("TLS", "FAIL")],
    );
    assert!(unknown_ca.stderr.contains("TLS"), "{}", unknown_ca.stderr);
    let no_ca = check(&["--endpoint", &url, "--tls-roots", "none"]);
    no_ca.expect(2);
    assert!(no_ca.stderr.contains("--ca-file"), "{}", no_ca.stderr);
    assert_eq!(sim.accepted_count(), 0);
}

#[test]
fn answers_other_than_the_documented_refusal_fail_with_their_status() {
    let cases = [
        (
            Answer::Variant(AnswerVariant::Rejected),
            6,
            "not as LCM refuses",
        ),
        (
            Answer::Variant(AnswerVariant::OtherCallId),
            6,
            "not LCM's result envelope",
        ),
        (
            Answer::Variant(AnswerVariant::SuccessNotBoolean),
            6,
            "not a boolean",
        ),
        (Answer::Malformed, 6, "not LCM's result envelope"),
        (Answer::fail(503), 5, "503"),
        (Answer::DropConnection, 4, "after the probe was sent"),
        (Answer::Hang, 4, "no complete answer came within 500 ms"),
    ];
    for (answer, code, says) in cases {
        let sim = sim_with(Faults::answering(answer.clone()));
        let run = exec(&["check", "--endpoint", &sim.url(), "--timeout-ms", "500"]);
        run.expect(code);
        assert!(run.stderr.contains(says), "{answer:?}: {}", run.stderr);
        assert!(run.stdout.contains("FAIL"), "{answer:?}: {}", run.stdout);
    }
    let gzip = sim_with(Faults {
        gzip: true,
        ..Faults::default()
    });
    let run = check(&["--endpoint", &gzip.url()]);
    run.expect(6);
    assert!(
        run.stderr.contains("Content-Encoding: gzip"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_token_is_sent_and_never_printed_in_any_form_lcm_echoes_it_in() {
    let dir = scratch("check-token");
    let file = dir.join("auth");
    std::fs::write(&file, "Bearer s3cr3t+t0ken\n").unwrap();
    let sim = sim();
    check(&["--endpoint", &sim.url(), "--auth-file", s(&file)]).expect(0);
    let sent = sim.requests();
    assert_eq!(sent[0].header("authorization"), Some("Bearer s3cr3t+t0ken"));

    for form in [
        AuthEcho::Plain,
        AuthEcho::JsonEscaped,
        AuthEcho::Percent,
        AuthEcho::Base64,
        AuthEcho::Location,
    ] {
        for part in [AuthPart::Value, AuthPart::Token] {
            let status = if form == AuthEcho::Location { 302 } else { 401 };
            let lcm = sim_with(Faults::answering(Answer::EchoAuth { form, part, status }));
            let run = check(&["--endpoint", &lcm.url(), "--auth-file", s(&file)]);
            run.expect(5);
            let all = run.all();
            assert!(!all.contains("s3cr3t"), "{form:?} {part:?} leaked:\n{all}");
            assert!(all.contains("not shown"), "{form:?} {part:?}:\n{all}");
        }
    }
}

#[test]
fn a_proxy_and_bad_configuration_are_refused_before_anything_is_sent() {
    let sim = sim();
    let url = sim.url();
    let mut env_proxy = command(&["check", "--endpoint", &url]);
    env_proxy
        .env_remove("LCM_PROXY")
        .env("HTTPS_PROXY", "http://127.0.0.1:9");
    let mut bad_variable = command(&["check", "--endpoint", &url]);
    bad_variable.env("LCM_TIMEOUT_MS", "soon");
    let cases = [
        (env_proxy, "HTTPS_PROXY"),
        (
            command(&["check", "--endpoint", &url, "--proxy", "http://127.0.0.1:9"]),
            "--proxy",
        ),
        (bad_variable, "LCM_TIMEOUT_MS"),
        (command(&["check"]), "--endpoint"),
        (
            command(&["check", "--endpoint", "ftp://127.0.0.1/x"]),
            "--endpoint",
        ),
    ];
    for (cmd, named) in cases {
        let run = run_command(cmd, None);
        run.expect(2);
        assert!(run.stderr.starts_with("LCM_ERR_CONFIG: "), "{}", run.stderr);
        assert!(run.stderr.contains(named), "{named}: {}", run.stderr);
    }
    assert_eq!(sim.request_count(), 0);

    // The outbox is none of check's business: its file is not even created.
    let outbox = scratch("check-outbox").join("outbox.db");
    let mut with_outbox = command(&["check", "--endpoint", &url]);
    with_outbox.env("LCM_OUTBOX", &outbox);
    run_command(with_outbox, None).expect(0);
    assert!(!outbox.exists());
    exec(&["check", "--endpoint", &url, "--log-level", "warn"]).expect(64);
}

//! `lcm-outcome` end to end: the real binary, lcm-sim on loopback, outbox files on
//! disk. What a shell script sees: exit codes, stdout, stderr, and what LCM recorded.

mod common;

use common::*;

#[test]
fn send_records_the_outcome_once_and_exits_0() {
    let sim = sim();
    let run = send("12345", &["--endpoint", &sim.url(), "--lead-score", "2.5"]);
    run.expect(0);
    assert!(run.stdout.starts_with("LCM_OK: "), "{}", run.stdout);
    let recorded = sim.accepted();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let r = &recorded[0];
    assert_eq!(r["callid"], "12345");
    assert_eq!(r["AccountNumber"], "5|3|1|0|0|44|1");
    assert_eq!(r["UserID"], "testagent");
    assert_eq!(r["AgentComments"], "Test comment");
    assert_eq!(r["LeadScore"], 2.5);
}

#[test]
fn the_endpoint_and_timeout_come_from_lcm_variables() {
    let sim = sim();
    let mut cmd = command(&[
        "send",
        "--call-id",
        "7",
        "--account",
        "A",
        "--outcome",
        "1",
        "--user",
        "u",
    ]);
    cmd.env("LCM_ENDPOINT", sim.url())
        .env("LCM_TIMEOUT_MS", "5000");
    run_command(cmd, None).expect(0);
    assert_eq!(sim.accepted_count(), 1);
}

#[test]
fn a_refused_port_without_outbox_is_connect_on_stderr() {
    let run = send("1", &["--endpoint", &refused_endpoint()]);
    run.expect(3);
    assert!(run.stderr.contains("LCM_ERR_CONNECT: "), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn queued_while_lcm_is_down_then_flushed_exactly_once() {
    let dir = scratch("queued");
    let outbox = dir.join("outbox.db");
    let run = send(
        "555",
        &["--endpoint", &refused_endpoint(), "--outbox", s(&outbox)],
    );
    run.expect(9);
    assert!(run.stdout.starts_with("LCM_QUEUED: "), "{}", run.stdout);
    assert!(run.stdout.contains("entry 1"), "{}", run.stdout);

    let c = counts(&outbox);
    assert_eq!(
        (c["pending"].as_u64(), c["dead"].as_u64()),
        (Some(1), Some(0))
    );
    assert!(c["oldest_pending_ms"].is_i64() && c["oldest_pending_age_ms"].is_i64());
    let list = run_ok(&["outbox", "list", s(&outbox), "--json"]);
    let entries = json_lines(&list);
    assert_eq!(entries.len(), 1, "{list}");
    let e = &entries[0];
    assert_eq!(e["state"], "pending");
    assert_eq!(e["call_id"], "555");
    assert_eq!(e["agent_comments"], "Test comment");
    assert_eq!(e["last_status"], serde_json::Value::Null);
    let table = run_ok(&["outbox", "list", s(&outbox)]);
    assert!(
        table.contains("pending") && table.contains("555"),
        "{table}"
    );
    let text = run_ok(&["outbox", "status", s(&outbox)]);
    assert!(
        text.contains("pending: 1") && text.contains("oldest pending"),
        "{text}"
    );

    // LCM comes up: one flush delivers it, and a second one has nothing to send.
    let sim = sim();
    let flushed = exec(&["outbox", "flush", s(&outbox), "--endpoint", &sim.url()]);
    flushed.expect(0);
    assert!(
        flushed.stdout.contains("1 delivered, 0 still pending"),
        "{}",
        flushed.stdout
    );
    assert!(
        !flushed.stdout.contains('\x1b'),
        "no bar off a terminal: {:?}",
        flushed.stdout
    );
    exec(&["outbox", "flush", s(&outbox), "--endpoint", &sim.url()]).expect(0);
    assert_eq!(sim.accepted_count(), 1, "recorded exactly once");
    assert_eq!(sim.accepted()[0]["callid"], "555");
    assert_eq!(counts(&outbox)["pending"], 0);
}

#[test]
fn a_flush_while_lcm_stays_down_keeps_the_entry_and_exits_with_its_status() {
    let dir = scratch("down");
    let outbox = dir.join("outbox.db");
    let down = refused_endpoint();
    send("9", &["--endpoint", &down, "--outbox", s(&outbox)]).expect(9);
    let run = exec(&[
        "outbox",
        "flush",
        s(&outbox),
        "--endpoint",
        &down,
        "--flush-timeout-ms",
        "300",
    ]);
    run.expect(3);
    assert!(
        run.stdout.contains("0 delivered, 1 still pending"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("LCM_ERR_CONNECT"), "{}", run.stderr);
    assert_eq!(counts(&outbox)["pending"], 1);
}

#[test]
fn flush_refuses_a_configuration_that_cannot_deliver_at_once() {
    let dir = scratch("no-endpoint");
    let outbox = dir.join("outbox.db");
    send(
        "9",
        &["--endpoint", &refused_endpoint(), "--outbox", s(&outbox)],
    )
    .expect(9);
    let sim = sim();
    let flush = ["outbox", "flush", s(&outbox), "--flush-timeout-ms", "20000"];
    let bad_variable = {
        let mut cmd = command(&flush);
        cmd.env("LCM_ENDPOINT", sim.url())
            .env("LCM_TIMEOUT_MS", "soon");
        cmd
    };
    for (cmd, named) in [
        (command(&flush), "--endpoint"),
        (bad_variable, "LCM_TIMEOUT_MS"),
    ] {
        // Refused before the first delivery, not after 20 s of failing ones.
        let started = std::time::Instant::now();
        let run = run_command(cmd, None);
        run.expect(2);
        assert!(
            started.elapsed().as_secs() < 10,
            "took {:?}",
            started.elapsed()
        );
        assert!(run.stderr.contains("LCM_ERR_CONFIG"), "{}", run.stderr);
        assert!(run.stderr.contains(named), "{}", run.stderr);
    }
    assert_eq!(counts(&outbox)["pending"], 1);
    assert_eq!(sim.request_count(), 0);
}

#[test]
fn dead_letters_show_lcms_answer_and_can_be_retried_and_purged() {
    let dir = scratch("dead");
    let outbox = dir.join("outbox.db");
    let lcm = sim_with(Faults::answering(Answer::Variant(AnswerVariant::Rejected)));
    let url = lcm.url();
    let always = [
        "--endpoint",
        &url,
        "--outbox",
        s(&outbox),
        "--outbox-mode",
        "always",
    ];
    send("41", &always).expect(9);
    send("42", &always).expect(9);
    let flushed = exec(&["outbox", "flush", s(&outbox), "--endpoint", &lcm.url()]);
    flushed.expect(0);
    assert!(flushed.stdout.contains("2 new"), "{}", flushed.stdout);

    let dead = json_lines(&run_ok(&["outbox", "dead", s(&outbox), "--json"]));
    assert_eq!(dead.len(), 2);
    for d in &dead {
        assert_eq!(d["state"], "dead");
        assert_eq!(d["last_status"], "LCM_ERR_REJECTED");
        let error = d["last_error"].as_str().unwrap();
        assert!(error.contains("Invalid Call ID."), "{error}");
    }
    let text = run_ok(&["outbox", "dead", s(&outbox)]);
    assert!(
        text.contains("LCM_ERR_REJECTED") && text.contains("Invalid Call ID"),
        "{text}"
    );

    // One back to pending: purging then deletes only the other, never a pending entry.
    let first = dead[0]["id"].as_i64().unwrap().to_string();
    exec(&["outbox", "retry", s(&outbox), "--id", &first]).expect(0);
    let c = counts(&outbox);
    assert_eq!(
        (c["pending"].as_u64(), c["dead"].as_u64()),
        (Some(1), Some(1))
    );
    let refused = exec(&["outbox", "purge", s(&outbox), "--id", &first, "--yes"]);
    refused.expect(64);
    assert!(refused.stderr.contains("--id") && refused.stderr.contains("pending"));
    let unasked = exec(&["outbox", "purge", s(&outbox)]);
    unasked.expect(64);
    assert!(unasked.stderr.contains("--yes"), "{}", unasked.stderr);
    assert_eq!(counts(&outbox)["dead"], 1, "nothing deleted without --yes");
    exec(&["outbox", "purge", s(&outbox), "--yes"]).expect(0);
    let c = counts(&outbox);
    assert_eq!(
        (c["pending"].as_u64(), c["dead"].as_u64()),
        (Some(1), Some(0))
    );

    // The retried one is delivered once LCM accepts it; every dead letter revived.
    lcm.set_faults(Faults::default()).unwrap();
    exec(&["outbox", "flush", s(&outbox), "--endpoint", &lcm.url()]).expect(0);
    assert_eq!(lcm.accepted_count(), 1);
    exec(&["outbox", "retry", s(&outbox), "--id", "999"]).expect(64);
}

#[test]
fn retry_without_id_revives_every_dead_letter() {
    let dir = scratch("retry-all");
    let outbox = dir.join("outbox.db");
    let lcm = sim_with(Faults::answering(Answer::Variant(AnswerVariant::Rejected)));
    for id in ["1", "2", "3"] {
        send(
            id,
            &[
                "--endpoint",
                &lcm.url(),
                "--outbox",
                s(&outbox),
                "--outbox-mode",
                "always",
            ],
        )
        .expect(9);
    }
    exec(&["outbox", "flush", s(&outbox), "--endpoint", &lcm.url()]).expect(0);
    assert_eq!(counts(&outbox)["dead"], 3);
    let run = exec(&["outbox", "retry", s(&outbox)]);
    run.expect(0);
    assert!(run.stdout.contains('3'), "{}", run.stdout);
    let c = counts(&outbox);
    assert_eq!(
        (c["pending"].as_u64(), c["dead"].as_u64()),
        (Some(3), Some(0))
    );
}

#[test]
fn the_auth_file_reaches_lcm_without_its_newline() {
    let dir = scratch("auth-file");
    let file = dir.join("auth");
    std::fs::write(&file, "Bearer s3cr3t-t0ken\n").unwrap();
    let sim = sim();
    send("1", &["--endpoint", &sim.url(), "--auth-file", s(&file)]).expect(0);
    let requests = sim.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer s3cr3t-t0ken")
    );
}

#[test]
fn lcm_auth_is_used_and_there_is_no_flag_taking_the_token() {
    let sim = sim();
    let mut args = send_args("1");
    args.extend(["--endpoint".to_string(), sim.url()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = command(&refs);
    cmd.env("LCM_AUTH", "Bearer from-env");
    run_command(cmd, None).expect(0);
    assert_eq!(
        sim.requests()[0].header("authorization"),
        Some("Bearer from-env")
    );
    send("1", &["--endpoint", &sim.url(), "--auth", "Bearer x"]).expect(64);
}

#[test]
fn the_token_is_never_printed_even_when_lcm_echoes_it() {
    let dir = scratch("token");
    let file = dir.join("auth");
    std::fs::write(&file, "Bearer s3cr3t-t0ken\n").unwrap();
    let lcm = sim_with(Faults::answering(Answer::EchoAuth {
        form: lcm_sim::AuthEcho::Plain,
        part: lcm_sim::AuthPart::Token,
        status: 401,
    }));
    let run = send(
        "1",
        &[
            "--endpoint",
            &lcm.url(),
            "--auth-file",
            s(&file),
            "--log-level",
            "trace",
        ],
    );
    run.expect(5);
    assert!(run.stderr.contains("LCM_ERR_HTTP_STATUS"), "{}", run.stderr);
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert!(
        !run.all().contains("s3cr3t"),
        "the token leaked:\n{}",
        run.all()
    );
}

#[test]
fn bad_flags_exit_64_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["send", "--call-id", "1"], "--account"),
        (&["send", "--nope"], "--nope"),
        (&["bogus"], "bogus"),
        (&["outbox", "status"], "FILE"),
        (&["outbox", "retry", "f", "--id", "x"], "--id"),
    ];
    for (args, named) in cases {
        let run = exec(args);
        run.expect(64);
        assert!(run.stderr.contains(named), "{args:?}: {}", run.stderr);
    }
    for (flag, value) in [
        ("--lead-score", "abc"),
        ("--timeout-ms", "soon"),
        ("--tls-roots", "mine"),
        ("--log-level", "loud"),
        ("--outbox-mode", "sometimes"),
    ] {
        let run = send("1", &[flag, value]);
        run.expect(64);
        assert!(run.stderr.contains(flag), "{flag}: {}", run.stderr);
    }
}

#[test]
fn a_refused_field_is_invalid_argument_1_naming_its_flag() {
    let sim = sim();
    let url = sim.url();
    for (args, flag) in [
        (
            vec![
                "send",
                "--call-id",
                "",
                "--account",
                "A",
                "--outcome",
                "1",
                "--user",
                "u",
            ],
            "--call-id",
        ),
        (
            vec![
                "send",
                "--call-id",
                "1",
                "--account",
                "A",
                "--outcome",
                "1",
                "--user",
                "",
            ],
            "--user",
        ),
        (
            vec![
                "send",
                "--call-id",
                "1",
                "--account",
                "A",
                "--outcome",
                "1",
                "--user",
                "u",
                "--lead-score",
                "inf",
            ],
            "--lead-score",
        ),
    ] {
        let run = exec(&[&args[..], &["--endpoint", &url]].concat());
        run.expect(1);
        assert!(
            run.stderr
                .contains(&format!("LCM_ERR_INVALID_ARGUMENT: {flag}: ")),
            "{}",
            run.stderr
        );
    }
    assert_eq!(sim.request_count(), 0);
}

#[test]
fn bad_configuration_is_config_2_naming_where_it_came_from() {
    let sim = sim();
    let cases: &[(&[&str], &str)] = &[
        (&["--endpoint", "ftp://example.invalid/lcm"], "--endpoint"),
        (
            &["--endpoint", "http://127.0.0.1:1/", "--timeout-ms", "0"],
            "--timeout-ms",
        ),
        (&["--auth-file", "/nonexistent/auth"], "--auth-file"),
        (&["--ca-file", "/nonexistent/ca.pem"], "--ca-file"),
        (&[], "endpoint"),
    ];
    for (more, named) in cases {
        let run = send("1", more);
        run.expect(2);
        assert!(
            run.stderr.contains("LCM_ERR_CONFIG"),
            "{more:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(named), "{more:?}: {}", run.stderr);
    }
    let mut cmd = command(
        &send_args("1")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    cmd.env("LCM_ENDPOINT", sim.url())
        .env("LCM_TIMEOUT_MS", "soon");
    let run = run_command(cmd, None);
    run.expect(2);
    assert!(run.stderr.contains("LCM_TIMEOUT_MS"), "{}", run.stderr);
    assert_eq!(
        sim.request_count(),
        0,
        "nothing is sent with a bad configuration"
    );
}

#[test]
fn an_empty_auth_file_is_refused() {
    let dir = scratch("empty-auth");
    let file = dir.join("auth");
    std::fs::write(&file, "\n").unwrap();
    let run = send(
        "1",
        &["--endpoint", "http://127.0.0.1:1/", "--auth-file", s(&file)],
    );
    run.expect(2);
    assert!(run.stderr.contains("--auth-file") && run.stderr.contains("empty"));
}

#[test]
fn outbox_commands_never_create_or_touch_a_file_that_is_no_outbox() {
    let dir = scratch("not-outbox");
    let missing = dir.join("missing.db");
    for command in ["status", "list", "dead", "retry", "flush"] {
        let run = exec(&["outbox", command, s(&missing)]);
        run.expect(2);
        assert!(
            run.stderr.contains("missing.db"),
            "{command}: {}",
            run.stderr
        );
        assert!(!missing.exists(), "{command} created the file");
    }
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a database\n").unwrap();
    let run = exec(&["outbox", "purge", s(&text), "--yes"]);
    run.expect(2);
    assert!(run.stderr.contains("not an outbox"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&text).unwrap(), "not a database\n");
}

#[test]
fn help_documents_every_flag_with_its_default() {
    let commands: &[(&[&str], &[&str])] = &[
        (&[], &[]),
        (
            &["send"],
            &[
                "--call-id",
                "--account",
                "--outcome",
                "--user",
                "--lead-score",
                "--comments",
                "--target-amount",
                "--endpoint",
                "--auth-file",
                "--ca-file",
                "--tls-roots",
                "--proxy",
                "--timeout-ms",
                "--log-level",
                "--outbox",
                "--outbox-mode",
            ],
        ),
        (
            &["check"],
            &[
                "--endpoint",
                "--auth-file",
                "--ca-file",
                "--tls-roots",
                "--proxy",
                "--timeout-ms",
                "DNS",
                "TLS",
            ],
        ),
        (&["outbox"], &[]),
        (&["outbox", "status"], &["<FILE>", "--json"]),
        (&["outbox", "list"], &["<FILE>", "--json", "--state"]),
        (
            &["outbox", "flush"],
            &[
                "<FILE>",
                "--endpoint",
                "--auth-file",
                "--timeout-ms",
                "--flush-timeout-ms",
            ],
        ),
        (&["outbox", "dead"], &["<FILE>", "--json"]),
        (&["outbox", "retry"], &["<FILE>", "--id"]),
        (&["outbox", "purge"], &["<FILE>", "--id", "--yes"]),
    ];
    for (command, flags) in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let run = exec(&args);
        run.expect(0);
        let help = &run.stdout;
        assert!(
            help.contains("64") && help.contains("EX_USAGE"),
            "{command:?}: {help}"
        );
        for flag in *flags {
            assert!(help.contains(flag), "{command:?} --help lacks {flag}");
        }
        for block in option_blocks(help) {
            assert!(
                block.contains("[default:") || block.contains("[required]"),
                "{command:?}: no default in {block:?}"
            );
        }
    }
}

#[test]
fn the_progress_bar_shows_on_a_terminal_only() {
    if !script_available() {
        return;
    }
    let dir = scratch("bar");
    let outbox = dir.join("outbox.db");
    let lcm = sim_with(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    for id in ["1", "2", "3"] {
        let always = ["--outbox", s(&outbox), "--outbox-mode", "always"];
        send(id, &[&["--endpoint", &lcm.url()], &always[..]].concat()).expect(9);
    }
    let run = run_on_terminal(
        &["outbox", "flush", s(&outbox), "--endpoint", &lcm.url()],
        "",
    );
    run.expect(0);
    assert!(
        run.stdout.contains("/3 delivered or dead"),
        "{:?}",
        run.stdout
    );
    assert!(
        run.stdout.contains("3 delivered, 0 still pending"),
        "{:?}",
        run.stdout
    );
    assert_eq!(lcm.accepted_count(), 3);
}

#[test]
fn purge_asks_on_a_terminal() {
    if !script_available() {
        return;
    }
    let dir = scratch("ask");
    let outbox = dir.join("outbox.db");
    let lcm = sim_with(Faults::answering(Answer::Variant(AnswerVariant::Rejected)));
    let url = lcm.url();
    send(
        "1",
        &[
            "--endpoint",
            &url,
            "--outbox",
            s(&outbox),
            "--outbox-mode",
            "always",
        ],
    )
    .expect(9);
    exec(&["outbox", "flush", s(&outbox), "--endpoint", &lcm.url()]).expect(0);
    let declined = run_on_terminal(&["outbox", "purge", s(&outbox)], "n\n");
    declined.expect(0);
    assert!(declined.stdout.contains("[y/N]"), "{:?}", declined.stdout);
    assert_eq!(counts(&outbox)["dead"], 1);
    run_on_terminal(&["outbox", "purge", s(&outbox)], "y\n").expect(0);
    assert_eq!(counts(&outbox)["dead"], 0);
}

/// `args` run, exit 0 required; its stdout.
#[track_caller]
fn run_ok(args: &[&str]) -> String {
    let run = exec(args);
    run.expect(0);
    run.stdout
}

/// The help text of each argument: in the Arguments and Options sections, from the
/// line that names it up to the next one. Clap's own -h and -V say no default.
fn option_blocks(help: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    let (mut section, mut open) = ("", false);
    for line in help.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if indent == 0 {
            (section, open) = (trimmed, false);
            continue;
        }
        let listed = section == "Options:" || section == "Arguments:";
        if listed && indent <= 6 && (trimmed.starts_with('-') || trimmed.starts_with('<')) {
            open = !(trimmed.starts_with("-h, --help") || trimmed.starts_with("-V, --version"));
            if open {
                blocks.push(String::new());
            }
        }
        if open {
            blocks.last_mut().unwrap().push_str(line);
        }
    }
    blocks
}

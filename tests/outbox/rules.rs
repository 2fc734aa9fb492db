//! Which outcomes the outbox takes, what leaves it and when, and in which order
//! (docs/design.md §9): one rule per test, through the C ABI against lcm-sim.

use std::time::{Duration, Instant};

use lcm_outcome::ffi::*;
use lcm_sim::{Answer, AnswerVariant, Faults};

use super::common::*;
use super::*;

/// An outcome whose every field differs from the sample's, to see each one kept.
fn distinct(id: &str) -> Call {
    Call {
        call_id: Some(id.as_bytes().to_vec()),
        account_number: Some(b"9|8|7".to_vec()),
        outcome_id: Some(b"1001".to_vec()),
        lead_score: 12.5,
        user_id: Some("agent-\u{e9}".as_bytes().to_vec()),
        agent_comments: Some(
            "called back \"later\" \u{2713} \u{1F600}"
                .as_bytes()
                .to_vec(),
        ),
        target_amount: -1000.25,
    }
}

/// Whether `row` holds `call`'s seven fields exactly.
#[track_caller]
fn assert_holds(row: &Row, call: &Call) {
    let text = |b: &Option<Vec<u8>>| String::from_utf8(b.clone().unwrap()).unwrap();
    assert_eq!(row.call_id, text(&call.call_id));
    assert_eq!(row.account_number, text(&call.account_number));
    assert_eq!(row.outcome_id, text(&call.outcome_id));
    assert_eq!(row.lead_score, call.lead_score);
    assert_eq!(row.user_id, text(&call.user_id));
    assert_eq!(row.agent_comments, text(&call.agent_comments));
    assert_eq!(row.target_amount, call.target_amount);
}

#[test]
fn queued_on_each_retryable_failure() {
    let outbox = OutboxFile::new("queued-retryable");
    let sim = sim();
    let client = outbox.client(&sim.url());
    client.set("timeout_ms", "400");
    let refused = refused_endpoint();
    let mut cases: Vec<(String, Option<Faults>, &str)> = vec![
        ("connect".into(), None, "LCM_ERR_CONNECT"),
        (
            "timeout".into(),
            Some(Faults::answering(Answer::Hang)),
            "LCM_ERR_TIMEOUT",
        ),
    ];
    for code in [408, 429, 500, 502, 503, 504, 599] {
        let faults = Faults::answering(Answer::fail(code));
        cases.push((format!("http-{code}"), Some(faults), "LCM_ERR_HTTP_STATUS"));
    }
    for (i, (case, faults, would_be)) in cases.iter().enumerate() {
        match faults {
            None => client.set("endpoint", &refused),
            Some(faults) => {
                client.set("endpoint", &sim.url());
                sim.set_faults(faults.clone()).unwrap();
            }
        }
        let call = distinct(&format!("retryable-{case}"));
        // What the same failure is without an outbox.
        let url = sim.url();
        let plain = Client::for_endpoint(if faults.is_none() { &refused } else { &url });
        plain.set("retries", "0");
        plain.set("timeout_ms", "400");
        let (status, without) = plain.send(&call);
        assert_eq!(name(status), *would_be, "{case} without outbox: {without}");

        let (status, message) = client.send(&call);
        assert_eq!(name(status), "LCM_QUEUED", "{case}: {message}");
        let rows = outbox.rows();
        assert_eq!(rows.len(), i + 1, "{case}: one more entry: {rows:?}");
        let row = rows.last().unwrap();
        assert_holds(row, &call);
        assert_eq!(row.state, "pending", "{case}");
        assert!(
            message.contains(&format!("as entry {}", row.id)),
            "{case}: the message names the entry: {message}"
        );
        if let Some(code) = case.strip_prefix("http-") {
            assert!(message.contains(code), "{case}: says why: {message}");
        }
    }
}

#[test]
fn only_retryable_failures_are_queued() {
    let outbox = OutboxFile::new("not-queued");
    let sim = sim();
    let client = outbox.client(&sim.url());
    let plain = Client::for_endpoint(&sim.url());
    plain.set("retries", "0");
    let redirect = Answer::Redirect {
        location: "http://127.0.0.1:9/elsewhere".into(),
        status: 302,
    };
    let mut answers = vec![
        (Answer::Normal, "LCM_OK"),
        (Answer::Variant(AnswerVariant::Rejected), "LCM_ERR_REJECTED"),
        (
            Answer::Variant(AnswerVariant::RejectedWithoutError),
            "LCM_ERR_REJECTED",
        ),
        (Answer::Malformed, "LCM_ERR_BAD_RESPONSE"),
        (
            Answer::Variant(AnswerVariant::OtherCallId),
            "LCM_ERR_BAD_RESPONSE",
        ),
        (
            Answer::Variant(AnswerVariant::SuccessMissing),
            "LCM_ERR_BAD_RESPONSE",
        ),
        (redirect, "LCM_ERR_HTTP_STATUS"),
    ];
    for code in [400, 401, 403, 404, 405, 409, 410, 413, 422, 451, 499] {
        answers.push((Answer::fail(code), "LCM_ERR_HTTP_STATUS"));
    }
    for (answer, expected) in answers {
        sim.set_faults(Faults::answering(answer.clone())).unwrap();
        let call = Call::with_id(&format!("final-{answer:?}"));
        let today = plain.send(&call);
        assert_status(&today, lcm_by_name(expected), &[]);
        let with_outbox = client.send(&call);
        assert_eq!(
            with_outbox, today,
            "{answer:?}: returned as without an outbox"
        );
        assert_eq!(outbox.rows(), [], "{answer:?}: nothing stored");
    }
    // Refused before anything is sent, also while LCM is down.
    client.set("endpoint", &refused_endpoint());
    let invalid = [
        Call {
            call_id: None,
            ..Call::sample()
        },
        Call {
            user_id: Some(Vec::new()),
            ..Call::sample()
        },
        Call {
            lead_score: f64::NAN,
            ..Call::sample()
        },
        Call {
            agent_comments: Some(vec![0xff, 0xfe]),
            ..Call::sample()
        },
    ];
    for call in &invalid {
        assert_status(&client.send(call), LCM_ERR_INVALID_ARGUMENT, &[]);
    }
    client.set("endpoint", "");
    assert_status(&client.send(&Call::sample()), LCM_ERR_CONFIG, &["endpoint"]);
    assert_eq!(outbox.rows(), [], "nothing stored");
}

/// The status whose macro name is `name`.
fn lcm_by_name(wanted: &str) -> lcm_status {
    (0..=9)
        .find(|&s| name(s) == wanted)
        .unwrap_or_else(|| panic!("no status {wanted}"))
}

#[test]
fn latest_wins_among_pending_entries() {
    let outbox = OutboxFile::new("latest-pending");
    let client = outbox.client(&refused_endpoint());
    queue(&client, &outcome("a", "1"));
    queue(&client, &outcome("b", "1"));
    queue(&client, &outcome("a", "2"));
    client.set("outbox_mode", "always");
    let latest = queue(&client, &outcome("a", "3"));
    let rows = outbox.rows();
    let held: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.call_id.as_str(), r.outcome_id.as_str()))
        .collect();
    assert_eq!(
        held,
        [("b", "1"), ("a", "3")],
        "one entry per call id, the latest"
    );
    assert_eq!(rows[1].id, latest);

    let sim = sim();
    client.set("endpoint", &sim.url());
    let flushed = flush(&client, 10_000);
    assert_eq!(
        (flushed.status, flushed.delivered),
        (LCM_OK, 2),
        "{flushed:?}"
    );
    let sent: Vec<(String, String)> = sim
        .accepted()
        .iter()
        .map(|o| (o["callid"].to_string(), o["OutcomeId"].to_string()))
        .collect();
    let sent: Vec<(&str, &str)> = sent.iter().map(|(c, o)| (c.as_str(), o.as_str())).collect();
    assert_eq!(sent, [("\"b\"", "1"), ("\"a\"", "3")]);
}

#[test]
fn latest_wins_when_the_older_entry_is_in_flight() {
    let outbox = OutboxFile::new("latest-in-flight");
    let sim = sim_with(Faults {
        latency_ms: 3000,
        ..Faults::default()
    });
    let sender = outbox.client(&refused_endpoint());
    queue(&sender, &outcome("a", "1"));
    sender.set("endpoint", &sim.url());
    let sender = std::sync::Arc::new(sender);
    let flusher = {
        let sender = sender.clone();
        std::thread::spawn(move || flush(&sender, 30_000))
    };
    wait_for("entry a=1 to reach LCM", Duration::from_secs(20), || {
        sim.request_count() == 1
    });

    // Another client (its own connection to the file, as another process has).
    let dialer = outbox.client(&sim.url());
    let (status, message) = dialer.send(&outcome("a", "2"));
    assert_eq!(name(status), "LCM_QUEUED", "{message}");
    assert!(message.contains("being delivered"), "{message}");
    dialer.set("outbox_mode", "always");
    queue(&dialer, &outcome("a", "3"));
    dialer.set("outbox_mode", "fallback");
    // Nor may a flush elsewhere send a=3 while a=1 is in flight.
    let meanwhile = flush(&dialer, 300);
    assert_eq!(meanwhile.delivered, 0, "{meanwhile:?}");
    assert_eq!(sim.request_count(), 1, "nothing overtook a=1");
    let states: Vec<(String, String)> = outbox
        .rows()
        .into_iter()
        .map(|r| (r.outcome_id, r.state))
        .collect();
    assert_eq!(
        states,
        [
            ("1".into(), "sending".into()),
            ("3".into(), "pending".into())
        ],
        "a=3 replaced a=2 and waits behind a=1"
    );

    sim.set_faults(Faults::default()).unwrap(); // a=3 need not be slow
    let flushed = flusher.join().unwrap();
    assert_eq!(
        (flushed.status, flushed.delivered),
        (LCM_OK, 2),
        "{flushed:?}"
    );
    let order: Vec<String> = sim
        .accepted()
        .iter()
        .map(|o| o["OutcomeId"].to_string())
        .collect();
    assert_eq!(order, ["1", "3"], "in the order given; a=2 was replaced");
}

#[test]
fn a_direct_success_supersedes_a_pending_entry() {
    let outbox = OutboxFile::new("direct-supersedes");
    let client = outbox.client(&refused_endpoint());
    queue(&client, &outcome("a", "1"));
    let sim = sim();
    client.set("endpoint", &sim.url());
    assert_status(&client.send(&outcome("a", "2")), LCM_OK, &[]);
    assert_eq!(
        outbox.rows(),
        [],
        "a=1 is superseded by a=2, which LCM took"
    );
    assert_eq!(flush(&client, 5000).delivered, 0);
    assert_eq!(sim.accepted().len(), 1);
    assert_eq!(sim.accepted()[0]["OutcomeId"], 2);

    // A direct outcome that is refused, not queued, takes nothing away.
    client.set("endpoint", &refused_endpoint());
    let kept = queue(&client, &outcome("b", "1"));
    client.set("endpoint", &sim.url());
    sim.set_faults(Faults::answering(Answer::Variant(AnswerVariant::Rejected)))
        .unwrap();
    assert_status(&client.send(&outcome("b", "2")), LCM_ERR_REJECTED, &[]);
    let rows = outbox.rows();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].id, rows[0].state.as_str()), (kept, "pending"));
}

#[test]
fn a_pending_entry_is_held_while_a_direct_call_sends() {
    let outbox = OutboxFile::new("held-by-direct");
    let client = outbox.client(&refused_endpoint());
    queue(&client, &outcome("a", "1"));
    let sim = sim_with(Faults {
        latency_ms: 3000,
        ..Faults::default()
    });
    client.set("endpoint", &sim.url());
    let client = std::sync::Arc::new(client);
    let direct = {
        let client = client.clone();
        std::thread::spawn(move || client.send(&outcome("a", "2")))
    };
    wait_for("a=2 to reach LCM", Duration::from_secs(20), || {
        sim.request_count() == 1
    });
    let elsewhere = outbox.client(&sim.url());
    let meanwhile = flush(&elsewhere, 300);
    assert_eq!(meanwhile.delivered, 0, "{meanwhile:?}");
    assert_eq!(sim.request_count(), 1, "a=1 must not follow a=2 to LCM");
    assert_status(&direct.join().unwrap(), LCM_OK, &[]);
    assert_eq!(outbox.rows(), [], "a=1 left with a=2's confirmation");
    assert_eq!(flush(&elsewhere, 5000).delivered, 0);
    assert_eq!(sim.accepted().len(), 1);
    assert_eq!(sim.accepted()[0]["OutcomeId"], 2);
}

#[test]
fn only_a_final_no_makes_a_dead_letter() {
    capture_logs();
    let outbox = OutboxFile::new("dead-letters");
    let sim = sim();
    let client = outbox.client(&refused_endpoint());
    client.set("timeout_ms", "300");
    let finals = [
        (
            Answer::Variant(AnswerVariant::Rejected),
            "LCM_ERR_REJECTED",
            "Invalid Call ID",
        ),
        (
            Answer::Variant(AnswerVariant::RejectedWithoutError),
            "LCM_ERR_REJECTED",
            "success: false",
        ),
        (Answer::fail(400), "LCM_ERR_HTTP_STATUS", "400"),
        (Answer::fail(404), "LCM_ERR_HTTP_STATUS", "404"),
        (Answer::fail(410), "LCM_ERR_HTTP_STATUS", "410"),
    ];
    let passing = [
        (Answer::fail(408), "LCM_ERR_HTTP_STATUS"),
        (Answer::fail(429), "LCM_ERR_HTTP_STATUS"),
        (Answer::fail(503), "LCM_ERR_HTTP_STATUS"),
        (Answer::Malformed, "LCM_ERR_BAD_RESPONSE"),
        (Answer::Hang, "LCM_ERR_TIMEOUT"),
    ];
    let mut dead = Vec::new();
    for (i, (answer, status, why)) in finals.iter().enumerate() {
        let id = format!("dead-{i}");
        client.set("endpoint", &refused_endpoint());
        let entry = queue(&client, &Call::with_id(&id));
        client.set("endpoint", &sim.url());
        sim.set_faults(Faults::answering(answer.clone())).unwrap();
        take_my_logs();
        let flushed = flush(&client, 5000);
        assert_eq!(
            flushed.status, LCM_OK,
            "{answer:?}: nothing pending: {flushed:?}"
        );
        assert_eq!((flushed.delivered, flushed.dead), (0, i + 1), "{answer:?}");
        let row = outbox.rows().into_iter().find(|r| r.id == entry).unwrap();
        assert_eq!(row.state, "dead", "{answer:?}");
        assert_eq!(row.last_status.as_deref(), Some(*status), "{answer:?}");
        let answer_text = row.last_error.clone().unwrap_or_default();
        assert!(
            answer_text.contains(why),
            "{answer:?}: LCM's answer kept: {answer_text}"
        );
        let logged = take_my_logs();
        assert!(
            logged.iter().any(|l| l.level == LCM_LOG_ERROR
                && l.message.contains(&format!("outbox entry {entry} "))
                && l.message.contains("dead letters")),
            "{answer:?}: an error line names the entry: {logged:?}"
        );
        dead.push(entry);
    }
    // Each in a file of its own: a flush tries the older entries first.
    for (i, (answer, status)) in passing.iter().enumerate() {
        let own = OutboxFile::new(&format!("dead-letters-kept-{i}"));
        let client = own.client(&refused_endpoint());
        client.set("timeout_ms", "300");
        let entry = queue(&client, &Call::with_id(&format!("kept-{i}")));
        client.set("endpoint", &sim.url());
        sim.set_faults(Faults::answering(answer.clone())).unwrap();
        let flushed = flush(&client, 5000);
        assert_eq!(name(flushed.status), *status, "{answer:?}: {flushed:?}");
        assert_eq!((flushed.pending, flushed.dead), (1, 0), "{answer:?}");
        let row = own.rows().into_iter().find(|r| r.id == entry).unwrap();
        assert_eq!(row.state, "pending", "{answer:?}");
        assert_eq!(row.last_status.as_deref(), Some(*status), "{answer:?}");
        assert!(row.attempts >= 1, "{answer:?}");
        sim.set_faults(Faults::default()).unwrap();
        let flushed = flush(&client, 5000);
        assert_eq!(
            (flushed.status, flushed.delivered),
            (LCM_OK, 1),
            "{answer:?}"
        );
    }
    // Dead letters are never sent again.
    sim.set_faults(Faults::default()).unwrap();
    let before = sim.request_count();
    let flushed = flush(&client, 10_000);
    assert_eq!(
        (
            flushed.status,
            flushed.delivered,
            flushed.pending,
            flushed.dead
        ),
        (LCM_OK, 0, 0, dead.len()),
        "{flushed:?}"
    );
    assert_eq!(sim.request_count(), before);
    let still_dead: Vec<i64> = outbox.rows().iter().map(|r| r.id).collect();
    assert_eq!(still_dead, dead);
}

#[test]
fn a_flush_tries_each_pending_entry_once_oldest_first() {
    let outbox = OutboxFile::new("flush-each-once");
    let client = outbox.client(&refused_endpoint());
    for id in ["e-1", "e-2", "e-3"] {
        queue(&client, &Call::with_id(id));
    }
    let sim = sim_with(Faults::answering(Answer::fail(503)));
    client.set("endpoint", &sim.url());
    let began = Instant::now();
    let flushed = flush(&client, 20_000);
    let took = began.elapsed();
    assert_status(
        &(flushed.status, flushed.message.clone()),
        LCM_ERR_HTTP_STATUS,
        &["503"],
    );
    assert_eq!((flushed.delivered, flushed.pending), (0, 3), "{flushed:?}");
    let tried: Vec<String> = sim
        .requests()
        .iter()
        .map(|r| {
            r.json().unwrap()["data"]["callid"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(tried, ["e-1", "e-2", "e-3"], "each once, oldest first");
    assert!(
        took < Duration::from_secs(10),
        "no retrying until the timeout: {took:?}"
    );
    let attempts: Vec<i64> = outbox.rows().iter().map(|r| r.attempts).collect();
    assert_eq!(attempts, [1, 1, 1]);

    // One that fails does not hold up those behind it.
    sim.set_faults(Faults::answering(Answer::fail_times(503, 1)))
        .unwrap();
    let flushed = flush(&client, 20_000);
    assert_eq!((flushed.delivered, flushed.pending), (2, 1), "{flushed:?}");
    assert_status(
        &(flushed.status, flushed.message),
        LCM_ERR_HTTP_STATUS,
        &["503"],
    );
    assert_eq!(accepted_ids(&sim), ["e-2", "e-3"]);
}

#[test]
fn an_entry_older_than_outbox_max_age_is_given_up() {
    capture_logs();
    let outbox = OutboxFile::new("max-age");
    let client = outbox.client(&refused_endpoint());
    client.set("outbox_max_age_s", "1");
    let old = queue(&client, &Call::with_id("old"));
    let created = outbox.rows()[0].created_ms;
    wait_for(
        "the entry to be over a second old",
        Duration::from_secs(10),
        || now_ms() - created > 1100,
    );
    queue(&client, &Call::with_id("young"));
    let sim = sim();
    client.set("endpoint", &sim.url());
    take_my_logs();
    let flushed = flush(&client, 10_000);
    assert_eq!(
        (
            flushed.status,
            flushed.delivered,
            flushed.pending,
            flushed.dead
        ),
        (LCM_OK, 1, 0, 1),
        "{flushed:?}"
    );
    assert_eq!(accepted_ids(&sim), ["young"]);
    let rows = outbox.rows();
    assert_eq!((rows.len(), rows[0].id), (1, old));
    assert_eq!(rows[0].state, "dead");
    let why = rows[0].last_error.clone().unwrap();
    assert!(why.contains("outbox_max_age_s"), "{why}");
    let logged = take_my_logs();
    assert!(
        logged.iter().any(
            |l| l.level == LCM_LOG_ERROR && l.message.contains(&format!("outbox entry {old} "))
        ),
        "an error line names the entry: {logged:?}"
    );
}

#[test]
fn always_mode_returns_without_waiting_for_a_slow_lcm() {
    let outbox = OutboxFile::new("always-slow");
    let sim = sim_with(Faults {
        latency_ms: 3000,
        ..Faults::default()
    });
    let client = outbox.client(&sim.url());
    client.set("outbox_mode", "always");
    client.set("outbox_retry_ms", "50");
    let began = Instant::now();
    let first = queue(&client, &Call::with_id("slow-1"));
    let took = began.elapsed();
    assert!(took < Duration::from_millis(2000), "took {took:?}");
    // The sender is now waiting for LCM's answer to slow-1: a caller must not.
    wait_for("the sender to send slow-1", Duration::from_secs(20), || {
        sim.request_count() == 1
    });
    let began = Instant::now();
    queue(&client, &Call::with_id("slow-2"));
    let took = began.elapsed();
    assert!(took < Duration::from_millis(2000), "took {took:?}");
    assert!(
        outbox
            .rows()
            .iter()
            .any(|r| r.id == first && r.state == "sending"),
        "slow-1 was still in flight when slow-2 returned"
    );
    sim.set_faults(Faults::default()).unwrap();
    wait_for(
        "the sender to deliver both",
        Duration::from_secs(30),
        || counts(&client).0 == 0,
    );
    assert_eq!(accepted_ids(&sim), ["slow-1", "slow-2"]);
}

#[test]
fn the_sender_delivers_in_the_background_and_free_joins_it() {
    let outbox = OutboxFile::new("sender-free");
    let sim = sim();
    let client = outbox.client(&refused_endpoint());
    client.set("outbox_retry_ms", "50");
    queue(&client, &Call::with_id("background"));
    client.set("endpoint", &sim.url());
    wait_for("the sender to deliver", Duration::from_secs(30), || {
        counts(&client).0 == 0
    });
    assert_eq!(accepted_ids(&sim), ["background"]);

    // A sender in the middle of a delivery is stopped and joined by free.
    sim.set_faults(Faults::answering(Answer::Hang)).unwrap();
    client.set("timeout_ms", "1000");
    client.set("outbox_mode", "always");
    let entry = queue(&client, &Call::with_id("hung"));
    wait_for("the sender to send", Duration::from_secs(20), || {
        sim.request_count() == 2
    });
    let began = Instant::now();
    drop(client);
    let took = began.elapsed();
    assert!(took < Duration::from_secs(4), "free took {took:?}");
    let rows = outbox.rows();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].id, entry);
    assert_eq!(
        (rows[0].state.as_str(), rows[0].last_status.as_deref()),
        ("pending", Some("LCM_ERR_TIMEOUT")),
        "free returned after the delivery in hand ended and was recorded"
    );
}

#[test]
fn delivered_with_the_settings_in_force_at_delivery_time() {
    let outbox = OutboxFile::new("settings-at-delivery");
    let client = outbox.client(&refused_endpoint());
    client.set("source", "old-source");
    let call = distinct("settings");
    queue(&client, &call);
    let sim = sim();
    client.set("endpoint", &sim.url());
    client.set("source", "new-source");
    client.set("auth", "Bearer fixed-endpoint-token");
    let flushed = flush(&client, 10_000);
    assert_eq!(
        (flushed.status, flushed.delivered),
        (LCM_OK, 1),
        "{flushed:?}"
    );
    let request = &sim.requests()[0];
    assert_eq!(
        request.header("authorization"),
        Some("Bearer fixed-endpoint-token")
    );
    let got = &sim.accepted()[0];
    assert_eq!(got["source"], "new-source");
    assert_eq!(got["callid"], "settings");
    assert_eq!(got["AccountNumber"], "9|8|7");
    assert_eq!(got["OutcomeId"], 1001);
    assert_eq!(got["LeadScore"], 12.5);
    assert_eq!(got["UserID"], "agent-\u{e9}");
    assert_eq!(
        got["AgentComments"],
        "called back \"later\" \u{2713} \u{1F600}"
    );
    assert_eq!(got["TargetAmount"], -1000.25);
}

#[test]
fn deliveries_are_logged_like_calls_with_the_entry_id() {
    capture_logs();
    let outbox = OutboxFile::new("logged");
    let client = outbox.client(&refused_endpoint());
    client.set("log_level", "debug");
    let entry = queue(&client, &Call::with_id("logged"));
    let entry_is = format!("outbox entry {entry} (call logged)");
    let lines = |level: i32, words: &str| -> Vec<LogLine> {
        take_my_logs()
            .into_iter()
            .filter(|l| l.level == level && l.message.contains(&entry_is))
            .filter(|l| l.message.contains(words))
            .collect()
    };
    take_my_logs();
    assert_eq!(flush(&client, 5000).status, LCM_ERR_CONNECT);
    let logged = take_my_logs();
    let attempt = format!("for {entry_is} (attempt 1 of 1)");
    let named = |level: i32, words: &str| {
        logged
            .iter()
            .filter(|l| l.level == level && l.message.contains(&entry_is))
            .any(|l| l.message.contains(words))
    };
    assert!(
        named(LCM_LOG_DEBUG, &attempt),
        "debug per attempt: {logged:?}"
    );
    assert!(
        named(LCM_LOG_INFO, "LCM_ERR_CONNECT"),
        "info per failure: {logged:?}"
    );

    let sim = sim();
    client.set("endpoint", &sim.url());
    assert_eq!(flush(&client, 5000).status, LCM_OK);
    assert_eq!(lines(LCM_LOG_DEBUG, "outcome recorded").len(), 1);
    // A call's own lines are unchanged: they name the call, as before.
    client.set("outbox", "");
    client.set("endpoint", &refused_endpoint());
    take_my_logs();
    client.send(&Call::with_id("direct"));
    let direct: Vec<String> = take_my_logs().into_iter().map(|l| l.message).collect();
    assert!(
        direct[0].contains("for call direct (attempt 1 of 1)"),
        "{direct:?}"
    );
    assert!(
        direct[1].starts_with("LCM_ERR_CONNECT after "),
        "{direct:?}"
    );
}

#[test]
fn flush_and_count_report_as_documented() {
    let outbox = OutboxFile::new("flush-count");
    let sim = sim();
    let without = Client::for_endpoint(&sim.url());
    let flushed = flush(&without, 1000);
    assert_status(
        &(flushed.status, flushed.message.clone()),
        LCM_ERR_CONFIG,
        &["outbox"],
    );
    assert_eq!(
        (flushed.delivered, flushed.pending, flushed.dead),
        (usize::MAX, usize::MAX, usize::MAX),
        "out-pointers untouched on LCM_ERR_CONFIG"
    );
    let (status, pending, _, message) = count(&without);
    assert_status(&(status, message), LCM_ERR_CONFIG, &["outbox"]);
    assert_eq!(pending, usize::MAX);

    let client = outbox.client(&refused_endpoint());
    let flushed = flush(&client, 0);
    assert_eq!(
        (flushed.status, flushed.delivered, flushed.pending),
        (LCM_OK, 0, 0)
    );
    queue(&client, &Call::with_id("c-1"));
    queue(&client, &Call::with_id("c-2"));
    let flushed = flush(&client, 300);
    assert_status(
        &(flushed.status, flushed.message.clone()),
        LCM_ERR_CONNECT,
        &[],
    );
    assert_eq!(
        (flushed.delivered, flushed.pending, flushed.dead),
        (0, 2, 0)
    );
    let flushed = flush(&client, -1);
    assert_status(
        &(flushed.status, flushed.message),
        LCM_ERR_INVALID_ARGUMENT,
        &["timeout_ms"],
    );
    assert_eq!(
        flushed.pending,
        usize::MAX,
        "untouched on LCM_ERR_INVALID_ARGUMENT"
    );

    client.set("endpoint", &sim.url());
    assert_eq!(counts(&client), (2, 0));
    assert_eq!(sim.request_count(), 0, "counting sends nothing");
    let flushed = flush(&client, 0);
    assert_status(
        &(flushed.status, flushed.message),
        LCM_ERR_TIMEOUT,
        &["timeout_ms"],
    );
    assert_eq!(sim.request_count(), 0, "timeout_ms 0 sends nothing");
    // Every out-pointer may be NULL.
    let mut err = [0 as std::ffi::c_char; LCM_ERROR_SIZE];
    let null = std::ptr::null_mut();
    let status = unsafe {
        lcm_client_outbox_flush(
            client.0,
            10_000,
            null,
            null,
            null,
            err.as_mut_ptr(),
            err.len(),
        )
    };
    assert_status(&(status, buffer_text(&err)), LCM_OK, &[]);
    let status = unsafe { lcm_client_outbox_count(client.0, null, null, err.as_mut_ptr(), 0) };
    assert_eq!(status, LCM_OK);
    assert_eq!(accepted_ids(&sim), ["c-1", "c-2"]);
}

#[test]
fn the_sender_backs_off_while_lcm_stays_down_and_resumes_when_it_answers() {
    let outbox = OutboxFile::new("sender-backoff");
    let sim = sim_with(Faults::answering(Answer::fail(503)));
    let client = outbox.client(&sim.url());
    client.set("outbox_retry_ms", "100");
    let began = Instant::now();
    queue(&client, &Call::with_id("backoff"));
    // Each attempt at least twice as long after the one before: 100, 200, 400 ms.
    let mut attempts = Vec::new();
    for n in 1..=4 {
        wait_for("the sender's next attempt", Duration::from_secs(30), || {
            sim.request_count() > n
        });
        attempts.push(began.elapsed());
    }
    for (k, pair) in attempts.windows(2).enumerate() {
        let least = Duration::from_millis(100 << k);
        assert!(pair[1] - pair[0] >= least, "attempt gaps {attempts:?}");
    }
    let client = std::sync::Arc::new(client);
    // Now a long backoff; LCM answering a call wakes the sender at once.
    client.set("outbox_retry_ms", "600000");
    let before = sim.request_count();
    wait_for("one more attempt", Duration::from_secs(30), || {
        sim.request_count() > before
    });
    sim.set_faults(Faults::default()).unwrap();
    assert_status(&client.send(&Call::with_id("direct")), LCM_OK, &[]);
    wait_for("the backlog to go", Duration::from_secs(30), || {
        counts(&client).0 == 0
    });
    assert_eq!(accepted_ids(&sim), ["direct", "backoff"]);
}

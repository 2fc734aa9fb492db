//! Which outcomes the outbox takes, and in which order they reach LCM
//! (docs/design.md §9): queued on each retryable failure and only on those, latest
//! wins per call id, and a direct call's hold on its call id's pending entries. One
//! rule per test, through the C ABI against lcm-sim.

use std::time::Duration;

use lcm_outcome::ffi::*;
use lcm_sim::{Answer, AnswerVariant, Faults};

use super::common::*;
use super::*;

/// An outcome whose every field differs from the sample's, to see each one kept.
pub fn distinct(id: &str) -> Call {
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
}

#[test]
fn what_cannot_be_sent_is_not_queued() {
    let outbox = OutboxFile::new("not-queued-unsendable");
    let client = outbox.client(&refused_endpoint());
    // Refused before anything is sent, also while LCM is down.
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

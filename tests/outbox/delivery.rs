//! What leaves the outbox, when and how (docs/design.md §9): only what LCM
//! confirmed, rejected (a dead letter, with LCM's answer) or what grew older than
//! `outbox_max_age_s`; each entry tried once per flush, oldest first; delivered with
//! the settings in force at delivery time, logged like a call with the entry's id;
//! and what flush and count return.

use std::time::{Duration, Instant};

use lcm_outcome::ffi::*;
use lcm_sim::{Answer, AnswerVariant, Faults};

use super::common::*;
use super::rules::distinct;
use super::*;

#[test]
fn a_final_no_makes_a_dead_letter_with_lcms_answer() {
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
    let mut dead = Vec::new();
    for (i, (answer, status, why)) in finals.iter().enumerate() {
        client.set("endpoint", &refused_endpoint());
        let entry = queue(&client, &Call::with_id(&format!("dead-{i}")));
        client.set("endpoint", &sim.url());
        sim.set_faults(Faults::answering(answer.clone())).unwrap();
        take_my_logs();
        let flushed = flush(&client, 5000);
        assert_eq!(flushed.status, LCM_OK, "{answer:?}: {flushed:?}");
        assert_eq!((flushed.delivered, flushed.dead), (0, i + 1), "{answer:?}");
        assert_buried(&outbox, entry, status, why);
        dead.push(entry);
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

/// Entry `entry` is a dead letter with `status` and LCM's answer (holding `why`),
/// and an error line named it.
#[track_caller]
fn assert_buried(outbox: &OutboxFile, entry: i64, status: &str, why: &str) {
    let row = outbox.rows().into_iter().find(|r| r.id == entry).unwrap();
    assert_eq!(row.state, "dead", "{row:?}");
    assert_eq!(row.last_status.as_deref(), Some(status), "{row:?}");
    let answer = row.last_error.unwrap_or_default();
    assert!(answer.contains(why), "LCM's answer kept: {answer}");
    let logged = take_my_logs();
    assert!(
        logged.iter().any(|l| l.level == LCM_LOG_ERROR
            && l.message.contains(&format!("outbox entry {entry} "))
            && l.message.contains("dead letters")),
        "an error line names entry {entry}: {logged:?}"
    );
}

#[test]
fn a_failure_that_may_pass_keeps_the_entry() {
    let sim = sim();
    let passing = [
        (Answer::fail(408), "LCM_ERR_HTTP_STATUS"),
        (Answer::fail(429), "LCM_ERR_HTTP_STATUS"),
        (Answer::fail(503), "LCM_ERR_HTTP_STATUS"),
        (Answer::Malformed, "LCM_ERR_BAD_RESPONSE"),
        (Answer::Hang, "LCM_ERR_TIMEOUT"),
    ];
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
fn flush_and_count_without_an_outbox_are_config_errors() {
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
}

#[test]
fn flush_and_count_report_as_documented() {
    let outbox = OutboxFile::new("flush-count");
    let sim = sim();
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

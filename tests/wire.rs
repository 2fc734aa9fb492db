//! What goes on the wire, as lcm-sim received it: the vendor sample, numbers,
//! `OutcomeId`, and text that must round-trip unchanged.

mod common;

use common::*;
use lcm_outcome::ffi::*;
use serde_json::{json, Value};

/// Sends `call` to a fresh sim and returns the request body it received, parsed.
fn sent(call: &Call, configure: &[(&str, &str)]) -> (Value, lcm_sim::ReceivedRequest) {
    let sim = sim();
    let client = Client::for_endpoint(&sim.url());
    for (key, value) in configure {
        client.set(key, value);
    }
    assert_status(&client.send(call), LCM_OK, &[]);
    let request = sim.requests().pop().expect("one request");
    (request.json().expect("the request body is JSON"), request)
}

#[test]
fn vendor_sample_inputs_give_the_vendor_sample_request() {
    // The vendor's sample request, verbatim, plus the `source` the table lists.
    let mut expected: Value = serde_json::from_str(
        r#"{
        "channel": "LCM",
        "topic": "WebService",
        "subtopic": "SetCallOutcomeWithComments",
        "data":
        {
        "callid": "12345",
        "AccountNumber": "5|3|1|0|0|44|1",
        "OutcomeId": 1,
        "LeadScore": 0,
        "UserID": "testagent",
        "AgentComments": "Test comment",
        "TargetAmount": 0
        }
        }"#,
    )
    .unwrap();
    expected["source"] = json!("lcm-outcome");
    let (body, request) = sent(&Call::sample(), &[]);
    assert_eq!(body, expected);

    // Integers on the wire, not 0.0 or "1": compare the raw text too.
    let raw = String::from_utf8(request.body.clone()).unwrap();
    for fragment in [
        r#""OutcomeId":1,"#,
        r#""LeadScore":0,"#,
        r#""TargetAmount":0}"#,
    ] {
        assert!(raw.contains(fragment), "{raw} lacks {fragment}");
    }
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("authorization"), None);
}

#[test]
fn numbers_whole_as_integers_others_as_shortest_decimals() {
    let call = Call {
        lead_score: 87.0,
        target_amount: 1234.5,
        ..Call::sample()
    };
    let (body, request) = sent(&call, &[]);
    let raw = String::from_utf8(request.body).unwrap();
    assert!(raw.contains(r#""LeadScore":87,"#), "{raw}");
    assert!(raw.contains(r#""TargetAmount":1234.5}"#), "{raw}");
    assert_eq!(body["data"]["TargetAmount"].as_f64(), Some(1234.5));

    let call = Call {
        lead_score: -0.0,
        target_amount: 0.1,
        ..Call::sample()
    };
    let raw = String::from_utf8(sent(&call, &[]).1.body).unwrap();
    assert!(
        raw.contains(r#""LeadScore":0,"#) && raw.contains(r#""TargetAmount":0.1}"#),
        "{raw}"
    );
}

#[test]
fn outcome_id_follows_design_section_2() {
    let cases = [
        ("1", json!(1)),
        ("1001", json!(1001)),
        ("01", json!("01")),
        ("+1", json!("+1")),
        ("1.5", json!("1.5")),
        ("SALE", json!("SALE")),
    ];
    for (given, on_wire) in cases {
        let call = Call {
            outcome_id: Some(given.as_bytes().to_vec()),
            ..Call::sample()
        };
        let (body, _) = sent(&call, &[]);
        assert_eq!(body["data"]["OutcomeId"], on_wire, "OutcomeId {given:?}");
        assert!(body["data"].get("OutcomeID").is_none());
    }
}

#[test]
fn any_text_round_trips_unchanged_in_every_string_field() {
    let texts = [
        "Zoë Ünal — café «quoted» ‘single’",
        "quotes \" and backslashes \\ and \\\" both",
        "line one\nline two\r\n\ttabbed",
        "emoji 😀👍🏽 and CJK 漢字 and RTL עברית",
        "control \u{1} \u{1f} and </script> and \u{2028}",
    ];
    for text in texts {
        let bytes = Some(text.as_bytes().to_vec());
        let call = Call {
            call_id: bytes.clone(),
            account_number: bytes.clone(),
            outcome_id: bytes.clone(),
            user_id: bytes.clone(),
            agent_comments: bytes.clone(),
            ..Call::sample()
        };
        let (body, _) = sent(&call, &[]);
        let data = &body["data"];
        for key in [
            "callid",
            "AccountNumber",
            "OutcomeId",
            "UserID",
            "AgentComments",
        ] {
            assert_eq!(data[key].as_str(), Some(text), "{key}");
        }
    }
}

#[test]
fn source_and_auth_are_sent_as_configured() {
    let (body, request) = sent(
        &Call::sample(),
        &[("source", "dialer-7"), ("auth", "Bearer t0k3n")],
    );
    assert_eq!(body["source"], "dialer-7");
    assert_eq!(request.header("authorization"), Some("Bearer t0k3n"));
}

#[test]
fn one_connection_serves_sequential_calls() {
    let sim = sim();
    let client = Client::for_endpoint(&sim.url());
    for i in 0..20 {
        assert_status(
            &client.send(&Call::with_id(&format!("seq-{i}"))),
            LCM_OK,
            &[],
        );
    }
    assert_eq!(sim.accepted().len(), 20);
    assert_eq!(
        sim.connection_count(),
        1,
        "keep-alive: one TCP connection for 20 calls"
    );
}

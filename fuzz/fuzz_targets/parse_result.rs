//! Fuzzes the reading of LCM's answer (`message::parse_result`) with any body and any
//! call id.
//!
//! Input: the call id up to the first `\n` (invalid UTF-8 replaced), then the body.
//! Without a `\n` the whole input is the body and the call id is the vendor
//! sample's `12345`. The seeds in `corpus/parse_result/` are readable that way.
//!
//! Beyond "no panic, no hang": every error must fit the C error buffer contract, and
//! every success or rejection must be one that a plain JSON reading of the body
//! confirms, so that the parser cannot drift into accepting what is not a result
//! envelope for this call.
#![no_main]

use std::collections::HashMap;
use std::fmt;

use libfuzzer_sys::fuzz_target;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use lcm_outcome::error::MAX_MESSAGE_BYTES;
use lcm_outcome::message::{parse_result, RESULT_SUBTOPIC};
use lcm_outcome::Status;

fuzz_target!(|data: &[u8]| {
    let (call_id, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (
            String::from_utf8_lossy(&data[..i]).into_owned(),
            &data[i + 1..],
        ),
        None => ("12345".to_string(), data),
    };
    match parse_result(body, &call_id) {
        Ok(()) => assert_eq!(
            verdict(body, &call_id),
            Some(true),
            "accepted an answer that is not a success result for call {call_id:?}"
        ),
        Err(e) => {
            check_message(e.message(), e.message_without_quote());
            match e.status() {
                Status::BadResponse => {}
                Status::Rejected => assert_eq!(
                    verdict(body, &call_id),
                    Some(false),
                    "reported a rejection that the body does not hold: {}",
                    e.message()
                ),
                other => panic!("parse_result returned {other:?}: {}", e.message()),
            }
        }
    }
});

/// What the body says about the call, read independently of the library: `Some`
/// with `message.response.success` when it is a result envelope for `call_id`, else
/// `None`. Names compare case-insensitively and `channel`/`topic` may be absent (or
/// null), as design.md §2 allows; every level must be a JSON object.
fn verdict(body: &[u8], call_id: &str) -> Option<bool> {
    let mut reader = serde_json::Deserializer::from_slice(body);
    let Node::Object(envelope) = Members(Level::Envelope).deserialize(&mut reader).ok()? else {
        return None;
    };
    reader.end().ok()?;
    let name_is = |key: &str, expected: &str, required: bool| match leaf(&envelope, key) {
        None | Some(Value::Null) => !required,
        Some(Value::String(s)) => s.eq_ignore_ascii_case(expected),
        Some(_) => false,
    };
    if !(name_is("channel", "LCM", false)
        && name_is("topic", "WebService", false)
        && name_is("subtopic", RESULT_SUBTOPIC, true))
    {
        return None;
    }
    let Some(Node::Object(message)) = envelope.get("message") else {
        return None;
    };
    let same_call = match leaf(message, "callid")? {
        Value::String(s) => s == call_id,
        Value::Number(n) => n.to_string() == call_id,
        _ => false,
    };
    let Some(Node::Object(response)) = message.get("response") else {
        return None;
    };
    same_call.then(|| leaf(response, "success")?.as_bool())?
}

/// A member the verdict reads: an object of the next level, or a value.
enum Node {
    Object(HashMap<String, Node>),
    Leaf(Value),
}

fn leaf<'a>(object: &'a HashMap<String, Node>, key: &str) -> Option<&'a Value> {
    match object.get(key) {
        Some(Node::Leaf(value)) => Some(value),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum Level {
    Envelope,
    Message,
    Response,
}

/// Reads a JSON object of `Level`, keeping the members the verdict needs. Other
/// members are skipped unread, as serde_json skips them for the library: it checks
/// neither UTF-8 nor escapes in what it skips, so reading them here would refuse
/// bodies that the library may rightly accept. Anything but an object is an error.
struct Members(Level);

impl<'de> DeserializeSeed<'de> for Members {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Members {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut members = HashMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let node = match (self.0, key.as_str()) {
                (Level::Envelope, "message") => map.next_value_seed(Members(Level::Message))?,
                (Level::Message, "response") => map.next_value_seed(Members(Level::Response))?,
                (Level::Envelope, "channel" | "topic" | "subtopic")
                | (Level::Message, "callid")
                | (Level::Response, "success") => Node::Leaf(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            members.insert(key, node);
        }
        Ok(Node::Object(members))
    }
}

/// The error buffer contract: bounded, no control characters (the text goes through
/// a C string), and the log-safe part a prefix of the whole.
fn check_message(message: &str, without_quote: &str) {
    assert!(
        message.len() <= MAX_MESSAGE_BYTES,
        "message of {} bytes",
        message.len()
    );
    assert!(
        !message.chars().any(char::is_control),
        "control character in {message:?}"
    );
    assert!(message.starts_with(without_quote));
    assert!(!message.is_empty());
}

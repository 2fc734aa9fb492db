//! An oracle for `message::parse_result`: what it answers for any body and call id
//! is checked against a plain JSON reading of the body, made independently of the
//! library, and against the error buffer contract that every error text must keep.
//!
//! One file for both callers, so that they cannot drift apart: the property tests
//! (`tests/properties.rs`) and the fuzz target (`fuzz/fuzz_targets/parse_result.rs`)
//! include it with `#[path]`. It lives in a subdirectory of `tests/`, which cargo
//! does not build as a test of its own, and needs only serde, serde_json and the
//! library, which both crates depend on.

use std::collections::HashMap;
use std::fmt;

use lcm_outcome::error::MAX_MESSAGE_BYTES;
use lcm_outcome::message::{parse_result, RESULT_SUBTOPIC};
use lcm_outcome::Status;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

/// How `parse_result(body, call_id)` answers wrongly, or `None` when its answer is
/// sound: a success must be one the body holds, an error must keep the error buffer
/// contract and be either a bad response (so named in its text) or a rejection that
/// the body holds; no other status can come from reading an answer.
pub fn misjudgement(body: &[u8], call_id: &str) -> Option<String> {
    let Err(e) = parse_result(body, call_id) else {
        return (verdict(body, call_id) != Some(true)).then(|| {
            format!("accepted an answer that is not a success result for call {call_id:?}")
        });
    };
    let message = e.message();
    if let Some(breach) = error_text_breach(message, e.message_without_quote()) {
        return Some(breach);
    }
    match e.status() {
        Status::BadResponse if message.starts_with("LCM's answer ") => None,
        Status::BadResponse => Some(format!("a bad response not named so: {message:?}")),
        Status::Rejected if verdict(body, call_id) == Some(false) => None,
        Status::Rejected => Some(format!(
            "reported a rejection that the body does not hold: {message:?}"
        )),
        other => Some(format!("parse_result returned {other:?}: {message:?}")),
    }
}

/// What the body says about the call: `Some` with `message.response.success` when it
/// is a result envelope for `call_id`, else `None`. Names compare case-insensitively
/// and `channel`/`topic` may be absent (or null), as docs/design.md §2 allows; every level
/// must be a JSON object.
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

/// How an error's text breaks the error buffer contract, or `None` when it keeps
/// it: not empty, bounded, no control characters (the text goes through a C
/// string), and the log-safe part (`without_quote`) a prefix of the whole.
fn error_text_breach(message: &str, without_quote: &str) -> Option<String> {
    if message.is_empty() {
        Some("empty message".to_owned())
    } else if message.len() > MAX_MESSAGE_BYTES {
        Some(format!("message of {} bytes", message.len()))
    } else if message.chars().any(char::is_control) {
        Some(format!("control character in {message:?}"))
    } else if !message.starts_with(without_quote) {
        Some(format!("{without_quote:?} is not a prefix of {message:?}"))
    } else {
        None
    }
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

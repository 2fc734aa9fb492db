//! The LCM `SetCallOutcomeWithComments` envelopes: strict validation of a request and
//! the result envelopes the vendor documents.
//!
//! Validation is stricter than a real server needs to be, on purpose: this is a test
//! double, and every field that is missing, mistyped or unexpected is a client bug that
//! should surface in the client's tests rather than in production.

use serde_json::{Map, Value};

use crate::answer::AnswerVariant;

/// A request that passed validation.
#[derive(Debug)]
pub(crate) struct OutcomeRequest {
    /// `data.callid`, possibly empty (the vendor answers that with a WS_Error, not a 400).
    pub callid: String,
    /// The envelope's `source`, when sent.
    pub source: Option<String>,
    /// The whole `data` object, as received.
    pub data: Map<String, Value>,
}

/// Keys allowed at the top of the envelope.
const ENVELOPE_KEYS: [&str; 5] = ["channel", "topic", "subtopic", "source", "data"];
/// Keys allowed in `data`. The vendor's table spells `OutcomeID`, its sample `OutcomeId`;
/// both are accepted, one at a time.
const DATA_KEYS: [&str; 8] = [
    "callid",
    "AccountNumber",
    "OutcomeId",
    "OutcomeID",
    "LeadScore",
    "UserID",
    "AgentComments",
    "TargetAmount",
];

/// "a string", "a number", ... for error messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The value of `key` in `obj`, or the error "`label`: missing".
fn field<'a>(obj: &'a Map<String, Value>, key: &str, label: &str) -> Result<&'a Value, String> {
    obj.get(key).ok_or_else(|| format!("{label}: missing"))
}

/// A string field.
fn string<'a>(obj: &'a Map<String, Value>, key: &str, label: &str) -> Result<&'a str, String> {
    match field(obj, key, label)? {
        Value::String(s) => Ok(s),
        other => Err(format!("{label}: expected a string, got {}", kind(other))),
    }
}

/// A number field (integer or not).
fn number(obj: &Map<String, Value>, key: &str, label: &str) -> Result<(), String> {
    match field(obj, key, label)? {
        Value::Number(_) => Ok(()),
        other => Err(format!("{label}: expected a number, got {}", kind(other))),
    }
}

/// A string field that must have one exact value (`ignore_case` for `topic`, whose
/// casing the vendor page spells two ways).
fn constant(
    obj: &Map<String, Value>,
    key: &str,
    expected: &str,
    ignore_case: bool,
) -> Result<(), String> {
    let got = string(obj, key, key)?;
    let ok = if ignore_case {
        got.eq_ignore_ascii_case(expected)
    } else {
        got == expected
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{key}: expected {expected:?}, got {got:?}"))
    }
}

/// Validates a request body. The error is a readable "`field`: what is wrong" sentence
/// for the 400 answer; data fields are named `data.<key>`.
pub(crate) fn parse_request(body: &[u8]) -> Result<OutcomeRequest, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("body: not valid JSON ({e})"))?;
    let Value::Object(mut envelope) = value else {
        return Err(format!(
            "body: expected a JSON object, got {}",
            kind(&value)
        ));
    };
    constant(&envelope, "channel", "LCM", false)?;
    constant(&envelope, "topic", "WebService", true)?;
    constant(&envelope, "subtopic", "SetCallOutcomeWithComments", false)?;
    let source = match envelope.get("source") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(format!("source: expected a string, got {}", kind(other))),
    };
    let data = match envelope.remove("data") {
        None => return Err("data: missing".to_owned()),
        Some(Value::Object(data)) => data,
        Some(other) => return Err(format!("data: expected an object, got {}", kind(&other))),
    };
    if let Some(key) = envelope
        .keys()
        .find(|k| !ENVELOPE_KEYS.contains(&k.as_str()))
    {
        return Err(format!("{key}: unknown field"));
    }

    let callid = check_data(&data)?;
    Ok(OutcomeRequest {
        callid,
        source,
        data,
    })
}

/// Validates the `data` object's fields; returns its call id.
fn check_data(data: &Map<String, Value>) -> Result<String, String> {
    let callid = string(data, "callid", "data.callid")?.to_owned();
    string(data, "AccountNumber", "data.AccountNumber")?;
    let outcome_key = match (
        data.contains_key("OutcomeId"),
        data.contains_key("OutcomeID"),
    ) {
        (true, true) => {
            return Err("data.OutcomeId: sent twice, as OutcomeId and as OutcomeID".to_owned())
        }
        (false, true) => "OutcomeID",
        _ => "OutcomeId",
    };
    let label = format!("data.{outcome_key}");
    match field(data, outcome_key, &label)? {
        Value::String(_) => {}
        Value::Number(n) if n.is_i64() || n.is_u64() => {}
        Value::Number(n) => {
            return Err(format!("{label}: expected a string or an integer, got {n}"));
        }
        other => {
            return Err(format!(
                "{label}: expected a string or an integer, got {}",
                kind(other)
            ))
        }
    }
    number(data, "LeadScore", "data.LeadScore")?;
    string(data, "UserID", "data.UserID")?;
    string(data, "AgentComments", "data.AgentComments")?;
    number(data, "TargetAmount", "data.TargetAmount")?;
    if let Some(key) = data.keys().find(|k| !DATA_KEYS.contains(&k.as_str())) {
        return Err(format!("data.{key}: unknown field"));
    }
    Ok(callid)
}

/// `s` as a JSON string literal.
fn quoted(s: &str) -> String {
    Value::from(s).to_string()
}

/// The success answer, keys in the order of the vendor's sample response.
pub(crate) fn success(callid: &str) -> String {
    format!(
        r#"{{"channel":"LCM","topic":"WebService","subtopic":"SetCallOutcomeWithCommentsResult","message":{{"callid":{},"response":{{"success":true}}}}}}"#,
        quoted(callid)
    )
}

/// A WS_Error answer (the vendor's "Possible Error Cases"): `success:false` plus an
/// `error` object whose `detail` says what was wrong.
pub(crate) fn ws_error(callid: &str, detail: &str) -> String {
    format!(
        r#"{{"channel":"LCM","topic":"WebService","subtopic":"SetCallOutcomeWithCommentsResult","message":{{"callid":{},"response":{{"success":false}},"error":{{"type":"WS_Error","detail":{},"message":"Invalid Call ID."}}}}}}"#,
        quoted(callid),
        quoted(detail)
    )
}

/// The request's `data.callid` if the body has one, without validating anything else:
/// the call id a faulty answer echoes.
pub(crate) fn loose_callid(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("data")?.get("callid")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The request's `data.AgentComments` if the body has it, without validating anything
/// else: the comments a faulty answer echoes.
pub(crate) fn loose_comments(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            let comments = v.get("data")?.get("AgentComments")?.as_str()?;
            Some(comments.to_owned())
        })
        .unwrap_or_default()
}

/// The answer of an [`AnswerVariant`] fault: a result envelope wrong in exactly one way.
pub(crate) fn variant(variant: AnswerVariant, callid: &str) -> String {
    let result = |subtopic: &str, callid: &str, message_rest: &str| {
        format!(
            r#"{{"channel":"LCM","topic":"WebService","subtopic":"{subtopic}","message":{{"callid":{}{message_rest}}}}}"#,
            quoted(callid)
        )
    };
    const SUBTOPIC: &str = "SetCallOutcomeWithCommentsResult";
    match variant {
        AnswerVariant::WrongSubtopic => result(
            "SetCallOutcomeResult",
            callid,
            r#","response":{"success":true}"#,
        ),
        AnswerVariant::OtherCallId => result(
            SUBTOPIC,
            &format!("{callid}-other"),
            r#","response":{"success":true}"#,
        ),
        AnswerVariant::SuccessMissing => result(SUBTOPIC, callid, r#","response":{}"#),
        AnswerVariant::SuccessNotBoolean => {
            result(SUBTOPIC, callid, r#","response":{"success":"true"}"#)
        }
        AnswerVariant::Rejected => ws_error(callid, &format!("Invalid Call ID:{callid}")),
        AnswerVariant::RejectedWithoutError => {
            result(SUBTOPIC, callid, r#","response":{"success":false}"#)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({"channel":"LCM","topic":"WebService","subtopic":"SetCallOutcomeWithComments",
               "data":{"callid":"12345","AccountNumber":"5|3|1|0|0|44|1","OutcomeId":1,
                       "LeadScore":0,"UserID":"testagent","AgentComments":"Test comment",
                       "TargetAmount":0}})
    }

    fn check(v: &Value) -> Result<OutcomeRequest, String> {
        parse_request(v.to_string().as_bytes())
    }

    #[test]
    fn accepts_the_vendor_sample() {
        let r = check(&sample()).unwrap();
        assert_eq!(r.callid, "12345");
        assert_eq!(r.source, None);
        assert_eq!(r.data.len(), 7);
    }

    /// Changes the sample into a faulty request.
    type Edit = fn(&mut Value);

    #[test]
    fn names_the_faulty_field() {
        let cases: Vec<(Edit, &str)> = vec![
            (|v| v["channel"] = json!("lcm"), "channel: expected \"LCM\""),
            (|v| v["subtopic"] = json!("X"), "subtopic: expected"),
            (
                |v| v["source"] = json!(1),
                "source: expected a string, got a number",
            ),
            (|v| v["extra"] = json!(1), "extra: unknown field"),
            (
                |v| v["data"] = json!([]),
                "data: expected an object, got an array",
            ),
            (
                |v| v["data"]["LeadScore"] = json!("0"),
                "data.LeadScore: expected a number, got a string",
            ),
            (
                |v| v["data"]["OutcomeId"] = json!(1.5),
                "data.OutcomeId: expected a string or an integer, got 1.5",
            ),
            (
                |v| v["data"]["OutcomeID"] = json!("2"),
                "data.OutcomeId: sent twice",
            ),
            (
                |v| v["data"]["Callid"] = json!("2"),
                "data.Callid: unknown field",
            ),
            (
                |v| {
                    v["data"].as_object_mut().unwrap().remove("UserID");
                },
                "data.UserID: missing",
            ),
            (
                |v| v["data"]["TargetAmount"] = Value::Null,
                "data.TargetAmount: expected a number, got null",
            ),
        ];
        for (edit, want) in cases {
            let mut v = sample();
            edit(&mut v);
            let err = check(&v).unwrap_err();
            assert!(err.starts_with(want), "{err:?} should start with {want:?}");
        }
        assert!(parse_request(b"{\"channel\":")
            .unwrap_err()
            .starts_with("body: not valid JSON"));
        assert_eq!(
            parse_request(b"[]").unwrap_err(),
            "body: expected a JSON object, got an array"
        );
    }

    #[test]
    fn tolerates_what_the_vendor_page_spells_two_ways() {
        let mut v = sample();
        v["topic"] = json!("Webservice");
        let data = v["data"].as_object_mut().unwrap();
        let id = data.remove("OutcomeId").unwrap();
        data.insert("OutcomeID".into(), id);
        assert!(check(&v).is_ok());
    }

    #[test]
    fn each_variant_is_a_success_but_for_one_thing() {
        let good: Value = serde_json::from_str(&success("7")).unwrap();
        for v in AnswerVariant::ALL {
            let body: Value = serde_json::from_str(&variant(v, "7")).unwrap();
            let differs = |pointer: &str| body.pointer(pointer) != good.pointer(pointer);
            let diffs: Vec<&str> = ["/channel", "/topic", "/subtopic", "/message/callid"]
                .into_iter()
                .chain(["/message/response/success", "/message/error"])
                .filter(|p| differs(p))
                .collect();
            let want: &[&str] = match v {
                AnswerVariant::WrongSubtopic => &["/subtopic"],
                AnswerVariant::OtherCallId => &["/message/callid"],
                AnswerVariant::SuccessMissing | AnswerVariant::SuccessNotBoolean => {
                    &["/message/response/success"]
                }
                AnswerVariant::Rejected => &["/message/response/success", "/message/error"],
                AnswerVariant::RejectedWithoutError => &["/message/response/success"],
            };
            assert_eq!(diffs, want, "{v}: {body}");
        }
        assert_eq!(loose_callid(br#"{"data":{"callid":"a\"b"}}"#), "a\"b");
        assert_eq!(loose_callid(b"not json"), "");
        assert_eq!(
            loose_comments(br#"{"data":{"AgentComments":"x\ny"}}"#),
            "x\ny"
        );
        assert_eq!(loose_comments(b"[]"), "");
    }

    #[test]
    fn answers_escape_the_call_id() {
        let body: Value = serde_json::from_str(&success("a\"b")).unwrap();
        assert_eq!(body["message"]["callid"], "a\"b");
        let body: Value = serde_json::from_str(&ws_error("", "Callid is empty")).unwrap();
        assert_eq!(body["message"]["error"]["detail"], "Callid is empty");
        assert_eq!(body["message"]["response"]["success"], false);
    }
}

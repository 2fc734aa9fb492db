//! Is the answer LCM's documented refusal of an empty call id? The probe and the
//! verdict on what came back: `success:false` with `WS_Error` "Callid is empty" /
//! "Invalid Call ID." (docs/design.md §2), read as liberally as the library reads a
//! result envelope (its own parser does the reading).

use lcm_outcome::message::{parse_result, REQUEST_SUBTOPIC};
use lcm_outcome::Status;
use serde_json::{json, Value};

/// The vendor's documented refusal: the error's type, detail and message.
pub const REFUSAL: (&str, &str, &str) = ("WS_Error", "Callid is empty", "Invalid Call ID.");

/// The probe: the request envelope, keys and casing as the library sends them, with
/// `callid` empty and harmless values elsewhere.
pub fn probe(source: &str) -> Vec<u8> {
    let envelope = json!({
        "channel": "LCM",
        "topic": "WebService",
        "subtopic": REQUEST_SUBTOPIC,
        "source": source,
        "data": {
            "callid": "",
            "AccountNumber": "0",
            "OutcomeId": 0,
            "LeadScore": 0,
            "UserID": "lcm-outcome-check",
            "AgentComments": "lcm-outcome check: a connectivity probe whose callid is empty on purpose; nothing to record",
            "TargetAmount": 0
        }
    });
    envelope.to_string().into_bytes()
}

/// `Ok` when `body` (of a 2xx answer) is the documented refusal; otherwise why not, in
/// a sentence that may quote the start of the body.
pub fn verdict(body: &[u8]) -> Result<(), String> {
    let refusal = match parse_result(body, "") {
        Ok(()) => {
            return Err(
                "it answered success: true for an empty callid, which LCM refuses: \
                        this is not LCM's SetCallOutcomeWithComments, and it may have \
                        recorded the probe"
                    .into(),
            )
        }
        Err(e) if e.status() == Status::Rejected => e,
        Err(e) => return Err(format!("it is not LCM's result envelope: {}", e.message())),
    };
    if error_object(body).is_some_and(is_documented) {
        return Ok(());
    }
    let (kind, detail, message) = REFUSAL;
    Err(format!(
        "it refused the probe, but not as LCM refuses an empty callid ({kind} \"{detail}\" / \
         \"{message}\"): {}",
        refusal.message()
    ))
}

/// The result's error object: `message.error`, or one at the top, as the library
/// takes it.
fn error_object(body: &[u8]) -> Option<Value> {
    let json = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut envelope: Value = serde_json::from_slice(json).ok()?;
    let inner = envelope.pointer_mut("/message/error").map(Value::take);
    inner
        .filter(Value::is_object)
        .or_else(|| envelope.get_mut("error").map(Value::take))
}

/// Whether the error says what the vendor documents, compared as the library compares
/// names: ignoring case, and blanks and a final period around the texts.
fn is_documented(error: Value) -> bool {
    let text = |key: &str| {
        let value = error.get(key).and_then(Value::as_str).unwrap_or("");
        value.trim().trim_end_matches('.').to_ascii_lowercase()
    };
    let same = |key: &str, expected: &str| {
        text(key) == expected.trim_end_matches('.').to_ascii_lowercase()
    };
    let (kind, detail, message) = REFUSAL;
    same("type", kind) && same("detail", detail) && same("message", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(message: Value) -> Vec<u8> {
        json!({"channel":"LCM","topic":"WebService",
               "subtopic":"SetCallOutcomeWithCommentsResult","message":message})
        .to_string()
        .into_bytes()
    }

    fn refusal(detail: &str) -> Vec<u8> {
        result(json!({"callid":"","response":{"success":false},
                      "error":{"type":"WS_Error","detail":detail,"message":"Invalid Call ID."}}))
    }

    #[test]
    fn the_probe_is_the_vendors_envelope_with_an_empty_callid() {
        let probe: Value = serde_json::from_slice(&probe("me")).unwrap();
        assert_eq!(probe["subtopic"], "SetCallOutcomeWithComments");
        assert_eq!(probe["topic"], "WebService");
        assert_eq!(probe["source"], "me");
        assert_eq!(probe["data"]["callid"], "");
        let keys: Vec<&str> = probe["data"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for key in [
            "AccountNumber",
            "OutcomeId",
            "LeadScore",
            "UserID",
            "AgentComments",
            "TargetAmount",
        ] {
            assert!(keys.contains(&key), "{key}");
        }
    }

    #[test]
    fn only_the_documented_refusal_passes() {
        verdict(&refusal("Callid is empty")).unwrap();
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend(refusal(" callid is EMPTY "));
        verdict(&bom).unwrap();

        let other = verdict(&refusal("Invalid Call ID:")).unwrap_err();
        assert!(
            other.contains("not as LCM refuses") && other.contains("Invalid Call ID:"),
            "{other}"
        );
        let bare = result(json!({"callid":"","response":{"success":false}}));
        assert!(verdict(&bare)
            .unwrap_err()
            .contains("without an error object"));
        let success = result(json!({"callid":"","response":{"success":true}}));
        assert!(verdict(&success).unwrap_err().contains("success: true"));
        let other_call = result(json!({"callid":"7","response":{"success":false}}));
        assert!(verdict(&other_call)
            .unwrap_err()
            .contains("not LCM's result envelope"));
        assert!(verdict(b"<html>")
            .unwrap_err()
            .contains("not LCM's result envelope"));
    }

    #[test]
    fn an_error_object_at_the_top_counts_as_the_library_takes_it() {
        let body = json!({"subtopic":"SetCallOutcomeWithCommentsResult",
                          "message":{"callid":"","response":{"success":false}},
                          "error":{"type":"ws_error","detail":"Callid is empty","message":"Invalid Call ID"}});
        verdict(body.to_string().as_bytes()).unwrap();
    }
}

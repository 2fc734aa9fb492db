//! Properties over generated inputs (proptest): the request reads back as exactly
//! what was given, the result parser classifies every well-formed answer as the
//! contract says and survives any bytes, and the C ABI's argument path answers any
//! strings, doubles and error buffer with a sound status and a sound buffer, as do
//! the outbox functions any client, timeout and out-pointers.
//!
//! Nothing here touches the network: the clients that send have no endpoint, so
//! every call fails before sending; the clients that are configured never send.
//! Failures are not persisted to a regressions file: proptest prints the minimal
//! failing input, which belongs in a named test.

mod common;
#[path = "oracle/parse_result.rs"]
mod oracle;

use std::ffi::{c_char, CString};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};
use serde_json::{json, Map, Value};

use common::*;
use lcm_outcome::error::MAX_MESSAGE_BYTES;
use lcm_outcome::ffi::*;
use lcm_outcome::message::{
    build_request, parse_result, MAX_FIELD_BYTES, REQUEST_SUBTOPIC, RESULT_SUBTOPIC,
};
use lcm_outcome::{Outcome, Status};
use oracle::misjudgement;

const STRING_FIELDS: [&str; 5] = [
    "call_id",
    "account_number",
    "outcome_id",
    "user_id",
    "agent_comments",
];
/// 2^63: whole doubles in [-2^63, 2^63), i64's range, go out as JSON integers.
const I64_EDGE: f64 = 9_223_372_036_854_775_808.0;

/// 1,024 cases per property, from a fixed seed so that a run is reproducible and CI
/// does not turn red on a case no commit caused; to explore other cases, set
/// `PROPTEST_RNG_SEED` to any number (the fuzz targets explore without end).
fn config() -> ProptestConfig {
    let default = ProptestConfig::default(); // reads PROPTEST_RNG_SEED
    let rng_seed = match std::env::var_os("PROPTEST_RNG_SEED") {
        Some(_) => default.rng_seed,
        None => RngSeed::Fixed(20_261_126),
    };
    ProptestConfig {
        cases: 1024,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        rng_seed,
        ..default
    }
}

// ---- Generators -------------------------------------------------------------

/// Characters that JSON escaping and UTF-8 handling get wrong first.
fn hostile_char() -> impl Strategy<Value = char> {
    prop::sample::select(vec![
        '"',
        '\\',
        '/',
        '\0',
        '\u{1}',
        '\u{1f}',
        '\u{7f}',
        '\u{85}',
        '\u{2028}',
        '\u{2029}',
        '\u{feff}',
        'é',
        '€',
        '😀',
        '\u{10ffff}',
        'a',
        ' ',
        '\n',
        '\t',
    ])
}

/// Any Unicode text of `min..=max` characters.
fn text(min: usize, max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        vec(any::<char>(), min..=max),
        vec(hostile_char(), min..=max),
    ]
    .prop_map(|chars| chars.into_iter().collect())
}

/// Any finite double, with the edges of the integer rule weighted in.
fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>()
            .prop_map(f64::from_bits)
            .prop_filter("finite", |v| v.is_finite()),
        any::<i64>().prop_map(|n| n as f64),
        (-10_000_000i64..10_000_000).prop_map(|cents| cents as f64 / 100.0),
        prop::sample::select(vec![
            0.0,
            -0.0,
            0.1,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            I64_EDGE,
            -I64_EDGE,
            I64_EDGE - 1024.0,
            9_007_199_254_740_993.0,
            1e300,
        ]),
    ]
}

/// Any double at all: NaN, infinities and subnormals included.
fn any_double() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        finite(),
        prop::sample::select(vec![f64::NAN, -f64::NAN, f64::INFINITY, f64::NEG_INFINITY]),
    ]
}

/// OutcomeId texts: canonical integers, near misses, and anything else.
fn outcome_id() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        "-?[1-9][0-9]{17,21}",
        "0|-0|0[0-9]{1,3}|\\+[0-9]{1,3}|[0-9]{1,3}\\.0|[0-9]e[0-9]| [0-9]|[0-9] |--1|-",
        "[٠-٩]{1,3}",
        text(1, 12),
    ]
}

fn valid_outcome() -> impl Strategy<Value = OwnedOutcome> {
    (
        text(1, 24),
        text(1, 24),
        outcome_id(),
        finite(),
        text(1, 24),
        text(0, 48),
        finite(),
    )
        .prop_map(|(c, a, o, l, u, g, t)| OwnedOutcome([c, a, o, u, g], l, t))
}

/// An outcome's strings (in [`STRING_FIELDS`] order) and doubles, owned.
#[derive(Debug, Clone)]
struct OwnedOutcome([String; 5], f64, f64);

impl OwnedOutcome {
    fn outcome(&self) -> Outcome<'_> {
        let s = &self.0;
        Outcome {
            call_id: &s[0],
            account_number: &s[1],
            outcome_id: &s[2],
            lead_score: self.1,
            user_id: &s[3],
            agent_comments: &s[4],
            target_amount: self.2,
        }
    }
}

// ---- Building the request ---------------------------------------------------

/// What the wire must carry for an OutcomeId (docs/design.md §2): a canonical decimal
/// integer within i64 as a number, anything else as the text itself.
fn expected_outcome_id(text: &str) -> Value {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (!digits.starts_with('0') || text == "0");
    match text.parse::<i64>() {
        Ok(n) if canonical => Value::from(n),
        _ => Value::String(text.to_string()),
    }
}

/// The text of the number after `"key":`. A key inside a string value cannot match:
/// there its closing quote would be escaped.
fn number_token<'a>(json: &'a str, key: &str) -> &'a str {
    let start = json.find(&format!("\"{key}\":")).expect("key present") + key.len() + 3;
    let rest = &json[start..];
    &rest[..rest.find([',', '}']).expect("the number ends")]
}

/// The significant digits of a decimal or exponent form: `1.50e3` -> `15`.
fn significant_digits(number: &str) -> String {
    let mantissa = number
        .trim_start_matches('-')
        .split(['e', 'E'])
        .next()
        .unwrap();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    digits
        .trim_start_matches('0')
        .trim_end_matches('0')
        .to_string()
}

/// A double on the wire: whole values as the exact JSON integer, others as the
/// shortest decimal that reads back as the same double (docs/design.md §2). Rust's `{:e}`
/// is a shortest round-trip form, so it gives the expected number of digits; the
/// digits themselves may differ in the last place, since two decimals of that
/// length can both read back as the same double (-1135528243037965.2 and
/// -1.1355282430379653e15 do).
fn check_number(json: &str, key: &str, value: f64) -> Result<(), TestCaseError> {
    let token = number_token(json, key);
    let read: f64 = token
        .parse()
        .map_err(|e| TestCaseError::fail(format!("{key} = {token}: {e}")))?;
    // -0 is whole and goes out as 0, which compares equal.
    prop_assert!(read == value, "{key}: {value:e} went out as {token}");
    if value.fract() == 0.0 && (-I64_EDGE..I64_EDGE).contains(&value) {
        prop_assert_eq!(token, (value as i64).to_string(), "{} is whole", key);
    } else {
        prop_assert!(
            significant_digits(token).len() <= significant_digits(&format!("{value:e}")).len(),
            "{} = {} is not the shortest form of {:e}",
            key,
            token,
            value
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_valid_outcome_reads_back_unchanged(
        o in valid_outcome(),
        source in text(0, 24),
    ) {
        let body = build_request(&source, &o.outcome()).expect("a valid outcome builds");
        let json_text = std::str::from_utf8(&body).expect("the request is UTF-8");
        let mut json: Value = serde_json::from_str(json_text).expect("the request is JSON");
        check_number(json_text, "LeadScore", o.1)?;
        check_number(json_text, "TargetAmount", o.2)?;
        let data = json["data"].as_object_mut().expect("data is an object");
        prop_assert!(data.remove("LeadScore").is_some_and(|v| v.is_number()));
        prop_assert!(data.remove("TargetAmount").is_some_and(|v| v.is_number()));
        let s = &o.0;
        prop_assert_eq!(
            json,
            json!({
                "channel": "LCM",
                "topic": "WebService",
                "subtopic": REQUEST_SUBTOPIC,
                "source": source,
                "data": {
                    "callid": s[0],
                    "AccountNumber": s[1],
                    "OutcomeId": expected_outcome_id(&s[2]),
                    "UserID": s[3],
                    "AgentComments": s[4],
                },
            })
        );
    }

    #[test]
    fn only_valid_outcomes_build_and_refusals_name_a_bad_field(
        strings in [
            text(0, 4), text(0, 4), text(0, 4), text(0, 4), text(0, 4),
        ],
        long in prop::option::weighted(0.05, (0..5usize, 0..3usize)),
        lead_score in any_double(),
        target_amount in any_double(),
    ) {
        let mut strings = strings;
        if let Some((field, delta)) = long {
            let len = MAX_FIELD_BYTES - 1 + delta;
            strings[field] = "x".repeat(len);
        }
        let o = OwnedOutcome(strings, lead_score, target_amount);
        let mut bad: Vec<&str> = STRING_FIELDS
            .iter()
            .zip(&o.0)
            .filter(|(name, s)| {
                s.len() > MAX_FIELD_BYTES || (s.is_empty() && **name != "agent_comments")
            })
            .map(|(name, _)| *name)
            .collect();
        for (name, v) in [("lead_score", lead_score), ("target_amount", target_amount)] {
            if !v.is_finite() {
                bad.push(name);
            }
        }
        match build_request("lcm-outcome", &o.outcome()) {
            Ok(_) => prop_assert!(bad.is_empty(), "built despite bad {:?}", bad),
            Err(e) => {
                prop_assert_eq!(e.status(), Status::InvalidArgument);
                prop_assert!(
                    bad.iter().any(|name| e.message().starts_with(&format!("{name} "))),
                    "{:?} names none of {:?}", e.message(), bad
                );
            }
        }
    }
}

// ---- Reading the result -----------------------------------------------------

const SAMPLE_ANSWER: &[u8] = br#"{"channel":"LCM","topic":"WebService","subtopic":"SetCallOutcomeWithCommentsResult","message":{"callid":"12345","response":{"success":true}}}"#;

/// The sample answer with bytes replaced, inserted and removed.
fn mutated_answer() -> impl Strategy<Value = Vec<u8>> {
    vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6).prop_map(|edits| {
        let mut body = SAMPLE_ANSWER.to_vec();
        for (at, byte, kind) in edits {
            let i = at.index(body.len() + 1);
            match kind {
                0 if i < body.len() => body[i] = byte,
                1 => body.insert(i, byte),
                _ if i < body.len() => {
                    body.remove(i);
                }
                _ => {}
            }
        }
        body
    })
}

/// Any JSON value, shallow enough to stay fast, with the envelope's names likely.
fn any_json() -> impl Strategy<Value = Value> {
    let name = prop::sample::select(vec![
        "channel",
        "topic",
        "subtopic",
        "message",
        "callid",
        "response",
        "success",
        "error",
        "type",
        "detail",
        "LCM",
        "WebService",
        RESULT_SUBTOPIC,
        "12345",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        finite().prop_map(Value::from),
        name.clone().prop_map(Value::from),
        text(0, 8).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((name.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.into(), v)).collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum ErrorAt {
    Nowhere,
    Message(Value),
    Top(Value),
    Both(Value, Value),
}

/// An error object as servers send it: some of type, message and detail, as
/// strings (maybe empty or long) or as other JSON.
fn error_object() -> impl Strategy<Value = Value> {
    let field = prop_oneof![
        4 => text(0, 100).prop_map(Value::from),
        // Around the 80-byte cut.
        2 => "[a-zA-Z .:é]{76,84}".prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
    ];
    vec(
        (
            prop::sample::select(vec!["type", "message", "detail", "code"]),
            field,
        ),
        0..4,
    )
    .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

fn error_at() -> impl Strategy<Value = ErrorAt> {
    prop_oneof![
        Just(ErrorAt::Nowhere),
        error_object().prop_map(ErrorAt::Message),
        error_object().prop_map(ErrorAt::Top),
        (error_object(), error_object()).prop_map(|(m, t)| ErrorAt::Both(m, t)),
    ]
}

/// `name` with each letter's case chosen at random.
fn any_case(name: &'static str) -> impl Strategy<Value = String> {
    vec(any::<bool>(), name.len()).prop_map(move |upper| {
        name.chars()
            .zip(upper)
            .map(|(c, u)| {
                if u {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    })
}

/// A call id and the `callid` an answer for it carries: the same text, or the
/// number that the text spells.
fn call_ids() -> impl Strategy<Value = (String, Value)> {
    prop_oneof![
        text(1, 20).prop_map(|id| (id.clone(), Value::from(id))),
        any::<u64>().prop_map(|n| (n.to_string(), Value::from(n))),
        any::<i64>().prop_map(|n| (n.to_string(), Value::from(n))),
        any::<u64>().prop_map(|n| (n.to_string(), Value::from(n.to_string()))),
    ]
}

/// A result envelope as docs/design.md §2 describes it, with every liberty it allows.
fn answer(
    callid: Value,
    success: bool,
    error: &ErrorAt,
    (channel, topic, subtopic): &(Option<String>, Option<String>, String),
) -> Vec<u8> {
    let mut message = Map::new();
    message.insert("callid".into(), callid);
    message.insert("response".into(), json!({ "success": success }));
    let mut envelope = Map::new();
    if let Some(channel) = channel {
        envelope.insert("channel".into(), channel.clone().into());
    }
    if let Some(topic) = topic {
        envelope.insert("topic".into(), topic.clone().into());
    }
    envelope.insert("subtopic".into(), subtopic.clone().into());
    match error {
        ErrorAt::Nowhere => {}
        ErrorAt::Message(e) => {
            message.insert("error".into(), e.clone());
        }
        ErrorAt::Top(e) => {
            envelope.insert("error".into(), e.clone());
        }
        ErrorAt::Both(m, t) => {
            message.insert("error".into(), m.clone());
            envelope.insert("error".into(), t.clone());
        }
    }
    envelope.insert("message".into(), Value::Object(message));
    serde_json::to_vec(&Value::Object(envelope)).unwrap()
}

fn names() -> impl Strategy<Value = (Option<String>, Option<String>, String)> {
    (
        prop::option::of(any_case("LCM")),
        prop::option::of(any_case("WebService")),
        any_case(RESULT_SUBTOPIC),
    )
}

/// The text of `LCM_ERR_REJECTED` for `error` (docs/design.md §2): the error's type,
/// message and detail, when they are non-empty strings, each cut to 80 bytes.
fn expected_rejection(error: Option<&Value>) -> String {
    let cut = |s: &str| {
        if s.len() <= 80 {
            return s.to_string();
        }
        let end = (0..=80).rev().find(|&i| s.is_char_boundary(i)).unwrap();
        format!("{}...", &s[..end])
    };
    let parts: Vec<String> = ["type", "message", "detail"]
        .into_iter()
        .filter_map(|key| {
            let value = error?.get(key)?.as_str().filter(|s| !s.is_empty())?;
            Some(format!("{key} \"{}\"", cut(value)))
        })
        .collect();
    let text = if parts.is_empty() {
        "LCM rejected the outcome (success: false) without an error object".to_string()
    } else {
        format!(
            "LCM rejected the outcome (success: false): {}",
            parts.join(", ")
        )
    };
    // Control characters are escaped onto one line (docs/design.md §5), then the
    // whole text is cut to the message bound at a character boundary.
    let mut escaped = String::new();
    for c in text.chars() {
        match c {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x80 => {
                escaped.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => escaped.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => escaped.push(c),
        }
    }
    let end = (0..=escaped.len().min(MAX_MESSAGE_BYTES))
        .rev()
        .find(|&i| escaped.is_char_boundary(i))
        .unwrap_or(0);
    escaped.truncate(end);
    escaped
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_bytes_make_the_parser_panic_or_lie(
        body in prop_oneof![
            vec(any::<u8>(), 0..256),
            mutated_answer(),
            any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        ],
        call_id in prop_oneof![Just("12345".to_string()), text(0, 8)],
    ) {
        // No panic, a sound error, and no success or rejection that the body does
        // not hold.
        prop_assert_eq!(misjudgement(&body, &call_id), None);
    }

    #[test]
    fn well_formed_answers_are_classified_as_documented(
        (call_id, callid) in call_ids(),
        success in any::<bool>(),
        error in error_at(),
        names in names(),
    ) {
        let body = answer(callid, success, &error, &names);
        let result = parse_result(&body, &call_id);
        if success {
            prop_assert!(result.is_ok(), "{:?}", result);
        } else {
            let effective = match &error {
                ErrorAt::Nowhere => None,
                ErrorAt::Message(e) | ErrorAt::Both(e, _) | ErrorAt::Top(e) => Some(e),
            };
            let e = result.expect_err("success: false is an error");
            prop_assert_eq!(e.status(), Status::Rejected);
            prop_assert_eq!(e.message(), expected_rejection(effective));
        }
    }

    #[test]
    fn an_answer_for_another_call_is_always_a_bad_response(
        (call_id, _) in call_ids(),
        (_, callid) in call_ids(),
        success in any::<bool>(),
        error in error_at(),
        names in names(),
    ) {
        let same = match &callid {
            Value::String(s) => *s == call_id,
            Value::Number(n) => n.to_string() == call_id,
            _ => false,
        };
        prop_assume!(!same);
        let e = parse_result(&answer(callid, success, &error, &names), &call_id)
            .expect_err("another call's answer is an error");
        prop_assert_eq!(e.status(), Status::BadResponse);
        prop_assert!(e.message().contains("is for call"), "{}", e.message());
    }
}

// ---- The C ABI's argument path ------------------------------------------------

/// A C string argument: NULL, any bytes but NUL (mostly invalid UTF-8), or text.
fn c_argument() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        1 => Just(None),
        3 => vec(1u8..=255, 0..24).prop_map(Some),
        4 => text(0, 12).prop_map(|s| Some(s.replace('\0', "").into_bytes())),
    ]
}

/// Calls the C ABI would get: random ones, and valid ones that reach the endpoint
/// check.
fn c_call() -> impl Strategy<Value = Call> {
    let random = (
        [
            c_argument(),
            c_argument(),
            c_argument(),
            c_argument(),
            c_argument(),
        ],
        any_double(),
        any_double(),
    );
    let valid = valid_outcome().prop_map(|o| {
        let [c, a, oid, u, g] = o.0.map(|s| Some(s.replace('\0', "").into_bytes()));
        // A NUL in the text would end the C string early; put something in its place.
        let fill = |s: Option<Vec<u8>>| s.filter(|b| !b.is_empty()).or(Some(b"x".to_vec()));
        ([fill(c), fill(a), fill(oid), fill(u), g], o.1, o.2)
    });
    prop_oneof![random, valid].prop_map(|([c, a, o, u, g], lead_score, target_amount)| Call {
        call_id: c,
        account_number: a,
        outcome_id: o,
        lead_score,
        user_id: u,
        agent_comments: g,
        target_amount,
    })
}

/// The arguments the contract (docs/design.md §3) says must be refused, by name.
fn invalid_arguments(call: &Call) -> Vec<&'static str> {
    let strings = [
        &call.call_id,
        &call.account_number,
        &call.outcome_id,
        &call.user_id,
        &call.agent_comments,
    ];
    let mut bad: Vec<&str> = STRING_FIELDS
        .iter()
        .zip(strings)
        .filter(|(name, s)| match s {
            None => true,
            Some(b) => {
                std::str::from_utf8(b).is_err() || (b.is_empty() && **name != "agent_comments")
            }
        })
        .map(|(name, _)| *name)
        .collect();
    for (name, v) in [
        ("lead_score", call.lead_score),
        ("target_amount", call.target_amount),
    ] {
        if !v.is_finite() {
            bad.push(name);
        }
    }
    bad
}

const CANARY: c_char = 0x55;

/// The error buffer after a call given `len` bytes at `err` (NULL when `null`):
/// nothing written past `len`, nothing at all for NULL or 0, else a NUL-terminated
/// UTF-8 prefix of `full` cut at a character boundary. Returns what it holds.
fn check_buffer(
    backing: &[c_char],
    len: usize,
    null: bool,
    full: &str,
) -> Result<Option<String>, TestCaseError> {
    let writable = if null { 0 } else { len };
    prop_assert!(
        backing[writable..].iter().all(|&b| b == CANARY),
        "written past {} bytes",
        writable
    );
    if writable == 0 {
        return Ok(None);
    }
    let bytes: Vec<u8> = backing[..len].iter().map(|&b| b as u8).collect();
    let text = std::ffi::CStr::from_bytes_until_nul(&bytes)
        .map_err(|_| TestCaseError::fail("no NUL within the buffer's length"))?
        .to_str()
        .map_err(|_| TestCaseError::fail("the buffer is not UTF-8"))?;
    let fits = (0..len)
        .rev()
        .find(|&i| i <= full.len() && full.is_char_boundary(i))
        .unwrap_or(0);
    prop_assert_eq!(text, &full[..fits]);
    Ok(Some(text.to_string()))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_arguments_get_a_sound_status_and_buffer(
        call in c_call(),
        len in 0..600usize,
        null_buffer in prop::bool::weighted(0.1),
    ) {
        // Made once: a client without endpoint keeps no state between calls.
        thread_local!(static CLIENT: Client = Client::new());
        let (status, full) = CLIENT.with(|c| call.send(c.0));
        let mut backing = vec![CANARY; len + 32];
        let err = if null_buffer { std::ptr::null_mut() } else { backing.as_mut_ptr() };
        let again = CLIENT.with(|c| unsafe { call.send_raw(c.0, err, len) });
        prop_assert_eq!(again, status, "the same call gave another status");
        check_buffer(&backing, len, null_buffer, &full)?;

        let bad = invalid_arguments(&call);
        if bad.is_empty() {
            prop_assert_eq!(name(status), "LCM_ERR_CONFIG", "{}", full);
            prop_assert!(full.starts_with("endpoint is not set"), "{}", full);
        } else {
            prop_assert_eq!(name(status), "LCM_ERR_INVALID_ARGUMENT", "{}", full);
            prop_assert!(
                bad.iter().any(|n| full.starts_with(&format!("{n} "))),
                "{:?} names none of {:?}", full, bad
            );
            if bad.len() == 1 {
                prop_assert!(full.starts_with(&format!("{} ", bad[0])), "{}", full);
            }
        }
    }

    #[test]
    fn any_option_bytes_get_a_sound_status_and_buffer(
        key in prop_oneof![
            prop::sample::select(vec![
                "endpoint", "source", "timeout_ms", "connect_timeout_ms", "retries", "auth",
                "ca_file", "proxy", "log_level", "outbox", "outbox_mode", "outbox_retry_ms",
                "outbox_max_age_s",
            ]).prop_map(|k| k.as_bytes().to_vec()),
            vec(1u8..=255, 0..12),
        ],
        value in prop_oneof![
            vec(1u8..=255, 0..24),
            text(0, 24).prop_map(|s| s.replace('\0', "").into_bytes()),
            "(https?|socks5|ftp)://[a-z:@.]{0,12}(:[0-9]{1,6})?/?".prop_map(String::into_bytes),
            " *[0-9]{1,8} *".prop_map(String::into_bytes),
        ],
        len in 0..600usize,
    ) {
        // ca_file would read whatever path the text names (a device could block), and
        // outbox would create a file there: only a path that cannot exist is given.
        let value = if key == b"ca_file" && !value.is_empty() {
            b"/nonexistent/lcm-outcome-properties/ca.pem".to_vec()
        } else if key == b"outbox" && !value.is_empty() {
            b"/nonexistent/lcm-outcome-properties/outbox.db".to_vec()
        } else {
            value
        };
        // A fresh client each time, never used to send: an endpoint set here is
        // never called.
        let client = Client::new();
        let (k, v) = (CString::new(key.clone()).unwrap(), CString::new(value.clone()).unwrap());
        let mut full_buffer = vec![CANARY; LCM_ERROR_SIZE];
        let status = unsafe {
            lcm_client_configure(client.0, k.as_ptr(), v.as_ptr(), full_buffer.as_mut_ptr(), LCM_ERROR_SIZE)
        };
        let full = buffer_text(&full_buffer);
        let mut backing = vec![CANARY; len + 32];
        let again = unsafe {
            lcm_client_configure(client.0, k.as_ptr(), v.as_ptr(), backing.as_mut_ptr(), len)
        };
        prop_assert_eq!(again, status, "the same configure gave another status");
        check_buffer(&backing, len, false, &full)?;
        prop_assert!(!full.chars().any(char::is_control), "{:?}", full);

        match (std::str::from_utf8(&key), std::str::from_utf8(&value)) {
            (Ok(key), Ok(value)) => {
                let known = lcm_outcome::config::Key::from_name(key).is_ok();
                let expected: &[&str] = if !known {
                    &["LCM_ERR_CONFIG"]
                } else if value.trim().is_empty() {
                    &["LCM_OK"]
                } else {
                    &["LCM_OK", "LCM_ERR_CONFIG"]
                };
                prop_assert!(expected.contains(&name(status)), "{} {:?}: {} {}", key, value, name(status), full);
                let secret = value.trim();
                if key == "auth" && !secret.is_empty() {
                    prop_assert!(!full.contains(secret), "auth value echoed: {}", full);
                }
            }
            _ => prop_assert_eq!(name(status), "LCM_ERR_INVALID_ARGUMENT", "{}", full),
        }
    }
}

// ---- The outbox functions ------------------------------------------------------

/// Which client an outbox function is given.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Null,
    WithoutOutbox,
    /// A client whose outbox (a file under target/) is empty and has no endpoint: a
    /// flush has nothing to send, and could send nowhere.
    WithOutbox,
    /// The default client (`lcm_outbox_flush`, `lcm_outbox_count`), which has no
    /// outbox in this test binary.
    Default,
}

/// Out-parameters inside canary words, each NULL or not.
struct Outs {
    values: [usize; 3],
    null: [bool; 3],
}

impl Outs {
    const CANARY: usize = 0x5555_5555;

    fn new(null: [bool; 3]) -> Outs {
        Outs {
            values: [Outs::CANARY; 3],
            null,
        }
    }

    fn ptr(&mut self, i: usize) -> *mut usize {
        if self.null[i] {
            std::ptr::null_mut()
        } else {
            &mut self.values[i]
        }
    }

    /// The first `used` out-parameters, after a call that returned `status`: written
    /// only on `LCM_OK` (with 0: nothing is ever delivered, pending or dead here),
    /// untouched otherwise and where NULL.
    fn check(&self, status: lcm_status, used: usize) -> Result<(), TestCaseError> {
        for i in 0..used {
            let want = if status == LCM_OK && !self.null[i] {
                0
            } else {
                Outs::CANARY
            };
            prop_assert_eq!(
                self.values[i],
                want,
                "out-parameter {} after {}",
                i,
                name(status)
            );
        }
        Ok(())
    }
}

/// Calls `lcm_client_outbox_flush` (or `lcm_outbox_flush`) or, when `timeout_ms` is
/// `None`, the count, on `target`.
fn outbox_call(
    target: Target,
    timeout_ms: Option<i32>,
    outs: &mut Outs,
    err: *mut std::ffi::c_char,
    len: usize,
) -> lcm_status {
    thread_local!(static WITH: (WorkDir, Client) = {
        let dir = WorkDir::new(&format!("properties-outbox-{:?}", std::thread::current().id()));
        let client = Client::new();
        client.set("outbox_retry_ms", "0");
        client.set("outbox", dir.path().join("outbox.db").to_str().unwrap());
        (dir, client)
    });
    thread_local!(static WITHOUT: Client = Client::new());
    let (a, b, c) = (outs.ptr(0), outs.ptr(1), outs.ptr(2));
    let on = |client: *mut lcm_client| unsafe {
        match timeout_ms {
            Some(t) => lcm_client_outbox_flush(client, t, a, b, c, err, len),
            None => lcm_client_outbox_count(client, a, b, err, len),
        }
    };
    match target {
        Target::Null => on(std::ptr::null_mut()),
        Target::WithoutOutbox => WITHOUT.with(|w| on(w.0)),
        Target::WithOutbox => WITH.with(|(_, w)| on(w.0)),
        Target::Default => unsafe {
            match timeout_ms {
                Some(t) => lcm_outbox_flush(t, a, b, c, err, len),
                None => lcm_outbox_count(a, b, err, len),
            }
        },
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn outbox_functions_answer_any_client_timeout_and_pointers(
        target in prop::sample::select(vec![
            Target::Null, Target::WithoutOutbox, Target::WithOutbox, Target::Default,
        ]),
        timeout_ms in prop::option::of(prop_oneof![
            any::<i32>(),
            -3..3i32,
            prop::sample::select(vec![i32::MIN, i32::MAX]),
        ]),
        null in [any::<bool>(), any::<bool>(), any::<bool>()],
        len in 0..600usize,
        null_buffer in prop::bool::weighted(0.1),
    ) {
        prop_assume!(target != Target::Default || std::env::var_os("LCM_OUTBOX").is_none());
        let used = if timeout_ms.is_some() { 3 } else { 2 };
        let mut full_buffer = vec![CANARY; LCM_ERROR_SIZE];
        let mut outs = Outs::new(null);
        let status = outbox_call(
            target, timeout_ms, &mut outs, full_buffer.as_mut_ptr(), LCM_ERROR_SIZE,
        );
        let full = buffer_text(&full_buffer);
        outs.check(status, used)?;
        let mut backing = vec![CANARY; len + 32];
        let err = if null_buffer { std::ptr::null_mut() } else { backing.as_mut_ptr() };
        let mut again_outs = Outs::new(null);
        let again = outbox_call(target, timeout_ms, &mut again_outs, err, len);
        prop_assert_eq!(again, status, "the same call gave another status");
        again_outs.check(again, used)?;
        check_buffer(&backing, len, null_buffer, &full)?;
        prop_assert!(!full.chars().any(char::is_control), "{:?}", full);

        let negative = timeout_ms.is_some_and(|t| t < 0);
        match target {
            Target::Null => {
                prop_assert_eq!(name(status), "LCM_ERR_INVALID_ARGUMENT");
                prop_assert_eq!(full, "client is NULL");
            }
            _ if negative => {
                prop_assert_eq!(name(status), "LCM_ERR_INVALID_ARGUMENT", "{}", full);
                let named = format!("timeout_ms is {};", timeout_ms.unwrap());
                prop_assert!(full.starts_with(&named), "{}", full);
            }
            Target::WithoutOutbox | Target::Default => {
                prop_assert_eq!(name(status), "LCM_ERR_CONFIG", "{}", full);
                prop_assert!(full.contains("no outbox"), "{}", full);
            }
            Target::WithOutbox => prop_assert_eq!(name(status), "LCM_OK", "{}", full),
        }
    }
}

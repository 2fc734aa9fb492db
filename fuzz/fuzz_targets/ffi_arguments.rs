//! Fuzzes the C ABI's argument path: `lcm_client_configure` with any key and value
//! bytes, then `lcm_client_set_outcome` with any strings (NULL, empty, invalid
//! UTF-8, around the 64 KiB limit), any doubles (NaN, infinities, subnormals) and
//! any error buffer (NULL, 0 to 599 bytes), then `lcm_client_outbox_count` and
//! `lcm_client_outbox_flush` with any of their out-pointers NULL and a timeout that
//! may be negative.
//!
//! Input (see README.md): a 20-byte header decoded by `arbitrary` (two f64, the
//! buffer length, a switch word), then NUL-separated strings as a C caller would
//! pass them: the five string arguments, then key/value pairs for configure.
//!
//! Nothing here can reach the network: the client never has an endpoint when it
//! sends. The fuzzer may configure `endpoint` (that only parses the URL), but it is
//! reset to "no endpoint" before every send, so each send fails with
//! `LCM_ERR_CONFIG` or `LCM_ERR_INVALID_ARGUMENT` before anything is sent. `ca_file`
//! never names a path the fuzzer chose (`/dev/zero` or a FIFO would make the read,
//! not the library, hang): its value becomes the contents of a private unlinked
//! file, which exercises the PEM reading instead. Nor does `outbox`: any value but
//! blanks becomes one file in a private directory of this process (left in the
//! temporary directory), which stays empty since nothing can be queued without an
//! endpoint.
#![no_main]

use std::ffi::{c_char, CStr, CString};
use std::fs::File;
use std::io::{Seek, Write};
use std::os::fd::AsRawFd;
use std::sync::{Mutex, OnceLock};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

use lcm_outcome::config::Key;
use lcm_outcome::error::MAX_MESSAGE_BYTES;
use lcm_outcome::ffi::*;
use lcm_outcome::message::{build_request, MAX_FIELD_BYTES};
use lcm_outcome::Outcome;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    lead_score: f64,
    target_amount: f64,
    /// The error buffer's length is this modulo [`ERR_LEN_LIMIT`].
    err_len: u16,
    /// Bits 0-4: that string argument is NULL; 5: `err` is NULL; 6: the client is
    /// NULL; 7-9: `1 + i` pads argument `i` to 64 KiB - 1, 64 KiB or 64 KiB + 1
    /// bytes, by bits 10-11; 12-14: the out-pointer `delivered`, `pending`, `dead`
    /// of the outbox functions is NULL; 15: their `timeout_ms` is `-1 - err_len`
    /// rather than `err_len`.
    switches: u16,
    /// NUL-separated: call_id, account_number, outcome_id, user_id, agent_comments,
    /// then key, value, key, value, ...
    text: &'a [u8],
}

const ERR_LEN_LIMIT: u16 = 600;
/// Configure calls per input: enough to combine options, few enough to stay fast.
const MAX_SETTINGS: usize = 8;
const ARGUMENT_NAMES: [&str; 5] = [
    "call_id",
    "account_number",
    "outcome_id",
    "user_id",
    "agent_comments",
];
/// Guard bytes after the error buffer, which must stay untouched.
const CANARY: u8 = 0xA5;
const GUARD: usize = 32;
/// 2^63: whole doubles in [-2^63, 2^63), i64's range, go out as JSON integers.
const I64_EDGE: f64 = 9_223_372_036_854_775_808.0;

fuzz_target!(|input: Input<'_>| {
    let mut parts = input.text.split(|&b| b == 0);
    let mut arguments: Vec<Option<Vec<u8>>> = (0..5)
        .map(|i| {
            let bytes = parts.next().unwrap_or_default().to_vec();
            (input.switches & (1 << i) == 0).then_some(bytes)
        })
        .collect();
    pad_to_limit(&mut arguments, input.switches);
    let settings: Vec<(&[u8], &[u8])> = std::iter::from_fn(|| {
        let key = parts.next()?;
        Some((key, parts.next().unwrap_or_default()))
    })
    .take(MAX_SETTINGS)
    .collect();
    let err_len = usize::from(input.err_len % ERR_LEN_LIMIT);
    let null_err = input.switches & (1 << 5) != 0;
    let null_client = input.switches & (1 << 6) != 0;

    let client = ClientHandle::new();
    let handle = if null_client {
        std::ptr::null_mut()
    } else {
        client.0
    };
    let mut has_outbox = false;
    for (key, value) in &settings {
        let status = configure(handle, key, value, err_len, null_err);
        if status == LCM_OK && *key == b"outbox" {
            has_outbox = std::str::from_utf8(value).is_ok_and(|v| !v.trim().is_empty());
        }
    }
    // Whatever was configured, send with no endpoint: never over the network.
    if !null_client {
        for key in ["endpoint", "log_level"] {
            let (status, message) = configure_text(handle, key, "");
            assert_eq!(status, LCM_OK, "resetting {key}: {message}");
        }
    }
    set_outcome(handle, &arguments, &input, err_len, null_err);
    outbox_functions(handle, &input, err_len, null_err, has_outbox);
    check_status_name(input.switches as i32 - 3);
});

/// Pads the argument the switches name to just under, at or just over the limit.
fn pad_to_limit(arguments: &mut [Option<Vec<u8>>], switches: u16) {
    let which = usize::from((switches >> 7) & 0b111);
    let len = MAX_FIELD_BYTES - 1 + usize::from((switches >> 10) & 0b11).min(2);
    if let Some(Some(bytes)) = which.checked_sub(1).and_then(|i| arguments.get_mut(i)) {
        if bytes.len() < len {
            bytes.resize(len, b'a');
        }
    }
}

/// An `lcm_client`, freed on drop.
struct ClientHandle(*mut lcm_client);

impl ClientHandle {
    fn new() -> ClientHandle {
        let mut err = [0 as c_char; LCM_ERROR_SIZE];
        let c = unsafe { lcm_client_new(err.as_mut_ptr(), err.len()) };
        assert!(!c.is_null(), "lcm_client_new: {}", text_of(&err));
        ClientHandle(c)
    }
}

impl Drop for ClientHandle {
    fn drop(&mut self) {
        unsafe { lcm_client_free(self.0) };
    }
}

/// `lcm_client_configure`, checked; returns its status.
fn configure(
    c: *mut lcm_client,
    key: &[u8],
    value: &[u8],
    err_len: usize,
    null_err: bool,
) -> lcm_status {
    let blank = std::str::from_utf8(value).map_or(true, |v| v.trim().is_empty());
    let value = if key == b"ca_file" && !value.is_empty() {
        ca_file_holding(value).into_bytes()
    } else if key == b"outbox" && !blank {
        private_outbox().into_bytes()
    } else {
        value.to_vec()
    };
    let (k, v) = (c_string(key), c_string(&value));
    let mut buffer = ErrorBuffer::new(err_len, null_err);
    let status = unsafe { lcm_client_configure(c, k.as_ptr(), v.as_ptr(), buffer.ptr(), err_len) };
    let written = buffer.check(status);
    // The whole message, whatever the buffer's length, for the checks below.
    let message = if null_err || err_len < LCM_ERROR_SIZE {
        let mut full = ErrorBuffer::new(LCM_ERROR_SIZE, false);
        let again =
            unsafe { lcm_client_configure(c, k.as_ptr(), v.as_ptr(), full.ptr(), LCM_ERROR_SIZE) };
        assert_eq!(again, status, "the same configure gave another status");
        full.check(again)
    } else {
        written
    };
    if let Some(shown) = buffer.text() {
        assert!(
            message.starts_with(&shown),
            "{shown:?} is not a prefix of {message:?}"
        );
    }

    let (key_text, value_text) = (std::str::from_utf8(key), std::str::from_utf8(&value));
    let expected_invalid = c.is_null() || key_text.is_err() || value_text.is_err();
    if expected_invalid {
        assert_eq!(status, LCM_ERR_INVALID_ARGUMENT, "{message}");
        return status;
    }
    let (key_text, value_text) = (key_text.unwrap(), value_text.unwrap());
    let known = Key::from_name(key_text).is_ok();
    match status {
        LCM_OK => assert!(known, "unknown key {key_text:?} accepted"),
        LCM_ERR_CONFIG => assert!(
            !known || !value_text.trim().is_empty(),
            "an empty value must restore the default of {key_text}: {message}"
        ),
        other => panic!("configure gave {other}: {message}"),
    }
    if key_text == "auth" {
        let secret = value_text.trim();
        assert!(
            secret.is_empty() || !message.contains(secret),
            "the auth value appears in {message:?}"
        );
    }
    status
}

fn configure_text(c: *mut lcm_client, key: &str, value: &str) -> (lcm_status, String) {
    let (k, v) = (c_string(key.as_bytes()), c_string(value.as_bytes()));
    let mut buffer = ErrorBuffer::new(LCM_ERROR_SIZE, false);
    let status =
        unsafe { lcm_client_configure(c, k.as_ptr(), v.as_ptr(), buffer.ptr(), LCM_ERROR_SIZE) };
    (status, buffer.check(status))
}

fn set_outcome(
    c: *mut lcm_client,
    arguments: &[Option<Vec<u8>>],
    input: &Input<'_>,
    err_len: usize,
    null_err: bool,
) {
    let strings: Vec<Option<CString>> = arguments
        .iter()
        .map(|a| a.as_deref().map(c_string))
        .collect();
    let ptr = |i: usize| strings[i].as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    let call = |buffer: &mut ErrorBuffer, len: usize| unsafe {
        lcm_client_set_outcome(
            c,
            ptr(0),
            ptr(1),
            ptr(2),
            input.lead_score,
            ptr(3),
            ptr(4),
            input.target_amount,
            buffer.ptr(),
            len,
        )
    };
    let mut buffer = ErrorBuffer::new(err_len, null_err);
    let status = call(&mut buffer, err_len);
    buffer.check(status);
    let mut full = ErrorBuffer::new(LCM_ERROR_SIZE, false);
    assert_eq!(call(&mut full, LCM_ERROR_SIZE), status, "not repeatable");
    let message = full.check(status);
    if let Some(shown) = buffer.text() {
        assert!(
            message.starts_with(&shown),
            "{shown:?} is not a prefix of {message:?}"
        );
    }

    let invalid = invalid_arguments(arguments, input);
    if c.is_null() {
        assert_eq!(status, LCM_ERR_INVALID_ARGUMENT);
        assert_eq!(message, "client is NULL");
    } else if invalid.is_empty() {
        assert_eq!(status, LCM_ERR_CONFIG, "{message}");
        assert!(message.starts_with("endpoint is not set"), "{message}");
        let values: Vec<&str> = arguments
            .iter()
            .map(|a| std::str::from_utf8(a.as_deref().unwrap()).unwrap())
            .collect();
        check_request(&values, input.lead_score, input.target_amount);
    } else {
        assert_eq!(status, LCM_ERR_INVALID_ARGUMENT, "{message}");
        assert!(
            invalid
                .iter()
                .any(|name| message.starts_with(&format!("{name} "))),
            "{message:?} names none of {invalid:?}"
        );
    }
}

/// The arguments a correct library must refuse, by name, decided from the contract
/// (design.md §3) rather than from the library's code.
fn invalid_arguments(arguments: &[Option<Vec<u8>>], input: &Input<'_>) -> Vec<&'static str> {
    let mut names = Vec::new();
    for (i, argument) in arguments.iter().enumerate() {
        let bad = match argument {
            None => true,
            Some(bytes) => {
                bytes.len() > MAX_FIELD_BYTES
                    || std::str::from_utf8(bytes).is_err()
                    || (bytes.is_empty() && ARGUMENT_NAMES[i] != "agent_comments")
            }
        };
        if bad {
            names.push(ARGUMENT_NAMES[i]);
        }
    }
    for (name, value) in [
        ("lead_score", input.lead_score),
        ("target_amount", input.target_amount),
    ] {
        if !value.is_finite() {
            names.push(name);
        }
    }
    names
}

/// The request valid arguments would be sent as reads back as exactly those
/// arguments (design.md §2).
fn check_request(values: &[&str], lead_score: f64, target_amount: f64) {
    let outcome = Outcome {
        call_id: values[0],
        account_number: values[1],
        outcome_id: values[2],
        lead_score,
        user_id: values[3],
        agent_comments: values[4],
        target_amount,
    };
    let body = build_request("lcm-outcome", &outcome).expect("valid arguments build");
    let text = std::str::from_utf8(&body).expect("the request is UTF-8");
    let json: Value = serde_json::from_str(text).expect("the request is JSON");
    let data = &json["data"];
    assert_eq!(data["callid"], values[0]);
    assert_eq!(data["AccountNumber"], values[1]);
    assert_eq!(data["UserID"], values[3]);
    assert_eq!(data["AgentComments"], values[4]);
    match &data["OutcomeId"] {
        Value::String(s) => assert_eq!(s, values[2]),
        Value::Number(n) => assert_eq!(n.to_string(), values[2]),
        other => panic!("OutcomeId is {other}"),
    }
    for (key, value) in [("LeadScore", lead_score), ("TargetAmount", target_amount)] {
        let token = number_token(text, key);
        let read: f64 = token.parse().expect("a JSON number reads as f64");
        // -0 is whole, so it goes out as the integer 0, which compares equal.
        assert!(read == value, "{key}: {value:e} went out as {token}");
        if value.fract() == 0.0 && (-I64_EDGE..I64_EDGE).contains(&value) {
            let digits = token.strip_prefix('-').unwrap_or(token);
            assert!(
                digits.bytes().all(|b| b.is_ascii_digit()),
                "{key}: the whole number {value:e} went out as {token}"
            );
        }
    }
}

/// The text of the number after `"key":`. A key inside a string value cannot match:
/// there its closing quote would be escaped.
fn number_token<'a>(json: &'a str, key: &str) -> &'a str {
    let start = json.find(&format!("\"{key}\":")).expect("key present") + key.len() + 3;
    let rest = &json[start..];
    &rest[..rest.find([',', '}']).expect("the number ends")]
}

fn check_status_name(status: lcm_status) {
    let name = unsafe { CStr::from_ptr(lcm_status_name(status)) }
        .to_str()
        .expect("status names are UTF-8");
    let known = (0..=9).contains(&status);
    assert_eq!(name == "LCM_UNKNOWN_STATUS", !known, "{status}: {name}");
}

/// What out-parameters hold until the library writes them.
const OUT_CANARY: usize = 0x5A5A_5A5A;

/// `lcm_client_outbox_count`, then `lcm_client_outbox_flush`, with the out-pointers
/// and timeout the switches say: NULL client and negative timeout refused by name,
/// no outbox `LCM_ERR_CONFIG`, else `LCM_OK` with nothing delivered, pending or dead
/// (nothing can be queued here). Out-parameters are written only on `LCM_OK`.
fn outbox_functions(
    c: *mut lcm_client,
    input: &Input<'_>,
    err_len: usize,
    null_err: bool,
    has_outbox: bool,
) {
    let magnitude = i32::from(input.err_len % ERR_LEN_LIMIT);
    let timeout_ms = if input.switches & (1 << 15) != 0 {
        -1 - magnitude
    } else {
        magnitude
    };
    for flush in [false, true] {
        let call = |outs: &mut [usize; 3], err: *mut c_char, len: usize| {
            let base = outs.as_mut_ptr();
            let out = |i: usize| -> *mut usize {
                if input.switches & (1 << (12 + i)) != 0 {
                    std::ptr::null_mut()
                } else {
                    // SAFETY: i < 3, within `outs`.
                    unsafe { base.add(i) }
                }
            };
            let (delivered, pending, dead) = (out(0), out(1), out(2));
            unsafe {
                if flush {
                    lcm_client_outbox_flush(c, timeout_ms, delivered, pending, dead, err, len)
                } else {
                    lcm_client_outbox_count(c, pending, dead, err, len)
                }
            }
        };
        let mut outs = [OUT_CANARY; 3];
        let mut buffer = ErrorBuffer::new(err_len, null_err);
        let status = call(&mut outs, buffer.ptr(), err_len);
        buffer.check(status);
        let mut full = ErrorBuffer::new(LCM_ERROR_SIZE, false);
        let mut full_outs = [OUT_CANARY; 3];
        let again = call(&mut full_outs, full.ptr(), LCM_ERROR_SIZE);
        assert_eq!(again, status, "not repeatable");
        assert_eq!(full_outs, outs, "other out-parameters the second time");
        let message = full.check(status);
        if let Some(shown) = buffer.text() {
            assert!(
                message.starts_with(&shown),
                "{shown:?} is not a prefix of {message:?}"
            );
        }
        let what = if flush { "flush" } else { "count" };
        if c.is_null() {
            assert_eq!(status, LCM_ERR_INVALID_ARGUMENT, "{what}");
            assert_eq!(message, "client is NULL");
        } else if flush && timeout_ms < 0 {
            assert_eq!(status, LCM_ERR_INVALID_ARGUMENT, "{what}: {message}");
            assert!(
                message.starts_with(&format!("timeout_ms is {timeout_ms};")),
                "{message}"
            );
        } else if !has_outbox {
            assert_eq!(status, LCM_ERR_CONFIG, "{what}: {message}");
            assert!(message.contains("no outbox"), "{message}");
        } else {
            assert_eq!(status, LCM_OK, "{what}: {message}");
        }
        // count writes `pending` and `dead` only.
        let used = if flush { 0..3 } else { 1..3 };
        for i in 0..3 {
            let null = input.switches & (1 << (12 + i)) != 0;
            let written = status == LCM_OK && !null && used.contains(&i);
            let expected = if written { 0 } else { OUT_CANARY };
            assert_eq!(
                outs[i], expected,
                "{what}: out-parameter {i} after {status}"
            );
        }
    }
}

/// The one file every `outbox` value (but blanks) becomes: in a fresh directory of
/// this process's own, so that no path the fuzzer chose is ever created.
fn private_outbox() -> String {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("lcm-outcome-fuzz-outbox-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the private outbox directory");
        dir.join("outbox.db").to_str().unwrap().to_string()
    })
    .clone()
}

/// A caller's error buffer inside canary bytes, or NULL.
struct ErrorBuffer {
    bytes: Vec<u8>,
    len: usize,
    null: bool,
}

impl ErrorBuffer {
    fn new(len: usize, null: bool) -> ErrorBuffer {
        ErrorBuffer {
            bytes: vec![CANARY; len + GUARD],
            len,
            null,
        }
    }

    fn ptr(&mut self) -> *mut c_char {
        if self.null {
            std::ptr::null_mut()
        } else {
            self.bytes.as_mut_ptr().cast()
        }
    }

    /// Checks the buffer after a call that returned `status`, and returns its text.
    fn check(&self, status: lcm_status) -> String {
        assert!(
            (0..=8).contains(&status) && status != LCM_ERR_INTERNAL,
            "status {status}"
        );
        let untouched = self.null || self.len == 0;
        let limit = if untouched { 0 } else { self.len };
        assert!(
            self.bytes[limit..].iter().all(|&b| b == CANARY),
            "written past the {} bytes it may use",
            limit
        );
        let Some(text) = self.text() else {
            return String::new();
        };
        assert!(text.len() <= MAX_MESSAGE_BYTES);
        assert!(
            !text.chars().any(char::is_control),
            "control character in {text:?}"
        );
        if status == LCM_OK {
            assert_eq!(text, "", "the buffer must hold \"\" after success");
        }
        text
    }

    /// The NUL-terminated UTF-8 text in the buffer; `None` when it may not be written.
    fn text(&self) -> Option<String> {
        if self.null || self.len == 0 {
            return None;
        }
        let text = CStr::from_bytes_until_nul(&self.bytes[..self.len])
            .expect("the buffer is NUL-terminated within its length");
        Some(text.to_str().expect("the buffer holds UTF-8").to_string())
    }
}

fn text_of(buffer: &[c_char]) -> String {
    unsafe { CStr::from_ptr(buffer.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// `bytes` as a C string: cut at the first NUL, as C would see it.
fn c_string(bytes: &[u8]) -> CString {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).expect("no NUL left")
}

/// The path of a private file holding `contents`: an unlinked temporary file, named
/// through /proc/self/fd, so that nothing is left behind and no path the fuzzer chose
/// is ever opened.
fn ca_file_holding(contents: &[u8]) -> String {
    static FILE: OnceLock<Mutex<File>> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let dir = std::env::temp_dir();
        let path = dir.join(format!("lcm-outcome-fuzz-ca-{}", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .expect("create the temporary CA file");
        std::fs::remove_file(&path).expect("unlink the temporary CA file");
        Mutex::new(file)
    });
    let mut file = file.lock().unwrap();
    file.set_len(0).unwrap();
    file.rewind().unwrap();
    file.write_all(contents).unwrap();
    format!("/proc/self/fd/{}", file.as_raw_fd())
}

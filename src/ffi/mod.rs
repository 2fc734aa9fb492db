//! The C ABI: the functions, types and constants of `include/lcm_outcome.h`.
//!
//! This layer holds no logic. Each function checks its pointers and strings, runs
//! the safe core inside a panic boundary, and reports through a status code and the
//! caller's error buffer (`boundary`). cbindgen reads these files to write the
//! header, so the doc comments here are the header's documentation.

mod boundary;
mod client;
mod info;
mod log;
mod outbox;
mod outcome;

pub use client::*;
pub use info::*;
pub use log::*;
pub use outbox::*;
pub use outcome::*;

/// The result of every call: `LCM_OK` (0), `LCM_QUEUED` (9) or one of the
/// `LCM_ERR_*` codes.
///
/// A plain `int32_t`, never an enum, so that a value added in a later version can
/// cross the boundary safely. Values are never renumbered.
#[allow(non_camel_case_types)]
pub type lcm_status = i32;

/// LCM confirmed the outcome (`success: true`).
pub const LCM_OK: lcm_status = 0;
/// A NULL, empty-where-mandatory, non-UTF-8, too long (over 64 KiB) or non-finite
/// argument; the message names the argument. Nothing was sent.
pub const LCM_ERR_INVALID_ARGUMENT: lcm_status = 1;
/// No endpoint, a bad endpoint, an unknown option or a bad option value (also from
/// an `LCM_<KEY>` environment variable). Nothing was sent.
pub const LCM_ERR_CONFIG: lcm_status = 2;
/// DNS, connect, TLS (certificate verification included) or proxy failure, or the
/// deadline ran out while connecting: the request was not delivered, so it is safe
/// to send the outcome again.
pub const LCM_ERR_CONNECT: lcm_status = 3;
/// The request was sent but no complete answer came within `timeout_ms`, or the
/// connection broke before the answer was complete: the outcome may or may not be
/// recorded, so check in LCM before sending it again.
pub const LCM_ERR_TIMEOUT: lcm_status = 4;
/// The server answered a non-2xx HTTP status (a 3xx too: redirects are not
/// followed). The message quotes up to 200 bytes of its body.
pub const LCM_ERR_HTTP_STATUS: lcm_status = 5;
/// A 2xx answer that is not a valid `SetCallOutcomeWithCommentsResult` for this
/// call (not JSON, wrong subtopic, another call id, no boolean `success`, over
/// 64 KiB), or an answer that is not valid HTTP. The outcome may or may not be
/// recorded.
pub const LCM_ERR_BAD_RESPONSE: lcm_status = 6;
/// LCM answered `success: false`; the message carries its error type, message and
/// detail (e.g. `WS_Error`, "Invalid Call ID.", "Invalid Call ID:123").
pub const LCM_ERR_REJECTED: lcm_status = 7;
/// A bug in the library (a caught panic). The process stays alive; please report
/// the message.
pub const LCM_ERR_INTERNAL: lcm_status = 8;
/// Not confirmed now, but stored durably in the outbox (option `outbox`) and
/// delivered later: the library is responsible for the outcome from here on. The
/// message says why it was queued and the entry's id. Returned only when `outbox`
/// is set, and never for an outcome that is not on disk.
pub const LCM_QUEUED: lcm_status = 9;

/// A size for error buffers that never truncates a message of this library:
/// messages are at most `LCM_ERROR_SIZE - 1` bytes plus the terminating NUL.
pub const LCM_ERROR_SIZE: usize = 512;

// The header's constants are literals (cbindgen copies them as written); keep them
// tied to the core's one status table and message bound. A status added to the core
// without its constant here fails the length check.
const _: () = {
    use crate::error::Status;
    let table: [(lcm_status, Status); 10] = [
        (LCM_OK, Status::Ok),
        (LCM_ERR_INVALID_ARGUMENT, Status::InvalidArgument),
        (LCM_ERR_CONFIG, Status::Config),
        (LCM_ERR_CONNECT, Status::Connect),
        (LCM_ERR_TIMEOUT, Status::Timeout),
        (LCM_ERR_HTTP_STATUS, Status::HttpStatus),
        (LCM_ERR_BAD_RESPONSE, Status::BadResponse),
        (LCM_ERR_REJECTED, Status::Rejected),
        (LCM_ERR_INTERNAL, Status::Internal),
        (LCM_QUEUED, Status::Queued),
    ];
    assert!(table.len() == Status::ALL.len());
    let mut i = 0;
    while i < table.len() {
        assert!(table[i].0 == table[i].1.code() && table[i].1.code() == Status::ALL[i].code());
        i += 1;
    }
    assert!(LCM_ERROR_SIZE == crate::error::MAX_MESSAGE_BYTES + 1);
};

//! Recording an outcome: the library's one job.

use std::ffi::c_char;

use super::boundary::{report_sent, str_arg};
use super::client::{client_arg, default_client, lcm_client};
use super::lcm_status;
use crate::error::Error;
use crate::Outcome;

/// Records the telephony outcome of call `call_id` in LCM with the default client,
/// synchronously: builds the `SetCallOutcomeWithComments` request, POSTs it to the
/// configured `endpoint`, and waits for LCM's `SetCallOutcomeWithCommentsResult`.
///
/// Arguments (strings are NUL-terminated UTF-8 of at most 64 KiB, read during the
/// call and not kept):
/// - `call_id`: the dialer's call id (`callid`); mandatory, non-empty.
/// - `account_number`: the contact's LCM key (`AccountNumber`); mandatory.
/// - `outcome_id`: the telephony outcome (`OutcomeId`); mandatory. A canonical
///   decimal integer such as `"1"` goes on the wire as the JSON number `1`; any
///   other text as a JSON string.
/// - `lead_score`: `LeadScore`; finite (NaN and infinities are rejected).
/// - `user_id`: the agent's id (`UserID`); mandatory.
/// - `agent_comments`: `AgentComments`; may be `""`, not NULL.
/// - `target_amount`: `TargetAmount`; finite.
/// - `err`, `err_len`: NULL/0, or a buffer (`LCM_ERROR_SIZE` bytes is enough) that
///   receives a NUL-terminated message on failure and `""` on success.
///
/// Returns `LCM_OK` only when LCM answered `success: true` for this call id.
/// `LCM_QUEUED` when the client has an `outbox` and the outcome is stored in it for
/// later delivery (then `err` says why and the entry's id). Otherwise
/// `LCM_ERR_INVALID_ARGUMENT` or `LCM_ERR_CONFIG` (nothing was sent),
/// `LCM_ERR_CONNECT` (not delivered; safe to retry), `LCM_ERR_TIMEOUT` (outcome
/// unknown), `LCM_ERR_HTTP_STATUS`, `LCM_ERR_BAD_RESPONSE`, `LCM_ERR_REJECTED` or
/// `LCM_ERR_INTERNAL`.
///
/// Returns within `timeout_ms` (default 10 s), retries included, give or take the
/// operating system's timer slack while a read is blocked (on Linux, up to about an
/// eighth of a long wait: measured +38 ms at 1 s and +238 ms at 10 s). Retries happen
/// only when the request was provably not delivered (connect failure) or LCM
/// answered 503 or 429, at most `retries` times.
///
/// Thread safety: safe from any number of threads at once; connections are pooled
/// and reused across calls and threads. After fork() the child opens its own
/// connections; settings are swapped in whole, so a child forked while another
/// thread ran `lcm_configure` has them as they were just before or just after it.
/// (The one wait a child could inherit is the default client's creation at its
/// first use: make one default-client call before starting threads that fork.)
///
/// # Safety
/// Each string is NULL or NUL-terminated; `err` is NULL or points to `err_len`
/// writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lcm_set_outcome(
    call_id: *const c_char,
    account_number: *const c_char,
    outcome_id: *const c_char,
    lead_score: f64,
    user_id: *const c_char,
    agent_comments: *const c_char,
    target_amount: f64,
    err: *mut c_char,
    err_len: usize,
) -> lcm_status {
    // SAFETY: the pointer contracts are the caller's, as documented.
    unsafe {
        report_sent(err, err_len, || {
            let outcome = outcome_arg(
                call_id,
                account_number,
                outcome_id,
                lead_score,
                user_id,
                agent_comments,
                target_amount,
            )?;
            default_client().set_outcome(&outcome)
        })
    }
}

/// Records an outcome with client `c`: as `lcm_set_outcome`, with that client's
/// configuration and connections. A NULL `c` is `LCM_ERR_INVALID_ARGUMENT`.
///
/// Thread safety: safe from any number of threads at once on the same `c`, but
/// never concurrently with `lcm_client_free(c)`.
///
/// # Safety
/// `c` is NULL or a live handle from `lcm_client_new`; strings and `err` as for
/// `lcm_set_outcome`.
#[no_mangle]
pub unsafe extern "C" fn lcm_client_set_outcome(
    c: *mut lcm_client,
    call_id: *const c_char,
    account_number: *const c_char,
    outcome_id: *const c_char,
    lead_score: f64,
    user_id: *const c_char,
    agent_comments: *const c_char,
    target_amount: f64,
    err: *mut c_char,
    err_len: usize,
) -> lcm_status {
    // SAFETY: the pointer contracts are the caller's, as documented.
    unsafe {
        report_sent(err, err_len, || {
            let client = client_arg(c)?;
            let outcome = outcome_arg(
                call_id,
                account_number,
                outcome_id,
                lead_score,
                user_id,
                agent_comments,
                target_amount,
            )?;
            client.set_outcome(&outcome)
        })
    }
}

/// The core's outcome for the C arguments, each string checked in the documented
/// order (NULL, length, UTF-8); the core then validates the values and sends.
///
/// # Safety
/// Each string is NULL or NUL-terminated, and stays valid for `'a`.
#[allow(clippy::too_many_arguments)] // the C signature's seven fields
unsafe fn outcome_arg<'a>(
    call_id: *const c_char,
    account_number: *const c_char,
    outcome_id: *const c_char,
    lead_score: f64,
    user_id: *const c_char,
    agent_comments: *const c_char,
    target_amount: f64,
) -> Result<Outcome<'a>, Error> {
    // SAFETY: the string contracts are the exported functions' callers'.
    unsafe {
        Ok(Outcome {
            call_id: str_arg(call_id, "call_id")?,
            account_number: str_arg(account_number, "account_number")?,
            outcome_id: str_arg(outcome_id, "outcome_id")?,
            lead_score,
            user_id: str_arg(user_id, "user_id")?,
            agent_comments: str_arg(agent_comments, "agent_comments")?,
            target_amount,
        })
    }
}

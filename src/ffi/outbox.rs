//! The outbox: delivering what it holds now, and counting it.

use std::ffi::c_char;
use std::time::Duration;

use super::boundary::report;
use super::client::{client_arg, default_client, lcm_client};
use super::lcm_status;
use crate::error::{Error, Status};
use crate::Client;

/// Delivers the default client's pending outcomes now, oldest first, each tried at
/// most once, until none is left or `timeout_ms` passes (in the calling thread; the
/// background sender may deliver others meanwhile). An entry LCM confirms leaves the
/// outbox; one LCM rejects goes to the dead letters; one that fails for a reason that
/// may pass stays, for the background sender or the next flush.
///
/// Out-parameters, each may be NULL; they receive, when the function returns
/// `LCM_OK` or a delivery status: `delivered`, the entries LCM confirmed during this
/// call; `pending`, the entries still waiting afterwards (in flight elsewhere
/// included); `dead`, the dead letters afterwards. On `LCM_ERR_CONFIG`,
/// `LCM_ERR_INVALID_ARGUMENT` and `LCM_ERR_INTERNAL` they are left unchanged.
///
/// Returns `LCM_OK` when nothing is pending afterwards; otherwise the status of the
/// last failed delivery (`LCM_ERR_CONNECT`, `LCM_ERR_TIMEOUT`, ...; `LCM_ERR_TIMEOUT`
/// also when entries remain but `timeout_ms` ran out or they are in flight elsewhere),
/// with its message in `err`. `LCM_ERR_CONFIG` without `outbox` or when the file
/// cannot be used; `LCM_ERR_INVALID_ARGUMENT` for a negative `timeout_ms`.
///
/// Thread safety: safe from any thread, also while others set outcomes and flush:
/// an entry is delivered by one thread or process at a time (a lease in the file).
///
/// # Safety
/// Each out-pointer is NULL or points to a writable `size_t`; `err` is NULL or points
/// to `err_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lcm_outbox_flush(
    timeout_ms: i32,
    delivered: *mut usize,
    pending: *mut usize,
    dead: *mut usize,
    err: *mut c_char,
    err_len: usize,
) -> lcm_status {
    // SAFETY: the pointer contracts are the caller's, as documented.
    unsafe {
        report(err, err_len, || {
            flush(default_client(), timeout_ms, delivered, pending, dead)
        })
    }
}

/// `lcm_outbox_flush` for client `c`. A NULL `c` is `LCM_ERR_INVALID_ARGUMENT`.
///
/// Thread safety: as `lcm_outbox_flush`, never concurrently with `lcm_client_free(c)`.
///
/// # Safety
/// `c` is NULL or a live handle from `lcm_client_new`; the other pointers as for
/// `lcm_outbox_flush`.
#[no_mangle]
pub unsafe extern "C" fn lcm_client_outbox_flush(
    c: *mut lcm_client,
    timeout_ms: i32,
    delivered: *mut usize,
    pending: *mut usize,
    dead: *mut usize,
    err: *mut c_char,
    err_len: usize,
) -> lcm_status {
    // SAFETY: the pointer contracts are the caller's, as documented.
    unsafe {
        report(err, err_len, || {
            flush(client_arg(c)?, timeout_ms, delivered, pending, dead)
        })
    }
}

/// Counts the default client's outbox, without sending anything: `pending`, the
/// entries waiting (in flight included), and `dead`, the dead letters. Each
/// out-pointer may be NULL; both are left unchanged unless `LCM_OK` is returned.
///
/// Returns `LCM_OK`, `LCM_ERR_CONFIG` (no `outbox`, or the file cannot be read) or
/// `LCM_ERR_INTERNAL`.
///
/// Thread safety: safe from any thread at any time.
///
/// # Safety
/// Each out-pointer is NULL or points to a writable `size_t`; `err` is NULL or points
/// to `err_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lcm_outbox_count(
    pending: *mut usize,
    dead: *mut usize,
    err: *mut c_char,
    err_len: usize,
) -> lcm_status {
    // SAFETY: the pointer contracts are the caller's, as documented.
    unsafe { report(err, err_len, || count(default_client(), pending, dead)) }
}

/// `lcm_outbox_count` for client `c`. A NULL `c` is `LCM_ERR_INVALID_ARGUMENT`.
///
/// Thread safety: safe from any thread, never concurrently with `lcm_client_free(c)`.
///
/// # Safety
/// `c` is NULL or a live handle from `lcm_client_new`; the other pointers as for
/// `lcm_outbox_count`.
#[no_mangle]
pub unsafe extern "C" fn lcm_client_outbox_count(
    c: *mut lcm_client,
    pending: *mut usize,
    dead: *mut usize,
    err: *mut c_char,
    err_len: usize,
) -> lcm_status {
    // SAFETY: the pointer contracts are the caller's, as documented.
    unsafe { report(err, err_len, || count(client_arg(c)?, pending, dead)) }
}

/// Writes `value` where `out` points, if it points anywhere.
///
/// # Safety
/// `out` is NULL or points to a writable `size_t`.
unsafe fn put(out: *mut usize, value: usize) {
    if !out.is_null() {
        // SAFETY: per the contract, a non-NULL out-pointer is writable.
        unsafe { out.write(value) };
    }
}

/// # Safety
/// The out-pointers are NULL or writable.
unsafe fn flush(
    client: &Client,
    timeout_ms: i32,
    delivered: *mut usize,
    pending: *mut usize,
    dead: *mut usize,
) -> Result<(), Error> {
    let timeout = u64::try_from(timeout_ms).map_err(|_| {
        Error::invalid_argument(format!("timeout_ms is {timeout_ms}; it must be 0 or more"))
    })?;
    let report = client.flush_outbox(Duration::from_millis(timeout))?;
    // SAFETY: forwarded from this function's contract.
    unsafe {
        put(delivered, report.delivered);
        put(pending, report.pending);
        put(dead, report.dead);
    }
    if report.pending == 0 {
        return Ok(());
    }
    Err(report.last_failure.unwrap_or_else(|| {
        Error::new(
            Status::Timeout,
            format!(
                "{} outcomes are still pending: timeout_ms ({timeout_ms}) ran out, or they \
                 are being delivered by another thread or process",
                report.pending
            ),
        )
    }))
}

/// # Safety
/// The out-pointers are NULL or writable.
unsafe fn count(client: &Client, pending: *mut usize, dead: *mut usize) -> Result<(), Error> {
    let counts = client.outbox_counts()?;
    // SAFETY: forwarded from this function's contract.
    unsafe {
        put(pending, counts.pending);
        put(dead, counts.dead);
    }
    Ok(())
}

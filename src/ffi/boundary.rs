//! What every exported function does around the core: turn C strings into `&str`
//! with a named error, stop panics at the boundary, and fill the caller's error
//! buffer by libcurl's convention (always NUL-terminated, never overrun, `""` on
//! success).

use std::any::Any;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{lcm_status, LCM_OK};
use crate::client::Sent;
use crate::error::{Error, Status};
use crate::message::MAX_FIELD_BYTES;
use crate::text::floor_char_boundary;

/// Runs `body` behind a panic boundary and reports its result: the status code is
/// returned, the message (or `""`) written to `err`.
///
/// # Safety
/// `err` is NULL or points to at least `err_len` writable bytes.
pub(crate) unsafe fn report(
    err: *mut c_char,
    err_len: usize,
    body: impl FnOnce() -> Result<(), Error>,
) -> lcm_status {
    // SAFETY: forwarded from this function's contract.
    unsafe { report_value(err, err_len, || body().map(|()| LCM_OK), Status::code) }
}

/// [`report`] for setting an outcome: `LCM_OK` with `""`, or `LCM_QUEUED` with the
/// message saying why and where it was queued.
///
/// # Safety
/// `err` is NULL or points to at least `err_len` writable bytes.
pub(crate) unsafe fn report_sent(
    err: *mut c_char,
    err_len: usize,
    body: impl FnOnce() -> Result<Sent, Error>,
) -> lcm_status {
    let queued = std::cell::RefCell::new(None);
    let sent = || {
        body().map(|sent| match sent {
            Sent::Confirmed => LCM_OK,
            Sent::Queued { message, .. } => {
                *queued.borrow_mut() = Some(message);
                Status::Queued.code()
            }
        })
    };
    // SAFETY: the buffer contract is the caller's.
    let status = unsafe { report_value(err, err_len, sent, Status::code) };
    if let Some(message) = queued.into_inner() {
        // SAFETY: as above; the success path wrote "", this replaces it.
        unsafe { write_error_buffer(err, err_len, &message) };
    }
    status
}

/// [`report`] for an export that returns a value: `body`'s value on success, else
/// what `on_error` makes of the status; the message (or `""`) goes to `err`.
///
/// # Safety
/// `err` is NULL or points to at least `err_len` writable bytes.
pub(crate) unsafe fn report_value<T>(
    err: *mut c_char,
    err_len: usize,
    body: impl FnOnce() -> Result<T, Error>,
    on_error: impl FnOnce(Status) -> T,
) -> T {
    match catch_panic(body).and_then(|r| r) {
        Ok(value) => {
            // SAFETY: the buffer contract is the caller's.
            unsafe { write_error_buffer(err, err_len, "") };
            value
        }
        Err(e) => {
            // SAFETY: as above.
            unsafe { write_error_buffer(err, err_len, e.message()) };
            on_error(e.status())
        }
    }
}

/// Runs `body` behind a panic boundary for an export that has no error buffer:
/// `fallback` when it panicked.
pub(crate) fn or_fallback<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_panic(body).unwrap_or(fallback)
}

/// Runs `body`, turning a panic into an `LCM_ERR_INTERNAL` error: no unwinding
/// may cross an `extern "C"` boundary (it would abort, or worse, the dialer).
pub(crate) fn catch_panic<T>(body: impl FnOnce() -> T) -> Result<T, Error> {
    catch_unwind(AssertUnwindSafe(body)).map_err(|payload| panic_error(payload.as_ref()))
}

fn panic_error(payload: &(dyn Any + Send)) -> Error {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    Error::new(
        Status::Internal,
        format!("internal error in lcm-outcome (a bug, please report it): {what}"),
    )
}

/// Copies `message` into the caller's buffer: nothing when `err` is NULL or
/// `err_len` is 0, else at most `err_len - 1` bytes cut at a UTF-8 character
/// boundary, then a NUL.
///
/// # Safety
/// `err` is NULL or points to at least `err_len` writable bytes.
pub(crate) unsafe fn write_error_buffer(err: *mut c_char, err_len: usize, message: &str) {
    if err.is_null() || err_len == 0 {
        return;
    }
    let n = floor_char_boundary(message, err_len - 1);
    // SAFETY: n + 1 <= err_len, and the caller promised err_len writable bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(message.as_ptr(), err.cast::<u8>(), n);
        *err.add(n) = 0;
    }
}

/// Reads the C string argument `name`: not NULL, at most [`MAX_FIELD_BYTES`] long,
/// valid UTF-8. The scan for the NUL stops after the limit, so an enormous or
/// unterminated-within-limit string costs no more than the limit.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string, or to at least
/// `MAX_FIELD_BYTES + 1` readable bytes.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(Error::invalid_argument(format!("{name} is NULL")));
    }
    // SAFETY: ptr is non-NULL and, per the contract, readable up to its NUL or the
    // bound, whichever comes first; strnlen reads no further.
    let len = unsafe { libc::strnlen(ptr, MAX_FIELD_BYTES + 1) };
    if len > MAX_FIELD_BYTES {
        return Err(Error::invalid_argument(format!(
            "{name} is longer than {MAX_FIELD_BYTES} bytes"
        )));
    }
    // SAFETY: the len bytes before the NUL are readable (strnlen just read them).
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|e| {
        Error::invalid_argument(format!(
            "{name} is not valid UTF-8 (bad byte at offset {})",
            e.valid_up_to()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `extern "C"` function built like the exported ones, whose body panics: the
    /// only way to reach `LCM_ERR_INTERNAL` without planting a trigger in the API.
    unsafe extern "C" fn panicking(err: *mut c_char, err_len: usize) -> lcm_status {
        unsafe { report(err, err_len, || panic!("deliberate test panic")) }
    }

    #[test]
    fn a_panic_becomes_internal_and_does_not_cross_the_boundary() {
        let mut buf = [0x7f as c_char; 512];
        let f: unsafe extern "C" fn(*mut c_char, usize) -> lcm_status = panicking;
        let status = unsafe { f(buf.as_mut_ptr(), buf.len()) };
        assert_eq!(status, Status::Internal.code());
        let text = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
            .to_str()
            .unwrap();
        assert!(text.contains("deliberate test panic"), "{text}");
        assert!(text.starts_with("internal error in lcm-outcome"));
    }

    #[test]
    fn buffer_is_cut_at_a_char_boundary_and_terminated() {
        let message = "aé€😀"; // 1 + 2 + 3 + 4 bytes
        for len in 0..14usize {
            let mut buf = vec![0x7f as c_char; 16];
            unsafe { write_error_buffer(buf.as_mut_ptr(), len, message) };
            if len == 0 {
                assert!(buf.iter().all(|&b| b == 0x7f));
                continue;
            }
            assert!(buf[len..].iter().all(|&b| b == 0x7f), "wrote past {len}");
            let text = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
                .to_str()
                .unwrap();
            assert!(message.starts_with(text) && text.len() < len);
        }
    }
}

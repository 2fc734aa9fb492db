//! Static information: the version and the names of the status codes.

use std::ffi::{c_char, CStr};

use super::boundary::catch_panic;
use super::lcm_status;
use crate::error::Status;

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("the crate version contains a NUL"),
    };

/// The library's version, `"MAJOR.MINOR.PATCH"`, equal to the
/// `LCM_OUTCOME_VERSION_*` macros of the header it was built with.
///
/// Returns a static string: never NULL, never to be freed.
/// Thread safety: safe from any thread at any time.
#[no_mangle]
pub extern "C" fn lcm_version() -> *const c_char {
    VERSION.as_ptr()
}

/// The macro name of a status code: `"LCM_OK"`, `"LCM_ERR_TIMEOUT"`, ..., or
/// `"LCM_UNKNOWN_STATUS"` for a value this version does not define.
///
/// Returns a static string: never NULL, never to be freed.
/// Thread safety: safe from any thread at any time.
#[no_mangle]
pub extern "C" fn lcm_status_name(status: lcm_status) -> *const c_char {
    catch_panic(|| status_name(status))
        .unwrap_or(c"LCM_UNKNOWN_STATUS")
        .as_ptr()
}

fn status_name(status: lcm_status) -> &'static CStr {
    match Status::from_code(status) {
        Some(Status::Ok) => c"LCM_OK",
        Some(Status::InvalidArgument) => c"LCM_ERR_INVALID_ARGUMENT",
        Some(Status::Config) => c"LCM_ERR_CONFIG",
        Some(Status::Connect) => c"LCM_ERR_CONNECT",
        Some(Status::Timeout) => c"LCM_ERR_TIMEOUT",
        Some(Status::HttpStatus) => c"LCM_ERR_HTTP_STATUS",
        Some(Status::BadResponse) => c"LCM_ERR_BAD_RESPONSE",
        Some(Status::Rejected) => c"LCM_ERR_REJECTED",
        Some(Status::Internal) => c"LCM_ERR_INTERNAL",
        None => c"LCM_UNKNOWN_STATUS",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_agree_with_the_core() {
        for status in Status::ALL {
            assert_eq!(status_name(status.code()).to_str().unwrap(), status.name());
        }
    }
}

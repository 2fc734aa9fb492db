//! Static information: the version and the names of the status codes.

use std::ffi::{c_char, CStr};

use super::boundary::or_fallback;
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
    or_fallback(UNKNOWN, || status_name(status)).as_ptr()
}

const UNKNOWN: &CStr = c"LCM_UNKNOWN_STATUS";

fn status_name(status: lcm_status) -> &'static CStr {
    Status::from_code(status).map_or(UNKNOWN, Status::c_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_agree_with_the_core() {
        for &status in Status::ALL {
            assert_eq!(status_name(status.code()).to_str().unwrap(), status.name());
        }
    }
}

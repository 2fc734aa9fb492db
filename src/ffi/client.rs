//! Configuration and lifetime: the process-wide default client and independent
//! `lcm_client` handles.

use std::ffi::c_char;
use std::sync::OnceLock;

use super::boundary::{or_fallback, report, report_value, str_arg};
use super::lcm_status;
use crate::error::Error;
use crate::Client;

/// An independent client: its own configuration and connection pool, for programs
/// that talk to several LCM servers. Opaque; create with `lcm_client_new`, release
/// with `lcm_client_free`.
#[allow(non_camel_case_types)]
pub struct lcm_client {
    pub(crate) client: Client,
}

/// The client behind `lcm_configure` and `lcm_set_outcome`, made at first use from
/// the `LCM_<KEY>` environment variables.
pub(crate) fn default_client() -> &'static Client {
    static DEFAULT: OnceLock<Client> = OnceLock::new();
    let mut created = false;
    let client = DEFAULT.get_or_init(|| {
        created = true;
        Client::from_env_quietly()
    });
    // Logged outside get_or_init: a log callback that calls lcm_configure would
    // otherwise wait forever for the initialisation it is running inside.
    if created {
        client.log_env_errors();
    }
    client
}

/// The client behind a handle, or an error naming the NULL argument.
pub(crate) unsafe fn client_arg<'a>(c: *const lcm_client) -> Result<&'a Client, Error> {
    // SAFETY: per the contract, c is NULL or a live handle from lcm_client_new.
    unsafe { c.as_ref() }
        .map(|c| &c.client)
        .ok_or_else(|| Error::invalid_argument("client is NULL"))
}

/// Sets option `key` of the default client to `value` (see the
/// configuration reference, docs/reference.md). An empty `value` restores the option's default.
///
/// The default client is created at its first use (by this function or by
/// `lcm_set_outcome`) from the `LCM_<KEY>` environment variables, e.g.
/// `LCM_ENDPOINT`; what is set here overrides them.
///
/// Options: `endpoint` (no default), `source` (`"lcm-outcome"`), `timeout_ms`
/// (`10000`), `connect_timeout_ms` (`3000`), `retries` (`2`), `auth` (none),
/// `tls_roots` (`"system"`, the operating system's CA store; `"webpki"` for the
/// built-in Mozilla roots, `"none"` for only `ca_file`), `ca_file` (none: a PEM file
/// of CA certificates trusted besides `tls_roots`, each a CA valid now), `proxy` (the
/// first usable of `ALL_PROXY`/`HTTPS_PROXY`/`HTTP_PROXY`, lowercase too, minus
/// `NO_PROXY`; `"none"` for a direct connection), `log_level` (`"warn"`).
///
/// Arguments: `key` and `value` are NUL-terminated UTF-8, not kept after the call.
/// `err` is NULL or a buffer of `err_len` bytes (`LCM_ERROR_SIZE` is enough),
/// filled with a message on failure and `""` on success.
///
/// Returns `LCM_OK`, `LCM_ERR_INVALID_ARGUMENT` (NULL or non-UTF-8 key or value),
/// `LCM_ERR_CONFIG` (unknown key, bad value; the setting is unchanged) or
/// `LCM_ERR_INTERNAL`.
///
/// Thread safety: safe from any thread, also while other threads send; a call
/// already running keeps the settings it started with.
///
/// # Safety
/// `key` and `value` are NULL or NUL-terminated strings; `err` is NULL or points to
/// `err_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lcm_configure(
    key: *const c_char,
    value: *const c_char,
    err: *mut c_char,
    err_len: usize,
) -> lcm_status {
    // SAFETY: the pointer contracts are the caller's, as documented.
    unsafe {
        report(err, err_len, || {
            let (key, value) = (str_arg(key, "key")?, str_arg(value, "value")?);
            default_client().configure(key, value)
        })
    }
}

/// Creates an independent client with the default settings and no endpoint. It
/// does not read the `LCM_<KEY>` environment variables: configure it with
/// `lcm_client_configure`.
///
/// Returns the handle, or NULL with a message in `err` (which may be NULL) when
/// the client could not be created. Release it with `lcm_client_free`.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `err` is NULL or points to `err_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lcm_client_new(err: *mut c_char, err_len: usize) -> *mut lcm_client {
    let new = || {
        Ok(Box::into_raw(Box::new(lcm_client {
            client: Client::new(),
        })))
    };
    // SAFETY: the buffer contract is the caller's, as documented.
    unsafe { report_value(err, err_len, new, |_| std::ptr::null_mut()) }
}

/// Sets option `key` of client `c` to `value`; as `lcm_configure`, for that client
/// only.
///
/// Returns `LCM_OK`, `LCM_ERR_INVALID_ARGUMENT` (NULL `c`, NULL or non-UTF-8 key
/// or value), `LCM_ERR_CONFIG` or `LCM_ERR_INTERNAL`.
///
/// Thread safety: safe from any thread, also while other threads send with `c`.
///
/// # Safety
/// `c` is NULL or a handle from `lcm_client_new` not yet freed; strings and `err`
/// as for `lcm_configure`.
#[no_mangle]
pub unsafe extern "C" fn lcm_client_configure(
    c: *mut lcm_client,
    key: *const c_char,
    value: *const c_char,
    err: *mut c_char,
    err_len: usize,
) -> lcm_status {
    // SAFETY: the pointer contracts are the caller's, as documented.
    unsafe {
        report(err, err_len, || {
            let client = client_arg(c)?;
            let (key, value) = (str_arg(key, "key")?, str_arg(value, "value")?);
            client.configure(key, value)
        })
    }
}

/// Releases client `c` and closes its connections. NULL is a no-op.
///
/// Thread safety: like `free()`: no other thread may be using `c` during or after
/// this call (the program must join or stop them first); freeing a handle twice is
/// undefined behaviour.
///
/// # Safety
/// `c` is NULL or a handle from `lcm_client_new` not yet freed and not in use.
#[no_mangle]
pub unsafe extern "C" fn lcm_client_free(c: *mut lcm_client) {
    if c.is_null() {
        return;
    }
    // SAFETY: per the contract, c came from Box::into_raw in lcm_client_new and is
    // freed once. A panic while dropping cannot be reported; it is contained.
    or_fallback((), || drop(unsafe { Box::from_raw(c) }));
}

//! How does an option's string become its value? One parser per key, each refusing a
//! bad value with a message naming the key and what is allowed, never echoing a value
//! that may be a secret.

use std::time::Duration;

use ureq::http::Uri;

use super::{Endpoint, Key, ProxySetting, Secret};
use crate::error::Error;
use crate::log::Level;
use crate::outbox::Mode;
use crate::text::{display_url, short};
pub(crate) use crate::trust::{parse_tls_roots, read_ca_file};

/// Largest accepted `outbox_retry_ms`: a day.
pub(super) const MAX_OUTBOX_RETRY_MS: u64 = 86_400_000;
/// Largest accepted `outbox_max_age_s`: a year.
pub(super) const MAX_OUTBOX_AGE_S: u64 = 31_536_000;
/// Largest accepted `timeout_ms` and `connect_timeout_ms`: one hour.
pub(super) const MAX_TIMEOUT_MS: u64 = 3_600_000;
/// Largest accepted `retries`.
pub(super) const MAX_RETRIES: u32 = 10;

pub(super) fn parse_endpoint(value: &str) -> Result<Endpoint, Error> {
    let invalid = |why: &str| {
        Error::config(format!(
            "endpoint is not a usable URL ({why}); expected http://host[:port]/path or https://..."
        ))
    };
    let uri: Uri = value
        .parse()
        .map_err(|_| invalid("it does not parse as a URL"))?;
    let scheme = uri.scheme_str().unwrap_or("");
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(invalid("the scheme must be http or https"));
    }
    let authority = uri.authority().ok_or_else(|| invalid("it has no host"))?;
    if authority.host().is_empty() {
        return Err(invalid("it has no host"));
    }
    if authority.as_str().contains('@') {
        // ureq would send user:password as Basic auth; a secret belongs in `auth`,
        // which is never echoed, not in a URL that appears in messages.
        return Err(invalid(
            "it has user info (user:password@); put credentials in the auth option",
        ));
    }
    Ok(Endpoint {
        url: value.to_string(),
        display: display_url(&uri),
    })
}

pub(super) fn parse_number(key: Key, value: &str, min: u64, max: u64) -> Result<u64, Error> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            Error::config(format!(
                "{} '{}' is not a whole number from {min} to {max}",
                key.name(),
                short(value)
            ))
        })
}

pub(super) fn parse_duration_ms(key: Key, value: &str) -> Result<Duration, Error> {
    parse_number(key, value, 1, MAX_TIMEOUT_MS).map(Duration::from_millis)
}

pub(super) fn parse_source(value: &str) -> Result<String, Error> {
    crate::message::check_string_field("source", value, false)
        .map_err(|e| Error::config(e.message()))?;
    Ok(value.to_string())
}

pub(super) fn parse_outbox_mode(value: &str) -> Result<Mode, Error> {
    Mode::from_name(value).ok_or_else(|| {
        Error::config(format!(
            "outbox_mode '{}' is not a mode; use fallback or always",
            short(value)
        ))
    })
}

pub(super) fn parse_log_level(value: &str) -> Result<Level, Error> {
    Level::from_name(value).ok_or_else(|| {
        Error::config(format!(
            "log_level '{}' is not a level; use one of: off, error, warn, info, debug, trace",
            short(value)
        ))
    })
}

pub(super) fn parse_auth(value: &str) -> Result<Secret, Error> {
    // Checked now so that a bad header value fails here, not in every call. The
    // message must not quote the value: it is a secret.
    ureq::http::HeaderValue::from_str(value).map_err(|_| {
        Error::config(
            "auth contains a character not allowed in an HTTP header value \
             (a line break or another control character)",
        )
    })?;
    Ok(Secret(value.to_string()))
}

pub(super) fn parse_proxy(value: &str) -> Result<ProxySetting, Error> {
    if value.eq_ignore_ascii_case("none") {
        return Ok(ProxySetting::Direct);
    }
    // The URL may carry credentials: the message does not quote it.
    let invalid = || {
        Error::config(
            "proxy is not a valid proxy URL; use http://host:port, https://host:port or 'none'",
        )
    };
    let proxy = ureq::Proxy::new(value).map_err(|_| invalid())?;
    if is_supported_proxy(&proxy) {
        Ok(ProxySetting::Url(proxy))
    } else {
        Err(invalid())
    }
}

/// Whether this build can use `proxy`: HTTP(S) CONNECT proxies only. SOCKS would
/// need ureq's socks-proxy feature, which this build leaves out (and without which
/// ureq silently goes around a SOCKS proxy).
pub(crate) fn is_supported_proxy(proxy: &ureq::Proxy) -> bool {
    matches!(
        proxy.protocol(),
        ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https
    )
}

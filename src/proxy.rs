//! Which proxy does a request to the endpoint go through, and how?
//!
//! The `proxy` option names one, or says `none`; by default the environment does, as
//! for curl: the first usable of `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` (or their
//! lowercase forms), unless `NO_PROXY` (or `no_proxy`) lists the endpoint's host.
//! `NO_PROXY` entries are separated by commas, blanks around them allowed, and may be
//! `*`, a host, a domain suffix (`.example.com` and `example.com` both match
//! `lcm.example.com`), an IP address or a CIDR range (`127.0.0.0/8`).
//!
//! How (docs/design.md §5): an `https://` endpoint goes through a `CONNECT` tunnel; an
//! `http://` endpoint is sent to a plain HTTP proxy as an absolute-form request
//! (`POST http://host/path`), since a stock squid refuses `CONNECT` to ports other
//! than 443 (RFC 9112 3.2.2).

use std::net::IpAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ipnet::IpNet;
use ureq::http::Uri;

use crate::config::{is_supported_proxy, Endpoint, ProxySetting};

/// The environment variables that name a proxy, in the order they are tried.
const PROXY_VARS: [&str; 6] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
];

/// The proxy requests to `endpoint` use under `setting`, or why none can be used.
pub(crate) fn proxy_for(
    setting: &ProxySetting,
    endpoint: Option<&Endpoint>,
) -> Result<Option<ureq::Proxy>, String> {
    match setting {
        ProxySetting::Direct => Ok(None),
        ProxySetting::Url(proxy) => Ok(Some(proxy.clone())),
        ProxySetting::FromEnvironment => {
            from_lookup(|var| std::env::var(var).ok(), endpoint.and_then(host_of))
        }
    }
}

/// [`proxy_for`] from the environment, over any source of variables, for a request
/// to `host` (none: no endpoint yet).
fn from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
    host: Option<String>,
) -> Result<Option<ureq::Proxy>, String> {
    let no_proxy = lookup("NO_PROXY").or_else(|| lookup("no_proxy"));
    if let (Some(list), Some(host)) = (&no_proxy, &host) {
        if bypasses(list, host) {
            return Ok(None);
        }
    }
    let found = PROXY_VARS
        .iter()
        .filter_map(|var| lookup(var).filter(|v| !v.trim().is_empty()))
        .find_map(|value| ureq::Proxy::new(value.trim()).ok());
    match found {
        Some(p) if !is_supported_proxy(&p) => Err(
            "the proxy in the environment (ALL_PROXY, HTTPS_PROXY or HTTP_PROXY) is a SOCKS \
             proxy, which lcm-outcome does not support; set the proxy option to an http:// \
             proxy or to 'none'"
                .to_string(),
        ),
        other => Ok(other),
    }
}

/// The host of the endpoint's URL, without IPv6 brackets, in lowercase.
fn host_of(endpoint: &Endpoint) -> Option<String> {
    let uri: Uri = endpoint.url.parse().ok()?;
    let host = uri.host()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Some(host.to_ascii_lowercase())
}

/// Whether the `NO_PROXY` list `list` sends requests to `host` around the proxy.
fn bypasses(list: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.');
    let ip: Option<IpAddr> = host.parse().ok();
    list.split(',').map(str::trim).any(|entry| {
        let entry = entry
            .strip_prefix('[')
            .and_then(|e| e.strip_suffix(']'))
            .unwrap_or(entry);
        if entry.is_empty() {
            return false;
        }
        if entry == "*" {
            return true;
        }
        if let Ok(net) = entry.parse::<IpNet>() {
            return ip.is_some_and(|ip| net.contains(&ip));
        }
        if let Ok(entry_ip) = entry.parse::<IpAddr>() {
            return ip == Some(entry_ip);
        }
        let domain = entry
            .trim_start_matches("*.")
            .trim_start_matches('.')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        !domain.is_empty()
            && (host.eq_ignore_ascii_case(&domain)
                || host
                    .to_ascii_lowercase()
                    .strip_suffix(&domain)
                    .is_some_and(|rest| rest.ends_with('.')))
    })
}

/// Whether requests to `endpoint` through `proxy` are forwarded in absolute form
/// rather than tunnelled: a plain `http://` endpoint through a plain HTTP proxy.
pub(crate) fn forwards(endpoint: Option<&Endpoint>, proxy: &ureq::Proxy) -> bool {
    let plain_endpoint = endpoint.is_some_and(|e| {
        e.url
            .get(..7)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
    });
    plain_endpoint && proxy.protocol() == ureq::ProxyProtocol::Http
}

/// The `Proxy-Authorization` value for a forwarded request, when the proxy URL has
/// credentials (a tunnel's `CONNECT` carries them by itself).
pub(crate) fn authorization(proxy: &ureq::Proxy) -> Option<String> {
    let user = proxy.username()?;
    let password = proxy.password().unwrap_or_default();
    Some(format!(
        "Basic {}",
        STANDARD.encode(format!("{user}:{password}"))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_takes_blanks_suffixes_ips_and_cidr() {
        let rows = [
            ("a.example, 127.0.0.1", "127.0.0.1", true),
            ("a.example ,  lcm.internal", "lcm.internal", true),
            ("127.0.0.0/8", "127.1.2.3", true),
            ("10.0.0.0/8", "127.1.2.3", false),
            (".example.com", "lcm.example.com", true),
            ("example.com", "lcm.example.com", true),
            ("example.com", "example.com", true),
            ("example.com", "badexample.com", false),
            ("*.example.com", "lcm.example.com", true),
            ("*", "anything", true),
            ("::1", "::1", true),
            ("[::1]", "::1", true),
            ("fe80::/10", "fe80::1", true),
            ("LCM.Example.COM", "lcm.example.com", true),
            ("", "lcm.example.com", false),
            (" , ", "lcm.example.com", false),
        ];
        for (list, host, expected) in rows {
            assert_eq!(
                bypasses(list, host),
                expected,
                "NO_PROXY={list:?} host={host}"
            );
        }
    }

    #[test]
    fn the_environment_picks_the_first_usable_proxy_unless_no_proxy_says_otherwise() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |var: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == var)
                    .map(|(_, v)| v.to_string())
            }
        };
        let vars = &[
            ("HTTPS_PROXY", "http://127.0.0.1:3128"),
            ("HTTP_PROXY", "http://127.0.0.1:9999"),
            ("NO_PROXY", "lcm.internal, 10.0.0.0/8"),
        ];
        let via = from_lookup(env(vars), Some("lcm.example".into())).unwrap();
        assert_eq!(via.unwrap().port(), 3128);
        assert!(from_lookup(env(vars), Some("10.1.2.3".into()))
            .unwrap()
            .is_none());
        assert!(from_lookup(env(&[]), Some("x".into())).unwrap().is_none());
        let socks = &[("ALL_PROXY", "socks5://127.0.0.1:1080")];
        assert!(from_lookup(env(socks), Some("x".into()))
            .unwrap_err()
            .contains("SOCKS"));
    }

    #[test]
    fn plain_http_through_a_plain_proxy_is_forwarded() {
        let endpoint = |url: &str| Endpoint {
            url: url.into(),
            display: url.into(),
        };
        let proxy = ureq::Proxy::new("http://u:p%40ss@127.0.0.1:3128").unwrap();
        assert!(forwards(Some(&endpoint("http://lcm/api")), &proxy));
        assert!(!forwards(Some(&endpoint("https://lcm/api")), &proxy));
        assert_eq!(
            authorization(&proxy).unwrap(),
            format!("Basic {}", STANDARD.encode("u:p@ss"))
        );
    }
}

//! Which options are there, and what are they called? The option keys of
//! docs/design.md §4, their names and environment variables.

use crate::error::Error;
use crate::text::short;

/// One configuration option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// `endpoint`: the LCM web service's `http://` or `https://` URL.
    Endpoint,
    /// `source`: the envelope's `source`, the sending application's name.
    Source,
    /// `timeout_ms`: the deadline of a whole call, retries included.
    TimeoutMs,
    /// `connect_timeout_ms`: the limit of each connection attempt.
    ConnectTimeoutMs,
    /// `retries`: extra attempts where they are safe.
    Retries,
    /// `auth`: the `Authorization` header's value.
    Auth,
    /// `tls_roots`: which CAs HTTPS trusts besides `ca_file`.
    TlsRoots,
    /// `ca_file`: PEM file of CA certificates HTTPS trusts besides `tls_roots`.
    CaFile,
    /// `proxy`: the proxy URL.
    Proxy,
    /// `log_level`: how much is logged.
    LogLevel,
    /// `outbox`: the outbox file's path (docs/design.md §9).
    Outbox,
    /// `outbox_mode`: `fallback` or `always`.
    OutboxMode,
    /// `outbox_retry_ms`: how often the background sender tries pending outcomes.
    OutboxRetryMs,
    /// `outbox_max_age_s`: when an undelivered outcome is given up.
    OutboxMaxAgeS,
}

impl Key {
    /// Every key, in the documentation's order.
    pub const ALL: [Key; 14] = [
        Key::Endpoint,
        Key::Source,
        Key::TimeoutMs,
        Key::ConnectTimeoutMs,
        Key::Retries,
        Key::Auth,
        Key::TlsRoots,
        Key::CaFile,
        Key::Proxy,
        Key::LogLevel,
        Key::Outbox,
        Key::OutboxMode,
        Key::OutboxRetryMs,
        Key::OutboxMaxAgeS,
    ];

    /// The key's name, as `lcm_configure` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Key::Endpoint => "endpoint",
            Key::Source => "source",
            Key::TimeoutMs => "timeout_ms",
            Key::ConnectTimeoutMs => "connect_timeout_ms",
            Key::Retries => "retries",
            Key::Auth => "auth",
            Key::TlsRoots => "tls_roots",
            Key::CaFile => "ca_file",
            Key::Proxy => "proxy",
            Key::LogLevel => "log_level",
            Key::Outbox => "outbox",
            Key::OutboxMode => "outbox_mode",
            Key::OutboxRetryMs => "outbox_retry_ms",
            Key::OutboxMaxAgeS => "outbox_max_age_s",
        }
    }

    /// The environment variable the default client reads for this key.
    pub fn env_var(self) -> String {
        format!("LCM_{}", self.name().to_ascii_uppercase())
    }

    /// The key called `name`, or a configuration error listing the known keys.
    pub fn from_name(name: &str) -> Result<Key, Error> {
        Key::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Key::ALL.iter().map(|k| k.name()).collect();
                Error::config(format!(
                    "unknown option '{}'; the options are: {}",
                    short(name),
                    known.join(", ")
                ))
            })
    }

    /// Whether changing this key needs a new HTTP agent (and so a new pool). The
    /// timeouts are set on each request, so they do not; the endpoint does, since
    /// whether a proxy is used, and how, depends on its host and scheme.
    pub(crate) fn affects_transport(self) -> bool {
        matches!(
            self,
            Key::TlsRoots | Key::CaFile | Key::Proxy | Key::Endpoint
        )
    }
}

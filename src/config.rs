//! Configuration: the option keys of docs/design.md §4, their defaults, parsing of their
//! string values, and the `LCM_<KEY>` environment variables of the default client.
//!
//! Every value is checked when it is set, so that a bad value fails in
//! `lcm_configure` with a message naming the key, not later in a call. Values that
//! may hold secrets (`auth`, a `proxy` URL with credentials, an endpoint's user
//! info) are never echoed back.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ureq::http::Uri;

use crate::error::Error;
use crate::log::Level;
use crate::outbox::{Mode, Outbox};
use crate::text::{display_url, short};
use crate::trust::{parse_tls_roots, read_ca_file};
pub use crate::trust::{CaFile, TlsRoots};

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

/// The default of `source`.
pub const DEFAULT_SOURCE: &str = "lcm-outcome";
/// The default of `outbox_retry_ms`.
pub const DEFAULT_OUTBOX_RETRY: Duration = Duration::from_millis(30_000);
/// The default of `outbox_max_age_s`: a week.
pub const DEFAULT_OUTBOX_MAX_AGE: Duration = Duration::from_secs(604_800);
/// Largest accepted `outbox_retry_ms`: a day.
const MAX_OUTBOX_RETRY_MS: u64 = 86_400_000;
/// Largest accepted `outbox_max_age_s`: a year.
const MAX_OUTBOX_AGE_S: u64 = 31_536_000;
/// The default of `timeout_ms`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(10_000);
/// The default of `connect_timeout_ms`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(3_000);
/// The default of `retries`.
pub const DEFAULT_RETRIES: u32 = 2;
/// The default of `log_level`.
pub const DEFAULT_LOG_LEVEL: Level = Level::Warn;

/// Largest accepted `timeout_ms` and `connect_timeout_ms`: one hour.
const MAX_TIMEOUT_MS: u64 = 3_600_000;
/// Largest accepted `retries`.
const MAX_RETRIES: u32 = 10;

/// The LCM endpoint, parsed once.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL requests go to, as configured.
    pub url: String,
    /// The URL for messages: scheme, host, port and path, without user info or
    /// query, which may carry credentials.
    pub display: String,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// The `auth` value: kept out of `Debug` output, logs and messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(secret)")
    }
}

/// How requests reach the endpoint.
#[derive(Clone)]
pub enum ProxySetting {
    /// The default: `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` (and `NO_PROXY`) from
    /// the environment, when set.
    FromEnvironment,
    /// `proxy=none`: connect directly, whatever the environment says.
    Direct,
    /// An explicit proxy.
    Url(ureq::Proxy),
}

impl fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxySetting::FromEnvironment => f.write_str("from environment"),
            ProxySetting::Direct => f.write_str("none"),
            ProxySetting::Url(p) => write!(f, "{}:{}", p.host(), p.port()),
        }
    }
}

/// A complete, checked configuration. Clients share it as an immutable snapshot.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `endpoint`; `None` until configured.
    pub endpoint: Option<Endpoint>,
    /// `source`.
    pub source: String,
    /// `timeout_ms`.
    pub timeout: Duration,
    /// `connect_timeout_ms`.
    pub connect_timeout: Duration,
    /// `retries`.
    pub retries: u32,
    /// `auth`.
    pub auth: Option<Secret>,
    /// `tls_roots`.
    pub tls_roots: TlsRoots,
    /// `ca_file`, trusted besides `tls_roots`.
    pub ca_file: Option<CaFile>,
    /// `proxy`.
    pub proxy: ProxySetting,
    /// `log_level`.
    pub log_level: Level,
    /// `outbox`: the open outbox, shared by every snapshot of the client.
    pub outbox: Option<Arc<Outbox>>,
    /// `outbox_mode`.
    pub outbox_mode: Mode,
    /// `outbox_retry_ms`; zero: no background sender.
    pub outbox_retry: Duration,
    /// `outbox_max_age_s`.
    pub outbox_max_age: Duration,
    /// Environment variables that held bad values, with what was wrong. While one
    /// is here, calls fail with `LCM_ERR_CONFIG`; setting its key clears it.
    env_errors: Vec<(Key, String)>,
    /// `LCM_*` variables that are no option (a typo?), logged once; calls are
    /// unaffected.
    env_warnings: Vec<String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            endpoint: None,
            source: DEFAULT_SOURCE.to_string(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retries: DEFAULT_RETRIES,
            auth: None,
            tls_roots: TlsRoots::System,
            ca_file: None,
            proxy: ProxySetting::FromEnvironment,
            log_level: DEFAULT_LOG_LEVEL,
            outbox: None,
            outbox_mode: Mode::Fallback,
            outbox_retry: DEFAULT_OUTBOX_RETRY,
            outbox_max_age: DEFAULT_OUTBOX_MAX_AGE,
            env_errors: Vec::new(),
            env_warnings: Vec::new(),
        }
    }
}

impl Settings {
    /// The defaults, overridden by every `LCM_<KEY>` environment variable that is
    /// set. A bad variable is remembered, logged, and fails each call until its key
    /// is configured explicitly.
    pub fn from_env() -> Settings {
        let mut settings = Settings::from_lookup(|var| std::env::var_os(var));
        let names = std::env::vars_os().filter_map(|(name, _)| name.into_string().ok());
        settings.env_warnings = crate::env_vars::unknown_variables(names);
        settings
    }

    /// [`Settings::from_env`] over any source of variables.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<std::ffi::OsString>) -> Settings {
        let mut settings = Settings::default();
        for key in Key::ALL {
            let var = key.env_var();
            let Some(raw) = lookup(&var) else {
                continue;
            };
            let result = match raw.to_str() {
                Some(value) => settings.set(key, value),
                None => Err(Error::config(format!("{} is not valid UTF-8", key.name()))),
            };
            if let Err(e) = result {
                settings.env_errors.push((
                    key,
                    format!(
                        "environment variable {var}: {}; fix or unset it, or configure the \
                         '{}' option",
                        e.message(),
                        key.name()
                    ),
                ));
            }
        }
        settings
    }

    /// Logs, at error level, each `LCM_<KEY>` variable that could not be used.
    ///
    /// Kept apart from reading the environment so that the default client can log
    /// after its one-time creation has finished: a log callback that configures the
    /// default client would otherwise wait for the very creation it runs inside.
    pub(crate) fn log_env_errors(&self) {
        let problems = self.env_errors.iter().map(|(_, problem)| problem);
        for line in problems.chain(&self.env_warnings) {
            crate::log::log(self.log_level, Level::Error, || line.clone());
        }
    }

    /// Sets `key` from its string form; blanks around it are ignored, and an empty
    /// value restores the key's default.
    pub fn set(&mut self, key: Key, value: &str) -> Result<(), Error> {
        let value = value.trim();
        if value.is_empty() {
            self.reset(key);
        } else {
            match key {
                Key::Endpoint => self.endpoint = Some(parse_endpoint(value)?),
                Key::Source => self.source = parse_source(value)?,
                Key::TimeoutMs => self.timeout = parse_duration_ms(key, value)?,
                Key::ConnectTimeoutMs => self.connect_timeout = parse_duration_ms(key, value)?,
                Key::Retries => {
                    self.retries = parse_number(key, value, 0, MAX_RETRIES.into())? as u32
                }
                Key::Auth => self.auth = Some(parse_auth(value)?),
                Key::TlsRoots => self.tls_roots = parse_tls_roots(value)?,
                Key::CaFile => self.ca_file = Some(read_ca_file(value)?),
                Key::Proxy => self.proxy = parse_proxy(value)?,
                Key::LogLevel => self.log_level = parse_log_level(value)?,
                Key::Outbox => self.outbox = Some(Arc::new(Outbox::open(value)?)),
                Key::OutboxMode => self.outbox_mode = parse_outbox_mode(value)?,
                Key::OutboxRetryMs => {
                    self.outbox_retry =
                        Duration::from_millis(parse_number(key, value, 0, MAX_OUTBOX_RETRY_MS)?)
                }
                Key::OutboxMaxAgeS => {
                    self.outbox_max_age =
                        Duration::from_secs(parse_number(key, value, 1, MAX_OUTBOX_AGE_S)?)
                }
            }
        }
        self.env_errors.retain(|(k, _)| *k != key);
        Ok(())
    }

    /// Puts `key` back to its documented default.
    fn reset(&mut self, key: Key) {
        match key {
            Key::Endpoint => self.endpoint = None,
            Key::Source => self.source = DEFAULT_SOURCE.to_string(),
            Key::TimeoutMs => self.timeout = DEFAULT_TIMEOUT,
            Key::ConnectTimeoutMs => self.connect_timeout = DEFAULT_CONNECT_TIMEOUT,
            Key::Retries => self.retries = DEFAULT_RETRIES,
            Key::Auth => self.auth = None,
            Key::TlsRoots => self.tls_roots = TlsRoots::System,
            Key::CaFile => self.ca_file = None,
            Key::Proxy => self.proxy = ProxySetting::FromEnvironment,
            Key::LogLevel => self.log_level = DEFAULT_LOG_LEVEL,
            Key::Outbox => self.outbox = None,
            Key::OutboxMode => self.outbox_mode = Mode::Fallback,
            Key::OutboxRetryMs => self.outbox_retry = DEFAULT_OUTBOX_RETRY,
            Key::OutboxMaxAgeS => self.outbox_max_age = DEFAULT_OUTBOX_MAX_AGE,
        }
    }

    /// The endpoint to send to, once the configuration is complete and sound.
    pub fn ready_endpoint(&self) -> Result<&Endpoint, Error> {
        if let Some((_, problem)) = self.env_errors.first() {
            return Err(Error::config(problem.clone()));
        }
        self.endpoint.as_ref().ok_or_else(|| {
            Error::config(
                "endpoint is not set: configure the 'endpoint' option to LCM's URL, e.g. \
                 https://lcm.example.com/api (the default client also reads LCM_ENDPOINT)",
            )
        })
    }
}

fn parse_endpoint(value: &str) -> Result<Endpoint, Error> {
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

fn parse_number(key: Key, value: &str, min: u64, max: u64) -> Result<u64, Error> {
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

fn parse_duration_ms(key: Key, value: &str) -> Result<Duration, Error> {
    parse_number(key, value, 1, MAX_TIMEOUT_MS).map(Duration::from_millis)
}

fn parse_source(value: &str) -> Result<String, Error> {
    crate::message::check_string_field("source", value, false)
        .map_err(|e| Error::config(e.message()))?;
    Ok(value.to_string())
}

fn parse_outbox_mode(value: &str) -> Result<Mode, Error> {
    Mode::from_name(value).ok_or_else(|| {
        Error::config(format!(
            "outbox_mode '{}' is not a mode; use fallback or always",
            short(value)
        ))
    })
}

fn parse_log_level(value: &str) -> Result<Level, Error> {
    Level::from_name(value).ok_or_else(|| {
        Error::config(format!(
            "log_level '{}' is not a level; use one of: off, error, warn, info, debug, trace",
            short(value)
        ))
    })
}

fn parse_auth(value: &str) -> Result<Secret, Error> {
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

fn parse_proxy(value: &str) -> Result<ProxySetting, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;

    #[test]
    fn defaults_are_the_documented_ones() {
        let s = Settings::default();
        assert_eq!(s.endpoint, None);
        assert_eq!(s.source, "lcm-outcome");
        assert_eq!(s.timeout, Duration::from_millis(10_000));
        assert_eq!(s.connect_timeout, Duration::from_millis(3_000));
        assert_eq!(s.retries, 2);
        assert!(s.auth.is_none() && s.ca_file.is_none());
        assert_eq!(s.tls_roots, TlsRoots::System);
        assert!(matches!(s.proxy, ProxySetting::FromEnvironment));
        assert_eq!(s.log_level, Level::Warn);
    }

    #[test]
    fn bad_values_name_the_key_and_what_is_allowed() {
        let mut s = Settings::default();
        let cases = [
            (
                Key::TimeoutMs,
                "0",
                "timeout_ms '0' is not a whole number from 1 to 3600000",
            ),
            (
                Key::TimeoutMs,
                "1.5",
                "timeout_ms '1.5' is not a whole number",
            ),
            (
                Key::Retries,
                "11",
                "retries '11' is not a whole number from 0 to 10",
            ),
            (Key::LogLevel, "loud", "log_level 'loud' is not a level"),
            (
                Key::Endpoint,
                "ftp://x/",
                "endpoint is not a usable URL (the scheme must be http or https)",
            ),
            (
                Key::Endpoint,
                "lcm.example.com",
                "endpoint is not a usable URL",
            ),
            (
                Key::TlsRoots,
                "os",
                "tls_roots 'os' is not a set of roots; use system",
            ),
            (
                Key::CaFile,
                "/nonexistent/ca.pem",
                "ca_file '/nonexistent/ca.pem' cannot be read",
            ),
        ];
        for (key, value, expected) in cases {
            let err = s.set(key, value).unwrap_err();
            assert_eq!(err.status(), Status::Config);
            assert!(err.message().starts_with(expected), "{}", err.message());
        }
    }

    #[test]
    fn secrets_are_not_echoed() {
        let mut s = Settings::default();
        let err = s.set(Key::Auth, "Bearer s3cr3t\nX: y").unwrap_err();
        assert!(!err.message().contains("s3cr3t"));
        let err = s.set(Key::Proxy, "http://user:s3cr3t@[bad").unwrap_err();
        assert!(!err.message().contains("s3cr3t"), "{}", err.message());
        let err = s
            .set(Key::Endpoint, "https://user:s3cr3t@lcm.example.com/api")
            .unwrap_err();
        assert!(!err.message().contains("s3cr3t"), "{}", err.message());
        assert!(err.message().contains("put credentials in the auth option"));
        s.set(
            Key::Endpoint,
            "https://lcm.example.com:8443/api?token=s3cr3t",
        )
        .unwrap();
        let shown = &s.endpoint.as_ref().unwrap().display;
        assert_eq!(shown, "https://lcm.example.com:8443/api");
        assert!(s.set(Key::Proxy, "socks5://127.0.0.1:1080").is_err());
        assert!(s.set(Key::Proxy, "http://proxy.example:3128").is_ok());
        s.set(Key::Auth, "Bearer s3cr3t").unwrap();
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }

    #[test]
    fn empty_value_restores_the_default() {
        let mut s = Settings::default();
        s.set(Key::Retries, "5").unwrap();
        s.set(Key::Retries, "").unwrap();
        assert_eq!(s.retries, DEFAULT_RETRIES);
        s.set(Key::Proxy, "none").unwrap();
        assert!(matches!(s.proxy, ProxySetting::Direct));
        s.set(Key::Proxy, "").unwrap();
        assert!(matches!(s.proxy, ProxySetting::FromEnvironment));
        s.set(Key::TlsRoots, "none").unwrap();
        assert_eq!(s.tls_roots, TlsRoots::None);
        s.set(Key::TlsRoots, "").unwrap();
        assert_eq!(s.tls_roots, TlsRoots::System);
    }

    #[test]
    fn unknown_key_lists_the_known_ones() {
        let err = Key::from_name("timeout").unwrap_err();
        assert_eq!(err.status(), Status::Config);
        assert!(err.message().contains("unknown option 'timeout'"));
        assert!(err.message().contains("timeout_ms, connect_timeout_ms"));
    }

    #[test]
    fn environment_is_read_and_bad_variables_fail_until_configured() {
        let env = |var: &str| match var {
            "LCM_ENDPOINT" => Some("http://127.0.0.1:9/lcm".into()),
            "LCM_RETRIES" => Some("0".into()),
            "LCM_TIMEOUT_MS" => Some("soon".into()),
            "LCM_LOG_LEVEL" => Some("off".into()),
            _ => None,
        };
        let mut s = Settings::from_lookup(env);
        assert_eq!(s.retries, 0);
        let err = s.ready_endpoint().unwrap_err();
        assert_eq!(err.status(), Status::Config);
        assert!(err
            .message()
            .starts_with("environment variable LCM_TIMEOUT_MS: timeout_ms 'soon'"));
        assert!(err
            .message()
            .ends_with("fix or unset it, or configure the 'timeout_ms' option"));
        s.set(Key::TimeoutMs, "2000").unwrap();
        assert_eq!(
            s.ready_endpoint().unwrap().display,
            "http://127.0.0.1:9/lcm"
        );
    }

    #[test]
    fn env_var_names() {
        assert_eq!(Key::ConnectTimeoutMs.env_var(), "LCM_CONNECT_TIMEOUT_MS");
        assert_eq!(Key::CaFile.env_var(), "LCM_CA_FILE");
        assert_eq!(Key::TlsRoots.env_var(), "LCM_TLS_ROOTS");
    }
}

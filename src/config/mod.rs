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

use crate::error::Error;
use crate::log::Level;
use crate::outbox::{Mode, Outbox};
mod key;
mod parse;

pub use crate::trust::{CaFile, TlsRoots};
pub use key::Key;
pub(crate) use parse::is_supported_proxy;
use parse::*;

/// The default of `source`.
pub const DEFAULT_SOURCE: &str = "lcm-outcome";
/// The default of `outbox_retry_ms`.
pub const DEFAULT_OUTBOX_RETRY: Duration = Duration::from_millis(30_000);
/// The default of `outbox_max_age_s`: a week.
pub const DEFAULT_OUTBOX_MAX_AGE: Duration = Duration::from_secs(604_800);
/// The default of `timeout_ms`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(10_000);
/// The default of `connect_timeout_ms`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(3_000);
/// The default of `retries`.
pub const DEFAULT_RETRIES: u32 = 2;
/// The default of `log_level`.
pub const DEFAULT_LOG_LEVEL: Level = Level::Warn;

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
                 https://lcm.example.com/api/SetCallOutcomeWithComments (the default client also reads LCM_ENDPOINT)",
            )
        })
    }
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

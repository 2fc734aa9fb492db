//! What does `check`'s probe go with? The endpoint, the Authorization value, the
//! deadlines and the CAs that HTTPS trusts, from the `LCM_*` variables and the flags as
//! `send` reads them: the library's own parsing and refusals, through its `Settings`.

use std::time::Duration;

use lcm_outcome::config::{CaFile, Endpoint, Key, ProxySetting, Settings, TlsRoots};
use lcm_outcome::{Error, Status};
use ureq::tls::Certificate;

use crate::args::CheckArgs;
use crate::connect::{apply, Options};

/// Everything the probe needs.
pub struct Setup {
    pub endpoint: Endpoint,
    /// The endpoint's host, for messages.
    pub host: String,
    /// The `Authorization` value: a secret, never printed.
    pub auth: Option<String>,
    /// The envelope's `source`.
    pub source: String,
    /// The whole check's deadline.
    pub timeout: Duration,
    /// DNS, connect and TLS's part of it.
    pub connect_timeout: Duration,
    /// The CAs HTTPS trusts (`tls_roots` plus `ca_file`); none for an http:// endpoint.
    pub roots: Vec<Certificate<'static>>,
}

/// Options `check` leaves alone: opening the outbox would create its file.
const NOT_USED: [Key; 4] = [
    Key::Outbox,
    Key::OutboxMode,
    Key::OutboxRetryMs,
    Key::OutboxMaxAgeS,
];

/// The variables that name a proxy when `proxy` is not set, as the library reads them.
const PROXY_VARS: [&str; 6] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
];

/// The library's settings, and the `auth` value they keep out of reach.
struct Gathered {
    settings: Settings,
    auth: Option<String>,
}

impl Options for Gathered {
    fn set_option(&mut self, key: Key, value: &str) -> Result<(), Error> {
        self.settings.set(key, value)?;
        if key == Key::Auth {
            // As the library keeps it: trimmed, and an empty value means none.
            let value = value.trim();
            self.auth = (!value.is_empty()).then(|| value.to_owned());
        }
        Ok(())
    }
}

/// The probe's setup, or the configuration's first problem (`LCM_ERR_CONFIG`, naming
/// the flag or variable), before anything is sent.
pub fn gather(args: &CheckArgs) -> Result<Setup, Error> {
    let mut gathered = Gathered {
        settings: Settings::default(),
        auth: None,
    };
    apply(&mut gathered, &args.connection(), &NOT_USED)?;
    let Gathered { settings, auth } = gathered;
    let endpoint = settings.endpoint.clone().ok_or_else(|| {
        Error::new(
            Status::Config,
            "check needs LCM's endpoint: give --endpoint URL or set LCM_ENDPOINT",
        )
    })?;
    refuse_proxy(&settings.proxy)?;
    let roots = if is_https(&endpoint) {
        roots(settings.tls_roots, settings.ca_file.as_ref())?
    } else {
        Vec::new()
    };
    let host = endpoint
        .url
        .parse::<ureq::http::Uri>()
        .ok()
        .and_then(|uri| uri.host().map(str::to_owned))
        .unwrap_or_default();
    Ok(Setup {
        host,
        endpoint,
        auth,
        source: settings.source.clone(),
        timeout: settings.timeout,
        connect_timeout: settings.connect_timeout,
        roots,
    })
}

fn is_https(endpoint: &Endpoint) -> bool {
    endpoint
        .url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// `check` times the stages of a direct connection; through a proxy, DNS and connect
/// would be the proxy's, and its answers would pass for LCM's.
fn refuse_proxy(proxy: &ProxySetting) -> Result<(), Error> {
    let why = match proxy {
        ProxySetting::Direct => return Ok(()),
        ProxySetting::Url(_) => "--proxy (or LCM_PROXY) names one".to_string(),
        ProxySetting::FromEnvironment => {
            let set = PROXY_VARS
                .iter()
                .find(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()));
            match set {
                Some(var) => format!("{var} names one"),
                None => return Ok(()),
            }
        }
    };
    Err(Error::new(
        Status::Config,
        format!(
            "check connects directly, not through a proxy, and {why}: give --proxy none \
             to check the direct connection to the endpoint"
        ),
    ))
}

/// The CAs of `tls_roots` plus those of `ca_file`, as the library trusts them.
fn roots(
    tls_roots: TlsRoots,
    ca_file: Option<&CaFile>,
) -> Result<Vec<Certificate<'static>>, Error> {
    let mut certs = match tls_roots {
        TlsRoots::System => system_roots()?,
        TlsRoots::WebPki => webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|der| Certificate::from_der(der.as_ref()))
            .collect(),
        TlsRoots::None => Vec::new(),
    };
    certs.extend(ca_file.iter().flat_map(|ca| ca.certs.iter().cloned()));
    if certs.is_empty() {
        return Err(Error::new(
            Status::Config,
            "no CA is trusted for HTTPS: --tls-roots (or LCM_TLS_ROOTS) is none and \
             --ca-file (or LCM_CA_FILE) is not set; give --ca-file with your CA's PEM \
             file, or --tls-roots system or webpki",
        ));
    }
    Ok(certs)
}

/// The operating system's store (`SSL_CERT_FILE` and `SSL_CERT_DIR` replace it).
fn system_roots() -> Result<Vec<Certificate<'static>>, Error> {
    let loaded = rustls_native_certs::load_native_certs();
    if loaded.certs.is_empty() {
        let why = loaded
            .errors
            .first()
            .map_or("it holds none".to_string(), ToString::to_string);
        return Err(Error::new(
            Status::Config,
            format!(
                "--tls-roots system: no CA certificate could be read from the system's \
                 store ({why}); install the ca-certificates package, point SSL_CERT_FILE \
                 at a PEM bundle, or give --ca-file or --tls-roots webpki"
            ),
        ));
    }
    Ok(loaded
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect())
}

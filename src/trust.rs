//! Which certificates does HTTPS trust? Those of `tls_roots` (the operating system's
//! store, the built-in webpki roots, or none) plus the CAs of `ca_file`
//! (docs/design.md §4).
//!
//! `ca_file` is read and checked when the option is set ([`ca_file`]). The system
//! store is read once per process, by the first client made with `tls_roots=system`,
//! and again whenever `tls_roots` is set: never per call, and never by a forked child's renewed
//! pool, which keeps its parent's reading (reading files and the environment there
//! could wait on a lock that a parent thread held at fork()).

mod ca_file;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use ureq::tls::{Certificate, RootCerts};

use crate::error::Error;
use crate::log::{log, Level};
use crate::text::short;

pub(crate) use ca_file::read_ca_file;
pub use ca_file::CaFile;

/// `tls_roots`: which CAs HTTPS trusts besides those of `ca_file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsRoots {
    /// The operating system's store: the distribution's CA bundle on Linux, the
    /// certificate store on Windows, the keychain on macOS; `SSL_CERT_FILE` and
    /// `SSL_CERT_DIR`, when set, replace it. Where enterprises install their CA.
    #[default]
    System,
    /// The Mozilla roots built into the library, the same on every machine.
    WebPki,
    /// None: only `ca_file`.
    None,
}

impl TlsRoots {
    /// The value's name, as `tls_roots` takes it.
    pub fn name(self) -> &'static str {
        match self {
            TlsRoots::System => "system",
            TlsRoots::WebPki => "webpki",
            TlsRoots::None => "none",
        }
    }
}

pub(crate) fn parse_tls_roots(value: &str) -> Result<TlsRoots, Error> {
    [TlsRoots::System, TlsRoots::WebPki, TlsRoots::None]
        .into_iter()
        .find(|roots| roots.name().eq_ignore_ascii_case(value))
        .ok_or_else(|| {
            Error::config(format!(
                "tls_roots '{}' is not a set of roots; use system (the operating system's \
                 store), webpki (the built-in Mozilla roots) or none (only ca_file)",
                short(value)
            ))
        })
}

/// A problem worth a warning that does not stop calls. It is logged once, by the
/// first call that needs TLS: where it is found (setting an option, building a
/// snapshot), logging could re-enter a log callback that is configuring this very
/// client, or wait for the default client that is being made.
#[derive(Debug)]
pub(crate) struct Note {
    text: String,
    logged: AtomicBool,
}

impl Note {
    fn new(text: String) -> Note {
        Note {
            text,
            logged: AtomicBool::new(false),
        }
    }

    fn log_once(&self, level: Level) {
        if !self.logged.swap(true, Ordering::Relaxed) {
            log(level, Level::Warn, || self.text.clone());
        }
    }
}

/// What HTTPS trusts in one settings snapshot: `tls_roots` plus `ca_file`, or why
/// nothing can be trusted (then a call over TLS fails before anything is sent).
#[derive(Clone)]
pub(crate) struct Trust {
    anchors: Result<Arc<Vec<Certificate<'static>>>, String>,
    /// What `ca_file` left out, to be logged.
    left_out: Option<Arc<Note>>,
    /// The reading of the system store in use, when `tls_roots` is `system`.
    system: Option<Arc<SystemStore>>,
}

/// The process's last successful reading of the system store, which clients made
/// later take rather than read the store again: reading costs milliseconds (on
/// Linux, the bundle and every file of `/etc/ssl/certs`), and programs, the fuzzer
/// among them, make clients often. A failed reading is not kept, so the next client
/// tries again.
static LAST_READING: ArcSwapOption<SystemStore> = ArcSwapOption::const_empty();

/// One reading of the operating system's store.
struct SystemStore {
    certs: Result<Vec<Certificate<'static>>, String>,
    /// What could not be read although the rest could.
    skipped: Option<Note>,
}

impl Trust {
    /// The trust for `roots` plus `ca_file`. The system store is read now when
    /// `reread` (`tls_roots` was just set) or when this process has no reading of it.
    pub(crate) fn load(roots: TlsRoots, ca_file: Option<&CaFile>, reread: bool) -> Trust {
        let added: &[Certificate<'static>] = ca_file.map_or(&[], |ca| ca.certs.as_slice());
        let mut system = None;
        let base = match roots {
            TlsRoots::System => {
                let store = match LAST_READING.load_full() {
                    Some(last) if !reread => last,
                    _ => SystemStore::read(),
                };
                let certs = store.certs.clone();
                system = Some(store);
                certs
            }
            TlsRoots::WebPki => Ok(webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()))
                .collect()),
            TlsRoots::None if added.is_empty() => Err(
                "tls_roots is 'none' and ca_file is not set, so no certificate authority is \
                 trusted for HTTPS; set ca_file to your CA's PEM file, or tls_roots to \
                 'system' or 'webpki'"
                    .to_string(),
            ),
            TlsRoots::None => Ok(Vec::new()),
        };
        let anchors = base.map(|mut certs| {
            certs.extend(added.iter().cloned());
            Arc::new(certs)
        });
        Trust {
            anchors,
            left_out: ca_file.and_then(|ca| ca.left_out.clone()),
            system,
        }
    }

    /// The roots for ureq's TLS configuration; none when they could not be loaded
    /// (calls over TLS are refused by [`Trust::check`] before they connect).
    pub(crate) fn root_certs(&self) -> RootCerts {
        RootCerts::Specific(self.anchors.clone().unwrap_or_default())
    }

    /// Whether a call that uses TLS (`uses_tls`) can verify its peer: `LCM_ERR_CONFIG`
    /// saying why not, nothing having been sent.
    pub(crate) fn check(&self, uses_tls: bool, level: Level) -> Result<(), Error> {
        if !uses_tls {
            return Ok(());
        }
        let system_skipped = self.system.as_ref().and_then(|s| s.skipped.as_ref());
        for note in [self.left_out.as_deref(), system_skipped]
            .into_iter()
            .flatten()
        {
            note.log_once(level);
        }
        self.anchors
            .as_ref()
            .map(|_| ())
            .map_err(|why| Error::config(why.as_str()))
    }
}

impl SystemStore {
    /// Reads the store, keeping the reading for later clients when it succeeded.
    fn read() -> Arc<SystemStore> {
        let store = Arc::new(match system_store() {
            Ok((certs, skipped)) => SystemStore {
                certs: Ok(certs),
                skipped: skipped.map(Note::new),
            },
            Err(why) => SystemStore {
                certs: Err(why),
                skipped: None,
            },
        });
        if store.certs.is_ok() {
            LAST_READING.store(Some(store.clone()));
        }
        store
    }
}

/// The system store's certificates, with a note of what could not be read when
/// some could; an error naming where it looked when none could.
fn system_store() -> Result<(Vec<Certificate<'static>>, Option<String>), String> {
    let loaded = rustls_native_certs::load_native_certs();
    let mut problems: Vec<String> = loaded
        .errors
        .iter()
        .take(2)
        .map(|e| e.to_string())
        .collect();
    if loaded.errors.len() > 2 {
        problems.push(format!("{} more", loaded.errors.len() - 2));
    }
    let problems = short_list(&problems.join("; "));
    if loaded.certs.is_empty() {
        let what = if problems.is_empty() {
            "found no CA certificate".to_string()
        } else {
            format!("could not load any CA certificate ({problems})")
        };
        return Err(format!(
            "tls_roots 'system': {what} in {}; install the system's CA certificates (e.g. \
             the ca-certificates package), point SSL_CERT_FILE at a PEM bundle, or set \
             tls_roots to 'webpki', or to 'none' with ca_file",
            system_store_places()
        ));
    }
    let note = (!problems.is_empty()).then(|| {
        format!(
            "tls_roots 'system': {} CA certificates loaded from {}, but some could not be \
             read: {problems}",
            loaded.certs.len(),
            system_store_places()
        )
    });
    let certs = loaded
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    Ok((certs, note))
}

/// A list of problems short enough for a message that also says where it looked and
/// what to do, within `LCM_ERROR_SIZE`.
fn short_list(text: &str) -> String {
    let cut = crate::text::floor_char_boundary(text, 160);
    if cut < text.len() {
        format!("{}...", &text[..cut])
    } else {
        text.to_string()
    }
}

/// Where the system store was read from, for messages: the environment's
/// `SSL_CERT_FILE`/`SSL_CERT_DIR` when set (they override the platform's store, as
/// for OpenSSL), else the platform's own place.
fn system_store_places() -> String {
    let vars: Vec<String> = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .into_iter()
        .filter_map(|var| {
            let value = std::env::var_os(var)?;
            Some(format!("{var}='{}'", short(&value.to_string_lossy())))
        })
        .collect();
    if vars.is_empty() {
        platform_store()
    } else {
        vars.join(" and ")
    }
}

#[cfg(windows)]
fn platform_store() -> String {
    "the Windows certificate store (ROOT)".into()
}

#[cfg(target_os = "macos")]
fn platform_store() -> String {
    "the macOS keychains".into()
}

#[cfg(all(unix, not(target_os = "macos")))]
fn platform_store() -> String {
    // The probe that rustls-native-certs itself makes, so the message names exactly
    // the file and directories it read.
    let found = openssl_probe::probe();
    let places: Vec<String> = found
        .cert_file
        .iter()
        .chain(found.cert_dir.iter())
        .map(|p| format!("'{}'", p.display()))
        .collect();
    if places.is_empty() {
        "the usual places (no CA bundle such as /etc/ssl/certs/ca-certificates.crt or \
         /etc/pki/tls/certs/ca-bundle.crt exists)"
            .into()
    } else {
        places.join(", ")
    }
}

#[cfg(not(any(unix, windows)))]
fn platform_store() -> String {
    "the platform's certificate store".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;

    #[test]
    fn tls_roots_names_round_trip_and_bad_ones_list_the_choices() {
        for roots in [TlsRoots::System, TlsRoots::WebPki, TlsRoots::None] {
            assert_eq!(parse_tls_roots(roots.name()).unwrap(), roots);
        }
        assert_eq!(parse_tls_roots("WebPKI").unwrap(), TlsRoots::WebPki);
        let err = parse_tls_roots("os").unwrap_err();
        assert_eq!(err.status(), Status::Config);
        assert!(
            err.message()
                .starts_with("tls_roots 'os' is not a set of roots; use system"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn none_without_ca_file_refuses_tls_calls_only() {
        let trust = Trust::load(TlsRoots::None, None, false);
        assert!(
            trust.check(false, Level::Off).is_ok(),
            "http:// needs no CA"
        );
        let err = trust.check(true, Level::Off).unwrap_err();
        assert_eq!(err.status(), Status::Config);
        assert!(err
            .message()
            .contains("tls_roots is 'none' and ca_file is not set"));
    }

    #[test]
    fn webpki_is_the_built_in_mozilla_roots() {
        let trust = Trust::load(TlsRoots::WebPki, None, false);
        let count = trust.anchors.as_ref().unwrap().len();
        assert_eq!(count, webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        assert!(count > 100, "{count}");
        assert!(trust.check(true, Level::Off).is_ok());
    }
}

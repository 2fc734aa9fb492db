//! HTTPS for lcm-sim: the server's identity ([`TlsIdentity`]) and a throwaway
//! certificate authority that issues identities for tests ([`TestCa`]).
//!
//! rustls with the *ring* provider, the same rustls and provider as the client library's
//! ureq, so a workspace build compiles them once.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// A server certificate chain and its private key, both PEM, for
/// [`SimConfig::tls`](crate::SimConfig::tls).
#[derive(Clone, PartialEq, Eq)]
pub struct TlsIdentity {
    /// PEM `CERTIFICATE` blocks: the server's certificate first, then any intermediates.
    pub cert_chain_pem: String,
    /// The PEM private key (PKCS#8, PKCS#1 or SEC1) of the first certificate.
    pub key_pem: String,
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Test keys, but keys all the same: never printed.
        f.debug_struct("TlsIdentity")
            .field("cert_chain_pem", &self.cert_chain_pem)
            .field("key_pem", &"<not shown>")
            .finish()
    }
}

/// An error about certificate material, as `InvalidData` naming what is wrong.
fn invalid(what: &str, e: impl fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}"))
}

impl TlsIdentity {
    /// Reads a certificate chain file and a key file (PEM), as `--tls-cert`/`--tls-key`.
    pub fn from_pem_files(cert_chain: &Path, key: &Path) -> io::Result<TlsIdentity> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
        };
        Ok(TlsIdentity {
            cert_chain_pem: read(cert_chain)?,
            key_pem: read(key)?,
        })
    }

    /// Writes `cert.pem` and `key.pem` into `dir` (which must exist) and returns their
    /// paths, in that order.
    pub fn write_pem_files(&self, dir: &Path) -> io::Result<(PathBuf, PathBuf)> {
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        std::fs::write(&cert, &self.cert_chain_pem)?;
        std::fs::write(&key, &self.key_pem)?;
        Ok((cert, key))
    }

    /// A self-signed certificate for `names` (DNS names or IP addresses): one that no
    /// CA vouches for, so a verifying client refuses it (unknown issuer).
    pub fn self_signed(names: &[&str]) -> io::Result<TlsIdentity> {
        let key = KeyPair::generate().map_err(|e| invalid("key generation", e))?;
        let cert = leaf_params(names)?
            .self_signed(&key)
            .map_err(|e| invalid("self-signed certificate", e))?;
        Ok(TlsIdentity {
            cert_chain_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// The rustls server configuration: HTTP/1.1 by ALPN, no client certificates.
    pub(crate) fn server_config(&self) -> io::Result<Arc<ServerConfig>> {
        let chain = CertificateDer::pem_slice_iter(self.cert_chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("TLS certificate chain", e))?;
        if chain.is_empty() {
            return Err(invalid("TLS certificate chain", "no CERTIFICATE block"));
        }
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| invalid("TLS private key", e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("TLS configuration", e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| invalid("TLS certificate and key", e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// Parameters of a server certificate for `names`: each an IP address (an IP SAN) or a
/// DNS name.
fn leaf_params(names: &[&str]) -> io::Result<CertificateParams> {
    if names.is_empty() {
        return Err(invalid("certificate names", "none given"));
    }
    let owned: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(owned).map_err(|e| invalid("certificate names", e))?;
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// A certificate authority made up on the spot, for tests: trust its certificate in the
/// client (the library's `ca_file` option) and serve an identity it issued.
///
/// ```no_run
/// use lcm_sim::{Sim, SimConfig, TestCa};
///
/// let dir = std::env::temp_dir();
/// let ca = TestCa::new().unwrap();
/// ca.write_cert_pem(&dir.join("ca.pem")).unwrap(); // for the client's ca_file
/// let sim = Sim::start(SimConfig {
///     tls: Some(ca.issue_for_loopback().unwrap()),
///     ..SimConfig::default()
/// })
/// .unwrap();
/// assert!(sim.url().starts_with("https://127.0.0.1:"));
/// ```
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl fmt::Debug for TestCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

impl TestCa {
    /// A new CA (`CN=lcm-sim test CA <hex>`, ECDSA P-256), valid from 1975 to 4096.
    pub fn new() -> io::Result<TestCa> {
        let key = KeyPair::generate().map_err(|e| invalid("key generation", e))?;
        // A name of its own: a verifier looks issuers up by name, so two test CAs that
        // shared one would fail as "bad signature" instead of "unknown issuer".
        let tag: String = key.public_key_raw()[1..9]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("lcm-sim test CA {tag}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer =
            CertifiedIssuer::self_signed(params, key).map_err(|e| invalid("CA certificate", e))?;
        Ok(TestCa { issuer })
    }

    /// The CA certificate, PEM: what a client must trust.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// Writes [`TestCa::cert_pem`] to `path`, e.g. for the library's `ca_file` option.
    pub fn write_cert_pem(&self, path: &Path) -> io::Result<()> {
        std::fs::write(path, self.cert_pem())
    }

    /// A server identity for `names`, each a DNS name (`"localhost"`) or an IP address
    /// (`"127.0.0.1"`, `"::1"`). Issue one for a name the client does not connect to
    /// (`&["other.example"]`) to get a certificate a verifying client refuses for the
    /// wrong host name although it trusts the CA.
    pub fn issue(&self, names: &[&str]) -> io::Result<TlsIdentity> {
        self.issue_with(leaf_params(names)?)
    }

    /// A server identity for `127.0.0.1`, `::1` and `localhost`: what [`Sim::url`]
    /// (`https://127.0.0.1:PORT/lcm`) needs.
    ///
    /// [`Sim::url`]: crate::Sim::url
    pub fn issue_for_loopback(&self) -> io::Result<TlsIdentity> {
        self.issue(&["127.0.0.1", "::1", "localhost"])
    }

    /// Like [`TestCa::issue`], but the certificate expired long ago (valid only in the
    /// year 2000): a verifying client refuses it although it trusts the CA.
    pub fn issue_expired(&self, names: &[&str]) -> io::Result<TlsIdentity> {
        let mut params = leaf_params(names)?;
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        self.issue_with(params)
    }

    fn issue_with(&self, params: CertificateParams) -> io::Result<TlsIdentity> {
        let key = KeyPair::generate().map_err(|e| invalid("key generation", e))?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|e| invalid("certificate", e))?;
        Ok(TlsIdentity {
            cert_chain_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

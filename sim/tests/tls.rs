//! HTTPS: a rustls client that trusts the test CA completes a request; one that does not,
//! or that meets a certificate for another name, an expired one or a self-signed one,
//! fails verification. Also the command line's `--tls-cert/--tls-key` and
//! `--tls-test-ca`, and delivery faults through TLS.

mod common;

use std::io;
use std::net::TcpStream;
use std::sync::Arc;

use common::*;
use lcm_sim::{Faults, Sim, SimConfig, TestCa, TlsIdentity};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, ClientConnection, RootCertStore, StreamOwned};

type TlsConn = Conn<StreamOwned<ClientConnection, TcpStream>>;

/// A client configuration trusting exactly the CA certificates in `ca_pems`, offering
/// HTTP/2 and HTTP/1.1 by ALPN (as a browser-like client would).
fn client_config(ca_pems: &[String]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for pem in ca_pems {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert.expect("CA PEM")).expect("CA certificate");
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Connects to `addr` and completes the TLS handshake for `server_name`.
fn tls_connect(addr: &str, config: Arc<ClientConfig>, server_name: &str) -> io::Result<TlsConn> {
    let name = ServerName::try_from(server_name.to_owned()).expect("server name");
    let mut session = ClientConnection::new(config, name).expect("client session");
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(READ_TIMEOUT))?;
    while session.is_handshaking() {
        session.complete_io(&mut tcp)?;
    }
    Ok(Conn::over(StreamOwned::new(session, tcp)))
}

/// The certificate error a failed handshake reports.
fn certificate_error(result: io::Result<TlsConn>) -> CertificateError {
    let err = match result {
        Ok(_) => panic!("the handshake succeeded"),
        Err(e) => e,
    };
    match err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(e)) => e.clone(),
        _ => panic!("expected a certificate error, got {err}"),
    }
}

fn tls_sim(identity: TlsIdentity) -> Sim {
    Sim::start(SimConfig {
        tls: Some(identity),
        ..SimConfig::default()
    })
    .expect("start with TLS")
}

#[test]
fn a_client_trusting_the_test_ca_completes_requests_over_https() {
    let ca = TestCa::new().unwrap();
    let sim = tls_sim(ca.issue_for_loopback().unwrap());
    let url = sim.url();
    assert!(
        url.starts_with("https://127.0.0.1:") && url.ends_with("/lcm"),
        "{url}"
    );
    let addr = sim.addr().to_string();
    let config = client_config(&[ca.cert_pem()]);
    for name in ["127.0.0.1", "localhost"] {
        let mut conn = tls_connect(&addr, Arc::clone(&config), name).expect("handshake");
        assert_eq!(
            conn.reader.get_ref().conn.alpn_protocol(),
            Some(&b"http/1.1"[..]),
            "the only protocol served"
        );
        // Kept alive over TLS, like plain HTTP.
        for i in 0..3 {
            let callid = format!("{name}-{i}");
            assert_eq!(conn.post_outcome(&callid).json(), success_body(&callid));
        }
    }
    assert_eq!(sim.accepted_count(), 6);
    assert_eq!(sim.connection_count(), 2);
    assert_eq!(sim.requests()[0].json(), Some(envelope("127.0.0.1-0")));
}

#[test]
fn verification_fails_without_the_ca_for_another_name_expired_or_self_signed() {
    let ca = TestCa::new().unwrap();
    let trusting = client_config(&[ca.cert_pem()]);

    let sim = tls_sim(ca.issue_for_loopback().unwrap());
    let addr = sim.addr().to_string();
    let other_ca = TestCa::new().unwrap();
    let distrusting = client_config(&[other_ca.cert_pem()]);
    assert_eq!(
        certificate_error(tls_connect(&addr, distrusting, "127.0.0.1")),
        CertificateError::UnknownIssuer
    );

    let sim = tls_sim(ca.issue(&["other.example"]).unwrap());
    let err = certificate_error(tls_connect(
        &sim.addr().to_string(),
        Arc::clone(&trusting),
        "127.0.0.1",
    ));
    assert!(
        matches!(
            err,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ),
        "{err:?}"
    );

    let sim = tls_sim(ca.issue_expired(&["127.0.0.1"]).unwrap());
    let err = certificate_error(tls_connect(
        &sim.addr().to_string(),
        Arc::clone(&trusting),
        "127.0.0.1",
    ));
    assert!(
        matches!(
            err,
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        ),
        "{err:?}"
    );

    let sim = tls_sim(TlsIdentity::self_signed(&["127.0.0.1"]).unwrap());
    assert_eq!(
        certificate_error(tls_connect(&sim.addr().to_string(), trusting, "127.0.0.1")),
        CertificateError::UnknownIssuer
    );
    // None of these got as far as a request.
    assert_eq!(sim.request_count(), 0);
}

#[test]
fn plain_http_to_the_https_port_gets_no_http_answer() {
    let ca = TestCa::new().unwrap();
    let sim = tls_sim(ca.issue_for_loopback().unwrap());
    let mut conn = Conn::open(&sim);
    conn.send(&post_outcome_bytes("1"));
    let mut got = Vec::new();
    let _ = io::Read::read_to_end(&mut conn.reader, &mut got);
    assert!(
        !got.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(sim.request_count(), 0);
}

#[test]
fn an_unusable_identity_fails_to_start_naming_the_problem() {
    let ca = TestCa::new().unwrap();
    let good = ca.issue_for_loopback().unwrap();
    let other = ca.issue_for_loopback().unwrap();
    for (identity, want) in [
        (
            TlsIdentity {
                cert_chain_pem: String::new(),
                key_pem: good.key_pem.clone(),
            },
            "TLS certificate chain",
        ),
        (
            TlsIdentity {
                cert_chain_pem: good.cert_chain_pem.clone(),
                key_pem: "not a key".to_owned(),
            },
            "TLS private key",
        ),
        (
            TlsIdentity {
                cert_chain_pem: good.cert_chain_pem.clone(),
                key_pem: other.key_pem.clone(),
            },
            "TLS certificate and key",
        ),
    ] {
        let err = Sim::start(SimConfig {
            tls: Some(identity),
            ..SimConfig::default()
        })
        .expect_err("must not start");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().starts_with(want), "{err}");
    }
    // The key never shows in debug output.
    assert!(!format!("{good:?}").contains("PRIVATE KEY"));
}

#[test]
fn delivery_faults_work_through_tls() {
    let ca = TestCa::new().unwrap();
    let sim = Sim::start(SimConfig {
        tls: Some(ca.issue_for_loopback().unwrap()),
        faults: Faults {
            trickle_headers_ms: Some(0),
            trickle_body_ms: Some(0),
            close_idle_ms: Some(0),
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .unwrap();
    let config = client_config(&[ca.cert_pem()]);
    let addr = sim.addr().to_string();
    let mut conn = tls_connect(&addr, Arc::clone(&config), "127.0.0.1").unwrap();
    assert_eq!(conn.post_outcome("t-1").json(), success_body("t-1"));
    conn.assert_closed();

    sim.set_faults(Faults {
        reset_after_body_bytes: Some(5),
        ..Faults::default()
    })
    .expect("valid faults");
    let mut conn = tls_connect(&addr, config, "127.0.0.1").unwrap();
    conn.send(&post_outcome_bytes("t-2"));
    let mut got = Vec::new();
    let err = io::Read::read_to_end(&mut conn.reader, &mut got).expect_err("a reset");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
    let head = head_end(&got).expect("the head arrived");
    assert_eq!(got.len() - head, 5);
    assert_eq!(sim.accepted_count(), 2);
}

#[test]
fn binary_serves_https_with_cert_and_key_files() {
    let dir = TempPath::dir("tls-files");
    let ca = TestCa::new().unwrap();
    let (cert, key) = ca
        .issue_for_loopback()
        .unwrap()
        .write_pem_files(&dir.0)
        .unwrap();
    let sim = SimProcess::spawn(&[
        "--tls-cert".as_ref(),
        cert.as_os_str(),
        "--tls-key".as_ref(),
        key.as_os_str(),
    ]);
    assert!(sim.url.starts_with("https://127.0.0.1:"), "{}", sim.url);
    let mut conn = tls_connect(
        sim.authority(),
        client_config(&[ca.cert_pem()]),
        "127.0.0.1",
    )
    .unwrap();
    assert_eq!(conn.post_outcome("1").json(), success_body("1"));
}

#[test]
fn binary_makes_a_test_ca_whose_certificate_clients_can_trust() {
    let dir = TempPath::new("tls-test-ca");
    let sim = SimProcess::spawn(&["--tls-test-ca".as_ref(), dir.0.as_os_str()]);
    assert!(sim.url.starts_with("https://"), "{}", sim.url);
    for file in ["cert.pem", "key.pem"] {
        assert!(dir.0.join(file).is_file(), "{file}");
    }
    let ca_pem = std::fs::read_to_string(dir.0.join("ca.pem")).unwrap();
    let mut conn = tls_connect(sim.authority(), client_config(&[ca_pem]), "localhost").unwrap();
    assert_eq!(conn.post_outcome("1").json(), success_body("1"));
}

#[test]
fn binary_reports_missing_tls_files() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lcm-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/nonexistent/cert.pem",
            "--tls-key",
            "/nonexistent/key.pem",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/cert.pem"), "{stderr}");
}

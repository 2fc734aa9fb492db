//! HTTPS against lcm-sim serving certificates from a test CA generated at test time:
//! verification is always on, `ca_file` is how a private CA is trusted besides
//! `tls_roots`, only a CA certificate valid now is taken as one, and every verification
//! failure is `LCM_ERR_CONNECT` (nothing was sent) naming the cause. `tls_roots=system`
//! and the environment that points it elsewhere are in tests/tls_system_store.rs.

mod common;

use std::path::PathBuf;

use common::*;
use lcm_outcome::ffi::*;
use lcm_sim::{TestCa, TlsIdentity};
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// A test CA of the calling test's own, its certificate written to a PEM file that
/// clients can be given as `ca_file`.
struct PrivateCa {
    ca: TestCa,
    dir: WorkDir,
}

impl PrivateCa {
    fn new(test: &str) -> PrivateCa {
        let ca = TestCa::new().unwrap();
        let dir = WorkDir::new(&format!("tls-{test}"));
        ca.write_cert_pem(&dir.path().join("ca.pem")).unwrap();
        PrivateCa { ca, dir }
    }

    fn pem(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A client for `endpoint` that trusts this CA through `ca_file`.
    fn client(&self, endpoint: &str) -> Client {
        let client = Client::for_endpoint(endpoint);
        client.set("ca_file", self.pem().to_str().unwrap());
        client
    }
}

fn https_sim(identity: TlsIdentity) -> Sim {
    Sim::start(SimConfig {
        tls: Some(identity),
        ..SimConfig::default()
    })
    .expect("start lcm-sim with TLS")
}

/// `https://localhost:PORT/lcm`: a host name, so that the certificate's names matter.
fn by_name(sim: &Sim) -> String {
    format!("https://localhost:{}/lcm", sim.addr().port())
}

/// Sends the sample once, without retries, and asserts that verification refused
/// the server: `LCM_ERR_CONNECT` with all of `words`.
#[track_caller]
fn assert_not_verified(client: &Client, words: &[&str]) {
    client.set("retries", "0");
    assert_status(&client.send(&Call::sample()), LCM_ERR_CONNECT, words);
}

#[test]
fn a_private_ca_in_ca_file_is_trusted() {
    let ca = PrivateCa::new("trusted");
    let sim = https_sim(ca.ca.issue_for_loopback().unwrap());
    for endpoint in [sim.url(), by_name(&sim)] {
        assert!(endpoint.starts_with("https://"));
        assert_status(&ca.client(&endpoint).send(&Call::sample()), LCM_OK, &[]);
    }
    assert_eq!(sim.accepted().len(), 2);
}

#[test]
fn a_pooled_tls_connection_carries_large_bodies() {
    let ca = PrivateCa::new("pooled");
    let sim = https_sim(ca.ca.issue_for_loopback().unwrap());
    let client = ca.client(&by_name(&sim));
    // 64 KiB of comment: the request spans many TLS records and several writes.
    let comment = "é".repeat(32 * 1024);
    let large = Call {
        agent_comments: Some(comment.as_bytes().to_vec()),
        ..Call::with_id("large")
    };
    for call in [Call::with_id("small"), large, Call::with_id("after")] {
        assert_status(&client.send(&call), LCM_OK, &[]);
    }
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 3);
    assert_eq!(accepted[1]["AgentComments"], comment.as_str());
    assert_eq!(sim.connection_count(), 1, "one kept-alive TLS connection");
}

#[test]
fn without_ca_file_the_private_ca_is_not_trusted() {
    let ca = TestCa::new().unwrap();
    let sim = https_sim(ca.issue_for_loopback().unwrap());
    assert_not_verified(
        &Client::for_endpoint(&by_name(&sim)),
        &[
            "certificate verification",
            "UnknownIssuer",
            "the outcome was not sent",
        ],
    );
    assert_eq!(sim.request_count(), 0, "nothing reached the server");
}

#[test]
fn another_ca_is_not_trusted_either() {
    let (ours, theirs) = (PrivateCa::new("other-ca"), TestCa::new().unwrap());
    let sim = https_sim(theirs.issue_for_loopback().unwrap());
    assert_not_verified(
        &ours.client(&by_name(&sim)),
        &["certificate", "UnknownIssuer"],
    );
}

#[test]
fn a_certificate_for_another_host_name_fails_verification() {
    let ca = PrivateCa::new("other-name");
    let sim = https_sim(ca.ca.issue(&["lcm.other.example"]).unwrap());
    assert_not_verified(
        &ca.client(&by_name(&sim)),
        &[
            "certificate verification",
            "not valid for name \"localhost\"",
            "the outcome was not sent",
        ],
    );
    assert_eq!(sim.request_count(), 0);
}

#[test]
fn an_expired_certificate_fails_verification() {
    let ca = PrivateCa::new("expired");
    let sim = https_sim(ca.ca.issue_expired(&["localhost"]).unwrap());
    assert_not_verified(
        &ca.client(&by_name(&sim)),
        &["certificate verification", "certificate expired"],
    );
}

#[test]
fn no_option_turns_verification_off() {
    let client = Client::new();
    for key in [
        "insecure",
        "verify",
        "tls_verify",
        "ssl_verify_peer",
        "ssl_verify_host",
        "danger_accept_invalid_certs",
    ] {
        assert_status(
            &client.configure(key, "0"),
            LCM_ERR_CONFIG,
            &[key, "unknown option"],
        );
    }
    // An empty ca_file leaves tls_roots alone (the system store): still verified.
    let ca = TestCa::new().unwrap();
    let sim = https_sim(ca.issue_for_loopback().unwrap());
    let client = Client::for_endpoint(&by_name(&sim));
    client.set("ca_file", "");
    assert_not_verified(&client, &["UnknownIssuer"]);
}

#[test]
fn ca_file_must_be_a_readable_regular_pem_file() {
    let work = WorkDir::new("tls-bad-ca-file");
    let dir = work.path();
    let fifo = dir.join("fifo");
    let c_fifo = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0, "mkfifo");
    std::fs::write(dir.join("empty.pem"), "").unwrap();
    std::fs::write(
        dir.join("not.pem"),
        "-----BEGIN CERTIFICATE-----\nnot base64!\n",
    )
    .unwrap();
    let client = Client::new();
    let cases = [
        (dir.join("missing.pem"), "cannot be read"),
        // A FIFO would block lcm_configure until a writer came, /dev/zero would
        // never end: neither is opened.
        (fifo, "is not a regular file"),
        ("/dev/zero".into(), "is not a regular file"),
        (dir.to_path_buf(), "is not a regular file"),
        (dir.join("empty.pem"), "holds no PEM certificate"),
        (dir.join("not.pem"), "is not a valid PEM file"),
    ];
    for (path, words) in cases {
        assert_status(
            &client.configure("ca_file", path.to_str().unwrap()),
            LCM_ERR_CONFIG,
            &["ca_file", words],
        );
    }
}

/// A self-signed issuer made as a test says (expired, or not a CA at all), its PEM,
/// and a server identity for `localhost` that it signed: what a verifier that trusts
/// any certificate given as a root would accept.
struct OddIssuer {
    pem: String,
    signed: TlsIdentity,
}

fn odd_issuer(common_name: &str, edit: impl FnOnce(&mut CertificateParams)) -> OddIssuer {
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    edit(&mut params);
    let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    OddIssuer {
        pem: issuer.pem(),
        signed: TlsIdentity {
            cert_chain_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        },
    }
}

#[test]
fn ca_file_takes_only_ca_certificates_valid_now() {
    let work = WorkDir::new("tls-odd-anchors");
    let not_a_ca = "is not a CA certificate (basicConstraints CA:FALSE or absent)";
    let cases = [
        (
            odd_issuer("lcm expired CA", |p| {
                p.not_before = date_time_ymd(2000, 1, 1);
                p.not_after = date_time_ymd(2001, 1, 1);
            }),
            "certificate \"CN=lcm expired CA\" expired on 2001-01-01 00:00:00 UTC",
        ),
        (
            odd_issuer("lcm future CA", |p| {
                p.not_before = date_time_ymd(4000, 1, 1);
                p.not_after = date_time_ymd(4001, 1, 1);
            }),
            "certificate \"CN=lcm future CA\" is not valid before 4000-01-01 00:00:00 UTC",
        ),
        (
            odd_issuer("lcm CA:FALSE", |p| p.is_ca = IsCa::ExplicitNoCa),
            &format!("certificate \"CN=lcm CA:FALSE\" {not_a_ca}"),
        ),
        (
            odd_issuer("lcm no basicConstraints", |p| p.is_ca = IsCa::NoCa),
            &format!("certificate \"CN=lcm no basicConstraints\" {not_a_ca}"),
        ),
    ];
    for (i, (issuer, why)) in cases.into_iter().enumerate() {
        let pem = work.path().join(format!("odd-{i}.pem"));
        std::fs::write(&pem, &issuer.pem).unwrap();
        let sim = https_sim(issuer.signed);
        let client = Client::for_endpoint(&by_name(&sim));
        assert_status(
            &client.configure("ca_file", pem.to_str().unwrap()),
            LCM_ERR_CONFIG,
            &["ca_file '", why],
        );
        // Refused, so not trusted: the server it signed is not either.
        assert_not_verified(&client, &["UnknownIssuer"]);
        assert_eq!(sim.request_count(), 0, "{why}");
    }
}

#[test]
fn one_bad_certificate_refuses_the_whole_bundle_and_keeps_the_setting() {
    let ca = PrivateCa::new("bad-in-bundle");
    let sim = https_sim(ca.ca.issue_for_loopback().unwrap());
    let client = ca.client(&by_name(&sim));
    let not_a_ca = TlsIdentity::self_signed(&["localhost"]).unwrap();
    let bundle = ca.dir.path().join("bundle.pem");
    std::fs::write(
        &bundle,
        format!("{}{}", ca.ca.cert_pem(), not_a_ca.cert_chain_pem),
    )
    .unwrap();
    assert_status(
        &client.configure("ca_file", bundle.to_str().unwrap()),
        LCM_ERR_CONFIG,
        &["certificate \"CN=localhost\" is not a CA certificate"],
    );
    // The ca_file set before is still in force.
    assert_status(&client.send(&Call::sample()), LCM_OK, &[]);
}

#[test]
fn tls_roots_none_trusts_only_ca_file() {
    let ca = PrivateCa::new("roots-none");
    let https = https_sim(ca.ca.issue_for_loopback().unwrap());
    let client = ca.client(&by_name(&https));
    client.set("tls_roots", "none");
    assert_status(&client.send(&Call::sample()), LCM_OK, &[]);
    client.set("ca_file", "");
    assert_status(
        &client.send(&Call::sample()),
        LCM_ERR_CONFIG,
        &["tls_roots is 'none' and ca_file is not set", "set ca_file"],
    );
    assert_eq!(
        https.request_count(),
        1,
        "nothing sent without a CA to trust"
    );
    // Plain HTTP needs no CA.
    let http = sim();
    let client = Client::for_endpoint(&http.url());
    client.set("tls_roots", "none");
    assert_status(&client.send(&Call::sample()), LCM_OK, &[]);
}

#[test]
fn tls_roots_webpki_trusts_a_private_ca_only_through_ca_file() {
    let ca = PrivateCa::new("roots-webpki");
    let sim = https_sim(ca.ca.issue_for_loopback().unwrap());
    let client = Client::for_endpoint(&by_name(&sim));
    client.set("tls_roots", "webpki");
    assert_not_verified(&client, &["certificate verification", "UnknownIssuer"]);
    client.set("ca_file", ca.pem().to_str().unwrap());
    assert_status(&client.send(&Call::sample()), LCM_OK, &[]);
}

#[test]
fn tls_roots_is_system_webpki_or_none() {
    let client = Client::new();
    assert_status(
        &client.configure("tls_roots", "mozilla"),
        LCM_ERR_CONFIG,
        &[
            "tls_roots 'mozilla' is not a set of roots",
            "system",
            "webpki",
            "none",
        ],
    );
    for value in ["system", "WebPKI", "none", ""] {
        assert_status(&client.configure("tls_roots", value), LCM_OK, &[]);
    }
}

#[test]
fn a_bundle_keeps_its_cas_valid_now_and_warns_of_those_left_out() {
    capture_logs();
    let ca = PrivateCa::new("bundle-dates");
    let expired = odd_issuer("lcm expired CA in a bundle", |p| {
        p.not_before = date_time_ymd(2000, 1, 1);
        p.not_after = date_time_ymd(2001, 1, 1);
    });
    // As in a distribution's bundle, which keeps roots after they expired.
    let bundle = ca.dir.path().join("bundle.pem");
    std::fs::write(&bundle, format!("{}{}", expired.pem, ca.ca.cert_pem())).unwrap();
    let ours = https_sim(ca.ca.issue_for_loopback().unwrap());
    let theirs = https_sim(expired.signed);
    let client = Client::for_endpoint(&by_name(&ours));
    client.set("ca_file", bundle.to_str().unwrap());
    assert!(
        take_my_logs().is_empty(),
        "nothing logged while configuring"
    );
    assert_status(&client.send(&Call::sample()), LCM_OK, &[]);
    let warnings: Vec<String> = take_my_logs()
        .into_iter()
        .filter(|l| l.level == LCM_LOG_WARN)
        .map(|l| l.message)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    for words in [
        "ca_file '",
        "1 of its 2 certificates are not trusted because they are not valid now, e.g. \
         certificate \"CN=lcm expired CA in a bundle\" expired on 2001-01-01 00:00:00 UTC",
    ] {
        assert!(warnings[0].contains(words), "{}", warnings[0]);
    }
    // Left out, so the server it signed is not trusted; the warning is not repeated.
    client.set("endpoint", &by_name(&theirs));
    assert_not_verified(&client, &["UnknownIssuer"]);
    assert!(
        !take_my_logs()
            .iter()
            .any(|l| l.message.contains("not valid now")),
        "warned once"
    );
    assert_eq!(theirs.request_count(), 0);
}

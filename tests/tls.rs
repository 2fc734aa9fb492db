//! HTTPS against lcm-sim serving certificates from a test CA generated at test time:
//! verification is always on, `ca_file` is how a private CA is trusted, and every
//! verification failure is `LCM_ERR_CONNECT` (nothing was sent) naming the cause.

mod common;

use std::path::PathBuf;

use common::*;
use lcm_outcome::ffi::*;
use lcm_sim::{TestCa, TlsIdentity};

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
    // An empty ca_file restores the built-in roots: still verified.
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

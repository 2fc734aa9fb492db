//! `tls_roots=system`, the default: HTTPS trusts the operating system's store, where
//! an enterprise installs its CA. On Linux that store is the distribution's bundle,
//! which `SSL_CERT_FILE` and `SSL_CERT_DIR` replace (as for OpenSSL): this test puts a
//! test CA into a private bundle and points the store at it. One test in this file on
//! purpose: the environment is per process.

mod common;

use common::*;
use lcm_outcome::ffi::*;
use lcm_sim::{Sim, SimConfig, TestCa};

#[test]
fn tls_roots_system_trusts_the_store_that_ssl_cert_file_names() {
    let work = WorkDir::new("tls-system-store");
    let (ours, other) = (TestCa::new().unwrap(), TestCa::new().unwrap());
    let sim = Sim::start(SimConfig {
        tls: Some(ours.issue_for_loopback().unwrap()),
        ..SimConfig::default()
    })
    .unwrap();
    let endpoint = format!("https://localhost:{}/lcm", sim.addr().port());
    // A bundle as distributions ship one, with our CA among others.
    let bundle = work.path().join("bundle.pem");
    std::fs::write(&bundle, format!("{}{}", other.cert_pem(), ours.cert_pem())).unwrap();
    std::env::remove_var("SSL_CERT_DIR");
    std::env::set_var("SSL_CERT_FILE", &bundle);

    // The default trusts it, without ca_file; so does tls_roots=system said aloud.
    // (The first client of this process reads the store.)
    let trusting = Client::for_endpoint(&endpoint);
    assert_status(&trusting.send(&Call::sample()), LCM_OK, &[]);
    let explicit = Client::for_endpoint(&endpoint);
    explicit.set("tls_roots", "system");
    assert_status(&explicit.send(&Call::sample()), LCM_OK, &[]);
    // The built-in roots are not the system's.
    let webpki = Client::for_endpoint(&endpoint);
    webpki.set("tls_roots", "webpki");
    webpki.set("retries", "0");
    assert_status(
        &webpki.send(&Call::sample()),
        LCM_ERR_CONNECT,
        &["UnknownIssuer"],
    );

    // The store is read once per process, not per client or call: a client made now
    // takes the reading above, whatever the environment says meanwhile...
    let missing = work.path().join("missing.pem");
    std::env::set_var("SSL_CERT_FILE", &missing);
    let later = Client::for_endpoint(&endpoint);
    assert_status(&later.send(&Call::sample()), LCM_OK, &[]);
    // ...until tls_roots is set, which reads it again. A store that cannot be read
    // is an error naming where it was looked for, not a silent fallback to other
    // roots, and nothing is sent.
    later.set("tls_roots", "system");
    assert_status(
        &later.send(&Call::sample()),
        LCM_ERR_CONFIG,
        &[
            "tls_roots 'system': could not load any CA certificate",
            "missing.pem",
            "SSL_CERT_FILE='",
            "set tls_roots to 'webpki', or to 'none' with ca_file",
        ],
    );
    let empty = work.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    std::env::set_var("SSL_CERT_FILE", &empty);
    later.set("tls_roots", "");
    assert_status(
        &later.send(&Call::sample()),
        LCM_ERR_CONFIG,
        &["tls_roots 'system': found no CA certificate in SSL_CERT_FILE='"],
    );
    assert_eq!(sim.request_count(), 3, "nothing sent without a store");
    // A failed reading stays with the client that made it; the others keep the
    // process's last good one, also across changes of other transport options.
    trusting.set("proxy", "none");
    assert_status(&trusting.send(&Call::sample()), LCM_OK, &[]);
    // Plain HTTP needs no store.
    let http = common::sim();
    let plain = Client::for_endpoint(&http.url());
    plain.set("tls_roots", "system");
    assert_status(&plain.send(&Call::sample()), LCM_OK, &[]);
    // ca_file with tls_roots=none does without the system store.
    let ca = work.path().join("ca.pem");
    ours.write_cert_pem(&ca).unwrap();
    later.set("tls_roots", "none");
    later.set("ca_file", ca.to_str().unwrap());
    assert_status(&later.send(&Call::sample()), LCM_OK, &[]);

    // SSL_CERT_DIR names a directory of PEM files, as OpenSSL's c_rehash keeps.
    let dir = work.path().join("certs");
    std::fs::create_dir(&dir).unwrap();
    ours.write_cert_pem(&dir.join("ours.pem")).unwrap();
    std::env::remove_var("SSL_CERT_FILE");
    std::env::set_var("SSL_CERT_DIR", &dir);
    let from_dir = Client::for_endpoint(&endpoint);
    from_dir.set("tls_roots", "system");
    assert_status(&from_dir.send(&Call::sample()), LCM_OK, &[]);
}

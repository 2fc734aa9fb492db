//! `NO_PROXY` against real squid: each form curl honours (a list with blanks after
//! the commas, an IP address, a CIDR range, a domain suffix with or without its dot,
//! `*`) sends the call straight to lcm-sim, never to the squid that `HTTP_PROXY` and
//! `HTTPS_PROXY` name; an entry that does not match leaves the call to squid.
//!
//! The proxy variables are process-wide, so each case runs in a child process (this
//! test binary again, running only the ignored child test below) with an
//! environment of its own. Host names (`lcm.example`) get a loopback address from a
//! hosts file that the child sees in a mount namespace of its own.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::common::squid::{squid_or_skip, Squid};
use crate::common::*;
use lcm_outcome::ffi::*;
use lcm_sim::TestCa;

const CHILD_TEST: &str = "no_proxy::child_sends_one_outcome_with_the_proxy_of_its_environment";
const CHILD_ENDPOINT: &str = "LCM_PEERS_CHILD_ENDPOINT";
const CHILD_CA_FILE: &str = "LCM_PEERS_CHILD_CA_FILE";
const RESULT: &str = "child-result: ";
const HOSTS: &str = "127.0.0.1 localhost\n127.0.0.1 lcm.example\n";

/// Variables that could put a proxy (or no proxy) between the child and lcm-sim.
const PROXY_VARIABLES: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// The child: one call with a client that takes its proxy from the environment.
#[test]
#[ignore = "a child process of the NO_PROXY tests, which give it its environment"]
fn child_sends_one_outcome_with_the_proxy_of_its_environment() {
    let Ok(endpoint) = std::env::var(CHILD_ENDPOINT) else {
        // Run by hand (--include-ignored): nothing to send. The parent tests fail
        // when their child prints no result, so this cannot hide a failure.
        eprintln!("{CHILD_ENDPOINT} is not set: this runs only as the NO_PROXY tests' child");
        return;
    };
    let client = Client::new();
    client.set("endpoint", &endpoint);
    if let Ok(ca_file) = std::env::var(CHILD_CA_FILE) {
        client.set("ca_file", &ca_file);
    }
    client.set("retries", "0");
    let (status, message) = client.send(&Call::sample());
    println!("{RESULT}{} {message}", name(status));
}

/// Where lcm-sim is reached, and how.
#[derive(Clone, Copy)]
enum Target {
    /// `http://127.0.0.1:PORT/lcm`
    HttpIp,
    /// `https://127.0.0.1:PORT/lcm`: squid's stock rules refuse to tunnel there.
    HttpsIp,
    /// `http://lcm.example:PORT/lcm`, a name only the child's hosts file knows.
    HttpName,
}

/// Whether this machine lets a child see its own /etc/hosts (a mount namespace).
fn private_hosts_or_skip() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    let works = *WORKS.get_or_init(|| succeeds(Command::new("unshare").args(["--mount", "true"])));
    present_or_skip(
        works,
        "a mount namespace (unshare --mount) for a hosts file that names lcm.example",
        "run the tests as root, with CAP_SYS_ADMIN",
    )
}

/// The child's command: the test binary, running only the child test, in a mount
/// namespace where `hosts` is /etc/hosts when given (unshare makes the namespace's
/// mounts private, so the machine's /etc/hosts is never touched).
fn child_command(hosts: Option<&Path>) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut command = match hosts {
        Some(hosts) => {
            let mut c = Command::new("unshare");
            c.args(["--mount", "--", "sh", "-c"])
                .arg(r#"mount --bind "$0" /etc/hosts && exec "$@""#)
                .arg(hosts)
                .arg(exe);
            c
        }
        None => Command::new(exe),
    };
    command.args([
        "--exact",
        CHILD_TEST,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LCM_") {
            command.env_remove(name);
        }
    }
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    command
}

/// Runs the child against `endpoint` with squid as `HTTP_PROXY`/`HTTPS_PROXY` and
/// `no_proxy` as `NO_PROXY`: the status name and message of its call.
fn run_child(endpoint: &str, no_proxy: &str, squid: &Squid, work: &WorkDir) -> (String, String) {
    let hosts = work.path().join("hosts");
    let named = endpoint.contains("lcm.example");
    let mut command = child_command(named.then_some(hosts.as_path()));
    command
        .env("HTTP_PROXY", squid.url(None))
        .env("HTTPS_PROXY", squid.url(None))
        .env("NO_PROXY", no_proxy)
        .env(CHILD_ENDPOINT, endpoint)
        .env(CHILD_CA_FILE, work.path().join("ca.pem"));
    let output = run_within(&mut command, Duration::from_secs(60))
        .unwrap_or_else(|o| panic!("the child ran over: {}", String::from_utf8_lossy(&o.stderr)));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        // The harness's "test ... " precedes it on the same line.
        .find_map(|l| l.split_once(RESULT).map(|(_, result)| result))
        .unwrap_or_else(|| {
            panic!(
                "the child printed no result ({}):\n{stdout}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let (status, message) = line.split_once(' ').unwrap_or((line, ""));
    (status.to_string(), message.to_string())
}

/// What happened to one call from a child with `NO_PROXY=no_proxy`.
struct Outcome {
    status: String,
    message: String,
    /// lcm-sim's requests, each with its `Via` header (squid adds one), if any.
    via: Vec<Option<String>>,
    /// squid's log lines for lcm-sim.
    squid_lines: Vec<String>,
}

fn call_from_child(tag: &str, target: Target, no_proxy: &str) -> Option<Outcome> {
    if !squid_or_skip() || matches!(target, Target::HttpName) && !private_hosts_or_skip() {
        return None;
    }
    let work = WorkDir::new(&format!("no-proxy-{tag}"));
    std::fs::write(work.path().join("hosts"), HOSTS).unwrap();
    let ca = TestCa::new().unwrap();
    ca.write_cert_pem(&work.path().join("ca.pem")).unwrap();
    let tls = matches!(target, Target::HttpsIp).then(|| ca.issue_for_loopback().unwrap());
    let sim = Sim::start(SimConfig {
        tls,
        ..SimConfig::default()
    })
    .unwrap();
    let squid = Squid::start(&format!("no-proxy-{tag}"), None, HOSTS);
    let port = sim.addr().port();
    let endpoint = match target {
        Target::HttpIp => format!("http://127.0.0.1:{port}/lcm"),
        Target::HttpsIp => format!("https://127.0.0.1:{port}/lcm"),
        Target::HttpName => format!("http://lcm.example:{port}/lcm"),
    };
    let (status, message) = run_child(&endpoint, no_proxy, &squid, &work);
    let via = sim
        .requests()
        .iter()
        .map(|r| r.header("via").map(str::to_string))
        .collect();
    // A URL (`http://127.0.0.1:PORT/lcm`) or a CONNECT authority (`127.0.0.1:PORT `).
    let (url, authority) = (format!(":{port}/"), format!(":{port} "));
    let squid_lines = squid
        .access_log()
        .into_iter()
        .filter(|l| l.contains(&url) || l.contains(&authority))
        .collect();
    Some(Outcome {
        status,
        message,
        via,
        squid_lines,
    })
}

/// Asserts that, with `NO_PROXY=no_proxy`, the call to `target` went straight to
/// lcm-sim: recorded, squid never asked.
#[track_caller]
fn assert_bypassed(tag: &str, target: Target, no_proxy: &str) {
    let Some(outcome) = call_from_child(tag, target, no_proxy) else {
        return;
    };
    let seen = format!(
        "NO_PROXY={no_proxy:?}: {} {}\nlcm-sim's requests' Via: {:?}\nsquid's log of them: {:#?}",
        outcome.status, outcome.message, outcome.via, outcome.squid_lines
    );
    assert_eq!(outcome.status, name(LCM_OK), "{seen}");
    assert_eq!(
        outcome.via,
        vec![None],
        "one request, not through squid: {seen}"
    );
    assert!(outcome.squid_lines.is_empty(), "squid was asked: {seen}");
}

#[test]
fn no_proxy_entries_after_a_comma_and_a_blank_count() {
    assert_bypassed("list", Target::HttpIp, "a, 127.0.0.1");
}

#[test]
fn no_proxy_cidr_range_covers_the_endpoint_address() {
    assert_bypassed("cidr", Target::HttpIp, "127.0.0.0/8");
}

#[test]
fn no_proxy_cidr_range_after_a_blank_covers_an_https_endpoint() {
    assert_bypassed("cidr-https", Target::HttpsIp, "lcm.invalid, 127.0.0.0/8");
}

#[test]
fn no_proxy_star_bypasses_the_proxy_for_every_host() {
    assert_bypassed("star", Target::HttpIp, "*");
}

#[test]
fn no_proxy_domain_suffix_with_a_leading_dot_covers_its_subdomains() {
    assert_bypassed("dot-suffix", Target::HttpName, ".example");
}

#[test]
fn no_proxy_domain_suffix_without_a_dot_covers_its_subdomains() {
    assert_bypassed("suffix", Target::HttpName, "example");
}

/// The control: entries that match neither the name nor the address leave the call
/// to squid, so the cases above show NO_PROXY at work, not a proxy never in use.
#[test]
fn no_proxy_entries_that_do_not_match_leave_the_call_to_the_proxy() {
    let Some(outcome) = call_from_child("control", Target::HttpIp, "lcm.invalid, 10.0.0.0/8")
    else {
        return;
    };
    let seen = format!(
        "{} {}\nlcm-sim's requests' Via: {:?}\nsquid's log of them: {:#?}",
        outcome.status, outcome.message, outcome.via, outcome.squid_lines
    );
    assert_eq!(outcome.status, name(LCM_OK), "{seen}");
    assert_eq!(outcome.via.len(), 1, "{seen}");
    assert!(
        outcome.via[0]
            .as_deref()
            .is_some_and(|v| v.contains("squid")),
        "{seen}"
    );
    assert_eq!(outcome.squid_lines.len(), 1, "{seen}");
}

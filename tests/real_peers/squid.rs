//! Real squid between the library and lcm-sim: Debian's stock rules (CONNECT only to
//! port 443, other requests to the usual ports), and the same with Basic auth.
//! `http://` endpoints must reach LCM through squid as absolute-form requests,
//! `https://` ones through a CONNECT tunnel; a refusal by squid is `LCM_ERR_CONNECT`
//! at once, naming squid's status line, and a password never shows.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::common::squid::{
    percent_encode, squid_or_skip, squid_with_auth_or_skip, Account, Squid,
};
use crate::common::*;
use lcm_outcome::ffi::*;
use lcm_sim::TestCa;

const ACCOUNT: Account = Account {
    user: "dialer",
    password: "Pr0xy/s3cret@lcm",
};
const WRONG: Account = Account {
    user: "dialer",
    password: "Wr0ng/s3cret@lcm",
};

/// lcm-sim serving HTTPS with a certificate from `ca` on port 443 (the one port
/// squid's stock rules let CONNECT reach) of a loopback address of this process's
/// own, so that parallel tests and other processes do not collide. `None`, with the
/// reason printed (a failure under CI), when port 443 cannot be bound.
fn https_sim_on_port_443(ca: &TestCa) -> Option<Sim> {
    static NEXT: AtomicU8 = AtomicU8::new(1);
    let pid = std::process::id();
    for _ in 0..20 {
        let ip = Ipv4Addr::new(127, 100 + (pid % 100) as u8, (pid / 100 % 250) as u8, {
            NEXT.fetch_add(1, Ordering::Relaxed)
        });
        let config = SimConfig {
            tls: Some(ca.issue(&[&ip.to_string()]).unwrap()),
            ..SimConfig::default()
        };
        match Sim::bind(&format!("{ip}:443"), config) {
            Ok(sim) => return Some(sim),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => {
                present_or_skip(
                    false,
                    &format!("cannot listen on {ip}:443 ({e})"),
                    "run the tests as root (or with CAP_NET_BIND_SERVICE)",
                );
                return None;
            }
        }
    }
    panic!("no free loopback address for port 443");
}

/// A test CA written to a PEM file for `ca_file`.
struct Ca {
    ca: TestCa,
    dir: WorkDir,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let ca = TestCa::new().unwrap();
        let dir = WorkDir::new(&format!("squid-ca-{name}"));
        ca.write_cert_pem(&dir.path().join("ca.pem")).unwrap();
        Ca { ca, dir }
    }

    fn file(&self) -> String {
        self.dir.path().join("ca.pem").to_str().unwrap().to_string()
    }
}

/// A client for `endpoint` through `proxy`, trusting `ca`, logging everything.
fn proxied_client(endpoint: &str, proxy: &str, ca: &Ca) -> Client {
    let client = Client::for_endpoint(endpoint);
    client.set("proxy", proxy);
    client.set("ca_file", &ca.file());
    client.set("log_level", "trace");
    client
}

/// The lines of squid's log for requests to `sim` (URL or CONNECT authority).
fn lines_for(squid: &Squid, sim: &Sim) -> Vec<String> {
    let authority = sim.addr().to_string();
    squid
        .access_log()
        .into_iter()
        .filter(|l| l.contains(&authority))
        .collect()
}

#[test]
fn an_http_endpoint_goes_through_stock_squid_as_an_absolute_form_request() {
    if !squid_or_skip() {
        return;
    }
    let squid = Squid::start("http", None, "");
    let sim = sim();
    let ca = Ca::new("http");
    let client = proxied_client(&sim.url(), &squid.url(None), &ca);
    assert_status(&client.send(&Call::sample()), LCM_OK, &[]);
    assert_eq!(sim.accepted_count(), 1);
    let via = sim.requests()[0].header("via").map(str::to_string);
    assert!(
        via.as_deref().is_some_and(|v| v.contains("squid")),
        "the request did not come through squid (Via: {via:?})"
    );
    let lines = lines_for(&squid, &sim);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains(&format!("POST {}", sim.url())),
        "{lines:#?}"
    );
}

#[test]
fn an_https_endpoint_goes_through_stock_squid_in_a_connect_tunnel() {
    if !squid_or_skip() {
        return;
    }
    let ca = Ca::new("https");
    let Some(sim) = https_sim_on_port_443(&ca.ca) else {
        return;
    };
    let squid = Squid::start("https", None, "");
    let client = proxied_client(&sim.url(), &squid.url(None), &ca);
    assert_status(&client.send(&Call::sample()), LCM_OK, &[]);
    assert_eq!(sim.accepted_count(), 1);
    // squid logs a tunnel when it closes: when the client lets go of its connection.
    drop(client);
    let tunnel = format!("CONNECT {}", sim.addr());
    let lines = squid.wait_for_lines(&tunnel);
    assert!(
        lines.iter().all(|l| l.contains("TCP_TUNNEL/200 ")),
        "{lines:#?}"
    );
}

/// Asserts that `result` is squid's refusal, reported at once: `LCM_ERR_CONNECT`
/// naming squid's status line, squid asked once, nothing recorded.
#[track_caller]
fn assert_refused_once(result: &(lcm_status, String), status_line: &str, squid: &Squid, sim: &Sim) {
    let lines = lines_for(squid, sim);
    let seen = format!(
        "{}: {}\nsquid's log of it: {lines:#?}",
        name(result.0),
        result.1
    );
    let code = &status_line[..3];
    assert_eq!(lines.len(), 1, "squid was not asked exactly once: {seen}");
    assert!(lines[0].contains(&format!("/{code} ")), "{seen}");
    assert_status(
        result,
        LCM_ERR_CONNECT,
        &[status_line, "the outcome was not sent"],
    );
    assert!(!result.1.contains(&format!("{code}/{code}")), "{seen}");
    assert_eq!(sim.request_count(), 0);
}

#[test]
fn stock_squid_refusing_connect_to_another_port_than_443_is_connect_at_once() {
    if !squid_or_skip() {
        return;
    }
    let ca = Ca::new("refused");
    let sim = Sim::start(SimConfig {
        tls: Some(ca.ca.issue_for_loopback().unwrap()),
        ..SimConfig::default()
    })
    .unwrap();
    let squid = Squid::start("refused", None, "");
    let client = proxied_client(&sim.url(), &squid.url(None), &ca);
    let result = client.send(&Call::sample());
    assert_refused_once(&result, "403 Forbidden", &squid, &sim);
}

/// What one call through squid with Basic auth came to.
struct AuthCase {
    result: (lcm_status, String),
    squid_lines: Vec<String>,
    logs: Vec<LogLine>,
    recorded: usize,
}

/// One call through squid requiring [`ACCOUNT`], with `account`'s credentials, to
/// lcm-sim over HTTPS (`tls`, on port 443) or HTTP. squid's lines are read after the
/// client is dropped, since squid logs a tunnel when it closes.
fn through_squid_with_auth(tag: &str, tls: bool, account: Account) -> Option<AuthCase> {
    if !squid_with_auth_or_skip() {
        return None;
    }
    let ca = Ca::new(tag);
    let sim = if tls {
        https_sim_on_port_443(&ca.ca)?
    } else {
        sim()
    };
    let squid = Squid::start(tag, Some(ACCOUNT), "");
    capture_logs();
    let client = proxied_client(&sim.url(), &squid.url(Some(account)), &ca);
    let result = client.send(&Call::sample());
    drop(client);
    let squid_lines = if result.0 == LCM_OK {
        squid.wait_for_lines(&sim.addr().to_string())
    } else {
        lines_for(&squid, &sim)
    };
    Some(AuthCase {
        result,
        squid_lines,
        logs: take_my_logs(),
        recorded: sim.accepted_count(),
    })
}

#[track_caller]
fn assert_carried(case: AuthCase) {
    assert_status(&case.result, LCM_OK, &[]);
    assert_eq!(case.recorded, 1);
    let user = format!(" {} ", ACCOUNT.user);
    let lines = &case.squid_lines;
    assert!(
        lines.iter().all(|l| l.contains(&user)),
        "not authenticated: {lines:#?}"
    );
    assert_password_never_shown(ACCOUNT, "", &case.logs);
}

#[test]
fn squid_with_basic_auth_carries_an_http_endpoint() {
    if let Some(case) = through_squid_with_auth("auth-http", false, ACCOUNT) {
        assert_carried(case);
    }
}

#[test]
fn squid_with_basic_auth_carries_an_https_endpoint() {
    if let Some(case) = through_squid_with_auth("auth-https", true, ACCOUNT) {
        assert_carried(case);
    }
}

/// A wrong password: squid's 407, at once (squid asked once), the password nowhere.
#[track_caller]
fn assert_wrong_password_refused(case: AuthCase) {
    let (status, text) = &case.result;
    let lines = &case.squid_lines;
    let seen = format!("{}: {text}\nsquid's log of it: {lines:#?}", name(*status));
    assert_eq!(lines.len(), 1, "squid was not asked exactly once: {seen}");
    assert!(lines[0].contains("TCP_DENIED/407 "), "{seen}");
    let words = [
        "407 Proxy Authentication Required",
        "the outcome was not sent",
    ];
    assert_status(&case.result, LCM_ERR_CONNECT, &words);
    assert!(!text.contains("407/407"), "{seen}");
    assert_eq!(case.recorded, 0);
    assert_password_never_shown(WRONG, text, &case.logs);
}

#[test]
fn a_wrong_proxy_password_for_an_http_endpoint_is_connect_at_once_and_never_shown() {
    if let Some(case) = through_squid_with_auth("wrong-http", false, WRONG) {
        assert_wrong_password_refused(case);
    }
}

#[test]
fn a_wrong_proxy_password_for_an_https_endpoint_is_connect_at_once_and_never_shown() {
    if let Some(case) = through_squid_with_auth("wrong-https", true, WRONG) {
        assert_wrong_password_refused(case);
    }
}

/// Asserts that `account`'s password is in neither `text` nor any of `logs`, in any
/// form it travels in: as typed, percent-encoded (the proxy URL) or in the base64
/// of `user:password` (the Proxy-Authorization header).
#[track_caller]
fn assert_password_never_shown(account: Account, text: &str, logs: &[LogLine]) {
    let basic = base64(&format!("{}:{}", account.user, account.password));
    let forms = [
        account.password.to_string(),
        percent_encode(account.password),
        basic,
    ];
    let lines: Vec<&str> = logs.iter().map(|l| l.message.as_str()).collect();
    assert!(!lines.is_empty(), "no log lines were captured at trace");
    for form in &forms {
        assert!(
            !text.contains(form.as_str()),
            "the error text shows {form:?}: {text}"
        );
        for line in &lines {
            assert!(
                !line.contains(form.as_str()),
                "a log line shows {form:?}: {line}"
            );
        }
    }
}

#[test]
fn the_base64_that_the_password_checks_look_for_is_the_standard_one() {
    // RFC 7617's example credential, and each padding length.
    assert_eq!(
        base64("Aladdin:open sesame"),
        "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    );
    assert_eq!(base64("dialer:x"), "ZGlhbGVyOng=");
    assert_eq!(base64("dialer:xyz"), "ZGlhbGVyOnh5eg==");
    assert_eq!(base64("dialer:xy"), "ZGlhbGVyOnh5");
}

/// Standard base64 with padding (RFC 4648), as in a Basic credential.
fn base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

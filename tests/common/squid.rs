//! How does a test put real squid between the library and lcm-sim? One squid process
//! (Debian's package, in the foreground) with Debian's stock access rules, only its
//! port, files and helpers changed, optionally requiring Basic auth from a password
//! file made by `htpasswd`; its access log tells which requests it saw.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::daemon::{
    free_port, installed, lines_before, raw_request, start_with_retries, wait_for_lines, Daemon,
};
use super::{present_or_skip, WorkDir};

pub const SQUID: &str = "/usr/sbin/squid";
pub const NCSA_AUTH: &str = "/usr/lib/squid/basic_ncsa_auth";
pub const HTPASSWD: &str = "/usr/bin/htpasswd";

/// Whether squid is installed; when it is not, the test is skipped (or fails under CI).
#[track_caller]
pub fn squid_or_skip() -> bool {
    present_or_skip(
        installed(SQUID),
        &format!("squid is not installed ({SQUID})"),
        "apt-get install squid",
    )
}

/// Whether squid, its Basic auth helper and `htpasswd` are installed.
#[track_caller]
pub fn squid_with_auth_or_skip() -> bool {
    squid_or_skip()
        && present_or_skip(
            installed(NCSA_AUTH) && installed(HTPASSWD),
            &format!("squid's Basic auth helper ({NCSA_AUTH}) or htpasswd ({HTPASSWD}) is missing"),
            "apt-get install squid apache2-utils",
        )
}

/// A Basic auth account that squid requires of every client.
#[derive(Clone, Copy, Debug)]
pub struct Account<'a> {
    pub user: &'a str,
    pub password: &'a str,
}

/// A running squid, stopped on drop.
pub struct Squid {
    /// Killed (and reaped) when the test drops this.
    daemon: Daemon,
    dir: WorkDir,
    port: u16,
    markers: AtomicUsize,
}

impl Squid {
    /// Starts squid with the stock rules and, with `account`, Basic auth required;
    /// `name` must be the calling test's own. `hosts` lines are squid's host table
    /// (`127.0.0.1 lcm.example`), so that it resolves test host names as the
    /// library's process does, without asking a DNS server.
    pub fn start(name: &str, account: Option<Account>, hosts: &str) -> Squid {
        let dir = WorkDir::new(&format!("squid-{name}"));
        std::fs::write(dir.path().join("hosts"), hosts).unwrap();
        if let Some(account) = account {
            write_password_file(&dir.path().join("passwd"), account);
        }
        give_to_squid_user(dir.path());
        // squid names its shared memory segments after the service name: one per
        // instance, so that squids running at once (and leftovers) never clash.
        static INSTANCES: AtomicUsize = AtomicUsize::new(0);
        let instance = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let service = format!("lcmtest{}x{instance}", std::process::id());
        let (daemon, port) = start_with_retries(|| {
            let port = free_port();
            let conf = dir.path().join("squid.conf");
            std::fs::write(&conf, render(dir.path(), port, account.is_some())).unwrap();
            let mut command = Command::new(SQUID);
            command.args(["-N", "-n", &service, "-f"]).arg(&conf);
            let output = dir.path().join("squid.out");
            let mut daemon = Daemon::start("squid", &mut command, &[port], &output)?;
            daemon.leave_behind(shared_memory_of(&service));
            Ok((daemon, port))
        });
        Squid {
            daemon,
            dir,
            port,
            markers: AtomicUsize::new(0),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The proxy URL, with `account`'s credentials (percent-encoded) when given.
    pub fn url(&self, account: Option<Account>) -> String {
        match account {
            Some(a) => format!(
                "http://{}:{}@127.0.0.1:{}",
                percent_encode(a.user),
                percent_encode(a.password),
                self.port
            ),
            None => format!("http://127.0.0.1:{}", self.port),
        }
    }

    /// The access log's lines so far (squid's native format: time, elapsed, client,
    /// `RESULT/STATUS`, bytes, method, URL, user, ...), once a marker request sent
    /// now has been logged after them.
    pub fn access_log(&self) -> Vec<String> {
        let marker = format!("/marker-{}", self.markers.fetch_add(1, Ordering::Relaxed));
        let target = format!("http://127.0.0.1:{}{marker}", free_port());
        let request =
            format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        raw_request(self.port, &request);
        lines_before(&self.dir.path().join("access.log"), &marker)
    }

    /// The access log's lines containing `needle`, once there is at least one.
    pub fn wait_for_lines(&self, needle: &str) -> Vec<String> {
        wait_for_lines(&self.dir.path().join("access.log"), needle)
    }
}

/// squid.conf: Debian's stock rules (/etc/squid/squid.conf of the squid package, in
/// order), Basic auth where Debian includes local rules, and everything squid
/// writes kept inside `dir`.
fn render(dir: &Path, port: u16, auth: bool) -> String {
    let dir = dir.display();
    let local = if auth {
        format!(
            "auth_param basic program {NCSA_AUTH} {dir}/passwd\n\
             auth_param basic realm lcm-outcome tests\n\
             acl authenticated proxy_auth REQUIRED\n\
             http_access deny !authenticated\n"
        )
    } else {
        String::new()
    };
    format!(
        r#"# Written by the tests. Debian's stock rules:
acl localnet src 0.0.0.1-0.255.255.255
acl localnet src 10.0.0.0/8
acl localnet src 100.64.0.0/10
acl localnet src 169.254.0.0/16
acl localnet src 172.16.0.0/12
acl localnet src 192.168.0.0/16
acl localnet src fc00::/7
acl localnet src fe80::/10
acl SSL_ports port 443
acl Safe_ports port 80
acl Safe_ports port 21
acl Safe_ports port 443
acl Safe_ports port 70
acl Safe_ports port 210
acl Safe_ports port 1025-65535
acl Safe_ports port 280
acl Safe_ports port 488
acl Safe_ports port 591
acl Safe_ports port 777
http_access deny !Safe_ports
http_access deny CONNECT !SSL_ports
http_access allow localhost manager
http_access deny manager
# Where Debian includes /etc/squid/conf.d/*.conf:
{local}http_access allow localhost
http_access deny all
refresh_pattern ^ftp: 1440 20% 10080
refresh_pattern ^gopher: 1440 0% 1440
refresh_pattern -i (/cgi-bin/|\?) 0 0% 0
refresh_pattern . 0 20% 4320
# The test's own port and files, and no network beyond loopback:
http_port 127.0.0.1:{port}
coredump_dir {dir}
pid_filename {dir}/squid.pid
cache_log {dir}/cache.log
access_log stdio:{dir}/access.log squid
cache_store_log none
netdb_filename none
logfile_rotate 0
pinger_enable off
hosts_file {dir}/hosts
dns_nameservers 127.0.0.1
shutdown_lifetime 0 seconds
"#
    )
}

/// Writes an htpasswd file for `account`, the password given on stdin, not argv.
fn write_password_file(path: &Path, account: Account) {
    use std::io::Write;
    let mut child = Command::new(HTPASSWD)
        .args(["-c", "-i"])
        .arg(path)
        .arg(account.user)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run htpasswd");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(account.password.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "htpasswd failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// squid started as root runs as its `cache_effective_user` (Debian: `proxy`), which
/// must be able to write its logs and read the password file.
fn give_to_squid_user(dir: &Path) {
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let status = Command::new("chown")
        .args(["-R", "proxy"])
        .arg(dir)
        .status()
        .expect("run chown");
    assert!(status.success(), "chown -R proxy {} failed", dir.display());
}

/// squid's shared memory segments for `service` (it leaves them behind when killed).
fn shared_memory_of(service: &str) -> Vec<PathBuf> {
    ["metadata", "queues", "readers"]
        .iter()
        .map(|part| PathBuf::from(format!("/dev/shm/{service}-cf__{part}.shm")))
        .collect()
}

/// `text` with every byte outside the URL's unreserved set percent-encoded, as a
/// user or password in a proxy URL must be.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

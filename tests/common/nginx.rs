//! How does a test put real nginx in front of lcm-sim? One nginx process (Debian's
//! package, no master process, running as whoever runs the tests) with its
//! configuration, logs and temporary files in a directory of its own, serving HTTP
//! and HTTPS (a certificate from a test CA) on free loopback ports, with short
//! keep-alive limits, and locations that make nginx itself answer 413, 502 and 504.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use lcm_sim::TestCa;

use super::daemon::{free_port, installed, lines_before, raw_request, start_with_retries, Daemon};
use super::{present_or_skip, Client, WorkDir};

pub const NGINX: &str = "/usr/sbin/nginx";

/// Whether nginx is installed; when it is not, the test is skipped (or fails under CI).
#[track_caller]
pub fn nginx_or_skip() -> bool {
    present_or_skip(
        installed(NGINX),
        &format!("nginx is not installed ({NGINX})"),
        "apt-get install nginx",
    )
}

/// What the nginx in front of lcm-sim is told.
#[derive(Clone, Debug)]
pub struct NginxConfig {
    /// The lcm-sim behind `/lcm` (and `/small`).
    pub upstream: SocketAddr,
    /// `keepalive_timeout`: how long nginx keeps an idle client connection open.
    pub keepalive_timeout_ms: u64,
    /// `keepalive_requests`: how many requests one client connection carries.
    pub keepalive_requests: u32,
}

/// Locations besides `/lcm` (the sim): each makes nginx answer an error itself.
pub mod paths {
    /// Bodies over 64 bytes are refused: 413.
    pub const SMALL: &str = "/small";
    /// Proxied to a port nothing listens on: 502.
    pub const DEAD: &str = "/dead";
    /// Proxied to a listener that never answers, read timeout 300 ms: 504.
    pub const SILENT: &str = "/silent";
}

/// A running nginx, stopped on drop.
pub struct Nginx {
    /// Killed (and reaped) when the test drops this.
    daemon: Daemon,
    dir: WorkDir,
    http_port: u16,
    https_port: u16,
    /// Accepts connections (the kernel does) but never reads or answers: `/silent`.
    _silent: TcpListener,
    markers: AtomicUsize,
}

impl Nginx {
    /// Starts nginx for `config`; `name` must be the calling test's own.
    pub fn start(name: &str, config: &NginxConfig) -> Nginx {
        let dir = WorkDir::new(&format!("nginx-{name}"));
        let ca = TestCa::new().unwrap();
        ca.write_cert_pem(&dir.path().join("ca.pem")).unwrap();
        ca.issue_for_loopback()
            .unwrap()
            .write_pem_files(dir.path())
            .unwrap();
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        let silent_addr = silent.local_addr().unwrap();
        let (daemon, http_port, https_port) = start_with_retries(|| {
            let (http_port, https_port) = (free_port(), free_port());
            let ports = Ports {
                http: http_port,
                https: https_port,
                dead: free_port(),
                silent: silent_addr,
            };
            let conf = dir.path().join("nginx.conf");
            std::fs::write(&conf, render(dir.path(), config, &ports)).unwrap();
            let mut command = Command::new(NGINX);
            command
                .arg("-p")
                .arg(dir.path())
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .arg("-c")
                .arg(&conf);
            let output = dir.path().join("nginx.out");
            Daemon::start("nginx", &mut command, &[http_port, https_port], &output)
                .map(|d| (d, http_port, https_port))
        });
        Nginx {
            daemon,
            dir,
            http_port,
            https_port,
            _silent: silent,
            markers: AtomicUsize::new(0),
        }
    }

    /// `http://127.0.0.1:PORT<path>` or, with `tls`, the `https://` twin.
    pub fn url(&self, tls: bool, path: &str) -> String {
        if tls {
            format!("https://127.0.0.1:{}{path}", self.https_port)
        } else {
            format!("http://127.0.0.1:{}{path}", self.http_port)
        }
    }

    /// The test CA's certificate, for a client's `ca_file`.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A client sending to `path` on this nginx, directly (no proxy), trusting the
    /// test CA for HTTPS.
    pub fn client(&self, tls: bool, path: &str) -> Client {
        let client = Client::for_endpoint(&self.url(tls, path));
        client.set("ca_file", self.ca_file().to_str().unwrap());
        client
    }

    /// The access log's lines so far (`METHOD URI STATUS conn=N req=M`, one per
    /// request nginx finished), once a marker request sent now has been logged after
    /// them.
    pub fn access_log(&self) -> Vec<String> {
        let marker = format!("/marker-{}", self.markers.fetch_add(1, Ordering::Relaxed));
        let request =
            format!("GET {marker} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        raw_request(self.http_port, &request);
        lines_before(&self.dir.path().join("access.log"), &marker)
    }
}

struct Ports {
    http: u16,
    https: u16,
    dead: u16,
    silent: SocketAddr,
}

/// nginx.conf for `config`, every path inside `dir`.
fn render(dir: &Path, config: &NginxConfig, ports: &Ports) -> String {
    let dir = dir.display();
    let upstream = config.upstream;
    let proxy = "proxy_http_version 1.1; proxy_set_header Connection \"\";";
    format!(
        r#"# Written by the tests: one process, in the foreground, everything under {dir}.
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 512; }}
http {{
    log_format peers '$request_method $request_uri $status conn=$connection req=$connection_requests';
    access_log {dir}/access.log peers;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_timeout {timeout}ms;
    keepalive_requests {requests};
    server {{
        listen 127.0.0.1:{http};
        listen 127.0.0.1:{https} ssl;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        location = /lcm {{ {proxy} proxy_pass http://{upstream}/lcm; }}
        location = {small} {{ client_max_body_size 64; {proxy} proxy_pass http://{upstream}/lcm; }}
        location = {dead} {{ {proxy} proxy_pass http://127.0.0.1:{dead_port}/lcm; }}
        location = {silent} {{ proxy_read_timeout 300ms; {proxy} proxy_pass http://{silent_addr}/lcm; }}
        location / {{ return 404; }}
    }}
}}
"#,
        timeout = config.keepalive_timeout_ms,
        requests = config.keepalive_requests,
        http = ports.http,
        https = ports.https,
        small = paths::SMALL,
        dead = paths::DEAD,
        dead_port = ports.dead,
        silent = paths::SILENT,
        silent_addr = ports.silent,
    )
}

//! How does a test run a real server (nginx, squid) as a child process? It is given
//! free loopback ports, waited for until it accepts connections on all of them, and
//! killed and reaped when the test is done with it, however the test ended.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to start listening: both start in milliseconds on an
/// idle machine, so this is only reached when something is wrong (or very slow).
pub const START_DEADLINE: Duration = Duration::from_secs(30);

/// How long a log line may take to appear after the request it records was answered.
pub const LOG_DEADLINE: Duration = Duration::from_secs(10);

/// A loopback port nothing listens on right now: bound and released. Another
/// process may take it before the server binds it, so starting retries with new
/// ports when the server exits at once.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}

/// Whether `program` exists as a file (these servers live in /usr/sbin, which is
/// often not on a test's PATH).
pub fn installed(program: &str) -> bool {
    Path::new(program).is_file()
}

/// A server process, killed and reaped on drop.
pub struct Daemon {
    name: &'static str,
    child: Child,
    /// Where its stdout and stderr go, shown when it fails to start.
    output: PathBuf,
    /// Files it leaves behind when killed (squid's shared memory segments).
    leftovers: Vec<PathBuf>,
}

impl Daemon {
    /// Spawns `command` (output to `output`) and waits until every one of `ports` on
    /// 127.0.0.1 accepts a connection. `Err` with what it printed when it exits
    /// first (e.g. because a port was taken meanwhile) or does not listen in time.
    pub fn start(
        name: &'static str,
        command: &mut Command,
        ports: &[u16],
        output: &Path,
    ) -> Result<Daemon, String> {
        let log = File::create(output).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        let mut daemon = Daemon {
            name,
            child,
            output: output.to_path_buf(),
            leftovers: Vec::new(),
        };
        let deadline = Instant::now() + START_DEADLINE;
        for &port in ports {
            daemon.wait_listening(port, deadline)?;
        }
        Ok(daemon)
    }

    /// Files to remove once the process is gone.
    pub fn leave_behind(&mut self, paths: Vec<PathBuf>) {
        self.leftovers = paths;
    }

    /// What the process printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }

    fn wait_listening(&mut self, port: u16, deadline: Instant) -> Result<(), String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!(
                    "{} exited ({status}) before listening on {addr}:\n{}",
                    self.name,
                    self.output()
                ));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not listen on {addr} within {START_DEADLINE:?}:\n{}",
                    self.name,
                    self.output()
                ));
            }
            // Polling a connect: the servers offer no readiness signal on this path.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for path in &self.leftovers {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Starts a server up to three times, since a port picked free may be taken before
/// the server binds it: each `attempt` picks its own ports and returns the started
/// server or why it did not start.
pub fn start_with_retries<T>(mut attempt: impl FnMut() -> Result<T, String>) -> T {
    let mut why = Vec::new();
    for _ in 0..3 {
        match attempt() {
            Ok(server) => return server,
            Err(e) => why.push(e),
        }
    }
    panic!("could not start the server:\n{}", why.join("\n----\n"));
}

/// The lines of `log` that name `marker`'s predecessors: waits until a line
/// containing `marker` appears (the server writes lines in the order it finishes
/// requests, and the marker request was sent after the ones of interest), then
/// returns the lines before it.
pub fn lines_before(log: &Path, marker: &str) -> Vec<String> {
    let deadline = Instant::now() + LOG_DEADLINE;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        if let Some(at) = lines.iter().position(|l| l.contains(marker)) {
            return lines[..at].to_vec();
        }
        assert!(
            Instant::now() < deadline,
            "{} has no line with {marker:?} after {LOG_DEADLINE:?}:\n{text}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The lines of `log` that contain `needle`, once there is at least one (for a
/// server that logs a request only when its connection closes, like squid a tunnel).
pub fn wait_for_lines(log: &Path, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + LOG_DEADLINE;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<String> = text
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect();
        if !lines.is_empty() {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "{} has no line with {needle:?} after {LOG_DEADLINE:?}:\n{text}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends `request` (a whole HTTP/1.1 request) to 127.0.0.1:`port` on a connection
/// of its own and returns the answer's status line.
pub fn raw_request(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect for a raw request");
    stream.set_read_timeout(Some(LOG_DEADLINE)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&answer);
    text.lines().next().unwrap_or("").to_string()
}

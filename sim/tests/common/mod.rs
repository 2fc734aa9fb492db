//! Helpers shared by lcm-sim's socket-level tests: hand-written HTTP/1.1 over a plain
//! `TcpStream` (or a rustls stream), so the tests check the bytes on the wire, not a
//! client library's view of them.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lcm_sim::{Sim, SimConfig};
use serde_json::{json, Value};

/// Generous: reached only when the simulator fails to answer, and then the test fails
/// instead of hanging.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The vendor's sample request, with `source` and the given call id.
pub fn envelope(callid: &str) -> Value {
    json!({
        "channel": "LCM",
        "topic": "WebService",
        "subtopic": "SetCallOutcomeWithComments",
        "source": "sim-test",
        "data": {
            "callid": callid,
            "AccountNumber": "5|3|1|0|0|44|1",
            "OutcomeId": 1,
            "LeadScore": 0,
            "UserID": "testagent",
            "AgentComments": "Test comment",
            "TargetAmount": 0
        }
    })
}

/// A POST of `body` with `Content-Type: application/json` and `Content-Length`.
pub fn post_bytes(body: &str) -> Vec<u8> {
    format!(
        "POST /lcm HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A POST of the sample envelope with call id `callid`.
pub fn post_outcome_bytes(callid: &str) -> Vec<u8> {
    post_bytes(&envelope(callid).to_string())
}

pub struct Resp {
    /// `HTTP/1.1`, or `HTTP/1.0` in answer to an HTTP/1.0 request (hyper's choice).
    pub version: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Parses a whole response (head and `Content-Length` body) from `raw`.
pub fn parse_response(raw: &[u8]) -> Resp {
    Conn::over(raw).response()
}

/// One client connection over `S` (a `TcpStream` unless a test wraps it in TLS).
pub struct Conn<S: Read = TcpStream> {
    pub reader: BufReader<S>,
}

impl Conn<TcpStream> {
    pub fn open(sim: &Sim) -> Conn {
        Conn::connect(&sim.addr().to_string())
    }

    pub fn connect(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        Conn::over(stream)
    }

    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }
}

impl<S: Read + Write> Conn<S> {
    pub fn send(&mut self, bytes: &[u8]) {
        let stream = self.reader.get_mut();
        stream.write_all(bytes).expect("send");
        stream.flush().expect("flush");
    }

    pub fn post(&mut self, body: &str) -> Resp {
        self.send(&post_bytes(body));
        self.response()
    }

    pub fn post_outcome(&mut self, callid: &str) -> Resp {
        self.post(&envelope(callid).to_string())
    }
}

impl<S: Read> Conn<S> {
    pub fn over(stream: S) -> Conn<S> {
        Conn {
            reader: BufReader::new(stream),
        }
    }

    pub fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .expect("read a response line");
        assert!(n > 0, "connection closed instead of answering");
        line.trim_end_matches(['\r', '\n']).to_owned()
    }

    /// Reads one response, which must carry Content-Length (never chunked).
    pub fn response(&mut self) -> Resp {
        let status_line = self.line();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap().to_owned();
        assert!(
            version == "HTTP/1.1" || version == "HTTP/1.0",
            "{status_line}"
        );
        let status = parts.next().unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let line = self.line();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("header line");
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        let mut resp = Resp {
            version,
            status,
            headers,
            body: Vec::new(),
        };
        assert_eq!(resp.header("transfer-encoding"), None);
        let length: usize = resp
            .header("content-length")
            .expect("Content-Length")
            .parse()
            .unwrap();
        resp.body = vec![0; length];
        self.reader.read_exact(&mut resp.body).expect("body");
        resp
    }

    /// Asserts that the server closes the connection with nothing more to read.
    pub fn assert_closed(&mut self) {
        let mut buf = [0u8; 256];
        match self.reader.read(&mut buf) {
            Ok(0) => {}
            Ok(n) => panic!("expected EOF, got {:?}", String::from_utf8_lossy(&buf[..n])),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                ) => {}
            Err(e) => panic!("expected EOF or reset, got {e}"),
        }
    }
}

/// The pieces in which bytes arrived, as separate `read()` results, up to `want` bytes
/// (or EOF), and how long that took.
pub fn read_pieces(stream: &mut impl Read, want: usize) -> (Vec<Vec<u8>>, Duration) {
    let started = Instant::now();
    let mut pieces = Vec::new();
    let mut total = 0;
    let mut buf = vec![0u8; 65536];
    while total < want {
        let n = stream.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        total += n;
        pieces.push(buf[..n].to_vec());
    }
    (pieces, started.elapsed())
}

/// Where the head (status line and headers) of a response ends in `bytes`, just past
/// its blank line.
pub fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

/// A path in the temp directory that no other test (or test run) uses, removed on drop
/// (with everything in it, if it became a directory).
pub struct TempPath(pub PathBuf);

impl TempPath {
    pub fn new(name: &str) -> TempPath {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("lcm-sim-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir_all(&path);
        TempPath(path)
    }

    /// A new, empty directory.
    pub fn dir(name: &str) -> TempPath {
        let path = TempPath::new(name);
        std::fs::create_dir_all(&path.0).expect("create temp dir");
        path
    }

    pub fn lines(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.0).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("each record line is JSON"))
            .collect()
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn start() -> Sim {
    Sim::start(SimConfig::default()).expect("start")
}

pub fn success_body(callid: &str) -> Value {
    json!({"channel":"LCM","topic":"WebService","subtopic":"SetCallOutcomeWithCommentsResult",
           "message":{"callid":callid,"response":{"success":true}}})
}

pub fn ws_error_body(callid: &str, detail: &str) -> Value {
    json!({"channel":"LCM","topic":"WebService","subtopic":"SetCallOutcomeWithCommentsResult",
           "message":{"callid":callid,"response":{"success":false},
                      "error":{"type":"WS_Error","detail":detail,"message":"Invalid Call ID."}}})
}

/// Polls `done` until it holds; panics after [`READ_TIMEOUT`].
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + READ_TIMEOUT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The lcm-sim program, running with `args` (plus `--listen 127.0.0.1:0`); killed on
/// drop.
pub struct SimProcess {
    pub child: Child,
    /// `http://127.0.0.1:PORT/lcm` or `https://…`, from its first line.
    pub url: String,
}

impl SimProcess {
    pub fn spawn(args: &[&std::ffi::OsStr]) -> SimProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lcm-sim"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn lcm-sim");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim_end()
            .strip_prefix("lcm-sim listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        SimProcess { child, url }
    }

    /// `127.0.0.1:PORT`.
    pub fn authority(&self) -> &str {
        self.url
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('/'))
            .map(|(authority, _)| authority)
            .unwrap_or_else(|| panic!("unexpected url {:?}", self.url))
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

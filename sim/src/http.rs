//! The server side of HTTP/1.1, reduced to what a JSON-over-POST test double needs.
//!
//! Why not a library: the simulator must be able to close a connection without sending a
//! single byte, count TCP connections exactly and shut idle keep-alive connections down on
//! stop; tiny_http 0.12 can do none of these (dropping its response writer leaves the
//! socket open, and the client waits for its own timeout). The subset handled here:
//! request line and headers (bounded), `Content-Length` and `chunked` request bodies,
//! `Expect: 100-continue`, keep-alive rules of HTTP/1.0 and 1.1, and responses that always
//! carry `Content-Length`.

use std::io::{self, BufRead};

/// Most bytes accepted for a request line plus headers; beyond it the answer is 431.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most bytes accepted for a request body; beyond it the answer is 413.
/// Far above any real outcome (the client caps each string at 64 KiB).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Most bytes of one chunk-size or trailer line of a chunked body.
const MAX_CHUNK_LINE: usize = 4096;

/// A request line and its headers.
#[derive(Debug)]
pub(crate) struct Head {
    pub method: String,
    pub target: String,
    /// `0` for HTTP/1.0, `1` for HTTP/1.1.
    pub minor_version: u8,
    /// In the order received, names as sent.
    pub headers: Vec<(String, String)>,
}

/// Why a request could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed the connection or the socket failed: nothing to answer.
    Closed,
    /// The request is not acceptable HTTP: answer with this status, then close, because
    /// where the next request would start is unknown.
    Bad(u16, &'static str),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Closed
    }
}

/// How the body of a request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(usize),
    Chunked,
}

impl Head {
    /// The first header of that name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the `Connection` header lists `token` (case-insensitive).
    fn connection_has(&self, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Whether the client wants the connection kept open after this request
    /// (HTTP/1.1: unless `Connection: close`; HTTP/1.0: only with `Connection: keep-alive`).
    pub fn keep_alive(&self) -> bool {
        if self.minor_version == 0 {
            self.connection_has("keep-alive")
        } else {
            !self.connection_has("close")
        }
    }

    /// Whether the client waits for `100 Continue` before sending its body.
    pub fn expects_continue(&self) -> bool {
        self.header("expect")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
    }

    /// How the body is delimited: `Transfer-Encoding: chunked` wins over `Content-Length`
    /// (RFC 9112 §6.3); neither means no body.
    pub fn framing(&self) -> Result<Framing, ReadError> {
        let mut te = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .peekable();
        if te.peek().is_some() {
            // Only "chunked" as the last (here: only) coding can be delimited; anything else
            // (gzip bodies and the like) is a client this double does not support.
            return if te.all(|t| t.eq_ignore_ascii_case("chunked")) {
                Ok(Framing::Chunked)
            } else {
                Err(ReadError::Bad(501, "unsupported Transfer-Encoding"))
            };
        }
        let mut length = None;
        for (_, v) in self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            let v = v.trim();
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ReadError::Bad(400, "invalid Content-Length"));
            }
            let n: usize = v
                .parse()
                .map_err(|_| ReadError::Bad(413, "body too large"))?;
            // Differing duplicates are a request-smuggling pattern; a client that sends
            // them has a bug worth seeing.
            if length.is_some_and(|l| l != n) {
                return Err(ReadError::Bad(400, "conflicting Content-Length headers"));
            }
            length = Some(n);
        }
        Ok(Framing::Length(length.unwrap_or(0)))
    }
}

/// Reads one line ending in LF (a preceding CR is removed), spending at most `budget` bytes.
fn read_line<R: BufRead>(r: &mut R, budget: &mut usize) -> Result<Vec<u8>, ReadError> {
    let mut line = Vec::new();
    loop {
        let buf = match r.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(ReadError::Closed),
        };
        if buf.is_empty() {
            return Err(ReadError::Closed);
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if take > *budget {
            return Err(ReadError::Bad(431, "request head too large"));
        }
        line.extend_from_slice(&buf[..take]);
        *budget -= take;
        r.consume(take);
        if done {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(line);
        }
    }
}

/// Reads a request line and headers. `Closed` when the peer closed the connection
/// between requests, which is the normal end of a keep-alive connection.
pub(crate) fn read_head<R: BufRead>(r: &mut R) -> Result<Head, ReadError> {
    let mut budget = MAX_HEAD_BYTES;
    // RFC 9112 §2.2: a server should ignore empty lines before the request line.
    let mut line = read_line(r, &mut budget)?;
    while line.is_empty() {
        line = read_line(r, &mut budget)?;
    }
    let line = String::from_utf8(line).map_err(|_| ReadError::Bad(400, "bad request line"))?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(400, "bad request line"));
    };
    if method.is_empty()
        || !method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b))
        || target.is_empty()
    {
        return Err(ReadError::Bad(400, "bad request line"));
    }
    let minor_version = match version {
        "HTTP/1.1" => 1,
        "HTTP/1.0" => 0,
        v if v.starts_with("HTTP/") => {
            return Err(ReadError::Bad(
                505,
                "only HTTP/1.0 and HTTP/1.1 are supported",
            ))
        }
        _ => return Err(ReadError::Bad(400, "bad request line")),
    };
    let mut headers = Vec::new();
    loop {
        let line = read_line(r, &mut budget)?;
        if line.is_empty() {
            break;
        }
        // Obsolete line folding is forbidden in requests (RFC 9112 §5.2).
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(ReadError::Bad(400, "obsolete header line folding"));
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(ReadError::Bad(400, "header line without a colon"))?;
        let name = &line[..colon];
        if name.is_empty()
            || name
                .iter()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(ReadError::Bad(400, "bad header name"));
        }
        let name = String::from_utf8_lossy(name).into_owned();
        let value = String::from_utf8_lossy(&line[colon + 1..])
            .trim_matches([' ', '\t'])
            .to_owned();
        headers.push((name, value));
    }
    Ok(Head {
        method: method.to_owned(),
        target: target.to_owned(),
        minor_version,
        headers,
    })
}

/// Reads a request body delimited as `framing` says.
pub(crate) fn read_body<R: BufRead>(r: &mut R, framing: Framing) -> Result<Vec<u8>, ReadError> {
    match framing {
        Framing::Length(n) => {
            if n > MAX_BODY_BYTES {
                return Err(ReadError::Bad(413, "body too large"));
            }
            let mut body = vec![0; n];
            r.read_exact(&mut body)?;
            Ok(body)
        }
        Framing::Chunked => {
            let mut body = Vec::new();
            loop {
                let mut budget = MAX_CHUNK_LINE;
                let line = read_line(r, &mut budget)?;
                let line = String::from_utf8_lossy(&line);
                // Chunk extensions (";name=value") carry nothing we need.
                let size = line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size, 16)
                    .map_err(|_| ReadError::Bad(400, "bad chunk size"))?;
                if size == 0 {
                    // Trailer fields, up to the empty line; their content is ignored.
                    let mut budget = MAX_HEAD_BYTES;
                    while !read_line(r, &mut budget)?.is_empty() {}
                    return Ok(body);
                }
                if size > MAX_BODY_BYTES - body.len() {
                    return Err(ReadError::Bad(413, "body too large"));
                }
                let start = body.len();
                body.resize(start + size, 0);
                r.read_exact(&mut body[start..])?;
                let mut budget = MAX_CHUNK_LINE;
                if !read_line(r, &mut budget)?.is_empty() {
                    return Err(ReadError::Bad(400, "chunk not followed by CRLF"));
                }
            }
        }
    }
}

/// The reason phrase of the statuses this server sends; others get a generic one.
fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

/// The interim answer to `Expect: 100-continue`.
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// A complete response, to be written with one `write_all` so that it leaves in as few
/// TCP segments as possible (the latency benchmarks run against this server).
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: body.into(),
        }
    }

    /// A JSON `{"error": message}` response; the message is JSON-escaped.
    pub fn error(status: u16, message: &str) -> Response {
        let body = serde_json::json!({ "error": message }).to_string();
        Response::json(status, body)
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: String) -> Response {
        self.headers.push((name, value));
        self
    }

    /// The bytes on the wire. `close` adds `Connection: close`; `keep_alive_1_0` adds
    /// `Connection: keep-alive` (an HTTP/1.0 client needs it to keep the connection);
    /// `head` leaves the body out but keeps its `Content-Length`, as HEAD requires.
    pub fn to_bytes(&self, close: bool, keep_alive_1_0: bool, head: bool) -> Vec<u8> {
        use std::fmt::Write as _;
        let mut text = String::with_capacity(160);
        // Writing into a String cannot fail.
        let _ = write!(
            text,
            "HTTP/1.1 {} {}\r\nContent-Length: {}\r\n",
            self.status,
            reason(self.status),
            self.body.len()
        );
        for (name, value) in &self.headers {
            let _ = write!(text, "{name}: {value}\r\n");
        }
        if close {
            text.push_str("Connection: close\r\n");
        } else if keep_alive_1_0 {
            text.push_str("Connection: keep-alive\r\n");
        }
        text.push_str("\r\n");
        let mut bytes = text.into_bytes();
        if !head {
            bytes.extend_from_slice(&self.body);
        }
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Result<Head, ReadError> {
        read_head(&mut raw.as_bytes())
    }

    #[test]
    fn parses_request_line_and_headers() {
        let h = head("\r\nPOST /lcm HTTP/1.1\r\nHost: x\r\nContent-Length:  5 \r\n\r\n").unwrap();
        assert_eq!(
            (h.method.as_str(), h.target.as_str(), h.minor_version),
            ("POST", "/lcm", 1)
        );
        assert_eq!(h.header("content-length"), Some("5"));
        assert_eq!(h.framing().unwrap(), Framing::Length(5));
        assert!(h.keep_alive());
    }

    #[test]
    fn keep_alive_rules() {
        assert!(!head("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n")
            .unwrap()
            .keep_alive());
        assert!(!head("GET / HTTP/1.0\r\n\r\n").unwrap().keep_alive());
        assert!(head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap()
            .keep_alive());
    }

    #[test]
    fn rejects_bad_heads() {
        assert!(matches!(
            head("POST /x\r\n\r\n"),
            Err(ReadError::Bad(400, _))
        ));
        assert!(matches!(
            head("POST /x HTTP/2.0\r\n\r\n"),
            Err(ReadError::Bad(505, _))
        ));
        assert!(matches!(
            head("POST /x HTTP/1.1\r\n folded\r\n\r\n"),
            Err(ReadError::Bad(400, _))
        ));
        assert!(matches!(
            head("POST /x HTTP/1.1\r\nHost"),
            Err(ReadError::Closed)
        ));
        let h = head("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").unwrap();
        assert!(matches!(h.framing(), Err(ReadError::Bad(400, _))));
        let h = head("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n").unwrap();
        assert!(matches!(h.framing(), Err(ReadError::Bad(400, _))));
        let big = format!(
            "POST / HTTP/1.1\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEAD_BYTES)
        );
        assert!(matches!(head(&big), Err(ReadError::Bad(431, _))));
    }

    #[test]
    fn reads_chunked_body() {
        let mut raw: &[u8] = b"4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        assert_eq!(read_body(&mut raw, Framing::Chunked).unwrap(), b"{\"a\":1}");
        assert_eq!(raw, b"NEXT");
    }

    #[test]
    fn response_bytes() {
        let r = Response::json(200, "{}").with_header("Retry-After", "3".into());
        let text = String::from_utf8(r.to_bytes(true, false, false)).unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\
             Retry-After: 3\r\nConnection: close\r\n\r\n{}"
        );
    }
}

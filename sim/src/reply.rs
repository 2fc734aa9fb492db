//! Building an HTTP answer: its status, headers and body, and the body faults applied to
//! any answer (a byte-order mark, gzip, a chunked encoding with an over-long size line).

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use hyper::body::Bytes;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Response, StatusCode};

use crate::faults::{ChunkPadding, OverlongChunkLine};

/// An answer being built; the body is whole, so body faults can rewrite it. hyper gets it
/// as a `Full` body, which gives it a `Content-Length`.
pub(crate) type Reply = Response<Bytes>;

/// A UTF-8 byte-order mark, as .NET and IIS backends put before JSON.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A response with `content_type`.
pub(crate) fn with_type(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut reply = Response::new(body.into());
    // hyper sends no 1xx as a final answer; such a status is sent as 500.
    *reply.status_mut() = StatusCode::from_u16(status)
        .ok()
        .filter(|s| !s.is_informational())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    reply
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    reply
}

/// A JSON response.
pub(crate) fn json(status: u16, body: impl Into<Bytes>) -> Reply {
    with_type(status, "application/json", body)
}

/// A `text/plain` response (UTF-8).
pub(crate) fn text(status: u16, body: impl Into<Bytes>) -> Reply {
    with_type(status, "text/plain; charset=utf-8", body)
}

/// A JSON `{"error": message}` response; the message is JSON-escaped.
pub(crate) fn error(status: u16, message: &str) -> Reply {
    json(status, serde_json::json!({ "error": message }).to_string())
}

/// Adds header `name` unless `value` cannot be a header value.
pub(crate) fn add_header(reply: &mut Reply, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        reply.headers_mut().insert(name, value);
    }
}

/// The body length an answer has on the wire: none for HEAD and for statuses that
/// cannot carry one, whatever `Content-Length` says.
pub(crate) fn wire_body_len(method: &Method, reply: &Reply) -> usize {
    let status = reply.status();
    if method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return 0;
    }
    reply.body().len()
}

/// Puts a byte-order mark before the body (the `bom` fault).
pub(crate) fn add_bom(reply: &mut Reply) {
    let mut body = Vec::with_capacity(BOM.len() + reply.body().len());
    body.extend_from_slice(BOM);
    body.extend_from_slice(reply.body());
    *reply.body_mut() = body.into();
}

/// Compresses the body with gzip and says so in `Content-Encoding`, although the client
/// asked for no encoding (the `gzip` fault).
pub(crate) fn gzip(reply: &mut Reply) {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let compressed = encoder
        .write_all(reply.body())
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    *reply.body_mut() = compressed.into();
    reply
        .headers_mut()
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
}

/// The whole answer as HTTP/1.1 bytes in the chunked encoding, one chunk whose size line
/// is `line.len` bytes long (the `overlong_chunk_line` fault): headers as in `reply`, but
/// `Transfer-Encoding: chunked` instead of `Content-Length`.
pub(crate) fn chunked_with_overlong_line(reply: &Reply, line: OverlongChunkLine) -> Bytes {
    let status = reply.status();
    let mut wire = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in reply.headers() {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            wire.extend_from_slice(name.as_str().as_bytes());
            wire.extend_from_slice(b": ");
            wire.extend_from_slice(value.as_bytes());
            wire.extend_from_slice(b"\r\n");
        }
    }
    wire.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
    let body = reply.body();
    wire.extend_from_slice(size_line(body.len(), line).as_bytes());
    wire.extend_from_slice(b"\r\n");
    wire.extend_from_slice(body);
    wire.extend_from_slice(b"\r\n0\r\n\r\n");
    wire.into()
}

/// A chunk-size line for `size` bytes, `line.len` bytes long (without its CRLF), or as
/// short as the size allows.
fn size_line(size: usize, line: OverlongChunkLine) -> String {
    let hex = format!("{size:x}");
    match line.padding {
        // Not a format width: those stop at 65535, and a line may be longer.
        ChunkPadding::Zeros => format!("{}{hex}", "0".repeat(line.len.saturating_sub(hex.len()))),
        ChunkPadding::Extension => {
            // `;x=` and then an extension value of `a`s up to the length.
            let fill = line.len.saturating_sub(hex.len() + 3);
            format!("{hex};x={}", "a".repeat(fill))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_lines_have_the_asked_length_and_the_right_size() {
        let zeros = OverlongChunkLine {
            len: 10,
            padding: ChunkPadding::Zeros,
        };
        assert_eq!(size_line(0x1a, zeros), "000000001a");
        let ext = OverlongChunkLine {
            len: 10,
            padding: ChunkPadding::Extension,
        };
        assert_eq!(size_line(0x1a, ext), "1a;x=aaaaa");
        let short = OverlongChunkLine {
            len: 1,
            padding: ChunkPadding::Zeros,
        };
        assert_eq!(size_line(0x1a, short), "1a");
    }

    #[test]
    fn a_chunked_answer_keeps_the_headers_but_the_length() {
        let mut reply = json(200, "{}");
        add_header(&mut reply, header::RETRY_AFTER, "3");
        let line = OverlongChunkLine {
            len: 4,
            padding: ChunkPadding::Zeros,
        };
        let wire = chunked_with_overlong_line(&reply, line);
        assert_eq!(
            String::from_utf8_lossy(&wire),
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nretry-after: 3\r\n\
             transfer-encoding: chunked\r\n\r\n0002\r\n{}\r\n0\r\n\r\n"
        );
    }

    #[test]
    fn bom_and_gzip_rewrite_the_body() {
        let mut reply = json(200, "{}");
        add_bom(&mut reply);
        assert_eq!(reply.body().as_ref(), b"\xEF\xBB\xBF{}");
        gzip(&mut reply);
        assert_eq!(reply.headers()[header::CONTENT_ENCODING], "gzip");
        let mut plain = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(reply.body().as_ref()),
            &mut plain,
        )
        .unwrap();
        assert_eq!(plain, b"\xEF\xBB\xBF{}");
    }
}

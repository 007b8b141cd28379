//! HTTP/1.x requests from the bytes a connection delivers, piece by piece.

use core::fmt;

use super::{LoopbackLimits, LoopbackRequest, ParseProgress, Rejection};
use crate::secret::RedactedBytes;

/// Parses one HTTP/1.x request from the bytes read so far (all of them at once; a
/// server reading a connection piece by piece uses [`RequestParser`]).
pub fn parse_request(buf: &[u8], limits: &LoopbackLimits) -> Result<ParseProgress, Rejection> {
    RequestParser::new(*limits).push(buf)
}

const URI_TOO_LONG: Rejection = Rejection {
    status: 414,
    reason: "request line too long",
};
const HEAD_TOO_LARGE: Rejection = Rejection {
    status: 431,
    reason: "request headers too large",
};

/// Parses one request as its bytes arrive, keeping its place: each byte is scanned
/// once for line ends, the header block is handed to the HTTP parser only when a
/// line completes (at most [`LoopbackLimits::max_headers`] + 2 times, each at most
/// [`LoopbackLimits::max_head`] bytes), and body bytes are only counted and kept. So
/// a request trickled in one byte per read costs work linear in its size, not the
/// quadratic cost of parsing the whole buffer again on every read.
///
/// Feed it with [`push`](RequestParser::push) until it returns
/// [`ParseProgress::Complete`] or a [`Rejection`]; after that it must not be fed
/// again (it answers a 400). Its decisions are those of [`parse_request`] on all the
/// bytes pushed so far; a malformed head may be refused a few bytes later than
/// `parse_request` would (at the end of the line), never accepted.
///
/// ```
/// use cliauth_core::loopback::{LoopbackLimits, ParseProgress, RequestParser};
///
/// let mut p = RequestParser::new(LoopbackLimits::default());
/// let body = "b".repeat(4000);
/// let request = format!("POST /callback HTTP/1.1\r\nHost: 127.0.0.1:8400\r\nContent-Length: 4000\r\n\r\n{body}");
/// let (last, most) = request.as_bytes().split_last().unwrap();
/// for byte in most {
///     // One byte per read, as a slow client sends it.
///     assert_eq!(p.push(std::slice::from_ref(byte)), Ok(ParseProgress::Incomplete));
/// }
/// let Ok(ParseProgress::Complete(req, used)) = p.push(&[*last]) else { panic!() };
/// assert_eq!((req.method.as_str(), req.body.0.len(), used), ("POST", 4000, request.len()));
/// // About one look at each byte, plus the head once per line.
/// assert!(p.examined() < 2 * request.len());
/// ```
#[derive(Clone)]
pub struct RequestParser {
    limits: LoopbackLimits,
    buf: Vec<u8>,
    /// Bytes of `buf` already scanned for line ends.
    scanned: usize,
    /// Where the line being scanned starts.
    line_start: usize,
    /// Whether a non-empty line (the request line) was seen.
    started: bool,
    /// Whether the first `\r\n` was found (its position passed the 414 check).
    line_checked: bool,
    /// The parsed head, while the body arrives.
    head: Option<Head>,
    finished: bool,
    examined: usize,
}

impl fmt::Debug for RequestParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestParser")
            .field("buffered", &self.buf.len())
            .field("head_complete", &self.head.is_some())
            .field("examined", &self.examined)
            .finish_non_exhaustive()
    }
}

/// A complete, checked header block.
#[derive(Clone)]
struct Head {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    head_len: usize,
    total: usize,
}

impl RequestParser {
    /// A parser for one request.
    pub fn new(limits: LoopbackLimits) -> Self {
        RequestParser {
            limits,
            buf: Vec::new(),
            scanned: 0,
            line_start: 0,
            started: false,
            line_checked: false,
            head: None,
            finished: false,
            examined: 0,
        }
    }

    /// How many bytes have been examined so far (each scan of a byte, and each byte
    /// handed to the HTTP parser), a measure of the parsing work.
    pub fn examined(&self) -> usize {
        self.examined
    }

    /// Adds bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) -> Result<ParseProgress, Rejection> {
        if self.finished {
            return Err(Rejection {
                status: 400,
                reason: "bytes after the request",
            });
        }
        let outcome = self.advance(bytes);
        if !matches!(outcome, Ok(ParseProgress::Incomplete)) {
            self.finished = true;
        }
        outcome
    }

    fn advance(&mut self, bytes: &[u8]) -> Result<ParseProgress, Rejection> {
        if let Some(head) = &self.head {
            // The body: keep what the request needs, ignore anything after it.
            let want = head.total - self.buf.len();
            self.buf.extend_from_slice(&bytes[..bytes.len().min(want)]);
            self.examined += bytes.len().min(want);
            return Ok(self.complete_if_whole());
        }
        let first = self.buf.is_empty();
        self.buf.extend_from_slice(bytes);
        // RFC 9112 §3: the request line, up to its CRLF.
        if !self.line_checked {
            let from = self.scanned.saturating_sub(1);
            match self.buf[from..].windows(2).position(|w| w == b"\r\n") {
                Some(n) if from + n > self.limits.max_request_line => return Err(URI_TOO_LONG),
                Some(_) => self.line_checked = true,
                None if self.buf.len() > self.limits.max_request_line => {
                    return Err(URI_TOO_LONG);
                }
                None => {}
            }
        }
        // Line ends in the new bytes: the end of the head is the first empty line
        // after the request line (empty lines before it are skipped, as the HTTP
        // parser does).
        let mut line_completed = false;
        let mut head_end = None;
        while self.scanned < self.buf.len() {
            let i = self.scanned;
            self.scanned += 1;
            self.examined += 1;
            if self.buf[i] != b'\n' {
                continue;
            }
            let line = &self.buf[self.line_start..i];
            let empty = line.is_empty() || line == b"\r";
            self.line_start = i + 1;
            if !empty {
                // Empty lines before the request line complete nothing the HTTP
                // parser needs to see again: thousands of them, one per read, would
                // otherwise each cost a parse of the buffer.
                line_completed = true;
                self.started = true;
            } else if self.started {
                head_end = Some(i + 1);
                break;
            }
        }
        let too_large = head_end.is_none() && self.buf.len() > self.limits.max_head;
        if !(first || line_completed || too_large || head_end.is_some()) {
            return Ok(ParseProgress::Incomplete);
        }
        // The HTTP parser sees the head so far: it refuses a malformed request as
        // soon as a line of it is complete (or at once, for garbage in the first read).
        let end = head_end.unwrap_or(self.buf.len());
        let mut headers = vec![httparse::EMPTY_HEADER; self.limits.max_headers];
        let mut req = httparse::Request::new(&mut headers);
        self.examined += end;
        let head_len = match req.parse(&self.buf[..end]) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                if self.buf.len() > self.limits.max_head {
                    return Err(HEAD_TOO_LARGE);
                }
                if head_end.is_some() {
                    return Err(Rejection {
                        status: 400,
                        reason: "malformed request",
                    });
                }
                return Ok(ParseProgress::Incomplete);
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(Rejection {
                    status: 431,
                    reason: "too many request headers",
                });
            }
            Err(_) => {
                return Err(Rejection {
                    status: 400,
                    reason: "malformed request",
                });
            }
        };
        let head = check_head(&req, head_len, &self.limits)?;
        self.buf.truncate(head.total.min(self.buf.len()));
        self.head = Some(head);
        Ok(self.complete_if_whole())
    }

    fn complete_if_whole(&mut self) -> ParseProgress {
        let whole = self
            .head
            .as_ref()
            .is_some_and(|h| self.buf.len() >= h.total);
        match self.head.take() {
            Some(head) if whole => {
                let body = self.buf.split_off(head.head_len);
                ParseProgress::Complete(
                    LoopbackRequest {
                        method: head.method,
                        target: head.target,
                        headers: head.headers,
                        body: RedactedBytes(body),
                    },
                    head.total,
                )
            }
            other => {
                self.head = other;
                ParseProgress::Incomplete
            }
        }
    }
}

/// The checks on a complete header block.
fn check_head(
    req: &httparse::Request<'_, '_>,
    head_len: usize,
    limits: &LoopbackLimits,
) -> Result<Head, Rejection> {
    if head_len > limits.max_head {
        return Err(HEAD_TOO_LARGE);
    }
    let method = req.method.unwrap_or_default().to_string();
    let target = req.path.unwrap_or_default().to_string();
    let mut fields = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let value = core::str::from_utf8(h.value).map_err(|_| Rejection {
            status: 400,
            reason: "header value is not UTF-8",
        })?;
        fields.push((h.name.to_string(), value.to_string()));
    }
    let find = |name: &str| crate::http::find_header(&fields, name);
    if find("transfer-encoding").is_some() {
        return Err(Rejection {
            status: 411,
            reason: "chunked bodies are not accepted",
        });
    }
    let content_length = match find("content-length") {
        None => 0,
        Some(v) => {
            let v = v.trim();
            if v.is_empty() || v.len() > 10 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Rejection {
                    status: 400,
                    reason: "invalid Content-Length",
                });
            }
            v.parse::<usize>().map_err(|_| Rejection {
                status: 400,
                reason: "invalid Content-Length",
            })?
        }
    };
    let duplicate_length = fields
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .count()
        > 1;
    if duplicate_length {
        return Err(Rejection {
            status: 400,
            reason: "duplicate Content-Length",
        });
    }
    // RFC 9112 §3.2: more than one Host line is a 400. Otherwise the `Host` check
    // would read only the first line while something else could act on another.
    let hosts = fields
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("host"))
        .count();
    if hosts > 1 {
        return Err(Rejection {
            status: 400,
            reason: "duplicate Host header",
        });
    }
    if content_length > limits.max_body {
        return Err(Rejection {
            status: 413,
            reason: "request body too large",
        });
    }
    Ok(Head {
        method,
        target,
        headers: fields,
        head_len,
        total: head_len + content_length,
    })
}

//! The loopback callback server's decisions, without sockets (RFC 8252 §7.3, §8).
//!
//! The native shell accepts connections on `127.0.0.1:PORT`, feeds the bytes it reads
//! to a [`RequestParser`] per connection (which keeps its place, so a request trickled
//! in costs linear work) until a request is complete, asks [`LoopbackHandler::handle`]
//! what to answer (or [`LoopbackHandler::reject`] for refused bytes), writes
//! [`LoopbackResponse::to_bytes`] and closes the connection. If the reply carries a
//! [`LoopbackEvent`], the login has its answer.
//!
//! What the handler enforces:
//!
//! - **Size limits** on the request line, the header block and the body
//!   ([`LoopbackLimits`]); oversize requests get 414/431/413 and no event.
//! - **`Host` must be the loopback address and the port** (`127.0.0.1:P`, `[::1]:P` or
//!   `localhost:P`): a DNS-rebinding page (`Host: evil.example:P`) is refused, and a
//!   request with two `Host` lines gets 400 (RFC 9112 §3.2).
//! - **Path check**: only the callback path is served; `/favicon.ico` gets 404.
//! - **State check in constant time**: a callback with a wrong or missing `state` gets
//!   an error page and **no event** — a forged request never ends or hijacks the
//!   login; only the request with the right `state` completes it, once. Later
//!   callbacks are answered "already completed".
//! - **The cli-auth handoff forms**: `GET /callback?code=…&state=…` or
//!   `?api_key=…&state=…` (top-level redirect from the cli-auth page), and `POST
//!   /callback` with a JSON body from an allow-listed origin, whose `OPTIONS`
//!   preflight is answered with CORS and `Access-Control-Allow-Private-Network`.
//! - **Pages are HTML-escaped** and sent with a strict CSP, `no-store` and
//!   `no-referrer`, so nothing from the query can script the page or leak onwards.

use core::fmt;
use core::time::Duration;

use crate::authorize::{CALLBACK_PATH, CallbackParams};
use crate::encoding::html_escape;
use crate::error::sanitize_server_text;
use crate::json::Value;
use crate::secret::{ApiKey, AuthorizationCode, RedactedBytes};
use crate::state::StateToken;

/// Size limits for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopbackLimits {
    /// Longest request line (method, target, version).
    pub max_request_line: usize,
    /// Longest header block, request line included.
    pub max_head: usize,
    /// Most header fields.
    pub max_headers: usize,
    /// Longest body.
    pub max_body: usize,
}

impl Default for LoopbackLimits {
    fn default() -> Self {
        LoopbackLimits {
            max_request_line: 8 * 1024,
            max_head: 16 * 1024,
            max_headers: 64,
            max_body: 16 * 1024,
        }
    }
}

/// One parsed request. `Debug` hides the query and the body.
#[derive(Clone, PartialEq, Eq)]
pub struct LoopbackRequest {
    /// The method token.
    pub method: String,
    /// The request target (path and query).
    pub target: String,
    /// Header fields, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: RedactedBytes,
}

impl LoopbackRequest {
    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(self.target.as_str(), |(p, _)| p)
    }

    /// The query, without `?`.
    pub fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::http::find_header(&self.headers, name)
    }
}

impl fmt::Debug for LoopbackRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopbackRequest")
            .field("method", &self.method)
            .field("target", &crate::redact::redact_url(&self.target))
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("body", &self.body)
            .finish()
    }
}

/// Why bytes were refused before they formed a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The status to answer with.
    pub status: u16,
    /// A short reason for the page and logs.
    pub reason: &'static str,
}

/// Progress of [`parse_request`].
#[derive(Debug, PartialEq, Eq)]
pub enum ParseProgress {
    /// More bytes are needed.
    Incomplete,
    /// A whole request, and how many bytes it used.
    Complete(LoopbackRequest, usize),
}

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

/// Where an open connection is, as the server's admission policy ([`eviction`]) sees
/// it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionPhase {
    /// Reading: accepted and not yet read (a browser's callback may be waiting in its
    /// socket), or bytes being read and parsed right now.
    Reading,
    /// It read its socket empty and waits for more bytes of its request.
    Waiting,
    /// Its request is complete (or refused): it is being answered.
    Decided,
}

/// What the admission policy says about one open connection while every slot is
/// taken and another connection waits to be accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eviction {
    /// Close it to make room. The shell lets it read once more first: a request that
    /// completes with those bytes is still answered.
    Close,
    /// Not now; ask again after this long.
    AskAgainIn(Duration),
    /// Never: it is being answered.
    Never,
}

/// How long a connection may take to send its request before, when every slot is
/// taken, it may be closed to make room (1 s). A browser sends its callback at once.
pub const DEFAULT_EVICT_AFTER: Duration = Duration::from_secs(1);

/// How soon a connection past its deadline that is reading right now is asked about
/// again (20 ms).
pub const EVICTION_RECHECK: Duration = Duration::from_millis(20);

/// The loopback server's admission policy, for a connection open for `open_for`, when
/// every slot is taken and another connection waits: only a connection open for
/// `evict_after` or longer that waits for bytes (an idle preconnect, a slowloris
/// trickling its request) is closed. One being read — including one accepted but not
/// yet read, whose complete callback may already be in its socket — is asked about
/// again shortly; one whose request is decided is never closed, so its answer and
/// the login's result are not lost.
///
/// ```
/// use std::time::Duration;
/// use cliauth_core::loopback::{ConnectionPhase as P, DEFAULT_EVICT_AFTER, Eviction, eviction};
/// let s = Duration::from_secs;
/// assert_eq!(eviction(P::Waiting, s(2), DEFAULT_EVICT_AFTER), Eviction::Close);
/// assert_eq!(eviction(P::Waiting, Duration::from_millis(300), DEFAULT_EVICT_AFTER),
///            Eviction::AskAgainIn(Duration::from_millis(700)));
/// assert!(matches!(eviction(P::Reading, s(9), DEFAULT_EVICT_AFTER), Eviction::AskAgainIn(_)));
/// assert_eq!(eviction(P::Decided, s(9), DEFAULT_EVICT_AFTER), Eviction::Never);
/// ```
pub fn eviction(phase: ConnectionPhase, open_for: Duration, evict_after: Duration) -> Eviction {
    match phase {
        ConnectionPhase::Decided => Eviction::Never,
        _ if open_for < evict_after => Eviction::AskAgainIn(evict_after - open_for),
        ConnectionPhase::Waiting => Eviction::Close,
        ConnectionPhase::Reading => Eviction::AskAgainIn(EVICTION_RECHECK),
    }
}

/// What the login accepts from the browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accept {
    /// An authorization code or one-time handoff code (`code=`).
    pub code: bool,
    /// An API key (`api_key=`), as cli-auth pages deliver it.
    pub api_key: bool,
}

/// How the loopback server behaves for one login.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopbackConfig {
    /// The port the server listens on (for the `Host` check).
    pub port: u16,
    /// The callback path (default `/callback`).
    pub callback_path: String,
    /// The product name shown on pages.
    pub product: String,
    /// Origins allowed to POST a credential (exact `scheme://host[:port]`).
    pub allowed_origins: Vec<String>,
    /// What is accepted.
    pub accept: Accept,
    /// Where to send the browser after success (a vendor page), instead of the
    /// built-in page.
    pub success_redirect: Option<String>,
    /// Limits.
    pub limits: LoopbackLimits,
}

impl LoopbackConfig {
    /// A configuration for an authorization-code login on `port`.
    pub fn new(port: u16, product: impl Into<String>) -> Self {
        LoopbackConfig {
            port,
            callback_path: CALLBACK_PATH.to_string(),
            product: product.into(),
            allowed_origins: Vec::new(),
            accept: Accept {
                code: true,
                api_key: false,
            },
            success_redirect: None,
            limits: LoopbackLimits::default(),
        }
    }
}

/// A response to write back. `Debug` omits the body.
#[derive(Clone, PartialEq, Eq)]
pub struct LoopbackResponse {
    /// Status code.
    pub status: u16,
    /// Header fields.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl fmt::Debug for LoopbackResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopbackResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &format_args!("[{} bytes]", self.body.len()))
            .finish()
    }
}

impl LoopbackResponse {
    /// The header with this name.
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::http::find_header(&self.headers, name)
    }

    /// The serialised HTTP/1.1 response, `Connection: close`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\n",
            self.status,
            reason_phrase(self.status)
        );
        for (k, v) in &self.headers {
            out.push_str(k);
            out.push_str(": ");
            out.push_str(v);
            out.push_str("\r\n");
        }
        out.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        ));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        303 => "See Other",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        _ => "Unknown",
    }
}

/// What a request meant for the login.
#[derive(Debug, PartialEq, Eq)]
pub enum LoopbackEvent {
    /// A callback whose `state` matched: it carries a code, a key, or an error. For
    /// an authorization-code login, pass it to
    /// [`crate::authorize::PendingAuthorization::complete`].
    Callback(CallbackParams),
}

/// The answer to one request.
#[derive(Debug)]
pub struct LoopbackReply {
    /// What to write back.
    pub response: LoopbackResponse,
    /// What happened to the login, if anything.
    pub event: Option<LoopbackEvent>,
    /// A short, secret-free description for debug logs (`forged state`, `favicon`).
    pub note: &'static str,
}

/// The per-login request handler (see the module docs).
#[derive(Debug)]
pub struct LoopbackHandler {
    config: LoopbackConfig,
    state: StateToken,
    completed: bool,
}

impl LoopbackHandler {
    /// A handler for the login whose `state` is given.
    pub fn new(config: LoopbackConfig, state: &StateToken) -> Self {
        LoopbackHandler {
            config,
            state: state.clone_secret(),
            completed: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LoopbackConfig {
        &self.config
    }

    /// Whether a callback has completed the login.
    pub fn is_completed(&self) -> bool {
        self.completed
    }

    /// Parses and handles bytes read from one connection: `None` while the request is
    /// incomplete; a reply (an error page for refused bytes) once it is decided.
    pub fn handle_bytes(&mut self, buf: &[u8]) -> Option<LoopbackReply> {
        match parse_request(buf, &self.config.limits) {
            Ok(ParseProgress::Incomplete) => None,
            Ok(ParseProgress::Complete(req, _)) => Some(self.handle(&req)),
            Err(rejection) => Some(self.reject(rejection)),
        }
    }

    /// The reply for bytes that could not form an acceptable request.
    pub fn reject(&self, rejection: Rejection) -> LoopbackReply {
        LoopbackReply {
            response: self.page(rejection.status, "Request refused", rejection.reason),
            event: None,
            note: rejection.reason,
        }
    }

    /// Decides the response and event for one request.
    pub fn handle(&mut self, req: &LoopbackRequest) -> LoopbackReply {
        if !self.host_is_loopback(req.header("host")) {
            return self.reply(
                self.page(
                    421,
                    "Request refused",
                    "This address only answers requests for itself.",
                ),
                "foreign Host header",
            );
        }
        let path = req.path();
        if path == "/favicon.ico" {
            return self.reply(
                LoopbackResponse {
                    status: 404,
                    headers: base_headers("text/plain"),
                    body: Vec::new(),
                },
                "favicon",
            );
        }
        if path != self.config.callback_path {
            return self.reply(
                self.page(404, "Not found", "Nothing here. Return to your terminal."),
                "unknown path",
            );
        }
        match req.method.as_str() {
            "GET" | "HEAD" => match CallbackParams::parse(req.query()) {
                Ok(params) => self.callback(params, None),
                Err(_) => self.reply(
                    self.page(400, "Request refused", "The callback repeats a parameter."),
                    "repeated parameter",
                ),
            },
            "OPTIONS" => self.preflight(req),
            "POST" => self.post(req),
            _ => {
                let mut r = self.page(405, "Method not allowed", "Use GET or POST.");
                r.headers
                    .push(("Allow".into(), "GET, POST, OPTIONS".into()));
                self.reply(r, "method not allowed")
            }
        }
    }

    fn reply(&self, response: LoopbackResponse, note: &'static str) -> LoopbackReply {
        LoopbackReply {
            response,
            event: None,
            note,
        }
    }

    /// Whether a `Host` header names this server: `127.0.0.1`, `[::1]` or `localhost`
    /// with its port (anything else is DNS rebinding, answered 421 by
    /// [`handle`](Self::handle)).
    pub fn host_is_loopback(&self, host: Option<&str>) -> bool {
        let Some(host) = host else { return false };
        let host = host.trim().to_ascii_lowercase();
        let port = self.config.port.to_string();
        ["127.0.0.1", "[::1]", "localhost"].iter().any(|h| {
            host.strip_prefix(h).and_then(|rest| rest.strip_prefix(':')) == Some(port.as_str())
        })
    }

    fn allowed_origin<'r>(&self, req: &'r LoopbackRequest) -> Option<&'r str> {
        let origin = req.header("origin")?;
        self.config
            .allowed_origins
            .iter()
            .any(|o| o == origin)
            .then_some(origin)
    }

    fn preflight(&self, req: &LoopbackRequest) -> LoopbackReply {
        let Some(origin) = self.allowed_origin(req) else {
            return self.reply(
                LoopbackResponse {
                    status: 403,
                    headers: base_headers("text/plain"),
                    body: Vec::new(),
                },
                "preflight from a foreign origin",
            );
        };
        if req.header("access-control-request-method") != Some("POST") {
            return self.reply(
                LoopbackResponse {
                    status: 403,
                    headers: base_headers("text/plain"),
                    body: Vec::new(),
                },
                "preflight for another method",
            );
        }
        let mut headers = cors_headers(origin);
        headers.push(("Access-Control-Allow-Methods".into(), "POST".into()));
        headers.push(("Access-Control-Allow-Headers".into(), "content-type".into()));
        headers.push(("Access-Control-Max-Age".into(), "60".into()));
        if req
            .header("access-control-request-private-network")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            headers.push(("Access-Control-Allow-Private-Network".into(), "true".into()));
        }
        self.reply(
            LoopbackResponse {
                status: 204,
                headers,
                body: Vec::new(),
            },
            "preflight",
        )
    }

    fn post(&mut self, req: &LoopbackRequest) -> LoopbackReply {
        let Some(origin) = self.allowed_origin(req).map(str::to_string) else {
            return self.reply(
                json_response(403, None, "origin_not_allowed"),
                "POST from a foreign origin",
            );
        };
        let json = req.header("content-type").is_some_and(|c| {
            c.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
        if !json {
            return self.reply(
                json_response(415, Some(&origin), "expected_json"),
                "POST without JSON",
            );
        }
        let Some(body) = Value::parse(&req.body.0).filter(Value::is_object) else {
            return self.reply(
                json_response(400, Some(&origin), "invalid_json"),
                "POST with invalid JSON",
            );
        };
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
        let params = CallbackParams {
            code: text("code").map(AuthorizationCode::new),
            api_key: text("api_key").map(ApiKey::new),
            state: text("state"),
            error: text("error").map(|e| sanitize_server_text(&e)),
            error_description: text("error_description").map(|e| sanitize_server_text(&e)),
            iss: text("iss"),
        };
        self.callback(params, Some(origin))
    }

    /// The common decision for GET and POST callbacks.
    fn callback(&mut self, params: CallbackParams, post_origin: Option<String>) -> LoopbackReply {
        let respond =
            |this: &Self, status: u16, title: &str, text: &str, code: &str| match &post_origin {
                Some(origin) => json_response(status, Some(origin), code),
                None => this.page(status, title, text),
            };
        if self.completed {
            let r = respond(
                self,
                409,
                "Already signed in",
                "This login is already complete. You can close this tab.",
                "already_completed",
            );
            return self.reply(r, "callback after completion");
        }
        let state_ok = params
            .state
            .as_deref()
            .is_some_and(|s| self.state.verify(s));
        if !state_ok {
            let r = respond(
                self,
                400,
                "Login link mismatch",
                "This request does not belong to the login running in your terminal, so it was ignored. \
                 Your terminal is still waiting: finish signing in from the link it printed.",
                "state_mismatch",
            );
            return self.reply(r, "state mismatch");
        }
        if let Some(error) = &params.error {
            let detail = params.error_description.as_deref().unwrap_or(error);
            let r = respond(
                self,
                400,
                "Sign-in was not completed",
                &format!("The authorization server said: {detail}. Return to your terminal."),
                "authorization_error",
            );
            self.completed = true;
            return LoopbackReply {
                response: r,
                event: Some(LoopbackEvent::Callback(params)),
                note: "authorization error",
            };
        }
        let usable = params.code.is_some() && self.config.accept.code
            || params.api_key.is_some() && self.config.accept.api_key;
        if !usable {
            let r = respond(
                self,
                400,
                "Request refused",
                "The callback carries no credential this login accepts.",
                "missing_credential",
            );
            return self.reply(r, "callback without an accepted credential");
        }
        self.completed = true;
        let response = match (&post_origin, &self.config.success_redirect) {
            (Some(origin), _) => json_response(200, Some(origin), "ok"),
            (None, Some(location)) => {
                let mut headers = base_headers("text/plain; charset=utf-8");
                headers.push(("Location".into(), location.clone()));
                LoopbackResponse {
                    status: 303,
                    headers,
                    body: Vec::new(),
                }
            }
            (None, None) => self.page(
                200,
                &format!("✓ Signed in to {}", self.config.product),
                "You can close this tab and return to your terminal.",
            ),
        };
        LoopbackReply {
            response,
            event: Some(LoopbackEvent::Callback(params)),
            note: "callback accepted",
        }
    }

    /// A small self-contained HTML page. Every piece of text is escaped.
    fn page(&self, status: u16, title: &str, text: &str) -> LoopbackResponse {
        let product = html_escape(&self.config.product);
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
             content=\"width=device-width\"><title>{product} CLI</title><style>body{{font:16px \
             system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}}h1{{font-size:1.4em}}\
             </style></head><body><h1>{}</h1><p>{}</p></body></html>",
            html_escape(title),
            html_escape(text)
        );
        LoopbackResponse {
            status,
            headers: base_headers("text/html; charset=utf-8"),
            body: body.into_bytes(),
        }
    }
}

fn base_headers(content_type: &str) -> Vec<(String, String)> {
    vec![
        ("Content-Type".into(), content_type.into()),
        ("Cache-Control".into(), "no-store".into()),
        ("Content-Security-Policy".into(), "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'".into()),
        ("X-Content-Type-Options".into(), "nosniff".into()),
        ("Referrer-Policy".into(), "no-referrer".into()),
    ]
}

fn cors_headers(origin: &str) -> Vec<(String, String)> {
    let mut h = base_headers("text/plain");
    h.push(("Access-Control-Allow-Origin".into(), origin.to_string()));
    h.push(("Vary".into(), "Origin".into()));
    h
}

fn json_response(status: u16, origin: Option<&str>, code: &str) -> LoopbackResponse {
    let mut headers = match origin {
        Some(o) => cors_headers(o),
        None => base_headers("application/json"),
    };
    headers.retain(|(k, _)| k != "Content-Type");
    headers.insert(0, ("Content-Type".into(), "application/json".into()));
    let body = serde_json::json!({ "ok": status < 300, "code": code }).to_string();
    LoopbackResponse {
        status,
        headers,
        body: body.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORT: u16 = 49152;

    fn handler(accept_key: bool) -> (LoopbackHandler, String) {
        let state = StateToken::from_entropy(&[5; 32]);
        let mut config = LoopbackConfig::new(PORT, "Acme <b>");
        config.accept.api_key = accept_key;
        config.allowed_origins = vec!["https://app.acme.example".into()];
        let s = state.expose_secret().to_string();
        (LoopbackHandler::new(config, &state), s)
    }

    fn get(target: &str) -> Vec<u8> {
        format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n\r\n").into_bytes()
    }

    #[test]
    fn eviction_closes_only_connections_waiting_past_their_deadline() {
        use ConnectionPhase::{Decided, Reading, Waiting};
        let ms = Duration::from_millis;
        let after = DEFAULT_EVICT_AFTER;
        for (phase, open_for, expected) in [
            // Idle preconnects and slowloris connections, once past the deadline.
            (Waiting, ms(1000), Eviction::Close),
            (Waiting, ms(60_000), Eviction::Close),
            // Not before the deadline, whatever they do.
            (Waiting, ms(0), Eviction::AskAgainIn(ms(1000))),
            (Waiting, ms(999), Eviction::AskAgainIn(ms(1))),
            (Reading, ms(10), Eviction::AskAgainIn(ms(990))),
            // Accepted but not yet read (or reading): never closed, looked at again.
            (Reading, ms(5000), Eviction::AskAgainIn(EVICTION_RECHECK)),
            // Being answered: never.
            (Decided, ms(0), Eviction::Never),
            (Decided, ms(60_000), Eviction::Never),
        ] {
            assert_eq!(
                eviction(phase, open_for, after),
                expected,
                "{phase:?} {open_for:?}"
            );
        }
    }

    #[test]
    fn blank_lines_before_the_request_line_trickled_one_per_read_cost_linear_work() {
        // 8000 empty lines (16 000 bytes, under the 16 KiB head limit), one per read:
        // each is scanned once, and none makes the HTTP parser look at the buffer again.
        let mut p = RequestParser::new(LoopbackLimits::default());
        let blanks = 8000;
        for _ in 0..blanks {
            assert!(matches!(p.push(b"\r\n"), Ok(ParseProgress::Incomplete)));
        }
        let request = get("/callback?code=c&state=s");
        let mut outcome = Ok(ParseProgress::Incomplete);
        for b in &request {
            outcome = p.push(std::slice::from_ref(b));
        }
        // What the HTTP parser makes of it is its business (RFC 9112 §2.2 asks to
        // ignore at least one); the work is what is checked here.
        let _ = outcome;
        let total = 2 * blanks + request.len();
        // Bytes scanned once, plus one head parse per non-empty line (3 here) and the
        // first read.
        assert!(
            p.examined() <= total + 4 * total,
            "{} bytes examined for {total}",
            p.examined()
        );
    }

    #[test]
    fn happy_path_then_replay_refused() {
        let (mut h, s) = handler(false);
        let reply = h
            .handle_bytes(&get(&format!("/callback?code=c1&state={s}")))
            .unwrap();
        assert_eq!(reply.response.status, 200);
        let Some(LoopbackEvent::Callback(p)) = reply.event else {
            panic!()
        };
        assert_eq!(p.code.unwrap().expose_secret(), "c1");
        let body = String::from_utf8(reply.response.body).unwrap();
        assert!(body.contains("Acme &lt;b&gt;") && !body.contains("<b>"));
        let again = h
            .handle_bytes(&get(&format!("/callback?code=c2&state={s}")))
            .unwrap();
        assert_eq!((again.response.status, again.event.is_none()), (409, true));
    }

    #[test]
    fn forged_and_stray_requests_never_end_the_login() {
        let (mut h, s) = handler(false);
        for bytes in [
            get("/callback?code=x&state=forged"),
            get("/callback?code=x"),
            get("/favicon.ico"),
            get("/"),
            get(&format!("/callback?code=x&state={s}&state={s}")),
            format!("GET /callback?code=x&state={s} HTTP/1.1\r\nHost: evil.example:{PORT}\r\n\r\n")
                .into_bytes(),
            format!("GET /callback?code=x&state={s} HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n")
                .into_bytes(),
            format!("GET /callback?code=x&state={s} HTTP/1.1\r\n\r\n").into_bytes(),
            format!("DELETE /callback?code=x&state={s} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n\r\n")
                .into_bytes(),
            get(&format!("/callback?api_key=k&state={s}")), // keys not accepted here
            b"\x16\x03\x01garbage\r\n\r\n".to_vec(),
        ] {
            let reply = h.handle_bytes(&bytes).unwrap();
            assert!(reply.event.is_none(), "{}", String::from_utf8_lossy(&bytes));
            assert!(reply.response.status >= 400, "{}", reply.response.status);
        }
        assert!(!h.is_completed());
        let ok = h
            .handle_bytes(&get(&format!("/callback?code=x&state={s}")))
            .unwrap();
        assert!(ok.event.is_some());
    }

    #[test]
    fn error_payloads_are_escaped() {
        let (mut h, s) = handler(false);
        let reply = h
            .handle_bytes(&get(&format!("/callback?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C/script%3Ejavascript:x&state={s}")))
            .unwrap();
        let body = String::from_utf8(reply.response.body.clone()).unwrap();
        assert!(!body.contains("<script>") && body.contains("&lt;script&gt;"));
        assert!(
            reply
                .response
                .header("content-security-policy")
                .unwrap()
                .contains("default-src 'none'")
        );
        assert!(
            matches!(reply.event, Some(LoopbackEvent::Callback(ref p)) if p.error.as_deref() == Some("access_denied"))
        );
        let forged = h
            .handle_bytes(&get("/callback?error=%3Cimg%20src=x%3E&state=bad"))
            .unwrap();
        assert!(
            !String::from_utf8(forged.response.body)
                .unwrap()
                .contains("<img")
        );
    }

    #[test]
    fn post_handoff_with_preflight() {
        let (mut h, s) = handler(true);
        let pre = format!(
            "OPTIONS /callback HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nOrigin: https://app.acme.example\r\n\
             Access-Control-Request-Method: POST\r\nAccess-Control-Request-Private-Network: true\r\n\r\n"
        );
        let r = h.handle_bytes(pre.as_bytes()).unwrap();
        assert_eq!(r.response.status, 204);
        assert_eq!(
            r.response.header("access-control-allow-origin"),
            Some("https://app.acme.example")
        );
        assert_eq!(
            r.response.header("access-control-allow-private-network"),
            Some("true")
        );
        let evil = pre.replace("https://app.acme.example", "https://evil.example");
        let r = h.handle_bytes(evil.as_bytes()).unwrap();
        assert_eq!(
            (
                r.response.status,
                r.response.header("access-control-allow-origin")
            ),
            (403, None)
        );

        let body = format!("{{\"api_key\":\"acme_dev_k\",\"state\":\"{s}\"}}");
        let post = |origin: &str, ct: &str| {
            format!(
                "POST /callback HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nOrigin: {origin}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        let r = h
            .handle_bytes(post("https://evil.example", "application/json").as_bytes())
            .unwrap();
        assert_eq!((r.response.status, r.event.is_none()), (403, true));
        let r = h
            .handle_bytes(post("https://app.acme.example", "text/plain").as_bytes())
            .unwrap();
        assert_eq!((r.response.status, r.event.is_none()), (415, true));
        let r = h
            .handle_bytes(post("https://app.acme.example", "application/json").as_bytes())
            .unwrap();
        assert_eq!(r.response.status, 200);
        let Some(LoopbackEvent::Callback(p)) = r.event else {
            panic!()
        };
        assert_eq!(p.api_key.unwrap().expose_secret(), "acme_dev_k");
    }

    #[test]
    fn limits() {
        let limits = LoopbackLimits::default();
        assert_eq!(
            parse_request(b"GET / HT", &limits),
            Ok(ParseProgress::Incomplete)
        );
        let long_line = format!("GET /{} HTTP/1.1\r\n", "a".repeat(9000));
        assert_eq!(
            parse_request(long_line.as_bytes(), &limits)
                .unwrap_err()
                .status,
            414
        );
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        big.extend(std::iter::repeat_n(b"X-A: b\r\n".as_slice(), 3000).flatten());
        assert_eq!(parse_request(&big, &limits).unwrap_err().status, 431);
        let many: String = (0..70).map(|i| format!("X-{i}: a\r\n")).collect();
        assert_eq!(
            parse_request(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes(), &limits)
                .unwrap_err()
                .status,
            431
        );
        let huge_body = "POST /callback HTTP/1.1\r\nContent-Length: 999999\r\n\r\n";
        assert_eq!(
            parse_request(huge_body.as_bytes(), &limits)
                .unwrap_err()
                .status,
            413
        );
        let chunked = "POST /callback HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(
            parse_request(chunked.as_bytes(), &limits)
                .unwrap_err()
                .status,
            411
        );
        let partial_body = "POST /callback HTTP/1.1\r\nContent-Length: 5\r\n\r\nab";
        assert_eq!(
            parse_request(partial_body.as_bytes(), &limits),
            Ok(ParseProgress::Incomplete)
        );
        let dup = "POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na";
        assert_eq!(
            parse_request(dup.as_bytes(), &limits).unwrap_err().status,
            400
        );
        let two_hosts = format!(
            "GET /callback HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nhost: evil.example:{PORT}\r\n\r\n"
        );
        assert_eq!(
            parse_request(two_hosts.as_bytes(), &limits).unwrap_err(),
            Rejection {
                status: 400,
                reason: "duplicate Host header"
            }
        );
    }

    #[test]
    fn success_redirect_and_debug() {
        let (mut h, s) = handler(true);
        h.config.success_redirect = Some("https://app.acme.example/cli-auth/done".into());
        let r = h
            .handle_bytes(&get(&format!("/callback?api_key=k&state={s}")))
            .unwrap();
        assert_eq!(r.response.status, 303);
        assert_eq!(
            r.response.header("location"),
            Some("https://app.acme.example/cli-auth/done")
        );
        let req = parse_request(
            &get(&format!("/callback?api_key=secretkey&state={s}")),
            &LoopbackLimits::default(),
        )
        .unwrap();
        assert!(!format!("{req:?}").contains("secretkey"));
        let bytes = r.response.to_bytes();
        assert!(bytes.starts_with(b"HTTP/1.1 303 See Other\r\n"));
    }
}

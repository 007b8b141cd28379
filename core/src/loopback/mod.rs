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

use crate::authorize::{CALLBACK_PATH, CallbackParams};
use crate::encoding::html_escape;
use crate::error::sanitize_server_text;
use crate::json::Value;
use crate::secret::{ApiKey, AuthorizationCode, RedactedBytes};
use crate::state::StateToken;

mod admission;
mod parser;

pub use admission::{ConnectionPhase, DEFAULT_EVICT_AFTER, EVICTION_RECHECK, Eviction, eviction};
pub use parser::{RequestParser, parse_request};

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

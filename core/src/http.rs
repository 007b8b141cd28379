//! HTTP requests and responses as plain data, and what a response means.
//!
//! Core builds [`HttpRequest`] values and interprets [`HttpResponse`] values; the
//! shells execute them (reqwest natively with redirects off, `fetch` in wasm). Nothing
//! here performs IO.
//!
//! [`api_error`] maps a protected-API response to the error taxonomy: 401, 403 with
//! RFC 6750 `insufficient_scope`, 404, 429 with `Retry-After` and the rate-limit
//! policy, 5xx.

use core::fmt;
use core::time::Duration;

use serde_json::Value;

use crate::error::{Error, sanitize_server_text};
use crate::json;
use crate::redact::redact_url;
use crate::time::Timestamp;

/// Largest response body core will parse. Shells must stop reading at this size
/// and report [`Error::Protocol`] (see [`body_too_large`]).
pub const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// An HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
    /// OPTIONS.
    Options,
    /// HEAD.
    Head,
}

impl Method {
    /// The method token.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
        }
    }

    /// Parses a method token (case-sensitive, as RFC 9110 requires).
    pub fn parse(token: &str) -> Option<Method> {
        Some(match token {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "HEAD" => Method::Head,
            _ => return None,
        })
    }

    /// Whether RFC 9110 §9.2.2 calls the method idempotent.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::Post | Method::Patch)
    }
}

/// A request for a shell to execute. Not `Clone` (bodies carry secrets); `Debug`
/// shows the URL with secret parameters redacted, header names and the body length.
#[derive(PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL.
    pub url: String,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
    /// Whether replaying the request after an unknown outcome is safe. Retry decisions
    /// never replay a non-idempotent request unless it provably was not processed.
    pub idempotent: bool,
}

impl HttpRequest {
    /// A GET expecting JSON.
    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest {
            method: Method::Get,
            url: url.into(),
            headers: vec![("accept".into(), "application/json".into())],
            body: Vec::new(),
            idempotent: true,
        }
    }

    /// A form-encoded POST expecting JSON. Not idempotent unless marked.
    pub fn post_form(url: impl Into<String>, form: String) -> Self {
        HttpRequest {
            method: Method::Post,
            url: url.into(),
            headers: vec![
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("accept".into(), "application/json".into()),
            ],
            body: form.into_bytes(),
            idempotent: false,
        }
    }

    /// A JSON POST expecting JSON. Not idempotent unless marked.
    pub fn post_json(url: impl Into<String>, body: &Value) -> Self {
        Self::post_json_text(url, body.to_string())
    }

    /// A JSON POST expecting JSON, with a body already written as JSON text (see
    /// [`crate::json::string_object`]). Not idempotent unless marked.
    pub fn post_json_text(url: impl Into<String>, body: String) -> Self {
        HttpRequest {
            method: Method::Post,
            url: url.into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("accept".into(), "application/json".into()),
            ],
            body: body.into_bytes(),
            idempotent: false,
        }
    }

    /// A request with any method and no body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        HttpRequest {
            method,
            url: url.into(),
            headers: vec![("accept".into(), "application/json".into())],
            body: Vec::new(),
            idempotent: method.is_idempotent(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `Authorization: Bearer <token>` (RFC 6750 §2.1).
    pub fn with_bearer(self, token: &str) -> Self {
        self.with_header("authorization", format!("Bearer {token}"))
    }

    /// Marks the request safe (or not) to replay.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// An explicit copy (a request is not `Clone`: its body and headers may carry
    /// secrets).
    pub fn clone_secret(&self) -> HttpRequest {
        HttpRequest {
            method: self.method,
            url: self.url.clone(),
            headers: self.headers.clone(),
            body: self.body.clone(),
            idempotent: self.idempotent,
        }
    }

    /// The URL with secret query parameters replaced by `[redacted]`, for logs.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.redacted_url())
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body", &format_args!("[{} bytes]", self.body.len()))
            .field("idempotent", &self.idempotent)
            .finish()
    }
}

/// A response for core to interpret. `Debug` shows status, headers (cookies
/// redacted) and the body length only.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with a status and no headers or body.
    pub fn new(status: u16) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// A JSON response.
    pub fn json(status: u16, body: &Value) -> Self {
        HttpResponse::new(status)
            .with_header("content-type", "application/json")
            .with_body(body.to_string())
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The media type of `Content-Type`, lower-cased, without parameters.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// Whether the body is declared as JSON (`application/json` or `*/*+json`).
    pub fn is_json(&self) -> bool {
        self.media_type()
            .is_some_and(|m| m == "application/json" || m.ends_with("+json"))
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body", &format_args!("[{} bytes]", self.body.len()))
            .finish()
    }
}

struct RedactedHeaders<'a>(&'a [(String, String)]);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (name, value) in self.0 {
            if is_sensitive_header(name) {
                list.entry(&format_args!("{name}: [redacted]"));
            } else {
                list.entry(&format_args!("{name}: {value}"));
            }
        }
        list.finish()
    }
}

/// Headers whose values are never logged.
pub fn is_sensitive_header(name: &str) -> bool {
    [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "dpop",
    ]
    .iter()
    .any(|h| h.eq_ignore_ascii_case(name))
}

pub(crate) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The error for a body larger than [`MAX_RESPONSE_BODY`], for shells that stop
/// reading early.
pub fn body_too_large(limit: usize) -> Error {
    Error::Protocol {
        reason: [
            "the response body is larger than ",
            &crate::encoding::decimal((limit / 1024) as u64),
            " KiB",
        ]
        .concat(),
        body: Default::default(),
    }
}

/// What a protected-API response means: `None` for 2xx, otherwise the error.
///
/// - 401 → [`Error::Unauthorized`] (with the RFC 6750 `error_description` if any);
/// - 403 → [`Error::InsufficientPermissions`] (with the `scope` the server names);
/// - 404 → [`Error::NotFound`];
/// - 429 → [`Error::RateLimited`] (policy, limit and `Retry-After`);
/// - 5xx → [`Error::Server`];
/// - 400/409/422 and other 4xx → [`Error::Rejected`];
/// - 1xx/3xx → [`Error::Protocol`] (redirects are never followed).
pub fn api_error(response: &HttpResponse, now: Timestamp) -> Option<Error> {
    let status = response.status;
    if (200..300).contains(&status) {
        return None;
    }
    let challenge = challenges(response)
        .into_iter()
        .find(|c| c.scheme.eq_ignore_ascii_case("bearer"));
    let param = |name: &str| {
        challenge
            .as_ref()
            .and_then(|c| c.param(name))
            .map(sanitize_server_text)
    };
    Some(match status {
        401 => Error::Unauthorized {
            detail: param("error_description").or_else(|| body_detail(response)),
        },
        403 => Error::InsufficientPermissions {
            required_scope: param("scope"),
        },
        404 => Error::NotFound {
            what: body_detail(response),
        },
        429 => {
            let info = rate_limit_info(response, now);
            Error::RateLimited {
                policy: info.policy,
                limit: info.limit,
                retry_after: info.retry_after,
            }
        }
        500..=599 => Error::Server { status },
        400..=499 => Error::Rejected {
            status,
            detail: body_detail(response),
        },
        _ => Error::protocol(
            [
                "unexpected HTTP status ",
                &crate::encoding::decimal(u64::from(status)),
            ]
            .concat(),
            &response.body,
        ),
    })
}

/// A human-readable explanation from a JSON error body: `detail`, `message`,
/// `error_description`, `error.message` or a string `error`; sanitised.
///
/// Read with core's small JSON reader ([`crate::json`]), not serde_json: this runs in
/// the web pages' wasm module, which stays small without serde_json.
pub fn body_detail(response: &HttpResponse) -> Option<String> {
    body_detail_of(&json::Value::parse(&response.body)?)
}

fn body_detail_of(value: &json::Value) -> Option<String> {
    fn field<'a>(v: &'a json::Value, key: &str) -> Option<&'a str> {
        v.get(key).and_then(json::Value::as_str)
    }
    let text = field(value, "detail")
        .or_else(|| field(value, "message"))
        .or_else(|| field(value, "error_description"))
        .or_else(|| value.get("error").and_then(|e| field(e, "message")))
        .or_else(|| field(value, "error"))?;
    let text = sanitize_server_text(text);
    (!text.is_empty()).then_some(text)
}

/// One challenge of a `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Challenge {
    /// The auth scheme, e.g. `Bearer`.
    pub scheme: String,
    /// The auth-params, names lower-cased.
    pub params: Vec<(String, String)>,
    /// A token68 instead of params, if present.
    pub token68: Option<String>,
}

impl Challenge {
    /// The value of a parameter (name case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        find_header(&self.params, name)
    }
}

/// Every challenge of every `WWW-Authenticate` field of a response, in order (RFC
/// 9110 §11.6.1: a server may send several fields, each with several challenges; a
/// `Bearer` challenge can be in any of them, RFC 6750 §3).
pub fn challenges(response: &HttpResponse) -> Vec<Challenge> {
    let mut out = Vec::new();
    for (name, value) in &response.headers {
        if name.eq_ignore_ascii_case("www-authenticate") {
            out.append(&mut parse_www_authenticate(value));
        }
    }
    out
}

/// Parses one `WWW-Authenticate` field value (RFC 9110 §11.6.1) into its challenges:
/// `scheme [ token68 / #auth-param ]`, comma-separated, where a comma starts a new
/// challenge only when what follows is not `name=`. Quoted strings may hold commas,
/// `=` and escaped quotes; empty list elements are skipped (§5.6.1). Lenient: an
/// unquoted value is read up to the next comma or space even when it holds characters
/// a token may not (`scope=memories:write`); unparseable text is skipped; never fails.
pub fn parse_www_authenticate(value: &str) -> Vec<Challenge> {
    let mut out = Vec::new();
    let mut p = Cursor {
        t: value,
        s: value.as_bytes(),
        i: 0,
    };
    loop {
        p.skip(b" \t,");
        if p.peek().is_none() {
            break;
        }
        let Some(scheme) = p.token() else {
            p.i += 1; // skip a character that cannot start a scheme
            continue;
        };
        let mut challenge = Challenge {
            scheme,
            params: Vec::new(),
            token68: None,
        };
        p.skip(b" \t");
        if let Some(t68) = p.token68() {
            challenge.token68 = Some(t68);
            out.push(challenge);
            continue;
        }
        loop {
            let save = p.i;
            p.skip(b" \t,");
            if !p.at_param() {
                p.i = save; // the end, or the next challenge's scheme
                break;
            }
            let Some(name) = p.token() else { break };
            p.skip(b" \t");
            p.i += 1; // `=`
            p.skip(b" \t");
            let value = if p.peek() == Some(b'"') {
                p.quoted()
            } else {
                Some(p.bare_value())
            };
            let Some(value) = value else { break };
            challenge.params.push((name.to_ascii_lowercase(), value));
        }
        out.push(challenge);
    }
    out
}

/// A position in a field value. Values are cut only at ASCII bytes, so every piece
/// is a slice of the (UTF-8) text: no decoding.
struct Cursor<'a> {
    t: &'a str,
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    /// The text from `start` to the cursor.
    fn since(&self, start: usize) -> String {
        self.t.get(start..self.i).unwrap_or_default().to_string()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip(&mut self, set: &[u8]) {
        while self.peek().is_some_and(|b| set.contains(&b)) {
            self.i += 1;
        }
    }

    /// Moves over the bytes `f` accepts; returns how many.
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        self.i - start
    }

    /// Whether an auth-param (`name =`) starts here; does not move.
    fn at_param(&mut self) -> bool {
        let start = self.i;
        let is_param = self.token().is_some() && {
            self.skip(b" \t");
            self.peek() == Some(b'=')
        };
        self.i = start;
        is_param
    }

    /// An unquoted auth-param value: up to the next comma, space or quote.
    fn bare_value(&mut self) -> String {
        let start = self.i;
        self.take_while(|b| b > b' ' && b != b',' && b != b'"' && b != 0x7f);
        self.since(start)
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        let n = self.take_while(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        (n > 0).then(|| self.since(start))
    }

    /// A token68 that is the whole credentials part of a challenge
    /// (`1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`), followed by the
    /// end or a comma. Leaves the cursor unchanged if there is none.
    fn token68(&mut self) -> Option<String> {
        let start = self.i;
        let body = self.take_while(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
        self.take_while(|b| b == b'=');
        let t68 = self.since(start);
        self.skip(b" \t");
        if body > 0 && matches!(self.peek(), None | Some(b',')) {
            return Some(t68);
        }
        self.i = start;
        None
    }

    fn quoted(&mut self) -> Option<String> {
        self.i += 1; // opening quote
        // The text between escapes, piece by piece: an escaped character starts the
        // next piece (and is skipped over, so that `\"` does not end the string).
        let mut out = String::new();
        let mut piece = self.i;
        while let Some(b) = self.peek() {
            match b {
                b'"' => {
                    out.push_str(self.t.get(piece..self.i).unwrap_or_default());
                    self.i += 1;
                    return Some(out);
                }
                b'\\' => {
                    out.push_str(self.t.get(piece..self.i).unwrap_or_default());
                    self.i += 1;
                    piece = self.i;
                    if self.peek().is_some() {
                        self.i += 1;
                    }
                }
                _ => self.i += 1,
            }
        }
        None
    }
}

/// Parses `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, relative
/// to `now`. Dates in the past give zero.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let when = Timestamp::from_unix_secs(crate::time::parse_http_date(value)?);
    Some(when.saturating_duration_since(now))
}

/// Rate-limit details of a response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitInfo {
    /// The policy name, e.g. `dev:memories`.
    pub policy: Option<String>,
    /// The limit, e.g. `120/hr`.
    pub limit: Option<String>,
    /// How long to wait.
    pub retry_after: Option<Duration>,
}

/// Reads the policy, limit and wait from a (usually 429) response, in this order:
/// `Retry-After`; the IETF `RateLimit-Policy` header (`"dev:memories";q=120;w=3600`);
/// `X-RateLimit-Policy`/`X-RateLimit-Limit`/`X-RateLimit-Reset`; and a JSON body with
/// `policy`/`limit` (top level or under `error`) or a `detail` such as
/// `Rate limited: dev:memories (120/hr)`. A numeric `policy`/`limit` is shown as the
/// server wrote it (`120`, `2.5`).
pub fn rate_limit_info(response: &HttpResponse, now: Timestamp) -> RateLimitInfo {
    let mut info = RateLimitInfo {
        retry_after: response
            .header("retry-after")
            .and_then(|v| parse_retry_after(v, now)),
        ..RateLimitInfo::default()
    };
    if let Some(policy) = response.header("ratelimit-policy") {
        parse_ietf_policy(policy, &mut info);
    }
    if info.policy.is_none() {
        info.policy = response
            .header("x-ratelimit-policy")
            .map(sanitize_server_text);
    }
    if info.limit.is_none() {
        info.limit = response
            .header("x-ratelimit-limit")
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() < 32)
            .map(sanitize_server_text);
    }
    if info.retry_after.is_none() {
        let reset = response
            .header("ratelimit-reset")
            .or_else(|| response.header("x-ratelimit-reset"));
        if let Some(secs) = reset.and_then(|v| v.trim().parse::<u64>().ok()) {
            // Some servers send an epoch time, others a delta.
            info.retry_after = Some(if secs > 1_000_000_000 {
                Timestamp::from_unix_secs(secs).saturating_duration_since(now)
            } else {
                Duration::from_secs(secs)
            });
        }
    }
    if let Some(body) = json::Value::parse(&response.body) {
        let obj = body.get("error").filter(|e| e.is_object()).unwrap_or(&body);
        let text = |key: &str| {
            let v = obj.get(key)?;
            match v.as_str() {
                Some(s) => Some(sanitize_server_text(s)),
                None => v.number_text().map(str::to_string),
            }
        };
        info.policy = info.policy.or_else(|| text("policy"));
        info.limit = info.limit.or_else(|| text("limit"));
        if info.retry_after.is_none() {
            info.retry_after = obj
                .get("retry_after")
                .and_then(json::Value::as_u64)
                .map(Duration::from_secs);
        }
        if info.policy.is_none() {
            let detail = body_detail_of(&body);
            if let Some((p, l)) = detail.as_deref().and_then(parse_limit_sentence) {
                info.policy = Some(p);
                info.limit = info.limit.or(l);
            }
        }
    }
    info
}

/// `Rate limited: dev:memories (120/hr)` → (`dev:memories`, `120/hr`).
fn parse_limit_sentence(text: &str) -> Option<(String, Option<String>)> {
    const MARK: &[u8] = b"rate limited:";
    let lower = text.to_ascii_lowercase();
    let idx = lower
        .as_bytes()
        .windows(MARK.len())
        .position(|w| w == MARK)?;
    let rest = text.get(idx + MARK.len()..)?.trim();
    let (policy, limit) = match rest.split_once('(') {
        Some((p, l)) => (
            p.trim(),
            l.split_once(')').map(|(l, _)| l.trim().to_string()),
        ),
        None => (rest.split_whitespace().next().unwrap_or_default(), None),
    };
    (!policy.is_empty()).then(|| (policy.to_string(), limit))
}

/// `"dev:memories";q=120;w=3600` (and the older `120;w=3600`).
fn parse_ietf_policy(value: &str, info: &mut RateLimitInfo) {
    let first = value.split(',').next().unwrap_or_default().trim();
    let mut parts = first.split(';').map(str::trim);
    let head = parts.next().unwrap_or_default();
    let mut quota: Option<String> = None;
    let mut window: Option<u64> = None;
    if let Some(name) = head.strip_prefix('"').and_then(|h| h.strip_suffix('"')) {
        if !name.is_empty() {
            info.policy = Some(sanitize_server_text(name));
        }
    } else if head.bytes().all(|b| b.is_ascii_digit()) && !head.is_empty() {
        quota = Some(head.to_string());
    } else if !head.is_empty() {
        info.policy = Some(sanitize_server_text(head));
    }
    for p in parts {
        match p.split_once('=') {
            Some(("q", v)) if v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty() => {
                quota = Some(v.to_string());
            }
            Some(("w", v)) => window = v.parse().ok(),
            _ => {}
        }
    }
    if let Some(q) = quota {
        info.limit = Some(match window {
            Some(1) => [q.as_str(), "/s"].concat(),
            Some(60) => [q.as_str(), "/min"].concat(),
            Some(3600) => [q.as_str(), "/hr"].concat(),
            Some(86_400) => [q.as_str(), "/day"].concat(),
            Some(w) => [q.as_str(), "/", &crate::encoding::decimal(w), "s"].concat(),
            None => q,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::from_unix_secs(1_795_341_600);

    #[test]
    fn www_authenticate() {
        let c = parse_www_authenticate(
            r#"Bearer realm="example", error="insufficient_scope", scope="memories:write", error_description="The \"x\" scope""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "Bearer");
        assert_eq!(c[0].param("scope"), Some("memories:write"));
        assert_eq!(c[0].param("error_description"), Some("The \"x\" scope"));
        let c = parse_www_authenticate(r#"Basic realm="a", Bearer error=invalid_token"#);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].param("error"), Some("invalid_token"));
        let c = parse_www_authenticate("Negotiate abc/def==");
        assert_eq!(c[0].token68.as_deref(), Some("abc/def=="));
        // Empty list elements, an unquoted value that is not a token, a quoted
        // string that looks like another challenge.
        let c = parse_www_authenticate(
            r#"Bearer , error=insufficient_scope,, scope=memories:write, Basic realm="x\", Bearer y=\"z", charset=UTF-8"#,
        );
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].param("error"), Some("insufficient_scope"));
        assert_eq!(c[0].param("scope"), Some("memories:write"));
        assert_eq!(c[1].scheme, "Basic");
        assert_eq!(c[1].param("realm"), Some(r#"x", Bearer y="z"#));
        assert_eq!(c[1].param("charset"), Some("UTF-8"));
        // Every field counts (RFC 9110 §11.6.1), in order.
        let r = HttpResponse::new(401)
            .with_header("WWW-Authenticate", r#"Basic realm="a, b""#)
            .with_header("Content-Type", "text/plain")
            .with_header(
                "www-authenticate",
                r#"DPoP algs="ES256", Bearer error="invalid_token""#,
            );
        let all = challenges(&r);
        let schemes: Vec<&str> = all.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Basic", "DPoP", "Bearer"]);
        assert_eq!(all[2].param("error"), Some("invalid_token"));
        assert!(parse_www_authenticate("").is_empty());
        for junk in [
            "\"",
            "=,=",
            "Bearer =",
            "Bearer a=\"unterminated",
            ",,,",
            "a b c d",
            "Bearer x=y z",
        ] {
            let _ = parse_www_authenticate(junk);
        }
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("12", NOW), Some(Duration::from_secs(12)));
        assert_eq!(parse_retry_after(" 0 ", NOW), Some(Duration::ZERO));
        let date = "Sun, 22 Nov 2026 10:01:00 GMT";
        assert_eq!(parse_retry_after(date, NOW), Some(Duration::from_secs(60)));
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 09:00:00 GMT", NOW),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", NOW), None);
        assert_eq!(parse_retry_after("-1", NOW), None);
        assert_eq!(
            parse_retry_after("99999999999999999999999", NOW),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn rate_limit_sources() {
        let r = HttpResponse::new(429)
            .with_header("Retry-After", "12")
            .with_header("RateLimit-Policy", "\"dev:memories\";q=120;w=3600");
        let e = api_error(&r, NOW).unwrap();
        assert_eq!(e.to_string(), "Rate limited: dev:memories (120/hr)");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(12)));

        let r = HttpResponse::json(
            429,
            &serde_json::json!({"detail": "Rate limited: dev:conversations (25/hr)"}),
        );
        let i = rate_limit_info(&r, NOW);
        assert_eq!(
            (i.policy.as_deref(), i.limit.as_deref(), i.retry_after),
            (Some("dev:conversations"), Some("25/hr"), None)
        );

        let r = HttpResponse::json(
            429,
            &serde_json::json!({"error": {"policy": "p", "limit": 5, "retry_after": 3}}),
        );
        let i = rate_limit_info(&r, NOW);
        assert_eq!(
            (i.policy.as_deref(), i.limit.as_deref(), i.retry_after),
            (Some("p"), Some("5"), Some(Duration::from_secs(3)))
        );

        // A numeric policy or limit is kept as the server wrote it; the sentence is
        // found case-insensitively after non-ASCII text; a repeated key: the last.
        let r =
            HttpResponse::new(429).with_body(r#"{"policy": 7, "limit": 2.50, "retry_after": 1.5}"#);
        let i = rate_limit_info(&r, NOW);
        assert_eq!(
            (i.policy.as_deref(), i.limit.as_deref(), i.retry_after),
            (Some("7"), Some("2.50"), None)
        );
        let r = HttpResponse::new(429)
            .with_body(r#"{"detail": "x", "detail": "Ünïcode — RATE LIMITED: p:q (1/s) now"}"#);
        let i = rate_limit_info(&r, NOW);
        assert_eq!(
            (i.policy.as_deref(), i.limit.as_deref()),
            (Some("p:q"), Some("1/s"))
        );

        let r = HttpResponse::new(429)
            .with_header("X-RateLimit-Reset", "1795341630")
            .with_header("X-RateLimit-Limit", "100");
        let i = rate_limit_info(&r, NOW);
        assert_eq!(
            (i.limit.as_deref(), i.retry_after),
            (Some("100"), Some(Duration::from_secs(30)))
        );
    }

    #[test]
    fn api_errors() {
        assert_eq!(api_error(&HttpResponse::new(204), NOW), None);
        let r = HttpResponse::new(403).with_header(
            "WWW-Authenticate",
            r#"Bearer error="insufficient_scope", scope="memories:write""#,
        );
        assert_eq!(
            api_error(&r, NOW),
            Some(Error::InsufficientPermissions {
                required_scope: Some("memories:write".into())
            })
        );
        let r = HttpResponse::json(401, &serde_json::json!({"detail": "Invalid API key"}));
        assert_eq!(
            api_error(&r, NOW),
            Some(Error::Unauthorized {
                detail: Some("Invalid API key".into())
            })
        );
        assert_eq!(
            api_error(&HttpResponse::new(502), NOW),
            Some(Error::Server { status: 502 })
        );
        assert_eq!(
            api_error(&HttpResponse::new(404), NOW),
            Some(Error::NotFound { what: None })
        );
        assert!(matches!(
            api_error(&HttpResponse::new(302), NOW),
            Some(Error::Protocol { .. })
        ));
        assert_eq!(
            api_error(
                &HttpResponse::json(422, &serde_json::json!({"message": "bad field"})),
                NOW
            ),
            Some(Error::Rejected {
                status: 422,
                detail: Some("bad field".into())
            })
        );
    }

    #[test]
    fn debug_redacts() {
        let req = HttpRequest::post_form("https://a/token?code=abc", "refresh_token=secret".into())
            .with_bearer("tok-secret");
        let dbg = format!("{req:?}");
        assert!(!dbg.contains("secret") && !dbg.contains("abc"), "{dbg}");
        let resp = HttpResponse::json(200, &serde_json::json!({"access_token": "secret"}))
            .with_header("Set-Cookie", "sid=secret");
        assert!(!format!("{resp:?}").contains("secret"));
    }
}

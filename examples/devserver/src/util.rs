//! Small HTTP helpers: form and JSON bodies, OAuth error responses, cookies, origins,
//! HTML escaping and time.

use std::time::SystemTime;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cliauth_core::Timestamp;
use serde_json::Value;

/// The wall clock as a core [`Timestamp`].
pub(crate) fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

/// Whole seconds from `now` until `later`, rounded up (at least `min`).
pub(crate) fn secs_until_ceil(now: Timestamp, later: Timestamp, min: u64) -> u64 {
    let ms = later.unix_millis().saturating_sub(now.unix_millis());
    ms.div_ceil(1000).max(min)
}

/// An internal failure (state file, entropy). Answers 500 with a JSON body that names
/// the cause (never a secret).
#[derive(Debug)]
pub(crate) struct ServerError(pub(crate) String);

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": "server_error",
            "error_description": format!("dev server failure: {}", self.0),
        });
        json_response(StatusCode::INTERNAL_SERVER_ERROR, &body, true)
    }
}

/// A JSON response; `no_store` adds `Cache-Control: no-store` and `Pragma: no-cache`
/// (RFC 6749 §5.1, required on every response that carries tokens).
pub(crate) fn json_response(status: StatusCode, body: &Value, no_store: bool) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if no_store {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    response
}

/// An OAuth error response (RFC 6749 §5.2): JSON `error` and `error_description`,
/// never cached.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({ "error": error, "error_description": description });
    json_response(status, &body, true)
}

/// A JSON API error: `{"error": code, "detail": message}` (`detail` is what CLIs show).
pub(crate) fn api_error(status: StatusCode, error: &str, detail: &str) -> Response {
    let body = serde_json::json!({ "error": error, "detail": detail });
    json_response(status, &body, true)
}

/// The media type of `Content-Type`, lower-cased, without parameters.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

/// A parsed `application/x-www-form-urlencoded` body or query.
///
/// RFC 6749 §3.1: parameters sent without a value are treated as omitted, and
/// parameters must not be repeated.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Parses form-encoded text; a repeated parameter is an error naming it.
    pub(crate) fn parse(text: &[u8]) -> Result<Params, String> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(text) {
            if v.is_empty() {
                continue;
            }
            if out.iter().any(|(name, _)| *name == k) {
                return Err(format!("the `{k}` parameter appears more than once"));
            }
            out.push((k.into_owned(), v.into_owned()));
        }
        Ok(Params(out))
    }

    /// Parses a form body after checking its content type.
    pub(crate) fn from_form_body(headers: &HeaderMap, body: &[u8]) -> Result<Params, String> {
        match media_type(headers).as_deref() {
            Some("application/x-www-form-urlencoded") => Params::parse(body),
            _ => Err("the request body must be application/x-www-form-urlencoded".into()),
        }
    }

    /// A parameter's value.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a JSON object body, insisting on `Content-Type: application/json` (a
/// cross-site form cannot send it without a CORS preflight this server never grants,
/// which is the CSRF defence of the JSON endpoints). An empty body is an empty object.
pub(crate) fn json_object(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Map<String, Value>, Box<Response>> {
    let is_json =
        media_type(headers).is_some_and(|m| m == "application/json" || m.ends_with("+json"));
    if !is_json {
        return Err(Box::new(api_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "send a JSON body with Content-Type: application/json",
        )));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Box::new(api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be a JSON object",
        ))),
    }
}

/// The value of a cookie, from every `Cookie` header.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// Whether a request's `Origin` (if any) is this server's own origin. Browsers send
/// `Origin` on every cross-origin request and on same-origin POSTs; requests without
/// it come from non-browser clients and are allowed.
pub(crate) fn origin_allowed(headers: &HeaderMap, port: u16) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    is_own_authority(origin.strip_prefix("http://").unwrap_or(""), port)
}

/// Whether the request's `Origin` is the opaque `null`.
pub(crate) fn origin_is_null(headers: &HeaderMap) -> bool {
    headers
        .get(header::ORIGIN)
        .is_some_and(|o| o.as_bytes() == b"null")
}

/// Whether `authority` (`host:port`) names this server on a loopback host.
pub(crate) fn is_own_authority(authority: &str, port: u16) -> bool {
    let Some((host, p)) = authority.rsplit_once(':') else {
        return false;
    };
    let host_ok = matches!(
        host.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "localhost" | "[::1]"
    );
    host_ok && p.parse::<u16>().ok() == Some(port)
}

/// The standard refusal of a cross-origin browser request.
pub(crate) fn forbidden_origin() -> Response {
    api_error(
        StatusCode::FORBIDDEN,
        "invalid_origin",
        "cross-origin requests are not accepted",
    )
}

pub(crate) use cliauth_core::encoding::html_escape;

/// Appends form-encoded pairs to a URL that may already have a query.
pub(crate) fn append_query(url: &str, pairs: &[(&str, &str)]) -> String {
    cliauth_core::encoding::append_query(url, pairs.iter().copied())
}

/// A redirect with a `Location` header.
pub(crate) fn redirect(status: StatusCode, location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = status.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => ServerError("cannot build the redirect location".into()).into_response(),
    }
}

/// Formats a quota and window the way `RateLimit-Policy` consumers display them
/// (`120/hr`), matching cliauth-core's reading of the header.
pub(crate) fn limit_text(quota: u32, window_secs: u64) -> String {
    match window_secs {
        1 => format!("{quota}/s"),
        60 => format!("{quota}/min"),
        3600 => format!("{quota}/hr"),
        86_400 => format!("{quota}/day"),
        w => format!("{quota}/{w}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_refuse_repeats_and_ignore_empty() {
        let p = Params::parse(b"a=1&b=&c=x+y").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y"));
        assert!(Params::parse(b"a=1&a=2").is_err());
        assert!(Params::parse(b"a=&a=2").is_ok());
    }

    #[test]
    fn queries_and_authorities() {
        assert_eq!(
            append_query("http://127.0.0.1:5/cb", &[("code", "a b"), ("state", "s")]),
            "http://127.0.0.1:5/cb?code=a+b&state=s"
        );
        assert_eq!(
            append_query("http://127.0.0.1:5/cb?x=1", &[("code", "c")]),
            "http://127.0.0.1:5/cb?x=1&code=c"
        );
        assert!(is_own_authority("127.0.0.1:8080", 8080));
        assert!(is_own_authority("localhost:8080", 8080));
        assert!(!is_own_authority("127.0.0.1:8081", 8080));
        assert!(!is_own_authority("evil.example:8080", 8080));
        assert_eq!(limit_text(120, 3600), "120/hr");
        assert_eq!(limit_text(2, 3), "2/3s");
    }
}

//! Dev-only hooks under `/_dev/`: statistics, fault injection and reset; and the
//! front middleware (Host check, counting, faults, the secret recorder, request log).
//!
//! Statistics and faults belong to one server instance (they are not in the state
//! file).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::App;
use crate::util::{
    ServerError, api_error, forbidden_origin, is_own_authority, json_object, json_response,
    origin_allowed,
};

/// The largest body a fault may produce.
const MAX_FAULT_BODY: usize = 256 * 1024 * 1024;

/// Counters of one server instance.
#[derive(Debug, Default)]
struct Stats {
    requests: BTreeMap<String, u64>,
    token_grants: BTreeMap<String, u64>,
    refreshes: u64,
    refresh_reuse_detected: u64,
    device_polls: u64,
    slow_downs: u64,
    rate_limited: u64,
    faults_served: u64,
}

/// A fault to inject: the next `count` requests to `path` (and `method`, if given)
/// are delayed by `delay_ms` and, when `status` is given, answered with this response
/// instead of the real one. `hold_ms` holds the answer after it was produced: the
/// server has acted (a refresh token rotated) and the client waits for the result —
/// the window in which an interrupted client loses what the server did.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fault {
    path: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default = "one")]
    count: u32,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    body: Option<String>,
    /// Repeat (and cut) the body to exactly this many bytes.
    #[serde(default)]
    body_size: Option<usize>,
    /// Send only this many bytes of the body, then drop the connection.
    #[serde(default)]
    abort_after: Option<usize>,
    #[serde(default)]
    delay_ms: u64,
    /// After the response is produced, wait this long before sending it.
    #[serde(default)]
    hold_ms: u64,
}

fn one() -> u32 {
    1
}

impl Fault {
    fn validate(&self) -> Result<(), String> {
        if !self.path.starts_with('/') || self.path.contains('?') {
            return Err("path must be a path such as /token (no query)".into());
        }
        if self.path.starts_with("/_dev/") {
            return Err("faults cannot target /_dev/".into());
        }
        if self.count == 0 || self.count > 10_000 {
            return Err("count must be 1 to 10000".into());
        }
        if self.delay_ms > 120_000 || self.hold_ms > 120_000 {
            return Err("delay_ms and hold_ms must be at most 120000".into());
        }
        if let Some(m) = &self.method
            && axum::http::Method::from_bytes(m.as_bytes()).is_err()
        {
            return Err("method is not an HTTP method".into());
        }
        match self.status {
            Some(s) if StatusCode::from_u16(s).is_err() || s < 200 => {
                return Err("status must be 200 to 999".into());
            }
            None if !self.headers.is_empty()
                || self.body.is_some()
                || self.content_type.is_some()
                || self.body_size.is_some()
                || self.abort_after.is_some() =>
            {
                return Err(
                    "a response (headers, body, content_type, body_size, abort_after) needs a status"
                        .into(),
                );
            }
            _ => {}
        }
        if self.body_size.is_some_and(|n| n > MAX_FAULT_BODY) {
            return Err(format!("body_size must be at most {MAX_FAULT_BODY}"));
        }
        for (name, value) in &self.headers {
            if HeaderName::from_bytes(name.as_bytes()).is_err()
                || HeaderValue::from_str(value).is_err()
            {
                return Err(format!("invalid header `{name}`"));
            }
        }
        if let Some(ct) = &self.content_type
            && HeaderValue::from_str(ct).is_err()
        {
            return Err("invalid content_type".into());
        }
        Ok(())
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.path == path
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }

    fn body_bytes(&self) -> Vec<u8> {
        let base = self.body.clone().unwrap_or_default().into_bytes();
        match self.body_size {
            None => base,
            Some(size) => {
                let unit = if base.is_empty() { b" ".to_vec() } else { base };
                unit.iter().copied().cycle().take(size).collect()
            }
        }
    }

    /// The injected response, if this fault has one.
    fn response(&self) -> Option<Response> {
        let status = StatusCode::from_u16(self.status?).ok()?;
        let body = Bytes::from(self.body_bytes());
        let full_len = body.len();
        let body = match self.abort_after {
            Some(n) if n < full_len => {
                use futures_util::StreamExt;
                // Headers and the first bytes go out; a moment later the stream
                // fails, and the server drops the connection mid-body.
                let head =
                    futures_util::stream::iter([Ok::<Bytes, std::io::Error>(body.slice(..n))]);
                let tail = futures_util::stream::once(async {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Err(std::io::Error::other("injected fault: connection aborted"))
                });
                Body::from_stream(head.chain(tail))
            }
            _ => Body::from(body),
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let h = response.headers_mut();
        if let Some(ct) = self
            .content_type
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok())
        {
            h.insert(header::CONTENT_TYPE, ct);
        }
        if self.abort_after.is_some_and(|n| n < full_len) {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(full_len));
        }
        for (name, value) in &self.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                h.append(n, v);
            }
        }
        Some(response)
    }

    fn to_json(&self) -> Value {
        json!({
            "path": self.path, "method": self.method, "count": self.count,
            "status": self.status, "delay_ms": self.delay_ms, "hold_ms": self.hold_ms,
        })
    }
}

/// Statistics and pending faults of one server instance.
#[derive(Debug, Default)]
pub(crate) struct DevHooks {
    stats: Mutex<Stats>,
    faults: Mutex<Vec<Fault>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The statistics key of a request: `METHOD /path`, with file and id segments folded.
fn endpoint_key(method: &str, path: &str) -> String {
    let folded = if path.starts_with("/pkg/") {
        "/pkg/*"
    } else if path.starts_with("/assets/") {
        "/assets/*"
    } else if path.starts_with("/api/keys/") {
        "/api/keys/{id}"
    } else if path.len() > 64 {
        "(long path)"
    } else {
        path
    };
    format!("{method} {folded}")
}

impl DevHooks {
    fn count_request(&self, method: &str, path: &str) {
        *lock(&self.stats)
            .requests
            .entry(endpoint_key(method, path))
            .or_default() += 1;
    }

    pub(crate) fn count_grant(&self, grant_type: &str) {
        let key = match grant_type {
            "authorization_code" | "refresh_token" | "(none)" => grant_type,
            cliauth_core::token::DEVICE_CODE_GRANT => "device_code",
            _ => "(other)",
        };
        *lock(&self.stats)
            .token_grants
            .entry(key.to_string())
            .or_default() += 1;
    }

    pub(crate) fn count_refresh(&self) {
        lock(&self.stats).refreshes += 1;
    }

    pub(crate) fn count_refresh_reuse(&self) {
        lock(&self.stats).refresh_reuse_detected += 1;
    }

    pub(crate) fn count_device_poll(&self) {
        lock(&self.stats).device_polls += 1;
    }

    pub(crate) fn count_slow_down(&self) {
        lock(&self.stats).slow_downs += 1;
    }

    pub(crate) fn count_rate_limited(&self) {
        lock(&self.stats).rate_limited += 1;
    }

    /// Takes one use of the first fault matching the request.
    fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let i = faults.iter().position(|f| f.matches(method, path))?;
        let fault = faults[i].clone();
        if faults[i].count <= 1 {
            faults.remove(i);
        } else {
            faults[i].count -= 1;
        }
        Some(fault)
    }

    fn reset(&self) {
        *lock(&self.stats) = Stats::default();
        lock(&self.faults).clear();
    }
}

/// Runs before every route: refuses foreign `Host`s (DNS rebinding), counts the
/// request, serves an injected fault, and logs.
pub(crate) async fn front(State(app): State<App>, request: Request, next: Next) -> Response {
    let host_ok = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| {
            is_own_authority(h, app.port)
                || app
                    .config
                    .extra_hosts
                    .iter()
                    .any(|e| e.eq_ignore_ascii_case(h))
        });
    if !host_ok {
        return api_error(
            StatusCode::MISDIRECTED_REQUEST,
            "invalid_host",
            "This server answers only to 127.0.0.1, localhost or [::1] with its port.",
        );
    }
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    app.dev.count_request(&method, &path);
    let fault = if path.starts_with("/_dev/") {
        None
    } else {
        app.dev.take_fault(&method, &path)
    };
    let mut injected = None;
    let hold = fault.as_ref().map_or(0, |f| f.hold_ms);
    if let Some(fault) = fault {
        if fault.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
        }
        injected = fault.response();
        if injected.is_some() {
            lock(&app.dev.stats).faults_served += 1;
        }
    }
    let response = match (injected, &app.recorder) {
        (Some(r), _) => r,
        (None, None) => next.run(request).await,
        (None, Some(recorder)) => {
            let at = format!("{method} {path}");
            match recorder.request(request, &at).await {
                Ok(request) => {
                    let response = next.run(request).await;
                    recorder.response(response, &at).await
                }
                Err(refused) => refused,
            }
        }
    };
    if hold > 0 {
        tokio::time::sleep(Duration::from_millis(hold)).await;
    }
    if app.config.log_requests {
        // Path only: queries can carry codes and states.
        let _ = writeln!(
            std::io::stderr(),
            "{method} {path} → {}",
            response.status().as_u16()
        );
    }
    response
}

/// `GET /_dev/stats`.
pub(crate) async fn stats(State(app): State<App>) -> Response {
    let s = lock(&app.dev.stats);
    let body = json!({
        "requests": s.requests,
        "token_grants": s.token_grants,
        "refreshes": s.refreshes,
        "refresh_reuse_detected": s.refresh_reuse_detected,
        "device_polls": s.device_polls,
        "slow_downs": s.slow_downs,
        "rate_limited": s.rate_limited,
        "faults_served": s.faults_served,
    });
    drop(s);
    json_response(StatusCode::OK, &body, true)
}

/// `POST /_dev/faults`: queue a fault (see [`Fault`]).
pub(crate) async fn faults_add(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !origin_allowed(&headers, app.port) {
        return forbidden_origin();
    }
    let map = match json_object(&headers, &body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let fault: Fault = match serde_json::from_value(Value::Object(map)) {
        Ok(f) => f,
        Err(e) => {
            return api_error(StatusCode::BAD_REQUEST, "invalid_fault", &e.to_string());
        }
    };
    if let Err(reason) = fault.validate() {
        return api_error(StatusCode::BAD_REQUEST, "invalid_fault", &reason);
    }
    let mut faults = lock(&app.dev.faults);
    faults.push(fault);
    let pending = faults.len();
    drop(faults);
    json_response(StatusCode::CREATED, &json!({ "pending": pending }), true)
}

/// `GET /_dev/faults`: the pending faults.
pub(crate) async fn faults_list(State(app): State<App>) -> Response {
    let list: Vec<Value> = lock(&app.dev.faults).iter().map(Fault::to_json).collect();
    json_response(StatusCode::OK, &json!({ "faults": list }), true)
}

/// `DELETE /_dev/faults`: drop every pending fault.
pub(crate) async fn faults_clear(State(app): State<App>, headers: HeaderMap) -> Response {
    if !origin_allowed(&headers, app.port) {
        return forbidden_origin();
    }
    lock(&app.dev.faults).clear();
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_dev/reset`: the seed state (also in the state file), no statistics, no
/// faults.
pub(crate) async fn reset(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    if !origin_allowed(&headers, app.port) {
        return Ok(forbidden_origin());
    }
    app.store.reset().await?;
    app.dev.reset();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "reset": true }),
        true,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_validation_and_bodies() {
        let f: Fault = serde_json::from_value(json!({
            "path": "/token", "status": 200, "body": "ab", "body_size": 5
        }))
        .unwrap();
        assert!(f.validate().is_ok());
        assert_eq!(f.body_bytes(), b"ababa");
        assert!(f.matches("POST", "/token") && !f.matches("POST", "/revoke"));
        for bad in [
            json!({"path": "token", "status": 500}),
            json!({"path": "/_dev/stats", "status": 500}),
            json!({"path": "/token", "body": "x"}),
            json!({"path": "/token", "status": 99}),
            json!({"path": "/token", "status": 500, "count": 0}),
        ] {
            let f: Fault = serde_json::from_value(bad.clone()).unwrap();
            assert!(f.validate().is_err(), "{bad}");
        }
        assert!(serde_json::from_value::<Fault>(json!({"path": "/x", "bogus": 1})).is_err());
        assert_eq!(endpoint_key("GET", "/pkg/a.js"), "GET /pkg/*");
    }
}

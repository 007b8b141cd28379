//! The secret recorder (`--record-secrets FILE`, [`DevServerConfig::record_secrets`]):
//! a test-only tap that appends every secret crossing the server's HTTP boundary to a
//! file, so that end-to-end tests can scan a CLI's output and files for them.
//!
//! **Dev only, off by default.** The file holds live credentials in clear text.
//!
//! It records by field name, in both directions, whether or not the server accepts
//! the value (a forged or replayed value is recorded too):
//!
//! | Where | Fields | Kinds |
//! | --- | --- | --- |
//! | request body (form or JSON, top level) | `code`, `code_verifier`, `refresh_token`, `device_code`, `token`, `access_token`, `api_key`, `client_secret` | by prefix, else by field |
//! | request `Authorization: Bearer …` | the token | by prefix (`access_token`, `api_key`, …), else `bearer` |
//! | JSON response (top level) | `access_token`, `refresh_token`, `device_code`, `api_key`, `code` | by prefix, else by field |
//! | response `Location` (query and fragment) | `code` | by prefix |
//! | response `Set-Cookie` | the session cookie | `session_cookie` |
//! | JSON response | `user_code` | `user_code`, with `"secret": false` |
//!
//! User codes are recorded with `"secret": false`: RFC 8628 means them to be shown to
//! the user, so scanners must not count them (and can use them to check that they
//! captured the CLI's output at all). `state` and `code_challenge` are not recorded:
//! they travel in the authorization URL the CLI prints by design.
//!
//! Each line is `{"kind": …, "secret": true|false, "value": …, "at": "POST /token"}`;
//! a value is written once. The file is created with mode 0600 and appended to.
//!
//! [`DevServerConfig::record_secrets`]: crate::DevServerConfig::record_secrets

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::util::{media_type, oauth_error};
use crate::{DEV_KEY_PREFIX, DevServerError, SESSION_COOKIE};

/// Request bodies larger than this are not read (axum's default body limit: the
/// handlers would refuse them anyway).
const MAX_REQUEST_BODY: usize = 2 * 1024 * 1024;
/// JSON responses larger than this are passed through unread (the server's own
/// responses are far smaller; only injected faults are large, and those are not
/// inspected).
const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// Request fields that carry secrets.
const REQUEST_FIELDS: &[&str] = &[
    "code",
    "code_verifier",
    "refresh_token",
    "device_code",
    "token",
    "access_token",
    "api_key",
    "client_secret",
];
/// JSON response fields that carry secrets.
const RESPONSE_FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "device_code",
    "api_key",
    "code",
];

/// The recorder of one server.
pub(crate) struct Recorder {
    path: PathBuf,
    inner: Mutex<(File, HashSet<String>)>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the recorded values.
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Opens (creates, mode 0600) `path` for appending.
    pub(crate) fn open(path: &Path) -> Result<Recorder, DevServerError> {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(path)
            .map_err(|source| DevServerError::SecretRecord {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Recorder {
            path: path.to_path_buf(),
            inner: Mutex::new((file, HashSet::new())),
        })
    }

    /// Appends one value (once per value).
    fn record(&self, kind: &str, secret: bool, value: &str, at: &str) {
        if value.is_empty() {
            return;
        }
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (file, seen) = &mut *guard;
        if !seen.insert(value.to_string()) {
            return;
        }
        let line = json!({ "kind": kind, "secret": secret, "value": value, "at": at });
        // Write errors are reported once per value on stderr; the request goes on.
        if let Err(e) = writeln!(file, "{line}").and_then(|()| file.flush()) {
            let _ = writeln!(
                std::io::stderr(),
                "cliauth-devserver: cannot record a secret in {}: {e}",
                self.path.display()
            );
        }
    }

    /// Records the secrets of a request and gives it back (its body re-assembled).
    pub(crate) async fn request(&self, request: Request, at: &str) -> Result<Request, Response> {
        if let Some(bearer) = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            self.record(
                kind_by_prefix(bearer.trim(), "bearer"),
                true,
                bearer.trim(),
                at,
            );
        }
        let media = media_type(request.headers());
        let form = media.as_deref() == Some("application/x-www-form-urlencoded");
        let json = media.as_deref() == Some("application/json");
        if !form && !json {
            return Ok(request);
        }
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_REQUEST_BODY).await else {
            return Err(oauth_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "the request body is too large",
            ));
        };
        let pairs: Vec<(String, String)> = if form {
            form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        } else {
            json_strings(&bytes)
        };
        for (name, value) in &pairs {
            if REQUEST_FIELDS.contains(&name.as_str()) {
                self.record(&field_kind(name, value), true, value, at);
            }
        }
        Ok(Request::from_parts(parts, Body::from(bytes)))
    }

    /// Records the secrets of a response and gives it back.
    pub(crate) async fn response(&self, response: Response, at: &str) -> Response {
        self.headers(response.headers(), at);
        if media_type(response.headers()).as_deref() != Some("application/json") {
            return response;
        }
        let (parts, body) = response.into_parts();
        let bytes: Bytes = match axum::body::to_bytes(body, MAX_RESPONSE_BODY).await {
            Ok(b) => b,
            Err(_) => {
                return oauth_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the secret recorder could not read the response",
                );
            }
        };
        for (name, value) in json_strings(&bytes) {
            if RESPONSE_FIELDS.contains(&name.as_str()) {
                self.record(&field_kind(&name, &value), true, &value, at);
            } else if name == "user_code" {
                self.record("user_code", false, &value, at);
            }
        }
        Response::from_parts(parts, Body::from(bytes)).into_response()
    }

    fn headers(&self, headers: &HeaderMap, at: &str) {
        if let Some(location) = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()) {
            let rest = location.split_once(['?', '#']).map_or("", |(_, r)| r);
            for part in rest.split(['?', '#']) {
                for (k, v) in form_urlencoded::parse(part.as_bytes()) {
                    if k == "code" {
                        self.record(&field_kind("code", &v), true, &v, at);
                    }
                }
            }
        }
        let prefix = format!("{SESSION_COOKIE}=");
        for cookie in headers.get_all(header::SET_COOKIE) {
            if let Some(value) = cookie
                .to_str()
                .ok()
                .and_then(|c| c.split(';').next())
                .and_then(|c| c.trim().strip_prefix(&prefix))
            {
                self.record("session_cookie", true, value, at);
            }
        }
    }
}

/// The top-level string fields of a JSON object.
fn json_strings(bytes: &[u8]) -> Vec<(String, String)> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The kind of a value found in field `name`: by the dev server's prefixes first (a
/// handoff exchange answers a dev key in `access_token`), else by the field.
fn field_kind(name: &str, value: &str) -> String {
    let fallback = match name {
        "code" => "authorization_code",
        other => other,
    };
    kind_by_prefix(value, fallback).to_string()
}

/// The kind of a dev server secret from its prefix, else `fallback`.
fn kind_by_prefix<'a>(value: &str, fallback: &'a str) -> &'a str {
    const KINDS: &[(&str, &str)] = &[
        ("demo_at_", "access_token"),
        ("demo_rt_", "refresh_token"),
        ("demo_ac_", "authorization_code"),
        ("demo_hc_", "handoff_code"),
        ("demo_dc_", "device_code"),
        (DEV_KEY_PREFIX, "api_key"),
    ];
    KINDS
        .iter()
        .find(|(prefix, _)| value.starts_with(prefix))
        .map_or(fallback, |(_, kind)| kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(field_kind("code", "demo_hc_abc"), "handoff_code");
        assert_eq!(field_kind("code", "xyz"), "authorization_code");
        assert_eq!(field_kind("token", "demo_rt_abc"), "refresh_token");
        assert_eq!(field_kind("token", "opaque"), "token");
        assert_eq!(field_kind("code_verifier", "v"), "code_verifier");
        assert_eq!(field_kind("access_token", "demo_dev_x"), "api_key");
        assert_eq!(kind_by_prefix("demo_dev_x", "bearer"), "api_key");
        assert_eq!(kind_by_prefix("eyJ…", "bearer"), "bearer");
        assert_eq!(
            json_strings(br#"{"a":"x","b":1,"c":{"d":"y"}}"#),
            vec![("a".to_string(), "x".to_string())]
        );
        assert!(json_strings(b"[1]").is_empty());
    }
}

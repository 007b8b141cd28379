//! The protected API (RFC 6750): `/api/whoami`, `/api/memories`, `/api/keys`, with
//! per-policy rate limits.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cliauth_core::Timestamp;
use cliauth_core::keys::KeyRegistry;
use serde_json::{Value, json};

use crate::oauth::{DEFAULT_KEY_SCOPES, SCOPES};
use crate::pages::SessionCookie;
use crate::random::{hash, token};
use crate::store::{ApiKeyRecord, RateWindow, State as Db, User};
use crate::util::{
    ServerError, api_error, forbidden_origin, json_object, json_response, limit_text,
    origin_allowed, secs_until_ceil,
};
use crate::{App, RateLimitPolicy, dev_key_format};

/// How a request authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Credential {
    AccessToken,
    ApiKey,
    Session,
}

impl Credential {
    fn as_str(self) -> &'static str {
        match self {
            Credential::AccessToken => "access_token",
            Credential::ApiKey => "api_key",
            Credential::Session => "session",
        }
    }
}

/// The authenticated caller.
#[derive(Clone, Debug)]
struct Principal {
    user: User,
    scopes: Vec<String>,
    credential: Credential,
}

/// The `Authorization` header, read per RFC 6750 §2.1.
enum Bearer {
    /// No bearer credentials (no header, or another scheme).
    Missing,
    /// A `Bearer` header without a well-formed token.
    Malformed,
    Token(String),
}

fn bearer(headers: &HeaderMap) -> Bearer {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Bearer::Missing;
    };
    if values.next().is_some() {
        return Bearer::Malformed;
    }
    let Ok(value) = value.to_str() else {
        return Bearer::Malformed;
    };
    let Some((scheme, rest)) = value.split_once(' ') else {
        return if value.eq_ignore_ascii_case("bearer") {
            Bearer::Malformed
        } else {
            Bearer::Missing
        };
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Bearer::Missing;
    }
    let token = rest.trim_start_matches(' ');
    let body = token.trim_end_matches('=');
    let ok = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if ok {
        Bearer::Token(token.to_string())
    } else {
        Bearer::Malformed
    }
}

/// The user, scopes and kind of a bearer token, or why it is not valid.
fn resolve_token(db: &mut Db, now: Timestamp, token: &str) -> Result<Principal, &'static str> {
    let h = hash(token);
    if let Some(a) = db.access_tokens.get(&h).cloned() {
        if a.revoked {
            return Err("The access token was revoked");
        }
        if a.expires_at <= now {
            return Err("The access token expired");
        }
        return Ok(Principal {
            user: db.user(&a.username),
            scopes: a.scopes,
            credential: Credential::AccessToken,
        });
    }
    if let Some(k) = db.api_keys.get(&h).cloned() {
        if k.revoked_at.is_some() {
            return Err("The API key was revoked");
        }
        return Ok(Principal {
            user: db.user(&k.username),
            scopes: k.scopes,
            credential: Credential::ApiKey,
        });
    }
    Err("The access token is not valid")
}

fn unauthenticated() -> Response {
    let mut r = api_error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Not authenticated",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"cliauth-dev\""),
    );
    r
}

fn invalid_token(description: &str) -> Response {
    let mut r = api_error(StatusCode::UNAUTHORIZED, "invalid_token", description);
    let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{description}\"");
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

fn malformed() -> Response {
    let mut r = api_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "The Authorization header is malformed: send `Authorization: Bearer <token>`",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_request\""),
    );
    r
}

fn insufficient_scope(scope: &str) -> Response {
    let mut r = json_response(
        StatusCode::FORBIDDEN,
        &json!({
            "error": "insufficient_scope",
            "detail": format!("Insufficient permissions: this call needs the {scope} scope"),
            "scope": scope,
        }),
        true,
    );
    let challenge = format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\"");
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// The outcome of a rate-limit check.
enum Rate {
    Allowed { remaining: u32, reset: u64 },
    Limited { retry_after: u64 },
}

fn check_rate(db: &mut Db, now: Timestamp, policy: &RateLimitPolicy, subject: &str) -> Rate {
    let key = format!("{}|{subject}", policy.name);
    let window = db.rate_windows.entry(key).or_insert(RateWindow {
        start: now,
        until: now.saturating_add(policy.window),
        count: 0,
    });
    if window.until <= now {
        *window = RateWindow {
            start: now,
            until: now.saturating_add(policy.window),
            count: 0,
        };
    }
    let reset = secs_until_ceil(now, window.until, 1);
    if window.count >= policy.quota {
        return Rate::Limited { retry_after: reset };
    }
    window.count += 1;
    Rate::Allowed {
        remaining: policy.quota - window.count,
        reset,
    }
}

fn policy_header(policy: &RateLimitPolicy) -> String {
    format!(
        "\"{}\";q={};w={}",
        policy.name,
        policy.quota,
        policy.window.as_secs()
    )
}

type ExtraHeaders = Vec<(HeaderName, String)>;

/// Authenticates a bearer request, checks `scope`, and applies the path's rate-limit
/// policy. On success, returns the caller and the `RateLimit` headers to add.
async fn protect(
    app: &App,
    headers: &HeaderMap,
    path: &'static str,
    scope: Option<&'static str>,
) -> Result<Result<(Principal, ExtraHeaders), Response>, ServerError> {
    let token = match bearer(headers) {
        Bearer::Missing => return Ok(Err(unauthenticated())),
        Bearer::Malformed => return Ok(Err(malformed())),
        Bearer::Token(t) => t,
    };
    let policy = app.policy_for(path).cloned();
    let dev = std::sync::Arc::clone(&app.dev);
    app.store
        .transact(move |db, now| {
            let principal = match resolve_token(db, now, &token) {
                Ok(p) => p,
                Err(description) => return Ok(Err(invalid_token(description))),
            };
            if let Some(scope) = scope
                && !principal.scopes.iter().any(|s| s == scope)
            {
                return Ok(Err(insufficient_scope(scope)));
            }
            let mut extra = Vec::new();
            if let Some(policy) = policy {
                let policy_value = policy_header(&policy);
                match check_rate(db, now, &policy, &principal.user.sub) {
                    Rate::Allowed { remaining, reset } => {
                        extra.push((HeaderName::from_static("ratelimit-policy"), policy_value));
                        extra.push((
                            HeaderName::from_static("ratelimit"),
                            format!("\"{}\";r={remaining};t={reset}", policy.name),
                        ));
                    }
                    Rate::Limited { retry_after } => {
                        dev.count_rate_limited();
                        let detail = format!(
                            "Rate limited: {} ({})",
                            policy.name,
                            limit_text(policy.quota, policy.window.as_secs())
                        );
                        let mut r = json_response(
                            StatusCode::TOO_MANY_REQUESTS,
                            &json!({ "detail": detail }),
                            true,
                        );
                        let h = r.headers_mut();
                        h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                        if let Ok(v) = HeaderValue::from_str(&policy_value) {
                            h.insert(HeaderName::from_static("ratelimit-policy"), v);
                        }
                        if let Ok(v) = HeaderValue::from_str(&format!(
                            "\"{}\";r=0;t={retry_after}",
                            policy.name
                        )) {
                            h.insert(HeaderName::from_static("ratelimit"), v);
                        }
                        return Ok(Err(r));
                    }
                }
            }
            Ok(Ok((principal, extra)))
        })
        .await?
}

fn with_headers(mut response: Response, extra: ExtraHeaders) -> Response {
    for (name, value) in extra {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

/// `GET /api/whoami`: `{"sub","name","email","scopes"}` of the bearer token's user.
pub(crate) async fn whoami(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let (principal, extra) = match protect(&app, &headers, "/api/whoami", None).await? {
        Ok(ok) => ok,
        Err(r) => return Ok(r),
    };
    let body = json!({
        "sub": principal.user.sub,
        "name": principal.user.name,
        "email": principal.user.email,
        "username": principal.user.username,
        "scopes": principal.scopes,
        "credential": principal.credential.as_str(),
    });
    Ok(with_headers(
        json_response(StatusCode::OK, &body, true),
        extra,
    ))
}

/// `GET /api/memories` (needs `memories:read`; rate limited by `dev:memories`).
pub(crate) async fn memories_list(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let (principal, extra) =
        match protect(&app, &headers, "/api/memories", Some("memories:read")).await? {
            Ok(ok) => ok,
            Err(r) => return Ok(r),
        };
    let body = json!({
        "user": principal.user.sub,
        "memories": [
            { "id": "mem_1", "text": "cliauth keeps secrets out of logs and URLs" },
            { "id": "mem_2", "text": "Refresh tokens rotate on every use" },
            { "id": "mem_3", "text": "Device codes look like WDJB-MJHT" },
        ],
    });
    Ok(with_headers(
        json_response(StatusCode::OK, &body, true),
        extra,
    ))
}

/// `POST /api/memories` (needs `memories:write`): echoes `{"text"}` back as a created
/// memory. Nothing is stored; the endpoint exists to show scope errors.
pub(crate) async fn memories_create(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ServerError> {
    let (_, extra) = match protect(&app, &headers, "/api/memories", Some("memories:write")).await? {
        Ok(ok) => ok,
        Err(r) => return Ok(r),
    };
    let map = match json_object(&headers, &body) {
        Ok(m) => m,
        Err(r) => return Ok(*r),
    };
    let Some(text) = map
        .get("text")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return Ok(api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "text is required",
        ));
    };
    let id = token("mem_", 12)?;
    let body = json!({ "id": id, "text": text });
    Ok(with_headers(
        json_response(StatusCode::CREATED, &body, true),
        extra,
    ))
}

/// Stores a dev API key (by hash) and returns the hash.
pub(crate) fn insert_api_key(
    db: &mut Db,
    now: Timestamp,
    key: &str,
    key_id: &str,
    username: &str,
    name: &str,
    scopes: &[String],
) -> String {
    let masked = KeyRegistry::new(vec![dev_key_format()])
        .validate(key)
        .map(|v| v.masked().to_string())
        .unwrap_or_else(|_| format!("{}…", crate::DEV_KEY_PREFIX));
    let h = hash(key);
    db.user(username);
    db.api_keys.insert(
        h.clone(),
        ApiKeyRecord {
            id: key_id.to_string(),
            username: username.to_string(),
            name: name.to_string(),
            scopes: scopes.to_vec(),
            masked,
            created_at: now,
            revoked_at: None,
        },
    );
    h
}

fn key_json(k: &ApiKeyRecord) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "scopes": k.scopes,
        "masked": k.masked,
        "created_at": k.created_at.to_rfc3339(),
        "revoked": k.revoked_at.is_some(),
    })
}

/// Authenticates `/api/keys` calls: a bearer token if one is sent, else the dev
/// session cookie (or the implicit demo user in quickstart modes).
async fn key_caller(
    app: &App,
    headers: &HeaderMap,
) -> Result<Result<Principal, Response>, ServerError> {
    match bearer(headers) {
        Bearer::Token(_) | Bearer::Malformed => {
            return Ok(protect(app, headers, "/api/keys", None)
                .await?
                .map(|(p, _)| p));
        }
        Bearer::Missing => {}
    }
    if !origin_allowed(headers, app.port) {
        return Ok(Err(forbidden_origin()));
    }
    let session = SessionCookie::from_headers(headers);
    let implicit = app.implicit_demo_user();
    let user = app
        .store
        .transact(move |db, now| session.user(db, now, implicit))
        .await?;
    Ok(match user {
        Some(user) => Ok(Principal {
            user,
            scopes: SCOPES.iter().map(|(s, _)| s.to_string()).collect(),
            credential: Credential::Session,
        }),
        None => Err(unauthenticated()),
    })
}

/// `POST /api/keys`: `{"name"?, "scopes"?: [...]}` → 201 with the new key, shown once.
/// A bearer caller can only mint keys with scopes it has itself.
pub(crate) async fn keys_create(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ServerError> {
    let caller = match key_caller(&app, &headers).await? {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    let map = match json_object(&headers, &body) {
        Ok(m) => m,
        Err(r) => return Ok(*r),
    };
    let name = map
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("dev key")
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect::<String>();
    let scopes: Vec<String> = match map.get("scopes") {
        None | Some(Value::Null) => DEFAULT_KEY_SCOPES.iter().map(|s| s.to_string()).collect(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                let Some(s) = item.as_str().filter(|s| SCOPES.iter().any(|(k, _)| k == s)) else {
                    return Ok(api_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        "scopes must be a list of known scopes",
                    ));
                };
                if !out.iter().any(|o| o == s) {
                    out.push(s.to_string());
                }
            }
            out
        }
        Some(_) => {
            return Ok(api_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "scopes must be a list",
            ));
        }
    };
    if let Some(extra) = scopes.iter().find(|s| !caller.scopes.contains(s)) {
        return Ok(insufficient_scope(extra));
    }
    let key = token(crate::DEV_KEY_PREFIX, 32)?;
    let key_id = token("key_", 12)?;
    let key_copy = key.clone();
    let username = caller.user.username.clone();
    let record = app
        .store
        .transact(move |db, now| {
            let h = insert_api_key(db, now, &key_copy, &key_id, &username, &name, &scopes);
            db.api_keys.get(&h).cloned()
        })
        .await?;
    let Some(record) = record else {
        return Err(ServerError("the new key was not stored".into()));
    };
    let mut body = key_json(&record);
    body["api_key"] = Value::String(key);
    Ok(json_response(StatusCode::CREATED, &body, true))
}

/// `GET /api/keys`: the caller's keys, masked.
pub(crate) async fn keys_list(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let caller = match key_caller(&app, &headers).await? {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    let username = caller.user.username;
    let keys = app
        .store
        .transact(move |db, _| {
            db.api_keys
                .values()
                .filter(|k| k.username == username)
                .map(key_json)
                .collect::<Vec<_>>()
        })
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "keys": keys }),
        true,
    ))
}

/// `DELETE /api/keys/{id}`: revokes one of the caller's keys.
pub(crate) async fn keys_delete(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let caller = match key_caller(&app, &headers).await? {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    let username = caller.user.username;
    let found = app
        .store
        .transact(move |db, now| {
            let key = db
                .api_keys
                .values_mut()
                .find(|k| k.id == id && k.username == username);
            match key {
                Some(k) => {
                    k.revoked_at.get_or_insert(now);
                    true
                }
                None => false,
            }
        })
        .await?;
    Ok(if found {
        StatusCode::NO_CONTENT.into_response()
    } else {
        api_error(StatusCode::NOT_FOUND, "not_found", "No such key.")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn bearer_header() {
        assert!(matches!(bearer(&HeaderMap::new()), Bearer::Missing));
        assert!(matches!(bearer(&headers("Basic abc")), Bearer::Missing));
        assert!(matches!(bearer(&headers("Bearer")), Bearer::Malformed));
        assert!(matches!(bearer(&headers("Bearer a b")), Bearer::Malformed));
        assert!(
            matches!(bearer(&headers("bearer demo_at_x")), Bearer::Token(t) if t == "demo_at_x")
        );
    }
}

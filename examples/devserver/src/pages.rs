//! Browser-facing parts: the dev session (`/login`, `/logout`, `/api/session`), the
//! server-rendered consent, login and error pages, the cli-auth and device pages with
//! their JSON backends (`/cli-auth/mint`, `/device/approve`), and the index.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cliauth_core::Timestamp;
use cliauth_core::authorize::loopback_redirect_uri;
use cliauth_core::device::normalize_user_code;
use cliauth_core::handoff::MIN_PORT;
use cliauth_core::secret::constant_time_eq;
use serde_json::{Value, json};

use crate::oauth::{
    AuthRequest, DEFAULT_KEY_SCOPES, SCOPES, insert_code, is_s256_challenge, parse_scopes,
};
use crate::random::{hash, token};
use crate::store::{CodeKind, DeviceStatus, RateWindow, Session, State as Db, User};
use crate::util::{
    Params, ServerError, api_error, cookie, forbidden_origin, html_escape, json_object,
    json_response, origin_allowed, redirect, secs_until_ceil,
};
use crate::{App, DEMO_USER, SESSION_COOKIE, web};

/// How long a dev session lasts.
const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// The double-submit cookie of the HTML login form.
const LOGIN_CSRF_COOKIE: &str = "cliauth_dev_login_csrf";
/// The product name the pages show.
pub(crate) const PRODUCT: &str = "Demo";

/// The session cookie of a request (hashed), resolved inside a transaction.
#[derive(Clone, Debug)]
pub(crate) struct SessionCookie(Option<String>);

impl SessionCookie {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        SessionCookie(
            cookie(headers, SESSION_COOKIE)
                .filter(|v| !v.is_empty() && v.len() <= 128)
                .map(|v| hash(&v)),
        )
    }

    /// The signed-in user; with `implicit` (quickstart modes), the demo user when no
    /// session is present.
    pub(crate) fn user(&self, db: &mut Db, now: Timestamp, implicit: bool) -> Option<User> {
        if let Some(h) = &self.0
            && let Some(session) = db.sessions.get(h)
            && session.expires_at > now
        {
            let username = session.username.clone();
            return Some(db.user(&username));
        }
        implicit.then(|| db.user(DEMO_USER))
    }

    /// Whether the request carries a live session (not the implicit demo user).
    fn explicit(&self, db: &Db, now: Timestamp) -> bool {
        self.0
            .as_ref()
            .and_then(|h| db.sessions.get(h))
            .is_some_and(|s| s.expires_at > now)
    }
}

/// Validates and lower-cases a dev username: 1–32 of `a-z 0-9 _ . -`, starting with a
/// letter or digit.
pub(crate) fn normalize_username(text: &str) -> Result<String, String> {
    let name = text.trim().to_ascii_lowercase();
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    if ok {
        Ok(name)
    } else {
        Err("A username has 1 to 32 characters: letters, digits, _ . and -.".into())
    }
}

pub(crate) fn insert_session(db: &mut Db, now: Timestamp, id_hash: String, username: &str) {
    db.user(username);
    db.sessions.insert(
        id_hash,
        Session {
            username: username.to_string(),
            expires_at: now.saturating_add(SESSION_LIFETIME),
        },
    );
}

pub(crate) fn set_session_cookie(response: &mut Response, id: &str) {
    let value = format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        SESSION_LIFETIME.as_secs()
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Security headers of every HTML page.
pub(crate) fn html_headers(response: &mut Response, csp: &'static str) {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        // Not `no-referrer`: under it browsers send `Origin: null` on same-origin form
        // POSTs. `same-origin` still sends no Referer to any other origin (the CLI's
        // loopback server included).
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// The CSP of server-rendered pages: no script at all.
const SERVER_PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · cliauth dev server</title>\
         <link rel=\"stylesheet\" href=\"/assets/style.css\"></head>\
         <body><main class=\"card\">{body}</main>\
         <footer>cliauth development server — for demos and tests, not for production</footer>\
         </body></html>\n",
        title = html_escape(title),
    );
    let mut response = (status, html).into_response();
    html_headers(&mut response, SERVER_PAGE_CSP);
    response
}

/// An error page for requests that cannot be answered by redirect.
pub(crate) fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    page(
        status,
        title,
        &format!(
            "<h1 class=\"error\">{}</h1><p id=\"error-message\">{}</p>",
            html_escape(title),
            html_escape(message)
        ),
    )
}

fn scope_list(scopes: &[String]) -> String {
    let mut out = String::from("<ul class=\"scopes\">");
    for s in scopes {
        let description = SCOPES
            .iter()
            .find(|(name, _)| name == s)
            .map_or("", |(_, d)| d);
        out.push_str(&format!(
            "<li><strong>{}</strong> <code>{}</code></li>",
            html_escape(description),
            html_escape(s)
        ));
    }
    out.push_str("</ul>");
    out
}

fn user_picker(users: &[User], legend: &str, required: bool) -> String {
    let mut out = format!(
        "<fieldset class=\"users\"><legend>{}</legend>",
        html_escape(legend)
    );
    for (i, u) in users.iter().enumerate() {
        out.push_str(&format!(
            "<label class=\"user\"><input type=\"radio\" name=\"username\" value=\"{}\"{}> \
             <strong>{}</strong> <span class=\"muted\">{}</span></label>",
            html_escape(&u.username),
            if i == 0 && required { " checked" } else { "" },
            html_escape(&u.name),
            html_escape(&u.email)
        ));
    }
    out.push_str(
        "<label class=\"other\">Or another username \
         <input type=\"text\" name=\"other_username\" autocomplete=\"username\" \
         maxlength=\"32\" placeholder=\"e.g. carol\"></label></fieldset>",
    );
    out
}

/// The consent page: who, what, where to, Authorize / Deny.
pub(crate) fn consent_page(
    app: &App,
    request_id: &str,
    csrf: &str,
    redirect_uri: &str,
    scopes: &[String],
    user: Option<&User>,
    users: &[User],
) -> Response {
    let client = html_escape(&app.config.client_id);
    let target: String = redirect_uri
        .splitn(4, '/')
        .take(3)
        .collect::<Vec<_>>()
        .join("/");
    let account = match user {
        Some(u) => format!(
            "<p class=\"account\" id=\"signed-in\">Signed in as <strong>{}</strong> \
             <span class=\"muted\">{}</span></p>\
             <details><summary>Use another account</summary>{}</details>",
            html_escape(&u.name),
            html_escape(&u.email),
            user_picker(users, "Sign in as", false)
        ),
        None => user_picker(users, "Sign in as", true),
    };
    let body = format!(
        "<h1>Authorize <strong>{client}</strong></h1>\
         <p class=\"lead\"><strong>{client}</strong>, a command-line tool on this computer, \
         wants to access your {PRODUCT} account.</p>\
         <form method=\"post\" action=\"/authorize/decision\">\
         <input type=\"hidden\" name=\"request_id\" value=\"{request_id}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         {account}\
         <h2>It will be able to</h2>{scopes}\
         <p class=\"muted\">Your browser then returns to the CLI at <code>{target}</code> \
         (this computer).</p>\
         <div class=\"actions\">\
         <button type=\"submit\" name=\"decision\" value=\"approve\" class=\"primary\">Authorize</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
         </div></form>",
        request_id = html_escape(request_id),
        csrf = html_escape(csrf),
        scopes = scope_list(scopes),
        target = html_escape(&target),
    );
    page(
        StatusCode::OK,
        &format!("Authorize {}", app.config.client_id),
        &body,
    )
}

/// A local path to return to after signing in (never another origin).
fn safe_return_to(text: Option<&str>) -> String {
    match text {
        Some(t)
            if t.starts_with('/')
                && !t.starts_with("//")
                && !t.starts_with("/\\")
                && t.len() <= 2048
                && !t.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            t.to_string()
        }
        _ => "/".to_string(),
    }
}

/// `GET /login`: the dev sign-in page (no password; pick or type a username).
pub(crate) async fn login_page(
    State(app): State<App>,
    RawQuery(query): RawQuery,
) -> Result<Response, ServerError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes()).unwrap_or_default();
    let return_to = safe_return_to(params.get("return_to"));
    let csrf = token("", 32)?;
    let users = app.store.transact(|db, _| db.users_sorted()).await?;
    let body = format!(
        "<h1>Sign in</h1>\
         <p class=\"lead\">Development accounts have no password: pick one or type any \
         username.</p>\
         <form method=\"post\" action=\"/login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"return_to\" value=\"{return_to}\">\
         {picker}\
         <div class=\"actions\"><button type=\"submit\" class=\"primary\">Sign in</button></div>\
         </form>",
        csrf = html_escape(&csrf),
        return_to = html_escape(&return_to),
        picker = user_picker(&users, "Account", true),
    );
    let mut response = page(StatusCode::OK, "Sign in", &body);
    let cookie = format!("{LOGIN_CSRF_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// `POST /login`: a JSON `{"username": "…"}` (pages) or the login form.
pub(crate) async fn login(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ServerError> {
    let is_form =
        crate::util::media_type(&headers).as_deref() == Some("application/x-www-form-urlencoded");
    // The form carries its own CSRF token, so an opaque origin is acceptable there.
    let null_ok = is_form && crate::util::origin_is_null(&headers);
    if !origin_allowed(&headers, app.port) && !null_ok {
        return Ok(forbidden_origin());
    }
    let (username, return_to) = if is_form {
        let params = match Params::parse(&body) {
            Ok(p) => p,
            Err(e) => return Ok(error_page(StatusCode::BAD_REQUEST, "Sign-in failed", &e)),
        };
        let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
        let given = params.get("csrf").unwrap_or_default();
        if expected.is_empty() || !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
            return Ok(error_page(
                StatusCode::FORBIDDEN,
                "Sign-in failed",
                "The form token is invalid. Open the sign-in page again.",
            ));
        }
        let name = params
            .get("other_username")
            .or_else(|| params.get("username"))
            .unwrap_or_default();
        match normalize_username(name) {
            Ok(n) => (n, Some(safe_return_to(params.get("return_to")))),
            Err(e) => return Ok(error_page(StatusCode::BAD_REQUEST, "Sign-in failed", &e)),
        }
    } else {
        let map = match json_object(&headers, &body) {
            Ok(m) => m,
            Err(r) => return Ok(*r),
        };
        let name = map
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match normalize_username(name) {
            Ok(n) => (n, None),
            Err(e) => return Ok(api_error(StatusCode::BAD_REQUEST, "invalid_username", &e)),
        }
    };
    let id = token("", 43)?;
    let id_hash = hash(&id);
    let user = app
        .store
        .transact(move |db, now| {
            insert_session(db, now, id_hash, &username);
            db.user(&username)
        })
        .await?;
    let mut response = match return_to {
        Some(to) => redirect(StatusCode::SEE_OTHER, &to),
        None => json_response(StatusCode::OK, &json!({ "user": user.to_json() }), true),
    };
    set_session_cookie(&mut response, &id);
    Ok(response)
}

/// `POST /logout`: ends the session and clears the cookie.
pub(crate) async fn logout(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    if !origin_allowed(&headers, app.port) {
        return Ok(forbidden_origin());
    }
    let session = SessionCookie::from_headers(&headers);
    app.store
        .transact(move |db, _| {
            if let Some(h) = &session.0 {
                db.sessions.remove(h);
            }
        })
        .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// `GET /api/session`: what the pages need to know about the browser's session and
/// the server's mode.
pub(crate) async fn session_info(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let session = SessionCookie::from_headers(&headers);
    let implicit = app.implicit_demo_user();
    let (user, explicit, users) = app
        .store
        .transact(move |db, now| {
            let explicit = session.explicit(db, now);
            let user = session.user(db, now, implicit);
            (user, explicit, db.users_sorted())
        })
        .await?;
    let pkg_available = tokio::fs::try_exists(app.pkg_dir.join("index.js"))
        .await
        .unwrap_or(false);
    let body = json!({
        "signed_in": user.is_some(),
        "implicit": user.is_some() && !explicit,
        "user": user.map(|u| u.to_json()),
        "users": users.iter().map(User::to_json).collect::<Vec<_>>(),
        "product": PRODUCT,
        "client_id": app.config.client_id,
        "auto_approve_browser": app.config.auto_approve_browser,
        "auto_approve_device": app.config.auto_approve_device.is_some(),
        "pkg_available": pkg_available,
        "pkg_dir": app.pkg_dir.display().to_string(),
    });
    Ok(json_response(StatusCode::OK, &body, true))
}

/// `GET /cli-auth`: the handoff page (validation and delivery run in the page, with
/// the npm package).
pub(crate) async fn cli_auth_page(State(app): State<App>) -> Response {
    web::page(&app, "cli-auth.html").await
}

/// `GET /device`: the device verification page.
pub(crate) async fn device_page(State(app): State<App>) -> Response {
    web::page(&app, "device.html").await
}

/// What a JSON page backend resolved the signed-in user to.
fn login_required() -> Response {
    api_error(StatusCode::UNAUTHORIZED, "login_required", "Sign in first.")
}

/// `POST /cli-auth/mint`: `{"port": P, "code_challenge": C}` → `{"code": …}` (a
/// single-use code bound to the challenge and to `http://127.0.0.1:P/callback`), or
/// `{"kind": "api_key"}` → `{"api_key": …}`. Needs the dev session.
pub(crate) async fn cli_auth_mint(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ServerError> {
    if !origin_allowed(&headers, app.port) {
        return Ok(forbidden_origin());
    }
    let map = match json_object(&headers, &body) {
        Ok(m) => m,
        Err(r) => return Ok(*r),
    };
    let scopes = match parse_scopes(map.get("scope").and_then(Value::as_str), DEFAULT_KEY_SCOPES) {
        Ok(s) => s,
        Err(reason) => return Ok(api_error(StatusCode::BAD_REQUEST, "invalid_scope", &reason)),
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("code");
    let session = SessionCookie::from_headers(&headers);
    let implicit = app.implicit_demo_user();
    match kind {
        "api_key" => {
            let key = token(crate::DEV_KEY_PREFIX, 32)?;
            let key_id = token("key_", 12)?;
            let key_copy = key.clone();
            let scope_text = scopes.join(" ");
            let minted = app
                .store
                .transact(move |db, now| {
                    let user = session.user(db, now, implicit)?;
                    crate::api::insert_api_key(
                        db,
                        now,
                        &key_copy,
                        &key_id,
                        &user.username,
                        "cli-auth page",
                        &scopes,
                    );
                    Some(key_id)
                })
                .await?;
            Ok(match minted {
                Some(id) => json_response(
                    StatusCode::OK,
                    &json!({ "api_key": key, "id": id, "scope": scope_text }),
                    true,
                ),
                None => login_required(),
            })
        }
        "code" => {
            let port = map.get("port").and_then(Value::as_u64);
            let Some(port) = port
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p >= MIN_PORT)
            else {
                return Ok(api_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "port must be a number between 1024 and 65535",
                ));
            };
            let Some(challenge) = map
                .get("code_challenge")
                .and_then(Value::as_str)
                .filter(|c| is_s256_challenge(c))
            else {
                return Ok(api_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "code_challenge must be an S256 challenge (43 base64url characters)",
                ));
            };
            if map
                .get("code_challenge_method")
                .and_then(Value::as_str)
                .is_some_and(|m| m != "S256")
            {
                return Ok(api_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "code_challenge_method must be S256",
                ));
            }
            let code = token("demo_hc_", 43)?;
            let code_hash = hash(&code);
            let request = AuthRequest {
                redirect_uri: loopback_redirect_uri(port),
                state: String::new(),
                code_challenge: challenge.to_string(),
                scopes,
            };
            let config = app.config.clone();
            let minted = app
                .store
                .transact(move |db, now| {
                    let user = session.user(db, now, implicit)?;
                    insert_code(
                        db,
                        now,
                        &config,
                        code_hash,
                        CodeKind::Handoff,
                        &user.username,
                        &request,
                    );
                    Some(())
                })
                .await?;
            Ok(match minted {
                Some(()) => json_response(
                    StatusCode::OK,
                    &json!({ "code": code, "expires_in": app.config.code_lifetime.as_secs() }),
                    true,
                ),
                None => login_required(),
            })
        }
        _ => Ok(api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "kind must be \"code\" (with port and code_challenge) or \"api_key\"",
        )),
    }
}

enum Approval {
    Done(&'static str, Vec<String>),
    LoginRequired,
    Unknown,
    Expired,
    AlreadyHandled,
    TooManyAttempts(u64),
}

/// Wrong user codes a user may enter per window before verification is refused
/// (RFC 8628 §5.1: user codes are short, so guessing must be rate limited).
const VERIFY_ATTEMPTS: u32 = 20;
/// The window of [`VERIFY_ATTEMPTS`].
const VERIFY_WINDOW: Duration = Duration::from_secs(600);

/// `POST /device/approve`: `{"user_code": "WDJB-MJHT", "action": "approve" | "deny"}`
/// (cliauth-core's `device_approval_request`), authenticated by the dev session.
pub(crate) async fn device_approve(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ServerError> {
    if !origin_allowed(&headers, app.port) {
        return Ok(forbidden_origin());
    }
    let map = match json_object(&headers, &body) {
        Ok(m) => m,
        Err(r) => return Ok(*r),
    };
    let typed = map
        .get("user_code")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let user_code = match normalize_user_code(typed, &app.user_codes) {
        Ok(c) => c,
        Err(problem) => {
            let detail = format!("That code is not valid: {problem}.");
            return Ok(api_error(
                StatusCode::BAD_REQUEST,
                "invalid_user_code",
                &detail,
            ));
        }
    };
    let approve = match map.get("action").and_then(Value::as_str) {
        Some("approve") => true,
        Some("deny") => false,
        _ => {
            return Ok(api_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "action must be \"approve\" or \"deny\"",
            ));
        }
    };
    let session = SessionCookie::from_headers(&headers);
    let implicit = app.implicit_demo_user();
    let code = user_code.clone();
    let outcome = app
        .store
        .transact(move |db, now| {
            let Some(user) = session.user(db, now, implicit) else {
                return Approval::LoginRequired;
            };
            let guard = format!("device-verify|{}", user.sub);
            if let Some(w) = db.rate_windows.get(&guard)
                && w.until > now
                && w.count >= VERIFY_ATTEMPTS
            {
                return Approval::TooManyAttempts(secs_until_ceil(now, w.until, 1));
            }
            let mut expired = false;
            for record in db.device_codes.values_mut() {
                if record.user_code != code {
                    continue;
                }
                if record.expires_at <= now {
                    expired = true;
                    continue;
                }
                if record.status != DeviceStatus::Pending {
                    return Approval::AlreadyHandled;
                }
                record.status = if approve {
                    DeviceStatus::Approved
                } else {
                    DeviceStatus::Denied
                };
                record.username = Some(user.username.clone());
                let status = if approve { "approved" } else { "denied" };
                return Approval::Done(status, record.scopes.clone());
            }
            if expired {
                return Approval::Expired;
            }
            let window = db.rate_windows.entry(guard).or_insert(RateWindow {
                start: now,
                until: now.saturating_add(VERIFY_WINDOW),
                count: 0,
            });
            if window.until <= now {
                *window = RateWindow {
                    start: now,
                    until: now.saturating_add(VERIFY_WINDOW),
                    count: 0,
                };
            }
            window.count += 1;
            Approval::Unknown
        })
        .await?;
    Ok(match outcome {
        Approval::Done(status, scopes) => json_response(
            StatusCode::OK,
            &json!({
                "status": status,
                "user_code": user_code,
                "client_id": app.config.client_id,
                "scope": scopes.join(" "),
            }),
            true,
        ),
        Approval::LoginRequired => login_required(),
        Approval::Unknown => api_error(
            StatusCode::BAD_REQUEST,
            "invalid_user_code",
            &format!(
                "No sign-in is waiting for code {user_code}. Check the code shown in your terminal."
            ),
        ),
        Approval::Expired => api_error(
            StatusCode::BAD_REQUEST,
            "expired_token",
            "This code has expired. Start the sign-in again in your terminal.",
        ),
        Approval::TooManyAttempts(retry_after) => {
            let mut r = api_error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                &format!("Too many wrong codes. Try again in {retry_after} s."),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            r
        }
        Approval::AlreadyHandled => api_error(
            StatusCode::CONFLICT,
            "already_handled",
            "This code was already approved or denied.",
        ),
    })
}

/// `GET /`: what this server is and where things are.
pub(crate) async fn index(State(app): State<App>) -> Response {
    let e = &app.endpoints;
    let rows = [
        ("Discovery", e.metadata.as_str()),
        ("Authorization", e.authorization.as_str()),
        ("Token", e.token.as_str()),
        ("Device authorization", e.device_authorization.as_str()),
        ("Revocation", e.revocation.as_str()),
        ("Who am I (protected)", e.whoami.as_str()),
        ("Memories (protected, rate limited)", e.memories.as_str()),
        ("Dev API keys", e.api_keys.as_str()),
        ("cli-auth page", e.cli_auth_page.as_str()),
        ("Device page", e.device_page.as_str()),
    ];
    let mut list = String::from("<dl class=\"endpoints\">");
    for (name, url) in rows {
        list.push_str(&format!(
            "<dt>{}</dt><dd><code>{}</code></dd>",
            html_escape(name),
            html_escape(url)
        ));
    }
    list.push_str("</dl>");
    let body = format!(
        "<h1>cliauth dev server</h1>\
         <p class=\"lead\">An OAuth 2.0 authorization server and API for the public client \
         <code>{client}</code>, issuer <code>{issuer}</code>.</p>{list}\
         <p><a href=\"/login\">Sign in</a> · <a href=\"/device\">Enter a device code</a></p>",
        client = html_escape(&app.config.client_id),
        issuer = html_escape(&app.issuer),
    );
    page(StatusCode::OK, "cliauth dev server", &body)
}

/// Unknown paths: a JSON 404.
pub(crate) async fn not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, "not_found", "No such endpoint.")
}

//! The authorization server: metadata, `/authorize` and its consent decision,
//! `/token`, `/device_authorization` and `/revoke`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cliauth_core::Timestamp;
use cliauth_core::pkce::{PkceMethod, PkceVerifier};
use cliauth_core::secret::constant_time_eq;
use cliauth_core::token::DEVICE_CODE_GRANT;
use serde_json::{Value, json};

use crate::dev::DevHooks;
use crate::pages::{self, SessionCookie};
use crate::random::{hash, token};
use crate::store::{
    AccessRecord, CodeKind, CodeRecord, ConsentRequest, DeviceRecord, DeviceStatus, Family,
    RefreshRecord, State as Db,
};
use crate::util::{
    Params, ServerError, append_query, json_response, oauth_error, origin_allowed, redirect,
    secs_until_ceil,
};
use crate::{App, DEMO_USER, DevServerConfig};

/// Scopes the server knows, with the consent page's description of each.
pub(crate) const SCOPES: &[(&str, &str)] = &[
    ("openid", "Know who you are"),
    ("profile", "See your name"),
    ("email", "See your email address"),
    ("memories:read", "Read your memories"),
    ("memories:write", "Create and change your memories"),
    (
        "offline_access",
        "Stay signed in on this device (refresh tokens)",
    ),
];
/// What a request without `scope` gets.
pub(crate) const DEFAULT_SCOPES: &[&str] = &["profile", "memories:read", "memories:write"];
/// What dev API keys get unless asked otherwise.
pub(crate) const DEFAULT_KEY_SCOPES: &[&str] = &["profile", "memories:read", "memories:write"];
/// Consent pages expire after this long.
const CONSENT_LIFETIME: Duration = Duration::from_secs(600);
/// A poll this much earlier than the interval is still accepted (timer granularity).
const POLL_SLACK: Duration = Duration::from_millis(50);
/// RFC 8628 §3.5: `slow_down` adds 5 seconds to the interval.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// Parses a `scope` parameter: absent means the defaults; unknown scopes are refused.
pub(crate) fn parse_scopes(scope: Option<&str>, defaults: &[&str]) -> Result<Vec<String>, String> {
    let Some(scope) = scope else {
        return Ok(defaults.iter().map(|s| s.to_string()).collect());
    };
    let mut out: Vec<String> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !SCOPES.iter().any(|(known, _)| *known == s) {
            let shown: String = s.chars().take(64).filter(|c| !c.is_control()).collect();
            return Err(format!("unknown scope `{shown}`"));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    if out.is_empty() {
        return Err("the scope parameter is empty".into());
    }
    Ok(out)
}

/// RFC 8414 metadata (also served as the OpenID configuration).
pub(crate) async fn metadata(State(app): State<App>) -> Response {
    let e = &app.endpoints;
    let body = json!({
        "issuer": app.issuer,
        "authorization_endpoint": e.authorization,
        "token_endpoint": e.token,
        "device_authorization_endpoint": e.device_authorization,
        "revocation_endpoint": e.revocation,
        "userinfo_endpoint": e.whoami,
        // `openid` is accepted (OpenID clients send it) but not advertised: this
        // server issues no ID tokens.
        "scopes_supported": SCOPES.iter().map(|(s, _)| *s).filter(|s| *s != "openid").collect::<Vec<_>>(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", DEVICE_CODE_GRANT],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "subject_types_supported": ["public"],
        "service_documentation": format!("{}/", app.url),
    });
    let mut response = json_response(StatusCode::OK, &body, false);
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// Checks a redirect URI: a loopback IP literal with an explicit port (any port,
/// RFC 8252 §7.3), `http`, a path, no fragment.
pub(crate) fn check_loopback_redirect(uri: &str) -> Result<(), String> {
    const SHAPE: &str = "it must be http://127.0.0.1:PORT/PATH or http://[::1]:PORT/PATH \
                         (a loopback redirect, RFC 8252 §7.3)";
    if uri.len() > 2048 || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("the redirect_uri is malformed: {SHAPE}"));
    }
    let Some(rest) = uri.strip_prefix("http://") else {
        return Err(format!("the redirect_uri is not a loopback URI: {SHAPE}"));
    };
    if rest.contains('#') {
        return Err("the redirect_uri must not contain a fragment".into());
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if !path.starts_with('/') {
        return Err(format!("the redirect_uri has no path: {SHAPE}"));
    }
    let Some((host, port)) = authority.rsplit_once(':') else {
        return Err(format!(
            "the redirect_uri has no port: {SHAPE}; the CLI's loopback server picks one"
        ));
    };
    if host.eq_ignore_ascii_case("localhost") {
        return Err(
            "use the IP literal 127.0.0.1 instead of localhost in the redirect_uri (RFC 8252 §8.3)"
                .into(),
        );
    }
    if host != "127.0.0.1" && host != "[::1]" {
        return Err(format!("the redirect_uri is not a loopback URI: {SHAPE}"));
    }
    let port_ok = !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p != 0);
    if !port_ok {
        return Err(format!("the redirect_uri has an invalid port: {SHAPE}"));
    }
    Ok(())
}

/// Whether a string is an S256 code challenge: 43 base64url characters.
pub(crate) fn is_s256_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The validated parameters of an authorization request (or of a handoff mint,
/// whose `state` stays with the page).
#[derive(Clone, Debug)]
pub(crate) struct AuthRequest {
    pub(crate) redirect_uri: String,
    pub(crate) state: String,
    pub(crate) code_challenge: String,
    pub(crate) scopes: Vec<String>,
}

/// An authorization error response (RFC 6749 §4.1.2.1) with `state` and `iss`.
fn error_redirect(
    app: &App,
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
    status: StatusCode,
) -> Response {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", app.issuer.as_str()));
    redirect(status, &append_query(redirect_uri, &pairs))
}

/// The success response: `code`, `state`, `iss` (RFC 9207).
fn code_redirect(
    app: &App,
    redirect_uri: &str,
    code: &str,
    state: &str,
    status: StatusCode,
) -> Response {
    redirect(
        status,
        &append_query(
            redirect_uri,
            &[
                ("code", code),
                ("state", state),
                ("iss", app.issuer.as_str()),
            ],
        ),
    )
}

/// `GET /authorize`.
pub(crate) async fn authorize(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let refuse = |reason: &str| {
        Ok(pages::error_page(
            StatusCode::BAD_REQUEST,
            "This sign-in request is not valid",
            reason,
        ))
    };
    let params = match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(e) => return refuse(&e),
    };
    // Errors about the client or the redirect URI are shown, never redirected
    // (RFC 6749 §4.1.2.1): the redirect target is not trustworthy.
    match params.get("client_id") {
        None => return refuse("The request has no client_id."),
        Some(c) if c != app.config.client_id => {
            let shown: String = c.chars().take(64).collect();
            return refuse(&format!(
                "The client `{shown}` is not registered with this server."
            ));
        }
        Some(_) => {}
    }
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return refuse("The request has no redirect_uri.");
    };
    if let Err(reason) = check_loopback_redirect(redirect_uri) {
        return refuse(&capitalize(&reason));
    }
    let state = params.get("state");
    let fail = |error: &str, description: &str| {
        Ok(error_redirect(
            &app,
            redirect_uri,
            state,
            error,
            description,
            StatusCode::FOUND,
        ))
    };
    match params.get("response_type") {
        None => return fail("invalid_request", "response_type is required"),
        Some("code") => {}
        Some(_) => {
            return fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            );
        }
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return fail("invalid_request", "only response_mode=query is supported");
    }
    let Some(state) = state else {
        return fail(
            "invalid_request",
            "state is required (CSRF protection, RFC 6749 §10.12)",
        );
    };
    if state.len() > 512 {
        return fail("invalid_request", "state is longer than 512 characters");
    }
    let Some(challenge) = params.get("code_challenge") else {
        return fail(
            "invalid_request",
            "PKCE is required: send code_challenge with code_challenge_method=S256",
        );
    };
    match params.get("code_challenge_method") {
        Some("S256") => {}
        None | Some("plain") => {
            return fail(
                "invalid_request",
                "code_challenge_method must be S256 (plain is not allowed)",
            );
        }
        Some(_) => {
            return fail(
                "invalid_request",
                "unsupported code_challenge_method; use S256",
            );
        }
    }
    if !is_s256_challenge(challenge) {
        return fail(
            "invalid_request",
            "code_challenge must be 43 base64url characters (BASE64URL(SHA256(verifier)))",
        );
    }
    let scopes = match parse_scopes(params.get("scope"), DEFAULT_SCOPES) {
        Ok(s) => s,
        Err(reason) => return fail("invalid_scope", &reason),
    };
    let request = AuthRequest {
        redirect_uri: redirect_uri.to_string(),
        state: state.to_string(),
        code_challenge: challenge.to_string(),
        scopes,
    };
    let session = SessionCookie::from_headers(&headers);
    if app.config.auto_approve_browser {
        let code = token("demo_ac_", 43)?;
        let code_hash = hash(&code);
        let implicit = app.implicit_demo_user();
        let config = app.config.clone();
        let request_copy = request.clone();
        app.store
            .transact(move |db, now| {
                let username = session
                    .user(db, now, implicit)
                    .map_or_else(|| DEMO_USER.to_string(), |u| u.username);
                db.user(&username);
                insert_code(
                    db,
                    now,
                    &config,
                    code_hash,
                    CodeKind::OAuth,
                    &username,
                    &request_copy,
                );
            })
            .await?;
        return Ok(code_redirect(
            &app,
            &request.redirect_uri,
            &code,
            &request.state,
            StatusCode::FOUND,
        ));
    }
    // Show the consent page, remembering the request server-side under a random id
    // with its own CSRF token: the decision form can only name a request, not
    // change it.
    let request_id = token("", 32)?;
    let csrf = token("", 32)?;
    let consent = ConsentRequest {
        csrf_hash: hash(&csrf),
        client_id: app.config.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        state: request.state.clone(),
        code_challenge: request.code_challenge.clone(),
        scopes: request.scopes.clone(),
        expires_at: Timestamp::EPOCH,
    };
    let id_hash = hash(&request_id);
    let implicit = app.implicit_demo_user();
    let (user, users) = app
        .store
        .transact(move |db, now| {
            let mut consent = consent;
            consent.expires_at = now.saturating_add(CONSENT_LIFETIME);
            db.consents.insert(id_hash, consent);
            let user = session.user(db, now, implicit);
            (user, db.users_sorted())
        })
        .await?;
    Ok(pages::consent_page(
        &app,
        &request_id,
        &csrf,
        &request.redirect_uri,
        &request.scopes,
        user.as_ref(),
        &users,
    ))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect::<String>() + ".",
        None => String::new(),
    }
}

/// Stores a single-use code bound to the request's redirect URI and PKCE challenge.
pub(crate) fn insert_code(
    db: &mut Db,
    now: Timestamp,
    config: &DevServerConfig,
    code_hash: String,
    kind: CodeKind,
    username: &str,
    request: &AuthRequest,
) {
    db.codes.insert(
        code_hash,
        CodeRecord {
            kind,
            username: username.to_string(),
            client_id: config.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            scopes: request.scopes.clone(),
            expires_at: now.saturating_add(config.code_lifetime),
            used: false,
            issued_family: None,
            issued_access: None,
            issued_key: None,
        },
    );
}

/// What the consent form's POST leads to.
enum Decision {
    Page(StatusCode, &'static str, String),
    Redirect {
        location: String,
        session: Option<String>,
    },
}

/// `POST /authorize/decision`: the consent page's Authorize/Deny.
pub(crate) async fn decision(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ServerError> {
    // The form carries a per-request CSRF token, so an opaque origin (`Origin: null`,
    // sent under some referrer policies) is acceptable; another site's is not.
    if !origin_allowed(&headers, app.port) && !crate::util::origin_is_null(&headers) {
        return Ok(pages::error_page(
            StatusCode::FORBIDDEN,
            "Request refused",
            "The form was submitted from another site.",
        ));
    }
    let params = match Params::from_form_body(&headers, &body) {
        Ok(p) => p,
        Err(e) => {
            return Ok(pages::error_page(
                StatusCode::BAD_REQUEST,
                "Request refused",
                &e,
            ));
        }
    };
    let (Some(request_id), Some(csrf), Some(choice)) = (
        params.get("request_id"),
        params.get("csrf"),
        params.get("decision"),
    ) else {
        return Ok(pages::error_page(
            StatusCode::BAD_REQUEST,
            "Request refused",
            "The form is incomplete. Start the sign-in again from your terminal.",
        ));
    };
    let approve = match choice {
        "approve" => true,
        "deny" => false,
        _ => {
            return Ok(pages::error_page(
                StatusCode::BAD_REQUEST,
                "Request refused",
                "Unknown decision.",
            ));
        }
    };
    let typed = params
        .get("other_username")
        .or_else(|| params.get("username"))
        .map(pages::normalize_username);
    if let Some(Err(reason)) = &typed {
        return Ok(pages::error_page(
            StatusCode::BAD_REQUEST,
            "Request refused",
            reason,
        ));
    }
    let typed = typed.and_then(Result::ok);
    let id_hash = hash(request_id);
    let csrf_hash = hash(csrf);
    let code = token("demo_ac_", 43)?;
    let code_hash = hash(&code);
    let new_session = token("", 43)?;
    let new_session_hash = hash(&new_session);
    let session = SessionCookie::from_headers(&headers);
    let implicit = app.implicit_demo_user();
    let config = app.config.clone();
    let issuer = app.issuer.clone();
    let outcome = app
        .store
        .transact(move |db, now| {
            let Some(consent) = db.consents.remove(&id_hash) else {
                return Decision::Page(
                    StatusCode::BAD_REQUEST,
                    "This sign-in request has expired",
                    "It was already answered or is too old. Start the sign-in again from your terminal."
                        .into(),
                );
            };
            if !constant_time_eq(consent.csrf_hash.as_bytes(), csrf_hash.as_bytes()) {
                return Decision::Page(
                    StatusCode::FORBIDDEN,
                    "Request refused",
                    "The form token is invalid. Start the sign-in again from your terminal.".into(),
                );
            }
            if consent.expires_at <= now {
                return Decision::Page(
                    StatusCode::BAD_REQUEST,
                    "This sign-in request has expired",
                    "Start the sign-in again from your terminal.".into(),
                );
            }
            if !approve {
                let location = append_query(
                    &consent.redirect_uri,
                    &[
                        ("error", "access_denied"),
                        ("error_description", "The user denied the request"),
                        ("state", &consent.state),
                        ("iss", &issuer),
                    ],
                );
                return Decision::Redirect {
                    location,
                    session: None,
                };
            }
            let signed_in = session.user(db, now, implicit);
            let (username, start_session) = match (typed, signed_in) {
                (Some(name), Some(user)) if name == user.username => (name, false),
                (Some(name), _) => (name, true),
                (None, Some(user)) => (user.username, false),
                (None, None) => {
                    return Decision::Page(
                        StatusCode::BAD_REQUEST,
                        "Choose an account",
                        "Pick the account to sign in with.".into(),
                    );
                }
            };
            db.user(&username);
            let session = start_session.then(|| {
                pages::insert_session(db, now, new_session_hash, &username);
                new_session
            });
            let request = AuthRequest {
                redirect_uri: consent.redirect_uri,
                state: consent.state,
                code_challenge: consent.code_challenge,
                scopes: consent.scopes,
            };
            insert_code(db, now, &config, code_hash, CodeKind::OAuth, &username, &request);
            let location = append_query(
                &request.redirect_uri,
                &[("code", &code), ("state", &request.state), ("iss", &issuer)],
            );
            Decision::Redirect { location, session }
        })
        .await?;
    Ok(match outcome {
        Decision::Page(status, title, message) => pages::error_page(status, title, &message),
        Decision::Redirect { location, session } => {
            let mut response = redirect(StatusCode::SEE_OTHER, &location);
            if let Some(id) = session {
                pages::set_session_cookie(&mut response, &id);
            }
            response
        }
    })
}

/// Fresh secrets for one token response, drawn before the transaction.
struct Fresh {
    access: String,
    refresh: String,
    family: String,
    key: String,
    key_id: String,
}

impl Fresh {
    fn draw() -> Result<Fresh, ServerError> {
        Ok(Fresh {
            access: token("demo_at_", 43)?,
            refresh: token("demo_rt_", 43)?,
            family: token("fam_", 16)?,
            key: token(crate::DEV_KEY_PREFIX, 32)?,
            key_id: token("key_", 12)?,
        })
    }
}

/// A token endpoint failure: status, `error`, `error_description`.
type Refusal = (StatusCode, &'static str, String);

fn invalid_grant(description: impl Into<String>) -> Refusal {
    (StatusCode::BAD_REQUEST, "invalid_grant", description.into())
}

/// `POST /token`.
pub(crate) async fn token_endpoint(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ServerError> {
    let params = match Params::from_form_body(&headers, &body) {
        Ok(p) => p,
        Err(e) => return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &e)),
    };
    let grant_type = params.get("grant_type");
    app.dev.count_grant(grant_type.unwrap_or("(none)"));
    if let Some(refusal) = check_public_client(&app, &headers, &params) {
        return Ok(refusal);
    }
    let result = match grant_type {
        None => Err((
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required".to_string(),
        )),
        Some("authorization_code") => code_grant(&app, &params).await?,
        Some("refresh_token") => refresh_grant(&app, &params).await?,
        Some(DEVICE_CODE_GRANT) => device_grant(&app, &params).await?,
        Some(_) => Err((
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "supported: authorization_code, refresh_token, urn:ietf:params:oauth:grant-type:device_code"
                .to_string(),
        )),
    };
    Ok(match result {
        Ok(body) => json_response(StatusCode::OK, &body, true),
        Err((status, error, description)) => oauth_error(status, error, &description),
    })
}

/// Public-client authentication (RFC 6749 §2.3, §3.2.1): `client_id` in the body, no
/// secret. Answers 401 `invalid_client` otherwise.
fn check_public_client(app: &App, headers: &HeaderMap, params: &Params) -> Option<Response> {
    let refuse = |description: &str, basic: bool| {
        let mut r = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
        if basic {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"cliauth-dev\""),
            );
        }
        r
    };
    if headers.contains_key(header::AUTHORIZATION) || params.get("client_secret").is_some() {
        return Some(refuse(
            "this is a public client: send client_id only, without a secret",
            headers.contains_key(header::AUTHORIZATION),
        ));
    }
    match params.get("client_id") {
        None => Some(refuse("client_id is required", false)),
        Some(c) if c != app.config.client_id => Some(refuse("unknown client", false)),
        Some(_) => None,
    }
}

fn token_pair_response(
    db: &mut Db,
    now: Timestamp,
    config: &DevServerConfig,
    fresh: &Fresh,
    username: &str,
    scopes: &[String],
) -> Value {
    let family = fresh.family.clone();
    let refresh_hash = hash(&fresh.refresh);
    db.families.insert(
        family.clone(),
        Family {
            username: username.to_string(),
            client_id: config.client_id.clone(),
            scopes: scopes.to_vec(),
            current: refresh_hash.clone(),
            expires_at: now.saturating_add(config.refresh_token_ttl),
            rotations: 0,
            revoked: None,
        },
    );
    db.refresh_tokens.insert(
        refresh_hash,
        RefreshRecord {
            family: family.clone(),
            expires_at: now.saturating_add(config.refresh_token_ttl),
            rotated: false,
        },
    );
    insert_access(db, now, config, fresh, username, scopes, &family);
    json!({
        "access_token": fresh.access,
        "token_type": "Bearer",
        "expires_in": config.access_token_ttl.as_secs(),
        "refresh_token": fresh.refresh,
        "scope": scopes.join(" "),
    })
}

fn insert_access(
    db: &mut Db,
    now: Timestamp,
    config: &DevServerConfig,
    fresh: &Fresh,
    username: &str,
    scopes: &[String],
    family: &str,
) {
    db.access_tokens.insert(
        hash(&fresh.access),
        AccessRecord {
            username: username.to_string(),
            client_id: config.client_id.clone(),
            scopes: scopes.to_vec(),
            expires_at: now.saturating_add(config.access_token_ttl),
            family: Some(family.to_string()),
            revoked: false,
        },
    );
}

async fn code_grant(app: &App, params: &Params) -> Result<Result<Value, Refusal>, ServerError> {
    let required = |name: &'static str| {
        params.get(name).map(str::to_string).ok_or((
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("{name} is required"),
        ))
    };
    let (code, redirect_uri, verifier) = match (
        required("code"),
        required("redirect_uri"),
        required("code_verifier"),
    ) {
        (Ok(c), Ok(r), Ok(v)) => (c, r, v),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Ok(Err(e)),
    };
    let Ok(verifier) = PkceVerifier::new(verifier) else {
        return Ok(Err(invalid_grant(
            "PKCE verification failed: the code_verifier is malformed (43-128 characters of A-Z a-z 0-9 - . _ ~)",
        )));
    };
    let challenge = verifier.challenge(PkceMethod::S256).as_str().to_string();
    let fresh = Fresh::draw()?;
    let code_hash = hash(&code);
    let config = app.config.clone();
    let client_id = app.config.client_id.clone();
    app.store
        .transact(move |db, now| {
            let Some(mut record) = db.codes.get(&code_hash).cloned() else {
                return Err(invalid_grant("the authorization code is invalid"));
            };
            if record.used {
                // RFC 6749 §4.1.2: a code presented twice revokes what it issued.
                if let Some(family) = &record.issued_family {
                    db.revoke_family(family, "authorization code reused");
                }
                if let Some(access) = record.issued_access.as_ref()
                    && let Some(a) = db.access_tokens.get_mut(access)
                {
                    a.revoked = true;
                }
                if let Some(key) = record.issued_key.as_ref()
                    && let Some(k) = db.api_keys.get_mut(key)
                {
                    k.revoked_at.get_or_insert(now);
                }
                return Err(invalid_grant(
                    "the authorization code was already used; the tokens issued for it are revoked",
                ));
            }
            if record.expires_at <= now {
                return Err(invalid_grant("the authorization code expired"));
            }
            if record.client_id != client_id {
                return Err(invalid_grant(
                    "the authorization code was issued to another client",
                ));
            }
            if record.redirect_uri != redirect_uri {
                return Err(invalid_grant(
                    "redirect_uri does not match the one of the authorization request",
                ));
            }
            // A wrong verifier does not consume the code: whoever holds a leaked code
            // without the verifier must not be able to burn the real login.
            if !constant_time_eq(challenge.as_bytes(), record.code_challenge.as_bytes()) {
                return Err(invalid_grant(
                    "PKCE verification failed: the code_verifier does not match the code_challenge",
                ));
            }
            record.used = true;
            let body = match record.kind {
                CodeKind::OAuth => {
                    let body = token_pair_response(
                        db,
                        now,
                        &config,
                        &fresh,
                        &record.username,
                        &record.scopes,
                    );
                    record.issued_family = Some(fresh.family.clone());
                    record.issued_access = Some(hash(&fresh.access));
                    body
                }
                CodeKind::Handoff => {
                    let key_hash = crate::api::insert_api_key(
                        db,
                        now,
                        &fresh.key,
                        &fresh.key_id,
                        &record.username,
                        "cli-auth handoff",
                        &record.scopes,
                    );
                    record.issued_key = Some(key_hash);
                    // A dev API key as a bearer token: no expiry, no refresh token.
                    json!({
                        "access_token": fresh.key,
                        "token_type": "Bearer",
                        "scope": record.scopes.join(" "),
                    })
                }
            };
            db.codes.insert(code_hash, record);
            Ok(body)
        })
        .await
}

async fn refresh_grant(app: &App, params: &Params) -> Result<Result<Value, Refusal>, ServerError> {
    let Some(refresh) = params.get("refresh_token") else {
        return Ok(Err((
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is required".into(),
        )));
    };
    let narrowed = match params.get("scope") {
        None => None,
        Some(s) => match parse_scopes(Some(s), &[]) {
            Ok(list) => Some(list),
            Err(reason) => return Ok(Err((StatusCode::BAD_REQUEST, "invalid_scope", reason))),
        },
    };
    let fresh = Fresh::draw()?;
    let refresh_hash = hash(refresh);
    let config = app.config.clone();
    let dev: Arc<DevHooks> = Arc::clone(&app.dev);
    app.store
        .transact(move |db, now| {
            let Some(record) = db.refresh_tokens.get(&refresh_hash).cloned() else {
                return Err(invalid_grant("the refresh token is invalid"));
            };
            let Some(family) = db.families.get(&record.family).cloned() else {
                return Err(invalid_grant("the refresh token is invalid"));
            };
            if let Some(reason) = &family.revoked {
                return Err(invalid_grant(format!("the refresh token was revoked ({reason})")));
            }
            if record.rotated || family.current != refresh_hash {
                // RFC 9700 §4.14.2: a rotated refresh token presented again means
                // it leaked; end the whole session.
                db.revoke_family(&record.family, "refresh token reused");
                dev.count_refresh_reuse();
                return Err(invalid_grant(
                    "the refresh token was already used (it rotates on every refresh); the session is revoked, sign in again",
                ));
            }
            if record.expires_at <= now {
                return Err(invalid_grant("the refresh token expired"));
            }
            if family.client_id != config.client_id {
                return Err(invalid_grant("the refresh token was issued to another client"));
            }
            let scopes = match narrowed {
                None => family.scopes.clone(),
                Some(list) => {
                    if let Some(extra) = list.iter().find(|s| !family.scopes.contains(s)) {
                        return Err((
                            StatusCode::BAD_REQUEST,
                            "invalid_scope",
                            format!("`{extra}` was not granted originally"),
                        ));
                    }
                    list
                }
            };
            let new_hash = hash(&fresh.refresh);
            if let Some(r) = db.refresh_tokens.get_mut(&refresh_hash) {
                r.rotated = true;
            }
            db.refresh_tokens.insert(
                new_hash.clone(),
                RefreshRecord {
                    family: record.family.clone(),
                    expires_at: now.saturating_add(config.refresh_token_ttl),
                    rotated: false,
                },
            );
            if let Some(f) = db.families.get_mut(&record.family) {
                f.current = new_hash;
                f.rotations += 1;
                f.expires_at = now.saturating_add(config.refresh_token_ttl);
            }
            insert_access(db, now, &config, &fresh, &family.username, &scopes, &record.family);
            dev.count_refresh();
            Ok(json!({
                "access_token": fresh.access,
                "token_type": "Bearer",
                "expires_in": config.access_token_ttl.as_secs(),
                "refresh_token": fresh.refresh,
                "scope": scopes.join(" "),
            }))
        })
        .await
}

async fn device_grant(app: &App, params: &Params) -> Result<Result<Value, Refusal>, ServerError> {
    app.dev.count_device_poll();
    let Some(device_code) = params.get("device_code") else {
        return Ok(Err((
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "device_code is required".into(),
        )));
    };
    let fresh = Fresh::draw()?;
    let device_hash = hash(device_code);
    let config = app.config.clone();
    let dev = Arc::clone(&app.dev);
    app.store
        .transact(move |db, now| {
            let Some(record) = db.device_codes.get_mut(&device_hash) else {
                return Err(invalid_grant("the device code is invalid"));
            };
            if record.client_id != config.client_id {
                return Err(invalid_grant(
                    "the device code was issued to another client",
                ));
            }
            if record.status == DeviceStatus::Consumed {
                return Err(invalid_grant("the device code was already used"));
            }
            if now >= record.expires_at {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "expired_token",
                    "the device code expired; start the login again".into(),
                ));
            }
            let interval = Duration::from_millis(record.interval_ms);
            let too_fast = record
                .last_poll
                .is_some_and(|last| now.saturating_add(POLL_SLACK) < last.saturating_add(interval));
            record.last_poll = Some(now);
            if too_fast {
                // RFC 8628 §3.5: the interval grows by 5 s for this and all later polls.
                let slower = interval.saturating_add(SLOW_DOWN_STEP);
                record.interval_ms = u64::try_from(slower.as_millis()).unwrap_or(u64::MAX);
                dev.count_slow_down();
                return Err((
                    StatusCode::BAD_REQUEST,
                    "slow_down",
                    format!(
                        "polling too fast: wait at least {} s between requests",
                        slower.as_secs_f64().ceil()
                    ),
                ));
            }
            if record.status == DeviceStatus::Pending
                && record.auto_approve_at.is_some_and(|t| t <= now)
            {
                record.status = DeviceStatus::Approved;
                record.username = Some(DEMO_USER.to_string());
            }
            match record.status {
                DeviceStatus::Pending => Err((
                    StatusCode::BAD_REQUEST,
                    "authorization_pending",
                    "the user has not approved the request yet".into(),
                )),
                DeviceStatus::Denied => Err((
                    StatusCode::BAD_REQUEST,
                    "access_denied",
                    "the user denied the request".into(),
                )),
                DeviceStatus::Consumed => Err(invalid_grant("the device code was already used")),
                DeviceStatus::Approved => {
                    record.status = DeviceStatus::Consumed;
                    let username = record
                        .username
                        .clone()
                        .unwrap_or_else(|| DEMO_USER.to_string());
                    let scopes = record.scopes.clone();
                    db.user(&username);
                    Ok(token_pair_response(
                        db, now, &config, &fresh, &username, &scopes,
                    ))
                }
            }
        })
        .await
}

/// `POST /device_authorization` (RFC 8628 §3.1, §3.2).
pub(crate) async fn device_authorization(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ServerError> {
    let params = match Params::from_form_body(&headers, &body) {
        Ok(p) => p,
        Err(e) => return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &e)),
    };
    if let Some(refusal) = check_public_client(&app, &headers, &params) {
        return Ok(refusal);
    }
    let scopes = match parse_scopes(params.get("scope"), DEFAULT_SCOPES) {
        Ok(s) => s,
        Err(reason) => {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                &reason,
            ));
        }
    };
    let device_code = token("demo_dc_", 43)?;
    let device_hash = hash(&device_code);
    let candidates = (0..8)
        .map(|_| crate::random::user_code(&app.user_codes))
        .collect::<Result<Vec<_>, _>>()?;
    let config = app.config.clone();
    let created = app
        .store
        .transact(move |db, now| {
            let user_code = candidates.into_iter().find(|c| {
                !db.device_codes
                    .values()
                    .any(|d| d.user_code == *c && d.expires_at > now)
            })?;
            let expires_at = now.saturating_add(config.device_code_lifetime);
            db.device_codes.insert(
                device_hash,
                DeviceRecord {
                    user_code: user_code.clone(),
                    client_id: config.client_id.clone(),
                    scopes,
                    expires_at,
                    interval_ms: u64::try_from(config.device_interval.as_millis())
                        .unwrap_or(u64::MAX),
                    last_poll: None,
                    status: DeviceStatus::Pending,
                    username: None,
                    auto_approve_at: config.auto_approve_device.map(|d| now.saturating_add(d)),
                },
            );
            Some((user_code, secs_until_ceil(now, expires_at, 1)))
        })
        .await?;
    let Some((user_code, expires_in)) = created else {
        return Err(ServerError("could not draw a unique user code".into()));
    };
    let verification_uri = app.endpoints.device_page.clone();
    let complete = append_query(&verification_uri, &[("user_code", &user_code)]);
    let interval = app.config.device_interval.as_millis().div_ceil(1000).max(1);
    let body = json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": complete,
        "expires_in": expires_in,
        "interval": interval,
    });
    Ok(json_response(StatusCode::OK, &body, true))
}

/// `POST /revoke` (RFC 7009): access tokens, refresh tokens (the whole family) and
/// dev API keys. Unknown tokens are answered with 200 too (§2.2).
pub(crate) async fn revoke(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ServerError> {
    let params = match Params::from_form_body(&headers, &body) {
        Ok(p) => p,
        Err(e) => return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &e)),
    };
    if let Some(refusal) = check_public_client(&app, &headers, &params) {
        return Ok(refusal);
    }
    let Some(token) = params.get("token") else {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        ));
    };
    // token_type_hint only speeds up the lookup (§2.1); every kind is checked.
    let token_hash = hash(token);
    app.store
        .transact(move |db, now| {
            if let Some(family) = db.refresh_tokens.get(&token_hash).map(|r| r.family.clone()) {
                db.revoke_family(&family, "revoked by the client");
            }
            if let Some(a) = db.access_tokens.get_mut(&token_hash) {
                a.revoked = true;
            }
            if let Some(k) = db.api_keys.get_mut(&token_hash) {
                k.revoked_at.get_or_insert(now);
            }
        })
        .await?;
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects() {
        for ok in [
            "http://127.0.0.1:1/callback",
            "http://127.0.0.1:65535/cb?x=1",
            "http://[::1]:8080/",
        ] {
            assert!(check_loopback_redirect(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://127.0.0.1:8080/cb",
            "http://localhost:8080/cb",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:0/cb",
            "http://127.0.0.1:65536/cb",
            "http://127.0.0.1:80x/cb",
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/cb#frag",
            "http://127.0.0.1.evil.example:8080/cb",
            "http://evil.example/cb?http://127.0.0.1:8080/",
            "http://user@127.0.0.1:8080/cb",
            "http://127.0.0.1:8080/c b",
        ] {
            assert!(check_loopback_redirect(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes() {
        assert_eq!(
            parse_scopes(Some("memories:read  profile memories:read"), &[]).unwrap(),
            vec!["memories:read", "profile"]
        );
        assert!(parse_scopes(Some("admin"), &[]).is_err());
        assert_eq!(parse_scopes(None, DEFAULT_SCOPES).unwrap().len(), 3);
    }
}

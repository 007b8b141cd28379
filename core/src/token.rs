//! The token endpoint (RFC 6749 §4.1.3, §5, §6; RFC 8628 §3.4) and token sets.
//!
//! Requests are built as [`HttpRequest`] values (form-encoded, `Accept: application/json`);
//! responses are parsed strictly per RFC 6749 §5.1/§5.2: `access_token` and
//! `token_type` are required, `token_type` is compared case-insensitively and must be
//! `Bearer`, `expires_in` may be a number or a numeric string, `refresh_token`,
//! `scope` and `id_token` are optional. Error responses become [`OAuthError`] values so
//! each flow can decide what they mean (`authorization_pending` is not a failure in
//! the device flow; `invalid_grant` during a refresh means "re-read storage first").
//!
//! A [`TokenSet`] stores the absolute expiry computed from `now` at receipt, and
//! [`TokenSet::status`] says whether it is valid, due for refresh, expired, or gone.

use core::time::Duration;

use crate::error::{Error, sanitize_server_text};
use crate::http::{HttpRequest, HttpResponse, MAX_RESPONSE_BODY, api_error};
use crate::json::Value;
use crate::pkce::PkceVerifier;
use crate::secret::{AccessToken, AuthorizationCode, DeviceCode, IdToken, RefreshToken};
use crate::time::Timestamp;

/// The device-code grant type URN (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A grant to exchange at the token endpoint.
#[derive(Debug)]
pub enum TokenGrant<'a> {
    /// Authorization code + PKCE verifier (RFC 6749 §4.1.3, RFC 7636 §4.5).
    AuthorizationCode {
        /// The code from the callback.
        code: &'a AuthorizationCode,
        /// The verifier whose challenge was sent.
        verifier: &'a PkceVerifier,
        /// The exact `redirect_uri` of the authorization request.
        redirect_uri: &'a str,
    },
    /// Refresh (RFC 6749 §6).
    RefreshToken {
        /// The refresh token.
        refresh_token: &'a RefreshToken,
        /// A narrower scope, if wanted.
        scope: Option<&'a str>,
    },
    /// Device code polling (RFC 8628 §3.4).
    DeviceCode {
        /// The device code.
        device_code: &'a DeviceCode,
    },
}

/// Builds a token request for a public client (`client_id` in the body, RFC 6749
/// §2.3.1 / §3.2.1), without extra parameters: [`Client::token_request`] for
/// [`Client::new`]. Code exchange and refresh are marked non-idempotent (a replay
/// could burn a single-use code or a rotated refresh token); device polling is
/// idempotent by design.
///
/// [`Client::token_request`]: crate::client::Client::token_request
/// [`Client::new`]: crate::client::Client::new
pub fn token_request(token_endpoint: &str, client_id: &str, grant: TokenGrant<'_>) -> HttpRequest {
    crate::client::Client::new(client_id).token_request(token_endpoint, grant)
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token.
    pub access_token: AccessToken,
    /// The token type, normalised to `Bearer`.
    pub token_type: String,
    /// Lifetime from receipt.
    pub expires_in: Option<Duration>,
    /// A refresh token, if issued.
    pub refresh_token: Option<RefreshToken>,
    /// The granted scope, if the server says.
    pub scope: Option<String>,
    /// An OpenID Connect ID token, if issued.
    pub id_token: Option<IdToken>,
}

impl TokenResponse {
    /// The response with `scope` filled in from the request when the server sent
    /// none: RFC 6749 §5.1 makes `scope` "OPTIONAL, if identical to the scope
    /// requested by the client". An empty request leaves it unknown.
    #[must_use]
    pub fn or_requested_scope(mut self, requested: &[String]) -> Self {
        if self.scope.is_none() && !requested.is_empty() {
            self.scope = Some(requested.join(" "));
        }
        self
    }
}

/// A bearer token from the variable `var`: surrounding whitespace (a newline from
/// `$(cat token.txt)`) is dropped, the rest must match RFC 6750 §2.1's `b64token`
/// (letters, digits, `-._~+/`, then `=` padding), so that a pasted `Bearer ` prefix,
/// quotes or a second line are reported instead of being sent in a header.
pub fn bearer_token(var: &str, value: &str) -> Result<AccessToken, Error> {
    let token = value.trim();
    let body = token.trim_end_matches('=');
    let problem = if token.len() >= 7 && token[..7].eq_ignore_ascii_case("bearer ") {
        Some("it starts with `Bearer `; set only the token".to_string())
    } else if body.is_empty() {
        Some("it is empty".to_string())
    } else if let Some(c) = body
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/')))
    {
        let what = match c {
            ' ' | '\t' => "a space".to_string(),
            '\n' | '\r' => "a line break".to_string(),
            '"' | '\'' => "a quote".to_string(),
            '=' => "`=` before its end".to_string(),
            c if c.is_control() => "a control character".to_string(),
            c => format!("`{c}`"),
        };
        Some(format!(
            "it contains {what}; a bearer token has only letters, digits and -._~+/ (RFC 6750 §2.1)"
        ))
    } else {
        None
    };
    match problem {
        Some(reason) => Err(Error::InvalidArgument {
            name: var.to_string(),
            reason,
        }),
        None => Ok(AccessToken::new(token)),
    }
}

/// An OAuth error response (RFC 6749 §5.2, RFC 8628 §3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthError {
    /// The error code, e.g. `invalid_grant`, `authorization_pending`.
    pub error: String,
    /// `error_description`, sanitised.
    pub description: Option<String>,
    /// `error_uri`.
    pub uri: Option<String>,
}

impl OAuthError {
    /// An error response with this code and description (no `error_uri`), e.g. from
    /// an authorization callback's `error` parameter.
    pub fn new(error: impl Into<String>, description: Option<String>) -> OAuthError {
        OAuthError {
            error: error.into(),
            description,
            uri: None,
        }
    }

    /// The error in the taxonomy, for flows with no special meaning for it:
    /// `access_denied` → [`Error::AccessDenied`], `expired_token` →
    /// [`Error::DeviceCodeExpired`], anything else → [`Error::AuthorizationFailed`].
    pub fn into_error(self) -> Error {
        match self.error.as_str() {
            "access_denied" => Error::AccessDenied {
                description: self.description,
            },
            "expired_token" => Error::DeviceCodeExpired,
            _ => Error::AuthorizationFailed {
                error: self.error,
                description: self.description,
            },
        }
    }
}

/// What a token endpoint answered.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenEndpointResponse {
    /// Tokens.
    Tokens(TokenResponse),
    /// An OAuth error.
    Error(OAuthError),
}

/// Parses a token endpoint response. HTTP failures that are not OAuth errors (429,
/// 5xx, HTML pages, malformed JSON, missing fields) are returned as `Err`.
pub fn parse_token_response(
    response: &HttpResponse,
    now: Timestamp,
) -> Result<TokenEndpointResponse, Error> {
    let body = &response.body;
    if body.len() > MAX_RESPONSE_BODY {
        return Err(crate::http::body_too_large(MAX_RESPONSE_BODY));
    }
    if response.status == 429 || response.status >= 500 {
        return Err(api_error(response, now).unwrap_or(Error::Server {
            status: response.status,
        }));
    }
    if !response.is_json()
        && !response.is_success()
        && let Some(e) = api_error(response, now)
    {
        return Err(e);
    }
    let map = json_object(
        response,
        body,
        &format!("the token endpoint answered HTTP {}", response.status),
        "the token response",
    )?;
    if let Some(err) = map.get("error") {
        let Some(code) = err.as_str() else {
            return Err(Error::protocol("the `error` field is not a string", body));
        };
        return Ok(TokenEndpointResponse::Error(OAuthError {
            error: sanitize_server_text(code),
            description: map
                .get("error_description")
                .and_then(Value::as_str)
                .map(sanitize_server_text),
            uri: map
                .get("error_uri")
                .and_then(Value::as_str)
                .map(sanitize_server_text),
        }));
    }
    if !response.is_success() {
        return Err(api_error(response, now)
            .unwrap_or_else(|| Error::protocol(format!("HTTP {}", response.status), body)));
    }
    let field = |name: &'static str| -> Result<Option<&str>, Error> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(Error::protocol(format!("`{name}` is not a string"), body)),
        }
    };
    let access_token = field("access_token")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::protocol("the token response has no `access_token`", body))?;
    let token_type = field("token_type")?
        .ok_or_else(|| Error::protocol("the token response has no `token_type`", body))?;
    if !token_type.eq_ignore_ascii_case("bearer") {
        return Err(Error::protocol(
            format!(
                "unsupported token type `{}` (only Bearer)",
                sanitize_server_text(token_type)
            ),
            body,
        ));
    }
    let expires_in =
        match map.get("expires_in") {
            None | Some(Value::Null) => None,
            Some(n @ Value::Number(_)) => Some(number_secs(n).ok_or_else(|| {
                Error::protocol("`expires_in` is not a non-negative number", body)
            })?),
            Some(Value::String(s)) => Some(
                s.trim()
                    .parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| Error::protocol("`expires_in` is not a number", body))?,
            ),
            Some(_) => return Err(Error::protocol("`expires_in` is not a number", body)),
        };
    Ok(TokenEndpointResponse::Tokens(TokenResponse {
        access_token: AccessToken::new(access_token),
        token_type: "Bearer".into(),
        expires_in,
        refresh_token: field("refresh_token")?
            .filter(|s| !s.is_empty())
            .map(RefreshToken::new),
        scope: field("scope")?.map(str::to_string),
        id_token: field("id_token")?
            .filter(|s| !s.is_empty())
            .map(IdToken::new),
    }))
}

fn number_secs(n: &Value) -> Option<Duration> {
    if let Some(u) = n.as_u64() {
        return Some(Duration::from_secs(u));
    }
    n.as_f64()
        .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1.0e12)
        .map(Duration::from_secs_f64)
}

/// The body of a response that must be a JSON object (read with core's one JSON
/// reader, [`crate::json`]), or a protocol error naming what answered (`answered`,
/// e.g. "discovery answered") and what was expected (`document`, e.g. "the discovery
/// document").
pub(crate) fn json_object(
    response: &HttpResponse,
    body: &[u8],
    answered: &str,
    document: &str,
) -> Result<Value, Error> {
    if !response.is_json() {
        let media = response
            .media_type()
            .unwrap_or_else(|| "no content type".into());
        return Err(Error::protocol(
            format!(
                "{answered} with {} instead of JSON",
                describe_media(&media, body)
            ),
            body,
        ));
    }
    let value = Value::from_slice(body).map_err(|e| {
        Error::protocol(
            format!("{document} is not valid JSON ({})", e.describe()),
            body,
        )
    })?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(Error::protocol(
            format!("{document} is not a JSON object"),
            body,
        ))
    }
}

/// Names what a non-JSON body is, for error messages (`an HTML page`), without
/// quoting it.
pub(crate) fn describe_media(media: &str, body: &[u8]) -> String {
    let head = String::from_utf8_lossy(&body[..body.len().min(64)]).to_ascii_lowercase();
    if media.contains("html")
        || head.trim_start().starts_with("<!doctype html")
        || head.contains("<html")
    {
        "an HTML page".to_string()
    } else if body.is_empty() {
        "an empty body".to_string()
    } else {
        format!("`{}`", sanitize_server_text(media))
    }
}

/// Access and refresh tokens with an absolute expiry.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenSet {
    /// The access token.
    pub access_token: AccessToken,
    /// `Bearer`.
    pub token_type: String,
    /// When the access token expires (absent: unknown).
    pub expires_at: Option<Timestamp>,
    /// The refresh token.
    pub refresh_token: Option<RefreshToken>,
    /// The granted scope.
    pub scope: Option<String>,
    /// The ID token.
    pub id_token: Option<IdToken>,
    /// When the tokens were received.
    pub obtained_at: Timestamp,
}

impl TokenSet {
    /// A `Bearer` access token received at `obtained_at`, with no expiry, refresh
    /// token, scope or ID token (set the public fields for those).
    pub fn new(access_token: AccessToken, obtained_at: Timestamp) -> TokenSet {
        TokenSet {
            access_token,
            token_type: "Bearer".into(),
            expires_at: None,
            refresh_token: None,
            scope: None,
            id_token: None,
            obtained_at,
        }
    }

    /// A token set from a response received at `now`. When `expires_in` is absent and
    /// the access token is a JWT with `exp`, that expiry is used.
    pub fn from_response(response: TokenResponse, now: Timestamp) -> Self {
        let expires_at = match response.expires_in {
            Some(d) => Some(now.saturating_add(d)),
            None => crate::jwt::decode_unverified(response.access_token.expose_secret())
                .ok()
                .and_then(|j| j.expires_at()),
        };
        TokenSet {
            access_token: response.access_token,
            token_type: response.token_type,
            expires_at,
            refresh_token: response.refresh_token,
            scope: response.scope,
            id_token: response.id_token,
            obtained_at: now,
        }
    }

    /// The token set after a refresh response: the new refresh token if the server
    /// rotated it, else the old one (RFC 6749 §6); the old scope if none is returned.
    pub fn refreshed(&self, response: TokenResponse, now: Timestamp) -> TokenSet {
        let mut next = TokenSet::from_response(response, now);
        if next.refresh_token.is_none() {
            next.refresh_token = self.refresh_token.as_ref().map(RefreshToken::clone_secret);
        }
        if next.scope.is_none() {
            next.scope = self.scope.clone();
        }
        if next.id_token.is_none() {
            next.id_token = self.id_token.as_ref().map(IdToken::clone_secret);
        }
        next
    }

    /// An explicit copy.
    pub fn clone_secret(&self) -> TokenSet {
        TokenSet {
            access_token: self.access_token.clone_secret(),
            token_type: self.token_type.clone(),
            expires_at: self.expires_at,
            refresh_token: self.refresh_token.as_ref().map(RefreshToken::clone_secret),
            scope: self.scope.clone(),
            id_token: self.id_token.as_ref().map(IdToken::clone_secret),
            obtained_at: self.obtained_at,
        }
    }

    /// Where the tokens stand at `now`.
    pub fn status(&self, now: Timestamp, policy: &RefreshPolicy) -> TokenStatus {
        let Some(expires_at) = self.expires_at else {
            return TokenStatus::Valid { expires_in: None };
        };
        // Short-lived tokens: the margin and the leeway each take at most a quarter of
        // the token's lifetime, so that a freshly refreshed token is never "due" at
        // once (which would make every process refresh again).
        let quarter = expires_at.saturating_duration_since(self.obtained_at) / 4;
        let leeway = policy.leeway.min(quarter);
        let margin = policy.margin.min(quarter);
        let can_refresh = self.refresh_token.is_some();
        if now >= expires_at.saturating_sub(leeway) {
            return if can_refresh {
                TokenStatus::Expired
            } else {
                TokenStatus::NeedsLogin
            };
        }
        if can_refresh && now >= expires_at.saturating_sub(margin + leeway) {
            return TokenStatus::RefreshDue;
        }
        TokenStatus::Valid {
            expires_in: Some(expires_at.saturating_duration_since(now)),
        }
    }

    /// The scopes as a list.
    pub fn scopes(&self) -> Vec<&str> {
        self.scope
            .as_deref()
            .map(|s| s.split_whitespace().collect())
            .unwrap_or_default()
    }
}

/// When to refresh. For tokens that live less than four times these durations, each
/// is reduced to a quarter of the token's lifetime (see [`TokenSet::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefreshPolicy {
    /// Refresh this long before expiry (default 60 s, at most ¼ of the lifetime).
    pub margin: Duration,
    /// Allowance for clock skew between client and server (default 30 s, at most ¼ of
    /// the lifetime).
    pub leeway: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            margin: Duration::from_secs(60),
            leeway: Duration::from_secs(30),
        }
    }
}

/// Where a token set stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenStatus {
    /// Usable as is.
    Valid {
        /// Time left, if the expiry is known.
        expires_in: Option<Duration>,
    },
    /// Still usable, but within the refresh margin: refresh now.
    RefreshDue,
    /// Expired (or about to, given the leeway); a refresh token is available.
    Expired,
    /// Expired with no refresh token: the user must log in again.
    NeedsLogin,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: Timestamp = Timestamp::from_unix_secs(1_000_000);

    fn tokens(v: serde_json::Value) -> Result<TokenEndpointResponse, Error> {
        parse_token_response(&HttpResponse::json(200, &v), NOW)
    }

    #[test]
    fn parses_success() {
        let r = tokens(json!({"access_token":"a","token_type":"bEaReR","expires_in":"3600","refresh_token":"r","scope":"x y"})).unwrap();
        let TokenEndpointResponse::Tokens(t) = r else {
            panic!()
        };
        assert_eq!(t.token_type, "Bearer");
        assert_eq!(t.expires_in, Some(Duration::from_secs(3600)));
        let set = TokenSet::from_response(t, NOW);
        assert_eq!(set.expires_at, Some(Timestamp::from_unix_secs(1_003_600)));
        assert_eq!(set.scopes(), vec!["x", "y"]);
        let r =
            tokens(json!({"access_token":"a","token_type":"Bearer","expires_in":59.9})).unwrap();
        let TokenEndpointResponse::Tokens(t) = r else {
            panic!()
        };
        assert_eq!(t.expires_in, Some(Duration::from_secs_f64(59.9)));
    }

    #[test]
    fn strict_failures() {
        for bad in [
            json!({"token_type":"Bearer"}),
            json!({"access_token":"a"}),
            json!({"access_token":"a","token_type":"mac"}),
            json!({"access_token":5,"token_type":"Bearer"}),
            json!({"access_token":"a","token_type":"Bearer","expires_in":-5}),
            json!({"access_token":"a","token_type":"Bearer","expires_in":"soon"}),
            json!([1]),
        ] {
            assert!(
                matches!(tokens(bad.clone()), Err(Error::Protocol { .. })),
                "{bad}"
            );
        }
        let html = HttpResponse::new(200)
            .with_header("content-type", "text/html")
            .with_body("<html>oops</html>");
        let e = parse_token_response(&html, NOW).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Unexpected response from the server: the token endpoint answered HTTP 200 with an HTML page instead of JSON"
        );
        let trunc = HttpResponse::new(200)
            .with_header("content-type", "application/json")
            .with_body("{\"access_token\":\"sec");
        let e = parse_token_response(&trunc, NOW).unwrap_err();
        assert!(!e.to_string().contains("sec\""), "{e}");
        assert_eq!(
            parse_token_response(&HttpResponse::new(502).with_body("<html>"), NOW).unwrap_err(),
            Error::Server { status: 502 }
        );
    }

    #[test]
    fn oauth_errors() {
        let r = parse_token_response(
            &HttpResponse::json(
                400,
                &json!({"error":"invalid_grant","error_description":"used"}),
            ),
            NOW,
        )
        .unwrap();
        assert_eq!(
            r,
            TokenEndpointResponse::Error(OAuthError {
                error: "invalid_grant".into(),
                description: Some("used".into()),
                uri: None
            })
        );
        // GitHub answers device-flow errors with 200.
        let r = tokens(json!({"error":"authorization_pending"})).unwrap();
        assert!(matches!(r, TokenEndpointResponse::Error(e) if e.error == "authorization_pending"));
    }

    #[test]
    fn status_transitions() {
        let policy = RefreshPolicy::default();
        let mut set = TokenSet {
            access_token: AccessToken::new("a"),
            token_type: "Bearer".into(),
            expires_at: Some(NOW.saturating_add(Duration::from_secs(3600))),
            refresh_token: Some(RefreshToken::new("r")),
            scope: None,
            id_token: None,
            obtained_at: NOW,
        };
        let at = |s| NOW.saturating_add(Duration::from_secs(s));
        assert_eq!(
            set.status(NOW, &policy),
            TokenStatus::Valid {
                expires_in: Some(Duration::from_secs(3600))
            }
        );
        assert_eq!(
            set.status(at(3509), &policy),
            TokenStatus::Valid {
                expires_in: Some(Duration::from_secs(91))
            }
        );
        assert_eq!(set.status(at(3510), &policy), TokenStatus::RefreshDue);
        assert_eq!(set.status(at(3570), &policy), TokenStatus::Expired);
        set.refresh_token = None;
        assert!(matches!(
            set.status(at(3510), &policy),
            TokenStatus::Valid { .. }
        ));
        assert_eq!(set.status(at(3570), &policy), TokenStatus::NeedsLogin);
        set.expires_at = None;
        assert_eq!(
            set.status(at(99999), &policy),
            TokenStatus::Valid { expires_in: None }
        );
    }

    #[test]
    fn short_lived_tokens_are_not_due_at_once() {
        let policy = RefreshPolicy::default();
        let set = TokenSet {
            access_token: AccessToken::new("a"),
            token_type: "Bearer".into(),
            expires_at: Some(NOW.saturating_add(Duration::from_secs(20))),
            refresh_token: Some(RefreshToken::new("r")),
            scope: None,
            id_token: None,
            obtained_at: NOW,
        };
        let at = |s| NOW.saturating_add(Duration::from_secs(s));
        // 20 s lifetime: margin and leeway are 5 s each instead of 60 s and 30 s.
        assert!(matches!(
            set.status(NOW, &policy),
            TokenStatus::Valid { .. }
        ));
        assert!(matches!(
            set.status(at(9), &policy),
            TokenStatus::Valid { .. }
        ));
        assert_eq!(set.status(at(10), &policy), TokenStatus::RefreshDue);
        assert_eq!(set.status(at(15), &policy), TokenStatus::Expired);
    }

    #[test]
    fn refresh_keeps_old_refresh_token_when_not_rotated() {
        let old = TokenSet {
            access_token: AccessToken::new("a1"),
            token_type: "Bearer".into(),
            expires_at: None,
            refresh_token: Some(RefreshToken::new("r1")),
            scope: Some("s".into()),
            id_token: None,
            obtained_at: NOW,
        };
        let resp = TokenResponse {
            access_token: AccessToken::new("a2"),
            token_type: "Bearer".into(),
            expires_in: None,
            refresh_token: None,
            scope: None,
            id_token: None,
        };
        let next = old.refreshed(resp, NOW);
        assert_eq!(next.refresh_token.unwrap().expose_secret(), "r1");
        assert_eq!(next.scope.as_deref(), Some("s"));
        let resp = TokenResponse {
            access_token: AccessToken::new("a3"),
            token_type: "Bearer".into(),
            expires_in: None,
            refresh_token: Some(RefreshToken::new("r2")),
            scope: None,
            id_token: None,
        };
        assert_eq!(
            old.refreshed(resp, NOW)
                .refresh_token
                .unwrap()
                .expose_secret(),
            "r2"
        );
    }

    #[test]
    fn bearer_tokens_from_the_environment() {
        assert_eq!(
            bearer_token("T", " a.b-c_d~e+f/g==\n")
                .unwrap()
                .expose_secret(),
            "a.b-c_d~e+f/g=="
        );
        for (bad, why) in [
            ("Bearer abc", "starts with `Bearer `"),
            ("abc def", "a space"),
            ("abc\ndef", "a line break"),
            ("\"abc\"", "a quote"),
            ("ab=c", "`=` before its end"),
            ("===", "it is empty"),
        ] {
            let e = bearer_token("ACME_TOKEN", bad).unwrap_err();
            assert_eq!(e.code(), "invalid_argument");
            assert!(e.to_string().starts_with("Invalid ACME_TOKEN: "), "{e}");
            assert!(e.to_string().contains(why), "{bad:?}: {e}");
            assert!(!format!("{e:?}").contains("abc"), "{e:?}");
        }
    }

    #[test]
    fn requests_are_form_encoded() {
        let code = AuthorizationCode::new("c&1");
        let verifier = PkceVerifier::from_entropy(&[0; 32]);
        let req = token_request(
            "https://as/token",
            "cli",
            TokenGrant::AuthorizationCode {
                code: &code,
                verifier: &verifier,
                redirect_uri: "http://127.0.0.1:5/callback",
            },
        );
        let body = String::from_utf8(req.body.clone()).unwrap();
        assert!(body.starts_with("grant_type=authorization_code&code=c%261&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcallback&client_id=cli&code_verifier="));
        assert!(!req.idempotent);
        let dc = DeviceCode::new("d");
        let req = token_request(
            "https://as/token",
            "cli",
            TokenGrant::DeviceCode { device_code: &dc },
        );
        assert!(req.idempotent);
        assert_eq!(
            req.header("Content-Type"),
            Some("application/x-www-form-urlencoded")
        );
    }
}

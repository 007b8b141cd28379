//! The authorization request and its callback (RFC 6749 §4.1, RFC 7636, RFC 8252,
//! RFC 9207).
//!
//! [`PendingAuthorization::start`] turns [`LOGIN_ENTROPY_LEN`] (96) bytes of entropy
//! into three independent values — the PKCE verifier, the `state` and the OpenID
//! `nonce` — and builds the authorize URL with a loopback `redirect_uri`
//! (`http://127.0.0.1:PORT/callback`, RFC 8252 §7.3). Nothing in the URL is derived
//! from the verifier's bytes except its S256 challenge (a one-way hash), so seeing
//! the URL (browser history, `ps`, a proxy log) does not reveal `code_verifier`
//! (RFC 7636 §1, RFC 9700 §2.1.1). When the callback arrives,
//! [`PendingAuthorization::complete`] checks — in this order — that the login has not
//! expired (default 5 minutes) or already completed, that `state` matches (constant
//! time), that `iss` names the expected issuer when present or required (RFC 9207),
//! and then yields the code with its verifier, exactly once. When a nonce was sent,
//! [`AuthorizationGrant::check_tokens`] then refuses a token response whose ID token
//! does not carry it (OpenID Connect Core §3.1.3.7).
//!
//! ```
//! use cliauth_core::authorize::{AuthorizationConfig, CallbackParams, PendingAuthorization};
//! use cliauth_core::Timestamp;
//! let config = AuthorizationConfig::new("https://as.example/authorize", "my-cli")
//!     .scopes(["openid", "offline_access"]);
//! let now = Timestamp::from_unix_secs(1_000);
//! let mut pending = PendingAuthorization::start(&config, 4711, &[7; 96], now).unwrap();
//! assert!(pending.url().starts_with("https://as.example/authorize?response_type=code&client_id=my-cli"));
//! let state = pending.state().expose_secret().to_string();
//! let callback = CallbackParams::parse(&format!("code=abc&state={state}")).unwrap();
//! let grant = pending.complete(now, &callback).unwrap();
//! assert_eq!(grant.code.expose_secret(), "abc");
//! assert_eq!(grant.redirect_uri, "http://127.0.0.1:4711/callback");
//! // consumed once
//! assert!(pending.complete(now, &callback).is_err());
//! ```

use core::time::Duration;

use crate::client::RequestKind;
use crate::encoding::{append_query, parse_query};
use crate::error::{Error, sanitize_server_text};
use crate::pkce::{PkceChallenge, PkceMethod, PkceVerifier};
use crate::provider::RedirectHost;
use crate::secret::{ApiKey, AuthorizationCode, IdToken};
use crate::state::{Nonce, StateToken};
use crate::time::Timestamp;
use crate::token::TokenResponse;

/// The entropy a login takes: bytes `0..32` make the PKCE verifier, `32..64` the
/// `state`, `64..96` the OpenID `nonce` (used only when one is sent). Three separate
/// draws, so no value in the authorization URL is computed from the verifier.
pub const LOGIN_ENTROPY_LEN: usize = 96;

/// How long a login waits for its callback by default.
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);
/// The loopback callback path.
pub const CALLBACK_PATH: &str = "/callback";

/// The loopback redirect URI for a port: `http://127.0.0.1:PORT/callback`. An IP
/// literal, not `localhost`, as RFC 8252 §7.3 and §8.3 recommend.
pub fn loopback_redirect_uri(port: u16) -> String {
    LoopbackHost::Ipv4.redirect_uri(port)
}

/// The host a loopback redirect URI names (RFC 8252 §7.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopbackHost {
    /// `127.0.0.1`: the default.
    Ipv4,
    /// `[::1]`: where 127.0.0.1 cannot be bound (an IPv6-only host or container),
    /// RFC 8252 §7.3 "`http://[::1]:{port}/{path}` for IPv6".
    Ipv6,
    /// `localhost`, only for servers that accept nothing else
    /// ([`RedirectHost::Localhost`], Amazon Cognito); the loopback server listens
    /// on both loopback addresses so that either resolution of the name reaches it.
    Localhost,
}

impl LoopbackHost {
    /// The host as written in a URL: `127.0.0.1`, `[::1]` or `localhost`.
    pub fn as_str(self) -> &'static str {
        match self {
            LoopbackHost::Ipv4 => "127.0.0.1",
            LoopbackHost::Ipv6 => "[::1]",
            LoopbackHost::Localhost => "localhost",
        }
    }

    /// `http://HOST:PORT/callback`.
    pub fn redirect_uri(self, port: u16) -> String {
        format!("http://{}:{port}{CALLBACK_PATH}", self.as_str())
    }

    /// The host to name for a server whose loopback listener is `bound`
    /// ([`Ipv4`](Self::Ipv4) or [`Ipv6`](Self::Ipv6)), given the server's
    /// redirect quirk.
    pub fn choose(redirect: RedirectHost, bound: LoopbackHost) -> LoopbackHost {
        match redirect {
            RedirectHost::Localhost => LoopbackHost::Localhost,
            RedirectHost::LoopbackIp => bound,
        }
    }
}

/// What every authorization request of an app shares.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizationConfig {
    /// The authorization endpoint.
    pub authorization_endpoint: String,
    /// The public client id.
    pub client_id: String,
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// The challenge method (S256 unless `plain` was negotiated explicitly).
    pub pkce_method: PkceMethod,
    /// Extra parameters (`prompt`, `audience`, `login_hint`, …).
    pub extra_params: Vec<(String, String)>,
    /// The issuer expected in the callback's `iss` (RFC 9207): the discovery
    /// document's `issuer` when there is one, compared with
    /// [`same_issuer`](crate::discovery::same_issuer) (identical strings).
    pub issuer: Option<String>,
    /// Whether `iss` must be present (the server advertises
    /// `authorization_response_iss_parameter_supported`).
    pub require_iss: bool,
    /// Whether to send an OpenID `nonce` (switched on by [`scopes`](Self::scopes) when
    /// they include `openid`). Its ID token must then carry it
    /// ([`AuthorizationGrant::check_tokens`]).
    pub send_nonce: bool,
    /// How long the login may take.
    pub timeout: Duration,
}

impl AuthorizationConfig {
    /// A configuration with S256, no scopes, a 5-minute timeout.
    pub fn new(authorization_endpoint: impl Into<String>, client_id: impl Into<String>) -> Self {
        AuthorizationConfig {
            authorization_endpoint: authorization_endpoint.into(),
            client_id: client_id.into(),
            scopes: Vec::new(),
            pkce_method: PkceMethod::S256,
            extra_params: Vec::new(),
            issuer: None,
            require_iss: false,
            send_nonce: false,
            timeout: DEFAULT_LOGIN_TIMEOUT,
        }
    }

    /// Sets the scopes. With `openid` among them a `nonce` is sent too (OpenID
    /// Connect Core §3.1.2.1, §15.5.2: it binds the ID token to this login); set
    /// [`send_nonce`](Self::send_nonce) afterwards to choose otherwise.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self.send_nonce = self.scopes.iter().any(|s| s == "openid");
        self
    }

    /// Adds an extra parameter. Parameters cliauth sets itself (`state`,
    /// `code_challenge`, `redirect_uri`, …) cannot be overridden.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((name.into(), value.into()));
        self
    }

    /// Sets the expected issuer for RFC 9207 checks.
    pub fn issuer(mut self, issuer: impl Into<String>, required: bool) -> Self {
        self.issuer = Some(issuer.into());
        self.require_iss = required;
        self
    }
}

/// What the callback yields: the code to exchange with its verifier.
#[derive(Debug)]
pub struct AuthorizationGrant {
    /// The authorization code.
    pub code: AuthorizationCode,
    /// The verifier for the token request.
    pub verifier: PkceVerifier,
    /// The `redirect_uri` to repeat in the token request.
    pub redirect_uri: String,
    /// The `nonce` the authorization request carried, if any.
    pub nonce: Option<Nonce>,
    /// The scopes the authorization request asked for: what the tokens carry when
    /// the token response names none (RFC 6749 §5.1).
    pub scopes: Vec<String>,
}

impl AuthorizationGrant {
    /// Checks the token response of this grant's code exchange before any of its
    /// tokens is used or stored: when a nonce was sent, the ID token must carry it
    /// ([`check_id_token_nonce`]). Shells call it right after parsing the response.
    pub fn check_tokens(&self, tokens: &TokenResponse) -> Result<(), Error> {
        check_id_token_nonce(tokens.id_token.as_ref(), self.nonce.as_ref())
    }
}

/// OpenID Connect Core §3.1.3.7 (step 11): when a `nonce` was sent, the ID token's
/// `nonce` claim must be present and equal to it (compared in constant time), or
/// the response is refused with [`Error::NonceMismatch`] — also when the ID token
/// cannot be decoded. Without a sent nonce there is nothing to check. A response
/// without an ID token is accepted (an OAuth-only server ignores `nonce`; there is
/// then no identity assertion to refuse, and PKCE still binds the code). The
/// signature is not verified: cliauth never makes decisions from ID token claims
/// other than this one.
pub fn check_id_token_nonce(id_token: Option<&IdToken>, sent: Option<&Nonce>) -> Result<(), Error> {
    let (Some(sent), Some(id_token)) = (sent, id_token) else {
        return Ok(());
    };
    let claims = crate::jwt::decode_unverified(id_token.expose_secret())
        .map_err(|_| Error::NonceMismatch)?
        .claims;
    match claims
        .extra
        .get("nonce")
        .and_then(serde_json::Value::as_str)
    {
        Some(received) if sent.verify(received) => Ok(()),
        _ => Err(Error::NonceMismatch),
    }
}

/// A login waiting for its callback.
#[derive(Debug)]
pub struct PendingAuthorization {
    state: StateToken,
    verifier: PkceVerifier,
    nonce: Option<Nonce>,
    redirect_uri: String,
    scopes: Vec<String>,
    url: String,
    expires_at: Timestamp,
    issuer: Option<String>,
    require_iss: bool,
    consumed: bool,
}

impl PendingAuthorization {
    /// Starts a login on loopback `port`: bytes `0..32` of `entropy` make the PKCE
    /// verifier, `32..64` the `state` and, with `send_nonce`, `64..96` the nonce
    /// ([`LOGIN_ENTROPY_LEN`]). The shell draws all 96 from the OS.
    pub fn start(
        config: &AuthorizationConfig,
        port: u16,
        entropy: &[u8; LOGIN_ENTROPY_LEN],
        now: Timestamp,
    ) -> Result<Self, Error> {
        Self::start_with_redirect(config, loopback_redirect_uri(port), entropy, now)
    }

    /// Starts a login with an explicit `redirect_uri` (for the cli-auth handoff page
    /// or a web page's own callback).
    pub fn start_with_redirect(
        config: &AuthorizationConfig,
        redirect_uri: String,
        entropy: &[u8; LOGIN_ENTROPY_LEN],
        now: Timestamp,
    ) -> Result<Self, Error> {
        let endpoint =
            crate::encoding::split_url(&config.authorization_endpoint).ok_or_else(|| {
                Error::invalid_config("the authorization endpoint is not an http(s) URL")
            })?;
        if endpoint.fragment.is_some() {
            return Err(Error::invalid_config(
                "the authorization endpoint must not contain a fragment",
            ));
        }
        if config.client_id.is_empty() {
            return Err(Error::invalid_config("the client id is empty"));
        }
        let mut verifier_bytes = [0u8; 32];
        let mut state_bytes = [0u8; 32];
        let mut nonce_bytes = [0u8; 32];
        verifier_bytes.copy_from_slice(&entropy[..32]);
        state_bytes.copy_from_slice(&entropy[32..64]);
        nonce_bytes.copy_from_slice(&entropy[64..]);
        let verifier = PkceVerifier::from_entropy(&verifier_bytes);
        let state = StateToken::from_entropy(&state_bytes);
        // Its own entropy: a nonce computed from the verifier's bytes would let anyone
        // who sees the URL recompute `code_verifier`.
        let nonce = config.send_nonce.then(|| Nonce::from_entropy(&nonce_bytes));
        let challenge: PkceChallenge = verifier.challenge(config.pkce_method);
        let scope = config.scopes.join(" ");
        let mut pairs: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &config.client_id),
            ("redirect_uri", &redirect_uri),
        ];
        if !scope.is_empty() {
            pairs.push(("scope", &scope));
        }
        pairs.push(("state", state.expose_secret()));
        pairs.push(("code_challenge", challenge.as_str()));
        pairs.push(("code_challenge_method", config.pkce_method.as_str()));
        if let Some(n) = &nonce {
            pairs.push(("nonce", n.expose_secret()));
        }
        for (k, v) in &config.extra_params {
            if !RequestKind::Authorize.reserved().contains(&k.as_str()) {
                pairs.push((k, v));
            }
        }
        let url = append_query(&config.authorization_endpoint, pairs);
        Ok(PendingAuthorization {
            state,
            verifier,
            nonce,
            redirect_uri,
            scopes: config.scopes.clone(),
            url,
            expires_at: now.saturating_add(config.timeout),
            issuer: config.issuer.clone(),
            require_iss: config.require_iss,
            consumed: false,
        })
    }

    /// The URL to open in the browser.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `state`.
    pub fn state(&self) -> &StateToken {
        &self.state
    }

    /// The nonce, if one was sent.
    pub fn nonce(&self) -> Option<&Nonce> {
        self.nonce.as_ref()
    }

    /// The `redirect_uri`.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// When the login expires.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// Whether `received` is this login's `state` (constant time). Does not consume.
    pub fn state_matches(&self, received: &str) -> bool {
        self.state.verify(received)
    }

    /// Whether the login has completed or been refused after a matching callback.
    pub fn is_consumed(&self) -> bool {
        self.consumed
    }

    /// Checks a callback and yields the code with its verifier, once.
    ///
    /// A callback with the wrong `state` does **not** consume the login (a forged
    /// request must not end it); one with the right `state` does, whether it carries a
    /// code or an error.
    pub fn complete(
        &mut self,
        now: Timestamp,
        callback: &CallbackParams,
    ) -> Result<AuthorizationGrant, Error> {
        if self.consumed {
            return Err(Error::Misuse("this authorization was already completed"));
        }
        if now >= self.expires_at {
            return Err(Error::AuthorizationExpired);
        }
        match callback.state.as_deref() {
            Some(s) if self.state.verify(s) => {}
            _ => return Err(Error::StateMismatch),
        }
        self.complete_matched(now, callback)
    }

    /// [`complete`](Self::complete) for a callback whose `state` the loopback handler
    /// of this same login has already matched in constant time (the flows own both,
    /// so the state is checked once).
    pub(crate) fn complete_matched(
        &mut self,
        now: Timestamp,
        callback: &CallbackParams,
    ) -> Result<AuthorizationGrant, Error> {
        if self.consumed {
            return Err(Error::Misuse("this authorization was already completed"));
        }
        if now >= self.expires_at {
            return Err(Error::AuthorizationExpired);
        }
        self.consumed = true;
        if let Some(expected) = &self.issuer {
            match &callback.iss {
                Some(iss) if crate::discovery::same_issuer(iss, expected) => {}
                Some(iss) => {
                    return Err(Error::IssuerMismatch {
                        expected: expected.clone(),
                        found: Some(sanitize_server_text(iss)),
                    });
                }
                None if self.require_iss => {
                    return Err(Error::IssuerMismatch {
                        expected: expected.clone(),
                        found: None,
                    });
                }
                None => {}
            }
        }
        if let Some(error) = &callback.error {
            return Err(match error.as_str() {
                "access_denied" => Error::AccessDenied {
                    description: callback.error_description.clone(),
                },
                _ => Error::AuthorizationFailed {
                    error: error.clone(),
                    description: callback.error_description.clone(),
                },
            });
        }
        let code = callback
            .code
            .as_ref()
            .ok_or_else(|| Error::protocol("the callback has neither `code` nor `error`", &[]))?;
        Ok(AuthorizationGrant {
            code: code.clone_secret(),
            verifier: self.verifier.clone_secret(),
            redirect_uri: self.redirect_uri.clone(),
            nonce: self.nonce.as_ref().map(Nonce::clone_secret),
            scopes: self.scopes.clone(),
        })
    }
}

/// The parameters of a callback (authorization response or cli-auth handoff).
#[derive(Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackParams {
    /// `code`: an authorization code or a one-time handoff code.
    pub code: Option<AuthorizationCode>,
    /// `api_key`: a key delivered by a cli-auth page.
    pub api_key: Option<ApiKey>,
    /// `state`.
    pub state: Option<String>,
    /// `error`, sanitised.
    pub error: Option<String>,
    /// `error_description`, sanitised.
    pub error_description: Option<String>,
    /// `iss` (RFC 9207).
    pub iss: Option<String>,
}

impl CallbackParams {
    /// Parses a query string (without `?`). Repeated parameters are refused (RFC 6749
    /// §3.1: parameters must not be included more than once); unknown ones ignored.
    pub fn parse(query: &str) -> Result<Self, Error> {
        let mut out = CallbackParams::default();
        let mut seen: Vec<&'static str> = Vec::new();
        for (k, v) in parse_query(query) {
            let name: &'static str = match k.as_str() {
                "code" => "code",
                "api_key" => "api_key",
                "state" => "state",
                "error" => "error",
                "error_description" => "error_description",
                "iss" => "iss",
                _ => continue,
            };
            if seen.contains(&name) {
                return Err(Error::InvalidArgument {
                    name: "callback".into(),
                    reason: format!("the `{name}` parameter appears more than once"),
                });
            }
            seen.push(name);
            match name {
                "code" => out.code = Some(AuthorizationCode::new(v)),
                "api_key" => out.api_key = Some(ApiKey::new(v)),
                "state" => out.state = Some(v),
                "error" => out.error = Some(sanitize_server_text(&v)),
                "error_description" => out.error_description = Some(sanitize_server_text(&v)),
                _ => out.iss = Some(v),
            }
        }
        Ok(out)
    }

    /// Whether the callback carries nothing cliauth understands (a stray request).
    pub fn is_empty(&self) -> bool {
        self.code.is_none() && self.api_key.is_none() && self.error.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_unix_secs(1000);

    fn pending() -> PendingAuthorization {
        let config = AuthorizationConfig::new("https://as/authorize?tenant=a", "cli")
            .scopes(["read"])
            .param("prompt", "consent")
            .param("state", "evil")
            .issuer("https://as", false);
        PendingAuthorization::start(&config, 5000, &[3; 96], T0).unwrap()
    }

    #[test]
    fn url_has_everything_once() {
        let p = pending();
        let q = parse_query(p.url().split_once('?').unwrap().1);
        let get = |k: &str| {
            q.iter()
                .filter(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(get("tenant"), vec!["a"]);
        assert_eq!(get("response_type"), vec!["code"]);
        assert_eq!(get("redirect_uri"), vec!["http://127.0.0.1:5000/callback"]);
        assert_eq!(get("code_challenge_method"), vec!["S256"]);
        assert_eq!(get("state").len(), 1);
        assert_ne!(get("state"), vec!["evil"]);
        assert_eq!(get("prompt"), vec!["consent"]);
        assert_eq!(get("scope"), vec!["read"]);
    }

    #[test]
    fn wrong_state_does_not_consume() {
        let mut p = pending();
        let forged = CallbackParams::parse("code=x&state=forged").unwrap();
        assert_eq!(p.complete(T0, &forged).unwrap_err(), Error::StateMismatch);
        assert!(!p.is_consumed());
        let good =
            CallbackParams::parse(&format!("code=x&state={}", p.state().expose_secret())).unwrap();
        assert!(p.complete(T0, &good).is_ok());
        assert!(p.is_consumed());
    }

    #[test]
    fn errors_expiry_and_issuer() {
        let mut p = pending();
        let s = p.state().expose_secret().to_string();
        let late = CallbackParams::parse(&format!("code=x&state={s}")).unwrap();
        assert_eq!(
            p.complete(T0.saturating_add(DEFAULT_LOGIN_TIMEOUT), &late)
                .unwrap_err(),
            Error::AuthorizationExpired
        );
        let mut p = pending();
        let s = p.state().expose_secret().to_string();
        let denied = CallbackParams::parse(&format!(
            "error=access_denied&error_description=nope%3Cb%3E&state={s}"
        ))
        .unwrap();
        assert_eq!(
            p.complete(T0, &denied).unwrap_err(),
            Error::AccessDenied {
                description: Some("nope<b>".into())
            }
        );
        let mut p = pending();
        let s = p.state().expose_secret().to_string();
        let mixup = CallbackParams::parse(&format!("code=x&state={s}&iss=https://evil")).unwrap();
        assert!(matches!(
            p.complete(T0, &mixup).unwrap_err(),
            Error::IssuerMismatch { .. }
        ));
    }

    fn url_param(p: &PendingAuthorization, name: &str) -> Option<String> {
        let q = parse_query(p.url().split_once('?').unwrap().1);
        q.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    fn entropy(verifier: u8, state: u8, nonce: u8) -> [u8; LOGIN_ENTROPY_LEN] {
        // Distinct bytes in each third, so a mix-up of the ranges would show.
        let mut e = [0u8; LOGIN_ENTROPY_LEN];
        for i in 0..32 {
            let k = u8::try_from(i).unwrap();
            e[i] = verifier.wrapping_mul(31).wrapping_add(k);
            e[32 + i] = state.wrapping_mul(17).wrapping_add(k);
            e[64 + i] = nonce.wrapping_mul(13).wrapping_add(k);
        }
        e
    }

    fn oidc_config() -> AuthorizationConfig {
        AuthorizationConfig::new("https://as/authorize", "cli").scopes(["openid", "email"])
    }

    fn verifier_of(p: &mut PendingAuthorization) -> String {
        let cb =
            CallbackParams::parse(&format!("code=x&state={}", p.state().expose_secret())).unwrap();
        p.complete(T0, &cb)
            .unwrap()
            .verifier
            .expose_secret()
            .to_string()
    }

    #[test]
    fn the_url_does_not_reveal_the_verifier() {
        // The nonce is sent (openid) and drawn from its own entropy.
        let mut p =
            PendingAuthorization::start(&oidc_config(), 5000, &entropy(1, 2, 3), T0).unwrap();
        let nonce = url_param(&p, "nonce").expect("a nonce is sent with openid");
        assert_eq!(Some(nonce.as_str()), p.nonce().map(Nonce::expose_secret));
        let state = url_param(&p, "state").unwrap();
        let verifier = verifier_of(&mut p);
        // Nothing in the URL is the verifier or contains it.
        assert!(!p.url().contains(&verifier));
        // The derivation the nonce once had (verifier byte XOR a rotated state byte)
        // recovers nothing: undo it with the state and nonce read from the URL.
        let s = crate::encoding::b64url_decode(&state).unwrap();
        let n = crate::encoding::b64url_decode(&nonce).unwrap();
        let guess: Vec<u8> = (0..32).map(|i| n[i] ^ s[31 - i].rotate_left(3)).collect();
        let mut guess_bytes = [0u8; 32];
        guess_bytes.copy_from_slice(&guess);
        assert_ne!(
            PkceVerifier::from_entropy(&guess_bytes).expose_secret(),
            verifier,
            "the verifier can be recomputed from the URL"
        );
        // And the URL depends on the verifier's bytes only through the S256
        // challenge: other verifier bytes, same state and nonce bytes → the same URL
        // apart from `code_challenge`.
        let mut q =
            PendingAuthorization::start(&oidc_config(), 5000, &entropy(9, 2, 3), T0).unwrap();
        let without_challenge = |p: &PendingAuthorization| {
            let challenge = url_param(p, "code_challenge").unwrap();
            p.url().replace(&challenge, "")
        };
        assert_ne!(
            url_param(&p, "code_challenge"),
            url_param(&q, "code_challenge")
        );
        assert_eq!(without_challenge(&p), without_challenge(&q));
        assert_ne!(verifier_of(&mut q), verifier);
    }

    fn id_token(claims: &serde_json::Value) -> String {
        use crate::encoding::b64url_encode;
        format!(
            "{}.{}.sig",
            b64url_encode(br#"{"alg":"RS256"}"#),
            b64url_encode(claims.to_string().as_bytes())
        )
    }

    fn tokens_with(id: Option<String>) -> TokenResponse {
        TokenResponse {
            access_token: crate::secret::AccessToken::new("at"),
            token_type: "Bearer".into(),
            expires_in: None,
            refresh_token: None,
            scope: None,
            id_token: id.map(IdToken::new),
        }
    }

    #[test]
    fn the_id_token_must_carry_the_nonce_that_was_sent() {
        let mut p =
            PendingAuthorization::start(&oidc_config(), 5000, &entropy(1, 2, 3), T0).unwrap();
        let nonce = p.nonce().unwrap().expose_secret().to_string();
        let cb =
            CallbackParams::parse(&format!("code=x&state={}", p.state().expose_secret())).unwrap();
        let grant = p.complete(T0, &cb).unwrap();
        let ok = tokens_with(Some(id_token(
            &serde_json::json!({"sub": "u", "nonce": nonce}),
        )));
        assert_eq!(grant.check_tokens(&ok), Ok(()));
        // OAuth-only server: no ID token, nothing to refuse.
        assert_eq!(grant.check_tokens(&tokens_with(None)), Ok(()));
        let other = Nonce::from_entropy(&[5; 32]).expose_secret().to_string();
        for bad in [
            Some(id_token(&serde_json::json!({"sub": "u", "nonce": other}))),
            Some(id_token(&serde_json::json!({"sub": "u"}))),
            Some(id_token(&serde_json::json!({"sub": "u", "nonce": 7}))),
            Some(id_token(
                &serde_json::json!({"sub": "u", "nonce": format!("{nonce}x")}),
            )),
            Some(id_token(
                &serde_json::json!({"sub": "u", "nonce": &nonce[..42]}),
            )),
            Some("not-a-jwt".to_string()),
        ] {
            assert_eq!(
                grant.check_tokens(&tokens_with(bad.clone())),
                Err(Error::NonceMismatch),
                "{bad:?}"
            );
        }
        // Without a nonce sent, an ID token's claims are not judged.
        let mut config = oidc_config();
        config.send_nonce = false;
        let mut p = PendingAuthorization::start(&config, 5000, &entropy(1, 2, 3), T0).unwrap();
        assert!(url_param(&p, "nonce").is_none());
        let cb =
            CallbackParams::parse(&format!("code=x&state={}", p.state().expose_secret())).unwrap();
        let grant = p.complete(T0, &cb).unwrap();
        let foreign = tokens_with(Some(id_token(&serde_json::json!({"nonce": other}))));
        assert_eq!(grant.check_tokens(&foreign), Ok(()));
    }

    #[test]
    fn duplicate_params_refused() {
        assert!(CallbackParams::parse("code=a&code=b").is_err());
        assert!(CallbackParams::parse("state=a&x=1&x=2").is_ok());
        assert!(CallbackParams::parse("").unwrap().is_empty());
    }

    #[test]
    fn bad_config() {
        let mut e = [0; 96];
        e[0] = 1;
        assert!(
            PendingAuthorization::start(&AuthorizationConfig::new("not a url", "c"), 1, &e, T0)
                .is_err()
        );
        assert!(
            PendingAuthorization::start(&AuthorizationConfig::new("https://a/x#f", "c"), 1, &e, T0)
                .is_err()
        );
        assert!(
            PendingAuthorization::start(&AuthorizationConfig::new("https://a/x", ""), 1, &e, T0)
                .is_err()
        );
    }
}

//! Token endpoint responses, protected-API errors, and the authorization-code login of
//! a web page (RFC 6749 §4.1 + PKCE) against an OAuth server.

use core::time::Duration;

use cliauth_core::authorize::{
    AuthorizationConfig, AuthorizationGrant, CallbackParams, LOGIN_ENTROPY_LEN,
    PendingAuthorization,
};
use cliauth_core::json::Value;
use cliauth_core::token::{TokenEndpointResponse, TokenSet, parse_token_response};
use cliauth_core::{Error, HttpResponse, Timestamp};

use crate::convert::{Obj, entropy};
use crate::error::invalid;
use crate::plain::{field, flag, opt_str, opt_u64, parse_json, req_str, str_list};

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Parses a token endpoint response: JSON `{tokens: {accessToken, tokenType,
/// expiresInMs?, refreshToken?, scope?, idToken?}}` or `{oauthError: {error,
/// description?, uri?}}`; fails for HTTP failures that are not OAuth errors.
pub(crate) fn token_parse(r: &HttpResponse, at: Timestamp) -> Result<String, Error> {
    parse_token_response(r, at).map(|parsed| match parsed {
        TokenEndpointResponse::Tokens(t) => {
            let tokens = Obj::new()
                .str("accessToken", t.access_token.expose_secret())
                .str("tokenType", &t.token_type)
                .opt_num("expiresInMs", t.expires_in.map(millis))
                .opt(
                    "refreshToken",
                    t.refresh_token.as_ref().map(|r| r.expose_secret()),
                )
                .opt("scope", t.scope.as_deref())
                .opt("idToken", t.id_token.as_ref().map(|r| r.expose_secret()))
                .end();
            Obj::new().raw("tokens", &tokens).end()
        }
        TokenEndpointResponse::Error(e) => {
            let error = Obj::new()
                .str("error", &e.error)
                .opt("description", e.description.as_deref())
                .opt("uri", e.uri.as_deref())
                .end();
            Obj::new().raw("oauthError", &error).end()
        }
    })
}

/// What JS sees of a token set: `{kind: "oauth", accessToken, tokenType, expiresAt?,
/// scope?, idToken?, refreshable, obtainedAt}`. The refresh token stays in storage.
pub(crate) fn token_view(t: &TokenSet) -> Obj {
    Obj::new()
        .str("kind", "oauth")
        .str("accessToken", t.access_token.expose_secret())
        .str("tokenType", &t.token_type)
        .opt_num("expiresAt", t.expires_at.map(Timestamp::unix_millis))
        .opt("scope", t.scope.as_deref())
        .opt("idToken", t.id_token.as_ref().map(|i| i.expose_secret()))
        .bool("refreshable", t.refresh_token.is_some())
        .num("obtainedAt", t.obtained_at.unix_millis())
}

/// The configuration of a browser login, from JSON `{authorizationEndpoint, clientId,
/// scopes?, params?, issuer?, requireIss?, nonce?, timeoutMs?}`. `params` is a list
/// of `[name, value]` pairs (kept in order) or an object.
pub(crate) fn authorization_config(v: &Value) -> Result<AuthorizationConfig, Error> {
    // Empty or malformed values are core's to judge (`invalid_config`).
    let mut c = AuthorizationConfig::new(
        opt_str(v, "authorizationEndpoint")?.unwrap_or_default(),
        opt_str(v, "clientId")?.unwrap_or_default(),
    )
    .scopes(str_list(v, "scopes")?);
    match field(v, "params") {
        None => {}
        Some(Value::Array(pairs)) => {
            for p in pairs {
                let pair = p.as_array().unwrap_or_default();
                match (
                    pair.first().and_then(Value::as_str),
                    pair.get(1).and_then(Value::as_str),
                ) {
                    (Some(k), Some(val)) => c = c.param(k, val),
                    _ => return Err(invalid("params", "must be [name, value] string pairs")),
                }
            }
        }
        Some(Value::Object(members)) => {
            // In key order, a repeated key once (its last value): as the serde_json
            // map this was read into before did. Inserted in place: a handful of
            // parameters, and no sort routine linked for them.
            let mut pairs: Vec<(&str, &str)> = Vec::new();
            for (i, (k, val)) in members.iter().enumerate() {
                let val = val
                    .as_str()
                    .ok_or_else(|| invalid("params", "values must be strings"))?;
                if !members[i + 1..].iter().any(|(later, _)| later == k) {
                    let at = pairs.iter().position(|p| p.0 > k.as_str());
                    pairs.insert(at.unwrap_or(pairs.len()), (k, val));
                }
            }
            for (k, val) in pairs {
                c = c.param(k, val);
            }
        }
        Some(_) => return Err(invalid("params", "must be a list of pairs or an object")),
    }
    if let Some(iss) = opt_str(v, "issuer")? {
        c = c.issuer(iss, flag(v, "requireIss"));
    }
    // Sent by default with `openid` (core's `scopes`); `nonce: true|false` decides.
    if let Some(n) = field(v, "nonce").and_then(Value::as_bool) {
        c.send_nonce = n;
    }
    if let Some(t) = opt_u64(v, "timeoutMs")? {
        c.timeout = Duration::from_millis(t);
    }
    Ok(c)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The saved login, for the page that receives the callback: the 96 bytes of
/// entropy the verifier, `state` and nonce were made from, when, and the `redirect_uri`.
/// `PendingAuthorization::start_with_redirect` is deterministic, so the same values
/// rebuild the same `state` and verifier after the redirect. Secret (it yields the
/// verifier): keep it in `sessionStorage`, remove it once used.
fn saved_login(
    entropy: &[u8; LOGIN_ENTROPY_LEN],
    started: Timestamp,
    redirect_uri: &str,
) -> String {
    let hex: String = entropy
        .iter()
        .flat_map(|b| {
            [
                HEX[usize::from(b >> 4)] as char,
                HEX[usize::from(b & 15)] as char,
            ]
        })
        .collect();
    Obj::new()
        .num("v", 1)
        .str("entropy", &hex)
        .num("startedAt", started.unix_millis())
        .str("redirectUri", redirect_uri)
        .end()
}

fn restore(config: &AuthorizationConfig, saved: &str) -> Result<PendingAuthorization, Error> {
    let bad = || invalid("pending login", "is damaged; start the login again");
    let v = parse_json(saved, "pending login").map_err(|_| bad())?;
    let hex = req_str(&v, "entropy").map_err(|_| bad())?;
    let started = opt_u64(&v, "startedAt").ok().flatten().ok_or_else(bad)?;
    let redirect_uri = req_str(&v, "redirectUri").map_err(|_| bad())?;
    let mut bytes = [0u8; LOGIN_ENTROPY_LEN];
    if hex.len() != 2 * LOGIN_ENTROPY_LEN {
        return Err(bad());
    }
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
            .map_err(|_| bad())?;
    }
    PendingAuthorization::start_with_redirect(
        config,
        redirect_uri.to_string(),
        &bytes,
        Timestamp::from_unix_millis(started),
    )
}

/// Starts a browser login: JSON `{url, state, redirectUri, pending}` — navigate to
/// `url`; keep `pending` (secret) for [`authorization_complete`]. `entropy` (96
/// bytes: verifier, `state`, nonce; `given`: the caller's, else drawn by JS from
/// `crypto.getRandomValues`) and `started` (`Date.now()` unless a test says).
pub(crate) fn authorization_start(
    config: &Value,
    redirect_uri: &str,
    bytes: &[u8],
    given: bool,
    started: Timestamp,
) -> Result<String, Error> {
    let config = authorization_config(config)?;
    let bytes: [u8; LOGIN_ENTROPY_LEN] = if given {
        bytes
            .try_into()
            .map_err(|_| invalid("entropy", "must be 96 bytes"))?
    } else {
        entropy::<LOGIN_ENTROPY_LEN>(bytes)?
    };
    let p = PendingAuthorization::start_with_redirect(
        &config,
        redirect_uri.to_string(),
        &bytes,
        started,
    )?;
    Ok(Obj::new()
        .str("url", p.url())
        .str("state", p.state().expose_secret())
        .str("redirectUri", p.redirect_uri())
        .str("pending", &saved_login(&bytes, started, p.redirect_uri()))
        .end())
}

/// Checks the callback (`query`: the callback URL's query string) against the saved
/// login — expiry, `state` in constant time, `iss` (RFC 9207), the server's `error` —
/// and returns the grant.
pub(crate) fn complete(
    config: &Value,
    saved: &str,
    query: &str,
    at: Timestamp,
) -> Result<AuthorizationGrant, Error> {
    let config = authorization_config(config)?;
    let mut pending = restore(&config, saved)?;
    let callback = CallbackParams::parse(query)?;
    pending.complete(at, &callback)
}

/// The callback check of a browser login, for JS: JSON `{code, verifier, redirectUri,
/// nonce?}` (secret: for a token request the page sends itself). `nonce` is there when
/// one was sent: the ID token of that exchange must carry it (OpenID Connect Core
/// §3.1.3.7; `browserLogin` checks it itself).
pub(crate) fn authorization_complete(
    config: &Value,
    pending: &str,
    query: &str,
    at: Timestamp,
) -> Result<String, Error> {
    let g = complete(config, pending, query, at)?;
    Ok(Obj::new()
        .str("code", g.code.expose_secret())
        .str("verifier", g.verifier.expose_secret())
        .str("redirectUri", &g.redirect_uri)
        .opt("nonce", g.nonce.as_ref().map(|n| n.expose_secret()))
        .end())
}

/// The token endpoint of a login configuration.
pub(crate) fn token_endpoint(v: &Value) -> Result<String, Error> {
    req_str(v, "tokenEndpoint").map(str::to_string)
}

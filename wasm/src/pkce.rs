//! PKCE (RFC 7636) and `state` values, from `crypto.getRandomValues` (drawn by JS). Each function
//! answers JSON text for the full boundary ([`crate::full_call`]).

use cliauth_core::Error;
use cliauth_core::json::Value;
use cliauth_core::pkce::{PkceMethod, PkceVerifier};
use cliauth_core::state::{StateToken, check_token_text};

use crate::convert::{Obj, entropy, string};
use crate::error::invalid;

fn pair(v: &PkceVerifier) -> String {
    Obj::new()
        .str("verifier", v.expose_secret())
        .str("challenge", v.challenge(PkceMethod::S256).as_str())
        .str("method", "S256")
        .end()
}

/// A fresh verifier (from 32 random bytes, 43 characters) and its S256 challenge:
/// JSON `{verifier, challenge, method}`.
pub(crate) fn pkce_create(random: &[u8]) -> Result<String, Error> {
    entropy::<32>(random).map(|e| pair(&PkceVerifier::from_entropy(&e)))
}

/// The verifier made from 32–96 bytes of caller-supplied entropy, with its S256
/// challenge.
pub(crate) fn pkce_from_entropy(entropy: &[u8]) -> Result<String, Error> {
    PkceVerifier::from_entropy_bytes(entropy).map(|v| pair(&v))
}

/// The challenge of an existing verifier (`method`: `S256`, the default, or `plain`);
/// `invalid_argument` for a malformed verifier.
pub(crate) fn pkce_challenge(verifier: &str, method: Option<&str>) -> Result<String, Error> {
    let method = match method {
        None | Some("S256") => PkceMethod::S256,
        Some("plain") => PkceMethod::Plain,
        Some(_) => return Err(invalid("method", "must be S256 or plain")),
    };
    Ok(string(
        PkceVerifier::new(verifier.to_string())?
            .challenge(method)
            .as_str(),
    ))
}

/// The method to use given the server's `code_challenge_methods_supported` (a JSON
/// list, or `null` when the server does not say).
pub(crate) fn pkce_negotiate(server: Option<&Value>, allow_plain: bool) -> Result<String, Error> {
    let list: Option<Vec<String>> = server.and_then(Value::as_array).map(|a| {
        a.iter()
            .map(|x| x.as_str().unwrap_or_default().to_string())
            .collect()
    });
    Ok(string(
        PkceMethod::negotiate(list.as_deref(), allow_plain)?.as_str(),
    ))
}

/// A fresh `state` (from 32 random bytes, 43 URL-safe characters).
pub(crate) fn state_create(random: &[u8]) -> Result<String, Error> {
    entropy::<32>(random).map(|e| string(StateToken::from_entropy(&e).expose_secret()))
}

/// `invalid_argument` unless `value` is 16–256 characters of `A-Z a-z 0-9 - . _ ~`.
pub(crate) fn state_check(value: &str) -> Result<String, Error> {
    check_token_text(value, "state").map(|()| "null".into())
}

/// Constant-time comparison of a received `state` with the expected one (which must
/// itself be well-formed).
pub(crate) fn state_matches(expected: &str, received: &str) -> Result<String, Error> {
    StateToken::new(expected.to_string()).map(|s| boolean(s.verify(received)))
}

/// `true` or `false`.
pub(crate) fn boolean(b: bool) -> String {
    if b { "true" } else { "false" }.into()
}

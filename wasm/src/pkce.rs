//! PKCE (RFC 7636) and `state` values, from `crypto.getRandomValues`.

use cliauth_core::pkce::{PkceMethod, PkceVerifier};
use cliauth_core::state::{StateToken, check_token_text};
use wasm_bindgen::prelude::*;

use crate::convert::{Obj, entropy, parse_json};
use crate::error::{JsResult, invalid, js};

fn pair(v: &PkceVerifier) -> String {
    Obj::new()
        .str("verifier", v.expose_secret())
        .str("challenge", v.challenge(PkceMethod::S256).as_str())
        .str("method", "S256")
        .end()
}

/// A fresh verifier (32 random bytes, 43 characters) and its S256 challenge: JSON
/// `{verifier, challenge, method}`.
#[wasm_bindgen(js_name = pkceCreate)]
pub fn pkce_create() -> JsResult<String> {
    js(entropy::<32>().map(|e| pair(&PkceVerifier::from_entropy(&e))))
}

/// The verifier made from 32–96 bytes of caller-supplied entropy, with its S256
/// challenge.
#[wasm_bindgen(js_name = pkceFromEntropy)]
pub fn pkce_from_entropy(entropy: &[u8]) -> JsResult<String> {
    js(PkceVerifier::from_entropy_bytes(entropy).map(|v| pair(&v)))
}

/// The challenge of an existing verifier (`method`: `S256`, the default, or `plain`);
/// throws `invalid_argument` for a malformed verifier.
#[wasm_bindgen(js_name = pkceChallenge)]
pub fn pkce_challenge(verifier: String, method: Option<String>) -> JsResult<String> {
    js((|| {
        let method = match method.as_deref() {
            None | Some("S256") => PkceMethod::S256,
            Some("plain") => PkceMethod::Plain,
            Some(_) => return Err(invalid("method", "must be S256 or plain")),
        };
        Ok(PkceVerifier::new(verifier)?
            .challenge(method)
            .as_str()
            .to_string())
    })())
}

/// The method to use given the server's `code_challenge_methods_supported` (JSON list,
/// or `null` when the server does not say).
#[wasm_bindgen(js_name = pkceNegotiate)]
pub fn pkce_negotiate(server: &str, allow_plain: bool) -> JsResult<String> {
    js((|| {
        let list: Option<Vec<String>> = parse_json(server, "methods")?.as_array().map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or_default().to_string())
                .collect()
        });
        Ok(PkceMethod::negotiate(list.as_deref(), allow_plain)?
            .as_str()
            .to_string())
    })())
}

/// A fresh `state` (32 random bytes, 43 URL-safe characters).
#[wasm_bindgen(js_name = stateCreate)]
pub fn state_create() -> JsResult<String> {
    js(entropy::<32>().map(|e| StateToken::from_entropy(&e).expose_secret().to_string()))
}

/// Throws `invalid_argument` unless `value` is 16–256 characters of
/// `A-Z a-z 0-9 - . _ ~`.
#[wasm_bindgen(js_name = stateCheck)]
pub fn state_check(value: &str) -> JsResult<()> {
    js(check_token_text(value, "state"))
}

/// Constant-time comparison of a received `state` with the expected one (which must
/// itself be well-formed).
#[wasm_bindgen(js_name = stateMatches)]
pub fn state_matches(expected: String, received: &str) -> JsResult<bool> {
    js(StateToken::new(expected).map(|s| s.verify(received)))
}

//! The cli-auth page: read `?port=&state=` and deliver a credential to the CLI's
//! loopback server — only ever `http://127.0.0.1:<port>/callback`.
//!
//! Every delivery re-validates the request it is given (a page may pass back an
//! object it modified), so no input can point a delivery at another host, scheme or
//! port range.

use cliauth_core::Error;
use cliauth_core::handoff::{DeliveryMode, HandoffCredential, HandoffRequest, post_outcome};
use cliauth_core::secret::{ApiKey, AuthorizationCode};

use crate::convert::{Obj, request_json, response};
use crate::error::invalid;

/// Reads and validates the handoff request from the page URL. Returns JSON
/// `{port, state, mode, codeChallenge?, acceptsApiKey, callbackUrl}`.
pub(crate) fn handoff_read(href: &str) -> Result<String, Error> {
    HandoffRequest::from_url(href).map(|r| {
        Obj::new()
            .num("port", r.port.into())
            .str("state", &r.state)
            .str("mode", r.mode.as_str())
            .opt("codeChallenge", r.code_challenge.as_deref())
            .bool("acceptsApiKey", r.accepts_api_key)
            .str("callbackUrl", &r.callback_url())
            .end()
    })
}

fn credential(code: Option<&str>, api_key: Option<&str>) -> Result<HandoffCredential, Error> {
    match (code, api_key) {
        (Some(c), None) if !c.is_empty() => Ok(HandoffCredential::Code(AuthorizationCode::new(c))),
        (None, Some(k)) if !k.is_empty() => Ok(HandoffCredential::ApiKey(ApiKey::new(k))),
        _ => Err(invalid(
            "credential",
            "give either a one-time code ({ code }) or an API key ({ apiKey }) as a non-empty string",
        )),
    }
}

/// What the page does to deliver a credential (`code` or `apiKey`, exactly one) for
/// the request `(port, state, mode, codeChallenge, accept)` — the fields of a
/// request object as strings, re-validated here (`accept` is `"api_key"` when the
/// request's `acceptsApiKey` is true). The credential must be one the CLI takes
/// ([`HandoffRequest::check`]: a code bound to its challenge; a key only when it
/// asked for one). `deliver` (`redirect`, `post`, `manual`; absent: the request's
/// mode) picks the delivery. Returns JSON:
///
/// - `{mode: "redirect", url}` — navigate the top-level window to `url`;
/// - `{mode: "post", request: {method, url, headers, body}, fallbackUrl}` — the CORS
///   POST, and the redirect to make when the browser refuses it;
/// - `{mode: "manual", masked, pasteText}` — show `masked` (masked with the
///   configured key formats), let the user copy `pasteText`.
pub(crate) fn handoff_delivery(
    [port, state]: [&str; 2],
    [mode, code_challenge, accept, code, api_key, deliver]: [Option<&str>; 6],
) -> Result<String, Error> {
    let request = HandoffRequest::from_parts(port, state, mode, code_challenge, accept)?;
    let credential = credential(code, api_key)?;
    request.check(&credential)?;
    let mode = match deliver {
        None => request.mode,
        Some(m) => DeliveryMode::parse(m)?,
    };
    let out = Obj::new().str("mode", mode.as_str());
    Ok(match mode {
        DeliveryMode::Redirect => out.str("url", &request.redirect_url(&credential)),
        DeliveryMode::Post => out
            .raw("request", &request_json(&request.post_request(&credential)))
            .str("fallbackUrl", &request.redirect_url(&credential)),
        DeliveryMode::Manual => {
            let copy = crate::config::with_keys(|k| request.manual_copy(&credential, k));
            out.str("masked", &copy.masked)
                .str("pasteText", copy.paste_text.expose_secret())
        }
    }
    .end())
}

/// Interprets the loopback server's answer to the handoff POST: its body when the
/// CLI took the credential, otherwise the error (`state_mismatch`, `rejected`).
pub(crate) fn handoff_post_outcome(
    status: u16,
    headers: &str,
    body: &[u8],
) -> Result<Vec<u8>, Error> {
    let r = response(status, headers, body.to_vec());
    post_outcome(&r).map(|()| r.body)
}

//! The cli-auth page: read `?port=&state=` and deliver a credential to the CLI's
//! loopback server — only ever `http://127.0.0.1:<port>/callback`.
//!
//! Every delivery re-validates the request it is given (a page may pass back an
//! object it modified), so no input can point a delivery at another host, scheme or
//! port range.

use cliauth_core::Error;
use cliauth_core::handoff::{DeliveryMode, HandoffCredential, HandoffRequest, post_outcome};
use cliauth_core::secret::{ApiKey, AuthorizationCode};
use wasm_bindgen::prelude::*;

use crate::convert::{Obj, request_json, response, text};
use crate::error::{JsResult, invalid, js};

/// Reads and validates the handoff request from the page URL. Returns JSON
/// `{port, state, mode, codeChallenge?, callbackUrl}`.
#[wasm_bindgen(js_name = handoffRead)]
pub fn handoff_read(href: &JsValue) -> JsResult<String> {
    js(HandoffRequest::from_url(&text(href)).map(|r| {
        Obj::new()
            .num("port", r.port.into())
            .str("state", &r.state)
            .str("mode", r.mode.as_str())
            .opt("codeChallenge", r.code_challenge.as_deref())
            .str("callbackUrl", &r.callback_url())
            .end()
    }))
}

fn credential(code: Option<String>, api_key: Option<String>) -> Result<HandoffCredential, Error> {
    match (code, api_key) {
        (Some(c), None) if !c.is_empty() => Ok(HandoffCredential::Code(AuthorizationCode::new(c))),
        (None, Some(k)) if !k.is_empty() => Ok(HandoffCredential::ApiKey(ApiKey::new(k))),
        _ => Err(invalid(
            "credential",
            "give either a one-time code ({ code }) or an API key ({ apiKey }) as a non-empty string",
        )),
    }
}

/// What the page does to deliver a credential (`code` or `api_key`, exactly one) for
/// the request `(port, state, mode, code_challenge)` — the fields of a request
/// object as strings, re-validated here. `deliver` (`redirect`, `post`, `manual`;
/// absent: the request's mode) picks the delivery. Optional arguments are strings or
/// `undefined`. Returns JSON:
///
/// - `{mode: "redirect", url}` — navigate the top-level window to `url`;
/// - `{mode: "post", request: {method, url, headers, body}, fallbackUrl}` — the CORS
///   POST, and the redirect to make when the browser refuses it;
/// - `{mode: "manual", masked, pasteText}` — show `masked` (masked with the
///   configured key formats), let the user copy `pasteText`.
#[wasm_bindgen(js_name = handoffDelivery)]
#[allow(clippy::too_many_arguments)]
pub fn handoff_delivery(
    port: &JsValue,
    state: &JsValue,
    mode: &JsValue,
    code_challenge: &JsValue,
    code: &JsValue,
    api_key: &JsValue,
    deliver: &JsValue,
) -> JsResult<String> {
    js((|| {
        let request = HandoffRequest::from_parts(
            &text(port),
            &text(state),
            mode.as_string().as_deref(),
            code_challenge.as_string().as_deref(),
        )?;
        let credential = credential(code.as_string(), api_key.as_string())?;
        let mode = match deliver.as_string().as_deref() {
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
    })())
}

/// Interprets the loopback server's answer to the handoff POST: returns its body text
/// when the CLI took the credential, throws `CliauthError` otherwise
/// (`state_mismatch`, `rejected`).
#[wasm_bindgen(js_name = handoffPostOutcome)]
pub fn handoff_post_outcome(status: u16, headers: &JsValue, body: Vec<u8>) -> JsResult<String> {
    let r = response(status, &text(headers), body);
    js(post_outcome(&r).map(|()| String::from_utf8_lossy(&r.body).into_owned()))
}

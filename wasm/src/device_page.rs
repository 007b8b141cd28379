//! The device-verification page: the user code as it is typed, and the approval
//! request to the page's own backend.

use cliauth_core::device::{device_approval_request, normalize_user_code, user_code_input};
use cliauth_core::http::api_error;
use wasm_bindgen::prelude::*;

use crate::config::user_code_format;
use crate::convert::{Obj, at, request_json, response, text};
use crate::error::{JsResult, js, to_js};

/// The code being typed: JSON `{display, complete, problem?}`. `problem` is the
/// sentence to show (absent when the code is valid; "too short" while typing is
/// expected and pages usually show it only on submit).
#[wasm_bindgen(js_name = userCodeInput)]
pub fn user_code_input_json(typed: &JsValue) -> String {
    let t = user_code_input(&text(typed), &user_code_format());
    Obj::new()
        .str("display", &t.display)
        .bool("complete", t.complete)
        .opt("problem", t.problem.map(|p| p.message()).as_deref())
        .end()
}

/// The normalised code (`wdjb mjht` → `WDJB-MJHT`); throws `invalid_argument` with
/// the problem in the message.
#[wasm_bindgen(js_name = normalizeUserCode)]
pub fn normalize_user_code_js(typed: &JsValue) -> JsResult<String> {
    js(normalize_user_code(&text(typed), &user_code_format()).map_err(Into::into))
}

/// The approval request JSON `{method, url, headers, body}`:
/// `POST endpoint {"user_code", "action": "approve" | "deny"}`.
#[wasm_bindgen(js_name = deviceApprovalRequest)]
pub fn device_approval_request_js(
    endpoint: &JsValue,
    user_code: &JsValue,
    approve: bool,
) -> JsResult<String> {
    js(device_approval_request(
        &text(endpoint),
        &text(user_code),
        &user_code_format(),
        approve,
    )
    .map(|r| request_json(&r)))
}

/// The `CliauthError` a protected-API response means (401, 403, 404, 429, 5xx, …),
/// or `undefined` for 2xx. `now_ms` (`Date.now()`) dates an HTTP-date `Retry-After`.
#[wasm_bindgen(js_name = apiError)]
pub fn api_error_js(status: u16, headers: &JsValue, body: Vec<u8>, now_ms: f64) -> JsValue {
    api_error(&response(status, &text(headers), body), at(now_ms))
        .map_or(JsValue::UNDEFINED, |e| to_js(&e))
}

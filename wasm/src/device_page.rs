//! The device-verification page: the user code as it is typed, and the approval
//! request to the page's own backend.

use cliauth_core::device::{device_approval_request, normalize_user_code, user_code_input};
use cliauth_core::http::api_error;
use wasm_bindgen::prelude::*;

use crate::config::user_code_format;
use crate::convert::{Obj, now, request_json, response};
use crate::error::{JsResult, js, to_js};

/// The code being typed: JSON `{display, complete, problem?}`. `problem` is the
/// sentence to show (absent when the code is valid; "too short" while typing is
/// expected and pages usually show it only on submit).
#[wasm_bindgen(js_name = userCodeInput)]
pub fn user_code_input_json(text: &str) -> String {
    let t = user_code_input(text, &user_code_format());
    Obj::new()
        .str("display", &t.display)
        .bool("complete", t.complete)
        .opt("problem", t.problem.map(|p| p.to_string()).as_deref())
        .end()
}

/// The normalised code (`wdjb mjht` → `WDJB-MJHT`); throws `invalid_argument` with
/// the problem in the message.
#[wasm_bindgen(js_name = normalizeUserCode)]
pub fn normalize_user_code_js(text: &str) -> JsResult<String> {
    js(normalize_user_code(text, &user_code_format()).map_err(Into::into))
}

/// The approval request JSON `{method, url, headers, body}`:
/// `POST endpoint {"user_code", "action": "approve" | "deny"}`.
#[wasm_bindgen(js_name = deviceApprovalRequest)]
pub fn device_approval_request_js(
    endpoint: &str,
    user_code: &str,
    approve: bool,
) -> JsResult<String> {
    js(
        device_approval_request(endpoint, user_code, &user_code_format(), approve)
            .map(|r| request_json(&r)),
    )
}

/// The `CliauthError` a protected-API response means (401, 403, 404, 429, 5xx, …),
/// or `undefined` for 2xx.
#[wasm_bindgen(js_name = apiError)]
pub fn api_error_js(status: u16, headers: &str, body: Vec<u8>, now_ms: Option<f64>) -> JsValue {
    api_error(&response(status, headers, body), now(now_ms))
        .map_or(JsValue::UNDEFINED, |e| to_js(&e))
}

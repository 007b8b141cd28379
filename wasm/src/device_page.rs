//! The device-verification page: the user code as it is typed, and the approval
//! request to the page's own backend; and what a protected API's answer means.

use cliauth_core::Error;
use cliauth_core::device;
use cliauth_core::http::api_error as core_api_error;

use crate::config::user_code_format;
use crate::convert::{Obj, push_str, request_json, response};

/// The code being typed: JSON `{display, complete, problem?}`. `problem` is the
/// sentence to show (absent when the code is valid; "too short" while typing is
/// expected and pages usually show it only on submit).
pub(crate) fn user_code_input(typed: &str) -> String {
    let t = device::user_code_input(typed, &user_code_format());
    Obj::new()
        .str("display", &t.display)
        .bool("complete", t.complete)
        .opt("problem", t.problem.map(|p| p.message()).as_deref())
        .end()
}

/// The normalised code (`wdjb mjht` → `WDJB-MJHT`) as a JSON string; `invalid_argument`
/// with the problem in the message.
pub(crate) fn normalize_user_code(typed: &str) -> Result<String, Error> {
    let code = device::normalize_user_code(typed, &user_code_format())?;
    let mut out = String::new();
    push_str(&mut out, &code);
    Ok(out)
}

/// The approval request JSON `{method, url, headers, body}`:
/// `POST endpoint {"user_code", "action": "approve" | "deny"}`.
pub(crate) fn device_approval_request(
    endpoint: &str,
    user_code: &str,
    approve: bool,
) -> Result<String, Error> {
    device::device_approval_request(endpoint, user_code, &user_code_format(), approve)
        .map(|r| request_json(&r))
}

/// The error a protected-API response means (401, 403, 404, 429, 5xx, …), or `None`
/// for 2xx. `now_ms` (`Date.now()`) dates an HTTP-date `Retry-After`.
pub(crate) fn api_error(status: u16, headers: &str, body: &[u8], now_ms: u64) -> Option<Error> {
    core_api_error(
        &response(status, headers, body.to_vec()),
        cliauth_core::Timestamp::from_unix_millis(now_ms),
    )
}

//! Core errors for JS: as JSON for the page boundary (`error_json`, which the npm
//! package turns into a `CliauthError`), and, in the full build, as `CliauthError`
//! objects thrown by its wasm-bindgen exports.
//!
//! The class lives in `js/error.js` (copied by wasm-bindgen into the package's
//! `snippets/`); the npm package re-exports that same class, so `instanceof` works for
//! every error. Each error carries the core's `code`, `kind`, `exitCode` and `hint`
//! (rendered with the context set by `configure`); rate limits add `retryAfterMs`,
//! key problems add `problem` (the mistake's code, e.g. `bearer_prefix`).

use cliauth_core::Error;
#[cfg(feature = "full")]
use wasm_bindgen::prelude::*;

use cliauth_core::json::push_string as push_str;

#[cfg(feature = "full")]
#[wasm_bindgen(module = "/js/error.js")]
extern "C" {
    /// `class CliauthError extends Error`.
    type CliauthError;

    #[wasm_bindgen(constructor)]
    fn new(
        message: &str,
        code: &str,
        kind: &str,
        exit_code: i32,
        hint: Option<String>,
        retry_after_ms: Option<f64>,
        problem: Option<String>,
    ) -> CliauthError;
}

/// The key problem's code, for `invalid_key` (only the full build validates keys).
fn problem(error: &Error) -> Option<&'static str> {
    #[cfg(feature = "full")]
    if let Error::InvalidKey(p) = error {
        return Some(p.kind.code());
    }
    let _ = error;
    None
}

fn retry_after_ms(error: &Error) -> Option<u64> {
    error
        .retry_after()
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The message and hint. The page build asks only for the texts of the errors its
/// paths produce ([`Error::web_text`]), so the other variants' texts are not linked
/// into it (any other error — none reaches the page boundary — says its code); the
/// full build shows every error.
fn texts(error: &Error, app: &cliauth_core::AppContext) -> (String, Option<String>) {
    #[cfg(feature = "full")]
    return (error.message(), error.hint(app));
    #[cfg(not(feature = "full"))]
    error
        .web_text(app)
        .unwrap_or_else(|| (error.code().into(), None))
}

/// The error as JSON `[message, code, kind, exitCode, hint, retryAfterMs, problem]`
/// (absent values `null`): the arguments of the `CliauthError` constructor. Messages
/// and hints never contain secrets (core's guarantee), so nothing is filtered here.
pub(crate) fn error_json(error: &Error) -> String {
    fn opt(out: &mut String, v: Option<&str>) {
        out.push(',');
        match v {
            Some(s) => push_str(out, s),
            None => out.push_str("null"),
        }
    }
    let (message, hint) = crate::context::with_app(|app| texts(error, app));
    let mut out = String::from("[");
    push_str(&mut out, &message);
    opt(&mut out, Some(error.code()));
    opt(&mut out, Some(error.kind().as_str()));
    out.push(',');
    out.push_str(&cliauth_core::encoding::decimal(error.exit_code() as u64));
    opt(&mut out, hint.as_deref());
    out.push(',');
    match retry_after_ms(error) {
        Some(ms) => out.push_str(&cliauth_core::encoding::decimal(ms)),
        None => out.push_str("null"),
    }
    opt(&mut out, problem(error));
    out.push(']');
    out
}

/// The JS error for a core error (the full build's exports).
#[cfg(feature = "full")]
pub(crate) fn to_js(error: &Error) -> JsValue {
    let hint = crate::context::with_app(|app| error.hint(app));
    CliauthError::new(
        &error.message(),
        error.code(),
        error.kind().as_str(),
        error.exit_code(),
        hint,
        retry_after_ms(error).map(|ms| ms as f64),
        problem(error).map(str::to_string),
    )
    .into()
}

/// A string argument. The full build's exports take strings as JS values (the JS wrapper
/// always passes strings, or `undefined` for an absent optional one): reading them
/// with `as_string` costs less wasm and glue than wasm-bindgen's per-parameter string
/// copying. Anything but a string reads as empty (and fails validation).
#[cfg(feature = "full")]
pub(crate) fn text(v: &JsValue) -> String {
    v.as_string().unwrap_or_default()
}

/// `Result` of an exported function: a core error becomes a thrown `CliauthError`.
#[cfg(feature = "full")]
pub(crate) type JsResult<T> = Result<T, JsValue>;

/// Converts a core result for export.
#[cfg(feature = "full")]
pub(crate) fn js<T>(result: Result<T, Error>) -> JsResult<T> {
    result.map_err(|e| to_js(&e))
}

/// An invalid argument passed by JS code (a wrong type or shape): core's
/// [`Error::invalid_argument`], which is not inlined at its many call sites.
pub(crate) fn invalid(name: &str, reason: &str) -> Error {
    Error::invalid_argument(name, reason)
}

/// `new CliauthError(...)` for a failed read or write of credential storage.
#[cfg(feature = "full")]
#[wasm_bindgen(js_name = storageError)]
pub fn storage_error(reason: &JsValue) -> JsValue {
    to_js(&Error::storage(text(reason)))
}

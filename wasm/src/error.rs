//! Core errors as JS `CliauthError` objects.
//!
//! The class lives in `js/error.js` (copied by wasm-bindgen into the package's
//! `snippets/`); the npm package re-exports that same class, so `instanceof` works for
//! every error thrown here. Each error carries the core's `code`, `kind`, `exitCode`
//! and `hint` (rendered with the context set by [`crate::configure`]); rate limits add
//! `retryAfterMs`, key problems add `problem` (the mistake's code, e.g.
//! `bearer_prefix`).

use cliauth_core::Error;
use wasm_bindgen::prelude::*;

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

/// The JS error for a core error. Messages and hints never contain secrets (core's
/// guarantee), so nothing is filtered here.
pub(crate) fn to_js(error: &Error) -> JsValue {
    let hint = crate::context::with_app(|app| error.hint(app));
    // Only the full build validates keys; the page build never sees InvalidKey.
    #[cfg(feature = "full")]
    let problem = match error {
        Error::InvalidKey(p) => Some(p.kind.code().to_string()),
        _ => None,
    };
    #[cfg(not(feature = "full"))]
    let problem = None;
    CliauthError::new(
        &error.message(),
        error.code(),
        error.kind().as_str(),
        error.exit_code(),
        hint,
        error
            .retry_after()
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX) as f64),
        problem,
    )
    .into()
}

/// A string argument. The page exports take strings as JS values (the JS wrapper
/// always passes strings, or `undefined` for an absent optional one): reading them
/// with `as_string` costs less wasm and glue than wasm-bindgen's per-parameter string
/// copying. Anything but a string reads as empty (and fails validation).
pub(crate) fn text(v: &JsValue) -> String {
    v.as_string().unwrap_or_default()
}

/// `Result` of an exported function: a core error becomes a thrown `CliauthError`.
pub(crate) type JsResult<T> = Result<T, JsValue>;

/// Converts a core result for export.
pub(crate) fn js<T>(result: Result<T, Error>) -> JsResult<T> {
    result.map_err(|e| to_js(&e))
}

/// An invalid argument passed by JS code (a wrong type or shape). Not inlined: it
/// has many call sites, and each inlined copy costs wasm bytes.
#[inline(never)]
pub(crate) fn invalid(name: &str, reason: &str) -> Error {
    Error::InvalidArgument {
        name: name.into(),
        reason: reason.into(),
    }
}

/// `new CliauthError(...)` for a failed `fetch` (the browser refused or the network
/// failed). `reason` must not contain a URL or a secret.
#[wasm_bindgen(js_name = networkError)]
pub fn network_error(reason: &JsValue) -> JsValue {
    to_js(&Error::network(text(reason)))
}

/// `new CliauthError(...)` for an operation the caller aborted.
#[wasm_bindgen(js_name = cancelledError)]
pub fn cancelled_error() -> JsValue {
    to_js(&Error::Cancelled)
}

/// `new CliauthError(...)` for a failed read or write of credential storage.
#[cfg(feature = "full")]
#[wasm_bindgen(js_name = storageError)]
pub fn storage_error(reason: &JsValue) -> JsValue {
    to_js(&Error::storage(text(reason)))
}

/// `new CliauthError(...)` (`invalid_argument`) for an argument of the wrong type or
/// shape, found by the JS layer before anything reaches core.
#[wasm_bindgen(js_name = argumentError)]
pub fn argument_error(name: &JsValue, reason: &JsValue) -> JsValue {
    to_js(&invalid(&text(name), &text(reason)))
}

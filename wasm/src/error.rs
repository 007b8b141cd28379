//! Core errors for JS: as JSON for the page and full boundaries (`error_json`, which
//! the npm package turns into a `CliauthError`).
//!
//! The class lives in `js/error.js` (the npm build copies it into the package); every
//! entry re-exports that same class, so `instanceof` works for every error. Each error carries the core's `code`, `kind`, `exitCode` and `hint`
//! (rendered with the context set by `configure`); rate limits add `retryAfterMs`,
//! key problems add `problem` (the mistake's code, e.g. `bearer_prefix`).

use cliauth_core::Error;

use cliauth_core::json::push_string as push_str;

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

/// An invalid argument passed by JS code (a wrong type or shape): core's
/// [`Error::invalid_argument`], which is not inlined at its many call sites.
pub(crate) fn invalid(name: &str, reason: &str) -> Error {
    Error::invalid_argument(name, reason)
}

//! One error taxonomy for every target.
//!
//! Each [`Error`] variant belongs to an [`ErrorKind`], which fixes the process exit code
//! a CLI returns; has a stable machine-readable [`Error::code`]; a one-line message
//! (`Display`); and a hint for the line below it ([`Error::hint`]). [`Error::render`]
//! produces the two lines a terminal user sees and [`Error::to_json`] the `--json`
//! envelope:
//!
//! ```
//! use cliauth_core::{AppContext, Error};
//! let app = AppContext::new("acme", "Acme");
//! let err = Error::NotAuthenticated;
//! assert_eq!(err.exit_code(), 2);
//! assert_eq!(
//!     err.render(&app),
//!     "✗ Not authenticated\n  Run `acme auth login` to sign in, or set ACME_API_KEY. (See `acme auth login --help`.)"
//! );
//! assert_eq!(
//!     err.to_json(&app).to_string(),
//!     r#"{"error":{"code":"not_authenticated","hint":"Run `acme auth login` to sign in, or set ACME_API_KEY. (See `acme auth login --help`.)","message":"Not authenticated","retry_after":null}}"#
//! );
//! ```
//!
//! Messages ([`Error::message`], which `Display` prints) and hints are put together
//! from pieces with `concat` and [`crate::encoding::decimal`] rather than with
//! `format!` or a `thiserror` derive: the web pages' wasm then links no `core::fmt`
//! formatter: 6.6 KB raw / 2.8 KB gzip less page module (`cargo xtask size`).
//!
//! No message, hint or `Debug` output contains a secret: variants hold only
//! non-secret text, and raw response bodies are kept as [`RedactedBytes`].
//!
//! ## Sources
//!
//! Errors that a shell reports from a lower layer — an IO error behind
//! [`Error::Storage`], a connection error behind [`Error::Network`], a keyring or TLS
//! failure behind [`Error::InvalidConfig`], a `bind` error behind
//! [`Error::LoopbackUnavailable`] — keep it as their [`std::error::Error::source`], in
//! a [`Cause`]: the message stays the stable one-liner, and a caller that wants the
//! OS error can walk the chain (and `downcast_ref::<std::io::Error>()` it).
//! A `Cause` is shared (`Arc`), so errors stay `Clone`; and two causes always compare
//! equal, so `PartialEq`/`Eq` keep comparing what an error *says* — tests assert on
//! the variant and its fields, not on the OS error behind it.
//!
//! ```
//! use cliauth_core::Error;
//! let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
//! let err = Error::storage("cannot write the credentials file").with_source(io);
//! let source = std::error::Error::source(&err).unwrap();
//! assert_eq!(source.downcast_ref::<std::io::Error>().unwrap().kind(), std::io::ErrorKind::PermissionDenied);
//! assert_eq!(err, Error::storage("cannot write the credentials file"));
//! ```

use core::fmt;
use core::time::Duration;
use std::sync::Arc;

use serde::Serialize;

use crate::jwt::JwtError;
use crate::keys::KeyProblem;
use crate::secret::RedactedBytes;

/// Stable process exit codes.
pub mod exit_code {
    /// Success.
    pub const OK: i32 = 0;
    /// Usage, validation, configuration or local storage problem.
    pub const USAGE: i32 = 1;
    /// Not authenticated, authentication failed, or insufficient permission.
    pub const AUTH: i32 = 2;
    /// The server or the network failed.
    pub const SERVER: i32 = 3;
    /// Rate limited.
    pub const RATE_LIMITED: i32 = 4;
    /// The requested thing does not exist.
    pub const NOT_FOUND: i32 = 5;
    /// Interrupted by the user (128 + SIGINT).
    pub const CANCELLED: i32 = 130;
}

/// The category of an error, which decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad command-line usage or SDK misuse. Exit 1.
    Usage,
    /// Input that fails validation (a malformed key, an invalid JWT). Exit 1.
    Validation,
    /// No credential, or the credential was rejected. Exit 2.
    Auth,
    /// The credential is valid but lacks a permission or scope. Exit 2.
    Permission,
    /// The server asked us to slow down. Exit 4.
    RateLimited,
    /// The server failed (5xx). Exit 3.
    Server,
    /// The network failed before a response arrived. Exit 3.
    Network,
    /// The requested resource or profile does not exist. Exit 5.
    NotFound,
    /// The server answered something that breaks the protocol. Exit 3.
    Protocol,
    /// Local credential storage failed or holds unreadable data. Exit 1.
    Storage,
    /// A login did not complete in time. Exit 2.
    Timeout,
    /// The user cancelled. Exit 130.
    Cancelled,
}

impl ErrorKind {
    /// The process exit code for this kind.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Usage | ErrorKind::Validation | ErrorKind::Storage => exit_code::USAGE,
            ErrorKind::Auth | ErrorKind::Permission | ErrorKind::Timeout => exit_code::AUTH,
            ErrorKind::Server | ErrorKind::Network | ErrorKind::Protocol => exit_code::SERVER,
            ErrorKind::RateLimited => exit_code::RATE_LIMITED,
            ErrorKind::NotFound => exit_code::NOT_FOUND,
            ErrorKind::Cancelled => exit_code::CANCELLED,
        }
    }

    /// The kind's name as used in JSON and in JS `Error.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::Validation => "validation",
            ErrorKind::Auth => "auth",
            ErrorKind::Permission => "permission",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Server => "server",
            ErrorKind::Network => "network",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Storage => "storage",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Cancelled => "cancelled",
        }
    }
}

/// Who is talking to the user: the CLI's command name and the product's name. Hints
/// use it (`Run \`acme auth login\``), so one error renders correctly for every app.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppContext {
    /// The command users type, e.g. `acme`.
    pub cli: String,
    /// The product name for prose, e.g. `Acme`.
    pub product: String,
    /// The environment variable that holds an API key, e.g. `ACME_API_KEY`.
    pub api_key_env: String,
    /// Where users create API keys, if there is such a page.
    pub keys_url: Option<String>,
    /// The service status page, if any.
    pub status_url: Option<String>,
}

impl AppContext {
    /// A context with the API-key variable derived from the command name
    /// (`acme` → `ACME_API_KEY`).
    pub fn new(cli: impl Into<String>, product: impl Into<String>) -> Self {
        let cli = cli.into();
        let api_key_env = [env_prefix(&cli).as_str(), "_API_KEY"].concat();
        AppContext {
            cli,
            product: product.into(),
            api_key_env,
            keys_url: None,
            status_url: None,
        }
    }
}

/// The environment-variable prefix for a command name: `my-cli` → `MY_CLI`.
pub fn env_prefix(cli: &str) -> String {
    cli.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The lower-level error behind an [`Error`], returned by
/// [`std::error::Error::source`] (see [the module docs](self#sources)).
///
/// Shared, so cloning an error is cheap; error equality ignores it (every `Cause`
/// equals every other, and [`Error`]'s `PartialEq` skips the field). `Debug` shows
/// only the cause's message. Shells must not wrap
/// an error whose message could hold a secret (a reqwest error is stripped of its
/// URL first; keyring errors that carry the stored bytes are not wrapped).
#[derive(Clone)]
pub struct Cause(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl Cause {
    /// Wraps `error`.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Cause {
        Cause(Arc::new(error))
    }

    /// The wrapped error.
    pub fn get(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl From<Box<dyn std::error::Error + Send + Sync + 'static>> for Cause {
    fn from(error: Box<dyn std::error::Error + Send + Sync + 'static>) -> Cause {
        Cause(Arc::from(error))
    }
}

impl core::ops::Deref for Cause {
    type Target = dyn std::error::Error + Send + Sync + 'static;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Cause").field(&self.0.to_string()).finish()
    }
}

impl PartialEq for Cause {
    /// Always `true`: errors compare by what they say, not by their source.
    fn eq(&self, _other: &Cause) -> bool {
        true
    }
}

impl Eq for Cause {}

/// Every failure cliauth reports, grouped by [`ErrorKind`].
///
/// Equality ([`PartialEq`], `Eq`) compares what an error says — every field but the
/// [`Cause`] (see [the module docs](self#sources)); it is written out in `error/eq.rs`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    // ── usage / validation ────────────────────────────────────────────────
    /// An argument is invalid.
    InvalidArgument {
        /// What was invalid (`port`, `state`, `profile name`).
        name: String,
        /// Why.
        reason: String,
    },
    /// The SDK was configured inconsistently.
    InvalidConfig {
        /// What is wrong.
        reason: String,
        /// The lower-level error (a TLS or keyring setup failure), if any.
        source: Option<Cause>,
    },
    /// An API key failed client-side validation; the problem names the mistake.
    InvalidKey(KeyProblem),
    /// A JWT could not be decoded.
    InvalidJwt(JwtError),
    /// The server refused the request as invalid (a 4xx other than 401, 403, 404, 429).
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The server's explanation, sanitised.
        detail: Option<String>,
    },
    /// A state machine or builder was used out of order (a programming error in the
    /// caller, reported instead of panicking).
    Misuse(&'static str),

    // ── auth ──────────────────────────────────────────────────────────────
    /// No credential was found.
    NotAuthenticated,
    /// The server rejected the credential (HTTP 401).
    Unauthorized {
        /// The server's explanation, sanitised.
        detail: Option<String>,
    },
    /// The refresh token is no longer accepted; a new login is required.
    SessionExpired,
    /// The `state` of a callback did not match the login in progress.
    StateMismatch,
    /// The one-time link the browser was started with was requested twice: someone
    /// else may have read it (from the process list) and raced the browser, so the
    /// login stopped and stored nothing.
    LoginIntercepted,
    /// A `nonce` was sent and the ID token of the token response does not carry it
    /// (missing, different, or the ID token is unreadable; OpenID Connect Core
    /// §3.1.3.7): the tokens were not issued for this login and are not used.
    NonceMismatch,
    /// The authorization response or metadata names another issuer (RFC 9207, RFC 8414 §3.3).
    IssuerMismatch {
        /// The issuer we expected.
        expected: String,
        /// The issuer we got (absent when it was required and missing).
        found: Option<String>,
    },
    /// The user (or the server on their behalf) denied the authorization.
    AccessDenied {
        /// The server's `error_description`, sanitised.
        description: Option<String>,
    },
    /// The authorization server returned an OAuth error other than `access_denied`.
    AuthorizationFailed {
        /// The OAuth `error` code.
        error: String,
        /// The `error_description`, sanitised.
        description: Option<String>,
    },

    /// A stored profile belongs to another server than the one configured; its
    /// credential is not sent there.
    ProfileServerMismatch {
        /// The profile name.
        profile: String,
        /// The issuer or API base the profile was created for.
        stored: String,
        /// The issuer or API base configured now.
        configured: String,
    },

    // ── permission ───────────────────────────────────────────────────────
    /// The credential lacks a required permission (HTTP 403, RFC 6750 `insufficient_scope`).
    InsufficientPermissions {
        /// The scope the server said is required, if it said.
        required_scope: Option<String>,
    },

    // ── rate limited ─────────────────────────────────────────────────────
    /// HTTP 429 after retries were exhausted or the wait exceeded the cap.
    RateLimited {
        /// The limit policy name, e.g. `dev:memories`.
        policy: Option<String>,
        /// The limit, e.g. `120/hr`.
        limit: Option<String>,
        /// How long the server asked us to wait.
        retry_after: Option<Duration>,
    },

    // ── server / network / protocol ──────────────────────────────────────
    /// The server answered 5xx after retries.
    Server {
        /// The HTTP status.
        status: u16,
    },
    /// The request failed before a response arrived.
    Network {
        /// What failed (no URL query, no secret).
        reason: String,
        /// The transport's error (without the URL), if the shell kept it.
        source: Option<Cause>,
    },
    /// The loopback callback server could not listen (port in use, loopback blocked).
    LoopbackUnavailable {
        /// The address that could not be bound, e.g. `127.0.0.1:8400`.
        address: String,
        /// Why (the OS error, no secret).
        reason: String,
        /// The OS error.
        source: Option<Cause>,
    },
    /// The server answered something that does not follow the protocol.
    Protocol {
        /// What was wrong with it.
        reason: String,
        /// The raw body, kept for diagnosis; never printed.
        body: RedactedBytes,
    },

    // ── not found ────────────────────────────────────────────────────────
    /// The server answered 404.
    NotFound {
        /// What was not found, if known.
        what: Option<String>,
    },
    /// A named profile does not exist.
    ProfileNotFound {
        /// The profile name.
        name: String,
    },

    // ── storage ──────────────────────────────────────────────────────────
    /// The credentials file cannot be parsed. It is never silently reset.
    CorruptCredentials {
        /// Where parsing failed (line and column, never content).
        reason: String,
        /// Where the shell moved the damaged file, if it did.
        moved_to: Option<String>,
    },
    /// The credentials file was written by a newer version.
    UnsupportedVersion {
        /// The version in the file.
        found: u64,
        /// The newest version this build understands.
        supported: u32,
    },
    /// Reading or writing local storage failed.
    Storage {
        /// What failed.
        reason: String,
        /// The IO or keyring error behind it, if any.
        source: Option<Cause>,
    },
    /// The credential storage is not safe to use — a file or directory another user
    /// owns or can write, something other than a regular file, a file too large to be
    /// a credentials document — so it is refused, as ssh refuses such files
    /// (`StrictModes`). Nothing was read from it or changed.
    UnsafeStorage {
        /// The file or directory.
        path: String,
        /// What is wrong with it.
        problem: String,
        /// The exact command or step that fixes it, shown as the hint.
        fix: String,
    },
    /// A profile was stored by a newer version (a login method or credential type this
    /// version does not know). It is kept unchanged and never overwritten.
    UnsupportedProfile {
        /// The profile name.
        name: String,
        /// What this version does not know, e.g. ``credential type `passkey` ``.
        what: String,
    },

    // ── timeout ──────────────────────────────────────────────────────────
    /// No browser callback arrived in time.
    LoginTimedOut {
        /// How long we waited.
        waited: Duration,
    },
    /// The device code expired before the user approved.
    DeviceCodeExpired,
    /// A pending authorization was completed after its deadline.
    AuthorizationExpired,

    // ── cancelled ────────────────────────────────────────────────────────
    /// The user cancelled.
    Cancelled,
}

/// `: detail` when there is a detail.
fn detail_suffix(detail: &Option<String>) -> String {
    match detail {
        Some(d) if !d.is_empty() => [": ", d].concat(),
        _ => String::new(),
    }
}

fn rate_suffix(policy: &Option<String>, limit: &Option<String>) -> String {
    match (policy, limit) {
        (Some(p), Some(l)) => [": ", p, " (", l, ")"].concat(),
        (Some(p), None) => [": ", p].concat(),
        (None, Some(l)) => [" (", l, ")"].concat(),
        (None, None) => String::new(),
    }
}

// Messages and hints are put together with `concat` and `decimal`, not `format!`:
// the web pages' wasm then links no `core::fmt` (see `cargo xtask size`).

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Storage { source, .. }
            | Error::Network { source, .. }
            | Error::InvalidConfig { source, .. }
            | Error::LoopbackUnavailable { source, .. } => source
                .as_ref()
                .map(|c| c.get() as &(dyn std::error::Error + 'static)),
            _ => None,
        }
    }
}

impl Error {
    /// [`Error::Storage`] without a source (add one with [`Error::with_source`]).
    pub fn storage(reason: impl Into<String>) -> Error {
        Error::Storage {
            reason: reason.into(),
            source: None,
        }
    }

    /// [`Error::InvalidArgument`]. Not inlined: one copy of the two string copies
    /// instead of one at every call site (bytes in the pages' wasm).
    #[inline(never)]
    pub fn invalid_argument(name: &str, reason: &str) -> Error {
        Error::InvalidArgument {
            name: name.into(),
            reason: reason.into(),
        }
    }

    /// [`Error::InvalidConfig`] without a source.
    pub fn invalid_config(reason: impl Into<String>) -> Error {
        Error::InvalidConfig {
            reason: reason.into(),
            source: None,
        }
    }

    /// [`Error::Network`] without a source.
    pub fn network(reason: impl Into<String>) -> Error {
        Error::Network {
            reason: reason.into(),
            source: None,
        }
    }

    /// This error with `source` as its [`std::error::Error::source`], for the variants
    /// that carry one ([`Error::Storage`], [`Error::Network`], [`Error::InvalidConfig`],
    /// [`Error::LoopbackUnavailable`]); other variants are returned unchanged.
    #[must_use]
    pub fn with_source(self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.with_cause(Some(Cause::new(source)))
    }

    /// Like [`Error::with_source`], with an optional, already wrapped cause.
    #[must_use]
    pub fn with_cause(mut self, cause: Option<Cause>) -> Error {
        match &mut self {
            Error::Storage { source, .. }
            | Error::Network { source, .. }
            | Error::InvalidConfig { source, .. }
            | Error::LoopbackUnavailable { source, .. } => *source = cause,
            _ => {}
        }
        self
    }

    /// The category.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidArgument { .. }
            | Error::InvalidConfig { .. }
            | Error::Rejected { .. }
            | Error::Misuse(_) => ErrorKind::Usage,
            Error::InvalidKey(_) | Error::InvalidJwt(_) => ErrorKind::Validation,
            Error::NotAuthenticated
            | Error::Unauthorized { .. }
            | Error::SessionExpired
            | Error::StateMismatch
            | Error::LoginIntercepted
            | Error::NonceMismatch
            | Error::IssuerMismatch { .. }
            | Error::AccessDenied { .. }
            | Error::AuthorizationFailed { .. }
            | Error::ProfileServerMismatch { .. } => ErrorKind::Auth,
            Error::InsufficientPermissions { .. } => ErrorKind::Permission,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Server { .. } => ErrorKind::Server,
            Error::Network { .. } | Error::LoopbackUnavailable { .. } => ErrorKind::Network,
            Error::Protocol { .. } => ErrorKind::Protocol,
            Error::NotFound { .. } | Error::ProfileNotFound { .. } => ErrorKind::NotFound,
            Error::CorruptCredentials { .. }
            | Error::UnsupportedVersion { .. }
            | Error::Storage { .. }
            | Error::UnsafeStorage { .. }
            | Error::UnsupportedProfile { .. } => ErrorKind::Storage,
            Error::LoginTimedOut { .. }
            | Error::DeviceCodeExpired
            | Error::AuthorizationExpired => ErrorKind::Timeout,
            Error::Cancelled => ErrorKind::Cancelled,
        }
    }

    /// The process exit code (see [`exit_code`]).
    pub fn exit_code(&self) -> i32 {
        self.kind().exit_code()
    }

    /// A stable, machine-readable code, e.g. `not_authenticated`, `rate_limited`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidArgument { .. } => "invalid_argument",
            Error::InvalidConfig { .. } => "invalid_config",
            Error::InvalidKey(_) => "invalid_key",
            Error::InvalidJwt(_) => "invalid_jwt",
            Error::Rejected { .. } => "rejected",
            Error::Misuse(_) => "misuse",
            Error::NotAuthenticated => "not_authenticated",
            Error::Unauthorized { .. } => "unauthorized",
            Error::SessionExpired => "session_expired",
            Error::StateMismatch => "state_mismatch",
            Error::LoginIntercepted => "login_intercepted",
            Error::NonceMismatch => "nonce_mismatch",
            Error::IssuerMismatch { .. } => "issuer_mismatch",
            Error::AccessDenied { .. } => "access_denied",
            Error::AuthorizationFailed { .. } => "authorization_failed",
            Error::ProfileServerMismatch { .. } => "profile_server_mismatch",
            Error::InsufficientPermissions { .. } => "insufficient_permissions",
            Error::RateLimited { .. } => "rate_limited",
            Error::Server { .. } => "server_error",
            Error::Network { .. } => "network_error",
            Error::LoopbackUnavailable { .. } => "loopback_unavailable",
            Error::Protocol { .. } => "protocol_error",
            Error::NotFound { .. } => "not_found",
            Error::ProfileNotFound { .. } => "profile_not_found",
            Error::CorruptCredentials { .. } => "corrupt_credentials",
            Error::UnsupportedVersion { .. } => "unsupported_version",
            Error::Storage { .. } => "storage_error",
            Error::UnsafeStorage { .. } => "unsafe_storage",
            Error::UnsupportedProfile { .. } => "unsupported_profile",
            Error::LoginTimedOut { .. } => "login_timed_out",
            Error::DeviceCodeExpired => "device_code_expired",
            Error::AuthorizationExpired => "authorization_expired",
            Error::Cancelled => "cancelled",
        }
    }

    /// How long to wait before retrying, when the server said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The two lines a terminal shows: `✗ message` and the indented hint.
    pub fn render(&self, app: &AppContext) -> String {
        match self.hint(app) {
            Some(hint) => ["✗ ", &self.message(), "\n  ", &hint].concat(),
            None => ["✗ ", &self.message()].concat(),
        }
    }

    /// The `--json` envelope: `{"error":{"code","message","hint","retry_after"}}`, with
    /// `retry_after` in whole seconds (rounded up) or `null`.
    pub fn to_json(&self, app: &AppContext) -> serde_json::Value {
        let retry_after = self.retry_after().map(|d| {
            let s = d.as_secs();
            if d.subsec_nanos() > 0 { s + 1 } else { s }
        });
        serde_json::json!({
            "error": {
                "code": self.code(),
                "message": self.message(),
                "hint": self.hint(app),
                "retry_after": retry_after,
            }
        })
    }

    /// A protocol error that keeps the raw body for diagnosis.
    pub(crate) fn protocol(reason: impl Into<String>, body: &[u8]) -> Error {
        Error::Protocol {
            reason: reason.into(),
            body: RedactedBytes(body.to_vec()),
        }
    }
}

impl From<KeyProblem> for Error {
    fn from(p: KeyProblem) -> Self {
        Error::InvalidKey(p)
    }
}

impl From<JwtError> for Error {
    fn from(e: JwtError) -> Self {
        Error::InvalidJwt(e)
    }
}

/// Makes server-supplied text safe to show: control characters removed, whitespace
/// collapsed, at most 200 characters.
pub fn sanitize_server_text(text: &str) -> String {
    let mut out = String::new();
    let mut chars = 0;
    let mut last_space = false;
    for c in text.chars() {
        let c = if c.is_whitespace() { ' ' } else { c };
        if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            continue;
        }
        if c == ' ' {
            if last_space || out.is_empty() {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        if chars >= 200 {
            out.push('…');
            break;
        }
        out.push(c);
        chars += 1;
    }
    out.trim_end().to_string()
}

mod eq;
#[cfg(test)]
mod tests;
mod text;

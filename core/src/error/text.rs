//! What errors say: [`Error::message`] and [`Error::hint`], and [`Error::web_text`]
//! for the variants the web pages produce.
//!
//! The texts are split in two matches: the variants an HTTP API, the cli-auth page
//! and the device-verification page produce (`web_message`, `web_hint`), and the
//! others. `message` and `hint` ask the first, then the second, so every text is
//! written once; a build that reaches errors only through [`Error::web_text`] (the
//! page module) links only the first: the key, JWT, storage, profile and login-flow
//! texts stay out of it (`cargo xtask size`).

use super::{AppContext, Error, detail_suffix, rate_suffix};
use crate::encoding::decimal;
use crate::time::human_duration;

/// The variants `web_message` and `web_hint` answer, as one pattern: the other
/// matches name them once (and stay exhaustive) through it.
macro_rules! web_variants {
    () => {
        Error::InvalidArgument { .. }
            | Error::Rejected { .. }
            | Error::Misuse(_)
            | Error::Unauthorized { .. }
            | Error::StateMismatch
            | Error::InsufficientPermissions { .. }
            | Error::RateLimited { .. }
            | Error::Server { .. }
            | Error::Network { .. }
            | Error::Protocol { .. }
            | Error::NotFound { .. }
            | Error::Cancelled
    };
}

impl Error {
    /// The one-line message (what `Display` prints), e.g. `Not authenticated`.
    pub fn message(&self) -> String {
        if let Some(m) = self.web_message() {
            return m;
        }
        match self {
            Error::InvalidConfig { reason, .. } => ["Configuration error: ", reason].concat(),
            Error::InvalidKey(problem) => problem.message(),
            Error::InvalidJwt(e) => ["Invalid token: ", &e.message()].concat(),
            Error::NotAuthenticated => "Not authenticated".into(),
            Error::SessionExpired => "Session expired".into(),
            Error::LoginIntercepted => "Sign-in link opened twice".into(),
            Error::NonceMismatch => "OpenID nonce mismatch".into(),
            Error::IssuerMismatch { .. } => "Authorization server mismatch".into(),
            Error::AccessDenied { description } => {
                ["Authorization denied", &detail_suffix(description)].concat()
            }
            Error::AuthorizationFailed { error, description } => {
                ["Authorization failed: ", error, &detail_suffix(description)].concat()
            }
            Error::ProfileServerMismatch {
                profile,
                stored,
                configured,
            } => [
                "Profile `",
                profile,
                "` belongs to ",
                stored,
                ", not ",
                configured,
            ]
            .concat(),
            Error::LoopbackUnavailable {
                address, reason, ..
            } => [
                "Cannot listen on ",
                address,
                " for the browser callback: ",
                reason,
            ]
            .concat(),
            Error::ProfileNotFound { name } => ["No profile named `", name, "`"].concat(),
            Error::CorruptCredentials { reason, .. } => {
                ["Credentials file is corrupt: ", reason].concat()
            }
            Error::UnsupportedVersion { found, supported } => [
                "Credentials file version ",
                &decimal(*found),
                " is newer than this program supports (",
                &decimal(u64::from(*supported)),
                ")",
            ]
            .concat(),
            Error::Storage { reason, .. } => ["Credential storage error: ", reason].concat(),
            Error::UnsafeStorage { path, problem, .. } => {
                ["Refusing to use ", path, ": ", problem].concat()
            }
            Error::UnsupportedProfile { name, what } => [
                "Profile `",
                name,
                "` was stored by a newer version (",
                what,
                ")",
            ]
            .concat(),
            Error::LoginTimedOut { .. } => "OAuth flow timed out".into(),
            Error::DeviceCodeExpired => "Device code expired".into(),
            Error::AuthorizationExpired => "Login session expired".into(),
            // Answered by `web_message`.
            web_variants!() => String::new(),
        }
    }

    /// The line shown under the message: what to do next.
    pub fn hint(&self, app: &AppContext) -> Option<String> {
        if let Some(h) = self.web_hint(app) {
            return h;
        }
        let cli = app.cli.as_str();
        let product = app.product.as_str();
        let login = ["`", cli, " auth login`"].concat();
        let login = login.as_str();
        let or_device_or_key = [
            "`",
            cli,
            " auth login --device` or `",
            cli,
            " auth login --api-key <KEY>` instead.",
        ]
        .concat();
        Some(match self {
            Error::InvalidConfig { .. } => [
                "This is a setup problem in ",
                cli,
                "; report it to the ",
                product,
                " team.",
            ]
            .concat(),
            Error::InvalidKey(problem) => {
                let source = match &app.keys_url {
                    Some(url) => ["from ", url].concat(),
                    None => ["from the ", product, " dashboard"].concat(),
                };
                let first = match problem.kind {
                    crate::keys::KeyProblemKind::ForeignKey { .. } => {
                        ["Use a ", product, " key "].concat()
                    }
                    _ => "Copy the whole key again ".to_string(),
                };
                [
                    &first,
                    source.as_str(),
                    ", then run `",
                    cli,
                    " auth login --api-key <KEY>`.",
                ]
                .concat()
            }
            Error::InvalidJwt(_) => [
                "The stored token cannot be read. Run ",
                login,
                " to sign in again.",
            ]
            .concat(),
            Error::NotAuthenticated => [
                "Run ",
                login,
                " to sign in, or set ",
                &app.api_key_env,
                ". (See `",
                cli,
                " auth login --help`.)",
            ]
            .concat(),
            Error::SessionExpired => [
                "Your sign-in is no longer valid (revoked, signed out elsewhere, or expired). Run ",
                login,
                ".",
            ]
            .concat(),
            Error::LoginIntercepted => [
                "The one-time link your browser was started with was requested a second time: \
                 another program on this computer may have read it and raced your browser. \
                 Nothing was stored. Run ",
                login,
                " again (and open the printed link only if the browser did not open).",
            ]
            .concat(),
            Error::NonceMismatch => [
                "The ID token in the sign-in response was not issued for this login (its `nonce` \
                 does not match). Possible token injection — aborting; nothing was stored. Run ",
                login,
                " again.",
            ]
            .concat(),
            Error::IssuerMismatch {
                expected,
                found: Some(found),
            } if found.trim_end_matches('/') == expected.trim_end_matches('/') => [
                "The server names itself `",
                found,
                "`, not `",
                expected,
                "`: issuers must be identical, a trailing `/` included (RFC 8414 §3.3). This is a \
                 setup problem in ",
                cli,
                ": its issuer must be written exactly as the server names itself; report it to the ",
                product,
                " team.",
            ]
            .concat(),
            Error::IssuerMismatch { .. } => [
                "The response came from a different authorization server than configured. Aborting; \
                 check the ",
                product,
                " server URL and run ",
                login,
                " again.",
            ]
            .concat(),
            Error::AccessDenied { .. } => [
                "The authorization was declined in the browser. Run ",
                login,
                " to try again.",
            ]
            .concat(),
            Error::AuthorizationFailed { .. } => [
                "The authorization server refused the request. Try ",
                login,
                " again, or use `",
                cli,
                " auth login --api-key <KEY>`.",
            ]
            .concat(),
            Error::ProfileServerMismatch { configured, .. } => [
                "Its credential is never sent to another server. Sign in to ",
                configured,
                " with `",
                cli,
                " auth login --profile <NAME>`, or pick another profile with `",
                cli,
                " auth switch <NAME>`.",
            ]
            .concat(),
            Error::LoopbackUnavailable { .. } => [
                "Another program may be using the port, or local connections are blocked. Try again, \
                 or use ",
                &or_device_or_key,
            ]
            .concat(),
            Error::ProfileNotFound { .. } => [
                "List profiles with `",
                cli,
                " auth status`, or create one with `",
                cli,
                " auth login --profile <NAME>`.",
            ]
            .concat(),
            Error::CorruptCredentials { moved_to, .. } => match moved_to {
                Some(path) => [
                    "The damaged file was kept at ",
                    path,
                    ". Run ",
                    login,
                    " to sign in again.",
                ]
                .concat(),
                None => ["Fix or remove the file, then run ", login, "."].concat(),
            },
            Error::UnsupportedVersion { .. } => {
                ["Upgrade ", cli, "; the file was not changed."].concat()
            }
            Error::Storage { .. } => [
                "Check that your home directory is writable, or set a different credentials directory for ",
                cli,
                ".",
            ]
            .concat(),
            Error::UnsafeStorage { fix, .. } => fix.clone(),
            Error::UnsupportedProfile { name, .. } => [
                "It is kept unchanged. Upgrade ",
                cli,
                " to use it, pick another profile with `",
                cli,
                " auth switch <NAME>` or `--profile <NAME>`, or remove it with `",
                cli,
                " auth logout --profile ",
                name,
                "`.",
            ]
            .concat(),
            Error::LoginTimedOut { waited } => [
                "No callback received within ",
                &human_duration(*waited),
                ". Try again, or use ",
                &or_device_or_key,
            ]
            .concat(),
            Error::DeviceCodeExpired => [
                "The code was not approved in time. Run `",
                cli,
                " auth login --device` again.",
            ]
            .concat(),
            Error::AuthorizationExpired => ["Run ", login, " again."].concat(),
            // Answered by `web_hint`.
            web_variants!() => return None,
        })
    }

    /// The message and hint ([`Error::message`], [`Error::hint`]) of the errors an HTTP
    /// API and the web pages produce — `invalid_argument`, `rejected`, `misuse`,
    /// `unauthorized`, `state_mismatch`, `insufficient_permissions`, `rate_limited`,
    /// `server_error`, `network_error`, `protocol_error`, `not_found`, `cancelled` —
    /// and `None` for the other variants. A build that shows only these errors calls
    /// this instead of `message` and `hint`, and links none of the other texts.
    ///
    /// ```
    /// use cliauth_core::{AppContext, Error};
    /// let app = AppContext::new("acme", "Acme");
    /// let e = Error::Server { status: 502 };
    /// assert_eq!(e.web_text(&app), Some((e.message(), e.hint(&app))));
    /// assert_eq!(Error::NotAuthenticated.web_text(&app), None);
    /// ```
    pub fn web_text(&self, app: &AppContext) -> Option<(String, Option<String>)> {
        Some((self.web_message()?, self.web_hint(app)?))
    }

    fn web_message(&self) -> Option<String> {
        Some(match self {
            Error::InvalidArgument { name, reason } => ["Invalid ", name, ": ", reason].concat(),
            Error::Rejected { status, detail } => [
                "Request rejected (",
                &decimal(u64::from(*status)),
                ")",
                &detail_suffix(detail),
            ]
            .concat(),
            Error::Misuse(what) => ["Internal error: ", what].concat(),
            Error::Unauthorized { detail } => {
                ["Authentication failed", &detail_suffix(detail)].concat()
            }
            Error::StateMismatch => "OAuth state mismatch".into(),
            Error::InsufficientPermissions { .. } => "Insufficient permissions".into(),
            Error::RateLimited { policy, limit, .. } => {
                ["Rate limited", &rate_suffix(policy, limit)].concat()
            }
            Error::Server { status } => {
                ["Server error (", &decimal(u64::from(*status)), ")"].concat()
            }
            Error::Network { reason, .. } => ["Network error: ", reason].concat(),
            Error::Protocol { reason, .. } => {
                ["Unexpected response from the server: ", reason].concat()
            }
            Error::NotFound { what } => ["Not found", &detail_suffix(what)].concat(),
            Error::Cancelled => "Cancelled".into(),
            _ => return None,
        })
    }

    /// `Some(hint)` for the web variants (see [`Error::web_text`]), `None` for others.
    fn web_hint(&self, app: &AppContext) -> Option<Option<String>> {
        let cli = app.cli.as_str();
        let product = app.product.as_str();
        let login = ["`", cli, " auth login`"].concat();
        let login = login.as_str();
        Some(Some(match self {
            Error::InvalidArgument { .. } => ["See `", cli, " --help`."].concat(),
            Error::Rejected { .. } => [
                "Check the command's arguments (`",
                cli,
                " --help`) and try again.",
            ]
            .concat(),
            Error::Misuse(_) => ["This is a bug in ", cli, "; please report it."].concat(),
            Error::Unauthorized { .. } => [
                "The credential was rejected (revoked or expired?). Run ",
                login,
                " to sign in again.",
            ]
            .concat(),
            Error::StateMismatch => {
                "The browser callback did not match this login session. Possible CSRF — aborting. \
                 Run the login again and do not open links from others."
                    .to_string()
            }
            Error::InsufficientPermissions { required_scope } => match required_scope {
                Some(scope) => [
                    "Your credential does not have the `",
                    scope,
                    "` scope this operation needs. Create a key with that scope, then run ",
                    login,
                    ".",
                ]
                .concat(),
                None => {
                    "Your credential does not have the permission this operation needs.".to_string()
                }
            },
            Error::RateLimited { retry_after, .. } => match retry_after {
                Some(d) => [
                    "Retry in ",
                    &human_duration(*d),
                    ". Slow down and retry shortly.",
                ]
                .concat(),
                None => "Slow down and retry shortly.".to_string(),
            },
            Error::Server { .. } => match &app.status_url {
                Some(url) => [
                    "The ",
                    product,
                    " server returned an error. Try again, then check ",
                    url,
                    ".",
                ]
                .concat(),
                None => [
                    "The ",
                    product,
                    " server returned an error. Try again in a minute.",
                ]
                .concat(),
            },
            Error::Network { .. } => {
                "Check your internet connection, proxy and firewall, then try again.".to_string()
            }
            Error::Protocol { .. } => [
                "The server's answer could not be understood. Try again; if it persists, run with \
                 `-v` and report it to the ",
                product,
                " team.",
            ]
            .concat(),
            Error::NotFound { .. } => "Check the name or ID and try again.".to_string(),
            Error::Cancelled => return Some(None),
            _ => return None,
        }))
    }
}

//! What the [`Authenticator`](super::Authenticator)'s operations return. Login and
//! logout outcomes are core's (the same values the wasm binding produces); the rest
//! are listings and summaries of core's results.

use cliauth_core::credentials::{LoginMethod, StatusReport};
use serde::Serialize;

pub use cliauth_core::flow::{Endpoints, LoginOutcome, LogoutOutcome, Revocation, Verification};

/// What a device or browser login falls back to when no browser can be opened here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fallback {
    /// The device code flow if the server offers it, else a pasted key (default).
    #[default]
    Auto,
    /// The device code flow (RFC 8628).
    Device,
    /// A key pasted at a prompt.
    Paste,
}

/// The result of [`Authenticator::refresh_now`](super::Authenticator::refresh_now).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RefreshOutcome {
    /// The profile whose tokens were refreshed.
    pub profile: String,
    /// Whether the server rotated the refresh token (the new one is stored).
    pub rotated: bool,
    /// When the new access token expires, RFC 3339.
    pub expires_at: Option<String>,
    /// The scopes of the new access token: as the server granted them, or as
    /// requested when its answer names none (RFC 6749 §5.1).
    pub scopes: Vec<String>,
}

/// A stored profile, for listings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProfileInfo {
    /// Its name.
    pub name: String,
    /// Whether it is the active profile.
    pub active: bool,
    /// How it was obtained.
    pub method: LoginMethod,
    /// `api_key` or `oauth`.
    pub credential_type: &'static str,
    /// Who it belongs to, if known.
    pub subject: Option<String>,
    /// Its authorization server.
    pub issuer: Option<String>,
}

/// One stored profile's status, from
/// [`Authenticator::status_all`](super::Authenticator::status_all).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProfileStatus {
    /// The profile's name.
    pub name: String,
    /// Whether it is the active profile.
    pub active: bool,
    /// Its status, as `status` reports it for this profile.
    pub status: StatusReport,
    /// Why it cannot be used with this configuration (another server), if so.
    pub problem: Option<String>,
}

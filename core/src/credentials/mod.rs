//! The credentials document: profiles, the active profile, and where a credential
//! comes from.
//!
//! The document is versioned JSON (the native shell stores it in
//! `~/.<app>/credentials.json`, the wasm shell in Web Storage):
//!
//! ```json
//! {
//!   "version": 1,
//!   "active_profile": "default",
//!   "profiles": {
//!     "default": {
//!       "method": "device",
//!       "issuer": "https://auth.acme.example",
//!       "subject": "user-42",
//!       "created_at": 1795341600,
//!       "verified_at": 1795341600,
//!       "credential": { "type": "oauth", "access_token": "…", "token_type": "Bearer",
//!                       "expires_at": 1795345200, "refresh_token": "…", "scope": "read",
//!                       "obtained_at": 1795341600 }
//!     },
//!     "ci": { "method": "api_key", "created_at": 1795341600,
//!             "credential": { "type": "api_key", "key": "acme_dev_…" } }
//!   }
//! }
//! ```
//!
//! Parsing never panics and never silently resets: a damaged file is
//! [`Error::CorruptCredentials`] (with the position, never the content), a file from a
//! newer version is [`Error::UnsupportedVersion`].
//!
//! ## Forward compatibility
//!
//! `version` is the major format version. A newer release may add to a version-1
//! document without changing it, and this version keeps every addition it does not
//! understand **byte for byte** through every rewrite (a refresh, a login or logout of
//! another profile, a switch):
//!
//! - unknown fields at the top level, in a profile and inside `credential`
//!   ([`UnknownFields`]): their JSON text is written back exactly as read;
//! - a profile whose `method` or `credential.type` this version does not know
//!   ([`UnknownProfile`]): kept as it was read, never used, and reported by
//!   [`CredentialsDocument::notices`]. It is never overwritten by a login
//!   ([`Error::UnsupportedProfile`]); only an explicit
//!   [`CredentialsDocument::remove_unknown_profile`] (a logout of that profile) drops it.
//!
//! Such a document is not damage: nothing is moved aside and the other profiles stay
//! usable. A change an older reader could not skip safely bumps `version`.
//!
//! [`resolve`] applies the precedence every CLI user expects: `--api-key` flag >
//! environment variable > named or active profile > none, and says which won.

use std::collections::BTreeMap;

mod format;
pub mod strict;
use format::{Out, Parsed, Sorted, parse_profile, profile_out, raw_object, raw_string, write_out};
pub use format::{UnknownFields, UnknownProfile};

use serde::Serialize;

use crate::error::{AppContext, Error};
use crate::keys::KeyRegistry;
use crate::secret::{AccessToken, ApiKey};
use crate::time::{Timestamp, human_duration};
use crate::token::{RefreshPolicy, TokenSet, TokenStatus};

/// The document version this build writes and reads.
pub const CREDENTIALS_VERSION: u32 = 1;
/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";
/// The largest document a store reads or writes (1 MiB, about a hundred profiles with
/// large tokens). A bigger file is refused before it is read, so a huge or endless file
/// cannot make every command slow or exhaust memory.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// How a credential was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginMethod {
    /// `--api-key` or an interactive key prompt.
    ApiKey,
    /// Authorization code + PKCE through the loopback server.
    Browser,
    /// A cli-auth page delivered it.
    Handoff,
    /// Device authorization grant.
    Device,
    /// Pasted at a prompt (remote sessions).
    Paste,
}

impl LoginMethod {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginMethod::ApiKey => "api_key",
            LoginMethod::Browser => "browser",
            LoginMethod::Handoff => "handoff",
            LoginMethod::Device => "device",
            LoginMethod::Paste => "paste",
        }
    }

    /// Words for people.
    pub fn describe(self) -> &'static str {
        match self {
            LoginMethod::ApiKey => "API key",
            LoginMethod::Browser => "browser (OAuth + PKCE)",
            LoginMethod::Handoff => "browser (cli-auth page)",
            LoginMethod::Device => "device code",
            LoginMethod::Paste => "pasted key",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "api_key" => LoginMethod::ApiKey,
            "browser" => LoginMethod::Browser,
            "handoff" => LoginMethod::Handoff,
            "device" => LoginMethod::Device,
            "paste" => LoginMethod::Paste,
            _ => return None,
        })
    }
}

/// A stored credential.
#[derive(Debug, PartialEq, Eq)]
pub enum Credential {
    /// An API key.
    ApiKey(ApiKey),
    /// OAuth tokens.
    OAuth(TokenSet),
}

impl Credential {
    /// An explicit copy.
    pub fn clone_secret(&self) -> Credential {
        match self {
            Credential::ApiKey(k) => Credential::ApiKey(k.clone_secret()),
            Credential::OAuth(t) => Credential::OAuth(t.clone_secret()),
        }
    }
}

/// One profile (build it with [`Profile::new`]).
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Profile {
    /// The credential.
    pub credential: Credential,
    /// How it was obtained.
    pub method: LoginMethod,
    /// The authorization server it belongs to.
    pub issuer: Option<String>,
    /// The API it is for.
    pub api_base: Option<String>,
    /// Who it belongs to (user id or e-mail), for `status`.
    pub subject: Option<String>,
    /// When it was stored.
    pub created_at: Timestamp,
    /// When a server last accepted it.
    pub verified_at: Option<Timestamp>,
    /// Profile fields this version does not know, kept verbatim.
    pub extra: UnknownFields,
    /// Fields inside `credential` this version does not know, kept verbatim while
    /// the credential is (through refreshes); a new login replaces them with the
    /// credential they described.
    pub credential_extra: UnknownFields,
}

impl Profile {
    /// A profile created at `now`.
    pub fn new(credential: Credential, method: LoginMethod, now: Timestamp) -> Self {
        Profile {
            credential,
            method,
            issuer: None,
            api_base: None,
            subject: None,
            created_at: now,
            verified_at: None,
            extra: UnknownFields::new(),
            credential_extra: UnknownFields::new(),
        }
    }

    /// Checks that this profile may be used with the configured server: when both the
    /// profile and the configuration name an issuer (or an API base), they must be the
    /// same: issuers identical ([`crate::discovery::same_issuer`]), API bases equal up
    /// to a single trailing `/`. A credential is never sent to a server
    /// other than the one it was issued for ([`Error::ProfileServerMismatch`]).
    pub fn check_server(
        &self,
        name: &str,
        issuer: Option<&str>,
        api_base: Option<&str>,
    ) -> Result<(), Error> {
        // Issuers: the one issuer rule (identical strings, RFC 8414 §3.3). API bases
        // are URLs to join paths to, where a trailing `/` changes nothing.
        let same_base =
            |a: &str, b: &str| a.strip_suffix('/').unwrap_or(a) == b.strip_suffix('/').unwrap_or(b);
        let same_issuer: fn(&str, &str) -> bool = crate::discovery::same_issuer;
        for (stored, configured, same) in [
            (self.issuer.as_deref(), issuer, same_issuer),
            (
                self.api_base.as_deref(),
                api_base,
                same_base as fn(&str, &str) -> bool,
            ),
        ] {
            if let (Some(stored), Some(configured)) = (stored, configured)
                && !same(stored, configured)
            {
                return Err(Error::ProfileServerMismatch {
                    profile: name.to_string(),
                    stored: stored.to_string(),
                    configured: configured.to_string(),
                });
            }
        }
        Ok(())
    }

    /// An explicit copy.
    pub fn clone_secret(&self) -> Profile {
        Profile {
            credential: self.credential.clone_secret(),
            method: self.method,
            issuer: self.issuer.clone(),
            api_base: self.api_base.clone(),
            subject: self.subject.clone(),
            created_at: self.created_at,
            verified_at: self.verified_at,
            extra: self.extra.clone(),
            credential_extra: self.credential_extra.clone(),
        }
    }
}

/// Checks a profile name: 1–64 characters of `A-Z a-z 0-9 . _ -`, not starting with `.`.
pub fn validate_profile_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            name: "profile name".into(),
            reason: "use 1-64 letters, digits, `.`, `_` or `-`".into(),
        })
    }
}

/// The whole document.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CredentialsDocument {
    /// The profile used when none is named.
    pub active_profile: Option<String>,
    /// Profiles by name.
    pub profiles: BTreeMap<String, Profile>,
    // Profiles this version cannot use (a newer version wrote them), kept verbatim
    // ([`CredentialsDocument::unknown_profiles`]). A name is in `profiles` or here,
    // never in both.
    unknown_profiles: Sorted<UnknownProfile>,
    /// Top-level fields this version does not know, kept verbatim.
    pub extra: UnknownFields,
}

fn corrupt(reason: impl Into<String>) -> Error {
    Error::CorruptCredentials {
        reason: reason.into(),
        moved_to: None,
    }
}

impl CredentialsDocument {
    /// An empty document.
    pub fn new() -> Self {
        CredentialsDocument::default()
    }

    /// Parses the stored bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(corrupt("the file is empty"));
        }
        // Core's reader: each member's text is kept; where that fails, the same reader
        // says where the bytes stop being JSON.
        let Some(mut map) = core::str::from_utf8(bytes).ok().and_then(raw_object) else {
            return Err(match crate::json::Value::from_slice(bytes) {
                Err(e) => corrupt(format!("not valid JSON ({})", e.describe())),
                Ok(_) => corrupt("the top level is not a JSON object"),
            });
        };
        let version = match map
            .remove("version")
            .map(|r| crate::json::Value::parse(r.as_bytes()))
        {
            Some(Some(n @ crate::json::Value::Number(_))) => n
                .as_u64()
                .ok_or_else(|| corrupt("`version` is not a positive integer"))?,
            Some(_) => return Err(corrupt("`version` is not a number")),
            None => return Err(corrupt("`version` is missing")),
        };
        if version == 0 {
            return Err(corrupt("`version` is 0"));
        }
        if version > u64::from(CREDENTIALS_VERSION) {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: CREDENTIALS_VERSION,
            });
        }
        let active_profile = raw_string(&mut map, "active_profile")
            .map_err(|_| corrupt("`active_profile` is not a string"))?;
        let mut profiles = BTreeMap::new();
        let mut unknown_profiles = Sorted::default();
        match map.remove("profiles") {
            None => {}
            Some(raw) if raw == "null" => {}
            Some(raw) => {
                let entries =
                    raw_object(&raw).ok_or_else(|| corrupt("`profiles` is not an object"))?;
                for (name, value) in entries {
                    validate_profile_name(&name)
                        .map_err(|_| corrupt("a profile has an invalid name"))?;
                    match parse_profile(value)
                        .map_err(|r| corrupt(format!("profile `{name}`: {r}")))?
                    {
                        Parsed::Known(profile) => {
                            profiles.insert(name, *profile);
                        }
                        Parsed::Unknown(unknown) => {
                            unknown_profiles.insert(name, unknown);
                        }
                    }
                }
            }
        }
        Ok(CredentialsDocument {
            active_profile,
            profiles,
            unknown_profiles,
            extra: UnknownFields(map),
        })
    }

    /// The bytes to store: pretty JSON with sorted keys and a trailing newline. Unknown
    /// fields and profiles are written back as the text they were read as.
    pub fn to_json(&self) -> Vec<u8> {
        let mut profiles: Sorted<Out<'_>> = self
            .unknown_profiles
            .iter()
            .map(|(k, u)| (k.clone(), Out::Raw(&u.raw)))
            .collect();
        for (k, p) in &self.profiles {
            profiles.insert(k.clone(), profile_out(p));
        }
        let mut top: Sorted<Out<'_>> = self.extra.as_out().collect();
        top.insert(
            "version".into(),
            Out::Num(Some(u64::from(CREDENTIALS_VERSION))),
        );
        top.insert(
            "active_profile".into(),
            Out::Str(self.active_profile.as_deref()),
        );
        top.insert("profiles".into(), Out::Map(profiles));
        let mut out = String::new();
        write_out(&mut out, &Out::Map(top), 0);
        out.push('\n');
        out.into_bytes()
    }

    /// An explicit copy.
    pub fn clone_secret(&self) -> CredentialsDocument {
        // Inserted one by one: `collect` into a `BTreeMap` sorts first, which links a
        // stable sort (about 3 KB of the web module) for keys already in order.
        let mut profiles = BTreeMap::new();
        for (k, p) in &self.profiles {
            profiles.insert(k.clone(), p.clone_secret());
        }
        CredentialsDocument {
            active_profile: self.active_profile.clone(),
            profiles,
            unknown_profiles: self.unknown_profiles.clone(),
            extra: self.extra.clone(),
        }
    }

    /// Whether the document holds nothing: no profile (known or not) and no unknown
    /// field. A store may delete such a document instead of writing it.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty() && self.unknown_profiles.is_empty() && self.extra.is_empty()
    }

    /// One line per profile this version skips, for the user (see
    /// [`UnknownProfile::notice`]).
    pub fn notices(&self) -> Vec<String> {
        self.unknown_profiles
            .iter()
            .map(|(name, u)| u.notice(name))
            .collect()
    }

    /// A profile by name.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// A profile by name, mutably.
    pub fn profile_mut(&mut self, name: &str) -> Option<&mut Profile> {
        self.profiles.get_mut(name)
    }

    /// The profiles this version cannot use (a newer version stored them: kept
    /// unchanged, never used), by name in order.
    pub fn unknown_profiles(&self) -> impl Iterator<Item = (&str, &UnknownProfile)> {
        self.unknown_profiles.iter().map(|(k, u)| (k.as_str(), u))
    }

    /// A profile this version cannot use, by name.
    pub fn unknown_profile(&self, name: &str) -> Option<&UnknownProfile> {
        self.unknown_profiles.get(name)
    }

    /// The active profile's name and profile, if it exists.
    pub fn active(&self) -> Option<(&str, &Profile)> {
        let name = self.active_profile.as_deref()?;
        self.profiles.get(name).map(|p| (name, p))
    }

    /// [`Error::UnsupportedProfile`] if `name` is a profile this version cannot use.
    pub fn check_usable(&self, name: &str) -> Result<(), Error> {
        match self.unknown_profiles.get(name) {
            Some(u) => Err(Error::UnsupportedProfile {
                name: name.to_string(),
                what: u.what.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Stores a profile; it becomes active if no active profile exists. A profile this
    /// version cannot use is never overwritten ([`Error::UnsupportedProfile`]).
    pub fn set_profile(&mut self, name: &str, profile: Profile) -> Result<(), Error> {
        validate_profile_name(name)?;
        self.check_usable(name)?;
        self.profiles.insert(name.to_string(), profile);
        // An active profile this version cannot use stays active: it is not ours to
        // take away.
        let dangling = self.active_profile.as_deref().is_none_or(|a| {
            !self.profiles.contains_key(a) && self.unknown_profiles.get(a).is_none()
        });
        if dangling {
            self.active_profile = Some(name.to_string());
        }
        Ok(())
    }

    /// Removes a profile; if it was active, no profile is active afterwards.
    pub fn remove_profile(&mut self, name: &str) -> Option<Profile> {
        let removed = self.profiles.remove(name);
        if removed.is_some() && self.active_profile.as_deref() == Some(name) {
            self.active_profile = None;
        }
        removed
    }

    /// Removes a profile this version cannot use (an explicit logout of it); if it
    /// was active, no profile is active afterwards.
    pub fn remove_unknown_profile(&mut self, name: &str) -> Option<UnknownProfile> {
        let removed = self.unknown_profiles.remove(name);
        if removed.is_some() && self.active_profile.as_deref() == Some(name) {
            self.active_profile = None;
        }
        removed
    }

    /// Makes a profile active.
    pub fn switch(&mut self, name: &str) -> Result<(), Error> {
        self.check_usable(name)?;
        if !self.profiles.contains_key(name) {
            return Err(Error::ProfileNotFound {
                name: name.to_string(),
            });
        }
        self.active_profile = Some(name.to_string());
        Ok(())
    }
}

/// Where a credential came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialSource {
    /// The `--api-key` flag.
    Flag,
    /// An environment variable.
    Env {
        /// Its name.
        var: String,
    },
    /// A stored profile.
    Profile {
        /// Its name.
        name: String,
    },
}

impl CredentialSource {
    /// `flag`, `env:ACME_API_KEY`, `profile:default`.
    pub fn label(&self) -> String {
        match self {
            CredentialSource::Flag => "flag".into(),
            CredentialSource::Env { var } => format!("env:{var}"),
            CredentialSource::Profile { name } => format!("profile:{name}"),
        }
    }
}

/// The inputs of [`resolve`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ResolveInput<'a> {
    /// The `--api-key` value.
    pub flag: Option<&'a str>,
    /// The API-key environment variable's name and value.
    pub env: Option<(&'a str, &'a str)>,
    /// The bearer-token environment variable's name and value (`<APP>_TOKEN`, like
    /// gh's `GH_TOKEN`): any bearer token, an OAuth access token in CI.
    pub env_token: Option<(&'a str, &'a str)>,
    /// A profile named with `--profile`.
    pub profile: Option<&'a str>,
    /// The stored document.
    pub document: Option<&'a CredentialsDocument>,
}

/// What [`resolve`] found.
#[derive(Debug)]
pub enum Resolved<'a> {
    /// A key from the flag or the environment (not yet validated).
    Key {
        /// The key.
        key: ApiKey,
        /// Flag or env.
        source: CredentialSource,
    },
    /// A stored profile.
    Profile {
        /// Its name.
        name: &'a str,
        /// The profile.
        profile: &'a Profile,
    },
    /// A bearer token from the environment ([`ResolveInput::env_token`]), checked
    /// against RFC 6750's token syntax only: it is sent as it is, never refreshed and
    /// never stored.
    Token {
        /// The token.
        token: AccessToken,
        /// The variable.
        source: CredentialSource,
    },
}

impl Resolved<'_> {
    /// Where the credential came from.
    pub fn source(&self) -> CredentialSource {
        match self {
            Resolved::Key { source, .. } | Resolved::Token { source, .. } => source.clone(),
            Resolved::Profile { name, .. } => CredentialSource::Profile {
                name: name.to_string(),
            },
        }
    }
}

/// Applies the precedence flag > API-key variable > bearer-token variable > named or
/// active profile > none. Empty flag or variable values count as absent. A named
/// profile that does not exist is an error ([`Error::ProfileNotFound`]) rather than
/// a silent fallback; so is a token variable that is not a bearer token
/// ([`crate::token::bearer_token`]); a named or active profile a newer version stored
/// is [`Error::UnsupportedProfile`].
///
/// The environment wins over stored credentials, as gh's `GH_TOKEN`/`GITHUB_TOKEN`
/// do ("takes precedence over previously stored credentials"); between the two
/// variables the one the app documents first (the API key) wins.
pub fn resolve<'a>(input: ResolveInput<'a>) -> Result<Option<Resolved<'a>>, Error> {
    if let Some(flag) = input.flag.filter(|v| !v.trim().is_empty()) {
        return Ok(Some(Resolved::Key {
            key: ApiKey::new(flag),
            source: CredentialSource::Flag,
        }));
    }
    if let Some((var, value)) = input.env.filter(|(_, v)| !v.trim().is_empty()) {
        return Ok(Some(Resolved::Key {
            key: ApiKey::new(value),
            source: CredentialSource::Env {
                var: var.to_string(),
            },
        }));
    }
    if let Some((var, value)) = input.env_token.filter(|(_, v)| !v.trim().is_empty()) {
        return Ok(Some(Resolved::Token {
            token: crate::token::bearer_token(var, value)?,
            source: CredentialSource::Env {
                var: var.to_string(),
            },
        }));
    }
    if let Some(doc) = input.document
        && let Some(name) = input.profile.or(doc.active_profile.as_deref())
    {
        doc.check_usable(name)?;
    }
    if let Some(name) = input.profile {
        return match input.document.and_then(|d| d.profiles.get_key_value(name)) {
            Some((name, profile)) => Ok(Some(Resolved::Profile { name, profile })),
            None => Err(Error::ProfileNotFound {
                name: name.to_string(),
            }),
        };
    }
    Ok(input
        .document
        .and_then(CredentialsDocument::active)
        .map(|(name, profile)| Resolved::Profile { name, profile }))
}

/// What `status` reports; serialisable for `--json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StatusReport {
    /// Whether a credential is available.
    pub authenticated: bool,
    /// `flag`, `env:VAR` or `profile:NAME`.
    pub source: Option<String>,
    /// The profile in use.
    pub profile: Option<String>,
    /// `api_key`, `oauth`, or `token` (a bearer token from the environment).
    pub credential_type: Option<&'static str>,
    /// How it was obtained.
    pub method: Option<LoginMethod>,
    /// Who it belongs to.
    pub subject: Option<String>,
    /// The authorization server.
    pub issuer: Option<String>,
    /// The API base.
    pub api_base: Option<String>,
    /// The key, masked.
    pub masked_key: Option<String>,
    /// Expiry, RFC 3339.
    pub expires_at: Option<String>,
    /// Seconds left.
    pub expires_in_secs: Option<u64>,
    /// `valid`, `refresh_due`, `expired` or `needs_login`.
    pub token_status: Option<&'static str>,
    /// Whether a refresh token is stored.
    pub refreshable: bool,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// When a server last accepted it, RFC 3339.
    pub verified_at: Option<String>,
    /// Other stored profiles.
    pub other_profiles: Vec<String>,
}

impl StatusReport {
    /// The report for a resolved credential (or none) at `now`.
    pub fn new(
        resolved: Option<&Resolved<'_>>,
        document: Option<&CredentialsDocument>,
        keys: &KeyRegistry,
        now: Timestamp,
        policy: &RefreshPolicy,
    ) -> Self {
        let mut report = StatusReport::default();
        let in_use = match resolved {
            Some(Resolved::Profile { name, .. }) => Some(*name),
            _ => None,
        };
        report.other_profiles = document
            .map(|d| {
                d.profiles
                    .keys()
                    .filter(|k| Some(k.as_str()) != in_use)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let Some(resolved) = resolved else {
            return report;
        };
        report.authenticated = true;
        report.source = Some(resolved.source().label());
        let expiry_from_jwt = |token: &str, report: &mut StatusReport| {
            if let Ok(jwt) = crate::jwt::decode_unverified(token) {
                if report.subject.is_none() {
                    report.subject = jwt.claims.sub.clone();
                }
                if let Some(exp) = jwt.expires_at() {
                    report.expires_at = Some(exp.to_rfc3339());
                    report.expires_in_secs = Some(exp.saturating_duration_since(now).as_secs());
                    if exp <= now {
                        report.authenticated = false;
                        report.token_status = Some("needs_login");
                    }
                }
                if report.scopes.is_empty() {
                    report.scopes = jwt.claims.scopes().iter().map(|s| s.to_string()).collect();
                }
            }
        };
        match resolved {
            Resolved::Key { key, .. } => {
                report.credential_type = Some("api_key");
                report.method = Some(LoginMethod::ApiKey);
                report.masked_key = Some(keys.mask(key.expose_secret()));
                expiry_from_jwt(key.expose_secret(), &mut report);
            }
            Resolved::Token { token, .. } => {
                report.credential_type = Some("token");
                report.masked_key = Some(keys.mask(token.expose_secret()));
                expiry_from_jwt(token.expose_secret(), &mut report);
            }
            Resolved::Profile { name, profile } => {
                report.profile = Some(name.to_string());
                report.method = Some(profile.method);
                report.subject = profile.subject.clone();
                report.issuer = profile.issuer.clone();
                report.api_base = profile.api_base.clone();
                report.verified_at = profile.verified_at.map(Timestamp::to_rfc3339);
                match &profile.credential {
                    Credential::ApiKey(key) => {
                        report.credential_type = Some("api_key");
                        report.masked_key = Some(keys.mask(key.expose_secret()));
                        expiry_from_jwt(key.expose_secret(), &mut report);
                    }
                    Credential::OAuth(tokens) => {
                        report.credential_type = Some("oauth");
                        report.refreshable = tokens.refresh_token.is_some();
                        report.scopes = tokens.scopes().iter().map(|s| s.to_string()).collect();
                        if let Some(exp) = tokens.expires_at {
                            report.expires_at = Some(exp.to_rfc3339());
                            report.expires_in_secs =
                                Some(exp.saturating_duration_since(now).as_secs());
                        }
                        let status = tokens.status(now, policy);
                        report.token_status = Some(match status {
                            TokenStatus::Valid { .. } => "valid",
                            TokenStatus::RefreshDue => "refresh_due",
                            TokenStatus::Expired => "expired",
                            TokenStatus::NeedsLogin => "needs_login",
                        });
                        if status == TokenStatus::NeedsLogin {
                            report.authenticated = false;
                        }
                        if report.subject.is_none() {
                            let sub =
                                crate::jwt::decode_unverified(tokens.access_token.expose_secret())
                                    .ok()
                                    .and_then(|j| j.claims.sub)
                                    .or_else(|| {
                                        tokens.id_token.as_ref().and_then(|t| {
                                            crate::jwt::decode_unverified(t.expose_secret())
                                                .ok()
                                                .and_then(|j| j.claims.sub)
                                        })
                                    });
                            report.subject = sub;
                        }
                    }
                }
            }
        }
        report
    }

    /// The human-readable status block (stderr), e.g.
    ///
    /// ```text
    /// ✓ Logged in to Acme as user-42
    ///   Profile:  default
    ///   Method:   device code
    ///   Token:    valid, expires in 59m (2026-11-22T11:00:00Z); refreshes automatically
    ///   Scopes:   read write
    /// ```
    pub fn render(&self, app: &AppContext) -> String {
        if !self.authenticated {
            let mut out = if self.token_status == Some("needs_login") {
                format!(
                    "✗ Session expired for {}\n  Run `{} auth login` to sign in again.",
                    app.product, app.cli
                )
            } else {
                Error::NotAuthenticated.render(app)
            };
            if !self.other_profiles.is_empty() && self.profile.is_none() {
                out.push_str(&format!(
                    "\n  Stored profiles: {} (use `{} auth switch <NAME>`)",
                    self.other_profiles.join(", "),
                    app.cli
                ));
            }
            return out;
        }
        let who = self
            .subject
            .as_deref()
            .map(|s| format!(" as {s}"))
            .unwrap_or_default();
        let mut lines = vec![format!("✓ Logged in to {}{who}", app.product)];
        let mut field = |k: &str, v: String| lines.push(format!("  {k:<9} {v}"));
        if let Some(p) = &self.profile {
            field("Profile:", p.clone());
        }
        match self.source.as_deref() {
            Some("flag") => field("Source:", "--api-key flag".into()),
            Some(s) if s.starts_with("env:") => {
                field("Source:", format!("environment variable {}", &s[4..]))
            }
            _ => {}
        }
        if let Some(m) = self.method {
            field("Method:", m.describe().into());
        }
        if let Some(i) = &self.issuer {
            field("Server:", i.clone());
        }
        if let Some(k) = &self.masked_key {
            field("Key:", k.clone());
        }
        match (&self.expires_at, self.expires_in_secs) {
            (Some(at), Some(secs)) => {
                let left = human_duration(core::time::Duration::from_secs(secs));
                let state = match self.token_status {
                    Some("refresh_due") => "refresh due",
                    Some("expired") => "expired",
                    _ => "valid",
                };
                let auto = if self.refreshable {
                    "; refreshes automatically"
                } else {
                    ""
                };
                if secs == 0 {
                    field("Token:", format!("{state}, expired at {at}{auto}"));
                } else {
                    field("Token:", format!("{state}, expires in {left} ({at}){auto}"));
                }
            }
            _ if self.credential_type == Some("api_key") => field("Expires:", "never".into()),
            _ => {}
        }
        if !self.scopes.is_empty() {
            field("Scopes:", self.scopes.join(" "));
        }
        if let Some(v) = &self.verified_at {
            field("Verified:", v.clone());
        }
        if !self.other_profiles.is_empty() {
            field("Others:", self.other_profiles.join(", "));
        }
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests;

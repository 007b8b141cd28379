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
//! newer version is [`Error::UnsupportedVersion`]. Unknown fields are kept and written
//! back, so an older CLI does not destroy what a newer one added.
//!
//! [`resolve`] applies the precedence every CLI user expects: `--api-key` flag >
//! environment variable > named or active profile > none, and says which won.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::error::{AppContext, Error};
use crate::keys::KeyRegistry;
use crate::secret::{AccessToken, ApiKey, IdToken, RefreshToken};
use crate::time::{Timestamp, human_duration};
use crate::token::{RefreshPolicy, TokenSet, TokenStatus};

/// The document version this build writes and reads.
pub const CREDENTIALS_VERSION: u32 = 1;
/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";

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
    /// Fields this version does not know, preserved.
    pub extra: Map<String, Value>,
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
            extra: Map::new(),
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
    /// Top-level fields this version does not know, preserved.
    pub extra: Map<String, Value>,
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
        let value = crate::json::Value::from_slice(bytes)
            .map_err(|e| corrupt(format!("not valid JSON ({})", e.describe())))?
            .into_serde();
        let Value::Object(mut map) = value else {
            return Err(corrupt("the top level is not a JSON object"));
        };
        let version = match map.remove("version") {
            Some(Value::Number(n)) => n
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
        let active_profile = match map.remove("active_profile") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(corrupt("`active_profile` is not a string")),
        };
        let mut profiles = BTreeMap::new();
        match map.remove("profiles") {
            None | Some(Value::Null) => {}
            Some(Value::Object(entries)) => {
                for (name, value) in entries {
                    validate_profile_name(&name)
                        .map_err(|_| corrupt("a profile has an invalid name"))?;
                    let profile = parse_profile(value)
                        .map_err(|r| corrupt(format!("profile `{name}`: {r}")))?;
                    profiles.insert(name, profile);
                }
            }
            Some(_) => return Err(corrupt("`profiles` is not an object")),
        }
        Ok(CredentialsDocument {
            active_profile,
            profiles,
            extra: map,
        })
    }

    /// The bytes to store: pretty JSON with a trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut map = Map::new();
        map.insert("version".into(), json!(CREDENTIALS_VERSION));
        map.insert("active_profile".into(), json!(self.active_profile));
        let profiles: Map<String, Value> = self
            .profiles
            .iter()
            .map(|(k, p)| (k.clone(), profile_to_value(p)))
            .collect();
        map.insert("profiles".into(), Value::Object(profiles));
        for (k, v) in &self.extra {
            map.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let mut out = serde_json::to_vec_pretty(&Value::Object(map)).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// An explicit copy.
    pub fn clone_secret(&self) -> CredentialsDocument {
        CredentialsDocument {
            active_profile: self.active_profile.clone(),
            profiles: self
                .profiles
                .iter()
                .map(|(k, p)| (k.clone(), p.clone_secret()))
                .collect(),
            extra: self.extra.clone(),
        }
    }

    /// A profile by name.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// A profile by name, mutably.
    pub fn profile_mut(&mut self, name: &str) -> Option<&mut Profile> {
        self.profiles.get_mut(name)
    }

    /// The active profile's name and profile, if it exists.
    pub fn active(&self) -> Option<(&str, &Profile)> {
        let name = self.active_profile.as_deref()?;
        self.profiles.get(name).map(|p| (name, p))
    }

    /// Stores a profile; it becomes active if no active profile exists.
    pub fn set_profile(&mut self, name: &str, profile: Profile) -> Result<(), Error> {
        validate_profile_name(name)?;
        self.profiles.insert(name.to_string(), profile);
        if self.active().is_none() {
            self.active_profile = Some(name.to_string());
        }
        Ok(())
    }

    /// Removes a profile; if it was active, no profile is active afterwards.
    pub fn remove_profile(&mut self, name: &str) -> Option<Profile> {
        let removed = self.profiles.remove(name);
        if self.active_profile.as_deref() == Some(name) {
            self.active_profile = None;
        }
        removed
    }

    /// Makes a profile active.
    pub fn switch(&mut self, name: &str) -> Result<(), Error> {
        if !self.profiles.contains_key(name) {
            return Err(Error::ProfileNotFound {
                name: name.to_string(),
            });
        }
        self.active_profile = Some(name.to_string());
        Ok(())
    }
}

fn parse_profile(value: Value) -> Result<Profile, String> {
    let Value::Object(mut map) = value else {
        return Err("is not an object".into());
    };
    let take_string = |map: &mut Map<String, Value>, k: &str| -> Result<Option<String>, String> {
        match map.remove(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("`{k}` is not a string")),
        }
    };
    let time = |map: &mut Map<String, Value>, k: &str| -> Result<Option<Timestamp>, String> {
        match map.remove(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(|s| Some(Timestamp::from_unix_secs(s)))
                .ok_or_else(|| format!("`{k}` is not a time")),
            Some(_) => Err(format!("`{k}` is not a number")),
        }
    };
    let method_name = take_string(&mut map, "method")?.ok_or("`method` is missing")?;
    let method = LoginMethod::parse(&method_name).ok_or("`method` is unknown")?;
    let issuer = take_string(&mut map, "issuer")?;
    let api_base = take_string(&mut map, "api_base")?;
    let subject = take_string(&mut map, "subject")?;
    let created_at = time(&mut map, "created_at")?.unwrap_or(Timestamp::EPOCH);
    let verified_at = time(&mut map, "verified_at")?;
    let Some(Value::Object(mut cred)) = map.remove("credential") else {
        return Err("`credential` is missing or not an object".into());
    };
    let kind = take_string(&mut cred, "type")?.ok_or("`credential.type` is missing")?;
    let credential = match kind.as_str() {
        "api_key" => {
            let key = take_string(&mut cred, "key")?
                .filter(|k| !k.is_empty())
                .ok_or("`credential.key` is missing")?;
            Credential::ApiKey(ApiKey::new(key))
        }
        "oauth" => {
            let access = take_string(&mut cred, "access_token")?
                .filter(|k| !k.is_empty())
                .ok_or("`credential.access_token` is missing")?;
            Credential::OAuth(TokenSet {
                access_token: AccessToken::new(access),
                token_type: take_string(&mut cred, "token_type")?
                    .unwrap_or_else(|| "Bearer".into()),
                expires_at: time(&mut cred, "expires_at")?,
                refresh_token: take_string(&mut cred, "refresh_token")?
                    .filter(|s| !s.is_empty())
                    .map(RefreshToken::new),
                scope: take_string(&mut cred, "scope")?,
                id_token: take_string(&mut cred, "id_token")?
                    .filter(|s| !s.is_empty())
                    .map(IdToken::new),
                obtained_at: time(&mut cred, "obtained_at")?.unwrap_or(created_at),
            })
        }
        _ => return Err("`credential.type` is unknown".into()),
    };
    Ok(Profile {
        credential,
        method,
        issuer,
        api_base,
        subject,
        created_at,
        verified_at,
        extra: map,
    })
}

fn profile_to_value(p: &Profile) -> Value {
    let credential = match &p.credential {
        Credential::ApiKey(k) => json!({ "type": "api_key", "key": k.expose_secret() }),
        Credential::OAuth(t) => json!({
            "type": "oauth",
            "access_token": t.access_token.expose_secret(),
            "token_type": t.token_type,
            "expires_at": t.expires_at.map(Timestamp::unix_secs),
            "refresh_token": t.refresh_token.as_ref().map(RefreshToken::expose_secret),
            "scope": t.scope,
            "id_token": t.id_token.as_ref().map(IdToken::expose_secret),
            "obtained_at": t.obtained_at.unix_secs(),
        }),
    };
    let mut map = Map::new();
    map.insert("method".into(), json!(p.method.as_str()));
    map.insert("issuer".into(), json!(p.issuer));
    map.insert("api_base".into(), json!(p.api_base));
    map.insert("subject".into(), json!(p.subject));
    map.insert("created_at".into(), json!(p.created_at.unix_secs()));
    map.insert(
        "verified_at".into(),
        json!(p.verified_at.map(Timestamp::unix_secs)),
    );
    map.insert("credential".into(), credential);
    for (k, v) in &p.extra {
        map.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Value::Object(map)
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
/// ([`crate::token::bearer_token`]).
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
mod tests {
    use super::*;
    use crate::keys::{Charset, KeyFormat};

    const NOW: Timestamp = Timestamp::from_unix_secs(1_795_341_600);

    fn doc_with_profiles() -> CredentialsDocument {
        let mut d = CredentialsDocument::new();
        d.set_profile(
            "default",
            Profile::new(
                Credential::ApiKey(ApiKey::new("acme_dev_0123456789abcdefWXYZ")),
                LoginMethod::ApiKey,
                NOW,
            ),
        )
        .unwrap();
        let tokens = TokenSet {
            access_token: AccessToken::new("at"),
            token_type: "Bearer".into(),
            expires_at: Some(NOW.saturating_add(core::time::Duration::from_secs(3600))),
            refresh_token: Some(RefreshToken::new("rt")),
            scope: Some("read write".into()),
            id_token: None,
            obtained_at: NOW,
        };
        let mut p = Profile::new(Credential::OAuth(tokens), LoginMethod::Device, NOW);
        p.subject = Some("user-42".into());
        d.set_profile("work", p).unwrap();
        d
    }

    #[test]
    fn profiles_stay_with_their_server() {
        let mut p = Profile::new(
            Credential::ApiKey(ApiKey::new("acme_dev_0123456789abcdefWXYZ")),
            LoginMethod::Browser,
            NOW,
        );
        p.issuer = Some("https://auth.acme.example/".into());
        p.api_base = Some("https://api.acme.example".into());
        assert!(
            p.check_server("w", Some("https://auth.acme.example/"), None)
                .is_ok()
        );
        // The one issuer rule: identical strings, so a trailing `/` is another issuer
        // (an API base is a URL to join paths to; there it changes nothing).
        assert!(matches!(
            p.check_server("w", Some("https://auth.acme.example"), None),
            Err(Error::ProfileServerMismatch { .. })
        ));
        assert!(
            p.check_server("w", None, Some("https://api.acme.example/"))
                .is_ok()
        );
        assert!(p.check_server("w", None, None).is_ok());
        assert_eq!(
            p.check_server("w", Some("https://evil.example"), None),
            Err(Error::ProfileServerMismatch {
                profile: "w".into(),
                stored: "https://auth.acme.example/".into(),
                configured: "https://evil.example".into(),
            })
        );
        assert!(matches!(
            p.check_server(
                "w",
                Some("https://auth.acme.example/"),
                Some("http://127.0.0.1:9/")
            ),
            Err(Error::ProfileServerMismatch { .. })
        ));
        p.issuer = None;
        assert!(
            p.check_server("w", Some("https://other.example"), None)
                .is_ok()
        );
    }

    #[test]
    fn round_trip_preserves_unknown_fields() {
        let mut d = doc_with_profiles();
        d.extra.insert("future".into(), json!({"x": 1}));
        d.profile_mut("work")
            .unwrap()
            .extra
            .insert("device_name".into(), json!("laptop"));
        let bytes = d.to_json();
        let back = CredentialsDocument::from_json(&bytes).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.to_json(), bytes);
        assert_eq!(back.active_profile.as_deref(), Some("default"));
    }

    #[test]
    fn corrupt_and_newer_files_are_typed_errors() {
        for (bytes, code) in [
            (&b""[..], "corrupt_credentials"),
            (b"   \n", "corrupt_credentials"),
            (b"{\"version\":1,\"profiles\":{\"a\":", "corrupt_credentials"),
            (b"[]", "corrupt_credentials"),
            (b"{}", "corrupt_credentials"),
            (b"{\"version\":\"1\"}", "corrupt_credentials"),
            (b"{\"version\":2}", "unsupported_version"),
            (b"{\"version\":1,\"profiles\":{\"a\":{\"method\":\"api_key\",\"credential\":{\"type\":\"api_key\",\"key\":5}}}}", "corrupt_credentials"),
            (b"{\"version\":1,\"profiles\":{\"../x\":{}}}", "corrupt_credentials"),
        ] {
            let e = CredentialsDocument::from_json(bytes).unwrap_err();
            assert_eq!(e.code(), code, "{}", String::from_utf8_lossy(bytes));
        }
        let leaky = br#"{"version":1,"profiles":{"a":{"method":"device","credential":{"type":"oauth","access_token":"SECRETVALUE","expires_at":"SECRETVALUE2"}}}}"#;
        let e = CredentialsDocument::from_json(leaky).unwrap_err();
        assert!(
            !e.to_string().contains("SECRET") && !format!("{e:?}").contains("SECRET"),
            "{e}"
        );
    }

    #[test]
    fn precedence() {
        let d = doc_with_profiles();
        let input = ResolveInput {
            flag: Some("k1"),
            env: Some(("ACME_API_KEY", "k2")),
            env_token: None,
            profile: Some("work"),
            document: Some(&d),
        };
        assert_eq!(
            resolve(input).unwrap().unwrap().source(),
            CredentialSource::Flag
        );
        let input = ResolveInput {
            flag: Some(" "),
            ..input
        };
        assert_eq!(
            resolve(input).unwrap().unwrap().source(),
            CredentialSource::Env {
                var: "ACME_API_KEY".into()
            }
        );
        let input = ResolveInput { env: None, ..input };
        assert_eq!(
            resolve(input).unwrap().unwrap().source(),
            CredentialSource::Profile {
                name: "work".into()
            }
        );
        let input = ResolveInput {
            profile: None,
            ..input
        };
        assert_eq!(
            resolve(input).unwrap().unwrap().source(),
            CredentialSource::Profile {
                name: "default".into()
            }
        );
        let input = ResolveInput {
            profile: Some("nope"),
            ..input
        };
        assert_eq!(
            resolve(input).unwrap_err(),
            Error::ProfileNotFound {
                name: "nope".into()
            }
        );
        assert!(resolve(ResolveInput::default()).unwrap().is_none());
    }

    #[test]
    fn switch_and_remove() {
        let mut d = doc_with_profiles();
        d.switch("work").unwrap();
        assert_eq!(d.active().unwrap().0, "work");
        assert!(d.switch("missing").is_err());
        d.remove_profile("work");
        assert!(d.active().is_none());
        assert!(
            d.set_profile(
                "bad name",
                Profile::new(
                    Credential::ApiKey(ApiKey::new("k")),
                    LoginMethod::ApiKey,
                    NOW
                )
            )
            .is_err()
        );
    }

    #[test]
    fn status_reports() {
        let d = doc_with_profiles();
        let keys = KeyRegistry::new(vec![KeyFormat::prefixed(
            "acme",
            "Acme",
            "developer key",
            "acme_dev_",
            Charset::Base62,
            20,
            64,
        )]);
        let app = AppContext::new("acme", "Acme");
        let r = resolve(ResolveInput {
            profile: Some("work"),
            document: Some(&d),
            ..Default::default()
        })
        .unwrap();
        let s = StatusReport::new(r.as_ref(), Some(&d), &keys, NOW, &RefreshPolicy::default());
        assert_eq!(s.token_status, Some("valid"));
        assert_eq!(s.other_profiles, vec!["default"]);
        assert_eq!(
            s.render(&app),
            "✓ Logged in to Acme as user-42\n  Profile:  work\n  Method:   device code\n  Token:    valid, expires in 1h (2026-11-22T11:00:00Z); refreshes automatically\n  Scopes:   read write\n  Others:   default"
        );
        let r = resolve(ResolveInput {
            document: Some(&d),
            ..Default::default()
        })
        .unwrap();
        let s = StatusReport::new(r.as_ref(), Some(&d), &keys, NOW, &RefreshPolicy::default());
        assert_eq!(s.masked_key.as_deref(), Some("acme_dev_…WXYZ"));
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("0123456789"), "{json}");
        let none = StatusReport::new(None, None, &keys, NOW, &RefreshPolicy::default());
        assert!(none.render(&app).starts_with("✗ Not authenticated"));
    }
}

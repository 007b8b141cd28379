//! The server's configuration.

use std::path::PathBuf;
use std::time::Duration;

use crate::DevServerError;

/// The public client the server knows by default.
pub const DEFAULT_CLIENT_ID: &str = "democli";

/// A rate-limit policy: at most `quota` requests per `window`, per user.
///
/// A policy named `dev:NAME` applies to the protected endpoint `/api/NAME` (so
/// `dev:memories` limits `/api/memories`). Over the quota the endpoint answers 429 with
/// `Retry-After`, `RateLimit-Policy: "dev:memories";q=120;w=3600` and
/// `{"detail":"Rate limited: dev:memories (120/hr)"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitPolicy {
    /// The policy name, e.g. `dev:memories`.
    pub name: String,
    /// Requests allowed per window.
    pub quota: u32,
    /// The window (whole seconds, at least 1 s).
    pub window: Duration,
}

impl RateLimitPolicy {
    /// A policy.
    pub fn new(name: impl Into<String>, quota: u32, window: Duration) -> Self {
        RateLimitPolicy {
            name: name.into(),
            quota,
            window,
        }
    }

    /// The default `dev:memories` policy: 120 requests per hour.
    pub fn memories_default() -> Self {
        RateLimitPolicy::new("dev:memories", 120, Duration::from_secs(3600))
    }

    /// The path the policy applies to (`dev:memories` → `/api/memories`).
    pub fn path(&self) -> String {
        format!(
            "/api/{}",
            self.name.strip_prefix("dev:").unwrap_or(&self.name)
        )
    }

    /// Parses `NAME=QUOTA/WINDOW`, e.g. `dev:memories=120/1h` or `dev:memories=2/3s`
    /// (the window takes the units of [`parse_duration`]).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name, rest) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}`: expected NAME=QUOTA/WINDOW"))?;
        let (quota, window) = rest
            .split_once('/')
            .ok_or_else(|| format!("`{text}`: expected NAME=QUOTA/WINDOW"))?;
        let quota = quota
            .trim()
            .parse::<u32>()
            .map_err(|_| format!("`{text}`: the quota must be a whole number"))?;
        let policy = RateLimitPolicy::new(name.trim(), quota, parse_duration(window)?);
        policy.validate()?;
        Ok(policy)
    }

    fn validate(&self) -> Result<(), String> {
        let Some(rest) = self.name.strip_prefix("dev:") else {
            return Err(format!(
                "rate-limit policy `{}`: names must look like `dev:NAME` (it applies to /api/NAME)",
                self.name
            ));
        };
        if rest.is_empty()
            || !rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(format!(
                "rate-limit policy `{}`: NAME may contain only a-z, 0-9 and _",
                self.name
            ));
        }
        if self.quota == 0 {
            return Err(format!(
                "rate-limit policy `{}`: the quota must be at least 1",
                self.name
            ));
        }
        if self.window.as_secs() == 0 || self.window.subsec_nanos() != 0 {
            return Err(format!(
                "rate-limit policy `{}`: the window must be a whole number of seconds",
                self.name
            ));
        }
        Ok(())
    }
}

/// Parses a duration: `500ms`, `3s`, `5m`, `1h`, `2d`, or bare seconds (`30`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (examples: 500ms, 3s, 5m, 1h)"))?;
    let secs = |mult: u64| Duration::from_secs(n.saturating_mul(mult));
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(secs(1)),
        "m" | "min" => Ok(secs(60)),
        "h" => Ok(secs(3600)),
        "d" => Ok(secs(86_400)),
        _ => Err(format!(
            "`{text}` has an unknown unit (use ms, s, m, h or d)"
        )),
    }
}

/// How to run a [`DevServer`](crate::DevServer). `Default` gives the documented
/// defaults; set the fields to change (the struct is `#[non_exhaustive]`, so new
/// settings can be added without breaking an app):
///
/// ```
/// use std::time::Duration;
/// use cliauth_devserver::DevServerConfig;
/// let mut config = DevServerConfig::default();
/// config.auto_approve_device = Some(Duration::from_secs(2));
/// assert_eq!(config.client_id, "democli");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DevServerConfig {
    /// The port to bind on 127.0.0.1; 0 (default) picks a free one.
    pub port: u16,
    /// The issuer identifier (`issuer` in metadata, `iss` in authorization responses).
    /// Default: the server's base URL. An embedded server whose port changes per run
    /// uses a stable identifier that is not the live origin; its clients then use the
    /// explicit [`Endpoints`](crate::Endpoints) instead of discovery.
    pub issuer: Option<String>,
    /// The one public client (no secret, PKCE required). Default `democli`.
    pub client_id: String,
    /// Persist every piece of state (users, API keys, codes, sessions, token families,
    /// revocations, rate-limit windows) in this JSON file, so that several server
    /// instances — one per CLI process, each on its own port — share it. Writes take an
    /// exclusive lock on `<file>.lock` and replace the file atomically. Default: memory.
    pub state_file: Option<PathBuf>,
    /// Access-token lifetime. Default 1 hour.
    pub access_token_ttl: Duration,
    /// Refresh-token lifetime (from its issue; every refresh issues a new one).
    /// Default 30 days.
    pub refresh_token_ttl: Duration,
    /// The minimum time between two device-code polls; faster polls get `slow_down`.
    /// The `interval` the device authorization response announces is this rounded up
    /// to whole seconds (at least 1). Default 5 s.
    pub device_interval: Duration,
    /// Device-code lifetime. Default 10 minutes.
    pub device_code_lifetime: Duration,
    /// Authorization-code (and handoff-code) lifetime. Default 60 s.
    pub code_lifetime: Duration,
    /// Quickstart mode: device codes are approved for the demo user this long after
    /// they are issued. Default: never (a person approves on `/device`).
    pub auto_approve_device: Option<Duration>,
    /// Quickstart mode: `/authorize` approves for the signed-in (or demo) user without
    /// showing the consent page, and the pages treat the demo user as signed in.
    /// Default false.
    pub auto_approve_browser: bool,
    /// Rate-limit policies. Default: `dev:memories` at 120 per hour.
    pub rate_limits: Vec<RateLimitPolicy>,
    /// A directory whose files override the built-in pages and assets
    /// (`cli-auth.html`, `device.html`, `cli-auth.js`, `device.js`, `common.js`,
    /// `style.css`). Default: the pages compiled into the server
    /// (from `examples/web`).
    pub web_root: Option<PathBuf>,
    /// The built npm package served at `/pkg/` (entry `/pkg/index.js`). Default:
    /// `<repo>/npm/dist`.
    pub pkg_dir: Option<PathBuf>,
    /// Log one line per request (method, path without query, status) to stderr.
    pub log_requests: bool,
    /// **Tests only.** Append every secret the server issues or receives (codes, PKCE
    /// verifiers, device codes, tokens, API keys, session cookies) to this file, one
    /// JSON line each, so that end-to-end tests can check that a CLI never leaks them
    /// (see "Secret recorder" in the crate docs). The file holds live credentials in
    /// clear text. Default: off.
    pub record_secrets: Option<PathBuf>,
    /// More `Host` authorities (`127.0.0.1:8443`) the server answers to, besides its
    /// own: a TLS-terminating proxy on another loopback port in front of it. Only
    /// loopback hosts (`127.0.0.1`, `localhost`, `[::1]`) with a port are accepted.
    /// Default: none.
    pub extra_hosts: Vec<String>,
}

impl Default for DevServerConfig {
    fn default() -> Self {
        DevServerConfig {
            port: 0,
            issuer: None,
            client_id: DEFAULT_CLIENT_ID.into(),
            state_file: None,
            access_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(30 * 86_400),
            device_interval: Duration::from_secs(5),
            device_code_lifetime: Duration::from_secs(600),
            code_lifetime: Duration::from_secs(60),
            auto_approve_device: None,
            auto_approve_browser: false,
            rate_limits: vec![RateLimitPolicy::memories_default()],
            web_root: None,
            pkg_dir: None,
            log_requests: false,
            record_secrets: None,
            extra_hosts: Vec::new(),
        }
    }
}

impl DevServerConfig {
    /// The default location of the npm package: `<repo>/npm/dist`.
    pub fn default_pkg_dir() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../npm/dist"))
    }

    pub(crate) fn validate(&self) -> Result<(), DevServerError> {
        let bad = |reason: String| Err(DevServerError::InvalidConfig(reason));
        for host in &self.extra_hosts {
            let loopback = host
                .rsplit_once(':')
                .and_then(|(_, port)| port.parse::<u16>().ok())
                .is_some_and(|port| crate::util::is_own_authority(host, port));
            if !loopback {
                return bad(format!(
                    "extra host `{host}` must be 127.0.0.1, localhost or [::1] with a port"
                ));
            }
        }
        if self.client_id.is_empty()
            || !self
                .client_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        {
            return bad("client_id must be non-empty and URL-safe".into());
        }
        if let Some(issuer) = &self.issuer
            && (issuer.is_empty()
                || issuer.contains(['?', '#'])
                || issuer.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return bad("the issuer must be a URL without query or fragment".into());
        }
        for (name, d) in [
            ("access_token_ttl", self.access_token_ttl),
            ("refresh_token_ttl", self.refresh_token_ttl),
            ("device_interval", self.device_interval),
            ("device_code_lifetime", self.device_code_lifetime),
            ("code_lifetime", self.code_lifetime),
        ] {
            if d.is_zero() {
                return bad(format!("{name} must be longer than zero"));
            }
        }
        let mut names = Vec::new();
        for p in &self.rate_limits {
            p.validate().map_err(DevServerError::InvalidConfig)?;
            if names.contains(&&p.name) {
                return bad(format!("rate-limit policy `{}` is given twice", p.name));
            }
            names.push(&p.name);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_policies() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("3s").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("3 weeks").is_err());
        let p = RateLimitPolicy::parse("dev:memories=2/3s").unwrap();
        assert_eq!(
            p,
            RateLimitPolicy::new("dev:memories", 2, Duration::from_secs(3))
        );
        assert_eq!(p.path(), "/api/memories");
        assert!(RateLimitPolicy::parse("memories=2/3s").is_err());
        assert!(RateLimitPolicy::parse("dev:memories=0/3s").is_err());
        assert!(RateLimitPolicy::parse("dev:memories=2/500ms").is_err());
        assert!(DevServerConfig::default().validate().is_ok());
    }
}

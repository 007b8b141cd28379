//! The [`Authenticator`]: every login, the stored credential, refresh, status and
//! logout, for one app.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cliauth_core::authorize::{
    AuthorizationConfig, CallbackParams, LOGIN_ENTROPY_LEN, PendingAuthorization,
};
use cliauth_core::credentials::{
    Credential, CredentialsDocument, DEFAULT_PROFILE, LoginMethod, Profile, ResolveInput, Resolved,
    StatusReport, resolve, validate_profile_name,
};
use cliauth_core::device::{
    DeviceFlow, DevicePoll, device_authorization_request, parse_device_authorization,
};
use cliauth_core::discovery::{check_endpoint_url, discovery_urls, parse_metadata};
use cliauth_core::handoff::{handoff_credential, handoff_page_url};
use cliauth_core::http::api_error;
use cliauth_core::keys::{Charset, KeyFormat, KeyRegistry};
use cliauth_core::launch::{LaunchDecision, NoBrowserReason, decide_launch};
use cliauth_core::loopback::{Accept, LoopbackConfig, LoopbackHandler};
use cliauth_core::pkce::{PkceMethod, PkceVerifier};
use cliauth_core::refresh::{Refresh, RefreshConfig, RefreshStep};
use cliauth_core::revoke::{parse_revocation_response, revoke_token_set};
use cliauth_core::secret::{AccessToken, ApiKey, AuthorizationCode, SecretString};
use cliauth_core::state::StateToken;
use cliauth_core::token::{
    OAuthError, RefreshPolicy, TokenEndpointResponse, TokenGrant, TokenResponse, TokenSet,
    parse_token_response, token_request,
};
use cliauth_core::{AppContext, Error, HttpRequest, HttpResponse, Timestamp};
use serde::Serialize;
use tracing::debug;

use crate::browser::{Browser, launch_environment_from};
use crate::http::{HttpClient, HttpOptions, SendFailure};
use crate::loopback::{LoopbackOptions, LoopbackServer};
use crate::store::{CredentialStore, EnvSource, FileStore, StoreLock};
use crate::sys;
use crate::ui::{Notice, TerminalUi, Ui};

/// The endpoints of the authorization server, configured or discovered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// Authorization endpoint (browser login).
    pub authorization: Option<String>,
    /// Token endpoint (every grant and refresh).
    pub token: Option<String>,
    /// Device authorization endpoint (RFC 8628).
    pub device_authorization: Option<String>,
    /// Revocation endpoint (RFC 7009).
    pub revocation: Option<String>,
    /// OpenID userinfo endpoint.
    pub userinfo: Option<String>,
    /// PKCE methods the server advertises (`None`: unknown, S256 is used).
    pub pkce_methods: Option<Vec<String>>,
    /// Whether the server sends `iss` in authorization responses (RFC 9207).
    pub iss_parameter_supported: bool,
    /// The issuer identifier these endpoints belong to, as
    /// [`Authenticator::endpoints`] resolved it: the discovery document's `issuer`
    /// (identical to the configured one, RFC 8414 §3.3), else the configured issuer.
    /// It is what RFC 9207 `iss` parameters must equal and what profiles record. A
    /// value passed to [`AuthenticatorBuilder::endpoints`] is ignored.
    pub issuer: Option<String>,
}

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

/// Whether a verification round trip accepted a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verification {
    /// The server accepted the credential.
    Verified,
    /// The server could not be asked (network or server error); the credential was
    /// stored anyway.
    Unverified {
        /// Why (no secret).
        reason: String,
    },
    /// No verification endpoint is configured (or the login itself proved it).
    NotChecked,
}

/// The result of a successful login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LoginOutcome {
    /// The profile the credential was stored in.
    pub profile: String,
    /// Whether that profile is now the active one.
    pub active: bool,
    /// How it was obtained.
    pub method: LoginMethod,
    /// `api_key` or `oauth`.
    pub credential_type: &'static str,
    /// Who it belongs to, when known.
    pub subject: Option<String>,
    /// The key, masked (for API keys).
    pub masked_key: Option<String>,
    /// When the access token expires (OAuth).
    pub expires_at: Option<String>,
    /// Granted scopes (OAuth).
    pub scopes: Vec<String>,
    /// Verification of API keys.
    pub verification: Verification,
}

/// The result of [`Authenticator::refresh_now`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefreshOutcome {
    /// The profile whose tokens were refreshed.
    pub profile: String,
    /// Whether the server rotated the refresh token (the new one is stored).
    pub rotated: bool,
    /// When the new access token expires, RFC 3339.
    pub expires_at: Option<String>,
}

/// What happened at the server during logout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Revocation {
    /// The server revoked the token.
    Revoked,
    /// The server has no revocation endpoint, or the credential is an API key (keys
    /// are revoked in the product's dashboard).
    NotSupported,
    /// The profile belongs to another server, so nothing was sent.
    Skipped {
        /// Why.
        reason: String,
    },
    /// Revocation failed; the local copy was deleted anyway.
    Failed {
        /// The error code.
        code: String,
        /// The message.
        message: String,
    },
}

/// The result of a logout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogoutOutcome {
    /// The profile that was removed.
    pub profile: String,
    /// What the server did.
    pub revocation: Revocation,
    /// An API-key environment variable that is still set (and still authenticates).
    pub env_still_set: Option<String>,
}

/// A stored profile, for listings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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

/// Configures an [`Authenticator`]; see [`Authenticator::builder`].
#[must_use]
pub struct AuthenticatorBuilder {
    app: AppContext,
    keys: Option<KeyRegistry>,
    env: EnvSource,
    config_dir_env: Option<String>,
    issuer: Option<String>,
    endpoints: Endpoints,
    client_id: Option<String>,
    scopes: Vec<String>,
    extra_params: Vec<(String, String)>,
    store: Option<Arc<dyn CredentialStore>>,
    loopback: LoopbackOptions,
    cli_auth_page: Option<String>,
    api_base: Option<String>,
    verify: Option<String>,
    fallback: Fallback,
    browser: Browser,
    ui: Option<Arc<dyn Ui>>,
    http: HttpOptions,
    refresh: RefreshPolicy,
}

impl fmt::Debug for AuthenticatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatorBuilder")
            .field("app", &self.app.cli)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl AuthenticatorBuilder {
    /// The product's name for prose (`Acme`); defaults to the command name.
    pub fn product(mut self, product: impl Into<String>) -> Self {
        self.app.product = product.into();
        self
    }

    /// The whole [`AppContext`] (command, product, API-key variable, keys page,
    /// status page), for messages such as ``Run `acme auth login` ``.
    pub fn app_context(mut self, app: AppContext) -> Self {
        self.app = app;
        self
    }

    /// Where users create API keys, named in hints.
    pub fn keys_url(mut self, url: impl Into<String>) -> Self {
        self.app.keys_url = Some(url.into());
        self
    }

    /// The API key formats the app accepts (core's [`KeyRegistry`]). Without this,
    /// any single-line printable key is accepted.
    pub fn key_formats(mut self, keys: KeyRegistry) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The environment variable holding an API key (default `<APP>_API_KEY`).
    pub fn api_key_env(mut self, var: impl Into<String>) -> Self {
        self.app.api_key_env = var.into();
        self
    }

    /// The environment variable that overrides the credentials directory (default
    /// `<APP>_CONFIG_DIR`).
    pub fn config_dir_env(mut self, var: impl Into<String>) -> Self {
        self.config_dir_env = Some(var.into());
        self
    }

    /// Where environment variables are read (default: the process environment).
    pub fn env(mut self, env: EnvSource) -> Self {
        self.env = env;
        self
    }

    /// The authorization server's issuer identifier. Unless a token endpoint is set
    /// explicitly, its endpoints are discovered (RFC 8414, then OpenID Connect
    /// Discovery) on first use. Stored OAuth profiles remember it, and a profile from
    /// another issuer is never sent to this one.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Explicit endpoints (no discovery when a token endpoint is given). Set fields
    /// override discovered ones.
    pub fn endpoints(mut self, endpoints: Endpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// The authorization endpoint.
    pub fn authorization_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoints.authorization = Some(url.into());
        self
    }

    /// The token endpoint.
    pub fn token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoints.token = Some(url.into());
        self
    }

    /// The device authorization endpoint.
    pub fn device_authorization_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoints.device_authorization = Some(url.into());
        self
    }

    /// The revocation endpoint.
    pub fn revocation_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoints.revocation = Some(url.into());
        self
    }

    /// The public client id registered for the CLI.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Scopes to request.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// An extra authorization request parameter (`audience`, `prompt`, …).
    pub fn auth_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((name.into(), value.into()));
        self
    }

    /// Where credentials are stored (default: [`FileStore`] in `~/.<app>`).
    pub fn store(mut self, store: impl CredentialStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Loopback server options (port, timeout, Ctrl-C).
    pub fn loopback(mut self, options: LoopbackOptions) -> Self {
        self.loopback = options;
        self
    }

    /// How long a browser login waits for its callback (default 5 minutes).
    pub fn login_timeout(mut self, timeout: Duration) -> Self {
        self.loopback.timeout = timeout;
        self
    }

    /// Whether Ctrl-C cancels a waiting login with [`Error::Cancelled`] (default
    /// `true`; see [`LoopbackOptions::cancel_on_ctrl_c`]).
    pub fn cancel_on_ctrl_c(mut self, cancel: bool) -> Self {
        self.loopback.cancel_on_ctrl_c = cancel;
        self
    }

    /// The vendor's cli-auth page (`https://app.acme.example/cli-auth`), which hands
    /// the CLI a key or a one-time code ([`Authenticator::login_handoff`]).
    pub fn cli_auth_page(mut self, url: impl Into<String>) -> Self {
        self.cli_auth_page = Some(url.into());
        self
    }

    /// The API's base URL, for [`Authenticator::send`] and verification.
    pub fn api_base(mut self, url: impl Into<String>) -> Self {
        self.api_base = Some(url.into());
        self
    }

    /// The endpoint that verifies an API key (`GET` with `Authorization: Bearer`),
    /// absolute or relative to the API base, e.g. `/whoami`.
    pub fn verification_endpoint(mut self, path_or_url: impl Into<String>) -> Self {
        self.verify = Some(path_or_url.into());
        self
    }

    /// What [`Authenticator::login`] uses when no browser can be opened here.
    pub fn fallback(mut self, fallback: Fallback) -> Self {
        self.fallback = fallback;
        self
    }

    /// How URLs are opened (default: the system browser, honouring `BROWSER`).
    pub fn browser(mut self, browser: Browser) -> Self {
        self.browser = browser;
        self
    }

    /// How logins talk to the user (default: [`TerminalUi`]).
    pub fn ui(mut self, ui: Arc<dyn Ui>) -> Self {
        self.ui = Some(ui);
        self
    }

    /// HTTP timeouts, user agent and retries.
    pub fn http(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// When access tokens are refreshed.
    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.refresh = policy;
        self
    }

    /// Checks the configuration and builds the authenticator. Nothing is read from
    /// the network or the disk yet.
    pub fn build(self) -> Result<Authenticator, Error> {
        let check = |what: &str, url: &Option<String>| -> Result<(), Error> {
            match url {
                Some(u) => check_endpoint_url(u).map_err(|reason| Error::InvalidConfig {
                    reason: format!("the {what} {reason}"),
                }),
                None => Ok(()),
            }
        };
        check("authorization endpoint", &self.endpoints.authorization)?;
        check("token endpoint", &self.endpoints.token)?;
        check(
            "device authorization endpoint",
            &self.endpoints.device_authorization,
        )?;
        check("revocation endpoint", &self.endpoints.revocation)?;
        check("API base", &self.api_base)?;
        check("cli-auth page", &self.cli_auth_page)?;
        if self.issuer.is_some() && self.endpoints.token.is_none() {
            // Discovery will need a well-formed issuer.
            discovery_urls(self.issuer.as_deref().unwrap_or_default())?;
        }
        let oauth = self.issuer.is_some() || self.endpoints.token.is_some();
        if oauth && self.client_id.as_deref().is_none_or(str::is_empty) {
            return Err(Error::InvalidConfig {
                reason: "an authorization server is configured but no client id".into(),
            });
        }
        let verify = match &self.verify {
            Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                check("verification endpoint", &Some(v.clone()))?;
                Some(v.clone())
            }
            Some(v) => match &self.api_base {
                Some(base) => Some(join_url(base, v)),
                None => {
                    return Err(Error::InvalidConfig {
                        reason: "a relative verification endpoint needs an API base".into(),
                    });
                }
            },
            None => None,
        };
        let store = match self.store {
            Some(s) => s,
            None => {
                let var = self.config_dir_env.clone().unwrap_or_else(|| {
                    format!(
                        "{}_CONFIG_DIR",
                        cliauth_core::error::env_prefix(&self.app.cli)
                    )
                });
                let dir = FileStore::default_dir(&self.app.cli, self.env.get(&var).as_deref())?;
                Arc::new(FileStore::new(dir))
            }
        };
        let keys = self.keys.unwrap_or_else(|| {
            KeyRegistry::new(vec![KeyFormat::prefixed(
                "any",
                self.app.product.clone(),
                "API key",
                "",
                Charset::Custom((33u8..127).map(char::from).collect()),
                8,
                4096,
            )])
        });
        let mut http_options = self.http;
        if http_options.user_agent == HttpOptions::default().user_agent {
            // `acme cliauth/0.1.0`: servers can tell which CLI is calling.
            http_options.user_agent = format!("{} {}", self.app.cli, http_options.user_agent);
        }
        let http = HttpClient::new(&http_options)?;
        Ok(Authenticator {
            inner: Arc::new(Inner {
                app: self.app,
                keys,
                env: self.env,
                issuer: self.issuer,
                explicit: self.endpoints,
                endpoints: tokio::sync::OnceCell::new(),
                client_id: self.client_id.unwrap_or_default(),
                scopes: self.scopes,
                extra_params: self.extra_params,
                store,
                loopback: self.loopback,
                cli_auth_page: self.cli_auth_page,
                api_base: self.api_base,
                verify,
                fallback: self.fallback,
                browser: self.browser,
                http,
                refresh: self.refresh,
                refresh_gate: tokio::sync::Mutex::new(()),
                warned: AtomicBool::new(false),
            }),
            profile: None,
            flag_key: None,
            ui: self.ui.unwrap_or_else(|| Arc::new(TerminalUi::new())),
        })
    }
}

struct Inner {
    app: AppContext,
    keys: KeyRegistry,
    env: EnvSource,
    issuer: Option<String>,
    explicit: Endpoints,
    endpoints: tokio::sync::OnceCell<Endpoints>,
    client_id: String,
    scopes: Vec<String>,
    extra_params: Vec<(String, String)>,
    store: Arc<dyn CredentialStore>,
    loopback: LoopbackOptions,
    cli_auth_page: Option<String>,
    api_base: Option<String>,
    verify: Option<String>,
    fallback: Fallback,
    browser: Browser,
    http: HttpClient,
    refresh: RefreshPolicy,
    /// One refresh in flight per process.
    refresh_gate: tokio::sync::Mutex<()>,
    warned: AtomicBool,
}

/// Authentication for one CLI: logins, the stored credential, refresh, status,
/// logout and profiles. Cheap to clone; clones share configuration, HTTP connections
/// and the in-process refresh lock.
///
/// A view of the authenticator can be narrowed to one profile
/// ([`with_profile`](Authenticator::with_profile), the `--profile` flag) or given a
/// key from a command-line flag ([`with_api_key`](Authenticator::with_api_key)).
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
    profile: Option<String>,
    flag_key: Option<Arc<ApiKey>>,
    ui: Arc<dyn Ui>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("app", &self.inner.app.cli)
            .field("issuer", &self.inner.issuer)
            .field("client_id", &self.inner.client_id)
            .field("store", &self.inner.store)
            .field("profile", &self.profile)
            .field("flag_key", &self.flag_key.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

/// A bearer credential and where it came from.
enum Bearer {
    Key(ApiKey),
    OAuth { profile: String, token: AccessToken },
}

impl Bearer {
    fn expose(&self) -> &str {
        match self {
            Bearer::Key(k) => k.expose_secret(),
            Bearer::OAuth { token, .. } => token.expose_secret(),
        }
    }
}

impl Authenticator {
    /// Starts configuring an authenticator for the CLI whose command is `cli`
    /// (`acme`): messages say `acme auth login`, the API key variable defaults to
    /// `ACME_API_KEY` and credentials live in `~/.acme/credentials.json`.
    pub fn builder(cli: impl Into<String>) -> AuthenticatorBuilder {
        let cli = cli.into();
        AuthenticatorBuilder {
            app: AppContext::new(cli.clone(), cli),
            keys: None,
            env: EnvSource::process(),
            config_dir_env: None,
            issuer: None,
            endpoints: Endpoints::default(),
            client_id: None,
            scopes: Vec::new(),
            extra_params: Vec::new(),
            store: None,
            loopback: LoopbackOptions::default(),
            cli_auth_page: None,
            api_base: None,
            verify: None,
            fallback: Fallback::Auto,
            browser: Browser::System,
            ui: None,
            http: HttpOptions::default(),
            refresh: RefreshPolicy::default(),
        }
    }

    /// The app's names, for rendering errors ([`Error::render`]).
    pub fn app(&self) -> &AppContext {
        &self.inner.app
    }

    /// The key formats.
    pub fn key_formats(&self) -> &KeyRegistry {
        &self.inner.keys
    }

    /// The credential store.
    pub fn store(&self) -> &Arc<dyn CredentialStore> {
        &self.inner.store
    }

    /// The HTTP client (shared connection pool).
    pub fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// The UI.
    pub fn ui(&self) -> &Arc<dyn Ui> {
        &self.ui
    }

    /// A view that talks to the user through `ui`.
    pub fn with_ui(&self, ui: Arc<dyn Ui>) -> Authenticator {
        Authenticator { ui, ..self.clone() }
    }

    /// The profile this view is narrowed to, if any.
    pub fn profile_name(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// A view that uses (and logs in to) the profile `name`, as `--profile` does.
    pub fn with_profile(&self, name: impl Into<String>) -> Result<Authenticator, Error> {
        let name = name.into();
        validate_profile_name(&name)?;
        Ok(Authenticator {
            profile: Some(name),
            ..self.clone()
        })
    }

    /// A view where `key` (from a `--api-key` flag) takes precedence over the
    /// environment and stored profiles.
    pub fn with_api_key(&self, key: impl Into<String>) -> Authenticator {
        Authenticator {
            flag_key: Some(Arc::new(ApiKey::new(key.into()))),
            ..self.clone()
        }
    }

    /// The authorization server's endpoints: the configured ones, completed by
    /// discovery when an issuer is configured without a token endpoint. Discovery
    /// runs once per authenticator.
    pub async fn endpoints(&self) -> Result<Endpoints, Error> {
        let inner = &self.inner;
        inner
            .endpoints
            .get_or_try_init(|| async {
                let mut endpoints = inner.explicit.clone();
                endpoints.issuer.clone_from(&inner.issuer);
                if let (Some(issuer), None) = (&inner.issuer, &inner.explicit.token) {
                    let discovered = self.discover(issuer).await?;
                    // The metadata's own identifier (checked identical by core).
                    endpoints.issuer = Some(discovered.issuer.clone());
                    let keep = |explicit: &mut Option<String>, found: Option<String>| {
                        if explicit.is_none() {
                            *explicit = found;
                        }
                    };
                    keep(
                        &mut endpoints.authorization,
                        discovered.authorization_endpoint,
                    );
                    keep(&mut endpoints.token, discovered.token_endpoint);
                    keep(
                        &mut endpoints.device_authorization,
                        discovered.device_authorization_endpoint,
                    );
                    keep(&mut endpoints.revocation, discovered.revocation_endpoint);
                    keep(&mut endpoints.userinfo, discovered.userinfo_endpoint);
                    if endpoints.pkce_methods.is_none() {
                        endpoints.pkce_methods = discovered.code_challenge_methods_supported;
                    }
                    endpoints.iss_parameter_supported |=
                        discovered.authorization_response_iss_parameter_supported;
                }
                Ok(endpoints)
            })
            .await
            .cloned()
    }

    async fn discover(
        &self,
        issuer: &str,
    ) -> Result<cliauth_core::discovery::ServerMetadata, Error> {
        let mut last = Error::NotFound {
            what: Some("the discovery document".into()),
        };
        for url in discovery_urls(issuer)? {
            let response = self.inner.http.run(HttpRequest::get(url)).await?;
            match parse_metadata(&response, issuer, sys::now()) {
                Ok(metadata) => return Ok(metadata),
                Err(e @ Error::NotFound { .. }) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    async fn oauth_endpoint(
        &self,
        pick: fn(&Endpoints) -> Option<&String>,
        what: &str,
    ) -> Result<String, Error> {
        if self.inner.issuer.is_none() && self.inner.explicit.token.is_none() {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "{} has no OAuth server configured for {what}",
                    self.inner.app.cli
                ),
            });
        }
        let endpoints = self.endpoints().await?;
        pick(&endpoints)
            .cloned()
            .ok_or_else(|| Error::InvalidConfig {
                reason: format!("the authorization server offers no endpoint for {what}"),
            })
    }

    // ── logins ───────────────────────────────────────────────────────────

    /// Logs in the way that fits this machine: a browser login (the cli-auth page
    /// when one is configured, else authorization code + PKCE) unless
    /// [`cliauth_core::launch::decide_launch`] says a browser cannot be opened here
    /// (SSH, no display, container, WSL); then the configured [`Fallback`], with the
    /// reason shown.
    pub async fn login(&self) -> Result<LoginOutcome, Error> {
        let mut facts = launch_environment_from(&self.inner.env);
        facts.browser_override |= self.inner.browser.is_custom();
        match decide_launch(&facts) {
            LaunchDecision::OpenBrowser => {
                if self.inner.cli_auth_page.is_some() {
                    self.login_handoff().await
                } else if self.has_oauth() {
                    self.login_browser().await
                } else {
                    self.login_paste().await
                }
            }
            LaunchDecision::Fallback(reason) => self.login_fallback(reason).await,
        }
    }

    fn has_oauth(&self) -> bool {
        self.inner.issuer.is_some() || self.inner.explicit.token.is_some()
    }

    async fn login_fallback(&self, reason: NoBrowserReason) -> Result<LoginOutcome, Error> {
        let device = match self.inner.fallback {
            Fallback::Device => true,
            Fallback::Paste => false,
            Fallback::Auto => {
                self.has_oauth()
                    && self
                        .endpoints()
                        .await
                        .is_ok_and(|e| e.device_authorization.is_some())
            }
        };
        let method = if device {
            "the device code"
        } else {
            "a pasted key"
        };
        self.ui.notice(&Notice::Fallback { reason, method });
        if device {
            self.login_device().await
        } else {
            self.login_paste().await
        }
    }

    /// Stores an API key after core validation ([`KeyRegistry::validate`]) and, when a
    /// verification endpoint is configured, a round trip with it: a 401 or 403 fails
    /// the login and leaves the previously stored credential in place; a network or
    /// server error stores the key and reports it as unverified.
    pub async fn login_api_key(&self, key: &str) -> Result<LoginOutcome, Error> {
        self.store_key(key, LoginMethod::ApiKey).await
    }

    async fn store_key(&self, key: &str, method: LoginMethod) -> Result<LoginOutcome, Error> {
        let valid = self.inner.keys.validate(key)?;
        let masked = valid.masked().to_string();
        let key = valid.into_key();
        let (verification, subject) = self.verify_key(&key).await?;
        let verified_at = matches!(verification, Verification::Verified).then(sys::now);
        let (profile, active) = self
            .save_login(
                Credential::ApiKey(key),
                method,
                subject.clone(),
                verified_at,
            )
            .await?;
        Ok(LoginOutcome {
            profile,
            active,
            method,
            credential_type: "api_key",
            subject,
            masked_key: Some(masked),
            expires_at: None,
            scopes: Vec::new(),
            verification,
        })
    }

    /// Who an opaque access token belongs to, for `status`: the verification endpoint
    /// or, failing that, OpenID userinfo. Best effort: the login has succeeded either way.
    async fn ask_subject(&self, access_token: &str) -> Option<String> {
        let url = match &self.inner.verify {
            Some(url) => url.clone(),
            None => self.endpoints().await.ok()?.userinfo?,
        };
        let request = HttpRequest::get(url).with_bearer(access_token);
        let response = self
            .inner
            .http
            .run_with(request, cliauth_core::retry::RetryPolicy::never())
            .await
            .ok()?;
        if response.is_success() {
            subject_from_json(&response)
        } else {
            None
        }
    }

    async fn verify_key(&self, key: &ApiKey) -> Result<(Verification, Option<String>), Error> {
        let Some(url) = &self.inner.verify else {
            return Ok((Verification::NotChecked, None));
        };
        let request = HttpRequest::get(url.clone()).with_bearer(key.expose_secret());
        // One overall deadline for the whole verification, retries included: a
        // server dripping its answer byte by byte cannot hold the login for
        // attempts × timeout.
        let http = &self.inner.http;
        match http.run_within(request, http.timeout()).await {
            Ok(response) if response.is_success() => {
                Ok((Verification::Verified, subject_from_json(&response)))
            }
            Ok(response) => match api_error(&response, sys::now()) {
                Some(e @ (Error::Unauthorized { .. } | Error::InsufficientPermissions { .. })) => {
                    Err(e)
                }
                Some(e) => Ok((
                    Verification::Unverified {
                        reason: e.to_string(),
                    },
                    None,
                )),
                None => Ok((Verification::NotChecked, None)),
            },
            Err(e) => Ok((
                Verification::Unverified {
                    reason: e.to_string(),
                },
                None,
            )),
        }
    }

    /// Reads a key typed or pasted at a prompt — hidden on a terminal, a line from
    /// stdin otherwise — and stores it like [`login_api_key`](Self::login_api_key).
    pub async fn login_paste(&self) -> Result<LoginOutcome, Error> {
        let product = self.inner.app.product.clone();
        let hint = match &self.inner.app.keys_url {
            Some(url) => format!("Create a {product} API key at {url}, then paste it below."),
            None => format!("Paste your {product} API key below."),
        };
        self.ui.notice(&Notice::Info(&hint));
        let ui = Arc::clone(&self.ui);
        let prompt = format!("{product} API key: ");
        let read = tokio::task::spawn_blocking(move || ui.read_secret(&prompt));
        let line = self
            .interruptible(async { read.await.map_err(|_| Error::Cancelled)? })
            .await?;
        let text = line.as_ref().map_or("", SecretString::expose_secret);
        self.store_key(text, LoginMethod::Paste).await
    }

    /// Authorization code + PKCE through the loopback server: opens the browser at
    /// the authorization endpoint (always printing the URL), waits for the callback
    /// (default 5 minutes), checks it with
    /// [`PendingAuthorization::complete`], exchanges the code and stores the tokens.
    pub async fn login_browser(&self) -> Result<LoginOutcome, Error> {
        let endpoints = self.endpoints_for("browser login").await?;
        let authorization =
            endpoints
                .authorization
                .clone()
                .ok_or_else(|| Error::InvalidConfig {
                    reason: "the authorization server offers no authorization endpoint".into(),
                })?;
        let token_endpoint = endpoints.token.clone().ok_or_else(no_token_endpoint)?;
        let server = LoopbackServer::bind(self.inner.loopback.clone())?;
        let mut config = AuthorizationConfig::new(authorization, self.inner.client_id.clone())
            .scopes(self.inner.scopes.iter().cloned());
        config.pkce_method = PkceMethod::negotiate(endpoints.pkce_methods.as_deref(), false)?;
        config.extra_params = self.inner.extra_params.clone();
        config.timeout = self.inner.loopback.timeout;
        if let Some(issuer) = &endpoints.issuer {
            config = config.issuer(issuer.clone(), endpoints.iss_parameter_supported);
        }
        // Verifier, state and nonce each from their own OS entropy.
        let entropy = sys::entropy::<LOGIN_ENTROPY_LEN>()?;
        let mut pending =
            PendingAuthorization::start(&config, server.port(), &entropy, sys::now())?;
        let handler = LoopbackHandler::new(
            LoopbackConfig::new(server.port(), self.inner.app.product.clone()),
            pending.state(),
        );
        let timeout = self.inner.loopback.timeout;
        let params = self
            .open_and_wait(pending.url(), true, server.wait(handler, timeout))
            .await?;
        let grant = pending.complete(sys::now(), &params)?;
        let response = self
            .exchange_code(
                &token_endpoint,
                &grant.code,
                &grant.verifier,
                &grant.redirect_uri,
            )
            .await?;
        // OpenID Connect Core §3.1.3.7: the ID token must carry the nonce sent.
        grant.check_tokens(&response)?;
        let tokens = TokenSet::from_response(response, sys::now());
        self.finish_oauth_login(Credential::OAuth(tokens), LoginMethod::Browser)
            .await
    }

    /// The browser login the app offers: [`login_handoff`](Self::login_handoff) when a
    /// cli-auth page is configured, else [`login_browser`](Self::login_browser).
    pub async fn login_browser_or_handoff(&self) -> Result<LoginOutcome, Error> {
        if self.inner.cli_auth_page.is_some() {
            self.login_handoff().await
        } else {
            self.login_browser().await
        }
    }

    /// The cli-auth handoff: opens the vendor's page
    /// ([`handoff_page_url`] with `port`, `state` and a PKCE `code_challenge`) and
    /// accepts whichever comes first — the page delivering an API key (`api_key=`) or
    /// a one-time code (`code=`, exchanged at the token endpoint with the PKCE
    /// verifier) to the loopback server, or a key pasted into the terminal.
    pub async fn login_handoff(&self) -> Result<LoginOutcome, Error> {
        let page = self
            .inner
            .cli_auth_page
            .clone()
            .ok_or_else(|| Error::InvalidConfig {
                reason: "no cli-auth page is configured".into(),
            })?;
        let token_endpoint = if self.has_oauth() {
            self.endpoints().await?.token
        } else {
            None
        };
        let server = LoopbackServer::bind(self.inner.loopback.clone())?;
        let port = server.port();
        let redirect_uri = server.redirect_uri();
        let entropy = sys::entropy::<64>()?;
        let mut state_bytes = [0u8; 32];
        let mut verifier_bytes = [0u8; 32];
        state_bytes.copy_from_slice(&entropy[..32]);
        verifier_bytes.copy_from_slice(&entropy[32..]);
        let state = StateToken::from_entropy(&state_bytes);
        let verifier = PkceVerifier::from_entropy(&verifier_bytes);
        let challenge = verifier.challenge(PkceMethod::S256);
        let mut config = LoopbackConfig::new(port, self.inner.app.product.clone());
        config.accept = Accept {
            code: token_endpoint.is_some(),
            api_key: true,
        };
        if let Some(origin) = origin_of(&page) {
            config.allowed_origins.push(origin);
        }
        let handler = LoopbackHandler::new(config, &state);
        let url = handoff_page_url(&page, port, &state, Some(&challenge), None);
        let timeout = self.inner.loopback.timeout;
        // No spinner: the terminal also shows a paste prompt.
        let wait = self.open_and_wait(&url, false, server.wait(handler, timeout));
        let paste = self.paste_loop();
        let delivered = tokio::select! {
            biased;
            r = wait => r.map(Delivered::Callback),
            k = paste => k.map(Delivered::Pasted),
        };
        // On every path (delivered, pasted, timed out, Ctrl-C): give the terminal back.
        self.ui.cancel_input();
        match delivered? {
            Delivered::Pasted(key) => {
                self.store_key(key.expose_secret(), LoginMethod::Paste)
                    .await
            }
            Delivered::Callback(params) => {
                if let Some(error) = params.error {
                    return Err(OAuthError {
                        error,
                        description: params.error_description,
                        uri: None,
                    }
                    .into_error());
                }
                if let Some(key) = params.api_key {
                    return self
                        .store_key(key.expose_secret(), LoginMethod::Handoff)
                        .await;
                }
                let (Some(code), Some(token_endpoint)) = (params.code, token_endpoint) else {
                    return Err(Error::Protocol {
                        reason: "the cli-auth page delivered no credential".into(),
                        body: Default::default(),
                    });
                };
                let response = self
                    .exchange_code(&token_endpoint, &code, &verifier, &redirect_uri)
                    .await?;
                let credential = handoff_credential(response, &self.inner.keys, sys::now());
                match credential {
                    Credential::ApiKey(key) => {
                        self.store_key(key.expose_secret(), LoginMethod::Handoff)
                            .await
                    }
                    oauth => self.finish_oauth_login(oauth, LoginMethod::Handoff).await,
                }
            }
        }
    }

    /// Reads pasted lines until one is a valid key; invalid ones are explained and
    /// the reading goes on. Never completes at the end of input (the browser may
    /// still deliver).
    async fn paste_loop(&self) -> Result<ApiKey, Error> {
        self.ui.notice(&Notice::PasteHint {
            product: &self.inner.app.product,
        });
        loop {
            // A detached thread, not `spawn_blocking`: when the browser delivers first,
            // this read stays blocked on the terminal, and a blocking task would keep
            // the runtime — and the process — alive until the user pressed Enter.
            let ui = Arc::clone(&self.ui);
            let (tx, rx) = tokio::sync::oneshot::channel();
            std::thread::Builder::new()
                .name("cliauth-paste".into())
                .spawn(move || {
                    let _ = tx.send(ui.read_secret(""));
                })
                .map_err(|e| Error::Storage {
                    reason: format!("cannot read from the terminal: {}", e.kind()),
                })?;
            let line = rx.await.map_err(|_| Error::Cancelled)?;
            match line {
                Ok(Some(text)) if text.is_empty() => continue,
                Ok(Some(text)) => match self.inner.keys.validate(text.expose_secret()) {
                    Ok(valid) => return Ok(valid.into_key()),
                    Err(problem) => {
                        let message = problem.to_string();
                        self.ui.notice(&Notice::Warning(&message));
                    }
                },
                Ok(None) => std::future::pending::<()>().await,
                Err(Error::Cancelled) => return Err(Error::Cancelled),
                Err(e) => {
                    debug!(error = e.code(), "paste input unavailable");
                    std::future::pending::<()>().await;
                }
            }
        }
    }

    /// The device authorization grant (RFC 8628) through core's [`DeviceFlow`]:
    /// prints the verification URL, the user code and the complete URI, then polls as
    /// core decides until the user approves, denies or the code expires.
    pub async fn login_device(&self) -> Result<LoginOutcome, Error> {
        let endpoints = self.endpoints_for("device login").await?;
        let device_endpoint =
            endpoints
                .device_authorization
                .clone()
                .ok_or_else(|| Error::InvalidConfig {
                    reason: "the authorization server does not offer device login".into(),
                })?;
        let token_endpoint = endpoints.token.clone().ok_or_else(no_token_endpoint)?;
        let request = device_authorization_request(
            &device_endpoint,
            &self.inner.client_id,
            &self.inner.scopes,
        );
        let response = self.inner.http.run(request).await?;
        let authorization = parse_device_authorization(&response, sys::now())?;
        let mut flow = DeviceFlow::new(
            authorization,
            token_endpoint,
            self.inner.client_id.clone(),
            sys::now(),
            sys::seed(),
        );
        self.ui.notice(&Notice::DeviceCode {
            user_code: flow.user_code(),
            verification_uri: flow.verification_uri(),
            verification_uri_complete: flow.verification_uri_complete(),
        });
        self.ui.start_waiting("Waiting for approval…");
        let result = self.interruptible(self.drive_device(&mut flow)).await;
        self.ui.stop_waiting();
        let tokens = result?;
        self.finish_oauth_login(Credential::OAuth(tokens), LoginMethod::Device)
            .await
    }

    async fn drive_device(&self, flow: &mut DeviceFlow) -> Result<TokenSet, Error> {
        loop {
            match flow.poll(sys::now()) {
                DevicePoll::Send(request) => match self.inner.http.execute(&request).await {
                    Ok(response) => flow.handle_response(sys::now(), response),
                    Err(SendFailure::Transport(e)) => flow.handle_transport_error(sys::now(), e),
                    Err(SendFailure::Fatal(e)) => return Err(e),
                },
                DevicePoll::WaitUntil(t) => sys::sleep_until(t).await,
                DevicePoll::Authorized(tokens) => return Ok(tokens),
                DevicePoll::Failed(e) => return Err(e),
                DevicePoll::Finished => {
                    return Err(Error::Misuse("the device flow already finished"));
                }
            }
        }
    }

    async fn endpoints_for(&self, what: &str) -> Result<Endpoints, Error> {
        if !self.has_oauth() {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "{} has no OAuth server configured for {what}",
                    self.inner.app.cli
                ),
            });
        }
        self.endpoints().await
    }

    async fn exchange_code(
        &self,
        token_endpoint: &str,
        code: &AuthorizationCode,
        verifier: &PkceVerifier,
        redirect_uri: &str,
    ) -> Result<TokenResponse, Error> {
        let request = token_request(
            token_endpoint,
            &self.inner.client_id,
            TokenGrant::AuthorizationCode {
                code,
                verifier,
                redirect_uri,
            },
        );
        let response = self.inner.http.run(request).await?;
        match parse_token_response(&response, sys::now())? {
            TokenEndpointResponse::Tokens(t) => Ok(t),
            TokenEndpointResponse::Error(e) => Err(e.into_error()),
        }
    }

    async fn finish_oauth_login(
        &self,
        credential: Credential,
        method: LoginMethod,
    ) -> Result<LoginOutcome, Error> {
        let (mut subject, expires_at, scopes) = match &credential {
            Credential::OAuth(t) => (
                token_subject(t),
                t.expires_at.map(Timestamp::to_rfc3339),
                t.scopes().iter().map(|s| s.to_string()).collect(),
            ),
            Credential::ApiKey(_) => (None, None, Vec::new()),
        };
        if subject.is_none()
            && let Credential::OAuth(t) = &credential
        {
            subject = self.ask_subject(t.access_token.expose_secret()).await;
        }
        let (profile, active) = self
            .save_login(credential, method, subject.clone(), Some(sys::now()))
            .await?;
        Ok(LoginOutcome {
            profile,
            active,
            method,
            credential_type: "oauth",
            subject,
            masked_key: None,
            expires_at,
            scopes,
            verification: Verification::NotChecked,
        })
    }

    /// Prints `url` and starts opening it now; the returned future waits for `wait`
    /// while the browser starts (so the URL is always shown before anything else the
    /// caller prints).
    fn open_and_wait<'a, T: 'a>(
        &'a self,
        url: &str,
        spinner: bool,
        wait: impl Future<Output = Result<T, Error>> + 'a,
    ) -> impl Future<Output = Result<T, Error>> + 'a {
        let ui = Arc::clone(&self.ui);
        ui.notice(&Notice::OpeningBrowser {
            product: &self.inner.app.product,
            url,
        });
        let browser = self.inner.browser.clone();
        let target = url.to_string();
        let notifier = tokio::spawn({
            let ui = Arc::clone(&ui);
            async move {
                let opened = tokio::task::spawn_blocking({
                    let target = target.clone();
                    move || browser.open(&target)
                })
                .await;
                let reason = match opened {
                    Ok(Ok(())) => return,
                    Ok(Err(reason)) => reason,
                    Err(_) => "the browser launcher failed".to_string(),
                };
                ui.notice(&Notice::BrowserFailed {
                    url: &target,
                    reason: &reason,
                });
            }
        });
        async move {
            if spinner {
                ui.start_waiting("Waiting for the browser…");
            }
            let result = wait.await;
            if spinner {
                ui.stop_waiting();
            }
            notifier.abort();
            result
        }
    }

    /// Runs `fut`, ending with [`Error::Cancelled`] on Ctrl-C when enabled.
    async fn interruptible<T>(
        &self,
        fut: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        if !self.inner.loopback.cancel_on_ctrl_c {
            return fut.await;
        }
        tokio::select! {
            r = fut => r,
            c = tokio::signal::ctrl_c() => match c {
                Ok(()) => Err(Error::Cancelled),
                Err(_) => std::future::pending().await,
            },
        }
    }

    // ── storage ──────────────────────────────────────────────────────────

    async fn lock_store(&self) -> Result<StoreLock, Error> {
        let store = Arc::clone(&self.inner.store);
        tokio::task::spawn_blocking(move || store.lock())
            .await
            .map_err(|_| Error::Storage {
                reason: "waiting for the credentials lock failed".into(),
            })?
    }

    fn warn_store_once(&self) {
        if !self.inner.warned.swap(true, Ordering::Relaxed) {
            for w in self.inner.store.warnings() {
                self.ui.notice(&Notice::Warning(&w));
            }
        }
    }

    fn read_document(&self) -> Result<Option<CredentialsDocument>, Error> {
        self.warn_store_once();
        self.inner.store.read()
    }

    /// Stores a new credential in this view's profile (or the active one, or
    /// `default`), under the store lock. Returns the profile name and whether it is
    /// active.
    async fn save_login(
        &self,
        credential: Credential,
        method: LoginMethod,
        subject: Option<String>,
        verified_at: Option<Timestamp>,
    ) -> Result<(String, bool), Error> {
        // The issuer as the server's metadata names it ([`Endpoints::issuer`]),
        // resolved before the store is locked.
        let issuer = match &credential {
            Credential::OAuth(_) => self
                .endpoints()
                .await
                .map_or_else(|_| self.inner.issuer.clone(), |e| e.issuer),
            Credential::ApiKey(_) => None,
        };
        self.warn_store_once();
        let store = Arc::clone(&self.inner.store);
        let lock = self.lock_store().await?;
        let mut doc = match store.read_locked(&lock) {
            Ok(doc) => doc.unwrap_or_default(),
            Err(Error::CorruptCredentials {
                moved_to: Some(path),
                ..
            }) => {
                let text = format!(
                    "The credentials file was damaged; it was kept at {path} and a new one is started."
                );
                self.ui.notice(&Notice::Warning(&text));
                CredentialsDocument::new()
            }
            Err(e) => return Err(e),
        };
        let name = self
            .profile
            .clone()
            .or_else(|| doc.active_profile.clone())
            .unwrap_or_else(|| DEFAULT_PROFILE.to_string());
        let oauth = matches!(credential, Credential::OAuth(_));
        let mut profile = Profile::new(credential, method, sys::now());
        if oauth {
            profile.issuer = issuer;
        }
        profile.api_base = self.inner.api_base.clone();
        profile.subject = subject;
        profile.verified_at = verified_at;
        if let Some(old) = doc.profile(&name) {
            profile.extra = old.extra.clone();
        }
        doc.set_profile(&name, profile)?;
        store.write(&lock, &doc)?;
        let active = doc.active_profile.as_deref() == Some(name.as_str());
        Ok((name, active))
    }

    // ── using the credential ─────────────────────────────────────────────

    fn resolve_bearer_input(&self) -> (Option<String>, Option<(String, String)>) {
        let env_var = self.inner.app.api_key_env.clone();
        let env = self.inner.env.get(&env_var).map(|v| (env_var, v));
        let flag = self
            .flag_key
            .as_ref()
            .map(|k| k.expose_secret().to_string());
        (flag, env)
    }

    async fn bearer(&self) -> Result<Bearer, Error> {
        let doc = self.read_document()?;
        let (flag, env) = self.resolve_bearer_input();
        let resolved = resolve(ResolveInput {
            flag: flag.as_deref(),
            env: env.as_ref().map(|(k, v)| (k.as_str(), v.as_str())),
            profile: self.profile.as_deref(),
            document: doc.as_ref(),
        })?;
        let name = match resolved {
            None => return Err(Error::NotAuthenticated),
            Some(Resolved::Key { key, .. }) => {
                let valid = self.inner.keys.validate(key.expose_secret())?;
                return Ok(Bearer::Key(valid.into_key()));
            }
            Some(Resolved::Profile { name, profile }) => {
                self.check_server(name, profile)?;
                match &profile.credential {
                    Credential::ApiKey(k) => return Ok(Bearer::Key(k.clone_secret())),
                    Credential::OAuth(t) => {
                        if matches!(
                            t.status(sys::now(), &self.inner.refresh),
                            cliauth_core::token::TokenStatus::Valid { .. }
                        ) {
                            return Ok(Bearer::OAuth {
                                profile: name.to_string(),
                                token: t.access_token.clone_secret(),
                            });
                        }
                    }
                }
                name.to_string()
            }
        };
        let token = self.refresh(&name, false).await?;
        Ok(Bearer::OAuth {
            profile: name,
            token,
        })
    }

    fn check_server(&self, name: &str, profile: &Profile) -> Result<(), Error> {
        profile.check_server(
            name,
            self.inner.issuer.as_deref(),
            self.inner.api_base.as_deref(),
        )
    }

    /// A valid access token (or API key) for the current credential: flag, then
    /// environment variable, then the named or active profile. OAuth tokens are
    /// refreshed when due, with core's [`Refresh`] protocol: one refresh in flight
    /// per process, and across processes the store is locked and re-read so that only
    /// one process refreshes; a rotated refresh token is stored before the new access
    /// token is returned; `invalid_grant` re-reads the store before the session is
    /// declared gone.
    pub async fn access_token(&self) -> Result<AccessToken, Error> {
        Ok(match self.bearer().await? {
            Bearer::Key(k) => AccessToken::new(k.expose_secret()),
            Bearer::OAuth { token, .. } => token,
        })
    }

    /// Refreshes the current OAuth profile now, even if its access token is still
    /// valid (after the API refused it, or to pick up new scopes), with the same
    /// cross-process protocol as [`access_token`](Self::access_token): the rotated
    /// refresh token is stored before this returns. Credentials from a flag, the
    /// environment or an API-key profile cannot be refreshed
    /// ([`Error::InvalidArgument`]).
    pub async fn refresh_now(&self) -> Result<RefreshOutcome, Error> {
        let doc = self.read_document()?;
        let resolved = resolve(ResolveInput {
            flag: None,
            env: None,
            profile: self.profile.as_deref(),
            document: doc.as_ref(),
        })?;
        let (name, before) = match resolved {
            Some(Resolved::Profile { name, profile }) => match &profile.credential {
                Credential::OAuth(t) => (
                    name.to_string(),
                    t.refresh_token.as_ref().map(|r| r.clone_secret()),
                ),
                Credential::ApiKey(_) => {
                    return Err(Error::InvalidArgument {
                        name: "refresh".into(),
                        reason: format!("profile `{name}` holds an API key, which does not expire"),
                    });
                }
            },
            _ => return Err(Error::NotAuthenticated),
        };
        self.refresh(&name, true).await?;
        let after = self.read_document()?;
        let tokens =
            after
                .as_ref()
                .and_then(|d| d.profile(&name))
                .and_then(|p| match &p.credential {
                    Credential::OAuth(t) => Some(t),
                    Credential::ApiKey(_) => None,
                });
        Ok(RefreshOutcome {
            rotated: tokens.is_some_and(|t| t.refresh_token != before),
            expires_at: tokens.and_then(|t| t.expires_at).map(Timestamp::to_rfc3339),
            profile: name,
        })
    }

    async fn refresh(&self, name: &str, forced: bool) -> Result<AccessToken, Error> {
        let _gate = self.inner.refresh_gate.lock().await;
        let token_endpoint = self.oauth_endpoint(|e| e.token.as_ref(), "refresh").await?;
        let config = RefreshConfig {
            token_endpoint,
            client_id: self.inner.client_id.clone(),
            policy: self.inner.refresh,
            retry: self.inner.http.retry_policy(),
        };
        let mut machine = if forced {
            Refresh::forced(config, sys::seed())
        } else {
            Refresh::new(config, sys::seed())
        };
        let store = Arc::clone(&self.inner.store);
        let mut lock: Option<StoreLock> = None;
        let mut doc: Option<CredentialsDocument> = None;
        loop {
            let step = machine.poll(sys::now());
            match step {
                RefreshStep::ReadStorage => {
                    if lock.is_none() {
                        lock = Some(self.lock_store().await?);
                    }
                    let Some(held) = lock.as_ref() else {
                        return Err(Error::Misuse("the store lock vanished"));
                    };
                    doc = store.read_locked(held)?;
                    let stored = match doc.as_ref().and_then(|d| d.profile(name)) {
                        Some(p) => {
                            self.check_server(name, p)?;
                            match &p.credential {
                                Credential::OAuth(t) => Some(t.clone_secret()),
                                Credential::ApiKey(_) => None,
                            }
                        }
                        None => None,
                    };
                    machine.handle_stored(sys::now(), stored);
                }
                RefreshStep::Send(request) => {
                    let sent = self.inner.http.execute(request).await;
                    match sent {
                        Ok(response) => machine.handle_response(sys::now(), response),
                        Err(SendFailure::Transport(e)) => {
                            machine.handle_transport_error(sys::now(), e);
                        }
                        Err(SendFailure::Fatal(e)) => return Err(e),
                    }
                }
                RefreshStep::WaitUntil(t) => sys::sleep_until(t).await,
                RefreshStep::Persist(tokens) => {
                    let written = match (lock.as_ref(), doc.as_mut()) {
                        (Some(held), Some(d)) => match d.profile_mut(name) {
                            Some(p) => {
                                p.credential = Credential::OAuth(tokens.clone_secret());
                                p.verified_at = Some(sys::now());
                                store.write(held, d)
                            }
                            None => Err(Error::NotAuthenticated),
                        },
                        _ => Err(Error::Misuse("persist without a locked document")),
                    };
                    match written {
                        Ok(()) => machine.handle_persisted(),
                        Err(e) => machine.handle_persist_failed(e),
                    }
                }
                RefreshStep::Ready { tokens, refreshed } => {
                    debug!(refreshed, "access token ready");
                    return Ok(tokens.access_token);
                }
                RefreshStep::Failed(e) => return Err(e),
                RefreshStep::Finished => {
                    return Err(Error::Misuse("the refresh already finished"));
                }
            }
        }
    }

    /// `path` joined to the API base (absolute URLs are returned as they are).
    pub fn api_url(&self, path: &str) -> Result<String, Error> {
        if path.starts_with("https://") || path.starts_with("http://") {
            return Ok(path.to_string());
        }
        match &self.inner.api_base {
            Some(base) => Ok(join_url(base, path)),
            None => Err(Error::InvalidConfig {
                reason: "no API base is configured".into(),
            }),
        }
    }

    /// Sends an API request with the current credential as a bearer token, through
    /// core's retry decisions. Non-2xx answers become errors with
    /// [`cliauth_core::http::api_error`] (401, 403 with scope, 404, 429 with
    /// `Retry-After`, 5xx). When an OAuth access token is refused with 401, one
    /// forced refresh is made and the request is retried once.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, Error> {
        let bearer = self.bearer().await?;
        let response = self
            .run_api(copy_request(&request).with_bearer(bearer.expose()))
            .await?;
        let response = match (&bearer, response.status) {
            (Bearer::OAuth { profile, .. }, 401) => {
                debug!("access token refused; refreshing once");
                let token = self.refresh(profile, true).await?;
                self.run_api(copy_request(&request).with_bearer(token.expose_secret()))
                    .await?
            }
            _ => response,
        };
        match api_error(&response, sys::now()) {
            Some(e) => Err(e),
            None => Ok(response),
        }
    }

    /// Runs an API request with the client's retries, telling the user about each
    /// retry ([`Notice::Retrying`]).
    async fn run_api(&self, request: HttpRequest) -> Result<HttpResponse, Error> {
        let policy = self.inner.http.retry_policy();
        let mut exchange = cliauth_core::exchange::Exchange::new(request, policy, sys::seed());
        let ui = Arc::clone(&self.ui);
        self.inner
            .http
            .drive_notifying(&mut exchange, |reason, wait, attempt| {
                ui.notice(&Notice::Retrying {
                    reason,
                    wait,
                    attempt,
                    max_attempts: policy.max_attempts,
                });
            })
            .await
    }

    /// `GET {api_base}/{path}` through [`send`](Self::send), parsed as JSON.
    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value, Error> {
        let response = self.send(HttpRequest::get(self.api_url(path)?)).await?;
        serde_json::from_slice(&response.body).map_err(|_| Error::Protocol {
            reason: "the API answered with something other than JSON".into(),
            body: cliauth_core::secret::RedactedBytes(response.body),
        })
    }

    // ── status, logout, profiles ─────────────────────────────────────────

    /// Who is logged in and how: the credential's source (flag, environment, profile),
    /// method, expiry, scopes and masked key, as core's [`StatusReport`]
    /// (serialisable for `--json`). A profile of another server is reported as
    /// [`Error::ProfileServerMismatch`].
    pub async fn status(&self) -> Result<StatusReport, Error> {
        let doc = self.read_document()?;
        let (flag, env) = self.resolve_bearer_input();
        let resolved = resolve(ResolveInput {
            flag: flag.as_deref(),
            env: env.as_ref().map(|(k, v)| (k.as_str(), v.as_str())),
            profile: self.profile.as_deref(),
            document: doc.as_ref(),
        })?;
        if let Some(Resolved::Profile { name, profile }) = &resolved {
            self.check_server(name, profile)?;
        }
        Ok(StatusReport::new(
            resolved.as_ref(),
            doc.as_ref(),
            &self.inner.keys,
            sys::now(),
            &self.inner.refresh,
        ))
    }

    /// Logs out of this view's profile (or the active one): revokes the token at the
    /// server when it offers revocation (RFC 7009), then deletes the profile locally —
    /// also when revocation fails, which the outcome reports.
    pub async fn logout(&self) -> Result<LogoutOutcome, Error> {
        let store = Arc::clone(&self.inner.store);
        let lock = self.lock_store().await?;
        let mut doc = store.read_locked(&lock)?.unwrap_or_default();
        let env_var = self.inner.app.api_key_env.clone();
        let env_still_set = self.inner.env.get(&env_var).map(|_| env_var.clone());
        let name = match (&self.profile, &doc.active_profile) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => p.clone(),
            (None, None) => {
                return Err(match env_still_set {
                    Some(var) => Error::InvalidArgument {
                        name: "logout".into(),
                        reason: format!(
                            "the credential comes from the environment variable {var}; unset it to log out"
                        ),
                    },
                    None => Error::NotAuthenticated,
                });
            }
        };
        let Some(profile) = doc.profile(&name) else {
            return Err(Error::ProfileNotFound { name });
        };
        let revocation = match (&profile.credential, self.check_server(&name, profile)) {
            (_, Err(e)) => Revocation::Skipped {
                reason: e.to_string(),
            },
            (Credential::ApiKey(_), Ok(())) => Revocation::NotSupported,
            (Credential::OAuth(tokens), Ok(())) => self.revoke(tokens).await,
        };
        doc.remove_profile(&name);
        store.write(&lock, &doc)?;
        drop(lock);
        Ok(LogoutOutcome {
            profile: name,
            revocation,
            env_still_set,
        })
    }

    async fn revoke(&self, tokens: &TokenSet) -> Revocation {
        if !self.has_oauth() {
            return Revocation::NotSupported;
        }
        let endpoint = match self.endpoints().await {
            Ok(Endpoints {
                revocation: Some(e),
                ..
            }) => e,
            Ok(_) => return Revocation::NotSupported,
            Err(e) => {
                return Revocation::Failed {
                    code: e.code().into(),
                    message: e.to_string(),
                };
            }
        };
        let request = revoke_token_set(&endpoint, &self.inner.client_id, tokens);
        let outcome = match self.inner.http.run(request).await {
            Ok(response) => parse_revocation_response(&response, sys::now()),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => Revocation::Revoked,
            Err(e) => Revocation::Failed {
                code: e.code().into(),
                message: e.to_string(),
            },
        }
    }

    /// The stored profiles.
    pub fn profiles(&self) -> Result<Vec<ProfileInfo>, Error> {
        let doc = self.read_document()?.unwrap_or_default();
        Ok(doc
            .profiles
            .iter()
            .map(|(name, p)| ProfileInfo {
                name: name.clone(),
                active: doc.active_profile.as_deref() == Some(name.as_str()),
                method: p.method,
                credential_type: match p.credential {
                    Credential::ApiKey(_) => "api_key",
                    Credential::OAuth(_) => "oauth",
                },
                subject: p.subject.clone(),
                issuer: p.issuer.clone(),
            })
            .collect())
    }

    /// Makes `name` the active profile.
    pub async fn switch_profile(&self, name: &str) -> Result<(), Error> {
        let store = Arc::clone(&self.inner.store);
        let lock = self.lock_store().await?;
        let mut doc = store.read_locked(&lock)?.unwrap_or_default();
        doc.switch(name)?;
        store.write(&lock, &doc)
    }
}

enum Delivered {
    Callback(CallbackParams),
    Pasted(ApiKey),
}

fn no_token_endpoint() -> Error {
    Error::InvalidConfig {
        reason: "the authorization server offers no token endpoint".into(),
    }
}

fn copy_request(r: &HttpRequest) -> HttpRequest {
    HttpRequest {
        method: r.method,
        url: r.url.clone(),
        headers: r.headers.clone(),
        body: r.body.clone(),
        idempotent: r.idempotent,
    }
}

fn join_url(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{}://{}", scheme.to_ascii_lowercase(), authority))
}

/// Who the tokens belong to: the ID token's `sub`, else the access token's (when it
/// is a JWT). Claims are decoded for display only, never trusted.
fn token_subject(t: &TokenSet) -> Option<String> {
    let sub = |token: &str| {
        cliauth_core::jwt::decode_unverified(token)
            .ok()
            .and_then(|j| j.claims.sub)
    };
    t.id_token
        .as_ref()
        .and_then(|id| sub(id.expose_secret()))
        .or_else(|| sub(t.access_token.expose_secret()))
}

/// A display name from a verification response (`email`, `login`, `username`,
/// `name`, `sub`, `id`, also under `user`).
fn subject_from_json(response: &HttpResponse) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(&response.body).ok()?;
    let fields = ["email", "login", "username", "name", "sub", "id"];
    [
        &value,
        value.get("user").unwrap_or(&serde_json::Value::Null),
    ]
    .iter()
    .flat_map(|v| fields.iter().map(move |f| v.get(f)))
    .flatten()
    .find_map(|v| match v {
        serde_json::Value::String(s) if !s.is_empty() => {
            Some(cliauth_core::error::sanitize_server_text(s))
        }
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_urls() {
        assert_eq!(
            origin_of("https://App.example:8443/cli-auth?x=1").as_deref(),
            Some("https://App.example:8443")
        );
        assert_eq!(origin_of("nonsense"), None);
        assert_eq!(join_url("http://h/api/", "/whoami"), "http://h/api/whoami");
        assert_eq!(cliauth_core::error::env_prefix("my-cli"), "MY_CLI");
    }

    #[test]
    fn subjects_from_verification_responses() {
        let r = |v: serde_json::Value| HttpResponse::json(200, &v);
        assert_eq!(
            subject_from_json(&r(serde_json::json!({"id": 7, "email": "a@b.c"}))).as_deref(),
            Some("a@b.c")
        );
        assert_eq!(
            subject_from_json(&r(serde_json::json!({"user": {"login": "octo"}}))).as_deref(),
            Some("octo")
        );
        assert_eq!(subject_from_json(&r(serde_json::json!([]))), None);
    }
}

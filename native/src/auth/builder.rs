//! Configuring an [`Authenticator`]: [`AuthenticatorBuilder`].

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cliauth_core::client::{ClientAuthMethod, ClientSecret, RequestKind};
use cliauth_core::discovery::{check_endpoint_url, discovery_urls};
use cliauth_core::keys::{Charset, KeyFormat, KeyRegistry};
use cliauth_core::provider::ProviderConfig;
use cliauth_core::token::RefreshPolicy;
use cliauth_core::{AppContext, Error};

use super::{Authenticator, Endpoints, Fallback, Inner, join_url};
use crate::browser::Browser;
use crate::clock::{Clock, SystemClock};
use crate::entropy::{Entropy, OsEntropy};
use crate::http::{HttpClient, HttpOptions, Transport};
use crate::loopback::LoopbackOptions;
use crate::store::{CredentialStore, EnvSource, FileStore};
use crate::ui::{TerminalUi, Ui};

/// Configures an [`Authenticator`]; see [`Authenticator::builder`].
#[must_use]
pub struct AuthenticatorBuilder {
    app: AppContext,
    keys: Option<KeyRegistry>,
    env: EnvSource,
    config_dir_env: Option<String>,
    pub(super) issuer: Option<String>,
    pub(super) endpoints: Endpoints,
    pub(super) client_id: Option<String>,
    pub(super) client_secret: Option<ClientSecret>,
    pub(super) client_auth: Option<ClientAuthMethod>,
    pub(super) scopes: Vec<String>,
    pub(super) params: Vec<(RequestKind, String, String)>,
    pub(super) provider: Option<ProviderConfig>,
    pub(super) token_env: Option<String>,
    store: Option<Arc<dyn CredentialStore>>,
    loopback: LoopbackOptions,
    cli_auth_page: Option<String>,
    raw_key_handoff: bool,
    api_base: Option<String>,
    verify: Option<String>,
    fallback: Fallback,
    browser: Browser,
    ui: Option<Arc<dyn Ui>>,
    http: HttpOptions,
    http_client: Option<reqwest::Client>,
    insecure_storage: bool,
    keyring: bool,
    refresh: RefreshPolicy,
    clock: Option<Arc<dyn Clock>>,
    transport: Option<Arc<dyn Transport>>,
    entropy: Option<Arc<dyn Entropy>>,
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
    /// override discovered ones; [`Endpoints::issuer`] is ignored (it is the
    /// configured or discovered issuer).
    pub fn endpoints(mut self, mut endpoints: Endpoints) -> Self {
        endpoints.issuer = None;
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

    /// Where `status` and logins ask who a token belongs to when the tokens do not
    /// say (OpenID userinfo; GitHub's `/user`).
    pub fn userinfo_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoints.userinfo = Some(url.into());
        self
    }

    /// Where credentials are stored (default: the OS keyring with the `keyring`
    /// feature, see [`keyring`](Self::keyring), over a [`FileStore`] in the
    /// platform's configuration directory, [`crate::store::paths`]).
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
    /// the CLI a one-time code bound to its PKCE challenge, exchanged at the token
    /// endpoint ([`Authenticator::login_handoff`]).
    pub fn cli_auth_page(mut self, url: impl Into<String>) -> Self {
        self.cli_auth_page = Some(url.into());
        self
    }

    /// Whether the cli-auth page may also hand over a raw API key (`api_key=`;
    /// default `false`). Less safe: nothing binds a key to this login, so another
    /// program that learns the login's `state` can deliver a key of its own account
    /// and have it stored. Needed only for pages that cannot mint one-time codes; the
    /// page is told with `accept=api_key`. See SECURITY.md, "Another local user".
    pub fn raw_key_handoff(mut self, allow: bool) -> Self {
        self.raw_key_handoff = allow;
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

    /// Sends every request with this `reqwest::Client` (its TLS roots, proxy,
    /// resolver, connection pool) instead of one cliauth builds. The total timeout
    /// and retries of [`http`](Self::http) still apply; its `User-Agent` and connect
    /// timeout are the client's. Build it from [`crate::http::client_builder`], and
    /// never with redirects on (see [`HttpClient::with_client`]).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Keeps the credentials of new logins in the credentials file (0600) even where
    /// the OS keyring is used — `gh auth login --insecure-storage`. Also turned on at
    /// run time by `<APP>_INSECURE_STORAGE=1` (`true`, `yes`), per login by
    /// [`Authenticator::with_insecure_storage`] (the `--insecure-storage` flag).
    pub fn insecure_storage(mut self, insecure: bool) -> Self {
        self.insecure_storage = insecure;
        self
    }

    /// Whether the default store (when no [`store`](Self::store) is given) uses the OS
    /// keyring: a [`KeyringStore`](crate::store::KeyringStore) over the credentials
    /// file (default with the `keyring` feature), or only the file. A demo or a test
    /// that must never touch the user's real keyring turns it off.
    #[cfg(feature = "keyring")]
    #[cfg_attr(docsrs, doc(cfg(feature = "keyring")))]
    pub fn keyring(mut self, on: bool) -> Self {
        self.keyring = on;
        self
    }

    /// When access tokens are refreshed.
    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.refresh = policy;
        self
    }

    /// The clocks flows run on (default: [`SystemClock`]). A virtual clock runs whole
    /// logins and refreshes in tests without waiting.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// What sends the flows' requests (default: the [`HttpClient`] built from
    /// [`http`](Self::http)). It must not follow redirects.
    pub fn transport(mut self, transport: impl Transport + 'static) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Where logins draw their PKCE verifier, `state` and nonce, and every flow its
    /// backoff jitter seed (default: [`OsEntropy`]). Only tests replaying a
    /// transcript want anything else.
    pub fn entropy(mut self, entropy: impl Entropy + 'static) -> Self {
        self.entropy = Some(Arc::new(entropy));
        self
    }

    /// Checks the configuration and builds the authenticator. Nothing is read from
    /// the network or the disk yet.
    pub fn build(mut self) -> Result<Authenticator, Error> {
        let (quirks, discovery) = self.apply_provider()?;
        let check = |what: &str, url: &Option<String>| -> Result<(), Error> {
            match url {
                Some(u) => check_endpoint_url(u)
                    .map_err(|reason| Error::invalid_config(format!("the {what} {reason}"))),
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
        check("userinfo endpoint", &self.endpoints.userinfo)?;
        check("API base", &self.api_base)?;
        check("cli-auth page", &self.cli_auth_page)?;
        if self.issuer.is_some() && self.endpoints.token.is_none() && discovery.is_empty() {
            // Discovery will need a well-formed issuer.
            discovery_urls(self.issuer.as_deref().unwrap_or_default())?;
        }
        let oauth = self.issuer.is_some() || self.endpoints.token.is_some();
        if oauth && self.client_id.as_deref().is_none_or(str::is_empty) {
            return Err(Error::invalid_config(
                "an authorization server is configured but no client id",
            ));
        }
        let client = self.client(quirks)?;
        let verify = match &self.verify {
            Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                check("verification endpoint", &Some(v.clone()))?;
                Some(v.clone())
            }
            Some(v) => match &self.api_base {
                Some(base) => Some(join_url(base, v)),
                None => {
                    return Err(Error::invalid_config(
                        "a relative verification endpoint needs an API base",
                    ));
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
                default_store(&self.app.cli, FileStore::new(dir), self.keyring)
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
        let http = match self.http_client {
            Some(client) => HttpClient::with_client(client, &http_options),
            None => HttpClient::new(&http_options)?,
        };
        let insecure_var = format!(
            "{}_INSECURE_STORAGE",
            cliauth_core::error::env_prefix(&self.app.cli)
        );
        let insecure_storage = self.insecure_storage
            || self.env.get(&insecure_var).is_some_and(|v| {
                matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "1" | "true" | "yes" | "on"
                )
            });
        let token_env = self
            .token_env
            .unwrap_or_else(|| format!("{}_TOKEN", cliauth_core::error::env_prefix(&self.app.cli)));
        let transport: Arc<dyn Transport> = match self.transport {
            Some(t) => t,
            None => Arc::new(http.clone()),
        };
        Ok(Authenticator {
            inner: Arc::new(Inner {
                app: self.app,
                keys,
                env: self.env,
                issuer: self.issuer,
                explicit: self.endpoints,
                endpoints: tokio::sync::OnceCell::new(),
                client,
                scopes: self.scopes,
                discovery,
                token_env,
                store,
                loopback: self.loopback,
                cli_auth_page: self.cli_auth_page,
                raw_key_handoff: self.raw_key_handoff,
                api_base: self.api_base,
                verify,
                fallback: self.fallback,
                browser: self.browser,
                http,
                transport,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                entropy: self.entropy.unwrap_or_else(|| Arc::new(OsEntropy)),
                refresh: self.refresh,
                gate: tokio::sync::Mutex::new(()),
                warned: Mutex::new(BTreeSet::new()),
                insecure_storage,
                noted: AtomicBool::new(false),
            }),
            profile: None,
            flag_key: None,
            insecure_storage: None,
            scopes: None,
            ui: self.ui.unwrap_or_else(|| Arc::new(TerminalUi::new())),
        })
    }
}

impl Authenticator {
    /// Starts configuring an authenticator for the CLI whose command is `cli`
    /// (`acme`): messages say `acme auth login`, the API key variable defaults to
    /// `ACME_API_KEY`, and credentials live in the OS keyring (feature `keyring`) and
    /// `~/.config/acme/credentials.json` ([`crate::store::paths`]).
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
            client_secret: None,
            client_auth: None,
            scopes: Vec::new(),
            params: Vec::new(),
            provider: None,
            token_env: None,
            store: None,
            loopback: LoopbackOptions::default(),
            cli_auth_page: None,
            raw_key_handoff: false,
            api_base: None,
            verify: None,
            fallback: Fallback::Auto,
            browser: Browser::System,
            ui: None,
            http: HttpOptions::default(),
            http_client: None,
            insecure_storage: false,
            keyring: cfg!(feature = "keyring"),
            refresh: RefreshPolicy::default(),
            clock: None,
            transport: None,
            entropy: None,
        }
    }
}

/// The store an app gets without [`AuthenticatorBuilder::store`]: the OS keyring
/// (with the file for the rest of the document) when the `keyring` feature is on,
/// else the file.
fn default_store(app: &str, file: FileStore, keyring: bool) -> Arc<dyn CredentialStore> {
    #[cfg(feature = "keyring")]
    if keyring {
        return Arc::new(crate::store::KeyringStore::new(app, file));
    }
    let _ = (app, keyring);
    Arc::new(file)
}

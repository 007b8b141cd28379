//! The logins: each one of core's login flows, run with the loopback server, the
//! browser and the terminal where it needs them.

use std::future::Future;
use std::sync::Arc;

use cliauth_core::Error;
use cliauth_core::authorize::{AuthorizationConfig, LOGIN_ENTROPY_LEN};
use cliauth_core::credentials::LoginMethod;
use cliauth_core::flow::{
    CodeLogin, DeviceLogin, Flow, HandoffLogin, KeyLogin, LAUNCH_ENTROPY_LEN, Login,
};
use cliauth_core::launch::{LaunchDecision, NoBrowserReason, decide_launch};
use cliauth_core::loopback::LoopbackLimits;
use cliauth_core::pkce::PkceMethod;
use cliauth_core::secret::SecretString;

use super::{Authenticator, Fallback, LoginOutcome};
use crate::browser::launch_environment_from;
use crate::drive::drive;
use crate::loopback::LoopbackServer;
use crate::ui::Notice;

impl Authenticator {
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

    /// Runs a login flow; with `server`, its loopback requests are served; Ctrl-C
    /// cancels it when enabled.
    async fn run_login<F: Flow<Output = Login>>(
        &self,
        flow: &mut F,
        server: Option<(LoopbackServer, LoopbackLimits)>,
    ) -> Result<LoginOutcome, Error> {
        self.warn_store_once();
        let mut io = self.io();
        io.ctrl_c = self.inner.loopback.cancel_on_ctrl_c;
        if let Some((server, limits)) = server {
            io.loopback = Some(server.serve(limits)?);
        }
        let login = drive(io, flow).await?;
        self.warn_if_shadowed();
        Ok(self.stored(login.outcome))
    }

    /// Stores an API key after core validation ([`KeyRegistry::validate`]) and, when a
    /// verification endpoint is configured, a round trip with it: a 401 or 403 fails
    /// the login and leaves the previously stored credential in place; a network or
    /// server error stores the key and reports it as unverified (core's [`KeyLogin`]).
    ///
    /// [`KeyRegistry::validate`]: cliauth_core::keys::KeyRegistry::validate
    pub async fn login_api_key(&self, key: &str) -> Result<LoginOutcome, Error> {
        let mut flow = KeyLogin::new(key, LoginMethod::ApiKey, self.login_config(None)?);
        let login = self.run(&mut flow).await?;
        self.warn_if_shadowed();
        Ok(self.stored(login.outcome))
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
        let mut flow = KeyLogin::new(text, LoginMethod::Paste, self.login_config(None)?);
        let login = self.run(&mut flow).await?;
        self.warn_if_shadowed();
        Ok(self.stored(login.outcome))
    }

    /// Authorization code + PKCE through the loopback server: opens the browser on a
    /// one-time [launch link](cliauth_core::flow::LaunchLink) of the loopback server
    /// that redirects to the authorization endpoint (so `state` and the PKCE
    /// challenge are on no command line; the link is always printed), waits for the
    /// callback (default 5 minutes), checks it, exchanges the code and stores the
    /// tokens (core's [`CodeLogin`]).
    pub async fn login_browser(&self) -> Result<LoginOutcome, Error> {
        let endpoints = self.endpoints_for("browser login").await?;
        let authorization = endpoints.authorization.clone().ok_or_else(|| {
            Error::invalid_config("the authorization server offers no authorization endpoint")
        })?;
        let login = self.login_config(Some(&endpoints))?;
        let server = LoopbackServer::bind(self.inner.loopback.clone())?;
        let mut config = AuthorizationConfig::new(authorization, login.client.id())
            .scopes(self.requested_scopes().iter().cloned());
        // PKCE stays on whether or not a client secret is sent (RFC 8252 §8.5).
        config.pkce_method = PkceMethod::negotiate(endpoints.pkce_methods.as_deref(), false)?;
        config.timeout = self.inner.loopback.timeout;
        if let Some(issuer) = &endpoints.issuer {
            config = config.issuer(issuer.clone(), endpoints.iss_parameter_supported);
        }
        // Verifier, state and nonce each from their own OS entropy.
        let entropy = self.entropy::<LOGIN_ENTROPY_LEN>()?;
        let launch = self.entropy::<LAUNCH_ENTROPY_LEN>()?;
        // The redirect names the address the server could bind (`[::1]` on an
        // IPv6-only host), or what the provider's quirks require (core decides).
        let mut flow = CodeLogin::on(
            &config,
            server.host(),
            server.port(),
            &entropy,
            &launch,
            self.now(),
            login,
        )?;
        self.run_login(&mut flow, Some((server, LoopbackLimits::default())))
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
    /// ([`handoff_page_url`](cliauth_core::handoff::handoff_page_url) with `port`,
    /// `state` and a PKCE `code_challenge`, through a one-time launch link) and
    /// accepts whichever comes first — the page delivering a one-time code (`code=`,
    /// exchanged at the token endpoint with the PKCE verifier; or, only with
    /// [`raw_key_handoff`](crate::AuthenticatorBuilder::raw_key_handoff), an API key)
    /// to the loopback server, or a key pasted into the terminal (core's
    /// [`HandoffLogin`]).
    pub async fn login_handoff(&self) -> Result<LoginOutcome, Error> {
        let page = self
            .inner
            .cli_auth_page
            .clone()
            .ok_or_else(|| Error::invalid_config("no cli-auth page is configured"))?;
        let endpoints = if self.has_oauth() {
            Some(self.endpoints().await?)
        } else {
            None
        };
        let server = LoopbackServer::bind(self.inner.loopback.clone())?;
        let entropy = self.entropy::<64>()?;
        let launch = self.entropy::<LAUNCH_ENTROPY_LEN>()?;
        let mut flow = HandoffLogin::new(
            &page,
            server.port(),
            &entropy,
            &launch,
            self.now(),
            self.inner.loopback.timeout,
            self.login_config(endpoints.as_ref())?,
        );
        self.run_login(&mut flow, Some((server, LoopbackLimits::default())))
            .await
    }

    /// The device authorization grant (RFC 8628) through core's [`DeviceLogin`]:
    /// prints the verification URL, the user code and the complete URI, then polls as
    /// core decides until the user approves, denies or the code expires.
    pub async fn login_device(&self) -> Result<LoginOutcome, Error> {
        let endpoints = self.endpoints_for("device login").await?;
        let device_endpoint = endpoints.device_authorization.clone().ok_or_else(|| {
            Error::invalid_config("the authorization server does not offer device login")
        })?;
        let config = self.login_config(Some(&endpoints))?;
        config.require_token_endpoint()?;
        let mut flow = DeviceLogin::new(&device_endpoint, self.requested_scopes(), config);
        self.run_login(&mut flow, None).await
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
}

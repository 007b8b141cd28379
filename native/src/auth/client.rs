//! The OAuth client's part of the configuration: provider presets, the client
//! secret, extra parameters per request kind, the bearer-token variable — and the
//! core [`Client`] they make.

use cliauth_core::Error;
use cliauth_core::client::{Client, ClientAuthMethod, ClientSecret, RequestKind};
use cliauth_core::provider::{ProviderConfig, Quirks};

use super::AuthenticatorBuilder;

impl AuthenticatorBuilder {
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

    /// An extra authorization request parameter (`audience`, `prompt`, …); the same
    /// as [`param`](Self::param) with [`RequestKind::Authorize`].
    pub fn auth_param(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.param(RequestKind::Authorize, name, value)
    }

    /// An extra parameter for every request of `kind`: `audience` on the authorize
    /// and device authorization requests for Auth0, `resource` (RFC 8707) on token
    /// requests, vendor parameters. Parameters cliauth sets itself (the grant, PKCE,
    /// `state`, `redirect_uri`, the client's credentials, `scope`) are never
    /// replaced ([`RequestKind::reserved`]).
    pub fn param(
        mut self,
        kind: RequestKind,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.params.push((kind, name.into(), value.into()));
        self
    }

    /// The client secret the provider issued to this CLI, for providers whose
    /// native clients have one (Google's desktop and TV clients, GitHub's OAuth apps
    /// for the browser login, confidential Keycloak or Cognito clients). It is sent
    /// as `client_secret_basic` or `client_secret_post`, as the server's metadata
    /// allows ([`ClientAuthMethod::negotiate`]), to the token, device authorization
    /// and revocation endpoints.
    ///
    /// A secret shipped inside a CLI is not secret: anyone with the binary can read
    /// it, and RFC 8252 §8.5 says servers must not treat it as client
    /// authentication. cliauth never prints it, and PKCE stays on for every browser
    /// login, which is what actually protects the authorization code.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(ClientSecret::new(secret));
        self
    }

    /// How the client secret is sent, overriding the choice from the server's
    /// metadata (it must still be one the server lists).
    pub fn client_auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.client_auth = Some(method);
        self
    }

    /// A provider preset ([`cliauth_core::provider`]): its issuer, discovery rule,
    /// endpoints, extra parameters, default scopes and quirks. What the builder sets
    /// explicitly (issuer, endpoints, scopes) wins over the preset; parameters are
    /// added to the preset's.
    ///
    /// ```
    /// use cliauth::Authenticator;
    /// use cliauth::cliauth_core::provider::preset;
    /// let github = preset("github").unwrap().configure(&[]).unwrap();
    /// let auth = Authenticator::builder("acme")
    ///     .provider(github)
    ///     .client_id("Iv1.0123456789abcdef")
    ///     .build()
    ///     .unwrap();
    /// # let _ = auth;
    /// ```
    pub fn provider(mut self, provider: ProviderConfig) -> Self {
        self.provider = Some(provider);
        self
    }

    /// The environment variable holding a bearer token (default `<APP>_TOKEN`):
    /// any token the API accepts, such as an OAuth access token minted for CI. Like
    /// gh's `GH_TOKEN` it takes precedence over stored credentials (the API-key
    /// variable and `--api-key` take precedence over it), shows in `status` as the
    /// source, is never refreshed or stored, and `logout` cannot remove it.
    pub fn token_env(mut self, var: impl Into<String>) -> Self {
        self.token_env = Some(var.into());
        self
    }

    /// Applies the preset, if any: what the builder set explicitly wins. Returns the
    /// server's quirks and the preset's discovery URLs (empty: from the issuer).
    pub(super) fn apply_provider(&mut self) -> Result<(Quirks, Vec<String>), Error> {
        let mut quirks = Quirks::NONE;
        let mut discovery = Vec::new();
        if let Some(provider) = self.provider.take() {
            let fill = |explicit: &mut Option<String>, preset: Option<String>| {
                if explicit.is_none() {
                    *explicit = preset;
                }
            };
            if self.issuer.is_none() {
                self.issuer = provider.issuer.clone();
                discovery = provider.discovery_urls.clone();
            }
            let e = provider.endpoints;
            fill(&mut self.endpoints.authorization, e.authorization);
            fill(&mut self.endpoints.token, e.token);
            fill(
                &mut self.endpoints.device_authorization,
                e.device_authorization,
            );
            fill(&mut self.endpoints.revocation, e.revocation);
            fill(&mut self.endpoints.userinfo, e.userinfo);
            if self.scopes.is_empty() {
                self.scopes = provider.scopes;
            }
            let mut params = provider.params;
            params.append(&mut self.params);
            self.params = params;
            if self.client_auth.is_none() {
                self.client_auth = provider.client_auth;
            }
            quirks = provider.quirks;
            provider
                .preset
                .check_client_secret(self.client_secret.is_some())?;
        }
        Ok((quirks, discovery))
    }

    /// The client as core builds its requests: its id, secret and preferred method
    /// (checked here against a server that publishes no metadata, and again against
    /// the metadata once discovered, [`Client::for_server`]), parameters and quirks.
    pub(super) fn client(&mut self, quirks: Quirks) -> Result<Client, Error> {
        let mut client = Client::new(self.client_id.clone().unwrap_or_default()).quirks(quirks);
        if let Some(method) = self.client_auth {
            client = client.prefer_auth(method);
        }
        if let Some(secret) = &self.client_secret {
            client = client.with_secret(secret.expose_secret());
        }
        for (kind, name, value) in self.params.drain(..) {
            client = client.param(kind, name, value);
        }
        if self.endpoints.token_auth_methods.is_none() {
            client.for_server(None)?;
        }
        Ok(client)
    }
}

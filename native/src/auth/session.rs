//! The server's endpoints and the session: access tokens, refreshed when due.

use cliauth_core::credentials::Credential;
use cliauth_core::flow::{
    AccessConfig, AccessToken as AccessFlow, Bearer, Discovery, ServerEndpoints, Want,
};
use cliauth_core::secret::{AccessToken, ApiKey};
use cliauth_core::{Error, Timestamp};
use tracing::debug;

use super::{Authenticator, Endpoints, RefreshOutcome};
use crate::drive::{Io, drive};

impl Authenticator {
    /// The authorization server's endpoints: the configured ones, completed by
    /// discovery when an issuer is configured without a token endpoint. Discovery
    /// runs once per authenticator.
    pub async fn endpoints(&self) -> Result<Endpoints, Error> {
        let inner = &self.inner;
        inner
            .endpoints
            .get_or_try_init(|| async {
                let mut flow = Discovery::at(
                    inner.issuer.as_deref(),
                    inner.discovery.clone(),
                    inner.explicit.clone(),
                    inner.http.retry_policy(),
                    self.seed(),
                )?;
                let mut io = Io::new(&*inner.clock);
                io.transport = Some(&*inner.transport);
                drive(io, &mut flow).await
            })
            .await
            .cloned()
    }

    /// Where a flow finds the endpoints when it needs them: cached, to be
    /// discovered, or none (`what` names the need in the error).
    pub(super) fn server_endpoints(&self, what: &str) -> ServerEndpoints {
        let inner = &self.inner;
        if !self.has_oauth() {
            return ServerEndpoints::Missing(Error::invalid_config(format!(
                "{} has no OAuth server configured for {what}",
                inner.app.cli
            )));
        }
        match (inner.endpoints.get(), &inner.issuer) {
            (Some(known), _) => ServerEndpoints::Known(known.clone()),
            (None, Some(issuer)) => ServerEndpoints::Discover {
                issuer: issuer.clone(),
                urls: inner.discovery.clone(),
                explicit: inner.explicit.clone(),
            },
            (None, None) => ServerEndpoints::Known(inner.explicit.clone()),
        }
    }

    /// Keeps endpoints a flow discovered.
    pub(super) fn remember(&self, discovered: Option<Endpoints>) {
        if let Some(e) = discovered {
            let _ = self.inner.endpoints.set(e);
        }
    }

    /// The endpoints, for a login that needs an OAuth server.
    pub(super) async fn endpoints_for(&self, what: &str) -> Result<Endpoints, Error> {
        if let ServerEndpoints::Missing(e) = self.server_endpoints(what) {
            return Err(e);
        }
        self.endpoints().await
    }

    /// The access-token flow's configuration for this view.
    pub(super) fn access_config(&self, want: Want) -> AccessConfig {
        let inner = &self.inner;
        let mut config = AccessConfig::new(inner.client.clone(), self.server_endpoints("refresh"));
        config.flag = self.flag_key.as_deref().map(ApiKey::clone_secret);
        let var = &inner.app.api_key_env;
        config.env = inner.env.get(var).map(|v| (var.clone(), ApiKey::new(v)));
        let var = &inner.token_env;
        config.env_token = inner
            .env
            .get(var)
            .map(|v| (var.clone(), AccessToken::new(v)));
        config.profile = self.profile.clone();
        config.keys = inner.keys.clone();
        config.issuer = inner.issuer.clone();
        config.api_base = inner.api_base.clone();
        config.policy = inner.refresh;
        config.retry = inner.http.retry_policy();
        config.want = want;
        if want == Want::RefreshNow {
            config.scope = self.scopes.as_ref().map(|s| s.join(" "));
        }
        config.seed = self.seed();
        config
    }

    /// The credential, resolved and refreshed as `want` says.
    pub(super) async fn bearer(&self, want: Want) -> Result<Bearer, Error> {
        let mut flow = AccessFlow::new(self.access_config(want));
        let mut bearer = self.run(&mut flow).await?;
        self.remember(bearer.discovered.take());
        debug!(refreshed = bearer.refreshed, "access token ready");
        Ok(bearer)
    }

    /// A valid access token (or API key) for the current credential: flag, then
    /// environment variable, then the named or active profile. OAuth tokens are
    /// refreshed when due, with core's [`Refresh`](cliauth_core::refresh::Refresh)
    /// protocol: one refresh in flight per process, and across processes the store is
    /// locked and re-read so that only one process refreshes; a rotated refresh token
    /// is stored before the new access token is returned; `invalid_grant` re-reads
    /// the store before the session is declared gone.
    pub async fn access_token(&self) -> Result<AccessToken, Error> {
        let bearer = self.bearer(Want::Token).await?;
        Ok(match bearer.credential {
            Credential::OAuth(t) => t.access_token,
            Credential::ApiKey(k) => AccessToken::new(k.expose_secret()),
        })
    }

    /// Refreshes the current OAuth profile now, even if its access token is still
    /// valid (after the API refused it, or to pick up new scopes), with the same
    /// cross-process protocol as [`access_token`](Self::access_token): the rotated
    /// refresh token is stored before this returns. Credentials from a flag, the
    /// environment or an API-key profile cannot be refreshed
    /// ([`Error::InvalidArgument`]).
    pub async fn refresh_now(&self) -> Result<RefreshOutcome, Error> {
        let bearer = self.bearer(Want::RefreshNow).await?;
        let profile = bearer
            .oauth_profile()
            .ok_or(Error::NotAuthenticated)?
            .to_string();
        let (expires_at, scopes) = match &bearer.credential {
            Credential::OAuth(t) => (
                t.expires_at.map(Timestamp::to_rfc3339),
                t.scopes().iter().map(|s| s.to_string()).collect(),
            ),
            Credential::ApiKey(_) => (None, Vec::new()),
        };
        Ok(RefreshOutcome {
            profile,
            rotated: bearer.rotated,
            expires_at,
            scopes,
        })
    }
}

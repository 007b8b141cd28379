//! Who is logged in, logging out, and the stored profiles.

use std::sync::Arc;

use cliauth_core::Error;
use cliauth_core::credentials::{Credential, ResolveInput, Resolved, StatusReport, resolve};
use cliauth_core::flow::{Client, Logout};

use super::{Authenticator, LogoutOutcome, ProfileInfo, ProfileStatus};

impl Authenticator {
    /// Who is logged in and how: the credential's source (flag, environment, profile),
    /// method, expiry, scopes and masked key, as core's [`StatusReport`]
    /// (serialisable for `--json`). A profile of another server is reported as
    /// [`Error::ProfileServerMismatch`].
    pub async fn status(&self) -> Result<StatusReport, Error> {
        let doc = self.read_document()?;
        let env_var = &self.inner.app.api_key_env;
        let env = self.inner.env.get(env_var);
        let flag = self.flag_key.as_ref().map(|k| k.expose_secret());
        let resolved = resolve(ResolveInput {
            flag,
            env: env.as_deref().map(|v| (env_var.as_str(), v)),
            profile: self.profile.as_deref(),
            document: doc.as_ref(),
        })?;
        if let Some(Resolved::Profile { name, profile }) = &resolved {
            profile.check_server(
                name,
                self.inner.issuer.as_deref(),
                self.inner.api_base.as_deref(),
            )?;
        }
        Ok(StatusReport::new(
            resolved.as_ref(),
            doc.as_ref(),
            &self.inner.keys,
            self.now().wall,
            &self.inner.refresh,
        ))
    }

    /// Every stored profile's status, the active one marked — `auth status --all`.
    /// Unlike [`status`](Self::status), an API key from a flag or the environment
    /// does not replace the stored profiles here; a profile of another server is
    /// listed with the reason in `problem`.
    pub async fn status_all(&self) -> Result<Vec<ProfileStatus>, Error> {
        let doc = self.read_document()?.unwrap_or_default();
        let now = self.now().wall;
        let inner = &self.inner;
        Ok(doc
            .profiles
            .iter()
            .map(|(name, profile)| {
                let resolved = Resolved::Profile { name, profile };
                ProfileStatus {
                    name: name.clone(),
                    active: doc.active_profile.as_deref() == Some(name.as_str()),
                    status: StatusReport::new(
                        Some(&resolved),
                        Some(&doc),
                        &inner.keys,
                        now,
                        &inner.refresh,
                    ),
                    problem: profile
                        .check_server(name, inner.issuer.as_deref(), inner.api_base.as_deref())
                        .err()
                        .map(|e| e.to_string()),
                }
            })
            .collect())
    }

    /// Logs out of this view's profile (or the active one): revokes the token at the
    /// server when it offers revocation (RFC 7009), then deletes the profile locally —
    /// also when revocation fails, which the outcome reports (core's [`Logout`]).
    pub async fn logout(&self) -> Result<LogoutOutcome, Error> {
        let inner = &self.inner;
        let env_var = &inner.app.api_key_env;
        let mut flow = Logout::new(
            self.profile.clone(),
            inner.env.get(env_var).map(|_| env_var.clone()),
            Client::new(inner.client_id.clone()),
            self.server_endpoints("revocation"),
            inner.issuer.clone(),
            inner.api_base.clone(),
            inner.http.retry_policy(),
            self.seed(),
        );
        self.run(&mut flow).await
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
        let lock = tokio::task::spawn_blocking(move || store.lock())
            .await
            .map_err(|_| Error::storage("waiting for the credentials lock failed"))??;
        let mut doc = self.inner.store.read_locked(&lock)?.unwrap_or_default();
        doc.switch(name)?;
        self.inner.store.write(&lock, &doc)
    }
}

//! Who is logged in, logging out, and the stored profiles.

use std::sync::Arc;

use cliauth_core::Error;
use cliauth_core::credentials::{
    Credential, CredentialSource, CredentialsDocument, ResolveInput, Resolved, StatusReport,
    resolve,
};
use cliauth_core::flow::Logout;

use super::{Authenticator, LogoutOutcome, ProfileInfo, ProfileStatus};

/// An environment variable's name and value.
type EnvVar = (String, String);

impl Authenticator {
    /// Who is logged in and how: the credential's source (flag, environment, profile),
    /// method, expiry, scopes and masked key, as core's [`StatusReport`]
    /// (serialisable for `--json`). A profile of another server is reported as
    /// [`Error::ProfileServerMismatch`].
    pub async fn status(&self) -> Result<StatusReport, Error> {
        let doc = self.read_document()?;
        let (env, env_token) = self.env_credentials();
        let flag = self.flag_key.as_ref().map(|k| k.expose_secret());
        let resolved = resolve(ResolveInput {
            flag,
            env: env.as_ref().map(|(k, v)| (k.as_str(), v.as_str())),
            env_token: env_token.as_ref().map(|(k, v)| (k.as_str(), v.as_str())),
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
        // A variable that still authenticates after the profile is gone.
        let (env, env_token) = self.env_credentials();
        let still_set = [env, env_token]
            .into_iter()
            .flatten()
            .find(|(_, v)| !v.trim().is_empty())
            .map(|(var, _)| var);
        let mut flow = Logout::new(
            self.profile.clone(),
            still_set,
            inner.client.clone(),
            self.server_endpoints("revocation"),
            inner.issuer.clone(),
            inner.api_base.clone(),
            inner.http.retry_policy(),
            self.seed(),
        );
        self.run(&mut flow).await
    }

    /// The API-key and bearer-token variables, as (name, value) when set.
    fn env_credentials(&self) -> (Option<EnvVar>, Option<EnvVar>) {
        let get = |var: &String| self.inner.env.get(var).map(|v| (var.clone(), v));
        (get(&self.inner.app.api_key_env), get(&self.inner.token_env))
    }

    /// After a login: if a variable (`<APP>_API_KEY`, `<APP>_TOKEN`) takes
    /// precedence over the profile just stored, say so, as gh does for `GH_TOKEN`
    /// ("The value of the GH_TOKEN environment variable is being used for
    /// authentication"). The precedence is core's [`resolve`].
    pub(super) fn warn_if_shadowed(&self) {
        let (env, env_token) = self.env_credentials();
        let doc = CredentialsDocument::new();
        let resolved = resolve(ResolveInput {
            flag: None,
            env: env.as_ref().map(|(k, v)| (k.as_str(), v.as_str())),
            env_token: env_token.as_ref().map(|(k, v)| (k.as_str(), v.as_str())),
            profile: None,
            document: Some(&doc),
        });
        let var = match resolved {
            Ok(Some(Resolved::Key { source, .. } | Resolved::Token { source, .. })) => match source
            {
                CredentialSource::Env { var } => var,
                _ => return,
            },
            // A malformed variable is reported when it is used.
            Err(Error::InvalidArgument { name: var, .. }) => var,
            _ => return,
        };
        let message = format!(
            "{var} is set and is used instead of this login; unset it to use the stored credentials."
        );
        self.ui.notice(&crate::ui::Notice::Warning(&message));
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

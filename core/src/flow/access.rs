//! The credential for a request: flag > API-key variable > bearer-token variable >
//! named or active profile ([`resolve`]), with OAuth tokens refreshed when due.

use crate::credentials::{
    Credential, CredentialSource, CredentialsDocument, ResolveInput, Resolved, resolve,
};
use crate::error::Error;
use crate::flow::{Access, Client, Discovery, Endpoints, Flow, Input, ServerEndpoints, Step};
use crate::keys::KeyRegistry;
use crate::refresh::{Refresh, RefreshConfig};
use crate::retry::RetryPolicy;
use crate::secret::{AccessToken as Token, ApiKey};
use crate::time::Now;
use crate::token::{RefreshPolicy, TokenStatus};

/// What [`AccessToken`] is asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Want {
    /// A valid credential: OAuth tokens are refreshed when due.
    #[default]
    Token,
    /// The same, but an OAuth profile is refreshed even if its token looks valid (the
    /// API refused it). Keys are returned as they are.
    Forced,
    /// A refresh of the stored profile, now (`auth refresh`): the flag and the
    /// environment are not looked at, and a profile holding an API key, which does not
    /// expire, is an [`Error::InvalidArgument`].
    RefreshNow,
}

/// The configuration of an [`AccessToken`].
#[derive(Debug)]
#[non_exhaustive]
pub struct AccessConfig {
    /// The `--api-key` flag's value.
    pub flag: Option<ApiKey>,
    /// The API-key environment variable's name and value.
    pub env: Option<(String, ApiKey)>,
    /// The bearer-token environment variable's name and value (`<APP>_TOKEN`, as
    /// gh's `GH_TOKEN`): any token the API accepts, sent as it is — never refreshed
    /// or stored. The [`Bearer`] carries it as a [`Credential::ApiKey`] (a credential
    /// that is not refreshed) with its variable as the source.
    pub env_token: Option<(String, Token)>,
    /// The profile named with `--profile` (`None`: the active one).
    pub profile: Option<String>,
    /// The key formats a flag or environment key must match.
    pub keys: KeyRegistry,
    /// The OAuth client.
    pub client: Client,
    /// Where the token endpoint is found, if a refresh is needed.
    pub endpoints: ServerEndpoints,
    /// The configured authorization server (a profile of another is never used).
    pub issuer: Option<String>,
    /// The configured API (checked the same way).
    pub api_base: Option<String>,
    /// When tokens are refreshed.
    pub policy: RefreshPolicy,
    /// Retries for the refresh request.
    pub retry: RetryPolicy,
    /// What is wanted.
    pub want: Want,
    /// With [`Want::RefreshNow`]: a narrower scope to ask for, space-separated (RFC
    /// 6749 §6, `auth refresh --scopes`; see
    /// [`Refresh::with_scope`](crate::refresh::Refresh::with_scope)).
    pub scope: Option<String>,
    /// Whether the shell reads under its lock from the start (the wasm binding: the
    /// page holds a Web Lock for the whole flow), so the document is read once.
    /// Otherwise the first read is a snapshot and a refresh re-reads under the lock.
    pub locked: bool,
    /// Entropy for backoff jitter.
    pub seed: u64,
}

impl AccessConfig {
    /// An explicit copy (the keys are secret).
    pub fn clone_secret(&self) -> AccessConfig {
        AccessConfig {
            flag: self.flag.as_ref().map(ApiKey::clone_secret),
            env: self
                .env
                .as_ref()
                .map(|(var, value)| (var.clone(), value.clone_secret())),
            env_token: self
                .env_token
                .as_ref()
                .map(|(var, value)| (var.clone(), value.clone_secret())),
            profile: self.profile.clone(),
            keys: self.keys.clone(),
            client: self.client.clone(),
            endpoints: self.endpoints.clone(),
            issuer: self.issuer.clone(),
            api_base: self.api_base.clone(),
            policy: self.policy,
            retry: self.retry,
            want: self.want,
            scope: self.scope.clone(),
            locked: self.locked,
            seed: self.seed,
        }
    }

    /// A copy that refreshes profile `name` even if its token looks valid (after the
    /// API refused it).
    pub fn forced_for(&self, name: &str) -> AccessConfig {
        AccessConfig {
            flag: None,
            env: None,
            env_token: None,
            profile: Some(name.to_string()),
            want: Want::Forced,
            scope: None,
            seed: self.seed.wrapping_add(2),
            ..self.clone_secret()
        }
    }

    /// A configuration with no flag, environment key or profile name, default
    /// policies and the given endpoints.
    pub fn new(client: Client, endpoints: ServerEndpoints) -> Self {
        AccessConfig {
            flag: None,
            env: None,
            env_token: None,
            profile: None,
            keys: KeyRegistry::new(Vec::new()),
            client,
            endpoints,
            issuer: None,
            api_base: None,
            policy: RefreshPolicy::default(),
            retry: RetryPolicy::default(),
            want: Want::Token,
            scope: None,
            locked: false,
            seed: 0,
        }
    }
}

/// A credential to send as a bearer token, and how it was obtained.
#[derive(Debug)]
#[non_exhaustive]
pub struct Bearer {
    /// The key or the token set.
    pub credential: Credential,
    /// Where it came from.
    pub source: CredentialSource,
    /// Whether this flow refreshed the tokens.
    pub refreshed: bool,
    /// Whether the refresh rotated the refresh token (the new one is persisted).
    pub rotated: bool,
    /// Endpoints discovered on the way, for the shell to keep.
    pub discovered: Option<Endpoints>,
}

impl Bearer {
    /// The secret to send (`Authorization: Bearer …`).
    pub fn token(&self) -> &str {
        match &self.credential {
            Credential::ApiKey(k) => k.expose_secret(),
            Credential::OAuth(t) => t.access_token.expose_secret(),
        }
    }

    /// The profile of an OAuth credential (which a 401 may refresh).
    pub fn oauth_profile(&self) -> Option<&str> {
        match (&self.credential, &self.source) {
            (Credential::OAuth(_), CredentialSource::Profile { name }) => Some(name),
            _ => None,
        }
    }
}

/// Resolves the credential and refreshes it when due (see [`Want`]), with core's
/// [`Refresh`] protocol for OAuth profiles.
#[derive(Debug)]
pub struct AccessToken {
    config: AccessConfig,
    discovered: Option<Endpoints>,
    state: State,
}

#[derive(Debug)]
// One state lives in each flow; boxing would save nothing.
#[allow(clippy::large_enum_variant)]
enum State {
    Read,
    Discovering(Discovery, bool, String, Option<CredentialsDocument>),
    Refreshing(Refresh, String),
    Done(Bearer),
    Failed(Error),
    Finished,
}

impl AccessToken {
    /// The flow.
    pub fn new(config: AccessConfig) -> Self {
        AccessToken {
            config,
            discovered: None,
            state: State::Read,
        }
    }

    fn bearer(&mut self, credential: Credential, source: CredentialSource) -> State {
        State::Done(Bearer {
            credential,
            source,
            refreshed: false,
            rotated: false,
            discovered: self.discovered.take(),
        })
    }

    /// The first read: resolve, and decide whether a refresh is needed.
    fn on_stored(&mut self, now: Now, doc: Option<CredentialsDocument>) -> Result<State, Error> {
        let c = &self.config;
        let (flag, env, env_token) = match c.want {
            Want::RefreshNow => (None, None, None),
            _ => (c.flag.as_ref(), c.env.as_ref(), c.env_token.as_ref()),
        };
        let resolved = resolve(ResolveInput {
            flag: flag.map(ApiKey::expose_secret),
            env: env.map(|(k, v)| (k.as_str(), v.expose_secret())),
            env_token: env_token.map(|(k, v)| (k.as_str(), v.expose_secret())),
            profile: c.profile.as_deref(),
            document: doc.as_ref(),
        })?;
        let (name, profile) = match resolved {
            None | Some(Resolved::Key { .. } | Resolved::Token { .. })
                if c.want == Want::RefreshNow =>
            {
                return Err(Error::NotAuthenticated);
            }
            None => return Err(Error::NotAuthenticated),
            Some(Resolved::Key { key, source }) => {
                let valid = c.keys.validate(key.expose_secret())?;
                return Ok(self.bearer(Credential::ApiKey(valid.into_key()), source));
            }
            // Checked against RFC 6750's syntax by `resolve`, not against key formats.
            Some(Resolved::Token { token, source }) => {
                let key = ApiKey::new(token.expose_secret());
                return Ok(self.bearer(Credential::ApiKey(key), source));
            }
            Some(Resolved::Profile { name, profile }) => (name.to_string(), profile),
        };
        profile.check_server(&name, c.issuer.as_deref(), c.api_base.as_deref())?;
        let source = CredentialSource::Profile { name: name.clone() };
        match &profile.credential {
            Credential::ApiKey(_) if c.want == Want::RefreshNow => Err(Error::InvalidArgument {
                name: "refresh".into(),
                reason: format!("profile `{name}` holds an API key, which does not expire"),
            }),
            Credential::ApiKey(k) => Ok(self.bearer(Credential::ApiKey(k.clone_secret()), source)),
            Credential::OAuth(t)
                if c.want == Want::Token
                    && matches!(t.status(now.wall, &c.policy), TokenStatus::Valid { .. }) =>
            {
                Ok(self.bearer(Credential::OAuth(t.clone_secret()), source))
            }
            Credential::OAuth(_) => {
                let doc = if c.locked { doc } else { None };
                let endpoints = core::mem::replace(
                    &mut self.config.endpoints,
                    ServerEndpoints::Missing(Error::Misuse("the endpoints were taken")),
                );
                let discovers = endpoints.discovers();
                let c = &self.config;
                let d = endpoints.discovery(c.retry, c.seed.wrapping_add(1))?;
                Ok(State::Discovering(d, discovers, name, doc))
            }
        }
    }

    fn refresh(
        &mut self,
        now: Now,
        endpoints: &Endpoints,
        name: String,
        doc: Option<CredentialsDocument>,
    ) -> State {
        let c = &self.config;
        let Some(token_endpoint) = endpoints.token.clone() else {
            return State::Failed(Error::invalid_config(
                "the authorization server offers no endpoint for refresh",
            ));
        };
        // The secret goes the way the server's metadata allows.
        let client = match c.client.for_server(endpoints.token_auth_methods.as_deref()) {
            Ok(client) => client,
            Err(e) => return State::Failed(e),
        };
        let config = RefreshConfig {
            token_endpoint,
            client,
            policy: c.policy,
            retry: c.retry,
            issuer: c.issuer.clone(),
            api_base: c.api_base.clone(),
        };
        let refresh = match (c.want, &c.scope) {
            (Want::Token, _) => Refresh::new(config, name.clone(), c.seed),
            (Want::RefreshNow, Some(scope)) => {
                Refresh::forced(config, name.clone(), c.seed).with_scope(scope.clone())
            }
            (Want::Forced | Want::RefreshNow, _) => Refresh::forced(config, name.clone(), c.seed),
        };
        let refresh = match doc {
            Some(doc) => refresh.with_stored(now, doc),
            None => refresh,
        };
        State::Refreshing(refresh, name)
    }
}

impl Flow for AccessToken {
    type Output = Bearer;

    fn poll(&mut self, now: Now) -> Step<Bearer> {
        loop {
            match &mut self.state {
                State::Read => {
                    return Step::ReadStorage(if self.config.locked {
                        Access::Locked
                    } else {
                        Access::Snapshot
                    });
                }
                State::Discovering(d, ..) => match d.poll(now).outcome() {
                    Err(step) => return step,
                    Ok(result) => {
                        let State::Discovering(_, discovers, name, doc) =
                            core::mem::replace(&mut self.state, State::Finished)
                        else {
                            continue;
                        };
                        self.state = match result {
                            Ok(e) => {
                                let state = self.refresh(now, &e, name, doc);
                                if discovers {
                                    self.discovered = Some(e);
                                }
                                state
                            }
                            Err(e) => State::Failed(e),
                        };
                    }
                },
                State::Refreshing(r, _) => match r.poll(now).outcome() {
                    Err(step) => return step,
                    Ok(result) => {
                        let State::Refreshing(_, name) =
                            core::mem::replace(&mut self.state, State::Finished)
                        else {
                            continue;
                        };
                        self.state = match result {
                            Ok(r) => State::Done(Bearer {
                                credential: Credential::OAuth(r.tokens),
                                source: CredentialSource::Profile { name },
                                refreshed: r.refreshed,
                                rotated: r.rotated,
                                discovered: self.discovered.take(),
                            }),
                            Err(e) => State::Failed(e),
                        };
                    }
                },
                _ => {
                    return match core::mem::replace(&mut self.state, State::Finished) {
                        State::Done(b) => Step::Done(b),
                        State::Failed(e) => Step::Failed(e),
                        _ => Step::Finished,
                    };
                }
            }
        }
    }

    fn handle(&mut self, now: Now, input: Input) {
        match (&mut self.state, input) {
            (State::Read, Input::Stored(stored)) => {
                self.state = match stored.and_then(|doc| self.on_stored(now, doc)) {
                    Ok(state) => state,
                    Err(e) => State::Failed(e),
                };
            }
            (State::Discovering(d, ..), input) => d.handle(now, input),
            (State::Refreshing(r, _), input) => r.handle(now, input),
            (State::Finished, _) => {}
            (_, input) => self.state = State::Failed(crate::flow::unexpected(&input)),
        }
    }

    fn critical(&self) -> bool {
        match &self.state {
            State::Refreshing(r, _) => r.critical(),
            _ => false,
        }
    }
}

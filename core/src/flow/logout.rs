//! Logging out: revocation at the server, then the local deletion.

use serde::Serialize;

use crate::credentials::{Credential, CredentialsDocument};
use crate::error::Error;
use crate::exchange::Exchange;
use crate::flow::{Access, Client, Discovery, Flow, Input, ServerEndpoints, Step};
use crate::retry::RetryPolicy;
use crate::revoke::parse_revocation_response;
use crate::time::Now;
use crate::token::TokenSet;

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

impl Revocation {
    fn failed(e: &Error) -> Revocation {
        Revocation::Failed {
            code: e.code().into(),
            message: e.to_string(),
        }
    }
}

/// The result of a logout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LogoutOutcome {
    /// The profile that was removed.
    pub profile: String,
    /// What the server did.
    pub revocation: Revocation,
    /// An environment variable that is still set and still authenticates (the
    /// API-key or the bearer-token variable).
    pub env_still_set: Option<String>,
}

/// A logout of the named profile (or the active one): under the lock, the profile's
/// OAuth token is revoked when the server offers revocation (RFC 7009), then the
/// profile is deleted and the document persisted — also when revocation fails,
/// which the outcome reports. A profile of another server is deleted without
/// sending it anything, and so is a profile a newer version stored
/// ([`crate::credentials::UnknownProfile`]; [`Revocation::Skipped`]).
#[derive(Debug)]
pub struct Logout {
    profile: Option<String>,
    env_var: Option<String>,
    client: Client,
    endpoints: Option<ServerEndpoints>,
    issuer: Option<String>,
    api_base: Option<String>,
    retry: RetryPolicy,
    seed: u64,
    state: State,
}

#[derive(Debug)]
// One state lives in each logout; boxing would save nothing.
#[allow(clippy::large_enum_variant)]
enum State {
    Read,
    Discovering(Discovery, Removal),
    Revoking(Exchange, Removal),
    Persisting(Removal, CredentialsDocument),
    Done(LogoutOutcome),
    Failed(Error),
    Finished,
}

/// The document without the profile, waiting for the revocation's result.
#[derive(Debug)]
struct Removal {
    doc: CredentialsDocument,
    name: String,
    tokens: Option<TokenSet>,
    revocation: Revocation,
}

impl Logout {
    /// A logout of `profile` (`None`: the active one). `env_var` names the API-key
    /// or bearer-token environment variable when one is set; `endpoints` locate the
    /// revocation endpoint.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        profile: Option<String>,
        env_var: Option<String>,
        client: Client,
        endpoints: ServerEndpoints,
        issuer: Option<String>,
        api_base: Option<String>,
        retry: RetryPolicy,
        seed: u64,
    ) -> Self {
        Logout {
            profile,
            env_var,
            client,
            endpoints: Some(endpoints),
            issuer,
            api_base,
            retry,
            seed,
            state: State::Read,
        }
    }

    fn on_stored(&mut self, doc: Option<CredentialsDocument>) -> Result<State, Error> {
        let mut doc = doc.unwrap_or_default();
        let name = match (&self.profile, &doc.active_profile) {
            (Some(p), _) | (None, Some(p)) => p.clone(),
            (None, None) => {
                return Err(match &self.env_var {
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
        if let Some(unknown) = doc.remove_unknown_profile(&name) {
            // Stored by a newer version: this version cannot revoke it, only remove it
            // (the one way such a profile ever leaves the document).
            let reason = ["this version cannot revoke a ", unknown.what()].concat();
            return Ok(self.persist(Removal {
                doc,
                name,
                tokens: None,
                revocation: Revocation::Skipped { reason },
            }));
        }
        let Some(profile) = doc.profile(&name) else {
            return Err(Error::ProfileNotFound { name });
        };
        let checked = profile.check_server(&name, self.issuer.as_deref(), self.api_base.as_deref());
        let (revocation, tokens) = match (&profile.credential, checked) {
            (_, Err(e)) => (
                Revocation::Skipped {
                    reason: e.to_string(),
                },
                None,
            ),
            (Credential::ApiKey(_), Ok(())) => (Revocation::NotSupported, None),
            (Credential::OAuth(t), Ok(())) => (Revocation::NotSupported, Some(t.clone_secret())),
        };
        doc.remove_profile(&name);
        let removal = Removal {
            doc,
            name,
            tokens,
            revocation,
        };
        Ok(match (&removal.tokens, self.endpoints.take()) {
            (
                Some(_),
                Some(endpoints @ (ServerEndpoints::Known(_) | ServerEndpoints::Discover { .. })),
            ) => match endpoints.discovery(self.retry, self.seed) {
                Ok(d) => State::Discovering(d, removal),
                Err(e) => self.persist(Removal {
                    revocation: Revocation::failed(&e),
                    ..removal
                }),
            },
            _ => self.persist(removal),
        })
    }

    fn persist(&self, removal: Removal) -> State {
        let doc = removal.doc.clone_secret();
        State::Persisting(removal, doc)
    }
}

impl Flow for Logout {
    type Output = LogoutOutcome;

    fn poll(&mut self, now: Now) -> Step<LogoutOutcome> {
        loop {
            match &mut self.state {
                State::Read => return Step::ReadStorage(Access::Locked),
                State::Discovering(d, _) => match d.poll(now).outcome() {
                    Err(step) => return step,
                    Ok(result) => {
                        let State::Discovering(_, removal) =
                            core::mem::replace(&mut self.state, State::Finished)
                        else {
                            continue;
                        };
                        self.state = match (result, &removal.tokens) {
                            (Ok(e), Some(tokens)) => match (
                                &e.revocation,
                                self.client.for_server(e.token_auth_methods.as_deref()),
                            ) {
                                (Some(endpoint), Ok(client)) => {
                                    let request = client.revocation_request(endpoint, tokens);
                                    let seed = self.seed.wrapping_add(1);
                                    State::Revoking(
                                        Exchange::new(request, self.retry, seed),
                                        removal,
                                    )
                                }
                                (Some(_), Err(e)) => self.persist(Removal {
                                    revocation: Revocation::failed(&e),
                                    ..removal
                                }),
                                (None, _) => self.persist(removal),
                            },
                            (Ok(_), None) => self.persist(removal),
                            (Err(e), _) => self.persist(Removal {
                                revocation: Revocation::failed(&e),
                                ..removal
                            }),
                        };
                    }
                },
                State::Revoking(ex, _) => match ex.poll(now).outcome() {
                    Err(step) => return step,
                    Ok(outcome) => {
                        let State::Revoking(_, removal) =
                            core::mem::replace(&mut self.state, State::Finished)
                        else {
                            continue;
                        };
                        let revocation =
                            match outcome.and_then(|r| parse_revocation_response(&r, now.wall)) {
                                Ok(()) => Revocation::Revoked,
                                Err(e) => Revocation::failed(&e),
                            };
                        self.state = self.persist(Removal {
                            revocation,
                            ..removal
                        });
                    }
                },
                State::Persisting(_, doc) => return Step::Persist(doc.clone_secret()),
                _ => {
                    return match core::mem::replace(&mut self.state, State::Finished) {
                        State::Done(o) => Step::Done(o),
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
                self.state = match stored.and_then(|doc| self.on_stored(doc)) {
                    Ok(state) => state,
                    Err(e) => State::Failed(e),
                };
            }
            (State::Discovering(d, _), input) => d.handle(now, input),
            (State::Revoking(ex, _), input) => ex.handle(now, input),
            (State::Persisting(..), Input::Persisted(result)) => {
                let State::Persisting(removal, _) =
                    core::mem::replace(&mut self.state, State::Finished)
                else {
                    return;
                };
                self.state = match result {
                    Ok(()) => State::Done(LogoutOutcome {
                        profile: removal.name,
                        revocation: removal.revocation,
                        env_still_set: self.env_var.take(),
                    }),
                    Err(e) => State::Failed(e),
                };
            }
            (State::Finished, _) => {}
            (_, input) => self.state = State::Failed(crate::flow::unexpected(&input)),
        }
    }
}

//! The authorization server's endpoints: configured, completed by discovery.

use crate::discovery::{ServerMetadata, discovery_urls, parse_metadata};
use crate::error::Error;
use crate::exchange::Exchange;
use crate::flow::{Flow, Input, Step};
use crate::http::HttpRequest;
use crate::retry::RetryPolicy;
use crate::time::Now;

/// The endpoints of the authorization server, configured or discovered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
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
    /// How clients may authenticate at the token endpoint
    /// (`token_endpoint_auth_methods_supported`; `None`: not published, which RFC
    /// 8414 §2 reads as `client_secret_basic`), for
    /// [`Client::for_server`](crate::client::Client::for_server).
    pub token_auth_methods: Option<Vec<String>>,
    /// The issuer identifier these endpoints belong to, as [`Discovery`] resolved it:
    /// the discovery document's `issuer` (identical to the configured one, RFC 8414
    /// §3.3), else the configured issuer. It is what RFC 9207 `iss` parameters must
    /// equal and what profiles record. A value among explicitly configured endpoints
    /// is replaced by the configured issuer.
    pub issuer: Option<String>,
}

impl Endpoints {
    /// These endpoints, completed by `discovered`: an endpoint set explicitly wins.
    pub fn completed_by(mut self, discovered: ServerMetadata) -> Endpoints {
        let keep = |explicit: &mut Option<String>, found: Option<String>| {
            if explicit.is_none() {
                *explicit = found;
            }
        };
        keep(&mut self.authorization, discovered.authorization_endpoint);
        keep(&mut self.token, discovered.token_endpoint);
        keep(
            &mut self.device_authorization,
            discovered.device_authorization_endpoint,
        );
        keep(&mut self.revocation, discovered.revocation_endpoint);
        keep(&mut self.userinfo, discovered.userinfo_endpoint);
        if self.pkce_methods.is_none() {
            self.pkce_methods = discovered.code_challenge_methods_supported;
        }
        if self.token_auth_methods.is_none() {
            self.token_auth_methods = discovered.token_endpoint_auth_methods_supported;
        }
        self.iss_parameter_supported |= discovered.authorization_response_iss_parameter_supported;
        // The metadata's own identifier (checked identical by `parse_metadata`).
        self.issuer = Some(discovered.issuer);
        self
    }
}

/// Discovery (RFC 8414, then OpenID Connect Discovery) when an issuer is configured
/// without a token endpoint; otherwise the configured endpoints at once. Each
/// well-known URL is tried in turn: a 404 moves on to the next, any other failure
/// ends the flow, and the document must name the configured issuer. A provider
/// preset may name the URLs instead ([`Discovery::at`]: the documented location of
/// servers whose RFC 8414 URL is not theirs).
#[derive(Debug)]
pub struct Discovery {
    issuer: String,
    explicit: Endpoints,
    urls: std::vec::IntoIter<String>,
    retry: RetryPolicy,
    seed: u64,
    last: Option<Error>,
    state: State,
}

#[derive(Debug)]
enum State {
    Next,
    Trying(Exchange),
    Done(Endpoints),
    Failed(Error),
    Finished,
}

impl Discovery {
    /// The endpoints for `issuer` and the `explicit` ones (whose `issuer` becomes the
    /// configured one).
    pub fn new(
        issuer: Option<&str>,
        explicit: Endpoints,
        retry: RetryPolicy,
        seed: u64,
    ) -> Result<Self, Error> {
        Self::at(issuer, Vec::new(), explicit, retry, seed)
    }

    /// Like [`Discovery::new`], trying `urls` in turn (empty: the well-known URLs of
    /// `issuer`, [`discovery_urls`]).
    pub fn at(
        issuer: Option<&str>,
        urls: Vec<String>,
        mut explicit: Endpoints,
        retry: RetryPolicy,
        seed: u64,
    ) -> Result<Self, Error> {
        if let Some(issuer) = issuer {
            explicit.issuer = Some(issuer.to_string());
        }
        let (issuer, urls, state) = match issuer {
            Some(issuer) if explicit.token.is_none() => {
                let urls = if urls.is_empty() {
                    discovery_urls(issuer)?
                } else {
                    urls
                };
                (issuer.to_string(), urls, State::Next)
            }
            _ => (String::new(), Vec::new(), State::Done(explicit.clone())),
        };
        Ok(Discovery {
            issuer,
            explicit,
            urls: urls.into_iter(),
            retry,
            seed,
            last: None,
            state,
        })
    }
}

impl Flow for Discovery {
    type Output = Endpoints;

    fn poll(&mut self, now: Now) -> Step<Endpoints> {
        loop {
            match &mut self.state {
                State::Next => {
                    self.state = match self.urls.next() {
                        Some(url) => {
                            self.seed = self.seed.wrapping_add(1);
                            State::Trying(Exchange::new(
                                HttpRequest::get(url),
                                self.retry,
                                self.seed,
                            ))
                        }
                        None => State::Failed(self.last.take().unwrap_or(Error::NotFound {
                            what: Some("the discovery document".into()),
                        })),
                    };
                }
                State::Trying(ex) => match ex.poll(now).outcome() {
                    Err(step) => return step,
                    Ok(outcome) => {
                        self.state = match outcome
                            .and_then(|r| parse_metadata(&r, &self.issuer, now.wall))
                        {
                            Ok(metadata) => {
                                State::Done(self.explicit.clone().completed_by(metadata))
                            }
                            Err(e @ Error::NotFound { .. }) => {
                                self.last = Some(e);
                                State::Next
                            }
                            Err(e) => State::Failed(e),
                        };
                    }
                },
                _ => {
                    return match core::mem::replace(&mut self.state, State::Finished) {
                        State::Done(e) => Step::Done(e),
                        State::Failed(e) => Step::Failed(e),
                        _ => Step::Finished,
                    };
                }
            }
        }
    }

    fn handle(&mut self, now: Now, input: Input) {
        match &mut self.state {
            State::Trying(ex) => ex.handle(now, input),
            State::Finished => {}
            _ => self.state = State::Failed(crate::flow::unexpected(&input)),
        }
    }
}

/// Where a flow finds the server's endpoints when it needs them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEndpoints {
    /// Already known (configured, or discovered before).
    Known(Endpoints),
    /// To be discovered for `issuer`, completing `explicit` — only if a flow gets to
    /// need them; the result is reported for the shell to keep.
    Discover {
        /// The issuer.
        issuer: String,
        /// Where its metadata is (a provider preset's), tried in turn; empty: the
        /// well-known URLs of `issuer`.
        urls: Vec<String>,
        /// The endpoints configured explicitly.
        explicit: Endpoints,
    },
    /// The app has no OAuth server: a flow that needs one fails with this error.
    Missing(Error),
}

impl ServerEndpoints {
    /// The flow that yields the endpoints (at once when they are known).
    pub(crate) fn discovery(self, retry: RetryPolicy, seed: u64) -> Result<Discovery, Error> {
        match self {
            ServerEndpoints::Known(e) => Discovery::new(None, e, retry, seed),
            ServerEndpoints::Discover {
                issuer,
                urls,
                explicit,
            } => Discovery::at(Some(&issuer), urls, explicit, retry, seed),
            ServerEndpoints::Missing(e) => Err(e),
        }
    }

    /// Whether the endpoints come from discovery.
    pub(crate) fn discovers(&self) -> bool {
        matches!(self, ServerEndpoints::Discover { .. })
    }
}

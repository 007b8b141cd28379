//! The authorization-code login (RFC 6749 §4.1 + PKCE, RFC 8252 loopback).

use crate::authorize::{
    AuthorizationConfig, AuthorizationGrant, LOGIN_ENTROPY_LEN, LoopbackHost, PendingAuthorization,
    check_id_token_nonce,
};
use crate::client::{Client, RequestKind};
use crate::credentials::LoginMethod;
use crate::error::Error;
use crate::exchange::Exchange;
use crate::flow::link::{LAUNCH_ENTROPY_LEN, LaunchLink};
use crate::flow::login::{LoginConfig, OAuthFinish};
use crate::flow::{CallbackWait, Flow, Input, Login, Outbox, Prompt, Step};
use crate::http::HttpResponse;
use crate::loopback::{LoopbackConfig, LoopbackHandler};
use crate::pkce::PkceVerifier;
use crate::secret::AuthorizationCode;
use crate::state::Nonce;
use crate::time::Now;
use crate::token::{TokenEndpointResponse, TokenGrant, TokenResponse, TokenSet};

/// A token request for a code and what its answer means: the token response, or
/// the error (an OAuth error, a server failure, a malformed body).
#[derive(Debug)]
pub(crate) struct CodeGrant(Exchange, Client);

impl CodeGrant {
    pub(crate) fn new(
        config: &mut LoginConfig,
        token_endpoint: &str,
        code: &AuthorizationCode,
        verifier: &PkceVerifier,
        redirect_uri: &str,
    ) -> Self {
        let request = config.client.token_request(
            token_endpoint,
            TokenGrant::AuthorizationCode {
                code,
                verifier,
                redirect_uri,
            },
        );
        let seed = config.next_seed();
        CodeGrant(
            Exchange::new(request, config.retry, seed),
            config.client.clone(),
        )
    }

    fn parse(
        &self,
        now: Now,
        outcome: Result<HttpResponse, Error>,
    ) -> Result<TokenResponse, Error> {
        // The server's quirks (GitHub's comma-separated scope, error aliases).
        match self.1.parse_token_response(&outcome?, now.wall)? {
            TokenEndpointResponse::Tokens(t) => Ok(t),
            TokenEndpointResponse::Error(e) => Err(e.into_error()),
        }
    }
}

impl Flow for CodeGrant {
    type Output = TokenResponse;

    fn poll(&mut self, now: Now) -> Step<TokenResponse> {
        match self.0.poll(now).outcome() {
            Err(step) => step,
            Ok(outcome) => match self.parse(now, outcome) {
                Ok(t) => Step::Done(t),
                Err(e) => Step::Failed(e),
            },
        }
    }

    fn handle(&mut self, now: Now, input: Input) {
        self.0.handle(now, input);
    }
}

/// The second half of a browser login whose callback a web page received: the code
/// exchanged with its verifier, the tokens stored.
#[derive(Debug)]
pub struct CodeExchange {
    state: ExchangeState,
    config: LoginConfig,
    method: LoginMethod,
    /// The nonce the authorization request carried: the ID token must carry it.
    nonce: Option<Nonce>,
    /// The scopes it asked for (the tokens' when the answer names none).
    scopes: Vec<String>,
}

#[derive(Debug)]
// One state lives in each login; boxing would save nothing.
#[allow(clippy::large_enum_variant)]
enum ExchangeState {
    Exchanging(CodeGrant),
    Finishing(OAuthFinish),
    Failed(Error),
    Finished,
}

impl CodeExchange {
    /// Exchanges `grant` (from [`PendingAuthorization::complete`]) at the
    /// configuration's token endpoint; when the grant carries a nonce, a token
    /// response whose ID token does not carry it fails with
    /// [`Error::NonceMismatch`] and nothing is stored.
    pub fn new(grant: &AuthorizationGrant, mut config: LoginConfig) -> Self {
        let state = match config.require_token_endpoint() {
            Ok(endpoint) => ExchangeState::Exchanging(CodeGrant::new(
                &mut config,
                &endpoint,
                &grant.code,
                &grant.verifier,
                &grant.redirect_uri,
            )),
            Err(e) => ExchangeState::Failed(e),
        };
        CodeExchange {
            state,
            config,
            method: LoginMethod::Browser,
            nonce: grant.nonce.as_ref().map(Nonce::clone_secret),
            scopes: grant.scopes.clone(),
        }
    }
}

impl Flow for CodeExchange {
    type Output = Login;

    fn poll(&mut self, now: Now) -> Step<Login> {
        loop {
            match &mut self.state {
                ExchangeState::Exchanging(grant) => match grant.poll(now).outcome() {
                    Err(step) => return step,
                    // OpenID Connect Core §3.1.3.7: the ID token must carry the nonce
                    // sent, before any token is used or stored.
                    Ok(Ok(response)) => {
                        if let Err(e) =
                            check_id_token_nonce(response.id_token.as_ref(), self.nonce.as_ref())
                        {
                            self.state = ExchangeState::Failed(e);
                            continue;
                        }
                        // RFC 6749 §5.1: no `scope` means the requested one.
                        let response = response.or_requested_scope(&self.scopes);
                        let tokens = TokenSet::from_response(response, now.wall);
                        self.state = ExchangeState::Finishing(OAuthFinish::new(
                            tokens,
                            self.method,
                            self.config.clone(),
                        ));
                    }
                    Ok(Err(e)) => self.state = ExchangeState::Failed(e),
                },
                ExchangeState::Finishing(finish) => return finish.poll(now),
                ExchangeState::Failed(_) => {
                    let ExchangeState::Failed(e) =
                        core::mem::replace(&mut self.state, ExchangeState::Finished)
                    else {
                        continue;
                    };
                    return Step::Failed(e);
                }
                ExchangeState::Finished => return Step::Finished,
            }
        }
    }

    fn handle(&mut self, now: Now, input: Input) {
        match &mut self.state {
            ExchangeState::Exchanging(grant) => grant.handle(now, input),
            ExchangeState::Finishing(finish) => finish.handle(now, input),
            ExchangeState::Failed(_) | ExchangeState::Finished => {}
        }
    }
}

/// A browser login through the loopback server: one machine owns the pending
/// authorization (`state`, PKCE verifier, deadline), the loopback server's
/// decisions ([`CallbackWait`]) and the code exchange.
///
/// The flow asks to open a [launch link](LaunchLink) on the loopback server that
/// redirects once to the authorization URL ([`Prompt::OpenBrowser`]: no `state` or
/// challenge on the browser's command line), answers every loopback request until
/// the callback whose `state` matches, checks it ([`PendingAuthorization::complete`]:
/// `iss`, the server's `error`), exchanges the code with the verifier and stores the
/// tokens.
#[derive(Debug)]
pub struct CodeLogin {
    pending: PendingAuthorization,
    config: LoginConfig,
    outbox: Outbox,
    state: CodeState,
}

#[derive(Debug)]
// One state lives in each login; boxing would save nothing.
#[allow(clippy::large_enum_variant)]
enum CodeState {
    Waiting(CallbackWait),
    Exchanging(CodeExchange),
    Failed(Error),
    Finished,
}

impl CodeLogin {
    /// A login on loopback `port` of 127.0.0.1 (the shell has bound it): bytes
    /// `0..32` of `entropy` make the PKCE verifier, `32..64` the `state`, `64..96`
    /// the OpenID nonce ([`LOGIN_ENTROPY_LEN`]); `launch` (its own draw) the launch
    /// link. The wait lasts `authorization.timeout`. See [`CodeLogin::on`] for the
    /// rest.
    pub fn new(
        authorization: &AuthorizationConfig,
        port: u16,
        entropy: &[u8; LOGIN_ENTROPY_LEN],
        launch: &[u8; LAUNCH_ENTROPY_LEN],
        now: Now,
        config: LoginConfig,
    ) -> Result<Self, Error> {
        Self::on(
            authorization,
            LoopbackHost::Ipv4,
            port,
            entropy,
            launch,
            now,
            config,
        )
    }

    /// A login whose loopback server listens on `bound` ([`LoopbackHost::Ipv4`], or
    /// [`LoopbackHost::Ipv6`] where 127.0.0.1 cannot be bound) at `port`. The
    /// redirect URI names that address (RFC 8252 §7.3), or `localhost` for a server
    /// whose quirks say it accepts nothing else
    /// ([`RedirectHost::Localhost`](crate::provider::RedirectHost::Localhost),
    /// [`LoopbackHost::choose`]). The client's extra parameters for
    /// [`RequestKind::Authorize`] are added to the authorization request. The
    /// launch link names `bound` too.
    pub fn on(
        authorization: &AuthorizationConfig,
        bound: LoopbackHost,
        port: u16,
        entropy: &[u8; LOGIN_ENTROPY_LEN],
        launch: &[u8; LAUNCH_ENTROPY_LEN],
        now: Now,
        config: LoginConfig,
    ) -> Result<Self, Error> {
        config.require_token_endpoint()?;
        let mut authorization = authorization.clone();
        authorization.extra_params.extend(
            config
                .client
                .params_for(RequestKind::Authorize)
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let host = LoopbackHost::choose(config.client.server_quirks().redirect_host, bound);
        let pending = PendingAuthorization::start_with_redirect(
            &authorization,
            host.redirect_uri(port),
            entropy,
            now.wall,
        )?;
        let handler = LoopbackHandler::new(
            LoopbackConfig::new(port, config.product.clone()),
            pending.state(),
        );
        let link = LaunchLink::new(port, launch, pending.url().to_string()).on(bound);
        let mut outbox = Outbox::default();
        outbox.prompt(Prompt::OpenBrowser { url: link.url() });
        outbox.prompt(Prompt::Waiting("Waiting for the browser…"));
        let wait = CallbackWait::new(handler, now, authorization.timeout).with_link(link);
        Ok(CodeLogin {
            state: CodeState::Waiting(wait),
            pending,
            config,
            outbox,
        })
    }

    /// The authorization URL (where the launch link sends the browser).
    pub fn url(&self) -> &str {
        self.pending.url()
    }
}

impl Flow for CodeLogin {
    type Output = Login;

    fn poll(&mut self, now: Now) -> Step<Login> {
        loop {
            if let Some(step) = self.outbox.pop() {
                return step;
            }
            match &mut self.state {
                CodeState::Waiting(wait) => match wait.poll(now).outcome() {
                    Err(step) => return step,
                    Ok(result) => {
                        self.outbox.prompt(Prompt::WaitOver);
                        // The handler matched the state; the rest is checked here.
                        let grant =
                            result.and_then(|p| self.pending.complete_matched(now.wall, &p));
                        self.state = match grant {
                            Ok(grant) => CodeState::Exchanging(CodeExchange::new(
                                &grant,
                                self.config.clone(),
                            )),
                            Err(e) => CodeState::Failed(e),
                        };
                    }
                },
                CodeState::Exchanging(exchange) => return exchange.poll(now),
                CodeState::Failed(_) => {
                    let CodeState::Failed(e) =
                        core::mem::replace(&mut self.state, CodeState::Finished)
                    else {
                        continue;
                    };
                    return Step::Failed(e);
                }
                CodeState::Finished => return Step::Finished,
            }
        }
    }

    fn handle(&mut self, now: Now, input: Input) {
        match &mut self.state {
            CodeState::Waiting(wait) => wait.handle(now, input),
            CodeState::Exchanging(exchange) => exchange.handle(now, input),
            CodeState::Failed(_) | CodeState::Finished => {}
        }
    }
}

//! The cli-auth handoff login: the vendor's page delivers a one-time code (or, when
//! the app opted in, a raw key) to the loopback server, or the user pastes a key;
//! whichever comes first wins.

use crate::authorize::loopback_redirect_uri;
use crate::credentials::{Credential, LoginMethod};
use crate::error::Error;
use crate::flow::code::CodeGrant;
use crate::flow::link::{LAUNCH_ENTROPY_LEN, LaunchLink};
use crate::flow::login::{LoginConfig, OAuthFinish};
use crate::flow::{CallbackWait, Flow, Input, KeyLogin, Login, Outbox, Prompt, Step};
use crate::handoff::{handoff_credential, handoff_page_url};
use crate::loopback::{Accept, LoopbackConfig, LoopbackHandler};
use crate::pkce::{PkceMethod, PkceVerifier};
use crate::state::StateToken;
use crate::time::Now;
use crate::token::OAuthError;
use core::time::Duration;

/// The cli-auth handoff (see the module docs). The flow asks to open a
/// [launch link](LaunchLink) that redirects once to the page ([`handoff_page_url`]
/// with `port`, `state` and a PKCE `code_challenge`: none of them on the browser's
/// command line) and to read pasted lines ([`Prompt::PasteKey`]), answers the
/// loopback requests, and then stores what arrived:
///
/// - a one-time code (`code=`; a token endpoint is needed), exchanged with the
///   verifier: a plain key-shaped access token is stored as an API key
///   ([`handoff_credential`]), anything else as OAuth tokens;
/// - only with [`LoginConfig::raw_key_handoff`]: a key from the page (`api_key=`,
///   announced to the page with `accept=api_key`), verified like any key
///   ([`KeyLogin`]); otherwise a delivered key is refused and the wait goes on;
/// - a pasted line that is a valid key; invalid lines are explained
///   ([`Prompt::Warning`]) and the wait goes on;
/// - an `error` from the page ends the login with it.
#[derive(Debug)]
pub struct HandoffLogin {
    verifier: PkceVerifier,
    redirect_uri: String,
    config: LoginConfig,
    outbox: Outbox,
    state: State,
}

#[derive(Debug)]
// One state lives in each login; boxing would save nothing.
#[allow(clippy::large_enum_variant)]
enum State {
    Waiting(CallbackWait),
    Exchanging(CodeGrant),
    Key(KeyLogin),
    Finishing(OAuthFinish),
    Failed(Error),
    Finished,
}

/// `scheme://host[:port]` of a URL.
pub(crate) fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{}://{}", scheme.to_ascii_lowercase(), authority))
}

impl HandoffLogin {
    /// A handoff through `page` (the cli-auth page's URL) on loopback `port`, waiting
    /// at most `timeout`: bytes `0..32` of `entropy` make the `state`, `32..64` the
    /// PKCE verifier; `launch` (its own draw) the launch link. Without a token
    /// endpoint and without [`LoginConfig::raw_key_handoff`] nothing the page could
    /// deliver would be accepted: the flow fails with [`Error::InvalidConfig`].
    pub fn new(
        page: &str,
        port: u16,
        entropy: &[u8; 64],
        launch: &[u8; LAUNCH_ENTROPY_LEN],
        now: Now,
        timeout: Duration,
        config: LoginConfig,
    ) -> Self {
        let mut state_bytes = [0u8; 32];
        let mut verifier_bytes = [0u8; 32];
        state_bytes.copy_from_slice(&entropy[..32]);
        verifier_bytes.copy_from_slice(&entropy[32..]);
        let state = StateToken::from_entropy(&state_bytes);
        let verifier = PkceVerifier::from_entropy(&verifier_bytes);
        let challenge = verifier.challenge(PkceMethod::S256);
        let accept = Accept {
            code: config.token_endpoint.is_some(),
            api_key: config.raw_key_handoff,
        };
        let mut outbox = Outbox::default();
        if !accept.code && !accept.api_key {
            return HandoffLogin {
                verifier,
                redirect_uri: loopback_redirect_uri(port),
                config,
                outbox,
                state: State::Failed(Error::InvalidConfig {
                    reason: "the cli-auth handoff needs a token endpoint to exchange the page's \
                             one-time code (or the less safe raw_key_handoff option)"
                        .into(),
                    source: None,
                }),
            };
        }
        let mut loopback = LoopbackConfig::new(port, config.product.clone());
        loopback.accept = accept;
        if let Some(origin) = origin_of(page) {
            loopback.allowed_origins.push(origin);
        }
        let handler = LoopbackHandler::new(loopback, &state);
        let page_url = handoff_page_url(
            page,
            port,
            &state,
            accept.code.then_some(&challenge),
            accept.api_key,
            None,
        );
        let link = LaunchLink::new(port, launch, page_url);
        outbox.prompt(Prompt::OpenBrowser { url: link.url() });
        outbox.prompt(Prompt::PasteKey);
        HandoffLogin {
            verifier,
            redirect_uri: loopback_redirect_uri(port),
            config,
            outbox,
            state: State::Waiting(CallbackWait::new(handler, now, timeout).with_link(link)),
        }
    }

    fn key(&self, key: &str, method: LoginMethod) -> State {
        State::Key(KeyLogin::new(key, method, self.config.clone()))
    }

    /// What the page delivered.
    fn delivered(&mut self, params: crate::authorize::CallbackParams) -> State {
        if let Some(error) = params.error {
            return State::Failed(
                OAuthError {
                    error,
                    description: params.error_description,
                    uri: None,
                }
                .into_error(),
            );
        }
        // The code bound to the challenge first; a raw key only when opted in.
        match (
            params.code,
            self.config.token_endpoint.clone(),
            params.api_key,
        ) {
            (Some(code), Some(endpoint), _) => State::Exchanging(CodeGrant::new(
                &mut self.config,
                &endpoint,
                &code,
                &self.verifier,
                &self.redirect_uri,
            )),
            (_, _, Some(key)) if self.config.raw_key_handoff => {
                self.key(key.expose_secret(), LoginMethod::Handoff)
            }
            _ => State::Failed(Error::Protocol {
                reason: "the cli-auth page delivered no credential".into(),
                body: Default::default(),
            }),
        }
    }

    /// A pasted line: a valid key ends the wait; anything else is explained.
    fn pasted(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.config.keys.validate(text) {
            Ok(valid) => {
                self.outbox.push(Step::StopListening);
                self.state = self.key(valid.into_key().expose_secret(), LoginMethod::Paste);
            }
            Err(problem) => self.outbox.prompt(Prompt::Warning(problem.to_string())),
        }
    }
}

impl Flow for HandoffLogin {
    type Output = Login;

    fn poll(&mut self, now: Now) -> Step<Login> {
        loop {
            if let Some(step) = self.outbox.pop() {
                return step;
            }
            match &mut self.state {
                State::Waiting(wait) => match wait.poll(now).outcome() {
                    Err(step) => return step,
                    Ok(Ok(params)) => self.state = self.delivered(params),
                    Ok(Err(e)) => self.state = State::Failed(e),
                },
                State::Exchanging(grant) => match grant.poll(now).outcome() {
                    Err(step) => return step,
                    Ok(Ok(response)) => {
                        self.state = match handoff_credential(response, &self.config.keys, now.wall)
                        {
                            Credential::ApiKey(key) => {
                                self.key(key.expose_secret(), LoginMethod::Handoff)
                            }
                            Credential::OAuth(tokens) => State::Finishing(OAuthFinish::new(
                                tokens,
                                LoginMethod::Handoff,
                                self.config.clone(),
                            )),
                        };
                    }
                    Ok(Err(e)) => self.state = State::Failed(e),
                },
                State::Key(login) => return login.poll(now),
                State::Finishing(finish) => return finish.poll(now),
                State::Failed(_) => {
                    let State::Failed(e) = core::mem::replace(&mut self.state, State::Finished)
                    else {
                        continue;
                    };
                    return Step::Failed(e);
                }
                State::Finished => return Step::Finished,
            }
        }
    }

    fn handle(&mut self, now: Now, input: Input) {
        match (&mut self.state, input) {
            (State::Waiting(_), Input::Pasted(text)) => self.pasted(text.expose_secret()),
            (State::Waiting(wait), input) => wait.handle(now, input),
            (State::Exchanging(grant), input) => grant.handle(now, input),
            (State::Key(login), input) => login.handle(now, input),
            (State::Finishing(finish), input) => finish.handle(now, input),
            // Lines pasted after the wait ended are not for this login.
            (_, Input::Pasted(_)) => {}
            (State::Failed(_) | State::Finished, _) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://App.example:8443/cli-auth?x=1").as_deref(),
            Some("https://App.example:8443")
        );
        assert_eq!(origin_of("nonsense"), None);
    }
}

//! An authenticated API call.

use crate::error::Error;
use crate::exchange::Exchange;
use crate::flow::access::{AccessConfig, AccessToken, Bearer};
use crate::flow::{Endpoints, Flow, Input, Prompt, ServerEndpoints, Step};
use crate::http::{HttpRequest, HttpResponse, api_error};
use crate::time::Now;

/// A request to the app's API with the current credential as bearer token
/// ([`AccessToken`]), through core's retries. Before each retry the flow says why
/// ([`Prompt::Retrying`]: `Rate limited: <policy> (<limit>)`, `Network error: …`).
/// When an OAuth access token is refused with 401, one forced refresh is made and the
/// request is sent once more. The final answer is mapped with [`api_error`]: a 2xx
/// (or any status it does not map) is the result, anything else the error.
#[derive(Debug)]
pub struct ApiCall {
    request: HttpRequest,
    access: AccessConfig,
    seed: u64,
    /// Why the last attempt failed, for the retry notice.
    reason: String,
    /// Whether the retry of the current wait was announced.
    announced: bool,
    discovered: Option<Endpoints>,
    state: State,
}

#[derive(Debug)]
// One state lives in each call; boxing would save nothing.
#[allow(clippy::large_enum_variant)]
enum State {
    Resolving(AccessToken, bool),
    Sending(Exchange, Option<String>),
    Done(HttpResponse),
    Failed(Error),
    Finished,
}

impl ApiCall {
    /// Sends `request` with the credential `access` resolves; `access.retry` is the
    /// retry policy of the call too.
    pub fn new(request: HttpRequest, access: AccessConfig) -> Self {
        let seed = access.seed.wrapping_add(3);
        let state = State::Resolving(AccessToken::new(access.clone_secret()), false);
        ApiCall {
            request,
            access,
            seed,
            reason: String::new(),
            announced: false,
            discovered: None,
            state,
        }
    }

    /// Endpoints discovered on the way, for the shell to keep.
    pub fn discovered(&mut self) -> Option<Endpoints> {
        self.discovered.take()
    }

    fn send(&mut self, mut bearer: Bearer, retried: bool) -> State {
        let profile = match retried {
            true => None,
            false => bearer.oauth_profile().map(str::to_string),
        };
        if let Some(e) = bearer.discovered.take() {
            self.access.endpoints = ServerEndpoints::Known(e.clone());
            self.discovered = Some(e);
        }
        let request = self.request.clone_secret().with_bearer(bearer.token());
        self.seed = self.seed.wrapping_add(1);
        self.announced = false;
        State::Sending(
            Exchange::new(request, self.access.retry, self.seed),
            profile,
        )
    }

    /// The answer: 401 to an OAuth token refreshes once; everything else is mapped.
    fn answered(&mut self, now: Now, profile: Option<String>, response: HttpResponse) -> State {
        if let (Some(name), 401) = (profile, response.status) {
            return State::Resolving(AccessToken::new(self.access.forced_for(&name)), true);
        }
        match api_error(&response, now.wall) {
            Some(e) => State::Failed(e),
            None => State::Done(response),
        }
    }
}

impl Flow for ApiCall {
    type Output = HttpResponse;

    fn poll(&mut self, now: Now) -> Step<HttpResponse> {
        loop {
            match &mut self.state {
                State::Resolving(access, retried) => {
                    let retried = *retried;
                    match access.poll(now).outcome() {
                        Err(step) => return step,
                        Ok(Ok(bearer)) => self.state = self.send(bearer, retried),
                        Ok(Err(e)) => self.state = State::Failed(e),
                    }
                }
                State::Sending(ex, _) => {
                    let (attempts, max) = (ex.attempts(), ex.max_attempts());
                    match ex.poll(now).outcome() {
                        Err(Step::WaitUntil(t)) if !self.announced => {
                            self.announced = true;
                            return Step::Prompt(Prompt::Retrying {
                                reason: self.reason.clone(),
                                wait: t.saturating_duration_since(now.instant),
                                attempt: attempts + 1,
                                max_attempts: max,
                            });
                        }
                        Err(step) => {
                            if matches!(step, Step::Send(_)) {
                                self.announced = false;
                            }
                            return step;
                        }
                        Ok(outcome) => {
                            let State::Sending(_, profile) =
                                core::mem::replace(&mut self.state, State::Finished)
                            else {
                                continue;
                            };
                            self.state = match outcome {
                                Ok(response) => self.answered(now, profile, response),
                                Err(e) => State::Failed(e),
                            };
                        }
                    }
                }
                _ => {
                    return match core::mem::replace(&mut self.state, State::Finished) {
                        State::Done(r) => Step::Done(r),
                        State::Failed(e) => Step::Failed(e),
                        _ => Step::Finished,
                    };
                }
            }
        }
    }

    fn handle(&mut self, now: Now, input: Input) {
        match &mut self.state {
            State::Resolving(access, _) => access.handle(now, input),
            State::Sending(ex, _) => {
                match &input {
                    Input::Response(r) => {
                        self.reason = api_error(r, now.wall)
                            .map_or_else(|| format!("HTTP {}", r.status), |e| e.to_string());
                    }
                    Input::TransportError(e) => {
                        self.reason = format!("Network error: {}", e.reason);
                    }
                    _ => {}
                }
                ex.handle(now, input);
            }
            State::Done(_) | State::Failed(_) | State::Finished => {}
        }
    }

    fn critical(&self) -> bool {
        match &self.state {
            State::Resolving(access, _) => access.critical(),
            _ => false,
        }
    }
}

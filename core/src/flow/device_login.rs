//! The whole device login (RFC 8628): authorization request, prompt, polling, storing.

use crate::credentials::LoginMethod;
use crate::device::{DeviceFlow, DeviceStats, parse_device_authorization};
use crate::error::Error;
use crate::exchange::Exchange;
use crate::flow::login::{LoginConfig, OAuthFinish};
use crate::flow::{Flow, Input, Login, Outbox, Prompt, Step};
use crate::time::Now;

/// A device login: the device authorization request (retried as core's policy
/// allows), [`Prompt::DeviceCode`] with a [`Prompt::Waiting`], the polling of
/// [`DeviceFlow`], then the tokens stored (see [`crate::flow::login`]).
///
/// ```
/// use cliauth_core::flow::{Client, DeviceLogin, Flow, Input, LoginConfig, Prompt, Step};
/// use cliauth_core::time::Now;
/// use cliauth_core::{HttpResponse, Timestamp};
/// use serde_json::json;
///
/// let mut config = LoginConfig::new(Client::new("acme-cli"));
/// config.token_endpoint = Some("https://as.example/token".into());
/// config.store = false;
/// let mut now = Now::from_wall(Timestamp::from_unix_secs(1_700_000_000));
/// let mut login = DeviceLogin::new("https://as.example/device", &[], config);
/// let mut answers = vec![
///     HttpResponse::json(200, &json!({"access_token": "at", "token_type": "Bearer"})),
///     HttpResponse::json(400, &json!({"error": "authorization_pending"})),
///     HttpResponse::json(200, &json!({"device_code": "dc", "user_code": "WDJB-MJHT",
///         "verification_uri": "https://as.example/device", "expires_in": 600})),
/// ];
/// let mut shown = None;
/// let done = loop {
///     match login.poll(now) {
///         Step::Send(_) => login.handle(now, Input::Response(answers.pop().unwrap())),
///         Step::WaitUntil(t) => now = now.saturating_add(t.saturating_duration_since(now.instant)),
///         Step::Prompt(Prompt::DeviceCode { user_code, .. }) => shown = Some(user_code),
///         Step::Prompt(_) => {}
///         Step::Done(login) => break login,
///         other => panic!("{other:?}"),
///     }
/// };
/// assert_eq!(shown.as_deref(), Some("WDJB-MJHT"));
/// assert_eq!(done.outcome.credential_type, "oauth");
/// assert_eq!(login.stats().polls, 2);
/// ```
#[derive(Debug)]
pub struct DeviceLogin {
    config: LoginConfig,
    /// The scopes asked for: the tokens' when the token response names none.
    scopes: Vec<String>,
    stats: DeviceStats,
    outbox: Outbox,
    state: State,
}

#[derive(Debug)]
// One state lives in each login; boxing would save nothing.
#[allow(clippy::large_enum_variant)]
enum State {
    Starting(Exchange),
    Polling(DeviceFlow),
    Finishing(OAuthFinish),
    Failed(Error),
    Finished,
}

impl DeviceLogin {
    /// A device login at `endpoint` (the device authorization endpoint) for `scopes`;
    /// the configuration's token endpoint receives the polls.
    pub fn new(endpoint: &str, scopes: &[String], mut config: LoginConfig) -> Self {
        let request = config.client.device_authorization_request(endpoint, scopes);
        let seed = config.next_seed();
        let state = match config.require_token_endpoint() {
            Ok(_) => State::Starting(Exchange::new(request, config.retry, seed)),
            Err(e) => State::Failed(e),
        };
        DeviceLogin {
            config,
            scopes: scopes.to_vec(),
            stats: DeviceStats::default(),
            outbox: Outbox::default(),
            state,
        }
    }

    /// A device login whose authorization response was already received at `now`
    /// (a page or app that requested the code itself): it starts with the prompt.
    pub fn started(
        authorization: crate::device::DeviceAuthorization,
        now: Now,
        config: LoginConfig,
    ) -> Self {
        let checked = config.require_token_endpoint().map(|_| authorization);
        let mut login = DeviceLogin {
            config,
            scopes: Vec::new(),
            stats: DeviceStats::default(),
            outbox: Outbox::default(),
            state: State::Finished,
        };
        login.state = login.begin(now, checked);
        login
    }

    /// The polling counters (kept after polling ends).
    pub fn stats(&self) -> DeviceStats {
        match &self.state {
            State::Polling(flow) => flow.stats(),
            _ => self.stats,
        }
    }

    fn begin(
        &mut self,
        now: Now,
        authorization: Result<crate::device::DeviceAuthorization, Error>,
    ) -> State {
        let authorization = match authorization {
            Ok(a) => a,
            Err(e) => return State::Failed(e),
        };
        let token_endpoint = self.config.token_endpoint.clone().unwrap_or_default();
        let seed = self.config.next_seed();
        let flow = DeviceFlow::with_client(
            authorization,
            token_endpoint,
            self.config.client.clone(),
            now,
            seed,
        )
        .with_requested_scopes(&self.scopes);
        self.outbox.prompt(flow.prompt());
        self.outbox.prompt(Prompt::Waiting("Waiting for approval…"));
        State::Polling(flow)
    }
}

impl Flow for DeviceLogin {
    type Output = Login;

    fn poll(&mut self, now: Now) -> Step<Login> {
        loop {
            if let Some(step) = self.outbox.pop() {
                return step;
            }
            match &mut self.state {
                State::Starting(ex) => match ex.poll(now).outcome() {
                    Err(step) => return step,
                    Ok(outcome) => {
                        let authorization =
                            outcome.and_then(|r| parse_device_authorization(&r, now.wall));
                        self.state = self.begin(now, authorization);
                    }
                },
                State::Polling(flow) => {
                    let step = flow.poll(now);
                    self.stats = flow.stats();
                    match step.outcome() {
                        Err(step) => return step,
                        Ok(result) => {
                            self.outbox.prompt(Prompt::WaitOver);
                            self.state = match result {
                                Ok(tokens) => State::Finishing(OAuthFinish::new(
                                    tokens,
                                    LoginMethod::Device,
                                    self.config.clone(),
                                )),
                                Err(e) => State::Failed(e),
                            };
                        }
                    }
                }
                State::Finishing(finish) => {
                    let step = finish.poll(now);
                    if matches!(step, Step::Done(_) | Step::Failed(_)) {
                        self.state = State::Finished;
                    }
                    return step;
                }
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
        match &mut self.state {
            State::Starting(ex) => ex.handle(now, input),
            State::Polling(flow) => flow.handle(now, input),
            State::Finishing(finish) => finish.handle(now, input),
            State::Failed(_) | State::Finished => {}
        }
    }
}

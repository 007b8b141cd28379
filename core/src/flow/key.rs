//! Logging in with an API key: validation, verification, storing.

use crate::credentials::{Credential, LoginMethod};
use crate::error::Error;
use crate::exchange::Exchange;
use crate::flow::login::{LoginConfig, Save};
use crate::flow::{Flow, Input, Login, LoginOutcome, Step, Verification};
use crate::http::{HttpRequest, HttpResponse, api_error};
use crate::secret::ApiKey;
use crate::time::Now;

/// An API key login. The key is checked with the app's key formats first (a pasted
/// `Bearer …`, quotes or a truncated key fail before any request). With a
/// verification endpoint, one round trip decides what is stored:
///
/// - 2xx: the key is verified; the subject is read from the body;
/// - 401 or 403: the login fails and the stored credential stays as it was;
/// - any other error, or no answer: the key is stored as unverified, with the reason.
///
/// The verification has one overall deadline when
/// [`LoginConfig::verify_within`] is set.
#[derive(Debug)]
pub struct KeyLogin {
    method: LoginMethod,
    config: LoginConfig,
    masked: String,
    key: Option<ApiKey>,
    verification: Verification,
    subject: Option<String>,
    state: State,
}

#[derive(Debug)]
enum State {
    Invalid(Error),
    Start,
    Verifying(Exchange),
    Saving(Save),
    Finished,
}

impl KeyLogin {
    /// A login with `key` (as typed), obtained by `method`.
    pub fn new(key: &str, method: LoginMethod, config: LoginConfig) -> Self {
        let (state, masked, key) = match config.keys.validate(key) {
            Ok(valid) => (
                State::Start,
                valid.masked().to_string(),
                Some(valid.into_key()),
            ),
            Err(problem) => (State::Invalid(problem.into()), String::new(), None),
        };
        KeyLogin {
            method,
            config,
            masked,
            key,
            verification: Verification::NotChecked,
            subject: None,
            state,
        }
    }

    /// What the verification answer means (the rules of the type's docs).
    fn verified(&mut self, now: Now, outcome: Result<HttpResponse, Error>) -> Result<(), Error> {
        (self.verification, self.subject) = match outcome {
            Ok(response) if response.is_success() => (
                Verification::Verified,
                super::login::subject_from_json(&response),
            ),
            Ok(response) => match api_error(&response, now.wall) {
                Some(e @ (Error::Unauthorized { .. } | Error::InsufficientPermissions { .. })) => {
                    return Err(e);
                }
                Some(e) => (
                    Verification::Unverified {
                        reason: e.to_string(),
                    },
                    None,
                ),
                None => (Verification::NotChecked, None),
            },
            Err(Error::Cancelled) => return Err(Error::Cancelled),
            Err(e) => (
                Verification::Unverified {
                    reason: e.to_string(),
                },
                None,
            ),
        };
        Ok(())
    }

    fn save(&mut self, now: Now) {
        let Some(key) = &self.key else {
            self.state = State::Finished;
            return;
        };
        let verified_at = matches!(self.verification, Verification::Verified).then_some(now.wall);
        self.state = State::Saving(Save::new(
            &self.config,
            Credential::ApiKey(key.clone_secret()),
            self.method,
            self.subject.clone(),
            verified_at,
        ));
    }
}

impl Flow for KeyLogin {
    type Output = Login;

    fn poll(&mut self, now: Now) -> Step<Login> {
        loop {
            match &mut self.state {
                State::Invalid(_) => {
                    let State::Invalid(e) = core::mem::replace(&mut self.state, State::Finished)
                    else {
                        continue;
                    };
                    return Step::Failed(e);
                }
                State::Start => match (&self.config.verify, &self.key) {
                    (Some(url), Some(key)) => {
                        let request =
                            HttpRequest::get(url.clone()).with_bearer(key.expose_secret());
                        let seed = self.config.next_seed();
                        let mut exchange = Exchange::new(request, self.config.retry, seed);
                        if let Some(total) = self.config.verify_within {
                            exchange = exchange.with_deadline(now.instant.saturating_add(total));
                        }
                        self.state = State::Verifying(exchange);
                    }
                    _ => self.save(now),
                },
                State::Verifying(ex) => match ex.poll(now).outcome() {
                    Err(step) => return step,
                    Ok(outcome) => match self.verified(now, outcome) {
                        Ok(()) => self.save(now),
                        Err(e) => {
                            self.state = State::Finished;
                            return Step::Failed(e);
                        }
                    },
                },
                State::Saving(save) => {
                    return match save.poll(now).outcome() {
                        Err(step) => step,
                        Ok(result) => {
                            let credential = save.take_credential();
                            self.state = State::Finished;
                            match (result, credential) {
                                (Ok((profile, active)), Some(credential)) => Step::Done(Login {
                                    outcome: LoginOutcome {
                                        profile,
                                        active,
                                        method: self.method,
                                        credential_type: "api_key",
                                        subject: self.subject.take(),
                                        masked_key: Some(core::mem::take(&mut self.masked)),
                                        expires_at: None,
                                        scopes: Vec::new(),
                                        verification: self.verification.clone(),
                                        storage: None,
                                    },
                                    credential,
                                }),
                                (Err(e), _) => Step::Failed(e),
                                (Ok(_), None) => {
                                    Step::Failed(Error::Misuse("the login finished twice"))
                                }
                            }
                        }
                    };
                }
                State::Finished => return Step::Finished,
            }
        }
    }

    fn deadline(&self) -> Option<crate::time::Instant> {
        match &self.state {
            State::Verifying(ex) => Flow::deadline(ex),
            _ => None,
        }
    }

    fn handle(&mut self, now: Now, input: Input) {
        match &mut self.state {
            State::Verifying(ex) => ex.handle(now, input),
            State::Saving(save) => save.handle(now, input),
            State::Start | State::Invalid(_) if matches!(input, Input::Cancel) => {
                self.state = State::Invalid(Error::Cancelled);
            }
            State::Start => self.state = State::Invalid(crate::flow::unexpected(&input)),
            State::Invalid(_) | State::Finished => {}
        }
    }
}

//! Waiting for the loopback callback: the requests the loopback server receives,
//! answered until the one whose `state` matches.

use core::time::Duration;

use crate::authorize::CallbackParams;
use crate::error::Error;
use crate::flow::{Flow, Input, Outbox, Step};
use crate::loopback::{LoopbackEvent, LoopbackHandler};
use crate::time::{Instant, Now};

/// The loopback server's side of a login: every [`Input::Loopback`] is answered
/// by core's [`LoopbackHandler`] with a [`Step::Reply`]; forged, stray and
/// malformed requests are answered and forgotten. The callback whose `state`
/// matches ends the wait ([`Step::StopListening`], then [`Step::Done`] with its
/// parameters: a code, a key or an authorization error). The deadline ends it with
/// [`Error::LoginTimedOut`], [`Input::Cancel`] with [`Error::Cancelled`].
#[derive(Debug)]
pub struct CallbackWait {
    handler: LoopbackHandler,
    deadline: Instant,
    timeout: Duration,
    outbox: Outbox,
    state: State,
}

#[derive(Debug)]
enum State {
    Waiting,
    Received(CallbackParams),
    Failed(Error),
    Finished,
}

impl CallbackWait {
    /// Waits at most `timeout` from `now` for `handler`'s callback.
    pub fn new(handler: LoopbackHandler, now: Now, timeout: Duration) -> Self {
        CallbackWait {
            handler,
            deadline: now.instant.saturating_add(timeout),
            timeout,
            outbox: Outbox::default(),
            state: State::Waiting,
        }
    }

    /// The handler (its configuration: port, limits, accepted credentials).
    pub fn handler(&self) -> &LoopbackHandler {
        &self.handler
    }

    /// Whether the wait is still on (inputs other than loopback requests and
    /// cancellation are misuse while it is).
    pub(crate) fn waiting(&self) -> bool {
        matches!(self.state, State::Waiting)
    }

    /// Ends the wait with `error` (a pasted key won, say): listening stops.
    pub(crate) fn stop(&mut self, error: Error) {
        if self.waiting() {
            self.outbox.push(Step::StopListening);
            self.state = State::Failed(error);
        }
    }
}

impl Flow for CallbackWait {
    type Output = CallbackParams;

    fn poll(&mut self, now: Now) -> Step<CallbackParams> {
        if let Some(step) = self.outbox.pop() {
            return step;
        }
        match self.state {
            State::Waiting if now.instant >= self.deadline => {
                self.state = State::Finished;
                Step::Failed(Error::LoginTimedOut {
                    waited: self.timeout,
                })
            }
            State::Waiting => Step::WaitUntil(self.deadline),
            _ => match core::mem::replace(&mut self.state, State::Finished) {
                State::Received(params) => Step::Done(params),
                State::Failed(e) => Step::Failed(e),
                _ => Step::Finished,
            },
        }
    }

    fn handle(&mut self, _now: Now, input: Input) {
        match input {
            Input::Loopback {
                connection,
                request,
            } => {
                let reply = match request {
                    Ok(request) => self.handler.handle(&request),
                    Err(rejection) => self.handler.reject(rejection),
                };
                self.outbox.push(Step::Reply {
                    connection,
                    response: reply.response,
                    note: reply.note,
                });
                if let (State::Waiting, Some(LoopbackEvent::Callback(params))) =
                    (&self.state, reply.event)
                {
                    self.outbox.push(Step::StopListening);
                    self.state = State::Received(params);
                }
            }
            Input::Cancel => self.stop(Error::Cancelled),
            other if self.waiting() => self.stop(crate::flow::unexpected(&other)),
            _ => {}
        }
    }
}

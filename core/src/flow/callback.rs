//! Waiting for the loopback callback: the requests the loopback server receives,
//! answered until the one whose `state` matches.

use core::time::Duration;

use crate::authorize::CallbackParams;
use crate::error::Error;
use crate::flow::link::{LaunchLink, LinkEvent};
use crate::flow::{Flow, Input, Outbox, Peer, Prompt, Step};
use crate::loopback::{LoopbackEvent, LoopbackHandler, LoopbackReply, LoopbackRequest, Rejection};
use crate::time::{Instant, Now};

/// The loopback server's side of a login: every [`Input::Loopback`] is answered
/// by core's [`LoopbackHandler`] with a [`Step::Reply`]; forged, stray and
/// malformed requests are answered and forgotten. The callback whose `state`
/// matches ends the wait ([`Step::StopListening`], then [`Step::Done`] with its
/// parameters: a code, a key or an authorization error). The deadline ends it with
/// [`Error::LoginTimedOut`], [`Input::Cancel`] with [`Error::Cancelled`].
///
/// Before any of that, two rules of the login's own (issue 10):
///
/// - a request from another user's program ([`Peer::foreign`]) is refused with 403
///   and changes nothing; the first one is reported ([`Prompt::Warning`]);
/// - with a [launch link](LaunchLink) ([`CallbackWait::with_link`]), its first fetch
///   is redirected to the real URL and a second one ends the wait with
///   [`Error::LoginIntercepted`] — also when it arrives right behind the callback,
///   before the wait's result is handed out.
#[derive(Debug)]
pub struct CallbackWait {
    handler: LoopbackHandler,
    link: Option<LaunchLink>,
    warned_foreign: bool,
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
            link: None,
            warned_foreign: false,
            deadline: now.instant.saturating_add(timeout),
            timeout,
            outbox: Outbox::default(),
            state: State::Waiting,
        }
    }

    /// The same wait, serving `link` (see the type docs).
    pub fn with_link(mut self, link: LaunchLink) -> Self {
        self.link = Some(link);
        self
    }

    /// The handler (its configuration: port, limits, accepted credentials).
    pub fn handler(&self) -> &LoopbackHandler {
        &self.handler
    }

    /// The launch link, if the wait serves one.
    pub fn link(&self) -> Option<&LaunchLink> {
        self.link.as_ref()
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

impl CallbackWait {
    /// The answer to one complete request: the peer rule, the launch link, then the
    /// handler.
    fn request(&mut self, request: &LoopbackRequest, peer: Peer) -> LoopbackReply {
        if let Some(uid) = peer.foreign() {
            if !self.warned_foreign {
                self.warned_foreign = true;
                let who = match uid {
                    Some(uid) => [
                        "a program of another user on this computer (uid ",
                        &uid.to_string(),
                        ")",
                    ]
                    .concat(),
                    None => "a program that closed its connection before it could be identified"
                        .to_string(),
                };
                self.outbox.prompt(Prompt::Warning(
                    [
                        "The login's loopback server refused a request from ",
                        &who,
                        ". Someone may be trying to take over this sign-in; it goes on with your browser only.",
                    ]
                    .concat(),
                ));
            }
            return self.handler.reject(Rejection {
                status: 403,
                reason: "This request came from another user's program; it was refused.",
            });
        }
        let host_ok = self.handler.host_is_loopback(request.header("host"));
        match &mut self.link {
            Some(link) if host_ok && LaunchLink::claims(request) => {
                let reply = link.handle(request);
                if reply.event == Some(LinkEvent::Reused)
                    && matches!(self.state, State::Waiting | State::Received(_))
                {
                    self.state = State::Failed(Error::LoginIntercepted);
                }
                LoopbackReply {
                    response: reply.response,
                    event: None,
                    note: reply.note,
                }
            }
            _ => self.handler.handle(request),
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
                peer,
            } => {
                let waiting = self.waiting();
                let reply = match request {
                    Ok(request) => self.request(&request, peer),
                    Err(rejection) => self.handler.reject(rejection),
                };
                self.outbox.push(Step::Reply {
                    connection,
                    response: reply.response,
                    note: reply.note,
                });
                // The launch link ended the wait: listening stops after its reply
                // (a reply queued behind `StopListening` would never be written).
                if waiting && matches!(self.state, State::Failed(_)) {
                    self.outbox.push(Step::StopListening);
                }
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

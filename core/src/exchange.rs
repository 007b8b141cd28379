//! One request with retries, as a state machine.
//!
//! Both shells run every HTTP request through an [`Exchange`], so retry behaviour is
//! decided once, here. The drain rule: call [`Exchange::poll`] until it returns
//! [`ExchangeStep::Finished`]; after `Send`, feed exactly one of
//! [`Exchange::handle_response`] or [`Exchange::handle_transport_error`]; after
//! `WaitUntil`, call `poll` again at or after that instant. Then
//! [`Exchange::finish`] yields the last response (to interpret with
//! [`crate::http::api_error`] or a flow's parser) or the network error.
//!
//! An exchange may have one overall deadline ([`Exchange::with_deadline`]): no retry
//! is scheduled whose wait would end at or after it, and the shell cuts the attempt
//! in flight off at [`Exchange::deadline`] (reporting it as a transport error), so
//! the whole exchange — every attempt and every wait — ends by then, however slowly
//! a server drips its answer.
//!
//! ```
//! use cliauth_core::exchange::{Exchange, ExchangeStep, TransportError};
//! use cliauth_core::retry::RetryPolicy;
//! use cliauth_core::{HttpRequest, HttpResponse, Timestamp};
//! let mut now = Timestamp::from_unix_secs(100);
//! let mut ex = Exchange::new(HttpRequest::get("https://api.example/v1/me"), RetryPolicy::default(), 7);
//! let mut sent = 0;
//! loop {
//!     match ex.poll(now) {
//!         ExchangeStep::Send(_request) => {
//!             sent += 1;
//!             if sent == 1 {
//!                 ex.handle_transport_error(now, TransportError::not_sent("connection refused"));
//!             } else {
//!                 ex.handle_response(now, HttpResponse::new(200));
//!             }
//!         }
//!         ExchangeStep::WaitUntil(t) => now = t,
//!         ExchangeStep::Finished => break,
//!     }
//! }
//! assert_eq!(ex.finish().unwrap().status, 200);
//! assert_eq!(sent, 2);
//! ```

use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::retry::{Attempt, RetryDecision, RetryPolicy};
use crate::rng::SplitMix64;
use crate::time::Timestamp;

/// A transport failure reported by the shell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    /// Whether the request provably never reached the server.
    pub not_sent: bool,
    /// What failed, without URLs or secrets (e.g. `connection refused`, `timed out`).
    pub reason: String,
}

impl TransportError {
    /// The request was not sent (DNS, connect, TLS handshake).
    pub fn not_sent(reason: impl Into<String>) -> Self {
        TransportError {
            not_sent: true,
            reason: reason.into(),
        }
    }

    /// The request may have been processed (timeout, reset after sending).
    pub fn unknown(reason: impl Into<String>) -> Self {
        TransportError {
            not_sent: false,
            reason: reason.into(),
        }
    }
}

/// What the shell should do next.
#[derive(Debug)]
pub enum ExchangeStep<'a> {
    /// Send this request now.
    Send(&'a HttpRequest),
    /// Sleep until this instant, then poll again.
    WaitUntil(Timestamp),
    /// Done: call [`Exchange::finish`].
    Finished,
}

#[derive(Debug)]
enum State {
    Ready,
    InFlight,
    Waiting(Timestamp),
    Done(Result<HttpResponse, Error>),
    Taken,
}

/// A request with retries (see the module docs for the drain rule).
#[derive(Debug)]
pub struct Exchange {
    request: HttpRequest,
    policy: RetryPolicy,
    rng: SplitMix64,
    attempts: u32,
    deadline: Option<Timestamp>,
    state: State,
}

impl Exchange {
    /// A new exchange; `seed` is entropy for backoff jitter.
    pub fn new(request: HttpRequest, policy: RetryPolicy, seed: u64) -> Self {
        Exchange {
            request,
            policy,
            rng: SplitMix64::new(seed),
            attempts: 0,
            deadline: None,
            state: State::Ready,
        }
    }

    /// Sets one overall deadline for the exchange, retries included (see the module
    /// docs).
    #[must_use]
    pub fn with_deadline(mut self, deadline: Timestamp) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The overall deadline, if any: the shell must abandon the attempt in flight at
    /// this instant and report [`TransportError::unknown`] (`timed out`).
    pub fn deadline(&self) -> Option<Timestamp> {
        self.deadline
    }

    /// A retry after `wait` from `now`, unless it would end at or after the deadline.
    fn retry_at(&self, now: Timestamp, wait: core::time::Duration) -> Option<Timestamp> {
        let at = now.saturating_add(wait);
        match self.deadline {
            Some(deadline) if at >= deadline => None,
            _ => Some(at),
        }
    }

    /// The request.
    pub fn request(&self) -> &HttpRequest {
        &self.request
    }

    /// Whether the exchange has an outcome ([`Exchange::finish`] will not report misuse).
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The next step.
    pub fn poll(&mut self, now: Timestamp) -> ExchangeStep<'_> {
        match self.state {
            State::Waiting(until) if now < until => ExchangeStep::WaitUntil(until),
            State::Ready | State::Waiting(_) => {
                self.state = State::InFlight;
                self.attempts += 1;
                ExchangeStep::Send(&self.request)
            }
            // Polling while a response is outstanding is a shell bug; re-sending would
            // break the idempotency rules, so report it instead.
            State::InFlight => {
                self.state = State::Done(Err(Error::Misuse(
                    "Exchange::poll called while a request was in flight",
                )));
                ExchangeStep::Finished
            }
            State::Done(_) | State::Taken => ExchangeStep::Finished,
        }
    }

    /// The response to the last `Send`.
    pub fn handle_response(&mut self, now: Timestamp, response: HttpResponse) {
        if !matches!(self.state, State::InFlight) {
            self.state = State::Done(Err(Error::Misuse("response without a request in flight")));
            return;
        }
        let idempotent = self.request.idempotent;
        let decision = self.policy.decide(
            self.attempts,
            Attempt::Response(&response),
            idempotent,
            now,
            self.rng.next_u32(),
        );
        self.state = match decision {
            RetryDecision::RetryAfter(wait) => match self.retry_at(now, wait) {
                Some(at) => State::Waiting(at),
                None => State::Done(Ok(response)),
            },
            RetryDecision::Stop => State::Done(Ok(response)),
        };
    }

    /// The transport failure of the last `Send`.
    pub fn handle_transport_error(&mut self, now: Timestamp, error: TransportError) {
        if !matches!(self.state, State::InFlight) {
            self.state = State::Done(Err(Error::Misuse(
                "transport error without a request in flight",
            )));
            return;
        }
        let outcome = if error.not_sent {
            Attempt::NotSent
        } else {
            Attempt::OutcomeUnknown
        };
        let decision = self.policy.decide(
            self.attempts,
            outcome,
            self.request.idempotent,
            now,
            self.rng.next_u32(),
        );
        let retry = match decision {
            RetryDecision::RetryAfter(wait) => self.retry_at(now, wait),
            RetryDecision::Stop => None,
        };
        self.state = match retry {
            Some(at) => State::Waiting(at),
            None => State::Done(Err(Error::Network {
                reason: error.reason,
            })),
        };
    }

    /// The outcome: the last response (any status) or the transport error. Calling it
    /// before [`ExchangeStep::Finished`] is reported as [`Error::Misuse`].
    pub fn finish(&mut self) -> Result<HttpResponse, Error> {
        match core::mem::replace(&mut self.state, State::Taken) {
            State::Done(result) => result,
            State::Taken => Err(Error::Misuse("Exchange::finish called twice")),
            other => {
                self.state = other;
                Err(Error::Misuse(
                    "Exchange::finish called before the exchange finished",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    fn run(
        ex: &mut Exchange,
        mut responses: Vec<Result<HttpResponse, TransportError>>,
    ) -> (Result<HttpResponse, Error>, Timestamp) {
        let mut now = Timestamp::from_unix_secs(1000);
        responses.reverse();
        loop {
            match ex.poll(now) {
                ExchangeStep::Send(_) => {
                    match responses.pop().expect("more sends than responses") {
                        Ok(r) => ex.handle_response(now, r),
                        Err(e) => ex.handle_transport_error(now, e),
                    }
                }
                ExchangeStep::WaitUntil(t) => {
                    assert!(t > now);
                    now = t;
                }
                ExchangeStep::Finished => return (ex.finish(), now),
            }
        }
    }

    #[test]
    fn honours_retry_after_then_succeeds() {
        let mut ex = Exchange::new(HttpRequest::get("https://x/"), RetryPolicy::default(), 1);
        let limited = HttpResponse::new(429).with_header("retry-after", "12");
        let (r, end) = run(&mut ex, vec![Ok(limited), Ok(HttpResponse::new(200))]);
        assert_eq!(r.unwrap().status, 200);
        assert_eq!(end, Timestamp::from_unix_secs(1012));
        assert_eq!(ex.attempts(), 2);
    }

    #[test]
    fn gives_up_after_four_attempts_with_last_response() {
        let mut ex = Exchange::new(HttpRequest::get("https://x/"), RetryPolicy::default(), 1);
        let r = (0..4).map(|_| Ok(HttpResponse::new(503))).collect();
        let (r, end) = run(&mut ex, r);
        assert_eq!(r.unwrap().status, 503);
        assert_eq!(ex.attempts(), 4);
        // three backoffs: ≥ 0.25 + 0.5 + 1 s
        assert!(
            end.saturating_duration_since(Timestamp::from_unix_secs(1000))
                >= Duration::from_millis(1750)
        );
    }

    #[test]
    fn unknown_outcome_of_post_is_not_replayed() {
        let mut ex = Exchange::new(
            HttpRequest::post_form("https://x/token", String::new()),
            RetryPolicy::default(),
            1,
        );
        let (r, _) = run(&mut ex, vec![Err(TransportError::unknown("timed out"))]);
        assert_eq!(
            r.unwrap_err(),
            Error::Network {
                reason: "timed out".into()
            }
        );
        assert_eq!(ex.attempts(), 1);
    }

    #[test]
    fn the_deadline_bounds_every_retry() {
        let start = Timestamp::from_unix_secs(1000);
        let deadline = start.saturating_add(Duration::from_millis(2500));
        // A server that times out every attempt: without a deadline, four attempts.
        let mut ex = Exchange::new(HttpRequest::get("https://x/"), RetryPolicy::default(), 1)
            .with_deadline(deadline);
        assert_eq!(ex.deadline(), Some(deadline));
        let mut now = start;
        let mut sent = 0;
        loop {
            match ex.poll(now) {
                ExchangeStep::Send(_) => {
                    sent += 1;
                    // each attempt is cut off after 1 s (or at the deadline)
                    now = now.saturating_add(Duration::from_secs(1)).min(deadline);
                    ex.handle_transport_error(now, TransportError::unknown("timed out"));
                }
                ExchangeStep::WaitUntil(t) => {
                    assert!(t < deadline, "a retry scheduled past the deadline");
                    now = t;
                }
                ExchangeStep::Finished => break,
            }
        }
        assert!(now <= deadline);
        assert!(sent < 4, "{sent} attempts");
        assert_eq!(
            ex.finish(),
            Err(Error::Network {
                reason: "timed out".into()
            })
        );
        // A 503 whose Retry-After ends past the deadline: the 503 is the outcome.
        let mut ex = Exchange::new(HttpRequest::get("https://x/"), RetryPolicy::default(), 1)
            .with_deadline(start.saturating_add(Duration::from_secs(5)));
        let (r, end) = run(
            &mut ex,
            vec![Ok(HttpResponse::new(503).with_header("retry-after", "10"))],
        );
        assert_eq!((r.unwrap().status, end), (503, start));
    }

    #[test]
    fn misuse_is_reported_not_panicked() {
        let mut ex = Exchange::new(HttpRequest::get("https://x/"), RetryPolicy::default(), 1);
        assert!(ex.finish().is_err());
        ex.handle_response(Timestamp::EPOCH, HttpResponse::new(200));
        assert!(matches!(ex.finish(), Err(Error::Misuse(_))));
        let mut ex = Exchange::new(HttpRequest::get("https://x/"), RetryPolicy::default(), 1);
        let _ = ex.poll(Timestamp::EPOCH);
        assert!(matches!(ex.poll(Timestamp::EPOCH), ExchangeStep::Finished));
        assert!(matches!(ex.finish(), Err(Error::Misuse(_))));
    }
}

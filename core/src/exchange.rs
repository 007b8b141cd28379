//! One request with retries, as a [flow](crate::flow).
//!
//! Both shells run every HTTP request through an [`Exchange`], so retry behaviour is
//! decided once, here: [`Step::Send`] the request, answer it, and the exchange either
//! asks to wait ([`Step::WaitUntil`], a backoff or `Retry-After`) and sends again, or
//! ends with the last response ([`Step::Done`], any status: interpret it with
//! [`crate::http::api_error`] or a flow's parser) or the network error
//! ([`Step::Failed`]). The drain rule is [`Step`]'s.
//!
//! An exchange may have one overall deadline ([`Exchange::with_deadline`], on the
//! monotonic clock): no retry is scheduled whose wait would end at or after it, and
//! the shell cuts the attempt in flight off at [`Flow::deadline`] (answering it as a
//! transport error), so the whole exchange — every attempt and every wait — ends by
//! then, however slowly a server drips its answer.
//!
//! ```
//! use cliauth_core::exchange::{Exchange, TransportError};
//! use cliauth_core::flow::{Flow, Input, Step};
//! use cliauth_core::retry::RetryPolicy;
//! use cliauth_core::time::Now;
//! use cliauth_core::{HttpRequest, HttpResponse, Timestamp};
//! let mut now = Now::from_wall(Timestamp::from_unix_secs(100));
//! let mut ex = Exchange::new(HttpRequest::get("https://api.example/v1/me"), RetryPolicy::default(), 7);
//! let mut sent = 0;
//! let response = loop {
//!     match ex.poll(now) {
//!         Step::Send(_request) => {
//!             sent += 1;
//!             let answer = if sent == 1 {
//!                 Input::TransportError(TransportError::not_sent("connection refused"))
//!             } else {
//!                 Input::Response(HttpResponse::new(200))
//!             };
//!             ex.handle(now, answer);
//!         }
//!         Step::WaitUntil(t) => now = now.saturating_add(t.saturating_duration_since(now.instant)),
//!         Step::Done(response) => break response,
//!         other => panic!("{other:?}"),
//!     }
//! };
//! assert_eq!(response.status, 200);
//! assert_eq!(sent, 2);
//! ```

use crate::error::{Cause, Error};
use crate::flow::{Flow, Input, Step};
use crate::http::{HttpRequest, HttpResponse};
use crate::retry::{Attempt, RetryDecision, RetryPolicy};
use crate::rng::SplitMix64;
use crate::time::{Instant, Now};

/// A transport failure reported by the shell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    /// Whether the request provably never reached the server.
    pub not_sent: bool,
    /// What failed, without URLs or secrets (e.g. `connection refused`, `timed out`).
    pub reason: String,
    /// The transport's own error, kept as the [`Error::Network`]'s source.
    pub source: Option<Cause>,
}

impl TransportError {
    /// The request was not sent (DNS, connect, TLS handshake).
    pub fn not_sent(reason: impl Into<String>) -> Self {
        TransportError {
            not_sent: true,
            reason: reason.into(),
            source: None,
        }
    }

    /// The request may have been processed (timeout, reset after sending).
    pub fn unknown(reason: impl Into<String>) -> Self {
        TransportError {
            not_sent: false,
            reason: reason.into(),
            source: None,
        }
    }

    /// This error with the transport's own error kept as its source (strip URLs
    /// from it first: they can carry query parameters).
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Cause::new(source));
        self
    }
}

#[derive(Debug)]
enum State {
    Ready,
    InFlight,
    Waiting(Instant),
    Done(Result<HttpResponse, Error>),
    Finished,
}

/// A request with retries (see the module docs).
#[derive(Debug)]
pub struct Exchange {
    request: HttpRequest,
    policy: RetryPolicy,
    rng: SplitMix64,
    attempts: u32,
    deadline: Option<Instant>,
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
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The overall deadline, if any (the shell reads it through [`Flow::deadline`]
    /// while a request is in flight).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// A retry after `wait` from `now`, unless it would end at or after the deadline.
    fn retry_at(&self, now: Now, wait: core::time::Duration) -> Option<Instant> {
        let at = now.instant.saturating_add(wait);
        match self.deadline {
            Some(deadline) if at >= deadline => None,
            _ => Some(at),
        }
    }

    /// The request.
    pub fn request(&self) -> &HttpRequest {
        &self.request
    }

    /// Whether a request is in flight (sent and not answered).
    pub fn in_flight(&self) -> bool {
        matches!(self.state, State::InFlight)
    }

    /// Whether the exchange has its outcome and the next [`poll`](Flow::poll) hands
    /// it out (the answer arrived, nobody has read it yet).
    pub fn settled(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The most attempts the policy allows.
    pub fn max_attempts(&self) -> u32 {
        self.policy.max_attempts
    }

    fn decide(&mut self, now: Now, outcome: Attempt<'_>) -> RetryDecision {
        self.policy.decide(
            self.attempts,
            outcome,
            self.request.idempotent,
            now.wall,
            self.rng.next_u32(),
        )
    }
}

impl Flow for Exchange {
    type Output = HttpResponse;

    fn poll(&mut self, now: Now) -> Step<HttpResponse> {
        match self.state {
            State::Waiting(until) if now.instant < until => Step::WaitUntil(until),
            State::Ready | State::Waiting(_) => {
                self.state = State::InFlight;
                self.attempts += 1;
                Step::Send(self.request.clone_secret())
            }
            // Polling while a response is outstanding is a shell bug; re-sending would
            // break the idempotency rules, so report it instead.
            State::InFlight => {
                self.state = State::Finished;
                Step::Failed(Error::Misuse(
                    "Exchange::poll called while a request was in flight",
                ))
            }
            State::Done(_) => match core::mem::replace(&mut self.state, State::Finished) {
                State::Done(Ok(response)) => Step::Done(response),
                State::Done(Err(e)) => Step::Failed(e),
                _ => Step::Finished,
            },
            State::Finished => Step::Finished,
        }
    }

    fn handle(&mut self, now: Now, input: Input) {
        if matches!(self.state, State::Done(_) | State::Finished) {
            return;
        }
        if let Input::Cancel = input {
            self.state = State::Done(Err(Error::Cancelled));
            return;
        }
        if !matches!(self.state, State::InFlight) {
            self.state = State::Done(Err(crate::flow::unexpected(&input)));
            return;
        }
        self.state = match input {
            Input::Response(response) => match self.decide(now, Attempt::Response(&response)) {
                RetryDecision::RetryAfter(wait) => match self.retry_at(now, wait) {
                    Some(at) => State::Waiting(at),
                    None => State::Done(Ok(response)),
                },
                RetryDecision::Stop => State::Done(Ok(response)),
            },
            Input::TransportError(error) => {
                let outcome = if error.not_sent {
                    Attempt::NotSent
                } else {
                    Attempt::OutcomeUnknown
                };
                let retry = match self.decide(now, outcome) {
                    RetryDecision::RetryAfter(wait) => self.retry_at(now, wait),
                    RetryDecision::Stop => None,
                };
                match retry {
                    Some(at) => State::Waiting(at),
                    None => State::Done(Err(Error::network(error.reason).with_cause(error.source))),
                }
            }
            Input::SendFailed(e) => State::Done(Err(e)),
            other => State::Done(Err(crate::flow::unexpected(&other))),
        };
    }

    fn deadline(&self) -> Option<Instant> {
        self.deadline.filter(|_| self.in_flight())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;
    use core::time::Duration;

    fn run(
        ex: &mut Exchange,
        mut responses: Vec<Result<HttpResponse, TransportError>>,
    ) -> (Result<HttpResponse, Error>, Timestamp) {
        let mut now = Now::from_wall(Timestamp::from_unix_secs(1000));
        responses.reverse();
        loop {
            match ex.poll(now) {
                Step::Send(_) => match responses.pop().expect("more sends than responses") {
                    Ok(r) => ex.handle(now, Input::Response(r)),
                    Err(e) => ex.handle(now, Input::TransportError(e)),
                },
                Step::WaitUntil(t) => {
                    assert!(t > now.instant);
                    now = now.saturating_add(t.saturating_duration_since(now.instant));
                }
                Step::Done(r) => return (Ok(r), now.wall),
                Step::Failed(e) => return (Err(e), now.wall),
                other => panic!("{other:?}"),
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
        assert_eq!(r.unwrap_err(), Error::network("timed out"));
        assert_eq!(ex.attempts(), 1);
    }

    #[test]
    fn the_deadline_bounds_every_retry() {
        let start = Now::from_wall(Timestamp::from_unix_secs(1000));
        let deadline = start.instant.saturating_add(Duration::from_millis(2500));
        // A server that times out every attempt: without a deadline, four attempts.
        let mut ex = Exchange::new(HttpRequest::get("https://x/"), RetryPolicy::default(), 1)
            .with_deadline(deadline);
        assert_eq!(ex.deadline(), Some(deadline));
        let mut now = start;
        let mut sent = 0;
        let outcome = loop {
            match ex.poll(now) {
                Step::Send(_) => {
                    sent += 1;
                    // the shell cuts each attempt off at the deadline
                    assert_eq!(Flow::deadline(&ex), Some(deadline));
                    // each attempt is cut off after 1 s (or at the deadline)
                    let cut = now
                        .instant
                        .saturating_add(Duration::from_secs(1))
                        .min(deadline);
                    now = now.saturating_add(cut.saturating_duration_since(now.instant));
                    ex.handle(
                        now,
                        Input::TransportError(TransportError::unknown("timed out")),
                    );
                }
                Step::WaitUntil(t) => {
                    assert!(t < deadline, "a retry scheduled past the deadline");
                    assert_eq!(Flow::deadline(&ex), None, "nothing in flight");
                    now = now.saturating_add(t.saturating_duration_since(now.instant));
                }
                Step::Done(r) => break Ok(r),
                Step::Failed(e) => break Err(e),
                other => panic!("{other:?}"),
            }
        };
        assert!(now.instant <= deadline);
        assert!(sent < 4, "{sent} attempts");
        assert_eq!(outcome, Err(Error::network("timed out")));
        // A 503 whose Retry-After ends past the deadline: the 503 is the outcome.
        let mut ex = Exchange::new(HttpRequest::get("https://x/"), RetryPolicy::default(), 1)
            .with_deadline(start.instant.saturating_add(Duration::from_secs(5)));
        let (r, end) = run(
            &mut ex,
            vec![Ok(HttpResponse::new(503).with_header("retry-after", "10"))],
        );
        assert_eq!((r.unwrap().status, end), (503, start.wall));
    }

    #[test]
    fn misuse_is_reported_not_panicked() {
        let now = Now::from_wall(Timestamp::EPOCH);
        let mut ex = Exchange::new(HttpRequest::get("https://x/"), RetryPolicy::default(), 1);
        ex.handle(now, Input::Response(HttpResponse::new(200)));
        assert!(matches!(ex.poll(now), Step::Failed(Error::Misuse(_))));
        let mut ex = Exchange::new(HttpRequest::get("https://x/"), RetryPolicy::default(), 1);
        let _ = ex.poll(now);
        assert!(matches!(ex.poll(now), Step::Failed(Error::Misuse(_))));
        assert!(matches!(ex.poll(now), Step::Finished));
    }
}

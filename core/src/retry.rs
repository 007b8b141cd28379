//! Retry decisions: when to try a request again and how long to wait.
//!
//! The shell executes a request, then asks [`RetryPolicy::decide`] with the outcome,
//! the attempt number and a random value for jitter. Rules:
//!
//! - at most [`RetryPolicy::max_attempts`] attempts (default 4);
//! - exponential backoff (0.5 s, 1 s, 2 s, … capped) with "equal jitter": half the
//!   delay fixed, half random from the caller's entropy;
//! - `Retry-After` is honoured exactly, up to [`RetryPolicy::max_retry_after`]; a longer
//!   wait stops retrying so the caller can report it (`Retry in 1h …`);
//! - 429 and 503 mean "not processed", so they are retried even for non-idempotent
//!   requests; other 5xx and 408 only for idempotent ones;
//! - a transport error before the request was sent is always retryable; one after
//!   (timeout, reset) leaves the outcome unknown and is retried only when the request
//!   is idempotent — a token request that rotates a refresh token is never replayed.
//!
//! ```
//! use core::time::Duration;
//! use cliauth_core::retry::{Attempt, RetryDecision, RetryPolicy};
//! use cliauth_core::{HttpResponse, Timestamp};
//! let policy = RetryPolicy::default();
//! let limited = HttpResponse::new(429).with_header("retry-after", "12");
//! let d = policy.decide(1, Attempt::Response(&limited), false, Timestamp::EPOCH, 0);
//! assert_eq!(d, RetryDecision::RetryAfter(Duration::from_secs(12)));
//! let d = policy.decide(4, Attempt::Response(&limited), false, Timestamp::EPOCH, 0);
//! assert_eq!(d, RetryDecision::Stop);
//! ```

use core::time::Duration;

use crate::http::{HttpResponse, parse_retry_after};
use crate::time::Timestamp;

/// How an attempt ended.
#[derive(Clone, Copy, Debug)]
pub enum Attempt<'a> {
    /// A response arrived.
    Response(&'a HttpResponse),
    /// The request was provably not sent (DNS failure, connection refused, TLS
    /// handshake failure before the request).
    NotSent,
    /// The request may have reached the server (timeout or reset after sending).
    OutcomeUnknown,
}

/// What to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long, then send the request again.
    RetryAfter(Duration),
    /// Do not retry; report the outcome.
    Stop,
}

/// Retry limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Total attempts including the first (default 4).
    pub max_attempts: u32,
    /// Backoff before the second attempt (default 500 ms); doubles each time.
    pub initial_backoff: Duration,
    /// Longest computed backoff (default 8 s).
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured automatically (default 60 s).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Decides after attempt number `attempt` (1-based). `jitter` is any random `u32`
    /// from the shell's entropy source.
    pub fn decide(
        &self,
        attempt: u32,
        outcome: Attempt<'_>,
        idempotent: bool,
        now: Timestamp,
        jitter: u32,
    ) -> RetryDecision {
        if attempt >= self.max_attempts {
            return RetryDecision::Stop;
        }
        let backoff = self.backoff(attempt, jitter);
        match outcome {
            Attempt::NotSent => RetryDecision::RetryAfter(backoff),
            Attempt::OutcomeUnknown if idempotent => RetryDecision::RetryAfter(backoff),
            Attempt::OutcomeUnknown => RetryDecision::Stop,
            Attempt::Response(r) => {
                let retry_after = r
                    .header("retry-after")
                    .and_then(|v| parse_retry_after(v, now));
                let not_processed = r.status == 429 || r.status == 503;
                let retryable =
                    not_processed || idempotent && matches!(r.status, 408 | 500 | 502 | 504);
                if !retryable {
                    return RetryDecision::Stop;
                }
                match retry_after {
                    Some(wait) if wait > self.max_retry_after => RetryDecision::Stop,
                    Some(wait) => RetryDecision::RetryAfter(wait),
                    None => RetryDecision::RetryAfter(backoff),
                }
            }
        }
    }

    /// The jittered backoff after attempt `attempt` (1-based): a delay `d` of
    /// `initial × 2^(attempt-1)` capped at `max_backoff`, then `d/2 + jitter mod d/2`.
    pub fn backoff(&self, attempt: u32, jitter: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let half = u64::try_from(base.as_millis() / 2).unwrap_or(u64::MAX);
        if half == 0 {
            return base;
        }
        Duration::from_millis(half + u64::from(jitter) % half)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::EPOCH;

    #[test]
    fn backoff_grows_with_jitter_bounds() {
        let p = RetryPolicy::default();
        for attempt in 1..=6 {
            let lo = p.backoff(attempt, 0);
            let hi = p.backoff(attempt, u32::MAX - 1);
            let full = p
                .initial_backoff
                .saturating_mul(1 << (attempt - 1))
                .min(p.max_backoff);
            assert!(
                lo >= full / 2 && hi <= full,
                "{attempt}: {lo:?} {hi:?} {full:?}"
            );
        }
        assert_eq!(p.backoff(1, 0), Duration::from_millis(250));
        assert_eq!(p.backoff(30, 0), Duration::from_secs(4));
    }

    #[test]
    fn never_replays_unknown_non_idempotent() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(1, Attempt::OutcomeUnknown, false, NOW, 0),
            RetryDecision::Stop
        );
        assert!(matches!(
            p.decide(1, Attempt::OutcomeUnknown, true, NOW, 0),
            RetryDecision::RetryAfter(_)
        ));
        assert!(matches!(
            p.decide(1, Attempt::NotSent, false, NOW, 0),
            RetryDecision::RetryAfter(_)
        ));
        let r500 = HttpResponse::new(500);
        assert_eq!(
            p.decide(1, Attempt::Response(&r500), false, NOW, 0),
            RetryDecision::Stop
        );
        assert!(matches!(
            p.decide(1, Attempt::Response(&r500), true, NOW, 0),
            RetryDecision::RetryAfter(_)
        ));
        let r503 = HttpResponse::new(503).with_header("Retry-After", "2");
        assert_eq!(
            p.decide(1, Attempt::Response(&r503), false, NOW, 0),
            RetryDecision::RetryAfter(Duration::from_secs(2))
        );
    }

    #[test]
    fn caps_and_limits() {
        let p = RetryPolicy::default();
        let long = HttpResponse::new(429).with_header("Retry-After", "3600");
        assert_eq!(
            p.decide(1, Attempt::Response(&long), true, NOW, 0),
            RetryDecision::Stop
        );
        let ok = HttpResponse::new(200);
        assert_eq!(
            p.decide(1, Attempt::Response(&ok), true, NOW, 0),
            RetryDecision::Stop
        );
        let bad = HttpResponse::new(400);
        assert_eq!(
            p.decide(1, Attempt::Response(&bad), true, NOW, 0),
            RetryDecision::Stop
        );
        assert_eq!(
            p.decide(4, Attempt::NotSent, true, NOW, 0),
            RetryDecision::Stop
        );
        assert_eq!(
            RetryPolicy::never().decide(1, Attempt::NotSent, true, NOW, 0),
            RetryDecision::Stop
        );
    }
}

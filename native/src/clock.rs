//! The two clocks flows run on: a monotonic one for waits and timeouts, the wall
//! clock for expiry and dates (core's [`Now`]).
//!
//! [`SystemClock`] reads `std::time::Instant` and `SystemTime` and sleeps with tokio.
//! An [`Authenticator`](crate::Authenticator) takes any [`Clock`]
//! ([`AuthenticatorBuilder::clock`](crate::AuthenticatorBuilder::clock)), so tests can
//! run whole logins and refreshes on a virtual clock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use cliauth_core::{Instant, Now};

/// A future the driver awaits.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A source of time for flows.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Both clocks, now.
    fn now(&self) -> Now;

    /// Completes when the monotonic clock reaches `at` (at once if it has).
    fn sleep_until(&self, at: Instant) -> Sleep<'_>;
}

/// The system's clocks: `Instant` (monotonic, from the first reading in this process)
/// and `SystemTime`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

/// The process's origin of monotonic time.
fn origin() -> std::time::Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(std::time::Instant::now)
}

impl SystemClock {
    fn instant() -> Instant {
        let since = origin().elapsed();
        Instant::from_millis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Now {
        Now::new(Self::instant(), crate::sys::now())
    }

    fn sleep_until(&self, at: Instant) -> Sleep<'_> {
        let wait = at.saturating_duration_since(Self::instant());
        Box::pin(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        })
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> Now {
        (**self).now()
    }

    fn sleep_until(&self, at: Instant) -> Sleep<'_> {
        (**self).sleep_until(at)
    }
}

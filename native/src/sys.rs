//! The few things core takes as arguments: the wall clock and OS entropy.

use std::time::SystemTime;

use cliauth_core::{Error, Timestamp};

/// The wall clock now, as core's [`Timestamp`].
pub fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

/// Fills an array with OS randomness.
pub(crate) fn entropy<const N: usize>() -> Result<[u8; N], Error> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|_| {
        Error::invalid_config("the operating system did not provide random numbers")
    })?;
    Ok(buf)
}

/// A random `u64` seed for core's jitter.
pub(crate) fn seed() -> u64 {
    entropy::<8>().map(u64::from_le_bytes).unwrap_or_else(|_| {
        // Jitter only spreads retries; the clock is an acceptable fallback.
        now().unix_millis() ^ u64::from(std::process::id()).rotate_left(32)
    })
}

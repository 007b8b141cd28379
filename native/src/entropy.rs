//! Where an [`Authenticator`](crate::Authenticator) gets its randomness: the PKCE
//! verifier, `state` and OpenID nonce of a login, and the seeds of core's backoff
//! jitter (core takes them as bytes).
//!
//! [`OsEntropy`] reads the operating system's generator. An
//! [`Authenticator`](crate::Authenticator) takes any [`Entropy`]
//! ([`AuthenticatorBuilder::entropy`](crate::AuthenticatorBuilder::entropy)), so a test
//! can run a browser login whose `state`, verifier and nonce are known — with the
//! clock and the transport, the whole login is then a replayable transcript.

use std::fmt;

use cliauth_core::Error;

/// A source of secret random bytes.
pub trait Entropy: Send + Sync + fmt::Debug {
    /// Fills `buf` entirely, or fails.
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error>;
}

/// The operating system's generator (getrandom).
#[derive(Clone, Copy, Debug, Default)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        getrandom::fill(buf).map_err(|e| {
            Error::invalid_config("the operating system did not provide random numbers")
                .with_source(e)
        })
    }
}

impl<E: Entropy + ?Sized> Entropy for std::sync::Arc<E> {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        (**self).fill(buf)
    }
}

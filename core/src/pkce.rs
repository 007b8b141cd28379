//! PKCE, Proof Key for Code Exchange (RFC 7636).
//!
//! The verifier is made from entropy the caller supplies (32 bytes → 43 characters,
//! up to 96 bytes → 128 characters); the challenge is `S256` unless the caller
//! explicitly allows `plain` for a server that supports nothing else.
//!
//! ```
//! use cliauth_core::pkce::{PkceMethod, PkceVerifier};
//! // RFC 7636 Appendix B
//! let entropy = [116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186,
//!                22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121];
//! let verifier = PkceVerifier::from_entropy(&entropy);
//! assert_eq!(verifier.expose_secret(), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
//! let challenge = verifier.challenge(PkceMethod::S256);
//! assert_eq!(challenge.as_str(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
//! ```

use core::fmt;

use sha2::{Digest, Sha256};

use crate::encoding::b64url_encode;
use crate::error::Error;
use crate::secret::SecretString;

/// Minimum verifier length (RFC 7636 §4.1).
pub const MIN_VERIFIER_LEN: usize = 43;
/// Maximum verifier length (RFC 7636 §4.1).
pub const MAX_VERIFIER_LEN: usize = 128;

/// A code verifier: 43–128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
/// Secret: not `Clone`, not printed, zeroized on drop.
#[derive(PartialEq, Eq)]
pub struct PkceVerifier(SecretString);

impl PkceVerifier {
    /// A 43-character verifier from 32 bytes of entropy (the RFC's recommendation).
    pub fn from_entropy(entropy: &[u8; 32]) -> Self {
        PkceVerifier(SecretString::new(b64url_encode(entropy)))
    }

    /// A verifier from 32 to 96 bytes of entropy (43 to 128 characters).
    pub fn from_entropy_bytes(entropy: &[u8]) -> Result<Self, Error> {
        if !(32..=96).contains(&entropy.len()) {
            return Err(Error::InvalidArgument {
                name: "PKCE entropy".into(),
                reason: format!("need 32 to 96 bytes, got {}", entropy.len()),
            });
        }
        Ok(PkceVerifier(SecretString::new(b64url_encode(entropy))))
    }

    /// Wraps an existing verifier after checking its length and characters.
    pub fn new(verifier: impl Into<String>) -> Result<Self, Error> {
        let verifier = SecretString::new(verifier);
        let v = verifier.expose_secret();
        if !(MIN_VERIFIER_LEN..=MAX_VERIFIER_LEN).contains(&v.len()) {
            return Err(Error::InvalidArgument {
                name: "PKCE verifier".into(),
                reason: format!("must be 43 to 128 characters, got {}", v.len()),
            });
        }
        if !v.bytes().all(is_unreserved) {
            return Err(Error::InvalidArgument {
                name: "PKCE verifier".into(),
                reason: "may contain only A-Z a-z 0-9 - . _ ~".into(),
            });
        }
        Ok(PkceVerifier(verifier))
    }

    /// The verifier, for the token request.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// An explicit copy.
    pub fn clone_secret(&self) -> Self {
        PkceVerifier(self.0.clone_secret())
    }

    /// The challenge for `method`.
    pub fn challenge(&self, method: PkceMethod) -> PkceChallenge {
        let value = match method {
            PkceMethod::S256 => b64url_encode(&Sha256::digest(self.0.expose_secret().as_bytes())),
            PkceMethod::Plain => self.0.expose_secret().to_string(),
        };
        PkceChallenge { value, method }
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier([redacted])")
    }
}

/// RFC 3986 unreserved characters.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// A code challenge method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PkceMethod {
    /// `BASE64URL(SHA256(verifier))`. Always preferred.
    S256,
    /// The verifier itself. Offers no protection if the authorization request leaks;
    /// only used when explicitly allowed.
    Plain,
}

impl PkceMethod {
    /// The `code_challenge_method` parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            PkceMethod::S256 => "S256",
            PkceMethod::Plain => "plain",
        }
    }

    /// Chooses the method given the server's `code_challenge_methods_supported`
    /// (absent means unknown: use S256, which every compliant server supports).
    /// `plain` is refused unless `allow_plain` is set and S256 is not offered.
    pub fn negotiate(
        server_supported: Option<&[String]>,
        allow_plain: bool,
    ) -> Result<Self, Error> {
        let Some(list) = server_supported else {
            return Ok(PkceMethod::S256);
        };
        if list.iter().any(|m| m == "S256") {
            return Ok(PkceMethod::S256);
        }
        if list.iter().any(|m| m == "plain") {
            if allow_plain {
                return Ok(PkceMethod::Plain);
            }
            return Err(Error::invalid_config(
                "the authorization server supports only the `plain` PKCE method, which \
                         is refused unless explicitly allowed",
            ));
        }
        Err(Error::invalid_config(
            "the authorization server does not support PKCE S256",
        ))
    }
}

/// A code challenge and its method; public information sent in the authorization URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkceChallenge {
    value: String,
    method: PkceMethod,
}

impl PkceChallenge {
    /// The `code_challenge` parameter value.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The method.
    pub fn method(&self) -> PkceMethod {
        self.method
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_lengths() {
        assert_eq!(
            PkceVerifier::from_entropy(&[0; 32]).expose_secret().len(),
            43
        );
        assert_eq!(
            PkceVerifier::from_entropy_bytes(&[7; 96])
                .unwrap()
                .expose_secret()
                .len(),
            128
        );
        assert!(PkceVerifier::from_entropy_bytes(&[7; 31]).is_err());
        assert!(PkceVerifier::from_entropy_bytes(&[7; 97]).is_err());
        assert!(PkceVerifier::new("a".repeat(42)).is_err());
        assert!(PkceVerifier::new("a".repeat(129)).is_err());
        assert!(PkceVerifier::new(format!("{}+", "a".repeat(42))).is_err());
        assert!(PkceVerifier::new("a~._-".repeat(10)).is_ok());
    }

    #[test]
    fn plain_refused_unless_allowed() {
        let plain = vec!["plain".to_string()];
        let both = vec!["plain".to_string(), "S256".to_string()];
        assert_eq!(
            PkceMethod::negotiate(None, false).unwrap(),
            PkceMethod::S256
        );
        assert_eq!(
            PkceMethod::negotiate(Some(&both), true).unwrap(),
            PkceMethod::S256
        );
        assert!(PkceMethod::negotiate(Some(&plain), false).is_err());
        assert_eq!(
            PkceMethod::negotiate(Some(&plain), true).unwrap(),
            PkceMethod::Plain
        );
        assert!(PkceMethod::negotiate(Some(&[]), true).is_err());
        let v = PkceVerifier::from_entropy(&[1; 32]);
        assert_eq!(v.challenge(PkceMethod::Plain).as_str(), v.expose_secret());
        assert!(!format!("{v:?}").contains(v.expose_secret()));
    }
}

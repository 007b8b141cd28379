//! CSRF `state` and OpenID `nonce` values.
//!
//! Both are made from caller-supplied entropy (32 bytes → 43 base64url characters) and
//! verified in constant time. The values travel in URLs, so they are not long-term
//! secrets, but they are still kept out of `Debug` output and logs: a leaked `state`
//! lets a forged callback pass the CSRF check during the login it belongs to.

use core::fmt;

use crate::encoding::{b64url_encode, decimal};
use crate::error::Error;
use crate::secret::{SecretString, constant_time_eq};

/// Shortest `state` accepted from outside (a handoff URL, a configured value).
pub const MIN_STATE_LEN: usize = 16;
/// Longest `state` accepted from outside.
pub const MAX_STATE_LEN: usize = 256;

macro_rules! random_token {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(PartialEq, Eq)]
        pub struct $name(SecretString);

        impl $name {
            /// A fresh value from 32 bytes of entropy.
            pub fn from_entropy(entropy: &[u8; 32]) -> Self {
                $name(SecretString::new(b64url_encode(entropy)))
            }

            /// Accepts a value made elsewhere, after checking length (16–256) and that
            /// it holds only URL-safe characters (`A-Z a-z 0-9 - . _ ~`).
            pub fn new(value: impl Into<String>) -> Result<Self, Error> {
                let value = SecretString::new(value);
                check_token_text(value.expose_secret(), $what)?;
                Ok($name(value))
            }

            /// Constant-time comparison with a received value.
            pub fn verify(&self, received: &str) -> bool {
                constant_time_eq(self.0.expose_secret().as_bytes(), received.as_bytes())
            }

            /// The value, to put in a URL.
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }

            /// An explicit copy.
            pub fn clone_secret(&self) -> Self {
                $name(self.0.clone_secret())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

random_token!(
    /// The OAuth `state` parameter (RFC 6749 §10.12), also used by the cli-auth handoff.
    StateToken,
    "state"
);
random_token!(
    /// The OpenID Connect `nonce` parameter.
    Nonce,
    "nonce"
);

/// Checks text received as a `state`: 16–256 characters of `A-Z a-z 0-9 - . _ ~`.
pub fn check_token_text(value: &str, what: &str) -> Result<(), Error> {
    if !(MIN_STATE_LEN..=MAX_STATE_LEN).contains(&value.len()) {
        return Err(Error::InvalidArgument {
            name: what.to_string(),
            reason: [
                "must be ",
                &decimal(MIN_STATE_LEN as u64),
                " to ",
                &decimal(MAX_STATE_LEN as u64),
                " characters, got ",
                &decimal(value.len() as u64),
            ]
            .concat(),
        });
    }
    if !value.bytes().all(crate::pkce::is_unreserved) {
        return Err(Error::InvalidArgument {
            name: what.to_string(),
            reason: "may contain only A-Z a-z 0-9 - . _ ~".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_from_entropy_and_verify() {
        let s = StateToken::from_entropy(&[9; 32]);
        assert_eq!(s.expose_secret().len(), 43);
        assert!(s.verify(s.expose_secret()));
        assert!(!s.verify(""));
        assert!(!s.verify(&s.expose_secret()[..42]));
        let mut tampered = s.expose_secret().to_string();
        tampered.replace_range(0..1, if tampered.starts_with('A') { "B" } else { "A" });
        assert!(!s.verify(&tampered));
        assert!(!format!("{s:?}").contains(s.expose_secret()));
        assert_ne!(
            StateToken::from_entropy(&[1; 32]),
            StateToken::from_entropy(&[2; 32])
        );
    }

    #[test]
    fn external_values_checked() {
        assert!(StateToken::new("short").is_err());
        assert!(StateToken::new("a".repeat(257)).is_err());
        assert!(StateToken::new("abcdefghijklmnop<").is_err());
        assert!(Nonce::new("abcdefghijklmnop").is_ok());
    }
}

//! Secret values as types.
//!
//! Every token, key, code and verifier that cliauth handles is wrapped in a newtype
//! from this module:
//!
//! - `Debug` and `Display` print `[redacted]`, so a secret cannot reach a log line,
//!   an error message or a panic message by accident;
//! - the value is reached only through an explicit `expose_secret()`;
//! - the memory is zeroized on drop;
//! - there is no `Clone`: copying a secret is spelled `clone_secret()`;
//! - equality is constant-time;
//! - there is no `Serialize`: the credentials document writes secrets through an
//!   explicit helper, so `serde_json::to_string(&token)` does not compile.
//!
//! ```
//! use cliauth_core::secret::AccessToken;
//! let token = AccessToken::new("abc123");
//! assert_eq!(format!("{token:?}"), "AccessToken([redacted])");
//! assert_eq!(format!("{token}"), "[redacted]");
//! assert_eq!(token.expose_secret(), "abc123");
//! ```

use core::fmt;

use serde::{Deserialize, Deserializer};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Constant-time comparison of two byte strings.
///
/// The lengths are not secret (they are compared first); the contents are compared
/// without an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A string that must never be printed, logged or copied implicitly.
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(Zeroizing::new(value.into()))
    }

    /// The value. Every call site of this method is a place where the secret leaves
    /// its wrapper: keep them few and obvious.
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }

    /// An explicit copy.
    pub fn clone_secret(&self) -> Self {
        SecretString::new(self.0.as_str())
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for SecretString {}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        SecretString::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        SecretString::new(value)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SecretString::new)
    }
}

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(PartialEq, Eq)]
        pub struct $name(SecretString);

        impl $name {
            /// Wraps a value.
            pub fn new(value: impl Into<String>) -> Self {
                $name(SecretString::new(value))
            }

            /// The value. Call only where the secret must leave the process
            /// (a request body, a header, the credentials file).
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }

            /// An explicit copy.
            pub fn clone_secret(&self) -> Self {
                $name(self.0.clone_secret())
            }

            /// Length in bytes (not secret).
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// Whether the value is empty.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }

        impl From<SecretString> for $name {
            fn from(value: SecretString) -> Self {
                $name(value)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                SecretString::deserialize(d).map($name)
            }
        }
    };
}

secret_type!(
    /// An OAuth 2.0 access token (RFC 6749 §1.4), or an API key used as a bearer token.
    AccessToken
);
secret_type!(
    /// An OAuth 2.0 refresh token (RFC 6749 §1.5).
    RefreshToken
);
secret_type!(
    /// An OpenID Connect ID token.
    IdToken
);
secret_type!(
    /// An API key such as `acme_dev_…`.
    ApiKey
);
secret_type!(
    /// An authorization code (RFC 6749 §4.1.2) or a one-time handoff code.
    AuthorizationCode
);
secret_type!(
    /// A device code (RFC 8628 §3.2); never shown to the user.
    DeviceCode
);

/// Bytes that may contain secrets (an HTTP body): `Debug` prints only the length.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RedactedBytes(pub Vec<u8>);

impl fmt::Debug for RedactedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} bytes]", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let k = ApiKey::new("acme_dev_supersecret");
        let dbg = format!("{k:?} {k} {:?}", SecretString::new("acme_dev_supersecret"));
        assert!(!dbg.contains("supersecret"), "{dbg}");
        assert_eq!(
            format!("{:?}", RedactedBytes(b"token=abc".to_vec())),
            "[9 bytes]"
        );
    }

    #[test]
    fn explicit_copy_and_equality() {
        let a = RefreshToken::new("r1");
        let b = a.clone_secret();
        assert_eq!(a, b);
        assert_ne!(a, RefreshToken::new("r2"));
        assert_ne!(a, RefreshToken::new("r1x"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn deserializes_from_json_string() {
        let t: AccessToken = serde_json::from_str("\"tok\"").unwrap();
        assert_eq!(t.expose_secret(), "tok");
        assert!(!t.is_empty());
        assert_eq!(t.len(), 3);
    }
}

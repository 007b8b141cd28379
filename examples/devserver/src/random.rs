//! Secrets from OS randomness, and their storage hashes.
//!
//! Every token, code, key and session id is drawn from `getrandom` (the OS CSPRNG).
//! The state only ever holds a SHA-256 hash of a secret, so the state file cannot be
//! used to impersonate anyone.

use base64::Engine;
use cliauth_core::device::{UserCodeFormat, normalize_user_code};
use sha2::{Digest, Sha256};

use crate::util::ServerError;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn fill(buf: &mut [u8]) -> Result<(), ServerError> {
    getrandom::fill(buf).map_err(|e| ServerError(format!("OS randomness unavailable: {e}")))
}

/// `len` characters drawn uniformly from `alphabet` (rejection sampling: no modulo bias).
fn uniform(alphabet: &[u8], len: usize) -> Result<String, ServerError> {
    let n = alphabet.len();
    if n == 0 || n > 256 {
        return Err(ServerError("invalid alphabet".into()));
    }
    // Largest multiple of n that fits in a byte: bytes at or above it are discarded.
    let limit = 256 - (256 % n);
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill(&mut buf)?;
        for &b in &buf {
            if usize::from(b) < limit {
                out.push(char::from(alphabet[usize::from(b) % n]));
                if out.len() == len {
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// `prefix` followed by `len` random base62 characters (`demo_at_…`).
pub(crate) fn token(prefix: &str, len: usize) -> Result<String, ServerError> {
    Ok(format!("{prefix}{}", uniform(BASE62, len)?))
}

/// A user code in `format` (RFC 8628 §6.1), grouped for display (`WDJB-MJHT`).
pub(crate) fn user_code(format: &UserCodeFormat) -> Result<String, ServerError> {
    let raw = uniform(format.charset.as_bytes(), format.length)?;
    normalize_user_code(&raw, format).map_err(|e| ServerError(format!("user code: {e}")))
}

/// The storage key of a secret: base64url(SHA-256(secret)).
pub(crate) fn hash(secret: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let t = token("demo_at_", 43).unwrap();
        assert!(t.starts_with("demo_at_") && t.len() == 51);
        assert!(t[8..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(t, token("demo_at_", 43).unwrap());
        let format = UserCodeFormat::default();
        let code = user_code(&format).unwrap();
        assert_eq!(code.len(), 9);
        assert_eq!(normalize_user_code(&code, &format).unwrap(), code);
        assert_eq!(hash("abc").len(), 43);
    }
}

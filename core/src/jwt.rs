//! Decoding JWTs **without verifying them**.
//!
//! A CLI reads its own access token or API key to show who is signed in and until
//! when (`status`); it never makes a trust decision from these claims, which is why
//! no signature is checked here. Servers verify; clients display.
//!
//! ```
//! use cliauth_core::jwt::decode_unverified;
//! use cliauth_core::Timestamp;
//! // {"alg":"none"} . {"sub":"user-1","exp":1700000000,"scope":"read write"} . ""
//! let jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyLTEiLCJleHAiOjE3MDAwMDAwMDAsInNjb3BlIjoicmVhZCB3cml0ZSJ9.";
//! let decoded = decode_unverified(jwt).unwrap();
//! assert_eq!(decoded.claims.sub.as_deref(), Some("user-1"));
//! assert_eq!(decoded.claims.scopes(), vec!["read", "write"]);
//! assert_eq!(decoded.expires_at(), Some(Timestamp::from_unix_secs(1_700_000_000)));
//! ```

use core::fmt;
use core::time::Duration;

use serde_json::{Map, Value};

use crate::encoding::b64url_decode;
use crate::time::Timestamp;

/// Which part of the JWT an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtPart {
    /// The JOSE header.
    Header,
    /// The claims set.
    Claims,
}

impl fmt::Display for JwtPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a JWT could not be decoded. Never contains the token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtError {
    /// Not `header.claims.signature`.
    WrongPartCount {
        /// How many parts there were.
        found: usize,
    },
    /// A part is not base64url.
    Base64(JwtPart),
    /// A part is not a JSON object.
    NotJsonObject(JwtPart),
    /// A registered claim has the wrong type.
    InvalidClaim {
        /// The claim name.
        name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Encrypted JWTs (JWE, five parts) cannot be read by the client.
    Encrypted,
}

impl JwtPart {
    fn name(self) -> &'static str {
        match self {
            JwtPart::Header => "header",
            JwtPart::Claims => "claims set",
        }
    }
}

impl JwtError {
    /// The sentence (what `Display` prints), put together without core::fmt (see
    /// `encoding::decimal`).
    pub fn message(&self) -> String {
        match self {
            JwtError::WrongPartCount { found } => [
                "expected 3 dot-separated parts, found ",
                &crate::encoding::decimal(*found as u64),
            ]
            .concat(),
            JwtError::Base64(part) => ["the ", part.name(), " is not base64url"].concat(),
            JwtError::NotJsonObject(part) => {
                ["the ", part.name(), " is not a JSON object"].concat()
            }
            JwtError::InvalidClaim { name, reason } => ["claim `", name, "` ", reason].concat(),
            JwtError::Encrypted => "the token is encrypted (JWE) and cannot be read".into(),
        }
    }
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for JwtError {}

/// The JOSE header fields a client cares about.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwtHeader {
    /// `alg`.
    pub alg: Option<String>,
    /// `typ`.
    pub typ: Option<String>,
    /// `kid`.
    pub kid: Option<String>,
}

/// Registered claims (RFC 7519 §4.1) plus `scope`, and everything else in `extra`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwtClaims {
    /// `sub`.
    pub sub: Option<String>,
    /// `iss`.
    pub iss: Option<String>,
    /// `aud`, normalised to a list.
    pub aud: Vec<String>,
    /// `exp`, seconds since the epoch.
    pub exp: Option<u64>,
    /// `iat`, seconds since the epoch.
    pub iat: Option<u64>,
    /// `nbf`, seconds since the epoch.
    pub nbf: Option<u64>,
    /// `scope` (space-delimited string) or `scp` (array), normalised to a string.
    pub scope: Option<String>,
    /// Other claims.
    pub extra: Map<String, Value>,
}

impl JwtClaims {
    /// The scopes as a list.
    pub fn scopes(&self) -> Vec<&str> {
        self.scope
            .as_deref()
            .map(|s| s.split_whitespace().collect())
            .unwrap_or_default()
    }
}

/// A decoded, **unverified** JWT.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodedJwt {
    /// The header.
    pub header: JwtHeader,
    /// The claims.
    pub claims: JwtClaims,
}

impl DecodedJwt {
    /// When the token expires, from `exp`.
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.claims.exp.map(Timestamp::from_unix_secs)
    }

    /// Whether `exp` is at or before `now + leeway`. Tokens without `exp` never expire.
    pub fn is_expired(&self, now: Timestamp, leeway: Duration) -> bool {
        self.expires_at()
            .is_some_and(|exp| exp <= now.saturating_add(leeway))
    }
}

/// Longest token decoded (JWTs in practice are a few KB).
pub const MAX_JWT_LEN: usize = 64 * 1024;

/// Decodes header and claims. Fails with a typed error on any malformation; never
/// panics.
pub fn decode_unverified(token: &str) -> Result<DecodedJwt, JwtError> {
    let token = token.trim();
    if token.len() > MAX_JWT_LEN {
        return Err(JwtError::InvalidClaim {
            name: "token",
            reason: "is too long",
        });
    }
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {}
        5 => return Err(JwtError::Encrypted),
        found => return Err(JwtError::WrongPartCount { found }),
    }
    let header = decode_part(parts[0], JwtPart::Header)?;
    let claims = decode_part(parts[1], JwtPart::Claims)?;
    Ok(DecodedJwt {
        header: JwtHeader {
            alg: opt_string(&header, "alg", JwtPart::Header)?,
            typ: opt_string(&header, "typ", JwtPart::Header)?,
            kid: opt_string(&header, "kid", JwtPart::Header)?,
        },
        claims: parse_claims(claims)?,
    })
}

fn decode_part(text: &str, part: JwtPart) -> Result<Map<String, Value>, JwtError> {
    let bytes = b64url_decode(text).ok_or(JwtError::Base64(part))?;
    match crate::json::Value::parse(&bytes).map(crate::json::Value::into_serde) {
        Some(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::NotJsonObject(part)),
    }
}

fn opt_string(
    map: &Map<String, Value>,
    name: &'static str,
    _part: JwtPart,
) -> Result<Option<String>, JwtError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JwtError::InvalidClaim {
            name,
            reason: "is not a string",
        }),
    }
}

fn numeric_date(map: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, JwtError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                return Ok(Some(u));
            }
            match n.as_f64() {
                Some(f) if f < 0.0 => Err(JwtError::InvalidClaim {
                    name,
                    reason: "is negative",
                }),
                // NumericDate may have a fraction (RFC 7519 §2); whole seconds suffice.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Some(f) if f.is_finite() && f < 1.0e15 => Ok(Some(f as u64)),
                _ => Err(JwtError::InvalidClaim {
                    name,
                    reason: "is out of range",
                }),
            }
        }
        Some(_) => Err(JwtError::InvalidClaim {
            name,
            reason: "is not a number",
        }),
    }
}

fn parse_claims(mut map: Map<String, Value>) -> Result<JwtClaims, JwtError> {
    let sub = opt_string(&map, "sub", JwtPart::Claims)?;
    let iss = opt_string(&map, "iss", JwtPart::Claims)?;
    let aud = match map.get("aud") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or(JwtError::InvalidClaim {
                name: "aud",
                reason: "has a non-string entry",
            })?,
        Some(_) => {
            return Err(JwtError::InvalidClaim {
                name: "aud",
                reason: "is not a string or list",
            });
        }
    };
    let exp = numeric_date(&map, "exp")?;
    let iat = numeric_date(&map, "iat")?;
    let nbf = numeric_date(&map, "nbf")?;
    let scope = match (map.get("scope"), map.get("scp")) {
        (Some(Value::String(s)), _) => Some(s.clone()),
        (Some(Value::Array(items)), _) | (None, Some(Value::Array(items))) => Some(
            items
                .iter()
                .map(|v| v.as_str())
                .collect::<Option<Vec<_>>>()
                .ok_or(JwtError::InvalidClaim {
                    name: "scope",
                    reason: "has a non-string entry",
                })?
                .join(" "),
        ),
        (None, Some(Value::String(s))) => Some(s.clone()),
        (None | Some(Value::Null), None | Some(Value::Null)) => None,
        _ => {
            return Err(JwtError::InvalidClaim {
                name: "scope",
                reason: "is not a string or list",
            });
        }
    };
    for k in ["sub", "iss", "aud", "exp", "iat", "nbf", "scope", "scp"] {
        map.remove(k);
    }
    Ok(JwtClaims {
        sub,
        iss,
        aud,
        exp,
        iat,
        nbf,
        scope,
        extra: map,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::b64url_encode;

    fn jwt(header: &str, claims: &str) -> String {
        format!(
            "{}.{}.sig",
            b64url_encode(header.as_bytes()),
            b64url_encode(claims.as_bytes())
        )
    }

    #[test]
    fn decodes_claims() {
        let t = jwt(
            r#"{"alg":"RS256","kid":"k1"}"#,
            r#"{"sub":"u","iss":"https://i","aud":["a","b"],"exp":10,"iat":1.5,"scp":["x","y"],"email":"e@x"}"#,
        );
        let d = decode_unverified(&t).unwrap();
        assert_eq!(d.header.alg.as_deref(), Some("RS256"));
        assert_eq!(d.header.kid.as_deref(), Some("k1"));
        assert_eq!(d.claims.aud, vec!["a", "b"]);
        assert_eq!(d.claims.iat, Some(1));
        assert_eq!(d.claims.scope.as_deref(), Some("x y"));
        assert_eq!(d.claims.extra["email"], "e@x");
        assert!(d.is_expired(Timestamp::from_unix_secs(10), Duration::ZERO));
        assert!(!d.is_expired(Timestamp::from_unix_secs(9), Duration::ZERO));
        assert!(d.is_expired(Timestamp::from_unix_secs(9), Duration::from_secs(1)));
    }

    #[test]
    fn clear_errors() {
        assert_eq!(
            decode_unverified("abc"),
            Err(JwtError::WrongPartCount { found: 1 })
        );
        assert_eq!(decode_unverified("a.b.c.d.e"), Err(JwtError::Encrypted));
        assert_eq!(
            decode_unverified("!!.e30.x"),
            Err(JwtError::Base64(JwtPart::Header))
        );
        assert_eq!(
            decode_unverified("e30.WzFd.x"),
            Err(JwtError::NotJsonObject(JwtPart::Claims))
        );
        assert_eq!(
            decode_unverified(&jwt("{}", r#"{"exp":"soon"}"#)),
            Err(JwtError::InvalidClaim {
                name: "exp",
                reason: "is not a number"
            })
        );
        assert_eq!(
            decode_unverified(&jwt("{}", r#"{"exp":-1}"#)),
            Err(JwtError::InvalidClaim {
                name: "exp",
                reason: "is negative"
            })
        );
        assert_eq!(
            decode_unverified(&jwt("{}", r#"{"aud":5}"#)),
            Err(JwtError::InvalidClaim {
                name: "aud",
                reason: "is not a string or list"
            })
        );
    }
}

//! Redaction for logs.
//!
//! Secrets are types ([`crate::secret`]), so they do not reach logs by `Debug`. URLs
//! are plain strings, though, and carry codes, states and sometimes keys in their
//! query: [`redact_url`] replaces those values. [`Redactor`] is the last line of
//! defence for free text: it replaces every occurrence of known secret values.

use crate::encoding::{form_encode, parse_query};

/// Query parameters whose values are never logged.
pub const SECRET_PARAMS: &[&str] = &[
    "code",
    "state",
    "access_token",
    "refresh_token",
    "id_token",
    "api_key",
    "apikey",
    "key",
    "token",
    "code_verifier",
    "device_code",
    "client_secret",
    "password",
    "secret",
    "user_code",
    "nonce",
    "code_challenge",
];

/// Whether a parameter name carries a secret.
pub fn is_secret_param(name: &str) -> bool {
    SECRET_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// Replaces the values of secret query and fragment parameters with `[redacted]`, and
/// drops any user-info. The URL stays readable for debugging:
///
/// ```
/// use cliauth_core::redact::redact_url;
/// assert_eq!(
///     redact_url("http://127.0.0.1:4711/callback?code=abc&state=xyz&x=1"),
///     "http://127.0.0.1:4711/callback?code=%5Bredacted%5D&state=%5Bredacted%5D&x=1"
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let (path, query) = match base.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (base, None),
    };
    let path = strip_userinfo(path);
    let mut out = path;
    if let Some(q) = query {
        out.push('?');
        out.push_str(&redact_query(q));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(&redact_query(f));
    }
    out
}

fn redact_query(query: &str) -> String {
    let pairs = parse_query(query);
    if pairs.is_empty() {
        return query.to_string();
    }
    form_encode(pairs.iter().map(|(k, v)| {
        (
            k.as_str(),
            if is_secret_param(k) {
                "[redacted]"
            } else {
                v.as_str()
            },
        )
    }))
}

fn strip_userinfo(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let auth_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..auth_end].rfind('@') {
            return format!("{scheme}://[redacted]@{}", &rest[at + 1..]);
        }
    }
    url.to_string()
}

/// Replaces known secret values in free text. Values shorter than 6 characters are
/// ignored (they would match ordinary words).
#[derive(Default)]
pub struct Redactor {
    secrets: Vec<crate::secret::SecretString>,
}

impl core::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// An empty redactor.
    pub fn new() -> Self {
        Redactor::default()
    }

    /// Adds a value to redact.
    pub fn add(&mut self, secret: &str) {
        if secret.len() >= 6 && !self.secrets.iter().any(|s| s.expose_secret() == secret) {
            self.secrets.push(crate::secret::SecretString::new(secret));
            // Longest first so that a secret containing another is replaced whole.
            self.secrets.sort_by_key(|s| core::cmp::Reverse(s.len()));
        }
    }

    /// The text with every known secret replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.expose_secret()) {
                out = out.replace(s.expose_secret(), "[redacted]");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(redact_url("https://a/b"), "https://a/b");
        assert_eq!(
            redact_url("https://u:p@a/b?x=1"),
            "https://[redacted]@a/b?x=1"
        );
        assert_eq!(
            redact_url("https://a/cb#access_token=t&token_type=bearer"),
            "https://a/cb#access_token=%5Bredacted%5D&token_type=bearer"
        );
        assert_eq!(
            redact_url("https://a/?API_KEY=k"),
            "https://a/?API_KEY=%5Bredacted%5D"
        );
    }

    #[test]
    fn free_text() {
        let mut r = Redactor::new();
        r.add("secret-token-1");
        r.add("secret-token-12");
        r.add("abc");
        assert_eq!(
            r.redact("got secret-token-12 and secret-token-1 abc"),
            "got [redacted] and [redacted] abc"
        );
        assert!(!format!("{r:?}").contains("secret-token"));
    }
}

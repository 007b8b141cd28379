//! API key formats, client-side validation with precise diagnoses, and masking.
//!
//! A [`KeyRegistry`] lists the formats the app accepts (a prefix such as `acme_dev_`
//! with length and charset, or a JWT as Omnara's keys are) and the formats of other
//! products it should recognise, so that a pasted GitHub token is named as such.
//! [`KeyRegistry::validate`] names the mistake before any network call:
//!
//! ```
//! use cliauth_core::keys::{Charset, KeyFormat, KeyProblemKind, KeyRegistry};
//! let registry = KeyRegistry::new(vec![KeyFormat::prefixed(
//!     "acme-dev", "Acme", "developer key", "acme_dev_", Charset::Base62, 24, 128,
//! )]);
//! let err = registry.validate("Bearer acme_dev_0123456789abcdefghij").unwrap_err();
//! assert_eq!(err.kind, KeyProblemKind::BearerPrefix);
//! assert_eq!(
//!     err.to_string(),
//!     "That doesn't look like an Acme developer key: it starts with `Bearer ` — paste only the key itself"
//! );
//! let err = registry.validate("ghp_0123456789abcdefghijklmnopqrstuvwxyz").unwrap_err();
//! assert_eq!(err.to_string(), "That doesn't look like an Acme developer key: it looks like a GitHub personal access token (`ghp_…`)");
//! let ok = registry.validate("  acme_dev_0123456789abcdefghij\n").unwrap();
//! assert_eq!(ok.masked(), "acme_dev_…ghij");
//! ```
//!
//! No diagnosis repeats the key or any part of it; positions are 1-based character
//! counts.

use core::fmt;

use crate::encoding::{b64url_decode, decimal};
use crate::secret::ApiKey;

/// The characters allowed after a key's prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Charset {
    /// `A-Z a-z 0-9`.
    Base62,
    /// `A-Z a-z 0-9 _`.
    Base62Underscore,
    /// `A-Z a-z 0-9 - _`.
    Base64Url,
    /// `0-9 a-f` (lower-case hex).
    HexLower,
    /// An explicit set of ASCII characters.
    Custom(String),
}

impl Charset {
    fn allows(&self, b: u8) -> bool {
        match self {
            Charset::Base62 => b.is_ascii_alphanumeric(),
            Charset::Base62Underscore => b.is_ascii_alphanumeric() || b == b'_',
            Charset::Base64Url => b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
            Charset::HexLower => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
            Charset::Custom(set) => set.as_bytes().contains(&b),
        }
    }
}

/// The shape of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyShape {
    /// A fixed prefix followed by characters of a charset; lengths count the whole key.
    Prefixed {
        /// E.g. `acme_dev_`.
        prefix: String,
        /// Characters allowed after the prefix.
        charset: Charset,
        /// Shortest complete key.
        min_len: usize,
        /// Longest key.
        max_len: usize,
    },
    /// A JWT (`header.claims.signature`, base64url) with no prefix.
    Jwt {
        /// Shortest complete key.
        min_len: usize,
    },
}

/// One product's key format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFormat {
    /// A stable identifier, e.g. `acme-dev`.
    pub id: String,
    /// The product, e.g. `Acme`.
    pub product: String,
    /// What the key is called, e.g. `developer key`.
    pub label: String,
    /// The shape.
    pub shape: KeyShape,
}

impl KeyFormat {
    /// A prefixed format.
    pub fn prefixed(
        id: impl Into<String>,
        product: impl Into<String>,
        label: impl Into<String>,
        prefix: impl Into<String>,
        charset: Charset,
        min_len: usize,
        max_len: usize,
    ) -> Self {
        KeyFormat {
            id: id.into(),
            product: product.into(),
            label: label.into(),
            shape: KeyShape::Prefixed {
                prefix: prefix.into(),
                charset,
                min_len,
                max_len,
            },
        }
    }

    /// A JWT format (any length of at least `min_len`).
    pub fn jwt(
        id: impl Into<String>,
        product: impl Into<String>,
        label: impl Into<String>,
        min_len: usize,
    ) -> Self {
        KeyFormat {
            id: id.into(),
            product: product.into(),
            label: label.into(),
            shape: KeyShape::Jwt { min_len },
        }
    }

    /// A format known only by its prefix (for recognising other products' keys).
    pub fn foreign(product: &str, label: &str, prefix: &str) -> Self {
        KeyFormat::prefixed(
            [product.to_ascii_lowercase().as_str(), ":", prefix].concat(),
            product,
            label,
            prefix,
            Charset::Custom(String::new()),
            0,
            usize::MAX,
        )
    }

    /// The prefix, for prefixed formats.
    pub fn prefix(&self) -> Option<&str> {
        match &self.shape {
            KeyShape::Prefixed { prefix, .. } => Some(prefix),
            KeyShape::Jwt { .. } => None,
        }
    }

    /// `an Acme developer key`.
    pub fn noun_phrase(&self) -> String {
        with_article(&[self.product.as_str(), " ", &self.label].concat())
    }
}

/// `Acme key` → `an Acme key`; `GitHub token` → `a GitHub token`.
fn with_article(noun: &str) -> String {
    let article = match noun.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    };
    [article, " ", noun].concat()
}

/// Other products' key prefixes recognised by default, so that a pasted foreign key
/// gets a precise diagnosis. Formats the app itself accepts are never reported as
/// foreign.
pub fn well_known_foreign_formats() -> Vec<KeyFormat> {
    WELL_KNOWN_FOREIGN
        .iter()
        .map(|&(product, label, prefix)| KeyFormat::foreign(product, label, prefix))
        .collect()
}

/// `(product, label, prefix)` of [`well_known_foreign_formats`].
const WELL_KNOWN_FOREIGN: [(&str, &str, &str); 20] = [
    ("GitHub", "personal access token", "ghp_"),
    ("GitHub", "fine-grained token", "github_pat_"),
    ("GitHub", "OAuth token", "gho_"),
    ("GitHub", "app token", "ghs_"),
    ("GitHub", "user-to-server token", "ghu_"),
    ("GitLab", "personal access token", "glpat-"),
    ("Anthropic", "API key", "sk-ant-"),
    ("OpenAI", "project key", "sk-proj-"),
    ("OpenAI", "API key", "sk-"),
    ("Stripe", "live secret key", "sk_live_"),
    ("Stripe", "test secret key", "sk_test_"),
    ("Stripe", "publishable key", "pk_live_"),
    ("Slack", "bot token", "xoxb-"),
    ("Slack", "user token", "xoxp-"),
    ("AWS", "access key ID", "AKIA"),
    ("Google", "API key", "AIza"),
    ("npm", "access token", "npm_"),
    ("Omi", "developer key", "omi_dev_"),
    ("Omni", "API key", "omni_osk_"),
    ("CMDOP", "API key", "cmd_"),
];

/// What is wrong with a key. Never contains the key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProblemKind {
    /// Nothing was given.
    Empty,
    /// `Bearer ` (or an `Authorization:` header) was pasted with the key.
    BearerPrefix,
    /// `NAME=` (or `export NAME=`) was pasted with the key.
    EnvAssignment {
        /// The variable name, when it is clearly a credential variable
        /// (`ACME_API_KEY`, `GITHUB_TOKEN`); otherwise omitted, since text before an
        /// `=` could be part of the key itself.
        var: Option<String>,
    },
    /// The key is wrapped in quotes (straight, back or typographic).
    SurroundingQuotes,
    /// A non-ASCII character (often a smart quote or an invisible character).
    NonAscii {
        /// 1-based character position.
        position: usize,
    },
    /// A line break inside the key.
    ContainsNewline,
    /// A space or tab inside the key.
    InnerWhitespace {
        /// 1-based character position.
        position: usize,
    },
    /// Shorter than a complete key: probably truncated.
    TooShort {
        /// The shortest complete key.
        min: usize,
        /// The length given.
        actual: usize,
    },
    /// Longer than any key: probably pasted twice.
    TooLong {
        /// The longest key.
        max: usize,
        /// The length given.
        actual: usize,
    },
    /// The prefix appears again inside the key: two keys pasted together.
    Repeated {
        /// The prefix.
        prefix: String,
    },
    /// A character outside the key's charset.
    InvalidCharacter {
        /// 1-based character position.
        position: usize,
    },
    /// Does not start with the expected prefix and matches no known format.
    WrongPrefix {
        /// The prefix expected.
        expected_prefix: String,
    },
    /// Another product's key.
    ForeignKey {
        /// That product.
        product: String,
        /// What that product calls it.
        label: String,
        /// Its prefix.
        prefix: String,
    },
    /// A JWT where a prefixed key was expected.
    LooksLikeJwt {
        /// The prefix expected.
        expected_prefix: String,
    },
    /// Not a well-formed JWT where one was expected.
    NotJwt {
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl KeyProblemKind {
    /// A stable snake_case code for the mistake (`bearer_prefix`, `too_short`, …), for
    /// JSON output and JS.
    pub fn code(&self) -> &'static str {
        match self {
            KeyProblemKind::Empty => "empty",
            KeyProblemKind::BearerPrefix => "bearer_prefix",
            KeyProblemKind::EnvAssignment { .. } => "env_assignment",
            KeyProblemKind::SurroundingQuotes => "surrounding_quotes",
            KeyProblemKind::NonAscii { .. } => "non_ascii",
            KeyProblemKind::ContainsNewline => "contains_newline",
            KeyProblemKind::InnerWhitespace { .. } => "inner_whitespace",
            KeyProblemKind::TooShort { .. } => "too_short",
            KeyProblemKind::TooLong { .. } => "too_long",
            KeyProblemKind::Repeated { .. } => "repeated",
            KeyProblemKind::InvalidCharacter { .. } => "invalid_character",
            KeyProblemKind::WrongPrefix { .. } => "wrong_prefix",
            KeyProblemKind::ForeignKey { .. } => "foreign_key",
            KeyProblemKind::LooksLikeJwt { .. } => "looks_like_jwt",
            KeyProblemKind::NotJwt { .. } => "not_jwt",
        }
    }
}

impl KeyProblemKind {
    /// The sentence that names the mistake (what `Display` prints), e.g. `it starts
    /// with \`Bearer \` — paste only the key itself`.
    pub fn message(&self) -> String {
        // Put together without core::fmt (see `encoding::decimal`).
        let n = |v: usize| decimal(v as u64);
        match self {
            KeyProblemKind::Empty => "no key was given".into(),
            KeyProblemKind::BearerPrefix => {
                "it starts with `Bearer ` — paste only the key itself".into()
            }
            KeyProblemKind::EnvAssignment { var: Some(var) } => {
                ["it includes `", var, "=` — paste only the value after `=`"].concat()
            }
            KeyProblemKind::EnvAssignment { var: None } => {
                "it includes a `NAME=` assignment — paste only the value after `=`".into()
            }
            KeyProblemKind::SurroundingQuotes => "it is wrapped in quotes — remove them".into(),
            KeyProblemKind::NonAscii { position } => [
                "character ",
                &n(*position),
                " is not plain ASCII (a smart quote or an invisible character?)",
            ]
            .concat(),
            KeyProblemKind::ContainsNewline => {
                "it contains a line break — paste the key on one line".into()
            }
            KeyProblemKind::InnerWhitespace { position } => [
                "it contains a space at character ",
                &n(*position),
                " — was it wrapped, or were two values pasted?",
            ]
            .concat(),
            KeyProblemKind::TooShort { min, actual } => [
                "it is ",
                &n(*actual),
                " characters long but a complete key has at least ",
                &n(*min),
                " — was it cut off when copying?",
            ]
            .concat(),
            KeyProblemKind::TooLong { max, actual } => [
                "it is ",
                &n(*actual),
                " characters long but a key has at most ",
                &n(*max),
                " — was it pasted twice?",
            ]
            .concat(),
            KeyProblemKind::Repeated { prefix } => [
                "`",
                prefix,
                "` appears twice — were two keys pasted together?",
            ]
            .concat(),
            KeyProblemKind::InvalidCharacter { position } => {
                ["character ", &n(*position), " cannot appear in a key"].concat()
            }
            KeyProblemKind::WrongPrefix { expected_prefix } => {
                ["it should start with `", expected_prefix, "`"].concat()
            }
            KeyProblemKind::ForeignKey {
                product,
                label,
                prefix,
            } => [
                "it looks like ",
                &with_article(&[product.as_str(), " ", label].concat()),
                " (`",
                prefix,
                "…`)",
            ]
            .concat(),
            KeyProblemKind::LooksLikeJwt { expected_prefix } => [
                "it looks like a JWT (an OAuth token?), not a key starting with `",
                expected_prefix,
                "`",
            ]
            .concat(),
            KeyProblemKind::NotJwt { reason } => ["it is not a JWT (", reason, ")"].concat(),
        }
    }
}

impl fmt::Display for KeyProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// A failed validation: the mistake and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyProblem {
    /// The mistake.
    pub kind: KeyProblemKind,
    /// What was expected, e.g. `an Acme developer key`.
    pub expected: String,
}

impl KeyProblem {
    /// `That doesn't look like an Acme developer key: …` (what `Display` prints).
    pub fn message(&self) -> String {
        [
            "That doesn't look like ",
            &self.expected,
            ": ",
            &self.kind.message(),
        ]
        .concat()
    }
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl core::error::Error for KeyProblem {}

/// A key that passed validation.
#[derive(Debug)]
pub struct ValidKey {
    key: ApiKey,
    format_id: String,
    masked: String,
}

impl ValidKey {
    /// The key.
    pub fn key(&self) -> &ApiKey {
        &self.key
    }

    /// Consumes the validation result, returning the key.
    pub fn into_key(self) -> ApiKey {
        self.key
    }

    /// Which accepted format it matched.
    pub fn format_id(&self) -> &str {
        &self.format_id
    }

    /// The masked form for display, e.g. `acme_dev_…a1b2`.
    pub fn masked(&self) -> &str {
        &self.masked
    }
}

/// The formats an app accepts, and the foreign formats it recognises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRegistry {
    accepted: Vec<KeyFormat>,
    foreign: Vec<KeyFormat>,
}

impl KeyRegistry {
    /// A registry accepting `accepted`, recognising [`well_known_foreign_formats`].
    pub fn new(accepted: Vec<KeyFormat>) -> Self {
        let mut registry = KeyRegistry {
            accepted,
            foreign: Vec::new(),
        };
        // Straight from the table (no intermediate list): less code in the pages' wasm.
        for &(product, label, prefix) in &WELL_KNOWN_FOREIGN {
            registry.add_foreign(KeyFormat::foreign(product, label, prefix));
        }
        registry
    }

    /// Adds a foreign format (ignored if an accepted format has the same prefix).
    pub fn add_foreign(&mut self, format: KeyFormat) {
        let clashes = self
            .accepted
            .iter()
            .any(|a| match (a.prefix(), format.prefix()) {
                (Some(a), Some(f)) => a.starts_with(f) || f.starts_with(a),
                _ => false,
            });
        if !clashes {
            self.foreign.push(format);
        }
    }

    /// The accepted formats.
    pub fn accepted(&self) -> &[KeyFormat] {
        &self.accepted
    }

    fn expected_phrase(&self) -> String {
        match self.accepted.first() {
            Some(f) => f.noun_phrase(),
            None => "an API key".to_string(),
        }
    }

    fn problem(&self, kind: KeyProblemKind) -> KeyProblem {
        KeyProblem {
            kind,
            expected: self.expected_phrase(),
        }
    }

    /// Validates a pasted or configured key. Surrounding whitespace (a trailing newline
    /// from a paste or from stdin) is removed; every other deviation is diagnosed.
    pub fn validate(&self, input: &str) -> Result<ValidKey, KeyProblem> {
        let key = input.trim_matches(|c: char| c.is_ascii_whitespace());
        self.check_paste_mistakes(key)
            .map_err(|k| self.problem(k))?;
        let format = self.check_format(key)?;
        Ok(ValidKey {
            masked: self.mask(key),
            key: ApiKey::new(key),
            format_id: format.id.clone(),
        })
    }

    fn check_paste_mistakes(&self, key: &str) -> Result<(), KeyProblemKind> {
        if key.is_empty() {
            return Err(KeyProblemKind::Empty);
        }
        let lower = key.get(..7).map(str::to_ascii_lowercase);
        if lower.as_deref() == Some("bearer ")
            || key.len() > 7 && lower.as_deref() == Some("bearer\t")
            || key
                .get(..14)
                .is_some_and(|p| p.eq_ignore_ascii_case("authorization:"))
        {
            return Err(KeyProblemKind::BearerPrefix);
        }
        if let Some(var) = env_assignment(key) {
            return Err(KeyProblemKind::EnvAssignment { var });
        }
        const QUOTES: [char; 7] = ['"', '\'', '`', '“', '”', '‘', '’'];
        let first = key.chars().next();
        let last = key.chars().next_back();
        if first.is_some_and(|c| QUOTES.contains(&c)) || last.is_some_and(|c| QUOTES.contains(&c)) {
            return Err(KeyProblemKind::SurroundingQuotes);
        }
        for (i, c) in key.chars().enumerate() {
            if !c.is_ascii() {
                return Err(KeyProblemKind::NonAscii { position: i + 1 });
            }
        }
        if key.contains(['\n', '\r']) {
            return Err(KeyProblemKind::ContainsNewline);
        }
        if let Some(i) = key.bytes().position(|b| b.is_ascii_whitespace()) {
            return Err(KeyProblemKind::InnerWhitespace { position: i + 1 });
        }
        Ok(())
    }

    fn check_format(&self, key: &str) -> Result<&KeyFormat, KeyProblem> {
        let jwt_like = looks_like_jwt(key);
        for format in &self.accepted {
            match &format.shape {
                KeyShape::Prefixed {
                    prefix,
                    charset,
                    min_len,
                    max_len,
                } => {
                    if let Some(rest) = key.strip_prefix(prefix.as_str()) {
                        let fail = |kind| {
                            Err(KeyProblem {
                                kind,
                                expected: format.noun_phrase(),
                            })
                        };
                        if !prefix.is_empty() && rest.contains(prefix.as_str()) {
                            return fail(KeyProblemKind::Repeated {
                                prefix: prefix.clone(),
                            });
                        }
                        if let Some(i) = rest.bytes().position(|b| !charset.allows(b)) {
                            return fail(KeyProblemKind::InvalidCharacter {
                                position: prefix.len() + i + 1,
                            });
                        }
                        if key.len() < *min_len {
                            return fail(KeyProblemKind::TooShort {
                                min: *min_len,
                                actual: key.len(),
                            });
                        }
                        if key.len() > *max_len {
                            return fail(KeyProblemKind::TooLong {
                                max: *max_len,
                                actual: key.len(),
                            });
                        }
                        return Ok(format);
                    }
                }
                KeyShape::Jwt { min_len } => {
                    if jwt_like {
                        let fail = |kind| {
                            Err(KeyProblem {
                                kind,
                                expected: format.noun_phrase(),
                            })
                        };
                        if let Err(reason) = check_jwt_shape(key) {
                            return fail(KeyProblemKind::NotJwt { reason });
                        }
                        if key.len() < *min_len {
                            return fail(KeyProblemKind::TooShort {
                                min: *min_len,
                                actual: key.len(),
                            });
                        }
                        return Ok(format);
                    }
                }
            }
        }
        // No accepted format claims the key: explain what it is instead.
        for format in &self.accepted {
            if let KeyShape::Prefixed {
                prefix, min_len, ..
            } = &format.shape
                && prefix.starts_with(key)
            {
                return Err(KeyProblem {
                    kind: KeyProblemKind::TooShort {
                        min: *min_len,
                        actual: key.len(),
                    },
                    expected: format.noun_phrase(),
                });
            }
        }
        let foreign = self
            .foreign
            .iter()
            .filter(|f| f.prefix().is_some_and(|p| key.starts_with(p)))
            .max_by_key(|f| f.prefix().map_or(0, str::len));
        if let Some(f) = foreign {
            return Err(self.problem(KeyProblemKind::ForeignKey {
                product: f.product.clone(),
                label: f.label.clone(),
                prefix: f.prefix().unwrap_or_default().to_string(),
            }));
        }
        let first_prefix = self.accepted.iter().find_map(KeyFormat::prefix);
        let kind = match first_prefix {
            Some(p) if jwt_like => KeyProblemKind::LooksLikeJwt {
                expected_prefix: p.to_string(),
            },
            Some(p) => KeyProblemKind::WrongPrefix {
                expected_prefix: p.to_string(),
            },
            None => KeyProblemKind::NotJwt {
                reason: "expected three dot-separated parts",
            },
        };
        Err(self.problem(kind))
    }

    /// Masks a key for display: the known prefix, an ellipsis and the last four
    /// characters (`acme_dev_…a1b2`); JWTs as `eyJ…a1b2`; short keys show no tail.
    pub fn mask(&self, key: &str) -> String {
        // The longest matching prefix, the last of equally long ones (as `max_by_key`);
        // plain loops rather than iterator adapters: less code in the pages' wasm.
        let mut prefix: Option<(&str, &str)> = None;
        for list in [&self.accepted, &self.foreign] {
            for p in list.iter().filter_map(KeyFormat::prefix) {
                if let Some(rest) = key.strip_prefix(p)
                    && prefix.is_none_or(|(best, _)| p.len() >= best.len())
                {
                    prefix = Some((p, rest));
                }
            }
        }
        match prefix {
            Some((p, rest)) => [p, "…", tail(rest, 12)].concat(),
            None if looks_like_jwt(key) => ["eyJ…", tail(key, 20)].concat(),
            None => ["…", tail(key, 16)].concat(),
        }
    }
}

/// The last four characters when at least `min_len` are present, else nothing.
/// (`get` rather than indexing: no panic path in the pages' wasm.)
fn tail(rest: &str, min_len: usize) -> &str {
    match rest.len().checked_sub(4) {
        Some(start) if rest.is_ascii() && rest.len() >= min_len => rest.get(start..).unwrap_or(""),
        _ => "",
    }
}

/// `NAME=value` or `export NAME=value` with an upper-case variable name and a value.
/// Returns `Some(Some(name))` when the name is clearly a credential variable (safe to
/// show), `Some(None)` for other upper-case names (not shown: they could be part of
/// the key), `None` when it is not an assignment.
fn env_assignment(key: &str) -> Option<Option<String>> {
    let body = key
        .strip_prefix("export ")
        .map(str::trim_start)
        .unwrap_or(key);
    let (name, value) = body.split_once('=')?;
    let env_like = !name.is_empty()
        && name.len() <= 64
        && !value.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_uppercase() || b == b'_');
    if !env_like {
        return None;
    }
    let credential_var = ["_KEY", "_TOKEN", "_SECRET", "_PAT"]
        .iter()
        .any(|s| name.ends_with(s))
        && name.contains('_');
    Some(credential_var.then(|| name.to_string()))
}

fn looks_like_jwt(key: &str) -> bool {
    key.starts_with("eyJ") || key.bytes().filter(|&b| b == b'.').count() == 2
}

fn check_jwt_shape(key: &str) -> Result<(), &'static str> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.len() != 3 {
        return Err("expected three dot-separated parts");
    }
    let b64 = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if parts.iter().any(|p| p.is_empty() || !b64(p)) {
        return Err("a part is empty or not base64url");
    }
    let header = b64url_decode(parts[0]).ok_or("the header is not base64url")?;
    let header = crate::json::Value::parse(&header).ok_or("the header is not JSON")?;
    if header
        .get("alg")
        .and_then(crate::json::Value::as_str)
        .is_none()
    {
        return Err("the header has no `alg`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme() -> KeyRegistry {
        KeyRegistry::new(vec![KeyFormat::prefixed(
            "acme-dev",
            "Acme",
            "developer key",
            "acme_dev_",
            Charset::Base62,
            24,
            64,
        )])
    }

    fn kind(r: &KeyRegistry, k: &str) -> KeyProblemKind {
        r.validate(k).unwrap_err().kind
    }

    const GOOD: &str = "acme_dev_0123456789abcdefXYZ";

    #[test]
    fn accepts_and_masks() {
        let v = acme().validate(GOOD).unwrap();
        assert_eq!(v.format_id(), "acme-dev");
        assert_eq!(v.masked(), "acme_dev_…fXYZ");
        assert_eq!(v.key().expose_secret(), GOOD);
        assert_eq!(acme().mask("acme_dev_short"), "acme_dev_…");
        assert_eq!(acme().mask("whatever"), "…");
    }

    #[test]
    fn diagnoses() {
        let r = acme();
        assert_eq!(kind(&r, "   "), KeyProblemKind::Empty);
        assert_eq!(
            kind(&r, &format!("Bearer {GOOD}")),
            KeyProblemKind::BearerPrefix
        );
        assert_eq!(
            kind(&r, &format!("bearer {GOOD}")),
            KeyProblemKind::BearerPrefix
        );
        assert_eq!(
            kind(&r, &format!("Authorization: Bearer {GOOD}")),
            KeyProblemKind::BearerPrefix
        );
        assert_eq!(
            kind(&r, &format!("ACME_API_KEY={GOOD}")),
            KeyProblemKind::EnvAssignment {
                var: Some("ACME_API_KEY".into())
            }
        );
        assert_eq!(
            kind(&r, &format!("export ACME_API_KEY={GOOD}")),
            KeyProblemKind::EnvAssignment {
                var: Some("ACME_API_KEY".into())
            }
        );
        // Found by the `key` fuzz target: text before `=` may be the key itself and
        // must not be echoed.
        let p = r.validate("_yyyyyyy_yycyyyyyyy_yyC=").unwrap_err();
        assert!(!p.to_string().contains("yyyyyyy"), "{p}");
        let p = r.validate("ABCDEFGHIJKLMNOPQRS=TUV").unwrap_err();
        assert_eq!(p.kind, KeyProblemKind::EnvAssignment { var: None });
        assert!(!p.to_string().contains("ABCDEFGH"), "{p}");
        assert_eq!(
            kind(&r, &format!("\"{GOOD}\"")),
            KeyProblemKind::SurroundingQuotes
        );
        assert_eq!(
            kind(&r, &format!("'{GOOD}")),
            KeyProblemKind::SurroundingQuotes
        );
        assert_eq!(
            kind(&r, &format!("“{GOOD}”")),
            KeyProblemKind::SurroundingQuotes
        );
        assert_eq!(
            kind(&r, &format!("{GOOD}\u{200b}x")),
            KeyProblemKind::NonAscii { position: 29 }
        );
        assert_eq!(
            kind(&r, &format!("{GOOD}\n{GOOD}")),
            KeyProblemKind::ContainsNewline
        );
        assert_eq!(
            kind(&r, &format!("{GOOD} {GOOD}")),
            KeyProblemKind::InnerWhitespace { position: 29 }
        );
        assert_eq!(
            kind(&r, "acme_dev_0123"),
            KeyProblemKind::TooShort {
                min: 24,
                actual: 13
            }
        );
        assert_eq!(
            kind(&r, "acme_d"),
            KeyProblemKind::TooShort { min: 24, actual: 6 }
        );
        assert_eq!(
            kind(&r, &format!("{GOOD}{GOOD}")),
            KeyProblemKind::Repeated {
                prefix: "acme_dev_".into()
            }
        );
        assert_eq!(
            kind(&r, &format!("{GOOD}{}", "a".repeat(40))),
            KeyProblemKind::TooLong {
                max: 64,
                actual: 68
            }
        );
        assert_eq!(
            kind(&r, "acme_dev_0123456789abcdef-XYZ"),
            KeyProblemKind::InvalidCharacter { position: 26 }
        );
        assert_eq!(
            kind(&r, "sk-ant-api03-aaaaaaaaaaaaaaaaaaaa"),
            KeyProblemKind::ForeignKey {
                product: "Anthropic".into(),
                label: "API key".into(),
                prefix: "sk-ant-".into()
            }
        );
        assert_eq!(
            kind(&r, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"),
            KeyProblemKind::LooksLikeJwt {
                expected_prefix: "acme_dev_".into()
            }
        );
        assert_eq!(
            kind(&r, "hello_world_1234567890"),
            KeyProblemKind::WrongPrefix {
                expected_prefix: "acme_dev_".into()
            }
        );
    }

    #[test]
    fn jwt_keys() {
        let r = KeyRegistry::new(vec![KeyFormat::jwt("omnara", "Omnara", "API key", 30)]);
        let ok = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJpYXQiOjE3MDAwMDAwMDB9.c2lnbmF0dXJlc2lnbmF0dXJl";
        let v = r.validate(ok).unwrap();
        assert_eq!(v.masked(), "eyJ…dXJl");
        assert_eq!(
            kind(&r, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIi"),
            KeyProblemKind::NotJwt {
                reason: "expected three dot-separated parts"
            }
        );
        assert_eq!(
            kind(&r, "eyJub3RhbGciOjF9.eyJ9.c2ln"),
            KeyProblemKind::NotJwt {
                reason: "the header has no `alg`"
            }
        );
        assert!(matches!(kind(&r, "random"), KeyProblemKind::NotJwt { .. }));
        assert_eq!(
            r.validate("omi_dev_123").unwrap_err().to_string(),
            "That doesn't look like an Omnara API key: it looks like an Omi developer key (`omi_dev_…`)"
        );
    }

    #[test]
    fn own_prefix_never_foreign() {
        let r = KeyRegistry::new(vec![KeyFormat::prefixed(
            "omi",
            "Omi",
            "developer key",
            "omi_dev_",
            Charset::Base64Url,
            24,
            80,
        )]);
        assert_eq!(
            kind(&r, "omi_dev_abc"),
            KeyProblemKind::TooShort {
                min: 24,
                actual: 11
            }
        );
    }

    #[test]
    fn problems_never_contain_the_key() {
        let r = acme();
        let secret = "acme_dev_SECRETSECRETSECRETSECRET";
        for input in [
            format!("Bearer {secret}"),
            format!("'{secret}'"),
            format!("{secret} {secret}"),
            format!("{secret}{secret}{secret}"),
            format!("X{secret}"),
            format!("{secret}é"),
        ] {
            let p = r.validate(&input).unwrap_err();
            assert!(!p.to_string().contains("SECRET"), "{p}");
            assert!(!format!("{p:?}").contains("SECRET"));
        }
    }
}

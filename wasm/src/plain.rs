//! Reading the options the JS wrapper passes as JSON text (`configure`, key formats),
//! with core's small JSON reader ([`cliauth_core::json::Value`]) — the one core
//! already links for error bodies — so that the page module needs no serde_json.
//!
//! The rules are those the serde_json-based readers applied: a field of anything but
//! an object is absent, `null` is absent, and a number must be written as a whole
//! non-negative number that fits `u64` (`JSON.stringify` writes `1e21` and larger
//! with an exponent, which is refused).

use cliauth_core::Error;
use cliauth_core::json::Value;
use cliauth_core::keys::{Charset, KeyFormat};

use crate::error::invalid;

/// Parses JSON handed over by the JS wrapper.
#[cfg(feature = "full")]
pub(crate) fn parse_json(text: &str, what: &str) -> Result<Value, Error> {
    Value::parse(text.as_bytes()).ok_or_else(|| invalid(what, "is not valid JSON"))
}

/// A field; `None` when absent or `null`.
pub(crate) fn field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|f| !f.is_null())
}

/// An optional string field; any other type is an invalid argument.
pub(crate) fn opt_str<'a>(v: &'a Value, key: &str) -> Result<Option<&'a str>, Error> {
    field(v, key)
        .map(|f| f.as_str().ok_or_else(|| invalid(key, "must be a string")))
        .transpose()
}

/// A required, non-empty string field.
pub(crate) fn req_str<'a>(v: &'a Value, key: &str) -> Result<&'a str, Error> {
    opt_str(v, key)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid(key, "is required"))
}

/// An optional whole non-negative number (a length, a count).
pub(crate) fn opt_u64(v: &Value, key: &str) -> Result<Option<u64>, Error> {
    field(v, key)
        .map(|f| {
            f.as_u64()
                .ok_or_else(|| invalid(key, "must be a whole non-negative number"))
        })
        .transpose()
}

/// An optional boolean field; anything else reads as `false`.
#[cfg(feature = "full")]
pub(crate) fn flag(v: &Value, key: &str) -> bool {
    field(v, key).and_then(Value::as_bool).unwrap_or(false)
}

/// A list of strings (`scopes`); absent or `null` is empty.
#[cfg(feature = "full")]
pub(crate) fn str_list(v: &Value, key: &str) -> Result<Vec<String>, Error> {
    let Some(f) = field(v, key) else {
        return Ok(Vec::new());
    };
    let bad = || invalid(key, "must be a list of strings");
    f.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|x| x.as_str().map(str::to_string).ok_or_else(bad))
        .collect()
}

/// A time or a seed from JS (`Date.now()` scale): the whole part of a non-negative
/// number; anything else (negative, an exponent, not a number) reads as 0 — the
/// epoch, as the earlier `f64` reading did for non-finite and negative values.
#[cfg(feature = "full")]
pub(crate) fn millis(v: &Value) -> u64 {
    let text = v.number_text().unwrap_or_default();
    let whole = text.split('.').next().unwrap_or_default();
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    whole.parse().unwrap_or(u64::MAX)
}

/// The arguments of an operation of the page and full boundaries (`crate::page`,
/// `crate::full_call`): the items of a JSON array, read by position. `null` and
/// missing items are absent.
pub(crate) struct Args<'a>(pub(crate) &'a [Value]);

impl Args<'_> {
    /// An item; `None` when absent or `null`.
    pub(crate) fn get(&self, i: usize) -> Option<&Value> {
        self.0.get(i).filter(|v| !v.is_null())
    }

    /// A string item; anything else reads as empty (and fails validation).
    pub(crate) fn text(&self, i: usize) -> &str {
        self.opt(i).unwrap_or_default()
    }

    /// An optional string item: `None` unless it is a string.
    pub(crate) fn opt(&self, i: usize) -> Option<&str> {
        self.get(i).and_then(Value::as_str)
    }

    /// A boolean item; anything else reads as `false`.
    #[cfg(feature = "device")]
    pub(crate) fn flag(&self, i: usize) -> bool {
        self.get(i).and_then(Value::as_bool).unwrap_or(false)
    }

    /// A whole non-negative number (a handle, a status); anything else reads as 0.
    pub(crate) fn num(&self, i: usize) -> u64 {
        self.get(i).and_then(Value::as_u64).unwrap_or(0)
    }

    /// An HTTP status; anything outside `u16` reads as 0 (not a status).
    pub(crate) fn status(&self, i: usize) -> u16 {
        u16::try_from(self.num(i)).unwrap_or(0)
    }

    #[cfg(feature = "full")]
    /// A time (`Date.now()` milliseconds; the JS layer always passes one).
    pub(crate) fn time(&self, i: usize) -> cliauth_core::Timestamp {
        cliauth_core::Timestamp::from_unix_millis(self.get(i).map_or(0, millis))
    }

    #[cfg(feature = "full")]
    /// A seed for backoff jitter (JS draws one; absent reads as 0).
    pub(crate) fn seed(&self, i: usize) -> u64 {
        self.get(i).map_or(0, millis)
    }

    #[cfg(feature = "full")]
    /// An item that must be present, of any JSON type (a configuration object).
    pub(crate) fn value(&self, i: usize) -> &Value {
        const NULL: &Value = &Value::Null;
        self.get(i).unwrap_or(NULL)
    }
}

/// Key formats: `{id, product, label, prefix, charset, minLen, maxLen}` or `{id,
/// product, label, jwt: true, minLen}`. `charset` is `base62`, `base62_underscore`,
/// `base64url`, `hex_lower` or a string of allowed characters.
pub(crate) fn key_formats(v: &Value) -> Result<Vec<KeyFormat>, Error> {
    let list = v
        .as_array()
        .ok_or_else(|| invalid("keyFormats", "must be a list"))?;
    let mut out = Vec::new();
    for f in list {
        out.push(key_format(f)?);
    }
    Ok(out)
}

/// One key format. Every field is read (borrowed) and checked, in a fixed order,
/// before anything is built.
fn key_format(f: &Value) -> Result<KeyFormat, Error> {
    let len = |k: &str| -> Result<usize, Error> {
        opt_u64(f, k)?
            .map(|n| n as usize)
            .ok_or_else(|| invalid(k, "is required"))
    };
    let (id, product, label) = (
        req_str(f, "id")?,
        req_str(f, "product")?,
        req_str(f, "label")?,
    );
    if f.get("jwt").and_then(Value::as_bool) == Some(true) {
        return Ok(KeyFormat::jwt(id, product, label, len("minLen")?));
    }
    let charset = req_str(f, "charset")?;
    let (prefix, min_len, max_len) = (req_str(f, "prefix")?, len("minLen")?, len("maxLen")?);
    let charset = match charset {
        "base62" => Charset::Base62,
        "base62_underscore" => Charset::Base62Underscore,
        "base64url" => Charset::Base64Url,
        "hex_lower" => Charset::HexLower,
        other => Charset::Custom(other.to_string()),
    };
    Ok(KeyFormat::prefixed(
        id, product, label, prefix, charset, min_len, max_len,
    ))
}

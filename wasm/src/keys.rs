//! API-key validation with precise diagnoses, and masking.
//!
//! The JS `KeyRegistry` keeps its formats (and the foreign prefixes added to it) and
//! hands them over with each call; core's registry is built from them per call
//! (microseconds), so no wasm object outlives a call.

use cliauth_core::Error;
use cliauth_core::json::Value;
use cliauth_core::keys::{self, KeyRegistry};

use crate::convert::{Obj, string};
use crate::error::invalid;
use crate::plain::key_formats;

/// Core's registry of JSON key formats (see `configure`) and foreign prefixes
/// (`[[product, label, prefix]]`, recognised so that a pasted key of that product is
/// named).
pub(crate) fn registry(formats: &Value, foreign: Option<&Value>) -> Result<KeyRegistry, Error> {
    let mut registry = KeyRegistry::new(key_formats(formats)?);
    for f in foreign.and_then(Value::as_array).unwrap_or_default() {
        let part = |i: usize| {
            f.as_array()
                .and_then(|p| p.get(i))
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("foreign", "must be [product, label, prefix] strings"))
        };
        registry.add_foreign(keys::KeyFormat::foreign(part(0)?, part(1)?, part(2)?));
    }
    Ok(registry)
}

/// JSON `{ok: true, formatId, masked}` or `{ok: false, problem, message}` — the
/// mistake's code (`bearer_prefix`, `too_short`, …) and the sentence to show.
pub(crate) fn diagnose(registry: &KeyRegistry, input: &str) -> String {
    match registry.validate(input) {
        Ok(k) => valid(&k),
        Err(p) => Obj::new()
            .bool("ok", false)
            .str("problem", p.kind.code())
            .str("message", &p.message())
            .end(),
    }
}

/// Like [`diagnose`], but an invalid key is an error (`invalid_key`, with `problem`).
pub(crate) fn validate(registry: &KeyRegistry, input: &str) -> Result<String, Error> {
    registry
        .validate(input)
        .map(|k| valid(&k))
        .map_err(Into::into)
}

/// The key masked for display (`acme_dev_…a1b2`), as a JSON string.
pub(crate) fn mask(registry: &KeyRegistry, key: &str) -> String {
    string(&registry.mask(key))
}

fn valid(k: &keys::ValidKey) -> String {
    Obj::new()
        .bool("ok", true)
        .str("formatId", k.format_id())
        .str("masked", k.masked())
        .end()
}

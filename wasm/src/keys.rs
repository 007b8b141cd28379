//! API-key validation with precise diagnoses, and masking.

use cliauth_core::keys::{self, KeyRegistry as CoreRegistry};
use wasm_bindgen::prelude::*;

use crate::convert::Obj;
use crate::error::{JsResult, js};
use crate::plain::{key_formats, parse_json};

/// The key formats an app accepts (and the well-known foreign ones it recognises).
#[wasm_bindgen]
pub struct KeyRegistry {
    inner: CoreRegistry,
}

#[wasm_bindgen]
impl KeyRegistry {
    /// A registry from JSON key formats (see `configure`).
    #[wasm_bindgen(constructor)]
    pub fn new(formats: &str) -> JsResult<KeyRegistry> {
        js(parse_json(formats, "keyFormats")
            .and_then(|v| key_formats(&v))
            .map(|f| KeyRegistry {
                inner: CoreRegistry::new(f),
            }))
    }

    /// Recognises another product's prefix, so a pasted key of that product is named.
    #[wasm_bindgen(js_name = addForeign)]
    pub fn add_foreign(&mut self, product: &str, label: &str, prefix: &str) {
        self.inner
            .add_foreign(keys::KeyFormat::foreign(product, label, prefix));
    }

    /// JSON `{ok: true, formatId, masked}` or `{ok: false, problem, message}` — the
    /// mistake's code (`bearer_prefix`, `too_short`, …) and the sentence to show.
    pub fn diagnose(&self, input: &str) -> String {
        match self.inner.validate(input) {
            Ok(k) => valid(&k),
            Err(p) => Obj::new()
                .bool("ok", false)
                .str("problem", p.kind.code())
                .str("message", &p.message())
                .end(),
        }
    }

    /// Like `diagnose`, but throws `CliauthError` (`invalid_key`, with `problem`) for
    /// an invalid key.
    pub fn validate(&self, input: &str) -> JsResult<String> {
        js(self
            .inner
            .validate(input)
            .map(|k| valid(&k))
            .map_err(Into::into))
    }

    /// The key masked for display (`acme_dev_…a1b2`).
    pub fn mask(&self, key: &str) -> String {
        self.inner.mask(key)
    }
}

fn valid(k: &keys::ValidKey) -> String {
    Obj::new()
        .bool("ok", true)
        .str("formatId", k.format_id())
        .str("masked", k.masked())
        .end()
}

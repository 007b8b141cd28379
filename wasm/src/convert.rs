//! Moving values across the JS boundary: JSON text out (a tiny writer), requests and
//! responses, and entropy (drawn by JS from `crypto.getRandomValues`). JSON in is read with core's
//! reader ([`crate::plain`]); times come from JS as `Date.now()` milliseconds.
//!
//! The JS side calls `JSON.parse` / `JSON.stringify`. Results are written with
//! [`Obj`] rather than `serde_json::json!`: the macro builds a `BTreeMap` per call
//! site and links serde's `Debug` paths, which costs kilobytes of wasm per export.

#[cfg(feature = "full")]
use cliauth_core::Error;
use cliauth_core::{HttpRequest, HttpResponse};

/// A JSON object written field by field.
pub(crate) struct Obj(String);

impl Obj {
    pub(crate) fn new() -> Obj {
        Obj(String::from("{"))
    }

    fn key(&mut self, k: &str) -> &mut String {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        push_str(&mut self.0, k);
        self.0.push(':');
        &mut self.0
    }

    /// A string field.
    pub(crate) fn str(mut self, k: &str, v: &str) -> Obj {
        push_str(self.key(k), v);
        self
    }

    /// A string field, left out when absent (JS reads `undefined`).
    pub(crate) fn opt(self, k: &str, v: Option<&str>) -> Obj {
        match v {
            Some(v) => self.str(k, v),
            None => self,
        }
    }

    /// A whole-number field.
    #[cfg(feature = "handoff")]
    pub(crate) fn num(mut self, k: &str, v: u64) -> Obj {
        let s = cliauth_core::encoding::decimal(v);
        self.key(k).push_str(&s);
        self
    }

    /// A whole-number field, left out when absent.
    #[cfg(feature = "full")]
    pub(crate) fn opt_num(self, k: &str, v: Option<u64>) -> Obj {
        match v {
            Some(v) => self.num(k, v),
            None => self,
        }
    }

    /// A boolean field.
    pub(crate) fn bool(mut self, k: &str, v: bool) -> Obj {
        self.key(k).push_str(if v { "true" } else { "false" });
        self
    }

    /// A field holding JSON text written elsewhere.
    pub(crate) fn raw(mut self, k: &str, json: &str) -> Obj {
        self.key(k).push_str(json);
        self
    }

    /// A list of strings.
    #[cfg(feature = "full")]
    pub(crate) fn strs<'a>(mut self, k: &str, items: impl IntoIterator<Item = &'a str>) -> Obj {
        let out = self.key(k);
        out.push('[');
        for (i, s) in items.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_str(out, s);
        }
        out.push(']');
        self
    }

    /// The JSON text.
    pub(crate) fn end(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// Appends `s` as a JSON string literal (core's escaper, as serde_json escapes).
pub(crate) use cliauth_core::json::push_string as push_str;

/// A JSON string literal.
#[cfg(feature = "full")]
pub(crate) fn string(s: &str) -> String {
    let mut out = String::new();
    push_str(&mut out, s);
    out
}

/// A request for the JS executor: `{method, url, headers: [[name, value]], body?}`.
/// Bodies built by core are UTF-8 text (forms and JSON).
pub(crate) fn request_json(r: &HttpRequest) -> String {
    let mut headers = String::from("[");
    for (i, (k, v)) in r.headers.iter().enumerate() {
        if i > 0 {
            headers.push(',');
        }
        headers.push('[');
        push_str(&mut headers, k);
        headers.push(',');
        push_str(&mut headers, v);
        headers.push(']');
    }
    headers.push(']');
    let body = (!r.body.is_empty()).then(|| cliauth_core::encoding::utf8_lossy(&r.body));
    Obj::new()
        .str("method", r.method.as_str())
        .str("url", &r.url)
        .raw("headers", &headers)
        .opt("body", body.as_deref())
        .end()
}

/// A response from the JS executor: the status, the headers as `name: value` lines
/// (joined with `\n`), and the body bytes.
pub(crate) fn response(status: u16, headers: &str, body: Vec<u8>) -> HttpResponse {
    let mut r = HttpResponse::new(status);
    for line in headers.split('\n') {
        if let Some((k, v)) = line.split_once(':') {
            r.headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    r.body = body;
    r
}

/// `N` random bytes the JS layer drew from `crypto.getRandomValues` (it hands them
/// over with the call: the module imports nothing from JS). Any other length means
/// the environment had no secure random source.
#[cfg(feature = "full")]
pub(crate) fn entropy<const N: usize>(random: &[u8]) -> Result<[u8; N], Error> {
    random.try_into().map_err(|_| {
        Error::invalid_config("no secure random source (crypto.getRandomValues) is available")
    })
}

//! Core's one JSON reader, and a string writer for tiny request bodies.
//!
//! Every JSON document core reads — token, device and discovery responses, API
//! error bodies, the cli-auth page's POST, JWT parts, the credentials document — goes
//! through [`Value::from_slice`] (or [`Value::parse`], or [`object_members`], which
//! keeps each member's text so the credentials document writes back what it does not
//! know byte for byte); serde_json is kept only as the model of values core writes
//! (the credentials document's known fields, `--json` output) and of unknown fields
//! ([`Value::into_serde`]).
//!
//! Why not serde_json's reader: the cli-auth and device pages load core as
//! WebAssembly, and serde_json's parser (with its float parsing) was the largest
//! single contributor to that module. This reader is a few hundred bytes of wasm and
//! behaves like serde_json on everything it is used for:
//!
//! - [`push_string`] escapes exactly like serde_json's serializer, so the bodies
//!   [`crate::handoff::HandoffRequest::post_request`] and
//!   [`crate::device::device_approval_request`] build are byte-for-byte what
//!   `serde_json::json!(…).to_string()` produced (keys in the same, sorted order).
//! - The reader accepts exactly the documents serde_json accepts when parsing a
//!   `serde_json::Value` from bytes (RFC 8259, UTF-8, at most 127 nested
//!   arrays/objects, numbers within `f64` range, no lone surrogates, trailing
//!   whitespace only), refuses the others at the line and column serde_json names
//!   ([`SyntaxError`], so error messages read as before), and a repeated key keeps
//!   its last value, as in serde_json's map. Numbers are kept as the text the server
//!   wrote (see [`Value::number_text`]); [`Value::into_serde`] turns them into the
//!   same `u64`, `i64` or `f64` serde_json made of them. Core's tests compare both
//!   readers on generated documents: values, refusals and positions.

mod serde_model;

/// Appends `s` as a JSON string literal (quotes included), escaped as serde_json
/// escapes: `"` and `\` with a backslash, `\b \f \n \r \t` short, other control
/// characters as `\u00XX`; everything else (including non-ASCII) as is.
///
/// ```
/// let mut out = String::new();
/// cliauth_core::json::push_string(&mut out, "a\"b\n\u{1}é");
/// assert_eq!(out, r#""a\"b\n\u0001é""#);
/// ```
pub fn push_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        let short = match c {
            '"' => '"',
            '\\' => '\\',
            '\u{8}' => 'b',
            '\u{c}' => 'f',
            '\n' => 'n',
            '\r' => 'r',
            '\t' => 't',
            '\0'..='\u{1f}' => 'u',
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push('\\');
        out.push(short);
        if short == 'u' {
            let b = c as usize;
            out.push_str("00");
            out.push(HEX[b >> 4] as char);
            out.push(HEX[b & 15] as char);
        }
    }
    out.push('"');
}

/// A JSON object of string fields, in the order given: `{"k":"v",…}`. Callers list
/// keys in sorted order where the text must match what serde_json's `json!` wrote.
///
/// ```
/// assert_eq!(
///     cliauth_core::json::string_object(&[("action", "deny"), ("user_code", "WDJB-MJHT")]),
///     r#"{"action":"deny","user_code":"WDJB-MJHT"}"#
/// );
/// ```
pub fn string_object(fields: &[(&str, &str)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_string(&mut out, k);
        out.push(':');
        push_string(&mut out, v);
    }
    out.push('}');
    out
}

/// A parsed JSON value (see the module docs for what is accepted).
///
/// ```
/// use cliauth_core::json::Value;
/// let v = Value::parse(br#"{"code": "state_mismatch", "n": 2.50, "code": "ok"}"#).unwrap();
/// assert_eq!(v.get("code").and_then(Value::as_str), Some("ok"));
/// assert_eq!(v.get("n").and_then(Value::number_text), Some("2.50"));
/// assert_eq!(Value::parse(b"{\"a\": 1,}"), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written (checked against the JSON grammar and `f64`'s range).
    Number(String),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// Members in document order; lookups take the last of a repeated key.
    Object(Vec<(String, Value)>),
}

/// serde_json's recursion limit: the 128th nested array or object is refused.
const MAX_DEPTH: usize = 127;

/// Where a document stops being JSON, located exactly as serde_json locates it (so
/// the messages built from it read the same): the line, from 1, and the column — the
/// byte offset of the offending byte in its line, plus one; when the input ended
/// early (`eof`), the number of bytes on the last line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// The input ended inside a value.
    pub eof: bool,
    /// The line, from 1.
    pub line: usize,
    /// The column, in bytes.
    pub column: usize,
}

impl SyntaxError {
    /// `unexpected end at line 1 column 45` or `syntax error at line 3 column 5`: the
    /// position only, never content (which can be a secret).
    ///
    /// ```
    /// use cliauth_core::json::Value;
    /// let e = Value::from_slice(b"{\"a\":\n  tru}").unwrap_err();
    /// assert_eq!(e.describe(), "syntax error at line 2 column 6");
    /// assert_eq!(Value::from_slice(b"[1, 2").unwrap_err().describe(), "unexpected end at line 1 column 5");
    /// ```
    pub fn describe(&self) -> String {
        let what = if self.eof {
            "unexpected end"
        } else {
            "syntax error"
        };
        [
            what,
            " at line ",
            &crate::encoding::decimal(self.line as u64),
            " column ",
            &crate::encoding::decimal(self.column as u64),
        ]
        .concat()
    }
}

impl Value {
    /// Parses a whole document; `None` where serde_json would return an error.
    pub fn parse(bytes: &[u8]) -> Option<Value> {
        Parser::<()>::new(bytes).document().ok()
    }

    /// Parses a whole document, or says where it stops being JSON.
    pub fn from_slice(bytes: &[u8]) -> Result<Value, SyntaxError> {
        let mut p = Parser::<Fail>::new(bytes);
        p.document().map_err(|f| p.locate(f))
    }

    /// A member of an object (the last one, if the key repeats); `None` for other
    /// values.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|m| &m.1),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A non-negative integer written without fraction or exponent that fits `u64`
    /// (what serde_json's `as_u64` returns a value for).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) if n.bytes().all(|b| b.is_ascii_digit()) => n.parse().ok(),
            _ => None,
        }
    }

    /// A number as serde_json's `as_f64` returns it.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => serde_model::f64_of(n),
            _ => None,
        }
    }

    /// A number's text as the server wrote it (`120`, `2.50`, `1e3`). serde_json
    /// printed integers the same way but re-printed other numbers through `f64`
    /// (`2.5`, `1000.0`); keeping the server's text avoids float printing in wasm.
    pub fn number_text(&self) -> Option<&str> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }
}

/// The members of the JSON object `text`, each value as the exact text it was written
/// as (from its first byte to its last: no surrounding whitespace), in document order
/// (a repeated key appears each time). `None` when `text` is not one JSON object,
/// accepted as [`Value::parse`] accepts documents.
///
/// This is how a document is rewritten keeping what this version does not know byte
/// for byte (the credentials document's unknown fields and profiles).
///
/// ```
/// let text = r#" {"version": 1, "future": {"b": 2.50,  "a": [1e3]} } "#;
/// let members = cliauth_core::json::object_members(text).unwrap();
/// assert_eq!(members, [("version".into(), "1"), ("future".into(), r#"{"b": 2.50,  "a": [1e3]}"#)]);
/// assert_eq!(cliauth_core::json::object_members("[1]"), None);
/// assert_eq!(cliauth_core::json::object_members(r#"{"a": 1,}"#), None);
/// ```
pub fn object_members(text: &str) -> Option<Vec<(String, &str)>> {
    let mut p = Parser::<()>::new(text.as_bytes());
    if p.ws() != Some(b'{') {
        return None;
    }
    let mut spans = Vec::new();
    p.members(|p, key| {
        p.ws();
        let start = p.i;
        p.value(1)?;
        spans.push((key, start, p.i));
        Ok(())
    })
    .ok()?;
    if p.ws().is_some() {
        return None;
    }
    spans
        .into_iter()
        .map(|(key, start, end)| Some((key, text.get(start..end)?)))
        .collect()
}

/// Why parsing stopped: the byte index serde_json reports, whether the input ended,
/// and how far back the column points (invalid UTF-8 inside a string).
struct Fail {
    at: usize,
    eof: bool,
    back: usize,
}

/// What a failure keeps: a [`Fail`] for [`Value::from_slice`], nothing for
/// [`Value::parse`] (so the web pages' module carries no positions).
trait Failure {
    fn at(at: usize, eof: bool, back: usize) -> Self;
}

impl Failure for () {
    fn at(_: usize, _: bool, _: usize) {}
}

impl Failure for Fail {
    fn at(at: usize, eof: bool, back: usize) -> Self {
        Fail { at, eof, back }
    }
}

/// A recursive-descent reader that fails where serde_json fails: its `error` (the
/// position after the last byte consumed) is [`Parser::here`], its `peek_error` (the
/// byte looked at) [`Parser::peeked`].
struct Parser<'a, F> {
    s: &'a [u8],
    i: usize,
    failure: core::marker::PhantomData<F>,
}

impl Parser<'_, Fail> {
    /// serde_json's line and column of a failure.
    fn locate(&self, f: Fail) -> SyntaxError {
        let before = &self.s[..f.at.min(self.s.len())];
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let line = 1 + before[..start].iter().filter(|&&b| b == b'\n').count();
        SyntaxError {
            eof: f.eof,
            line,
            column: (before.len() - start).saturating_sub(f.back),
        }
    }
}

impl<'a, F: Failure> Parser<'a, F> {
    fn new(s: &'a [u8]) -> Self {
        Parser {
            s,
            i: 0,
            failure: core::marker::PhantomData,
        }
    }

    fn document(&mut self) -> Result<Value, F> {
        let v = self.value(0)?;
        match self.ws() {
            Some(_) => Err(self.peeked(false)),
            None => Ok(v),
        }
    }

    /// A failure located after the last byte consumed.
    fn here(&self, eof: bool) -> F {
        F::at(self.i, eof, 0)
    }

    /// A failure located at the byte looked at (not consumed).
    fn peeked(&self, eof: bool) -> F {
        F::at((self.i + 1).min(self.s.len()), eof, 0)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    /// Skips whitespace; the next byte, not consumed.
    fn ws(&mut self) -> Option<u8> {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
        self.peek()
    }

    fn value(&mut self, depth: usize) -> Result<Value, F> {
        let Some(b) = self.ws() else {
            return Err(self.peeked(true));
        };
        match b {
            b'n' => self.literal(b"ull", Value::Null),
            b't' => self.literal(b"rue", Value::Bool(true)),
            b'f' => self.literal(b"alse", Value::Bool(false)),
            b'"' => self.string().map(Value::String),
            b'-' | b'0'..=b'9' => self.number().map(Value::Number),
            b'[' | b'{' if depth >= MAX_DEPTH => Err(self.peeked(false)),
            b'[' => self.array(depth),
            b'{' => self.object(depth),
            _ => Err(self.peeked(false)),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, F> {
        self.i += 1;
        let mut items = Vec::new();
        match self.ws() {
            None => return Err(self.peeked(true)),
            Some(b']') => {
                self.i += 1;
                return Ok(Value::Array(items));
            }
            Some(_) => {}
        }
        loop {
            items.push(self.value(depth + 1)?);
            match self.ws() {
                None => return Err(self.peeked(true)),
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                Some(b',') => {
                    self.i += 1;
                    match self.ws() {
                        None => return Err(self.peeked(true)),
                        Some(b']') => return Err(self.peeked(false)),
                        Some(_) => {}
                    }
                }
                Some(_) => return Err(self.peeked(false)),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, F> {
        let mut members = Vec::new();
        self.members(|p, key| {
            members.push((key, p.value(depth + 1)?));
            Ok(())
        })?;
        Ok(Value::Object(members))
    }

    /// An object's members, at its `{`: `member` reads each value after its key.
    fn members(
        &mut self,
        mut member: impl FnMut(&mut Self, String) -> Result<(), F>,
    ) -> Result<(), F> {
        self.i += 1;
        match self.ws() {
            None => return Err(self.peeked(true)),
            Some(b'}') => {
                self.i += 1;
                return Ok(());
            }
            Some(b'"') => {}
            Some(_) => return Err(self.peeked(false)),
        }
        loop {
            let key = self.string()?;
            match self.ws() {
                None => return Err(self.peeked(true)),
                Some(b':') => self.i += 1,
                Some(_) => return Err(self.peeked(false)),
            }
            member(self, key)?;
            match self.ws() {
                None => return Err(self.peeked(true)),
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b',') => {
                    self.i += 1;
                    match self.ws() {
                        None => return Err(self.peeked(true)),
                        Some(b'"') => {}
                        Some(_) => return Err(self.peeked(false)),
                    }
                }
                Some(_) => return Err(self.peeked(false)),
            }
        }
    }

    /// The rest of `null`, `true` or `false`, after its first byte.
    fn literal(&mut self, rest: &[u8], v: Value) -> Result<Value, F> {
        self.i += 1;
        for &expected in rest {
            match self.next() {
                None => return Err(self.here(true)),
                Some(b) if b != expected => return Err(self.here(false)),
                Some(_) => {}
            }
        }
        Ok(v)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, within `f64` range.
    fn number(&mut self) -> Result<String, F> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        match self.next() {
            None => return Err(self.here(true)),
            Some(b'0') => {
                if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    return Err(self.peeked(false));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            Some(_) => return Err(self.here(false)),
        }
        let int_end = self.i;
        let mut frac = int_end..int_end;
        if self.peek() == Some(b'.') {
            self.i += 1;
            let f = self.i;
            if self.digits() == 0 {
                return Err(self.peeked(self.peek().is_none()));
            }
            frac = f..self.i;
        }
        let mut exp: i64 = 0;
        // Where serde_json's `i32` exponent overflows (the index after that digit).
        let mut exp_overflow = None;
        let mut negative_exp = false;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            negative_exp = match self.peek() {
                Some(b'-') => {
                    self.i += 1;
                    true
                }
                Some(b'+') => {
                    self.i += 1;
                    false
                }
                _ => false,
            };
            match self.next() {
                None => return Err(self.here(true)),
                Some(b'0'..=b'9') => {}
                Some(_) => return Err(self.here(false)),
            }
            let e = self.i - 1;
            self.digits();
            let mut exp32: i32 = 0;
            for (k, &d) in self.s[e..self.i].iter().enumerate() {
                let d = d - b'0';
                // Saturate far beyond any meaningful exponent.
                exp = (exp * 10 + i64::from(d)).min(1 << 40);
                if exp_overflow.is_none() {
                    match exp32
                        .checked_mul(10)
                        .and_then(|x| x.checked_add(i32::from(d)))
                    {
                        Some(x) => exp32 = x,
                        None => exp_overflow = Some(e + k + 1),
                    }
                }
            }
            if negative_exp {
                exp = -exp;
            }
        }
        // The significant digits and the power of ten of the first one:
        // value = 0.d1 d2 d3 … × 10^magnitude.
        let digits = self.s[int_start..int_end]
            .iter()
            .chain(&self.s[frac])
            .copied();
        let mut magnitude = i64::try_from(int_end - int_start).unwrap_or(i64::MAX) + exp;
        let mut significant = Vec::new();
        for d in digits {
            if significant.is_empty() && d == b'0' {
                magnitude -= 1;
            } else {
                significant.push(d);
            }
        }
        if !significant.is_empty() && !within_f64_range(&significant, magnitude) {
            // serde_json stops at the exponent digit that overflowed, else at the end.
            let at = match exp_overflow {
                Some(at) if !negative_exp => at,
                _ => self.i,
            };
            return Err(F::at(at, false, 0));
        }
        // The bytes are ASCII digits and signs (no UTF-8 decoding needed).
        let digits = self.s.get(start..self.i).unwrap_or_default();
        Ok(digits.iter().map(|&b| char::from(b)).collect())
    }

    /// Four hex digits of a `\u` escape.
    fn hex4(&mut self) -> Result<u32, F> {
        let Some(digits) = self.s.get(self.i..self.i + 4) else {
            self.i = self.s.len();
            return Err(self.here(true));
        };
        self.i += 4;
        let mut n = 0;
        for &d in digits {
            match char::from(d).to_digit(16) {
                Some(v) => n = n * 16 + v,
                None => return Err(self.here(false)),
            }
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, F> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            match self.next() {
                None => return Err(self.here(true)),
                Some(b'"') => {
                    return String::from_utf8(out).map_err(|e| {
                        F::at(
                            self.i,
                            false,
                            e.as_bytes().len() - e.utf8_error().valid_up_to(),
                        )
                    });
                }
                Some(b'\\') => self.escape(&mut out)?,
                Some(0..=0x1f) => return Err(self.here(false)),
                Some(b) => out.push(b),
            }
        }
    }

    /// The escape after a backslash, appended to `out` as UTF-8.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), F> {
        let c = match self.next() {
            None => return Err(self.here(true)),
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let n = self.hex4()?;
                let n = match n {
                    0xdc00..=0xdfff => return Err(self.here(false)),
                    0xd800..=0xdbff => {
                        // A leading surrogate needs `\u` and a trailing one.
                        for expected in [b'\\', b'u'] {
                            match self.next() {
                                None => return Err(self.here(true)),
                                Some(b) if b != expected => return Err(self.here(false)),
                                Some(_) => {}
                            }
                        }
                        let low = self.hex4()?;
                        if !(0xdc00..0xe000).contains(&low) {
                            return Err(self.here(false));
                        }
                        0x10000 + ((n - 0xd800) << 10) + (low - 0xdc00)
                    }
                    n => n,
                };
                match char::from_u32(n) {
                    Some(c) => c,
                    None => return Err(self.here(false)),
                }
            }
            Some(_) => return Err(self.here(false)),
        };
        let mut buf = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }
}

/// Whether `0.d1 d2 … × 10^magnitude` (with `d1` non-zero) stays below `f64::MAX`
/// (1.7976931348623157e308), as serde_json requires; smaller magnitudes round to
/// zero, which serde_json accepts.
fn within_f64_range(significant: &[u8], magnitude: i64) -> bool {
    const MAX: &[u8] = b"17976931348623157";
    match magnitude {
        ..=308 => true,
        309 => {
            // Compare the digit strings, the shorter padded with zeros.
            let len = significant.len().max(MAX.len());
            let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(b'0');
            (0..len)
                .map(|i| at(significant, i).cmp(&at(MAX, i)))
                .find(|o| o.is_ne())
                .is_none_or(|o| o.is_lt())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_like_serde_json() {
        let samples = [
            "",
            "plain",
            "quote \" backslash \\ slash /",
            "\u{0}\u{1}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f}\u{7f}",
            "é ü 日本 😀 \u{2028}",
            "acme_dev_a&b=c",
        ];
        for s in samples {
            let mut out = String::new();
            push_string(&mut out, s);
            assert_eq!(out, serde_json::Value::from(s).to_string(), "{s:?}");
        }
        let pairs = [("api_key", "k\"\n"), ("state", "abc")];
        assert_eq!(
            string_object(&pairs),
            serde_json::json!({"api_key": "k\"\n", "state": "abc"}).to_string()
        );
        assert_eq!(string_object(&[]), "{}");
    }

    /// What serde_json makes of a document, in this module's terms.
    fn serde(text: &[u8]) -> Option<Value> {
        fn convert(v: serde_json::Value) -> Value {
            match v {
                serde_json::Value::Null => Value::Null,
                serde_json::Value::Bool(b) => Value::Bool(b),
                // Numbers are compared separately (their text differs by design).
                serde_json::Value::Number(_) => Value::Number(String::new()),
                serde_json::Value::String(s) => Value::String(s),
                serde_json::Value::Array(a) => Value::Array(a.into_iter().map(convert).collect()),
                serde_json::Value::Object(m) => {
                    Value::Object(m.into_iter().map(|(k, v)| (k, convert(v))).collect())
                }
            }
        }
        serde_json::from_slice::<serde_json::Value>(text)
            .ok()
            .map(convert)
    }

    /// This reader's result, with numbers blanked and objects deduplicated and sorted
    /// like serde_json's map.
    fn ours(text: &[u8]) -> Option<Value> {
        fn normal(v: Value) -> Value {
            match v {
                Value::Number(_) => Value::Number(String::new()),
                Value::Array(a) => Value::Array(a.into_iter().map(normal).collect()),
                Value::Object(m) => {
                    let mut map = std::collections::BTreeMap::new();
                    for (k, v) in m {
                        map.insert(k, normal(v));
                    }
                    Value::Object(map.into_iter().collect())
                }
                other => other,
            }
        }
        Value::parse(text).map(normal)
    }

    /// Where serde_json stops, in this module's terms.
    fn serde_error(text: &[u8]) -> Option<SyntaxError> {
        let e = serde_json::from_slice::<serde_json::Value>(text).err()?;
        Some(SyntaxError {
            eof: e.is_eof(),
            line: e.line(),
            column: e.column(),
        })
    }

    /// Both readers accept the same documents with the same values, and refuse the
    /// others at the same place.
    fn agree(text: &[u8]) {
        assert_eq!(
            ours(text),
            serde(text),
            "{:?}",
            String::from_utf8_lossy(text)
        );
        assert_eq!(
            Value::from_slice(text).err(),
            serde_error(text),
            "{:?}",
            String::from_utf8_lossy(text)
        );
        if let Ok(v) = Value::from_slice(text) {
            let theirs: serde_json::Value = serde_json::from_slice(text).unwrap();
            assert_eq!(
                v.into_serde(),
                theirs,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn accepts_and_refuses_like_serde_json() {
        let docs: &[&[u8]] = &[
            b"",
            b" ",
            b"null",
            b"nul",
            b"nullx",
            b"true ",
            b" false\n",
            b"{}",
            b"[]",
            b"[1,]",
            b"[,1]",
            b"{\"a\":1,}",
            b"{\"a\" : [1, 2.5, -0, 0e0, 1E+2, 1e-400, -1.5e-7, true, null, \"x\"] }",
            b"{\"a\":1}{}",
            b"{a:1}",
            b"{'a':1}",
            b"{\"a\"}",
            b"{\"a\":}",
            b"{\"a\":1 \"b\":2}",
            b"{\"a\":1,\"a\":2}",
            b"[01]",
            b"[-]",
            b"[-01]",
            b"[1.]",
            b"[.5]",
            b"[1e]",
            b"[1e+]",
            b"[+1]",
            b"[0x10]",
            b"[NaN]",
            b"[Infinity]",
            b"[1e308]",
            b"[1e309]",
            b"[-1e309]",
            b"[1.7976931348623157e308]",
            b"[1.8e308]",
            b"[179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000]",
            b"[0.0000000000000000000000000000001e330]",
            b"[0e99999999999999999999]",
            b"[1e99999999999999999999]",
            b"[1e-99999999999999999999]",
            b"[18446744073709551615, 18446744073709551616, -9223372036854775808, -9223372036854775809]",
            b"\"\\u00e9\\ud83d\\ude00\"",
            b"\"\\ud83d\"",
            b"\"\\ud83dx\"",
            b"\"\\ud83d\\n\"",
            b"\"\\ude00\"",
            b"\"\\ud83d\\ud83d\"",
            b"\"\\uZZZZ\"",
            b"\"\\u12\"",
            b"\"\\x\"",
            b"\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
            b"\"tab\there\"",
            b"\"nl\nhere\"",
            b"\"del\x7fok\"",
            b"\"\xc3\xa9\"",
            b"\"\xff\"",
            b"\"\xed\xa0\x80\"",
            b"\"unterminated",
            b"\xef\xbb\xbf{}",
            b"[[[[]]]]",
            b"{\"detail\": \"x\", \"n\": 1e999}",
            b"{\"a\":{\"b\":{\"c\":[{}]}}}",
            // Positions on later lines, inside strings, after escapes and overflows.
            b"{\"a\":1,\n\"b\" 2}",
            b"[1,\n\n]",
            b"{\n  \"a\": \"\\ud83d\\u0041\"\n}",
            b"\"\\u00e9\xff\"",
            b"\"ab\xc3\"",
            b"\"\\ud83d\\",
            b"[18446744073709551616.5e3, 184467440737095516160.25, -18446744073709551615]",
            b"[0.1, 0.2, 540e-26, 123456789012345678901234567890e-10]",
            b"[1e2147483647, 1e2147483648, 0e2147483648, 1e-2147483649]",
            b"{\"a\"\n:\n[tru]}",
            b"\t\r\n nul",
        ];
        for d in docs {
            agree(d);
        }
        // serde_json's recursion limit.
        for depth in [126, 127, 128, 129] {
            agree(format!("{}{}", "[".repeat(depth), "]".repeat(depth)).as_bytes());
            agree(format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)).as_bytes());
        }
    }

    #[test]
    fn lookups() {
        let v = Value::parse(
            br#"{"a": "x", "n": 120, "f": 2.50, "a": "y", "neg": -3, "big": 99999999999999999999}"#,
        )
        .unwrap();
        assert_eq!(v.get("a").and_then(Value::as_str), Some("y"));
        assert_eq!(v.get("n").and_then(Value::as_u64), Some(120));
        assert_eq!(v.get("f").and_then(Value::as_u64), None);
        assert_eq!(v.get("neg").and_then(Value::as_u64), None);
        assert_eq!(v.get("big").and_then(Value::as_u64), None);
        assert_eq!(v.get("f").and_then(Value::number_text), Some("2.50"));
        assert_eq!(v.get("missing"), None);
        assert!(v.is_object());
        let a = Value::parse(b"[1]").unwrap();
        assert_eq!(a.get("length"), None);
        assert!(!a.is_object());
    }

    proptest::proptest! {
        #[test]
        fn generated_documents_agree(text in json_like()) {
            agree(text.as_bytes());
        }

        #[test]
        fn arbitrary_bytes_agree(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            agree(&bytes);
        }

        #[test]
        fn numbers_agree(text in r"-?(0|[1-9][0-9]{0,3})(\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?") {
            agree(format!("[{text}]").as_bytes());
            let n: f64 = text.parse().unwrap_or(f64::INFINITY);
            proptest::prop_assert_eq!(Value::parse(text.as_bytes()).is_some(), n.is_finite());
        }
    }

    /// Text that is often JSON and often almost JSON.
    fn json_like() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let atom = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("fals".to_string()),
            r"-?[0-9]{1,3}(\.[0-9]{0,2})?([eE][+-]?[0-9]{0,3})?",
            r#""([a-z ]|\\[nt"\\/u]|\\u[0-9a-fA-F]{4}|\\ud83d\\ude00|\\ud83d|é)*""#,
        ];
        atom.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec((r#""[a-c]""#, inner), 0..4).prop_map(|v| {
                    let members: Vec<String> =
                        v.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
                    format!("{{{}}}", members.join(", "))
                }),
            ]
        })
        .prop_map(|s| format!(" {s} "))
    }
}

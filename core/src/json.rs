//! Small JSON helpers for the paths a web page ships: a string writer for tiny
//! request bodies and a strict reader ([`Value`]) for the few fields core takes from
//! error bodies (and the wasm page module from its options).
//!
//! Why not serde_json everywhere: the cli-auth and device pages load core as
//! WebAssembly, and serde_json (with float parsing and printing) was the largest
//! single contributor to that module. These helpers are a few hundred bytes of wasm
//! and behave like serde_json on everything they are used for:
//!
//! - [`push_string`] escapes exactly like serde_json's serializer, so the bodies
//!   [`crate::handoff::HandoffRequest::post_request`] and
//!   [`crate::device::device_approval_request`] build are byte-for-byte what
//!   `serde_json::json!(…).to_string()` produced (keys in the same, sorted order).
//! - The reader accepts exactly the documents serde_json accepts when parsing a
//!   `serde_json::Value` from bytes (RFC 8259, UTF-8, at most 127 nested
//!   arrays/objects, numbers within `f64` range, no lone surrogates, trailing
//!   whitespace only), and a repeated key keeps its last value, as in serde_json's
//!   map. One documented difference: a number is kept as the text the server wrote
//!   (see [`Value::number_text`]), where serde_json re-printed it through `f64`.
//!   Core's tests compare both readers on generated documents.

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

impl Value {
    /// Parses a whole document; `None` where serde_json would return an error.
    pub fn parse(bytes: &[u8]) -> Option<Value> {
        let mut p = Parser { s: bytes, i: 0 };
        let v = p.value(0)?;
        p.ws();
        (p.i == bytes.len()).then_some(v)
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

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        let hit = self.peek() == Some(b);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        self.ws();
        Some(match self.peek()? {
            b'n' => self.literal(b"null", Value::Null)?,
            b't' => self.literal(b"true", Value::Bool(true))?,
            b'f' => self.literal(b"false", Value::Bool(false))?,
            b'"' => Value::String(self.string()?),
            b'[' | b'{' if depth >= MAX_DEPTH => return None,
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Value::Array(items)
            }
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        if self.peek() != Some(b'"') {
                            return None;
                        }
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return None;
                        }
                        members.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Value::Object(members)
            }
            _ => Value::Number(self.number()?),
        })
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Option<Value> {
        let end = self.i.checked_add(word.len())?;
        (self.s.get(self.i..end)? == word).then(|| {
            self.i = end;
            v
        })
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, within `f64` range.
    fn number(&mut self) -> Option<String> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        let int_len = self.digits();
        if int_len == 0 || (int_len > 1 && self.s[int_start] == b'0') {
            return None;
        }
        let int_end = self.i;
        let mut frac = int_end..int_end;
        if self.peek() == Some(b'.') {
            self.i += 1;
            let f = self.i;
            if self.digits() == 0 {
                return None;
            }
            frac = f..self.i;
        }
        let mut exp: i64 = 0;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            let negative = match self.peek() {
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
            let e = self.i;
            if self.digits() == 0 {
                return None;
            }
            for &d in &self.s[e..self.i] {
                // Saturate far beyond any meaningful exponent.
                exp = (exp * 10 + i64::from(d - b'0')).min(1 << 40);
            }
            if negative {
                exp = -exp;
            }
        }
        // The significant digits and the power of ten of the first one:
        // value = 0.d1 d2 d3 … × 10^magnitude.
        let digits = self.s[int_start..int_end]
            .iter()
            .chain(&self.s[frac])
            .copied();
        let mut magnitude = i64::try_from(int_end - int_start).ok()? + exp;
        let mut significant = Vec::new();
        for d in digits {
            if significant.is_empty() && d == b'0' {
                magnitude -= 1;
            } else {
                significant.push(d);
            }
        }
        if !significant.is_empty() && !within_f64_range(&significant, magnitude) {
            return None;
        }
        String::from_utf8(self.s[start..self.i].to_vec()).ok()
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut n = 0;
        for _ in 0..4 {
            n = n * 16 + char::from(self.next()?).to_digit(16)?;
        }
        Some(n)
    }

    fn string(&mut self) -> Option<String> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            match self.next()? {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let c = match self.next()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let n = self.hex4()?;
                            let n = if (0xd800..0xdc00).contains(&n) {
                                // A leading surrogate needs a trailing one.
                                if self.next()? != b'\\' || self.next()? != b'u' {
                                    return None;
                                }
                                let low = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&low) {
                                    return None;
                                }
                                0x10000 + ((n - 0xd800) << 10) + (low - 0xdc00)
                            } else {
                                n
                            };
                            char::from_u32(n)?
                        }
                        _ => return None,
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => return None,
                b => out.push(b),
            }
        }
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

    fn agree(text: &[u8]) {
        assert_eq!(
            ours(text),
            serde(text),
            "{:?}",
            String::from_utf8_lossy(text)
        );
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

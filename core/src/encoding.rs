//! Small encoding helpers: base64url, form encoding, query parsing, HTML escaping and a
//! minimal URL splitter. Core uses them throughout; they are public so that the shells
//! and the examples (the dev server's pages) do not write them again.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// The decimal text of a number, written without `core::fmt`: core's messages are
/// put together from pieces with this and `concat`, so that the web pages' wasm
/// links no formatter (`cargo xtask size`).
///
/// ```
/// assert_eq!(cliauth_core::encoding::decimal(0), "0");
/// assert_eq!(cliauth_core::encoding::decimal(u64::MAX), u64::MAX.to_string());
/// ```
pub fn decimal(mut n: u64) -> String {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits[at..].iter().map(|&d| char::from(d)).collect()
}

/// base64url without padding, as RFC 7636 and JWTs use it.
pub fn b64url_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The base64url engine that accepts input with or without padding.
const B64URL_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// base64url decoding that accepts input with or without padding; `None` if the text
/// is not base64url.
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    B64URL_LENIENT.decode(text).ok()
}

/// `application/x-www-form-urlencoded` serialisation of pairs (the URL Standard's
/// serializer, byte for byte what the `form_urlencoded` crate writes: `A-Z a-z 0-9 * -
/// . _` as they are, space as `+`, every other byte as `%XX`).
///
/// Core's own codec rather than `form_urlencoded`: the web pages' wasm carried that
/// crate's 768-byte escape table and its generic serializer (about 2 KB raw); this is
/// a few hundred bytes. Core's tests compare both on generated input.
///
/// ```
/// use cliauth_core::encoding::form_encode;
/// assert_eq!(form_encode([("a b", "x&y=z"), ("é", "*-._~")]), "a+b=x%26y%3Dz&%C3%A9=*-._%7E");
/// ```
pub fn form_encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        form_escape(&mut out, k);
        out.push('=');
        form_escape(&mut out, v);
    }
    out
}

/// One name or value form-encoded (`application/x-www-form-urlencoded`, as in
/// [`form_encode`]): what RFC 6749 §2.3.1 applies to the client id and secret before
/// they are joined for HTTP Basic authentication.
///
/// ```
/// use cliauth_core::encoding::form_component;
/// assert_eq!(form_component("a b:c%"), "a+b%3Ac%25");
/// ```
pub fn form_component(text: &str) -> String {
    let mut out = String::new();
    form_escape(&mut out, text);
    out
}

fn form_escape(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
    }
}

/// One form-encoded name or value: `+` is a space, `%XX` a byte (a `%` not followed
/// by two hex digits stays as it is), and the bytes are read as UTF-8 with invalid
/// sequences replaced by U+FFFD — the URL Standard's parser, as `form_urlencoded`.
fn form_unescape(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        i += 1;
        out.push(match c {
            b'+' => b' ',
            b'%' => match (
                b.get(i).and_then(hex_digit),
                b.get(i + 1).and_then(hex_digit),
            ) {
                (Some(hi), Some(lo)) => {
                    i += 2;
                    hi << 4 | lo
                }
                _ => c,
            },
            _ => c,
        });
    }
    utf8_lossy(&out)
}

/// `bytes` as UTF-8 text, each invalid sequence replaced by U+FFFD: the same text as
/// [`String::from_utf8_lossy`] (one replacement per maximal invalid subpart), written
/// with `str::from_utf8` alone, which the web pages' wasm links anyway — std's lossy
/// decoder (`Utf8Chunks`) is another kilobyte there.
///
/// ```
/// use cliauth_core::encoding::utf8_lossy;
/// assert_eq!(utf8_lossy(b"caf\xc3\xa9"), "café");
/// assert_eq!(utf8_lossy(b"a\xffb\xe2\x82"), "a\u{fffd}b\u{fffd}");
/// ```
pub fn utf8_lossy(mut bytes: &[u8]) -> String {
    let mut out = String::new();
    loop {
        match core::str::from_utf8(bytes) {
            Ok(text) => {
                out.push_str(text);
                return out;
            }
            Err(e) => {
                let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
                out.push_str(core::str::from_utf8(valid).unwrap_or_default());
                out.push('\u{fffd}');
                // `None`: an incomplete sequence at the end, one replacement.
                let skip = e.valid_up_to() + e.error_len().unwrap_or(bytes.len());
                bytes = bytes.get(skip..).unwrap_or_default();
            }
        }
    }
}

fn hex_digit(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends form-encoded pairs to a URL that may already have a query string.
pub fn append_query<'a>(url: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let query = form_encode(pairs);
    let mut out = String::with_capacity(base.len() + query.len() + 2);
    out.push_str(base);
    if !query.is_empty() {
        if base.contains('?') {
            if !base.ends_with('?') && !base.ends_with('&') {
                out.push('&');
            }
        } else {
            out.push('?');
        }
        out.push_str(&query);
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Parses a form-encoded query into pairs. Never fails: malformed percent escapes are
/// kept literally, as browsers do. Pairs are split at `&` (empty ones skipped), a
/// name from its value at the first `=` (no `=`: an empty value).
///
/// ```
/// use cliauth_core::encoding::parse_query;
/// assert_eq!(
///     parse_query("a=1+2&&b&c=%41%zz=%E9"),
///     [("a".into(), "1 2".into()), ("b".into(), "".into()), ("c".into(), "A%zz=\u{fffd}".into())]
/// );
/// ```
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        out.push((form_unescape(name), form_unescape(value)));
    }
    out
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The parts of an absolute `http`/`https` URL that cliauth needs to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// `http` or `https`, as written.
    pub scheme: &'a str,
    /// Host as written (IPv6 literals keep their brackets), lower-cased by the caller if needed.
    pub host: &'a str,
    /// The explicit port, if any.
    pub port: Option<u16>,
    /// Path without query or fragment; empty when absent.
    pub path: &'a str,
    /// The query without `?`, if any.
    pub query: Option<&'a str>,
    /// The fragment without `#`, if any.
    pub fragment: Option<&'a str>,
}

/// Splits an absolute http(s) URL. Returns `None` for anything else (relative URLs,
/// other schemes, user-info, bad ports, whitespace or control characters).
pub fn split_url(url: &str) -> Option<UrlParts<'_>> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    // The first `:` ends the scheme and must start `://` (the same split as
    // `split_once("://")` for every URL accepted below, without a substring searcher).
    let (scheme, rest) = url.split_once(':')?;
    let rest = rest.strip_prefix("//")?;
    let scheme_ok = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    if !scheme_ok {
        return None;
    }
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    // `get`/`split_at_checked` rather than indexing: no panic path (with its
    // formatting code) in the pages' wasm.
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at_checked(i)?,
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') || authority.contains('\\') {
        return None;
    }
    let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
        let (inside, after) = stripped.split_once(']')?;
        let host = authority.get(..inside.len() + 2)?;
        let port = match after {
            "" => None,
            p => Some(parse_port(p.strip_prefix(':')?)?),
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(parse_port(p)?)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some(UrlParts {
        scheme,
        host,
        port,
        path,
        query,
        fragment,
    })
}

fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Parsed as u64 like core's other numbers (one parser in the pages' wasm).
    u16::try_from(p.parse::<u64>().ok()?).ok()
}

/// Whether a host names the loopback interface.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h == "localhost"
        || h == "[::1]"
        || h.parse::<core::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_queries() {
        assert_eq!(
            append_query("https://a/x", [("a", "1 2")]),
            "https://a/x?a=1+2"
        );
        assert_eq!(
            append_query("https://a/x?z=0", [("a", "&")]),
            "https://a/x?z=0&a=%26"
        );
        assert_eq!(
            append_query("https://a/x?", [("a", "b")]),
            "https://a/x?a=b"
        );
        assert_eq!(
            append_query("https://a/x#f", [("a", "b")]),
            "https://a/x?a=b#f"
        );
    }

    #[test]
    fn splits_urls() {
        let u = split_url("https://Example.com:8443/a/b?q=1#frag").unwrap();
        assert_eq!(
            (u.scheme, u.host, u.port, u.path, u.query, u.fragment),
            (
                "https",
                "Example.com",
                Some(8443),
                "/a/b",
                Some("q=1"),
                Some("frag")
            )
        );
        let u = split_url("http://[::1]:9/cb").unwrap();
        assert_eq!((u.host, u.port), ("[::1]", Some(9)));
        assert!(split_url("ftp://x").is_none());
        assert!(split_url("http://user@evil/").is_none());
        assert!(split_url("http://x:99999/").is_none());
        assert!(split_url("http://x:+1/").is_none());
        assert!(split_url("http:// x/").is_none());
        assert!(split_url("/relative").is_none());
        assert!(split_url("http:/x").is_none());
        assert!(split_url("https:x://y").is_none());
        assert!(split_url("x:http://y").is_none());
        assert_eq!(split_url("HTTP://a:1://b").map(|u| u.host), None);
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("LOCALHOST"));
        assert!(!is_loopback_host("127.0.0.1.evil.com"));
    }

    proptest::proptest! {
        /// `split_url` splits off the scheme at the first `:` followed by `//`; for
        /// every http(s) scheme that is the same split as `split_once("://")`.
        #[test]
        fn scheme_split_is_the_first_separator(url in "[hH:/tpsx]{0,12}") {
            let http = |(s, _): &(&str, &str)| {
                s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https")
            };
            let reference = url.split_once("://").filter(http);
            let ours = url
                .split_once(':')
                .and_then(|(s, r)| Some((s, r.strip_prefix("//")?)))
                .filter(http);
            proptest::prop_assert_eq!(reference, ours);
            let scheme = split_url(&url).map(|u| u.scheme);
            if scheme.is_some() {
                proptest::prop_assert_eq!(scheme, reference.map(|(s, _)| s));
            }
        }
    }

    proptest::proptest! {
        /// The form codec writes and reads exactly what `form_urlencoded` (the URL
        /// Standard's codec, which core used before) writes and reads: any text, any
        /// bytes, percent escapes valid or not.
        #[test]
        fn form_codec_matches_form_urlencoded(
            pairs in proptest::collection::vec(("\\PC{0,8}", "[ -~é\u{0}%+&=]{0,12}"), 0..4),
            query in "[a-z0-9%+&=. \u{e9}\u{1f600}]{0,24}",
            raw in proptest::collection::vec(proptest::num::u8::ANY, 0..24),
        ) {
            let mut reference = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &pairs {
                reference.append_pair(k, v);
            }
            let ours = form_encode(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            proptest::prop_assert_eq!(&ours, &reference.finish());
            let parsed: Vec<(String, String)> = form_urlencoded::parse(ours.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            proptest::prop_assert_eq!(&parse_query(&ours), &parsed);
            proptest::prop_assert_eq!(&parsed, &pairs);
            // Queries as found in URLs, with escapes of invalid UTF-8 and broken ones.
            let mut escaped = query.clone();
            for b in &raw {
                escaped.push_str(&["%", &format!("{b:02x}")].concat());
            }
            escaped.push_str("%4");
            for q in [query.as_str(), escaped.as_str()] {
                let reference: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                proptest::prop_assert_eq!(parse_query(q), reference);
            }
        }
    }

    proptest::proptest! {
        /// `utf8_lossy` is `String::from_utf8_lossy`, byte for byte, on any bytes
        /// (mostly UTF-8 with broken, truncated and overlong sequences in it).
        #[test]
        fn utf8_lossy_is_std_lossy(
            text in "\\PC{0,6}",
            raw in proptest::collection::vec(
                proptest::sample::select(vec![0x41u8, 0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x9f]),
                0..10,
            ),
            at in 0usize..8,
        ) {
            let mut bytes = text.into_bytes();
            let at = at.min(bytes.len());
            bytes.splice(at..at, raw);
            proptest::prop_assert_eq!(utf8_lossy(&bytes), String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn escapes_html() {
        assert_eq!(
            html_escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn base64url_round_trip() {
        assert_eq!(b64url_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64url_decode("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(b64url_decode("-_8=").unwrap(), vec![0xfb, 0xff]);
        assert!(b64url_decode("+/8").is_none());
    }
}

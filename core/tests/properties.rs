//! Property tests: every parser takes arbitrary input to `Ok` or a typed `Err` and
//! never panics; machines fed arbitrary responses always terminate; invariants that
//! protect users hold for all inputs (handoff targets stay on loopback, diagnoses
//! never repeat the key, documents round-trip).

use core::time::Duration;

use cliauth_core::authorize::CallbackParams;
use cliauth_core::credentials::{Credential, CredentialsDocument, LoginMethod, Profile};
use cliauth_core::device::{self, DeviceFlow, UserCodeFormat};
use cliauth_core::exchange::{Exchange, TransportError};
use cliauth_core::flow::{Flow, Input, Step};
use cliauth_core::handoff::{HandoffCredential, HandoffRequest};
use cliauth_core::http::{self, HttpRequest};
use cliauth_core::keys::{Charset, KeyFormat, KeyRegistry};
use cliauth_core::loopback::{
    LoopbackConfig, LoopbackHandler, LoopbackLimits, LoopbackRequest, ParseProgress, Rejection,
    RequestParser, parse_request,
};
use cliauth_core::pkce::{PkceMethod, PkceVerifier};
use cliauth_core::refresh::{Refresh, RefreshConfig};
use cliauth_core::retry::RetryPolicy;
use cliauth_core::secret::RedactedBytes;
use cliauth_core::secret::{AccessToken, ApiKey, AuthorizationCode, RefreshToken};
use cliauth_core::state::StateToken;
use cliauth_core::time::{Instant, Now};
use cliauth_core::token::{RefreshPolicy, TokenSet};
use cliauth_core::{HttpResponse, Timestamp, jwt, token};
use proptest::prelude::*;

const NOW: Timestamp = Timestamp::from_unix_secs(1_795_341_600);

/// The parser as it was before it became incremental (the whole buffer parsed on
/// every call): the reference the incremental parser must agree with.
fn reference_parse(buf: &[u8], limits: &LoopbackLimits) -> Result<ParseProgress, Rejection> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n");
    match line_end {
        None if buf.len() > limits.max_request_line => {
            return Err(Rejection {
                status: 414,
                reason: "request line too long",
            });
        }
        Some(n) if n > limits.max_request_line => {
            return Err(Rejection {
                status: 414,
                reason: "request line too long",
            });
        }
        _ => {}
    }
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if buf.len() > limits.max_head {
                return Err(Rejection {
                    status: 431,
                    reason: "request headers too large",
                });
            }
            return Ok(ParseProgress::Incomplete);
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Rejection {
                status: 431,
                reason: "too many request headers",
            });
        }
        Err(_) => {
            return Err(Rejection {
                status: 400,
                reason: "malformed request",
            });
        }
    };
    if head_len > limits.max_head {
        return Err(Rejection {
            status: 431,
            reason: "request headers too large",
        });
    }
    let method = req.method.unwrap_or_default().to_string();
    let target = req.path.unwrap_or_default().to_string();
    let mut fields = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value).map_err(|_| Rejection {
            status: 400,
            reason: "header value is not UTF-8",
        })?;
        fields.push((h.name.to_string(), value.to_string()));
    }
    let find = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if find("transfer-encoding").is_some() {
        return Err(Rejection {
            status: 411,
            reason: "chunked bodies are not accepted",
        });
    }
    let content_length = match find("content-length") {
        None => 0,
        Some(v) => {
            let v = v.trim();
            if v.is_empty() || v.len() > 10 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Rejection {
                    status: 400,
                    reason: "invalid Content-Length",
                });
            }
            v.parse::<usize>().map_err(|_| Rejection {
                status: 400,
                reason: "invalid Content-Length",
            })?
        }
    };
    let duplicate_length = fields
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .count()
        > 1;
    if duplicate_length {
        return Err(Rejection {
            status: 400,
            reason: "duplicate Content-Length",
        });
    }
    // RFC 9112 §3.2: more than one Host line is a 400. Otherwise the `Host` check
    // would read only the first line while something else could act on another.
    let hosts = fields
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("host"))
        .count();
    if hosts > 1 {
        return Err(Rejection {
            status: 400,
            reason: "duplicate Host header",
        });
    }
    if content_length > limits.max_body {
        return Err(Rejection {
            status: 413,
            reason: "request body too large",
        });
    }
    let total = head_len + content_length;
    if buf.len() < total {
        return Ok(ParseProgress::Incomplete);
    }
    Ok(ParseProgress::Complete(
        LoopbackRequest {
            method,
            target,
            headers: fields,
            body: RedactedBytes(buf[head_len..total].to_vec()),
        },
        total,
    ))
}

/// Request-like bytes: a request line, header lines, a blank line and a body, with
/// pieces that break each part (garbage, bare LF, leading blank lines, long lines,
/// too many headers, bad lengths).
fn request_bytes_strategy() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        Just("Host: 127.0.0.1:4000".to_string()),
        Just("Content-Length: 5".to_string()),
        Just("Content-Length: 900".to_string()),
        Just("Content-Length: x".to_string()),
        Just("Transfer-Encoding: chunked".to_string()),
        Just("host: evil".to_string()),
        "[A-Za-z-]{1,8}: [ -~]{0,30}",
        "\\PC{0,12}",
    ];
    let eol = prop_oneof![4 => Just("\r\n"), 1 => Just("\n"), 1 => Just("\r")];
    (
        prop_oneof![
            Just(String::new()),
            Just("\r\n".to_string()),
            Just("\n\r\n".to_string())
        ],
        prop_oneof![
            Just("GET /callback?code=a&state=b HTTP/1.1".to_string()),
            Just("POST /callback HTTP/1.1".to_string()),
            "[A-Z]{1,6} /[ -~]{0,50} HTTP/1.[01]",
            "\\PC{0,20}",
        ],
        proptest::collection::vec((line, eol.clone()), 0..9),
        eol,
        prop_oneof![Just("\r\n"), Just("\n"), Just("")],
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(lead, first, lines, eol1, blank, body)| {
            let mut out = lead.into_bytes();
            out.extend_from_slice(first.as_bytes());
            out.extend_from_slice(eol1.as_bytes());
            for (l, e) in lines {
                out.extend_from_slice(l.as_bytes());
                out.extend_from_slice(e.as_bytes());
            }
            out.extend_from_slice(blank.as_bytes());
            out.extend_from_slice(&body);
            out
        })
}

fn header_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    let names = prop_oneof![
        Just("content-type".to_string()),
        Just("retry-after".to_string()),
        Just("www-authenticate".to_string()),
        Just("ratelimit-policy".to_string()),
        Just("x-ratelimit-reset".to_string()),
        Just("x-ratelimit-limit".to_string()),
        "[a-zA-Z-]{1,12}",
    ];
    let values = prop_oneof![
        Just("application/json".to_string()),
        Just("text/html".to_string()),
        "\\PC{0,40}",
        "[0-9]{0,25}",
        Just("Bearer error=\"insufficient_scope\", scope=\"x\"".to_string()),
        Just("\"p\";q=1;w=3600".to_string()),
    ];
    proptest::collection::vec((names, values), 0..5)
}

fn json_body_strategy() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        "\\PC{0,20}".prop_map(serde_json::Value::from),
    ];
    let keys = prop_oneof![
        Just("access_token"),
        Just("token_type"),
        Just("expires_in"),
        Just("refresh_token"),
        Just("scope"),
        Just("id_token"),
        Just("error"),
        Just("error_description"),
        Just("device_code"),
        Just("user_code"),
        Just("verification_uri"),
        Just("verification_uri_complete"),
        Just("interval"),
        Just("issuer"),
        Just("token_endpoint"),
        Just("detail"),
        Just("policy"),
        Just("limit"),
        Just("version"),
        Just("profiles"),
        Just("active_profile"),
    ];
    let value = leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::from),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    let object = proptest::collection::btree_map(keys, value, 0..8).prop_map(|m| {
        serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    });
    prop_oneof![
        object.prop_map(|v| v.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..200),
    ]
}

fn response_strategy() -> impl Strategy<Value = HttpResponse> {
    (
        prop_oneof![
            Just(200u16),
            Just(400),
            Just(401),
            Just(403),
            Just(404),
            Just(429),
            Just(500),
            Just(503),
            100u16..600
        ],
        header_strategy(),
        json_body_strategy(),
    )
        .prop_map(|(status, headers, body)| HttpResponse {
            status,
            headers,
            body,
        })
}

/// Token-endpoint answers a device flow meets: pending and slow_down (any status,
/// with or without an `interval` or `Retry-After`), anything at all, or a transport
/// error (`None`).
fn device_answer_strategy() -> impl Strategy<Value = Option<HttpResponse>> {
    let status = prop_oneof![Just(200u16), Just(400), Just(429), Just(503), 100u16..600];
    let oauth = (
        status,
        prop_oneof![Just("authorization_pending"), Just("slow_down")],
        proptest::option::of(prop_oneof![
            (0u64..1000).prop_map(serde_json::Value::from),
            Just(serde_json::Value::from(u64::MAX)),
            "[0-9]{0,25}".prop_map(serde_json::Value::from),
        ]),
        proptest::option::of("[0-9]{1,4}"),
    )
        .prop_map(|(status, error, interval, retry_after)| {
            let mut body = serde_json::json!({ "error": error });
            if let Some(i) = interval {
                body["interval"] = i;
            }
            let r = HttpResponse::json(status, &body);
            Some(match retry_after {
                Some(ra) => r.with_header("retry-after", ra),
                None => r,
            })
        });
    prop_oneof![
        4 => oauth,
        1 => response_strategy().prop_map(Some),
        1 => Just(None),
    ]
}

fn acme() -> KeyRegistry {
    KeyRegistry::new(vec![
        KeyFormat::prefixed(
            "acme",
            "Acme",
            "developer key",
            "acme_dev_",
            Charset::Base62,
            24,
            64,
        ),
        KeyFormat::jwt("acme-jwt", "Acme", "token", 30),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn callback_query_never_panics(q in "\\PC{0,200}") {
        let _ = CallbackParams::parse(&q);
    }

    #[test]
    fn loopback_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let state = StateToken::from_entropy(&[1; 32]);
        let mut h = LoopbackHandler::new(LoopbackConfig::new(4000, "Acme"), &state);
        let _ = h.handle_bytes(&bytes);
        prop_assert!(!h.is_completed());
    }

    #[test]
    fn loopback_http_like_requests_never_complete_without_state(
        method in prop_oneof![Just("GET".to_string()), Just("POST".to_string()), Just("OPTIONS".to_string()), Just("PUT".to_string()), "[A-Z]{1,7}"],
        path in "/[a-z/?=&%._-]{0,40}",
        host in prop_oneof![Just("127.0.0.1:4000".to_string()), Just("localhost:4000".to_string()), "[a-z0-9.:]{0,20}"],
        headers in header_strategy(),
        body in "\\PC{0,60}",
    ) {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        let state = StateToken::from_entropy(&[1; 32]);
        let mut config = LoopbackConfig::new(4000, "Acme");
        config.accept.api_key = true;
        config.allowed_origins = vec!["https://app.example".into()];
        let mut h = LoopbackHandler::new(config, &state);
        if let Some(reply) = h.handle_bytes(req.as_bytes()) {
            prop_assert!(reply.event.is_none(), "an event without the state: {req:?}");
            let _ = reply.response.to_bytes();
        }
    }

    #[test]
    fn loopback_parse_never_panics_on_split_input(bytes in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..300) {
        let cut = cut.min(bytes.len());
        let _ = parse_request(&bytes[..cut], &LoopbackLimits::default());
        let _ = parse_request(&bytes, &LoopbackLimits::default());
    }

    #[test]
    fn incremental_parsing_agrees_with_parsing_the_whole_buffer(
        bytes in request_bytes_strategy(),
        chunks in proptest::collection::vec(1usize..12, 1..80),
        small in any::<bool>(),
    ) {
        let mut limits = LoopbackLimits::default();
        if small {
            limits.max_request_line = 40;
            limits.max_head = 120;
            limits.max_headers = 4;
            limits.max_body = 20;
        }
        let mut parser = RequestParser::new(limits);
        let mut at = 0;
        let mut sizes = chunks.iter().cycle();
        // Every decision the incremental parser makes is the one the old parser makes
        // on the same bytes; while it waits, the old one waits too or has refused
        // (a malformed line is refused at its end, not at its first bad byte).
        while at < bytes.len() {
            let n = (*sizes.next().unwrap()).min(bytes.len() - at);
            at += n;
            let got = parser.push(&bytes[at - n..at]);
            let want = reference_parse(&bytes[..at], &limits);
            match &got {
                Ok(ParseProgress::Incomplete) => prop_assert!(
                    !matches!(want, Ok(ParseProgress::Complete(..))),
                    "the old parser completed at {at}: {bytes:?}"
                ),
                decided => {
                    prop_assert_eq!(decided, &want, "at {} of {:?}", at, bytes);
                    break;
                }
            }
        }
    }

    #[test]
    fn incremental_parsing_of_a_trickled_request_is_linear(
        body_len in 0usize..16_000,
        headers in 0usize..60,
    ) {
        let mut request = String::from("POST /callback HTTP/1.1\r\nHost: 127.0.0.1:4000\r\n");
        for i in 0..headers {
            request.push_str(&format!("X-Header-{i}: {}\r\n", "v".repeat(i)));
        }
        request.push_str(&format!("Content-Length: {body_len}\r\n\r\n"));
        let head_len = request.len();
        request.push_str(&"b".repeat(body_len));
        let bytes = request.as_bytes();
        let mut parser = RequestParser::new(LoopbackLimits::default());
        let mut outcome = Ok(ParseProgress::Incomplete);
        for b in bytes {
            outcome = parser.push(std::slice::from_ref(b));
        }
        let Ok(ParseProgress::Complete(req, used)) = outcome else {
            return Err(TestCaseError::fail(format!("{outcome:?}")));
        };
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(req.body, RedactedBytes(vec![b'b'; body_len]));
        // The head is handed to the HTTP parser once per completed line, the body is
        // only counted: work grows with the size, never with size × reads.
        let lines = headers + 3;
        let bound = 2 * bytes.len() + lines * head_len;
        prop_assert!(parser.examined() <= bound, "{} > {bound}", parser.examined());
    }

    #[test]
    fn token_responses_never_panic(r in response_strategy()) {
        let _ = token::parse_token_response(&r, NOW);
        let _ = device::parse_device_authorization(&r, NOW);
        let _ = cliauth_core::discovery::parse_metadata(&r, "https://as.example", NOW);
        let _ = cliauth_core::revoke::parse_revocation_response(&r, NOW);
        let _ = http::rate_limit_info(&r, NOW);
        if let Some(e) = http::api_error(&r, NOW) {
            let app = cliauth_core::AppContext::new("acme", "Acme");
            let _ = e.render(&app);
            let _ = e.to_json(&app);
            prop_assert!(e.exit_code() > 0);
        }
    }

    #[test]
    fn header_parsers_never_panic(v in "\\PC{0,120}") {
        let _ = http::parse_www_authenticate(&v);
        let _ = http::parse_retry_after(&v, NOW);
    }

    #[test]
    fn www_authenticate_round_trips(
        fields in proptest::collection::vec(
            proptest::collection::vec(
                (
                    "[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,8}",
                    proptest::collection::vec(("[a-z][a-z0-9_]{0,8}", "[ -~]{0,16}"), 1..4),
                ),
                1..4,
            ),
            1..3,
        ),
    ) {
        // Challenges written the way servers write them — several per field,
        // several fields, quoted values holding commas, `=`, quotes and backslashes
        // (escaped) — parse back to exactly what was written.
        let mut r = HttpResponse::new(401);
        let mut expected = Vec::new();
        for field in &fields {
            let text: Vec<String> = field
                .iter()
                .map(|(scheme, params)| {
                    let ps: Vec<String> = params
                        .iter()
                        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                        .collect();
                    format!("{scheme} {}", ps.join(", "))
                })
                .collect();
            r = r.with_header("WWW-Authenticate", text.join(", "));
            expected.extend(field.iter().cloned());
        }
        let parsed = http::challenges(&r);
        prop_assert_eq!(parsed.len(), expected.len(), "{:?}", r.headers);
        for (c, (scheme, params)) in parsed.iter().zip(&expected) {
            prop_assert_eq!(&c.scheme, scheme);
            let want: Vec<(String, String)> = params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            prop_assert_eq!(&c.params, &want);
        }
    }

    #[test]
    fn jwt_never_panics(t in "\\PC{0,200}") {
        let _ = jwt::decode_unverified(&t);
    }

    #[test]
    fn jwt_structured(header in json_body_strategy(), claims in json_body_strategy()) {
        use base64::Engine;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let t = format!("{}.{}.sig", e.encode(header), e.encode(claims));
        let _ = jwt::decode_unverified(&t);
    }

    #[test]
    fn key_validation_never_panics_or_leaks(k in "\\PC{0,100}") {
        let reg = acme();
        match reg.validate(&k) {
            Ok(v) => prop_assert!(v.masked().len() < k.len() + 8),
            Err(p) => {
                let msg = p.to_string();
                let secret_part = k.trim();
                if secret_part.len() >= 8 && !"That doesn't look like an Acme developer key".contains(secret_part) && !msg.contains("acme_dev_") {
                    prop_assert!(!msg.contains(secret_part), "{msg}");
                }
            }
        }
        let _ = reg.mask(&k);
    }

    #[test]
    fn valid_keys_are_accepted(body in "[A-Za-z0-9]{15,55}") {
        let key = format!("acme_dev_{body}");
        let v = acme().validate(&format!(" {key}\n")).unwrap();
        prop_assert_eq!(v.key().expose_secret(), key.as_str());
        prop_assert!(v.masked().starts_with("acme_dev_…"));
        prop_assert!(!v.masked().contains(&body[..body.len() - 4]));
    }

    #[test]
    fn credentials_documents_never_panic(bytes in json_body_strategy()) {
        let _ = CredentialsDocument::from_json(&bytes);
    }

    #[test]
    fn credentials_round_trip(
        names in proptest::collection::btree_set("[a-z][a-z0-9_-]{0,10}", 0..4),
        secrets in proptest::collection::vec("\\PC{1,30}", 4),
        exp in proptest::option::of(0u64..4_000_000_000),
    ) {
        let mut doc = CredentialsDocument::new();
        for (i, n) in names.iter().enumerate() {
            let credential = if i % 2 == 0 {
                Credential::ApiKey(ApiKey::new(secrets[0].clone()))
            } else {
                let mut tokens = TokenSet::new(AccessToken::new(secrets[1].clone()), Timestamp::from_unix_secs(1000));
                tokens.expires_at = exp.map(Timestamp::from_unix_secs);
                tokens.refresh_token = Some(RefreshToken::new(secrets[2].clone()));
                tokens.scope = Some(secrets[3].clone());
                Credential::OAuth(tokens)
            };
            doc.set_profile(n, Profile::new(credential, LoginMethod::Device, Timestamp::from_unix_secs(5))).unwrap();
        }
        let bytes = doc.to_json();
        let back = CredentialsDocument::from_json(&bytes).unwrap();
        prop_assert_eq!(back.to_json(), bytes);
        prop_assert_eq!(back, doc);
    }

    #[test]
    fn discovery_urls_never_panic(issuer in "\\PC{0,80}") {
        let _ = cliauth_core::discovery::discovery_urls(&issuer);
    }

    #[test]
    fn handoff_targets_are_always_loopback(q in "\\PC{0,120}", port in any::<u32>(), extra in "[a-z_]{1,8}=\\PC{0,20}") {
        for url in [
            format!("https://app.example/cli-auth?{q}"),
            format!("https://app.example/cli-auth?port={port}&state=abcdefghijklmnopqrstuvwxyz&{extra}"),
        ] {
            if let Ok(r) = HandoffRequest::from_url(&url) {
                prop_assert!(r.port >= 1024);
                let cred = HandoffCredential::Code(AuthorizationCode::new("c"));
                let prefix = format!("http://127.0.0.1:{}/callback?", r.port);
                prop_assert!(r.redirect_url(&cred).starts_with(&prefix));
                prop_assert_eq!(r.post_request(&cred).url, format!("http://127.0.0.1:{}/callback", r.port));
            }
        }
    }

    #[test]
    fn user_codes_never_panic(input in "\\PC{0,40}") {
        let f = UserCodeFormat::default();
        let _ = device::normalize_user_code(&input, &f);
        let t = device::user_code_input(&input, &f);
        prop_assert!(t.display.chars().count() <= 2 * f.length + 4);
    }

    #[test]
    fn pkce_from_any_entropy(bytes in proptest::collection::vec(any::<u8>(), 32..=96)) {
        let v = PkceVerifier::from_entropy_bytes(&bytes).unwrap();
        prop_assert!(PkceVerifier::new(v.expose_secret()).is_ok());
        prop_assert_eq!(v.challenge(PkceMethod::S256).as_str().len(), 43);
    }

    #[test]
    fn the_authorization_url_never_reveals_the_verifier(entropy in proptest::collection::vec(any::<u8>(), 96)) {
        // RFC 7636 §1, RFC 9700 §2.1.1: nothing in url() — state, nonce, challenge —
        // is the verifier or yields it (the nonce once was verifier XOR state).
        use cliauth_core::authorize::{AuthorizationConfig, PendingAuthorization};
        let mut e = [0u8; 96];
        e.copy_from_slice(&entropy);
        let config = AuthorizationConfig::new("https://a.example/authorize", "c").scopes(["openid"]);
        let mut p = PendingAuthorization::start(&config, 4711, &e, NOW).unwrap();
        let url = p.url().to_string();
        let query = cliauth_core::encoding::parse_query(url.split_once('?').unwrap().1);
        let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap();
        let cb = CallbackParams::parse(&format!("code=x&state={}", p.state().expose_secret())).unwrap();
        let verifier = p.complete(NOW, &cb).unwrap().verifier.expose_secret().to_string();
        prop_assert!(!url.contains(&verifier));
        let s = cliauth_core::encoding::b64url_decode(&param("state")).unwrap();
        let n = cliauth_core::encoding::b64url_decode(&param("nonce")).unwrap();
        let mut guess = [0u8; 32];
        for (i, g) in guess.iter_mut().enumerate() {
            *g = n[i] ^ s[31 - i].rotate_left(3);
        }
        let guessed = PkceVerifier::from_entropy(&guess);
        prop_assert_ne!(guessed.expose_secret(), verifier.as_str());
    }

    #[test]
    fn state_verification_is_exact(a in any::<[u8; 32]>(), other in "\\PC{0,60}") {
        let s = StateToken::from_entropy(&a);
        prop_assert!(s.verify(s.expose_secret()));
        prop_assert_eq!(s.verify(&other), other == s.expose_secret());
    }

    #[test]
    fn device_flow_always_terminates(responses in proptest::collection::vec(response_strategy(), 0..30), seed in any::<u64>(), interval in 0u64..10) {
        let start = HttpResponse::json(200, &serde_json::json!({"device_code":"d","user_code":"U","verification_uri":"https://a.example/d","expires_in":120,"interval":interval}));
        let auth = device::parse_device_authorization(&start, NOW).unwrap();
        let mut flow = DeviceFlow::new(auth, "https://a.example/token", "c", NOW.into(), seed);
        let mut now = Now::from(NOW);
        let mut responses = responses.into_iter();
        let mut steps = 0;
        loop {
            steps += 1;
            prop_assert!(steps < 500, "no progress");
            match flow.poll(now) {
                Step::WaitUntil(t) => { prop_assert!(t > now.instant); now = at(t); }
                Step::Send(_) => match responses.next() {
                    Some(r) => flow.handle(now, Input::Response(r)),
                    None => flow.handle(now, Input::TransportError(TransportError::not_sent("x"))),
                },
                Step::Done(_) | Step::Failed(_) | Step::Finished => break,
                other => prop_assert!(false, "{other:?}"),
            }
        }
        prop_assert!(now.wall <= NOW.saturating_add(Duration::from_secs(120)));
    }

    #[test]
    fn device_polls_never_come_sooner_than_the_interval(
        answers in proptest::collection::vec(device_answer_strategy(), 0..20),
        seed in any::<u64>(),
        interval in 1u64..600,
    ) {
        // RFC 8628 §3.5: whatever the server answers (pending, slow_down with any
        // status or `interval`, 429, 5xx, garbage, transport errors), the next poll
        // is at least the current interval after the previous answer, and the
        // interval never shrinks.
        let start = HttpResponse::json(200, &serde_json::json!({"device_code":"d","user_code":"U","verification_uri":"https://a.example/d","expires_in":3600,"interval":interval}));
        let auth = device::parse_device_authorization(&start, NOW).unwrap();
        let mut flow = DeviceFlow::new(auth, "https://a.example/token", "c", NOW.into(), seed);
        let mut now = Now::from(NOW);
        let mut answered = now;
        let mut floor = Duration::from_secs(interval);
        let mut answers = answers.into_iter();
        for _ in 0..500 {
            match flow.poll(now) {
                Step::WaitUntil(t) => { prop_assert!(t > now.instant); now = at(t); }
                Step::Send(_) => {
                    prop_assert!(
                        now.instant.saturating_duration_since(answered.instant) >= flow.interval(),
                        "polled {:?} after the last answer, interval {:?}",
                        now.instant.saturating_duration_since(answered.instant), flow.interval()
                    );
                    match answers.next() {
                        Some(Some(r)) => flow.handle(now, Input::Response(r)),
                        Some(None) => flow.handle(now, Input::TransportError(TransportError::unknown("t"))),
                        None => break,
                    }
                    answered = now;
                    prop_assert!(flow.interval() >= floor, "the interval shrank");
                    floor = flow.interval();
                }
                Step::Done(_) | Step::Failed(_) | Step::Finished => break,
                other => prop_assert!(false, "{other:?}"),
            }
        }
    }

    #[test]
    fn refresh_always_terminates(responses in proptest::collection::vec(response_strategy(), 0..10), expires in 0u64..7200, seed in any::<u64>()) {
        let config = RefreshConfig::new("https://a.example/token", "c");
        let mut r = Refresh::new(config, "default", seed);
        let mut now = Now::from(NOW);
        let mut responses = responses.into_iter();
        let mut steps = 0;
        loop {
            steps += 1;
            prop_assert!(steps < 200);
            match r.poll(now) {
                Step::ReadStorage(_) => r.handle(now, Input::Stored(Ok(Some(document({
                    let mut t = TokenSet::new(AccessToken::new("a"), NOW);
                    t.expires_at = Some(NOW.saturating_add(Duration::from_secs(expires)));
                    t.refresh_token = Some(RefreshToken::new("r"));
                    t
                }))))),
                Step::Send(_) => match responses.next() {
                    Some(resp) => r.handle(now, Input::Response(resp)),
                    None => r.handle(now, Input::TransportError(TransportError::unknown("t"))),
                },
                Step::WaitUntil(t) => { prop_assert!(t >= now.instant); now = at(t); }
                Step::Persist(_) => r.handle(now, Input::Persisted(Ok(()))),
                Step::Done(done) => {
                    prop_assert!(done.tokens.status(now.wall, &RefreshPolicy::default()) != cliauth_core::token::TokenStatus::NeedsLogin);
                    break;
                }
                Step::Failed(_) | Step::Finished => break,
                other => prop_assert!(false, "{other:?}"),
            }
        }
    }

    #[test]
    fn exchange_always_terminates_within_policy(responses in proptest::collection::vec(response_strategy(), 0..10), idempotent in any::<bool>(), seed in any::<u64>()) {
        let policy = RetryPolicy::default();
        let mut ex = Exchange::new(HttpRequest::get("https://a.example/").idempotent(idempotent), policy, seed);
        let mut now = Now::from(NOW);
        let mut responses = responses.into_iter();
        loop {
            match ex.poll(now) {
                Step::Send(_) => match responses.next() {
                    Some(resp) => ex.handle(now, Input::Response(resp)),
                    None => ex.handle(now, Input::TransportError(TransportError::unknown("t"))),
                },
                Step::WaitUntil(t) => now = at(t),
                Step::Done(_) | Step::Failed(_) | Step::Finished => break,
                other => prop_assert!(false, "{other:?}"),
            }
        }
        prop_assert!(ex.attempts() <= policy.max_attempts);
    }
}

/// The virtual clock at instant `t` (both clocks count from the Unix epoch).
fn at(t: Instant) -> Now {
    Now::from_wall(Timestamp::from_unix_millis(t.as_millis()))
}

/// A document whose `default` profile holds `tokens`.
fn document(tokens: TokenSet) -> CredentialsDocument {
    let mut doc = CredentialsDocument::new();
    let profile = Profile::new(Credential::OAuth(tokens), LoginMethod::Device, NOW);
    assert!(doc.set_profile("default", profile).is_ok());
    doc
}

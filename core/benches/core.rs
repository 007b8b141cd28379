//! Core micro-benchmarks (criterion): the operations a CLI performs on every login or
//! request. Run with `cargo bench -p cliauth-core --bench core`; `cargo xtask bench`
//! reports them in BENCHMARKS.md.

#![allow(missing_docs)]

use std::hint::black_box;

use cliauth_core::authorize::CallbackParams;
use cliauth_core::keys::{Charset, KeyFormat, KeyRegistry};
use cliauth_core::loopback::{
    LoopbackConfig, LoopbackHandler, LoopbackLimits, RequestParser, parse_request,
};
use cliauth_core::pkce::{PkceMethod, PkceVerifier};
use cliauth_core::state::StateToken;
use cliauth_core::token::parse_token_response;
use cliauth_core::{HttpResponse, Timestamp};
use criterion::{Criterion, criterion_group, criterion_main};

fn pkce_pair(c: &mut Criterion) {
    c.bench_function("pkce_pair", |b| {
        b.iter(|| {
            let v = PkceVerifier::from_entropy(black_box(&[42; 32]));
            black_box(v.challenge(PkceMethod::S256));
        })
    });
}

fn key_diagnosis(c: &mut Criterion) {
    let registry = KeyRegistry::new(vec![KeyFormat::prefixed(
        "acme",
        "Acme",
        "developer key",
        "acme_dev_",
        Charset::Base62,
        24,
        64,
    )]);
    let inputs = [
        "acme_dev_0123456789abcdefXYZabc",
        "Bearer acme_dev_0123456789abcdefXYZabc",
        "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
        "acme_dev_0123",
    ];
    c.bench_function("key_diagnosis", |b| {
        b.iter(|| {
            for input in inputs {
                let _ = black_box(registry.validate(black_box(input)));
            }
        })
    });
}

fn callback_parse(c: &mut Criterion) {
    let state = StateToken::from_entropy(&[5; 32]);
    let request = format!(
        "GET /callback?code=SplxlOBeZQQYbYS6WxSbIA&state={}&iss=https%3A%2F%2Fauth.acme.example HTTP/1.1\r\n\
         Host: 127.0.0.1:49152\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\n\r\n",
        state.expose_secret()
    );
    c.bench_function("callback_parse", |b| {
        b.iter(|| {
            // A fresh handler per request: the parse, Host/path/state checks and page.
            let mut h = LoopbackHandler::new(LoopbackConfig::new(49152, "Acme"), &state);
            black_box(h.handle_bytes(black_box(request.as_bytes())));
        })
    });
    c.bench_function("callback_query_parse", |b| {
        b.iter(|| {
            black_box(CallbackParams::parse(black_box(
                "code=SplxlOBeZQQYbYS6WxSbIA&state=xyz",
            )))
        })
    });
}

fn token_response_parse(c: &mut Criterion) {
    let response = HttpResponse::json(
        200,
        &serde_json::json!({
            "access_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJl",
            "token_type": "Bearer", "expires_in": 3600,
            "refresh_token": "8xLOxBtZp8", "scope": "openid offline_access memories:read"
        }),
    );
    let now = Timestamp::from_unix_secs(1_795_341_600);
    c.bench_function("token_response_parse", |b| {
        b.iter(|| black_box(parse_token_response(black_box(&response), now)))
    });
}

/// A slow-body POST as an attacker sends it to the loopback server: a 15 KiB header
/// block, then a 2000-byte body one byte per read. `incremental` is the parser the
/// server uses; `reparse` parses everything read so far again on every read (what
/// the server did before).
fn trickled_request(c: &mut Criterion) {
    let body = "b".repeat(2000);
    let mut request = format!(
        "POST /callback HTTP/1.1\r\nHost: 127.0.0.1:49152\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for n in 0..60 {
        request.push_str(&format!("X-Pad-{n:02}: {}\r\n", "p".repeat(240)));
    }
    request.push_str("\r\n");
    let head_len = request.len();
    request.push_str(&body);
    let bytes = request.as_bytes();
    let limits = LoopbackLimits::default();
    c.bench_function("trickled_request_incremental", |b| {
        b.iter(|| {
            let mut p = RequestParser::new(limits);
            let _ = p.push(&bytes[..head_len]);
            for byte in &bytes[head_len..] {
                black_box(p.push(std::slice::from_ref(byte)).ok());
            }
        })
    });
    c.bench_function("trickled_request_reparse", |b| {
        b.iter(|| {
            for end in head_len..=bytes.len() {
                black_box(parse_request(&bytes[..end], &limits).ok());
            }
        })
    });
}

criterion_group!(
    benches,
    pkce_pair,
    key_diagnosis,
    callback_parse,
    token_response_parse,
    trickled_request
);
criterion_main!(benches);

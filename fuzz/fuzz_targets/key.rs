#![no_main]
#![allow(unused_imports)]

use cliauth_core::authorize::CallbackParams;
use cliauth_core::credentials::CredentialsDocument;
use cliauth_core::handoff::{HandoffCredential, HandoffRequest};
use cliauth_core::keys::{Charset, KeyFormat, KeyRegistry};
use cliauth_core::loopback::{LoopbackConfig, LoopbackHandler};
use cliauth_core::secret::ApiKey;
use cliauth_core::state::StateToken;
use cliauth_core::{HttpResponse, Timestamp};
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
const NOW: Timestamp = Timestamp::from_unix_secs(1_795_341_600);

/// A response from fuzz bytes: byte 0 picks the status, byte 1 the content type and
/// headers, the rest is the body.
#[allow(dead_code)]
fn fuzz_response(data: &[u8]) -> HttpResponse {
    const STATUSES: [u16; 10] = [200, 201, 204, 302, 400, 401, 403, 404, 429, 503];
    const TYPES: [&str; 4] = ["application/json", "text/html", "application/problem+json", ""];
    let status = STATUSES[usize::from(*data.first().unwrap_or(&0)) % STATUSES.len()];
    let flags = *data.get(1).unwrap_or(&0);
    let mut r = HttpResponse::new(status);
    let ct = TYPES[usize::from(flags) % TYPES.len()];
    if !ct.is_empty() {
        r = r.with_header("content-type", ct);
    }
    let body = data.get(2..).unwrap_or_default().to_vec();
    if flags & 0x10 != 0 {
        if let Ok(text) = std::str::from_utf8(&body) {
            r = r.with_header("www-authenticate", text).with_header("retry-after", text).with_header("ratelimit-policy", text);
        }
    }
    r.with_body(body)
}

// API-key validation and masking: never panics, never repeats the key in a diagnosis.
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let registry = KeyRegistry::new(vec![
            KeyFormat::prefixed("fuzz", "Fuzz", "key", "fz_live_", Charset::Base62, 20, 64),
            KeyFormat::jwt("fuzz-jwt", "Fuzz", "token", 30),
        ]);
        let _ = registry.mask(text);
        if let Err(problem) = registry.validate(text) {
            let message = problem.to_string();
            let trimmed = text.trim();
            // A leak is the key (or most of it) in the message. Inputs made of the
            // message's own wording would match trivially, so only inputs with a
            // character no diagnosis ever contains are checked.
            let foreign_char = trimmed.chars().any(|c| "#$%&*+;<>@[]^{|}~".contains(c));
            if trimmed.len() >= 24 && foreign_char && !trimmed.contains("fz_live_") {
                assert!(!message.contains(trimmed), "the diagnosis repeats the key");
            }
        }
    }
});

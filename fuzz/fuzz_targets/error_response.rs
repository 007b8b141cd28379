#![no_main]

use cliauth_fuzz::NOW;
use cliauth_fuzz::fuzz_response;
use libfuzzer_sys::fuzz_target;

// Protected-API error responses: WWW-Authenticate, Retry-After, rate-limit policies.
fuzz_target!(|data: &[u8]| {
    let response = fuzz_response(data);
    if let Some(e) = cliauth_core::http::api_error(&response, NOW) {
        let app = cliauth_core::AppContext::new("fuzz", "Fuzz");
        let _ = e.render(&app);
        let _ = e.to_json(&app);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cliauth_core::http::parse_www_authenticate(text);
        let _ = cliauth_core::http::parse_retry_after(text, NOW);
    }
});

#![no_main]

use cliauth_core::HttpResponse;
use cliauth_fuzz::NOW;
use cliauth_fuzz::fuzz_response;
use libfuzzer_sys::fuzz_target;

// Device authorization responses and a polling flow fed with fuzzed answers.
fuzz_target!(|data: &[u8]| {
    let response = fuzz_response(data);
    let _ = cliauth_core::device::parse_device_authorization(&response, NOW);
    let start = HttpResponse::json(
        200,
        &serde_json::json!({"device_code":"d","user_code":"U","verification_uri":"https://a.example/d","expires_in":60}),
    );
    if let Ok(auth) = cliauth_core::device::parse_device_authorization(&start, NOW) {
        use cliauth_core::flow::{Flow, Input, Step};
        let mut now = cliauth_core::Now::from(NOW);
        let mut flow =
            cliauth_core::device::DeviceFlow::new(auth, "https://a.example/t", "c", now, 1);
        for _ in 0..3 {
            match flow.poll(now) {
                Step::WaitUntil(t) => now = now.saturating_add(t.saturating_duration_since(now.instant)),
                Step::Send(_) => flow.handle(now, Input::Response(response.clone())),
                _ => break,
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cliauth_core::device::normalize_user_code(text, &Default::default());
    }
});

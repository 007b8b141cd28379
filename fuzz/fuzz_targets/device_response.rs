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
        let mut flow =
            cliauth_core::device::DeviceFlow::new(auth, "https://a.example/t", "c", NOW, 1);
        let mut now = NOW;
        for _ in 0..3 {
            match flow.poll(now) {
                cliauth_core::device::DevicePoll::WaitUntil(t) => now = t,
                cliauth_core::device::DevicePoll::Send(_) => {
                    flow.handle_response(now, response.clone())
                }
                _ => break,
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cliauth_core::device::normalize_user_code(text, &Default::default());
    }
});

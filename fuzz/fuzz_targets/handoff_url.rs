#![no_main]

use cliauth_core::handoff::HandoffCredential;
use cliauth_core::handoff::HandoffRequest;
use cliauth_core::secret::ApiKey;
use libfuzzer_sys::fuzz_target;

// cli-auth page URLs: whatever is accepted targets only the loopback address.
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(request) = HandoffRequest::from_url(text) {
            assert!(request.port >= 1024);
            let credential = HandoffCredential::ApiKey(ApiKey::new("k"));
            let target = request.redirect_url(&credential);
            assert!(target.starts_with(&format!("http://127.0.0.1:{}/callback?", request.port)));
        }
    }
});

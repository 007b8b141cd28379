#![no_main]

use cliauth_fuzz::NOW;
use libfuzzer_sys::fuzz_target;

// Unverified JWT decoding.
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(jwt) = cliauth_core::jwt::decode_unverified(text) {
            let _ = jwt.is_expired(NOW, core::time::Duration::from_secs(30));
        }
    }
});

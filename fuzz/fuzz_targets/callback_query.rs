#![no_main]

use cliauth_core::authorize::CallbackParams;
use libfuzzer_sys::fuzz_target;

// The query of a browser callback: `code`, `state`, `error`, `iss`, `api_key`.
fuzz_target!(|data: &[u8]| {
    if let Ok(q) = std::str::from_utf8(data) {
        if let Ok(p) = CallbackParams::parse(q) {
            let _ = p.is_empty();
        }
    }
});

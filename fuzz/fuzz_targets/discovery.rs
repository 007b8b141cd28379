#![no_main]

use cliauth_fuzz::NOW;
use cliauth_fuzz::fuzz_response;
use libfuzzer_sys::fuzz_target;

// Discovery documents and issuer URLs.
fuzz_target!(|data: &[u8]| {
    let response = fuzz_response(data);
    let _ = cliauth_core::discovery::parse_metadata(&response, "https://as.example", NOW);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cliauth_core::discovery::discovery_urls(text);
    }
});

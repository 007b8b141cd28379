#![no_main]

use cliauth_fuzz::NOW;
use cliauth_fuzz::fuzz_response;
use libfuzzer_sys::fuzz_target;

// Token endpoint responses: status and content type from the first bytes, body after.
fuzz_target!(|data: &[u8]| {
    let response = fuzz_response(data);
    let _ = cliauth_core::token::parse_token_response(&response, NOW);
    let _ = cliauth_core::revoke::parse_revocation_response(&response, NOW);
});

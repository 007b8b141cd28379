#![no_main]

use cliauth_core::credentials::CredentialsDocument;
use libfuzzer_sys::fuzz_target;

// The credentials document: parse, and re-parse what it writes.
fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = CredentialsDocument::from_json(data) {
        let written = doc.to_json();
        let again = CredentialsDocument::from_json(&written).expect("a written document parses");
        assert_eq!(again.to_json(), written);
    }
});

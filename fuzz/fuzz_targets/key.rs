#![no_main]

use cliauth_core::keys::Charset;
use cliauth_core::keys::KeyFormat;
use cliauth_core::keys::KeyRegistry;
use libfuzzer_sys::fuzz_target;

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

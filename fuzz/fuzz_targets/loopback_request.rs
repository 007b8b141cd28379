#![no_main]

use cliauth_core::loopback::LoopbackConfig;
use cliauth_core::loopback::LoopbackHandler;
use cliauth_core::state::StateToken;
use libfuzzer_sys::fuzz_target;

// Raw bytes read by the loopback server, in one piece and split in two reads.
fuzz_target!(|data: &[u8]| {
    let state = StateToken::from_entropy(&[7; 32]);
    let mut config = LoopbackConfig::new(4711, "Fuzz");
    config.accept.api_key = true;
    config.allowed_origins = vec!["https://app.example".into()];
    let mut handler = LoopbackHandler::new(config, &state);
    let cut = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let _ = handler.handle_bytes(&data[..cut]);
    if let Some(reply) = handler.handle_bytes(data) {
        let _ = reply.response.to_bytes();
    }
});

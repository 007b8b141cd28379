#![no_main]

use cliauth_core::loopback::LoopbackConfig;
use cliauth_core::loopback::LoopbackHandler;
use cliauth_core::loopback::{LoopbackLimits, ParseProgress, RequestParser, parse_request};
use cliauth_core::state::StateToken;
use libfuzzer_sys::fuzz_target;

// Raw bytes read by the loopback server, in one piece and split in two reads; and
// fed piece by piece to the incremental parser the server uses, whose decision must
// be the one-shot parse's on the same bytes.
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
    let limits = LoopbackLimits::default();
    let step = usize::from(data.last().copied().unwrap_or(1)).max(1);
    let mut parser = RequestParser::new(limits);
    let mut end = 0;
    for chunk in data.chunks(step) {
        end += chunk.len();
        match parser.push(chunk) {
            Ok(ParseProgress::Incomplete) => {}
            decided => {
                assert_eq!(decided, parse_request(&data[..end], &limits));
                break;
            }
        }
    }
});

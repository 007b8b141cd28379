#![no_main]

//! Differential: core's one JSON reader accepts exactly the documents serde_json
//! accepts, reads the same values (numbers through `into_serde`, bit for bit), and
//! refuses the others at the line and column serde_json names.

use cliauth_core::json::Value;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ours = Value::from_slice(data);
    let theirs = serde_json::from_slice::<serde_json::Value>(data);
    assert_eq!(Value::parse(data).is_some(), ours.is_ok(), "parse and from_slice differ");
    match (ours, theirs) {
        (Ok(o), Ok(t)) => assert_eq!(o.into_serde(), t, "different values"),
        (Err(o), Err(t)) => assert_eq!(
            (o.eof, o.line, o.column),
            (t.is_eof(), t.line(), t.column()),
            "refused at a different place"
        ),
        (o, t) => panic!(
            "acceptance differs: ours {:?}, serde_json {:?}",
            o.is_ok(),
            t.is_ok()
        ),
    }
});

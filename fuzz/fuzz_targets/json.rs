#![no_main]

//! Differential: core's small JSON reader (used on the paths web pages ship) accepts
//! exactly the documents serde_json accepts, and reads the same strings.

use cliauth_core::json::Value;
use libfuzzer_sys::fuzz_target;

fn same(ours: &Value, theirs: &serde_json::Value) -> bool {
    match (ours, theirs) {
        (Value::Null, serde_json::Value::Null) => true,
        (Value::Bool(a), serde_json::Value::Bool(b)) => a == b,
        (Value::Number(_), serde_json::Value::Number(_)) => true,
        (Value::String(a), serde_json::Value::String(b)) => a == b,
        (Value::Array(a), serde_json::Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(_), serde_json::Value::Object(b)) => {
            // Lookups take the last of a repeated key, as serde_json's map keeps it.
            b.iter()
                .all(|(k, v)| ours.get(k).is_some_and(|o| same(o, v)))
        }
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let ours = Value::parse(data);
    let theirs = serde_json::from_slice::<serde_json::Value>(data);
    match (&ours, &theirs) {
        (Some(o), Ok(t)) => assert!(same(o, t), "different values"),
        (None, Err(_)) => {}
        _ => panic!(
            "acceptance differs: ours {:?}, serde_json {:?}",
            ours.is_some(),
            theirs.is_ok()
        ),
    }
});

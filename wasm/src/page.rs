//! The page boundary: bytes in, bytes out.
//!
//! The page helpers (the cli-auth page, the device-verification page, API errors)
//! are one entry point, [`call`]: an operation number, its arguments as a JSON array
//! (UTF-8), optionally followed by a `0` byte and raw body bytes (a response body,
//! which need not be UTF-8 — JSON text never holds a raw `0` byte). The reply is one
//! tag byte and a payload:
//!
//! | tag | payload | the JS side |
//! |---|---|---|
//! | `v` | a JSON value | returns `JSON.parse(payload)` |
//! | `r` | raw bytes (the loopback server's answer) | returns the bytes as text |
//! | `e` | an error: JSON `[message, code, kind, exitCode, hint, retryAfterMs, problem]` | throws it as a `CliauthError` |
//! | `E` | an error, as above | returns it (`apiError`, the error constructors) |
//!
//! In the module two exports carry it: [`page_input`] reserves the input buffer and
//! returns its address (JS writes the bytes there), [`page_call`] runs the operation
//! and returns the address of the reply, prefixed by its length (`u32`, little
//! endian). The npm package's loader (`npm/src/page-wasm.js`) is the other half:
//! about thirty lines instead of wasm-bindgen's generated glue and export shims,
//! which were most of the page module's bytes (see "Size" in the crate docs).
//!
//! | op | operation | arguments | reply |
//! |---|---|---|---|
//! | 0 | `configure` | `[options]` | `v` `null` |
//! | 1 | `handoffRead` | `[href]` | `v` `{port, state, mode, codeChallenge?, callbackUrl}` |
//! | 2 | `handoffDelivery` | `[port, state, mode?, codeChallenge?, code?, apiKey?, deliver?]` | `v` the delivery (`{mode: "redirect", url}`, `{mode: "post", request, fallbackUrl}` or `{mode: "manual", masked, pasteText}`) |
//! | 3 | `handoffPostOutcome` | `[status, headers]` + body | `r` the body, or `e` |
//! | 4 | `userCodeInput` | `[typed]` | `v` `{display, complete, problem?}` |
//! | 5 | `normalizeUserCode` | `[typed]` | `v` the code |
//! | 6 | `deviceApprovalRequest` | `[endpoint, userCode, approve]` | `v` `{method, url, headers, body}` |
//! | 7 | `apiError` | `[status, headers, nowMs]` + body | `E` the error, or `v` `null` for 2xx |
//! | 8 | `networkError` | `[reason]` | `E` |
//! | 9 | `cancelledError` | `[]` | `E` |
//! | 10 | `argumentError` | `[name, reason]` | `E` |
//!
//! `headers` are `name: value` lines joined with `\n`; absent optional arguments are
//! `null`; a string argument of another type reads as empty (and fails validation).

use std::cell::RefCell;

use cliauth_core::Error;
use cliauth_core::json::Value;
use wasm_bindgen::prelude::*;

use crate::error::{error_json, invalid};
use crate::plain::Args;

/// Operation numbers (see the table above).
pub mod op {
    /// `configure`.
    pub const CONFIGURE: u32 = 0;
    /// `handoffRead`.
    pub const HANDOFF_READ: u32 = 1;
    /// `handoffDelivery`.
    pub const HANDOFF_DELIVERY: u32 = 2;
    /// `handoffPostOutcome`.
    pub const HANDOFF_POST_OUTCOME: u32 = 3;
    /// `userCodeInput`.
    pub const USER_CODE_INPUT: u32 = 4;
    /// `normalizeUserCode`.
    pub const NORMALIZE_USER_CODE: u32 = 5;
    /// `deviceApprovalRequest`.
    pub const DEVICE_APPROVAL_REQUEST: u32 = 6;
    /// `apiError`.
    pub const API_ERROR: u32 = 7;
    /// `networkError`.
    pub const NETWORK_ERROR: u32 = 8;
    /// `cancelledError`.
    pub const CANCELLED_ERROR: u32 = 9;
    /// `argumentError`.
    pub const ARGUMENT_ERROR: u32 = 10;
}

/// What an operation answers.
enum Reply {
    /// JSON text.
    Json(String),
    /// Raw bytes.
    #[cfg(feature = "handoff")]
    Raw(Vec<u8>),
    /// An error handed back as a value, not thrown.
    Error(Error),
}

/// Runs operation `op` on `input` (the JSON arguments, then optionally `0` and the
/// body bytes) and returns the tagged reply (see the module docs).
pub fn call(op: u32, input: &[u8]) -> Vec<u8> {
    let (tag, payload) = match with_args(input, |a, body| run(op, a, body)) {
        Ok(Reply::Json(text)) => (b'v', text.into_bytes()),
        #[cfg(feature = "handoff")]
        Ok(Reply::Raw(bytes)) => (b'r', bytes),
        Ok(Reply::Error(e)) => (b'E', error_json(&e).into_bytes()),
        Err(e) => (b'e', error_json(&e).into_bytes()),
    };
    tagged(tag, &payload)
}

/// Splits a boundary input into its JSON arguments and body bytes (see the module
/// docs) and runs `run` on them; the framing of both boundaries (this one and the
/// full build's, `crate::full_call`).
pub(crate) fn with_args<T>(
    input: &[u8],
    run: impl FnOnce(&Args<'_>, &[u8]) -> Result<T, Error>,
) -> Result<T, Error> {
    let (json, body) = match input.iter().position(|&b| b == 0) {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (input, &[][..]),
    };
    let parsed = Value::parse(json);
    match parsed.as_ref().and_then(Value::as_array) {
        Some(args) => run(&Args(args), body),
        None => Err(invalid("arguments", "must be a JSON array")),
    }
}

/// A reply: its tag byte, then the payload.
pub(crate) fn tagged(tag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 1);
    out.push(tag);
    out.extend_from_slice(payload);
    out
}

fn run(op: u32, a: &Args<'_>, body: &[u8]) -> Result<Reply, Error> {
    use crate::config;
    #[cfg(feature = "device")]
    use crate::device_page;
    #[cfg(feature = "handoff")]
    use crate::handoff;
    let json = Reply::Json;
    Ok(match op {
        op::CONFIGURE => json(config::configure(a.get(0))?),
        #[cfg(feature = "handoff")]
        op::HANDOFF_READ => json(handoff::handoff_read(a.text(0))?),
        #[cfg(feature = "handoff")]
        op::HANDOFF_DELIVERY => json(handoff::handoff_delivery(
            [a.text(0), a.text(1)],
            [a.opt(2), a.opt(3), a.opt(4), a.opt(5), a.opt(6), a.opt(7)],
        )?),
        #[cfg(feature = "handoff")]
        op::HANDOFF_POST_OUTCOME => {
            Reply::Raw(handoff::handoff_post_outcome(a.status(0), a.text(1), body)?)
        }
        #[cfg(feature = "device")]
        op::USER_CODE_INPUT => json(device_page::user_code_input(a.text(0))),
        #[cfg(feature = "device")]
        op::NORMALIZE_USER_CODE => json(device_page::normalize_user_code(a.text(0))?),
        #[cfg(feature = "device")]
        op::DEVICE_APPROVAL_REQUEST => json(device_page::device_approval_request(
            a.text(0),
            a.text(1),
            a.flag(2),
        )?),
        #[cfg(feature = "device")]
        op::API_ERROR => match device_page::api_error(a.status(0), a.text(1), body, a.num(2)) {
            Some(e) => Reply::Error(e),
            None => json("null".into()),
        },
        op::NETWORK_ERROR => Reply::Error(Error::network(a.text(0))),
        op::CANCELLED_ERROR => Reply::Error(Error::Cancelled),
        op::ARGUMENT_ERROR => Reply::Error(invalid(a.text(0), a.text(1))),
        _ => return Err(invalid("operation", "is unknown to this module")),
    })
}

thread_local! {
    // The input, then the reply: one buffer, owned here, written by JS between
    // `pageInput` and `pageCall` (JS reads the reply before its next call).
    pub(crate) static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Reserves `len` bytes of input and returns their address in the module's memory,
/// where the JS loader writes the arguments before [`page_call`].
#[wasm_bindgen(js_name = pageInput)]
pub fn page_input(len: usize) -> usize {
    BUF.with(|b| {
        let mut b = b.borrow_mut();
        *b = vec![0; len];
        b.as_mut_ptr() as usize
    })
}

/// Runs operation `op` on the input written after [`page_input`]; returns the address
/// of the reply: its length (`u32`, little endian), then the bytes [`call`] returns.
#[wasm_bindgen(js_name = pageCall)]
pub fn page_call(op: u32) -> usize {
    BUF.with(|b| {
        let mut b = b.borrow_mut();
        let reply = call(op, &b);
        let mut out = Vec::with_capacity(reply.len() + 4);
        out.extend_from_slice(&(reply.len() as u32).to_le_bytes());
        out.extend_from_slice(&reply);
        *b = out;
        b.as_ptr() as usize
    })
}

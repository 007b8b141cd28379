//! The full build's boundary: the page boundary ([`crate::page`]) extended with the
//! full module's operations — PKCE, `state`, keys, JWT, token responses, the browser
//! login, core's machines and the credentials document — instead of one wasm-bindgen
//! export (and its generated shim and glue) per function.
//!
//! The framing is the page boundary's: JS writes the JSON arguments (then a `0`
//! byte and raw body bytes, if any) at the address `pageInput` returns, then calls
//! `fullCall(op)`; the reply is tagged as in [`crate::page`] (`v` a JSON value, `e`
//! an error to throw). Operations below [`op::FIRST`] are the page's, answered by
//! [`page::call`]; `npm/src/full.js` binds the page helpers' loader to `fullCall`,
//! so one loader serves both builds.
//!
//! Times are `Date.now()` milliseconds passed by JS; random bytes are drawn by JS
//! (`crypto.getRandomValues`) and passed as the body, and backoff seeds as whole
//! numbers (JS draws one unless a test gives it): the module imports nothing from
//! JS, so it is instantiated without wasm-bindgen's glue. A machine is a number: `machine*` operations create one
//! (reply: its number), the others take it first (the `machine` module).
//!
//! | op | operation | arguments | reply |
//! |---|---|---|---|
//! | 32 | `createPkce` | `[]` + 32 random bytes | `{verifier, challenge, method}` |
//! | 33 | `pkceFromEntropy` | `[]` + the entropy | as 32 |
//! | 34 | `pkceChallenge` | `[verifier, method?]` | the challenge |
//! | 35 | `negotiatePkceMethod` | `[methods?, allowPlain]` | the method |
//! | 36 | `createState` | `[]` + 32 random bytes | the state |
//! | 37 | `checkState` | `[value]` | `null` |
//! | 38 | `stateMatches` | `[expected, received]` | a boolean |
//! | 39 | `new KeyRegistry` | `[formats]` | `null` (the formats are valid) |
//! | 40 | `KeyRegistry.validate` | `[formats, foreign, input]` | `{ok, formatId, masked}` |
//! | 41 | `KeyRegistry.diagnose` | `[formats, foreign, input]` | the diagnosis |
//! | 42 | `KeyRegistry.mask` | `[formats, foreign, key]` | the masked key |
//! | 43 | `decodeJwt` | `[token]` | `{header, claims, extra}` |
//! | 44 | `parseTokenResponse` | `[status, headers, now]` + body | `{tokens}` or `{oauthError}` |
//! | 45 | `startAuthorization` | `[config, redirectUri, now, entropyGiven]` + the caller's entropy or 96 random bytes | `{url, state, redirectUri, pending}` |
//! | 46 | `completeAuthorization` | `[config, pending, query, now]` | `{code, verifier, redirectUri, nonce?}` |
//! | 47 | `credentials.status` | `[document?, profile?, now]` | the status report |
//! | 48 | `credentials.statusText` | `[document?, profile?, now]` | the text |
//! | 49 | `credentials.profiles` | `[document?]` | the profiles |
//! | 50 | `credentials.logout` | `[document?, profile?, now]` | the new document |
//! | 51 | `credentials.switchProfile` | `[document?, profile]` | the new document |
//! | 52 | `credentials.saveApiKey` | `[document?, profile, key, now]` | the new document |
//! | 53 | device login machine | `[config, seed?]` | the machine |
//! | 54 | device polling machine | `[status, headers, tokenEndpoint, clientId, now, seed?]` + body | the machine |
//! | 55 | browser login machine | `[config, pending, query, now, seed?]` | the machine |
//! | 56 | access token machine | `[config, seed?]` | the machine |
//! | 57 | `poll` | `[machine, now]` | the step |
//! | 58 | `handleResponse` | `[machine, now, status, headers]` + body | `null` |
//! | 59 | `handleTransportError` | `[machine, now, notSent, reason]` | `null` |
//! | 60 | `handleStored` | `[machine, now, document?]` | `null` |
//! | 61 | `handlePersisted` | `[machine, now]` | `null` |
//! | 62 | `handleStorageError` | `[machine, now, reason]` | `null` |
//! | 63 | `cancel` | `[machine, now]` | `null` |
//! | 64 | `stats` | `[machine]` | `{polls, pending, slowDowns, failures}` |
//! | 65 | release | `[machine]` | `null` |

use cliauth_core::Error;
use wasm_bindgen::prelude::*;

use crate::convert::response;
use crate::error::{error_json, invalid};
use crate::machine::{self, Machine};
use crate::plain::Args;
use crate::{credentials, jwt, keys, page, pkce, tokens};

/// Operation numbers (see the table above).
#[allow(missing_docs)]
pub mod op {
    /// The first operation of the full build; lower numbers are the page's.
    pub const FIRST: u32 = 32;
    pub const PKCE_CREATE: u32 = 32;
    pub const PKCE_FROM_ENTROPY: u32 = 33;
    pub const PKCE_CHALLENGE: u32 = 34;
    pub const PKCE_NEGOTIATE: u32 = 35;
    pub const STATE_CREATE: u32 = 36;
    pub const STATE_CHECK: u32 = 37;
    pub const STATE_MATCHES: u32 = 38;
    pub const KEYS_CHECK: u32 = 39;
    pub const KEYS_VALIDATE: u32 = 40;
    pub const KEYS_DIAGNOSE: u32 = 41;
    pub const KEYS_MASK: u32 = 42;
    pub const JWT_DECODE: u32 = 43;
    pub const TOKEN_PARSE: u32 = 44;
    pub const AUTHORIZATION_START: u32 = 45;
    pub const AUTHORIZATION_COMPLETE: u32 = 46;
    pub const CREDENTIALS_STATUS: u32 = 47;
    pub const CREDENTIALS_STATUS_TEXT: u32 = 48;
    pub const CREDENTIALS_PROFILES: u32 = 49;
    pub const CREDENTIALS_REMOVE: u32 = 50;
    pub const CREDENTIALS_SWITCH: u32 = 51;
    pub const CREDENTIALS_ADD_API_KEY: u32 = 52;
    pub const DEVICE_LOGIN: u32 = 53;
    pub const DEVICE_FLOW: u32 = 54;
    pub const BROWSER_LOGIN: u32 = 55;
    pub const ACCESS_TOKEN: u32 = 56;
    pub const POLL: u32 = 57;
    pub const RESPONSE: u32 = 58;
    pub const TRANSPORT_ERROR: u32 = 59;
    pub const STORED: u32 = 60;
    pub const PERSISTED: u32 = 61;
    pub const STORAGE_ERROR: u32 = 62;
    pub const CANCEL: u32 = 63;
    pub const STATS: u32 = 64;
    pub const RELEASE: u32 = 65;
}

/// Runs operation `op` on `input` (the JSON arguments, then optionally `0` and the
/// body bytes) and returns the tagged reply: a page operation's, or `v` and the
/// JSON value, or `e` and the error.
pub fn call(op: u32, input: &[u8]) -> Vec<u8> {
    if op < op::FIRST {
        return page::call(op, input);
    }
    match page::with_args(input, |a, body| run(op, a, body)) {
        Ok(text) => page::tagged(b'v', text.as_bytes()),
        Err(e) => page::tagged(b'e', error_json(&e).as_bytes()),
    }
}

/// A machine's number as JSON.
fn created(m: Result<Machine, Error>) -> Result<String, Error> {
    m.map(|m| cliauth_core::encoding::decimal(machine::create(m).into()))
}

fn null() -> String {
    "null".into()
}

fn run(op: u32, a: &Args<'_>, body: &[u8]) -> Result<String, Error> {
    use credentials as c;
    let registry = || keys::registry(a.value(0), a.get(1));
    let machine = |f: &dyn Fn(&mut Machine)| machine::with(a.num(0), f).map(|()| null());
    let http =
        |status: usize, headers: usize| response(a.status(status), a.text(headers), body.to_vec());
    Ok(match op {
        op::PKCE_CREATE => pkce::pkce_create(body)?,
        op::PKCE_FROM_ENTROPY => pkce::pkce_from_entropy(body)?,
        op::PKCE_CHALLENGE => pkce::pkce_challenge(a.text(0), a.opt(1))?,
        op::PKCE_NEGOTIATE => pkce::pkce_negotiate(a.get(0), a.flag(1))?,
        op::STATE_CREATE => pkce::state_create(body)?,
        op::STATE_CHECK => pkce::state_check(a.text(0))?,
        op::STATE_MATCHES => pkce::state_matches(a.text(0), a.text(1))?,
        op::KEYS_CHECK => registry().map(|_| null())?,
        op::KEYS_VALIDATE => keys::validate(&registry()?, a.text(2))?,
        op::KEYS_DIAGNOSE => keys::diagnose(&registry()?, a.text(2)),
        op::KEYS_MASK => keys::mask(&registry()?, a.text(2)),
        op::JWT_DECODE => jwt::jwt_decode(a.text(0))?,
        op::TOKEN_PARSE => tokens::token_parse(&http(0, 1), a.time(2))?,
        op::AUTHORIZATION_START => {
            tokens::authorization_start(a.value(0), a.text(1), body, a.flag(3), a.time(2))?
        }
        op::AUTHORIZATION_COMPLETE => {
            tokens::authorization_complete(a.value(0), a.text(1), a.text(2), a.time(3))?
        }
        op::CREDENTIALS_STATUS => c::credentials_status(a.opt(0), a.opt(1), a.time(2))?,
        op::CREDENTIALS_STATUS_TEXT => c::credentials_status_text(a.opt(0), a.opt(1), a.time(2))?,
        op::CREDENTIALS_PROFILES => c::credentials_profiles(a.opt(0))?,
        op::CREDENTIALS_REMOVE => c::credentials_remove(a.opt(0), a.opt(1), a.time(2))?,
        op::CREDENTIALS_SWITCH => c::credentials_switch(a.opt(0), a.text(1))?,
        op::CREDENTIALS_ADD_API_KEY => {
            c::credentials_add_api_key(a.opt(0), a.text(1), a.text(2), a.time(3))?
        }
        op::DEVICE_LOGIN => created(Machine::device_login(a.value(0), a.seed(1)))?,
        op::DEVICE_FLOW => created(Machine::device_flow(
            &http(0, 1),
            a.text(2),
            a.text(3),
            a.time(4),
            a.seed(5),
        ))?,
        op::BROWSER_LOGIN => created(Machine::browser_login(
            a.value(0),
            a.text(1),
            a.text(2),
            a.time(3),
            a.seed(4),
        ))?,
        op::ACCESS_TOKEN => created(Machine::access_token(a.value(0), a.seed(1)))?,
        op::POLL => machine::with(a.num(0), |m| m.poll(a.time(1)))??,
        op::RESPONSE => machine(&|m| m.handle_response(a.time(1), http(2, 3)))?,
        op::TRANSPORT_ERROR => {
            machine(&|m| m.handle_transport_error(a.time(1), a.flag(2), a.text(3)))?
        }
        op::STORED => machine(&|m| m.handle_stored(a.time(1), a.opt(2)))?,
        op::PERSISTED => machine(&|m| m.handle_persisted(a.time(1)))?,
        op::STORAGE_ERROR => machine(&|m| m.handle_storage_error(a.time(1), a.text(2)))?,
        op::CANCEL => machine(&|m| m.cancel(a.time(1)))?,
        op::STATS => machine::with(a.num(0), |m| m.stats())?,
        op::RELEASE => {
            machine::free(a.num(0));
            null()
        }
        _ => return Err(invalid("operation", "is unknown to this module")),
    })
}

/// Runs operation `op` (page or full) on the input written after `pageInput`;
/// returns the address of the reply: its length (`u32`, little endian), then the
/// bytes [`call`] returns.
#[wasm_bindgen(js_name = fullCall)]
pub fn full_call(op: u32) -> usize {
    page::BUF.with(|b| {
        let mut b = b.borrow_mut();
        let reply = call(op, &b);
        let mut out = Vec::with_capacity(reply.len() + 4);
        out.extend_from_slice(&(reply.len() as u32).to_le_bytes());
        out.extend_from_slice(&reply);
        *b = out;
        b.as_ptr() as usize
    })
}

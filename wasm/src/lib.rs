//! # cliauth-wasm
//!
//! cliauth's core in web pages, through wasm-bindgen: the cli-auth page that hands a
//! credential to the CLI's loopback server, the device-verification page, and a web
//! page's own browser login — with the same checks, decisions and error taxonomy as
//! the native CLI, because they are the same code (`cliauth-core`).
//!
//! The public JavaScript API is the npm package `cliauth` (`npm/`), a thin ESM layer
//! over these exports that adds what only JS can do: `fetch`, timers, Web Storage,
//! navigation. The exports here are its internals: structured values cross the
//! boundary as JSON text, times as `Date.now()` milliseconds, and every failure is
//! thrown as a `CliauthError` (`code`, `kind`, `exitCode`, `hint`).
//!
//! ## Two builds
//!
//! Without features this crate is the **page** module: [`configure`], errors, the
//! cli-auth handoff and the device-verification page — what public pages load, kept
//! small. The `full` feature (default) adds PKCE, `state`, key validation, JWT
//! decoding, token parsing, the browser login and core's machines (device login,
//! refresh, approval) with credential storage.
//!
//! ## Size
//!
//! The page module has a budget: at most 40 KB gzip for its wasm and JS glue
//! (`cargo xtask size`, enforced by `cargo xtask test`). What keeps it there:
//!
//! - no serde_json: the page paths of core write their small JSON bodies with
//!   `cliauth_core::json` and read error bodies and this crate's options with its
//!   small reader (`serde_json` is a dependency of the `full` feature only);
//! - no panicking string indexing, substring searchers or Unicode case tables on
//!   those paths (core's choice; the `full` build links them anyway);
//! - string arguments of the page exports arrive as JS values read with
//!   `as_string`: less glue than wasm-bindgen's per-parameter
//!   string copying; results leave as JSON text (smaller than building JS objects
//!   with `Reflect`, measured);
//! - [talc](https://crates.io/crates/talc) is the global allocator on wasm, about
//!   5 KB smaller than std's dlmalloc.
//!
//! ## What this crate does not do
//!
//! - **No logic of its own.** Every check and decision is core's; this crate converts
//!   arguments and results. If a page needs a new decision, it goes into core.
//! - **No IO.** Requests are handed to JS as values (`Machine` in the full build); time comes
//!   from `Date.now()` and entropy from `crypto.getRandomValues` at the boundary.
//! - **No secrets in errors.** Messages and hints come from core, which never puts a
//!   secret in them.

#![forbid(unsafe_code)]

/// The allocator: talc instead of std's dlmalloc, for size (see "Size" above).
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

mod config;
mod convert;
#[cfg(feature = "full")]
mod credentials;
mod device_page;
pub mod error;
mod handoff;
#[cfg(feature = "full")]
mod jwt;
#[cfg(feature = "full")]
mod keys;
#[cfg(feature = "full")]
pub mod machine;
#[cfg(feature = "full")]
mod pkce;
mod plain;
#[cfg(feature = "full")]
mod tokens;

pub use config::configure;
#[cfg(feature = "full")]
pub use credentials::{
    credentials_add_api_key, credentials_profiles, credentials_remove, credentials_status,
    credentials_status_text, credentials_switch,
};
pub use device_page::{
    api_error_js, device_approval_request_js, normalize_user_code_js, user_code_input_json,
};
#[cfg(feature = "full")]
pub use error::storage_error;
pub use error::{argument_error, cancelled_error, network_error};
pub use handoff::{handoff_delivery, handoff_post_outcome, handoff_read};
#[cfg(feature = "full")]
pub use jwt::jwt_decode;
#[cfg(feature = "full")]
pub use keys::KeyRegistry;
#[cfg(feature = "full")]
pub use machine::Machine;
#[cfg(feature = "full")]
pub use pkce::{
    pkce_challenge, pkce_create, pkce_from_entropy, pkce_negotiate, state_check, state_create,
    state_matches,
};
#[cfg(feature = "full")]
pub use tokens::{authorization_complete, authorization_start, token_parse};

//! The wasm test suite in Node.js: the shared vectors and the bindings.

#![cfg(all(target_arch = "wasm32", feature = "full"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../core/tests/vectors/runner.rs"]
mod runner;

include!("shared/suite.rs");

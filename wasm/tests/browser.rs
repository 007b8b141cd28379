//! The wasm test suite in headless Chromium: the shared vectors and the bindings.

#![cfg(all(target_arch = "wasm32", feature = "full"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[path = "../../core/tests/vectors/runner.rs"]
mod runner;

include!("shared/suite.rs");

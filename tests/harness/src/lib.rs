//! Test harness for cliauth: **emulations** of authorization servers that cannot run
//! here ([`emulation`], each quirk citing the provider's documentation), the
//! django-oauth-toolkit interop server ([`django`], a second real OAuth server
//! besides panva's oidc-provider), and the small HTTP server they are built on
//! ([`http`]). The `cliauth-test-harness` binary (the real loopback server for the
//! browser handoff tests) lives in `main.rs`.
#![allow(clippy::expect_used, clippy::panic, clippy::print_stderr)]

pub mod django;
pub mod emulation;
pub mod http;

/// A reqwest client builder for the tests' own requests (following a login page,
/// calling an emulation). cliauth's reqwest has no process-wide rustls crypto
/// provider (cliauth configures rustls per client), so ring is installed as the
/// default first, as native's tests do.
pub fn reqwest_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

//! # cliauth-core
//!
//! The authentication logic of command-line tools, with no IO: PKCE, `state`, API-key
//! validation, JWT decoding, the authorize URL and its callback, the loopback server's
//! request handling, token and device-flow state machines, refresh with rotation,
//! revocation, discovery, retry decisions, the credentials document and one error
//! taxonomy with exit codes. The native `cliauth` crate and the `cliauth-wasm` web
//! bindings run exactly this code, against the same test vectors.
//!
//! ## What this crate does not do
//!
//! - **No IO.** It opens no socket or file, reads no clock and draws no OS randomness.
//!   Time comes in as [`Now`] arguments (a monotonic [`Instant`] and a wall-clock
//!   [`Timestamp`]), entropy as byte arrays or a `u64` seed, bytes as slices.
//!   (`core/src` never calls `SystemTime::now`, `Instant::now` or getrandom.)
//! - **No HTTP client.** Requests are [`HttpRequest`] values to execute, responses are
//!   [`HttpResponse`] values to interpret. Shells must not follow redirects.
//! - **No signature verification.** [`jwt`] decodes claims for display (`status`);
//!   servers verify tokens, clients do not trust claims.
//! - **No storage.** [`credentials::CredentialsDocument`] is the format; the shells
//!   decide where it lives and lock it.
//!
//! ## Modules
//!
//! | Module | What it decides |
//! |---|---|
//! | [`flow`] | the one protocol ([`flow::Step`], [`flow::Input`]) and the whole journeys: logins, access tokens, API calls, logout, discovery |
//! | [`exchange`], [`retry`] | one request with retries; when and how long to back off |
//! | [`device`], [`refresh`] | RFC 8628 polling; refresh with rotation under the store's lock |
//! | [`authorize`], [`pkce`], [`state`], [`loopback`] | the authorize URL and its callback; the loopback server's answers, parsing and admission under a flood |
//! | [`handoff`], [`launch`] | the cli-auth page's handoff; whether a browser can open here |
//! | [`token`], [`discovery`], [`revoke`], [`jwt`] | token, discovery and revocation messages; JWT claims for display |
//! | [`client`], [`provider`] | what each request kind carries (client authentication, extra parameters); provider presets as data, and their quirks |
//! | [`credentials`], [`keys`] | the credentials document and its profiles, which stored files may be used (strict modes); API-key formats |
//! | [`http`], [`json`], [`encoding`] | request and response values, API errors; JSON and URL text |
//! | [`error`], [`redact`], [`secret`], [`time`] | the error taxonomy; secrets that never print; the two clocks |
//!
//! Files stay under 1,100 lines, unit tests included (`cargo xtask test --only
//! layout` checks it).
//!
//! ## Flows and the drain rule
//!
//! Everything that takes time is a [`flow::Flow`]: `handle(now, input)` takes an
//! answer, `poll(now)` returns the next [`flow::Step`] — a request to send, an instant
//! to wait for, something to show, the credentials document to read or persist, a
//! loopback reply — or the result. Call `poll` until it asks to wait or ends; answer
//! every step that needs an answer before polling again (the table on
//! [`flow::Step`]).
//!
//! A device flow, driven by a fake clock:
//!
//! ```
//! use core::time::Duration;
//! use cliauth_core::device::{parse_device_authorization, DeviceFlow};
//! use cliauth_core::flow::{Flow, Input, Step};
//! use cliauth_core::time::Now;
//! use cliauth_core::{HttpResponse, Timestamp};
//! use serde_json::json;
//!
//! let mut now = Now::from_wall(Timestamp::from_unix_secs(1_700_000_000));
//! let started = HttpResponse::json(200, &json!({
//!     "device_code": "dev-123", "user_code": "WDJB-MJHT",
//!     "verification_uri": "https://auth.example/device", "expires_in": 600
//! }));
//! let authorization = parse_device_authorization(&started, now.wall).unwrap();
//! let mut flow = DeviceFlow::new(authorization, "https://auth.example/token", "my-cli", now, 42);
//! assert_eq!(flow.user_code(), "WDJB-MJHT");
//!
//! // The server's answers, in order: pending, slow_down, then tokens.
//! let mut answers = vec![
//!     HttpResponse::json(200, &json!({"access_token": "at", "token_type": "Bearer", "expires_in": 3600})),
//!     HttpResponse::json(400, &json!({"error": "slow_down"})),
//!     HttpResponse::json(400, &json!({"error": "authorization_pending"})),
//! ];
//! let tokens = loop {
//!     match flow.poll(now) {
//!         // A real shell sleeps here.
//!         Step::WaitUntil(t) => now = now.saturating_add(t.saturating_duration_since(now.instant)),
//!         Step::Send(_request) => flow.handle(now, Input::Response(answers.pop().unwrap())),
//!         Step::Done(tokens) => break tokens,
//!         Step::Failed(e) => panic!("{e}"),
//!         other => unreachable!("{other:?}"),
//!     }
//! };
//! assert_eq!(tokens.access_token.expose_secret(), "at");
//! // 5 s default interval, then 5 s, then 10 s after slow_down.
//! assert_eq!(tokens.obtained_at, Timestamp::from_unix_secs(1_700_000_020));
//! assert_eq!(flow.stats().polls, 3);
//! ```
//!
//! ## Structs that may grow
//!
//! Public structs with public fields that a later version may extend — parsed
//! server answers ([`token::TokenResponse`], [`discovery::ServerMetadata`],
//! [`device::DeviceAuthorization`], [`jwt::JwtClaims`]), token sets and configurations
//! ([`token::TokenSet`], [`refresh::RefreshConfig`], [`retry::RetryPolicy`]) — are
//! `#[non_exhaustive]`: read their fields, build them with their constructor or
//! `Default` and set fields, never with a struct literal:
//!
//! ```
//! use cliauth_core::{refresh::RefreshConfig, retry::RetryPolicy};
//! let mut config = RefreshConfig::new("https://auth.example/token", "my-cli");
//! config.retry = RetryPolicy::never();
//! ```
//!
//! ```compile_fail,E0639
//! // A struct literal does not compile outside this crate: a new field would break it.
//! let retry = cliauth_core::retry::RetryPolicy { max_attempts: 2, ..Default::default() };
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod authorize;
pub mod client;
pub mod credentials;
pub mod device;
pub mod discovery;
pub mod encoding;
pub mod error;
pub mod exchange;
pub mod flow;
pub mod handoff;
pub mod http;
pub mod json;
pub mod jwt;
pub mod keys;
pub mod launch;
pub mod loopback;
pub mod pkce;
pub mod provider;
pub mod redact;
pub mod refresh;
pub mod retry;
pub mod revoke;
mod rng;
pub mod secret;
pub mod state;
pub mod time;
pub mod token;

pub use error::{AppContext, Error, ErrorKind};
pub use http::{HttpRequest, HttpResponse, Method};
pub use time::{Instant, Now, Timestamp};

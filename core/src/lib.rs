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
//!   Time comes in as a [`Timestamp`] argument, entropy as byte arrays or a `u64`
//!   seed, bytes as slices. (`core/src` never calls `SystemTime::now`, `Instant::now`
//!   or getrandom.)
//! - **No HTTP client.** Requests are [`HttpRequest`] values to execute, responses are
//!   [`HttpResponse`] values to interpret. Shells must not follow redirects.
//! - **No signature verification.** [`jwt`] decodes claims for display (`status`);
//!   servers verify tokens, clients do not trust claims.
//! - **No storage.** [`credentials::CredentialsDocument`] is the format; the shells
//!   decide where it lives and lock it.
//!
//! ## Machines and the drain rule
//!
//! Flows that take time are state machines with `handle_*` inputs and a `poll`
//! output: [`device::DeviceFlow`], [`refresh::Refresh`] and [`exchange::Exchange`].
//! Call `poll(now)` until it asks for nothing; it returns a request to send, a time to
//! wake up, or a result. Feed every response back before polling again.
//!
//! A device flow, driven by a fake clock:
//!
//! ```
//! use core::time::Duration;
//! use cliauth_core::device::{parse_device_authorization, DeviceFlow, DevicePoll};
//! use cliauth_core::{HttpResponse, Timestamp};
//! use serde_json::json;
//!
//! let mut now = Timestamp::from_unix_secs(1_700_000_000);
//! let started = HttpResponse::json(200, &json!({
//!     "device_code": "dev-123", "user_code": "WDJB-MJHT",
//!     "verification_uri": "https://auth.example/device", "expires_in": 600
//! }));
//! let authorization = parse_device_authorization(&started, now).unwrap();
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
//!         DevicePoll::WaitUntil(t) => now = t,                 // a real shell sleeps here
//!         DevicePoll::Send(_request) => flow.handle_response(now, answers.pop().unwrap()),
//!         DevicePoll::Authorized(tokens) => break tokens,
//!         DevicePoll::Failed(e) => panic!("{e}"),
//!         DevicePoll::Finished => unreachable!(),
//!     }
//! };
//! assert_eq!(tokens.access_token.expose_secret(), "at");
//! // 5 s default interval, then 5 s, then 10 s after slow_down.
//! assert_eq!(tokens.obtained_at, Timestamp::from_unix_secs(1_700_000_020));
//! assert_eq!(flow.stats().polls, 3);
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod authorize;
pub mod credentials;
pub mod device;
pub mod discovery;
pub mod encoding;
pub mod error;
pub mod exchange;
pub mod handoff;
pub mod http;
pub mod json;
pub mod jwt;
pub mod keys;
pub mod launch;
pub mod loopback;
pub mod pkce;
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
pub use time::Timestamp;

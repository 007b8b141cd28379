//! # cliauth
//!
//! Authentication for command-line tools (docs in progress).

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
pub mod browser;
#[cfg(feature = "clap")]
#[cfg_attr(docsrs, doc(cfg(feature = "clap")))]
pub mod cli;
pub mod http;
pub mod loopback;
pub mod store;
mod sys;
pub mod ui;

pub use auth::{
    Authenticator, AuthenticatorBuilder, Endpoints, Fallback, LoginOutcome, LogoutOutcome,
    ProfileInfo, RefreshOutcome, Revocation, Verification,
};
pub use cliauth_core as core;
pub use cliauth_core::credentials::{LoginMethod, StatusReport};
pub use cliauth_core::keys::{Charset, KeyFormat, KeyRegistry};
pub use cliauth_core::secret::{AccessToken, ApiKey};
pub use cliauth_core::{
    AppContext, Error, ErrorKind, HttpRequest, HttpResponse, Method, Timestamp,
};
pub use sys::now;

//! # cliauth
//!
//! Authentication for command-line tools (work in progress).

#![forbid(unsafe_code)]

pub mod loopback;
mod sys;

pub use cliauth_core as core;
pub use cliauth_core::{AppContext, Error, ErrorKind, HttpRequest, HttpResponse, Method, Timestamp};
pub use sys::now;

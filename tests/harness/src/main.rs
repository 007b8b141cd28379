//! A real cliauth loopback server for the browser handoff tests
//! (`tests/npm/handoff.test.mjs`).
//!
//! Binds [`cliauth::loopback::LoopbackServer`] on `127.0.0.1` (random port), waits
//! for one login, and reports on stdout, one JSON object per line (test data only —
//! this binary prints the credential it receives):
//!
//! - `{"event":"listening","port":P,"state":"…"}` once bound;
//! - `{"event":"request","status":S,"note":"…"}` for every request the server
//!   answered (from the server's own `loopback request` log event), so a test can
//!   assert that nothing reached it;
//! - `{"event":"callback","code":…,"api_key":…,"state":…}` when a callback with the
//!   right `state` arrives, then exits 0;
//! - `{"event":"error","code":"…","message":"…"}` on timeout or failure, exit 1.
//!
//! Arguments: `--allow-origin ORIGIN` (repeatable: origins allowed to POST),
//! `--timeout-secs N` (default 60).

#![allow(clippy::print_stdout)]

use std::io::Write as _;
use std::time::Duration;

use cliauth::loopback::{LoopbackOptions, LoopbackServer};
use cliauth_core::loopback::{LoopbackConfig, LoopbackHandler};
use cliauth_core::state::StateToken;
use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

fn emit(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

/// Turns the server's `loopback request` debug events into `request` lines.
struct Requests;

#[derive(Default)]
struct Fields {
    message: String,
    status: Option<u64>,
    note: Option<String>,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "status" {
            self.status = Some(value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "status" {
            self.status = u64::try_from(value).ok();
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "note" {
            self.note = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "note" => self.note = Some(format!("{value:?}").trim_matches('"').to_string()),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Requests {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if !event.metadata().target().starts_with("cliauth::loopback") {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        if f.message == "loopback request" {
            emit(&json!({ "event": "request", "status": f.status, "note": f.note }));
        }
    }
}

fn main() {
    let mut origins = Vec::new();
    let mut timeout = Duration::from_secs(60);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--allow-origin", Some(o)) => origins.push(o),
            ("--timeout-secs", Some(s)) => {
                timeout = Duration::from_secs(s.parse().unwrap_or(60));
            }
            _ => {
                emit(
                    &json!({ "event": "error", "code": "usage", "message": format!("bad argument {a}") }),
                );
                std::process::exit(2);
            }
        }
    }
    tracing_subscriber::registry().with(Requests).init();
    let code = match run(origins, timeout) {
        Ok(()) => 0,
        Err(e) => {
            emit(&json!({ "event": "error", "code": e.code(), "message": e.to_string() }));
            1
        }
    };
    std::process::exit(code);
}

fn run(origins: Vec<String>, timeout: Duration) -> Result<(), cliauth_core::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| cliauth_core::Error::LoopbackUnavailable {
            address: "127.0.0.1".into(),
            reason: e.to_string(),
            source: None,
        })?;
    runtime.block_on(async move {
        let server = LoopbackServer::bind({
            let mut o = LoopbackOptions::default();
            o.cancel_on_ctrl_c = false;
            o
        })?;
        let port = server.port();
        let mut entropy = [0u8; 32];
        getrandom::fill(&mut entropy)
            .map_err(|e| cliauth_core::Error::invalid_config(e.to_string()))?;
        let state = StateToken::from_entropy(&entropy);
        let mut config = LoopbackConfig::new(port, "Harness");
        config.allowed_origins = origins;
        config.accept.code = true;
        config.accept.api_key = true;
        let handler = LoopbackHandler::new(config, &state);
        emit(&json!({ "event": "listening", "port": port, "state": state.expose_secret() }));
        let params = server.wait(handler, timeout).await?;
        emit(&json!({
            "event": "callback",
            "code": params.code.as_ref().map(|c| c.expose_secret().to_string()),
            "api_key": params.api_key.as_ref().map(|k| k.expose_secret().to_string()),
            "state": params.state,
            "error": params.error,
        }));
        Ok(())
    })
}

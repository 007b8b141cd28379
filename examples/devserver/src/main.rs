//! `cliauth-devserver`: the development authorization server as a standalone process,
//! for browser end-to-end tests and benchmarks.
//!
//! When ready it prints exactly one line on stdout,
//! `{"url":"http://127.0.0.1:PORT","issuer":"…"}`, and serves until SIGTERM or Ctrl-C.
//! Errors go to stderr with exit code 1 (2 for bad flags).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use cliauth_devserver::{
    DEFAULT_CLIENT_ID, DevServer, DevServerConfig, RateLimitPolicy, parse_duration,
};

/// A development OAuth 2.0 authorization server and API for cliauth, on 127.0.0.1.
///
/// Prints one JSON line {"url","issuer"} on stdout when ready; stops on SIGTERM or
/// Ctrl-C. Durations take ms, s, m, h or d (e.g. 500ms, 5s, 1h).
#[derive(Debug, Parser)]
#[command(name = "cliauth-devserver", version)]
struct Args {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Issuer identifier (default: the server's URL).
    #[arg(long)]
    issuer: Option<String>,
    /// The public client id.
    #[arg(long, default_value = DEFAULT_CLIENT_ID)]
    client_id: String,
    /// Persist all state in this JSON file, shared by every server using it.
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Access-token lifetime.
    #[arg(long, value_parser = parse_duration, default_value = "1h")]
    access_token_ttl: Duration,
    /// Refresh-token lifetime.
    #[arg(long, value_parser = parse_duration, default_value = "30d")]
    refresh_token_ttl: Duration,
    /// Minimum time between device-code polls (faster polls get slow_down).
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    device_interval: Duration,
    /// Device-code lifetime.
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    device_code_lifetime: Duration,
    /// Authorization-code and handoff-code lifetime.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    code_lifetime: Duration,
    /// Approve device codes for the demo user after this delay (quickstart).
    #[arg(long, value_parser = parse_duration)]
    auto_approve_device: Option<Duration>,
    /// Approve browser logins without showing the consent page (quickstart).
    #[arg(long)]
    auto_approve_browser: bool,
    /// A rate-limit policy NAME=QUOTA/WINDOW (repeatable; replaces the default
    /// dev:memories=120/1h), e.g. dev:memories=2/3s. dev:NAME limits /api/NAME.
    #[arg(long = "rate-limit", value_parser = RateLimitPolicy::parse)]
    rate_limits: Vec<RateLimitPolicy>,
    /// Directory whose files override the built-in pages and assets.
    #[arg(long)]
    web_root: Option<PathBuf>,
    /// The built npm package served at /pkg/ (default: <repo>/npm/dist).
    #[arg(long)]
    pkg_dir: Option<PathBuf>,
    /// Log each request (method, path, status) to stderr.
    #[arg(long)]
    log_requests: bool,
    /// TESTS ONLY: append every secret issued or received (codes, verifiers, device
    /// codes, tokens, keys) to FILE as JSON lines, for secret-leak scans. The file
    /// holds live credentials in clear text.
    #[arg(long, value_name = "FILE")]
    record_secrets: Option<PathBuf>,
}

impl Args {
    fn into_config(self) -> DevServerConfig {
        let mut config = DevServerConfig::default();
        config.port = self.port;
        config.issuer = self.issuer;
        config.client_id = self.client_id;
        config.state_file = self.state_file;
        config.access_token_ttl = self.access_token_ttl;
        config.refresh_token_ttl = self.refresh_token_ttl;
        config.device_interval = self.device_interval;
        config.device_code_lifetime = self.device_code_lifetime;
        config.code_lifetime = self.code_lifetime;
        config.auto_approve_device = self.auto_approve_device;
        config.auto_approve_browser = self.auto_approve_browser;
        if !self.rate_limits.is_empty() {
            config.rate_limits = self.rate_limits;
        }
        config.web_root = self.web_root;
        config.pkg_dir = self.pkg_dir;
        config.log_requests = self.log_requests;
        config.record_secrets = self.record_secrets;
        config
    }
}

fn main() -> ExitCode {
    let config = Args::parse().into_config();
    // The server runs on its own thread; this runtime only waits for signals.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(run(config))
}

fn fail(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "cliauth-devserver: {message}");
    ExitCode::from(1)
}

async fn run(config: DevServerConfig) -> ExitCode {
    let server = match DevServer::start(config).await {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    // Keys in this order: {"url":"http://127.0.0.1:PORT","issuer":"…"}.
    let quote = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let ready = format!(
        "{{\"url\":{},\"issuer\":{}}}",
        quote(server.url()),
        quote(server.issuer())
    );
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{ready}");
        let _ = out.flush();
    }
    wait_for_signal().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

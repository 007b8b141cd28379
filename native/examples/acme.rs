//! `acme`: a small CLI built on cliauth's public API and its `clap` feature.
//!
//! It shows how an app embeds the `auth` command group next to its own commands,
//! and it is what cliauth's end-to-end tests run as a real process.
//!
//! ```text
//! cargo run -p cliauth --example acme --features clap -- auth login --device
//! ```
//!
//! Configuration comes from the environment (a real app would hard-code it):
//! `ACME_ISSUER` (discovery) or `ACME_TOKEN_ENDPOINT` / `ACME_AUTHORIZE_ENDPOINT` /
//! `ACME_DEVICE_ENDPOINT` / `ACME_REVOKE_ENDPOINT`, `ACME_CLIENT_ID`, `ACME_SCOPES`,
//! `ACME_API_BASE`, `ACME_VERIFY` (e.g. `/whoami`), `ACME_CLI_AUTH_PAGE`,
//! `ACME_RAW_KEY_HANDOFF=1` (the page may hand over a raw API key),
//! `ACME_LOGIN_TIMEOUT_SECS`; credentials live in `ACME_CONFIG_DIR` or
//! `~/.config/acme`, and in the OS keyring only with `ACME_KEYRING=1` (so its tests
//! never touch a real keyring).

#![allow(clippy::print_stdout)] // printing results is what a CLI does

use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand};
use cliauth::cli::{AuthArgs, CompletionArgs, GlobalArgs, exit};
use cliauth::{Authenticator, Charset, Error, KeyFormat, KeyRegistry};

#[derive(Parser)]
#[command(name = "acme", about = "The Acme CLI (a cliauth example)")]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in, sign out, show who you are.
    Auth(AuthArgs),
    /// Call the API's whoami endpoint with the current credential.
    Whoami,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completion(CompletionArgs),
}

fn authenticator() -> Result<Authenticator, Error> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let keys = KeyRegistry::new(vec![KeyFormat::prefixed(
        "acme",
        "Acme",
        "API key",
        "acme_",
        Charset::Base62,
        24,
        128,
    )]);
    let mut builder = Authenticator::builder("acme")
        .product("Acme")
        .key_formats(keys)
        .client_id(var("ACME_CLIENT_ID").unwrap_or_else(|| "acme-cli".into()));
    if let Some(issuer) = var("ACME_ISSUER") {
        builder = builder.issuer(issuer);
    }
    if let Some(url) = var("ACME_TOKEN_ENDPOINT") {
        builder = builder.token_endpoint(url);
    }
    if let Some(url) = var("ACME_AUTHORIZE_ENDPOINT") {
        builder = builder.authorization_endpoint(url);
    }
    if let Some(url) = var("ACME_DEVICE_ENDPOINT") {
        builder = builder.device_authorization_endpoint(url);
    }
    if let Some(url) = var("ACME_REVOKE_ENDPOINT") {
        builder = builder.revocation_endpoint(url);
    }
    if let Some(scopes) = var("ACME_SCOPES") {
        builder = builder.scopes(scopes.split_whitespace().map(str::to_string));
    }
    if let Some(url) = var("ACME_API_BASE") {
        builder = builder.api_base(url);
    }
    if let Some(path) = var("ACME_VERIFY") {
        builder = builder.verification_endpoint(path);
    }
    if let Some(url) = var("ACME_CLI_AUTH_PAGE") {
        builder = builder.cli_auth_page(url);
    }
    if var("ACME_RAW_KEY_HANDOFF").is_some_and(|v| v == "1") {
        builder = builder.raw_key_handoff(true);
    }
    if let Some(secs) = var("ACME_LOGIN_TIMEOUT_SECS").and_then(|s| s.parse().ok()) {
        builder = builder.login_timeout(Duration::from_secs(secs));
    }
    #[cfg(feature = "keyring")]
    {
        builder = builder.keyring(var("ACME_KEYRING").is_some_and(|v| v == "1"));
    }
    builder.build()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completion(args) = &cli.command {
        return match cliauth::cli::write_completions(
            args.shell,
            &mut Cli::command(),
            &mut std::io::stdout(),
        ) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(1),
        };
    }
    cli.global.init_logging();
    let auth = match authenticator() {
        Ok(a) => a,
        Err(e) => {
            return exit(
                cli.global
                    .renderer(&cliauth::AppContext::new("acme", "Acme"))
                    .error(&e),
            );
        }
    };
    let code = match &cli.command {
        Command::Auth(args) => cliauth::cli::run_code(&auth, &cli.global, &args.command).await,
        Command::Completion(_) => 0,
        Command::Whoami => {
            let renderer = cli.global.renderer(auth.app());
            let result = match cli.global.apply(&auth) {
                Ok(auth) => auth.get_json("/whoami").await,
                Err(e) => Err(e),
            };
            match result {
                Ok(me) => {
                    println!("{me}");
                    0
                }
                Err(e) => renderer.error(&e),
            }
        }
    };
    exit(code)
}

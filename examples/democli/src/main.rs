//! `democli` — a complete demo CLI built only on cliauth's public API.
//!
//! ```text
//! democli [--json] [-v] [--color auto|always|never] [--profile NAME] [--api-key KEY] <COMMAND>
//!
//!   auth login [--browser | --device | --api-key KEY | --with-token] [--scopes A,B] [--insecure-storage]
//!   auth status [--all] | logout | token | refresh [--scopes A,B] | switch [NAME]
//!   whoami        a protected API call (GET /api/whoami)
//!   memories      a rate-limited protected API call (GET /api/memories)
//!   quickstart    the whole journey, unattended, against a throw-away dev server
//!   completion SHELL   a completion script (bash, zsh, fish, elvish, powershell)
//! ```
//!
//! With no `DEMO_ISSUER`, democli starts the embedded dev authorization server
//! (`cliauth-devserver`) in-process on 127.0.0.1 for each command that needs it; its
//! state lives next to the credentials (`$DEMO_HOME`, default `~/.config/democli`), so a
//! login in one command is valid in the next. See [`settings`] for every variable.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod quickstart;
mod settings;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use cliauth::cli::{AuthArgs, AuthCommand, CompletionArgs, GlobalArgs};
use cliauth::{Authenticator, Error};

/// democli: sign in four ways, call a protected API, and see cliauth handle
/// refresh, rate limits and logout.
#[derive(Parser, Debug)]
#[command(name = "democli", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    /// Use this API key for this command only (over DEMO_API_KEY and stored profiles).
    #[arg(long, global = true, value_name = "KEY")]
    api_key: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Sign in, sign out, show who you are.
    Auth(AuthArgs),
    /// Ask the API who you are (a protected call).
    Whoami,
    /// List your memories (a protected, rate-limited call).
    Memories,
    /// Run the whole journey unattended against a throw-away dev server: device login,
    /// status, a protected call, a forced refresh, a rate-limited call, logout.
    Quickstart,
    /// Print a shell completion script (`democli completion bash > …`).
    Completion(CompletionArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completion(args) = &cli.command {
        return match cliauth::cli::write_completions(
            args.shell,
            &mut Cli::command(),
            &mut std::io::stdout(),
        ) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("✗ Cannot write the completion script: {e}");
                ExitCode::from(1)
            }
        };
    }
    cli.global.init_logging();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("✗ Cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    if let Command::Quickstart = cli.command {
        return cliauth::cli::exit(quickstart::run(&cli.global).await);
    }
    // Reading local state (status, switch) needs no server: start one only when the
    // command may talk to it.
    let needs_server = !matches!(
        &cli.command,
        Command::Auth(AuthArgs {
            command: AuthCommand::Status(_) | AuthCommand::Switch(_)
        })
    );
    let setup = match settings::Setup::from_env(needs_server).await {
        Ok(s) => s,
        Err(e) => return cliauth::cli::exit(settings::report_early(&cli.global, &e)),
    };
    let renderer = cli.global.renderer(setup.auth.app());
    let auth = match prepare(&setup.auth, &cli) {
        Ok(a) => a,
        Err(e) => return cliauth::cli::exit(renderer.error(&e)),
    };
    let code = match &cli.command {
        Command::Auth(args) => cliauth::cli::run_code(&auth, &cli.global, &args.command).await,
        Command::Whoami => match setup.whoami(&auth).await {
            Ok(me) => {
                if cli.global.json() {
                    println!("{me}");
                } else {
                    renderer.success(&settings::describe_user(&me));
                }
                0
            }
            Err(e) => renderer.error(&e),
        },
        Command::Memories => match setup.memories(&auth).await {
            Ok(list) => {
                if cli.global.json() {
                    println!("{list}");
                } else {
                    renderer.success(&settings::describe_memories(&list));
                }
                0
            }
            Err(e) => renderer.error(&e),
        },
        Command::Quickstart | Command::Completion(_) => 0,
    };
    setup.shutdown().await;
    cliauth::cli::exit(code)
}

/// The authenticator narrowed to `--profile` and `--api-key`.
fn prepare(auth: &Authenticator, cli: &Cli) -> Result<Authenticator, Error> {
    let auth = cli.global.apply(auth)?;
    Ok(match &cli.api_key {
        Some(key) => auth.with_api_key(key.clone()),
        None => auth,
    })
}

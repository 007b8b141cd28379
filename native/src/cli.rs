//! A ready `auth` command group for clap apps (feature `clap`).
//!
//! The app keeps its own [`clap::Parser`]; it flattens [`GlobalArgs`] (`--json`,
//! `-v`, `--no-color`, `--profile`) and adds [`AuthArgs`] as a subcommand. [`run`]
//! executes an [`AuthCommand`] against an [`Authenticator`] and returns the process
//! exit code (core's [`cliauth_core::error::exit_code`]): human output on stderr
//! (`✓ …`, `✗ …` with a hint), JSON on stdout with `--json`.
//!
//! ```
//! use clap::{Parser, Subcommand};
//! use cliauth::cli::{AuthArgs, GlobalArgs};
//!
//! #[derive(Parser)]
//! #[command(name = "acme")]
//! struct Cli {
//!     #[command(flatten)]
//!     global: GlobalArgs,
//!     #[command(subcommand)]
//!     command: Command,
//! }
//!
//! #[derive(Subcommand)]
//! enum Command {
//!     /// Sign in, sign out, show who you are.
//!     Auth(AuthArgs),
//!     /// The app's own command.
//!     Whoami,
//! }
//!
//! let cli = Cli::parse_from(["acme", "--json", "auth", "login", "--device", "--profile", "work"]);
//! assert!(cli.global.json);
//! assert_eq!(cli.global.profile.as_deref(), Some("work"));
//! let Command::Auth(auth) = cli.command else { unreachable!() };
//! assert!(matches!(auth.command, cliauth::cli::AuthCommand::Login(ref l) if l.device));
//!
//! // In main():
//! //   let auth = Authenticator::builder("acme")…build()?;
//! //   cli.global.init_logging();
//! //   let code = match cli.command {
//! //       Command::Auth(args) => cliauth::cli::run(&auth, &cli.global, &args.command).await,
//! //       Command::Whoami => …,
//! //   };
//! //   std::process::exit(code);
//! ```

use std::io::{self, IsTerminal, Read, Write};

use clap::{ArgAction, Args, Subcommand};
use cliauth_core::credentials::StatusReport;
use cliauth_core::error::exit_code;
use cliauth_core::{AppContext, Error};

use crate::auth::{Authenticator, LoginOutcome, LogoutOutcome, Revocation, Verification};
pub use crate::ui::TerminalSpinner;

/// Flags every command of the app accepts (flatten into the app's parser).
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct GlobalArgs {
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log requests to stderr (-v: debug, -vv: trace).
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Do not use colours (also when NO_COLOR is set).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Use this credentials profile.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
}

impl GlobalArgs {
    /// Installs a `tracing` subscriber on stderr when `-v` was given (`cliauth=debug`,
    /// or `trace` with `-vv`; `RUST_LOG` overrides). Does nothing without `-v` or when
    /// a subscriber is already installed.
    pub fn init_logging(&self) {
        if self.verbose == 0 {
            return;
        }
        let level = if self.verbose > 1 { "trace" } else { "debug" };
        let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("cliauth={level},cliauth_core={level}"))
        });
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(io::stderr)
            .with_target(false)
            .without_time()
            .with_ansi(self.color())
            .try_init();
    }

    /// Whether to use colours on stderr: not with `--no-color`, not when `NO_COLOR` is
    /// set (to anything non-empty), only on a terminal.
    pub fn color(&self) -> bool {
        !self.no_color
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && io::stderr().is_terminal()
    }

    /// A renderer for these flags.
    pub fn renderer<'a>(&self, app: &'a AppContext) -> Renderer<'a> {
        Renderer {
            app,
            json: self.json,
            color: self.color(),
        }
    }

    /// `auth` narrowed to `--profile`, if given.
    pub fn apply(&self, auth: &Authenticator) -> Result<Authenticator, Error> {
        match &self.profile {
            Some(p) => auth.with_profile(p.clone()),
            None => Ok(auth.clone()),
        }
    }
}

/// The `auth` subcommand (add it to the app's own subcommands).
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub struct AuthArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuthCommand,
}

/// `auth login | status | logout | token | switch`.
#[derive(Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum AuthCommand {
    /// Sign in: in the browser, with a device code, or with an API key.
    Login(LoginArgs),
    /// Show who is signed in, how, and until when.
    Status,
    /// Sign out: revoke the token at the server and delete it here.
    Logout,
    /// Print a valid access token (refreshed if needed) for scripts.
    Token,
    /// Make another stored profile the active one.
    Switch {
        /// The profile.
        name: String,
    },
}

/// How to log in. Without a flag, the browser is used unless this machine cannot
/// open one (SSH, no display, container, WSL); then the device code (or a pasted
/// key), with the reason printed.
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
#[group(multiple = false)]
pub struct LoginArgs {
    /// Sign in in the browser (the cli-auth page when the app has one).
    #[arg(long)]
    pub browser: bool,
    /// Sign in with a code entered on another device.
    #[arg(long, alias = "device-code")]
    pub device: bool,
    /// Store this API key (checked before it is stored). Other users can read it in
    /// the process list, and it stays in shell history: prefer --with-token or the
    /// API key environment variable.
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Read an API key from stdin (private: not in the process list or history).
    #[arg(long)]
    pub with_token: bool,
}

/// Writes results and errors the way the flags ask.
#[derive(Clone, Copy, Debug)]
pub struct Renderer<'a> {
    app: &'a AppContext,
    json: bool,
    color: bool,
}

impl<'a> Renderer<'a> {
    /// A renderer.
    pub fn new(app: &'a AppContext, json: bool, color: bool) -> Renderer<'a> {
        Renderer { app, json, color }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn stderr(&self, text: &str) {
        let _ = writeln!(io::stderr().lock(), "{text}");
    }

    fn stdout_json(&self, value: &serde_json::Value) {
        let _ = writeln!(io::stdout().lock(), "{value}");
    }

    /// Reports `error` (`✗ message` and hint on stderr, or the JSON envelope on
    /// stdout) and returns its exit code.
    pub fn error(&self, error: &Error) -> i32 {
        if self.json {
            self.stdout_json(&error.to_json(self.app));
        } else {
            self.stderr(&self.error_text(error));
        }
        error.exit_code()
    }

    /// The terminal text for an error: `✗ message` (red) and the hint (dim).
    pub fn error_text(&self, error: &Error) -> String {
        let rendered = error.render(self.app);
        let mut lines = rendered.lines();
        let first = lines.next().unwrap_or_default();
        let mut out = self.paint("31", first);
        for line in lines {
            out.push('\n');
            out.push_str(&self.paint("2", line));
        }
        out
    }

    /// `✓ text` on stderr (nothing in JSON mode).
    pub fn success(&self, text: &str) {
        if !self.json {
            self.stderr(&format!("{} {text}", self.paint("32", "✓")));
        }
    }

    /// `! text` on stderr (nothing in JSON mode).
    pub fn warning(&self, text: &str) {
        if !self.json {
            self.stderr(&self.paint("33", &format!("! {text}")));
        }
    }

    /// The one-line warning for `login --api-key KEY`: the key is in the process list
    /// (`/proc/<pid>/cmdline`, `ps`) for every user, and in shell history. On stderr
    /// also with `--json` (stdout stays the JSON envelope).
    pub fn api_key_flag_warning(&self) {
        let text = format!(
            "! --api-key is visible to other users in the process list and stays in shell \
             history; use `{cli} auth login --with-token` (reads stdin) or set {var} instead.",
            cli = self.app.cli,
            var = self.app.api_key_env
        );
        self.stderr(&self.paint("33", &text));
    }

    /// Reports a login.
    pub fn login(&self, outcome: &LoginOutcome) -> i32 {
        if self.json {
            self.stdout_json(&serde_json::json!({ "ok": true, "login": outcome }));
            return exit_code::OK;
        }
        let who = outcome
            .subject
            .as_deref()
            .map(|s| format!(" as {s}"))
            .unwrap_or_default();
        self.success(&format!("Logged in to {}{who}", self.app.product));
        let mut details = format!("  Profile:  {}", outcome.profile);
        if !outcome.active {
            details.push_str(&format!(
                " (not active; use `{} auth switch {}`)",
                self.app.cli, outcome.profile
            ));
        }
        details.push_str(&format!("\n  Method:   {}", outcome.method.describe()));
        if let Some(k) = &outcome.masked_key {
            details.push_str(&format!("\n  Key:      {k}"));
        }
        self.stderr(&details);
        if let Verification::Unverified { reason } = &outcome.verification {
            self.warning(&format!(
                "The key was saved but could not be checked ({reason}). Run `{} auth status` later.",
                self.app.cli
            ));
        }
        exit_code::OK
    }

    /// Reports `status`; exit 0 when authenticated, else the exit code of
    /// [`Error::NotAuthenticated`].
    pub fn status(&self, report: &StatusReport) -> i32 {
        if self.json {
            self.stdout_json(&serde_json::to_value(report).unwrap_or_default());
        } else {
            let text = report.render(self.app);
            let mut lines = text.lines();
            let first = lines.next().unwrap_or_default();
            let code = if report.authenticated { "32" } else { "31" };
            let mut out = self.paint(code, first);
            for line in lines {
                out.push('\n');
                out.push_str(line);
            }
            self.stderr(&out);
        }
        if report.authenticated {
            exit_code::OK
        } else {
            Error::NotAuthenticated.exit_code()
        }
    }

    /// Reports a logout.
    pub fn logout(&self, outcome: &LogoutOutcome) -> i32 {
        if self.json {
            self.stdout_json(&serde_json::json!({ "ok": true, "logout": outcome }));
            return exit_code::OK;
        }
        self.success(&format!(
            "Logged out of {} (profile {})",
            self.app.product, outcome.profile
        ));
        match &outcome.revocation {
            Revocation::Failed { message, .. } => self.warning(&format!(
                "The token could not be revoked at the server ({message}); it was deleted from this computer."
            )),
            Revocation::Skipped { reason } => self.warning(&format!(
                "Nothing was sent to the server ({reason}); the credential was deleted from this computer."
            )),
            Revocation::Revoked | Revocation::NotSupported => {}
        }
        if let Some(var) = &outcome.env_still_set {
            self.warning(&format!(
                "{var} is still set and keeps authenticating {}; unset it to sign out completely.",
                self.app.cli
            ));
        }
        exit_code::OK
    }
}

/// Runs an `auth` command and returns the exit code. Also applies `--profile` and
/// (idempotently) `-v` logging.
pub async fn run(auth: &Authenticator, global: &GlobalArgs, command: &AuthCommand) -> i32 {
    global.init_logging();
    let renderer = global.renderer(auth.app());
    let auth = match global.apply(auth) {
        Ok(a) => a,
        Err(e) => return renderer.error(&e),
    };
    let result = match command {
        AuthCommand::Login(args) => {
            if args.api_key.is_some() {
                renderer.api_key_flag_warning();
            }
            login(&auth, args).await.map(|o| renderer.login(&o))
        }
        AuthCommand::Status => auth.status().await.map(|r| renderer.status(&r)),
        AuthCommand::Logout => auth.logout().await.map(|o| renderer.logout(&o)),
        AuthCommand::Token => auth.access_token().await.map(|token| {
            let out = if global.json {
                serde_json::json!({ "access_token": token.expose_secret() }).to_string()
            } else {
                token.expose_secret().to_string()
            };
            let _ = writeln!(io::stdout().lock(), "{out}");
            exit_code::OK
        }),
        AuthCommand::Switch { name } => auth.switch_profile(name).await.map(|()| {
            if global.json {
                renderer.stdout_json(&serde_json::json!({ "ok": true, "active_profile": name }));
            } else {
                renderer.success(&format!("Switched to profile {name}"));
            }
            exit_code::OK
        }),
    };
    result.unwrap_or_else(|e| renderer.error(&e))
}

async fn login(auth: &Authenticator, args: &LoginArgs) -> Result<LoginOutcome, Error> {
    if let Some(key) = &args.api_key {
        return auth.login_api_key(key).await;
    }
    if args.with_token {
        if io::stdin().is_terminal() {
            return auth.login_paste().await;
        }
        let text = tokio::task::spawn_blocking(|| {
            let mut text = String::new();
            io::stdin()
                .lock()
                .take(64 * 1024)
                .read_to_string(&mut text)
                .map(|_| cliauth_core::secret::SecretString::new(text.trim()))
        })
        .await
        .map_err(|_| Error::Cancelled)?
        .map_err(|e| Error::InvalidArgument {
            name: "--with-token".into(),
            reason: format!("could not read stdin ({})", e.kind()),
        })?;
        return auth.login_api_key(text.expose_secret()).await;
    }
    if args.device {
        return auth.login_device().await;
    }
    if args.browser {
        return auth.login_browser_or_handoff().await;
    }
    auth.login().await
}

/// Like [`run`], on a new single-threaded tokio runtime, for apps that are not
/// async. Must not be called from inside a runtime (that is reported as an error).
pub fn run_blocking(auth: &Authenticator, global: &GlobalArgs, command: &AuthCommand) -> i32 {
    let renderer = global.renderer(auth.app());
    if tokio::runtime::Handle::try_current().is_ok() {
        return renderer.error(&Error::Misuse(
            "cliauth::cli::run_blocking was called inside an async runtime; use cliauth::cli::run",
        ));
    }
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run(auth, global, command)),
        Err(_) => renderer.error(&Error::InvalidConfig {
            reason: "the async runtime could not start".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_with_and_without_colour() {
        let app = AppContext::new("acme", "Acme");
        let plain = Renderer::new(&app, false, false).error_text(&Error::NotAuthenticated);
        assert_eq!(
            plain,
            "✗ Not authenticated\n  Run `acme auth login` to sign in, or set ACME_API_KEY. (See `acme auth login --help`.)"
        );
        let coloured = Renderer::new(&app, false, true).error_text(&Error::NotAuthenticated);
        assert!(coloured.starts_with("\x1b[31m✗ Not authenticated\x1b[0m\n\x1b[2m  Run"));
    }

    #[test]
    fn global_flags_parse_anywhere() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            global: GlobalArgs,
            #[command(subcommand)]
            auth: AuthCommand,
        }
        let cli = Cli::parse_from(["x", "login", "--api-key", "k", "-vv", "--no-color"]);
        assert_eq!(cli.global.verbose, 2);
        assert!(cli.global.no_color && !cli.global.color());
        assert!(
            matches!(cli.auth, AuthCommand::Login(LoginArgs { ref api_key, .. }) if api_key.as_deref() == Some("k"))
        );
        assert!(Cli::try_parse_from(["x", "login", "--device", "--browser"]).is_err());
    }
}

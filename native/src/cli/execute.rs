//! Running an `auth` command: the flags applied, the login chosen, the result
//! rendered, the exit code returned.

use std::io::{self, IsTerminal, Read};
use std::process::ExitCode;

use cliauth_core::Error;

use super::{AuthCommand, GlobalArgs, LoginArgs, StatusArgs, split_scopes, switch};
use crate::auth::{Authenticator, LoginOutcome};

/// An `i32` exit code as the process's [`ExitCode`] (out-of-range codes become 1).
pub fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Runs an `auth` command and returns the process's exit code. Also applies
/// `--profile` and (idempotently) `-v` logging.
pub async fn run(auth: &Authenticator, global: &GlobalArgs, command: &AuthCommand) -> ExitCode {
    exit(run_code(auth, global, command).await)
}

/// Like [`run`], with the exit code as a number (core's
/// [`exit_code`](cliauth_core::error::exit_code)).
pub async fn run_code(auth: &Authenticator, global: &GlobalArgs, command: &AuthCommand) -> i32 {
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
        AuthCommand::Status(StatusArgs { all: false }) => {
            auth.status().await.map(|r| renderer.status(&r))
        }
        AuthCommand::Status(StatusArgs { all: true }) => {
            let overridden_by = auth
                .status()
                .await
                .ok()
                .and_then(|r| r.source.filter(|s| !s.starts_with("profile:")));
            auth.status_all()
                .await
                .map(|all| renderer.status_all(&all, overridden_by.as_deref()))
        }
        AuthCommand::Logout => auth.logout().await.map(|o| renderer.logout(&o)),
        AuthCommand::Token => auth
            .access_token()
            .await
            .map(|token| renderer.token(token.expose_secret())),
        AuthCommand::Refresh(args) => {
            let scopes = split_scopes(&args.scopes);
            let view = if scopes.is_empty() {
                auth.clone()
            } else {
                auth.with_scopes(scopes)
            };
            view.refresh_now().await.map(|o| renderer.refresh(&o))
        }
        AuthCommand::Switch(args) => match &args.name {
            Some(name) => auth
                .switch_profile(name)
                .await
                .map(|()| renderer.switched(name)),
            None => switch::interactive(&auth, &renderer).await,
        },
    };
    result.unwrap_or_else(|e| renderer.error(&e))
}

async fn login(auth: &Authenticator, args: &LoginArgs) -> Result<LoginOutcome, Error> {
    let mut auth = auth.clone();
    if args.insecure_storage {
        auth = auth.with_insecure_storage(true);
    }
    let scopes = split_scopes(&args.scopes);
    if !scopes.is_empty() {
        auth = auth.with_scopes(scopes);
    }
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
pub fn run_blocking(auth: &Authenticator, global: &GlobalArgs, command: &AuthCommand) -> ExitCode {
    let renderer = global.renderer(auth.app());
    if tokio::runtime::Handle::try_current().is_ok() {
        return exit(renderer.error(&Error::Misuse(
            "cliauth::cli::run_blocking was called inside an async runtime; use cliauth::cli::run",
        )));
    }
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run(auth, global, command)),
        Err(e) => exit(
            renderer
                .error(&Error::invalid_config("the async runtime could not start").with_source(e)),
        ),
    }
}

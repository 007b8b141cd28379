//! `democli quickstart`: the whole journey, unattended, on a machine with no display
//! and no network beyond loopback.
//!
//! Everything runs against a throw-away embedded dev server and a temporary
//! credentials directory, both removed at the end; the user's own `~/.democli` is not
//! touched.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cliauth::HttpRequest;
use cliauth::cli::GlobalArgs;
use cliauth::cliauth_core::secret::SecretString;
use cliauth::ui::{Notice, Ui};
use cliauth::{AppContext, Authenticator, Error};
use cliauth_devserver::RateLimitPolicy;
use serde_json::{Value, json};

use crate::settings::{self, Embedded, Setup};

/// Prints cliauth's notices indented under the current step, on stdout.
#[derive(Debug)]
struct StepUi;

impl Ui for StepUi {
    fn notice(&self, notice: &Notice<'_>) {
        for line in notice.to_string().lines() {
            if line.is_empty() {
                println!();
            } else {
                println!("    {line}");
            }
        }
    }

    fn read_secret(&self, _prompt: &str) -> Result<Option<SecretString>, Error> {
        Ok(None)
    }

    fn start_waiting(&self, message: &str) {
        println!("    … {message}");
    }
}

struct Journey {
    steps: usize,
    done: usize,
    log: Vec<Value>,
}

impl Journey {
    fn step(&mut self, title: &str) {
        self.done += 1;
        println!("\n▸ {}/{} {title}", self.done, self.steps);
    }

    fn ok(&mut self, name: &str, text: &str) {
        let mut lines = text.lines();
        println!("  ✓ {}", lines.next().unwrap_or_default());
        for line in lines {
            println!("    {line}");
        }
        self.log.push(json!({ "step": name, "ok": true }));
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the journey; returns the exit code.
pub(crate) async fn run(global: &GlobalArgs) -> i32 {
    let mut app = AppContext::new("democli", "Demo");
    app.api_key_env = "DEMO_API_KEY".into();
    match journey(global).await {
        Ok(()) => 0,
        Err((step, e)) => {
            eprintln!("\nThe quickstart stopped at “{step}”:");
            global.renderer(&app).error(&e)
        }
    }
}

async fn journey(global: &GlobalArgs) -> Result<(), (&'static str, Error)> {
    let started = Instant::now();
    let mut j = Journey {
        steps: 7,
        done: 0,
        log: Vec::new(),
    };
    println!("democli quickstart — cliauth's whole journey against a local dev server.");
    println!("Nothing here needs an account, a display or the internet.");

    // 1. A throw-away server and credentials directory.
    j.step("Starting the embedded dev authorization server");
    let mut builder = tempfile::Builder::new();
    builder.prefix("democli-quickstart-");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    let home = builder.tempdir().map_err(|e| {
        (
            "start",
            Error::storage(format!("cannot create a temporary directory: {}", e.kind())),
        )
    })?;
    let setup = Setup::embedded(
        Embedded {
            home: home.path().to_path_buf(),
            auto_approve_device: Some(Duration::from_secs(2)),
            device_interval: Duration::from_secs(1),
            rate_limits: vec![RateLimitPolicy::new(
                "dev:memories",
                2,
                Duration::from_secs(3),
            )],
        },
        Some(home.path()),
    )
    .await
    .map_err(|e| ("start", e))?;
    let server_url = setup
        .server()
        .map(|s| s.url().to_string())
        .unwrap_or_default();
    j.ok(
        "start",
        &format!(
            "Listening on {server_url} (OAuth 2.0: code + PKCE, device code, refresh rotation, revocation)\n\
             Credentials go to {}/credentials.json for this run",
            home.path().display()
        ),
    );
    let unscoped: Authenticator = setup.auth.with_ui(Arc::new(StepUi));
    let auth = unscoped
        .with_profile("quickstart")
        .map_err(|e| ("start", e))?;

    // 2. Device login, approved automatically by the dev server after 2 s.
    j.step("Logging in with a device code (RFC 8628) — the dev server approves it after 2 s");
    let login = auth.login_device().await.map_err(|e| ("device login", e))?;
    let file = home.path().join("credentials.json");
    let perms = permissions(&file, home.path());
    j.ok(
        "device login",
        &format!(
            "Logged in{} (profile `{}`, {})\n{perms}",
            login
                .subject
                .as_deref()
                .map(|s| format!(" as {s}"))
                .unwrap_or_default(),
            login.profile,
            login.method.describe()
        ),
    );

    // 3. Status.
    j.step("`democli auth status`");
    let report = auth.status().await.map_err(|e| ("status", e))?;
    println!("{}", indent(&report.render(auth.app())));
    j.log
        .push(json!({ "step": "status", "ok": report.authenticated }));

    // 4. A protected call.
    j.step("Calling a protected API: GET /api/whoami with the access token");
    let me = setup.whoami(&auth).await.map_err(|e| ("whoami", e))?;
    j.ok("whoami", &settings::describe_user(&me));

    // 5. Forced refresh with rotation.
    j.step("Refreshing the access token now (refresh-token rotation)");
    let refreshed = auth.refresh_now().await.map_err(|e| ("refresh", e))?;
    j.ok(
        "refresh",
        &format!(
            "New access token, valid until {}\n{}",
            refreshed.expires_at.as_deref().unwrap_or("unknown"),
            if refreshed.rotated {
                "The server rotated the refresh token; the new one was stored before the new access token was used"
            } else {
                "The server kept the refresh token (no rotation)"
            }
        ),
    );

    // 6. A rate-limited call that is retried.
    j.step("Calling a rate-limited API three times (policy dev:memories: 2 calls per 3 s)");
    for call in 1..=3 {
        let list = setup.memories(&auth).await.map_err(|e| ("rate limit", e))?;
        j.ok(
            "rate limit",
            &format!(
                "call {call}: {}",
                settings::describe_memories(&list)
                    .lines()
                    .next()
                    .unwrap_or("")
            ),
        );
    }

    // 7. Logout with revocation, and proof that the token is gone everywhere.
    j.step("Logging out (RFC 7009 revocation, then local deletion)");
    let token = auth.access_token().await.map_err(|e| ("logout", e))?;
    let out = auth.logout().await.map_err(|e| ("logout", e))?;
    let revoked = match &out.revocation {
        cliauth::Revocation::Revoked => "revoked at the server".to_string(),
        other => format!("{other:?}"),
    };
    j.ok(
        "logout",
        &format!(
            "Logged out of profile `{}`: {revoked}, local copy deleted",
            out.profile
        ),
    );
    let whoami = format!("{server_url}/api/whoami");
    let replay = auth
        .http()
        .run(HttpRequest::get(whoami).with_bearer(token.expose_secret()))
        .await
        .map_err(|e| ("logout", e))?;
    match cliauth::cliauth_core::http::api_error(&replay, cliauth::now()) {
        Some(e) => j.ok(
            "logout",
            &format!(
                "The old access token is refused by the API:\n{}",
                e.render(auth.app())
            ),
        ),
        None => {
            return Err((
                "logout",
                Error::Misuse("the revoked token was still accepted"),
            ));
        }
    }
    let after = unscoped.status().await.map_err(|e| ("logout", e))?;
    j.ok(
        "logout",
        &format!(
            "`democli auth status` now reports (exit code 2):\n{}",
            after.render(auth.app())
        ),
    );

    setup.shutdown().await;
    let path = home.path().display().to_string();
    drop(home);
    let mut summary = String::new();
    let _ = write!(
        summary,
        "\nDone in {:.1} s. The dev server stopped and {path} was removed.",
        started.elapsed().as_secs_f64()
    );
    println!("{summary}");
    println!(
        "Next: `cargo run -p cliauth-demo -- auth login --browser` signs you in through the cli-auth page."
    );
    if global.json() {
        println!(
            "{}",
            json!({ "ok": true, "steps": j.log, "seconds": started.elapsed().as_secs_f64() })
        );
    }
    Ok(())
}

/// `credentials.json is 0600 in a 0700 directory` (Unix), read with stat.
fn permissions(file: &std::path::Path, dir: &std::path::Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |p: &std::path::Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
        match (mode(file), mode(dir)) {
            (Ok(f), Ok(d)) => {
                format!("credentials.json is {f:04o} in a {d:04o} directory, written atomically")
            }
            _ => "credentials.json was written".to_string(),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, dir);
        "credentials.json was written".to_string()
    }
}

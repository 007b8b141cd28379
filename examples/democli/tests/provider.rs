//! `DEMO_PROVIDER=<preset>`: democli against a provider preset, run as a user would
//! (the real `democli` binary, a `BROWSER` script), with the provider played by its
//! emulation from the test harness (`cliauth_test_harness::emulation`: Keycloak's
//! and GitHub's documented wire behaviour on 127.0.0.1, not the providers
//! themselves).
// A `BROWSER` shell script plays the browser: Unix only.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cliauth_test_harness::emulation::{Emulation, Options, Provider};

const DEMOCLI: &str = env!("CARGO_BIN_EXE_democli");
/// A hang guard for one democli run, never a speed expectation.
const GUARD: Duration = Duration::from_secs(60);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn command(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = Command::new(DEMOCLI);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.join("user"))
        .env("DEMO_HOME", home.join("demo"))
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "1")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn finish(mut child: std::process::Child) -> Run {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > GUARD {
            let _ = child.kill();
            let _ = child.wait();
            panic!("democli hung; stderr: {}", err.join().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

async fn democli(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let cmd = command(home, env, args);
    tokio::task::spawn_blocking(move || {
        let mut cmd = cmd;
        finish(cmd.spawn().unwrap())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_provider_keycloak_login_scopes_status_refresh_whoami_logout() {
    let emu = Emulation::start(Provider::Keycloak, Options::new("acme-cli")).await;
    let home = tempfile::tempdir().unwrap();
    // The browser: a script that records the URL; the test follows it (the
    // emulation signs the user in at once) back to democli's loopback server.
    let opened = home.path().join("opened.txt");
    let script = home.path().join("browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
            opened.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = [
        ("DEMO_PROVIDER", "keycloak"),
        ("DEMO_PROVIDER_BASE", emu.base.as_str()),
        ("DEMO_PROVIDER_REALM", "acme"),
        ("DEMO_CLIENT_ID", "acme-cli"),
        ("BROWSER", script.to_str().unwrap()),
    ];
    // `--scopes` asks for these scopes instead of the preset's.
    let child = command(
        home.path(),
        &env,
        &[
            "--json",
            "auth",
            "login",
            "--browser",
            "--scopes",
            "openid,email,profile",
        ],
    )
    .spawn()
    .unwrap();
    let waiter = tokio::task::spawn_blocking(move || finish(child));
    let started = Instant::now();
    let url = loop {
        if let Some(line) = std::fs::read_to_string(&opened)
            .ok()
            .and_then(|t| t.lines().next().map(str::to_string))
        {
            break line;
        }
        assert!(started.elapsed() < GUARD, "democli opened no browser");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The browser is started on the one-time launch link (no secret on its command
    // line); its first fetch redirects to the authorization URL.
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(url.contains("/start/"), "{url}");
    let launch = cliauth_test_harness::reqwest_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(launch.status().as_u16(), 303, "{url}");
    let url = launch
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap()
        .to_string();
    assert!(
        url.starts_with(&emu.url("/realms/acme/protocol/openid-connect/auth?")),
        "{url}"
    );
    assert!(url.contains("&scope=openid+email+profile&"), "{url}");
    let page = cliauth_test_harness::reqwest_builder()
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert!(page.status().is_success(), "{}", page.status());
    let run = waiter.await.unwrap();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["ok"], true, "{out}");

    let run = democli(home.path(), &env, &["--json", "auth", "status"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let status: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(status["authenticated"], true, "{status}");
    assert_eq!(status["method"], "browser", "{status}");
    // The scopes `--scopes` asked for (absent from the answer: as requested).
    assert_eq!(
        status["scopes"],
        serde_json::json!(["openid", "email", "profile"]),
        "{status}"
    );
    // `auth refresh --scopes`: a narrower access token (RFC 6749 §6), recorded.
    let run = democli(
        home.path(),
        &env,
        &["--json", "auth", "refresh", "--scopes", "openid email"],
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        out["refresh"]["scopes"],
        serde_json::json!(["openid", "email"]),
        "{out}"
    );
    assert_eq!(out["refresh"]["rotated"], true, "{out}");
    let refresh = emu
        .seen_at("/realms/acme/protocol/openid-connect/token")
        .pop()
        .unwrap();
    assert_eq!(refresh.field("scope").as_deref(), Some("openid email"));
    // A scope the grant lacks is the server's `invalid_scope`; nothing changes.
    let run = democli(
        home.path(),
        &env,
        &["auth", "refresh", "--scopes", "openid admin"],
    )
    .await;
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("invalid_scope"), "{}", run.stderr);
    let run = democli(home.path(), &env, &["--json", "auth", "status"]).await;
    let status: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        status["scopes"],
        serde_json::json!(["openid", "email"]),
        "{status}"
    );
    assert_eq!(
        status["issuer"],
        emu.url("/realms/acme").as_str(),
        "{status}"
    );
    // `whoami` without an API: the provider's userinfo endpoint.
    let run = democli(home.path(), &env, &["whoami"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("Signed in as") || run.stdout.contains("Signed in as"));
    let run = democli(home.path(), &env, &["--json", "auth", "logout"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(emu.revocations(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_provider_errors_name_what_is_missing() {
    let home = tempfile::tempdir().unwrap();
    let run = democli(
        home.path(),
        &[("DEMO_PROVIDER", "nope")],
        &["auth", "status"],
    )
    .await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no preset `nope`"), "{}", run.stderr);
    assert!(run.stderr.contains("github"), "{}", run.stderr);
    let run = democli(
        home.path(),
        &[("DEMO_PROVIDER", "github")],
        &["auth", "status"],
    )
    .await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("DEMO_CLIENT_ID"), "{}", run.stderr);
    let run = democli(
        home.path(),
        &[("DEMO_PROVIDER", "auth0"), ("DEMO_CLIENT_ID", "x")],
        &["auth", "status"],
    )
    .await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("domain"), "{}", run.stderr);
    let run = democli(
        home.path(),
        &[
            ("DEMO_PROVIDER", "google"),
            ("DEMO_CLIENT_ID", "x.apps.googleusercontent.com"),
        ],
        &["auth", "status"],
    )
    .await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("client secret"), "{}", run.stderr);
}

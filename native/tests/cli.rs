//! The `auth` command group end to end: the `acme` example (built on the public API
//! with the `clap` feature) run as a real process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use cliauth::cliauth_core::credentials::{Credential, LoginMethod};
use cliauth::store::{CredentialStore, FileStore};
use common::{OidcServer, TestBrowser, TinyServer, closed_port, json};

const KEY: &str = "acme_live0123456789abcdefghijkl";
const KEY2: &str = "acme_work0123456789abcdefghijkl";

/// `acme` with a clean environment: HOME in a temp dir, no BROWSER, no SSH, no
/// display, plus `vars`.
fn acme(home: &Path, vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(common::example("acme"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .stdin(Stdio::null());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

fn run(home: &Path, vars: &[(&str, &str)], args: &[&str]) -> Output {
    acme(home, vars).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stdout_json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("not JSON: {}", stdout(o)))
}

/// The credentials directory of `acme` under `home`: `~/.config/acme` (XDG, with no
/// `XDG_CONFIG_HOME` in the test's environment).
fn store(home: &Path) -> FileStore {
    FileStore::new(home.join(".config").join("acme"))
}

#[tokio::test]
async fn status_without_credentials() {
    let home = tempfile::tempdir().unwrap();
    let o = run(home.path(), &[], &["auth", "status"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        "✗ Not authenticated\n  Run `acme auth login` to sign in, or set ACME_API_KEY. (See `acme auth login --help`.)"
    );
    assert_eq!(stdout(&o), "", "stdout stays clean");
    let o = run(home.path(), &[], &["--json", "auth", "status"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout_json(&o)["authenticated"], false);
    let o = run(home.path(), &[], &["auth", "token", "--json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout_json(&o)["error"]["code"], "not_authenticated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_login_verify_status_whoami_logout() {
    let api = TinyServer::start(|seen| {
        if seen.header("authorization") == Some(&format!("Bearer {KEY}")) {
            json(
                200,
                serde_json::json!({"id": 42, "email": "dev@acme.example"}),
            )
        } else {
            json(401, serde_json::json!({"detail": "bad key"}))
        }
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let env = [
        ("ACME_API_BASE", api.url.as_str()),
        ("ACME_VERIFY", "/whoami"),
    ];

    // A pasted mistake is explained before any network call.
    let o = run(
        home.path(),
        &env,
        &["auth", "login", "--api-key", &format!("Bearer {KEY}")],
    );
    assert_eq!(o.status.code(), Some(1));
    // The process-list warning of --api-key, then the diagnosis.
    let err = stderr(&o);
    let mut lines = err.lines();
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("! --api-key is visible to other users")),
        "{err}"
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l
                .starts_with("✗ That doesn't look like an Acme API key: it starts with `Bearer `")),
        "{err}"
    );
    assert!(!stderr(&o).contains(KEY));
    assert_eq!(api.count("/"), 0);

    // A key the server refuses is not stored.
    let o = run(
        home.path(),
        &env,
        &["--json", "auth", "login", "--api-key", KEY2],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout_json(&o)["error"]["code"], "unauthorized");
    assert!(store(home.path()).read().unwrap().is_none());

    let o = run(home.path(), &env, &["auth", "login", "--api-key", KEY]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (warning, rest) = stderr(&o)
        .split_once('\n')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap();
    assert!(warning.starts_with("! --api-key is visible"), "{warning}");
    assert!(
        rest.starts_with("✓ Logged in to Acme as dev@acme.example\n"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("Key:      acme_…"), "{}", stderr(&o));
    assert!(!stderr(&o).contains(KEY));

    let o = run(home.path(), &env, &["--json", "auth", "status"]);
    assert_eq!(o.status.code(), Some(0));
    let status = stdout_json(&o);
    assert_eq!(status["authenticated"], true);
    assert_eq!(status["source"], "profile:default");
    assert_eq!(status["method"], "api_key");
    assert_eq!(status["subject"], "dev@acme.example");
    assert!(status["masked_key"].as_str().unwrap().starts_with("acme_…"));
    assert!(!stdout(&o).contains(KEY));

    let o = run(home.path(), &env, &["whoami"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout_json(&o)["email"], "dev@acme.example");

    // The environment variable wins over the profile.
    let mut with_env = env.to_vec();
    with_env.push(("ACME_API_KEY", KEY2));
    let o = run(home.path(), &with_env, &["--json", "auth", "status"]);
    assert_eq!(stdout_json(&o)["source"], "env:ACME_API_KEY");

    let o = run(home.path(), &with_env, &["auth", "logout"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stderr(&o);
    assert!(
        text.starts_with("✓ Logged out of Acme (profile default)"),
        "{text}"
    );
    assert!(text.contains("ACME_API_KEY is still set"), "{text}");
    let o = run(home.path(), &env, &["auth", "status"]);
    assert_eq!(o.status.code(), Some(2));
}

#[tokio::test]
async fn a_network_error_keeps_the_key_unverified() {
    let home = tempfile::tempdir().unwrap();
    let base = format!("http://127.0.0.1:{}", closed_port());
    let o = run(
        home.path(),
        &[("ACME_API_BASE", &base), ("ACME_VERIFY", "/whoami")],
        &["auth", "login", "--api-key", KEY],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("! The key was saved but could not be checked (Network error"),
        "{}",
        stderr(&o)
    );
    let doc = store(home.path()).read().unwrap().unwrap();
    let p = doc.profile("default").unwrap();
    assert!(p.verified_at.is_none());
}

#[tokio::test]
async fn with_token_reads_stdin_and_profiles_switch() {
    let home = tempfile::tempdir().unwrap();
    let mut child = acme(home.path(), &[])
        .args(["auth", "login", "--with-token"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{KEY}\n").as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // No verification endpoint: the success line still says whose key it is — that
    // nobody said (issue 10: every login names its account).
    assert!(
        stderr(&o).contains(
            "✓ Logged in to Acme (account unknown: the server did not say whose credential this is)"
        ),
        "{}",
        stderr(&o)
    );

    let o = run(
        home.path(),
        &[],
        &["--profile", "work", "auth", "login", "--api-key", KEY2],
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("not active; use `acme auth switch work`"),
        "{}",
        stderr(&o)
    );
    let o = run(home.path(), &[], &["auth", "token"]);
    assert_eq!(stdout(&o).trim(), KEY);
    let o = run(home.path(), &[], &["--profile", "work", "auth", "token"]);
    assert_eq!(stdout(&o).trim(), KEY2);
    let o = run(home.path(), &[], &["--json", "auth", "status"]);
    assert_eq!(
        stdout_json(&o)["other_profiles"],
        serde_json::json!(["work"])
    );

    let o = run(home.path(), &[], &["auth", "switch", "work"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stderr(&o).trim(), "✓ Switched to profile work");
    let o = run(home.path(), &[], &["auth", "token"]);
    assert_eq!(stdout(&o).trim(), KEY2);
    let o = run(home.path(), &[], &["auth", "switch", "nope"]);
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).starts_with("✗ No profile named `nope`"));
    let o = run(home.path(), &[], &["--profile", "../x", "auth", "status"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn api_key_on_the_command_line_warns_once_on_stderr_and_the_private_ways_do_not() {
    let home = tempfile::tempdir().unwrap();
    let warning = |o: &std::process::Output| {
        stderr(o)
            .lines()
            .filter(|l| l.contains("--api-key is visible to other users"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let o = run(home.path(), &[], &["auth", "login", "--api-key", KEY]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = warning(&o);
    assert_eq!(lines.len(), 1, "{}", stderr(&o));
    assert!(
        lines[0].starts_with("! --api-key is visible to other users in the process list")
            && lines[0].contains("`acme auth login --with-token`")
            && lines[0].contains("ACME_API_KEY")
            && !lines[0].contains(KEY),
        "{}",
        lines[0]
    );
    // With --json the warning still goes to stderr; stdout stays one JSON document.
    let o = run(
        home.path(),
        &[],
        &["--json", "auth", "login", "--api-key", KEY],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(warning(&o).len(), 1, "{}", stderr(&o));
    assert_eq!(stdout_json(&o)["ok"], true);
    // The private ways say nothing about it.
    let mut child = acme(home.path(), &[])
        .args(["auth", "login", "--with-token"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{KEY}\n").as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(warning(&o).is_empty(), "{}", stderr(&o));
    let o = run(home.path(), &[("ACME_API_KEY", KEY)], &["auth", "status"]);
    assert!(warning(&o).is_empty(), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_logs_requests_without_secrets_and_no_color() {
    let api = TinyServer::start(|_| json(200, serde_json::json!({"login": "octo"}))).await;
    let home = tempfile::tempdir().unwrap();
    let env = [
        ("ACME_API_BASE", api.url.as_str()),
        ("ACME_VERIFY", "/whoami?key=hush"),
    ];
    let o = run(
        home.path(),
        &env,
        &["-v", "auth", "login", "--api-key", KEY],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(
        text.contains(&format!("GET {}/whoami?key=%5Bredacted%5D → 200", api.url)),
        "{text}"
    );
    assert!(!text.contains(KEY) && !text.contains("hush"), "{text}");
    assert!(
        !text.contains('\x1b'),
        "no colour when stderr is not a terminal"
    );
    let o = run(
        home.path(),
        &[("NO_COLOR", "1")],
        &["--no-color", "auth", "status"],
    );
    assert!(!stderr(&o).contains('\x1b'));
}

/// Writes an executable `BROWSER` script.
fn browser_script(dir: &Path, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("browser.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn oidc_env(server: &OidcServer) -> Vec<(&'static str, String)> {
    vec![
        ("ACME_ISSUER", server.issuer.clone()),
        ("ACME_CLIENT_ID", server.client_id.clone()),
        ("ACME_SCOPES", "openid email".into()),
    ]
}

#[tokio::test]
async fn login_opens_the_browser_named_in_browser_env() {
    let Some(server) = OidcServer::start() else {
        return;
    };
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("SKIPPED: curl is needed for the BROWSER script");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let log = home.path().join("opened.txt");
    // The "browser": records the URL and follows it with a cookie jar, like a user
    // clicking through the (auto-approving) consent.
    let script = browser_script(
        home.path(),
        &format!(
            "echo \"$1\" >> {log}\ncurl -s -L -c {jar} -b {jar} -o /dev/null \"$1\" &",
            log = log.display(),
            jar = home.path().join("jar").display()
        ),
    );
    let env = oidc_env(&server);
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("BROWSER", script.to_str().unwrap()));
    // No flag: a BROWSER override means a browser can be opened.
    let o = run(home.path(), &vars, &["auth", "login"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(
        text.contains("Opening your browser to sign in to Acme"),
        "{text}"
    );
    assert!(text.contains("✓ Logged in to Acme as user-42"), "{text}");
    let opened = std::fs::read_to_string(&log).unwrap();
    // The browser's command line names the one-time launch link, never the
    // authorization URL with its state and challenge.
    assert!(opened.starts_with("http://127.0.0.1:"), "{opened}");
    assert!(
        opened.contains("/start/") && !opened.contains("state="),
        "{opened}"
    );
    assert!(text.contains(opened.trim()), "the URL is printed too");
    let doc = store(home.path()).read().unwrap().unwrap();
    assert_eq!(doc.profile("default").unwrap().method, LoginMethod::Browser);
}

#[tokio::test]
async fn over_ssh_login_falls_back_to_the_device_code_and_says_why() {
    let Some(server) = OidcServer::start() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let env = oidc_env(&server);
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("SSH_CONNECTION", "10.0.0.2 50000 10.0.0.1 22"));
    let mut child: Child = acme(home.path(), &vars)
        .args(["auth", "login"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let complete = loop {
        let line = lines.next().expect("no device code printed").unwrap();
        seen.push(line.clone());
        if let Some(url) = line
            .trim()
            .strip_prefix(&format!("{}/device?user_code=", server.issuer))
        {
            break format!("{}/device?user_code={url}", server.issuer);
        }
    };
    assert!(
        seen[0].starts_with("Using the device code because this is an SSH session"),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|l| l.contains(&format!("open {}/device on any device", server.issuer)))
    );
    let (status, page) = TestBrowser::default().visit(&complete).await;
    assert_eq!(status, 200, "{page}");
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let o = child.wait().unwrap();
    assert_eq!(o.code(), Some(0), "{rest:?}");
    assert!(
        rest.iter()
            .any(|l| l.contains("✓ Logged in to Acme as user-42")),
        "{rest:?}"
    );
    let doc = store(home.path()).read().unwrap().unwrap();
    assert_eq!(doc.profile("default").unwrap().method, LoginMethod::Device);
}

/// The loopback port from the printed launch link (`http://127.0.0.1:P/start/…`).
fn printed_port(line: &str) -> Option<u16> {
    let rest = line.trim().strip_prefix("http://127.0.0.1:")?;
    let (port, path) = rest.split_once('/')?;
    path.starts_with("start/").then(|| port.parse().ok())?
}

fn spawn_browser_login(
    home: &Path,
    extra: &[(&str, &str)],
) -> (
    Child,
    u16,
    std::io::Lines<BufReader<std::process::ChildStderr>>,
) {
    let script = browser_script(home, "exit 0");
    let token = format!("http://127.0.0.1:{}/token", closed_port());
    let mut vars = vec![
        ("ACME_AUTHORIZE_ENDPOINT", "http://127.0.0.1:9/authorize"),
        ("ACME_TOKEN_ENDPOINT", token.as_str()),
        ("BROWSER", script.to_str().unwrap()),
    ];
    vars.extend_from_slice(extra);
    let mut child = acme(home, &vars)
        .args(["auth", "login", "--browser"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let port = loop {
        let line = lines.next().expect("no URL printed").unwrap();
        if let Some(port) = printed_port(&line) {
            break port;
        }
    };
    (child, port, lines)
}

#[test]
fn ctrl_c_cancels_the_login_and_releases_the_port() {
    let home = tempfile::tempdir().unwrap();
    let (mut child, port, lines) = spawn_browser_login(home.path(), &[]);
    assert!(
        TcpListener::bind(("127.0.0.1", port)).is_err(),
        "the loopback server listens"
    );
    std::thread::sleep(Duration::from_millis(200));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert_eq!(status.code(), Some(130), "{rest:?}");
    assert!(rest.iter().any(|l| l == "✗ Cancelled"), "{rest:?}");
    assert!(
        TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "the port is free again"
    );
}

#[test]
fn a_login_that_times_out_says_so_and_releases_the_port() {
    let home = tempfile::tempdir().unwrap();
    let (mut child, port, lines) =
        spawn_browser_login(home.path(), &[("ACME_LOGIN_TIMEOUT_SECS", "1")]);
    let status = child.wait().unwrap();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert_eq!(status.code(), Some(2), "{rest:?}");
    assert!(
        rest.iter().any(|l| l == "✗ OAuth flow timed out"),
        "{rest:?}"
    );
    assert!(
        rest.iter()
            .any(|l| l.contains("No callback received within 1s")),
        "{rest:?}"
    );
    assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
}

#[test]
fn handoff_accepts_a_pasted_key_while_waiting_for_the_page() {
    let home = tempfile::tempdir().unwrap();
    let script = browser_script(home.path(), "exit 0");
    let page = format!("http://127.0.0.1:{}/cli-auth", closed_port());
    // A token endpoint for the page's one-time code (nobody answers: the key is
    // pasted first).
    let token = format!("http://127.0.0.1:{}/token", closed_port());
    let mut child = acme(
        home.path(),
        &[
            ("ACME_CLI_AUTH_PAGE", &page),
            ("ACME_TOKEN_ENDPOINT", &token),
            ("BROWSER", script.to_str().unwrap()),
        ],
    )
    .args(["auth", "login"])
    .stdin(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut port = None;
    loop {
        let line = lines.next().expect("no paste prompt").unwrap();
        if let Some(p) = printed_port(&line) {
            port = Some(p);
            assert!(!line.contains("code_challenge"), "{line}");
        }
        if line.starts_with("Or paste your Acme key here") {
            break;
        }
    }
    let port = port.expect("the page URL names the loopback port");
    // A wrong paste is explained; the wait goes on.
    stdin
        .write_all(b"ghp_0123456789abcdefghijklmnopqrstuvwxyz\n")
        .unwrap();
    let line = lines.next().unwrap().unwrap();
    assert!(line.contains("GitHub personal access token"), "{line}");
    stdin.write_all(format!("{KEY}\n").as_bytes()).unwrap();
    let status = child.wait().unwrap();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert_eq!(status.code(), Some(0), "{rest:?}");
    let doc = store(home.path()).read().unwrap().unwrap();
    let profile = doc.profile("default").unwrap();
    assert_eq!(profile.method, LoginMethod::Paste);
    assert!(matches!(&profile.credential, Credential::ApiKey(k) if k.expose_secret() == KEY));
    assert!(
        TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "the loopback port was released"
    );
}

/// A device server whose code is never approved: `expired_token` after a few polls.
async fn unapproved_device_server() -> TinyServer {
    TinyServer::start(|seen| match seen.path.as_str() {
        "/device" => json(
            200,
            serde_json::json!({
                "device_code": "d", "user_code": "ABCD-EFGH",
                "verification_uri": "http://127.0.0.1/verify", "expires_in": 30, "interval": 1
            }),
        ),
        _ if seen.body.contains("device_code") && seen.body.contains("client_id") => {
            static POLLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            if POLLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % 3 == 2 {
                json(400, serde_json::json!({"error": "expired_token"}))
            } else {
                json(400, serde_json::json!({"error": "authorization_pending"}))
            }
        }
        _ => json(404, serde_json::json!({})),
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinner_shows_only_on_a_terminal() {
    let server = unapproved_device_server().await;
    let home = tempfile::tempdir().unwrap();
    let device = format!("{}/device", server.url);
    let token = format!("{}/token", server.url);
    let vars = [
        ("ACME_DEVICE_ENDPOINT", device.as_str()),
        ("ACME_TOKEN_ENDPOINT", token.as_str()),
    ];
    // Not a terminal: no spinner, just the lines.
    let o = run(home.path(), &vars, &["auth", "login", "--device"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(text.contains("    ABCD-EFGH"), "{text}");
    assert!(text.contains("✗ Device code expired"), "{text}");
    assert!(!text.contains("Waiting for approval"), "{text}");
    // On a terminal (a pty from script(1)): the spinner appears while polling.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED the terminal half: script(1) is not installed");
        return;
    }
    let acme = common::example("acme");
    let o = Command::new("script")
        .args([
            "-qec",
            &format!("{} auth login --device", acme.display()),
            "/dev/null",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TERM", "xterm")
        .envs(vars)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = stdout(&o);
    assert!(text.contains("Waiting for approval"), "{text}");
    assert!(text.contains("Device code expired"), "{text}");
}

/// Every `--json` output validates against the published JSON Schema
/// (`native/schema/auth-output.v1.schema.json`, [`cliauth::cli::JSON_SCHEMA`]), whose
/// objects list every field (`additionalProperties: false`): a field added, renamed or
/// retyped without the schema fails here.
fn assert_schema(value: &serde_json::Value) {
    static SCHEMA: std::sync::OnceLock<(boon::Schemas, boon::SchemaIndex)> =
        std::sync::OnceLock::new();
    let (schemas, index) = SCHEMA.get_or_init(|| {
        let schema: serde_json::Value = serde_json::from_str(cliauth::cli::JSON_SCHEMA).unwrap();
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler
            .add_resource("auth-output.v1.schema.json", schema)
            .unwrap();
        let index = compiler
            .compile("auth-output.v1.schema.json", &mut schemas)
            .unwrap();
        (schemas, index)
    });
    if let Err(e) = schemas.validate(value, *index) {
        panic!("{value} does not follow the schema:\n{e:#}");
    }
    assert_eq!(value["schema_version"], 1, "{value}");
}

fn json_out(o: &Output) -> serde_json::Value {
    let v = stdout_json(o);
    assert_schema(&v);
    v
}

/// The dev server with device codes approved at once, and `acme` pointed at it.
async fn dev_env() -> (cliauth_devserver::DevServer, Vec<(&'static str, String)>) {
    let server = cliauth_devserver::DevServer::start({
        let mut o = cliauth_devserver::DevServerConfig::default();
        o.auto_approve_device = Some(Duration::ZERO);
        o.device_interval = Duration::from_secs(1);
        o
    })
    .await
    .unwrap();
    let e = server.endpoints();
    let env = vec![
        ("ACME_ISSUER", server.issuer().to_string()),
        ("ACME_TOKEN_ENDPOINT", e.token.clone()),
        ("ACME_DEVICE_ENDPOINT", e.device_authorization.clone()),
        ("ACME_REVOKE_ENDPOINT", e.revocation.clone()),
        ("ACME_CLIENT_ID", server.client_id().to_string()),
        (
            "ACME_SCOPES",
            "openid profile memories:read memories:write offline_access".to_string(),
        ),
    ];
    (server, env)
}

fn vars<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// `login --scopes`, `refresh [--scopes]` (a narrower scope, RFC 6749 §6), `status
/// --all`, and every JSON shape on the way, against the real dev server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_refresh_status_all_and_the_json_schema() {
    let (_server, env) = dev_env().await;
    let env = vars(&env);
    let home = tempfile::tempdir().unwrap();

    // A login asks for the scopes given on the command line, not the app's.
    let o = run(
        home.path(),
        &env,
        &[
            "--json",
            "auth",
            "login",
            "--device",
            "--scopes",
            "openid,memories:read",
            "-s",
            "offline_access",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let login = json_out(&o);
    assert_eq!(
        login["login"]["scopes"],
        serde_json::json!(["openid", "memories:read", "offline_access"])
    );
    assert_eq!(
        login["login"]["storage"],
        store(home.path()).path().display().to_string()
    );
    let o = run(
        home.path(),
        &env,
        &[
            "auth",
            "login",
            "--device",
            "--scopes",
            "openid offline_access memories:write",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("  Scopes:   openid offline_access memories:write"),
        "{}",
        stderr(&o)
    );

    // A refresh; then one that narrows the scope; the stored tokens say so.
    let o = run(home.path(), &env, &["--json", "auth", "refresh"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let refreshed = json_out(&o);
    assert_eq!(refreshed["refresh"]["rotated"], true);
    let o = run(
        home.path(),
        &env,
        &["auth", "refresh", "--scopes", "openid,offline_access"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("✓ Refreshed the access token of profile default"),
        "{}",
        stderr(&o)
    );
    let o = run(home.path(), &env, &["--json", "auth", "status"]);
    let status = json_out(&o);
    assert_eq!(
        status["scopes"],
        serde_json::json!(["openid", "offline_access"])
    );
    // Back up to what the grant holds is allowed (the grant, not the last token, is
    // the limit); a scope never granted is refused, and nothing changes.
    let wide = [
        "--json",
        "auth",
        "refresh",
        "--scopes",
        "openid offline_access memories:write",
    ];
    let o = run(home.path(), &env, &wide);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(
        json_out(&o)["refresh"]["scopes"],
        serde_json::json!(["openid", "offline_access", "memories:write"])
    );
    let narrow = ["auth", "refresh", "--scopes", "openid,offline_access"];
    assert_eq!(run(home.path(), &env, &narrow).status.code(), Some(0));
    let o = run(
        home.path(),
        &env,
        &["--json", "auth", "refresh", "--scopes", "memories:read"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let refused = json_out(&o);
    assert_eq!(
        refused["error"]["code"], "authorization_failed",
        "{refused}"
    );
    assert_eq!(
        json_out(&run(home.path(), &env, &["--json", "auth", "status"]))["scopes"],
        serde_json::json!(["openid", "offline_access"])
    );

    // A second profile (an API key), then every profile at once.
    let o = run(
        home.path(),
        &env,
        &["--profile", "ci", "auth", "login", "--api-key", KEY],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(home.path(), &env, &["auth", "status", "--all"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stderr(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("  ci  ✓ logged in"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("* default  ✓ logged in")),
        "{text}"
    );
    assert!(text.contains("acme_…ijkl"), "{text}");
    assert!(text.ends_with("(* active profile)\n"), "{text}");
    assert!(!text.contains(KEY));
    let o = run(home.path(), &env, &["--json", "auth", "status", "--all"]);
    let all = json_out(&o);
    let profiles = all["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 2);
    assert_eq!(
        (
            profiles[0]["name"].as_str(),
            profiles[0]["active"].as_bool()
        ),
        (Some("ci"), Some(false))
    );
    assert_eq!(
        (
            profiles[1]["name"].as_str(),
            profiles[1]["active"].as_bool()
        ),
        (Some("default"), Some(true))
    );
    assert_eq!(profiles[1]["status"]["credential_type"], "oauth");
    assert_eq!(all["overridden_by"], serde_json::Value::Null);
    // An API key in the environment overrides every profile: status --all says so.
    let mut with_key = env.clone();
    with_key.push(("ACME_API_KEY", KEY2));
    let o = run(home.path(), &with_key, &["auth", "status", "--all"]);
    assert!(
        stderr(&o)
            .contains("! env:ACME_API_KEY is set and takes precedence over every stored profile."),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        json_out(&run(
            home.path(),
            &with_key,
            &["--json", "auth", "status", "--all"]
        ))["overridden_by"],
        "env:ACME_API_KEY"
    );

    // The remaining shapes: token, switch, logout, and an error.
    let token = json_out(&run(home.path(), &env, &["--json", "auth", "token"]));
    assert!(
        token["access_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let switched = json_out(&run(home.path(), &env, &["--json", "auth", "switch", "ci"]));
    assert_eq!(switched["active_profile"], "ci");
    let logout = json_out(&run(
        home.path(),
        &env,
        &["--json", "--profile", "default", "auth", "logout"],
    ));
    assert_eq!(logout["logout"]["revocation"]["status"], "revoked");
    let o = run(home.path(), &env, &["--json", "auth", "refresh"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_out(&o)["error"]["code"], "invalid_argument");
    // The JSON is one object on stdout and nothing on stderr.
    assert_eq!(stderr(&o), "");
}

/// `auth switch` with no name: on a terminal (a pty from script(1)) it lists the
/// profiles and asks; elsewhere it is a usage error that names them.
#[tokio::test]
async fn switch_without_a_name_asks_on_a_terminal_only() {
    let home = tempfile::tempdir().unwrap();
    for (profile, key) in [("default", KEY), ("work", KEY2)] {
        let o = run(
            home.path(),
            &[],
            &["--profile", profile, "auth", "login", "--api-key", key],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let o = run(home.path(), &[], &["auth", "switch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("✗ Invalid profile: name the profile to switch to (`acme auth switch <NAME>`); stored: default, work"),
        "{}",
        stderr(&o)
    );
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED the terminal half: script(1) is not installed");
        return;
    }
    let on_tty = |answer: &str| {
        let mut child = Command::new("script")
            .args([
                "-qec",
                &format!("{} auth switch", common::example("acme").display()),
                "/dev/null",
            ])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("TERM", "xterm")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        let o = child.wait_with_output().unwrap();
        (o.status.code(), stdout(&o))
    };
    let (code, text) = on_tty("2\n");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Switch to which profile?"), "{text}");
    assert!(text.contains("  1) default  [active]"), "{text}");
    assert!(text.contains("  2) work"), "{text}");
    assert!(text.contains("✓ Switched to profile work"), "{text}");
    assert_eq!(
        stdout(&run(home.path(), &[], &["auth", "token"])).trim(),
        KEY2
    );
    // By name works too; an answer that is neither is refused and nothing changes.
    let (code, text) = on_tty("default\n");
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = on_tty("7\n");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("`7` is not one of 1-2 or a stored profile"),
        "{text}"
    );
    assert_eq!(
        stdout(&run(home.path(), &[], &["auth", "token"])).trim(),
        KEY
    );
}

/// `--color`: `always` paints even off a terminal, `never` and `NO_COLOR` do not.
#[tokio::test]
async fn color_flag_decides_over_the_terminal_check() {
    let home = tempfile::tempdir().unwrap();
    let o = run(home.path(), &[], &["--color", "always", "auth", "status"]);
    assert!(
        stderr(&o).starts_with("\x1b[31m✗ Not authenticated\x1b[0m"),
        "{:?}",
        stderr(&o)
    );
    let o = run(home.path(), &[], &["--color", "never", "auth", "status"]);
    assert!(!stderr(&o).contains('\x1b'));
    let o = run(home.path(), &[("NO_COLOR", "1")], &["auth", "status"]);
    assert!(!stderr(&o).contains('\x1b'));
    let o = run(home.path(), &[], &["--color", "rainbow", "auth", "status"]);
    assert_eq!(o.status.code(), Some(2), "clap's usage error");
}

/// An existing `~/.acme` keeps being used (read and written there); without it the
/// platform directory is, and `XDG_CONFIG_HOME` moves it.
#[tokio::test]
async fn credentials_live_in_the_xdg_directory_and_a_legacy_one_is_kept() {
    let home = tempfile::tempdir().unwrap();
    let o = run(home.path(), &[], &["auth", "login", "--api-key", KEY]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(home.path().join(".config/acme/credentials.json").exists());
    assert!(!home.path().join(".acme").exists());

    let xdg = home.path().join("xdg");
    let o = run(
        home.path(),
        &[("XDG_CONFIG_HOME", xdg.to_str().unwrap())],
        &["auth", "login", "--api-key", KEY2],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(xdg.join("acme/credentials.json").exists());

    // A legacy directory from an older version, and no platform one.
    let legacy_home = tempfile::tempdir().unwrap();
    let legacy = FileStore::new(legacy_home.path().join(".acme"));
    let lock = legacy.lock().unwrap();
    let mut doc = cliauth::cliauth_core::credentials::CredentialsDocument::new();
    doc.set_profile(
        "default",
        cliauth::cliauth_core::credentials::Profile::new(
            Credential::ApiKey(cliauth::ApiKey::new(KEY)),
            LoginMethod::ApiKey,
            cliauth::now(),
        ),
    )
    .unwrap();
    legacy.write(&lock, &doc).unwrap();
    drop(lock);
    let o = run(legacy_home.path(), &[], &["auth", "token"]);
    assert_eq!(stdout(&o).trim(), KEY, "{}", stderr(&o));
    let o = run(
        legacy_home.path(),
        &[],
        &["--profile", "work", "auth", "login", "--api-key", KEY2],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("Stored:   {}", legacy.path().display())),
        "{}",
        stderr(&o)
    );
    assert!(
        !legacy_home.path().join(".config/acme").exists(),
        "nothing was moved"
    );
    assert!(legacy.read().unwrap().unwrap().profile("work").is_some());
}

/// `completion bash` is a script bash loads, and its completion function completes
/// the `auth` group's commands and flags.
#[test]
fn bash_completion_loads_and_completes_the_auth_group() {
    let home = tempfile::tempdir().unwrap();
    let acme = common::example("acme");
    let o = run(home.path(), &[], &["completion", "bash"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let script = home.path().join("acme.bash");
    std::fs::write(&script, &o.stdout).unwrap();
    let complete = |words: &str| {
        let program = format!(
            "set -e; source '{}'; complete -p acme; COMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); \
             COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; _acme acme \"${{COMP_WORDS[-1]}}\" \"${{COMP_WORDS[-2]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let path = format!(
            "{}:{}",
            acme.parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let o = Command::new("/bin/bash")
            .args(["--norc", "--noprofile", "-c", &program])
            .env("PATH", path)
            .output()
            .unwrap();
        assert!(o.status.success(), "bash failed: {}", stderr(&o));
        stdout(&o)
    };
    let registered = complete("acme ''");
    assert!(
        registered.starts_with("complete ") && registered.contains(" -F _acme acme"),
        "{registered}"
    );
    let top: Vec<String> = complete("acme ''")
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    assert!(
        top.contains(&"auth".to_string()) && top.contains(&"completion".to_string()),
        "{top:?}"
    );
    let auth: Vec<String> = complete("acme auth ''")
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    for sub in ["login", "status", "logout", "token", "refresh", "switch"] {
        assert!(
            auth.contains(&sub.to_string()),
            "{sub} missing from {auth:?}"
        );
    }
    let login = complete("acme auth login --");
    for flag in [
        "--device",
        "--browser",
        "--api-key",
        "--with-token",
        "--scopes",
        "--insecure-storage",
        "--json",
        "--color",
        "--profile",
    ] {
        assert!(
            login.lines().any(|l| l == flag),
            "{flag} missing from {login}"
        );
    }
    let colors = complete("acme --color ''");
    for value in ["auto", "always", "never"] {
        assert!(
            colors.lines().any(|l| l == value),
            "{value} missing from {colors}"
        );
    }
}

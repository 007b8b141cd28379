//! Another local user tries to take over a login (issue 10, item 5), as a real second
//! uid on this machine.
//!
//! The victim runs `acme auth login` against the dev server; `BROWSER` is a script
//! whose command line — like a real browser's — holds the URL it was started with,
//! and which waits a second before "opening" it (a browser starting up). Meanwhile
//! an intruder process, running as the user `cliauth-intruder` (created when the
//! tests run as root), polls `/proc/*/cmdline` for that browser, reads the URL and
//! races it with what the attack campaign used:
//!
//! - browser login: it signs in to the dev server as `alice` and takes the victim's
//!   `state`, `redirect_uri` and public `code_challenge` to `/authorize` — a code for
//!   alice's account bound to the victim's challenge, which the victim's verifier
//!   would exchange — and delivers it to the victim's loopback port;
//! - cli-auth handoff: it mints a one-time code for alice bound to the victim's
//!   challenge, and alice's raw API key, and delivers both.
//!
//! Before issue 10 the command line showed the authorization (or cli-auth) URL, so
//! the intruder won and the victim stored alice's credential. Now it shows only the
//! one-time launch link, the intruder's fetch of that link (and every delivery) is
//! refused as another user's, the victim is told so, and the account stored — and
//! named on the success line — is the victim's own (`demo`).
//!
//! Without root the second user cannot be created: the tests say so and pass
//! without attacking (`SKIPPED:`). Linux only (`/proc`, `useradd`).
#![cfg(target_os = "linux")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    clippy::print_stdout
)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cliauth::cliauth_core::credentials::Credential;
use cliauth::store::{CredentialStore, FileStore};
use cliauth_devserver::{DevServer, DevServerConfig};
use serde_json::{Value, json};

const INTRUDER: &str = "cliauth-intruder";
/// In the browser script's path (with a suffix per test), so the intruder finds
/// its process.
const MARKER: &str = "cliauth-victim-browser";
const ROLE: &str = "CLIAUTH_INTERCEPT_ROLE";

/// The intruder's uid and gid; the account is created (once) when running as root.
fn intruder() -> Option<(u32, u32)> {
    if !rustix::process::geteuid().is_root() {
        eprintln!(
            "SKIPPED: the second-user attack needs root to create the user `{INTRUDER}` \
             (run `cargo test -p cliauth --test intercept` as root)"
        );
        return None;
    }
    let id = |flag: &str| {
        Command::new("id")
            .args([flag, INTRUDER])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse::<u32>().ok())
    };
    if id("-u").is_none() {
        let status = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                INTRUDER,
            ])
            .status()
            .expect("useradd is needed to create the second user");
        // 9: it exists (another test created it meanwhile).
        assert!(
            matches!(status.code(), Some(0 | 9)),
            "useradd failed: {status}"
        );
    }
    let (uid, gid) = (id("-u").unwrap(), id("-g").unwrap());
    assert_ne!(uid, 0);
    Some((uid, gid))
}

/// The roles this test binary plays when started again (the browser, the
/// intruder); an ordinary run of it does nothing.
#[test]
#[ignore = "a helper role, started by the tests below"]
fn intercept_role() {
    match std::env::var(ROLE).as_deref() {
        Ok("browser") => victim_browser(),
        Ok("intruder") => intrude(),
        _ => {}
    }
}

/// A copy of this test binary that the intruder can run: the build directory may
/// sit below a directory only the victim can enter (a fresh `mktemp -d` clone is
/// 0700), and then another uid cannot execute the original. The copy lives in a
/// 0755 directory under `/tmp`, removed when the guard drops.
fn reachable_copy_of_this_binary() -> (tempfile::TempDir, std::path::PathBuf) {
    use std::fs::Permissions;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("cliauth-intercept")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("intercept");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    std::fs::set_permissions(&exe, Permissions::from_mode(0o755)).unwrap();
    (dir, exe)
}

/// Starts the test binary `exe` (this one, or a copy of it) in `role`.
fn role(exe: &Path, role: &str) -> Command {
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "intercept_role",
        "--ignored",
        "--nocapture",
        "--quiet",
    ])
    .env(ROLE, role)
    .current_dir("/");
    cmd
}

// ── a blocking HTTP client for the roles ──────────────────────────────────

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Option<Answer> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut s = std::net::TcpStream::connect(authority).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let mut req = format!(
        "{method} /{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).ok()?;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some(Answer {
        status,
        headers,
        body,
    })
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Signs in to the dev server as `user`: the session cookie.
fn sign_in(dev: &str, user: &str) -> String {
    let body = json!({ "username": user }).to_string();
    let a = http(
        "POST",
        &format!("{dev}/login"),
        &[("Content-Type", "application/json")],
        &body,
    )
    .expect("the dev server answers /login");
    let cookie = a.header("set-cookie").expect("a session cookie");
    cookie.split(';').next().unwrap().to_string()
}

/// Mints what the cli-auth page would, for the signed-in user.
fn mint(dev: &str, cookie: &str, body: Value) -> Value {
    let a = http(
        "POST",
        &format!("{dev}/cli-auth/mint"),
        &[("Content-Type", "application/json"), ("Cookie", cookie)],
        &body.to_string(),
    )
    .unwrap();
    serde_json::from_str(&a.body).unwrap_or(Value::Null)
}

fn param(url: &str, name: &str) -> Option<String> {
    common::query_param(url, name)
}

/// The loopback port a URL names: `port=`, or the port of `redirect_uri`.
fn loopback_port(url: &str) -> Option<u16> {
    if let Some(p) = param(url, "port") {
        return p.parse().ok();
    }
    let redirect = param(url, "redirect_uri")?;
    redirect
        .strip_prefix("http://127.0.0.1:")?
        .split('/')
        .next()?
        .parse()
        .ok()
}

// ── the victim's browser ──────────────────────────────────────────────────

/// Opens the URL the login started the browser with (following redirects, as
/// Chromium does), and on the dev cli-auth page does what its script does for the
/// signed-in user `demo`.
fn victim_browser() {
    let dev = std::env::var("CLIAUTH_INTERCEPT_DEV").unwrap();
    let mut url = std::env::var("CLIAUTH_INTERCEPT_URL").unwrap();
    for _ in 0..10 {
        if url.starts_with(&format!("{dev}/cli-auth?")) {
            let cookie = sign_in(&dev, "demo");
            let port = loopback_port(&url).unwrap();
            let minted = mint(
                &dev,
                &cookie,
                json!({ "port": port, "code_challenge": param(&url, "code_challenge"), "code_challenge_method": "S256" }),
            );
            let code = minted["code"].as_str().unwrap().to_string();
            url = format!(
                "http://127.0.0.1:{port}/callback?code={code}&state={}",
                param(&url, "state").unwrap()
            );
        }
        let Some(a) = http("GET", &url, &[], "") else {
            println!("browser: {url} did not answer");
            return;
        };
        println!(
            "browser: {} {}",
            a.status,
            url.split('?').next().unwrap_or("")
        );
        match a.header("location") {
            Some(next) if (300..400).contains(&a.status) => url = next.to_string(),
            _ => return,
        }
    }
}

// ── the intruder ──────────────────────────────────────────────────────────

/// Finds the victim's browser in the process list, reads its URL, and races it.
/// Prints one JSON report.
fn intrude() {
    let dev = std::env::var("CLIAUTH_INTERCEPT_DEV").unwrap();
    let started = Instant::now();
    let mut report = json!({ "uid": rustix::process::getuid().as_raw() });
    let seen = loop {
        if let Some(url) = browser_command_line() {
            break Some(url);
        }
        if started.elapsed() > Duration::from_secs(60) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let Some(seen) = seen else {
        report["saw"] = Value::Null;
        println!("{report}");
        return;
    };
    report["saw"] = json!(seen);
    // The launch link: fetch it first, for what it redirects to.
    let target = if seen.contains("/start/") {
        let a = http("GET", &seen, &[], "");
        report["link_status"] = json!(a.as_ref().map(|a| a.status));
        a.and_then(|a| a.header("location").map(str::to_string))
    } else {
        Some(seen.clone())
    };
    let mut deliveries = Vec::new();
    if let Some(target) = target {
        let (Some(port), Some(state)) = (loopback_port(&target), param(&target, "state")) else {
            report["target"] = json!(target);
            println!("{report}");
            return;
        };
        let cookie = sign_in(&dev, "alice");
        let mut callbacks = Vec::new();
        if target.starts_with(&format!("{dev}/cli-auth?")) {
            // Alice's raw API key first (no PKCE binding at all), then a one-time
            // code for alice bound to the victim's challenge.
            let key = mint(&dev, &cookie, json!({ "kind": "api_key" }));
            if let Some(key) = key["api_key"].as_str() {
                callbacks.push(format!("/callback?api_key={key}&state={state}"));
            }
            let code = mint(
                &dev,
                &cookie,
                json!({ "port": port, "code_challenge": param(&target, "code_challenge"), "code_challenge_method": "S256" }),
            );
            if let Some(code) = code["code"].as_str() {
                callbacks.push(format!("/callback?code={code}&state={state}"));
            }
        } else {
            // The victim's own authorization request, approved as alice: a code for
            // alice's account bound to the victim's challenge.
            let a = http("GET", &target, &[("Cookie", &cookie)], "").unwrap();
            if let Some(back) = a.header("location") {
                callbacks.push(back.split_once(&format!(":{port}")).unwrap().1.to_string());
            }
        }
        for path in callbacks {
            let a = http("GET", &format!("http://127.0.0.1:{port}{path}"), &[], "");
            deliveries.push(json!(a.map(|a| a.status)));
        }
    }
    report["deliveries"] = json!(deliveries);
    println!("{report}");
}

/// The URL argument of the victim's browser process, if it runs.
fn browser_command_line() -> Option<String> {
    let marker = std::env::var("CLIAUTH_INTERCEPT_MARKER").ok()?;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.iter().any(|a| a.contains(&marker))
            && let Some(url) = args.iter().find(|a| a.starts_with("http://"))
        {
            return Some(url.clone());
        }
    }
    None
}

// ── the tests ─────────────────────────────────────────────────────────────

struct Attack {
    /// The victim's stderr.
    victim: String,
    exit: Option<i32>,
    /// The intruder's report.
    report: Value,
    /// Who the stored credential belongs to, as the dev server says.
    stored_user: Option<String>,
}

async fn attack(uid: u32, gid: u32, handoff: bool) -> Attack {
    let dev = DevServer::start({
        let mut o = DevServerConfig::default();
        o.auto_approve_browser = true;
        o
    })
    .await
    .unwrap();
    let url = dev.url().to_string();
    let home = tempfile::tempdir().unwrap();
    let marker = format!("{MARKER}-{}", if handoff { "handoff" } else { "code" });
    let dir = home.path().join(&marker);
    std::fs::create_dir(&dir).unwrap();
    let script = dir.join("browser.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\n# The URL stays in this process's command line while it runs.\nsleep 1\n\
         CLIAUTH_INTERCEPT_URL=\"$1\" \"$CLIAUTH_INTERCEPT_EXE\" --exact intercept_role \
         --ignored --nocapture --quiet >> \"$CLIAUTH_INTERCEPT_LOG\" 2>&1\nexit 0\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = home.path().join("browser.log");
    // Built (if stale) before the intruder starts its clock.
    let acme = common::example("acme");

    let (_intruder_dir, intruder_exe) = reachable_copy_of_this_binary();
    let mut intruder_cmd = role(&intruder_exe, "intruder");
    intruder_cmd
        .env("CLIAUTH_INTERCEPT_DEV", &url)
        .env("CLIAUTH_INTERCEPT_MARKER", &marker)
        .uid(uid)
        .gid(gid)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // ETXTBSY: the other test's fork may still hold the copy's write descriptor
    // between its fork and exec; that window closes within milliseconds.
    let mut tries = 0;
    let intruder = loop {
        match intruder_cmd.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };

    let mut cmd = Command::new(acme);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("ACME_CONFIG_DIR", home.path().join("acme"))
        .env("ACME_ISSUER", dev.issuer())
        .env("ACME_CLIENT_ID", dev.client_id())
        .env("ACME_API_BASE", format!("{url}/api"))
        .env("ACME_VERIFY", "/whoami")
        .env("ACME_LOGIN_TIMEOUT_SECS", "30")
        .env("BROWSER", &script)
        .env(ROLE, "browser")
        .env("CLIAUTH_INTERCEPT_DEV", &url)
        .env("CLIAUTH_INTERCEPT_EXE", std::env::current_exe().unwrap())
        .env("CLIAUTH_INTERCEPT_LOG", &log)
        .args(["--no-color", "auth", "login", "--browser"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    if handoff {
        cmd.env("ACME_CLI_AUTH_PAGE", dev.endpoints().cli_auth_page.clone());
    }
    let victim = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let report = tokio::task::spawn_blocking(move || {
        let out = intruder.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = BufReader::new(text.as_bytes())
            .lines()
            .map_while(Result::ok)
            .find(|l| l.starts_with('{'))
            .unwrap_or_else(|| panic!("no report from the intruder: {text}"));
        serde_json::from_str::<Value>(&line).unwrap()
    })
    .await
    .unwrap();
    eprintln!(
        "browser: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let stored_user = stored_user(&home.path().join("acme"), &url).await;
    dev.shutdown().await;
    Attack {
        victim: String::from_utf8_lossy(&victim.stderr).into_owned(),
        exit: victim.status.code(),
        report,
        stored_user,
    }
}

/// The dev server's `username` for the stored credential.
async fn stored_user(dir: &Path, dev: &str) -> Option<String> {
    let doc = FileStore::new(dir).read().ok()??;
    let token = match &doc.profile("default")?.credential {
        Credential::OAuth(t) => t.access_token.expose_secret().to_string(),
        Credential::ApiKey(k) => k.expose_secret().to_string(),
    };
    let me: Value = common::tls_client()
        .get(format!("{dev}/api/whoami"))
        .bearer_auth(token)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    me["username"].as_str().map(str::to_string)
}

fn assert_defended(a: &Attack, uid: u32) {
    let r = &a.report;
    eprintln!("intruder: {r}\nvictim:\n{}", a.victim);
    // The intruder did read the browser's command line: the attack ran.
    let saw = r["saw"]
        .as_str()
        .expect("the intruder found the browser process");
    assert_eq!(r["uid"], uid, "the intruder ran as the second user");
    // It names no secret: only the one-time launch link.
    assert!(
        saw.starts_with("http://127.0.0.1:") && saw.contains("/start/"),
        "{saw}"
    );
    for secret in ["state=", "code_challenge", "redirect_uri"] {
        assert!(!saw.contains(secret), "{secret} on the command line: {saw}");
    }
    // Its fetch of the link was refused as another user's; nothing was delivered.
    assert_eq!(r["link_status"], 403, "{r}");
    assert!(r["deliveries"].as_array().is_none_or(Vec::is_empty), "{r}");
    // The victim was told, finished with its own account and named it.
    assert_eq!(a.exit, Some(0), "{}", a.victim);
    assert!(
        a.victim.contains(&format!(
            "a program of another user on this computer (uid {uid})"
        )),
        "{}",
        a.victim
    );
    assert!(
        a.victim.contains("✓ Logged in to Acme as demo@"),
        "{}",
        a.victim
    );
    assert_eq!(a.stored_user.as_deref(), Some("demo"), "the stored account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_user_cannot_inject_a_code_into_a_browser_login() {
    let Some((uid, gid)) = intruder() else {
        return;
    };
    let a = attack(uid, gid, false).await;
    assert_defended(&a, uid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_user_cannot_inject_a_code_or_a_raw_key_into_a_handoff() {
    let Some((uid, gid)) = intruder() else {
        return;
    };
    let a = attack(uid, gid, true).await;
    assert_defended(&a, uid);
}

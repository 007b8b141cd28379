//! Bad input through democli (issue 6, item 3): damaged credentials files and hostile
//! server answers, run through the real `democli` binary against the real dev server
//! (`cliauth-devserver`, started in-process with [`DevServer::start`]; answers are
//! replaced through its `POST /_dev/faults` hook, and democli is pointed at it with
//! `DEMO_ISSUER`, so discovery, device login, the browser login's code exchange,
//! refresh and the API all run for real).
//!
//! Every case asserts:
//!
//! - the documented exit code (0 ok, 1 usage/validation/storage, 2 auth, 3
//!   server/network/protocol, 4 rate limited, 5 not found);
//! - with `--json`: one JSON envelope on stdout with the stable `error.code` and the
//!   hint; without: the `✗ message` line and the hint line below it on stderr, and
//!   nothing on stdout;
//! - no panic and no backtrace (`RUST_BACKTRACE=1` is set, so one would show);
//! - no secret in stdout or stderr: every token, code, verifier, device code and key
//!   the dev server issued or received (its secret recorder,
//!   `DevServerConfig::record_secrets`), the stored tokens, and the tokens inside the
//!   injected answers;
//! - that nothing stored is lost: the credentials directory is byte-for-byte what it
//!   was, or a damaged file was moved to `credentials.json.corrupt-<time>` with its
//!   bytes intact — never silently reset;
//! - that every injected fault was actually served (none left pending), so no case
//!   passes without meeting its bad input.
//!
//! Each command runs twice per case, with and without `--json`, on a fresh copy of
//! the stored state.
//!
//! ## Cases
//!
//! "Stored" is a real OAuth profile from a device login against the dev server.
//!
//! | Input | Command | Code | Exit | Hint |
//! |---|---|---|---|---|
//! | `credentials.json` is not JSON | `auth status` | `corrupt_credentials` | 1 | The damaged file was kept at `…/credentials.json.corrupt-<time>`. Run `democli auth login` to sign in again. |
//! | truncated (a stored document cut in half) | `auth status` | `corrupt_credentials` | 1 | (same) |
//! | empty (0 bytes) | `auth status` | `corrupt_credentials` | 1 | (same) |
//! | JSON of another shape (`[]`, `{"version":"1"}`) | `auth status` | `corrupt_credentials` | 1 | (same) |
//! | damaged, then a new login | `auth login --api-key KEY` | — | 0 | `! The credentials file was damaged; it was kept at …` (the key is stored in a new file) |
//! | damaged, then the next command | `auth token` | `not_authenticated` | 2 | Run `democli auth login` to sign in, or set DEMO_API_KEY. … (the kept file is untouched) |
//! | `"version": 99` (a newer democli) | `auth status`, `auth token`, `auth login --api-key`, `auth logout`, `whoami` | `unsupported_version` | 1 | Upgrade democli; the file was not changed. |
//! | `credentials.json` is a symlink | `auth status`, `auth token`, `auth login --api-key`, `whoami` | `unsafe_storage` | 1 | Replace it with a regular file or remove it: rm `…/credentials.json` … (the message: "Refusing to use …: it is a symbolic link"); neither the link nor its target changes, and no bogus `chmod` advice |
//! | directory mode 0777 / 0770, file mode 0666 / 0620, lock file 0666 | `auth status`, `auth token`, `auth login --api-key`, `whoami` | `unsafe_storage` | 1 | `chmod 700 …` / `chmod 600 …` (the exact command) |
//! | file, directory or lock file owned by another uid (as root; skipped with a message otherwise) | (same) | `unsafe_storage` | 1 | If you created it (for example with sudo), take it back: sudo chown [-R] `<uid> …` |
//! | `credentials.json` is a FIFO, or 2 MiB | (same) | `unsafe_storage` | 1 | Remove it: rm `…` / Move it away: mv `… ….large` (never blocks, never read) |
//! | a document from a newer release ("1.1": an unknown credential type and login method, unknown fields at every level) | `auth status`, `auth login --api-key` of another profile, `auth logout`, `auth logout --profile next` | — | 0 | `! Profile `next` was stored by a newer version (credential type `passkey`); it is kept unchanged and not used.` — every unknown part stays byte for byte, nothing moved aside |
//! | (same) | `auth login --profile next --api-key`, `auth --profile next status` | `unsupported_profile` | 1 | It is kept unchanged. Upgrade democli to use it, … |
//! | file mode 0644 | `auth status`, `whoami` | — | 0 | `! The credentials file … can be read by other users (mode 644). Fix: chmod 600 …` |
//! | directory mode 0755 | `auth status`, `whoami` | — | 0 | `! The credentials directory … can be read by other users (mode 755). Fix: chmod 700 …` |
//! | refresh: HTML 502 page | `auth token` (stored token expired) | `server_error` | 3 | The Demo server returned an error. Try again in a minute. |
//! | refresh: truncated JSON | `auth token` | `protocol_error` | 3 | The server's answer could not be understood. Try again; … |
//! | refresh: no `access_token` | `auth token` | `protocol_error` | 3 | (same) |
//! | refresh: no `token_type` | `auth token` | `protocol_error` | 3 | (same) |
//! | refresh: 50 MB body | `auth token` | `protocol_error` | 3 | (same) |
//! | refresh: token JSON as `text/plain` | `auth token` | `protocol_error` | 3 | (same) |
//! | refresh: HTML as `application/json` | `auth token` | `protocol_error` | 3 | (same) |
//! | refresh: connection cut mid-body | `auth token` | `network_error` | 3 | Check your internet connection, proxy and firewall, then try again. |
//! | (after all of the above, no fault) | `auth token` | — | 0 | the stored refresh token still works |
//! | device authorization: HTML 502 ×4 (`Retry-After: 0`) | `auth login --device` | `server_error` | 3 | The Demo server returned an error. … |
//! | device authorization: HTML page with 200 | `auth login --device` | `protocol_error` | 3 | The server's answer could not be understood. … |
//! | device authorization: missing fields | `auth login --device` | `protocol_error` | 3 | (same) |
//! | device polling: no `token_type` | `auth login --device` | `protocol_error` | 3 | (same) |
//! | device polling: truncated JSON | `auth login --device` | `protocol_error` | 3 | (same) |
//! | device polling: 50 MB body | `auth login --device` | `protocol_error` | 3 | (same) |
//! | device polling: one HTML 502 | `auth login --device` | — | 0 | (backs off, polls again, logs in) |
//! | code exchange: no `token_type` | `auth login --browser` | `protocol_error` | 3 | The server's answer could not be understood. … |
//! | code exchange: HTML 502 | `auth login --browser` | `server_error` | 3 | The Demo server returned an error. … (the single-use code is not replayed) |
//! | code exchange: truncated JSON | `auth login --browser` | `protocol_error` | 3 | The server's answer could not be understood. … |
//! | discovery: foreign `issuer` | `auth login --device`, `auth token` | `issuer_mismatch` | 2 | The response came from a different authorization server than configured. Aborting; … |
//! | discovery: HTML page | `auth login --device` | `protocol_error` | 3 | The server's answer could not be understood. … |
//! | discovery: truncated JSON | `auth login --device` | `protocol_error` | 3 | (same) |
//! | discovery: no `token_endpoint` | `auth token` | `protocol_error` | 3 | (same) |
//! | API: HTML 502 ×4 (`Retry-After: 0`) | `whoami` | `server_error` | 3 | The Demo server returned an error. Try again in a minute. |
//! | API: HTML page with 200 | `whoami` | `protocol_error` | 3 | The server's answer could not be understood. … |
//! | API: truncated JSON | `whoami` | `protocol_error` | 3 | (same) |
//! | API: 50 MB body | `whoami` | `protocol_error` | 3 | (same) |
//! | API: 429, `Retry-After: 120` | `whoami` | `rate_limited` | 4 | Retry in 2m. Slow down and retry shortly. |
//! | API: 404 | `whoami` | `not_found` | 5 | Check the name or ID and try again. |
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cliauth_devserver::{DevServer, DevServerConfig};
use serde_json::{Value, json};
use tempfile::TempDir;

const DEMOCLI: &str = env!("CARGO_BIN_EXE_democli");
/// A hang guard for one democli run, never a speed expectation.
const GUARD: Duration = Duration::from_secs(90);
/// A token inside injected answers: it must never be stored or shown.
const INJECTED: &str = "injected-token-0123456789abcdef";
const MB_50: usize = 50 * 1024 * 1024;

const HINT_SERVER: &str = "The Demo server returned an error. Try again in a minute.";
const HINT_PROTOCOL: &str = "The server's answer could not be understood. Try again;";
const HINT_NETWORK: &str = "Check your internet connection, proxy and firewall";
const HINT_CORRUPT: &str = "The damaged file was kept at ";
const HINT_VERSION: &str = "Upgrade democli; the file was not changed.";
const HINT_ISSUER: &str =
    "The response came from a different authorization server than configured. Aborting;";

// ── a tiny HTTP client (the dev server's hooks, the browser's part) ───────

struct HttpReply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl HttpReply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// One HTTP/1.1 request to an `http://127.0.0.1:PORT…` URL, `Connection: close`.
fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpReply {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (authority, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let target = if target.is_empty() { "/" } else { target };
    let mut stream = TcpStream::connect(authority).unwrap();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    HttpReply {
        status,
        head,
        body: out[split + 4..].to_vec(),
    }
}

// ── the dev server ────────────────────────────────────────────────────────

struct Server {
    dev: Option<DevServer>,
    url: String,
    dir: TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut config = DevServerConfig::default();
        config.auto_approve_device = Some(Duration::from_millis(100));
        config.auto_approve_browser = true;
        config.device_interval = Duration::from_secs(1);
        config.record_secrets = Some(dir.path().join("secrets.jsonl"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dev = runtime.block_on(DevServer::start(config)).unwrap();
        Server {
            url: dev.url().to_string(),
            dev: Some(dev),
            dir,
        }
    }

    /// Queues a fault (`POST /_dev/faults`).
    fn fault(&self, fault: &Value) {
        let r = http(
            "POST",
            &format!("{}/_dev/faults", self.url),
            &[("Content-Type", "application/json")],
            fault.to_string().as_bytes(),
        );
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    }

    /// Faults not yet served.
    fn pending_faults(&self) -> usize {
        let r = http("GET", &format!("{}/_dev/faults", self.url), &[], b"");
        r.json()["faults"].as_array().unwrap().len()
    }

    /// Every secret value the server issued or received so far.
    fn secrets(&self) -> Vec<String> {
        let text =
            std::fs::read_to_string(self.dir.path().join("secrets.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["secret"] == true)
            .filter_map(|v| v["value"].as_str().map(str::to_string))
            .collect()
    }

    /// A new dev API key for the stored user (minted with the stored access token).
    fn mint_key(&self, stored: &[u8]) -> String {
        let access = stored_credential(stored)["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let r = http(
            "POST",
            &format!("{}/api/keys", self.url),
            &[
                ("Authorization", &format!("Bearer {access}")),
                ("Content-Type", "application/json"),
            ],
            b"{}",
        );
        assert_eq!(r.status, 201);
        r.json()["api_key"].as_str().unwrap().to_string()
    }

    /// Logs in with democli (device code, approved by the server) and returns the
    /// stored `credentials.json`.
    fn logged_in(&self) -> Vec<u8> {
        let home = Home::empty();
        let run = democli(self, &home, &[], &["--json", "auth", "login", "--device"]);
        assert_eq!(run.code, 0, "{run:?}");
        std::fs::read(home.file()).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(dev) = self.dev.take()
            && let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        {
            rt.block_on(dev.shutdown());
        }
    }
}

fn stored_credential(stored: &[u8]) -> Value {
    let doc: Value = serde_json::from_slice(stored).unwrap();
    doc["profiles"]["default"]["credential"].clone()
}

/// The stored document with its access token expired a minute ago.
fn expired(stored: &[u8]) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(stored).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let c = &mut doc["profiles"]["default"]["credential"];
    c["obtained_at"] = json!(now - 3660);
    c["expires_at"] = json!(now - 60);
    serde_json::to_vec_pretty(&doc).unwrap()
}

// ── a credentials directory ───────────────────────────────────────────────

struct Home {
    root: TempDir,
}

impl Home {
    /// An empty `DEMO_HOME` (0700), not yet holding a file.
    fn empty() -> Home {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("home")).unwrap();
        std::fs::set_permissions(
            root.path().join("home"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        std::fs::create_dir(root.path().join("user")).unwrap();
        Home { root }
    }

    /// `credentials.json` (0600) holding `bytes`.
    fn with(bytes: &[u8]) -> Home {
        let home = Home::empty();
        std::fs::write(home.file(), bytes).unwrap();
        std::fs::set_permissions(home.file(), std::fs::Permissions::from_mode(0o600)).unwrap();
        home
    }

    fn dir(&self) -> PathBuf {
        self.root.path().join("home")
    }

    fn file(&self) -> PathBuf {
        self.dir().join("credentials.json")
    }

    /// Every entry but the lock file: file bytes, or `-> target` for a symlink.
    fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        snapshot(&self.dir())
    }
}

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "credentials.json.lock" {
            continue;
        }
        let meta = std::fs::symlink_metadata(entry.path()).unwrap();
        let value = if meta.file_type().is_symlink() {
            format!("-> {}", std::fs::read_link(entry.path()).unwrap().display()).into_bytes()
        } else if !meta.is_file() {
            use std::os::unix::fs::MetadataExt;
            format!("<not a file: mode {:o}>", meta.mode()).into_bytes()
        } else {
            std::fs::read(entry.path()).unwrap()
        };
        out.insert(name, value);
    }
    out
}

/// The damaged file was moved to `credentials.json.corrupt-<time>` with its bytes:
/// returns that path.
fn assert_moved_aside(home: &Home, bytes: &[u8]) -> PathBuf {
    let after = home.snapshot();
    assert!(
        !after.contains_key("credentials.json"),
        "a damaged file was replaced: {after:?}"
    );
    assert_eq!(after.len(), 1, "{:?}", after.keys());
    let (name, kept) = after.into_iter().next().unwrap();
    let stamp = name
        .strip_prefix("credentials.json.corrupt-")
        .unwrap_or_else(|| panic!("unexpected file {name}"));
    let time = stamp.split('-').next().unwrap();
    assert!(
        time.len() == 16
            && time.as_bytes()[8] == b'T'
            && time.ends_with('Z')
            && time[..8].bytes().all(|b| b.is_ascii_digit())
            && time[9..15].bytes().all(|b| b.is_ascii_digit()),
        "not a time stamp: {name}"
    );
    assert_eq!(kept, bytes, "the damaged bytes were not kept intact");
    let path = home.dir().join(&name);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the kept file must stay private");
    path
}

// ── running democli ───────────────────────────────────────────────────────

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn command(server: &Server, home: &Home, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = Command::new(DEMOCLI);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.root.path().join("user"))
        .env("DEMO_HOME", home.dir())
        .env("DEMO_ISSUER", &server.url)
        .env("RUST_BACKTRACE", "1")
        .env("NO_COLOR", "1")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Waits for a spawned democli, killing it after [`GUARD`].
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

fn democli(server: &Server, home: &Home, env: &[(&str, &str)], args: &[&str]) -> Run {
    finish(command(server, home, env, args).spawn().unwrap())
}

/// `auth login --browser` (plain OAuth), with the test playing the browser: the
/// `BROWSER` script only records the URL; the test follows it to the dev server
/// (which approves at once) and delivers the redirect to democli's loopback server.
fn browser_login(server: &Server, home: &Home, json_flag: bool) -> Run {
    let opened = home.root.path().join("opened.txt");
    let script = home.root.path().join("browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
            opened.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut args = vec!["auth", "login", "--browser"];
    if json_flag {
        args.insert(0, "--json");
    }
    let env = [
        ("BROWSER", script.to_str().unwrap()),
        ("DEMO_CLI_AUTH_PAGE", "off"),
    ];
    let mut child = command(server, home, &env, &args).spawn().unwrap();
    let started = Instant::now();
    let url = loop {
        if let Some(line) = std::fs::read_to_string(&opened)
            .ok()
            .and_then(|t| t.lines().next().map(str::to_string))
        {
            break line;
        }
        if child.try_wait().unwrap().is_some() || started.elapsed() > GUARD {
            return finish(child);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // democli starts the browser on its one-time launch link, which redirects once to
    // the authorization URL.
    assert!(url.contains("/start/"), "{url}");
    let link = http("GET", &url, &[], b"");
    assert_eq!(link.status, 303, "{}", link.head);
    let url = link.header("location").unwrap().to_string();
    assert!(
        url.starts_with(&format!("{}/authorize?", server.url)),
        "{url}"
    );
    let authorize = http("GET", &url, &[], b"");
    assert_eq!(authorize.status, 302, "{}", authorize.head);
    let callback = authorize.header("location").unwrap().to_string();
    assert!(callback.starts_with("http://127.0.0.1:"), "{callback}");
    let page = http("GET", &callback, &[], b"");
    assert_eq!(page.status, 200, "the loopback server refused the callback");
    finish(child)
}

/// What a case must produce.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// A typed error: `code`, exit code, and how the hint starts.
    Error(&'static str, i32, &'static str),
    /// The command recovers and succeeds.
    Recovers,
}

/// The checks every run gets: no panic, no secret.
fn assert_clean(run: &Run, server: &Server, extra_secrets: &[&str]) {
    for text in [&run.stdout, &run.stderr] {
        for bad in ["panicked", "stack backtrace", "RUST_BACKTRACE"] {
            assert!(!text.contains(bad), "`{bad}` in the output: {run:?}");
        }
    }
    let mut secrets = server.secrets();
    secrets.extend(extra_secrets.iter().map(|s| s.to_string()));
    secrets.push(INJECTED.to_string());
    assert!(
        server.secrets().len() > 1,
        "the secret recorder recorded nothing"
    );
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        assert!(
            !run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()),
            "a secret ({}…) is in the output: {run:?}",
            &secret[..6]
        );
    }
}

/// A typed error, rendered for `--json` or for a terminal.
fn assert_error(run: &Run, json_flag: bool, code: &str, exit: i32, hint: &str) {
    assert_eq!(run.code, exit, "exit code for {code}: {run:?}");
    if json_flag {
        let envelope: Value = serde_json::from_str(run.stdout.trim())
            .unwrap_or_else(|_| panic!("stdout is not one JSON document: {run:?}"));
        let e = &envelope["error"];
        assert_eq!(e["code"], code, "{run:?}");
        assert!(!e["message"].as_str().unwrap_or("").is_empty(), "{run:?}");
        assert!(
            e["hint"].as_str().unwrap_or("").starts_with(hint),
            "hint for {code}: {run:?}"
        );
    } else {
        assert_eq!(run.stdout, "", "stdout stays clean: {run:?}");
        let lines: Vec<&str> = run.stderr.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.starts_with("✗ "))
            .unwrap_or_else(|| panic!("no ✗ line: {run:?}"));
        let hint_line = lines.get(at + 1).copied().unwrap_or("");
        assert!(
            hint_line.starts_with("  ") && hint_line.trim_start().starts_with(hint),
            "no hint line `{hint}` under the ✗ line: {run:?}"
        );
    }
}

/// Runs `args` on a fresh copy of `stored` with and without `--json`, after queueing
/// `faults`, and checks `expect` plus the common invariants.
fn fault_case(
    server: &Server,
    stored: &[u8],
    what: &str,
    faults: &[Value],
    args: &[&str],
    expect: Expect,
) {
    for json_flag in [false, true] {
        let home = Home::with(stored);
        let before = home.snapshot();
        for f in faults {
            server.fault(f);
        }
        let run = if args == ["auth", "login", "--browser"] {
            browser_login(server, &home, json_flag)
        } else {
            let mut a = args.to_vec();
            if json_flag {
                a.insert(0, "--json");
            }
            democli(server, &home, &[], &a)
        };
        assert_eq!(server.pending_faults(), 0, "{what}: a fault was not served");
        assert_clean(&run, server, &[]);
        match expect {
            Expect::Error(code, exit, hint) => {
                assert_error(&run, json_flag, code, exit, hint);
                assert_eq!(home.snapshot(), before, "{what}: the stored state changed");
            }
            Expect::Recovers => {
                assert_eq!(run.code, 0, "{what}: {run:?}");
                let doc: Value =
                    serde_json::from_slice(&std::fs::read(home.file()).unwrap()).unwrap();
                assert!(doc["profiles"]["default"]["credential"]["access_token"].is_string());
            }
        }
        eprintln!("ok: {what} (json: {json_flag}) → exit {}", run.code);
    }
}

fn html_502() -> Value {
    json!({
        "status": 502, "content_type": "text/html",
        "body": "<!doctype html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"
    })
}

fn with(mut base: Value, path: &str, method: &str) -> Value {
    base["path"] = json!(path);
    base["method"] = json!(method);
    base
}

fn json_body(path: &str, method: &str, body: &str) -> Value {
    json!({"path": path, "method": method, "status": 200, "content_type": "application/json", "body": body})
}

// ── credentials files ─────────────────────────────────────────────────────

#[test]
fn damaged_credentials_files_are_moved_aside_never_reset() {
    let server = Server::start();
    let stored = server.logged_in();
    let key = server.mint_key(&stored);
    let damaged: Vec<(&str, Vec<u8>)> = vec![
        (
            "not JSON",
            b"{\"version\":1,\"profiles\":{\"default\":{,}}}".to_vec(),
        ),
        ("truncated", stored[..stored.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("a JSON list", b"[]".to_vec()),
        (
            "a string version",
            b"{\"version\":\"1\",\"profiles\":{}}".to_vec(),
        ),
    ];
    for (what, bytes) in &damaged {
        for json_flag in [false, true] {
            let home = Home::with(bytes);
            let args: &[&str] = if json_flag {
                &["--json", "auth", "status"]
            } else {
                &["auth", "status"]
            };
            let run = democli(&server, &home, &[], args);
            assert_clean(&run, &server, &[&key]);
            assert_error(&run, json_flag, "corrupt_credentials", 1, HINT_CORRUPT);
            let kept = assert_moved_aside(&home, bytes);
            let shown = if json_flag {
                serde_json::from_str::<Value>(run.stdout.trim()).unwrap()["error"]["hint"]
                    .as_str()
                    .unwrap()
                    .to_string()
            } else {
                run.stderr.clone()
            };
            assert!(
                shown.contains(&kept.display().to_string()),
                "{what}: the hint names the kept file: {shown}"
            );
            // Nothing is silently recreated: the next command finds no credential,
            // and the kept file is untouched.
            let again = democli(&server, &home, &[], &["--json", "auth", "token"]);
            assert_error(
                &again,
                true,
                "not_authenticated",
                2,
                "Run `democli auth login`",
            );
            assert_moved_aside(&home, bytes);
            eprintln!("ok: {what} (json: {json_flag})");
        }
        // A new login keeps the damaged file and starts a new one, saying so.
        let home = Home::with(bytes);
        let run = democli(&server, &home, &[], &["auth", "login", "--api-key", &key]);
        assert_clean(&run, &server, &[&key]);
        assert_eq!(run.code, 0, "{what}: {run:?}");
        assert!(
            run.stderr
                .contains("! The credentials file was damaged; it was kept at "),
            "{what}: {run:?}"
        );
        let after = home.snapshot();
        assert_eq!(after.len(), 2, "{:?}", after.keys());
        let kept: Vec<_> = after
            .iter()
            .filter(|(k, _)| k.starts_with("credentials.json.corrupt-"))
            .collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].1, bytes, "{what}: the damaged bytes were not kept");
        let doc: Value = serde_json::from_slice(&after["credentials.json"]).unwrap();
        assert_eq!(
            doc["profiles"]["default"]["credential"]["key"],
            key.as_str()
        );
    }
}

#[test]
fn a_file_from_a_newer_version_is_left_untouched() {
    let server = Server::start();
    let stored = server.logged_in();
    let key = server.mint_key(&stored);
    // A newer democli's document: version 99, a field this one does not know.
    let mut doc: Value = serde_json::from_slice(&stored).unwrap();
    doc["version"] = json!(99);
    doc["vault"] = json!({"kind": "from-the-future"});
    let newer = serde_json::to_vec_pretty(&doc).unwrap();
    for args in [
        &["auth", "status"][..],
        &["auth", "token"],
        &["auth", "login", "--api-key", &key],
        &["auth", "logout"],
        &["whoami"],
    ] {
        for json_flag in [false, true] {
            let home = Home::with(&newer);
            let before = home.snapshot();
            let mut a = args.to_vec();
            if json_flag {
                a.insert(0, "--json");
            }
            let run = democli(&server, &home, &[], &a);
            assert_clean(&run, &server, &[&key]);
            assert_error(&run, json_flag, "unsupported_version", 1, HINT_VERSION);
            assert_eq!(home.snapshot(), before, "{args:?} changed a newer file");
        }
    }
}

#[test]
fn a_symlinked_credentials_file_is_refused_and_not_followed() {
    let server = Server::start();
    let stored = server.logged_in();
    let key = server.mint_key(&stored);
    for args in [
        &["auth", "status"][..],
        &["auth", "token"],
        &["auth", "login", "--api-key", &key],
        &["whoami"],
    ] {
        for json_flag in [false, true] {
            let home = Home::empty();
            // The link points at a real credentials document elsewhere (another
            // user's file, or one an attacker wants written through).
            let target = home.root.path().join("elsewhere.json");
            std::fs::write(&target, &stored).unwrap();
            std::os::unix::fs::symlink(&target, home.file()).unwrap();
            let before = home.snapshot();
            let mut a = args.to_vec();
            if json_flag {
                a.insert(0, "--json");
            }
            let run = democli(&server, &home, &[], &a);
            assert_clean(&run, &server, &[&key]);
            let hint = format!(
                "Replace it with a regular file or remove it: rm {}",
                home.file().display()
            );
            assert_error(&run, json_flag, "unsafe_storage", 1, &hint);
            let message = if json_flag {
                run.stdout.clone()
            } else {
                run.stderr.clone()
            };
            assert!(
                message.contains(&format!(
                    "Refusing to use {}: it is a symbolic link",
                    home.file().display()
                )),
                "{run:?}"
            );
            // A link's own mode (777) is no reason for `chmod 600`, which would
            // change the target.
            assert!(!run.stderr.contains("chmod"), "bogus advice: {run:?}");
            assert_eq!(home.snapshot(), before, "{args:?}");
            assert_eq!(
                std::fs::read(&target).unwrap(),
                stored,
                "the target changed"
            );
        }
    }
}

#[test]
fn world_readable_file_and_directory_warn_with_the_fix_and_still_work() {
    let server = Server::start();
    let stored = server.logged_in();
    for (what, file_mode, dir_mode) in [
        ("file 0644", 0o644, 0o700),
        ("directory 0755", 0o600, 0o755),
        ("both", 0o644, 0o755),
    ] {
        for args in [&["auth", "status"][..], &["whoami"]] {
            for json_flag in [false, true] {
                let home = Home::with(&stored);
                std::fs::set_permissions(home.file(), std::fs::Permissions::from_mode(file_mode))
                    .unwrap();
                std::fs::set_permissions(home.dir(), std::fs::Permissions::from_mode(dir_mode))
                    .unwrap();
                let before = home.snapshot();
                let mut a = args.to_vec();
                if json_flag {
                    a.insert(0, "--json");
                }
                let run = democli(&server, &home, &[], &a);
                assert_clean(&run, &server, &[]);
                assert_eq!(run.code, 0, "{what} {args:?}: {run:?}");
                let file = home.file().display().to_string();
                let dir = home.dir().display().to_string();
                let file_warning = format!(
                    "! The credentials file {file} can be read by other users (mode 644). Fix: chmod 600 {file}"
                );
                let dir_warning = format!(
                    "! The credentials directory {dir} can be read by other users (mode 755). Fix: chmod 700 {dir}"
                );
                assert_eq!(
                    run.stderr.contains(&file_warning),
                    file_mode == 0o644,
                    "{what}: {run:?}"
                );
                assert_eq!(
                    run.stderr.contains(&dir_warning),
                    dir_mode == 0o755,
                    "{what}: {run:?}"
                );
                if json_flag {
                    let out: Value = serde_json::from_str(run.stdout.trim()).unwrap();
                    assert!(
                        out["authenticated"] == true || out["sub"].is_string(),
                        "{run:?}"
                    );
                } else if args == ["whoami"] {
                    assert!(run.stderr.contains("✓ Signed in as "), "{run:?}");
                }
                // Warned, not silently changed.
                assert_eq!(home.snapshot(), before);
                let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
                assert_eq!(
                    (mode(&home.file()), mode(&home.dir())),
                    (file_mode, dir_mode)
                );
            }
        }
    }
}

/// The uid the tests run as.
fn my_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(tempfile::tempdir().unwrap().path())
        .unwrap()
        .uid()
}

#[test]
fn unsafe_files_and_directories_are_refused_with_the_exact_fix_and_change_nothing() {
    let server = Server::start();
    let stored = server.logged_in();
    let key = server.mint_key(&stored);
    let me = my_uid();
    type Setup = Box<dyn Fn(&Home)>;
    type Fix = Box<dyn Fn(&Home) -> String>;
    let chmod = |p: PathBuf, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    let mut cases: Vec<(&str, Setup, Fix)> = vec![
        (
            "directory 0777",
            Box::new(move |h| chmod(h.dir(), 0o777)),
            Box::new(|h| format!("chmod 700 {}", h.dir().display())),
        ),
        (
            "directory 0770",
            Box::new(move |h| chmod(h.dir(), 0o770)),
            Box::new(|h| format!("chmod 700 {}", h.dir().display())),
        ),
        (
            "file 0666",
            Box::new(move |h| chmod(h.file(), 0o666)),
            Box::new(|h| format!("chmod 600 {}", h.file().display())),
        ),
        (
            "file 0620",
            Box::new(move |h| chmod(h.file(), 0o620)),
            Box::new(|h| format!("chmod 600 {}", h.file().display())),
        ),
        (
            "lock file 0666",
            Box::new(move |h| {
                let lock = h.dir().join("credentials.json.lock");
                std::fs::write(&lock, b"").unwrap();
                chmod(lock, 0o666);
            }),
            Box::new(|h| format!("chmod 600 {}/credentials.json.lock", h.dir().display())),
        ),
        (
            "a FIFO",
            Box::new(|h| {
                std::fs::remove_file(h.file()).unwrap();
                let ok = Command::new("mkfifo").arg(h.file()).status().unwrap();
                assert!(ok.success());
            }),
            Box::new(|h| format!("Remove it: rm {}", h.file().display())),
        ),
        (
            "2 MiB",
            Box::new(|h| {
                let mut doc: Value =
                    serde_json::from_slice(&std::fs::read(h.file()).unwrap()).unwrap();
                doc["padding"] = json!("x".repeat(2 << 20));
                std::fs::write(h.file(), serde_json::to_vec(&doc).unwrap()).unwrap();
            }),
            Box::new(|h| {
                format!(
                    "It was not read or changed. Move it away: mv {p} {p}.large",
                    p = h.file().display()
                )
            }),
        ),
    ];
    if me == 0 {
        let chown = |p: PathBuf| std::os::unix::fs::chown(p, Some(4242), None).unwrap();
        cases.push((
            "file of uid 4242",
            Box::new(move |h| chown(h.file())),
            Box::new(move |h| {
                format!(
                    "If you created it (for example with sudo), take it back: sudo chown {me} {}",
                    h.file().display()
                )
            }),
        ));
        cases.push((
            "directory of uid 4242",
            Box::new(move |h| chown(h.dir())),
            Box::new(move |h| {
                format!(
                    "If you created it (for example with sudo), take it back: sudo chown -R {me} {}",
                    h.dir().display()
                )
            }),
        ));
    } else {
        eprintln!(
            "SKIPPED the other-owner cases: giving a file to another uid needs root (running as uid {me})"
        );
    }
    for (what, setup, fix) in &cases {
        for args in [
            &["auth", "status"][..],
            &["auth", "token"],
            &["auth", "login", "--api-key", &key],
            &["whoami"],
        ] {
            // The lock file is opened only by commands that write (a login here;
            // `status`, and `token` with a valid token, only read).
            if what.starts_with("lock") && args.get(1) != Some(&"login") {
                continue;
            }
            for json_flag in [false, true] {
                let home = Home::with(&stored);
                setup(&home);
                let before = home.snapshot();
                let mut a = args.to_vec();
                if json_flag {
                    a.insert(0, "--json");
                }
                // `finish` fails the test if democli hangs (a FIFO opened for reading).
                let run = democli(&server, &home, &[], &a);
                assert_clean(&run, &server, &[&key]);
                assert_error(&run, json_flag, "unsafe_storage", 1, &fix(&home));
                let shown = if json_flag { &run.stdout } else { &run.stderr };
                assert!(
                    shown.contains("Refusing to use "),
                    "{what} {args:?}: {run:?}"
                );
                assert_eq!(home.snapshot(), before, "{what} {args:?} changed something");
            }
        }
    }
}

/// A document written by a newer release ("1.1": version 1 with additions).
const V1_1: &str = include_str!("../../../tests/fixtures/credentials-1.1.json");
const V1_1_PARTS: &str = include_str!("../../../tests/fixtures/credentials-1.1.parts.json");

/// Asserts every part of [`V1_1`] this version does not understand is in the stored
/// file byte for byte, but those of the profiles named in `gone`.
fn assert_v1_1_parts_kept(home: &Home, gone: &[&str], after: &str) {
    let text = std::fs::read_to_string(home.file()).unwrap();
    let parts: Value = serde_json::from_str(V1_1_PARTS).unwrap();
    for part in parts["parts"].as_array().unwrap() {
        let part = part.as_str().unwrap();
        if gone.iter().any(|g| part.contains(g)) {
            assert!(!text.contains(part), "after {after}: still there: {part}");
        } else {
            assert!(
                text.contains(part),
                "after {after}: lost or changed:\n{part}\n--- in ---\n{text}"
            );
        }
    }
}

#[test]
fn a_document_from_a_newer_release_keeps_what_it_added_byte_for_byte() {
    let server = Server::start();
    let stored = server.logged_in();
    let key = server.mint_key(&stored);
    const NOTICE: &str = "! Profile `next` was stored by a newer version (credential type `passkey`); it is kept unchanged and not used.";
    for json_flag in [false, true] {
        let home = Home::with(V1_1.as_bytes());
        let flag = |args: &[&'static str]| {
            let mut a = args.to_vec();
            if json_flag {
                a.insert(0, "--json");
            }
            a
        };
        // A read-only status: the known active profile is shown, the new ones are
        // skipped with a notice, and the file is not touched or moved aside.
        let before = home.snapshot();
        let run = democli(&server, &home, &[], &flag(&["auth", "status"]));
        assert_clean(&run, &server, &[&key]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stderr.contains(NOTICE), "{run:?}");
        assert!(
            run.stderr.contains(
                "! Profile `hw` was stored by a newer version (login method `hardware_key`)"
            ),
            "{run:?}"
        );
        if json_flag {
            let out: Value = serde_json::from_str(run.stdout.trim()).unwrap();
            assert_eq!(out["profile"], "default", "{run:?}");
        } else {
            assert!(run.stderr.contains("Profile:  default"), "{run:?}");
        }
        assert_eq!(home.snapshot(), before, "status changed the file");
        assert_eq!(std::fs::read_to_string(home.file()).unwrap(), V1_1);

        // A login of another profile rewrites the file: everything added stays.
        let mut login = vec![
            "--profile",
            "ci",
            "auth",
            "login",
            "--api-key",
            key.as_str(),
        ];
        if json_flag {
            login.insert(0, "--json");
        }
        let run = democli(&server, &home, &[], &login);
        assert_clean(&run, &server, &[&key]);
        assert_eq!(run.code, 0, "{run:?}");
        assert_v1_1_parts_kept(&home, &[], "login --profile ci");

        // A login into the newer release's profile is refused and changes nothing.
        let before = home.snapshot();
        let mut into_next = vec![
            "--profile",
            "next",
            "auth",
            "login",
            "--api-key",
            key.as_str(),
        ];
        if json_flag {
            into_next.insert(0, "--json");
        }
        let run = democli(&server, &home, &[], &into_next);
        assert_clean(&run, &server, &[&key]);
        assert_error(
            &run,
            json_flag,
            "unsupported_profile",
            1,
            "It is kept unchanged. Upgrade democli to use it,",
        );
        assert_eq!(home.snapshot(), before);

        // A logout of the active (known) profile.
        let run = democli(&server, &home, &[], &flag(&["auth", "logout"]));
        assert_clean(&run, &server, &[&key]);
        assert_eq!(run.code, 0, "{run:?}");
        // `default` held the unknown `labels` and `credential.rotation`: gone with it.
        assert_v1_1_parts_kept(&home, &["\"labels\"", "\"rotation\""], "logout");

        // Only an explicit logout of the newer release's profile removes it.
        let run = democli(
            &server,
            &home,
            &[],
            &flag(&["--profile", "next", "auth", "logout"]),
        );
        assert_clean(&run, &server, &[&key]);
        assert_eq!(run.code, 0, "{run:?}");
        assert_v1_1_parts_kept(
            &home,
            &["\"labels\"", "\"rotation\"", "\"passkey\""],
            "logout --profile next",
        );
        let names: Vec<String> = home.snapshot().into_keys().collect();
        assert!(
            names.iter().all(|n| !n.contains("corrupt")),
            "nothing was moved aside: {names:?}"
        );
    }
}

// ── server answers ────────────────────────────────────────────────────────

#[test]
fn refresh_survives_hostile_token_responses_and_keeps_the_session() {
    let server = Server::start();
    let stored = expired(&server.logged_in());
    let token_json = format!(
        "{{\"access_token\":\"{INJECTED}\",\"token_type\":\"Bearer\",\"expires_in\":3600}}"
    );
    let cases: Vec<(&str, Value, Expect)> = vec![
        (
            "HTML 502 page",
            with(html_502(), "/token", "POST"),
            Expect::Error("server_error", 3, HINT_SERVER),
        ),
        (
            "truncated JSON",
            json_body("/token", "POST", &token_json[..30]),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "no access_token",
            json_body(
                "/token",
                "POST",
                "{\"token_type\":\"Bearer\",\"expires_in\":3600}",
            ),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "no token_type",
            json_body(
                "/token",
                "POST",
                &format!(
                    "{{\"access_token\":\"{INJECTED}\",\"expires_in\":3600,\"refresh_token\":\"{INJECTED}-rt\"}}"
                ),
            ),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "50 MB body",
            json!({"path": "/token", "method": "POST", "status": 200, "content_type": "application/json",
                   "body": token_json, "body_size": MB_50}),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "token JSON as text/plain",
            json!({"path": "/token", "method": "POST", "status": 200, "content_type": "text/plain", "body": token_json}),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "HTML as application/json",
            json_body("/token", "POST", "<html><body>Sign in</body></html>"),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "connection cut mid-body",
            json!({"path": "/token", "method": "POST", "status": 200, "content_type": "application/json",
                   "body": token_json, "abort_after": 20}),
            Expect::Error("network_error", 3, HINT_NETWORK),
        ),
    ];
    for (what, fault, expect) in cases {
        fault_case(
            &server,
            &stored,
            &format!("refresh: {what}"),
            &[fault],
            &["auth", "token"],
            expect,
        );
    }
    // None of it cost the session: the stored refresh token still works.
    let home = Home::with(&stored);
    let run = democli(&server, &home, &[], &["auth", "token"]);
    assert_eq!(run.code, 0, "{run:?}");
    let token = run.stdout.trim();
    assert!(
        token.starts_with("demo_at_") && token != INJECTED,
        "{run:?}"
    );
    assert_ne!(
        std::fs::read(home.file()).unwrap(),
        stored,
        "rotated and stored"
    );
}

#[test]
fn a_refresh_keeps_a_newer_releases_additions_byte_for_byte() {
    let server = Server::start();
    let stored = expired(&server.logged_in());
    let old_refresh = stored_credential(&stored)["refresh_token"].clone();
    // What a newer release added, spelled as serde_json would not write it (number
    // spelling, escapes, key order, spacing): only a verbatim copy keeps these bytes.
    const TOP: &str = r#""sync": {"since":1.0e3,"b":1,"a":2}"#;
    const PROFILE: &str = r#""labels": ["prod",1000.0,{"z":true,"a":false}]"#;
    const CREDENTIAL: &str = r#""rotation": {"next_at":1.50e9,"by":"\u00e9quipe"}"#;
    // `expired` writes `"key": value` with one field per line.
    let text = String::from_utf8(stored.clone()).unwrap();
    let text = text
        .replacen('{', &["{", TOP, ","].concat(), 1)
        .replacen(
            r#""default": {"#,
            &[r#""default": {"#, PROFILE, ","].concat(),
            1,
        )
        .replacen(
            r#""credential": {"#,
            &[r#""credential": {"#, CREDENTIAL, ","].concat(),
            1,
        );
    serde_json::from_str::<Value>(&text).expect("the planted document is JSON");
    for part in [TOP, PROFILE, CREDENTIAL] {
        assert!(text.contains(part), "{part} not planted in {text}");
    }
    let home = Home::with(text.as_bytes());
    let run = democli(&server, &home, &[], &["auth", "token"]);
    assert_eq!(run.code, 0, "{run:?}");
    let after = std::fs::read(home.file()).unwrap();
    assert_ne!(
        stored_credential(&after)["refresh_token"],
        old_refresh,
        "the refresh rotated and stored the new tokens"
    );
    let after = String::from_utf8(after).unwrap();
    for part in [TOP, PROFILE, CREDENTIAL] {
        assert!(
            after.contains(part),
            "lost or changed by the refresh: {part}\n--- in ---\n{after}"
        );
    }
}

#[test]
fn device_login_refuses_hostile_responses_and_keeps_the_stored_profile() {
    let server = Server::start();
    let stored = server.logged_in();
    let no_type = format!("{{\"access_token\":\"{INJECTED}\",\"expires_in\":3600}}");
    let cases: Vec<(&str, Value, Expect)> = vec![
        (
            "device authorization: HTML 502 ×4",
            json!({"path": "/device_authorization", "method": "POST", "count": 4, "status": 502,
                   "content_type": "text/html", "headers": {"Retry-After": "0"},
                   "body": "<html><body><h1>502 Bad Gateway</h1></body></html>"}),
            Expect::Error("server_error", 3, HINT_SERVER),
        ),
        (
            "device authorization: HTML page with 200",
            json!({"path": "/device_authorization", "method": "POST", "status": 200,
                   "content_type": "text/html", "body": "<!doctype html><title>Log in</title>"}),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "device authorization: missing fields",
            json_body(
                "/device_authorization",
                "POST",
                &format!("{{\"device_code\":\"{INJECTED}\",\"expires_in\":600}}"),
            ),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "device polling: no token_type",
            json_body("/token", "POST", &no_type),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "device polling: truncated JSON",
            json_body("/token", "POST", &no_type[..25]),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "device polling: 50 MB body",
            json!({"path": "/token", "method": "POST", "status": 200, "content_type": "application/json",
                   "body": "{\"a\":", "body_size": MB_50}),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "device polling: one HTML 502",
            with(html_502(), "/token", "POST"),
            Expect::Recovers,
        ),
    ];
    for (what, fault, expect) in cases {
        fault_case(
            &server,
            &stored,
            what,
            &[fault],
            &["auth", "login", "--device"],
            expect,
        );
    }
}

#[test]
fn browser_code_exchange_refuses_hostile_token_responses() {
    let server = Server::start();
    let stored = server.logged_in();
    let cases: Vec<(&str, Value, Expect)> = vec![
        (
            "code exchange: no token_type",
            json_body(
                "/token",
                "POST",
                &format!("{{\"access_token\":\"{INJECTED}\",\"expires_in\":3600}}"),
            ),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "code exchange: HTML 502",
            with(html_502(), "/token", "POST"),
            Expect::Error("server_error", 3, HINT_SERVER),
        ),
        (
            "code exchange: truncated JSON",
            json_body("/token", "POST", "{\"access_token\":\"inj"),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
    ];
    for (what, fault, expect) in cases {
        fault_case(
            &server,
            &stored,
            what,
            &[fault],
            &["auth", "login", "--browser"],
            expect,
        );
    }
}

#[test]
fn discovery_with_a_foreign_issuer_or_a_broken_document_is_refused() {
    let server = Server::start();
    let stored = server.logged_in();
    let expired = expired(&stored);
    let path = "/.well-known/oauth-authorization-server";
    let evil = json!({
        "issuer": "https://evil.example",
        "authorization_endpoint": "https://evil.example/authorize",
        "token_endpoint": "https://evil.example/token",
        "device_authorization_endpoint": "https://evil.example/device_authorization",
    })
    .to_string();
    let no_token = json!({"issuer": server.url, "device_authorization_endpoint": format!("{}/device_authorization", server.url)})
        .to_string();
    // (what, stored state, fault, command, expected)
    type Case<'a> = (&'a str, &'a [u8], Value, &'a [&'a str], Expect);
    let cases: Vec<Case<'_>> = vec![
        (
            "discovery: foreign issuer (device login)",
            &stored,
            json_body(path, "GET", &evil),
            &["auth", "login", "--device"],
            Expect::Error("issuer_mismatch", 2, HINT_ISSUER),
        ),
        (
            "discovery: foreign issuer (refresh)",
            &expired,
            json_body(path, "GET", &evil),
            &["auth", "token"],
            Expect::Error("issuer_mismatch", 2, HINT_ISSUER),
        ),
        (
            "discovery: HTML page",
            &stored,
            json!({"path": path, "method": "GET", "status": 200, "content_type": "text/html",
                   "body": "<!doctype html><title>Portal</title>"}),
            &["auth", "login", "--device"],
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "discovery: truncated JSON",
            &stored,
            json_body(path, "GET", &evil[..40]),
            &["auth", "login", "--device"],
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "discovery: no token_endpoint",
            &expired,
            json_body(path, "GET", &no_token),
            &["auth", "token"],
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
    ];
    for (what, home_bytes, fault, args, expect) in cases {
        fault_case(&server, home_bytes, what, &[fault], args, expect);
    }
}

#[test]
fn api_answers_that_break_the_protocol_are_typed_errors() {
    let server = Server::start();
    let stored = server.logged_in();
    let path = "/api/whoami";
    let cases: Vec<(&str, Value, Expect)> = vec![
        (
            "API: HTML 502 ×4",
            json!({"path": path, "method": "GET", "count": 4, "status": 502, "content_type": "text/html",
                   "headers": {"Retry-After": "0"}, "body": "<html><h1>502 Bad Gateway</h1></html>"}),
            Expect::Error("server_error", 3, HINT_SERVER),
        ),
        (
            "API: HTML page with 200",
            json!({"path": path, "method": "GET", "status": 200, "content_type": "text/html",
                   "body": "<!doctype html><title>Captive portal</title>"}),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "API: truncated JSON",
            json_body(path, "GET", "{\"sub\":\"user_de"),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "API: 50 MB body",
            json!({"path": path, "method": "GET", "status": 200, "content_type": "application/json",
                   "body": "[1,", "body_size": MB_50}),
            Expect::Error("protocol_error", 3, HINT_PROTOCOL),
        ),
        (
            "API: 429 with Retry-After: 120",
            json!({"path": path, "method": "GET", "status": 429, "content_type": "application/json",
                   "headers": {"Retry-After": "120"}, "body": "{\"detail\":\"Too many requests\"}"}),
            Expect::Error("rate_limited", 4, "Retry in 2m."),
        ),
        (
            "API: 404",
            json!({"path": path, "method": "GET", "status": 404, "content_type": "application/json",
                   "body": "{\"detail\":\"no such user\"}"}),
            Expect::Error("not_found", 5, "Check the name or ID and try again."),
        ),
    ];
    for (what, fault, expect) in cases {
        fault_case(&server, &stored, what, &[fault], &["whoami"], expect);
    }
}

//! Shared helpers for the integration tests: the oidc-provider interop server, a
//! scripted "browser", a capturing UI, log capture, tiny HTTP servers and the
//! example binaries.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cliauth::cliauth_core::secret::SecretString;
use cliauth::ui::{Notice, Ui};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A reqwest client for the tests' own requests. cliauth's reqwest has no
/// process-wide crypto provider (cliauth configures rustls per client), so the
/// tests install ring as the default before building their own clients.
pub fn tls_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// [`tls_builder`], built.
pub fn tls_client() -> reqwest::Client {
    tls_builder().build().unwrap()
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// An example binary of this crate. `cargo test` builds the examples together with
/// the tests; when the binary is missing or older than a source it depends on (a
/// filtered run such as `cargo test --test crash` after an edit), it is rebuilt here
/// into the same target directory and profile, so it is never stale.
pub fn example(name: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let target_dir = profile_dir.parent().unwrap();
    let path = profile_dir.join("examples").join(name);
    let built_at = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    let root = repo_root();
    let newest_source = [
        root.join("native/src"),
        root.join("native/examples"),
        root.join("native/Cargo.toml"),
        root.join("core/src"),
        root.join("core/Cargo.toml"),
    ]
    .iter()
    .filter_map(|p| newest_mtime(p))
    .max();
    let fresh = matches!((built_at, newest_source), (Some(b), Some(s)) if b >= s);
    if fresh {
        return path;
    }
    let built = BUILT.get_or_init(|| {
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev".to_string(),
            Some(other) => other.to_string(),
        };
        let out = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "cliauth",
                "--examples",
                "--features",
                "clap",
            ])
            .args(["--profile", &profile])
            .arg("--target-dir")
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    });
    if let Err(e) = built {
        panic!("building the examples failed:\n{e}");
    }
    path
}

fn newest_mtime(path: &std::path::Path) -> Option<std::time::SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| newest_mtime(&e.path()))
        .max()
}

// ── oidc-provider ─────────────────────────────────────────────────────────

/// panva's oidc-provider, started from `tests/interop` on a free port.
pub struct OidcServer {
    pub issuer: String,
    pub client_id: String,
    child: Child,
    _stdin: ChildStdin,
}

impl OidcServer {
    /// Starts the server, or returns `None` (with a notice) when `npm ci` has not run
    /// in `tests/interop` — unless `CLIAUTH_REQUIRE_INTEROP=1`, which makes that a
    /// failure (`cargo xtask test` sets it).
    pub fn start() -> Option<OidcServer> {
        let dir = repo_root().join("tests").join("interop");
        if !dir.join("node_modules").join("oidc-provider").exists() {
            let required = std::env::var("CLIAUTH_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "tests/interop/node_modules is missing and CLIAUTH_REQUIRE_INTEROP=1: run `cargo xtask setup` (npm ci in tests/interop)"
            );
            eprintln!(
                "SKIPPED: oidc-provider is not installed (run `npm ci` in tests/interop, or `cargo xtask test`)"
            );
            return None;
        }
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(&dir)
            .env("PORT", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("CLIAUTH_INTEROP_DEBUG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("node is needed for the interop tests");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining, so the server never writes into a closed pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("oidc-provider did not start within 30 s");
        let ready: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("unexpected output: {line}"));
        Some(OidcServer {
            issuer: ready["issuer"].as_str().unwrap().to_string(),
            client_id: ready["client_id"].as_str().unwrap().to_string(),
            child,
            _stdin: stdin,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Token requests seen by the server, by grant type.
    pub async fn token_requests(&self, grant: &str) -> u64 {
        let stats: serde_json::Value = tls_client()
            .get(self.url("/test/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["token_requests"][grant].as_u64().unwrap_or(0)
    }

    pub async fn revocations(&self) -> u64 {
        let stats: serde_json::Value = tls_client()
            .get(self.url("/test/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["revocations"].as_u64().unwrap_or(0)
    }

    /// The next interaction is denied.
    pub async fn deny_next(&self) {
        tls_client()
            .post(self.url("/test/deny"))
            .send()
            .await
            .unwrap();
    }

    /// A raw refresh request: the status and the JSON body.
    pub async fn raw_refresh(&self, refresh_token: &str) -> (u16, serde_json::Value) {
        let r = tls_client()
            .post(self.url("/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", &self.client_id),
            ])
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or_default())
    }

    /// Whether the userinfo endpoint accepts this access token.
    pub async fn userinfo_ok(&self, access_token: &str) -> bool {
        tls_client()
            .get(self.url("/me"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    }
}

impl Drop for OidcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ── a scripted browser ────────────────────────────────────────────────────

/// A "browser" with a cookie jar that follows redirects and submits the hidden-input
/// forms oidc-provider shows (device code entry and confirmation). Interactions are
/// auto-approved by the interop server. Every URL it requested is recorded
/// ([`TestBrowser::urls`]): a login's launch link, then the authorization URL it
/// redirects to, and so on.
#[derive(Clone)]
pub struct TestBrowser {
    client: reqwest::Client,
    urls: Arc<Mutex<Vec<String>>>,
}

impl Default for TestBrowser {
    fn default() -> Self {
        let urls = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&urls);
        TestBrowser {
            client: tls_builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                    record.lock().unwrap().push(attempt.url().to_string());
                    if attempt.previous().len() >= 20 {
                        attempt.error("too many redirects")
                    } else {
                        attempt.follow()
                    }
                }))
                .build()
                .unwrap(),
            urls,
        }
    }
}

impl TestBrowser {
    /// The URLs requested so far, redirects included.
    pub fn urls(&self) -> Vec<String> {
        self.urls.lock().unwrap().clone()
    }

    /// The first requested URL that starts with `prefix`.
    pub fn url_starting(&self, prefix: &str) -> Option<String> {
        self.urls().into_iter().find(|u| u.starts_with(prefix))
    }

    /// Opens `url`, follows redirects and auto-submits forms; returns the last status
    /// and page.
    pub async fn visit(&self, url: &str) -> (u16, String) {
        self.urls.lock().unwrap().push(url.to_string());
        let mut response = self.client.get(url).send().await.unwrap();
        for _ in 0..10 {
            let status = response.status().as_u16();
            let base = response.url().clone();
            let body = response.text().await.unwrap_or_default();
            match parse_form(&body) {
                Some((action, fields)) => {
                    let target = base.join(&action).unwrap();
                    response = self.client.post(target).form(&fields).send().await.unwrap();
                }
                None => return (status, body),
            }
        }
        panic!("too many forms");
    }

    /// A `Browser::Custom` that visits URLs on the current tokio runtime.
    pub fn opener(&self) -> cliauth::browser::Browser {
        let me = self.clone();
        let handle = tokio::runtime::Handle::current();
        cliauth::browser::Browser::custom(move |url| {
            let me = me.clone();
            let url = url.to_string();
            handle.spawn(async move { me.visit(&url).await });
            Ok(())
        })
    }
}

/// Opens a login's launch link (`http://127.0.0.1:P/start/…`) the way a browser's
/// first request does, without following: the URL it redirects to (the
/// authorization or cli-auth page URL, with `state` and the challenge). Blocking.
pub fn launch_target(link: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let rest = link
        .strip_prefix("http://")
        .ok_or_else(|| format!("not a launch link: {link}"))?;
    let (authority, path) = rest.split_once('/').ok_or("no path")?;
    let mut s = std::net::TcpStream::connect(authority).map_err(|e| e.to_string())?;
    write!(s, "GET /{path} HTTP/1.1\r\nHost: {authority}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .map(str::to_string)
        .ok_or_else(|| format!("no redirect: {}", answer.lines().next().unwrap_or("")))
}

/// A query parameter of `url` (percent-decoded).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next()?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&v[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first `<form method="post">` with its hidden inputs.
fn parse_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = html.find("<form")?;
    let form = &html[start
        ..html[start..]
            .find("</form>")
            .map_or(html.len(), |e| start + e)];
    if !form.to_ascii_lowercase().contains("method=\"post\"") {
        return None;
    }
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!("{name}=\"");
        let i = tag.find(&key)? + key.len();
        let j = tag[i..].find('"')? + i;
        Some(tag[i..j].replace("&amp;", "&").replace("&#x2F;", "/"))
    };
    let head = &form[..form.find('>')?];
    let action = attr(head, "action")?;
    let mut fields = Vec::new();
    for input in form.split("<input").skip(1) {
        let tag = &input[..input.find('>').unwrap_or(input.len())];
        if tag.contains("type=\"hidden\"")
            && let (Some(n), Some(v)) = (attr(tag, "name"), attr(tag, "value"))
        {
            fields.push((n, v));
        }
    }
    Some((action, fields))
}

// ── a capturing UI ────────────────────────────────────────────────────────

/// Records notices; answers secret prompts from a script (then blocks forever,
/// like a user who types nothing).
#[derive(Debug, Default)]
pub struct CaptureUi {
    pub lines: Mutex<Vec<String>>,
    pub inputs: Mutex<VecDeque<String>>,
    pub device_codes: Mutex<Vec<(String, Option<String>)>>,
    pub cancelled: Mutex<bool>,
    pub on_device: Mutex<Option<tokio::sync::mpsc::UnboundedSender<String>>>,
}

impl CaptureUi {
    pub fn new() -> Arc<CaptureUi> {
        Arc::new(CaptureUi::default())
    }

    pub fn with_inputs(inputs: &[&str]) -> Arc<CaptureUi> {
        let ui = CaptureUi::default();
        *ui.inputs.lock().unwrap() = inputs.iter().map(|s| s.to_string()).collect();
        Arc::new(ui)
    }

    pub fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

impl Ui for CaptureUi {
    fn notice(&self, notice: &Notice<'_>) {
        if let Notice::DeviceCode {
            user_code,
            verification_uri_complete,
            ..
        } = notice
        {
            self.device_codes.lock().unwrap().push((
                user_code.to_string(),
                verification_uri_complete.map(str::to_string),
            ));
            if let Some(tx) = self.on_device.lock().unwrap().as_ref() {
                let _ = tx.send(verification_uri_complete.unwrap_or_default().to_string());
            }
        }
        self.lines.lock().unwrap().push(notice.to_string());
    }

    fn read_secret(&self, _prompt: &str) -> Result<Option<SecretString>, cliauth::Error> {
        let next = self.inputs.lock().unwrap().pop_front();
        match next {
            Some(line) => Ok(Some(SecretString::new(line))),
            None => Ok(None),
        }
    }

    fn cancel_input(&self) {
        *self.cancelled.lock().unwrap() = true;
    }
}

// ── log capture ───────────────────────────────────────────────────────────

/// Everything `tracing` emits at TRACE while `f` runs (thread-local subscriber; use
/// with a current-thread runtime).
#[derive(Clone, Default)]
pub struct LogBuffer(pub Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let me = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || LogWriter(me.clone()))
            .with_ansi(false)
            .finish()
    }
}

pub struct LogWriter(LogBuffer);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// ── a tiny HTTP server ────────────────────────────────────────────────────

/// A request as the tiny server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub type Handler = Arc<dyn Fn(&Seen) -> Vec<u8> + Send + Sync>;

/// An HTTP/1.1 server on 127.0.0.1 that answers every request with `handler`'s
/// raw bytes and records what it saw.
pub struct TinyServer {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TinyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

pub fn json(status: u16, value: serde_json::Value) -> Vec<u8> {
    response(
        status,
        &[("Content-Type", "application/json")],
        &value.to_string(),
    )
}

impl TinyServer {
    pub async fn start(handler: impl Fn(&Seen) -> Vec<u8> + Send + Sync + 'static) -> TinyServer {
        let handler: Handler = Arc::new(handler);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                let handler = Arc::clone(&handler);
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    let (head_len, length) = loop {
                        let n = match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                            let length = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            break (i + 4, length);
                        }
                    };
                    while buf.len() < head_len + length {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf[..head_len]).into_owned();
                    let mut lines = head.lines();
                    let first: Vec<&str> = lines.next().unwrap_or_default().split(' ').collect();
                    let headers = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        .collect();
                    let seen = Seen {
                        method: first.first().copied().unwrap_or_default().to_string(),
                        path: first.get(1).copied().unwrap_or_default().to_string(),
                        headers,
                        body: String::from_utf8_lossy(&buf[head_len..]).into_owned(),
                    };
                    log.lock().unwrap().push(seen.clone());
                    let bytes = handler(&seen);
                    if bytes.is_empty() {
                        // No answer: keep the connection open, silently.
                        std::future::pending::<()>().await;
                    }
                    let _ = stream.write_all(&bytes).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        TinyServer { url, seen, task }
    }

    pub fn count(&self, path_prefix: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path.starts_with(path_prefix))
            .count()
    }
}

/// A port nobody listens on.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

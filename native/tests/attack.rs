//! The loopback callback server under attack (issue 6, item 1).
//!
//! Every test binds the real [`LoopbackServer`], waits with core's
//! [`LoopbackHandler`] exactly as [`cliauth::Authenticator`] does, and plays an
//! attacker on real sockets before the legitimate browser callback arrives.
//! `tests/loopback.rs` covers ordinary stray requests (favicon, a plain forged
//! state, one rebinding `Host`, TLS garbage, a long request line, idle preconnects);
//! this file adds the hostile cases around them.
//!
//! | Attack | What the attacker sends | What is asserted |
//! |---|---|---|
//! | Forged state | near misses of the real `state` (prefix, one more character, one character flipped, upper-cased, `%00`/space appended, renamed, smuggled into another parameter, repeated), a POST without an allowed `Origin`, 256 random guesses over 32 concurrent connections, the same on `[::1]` | 400 "Login link mismatch" (403 for the POST), the attacker's code never echoed, no event |
//! | DNS rebinding | the **real** state with `Host: evil.example:P`, `127.0.0.1.evil.example:P`, `localhost.evil.example:P`, `[::1].evil.example:P`, the wrong port, no port, userinfo, a missing `Host`, two `Host` lines, an absolute-form target naming another authority | 421 (400 for two `Host` lines, 404 for the absolute form), no event |
//! | Wrong path or method | the **real** state on `/callback/`, `/callbackx`, `/CALLBACK`, `/%63allback`, `//callback`, `/./callback`, `/x/../callback`, `/callback;x`, `/favicon.ico`, `/`; `PUT`/`DELETE`/`TRACE` on `/callback`; a cross-origin preflight and POST | 404 / 405 / 403, no event |
//! | Script in `error` | `javascript:`, `<script>`, `"><img onerror>`, `<svg onload>`, a closing `</title>`, bidi overrides and terminal escapes in `error`/`error_description`, with a forged state, then from the real authorization server (right state) | forged: nothing reflected; real: every character escaped, control and bidi characters removed, strict CSP, `nosniff`, `no-referrer`, `no-store` on every page |
//! | Slowloris | 200 connections held open (100 silent, 100 trickling a never-ending request line), with a one-hour read timeout so that only the server's admission policy can make room | never more than `max_connections` (64) server-side sockets at a time (sampled from `/proc/net/tcp`), idle and trickling ones closed after `evict_after` when the slots are full, the probe and the real callback queued behind all 200 answered, all 200 closed by the server |
//! | Huge headers | 1 MB of header lines, one 1 MB header value, 20 000 empty-valued headers, a 1 MB POST body — all with the real state | 431 / 413 or a reset, never an event |
//! | Other interfaces | a connection to each non-loopback address of this machine on the server's port | refused (nothing listens there: a probe can even bind that address and port), while a control listener on the same address is reachable |
//! | Second callback | a callback with the real state and another code, sent right behind the real one, then again after the login | 409 "Already signed in" or closed unanswered, then connection refused; the result stays the first code |
//!
//! Every test then checks the same invariants: the login had not ended before the
//! real callback; the real callback gets 200 and is the login's result (never the
//! attacker's code); the server's debug log shows exactly one accepted event; every
//! attacker socket is closed by the server; the port is free again and the process
//! holds no more file descriptors than before the server was bound.
//!
//! Linux only: descriptors are counted in `/proc/self/fd`, and other interfaces are
//! listed with `ip -o addr` (or found with a connected UDP socket). A machine with no
//! other address gets a temporary one when the tests run as root — a `dummy`
//! interface, or where the kernel has no dummy module (containers) an extra
//! address on `lo` (see [`TemporaryAddress`]; `CLIAUTH_ATTACK_TEMPORARY_ADDRESS=1`
//! forces this path); otherwise that test fails saying why it cannot run.
//! The tests run one at a time (a process-wide lock) so that descriptor counts are
//! exact.
#![cfg(target_os = "linux")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener as StdListener, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cliauth::Error;
use cliauth::cliauth_core::authorize::CallbackParams;
use cliauth::loopback::{LoopbackOptions, LoopbackServer};
use cliauth_core::loopback::{LoopbackConfig, LoopbackHandler};
use cliauth_core::state::StateToken;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// A hang guard, never a speed expectation.
const GUARD: Duration = Duration::from_secs(30);
/// The code an attacker tries to plant.
const ATTACKER_CODE: &str = "attacker-planted-code";
/// The code the real authorization server sends.
const LEGIT_CODE: &str = "legit-code-from-the-real-server";
/// The CSP every page must carry.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'";

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs one test at a time, each on its own current-thread runtime built after the
/// lock is taken: descriptor counts are process-wide, and the runtime of a test
/// waiting for the lock would otherwise shift them.
fn run(test: impl std::future::Future<Output = ()>) {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(test);
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn options() -> LoopbackOptions {
    let mut o = LoopbackOptions::default();
    o.cancel_on_ctrl_c = false;
    o
}

// ── log capture ───────────────────────────────────────────────────────────

/// The server's debug log (current-thread runtime: every task logs here).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

struct LogWriter(Logs);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (self.0).0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let me = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || LogWriter(me.clone()))
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The `note` of every request the server decided, in order.
    fn notes(&self) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.contains("loopback request"))
            .filter_map(|l| {
                let rest = &l[l.find("note=\"")? + 6..];
                Some(rest[..rest.find('"')?].to_string())
            })
            .collect()
    }

    fn count(&self, note: &str) -> usize {
        self.notes().iter().filter(|n| *n == note).count()
    }

    /// Decisions that carried an event (ended the login).
    fn events(&self) -> usize {
        self.count("callback accepted") + self.count("authorization error")
    }
}

// ── HTTP on raw sockets ───────────────────────────────────────────────────

/// A response as read from the socket (status 0: the connection closed without one).
#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn parse(bytes: &[u8]) -> Reply {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .map_or((text.clone(), String::new()), |(h, b)| {
                (h.to_string(), b.to_string())
            });
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Reply { status, head, body }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The headers every page must carry, and an escaped, script-free body.
    fn assert_hardened(&self) {
        assert_eq!(
            self.header("content-security-policy"),
            Some(CSP),
            "{self:?}"
        );
        assert_eq!(self.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(self.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(self.header("cache-control"), Some("no-store"));
        let lower = self.body.to_ascii_lowercase();
        for bad in [
            "<script",
            "<img",
            "<svg",
            "<iframe",
            "<a ",
            "<form",
            "javascript:",
        ] {
            // `javascript:` as escaped text is harmless, but no page here echoes it.
            assert!(!lower.contains(bad), "`{bad}` in a page: {}", self.body);
        }
        assert!(
            !self.body.contains(ATTACKER_CODE),
            "the attacker's code was echoed"
        );
    }
}

/// Sends `bytes` on a new connection to `addr` and reads until the server closes.
/// Write errors are ignored (the server may refuse before reading everything), so
/// the reply may be empty.
async fn send_to(addr: SocketAddr, bytes: Vec<u8>) -> Reply {
    let stream = timeout(GUARD, TcpStream::connect(addr))
        .await
        .expect("connect hung")
        .expect("connect failed");
    let (mut r, mut w) = stream.into_split();
    let writer = tokio::spawn(async move {
        let _ = w.write_all(&bytes).await;
        w
    });
    let mut out = Vec::new();
    let _ = timeout(GUARD, r.read_to_end(&mut out))
        .await
        .expect("the server never closed the connection");
    writer.abort();
    Reply::parse(&out)
}

fn v4(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

fn request(method: &str, target: &str, host: &str) -> Vec<u8> {
    format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes()
}

/// Waits until `cond` holds (a hang guard, not a deadline to meet).
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let waited = timeout(GUARD, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "gave up waiting for {what}");
}

// ── the login under attack ────────────────────────────────────────────────

/// A login waiting on the real server, as `Authenticator::login_browser` runs it.
struct Login {
    port: u16,
    state: String,
    ipv6: bool,
    wait: JoinHandle<Result<CallbackParams, Error>>,
    fds_before: usize,
    logs: Logs,
    _log_guard: tracing::subscriber::DefaultGuard,
}

impl Login {
    fn start(options: LoopbackOptions) -> Login {
        let logs = Logs::default();
        let guard = logs.install();
        let fds_before = open_fds();
        let server = LoopbackServer::bind(options).unwrap();
        let port = server.port();
        let ipv6 = server.has_ipv6();
        // Distinct bytes: the state has upper- and lower-case letters and digits.
        let entropy: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a);
        let state = StateToken::from_entropy(&entropy);
        let handler = LoopbackHandler::new(LoopbackConfig::new(port, "Acme"), &state);
        let wait = tokio::spawn(server.wait(handler, Duration::from_secs(120)));
        Login {
            port,
            state: state.expose_secret().to_string(),
            ipv6,
            wait,
            fds_before,
            logs,
            _log_guard: guard,
        }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `GET target` with the right `Host`.
    async fn get(&self, target: &str) -> Reply {
        send_to(v4(self.port), request("GET", target, &self.host())).await
    }

    async fn raw(&self, bytes: impl Into<Vec<u8>>) -> Reply {
        send_to(v4(self.port), bytes.into()).await
    }

    /// The server still answers: an ordinary stray request gets its 404.
    async fn assert_responsive(&self) {
        let r = self.get("/favicon.ico").await;
        assert_eq!(r.status, 404, "the server stopped answering: {r:?}");
    }

    /// The real callback arrives: it must be accepted and be the login's result.
    /// Then the port, every server socket and every descriptor are released.
    async fn finish(self, target: &str, expect_status: u16) -> (Reply, CallbackParams) {
        self.assert_responsive().await;
        assert!(
            !self.wait.is_finished(),
            "the login ended before the real callback: {:?}",
            self.logs.notes()
        );
        assert_eq!(self.logs.events(), 0, "an attack fired an event");
        let reply = self.get(target).await;
        assert_eq!(reply.status, expect_status, "the real callback: {reply:?}");
        let params = timeout(GUARD, self.wait)
            .await
            .expect("the login never ended")
            .unwrap()
            .expect("the login failed");
        assert_eq!(self.logs.events(), 1, "{:?}", self.logs.notes());
        let port = self.port;
        assert!(
            TcpStream::connect(v4(port)).await.is_err(),
            "still answering"
        );
        assert!(
            StdListener::bind(v4(port)).is_ok(),
            "the port is still taken"
        );
        let before = self.fds_before;
        until("the server's sockets to close", || open_fds() <= before).await;
        (reply, params)
    }

    /// [`Login::finish`] with the ordinary code callback.
    async fn finish_with_code(self) {
        let target = format!("/callback?code={LEGIT_CODE}&state={}", self.state);
        let (reply, params) = self.finish(&target, 200).await;
        assert!(reply.body.contains("Signed in to Acme"), "{reply:?}");
        reply.assert_hardened();
        assert_eq!(params.code.unwrap().expose_secret(), LEGIT_CODE);
        assert_eq!(params.error, None);
    }
}

// ── attacks ───────────────────────────────────────────────────────────────

#[test]
fn forged_states_never_end_or_hijack_the_login() {
    run(async {
        let login = Login::start(options());
        let s = login.state.clone();
        let mut flipped = s.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        let upper = s.to_ascii_uppercase();
        assert_ne!(
            upper, s,
            "the state must have lower-case letters for this case"
        );
        let code = ATTACKER_CODE;
        let near_misses = [
            format!("/callback?code={code}&state={}", &s[..s.len() - 1]),
            format!("/callback?code={code}&state={s}A"),
            format!("/callback?code={code}&state={flipped}"),
            format!("/callback?code={code}&state={upper}"),
            format!("/callback?code={code}&state={s}%00"),
            format!("/callback?code={code}&state={s}%20"),
            format!("/callback?code={code}&state=%20{s}"),
            format!("/callback?code={code}&state="),
            format!("/callback?code={code}&State={s}"),
            format!("/callback?code={code}&xstate={s}"),
            format!("/callback?code={code}?state={s}"),
            format!("/callback?code={code}&state=forged&state={s}"),
            format!("/callback?code={code}&state={s}&state=forged"),
            format!("/callback?code={code}&code=x&state={s}"),
        ];
        for target in &near_misses {
            let r = login.get(target).await;
            assert_eq!(r.status, 400, "{target}: {r:?}");
            r.assert_hardened();
        }
        // The JSON handoff form without an allowed Origin (none is configured here).
        let body = format!("{{\"code\":\"{code}\",\"state\":\"{s}\"}}");
        let post = format!(
            "POST /callback HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            login.host(),
            body.len()
        );
        assert_eq!(login.raw(post).await.status, 403);

        // Guessing: 256 random states over 32 concurrent connections.
        let refused = Arc::new(AtomicUsize::new(0));
        let mut guessers = Vec::new();
        for worker in 0..32u32 {
            let (port, refused) = (login.port, Arc::clone(&refused));
            guessers.push(tokio::spawn(async move {
                for i in 0..8u32 {
                    let mut guess = [0u8; 32];
                    getrandom::fill(&mut guess).unwrap();
                    let guess = StateToken::from_entropy(&guess);
                    let target = format!(
                        "/callback?code={code}-{worker}-{i}&state={}",
                        guess.expose_secret()
                    );
                    let r = send_to(
                        v4(port),
                        request("GET", &target, &format!("127.0.0.1:{port}")),
                    )
                    .await;
                    if r.status == 400 && r.body.contains("Login link mismatch") {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        for g in guessers {
            g.await.unwrap();
        }
        assert_eq!(refused.load(Ordering::Relaxed), 256);

        // The same on the IPv6 listener.
        if login.ipv6 {
            let addr = SocketAddr::from((Ipv6Addr::LOCALHOST, login.port));
            let target = format!("/callback?code={code}&state=forged-over-ipv6");
            let r = send_to(
                addr,
                request("GET", &target, &format!("[::1]:{}", login.port)),
            )
            .await;
            assert_eq!(r.status, 400, "{r:?}");
        }
        let expected = near_misses.len() - 3 + 256 + usize::from(login.ipv6);
        assert_eq!(login.logs.count("state mismatch"), expected);
        assert_eq!(login.logs.count("repeated parameter"), 3);
        assert_eq!(login.logs.count("POST from a foreign origin"), 1);
        login.finish_with_code().await;
    });
}

#[test]
fn dns_rebinding_hosts_are_refused_even_with_the_right_state() {
    run(async {
        let login = Login::start(options());
        let (p, s) = (login.port, login.state.clone());
        let target = format!("/callback?code={ATTACKER_CODE}&state={s}");
        let other_port = p.wrapping_add(1).max(1);
        let foreign_hosts = [
            format!("evil.example:{p}"),
            format!("127.0.0.1.evil.example:{p}"),
            format!("localhost.evil.example:{p}"),
            format!("[::1].evil.example:{p}"),
            format!("127.0.0.1:{p}.evil.example"),
            format!("evil.example@127.0.0.1:{p}"),
            format!("127.0.0.1:{p}@evil.example"),
            format!("127.0.0.1:{other_port}"),
            format!("127.0.0.1:0{p}"),
            "127.0.0.1".to_string(),
            "evil.example".to_string(),
            format!("127.0.0.2:{p}"),
            format!("localhost.:{p}"),
        ];
        for host in &foreign_hosts {
            let r = login.raw(request("GET", &target, host)).await;
            assert_eq!(r.status, 421, "Host: {host}: {r:?}");
            r.assert_hardened();
        }
        // No Host at all.
        let r = login
            .raw(format!("GET {target} HTTP/1.1\r\n\r\n").into_bytes())
            .await;
        assert_eq!(r.status, 421, "{r:?}");
        // Two Host lines, the loopback one first (RFC 9112 §3.2: 400).
        let r = login
            .raw(format!(
                "GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nHost: evil.example:{p}\r\n\r\n"
            ))
            .await;
        assert_eq!(r.status, 400, "two Host lines: {r:?}");
        r.assert_hardened();
        // An absolute-form target naming another authority.
        let r = login
            .raw(request(
                "GET",
                &format!("http://evil.example:{p}{target}"),
                &login.host(),
            ))
            .await;
        assert_eq!(r.status, 404, "absolute form: {r:?}");
        assert_eq!(
            login.logs.count("foreign Host header"),
            foreign_hosts.len() + 1
        );
        login.finish_with_code().await;
    });
}

#[test]
fn wrong_paths_and_methods_are_not_served_even_with_the_right_state() {
    run(async {
        let login = Login::start(options());
        let query = format!("code={ATTACKER_CODE}&state={}", login.state);
        let paths = [
            "/callback/",
            "/callbackx",
            "/CALLBACK",
            "/%63allback",
            "//callback",
            "/./callback",
            "/x/../callback",
            "/callback;x",
            "/callback.html",
            "/",
        ];
        for path in paths {
            let r = login.get(&format!("{path}?{query}")).await;
            assert_eq!(r.status, 404, "{path}: {r:?}");
            r.assert_hardened();
        }
        let r = login.get(&format!("/favicon.ico?{query}")).await;
        assert_eq!(r.status, 404);
        for method in ["PUT", "DELETE", "TRACE", "PATCH"] {
            let r = login
                .raw(request(
                    method,
                    &format!("/callback?{query}"),
                    &login.host(),
                ))
                .await;
            assert_eq!(r.status, 405, "{method}: {r:?}");
            assert_eq!(r.header("allow"), Some("GET, POST, OPTIONS"));
        }
        // A cross-origin page: its preflight and its POST are refused.
        let preflight = format!(
            "OPTIONS /callback HTTP/1.1\r\nHost: {}\r\nOrigin: https://evil.example\r\n\
         Access-Control-Request-Method: POST\r\nAccess-Control-Request-Private-Network: true\r\n\r\n",
            login.host()
        );
        let r = login.raw(preflight).await;
        assert_eq!(r.status, 403, "{r:?}");
        assert_eq!(r.header("access-control-allow-origin"), None);
        assert_eq!(r.header("access-control-allow-private-network"), None);
        let body = format!(
            "{{\"code\":\"{ATTACKER_CODE}\",\"state\":\"{}\"}}",
            login.state
        );
        let post = format!(
            "POST /callback HTTP/1.1\r\nHost: {}\r\nOrigin: https://evil.example\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            login.host(),
            body.len()
        );
        assert_eq!(login.raw(post).await.status, 403);
        assert_eq!(login.logs.count("unknown path"), paths.len());
        assert_eq!(login.logs.count("method not allowed"), 4);
        login.finish_with_code().await;
    });
}

#[test]
fn script_payloads_in_error_parameters_are_escaped_and_sandboxed() {
    run(async {
        let login = Login::start(options());
        // form-urlencoded payloads: a javascript: URL, tags, attribute breakouts, bidi
        // overrides (U+202E) and a terminal escape (ESC [31m).
        let error = "javascript:alert(document.domain)";
        let description = "%3Cscript%3Ealert(1)%3C%2Fscript%3E%22%3E%3Cimg+src%3Dx+onerror%3Dalert(2)%3E\
                       %3Csvg%2Fonload%3Dalert(3)%3E%3C%2Ftitle%3E%3Ca+href%3D%22javascript%3Aalert(4)%22%3Ex%3C%2Fa%3E\
                       %E2%80%AEtxt.exe%1B%5B31mred%27";
        // With a forged state nothing of it is reflected.
        for (e, d) in [(error, description), (description, error)] {
            let r = login
                .get(&format!(
                    "/callback?error={e}&error_description={d}&state=forged-state-value"
                ))
                .await;
            assert_eq!(r.status, 400, "{r:?}");
            r.assert_hardened();
            assert!(!r.body.contains("alert("), "reflected: {}", r.body);
        }
        // The real authorization server reports an error carrying the payload: the login
        // ends with that error, and the page shows it as inert text.
        let target = format!(
            "/callback?error={error}&error_description={description}&state={}",
            login.state
        );
        let (reply, params) = login.finish(&target, 400).await;
        assert_eq!(
            reply.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(reply.header("content-security-policy"), Some(CSP));
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        let start = reply.body.find("<p>").unwrap() + 3;
        let text = &reply.body[start..start + reply.body[start..].find("</p>").unwrap()];
        assert!(
            !text.contains(['<', '>', '"', '\'', '\u{202e}', '\u{1b}']),
            "unescaped: {text}"
        );
        assert!(
            text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{text}"
        );
        assert!(
            text.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"),
            "{text}"
        );
        assert!(text.contains("&#39;"), "{text}");
        // The values handed to the login are sanitised too (no bidi, no escape).
        assert_eq!(params.error.as_deref(), Some(error));
        let d = params.error_description.unwrap();
        assert!(!d.contains(['\u{202e}', '\u{1b}']), "{d:?}");
        assert!(params.code.is_none());
    });
}

/// Spawns a task that records when the server closes `stream` (EOF or reset); a
/// trickling connection also writes one more byte of a never-ending request line
/// every 50 ms.
fn watch(stream: TcpStream, trickle: bool, closed: Arc<AtomicUsize>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let (mut r, mut w) = stream.into_split();
        let writer = tokio::spawn(async move {
            if trickle {
                let _ = w
                    .write_all(format!("GET /callback?code={ATTACKER_CODE}&state=").as_bytes())
                    .await;
                loop {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    if w.write_all(b"A").await.is_err() {
                        break;
                    }
                }
            } else {
                std::future::pending::<()>().await;
            }
            drop(w);
        });
        let mut buf = [0u8; 512];
        // Nothing is answered to a request that never ends: the first read sees the
        // server close the connection.
        if let Ok(n @ 1..) = r.read(&mut buf).await {
            panic!("an idle connection got {n} bytes");
        }
        closed.fetch_add(1, Ordering::SeqCst);
        writer.abort();
    })
}

/// How many connected TCP sockets this process holds whose *local* port is `port`
/// (the server's side of its connections; the listeners and the test's own client
/// sockets are not counted), from `/proc/self/fd` and `/proc/net/tcp{,6}`. Sockets are
/// counted by inode: a table read in several pieces while sockets come and go can
/// list one twice.
fn server_side_sockets(port: u16) -> usize {
    let mine: std::collections::HashSet<String> = std::fs::read_dir("/proc/self/fd")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    let local = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        })
        .filter(|cols| {
            cols.len() > 9
                && cols[1].ends_with(&local)
                && cols[3] != "0A" // LISTEN
                && mine.contains(&cols[9])
        })
        .map(|cols| cols[9].clone())
        .collect::<std::collections::HashSet<_>>()
        .len()
}

#[test]
fn slowloris_200_idle_and_trickling_connections_do_not_block_the_callback() {
    run(async {
        // A one-hour read timeout: only the admission policy can make room.
        let max = LoopbackOptions::default().max_connections;
        let login = Login::start({
            let mut o = options();
            o.read_timeout = Duration::from_secs(3600);
            o
        });
        // The server's side of its connections, sampled throughout.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = std::thread::spawn({
            let (stop, port) = (Arc::clone(&stop), login.port);
            move || {
                let mut peak = 0;
                while !stop.load(Ordering::Relaxed) {
                    peak = peak.max(server_side_sockets(port));
                    std::thread::sleep(Duration::from_millis(2));
                }
                peak
            }
        });
        const ATTACKERS: usize = 200;
        let closed = Arc::new(AtomicUsize::new(0));
        let mut watchers = Vec::new();
        for i in 0..ATTACKERS {
            let stream = TcpStream::connect(v4(login.port)).await.unwrap();
            watchers.push(watch(stream, i % 2 == 1, Arc::clone(&closed)));
        }
        // The server holds `max` of them and accepts no more; every second it closes
        // those that are idle or still trickling and takes the next ones in order.
        // The probe and the real callback, queued behind all 200, get through.
        let port = login.port;
        login.finish_with_code().await;
        let c = Arc::clone(&closed);
        until("every attacker connection to be closed", || {
            c.load(Ordering::SeqCst) == ATTACKERS
        })
        .await;
        stop.store(true, Ordering::Relaxed);
        let peak = sampler.join().unwrap();
        eprintln!("peak server-side connections: {peak} (limit {max})");
        assert!(peak <= max, "held {peak} connections, more than {max}");
        assert!(peak >= max / 2, "the limit was never approached ({peak})");
        for w in watchers {
            w.await.unwrap();
        }
        assert!(StdListener::bind(v4(port)).is_ok());
    });
}

#[test]
fn a_1mb_header_block_is_refused_without_ending_the_login() {
    run(async {
        let login = Login::start(options());
        let target = format!("/callback?code={ATTACKER_CODE}&state={}", login.state);
        let head = format!("GET {target} HTTP/1.1\r\nHost: {}\r\n", login.host());
        const MB: usize = 1 << 20;
        let mut many_lines = head.clone().into_bytes();
        let mut i = 0;
        while many_lines.len() < MB {
            many_lines
                .extend_from_slice(format!("X-Pad-{i:06}: {}\r\n", "a".repeat(80)).as_bytes());
            i += 1;
        }
        many_lines.extend_from_slice(b"\r\n");
        let mut one_value = head.clone().into_bytes();
        one_value.extend_from_slice(b"X-Big: ");
        one_value.extend(std::iter::repeat_n(b'b', MB));
        one_value.extend_from_slice(b"\r\n\r\n");
        let mut tiny_headers = head.clone().into_bytes();
        for i in 0..20_000 {
            tiny_headers.extend_from_slice(format!("X{i}:\r\n").as_bytes());
        }
        tiny_headers.extend_from_slice(b"\r\n");
        for (what, bytes) in [
            ("1 MB of header lines", many_lines),
            ("one 1 MB header value", one_value),
            ("20 000 headers", tiny_headers),
        ] {
            let r = login.raw(bytes).await;
            // Refused once the limit is crossed; the server may close while the client
            // is still writing, which resets the connection before the page is read.
            assert!(
                r.status == 431 || r.status == 0,
                "{what}: {} {}",
                r.status,
                r.head
            );
            if r.status == 431 {
                r.assert_hardened();
            }
            assert!(!login.wait.is_finished(), "{what} ended the login");
        }
        // A 1 MB body announced with the real state.
        let post = format!(
            "POST /callback HTTP/1.1\r\nHost: {}\r\nOrigin: https://evil.example\r\nContent-Type: application/json\r\nContent-Length: {MB}\r\n\r\n",
            login.host()
        );
        let mut bytes = post.into_bytes();
        bytes.extend(std::iter::repeat_n(b'{', MB));
        let r = login.raw(bytes).await;
        assert!(r.status == 413 || r.status == 0, "{r:?}");
        let refused = login.logs.count("request headers too large")
            + login.logs.count("too many request headers")
            + login.logs.count("request too large")
            + login.logs.count("request body too large");
        assert_eq!(refused, 4, "{:?}", login.logs.notes());
        login.finish_with_code().await;
    });
}

/// An address added to this machine for the test (root only), removed on drop.
struct TemporaryAddress {
    addr: IpAddr,
    undo: Vec<&'static str>,
}

/// The test address (RFC 2544 benchmarking range: never routed).
const TEMPORARY_ADDRESS: &str = "198.18.91.1";

impl TemporaryAddress {
    /// A `dummy` interface holding [`TEMPORARY_ADDRESS`]; where the kernel has no
    /// dummy module (containers), the same address added to `lo` instead. Sockets
    /// bind to addresses, not to interfaces, so either shows the same thing: a
    /// listener on `127.0.0.1` does not answer on another local address. Needs
    /// root and `ip`; `None` (and why, on stderr) otherwise.
    fn create() -> Option<TemporaryAddress> {
        let ip = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .output()
                .is_ok_and(|o| o.status.success())
        };
        let addr: IpAddr = TEMPORARY_ADDRESS.parse().unwrap();
        let cidr = "198.18.91.1/32";
        let name = "cliauthatk0";
        let _ = ip(&["link", "del", name]);
        if ip(&["link", "add", name, "type", "dummy"]) {
            if ip(&["addr", "add", cidr, "dev", name]) && ip(&["link", "set", name, "up"]) {
                eprintln!("added a dummy interface {name} with {cidr}");
                return Some(TemporaryAddress {
                    addr,
                    undo: vec!["link", "del", name],
                });
            }
            let _ = ip(&["link", "del", name]);
        }
        let _ = ip(&["addr", "del", cidr, "dev", "lo"]);
        if ip(&["addr", "add", cidr, "dev", "lo"]) {
            eprintln!("no dummy interface here; added {cidr} to lo");
            return Some(TemporaryAddress {
                addr,
                undo: vec!["addr", "del", cidr, "dev", "lo"],
            });
        }
        eprintln!("cannot add an address (needs root and `ip`)");
        None
    }
}

impl Drop for TemporaryAddress {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(&self.undo).output();
    }
}

/// This machine's addresses that are not loopback (nor IPv6 link-local, which
/// needs a scope): from `ip -o addr`, else from connected UDP sockets (no packet
/// is sent). With none — or with `CLIAUTH_ATTACK_TEMPORARY_ADDRESS=1`, to exercise
/// this path — a [`TemporaryAddress`].
fn non_loopback_addresses() -> (Vec<IpAddr>, Option<TemporaryAddress>) {
    let usable = |a: &IpAddr| match a {
        IpAddr::V4(v) => !v.is_loopback() && !v.is_unspecified(),
        IpAddr::V6(v) => {
            !v.is_loopback() && !v.is_unspecified() && (v.segments()[0] & 0xffc0) != 0xfe80
        }
    };
    let forced = std::env::var_os("CLIAUTH_ATTACK_TEMPORARY_ADDRESS").is_some_and(|v| v == "1");
    let mut found: Vec<IpAddr> = Vec::new();
    if let Ok(out) = Command::new("ip").args(["-o", "addr", "show"]).output() {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut words = line.split_whitespace();
            while let Some(w) = words.next() {
                if (w == "inet" || w == "inet6")
                    && let Some(addr) = words
                        .next()
                        .and_then(|a| a.split('/').next())
                        .and_then(|a| a.parse::<IpAddr>().ok())
                    && usable(&addr)
                {
                    found.push(addr);
                }
            }
        }
    }
    if found.is_empty() {
        for (bind, target) in [("0.0.0.0:0", "192.0.2.1:9"), ("[::]:0", "[2001:db8::1]:9")] {
            if let Ok(sock) = UdpSocket::bind(bind)
                && sock.connect(target).is_ok()
                && let Ok(local) = sock.local_addr()
                && usable(&local.ip())
            {
                found.push(local.ip());
            }
        }
    }
    found.dedup();
    if (found.is_empty() || forced)
        && let Some(added) = TemporaryAddress::create()
    {
        return (vec![added.addr], Some(added));
    }
    (found, None)
}

#[test]
fn the_server_does_not_answer_on_other_interfaces() {
    run(async {
        let (addresses, _added) = non_loopback_addresses();
        if addresses.is_empty() {
            panic!(
                "no non-loopback address on this machine and no way to add one (not root, or no \
             `ip`): the bind-to-loopback-only property cannot be shown here"
            );
        }
        let login = Login::start(options());
        for addr in &addresses {
            // The address is real and reachable from here: a control listener on it
            // accepts a connection.
            let control = StdListener::bind((*addr, 0)).unwrap();
            let control_addr = control.local_addr().unwrap();
            assert!(
                timeout(GUARD, TcpStream::connect(control_addr))
                    .await
                    .unwrap()
                    .is_ok(),
                "control connection to {control_addr}"
            );
            drop(control);
            // The login's port on that address: nobody listens.
            let there = SocketAddr::new(*addr, login.port);
            let err = timeout(GUARD, TcpStream::connect(there))
                .await
                .expect("connect hung")
                .expect_err(&format!("{there} answered"));
            assert_eq!(
                err.kind(),
                std::io::ErrorKind::ConnectionRefused,
                "{there}: {err}"
            );
            // Nothing holds that address and port, not even a wildcard socket: another
            // program can bind it.
            let probe = StdListener::bind(there);
            assert!(probe.is_ok(), "{there} is taken: {probe:?}");
            drop(probe);
        }
        eprintln!("refused on {addresses:?}");
        assert_eq!(login.logs.notes().len(), 0, "a request reached the server");
        login.finish_with_code().await;
    });
}

#[test]
fn a_second_callback_after_success_is_refused_and_changes_nothing() {
    run(async {
        let login = Login::start(options());
        let port = login.port;
        let real = request(
            "GET",
            &format!("/callback?code={LEGIT_CODE}&state={}", login.state),
            &login.host(),
        );
        let replay = request(
            "GET",
            &format!("/callback?code={ATTACKER_CODE}&state={}", login.state),
            &login.host(),
        );
        login.assert_responsive().await;
        // Both connections are open before anything is sent; the replay follows the
        // real callback at once.
        let first = TcpStream::connect(v4(port)).await.unwrap();
        let second = TcpStream::connect(v4(port)).await.unwrap();
        let exchange = |mut s: TcpStream, bytes: Vec<u8>| async move {
            let _ = s.write_all(&bytes).await;
            let mut out = Vec::new();
            let _ = timeout(GUARD, s.read_to_end(&mut out)).await.unwrap();
            Reply::parse(&out)
        };
        let a = tokio::spawn(exchange(first, real));
        let b = tokio::spawn(exchange(second, replay));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        assert_eq!(a.status, 200, "{a:?}");
        let params = timeout(GUARD, login.wait).await.unwrap().unwrap().unwrap();
        assert_eq!(params.code.unwrap().expose_secret(), LEGIT_CODE);
        // The replay is answered "already signed in", or its connection is closed
        // unanswered when the login ends first; never accepted.
        assert!(b.status == 409 || b.status == 0, "{b:?}");
        if b.status == 409 {
            assert!(b.body.contains("Already signed in"));
            b.assert_hardened();
        }
        assert_eq!(login.logs.events(), 1, "{:?}", login.logs.notes());
        assert_eq!(
            login.logs.count("callback after completion"),
            usize::from(b.status == 409)
        );
        eprintln!("the replay got {}", b.status);
        // After the login: nobody listens any more.
        let err = TcpStream::connect(v4(port)).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(StdListener::bind(v4(port)).is_ok());
        let before = login.fds_before;
        until("the server's sockets to close", || open_fds() <= before).await;
    });
}

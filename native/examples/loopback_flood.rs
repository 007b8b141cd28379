//! Load on the loopback callback server, from another process, for cliauth's flood
//! test and the `loopback` benchmark.
//!
//! ```text
//! # the client side of native/tests/flood.rs: a connect flood around complete
//! # one-write callbacks, then the real callback; prints one JSON line
//! cargo run -p cliauth --example loopback_flood -- flood PORT STATE [SECONDS] [ATTACKERS] [LEGIT]
//!
//! # the benchmark: a server in this process, slow-body POSTs from a child process;
//! # prints the server process's CPU time as one JSON line
//! cargo run --release -p cliauth --example loopback_flood -- slow-body [CONNECTIONS] [BODY_BYTES]
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cliauth::loopback::{LoopbackOptions, LoopbackServer};
use cliauth_core::loopback::{LoopbackConfig, LoopbackHandler};
use cliauth_core::state::StateToken;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A hang guard for one client request, never a speed expectation.
const GUARD: Duration = Duration::from_secs(90);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| -> u64 {
        args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("runtime: {e}")));
    let line = match args.first().map(String::as_str) {
        Some("flood") => {
            let port = arg(1, 0) as u16;
            let state = args.get(2).cloned().unwrap_or_default();
            runtime.block_on(flood(port, state, arg(3, 5), arg(4, 300), arg(5, 150)))
        }
        Some("slow-body") => runtime.block_on(slow_body(arg(1, 64), arg(2, 2_000))),
        Some("slow-clients") => {
            let port = arg(1, 0) as u16;
            let state = args.get(2).cloned().unwrap_or_default();
            runtime.block_on(slow_clients(port, state, arg(3, 64), arg(4, 2_000)))
        }
        _ => fail(
            "usage: loopback_flood flood PORT STATE [SECONDS] [ATTACKERS] [LEGIT] | slow-body [CONNECTIONS] [BODY_BYTES]",
        ),
    };
    println!("{line}");
}

fn fail(message: &str) -> ! {
    eprintln!("loopback_flood: {message}");
    std::process::exit(2)
}

/// xorshift64, for attacker timings (quality does not matter).
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

/// Sends `request` in one write and returns the status of the answer (0: the
/// connection closed without one, or could not be made).
async fn one_write(port: u16, request: Vec<u8>) -> u16 {
    let exchange = async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        s.set_nodelay(true).ok()?;
        s.write_all(&request).await.ok()?;
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        let text = String::from_utf8_lossy(&out);
        text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    };
    tokio::time::timeout(GUARD, exchange)
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
}

fn get(port: u16, target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: flood-test\r\n\r\n")
        .into_bytes()
}

/// The flood: `attackers` tasks open connections as fast as they can for `seconds`
/// — a third hold them silent, a third close at once, a third send half a request
/// and hold it — while `legit` complete one-write callbacks (a forged `state`, so
/// each is answered 400 and none ends the login) are spread over the same time.
/// Then the real callback.
async fn flood(port: u16, state: String, seconds: u64, attackers: u64, legit: u64) -> String {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id())
        | 1;
    let until = Instant::now() + Duration::from_secs(seconds);
    let opened = Arc::new(AtomicUsize::new(0));
    let mut flooders = Vec::new();
    for a in 0..attackers {
        let opened = Arc::clone(&opened);
        flooders.push(tokio::spawn(async move {
            let mut rng = Rng(seed.wrapping_add(a.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1);
            while Instant::now() < until {
                let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)).await else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                opened.fetch_add(1, Ordering::Relaxed);
                match a % 3 {
                    0 => tokio::time::sleep(Duration::from_millis(rng.below(1500))).await,
                    1 => {}
                    _ => {
                        let _ = s.write_all(b"GET /callback?code=flood&sta").await;
                        tokio::time::sleep(Duration::from_millis(rng.below(1500))).await;
                    }
                }
                drop(s);
            }
        }));
    }
    let mut callbacks = Vec::new();
    for i in 0..legit {
        let at = Duration::from_secs(seconds) * u32::try_from(i).unwrap_or(0)
            / u32::try_from(legit.max(1)).unwrap_or(1);
        callbacks.push(tokio::spawn(async move {
            tokio::time::sleep(at).await;
            one_write(
                port,
                get(port, &format!("/callback?code=legit-{i}&state=forged-{i}")),
            )
            .await
        }));
    }
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    for c in callbacks {
        *statuses.entry(c.await.unwrap_or(0)).or_default() += 1;
    }
    for f in flooders {
        let _ = f.await;
    }
    let real = one_write(
        port,
        get(port, &format!("/callback?code=real-code&state={state}")),
    )
    .await;
    let unanswered = statuses.get(&0).copied().unwrap_or(0);
    serde_json::json!({
        "legit": legit,
        "answered": legit - unanswered,
        "unanswered": unanswered,
        "statuses": statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
        "real": real,
        "attacker_connections": opened.load(Ordering::Relaxed),
        "seconds": seconds,
        "attackers": attackers,
    })
    .to_string()
}

/// This process's CPU time (user + system) from `/proc/self/stat`.
fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // The fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat(5): 11 and 12 after `state`.
    let total = ticks(11) + ticks(12);
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap_or(100);
    Duration::from_millis(total * 1000 / hz.max(1))
}

/// The benchmark: a loopback server here, `connections` clients in a child process
/// each sending a 15 KiB header block and dripping a `body`-byte POST body one byte
/// per millisecond (a slow-body attack); reports this
/// process's CPU time and its share of one core.
async fn slow_body(connections: u64, body: u64) -> String {
    let mut options = LoopbackOptions::default();
    options.cancel_on_ctrl_c = false;
    options.read_timeout = Duration::from_secs(600);
    let server = LoopbackServer::bind(options).unwrap_or_else(|e| fail(&e.to_string()));
    let port = server.port();
    let state = StateToken::from_entropy(&[3; 32]);
    let mut config = LoopbackConfig::new(port, "Bench");
    config.accept.api_key = true;
    config.allowed_origins = vec!["https://app.example".into()];
    let handler = LoopbackHandler::new(config, &state);
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(&e.to_string()));
    let child = Command::new(exe)
        .args(["slow-clients", &port.to_string(), state.expose_secret()])
        .args([connections.to_string(), body.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(&e.to_string()));
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    let result = server.wait(handler, Duration::from_secs(600)).await;
    let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| fail(&e.to_string()));
    let clients: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    if result.is_err() || clients["answered"] != connections {
        fail(&format!("the run failed: {result:?} {clients}"));
    }
    serde_json::json!({
        "connections": connections,
        "body_bytes": body,
        "server_cpu_ms": cpu.as_millis() as u64,
        "wall_ms": wall.as_millis() as u64,
        "cpu_share": cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9),
        "clients": clients,
    })
    .to_string()
}

/// The clients of [`slow_body`]: `connections` POSTs at once, each with a 15 KiB
/// header block and a body dripped one byte per millisecond (`TCP_NODELAY`, so each byte is its own segment and read),
/// then the real callback.
async fn slow_clients(port: u16, state: String, connections: u64, body: u64) -> String {
    let mut tasks = Vec::new();
    for i in 0..connections {
        tasks.push(tokio::spawn(async move {
            let payload = format!(
                "{{\"api_key\":\"k-{i}\",\"state\":\"forged\",\"pad\":\"{}\"}}",
                "x".repeat(body.saturating_sub(40) as usize)
            );
            // A header block near the 16 KiB limit (60 fields), sent at once; then
            // the body, dripped.
            let mut head = format!(
                "POST /callback HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: https://app.example\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n",
                payload.len()
            );
            for n in 0..60 {
                head.push_str(&format!("X-Pad-{n:02}: {}\r\n", "p".repeat(240)));
            }
            head.push_str("\r\n");
            let run = async {
                let mut s = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
                s.set_nodelay(true).ok()?;
                s.write_all(head.as_bytes()).await.ok()?;
                for b in payload.as_bytes() {
                    s.write_all(std::slice::from_ref(b)).await.ok()?;
                    // A byte a millisecond: the server reads every byte on its own.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let mut out = Vec::new();
                let _ = s.read_to_end(&mut out).await;
                Some(out.starts_with(b"HTTP/1.1 "))
            };
            tokio::time::timeout(Duration::from_secs(600), run)
                .await
                .ok()
                .flatten()
                .unwrap_or(false)
        }));
    }
    let mut answered = 0u64;
    for t in tasks {
        answered += u64::from(t.await.unwrap_or(false));
    }
    let real = one_write(
        port,
        get(port, &format!("/callback?code=bench&state={state}")),
    )
    .await;
    serde_json::json!({ "answered": answered, "real": real }).to_string()
}

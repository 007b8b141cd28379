//! Benchmark groups that run the demo CLI against the dev server as real processes:
//! CLI cold start, refresh storm, device-flow efficiency; and the loopback server
//! under slow-body POSTs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bench::Row;
use crate::util::{cmd, root, run};

/// Release builds of democli and the dev server (benchmarks measure what users run).
pub fn release_bins() -> Result<(PathBuf, PathBuf), String> {
    run(cmd("cargo").args([
        "build",
        "--release",
        "-p",
        "cliauth-demo",
        "-p",
        "cliauth-devserver",
    ]))?;
    let dir = root().join("target").join("release");
    Ok((dir.join("democli"), dir.join("cliauth-devserver")))
}

/// A dev server process, stopped on drop.
pub struct DevServer {
    child: Child,
    /// Its base URL.
    pub url: String,
}

impl DevServer {
    pub fn start(bin: &Path, args: &[&str]) -> Result<DevServer, String> {
        let mut child = Command::new(bin)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the dev server: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let v: Value =
            serde_json::from_str(&line).map_err(|e| format!("dev server said {line:?}: {e}"))?;
        let url = v["url"].as_str().ok_or("no url")?.to_string();
        Ok(DevServer { child, url })
    }

    /// `GET /_dev/stats`.
    pub fn stats(&self) -> Result<Value, String> {
        let body = http_get(&format!("{}/_dev/stats", self.url))?;
        serde_json::from_str(&body).map_err(|e| e.to_string())
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET on loopback (xtask has no HTTP client dependency).
pub fn http_get(url: &str) -> Result<String, String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let mut stream = TcpStream::connect(authority).map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("malformed response")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "GET {url}: {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    Ok(body.to_string())
}

fn democli(bin: &Path, home: &Path, issuer: &str) -> Command {
    let mut c = Command::new(bin);
    c.env("DEMO_HOME", home)
        .env("DEMO_ISSUER", issuer)
        .env("DEMO_CLI_AUTH_PAGE", "off")
        .env_remove("DEMO_API_KEY")
        .env("NO_COLOR", "1");
    c
}

/// A device login that the dev server approves by itself.
fn device_login(democli_bin: &Path, home: &Path, issuer: &str) -> Result<Duration, String> {
    let start = Instant::now();
    let out = democli(democli_bin, home, issuer)
        .args(["auth", "login", "--device"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "device login failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(start.elapsed())
}

fn temp_home(name: &str) -> Result<PathBuf, String> {
    let dir = root().join("target").join("bench").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let home = dir.join("home");
    Ok(home)
}

/// `democli auth status` with a stored OAuth profile, over repeated cold runs.
pub fn cold_start() -> Result<Vec<Row>, String> {
    let (democli_bin, server_bin) = release_bins()?;
    crate::bench::ensure_hyperfine()?;
    let server = DevServer::start(
        &server_bin,
        &["--auto-approve-device", "500ms", "--device-interval", "1s"],
    )?;
    let home = temp_home("cold-start")?;
    device_login(&democli_bin, &home, &server.url)?;
    let issuer = server.url.clone();
    drop(server); // status must not need the server
    let json = root()
        .join("target")
        .join("bench")
        .join("cold-start")
        .join("hyperfine.json");
    let status = format!("{} auth status", democli_bin.display());
    let version = format!("{} --version", democli_bin.display());
    run(cmd("hyperfine")
        .args(["-N", "--warmup", "20", "--runs", "200", "--export-json"])
        .arg(&json)
        .args([
            "--command-name",
            "status",
            &status,
            "--command-name",
            "version",
            &version,
        ])
        .env("DEMO_HOME", &home)
        .env("DEMO_ISSUER", &issuer)
        .env("DEMO_CLI_AUTH_PAGE", "off")
        .env("NO_COLOR", "1"))?;
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let stat = |i: usize, k: &str| v["results"][i][k].as_f64().unwrap_or(f64::NAN) * 1000.0;
    let median = stat(0, "median");
    let baseline = stat(1, "median");
    let spread = format!(
        "200 runs after 20 warm-ups (hyperfine -N); min {:.2} ms, max {:.2} ms, σ {:.2} ms",
        stat(0, "min"),
        stat(0, "max"),
        stat(0, "stddev")
    );
    Ok(vec![
        Row::new(
            "CLI cold start",
            "`democli auth status` with a stored OAuth profile (median)",
            median,
            "ms",
        )
        .baseline(
            "`democli --version` (process start + argument parsing)",
            baseline,
        )
        .goal("≤ 5 ms median", median <= 5.0)
        .method(spread),
    ])
}

/// 32 processes ask for a token at once while the access token is expired.
pub fn refresh_storm() -> Result<Vec<Row>, String> {
    const PROCESSES: usize = 32;
    let (democli_bin, server_bin) = release_bins()?;
    let server = DevServer::start(
        &server_bin,
        &[
            "--auto-approve-device",
            "500ms",
            "--device-interval",
            "1s",
            "--access-token-ttl",
            "2s",
        ],
    )?;
    let home = temp_home("refresh-storm")?;
    device_login(&democli_bin, &home, &server.url)?;
    // Let the 20 s access token expire.
    std::thread::sleep(Duration::from_secs(21));
    let before = server.stats()?["refreshes"].as_u64().unwrap_or(0);
    let start = Instant::now();
    let children: Vec<Child> = (0..PROCESSES)
        .map(|_| {
            democli(&democli_bin, &home, &server.url)
                .args(["auth", "token"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let mut failures = 0;
    let mut tokens = std::collections::BTreeSet::new();
    for child in children {
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if out.status.success() {
            tokens.insert(String::from_utf8_lossy(&out.stdout).trim().to_string());
        } else {
            failures += 1;
        }
    }
    let wall = start.elapsed().as_secs_f64() * 1000.0;
    let refreshes = server.stats()?["refreshes"].as_u64().unwrap_or(0) - before;
    let how = format!(
        "{PROCESSES} `democli auth token` processes started together; access token expired; rotating refresh tokens; counted by the dev server"
    );
    Ok(vec![
        Row::new(
            "Refresh storm",
            format!("Refresh requests seen by the server ({PROCESSES} processes)"),
            refreshes as f64,
            "count",
        )
        .goal("exactly 1", refreshes == 1)
        .method(how.clone()),
        Row::new(
            "Refresh storm",
            "Processes that failed",
            failures as f64,
            "count",
        )
        .goal("0", failures == 0)
        .method(how.clone()),
        Row::new(
            "Refresh storm",
            "Distinct access tokens handed out",
            tokens.len() as f64,
            "count",
        )
        .goal(
            "1 (everyone gets the one refreshed token)",
            tokens.len() == 1,
        )
        .method(how.clone()),
        Row::new(
            "Refresh storm",
            "Wall time, first start to last exit",
            wall,
            "ms",
        )
        .method(how),
    ])
}

/// Polls per device login against the minimum.
pub fn device_efficiency() -> Result<Vec<Row>, String> {
    let (democli_bin, server_bin) = release_bins()?;
    let approval = 7u64;
    let interval = 2u64;
    let server = DevServer::start(
        &server_bin,
        &[
            "--auto-approve-device",
            &format!("{approval}s"),
            "--device-interval",
            &format!("{interval}s"),
        ],
    )?;
    let home = temp_home("device")?;
    let took = device_login(&democli_bin, &home, &server.url)?;
    let stats = server.stats()?;
    let polls = stats["device_polls"].as_u64().unwrap_or(0) as f64;
    let slow_downs = stats["slow_downs"].as_u64().unwrap_or(0) as f64;
    let minimum = (approval as f64 / interval as f64).ceil() + 1.0;
    let how = format!(
        "`democli auth login --device` against the dev server: interval {interval} s, approval after {approval} s; polls counted by the server"
    );
    Ok(vec![
        Row::new(
            "Device flow efficiency",
            "Token polls per login",
            polls,
            "count",
        )
        .baseline("minimum ⌈approval / interval⌉ + 1", minimum)
        .goal("≤ minimum", polls <= minimum)
        .method(how.clone()),
        Row::new(
            "Device flow efficiency",
            "`slow_down` answers received",
            slow_downs,
            "count",
        )
        .goal("0 with a compliant server", slow_downs == 0.0)
        .method(how.clone()),
        Row::new(
            "Device flow efficiency",
            "Login duration",
            took.as_secs_f64() * 1000.0,
            "ms",
        )
        .method(how),
    ])
}

/// The loopback server's CPU under slow-body POSTs (issue 10, item 9): the
/// `loopback_flood` example runs the server and drives 64 connections from a child
/// process, each with a 15 KiB header block and a body dripped one byte per
/// millisecond; the server process's CPU time comes from `/proc/self/stat`.
pub fn loopback_slow_body() -> Result<Vec<Row>, String> {
    run(cmd("cargo").args([
        "build",
        "--release",
        "-p",
        "cliauth",
        "--example",
        "loopback_flood",
    ]))?;
    let bin = root()
        .join("target")
        .join("release")
        .join("examples")
        .join("loopback_flood");
    let (connections, body) = (64, 2000);
    let text = crate::util::output(Command::new(&bin).args([
        "slow-body",
        &connections.to_string(),
        &body.to_string(),
    ]))?;
    let v: Value = serde_json::from_str(text.trim()).map_err(|e| format!("{e}: {text}"))?;
    let share = v["cpu_share"].as_f64().ok_or("no cpu_share")? * 100.0;
    let cpu_ms = v["server_cpu_ms"].as_f64().ok_or("no server_cpu_ms")?;
    let wall_ms = v["wall_ms"].as_f64().ok_or("no wall_ms")?;
    let how = format!(
        "`loopback_flood slow-body`: {connections} POSTs at once from another process, each a 15 KiB header block then {body} body bytes one per ms (TCP_NODELAY); server CPU from /proc/self/stat over {:.1} s",
        wall_ms / 1000.0
    );
    Ok(vec![
        Row::new(
            "Loopback server under slow-body POSTs",
            "Server CPU, share of one core",
            share,
            "%",
        )
        .method(how.clone()),
        Row::new(
            "Loopback server under slow-body POSTs",
            "Server CPU time for the whole run",
            cpu_ms,
            "ms",
        )
        .method(how),
    ])
}

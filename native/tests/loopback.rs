//! The loopback server on real sockets.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::net::TcpListener as StdListener;
use std::time::Duration;

use cliauth::Error;
use cliauth::loopback::{LoopbackOptions, LoopbackServer};
use cliauth_core::loopback::{LoopbackConfig, LoopbackHandler};
use cliauth_core::state::StateToken;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn options() -> LoopbackOptions {
    let mut o = LoopbackOptions::default();
    o.cancel_on_ctrl_c = false;
    o
}

fn setup(server: &LoopbackServer) -> (LoopbackHandler, String) {
    let state = StateToken::from_entropy(&[9; 32]);
    let handler = LoopbackHandler::new(LoopbackConfig::new(server.port(), "Acme"), &state);
    (handler, state.expose_secret().to_string())
}

/// Sends raw bytes and returns the whole response.
async fn raw(host: &str, port: u16, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect((host, port)).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

async fn get(port: u16, target: &str) -> String {
    raw(
        "127.0.0.1",
        port,
        format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes(),
    )
    .await
}

fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn port_is_free(port: u16) -> bool {
    StdListener::bind(("127.0.0.1", port)).is_ok()
}

#[tokio::test]
async fn forged_and_stray_requests_never_end_the_wait() {
    let server = LoopbackServer::bind(options()).unwrap();
    let port = server.port();
    let (handler, state) = setup(&server);
    let browser = tokio::spawn(async move {
        let mut statuses = Vec::new();
        for target in [
            "/favicon.ico".to_string(),
            "/".to_string(),
            "/callback?code=evil&state=forged-state-value".to_string(),
            "/callback?code=evil".to_string(),
            format!("/callback?code=x&state={state}&state={state}"),
        ] {
            statuses.push(status(&get(port, &target).await));
        }
        // DNS rebinding: right state, foreign Host.
        let rebinding = format!(
            "GET /callback?code=x&state={state} HTTP/1.1\r\nHost: evil.example:{port}\r\n\r\n"
        );
        statuses.push(status(&raw("127.0.0.1", port, rebinding.as_bytes()).await));
        // Garbage (a TLS ClientHello) and an oversize request line.
        statuses.push(status(
            &raw("127.0.0.1", port, b"\x16\x03\x01\x02\x00garbage\r\n\r\n").await,
        ));
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(20_000));
        statuses.push(status(&raw("127.0.0.1", port, long.as_bytes()).await));
        let ok = get(port, &format!("/callback?code=real-code&state={state}")).await;
        (statuses, ok)
    });
    let params = server.wait(handler, Duration::from_secs(20)).await.unwrap();
    assert_eq!(params.code.unwrap().expose_secret(), "real-code");
    let (statuses, ok) = browser.await.unwrap();
    assert_eq!(statuses, vec![404, 404, 400, 400, 400, 421, 400, 414]);
    assert_eq!(status(&ok), 200);
    assert!(ok.contains("Signed in to Acme"), "{ok}");
    // The wait returned: the port is released, later requests find nobody.
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
    assert!(port_is_free(port));
}

#[tokio::test]
async fn serves_preconnected_idle_sockets_and_favicon_concurrently() {
    // Idle sockets are never timed out here: if they held up other connections,
    // the wait below would run into its own timeout and fail.
    let server = LoopbackServer::bind({
        let mut o = options();
        o.read_timeout = Duration::from_secs(3600);
        o
    })
    .unwrap();
    let port = server.port();
    let (handler, state) = setup(&server);
    let browser = tokio::spawn(async move {
        // Browsers open spare connections and send nothing on them.
        let mut idle = Vec::new();
        for _ in 0..6 {
            idle.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
        }
        // A request trickling in on another connection, never finished.
        let mut slow = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        slow.write_all(b"GET /favicon.ico HT").await.unwrap();
        let favicon = tokio::spawn(get(port, "/favicon.ico"));
        let ok = get(port, &format!("/callback?code=c&state={state}")).await;
        (idle, slow, favicon.await.unwrap(), ok)
    });
    let params = server.wait(handler, Duration::from_secs(30)).await.unwrap();
    assert!(params.code.is_some());
    let (_idle, _slow, favicon, ok) = browser.await.unwrap();
    assert_eq!(status(&favicon), 404);
    assert_eq!(status(&ok), 200);
    assert!(port_is_free(port));
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_read_timeout() {
    let server = LoopbackServer::bind({
        let mut o = options();
        o.read_timeout = Duration::from_millis(300);
        o
    })
    .unwrap();
    let port = server.port();
    let (handler, state) = setup(&server);
    let client = tokio::spawn(async move {
        let mut idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut buf = [0u8; 16];
        // The server closes the idle socket: read returns 0 well before 10 s.
        let n = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut buf))
            .await
            .expect("idle connection was never closed")
            .unwrap_or(0);
        get(port, &format!("/callback?code=c&state={state}")).await;
        n
    });
    server.wait(handler, Duration::from_secs(20)).await.unwrap();
    assert_eq!(client.await.unwrap(), 0);
}

#[tokio::test]
async fn times_out_and_releases_the_port() {
    let server = LoopbackServer::bind(options()).unwrap();
    let port = server.port();
    let (handler, _) = setup(&server);
    let err = server
        .wait(handler, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::LoginTimedOut {
            waited: Duration::from_millis(300)
        }
    );
    assert!(port_is_free(port));
}

#[tokio::test]
async fn dropping_the_wait_releases_the_port() {
    let server = LoopbackServer::bind(options()).unwrap();
    let port = server.port();
    let (handler, _) = setup(&server);
    let wait = server.wait(handler, Duration::from_secs(60));
    // Another future wins the race (e.g. a pasted key); the wait is dropped.
    tokio::select! {
        _ = wait => panic!("nothing should have arrived"),
        () = tokio::time::sleep(Duration::from_millis(100)) => {}
    }
    assert!(port_is_free(port));
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
}

#[tokio::test]
async fn a_busy_port_is_a_clear_error() {
    let taken = StdListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let err = LoopbackServer::bind({
        let mut o = options();
        o.port = port;
        o
    })
    .unwrap_err();
    assert_eq!(
        err,
        Error::LoopbackUnavailable {
            address: format!("127.0.0.1:{port}"),
            reason: "the port is already in use".into(),
            source: None,
        }
    );
    // The OS error stays reachable as the source.
    let os = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .expect("the bind error is the source");
    assert_eq!(os.kind(), std::io::ErrorKind::AddrInUse);
    assert_eq!(err.exit_code(), 3);
    let app = cliauth::AppContext::new("acme", "Acme");
    assert!(err.render(&app).contains("acme auth login --device"));
}

#[tokio::test]
async fn a_handler_for_another_port_is_misuse() {
    let server = LoopbackServer::bind(options()).unwrap();
    let port = server.port();
    let state = StateToken::from_entropy(&[1; 32]);
    let handler = LoopbackHandler::new(LoopbackConfig::new(port.wrapping_add(1), "Acme"), &state);
    let err = server
        .wait(handler, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Misuse(_)));
    assert!(port_is_free(port));
}

#[tokio::test]
async fn answers_on_ipv6_loopback_when_available() {
    let server = LoopbackServer::bind(options()).unwrap();
    if !server.has_ipv6() {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    }
    let port = server.port();
    let (handler, state) = setup(&server);
    let browser = tokio::spawn(async move {
        let req =
            format!("GET /callback?code=v6&state={state} HTTP/1.1\r\nHost: [::1]:{port}\r\n\r\n");
        raw("::1", port, req.as_bytes()).await
    });
    let params = server.wait(handler, Duration::from_secs(10)).await.unwrap();
    assert_eq!(params.code.unwrap().expose_secret(), "v6");
    assert_eq!(status(&browser.await.unwrap()), 200);
}

#[tokio::test]
async fn an_authorization_error_with_the_right_state_ends_the_wait() {
    let server = LoopbackServer::bind(options()).unwrap();
    let port = server.port();
    let (handler, state) = setup(&server);
    tokio::spawn(async move {
        get(
            port,
            &format!("/callback?error=access_denied&error_description=no+thanks&state={state}"),
        )
        .await
    });
    let params = server.wait(handler, Duration::from_secs(10)).await.unwrap();
    assert_eq!(params.error.as_deref(), Some("access_denied"));
    assert_eq!(params.error_description.as_deref(), Some("no thanks"));
}

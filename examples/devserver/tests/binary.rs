//! The `cliauth-devserver` binary: one JSON line when ready, clean exit on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

#[test]
fn prints_one_json_line_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cliauth-devserver"))
        .args([
            "--issuer",
            "https://dev.cliauth.test",
            "--device-interval",
            "1s",
            "--rate-limit",
            "dev:memories=2/3s",
            "--auto-approve-device",
            "2s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.starts_with("{\"url\":\"http://127.0.0.1:"), "{line}");
    assert!(
        line.ends_with("\"issuer\":\"https://dev.cliauth.test\"}\n"),
        "{line}"
    );
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = ready["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(ready["issuer"], "https://dev.cliauth.test");
    assert_eq!(ready.as_object().unwrap().len(), 2);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let metadata: serde_json::Value = runtime.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::get(format!("{url}/.well-known/oauth-authorization-server"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(metadata["issuer"], "https://dev.cliauth.test");
    assert_eq!(metadata["token_endpoint"], format!("{url}/token"));

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "nothing after the ready line");
}

#[test]
fn bad_flags_fail_with_usage_errors() {
    for args in [
        vec!["--rate-limit", "memories=2/3s"],
        vec!["--access-token-ttl", "soon"],
        vec!["--port", "99999"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_cliauth-devserver"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
    let out = Command::new(env!("CARGO_BIN_EXE_cliauth-devserver"))
        .args(["--client-id", "bad id"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("client_id"));
}

#[test]
fn embedded_server_answers_while_the_caller_blocks() {
    use std::io::Write;
    use std::net::TcpStream;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(cliauth_devserver::DevServer::start(
            cliauth_devserver::DevServerConfig::default(),
        ))
        .unwrap();
    let addr = server.local_addr();
    // The caller's runtime is idle: this thread blocks on a raw socket.
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /.well-known/oauth-authorization-server HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    runtime.block_on(server.shutdown());
    // The listener is closed. (A process that another test spawns at this moment holds
    // a copy of every descriptor between fork and exec, so retry for a moment.)
    let closed = (0..100).any(|_| {
        let refused = TcpStream::connect(addr).is_err();
        if !refused {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        refused
    });
    assert!(closed, "the port is closed after shutdown");
}

#[test]
fn public_types_can_cross_threads() {
    fn check<T: Send + Sync + 'static>() {}
    check::<cliauth_devserver::DevServer>();
    check::<cliauth_devserver::DevServerConfig>();
    check::<cliauth_devserver::DevServerError>();
    check::<cliauth_devserver::Endpoints>();
}

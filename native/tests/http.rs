//! The HTTP executor against real local servers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::time::{Duration, Instant};

use cliauth::cliauth_core::retry::RetryPolicy;
use cliauth::http::{HttpClient, HttpOptions, SendFailure};
use cliauth::{Error, HttpRequest};
use common::{LogBuffer, TinyServer, closed_port, response};

fn client() -> HttpClient {
    HttpClient::new(&HttpOptions::default()).unwrap()
}

#[tokio::test]
async fn redirects_are_never_followed() {
    let server = TinyServer::start(|seen| {
        if seen.path == "/token" {
            response(302, &[("Location", "/stolen")], "")
        } else {
            response(200, &[], "ok")
        }
    })
    .await;
    let r = client()
        .run(HttpRequest::post_form(
            format!("{}/token", server.url),
            "a=b".into(),
        ))
        .await
        .unwrap();
    assert_eq!(r.status, 302);
    assert_eq!(server.count("/stolen"), 0);
}

#[tokio::test]
async fn bodies_are_capped() {
    let big = "x".repeat(cliauth::cliauth_core::http::MAX_RESPONSE_BODY + 1);
    let declared = TinyServer::start(move |_| response(200, &[], &big)).await;
    let e = client()
        .run(HttpRequest::get(format!("{}/big", declared.url)))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        cliauth::cliauth_core::http::body_too_large(cliauth::cliauth_core::http::MAX_RESPONSE_BODY)
    );
    // Without a Content-Length the read stops at the cap too.
    let streamed = TinyServer::start(|_| {
        let mut bytes = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'y', 3 * 1024 * 1024));
        bytes
    })
    .await;
    let e = client()
        .run(HttpRequest::get(format!("{}/stream", streamed.url)))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("larger than 1024 KiB"), "{e}");
}

#[tokio::test]
async fn retries_follow_core_decisions() {
    let server = TinyServer::start(|seen| {
        let n = seen.path.trim_start_matches('/').to_string();
        match n.as_str() {
            "flaky" => response(503, &[], ""),
            _ => response(500, &[], ""),
        }
    })
    .await;
    // 503 means "not processed": retried up to 4 attempts, then the last response.
    let started = Instant::now();
    let r = client()
        .run(HttpRequest::get(format!("{}/flaky", server.url)))
        .await
        .unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(server.count("/flaky"), 4);
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "backoff slept"
    );
    // A non-idempotent POST answered 500 may have been processed: never replayed.
    let r = client()
        .run(HttpRequest::post_form(
            format!("{}/post", server.url),
            String::new(),
        ))
        .await
        .unwrap();
    assert_eq!(r.status, 500);
    assert_eq!(server.count("/post"), 1);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = TinyServer::start(|seen| {
        if seen.path == "/limited" {
            response(429, &[("Retry-After", "1")], "")
        } else {
            response(200, &[], "")
        }
    })
    .await;
    let mut policy = RetryPolicy::default();
    policy.max_attempts = 2;
    let started = Instant::now();
    let r = client()
        .run_with(HttpRequest::get(format!("{}/limited", server.url)), policy)
        .await
        .unwrap();
    assert_eq!(r.status, 429);
    assert_eq!(server.count("/limited"), 2);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn transport_errors_are_classified_without_urls() {
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}/x?api_key=hush");
    match client().execute(&HttpRequest::get(url.clone())).await {
        Err(SendFailure::Transport(e)) => {
            assert!(e.not_sent);
            assert_eq!(e.reason, "could not connect (connection refused)");
        }
        other => panic!("{other:?}"),
    }
    let e = client()
        .run_with(HttpRequest::get(url), RetryPolicy::never())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Network { .. }));
    // The transport's error is kept as the source, stripped of the URL.
    let source = std::error::Error::source(&e).expect("the transport error is the source");
    let reqwest_error = source
        .downcast_ref::<reqwest::Error>()
        .expect("a reqwest::Error");
    assert!(reqwest_error.is_connect() && reqwest_error.url().is_none());
    let mut chain = Some(source);
    while let Some(err) = chain {
        let text = format!("{err} {err:?}");
        assert!(!text.contains("hush") && !text.contains("/x"), "{text}");
        chain = err.source();
    }
    assert!(!e.to_string().contains("hush") && !e.to_string().contains("/x"));

    // A server that never answers: the total timeout.
    let silent = TinyServer::start(|_| Vec::new()).await;
    let quick = HttpClient::new(&{
        let mut o = HttpOptions::default();
        o.timeout = Duration::from_millis(300);
        o
    })
    .unwrap();
    let e = quick
        .run_with(
            HttpRequest::get(format!("{}/slow", silent.url)),
            RetryPolicy::never(),
        )
        .await
        .unwrap_err();
    assert_eq!(e, Error::network("timed out"));
}

#[tokio::test]
async fn sends_headers_body_and_user_agent() {
    let server = TinyServer::start(|_| response(200, &[("X-Reply", "1")], "{}")).await;
    let r = client()
        .run(
            HttpRequest::post_form(format!("{}/t", server.url), "grant_type=x".into())
                .with_bearer("tok"),
        )
        .await
        .unwrap();
    assert_eq!(r.header("x-reply"), Some("1"));
    let seen = server.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.body, "grant_type=x");
    assert_eq!(seen.header("authorization"), Some("Bearer tok"));
    assert_eq!(
        seen.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        seen.header("user-agent"),
        Some(concat!("cliauth/", env!("CARGO_PKG_VERSION")))
    );
}

#[tokio::test]
async fn debug_events_name_method_redacted_url_status_and_duration() {
    let server = TinyServer::start(|_| response(200, &[], "")).await;
    let logs = LogBuffer::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    client()
        .run(
            HttpRequest::get(format!("{}/cb?code=sekrit-code&page=2", server.url))
                .with_bearer("sekrit-token"),
        )
        .await
        .unwrap();
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("→ 200"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(&format!(
            "GET {}/cb?code=%5Bredacted%5D&page=2 → 200",
            server.url
        )),
        "{line}"
    );
    assert!(line.contains("elapsed_ms="), "{line}");
    assert!(!text.contains("sekrit"), "{text}");
}

//! Shared state across server instances, the `/_dev` hooks (faults, statistics,
//! reset) and the Host check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use cliauth_core::device::{
    UserCodeFormat, device_approval_request, device_authorization_request,
    parse_device_authorization,
};
use cliauth_core::http::MAX_RESPONSE_BODY;
use cliauth_core::token::{TokenGrant, parse_token_response, token_request};
use cliauth_core::{Error, HttpRequest};
use cliauth_devserver::DevServerConfig;
use common::*;
use serde_json::json;

#[tokio::test]
async fn two_instances_share_one_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("devserver-state.json");
    let mut config = DevServerConfig::default();
    config.issuer = Some("https://dev.cliauth.test".into());
    config.state_file = Some(file.clone());
    config.device_interval = Duration::from_millis(100);
    let a = start(config.clone()).await;
    let b = start(config).await;
    assert_ne!(a.server.url(), b.server.url());

    // Tokens from A work on B; a refresh on B rotates; reuse on A revokes everywhere.
    let t = a.code_login("alice", &["profile", "memories:read"]).await;
    let at = t.access_token.expose_secret().to_string();
    assert_eq!(
        json(&b.bearer_get("/api/whoami", &at).await)["sub"],
        "user_alice"
    );
    let rt1 = t.refresh_token.unwrap();
    let refresh = |fx: &Fixture, rt| {
        token_request(
            &fx.server.endpoints().token,
            "democli",
            TokenGrant::RefreshToken {
                refresh_token: rt,
                scope: None,
            },
        )
    };
    let t2 = tokens(&execute(&b.http, refresh(&b, &rt1)).await);
    let r = execute(&a.http, refresh(&a, &rt1)).await;
    assert_eq!(oauth_error(&r), "invalid_grant");
    let r = b
        .bearer_get("/api/whoami", t2.access_token.expose_secret())
        .await;
    assert_eq!(r.status, 401, "the family was revoked through the file");

    // A session made on A signs in on B (cookies on 127.0.0.1 cross ports);
    // a device code from B is approved on A and polled on B.
    let cookie = a.login("carol").await;
    let d = execute(
        &b.http,
        device_authorization_request(&b.server.endpoints().device_authorization, "democli", &[]),
    )
    .await;
    let d = parse_device_authorization(&d, now()).unwrap();
    let approval = device_approval_request(
        &a.server.endpoints().device_approve,
        &d.user_code,
        &UserCodeFormat::default(),
        true,
    )
    .unwrap();
    assert_eq!(
        execute_with(&a.http, approval, Some(&cookie)).await.status,
        200
    );
    let poll = token_request(
        &b.server.endpoints().token,
        "democli",
        TokenGrant::DeviceCode {
            device_code: &d.device_code,
        },
    );
    let t = tokens(&execute(&b.http, poll).await);
    assert_eq!(
        json(
            &a.bearer_get("/api/whoami", t.access_token.expose_secret())
                .await
        )["sub"],
        "user_carol"
    );

    // Rate-limit windows are shared too.
    let key = json(&a.post_json("/api/keys", json!({}), Some(&cookie)).await)["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 0..120 {
        let fx = if i % 2 == 0 { &a } else { &b };
        assert_eq!(fx.bearer_get("/api/memories", &key).await.status, 200);
    }
    assert_eq!(a.bearer_get("/api/memories", &key).await.status, 429);
    assert_eq!(b.bearer_get("/api/memories", &key).await.status, 429);

    // The file holds hashes, never the secrets, and only its owner can read it.
    let text = std::fs::read_to_string(&file).unwrap();
    for secret in [at.as_str(), key.as_str(), t.access_token.expose_secret()] {
        assert!(!text.contains(secret));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    a.server.shutdown().await;

    // A new instance on the same file still knows everything.
    let c = start({
        let mut o = DevServerConfig::default();
        o.state_file = Some(file.clone());
        o
    })
    .await;
    assert_eq!(c.bearer_get("/api/whoami", &key).await.status, 200);

    // A file that is not a state file is refused at start, not overwritten.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"version\": 99}").unwrap();
    let err = cliauth_devserver::DevServer::start({
        let mut o = DevServerConfig::default();
        o.state_file = Some(bad.clone());
        o
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("version"), "{err}");
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), "{\"version\": 99}");
}

#[tokio::test]
async fn concurrent_writers_on_one_file_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = DevServerConfig::default();
    config.state_file = Some(dir.path().join("state.json"));
    let a = start(config.clone()).await;
    let b = start(config).await;
    let cookie = a.login("demo").await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let url = if i % 2 == 0 {
            a.url("/api/keys")
        } else {
            b.url("/api/keys")
        };
        let http = client();
        let cookie = cookie.clone();
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .header("cookie", cookie)
                .header("content-type", "application/json")
                .body(format!("{{\"name\":\"k{i}\"}}"))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    let list = json(&b.get_with("/api/keys", &[("cookie", &cookie)]).await);
    assert_eq!(list["keys"].as_array().unwrap().len(), 20);
}

fn token_poke(fx: &Fixture) -> HttpRequest {
    HttpRequest::post_form(
        fx.url("/token"),
        form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "democli"),
            ("refresh_token", "x"),
        ]),
    )
}

#[tokio::test]
async fn injected_faults_reach_the_client() {
    let fx = start_default().await;
    // An HTML 502 page from a proxy.
    fx.fault(json!({
        "path": "/token", "status": 502, "content_type": "text/html",
        "body": "<html><body><h1>502 Bad Gateway</h1></body></html>"
    }))
    .await;
    let r = execute(&fx.http, token_poke(&fx)).await;
    assert_eq!(r.status, 502);
    assert_eq!(
        parse_token_response(&r, now()),
        Err(Error::Server { status: 502 })
    );
    // Only once: the next request reaches the real endpoint.
    let r = execute(&fx.http, token_poke(&fx)).await;
    assert_eq!(oauth_error(&r), "invalid_grant");

    // Truncated JSON, and a token response without token_type.
    fx.fault(json!({
        "path": "/token", "method": "POST", "status": 200, "content_type": "application/json",
        "body": "{\"access_token\":\"demo_at_x\",\"tok"
    }))
    .await;
    fx.fault(json!({
        "path": "/token", "status": 200, "content_type": "application/json",
        "body": "{\"access_token\":\"demo_at_x\",\"expires_in\":3600}"
    }))
    .await;
    let e = parse_token_response(&execute(&fx.http, token_poke(&fx)).await, now()).unwrap_err();
    assert!(e.to_string().contains("not valid JSON"), "{e}");
    let e = parse_token_response(&execute(&fx.http, token_poke(&fx)).await, now()).unwrap_err();
    assert!(e.to_string().contains("token_type"), "{e}");

    // A 429 with headers, twice; then the real thing.
    fx.fault(json!({
        "path": "/api/whoami", "count": 2, "status": 429,
        "headers": {"Retry-After": "7", "RateLimit-Policy": "\"dev:whoami\";q=5;w=60"}
    }))
    .await;
    for _ in 0..2 {
        let r = fx.get("/api/whoami").await;
        assert_eq!(r.status, 429);
        let e = cliauth_core::http::api_error(&r, now()).unwrap();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(e.to_string(), "Rate limited: dev:whoami (5/min)");
    }
    assert_eq!(fx.get("/api/whoami").await.status, 401);

    // A 50 MB body: the client must stop reading at core's limit.
    fx.fault(json!({
        "path": "/api/whoami", "status": 200, "content_type": "application/json",
        "body": "[0,", "body_size": 50 * 1024 * 1024
    }))
    .await;
    let r = fx.http.get(fx.url("/api/whoami")).send().await.unwrap();
    assert_eq!(r.content_length(), Some(50 * 1024 * 1024));
    let mut r = r;
    let mut read = 0;
    while let Some(chunk) = r.chunk().await.unwrap() {
        read += chunk.len();
        if read > MAX_RESPONSE_BODY {
            break;
        }
    }
    assert!(read > MAX_RESPONSE_BODY);
    drop(r);

    // A connection dropped mid-body.
    fx.fault(json!({
        "path": "/api/whoami", "status": 200, "content_type": "application/json",
        "body": "{\"sub\":\"user_demo\",\"name\":\"Demo User\"}", "abort_after": 10
    }))
    .await;
    let r = fx.http.get(fx.url("/api/whoami")).send().await.unwrap();
    assert!(r.bytes().await.is_err(), "the body is cut off");

    // A delay alone, then the real answer.
    fx.fault(json!({"path": "/api/whoami", "delay_ms": 50}))
        .await;
    assert_eq!(fx.get("/api/whoami").await.status, 401);

    // Refused specs.
    for bad in [
        json!({"path": "/_dev/stats", "status": 500}),
        json!({"path": "/token", "body": "x"}),
        json!({"path": "/token", "status": 500, "headers": {"bad header": "x"}}),
        json!({"path": "/token", "status": 500, "unknown": 1}),
    ] {
        let r = fx.post_json("/_dev/faults", bad.clone(), None).await;
        assert_eq!(r.status, 400, "{bad}");
    }
    let stats = fx.stats().await;
    assert_eq!(stats["faults_served"], 7);
    assert_eq!(stats["requests"]["POST /token"], 4);
    assert_eq!(stats["requests"]["GET /api/whoami"], 6);
    assert_eq!(json(&fx.get("/_dev/faults").await)["faults"], json!([]));
}

#[tokio::test]
async fn reset_forgets_everything() {
    let fx = start_default().await;
    let t = fx.code_login("zed", &["profile"]).await;
    fx.fault(json!({"path": "/token", "status": 500})).await;
    let r = fx.post_json("/_dev/reset", json!({}), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        fx.bearer_get("/api/whoami", t.access_token.expose_secret())
            .await
            .status,
        401
    );
    let stats = fx.stats().await;
    assert_eq!(stats["refreshes"], 0);
    assert_eq!(stats["requests"].as_object().unwrap().len(), 2, "{stats}");
    let s = json(&fx.get("/api/session").await);
    let users: Vec<_> = s["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].clone())
        .collect();
    assert_eq!(users, vec![json!("demo"), json!("alice")], "demo first");
    assert_eq!(json(&fx.get("/_dev/faults").await)["faults"], json!([]));
    // Cross-site pages cannot wipe a developer's server.
    let r = fx
        .http
        .post(fx.url("/_dev/reset"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn foreign_host_headers_are_refused() {
    let fx = start_default().await;
    let r = fx
        .get_with(
            "/.well-known/oauth-authorization-server",
            &[("host", "evil.example")],
        )
        .await;
    assert_eq!(r.status, 421);
    let port = fx.server.local_addr().port();
    let r = fx
        .get_with(
            "/.well-known/oauth-authorization-server",
            &[("host", &format!("localhost:{port}"))],
        )
        .await;
    assert_eq!(r.status, 200);
}

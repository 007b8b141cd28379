//! The device flow (RFC 8628) and its verification backend, the protected API
//! (RFC 6750 errors, rate limits) and dev API keys.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use cliauth_core::device::{
    DeviceAuthorization, DeviceFlow, UserCodeFormat, device_approval_request,
    device_authorization_request, parse_device_authorization,
};
use cliauth_core::flow::{Flow, Input, Step};
use cliauth_core::http::{api_error, parse_www_authenticate, rate_limit_info};
use cliauth_core::keys::KeyRegistry;
use cliauth_core::secret::DeviceCode;
use cliauth_core::time::Now;
use cliauth_core::token::{TokenGrant, token_request};
use cliauth_core::{Error, HttpRequest, HttpResponse};
use cliauth_devserver::{DevServerConfig, RateLimitPolicy, dev_key_format};
use common::*;
use serde_json::json;

/// A server whose device interval is short enough for tests.
async fn device_server(extra: impl FnOnce(&mut DevServerConfig)) -> Fixture {
    let mut config = DevServerConfig::default();
    config.device_interval = Duration::from_millis(200);
    extra(&mut config);
    start(config).await
}

async fn authorize_device(fx: &Fixture, scopes: &[&str]) -> DeviceAuthorization {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    let request = device_authorization_request(
        &fx.server.endpoints().device_authorization,
        "democli",
        &scopes,
    );
    let r = execute(&fx.http, request).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    parse_device_authorization(&r, now()).expect("a valid device authorization")
}

async fn poll(fx: &Fixture, device_code: &DeviceCode) -> HttpResponse {
    execute(
        &fx.http,
        token_request(
            &fx.server.endpoints().token,
            "democli",
            TokenGrant::DeviceCode { device_code },
        ),
    )
    .await
}

async fn approve(fx: &Fixture, user_code: &str, yes: bool, cookie: Option<&str>) -> HttpResponse {
    let request = device_approval_request(
        &fx.server.endpoints().device_approve,
        user_code,
        &UserCodeFormat::default(),
        yes,
    )
    .unwrap();
    execute_with(&fx.http, request, cookie).await
}

#[tokio::test]
async fn device_authorization_response_shape() {
    let fx = device_server(|_| {}).await;
    let a = authorize_device(&fx, &["profile", "memories:read"]).await;
    let format = UserCodeFormat::default();
    let (left, right) = a.user_code.split_once('-').unwrap();
    assert!(left.len() == 4 && right.len() == 4, "{}", a.user_code);
    assert!(
        a.user_code
            .chars()
            .filter(|c| *c != '-')
            .all(|c| format.charset.contains(c)),
        "{}",
        a.user_code
    );
    assert_eq!(a.verification_uri, fx.server.endpoints().device_page);
    assert_eq!(
        a.verification_uri_complete.as_deref(),
        Some(format!("{}?user_code={}", a.verification_uri, a.user_code).as_str())
    );
    assert_eq!(
        a.interval,
        Some(Duration::from_secs(1)),
        "200 ms rounds up to 1 s"
    );
    assert_eq!(a.expires_in, Duration::from_secs(600));
    assert!(a.device_code.expose_secret().starts_with("demo_dc_"));

    let r = fx
        .post_form("/device_authorization", &[("client_id", "other")])
        .await;
    assert_eq!(
        (r.status, oauth_error(&r).as_str()),
        (401, "invalid_client")
    );
    let r = fx
        .post_form(
            "/device_authorization",
            &[("client_id", "democli"), ("scope", "root")],
        )
        .await;
    assert_eq!(oauth_error(&r), "invalid_scope");
}

#[tokio::test]
async fn device_flow_pending_approve_and_single_use() {
    let fx = device_server(|_| {}).await;
    let a = authorize_device(&fx, &["profile", "memories:read"]).await;
    let r = poll(&fx, &a.device_code).await;
    assert_eq!(oauth_error(&r), "authorization_pending");

    // The verification page's backend: a session is required.
    let r = approve(&fx, &a.user_code, true, None).await;
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (401, Some("login_required"))
    );
    let cookie = fx.login("bob").await;
    // Typed in lower case with a space: normalised by core, accepted by the server.
    let typed = a.user_code.to_lowercase().replace('-', " ");
    let r = approve(&fx, &typed, true, Some(&cookie)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(json(&r)["status"], "approved");
    let r = approve(&fx, &a.user_code, true, Some(&cookie)).await;
    assert_eq!(r.status, 409, "already approved");

    sleep_ms(250).await;
    let t = tokens(&poll(&fx, &a.device_code).await);
    assert!(t.refresh_token.is_some());
    assert_eq!(t.scope.as_deref(), Some("profile memories:read"));
    let me = json(
        &fx.bearer_get("/api/whoami", t.access_token.expose_secret())
            .await,
    );
    assert_eq!(me["sub"], "user_bob");
    sleep_ms(250).await;
    assert_eq!(
        oauth_error(&poll(&fx, &a.device_code).await),
        "invalid_grant"
    );

    // Codes nobody is waiting for, and malformed ones.
    let r = approve(&fx, "BCDF-GHJK", true, Some(&cookie)).await;
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (400, Some("invalid_user_code"))
    );
    let r = fx
        .post_json(
            "/device/approve",
            json!({"user_code": "AAAA-1111", "action": "approve"}),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        json(&r)["detail"]
            .as_str()
            .unwrap()
            .contains("never appears")
    );
    let r = fx
        .post_json(
            "/device/approve",
            json!({"user_code": a.user_code, "action": "maybe"}),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        oauth_error(&poll(&fx, &DeviceCode::new("demo_dc_unknown")).await),
        "invalid_grant"
    );

    // Guessing codes is limited (RFC 8628 §5.1): 20 wrong codes, then 429 even for a
    // real one, per user.
    let c = authorize_device(&fx, &[]).await;
    for _ in 0..19 {
        assert_eq!(
            approve(&fx, "BCDF-GHJK", true, Some(&cookie)).await.status,
            400
        );
    }
    let r = approve(&fx, &c.user_code, true, Some(&cookie)).await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    let other = fx.login("carol").await;
    assert_eq!(
        approve(&fx, &c.user_code, true, Some(&other)).await.status,
        200
    );
}

#[tokio::test]
async fn device_polling_too_fast_gets_slow_down() {
    // 600 ms: two back-to-back polls fall inside it even on a loaded machine.
    let fx = device_server(|c| c.device_interval = Duration::from_millis(600)).await;
    let a = authorize_device(&fx, &[]).await;
    assert_eq!(
        oauth_error(&poll(&fx, &a.device_code).await),
        "authorization_pending"
    );
    let r = poll(&fx, &a.device_code).await;
    assert_eq!(oauth_error(&r), "slow_down");
    // The interval grew by 5 s for all later polls: one interval later is still too fast.
    sleep_ms(650).await;
    assert_eq!(oauth_error(&poll(&fx, &a.device_code).await), "slow_down");
    // Another code is not affected.
    let b = authorize_device(&fx, &[]).await;
    assert_eq!(
        oauth_error(&poll(&fx, &b.device_code).await),
        "authorization_pending"
    );
    sleep_ms(650).await;
    assert_eq!(
        oauth_error(&poll(&fx, &b.device_code).await),
        "authorization_pending"
    );
    let stats = fx.stats().await;
    assert_eq!(stats["slow_downs"], 2);
    assert_eq!(stats["device_polls"], 5);
    assert_eq!(stats["token_grants"]["device_code"], 5);
}

#[tokio::test]
async fn device_denial_and_expiry() {
    let fx = device_server(|c| c.device_code_lifetime = Duration::from_secs(1)).await;
    let cookie = fx.login("demo").await;
    let a = authorize_device(&fx, &[]).await;
    let r = approve(&fx, &a.user_code, false, Some(&cookie)).await;
    assert_eq!(json(&r)["status"], "denied");
    let r = poll(&fx, &a.device_code).await;
    assert_eq!(oauth_error(&r), "access_denied");
    // core's reading of it
    let mut flow = DeviceFlow::new(
        parse_device_authorization(
            &HttpResponse::json(
                200,
                &json!({"device_code": "x", "user_code": "BCDF-GHJK",
                        "verification_uri": fx.server.endpoints().device_page, "expires_in": 60}),
            ),
            now(),
        )
        .unwrap(),
        &fx.server.endpoints().token,
        "democli",
        now().into(),
        1,
    );
    let later = Now::from(now().saturating_add(Duration::from_secs(6)));
    assert!(matches!(flow.poll(later), Step::Send(_)));
    flow.handle(later, Input::Response(r));
    assert!(matches!(
        flow.poll(later),
        Step::Failed(Error::AccessDenied { .. })
    ));

    let b = authorize_device(&fx, &[]).await;
    sleep_ms(1100).await;
    assert_eq!(
        oauth_error(&poll(&fx, &b.device_code).await),
        "expired_token"
    );
    let r = approve(&fx, &b.user_code, true, Some(&cookie)).await;
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (400, Some("expired_token"))
    );
}

#[tokio::test]
async fn auto_approved_device_flow_driven_by_cores_state_machine() {
    let fx = device_server(|c| c.auto_approve_device = Some(Duration::from_millis(100))).await;
    let a = authorize_device(&fx, &["profile"]).await;
    let mut flow = DeviceFlow::new(a, &fx.server.endpoints().token, "democli", now().into(), 7);
    let tokens = loop {
        match flow.poll(now().into()) {
            Step::WaitUntil(t) => {
                let wait = t.saturating_duration_since(Now::from(now()).instant);
                tokio::time::sleep(wait).await;
            }
            Step::Send(request) => {
                let r = execute(&fx.http, request).await;
                flow.handle(now().into(), Input::Response(r));
            }
            Step::Done(t) => break t,
            Step::Failed(e) => panic!("{e}"),
            other => panic!("not asked of a device flow: {other:?}"),
        }
    };
    assert_eq!(flow.stats().slow_downs, 0, "core honours the interval");
    let me = json(
        &fx.bearer_get("/api/whoami", tokens.access_token.expose_secret())
            .await,
    );
    assert_eq!(me["sub"], "user_demo");
}

async fn api_key(fx: &Fixture, cookie: &str, scopes: &[&str]) -> String {
    let r = fx
        .post_json(
            "/api/keys",
            json!({ "name": "test", "scopes": scopes }),
            Some(cookie),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    json(&r)["api_key"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn protected_api_error_shapes() {
    let fx = start({
        let mut o = DevServerConfig::default();
        o.access_token_ttl = Duration::from_secs(1);
        o
    })
    .await;
    // No credentials: a challenge without an error code (RFC 6750 §3.1).
    let r = fx.get("/api/whoami").await;
    assert_eq!(r.status, 401);
    let c = parse_www_authenticate(r.header("www-authenticate").unwrap());
    assert_eq!(c[0].scheme, "Bearer");
    assert_eq!(c[0].param("error"), None);
    assert!(matches!(
        api_error(&r, now()),
        Some(Error::Unauthorized { .. })
    ));
    let r = fx
        .get_with("/api/whoami", &[("authorization", "Basic ZGVtbzpkZW1v")])
        .await;
    assert_eq!(r.status, 401);
    // A made-up token.
    let r = fx.bearer_get("/api/whoami", "demo_at_madeup").await;
    assert_eq!(r.status, 401);
    let c = parse_www_authenticate(r.header("www-authenticate").unwrap());
    assert_eq!(c[0].param("error"), Some("invalid_token"));
    // Malformed: 400 invalid_request.
    let r = fx
        .get_with("/api/whoami", &[("authorization", "Bearer a b")])
        .await;
    assert_eq!(r.status, 400);
    // Expired.
    let t = fx.code_login("demo", &["profile"]).await;
    assert_eq!(t.expires_in, Some(Duration::from_secs(1)));
    assert_eq!(
        fx.bearer_get("/api/whoami", t.access_token.expose_secret())
            .await
            .status,
        200
    );
    sleep_ms(1100).await;
    let r = fx
        .bearer_get("/api/whoami", t.access_token.expose_secret())
        .await;
    assert_eq!(r.status, 401);
    let c = parse_www_authenticate(r.header("www-authenticate").unwrap());
    assert_eq!(c[0].param("error"), Some("invalid_token"));
    assert_eq!(
        c[0].param("error_description"),
        Some("The access token expired")
    );
    assert_eq!(
        api_error(&r, now()),
        Some(Error::Unauthorized {
            detail: Some("The access token expired".into())
        })
    );
    // A refresh brings it back.
    let refresh = token_request(
        &fx.server.endpoints().token,
        "democli",
        TokenGrant::RefreshToken {
            refresh_token: t.refresh_token.as_ref().unwrap(),
            scope: None,
        },
    );
    let t2 = tokens(&execute(&fx.http, refresh).await);
    assert_eq!(
        fx.bearer_get("/api/whoami", t2.access_token.expose_secret())
            .await
            .status,
        200
    );

    // Insufficient scope: 403 naming the scope.
    let r = fx
        .bearer_get("/api/memories", t2.access_token.expose_secret())
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer error=\"insufficient_scope\", scope=\"memories:read\"")
    );
    assert_eq!(
        api_error(&r, now()),
        Some(Error::InsufficientPermissions {
            required_scope: Some("memories:read".into())
        })
    );
    let cookie = fx.login("demo").await;
    let read_only = api_key(&fx, &cookie, &["memories:read"]).await;
    assert_eq!(fx.bearer_get("/api/memories", &read_only).await.status, 200);
    let r = execute(
        &fx.http,
        HttpRequest::post_json(fx.url("/api/memories"), &json!({"text": "x"}))
            .with_bearer(&read_only),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        api_error(&r, now()),
        Some(Error::InsufficientPermissions {
            required_scope: Some("memories:write".into())
        })
    );
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_and_policy() {
    // The default policy, exactly as users know it.
    let fx = start_default().await;
    let cookie = fx.login("demo").await;
    let key = api_key(&fx, &cookie, &["memories:read"]).await;
    for i in 0..120 {
        let r = fx.bearer_get("/api/memories", &key).await;
        assert_eq!(r.status, 200, "call {i}");
        assert_eq!(
            r.header("ratelimit-policy"),
            Some("\"dev:memories\";q=120;w=3600")
        );
    }
    let r = fx.bearer_get("/api/memories", &key).await;
    assert_eq!(r.status, 429);
    assert_eq!(
        json(&r),
        json!({"detail": "Rate limited: dev:memories (120/hr)"})
    );
    assert_eq!(
        r.header("ratelimit-policy"),
        Some("\"dev:memories\";q=120;w=3600")
    );
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((3590..=3600).contains(&retry), "{retry}");
    let e = api_error(&r, now()).unwrap();
    assert_eq!(e.to_string(), "Rate limited: dev:memories (120/hr)");
    assert_eq!(fx.stats().await["rate_limited"], 1);
    // Per user: someone else is not limited.
    let other = fx.login("alice").await;
    let key2 = api_key(&fx, &other, &["memories:read"]).await;
    assert_eq!(fx.bearer_get("/api/memories", &key2).await.status, 200);
    fx.server.shutdown().await;

    // The quickstart's policy: the third quick call is limited, a retry after
    // Retry-After succeeds.
    let fx = start({
        let mut o = DevServerConfig::default();
        o.rate_limits = vec![RateLimitPolicy::parse("dev:memories=2/2s").unwrap()];
        o
    })
    .await;
    let cookie = fx.login("demo").await;
    let key = api_key(&fx, &cookie, &["memories:read"]).await;
    assert_eq!(fx.bearer_get("/api/memories", &key).await.status, 200);
    let r = fx.bearer_get("/api/memories", &key).await;
    let ratelimit = r.header("ratelimit").unwrap();
    assert!(
        ratelimit.starts_with("\"dev:memories\";r=0;t="),
        "{ratelimit}"
    );
    let r = fx.bearer_get("/api/memories", &key).await;
    assert_eq!(r.status, 429);
    let info = rate_limit_info(&r, now());
    assert_eq!(info.policy.as_deref(), Some("dev:memories"));
    assert_eq!(info.limit.as_deref(), Some("2/2s"));
    let wait = info.retry_after.unwrap();
    assert!(
        wait >= Duration::from_secs(1) && wait <= Duration::from_secs(2),
        "{wait:?}"
    );
    tokio::time::sleep(wait).await;
    assert_eq!(fx.bearer_get("/api/memories", &key).await.status, 200);
}

#[tokio::test]
async fn dev_api_keys() {
    let fx = start_default().await;
    let r = fx.post_json("/api/keys", json!({}), None).await;
    assert_eq!(r.status, 401, "needs a session or a token");
    let cookie = fx.login("demo").await;
    let r = fx
        .post_json("/api/keys", json!({ "name": "ci" }), Some(&cookie))
        .await;
    assert_eq!(r.status, 201);
    let body = json(&r);
    let key = body["api_key"].as_str().unwrap().to_string();
    let registry = KeyRegistry::new(vec![dev_key_format()]);
    let valid = registry.validate(&key).unwrap();
    assert_eq!(key.len(), "demo_dev_".len() + 32);
    assert_eq!(body["masked"], valid.masked());
    assert_eq!(
        body["scopes"],
        json!(["profile", "memories:read", "memories:write"])
    );
    let me = json(&fx.bearer_get("/api/whoami", &key).await);
    assert_eq!(me["credential"], "api_key");

    // A token can mint keys, but not with more scopes than it has.
    let narrow = api_key(&fx, &cookie, &["memories:read"]).await;
    let r = execute(
        &fx.http,
        HttpRequest::post_json(fx.url("/api/keys"), &json!({"scopes": ["memories:write"]}))
            .with_bearer(&narrow),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = execute(
        &fx.http,
        HttpRequest::post_json(fx.url("/api/keys"), &json!({"scopes": ["memories:read"]}))
            .with_bearer(&narrow),
    )
    .await;
    assert_eq!(r.status, 201);
    let r = fx
        .post_json("/api/keys", json!({ "scopes": ["admin"] }), Some(&cookie))
        .await;
    assert_eq!(r.status, 400);

    // Listing shows masked keys only; deleting revokes.
    let list = fx.get_with("/api/keys", &[("cookie", &cookie)]).await;
    let text = String::from_utf8_lossy(&list.body).to_string();
    assert!(!text.contains(&key), "no secret in listings");
    let keys = json(&list)["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 3);
    let id = body["id"].as_str().unwrap();
    let r = fx
        .http
        .delete(fx.url(&format!("/api/keys/{id}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = fx.bearer_get("/api/whoami", &key).await;
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().contains("revoked"));
    let other = fx.login("alice").await;
    let r = fx
        .http
        .delete(fx.url(&format!("/api/keys/{id}")))
        .header("cookie", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "only the owner sees the key");
}

//! The secret recorder (`record_secrets`): every secret that crosses the HTTP
//! boundary is written to the file, with its kind, whether the server accepts it or
//! not; user codes are marked as not secret; nothing is recorded without the option.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use cliauth_core::authorize::loopback_redirect_uri;
use cliauth_core::device::{device_authorization_request, parse_device_authorization};
use cliauth_core::secret::{AuthorizationCode, RefreshToken};
use cliauth_core::token::{TokenGrant, token_request};
use cliauth_devserver::DevServerConfig;
use common::*;
use serde_json::{Value, json};

/// `value → (kind, secret)` from the record file.
fn recorded(path: &Path) -> BTreeMap<String, (String, bool)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["at"].as_str().unwrap().contains(" /"), "{line}");
        let previous = out.insert(
            v["value"].as_str().unwrap().to_string(),
            (
                v["kind"].as_str().unwrap().to_string(),
                v["secret"].as_bool().unwrap(),
            ),
        );
        assert!(previous.is_none(), "each value is written once: {line}");
    }
    out
}

fn assert_kind(map: &BTreeMap<String, (String, bool)>, value: &str, kind: &str) {
    assert_eq!(
        map.get(value),
        Some(&(kind.to_string(), true)),
        "{kind} {value} is recorded"
    );
}

#[tokio::test]
async fn every_secret_issued_or_received_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secrets.jsonl");
    let fx = start({
        let mut o = DevServerConfig::default();
        o.record_secrets = Some(file.clone());
        o
    })
    .await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the record is private");
    }

    // Code + PKCE through the consent page.
    let (mut pending, page) = fx.begin_login(&["profile"]).await;
    let r = fx
        .decide(&page, "approve", &[("username", "alice")], None)
        .await;
    let cookie = session_cookie(&r).unwrap();
    let grant = pending.complete(now(), &callback_params(&r)).unwrap();
    let request = token_request(
        &fx.server.endpoints().token,
        "democli",
        TokenGrant::AuthorizationCode {
            code: &grant.code,
            verifier: &grant.verifier,
            redirect_uri: &grant.redirect_uri,
        },
    );
    let t = tokens(&execute(&fx.http, request).await);
    let access = t.access_token.expose_secret().to_string();
    let refresh = t.refresh_token.unwrap().expose_secret().to_string();
    assert_eq!(fx.bearer_get("/api/whoami", &access).await.status, 200);

    // Rotation: the new pair is recorded too.
    let request = token_request(
        &fx.server.endpoints().token,
        "democli",
        TokenGrant::RefreshToken {
            refresh_token: &RefreshToken::new(refresh.clone()),
            scope: None,
        },
    );
    let t2 = tokens(&execute(&fx.http, request).await);

    // A forged code is recorded although the server refuses it.
    let forged = "not-a-real-code-but-still-a-secret";
    let request = token_request(
        &fx.server.endpoints().token,
        "democli",
        TokenGrant::AuthorizationCode {
            code: &AuthorizationCode::new(forged),
            verifier: &grant.verifier,
            redirect_uri: &grant.redirect_uri,
        },
    );
    assert_eq!(
        oauth_error(&execute(&fx.http, request).await),
        "invalid_grant"
    );

    // Device authorization: the device code is secret, the user code is not.
    let request = device_authorization_request(
        &fx.server.endpoints().device_authorization,
        "democli",
        &["profile".to_string()],
    );
    let device = parse_device_authorization(&execute(&fx.http, request).await, now()).unwrap();

    // The handoff: a one-time code from /cli-auth/mint, exchanged for a dev key.
    let v = verifier();
    let r = fx
        .post_json(
            "/cli-auth/mint",
            json!({ "port": 4711, "code_challenge": challenge(&v) }),
            Some(&cookie),
        )
        .await;
    let handoff = json(&r)["code"].as_str().unwrap().to_string();
    let request = token_request(
        &fx.server.endpoints().token,
        "democli",
        TokenGrant::AuthorizationCode {
            code: &AuthorizationCode::new(handoff.clone()),
            verifier: &v,
            redirect_uri: &loopback_redirect_uri(4711),
        },
    );
    let key = tokens(&execute(&fx.http, request).await)
        .access_token
        .expose_secret()
        .to_string();

    // Revocation of the rotated refresh token.
    let revoked = t2.refresh_token.unwrap().expose_secret().to_string();
    let r = fx
        .post_form("/revoke", &[("token", &revoked), ("client_id", "democli")])
        .await;
    assert_eq!(r.status, 200);

    let map = recorded(&file);
    assert_kind(&map, grant.code.expose_secret(), "authorization_code");
    assert_kind(&map, grant.verifier.expose_secret(), "code_verifier");
    assert_kind(&map, &access, "access_token");
    assert_kind(&map, &refresh, "refresh_token");
    assert_kind(&map, t2.access_token.expose_secret(), "access_token");
    assert_kind(&map, &revoked, "refresh_token");
    assert_kind(&map, forged, "authorization_code");
    assert_kind(&map, device.device_code.expose_secret(), "device_code");
    assert_kind(&map, &handoff, "handoff_code");
    assert_kind(&map, v.expose_secret(), "code_verifier");
    assert_kind(&map, &key, "api_key");
    let session = cookie.strip_prefix("cliauth_dev_session=").unwrap();
    assert_kind(&map, session, "session_cookie");
    assert_eq!(
        map.get(&device.user_code),
        Some(&("user_code".to_string(), false)),
        "user codes are recorded as not secret"
    );
    assert!(
        !map.contains_key(pending.state().expose_secret()),
        "the state travels in the printed URL and is not recorded"
    );
    let secrets = map.values().filter(|(_, secret)| *secret).count();
    assert_eq!(secrets, map.len() - 1, "only the user code is not secret");
}

#[tokio::test]
async fn recorded_requests_reach_the_handlers_intact() {
    // The recorder reads request bodies and JSON responses; both must arrive
    // unchanged, so a server with it answers exactly like one without.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secrets.jsonl");
    let plain = start_default().await;
    let recorded_fx = start({
        let mut o = DevServerConfig::default();
        o.record_secrets = Some(file.clone());
        o
    })
    .await;
    for fx in [&plain, &recorded_fx] {
        let r = fx
            .post_form(
                "/token",
                &[("grant_type", "password"), ("client_id", "democli")],
            )
            .await;
        assert_eq!(oauth_error(&r), "unsupported_grant_type");
        let r = fx.login("bob").await;
        assert!(r.starts_with("cliauth_dev_session="));
    }
    let map = recorded(&file);
    assert_eq!(map.len(), 1, "only bob's session cookie: {map:?}");
    assert_eq!(map.values().next().unwrap().0, "session_cookie");
}

#[tokio::test]
async fn an_unwritable_record_file_stops_the_start() {
    let err = cliauth_devserver::DevServer::start({
        let mut o = DevServerConfig::default();
        o.record_secrets = Some("/nonexistent-dir/secrets.jsonl".into());
        o
    })
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("secret record file /nonexistent-dir/secrets.jsonl"),
        "{err}"
    );
}

//! Interop against a second real OAuth 2.0 / OpenID Connect server besides panva's
//! oidc-provider: django-oauth-toolkit from PyPI (`tests/django/server.py`, started
//! on 127.0.0.1 for each test with a fresh database), through the public
//! `Authenticator` API. The user's browser is the harness's `FormBrowser`: it fills in
//! Django's own login form and the toolkit's device code and approval forms.
//!
//! Skipped with a notice when `target/django-venv` is missing, unless
//! `CLIAUTH_REQUIRE_DJANGO=1` (`cargo xtask test --only django` installs the
//! virtualenv and sets it). Every test's name starts with `django_`: the `rust`
//! suite skips them, the `django` suite runs them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cliauth::browser::Browser;
use cliauth::cliauth_core::client::ClientAuthMethod;
use cliauth::cliauth_core::credentials::LoginMethod;
use cliauth::store::{EnvSource, FileStore};
use cliauth::{Authenticator, AuthenticatorBuilder, Error, Revocation, preset};
use cliauth_test_harness::django::DjangoServer;
use common::{CaptureUi, stored};

/// The generic `oidc` preset for the toolkit's issuer.
fn builder(
    server: &DjangoServer,
    client_id: &str,
    dir: &Path,
    ui: Arc<CaptureUi>,
) -> AuthenticatorBuilder {
    let config = preset("oidc")
        .unwrap()
        .configure(&[("issuer", &server.issuer)])
        .unwrap();
    Authenticator::builder("acme")
        .product("Acme")
        .provider(config)
        .client_id(client_id)
        .scopes(["openid", "read", "write"])
        .store(FileStore::new(dir))
        .env(EnvSource::fixed(Vec::<(String, String)>::new()))
        .ui(ui)
        .cancel_on_ctrl_c(false)
        .login_timeout(Duration::from_secs(60))
}

/// A browser login with the public code client.
fn browser_auth(server: &DjangoServer, dir: &Path) -> Authenticator {
    builder(server, &server.code_client, dir, CaptureUi::new())
        .browser(server.browser(true).opener())
        .build()
        .unwrap()
}

/// The toolkit's userinfo endpoint with `access`: its status.
async fn userinfo(server: &DjangoServer, access: &str) -> u16 {
    cliauth_test_harness::reqwest_builder()
        .build()
        .unwrap()
        .get(server.url("/o/userinfo/"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A refresh request sent by hand with the public code client: (status, body).
async fn raw_refresh(server: &DjangoServer, refresh: &str) -> (u16, serde_json::Value) {
    let response = cliauth_test_harness::reqwest_builder()
        .build()
        .unwrap()
        .post(server.url("/o/token/"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", server.code_client.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_discovery_uses_the_rfc8414_path_form_and_checks_the_issuer() {
    let Some(server) = DjangoServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let auth = browser_auth(&server, dir.path());
    let endpoints = auth.endpoints().await.unwrap();
    assert_eq!(
        endpoints.authorization.as_deref(),
        Some(server.url("/o/authorize/").as_str())
    );
    assert_eq!(
        endpoints.token.as_deref(),
        Some(server.url("/o/token/").as_str())
    );
    assert_eq!(
        endpoints.revocation.as_deref(),
        Some(server.url("/o/revoke_token/").as_str())
    );
    assert_eq!(endpoints.pkce_methods, Some(vec!["S256".to_string()]));
    assert!(endpoints.iss_parameter_supported);
    assert_eq!(
        endpoints.token_auth_methods,
        Some(vec![
            "client_secret_post".to_string(),
            "client_secret_basic".to_string()
        ])
    );
    // The toolkit does not list its device endpoint in the metadata.
    assert_eq!(endpoints.device_authorization, None);

    // An issuer the server does not serve metadata for is an error, not a guess.
    let other = Authenticator::builder("acme")
        .issuer(server.url("/elsewhere"))
        .client_id(server.code_client.clone())
        .store(FileStore::new(dir.path()))
        .build()
        .unwrap();
    assert!(other.endpoints().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_browser_login_with_pkce_through_the_loopback_server() {
    let Some(server) = DjangoServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let auth = browser_auth(&server, dir.path());
    let outcome = auth.login_browser().await.unwrap();
    assert_eq!(outcome.method, LoginMethod::Browser);
    assert_eq!(outcome.scopes, vec!["openid", "read", "write"]);
    // The subject is the ID token's `sub`: the user's primary key.
    assert_eq!(outcome.subject.as_deref(), Some("1"));
    let tokens = stored(dir.path(), "default");
    assert!(tokens.refresh_token.is_some());
    assert!(tokens.id_token.is_some());
    assert_eq!(
        userinfo(&server, tokens.access_token.expose_secret()).await,
        200
    );
    let status = auth.status().await.unwrap();
    assert!(status.authenticated);
    assert_eq!(status.token_status, Some("valid"));

    // Scopes per login: a view asking for less gets less.
    let dir = tempfile::tempdir().unwrap();
    let auth = browser_auth(&server, dir.path()).with_scopes(["read"]);
    assert_eq!(auth.login_browser().await.unwrap().scopes, vec!["read"]);
    assert_eq!(stored(dir.path(), "default").scope.as_deref(), Some("read"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_a_denied_browser_login_fails_and_stores_nothing() {
    let Some(server) = DjangoServer::start() else {
        return;
    };
    // A client the user must approve (the toolkit's consent form), denied.
    let dir = tempfile::tempdir().unwrap();
    let auth = builder(
        &server,
        &server.consent_client,
        dir.path(),
        CaptureUi::new(),
    )
    .browser(server.browser(false).opener())
    .build()
    .unwrap();
    let e = auth.login_browser().await.unwrap_err();
    // The toolkit (3.4.1) advertises RFC 9207 `iss` but leaves it out of error
    // redirects (`?error=access_denied&state=…`), and RFC 9207 §2.4 has the client
    // reject an authorization response without it: the denial fails as an issuer
    // mismatch, not as `access_denied`. Either way nothing is stored.
    assert_eq!(e.code(), "issuer_mismatch", "{e}");
    assert!(!auth.status().await.unwrap().authenticated);
    // Approved, the same client logs in.
    let auth = builder(
        &server,
        &server.consent_client,
        dir.path(),
        CaptureUi::new(),
    )
    .browser(server.browser(true).opener())
    .build()
    .unwrap();
    auth.login_browser().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_a_confidential_client_sends_its_secret_basic_or_post() {
    let Some(server) = DjangoServer::start() else {
        return;
    };
    let (id, secret) = server.secret_client.clone();
    let login = |secret: Option<&str>, method: Option<ClientAuthMethod>| {
        let dir = tempfile::tempdir().unwrap();
        let mut b = builder(&server, &id, dir.path(), CaptureUi::new())
            .browser(server.browser(true).opener());
        if let Some(s) = secret {
            b = b.client_secret(s);
        }
        if let Some(m) = method {
            b = b.client_auth_method(m);
        }
        let auth = b.build().unwrap();
        async move {
            let result = auth.login_browser().await;
            let refreshed = match &result {
                Ok(_) => Some(auth.refresh_now().await),
                Err(_) => None,
            };
            drop(dir);
            (result, refreshed)
        }
    };
    // The metadata lists both; basic is chosen (RFC 6749 §2.3.1 "MUST support").
    for method in [None, Some(ClientAuthMethod::ClientSecretPost)] {
        let (result, refreshed) = login(Some(&secret), method).await;
        let outcome = result.unwrap_or_else(|e| panic!("{method:?}: {e}"));
        assert_eq!(outcome.method, LoginMethod::Browser);
        // The refresh authenticates the same way.
        assert!(refreshed.unwrap().unwrap().rotated, "{method:?}");
    }
    // The server really checks it: a wrong secret, and none, are refused.
    let (result, _) = login(Some("not-the-secret"), None).await;
    let e = result.unwrap_err();
    assert!(e.to_string().contains("invalid_client"), "{e}");
    assert!(!e.to_string().contains("not-the-secret"), "{e}");
    let (result, _) = login(None, None).await;
    assert!(result.unwrap_err().to_string().contains("invalid_client"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_device_flow_login_approved_and_denied() {
    let Some(server) = DjangoServer::start() else {
        return;
    };
    for approve in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let (ui, mut codes) = CaptureUi::with_device_channel();
        // The device endpoint is not in the toolkit's metadata: set explicitly, the
        // rest discovered.
        let auth = builder(&server, &server.device_client, dir.path(), ui)
            .scopes(["read"])
            .device_authorization_endpoint(server.url("/o/device-authorization/"))
            .browser(Browser::Never)
            .build()
            .unwrap();
        let login = tokio::spawn({
            let auth = auth.clone();
            async move { auth.login_device().await }
        });
        // The user opens the complete URI on another device.
        let (user_code, complete) = codes.recv().await.unwrap();
        let complete = complete.unwrap();
        assert!(complete.contains(&user_code), "{complete}");
        let (status, page) = server.browser(approve).visit(&complete).await;
        assert_eq!(status, 200, "{page}");
        let result = login.await.unwrap();
        if approve {
            let outcome = result.unwrap();
            assert_eq!(outcome.method, LoginMethod::Device);
            assert_eq!(outcome.scopes, vec!["read"]);
            let tokens = stored(dir.path(), "default");
            assert!(tokens.refresh_token.is_some());
            // `read` without `openid`: the userinfo endpoint refuses the token.
            assert_eq!(
                userinfo(&server, tokens.access_token.expose_secret()).await,
                401
            );
        } else {
            let e = result.unwrap_err();
            assert_eq!(e.code(), "access_denied", "{e}");
            assert!(!auth.status().await.unwrap().authenticated);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_refresh_rotates_and_reuse_of_the_old_token_ends_the_session() {
    let Some(server) = DjangoServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let auth = browser_auth(&server, dir.path());
    auth.login_browser().await.unwrap();
    let before = stored(dir.path(), "default");
    let old_refresh = before
        .refresh_token
        .as_ref()
        .unwrap()
        .expose_secret()
        .to_string();

    let outcome = auth.refresh_now().await.unwrap();
    assert!(outcome.rotated);
    assert_eq!(outcome.scopes, vec!["openid", "read", "write"]);
    let after = stored(dir.path(), "default");
    assert_ne!(
        after.access_token.expose_secret(),
        before.access_token.expose_secret()
    );
    assert_eq!(
        userinfo(&server, after.access_token.expose_secret()).await,
        200
    );
    // The old access token was revoked with the rotation.
    assert_eq!(
        userinfo(&server, before.access_token.expose_secret()).await,
        401
    );

    // Scopes per refresh: a narrower access token (RFC 6749 §6).
    let narrowed = auth.with_scopes(["read"]).refresh_now().await.unwrap();
    assert_eq!(narrowed.scopes, vec!["read"]);
    let tokens = stored(dir.path(), "default");
    assert_eq!(tokens.scope.as_deref(), Some("read"));
    assert_eq!(
        userinfo(&server, tokens.access_token.expose_secret()).await,
        401
    );
    // Wider than granted: refused by the server, the stored grant untouched.
    let e = auth
        .with_scopes(["read", "admin"])
        .refresh_now()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("invalid_scope"), "{e}");
    assert_eq!(
        stored(dir.path(), "default").access_token.expose_secret(),
        tokens.access_token.expose_secret()
    );

    // Someone replays the first refresh token: refused, and the toolkit's reuse
    // protection revokes the whole family, so cliauth's next refresh finds the
    // session gone.
    let (status, body) = raw_refresh(&server, &old_refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let e = auth.refresh_now().await.unwrap_err();
    assert_eq!(e, Error::SessionExpired);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_logout_revokes_at_the_server_then_deletes_locally() {
    let Some(server) = DjangoServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let auth = browser_auth(&server, dir.path());
    auth.login_browser().await.unwrap();
    let tokens = stored(dir.path(), "default");
    let refresh = tokens
        .refresh_token
        .as_ref()
        .unwrap()
        .expose_secret()
        .to_string();
    let out = auth.logout().await.unwrap();
    assert_eq!(out.revocation, Revocation::Revoked);
    assert!(!auth.status().await.unwrap().authenticated);
    assert_eq!(
        auth.access_token().await.unwrap_err(),
        Error::NotAuthenticated
    );
    let (status, body) = raw_refresh(&server, &refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        userinfo(&server, tokens.access_token.expose_secret()).await,
        401
    );
}

//! Interop against a real OAuth server: panva's oidc-provider (tests/interop),
//! started on 127.0.0.1 for each test. Skipped with a notice when `npm ci` has not
//! run there, unless CLIAUTH_REQUIRE_INTEROP=1.
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
use cliauth::cliauth_core::credentials::{Credential, LoginMethod};
use cliauth::store::{CredentialStore, FileStore};
use cliauth::{Authenticator, Error, HttpRequest, Revocation};
use common::{CaptureUi, OidcServer, TestBrowser, TinyServer, closed_port, response};

fn builder(server: &OidcServer, dir: &Path, ui: Arc<CaptureUi>) -> cliauth::AuthenticatorBuilder {
    Authenticator::builder("acme")
        .product("Acme")
        .issuer(server.issuer.clone())
        .client_id(server.client_id.clone())
        .scopes(["openid", "email"])
        .store(FileStore::new(dir))
        .ui(ui)
        .cancel_on_ctrl_c(false)
        .login_timeout(Duration::from_secs(30))
}

fn browser_auth(server: &OidcServer, dir: &Path, ui: Arc<CaptureUi>) -> Authenticator {
    builder(server, dir, ui)
        .browser(TestBrowser::default().opener())
        .build()
        .unwrap()
}

/// The stored OAuth tokens of `default`: (access, refresh).
fn stored_tokens(dir: &Path) -> (String, String) {
    let doc = FileStore::new(dir).read().unwrap().unwrap();
    match &doc.profile("default").unwrap().credential {
        Credential::OAuth(t) => (
            t.access_token.expose_secret().to_string(),
            t.refresh_token
                .as_ref()
                .unwrap()
                .expose_secret()
                .to_string(),
        ),
        Credential::ApiKey(_) => panic!("expected OAuth tokens"),
    }
}

/// Rewrites the stored access token's expiry (and optionally the token itself).
fn tamper(dir: &Path, expired: bool, access_token: Option<&str>) {
    let store = FileStore::new(dir);
    let lock = store.lock().unwrap();
    let mut doc = store.read_locked(&lock).unwrap().unwrap();
    let Credential::OAuth(t) = &mut doc.profile_mut("default").unwrap().credential else {
        panic!()
    };
    if expired {
        t.expires_at = Some(cliauth::now().saturating_sub(Duration::from_secs(3600)));
    }
    if let Some(at) = access_token {
        t.access_token = cliauth::AccessToken::new(at);
    }
    store.write(&lock, &doc).unwrap();
}

#[tokio::test]
async fn discovery_finds_the_endpoints_and_checks_the_issuer() {
    let Some(server) = OidcServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let auth = browser_auth(&server, dir.path(), CaptureUi::new());
    let e = auth.endpoints().await.unwrap();
    assert_eq!(
        e.authorization.as_deref(),
        Some(server.url("/auth").as_str())
    );
    assert_eq!(e.token.as_deref(), Some(server.url("/token").as_str()));
    assert_eq!(
        e.device_authorization.as_deref(),
        Some(server.url("/device/auth").as_str())
    );
    assert_eq!(
        e.revocation.as_deref(),
        Some(server.url("/token/revocation").as_str())
    );
    assert_eq!(e.pkce_methods, Some(vec!["S256".to_string()]));
    assert!(e.iss_parameter_supported);
    // The metadata's issuer is carried on, for the RFC 9207 check and profiles.
    assert_eq!(e.issuer.as_deref(), Some(server.issuer.as_str()));

    // The same server under another name is not the configured issuer (RFC 8414 §3.3).
    let other = server.issuer.replace("127.0.0.1", "localhost");
    let auth = Authenticator::builder("acme")
        .issuer(other.clone())
        .client_id("cliauth-test")
        .store(FileStore::new(dir.path()))
        .build()
        .unwrap();
    match auth.endpoints().await {
        Err(Error::IssuerMismatch { expected, found }) => {
            assert_eq!(expected, other);
            assert_eq!(found.as_deref(), Some(server.issuer.as_str()));
        }
        other => panic!("{other:?}"),
    }

    // One issuer rule: identical strings. A trailing `/` the server does not write
    // is another issuer (RFC 8414 §3.3), not silently tolerated.
    let slashed = format!("{}/", server.issuer);
    let auth = Authenticator::builder("acme")
        .issuer(slashed.clone())
        .client_id("cliauth-test")
        .store(FileStore::new(dir.path()))
        .build()
        .unwrap();
    match auth.endpoints().await {
        Err(Error::IssuerMismatch { expected, found }) => {
            assert_eq!(expected, slashed);
            assert_eq!(found.as_deref(), Some(server.issuer.as_str()));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn browser_login_with_pkce_through_the_loopback_server() {
    let Some(server) = OidcServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ui = CaptureUi::new();
    let browser = TestBrowser::default();
    let auth = builder(&server, dir.path(), Arc::clone(&ui))
        .browser(browser.opener())
        .build()
        .unwrap();
    let outcome = auth.login_browser().await.unwrap();
    assert_eq!(outcome.method, LoginMethod::Browser);
    assert_eq!(outcome.credential_type, "oauth");
    assert_eq!(outcome.subject.as_deref(), Some("user-42"));
    assert_eq!(outcome.profile, "default");
    assert!(outcome.scopes.contains(&"openid".to_string()));
    let text = ui.text();
    assert!(
        text.contains("Opening your browser to sign in to Acme"),
        "{text}"
    );
    // The browser was started on the one-time launch link (printed), which
    // redirected it to the authorization URL.
    let link = browser.urls()[0].clone();
    assert!(
        link.starts_with("http://127.0.0.1:") && link.contains("/start/"),
        "{link}"
    );
    assert!(
        text.contains(&link) && !text.contains("code_challenge"),
        "{text}"
    );
    let text = browser
        .url_starting(&server.url("/auth?response_type=code"))
        .expect("the launch link redirects to the authorization URL");
    assert!(text.contains("code_challenge_method=S256"), "{text}");
    // `openid`: a nonce from its own entropy went out, and oidc-provider's ID token
    // carries it back (checked by core before anything was stored).
    let nonce = text
        .split("&nonce=")
        .nth(1)
        .and_then(|rest| rest.split(['&', ' ', '\n']).next())
        .expect("a nonce in the authorization URL")
        .to_string();

    let doc = FileStore::new(dir.path()).read().unwrap().unwrap();
    let profile = doc.profile("default").unwrap();
    assert_eq!(profile.issuer.as_deref(), Some(server.issuer.as_str()));
    assert_eq!(profile.method, LoginMethod::Browser);
    let Credential::OAuth(t) = &profile.credential else {
        panic!("expected OAuth tokens")
    };
    let id =
        cliauth::cliauth_core::jwt::decode_unverified(t.id_token.as_ref().unwrap().expose_secret())
            .unwrap();
    assert_eq!(id.claims.extra["nonce"], nonce.as_str());
    let (access, refresh) = stored_tokens(dir.path());
    assert!(!refresh.is_empty());
    assert_eq!(auth.access_token().await.unwrap().expose_secret(), access);
    assert!(server.userinfo_ok(&access).await);
    assert_eq!(server.token_requests("authorization_code").await, 1);
    assert_eq!(server.token_requests("refresh_token").await, 0);

    let status = auth.status().await.unwrap();
    assert!(status.authenticated);
    assert_eq!(status.subject.as_deref(), Some("user-42"));
    assert_eq!(status.token_status, Some("valid"));
    assert!(status.refreshable);
}

#[tokio::test]
async fn a_denied_authorization_is_access_denied_and_stores_nothing() {
    let Some(server) = OidcServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let auth = browser_auth(&server, dir.path(), CaptureUi::new());
    server.deny_next().await;
    let err = auth.login_browser().await.unwrap_err();
    assert!(matches!(err, Error::AccessDenied { .. }), "{err:?}");
    assert!(FileStore::new(dir.path()).read().unwrap().is_none());
    assert_eq!(server.token_requests("authorization_code").await, 0);
}

#[tokio::test]
async fn device_flow_login() {
    let Some(server) = OidcServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ui = CaptureUi::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    *ui.on_device.lock().unwrap() = Some(tx);
    let auth = builder(&server, dir.path(), Arc::clone(&ui))
        .browser(Browser::Never)
        .build()
        .unwrap();
    // The user approves on "another device" once the code is shown.
    let approver = tokio::spawn(async move {
        let complete = rx.recv().await.unwrap();
        TestBrowser::default().visit(&complete).await
    });
    let login = tokio::spawn({
        let auth = auth.clone();
        async move { auth.login_device().await }
    });
    let (status, page) = approver.await.unwrap();
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Sign-in Success"), "{page}");
    let outcome = login.await.unwrap().unwrap();
    assert_eq!(outcome.method, LoginMethod::Device);
    assert_eq!(outcome.subject.as_deref(), Some("user-42"));
    let codes = ui.device_codes.lock().unwrap().clone();
    assert_eq!(codes.len(), 1);
    assert!(codes[0].1.as_deref().unwrap().contains(&codes[0].0));
    assert!(ui.text().contains(&server.url("/device")));
    assert!(
        server
            .token_requests("urn:ietf:params:oauth:grant-type:device_code")
            .await
            >= 1
    );
    let (access, _) = stored_tokens(dir.path());
    assert!(server.userinfo_ok(&access).await);
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_is_rejected() {
    let Some(server) = OidcServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let auth = browser_auth(&server, dir.path(), CaptureUi::new());
    auth.login_browser().await.unwrap();
    let (old_access, old_refresh) = stored_tokens(dir.path());
    tamper(dir.path(), true, None);

    let fresh = auth.access_token().await.unwrap();
    let (access, refresh) = stored_tokens(dir.path());
    assert_eq!(
        fresh.expose_secret(),
        access,
        "the stored token is the one returned"
    );
    assert_ne!(access, old_access);
    assert_ne!(refresh, old_refresh, "the server rotated the refresh token");
    assert!(server.userinfo_ok(&access).await);
    assert_eq!(server.token_requests("refresh_token").await, 1);
    // A second call finds a valid token: no request.
    auth.access_token().await.unwrap();
    assert_eq!(server.token_requests("refresh_token").await, 1);

    let (status, body) = server.raw_refresh(&old_refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_refresh_token_revoked_elsewhere_ends_the_session_after_a_reread() {
    let Some(server) = OidcServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let auth = browser_auth(&server, dir.path(), CaptureUi::new());
    auth.login_browser().await.unwrap();
    let (_, refresh) = stored_tokens(dir.path());
    // Signed out elsewhere.
    let revoked = common::tls_client()
        .post(server.url("/token/revocation"))
        .form(&[("token", refresh.as_str()), ("client_id", "cliauth-test")])
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    tamper(dir.path(), true, None);
    let err = auth.access_token().await.unwrap_err();
    assert_eq!(err, Error::SessionExpired);
    // invalid_grant → re-read → same token → gone: one request, not two.
    assert_eq!(server.token_requests("refresh_token").await, 1);
    assert_eq!(err.exit_code(), 2);
}

#[tokio::test]
async fn a_rejected_access_token_is_refreshed_once_and_the_call_retried() {
    let Some(server) = OidcServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let auth = browser_auth(&server, dir.path(), CaptureUi::new());
    auth.login_browser().await.unwrap();
    // The server no longer accepts the stored (unexpired) access token.
    tamper(dir.path(), false, Some("not-a-valid-access-token"));
    let response = auth
        .send(HttpRequest::get(server.url("/me")))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    let me: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(me["sub"], "user-42");
    assert_eq!(server.token_requests("refresh_token").await, 1);
    let (access, _) = stored_tokens(dir.path());
    assert_ne!(access, "not-a-valid-access-token");
}

#[tokio::test]
async fn logout_revokes_at_the_server_then_deletes_locally() {
    let Some(server) = OidcServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let auth = browser_auth(&server, dir.path(), CaptureUi::new());
    auth.login_browser().await.unwrap();
    let (access, refresh) = stored_tokens(dir.path());
    let outcome = auth.logout().await.unwrap();
    assert_eq!(outcome.profile, "default");
    assert_eq!(outcome.revocation, Revocation::Revoked);
    assert_eq!(server.revocations().await, 1);
    let doc = FileStore::new(dir.path()).read().unwrap().unwrap();
    assert!(doc.profiles.is_empty());
    assert_eq!(
        auth.access_token().await.unwrap_err(),
        Error::NotAuthenticated
    );
    let (status, body) = server.raw_refresh(&refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(
        !server.userinfo_ok(&access).await,
        "revoking the grant ends its access tokens"
    );
}

#[tokio::test]
async fn logout_deletes_locally_when_revocation_fails() {
    let Some(server) = OidcServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    browser_auth(&server, dir.path(), CaptureUi::new())
        .login_browser()
        .await
        .unwrap();
    let broken = builder(&server, dir.path(), CaptureUi::new())
        .revocation_endpoint(format!("http://127.0.0.1:{}/revoke", closed_port()))
        .build()
        .unwrap();
    let outcome = broken.logout().await.unwrap();
    match &outcome.revocation {
        Revocation::Failed { code, .. } => assert_eq!(code, "network_error"),
        other => panic!("{other:?}"),
    }
    assert!(
        FileStore::new(dir.path())
            .read()
            .unwrap()
            .unwrap()
            .profiles
            .is_empty()
    );
}

#[tokio::test]
async fn profiles_of_another_issuer_are_never_sent_there() {
    let Some(first) = OidcServer::start() else {
        return;
    };
    let Some(second) = OidcServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    browser_auth(&first, dir.path(), CaptureUi::new())
        .login_browser()
        .await
        .unwrap();
    tamper(dir.path(), true, None);
    let other = browser_auth(&second, dir.path(), CaptureUi::new());
    let err = other.access_token().await.unwrap_err();
    assert_eq!(
        err,
        Error::ProfileServerMismatch {
            profile: "default".into(),
            stored: first.issuer.clone(),
            configured: second.issuer.clone(),
        }
    );
    assert!(matches!(
        other.status().await,
        Err(Error::ProfileServerMismatch { .. })
    ));
    let out = other.logout().await.unwrap();
    assert!(matches!(out.revocation, Revocation::Skipped { .. }));
    assert_eq!(second.token_requests("refresh_token").await, 0);
    assert_eq!(second.revocations().await, 0);
    assert_eq!(first.revocations().await, 0);
}

/// A vendor cli-auth page that mints a one-time code bound to the CLI's PKCE
/// challenge by sending the browser through oidc-provider's authorization endpoint
/// with the loopback redirect.
#[tokio::test]
async fn handoff_with_a_one_time_code_exchanged_with_the_pkce_verifier() {
    let Some(server) = OidcServer::start() else {
        return;
    };
    let issuer = server.issuer.clone();
    let page = TinyServer::start(move |seen| {
        let query = seen.path.split_once('?').map_or("", |(_, q)| q);
        let params: std::collections::HashMap<String, String> =
            url_pairs(query).into_iter().collect();
        let port = &params["port"];
        let target = format!(
            "{issuer}/auth?client_id=cliauth-test&response_type=code&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fcallback&state={}&code_challenge={}&code_challenge_method={}",
            params["state"], params["code_challenge"], params["code_challenge_method"]
        );
        response(302, &[("Location", &target)], "")
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ui = CaptureUi::new();
    let auth = builder(&server, dir.path(), Arc::clone(&ui))
        .cli_auth_page(format!("{}/cli-auth", page.url))
        .browser(TestBrowser::default().opener())
        .build()
        .unwrap();
    let outcome = auth.login_handoff().await.unwrap();
    assert_eq!(outcome.method, LoginMethod::Handoff);
    assert_eq!(outcome.credential_type, "oauth");
    assert!(
        *ui.cancelled.lock().unwrap(),
        "the paste prompt was abandoned"
    );
    let opened = page.seen.lock().unwrap()[0].path.clone();
    assert!(opened.starts_with("/cli-auth?port="), "{opened}");
    assert!(opened.contains("&code_challenge_method=S256"), "{opened}");
    assert!(
        !opened.contains("accept=api_key"),
        "no raw key asked for: {opened}"
    );
    let (access, _) = stored_tokens(dir.path());
    assert!(server.userinfo_ok(&access).await);
    assert_eq!(server.token_requests("authorization_code").await, 1);
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

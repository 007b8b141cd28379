//! Every provider preset through the public `Authenticator` API — login (browser
//! and/or device), refresh where the provider has it, logout — against the
//! provider's **emulation** (`cliauth_test_harness::emulation`: documented wire
//! behaviour on loopback, not the provider itself). The generic `oidc` preset runs
//! against real servers instead (native/tests/interop.rs with oidc-provider,
//! tests/django.rs with django-oauth-toolkit).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cliauth::cliauth_core::credentials::LoginMethod;
use cliauth::loopback::LoopbackOptions;
use cliauth::store::{CredentialStore, EnvSource, FileStore};
use cliauth::{Authenticator, AuthenticatorBuilder, Error, RequestKind, Revocation, preset};
use cliauth_test_harness::emulation::{EMAIL, Emulation, Options, Provider, browser, subject};
use common::{CaptureUi, rewrite, stored, until};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn base(
    config: cliauth::ProviderConfig,
    client_id: &str,
    dir: &Path,
    ui: Arc<CaptureUi>,
) -> AuthenticatorBuilder {
    Authenticator::builder("acme")
        .product("Acme")
        .provider(config)
        .client_id(client_id)
        .store(FileStore::new(dir))
        .env(EnvSource::fixed(Vec::<(String, String)>::new()))
        .ui(ui)
        .browser(browser())
        .cancel_on_ctrl_c(false)
        .login_timeout(Duration::from_secs(30))
}

/// A device login where the user approves once the code is shown (after the
/// `pending` first polls have been answered).
async fn device_login(
    auth: &Authenticator,
    emu: &Emulation,
    mut codes: tokio::sync::mpsc::UnboundedReceiver<common::DeviceCode>,
    pending: u64,
    approve: bool,
) -> Result<cliauth::LoginOutcome, Error> {
    let mut login = tokio::spawn({
        let auth = auth.clone();
        async move { auth.login_device().await }
    });
    // A login that fails before showing a code ends the wait too.
    let user_code = tokio::select! {
        c = codes.recv() => c.unwrap().0,
        r = &mut login => return r.unwrap(),
    };
    let before = emu.token_requests(DEVICE_GRANT);
    until(|| emu.token_requests(DEVICE_GRANT) >= before + pending).await;
    if approve {
        assert!(emu.approve_device(&user_code));
    } else {
        assert!(emu.deny_device(&user_code));
    }
    login.await.unwrap()
}

fn body_of(r: &cliauth_test_harness::http::Request) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_oauth_app_browser_and_device_login_without_refresh() {
    let mut options = Options::new("Iv1.oauthapp");
    options.client_secret = Some("gh-oauth-secret".into());
    let emu = Emulation::start(Provider::GitHub, options).await;
    let api = emu.url("/api");
    let config = || {
        preset("github")
            .unwrap()
            .configure(&[("host", &emu.base), ("api", &api)])
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();

    // The web flow: the OAuth app's secret in the body, PKCE on anyway.
    let ui = CaptureUi::new();
    let auth = base(config(), "Iv1.oauthapp", dir.path(), Arc::clone(&ui))
        .client_secret("gh-oauth-secret")
        .scopes(["repo", "read:org"])
        .build()
        .unwrap();
    let outcome = auth.login_browser().await.unwrap();
    assert_eq!(outcome.method, LoginMethod::Browser);
    assert_eq!(outcome.subject.as_deref(), Some(subject(Provider::GitHub)));
    // GitHub answers `"scope": "repo,read:org"`; stored space-separated.
    assert_eq!(outcome.scopes, vec!["repo", "read:org"]);
    let token_call = emu.seen_at("/login/oauth/access_token").pop().unwrap();
    let body = body_of(&token_call);
    assert!(
        body.contains("client_id=Iv1.oauthapp&client_secret=gh-oauth-secret"),
        "{body}"
    );
    assert!(body.contains("code_verifier="), "{body}");
    assert_eq!(token_call.header("authorization"), None);
    assert!(!ui.text().contains("gh-oauth-secret"));
    // OAuth app tokens do not expire and have no refresh token.
    let status = auth.status().await.unwrap();
    assert_eq!(
        (status.token_status, status.refreshable),
        (Some("valid"), false)
    );
    assert_eq!(status.expires_at, None);
    assert!(auth.refresh_now().await.is_err());
    assert_eq!(emu.token_requests("refresh_token"), 0);
    let token = stored(dir.path(), "default").access_token;
    assert!(emu.access_token_valid(token.expose_secret()));
    // No RFC 7009 endpoint: logout is local.
    let out = auth.logout().await.unwrap();
    assert_eq!(out.revocation, Revocation::NotSupported);
    assert!(!auth.status().await.unwrap().authenticated);

    // The device flow: no secret (like gh), errors in 200 answers, `slow_down`
    // with the new `interval` in its body.
    let (ui, codes) = CaptureUi::with_device_channel();
    let auth = base(config(), "Iv1.oauthapp", dir.path(), ui)
        .scopes(["repo"])
        .build()
        .unwrap();
    let mut login = tokio::spawn({
        let auth = auth.clone();
        async move { auth.login_device().await }
    });
    let mut codes = codes;
    let (user_code, complete) = tokio::select! {
        c = codes.recv() => c.unwrap(),
        r = &mut login => panic!("the login ended before showing a code: {r:?}"),
    };
    assert_eq!(complete, None);
    emu.slow_down_next_poll(&user_code);
    until(|| emu.token_requests(DEVICE_GRANT) >= 1).await;
    assert!(emu.approve_device(&user_code));
    let outcome = login.await.unwrap().unwrap();
    assert_eq!(outcome.method, LoginMethod::Device);
    assert_eq!(outcome.scopes, vec!["repo"]);
    let polls = emu.seen_at("/login/oauth/access_token");
    let device_polls: Vec<_> = polls
        .iter()
        .filter(|r| body_of(r).contains("device_code="))
        .collect();
    assert_eq!(device_polls.len(), 2, "slow_down once, then the tokens");
    assert!(!body_of(device_polls[0]).contains("client_secret"));
    let device_request = emu.seen_at("/login/device/code").pop().unwrap();
    assert_eq!(
        body_of(&device_request),
        "client_id=Iv1.oauthapp&scope=repo"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_device_flow_disabled_is_reported_from_a_200_answer() {
    let mut options = Options::new("Iv1.nodevice");
    options.device_flow = false;
    let emu = Emulation::start(Provider::GitHub, options).await;
    let config = preset("github")
        .unwrap()
        .configure(&[("host", &emu.base)])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let auth = base(config, "Iv1.nodevice", dir.path(), CaptureUi::new())
        .build()
        .unwrap();
    let e = auth.login_device().await.unwrap_err();
    assert_eq!(e.code(), "authorization_failed", "{e}");
    assert!(e.to_string().contains("device_flow_disabled"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_app_refreshes_with_its_secret_and_rotates() {
    let mut options = Options::new("Iv23.githubapp");
    options.client_secret = Some("gh-app-secret".into());
    options.access_lifetime = 28_800;
    let emu = Emulation::start(Provider::GitHubApp, options).await;
    let api = emu.url("/api");
    let config = preset("github")
        .unwrap()
        .configure(&[("host", &emu.base), ("api", &api)])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (ui, codes) = CaptureUi::with_device_channel();
    let auth = base(config, "Iv23.githubapp", dir.path(), ui)
        .client_secret("gh-app-secret")
        .build()
        .unwrap();
    let outcome = device_login(&auth, &emu, codes, 0, true).await.unwrap();
    assert_eq!(outcome.subject.as_deref(), Some("octocat"));
    assert!(outcome.expires_at.is_some());
    let first = stored(dir.path(), "default");
    let old_refresh = first.refresh_token.as_ref().unwrap().clone_secret();
    assert!(old_refresh.expose_secret().starts_with("ghr_"));

    let refreshed = auth.refresh_now().await.unwrap();
    assert!(refreshed.rotated);
    let refresh_call = emu
        .seen_at("/login/oauth/access_token")
        .into_iter()
        .rfind(|r| body_of(r).contains("grant_type=refresh_token"))
        .unwrap();
    assert!(body_of(&refresh_call).contains("client_secret=gh-app-secret"));
    assert!(!emu.refresh_token_valid(old_refresh.expose_secret()));
    let new_access = stored(dir.path(), "default").access_token;
    assert!(emu.access_token_valid(new_access.expose_secret()));

    // The old refresh token comes back (a restored backup): GitHub says
    // `bad_refresh_token`, which the preset maps to `invalid_grant`, so the
    // session is declared expired after re-reading the store.
    rewrite(dir.path(), "default", |t| {
        t.refresh_token = Some(old_refresh.clone_secret());
    });
    assert_eq!(auth.refresh_now().await.unwrap_err(), Error::SessionExpired);
    assert_eq!(
        auth.logout().await.unwrap().revocation,
        Revocation::NotSupported
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_needs_its_client_secret_and_keeps_the_refresh_token() {
    let mut options = Options::new("123-abc.apps.googleusercontent.com");
    options.client_secret = Some("GOCSPX-desktop".into());
    let emu = Emulation::start(Provider::Google, options).await;
    let config = || {
        preset("google")
            .unwrap()
            .configure(&[("authority", &emu.base)])
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let client = "123-abc.apps.googleusercontent.com";
    let e = base(config(), client, dir.path(), CaptureUi::new())
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("client secret"), "{e}");

    let auth = base(config(), client, dir.path(), CaptureUi::new())
        .client_secret("GOCSPX-desktop")
        .build()
        .unwrap();
    let outcome = auth.login_browser().await.unwrap();
    // The account named is the ID token's email (core prefers it to `sub`).
    assert_eq!(outcome.subject.as_deref(), Some(EMAIL));
    assert_eq!(outcome.scopes, vec!["openid", "email"]);
    // The metadata lists client_secret_basic: the secret goes in the header.
    let exchange = emu.seen_at("/token").pop().unwrap();
    assert!(
        exchange
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    assert!(!body_of(&exchange).contains("client_secret"));
    assert!(body_of(&exchange).contains("code_verifier="));

    // The device flow: `verification_url`, `authorization_pending` as 428.
    let (ui, codes) = CaptureUi::with_device_channel();
    let device = base(config(), client, dir.path(), Arc::clone(&ui))
        .client_secret("GOCSPX-desktop")
        .build()
        .unwrap()
        .with_profile("tv")
        .unwrap();
    let outcome = device_login(&device, &emu, codes, 1, true).await.unwrap();
    assert_eq!(outcome.profile, "tv");
    assert!(
        ui.text().contains("https://www.google.com/device"),
        "{}",
        ui.text()
    );

    // Refresh: a new access token, the same refresh token (Google does not rotate).
    let before = stored(dir.path(), "tv");
    let r = device.refresh_now().await.unwrap();
    assert!(!r.rotated);
    let after = stored(dir.path(), "tv");
    assert_eq!(after.refresh_token, before.refresh_token);
    assert_ne!(after.access_token, before.access_token);

    let out = device.logout().await.unwrap();
    assert_eq!(out.revocation, Revocation::Revoked);
    assert!(!emu.access_token_valid(after.access_token.expose_secret()));
    assert!(!emu.refresh_token_valid(after.refresh_token.unwrap().expose_secret()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_multi_tenant_discovery_device_message_declines_and_string_expiry() {
    let emu = Emulation::start(
        Provider::Entra,
        Options::new("11111111-2222-3333-4444-555555555555"),
    )
    .await;
    let config = || {
        preset("entra")
            .unwrap()
            .configure(&[("authority", &emu.base), ("tenant", "organizations")])
            .unwrap()
    };
    let client = "11111111-2222-3333-4444-555555555555";
    let dir = tempfile::tempdir().unwrap();
    // A public client: a secret is refused before anything is sent.
    let e = base(config(), client, dir.path(), CaptureUi::new())
        .client_secret("not-for-entra")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("public clients"), "{e}");
    assert!(!e.to_string().contains("not-for-entra"), "{e}");
    let auth = base(config(), client, dir.path(), CaptureUi::new())
        .build()
        .unwrap();
    // The document names `{tenantid}` in its issuer; the preset expects exactly that.
    let endpoints = auth.endpoints().await.unwrap();
    assert_eq!(
        endpoints.device_authorization.as_deref(),
        Some(emu.url("/organizations/oauth2/v2.0/devicecode").as_str())
    );
    assert_eq!(endpoints.revocation, None);
    let outcome = auth.login_browser().await.unwrap();
    // The account named is the ID token's email (core prefers it to `sub`).
    assert_eq!(outcome.subject.as_deref(), Some(EMAIL));
    // A public client: no secret anywhere (Entra refuses one, AADSTS700025).
    let authorize = emu
        .seen_at("/organizations/oauth2/v2.0/authorize")
        .pop()
        .unwrap();
    assert_eq!(
        authorize.param("code_challenge_method").as_deref(),
        Some("S256")
    );

    // The user declines on their other device: `authorization_declined`.
    let (ui, codes) = CaptureUi::with_device_channel();
    let device = base(config(), client, dir.path(), Arc::clone(&ui))
        .build()
        .unwrap()
        .with_profile("device")
        .unwrap();
    let e = device_login(&device, &emu, codes, 0, false)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::AccessDenied { .. }), "{e:?}");
    assert!(
        ui.text().contains(
            "To sign in, use a web browser to open the page https://microsoft.com/devicelogin"
        ),
        "{}",
        ui.text()
    );
    let (ui, codes) = CaptureUi::with_device_channel();
    let device = device.with_ui(ui);
    device_login(&device, &emu, codes, 1, true).await.unwrap();

    // Refresh: a new refresh token; `expires_in` as a string is understood.
    let before = stored(dir.path(), "device");
    let r = device.refresh_now().await.unwrap();
    assert!(r.rotated);
    let after = stored(dir.path(), "device");
    let lifetime = after
        .expires_at
        .unwrap()
        .saturating_duration_since(after.obtained_at);
    assert_eq!(lifetime, Duration::from_secs(3600));
    assert_eq!(after.scope, before.scope);
    assert_eq!(
        device.logout().await.unwrap().revocation,
        Revocation::NotSupported
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_single_tenant_issuer_is_exact() {
    let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let mut options = Options::new("app");
    options.tenant = tenant.into();
    let emu = Emulation::start(Provider::Entra, options).await;
    let dir = tempfile::tempdir().unwrap();
    let config = preset("entra")
        .unwrap()
        .configure(&[("authority", &emu.base), ("tenant", tenant)])
        .unwrap();
    let auth = base(config, "app", dir.path(), CaptureUi::new())
        .build()
        .unwrap();
    let outcome = auth.login_browser().await.unwrap();
    // The account named is the ID token's email (core prefers it to `sub`).
    assert_eq!(outcome.subject.as_deref(), Some(EMAIL));
    let profile = FileStore::new(dir.path()).read().unwrap().unwrap();
    assert_eq!(
        profile.profile("default").unwrap().issuer,
        Some(format!("{}/{tenant}/v2.0", emu.base))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth0_sends_the_audience_and_detects_refresh_token_reuse() {
    let emu = Emulation::start(Provider::Auth0, Options::new("auth0-native")).await;
    let config = || {
        preset("auth0")
            .unwrap()
            .configure(&[("domain", &emu.base), ("audience", "https://api.acme.test")])
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let auth = base(config(), "auth0-native", dir.path(), CaptureUi::new())
        .build()
        .unwrap();
    let outcome = auth.login_browser().await.unwrap();
    // The account named is the ID token's email (core prefers it to `sub`).
    assert_eq!(outcome.subject.as_deref(), Some(EMAIL));
    let authorize = emu.seen_at("/authorize").pop().unwrap();
    assert_eq!(
        authorize.param("audience").as_deref(),
        Some("https://api.acme.test")
    );
    assert_eq!(
        authorize.param("scope").as_deref(),
        Some("openid profile offline_access")
    );

    // Device flow: the audience too; `authorization_pending` is a 403.
    let (ui, codes) = CaptureUi::with_device_channel();
    let device = base(config(), "auth0-native", dir.path(), ui)
        .build()
        .unwrap()
        .with_profile("device")
        .unwrap();
    device_login(&device, &emu, codes, 1, true).await.unwrap();
    let device_request = emu.seen_at("/oauth/device/code").pop().unwrap();
    assert!(
        body_of(&device_request).ends_with("&audience=https%3A%2F%2Fapi.acme.test"),
        "{}",
        body_of(&device_request)
    );

    // Rotation with reuse detection.
    let old = stored(dir.path(), "device").refresh_token.unwrap();
    assert!(device.refresh_now().await.unwrap().rotated);
    let current = stored(dir.path(), "device");
    rewrite(dir.path(), "device", |t| {
        t.refresh_token = Some(old.clone_secret())
    });
    assert_eq!(
        device.refresh_now().await.unwrap_err(),
        Error::SessionExpired
    );
    // Reuse revoked the whole family, the rotated token with it.
    assert!(!emu.refresh_token_valid(current.refresh_token.unwrap().expose_secret()));

    let out = auth.logout().await.unwrap();
    assert_eq!(out.revocation, Revocation::Revoked);
    assert_eq!(emu.revocations(), 1);
}

async fn oidc_preset_round_trip(
    provider: Provider,
    options: Options,
    config: impl Fn(&Emulation) -> cliauth::ProviderConfig,
    rotates: bool,
    old_still_valid: bool,
) {
    let client = options.client_id.clone();
    let emu = Emulation::start(provider, options).await;
    let dir = tempfile::tempdir().unwrap();
    let auth = base(config(&emu), &client, dir.path(), CaptureUi::new())
        .build()
        .unwrap();
    let outcome = auth.login_browser().await.unwrap();
    // The account named is the ID token's email (core prefers it to `sub`).
    assert_eq!(outcome.subject.as_deref(), Some(EMAIL));
    let (ui, codes) = CaptureUi::with_device_channel();
    let device = base(config(&emu), &client, dir.path(), ui)
        .build()
        .unwrap()
        .with_profile("device")
        .unwrap();
    let outcome = device_login(&device, &emu, codes, 1, true).await.unwrap();
    assert_eq!(outcome.method, LoginMethod::Device);
    let old = stored(dir.path(), "device").refresh_token.unwrap();
    let r = device.refresh_now().await.unwrap();
    assert_eq!(r.rotated, rotates);
    assert_eq!(
        emu.refresh_token_valid(old.expose_secret()),
        old_still_valid
    );
    let after = stored(dir.path(), "device");
    assert!(emu.access_token_valid(after.access_token.expose_secret()));
    assert_eq!(
        device.logout().await.unwrap().revocation,
        Revocation::Revoked
    );
    assert!(!emu.access_token_valid(after.access_token.expose_secret()));
    assert_eq!(auth.logout().await.unwrap().revocation, Revocation::Revoked);
    assert_eq!(emu.revocations(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_custom_authorization_server() {
    let mut options = Options::new("0oa-native");
    options.realm = "default".into();
    oidc_preset_round_trip(
        Provider::Okta,
        options,
        |emu| {
            preset("okta")
                .unwrap()
                .configure(&[("domain", &emu.base)])
                .unwrap()
        },
        true,
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycloak_realm() {
    oidc_preset_round_trip(
        Provider::Keycloak,
        Options::new("acme-cli"),
        |emu| {
            preset("keycloak")
                .unwrap()
                .configure(&[("base", &emu.base), ("realm", "acme")])
                .unwrap()
        },
        true,
        true,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cognito_localhost_redirect_basic_secret_and_preset_revocation() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut options = Options::new("cognito-app");
    options.client_secret = Some("cognito-secret".into());
    options.realm = "eu-west-1_Abc123".into();
    options.redirect_uris = vec![format!("http://localhost:{port}/callback")];
    let emu = Emulation::start(Provider::Cognito, options).await;
    let config = preset("cognito")
        .unwrap()
        .configure(&[
            ("region", "eu-west-1"),
            ("user_pool_id", "eu-west-1_Abc123"),
            ("domain", &emu.base),
            ("idp", &emu.base),
        ])
        .unwrap();
    assert_eq!(config.issuer, Some(emu.url("/eu-west-1_Abc123")));
    let dir = tempfile::tempdir().unwrap();
    let mut loopback = LoopbackOptions::default();
    loopback.port = port;
    loopback.timeout = Duration::from_secs(30);
    loopback.cancel_on_ctrl_c = false;
    let auth = base(config, "cognito-app", dir.path(), CaptureUi::new())
        .client_secret("cognito-secret")
        .loopback(loopback)
        .build()
        .unwrap();
    let outcome = auth.login_browser().await.unwrap();
    let authorize = emu.seen_at("/oauth2/authorize").pop().unwrap();
    assert_eq!(
        authorize.param("redirect_uri"),
        Some(format!("http://localhost:{port}/callback"))
    );
    // No `scope` in Cognito's answer: the requested one (RFC 6749 §5.1).
    assert_eq!(outcome.scopes, vec!["openid", "email"]);
    // The account named is the ID token's email (core prefers it to `sub`).
    assert_eq!(outcome.subject.as_deref(), Some(EMAIL));
    assert!(
        emu.seen_at("/oauth2/token")
            .pop()
            .unwrap()
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    // Device login is not offered.
    assert!(auth.login_device().await.is_err());
    let before = stored(dir.path(), "default");
    assert!(!auth.refresh_now().await.unwrap().rotated);
    assert_eq!(
        stored(dir.path(), "default").refresh_token,
        before.refresh_token
    );
    // /oauth2/revoke comes from the preset (the document does not list it).
    assert_eq!(auth.logout().await.unwrap().revocation, Revocation::Revoked);
    assert!(!emu.refresh_token_valid(before.refresh_token.unwrap().expose_secret()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_token_from_the_environment_wins_over_the_stored_login() {
    let emu = Emulation::start(Provider::GitHub, Options::new("Iv1.env")).await;
    let api = emu.url("/api");
    let config = || {
        preset("github")
            .unwrap()
            .configure(&[("host", &emu.base), ("api", &api)])
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let (ui, codes) = CaptureUi::with_device_channel();
    let stored_login = base(config(), "Iv1.env", dir.path(), ui)
        .api_base(&api)
        .build()
        .unwrap();
    device_login(&stored_login, &emu, codes, 0, true)
        .await
        .unwrap();
    let ci_token = stored(dir.path(), "default").access_token;

    // CI has a token of its own in ACME_TOKEN (here: a second valid one).
    let (ui, codes) = CaptureUi::with_device_channel();
    let other = base(config(), "Iv1.env", dir.path(), ui)
        .build()
        .unwrap()
        .with_profile("other")
        .unwrap();
    device_login(&other, &emu, codes, 0, true).await.unwrap();
    let env_token = stored(dir.path(), "other").access_token;
    assert_ne!(env_token, ci_token);
    let env = || EnvSource::fixed([("ACME_TOKEN", format!("{}\n", env_token.expose_secret()))]);
    let auth = base(config(), "Iv1.env", dir.path(), CaptureUi::new())
        .api_base(&api)
        .env(env())
        .build()
        .unwrap();
    assert_eq!(auth.access_token().await.unwrap(), env_token);
    let status = auth.status().await.unwrap();
    assert_eq!(status.source.as_deref(), Some("env:ACME_TOKEN"));
    assert_eq!(status.credential_type, Some("token"));
    let me = auth.get_json("/user").await.unwrap();
    assert_eq!(me["login"], "octocat");
    let seen = emu.seen_at("/api/user").pop().unwrap();
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {}", env_token.expose_secret()).as_str())
    );
    // Logging out removes the stored profile, and says the variable still applies.
    let out = auth.logout().await.unwrap();
    assert_eq!(out.env_still_set.as_deref(), Some("ACME_TOKEN"));
    // Logging in while it is set stores the login and says the variable wins.
    let (ui, codes) = CaptureUi::with_device_channel();
    let again = base(config(), "Iv1.env", dir.path(), Arc::clone(&ui))
        .env(env())
        .build()
        .unwrap();
    device_login(&again, &emu, codes, 0, true).await.unwrap();
    assert!(
        ui.text()
            .contains("ACME_TOKEN is set and is used instead of this login"),
        "{}",
        ui.text()
    );
    assert_eq!(again.access_token().await.unwrap(), env_token);
    // A token that is not one is refused before anything is sent.
    let bad = base(config(), "Iv1.env", dir.path(), CaptureUi::new())
        .env(EnvSource::fixed([("ACME_TOKEN", "Bearer gho_abc")]))
        .build()
        .unwrap();
    let e = bad.access_token().await.unwrap_err();
    assert!(e.to_string().starts_with("Invalid ACME_TOKEN"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_parameters_reach_each_request_kind_and_never_replace_cliauths_own() {
    let emu = Emulation::start(Provider::Keycloak, Options::new("acme-cli")).await;
    let paths = emu.paths();
    let config = || {
        preset("keycloak")
            .unwrap()
            .configure(&[("base", &emu.base), ("realm", "acme")])
            .unwrap()
    };
    let params = |b: AuthenticatorBuilder| {
        b.param(RequestKind::Authorize, "prompt", "login")
            .param(
                RequestKind::DeviceAuthorization,
                "audience",
                "https://api.acme.test",
            )
            .param(RequestKind::Token, "resource", "https://api.acme.test")
            .param(RequestKind::Refresh, "resource", "https://files.acme.test")
            .param(RequestKind::Revocation, "vendor_flag", "1")
            // Reserved: cliauth's own parameters are never replaced.
            .param(RequestKind::Token, "client_id", "someone-else")
            .param(RequestKind::Authorize, "state", "forged")
            .param(RequestKind::DeviceAuthorization, "scope", "admin")
    };
    let dir = tempfile::tempdir().unwrap();
    let auth = params(base(config(), "acme-cli", dir.path(), CaptureUi::new()))
        .build()
        .unwrap();
    auth.login_browser().await.unwrap();
    let authorize = emu.seen_at(&paths.authorize).pop().unwrap();
    assert_eq!(authorize.param("prompt").as_deref(), Some("login"));
    assert_eq!(
        authorize.query.iter().filter(|(k, _)| k == "state").count(),
        1
    );
    assert_ne!(authorize.param("state").as_deref(), Some("forged"));
    assert_eq!(authorize.param("resource"), None);
    let exchange = emu.seen_at(&paths.token).pop().unwrap();
    assert_eq!(
        exchange.field("resource").as_deref(),
        Some("https://api.acme.test")
    );
    assert_eq!(exchange.field("client_id").as_deref(), Some("acme-cli"));
    assert_eq!(
        exchange
            .form()
            .iter()
            .filter(|(k, _)| k == "client_id")
            .count(),
        1
    );

    let (ui, codes) = CaptureUi::with_device_channel();
    let device = params(base(config(), "acme-cli", dir.path(), ui))
        .build()
        .unwrap()
        .with_profile("device")
        .unwrap();
    device_login(&device, &emu, codes, 0, true).await.unwrap();
    let request = emu.seen_at(paths.device.as_deref().unwrap()).pop().unwrap();
    assert_eq!(
        request.field("audience").as_deref(),
        Some("https://api.acme.test")
    );
    assert_eq!(request.field("scope").as_deref(), Some("openid"));
    let poll = emu.seen_at(&paths.token).pop().unwrap();
    assert_eq!(poll.field("grant_type").as_deref(), Some(DEVICE_GRANT));
    assert_eq!(
        poll.field("resource").as_deref(),
        Some("https://api.acme.test")
    );

    device.refresh_now().await.unwrap();
    let refresh = emu.seen_at(&paths.token).pop().unwrap();
    assert_eq!(
        refresh.field("grant_type").as_deref(),
        Some("refresh_token")
    );
    assert_eq!(
        refresh.field("resource").as_deref(),
        Some("https://files.acme.test")
    );
    device.logout().await.unwrap();
    let revoke = emu.seen_at(paths.revoke.as_deref().unwrap()).pop().unwrap();
    assert_eq!(revoke.field("vendor_flag").as_deref(), Some("1"));
    assert_eq!(revoke.field("resource"), None);
}

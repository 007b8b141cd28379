//! Refresh storm: many CLI processes need a token at the same moment, the access
//! token has expired, and the server rotates refresh tokens. Exactly one refresh
//! must reach the server; every process must get a valid token; the stored refresh
//! token must be the newest.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cliauth::Authenticator;
use cliauth::cliauth_core::credentials::Credential;
use cliauth::store::{CredentialStore, FileStore};
use common::{CaptureUi, OidcServer, TestBrowser};

const PROCESSES: usize = 16;

fn stored(dir: &std::path::Path) -> (String, String) {
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
        Credential::ApiKey(_) => panic!(),
    }
}

#[tokio::test]
async fn sixteen_processes_one_refresh() {
    let Some(server) = OidcServer::start() else {
        return;
    };
    let acme = common::example("acme");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");

    // Log in once (the same configuration as the `acme` example).
    let auth = Authenticator::builder("acme")
        .issuer(server.issuer.clone())
        .client_id(server.client_id.clone())
        .scopes(["openid", "email"])
        .store(FileStore::new(&dir))
        .ui(CaptureUi::new())
        .browser(TestBrowser::default().opener())
        .cancel_on_ctrl_c(false)
        .build()
        .unwrap();
    auth.login_browser().await.unwrap();
    let (old_access, old_refresh) = stored(&dir);

    // Expire the access token.
    let store = FileStore::new(&dir);
    let lock = store.lock().unwrap();
    let mut doc = store.read_locked(&lock).unwrap().unwrap();
    if let Credential::OAuth(t) = &mut doc.profile_mut("default").unwrap().credential {
        t.expires_at = Some(cliauth::now().saturating_sub(Duration::from_secs(600)));
    }
    store.write(&lock, &doc).unwrap();
    drop(lock);
    assert_eq!(server.token_requests("refresh_token").await, 0);

    // All processes start before any is waited for.
    let started = Instant::now();
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            Command::new(&acme)
                .args(["auth", "token"])
                .env("ACME_ISSUER", &server.issuer)
                .env("ACME_CLIENT_ID", &server.client_id)
                .env("ACME_SCOPES", "openid email")
                .env("ACME_CONFIG_DIR", &dir)
                .env_remove("ACME_API_KEY")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect()
    })
    .await
    .unwrap();
    eprintln!(
        "{PROCESSES} processes finished in {:.2}s",
        started.elapsed().as_secs_f64()
    );

    let mut tokens = Vec::new();
    for out in &outputs {
        assert!(
            out.status.success(),
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        tokens.push(
            String::from_utf8(out.stdout.clone())
                .unwrap()
                .trim()
                .to_string(),
        );
    }
    assert_eq!(
        server.token_requests("refresh_token").await,
        1,
        "exactly one refresh"
    );

    let (access, refresh) = stored(&dir);
    assert_ne!(access, old_access);
    assert_ne!(refresh, old_refresh);
    for token in &tokens {
        assert_eq!(token, &access, "every process got the refreshed token");
    }
    assert!(server.userinfo_ok(&access).await, "the token is valid");
    // The stored refresh token is the newest: the server accepts it (a rotated-away
    // one would be refused, and its reuse would revoke the whole grant).
    let (status, body) = server.raw_refresh(&refresh).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.token_requests("refresh_token").await, 2);
}

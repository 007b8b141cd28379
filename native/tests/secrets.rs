//! No secret value — token, key, code, state, verifier — appears in any log line at
//! TRACE (ours and our dependencies'), in error text, or in Debug output.
//!
//! One test in this file: it installs a global TRACE subscriber that captures
//! everything the process logs while real logins, refreshes and failures run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cliauth::browser::Browser;
use cliauth::cliauth_core::credentials::Credential;
use cliauth::loopback::{LoopbackOptions, LoopbackServer};
use cliauth::store::{CredentialStore, FileStore};
use cliauth::{Authenticator, Error, HttpRequest};
use common::{CaptureUi, LogBuffer, OidcServer, TinyServer, json};

const KEY: &str = "acme_secretkey0123456789abcdef";
const BAD_KEY: &str = "acme_refusedkey0123456789abcd";

/// A browser on its own thread whose log events go nowhere (the test harness's
/// requests are not the library's), recording every URL it is sent to.
fn silent_browser(visited: Arc<Mutex<Vec<String>>>) -> Browser {
    Browser::custom(move |url| {
        let url = url.to_string();
        let visited = Arc::clone(&visited);
        std::thread::spawn(move || {
            tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    let record = Arc::clone(&visited);
                    let client = common::tls_builder()
                        .cookie_store(true)
                        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                            record.lock().unwrap().push(attempt.url().to_string());
                            attempt.follow()
                        }))
                        .build()
                        .unwrap();
                    visited.lock().unwrap().push(url.clone());
                    let _ = client.get(&url).send().await.map(|r| r.status());
                });
            });
        });
        Ok(())
    })
}

fn query_value(url: &str, name: &str) -> Option<String> {
    url.split_once('?')?
        .1
        .split('&')
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .map(str::to_string)
}

fn collect_tokens(store: &FileStore, secrets: &mut Vec<String>) {
    if let Some(doc) = store.read().unwrap() {
        for p in doc.profiles.values() {
            match &p.credential {
                Credential::ApiKey(k) => secrets.push(k.expose_secret().into()),
                Credential::OAuth(t) => {
                    secrets.push(t.access_token.expose_secret().into());
                    if let Some(r) = &t.refresh_token {
                        secrets.push(r.expose_secret().into());
                    }
                    if let Some(i) = &t.id_token {
                        secrets.push(i.expose_secret().into());
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn no_secret_in_logs_errors_or_debug_output() {
    let logs = LogBuffer::default();
    tracing::subscriber::set_global_default(logs.subscriber()).unwrap();
    let mut secrets: Vec<String> = vec![KEY.into(), BAD_KEY.into()];
    let mut shown: Vec<String> = Vec::new(); // error texts and Debug output

    // API keys: verification accepted, refused, and a malformed paste.
    let api = TinyServer::start(|seen| {
        if seen.header("authorization") == Some(&format!("Bearer {KEY}")) {
            json(200, serde_json::json!({"login": "octo"}))
        } else {
            json(401, serde_json::json!({"error": "invalid_token"}))
        }
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let keys_dir = tmp.path().join("keys");
    let auth = Authenticator::builder("acme")
        .api_base(api.url.clone())
        .verification_endpoint(format!("/whoami?api_key={KEY}"))
        .store(FileStore::new(&keys_dir))
        .ui(CaptureUi::new())
        .build()
        .unwrap();
    let ok = auth.login_api_key(KEY).await.unwrap();
    shown.push(format!("{ok:?} {}", serde_json::to_string(&ok).unwrap()));
    let refused = auth.login_api_key(BAD_KEY).await.unwrap_err();
    let pasted = auth
        .login_api_key(&format!("Bearer {KEY}"))
        .await
        .unwrap_err();
    let quoted = auth.login_api_key(&format!("'{KEY}'")).await.unwrap_err();
    let status = auth.status().await.unwrap();
    for e in [&refused, &pasted, &quoted] {
        shown.push(format!("{e} {e:?} {}", e.to_json(auth.app())));
        shown.push(e.render(auth.app()));
    }
    shown.push(format!(
        "{status:?} {}",
        serde_json::to_string(&status).unwrap()
    ));
    shown.push(format!("{auth:?} {:?}", auth.with_api_key(KEY)));
    shown.push(format!("{:?}", FileStore::new(&keys_dir).read().unwrap()));
    shown.push(format!("{:?}", auth.access_token().await.unwrap()));

    // OAuth against oidc-provider: browser login, refresh, forced refresh, failures.
    if let Some(server) = OidcServer::start() {
        let dir = tmp.path().join("oauth");
        let visited = Arc::new(Mutex::new(Vec::new()));
        let auth = Authenticator::builder("acme")
            .issuer(server.issuer.clone())
            .client_id(server.client_id.clone())
            .scopes(["openid", "email"])
            .store(FileStore::new(&dir))
            .ui(CaptureUi::new())
            .browser(silent_browser(Arc::clone(&visited)))
            .cancel_on_ctrl_c(false)
            .login_timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let outcome = auth.login_browser().await.unwrap();
        shown.push(format!("{outcome:?}"));
        let store = FileStore::new(&dir);
        collect_tokens(&store, &mut secrets);
        // The code and state travelled through the browser.
        for url in visited.lock().unwrap().iter() {
            for name in ["code", "state", "code_challenge"] {
                if let Some(v) = query_value(url, name) {
                    secrets.push(v);
                }
            }
        }
        // Expire, refresh (rotation).
        let expire = |bad_access: Option<&str>| {
            let lock = store.lock().unwrap();
            let mut doc = store.read_locked(&lock).unwrap().unwrap();
            if let Credential::OAuth(t) = &mut doc.profile_mut("default").unwrap().credential {
                match bad_access {
                    Some(at) => t.access_token = cliauth::AccessToken::new(at),
                    None => {
                        t.expires_at = Some(cliauth::now().saturating_sub(Duration::from_secs(60)))
                    }
                }
            }
            store.write(&lock, &doc).unwrap();
        };
        expire(None);
        shown.push(format!("{:?}", auth.access_token().await.unwrap()));
        collect_tokens(&store, &mut secrets);
        // A rejected access token: forced refresh and retry.
        expire(Some("rejected-access-token-value"));
        secrets.push("rejected-access-token-value".into());
        let me = auth
            .send(HttpRequest::get(server.url("/me")))
            .await
            .unwrap();
        shown.push(format!("{me:?}"));
        collect_tokens(&store, &mut secrets);
        shown.push(format!("{:?}", auth.status().await.unwrap()));
        shown.push(format!("{:?}", store.read().unwrap()));
        // A session revoked elsewhere: the failure's text.
        let doc = store.read().unwrap().unwrap();
        let Credential::OAuth(t) = &doc.profile("default").unwrap().credential else {
            panic!()
        };
        let refresh = t
            .refresh_token
            .as_ref()
            .unwrap()
            .expose_secret()
            .to_string();
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            std::process::Command::new("curl")
                .args(["-s", "-o", "/dev/null", "-d"])
                .arg(format!("token={refresh}&client_id={}", server.client_id))
                .arg(server.url("/token/revocation"))
                .status()
                .ok();
        });
        expire(None);
        if let Err(e) = auth.access_token().await {
            shown.push(format!("{e} {e:?} {}", e.render(auth.app())));
        }
        let out = auth.logout().await.unwrap();
        shown.push(format!("{out:?}"));
        // A callback with a forged state, and one with the right one but an error.
        let server_l = LoopbackServer::bind({
            let mut o = LoopbackOptions::default();
            o.cancel_on_ctrl_c = false;
            o
        })
        .unwrap();
        shown.push(format!("{server_l:?}"));
    } else {
        eprintln!("SKIPPED the OAuth half: oidc-provider is not installed");
    }

    secrets.retain(|s| s.len() >= 6);
    secrets.sort();
    secrets.dedup();
    let text = logs.text();
    assert!(text.contains(" → 200"), "the capture works:\n{text}");
    assert!(text.contains("TRACE"), "TRACE events were captured");
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret is in the logs:\n{text}"
        );
        for s in &shown {
            assert!(
                !s.contains(secret.as_str()),
                "a secret is in error or Debug output: {s}"
            );
        }
    }
    assert!(
        !text.contains("code_verifier"),
        "the verifier's parameter is never logged"
    );
    if std::env::var_os("SECRETS_DUMP").is_some() {
        eprintln!("{text}");
    }
    eprintln!(
        "checked {} secrets against {} log bytes and {} error/Debug texts",
        secrets.len(),
        text.len(),
        shown.len()
    );
    let _ = Error::Cancelled;
}

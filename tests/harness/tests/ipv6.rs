//! An IPv6-only host, for real: the test runs itself again inside a new network
//! namespace whose loopback has `::1` and no `127.0.0.1` (`unshare --net`, then
//! `ip addr del 127.0.0.1/8 dev lo`), so binding 127.0.0.1 fails with "address not
//! available" as in an IPv6-only container. There the loopback server listens on
//! `[::1]`, the redirect URI names `[::1]` (RFC 8252 §7.3), and a browser login,
//! a refresh and a logout against a provider emulation listening on `[::1]` work
//! through the public `Authenticator` API.
//!
//! Creating a network namespace needs root (or user namespaces): without it the
//! test is skipped with a notice, unless `CLIAUTH_REQUIRE_IPV6=1` (the `rust` suite
//! of `cargo xtask test` sets it), which makes that a failure.
// Network namespaces are Linux's.
#![cfg(target_os = "linux")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::process::Command;
use std::time::Duration;

use cliauth::cliauth_core::authorize::LoopbackHost;
use cliauth::cliauth_core::credentials::LoginMethod;
use cliauth::loopback::{LoopbackOptions, LoopbackServer};
use cliauth::store::{EnvSource, FileStore};
use cliauth::{Authenticator, Revocation, preset};
use cliauth_test_harness::emulation::{Emulation, Options, Provider, browser};
use common::{CaptureUi, stored};

const INSIDE: &str = "CLIAUTH_IPV6_ONLY_NAMESPACE";
const NAME: &str = "ipv6_only_host_logs_in_on_v6_loopback";

#[test]
fn ipv6_only_host_logs_in_on_v6_loopback() {
    if std::env::var_os(INSIDE).is_some() {
        inside();
        return;
    }
    let required = std::env::var("CLIAUTH_REQUIRE_IPV6").is_ok_and(|v| v == "1");
    let exe = std::env::current_exe().unwrap();
    // `$0` is the test binary; the rest are its arguments.
    let script = "ip link set lo up && ip addr del 127.0.0.1/8 dev lo && exec \"$0\" \"$@\"";
    let output = Command::new("unshare")
        .args(["--net", "--", "sh", "-c", script])
        .arg(&exe)
        .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) => {
            assert!(!required, "unshare could not run: {e}");
            eprintln!("SKIPPED: unshare could not run ({e})");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && !stdout.contains("running 1 test") {
        // The namespace could not be made (not root, no user namespaces).
        assert!(!required, "no IPv6-only namespace: {stderr}");
        eprintln!("SKIPPED: no network namespace could be made here: {stderr}");
        return;
    }
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "inside the IPv6-only namespace:\n{stdout}\n{stderr}"
    );
}

/// Runs inside the namespace.
fn inside() {
    // The premise: 127.0.0.1 cannot be bound here, [::1] can.
    let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap_err();
    assert_eq!(v4.kind(), std::io::ErrorKind::AddrNotAvailable);
    std::net::TcpListener::bind("[::1]:0").unwrap();

    let server = LoopbackServer::bind(LoopbackOptions::default()).unwrap();
    assert_eq!(server.host(), LoopbackHost::Ipv6);
    assert!(server.has_ipv6());
    assert_eq!(
        server.redirect_uri(),
        format!("http://[::1]:{}/callback", server.port())
    );
    drop(server);
    // With IPv6 turned off, the failure is a clear error, not a panic.
    let mut options = LoopbackOptions::default();
    options.ipv6 = false;
    let off = LoopbackServer::bind(options);
    assert_eq!(off.unwrap_err().code(), "loopback_unavailable");

    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(login());
}

async fn login() {
    let mut options = Options::new("acme-cli");
    options.ipv6 = true;
    let emu = Emulation::start(Provider::Keycloak, options).await;
    assert!(emu.base.starts_with("http://[::1]:"), "{}", emu.base);
    let dir = tempfile::tempdir().unwrap();
    let config = preset("keycloak")
        .unwrap()
        .configure(&[("base", &emu.base), ("realm", "acme")])
        .unwrap();
    let auth = Authenticator::builder("acme")
        .provider(config)
        .client_id("acme-cli")
        .store(FileStore::new(dir.path()))
        .env(EnvSource::fixed(Vec::<(String, String)>::new()))
        .ui(CaptureUi::new())
        .browser(browser())
        .cancel_on_ctrl_c(false)
        .login_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let outcome = auth.login_browser().await.unwrap();
    assert_eq!(outcome.method, LoginMethod::Browser);
    // The authorization request named the [::1] redirect, and the code came back
    // through it.
    let authorize = emu
        .seen_at(&emu.paths().authorize)
        .pop()
        .expect("an authorization request");
    let redirect = authorize.param("redirect_uri").unwrap();
    assert!(redirect.starts_with("http://[::1]:"), "{redirect}");
    assert!(redirect.ends_with("/callback"), "{redirect}");
    let before = stored(dir.path(), "default");
    assert!(auth.refresh_now().await.unwrap().rotated);
    let after = stored(dir.path(), "default");
    assert_ne!(
        before.access_token.expose_secret(),
        after.access_token.expose_secret()
    );
    assert!(emu.access_token_valid(after.access_token.expose_secret()));
    assert_eq!(auth.logout().await.unwrap().revocation, Revocation::Revoked);
    assert!(!emu.access_token_valid(after.access_token.expose_secret()));
}

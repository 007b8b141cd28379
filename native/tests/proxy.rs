//! Proxies and TLS trust, against a real proxy: Debian's `tinyproxy`, started on
//! 127.0.0.1 by these tests, in front of a TLS server (a certificate from a private
//! CA, generated here) that forwards to the real dev authorization server.
//!
//! The proxy settings come from the environment, which a running test must not
//! change, so each case runs this test binary again as a child (`proxy_child`) with
//! the variables set for it alone: `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, and
//! `SSL_CERT_FILE`, through which the platform verifier (rustls-platform-verifier,
//! the system's CA bundle on Linux) trusts the private CA — as it would a company
//! CA installed on the machine. tinyproxy's own log is the oracle for what went
//! through it.
//!
//! These tests need tinyproxy (`apt-get install tinyproxy-bin`); without it they
//! say so and return, unless `CLIAUTH_REQUIRE_PROXY=1` (set by
//! `cargo xtask test --only proxy`), when they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    clippy::print_stdout
)]
#![cfg(unix)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cliauth::http::{HttpOptions, client_builder, tls_config_with_roots};
use cliauth::store::FileStore;
use cliauth::{Authenticator, Endpoints, LoginMethod};
use cliauth_devserver::{DevServer, DevServerConfig};
use tokio::net::{TcpListener, TcpStream};

const REQUIRE: &str = "CLIAUTH_REQUIRE_PROXY";
const TINYPROXY: &str = "/usr/bin/tinyproxy";
/// For the child: the base URL of the API/authorization server to use.
const CHILD_BASE: &str = "CLIAUTH_PROXY_CHILD_BASE";
/// For the child: where to keep its credentials.
const CHILD_DIR: &str = "CLIAUTH_PROXY_CHILD_DIR";

fn available() -> bool {
    if Path::new(TINYPROXY).exists() {
        return true;
    }
    assert!(
        std::env::var(REQUIRE).as_deref() != Ok("1"),
        "{REQUIRE}=1 but {TINYPROXY} is missing (apt-get install tinyproxy-bin)"
    );
    eprintln!("skipped: {TINYPROXY} is missing (apt-get install tinyproxy-bin)");
    false
}

/// A private CA and a certificate for 127.0.0.1 signed by it.
struct Pki {
    ca_pem: String,
    ca_der: rustls::pki_types::CertificateDer<'static>,
    server: rustls::ServerConfig,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "cliauth test CA (throwaway)");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().unwrap())];
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf_cert.der().clone(), ca_cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
    )
    .unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().clone(),
        server,
    }
}

/// TLS on 127.0.0.1 in front of `upstream` (plain TCP): every connection is
/// decrypted and its bytes copied both ways. Counts the handshakes that completed.
async fn tls_front(
    config: rustls::ServerConfig,
    upstream: tokio::sync::oneshot::Receiver<SocketAddr>,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let handshakes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&handshakes);
    tokio::spawn(async move {
        let Ok(upstream) = upstream.await else {
            return;
        };
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut plain) = TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    (addr, handshakes)
}

/// tinyproxy on 127.0.0.1, logging every request; killed (by pid) when dropped.
struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Tinyproxy {
    /// `extra`: more configuration lines (`ConnectPort 443` refuses CONNECT elsewhere).
    fn start(dir: &Path, name: &str, extra: &str) -> Tinyproxy {
        let port = free_port();
        let log = dir.join(format!("{name}.log"));
        let conf = dir.join(format!("{name}.conf"));
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{}\"\nLogLevel Info\n\
                 MaxClients 20\nAllow 127.0.0.1\nDisableViaHeader Yes\n{extra}\n",
                log.display()
            ),
        )
        .unwrap();
        let child = Command::new(TINYPROXY)
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tinyproxy did not start");
        let proxy = Tinyproxy { child, port, log };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "tinyproxy did not listen: {}",
                proxy.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        proxy
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The requests tinyproxy logged (`CONNECT 127.0.0.1:PORT`, `GET http://…`).
    fn requests(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter_map(|l| l.split_once("): ").filter(|_| l.contains("Request (")))
            .map(|(_, r)| r.trim_end_matches(" HTTP/1.1").to_string())
            .collect()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Servers {
    _dev: DevServer,
    dev_url: String,
    tls_url: String,
    handshakes: Arc<AtomicUsize>,
    pki: Pki,
    dir: tempfile::TempDir,
}

async fn servers() -> Servers {
    let pki = pki();
    // The TLS front's port is needed before the dev server starts (it must answer to
    // that `Host`); the front learns the upstream through a channel.
    let (upstream_tx, upstream_rx) = tokio::sync::oneshot::channel();
    let (tls, handshakes) = tls_front(pki.server.clone(), upstream_rx).await;
    let dev = DevServer::start({
        let mut o = DevServerConfig::default();
        o.auto_approve_device = Some(Duration::ZERO);
        o.device_interval = Duration::from_secs(1);
        o.extra_hosts = vec![tls.to_string()];
        o
    })
    .await
    .unwrap();
    let upstream: SocketAddr = dev.url().trim_start_matches("http://").parse().unwrap();
    upstream_tx.send(upstream).unwrap();
    Servers {
        dev_url: dev.url().to_string(),
        _dev: dev,
        tls_url: format!("https://{tls}"),
        handshakes,
        pki,
        dir: tempfile::tempdir().unwrap(),
    }
}

/// The authenticator both the child and the in-process test use: every endpoint of
/// the dev server, under `base` (the TLS front or the plain server).
fn authenticator(base: &str, dir: &Path) -> cliauth::AuthenticatorBuilder {
    Authenticator::builder("acme")
        .issuer(base.to_string())
        .endpoints({
            let mut o = Endpoints::default();
            o.authorization = Some(format!("{base}/authorize"));
            o.token = Some(format!("{base}/token"));
            o.device_authorization = Some(format!("{base}/device_authorization"));
            o.revocation = Some(format!("{base}/revoke"));
            o
        })
        .client_id("democli")
        .scopes(["openid", "offline_access"])
        .api_base(format!("{base}/api"))
        .store(FileStore::new(dir))
        .ui(Arc::new(Quiet))
        .cancel_on_ctrl_c(false)
}

#[derive(Debug)]
struct Quiet;
impl cliauth::ui::Ui for Quiet {
    fn notice(&self, _: &cliauth::ui::Notice<'_>) {}
    fn read_secret(
        &self,
        _: &str,
    ) -> Result<Option<cliauth::cliauth_core::secret::SecretString>, cliauth::Error> {
        Ok(None)
    }
}

/// What the child reports: `ok` or the error code.
fn run_child(servers: &Servers, base: &str, env: &[(&str, &str)], trust_ca: bool) -> String {
    let ca = servers.dir.path().join("ca.pem");
    std::fs::write(&ca, &servers.pki.ca_pem).unwrap();
    let store = tempfile::tempdir_in(servers.dir.path()).unwrap();
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--exact",
        "proxy_child",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .env(CHILD_BASE, base)
    .env(CHILD_DIR, store.path());
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    ] {
        c.env_remove(var);
    }
    if trust_ca {
        c.env("SSL_CERT_FILE", &ca);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.split_once("child-result: ").map(|(_, r)| r))
        .unwrap_or_else(|| panic!("no result from the child:\n{stdout}"))
        .to_string()
}

/// Runs only as the child of the tests below: a device login, an API call, a
/// refresh and a logout against `CLIAUTH_PROXY_CHILD_BASE`, with whatever proxy and
/// trust settings its environment has.
#[tokio::test]
async fn proxy_child() {
    let (Ok(base), Ok(dir)) = (std::env::var(CHILD_BASE), std::env::var(CHILD_DIR)) else {
        return;
    };
    let result = async {
        let auth = authenticator(&base, Path::new(&dir)).build()?;
        let login = auth.login_device().await?;
        assert_eq!(login.method, LoginMethod::Device);
        let me = auth.get_json("/whoami").await?;
        assert_eq!(me["username"], "demo");
        auth.refresh_now().await?;
        auth.logout().await?;
        Ok::<(), cliauth::Error>(())
    }
    .await;
    match result {
        Ok(()) => println!("child-result: ok"),
        Err(e) => println!("child-result: {} ({e})", e.code()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxy_is_honoured_and_no_proxy_bypasses_it() {
    if !available() {
        return;
    }
    let s = servers().await;
    let proxy = Tinyproxy::start(s.dir.path(), "proxy", "");
    let tls_host = s.tls_url.trim_start_matches("https://").to_string();

    // HTTPS_PROXY: every request is tunnelled through tinyproxy (CONNECT), and the
    // private CA is trusted because the system trust configuration says so.
    let result = run_child(&s, &s.tls_url, &[("HTTPS_PROXY", &proxy.url())], true);
    assert_eq!(result, "ok");
    let tunnelled = proxy.requests();
    assert!(
        tunnelled
            .iter()
            .any(|r| r == &format!("CONNECT {tls_host}")),
        "no CONNECT through the proxy: {tunnelled:?}\n{}",
        proxy.log_text()
    );
    assert!(
        tunnelled.iter().all(|r| r.starts_with("CONNECT ")),
        "{tunnelled:?}"
    );
    let handshakes = s.handshakes.load(Ordering::SeqCst);
    assert!(handshakes >= 1);

    // The lowercase spelling works too.
    let before = proxy.requests().len();
    assert_eq!(
        run_child(&s, &s.tls_url, &[("https_proxy", &proxy.url())], true),
        "ok"
    );
    assert!(proxy.requests().len() > before);

    // NO_PROXY: straight to the server, nothing through the proxy.
    let before = proxy.requests().len();
    let result = run_child(
        &s,
        &s.tls_url,
        &[("HTTPS_PROXY", &proxy.url()), ("NO_PROXY", "127.0.0.1")],
        true,
    );
    assert_eq!(result, "ok");
    assert_eq!(proxy.requests().len(), before, "NO_PROXY was not honoured");
    assert!(s.handshakes.load(Ordering::SeqCst) > handshakes);

    // Plain HTTP goes through HTTP_PROXY (absolute-form requests).
    let result = run_child(&s, &s.dev_url, &[("HTTP_PROXY", &proxy.url())], false);
    assert_eq!(result, "ok");
    let dev_host = s.dev_url.trim_start_matches("http://");
    assert!(
        proxy
            .requests()
            .iter()
            .any(|r| r == &format!("POST http://{dev_host}/device_authorization")),
        "{:?}",
        proxy.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_proxy_and_an_untrusted_ca_fail_clearly() {
    if !available() {
        return;
    }
    let s = servers().await;
    // This proxy tunnels only to port 443: CONNECT to the test server is refused.
    let strict = Tinyproxy::start(s.dir.path(), "strict", "ConnectPort 443");
    let result = run_child(&s, &s.tls_url, &[("HTTPS_PROXY", &strict.url())], true);
    assert!(result.starts_with("network_error"), "{result}");
    assert!(
        strict.requests().iter().any(|r| r.starts_with("CONNECT ")),
        "the refusing proxy was not asked: {}",
        strict.log_text()
    );

    // Without the CA in the system's trust configuration, the server is refused:
    // the platform verifier decides, and no built-in root list overrides it.
    let result = run_child(&s, &s.tls_url, &[], false);
    assert!(result.starts_with("network_error"), "{result}");
    assert!(result.contains("TLS handshake failed"), "{result}");
    assert_eq!(s.handshakes.load(Ordering::SeqCst), 0);
}

/// An app's own client: extra trust anchors and a proxy configured in code, no
/// environment variable involved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apps_own_reqwest_client_is_used_for_every_request() {
    if !available() {
        return;
    }
    let s = servers().await;
    let proxy = Tinyproxy::start(s.dir.path(), "app", "");
    let client = client_builder(&HttpOptions::default())
        .unwrap()
        .tls_backend_preconfigured(tls_config_with_roots([s.pki.ca_der.clone()]).unwrap())
        .proxy(reqwest::Proxy::https(proxy.url()).unwrap())
        .build()
        .unwrap();
    let store = tempfile::tempdir().unwrap();
    let auth = authenticator(&s.tls_url, store.path())
        .http_client(client)
        .build()
        .unwrap();
    auth.login_device().await.unwrap();
    assert_eq!(auth.get_json("/whoami").await.unwrap()["username"], "demo");
    let tls_host = s.tls_url.trim_start_matches("https://");
    assert!(
        proxy
            .requests()
            .iter()
            .any(|r| r == &format!("CONNECT {tls_host}")),
        "{}",
        proxy.log_text()
    );

    // The default client does not know the private CA (and this process's
    // environment names none): the same login fails at the TLS handshake.
    let plain = authenticator(&s.tls_url, store.path()).build().unwrap();
    if std::env::var_os("SSL_CERT_FILE").is_none() {
        let err = plain.login_device().await.unwrap_err();
        assert_eq!(err.code(), "network_error", "{err}");
        // The transport's error is kept as the source, without any URL.
        let source = std::error::Error::source(&err).expect("a source");
        assert!(!source.to_string().contains("127.0.0.1"), "{source}");
    }
}

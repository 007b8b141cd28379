//! # cliauth-devserver
//!
//! A development OAuth 2.0 authorization server and protected API, embedded in a CLI
//! process or run standalone, so that cliauth can be seen working with one command and
//! tested end to end without an account or a network.
//!
//! It is a correct server for one **public native client** (default `democli`):
//!
//! - discovery (RFC 8414) at `/.well-known/oauth-authorization-server` and
//!   `/.well-known/openid-configuration`;
//! - `/authorize` with loopback redirect URIs only (RFC 8252 §7.3: `http://127.0.0.1:ANY/…`
//!   or `http://[::1]:ANY/…`), PKCE S256 required (`plain` refused), a real login and
//!   consent page with a CSRF token, and `iss` in every response (RFC 9207);
//! - `/token`: `authorization_code` (single use, PKCE, exact `redirect_uri`; a reused code
//!   revokes what it issued), `refresh_token` (rotation on every use; reuse of a rotated
//!   token revokes the whole family), and the device code grant (`authorization_pending`,
//!   `slow_down`, `access_denied`, `expired_token`);
//! - `/device_authorization` (RFC 8628) with `XXXX-XXXX` user codes and a verification page;
//! - `/revoke` (RFC 7009); `/api/whoami` and `/api/memories` (RFC 6750 errors,
//!   per-policy rate limits with `Retry-After`); dev API keys (`demo_dev_…`);
//! - the cli-auth handoff (`/cli-auth` page, `/cli-auth/mint` one-time codes bound to the
//!   CLI's PKCE challenge);
//! - test hooks under `/_dev/` (statistics, fault injection, reset).
//!
//! Every secret comes from OS randomness and is stored only as a SHA-256 hash. With a
//! [`DevServerConfig::state_file`], all state lives in one JSON file that separate
//! processes share under a file lock.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cliauth_devserver::DevServerError> {
//! use cliauth_devserver::{DevServer, DevServerConfig};
//! let server = DevServer::start(DevServerConfig::default()).await?;
//! println!("token endpoint: {}", server.endpoints().token);
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! ## What this crate does not do
//!
//! - **It is not for production.** Anyone can sign in as any username without a
//!   password; `/_dev/` lets any local process read statistics, inject faults and wipe
//!   the state. It binds 127.0.0.1 only and refuses requests whose `Host` is not a
//!   loopback name with its port (DNS rebinding).
//! - No confidential clients, no ID tokens or JWTs (tokens are opaque), no dynamic
//!   client registration, no TLS.

#![forbid(unsafe_code)]

mod api;
mod config;
mod dev;
mod oauth;
mod pages;
mod random;
mod store;
mod util;
mod web;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{delete, get, post};
use cliauth_core::device::UserCodeFormat;
use cliauth_core::keys::{Charset, KeyFormat};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{DEFAULT_CLIENT_ID, DevServerConfig, RateLimitPolicy, parse_duration};

/// The prefix of dev API keys: `demo_dev_` followed by 32 base62 characters.
pub const DEV_KEY_PREFIX: &str = "demo_dev_";
/// The name of the browser session cookie. Cookies on 127.0.0.1 are shared across
/// ports, so the name is specific to this server.
pub const SESSION_COOKIE: &str = "cliauth_dev_session";
/// The user that quickstart (auto-approve) mode signs in.
pub const DEMO_USER: &str = "demo";

/// The format of dev API keys, for a CLI's [`cliauth_core::keys::KeyRegistry`].
pub fn dev_key_format() -> KeyFormat {
    KeyFormat::prefixed(
        "demo-dev",
        "Demo",
        "developer key",
        DEV_KEY_PREFIX,
        Charset::Base62,
        DEV_KEY_PREFIX.len() + 32,
        DEV_KEY_PREFIX.len() + 32,
    )
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevServerError {
    /// The port could not be bound on 127.0.0.1.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The requested port (0: any).
        port: u16,
        /// The OS error.
        source: std::io::Error,
    },
    /// The state file cannot be created, read or parsed.
    #[error("state file {}: {reason}", path.display())]
    StateFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A configuration value is out of range.
    #[error("invalid dev server configuration: {0}")]
    InvalidConfig(String),
}

/// The URLs of a running server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// RFC 8414 metadata: `/.well-known/oauth-authorization-server`.
    pub metadata: String,
    /// `/authorize` (code + PKCE, loopback redirect).
    pub authorization: String,
    /// `/token`.
    pub token: String,
    /// `/device_authorization` (RFC 8628).
    pub device_authorization: String,
    /// `/revoke` (RFC 7009).
    pub revocation: String,
    /// `/api/whoami`: the protected "who am I" call.
    pub whoami: String,
    /// `/api/memories`: a protected, rate-limited call needing `memories:read`.
    pub memories: String,
    /// `/api/keys`: mint (POST) and list (GET) dev API keys.
    pub api_keys: String,
    /// `/cli-auth`: the cli-auth handoff page.
    pub cli_auth_page: String,
    /// `/device`: the device verification page (`verification_uri`).
    pub device_page: String,
    /// `/device/approve`: the verification page's JSON approval endpoint.
    pub device_approve: String,
}

impl Endpoints {
    fn new(base: &str) -> Self {
        let at = |path: &str| format!("{base}{path}");
        Endpoints {
            metadata: at("/.well-known/oauth-authorization-server"),
            authorization: at("/authorize"),
            token: at("/token"),
            device_authorization: at("/device_authorization"),
            revocation: at("/revoke"),
            whoami: at("/api/whoami"),
            memories: at("/api/memories"),
            api_keys: at("/api/keys"),
            cli_auth_page: at("/cli-auth"),
            device_page: at("/device"),
            device_approve: at("/device/approve"),
        }
    }
}

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: DevServerConfig,
    pub(crate) url: String,
    pub(crate) port: u16,
    pub(crate) issuer: String,
    pub(crate) endpoints: Endpoints,
    pub(crate) store: Arc<store::Store>,
    pub(crate) dev: Arc<dev::DevHooks>,
    pub(crate) user_codes: UserCodeFormat,
    pub(crate) pkg_dir: PathBuf,
}

impl Inner {
    /// Whether pages treat the demo user as signed in (quickstart modes).
    pub(crate) fn implicit_demo_user(&self) -> bool {
        self.config.auto_approve_browser || self.config.auto_approve_device.is_some()
    }

    /// The rate-limit policy of a path, if any.
    pub(crate) fn policy_for(&self, path: &str) -> Option<&RateLimitPolicy> {
        self.config.rate_limits.iter().find(|p| p.path() == path)
    }
}

pub(crate) type App = Arc<Inner>;

/// A running dev server. Dropping it stops the server gracefully in the background;
/// [`DevServer::shutdown`] stops it and waits.
#[derive(Debug)]
pub struct DevServer {
    inner: App,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl DevServer {
    /// Binds 127.0.0.1 (on `config.port`, or a free port for 0), opens or creates the
    /// state file, and starts serving on the current tokio runtime.
    pub async fn start(config: DevServerConfig) -> Result<DevServer, DevServerError> {
        config.validate()?;
        let state_file = config.state_file.clone();
        let store = tokio::task::spawn_blocking(move || store::Store::open(state_file))
            .await
            .map_err(|e| DevServerError::InvalidConfig(format!("startup failed: {e}")))??;
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
            .await
            .map_err(|source| DevServerError::Bind {
                port: config.port,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| DevServerError::Bind {
                port: config.port,
                source,
            })?;
        let url = format!("http://127.0.0.1:{}", addr.port());
        let inner = Arc::new(Inner {
            issuer: config.issuer.clone().unwrap_or_else(|| url.clone()),
            endpoints: Endpoints::new(&url),
            pkg_dir: config
                .pkg_dir
                .clone()
                .unwrap_or_else(DevServerConfig::default_pkg_dir),
            port: addr.port(),
            url,
            store: Arc::new(store),
            dev: Arc::new(dev::DevHooks::default()),
            user_codes: UserCodeFormat::default(),
            config,
        });
        let app = router(Arc::clone(&inner));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            // `serve` only returns errors from the listener, which a loopback socket
            // does not produce; there is no one to report them to.
            let _ = serve.await;
        });
        Ok(DevServer {
            inner,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The issuer identifier (the base URL unless configured).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The client id the server accepts.
    pub fn client_id(&self) -> &str {
        &self.inner.config.client_id
    }

    /// The endpoint URLs.
    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, lets requests in flight finish (for at most 2 s,
    /// so an injected slow response cannot hang it), and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn router(app: App) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata),
        )
        .route("/.well-known/openid-configuration", get(oauth::metadata))
        .route("/authorize", get(oauth::authorize))
        .route("/authorize/decision", post(oauth::decision))
        .route("/token", post(oauth::token_endpoint))
        .route("/device_authorization", post(oauth::device_authorization))
        .route("/revoke", post(oauth::revoke))
        .route("/device", get(pages::device_page))
        .route("/device/approve", post(pages::device_approve))
        .route("/cli-auth", get(pages::cli_auth_page))
        .route("/cli-auth/mint", post(pages::cli_auth_mint))
        .route("/login", get(pages::login_page).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/api/session", get(pages::session_info))
        .route("/api/whoami", get(api::whoami))
        .route(
            "/api/memories",
            get(api::memories_list).post(api::memories_create),
        )
        .route("/api/keys", get(api::keys_list).post(api::keys_create))
        .route("/api/keys/{id}", delete(api::keys_delete))
        .route("/assets/{*file}", get(web::asset))
        .route("/pkg/{*file}", get(web::pkg))
        .route("/_dev/stats", get(dev::stats))
        .route(
            "/_dev/faults",
            get(dev::faults_list)
                .post(dev::faults_add)
                .delete(dev::faults_clear),
        )
        .route("/_dev/reset", post(dev::reset))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            dev::front,
        ))
        .with_state(app)
}

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
//! ## HTTP reference
//!
//! All JSON unless marked HTML. Token-bearing and error responses carry
//! `Cache-Control: no-store`. Requests whose `Host` is not `127.0.0.1`, `localhost` or
//! `[::1]` with the server's port get 421. Browser requests from another origin
//! (`Origin` header) to the cookie-authenticated endpoints get 403.
//!
//! ```text
//! GET  /.well-known/oauth-authorization-server   RFC 8414 metadata (also /.well-known/openid-configuration)
//! GET  /authorize          client_id, redirect_uri (loopback, any port), response_type=code, state,
//!                          code_challenge + code_challenge_method=S256, scope.
//!                          Bad client / redirect_uri / duplicated parameter: 400 HTML page, never a redirect.
//!                          Other errors: 302 to redirect_uri?error=…&error_description=…&state=…&iss=…
//!                          Otherwise the HTML consent page (or, with auto_approve_browser, 302 with the code).
//! POST /authorize/decision form: request_id, csrf, decision=approve|deny, [username|other_username]
//!                          → 303 to redirect_uri?code=…&state=…&iss=… or ?error=access_denied&state=…&iss=…
//! POST /token              form; client_id, no secret (else 401 invalid_client). Grants:
//!                          authorization_code (code, redirect_uri, code_verifier), refresh_token
//!                          (refresh_token, [scope ⊆ granted]), urn:ietf:params:oauth:grant-type:device_code
//!                          (device_code). Errors: 400 {"error","error_description"} (RFC 6749 §5.2).
//! POST /device_authorization  form: client_id, [scope] → device_code, user_code (XXXX-XXXX),
//!                          verification_uri (/device), verification_uri_complete, expires_in, interval
//! POST /revoke             form: token, [token_type_hint], client_id → 200 (also for unknown tokens).
//!                          A refresh token revokes its whole family; dev API keys can be revoked too.
//! GET  /api/whoami         Bearer access token or dev key → {"sub","name","email","username","scopes","credential"}
//! GET  /api/memories       needs memories:read; POST /api/memories {"text"} needs memories:write
//! POST /api/keys           session cookie or Bearer; {"name"?, "scopes"?: [...]} → 201 {"api_key": "demo_dev_…", "id", …}
//! GET  /api/keys           the caller's keys, masked.  DELETE /api/keys/{id}: revoke → 204
//! GET  /api/session        the browser's session and the server's modes (for the pages)
//! GET  /login  POST /login HTML form (double-submit CSRF cookie), or JSON {"username"} → sets the
//!                          `cliauth_dev_session` cookie (HttpOnly, SameSite=Lax). POST /logout ends it.
//! GET  /cli-auth           the handoff page (HTML; examples/web/cli-auth.html)
//! POST /cli-auth/mint      session; {"port": P, "code_challenge": C} → {"code", "expires_in"}: a single-use
//!                          code for redirect_uri http://127.0.0.1:P/callback and challenge C, which /token
//!                          exchanges for {"access_token": "demo_dev_…", "token_type": "Bearer", "scope"}
//!                          (a new dev key: no expires_in, no refresh_token);
//!                          or {"kind": "api_key"} → {"api_key": "demo_dev_…", "id", "scope"}
//! GET  /device             the verification page (HTML; examples/web/device.html)
//! POST /device/approve     session; {"user_code", "action": "approve"|"deny"} → {"status", …};
//!                          400 invalid_user_code / expired_token, 409 already_handled,
//!                          429 after 20 wrong codes per 10 minutes
//! GET  /assets/{file}      page assets (web_root or compiled in); GET /pkg/{file}: the npm package
//! ```
//!
//! Protected endpoints answer RFC 6750 errors: 401 with `WWW-Authenticate: Bearer
//! realm="cliauth-dev"` when no token is sent, 401 with `Bearer error="invalid_token",
//! error_description="The access token expired"` (or revoked, or not valid), 400
//! `invalid_request` for a malformed header, and 403 with `Bearer
//! error="insufficient_scope", scope="memories:read"`. Over a [`RateLimitPolicy`]:
//! 429 with `Retry-After: <secs>`, `RateLimit-Policy: "dev:memories";q=120;w=3600`,
//! `RateLimit: "dev:memories";r=0;t=<secs>` and
//! `{"detail":"Rate limited: dev:memories (120/hr)"}`; successful calls carry
//! `RateLimit-Policy` and `RateLimit` too.
//!
//! ## Test hooks (`/_dev/`, dev only)
//!
//! ```text
//! GET    /_dev/stats    {"requests": {"POST /token": n, …}, "token_grants": {"authorization_code": n,
//!                        "refresh_token": n, "device_code": n}, "refreshes", "refresh_reuse_detected",
//!                        "device_polls", "slow_downs", "rate_limited", "faults_served"}
//! POST   /_dev/faults   {"path": "/token", "method"?: "POST", "count"?: 1, "delay_ms"?: 0,
//!                        "hold_ms"?: 0, "status"?: 502, "content_type"?: "text/html",
//!                        "headers"?: {"Retry-After": "2"}, "body"?: "<html>…", "body_size"?: 52428800,
//!                        "abort_after"?: 10}
//!                       The next `count` matching requests wait `delay_ms`, then get this response
//!                       instead of the real one (without `status`: only the delay). `hold_ms` holds the
//!                       answer after it was produced (the server has acted — a refresh token rotated —
//!                       and the client waits). `body_size` repeats the body to that many bytes;
//!                       `abort_after` sends that many body bytes and drops the connection.
//!                       → 201 {"pending": n}
//! GET    /_dev/faults   pending faults.   DELETE /_dev/faults: drop them.
//! POST   /_dev/reset    seed state (also in the state file), no statistics, no faults.
//! ```
//!
//! Statistics and faults belong to one server instance; everything else is in the
//! state (and the state file, when configured).
//!
//! **Secret recorder** (dev only, off by default): with
//! [`DevServerConfig::record_secrets`] (`--record-secrets FILE`), every secret that
//! crosses the HTTP boundary in either direction — authorization and handoff codes,
//! PKCE verifiers, device codes, access and refresh tokens, dev API keys, session
//! cookies, whether accepted or not — is appended to FILE as a JSON line
//! `{"kind","secret","value","at"}` (user codes too, with `"secret": false`). End-to-end
//! tests scan a CLI's output and files for these values. The file holds live
//! credentials in clear text: never use it outside tests.
//!
//! ## What this crate does not do
//!
//! - **It is not for production.** Anyone can sign in as any username without a
//!   password; `/_dev/` lets any local process read statistics, inject faults and wipe
//!   the state; the secret recorder writes live credentials to a file. It binds 127.0.0.1 only and refuses requests whose `Host` is not a
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
mod record;
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
use tokio::sync::{oneshot, watch};

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
    /// The server's thread or runtime could not be started.
    #[error("cannot start the dev server's runtime: {0}")]
    Runtime(std::io::Error),
    /// The secret record file ([`DevServerConfig::record_secrets`]) cannot be opened.
    #[error("secret record file {}: {source}", path.display())]
    SecretRecord {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The URLs of a running server.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
    /// The secret recorder, when [`DevServerConfig::record_secrets`] is set.
    pub(crate) recorder: Option<record::Recorder>,
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

/// A running dev server.
///
/// The server runs on its own thread with its own tokio runtime, so it keeps
/// answering while the embedding program blocks (a synchronous prompt, a file lock,
/// a `block_on`). Dropping the handle stops it in the background;
/// [`DevServer::shutdown`] stops it and waits.
#[derive(Debug)]
pub struct DevServer {
    inner: App,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    stopped: Option<oneshot::Receiver<()>>,
}

/// How long a shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

impl DevServer {
    /// Binds 127.0.0.1 (on `config.port`, or a free port for 0), opens or creates the
    /// state file, and starts serving on a dedicated thread. Any async executor can
    /// await this.
    pub async fn start(config: DevServerConfig) -> Result<DevServer, DevServerError> {
        config.validate()?;
        let (ready_tx, ready_rx) = oneshot::channel();
        let (stop, stop_rx) = watch::channel(false);
        let (stopped_tx, stopped) = oneshot::channel();
        std::thread::Builder::new()
            .name("cliauth-devserver".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready_tx.send(Err(DevServerError::Runtime(e)));
                        return;
                    }
                };
                runtime.block_on(serve(config, ready_tx, stop_rx));
                drop(runtime);
                let _ = stopped_tx.send(());
            })
            .map_err(DevServerError::Runtime)?;
        let (inner, addr) = ready_rx.await.map_err(|_| {
            DevServerError::Runtime(std::io::Error::other("the server thread ended early"))
        })??;
        Ok(DevServer {
            inner,
            addr,
            stop,
            stopped: Some(stopped),
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
    /// so an injected slow response cannot hang it), and returns when the server
    /// thread has ended.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(stopped) = self.stopped.take() {
            let _ = stopped.await;
        }
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        // Also happens when the sender is dropped; explicit for clarity.
        let _ = self.stop.send(true);
    }
}

type Ready = Result<(App, SocketAddr), DevServerError>;

/// The server thread's main task: bind, report readiness, serve until stopped.
async fn serve(
    config: DevServerConfig,
    ready: oneshot::Sender<Ready>,
    stop: watch::Receiver<bool>,
) {
    let started = bind(config).await;
    let (listener, inner, addr) = match started {
        Ok(ok) => ok,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let app = router(Arc::clone(&inner));
    if ready.send(Ok((inner, addr))).is_err() {
        return;
    }
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        // An error means the handle is gone: stop as well.
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let graceful = axum::serve(listener, app).with_graceful_shutdown(stopped(stop.clone()));
    let deadline = async {
        stopped(stop).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        // `serve` only fails on listener errors, which a bound loopback socket does
        // not produce; there is no one to report them to.
        _ = graceful => {}
        () = deadline => {}
    }
}

async fn bind(
    config: DevServerConfig,
) -> Result<(tokio::net::TcpListener, App, SocketAddr), DevServerError> {
    let recorder = config
        .record_secrets
        .as_deref()
        .map(record::Recorder::open)
        .transpose()?;
    let state_file = config.state_file.clone();
    let store = tokio::task::spawn_blocking(move || store::Store::open(state_file))
        .await
        .map_err(|e| DevServerError::Runtime(std::io::Error::other(e.to_string())))??;
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
        recorder,
        config,
    });
    Ok((listener, inner, addr))
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

//! # cliauth
//!
//! Authentication for command-line tools: the whole journey a CLI user expects —
//! logging in four ways, storing the credential safely, refreshing it, showing who
//! is logged in, logging out, and errors that say what to do next — from one
//! [`Authenticator`].
//!
//! The protocol logic lives in [`cliauth_core`] (re-exported under its own name, `cliauth::cliauth_core`, so that it never shadows the `core` crate): PKCE,
//! `state`, key validation, the loopback request decisions, the token, refresh and
//! device-flow state machines, retry decisions, the credentials document and the error
//! taxonomy. This crate executes what core decides: it sends requests with reqwest
//! (rustls with the platform's certificate verifier, proxies from the environment,
//! redirects off; or the app's own client, [`http`]), listens on the loopback
//! interface, opens the browser, reads and writes files under locks and the OS
//! keyring, reads the clock and OS randomness.
//!
//! ## Modules
//!
//! | Module | What it does |
//! |---|---|
//! | `auth` ([`Authenticator`]) | configures core's flows for one app and shapes their results (split by job: builder, outcomes, storage, logins, session, API calls, account) |
//! | `drive` | the one driver: carries out every flow step with real IO, holding the store's lock from read to persist |
//! | [`http`], [`clock`], [`entropy`] | the injectable transport (reqwest, redirects off), clocks and randomness |
//! | [`loopback`], `peer` | the loopback server's sockets (core decides every answer); who owns a connecting socket (Linux) |
//! | [`store`] | where the credentials document lives: file, keyring, memory, environment |
//! | [`browser`], [`ui`] | opening URLs; what logins tell the user and read from them |
//! | `cli` (feature `clap`) | the ready `auth` command group |
//!
//! Files stay under 500 lines, and no module imports one that imports it back
//! (`cargo xtask test --only layout` checks both).
//!
//! | Login | Method | Needs |
//! |---|---|---|
//! | API key | [`Authenticator::login_api_key`] | key formats; optional verification endpoint |
//! | Browser (code + PKCE, RFC 8252 loopback) | [`Authenticator::login_browser`] | authorization + token endpoints |
//! | cli-auth page handoff | [`Authenticator::login_handoff`] | the vendor's cli-auth page |
//! | Device code (RFC 8628) | [`Authenticator::login_device`] | device authorization + token endpoints |
//! | Pasted key | [`Authenticator::login_paste`] | a terminal (or stdin) |
//!
//! [`Authenticator::login`] picks one: the browser (or the handoff page) unless this
//! machine cannot open one — an SSH session, no display, a container, WSL
//! ([`cliauth_core::launch`]) — and then the device code (or a pasted key), saying why.
//!
//! ## Setting up
//!
//! Every example below runs against the embedded development server from
//! `examples/devserver` (a real OAuth server on 127.0.0.1). An app configures its
//! server once; discovery is used when only an issuer is given
//! ([`AuthenticatorBuilder::issuer`]), explicit endpoints otherwise.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use cliauth::{Authenticator, KeyRegistry};
//! use cliauth::store::FileStore;
//! use cliauth_devserver::{dev_key_format, DevServer, DevServerConfig};
//!
//! let mut config = DevServerConfig::default();
//! config.issuer = Some("https://auth.demo.example".into()); // an identifier, not the origin
//! let server = DevServer::start(config).await?;
//! let dir = tempfile::tempdir()?;
//! let auth = Authenticator::builder("demo")          // messages say `demo auth login`
//!     .product("Demo")
//!     .key_formats(KeyRegistry::new(vec![dev_key_format()]))
//!     .issuer(server.issuer())
//!     .authorization_endpoint(&server.endpoints().authorization)
//!     .token_endpoint(&server.endpoints().token)
//!     .device_authorization_endpoint(&server.endpoints().device_authorization)
//!     .revocation_endpoint(&server.endpoints().revocation)
//!     .client_id(server.client_id())
//!     .scopes(["memories:read"])
//!     .api_base(format!("{}/api", server.url()))
//!     .verification_endpoint("/whoami")
//!     .store(FileStore::new(dir.path().join(".demo")))   // default: the keyring + ~/.config/demo
//!     .build()?;
//! assert_eq!(auth.status().await?.authenticated, false);
//! # Ok(()) }
//! ```
//!
//! ## Logging in
//!
//! ### With the browser (authorization code + PKCE)
//!
//! [`Authenticator::login_browser`] binds the [`loopback`] server on `127.0.0.1` (a
//! random port), starts the browser on a one-time launch link of that server (and
//! prints it) which redirects once to the authorization URL — so `state` and the PKCE
//! challenge are on no command line — waits for the callback (refusing other users'
//! programs), checks `state` and `iss`, exchanges the code with the PKCE verifier and
//! stores the tokens. Here a custom [`browser::Browser`] plays the user's browser
//! (following the link's redirect) and the dev server approves without showing its
//! consent page:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use cliauth::browser::Browser;
//! use cliauth::{Authenticator, LoginMethod};
//! use cliauth_devserver::{DevServer, DevServerConfig};
//!
//! let mut config = DevServerConfig::default();
//! config.auto_approve_browser = true;
//! let server = DevServer::start(config).await?;
//! # let dir = tempfile::tempdir()?;
//! // Plays the user's browser, which follows the redirect to the loopback server.
//! let client = cliauth::http::client_builder(&Default::default())?
//!     .redirect(reqwest::redirect::Policy::limited(10))
//!     .build()?;
//! let auth = Authenticator::builder("demo")
//!     .issuer(server.issuer())                     // discovery (RFC 8414)
//!     .client_id(server.client_id())
//!     .browser(Browser::custom(move |url| {
//!         // A real app leaves the default, which opens the system browser.
//!         let (client, url) = (client.clone(), url.to_string());
//!         tokio::spawn(async move { client.get(url).send().await });
//!         Ok(())
//!     }))
//! #   .store(cliauth::store::FileStore::new(dir.path().join(".demo")))
//! #   .ui(std::sync::Arc::new(Quiet))
//!     .build()?;
//! let outcome = auth.login_browser().await?;
//! assert_eq!(outcome.method, LoginMethod::Browser);
//! assert_eq!(outcome.credential_type, "oauth");
//! let token = auth.access_token().await?;           // refreshed when due
//! assert!(!token.expose_secret().is_empty());
//! # Ok(()) }
//! # #[derive(Debug)] struct Quiet;
//! # impl cliauth::ui::Ui for Quiet {
//! #     fn notice(&self, _: &cliauth::ui::Notice<'_>) {}
//! #     fn read_secret(&self, _: &str) -> Result<Option<cliauth::cliauth_core::secret::SecretString>, cliauth::Error> { Ok(None) }
//! # }
//! ```
//!
//! ### With a device code (RFC 8628)
//!
//! For SSH sessions and containers: [`Authenticator::login_device`] prints the
//! verification URL, the user code and the complete URI, then polls as core's
//! [`cliauth_core::device::DeviceFlow`] decides (`authorization_pending`, `slow_down`, expiry).
//! The dev server approves by itself after a second here:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use cliauth::{Authenticator, LoginMethod};
//! use cliauth_devserver::{DevServer, DevServerConfig};
//!
//! let mut config = DevServerConfig::default();
//! config.auto_approve_device = Some(Duration::from_secs(1));
//! config.device_interval = Duration::from_secs(1);
//! let server = DevServer::start(config).await?;
//! # let dir = tempfile::tempdir()?;
//! let auth = Authenticator::builder("demo")
//!     .issuer(server.issuer())
//!     .client_id(server.client_id())
//!     .api_base(format!("{}/api", server.url()))
//! #   .store(cliauth::store::FileStore::new(dir.path().join(".demo")))
//!     .build()?;
//! let outcome = auth.login_device().await?;          // prints the code on stderr
//! assert_eq!(outcome.method, LoginMethod::Device);
//! // Authenticated API calls: 401 → one forced refresh and a retry; errors mapped by core.
//! let me = auth.get_json("/whoami").await?;
//! assert_eq!(me["username"], "demo");
//! # Ok(()) }
//! ```
//!
//! ### With an API key
//!
//! [`Authenticator::login_api_key`] validates the key with core's
//! [`KeyRegistry`] (a pasted `Bearer …`, quotes, a GitHub token or a truncated key are
//! named precisely, before any network call), then verifies it with the configured
//! endpoint: a 401 or 403 fails and keeps the previous credential; a network error
//! stores the key as unverified.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use cliauth::{Authenticator, Error, KeyRegistry, Verification};
//! use cliauth_devserver::{dev_key_format, DevServer, DevServerConfig};
//!
//! # let mut config = DevServerConfig::default();
//! # config.auto_approve_device = Some(Duration::ZERO);
//! # config.device_interval = Duration::from_secs(1);
//! # let server = DevServer::start(config).await?;
//! # let dir = tempfile::tempdir()?;
//! let auth = Authenticator::builder("demo")
//!     .key_formats(KeyRegistry::new(vec![dev_key_format()]))  // `demo_dev_…`
//!     .api_base(format!("{}/api", server.url()))
//!     .verification_endpoint("/whoami")
//! #   .issuer(server.issuer()).client_id(server.client_id())
//! #   .store(cliauth::store::FileStore::new(dir.path().join(".demo")))
//!     .build()?;
//! # auth.login_device().await?;
//! # let minted = auth.send(cliauth::HttpRequest::post_json(
//! #     auth.api_url("/keys")?, &serde_json::json!({"name": "docs"}))).await?;
//! # let key: serde_json::Value = serde_json::from_slice(&minted.body)?;
//! # let key = key["api_key"].as_str().unwrap().to_string();
//! let err = auth.login_api_key(&format!("Bearer {key}")).await.unwrap_err();
//! assert!(err.to_string().contains("starts with `Bearer `"));
//!
//! let outcome = auth.login_api_key(&key).await?;
//! assert_eq!(outcome.verification, Verification::Verified);
//! assert_eq!(outcome.subject.as_deref(), Some("demo@cliauth.test"));
//!
//! let refused = auth.login_api_key("demo_dev_00000000000000000000000000000000").await;
//! assert!(matches!(refused, Err(Error::Unauthorized { .. })));
//! assert_eq!(auth.access_token().await?.expose_secret(), key);  // still the verified key
//! # Ok(()) }
//! ```
//!
//! ### With a pasted key
//!
//! [`Authenticator::login_paste`] reads a key with hidden input on a terminal (a line
//! of stdin otherwise) through the [`ui::Ui`], which apps and tests can replace:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use cliauth::cliauth_core::secret::SecretString;
//! use cliauth::ui::{Notice, Ui};
//! use cliauth::{Authenticator, Charset, Error, KeyFormat, KeyRegistry, LoginMethod};
//!
//! /// Types a key, as a user would at the prompt.
//! #[derive(Debug)]
//! struct Typist;
//! impl Ui for Typist {
//!     fn notice(&self, notice: &Notice<'_>) { eprintln!("{notice}") }
//!     fn read_secret(&self, _prompt: &str) -> Result<Option<SecretString>, Error> {
//!         Ok(Some(SecretString::new("acme_0123456789abcdefghijklmn")))
//!     }
//! }
//!
//! # let dir = tempfile::tempdir()?;
//! let auth = Authenticator::builder("acme")
//!     .key_formats(KeyRegistry::new(vec![KeyFormat::prefixed(
//!         "acme", "Acme", "API key", "acme_", Charset::Base62, 24, 64,
//!     )]))
//!     .ui(Arc::new(Typist))
//! #   .store(cliauth::store::FileStore::new(dir.path().join(".demo")))
//!     .build()?;
//! let outcome = auth.login_paste().await?;
//! assert_eq!(outcome.method, LoginMethod::Paste);
//! assert_eq!(outcome.masked_key.as_deref(), Some("acme_…klmn"));
//! # Ok(()) }
//! ```
//!
//! ### Through the vendor's cli-auth page
//!
//! [`Authenticator::login_handoff`] opens the cli-auth page with `port`, `state` and
//! a PKCE `code_challenge` (through the one-time launch link, like the browser
//! login). The page signs the user in and sends the browser back to
//! `http://127.0.0.1:PORT/callback` with a one-time code bound to that challenge
//! (exchanged at the token endpoint with the verifier; a plain key-shaped access token
//! is stored as an API key) — or, only when the app enables
//! [`AuthenticatorBuilder::raw_key_handoff`], with an API key. Meanwhile the terminal
//! accepts a pasted key: whichever comes first wins. This needs a person at a
//! browser:
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use cliauth::{Authenticator, KeyRegistry};
//! use cliauth_devserver::{dev_key_format, DevServer, DevServerConfig};
//!
//! let server = DevServer::start(DevServerConfig::default()).await?;
//! let auth = Authenticator::builder("demo")
//!     .key_formats(KeyRegistry::new(vec![dev_key_format()]))
//!     .issuer(server.issuer())
//!     .client_id(server.client_id())
//!     .cli_auth_page(&server.endpoints().cli_auth_page)
//!     .build()?;
//! let outcome = auth.login_handoff().await?;
//! println!("stored in profile {}", outcome.profile);
//! # Ok(()) }
//! ```
//!
//! ## Using the credential
//!
//! - [`Authenticator::access_token`]: flag > environment variable > profile
//!   ([`cliauth_core::credentials::resolve`]); OAuth tokens are refreshed with core's
//!   [`cliauth_core::refresh::Refresh`] — one refresh in flight per process and, across
//!   processes, under the store's lock with a re-read, so a rotating refresh token is
//!   used exactly once even when many CLI processes start at once.
//! - [`Authenticator::send`] / [`Authenticator::get_json`]: authenticated API calls
//!   with core's retries and error mapping.
//! - [`Authenticator::status`] (core's [`StatusReport`], serialisable for `--json`),
//!   [`Authenticator::logout`] (revocation, then local deletion),
//!   [`Authenticator::profiles`], [`Authenticator::switch_profile`],
//!   [`Authenticator::with_profile`].
//!
//! Errors are [`Error`]s with an exit code, a stable code, a message and a hint:
//! `err.render(auth.app())` gives the two lines a terminal shows.
//!
//! ## A ready `auth` command group
//!
//! With the `clap` feature, `cliauth::cli` provides `auth login [--browser|--device|--api-key
//! K|--with-token] [--scopes] [--insecure-storage]`, `status [--all]`, `logout`, `token`,
//! `refresh [--scopes]` and `switch [NAME]`, global `--json`, `-v`, `--color` and
//! `--profile` (each group flattenable alone), shell completions, a renderer, a
//! versioned `--json` schema and exit codes, for an app to add to its own parser (see
//! `examples/acme.rs`). `login --with-token` (stdin) and the API key variable are the
//! private ways to pass a key; `login --api-key KEY` puts it in the process list and
//! shell history, and prints a one-line warning on stderr saying so.
//!
//! ## Features
//!
//! - `clap`: the `cli` module (clap, clap_complete, anstream/anstyle colours, an
//!   indicatif spinner, tracing-subscriber for `-v`).
//! - `keyring`: `store::KeyringStore` (keyring-core and its stores for the macOS
//!   Keychain, the Windows Credential Manager and the Secret Service), then the default
//!   store: credentials in the keyring, the rest in the file, the file when the keyring
//!   cannot be used (with a visible warning) or when `--insecure-storage` asks.
//!
//! ## What this crate does not do
//!
//! - **No confidential clients**: no client secrets, no private-key JWT, no mTLS. A
//!   CLI is a public client (RFC 8252); PKCE protects its codes.
//! - **No token validation**: it never verifies signatures or trusts JWT claims; the
//!   server decides. Claims are decoded only to show who is logged in.
//! - **No implicit, password or client-credentials grants**, no OpenID Connect session
//!   management, no DPoP, no PAR.
//! - **No redirects followed**, no proxy configuration of its own (the environment's
//!   `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` and the OS settings are honoured), no
//!   built-in root list: the platform's verifier decides which servers are trusted
//!   ([`http`]). cliauth's reqwest has no process-wide rustls crypto provider (each
//!   client is configured with *ring*): an app that builds its own reqwest clients
//!   starts from [`http::client_builder`], enables reqwest's `rustls` feature, or
//!   installs a provider.
//! - **No browser automation**: it opens the system browser (or `BROWSER`) and
//!   waits; it does not script pages. On an SSH session it does not forward ports.
//! - **No encryption at rest** in the file store: protection is file permissions
//!   (0600 in a 0700 directory), as with `gh`, `gcloud` and `aws`; use the `keyring`
//!   feature for the OS keyring.
//! - **No async runtime choice**: it uses tokio. `cli::run_blocking` serves
//!   synchronous apps.
//! - **No Windows-specific file ACLs** beyond what `%APPDATA%` gives, and no atomic
//!   directory sync there.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
pub mod browser;
#[cfg(feature = "clap")]
#[cfg_attr(docsrs, doc(cfg(feature = "clap")))]
pub mod cli;
pub mod clock;
mod drive;
pub mod entropy;
pub mod http;
pub mod loopback;
mod peer;
pub mod store;
mod sys;
pub mod ui;

pub use auth::{
    Authenticator, AuthenticatorBuilder, Endpoints, Fallback, LoginOutcome, LogoutOutcome,
    ProfileInfo, ProfileStatus, RefreshOutcome, Revocation, Verification,
};
pub use cliauth_core;
pub use cliauth_core::client::{ClientAuthMethod, RequestKind};
pub use cliauth_core::credentials::{LoginMethod, StatusReport};
pub use cliauth_core::keys::{Charset, KeyFormat, KeyRegistry};
pub use cliauth_core::provider::{PRESETS, ProviderConfig, preset};
pub use cliauth_core::secret::{AccessToken, ApiKey};
pub use cliauth_core::{
    AppContext, Error, ErrorKind, HttpRequest, HttpResponse, Method, Timestamp,
};
pub use reqwest;
pub use rustls;
pub use sys::now;

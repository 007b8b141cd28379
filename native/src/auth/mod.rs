//! The [`Authenticator`]: every login, the stored credential, refresh, status and
//! logout, for one app.
//!
//! Every journey is one of core's flows ([`cliauth_core::flow`]), run by the one
//! driver ([`crate::drive`]); the files here only configure them and shape results:
//!
//! | File | Job |
//! |---|---|
//! | `builder.rs` | [`AuthenticatorBuilder`]: configuration, checked once |
//! | `client.rs` | the OAuth client's configuration: provider presets, client secret, parameters per request kind, `<APP>_TOKEN` |
//! | `outcomes.rs` | what logins, refreshes, logouts and listings return |
//! | `storage.rs` | the store's warnings, the driver's IO, the flows' configuration |
//! | `login.rs` | the five logins and the choice between them |
//! | `session.rs` | endpoints (discovery), access tokens, refresh |
//! | `api.rs` | authenticated API calls |
//! | `account.rs` | status, logout, profiles |

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use cliauth_core::client::Client;
use cliauth_core::credentials::validate_profile_name;
use cliauth_core::keys::KeyRegistry;
use cliauth_core::secret::ApiKey;
use cliauth_core::{AppContext, Error};

use crate::browser::Browser;
use crate::clock::Clock;
use crate::entropy::Entropy;
use crate::http::{HttpClient, Transport};
use crate::loopback::LoopbackOptions;
use crate::store::{CredentialStore, EnvSource};
use crate::ui::Ui;

mod account;
mod api;
mod builder;
mod client;
mod login;
mod outcomes;
mod session;
mod storage;

pub use builder::AuthenticatorBuilder;
pub use outcomes::{
    Endpoints, Fallback, LoginOutcome, LogoutOutcome, ProfileInfo, ProfileStatus, RefreshOutcome,
    Revocation, Verification,
};

struct Inner {
    app: AppContext,
    keys: KeyRegistry,
    env: EnvSource,
    issuer: Option<String>,
    explicit: Endpoints,
    endpoints: tokio::sync::OnceCell<Endpoints>,
    /// The OAuth client as core builds its requests (id, secret, parameters per
    /// request kind, the provider's quirks).
    client: Client,
    scopes: Vec<String>,
    /// Discovery URLs from a provider preset (empty: from the issuer).
    discovery: Vec<String>,
    /// The bearer-token variable (`<APP>_TOKEN`).
    token_env: String,
    store: Arc<dyn CredentialStore>,
    loopback: LoopbackOptions,
    cli_auth_page: Option<String>,
    raw_key_handoff: bool,
    api_base: Option<String>,
    verify: Option<String>,
    fallback: Fallback,
    browser: Browser,
    http: HttpClient,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    refresh: cliauth_core::token::RefreshPolicy,
    /// One locked read-modify-write (a refresh, a login's storing) per process at a
    /// time, in front of the store's cross-process lock.
    gate: tokio::sync::Mutex<()>,
    /// The store warnings already shown.
    warned: Mutex<BTreeSet<String>>,
    /// Whether logins keep credentials in the file by default.
    insecure_storage: bool,
    /// Whether the profiles a newer version stored were reported.
    noted: AtomicBool,
}

/// Authentication for one CLI: logins, the stored credential, refresh, status,
/// logout and profiles. Cheap to clone; clones share configuration, HTTP connections
/// and the in-process refresh lock.
///
/// A view of the authenticator can be narrowed to one profile
/// ([`with_profile`](Authenticator::with_profile), the `--profile` flag) or given a
/// key from a command-line flag ([`with_api_key`](Authenticator::with_api_key)).
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
    profile: Option<String>,
    flag_key: Option<Arc<ApiKey>>,
    ui: Arc<dyn Ui>,
    /// `--insecure-storage` for this view's logins.
    insecure_storage: Option<bool>,
    /// `--scopes` for this view's logins and refreshes.
    scopes: Option<Vec<String>>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("app", &self.inner.app.cli)
            .field("issuer", &self.inner.issuer)
            .field("client", &self.inner.client)
            .field("store", &self.inner.store)
            .field("profile", &self.profile)
            .field("flag_key", &self.flag_key.as_ref().map(|_| "[redacted]"))
            .field("scopes", &self.requested_scopes())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// The app's names, for rendering errors ([`Error::render`]).
    pub fn app(&self) -> &AppContext {
        &self.inner.app
    }

    /// The key formats.
    pub fn key_formats(&self) -> &KeyRegistry {
        &self.inner.keys
    }

    /// The credential store.
    pub fn store(&self) -> &Arc<dyn CredentialStore> {
        &self.inner.store
    }

    /// The HTTP client (shared connection pool).
    pub fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// The UI.
    pub fn ui(&self) -> &Arc<dyn Ui> {
        &self.ui
    }

    /// A view that talks to the user through `ui`.
    pub fn with_ui(&self, ui: Arc<dyn Ui>) -> Authenticator {
        Authenticator { ui, ..self.clone() }
    }

    /// The profile this view is narrowed to, if any.
    pub fn profile_name(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// A view that uses (and logs in to) the profile `name`, as `--profile` does.
    pub fn with_profile(&self, name: impl Into<String>) -> Result<Authenticator, Error> {
        let name = name.into();
        validate_profile_name(&name)?;
        Ok(Authenticator {
            profile: Some(name),
            ..self.clone()
        })
    }

    /// A view whose logins keep the credential in the credentials file even where
    /// the OS keyring is used (`--insecure-storage`), or not (`false`, overriding
    /// [`AuthenticatorBuilder::insecure_storage`] and `<APP>_INSECURE_STORAGE`).
    pub fn with_insecure_storage(&self, insecure: bool) -> Authenticator {
        Authenticator {
            insecure_storage: Some(insecure),
            ..self.clone()
        }
    }

    /// A view whose logins ask for these scopes instead of the configured ones
    /// (`login --scopes`), and whose [`refresh_now`](Self::refresh_now) asks for them
    /// as a narrower scope (RFC 6749 §6: no wider than what was granted).
    pub fn with_scopes<I, S>(&self, scopes: I) -> Authenticator
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Authenticator {
            scopes: Some(scopes.into_iter().map(Into::into).collect()),
            ..self.clone()
        }
    }

    /// The scopes this view's logins ask for.
    pub fn requested_scopes(&self) -> &[String] {
        self.scopes.as_deref().unwrap_or(&self.inner.scopes)
    }

    /// A view where `key` (from a `--api-key` flag) takes precedence over the
    /// environment and stored profiles.
    pub fn with_api_key(&self, key: impl Into<String>) -> Authenticator {
        Authenticator {
            flag_key: Some(Arc::new(ApiKey::new(key.into()))),
            ..self.clone()
        }
    }

    fn has_oauth(&self) -> bool {
        self.inner.issuer.is_some() || self.inner.explicit.token.is_some()
    }
}

/// `path` joined to `base` with exactly one `/`.
fn join_url(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(join_url("http://h/api/", "/whoami"), "http://h/api/whoami");
        assert_eq!(cliauth_core::error::env_prefix("my-cli"), "MY_CLI");
    }
}

//! Storage access and the driver's IO: what every flow of the
//! [`Authenticator`](super::Authenticator) runs with.

use std::sync::Arc;

use cliauth_core::credentials::CredentialsDocument;
use cliauth_core::flow::{Flow, LoginConfig, LoginOutcome};
use cliauth_core::{Error, Now};

use super::{Authenticator, Endpoints};
use crate::drive::{Io, drive};
use crate::store::STORAGE_FIELD;
use crate::sys;
use crate::ui::Notice;

impl Authenticator {
    /// The store's warnings (loose permissions, a keyring that could not be used),
    /// each once per authenticator.
    pub(super) fn warn_store_once(&self) {
        for w in self.inner.store.warnings() {
            let new = self
                .inner
                .warned
                .lock()
                .map(|mut shown| shown.insert(w.clone()))
                .unwrap_or(true);
            if new {
                self.ui.notice(&Notice::Warning(&w));
            }
        }
    }

    /// A stored login's outcome, completed with where the store keeps it; a keyring
    /// that failed during the write says so now.
    pub(super) fn stored(&self, mut outcome: LoginOutcome) -> LoginOutcome {
        self.warn_store_once();
        outcome.storage = Some(self.inner.store.profile_location(&outcome.profile));
        outcome
    }

    /// A snapshot of the document, for looking only.
    pub(super) fn read_document(&self) -> Result<Option<CredentialsDocument>, Error> {
        self.warn_store_once();
        let doc = self.inner.store.read()?;
        if let Some(d) = &doc {
            crate::drive::note_skipped(&*self.ui, &self.inner.noted, d);
        }
        Ok(doc)
    }

    /// `N` bytes from the authenticator's [`Entropy`](crate::entropy::Entropy).
    pub(super) fn entropy<const N: usize>(&self) -> Result<[u8; N], Error> {
        let mut bytes = [0u8; N];
        self.inner.entropy.fill(&mut bytes)?;
        Ok(bytes)
    }

    /// A seed for core's backoff jitter, from the same [`Entropy`](crate::entropy::Entropy)
    /// (so a test with fixed entropy replays the same waits); the OS generator's when
    /// that fails, since jitter only spreads retries.
    pub(super) fn seed(&self) -> u64 {
        self.entropy::<8>()
            .map(u64::from_le_bytes)
            .unwrap_or_else(|_| sys::seed())
    }

    /// The clocks, now.
    pub(super) fn now(&self) -> Now {
        self.inner.clock.now()
    }

    /// Everything a flow may use: the clock, the transport, the store behind the
    /// in-process gate, the UI and the browser.
    pub(super) fn io(&self) -> Io<'_> {
        let mut io = Io::new(&*self.inner.clock);
        io.transport = Some(&*self.inner.transport);
        io.store = Some(&self.inner.store);
        io.gate = Some(&self.inner.gate);
        io.ui = Some(Arc::clone(&self.ui));
        io.browser = Some(&self.inner.browser);
        io.noted = Some(&self.inner.noted);
        io.product = &self.inner.app.product;
        io
    }

    /// Runs `flow` with [`io`](Self::io).
    pub(super) async fn run<F: Flow>(&self, flow: &mut F) -> Result<F::Output, Error> {
        self.warn_store_once();
        drive(self.io(), flow).await
    }

    /// What a login needs: the client (its secret sent as the metadata of
    /// `endpoints` allows, core's [`Client::for_server`]), the token endpoint (of
    /// `endpoints`, when the app has an OAuth server), key formats, verification,
    /// where to store.
    ///
    /// [`Client::for_server`]: cliauth_core::client::Client::for_server
    pub(super) fn login_config(&self, endpoints: Option<&Endpoints>) -> Result<LoginConfig, Error> {
        let inner = &self.inner;
        let client = match endpoints {
            Some(e) => inner.client.for_server(e.token_auth_methods.as_deref())?,
            None => inner.client.clone(),
        };
        let mut config = LoginConfig::new(client);
        config.token_endpoint = endpoints.and_then(|e| e.token.clone());
        config.retry = inner.http.retry_policy();
        config.keys = inner.keys.clone();
        config.verify = inner.verify.clone();
        // One overall deadline for the whole verification, retries included: a
        // server dripping its answer byte by byte cannot hold the login for
        // attempts × timeout.
        config.verify_within = Some(inner.http.timeout());
        config.subject_endpoint = inner
            .verify
            .clone()
            .or_else(|| endpoints.and_then(|e| e.userinfo.clone()));
        config.product = inner.app.product.clone();
        config.profile = self.profile.clone();
        // The issuer as the server's metadata names it (Endpoints::issuer).
        config.issuer = endpoints
            .and_then(|e| e.issuer.clone())
            .or_else(|| inner.issuer.clone());
        config.api_base = inner.api_base.clone();
        // Where the store keeps it: `--insecure-storage` keeps it in the file.
        let insecure = self.insecure_storage.unwrap_or(inner.insecure_storage);
        config.profile_fields = vec![(
            STORAGE_FIELD.to_string(),
            insecure.then(|| serde_json::Value::from("file")),
        )];
        config.raw_key_handoff = inner.raw_key_handoff;
        config.seed = self.seed();
        Ok(config)
    }
}

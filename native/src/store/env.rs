//! Environment variables as a read-only credential source.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use cliauth_core::Error;
use cliauth_core::credentials::{Credential, CredentialsDocument, LoginMethod, Profile};
use cliauth_core::secret::ApiKey;

use super::{CredentialStore, StoreLock, store_id};

/// Where environment variables are read from: the process environment, or a fixed
/// set (for tests and for apps that load variables from elsewhere).
#[derive(Clone, Default)]
pub struct EnvSource {
    fixed: Option<Arc<BTreeMap<String, String>>>,
}

impl fmt::Debug for EnvSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fixed {
            None => f.write_str("EnvSource(process)"),
            Some(map) => f
                .debug_tuple("EnvSource")
                .field(&map.keys().collect::<Vec<_>>())
                .finish(),
        }
    }
}

impl EnvSource {
    /// The process environment.
    pub fn process() -> EnvSource {
        EnvSource { fixed: None }
    }

    /// A fixed set of variables; nothing else is visible.
    pub fn fixed<I, K, V>(vars: I) -> EnvSource
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        EnvSource {
            fixed: Some(Arc::new(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            )),
        }
    }

    /// A variable's value; `None` when unset, empty or not UTF-8.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match &self.fixed {
            None => std::env::var(name).ok(),
            Some(map) => map.get(name).cloned(),
        };
        value.filter(|v| !v.trim().is_empty())
    }

    /// Whether a variable is set (to anything, even empty).
    pub fn is_set(&self, name: &str) -> bool {
        match &self.fixed {
            None => std::env::var_os(name).is_some(),
            Some(map) => map.contains_key(name),
        }
    }
}

/// An API key from an environment variable, presented as a document with one
/// profile named `env`. Read-only: logins and logouts through it fail with a hint to
/// change the variable instead.
#[derive(Debug)]
pub struct EnvStore {
    var: String,
    env: EnvSource,
    id: u64,
}

impl EnvStore {
    /// Reads the key from `var` in the process environment.
    pub fn new(var: impl Into<String>) -> EnvStore {
        EnvStore::with_source(var, EnvSource::process())
    }

    /// Reads the key from `var` in `env`.
    pub fn with_source(var: impl Into<String>, env: EnvSource) -> EnvStore {
        EnvStore {
            var: var.into(),
            env,
            id: store_id(),
        }
    }
}

impl CredentialStore for EnvStore {
    fn location(&self) -> String {
        format!("environment variable {}", self.var)
    }

    fn read(&self) -> Result<Option<CredentialsDocument>, Error> {
        let Some(key) = self.env.get(&self.var) else {
            return Ok(None);
        };
        let mut doc = CredentialsDocument::new();
        let profile = Profile::new(
            Credential::ApiKey(ApiKey::new(key.trim())),
            LoginMethod::ApiKey,
            crate::sys::now(),
        );
        doc.set_profile("env", profile)?;
        Ok(Some(doc))
    }

    fn lock(&self) -> Result<StoreLock, Error> {
        Ok(StoreLock::new(self.id, ()))
    }

    fn read_locked(&self, lock: &StoreLock) -> Result<Option<CredentialsDocument>, Error> {
        lock.check(self.id)?;
        self.read()
    }

    fn write(&self, lock: &StoreLock, _document: &CredentialsDocument) -> Result<(), Error> {
        lock.check(self.id)?;
        Err(Error::storage(format!(
            "credentials come from the environment variable {} and cannot be changed here; set or unset it instead",
            self.var
        )))
    }

    fn is_read_only(&self) -> bool {
        true
    }
}

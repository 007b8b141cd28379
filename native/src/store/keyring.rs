//! The OS keyring (feature `keyring`).

use std::sync::OnceLock;

use cliauth_core::Error;
use cliauth_core::credentials::CredentialsDocument;
use tracing::{debug, warn};

use super::{CredentialStore, FileStore, StoreLock};

const ACCOUNT: &str = "credentials";

/// The credentials document in the OS keyring (macOS Keychain, Windows Credential
/// Manager, the Secret Service on Linux), as one entry of service `<service>`.
///
/// When no keyring is reachable (no Secret Service on a headless Linux box, a
/// locked-down container), it falls back to a [`FileStore`] and says so in
/// [`CredentialStore::warnings`], which [`crate::Authenticator`] shows to the user —
/// never silently. The lock for read-modify-write is always the file store's lock
/// file, so refreshes stay single across processes either way.
///
/// Keyrings limit entry sizes (Windows: 2560 bytes); a document that does not fit
/// fails to save with a clear error.
#[derive(Debug)]
pub struct KeyringStore {
    service: String,
    fallback: FileStore,
    backend: OnceLock<Backend>,
}

#[derive(Debug)]
enum Backend {
    Keyring(keyring::Entry),
    Fallback { reason: String },
}

impl KeyringStore {
    /// A keyring store for `service` (usually the app's command name), falling back to
    /// `fallback`, which also holds the lock file.
    pub fn new(service: impl Into<String>, fallback: FileStore) -> KeyringStore {
        KeyringStore {
            service: service.into(),
            fallback,
            backend: OnceLock::new(),
        }
    }

    /// Whether the keyring is used (`false`: the fallback file is).
    pub fn uses_keyring(&self) -> bool {
        matches!(self.backend(), Backend::Keyring(_))
    }

    fn backend(&self) -> &Backend {
        self.backend.get_or_init(|| {
            let probe = keyring::Entry::new(&self.service, ACCOUNT).and_then(|entry| {
                match entry.get_password() {
                    Ok(_) | Err(keyring::Error::NoEntry) => Ok(entry),
                    Err(e) => Err(e),
                }
            });
            match probe {
                Ok(entry) => Backend::Keyring(entry),
                Err(e) => {
                    let reason = describe(&e);
                    warn!(%reason, "OS keyring unavailable; using the credentials file");
                    Backend::Fallback { reason }
                }
            }
        })
    }

    fn read_keyring(&self, entry: &keyring::Entry) -> Result<Option<CredentialsDocument>, Error> {
        let text = match entry.get_password() {
            Ok(text) => text,
            Err(keyring::Error::NoEntry) => return Ok(None),
            Err(e) => {
                return Err(Error::Storage {
                    reason: format!("cannot read the OS keyring: {}", describe(&e)),
                });
            }
        };
        match CredentialsDocument::from_json(text.as_bytes()) {
            Ok(doc) => Ok(Some(doc)),
            Err(Error::CorruptCredentials { reason, .. }) => {
                // Keep the damaged data next to the fallback file, then clear the entry.
                let moved_to = self.fallback.keep_damaged(text.as_bytes());
                if moved_to.is_some() {
                    let _ = entry.delete_credential();
                }
                Err(Error::CorruptCredentials { reason, moved_to })
            }
            Err(e) => Err(e),
        }
    }
}

fn describe(e: &keyring::Error) -> String {
    match e {
        keyring::Error::PlatformFailure(_) => "the platform keyring failed".into(),
        keyring::Error::NoStorageAccess(_) => "no keyring is available".into(),
        keyring::Error::NoEntry => "no entry".into(),
        keyring::Error::TooLong(what, max) => format!("the {what} is longer than {max}"),
        _ => "keyring error".into(),
    }
}

impl CredentialStore for KeyringStore {
    fn location(&self) -> String {
        match self.backend() {
            Backend::Keyring(_) => format!("OS keyring (service {})", self.service),
            Backend::Fallback { .. } => self.fallback.location(),
        }
    }

    fn read(&self) -> Result<Option<CredentialsDocument>, Error> {
        match self.backend() {
            Backend::Keyring(entry) => self.read_keyring(entry),
            Backend::Fallback { .. } => self.fallback.read(),
        }
    }

    fn lock(&self) -> Result<StoreLock, Error> {
        self.fallback.lock()
    }

    fn read_locked(&self, lock: &StoreLock) -> Result<Option<CredentialsDocument>, Error> {
        match self.backend() {
            Backend::Keyring(entry) => {
                lock.check(self.fallback.id())?;
                self.read_keyring(entry)
            }
            Backend::Fallback { .. } => self.fallback.read_locked(lock),
        }
    }

    fn write(&self, lock: &StoreLock, document: &CredentialsDocument) -> Result<(), Error> {
        match self.backend() {
            Backend::Keyring(entry) => {
                lock.check(self.fallback.id())?;
                // Nothing left to keep (the last profile logged out): remove the
                // item rather than leave an empty one behind in the user's keyring.
                if document.profiles.is_empty() && document.extra.is_empty() {
                    return match entry.delete_credential() {
                        Ok(()) | Err(keyring::Error::NoEntry) => {
                            debug!(service = %self.service, "keyring item removed (no profiles left)");
                            Ok(())
                        }
                        Err(e) => Err(Error::Storage {
                            reason: format!(
                                "cannot remove the item from the OS keyring: {}",
                                describe(&e)
                            ),
                        }),
                    };
                }
                let text = String::from_utf8_lossy(&document.to_json()).into_owned();
                entry.set_password(&text).map_err(|e| Error::Storage {
                    reason: format!("cannot write to the OS keyring: {}", describe(&e)),
                })?;
                debug!(service = %self.service, "credentials written to the keyring");
                Ok(())
            }
            Backend::Fallback { .. } => self.fallback.write(lock, document),
        }
    }

    fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Backend::Fallback { reason } = self.backend() {
            out.push(format!(
                "The OS keyring is not available ({reason}); credentials are stored in {} instead.",
                self.fallback.location()
            ));
        }
        out.extend(self.fallback.warnings());
        out
    }
}

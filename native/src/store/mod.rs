//! Where credentials live: one trait, several stores.
//!
//! Every store holds one [`CredentialsDocument`] (core's versioned JSON with
//! profiles). Changes are read-modify-write under an exclusive lock
//! ([`CredentialStore::lock`]) that other processes respect, so two CLI processes
//! refreshing or logging in at once never lose each other's writes.
//!
//! - [`FileStore`] (the default without the `keyring` feature):
//!   `credentials.json` in the platform's configuration directory ([`paths`]:
//!   `~/.config/<app>/`, `%APPDATA%\<app>\`, a legacy `~/.<app>/`), atomic and
//!   locked, owner-only permissions from creation.
//! - [`MemoryStore`]: for tests and short-lived processes.
//! - [`EnvStore`]: an API key from an environment variable, read-only.
//! - `KeyringStore` (feature `keyring`, then the default): credentials in the OS
//!   keyring, one profile at a time in items of at most 2,560 bytes, the rest of the
//!   document in the file; a profile goes to the file when the keyring cannot be used
//!   (with a visible warning) or when the user asks for `--insecure-storage`.
//!
//! ```
//! use cliauth::store::{CredentialStore, FileStore};
//! use cliauth::cliauth_core::credentials::{Credential, LoginMethod, Profile};
//! use cliauth::cliauth_core::secret::ApiKey;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = FileStore::new(dir.path().join("acme"));
//! assert!(store.read()?.is_none());
//!
//! let lock = store.lock()?;                       // across processes
//! let mut doc = store.read_locked(&lock)?.unwrap_or_default();
//! let key = Credential::ApiKey(ApiKey::new("acme_0123456789abcdefghij"));
//! doc.set_profile("default", Profile::new(key, LoginMethod::ApiKey, cliauth::now()))?;
//! store.write(&lock, &doc)?;                      // temp file, fsync, rename
//! drop(lock);
//!
//! assert_eq!(store.read()?.unwrap().active().unwrap().0, "default");
//! # Ok::<(), cliauth::Error>(())
//! ```

use std::any::Any;
use std::fmt;

use cliauth_core::Error;
use cliauth_core::credentials::CredentialsDocument;

mod env;
mod file;
#[cfg(feature = "keyring")]
mod keyring;
mod memory;
pub mod paths;

pub use env::{EnvSource, EnvStore};
pub use file::FileStore;
#[cfg(feature = "keyring")]
#[cfg_attr(docsrs, doc(cfg(feature = "keyring")))]
pub use keyring::{KEYRING_PROFILES_FIELD, KeyringStore, MAX_ITEM_BYTES};
pub use memory::MemoryStore;

/// The profile field that keeps a profile's credential in the credentials file even
/// where the OS keyring is used (`"storage": "file"`), as `--insecure-storage` (or
/// `<APP>_INSECURE_STORAGE=1`) asks; see
/// [`AuthenticatorBuilder::insecure_storage`](crate::AuthenticatorBuilder::insecure_storage).
/// Stores that keep everything in one place ignore it.
pub const STORAGE_FIELD: &str = "storage";

/// Storage for the credentials document.
///
/// Contract: [`read`](CredentialStore::read) returns a consistent snapshot without
/// locking; every change takes [`lock`](CredentialStore::lock), reads with
/// [`read_locked`](CredentialStore::read_locked), and writes with
/// [`write`](CredentialStore::write) before dropping the lock. Damaged data is never
/// silently reset: it is reported as [`Error::CorruptCredentials`] (and moved aside
/// when the store can), and a document from a newer version is
/// [`Error::UnsupportedVersion`] and left untouched.
pub trait CredentialStore: Send + Sync + fmt::Debug {
    /// Where the credentials live, for messages (`/home/me/.acme/credentials.json`).
    fn location(&self) -> String;

    /// Reads the document; `None` when nothing is stored.
    fn read(&self) -> Result<Option<CredentialsDocument>, Error>;

    /// Takes the exclusive lock for a read-modify-write, waiting for other holders
    /// (in this and other processes). Released when the returned value is dropped.
    fn lock(&self) -> Result<StoreLock, Error>;

    /// Reads the document while holding `lock`.
    fn read_locked(&self, lock: &StoreLock) -> Result<Option<CredentialsDocument>, Error>;

    /// Replaces the document atomically while holding `lock`.
    fn write(&self, lock: &StoreLock, document: &CredentialsDocument) -> Result<(), Error>;

    /// Where profile `profile` is kept, for messages: [`location`](Self::location)
    /// unless the store keeps profiles in different places (the keyring store keeps
    /// a profile logged in with `--insecure-storage` in its file).
    fn profile_location(&self, profile: &str) -> String {
        let _ = profile;
        self.location()
    }

    /// Problems the user should hear about (loose permissions, a keyring fallback),
    /// each with the fix. Asked after reads and writes; a store may add warnings as
    /// it learns them (a keyring that fails during a write).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }

    /// Whether [`write`](CredentialStore::write) always fails.
    fn is_read_only(&self) -> bool {
        false
    }
}

/// Proof that a store's lock is held; dropping it releases the lock.
pub struct StoreLock {
    owner: u64,
    _guard: Box<dyn Any + Send + Sync>,
}

impl fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreLock").finish_non_exhaustive()
    }
}

impl StoreLock {
    /// A lock held by `guard` (released when it is dropped) for the store whose
    /// [`store_id`] is `owner`. For implementors of [`CredentialStore`].
    pub fn new(owner: u64, guard: impl Any + Send + Sync) -> StoreLock {
        StoreLock {
            owner,
            _guard: Box::new(guard),
        }
    }

    /// Checks that this lock belongs to the store with id `owner`.
    pub fn check(&self, owner: u64) -> Result<(), Error> {
        if self.owner == owner {
            Ok(())
        } else {
            Err(Error::Misuse("a store lock was used with another store"))
        }
    }
}

/// A fresh random id for a store instance, for [`StoreLock::check`].
pub fn store_id() -> u64 {
    crate::sys::seed()
}

impl<S: CredentialStore + ?Sized> CredentialStore for std::sync::Arc<S> {
    fn location(&self) -> String {
        (**self).location()
    }
    fn read(&self) -> Result<Option<CredentialsDocument>, Error> {
        (**self).read()
    }
    fn lock(&self) -> Result<StoreLock, Error> {
        (**self).lock()
    }
    fn read_locked(&self, lock: &StoreLock) -> Result<Option<CredentialsDocument>, Error> {
        (**self).read_locked(lock)
    }
    fn write(&self, lock: &StoreLock, document: &CredentialsDocument) -> Result<(), Error> {
        (**self).write(lock, document)
    }
    fn profile_location(&self, profile: &str) -> String {
        (**self).profile_location(profile)
    }
    fn warnings(&self) -> Vec<String> {
        (**self).warnings()
    }
    fn is_read_only(&self) -> bool {
        (**self).is_read_only()
    }
}

/// A `Storage` error naming what failed, from an IO error (no file contents); the IO
/// error is kept as its source (the same OS error code, or kind and message).
pub(crate) fn io_error(what: &str, e: &std::io::Error) -> Error {
    Error::storage(format!("{what}: {}", e.kind())).with_source(copy_io_error(e))
}

/// An owned copy of an IO error (`io::Error` is not `Clone`).
pub(crate) fn copy_io_error(e: &std::io::Error) -> std::io::Error {
    match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::new(e.kind(), e.to_string()),
    }
}

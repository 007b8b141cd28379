//! An in-memory store.

use std::sync::{Arc, Condvar, Mutex};

use cliauth_core::Error;
use cliauth_core::credentials::CredentialsDocument;

use super::{CredentialStore, StoreLock, store_id};

/// Credentials kept in memory, serialised as the same JSON document as the file
/// store. Clones share the data, so an [`crate::Authenticator`] and a test can look
/// at the same store. The lock is held across threads of this process only.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    id: u64,
    data: Mutex<Option<Vec<u8>>>,
    locked: Mutex<bool>,
    released: Condvar,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore {
            inner: Arc::new(Inner {
                id: store_id(),
                ..Inner::default()
            }),
        }
    }

    /// A store holding `document`.
    pub fn with_document(document: &CredentialsDocument) -> MemoryStore {
        let store = MemoryStore::new();
        if let Ok(mut data) = store.inner.data.lock() {
            *data = Some(document.to_json());
        }
        store
    }
}

fn poisoned() -> Error {
    Error::storage("the in-memory store was poisoned by a panic")
}

/// Releases the in-process lock when dropped.
struct Held(Arc<Inner>);

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(mut locked) = self.0.locked.lock() {
            *locked = false;
        }
        self.0.released.notify_one();
    }
}

impl CredentialStore for MemoryStore {
    fn location(&self) -> String {
        "memory".into()
    }

    fn read(&self) -> Result<Option<CredentialsDocument>, Error> {
        let data = self.inner.data.lock().map_err(|_| poisoned())?;
        data.as_deref()
            .map(CredentialsDocument::from_json)
            .transpose()
    }

    fn lock(&self) -> Result<StoreLock, Error> {
        let mut locked = self.inner.locked.lock().map_err(|_| poisoned())?;
        while *locked {
            locked = self.inner.released.wait(locked).map_err(|_| poisoned())?;
        }
        *locked = true;
        Ok(StoreLock::new(self.inner.id, Held(Arc::clone(&self.inner))))
    }

    fn read_locked(&self, lock: &StoreLock) -> Result<Option<CredentialsDocument>, Error> {
        lock.check(self.inner.id)?;
        self.read()
    }

    fn write(&self, lock: &StoreLock, document: &CredentialsDocument) -> Result<(), Error> {
        lock.check(self.inner.id)?;
        let mut data = self.inner.data.lock().map_err(|_| poisoned())?;
        *data = Some(document.to_json());
        Ok(())
    }
}

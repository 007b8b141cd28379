//! The keyring items of one profile: their names, reading, writing (in chunks of at
//! most [`MAX_ITEM_BYTES`]) and deleting them, and the platform's keyring store.

use std::sync::Arc;

use cliauth_core::Error;
use keyring_core::CredentialStore as Backend;
use serde_json::{Value, json};
use tracing::debug;
use zeroize::Zeroizing;

use super::{KeyringStore, MAX_ITEM_BYTES};

/// A profile's reference to its items: `<profile>/<generation>/<n>` for `n` below
/// `items`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ItemRef {
    pub(super) generation: String,
    pub(super) items: usize,
}

impl ItemRef {
    pub(super) fn parse(meta: &Value) -> Option<ItemRef> {
        let r = meta.get("keyring")?;
        Some(ItemRef {
            generation: r.get("generation")?.as_str()?.to_string(),
            items: usize::try_from(r.get("items")?.as_u64()?).ok()?,
        })
    }

    pub(super) fn to_value(&self) -> Value {
        json!({ "generation": self.generation, "items": self.items })
    }

    fn user(&self, profile: &str, n: usize) -> String {
        format!("{profile}/{}/{n}", self.generation)
    }
}

impl KeyringStore {
    /// Reads the items of one profile and joins them: `Ok(None)` when the keyring no
    /// longer has them.
    pub(super) fn read_items(
        &self,
        profile: &str,
        r: &ItemRef,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
        let backend = self.backend().map_err(|reason| {
            Error::storage(format!("the OS keyring is not available ({reason})"))
        })?;
        let mut bytes = Zeroizing::new(Vec::new());
        for n in 0..r.items {
            let read = self
                .entry(backend, &r.user(profile, n))
                .and_then(|e| e.get_secret());
            match read {
                Ok(part) => bytes.extend_from_slice(&part),
                Err(keyring_core::Error::NoEntry) => return Ok(None),
                Err(e) => return Err(keyring_error("cannot read the OS keyring", e)),
            }
        }
        Ok(Some(bytes))
    }

    /// Writes `bytes` as new items of `profile`; on failure removes what it wrote.
    pub(super) fn write_items(
        &self,
        backend: &Arc<Backend>,
        profile: &str,
        bytes: &[u8],
    ) -> Result<ItemRef, Error> {
        let generation = generation()?;
        let chunks: Vec<&[u8]> = bytes.chunks(MAX_ITEM_BYTES).collect();
        let r = ItemRef {
            generation,
            items: chunks.len(),
        };
        for (n, chunk) in chunks.iter().enumerate() {
            let written = self
                .entry(backend, &r.user(profile, n))
                .and_then(|e| e.set_secret(chunk));
            if let Err(e) = written {
                self.delete_items(
                    backend,
                    profile,
                    &ItemRef {
                        items: n,
                        ..r.clone()
                    },
                );
                return Err(keyring_error("cannot write to the OS keyring", e));
            }
        }
        Ok(r)
    }

    pub(super) fn delete_items(&self, backend: &Arc<Backend>, profile: &str, r: &ItemRef) {
        for n in 0..r.items {
            match self
                .entry(backend, &r.user(profile, n))
                .and_then(|e| e.delete_credential())
            {
                Ok(()) | Err(keyring_core::Error::NoEntry) => {}
                Err(e) => debug!(error = %describe(&e), "an old keyring item could not be removed"),
            }
        }
    }
}

/// A random name for a new set of items.
fn generation() -> Result<String, Error> {
    let bytes = crate::sys::entropy::<6>()?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// This platform's keyring store.
pub(super) fn platform_store() -> Result<Arc<Backend>, keyring_core::Error> {
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
    {
        let store: Arc<Backend> = zbus_secret_service_keyring_store::Store::new()?;
        Ok(store)
    }
    #[cfg(target_os = "macos")]
    {
        let store: Arc<Backend> = apple_native_keyring_store::keychain::Store::new()?;
        Ok(store)
    }
    #[cfg(windows)]
    {
        let store: Arc<Backend> = windows_native_keyring_store::Store::new()?;
        Ok(store)
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "macos",
        windows
    )))]
    {
        Err(keyring_core::Error::NotSupportedByStore(
            "no OS keyring is supported on this platform".into(),
        ))
    }
}

/// Words for a keyring error, without any stored bytes.
pub(super) fn describe(e: &keyring_core::Error) -> String {
    match e {
        keyring_core::Error::PlatformFailure(_) => "the platform keyring failed".into(),
        keyring_core::Error::NoStorageAccess(_) => "no keyring is available".into(),
        keyring_core::Error::NoEntry => "no entry".into(),
        keyring_core::Error::TooLong(what, max) => format!("the {what} is longer than {max}"),
        keyring_core::Error::NoDefaultStore => "no keyring store is set up".into(),
        keyring_core::Error::NotSupportedByStore(why) => why.clone(),
        _ => "keyring error".into(),
    }
}

/// A storage error for a keyring failure; the platform's own error is kept as the
/// source (never an error that carries the stored bytes).
pub(super) fn keyring_error(what: &str, e: keyring_core::Error) -> Error {
    let error = Error::storage(format!("{what}: {}", describe(&e)));
    match e {
        keyring_core::Error::PlatformFailure(inner)
        | keyring_core::Error::NoStorageAccess(inner) => {
            error.with_cause(Some(cliauth_core::error::Cause::from(inner)))
        }
        _ => error,
    }
}

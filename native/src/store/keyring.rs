//! The OS keyring (feature `keyring`), through [keyring-core] and its per-platform
//! stores: the macOS Keychain (`apple-native-keyring-store`), the Windows Credential
//! Manager (`windows-native-keyring-store`) and the Secret Service on Linux and the
//! BSDs (`zbus-secret-service-keyring-store`, pure Rust over D-Bus).
//!
//! [keyring-core]: https://docs.rs/keyring-core

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, OnceLock};

use cliauth_core::Error;
use cliauth_core::credentials::{CREDENTIALS_VERSION, CredentialsDocument};
use keyring_core::{CredentialStore as Backend, Entry};
use serde_json::{Map, Value, json};
use tracing::{debug, warn};
use zeroize::Zeroizing;

use super::{CredentialStore, FileStore, STORAGE_FIELD, StoreLock};

mod items;

use items::{ItemRef, describe, platform_store};

/// The top-level field of `credentials.json` that lists the profiles whose
/// credential is in the keyring.
pub const KEYRING_PROFILES_FIELD: &str = "keyring_profiles";

/// The largest secret one keyring item holds, in bytes: the Windows Credential
/// Manager's limit for a credential blob (`CRED_MAX_CREDENTIAL_BLOB_SIZE`, 5 × 512).
/// Longer credentials — an access, ID and refresh token that are all JWTs easily
/// reach 5 KB — are split over several items, on every platform alike.
pub const MAX_ITEM_BYTES: usize = 2560;

/// Credentials in the OS keyring, one profile at a time; everything else in the
/// credentials file.
///
/// # Layout
///
/// `credentials.json` (a [`FileStore`], with its permissions, atomic writes and
/// lock) keeps the document: the active profile, every profile's non-secret fields
/// (method, issuer, subject, dates) and, for profiles kept in the file, the
/// credential itself. A profile whose credential is in the keyring is listed under
/// `keyring_profiles` instead of `profiles`, with a reference to its items:
///
/// ```json
/// { "version": 1, "active_profile": "work", "profiles": {},
///   "keyring_profiles": { "work": { "method": "device", "issuer": "…", "created_at": 1795341600,
///                                   "keyring": { "generation": "9f2c41d07ab3", "items": 3 } } } }
/// ```
///
/// The credential (`{"type":"oauth","access_token":…,"refresh_token":…,"id_token":…}`)
/// is stored as items of service `<service>` and user `<profile>/<generation>/<n>`,
/// each at most [`MAX_ITEM_BYTES`]. A write puts new credentials under a new
/// generation, then replaces the file atomically, then deletes the old generation's
/// items: a crash leaves the old or the new credential complete, never a mix of a
/// new access token with an old refresh token (at worst an unreferenced item is left
/// behind). A profile that did not change keeps its items.
///
/// A build of the app without the keyring feature sees only the profiles kept in the
/// file, and keeps `keyring_profiles` as it is (unknown fields are preserved).
///
/// # Where a profile goes
///
/// - A profile marked `"storage": "file"` (logged in with `--insecure-storage`)
///   stays in the file.
/// - Any other profile goes to the keyring. When the keyring cannot be used (no
///   Secret Service on a headless box, a locked keychain, a container), it goes to the
///   file instead and [`CredentialStore::warnings`] says so, with the reason — the
///   fallback is never silent. It moves to the keyring on a later write once the
///   keyring works.
/// - A credential the keyring does not hold any more (deleted in the keyring's own UI)
///   is reported as a warning and treated as logged out; a keyring that cannot be
///   read (locked, unreachable) makes the read fail with [`Error::Storage`] — a
///   profile is never dropped because its keyring was not reachable.
///
/// The lock for read-modify-write is always the file's lock, so refreshes stay single
/// across processes whichever way a profile is stored.
pub struct KeyringStore {
    service: String,
    file: FileStore,
    backend: OnceLock<Result<Arc<Backend>, String>>,
    state: Mutex<State>,
    hasher: RandomState,
}

/// What this instance learnt from its reads and writes.
#[derive(Default)]
struct State {
    /// Per keyring profile: the items read or written last, and a fingerprint of the
    /// credential they hold (a keyed hash, never the bytes), so unchanged profiles
    /// are not rewritten.
    known: BTreeMap<String, (ItemRef, u64)>,
    /// Where each profile went in the last write (`true`: the keyring).
    in_keyring: BTreeMap<String, bool>,
    /// Why the last write could not use the keyring, if it could not.
    fallback: Option<String>,
    /// Profiles whose keyring items were gone.
    missing: BTreeSet<String>,
    /// Profiles whose keyring items held no readable credential, with where the
    /// bytes were kept.
    damaged: BTreeMap<String, Option<String>>,
    /// Profiles listed in the file whose keyring could not be read, with why; their
    /// entries are written back unchanged.
    unreadable: BTreeMap<String, (Value, String)>,
    /// Keyring profiles a newer version stored (a credential type this version does
    /// not know), with core's notice; never used, written back unchanged.
    newer: BTreeMap<String, (Value, String)>,
}

impl std::fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyringStore")
            .field("service", &self.service)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl KeyringStore {
    /// A keyring store for `service` (usually the app's command name) whose document
    /// lives in `file`.
    pub fn new(service: impl Into<String>, file: FileStore) -> KeyringStore {
        KeyringStore {
            service: service.into(),
            file,
            backend: OnceLock::new(),
            state: Mutex::default(),
            hasher: RandomState::new(),
        }
    }

    /// Whether the OS keyring can be used here (connecting to it the first time).
    pub fn uses_keyring(&self) -> bool {
        self.backend().is_ok()
    }

    /// The file store that holds the document.
    pub fn file(&self) -> &FileStore {
        &self.file
    }

    fn backend(&self) -> Result<&Arc<Backend>, &str> {
        self.backend
            .get_or_init(|| {
                let store = platform_store().and_then(|store| {
                    // A read of an item that does not exist proves the keyring answers
                    // (and is unlocked) without creating anything.
                    let probe = Entry::new_in_store(&store, &self.service, "cliauth-probe")?;
                    match probe.get_secret() {
                        Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(store),
                        Err(e) => Err(e),
                    }
                });
                store.map_err(|e| {
                    let reason = describe(&e);
                    warn!(%reason, "OS keyring unavailable");
                    reason
                })
            })
            .as_ref()
            .map_err(String::as_str)
    }

    fn entry(&self, backend: &Arc<Backend>, user: &str) -> Result<Entry, keyring_core::Error> {
        Entry::new_in_store(backend, &self.service, user)
    }

    fn fingerprint(&self, bytes: &[u8]) -> u64 {
        self.hasher.hash_one(bytes)
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The document as the caller sees it: the file's profiles plus the keyring's.
    fn assemble(
        &self,
        file_doc: Option<CredentialsDocument>,
    ) -> Result<Option<CredentialsDocument>, Error> {
        let Some(mut doc) = file_doc else {
            return Ok(None);
        };
        let Some(listed) = doc.extra.get(KEYRING_PROFILES_FIELD) else {
            return Ok(Some(doc));
        };
        doc.extra.remove(KEYRING_PROFILES_FIELD);
        let Value::Object(listed) = listed else {
            return Err(corrupt(format!(
                "`{KEYRING_PROFILES_FIELD}` is not an object"
            )));
        };
        let mut damaged = BTreeMap::new();
        let mut known = BTreeMap::new();
        let mut missing = BTreeSet::new();
        let mut unreadable = BTreeMap::new();
        let mut newer = BTreeMap::new();
        for (name, meta) in listed {
            if doc.profiles.contains_key(&name) {
                // Written to the file by a build without the keyring: that one is newer.
                continue;
            }
            let r = ItemRef::parse(&meta).ok_or_else(|| {
                corrupt(format!("profile `{name}` has no valid keyring reference"))
            })?;
            let bytes = match self.read_items(&name, &r) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => {
                    missing.insert(name);
                    continue;
                }
                Err(e) => {
                    // Not reachable now: left out of this read, and kept as it is.
                    warn!(profile = %name, error = %e, "keyring profile unreadable");
                    unreadable.insert(name, (meta, e.to_string()));
                    continue;
                }
            };
            let Value::Object(mut profile) = meta.clone() else {
                return Err(corrupt(format!("profile `{name}` is not an object")));
            };
            profile.remove("keyring");
            // Core parses the joined profile, as it parses the file.
            let parsed = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|credential| {
                    profile.insert("credential".into(), credential);
                    let joined = json!({
                        "version": CREDENTIALS_VERSION,
                        "profiles": { name.as_str(): Value::Object(profile) },
                    });
                    CredentialsDocument::from_json(joined.to_string().as_bytes()).ok()
                });
            let notice = parsed
                .as_ref()
                .and_then(|d| d.unknown_profile(&name))
                .map(|u| u.notice(&name));
            match parsed.and_then(|mut d| d.profiles.remove(&name)) {
                Some(p) => {
                    known.insert(name.clone(), (r, self.fingerprint(&bytes)));
                    doc.profiles.insert(name, p);
                }
                // Stored by a newer version (a credential type this one does not
                // know): not used, its items and its entry left as they are.
                None if notice.is_some() => {
                    newer.insert(name, (meta, notice.unwrap_or_default()));
                }
                None => {
                    // Kept aside (owner-only, next to the file), then cleared; the
                    // profile reads as logged out, the others are untouched.
                    let moved_to = self.file.keep_damaged(&bytes);
                    if moved_to.is_some()
                        && let Ok(backend) = self.backend()
                    {
                        self.delete_items(backend, &name, &r);
                    }
                    damaged.insert(name, moved_to);
                }
            }
        }
        let mut state = self.lock_state();
        for name in &missing {
            warn!(profile = %name, "the keyring no longer holds this profile's credential");
        }
        state.known = known;
        state.missing = missing;
        state.unreadable = unreadable;
        state.newer = newer;
        state.damaged = damaged;
        Ok(Some(doc))
    }
}

fn corrupt(reason: String) -> Error {
    Error::CorruptCredentials {
        reason,
        moved_to: None,
    }
}

impl CredentialStore for KeyringStore {
    fn location(&self) -> String {
        match self.backend() {
            Ok(_) => format!("OS keyring (service {})", self.service),
            Err(_) => self.file.location(),
        }
    }

    fn profile_location(&self, profile: &str) -> String {
        match self.lock_state().in_keyring.get(profile) {
            Some(true) => format!("OS keyring (service {})", self.service),
            Some(false) => self.file.location(),
            None => self.location(),
        }
    }

    fn read(&self) -> Result<Option<CredentialsDocument>, Error> {
        self.assemble(self.file.read()?)
    }

    fn lock(&self) -> Result<StoreLock, Error> {
        self.file.lock()
    }

    fn read_locked(&self, lock: &StoreLock) -> Result<Option<CredentialsDocument>, Error> {
        self.assemble(self.file.read_locked(lock)?)
    }

    fn write(&self, lock: &StoreLock, document: &CredentialsDocument) -> Result<(), Error> {
        // What the file references now (the items to delete once replaced).
        let current = self.file.read_locked(lock)?;
        let old: BTreeMap<String, ItemRef> = current
            .as_ref()
            .and_then(|d| d.extra.get(KEYRING_PROFILES_FIELD))
            .and_then(|listed| {
                listed.as_object().map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| ItemRef::parse(v).map(|r| (k.clone(), r)))
                        .collect()
                })
            })
            .unwrap_or_default();
        let (known, unreadable, newer) = {
            let mut state = self.lock_state();
            (
                std::mem::take(&mut state.known),
                state.unreadable.clone(),
                state.newer.clone(),
            )
        };
        // The file keeps what is not a known profile as it was: unknown fields, and
        // the profiles a newer version stored there (byte for byte).
        let mut file_doc = document.clone_secret();
        file_doc.profiles.clear();
        file_doc.extra.remove(KEYRING_PROFILES_FIELD);
        let mut listed = Map::new();
        let mut written: Vec<(String, ItemRef)> = Vec::new();
        let mut kept: BTreeMap<String, (ItemRef, u64)> = BTreeMap::new();
        let mut in_keyring = BTreeMap::new();
        let mut fallback = None;
        // One serialisation of the whole document; each profile's JSON is taken from it.
        let full: Value = serde_json::from_slice(&document.to_json())
            .map_err(|_| Error::Misuse("the credentials document did not serialise"))?;
        for (name, profile) in &document.profiles {
            let wants_file = profile
                .extra
                .get(STORAGE_FIELD)
                .as_ref()
                .and_then(Value::as_str)
                == Some("file");
            let backend = if wants_file {
                None
            } else {
                match self.backend() {
                    Ok(b) => Some(b),
                    Err(reason) => {
                        fallback = Some(reason.to_string());
                        None
                    }
                }
            };
            let Some(backend) = backend else {
                file_doc
                    .profiles
                    .insert(name.clone(), profile.clone_secret());
                in_keyring.insert(name.clone(), false);
                continue;
            };
            let Some(Value::Object(mut meta)) =
                full.get("profiles").and_then(|p| p.get(name)).cloned()
            else {
                return Err(Error::Misuse("a profile did not serialise"));
            };
            let credential = meta.remove("credential").unwrap_or(Value::Null);
            let bytes = Zeroizing::new(serde_json::to_vec(&credential).unwrap_or_default());
            drop(credential);
            let print = self.fingerprint(&bytes);
            let unchanged = match (known.get(name), old.get(name)) {
                (Some((seen, f)), Some(now)) => *f == print && seen == now,
                _ => false,
            };
            let r = if unchanged {
                old.get(name).cloned()
            } else {
                match self.write_items(backend, name, &bytes) {
                    Ok(r) => {
                        written.push((name.clone(), r.clone()));
                        Some(r)
                    }
                    Err(e) => {
                        // Never silent: the reason is reported, the profile kept in the file.
                        warn!(profile = %name, error = %e, "keyring write failed; using the file");
                        fallback = Some(e.to_string());
                        None
                    }
                }
            };
            match r {
                Some(r) => {
                    meta.insert("keyring".into(), r.to_value());
                    listed.insert(name.clone(), Value::Object(meta));
                    kept.insert(name.clone(), (r, print));
                    in_keyring.insert(name.clone(), true);
                }
                None => {
                    file_doc
                        .profiles
                        .insert(name.clone(), profile.clone_secret());
                    in_keyring.insert(name.clone(), false);
                }
            }
        }
        for (name, (meta, _)) in unreadable.into_iter().chain(newer) {
            if !document.profiles.contains_key(&name) {
                if let Some(r) = old.get(&name) {
                    kept.insert(name.clone(), (r.clone(), 0));
                }
                listed.insert(name, meta);
            }
        }
        if !listed.is_empty() {
            file_doc
                .extra
                .insert(KEYRING_PROFILES_FIELD, &Value::Object(listed));
        }
        if let Err(e) = self.file.write(lock, &file_doc) {
            // The file still references the old items: remove the new ones.
            if let Ok(backend) = self.backend() {
                for (name, r) in &written {
                    self.delete_items(backend, name, r);
                }
            }
            return Err(e);
        }
        // Replaced: the items nothing references any more can go.
        if let Ok(backend) = self.backend() {
            for (name, r) in &old {
                if kept.get(name).map(|(k, _)| k) != Some(r) {
                    self.delete_items(backend, name, r);
                }
            }
        }
        debug!(service = %self.service, keyring = kept.len(), file = file_doc.profiles.len(), "credentials written");
        let mut state = self.lock_state();
        state.known = kept;
        state.in_keyring = in_keyring;
        state.fallback = fallback;
        Ok(())
    }

    fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let state = self.lock_state();
        if let Some(reason) = &state.fallback {
            out.push(format!(
                "The OS keyring could not be used ({reason}); the credential is stored in plain text in {} instead.",
                self.file.location()
            ));
        }
        for (name, (_, reason)) in &state.unreadable {
            out.push(format!(
                "Profile `{name}` is stored in the OS keyring, which cannot be read now ({reason}); it is left as it is."
            ));
        }
        for (_, notice) in state.newer.values() {
            out.push(notice.clone());
        }
        for (name, moved_to) in &state.damaged {
            out.push(match moved_to {
                Some(path) => format!(
                    "The OS keyring held a damaged credential for profile `{name}`; it was kept at {path} and removed from the keyring. Sign in again."
                ),
                None => format!(
                    "The OS keyring holds a damaged credential for profile `{name}`. Sign in again."
                ),
            });
        }
        for name in &state.missing {
            out.push(format!(
                "The OS keyring no longer holds the credential of profile `{name}` (deleted there?); sign in again to use it."
            ));
        }
        drop(state);
        out.extend(self.file.warnings());
        out
    }
}

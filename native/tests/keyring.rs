//! `KeyringStore` against a real Secret Service (Linux).
//!
//! These tests write to whatever Secret Service the session bus offers, so they run
//! only with `CLIAUTH_REQUIRE_KEYRING=1`, and then fail when the keyring is not used.
//! `cargo xtask test --only keyring` sets it inside a private D-Bus session with a
//! throwaway, unlocked gnome-keyring (never the user's own bus or keyring). Without
//! the variable they return at once; the fallback path is tested by
//! `store.rs::keyring_store_falls_back_to_the_file_only_with_a_visible_warning`.
//!
//! Keyring items are read, planted and removed with `secret-tool` (libsecret-tools):
//! an oracle independent of cliauth and of the `keyring` crate, which proves the
//! document really sits in the Secret Service under the expected attributes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    clippy::print_stdout
)]
#![cfg(target_os = "linux")]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use cliauth::core::credentials::{Credential, CredentialsDocument, LoginMethod, Profile};
use cliauth::core::secret::ApiKey;
use cliauth::store::{CredentialStore, EnvSource, FileStore, KeyringStore};
use cliauth::{Authenticator, Error, Revocation};
use common::CaptureUi;

const KEY: &str = "acme_0123456789abcdefghijklmnop";
const WORK_KEY: &str = "acme_qrstuvwxyz9876543210abcdef";

/// Set by `cargo xtask test --only keyring`: the real keyring must be used.
const REQUIRE: &str = "CLIAUTH_REQUIRE_KEYRING";
/// Set by the xtask too: the throwaway keyring's files on disk.
const DATA_DIR: &str = "CLIAUTH_KEYRING_DATA_DIR";
/// For the helper process: the service and fallback directory to read.
const HELPER_SERVICE: &str = "CLIAUTH_KEYRING_HELPER_SERVICE";
const HELPER_DIR: &str = "CLIAUTH_KEYRING_HELPER_DIR";

fn required() -> bool {
    if std::env::var(REQUIRE).is_ok_and(|v| v == "1") {
        return true;
    }
    eprintln!(
        "skipped: set {REQUIRE}=1 to test against the session's Secret Service \
         (`cargo xtask test --only keyring` does, on a private bus)"
    );
    false
}

/// A keyring service name unique to one test; its item is removed when this is
/// dropped, also when the test fails.
struct Service(String);

impl Service {
    fn new(tag: &str) -> Service {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Service(format!(
            "cliauth-test-{tag}-{}-{nanos:09}",
            std::process::id()
        ))
    }

    fn store(&self, dir: &Path) -> KeyringStore {
        KeyringStore::new(self.0.clone(), FileStore::new(dir))
    }

    /// The item's secret as the Secret Service holds it; `None` when there is none.
    fn raw(&self) -> Option<String> {
        let out = secret_tool(&["lookup", "service", &self.0, "username", "credentials"])
            .output()
            .expect("secret-tool (apt-get install libsecret-tools) is needed");
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).unwrap())
    }

    /// Plants an item as the `keyring` crate would have written it.
    fn put_raw(&self, secret: &str) {
        let mut child = secret_tool(&[
            "store",
            "--label",
            &format!("credentials@{}:default (cliauth test)", self.0),
            "service",
            &self.0,
            "username",
            "credentials",
            "target",
            "default",
            "application",
            "rust-keyring",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect("secret-tool (apt-get install libsecret-tools) is needed");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(secret.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "secret-tool store failed");
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = secret_tool(&["clear", "service", &self.0, "username", "credentials"]).status();
    }
}

fn secret_tool(args: &[&str]) -> Command {
    let mut c = Command::new("secret-tool");
    c.args(args).stdout(Stdio::piped());
    c
}

/// A keyring store that must be the real keyring, not its fallback.
fn real_store(service: &Service, dir: &Path) -> KeyringStore {
    let store = service.store(dir);
    assert!(
        store.uses_keyring(),
        "{REQUIRE}=1 but the OS keyring is not used: {:?}",
        store.warnings()
    );
    store
}

fn authenticator(store: KeyringStore, ui: std::sync::Arc<CaptureUi>) -> Authenticator {
    Authenticator::builder("acme")
        .env(EnvSource::fixed(Vec::<(String, String)>::new()))
        .store(store)
        .ui(ui)
        .build()
        .unwrap()
}

fn key_of(doc: &CredentialsDocument, profile: &str) -> Option<String> {
    match &doc.profile(profile)?.credential {
        Credential::ApiKey(k) => Some(k.expose_secret().to_string()),
        Credential::OAuth(_) => panic!("profile {profile} holds OAuth tokens"),
    }
}

/// Every file under `dir`, with its contents.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn assert_nowhere_in(what: &str, files: &[(String, Vec<u8>)], secrets: &[&str]) {
    for (path, bytes) in files {
        for secret in secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "a secret is in {what} {path}"
            );
        }
    }
}

/// Two profiles logged in through the authenticator; then the document is in the
/// Secret Service, readable by a fresh store and a fresh process, and nowhere else.
#[tokio::test]
async fn keyring_real_secret_service_holds_the_document_and_nothing_else_does() {
    if !required() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let service = Service::new("roundtrip");
    assert_eq!(service.raw(), None);
    let store = real_store(&service, &dir);
    assert_eq!(
        store.location(),
        format!("OS keyring (service {})", service.0)
    );
    assert_eq!(store.warnings(), Vec::<String>::new());
    assert!(store.read().unwrap().is_none());

    let ui = CaptureUi::new();
    let auth = authenticator(store, ui.clone());
    auth.login_api_key(KEY).await.unwrap();
    auth.with_profile("work")
        .unwrap()
        .login_api_key(WORK_KEY)
        .await
        .unwrap();
    assert!(!ui.text().contains("not available"), "{}", ui.text());

    // In the Secret Service, as one item (service, username "credentials").
    let raw = service.raw().expect("no keyring item after login");
    let stored = CredentialsDocument::from_json(raw.as_bytes()).unwrap();
    assert_eq!(key_of(&stored, "default").as_deref(), Some(KEY));
    assert_eq!(key_of(&stored, "work").as_deref(), Some(WORK_KEY));

    // A fresh store instance (its own probe, its own D-Bus connections) reads it.
    let fresh = real_store(&service, &dir);
    let doc = fresh.read().unwrap().expect("a fresh store reads nothing");
    assert_eq!(key_of(&doc, "default").as_deref(), Some(KEY));
    assert_eq!(key_of(&doc, "work").as_deref(), Some(WORK_KEY));
    // The first login's profile stays the active one.
    assert_eq!(doc.active_profile.as_deref(), Some("default"));

    // So does a fresh process: this test binary, running only the helper below.
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "keyring_helper_process_reads_the_stored_document",
            "--nocapture",
        ])
        .env(HELPER_SERVICE, &service.0)
        .env(HELPER_DIR, &dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "helper process failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("helper: profiles default, work"),
        "{stdout}"
    );
    assert!(!stdout.contains(KEY) && !stdout.contains(WORK_KEY));

    // Nothing secret in the fallback location (only the lock file may be there), nor
    // in plain text in the keyring's own files.
    assert!(!dir.join("credentials.json").exists());
    assert_nowhere_in(
        "the fallback directory",
        &files(tmp.path()),
        &[KEY, WORK_KEY],
    );
    if let Some(data) = std::env::var_os(DATA_DIR) {
        let keyring_files = files(Path::new(&data));
        assert!(!keyring_files.is_empty(), "no keyring files in {data:?}");
        assert_nowhere_in("the keyring file", &keyring_files, &[KEY, WORK_KEY]);
    }

    // Debug output of the stores, the authenticator and the document stays clean.
    for debug in [
        format!("{fresh:?}"),
        format!("{:?}", auth.store()),
        format!("{auth:?}"),
        format!("{doc:?}"),
    ] {
        assert!(!debug.contains(KEY) && !debug.contains(WORK_KEY), "{debug}");
    }
    assert!(format!("{fresh:?}").contains(&service.0));

    assert_eq!(auth.access_token().await.unwrap().expose_secret(), KEY);
    assert_eq!(
        auth.with_profile("work")
            .unwrap()
            .access_token()
            .await
            .unwrap()
            .expose_secret(),
        WORK_KEY
    );
}

/// Runs only as the child of the test above (with its variables set): a new process
/// reads the document the parent stored.
#[tokio::test]
async fn keyring_helper_process_reads_the_stored_document() {
    let (Some(service), Some(dir)) = (
        std::env::var_os(HELPER_SERVICE),
        std::env::var_os(HELPER_DIR),
    ) else {
        return;
    };
    let store = KeyringStore::new(service.to_str().unwrap(), FileStore::new(dir));
    assert!(store.uses_keyring(), "{:?}", store.warnings());
    let doc = store.read().unwrap().expect("nothing stored");
    assert_eq!(key_of(&doc, "default").as_deref(), Some(KEY));
    assert_eq!(key_of(&doc, "work").as_deref(), Some(WORK_KEY));
    let auth = authenticator(store, CaptureUi::new());
    assert_eq!(auth.access_token().await.unwrap().expose_secret(), KEY);
    let names: Vec<&str> = doc.profiles.keys().map(String::as_str).collect();
    println!("helper: profiles {}", names.join(", "));
}

/// Logging out of one profile removes it and its secret from the keyring item and
/// leaves the other; logging out of the last deletes the item.
#[tokio::test]
async fn keyring_logout_removes_each_profile_and_its_secret_from_the_item() {
    if !required() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let service = Service::new("logout");
    let auth = authenticator(real_store(&service, &dir), CaptureUi::new());
    auth.login_api_key(KEY).await.unwrap();
    let work = auth.with_profile("work").unwrap();
    work.login_api_key(WORK_KEY).await.unwrap();

    let outcome = work.logout().await.unwrap();
    assert_eq!(outcome.profile, "work");
    assert_eq!(outcome.revocation, Revocation::NotSupported);
    let raw = service.raw().unwrap();
    assert!(!raw.contains(WORK_KEY) && raw.contains(KEY));
    let doc = real_store(&service, &dir).read().unwrap().unwrap();
    assert!(doc.profile("work").is_none());
    assert_eq!(key_of(&doc, "default").as_deref(), Some(KEY));
    assert!(matches!(
        work.access_token().await,
        Err(Error::ProfileNotFound { .. } | Error::NotAuthenticated)
    ));

    let default = auth.with_profile("default").unwrap();
    assert_eq!(default.logout().await.unwrap().profile, "default");
    // The last profile is gone: the store removes its item from the keyring rather
    // than leave an empty one behind.
    assert_eq!(service.raw(), None, "the keyring item should be deleted");
    let fresh = real_store(&service, &dir);
    assert!(fresh.read().unwrap().is_none());
    assert!(matches!(
        default.access_token().await,
        Err(Error::ProfileNotFound { .. } | Error::NotAuthenticated)
    ));
    assert!(!dir.join("credentials.json").exists());
    assert_nowhere_in(
        "the fallback directory",
        &files(tmp.path()),
        &[KEY, WORK_KEY],
    );
}

/// Two apps (services) never see each other's credentials, and a lock of one store
/// cannot be used to write another.
#[test]
fn keyring_services_are_separate_items() {
    if !required() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (acme, other) = (Service::new("acme"), Service::new("other"));
    let a = real_store(&acme, &tmp.path().join(".acme"));
    let b = real_store(&other, &tmp.path().join(".other"));

    let lock = a.lock().unwrap();
    a.write(&lock, &doc_with("default", KEY)).unwrap();
    drop(lock);
    assert!(b.read().unwrap().is_none());
    assert_eq!(other.raw(), None);

    let lock = b.lock().unwrap();
    assert!(matches!(
        a.write(&lock, &doc_with("default", WORK_KEY)),
        Err(Error::Misuse(_))
    ));
    b.write(&lock, &doc_with("default", WORK_KEY)).unwrap();
    drop(lock);
    let doc_a = acme
        .store(&tmp.path().join(".acme"))
        .read()
        .unwrap()
        .unwrap();
    let doc_b = other
        .store(&tmp.path().join(".other"))
        .read()
        .unwrap()
        .unwrap();
    assert_eq!(key_of(&doc_a, "default").as_deref(), Some(KEY));
    assert_eq!(key_of(&doc_b, "default").as_deref(), Some(WORK_KEY));
    assert!(!acme.raw().unwrap().contains(WORK_KEY));
}

/// A damaged keyring item is kept aside (owner-only, next to the fallback file) and
/// cleared, never parsed into a half-read document nor echoed in the error.
#[test]
fn keyring_damaged_item_is_kept_aside_and_cleared() {
    if !required() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let service = Service::new("damaged");
    let damaged = format!(r#"{{"version":1,"profiles":{{"default":{{"credential":"{KEY}"#);
    service.put_raw(&damaged);

    let store = real_store(&service, &dir);
    let err = store.read().unwrap_err();
    let Error::CorruptCredentials {
        moved_to: Some(moved_to),
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(!err.to_string().contains(KEY) && !format!("{err:?}").contains(KEY));
    assert_eq!(std::fs::read_to_string(moved_to).unwrap(), damaged);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(moved_to).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(service.raw(), None, "the damaged item was not cleared");
    assert!(store.read().unwrap().is_none());
}

/// A document from a newer version is reported and left exactly as it is, also when
/// a login would overwrite it.
#[tokio::test]
async fn keyring_newer_version_item_is_left_untouched() {
    if !required() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let service = Service::new("newer");
    let newer = r#"{"version":99,"profiles":{},"future":true}"#;
    service.put_raw(newer);
    let store = real_store(&service, &tmp.path().join(".acme"));
    assert!(matches!(
        store.read(),
        Err(Error::UnsupportedVersion { found: 99, .. })
    ));
    let auth = authenticator(store, CaptureUi::new());
    assert!(matches!(
        auth.login_api_key(KEY).await,
        Err(Error::UnsupportedVersion { found: 99, .. })
    ));
    assert_eq!(service.raw().as_deref(), Some(newer));
}

fn doc_with(name: &str, key: &str) -> CredentialsDocument {
    let mut doc = CredentialsDocument::new();
    doc.set_profile(
        name,
        Profile::new(
            Credential::ApiKey(ApiKey::new(key)),
            LoginMethod::ApiKey,
            cliauth::now(),
        ),
    )
    .unwrap();
    doc
}

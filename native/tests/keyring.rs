//! `KeyringStore` against a real Secret Service (Linux).
//!
//! These tests write to whatever Secret Service the session bus offers, so they run
//! only with `CLIAUTH_REQUIRE_KEYRING=1`, and then fail when the keyring is not used.
//! `cargo xtask test --only keyring` sets it inside a private D-Bus session with a
//! throwaway, unlocked gnome-keyring (never the user's own bus or keyring). Without
//! the variable they return at once; the fallback path is tested by
//! `store.rs::keyring_store_falls_back_to_the_file_only_with_a_visible_warning`.
//!
//! Keyring items are listed, planted and removed with `secret-tool` (libsecret-tools):
//! an oracle independent of cliauth and of keyring-core, which proves each profile's
//! credential really sits in the Secret Service, as items of service `<service>` and
//! user `<profile>/<generation>/<n>`, none over 2,560 bytes.
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

use cliauth::cliauth_core::credentials::{Credential, CredentialsDocument, LoginMethod, Profile};
use cliauth::cliauth_core::secret::ApiKey;
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

/// A keyring service name unique to one test; its items are removed when this is
/// dropped, also when the test fails.
struct Service(String);

/// One item of a service, as the Secret Service holds it.
#[derive(Debug)]
struct Item {
    user: String,
    secret: String,
}

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

    /// How many items this service has (`secret-tool search --all`).
    fn count(&self) -> usize {
        let out = secret_tool(&["search", "--all", "--unlock", "service", &self.0])
            .stderr(Stdio::piped())
            .output()
            .expect("secret-tool (apt-get install libsecret-tools) is needed");
        // Each item starts with a `[/org/freedesktop/secrets/…]` line (on stdout or
        // stderr, depending on the version).
        [out.stdout, out.stderr]
            .iter()
            .flat_map(|b| {
                String::from_utf8_lossy(b)
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter(|l| l.starts_with("[/"))
            .count()
    }

    /// One item's secret (`secret-tool lookup`), if it exists.
    fn lookup(&self, user: &str) -> Option<String> {
        let out = secret_tool(&["lookup", "service", &self.0, "username", user])
            .output()
            .expect("secret-tool (apt-get install libsecret-tools) is needed");
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).unwrap())
    }

    /// The items of one profile, in order: the file names them
    /// (`<profile>/<generation>/<n>`), the Secret Service must hold each.
    fn profile_items(&self, dir: &Path, profile: &str) -> Vec<Item> {
        let Ok(bytes) = std::fs::read(dir.join("credentials.json")) else {
            return Vec::new();
        };
        let file: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let Some(r) = file["keyring_profiles"][profile]["keyring"].as_object() else {
            return Vec::new();
        };
        let generation = r["generation"].as_str().unwrap();
        (0..r["items"].as_u64().unwrap())
            .filter_map(|n| {
                let user = format!("{profile}/{generation}/{n}");
                self.lookup(&user).map(|secret| Item { user, secret })
            })
            .collect()
    }

    /// One item's secret, replaced.
    fn put(&self, user: &str, secret: &str) {
        let mut child = secret_tool(&[
            "store",
            "--label",
            "cliauth test",
            "service",
            &self.0,
            "username",
            user,
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

    fn remove(&self, user: &str) {
        let _ = secret_tool(&["clear", "service", &self.0, "username", user]).status();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = secret_tool(&["clear", "service", &self.0]).status();
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

/// The file as it is on disk.
fn file_json(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("credentials.json")).unwrap()).unwrap()
}

/// Two profiles logged in through the authenticator: their credentials are in the
/// Secret Service, one item set per profile; the file holds the rest and no secret;
/// a fresh store and a fresh process read both.
#[tokio::test]
async fn keyring_real_secret_service_holds_each_profile_and_the_file_no_secret() {
    if !required() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let service = Service::new("roundtrip");
    assert!(service.count() == 0);
    let store = real_store(&service, &dir);
    assert_eq!(
        store.location(),
        format!("OS keyring (service {})", service.0)
    );
    assert_eq!(store.warnings(), Vec::<String>::new());
    assert!(store.read().unwrap().is_none());

    let ui = CaptureUi::new();
    let auth = authenticator(store, ui.clone());
    let outcome = auth.login_api_key(KEY).await.unwrap();
    assert_eq!(
        outcome.storage,
        Some(format!("OS keyring (service {})", service.0))
    );
    auth.with_profile("work")
        .unwrap()
        .login_api_key(WORK_KEY)
        .await
        .unwrap();
    assert!(!ui.text().contains("could not be used"), "{}", ui.text());

    // One item per profile (they are small), holding the credential object.
    assert_eq!(service.count(), 2);
    let default = service.profile_items(&dir, "default");
    let credential: serde_json::Value = serde_json::from_str(&default[0].secret).unwrap();
    assert_eq!(credential["type"], "api_key");
    assert_eq!(credential["key"], KEY);
    assert!(
        service.profile_items(&dir, "work")[0]
            .secret
            .contains(WORK_KEY)
    );

    // The file lists the profiles under keyring_profiles, without their credentials.
    let file = file_json(&dir);
    assert_eq!(file["active_profile"], "default");
    assert_eq!(file["profiles"], serde_json::json!({}));
    let listed = &file["keyring_profiles"];
    assert_eq!(listed["work"]["method"], "api_key");
    assert_eq!(listed["work"]["keyring"]["items"], 1);
    assert!(listed["work"].get("credential").is_none());

    // A fresh store instance (its own D-Bus connection) reads it.
    let fresh = real_store(&service, &dir);
    let doc = fresh.read().unwrap().expect("a fresh store reads nothing");
    assert_eq!(key_of(&doc, "default").as_deref(), Some(KEY));
    assert_eq!(key_of(&doc, "work").as_deref(), Some(WORK_KEY));
    assert_eq!(doc.active_profile.as_deref(), Some("default"));
    assert!(
        doc.extra.get("keyring_profiles").is_none(),
        "an internal field leaked"
    );

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

    // No secret in the credentials directory, nor in plain text in the keyring's own
    // files.
    assert_nowhere_in(
        "the credentials directory",
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

/// A JWT-shaped access token, for size: `len` bytes of base64url in three parts.
fn jwt_like(tag: char, len: usize) -> String {
    let part = |n: usize| std::iter::repeat_n(tag, n).collect::<String>();
    format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.{}",
        part(len * 3 / 4),
        part(len / 4 - 21)
    )
}

/// OAuth tokens that are all JWTs (5 KB and more) are split over items of at most
/// 2,560 bytes — the Windows Credential Manager's limit, applied everywhere — and
/// join back exactly; writing another profile does not rewrite them.
#[test]
fn keyring_large_tokens_are_split_into_items_within_the_windows_limit() {
    if !required() {
        return;
    }
    use cliauth::cliauth_core::secret::{AccessToken, IdToken, RefreshToken};
    use cliauth::cliauth_core::token::TokenSet;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let service = Service::new("large");
    let store = real_store(&service, &dir);
    let (access, id, refresh) = (
        jwt_like('a', 3000),
        jwt_like('i', 2200),
        jwt_like('r', 1500),
    );
    let mut tokens = TokenSet::new(AccessToken::new(&access), cliauth::now());
    tokens.expires_at = Some(cliauth::now());
    tokens.refresh_token = Some(RefreshToken::new(&refresh));
    tokens.scope = Some("openid offline_access".into());
    tokens.id_token = Some(IdToken::new(&id));
    let mut doc = CredentialsDocument::new();
    doc.set_profile(
        "big",
        Profile::new(
            Credential::OAuth(tokens),
            LoginMethod::Device,
            cliauth::now(),
        ),
    )
    .unwrap();
    let lock = store.lock().unwrap();
    store.write(&lock, &doc).unwrap();
    drop(lock);

    let items = service.profile_items(&dir, "big");
    assert!(items.len() >= 3, "{} items", items.len());
    for item in &items {
        assert!(
            item.secret.len() <= cliauth::store::MAX_ITEM_BYTES,
            "an item of {} bytes",
            item.secret.len()
        );
    }
    let joined: String = items.iter().map(|i| i.secret.as_str()).collect();
    let credential: serde_json::Value = serde_json::from_str(&joined).unwrap();
    assert_eq!(credential["access_token"], access.as_str());
    assert_eq!(credential["id_token"], id.as_str());
    assert_eq!(credential["refresh_token"], refresh.as_str());
    assert_eq!(
        file_json(&dir)["keyring_profiles"]["big"]["keyring"]["items"],
        items.len()
    );

    let read = real_store(&service, &dir).read().unwrap().unwrap();
    let Credential::OAuth(t) = &read.profile("big").unwrap().credential else {
        panic!()
    };
    assert_eq!(t.access_token.expose_secret(), access);
    assert_eq!(t.id_token.as_ref().unwrap().expose_secret(), id);
    assert_eq!(t.refresh_token.as_ref().unwrap().expose_secret(), refresh);

    // Another profile is added: the big one keeps its items (same generation).
    let users: Vec<String> = items.iter().map(|i| i.user.clone()).collect();
    let store = real_store(&service, &dir);
    let lock = store.lock().unwrap();
    let mut doc = store.read_locked(&lock).unwrap().unwrap();
    doc.set_profile(
        "small",
        Profile::new(
            Credential::ApiKey(ApiKey::new(KEY)),
            LoginMethod::ApiKey,
            cliauth::now(),
        ),
    )
    .unwrap();
    store.write(&lock, &doc).unwrap();
    drop(lock);
    let after: Vec<String> = service
        .profile_items(&dir, "big")
        .into_iter()
        .map(|i| i.user)
        .collect();
    assert_eq!(after, users, "an unchanged profile was rewritten");
    assert_eq!(service.profile_items(&dir, "small").len(), 1);
}

/// Logging out of one profile removes its items and leaves the other's; logging out
/// of the last leaves no item at all.
#[tokio::test]
async fn keyring_logout_removes_each_profiles_items() {
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
    // A new login of the same profile replaces its items (no old generation left).
    work.login_api_key(WORK_KEY).await.unwrap();
    assert_eq!(service.profile_items(&dir, "work").len(), 1);
    assert_eq!(service.count(), 2, "the old generation was left behind");

    let outcome = work.logout().await.unwrap();
    assert_eq!(outcome.profile, "work");
    assert_eq!(outcome.revocation, Revocation::NotSupported);
    assert!(service.profile_items(&dir, "work").is_empty());
    assert_eq!(service.profile_items(&dir, "default").len(), 1);
    assert_eq!(
        service.count(),
        1,
        "the logged-out profile's item is still there"
    );
    let doc = real_store(&service, &dir).read().unwrap().unwrap();
    assert!(doc.profile("work").is_none());
    assert_eq!(key_of(&doc, "default").as_deref(), Some(KEY));
    assert!(matches!(
        work.access_token().await,
        Err(Error::ProfileNotFound { .. } | Error::NotAuthenticated)
    ));

    let default = auth.with_profile("default").unwrap();
    assert_eq!(default.logout().await.unwrap().profile, "default");
    assert_eq!(service.count(), 0);
    assert!(matches!(
        default.access_token().await,
        Err(Error::ProfileNotFound { .. } | Error::NotAuthenticated)
    ));
    assert_nowhere_in(
        "the credentials directory",
        &files(tmp.path()),
        &[KEY, WORK_KEY],
    );
}

/// `--insecure-storage` (the view, or `ACME_INSECURE_STORAGE=1`) keeps that login's
/// credential in the file even though the keyring works; other logins still go to
/// the keyring, and a later normal login of the same profile moves it there.
#[tokio::test]
async fn keyring_insecure_storage_keeps_the_login_in_the_file_by_choice() {
    if !required() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let service = Service::new("insecure");
    let ui = CaptureUi::new();
    let auth = authenticator(real_store(&service, &dir), ui.clone());
    let outcome = auth
        .with_insecure_storage(true)
        .login_api_key(KEY)
        .await
        .unwrap();
    assert_eq!(
        outcome.storage,
        Some(dir.join("credentials.json").display().to_string())
    );
    assert!(service.count() == 0);
    let file = file_json(&dir);
    assert_eq!(file["profiles"]["default"]["credential"]["key"], KEY);
    assert_eq!(file["profiles"]["default"]["storage"], "file");
    // A choice, not a fallback: no warning.
    assert!(!ui.text().contains("could not be used"), "{}", ui.text());

    // The environment variable does the same for every login of the process.
    let by_env = Authenticator::builder("acme")
        .env(EnvSource::fixed([("ACME_INSECURE_STORAGE", "1")]))
        .store(real_store(&service, &dir))
        .ui(CaptureUi::new())
        .build()
        .unwrap();
    by_env
        .with_profile("ci")
        .unwrap()
        .login_api_key(WORK_KEY)
        .await
        .unwrap();
    assert!(service.count() == 0);
    assert_eq!(
        file_json(&dir)["profiles"]["ci"]["credential"]["key"],
        WORK_KEY
    );

    // A refresh-like rewrite keeps the choice; a normal login moves it to the keyring.
    auth.login_api_key(KEY).await.unwrap();
    assert_eq!(service.profile_items(&dir, "default").len(), 1);
    let file = file_json(&dir);
    assert!(file["profiles"].get("default").is_none());
    assert!(file["keyring_profiles"]["default"].is_object());
    assert_eq!(file["profiles"]["ci"]["credential"]["key"], WORK_KEY);
    // Both read back through one store.
    let doc = real_store(&service, &dir).read().unwrap().unwrap();
    assert_eq!(key_of(&doc, "default").as_deref(), Some(KEY));
    assert_eq!(key_of(&doc, "ci").as_deref(), Some(WORK_KEY));
}

/// Two apps (services) never see each other's credentials, and a lock of one store
/// cannot be used to write another.
#[test]
fn keyring_services_are_separate() {
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
    assert_eq!(other.count(), 0);

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
    let item = acme.profile_items(&tmp.path().join(".acme"), "default");
    assert!(item.len() == 1 && !item[0].secret.contains(WORK_KEY));
}

/// A damaged item is kept aside (owner-only, next to the file) and cleared, never
/// parsed into a half-read profile nor echoed; an item deleted in the keyring makes
/// its profile read as logged out, with a warning. Other profiles are untouched.
#[test]
fn keyring_damaged_and_missing_items_are_reported_and_never_take_others_down() {
    if !required() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let service = Service::new("damaged");
    let store = real_store(&service, &dir);
    let lock = store.lock().unwrap();
    let mut doc = doc_with("default", KEY);
    doc.set_profile(
        "work",
        Profile::new(
            Credential::ApiKey(ApiKey::new(WORK_KEY)),
            LoginMethod::ApiKey,
            cliauth::now(),
        ),
    )
    .unwrap();
    doc.set_profile(
        "gone",
        Profile::new(
            Credential::ApiKey(ApiKey::new(WORK_KEY)),
            LoginMethod::ApiKey,
            cliauth::now(),
        ),
    )
    .unwrap();
    store.write(&lock, &doc).unwrap();
    drop(lock);
    let work_user = service.profile_items(&dir, "work")[0].user.clone();
    let damaged = format!(r#"{{"type":"api_key","key":"{KEY}"#);
    service.put(&work_user, &damaged);
    service.remove(&service.profile_items(&dir, "gone")[0].user.clone());

    let fresh = real_store(&service, &dir);
    let doc = fresh.read().unwrap().unwrap();
    assert_eq!(key_of(&doc, "default").as_deref(), Some(KEY));
    assert!(doc.profile("work").is_none() && doc.profile("gone").is_none());
    let warnings = fresh.warnings().join("\n");
    assert!(
        warnings.contains("damaged credential for profile `work`"),
        "{warnings}"
    );
    assert!(
        warnings.contains("no longer holds the credential of profile `gone`"),
        "{warnings}"
    );
    assert!(!warnings.contains(KEY));
    let kept: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.display().to_string().contains(".corrupt-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(std::fs::read_to_string(&kept[0]).unwrap(), damaged);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&kept[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        service.profile_items(&dir, "work").is_empty(),
        "the damaged item was not cleared"
    );

    // The next write forgets both references and keeps the good profile.
    let lock = fresh.lock().unwrap();
    let doc = fresh.read_locked(&lock).unwrap().unwrap();
    fresh.write(&lock, &doc).unwrap();
    drop(lock);
    let listed = &file_json(&dir)["keyring_profiles"];
    assert!(
        listed.get("work").is_none() && listed.get("gone").is_none(),
        "{listed}"
    );
    assert!(listed["default"].is_object());
}

/// A document from a newer version is reported and left exactly as it is, also when
/// a login would overwrite it.
#[tokio::test]
async fn keyring_newer_version_file_is_left_untouched() {
    if !required() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let service = Service::new("newer");
    std::fs::create_dir_all(&dir).unwrap();
    let newer = r#"{"version":99,"profiles":{},"future":true}"#;
    std::fs::write(dir.join("credentials.json"), newer).unwrap();
    let store = real_store(&service, &dir);
    assert!(matches!(
        store.read(),
        Err(Error::UnsupportedVersion { found: 99, .. })
    ));
    let auth = authenticator(store, CaptureUi::new());
    assert!(matches!(
        auth.login_api_key(KEY).await,
        Err(Error::UnsupportedVersion { found: 99, .. })
    ));
    assert_eq!(
        std::fs::read_to_string(dir.join("credentials.json")).unwrap(),
        newer
    );
    assert!(service.count() == 0);
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

//! The credential stores on real files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]
#![cfg(unix)]

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cliauth::cliauth_core::credentials::{
    CREDENTIALS_VERSION, Credential, CredentialsDocument, LoginMethod, Profile,
};
use cliauth::cliauth_core::secret::ApiKey;
use cliauth::store::{CredentialStore, EnvSource, EnvStore, FileStore, KeyringStore, MemoryStore};
use cliauth::{Authenticator, Error};
use common::CaptureUi;

const KEY: &str = "acme_0123456789abcdefghijklmnop";

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

fn save(store: &dyn CredentialStore, doc: &CredentialsDocument) {
    let lock = store.lock().unwrap();
    store.write(&lock, doc).unwrap();
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn files_are_0600_in_a_0700_directory_from_creation() {
    let tmp = tempfile::tempdir().unwrap();
    // Modes are given to open(2)/mkdir(2) themselves (the crash test also checks
    // them under `umask 000`).
    let dir = tmp.path().join("nested").join(".acme");
    let store = FileStore::new(&dir);
    save(&store, &doc_with("default", KEY));
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("credentials.json")), 0o600);
    assert_eq!(mode(&dir.join("credentials.json.lock")), 0o600);
    // stat(1) agrees.
    let out = std::process::Command::new("stat")
        .args(["-c", "%a %n"])
        .arg(&dir)
        .arg(dir.join("credentials.json"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let modes: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(modes, ["700", "600"], "{text}");
    assert!(store.warnings().is_empty());
    // No temporary file is left behind.
    let names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn looser_permissions_are_reported_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let store = FileStore::new(&dir);
    save(&store, &doc_with("default", KEY));
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(
        dir.join("credentials.json"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let warnings = store.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains(&format!("Fix: chmod 700 {}", dir.display())));
    assert!(warnings[1].contains(&format!(
        "Fix: chmod 600 {}",
        dir.join("credentials.json").display()
    )));
    // The authenticator shows them.
    let ui = CaptureUi::new();
    let auth = Authenticator::builder("acme")
        .store(FileStore::new(&dir))
        .ui(ui.clone())
        .build()
        .unwrap();
    auth.profiles().unwrap();
    assert!(ui.text().contains("chmod 600"), "{}", ui.text());
}

#[test]
fn a_symlinked_credentials_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    fs::create_dir(&dir).unwrap();
    let elsewhere = tmp.path().join("elsewhere.json");
    fs::write(&elsewhere, doc_with("default", KEY).to_json()).unwrap();
    symlink(&elsewhere, dir.join("credentials.json")).unwrap();
    let store = FileStore::new(&dir);
    let err = store.read().unwrap_err();
    assert!(
        matches!(&err, Error::Storage { reason, .. } if reason.contains("symbolic link")),
        "{err:?}"
    );
    let lock = store.lock().unwrap();
    let err = store.write(&lock, &doc_with("x", KEY)).unwrap_err();
    assert!(matches!(&err, Error::Storage { reason, .. } if reason.contains("symbolic link")));
    drop(lock);
    // The target was never written through the link.
    let still = CredentialsDocument::from_json(&fs::read(&elsewhere).unwrap()).unwrap();
    assert!(still.profile("default").is_some() && still.profile("x").is_none());
    // A symlinked lock file is refused too.
    let dir2 = tmp.path().join(".other");
    fs::create_dir(&dir2).unwrap();
    symlink(&elsewhere, dir2.join("credentials.json.lock")).unwrap();
    assert!(matches!(
        FileStore::new(&dir2).lock(),
        Err(Error::Storage { .. })
    ));
}

#[test]
fn a_corrupt_file_is_moved_aside_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let store = FileStore::new(&dir);
    save(&store, &doc_with("default", KEY));
    let path = dir.join("credentials.json");
    fs::write(&path, b"{\"version\": 1, \"profiles\": {\"default\": ").unwrap();
    let err = store.read().unwrap_err();
    let Error::CorruptCredentials { reason, moved_to } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("line 1"), "{reason}");
    let moved = moved_to.clone().unwrap();
    assert!(moved.contains("credentials.json.corrupt-"), "{moved}");
    assert_eq!(
        fs::read(&moved).unwrap(),
        b"{\"version\": 1, \"profiles\": {\"default\": "
    );
    assert_eq!(mode(Path::new(&moved)), 0o600);
    assert!(!path.exists(), "never silently reset");
    let app = cliauth::AppContext::new("acme", "Acme");
    assert!(err.render(&app).contains(&moved));
    assert!(!format!("{err} {err:?}").contains(KEY));
    // Nothing stored now; the next login starts a new file.
    assert!(store.read().unwrap().is_none());

    // An empty file is damage too.
    fs::write(&path, b"").unwrap();
    assert!(matches!(
        store.read(),
        Err(Error::CorruptCredentials {
            moved_to: Some(_),
            ..
        })
    ));
}

#[tokio::test]
async fn a_login_over_a_corrupt_file_keeps_it_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("credentials.json"), b"not json").unwrap();
    let ui = CaptureUi::new();
    let auth = Authenticator::builder("acme")
        .store(FileStore::new(&dir))
        .ui(ui.clone())
        .build()
        .unwrap();
    auth.login_api_key(KEY).await.unwrap();
    assert!(ui.text().contains("damaged"), "{}", ui.text());
    let kept: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.contains(".corrupt-").then_some(name)
        })
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(fs::read(dir.join(&kept[0])).unwrap(), b"not json");
}

#[test]
fn a_newer_version_is_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    fs::create_dir_all(&dir).unwrap();
    let newer = format!(
        "{{\"version\": {}, \"profiles\": {{}}, \"future\": true}}\n",
        CREDENTIALS_VERSION + 1
    );
    fs::write(dir.join("credentials.json"), &newer).unwrap();
    let store = FileStore::new(&dir);
    assert!(matches!(
        store.read(),
        Err(Error::UnsupportedVersion { .. })
    ));
    let lock = store.lock().unwrap();
    assert!(matches!(
        store.read_locked(&lock),
        Err(Error::UnsupportedVersion { .. })
    ));
    drop(lock);
    assert_eq!(
        fs::read_to_string(dir.join("credentials.json")).unwrap(),
        newer
    );
}

#[test]
fn unknown_fields_survive_a_rewrite() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FileStore::new(tmp.path());
    let text = format!(
        "{{\"version\":1,\"active_profile\":\"default\",\"added_later\":{{\"x\":1}},\"profiles\":{{\"default\":{{\"method\":\"api_key\",\"credential\":{{\"type\":\"api_key\",\"key\":\"{KEY}\"}},\"note\":\"hi\"}}}}}}"
    );
    fs::write(tmp.path().join("credentials.json"), text).unwrap();
    let lock = store.lock().unwrap();
    let mut doc = store.read_locked(&lock).unwrap().unwrap();
    doc.set_profile(
        "ci",
        Profile::new(
            Credential::ApiKey(ApiKey::new(KEY)),
            LoginMethod::ApiKey,
            cliauth::now(),
        ),
    )
    .unwrap();
    store.write(&lock, &doc).unwrap();
    let raw: serde_json::Value =
        serde_json::from_slice(&fs::read(tmp.path().join("credentials.json")).unwrap()).unwrap();
    assert_eq!(raw["added_later"]["x"], 1);
    assert_eq!(raw["profiles"]["default"]["note"], "hi");
}

#[test]
fn the_lock_excludes_other_processes_and_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(FileStore::new(tmp.path()));
    let held = store.lock().unwrap();
    let other = Arc::new(FileStore::new(tmp.path()));
    let started = Instant::now();
    let waiter = std::thread::spawn(move || {
        let _lock = other.lock().unwrap();
        started.elapsed()
    });
    std::thread::sleep(Duration::from_millis(300));
    drop(held);
    let waited = waiter.join().unwrap();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    // flock(1) in another process cannot take it while we hold it.
    let _held = store.lock().unwrap();
    let status = std::process::Command::new("flock")
        .args(["--nonblock", "--exclusive"])
        .arg(tmp.path().join("credentials.json.lock"))
        .arg("true")
        .status();
    if let Ok(status) = status {
        assert!(!status.success(), "another process took the lock");
    }
}

#[test]
fn a_lock_from_another_store_is_refused() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (sa, sb) = (FileStore::new(a.path()), FileStore::new(b.path()));
    let lock = sa.lock().unwrap();
    assert!(matches!(
        sb.write(&lock, &CredentialsDocument::new()),
        Err(Error::Misuse(_))
    ));
    let memory = MemoryStore::new();
    assert!(matches!(memory.read_locked(&lock), Err(Error::Misuse(_))));
}

#[test]
fn memory_store_round_trips_and_locks() {
    let store = MemoryStore::new();
    assert!(store.read().unwrap().is_none());
    save(&store, &doc_with("default", KEY));
    let clone = store.clone();
    assert_eq!(
        clone.read().unwrap().unwrap().active().unwrap().0,
        "default"
    );
    let held = store.lock().unwrap();
    let waiter = std::thread::spawn(move || {
        let started = Instant::now();
        let _l = clone.lock().unwrap();
        started.elapsed()
    });
    std::thread::sleep(Duration::from_millis(200));
    drop(held);
    assert!(waiter.join().unwrap() >= Duration::from_millis(150));
}

#[test]
fn env_store_is_read_only() {
    let store = EnvStore::with_source("ACME_API_KEY", EnvSource::fixed([("ACME_API_KEY", KEY)]));
    let doc = store.read().unwrap().unwrap();
    let (name, profile) = doc.active().unwrap();
    assert_eq!(name, "env");
    assert!(matches!(&profile.credential, Credential::ApiKey(k) if k.expose_secret() == KEY));
    assert!(store.is_read_only());
    let lock = store.lock().unwrap();
    let err = store.write(&lock, &doc).unwrap_err();
    assert!(err.to_string().contains("ACME_API_KEY"));
    let empty = EnvStore::with_source("ACME_API_KEY", EnvSource::fixed([("ACME_API_KEY", " ")]));
    assert!(empty.read().unwrap().is_none());
}

#[test]
fn default_directory_and_override() {
    assert_eq!(
        FileStore::default_dir("acme", Some("/tmp/acme-conf")).unwrap(),
        Path::new("/tmp/acme-conf")
    );
    // The platform directory (XDG on Linux), unless only the legacy ~/.acme holds
    // credentials (store/paths.rs tests that choice; democli's tests run it with a
    // real HOME).
    let home = std::env::var("HOME").unwrap();
    let xdg = std::env::var("XDG_CONFIG_HOME")
        .ok()
        .filter(|d| Path::new(d).is_absolute())
        .map_or_else(
            || Path::new(&home).join(".config"),
            std::path::PathBuf::from,
        );
    if !Path::new(&home).join(".acme/credentials.json").exists() {
        assert_eq!(
            FileStore::default_dir("acme", None).unwrap(),
            xdg.join("acme")
        );
    }
    // The authenticator reads the override variable (ACME_CONFIG_DIR by default).
    let env = || EnvSource::fixed([("ACME_CONFIG_DIR", "/tmp/acme-from-env")]);
    let auth = Authenticator::builder("acme")
        .env(env())
        .keyring(false)
        .build()
        .unwrap();
    assert_eq!(
        auth.store().location(),
        "/tmp/acme-from-env/credentials.json"
    );
    // With the keyring feature the default store is the keyring over that file.
    let auth = Authenticator::builder("acme").env(env()).build().unwrap();
    let debug = format!("{:?}", auth.store());
    assert!(
        debug.starts_with("KeyringStore") && debug.contains("/tmp/acme-from-env"),
        "{debug}"
    );
}

#[tokio::test]
async fn keyring_store_falls_back_to_the_file_only_with_a_visible_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let service = format!("cliauth-test-{}", std::process::id());
    let store = KeyringStore::new(service.clone(), FileStore::new(tmp.path()));
    let ui = CaptureUi::new();
    let auth = Authenticator::builder("acme")
        .store(store)
        .ui(ui.clone())
        .build()
        .unwrap();
    let keyring = KeyringStore::new(service, FileStore::new(tmp.path()));
    let outcome = auth.login_api_key(KEY).await.unwrap();
    assert_eq!(auth.access_token().await.unwrap().expose_secret(), KEY);
    // `cargo xtask test --only keyring` runs this against a real Secret Service
    // (native/tests/keyring.rs tests that in depth).
    if std::env::var("CLIAUTH_REQUIRE_KEYRING").is_ok_and(|v| v == "1") {
        assert!(keyring.uses_keyring(), "{:?}", keyring.warnings());
    }
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("credentials.json")).unwrap())
            .unwrap();
    if keyring.uses_keyring() {
        // A real keyring: the file names the profile but holds no key; no warning.
        assert!(file["profiles"].get("default").is_none());
        assert!(!file.to_string().contains(KEY));
        assert!(!ui.text().contains("could not be used"), "{}", ui.text());
        assert!(
            outcome
                .storage
                .as_deref()
                .is_some_and(|s| s.starts_with("OS keyring"))
        );
        assert!(
            keyring
                .read()
                .unwrap()
                .unwrap()
                .profile("default")
                .is_some()
        );
        // Leave no secret behind in the user's keyring.
        let lock = keyring.lock().unwrap();
        keyring.write(&lock, &CredentialsDocument::new()).unwrap();
        eprintln!("an OS keyring is available; its round trip was tested");
    } else {
        // No keyring: the credential is in the file (0600), and the user is told so,
        // with the reason and the path, right after the login.
        let text = ui.text();
        assert!(
            text.contains("The OS keyring could not be used ("),
            "{text}"
        );
        assert!(text.contains(&tmp.path().join("credentials.json").display().to_string()));
        assert_eq!(file["profiles"]["default"]["credential"]["key"], KEY);
        assert!(
            file["profiles"]["default"].get("storage").is_none(),
            "a fallback is not a choice"
        );
        assert_eq!(mode(&tmp.path().join("credentials.json")), 0o600);
        assert_eq!(
            outcome.storage,
            Some(tmp.path().join("credentials.json").display().to_string())
        );
        // Reading needs no keyring when every profile is in the file.
        assert_eq!(keyring.read().unwrap().unwrap().profiles.len(), 1);
    }
}

/// A storage failure keeps the OS error as its source: the message stays the stable
/// one-liner, the caller can still ask what the OS said.
#[test]
fn storage_errors_keep_the_io_error_as_their_source() {
    let tmp = tempfile::tempdir().unwrap();
    let not_a_dir = tmp.path().join("file");
    fs::write(&not_a_dir, b"x").unwrap();
    let store = FileStore::new(not_a_dir.join("acme"));
    let err = store.lock().map(drop).unwrap_err();
    assert!(matches!(err, Error::Storage { .. }), "{err:?}");
    let io = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .unwrap_or_else(|| panic!("no io::Error behind {err:?}"));
    assert_eq!(io.raw_os_error(), Some(20), "ENOTDIR: {io:?}");
    assert!(
        err.to_string().starts_with("Credential storage error: "),
        "{err}"
    );
}
